using HardenedGateway.Diagnostics;
using HardenedGateway.Forwarding;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace HardenedGateway.Hosting;

/// <summary>
/// The request pipeline of one proxied request (T048..T054):
/// upgrade check → path check → breaker → limiter → forward → classify → breaker, metrics and log → release.
/// Every exit path gives back what it took: the limiter slot, the breaker's probe slot, the buffers.
/// </summary>
internal sealed partial class ProxyPipeline(RequestForwarder forwarder, TimeProvider timeProvider, ILogger<ProxyPipeline> logger)
{
    /// <summary>Handles a request matched to <paramref name="upstream"/>; <paramref name="target"/> is null when the path climbs above the base.</summary>
    public Task InvokeAsync(HttpContext context, HardenedUpstream upstream, string? target)
    {
        var started = timeProvider.GetTimestamp();
        if (IsUpgradeRequest(context))
        {
            // WS-001: a proxy with WebSockets enabled tunnels WebSocket upgrades; every other upgrade keeps its 501 (EC-003).
            if (upstream.Settings.WebSockets.Enabled && Tunnels.WebSocketTunnel.IsWebSocketUpgrade(context))
            {
                return target is null
                    ? RejectAsync(context, upstream, GatewayErrorReason.InvalidPath, started)
                    : context.RequestServices.GetRequiredService<Tunnels.TunnelForwarder>().TunnelAsync(context, upstream, target, this, started);
            }

            return RejectAsync(context, upstream, GatewayErrorReason.UpgradeRejected, started);
        }

        if (target is null)
        {
            return RejectAsync(context, upstream, GatewayErrorReason.InvalidPath, started);
        }

        CircuitPermit permit = default;
        var breaker = upstream.CircuitBreaker;
        if (breaker is not null && !breaker.TryAdmit(out permit))
        {
            return RejectAsync(context, upstream, GatewayErrorReason.CircuitOpen, started);
        }

        var limiter = upstream.Limiter;
        if (limiter is not null && !limiter.TryAcquire())
        {
            if (upstream.Settings.QueueTimeout > TimeSpan.Zero)
            {
                return WaitThenForwardAsync(context, upstream, target, permit, started);
            }

            breaker?.OnAbandoned(permit);
            return RejectAsync(context, upstream, GatewayErrorReason.ConcurrencyLimit, started);
        }

        if (upstream.AdmissionGate is not null)
        {
            return EnterGateThenForwardAsync(context, upstream, target, permit, started);
        }

        return ForwardAdmittedAsync(context, upstream, target, permit, started, default);
    }

    private static bool IsUpgradeRequest(HttpContext context)
    {
        // CONNECT asks for a tunnel, as Upgrade does: refused the same way (RS-002), never sent on to fail
        // in the handler as an "unreachable" upstream that a client could use to open the breaker.
        if (HttpMethods.IsConnect(context.Request.Method))
        {
            return true;
        }

        var upgrade = context.Request.Headers.Upgrade;
        if (upgrade.Count > 0)
        {
            // Kestrel ignores "Upgrade: h2c"; so do we, and the header is dropped as hop-by-hop.
            return !(upgrade.Count == 1 && string.Equals(upgrade.ToString().Trim(), "h2c", StringComparison.OrdinalIgnoreCase));
        }

        return context.Features.Get<IHttpExtendedConnectFeature>()?.IsExtendedConnect == true;
    }

    private async Task WaitThenForwardAsync(HttpContext context, HardenedUpstream upstream, string target, CircuitPermit permit, long started)
    {
        bool acquired;
        try
        {
            acquired = await upstream.Limiter!.AcquireAsync(upstream.Settings.QueueTimeout, context.RequestAborted).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            upstream.CircuitBreaker?.OnAbandoned(permit);
            Complete(context, upstream, new ForwardResult(StatusCodes.Status499ClientClosedRequest, GatewayErrorReason.ClientAborted, null, UpstreamVerdict.None), started);
            return;
        }

        if (!acquired)
        {
            upstream.CircuitBreaker?.OnAbandoned(permit);
            await RejectAsync(context, upstream, GatewayErrorReason.ConcurrencyLimit, started).ConfigureAwait(false);
            return;
        }

        if (upstream.AdmissionGate is not null)
        {
            await EnterGateThenForwardAsync(context, upstream, target, permit, started).ConfigureAwait(false);
            return;
        }

        await ForwardAdmittedAsync(context, upstream, target, permit, started, default).ConfigureAwait(false);
    }

    /// <summary>
    /// The second gate after the local limiter (CL-001): over the cluster budget the request gets the same
    /// 429, a denied cluster-wide probe the same 503, and the local slot and probe slot are given back.
    /// </summary>
    private async Task EnterGateThenForwardAsync(HttpContext context, HardenedUpstream upstream, string target, CircuitPermit permit, long started)
    {
        AdmissionTicket ticket;
        try
        {
            ticket = await upstream.AdmissionGate!.EnterAsync(permit, context.RequestAborted).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            upstream.Limiter?.Release();
            upstream.CircuitBreaker?.OnAbandoned(permit);
            Complete(context, upstream, new ForwardResult(StatusCodes.Status499ClientClosedRequest, GatewayErrorReason.ClientAborted, null, UpstreamVerdict.None), started);
            return;
        }

        if (!ticket.IsAdmitted)
        {
            upstream.Limiter?.Release();
            upstream.CircuitBreaker?.OnAbandoned(permit);
            var reason = ticket.Outcome == AdmissionOutcome.ProbeDenied ? GatewayErrorReason.CircuitOpen : GatewayErrorReason.ConcurrencyLimit;
            await RejectAsync(context, upstream, reason, started).ConfigureAwait(false);
            return;
        }

        await ForwardAdmittedAsync(context, upstream, target, permit, started, ticket).ConfigureAwait(false);
    }

