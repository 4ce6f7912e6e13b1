using System.Net;
using BenchmarkDotNet.Attributes;
using HardenedGateway.Forwarding;
using Microsoft.AspNetCore.Http;
using Yarp.ReverseProxy.Forwarder;

namespace HardenedGateway.Benchmarks.Micro;

/// <summary>
/// Copying the headers of a typical browser request to the upstream request, and of a typical
/// upstream response back, against YARP's default transformer doing the same work.
/// </summary>
[MemoryDiagnoser]
public class HeaderCopyBenchmarks
{
    private DefaultHttpContext _context = null!;
    private HttpResponseMessage _upstreamResponse = null!;

    [GlobalSetup]
    public void Setup()
    {
        _context = new DefaultHttpContext();
        var request = _context.Request;
        request.Method = "GET";
        request.Scheme = "https";
        request.Host = new HostString("app.example.test");
        request.Path = "/api/ai/v1/models";
        _context.Connection.RemoteIpAddress = IPAddress.Parse("203.0.113.7");
        var headers = request.Headers;
        headers.Connection = "keep-alive";
        headers.UserAgent = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36";
        headers.Accept = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8";
        headers.AcceptLanguage = "en-GB,en;q=0.9";
        headers.AcceptEncoding = "gzip, deflate, br, zstd";
        headers.Cookie = "session=4f9c2a; theme=dark";
        headers.Referer = "https://app.example.test/";
        headers.CacheControl = "no-cache";
        headers["sec-ch-ua"] = "\"Chromium\";v=\"126\"";
        headers["sec-ch-ua-mobile"] = "?0";
        headers["sec-ch-ua-platform"] = "\"Linux\"";
        headers["Upgrade-Insecure-Requests"] = "1";
        headers["traceparent"] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

        _upstreamResponse = new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent([]) };
        _upstreamResponse.Headers.TryAddWithoutValidation("Date", "Thu, 26 Nov 2026 00:00:00 GMT");
        _upstreamResponse.Headers.TryAddWithoutValidation("Server", "uvicorn");
        _upstreamResponse.Headers.TryAddWithoutValidation("Cache-Control", "no-store");
        _upstreamResponse.Headers.TryAddWithoutValidation("Connection", "keep-alive");
        _upstreamResponse.Content.Headers.TryAddWithoutValidation("Content-Type", "application/json");
        _upstreamResponse.Content.Headers.TryAddWithoutValidation("Content-Length", "55");
    }

    [GlobalCleanup]
    public void Cleanup() => _upstreamResponse.Dispose();

    [Benchmark(Baseline = true)]
    public async Task<int> Yarp_RequestHeaders()
    {
        using var outgoing = new HttpRequestMessage();
        await HttpTransformer.Default.TransformRequestAsync(_context, outgoing, "http://127.0.0.1:8000/", CancellationToken.None);
        return outgoing.Headers.NonValidated.Count;
    }

    [Benchmark]
    public int Gateway_RequestHeaders()
    {
        using var outgoing = new HttpRequestMessage(HttpMethod.Get, "http://127.0.0.1:8000/v1/models");
        HeaderRules.CopyRequestHeaders(_context, outgoing, http2Upstream: false);
        return outgoing.Headers.NonValidated.Count;
    }

    [Benchmark]
    public async Task<int> Yarp_ResponseHeaders()
    {
        _context.Response.Headers.Clear();
        await HttpTransformer.Default.TransformResponseAsync(_context, _upstreamResponse, CancellationToken.None);
        return _context.Response.Headers.Count;
    }

    [Benchmark]
    public int Gateway_ResponseHeaders()
    {
        _context.Response.Headers.Clear();
        HeaderRules.CopyResponseHeaders(_upstreamResponse, _context.Response);
        return _context.Response.Headers.Count;
    }
}
