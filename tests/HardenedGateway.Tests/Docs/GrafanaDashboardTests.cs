using System.Reflection;
using System.Text.Json;
using System.Text.RegularExpressions;
using HardenedGateway.Metrics;

namespace HardenedGateway.Tests.Docs;

/// <summary>
/// Keeps <c>docs/grafana/hardened-gateway-dashboard.json</c> (T066) true: valid JSON that Grafana
/// imports, and queries that use exactly the metric names of the design's metrics table.
/// </summary>
[TestFixture]
public sealed partial class GrafanaDashboardTests
{
    /// <summary>The metric names of DESIGN.md's metrics table: the public contract.</summary>
    private static readonly string[] DesignMetricNames =
    [
        "hardened_gateway_requests_total",
        "hardened_gateway_errors_total",
        "hardened_gateway_request_duration_seconds",
        "hardened_gateway_upstream_duration_seconds",
        "hardened_gateway_active_requests",
        "hardened_gateway_circuit_breaker_state",
        "hardened_gateway_concurrency_limit",
        "hardened_gateway_concurrency_available",
        "hardened_gateway_queue_length",
        "hardened_gateway_cluster_in_flight",
        "hardened_gateway_cluster_degraded",
        "hardened_gateway_buffer_pool_rented_total",
        "hardened_gateway_buffer_pool_fallback_total",
        "hardened_gateway_tunnels_active",
        "hardened_gateway_adaptive_baseline_seconds",
    ];

    private static readonly string[] Histograms = ["hardened_gateway_request_duration_seconds", "hardened_gateway_upstream_duration_seconds"];

    /// <summary>PromQL functions, keywords and label names the dashboard may use besides metric names.</summary>
    private static readonly HashSet<string> PromQlWords = new(StringComparer.Ordinal)
    {
        "sum", "max", "min", "avg", "by", "without", "rate", "increase", "histogram_quantile", "clamp_min", "label_values",
        "proxy", "code", "reason", "le",
    };

    private JsonDocument _dashboard = null!;

    [OneTimeSetUp]
    public void LoadDashboard()
    {
        var path = Path.Combine(RepositoryRoot(), "docs", "grafana", "hardened-gateway-dashboard.json");
        _dashboard = JsonDocument.Parse(File.ReadAllText(path), new JsonDocumentOptions { AllowTrailingCommas = false, CommentHandling = JsonCommentHandling.Disallow });
    }

    [OneTimeTearDown]
    public void DisposeDashboard() => _dashboard.Dispose();

    [Test]
    public void DesignMetricNames_ComparedWithLibrary_AreExactlyTheNamesItPublishes()
    {
        var published = typeof(MetricNames)
            .GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(static field => field.IsLiteral)
            .Select(static field => (string)field.GetRawConstantValue()!)
            .Where(static value => value.StartsWith("hardened_gateway_", StringComparison.Ordinal));

        Assert.That(published, Is.EquivalentTo(DesignMetricNames));
    }

    [Test]
    public void Dashboard_Parsed_HasPrometheusDatasourceInputAndSchemaVersion()
    {
        var root = _dashboard.RootElement;
        var input = root.GetProperty("__inputs").EnumerateArray().Single();

        Assert.Multiple(() =>
        {
            Assert.That(input.GetProperty("name").GetString(), Is.EqualTo("DS_PROMETHEUS"));
            Assert.That(input.GetProperty("pluginId").GetString(), Is.EqualTo("prometheus"));
            Assert.That(root.GetProperty("schemaVersion").GetInt32(), Is.InRange(36, 41));
            Assert.That(root.GetProperty("uid").GetString(), Is.EqualTo("hardened-gateway"));
            Assert.That(
                Panels().Where(static p => p.GetProperty("type").GetString() != "row").Select(static p => p.GetProperty("datasource").GetProperty("uid").GetString()),
                Is.All.EqualTo("${DS_PROMETHEUS}"));
        });
    }

    [Test]
    public void Expressions_EveryIdentifier_IsADesignMetricOrPromQlWord()
    {
        var allowedMetrics = DesignMetricNames
            .Concat(Histograms.SelectMany(static h => new[] { h + "_bucket", h + "_sum", h + "_count" }))
            .ToHashSet(StringComparer.Ordinal);

        var unknown = Queries()
            .SelectMany(Identifiers)
            .Where(identifier => !allowedMetrics.Contains(identifier) && !PromQlWords.Contains(identifier))
            .Distinct()
            .ToArray();

        Assert.That(unknown, Is.Empty, "identifiers that are neither a metric of DESIGN.md nor a known PromQL word");
    }

