namespace HardenedGateway.Tests.Metrics;

/// <summary>Helpers to compare rendered Prometheus text line by line.</summary>
internal static class PrometheusText
{
    /// <summary>Splits rendered text into lines; the text must end with exactly one line feed.</summary>
    public static string[] Lines(string text)
    {
        Assert.That(text, Does.EndWith("\n"), "Prometheus text ends with a line feed.");
        return text[..^1].Split('\n');
    }

    /// <summary>Gets the sample lines of one family (the name itself or its _bucket/_sum/_count series), in order.</summary>
    public static string[] Samples(string text, string family) =>
        Array.FindAll(Lines(text), line =>
            !line.StartsWith('#') &&
            (line.StartsWith(family + "{", StringComparison.Ordinal) ||
             line.StartsWith(family + " ", StringComparison.Ordinal) ||
             line.StartsWith(family + "_bucket{", StringComparison.Ordinal) ||
             line.StartsWith(family + "_sum{", StringComparison.Ordinal) ||
             line.StartsWith(family + "_count{", StringComparison.Ordinal)));

    /// <summary>Gets the names of the families in order of their <c># TYPE</c> lines.</summary>
    public static string[] Families(string text) =>
        Array.ConvertAll(
            Array.FindAll(Lines(text), static line => line.StartsWith("# TYPE ", StringComparison.Ordinal)),
            static line => line.Split(' ')[2]);
}
