using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Configuration;
using static HardenedGateway.Benchmarks.LoadHosts.ReportCommon;

namespace HardenedGateway.Benchmarks.LoadHosts;

/// <summary>
/// The report of the overload scenario (<c>build/loadtest.sh --overload</c>, issues 16 and 10): per
/// target and round, admitted and rejected answers per second, the proxy's CPU per answer, the admitted
/// requests' latency (from the probe, apart from the rejections) against the unloaded run, and the
/// ratios to YARP measured in the same round; medians and per-round ranges, drift between the two
/// identical instances, as markdown and JSON.
/// </summary>
internal static class OverloadReport
{
    private const string Yarp = "yarp";
    private const string Baseline = "gateway-baseline";

    /// <summary>The figures compared with YARP's (kind, metric, lower is better).</summary>
    private static readonly (string Kind, string Metric, bool LowerIsBetter)[] Compared =
    [
        ("shed", "rejectedPerSecond", false),
        ("shed", "cpuUsPerAnswer", true),
        ("shed", "admittedP99Ms", true),
        ("open", "rejectedPerSecond", false),
        ("open", "cpuUsPerAnswer", true),
        ("small", "requestsPerSecond", false),
        ("small", "cpuUsPerAnswer", true),
        ("small", "allocatedBytesPerAnswer", true),
    ];

    /// <summary>The compared figures, also those whose drift between identical instances is shown.</summary>
    private static readonly (string Kind, string Metric)[] DriftMetrics = [.. Compared.Select(compared => (compared.Kind, compared.Metric))];

    public static int Run(string[] args)
    {
        var (configuration, input, output) = ReadArguments(args);
        var runs = ReadRuns(input, Derive);
        var targets = runs.Select(run => run.Target).Distinct().ToList();
        var rounds = runs.Select(run => run.Round).Distinct().Order().ToList();

        double Value(string target, int round, string kind, string metric) =>
            runs.FirstOrDefault(run => run.Target == target && run.Round == round && run.Kind == kind)?.Metrics.GetValueOrDefault(metric, double.NaN) ?? double.NaN;

        // Derived per round: admitted p99 under overload over the same target's unloaded p99 of that
        // round, and the CPU of a rejection over the CPU of a proxied small request (issue 10).
        foreach (var run in runs.Where(run => run.Kind is "shed" or "open"))
        {
            run.Metrics["admittedP99VsUnloaded"] = run.Metrics.GetValueOrDefault("admittedP99Ms", double.NaN) / Value(run.Target, run.Round, "unloaded", "admittedP99Ms");
            run.Metrics["cpuVsProxiedRequest"] = run.Metrics.GetValueOrDefault("cpuUsPerAnswer", double.NaN) / Value(run.Target, run.Round, "small", "cpuUsPerAnswer");
        }

        // A metric with no finite value is written as null (the load report leaves it out).
        var summary = Summarize(runs, targets, keepEmpty: true);

        JsonObject RatiosPerRound(string target, string reference)
        {
            var perMetric = new JsonObject();
            foreach (var (kind, metric, _) in Compared)
            {
                perMetric[$"{kind}.{metric}"] = Statistics(rounds.Select(round => Value(target, round, kind, metric) / Value(reference, round, kind, metric)));
            }

            return perMetric;
        }

        // Ratios to YARP, round by round (both measured within the same round, minutes apart at most).
        var ratios = new JsonObject();
        foreach (var target in targets.Where(target => target != Yarp))
        {
            ratios[target] = RatiosPerRound(target, Yarp);
        }

        // What a change bought: the gateway against the same scenario built from an earlier commit (--baseline).
        var baselineRatios = new JsonObject();
        if (targets.Contains(Baseline))
        {
            foreach (var target in targets.Where(target => target.StartsWith("gateway", StringComparison.Ordinal) && target != Baseline))
            {
                baselineRatios[target] = RatiosPerRound(target, Baseline);
            }
        }

        var drift = Drift(summary, targets, DriftMetrics);

        var machine = Machine();
        var document = new JsonObject
        {
            ["generatedAt"] = DateTimeOffset.UtcNow.ToString("u", CultureInfo.InvariantCulture),
            ["machine"] = machine,
            ["scenario"] = "overload",
            ["commit"] = configuration["commit"],
            ["settings"] = configuration["settings"],
            ["loadAverage"] = configuration["loadAverage"],
            ["targets"] = new JsonArray(targets.Select(target => (JsonNode)JsonValue.Create(target)).ToArray()),
            ["medians"] = summary,
            ["ratiosToYarpPerRound"] = ratios,
            ["ratiosToBaselinePerRound"] = baselineRatios,
            ["driftPercent"] = drift,
            ["runs"] = new JsonArray(runs.Select(run => (JsonNode)run.Raw.DeepClone()).ToArray()),
        };

        Write(configuration, output, document, Markdown(targets, summary, ratios, baselineRatios, drift, configuration, machine));
        return 0;
    }

