using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Text.RegularExpressions;
using HardenedGateway.IntegrationTests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace HardenedGateway.IntegrationTests.Security;

/// <summary>
/// RS-002 and DESIGN.md "Metrics"/"Logs" under attack: random paths and queries, random upstream status
/// codes, huge header values and credentials in every request, malformed requests that carry
/// credentials. No log record of any category at any level (Trace included) carries a credential;
/// the gateway's own records carry no path, query or header value; metric labels are bounded and
/// carry nothing the client chose.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed partial class SecretsAndLabelsTests
{
    private const string AuthorizationSecret = "SECRET-AUTHORIZATION-7f3a";
    private const string CookieSecret = "SECRET-COOKIE-91bc";
    private const string ProxyAuthorizationSecret = "SECRET-PROXY-AUTHORIZATION-55de";
    private const string QuerySecret = "SECRET-QUERY-0a1b";
    private const string HeaderValueMarker = "HEADER-VALUE-MARKER-c0ffee";
    private const string PathMarker = "path-marker-d00d";

    private static readonly string[] Credentials = [AuthorizationSecret, CookieSecret, ProxyAuthorizationSecret];

    /// <summary>Twenty upstream status codes drawn once; both attack waves use the same set.</summary>
    private static readonly int[] StatusCodes = [.. Enumerable.Range(0, 20).Select(i => 200 + ((i * 37) % 800))];

    [Test]
    public async Task Attack_RandomPathsStatusesAndHugeHeaders_LogsNoSecretAndLabelsStayBounded()
    {
        await using var upstream = await TestUpstream.StartAsync(app => app.Map("/{**rest}", (HttpContext context) =>
        {
            context.Response.StatusCode = int.Parse(context.Request.Path.Value!.Split('/')[2], System.Globalization.CultureInfo.InvariantCulture);
            context.Response.Headers.SetCookie = "upstream-session=" + CookieSecret;
            return Task.CompletedTask;
        }));
        var tags = new ConcurrentDictionary<string, byte>();
        using var listener = ListenToGatewayMeter(tags);
        await using var gateway = await TestGateway.StartAsync(
            GatewaySettings.Proxy(upstream.BaseAddress)
                .AddProxy("down", "/api/down", new Uri($"http://127.0.0.1:{Failures.UpstreamFailureTests.FreePort()}/")),
            logging: logging => logging.AddFakeLogging().SetMinimumLevel(LogLevel.Trace));
        var logs = gateway.Services.GetFakeLogCollector();
        var collector = gateway.GetRequiredService<MetricsCollector>();

        await AttackAsync(gateway, requests: 200);
        var firstScrape = collector.RenderPrometheusText();
        await AttackAsync(gateway, requests: 200);
        var secondScrape = collector.RenderPrometheusText();

        var records = logs.GetSnapshot();
        Assert.Multiple(() =>
        {
            Assert.That(records, Is.Not.Empty);
            foreach (var record in records)
            {
                var text = Flatten(record);
                foreach (var secret in Credentials)
                {
                    Assert.That(text, Does.Not.Contain(secret), $"{record.Category} {record.Level} {record.Id}");
                }

                if (record.Category?.StartsWith("HardenedGateway", StringComparison.Ordinal) == true)
                {
                    Assert.That(text, Does.Not.Contain(QuerySecret).And.Not.Contain(HeaderValueMarker).And.Not.Contain(PathMarker), $"the gateway's own event {record.Id}");
                }
            }

            Assert.That(SeriesKeys(secondScrape), Is.EqualTo(SeriesKeys(firstScrape)), "a second wave of new paths, queries and headers adds no series");
            foreach (var label in LabelPattern().Matches(secondScrape).Cast<Match>())
            {
                var (name, value) = (label.Groups[1].Value, label.Groups[2].Value);
                Assert.That(IsAllowedLabel(name, value), Is.True, $"label {name}=\"{value}\"");
            }

            foreach (var tag in tags.Keys)
            {
                var separator = tag.IndexOf('=', StringComparison.Ordinal);
                Assert.That(IsAllowedLabel(tag[..separator], tag[(separator + 1)..]), Is.True, $"meter tag {tag}");
            }
        });
    }

    private static async Task AttackAsync(TestGateway gateway, int requests)
    {
        var next = 0;
        var workers = Enumerable.Range(0, 4).Select(async _ =>
        {
            using var client = gateway.CreateClient();
            while (Interlocked.Increment(ref next) <= requests)
            {
                var status = StatusCodes[Random.Shared.Next(StatusCodes.Length)];
                var prefix = Random.Shared.Next(10) == 0 ? "/api/down" : "/api/ai";
                using var request = new HttpRequestMessage(HttpMethod.Get, new Uri($"{prefix}/s/{status}/{PathMarker}/{Guid.NewGuid():N}?token={QuerySecret}&r={Guid.NewGuid():N}", UriKind.Relative));
                request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + AuthorizationSecret);
                request.Headers.TryAddWithoutValidation("Cookie", "session=" + CookieSecret);
                request.Headers.TryAddWithoutValidation("Proxy-Authorization", "Basic " + ProxyAuthorizationSecret);
                request.Headers.TryAddWithoutValidation("X-Huge", HeaderValueMarker + new string('h', 16 * 1024));
                using var response = await client.SendAsync(request);
            }
        });
        await Task.WhenAll(workers).WaitAsync(TimeSpan.FromMinutes(1));

        // Malformed requests that carry credentials: Kestrel refuses them and logs why (at Debug).
        foreach (var malformed in new[]
        {
            $"GET /api/ai/s/200/x HTTP/1.1\r\nHost: gw.test\r\nAuthorization: Bearer {AuthorizationSecret}\0\r\n\r\n",
            $"GET /api/ai/s/200/x HTTP/1.1\r\nHost: gw.test\r\nCookie: session={CookieSecret}\u00e9\r\n\r\n",
            $"GET /api/ai/s/200/x HTTP/1.1\r\nHost: gw.test\r\nProxy-Authorization: Basic {ProxyAuthorizationSecret}\r\n folded\r\n\r\n",
            $"GET /api/ai/s/200/x?token={QuerySecret} HTTP/1.1 junk\r\nHost: gw.test\r\nAuthorization: Bearer {AuthorizationSecret}\r\n\r\n",
        })
        {
            using var raw = await RawClientConnection.OpenAsync(gateway.BaseAddress);
            await raw.SendAsync(malformed);
            var answer = await raw.ReadAnswerAsync();
            Assert.That(answer?.Status, Is.EqualTo(400), malformed);
        }
    }

    private static MeterListener ListenToGatewayMeter(ConcurrentDictionary<string, byte> tags)
    {
        var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == MetricsCollector.MeterName)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((_, _, measuredTags, _) => Record(measuredTags, tags));
        listener.SetMeasurementEventCallback<double>((_, _, measuredTags, _) => Record(measuredTags, tags));
        listener.SetMeasurementEventCallback<int>((_, _, measuredTags, _) => Record(measuredTags, tags));
        listener.Start();
        return listener;

        static void Record(ReadOnlySpan<KeyValuePair<string, object?>> measuredTags, ConcurrentDictionary<string, byte> tags)
        {
            foreach (var tag in measuredTags)
            {
                tags.TryAdd($"{tag.Key}={tag.Value}", 0);
            }
        }
    }

    /// <summary>The only labels DESIGN.md allows: the proxy's configured name, a three-digit code, a reason of the Responses table.</summary>
    private static bool IsAllowedLabel(string name, string value) => name switch
    {
        "proxy" => value is "ai" or "down",
        "code" => value.Length == 3 && value.All(char.IsAsciiDigit),
        "reason" => Enum.GetValues<global::HardenedGateway.GatewayErrorReason>().Any(r => r != global::HardenedGateway.GatewayErrorReason.None && global::HardenedGateway.GatewayErrorReasonExtensions.ToLabel(r) == value),
        "le" => true,
        _ => false,
    };

    private static List<string> SeriesKeys(string scrape) =>
        [.. scrape.Split('\n').Where(line => line.Length > 0 && line[0] != '#').Select(line => line[..line.LastIndexOf(' ')])];

    private static string Flatten(FakeLogRecord record) =>
        record.Message + "\n" + string.Join("\n", record.StructuredState?.Select(p => $"{p.Key}={p.Value}") ?? []) + "\n" + record.Exception;

    [GeneratedRegex("([a-z_]+)=\"([^\"]*)\"")]
    private static partial Regex LabelPattern();
}
