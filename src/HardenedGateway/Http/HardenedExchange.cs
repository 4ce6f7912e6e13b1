using HardenedGateway.Forwarding;

namespace HardenedGateway.Http;

/// <summary>
/// One typed-client call admitted by the limiter and the breaker. It ends exactly once, when the
/// response body is read to the end, fails, or is disposed, and only then gives the slot back and
/// tells the breaker and the metrics, so a streamed response holds its slot while it streams.
/// </summary>
internal sealed class HardenedExchange(HardenedUpstream upstream, CircuitPermit permit, long started, TimeProvider timeProvider, AdmissionTicket ticket = default)
{
    private int _ended;
    private int _statusCode;
    private TimeSpan? _upstreamDuration;

    public void HeadersReceived(int statusCode, TimeSpan upstreamDuration)
    {
        _statusCode = statusCode;
        _upstreamDuration = upstreamDuration;
    }

    /// <summary>The body was read to its end, or the caller disposed it: the upstream answered.</summary>
    public void BodyEnded() =>
        End(_statusCode, GatewayErrorReason.None, _upstreamDuration, OutcomeClassifier.IsFailureStatus(_statusCode) ? UpstreamVerdict.Failure : UpstreamVerdict.Success);

    /// <summary>Reading the body failed: the upstream aborted mid-body, unless the caller cancelled.</summary>
    public void BodyFailed(bool callerCanceled) =>
        End(callerCanceled ? 499 : _statusCode, callerCanceled ? GatewayErrorReason.ClientAborted : GatewayErrorReason.UpstreamAborted, _upstreamDuration, callerCanceled ? UpstreamVerdict.None : UpstreamVerdict.Failure);

    public void End(int statusCode, GatewayErrorReason reason, TimeSpan? upstreamDuration, UpstreamVerdict verdict)
    {
        if (Interlocked.Exchange(ref _ended, 1) != 0)
        {
            return;
        }

        upstream.CircuitBreaker.Record(permit, verdict);
        upstream.AdmissionGate?.Leave(ticket);
        upstream.Limiter?.Release();
        upstream.Metrics.RequestStopped();
        upstream.Metrics.RecordRequest(statusCode, reason, timeProvider.GetElapsedTime(started), upstreamDuration);
    }
}
