using HardenedGateway.Forwarding;
using Microsoft.AspNetCore.Http;

namespace HardenedGateway.Hosting;

/// <summary>
/// A request the breaker and the limiter admitted: what the forwarder needs to end the admission
/// itself, in its own state machine, when the exchange is over.
/// </summary>
internal readonly struct AdmittedRequest(ProxyPipeline pipeline, CircuitPermit permit, long started, int concurrent, AdmissionTicket ticket)
{
    /// <summary>Gives back the limiter slot and the admission gate's ticket, tells the breaker, and counts the request as no longer in flight. Called exactly once.</summary>
    public void Release(HardenedUpstream upstream, UpstreamVerdict verdict) => ProxyPipeline.Release(upstream, permit, verdict, ticket);

    /// <summary>Answers a failure before headers with a problem body, then records metrics and the log event.</summary>
    public Task FinishAsync(HttpContext context, HardenedUpstream upstream, ForwardResult result) =>
        pipeline.FinishAsync(context, upstream, result, started, concurrent);
}
