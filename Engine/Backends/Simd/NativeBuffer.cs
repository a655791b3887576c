using System.Runtime.InteropServices;

namespace ToyModels.Backends.Simd;

/// <summary>
/// Zero-filled native memory aligned to 64 bytes (a cache line, one Vector512), so vector loads never
/// split lines and the pointers pass straight to the kernels. Large blocks come from the operating
/// system as fresh zero pages: capacity that is never written costs no resident memory.
/// </summary>
internal sealed unsafe class NativeBuffer : IDisposable
{
    private const int Alignment = 64;
    private void* _raw;

    public NativeBuffer(long bytes)
    {
        if (bytes < 0) throw new ArgumentOutOfRangeException(nameof(bytes));
        _raw = NativeMemory.AllocZeroed((nuint)(bytes + Alignment));
        Pointer = (byte*)(((nuint)_raw + Alignment - 1) & ~(nuint)(Alignment - 1));
        Bytes = bytes;
    }

    public byte* Pointer { get; private set; }
    public long Bytes { get; }

    ~NativeBuffer() => Free();

    public void Dispose()
    {
        Free();
        GC.SuppressFinalize(this);
    }

    private void Free()
    {
        if (_raw == null) return;
        NativeMemory.Free(_raw);
        _raw = null;
        Pointer = null;
    }
}
