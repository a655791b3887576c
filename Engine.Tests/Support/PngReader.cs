using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace ToyModels.Tests.Support;

/// <summary>
/// A PNG reader for tests (8-bit RGB or RGBA, non-interlaced): checks every chunk's CRC, inflates the
/// image data and undoes the five row filters, so a picture can be inspected pixel by pixel.
/// </summary>
public sealed class PngReader
{
    public int Width { get; }
    public int Height { get; }
    /// <summary>Pixels as RGB, row-major, top row first.</summary>
    public byte[] Rgb { get; }

    public PngReader(byte[] file)
    {
        Assert.True(file.AsSpan(0, 8).SequenceEqual(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }), "not a PNG signature");
        int at = 8, colorType = -1;
        using var data = new MemoryStream();
        while (at < file.Length)
        {
            int length = BinaryPrimitives.ReadInt32BigEndian(file.AsSpan(at));
            string type = Encoding.ASCII.GetString(file, at + 4, 4);
            var body = file.AsSpan(at + 8, length);
            uint crc = BinaryPrimitives.ReadUInt32BigEndian(file.AsSpan(at + 8 + length));
            Assert.Equal(Crc32(file.AsSpan(at + 4, 4 + length)), crc);
            if (type == "IHDR")
            {
                Width = BinaryPrimitives.ReadInt32BigEndian(body);
                Height = BinaryPrimitives.ReadInt32BigEndian(body[4..]);
                Assert.Equal(8, body[8]);
                colorType = body[9];
                Assert.True(colorType is 2 or 6, $"colour type {colorType}");
                Assert.Equal(0, body[12]);
            }
            else if (type == "IDAT") data.Write(body);
            else if (type == "IEND") break;
            at += 12 + length;
        }
        int channels = colorType == 6 ? 4 : 3, stride = Width * channels;
        data.Position = 0;
        using var inflate = new ZLibStream(data, CompressionMode.Decompress);
        var raw = new byte[Height * (stride + 1)];
        inflate.ReadExactly(raw);
        var pixels = new byte[Height * stride];
        for (int y = 0; y < Height; y++)
        {
            byte filter = raw[y * (stride + 1)];
            for (int x = 0; x < stride; x++)
            {
                int a = x >= channels ? pixels[y * stride + x - channels] : 0;
                int b = y > 0 ? pixels[(y - 1) * stride + x] : 0;
                int c = x >= channels && y > 0 ? pixels[(y - 1) * stride + x - channels] : 0;
                int value = raw[y * (stride + 1) + 1 + x];
                value += filter switch
                {
                    0 => 0, 1 => a, 2 => b, 3 => (a + b) / 2,
                    4 => Paeth(a, b, c),
                    _ => throw new InvalidDataException($"filter {filter}"),
                };
                pixels[y * stride + x] = (byte)value;
            }
        }
        Rgb = new byte[Width * Height * 3];
        for (int p = 0; p < Width * Height; p++)
            for (int k = 0; k < 3; k++) Rgb[3 * p + k] = pixels[channels * p + k];
    }

    public (byte R, byte G, byte B) this[int x, int y] => (Rgb[3 * (y * Width + x)], Rgb[3 * (y * Width + x) + 1], Rgb[3 * (y * Width + x) + 2]);

    private static int Paeth(int a, int b, int c)
    {
        int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }

    /// <summary>CRC-32 written independently of the encoder's table: bit by bit.</summary>
    private static uint Crc32(ReadOnlySpan<byte> bytes)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte v in bytes)
        {
            crc ^= v;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320 : crc >> 1;
        }
        return ~crc;
    }
}
