using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace HardenedGateway.Testing;

/// <summary>How a <see cref="SimulatedInferenceEngine"/> fails while its failure mode is on.</summary>
public enum SimulatedFailure
{
    /// <summary>Answers normally.</summary>
    None,

    /// <summary>Answers 500 after the base delay.</summary>
    Status500,

    /// <summary>Resets the connection before any header.</summary>
    Reset,
}

/// <summary>
/// An upstream that behaves like an AI inference engine with capacity C (issue 12): up to C requests in
/// flight answer after a base delay; beyond C the delay grows with the excess (base × in-flight / C, so
/// throughput stays C / base however many wait: requests queue inside the engine). C, the base delay
/// and a failure mode can be changed while it runs. A real Kestrel server on 127.0.0.1, port 0.
/// </summary>
/// <remarks>
/// <c>GET /infer</c> answers 200 with a small JSON body. <c>GET /stream?ms=N</c> answers
/// <c>text/event-stream</c>: the first event after the (load-scaled) delay, then one event every 50 ms
/// for N ms; a stream counts as in flight only until its first byte, like an engine that has handed
/// the request to its decode loop. Every answer's header delay is recorded for latency percentiles.
/// </remarks>
public sealed class SimulatedInferenceEngine : IAsyncDisposable
{
    private readonly TestUpstream _server;
    private readonly Lock _recordGate = new();
    private readonly List<(long At, double DelayMs)> _delays = [];
    private int _capacity;
    private long _baseDelayTicks;
    private int _failure;
    private int _inFlight;
    private int _maxInFlight;
    private long _completed;
    private long _failed;

    private SimulatedInferenceEngine(TestUpstream server, int capacity, TimeSpan baseDelay)
    {
        _server = server;
        _capacity = capacity;
        _baseDelayTicks = baseDelay.Ticks;
    }

    /// <summary>Gets the engine's base address.</summary>
    public Uri BaseAddress => _server.BaseAddress;

    /// <summary>Gets or sets the capacity C: the requests in flight that answer after the base delay.</summary>
    public int Capacity
    {
        get => Volatile.Read(ref _capacity);
        set => Volatile.Write(ref _capacity, Math.Max(1, value));
    }

    /// <summary>Gets or sets the delay of an answer while at most <see cref="Capacity"/> are in flight.</summary>
    public TimeSpan BaseDelay
    {
        get => TimeSpan.FromTicks(Volatile.Read(ref _baseDelayTicks));
        set => Volatile.Write(ref _baseDelayTicks, value.Ticks);
    }

    /// <summary>Gets or sets the failure mode.</summary>
    public SimulatedFailure Failure
    {
        get => (SimulatedFailure)Volatile.Read(ref _failure);
        set => Volatile.Write(ref _failure, (int)value);
    }

    /// <summary>Gets the requests in flight now (streams until their first byte).</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>Gets the most requests ever in flight at once.</summary>
    public int MaxInFlight => Volatile.Read(ref _maxInFlight);

    /// <summary>Gets the successful answers so far.</summary>
    public long Completed => Interlocked.Read(ref _completed);

    /// <summary>Gets the failed answers (500 or reset) so far.</summary>
    public long Failed => Interlocked.Read(ref _failed);

    /// <summary>Gets the best throughput the engine can give: C / base delay, answers per second.</summary>
    public double BestThroughput => Capacity / BaseDelay.TotalSeconds;

    /// <summary>Starts an engine with capacity <paramref name="capacity"/> and base delay <paramref name="baseDelay"/>.</summary>
    public static async Task<SimulatedInferenceEngine> StartAsync(int capacity, TimeSpan baseDelay)
    {
        SimulatedInferenceEngine? engine = null;
        var server = await TestUpstream.StartAsync(app =>
        {
            app.MapGet("/infer", (HttpContext context) => engine!.InferAsync(context));
            app.MapGet("/stream", (HttpContext context) => engine!.StreamAsync(context));
        }).ConfigureAwait(false);
        engine = new SimulatedInferenceEngine(server, capacity, baseDelay);
        return engine;
    }

