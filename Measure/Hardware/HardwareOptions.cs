namespace ToyModels.Measure.Hardware;

/// <summary>A bad command line of the hardware command: exit code 2 with this message.</summary>
internal sealed class HardwareArgumentException(string message) : Exception(message);

/// <summary>What the hardware command was asked to do (see <see cref="Usage"/>).</summary>
internal sealed record HardwareOptions
{
    public bool Quick { get; init; }
    /// <summary>Where <c>--record</c> writes the expected hashes (simd backend), or null when benchmarking.</summary>
    public string? RecordFile { get; init; }
    public string JsonOut { get; init; } = "hardware-results.json";
    public string ExpectedFile { get; init; } = Path.Combine(AppContext.BaseDirectory, "Hardware", "expected-hashes.json");
    /// <summary>The two result files of <c>--compare A B</c>, or null.</summary>
    public (string A, string B)? Compare { get; init; }
    /// <summary>Case names, or null for the standard set (S, M, L, XL, XL-untied; Q with --quick).</summary>
    public IReadOnlyList<string>? Cases { get; init; }
    /// <summary>Backend kinds to run (simd, opencl, cuda), or null for every one present.</summary>
    public IReadOnlyList<string>? Backends { get; init; }
    /// <summary>Host threads of the simd backend and the CPU peak (0: all cores).</summary>
    public int Threads { get; init; }
    /// <summary>Seconds one device may spend on the timed steps of one case; slower ones are skipped with the projection.</summary>
    public double CaseBudgetSeconds { get; init; } = 60;

    public const string Usage = """
        usage: measure hardware [options]
               measure hardware --compare A.json B.json
          --quick              the quick case only (CI: well under a minute)
          --cases LIST         comma-separated among Q, S, M, L, XL, XL-untied (default S,M,L,XL,XL-untied; Q with --quick)
          --backends LIST      comma-separated among simd, opencl, cuda (default: every one present)
          --threads N          host threads for simd and the CPU peak (default 0: all cores)
          --budget SECONDS     longest timed run of one case on one device; slower devices skip the case (default 60)
          --json-out FILE      where the results go (default hardware-results.json)
          --expected FILE      expected weights_sha256 per case (default: the file shipped next to the program)
          --record FILE        run the cases on simd and write their hashes to FILE (merged into it if it exists)
          --compare A B        print two result files side by side with ratios B/A
        exit codes: 0 all hashes match, 1 a device produced a wrong hash or failed, 2 bad arguments
        """;

    public static readonly string[] CaseNames = [.. HardwareCases.All.Select(c => c.Name)];
    public static readonly string[] BackendNames = ["simd", "opencl", "cuda"];

    /// <summary>Parses the arguments after the verb.</summary>
    /// <exception cref="HardwareArgumentException">An unknown option, a missing or bad value.</exception>
    public static HardwareOptions Parse(IReadOnlyList<string> args)
    {
        var options = new HardwareOptions();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < args.Count; i++)
        {
            string name = args[i];
            if (name.StartsWith("--", StringComparison.Ordinal) && !seen.Add(name))
                throw new HardwareArgumentException($"{name} given more than once; each option is accepted at most once");
            string Value()
            {
                if (i + 1 >= args.Count || args[i + 1].StartsWith("--", StringComparison.Ordinal))
                    throw new HardwareArgumentException($"{name} needs a value");
                return args[++i];
            }
            options = name switch
            {
                "--quick" => options with { Quick = true },
                "--cases" => options with { Cases = List(name, Value(), CaseNames) },
                "--backends" => options with { Backends = List(name, Value(), BackendNames) },
                "--threads" => options with { Threads = Integer(name, Value(), 0, 4096) },
                "--budget" => options with { CaseBudgetSeconds = Seconds(name, Value()) },
                "--json-out" => options with { JsonOut = Value() },
                "--expected" => options with { ExpectedFile = Value() },
                "--record" => options with { RecordFile = Value() },
                "--compare" => options with { Compare = (Value(), Value()) },
                _ => throw new HardwareArgumentException($"unknown option '{name}'"),
            };
        }
        if (options.Compare is not null && (options.RecordFile is not null || options.Quick))
            throw new HardwareArgumentException("--compare takes two result files and no other mode (--quick, --record)");
        return options;
    }

    /// <summary>The cases this run covers, in order.</summary>
    public IReadOnlyList<string> CaseList => Cases ?? (Quick ? ["Q"] : ["S", "M", "L", "XL", "XL-untied"]);

    private static string[] List(string name, string text, string[] accepted)
    {
        var items = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        foreach (string item in items)
            if (!accepted.Contains(item))
                throw new HardwareArgumentException($"{name}: '{item}' is not one of {string.Join(", ", accepted)}");
        if (items.Length == 0) throw new HardwareArgumentException($"{name}: an empty list (accepted: {string.Join(", ", accepted)})");
        return items.Distinct().ToArray();
    }

    private static int Integer(string name, string text, int min, int max) =>
        int.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out int value) && value >= min && value <= max
            ? value
            : throw new HardwareArgumentException($"{name}: '{text}' is not an integer in [{min}, {max}]");

    private static double Seconds(string name, string text) =>
        double.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out double value) && value > 0 && double.IsFinite(value)
            ? value
            : throw new HardwareArgumentException($"{name}: '{text}' is not a number of seconds > 0");
}
