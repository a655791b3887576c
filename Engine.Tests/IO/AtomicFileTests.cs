using System.Diagnostics;
using ToyModels.IO;

namespace ToyModels.Tests.IO;

public class AtomicFileTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("toymodels-atomic-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static int EndedProcessId()
    {
        using var process = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!;
        process.WaitForExit();
        return process.Id;
    }

    /// <summary>Issue: temporary files of writes killed mid-way piled up next to checkpoints.</summary>
    [Fact]
    public void A_write_removes_the_temporary_files_of_ended_writers_on_this_host_only()
    {
        string target = Path.Combine(_folder, "model.safetensors");
        string Touch(string path) { File.WriteAllText(path, "partial"); return path; }
        int ended = EndedProcessId();
        string stale = Touch(AtomicFile.TemporaryName(target, ended));
        string staleOfAnother = Touch(AtomicFile.TemporaryName(Path.Combine(_folder, "metrics.v2.json"), ended));
        string live = Touch(AtomicFile.TemporaryName(target, pid: 1)); // init: a writer still running
        string otherHost = Touch(AtomicFile.TemporaryName(target, ended, host: "another-machine"));
        string notOurs = Touch(Path.Combine(_folder, ".notes.tmp"));

        AtomicFile.WriteAllText(target, "whole");

        Assert.Equal("whole", File.ReadAllText(target));
        Assert.False(File.Exists(stale));
        Assert.False(File.Exists(staleOfAnother));
        Assert.True(File.Exists(live));
        Assert.True(File.Exists(otherHost));
        Assert.True(File.Exists(notOurs));
    }

    [Fact]
    public void Unusable_outputs_are_named_with_the_reason_before_anything_is_written()
    {
        string file = Path.Combine(_folder, "file.txt");
        File.WriteAllText(file, "x");
        Assert.Equal("an empty path", AtomicFile.Unwritable(""));
        Assert.Equal("an empty path", AtomicFile.Unwritable("  "));
        Assert.Equal("a folder, not a file", AtomicFile.Unwritable(_folder));
        Assert.Equal($"{file} is a file, not a folder", AtomicFile.Unwritable(Path.Combine(file, "a", "b.json")));
        Assert.Null(AtomicFile.Unwritable(Path.Combine(_folder, "new", "out.json")));
        Assert.True(Directory.Exists(Path.Combine(_folder, "new")));
        Assert.Empty(Directory.GetFiles(Path.Combine(_folder, "new"))); // the probe is gone

        Assert.Equal("an empty path", AtomicFile.UnwritableFolder(""));
        Assert.Equal("a file, not a folder", AtomicFile.UnwritableFolder(file));
        Assert.Equal($"{file} is a file, not a folder", AtomicFile.UnwritableFolder(Path.Combine(file, "runs")));
        Assert.Null(AtomicFile.UnwritableFolder(Path.Combine(_folder, "runs", "a")));
        Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(_folder, "runs", "a")));
    }
}
