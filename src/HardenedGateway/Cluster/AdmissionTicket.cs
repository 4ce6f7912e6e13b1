namespace HardenedGateway;

/// <summary>
/// The answer of an <see cref="IAdmissionGate"/>: the outcome and, for an admitted request, the gate's
/// own state (for example a lease) that it gets back in <see cref="IAdmissionGate.Leave"/>.
/// </summary>
public readonly struct AdmissionTicket
{
    /// <summary>Initializes a new instance of the <see cref="AdmissionTicket"/> struct.</summary>
    /// <param name="outcome">What the gate decided.</param>
    /// <param name="state">The gate's state for an admitted request; <see langword="null"/> when it holds nothing.</param>
    public AdmissionTicket(AdmissionOutcome outcome, object? state = null)
    {
        Outcome = outcome;
        State = state;
    }

    /// <summary>Gets what the gate decided.</summary>
    public AdmissionOutcome Outcome { get; }

    /// <summary>Gets the gate's state for an admitted request, or <see langword="null"/>.</summary>
    public object? State { get; }

    /// <summary>Gets a value indicating whether the request was admitted.</summary>
    public bool IsAdmitted => Outcome == AdmissionOutcome.Admitted;
}
