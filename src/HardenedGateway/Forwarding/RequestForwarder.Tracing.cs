using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Http;

namespace HardenedGateway.Forwarding;

/// <content>Tracing: the forwarded request inside an activity, when anyone listens (<see cref="HardenedGatewayTracing"/>).</content>
internal sealed partial class RequestForwarder
{
    /// <summary>Forwards the request. Writes the upstream's answer, or nothing when it failed before headers (the caller answers then).</summary>
    public ValueTask<ForwardResult> ForwardAsync(HttpContext context, HardenedUpstream upstream, string target) =>
        ForwardingActivity.Source.HasListeners()
            ? ForwardTracedAsync(context, upstream, target)
            : ForwardCoreAsync(context, upstream, target);

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<ForwardResult> ForwardTracedAsync(HttpContext context, HardenedUpstream upstream, string target)
    {
        // Started in this async method, so the activity is Activity.Current for the exchange only.
        using var activity = ForwardingActivity.Start(context, upstream);
        try
        {
            var result = await ForwardCoreAsync(context, upstream, target).ConfigureAwait(false);
            ForwardingActivity.SetOutcome(activity, result);
            return result;
        }
        catch (Exception ex)
        {
            ForwardingActivity.SetException(activity, ex);
            throw;
        }
    }
}
