using System.Net;

namespace HardenedGateway.Forwarding;

/// <summary>
/// Streams the client's request body to the upstream through a pooled buffer, and tells the caller
/// which side failed, since a client that stops sending is not an upstream failure.
/// </summary>
internal sealed class StreamingRequestContent(Stream clientBody, BytesPool pool, TimeSpan idleTimeout, CancellationTokenSource timeout, TimeSpan headerTimeoutAfterSend)
    : HttpContent
{
    /// <summary>Gets a value indicating whether reading the client's body failed.</summary>
    public bool ClientFailed { get; private set; }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        var (status, error, _) = await StreamCopier.CopyAsync(clientBody, stream, pool, flushEachWrite: false, idleTimeout, timeout).ConfigureAwait(false);
        switch (status)
        {
            case CopyStatus.Completed:
                // The response-header timeout counts from the end of the request, as Go's does.
                timeout.CancelAfter(headerTimeoutAfterSend > TimeSpan.Zero ? headerTimeoutAfterSend : Timeout.InfiniteTimeSpan);
                return;
            case CopyStatus.SourceFailed:
                ClientFailed = true;
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
