using HardenedGateway.Limiting.Adaptive;
using Microsoft.Extensions.Time.Testing;

namespace HardenedGateway.Tests.Limiting;

/// <summary>The controller's maths (AC-001, AC-002) on a fake clock and synthetic latency series.</summary>
[TestFixture]
public sealed class AdaptiveLimitControllerTests
{
    private static readonly TimeSpan Base = TimeSpan.FromMilliseconds(50);

    [Test]
    public void OnResponse_OneLuckyFastAnswer_DoesNotPinTheBaseline()
    {
        var (time, controller, _) = Create(initial: 4);

        // A window of 4: three ordinary 50 ms answers and one lucky 5 ms answer (Netflix issue #37).
        Feed(time, controller, [Base, Base, Base, TimeSpan.FromMilliseconds(5)], inUse: 4);

        Assert.That(controller.BaselineSeconds, Is.GreaterThan(0.035), "the baseline is a window mean, not the fastest answer");
        Assert.That(controller.BaselineSeconds, Is.LessThan(0.05));
    }

    [Test]
    public void OnResponse_LatencyAtBaselineAndHalfTheSlotsInUse_GrowsBySqrtOfTheLimit()
    {
        var (time, controller, applied) = Create(initial: 16);

        FeedWindow(time, controller, Base, inUse: 8);

        Assert.That(controller.Limit, Is.EqualTo(20), "16 + sqrt(16)");
        Assert.That(applied, Is.EqualTo(new[] { 20 }), "the limiter is told");
    }

    [Test]
    public void OnResponse_FewerThanHalfTheSlotsInUse_DoesNotGrow()
    {
        var (time, controller, applied) = Create(initial: 16);

        for (var i = 0; i < 20; i++)
        {
            FeedWindow(time, controller, Base, inUse: 7);
        }

        Assert.That(controller.Limit, Is.EqualTo(16));
        Assert.That(applied, Is.Empty);
    }

    [Test]
    public void OnResponse_LatencyBetweenGrowthZoneAndTolerance_Holds()
    {
        var (time, controller, _) = Create(initial: 16);
        FeedWindow(time, controller, Base, inUse: 8); // baseline 50 ms, limit 20

        // 1.7 x baseline: above sqrt(2) (no growth), below 2.0 (no cut).
        for (var i = 0; i < 5; i++)
        {
            FeedWindow(time, controller, Base * 1.7, inUse: 20);
        }

        Assert.That(controller.Limit, Is.EqualTo(20));
    }

    [Test]
    public void OnResponse_LatencyAboveTolerance_CutsBackIntoTheGrowthZoneAtMostByHalf()
    {
        var (time, controller, _) = Create(initial: 30, tolerance: 1.5);
        FeedWindow(time, controller, Base, inUse: 4); // baseline; 4 < 15: no growth

        FeedWindow(time, controller, Base * 1.6, inUse: 30);
        Assert.That(controller.Limit, Is.EqualTo(30), "one moderately slow window may be a pause of the machine: not yet");
        FeedWindow(time, controller, Base * 1.6, inUse: 30);
        Assert.That(controller.Limit, Is.EqualTo(22), "30 x sqrt(1.5) / 1.6: back to the top of the growth zone");

        FeedWindow(time, controller, Base * 5, inUse: 22);
        Assert.That(controller.Limit, Is.EqualTo(11), "above 2 x tolerance at once, and at most halved per window");
    }

    [Test]
    public void OnResponse_SampleSentBeforeTheLastChange_IsNotCounted()
    {
        var (time, controller, _) = Create(initial: 30);
        FeedWindow(time, controller, Base, inUse: 4);
        FeedWindow(time, controller, Base * 2.5, inUse: 30);
        FeedWindow(time, controller, Base * 2.5, inUse: 30); // confirmed: cut to 30 x sqrt(2) / 2.5 = 16 now
        var windows = controller.WindowCount;

        // Answers of requests sent before the cut are slow (the old queue): none of them counts.
        for (var i = 0; i < 50; i++)
        {
            var headersAt = time.GetTimestamp();
            controller.OnResponse(headersAt - Ticks(time, TimeSpan.FromSeconds(1)), headersAt, 16);
            time.Advance(TimeSpan.FromMilliseconds(10));
        }

        Assert.That(controller.WindowCount, Is.EqualTo(windows));
        Assert.That(controller.Limit, Is.EqualTo(16));
    }

