using System.Globalization;

namespace HardenedGateway.Hosting;

/// <summary>
/// The range and duration checks every options validator of the library shares (the core's and the
/// satellite packages', through InternalsVisibleTo), so that each failure reads the same: the key, the
/// value and the allowed range.
/// </summary>
internal static class OptionsChecks
{
    /// <summary>The example the bare-number hint gives unless a validator names one closer to its keys.</summary>
    internal const string TwoSecondsExample = "'00:00:02' for two seconds";

    /// <summary>Adds a failure when <paramref name="value"/> lies outside <paramref name="min"/> .. <paramref name="max"/>.</summary>
    internal static void CheckRange(List<string> failures, string key, int value, int min, int max, string allowed)
    {
        if (value < min || value > max)
        {
            failures.Add($"{key} is {value.ToString(CultureInfo.InvariantCulture)}; allowed: {allowed}.");
        }
    }

    /// <summary>
    /// Adds a failure when <paramref name="value"/> lies outside <paramref name="min"/> .. <paramref name="max"/>;
    /// a too large whole number of days gets a hint that the binder read a bare number as days, with
    /// <paramref name="example"/> as the duration to write instead.
    /// </summary>
    internal static void CheckDuration(List<string> failures, string key, TimeSpan value, TimeSpan min, TimeSpan max, string allowed, string example = TwoSecondsExample)
    {
        if (value >= min && value <= max)
        {
            return;
        }

        var message = $"{key} is '{value.ToString("c", CultureInfo.InvariantCulture)}'; allowed: {allowed}.";
        if (value > max && value.Ticks % TimeSpan.TicksPerDay == 0)
        {
            message += $" A bare number binds as days ('{value.Days.ToString(CultureInfo.InvariantCulture)}' is {value.Days.ToString(CultureInfo.InvariantCulture)} days); write durations as 'hh:mm:ss', for example {example}.";
        }

        failures.Add(message);
    }
}
