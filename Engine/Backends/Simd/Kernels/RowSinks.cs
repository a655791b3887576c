using System.Runtime.CompilerServices;
using ToyModels.Backends.Simd.Lanes;

namespace ToyModels.Backends.Simd.Kernels;

/// <summary>Where a kernel puts a finished row of output lanes.</summary>
internal interface IRowSink<TVec> where TVec : unmanaged
{
    /// <summary>The next row starts at <paramref name="offset"/>; its first <paramref name="width"/> lanes are real, the rest padding.</summary>
    void Start(nint offset, int width);
    /// <summary>Lanes [j, j + Count) of the current row.</summary>
    void Put(int j, TVec value);
}

/// <summary>Stores the row: h, g_h, or the materialised gradient.</summary>
internal unsafe struct StoreRow<TVec, TLanes> : IRowSink<TVec>
    where TVec : unmanaged where TLanes : ILanes<TVec>
{
    private readonly float* _base;
    private float* _row;

    public StoreRow(float* @base)
    {
        _base = @base;
        _row = @base;
    }

    public void Start(nint offset, int width) => _row = _base + offset;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Put(int j, TVec value) => TLanes.Store(_row + j, value);
}
