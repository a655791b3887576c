using System.Runtime.InteropServices;

namespace ToyModels.Backends.Simd;

/// <summary>
/// Zero-filled native memory aligned to 64 bytes (a cache line, one Vector512), so vector loads never
/// split lines and the pointers pass straight to the kernels. Large blocks come from the operating
/// system as fresh zero pages: capacity that is never written costs no resident memory.
/// </summary>
/// <remarks>
/// Dense buffers (<c>hugePages</c>) of 2 MiB or more are aligned to 2 MiB and, on Linux, advised to be backed by
/// transparent huge pages (madvise MADV_HUGEPAGE; most distributions enable them only on request): the kernels
/// read rows scattered over matrices of many MiB, and with 4 KiB pages nearly every such row costs a TLB miss
/// (a two-level page walk under a hypervisor). Sparse worst-case buffers stay on small pages, so that only what
/// is written becomes resident. The advice changes no result, and where it is refused nothing else changes.
/// </remarks>
internal sealed unsafe class NativeBuffer : IDisposable
{
    private const int Alignment = 64;
    private const long HugePage = 2 << 20;
    private const int AdviseHugePage = 14; // MADV_HUGEPAGE in Linux's mman.h
    private void* _raw;

    public NativeBuffer(long bytes, bool hugePages = false)
    {
        if (bytes < 0) throw new ArgumentOutOfRangeException(nameof(bytes));
        bool huge = hugePages && bytes >= HugePage && OperatingSystem.IsLinux();
        long alignment = huge ? HugePage : Alignment;
        _raw = NativeMemory.AllocZeroed((nuint)(bytes + alignment));
        RequestedOnThisThread += bytes;
        Pointer = (byte*)(((nuint)_raw + (nuint)alignment - 1) & ~(nuint)(alignment - 1));
        Bytes = bytes;
        if (huge) AdviseHugePages(Pointer, (nuint)(bytes + HugePage - 1) & ~(nuint)(HugePage - 1));
    }

    /// <summary>Bytes requested by this thread so far (the memory estimate's test holds backends to their estimate with it).</summary>
    [ThreadStatic] internal static long RequestedOnThisThread;

    /// <summary>Whether libc's madvise can be called here; cleared on the first failure to bind it.</summary>
    private static bool _canAdvise = true;

    private static void AdviseHugePages(void* address, nuint length)
    {
        if (!_canAdvise) return;
        try
        {
            _ = Advise(address, length, AdviseHugePage);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            _canAdvise = false; // advice only: small pages give the same results
        }
    }

    [DllImport("libc", EntryPoint = "madvise")]
    private static extern int Advise(void* address, nuint length, int advice);

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
