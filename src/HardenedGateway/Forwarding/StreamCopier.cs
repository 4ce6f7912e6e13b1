namespace HardenedGateway.Forwarding;

/// <summary>How a body copy ended, and on which side: the caller decides whom to blame.</summary>
internal enum CopyStatus
{
    /// <summary>The source ended and everything was written.</summary>
    Completed,

    /// <summary>Reading the source threw.</summary>
    SourceFailed,

    /// <summary>Writing the destination threw.</summary>
    DestinationFailed,

    /// <summary>The exchange's token fired while waiting on the source: it was silent too long, or the client went away.</summary>
    SourceCanceled,

    /// <summary>The exchange's token fired while waiting on the destination: it took no data for too long, or the client went away.</summary>
    DestinationCanceled,
}

/// <summary>
/// Copies a body through one pooled 32 KiB buffer (EC-002: never buffered whole). Model: YARP's
/// <c>StreamCopier</c>: the first read is a zero-byte read, so a stream that is slow to start (an AI
/// model thinking) holds no buffer while it waits.
/// </summary>
internal static class StreamCopier
{
    /// <summary>
    /// Copies <paramref name="source"/> to <paramref name="destination"/>. <paramref name="timeout"/> is told
    /// before every read and write, so a stream idle timeout restarts and only silence ends the copy,
    /// never its total length.
    /// </summary>
    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    public static async ValueTask<(CopyStatus Status, Exception? Error)> CopyAsync(
        Stream source, Stream destination, BytesPool pool, bool flushEachWrite, ExchangeTimeout timeout)
    {
        var token = timeout.Token;
        byte[]? buffer = null;
        try
        {
            while (true)
            {
                int read;
                try
                {
                    timeout.OnActivity();
                    if (buffer is null)
                    {
                        await source.ReadAsync(Memory<byte>.Empty, token).ConfigureAwait(false);
                        buffer = pool.Rent();
                    }

                    read = await source.ReadAsync(buffer.AsMemory(), token).ConfigureAwait(false);
                }
#pragma warning disable CA1031 // every failure is a classified outcome, not a crash
                catch (Exception ex)
                {
                    return (token.IsCancellationRequested ? CopyStatus.SourceCanceled : CopyStatus.SourceFailed, ex);
                }

                if (read == 0)
                {
                    return (CopyStatus.Completed, null);
                }

                try
                {
                    timeout.OnActivity();
                    await destination.WriteAsync(buffer.AsMemory(0, read), token).ConfigureAwait(false);
                    if (flushEachWrite)
                    {
                        await destination.FlushAsync(token).ConfigureAwait(false);
                    }
                }
                catch (Exception ex)
                {
                    return (token.IsCancellationRequested ? CopyStatus.DestinationCanceled : CopyStatus.DestinationFailed, ex);
                }
#pragma warning restore CA1031
            }
        }
        finally
        {
            if (buffer is not null)
            {
                pool.Return(buffer);
            }
        }
    }
}
