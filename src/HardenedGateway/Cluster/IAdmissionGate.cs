namespace HardenedGateway;

/// <summary>
/// A second admission step for one upstream, asked after its breaker and its local limiter admitted a
/// request, for example a budget shared by every replica of the app (CL-001). The core knows nothing
/// of how a gate decides; a coordination package supplies gates through an <see cref="IAdmissionGateProvider"/>.
/// </summary>
/// <remarks>
/// <para>
/// An upstream without a gate pays nothing for this seam: the request pipeline and typed clients test
/// one field for <see langword="null"/>. Over the budget the request gets the same 429
/// (<c>concurrency_limit</c>, <c>Retry-After</c>) as at the local limit, and its local slot is given back.
/// </para>
/// <para>
/// A gate must never stop traffic because its coordinator is slow or away: it answers
/// <see cref="AdmissionOutcome.Admitted"/> (the local limit still applies) and reports
/// <see cref="IsDegraded"/>; the health check and the <c>hardened_gateway_cluster_degraded</c> gauge show it.
/// </para>
/// </remarks>
public interface IAdmissionGate
{
    /// <summary>Gets a value indicating whether the gate is falling back to the local limit alone (its coordinator is unavailable).</summary>
    bool IsDegraded { get; }

    /// <summary>Gets the requests in flight to the upstream across all replicas, as last seen (<c>hardened_gateway_cluster_in_flight</c>).</summary>
    long ClusterInFlight { get; }

    /// <summary>Asks whether a request the breaker and the local limiter admitted may go on.</summary>
    /// <param name="permit">The breaker's permit; <see cref="CircuitPermit.IsProbe"/> tells a half-open probe.</param>
    /// <param name="cancellationToken">The caller went away.</param>
    /// <returns>The ticket; an admitted one must be handed back to <see cref="Leave"/> exactly once.</returns>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled; nothing is held then.</exception>
    ValueTask<AdmissionTicket> EnterAsync(CircuitPermit permit, CancellationToken cancellationToken);

    /// <summary>Gives back what an admitted request held; must not block.</summary>
    /// <param name="ticket">The ticket from <see cref="EnterAsync"/>.</param>
    void Leave(in AdmissionTicket ticket);
}
