using ToyModels.Measure.Hardware;
using ToyModels.Measure.Tools;

namespace ToyModels.Measure;

/// <summary>The measuring verbs, one figure or table per run, for this program and for Benchmarks, which hands them over.</summary>
public static class Verbs
{
    public const string Usage = """
        usage: measure VERB [options]
          hardware [--quick] ...                          the machine, each device's peaks, the standard cases on every backend (hardware --help)
          decoder [--case M] [--reps 15] [--threads 0] [--backend simd] [--device 0] [--inner 1]
                                                          the dense decoder product alone, GFLOP/s (simd: against OpenBLAS sgemm)
          memory [--case L | --n N --m M --batch B --p P --instances K --tied 0|1] [--backend simd] [--steps 5] [--eval-samples 8192] [--checkpoint 1]
                                                          peak RSS of training, checkpoint written and read, against the memory estimate runs are refused by
          kernels --emit ptx|opencl --out DIR             the generated code of every GPU kernel, one file each, audited
          packs [--case S] [--k 1,4,8,16,20,32,64] [--warmup N] [--pairs 5] [--seconds 1] [--threads 0] [--backend simd]
                                                          per-instance throughput of packed runs against one run alone, side by side
          rug [--grid FILE] [--early 400] [--window 500] [--whole-width 0] [--whole-p-index LIST] [--widths LIST] [--threads 0]
                                                          a grid's wall time and share of the FMA peak, from a measured subset
        """;

    /// <summary>The verb's exit code, or null when <paramref name="args"/> names none of them.</summary>
    public static int? Run(string[] args)
    {
        if (args.Length == 0) return null;
        if (args[0] == "hardware") return HardwareCommand.Run(args[1..]);
        try
        {
            return args[0] switch
            {
                "decoder" => DecoderProduct.Run(args[1..]),
                "memory" => PeakMemory.Run(args[1..]),
                "kernels" => KernelsCommand.Run(args[1..]),
                "packs" => PackScaling.Run(args[1..]),
                "rug" => RugGridTime.Run(args[1..]),
                _ => null,
            };
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine(Samples.OptionNames.Translate(e.Message));
            return 2;
        }
    }

    /// <summary>Exit code 2 with the usage, for a command line without a verb.</summary>
    public static int Unknown(string[] args)
    {
        if (args is not (["--help"] or ["-h"])) Console.Error.WriteLine(args.Length == 0 ? "measure: no verb" : $"measure: unknown verb '{args[0]}'");
        Console.Error.WriteLine(Usage);
        return args is ["--help"] or ["-h"] ? 0 : 2;
    }
}
