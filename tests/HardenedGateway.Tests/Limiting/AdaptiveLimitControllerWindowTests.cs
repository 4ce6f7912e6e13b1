using HardenedGateway.Limiting.Adaptive;
using Microsoft.Extensions.Time.Testing;

namespace HardenedGateway.Tests.Limiting;

/// <summary>
/// The controller's windows, epochs and decision thresholds (AC-001, AC-002) at their exact edges:
/// every window is fed with explicit timestamps, so a boundary (exactly the minimum duration, exactly
/// the tolerance, exactly the latency target) is hit on the tick.
/// </summary>
[TestFixture]
public sealed class AdaptiveLimitControllerWindowTests
{
    [Test]
    public void Constructor_NullOptionsOrClock_Throws()
    {
        var options = new AdaptiveConcurrencyOptions { Enabled = true };

        Assert.Multiple(() =>
        {
            Assert.That(() => new AdaptiveLimitController(null!, TimeProvider.System, _ => { }), Throws.ArgumentNullException.With.Property("ParamName").EqualTo("options"));
            Assert.That(() => new AdaptiveLimitController(options, null!, _ => { }), Throws.ArgumentNullException.With.Property("ParamName").EqualTo("timeProvider"));
        });
    }

    [Test]
    public void OnResponse_EnoughSamplesInLessThanTheMinimumDuration_WindowClosesOnceItHasLasted()
    {
        var rig = new Rig(initial: 4);
        var start = rig.Now + rig.Ms(60);

        for (var i = 0; i < 4; i++)
        {
            Assert.That(rig.Controller.OnResponse(start - rig.Ms(50), start, 4), Is.False);
        }

        Assert.That(rig.Controller.OnResponse(start + rig.Ms(99) - rig.Ms(50), start + rig.Ms(100) - 1, 4), Is.False);
        Assert.That(rig.Controller.WindowCount, Is.Zero, "four samples, but the window has not lasted 100 ms");

        rig.Controller.OnResponse(start + rig.Ms(50), start + rig.Ms(100), 4);
        Assert.That(rig.Controller.WindowCount, Is.EqualTo(1), "100 ms exactly: the window closes");
    }

    [Test]
    public void OnResponse_FewerSamplesThanTheLimitOverALongTime_WindowWaitsForOnePerSlot()
    {
        var rig = new Rig(initial: 8);

        for (var i = 0; i < 7; i++)
        {
            rig.Now += rig.Ms(1000);
            Assert.That(rig.Controller.OnResponse(rig.Now - rig.Ms(50), rig.Now, 1), Is.False);
        }

        Assert.That(rig.Controller.WindowCount, Is.Zero, "7 answers over 7 s: a window of limit 8 needs 8");
        rig.Now += rig.Ms(1000);
        rig.Controller.OnResponse(rig.Now - rig.Ms(50), rig.Now, 1);
        Assert.That(rig.Controller.WindowCount, Is.EqualTo(1));
    }

    [Test]
    public void OnResponse_WindowAtBaselineWithoutLoad_ReportsRecentLatencyAndReturnsFalse()
    {
        var rig = new Rig(initial: 16);

        Assert.That(rig.Window(50, inUse: 4), Is.False, "a quarter of the slots in use: no growth, no change");

        Assert.Multiple(() =>
        {
            Assert.That(rig.Controller.RecentSeconds, Is.EqualTo(0.05));
            Assert.That(rig.Controller.BaselineSeconds, Is.EqualTo(0.05));
            Assert.That(rig.Changes, Is.Empty);
        });
    }

    [Test]
    public void OnResponse_WindowThatMovesTheLimit_ReturnsTrueAndReportsTheChange()
    {
        var rig = new Rig(initial: 16);

        Assert.That(rig.Window(50, inUse: 8), Is.True);

        Assert.That(rig.Changes, Is.EqualTo(new[] { new AdaptiveLimitChange(16, 20, 0.05, 0.05, AdaptiveLimitReason.Growth) }));
    }