    [Test]
    public void OnFailure_HalvesTheLimitOncePerRoundTrip()
    {
        var (time, controller, _) = Create(initial: 32);
        FeedWindow(time, controller, Base, inUse: 4); // baseline 50 ms

        Assert.That(controller.OnFailure(time.GetTimestamp()), Is.True);
        Assert.That(controller.Limit, Is.EqualTo(16));

        // More failures of the same round trip answer for the same limit.
        time.Advance(TimeSpan.FromMilliseconds(10));
        Assert.That(controller.OnFailure(time.GetTimestamp()), Is.False);
        Assert.That(controller.Limit, Is.EqualTo(16));

        time.Advance(Base);
        Assert.That(controller.OnFailure(time.GetTimestamp()), Is.True);
        Assert.That(controller.Limit, Is.EqualTo(8));
    }

    [Test]
    public void OnFailure_AtTheFloor_StaysAtMinLimit()
    {
        var (time, controller, _) = Create(initial: 3, min: 2);

        controller.OnFailure(time.GetTimestamp());
        time.Advance(TimeSpan.FromSeconds(1));
        controller.OnFailure(time.GetTimestamp());

        Assert.That(controller.Limit, Is.EqualTo(2));
    }

    [Test]
    public void OnResponse_LatencyAboveTarget_ShrinksEvenWithinTolerance()
    {
        var (time, controller, _) = Create(initial: 20, target: TimeSpan.FromMilliseconds(60));
        FeedWindow(time, controller, Base, inUse: 4);

        FeedWindow(time, controller, TimeSpan.FromMilliseconds(80), inUse: 20); // 1.6 x baseline, above the 60 ms target
        FeedWindow(time, controller, TimeSpan.FromMilliseconds(80), inUse: 20); // twice in a row

        Assert.That(controller.Limit, Is.EqualTo(15), "20 x 60 / 80");
    }

    [Test]
    public void OnResponse_NoLoadLatencyRises_RelearnsTheBaselineInsteadOfCollapsing()
    {
        var (time, controller, _) = Create(initial: 16);
        FeedWindow(time, controller, Base, inUse: 4); // baseline 50 ms

        // The model got slower: 150 ms at any concurrency. A cut that does not bring latency down
        // shows it is not queueing (as Envoy re-measures after repeated decreases, envoy#38338).
        for (var i = 0; i < 6; i++)
        {
            FeedWindow(time, controller, Base * 3, inUse: controller.Limit);
        }

        Assert.That(controller.BaselineSeconds, Is.EqualTo(0.15).Within(0.001));
        Assert.That(controller.Limit, Is.GreaterThanOrEqualTo(4), "two cuts at most, then it grows again");
    }

    [Test]
    public void OnResponse_EpochWithoutAWindowNearTheBaseline_ProbesAtTheKneeOnceAndKeepsTheBaseline()
    {
        var (time, controller, _) = Create(initial: 24);
        FeedWindow(time, controller, Base, inUse: 4);

        // Held at 1.6 x baseline for more than an epoch (no growth, no cut).
        var reasons = new List<AdaptiveLimitReason>();
        controller.LimitChanged = change => reasons.Add(change.Reason);
        var end = time.GetUtcNow() + (AdaptiveLimitController.BaselineEpoch * 2.5);
        while (time.GetUtcNow() < end && reasons.Count == 0)
        {
            FeedWindow(time, controller, Base * 1.6, inUse: controller.Limit);
        }

        Assert.That(reasons, Is.EqualTo(new[] { AdaptiveLimitReason.BaselineProbe }));
        Assert.That(controller.Limit, Is.EqualTo(15), "24 / 1.6: the estimated capacity, where the upstream stays busy");
        Assert.That(controller.BaselineSeconds, Is.EqualTo(0.05).Within(0.001), "the probe itself keeps the baseline");

        // At the knee the latency is back at the baseline: confirmed, and growth resumes.
        FeedWindow(time, controller, Base, inUse: 15);
        Assert.That(controller.Limit, Is.GreaterThan(15));
    }

    [Test]
    public void OnResponse_ProbeShowsTheNoLoadLatencyRose_BaselineRelearntWithinThreeEpochs()
    {
        var (time, controller, _) = Create(initial: 4);
        FeedWindow(time, controller, Base, inUse: 4); // baseline 50 ms, limit 6

        // The engine is now 1.5x slower at any concurrency (within tolerance, so no cut): the probe at
        // the knee does not bring latency back, so the old baseline is forgotten at the next epoch.
        var end = time.GetUtcNow() + (AdaptiveLimitController.BaselineEpoch * 3.5);
        while (time.GetUtcNow() < end)
        {
            FeedWindow(time, controller, Base * 1.5, inUse: controller.Limit);
        }

        Assert.That(controller.BaselineSeconds, Is.EqualTo(0.075).Within(0.001));
    }

