namespace HardenedGateway.Transport;

/// <summary>The one shared handler and invoker (DESIGN.md: one hardened transport for every proxy and typed client).</summary>
internal sealed class SharedTransport : IDisposable
{
    public SharedTransport(TransportOptions options)
    {
        Handler = HardenedTransport.CreateHandler(options);
        Invoker = new HttpMessageInvoker(Handler, disposeHandler: false);
    }

    public SocketsHttpHandler Handler { get; }

    public HttpMessageInvoker Invoker { get; }

    public void Dispose()
    {
        Invoker.Dispose();
        Handler.Dispose();
    }
}
