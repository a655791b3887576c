using System.Diagnostics;
using System.Text;
using ToyModels.Tests.Support;

namespace ToyModels.Tests.Package;

/// <summary>
/// The package as a stranger gets it: ToyModels.Engine packed into a folder feed, and a project outside the
/// solution whose Program.cs is Samples/Embed's, referencing the package by version, restored from that
/// feed alone (nuget.config clears every other source; a package cache of its own), built and run.
/// Nothing here needs the internet: the engine has no dependencies, and the SDK's targeting and apphost
/// packs are part of the SDK. The same build compiles every C# example of the README and the package readmes,
/// so the documentation cannot drift from the package's API.
/// </summary>
public sealed class ConsumerTests : IDisposable
{
#if DEBUG
    private const string Configuration = "Debug";
#else
    private const string Configuration = "Release";
#endif

    private readonly string _folder = Directory.CreateTempSubdirectory("toymodels-consumer-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    [Trait("Category", "Slow")]
    public void A_project_outside_the_solution_installs_the_package_from_a_folder_feed_offline_and_trains()
    {
        string feed = Directory.CreateDirectory(Path.Combine(_folder, "feed")).FullName;
        string consumer = Directory.CreateDirectory(Path.Combine(_folder, "consumer")).FullName;
        string packages = Path.Combine(_folder, "packages");

        // The engine this test assembly was built against, packed as it is (no rebuild).
        Dotnet(Repository.Root, "pack", Repository.PathOf("Engine/Engine.csproj"), "-c", Configuration, "--no-build", "-o", feed);
        string package = Path.GetFileName(Assert.Single(Directory.GetFiles(feed, "ToyModels.Engine.*.nupkg")));
        string version = package["ToyModels.Engine.".Length..^".nupkg".Length];
        Assert.Single(Directory.GetFiles(feed, "ToyModels.Engine.*.snupkg"));

        File.WriteAllText(Path.Combine(consumer, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="feed" value="{feed}" />
              </packageSources>
            </configuration>
            """);
        File.WriteAllText(Path.Combine(consumer, "Consumer.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <ImplicitUsings>enable</ImplicitUsings>
                <Nullable>enable</Nullable>
                <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="ToyModels.Engine" Version="[{version}]" />
              </ItemGroup>
            </Project>
            """);
        File.Copy(Repository.PathOf("Samples/Embed/Program.cs"), Path.Combine(consumer, "Program.cs"));
        int examples = 0;
        foreach (string document in (string[])["README.md", "Engine/PACKAGE.md", "Engine.Gpu/PACKAGE.md"])
            foreach (string example in Examples(File.ReadAllText(Repository.PathOf(document))))
                File.WriteAllText(Path.Combine(consumer, $"Example{++examples}.cs"), AsMethod(example, $"Example{examples}", document));
        Assert.True(examples >= 4, $"{examples} C# examples found in the README and the package readmes");

        var environment = new Dictionary<string, string> { ["NUGET_PACKAGES"] = packages, ["NUGET_HTTP_CACHE_PATH"] = Path.Combine(_folder, "http-cache") };
        Dotnet(consumer, environment, "build", "-c", "Release", "-nologo");
        Assert.True(Directory.Exists(Path.Combine(packages, "toymodels.engine", version)), "the package was not restored into the consumer's own package folder");
        Assert.False(File.Exists(Path.Combine(consumer, "bin", "Release", "net10.0", "ToyModels.Engine.Gpu.dll")));

        var run = Dotnet(consumer, environment, "bin/Release/net10.0/Consumer.dll");
        Assert.Contains("ok    the loaded weights hash to the trained weights' hash", run);
        Assert.DoesNotContain("FAIL", run);
    }

    /// <summary>
    /// The GPU package uses the engine's internals, so it must never be installed beside another engine version than
    /// the one it was built with: its nuspec names exactly that version, [V], not NuGet's default V or later.
    /// </summary>
    [Fact]
    [Trait("Category", "Slow")]
    public void The_gpu_package_depends_on_exactly_the_engine_version_it_was_built_with()
    {
        string feed = Directory.CreateDirectory(Path.Combine(_folder, "gpu-feed")).FullName;
        Dotnet(Repository.Root, "pack", Repository.PathOf("Engine.Gpu/Engine.Gpu.csproj"), "-c", Configuration, "--no-build", "-o", feed);
        string package = Assert.Single(Directory.GetFiles(feed, "ToyModels.Engine.Gpu.*.nupkg"));
        string version = Path.GetFileName(package)["ToyModels.Engine.Gpu.".Length..^".nupkg".Length];
        using var archive = System.IO.Compression.ZipFile.OpenRead(package);
        using var nuspec = new StreamReader(archive.GetEntry("ToyModels.Engine.Gpu.nuspec")!.Open());
        var dependencies = System.Xml.Linq.XDocument.Parse(nuspec.ReadToEnd()).Descendants()
            .Where(e => e.Name.LocalName == "dependency").ToDictionary(e => (string)e.Attribute("id")!, e => (string)e.Attribute("version")!);
        Assert.Equal($"[{version}]", dependencies["ToyModels.Engine"]);
        Assert.True(dependencies.ContainsKey("ILGPU"));
    }

    /// <summary>The ```csharp blocks of a markdown document.</summary>
    private static IEnumerable<string> Examples(string markdown)
    {
        var parts = markdown.ReplaceLineEndings("\n").Split("```csharp\n");
        return parts.Skip(1).Select(part => part[..part.IndexOf("```", StringComparison.Ordinal)]);
    }

    /// <summary>A top-level program as a method of its own class (a project has one entry point): the usings stay on top.</summary>
    private static string AsMethod(string example, string name, string document)
    {
        var lines = example.Split('\n');
        var usings = lines.TakeWhile(l => l.StartsWith("using ", StringComparison.Ordinal) || l.Length == 0).ToList();
        return $"// from {document}\n{string.Join('\n', usings)}\nstatic class {name}\n{{\n    public static void Run()\n    {{\n{string.Join('\n', lines.Skip(usings.Count))}\n    }}\n}}\n";
    }

    private static string Dotnet(string folder, params string[] args) => Dotnet(folder, new Dictionary<string, string>(), args);

    /// <summary>Runs dotnet in <paramref name="folder"/>; fails the test with the whole output unless it exits 0.</summary>
    private static string Dotnet(string folder, Dictionary<string, string> environment, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = folder, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string arg in args) start.ArgumentList.Add(arg);
        // The test host's MSBuild settings would point the child's build at this solution's SDK state.
        foreach (string key in start.Environment.Keys.Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase)).ToList())
            start.Environment.Remove(key);
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        foreach (var (key, value) in environment) start.Environment[key] = value;
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(180_000))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"dotnet {string.Join(' ', args)} ran longer than 180 s");
        }
        var text = new StringBuilder(output.Result).Append(error.Result).ToString();
        Assert.True(process.ExitCode == 0, $"dotnet {string.Join(' ', args)} in {folder} exited {process.ExitCode}:\n{text}");
        return text;
    }
}
