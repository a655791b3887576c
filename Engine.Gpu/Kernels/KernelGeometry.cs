namespace ToyModels.Gpu.Kernels;

/// <summary>
/// Launch shapes: performance choices only. Every kernel computes each output in the reference's
/// order whatever these are, so a GPU and ILGPU's CPU accelerator run the same code with different
/// numbers and get the same bits (the backend suite runs with <see cref="CpuAccelerator"/>, the
/// OpenCL suite with <see cref="Gpu"/>).
/// </summary>
/// <param name="Group">Work-items per group of the one-output-per-work-item kernels.</param>
/// <param name="DecoderThreadsRows">Decoder group: work-items along the rows; each owns <see cref="Block8.Size"/> rows.</param>
/// <param name="DecoderThreadsFeatures">Decoder group: work-items along the features; each owns <see cref="Block8.Size"/> features.</param>
/// <param name="LossThreadsPerRow">Work-items per row of the loss kernel, a divisor of R32's 32 lanes.</param>
/// <param name="ListChunk">Entries per work-item of the nonzero-list kernels.</param>
internal sealed record KernelGeometry(int Group, int DecoderThreadsRows, int DecoderThreadsFeatures, int LossThreadsPerRow, int ListChunk)
{
    /// <summary>The shapes the kernels' static shared memory holds.</summary>
    public bool Fits => DecoderTileRows <= DecoderKernel.MaxTile && DecoderTileFeatures <= DecoderKernel.MaxTile
        && Numerics.R32.Lanes % LossThreadsPerRow == 0 && Group % LossThreadsPerRow == 0 && Group / LossThreadsPerRow <= LossKernel.MaxRowsPerGroup;

    /// <summary>
    /// GPUs: groups of 256 (8 warps); a 128 x 128 decoder tile per group of 16 x 16 work-items, each
    /// an 8 x 8 register block (the classic register-blocked SGEMM shape: 16 shared-memory loads per 64
    /// FMAs); one warp per loss row, so R32's lane j is work-item j and a warp reads 32 consecutive floats;
    /// list chunks of 32 entries (one 128-byte line per work-item).
    /// </summary>
    public static readonly KernelGeometry Gpu = new(256, 16, 16, 32, 32);

    /// <summary>
    /// ILGPU's CPU accelerator runs every work-item of a group as an OS thread and a barrier as a
    /// thread rendezvous (measured on 2 cores: a launch of one 256-thread group costs 27 ms, one of 16
    /// threads 2 ms), so it gets groups of 16 and a 32 x 32 decoder tile.
    /// </summary>
    public static readonly KernelGeometry CpuAccelerator = new(16, 4, 4, 1, 32);

    public int DecoderGroup => DecoderThreadsRows * DecoderThreadsFeatures;
    public int DecoderTileRows => Block8.Size * DecoderThreadsRows;
    public int DecoderTileFeatures => Block8.Size * DecoderThreadsFeatures;
}
