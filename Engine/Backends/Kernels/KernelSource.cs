using System.Reflection;
using System.Security.Cryptography;
using System.Text;

namespace ToyModels.Backends.Kernels;

/// <summary>
/// The training kernels' source (training.kernels.c, embedded in the engine) with the preamble of
/// one language in front, and the launch constants the source was written for.
/// </summary>
/// <remarks>
/// The constants repeat the source's <c>#define</c>s because the host must launch with exactly the
/// group sizes the kernels assume; a test reads the source and checks that the two agree.
/// </remarks>
internal static class KernelSource
{
    /// <summary>Work-items per group of the one-output-per-work-item kernels (GROUP_SIZE).</summary>
    public const int GroupSize = 256;
    /// <summary>Outputs per group of the tiled decoder product: rows x features (DECODER_TILE_ROWS, DECODER_TILE_FEATURES).</summary>
    public const int DecoderTileRows = 128, DecoderTileFeatures = 128;
    /// <summary>Work-items per group of the decoder product (DECODER_THREADS_ROWS x DECODER_THREADS_FEATURES).</summary>
    public const int DecoderGroupSize = 16 * 16;
    /// <summary>Work-items per row of the row-list kernel (COMPACT_GROUP).</summary>
    public const int CompactGroup = 256;
    /// <summary>Columns per group and row slices per column of the column-list kernel (COLUMN_TILE, COLUMN_SLICES).</summary>
    public const int ColumnTile = 32, ColumnSlices = 8;
    /// <summary>Work-items per row of the loss kernel: R32's lanes (R32_LANES).</summary>
    public const int LossGroupSize = Numerics.R32.Lanes;

    public const string GenerateBatch = "generate_batch";
    public const string CompactRows = "compact_rows";
    public const string CompactColumns = "compact_columns";
    public const string EncoderForward = "encoder_forward";
    public const string DecoderForward = "decoder_forward";
    public const string Loss = "loss";
    public const string BiasGradient = "bias_gradient";
    public const string DecoderInputGradient = "decoder_input_gradient";
    public const string WeightGradients = "weight_gradients";
    public const string AdamUpdate = "adam_update";
    public const string SgdUpdate = "sgd_update";

    /// <summary>Every kernel of the program, with the group size it is launched with.</summary>
    public static IReadOnlyList<(string Name, int GroupSize)> Kernels { get; } =
    [
        (GenerateBatch, GroupSize), (CompactRows, CompactGroup), (CompactColumns, ColumnTile * ColumnSlices),
        (EncoderForward, GroupSize), (DecoderForward, DecoderGroupSize), (Loss, LossGroupSize), (BiasGradient, GroupSize),
        (DecoderInputGradient, GroupSize), (WeightGradients, GroupSize), (AdamUpdate, GroupSize), (SgdUpdate, GroupSize),
    ];

    /// <summary>training.kernels.c as embedded.</summary>
    public static string Training => Resource("training.kernels.c");

    /// <summary>preamble.opencl.h: the dialect's names in OpenCL C, starting with FP_CONTRACT OFF.</summary>
    public static string OpenClPreamble => Resource("preamble.opencl.h");

    /// <summary>preamble.cuda.h: the dialect's names in CUDA C, every float operation a _rn intrinsic.</summary>
    public static string CudaPreamble => Resource("preamble.cuda.h");

    /// <summary>The OpenCL C program: the OpenCL preamble, then the kernels.</summary>
    public static string ForOpenCl() => OpenClPreamble + "\n" + Training;

    /// <summary>The CUDA C program for NVRTC: the CUDA preamble, then the kernels.</summary>
    public static string ForCuda() => CudaPreamble + "\n" + Training;

    /// <summary>A short hash of a program's text, for cache keys and for people.</summary>
    public static string Hash(string program) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(program)))[..16];

    private static string Resource(string name)
    {
        using var stream = typeof(KernelSource).Assembly.GetManifestResourceStream("ToyModels.Kernels." + name)
            ?? throw new InvalidOperationException($"the engine assembly lacks its embedded kernel file {name}");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }
}
