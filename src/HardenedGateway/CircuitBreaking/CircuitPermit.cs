namespace HardenedGateway;

/// <summary>
/// Proof that a <see cref="CircuitBreaker"/> admitted a request. Hand it back with exactly one of
/// <see cref="CircuitBreaker.OnSuccess"/>, <see cref="CircuitBreaker.OnFailure"/> or
/// <see cref="CircuitBreaker.OnAbandoned"/>.
/// </summary>
/// <remarks>The permit remembers the breaker's generation, so an outcome that arrives after the breaker
/// has moved on (a slow request admitted before the circuit opened) cannot flip the new state.</remarks>
public readonly record struct CircuitPermit
{
    internal CircuitPermit(long generation, bool isProbe)
    {
        Generation = generation;
        IsProbe = isProbe;
    }

    /// <summary>Gets a value indicating whether the request is a half-open probe.</summary>
    public bool IsProbe { get; }

    internal long Generation { get; }
}