    [Test]
    public void OnResponse_SampleSentExactlyAtTheChange_CountsAndEarlierOnesDoNot()
    {
        var rig = new Rig(initial: 16);
        rig.Window(50, inUse: 8); // 16 -> 20 at rig.Now
        var changedAt = rig.Now;

        Assert.That(rig.Controller.OnResponse(changedAt - 1, changedAt + rig.Ms(500), 20), Is.False, "sent under the old limit");
        Assert.That(rig.Controller.RecentSeconds, Is.EqualTo(0.05));

        // 20 answers sent on the tick of the change: they measure the new limit.
        rig.Window(50, inUse: 1, sentAfterLastWindow: 0);
        Assert.That(rig.Controller.WindowCount, Is.EqualTo(2));
        Assert.That(rig.Controller.RecentSeconds, Is.EqualTo(0.05), "the stale 500 ms answer was not counted");
    }

    [Test]
    public void OnResponse_HighLimit_WindowNeedsAtMost32Samples()
    {
        var rig = new Rig(initial: 100, max: 100);

        rig.Window(50, inUse: 1); // the helper asserts the window closes on its 32nd sample

        Assert.That(rig.Controller.WindowCount, Is.EqualTo(1));
    }

    [Test]
    public void OnFailure_SpacingIsTheLongerOfRecentAndBaselineLatency()
    {
        var rig = new Rig(initial: 32);
        rig.Window(50, inUse: 4); // baseline 50 ms
        rig.Window(90, inUse: 4); // 1.8 x: holds; recent 90 ms
        Assert.That(rig.Controller.RecentSeconds, Is.EqualTo(0.09));

        var first = rig.Now + rig.Ms(10);
        Assert.That(rig.Controller.OnFailure(first), Is.True);
        Assert.That(rig.Controller.OnFailure(first + rig.Ms(60)), Is.False, "60 ms later: still the same round trip of 90 ms");
        Assert.That(rig.Controller.OnFailure(first + rig.Ms(90)), Is.True, "one recent latency later: a new round trip");
        Assert.That(rig.Controller.Limit, Is.EqualTo(8));
    }

    [Test]
    public void OnFailure_LimitMoves_ReportsTheChange()
    {
        var rig = new Rig(initial: 32);
        rig.Window(50, inUse: 4);

        Assert.That(rig.Controller.OnFailure(rig.Now + 1), Is.True);

        Assert.That(rig.Changes, Is.EqualTo(new[] { new AdaptiveLimitChange(32, 16, 0.05, 0.05, AdaptiveLimitReason.UpstreamFailure) }));
    }

    [Test]
    public void OnFailure_AlreadyAtTheFloor_ReturnsFalseAndReportsNothing()
    {
        var rig = new Rig(initial: 2, min: 2);

        Assert.That(rig.Controller.OnFailure(rig.Now), Is.False);

        Assert.That(rig.Controller.Limit, Is.EqualTo(2));
        Assert.That(rig.Changes, Is.Empty);
        Assert.That(rig.Applied, Is.Empty);
    }

    [Test]
    public void OnFailure_PartWindowOfTheOldLimit_IsDiscarded()
    {
        var rig = new Rig(initial: 8);
        var at = rig.Now + rig.Ms(500);
        for (var i = 0; i < 3; i++)
        {
            rig.Controller.OnResponse(at - rig.Ms(500), at, 8); // slow answers of the old limit
        }

        rig.Now = at + rig.Ms(1);
        Assert.That(rig.Controller.OnFailure(rig.Now), Is.True); // 8 -> 4

        rig.Window(50, inUse: 1);
        Assert.That(rig.Controller.RecentSeconds, Is.EqualTo(0.05), "the window holds only answers sent under the new limit");
    }

