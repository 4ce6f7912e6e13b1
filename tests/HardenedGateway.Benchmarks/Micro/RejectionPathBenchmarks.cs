using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using HardenedGateway.Forwarding;
using HardenedGateway.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace HardenedGateway.Benchmarks.Micro;

/// <summary>
/// The rejection path in isolation (issue 16): what the gateway does for a request it sheds, piece by
/// piece, so that the load harness's CPU per 429 can be traced to its parts.
/// </summary>
/// <remarks>
/// The host's part is simulated as ASP.NET Core's hosting does it when logging is on: an
/// <c>Activity</c> per request (<see cref="HostActivityOnly"/> is that alone). The response goes to a
/// <see cref="DefaultHttpContext"/> whose body is <see cref="Stream.Null"/>, reused and reset after each
/// operation, and is flushed as Kestrel flushes at the end of a request, so Kestrel's own header and
/// socket work is not here: the overload scenario of <c>build/loadtest.sh</c> measures that. The
/// limiter of proxy <c>shed</c> is full (cap 8, 8 slots held) and the breaker of proxy <c>open</c> is
/// open; logging is at Warning, as in the load hosts, so the request event costs its level check.
/// </remarks>
public class RejectionPathBenchmarks
{
    private ServiceProvider _services = null!;
    private ProxyRequestHandler _handler = null!;
    private HardenedUpstream _shed = null!;
    private HardenedUpstream _open = null!;
    private ILogger _logger = null!;
    private DefaultHttpContext _context = null!;
    private HttpRequestFeature _requestFeature = null!;

