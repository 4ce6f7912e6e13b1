using System.Diagnostics;

namespace HardenedGateway.Redis.Tests.Infrastructure;

/// <summary>Bounded waits for state that settles through Redis (a published verdict, an expired lease).</summary>
public static class Eventually
{
    /// <summary>Polls <paramref name="condition"/> every 10 ms until it holds or <paramref name="timeout"/> passes; returns whether it held.</summary>
    public static async Task<bool> HoldsAsync(Func<bool> condition, TimeSpan timeout)
    {
        var watch = Stopwatch.StartNew();
        while (!condition())
        {
            if (watch.Elapsed > timeout)
            {
                return condition();
            }

            await Task.Delay(10).ConfigureAwait(false);
        }

        return true;
    }

    /// <summary>As <see cref="HoldsAsync(Func{bool}, TimeSpan)"/> with an asynchronous condition.</summary>
    public static async Task<bool> HoldsAsync(Func<Task<bool>> condition, TimeSpan timeout)
    {
        var watch = Stopwatch.StartNew();
        while (!await condition().ConfigureAwait(false))
        {
            if (watch.Elapsed > timeout)
            {
                return await condition().ConfigureAwait(false);
            }

            await Task.Delay(20).ConfigureAwait(false);
        }

        return true;
    }
}
