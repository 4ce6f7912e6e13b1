using System.Globalization;
using System.Text;
using HardenedGateway.Forwarding;
using HardenedGateway.IntegrationTests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace HardenedGateway.IntegrationTests.Security;

/// <summary>
/// RS-002, upstream side: for every answer of <see cref="HostileUpstreamCorpus"/> the client gets the
/// promised outcome, no exception reaches Kestrel, the log event and the metrics record what the client
/// got, the breaker learns a failure exactly when the gateway refused or cut the answer, and later
/// requests (on the same client connection, on a new one, on the upstream's pooled connection) never
/// see a byte of the hostile answer.
/// </summary>
[TestFixture]
[Parallelizable(ParallelScope.Children)]
public sealed class HostileUpstreamTests
{
    private const int RequestCompletedEventId = 1;

    private static IEnumerable<TestCaseData> Corpus() =>
        HostileUpstreamCorpus.Cases().Select(c => new TestCaseData(c).SetArgDisplayNames(c.Name).SetDescription(c.Source));

    [TestCaseSource(nameof(Corpus))]
    public async Task Forward_HostileAnswer_KeepsItsPromiseAndNeverDesynchronises(HostileAnswer answer)
    {
        await using var upstream = RawUpstream.Start(connection => ServeAsync(connection, answer));
        await using var gateway = await TestGateway.StartAsync(
            GatewaySettings.Proxy(upstream.BaseAddress)
                .WithBreaker(failureThreshold: 100, recoveryTimeout: TimeSpan.FromMinutes(1))
                .With("ResponseHeaderTimeout", "00:00:05")
                .With("StreamIdleTimeout", "00:00:05"),
            logging: logging => logging.AddFakeLogging().SetMinimumLevel(LogLevel.Trace));
        var logs = gateway.Services.GetFakeLogCollector();
        var proxy = gateway.GetRequiredService<HardenedProxyRegistry>().Upstreams[0];

        using var first = await RawClientConnection.OpenAsync(gateway.BaseAddress);
        await first.SendAsync($"{answer.Method} /api/ai/hostile HTTP/1.1\r\nHost: {gateway.BaseAddress.Authority}\r\n\r\n");
        var got = await first.ReadAnswerAsync(headRequest: answer.Method == "HEAD");

        // The gateway's own record of the request settles once its handler returns.
        var settled = await Eventually.HoldsAsync(() => RequestEvents(logs).Count == 1);
        Assert.That(settled, Is.True, $"one request event for the hostile answer {answer.Name}: got {Describe(got)}; {string.Join(" | ", logs.GetSnapshot().Where(r => r.Level >= LogLevel.Error).Select(r => r.Exception?.Message))}");
        var failures = proxy.CircuitBreaker!.ConsecutiveFailures;
        var counted = proxy.Metrics.GetRequestCount(got?.Status ?? answer.Status);
        var countedErrors = proxy.Metrics.GetErrorCount(answer.Expected == UpstreamOutcome.Cut ? GatewayErrorReason.UpstreamAborted : GatewayErrorReason.BadUpstreamResponse);
        var kestrelErrors = logs.GetSnapshot().Where(r => r.Level >= LogLevel.Error || r.Id.Name == "ApplicationError")
            .Select(r => $"{r.Category} {r.Id}: {r.Message} {r.Exception?.GetType().Name}: {r.Exception?.Message}").ToList();
        var warnings = string.Join(" | ", logs.GetSnapshot().Where(r => r.Level == LogLevel.Warning).Select(r => r.Message));
        TestContext.Out.WriteLine($"OBSERVED {warnings}  {answer.Name}: {Describe(got)} settled={settled} head=[{got?.Head.Replace("\r\n", "|", StringComparison.Ordinal)}] failures={failures} errors={kestrelErrors.Count} {string.Join(" | ", kestrelErrors)}");

        // Later requests: on the same client connection when it is still open, on a new one, and again:
        // each must get its own answer, never bytes left over from the hostile one.
        var followUps = new List<ClientAnswer?>();
        for (var i = 1; i <= 3; i++)
        {
            using var fresh = i == 1 && !first.Closed ? null : await RawClientConnection.OpenAsync(gateway.BaseAddress);
            var connection = fresh ?? first;
            await connection.SendAsync($"GET /api/ai/ok/{i} HTTP/1.1\r\nHost: {gateway.BaseAddress.Authority}\r\n\r\n");
            followUps.Add(await connection.ReadAnswerAsync());
        }

        Assert.That(await Eventually.HoldsAsync(() => RequestEvents(logs).Count == 4), Is.True, "one request event per request");
        var events = RequestEvents(logs);
        var loggedStatus = int.Parse(events[0].StructuredState!.Single(p => p.Key == "StatusCode").Value!, CultureInfo.InvariantCulture);
        var context = $"{answer.Name} ({answer.Source}): got {Describe(got)}";

        Assert.Multiple(() =>
        {
            switch (answer.Expected)
            {
                case UpstreamOutcome.Forwarded:
                    Assert.That(got, Is.Not.Null, context);
                    Assert.That(got!.Status, Is.EqualTo(answer.Status), context);
                    Assert.That(got.Cut, Is.False, context);
                    Assert.That(got.Body, Is.EqualTo(answer.Body), context);
                    Assert.That(failures, Is.Zero, "a forwarded answer is an upstream success: " + context);
                    break;
                case UpstreamOutcome.BadGateway:
                    Assert.That(got, Is.Not.Null, context);
                    Assert.That(got!.Status, Is.EqualTo(502), context);
                    Assert.That(got.Cut, Is.False, context);
                    Assert.That(got.Header("Content-Type"), Is.EqualTo("application/problem+json"), context);
                    Assert.That(got.Body, Does.Contain("\"reason\":\"bad_upstream_response\""), context);
                    Assert.That(failures, Is.EqualTo(1), "the breaker counts a failure: " + context);
                    Assert.That(countedErrors, Is.EqualTo(1), context);
                    break;
                case UpstreamOutcome.Cut:
                    // The head may or may not have left Kestrel before the abort; a complete answer never does.
                    Assert.That(got is null || (got.Cut && got.Status == answer.Status), Is.True, "a truncated body is never passed off as complete: " + context);
                    Assert.That(failures, Is.EqualTo(1), "the breaker counts a failure: " + context);
                    Assert.That(countedErrors, Is.EqualTo(1), context);
                    break;
            }

            foreach (var absent in answer.AbsentHeaders ?? [])
            {
                Assert.That(got?.Header(absent), Is.Null, $"{absent} must not reach the client: {context}");
            }

            if (answer.ExpectedHeader is { } expectedHeader)
            {
                var colon = expectedHeader.IndexOf(':', StringComparison.Ordinal);
                Assert.That(got?.Header(expectedHeader[..colon]), Is.EqualTo(expectedHeader[(colon + 1)..].Trim()), context);
            }

            // What the gateway logs and counts is what the client got (for a cut: the status of the head it was sent).
            Assert.That(loggedStatus, Is.EqualTo(got?.Status ?? answer.Status), "logged status: " + context);
            Assert.That(counted, Is.EqualTo(1), "counted status: " + context);

            for (var i = 0; i < followUps.Count; i++)
            {
                Assert.That(followUps[i]?.Status, Is.EqualTo(200), $"follow-up {i + 1} after {context}");
                Assert.That(followUps[i]?.Body, Is.EqualTo($"ok-{i + 1}"), $"follow-up {i + 1} after {context}");
            }

            Assert.That(kestrelErrors, Is.Empty, "no exception reached Kestrel: " + context);
        });
    }

