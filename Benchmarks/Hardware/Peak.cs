namespace ToyModels.Benchmarks.Hardware;

/// <summary>A device's measured peaks: FMA throughput (GFLOP/s, an FMA counted as 2) and memory bandwidth (GB/s, bytes read plus written).</summary>
internal sealed record Peak(double FmaGflops, double BandwidthGBps, string Method);
