using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Loader;

namespace ToyModels.Gpu.Devices;

/// <summary>
/// Where the GPU runtimes' libraries are. ILGPU imports them as "cuda" and "OpenCL", which on Linux
/// probes libcuda.so and libOpenCL.so, names that only the development packages create; a driver
/// installs libcuda.so.1 and the ICD loader libOpenCL.so.1. The resolver runs only when the normal
/// probing fails, so it never competes with ILGPU's own resolver (WSL).
/// </summary>
internal static class NativeLibraries
{
    public static readonly string[] Cuda = OperatingSystem.IsWindows() ? ["nvcuda.dll"] : ["libcuda.so.1", "libcuda.so"];
    public static readonly string[] OpenCl = OperatingSystem.IsWindows() ? ["OpenCL.dll"]
        : OperatingSystem.IsMacOS() ? ["/System/Library/Frameworks/OpenCL.framework/OpenCL"] : ["libOpenCL.so.1", "libOpenCL.so"];

    private static int _installed;

    public static void Install()
    {
        if (Interlocked.Exchange(ref _installed, 1) == 1) return;
        AssemblyLoadContext.Default.ResolvingUnmanagedDll += Resolve;
    }

    /// <summary>Null when one of the names loads; else the names looked for.</summary>
    public static string? Missing(string[] names)
    {
        foreach (string name in names)
            if (NativeLibrary.TryLoad(name, out _)) return null;
        return string.Join(", ", names);
    }

    private static IntPtr Resolve(Assembly assembly, string name)
    {
        string[]? candidates = name switch { "cuda" => Cuda, "OpenCL" => OpenCl, _ => null };
        if (candidates is null) return IntPtr.Zero;
        foreach (string candidate in candidates)
            if (NativeLibrary.TryLoad(candidate, out IntPtr handle)) return handle;
        return IntPtr.Zero;
    }
}
