using HardenedGateway.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;

namespace HardenedGateway.Tests.Hosting;

[TestFixture]
public sealed class ProxyRequestHandlerTests
{
    [Test]
    public void TryHandle_PathOutsideEveryPrefix_FallsThroughWithoutAllocating()
    {
        using var services = new ServiceCollection()
            .AddLogging()
            .AddHardenedProxy(options =>
            {
                options.Proxies["ai"] = new ProxyOptions { PathPrefix = "/api/ai", Upstream = "http://127.0.0.1:8000/" };
                options.Proxies["billing"] = new ProxyOptions { PathPrefix = "/api/billing", Upstream = "http://127.0.0.1:8001/" };
            })
            .BuildServiceProvider();
        var handler = services.GetRequiredService<ProxyRequestHandler>();
        var context = new DefaultHttpContext();
        context.Request.Path = "/api/aiecho/orders";
        context.Request.QueryString = new QueryString("?page=2");
        context.Features.Get<IHttpRequestFeature>()!.RawTarget = "/api/aiecho/orders?page=2";
        Assert.That(handler.TryHandle(context), Is.Null); // warm-up

        var before = GC.GetAllocatedBytesForCurrentThread();
        var handled = handler.TryHandle(context);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Multiple(() =>
        {
            Assert.That(handled, Is.Null, "the app's own request goes on to the next middleware");
            Assert.That(allocated, Is.Zero, "the middleware runs for every request of the app");
        });
    }
}
