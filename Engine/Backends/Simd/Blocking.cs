namespace ToyModels.Backends.Simd;

/// <summary>How the work of a step is cut into parallel items: always along independent outputs.</summary>
internal static class Blocking
{
    /// <summary>Features per item of the gradient/optimizer phase: a multiple of the 6-row tile and of 16.</summary>
    public static int Features = int.Parse(Environment.GetEnvironmentVariable("TOYMODELS_FEATURES") ?? "48"); // TEMP tuning

    /// <summary>
    /// Rows per item of the dense products (z^T and g_h^T): with <see cref="LaneGroup"/> panels of lanes, the item's
    /// output block (256 x 256 floats) stays in L2 while its k-blocks pass, and each operand is streamed only a few times.
    /// </summary>
    public static int ProductRows = int.Parse(Environment.GetEnvironmentVariable("TOYMODELS_PRODUCT_ROWS") ?? "96"); // TEMP tuning

    /// <summary>Panels of 64 samples per item of the dense products.</summary>
    public static int LaneGroup = int.Parse(Environment.GetEnvironmentVariable("TOYMODELS_LANE_GROUP") ?? "16"); // TEMP tuning

    /// <summary>Features per block of the sparse g_h walk.</summary>
    public static int HiddenFeatures = int.Parse(Environment.GetEnvironmentVariable("TOYMODELS_HIDDEN_FEATURES") ?? "96"); // TEMP tuning

    /// <summary>Samples per block of the sparse gW_out walk.</summary>
    public static int GradientSamples = int.Parse(Environment.GetEnvironmentVariable("TOYMODELS_GRADIENT_SAMPLES") ?? "128"); // TEMP tuning

    public static int Count(int total, int block) => (total + block - 1) / block;
}
