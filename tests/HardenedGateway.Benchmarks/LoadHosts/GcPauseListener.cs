using System.Diagnostics.Tracing;

namespace HardenedGateway.Benchmarks.LoadHosts;

/// <summary>
/// Measures each execution-engine suspension from the runtime's own GC events, to report the longest
/// GC pause of a run (NFR-004, SC-003); <see cref="GC.GetTotalPauseDuration"/> gives only the sum.
/// </summary>
/// <remarks>
/// A pause runs from <c>GCSuspendEEBegin_V1</c> to <c>GCRestartEEEnd_V1</c>. Suspensions for other
/// reasons (tiered compilation installing call counters, for example) stop the threads too; they are
/// reported apart, since the GC bound is about the GC.
/// </remarks>
internal sealed class GcPauseListener : EventListener
{
    private const string RuntimeEventSource = "Microsoft-Windows-DotNETRuntime";
    private const EventKeywords GcKeyword = (EventKeywords)0x1;
    private const int RestartEEEndEventId = 3;
    private const int SuspendEEBeginEventId = 9;
    private const uint SuspendForGc = 1;
    private const uint SuspendForGcPrep = 6;

    private readonly Lock _lock = new();
    private DateTime _suspendedAt;
    private bool _suspendedForGc;
    private TimeSpan _maxGcPause;
    private TimeSpan _maxOtherPause;
    private long _gcPauses;
    private TimeSpan _totalGcPause;

    /// <summary>Returns the figures since the last reset, and optionally starts a new interval.</summary>
    public PauseFigures Read(bool reset)
    {
        lock (_lock)
        {
            var figures = new PauseFigures(_gcPauses, _totalGcPause.TotalMilliseconds, _maxGcPause.TotalMilliseconds, _maxOtherPause.TotalMilliseconds);
            if (reset)
            {
                _gcPauses = 0;
                _totalGcPause = TimeSpan.Zero;
                _maxGcPause = TimeSpan.Zero;
                _maxOtherPause = TimeSpan.Zero;
            }

            return figures;
        }
    }

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == RuntimeEventSource)
        {
            EnableEvents(eventSource, EventLevel.Informational, GcKeyword);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        switch (eventData.EventId)
        {
            case SuspendEEBeginEventId:
                var reason = eventData.Payload is [var first, ..] ? Convert.ToUInt32(first, System.Globalization.CultureInfo.InvariantCulture) : SuspendForGc;
                lock (_lock)
                {
                    _suspendedAt = eventData.TimeStamp;
                    _suspendedForGc = reason is SuspendForGc or SuspendForGcPrep;
                }

                break;
            case RestartEEEndEventId:
                lock (_lock)
                {
                    if (_suspendedAt == default)
                    {
                        break;
                    }

                    var pause = eventData.TimeStamp - _suspendedAt;
                    _suspendedAt = default;
                    if (_suspendedForGc)
                    {
                        _gcPauses++;
                        _totalGcPause += pause;
                        _maxGcPause = pause > _maxGcPause ? pause : _maxGcPause;
                    }
                    else
                    {
                        _maxOtherPause = pause > _maxOtherPause ? pause : _maxOtherPause;
                    }
                }

                break;
        }
    }

    /// <summary>Pause figures of one interval, in milliseconds.</summary>
    internal readonly record struct PauseFigures(long GcPauses, double TotalGcPauseMs, double MaxGcPauseMs, double MaxOtherSuspensionMs);
}
