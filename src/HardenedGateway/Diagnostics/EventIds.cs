namespace HardenedGateway.Diagnostics;

/// <summary>The one registry of the library's log event ids; they are stable across releases.</summary>
internal static class EventIds
{
    public const int RequestCompleted = 1;
    public const int RequestFailed = 2;
    public const int CircuitStateChanged = 10;
    public const int BadUpstreamResponse = 20;
    public const int UpstreamAbortedMidBody = 21;
    public const int ClientAborted = 22;
    public const int RequestBodyRejected = 23;
    public const int BufferPoolExhausted = 30;
    public const int ConfigurationReloaded = 40;
    public const int ConfigurationRejected = 41;
    public const int TransportChangeNeedsRestart = 42;
    public const int TunnelCompleted = 50;
    public const int TunnelUpgradeFailed = 51;
    public const int AdaptiveLimitChanged = 52;
}