    [Test]
    public void OnResponse_FirstEpochHeldAboveBaseline_ProbesOnlyAtTheEndOfTheSecondEpoch()
    {
        var rig = new Rig(initial: 24);
        rig.Window(50, inUse: 4);
        var epochStart = rig.Now;
        var epoch = rig.Ms(AdaptiveLimitController.BaselineEpoch.TotalMilliseconds);

        // The first epoch saw the baseline (confirmed): it ends on the tick, without a probe.
        rig.HoldBefore(80, epochStart + epoch);
        rig.Window(80, inUse: rig.Controller.Limit, endAt: epochStart + epoch);
        Assert.That(rig.Changes, Is.Empty, "the first epoch held the baseline window");

        // The second epoch has no window near the baseline: the window that ends it, on the tick, probes at the knee.
        rig.HoldBefore(80, epochStart + (2 * epoch));
        Assert.That(rig.Changes, Is.Empty, "before the second epoch ends");
        rig.Window(80, inUse: rig.Controller.Limit, endAt: epochStart + (2 * epoch));
        Assert.That(rig.Changes, Is.EqualTo(new[] { new AdaptiveLimitChange(24, 15, 0.05, 0.08, AdaptiveLimitReason.BaselineProbe) }));
    }

    [Test]
    public void OnResponse_ProbeDueButLatencyExactlyAtTheConfirmingRatio_DoesNotProbe()
    {
        // 44.11 ms / 40.1 ms is exactly 1.1 in binary floating point: within the confirming ratio, not above it.
        var rig = new Rig(initial: 24);
        rig.Window(40.1, inUse: 4);
        var epochStart = rig.Now;
        var epoch = rig.Ms(AdaptiveLimitController.BaselineEpoch.TotalMilliseconds);
        rig.HoldBefore(64.16, epochStart + epoch);
        rig.Window(64.16, inUse: rig.Controller.Limit, endAt: epochStart + epoch);
        rig.HoldBefore(64.16, epochStart + (2 * epoch));
        Assert.That(rig.Changes, Is.Empty);

        // The second epoch saw no window near the baseline, but the window that ends it is near it: no probe needed.
        rig.Window(44.11, inUse: 4, endAt: epochStart + (2 * epoch));

        Assert.That(rig.Changes, Is.Empty);
        Assert.That(rig.Controller.Limit, Is.EqualTo(24));
    }

    [Test]
    public void OnResponse_EpochMinimumExactlyAtTheConfirmingRatio_ConfirmsTheBaseline()
    {
        // 1.1 x 40.1 ms is exactly 44.11 ms in binary floating point: an epoch whose best window is there confirms.
        var rig = new Rig(initial: 24);
        rig.Window(40.1, inUse: 4);
        var epochStart = rig.Now;
        var epoch = rig.Ms(AdaptiveLimitController.BaselineEpoch.TotalMilliseconds);
        rig.HoldBefore(44.11, epochStart + epoch, inUse: 4);
        rig.Window(44.11, inUse: 4, endAt: epochStart + epoch);
        rig.HoldBefore(44.11, epochStart + (2 * epoch), inUse: 4);

        // Confirmed: no probe at the end of the second epoch, and the baseline moves up to the confirmed 44.11 ms.
        rig.Window(64.16, inUse: 4, endAt: epochStart + (2 * epoch));

        Assert.That(rig.Changes, Is.Empty);
        Assert.That(rig.Controller.BaselineSeconds, Is.EqualTo(0.04411));
    }

    [Test]
    public void OnResponse_ProbeDueWithRatioExactlyAtTolerance_ProbesAtTheKnee()
    {
        var rig = new Rig(initial: 24);
        rig.Window(50, inUse: 4);
        var epochStart = rig.Now;
        var epoch = rig.Ms(AdaptiveLimitController.BaselineEpoch.TotalMilliseconds);
        rig.HoldBefore(80, epochStart + epoch);
        rig.Window(80, inUse: rig.Controller.Limit, endAt: epochStart + epoch);
        rig.HoldBefore(80, epochStart + (2 * epoch));

        // Exactly 2.0 x with tolerance 2: not above it, so no (pending) latency cut; the due probe measures at the knee.
        rig.Window(100, inUse: rig.Controller.Limit, endAt: epochStart + (2 * epoch));

        Assert.That(rig.Changes, Is.EqualTo(new[] { new AdaptiveLimitChange(24, 12, 0.05, 0.1, AdaptiveLimitReason.BaselineProbe) }));
    }

