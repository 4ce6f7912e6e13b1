namespace HardenedGateway.Prometheus.Tests.Infrastructure;

/// <summary>Polls a condition with a bounded wait: the gateway records a request just after the client has its response.</summary>
public static class Eventually
{
    public static async Task AssertAsync(Func<bool> condition, string because, TimeSpan? timeout = null)
    {
        using var deadline = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        while (!condition())
        {
            if (deadline.IsCancellationRequested)
            {
                Assert.Fail("Timed out waiting until " + because);
            }

            await Task.Delay(10, CancellationToken.None);
        }
    }
}
