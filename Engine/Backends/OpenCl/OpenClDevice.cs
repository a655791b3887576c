using System.Runtime.InteropServices;
using System.Text;
using ToyModels.Backends.Device;

namespace ToyModels.Backends.OpenCl;

/// <summary>
/// <see cref="IComputeDevice"/> on one OpenCL device: an in-order command queue of its own, in the
/// context of the shared training program (<see cref="OpenClRuntime.Program"/>).
/// </summary>
/// <remarks>
/// Small writes (the per-step optimizer scalars) go through a ring of staging slots with
/// non-blocking copies, so a step never waits for the previous one; a slot is reused only after its
/// copy has completed. Large writes (parameters, state) are blocking.
/// </remarks>
internal sealed unsafe class OpenClDevice : IComputeDevice
{
    private const int StagingSlots = 8;
    private const int StagingBytes = 64 * 1024;

    private readonly OpenClProgram _program;
    private readonly nint _queue;
    private readonly byte*[] _staging = new byte*[StagingSlots];
    private readonly nint[] _stagingDone = new nint[StagingSlots];
    private int _nextSlot;
    private bool _disposed;

    public OpenClDevice(OpenClProgram program)
    {
        _program = program;
        int error;
        _queue = OpenClApi.clCreateCommandQueue(program.Context, program.Device.Device, 0, &error);
        OpenClApi.Check(error, "clCreateCommandQueue");
        for (int s = 0; s < StagingSlots; s++) _staging[s] = (byte*)NativeMemory.Alloc(StagingBytes);
    }

    public string BackendName => "opencl";

    public string Description => $"OpenCL {_program.Device.Name} ({_program.Device.TypeName}, {_program.Device.PlatformName}, driver {_program.Device.DriverVersion})";

    /// <summary>OpenCL global sizes are size_t in every dimension: no chunking needed.</summary>
    public int MaxInstancesPerLaunch => int.MaxValue;

    public DeviceBuffer Allocate(long bytes)
    {
        if (bytes <= 0 || bytes % 4 != 0) throw new ArgumentOutOfRangeException(nameof(bytes), bytes, "a positive multiple of 4");
        if (bytes > _program.Device.MaxAllocationBytes)
            throw new BackendUnavailableException($"opencl: a buffer of {bytes >> 20} MiB exceeds the largest allocation of device " +
                $"#{_program.Device.Index} {_program.Device.Name} ({_program.Device.MaxAllocationBytes >> 20} MiB); use smaller n, m, batch or instances");
        int error;
        nint handle = OpenClApi.clCreateBuffer(_program.Context, OpenClApi.MemReadWrite, (nuint)bytes, null, &error);
        OpenClApi.Check(error, "clCreateBuffer");
        uint zero = 0;
        int status = OpenClApi.clEnqueueFillBuffer(_queue, handle, &zero, sizeof(uint), 0, (nuint)bytes, 0, null, null);
        if (status != OpenClApi.Success)
        {
            OpenClApi.clReleaseMemObject(handle);
            OpenClApi.Check(status, "clEnqueueFillBuffer");
        }
        return new OpenClBuffer(handle, bytes);
    }

