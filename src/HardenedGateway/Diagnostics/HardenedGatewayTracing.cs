namespace HardenedGateway;

/// <summary>
/// The names of the gateway's tracing: one <see cref="System.Diagnostics.Activity"/> of kind
/// <see cref="System.Diagnostics.ActivityKind.Client"/> per forwarded request, from the
/// <see cref="System.Diagnostics.ActivitySource"/> named <see cref="ActivitySourceName"/>.
/// </summary>
/// <remarks>
/// <para>
/// The activity is a child of the incoming request's activity (or, when ASP.NET Core made none, of the
/// client's <c>traceparent</c>), and its W3C trace context is what the upstream receives in
/// <c>traceparent</c> and <c>tracestate</c>, through <see cref="System.Diagnostics.DistributedContextPropagator.Current"/>.
/// Without a listener no activity is created and the client's trace headers are passed on unchanged.
/// Requests the gateway answers itself without forwarding (429, 503, 400, 501) have no activity; their
/// metrics and logs record them.
/// </para>
/// <para>
/// Tags: <see cref="ProxyTagName"/>, <c>http.request.method</c>, <c>server.address</c>, <c>server.port</c>
/// (the upstream), and when the exchange ends <see cref="StatusCodeTagName"/> (the status the client got,
/// 499 when it went away) and <see cref="ReasonTagName"/>. A failed exchange (any reason but
/// <c>client_aborted</c>, or a 5xx answer) also gets <c>error.type</c> and the status
/// <see cref="System.Diagnostics.ActivityStatusCode.Error"/>.
/// With OpenTelemetry: <c>tracing.AddSource(HardenedGatewayTracing.ActivitySourceName)</c>.
/// </para>
/// </remarks>
public static class HardenedGatewayTracing
{
    /// <summary>The name of the activity source: <c>HardenedGateway</c>.</summary>
    public const string ActivitySourceName = "HardenedGateway";

    /// <summary>The operation name of a forwarded request's activity: <c>HardenedGateway.Forward</c>.</summary>
    public const string ForwardActivityName = "HardenedGateway.Forward";

    /// <summary>The tag holding the proxy (upstream) name: <c>hardened_gateway.proxy</c>.</summary>
    public const string ProxyTagName = "hardened_gateway.proxy";

    /// <summary>The tag holding how the exchange ended: a <c>reason</c> label of <c>hardened_gateway_errors_total</c>
    /// (<see cref="GatewayErrorReasonExtensions.ToLabel"/>), or <c>none</c>: <c>hardened_gateway.reason</c>.</summary>
    public const string ReasonTagName = "hardened_gateway.reason";

    /// <summary>The tag holding the status code the client got: <c>http.response.status_code</c>.</summary>
    public const string StatusCodeTagName = "http.response.status_code";
}
