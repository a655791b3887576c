namespace ToyModels.Backends.Simd;

/// <summary>One nonzero of a sparse row or column: where it is and its value, side by side in one cache line.</summary>
internal struct SparseEntry
{
    public int Index;
    public float Value;
}
