using System.Net;
using HardenedGateway.IntegrationTests.Infrastructure;
using Microsoft.AspNetCore.Builder;

namespace HardenedGateway.IntegrationTests.Load;

/// <summary>NFR-003: the gateway carries 1,000 concurrent client connections, each with a request in flight.</summary>
[TestFixture]
[NonParallelizable] // 4,000 loopback sockets at once; the other fixtures should not share the moment
public sealed class ConcurrentConnectionsTests
{
    private const int Connections = 1000;

    [Test]
    public async Task ThousandConcurrentConnections_AllHeldInFlightAtOnce_AllSucceed()
    {
        var arrived = 0;
        var allArrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var upstream = await TestUpstream.StartAsync(app => app.MapGet("/hold", async () =>
        {
            if (Interlocked.Increment(ref arrived) == Connections)
            {
                allArrived.TrySetResult();
            }

            await release.Task.WaitAsync(TimeSpan.FromSeconds(60));
            return "ok";
        }));
        await using var gateway = await TestGateway.StartAsync(new Dictionary<string, string?>
        {
            ["HardenedGateway:Proxies:ai:PathPrefix"] = "/api/ai",
            ["HardenedGateway:Proxies:ai:Upstream"] = upstream.BaseAddress.ToString(),
        });
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false, MaxConnectionsPerServer = Connections })
        {
            BaseAddress = gateway.BaseAddress,
            Timeout = TimeSpan.FromSeconds(90),
        };

        var requests = new Task<HttpResponseMessage>[Connections];
        for (var i = 0; i < Connections; i++)
        {
            requests[i] = client.GetAsync(new Uri("/api/ai/hold", UriKind.Relative));
        }

        // Every request is at the upstream at the same moment: 1,000 client connections held open.
        await allArrived.Task.WaitAsync(TimeSpan.FromSeconds(60));
        release.SetResult();
        var responses = await Task.WhenAll(requests).WaitAsync(TimeSpan.FromSeconds(60));

        try
        {
            Assert.Multiple(() =>
            {
                Assert.That(responses.Count(r => r.StatusCode == HttpStatusCode.OK), Is.EqualTo(Connections));
                Assert.That(upstream.AcceptedConnections, Is.GreaterThanOrEqualTo(Connections), "one upstream connection per request in flight");
            });
        }
        finally
        {
            foreach (var response in responses)
            {
                response.Dispose();
            }
        }
    }
}
