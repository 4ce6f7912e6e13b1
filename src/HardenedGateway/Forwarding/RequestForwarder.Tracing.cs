using HardenedGateway.Hosting;
using Microsoft.AspNetCore.Http;

namespace HardenedGateway.Forwarding;

/// <content>Tracing: the forwarded request inside an activity, when anyone listens (<see cref="HardenedGatewayTracing"/>).</content>
internal sealed partial class RequestForwarder
{
    /// <summary>
    /// Forwards an admitted request and ends its admission (<see cref="AdmittedRequest"/>): the upstream's
    /// answer is streamed to the client, or a failure before headers is answered with a problem body.
    /// </summary>
    public Task ForwardAsync(HttpContext context, HardenedUpstream upstream, string target, AdmittedRequest admitted) =>
        ForwardingActivity.Source.HasListeners()
            ? ForwardTracedAsync(context, upstream, target, admitted)
            : ForwardCoreAsync(context, upstream, target, admitted);

    private async Task ForwardTracedAsync(HttpContext context, HardenedUpstream upstream, string target, AdmittedRequest admitted)
    {
        // Started in this async method, so the activity is Activity.Current for the exchange only.
        using var activity = ForwardingActivity.Start(context, upstream);
        try
        {
            var result = await ForwardCoreAsync(context, upstream, target, admitted).ConfigureAwait(false);
            ForwardingActivity.SetOutcome(activity, result);
        }
        catch (Exception ex)
        {
            ForwardingActivity.SetException(activity, ex);
            throw;
        }
    }
}