    [GlobalSetup]
    public void Setup()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["HardenedGateway:Proxies:shed:PathPrefix"] = "/shed",
            ["HardenedGateway:Proxies:shed:Upstream"] = "http://127.0.0.1:9/",
            ["HardenedGateway:Proxies:shed:MaxConcurrent"] = "8",
            ["HardenedGateway:Proxies:shed:CircuitBreaker:Enabled"] = "true",
            ["HardenedGateway:Proxies:open:PathPrefix"] = "/open",
            ["HardenedGateway:Proxies:open:Upstream"] = "http://127.0.0.1:9/",
            ["HardenedGateway:Proxies:open:MaxConcurrent"] = "8",
            ["HardenedGateway:Proxies:open:CircuitBreaker:Enabled"] = "true",
            ["HardenedGateway:Proxies:open:CircuitBreaker:FailureThreshold"] = "1",
            ["HardenedGateway:Proxies:open:CircuitBreaker:RecoveryTimeout"] = "1.00:00:00",
        }).Build();
        _services = new ServiceCollection()
            .AddLogging(logging => logging.AddConsole().SetMinimumLevel(LogLevel.Warning))
            .AddHardenedProxy(configuration.GetSection("HardenedGateway"))
            .BuildServiceProvider();
        _handler = _services.GetRequiredService<ProxyRequestHandler>();
        _logger = _services.GetRequiredService<ILogger<ProxyPipeline>>();
        var registry = _services.GetRequiredService<HardenedProxyRegistry>();
        if (!registry.TryGetUpstream("shed", out _shed!) || !registry.TryGetUpstream("open", out _open!))
        {
            throw new InvalidOperationException("the proxies are not registered");
        }

        for (var i = 0; i < 8; i++)
        {
            _shed.Limiter!.TryAcquire();
        }

        _open.CircuitBreaker!.TryAdmit(out var permit);
        _open.CircuitBreaker.OnFailure(permit);
        if (_shed.Limiter!.TryAcquire() || _open.CircuitBreaker.State != CircuitState.Open)
        {
            throw new InvalidOperationException("the limiter is not full or the breaker not open");
        }

        _requestFeature = new HttpRequestFeature { Method = "GET", Path = "/shed/slow", QueryString = "?ms=50", RawTarget = "/shed/slow?ms=50" };
        var features = new FeatureCollection();
        features.Set<IHttpRequestFeature>(_requestFeature);
        features.Set<IHttpResponseFeature>(new HttpResponseFeature());
        features.Set<IHttpResponseBodyFeature>(new StreamResponseBodyFeature(Stream.Null));
        _context = new DefaultHttpContext(features);
    }

    [GlobalCleanup]
    public void Cleanup() => _services.Dispose();

    /// <summary>What the host does anyway when logging is on: start and stop the request's activity.</summary>
    [Benchmark(Baseline = true)]
    public void HostActivityOnly()
    {
        using var activity = new Activity("Microsoft.AspNetCore.Hosting.HttpRequestIn").Start();
        EndRequest();
    }

    /// <summary>The whole 429: prefix match, target, breaker, limiter, problem response, metrics, log check.</summary>
    [Benchmark]
    public Task Shed429_WholePath() => RunAsync("/shed/slow", "/shed/slow?ms=50");

    /// <summary>The whole 503 of an open breaker.</summary>
    [Benchmark]
    public Task Open503_WholePath() => RunAsync("/open/slow", "/open/slow?ms=50");

    /// <summary>The problem response alone (status, headers, body), as the pipeline writes it for a 429.</summary>
    [Benchmark]
    public Task ProblemResponse429_Only()
    {
        using var activity = new Activity("Microsoft.AspNetCore.Hosting.HttpRequestIn").Start();
        var written = ProblemResponses.WriteAsync(_context, GatewayErrorReason.ConcurrencyLimit, _shed.Name, _shed.RetryAfterHeaderValue);
        return EndRequestAsync(written);
    }

    /// <summary>The status and headers alone, without a body.</summary>
    [Benchmark]
    public void StatusAndHeaders_Only()
    {
        var response = _context.Response;
        response.StatusCode = StatusCodes.Status429TooManyRequests;
        response.ContentType = ProblemResponses.ContentType;
        response.Headers.CacheControl = "no-store";
        response.Headers.RetryAfter = _shed.RetryAfterHeaderValue;
        EndRequest();
    }

    /// <summary>The trace id as the body had it: <c>Activity.Id</c>, a string built on first read.</summary>
    [Benchmark]
    public int TraceId_ActivityIdString()
    {
        using var activity = new Activity("Microsoft.AspNetCore.Hosting.HttpRequestIn").Start();
        return activity.Id!.Length;
    }

    /// <summary>The metrics of a rejection.</summary>
    [Benchmark]
    public void Metrics_RecordRejected() =>
        _shed.Metrics.RecordRequest(StatusCodes.Status429TooManyRequests, GatewayErrorReason.ConcurrencyLimit, TimeSpan.FromTicks(10), null);

    /// <summary>The request event's level check, false at Warning.</summary>
    [Benchmark]
    public bool LogLevelCheck() => _logger.IsEnabled(LogLevel.Information);

    /// <summary>What ASP.NET Core's rate-limiting middleware writes for a rejection by default: the status alone.</summary>
    [Benchmark]
    public void EmptyStatus429_Reference()
    {
        using var activity = new Activity("Microsoft.AspNetCore.Hosting.HttpRequestIn").Start();
        _context.Response.StatusCode = StatusCodes.Status429TooManyRequests;
        EndRequest();
    }

    private Task RunAsync(string path, string rawTarget)
    {
        using var activity = new Activity("Microsoft.AspNetCore.Hosting.HttpRequestIn").Start();
        _requestFeature.Path = path;
        _requestFeature.RawTarget = rawTarget;
        var handled = _handler.TryHandle(_context) ?? throw new InvalidOperationException("not matched");
        return EndRequestAsync(handled);
    }

    private Task EndRequestAsync(Task handled)
    {
        if (!handled.IsCompletedSuccessfully)
        {
            throw new InvalidOperationException("the rejection did not complete synchronously");
        }

        EndRequest();
        return Task.CompletedTask;
    }

    /// <summary>Kestrel's end of request: the body flushed, the response reset for the next request on the connection.</summary>
    private void EndRequest()
    {
        var flushed = _context.Response.BodyWriter.FlushAsync();
        if (!flushed.IsCompletedSuccessfully)
        {
            throw new InvalidOperationException("the flush did not complete synchronously");
        }

        var response = _context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentLength = null;
        response.Headers.Clear();
    }
}