    [Test]
    public void OnResponse_LatencyExactlyAtTheTarget_IsNotAboveIt()
    {
        var rig = new Rig(initial: 16, target: TimeSpan.FromMilliseconds(60));
        rig.Window(50, inUse: 4);

        rig.Window(60, inUse: 16); // 1.2 x baseline and exactly the target: growth zone

        Assert.That(rig.Controller.Limit, Is.GreaterThan(16));
        Assert.That(rig.Changes.Select(c => c.Reason), Is.All.EqualTo(AdaptiveLimitReason.Growth));
    }

    [Test]
    public void OnResponse_SlowAgainAfterAWindowThatDidNotCut_CutsInsteadOfRelearning()
    {
        var rig = new Rig(initial: 20);
        rig.Window(50, inUse: 4);
        rig.Window(250, inUse: 20); // 5 x baseline: severe, halved at once
        Assert.That(rig.Controller.Limit, Is.EqualTo(10));

        rig.Window(50, inUse: 2); // back at the baseline: the cut worked (holds: few slots in use)
        rig.Window(250, inUse: 10); // a new surge, not the same cut twice

        Assert.That(rig.Controller.BaselineSeconds, Is.EqualTo(0.05), "the baseline is kept");
        Assert.That(rig.Controller.Limit, Is.EqualTo(5));
        Assert.That(rig.Changes.Select(c => c.Reason), Is.All.EqualTo(AdaptiveLimitReason.LatencyAboveTolerance));
    }

    [Test]
    public void OnResponse_AfterACutLatencyFallsBelowTolerance_HoldsAndKeepsTheBaseline()
    {
        var rig = new Rig(initial: 20);
        rig.Window(50, inUse: 4);
        rig.Window(102.5, inUse: 20);
        rig.Window(102.5, inUse: 20); // 2.05 x twice: cut to 20 x sqrt(2) / 2.05
        Assert.That(rig.Controller.Limit, Is.EqualTo(13));

        rig.Window(97.5, inUse: 13); // 1.95 x: within tolerance, in the hold zone

        Assert.That(rig.Controller.Limit, Is.EqualTo(13));
        Assert.That(rig.Controller.BaselineSeconds, Is.EqualTo(0.05));
    }

    [Test]
    public void OnResponse_CutLeftLatencyAtTheLowerEdgeOfUnresponsive_RelearnsTheBaseline()
    {
        var rig = new Rig(initial: 20);
        rig.Window(50, inUse: 4);
        rig.Window(250, inUse: 20); // cut at 250 ms
        Assert.That(rig.Controller.Limit, Is.EqualTo(10));

        rig.Window(225, inUse: 10); // 0.9 x the latency at the cut: the cut got no response

        Assert.That(rig.Controller.BaselineSeconds, Is.EqualTo(0.225));
        Assert.That(rig.Controller.Limit, Is.GreaterThanOrEqualTo(10), "no second cut towards the floor");
    }

    [Test]
    public void OnResponse_CutLeftLatencyAtTheUpperEdgeOfUnresponsive_RelearnsTheBaseline()
    {
        var rig = new Rig(initial: 20);
        rig.Window(50, inUse: 4);
        rig.Window(225, inUse: 20); // cut at 225 ms
        Assert.That(rig.Controller.Limit, Is.EqualTo(10));

        rig.Window(250, inUse: 10); // 225 / 0.9: the cut got no response

        Assert.That(rig.Controller.BaselineSeconds, Is.EqualTo(0.25));
        Assert.That(rig.Controller.Limit, Is.GreaterThanOrEqualTo(10));
    }

