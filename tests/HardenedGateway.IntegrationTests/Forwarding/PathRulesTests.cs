using System.Net;
using HardenedGateway.IntegrationTests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace HardenedGateway.IntegrationTests.Forwarding;

/// <summary>DESIGN.md "Forwarding rules" for paths: whole-segment prefixes, the raw remainder, the join, and no climbing above the base.</summary>
[TestFixture]
[Parallelizable(ParallelScope.Self)]
public sealed class PathRulesTests
{
    private TestUpstream _upstream = null!;
    private TestGateway _gateway = null!;
    private int _hits;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        // Answers with the request target exactly as it arrived on the wire.
        _upstream = await TestUpstream.StartAsync(app => app.Run(context =>
        {
            Interlocked.Increment(ref _hits);
            return context.Response.WriteAsync(context.Features.Get<IHttpRequestFeature>()!.RawTarget);
        }));
        _gateway = await TestGateway.StartAsync(GatewaySettings.Proxy(new Uri(_upstream.BaseAddress, "/base/")));
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        await _gateway.DisposeAsync();
        await _upstream.DisposeAsync();
    }

    [TestCase("/api/ai", "/base/")]
    [TestCase("/api/ai/", "/base/")]
    [TestCase("/api/ai/v1/generate", "/base/v1/generate")]
    [TestCase("/API/AI/v1", "/base/v1")]
    [TestCase("/api/ai?x=1", "/base/?x=1")]
    public async Task Get_UnderPrefix_MatchesAndJoinsBasePath(string target, string expected)
    {
        var response = await RawHttp.GetAsync(_gateway.BaseAddress, target);

        Assert.Multiple(() =>
        {
            Assert.That(response.Status, Is.EqualTo(200), response.Body);
            Assert.That(response.Body, Is.EqualTo(expected));
        });
    }

    [TestCase("/api/aiecho")]
    [TestCase("/api/ai-other/x")]
    [TestCase("/api/a")]
    public async Task Get_PrefixIsNotAWholeSegment_IsNotProxied(string target)
    {
        var before = Volatile.Read(ref _hits);

        var response = await RawHttp.GetAsync(_gateway.BaseAddress, target);

        Assert.Multiple(() =>
        {
            Assert.That(response.Status, Is.EqualTo(404));
            Assert.That(Volatile.Read(ref _hits), Is.EqualTo(before));
        });
    }

    [TestCase("/api/ai/a%2Fb/c%20d/e+f/%41%7E/%zz", "/base/a%2Fb/c%20d/e+f/%41%7E/%zz")]
    [TestCase("/api/ai/x?q=%41+b&r=%2F&s=a%20b&&t", "/base/x?q=%41+b&r=%2F&s=a%20b&&t")]
    [TestCase("/api/ai/caf%C3%A9/./x", "/base/caf%C3%A9/./x")]
    public async Task Get_RawRemainderAndQuery_AreForwardedAsReceived(string target, string expected)
    {
        var response = await RawHttp.GetAsync(_gateway.BaseAddress, target);

        Assert.Multiple(() =>
        {
            Assert.That(response.Status, Is.EqualTo(200), response.Body);
            Assert.That(response.Body, Is.EqualTo(expected));
        });
    }

    [TestCase("/api/ai/../secret")]
    [TestCase("/api/ai/..")]
    [TestCase("/api/ai/x/../../secret")]
    [TestCase("/api/ai/%2e%2e/secret")]
    [TestCase("/api/ai/%2E%2E")]
    [TestCase("/api/ai/.%2E/secret")]
    [TestCase("/api/ai/%2e./secret")]
    [TestCase("/api/ai/..%2fsecret")]
    [TestCase("/api/ai/x%2F..%2Fsecret")]
    [TestCase("/api/ai/..%5csecret")]
    [TestCase("/api/ai/..\\secret")]
    [TestCase("/api/ai\\..\\secret")]
    [TestCase("/api/ai/%2e%2e%5c%2e%2e%5csecret")]
    public async Task Get_RemainderClimbsAboveBase_Gets400AndNeverReachesUpstream(string target)
    {
        var before = Volatile.Read(ref _hits);

        var response = await RawHttp.GetAsync(_gateway.BaseAddress, target);

        Assert.Multiple(() =>
        {
            Assert.That(response.Status, Is.EqualTo(400), response.Body);
            Assert.That(response.Body, Does.Contain("\"reason\":\"invalid_path\""));
            Assert.That(Volatile.Read(ref _hits), Is.EqualTo(before));
        });
    }

    [TestCase("/api/ai/..foo", "/base/..foo")]
    [TestCase("/api/ai/.../x", "/base/.../x")]
    [TestCase("/api/ai/a..b", "/base/a..b")]
    public async Task Get_DotsThatAreNotADotDotSegment_AreForwarded(string target, string expected)
    {
        var response = await RawHttp.GetAsync(_gateway.BaseAddress, target);

        Assert.Multiple(() =>
        {
            Assert.That(response.Status, Is.EqualTo(200), response.Body);
            Assert.That(response.Body, Is.EqualTo(expected));
        });
    }

    [TestCase("http://127.0.0.1:{0}/base", "/api/ai/x", "/base/x")]
    [TestCase("http://127.0.0.1:{0}/base/", "/api/ai//x", "/base/x")]
    [TestCase("http://127.0.0.1:{0}/", "/api/ai/x", "/x")]
    [TestCase("http://127.0.0.1:{0}", "/api/ai", "/")]
    [TestCase("http://127.0.0.1:{0}/base", "/api/ai", "/base")]
    public async Task Get_BasePathSpellings_JoinWithExactlyOneSlash(string upstreamFormat, string target, string expected)
    {
        var upstream = new Uri(string.Format(System.Globalization.CultureInfo.InvariantCulture, upstreamFormat, _upstream.BaseAddress.Port));
        await using var gateway = await TestGateway.StartAsync(GatewaySettings.Proxy(upstream));

        var response = await RawHttp.GetAsync(gateway.BaseAddress, target);

        Assert.That(response.Body, Is.EqualTo(expected));
    }
}
