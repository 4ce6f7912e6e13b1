using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Configuration;

namespace HardenedGateway.Benchmarks.LoadHosts;

/// <summary>
/// What the two reports (<see cref="LoadReport"/>, <see cref="OverloadReport"/>) share: their command line
/// (<c>--input raw.jsonl --output results.json [--markdown results.md]</c> and free-form settings), reading the
/// raw runs, the machine line, the statistics over rounds and writing the JSON, markdown and console output.
/// </summary>
internal static class ReportCommon
{
    /// <summary>Reads the report's command line; <c>--input</c> and <c>--output</c> are required.</summary>
    public static (IConfiguration Configuration, string Input, string Output) ReadArguments(string[] args)
    {
        var configuration = new ConfigurationBuilder().AddCommandLine(args).Build();
        var input = configuration["input"] ?? throw new ArgumentException("--input <raw.jsonl> is required");
        var output = configuration["output"] ?? throw new ArgumentException("--output <results.json> is required");
        return (configuration, input, output);
    }

    /// <summary>Reads the raw runs, one JSON object a line (blank lines skipped), each derived into a run record.</summary>
    public static List<T> ReadRuns<T>(string input, Func<JsonObject, T> derive) =>
        File.ReadLines(input)
            .Where(line => !string.IsNullOrWhiteSpace(line))
            .Select(line => derive(JsonNode.Parse(line)!.AsObject()))
            .ToList();

    /// <summary>Writes the JSON document to <paramref name="output"/> and the markdown to <c>--markdown</c> (when given) and to the console.</summary>
    public static void Write(IConfiguration configuration, string output, JsonObject document, string markdown)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
        File.WriteAllText(output, document.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        if (configuration["markdown"] is { } markdownPath)
        {
            File.WriteAllText(markdownPath, markdown);
        }

        Console.Write(markdown);
    }

    /// <summary>Median, minimum and maximum of the finite values and how many there were; null when none is finite.</summary>
    public static JsonObject? Statistics(IEnumerable<double> values)
    {
        var finite = values.Where(double.IsFinite).Order().ToList();
        if (finite.Count == 0)
        {
            return null;
        }

        var middle = finite.Count / 2;
        var median = finite.Count % 2 == 1 ? finite[middle] : (finite[middle - 1] + finite[middle]) / 2;
        return new JsonObject { ["median"] = Round(median), ["min"] = Round(finite[0]), ["max"] = Round(finite[^1]), ["runs"] = finite.Count };
    }

    /// <summary>
    /// Per target and kind, each metric's <see cref="Statistics"/> over the runs; a metric with no finite value is
    /// written as null when <paramref name="keepEmpty"/>, otherwise left out.
    /// </summary>
    public static JsonObject Summarize<TRun>(List<TRun> runs, List<string> targets, bool keepEmpty)
        where TRun : IRun
    {
        var summary = new JsonObject();
        foreach (var target in targets)
        {
            var perKind = new JsonObject();
            foreach (var group in runs.Where(run => run.Target == target).GroupBy(run => run.Kind))
            {
                var metrics = new JsonObject();
                foreach (var name in group.SelectMany(run => run.Metrics.Keys).Distinct())
                {
                    var statistics = Statistics(group.Select(run => run.Metrics.GetValueOrDefault(name, double.NaN)));
                    if (statistics is not null || keepEmpty)
                    {
                        metrics[name] = statistics;
                    }
                }

                perKind[group.Key] = metrics;
            }

            summary[target] = perKind;
        }

        return summary;
    }

    /// <summary>The median of a metric in a <see cref="Summarize"/> result, or NaN.</summary>
    public static double Median(JsonObject summary, string target, string kind, string metric) =>
        summary[target]?[kind]?[metric]?["median"] is { } value ? value.GetValue<double>() : double.NaN;

