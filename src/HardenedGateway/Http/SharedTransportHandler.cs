namespace HardenedGateway.Http;

/// <summary>
/// The primary handler of hardened typed clients: forwards to the one shared transport. Disposing it
/// (as <c>IHttpClientFactory</c> does when it recycles handlers) leaves the shared transport alone.
/// </summary>
internal sealed class SharedTransportHandler(HttpMessageInvoker sharedInvoker) : HttpMessageHandler
{
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
        sharedInvoker.SendAsync(request, cancellationToken);
}
