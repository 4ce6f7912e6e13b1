using System.Globalization;
using System.Text;
using BenchmarkDotNet.Attributes;

namespace HardenedGateway.Benchmarks.Micro;

/// <summary>Recording a request, and rendering 100 proxies x 10 status codes as Prometheus text.</summary>
/// <remarks>
/// Targets (issue 7): recording allocates nothing; rendering takes under 1 ms (SC-006 allows 50 ms).
/// No <c>MeterListener</c> is attached, as on a gateway that is scraped only through the text endpoint.
/// </remarks>
public class MetricsCollectorBenchmarks
{
    private const int RenderedProxies = 100;

    private static readonly (int StatusCode, GatewayErrorReason Reason)[] Outcomes =
    [
        (200, GatewayErrorReason.None),
        (201, GatewayErrorReason.None),
        (204, GatewayErrorReason.None),
        (400, GatewayErrorReason.InvalidPath),
        (404, GatewayErrorReason.None),
        (429, GatewayErrorReason.ConcurrencyLimit),
        (499, GatewayErrorReason.ClientAborted),
        (500, GatewayErrorReason.None),
        (502, GatewayErrorReason.UpstreamUnreachable),
        (503, GatewayErrorReason.CircuitOpen),
    ];

    private static readonly TimeSpan Duration = TimeSpan.FromMilliseconds(12.5);
    private static readonly TimeSpan UpstreamDuration = TimeSpan.FromMilliseconds(10);

    private readonly StringBuilder _text = new(capacity: 512 * 1024);
    private MetricsCollector _recording = null!;
    private ProxyMetrics _proxy = null!;
    private MetricsCollector _rendering = null!;
    private StringWriter _writer = null!;

    [GlobalSetup]
    public void Setup()
    {
        _recording = new MetricsCollector();
        _proxy = _recording.ForProxy("bench", new ConcurrencyLimiter(10_000), new CircuitBreaker(new CircuitBreakerOptions()));

        _rendering = new MetricsCollector(bytesPool: new BytesPool());
        for (var i = 0; i < RenderedProxies; i++)
        {
            var name = string.Create(CultureInfo.InvariantCulture, $"proxy-{i:D3}");
            var proxy = _rendering.ForProxy(name, new ConcurrencyLimiter(100), new CircuitBreaker(new CircuitBreakerOptions()));
            foreach (var (statusCode, reason) in Outcomes)
            {
                proxy.RecordRequest(statusCode, reason, Duration, reason == GatewayErrorReason.None ? UpstreamDuration : null);
            }
        }

        _writer = new StringWriter(_text, CultureInfo.InvariantCulture);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _recording.Dispose();
        _rendering.Dispose();
        _writer.Dispose();
    }

    [Benchmark(Baseline = true)]
    public void RecordRequest_Ok() => _proxy.RecordRequest(200, GatewayErrorReason.None, Duration, UpstreamDuration);

    [Benchmark]
    public void RecordRequest_Rejected() => _proxy.RecordRequest(503, GatewayErrorReason.CircuitOpen, Duration, null);

    /// <summary>Everything the pipeline records for one proxied request: the active gauge up and down, then the outcome.</summary>
    [Benchmark]
    public void StartedStoppedRecorded()
    {
        _proxy.RequestStarted();
        _proxy.RequestStopped();
        _proxy.RecordRequest(200, GatewayErrorReason.None, Duration, UpstreamDuration);
    }

    /// <summary>The scrape: 100 proxies with 10 codes each (the writer's buffer is reused, so only the renderer's allocations count).</summary>
    [Benchmark]
    public int WritePrometheusText_100Proxies10Codes()
    {
        _text.Clear();
        _rendering.WritePrometheusText(_writer);
        return _text.Length;
    }
}
