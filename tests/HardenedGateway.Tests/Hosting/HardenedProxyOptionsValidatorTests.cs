using System.Globalization;
using HardenedGateway.Hosting;
using Microsoft.Extensions.Configuration;

namespace HardenedGateway.Tests.Hosting;

[TestFixture]
public sealed class HardenedProxyOptionsValidatorTests
{
    private const string Key = "HardenedGateway:Proxies:ai";

    private static readonly TimeSpan Tick = TimeSpan.FromTicks(1);

    [Test]
    public void Validate_DefaultsWithOneProxy_Succeeds()
    {
        var result = new HardenedProxyOptionsValidator().Validate(null, WithProxy(Valid()));

        Assert.That(result.Succeeded, Is.True, result.FailureMessage);
    }

    [Test]
    public void Validate_NoProxies_Succeeds()
    {
        Assert.That(Failures(new HardenedProxyOptions()), Is.Empty);
    }

    [Test]
    public void Validate_MissingUpstream_NamesKeyAndExample()
    {
        var proxy = Valid();
        proxy.Upstream = null;

        Assert.That(Failures(WithProxy(proxy)), Is.EqualTo(new[] { $"{Key}:Upstream is required: an absolute http or https URI such as 'http://127.0.0.1:8000/'." }));
    }

    [TestCase("127.0.0.1:8000/v1")]
    [TestCase("v1/generate")]
    [TestCase("/v1")]
    [TestCase("ftp://127.0.0.1/")]
    [TestCase("ws://127.0.0.1:8000/")]
    [TestCase("file:///etc/passwd")]
    public void Validate_RelativeOrNonHttpUpstream_NamesKeyAndValue(string upstream)
    {
        var proxy = Valid();
        proxy.Upstream = upstream;

        Assert.That(Failures(WithProxy(proxy)), Is.EqualTo(new[] { $"{Key}:Upstream is '{upstream}'; it must be an absolute http or https URI such as 'http://127.0.0.1:8000/'." }));
    }

    [TestCase("http://127.0.0.1:8000/?key=1")]
    [TestCase("http://127.0.0.1:8000/v1#top")]
    [TestCase("https://127.0.0.1/v1?")]
    public void Validate_UpstreamWithQueryOrFragment_NamesKeyAndValue(string upstream)
    {
        var proxy = Valid();
        proxy.Upstream = upstream;

        Assert.That(Failures(WithProxy(proxy)), Is.EqualTo(new[] { $"{Key}:Upstream is '{upstream}'; it must not have a query or fragment." }));
    }

    [TestCase("http://127.0.0.1:8000/")]
    [TestCase("https://ai.internal/v1/")]
    [TestCase("http://[::1]:8000")]
    public void Validate_AbsoluteHttpUpstream_Succeeds(string upstream)
    {
        var proxy = Valid();
        proxy.Upstream = upstream;

        Assert.That(Failures(WithProxy(proxy)), Is.Empty);
    }

    [Test]
    public void Validate_MissingPrefix_NamesKey()
    {
        var proxy = Valid();
        proxy.PathPrefix = null;

        Assert.That(Failures(WithProxy(proxy)), Is.EqualTo(new[] { $"{Key}:PathPrefix is required: a path such as '/api/ai'." }));
    }

    [TestCase("api/ai")]
    [TestCase("/api/ai/")]
    [TestCase("/")]
    [TestCase("/api//ai")]
    [TestCase("/api/ai?x=1")]
    public void Validate_MalformedPrefix_NamesKeyAndValue(string prefix)
    {
        var proxy = Valid();
        proxy.PathPrefix = prefix;

        Assert.That(Failures(WithProxy(proxy)), Is.EqualTo(new[]
        {
            $"{Key}:PathPrefix is '{prefix}'; it must start with '/', not end with '/', and contain no '?', '#' or empty segment (for example '/api/ai').",
        }));
    }

    [Test]
    public void Validate_DuplicatePrefix_IgnoringCase_NamesBothProxies()
    {
        var options = new HardenedProxyOptions();
        options.Proxies["first"] = Valid("/api/ai");
        options.Proxies["second"] = Valid("/API/AI");

        Assert.That(Failures(options), Is.EqualTo(new[]
        {
            "HardenedGateway:Proxies:second:PathPrefix is '/API/AI', the same as the prefix of proxy 'first'; prefixes must be unique.",
        }));
    }