    [Test]
    public void Expressions_EveryDesignMetric_IsCharted()
    {
        var used = Queries().SelectMany(Identifiers).ToHashSet(StringComparer.Ordinal);

        var missing = DesignMetricNames.Where(name => !used.Contains(name) && !used.Contains(name + "_bucket") && !used.Contains(name + "_sum")).ToArray();

        Assert.That(missing, Is.Empty);
    }

    [Test]
    public void LatencyPanel_Percentiles_UseHistogramQuantileOverRequestDurationBuckets()
    {
        var panel = Panels().Single(static p => p.GetProperty("title").GetString() == "Request latency p50 / p95 / p99");
        var expressions = panel.GetProperty("targets").EnumerateArray().Select(static t => t.GetProperty("expr").GetString()!).ToArray();

        Assert.That(expressions, Has.Length.EqualTo(3));
        Assert.That(
            expressions.Select(static e => QuantileCall().Match(e).Groups["phi"].Value),
            Is.EqualTo(new[] { "0.5", "0.95", "0.99" }));
        Assert.That(expressions, Has.All.Contains("hardened_gateway_request_duration_seconds_bucket").And.All.Contains("by (proxy, le)"));
    }

    [Test]
    public void BreakerPanel_StateTimeline_MapsZeroOneTwoToClosedOpenHalfOpen()
    {
        var panel = Panels().Single(static p => p.GetProperty("type").GetString() == "state-timeline");
        var mapping = panel.GetProperty("fieldConfig").GetProperty("defaults").GetProperty("mappings").EnumerateArray().Single().GetProperty("options");

        Assert.Multiple(() =>
        {
            Assert.That(panel.GetProperty("targets")[0].GetProperty("expr").GetString(), Does.Contain("hardened_gateway_circuit_breaker_state"));
            Assert.That(mapping.GetProperty("0").GetProperty("text").GetString(), Is.EqualTo("closed"));
            Assert.That(mapping.GetProperty("1").GetProperty("text").GetString(), Is.EqualTo("open"));
            Assert.That(mapping.GetProperty("2").GetProperty("text").GetString(), Is.EqualTo("half-open"));
        });
    }

    [Test]
    public void Panels_Ids_AreUnique()
    {
        var ids = Panels().Select(static p => p.GetProperty("id").GetInt32()).ToArray();

        Assert.That(ids, Is.Unique);
    }

    private IEnumerable<JsonElement> Panels() => _dashboard.RootElement.GetProperty("panels").EnumerateArray();

    /// <summary>Every PromQL text of the dashboard: panel target expressions and template variable queries.</summary>
    private IEnumerable<string> Queries()
    {
        foreach (var panel in Panels())
        {
            if (panel.TryGetProperty("targets", out var targets))
            {
                foreach (var target in targets.EnumerateArray())
                {
                    yield return target.GetProperty("expr").GetString()!;
                }
            }
        }

        foreach (var variable in _dashboard.RootElement.GetProperty("templating").GetProperty("list").EnumerateArray())
        {
            yield return variable.GetProperty("definition").GetString()!;
            yield return variable.GetProperty("query").GetProperty("query").GetString()!;
        }
    }

    /// <summary>The identifiers of a PromQL text, after removing string literals, range selectors and Grafana variables.</summary>
    private static IEnumerable<string> Identifiers(string query)
    {
        var stripped = NonIdentifierParts().Replace(query, " ");
        return Identifier().Matches(stripped).Select(static m => m.Value);
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

    [GeneratedRegex("""("[^"]*")|(\[[^\]]*\])|(\$\{[^}]*\})|(\$\w+)""", RegexOptions.CultureInvariant)]
    private static partial Regex NonIdentifierParts();

    [GeneratedRegex(@"(?<![\w.])[A-Za-z_:][A-Za-z0-9_:]*", RegexOptions.CultureInvariant)]
    private static partial Regex Identifier();

    [GeneratedRegex(@"^histogram_quantile\((?<phi>[0-9.]+),", RegexOptions.CultureInvariant)]
    private static partial Regex QuantileCall();
}