    [Test]
    public void OnResponse_RatioExactlyAtTolerance_HoldsEvenRightAfterACut()
    {
        var rig = new Rig(initial: 20);
        rig.Window(50, inUse: 4);
        rig.Window(105, inUse: 20);
        rig.Window(105, inUse: 20); // 2.1 x twice: cut to 13
        Assert.That(rig.Controller.Limit, Is.EqualTo(13));

        rig.Window(100, inUse: 13); // exactly 2.0 x: not above the tolerance
        rig.Window(100, inUse: 13);

        Assert.That(rig.Controller.Limit, Is.EqualTo(13), "at the tolerance it holds: no cut, no growth");
        Assert.That(rig.Controller.BaselineSeconds, Is.EqualTo(0.05));
    }

    [Test]
    public void OnResponse_RatioExactlyTwiceTheTolerance_IsNotSevereAndWaitsForASecondWindow()
    {
        var rig = new Rig(initial: 20);
        rig.Window(50, inUse: 4);

        Assert.That(rig.Window(200, inUse: 20), Is.False, "4.0 x with tolerance 2: moderate, pending");
        Assert.That(rig.Controller.Limit, Is.EqualTo(20));

        Assert.That(rig.Window(200, inUse: 20), Is.True);
        Assert.That(rig.Changes, Is.EqualTo(new[] { new AdaptiveLimitChange(20, 10, 0.05, 0.2, AdaptiveLimitReason.LatencyAboveTolerance) }));
    }

    [Test]
    public void OnResponse_LatencyExactlyTwiceTheTarget_IsNotSevere()
    {
        var rig = new Rig(initial: 20, tolerance: 10, target: TimeSpan.FromMilliseconds(60));
        rig.Window(50, inUse: 4);

        rig.Window(120, inUse: 20);

        Assert.That(rig.Controller.Limit, Is.EqualTo(20), "twice the target, not above it: one window may be a pause");
    }

    [Test]
    public void OnResponse_LatencyAboveTwiceTheTarget_CutsAtOnceByHalf()
    {
        var rig = new Rig(initial: 20, tolerance: 10, target: TimeSpan.FromMilliseconds(40));
        rig.Window(30, inUse: 4);

        Assert.That(rig.Window(90, inUse: 20), Is.True);

        Assert.That(rig.Changes, Is.EqualTo(new[] { new AdaptiveLimitChange(20, 10, 0.03, 0.09, AdaptiveLimitReason.LatencyAboveTarget) }));
    }

    [Test]
    public void OnResponse_ModerateRiseRightAfterACut_WaitsForASecondWindowAgain()
    {
        var rig = new Rig(initial: 30, tolerance: 1.5);
        rig.Window(50, inUse: 4);
        rig.Window(80, inUse: 30);
        rig.Window(80, inUse: 30); // cut to 22
        Assert.That(rig.Controller.Limit, Is.EqualTo(22));

        rig.Window(125, inUse: 22); // 2.5 x: moderate (below 3), a new rise, not the same latency as at the cut

        Assert.That(rig.Controller.Limit, Is.EqualTo(22));
    }

    [Test]
    public void OnResponse_AboveTargetWithinTolerance_CutsByTargetOverRecentOnly()
    {
        var rig = new Rig(initial: 20, target: TimeSpan.FromMilliseconds(75));
        rig.Window(50, inUse: 4);

        rig.Window(80, inUse: 20);
        rig.Window(80, inUse: 20); // 1.6 x (within tolerance 2), above the 75 ms target twice

        Assert.That(rig.Changes, Is.EqualTo(new[] { new AdaptiveLimitChange(20, 18, 0.05, 0.08, AdaptiveLimitReason.LatencyAboveTarget) }), "20 x 75 / 80");
    }

    [Test]
    public void OnResponse_AboveTargetWithRatioExactlyAtTolerance_IsATargetCutThatNeverRelearns()
    {
        var rig = new Rig(initial: 20, target: TimeSpan.FromMilliseconds(90));
        rig.Window(50, inUse: 4);

        rig.Window(100, inUse: 20);
        rig.Window(100, inUse: 20); // exactly 2.0 x (not above tolerance), above the 90 ms target twice
        Assert.That(rig.Changes, Is.EqualTo(new[] { new AdaptiveLimitChange(20, 18, 0.05, 0.1, AdaptiveLimitReason.LatencyAboveTarget) }), "20 x 90 / 100");

        // A target cut is no evidence about the no-load latency: a similar window next keeps the baseline.
        rig.Window(105, inUse: 18);
        Assert.That(rig.Controller.BaselineSeconds, Is.EqualTo(0.05));
    }

