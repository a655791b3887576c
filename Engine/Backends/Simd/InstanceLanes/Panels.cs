namespace ToyModels.Backends.Simd.InstanceLanes;

/// <summary>
/// How a group keeps its per-row tensors (x, h, z, g_z, g_h): in panels of <see cref="Rows"/> rows,
/// [panel][element][row in panel][lane]. The vectors of one element for the 8 rows of a panel are adjacent,
/// so a kernel that runs 8 rows' chains side by side reads them at fixed offsets from one pointer.
/// </summary>
internal static class Panels
{
    public const int Rows = 8;

    /// <summary>Floats of a tensor of <paramref name="rows"/> rows of <paramref name="width"/> elements (whole panels).</summary>
    public static long Floats(int rows, int width, int lanes) => (long)(rows + Rows - 1) / Rows * Rows * width * lanes;

    /// <summary>Where element e of row r begins, in floats.</summary>
    public static nint Offset(int r, int e, int width, int lanes) => (((nint)(r / Rows) * width + e) * Rows + r % Rows) * lanes;
}