    public void Write(DeviceBuffer buffer, long offset, ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty) return;
        nint mem = Mem(buffer, offset, data.Length);
        if (data.Length > StagingBytes)
        {
            fixed (byte* source = data)
                OpenClApi.Check(OpenClApi.clEnqueueWriteBuffer(_queue, mem, 1, (nuint)offset, (nuint)data.Length, source, 0, null, null), "clEnqueueWriteBuffer");
            return;
        }
        int slot = _nextSlot;
        _nextSlot = (_nextSlot + 1) % StagingSlots;
        WaitForSlot(slot);
        data.CopyTo(new Span<byte>(_staging[slot], data.Length));
        nint done;
        OpenClApi.Check(OpenClApi.clEnqueueWriteBuffer(_queue, mem, 0, (nuint)offset, (nuint)data.Length, _staging[slot], 0, null, &done), "clEnqueueWriteBuffer");
        _stagingDone[slot] = done;
    }

    private void WaitForSlot(int slot)
    {
        nint done = _stagingDone[slot];
        if (done == 0) return;
        _stagingDone[slot] = 0;
        int status = OpenClApi.clWaitForEvents(1, &done);
        OpenClApi.clReleaseEvent(done);
        OpenClApi.Check(status, "clWaitForEvents");
    }

    public void Read(DeviceBuffer buffer, long offset, Span<byte> data)
    {
        if (data.IsEmpty) return;
        nint mem = Mem(buffer, offset, data.Length);
        fixed (byte* destination = data)
            OpenClApi.Check(OpenClApi.clEnqueueReadBuffer(_queue, mem, 1, (nuint)offset, (nuint)data.Length, destination, 0, null, null), "clEnqueueReadBuffer");
    }

    private static nint Mem(DeviceBuffer buffer, long offset, int length)
    {
        if (buffer is not OpenClBuffer mine) throw new ArgumentException("a buffer of another device", nameof(buffer));
        if (offset < 0 || offset + length > mine.Bytes)
            throw new ArgumentOutOfRangeException(nameof(offset), offset, $"{length} bytes at this offset overrun the {mine.Bytes}-byte buffer");
        return (nint)mine.Handle;
    }

    public DeviceKernel Kernel(string name)
    {
        byte[] ascii = Encoding.ASCII.GetBytes(name + "\0");
        int error;
        nint handle;
        fixed (byte* n = ascii) handle = OpenClApi.clCreateKernel(_program.Handle, n, &error);
        OpenClApi.Check(error, $"clCreateKernel({name})");
        nuint maxGroup = 0;
        int status = OpenClApi.clGetKernelWorkGroupInfo(handle, _program.Device.Device, OpenClApi.KernelWorkGroupSize, (nuint)sizeof(nuint), &maxGroup, null);
        if (status != OpenClApi.Success)
        {
            OpenClApi.clReleaseKernel(handle);
            OpenClApi.Check(status, "clGetKernelWorkGroupInfo");
        }
        return new OpenClKernel(name, handle, (int)Math.Min(maxGroup, int.MaxValue));
    }

    public void Launch(DeviceKernel kernel, long groups, int instances, int groupSize, ReadOnlySpan<KernelArgument> arguments)
    {
        if (kernel is not OpenClKernel mine) throw new ArgumentException("a kernel of another device", nameof(kernel));
        if (groups <= 0 || instances <= 0) return;
        for (int a = 0; a < arguments.Length; a++)
        {
            ulong bits = arguments[a].Bits;
            OpenClApi.Check(OpenClApi.clSetKernelArg(mine.Handle, (uint)a, (nuint)arguments[a].Size, &bits), $"clSetKernelArg({kernel.Name}, {a})");
        }
        nuint* global = stackalloc nuint[2] { (nuint)(groups * groupSize), (nuint)instances };
        nuint* local = stackalloc nuint[2] { (nuint)groupSize, 1 };
        OpenClApi.Check(OpenClApi.clEnqueueNDRangeKernel(_queue, mine.Handle, 2, null, global, local, 0, null, null), $"clEnqueueNDRangeKernel({kernel.Name})");
    }

    public void Flush() => OpenClApi.Check(OpenClApi.clFlush(_queue), "clFlush");

    public void Finish() => OpenClApi.Check(OpenClApi.clFinish(_queue), "clFinish");

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        OpenClApi.clFinish(_queue);
        for (int s = 0; s < StagingSlots; s++)
        {
            if (_stagingDone[s] != 0) OpenClApi.clReleaseEvent(_stagingDone[s]);
            NativeMemory.Free(_staging[s]);
        }
        OpenClApi.clReleaseCommandQueue(_queue);
    }

    private sealed class OpenClBuffer(nint handle, long bytes) : DeviceBuffer(bytes)
    {
        private nint _handle = handle;

        public override ulong Handle => (ulong)_handle;

        public override void Dispose()
        {
            if (_handle != 0) OpenClApi.clReleaseMemObject(_handle);
            _handle = 0;
        }
    }

    private sealed class OpenClKernel(string name, nint handle, int maxGroupSize) : DeviceKernel(name, maxGroupSize)
    {
        public nint Handle { get; private set; } = handle;

        public override void Dispose()
        {
            if (Handle != 0) OpenClApi.clReleaseKernel(Handle);
            Handle = 0;
        }
    }
}