    [TestCase("/api", "/api/ai", "second", "/api/ai", "/api", "first")]
    [TestCase("/api/ai", "/api", "second", "/api", "/api/ai", "first")]
    public void Validate_NestedPrefixes_NamesBoth(string first, string second, string failing, string failingPrefix, string otherPrefix, string otherName)
    {
        var options = new HardenedProxyOptions();
        options.Proxies["first"] = Valid(first);
        options.Proxies["second"] = Valid(second);

        Assert.That(Failures(options), Is.EqualTo(new[]
        {
            $"HardenedGateway:Proxies:{failing}:PathPrefix is '{failingPrefix}', which overlaps the prefix '{otherPrefix}' of proxy '{otherName}'; one prefix must not be nested in another.",
        }));
    }

    [Test]
    public void Validate_SiblingPrefixesSharingCharacters_Succeed()
    {
        var options = new HardenedProxyOptions();
        options.Proxies["ai"] = Valid("/api/ai");
        options.Proxies["aiecho"] = Valid("/api/aiecho");

        Assert.That(Failures(options), Is.Empty);
    }

    [TestCase("a b")]
    [TestCase("ai.v2")]
    [TestCase("ai/v2")]
    [TestCase("")]
    [TestCase("é")]
    public void Validate_BadProxyName_NamesIt(string name)
    {
        var options = new HardenedProxyOptions();
        options.Proxies[name] = Valid();

        Assert.That(Failures(options), Is.EqualTo(new[]
        {
            $"HardenedGateway:Proxies has the proxy name '{name}'; a proxy name must be 1 to 64 letters, digits, '-' or '_'.",
        }));
    }

    [TestCase("ai")]
    [TestCase("AI-engine_2")]
    public void Validate_GoodProxyName_Succeeds(string name)
    {
        var options = new HardenedProxyOptions();
        options.Proxies[name] = Valid();

        Assert.That(Failures(options), Is.Empty);
    }

    [Test]
    public void Validate_NegativeMaxConcurrent_NamesKeyValueAndRange()
    {
        var proxy = Valid();
        proxy.MaxConcurrent = -1;

        Assert.That(Failures(WithProxy(proxy)), Is.EqualTo(new[] { $"{Key}:MaxConcurrent is -1; allowed: 0 (no limiter) .. 100000." }));
    }

    [Test]
    public void Validate_HalfOpenRequestsBelowOne_NamesKeyValueAndRange()
    {
        var proxy = Valid();
        proxy.CircuitBreaker.HalfOpenRequests = 0;

        Assert.That(Failures(WithProxy(proxy)), Is.EqualTo(new[] { $"{Key}:CircuitBreaker:HalfOpenRequests is 0; allowed: 1 .. 1000." }));
    }

    [Test]
    public void Validate_WebSocketsMaxConnectionsZero_NamesKeyValueAndRange()
    {
        var proxy = Valid();
        proxy.WebSockets.MaxConnections = 0;

        Assert.That(Failures(WithProxy(proxy)), Is.EqualTo(new[] { $"{Key}:WebSockets:MaxConnections is 0; allowed: 1 .. 100000 open tunnels." }));
    }

    [Test]
    public void Validate_WebSocketsMaxLifetimeBareNumber_SaysDays()
    {
        var proxy = Valid();
        proxy.WebSockets.MaxLifetime = TimeSpan.FromDays(8);

        Assert.That(Failures(WithProxy(proxy)), Is.EqualTo(new[]
        {
            $"{Key}:WebSockets:MaxLifetime is '8.00:00:00'; allowed: 0 (off) .. 7 days. A bare number binds as days ('8' is 8 days); " +
            "write durations as 'hh:mm:ss', for example '00:00:02' for two seconds.",
        }));
    }

    [Test]
    public void Validate_WebSocketsNull_NamesKey()
    {
        var proxy = Valid();
        proxy.WebSockets = null!;

        Assert.That(Failures(WithProxy(proxy)), Is.EqualTo(new[] { $"{Key}:WebSockets must not be null." }));
    }

    [Test]
    public void WebSocketTunnelOptions_Defaults_AreTheDocumentedOnes()
    {
        var options = new ProxyOptions().WebSockets;

        Assert.Multiple(() =>
        {
            Assert.That(options.Enabled, Is.False, "EC-003 stays the default");
            Assert.That(options.MaxConnections, Is.EqualTo(100));
            Assert.That(options.IdleTimeout, Is.EqualTo(TimeSpan.FromMinutes(5)));
            Assert.That(options.MaxLifetime, Is.EqualTo(TimeSpan.Zero));
        });
    }

