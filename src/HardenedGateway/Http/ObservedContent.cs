using System.Net;

namespace HardenedGateway.Http;

/// <summary>Wraps a response's content so the exchange ends when the body is consumed, fails or is disposed.</summary>
internal sealed class ObservedContent : HttpContent
{
    private readonly HttpContent _inner;
    private readonly HardenedExchange _exchange;

    public ObservedContent(HttpContent inner, HardenedExchange exchange)
    {
        _inner = inner;
        _exchange = exchange;
        foreach (var header in inner.Headers.NonValidated)
        {
            Headers.TryAddWithoutValidation(header.Key, header.Value);
        }
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        try
        {
            await _inner.CopyToAsync(stream, context, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception)
        {
            _exchange.BodyFailed(cancellationToken.IsCancellationRequested);
            throw;
        }

        _exchange.BodyEnded();
    }

    protected override async Task<Stream> CreateContentReadStreamAsync(CancellationToken cancellationToken)
    {
        Stream inner;
        try
        {
            inner = await _inner.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception)
        {
            _exchange.BodyFailed(cancellationToken.IsCancellationRequested);
            throw;
        }

        return new ObservedStream(inner, _exchange);
    }

    protected override Task<Stream> CreateContentReadStreamAsync() => CreateContentReadStreamAsync(CancellationToken.None);

    protected override bool TryComputeLength(out long length)
    {
        var known = _inner.Headers.ContentLength;
        length = known ?? -1;
        return known.HasValue;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _inner.Dispose();
            _exchange.BodyEnded();
        }

        base.Dispose(disposing);
    }
}
