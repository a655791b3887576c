using System.Diagnostics;
using System.Globalization;

namespace ToyModels.Memory;

/// <summary>This process's resident memory: now (VmRSS) and its peak so far (VmHWM), from /proc/self/status on Linux.</summary>
public static class ProcessMemory
{
    /// <summary>Bytes resident now (VmRSS; elsewhere the working set).</summary>
    public static long Resident() => Status("VmRSS") ?? Environment.WorkingSet;

    /// <summary>The most bytes resident so far (VmHWM; elsewhere the peak working set).</summary>
    public static long Peak()
    {
        if (Status("VmHWM") is long peak) return peak;
        using var process = Process.GetCurrentProcess();
        return process.PeakWorkingSet64;
    }

    /// <summary>A "Vm...: N kB" line of /proc/self/status, in bytes; null where there is none.</summary>
    private static long? Status(string field)
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/self/status"))
                if (line.StartsWith(field + ":", StringComparison.Ordinal)
                    && long.TryParse(line[(field.Length + 1)..].Trim().Split(' ')[0], NumberStyles.None, CultureInfo.InvariantCulture, out long kib))
                    return kib * 1024;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        return null;
    }
}
