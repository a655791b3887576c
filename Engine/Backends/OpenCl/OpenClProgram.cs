using System.Text;
using ToyModels.Backends.Kernels;

namespace ToyModels.Backends.OpenCl;

/// <summary>
/// An OpenCL context on one device with a program built in it. The training program of each device
/// lives as long as the process (<see cref="OpenClRuntime.Program"/>); others are disposed by their owner.
/// </summary>
internal sealed unsafe class OpenClProgram : IDisposable
{
    /// <summary>
    /// DESIGN section 2, rule 3: IEEE division and square root; OpenCL C 1.2, the common version.
    /// Never -cl-mad-enable, -cl-unsafe-math-optimizations, -cl-fast-relaxed-math or
    /// -cl-denorms-are-zero; contraction is switched off by the pragma at the top of the source.
    /// </summary>
    public const string BuildOptions = "-cl-std=CL1.2 -cl-fp32-correctly-rounded-divide-sqrt";

    public OpenClDeviceInfo Device { get; }
    public nint Context { get; }
    public nint Handle { get; }
    /// <summary>A short hash of the source, for people.</summary>
    public string SourceHash { get; }

    private OpenClProgram(OpenClDeviceInfo device, nint context, nint handle, string sourceHash)
    {
        Device = device;
        Context = context;
        Handle = handle;
        SourceHash = sourceHash;
    }

    /// <summary>The training kernels (<see cref="KernelSource.ForOpenCl"/>) built for the device.</summary>
    public static OpenClProgram BuildTraining(OpenClDeviceInfo device) => Build(device, KernelSource.ForOpenCl());

    /// <summary>Builds <paramref name="source"/> with <see cref="BuildOptions"/> in a new context on the device.</summary>
    /// <exception cref="BackendUnavailableException">The build failed; the message holds the compiler's log.</exception>
    public static OpenClProgram Build(OpenClDeviceInfo device, string source)
    {
        nint id = device.Device;
        int error;
        nint context = OpenClApi.clCreateContext(null, 1, &id, 0, 0, &error);
        OpenClApi.Check(error, "clCreateContext");
        nint program = 0;
        try
        {
            byte[] text = Encoding.UTF8.GetBytes(source);
            fixed (byte* t = text)
            {
                byte* strings = t;
                nuint length = (nuint)text.Length;
                program = OpenClApi.clCreateProgramWithSource(context, 1, &strings, &length, &error);
                OpenClApi.Check(error, "clCreateProgramWithSource");
            }
            byte[] options = Encoding.ASCII.GetBytes(BuildOptions + "\0");
            int status;
            fixed (byte* o = options) status = OpenClApi.clBuildProgram(program, 1, &id, o, 0, 0);
            if (status != OpenClApi.Success)
                throw new BackendUnavailableException(BuildFailure(device, status, BuildLog(program, id)));
            return new OpenClProgram(device, context, program, KernelSource.Hash(source));
        }
        catch
        {
            if (program != 0) OpenClApi.clReleaseProgram(program);
            OpenClApi.clReleaseContext(context);
            throw;
        }
    }

    public void Dispose()
    {
        OpenClApi.clReleaseProgram(Handle);
        OpenClApi.clReleaseContext(Context);
    }

    /// <summary>The message of a failed build: the device, the status and the compiler's log.</summary>
    public static string BuildFailure(OpenClDeviceInfo device, int status, string log) =>
        $"opencl: the training kernels do not build on device #{device.Index} {device.Name} ({device.PlatformName}): " +
        $"{OpenClApi.ErrorName(status)} ({status}) with options \"{BuildOptions}\". Build log:\n" +
        (string.IsNullOrWhiteSpace(log) ? "(the compiler left no log)" : log.TrimEnd());

    private static string BuildLog(nint program, nint device)
    {
        nuint size;
        if (OpenClApi.clGetProgramBuildInfo(program, device, OpenClApi.ProgramBuildLog, 0, null, &size) != OpenClApi.Success) return "";
        var bytes = new byte[(int)size];
        fixed (byte* b = bytes)
            if (OpenClApi.clGetProgramBuildInfo(program, device, OpenClApi.ProgramBuildLog, size, b, null) != OpenClApi.Success) return "";
        return Encoding.UTF8.GetString(bytes).TrimEnd('\0');
    }
}
