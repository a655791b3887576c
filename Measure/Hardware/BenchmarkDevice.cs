using ToyModels.Backends;
using ToyModels.Backends.Simd.Lanes;
using ToyModels.Gpu.Devices;
using ToyModels.Model;

namespace ToyModels.Measure.Hardware;

/// <summary>
/// One place the cases run: the CPU through the simd backend, an OpenCL device, or a CUDA device.
/// <see cref="Id"/> ("simd", "opencl#0", "cuda#0") is what compare matches across machines.
/// </summary>
internal sealed class BenchmarkDevice
{
    public string Id { get; }
    public string Name { get; }
    /// <summary>Why this device is not benchmarked (refused for parity, no runtime), or null.</summary>
    public string? Unavailable { get; }

    private readonly Func<AutoencoderConfig, IBackend> _create;
    private readonly Func<Peak> _peak;

    private BenchmarkDevice(string id, string name, string? unavailable, Func<AutoencoderConfig, IBackend> create, Func<Peak> peak)
    {
        Id = id;
        Name = name;
        Unavailable = unavailable;
        _create = create;
        _peak = peak;
    }

    public IBackend CreateBackend(AutoencoderConfig config) => _create(config);

    public Peak MeasurePeak() => _peak();

    /// <summary>The devices of the chosen backends (null: all), in the order simd, OpenCL, CUDA; refused ones included with the reason.</summary>
    public static IReadOnlyList<BenchmarkDevice> Find(IReadOnlyList<string>? backends, int threads, MachineDescription machine)
    {
        bool Wanted(string kind) => backends is null || backends.Contains(kind);
        var found = new List<BenchmarkDevice>();
        if (Wanted("simd"))
            found.Add(new BenchmarkDevice("simd", $"{machine.CpuModel} ({InstructionSets.Name(InstructionSets.Best)}, {(threads > 0 ? threads : Environment.ProcessorCount)} threads)", null,
                config => BackendFactory.Create(BackendKind.Simd, config, new BackendOptions(Threads: threads)),
                () => CpuPeak.Measure(threads, InstructionSets.Best)));
        if (Wanted("opencl"))
        {
            var devices = GpuDevices.OpenCl(out string? problem);
            if (problem is not null && backends is not null)
                found.Add(Absent("opencl", "OpenCL", problem));
            foreach (var d in devices)
                found.Add(new BenchmarkDevice($"opencl#{d.Index}", d.Describe(), d.ParityProblem,
                    config => BackendFactory.Create(BackendKind.OpenCl, config, new BackendOptions(Device: d.Index)),
                    () => DevicePeak.Measure(GpuDevices.OpenOpenCl(d.Index))));
        }
        if (Wanted("cuda"))
        {
            var devices = GpuDevices.Cuda(out string? problem);
            if (problem is not null && backends is not null)
                found.Add(Absent("cuda", "CUDA", problem));
            for (int ordinal = 0; ordinal < devices.Count; ordinal++)
            {
                int d = ordinal;
                found.Add(new BenchmarkDevice($"cuda#{d}", $"{devices[d].Name} ({devices[d].Architecture})", null,
                    config => BackendFactory.Create(BackendKind.Cuda, config, new BackendOptions(Device: d)),
                    () => DevicePeak.Measure(GpuDevices.OpenCuda(d))));
            }
        }
        return found;
    }

    private static BenchmarkDevice Absent(string id, string name, string problem) =>
        new(id, name, problem, _ => throw new InvalidOperationException(), () => throw new InvalidOperationException());
}
