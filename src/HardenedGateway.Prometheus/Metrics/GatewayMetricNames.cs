namespace HardenedGateway.Prometheus;

/// <summary>The metric and label names of DESIGN.md, which are also the names of the gateway meter's instruments.</summary>
internal static class GatewayMetricNames
{
    public const string RequestsTotal = "hardened_gateway_requests_total";
    public const string ErrorsTotal = "hardened_gateway_errors_total";
    public const string RequestDuration = "hardened_gateway_request_duration_seconds";
    public const string UpstreamDuration = "hardened_gateway_upstream_duration_seconds";
    public const string BufferPoolRentedTotal = "hardened_gateway_buffer_pool_rented_total";
    public const string BufferPoolFallbackTotal = "hardened_gateway_buffer_pool_fallback_total";

    public const string ProxyLabel = "proxy";
    public const string CodeLabel = "code";
    public const string ReasonLabel = "reason";

    /// <summary>The <c>reason</c> values of <c>hardened_gateway_errors_total</c>, every one shown from a proxy's start.</summary>
    public static readonly string[] ErrorReasonLabels = Array.ConvertAll(
        Array.FindAll(Enum.GetValues<GatewayErrorReason>(), static reason => reason != GatewayErrorReason.None),
        static reason => reason.ToLabel());
}
