using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace HardenedGateway.IntegrationTests.Infrastructure;

/// <summary>
/// A Kestrel upstream whose every request is held until <see cref="Release"/>; it counts hits and
/// the most requests it saw in flight at once, and reports aborted requests.
/// </summary>
public sealed class HoldingUpstream : IAsyncDisposable
{
    private readonly Gate _release = new();
    private readonly TaskCompletionSource _firstAborted = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TestUpstream _upstream = null!;
    private int _inFlight;
    private int _maxInFlight;
    private int _hits;

    public Uri BaseAddress => _upstream.BaseAddress;

    public int InFlight => Volatile.Read(ref _inFlight);

    public int MaxInFlight => Volatile.Read(ref _maxInFlight);

    public int Hits => Volatile.Read(ref _hits);

    public int AcceptedConnections => _upstream.AcceptedConnections;

    /// <summary>Completes when the first held request is aborted by the gateway.</summary>
    public Task FirstAborted => _firstAborted.Task;

    public static async Task<HoldingUpstream> StartAsync()
    {
        var holding = new HoldingUpstream();
        holding._upstream = await TestUpstream.StartAsync(app => app.Map("/{**rest}", holding.HandleAsync)).ConfigureAwait(false);
        return holding;
    }

    /// <summary>Lets every held and future request answer 200 "released".</summary>
    public void Release() => _release.Open();

    public async ValueTask DisposeAsync()
    {
        _release.Open();
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
            await _release.WaitAsync(context.RequestAborted).ConfigureAwait(false);
            await context.Response.WriteAsync("released", context.RequestAborted).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            _firstAborted.TrySetResult();
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }
}
