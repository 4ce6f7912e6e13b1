namespace HardenedGateway.Tests.Limiting;

/// <summary>
/// A reload rebuilds a proxy's adaptive limiter (and restarts its limit at InitialLimit) only when its
/// adaptive settings changed: <c>SameAs</c> compares every setting.
/// </summary>
[TestFixture]
public sealed class AdaptiveConcurrencyOptionsTests
{
    [Test]
    public void SameAs_EqualSettings_IsTrue()
    {
        Assert.That(Sample().SameAs(Sample()), Is.True);
    }

    [Test]
    public void SameAs_UnsetInitialLimitAndInitialLimitEqualToMinLimit_IsTrue()
    {
        var unset = Sample();
        unset.InitialLimit = null;
        var explicitMin = Sample();
        explicitMin.InitialLimit = explicitMin.MinLimit;

        Assert.That(unset.SameAs(explicitMin), Is.True, "both start at MinLimit");
    }

    [TestCase("Enabled")]
    [TestCase("MinLimit")]
    [TestCase("MaxLimit")]
    [TestCase("InitialLimit")]
    [TestCase("Tolerance")]
    [TestCase("LatencyTarget")]
    public void SameAs_OneSettingDiffers_IsFalse(string setting)
    {
        var changed = Sample();
        switch (setting)
        {
            case "Enabled": changed.Enabled = false; break;
            case "MinLimit": changed.MinLimit = 3; break;
            case "MaxLimit": changed.MaxLimit = 300; break;
            case "InitialLimit": changed.InitialLimit = 9; break;
            case "Tolerance": changed.Tolerance = 3.0; break;
            default: changed.LatencyTarget = TimeSpan.FromMilliseconds(300); break;
        }

        Assert.Multiple(() =>
        {
            Assert.That(Sample().SameAs(changed), Is.False);
            Assert.That(changed.SameAs(Sample()), Is.False);
        });
    }

    [Test]
    public void Clone_CopiesEverySetting()
    {
        var original = Sample();

        var clone = original.Clone();

        Assert.That(clone, Is.Not.SameAs(original));
        Assert.That(clone.SameAs(original), Is.True);
    }

    private static AdaptiveConcurrencyOptions Sample() => new()
    {
        Enabled = true,
        MinLimit = 2,
        MaxLimit = 200,
        InitialLimit = 8,
        Tolerance = 2.5,
        LatencyTarget = TimeSpan.FromMilliseconds(200),
    };
}
