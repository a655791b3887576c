using System.Runtime.CompilerServices;
using ToyModels.Backends.Simd.Lanes;

namespace ToyModels.Backends.Simd.Loops;

/// <summary>Where a kernel puts a finished row of output lanes.</summary>
internal interface IRowSink<TVec> where TVec : unmanaged
{
    /// <summary>
    /// The next row starts at <paramref name="offset"/>; its first <paramref name="width"/> lanes are real, the rest padding.
    /// <paramref name="decoder"/>: the row is one of W_out (whose magnitudes an optimizer sink keeps track of).
    /// </summary>
    void Start(nint offset, int width, bool decoder = false);
    /// <summary>Lanes [j, j + Count) of the current row.</summary>
    void Put(int j, TVec value);
}

/// <summary>Stores the row: h and g_h (in tiles of 64 lanes), or gradient rows (row-major).</summary>
internal unsafe struct StoreRow<TVec, TLanes> : IRowSink<TVec>
    where TVec : unmanaged where TLanes : ILanes<TVec>
{
    private readonly float* _base;
    private readonly nint _tileStride;
    private float* _row;

    /// <param name="base">Where offset 0 of <see cref="Start"/> points: an instance's h tiles (tileStride its hidden tile) or its gradient block; only written.</param>
    /// <param name="tileStride">Lanes [64 t, 64 t + 64) of a row are at row + t * tileStride; 64 for a row-major row.</param>
    public StoreRow(float* @base, nint tileStride = Workspace.Tile)
    {
        _base = @base;
        _tileStride = tileStride;
        _row = @base;
    }

    public void Start(nint offset, int width, bool decoder = false) => _row = _base + offset;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Put(int j, TVec value) => TLanes.Store(_row + (j >> 6) * _tileStride + (j & 63), value);
}
