using System.Buffers;

namespace ToyModels.IO;

/// <summary>
/// The buffer data streams through (initial parameters, checkpoints written and read, weight hashes): at most
/// <see cref="SafeTensors.ChunkFloats"/> floats, rented from the shared pool and returned, so that one stream after
/// another reuses one array and a run holds one such buffer however many streams it makes.
/// </summary>
internal sealed class StreamBuffer : IDisposable
{
    private float[]? _array;

    /// <summary>A buffer of min(<paramref name="wanted"/>, ChunkFloats) floats, at least one.</summary>
    public StreamBuffer(long wanted)
    {
        Length = (int)Math.Clamp(wanted, 1, SafeTensors.ChunkFloats);
        _array = ArrayPool<float>.Shared.Rent(Length);
    }

    public int Length { get; }

    /// <summary>The first <paramref name="count"/> floats (at most <see cref="Length"/>).</summary>
    public Span<float> Span(int count) => _array.AsSpan(0, count);

    /// <summary>Bytes a run holds for its streams: one buffer (the pool keeps it between streams).</summary>
    public static long Bytes(long wanted) => 4L * Math.Clamp(wanted, 1, SafeTensors.ChunkFloats);

    public void Dispose()
    {
        if (_array is not null) ArrayPool<float>.Shared.Return(_array);
        _array = null;
    }
}
