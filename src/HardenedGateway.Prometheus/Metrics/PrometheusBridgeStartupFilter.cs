using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;

namespace HardenedGateway.Prometheus;

/// <summary>
/// Starts the bridge while the app builds its pipeline, before the server accepts a request, so the
/// series count every proxied request. Taking the bridge as a dependency is what starts it.
/// </summary>
internal sealed class PrometheusBridgeStartupFilter(PrometheusBridge bridge) : IStartupFilter
{
    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next)
    {
        GC.KeepAlive(bridge);
        return next;
    }
}