    [Test]
    public void OnResponse_RatioExactlyAtTheTopOfTheGrowthZone_Grows()
    {
        var rig = new Rig(initial: 16, tolerance: 4); // growth zone: up to sqrt(4) = 2 x baseline
        rig.Window(50, inUse: 4);

        rig.Window(100, inUse: 16);

        Assert.That(rig.Controller.Limit, Is.EqualTo(17), "at the top of the zone: by 1");
    }

    [Test]
    public void OnResponse_NearTheTopOfTheGrowthZone_GrowsOnlyToIt()
    {
        var rig = new Rig(initial: 16);
        rig.Window(50, inUse: 4);

        rig.Window(65, inUse: 16); // 1.3 x: 16 x sqrt(2) / 1.3 = 17.4, less than 16 + sqrt(16)

        Assert.That(rig.Controller.Limit, Is.EqualTo(17));
    }

    /// <summary>A controller fed with explicit timestamps.</summary>
    private sealed class Rig
    {
        private readonly FakeTimeProvider _time = new();

        public Rig(int initial, int min = 1, int max = 100, double tolerance = 2.0, TimeSpan target = default)
        {
            var options = new AdaptiveConcurrencyOptions { Enabled = true, MinLimit = min, MaxLimit = max, InitialLimit = initial, Tolerance = tolerance, LatencyTarget = target };
            Controller = new AdaptiveLimitController(options, _time, Applied.Add) { LimitChanged = Changes.Add };
            Now = _time.GetTimestamp();
        }

        public AdaptiveLimitController Controller { get; }

        public List<int> Applied { get; } = [];

        public List<AdaptiveLimitChange> Changes { get; } = [];

        /// <summary>Gets or sets the end of the last window (or the last event).</summary>
        public long Now { get; set; }

        public long Ms(double milliseconds) => (long)Math.Round(milliseconds * _time.TimestampFrequency / 1000);

        /// <summary>
        /// One window of answers of <paramref name="latencyMs"/> each, sent <paramref name="sentAfterLastWindow"/>
        /// ticks after the last window: all but the last arrive together, the last 100 ms later (or at
        /// <paramref name="endAt"/>) and closes it. Returns what the closing answer returned.
        /// </summary>
        public bool Window(double latencyMs, int inUse, long sentAfterLastWindow = 1, long? endAt = null)
        {
            var samples = Math.Clamp(Controller.Limit, AdaptiveLimitController.MinWindowSamples, AdaptiveLimitController.MaxWindowSamples);
            var windows = Controller.WindowCount;
            var latency = Ms(latencyMs);
            var end = endAt ?? (Now + sentAfterLastWindow + latency + Ms(100));
            var start = end - Ms(100);
            Assert.That(start - latency, Is.GreaterThanOrEqualTo(Now + sentAfterLastWindow), "the window fits after the last one");

            for (var i = 0; i < samples - 1; i++)
            {
                Assert.That(Controller.OnResponse(start - latency, start, inUse), Is.False);
            }

            Assert.That(Controller.WindowCount, Is.EqualTo(windows), "the window is still open");
            var changed = Controller.OnResponse(end - latency, end, inUse);
            Assert.That(Controller.WindowCount, Is.EqualTo(windows + 1), "the window closed");
            Now = end;
            return changed;
        }

        /// <summary>Windows of <paramref name="latencyMs"/> (every slot in use unless <paramref name="inUse"/> says otherwise), leaving room for one more that closes at <paramref name="endAt"/>.</summary>
        public void HoldBefore(double latencyMs, long endAt, int? inUse = null)
        {
            var length = 1 + Ms(latencyMs) + Ms(100);
            while (Now + (2 * length) <= endAt)
            {
                Window(latencyMs, inUse ?? Controller.Limit);
            }
        }
    }
}