    private static RunRecord Derive(JsonObject raw)
    {
        var metrics = new Dictionary<string, double>();
        double answers = 0, admittedPerSecond = 0, rejectedPerSecond = 0;
        if (raw["wrk"] is JsonObject wrk)
        {
            var requests = Number(wrk["requests"]);
            var seconds = Number(wrk["durationUs"]) / 1e6;
            var errors = wrk["errors"]!.AsObject();
            var rejected = Number(errors["status"]); // wrk counts every answer above 399 here
            answers += requests;
            admittedPerSecond += (requests - rejected) / seconds;
            rejectedPerSecond += rejected / seconds;
            metrics["requestsPerSecond"] = requests / seconds;
            metrics["socketErrors"] = Number(errors["connect"]) + Number(errors["read"]) + Number(errors["write"]) + Number(errors["timeout"]);
            metrics["allAnswersP50Ms"] = Number(wrk["latencyUs"]!["p50"]) / 1000;
            metrics["allAnswersP99Ms"] = Number(wrk["latencyUs"]!["p99"]) / 1000;
        }

        if (raw["probe"] is JsonObject probe)
        {
            var seconds = Number(probe["seconds"]);
            var admitted = Number(probe["admitted"]);
            var rejected = Number(probe["rejected"]);
            answers += admitted + rejected;
            admittedPerSecond += admitted / seconds;
            rejectedPerSecond += rejected / seconds;
            metrics["probeAdmitted"] = admitted;
            metrics["probeFailures"] = Number(probe["failures"]);
            metrics["admittedP50Ms"] = Number(probe["admittedP50Ms"]);
            metrics["admittedP99Ms"] = Number(probe["admittedP99Ms"]);
            metrics["admittedMaxMs"] = Number(probe["admittedMaxMs"]);
            metrics["rejectedP50Ms"] = Number(probe["rejectedP50Ms"]);
            metrics["rejectedP99Ms"] = Number(probe["rejectedP99Ms"]);
        }

        metrics["answers"] = answers;
        metrics["admittedPerSecond"] = admittedPerSecond;
        metrics["rejectedPerSecond"] = rejectedPerSecond;
        if (answers > 0 && raw["proxyCpuTicks"] is { } ticks)
        {
            metrics["cpuUsPerAnswer"] = Number(ticks) / Number(raw["clkTck"]) * 1e6 / answers;
        }

        if (answers > 0 && raw["statsBefore"] is JsonObject before && raw["statsAfter"] is JsonObject after)
        {
            metrics["allocatedBytesPerAnswer"] = (Number(after["allocatedBytes"]) - Number(before["allocatedBytes"])) / answers;
            metrics["gcCount"] = Number(after["gen0Collections"]) - Number(before["gen0Collections"]);
        }

        return new RunRecord(raw["target"]!.GetValue<string>(), raw["round"]!.GetValue<int>(), raw["kind"]!.GetValue<string>(), metrics, raw);
    }