    /// <summary>For each control (a target named <c>&lt;target&gt;-control</c>) and its original: |a - b| / mean of the two medians, in percent.</summary>
    public static JsonObject Drift(JsonObject summary, List<string> targets, IReadOnlyList<(string Kind, string Metric)> metrics)
    {
        var drift = new JsonObject();
        foreach (var (original, control) in ControlPairs(targets))
        {
            var pair = new JsonObject();
            foreach (var (kind, metric) in metrics)
            {
                var (a, b) = (Median(summary, original, kind, metric), Median(summary, control, kind, metric));
                pair[$"{kind}.{metric}"] = Round(Math.Abs(a - b) / ((a + b) / 2) * 100);
            }

            drift[$"{original} vs {control}"] = pair;
        }

        return drift;
    }

    /// <summary>Appends the drift as a markdown table under <paramref name="title"/>; nothing when there is no control.</summary>
    public static void AppendDriftTable(StringBuilder text, string title, JsonObject drift, IReadOnlyList<(string Kind, string Metric)> metrics)
    {
        if (drift.Count == 0)
        {
            return;
        }

        text.AppendLine();
        text.AppendLine(title);
        text.AppendLine();
        text.AppendLine("| pair | " + string.Join(" | ", metrics.Select(metric => $"{metric.Kind} {metric.Metric}")) + " |");
        text.AppendLine("| --- | " + string.Join(" | ", metrics.Select(_ => "---:")) + " |");
        foreach (var (pair, values) in drift)
        {
            var cells = metrics.Select(metric => values![$"{metric.Kind}.{metric.Metric}"] is { } value ? Format(value.GetValue<double>(), "N1") : "n/a");
            text.AppendLine(CultureInfo.InvariantCulture, $"| {pair} | {string.Join(" | ", cells)} |");
        }
    }

    /// <summary>The controls (targets named <c>&lt;target&gt;-control</c>) paired with the targets they repeat.</summary>
    private static IEnumerable<(string Original, string Control)> ControlPairs(List<string> targets)
    {
        const string ControlSuffix = "-control";
        foreach (var control in targets.Where(target => target.EndsWith(ControlSuffix, StringComparison.Ordinal)))
        {
            var original = control[..^ControlSuffix.Length];
            if (targets.Contains(original))
            {
                yield return (original, control);
            }
        }
    }

    /// <summary>Core count, CPU model, operating system and runtime.</summary>
    public static string Machine()
    {
        var cpu = File.Exists("/proc/cpuinfo")
            ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(line => line.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim()
            : null;
        return $"{Environment.ProcessorCount} cores ({cpu ?? RuntimeInformation.ProcessArchitecture.ToString()}), {RuntimeInformation.OSDescription}, {RuntimeInformation.FrameworkDescription}";
    }

    /// <summary>A number of the raw record; missing is NaN, and so is the probe's "NaN" (a percentile of no samples).</summary>
    public static double Number(JsonNode? node) =>
        node is null ? double.NaN
        : node.GetValueKind() == JsonValueKind.String ? double.Parse(node.GetValue<string>(), CultureInfo.InvariantCulture)
        : node.GetValue<double>();

    /// <summary>Four decimals, or null (JSON null, "n/a" in markdown) for NaN and infinities.</summary>
    public static JsonNode? Round(double value) => double.IsFinite(value) ? JsonValue.Create(Math.Round(value, 4)) : null;

    /// <summary>The value in the invariant culture, or "n/a" when it is not finite.</summary>
    public static string Format(double value, string format) => double.IsFinite(value) ? value.ToString(format, CultureInfo.InvariantCulture) : "n/a";

    /// <summary>The rounded value in the invariant culture, or "n/a" when there is none.</summary>
    public static string Format(JsonNode? node, string format) => node is null ? "n/a" : Format(node.GetValue<double>(), format);

    /// <summary>What a report derives from one raw run.</summary>
    internal interface IRun
    {
        string Target { get; }

        string Kind { get; }

        Dictionary<string, double> Metrics { get; }
    }
}
