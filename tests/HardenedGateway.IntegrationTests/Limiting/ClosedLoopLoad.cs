using System.Diagnostics;
using System.Net;

namespace HardenedGateway.IntegrationTests.Limiting;

/// <summary>
/// Closed-loop clients against a gateway path: each sends its next request when the last one ends,
/// and samples the adaptive limit every 100 ms. Bounded by a deadline; every request has a timeout.
/// </summary>
internal sealed class ClosedLoopLoad : IAsyncDisposable
{
    private readonly HttpClient _client;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _loops = [];
    private readonly Lock _gate = new();
    private readonly List<(double Seconds, int Limit)> _limits = [];
    private readonly List<double> _okAt = [];
    private readonly long _started = Stopwatch.GetTimestamp();
    private int _clients;
    private long _ok;
    private long _rejected;
    private long _errors;

    public ClosedLoopLoad(Uri gateway)
    {
        _client = new HttpClient(new SocketsHttpHandler { UseProxy = false, MaxConnectionsPerServer = 1000 })
        {
            BaseAddress = gateway,
            Timeout = TimeSpan.FromSeconds(60),
        };
    }

    public long Ok => Interlocked.Read(ref _ok);

    public long Rejected => Interlocked.Read(ref _rejected);

    public long Errors => Interlocked.Read(ref _errors);

    public double Elapsed => Stopwatch.GetElapsedTime(_started).TotalSeconds;

    /// <summary>The <see cref="Stopwatch"/> timestamp <paramref name="seconds"/> after the load started.</summary>
    public long TimestampAt(double seconds) => _started + (long)(seconds * Stopwatch.Frequency);

    /// <summary>Starts <paramref name="count"/> more clients looping on <paramref name="path"/>; a 429 waits <paramref name="backoff"/> before the next try.</summary>
    public void AddClients(int count, string path, TimeSpan backoff = default)
    {
        for (var i = 0; i < count; i++)
        {
            Interlocked.Increment(ref _clients);
            _loops.Add(Task.Run(() => LoopAsync(path, backoff)));
        }
    }

    /// <summary>Samples <paramref name="limit"/> every 100 ms until stopped.</summary>
    public void SampleLimit(Func<int> limit) => _loops.Add(Task.Run(async () =>
    {
        while (!_stop.IsCancellationRequested)
        {
            lock (_gate)
            {
                _limits.Add((Elapsed, limit()));
            }

            try
            {
                await Task.Delay(100, _stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }));

    /// <summary>The limit samples taken between <paramref name="from"/> and <paramref name="to"/> seconds.</summary>
    public int[] LimitsBetween(double from, double to)
    {
        lock (_gate)
        {
            return _limits.Where(s => s.Seconds >= from && s.Seconds < to).Select(s => s.Limit).ToArray();
        }
    }

    /// <summary>The last time (seconds) a limit sample was outside [<paramref name="low"/>, <paramref name="high"/>] before <paramref name="to"/>, or <paramref name="from"/> if none.</summary>
    public double LastOutside(int low, int high, double from, double to)
    {
        lock (_gate)
        {
            var last = from;
            foreach (var (seconds, limit) in _limits)
            {
                if (seconds >= from && seconds < to && (limit < low || limit > high))
                {
                    last = seconds;
                }
            }

            return last;
        }
    }

    /// <summary>Successful answers completed between <paramref name="from"/> and <paramref name="to"/> seconds.</summary>
    public int OkBetween(double from, double to)
    {
        lock (_gate)
        {
            return _okAt.Count(t => t >= from && t < to);
        }
    }

    public async Task RunUntilAsync(double seconds)
    {
        var remaining = seconds - Elapsed;
        if (remaining > 0)
        {
            await Task.Delay(TimeSpan.FromSeconds(remaining));
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await Task.WhenAll(_loops).WaitAsync(TimeSpan.FromSeconds(70));
        }
        catch (OperationCanceledException)
        {
        }

        _client.Dispose();
        _stop.Dispose();
    }

    private async Task LoopAsync(string path, TimeSpan backoff)
    {
        var uri = new Uri(path, UriKind.Relative);
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                using var response = await _client.GetAsync(uri, _stop.Token);
                await response.Content.ReadAsByteArrayAsync(_stop.Token);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    Interlocked.Increment(ref _ok);
                    lock (_gate)
                    {
                        _okAt.Add(Elapsed);
                    }
                }
                else if (response.StatusCode == HttpStatusCode.TooManyRequests)
                {
                    Interlocked.Increment(ref _rejected);
                    if (backoff > TimeSpan.Zero)
                    {
                        await Task.Delay(backoff, _stop.Token);
                    }
                }
                else
                {
                    Interlocked.Increment(ref _errors);
                }
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (HttpRequestException)
            {
                Interlocked.Increment(ref _errors);
            }
        }
    }
}
