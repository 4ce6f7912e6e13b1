namespace HardenedGateway.Forwarding;

/// <summary>
/// The upstream targets of one proxy's hot paths, each built once: the target string and its
/// <see cref="Uri"/>. An AI engine behind a proxy is called on a handful of paths
/// (<c>/v1/chat/completions</c>, <c>/v1/embeddings</c>), so most requests rebuild a target the
/// previous ones built; a hit costs a comparison instead of a string, a <see cref="Uri"/> and its
/// parsed parts (about 200 bytes and the parsing per request).
/// </summary>
/// <remarks>
/// <para>
/// A fixed table of <see cref="SlotCount"/> slots, picked by the target's length and last characters;
/// a new target replaces the slot's old one, so a proxy called on many paths (a query that differs
/// per request, say) only misses and costs what it cost before plus one small entry. Memory stays
/// bounded whatever clients send: targets longer than <see cref="MaxCachedLength"/> are never kept.
/// </para>
/// <para>
/// A hit is exact, character for character, and entries are immutable apart from their lazily built
/// <see cref="Uri"/> (a benign race: two threads may each build an equal one). An entry's
/// <see cref="Uri"/> is shared by concurrent requests; <see cref="Uri"/> is immutable and thread-safe.
/// </para>
/// </remarks>
internal sealed class TargetCache(string upstreamBase)
{
    /// <summary>How many targets one proxy keeps.</summary>
    internal const int SlotCount = 16;

    /// <summary>The longest target kept, in characters; longer ones are built per request.</summary>
    internal const int MaxCachedLength = 512;

    /// <summary>
    /// The target is sent as built: System.Uri's canonicalization would otherwise decode escaped
    /// unreserved characters (<c>%41</c> → <c>A</c>) in the path and the query, re-encode stray
    /// <c>%</c> and drop <c>.</c> segments, breaking "the rest of the path, as received".
    /// </summary>
    internal static readonly UriCreationOptions RawTargetOptions = new() { DangerousDisablePathAndQueryCanonicalization = true };

    private readonly Entry?[] _slots = new Entry?[SlotCount];

    /// <summary>
    /// The target for <paramref name="remainder"/> and <paramref name="query"/>, as
    /// <see cref="ForwardingPath.BuildTarget"/> builds it: the same string instance as before when
    /// this proxy built an equal target recently.
    /// </summary>
    public string Build(ReadOnlySpan<char> remainder, ReadOnlySpan<char> query)
    {
        ForwardingPath.SplitTarget(upstreamBase, remainder, out var head, out var separator, out var rest);
        var length = head.Length + separator.Length + rest.Length + query.Length;
        if (length > MaxCachedLength)
        {
            return ForwardingPath.BuildTarget(upstreamBase, remainder, query);
        }

        var last = query.Length > 0 ? query[^1] : rest.Length > 0 ? rest[^1] : separator.Length > 0 ? '/' : head.Length > 0 ? head[^1] : '\0';
        ref var slot = ref _slots[SlotOf(length, last)];
        var entry = Volatile.Read(ref slot);
        if (entry is not null && Matches(entry.Target, head, separator, rest, query))
        {
            return entry.Target;
        }

        var target = ForwardingPath.BuildTarget(upstreamBase, remainder, query);
        Volatile.Write(ref slot, new Entry(target));
        return target;
    }

    /// <summary>The <see cref="Uri"/> of a target: the cached one when <paramref name="target"/> came from <see cref="Build"/> and is still kept.</summary>
    public Uri UriFor(string target)
    {
        if (target.Length is > 0 and <= MaxCachedLength)
        {
            var entry = Volatile.Read(ref _slots[SlotOf(target.Length, target[^1])]);
            if (entry is not null && ReferenceEquals(entry.Target, target))
            {
                return entry.Uri ??= new Uri(target, RawTargetOptions);
            }
        }

        return new Uri(target, RawTargetOptions);
    }

    private static int SlotOf(int length, char last) => (int)((uint)((length * 31) + last) % SlotCount);

    private static bool Matches(string cached, ReadOnlySpan<char> head, ReadOnlySpan<char> separator, ReadOnlySpan<char> rest, ReadOnlySpan<char> query)
    {
        if (cached.Length != head.Length + separator.Length + rest.Length + query.Length)
        {
            return false;
        }

        var text = cached.AsSpan();
        if (!text[..head.Length].SequenceEqual(head))
        {
            return false;
        }

        text = text[head.Length..];
        if (!text[..separator.Length].SequenceEqual(separator))
        {
            return false;
        }

        text = text[separator.Length..];
        return text[..rest.Length].SequenceEqual(rest) && text[rest.Length..].SequenceEqual(query);
    }

    private sealed class Entry(string target)
    {
        public string Target { get; } = target;

        public Uri? Uri { get; set; }
    }
}
