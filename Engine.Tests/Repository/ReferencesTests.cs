using System.Text.RegularExpressions;
using ToyModels.Tests.Support;

namespace ToyModels.Tests.RepositoryChecks;

/// <summary>
/// The project documents itself: a comment that cites a rule cites docs/numerics.md, by a rule that exists, and
/// nothing refers to a document outside the repository. Issue: 25 comments cited numbered sections of a design file
/// that was never part of the project.
/// </summary>
public partial class ReferencesTests
{
    private static readonly string[] Extensions = [".cs", ".md", ".sh", ".py", ".csproj", ".props", ".json", ".yaml", ".sbatch", ".tsv", ".sln", ".c", ".h"];
    private static readonly string[] Skipped = ["bin", "obj", ".git", "TestResults", "runs", "publish", "BenchmarkDotNet.Artifacts"];

    /// <summary>Written in pieces, so that this file does not match itself.</summary>
    private static readonly string[] Outside = ["DESIGN" + " section", "DESIGN" + " rule", "DESIGN" + ".md", "/work" + "/shared", "STYLE" + ".md"];

    private static IEnumerable<string> SourceFiles(string folder)
    {
        foreach (string file in Directory.EnumerateFiles(folder))
            if (Extensions.Contains(Path.GetExtension(file))) yield return file;
        foreach (string sub in Directory.EnumerateDirectories(folder))
            if (!Skipped.Contains(Path.GetFileName(sub)))
                foreach (string file in SourceFiles(sub)) yield return file;
    }

    [Fact]
    public void Nothing_refers_to_a_document_outside_the_repository()
    {
        var found = SourceFiles(Repository.Root)
            .SelectMany(file => File.ReadLines(file).Select((line, i) => (file, line, i)))
            .Where(t => Outside.Any(o => t.line.Contains(o, StringComparison.Ordinal)))
            .Select(t => $"{Path.GetRelativePath(Repository.Root, t.file)}:{t.i + 1}: {t.line.Trim()}")
            .ToList();
        Assert.True(found.Count == 0, "cite docs/numerics.md (numerics.md rule N) instead:\n" + string.Join("\n", found));
    }

    [Fact]
    public void Every_cited_numerics_rule_exists()
    {
        var rules = RuleHeading().Matches(File.ReadAllText(Repository.PathOf("docs/numerics.md"))).Select(m => int.Parse(m.Groups[1].Value)).ToHashSet();
        Assert.Equal(Enumerable.Range(0, rules.Count), rules.Order());
        var citations = SourceFiles(Repository.Root)
            .SelectMany(file => Citation().Matches(File.ReadAllText(file)).Select(m => (file, rule: int.Parse(m.Groups[1].Value))))
            .ToList();
        Assert.NotEmpty(citations);
        var missing = citations.Where(c => !rules.Contains(c.rule)).Select(c => $"{Path.GetRelativePath(Repository.Root, c.file)}: rule {c.rule}").ToList();
        Assert.True(missing.Count == 0, $"numerics.md has rules 0 to {rules.Count - 1}; cited but missing:\n" + string.Join("\n", missing));
    }

    [GeneratedRegex(@"\*\*Rule (\d+)\.")]
    private static partial Regex RuleHeading();

    [GeneratedRegex(@"numerics\.md rules? (\d+)")]
    private static partial Regex Citation();
}
