using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using ToyModels.Backends.Simd.Lanes;
using ToyModels.Gpu.Devices;

namespace ToyModels.Measure.Hardware;

/// <summary>One compute device as found here (an OpenCL or CUDA device), for the machine's description.</summary>
internal sealed record DeviceDescription(string Id, string Kind, string Name, string Driver, long MemoryBytes, string Detail, string? Refused);

/// <summary>The machine the benchmark ran on: CPU, memory, runtime, and every OpenCL and CUDA device.</summary>
internal sealed record MachineDescription(
    string HostName, string Os, string Runtime, string CpuModel, int LogicalCores, IReadOnlyList<string> InstructionSets,
    string SimdInstructionSet, long MemoryBytes, IReadOnlyList<DeviceDescription> Devices, string? OpenClProblem, string? CudaProblem,
    double? LoadAverage)
{
    /// <summary>True when other work kept the cores busy as the run started (1-minute load average above half the cores): rates will read low.</summary>
    public bool Busy => LoadAverage is double load && load > 0.5 * LogicalCores;

    public static MachineDescription Discover()
    {
        var devices = new List<DeviceDescription>();
        var openCl = GpuDevices.OpenCl(out string? openClProblem);
        foreach (var d in openCl)
            devices.Add(new DeviceDescription($"opencl#{d.Index}", "opencl", d.Device.Name, d.Device.DeviceVersion.ToString(), d.Device.MemorySize,
                $"{d.TypeName}, {d.Device.PlatformName}, {d.Device.NumMultiprocessors} compute units", d.ParityProblem));
        var cuda = GpuDevices.Cuda(out string? cudaProblem);
        for (int ordinal = 0; ordinal < cuda.Count; ordinal++)
        {
            var d = cuda[ordinal];
            double theoretical = 2.0 * d.MemoryClockRate * 1e3 * (d.MemoryBusWidth / 8.0) / 1e9;
            devices.Add(new DeviceDescription($"cuda#{ordinal}", "cuda", d.Name, d.DriverVersion.ToString(), d.MemorySize,
                $"{d.Architecture}, {d.NumMultiprocessors} SMs, {theoretical:F0} GB/s theoretical", null));
        }
        return new MachineDescription(Environment.MachineName, RuntimeInformation.OSDescription, RuntimeInformation.FrameworkDescription,
            ReadCpuModel(), Environment.ProcessorCount, InstructionSetsPresent(), ToyModels.Backends.Simd.Lanes.InstructionSets.Name(ToyModels.Backends.Simd.Lanes.InstructionSets.Best),
            ReadMemoryBytes(), devices, openClProblem, cudaProblem, ReadLoadAverage());
    }

    private static string ReadCpuModel()
    {
        try
        {
            if (File.Exists("/proc/cpuinfo"))
                foreach (string line in File.ReadLines("/proc/cpuinfo"))
                    if (line.StartsWith("model name", StringComparison.Ordinal) || line.StartsWith("Model", StringComparison.Ordinal))
                        return line[(line.IndexOf(':') + 1)..].Trim();
        }
        catch (IOException) { }
        return Environment.GetEnvironmentVariable("PROCESSOR_IDENTIFIER") ?? RuntimeInformation.ProcessArchitecture.ToString();
    }

    private static long ReadMemoryBytes()
    {
        try
        {
            if (File.Exists("/proc/meminfo"))
                foreach (string line in File.ReadLines("/proc/meminfo"))
                    if (line.StartsWith("MemTotal:", StringComparison.Ordinal))
                        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;
        }
        catch (Exception e) when (e is IOException or FormatException) { }
        return GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
    }

    /// <summary>The 1-minute load average (Linux), or null.</summary>
    private static double? ReadLoadAverage()
    {
        try
        {
            if (!File.Exists("/proc/loadavg")) return null;
            string first = File.ReadAllText("/proc/loadavg").Split(' ')[0];
            return double.TryParse(first, System.Globalization.CultureInfo.InvariantCulture, out double load) ? load : null;
        }
        catch (IOException) { return null; }
    }

    /// <summary>The vector instruction sets this process may use (after DOTNET_Enable* switches).</summary>
    private static string[] InstructionSetsPresent()
    {
        var sets = new List<string>();
        if (Sse42.IsSupported) sets.Add("SSE4.2");
        if (Avx.IsSupported) sets.Add("AVX");
        if (Avx2.IsSupported) sets.Add("AVX2");
        if (Fma.IsSupported) sets.Add("FMA");
        if (Avx512F.IsSupported) sets.Add("AVX-512F");
        if (Avx512BW.IsSupported) sets.Add("AVX-512BW");
        if (AdvSimd.IsSupported) sets.Add("AdvSIMD");
        return sets.ToArray();
    }
}
