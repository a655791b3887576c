using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using ToyModels.Backends;
using ToyModels.Model;

namespace ToyModels.IO;

/// <summary>
/// weights_sha256: the SHA-256 of the little-endian float32 bytes of all parameters, instance by
/// instance, each instance as W_in (or W) row-major, then W_out, then b, with every NaN written as
/// <see cref="CanonicalNaN"/>. That is the parameter buffer of <see cref="ParameterLayout"/> in memory
/// order, so for one instance
/// <c>w = np.concatenate([W_in.ravel(), W_out.ravel(), b]).astype('&lt;f4'); w[np.isnan(w)] = np.float32('nan');
/// hashlib.sha256(w.tobytes())</c> recomputes it.
/// </summary>
/// <remarks>
/// A NaN's sign and payload are not part of the numerics contract (docs/numerics.md rule 15): x86 makes
/// 0xFFC00000 where a GPU makes 0x7FFFFFFF. Hashing every NaN as one value keeps the hashes of a diverged
/// run equal across backends; every other value is hashed as its exact bits (+0 and -0 differ).
/// </remarks>
public static class WeightsHash
{
    /// <summary>The bits every NaN is hashed as: the positive quiet NaN (numpy's <c>np.float32('nan')</c>; .NET's float.NaN is 0xFFC00000).</summary>
    public const uint CanonicalNaN = 0x7FC00000;

    /// <summary>Lowercase hex SHA-256 of the floats, as little-endian bytes, NaN canonical.</summary>
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

    /// <summary>Floats per piece: 16 KiB, small enough for the stack.</summary>
    private const int PieceFloats = 4096;

    private static void Append(IncrementalHash hash, ReadOnlySpan<float> values)
    {
        Span<byte> buffer = stackalloc byte[4 * PieceFloats];
        for (int start = 0; start < values.Length; start += PieceFloats)
        {
            var piece = values.Slice(start, Math.Min(PieceFloats, values.Length - start));
            if (BitConverter.IsLittleEndian && !HasNaN(piece))
            {
                hash.AppendData(MemoryMarshal.AsBytes(piece));
                continue;
            }
            for (int e = 0; e < piece.Length; e++)
                BinaryPrimitives.WriteUInt32LittleEndian(buffer.Slice(4 * e, 4), float.IsNaN(piece[e]) ? CanonicalNaN : BitConverter.SingleToUInt32Bits(piece[e]));
            hash.AppendData(buffer[..(4 * piece.Length)]);
        }
    }

    /// <summary>Whether any value is NaN (the only value not equal to itself).</summary>
    private static bool HasNaN(ReadOnlySpan<float> values)
    {
        int e = 0;
        for (; e + Vector<float>.Count <= values.Length; e += Vector<float>.Count)
        {
            var v = new Vector<float>(values[e..]);
            if (!Vector.EqualsAll(v, v)) return true;
        }
        for (; e < values.Length; e++)
            if (float.IsNaN(values[e])) return true;
        return false;
    }
}
