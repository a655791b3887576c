namespace ToyModels.Tests.Support;

/// <summary>The source tree the tests were built from (the folder of Engine.sln above the test assembly).</summary>
public static class Repository
{
    public static string Root { get; } = Find();

    public static string PathOf(string relative) => Path.Combine(Root, relative);

    private static string Find()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
            if (File.Exists(Path.Combine(folder.FullName, "Engine.sln"))) return folder.FullName;
        throw new InvalidOperationException($"no Engine.sln above {AppContext.BaseDirectory}: the tests run from their build folder in the source tree");
    }
}
