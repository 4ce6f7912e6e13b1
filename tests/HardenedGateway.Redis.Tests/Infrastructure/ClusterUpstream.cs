using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace HardenedGateway.Redis.Tests.Infrastructure;

/// <summary>
/// The one upstream behind every replica: a real Kestrel server on 127.0.0.1 that holds each request
/// until <see cref="Release"/> (or answers at once, or fails with 500), and counts hits and the most
/// requests it saw in flight at once: what the cluster budget protects.
/// </summary>
public sealed class ClusterUpstream : IAsyncDisposable
{
    private readonly Lock _lock = new();
    private TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TestUpstream _upstream = null!;
    private int _inFlight;
    private int _maxInFlight;
    private int _hits;
    private volatile UpstreamMode _mode;

    public enum UpstreamMode
    {
        /// <summary>Every request waits for <see cref="Release"/>.</summary>
        Hold,

        /// <summary>Every request answers 200 at once.</summary>
        Answer,

        /// <summary>Every request answers 500 at once (a breaker failure).</summary>
        Fail,
    }

    public Uri BaseAddress => _upstream.BaseAddress;

    public int InFlight => Volatile.Read(ref _inFlight);

    public int MaxInFlight => Volatile.Read(ref _maxInFlight);

    public int Hits => Volatile.Read(ref _hits);

    public UpstreamMode Mode
    {
        get => _mode;
        set => _mode = value;
    }

    public static async Task<ClusterUpstream> StartAsync(UpstreamMode mode)
    {
        var upstream = new ClusterUpstream { _mode = mode };
        upstream._upstream = await TestUpstream.StartAsync(app => app.Map("/{**rest}", upstream.HandleAsync)).ConfigureAwait(false);
        return upstream;
    }

    /// <summary>Lets every held request answer 200; later requests are held again.</summary>
    public void Release()
    {
        lock (_lock)
        {
            _release.TrySetResult();
            _release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }

    public void ResetMaxInFlight() => Volatile.Write(ref _maxInFlight, InFlight);

    public async ValueTask DisposeAsync()
    {
        Release();
        await _upstream.DisposeAsync().ConfigureAwait(false);
    }

    private async Task HandleAsync(HttpContext context)
    {
        Interlocked.Increment(ref _hits);
        var now = Interlocked.Increment(ref _inFlight);
        int seen;
        while (now > (seen = Volatile.Read(ref _maxInFlight)) && Interlocked.CompareExchange(ref _maxInFlight, now, seen) != seen)
        {
        }

        try
        {
            switch (_mode)
            {
                case UpstreamMode.Fail:
                    context.Response.StatusCode = StatusCodes.Status500InternalServerError;
                    return;
                case UpstreamMode.Hold:
                    Task release;
                    lock (_lock)
                    {
                        release = _release.Task;
                    }

                    await release.WaitAsync(context.RequestAborted).ConfigureAwait(false);
                    break;
            }

            await context.Response.WriteAsync("ok", context.RequestAborted).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // The gateway went away.
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }
}
