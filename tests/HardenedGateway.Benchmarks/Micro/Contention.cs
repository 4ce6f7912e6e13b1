namespace HardenedGateway.Benchmarks.Micro;

/// <summary>Runs a loop on two threads at once, for the contended benchmarks.</summary>
/// <remarks>
/// A bare <c>Parallel.For</c> may run both halves on the calling thread, one after the other, when the
/// second worker starts late; the barrier makes each half wait for the other, so they overlap.
/// </remarks>
internal sealed class Contention : IDisposable
{
    public const int Threads = 2;
    public const int OperationsPerThread = 100_000;

    private static readonly ParallelOptions Options = new() { MaxDegreeOfParallelism = Threads };

    private readonly Barrier _start = new(Threads);

    public void Run<TState>(TState state, Action<TState> operation) =>
        Parallel.For(0, Threads, Options, _ =>
        {
            _start.SignalAndWait();
            for (var i = 0; i < OperationsPerThread; i++)
            {
                operation(state);
            }
        });

    public void Dispose() => _start.Dispose();
}
