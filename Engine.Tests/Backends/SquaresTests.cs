using ToyModels.Backends.Simd.Loops;

namespace ToyModels.Tests.Backends;

/// <summary>
/// Squares.Transpose against the element-by-element definition: every shape from 1 x 1 to 19 x 19 (the 8 x 8
/// squares, their ragged edges and the rows left over), strides wider than the shape, and nothing written outside it.
/// </summary>
public sealed unsafe class SquaresTests
{
    [Fact]
    public void Transpose_moves_every_element_and_writes_nothing_else()
    {
        const int sourceStride = 21, targetStride = 23, size = 19;
        var source = new float[size * sourceStride];
        for (int e = 0; e < source.Length; e++) source[e] = e + 0.5f;
        var target = new float[size * targetStride];
        int shapes = 0;
        for (int rows = 1; rows <= size; rows++)
            for (int columns = 1; columns <= size; columns++)
            {
                Array.Fill(target, float.NaN);
                fixed (float* s = source, t = target) Squares.Transpose(s, sourceStride, t, targetStride, rows, columns);
                for (int c = 0; c < size; c++)
                    for (int r = 0; r < targetStride; r++)
                    {
                        float got = target[c * targetStride + r];
                        if (c < columns && r < rows) Assert.Equal(source[r * sourceStride + c], got);
                        else Assert.True(float.IsNaN(got), $"{rows} x {columns}: element ({c}, {r}) outside the shape was written");
                    }
                shapes++;
            }
        Assert.Equal(size * size, shapes);
    }
}
