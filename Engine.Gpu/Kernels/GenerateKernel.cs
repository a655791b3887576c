using ILGPU;
using ToyModels.Data;

namespace ToyModels.Gpu.Kernels;

/// <summary>x of rows samples firstSample .. firstSample + rows - 1 of one step, on the device (data stream v1).</summary>
internal struct GenerateArguments : IInstanceArguments
{
    public int FirstInstance { get; set; }
    /// <summary>[instances][batch][n].</summary>
    public ArrayView<float> X;
    /// <summary>[instances][2]: seed mod 2^32, seed >> 32.</summary>
    public ArrayView<uint> Keys;
    /// <summary>[instances]: floor(p 2^32).</summary>
    public ArrayView<ulong> Thresholds;
    public int N, Batch, Rows;
    public uint Step, FirstSample, MaskStream, ValueStream;
}

internal static class GenerateKernel
{
    /// <summary>
    /// One work-item per block of 4 features of one row (one mask draw of Philox4x32-10, Salmon et al.
    /// 2011), rows x ceil(n / 4) per instance, consecutive work-items on consecutive blocks.
    /// The Philox rounds are the engine's own <see cref="Philox.Generate"/>, compiled by ILGPU.
    /// </summary>
    public static void Generate(GenerateArguments a)
    {
        int s = a.FirstInstance + Grid.IdxY;
        int blocks = (a.N + 3) / 4;
        if (!WorkItem.Index(a.Rows * blocks, out int g)) return;
        int r = g / blocks, q = g % blocks;
        uint k0 = a.Keys[2 * s], k1 = a.Keys[2 * s + 1];
        ulong threshold = a.Thresholds[s];
        uint sample = a.FirstSample + (uint)r;
        var mask = Philox.Generate((uint)q, sample, a.Step, a.MaskStream, k0, k1);
        int row = (s * a.Batch + r) * a.N;
        Write(a, row, 4 * q, mask.X0, threshold, sample, k0, k1);
        Write(a, row, 4 * q + 1, mask.X1, threshold, sample, k0, k1);
        Write(a, row, 4 * q + 2, mask.X2, threshold, sample, k0, k1);
        Write(a, row, 4 * q + 3, mask.X3, threshold, sample, k0, k1);
    }

    private static void Write(GenerateArguments a, int row, int i, uint word, ulong threshold, uint sample, uint k0, uint k1)
    {
        if (i >= a.N) return;
        float value = 0f;
        if (word < threshold)
        {
            uint w = Philox.Generate((uint)i, sample, a.Step, a.ValueStream, k0, k1).X0;
            value = Exact.Mul((float)(w >> 8), DataStream.ValueScale); // an integer below 2^24 times 2^-24: exact
        }
        a.X[row + i] = value;
    }
}
