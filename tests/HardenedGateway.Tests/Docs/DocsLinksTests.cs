using System.Text.RegularExpressions;

namespace HardenedGateway.Tests.Docs;

/// <summary>
/// Keeps the README and the pages under <c>docs/</c> navigable: every relative link names a file of
/// the repository, and every <c>#anchor</c> names a heading of the page it points at (GitHub's rule
/// for heading anchors).
/// </summary>
[TestFixture]
public sealed partial class DocsLinksTests
{
    [Test]
    public void Links_RelativeTargetsAndAnchors_AllExist()
    {
        var root = RepositoryRoot();
        var pages = Pages(root).ToArray();
        var broken = new List<string>();
        var checkedLinks = 0;

        foreach (var page in pages)
        {
            foreach (var target in LinkTargets(File.ReadAllText(page)))
            {
                if (target.StartsWith("http://", StringComparison.OrdinalIgnoreCase) ||
                    target.StartsWith("https://", StringComparison.OrdinalIgnoreCase) ||
                    target.StartsWith("mailto:", StringComparison.OrdinalIgnoreCase))
                {
                    continue;
                }

                checkedLinks++;
                var hash = target.IndexOf('#', StringComparison.Ordinal);
                var path = hash < 0 ? target : target[..hash];
                var anchor = hash < 0 ? null : target[(hash + 1)..];
                var file = path.Length == 0 ? page : Path.GetFullPath(Path.Combine(Path.GetDirectoryName(page)!, Uri.UnescapeDataString(path)));
                var name = $"{Path.GetRelativePath(root, page)}: ({target})";

                if (!File.Exists(file) && !Directory.Exists(file))
                {
                    broken.Add(name + " names no file");
                }
                else if (anchor is not null && file.EndsWith(".md", StringComparison.OrdinalIgnoreCase) && !Anchors(File.ReadAllText(file)).Contains(anchor))
                {
                    broken.Add(name + " names no heading of that page");
                }
            }
        }

        Assert.Multiple(() =>
        {
            Assert.That(pages, Has.Length.GreaterThan(5), "the README and the docs pages");
            Assert.That(checkedLinks, Is.GreaterThan(20), "relative links were found and checked");
            Assert.That(broken, Is.Empty);
        });
    }

    [TestCase("Configuration reference", "configuration-reference")]
    [TestCase("The metrics endpoint (`HardenedGateway.Prometheus`)", "the-metrics-endpoint-hardenedgatewayprometheus")]
    [TestCase("Transport (`HardenedGateway:Transport`)", "transport-hardenedgatewaytransport")]
    [TestCase("AI routes: `ResponseHeaderTimeout: 0` with a `StreamIdleTimeout`", "ai-routes-responseheadertimeout-0-with-a-streamidletimeout")]
    public void Slug_Heading_FollowsGitHubsAnchorRule(string heading, string expected) =>
        Assert.That(Slug(heading), Is.EqualTo(expected));

    private static IEnumerable<string> Pages(string root)
    {
        yield return Path.Combine(root, "README.md");
        foreach (var page in Directory.EnumerateFiles(Path.Combine(root, "docs"), "*.md", SearchOption.AllDirectories))
        {
            yield return page;
        }
    }

    /// <summary>The link targets of a markdown text outside code fences and inline code.</summary>
    private static IEnumerable<string> LinkTargets(string markdown)
    {
        foreach (var line in WithoutFences(markdown))
        {
            foreach (Match link in Link().Matches(InlineCode().Replace(line, string.Empty)))
            {
                yield return link.Groups["target"].Value;
            }
        }
    }

    /// <summary>The anchors GitHub gives the headings of a page (a repeated heading gets <c>-1</c>, <c>-2</c>, ...).</summary>
    private static HashSet<string> Anchors(string markdown)
    {
        var anchors = new HashSet<string>(StringComparer.Ordinal);
        foreach (var line in WithoutFences(markdown))
        {
            var heading = Heading().Match(line);
            if (!heading.Success)
            {
                continue;
            }

            var slug = Slug(heading.Groups["text"].Value);
            var unique = slug;
            for (var n = 1; !anchors.Add(unique); n++)
            {
                unique = $"{slug}-{n}";
            }
        }

        return anchors;
    }

    private static string Slug(string heading)
    {
        var text = LinkText().Replace(heading.Trim(), "$1").ToLowerInvariant();
        return NotSlugCharacter().Replace(text, string.Empty).Replace(' ', '-');
    }

    private static IEnumerable<string> WithoutFences(string markdown)
    {
        var fenced = false;
        foreach (var line in markdown.Split('\n'))
        {
            if (line.TrimStart().StartsWith("```", StringComparison.Ordinal))
            {
                fenced = !fenced;
                continue;
            }

            if (!fenced)
            {
                yield return line;
            }
        }
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

    [GeneratedRegex(@"\]\((?<target>[^)\s]+)\)", RegexOptions.CultureInvariant)]
    private static partial Regex Link();

    [GeneratedRegex(@"`[^`]*`", RegexOptions.CultureInvariant)]
    private static partial Regex InlineCode();

    [GeneratedRegex(@"^#{1,6} (?<text>.+?)\s*#*\s*$", RegexOptions.CultureInvariant)]
    private static partial Regex Heading();

    [GeneratedRegex(@"\[([^\]]*)\]\([^)]*\)", RegexOptions.CultureInvariant)]
    private static partial Regex LinkText();

    [GeneratedRegex(@"[^\p{L}\p{Nd}\p{Mn}\p{Pc} \-]", RegexOptions.CultureInvariant)]
    private static partial Regex NotSlugCharacter();
}
