namespace ToyModels.Measure.Hardware;

/// <summary>
/// <c>hardware --compare A.json B.json</c>: two result files side by side, rows matched by device id
/// (simd, opencl#0, cuda#0) and case, with the ratios B / A; then the fastest device of each machine per case.
/// </summary>
internal static class CompareCommand
{
    public static int Run(string pathA, string pathB, TextWriter w)
    {
        var a = HardwareReport.Read(pathA);
        var b = HardwareReport.Read(pathB);
        w.WriteLine($"A  {pathA}: {a.Machine.HostName}, {a.Machine.CpuModel}, {a.Mode}, {a.StartedUtc:yyyy-MM-dd HH:mm} UTC");
        w.WriteLine($"B  {pathB}: {b.Machine.HostName}, {b.Machine.CpuModel}, {b.Mode}, {b.StartedUtc:yyyy-MM-dd HH:mm} UTC");
        w.WriteLine();

        var ids = a.Devices.Select(d => d.Id).Concat(b.Devices.Select(d => d.Id)).Distinct().ToList();
        var peaks = new TextTable("device", "A name", "B name", "FMA A", "FMA B", "B/A", "GB/s A", "GB/s B", "B/A");
        foreach (string id in ids)
        {
            var da = a.Devices.FirstOrDefault(d => d.Id == id);
            var db = b.Devices.FirstOrDefault(d => d.Id == id);
            peaks.Add(id, da?.Name ?? "-", db?.Name ?? "-", TextTable.Number(da?.Peak?.FmaGflops), TextTable.Number(db?.Peak?.FmaGflops),
                Ratio(da?.Peak?.FmaGflops, db?.Peak?.FmaGflops), TextTable.Number(da?.Peak?.BandwidthGBps), TextTable.Number(db?.Peak?.BandwidthGBps),
                Ratio(da?.Peak?.BandwidthGBps, db?.Peak?.BandwidthGBps));
        }
        peaks.Write(w);
        w.WriteLine();

        var cases = new TextTable("device", "case", "steps/s A", "steps/s B", "B/A", "GFLOP/s A", "GFLOP/s B", "B/A", "% peak A", "% peak B", "check A", "check B");
        var caseNames = a.Devices.Concat(b.Devices).SelectMany(d => d.Cases.Select(c => c.Case)).Distinct()
            .OrderBy(name => Array.IndexOf(HardwareOptions.CaseNames, name)).ToList();
        foreach (string id in ids)
            foreach (string name in caseNames)
            {
                var ca = a.Devices.FirstOrDefault(d => d.Id == id)?.Cases.FirstOrDefault(c => c.Case == name);
                var cb = b.Devices.FirstOrDefault(d => d.Id == id)?.Cases.FirstOrDefault(c => c.Case == name);
                if (ca is null && cb is null) continue;
                cases.Add(id, name, TextTable.Rate(ca?.StepsPerSecond), TextTable.Rate(cb?.StepsPerSecond), Ratio(ca?.StepsPerSecond, cb?.StepsPerSecond),
                    TextTable.Number(ca?.ExecutedGflops), TextTable.Number(cb?.ExecutedGflops), Ratio(ca?.ExecutedGflops, cb?.ExecutedGflops),
                    TextTable.Number(ca?.PercentOfPeak), TextTable.Number(cb?.PercentOfPeak), ca?.Status ?? "-", cb?.Status ?? "-");
            }
        cases.Write(w);
        w.WriteLine();

        var best = new TextTable("case", "fastest A", "steps/s A", "fastest B", "steps/s B", "B/A");
        foreach (string name in caseNames)
        {
            var (ia, ra) = Fastest(a, name);
            var (ib, rb) = Fastest(b, name);
            best.Add(name, ia ?? "-", TextTable.Rate(ra), ib ?? "-", TextTable.Rate(rb), Ratio(ra, rb));
        }
        best.Write(w);
        return 0;
    }

    private static (string? Id, double? Rate) Fastest(HardwareReport report, string name)
    {
        var runs = report.Devices.SelectMany(d => d.Cases.Where(c => c.Case == name && c.StepsPerSecond is not null).Select(c => (d.Id, c.StepsPerSecond))).ToList();
        return runs.Count == 0 ? (null, null) : runs.MaxBy(r => r.StepsPerSecond!.Value);
    }

    /// <summary>B / A as "1.23x", or "-" where either is missing or A is zero.</summary>
    public static string Ratio(double? a, double? b) =>
        a is double x && b is double y && x > 0 ? (y / x).ToString("F2", System.Globalization.CultureInfo.InvariantCulture) + "x" : "-";
}
