using System.Globalization;
using Microsoft.Extensions.Options;

namespace HardenedGateway.Redis;

/// <summary>Validates <see cref="HardenedGatewayRedisOptions"/> at start-up; each failure names the key, the value and the allowed range.</summary>
internal sealed class HardenedGatewayRedisOptionsValidator : IValidateOptions<HardenedGatewayRedisOptions>
{
    private const string Root = HardenedGatewayRedisOptions.SectionName;

    public ValidateOptionsResult Validate(string? name, HardenedGatewayRedisOptions options)
    {
        var failures = Collect(options);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    internal static List<string> Collect(HardenedGatewayRedisOptions options)
    {
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.Configuration))
        {
            failures.Add($"{Root}:Configuration is required: a StackExchange.Redis configuration string such as '127.0.0.1:6379'.");
        }
        else
        {
            try
            {
                _ = StackExchange.Redis.ConfigurationOptions.Parse(options.Configuration);
            }
            catch (ArgumentException ex)
            {
                // The value may carry a password, so only the parser's complaint is quoted.
                failures.Add($"{Root}:Configuration is not a valid StackExchange.Redis configuration string: {ex.Message}");
            }
        }

        if (options.KeyPrefix is null)
        {
            failures.Add($"{Root}:KeyPrefix must not be null; the default is 'hardened-gateway:'.");
        }

        CheckDuration(failures, $"{Root}:OperationTimeout", options.OperationTimeout, TimeSpan.FromMilliseconds(1), TimeSpan.FromSeconds(5), "1 ms .. 5 s");
        CheckDuration(failures, $"{Root}:LeaseTime", options.LeaseTime, TimeSpan.FromSeconds(1), TimeSpan.FromHours(1), "1 s .. 1 h");
        return failures;
    }

    private static void CheckDuration(List<string> failures, string key, TimeSpan value, TimeSpan min, TimeSpan max, string allowed)
    {
        if (value >= min && value <= max)
        {
            return;
        }

        var message = $"{key} is '{value.ToString("c", CultureInfo.InvariantCulture)}'; allowed: {allowed}.";
        if (value > max && value.Ticks % TimeSpan.TicksPerDay == 0)
        {
            message += $" A bare number binds as days ('{value.Days.ToString(CultureInfo.InvariantCulture)}' is {value.Days.ToString(CultureInfo.InvariantCulture)} days); write durations as 'hh:mm:ss', for example '00:00:00.050' for 50 ms.";
        }

        failures.Add(message);
    }
}
