using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace HardenedGateway.Redis.Tests.DependencyInjection;

/// <summary>The <c>HardenedGateway:Redis</c> settings: defaults, ranges and the exact start-up messages.</summary>
[TestFixture]
public sealed class HardenedGatewayRedisOptionsTests
{
    [Test]
    public void Defaults_Constructed_AreTheDocumentedOnes()
    {
        var options = new HardenedGatewayRedisOptions();
        Assert.Multiple(() =>
        {
            Assert.That(options.Configuration, Is.Null);
            Assert.That(options.KeyPrefix, Is.EqualTo("hardened-gateway:"));
            Assert.That(options.OperationTimeout, Is.EqualTo(TimeSpan.FromMilliseconds(50)));
            Assert.That(options.LeaseTime, Is.EqualTo(TimeSpan.FromSeconds(30)));
            Assert.That(HardenedGatewayRedisOptionsValidator.Collect(new HardenedGatewayRedisOptions { Configuration = "127.0.0.1:6379" }), Is.Empty);
        });
    }

    [Test]
    public void Validate_NoConfiguration_NamesTheKey()
    {
        var failures = HardenedGatewayRedisOptionsValidator.Collect(new HardenedGatewayRedisOptions());
        Assert.That(failures, Is.EqualTo(new[] { "HardenedGateway:Redis:Configuration is required: a StackExchange.Redis configuration string such as '127.0.0.1:6379'." }));
    }

    [TestCase("00:00:00", "HardenedGateway:Redis:OperationTimeout is '00:00:00'; allowed: 1 ms .. 5 s.")]
    [TestCase("00:00:05.001", "HardenedGateway:Redis:OperationTimeout is '00:00:05.0010000'; allowed: 1 ms .. 5 s.")]
    [TestCase("2.00:00:00", "HardenedGateway:Redis:OperationTimeout is '2.00:00:00'; allowed: 1 ms .. 5 s. A bare number binds as days ('2' is 2 days); write durations as 'hh:mm:ss', for example '00:00:00.050' for 50 ms.")]
    public void Validate_OperationTimeoutOutOfRange_NamesKeyValueAndRange(string value, string expected)
    {
        var options = new HardenedGatewayRedisOptions { Configuration = "127.0.0.1:6379", OperationTimeout = TimeSpan.Parse(value, System.Globalization.CultureInfo.InvariantCulture) };
        Assert.That(HardenedGatewayRedisOptionsValidator.Collect(options), Is.EqualTo(new[] { expected }));
    }

    [TestCase("00:00:00.999", "HardenedGateway:Redis:LeaseTime is '00:00:00.9990000'; allowed: 1 s .. 1 h.")]
    [TestCase("01:00:01", "HardenedGateway:Redis:LeaseTime is '01:00:01'; allowed: 1 s .. 1 h.")]
    public void Validate_LeaseTimeOutOfRange_NamesKeyValueAndRange(string value, string expected)
    {
        var options = new HardenedGatewayRedisOptions { Configuration = "127.0.0.1:6379", LeaseTime = TimeSpan.Parse(value, System.Globalization.CultureInfo.InvariantCulture) };
        Assert.That(HardenedGatewayRedisOptionsValidator.Collect(options), Is.EqualTo(new[] { expected }));
    }

    [TestCase("00:00:00.001")]
    [TestCase("00:00:05")]
    public void Validate_OperationTimeoutAtBounds_Passes(string value)
    {
        var options = new HardenedGatewayRedisOptions { Configuration = "127.0.0.1:6379", OperationTimeout = TimeSpan.Parse(value, System.Globalization.CultureInfo.InvariantCulture), LeaseTime = TimeSpan.FromHours(1) };
        Assert.That(HardenedGatewayRedisOptionsValidator.Collect(options), Is.Empty);
    }

    [Test]
    public void Validate_UnparsableConfiguration_SaysSoWithoutQuotingIt()
    {
        var failures = HardenedGatewayRedisOptionsValidator.Collect(new HardenedGatewayRedisOptions { Configuration = "127.0.0.1:6379,password=secret,nosuchkeyword=1" });
        Assert.That(failures, Has.Count.EqualTo(1));
        Assert.Multiple(() =>
        {
            Assert.That(failures[0], Does.StartWith("HardenedGateway:Redis:Configuration is not a valid StackExchange.Redis configuration string: "));
            Assert.That(failures[0], Does.Not.Contain("secret"));
        });
    }

    [Test]
    public void Start_BadLeaseTime_StopsNamingKeyValueAndRange()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["HardenedGateway:Redis:Configuration"] = "127.0.0.1:1",
            ["HardenedGateway:Redis:LeaseTime"] = "2",
        });
        builder.Services.AddHardenedProxy(builder.Configuration.GetSection("HardenedGateway"));
        builder.Services.AddHardenedGatewayRedis(builder.Configuration.GetSection("HardenedGateway:Redis"));
        using var app = builder.Build();

        var error = Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());
        Assert.That(error!.Message, Does.Contain("HardenedGateway:Redis:LeaseTime is '2.00:00:00'; allowed: 1 s .. 1 h."));
    }

    [Test]
    public void Bind_MisspeltKey_FailsNamingIt()
    {
        var services = new ServiceCollection();
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["HardenedGateway:Redis:Configuration"] = "127.0.0.1:1",
            ["HardenedGateway:Redis:LeaseTme"] = "00:00:10",
        }).Build();
        services.AddHardenedGatewayRedis(configuration.GetSection("HardenedGateway:Redis"));
        using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<InvalidOperationException>(() => _ = provider.GetRequiredService<IOptions<HardenedGatewayRedisOptions>>().Value);
        Assert.That(error!.Message, Does.Contain("LeaseTme"));
    }

    [Test]
    public void AddHardenedGatewayRedis_ActionCalledTwice_ConfiguresTheOptionsAndRegistersOneCoordinator()
    {
        var services = new ServiceCollection();
        services.AddHardenedGatewayRedis(options => options.Configuration = "127.0.0.1:1");
        services.AddHardenedGatewayRedis(options => options.KeyPrefix = "app-a:");
        using var provider = services.BuildServiceProvider();
        var options = provider.GetRequiredService<IOptions<HardenedGatewayRedisOptions>>().Value;
        Assert.Multiple(() =>
        {
            Assert.That(options.Configuration, Is.EqualTo("127.0.0.1:1"));
            Assert.That(options.KeyPrefix, Is.EqualTo("app-a:"));
            Assert.That(services.Count(static d => d.ServiceType == typeof(IHostedService)), Is.EqualTo(1));
            Assert.That(services.Count(static d => d.ServiceType == typeof(IAdmissionGateProvider)), Is.EqualTo(1));
        });
    }
}
