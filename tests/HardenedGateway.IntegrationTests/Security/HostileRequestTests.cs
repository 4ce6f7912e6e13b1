using System.Globalization;
using HardenedGateway.IntegrationTests.Infrastructure;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace HardenedGateway.IntegrationTests.Security;

/// <summary>
/// RS-002, client side: every request of <see cref="HostileRequestCorpus"/> is written on a raw socket
/// to a real gateway (small Kestrel limits and timeouts), followed on the same connection by a
/// sentinel request, so anything Kestrel parsed out of the hostile bytes is answered before it. Then:
/// the upstream never got more requests than the client sent, never one with both framings, never
/// a host other than its own, never a path above its base, never the hidden request; the client got
/// the promised status; and the gateway keeps serving.
/// </summary>
[TestFixture]
[Parallelizable(ParallelScope.Children)]
public sealed class HostileRequestTests
{
    private const string DrainFailedEventName = "RequestBodyDrainBodyReaderInvalidState";

    private const string Sentinel = "GET /api/ai/sentinel HTTP/1.1\r\nHost: gw.test\r\n\r\n";

    private static IEnumerable<TestCaseData> Corpus() =>
        HostileRequestCorpus.Cases().Select(c => new TestCaseData(c).SetArgDisplayNames(c.Name).SetDescription(c.Source));

    [TestCaseSource(nameof(Corpus))]
    public async Task Send_HostileRequest_NeverSmugglesNeverEscapesAndAnswersClearly(HostileRequest hostile)
    {
        await using var upstream = new RecordingUpstream();
        await using var gateway = await StartGatewayAsync(upstream);
        var logs = gateway.Services.GetFakeLogCollector();

        var answers = new List<ClientAnswer>();
        bool closed;
        using (var client = await RawClientConnection.OpenAsync(gateway.BaseAddress))
        {
            await client.SendAsync(hostile.Stalls ? hostile.Request : hostile.Request + Sentinel);
            while (answers.Count < 4 && await client.ReadAnswerAsync(headRequest: false, timeout: TimeSpan.FromSeconds(8)) is { } answer)
            {
                answers.Add(answer);
                if (answer.Body == "upstream:/base/sentinel" || answer.Status >= 400)
                {
                    break;
                }
            }

            closed = hostile.Stalls ? await client.WaitForCloseAsync(TimeSpan.FromSeconds(8)) : client.Closed;
        }

        // The gateway keeps serving.
        using var after = await RawClientConnection.OpenAsync(gateway.BaseAddress);
        await after.SendAsync("GET /api/ai/after HTTP/1.1\r\nHost: gw.test\r\n\r\n");
        var afterAnswer = await after.ReadAnswerAsync();

        var requests = upstream.Requests.Where(r => !r.Target.EndsWith("/sentinel", StringComparison.Ordinal) && !r.Target.EndsWith("/after", StringComparison.Ordinal)).ToList();
        var complete = requests.Where(r => r.Complete).ToList();
        var first = answers.Count > 0 ? answers[0] : null;
        var context = $"{hostile.Name} ({hostile.Source}): answers [{string.Join(", ", answers.Select(a => $"{a.Status} {Shorten(a.Body)}"))}] closed={closed} upstream [{string.Join(", ", upstream.Requests.Select(r => $"{r.Method} {Shorten(r.Target)}{(r.Complete ? string.Empty : " (incomplete)")}"))}]";
        TestContext.Out.WriteLine("OBSERVED " + context);


        Assert.Multiple(() =>
        {
            foreach (var request in upstream.Requests)
            {
                Assert.That(request.Target, Does.Not.Contain("smuggled"), "a request hidden in the client's bytes reached the upstream: " + context);
                Assert.That(request.CountHeader("Content-Length") + request.CountHeader("Transfer-Encoding"), Is.LessThanOrEqualTo(1), "one framing only: " + context);
                Assert.That(request.CountHeader("Host"), Is.EqualTo(1), context);
                Assert.That(request.Header("Host"), Is.EqualTo(upstream.BaseAddress.Authority), "never a host other than the configured upstream: " + context);
                Assert.That(StaysUnderBase(request.Target), Is.True, $"never a path above the base ({request.Target}): " + context);
            }

            switch (hostile.Expected)
            {
                case RequestOutcome.Forwarded:
                    Assert.That(first?.Status, Is.EqualTo(200), context);
                    Assert.That(first?.Body, Does.StartWith("upstream:/base/"), context);
                    Assert.That(complete, Has.Count.EqualTo(1), "forwarded exactly once: " + context);
                    if (hostile.UpstreamBody is not null && complete.Count == 1)
                    {
                        Assert.That(complete[0].Body, Is.EqualTo(hostile.UpstreamBody), context);
                    }

                    if (hostile.ClosesAfter)
                    {
                        Assert.That(closed, Is.True, "the connection is closed after a request with both framings: " + context);
                        Assert.That(answers, Has.Count.EqualTo(1), "nothing after it is parsed: " + context);
                    }

                    break;
                case RequestOutcome.Refused:
                    if (hostile.Statuses.Length == 0)
                    {
                        Assert.That(first is null || first.Status is >= 400 and < 500, Is.True, "a stalled client is answered with a 4xx or closed: " + context);
                        Assert.That(closed, Is.True, "the server ends a stalled exchange by itself: " + context);
                    }
                    else
                    {
                        Assert.That(first?.Status, Is.AnyOf(hostile.Statuses.Cast<object>().ToArray()), context);
                    }

                    Assert.That(gateway.GetRequiredService<HardenedProxyRegistry>().Upstreams[0].CircuitBreaker?.ConsecutiveFailures ?? 0, Is.Zero, "a client's request is never an upstream failure: " + context);
                    Assert.That(complete, Is.Empty, "a refused request never reaches the upstream whole: " + context);
                    break;
                case RequestOutcome.NotProxied:
                    Assert.That(first?.Status, Is.AnyOf(hostile.Statuses.Cast<object>().ToArray()), context);
                    Assert.That(requests, Is.Empty, "the upstream is never contacted: " + context);
                    break;
            }

            Assert.That(afterAnswer?.Status, Is.EqualTo(200), "the gateway keeps serving: " + context);
            // Kestrel logs one error of its own when it cannot drain a body whose read the gateway cancelled
            // (a stalled upload ended by StreamIdleTimeout); the connection is closed then. Nothing else.
            Assert.That(
                logs.GetSnapshot().Where(r => (r.Id.Name == "ApplicationError" || r.Level >= LogLevel.Error) && !(hostile.Stalls && r.Id.Name == DrainFailedEventName)).Select(r => $"{r.Id}: {r.Message}"),
                Is.Empty,
                "no exception reached Kestrel: " + context);
        });
    }

