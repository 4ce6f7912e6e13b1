using HardenedGateway;
using HardenedGateway.Hosting;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps HardenedGateway's proxy routes as endpoints.</summary>
public static class HardenedProxyEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps every configured proxy prefix as endpoints, so the app can order them and add
    /// authorization, CORS or rate limiting: <c>app.MapHardenedProxies().RequireAuthorization()</c>.
    /// Needs <c>HardenedGateway:AutoMapProxies</c> set to <see langword="false"/>. The endpoints follow
    /// configuration reloads.
    /// </summary>
    /// <param name="endpoints">The route builder (the app).</param>
    /// <returns>A builder for conventions applied to every proxy endpoint.</returns>
    /// <exception cref="InvalidOperationException"><c>AddHardenedProxy</c> was not called, or the proxies are already mapped automatically.</exception>
    public static IEndpointConventionBuilder MapHardenedProxies(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var handler = endpoints.ServiceProvider.GetService<ProxyRequestHandler>()
            ?? throw new InvalidOperationException("MapHardenedProxies needs the proxy services: call builder.Services.AddHardenedProxy(...) first.");
        if (handler.Registry.AutoMapProxies)
        {
            throw new InvalidOperationException(
                "The proxies are already mapped automatically. Set HardenedGateway:AutoMapProxies to false (or options.AutoMapProxies = false) to map them with MapHardenedProxies().");
        }

        var dataSource = new HardenedProxyEndpointDataSource(handler);
        endpoints.DataSources.Add(dataSource);
        return dataSource;
    }
}
