using System.Diagnostics;
using HardenedGateway.Forwarding;

namespace HardenedGateway.Http;

/// <summary>
/// The typed-client side of an upstream: the same breaker, limiter, response-header timeout,
/// outcome classification and metrics as its proxy route (issue 5). Rejections throw
/// <see cref="UpstreamRejectedException"/> subtypes; the concurrency slot is held until the
/// response content is consumed or disposed.
/// </summary>
internal sealed class HardenedHttpHandler(Func<HardenedUpstream> resolveUpstream, TimeProvider timeProvider) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var upstream = resolveUpstream();
        var started = timeProvider.GetTimestamp();
        CircuitPermit permit = default;
        var breaker = upstream.CircuitBreaker;
        if (breaker is not null && !breaker.TryAdmit(out permit))
        {
            var state = breaker.State;
            var retryAfter = TimeSpan.FromSeconds(upstream.CircuitRetryAfterSeconds());
            upstream.Metrics.RecordRequest(503, GatewayErrorReason.CircuitOpen, timeProvider.GetElapsedTime(started), null);
            throw new UpstreamCircuitOpenException(upstream.Name, retryAfter, state == CircuitState.Closed ? CircuitState.Open : state);
        }

        var limiter = upstream.Limiter;
        if (limiter is not null && !limiter.TryAcquire())
        {
            var acquired = false;
            if (upstream.Settings.QueueTimeout > TimeSpan.Zero)
            {
                try
                {
                    acquired = await limiter.AcquireAsync(upstream.Settings.QueueTimeout, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    breaker?.OnAbandoned(permit);
                    upstream.Metrics.RecordRequest(499, GatewayErrorReason.ClientAborted, timeProvider.GetElapsedTime(started), null);
                    throw;
                }
            }

            if (!acquired)
            {
                breaker?.OnAbandoned(permit);
                upstream.Metrics.RecordRequest(429, GatewayErrorReason.ConcurrencyLimit, timeProvider.GetElapsedTime(started), null);
                throw new UpstreamConcurrencyLimitException(upstream.Name, TimeSpan.FromSeconds(upstream.Settings.RetryAfterSeconds));
            }
        }

        AdmissionTicket ticket = default;
        if (upstream.AdmissionGate is { } gate)
        {
            ticket = await EnterGateAsync(gate, upstream, permit, started, cancellationToken).ConfigureAwait(false);
        }

        upstream.Metrics.RequestStarted();
        var exchange = new HardenedExchange(upstream, permit, started, timeProvider, ticket);
        var headerTimeout = upstream.ResponseHeaderTimeout;
        using var timeout = new CancellationTokenSource(Timeout.InfiniteTimeSpan, timeProvider);
        using var callerRegistration = cancellationToken.UnsafeRegister(static state => ((CancellationTokenSource)state!).Cancel(), timeout);
        if (headerTimeout > TimeSpan.Zero)
        {
            timeout.CancelAfter(headerTimeout);
        }

        InjectTraceContext(request);
        var sendStarted = timeProvider.GetTimestamp();
        HttpResponseMessage response;
        try
        {
            response = await base.SendAsync(request, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            var callerCanceled = cancellationToken.IsCancellationRequested;
            var reason = OutcomeClassifier.ClassifySendFailure(ex, callerCanceled, !callerCanceled && timeout.IsCancellationRequested);
            if (reason != GatewayErrorReason.ClientAborted)
            {
                // AC-002: the same adaptive limit as the proxy route learns from typed clients' failures.
                upstream.Limiter?.OnUpstreamFailure();
            }

            exchange.End(
                reason == GatewayErrorReason.ClientAborted ? 499 : ProblemResponses.StatusFor(reason),
                reason,
                null,
                reason == GatewayErrorReason.ClientAborted ? UpstreamVerdict.None : UpstreamVerdict.Failure);
            if (reason == GatewayErrorReason.UpstreamTimeout && ex is OperationCanceledException)
            {
                // As HttpClient.Timeout does: a cancellation whose inner exception is a TimeoutException.
                throw new TaskCanceledException(
                    $"Upstream '{upstream.Name}' sent no response headers within {headerTimeout.TotalSeconds:0.###} s (ResponseHeaderTimeout).",
                    new TimeoutException(ex.Message, ex));
            }

            throw;
        }

        timeout.CancelAfter(Timeout.InfiniteTimeSpan);
        var headersAt = timeProvider.GetTimestamp();
        upstream.Limiter?.OnResponseHeaders(sendStarted, headersAt, (int)response.StatusCode);
        exchange.HeadersReceived((int)response.StatusCode, timeProvider.GetElapsedTime(sendStarted, headersAt));
        response.Content = new ObservedContent(response.Content, exchange);
        return response;
    }

    /// <summary>The second gate after the local limiter (CL-001), as on the proxy route: a refusal gives the local slot back and throws.</summary>
    private async ValueTask<AdmissionTicket> EnterGateAsync(IAdmissionGate gate, HardenedUpstream upstream, CircuitPermit permit, long started, CancellationToken cancellationToken)
    {
        AdmissionTicket ticket;
        try
        {
            ticket = await gate.EnterAsync(permit, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            upstream.Limiter?.Release();
            upstream.CircuitBreaker?.OnAbandoned(permit);
            upstream.Metrics.RecordRequest(499, GatewayErrorReason.ClientAborted, timeProvider.GetElapsedTime(started), null);
            throw;
        }

        if (ticket.IsAdmitted)
        {
            return ticket;
        }

        upstream.Limiter?.Release();
        upstream.CircuitBreaker?.OnAbandoned(permit);
        if (ticket.Outcome == AdmissionOutcome.ProbeDenied)
        {
            upstream.Metrics.RecordRequest(503, GatewayErrorReason.CircuitOpen, timeProvider.GetElapsedTime(started), null);
            throw new UpstreamCircuitOpenException(upstream.Name, TimeSpan.FromSeconds(upstream.CircuitRetryAfterSeconds()), CircuitState.HalfOpen);
        }

        upstream.Metrics.RecordRequest(429, GatewayErrorReason.ConcurrencyLimit, timeProvider.GetElapsedTime(started), null);
        throw new UpstreamConcurrencyLimitException(upstream.Name, TimeSpan.FromSeconds(upstream.Settings.RetryAfterSeconds));
    }

    /// <summary>
    /// The shared transport propagates no trace context itself (the proxy route copies or injects its
    /// own), so a typed client's call carries the caller's W3C context here, as a plain HttpClient's does.
    /// </summary>
    private static void InjectTraceContext(HttpRequestMessage request)
    {
        if (Activity.Current is { } activity && !request.Headers.Contains("traceparent"))
        {
            DistributedContextPropagator.Current.Inject(activity, request, static (carrier, name, value) =>
            {
                if (carrier is HttpRequestMessage message && value is not null)
                {
                    message.Headers.TryAddWithoutValidation(name, value);
                }
            });
        }
    }
}
