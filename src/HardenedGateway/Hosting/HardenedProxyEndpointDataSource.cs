using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Extensions.Primitives;

namespace HardenedGateway.Hosting;

/// <summary>The endpoints of <c>MapHardenedProxies()</c>: two per proxy (the prefix itself and everything below it), rebuilt on reload.</summary>
internal sealed class HardenedProxyEndpointDataSource(ProxyRequestHandler handler) : EndpointDataSource, IEndpointConventionBuilder
{
    private readonly List<Action<EndpointBuilder>> _conventions = [];
    private readonly List<Action<EndpointBuilder>> _finallyConventions = [];
    private readonly Lock _lock = new();
    private IReadOnlyList<HardenedUpstream>? _builtFor;
    private IReadOnlyList<Endpoint> _endpoints = [];

    public override IReadOnlyList<Endpoint> Endpoints
    {
        get
        {
            lock (_lock)
            {
                var upstreams = handler.Registry.Upstreams;
                if (!ReferenceEquals(upstreams, _builtFor))
                {
                    _endpoints = Build(upstreams);
                    _builtFor = upstreams;
                }

                return _endpoints;
            }
        }
    }

    public void Add(Action<EndpointBuilder> convention)
    {
        lock (_lock)
        {
            _conventions.Add(convention);
            _builtFor = null;
        }
    }

    public void Finally(Action<EndpointBuilder> finallyConvention)
    {
        lock (_lock)
        {
            _finallyConventions.Add(finallyConvention);
            _builtFor = null;
        }
    }

    public override IChangeToken GetChangeToken() => handler.Registry.GetChangeToken();

    private List<Endpoint> Build(IReadOnlyList<HardenedUpstream> upstreams)
    {
        var endpoints = new List<Endpoint>();
        foreach (var upstream in upstreams)
        {
            if (upstream.PathPrefix is not { } prefix)
            {
                continue;
            }

            var name = upstream.Name;
            RequestDelegate requestDelegate = context => handler.HandleEndpoint(context, name);
            endpoints.Add(BuildEndpoint(RoutePatternFactory.Parse(prefix), requestDelegate, name, order: 0));
            endpoints.Add(BuildEndpoint(RoutePatternFactory.Parse(prefix + "/{**remainder}"), requestDelegate, name, order: 1));
        }

        return endpoints;
    }

    private Endpoint BuildEndpoint(RoutePattern pattern, RequestDelegate requestDelegate, string name, int order)
    {
        var builder = new RouteEndpointBuilder(requestDelegate, pattern, order)
        {
            DisplayName = $"HardenedProxy {name} {pattern.RawText}",
        };
        builder.Metadata.Add(new HardenedProxyEndpointMetadata(name));
        foreach (var convention in _conventions)
        {
            convention(builder);
        }

        foreach (var convention in _finallyConventions)
        {
            convention(builder);
        }

        return builder.Build();
    }
}
