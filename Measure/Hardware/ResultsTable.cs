using ToyModels.Model;

namespace ToyModels.Measure.Hardware;

/// <summary>The human-readable report: the machine, each device's peaks, then one row per device and case.</summary>
internal static class ResultsTable
{
    public static void WriteMachine(TextWriter w, MachineDescription m)
    {
        w.WriteLine($"Machine   {m.HostName}: {m.CpuModel}, {m.LogicalCores} logical cores, {m.MemoryBytes / (1024.0 * 1024 * 1024):F1} GiB memory");
        w.WriteLine($"          instruction sets {string.Join(" ", m.InstructionSets)}; simd backend uses {m.SimdInstructionSet}");
        w.WriteLine($"          {m.Os}, {m.Runtime}{(m.LoadAverage is double load ? $", load average {load:F2} at start" : "")}");
        if (m.Busy)
            w.WriteLine($"WARNING   the machine was busy (load average {m.LoadAverage:F2} on {m.LogicalCores} cores): CPU rates and peaks read low; hashes are unaffected");
        foreach (var d in m.Devices)
            w.WriteLine($"Device    {d.Id}: {d.Name} (driver {d.Driver}, {d.MemoryBytes >> 20} MiB, {d.Detail}){(d.Refused is null ? "" : $" REFUSED: {d.Refused}")}");
        if (m.OpenClProblem is not null) w.WriteLine($"OpenCL    {m.OpenClProblem}");
        if (m.CudaProblem is not null) w.WriteLine($"CUDA      {m.CudaProblem}");
    }

    public static void WritePeaks(TextWriter w, IReadOnlyList<DeviceResult> devices)
    {
        var table = new TextTable("device", "name", "FMA peak GFLOP/s", "bandwidth GB/s", "method");
        foreach (var d in devices)
            table.Add(d.Id, d.Name, TextTable.Number(d.Peak?.FmaGflops), TextTable.Number(d.Peak?.BandwidthGBps), d.Peak?.Method ?? d.Unavailable ?? "-");
        table.Write(w);
    }

    public static void WriteCases(TextWriter w, IReadOnlyList<DeviceResult> devices)
    {
        var table = new TextTable("device", "case", "steps", "steps/s", "samples/s", "GFLOP/s exec", "GFLOP/s dense-eq", "% peak", "weights_sha256", "check");
        foreach (var d in devices)
            foreach (var c in d.Cases)
                table.Add(d.Id, c.Case, $"{c.WarmupSteps}+{c.TimedSteps}", TextTable.Rate(c.StepsPerSecond), TextTable.Rate(c.SamplesPerSecond),
                    TextTable.Number(c.ExecutedGflops), TextTable.Number(c.DenseGflops), TextTable.Number(c.PercentOfPeak),
                    c.WeightsSha256 is null ? "-" : c.WeightsSha256[..16], Check(c));
        table.Write(w);
        w.WriteLine($"Cases (untied unless tied, bias, Adam lr {Defaults.LearningRateFormula} eps {Defaults.AdamEps}, uniform importance, seed 0; steps = warm-up + timed):");
        foreach (string name in devices.SelectMany(d => d.Cases.Select(c => c.Case)).Distinct())
        {
            var c = HardwareCases.Get(name);
            w.WriteLine($"  {c.Name,-2} {c.Shape}, {c.WarmupSteps}+{c.TimedSteps} steps (short run {c.WarmupSteps}+{c.ShortTimedSteps}){(c.Note is null ? "" : $"; {c.Note}")}");
        }
        var notes = devices.SelectMany(d => d.Cases.Where(c => c.Reason is not null).Select(c => $"  {d.Id} {c.Case}: {c.Status}: {c.Reason}")).ToList();
        if (notes.Count > 0)
        {
            w.WriteLine("Notes:");
            foreach (string note in notes) w.WriteLine(note);
        }
    }

    private static string Check(CaseResult c) => c.Status switch
    {
        CaseStatus.Ok => "ok",
        CaseStatus.Mismatch => $"*** MISMATCH *** expected {c.ExpectedSha256![..16]}",
        _ => c.Status,
    };
}
