namespace HardenedGateway;

/// <summary>The state of a <see cref="CircuitBreaker"/> (FR-013). The numeric values are those of the
/// <c>hardened_gateway_circuit_breaker_state</c> gauge.</summary>
public enum CircuitState
{
    /// <summary>Requests flow; consecutive failures are counted.</summary>
    Closed = 0,

    /// <summary>Requests are rejected until the recovery timeout has passed.</summary>
    Open = 1,

    /// <summary>A limited number of probe requests is admitted to test the upstream.</summary>
    HalfOpen = 2,
}
