namespace HardenedGateway.Limiting.Adaptive;

/// <summary>One move of the adaptive limit, as logged.</summary>
/// <param name="PreviousLimit">The limit before.</param>
/// <param name="NewLimit">The limit after.</param>
/// <param name="BaselineSeconds">The no-load response-header latency the decision used.</param>
/// <param name="RecentSeconds">The recent response-header latency the decision used.</param>
/// <param name="Reason">Why.</param>
internal readonly record struct AdaptiveLimitChange(int PreviousLimit, int NewLimit, double BaselineSeconds, double RecentSeconds, AdaptiveLimitReason Reason)
{
    /// <summary>Gets a value indicating whether the change is big enough (10 % or more) to log at Information.</summary>
    public bool IsSignificant => Math.Abs(NewLimit - PreviousLimit) * 10 >= PreviousLimit;
}