    private static string Markdown(List<string> targets, JsonObject summary, JsonObject ratios, JsonObject baselineRatios, JsonObject drift, IConfiguration configuration, string machine)
    {
        var culture = CultureInfo.InvariantCulture;
        var text = new StringBuilder();
        text.AppendLine(culture, $"Overload scenario ({configuration["settings"]}), commit {configuration["commit"]}, on {machine}; load average before the runs: {configuration["loadAverage"]}. Medians over rounds; [min..max] over rounds.");
        foreach (var (kind, title) in new[] { ("shed", "Shedding (limiter full): 429"), ("open", "Open breaker: 503") })
        {
            text.AppendLine();
            text.AppendLine(culture, $"{title}:");
            text.AppendLine();
            text.AppendLine("| target | admitted/s | rejected/s | vs YARP (per round) | CPU µs/answer | vs YARP (per round) | vs a proxied request | alloc B/answer | admitted p50 / p99 ms (probe) | unloaded p50 / p99 ms | p99 vs unloaded | socket errors |");
            text.AppendLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
            foreach (var target in targets)
            {
                text.AppendLine(culture, $"| {target} | {Cell(summary, target, kind, "admittedPerSecond", "N0")} | {Cell(summary, target, kind, "rejectedPerSecond", "N0")} {Range(summary, target, kind, "rejectedPerSecond", "N0")} | {RatioCell(ratios, target, kind, "rejectedPerSecond")} | {Cell(summary, target, kind, "cpuUsPerAnswer", "N1")} {Range(summary, target, kind, "cpuUsPerAnswer", "N1")} | {RatioCell(ratios, target, kind, "cpuUsPerAnswer")} | {Cell(summary, target, kind, "cpuVsProxiedRequest", "0.00x")} | {Cell(summary, target, kind, "allocatedBytesPerAnswer", "N0")} | {Cell(summary, target, kind, "admittedP50Ms", "N1")} / {Cell(summary, target, kind, "admittedP99Ms", "N1")} | {Cell(summary, target, "unloaded", "admittedP50Ms", "N1")} / {Cell(summary, target, "unloaded", "admittedP99Ms", "N1")} | {Cell(summary, target, kind, "admittedP99VsUnloaded", "0.00x")} | {Cell(summary, target, kind, "socketErrors", "N0")} |");
            }
        }

        text.AppendLine();
        text.AppendLine("Proxied small requests, closed loop (the cost a rejection is compared with):");
        text.AppendLine();
        text.AppendLine("| target | req/s | vs YARP (per round) | CPU µs/req | vs YARP (per round) | alloc B/req | vs YARP |");
        text.AppendLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var target in targets)
        {
            text.AppendLine(culture, $"| {target} | {Cell(summary, target, "small", "requestsPerSecond", "N0")} | {RatioCell(ratios, target, "small", "requestsPerSecond")} | {Cell(summary, target, "small", "cpuUsPerAnswer", "N1")} | {RatioCell(ratios, target, "small", "cpuUsPerAnswer")} | {Cell(summary, target, "small", "allocatedBytesPerAnswer", "N0")} | {RatioCell(ratios, target, "small", "allocatedBytesPerAnswer")} |");
        }

        if (baselineRatios.Count > 0)
        {
            text.AppendLine();
            text.AppendLine("Against the baseline build (--baseline), per round: median [min..max] of the ratio:");
            text.AppendLine();
            text.AppendLine("| target | " + string.Join(" | ", Compared.Select(metric => $"{metric.Kind} {metric.Metric}")) + " |");
            text.AppendLine("| --- | " + string.Join(" | ", Compared.Select(_ => "---:")) + " |");
            foreach (var (target, _) in baselineRatios)
            {
                text.AppendLine(culture, $"| {target} | {string.Join(" | ", Compared.Select(metric => RatioCell(baselineRatios, target, metric.Kind, metric.Metric)))} |");
            }
        }

        AppendDriftTable(text, "Drift between two identical instances (|a - b| / mean of the medians, %): claim only differences well beyond these.", drift, DriftMetrics);
        return text.ToString();
    }

    private static string Cell(JsonObject summary, string target, string kind, string metric, string format) =>
        Format(summary[target]?[kind]?[metric]?["median"], format);

    private static string Range(JsonObject summary, string target, string kind, string metric, string format) =>
        summary[target]?[kind]?[metric] is JsonObject statistics
            ? $"[{Format(statistics["min"], format)}..{Format(statistics["max"], format)}]"
            : string.Empty;

    private static string RatioCell(JsonObject ratios, string target, string kind, string metric) =>
        ratios[target]?[$"{kind}.{metric}"] is JsonObject statistics
            ? $"{Format(statistics["median"], "0.00x")} [{Format(statistics["min"], "0.00")}..{Format(statistics["max"], "0.00")}]"
            : "-";

    private sealed record RunRecord(string Target, int Round, string Kind, Dictionary<string, double> Metrics, JsonObject Raw) : IRun;
}