    /// <summary>Serves one upstream connection: the hostile answer for /hostile, a clean keep-alive answer for /ok/N.</summary>
    private static async Task ServeAsync(RawConnection connection, HostileAnswer answer)
    {
        while (await connection.ReadRequestHeadAsync() is { } head)
        {
            var target = head.Split(' ', 3)[1];
            if (target.EndsWith("/hostile", StringComparison.Ordinal))
            {
                await connection.Stream.WriteAsync(Encoding.Latin1.GetBytes(answer.Response), connection.Stopping);
                await connection.Stream.FlushAsync(connection.Stopping);
                if (answer.CloseAfter)
                {
                    connection.Socket.Shutdown(System.Net.Sockets.SocketShutdown.Both);
                    return;
                }
            }
            else
            {
                var body = "ok-" + target[(target.LastIndexOf('/') + 1)..];
                await connection.WriteAsync($"HTTP/1.1 200 OK\r\nContent-Length: {body.Length}\r\n\r\n{body}");
            }
        }
    }

    private static List<FakeLogRecord> RequestEvents(FakeLogCollector logs) =>
        logs.GetSnapshot().Where(r => r.Id.Id == RequestCompletedEventId && r.Category == typeof(HardenedGateway.Hosting.ProxyPipeline).FullName).ToList();

    private static string Describe(ClientAnswer? answer) =>
        answer is null ? "connection closed without an answer" : $"{answer.Status}{(answer.Cut ? " (cut)" : string.Empty)} body [{(answer.Body.Length > 80 ? answer.Body[..80] + "..." : answer.Body)}]";
}