    [Test]
    public void Simulation_ProcessorSharingEngine_SettlesAboveCapacityBelowTwiceAndFollowsChanges()
    {
        // Synthetic series of the simulated engine: latency = base x max(1, limit / C), saturated load.
        var (time, controller, _) = Create(initial: 1, max: 100);
        var capacity = 8;
        var history = new List<int>();
        void Run(int windows)
        {
            for (var i = 0; i < windows; i++)
            {
                var limit = controller.Limit;
                FeedWindow(time, controller, Base * Math.Max(1.0, (double)limit / capacity), inUse: limit);
                history.Add(controller.Limit);
            }
        }

        Run(30);
        Assert.That(history.Skip(10), Is.All.InRange(capacity, 2 * capacity), "settled at or above the knee, below twice it");

        capacity = 4;
        history.Clear();
        Run(30);
        Assert.That(history.Skip(3), Is.All.InRange(capacity / 2, 2 * capacity), "follows a halving within a few windows");

        capacity = 8;
        history.Clear();
        Run(30);
        Assert.That(history.Skip(10), Is.All.InRange(capacity, 2 * capacity), "climbs back when capacity returns");
    }

    [Test]
    public void Simulation_TwoClientsOnly_NeitherCollapsesNorGrowsWithoutBound()
    {
        var (time, controller, _) = Create(initial: 1, max: 1000);

        for (var i = 0; i < 200; i++)
        {
            FeedWindow(time, controller, Base, inUse: 2);
        }

        Assert.That(controller.Limit, Is.InRange(2, 6));
    }

    [Test]
    public void AdaptiveLimitChange_TenPercentOrMore_IsSignificant()
    {
        Assert.Multiple(() =>
        {
            Assert.That(new AdaptiveLimitChange(10, 11, 0, 0, AdaptiveLimitReason.Growth).IsSignificant, Is.True);
            Assert.That(new AdaptiveLimitChange(10, 9, 0, 0, AdaptiveLimitReason.UpstreamFailure).IsSignificant, Is.True);
            Assert.That(new AdaptiveLimitChange(20, 21, 0, 0, AdaptiveLimitReason.Growth).IsSignificant, Is.False);
        });
    }

    private static (FakeTimeProvider Time, AdaptiveLimitController Controller, List<int> Applied) Create(int initial, int min = 1, int max = 100, TimeSpan target = default, double tolerance = 2.0)
    {
        var time = new FakeTimeProvider();
        var applied = new List<int>();
        var options = new AdaptiveConcurrencyOptions { Enabled = true, MinLimit = min, MaxLimit = max, InitialLimit = initial, LatencyTarget = target, Tolerance = tolerance };
        return (time, new AdaptiveLimitController(options, time, applied.Add), applied);
    }

    private static long Ticks(FakeTimeProvider time, TimeSpan span) => (long)(span.TotalSeconds * time.TimestampFrequency);

    /// <summary>Answers of <paramref name="latency"/> each, sent after the last change, until one window closes.</summary>
    private static void FeedWindow(FakeTimeProvider time, AdaptiveLimitController controller, TimeSpan latency, int inUse)
    {
        var windows = controller.WindowCount;
        time.Advance(latency);
        for (var i = 0; i < 1000 && controller.WindowCount == windows; i++)
        {
            var headersAt = time.GetTimestamp();
            controller.OnResponse(headersAt - Ticks(time, latency), headersAt, inUse);
            time.Advance(TimeSpan.FromMilliseconds(40));
        }

        Assert.That(controller.WindowCount, Is.EqualTo(windows + 1), "a window closed");
    }

    private static void Feed(FakeTimeProvider time, AdaptiveLimitController controller, TimeSpan[] latencies, int inUse)
    {
        time.Advance(TimeSpan.FromSeconds(1));
        foreach (var latency in latencies)
        {
            var headersAt = time.GetTimestamp();
            controller.OnResponse(headersAt - Ticks(time, latency), headersAt, inUse);
            time.Advance(TimeSpan.FromMilliseconds(40));
        }
    }
}
