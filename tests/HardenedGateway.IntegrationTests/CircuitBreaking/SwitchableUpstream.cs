using HardenedGateway.IntegrationTests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace HardenedGateway.IntegrationTests.CircuitBreaking;

/// <summary>A Kestrel upstream that answers with a settable status code and counts its hits.</summary>
internal sealed class SwitchableUpstream : IAsyncDisposable
{
    private TestUpstream _upstream = null!;
    private int _status = StatusCodes.Status500InternalServerError;
    private int _hits;

    public Uri BaseAddress => _upstream.BaseAddress;

    public int Hits => Volatile.Read(ref _hits);

    /// <summary>Gets or sets the status the next requests get; while <see cref="Hold"/> is set, requests wait for it first.</summary>
    public int Status
    {
        get => Volatile.Read(ref _status);
        set => Volatile.Write(ref _status, value);
    }

    /// <summary>Gets or sets a gate every request waits on before answering (null: answer at once).</summary>
    public Gate? Hold { get; set; }

    public static async Task<SwitchableUpstream> StartAsync()
    {
        var switchable = new SwitchableUpstream();
        switchable._upstream = await TestUpstream.StartAsync(app => app.Map("/{**rest}", async (HttpContext context) =>
        {
            Interlocked.Increment(ref switchable._hits);
            if (switchable.Hold is { } hold)
            {
                await hold.WaitAsync(context.RequestAborted);
            }

            context.Response.StatusCode = switchable.Status;
            await context.Response.WriteAsync($"status {switchable.Status}", context.RequestAborted);
        }));
        return switchable;
    }

    public ValueTask DisposeAsync()
    {
        Hold?.Open();
        return _upstream.DisposeAsync();
    }
}
