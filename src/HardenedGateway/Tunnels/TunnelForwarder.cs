using System.Net;
using System.Security.Cryptography;
using HardenedGateway.Diagnostics;
using HardenedGateway.Forwarding;
using HardenedGateway.Hosting;
using HardenedGateway.Transport;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace HardenedGateway.Tunnels;

/// <summary>
/// Tunnels a WebSocket upgrade to the proxy's upstream (WS-001, WS-002): breaker, then the tunnel cap,
/// then the upgrade over HTTP/1.1 through the shared transport, then bytes both ways until the tunnel ends.
/// </summary>
/// <remarks>
/// <para>
/// Order: an open breaker answers 503 and a full tunnel cap answers 429 (<c>tunnel_limit</c>), both
/// before any 101. Tunnels take no request-limiter slot: a tunnel lasts minutes, and a limiter sized
/// for AI requests would be starved by a few chat sockets. The breaker judges the upgrade only:
/// unreachable, timed out, bad answer or a 5xx refusal is a failure; a 101 or a 4xx refusal (passed
/// through) is a success. What happens inside a tunnel afterwards is the application's business.
/// </para>
/// <para>
/// Like YARP's <c>HttpForwarder</c>, the upstream request is a plain HTTP/1.1 <c>GET</c> with
/// <c>Connection: Upgrade</c> and <c>Upgrade: websocket</c>; <see cref="SocketsHttpHandler"/> answers a 101
/// with the connection's duplex stream. An HTTP/2 extended CONNECT from the client (RFC 8441) is
/// bridged the same way: the gateway makes up the <c>Sec-WebSocket-Key</c> that HTTP/2 lacks, drops the
/// upstream's <c>Sec-WebSocket-Accept</c>, and answers the client 200 as RFC 8441 asks.
/// </para>
/// </remarks>
internal sealed partial class TunnelForwarder(
    SharedTransport transport,
    BytesPool pool,
    TimeProvider timeProvider,
    ILogger<TunnelForwarder> logger,
    IHostApplicationLifetime? lifetime = null)
{
    private static readonly UriCreationOptions RawTargetOptions = new() { DangerousDisablePathAndQueryCanonicalization = true };

    private readonly HttpMessageInvoker _invoker = transport.Invoker;

    /// <summary>Admits the upgrade (breaker, tunnel cap) or rejects it; an admitted upgrade runs as a tunnel until it ends.</summary>
    public Task TunnelAsync(HttpContext context, HardenedUpstream upstream, string target, ProxyPipeline pipeline, long started)
    {
        CircuitPermit permit = default;
        var breaker = upstream.CircuitBreaker;
        if (breaker is not null && !breaker.TryAdmit(out permit))
        {
            return pipeline.RejectAsync(context, upstream, GatewayErrorReason.CircuitOpen, started);
        }

        if (!upstream.Metrics.TryStartTunnel(upstream.Settings.WebSockets.MaxConnections))
        {
            breaker?.OnAbandoned(permit);
            return pipeline.RejectAsync(context, upstream, GatewayErrorReason.TunnelLimit, started);
        }

        return RunAsync(context, upstream, target, pipeline, permit, started);
    }

    private async Task RunAsync(HttpContext context, HardenedUpstream upstream, string target, ProxyPipeline pipeline, CircuitPermit permit, long started)
    {
        var slotHeld = true;
        try
        {
            var extendedConnect = context.Features.Get<IHttpExtendedConnectFeature>() is { IsExtendedConnect: true } feature ? feature : null;
            using var request = CreateUpstreamRequest(context, target, fromHttp2: extendedConnect is not null);
            var headerTimeout = upstream.ResponseHeaderTimeout;
            using var timeout = headerTimeout > TimeSpan.Zero ? new CancellationTokenSource(headerTimeout, timeProvider) : new CancellationTokenSource();
            using var clientRegistration = context.RequestAborted.UnsafeRegister(static state => ((CancellationTokenSource)state!).Cancel(), timeout);

            var sendStarted = timeProvider.GetTimestamp();
            HttpResponseMessage response;
            try
            {
                response = await _invoker.SendAsync(request, timeout.Token).ConfigureAwait(false);
            }
#pragma warning disable CA1031 // every failure becomes a classified outcome
            catch (Exception ex)
#pragma warning restore CA1031
            {
                var clientGone = context.RequestAborted.IsCancellationRequested;
                var reason = OutcomeClassifier.ClassifySendFailure(ex, clientGone, !clientGone && timeout.IsCancellationRequested);
                Log.UpgradeFailed(logger, upstream.Name, reason.ToLabel(), ex.GetType().Name, ex.Message);
                await EndBeforeTunnelAsync(context, upstream, pipeline, permit, ForwardResult.SendFailed(reason), started, ref slotHeld).ConfigureAwait(false);
                return;
            }

            var upstreamDuration = timeProvider.GetElapsedTime(sendStarted);
            using (response)
            {
                if (response.StatusCode != HttpStatusCode.SwitchingProtocols)
                {
                    // A 5xx refusal is a breaker failure, anything else a success; the slot comes back before the body is copied.
                    var verdict = (int)response.StatusCode >= 500 ? UpstreamVerdict.Failure : UpstreamVerdict.Success;
                    upstream.CircuitBreaker.Record(permit, verdict);
                    upstream.Metrics.TunnelStopped();
                    slotHeld = false;
                    await PassRefusalThroughAsync(context, upstream, pipeline, response, verdict, upstreamDuration, started, timeout).ConfigureAwait(false);
                    return;
                }

                // The upgrade succeeded: that is all the breaker judges (a probe frees its slot now, not when the tunnel ends).
                upstream.CircuitBreaker.Record(permit, UpstreamVerdict.Success);
                permit = default;

                Stream upstreamStream;
                Stream clientStream;
                try
                {
                    upstreamStream = await response.Content.ReadAsStreamAsync(timeout.Token).ConfigureAwait(false);
                    HeaderRules.CopyResponseHeaders(response, context.Response);
                    if (extendedConnect is not null)
                    {
                        context.Response.Headers.Remove("Sec-WebSocket-Accept");
                        clientStream = await extendedConnect.AcceptAsync().ConfigureAwait(false);
                    }
                    else
                    {
                        context.Response.Headers.Upgrade = "websocket";
                        clientStream = await context.Features.Get<IHttpUpgradeFeature>()!.UpgradeAsync().ConfigureAwait(false);
                    }
                }
#pragma warning disable CA1031
                catch (Exception)
#pragma warning restore CA1031
                {
                    // The client went away between its request and our 101.
                    context.Abort();
                    var gone = new ForwardResult(StatusCodes.Status499ClientClosedRequest, GatewayErrorReason.ClientAborted, upstreamDuration, UpstreamVerdict.None);
                    await EndBeforeTunnelAsync(context, upstream, pipeline, permit, gone, started, ref slotHeld).ConfigureAwait(false);
                    return;
                }

                var handshake = timeProvider.GetElapsedTime(started);
                var settings = upstream.Settings.WebSockets;
                TunnelEnd end;
                TimeSpan open;
                long fromClient, fromUpstream;
                using (var session = new TunnelSession(pool, timeProvider, settings.IdleTimeout, settings.MaxLifetime))
                {
                    end = await session.RunAsync(clientStream, upstreamStream, lifetime?.ApplicationStopping ?? CancellationToken.None).ConfigureAwait(false);
                    open = session.Elapsed;
                    fromClient = session.BytesFromClient;
                    fromUpstream = session.BytesFromUpstream;
                }

                // Close the upstream connection now; the client's closes when this request returns.
                await upstreamStream.DisposeAsync().ConfigureAwait(false);
                upstream.Metrics.TunnelStopped();
                slotHeld = false;

                // requests_total counts the tunnel as a 101 once it is over; the duration histograms time the
                // handshake (arrival to 101), so hour-long tunnels do not swamp request latency.
                upstream.Metrics.RecordRequest(StatusCodes.Status101SwitchingProtocols, end.ToErrorReason(), handshake, upstreamDuration);
                if (logger.IsEnabled(LogLevel.Information))
                {
                    var endLabel = end.ToLabel();
                    var gatewayMs = (handshake - upstreamDuration).TotalMilliseconds;
                    var stillOpen = upstream.Metrics.ActiveTunnels;
                    Log.TunnelCompleted(
                        logger,
                        upstream.Name,
                        context.Request.Method,
                        StatusCodes.Status101SwitchingProtocols,
                        upstreamDuration.TotalMilliseconds,
                        gatewayMs,
                        open.TotalMilliseconds,
                        endLabel,
                        fromClient,
                        fromUpstream,
                        stillOpen);
                }
            }
        }
        finally
        {
            if (slotHeld)
            {
                // An exception nobody classified: the slot and the probe still come back.
                upstream.CircuitBreaker.Record(permit, UpstreamVerdict.None);
                upstream.Metrics.TunnelStopped();
            }
        }
    }

    /// <summary>The upstream request: the client's headers by the forwarding rules, plus the upgrade headers they drop as hop-by-hop.</summary>
    private static HttpRequestMessage CreateUpstreamRequest(HttpContext context, string target, bool fromHttp2)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, new Uri(target, RawTargetOptions))
        {
            Version = HttpVersion.Version11,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };

        HeaderRules.CopyRequestHeaders(context, request, http2Upstream: false);
        request.Headers.TryAddWithoutValidation("Connection", "Upgrade");
        request.Headers.TryAddWithoutValidation("Upgrade", "websocket");
        if (fromHttp2)
        {
            // RFC 8441 drops the key and accept of RFC 6455; an HTTP/1.1 upstream needs a key (16 random bytes, base64).
            request.Headers.Remove("Sec-WebSocket-Key");
            request.Headers.TryAddWithoutValidation("Sec-WebSocket-Key", Convert.ToBase64String(RandomNumberGenerator.GetBytes(16)));
        }

        ForwardingActivity.InjectTraceContext(request);
        return request;
    }

    /// <summary>
    /// The upstream answered the upgrade with something else: passed through as it is (a 4xx refusal is
    /// the upstream's word to the client).
    /// </summary>
    private async Task PassRefusalThroughAsync(
        HttpContext context, HardenedUpstream upstream, ProxyPipeline pipeline, HttpResponseMessage response, UpstreamVerdict verdict, TimeSpan upstreamDuration, long started, CancellationTokenSource timeout)
    {
        var statusCode = (int)response.StatusCode;
        var result = new ForwardResult(statusCode, GatewayErrorReason.None, upstreamDuration, verdict);
        var clientResponse = context.Response;
        clientResponse.StatusCode = statusCode;
        HeaderRules.CopyResponseHeaders(response, clientResponse);

        // A refusal body is small; the response-header timeout (when set) bounds it again.
        if (upstream.ResponseHeaderTimeout > TimeSpan.Zero)
        {
            timeout.CancelAfter(upstream.ResponseHeaderTimeout);
        }

        byte[]? buffer = null;
        try
        {
            var body = await response.Content.ReadAsStreamAsync(timeout.Token).ConfigureAwait(false);
            buffer = pool.Rent();
            int read;
            while ((read = await body.ReadAsync(buffer.AsMemory(), timeout.Token).ConfigureAwait(false)) > 0)
            {
                await clientResponse.Body.WriteAsync(buffer.AsMemory(0, read), timeout.Token).ConfigureAwait(false);
            }
        }
#pragma warning disable CA1031
        catch (Exception)
#pragma warning restore CA1031
        {
            // Headers may be out already: never pass a cut body off as complete.
            context.Abort();
            result = context.RequestAborted.IsCancellationRequested
                ? new ForwardResult(StatusCodes.Status499ClientClosedRequest, GatewayErrorReason.ClientAborted, upstreamDuration, verdict)
                : new ForwardResult(statusCode, GatewayErrorReason.UpstreamAborted, upstreamDuration, verdict);
        }
        finally
        {
            if (buffer is not null)
            {
                pool.Return(buffer);
            }
        }

        await pipeline.FinishAsync(context, upstream, result, started, (int)upstream.Metrics.ActiveTunnels).ConfigureAwait(false);
    }

    /// <summary>No tunnel after all: the breaker learns the verdict, the slot comes back, the pipeline answers and records.</summary>
    private static Task EndBeforeTunnelAsync(HttpContext context, HardenedUpstream upstream, ProxyPipeline pipeline, CircuitPermit permit, ForwardResult result, long started, ref bool slotHeld)
    {
        upstream.CircuitBreaker.Record(permit, result.Verdict);
        upstream.Metrics.TunnelStopped();
        slotHeld = false;
        return pipeline.FinishAsync(context, upstream, result, started, (int)upstream.Metrics.ActiveTunnels);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = EventIds.TunnelCompleted, Level = LogLevel.Information, Message = "Proxy {ProxyName} {Method} -> {StatusCode} tunnel ended ({TunnelEnd}) after {TunnelDurationMs:0.###} ms; upgrade: upstream {UpstreamLatencyMs:0.###} ms + gateway {ProxyLatencyMs:0.###} ms; {BytesFromClient} bytes from client, {BytesFromUpstream} bytes from upstream; {ActiveTunnels} tunnels open")]
        public static partial void TunnelCompleted(ILogger logger, string proxyName, string method, int statusCode, double upstreamLatencyMs, double proxyLatencyMs, double tunnelDurationMs, string tunnelEnd, long bytesFromClient, long bytesFromUpstream, long activeTunnels);

        [LoggerMessage(EventId = EventIds.TunnelUpgradeFailed, Level = LogLevel.Warning, Message = "Proxy {ProxyName}: the WebSocket upgrade to the upstream failed ({Reason}): {ErrorType}: {Error}")]
        public static partial void UpgradeFailed(ILogger logger, string proxyName, string reason, string errorType, string error);
    }
}
