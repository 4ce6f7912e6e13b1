namespace HardenedGateway.Forwarding;

/// <summary>
/// Path rules of DESIGN.md: whole-segment prefix matching, the raw remainder (as received, never
/// decoded and re-encoded) joined to the upstream's base path, the query passed unchanged, and no
/// way to climb above the base path.
/// </summary>
internal static class ForwardingPath
{
    /// <summary>True if <paramref name="path"/> is <paramref name="prefix"/> or starts with it followed by a separator.</summary>
    public static bool MatchesPrefix(ReadOnlySpan<char> path, string prefix)
    {
        if (!path.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        return path.Length == prefix.Length || path[prefix.Length] is '/' or '\\';
    }

    /// <summary>Joins the base URI (as configured) and the raw remainder with exactly one '/', then appends the query.</summary>
    public static string BuildTarget(string upstreamBase, ReadOnlySpan<char> remainder, ReadOnlySpan<char> query)
    {
        if (remainder.IsEmpty && query.IsEmpty)
        {
            return upstreamBase;
        }

        SplitTarget(upstreamBase, remainder, out var head, out var separator, out var rest);
        return string.Concat(head, separator, rest, query);
    }

    /// <summary>
    /// The parts <see cref="BuildTarget"/> joins before the query: the base (without its trailing '/'
    /// unless the remainder is empty), a '/' when there is a remainder, and the remainder without its leading '/'.
    /// </summary>
    public static void SplitTarget(string upstreamBase, ReadOnlySpan<char> remainder, out ReadOnlySpan<char> head, out ReadOnlySpan<char> separator, out ReadOnlySpan<char> rest)
    {
        if (remainder.IsEmpty)
        {
            head = upstreamBase;
            separator = default;
            rest = default;
            return;
        }

        head = upstreamBase.AsSpan().TrimEnd('/');
        separator = "/";
        rest = remainder.TrimStart('/');
    }

    /// <summary>
    /// True if the raw remainder has a <c>..</c> segment in any spelling: dots as <c>.</c> or
    /// <c>%2e</c>, separators as <c>/</c>, <c>\</c>, <c>%2f</c> or <c>%5c</c>, or followed by a
    /// path parameter (<c>..;x</c>).
    /// </summary>
    public static bool ClimbsAboveBase(ReadOnlySpan<char> remainder)
    {
        var dots = 0;
        var other = false;
        for (var i = 0; i < remainder.Length; i++)
        {
            var c = remainder[i];
            if (c is '/' or '\\')
            {
                if (IsDotDot(dots, other))
                {
                    return true;
                }

                dots = 0;
                other = false;
            }
            else if (c == '%' && i + 2 < remainder.Length)
            {
                var escaped = remainder.Slice(i + 1, 2);
                i += 2;
                if (escaped.Equals("2e", StringComparison.OrdinalIgnoreCase))
                {
                    dots++;
                }
                else if (escaped.Equals("2f", StringComparison.OrdinalIgnoreCase) || escaped.Equals("5c", StringComparison.OrdinalIgnoreCase))
                {
                    if (IsDotDot(dots, other))
                    {
                        return true;
                    }

                    dots = 0;
                    other = false;
                }
                else
                {
                    other = true;
                }
            }
            else if (c == '.')
            {
                dots++;
            }
            else if (c == ';' && IsDotDot(dots, other))
            {
                // "..;param" is ".." to servers that strip path parameters first (Tomcat, Spring:
                // Orange Tsai, "Breaking Parser Logic", 2018).
                return true;
            }
            else
            {
                other = true;
            }
        }

        return IsDotDot(dots, other);

        static bool IsDotDot(int dots, bool other) => dots == 2 && !other;
    }
}
