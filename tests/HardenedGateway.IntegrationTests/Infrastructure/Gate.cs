namespace HardenedGateway.IntegrationTests.Infrastructure;

/// <summary>A one-shot gate: waiters block until <see cref="Open"/>.</summary>
public sealed class Gate
{
    private readonly TaskCompletionSource _source = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task Task => _source.Task;

    public void Open() => _source.TrySetResult();

    public Task WaitAsync(CancellationToken cancellationToken) => _source.Task.WaitAsync(cancellationToken);
}
