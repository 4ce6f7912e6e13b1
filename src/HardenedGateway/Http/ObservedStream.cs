namespace HardenedGateway.Http;

/// <summary>A read-only pass-through stream that ends the exchange at end of body, on failure, or on dispose.</summary>
internal sealed class ObservedStream(Stream inner, HardenedExchange exchange) : Stream
{
    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        int read;
        try
        {
            read = inner.Read(buffer);
        }
        catch (Exception)
        {
            exchange.BodyFailed(callerCanceled: false);
            throw;
        }

        if (read == 0 && buffer.Length > 0)
        {
            exchange.BodyEnded();
        }

        return read;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        int read;
        try
        {
            read = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception)
        {
            exchange.BodyFailed(cancellationToken.IsCancellationRequested);
            throw;
        }

        if (read == 0 && buffer.Length > 0)
        {
            exchange.BodyEnded();
        }

        return read;
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
            exchange.BodyEnded();
        }

        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        await inner.DisposeAsync().ConfigureAwait(false);
        exchange.BodyEnded();
        await base.DisposeAsync().ConfigureAwait(false);
    }
}
