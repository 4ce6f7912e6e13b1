namespace HardenedGateway.Redis;

/// <summary>
/// The Lua scripts of the shared breaker: one hash per upstream with the verdict (<c>state</c>), when an
/// open circuit turns half-open (<c>until</c>, in Redis's clock) and an <c>epoch</c> that every verdict
/// increments, so that replicas apply verdicts in the order Redis saw them and skip ones they have.
/// </summary>
/// <remarks>
/// sony/gobreaker's distributed breaker reads the shared state, changes it locally and writes it back:
/// two replicas doing so at once lose one's update. Here a verdict is one atomic script (increment the
/// epoch, set the state, publish), and failure counting stays local; only the verdicts are shared.
/// </remarks>
internal static class BreakerScripts
{
    /// <summary>KEYS[1] the hash; ARGV state, open ms, channel, proxy name, replica id. Returns the new epoch.</summary>
    public const string Publish = """
        redis.replicate_commands()
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        local epoch = redis.call('HINCRBY', KEYS[1], 'epoch', 1)
        redis.call('HSET', KEYS[1], 'state', ARGV[1], 'until', now + tonumber(ARGV[2]))
        redis.call('PUBLISH', ARGV[3], ARGV[4] .. '|' .. epoch .. '|' .. ARGV[1] .. '|' .. ARGV[2] .. '|' .. ARGV[5])
        return epoch
        """;

    /// <summary>KEYS[1] the hash. Returns {state, epoch, ms until half-open (negative once passed)}; state '' when none was published.</summary>
    public const string Read = """
        local v = redis.call('HMGET', KEYS[1], 'state', 'epoch', 'until')
        if not v[1] then
          return {'', 0, 0}
        end
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        return {v[1], tonumber(v[2]), tonumber(v[3]) - now}
        """;
}