    [Test]
    public void Validate_BareNumberBoundAsDays_SaysSo()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Transport:DialTimeout"] = "2",
            ["Transport:ResponseHeaderTimeout"] = "00:00:30",
        }).Build();
        var options = new HardenedProxyOptions();
        configuration.Bind(options);

        Assert.Multiple(() =>
        {
            Assert.That(options.Transport.DialTimeout, Is.EqualTo(TimeSpan.FromDays(2)), "the binder reads a bare number as days");
            Assert.That(Failures(options), Is.EqualTo(new[]
            {
                "HardenedGateway:Transport:DialTimeout is '2.00:00:00'; allowed: 1 ms .. 5 min. A bare number binds as days ('2' is 2 days); " +
                "write durations as 'hh:mm:ss', for example '00:00:02' for two seconds.",
            }));
        });
    }

    [Test]
    public void Validate_BareNumberForProxyDuration_SaysDays()
    {
        var proxy = Valid();
        proxy.StreamIdleTimeout = TimeSpan.FromDays(30);

        Assert.That(Failures(WithProxy(proxy)), Has.One.Items.And.One.Contains("('30' is 30 days)"));
    }

    [Test]
    public void Validate_SeveralProblems_ReportsEveryOne()
    {
        var proxy = Valid();
        proxy.Upstream = "ftp://x/";
        proxy.MaxConcurrent = -5;
        proxy.RetryAfterSeconds = 0;
        var options = WithProxy(proxy);
        options.Transport.KeepAlive = TimeSpan.Zero;

        Assert.That(Failures(options), Has.Count.EqualTo(4));
    }

    [TestCaseSource(nameof(DurationBounds))]
    public void Validate_DurationAtEachBound_AcceptsInsideAndNamesRangeOutside(string key, Action<HardenedProxyOptions, TimeSpan> set, TimeSpan min, TimeSpan max, string allowed)
    {
        Assert.Multiple(() =>
        {
            Assert.That(FailuresWith(set, min), Is.Empty, "min");
            Assert.That(FailuresWith(set, max), Is.Empty, "max");
            var below = min - Tick;
            Assert.That(FailuresWith(set, below), Is.EqualTo(new[] { $"{key} is '{below.ToString("c", CultureInfo.InvariantCulture)}'; allowed: {allowed}." }), "below min");
            var above = max + Tick;
            Assert.That(FailuresWith(set, above), Is.EqualTo(new[] { $"{key} is '{above.ToString("c", CultureInfo.InvariantCulture)}'; allowed: {allowed}." }), "above max");
        });
    }

    [TestCaseSource(nameof(CountBounds))]
    public void Validate_CountAtEachBound_AcceptsInsideAndNamesRangeOutside(string key, Action<HardenedProxyOptions, int> set, int min, int max, string allowed)
    {
        Assert.Multiple(() =>
        {
            Assert.That(FailuresWith(set, min), Is.Empty, "min");
            Assert.That(FailuresWith(set, max), Is.Empty, "max");
            Assert.That(FailuresWith(set, min - 1), Is.EqualTo(new[] { $"{key} is {min - 1}; allowed: {allowed}." }), "below min");
            Assert.That(FailuresWith(set, max + 1), Is.EqualTo(new[] { $"{key} is {max + 1}; allowed: {allowed}." }), "above max");
        });
    }

    [Test]
    public void Validate_ProxyResponseHeaderTimeoutUnset_TakesTransportsAndIsNotChecked()
    {
        var proxy = Valid();
        proxy.ResponseHeaderTimeout = null;

        Assert.That(Failures(WithProxy(proxy)), Is.Empty);
    }

    private static IEnumerable<TestCaseData> DurationBounds()
    {
        var ms = TimeSpan.FromMilliseconds(1);
        var day = TimeSpan.FromHours(24);
        yield return Duration("HardenedGateway:Transport:DialTimeout", (o, v) => o.Transport.DialTimeout = v, ms, TimeSpan.FromMinutes(5), "1 ms .. 5 min");
        yield return Duration("HardenedGateway:Transport:TlsHandshakeTimeout", (o, v) => o.Transport.TlsHandshakeTimeout = v, ms, TimeSpan.FromMinutes(5), "1 ms .. 5 min");
        yield return Duration("HardenedGateway:Transport:KeepAlive", (o, v) => o.Transport.KeepAlive = v, TimeSpan.FromSeconds(1), TimeSpan.FromHours(2), "1 s .. 2 h");
        yield return Duration("HardenedGateway:Transport:ResponseHeaderTimeout", (o, v) => o.Transport.ResponseHeaderTimeout = v, TimeSpan.Zero, day, "0 (no limit) .. 24 h");
        yield return Duration("HardenedGateway:Transport:IdleConnectionTimeout", (o, v) => o.Transport.IdleConnectionTimeout = v, TimeSpan.FromSeconds(1), day, "1 s .. 24 h");
        yield return Duration("HardenedGateway:Transport:ExpectContinueTimeout", (o, v) => o.Transport.ExpectContinueTimeout = v, TimeSpan.Zero, TimeSpan.FromMinutes(1), "0 .. 1 min");
        yield return Duration("HardenedGateway:Transport:PooledConnectionLifetime", (o, v) => o.Transport.PooledConnectionLifetime = v, TimeSpan.FromSeconds(1), day, "1 s .. 24 h");
        yield return Duration($"{Key}:ResponseHeaderTimeout", (o, v) => o.Proxies["ai"].ResponseHeaderTimeout = v, TimeSpan.Zero, day, "0 (no limit) .. 24 h");
        yield return Duration($"{Key}:StreamIdleTimeout", (o, v) => o.Proxies["ai"].StreamIdleTimeout = v, TimeSpan.Zero, day, "0 (off) .. 24 h");
        yield return Duration($"{Key}:QueueTimeout", (o, v) => o.Proxies["ai"].QueueTimeout = v, TimeSpan.Zero, TimeSpan.FromMinutes(10), "0 (reject at once) .. 10 min");
        yield return Duration($"{Key}:CircuitBreaker:RecoveryTimeout", (o, v) => o.Proxies["ai"].CircuitBreaker.RecoveryTimeout = v, ms, day, "1 ms .. 24 h");
        yield return Duration($"{Key}:WebSockets:IdleTimeout", (o, v) => o.Proxies["ai"].WebSockets.IdleTimeout = v, TimeSpan.Zero, day, "0 (off) .. 24 h");
        yield return Duration($"{Key}:WebSockets:MaxLifetime", (o, v) => o.Proxies["ai"].WebSockets.MaxLifetime = v, TimeSpan.Zero, TimeSpan.FromDays(7), "0 (off) .. 7 days");

        static TestCaseData Duration(string key, Action<HardenedProxyOptions, TimeSpan> set, TimeSpan min, TimeSpan max, string allowed) =>
            new TestCaseData(key, set, min, max, allowed).SetArgDisplayNames(key);
    }

    private static IEnumerable<TestCaseData> CountBounds()
    {
        yield return Count($"{Key}:MaxConcurrent", (o, v) => o.Proxies["ai"].MaxConcurrent = v, 0, 100_000, "0 (no limiter) .. 100000");
        yield return Count($"{Key}:RetryAfterSeconds", (o, v) => o.Proxies["ai"].RetryAfterSeconds = v, 1, 3600, "1 .. 3600");
        yield return Count($"{Key}:CircuitBreaker:FailureThreshold", (o, v) => o.Proxies["ai"].CircuitBreaker.FailureThreshold = v, 1, 10_000, "1 .. 10000 consecutive failures");
        yield return Count($"{Key}:CircuitBreaker:HalfOpenRequests", (o, v) => o.Proxies["ai"].CircuitBreaker.HalfOpenRequests = v, 1, 1000, "1 .. 1000");
        yield return Count($"{Key}:WebSockets:MaxConnections", (o, v) => o.Proxies["ai"].WebSockets.MaxConnections = v, 1, 100_000, "1 .. 100000 open tunnels");

        static TestCaseData Count(string key, Action<HardenedProxyOptions, int> set, int min, int max, string allowed) =>
            new TestCaseData(key, set, min, max, allowed).SetArgDisplayNames(key);
    }

    private static ProxyOptions Valid(string prefix = "/api/ai") => new() { PathPrefix = prefix, Upstream = "http://127.0.0.1:8000/" };

    private static HardenedProxyOptions WithProxy(ProxyOptions proxy)
    {
        var options = new HardenedProxyOptions();
        options.Proxies["ai"] = proxy;
        return options;
    }

    private static List<string> FailuresWith<T>(Action<HardenedProxyOptions, T> set, T value)
    {
        var options = WithProxy(Valid());
        set(options, value);
        return Failures(options);
    }

    private static List<string> Failures(HardenedProxyOptions options)
    {
        var result = new HardenedProxyOptionsValidator().Validate(null, options);
        return result.Failed ? [.. result.Failures!] : [];
    }
}
