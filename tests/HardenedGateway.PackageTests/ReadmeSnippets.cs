using System.Text.RegularExpressions;

namespace HardenedGateway.PackageTests;

/// <summary>
/// Reads the code blocks the README marks with <c>&lt;!-- package-test: FILE --&gt;</c>, so the
/// package test builds exactly the quick start a reader copies.
/// </summary>
internal static partial class ReadmeSnippets
{
    /// <summary>Gets the fenced code block that follows the marker naming <paramref name="fileName"/>.</summary>
    public static string Get(string readme, string fileName)
    {
        foreach (Match match in MarkedBlock().Matches(readme))
        {
            if (match.Groups["file"].Value == fileName)
            {
                return match.Groups["code"].Value;
            }
        }

        throw new InvalidOperationException($"README.md has no code block marked <!-- package-test: {fileName} -->.");
    }

    [GeneratedRegex(@"<!--\s*package-test:\s*(?<file>\S+)\s*-->\s*\r?\n```[a-z]*\r?\n(?<code>.*?)\r?\n```", RegexOptions.Singleline | RegexOptions.CultureInvariant)]
    private static partial Regex MarkedBlock();
}
