using System.Runtime.InteropServices;

namespace ToyModels.Backends.Cuda;

/// <summary>
/// NVRTC, CUDA's run-time compiler (libnvrtc.so.13, .so.12 or .so), bound at run time like
/// <see cref="CudaDriver"/>. Compiles the shared kernel source for the device's own architecture with
/// the options of DESIGN section 2, rule 3.
/// </summary>
internal sealed unsafe class Nvrtc
{
    private const int Success = 0;

    /// <summary>Sonames first, then the usual toolkit folders (CUDA_HOME / CUDA_PATH, /usr/local/cuda).</summary>
    internal static IEnumerable<string> LibraryCandidates()
    {
        string[] sonames = ["libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so"];
        foreach (string name in sonames) yield return name;
        var folders = new[] { Environment.GetEnvironmentVariable("CUDA_HOME"), Environment.GetEnvironmentVariable("CUDA_PATH"), "/usr/local/cuda" }
            .Where(f => !string.IsNullOrEmpty(f)).Select(f => Path.Combine(f!, "lib64"));
        foreach (string folder in folders)
            foreach (string name in sonames)
                yield return Path.Combine(folder, name);
    }

    private static readonly Lazy<(Nvrtc? Compiler, string? Error)> Shared = new(Load);

    private delegate* unmanaged<int*, int*, int> nvrtcVersion;
    private delegate* unmanaged<int*, int> nvrtcGetNumSupportedArchs;
    private delegate* unmanaged<int*, int> nvrtcGetSupportedArchs;
    private delegate* unmanaged<nint*, byte*, byte*, int, byte**, byte**, int> nvrtcCreateProgram;
    private delegate* unmanaged<nint, int, byte**, int> nvrtcCompileProgram;
    private delegate* unmanaged<nint, nuint*, int> nvrtcGetProgramLogSize;
    private delegate* unmanaged<nint, byte*, int> nvrtcGetProgramLog;
    private delegate* unmanaged<nint, nuint*, int> nvrtcGetCUBINSize;
    private delegate* unmanaged<nint, byte*, int> nvrtcGetCUBIN;
    private delegate* unmanaged<nint, nuint*, int> nvrtcGetPTXSize;
    private delegate* unmanaged<nint, byte*, int> nvrtcGetPTX;
    private delegate* unmanaged<nint*, int> nvrtcDestroyProgram;
    private delegate* unmanaged<int, byte*> nvrtcGetErrorString;

    public (int Major, int Minor) Version { get; private set; }
    /// <summary>Real architectures this NVRTC can emit a CUBIN for (e.g. 90 for sm_90).</summary>
    public IReadOnlyList<int> SupportedArchitectures { get; private set; } = [];

    public static (Nvrtc? Compiler, string? Error) TryGet() => Shared.Value;

    public static Nvrtc Get() => TryGet() is (Nvrtc compiler, _) ? compiler
        : throw new BackendUnavailableException($"cuda: {TryGet().Error}");

    private static (Nvrtc?, string?) Load()
    {
        if (!CudaDriver.TryLoadAny(LibraryCandidates(), out nint library, out string tried))
            return (null, $"NVRTC not found (tried {tried}); install the CUDA toolkit's NVRTC (libnvrtc) or set CUDA_HOME");
        var compiler = new Nvrtc();
        try
        {
            void* F(string name) => (void*)NativeLibrary.GetExport(library, name);
            compiler.nvrtcVersion = (delegate* unmanaged<int*, int*, int>)F("nvrtcVersion");
            compiler.nvrtcGetNumSupportedArchs = (delegate* unmanaged<int*, int>)F("nvrtcGetNumSupportedArchs");
            compiler.nvrtcGetSupportedArchs = (delegate* unmanaged<int*, int>)F("nvrtcGetSupportedArchs");
            compiler.nvrtcCreateProgram = (delegate* unmanaged<nint*, byte*, byte*, int, byte**, byte**, int>)F("nvrtcCreateProgram");
            compiler.nvrtcCompileProgram = (delegate* unmanaged<nint, int, byte**, int>)F("nvrtcCompileProgram");
            compiler.nvrtcGetProgramLogSize = (delegate* unmanaged<nint, nuint*, int>)F("nvrtcGetProgramLogSize");
            compiler.nvrtcGetProgramLog = (delegate* unmanaged<nint, byte*, int>)F("nvrtcGetProgramLog");
            compiler.nvrtcGetCUBINSize = (delegate* unmanaged<nint, nuint*, int>)F("nvrtcGetCUBINSize");
            compiler.nvrtcGetCUBIN = (delegate* unmanaged<nint, byte*, int>)F("nvrtcGetCUBIN");
            compiler.nvrtcGetPTXSize = (delegate* unmanaged<nint, nuint*, int>)F("nvrtcGetPTXSize");
            compiler.nvrtcGetPTX = (delegate* unmanaged<nint, byte*, int>)F("nvrtcGetPTX");
            compiler.nvrtcDestroyProgram = (delegate* unmanaged<nint*, int>)F("nvrtcDestroyProgram");
            compiler.nvrtcGetErrorString = (delegate* unmanaged<int, byte*>)F("nvrtcGetErrorString");
        }
        catch (EntryPointNotFoundException e)
        {
            return (null, $"NVRTC is too old (CUBIN output needs CUDA 11.2 or later): {e.Message}");
        }
        int major, minor, count;
        compiler.Check(compiler.nvrtcVersion(&major, &minor), "nvrtcVersion");
        compiler.Version = (major, minor);
        compiler.Check(compiler.nvrtcGetNumSupportedArchs(&count), "nvrtcGetNumSupportedArchs");
        var archs = new int[count];
        fixed (int* p = archs) compiler.Check(compiler.nvrtcGetSupportedArchs(p), "nvrtcGetSupportedArchs");
        compiler.SupportedArchitectures = archs;
        return (compiler, null);
    }

