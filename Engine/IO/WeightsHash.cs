using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using ToyModels.Backends;
using ToyModels.Model;

namespace ToyModels.IO;

/// <summary>
/// weights_sha256: the SHA-256 of the little-endian float32 bytes of all parameters, instance by
/// instance, each instance as W_in (or W) row-major, then W_out, then b. That is exactly the
/// parameter buffer of <see cref="ParameterLayout"/> in memory order, so
/// <c>hashlib.sha256(np.concatenate([W_in.ravel(), W_out.ravel(), b]).astype('&lt;f4').tobytes())</c>
/// recomputes it for one instance.
/// </summary>
public static class WeightsHash
{
    /// <summary>Lowercase hex SHA-256 of the floats, as little-endian bytes.</summary>
    public static string Of(ReadOnlySpan<float> values)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Append(hash, values);
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>The hash of a model's parameters, read from it a piece at a time (a model of any size, no copy).</summary>
    public static string Of(IModelState state) => Of(state, 0, state.Config.Layout.Total);

    /// <summary>The hash of instance s alone, read from the model: the hash a run of that instance by itself reports.</summary>
    public static string OfInstance(IModelState state, int s) => Of(state, s * state.Config.Layout.PerInstance, state.Config.Layout.PerInstance);

    private static string Of(IModelState state, long start, long length)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var chunk = new StreamBuffer(length);
        for (long done = 0; done < length; done += chunk.Length)
        {
            var piece = chunk.Span((int)Math.Min(chunk.Length, length - done));
            state.ReadParameters(start + done, piece);
            Append(hash, piece);
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>The hash of instance s alone: the hash a run of that instance by itself reports.</summary>
    public static string OfInstance(ParameterLayout layout, ReadOnlySpan<float> parameters, int s) => Of(layout.Instance(parameters, s));

    private const int AppendFloats = 1 << 26;

    internal static void Append(IncrementalHash hash, ReadOnlySpan<float> values)
    {
        if (BitConverter.IsLittleEndian)
        {
            // In pieces: a span of 2^29 floats or more has more bytes than AsBytes can count (an int).
            for (int start = 0; start < values.Length; start += AppendFloats)
                hash.AppendData(MemoryMarshal.AsBytes(values.Slice(start, Math.Min(AppendFloats, values.Length - start))));
            return;
        }
        Span<byte> buffer = stackalloc byte[4096];
        for (int start = 0; start < values.Length; start += buffer.Length / 4)
        {
            int count = Math.Min(buffer.Length / 4, values.Length - start);
            for (int e = 0; e < count; e++)
                BinaryPrimitives.WriteSingleLittleEndian(buffer.Slice(4 * e, 4), values[start + e]);
            hash.AppendData(buffer[..(4 * count)]);
        }
    }
}