    /// <summary>The header delays (ms) of answers completed at or after <paramref name="since"/> (a <see cref="Stopwatch"/> timestamp).</summary>
    public double[] DelaysSince(long since)
    {
        lock (_recordGate)
        {
            return _delays.Where(d => d.At >= since).Select(d => d.DelayMs).ToArray();
        }
    }

    /// <summary>The <paramref name="percentile"/> (0..100) of <paramref name="values"/>, nearest rank; NaN when empty.</summary>
    public static double Percentile(double[] values, double percentile)
    {
        if (values.Length == 0)
        {
            return double.NaN;
        }

        var sorted = (double[])values.Clone();
        Array.Sort(sorted);
        var rank = (int)Math.Ceiling(percentile / 100 * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _server.DisposeAsync();

    private async Task InferAsync(HttpContext context)
    {
        var delay = Admit();
        try
        {
            await Task.Delay(delay, context.RequestAborted).ConfigureAwait(false);
            if (Fail(context))
            {
                return;
            }

            Record(delay);
        }
        finally
        {
            Leave();
        }

        context.Response.ContentType = "application/json";
        context.Response.ContentLength = 15;
        await context.Response.WriteAsync("{\"answer\":\"ok\"}", context.RequestAborted).ConfigureAwait(false);
        Interlocked.Increment(ref _completed);
    }

    private async Task StreamAsync(HttpContext context)
    {
        var duration = TimeSpan.FromMilliseconds(int.TryParse(context.Request.Query["ms"], NumberStyles.Integer, CultureInfo.InvariantCulture, out var ms) ? ms : 1000);
        var delay = Admit();
        try
        {
            await Task.Delay(delay, context.RequestAborted).ConfigureAwait(false);
            if (Fail(context))
            {
                return;
            }

            Record(delay);
            context.Response.ContentType = "text/event-stream";
            await context.Response.WriteAsync("data: first\n\n", context.RequestAborted).ConfigureAwait(false);
            await context.Response.Body.FlushAsync(context.RequestAborted).ConfigureAwait(false);
        }
        finally
        {
            Leave();
        }

        var end = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < end)
        {
            await Task.Delay(50, context.RequestAborted).ConfigureAwait(false);
            await context.Response.WriteAsync("data: token\n\n", context.RequestAborted).ConfigureAwait(false);
            await context.Response.Body.FlushAsync(context.RequestAborted).ConfigureAwait(false);
        }

        Interlocked.Increment(ref _completed);
    }

    private TimeSpan Admit()
    {
        var inFlight = Interlocked.Increment(ref _inFlight);
        var max = Volatile.Read(ref _maxInFlight);
        while (inFlight > max && Interlocked.CompareExchange(ref _maxInFlight, inFlight, max) != max)
        {
            max = Volatile.Read(ref _maxInFlight);
        }

        // Beyond C the engine shares itself: each request takes base × in-flight / C.
        var factor = Math.Max(1.0, (double)inFlight / Capacity);
        return TimeSpan.FromTicks((long)(Volatile.Read(ref _baseDelayTicks) * factor));
    }

    private void Leave() => Interlocked.Decrement(ref _inFlight);

    private void Record(TimeSpan delay)
    {
        lock (_recordGate)
        {
            _delays.Add((Stopwatch.GetTimestamp(), delay.TotalMilliseconds));
        }
    }

    private bool Fail(HttpContext context)
    {
        switch (Failure)
        {
            case SimulatedFailure.Status500:
                Interlocked.Increment(ref _failed);
                context.Response.StatusCode = StatusCodes.Status500InternalServerError;
                return true;
            case SimulatedFailure.Reset:
                Interlocked.Increment(ref _failed);
                context.Abort();
                return true;
            default:
                return false;
        }
    }
}
