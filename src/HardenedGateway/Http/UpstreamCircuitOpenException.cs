using System.Net;

namespace HardenedGateway;

/// <summary>The upstream's circuit breaker is open (or half-open with every probe slot taken); the call was not sent (503 on the proxy route).</summary>
#pragma warning disable CA1032 // see UpstreamRejectedException
public sealed class UpstreamCircuitOpenException : UpstreamRejectedException
#pragma warning restore CA1032
{
    /// <summary>Initializes a new instance of the <see cref="UpstreamCircuitOpenException"/> class.</summary>
    /// <param name="upstreamName">The upstream's name.</param>
    /// <param name="retryAfter">How long until the circuit admits a probe.</param>
    /// <param name="circuitState">The breaker's state when the call was refused.</param>
    public UpstreamCircuitOpenException(string upstreamName, TimeSpan retryAfter, CircuitState circuitState)
        : base(upstreamName, retryAfter, HttpStatusCode.ServiceUnavailable, $"The circuit breaker of upstream '{upstreamName}' is {(circuitState == CircuitState.HalfOpen ? "half-open with every probe slot taken" : "open")}; retry after {retryAfter.TotalSeconds:0.###} s.")
    {
        CircuitState = circuitState;
    }

    /// <summary>Gets the breaker's state when the call was refused.</summary>
    public CircuitState CircuitState { get; }

    /// <inheritdoc />
    public override GatewayErrorReason Reason => GatewayErrorReason.CircuitOpen;
}
