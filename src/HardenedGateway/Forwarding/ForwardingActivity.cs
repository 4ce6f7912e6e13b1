using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.Http;

namespace HardenedGateway.Forwarding;

/// <summary>The <see cref="Activity"/> of one forwarded request (see <see cref="HardenedGatewayTracing"/>).</summary>
internal static class ForwardingActivity
{
    public static readonly ActivitySource Source = new(HardenedGatewayTracing.ActivitySourceName);

    /// <summary>Starts the activity: a child of the current one, or else of the client's <c>traceparent</c>. Null when no listener samples it.</summary>
    public static Activity? Start(HttpContext context, HardenedUpstream upstream)
    {
        // ASP.NET Core creates the request's activity only when someone listens to it; without one,
        // continue the client's trace rather than start a new one.
        var parent = Activity.Current is null ? ExtractParent(context.Request.Headers) : default;
        var activity = Source.StartActivity(HardenedGatewayTracing.ForwardActivityName, ActivityKind.Client, parent);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag(HardenedGatewayTracing.ProxyTagName, upstream.Name);
            activity.SetTag("http.request.method", context.Request.Method);
            if (upstream.BaseAddress is { } address)
            {
                activity.SetTag("server.address", address.Host);
                activity.SetTag("server.port", address.Port);
            }
        }

        return activity;
    }

    /// <summary>Sends the current forwarding activity's trace context upstream, replacing the client's
    /// (the shared transport propagates nothing itself). Does nothing outside a forwarding activity.</summary>
    public static void InjectTraceContext(HttpRequestMessage request)
    {
        if (Activity.Current is { } activity && ReferenceEquals(activity.Source, Source))
        {
            DistributedContextPropagator.Current.Inject(activity, request, static (carrier, name, value) =>
            {
                var headers = ((HttpRequestMessage)carrier!).Headers;
                headers.Remove(name);
                headers.TryAddWithoutValidation(name, value);
            });
        }
    }

    /// <summary>Records how the exchange ended.</summary>
    public static void SetOutcome(Activity? activity, ForwardResult result)
    {
        if (activity is not { IsAllDataRequested: true })
        {
            return;
        }

        var reason = result.Reason == GatewayErrorReason.None ? "none" : result.Reason.ToLabel();
        activity.SetTag(HardenedGatewayTracing.StatusCodeTagName, result.StatusCode);
        activity.SetTag(HardenedGatewayTracing.ReasonTagName, reason);
        if (result.Reason is not (GatewayErrorReason.None or GatewayErrorReason.ClientAborted) || result.StatusCode >= StatusCodes.Status500InternalServerError)
        {
            var errorType = result.Reason == GatewayErrorReason.None ? result.StatusCode.ToString(CultureInfo.InvariantCulture) : reason;
            activity.SetTag("error.type", errorType);
            activity.SetStatus(ActivityStatusCode.Error, errorType);
        }
    }

    /// <summary>Records an exception escaping the forwarder; an exception filter, so it returns false and the exception goes on unchanged.</summary>
    public static bool RecordEscaping(Activity? activity, Exception exception)
    {
        if (activity is not null)
        {
            activity.AddException(exception);
            activity.SetTag("error.type", exception.GetType().FullName);
            activity.SetStatus(ActivityStatusCode.Error, exception.Message);
        }

        return false;
    }

    private static ActivityContext ExtractParent(IHeaderDictionary headers)
    {
        DistributedContextPropagator.Current.ExtractTraceIdAndState(
            headers,
            static (carrier, name, out value, out values) =>
            {
                values = null;
                value = ((IHeaderDictionary)carrier!)[name].ToString();
                value = value.Length == 0 ? null : value;
            },
            out var traceParent,
            out var traceState);
        return ActivityContext.TryParse(traceParent, traceState, isRemote: true, out var context) ? context : default;
    }
}
