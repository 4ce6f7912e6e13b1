using Microsoft.Extensions.Options;
using static HardenedGateway.Hosting.OptionsChecks;

namespace HardenedGateway.Redis;

/// <summary>Validates <see cref="HardenedGatewayRedisOptions"/> at start-up; each failure names the key, the value and the allowed range.</summary>
internal sealed class HardenedGatewayRedisOptionsValidator : IValidateOptions<HardenedGatewayRedisOptions>
{
    private const string Root = HardenedGatewayRedisOptions.SectionName;

    // The package's durations are short (OperationTimeout), so its bare-number hint shows milliseconds.
    private const string FiftyMillisecondsExample = "'00:00:00.050' for 50 ms";

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

        CheckDuration(failures, $"{Root}:OperationTimeout", options.OperationTimeout, TimeSpan.FromMilliseconds(1), TimeSpan.FromSeconds(5), "1 ms .. 5 s", FiftyMillisecondsExample);
        CheckDuration(failures, $"{Root}:LeaseTime", options.LeaseTime, TimeSpan.FromSeconds(1), TimeSpan.FromHours(1), "1 s .. 1 h", FiftyMillisecondsExample);
        return failures;
    }
}
