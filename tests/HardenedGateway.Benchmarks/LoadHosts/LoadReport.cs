using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Configuration;
using static HardenedGateway.Benchmarks.LoadHosts.ReportCommon;

namespace HardenedGateway.Benchmarks.LoadHosts;

/// <summary>
/// Turns the raw runs that <c>build/loadtest.sh</c> records (one JSON object a line) into medians per
/// target, ratios to YARP and to the direct path, the drift between identical control targets, a
/// markdown table and a JSON file.
/// </summary>
internal static class LoadReport
{
    private const string Direct = "direct";
    private const string Yarp = "yarp";

    public static int Run(string[] args)
    {
        var (configuration, input, output) = ReadArguments(args);
        var runs = ReadRuns(input, Derive);
        var targets = runs.Select(run => run.Target).Distinct().ToList();

        // A metric with no finite value is left out (the overload report writes it as null).
        var summary = Summarize(runs, targets, keepEmpty: false);

        var medians = new Medians(summary);
        var ratios = new JsonObject();
        foreach (var target in targets)
        {
            ratios[target] = new JsonObject
            {
                ["smallThroughputVsYarp"] = Round(medians.Ratio(target, Yarp, "small", "requestsPerSecond")),
                ["smallThroughputVsDirect"] = Round(medians.Ratio(target, Direct, "small", "requestsPerSecond")),
                ["smallCpuVsYarp"] = Round(medians.Ratio(target, Yarp, "small", "proxyCpuUsPerRequest")),
                ["smallAllocatedVsYarp"] = Round(medians.Ratio(target, Yarp, "small", "allocatedBytesPerRequest")),
            };
        }

        var drift = Drift(summary, targets, DriftMetrics);

        var document = new JsonObject
        {
            ["generatedAt"] = DateTimeOffset.UtcNow.ToString("u", CultureInfo.InvariantCulture),
            ["machine"] = Machine(),
            ["mode"] = configuration["mode"],
            ["commit"] = configuration["commit"],
            ["settings"] = configuration["settings"],
            ["targets"] = new JsonArray(targets.Select(target => (JsonNode)JsonValue.Create(target)).ToArray()),
            ["medians"] = summary,
            ["ratios"] = ratios,
            ["driftPercent"] = drift,
            ["runs"] = new JsonArray(runs.Select(run => (JsonNode)run.Raw.DeepClone()).ToArray()),
        };

        Write(configuration, output, document, Markdown(targets, medians, drift, configuration, document["machine"]!.GetValue<string>()));
        return 0;
    }

    private static readonly (string Kind, string Metric)[] DriftMetrics =
    [
        ("small", "requestsPerSecond"),
        ("small", "proxyCpuUsPerRequest"),
        ("small", "allocatedBytesPerRequest"),
        ("rate", "p99Ms"),
        ("download", "mebibytesPerSecond"),
        ("upload", "mebibytesPerSecond"),
    ];

    private static RunRecord Derive(JsonObject raw)
    {
        var metrics = new Dictionary<string, double>();
        var kind = raw["kind"]!.GetValue<string>();
        var wrk = raw["wrk"] as JsonObject;
        double requests = 0;
        if (wrk is not null)
        {
            requests = Number(wrk["requests"]);
            var seconds = Number(wrk["durationUs"]) / 1e6;
            var errors = wrk["errors"]!.AsObject();
            metrics["requests"] = requests;
            metrics["requestsPerSecond"] = requests / seconds;
            metrics["errors"] = errors.Sum(error => Number(error.Value));
            metrics["non2xx"] = Number(errors["status"]);
            metrics["p50Ms"] = Number(wrk["latencyUs"]!["p50"]) / 1000;
            metrics["p90Ms"] = Number(wrk["latencyUs"]!["p90"]) / 1000;
            metrics["p99Ms"] = Number(wrk["latencyUs"]!["p99"]) / 1000;
            metrics["p999Ms"] = Number(wrk["latencyUs"]!["p999"]) / 1000;
            metrics["maxMs"] = Number(wrk["latencyUs"]!["max"]) / 1000;
            metrics["lateSends"] = Number(wrk["lateSends"]);
            metrics["maxScheduleLagMs"] = Number(wrk["maxLagMs"]);
            metrics["mebibytesPerSecond"] = kind == "upload"
                ? requests * Number(raw["uploadBytes"]) / seconds / (1024 * 1024)
                : Number(wrk["bytes"]) / seconds / (1024 * 1024);
        }

        var clockTicks = Number(raw["clkTck"]);
        if (requests > 0 && raw["proxyCpuTicks"] is { } proxyTicks)
        {
            metrics["proxyCpuUsPerRequest"] = Number(proxyTicks) / clockTicks * 1e6 / requests;
        }

        if (requests > 0 && raw["upstreamCpuTicks"] is { } upstreamTicks)
        {
            metrics["upstreamCpuUsPerRequest"] = Number(upstreamTicks) / clockTicks * 1e6 / requests;
        }

        if (raw["upstreamConnections"] is { } connections)
        {
            metrics["upstreamConnectionsOpened"] = Number(connections);
        }

        if (raw["statsBefore"] is JsonObject before && raw["statsAfter"] is JsonObject after)
        {
            double Delta(string name) => Number(after[name]) - Number(before[name]);
            if (requests > 0)
            {
                metrics["allocatedBytesPerRequest"] = Delta("allocatedBytes") / requests;
            }

            metrics["gcCount"] = Delta("gen0Collections");
            metrics["gen2Count"] = Delta("gen2Collections");
            metrics["gcPauseTotalMs"] = Delta("totalPauseMs");
            metrics["gcPauseMaxMs"] = Number(after["intervalMaxGcPauseMs"]);
            metrics["otherSuspensionMaxMs"] = Number(after["intervalMaxOtherSuspensionMs"]);
        }

        if (raw["sse"] is JsonObject sse)
        {
            metrics["firstEventP50Ms"] = Number(sse["p50Ms"]);
            metrics["firstEventP90Ms"] = Number(sse["p90Ms"]);
            metrics["firstEventMaxMs"] = Number(sse["maxMs"]);
            metrics["errors"] = Number(sse["failures"]);
        }

        return new RunRecord(raw["target"]!.GetValue<string>(), kind, metrics, raw);
    }

