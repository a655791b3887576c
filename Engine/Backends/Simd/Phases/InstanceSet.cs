namespace ToyModels.Backends.Simd.Phases;

/// <summary>
/// The instances a phase runs over, ascending: a block of the pack, or those of a block that take one path.
/// Allocated once with room for every instance and refilled each step (a step allocates nothing).
/// </summary>
internal sealed class InstanceSet(int capacity)
{
    private readonly int[] _ids = new int[capacity];

    public int Count { get; private set; }

    public int this[int index] => _ids[index];

    /// <summary>Instances [first, end).</summary>
    public void SetRange(int first, int end)
    {
        Count = 0;
        for (int s = first; s < end; s++) _ids[Count++] = s;
    }

    public void Clear() => Count = 0;

    public void Add(int s) => _ids[Count++] = s;
}
