using ILGPU;
using ToyModels.Numerics;

namespace ToyModels.Gpu.Kernels;

internal struct LossArguments : IInstanceArguments
{
    public int FirstInstance { get; set; }
    /// <summary>[instances][batch][n].</summary>
    public ArrayView<float> Z, X;
    /// <summary>[instances][n]: I_i and (float)(2 I_i / (B n)).</summary>
    public ArrayView<float> Importance, GradScale;
    /// <summary>[instances][rows], packed by rows.</summary>
    public ArrayView<float> RowLoss;
    /// <summary>[instances][batch][n], written when WithGradient is 1.</summary>
    public ArrayView<float> Gz;
    public int N, Batch, Rows, WithGradient;
    /// <summary>Work-items per row, a divisor of 32; the group holds Group.DimX / ThreadsPerRow rows.</summary>
    public int ThreadsPerRow;
}

internal static class LossKernel
{
    /// <summary>The most rows a group may hold; its R32 lanes are allocated statically for them (see <see cref="DecoderKernel"/> on why not dynamically).</summary>
    public const int MaxRowsPerGroup = 16;

    /// <summary>
    /// Per row, with y = (z &gt; 0 ? z : 0) and d = y - x: rowLoss = R32 over i of lane = fma(I_i d, d, lane),
    /// and g_z = z &gt; 0 ? GradScale_i d : 0. R32's lane j runs over i = j, j + 32, ... in order in one
    /// work-item (work-item j of the row when ThreadsPerRow is 32, so a warp reads 32 consecutive floats);
    /// the lanes meet in shared memory and one work-item runs the halving tree 16, 8, 4, 2, 1.
    /// </summary>
    public static void Forward(LossArguments a)
    {
        int s = a.FirstInstance + Grid.IdxY;
        var lanes = SharedMemory.Allocate<float>(MaxRowsPerGroup * R32.Lanes);
        int rowInGroup = Group.IdxX / a.ThreadsPerRow, t = Group.IdxX % a.ThreadsPerRow;
        int r = Grid.IdxX * (Group.DimX / a.ThreadsPerRow) + rowInGroup;
        int laneAt = rowInGroup * R32.Lanes;
        if (r < a.Rows)
        {
            int row = (s * a.Batch + r) * a.N;
            int features = s * a.N;
            for (int lane = t; lane < R32.Lanes; lane += a.ThreadsPerRow)
            {
                float acc = 0f;
                for (int i = lane; i < a.N; i += R32.Lanes)
                {
                    float z = a.Z[row + i];
                    bool positive = Exact.Greater(z, 0f);
                    float y = positive ? z : 0f;
                    float d = Exact.Sub(y, a.X[row + i]);
                    acc = Exact.Fma(Exact.Mul(a.Importance[features + i], d), d, acc);
                    if (a.WithGradient != 0) a.Gz[row + i] = positive ? Exact.Mul(a.GradScale[features + i], d) : 0f;
                }
                lanes[laneAt + lane] = acc;
            }
        }
        Group.Barrier();
        if (r >= a.Rows || t != 0) return;
        for (int h = R32.Lanes / 2; h >= 1; h /= 2)
            for (int j = 0; j < h; j++)
                lanes[laneAt + j] = Exact.Add(lanes[laneAt + j], lanes[laneAt + j + h]);
        a.RowLoss[s * a.Rows + r] = lanes[laneAt];
    }
}