    private static string Markdown(List<string> targets, Medians medians, JsonObject drift, IConfiguration configuration, string machine)
    {
        var text = new StringBuilder();
        var culture = CultureInfo.InvariantCulture;
        text.AppendLine(culture, $"Load test ({configuration["mode"]} mode, {configuration["settings"]}), commit {configuration["commit"]}, on {machine}; medians over rounds.");
        text.AppendLine();
        text.AppendLine("Small responses, closed loop:");
        text.AppendLine();
        text.AppendLine("| target | req/s | vs YARP | vs direct | proxy CPU µs/req | alloc B/req | upstream conns opened | errors |");
        text.AppendLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var target in targets)
        {
            text.AppendLine(culture, $"| {target} | {medians.Format(target, "small", "requestsPerSecond", "N0")} | {Format(medians.Ratio(target, Yarp, "small", "requestsPerSecond"), "0.00x")} | {Format(medians.Ratio(target, Direct, "small", "requestsPerSecond"), "0.00x")} | {medians.Format(target, "small", "proxyCpuUsPerRequest", "N1")} | {medians.Format(target, "small", "allocatedBytesPerRequest", "N0")} | {medians.Format(target, "small", "upstreamConnectionsOpened", "N0")} | {medians.Format(target, "small", "errors", "N0")} |");
        }

        text.AppendLine();
        text.AppendLine("Fixed rate (NFR-001, SC-002, SC-003):");
        text.AppendLine();
        text.AppendLine("| target | achieved req/s | p50 ms | p99 ms | max ms (worst run) | errors | late sends | GCs | GC pause total ms | longest GC pause ms (worst run) | alloc B/req | proxy CPU µs/req | upstream conns opened |");
        text.AppendLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var target in targets)
        {
            text.AppendLine(culture, $"| {target} | {medians.Format(target, "rate", "requestsPerSecond", "N0")} | {medians.Format(target, "rate", "p50Ms", "N3")} | {medians.Format(target, "rate", "p99Ms", "N3")} | {medians.Format(target, "rate", "maxMs", "N2")} ({medians.Format(target, "rate", "maxMs", "N2", "max")}) | {medians.Format(target, "rate", "errors", "N0")} | {medians.Format(target, "rate", "lateSends", "N0")} | {medians.Format(target, "rate", "gcCount", "N0")} | {medians.Format(target, "rate", "gcPauseTotalMs", "N2")} | {medians.Format(target, "rate", "gcPauseMaxMs", "N2")} ({medians.Format(target, "rate", "gcPauseMaxMs", "N2", "max")}) | {medians.Format(target, "rate", "allocatedBytesPerRequest", "N0")} | {medians.Format(target, "rate", "proxyCpuUsPerRequest", "N1")} | {medians.Format(target, "rate", "upstreamConnectionsOpened", "N0")} |");
        }

        text.AppendLine();
        text.AppendLine("Large bodies and streaming:");
        text.AppendLine();
        text.AppendLine("| target | 1 MiB download MiB/s | 1 MiB upload MiB/s | first SSE event p50 ms | p90 ms | errors (download/upload/SSE) |");
        text.AppendLine("| --- | ---: | ---: | ---: | ---: | ---: |");
        foreach (var target in targets)
        {
            text.AppendLine(culture, $"| {target} | {medians.Format(target, "download", "mebibytesPerSecond", "N0")} | {medians.Format(target, "upload", "mebibytesPerSecond", "N0")} | {medians.Format(target, "sse", "firstEventP50Ms", "N2")} | {medians.Format(target, "sse", "firstEventP90Ms", "N2")} | {medians.Format(target, "download", "errors", "N0")}/{medians.Format(target, "upload", "errors", "N0")}/{medians.Format(target, "sse", "errors", "N0")} |");
        }

        AppendDriftTable(text, "Drift between two identical instances (|a - b| / mean, %): claim only differences well beyond these.", drift, DriftMetrics);
        return text.ToString();
    }

    private sealed record RunRecord(string Target, string Kind, Dictionary<string, double> Metrics, JsonObject Raw) : IRun;

    private sealed class Medians(JsonObject summary)
    {
        public double Get(string target, string kind, string metric, string statistic = "median") =>
            summary[target]?[kind]?[metric]?[statistic] is { } value ? value.GetValue<double>() : double.NaN;

        public string Format(string target, string kind, string metric, string format, string statistic = "median") =>
            ReportCommon.Format(Get(target, kind, metric, statistic), format);

        public double Ratio(string target, string reference, string kind, string metric) =>
            Get(target, kind, metric) / Get(reference, kind, metric);
    }
}
