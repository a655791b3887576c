using System.Security.Cryptography;
using System.Text;
using ToyModels.IO;

namespace ToyModels.Backends.Cuda;

/// <summary>
/// Compiled kernel images on disk, keyed by the SHA-256 of the kernel source, the compiler options
/// (which name the architecture) and the NVRTC version, so a second run loads in milliseconds and a
/// change to any of them recompiles. Folder: $TOYMODELS_CACHE/cuda, else $XDG_CACHE_HOME/toymodels/cuda,
/// else ~/.cache/toymodels/cuda. Files are written atomically; a damaged file is recompiled.
/// </summary>
internal sealed class CubinCache(string folder)
{
    public string Folder { get; } = folder;

    public static CubinCache Default()
    {
        string? root = Environment.GetEnvironmentVariable("TOYMODELS_CACHE");
        if (string.IsNullOrEmpty(root))
        {
            string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
            root = Path.Combine(string.IsNullOrEmpty(xdg)
                ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache")
                : xdg, "toymodels");
        }
        return new CubinCache(Path.Combine(root, "cuda"));
    }

    public static string Key(string source, IEnumerable<string> options, (int Major, int Minor) nvrtcVersion)
    {
        var text = new StringBuilder(source).Append('\0');
        foreach (string option in options) text.Append(option).Append('\0');
        text.Append("nvrtc ").Append(nvrtcVersion.Major).Append('.').Append(nvrtcVersion.Minor);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }

    public string PathOf(string key, bool cubin) => Path.Combine(Folder, key + (cubin ? ".cubin" : ".ptx"));

    public byte[]? TryRead(string key, bool cubin)
    {
        try { return File.ReadAllBytes(PathOf(key, cubin)); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }

    /// <summary>Best effort: a cache that cannot be written only costs a recompilation next time.</summary>
    public void TryWrite(string key, bool cubin, byte[] image)
    {
        try { AtomicFile.Write(PathOf(key, cubin), stream => stream.Write(image)); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    public void Forget(string key, bool cubin)
    {
        try { File.Delete(PathOf(key, cubin)); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }
}
