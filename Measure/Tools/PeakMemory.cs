using System.Globalization;
using System.Text.Json.Nodes;
using ToyModels.Backends;

namespace ToyModels.Measure.Tools;

/// <summary>
/// Peak resident memory of training (default case L on the SIMD backend) against what the model needs: the
/// parameters, the optimizer state and one batch of activations, x, h, z, g_z and g_h, each B rows of floats.
/// The peak is the process's VmHWM after the steps, so it includes the .NET runtime, whose own resident memory
/// before the backend is made is printed too.
/// Run: measure memory [--case L] [--steps 5] [--threads 0]
/// </summary>
internal static class PeakMemory
{
    public static int Run(IEnumerable<string> args)
    {
        var options = new ToolOptions("memory", args, "--case", "--steps", "--threads", "--backend");
        var benchCase = BenchCase.Parse(options.String("--case", "L"));
        int steps = options.Int("--steps", 5, 1), threads = options.Int("--threads", 0, 0);
        var kind = BackendFactory.Parse(options.String("--backend", "simd"));
        var config = benchCase.Config();
        long runtime = Status("VmHWM");

        long start = Environment.TickCount64;
        using (var backend = BackendFactory.Create(kind, config, new BackendOptions(threads)))
        {
            var made = (Rss: Status("VmRSS"), Peak: Status("VmHWM"));
            var scalars = new OptimizerStep(config);
            for (long t = 0; t < steps; t++) backend.Step(scalars.Set(t));
            var loss = new float[config.Batch];
            backend.Read(TensorKind.RowLoss, loss); // a device backend has finished its steps
            Report(benchCase, backend.Description, steps, runtime, Status("VmHWM"), (Environment.TickCount64 - start) / 1000.0);
            Console.Error.WriteLine($"  (resident after the backend was made {made.Rss / 1048576.0:F1} MiB, peak by then {made.Peak / 1048576.0:F1} MiB; " +
                $"after the steps {Status("VmRSS") / 1048576.0:F1} MiB)");
        }
        return 0;
    }

    private static void Report(BenchCase benchCase, string device, int steps, long runtime, long peak, double seconds)
    {
        var config = benchCase.Config();
        long parameters = (long)config.Layout.Total * sizeof(float);
        long state = config.Optimizer.StateSlots * parameters;
        long rows = (long)config.InstanceCount * config.Batch;
        long activations = rows * (3L * config.N + 2L * config.M) * sizeof(float); // x, z, g_z: n each; h, g_h: m each
        long need = parameters + state + activations;
        var c = CultureInfo.InvariantCulture;
        string MiB(long bytes) => string.Create(c, $"{bytes / 1048576.0,9:F1} MiB");
        Console.WriteLine(string.Create(c, $"peak memory of case {benchCase}, {steps} steps in {seconds:F1} s on {device}"));
        Console.WriteLine($"  parameters                 {MiB(parameters)}   ({config.Layout.Total} floats)");
        Console.WriteLine($"  optimizer state            {MiB(state)}   ({config.Optimizer.StateSlots} slots)");
        Console.WriteLine($"  activations, one batch     {MiB(activations)}   (x, z, g_z: B x n; h, g_h: B x m; floats)");
        Console.WriteLine($"  needed                     {MiB(need)}");
        Console.WriteLine($"  .NET runtime alone (VmHWM) {MiB(runtime)}   (before the backend is made)");
        Console.WriteLine(string.Create(c, $"  peak RSS (VmHWM)           {MiB(peak)}   = {(double)peak / need:F3}x needed; without the runtime {(double)(peak - runtime) / need:F3}x"));
        Console.WriteLine(new JsonObject
        {
            ["case"] = benchCase.Name, ["device"] = device, ["steps"] = steps, ["parameter_bytes"] = parameters, ["state_bytes"] = state,
            ["activation_bytes"] = activations, ["needed_bytes"] = need, ["runtime_bytes"] = runtime, ["peak_bytes"] = peak,
            ["ratio"] = Math.Round((double)peak / need, 4), ["ratio_without_runtime"] = Math.Round((double)(peak - runtime) / need, 4),
        }.ToJsonString());
    }

    /// <summary>A "Vm...: N kB" line of /proc/self/status, in bytes.</summary>
    private static long Status(string field)
    {
        foreach (string line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith(field + ":", StringComparison.Ordinal))
                return long.Parse(line[(field.Length + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
        throw new InvalidOperationException($"/proc/self/status has no {field} line (Linux only)");
    }
}
