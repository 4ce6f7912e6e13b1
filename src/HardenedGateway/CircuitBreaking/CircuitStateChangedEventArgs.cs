namespace HardenedGateway;

/// <summary>Describes a transition of a <see cref="CircuitBreaker"/>.</summary>
/// <param name="previousState">The state before the transition.</param>
/// <param name="newState">The state after the transition.</param>
public sealed class CircuitStateChangedEventArgs(CircuitState previousState, CircuitState newState) : EventArgs
{
    /// <summary>Gets the state before the transition.</summary>
    public CircuitState PreviousState { get; } = previousState;

    /// <summary>Gets the state after the transition.</summary>
    public CircuitState NewState { get; } = newState;

    /// <summary>
    /// Gets a value indicating whether the transition applies another replica's verdict
    /// (<see cref="CircuitBreaker.ApplyRemoteOpen"/>, <see cref="CircuitBreaker.ApplyRemoteClose"/>) rather than
    /// this breaker's own outcome; a coordinator shares only transitions that are not remote.
    /// </summary>
    public bool IsRemote { get; init; }
}
