using ToyModels.Backends;
using ToyModels.Model;

namespace ToyModels.Gpu;

/// <summary>
/// How a device backend keeps a buffer of the parameter layout: the same, except that each
/// instance's encoder matrix is stored transposed, W_in^T (or W^T when tied) as n x m. Both weight
/// matrices are then feature-major [i][j], so the work-items of a group (consecutive in j) touch
/// consecutive addresses in every kernel, and the tied decoder W_out = W^T is the encoder block itself.
/// </summary>
/// <remarks>
/// The optimizer is element-wise, so parameters, gradients and optimizer state may share any
/// permutation; only what crosses <see cref="IBackend"/> is in <see cref="ParameterLayout"/>.
/// </remarks>
internal sealed class DeviceLayout(ParameterLayout layout)
{
    /// <summary>Offset of W_out in a device block: 0 when tied (W^T is W_out), else after the encoder.</summary>
    public int DecoderOffset => layout.Tied ? 0 : (int)layout.Decoder.Offset;

    public int BiasOffset => (int)layout.BiasVector.Offset;

    /// <summary>Host layout to device layout, for any whole number of consecutive instance blocks.</summary>
    public void ToDevice(ReadOnlySpan<float> host, Span<float> device) => Convert(host, device, toDevice: true);

    /// <summary>Device layout to host layout, for any whole number of consecutive instance blocks.</summary>
    public void ToHost(ReadOnlySpan<float> device, Span<float> host) => Convert(device, host, toDevice: false);

    private void Convert(ReadOnlySpan<float> source, Span<float> destination, bool toDevice)
    {
        int block = (int)layout.PerInstance, n = layout.N, m = layout.M;
        if (source.Length != destination.Length || source.Length % block != 0)
            throw new ArgumentException($"{source.Length} and {destination.Length} floats are not the same whole number of {block}-float blocks");
        for (int start = 0; start < source.Length; start += block)
        {
            var from = source.Slice(start, block);
            var to = destination.Slice(start, block);
            for (int j = 0; j < m; j++)
                for (int i = 0; i < n; i++)
                {
                    // host W_in[j][i] at j * n + i; device W_in^T[i][j] at i * m + j
                    if (toDevice) to[i * m + j] = from[j * n + i];
                    else to[j * n + i] = from[i * m + j];
                }
            from[(m * n)..].CopyTo(to[(m * n)..]);
        }
    }
}
