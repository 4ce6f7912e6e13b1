namespace HardenedGateway.Prometheus;

/// <summary>Copies the measurements of one instrument of the gateway's meter into one prometheus-net family.</summary>
internal abstract class InstrumentBridge
{
    /// <summary>Takes one measurement: an increment, an observation or a current value, by instrument kind.
    /// Runs on the recording thread; it must not throw.</summary>
    public abstract void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags);

    /// <summary>Removes every series this bridge created (the app is shutting down; a later gateway in the same registry starts from zero).</summary>
    public virtual void RemoveAll()
    {
    }

    protected static object? FindTag(ReadOnlySpan<KeyValuePair<string, object?>> tags, string name)
    {
        foreach (var tag in tags)
        {
            if (string.Equals(tag.Key, name, StringComparison.Ordinal))
            {
                return tag.Value;
            }
        }

        return null;
    }
}
