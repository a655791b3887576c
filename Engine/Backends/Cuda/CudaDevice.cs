using ToyModels.Backends.Device;

namespace ToyModels.Backends.Cuda;

/// <summary>
/// <see cref="IComputeDevice"/> on one CUDA device: a stream of its own in the device's primary
/// context, the shared training module (<see cref="CudaProgram"/>).
/// </summary>
/// <remarks>
/// The stream is a blocking one, so the synchronous copies (cuMemcpyHtoD/DtoH, on the legacy default
/// stream) wait for every kernel queued before them: that is what makes <see cref="Read"/> see the
/// results of earlier launches. Small writes (the per-step optimizer scalars) go through a ring of
/// pinned staging slots with asynchronous copies on the stream, so a step never waits for the previous
/// one; a slot is reused only after the event recorded after its copy has fired.
/// </remarks>
internal sealed unsafe class CudaDevice : IComputeDevice
{
    private const int StagingSlots = 8;
    private const int StagingBytes = 64 * 1024;
    /// <summary>gridDim.y's limit.</summary>
    private const int MaxGridY = 65535;

    private readonly CudaDriver _driver;
    private readonly CudaProgram _program;
    private readonly nint _stream;
    private readonly byte*[] _staging = new byte*[StagingSlots];
    private readonly nint[] _stagingDone = new nint[StagingSlots];
    private readonly bool[] _stagingPending = new bool[StagingSlots];
    private int _nextSlot;
    private bool _disposed;

    public CudaDevice(CudaProgram program)
    {
        _driver = CudaDriver.Get();
        _program = program;
        Current();
        nint stream;
        _driver.Check(_driver.cuStreamCreate(&stream, 0), "cuStreamCreate");
        _stream = stream;
        for (int s = 0; s < StagingSlots; s++)
        {
            void* slot;
            _driver.Check(_driver.cuMemHostAlloc(&slot, StagingBytes, 0), "cuMemHostAlloc");
            _staging[s] = (byte*)slot;
            nint done;
            _driver.Check(_driver.cuEventCreate(&done, CudaDriver.EventDisableTiming), "cuEventCreate");
            _stagingDone[s] = done;
        }
    }

    public string BackendName => "cuda";

    public string Description => $"CUDA {_program.Device.Name} (sm_{_program.Device.Major}{_program.Device.Minor}, {_program.Architecture}" +
        $"{(_program.FromCache ? ", cached" : "")}, driver {_program.Device.DriverVersionText})";

    public int MaxInstancesPerLaunch => MaxGridY;

    /// <summary>The context is current per thread; the backend may be called from any thread, one at a time.</summary>
    private void Current() => _driver.Check(_driver.cuCtxSetCurrent(_program.Context), "cuCtxSetCurrent");

    public DeviceBuffer Allocate(long bytes)
    {
        if (bytes <= 0 || bytes % 4 != 0) throw new ArgumentOutOfRangeException(nameof(bytes), bytes, "a positive multiple of 4");
        Current();
        ulong pointer;
        int status = _driver.cuMemAlloc(&pointer, (nuint)bytes);
        if (status != CudaDriver.Success)
            throw new BackendUnavailableException($"cuda: cannot allocate {bytes >> 20} MiB on {_program.Device.Describe()}: {_driver.Describe(status)}; use smaller n, m, batch or instances");
        status = _driver.cuMemsetD8(pointer, 0, (nuint)bytes);
        if (status != CudaDriver.Success)
        {
            _driver.cuMemFree(pointer);
            _driver.Check(status, "cuMemsetD8");
        }
        return new CudaBuffer(_driver, pointer, bytes);
    }

