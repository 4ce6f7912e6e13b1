namespace HardenedGateway;

/// <summary>What an <see cref="IAdmissionGate"/> decided for one request.</summary>
public enum AdmissionOutcome
{
    /// <summary>The request may go to the upstream; hand the ticket back with <see cref="IAdmissionGate.Leave"/>.</summary>
    Admitted,

    /// <summary>The cluster-wide budget is used up: the request gets 429 (<c>concurrency_limit</c>).</summary>
    OverBudget,

    /// <summary>The request was to be a half-open probe and every cluster-wide probe slot is taken: 503 (<c>circuit_open</c>).</summary>
    ProbeDenied,
}
