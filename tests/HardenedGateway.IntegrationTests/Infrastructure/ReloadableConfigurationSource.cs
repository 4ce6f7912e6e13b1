using Microsoft.Extensions.Configuration;

namespace HardenedGateway.IntegrationTests.Infrastructure;

/// <summary>An in-memory configuration source whose whole content can be replaced, firing a reload (keys can be removed, unlike AddInMemoryCollection).</summary>
public sealed class ReloadableConfigurationSource(IDictionary<string, string?> initial) : IConfigurationSource
{
    public ReloadableConfigurationProvider Provider { get; } = new(initial);

    public IConfigurationProvider Build(IConfigurationBuilder builder) => Provider;
}

/// <summary>The provider of <see cref="ReloadableConfigurationSource"/>.</summary>
public sealed class ReloadableConfigurationProvider : ConfigurationProvider
{
    public ReloadableConfigurationProvider(IDictionary<string, string?> initial)
    {
        foreach (var (key, value) in initial)
        {
            Data[key] = value;
        }
    }

    /// <summary>Replaces every key and fires the configuration's reload token.</summary>
    public void Replace(IDictionary<string, string?> settings)
    {
        Data = new Dictionary<string, string?>(settings, StringComparer.OrdinalIgnoreCase);
        OnReload();
    }
}
