namespace ToyModels.Backends.Simd;

/// <summary>How the work of a step is cut into parallel items: always along independent outputs.</summary>
internal static class Blocking
{
    /// <summary>Samples per item of the row phases (data, encoder, g_h): a multiple of 16, so items own whole cache lines of [feature][sample] buffers.</summary>
    public const int Rows = 16;
    /// <summary>Features per item of the decoder and the gradient/optimizer phase: a multiple of the 6-row tile and of 16.</summary>
    public const int Features = 48;

    public static int Count(int total, int block) => (total + block - 1) / block;
}
