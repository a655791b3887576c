using System.Diagnostics;
using ToyModels.Backends;
using ToyModels.Backends.Simd;
using ToyModels.Model;

namespace ToyModels.Benchmarks.Scratch;

// TEMPORARY probe for kernel timings while tuning; not part of the suite.
internal static unsafe class Probe
{
    public static void Run(string[] args)
    {
        int n = int.Parse(args[1]), m = int.Parse(args[2]), b = int.Parse(args[3]), threads = int.Parse(args[4]);
        double p = double.Parse(args[5]);
        int warm = int.Parse(args[6]);
        var configs = args.Skip(7).Select(a => a.Split(',').Select(int.Parse).ToArray()).ToArray(); // rows,group,features,dense(0/1)
        var config = AutoencoderConfig.Create(n, m, p, 3e-3 / Math.Sqrt(n), batch: b, optimizer: new OptimizerSettings { Eps = 1e-7 });
        using var backend = (SimdBackend)BackendFactory.Create(BackendKind.Simd, config, new BackendOptions(threads));
        var scalars = new OptimizerStep(config);
        long step = 0;
        for (; step < warm; step++) backend.Step(scalars.Set(step));
        var best = new double[configs.Length, 9];
        for (int i = 0; i < configs.Length; i++) for (int j = 0; j < 9; j++) best[i, j] = double.MaxValue;
        for (int round = 0; round < 4; round++)
            for (int c = 0; c < configs.Length; c++)
            {
                Blocking.ProductRows = configs[c][0]; Blocking.LaneGroup = configs[c][1]; Blocking.Features = configs[c][2];
                backend.DenseDensity = configs[c][3] == 1 ? 0 : 2;
                if (configs[c].Length > 4) { Blocking.HiddenFeatures = configs[c][4]; Blocking.GradientSamples = configs[c][5]; }
                for (int r = 0; r < 2; r++) backend.Step(scalars.Set(step++));
                Array.Clear(backend.PhaseTicks); Array.Clear(backend.PhaseCalls);
                var sw = Stopwatch.StartNew();
                int reps = 5;
                for (int r = 0; r < reps; r++) backend.Step(scalars.Set(step++));
                best[c, 8] = Math.Min(best[c, 8], sw.Elapsed.TotalMilliseconds / reps);
                for (int ph = 0; ph < 8; ph++) best[c, ph] = Math.Min(best[c, ph], backend.PhaseTicks[ph] * 1000.0 / Stopwatch.Frequency / reps);
            }
        Console.WriteLine("config            step | Generate Encode Decode Loss Hidden Transpose Gradients");
        for (int c = 0; c < configs.Length; c++)
        {
            Console.Write($"{string.Join(',', configs[c]),-14} {best[c, 8],7:F2} |");
            for (int ph = 0; ph < 7; ph++) Console.Write($" {best[c, ph],7:F2}");
            Console.WriteLine();
        }
        Console.WriteLine(backend.Decisions);
    }
}
