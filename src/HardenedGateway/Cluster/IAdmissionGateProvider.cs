namespace HardenedGateway;

/// <summary>
/// Supplies the <see cref="IAdmissionGate"/> of each upstream; registered in dependency injection by a
/// coordination package (for example <c>AddHardenedGatewayRedis</c>). Without one, no upstream has a gate.
/// </summary>
public interface IAdmissionGateProvider
{
    /// <summary>
    /// Called once for each upstream instance the gateway builds (at start-up, for each typed-client
    /// upstream, and after a reload that changed a proxy's settings), before it serves a request.
    /// </summary>
    /// <param name="upstream">The new upstream instance; its limiter, breaker and settings are set, its metrics are not yet.</param>
    /// <returns>The gate, or <see langword="null"/> when this upstream needs none.</returns>
    IAdmissionGate? GetGate(HardenedUpstream upstream);
}
