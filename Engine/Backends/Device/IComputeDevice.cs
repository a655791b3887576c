namespace ToyModels.Backends.Device;

/// <summary>
/// The little a GPU runtime must do for <see cref="DeviceBackend"/>: hold memory, copy to and from
/// it, and run the training program's kernels in order. OpenCL implements it (OpenClDevice); CUDA
/// implements the same with the driver API and NVRTC. All the training logic stays in
/// <see cref="DeviceBackend"/>, so a runtime is only plumbing.
/// </summary>
/// <remarks>
/// <para>Ordering: every call is ordered after every earlier call on the same device object, as one
/// in-order queue (an OpenCL in-order command queue, a CUDA stream). Only <see cref="Read"/> and
/// <see cref="Finish"/> wait for the device; <see cref="Write"/>, <see cref="Launch"/> and
/// <see cref="Flush"/> may return before the work is done.</para>
/// <para>The program: the runtime compiles <see cref="Kernels.KernelSource"/> for its language
/// (OpenCL: <c>ForOpenCl()</c> with the DESIGN flags; CUDA: <c>ForCuda()</c> with NVRTC's exact-math
/// options) once per process and device, before or at the first <see cref="Kernel"/> call.</para>
/// <para>Launch shape: a grid of <c>groups x instances</c> groups of <c>groupSize</c> work-items, in
/// OpenCL terms global size (groups * groupSize, instances) and local size (groupSize, 1); in CUDA
/// terms gridDim (groups, instances), blockDim (groupSize). The kernels read dimension 0's group and
/// local ids and dimension 1's group id (the instance, after the firstInstance argument).</para>
/// <para>A device object is used by one thread at a time; several may exist at once (one per
/// backend), sharing the compiled program.</para>
/// </remarks>
internal interface IComputeDevice : IDisposable
{
    /// <summary>The backend's short name: opencl, cuda.</summary>
    string BackendName { get; }

    /// <summary>For people: the device and its runtime.</summary>
    string Description { get; }

    /// <summary>The most instances (grid dimension 1) one launch may cover; larger counts are launched in chunks.</summary>
    int MaxInstancesPerLaunch { get; }

    /// <summary>A buffer of <paramref name="bytes"/> bytes (a multiple of 4), filled with zeros.</summary>
    DeviceBuffer Allocate(long bytes);

    /// <summary>Copies <paramref name="data"/> to the buffer at byte <paramref name="offset"/>. The span may be reused as soon as this returns.</summary>
    void Write(DeviceBuffer buffer, long offset, ReadOnlySpan<byte> data);

    /// <summary>Waits for all earlier work, then copies from the buffer at byte <paramref name="offset"/>.</summary>
    void Read(DeviceBuffer buffer, long offset, Span<byte> data);

    /// <summary>A kernel of the training program, ready to launch from this device object.</summary>
    DeviceKernel Kernel(string name);

    /// <summary>Queues one launch; arguments are in the kernel's parameter order.</summary>
    void Launch(DeviceKernel kernel, long groups, int instances, int groupSize, ReadOnlySpan<KernelArgument> arguments);

    /// <summary>Submits queued work without waiting for it.</summary>
    void Flush();

    /// <summary>Waits until all queued work is done.</summary>
    void Finish();
}

/// <summary>Device memory. <see cref="Handle"/> is what a kernel argument carries: a cl_mem or a CUdeviceptr.</summary>
internal abstract class DeviceBuffer : IDisposable
{
    protected DeviceBuffer(long bytes) => Bytes = bytes;

    public long Bytes { get; }

    /// <summary>The 64-bit value passed for this buffer as a kernel argument.</summary>
    public abstract ulong Handle { get; }

    public abstract void Dispose();
}

/// <summary>A launchable kernel of one device object.</summary>
internal abstract class DeviceKernel : IDisposable
{
    protected DeviceKernel(string name, int maxGroupSize)
    {
        Name = name;
        MaxGroupSize = maxGroupSize;
    }

    public string Name { get; }

    /// <summary>The most work-items per group this kernel can be launched with on the device.</summary>
    public int MaxGroupSize { get; }

    public abstract void Dispose();
}

/// <summary>
/// One kernel argument as bytes: a buffer handle (8 bytes), or a 32-bit unsigned integer or float
/// (4 bytes, the low half of <see cref="Bits"/>). An OpenCL runtime passes (&amp;Bits, Size) to
/// clSetKernelArg; a CUDA runtime passes &amp;Bits in cuLaunchKernel's parameter array.
/// </summary>
internal readonly struct KernelArgument
{
    public ulong Bits { get; }
    /// <summary>4 or 8.</summary>
    public int Size { get; }

    private KernelArgument(ulong bits, int size)
    {
        Bits = bits;
        Size = size;
    }

    public static implicit operator KernelArgument(DeviceBuffer buffer) => new(buffer.Handle, sizeof(ulong));
    public static implicit operator KernelArgument(uint value) => new(value, sizeof(uint));
    public static implicit operator KernelArgument(float value) => new(BitConverter.SingleToUInt32Bits(value), sizeof(float));
    public static implicit operator KernelArgument(bool value) => new(value ? 1u : 0u, sizeof(uint));

    /// <summary>A size or index as the kernels' u32.</summary>
    public static implicit operator KernelArgument(int value) =>
        value >= 0 ? new((uint)value, sizeof(uint)) : throw new ArgumentOutOfRangeException(nameof(value), value, "kernel integers are unsigned");
}
