using System.Net;
using System.Runtime.CompilerServices;
using HardenedGateway.Hosting;
using HardenedGateway.Diagnostics;
using HardenedGateway.Transport;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;

namespace HardenedGateway.Forwarding;

/// <summary>
/// Streams one request to its upstream and the response back (EC-002, T035, T051): pooled buffers,
/// no whole-body buffering, <c>text/event-stream</c> flushed write by write, the response-header
/// timeout per request, and a failure after the response started aborting the client connection
/// rather than passing a truncated body off as complete.
/// </summary>
internal sealed partial class RequestForwarder(SharedTransport transport, BytesPool pool, TimeProvider timeProvider, ILogger<RequestForwarder> logger)
{
    private readonly HttpMessageInvoker _invoker = transport.Invoker;

    /// <summary>
    /// Forwards an admitted request and ends its admission (<see cref="AdmittedRequest"/>): the upstream's
    /// answer is streamed to the client, or a failure before headers is answered with a problem body.
    /// </summary>
    /// <remarks>
    /// This is the request's one async state machine after admission: it also ends the admission
    /// (breaker verdict, limiter slot, metrics, log) through <paramref name="admitted"/>, rather than
    /// returning to an awaiting pipeline method that would be a second state machine per request. Its
    /// box is allocated per request, so what lives across an await is kept small: no result to return
    /// (the tracing activity is recorded here), the client-abort link inside the pooled timer, the
    /// client's token and response read from the context where needed.
    /// </remarks>
    public async Task ForwardAsync(HttpContext context, HardenedUpstream upstream, string target, AdmittedRequest admitted)
    {
        // Started in this async method, so the activity is Activity.Current for the exchange only.
        using var activity = ForwardingActivity.Source.HasListeners() ? ForwardingActivity.Start(context, upstream) : null;
        ForwardResult result = default;
        var completed = false;
        var abortClient = false;

        // Every path's outcome goes on the activity; an exception that escapes is recorded on the way out.
        try
        {
            try
            {
                var hasRequestBody = HasRequestBody(context);
                using var timeout = ExchangeTimeout.Rent(upstream.ResponseHeaderTimeout, upstream.Settings.StreamIdleTimeout, timeProvider, hasRequestBody);
                timeout.CancelWith(context.RequestAborted);

                StreamingRequestContent? content = null;
                using var request = new HttpRequestMessage(HttpMethod.Parse(context.Request.Method), upstream.Targets.UriFor(target))
                {
                    Version = upstream.UseHttp2 ? HttpVersion.Version20 : HttpVersion.Version11,
                    VersionPolicy = HttpVersionPolicy.RequestVersionOrLower,
                };

                if (hasRequestBody)
                {
                    // While the body uploads, silence is bounded by the idle timeout (or, when that is off,
                    // the header timeout); the header timeout proper starts once the body is sent.
                    content = new StreamingRequestContent(context.Request.Body, pool, timeout);
                    request.Content = content;
                }

                HeaderRules.CopyRequestHeaders(context, request, upstream.UseHttp2);
                ForwardingActivity.InjectTraceContext(request);

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
                    if (content?.ClientError is { } clientError && !context.RequestAborted.IsCancellationRequested)
                    {
                        result = RejectRequestBody(context, upstream, clientError);
                        if (result.StatusCode != StatusCodes.Status499ClientClosedRequest && !context.RequestAborted.IsCancellationRequested)
                        {
                            await ProblemResponses.WriteRequestBodyRejectedAsync(context, result.StatusCode, upstream.Name).ConfigureAwait(false);
                        }

                        completed = true;
                        goto Done;
                    }

                    var clientGone = context.RequestAborted.IsCancellationRequested || content?.ClientFailed == true;
                    var reason = OutcomeClassifier.ClassifySendFailure(ex, clientGone, !clientGone && timeout.HasFired);
                    LogSendFailure(upstream.Name, reason, ex);
                    if (reason != GatewayErrorReason.ClientAborted)
                    {
                        // AC-002: unreachable, timeout, bad response shrink an adaptive limit; a client abort is no sample.
                        upstream.Limiter?.OnUpstreamFailure();
                    }

                    result = ForwardResult.SendFailed(reason);
                    completed = true;
                    goto Done;
                }

                var headersAt = timeProvider.GetTimestamp();
                var upstreamDuration = timeProvider.GetElapsedTime(sendStarted, headersAt);

                // AC-002: an adaptive limit learns from the time to first byte, never from how long the body streams.
                upstream.Limiter?.OnResponseHeaders(sendStarted, headersAt, (int)response.StatusCode);
                using (response)
                {
                    timeout.OnResponseStarted();
                    var statusCode = (int)response.StatusCode;
                    var refusal = ResponseFraming.Check(response, statusCode, out var contentLength);
                    if (refusal is null)
                    {
                        context.Response.StatusCode = statusCode;
                        if (!HeaderRules.CopyResponseHeaders(response, context.Response))
                        {
                            refusal = ResponseFraming.UnwritableHeader;
                        }
                    }

                    if (refusal is not null)
                    {
                        // Nothing of this answer reaches the client: the pipeline writes the 502 on a clean response.
                        context.Response.Headers.Clear();
                        Log.BadUpstreamResponse(logger, upstream.Name, refusal);
                        result = new ForwardResult(StatusCodes.Status502BadGateway, GatewayErrorReason.BadUpstreamResponse, upstreamDuration, UpstreamVerdict.Failure);
                        completed = true;
                        goto Done;
                    }

                    context.Response.ContentLength = contentLength;
                    var streamed = IsStreamed(response, contentLength);
                    if (streamed)
                    {
                        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
                    }

                    var verdict = OutcomeClassifier.IsFailureStatus(statusCode) ? UpstreamVerdict.Failure : UpstreamVerdict.Success;
                    Stream body;
                    try
                    {
                        // The handler's response content hands over its connection stream without waiting.
                        body = response.Content.ReadAsStream(timeout.Token);
                        if (streamed)
                        {
                            // Send the headers now: an event-stream client should see its response start at once.
                            await context.Response.StartAsync(timeout.Token).ConfigureAwait(false);
                        }
                    }
    #pragma warning disable CA1031
                    catch (Exception ex)
    #pragma warning restore CA1031
                    {
                        result = EndAfterHeaders(upstream, statusCode, upstreamDuration, context.RequestAborted.IsCancellationRequested, ex);
                        abortClient = true;
                        completed = true;
                        goto Done;
                    }

                    var (status, error) = await StreamCopier.CopyAsync(body, context.Response.Body, pool, streamed, timeout).ConfigureAwait(false);
                    result = status switch
                    {
                        CopyStatus.Completed => new ForwardResult(statusCode, GatewayErrorReason.None, upstreamDuration, verdict),

                        // The client did not take the data: it went away, or stopped reading for longer than the
                        // idle timeout. Its side, never the upstream's.
                        CopyStatus.DestinationFailed or CopyStatus.DestinationCanceled => EndAfterHeaders(upstream, statusCode, upstreamDuration, clientGone: true, error),
                        _ => EndAfterHeaders(upstream, statusCode, upstreamDuration, context.RequestAborted.IsCancellationRequested, error),
                    };
                    abortClient = status != CopyStatus.Completed;
                    completed = true;
                }
            }
            finally
            {
                // Every path, exceptions included, gives back the limiter slot and the probe slot.
                admitted.Release(upstream, completed ? result.Verdict : UpstreamVerdict.None);
            }

        Done:
            if (abortClient)
            {
                // Only now, after the breaker has learnt the outcome: a client that sees the cut and retries
                // at once must meet the breaker's new state.
                context.Abort();
            }

            ForwardingActivity.SetOutcome(activity, result);
            await admitted.FinishAsync(context, upstream, result).ConfigureAwait(false);
        }
        catch (Exception ex) when (ForwardingActivity.RecordEscaping(activity, ex))
        {
            throw; // not reached: the filter records and declines
        }
    }

    private static bool HasRequestBody(HttpContext context)
    {
        var detection = context.Features.Get<IHttpRequestBodyDetectionFeature>();
        return detection?.CanHaveBody ?? context.Request.ContentLength > 0;
    }

    /// <summary>
    /// Responses of unknown length and event streams are flushed write by write. Read from the raw
    /// header values: the typed ContentType accessor parses and allocates per request.
    /// </summary>
    private static bool IsStreamed(HttpResponseMessage response, long? contentLength)
    {
        if (contentLength is null)
        {
            return true;
        }

        return response.Content.Headers.NonValidated.TryGetValues("Content-Type", out var contentType) && IsEventStream(contentType.ToString());
    }

    internal static bool IsEventStream(string contentType)
    {
        const string EventStream = "text/event-stream";
        var value = contentType.AsSpan().TrimStart();
        return value.StartsWith(EventStream, StringComparison.OrdinalIgnoreCase)
            && (value.Length == EventStream.Length || value[EventStream.Length] is ';' or ' ' or '\t');
    }

    /// <summary>
    /// The exchange failed after the upstream's headers arrived: never disguise it as complete. The
    /// client connection is aborted either way (by the caller, once the breaker has the outcome); a client still connected (one that stopped reading)
    /// would otherwise see a clean end of a truncated body.
    /// </summary>
    private ForwardResult EndAfterHeaders(HardenedUpstream upstream, int statusCode, TimeSpan upstreamDuration, bool clientGone, Exception? error)
    {
        if (clientGone)
        {
            Log.ClientAbortedMidBody(logger, upstream.Name);
            return new ForwardResult(StatusCodes.Status499ClientClosedRequest, GatewayErrorReason.ClientAborted, upstreamDuration, UpstreamVerdict.None);
        }

        Log.UpstreamAbortedMidBody(logger, upstream.Name, error?.GetType().Name ?? "timeout");
        return new ForwardResult(statusCode, GatewayErrorReason.UpstreamAborted, upstreamDuration, UpstreamVerdict.Failure);
    }

    /// <summary>
    /// The client is still connected but its request body could not be read. Answer as Kestrel would
    /// (413 over MaxRequestBodySize, 400 for malformed chunking, 408 for a body that went silent longer
    /// than allowed); this is neither a client abort, which writes nothing and would leave an empty 200,
    /// nor an upstream failure.
    /// </summary>
    private ForwardResult RejectRequestBody(HttpContext context, HardenedUpstream upstream, Exception error)
    {
        var status = error switch
        {
            BadHttpRequestException badRequest => badRequest.StatusCode,
            OperationCanceledException => StatusCodes.Status408RequestTimeout,
            _ => 0,
        };

        if (status == 0 || context.Response.HasStarted)
        {
            context.Abort();
            Log.ClientAbortedBeforeHeaders(logger, upstream.Name);
            return new ForwardResult(StatusCodes.Status499ClientClosedRequest, GatewayErrorReason.ClientAborted, null, UpstreamVerdict.None);
        }

        Log.RequestBodyRejected(logger, upstream.Name, status);
        context.Response.StatusCode = status;
        return new ForwardResult(status, GatewayErrorReason.None, null, UpstreamVerdict.None);
    }

    private void LogSendFailure(string proxyName, GatewayErrorReason reason, Exception error)
    {
        switch (reason)
        {
            case GatewayErrorReason.BadUpstreamResponse:
                Log.BadUpstreamResponse(logger, proxyName, WithoutQuotedBytes(error.Message));
                break;
            case GatewayErrorReason.ClientAborted:
                Log.ClientAbortedBeforeHeaders(logger, proxyName);
                break;
            default:
                Log.UpstreamFailed(logger, proxyName, reason.ToLabel(), error.GetType().Name, Describe(error));
                break;
        }
    }

    /// <summary>
    /// The handler quotes the offending line of an invalid answer (<c>Received an invalid header line: '...'</c>);
    /// that line is the upstream's bytes, a header value perhaps, so the log keeps only the text before it.
    /// </summary>
    internal static string WithoutQuotedBytes(string message)
    {
        var quote = message.IndexOf('\'', StringComparison.Ordinal);
        return quote < 0 ? message : string.Concat(message.AsSpan(0, quote).TrimEnd(" :"), " (the offending bytes are not logged)");
    }

    /// <summary>
    /// The message and, when there is one, the innermost cause: HttpClient's own message for a failed TLS
    /// handshake is "see inner exception", and an operator must read why (an untrusted certificate, a name
    /// mismatch) in the warning itself.
    /// </summary>
    internal static string Describe(Exception error)
    {
        var innermost = error;
        while (innermost.InnerException is { } inner)
        {
            innermost = inner;
        }

        return ReferenceEquals(innermost, error) ? error.Message : $"{error.Message} ({innermost.GetType().Name}: {innermost.Message})";
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = EventIds.BadUpstreamResponse, Level = LogLevel.Warning, Message = "Proxy {ProxyName}: the upstream answered with something that is not valid HTTP (EC-004): {Error}")]
        public static partial void BadUpstreamResponse(ILogger logger, string proxyName, string error);

        [LoggerMessage(EventId = EventIds.RequestFailed, Level = LogLevel.Warning, Message = "Proxy {ProxyName}: upstream call failed ({Reason}): {ErrorType}: {Error}")]
        public static partial void UpstreamFailed(ILogger logger, string proxyName, string reason, string errorType, string error);

        [LoggerMessage(EventId = EventIds.UpstreamAbortedMidBody, Level = LogLevel.Warning, Message = "Proxy {ProxyName}: the upstream failed after the response started ({ErrorType}); the client connection was aborted.")]
        public static partial void UpstreamAbortedMidBody(ILogger logger, string proxyName, string errorType);

        [LoggerMessage(EventId = EventIds.RequestBodyRejected, Level = LogLevel.Debug, Message = "Proxy {ProxyName}: the client's request body could not be read ({StatusCode}); the upstream call was cancelled.")]
        public static partial void RequestBodyRejected(ILogger logger, string proxyName, int statusCode);

        [LoggerMessage(EventId = EventIds.ClientAborted, Level = LogLevel.Debug, Message = "Proxy {ProxyName}: the client went away before the upstream answered.")]
        public static partial void ClientAbortedBeforeHeaders(ILogger logger, string proxyName);

        [LoggerMessage(EventId = EventIds.ClientAborted, Level = LogLevel.Debug, Message = "Proxy {ProxyName}: the client went away while the response was streaming.")]
        public static partial void ClientAbortedMidBody(ILogger logger, string proxyName);
    }
}