    private Task ForwardAdmittedAsync(HttpContext context, HardenedUpstream upstream, string target, CircuitPermit permit, long started, AdmissionTicket ticket)
    {
        upstream.Metrics.RequestStarted();

        // Logged as ConcurrentCount: the requests in flight with this one, read while it holds its slot.
        var concurrent = upstream.Limiter?.InUse ?? (int)upstream.Metrics.ActiveRequests;

        // The forwarder ends the admission itself (Release, then FinishAsync): one state machine per request.
        return forwarder.ForwardAsync(context, upstream, target, new AdmittedRequest(this, permit, started, concurrent, ticket));
    }

    /// <summary>Ends an admission: the breaker learns the verdict (an abandoned probe frees its slot), the limiter slot returns.</summary>
    internal static void Release(HardenedUpstream upstream, CircuitPermit permit, UpstreamVerdict verdict, in AdmissionTicket ticket)
    {
        upstream.CircuitBreaker.Record(permit, verdict);
        if (ticket.IsAdmitted)
        {
            upstream.AdmissionGate?.Leave(ticket);
        }

        upstream.Limiter?.Release();
        upstream.Metrics.RequestStopped();
    }

    /// <summary>After the release: a failure before headers is answered with a problem body; then metrics and the log event.</summary>
    internal Task FinishAsync(HttpContext context, HardenedUpstream upstream, ForwardResult result, long started, int concurrent)
    {
        if (result.Reason is GatewayErrorReason.UpstreamUnreachable or GatewayErrorReason.UpstreamTimeout or GatewayErrorReason.BadUpstreamResponse && !context.Response.HasStarted)
        {
            return WriteProblemThenCompleteAsync(context, upstream, result, started, concurrent);
        }

        Complete(context, upstream, result, started, concurrent);
        return Task.CompletedTask;
    }

    private async Task WriteProblemThenCompleteAsync(HttpContext context, HardenedUpstream upstream, ForwardResult result, long started, int concurrent)
    {
        await WriteProblemAsync(context, upstream, result.Reason).ConfigureAwait(false);
        Complete(context, upstream, result, started, concurrent);
    }

    internal async Task RejectAsync(HttpContext context, HardenedUpstream upstream, GatewayErrorReason reason, long started)
    {
        await WriteProblemAsync(context, upstream, reason).ConfigureAwait(false);
        Complete(context, upstream, new ForwardResult(ProblemResponses.StatusFor(reason), reason, null, UpstreamVerdict.None), started);
    }

    private static Task WriteProblemAsync(HttpContext context, HardenedUpstream upstream, GatewayErrorReason reason)
    {
        if (context.RequestAborted.IsCancellationRequested)
        {
            return Task.CompletedTask;
        }

        return reason switch
        {
            GatewayErrorReason.ConcurrencyLimit or GatewayErrorReason.TunnelLimit => ProblemResponses.WriteAsync(context, reason, upstream.Name, upstream.RetryAfterHeaderValue),
            GatewayErrorReason.CircuitOpen => ProblemResponses.WriteAsync(
                context,
                reason,
                upstream.Name,
                ProblemResponses.Seconds(upstream.CircuitRetryAfterSeconds()),
                ProblemResponses.HeaderValue(upstream.CircuitBreaker?.State ?? CircuitState.Open)),
            _ => ProblemResponses.WriteAsync(context, reason, upstream.Name),
        };
    }

    private void Complete(HttpContext context, HardenedUpstream upstream, ForwardResult result, long started, int? concurrent = null)
    {
        var total = timeProvider.GetElapsedTime(started);
        upstream.Metrics.RecordRequest(result.StatusCode, result.Reason, total, result.UpstreamDuration);
        var level = result.Reason == GatewayErrorReason.ClientAborted ? LogLevel.Debug : LogLevel.Information;
        if (!logger.IsEnabled(level))
        {
            return;
        }

        var upstreamMs = result.UpstreamDuration?.TotalMilliseconds ?? 0;
        Log.RequestCompleted(
            logger,
            level,
            upstream.Name,
            context.Request.Method,
            result.StatusCode,
            upstreamMs,
            total.TotalMilliseconds - upstreamMs,
            upstream.CircuitBreaker?.State ?? CircuitState.Closed,
            concurrent ?? upstream.Limiter?.InUse ?? (int)upstream.Metrics.ActiveRequests,
            result.Reason == GatewayErrorReason.None ? "none" : result.Reason.ToLabel());
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = EventIds.RequestCompleted, Message = "Proxy {ProxyName} {Method} -> {StatusCode} in upstream {UpstreamLatencyMs:0.###} ms + gateway {ProxyLatencyMs:0.###} ms (circuit {CircuitState}, {ConcurrentCount} in flight, reason {Reason})")]
        public static partial void RequestCompleted(ILogger logger, LogLevel level, string proxyName, string method, int statusCode, double upstreamLatencyMs, double proxyLatencyMs, CircuitState circuitState, int concurrentCount, string reason);
    }
}
