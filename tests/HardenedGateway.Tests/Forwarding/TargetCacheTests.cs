using HardenedGateway.Forwarding;

namespace HardenedGateway.Tests.Forwarding;

[TestFixture]
public sealed class TargetCacheTests
{
    private static readonly object[] Targets =
    [
        new object[] { "http://engine:8000", "/v1/chat/completions", "" },
        new object[] { "http://engine:8000/", "/v1/chat/completions", "?stream=true" },
        new object[] { "http://engine:8000/base/", "//v1//x", "" },
        new object[] { "http://engine:8000/base", "", "?q=1" },
        new object[] { "http://engine:8000/base/", "", "" },
        new object[] { "http://engine:8000/base/", "/", "" },
        new object[] { "http://engine:8000/base", "///", "?a=%41" },
        new object[] { "http://engine:8000", "/%2e%2E/a%20b", "?x=%zz&y" },
    ];

    [TestCaseSource(nameof(Targets))]
    public void Build_AnyRemainderAndQuery_IsWhatForwardingPathBuilds(string upstreamBase, string remainder, string query)
    {
        var cache = new TargetCache(upstreamBase);
        var expected = ForwardingPath.BuildTarget(upstreamBase, remainder, query);

        var first = cache.Build(remainder, query);
        var second = cache.Build(remainder, query);

        Assert.Multiple(() =>
        {
            Assert.That(first, Is.EqualTo(expected));
            Assert.That(second, Is.SameAs(first), "the second build of an equal target is the cached string");
            Assert.That(cache.UriFor(second).OriginalString, Is.EqualTo(expected));
        });
    }

    [Test]
    public void UriFor_CachedTarget_IsOneUriBuiltOnceAndSentAsBuilt()
    {
        var cache = new TargetCache("http://engine:8000/");
        var target = cache.Build("/v1/%41/./x", "?q=%2F");

        var uri = cache.UriFor(target);

        Assert.Multiple(() =>
        {
            Assert.That(cache.UriFor(cache.Build("/v1/%41/./x", "?q=%2F")), Is.SameAs(uri));
            Assert.That(uri.PathAndQuery, Is.EqualTo("/v1/%41/./x?q=%2F"), "no canonicalization: escapes and dot segments stay as received");
        });
    }

    [Test]
    public void UriFor_EqualStringNotFromTheCache_BuildsItsOwnUri()
    {
        var cache = new TargetCache("http://engine:8000");
        var cached = cache.UriFor(cache.Build("/a", ""));
        var copy = string.Concat("http://engine:8000", "/a");

        var uri = cache.UriFor(copy);

        Assert.Multiple(() =>
        {
            Assert.That(uri, Is.Not.SameAs(cached), "only the cached instance maps to the cached Uri");
            Assert.That(uri.OriginalString, Is.EqualTo(copy));
        });
    }

    [Test]
    public void Build_DifferentTargetsInOneSlot_LastOneWinsAndBothStayCorrect()
    {
        var cache = new TargetCache("http://e");

        // Equal length and last character: the same slot.
        var a = cache.Build("/ab", "");
        var b = cache.Build("/cb", "");
        var aAgain = cache.Build("/ab", "");

        Assert.Multiple(() =>
        {
            Assert.That(a, Is.EqualTo("http://e/ab"));
            Assert.That(b, Is.EqualTo("http://e/cb"));
            Assert.That(aAgain, Is.EqualTo("http://e/ab"));
            Assert.That(aAgain, Is.Not.SameAs(a), "b replaced a in the slot, so a was built again");
            Assert.That(cache.UriFor(b).OriginalString, Is.EqualTo("http://e/cb"));
            var uri = cache.UriFor(aAgain);
            Assert.That(cache.UriFor(aAgain), Is.SameAs(uri));
        });
    }

    [Test]
    public void Build_TargetLongerThanTheLimit_IsNeverKept()
    {
        var cache = new TargetCache("http://engine:8000");
        var remainder = "/" + new string('a', TargetCache.MaxCachedLength);

        var first = cache.Build(remainder, "");
        var second = cache.Build(remainder, "");

        Assert.Multiple(() =>
        {
            Assert.That(second, Is.EqualTo(first));
            Assert.That(second, Is.Not.SameAs(first), "a long target is built per request, so clients cannot park large strings");
            var uri = cache.UriFor(second);
            Assert.That(cache.UriFor(second), Is.Not.SameAs(uri));
        });
    }

    [Test]
    public async Task Build_ConcurrentMixOfTargets_AlwaysReturnsTheRightTarget()
    {
        var cache = new TargetCache("http://engine:8000/base/");
        string[] paths = ["/a", "/b", "/ab", "/ba", "/v1/chat/completions", "/v1/embeddings", "/x/y/z", "/"];
        var wrong = 0;
        var workers = new Task[4];
        for (var w = 0; w < workers.Length; w++)
        {
            var seed = w;
            workers[w] = Task.Run(() =>
            {
                for (var i = 0; i < 20_000; i++)
                {
                    var path = paths[(i + seed) % paths.Length];
                    var query = (i % 3) == 0 ? "?n=" + (i % 5) : "";
                    var target = cache.Build(path, query);
                    if (target != ForwardingPath.BuildTarget("http://engine:8000/base/", path, query) || cache.UriFor(target).OriginalString != target)
                    {
                        Interlocked.Increment(ref wrong);
                    }
                }
            });
        }

        await Task.WhenAll(workers).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.That(wrong, Is.Zero);
    }
}