    public void Write(DeviceBuffer buffer, long offset, ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty) return;
        ulong pointer = Pointer(buffer, offset, data.Length);
        Current();
        if (data.Length > StagingBytes)
        {
            fixed (byte* source = data) _driver.Check(_driver.cuMemcpyHtoD(pointer, source, (nuint)data.Length), "cuMemcpyHtoD");
            return;
        }
        int slot = _nextSlot;
        _nextSlot = (_nextSlot + 1) % StagingSlots;
        if (_stagingPending[slot]) _driver.Check(_driver.cuEventSynchronize(_stagingDone[slot]), "cuEventSynchronize");
        data.CopyTo(new Span<byte>(_staging[slot], data.Length));
        _driver.Check(_driver.cuMemcpyHtoDAsync(pointer, _staging[slot], (nuint)data.Length, _stream), "cuMemcpyHtoDAsync");
        _driver.Check(_driver.cuEventRecord(_stagingDone[slot], _stream), "cuEventRecord");
        _stagingPending[slot] = true;
    }

    public void Read(DeviceBuffer buffer, long offset, Span<byte> data)
    {
        if (data.IsEmpty) return;
        ulong pointer = Pointer(buffer, offset, data.Length);
        Current();
        _driver.Check(_driver.cuStreamSynchronize(_stream), "cuStreamSynchronize");
        fixed (byte* destination = data) _driver.Check(_driver.cuMemcpyDtoH(destination, pointer, (nuint)data.Length), "cuMemcpyDtoH");
    }

    private static ulong Pointer(DeviceBuffer buffer, long offset, int length)
    {
        if (buffer is not CudaBuffer mine) throw new ArgumentException("a buffer of another device", nameof(buffer));
        if (offset < 0 || offset + length > mine.Bytes)
            throw new ArgumentOutOfRangeException(nameof(offset), offset, $"{length} bytes at this offset overrun the {mine.Bytes}-byte buffer");
        return mine.Handle + (ulong)offset;
    }

    public DeviceKernel Kernel(string name)
    {
        Current();
        nint function;
        byte[] ascii = CudaDriver.Utf8z(name);
        fixed (byte* n = ascii) _driver.Check(_driver.cuModuleGetFunction(&function, _program.Module, n), $"cuModuleGetFunction({name})");
        int maxThreads;
        _driver.Check(_driver.cuFuncGetAttribute(&maxThreads, CudaDriver.FunctionMaxThreadsPerBlock, function), "cuFuncGetAttribute");
        return new CudaKernel(name, function, maxThreads);
    }

    public void Launch(DeviceKernel kernel, long groups, int instances, int groupSize, ReadOnlySpan<KernelArgument> arguments)
    {
        if (kernel is not CudaKernel mine) throw new ArgumentException("a kernel of another device", nameof(kernel));
        if (groups <= 0 || instances <= 0) return;
        if (groups > int.MaxValue || instances > MaxGridY)
            throw new ArgumentOutOfRangeException(nameof(groups), groups, $"a CUDA grid holds at most {int.MaxValue} x {MaxGridY} blocks");
        Current();
        // cuLaunchKernel takes one pointer per parameter, to the parameter's value. Every argument's value
        // sits in the low bytes of a little-endian ulong, so a pointer to it serves 4- and 8-byte parameters.
        ulong* values = stackalloc ulong[arguments.Length];
        void** parameters = stackalloc void*[arguments.Length];
        for (int a = 0; a < arguments.Length; a++)
        {
            values[a] = arguments[a].Bits;
            parameters[a] = &values[a];
        }
        _driver.Check(_driver.cuLaunchKernel(mine.Handle, (uint)groups, (uint)instances, 1, (uint)groupSize, 1, 1, 0, _stream, parameters, null),
            $"cuLaunchKernel({kernel.Name})");
    }

    /// <summary>CUDA submits work as it is queued.</summary>
    public void Flush() { }

    public void Finish()
    {
        Current();
        _driver.Check(_driver.cuStreamSynchronize(_stream), "cuStreamSynchronize");
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        Current();
        _driver.cuStreamSynchronize(_stream);
        for (int s = 0; s < StagingSlots; s++)
        {
            _driver.cuEventDestroy(_stagingDone[s]);
            _driver.cuMemFreeHost(_staging[s]);
        }
        _driver.cuStreamDestroy(_stream);
    }

    private sealed class CudaBuffer(CudaDriver driver, ulong pointer, long bytes) : DeviceBuffer(bytes)
    {
        private ulong _pointer = pointer;

        public override ulong Handle => _pointer;

        public override void Dispose()
        {
            if (_pointer != 0) driver.cuMemFree(_pointer);
            _pointer = 0;
        }
    }

    private sealed class CudaKernel(string name, nint handle, int maxGroupSize) : DeviceKernel(name, maxGroupSize)
    {
        public nint Handle { get; } = handle;

        /// <summary>Functions belong to the module, which lives as long as the process.</summary>
        public override void Dispose() { }
    }
}