    /// <summary>What to compile for a device of compute capability major.minor.</summary>
    /// <returns>A CUBIN for sm_XY when this NVRTC supports it (no JIT at load); otherwise PTX for the newest
    /// compute_XY not above the device (the driver JIT-compiles it, with the same IEEE semantics).</returns>
    internal static (string Architecture, bool Cubin) Target(int major, int minor, IReadOnlyList<int> supported)
    {
        int device = major * 10 + minor;
        if (supported.Contains(device)) return ($"sm_{device}", true);
        var below = supported.Where(a => a <= device).ToList();
        if (below.Count == 0)
            throw new BackendUnavailableException($"cuda: this NVRTC supports sm_{string.Join(", sm_", supported)}, none at or below the device's sm_{device}");
        return ($"compute_{below.Max()}", false);
    }

    /// <summary>
    /// The options of DESIGN section 2, rule 3: no contraction into FMA (kernels write __fmaf_rn where the
    /// order says fma), denormals kept, IEEE division and square root.
    /// </summary>
    internal static string[] Options(string architecture) =>
    [
        $"--gpu-architecture={architecture}",
        "--fmad=false",
        "--ftz=false",
        "--prec-div=true",
        "--prec-sqrt=true",
        "-DTOYMODELS_CUDA=1",
    ];

    /// <summary>Compiles; on failure throws <see cref="BackendUnavailableException"/> carrying the compiler's log.</summary>
    public (byte[] Image, string Log) Compile(string source, string name, string[] options, bool cubin)
    {
        nint program;
        byte[] src = CudaDriver.Utf8z(source), programName = CudaDriver.Utf8z(name);
        fixed (byte* s = src, n = programName)
            Check(nvrtcCreateProgram(&program, s, n, 0, null, null), "nvrtcCreateProgram");
        try
        {
            var handles = options.Select(o => GCHandle.Alloc(CudaDriver.Utf8z(o), GCHandleType.Pinned)).ToArray();
            int status;
            try
            {
                var pointers = stackalloc byte*[options.Length];
                for (int k = 0; k < options.Length; k++) pointers[k] = (byte*)handles[k].AddrOfPinnedObject();
                status = nvrtcCompileProgram(program, options.Length, pointers);
            }
            finally
            {
                foreach (var h in handles) h.Free();
            }
            string log = Log(program);
            if (status != Success)
                throw new BackendUnavailableException($"cuda: NVRTC could not compile {name} ({Describe(status)}) with {string.Join(' ', options)}:\n{log}");
            nuint size;
            Check(cubin ? nvrtcGetCUBINSize(program, &size) : nvrtcGetPTXSize(program, &size), "nvrtcGet(CUBIN|PTX)Size");
            var image = new byte[size];
            fixed (byte* p = image) Check(cubin ? nvrtcGetCUBIN(program, p) : nvrtcGetPTX(program, p), "nvrtcGet(CUBIN|PTX)");
            return (image, log);
        }
        finally
        {
            nvrtcDestroyProgram(&program);
        }
    }

    private string Log(nint program)
    {
        nuint size;
        if (nvrtcGetProgramLogSize(program, &size) != Success || size <= 1) return "";
        var buffer = new byte[size];
        fixed (byte* p = buffer) nvrtcGetProgramLog(program, p);
        return System.Text.Encoding.UTF8.GetString(buffer, 0, (int)size - 1).Trim();
    }

    private string Describe(int status) => Marshal.PtrToStringUTF8((nint)nvrtcGetErrorString(status)) ?? $"nvrtcResult {status}";

    private void Check(int status, string call)
    {
        if (status != Success) throw new BackendUnavailableException($"cuda: {call} failed: {Describe(status)}");
    }
}
