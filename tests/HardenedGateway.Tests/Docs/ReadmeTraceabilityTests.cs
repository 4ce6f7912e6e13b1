using System.Text.RegularExpressions;

namespace HardenedGateway.Tests.Docs;

/// <summary>
/// Keeps the README's traceability table (T068) true: one row for every requirement id of DESIGN.md,
/// none left undecided, and every test it names (<c>U `Class.Method`</c>) a real test method of the
/// project its letter names.
/// </summary>
[TestFixture]
public sealed partial class ReadmeTraceabilityTests
{
    /// <summary>The project letters of the README's table.</summary>
    private static readonly Dictionary<string, string> Projects = new(StringComparer.Ordinal)
    {
        ["U"] = "HardenedGateway.Tests",
        ["I"] = "HardenedGateway.IntegrationTests",
        ["M"] = "HardenedGateway.Prometheus.Tests",
        ["P"] = "HardenedGateway.PackageTests",
        ["B"] = "HardenedGateway.Benchmarks",
        ["R"] = "HardenedGateway.Redis.Tests",
        ["W"] = "HardenedGateway.BrowserTests",
    };

    private List<(string Id, string CoveredBy)> _rows = null!;

    [OneTimeSetUp]
    public void ReadTable()
    {
        var readme = File.ReadAllText(Path.Combine(RepositoryRoot(), "README.md"));
        var start = readme.IndexOf("\n## Traceability", StringComparison.Ordinal);
        Assert.That(start, Is.GreaterThanOrEqualTo(0), "README.md has a Traceability section");
        var next = readme.IndexOf("\n## ", start + 1, StringComparison.Ordinal);
        var section = next < 0 ? readme[start..] : readme[start..next];
        _rows = [.. Row().Matches(section).Select(static m => (m.Groups["id"].Value, m.Groups["covered"].Value))];
    }

    [Test]
    public void Table_Rows_AreExactlyTheRequirementIdsOfTheDesignInOrder()
    {
        string[] expected =
        [
            .. Ids("FR", 21),
            .. Ids("NFR", 6),
            .. Ids("SC", 6),
            .. Ids("EC", 5),
            .. Ids("AC", 2),
            .. Ids("CL", 4),
            .. Ids("WS", 2),
            .. Ids("UI", 1),
            .. Ids("RS", 2),
        ];

        Assert.That(_rows.Select(static r => r.Id), Is.EqualTo(expected));
    }

    [Test]
    public void Table_EveryRow_NamesATestOrSaysWhyNot()
    {
        var undecided = _rows
            .Where(static r => r.CoveredBy.Contains("TBD", StringComparison.Ordinal) ||
                (!Names(r.CoveredBy).Any() && !r.CoveredBy.Contains("not covered", StringComparison.Ordinal) && !r.CoveredBy.Contains("build/loadtest.sh", StringComparison.Ordinal)))
            .Select(static r => r.Id);

        Assert.That(undecided, Is.Empty, "rows with neither a test, nor the load harness, nor a reason why not");
    }

    [Test]
    public void Table_EveryNamedTest_IsATestMethodOfItsProject()
    {
        var sources = Projects.ToDictionary(
            static p => p.Key,
            static p => (Directory.Exists(Path.Combine(RepositoryRoot(), "tests", p.Value))
                    ? Directory.EnumerateFiles(Path.Combine(RepositoryRoot(), "tests", p.Value), "*.cs", SearchOption.AllDirectories)
                    : [])
                .Where(static f => !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal) &&
                    !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
                .Select(File.ReadAllText)
                .ToArray(),
            StringComparer.Ordinal);
        var named = _rows.SelectMany(static r => Names(r.CoveredBy).Select(n => (r.Id, n.Project, n.Class, n.Method))).ToArray();

        var missing = named
            .Where(n => n.Project is null || !sources[n.Project].Any(source => Declares(source, n.Project, n.Class, n.Method)))
            .Select(static n => $"{n.Id}: {n.Project ?? "(no project letter)"} {n.Class}.{n.Method}")
            .ToArray();

        var unrecognised = _rows
            .SelectMany(static r => DottedName().Matches(r.CoveredBy).Where(static m => !Token().IsMatch(m.Value)).Select(m => $"{r.Id}: {m.Value}"))
            .ToArray();

        Assert.Multiple(() =>
        {
            Assert.That(named, Has.Length.GreaterThan(50), "the table names the tests");
            Assert.That(missing, Is.Empty, "names that are not a test method of the project their letter names");
            Assert.That(unrecognised, Is.Empty, "dotted names whose class is not a test, probe or benchmark class");
        });
    }

    private static IEnumerable<string> Ids(string prefix, int count) =>
        Enumerable.Range(1, count).Select(i => $"{prefix}-{i:D3}");

    /// <summary>The <c>`Class.Method`</c> names of a cell, each with the project letter last seen before it.</summary>
    private static IEnumerable<(string? Project, string Class, string Method)> Names(string cell)
    {
        string? project = null;
        foreach (Match token in Token().Matches(cell))
        {
            if (token.Groups["project"].Success)
            {
                project = token.Groups["project"].Value;
            }
            else
            {
                yield return (project, token.Groups["class"].Value, token.Groups["method"].Value);
            }
        }
    }

    /// <summary>True if the source declares the class and, in it, the method under a test (or benchmark) attribute.</summary>
    private static bool Declares(string source, string project, string className, string method)
    {
        if (!Regex.IsMatch(source, $@"\bclass\s+{Regex.Escape(className)}\b", RegexOptions.CultureInvariant))
        {
            return false;
        }

        var attribute = project == "B" ? "Benchmark" : "(?:Test|TestCase|TestCaseSource)";
        return Regex.IsMatch(source, $@"\[{attribute}\b[^\]]*\][^{{;]*?\b{Regex.Escape(method)}\s*\(", RegexOptions.CultureInvariant);
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "HardenedGateway.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("HardenedGateway.sln was not found above the test directory.");
    }

    [GeneratedRegex(@"^\| (?<id>(?:FR|NFR|SC|EC|AC|CL|WS|UI|RS)-\d{3}) \| [^|]* \| (?<covered>.*) \|\s*$", RegexOptions.Multiline | RegexOptions.CultureInvariant)]
    private static partial Regex Row();

    [GeneratedRegex(@"`[A-Za-z0-9_]+\.[A-Za-z0-9_]+`", RegexOptions.CultureInvariant)]
    private static partial Regex DottedName();

    /// <summary>A project letter before a name (<c>U `</c>), or a backticked <c>Class.Method</c> of a test class.</summary>
    [GeneratedRegex(@"(?<![\w`])(?<project>[UIMPBRW])(?= `)|`(?<class>[A-Za-z0-9_]+(?:Tests|Probe|Benchmarks))\.(?<method>[A-Za-z0-9_]+)`", RegexOptions.CultureInvariant)]
    private static partial Regex Token();
}
