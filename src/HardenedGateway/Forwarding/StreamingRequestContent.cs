using System.Net;

namespace HardenedGateway.Forwarding;

/// <summary>
/// Streams the client's request body to the upstream through a pooled buffer, and tells the caller
/// which side failed, since a client that stops sending is not an upstream failure.
/// </summary>
internal sealed class StreamingRequestContent(Stream clientBody, BytesPool pool, ExchangeTimeout timeout)
    : HttpContent
{
    /// <summary>Gets a value indicating whether reading the client's body failed.</summary>
    public bool ClientFailed => ClientError is not null;

    /// <summary>Gets what reading the client's body threw, if it failed.</summary>
    public Exception? ClientError { get; private set; }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        // Flush every write: the handler's HTTP/1.1 request stream buffers small writes, so a chunk
        // the client sent (a streamed prompt, a chunked upload) would otherwise wait for the rest of
        // the body. Large reads bypass that buffer, so bulk uploads pay nothing extra.
        var (status, error) = await StreamCopier.CopyAsync(clientBody, stream, pool, flushEachWrite: true, timeout).ConfigureAwait(false);
        switch (status)
        {
            case CopyStatus.Completed:
                // The response-header timeout counts from the end of the request, as Go's does.
                timeout.OnRequestSent();
                return;
            case CopyStatus.SourceFailed or CopyStatus.SourceCanceled:
                // The client's side: it failed, went away, or stayed silent longer than allowed.
                ClientError = error ?? new IOException("Reading the client's request body failed.");
                throw new IOException("Reading the client's request body failed.", error);
            default:
                throw error is null ? new IOException("Sending the request body to the upstream failed.") : new IOException("Sending the request body to the upstream failed.", error);
        }
    }

    protected override bool TryComputeLength(out long length)
    {
        length = -1;
        return false;
    }
}
