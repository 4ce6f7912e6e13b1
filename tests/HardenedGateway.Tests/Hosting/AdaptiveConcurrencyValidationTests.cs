using HardenedGateway.Hosting;

namespace HardenedGateway.Tests.Hosting;

/// <summary>The AdaptiveConcurrency keys of DESIGN.md: defaults, ranges, and the MaxConcurrent conflict, with messages naming key, value and range.</summary>
[TestFixture]
public sealed class AdaptiveConcurrencyValidationTests
{
    private const string Key = "HardenedGateway:Proxies:ai:AdaptiveConcurrency";

    [Test]
    public void Defaults_MatchDesign()
    {
        var options = new ProxyOptions().AdaptiveConcurrency;

        Assert.Multiple(() =>
        {
            Assert.That(options.Enabled, Is.False);
            Assert.That(options.MinLimit, Is.EqualTo(1));
            Assert.That(options.MaxLimit, Is.EqualTo(100));
            Assert.That(options.InitialLimit, Is.Null);
            Assert.That(options.EffectiveInitialLimit, Is.EqualTo(1), "InitialLimit defaults to MinLimit");
            Assert.That(options.Tolerance, Is.EqualTo(2.0));
            Assert.That(options.LatencyTarget, Is.EqualTo(TimeSpan.Zero));
        });
    }

    [Test]
    public void Validate_EnabledWithMaxConcurrent_NamesBothKeys()
    {
        var proxy = Valid();
        proxy.MaxConcurrent = 5;

        Assert.That(Failures(proxy), Is.EqualTo(new[] { $"{Key}:Enabled is true and HardenedGateway:Proxies:ai:MaxConcurrent is 5; an adaptive limit replaces the static one, so MaxConcurrent must be 0 or absent." }));
    }

    [Test]
    public void Validate_DisabledWithMaxConcurrent_Succeeds()
    {
        var proxy = Valid();
        proxy.AdaptiveConcurrency.Enabled = false;
        proxy.MaxConcurrent = 5;

        Assert.That(Failures(proxy), Is.Empty);
    }

    [TestCase(0)]
    [TestCase(10_001)]
    public void Validate_MinLimitOutOfRange_NamesKeyValueAndRange(int value)
    {
        var proxy = Valid();
        proxy.AdaptiveConcurrency.MinLimit = value;
        proxy.AdaptiveConcurrency.MaxLimit = 100_000;

        Assert.That(Failures(proxy), Does.Contain($"{Key}:MinLimit is {value}; allowed: 1 .. 10000."));
    }

    [TestCase(3)]
    [TestCase(100_001)]
    public void Validate_MaxLimitOutOfRange_NamesKeyValueAndRange(int value)
    {
        var proxy = Valid();
        proxy.AdaptiveConcurrency.MinLimit = 4;
        proxy.AdaptiveConcurrency.MaxLimit = value;

        Assert.That(Failures(proxy), Is.EqualTo(new[] { $"{Key}:MaxLimit is {value}; allowed: MinLimit (4) .. 100000." }));
    }

    [TestCase(1)]
    [TestCase(65)]
    public void Validate_InitialLimitOutsideMinMax_NamesKeyValueAndRange(int value)
    {
        var proxy = Valid();
        proxy.AdaptiveConcurrency.MinLimit = 2;
        proxy.AdaptiveConcurrency.MaxLimit = 64;
        proxy.AdaptiveConcurrency.InitialLimit = value;

        Assert.That(Failures(proxy), Is.EqualTo(new[] { $"{Key}:InitialLimit is {value}; allowed: MinLimit .. MaxLimit (2 .. 64)." }));
    }

    [TestCase(1.0)]
    [TestCase(10.5)]
    [TestCase(double.NaN)]
    public void Validate_ToleranceOutOfRange_NamesKeyValueAndRange(double value)
    {
        var proxy = Valid();
        proxy.AdaptiveConcurrency.Tolerance = value;

        Assert.That(Failures(proxy), Is.EqualTo(new[] { $"{Key}:Tolerance is {value.ToString(System.Globalization.CultureInfo.InvariantCulture)}; allowed: 1.1 .. 10 (a ratio to the no-load latency)." }));
    }

    [Test]
    public void Validate_LatencyTargetAboveTenMinutes_NamesKeyValueAndRange()
    {
        var proxy = Valid();
        proxy.AdaptiveConcurrency.LatencyTarget = TimeSpan.FromMinutes(11);

        Assert.That(Failures(proxy), Is.EqualTo(new[] { $"{Key}:LatencyTarget is '00:11:00'; allowed: 0 (off) .. 10 min." }));
    }

    [Test]
    public void Validate_DesignExample_Succeeds()
    {
        var proxy = Valid();
        proxy.AdaptiveConcurrency.MinLimit = 1;
        proxy.AdaptiveConcurrency.MaxLimit = 64;
        proxy.AdaptiveConcurrency.InitialLimit = 4;
        proxy.AdaptiveConcurrency.Tolerance = 2.0;

        Assert.That(Failures(proxy), Is.Empty);
    }

    private static ProxyOptions Valid() => new()
    {
        PathPrefix = "/api/ai",
        Upstream = "http://127.0.0.1:8000/",
        AdaptiveConcurrency = new AdaptiveConcurrencyOptions { Enabled = true },
    };

    private static List<string> Failures(ProxyOptions proxy)
    {
        var options = new HardenedProxyOptions();
        options.Proxies["ai"] = proxy;
        var result = new HardenedProxyOptionsValidator().Validate(null, options);
        return result.Failed ? [.. result.Failures!] : [];
    }
}
