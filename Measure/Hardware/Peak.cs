using System.Text.Json.Serialization;

namespace ToyModels.Measure.Hardware;

/// <summary>A device's measured peaks: FMA throughput (GFLOP/s, an FMA counted as 2) and memory bandwidth (GB/s, bytes read plus written).</summary>
internal sealed record Peak(double FmaGflops, [property: JsonPropertyName("bandwidth_gbps")] double BandwidthGBps, string Method);