    /// <summary>Small Kestrel limits and timeouts so that every limit and stall case ends in a second or two.</summary>
    internal static Task<TestGateway> StartGatewayAsync(RecordingUpstream upstream) =>
        TestGateway.StartAsync(
            GatewaySettings.Proxy(new Uri(upstream.BaseAddress, "/base/"))
                .With("ResponseHeaderTimeout", "00:00:05")
                .With("StreamIdleTimeout", "00:00:01")
                .WithBreaker(failureThreshold: 100, recoveryTimeout: TimeSpan.FromMinutes(1)),
            services => services.Configure<KestrelServerOptions>(kestrel =>
            {
                kestrel.Limits.MaxRequestHeaderCount = 100;
                kestrel.Limits.MaxRequestHeadersTotalSize = 32 * 1024;
                kestrel.Limits.MaxRequestLineSize = 8 * 1024;
                kestrel.Limits.MaxRequestBodySize = 64 * 1024;
                kestrel.Limits.RequestHeadersTimeout = TimeSpan.FromSeconds(1);
                kestrel.Limits.KeepAliveTimeout = TimeSpan.FromSeconds(10);
            }),
            logging: logging => logging.AddFakeLogging().SetMinimumLevel(LogLevel.Trace));

    /// <summary>An independent check (not the gateway's): one percent-decoding, '\' as '/', no ".." segment (also "..;param"), under /base/.</summary>
    internal static bool StaysUnderBase(string target)
    {
        var path = target.Split('?')[0];
        if (!path.StartsWith("/base/", StringComparison.Ordinal) && path != "/base")
        {
            return false;
        }

        var decoded = Uri.UnescapeDataString(path).Replace('\\', '/');
        foreach (var segment in decoded.Split('/'))
        {
            if (segment.Split(';')[0] == "..")
            {
                return false;
            }
        }

        return true;
    }

    private static string Shorten(string text) =>
        (text.Length > 60 ? text[..60] + "..." : text).Replace("\r", "\\r", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);
}
