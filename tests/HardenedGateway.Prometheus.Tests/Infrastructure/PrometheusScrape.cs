using System.Globalization;

namespace HardenedGateway.Prometheus.Tests.Infrastructure;

/// <summary>A parsed Prometheus text (0.0.4) scrape: the <c># TYPE</c> declarations and the samples, in order.</summary>
public sealed class PrometheusScrape
{
    private PrometheusScrape(string text, List<(string Name, string Type)> types, List<Sample> samples)
    {
        Text = text;
        Types = types;
        Samples = samples;
    }

    public string Text { get; }

    public IReadOnlyList<(string Name, string Type)> Types { get; }

    public IReadOnlyList<Sample> Samples { get; }

    public static PrometheusScrape Parse(string text)
    {
        var types = new List<(string, string)>();
        var samples = new List<Sample>();
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.StartsWith("# TYPE ", StringComparison.Ordinal))
            {
                var parts = line.Split(' ');
                types.Add((parts[2], parts[3]));
                continue;
            }

            if (line.StartsWith('#'))
            {
                continue;
            }

            samples.Add(ParseSample(line));
        }

        return new PrometheusScrape(text, types, samples);
    }

    /// <summary>Gets the type declared for a family, or null.</summary>
    public string? TypeOf(string family) => Types.Where(t => t.Name == family).Select(t => t.Type).SingleOrDefault();

    /// <summary>Gets the value of the one sample with this name and exact label text (e.g. <c>proxy="ai",code="200"</c>).</summary>
    public double Value(string name, string labels = "") =>
        Samples.Single(s => s.Name == name && s.Labels == labels).Value;

    /// <summary>Gets the samples of families whose name starts with <paramref name="prefix"/>, keyed <c>name{labels}</c>.</summary>
    public Dictionary<string, double> SamplesStartingWith(string prefix) =>
        Samples.Where(s => s.Name.StartsWith(prefix, StringComparison.Ordinal)).ToDictionary(s => s.Key, s => s.Value);

    private static Sample ParseSample(string line)
    {
        var brace = line.IndexOf('{', StringComparison.Ordinal);
        var space = line.IndexOf(' ', StringComparison.Ordinal);
        string name;
        var labels = string.Empty;
        int valueStart;
        if (brace >= 0 && brace < space)
        {
            name = line[..brace];
            var end = FindClosingBrace(line, brace + 1);
            labels = line[(brace + 1)..end];
            valueStart = end + 2;
        }
        else
        {
            name = line[..space];
            valueStart = space + 1;
        }

        var valueText = line[valueStart..].Split(' ')[0];
        var value = valueText switch
        {
            "+Inf" => double.PositiveInfinity,
            "-Inf" => double.NegativeInfinity,
            "NaN" => double.NaN,
            _ => double.Parse(valueText, NumberStyles.Float, CultureInfo.InvariantCulture),
        };
        return new Sample(name, labels, value);
    }

    private static int FindClosingBrace(string line, int start)
    {
        var quoted = false;
        for (var i = start; i < line.Length; i++)
        {
            switch (line[i])
            {
                case '\\' when quoted:
                    i++;
                    break;
                case '"':
                    quoted = !quoted;
                    break;
                case '}' when !quoted:
                    return i;
            }
        }

        throw new FormatException("No closing brace: " + line);
    }

    public sealed record Sample(string Name, string Labels, double Value)
    {
        public string Key => Labels.Length == 0 ? Name : Name + "{" + Labels + "}";
    }
}
