using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using HardenedGateway.IntegrationTests.Infrastructure;
using HardenedGateway.Transport;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace HardenedGateway.IntegrationTests.Transport;

/// <summary>
/// FR-007 end to end, and the TLS faults of RS-001: a real HTTPS Kestrel upstream on 127.0.0.1 with
/// a certificate made in the test. HTTP/2 is negotiated by ALPN when <c>EnableHttp2</c> is on; a
/// server that never answers the handshake is a timeout; an untrusted certificate is refused loudly.
/// </summary>
[TestFixture]
[Parallelizable(ParallelScope.Self)]
public sealed class TlsUpstreamTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(15);
    private X509Certificate2 _certificate = null!;

    [OneTimeSetUp]
    public void CreateCertificate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: false));
        using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(1));

        // Round-trip through PKCS#12 so the private key is usable by SslStream on every platform.
        _certificate = X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pkcs12), null);
    }

    [OneTimeTearDown]
    public void DisposeCertificate() => _certificate.Dispose();

    [TestCase(true, "HTTP/2")]
    [TestCase(false, "HTTP/1.1")]
    public async Task Get_HttpsUpstream_ProtocolNegotiatedByAlpnFollowsEnableHttp2(bool enableHttp2, string expectedProtocol)
    {
        await using var upstream = await StartHttpsUpstreamAsync(_certificate);
        await using var gateway = await TestGateway.StartAsync(
            GatewaySettings.Proxy(BaseAddressOf(upstream)).WithTransport("EnableHttp2", enableHttp2 ? "true" : "false"),
            services: TrustOnly(_certificate));

        using var response = await gateway.Client.GetAsync(new Uri("/api/ai/protocol", UriKind.Relative)).WaitAsync(Bound);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(await response.Content.ReadAsStringAsync(), Is.EqualTo(expectedProtocol), "the protocol the upstream saw");
    }

    [Test]
    public async Task Get_ServerNeverAnswersTlsHandshake_Gives504WithinDialPlusHandshakeTimeout()
    {
        // Accepts TCP and then says nothing: the client hello is never answered.
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var held = new List<Socket>();
        var accepting = AcceptAllAsync(silent, held);
        var port = ((IPEndPoint)silent.LocalEndpoint).Port;
        await using var gateway = await TestGateway.StartAsync(
            GatewaySettings.Proxy(new Uri($"https://127.0.0.1:{port}/"))
                .WithTransport("DialTimeout", "00:00:00.2")
                .WithTransport("TlsHandshakeTimeout", "00:00:00.5"),
            logging: b => b.AddFakeLogging());
        var logs = gateway.Services.GetFakeLogCollector();

        var elapsed = Stopwatch.StartNew();
        using var response = await gateway.Client.GetAsync(new Uri("/api/ai/x", UriKind.Relative)).WaitAsync(Bound);
        elapsed.Stop();
        TestContext.Out.WriteLine($"silent TLS handshake answered 504 after {elapsed.Elapsed.TotalMilliseconds:0} ms (DialTimeout 200 ms + TlsHandshakeTimeout 500 ms)");

        var problem = await Problem.ReadAsync(response, HttpStatusCode.GatewayTimeout);
        Assert.Multiple(() =>
        {
            Assert.That(problem.Reason, Is.EqualTo("upstream_timeout"));
            Assert.That(elapsed.Elapsed, Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(450)), "it waited for the handshake");
            Assert.That(elapsed.Elapsed, Is.LessThan(TimeSpan.FromMilliseconds(700) + TimeSpan.FromSeconds(1)), "and gave up at DialTimeout + TlsHandshakeTimeout (+1 s margin)");
            Assert.That(held, Is.Not.Empty, "the TCP connection was accepted: this is the handshake timing out, not the dial");
            Assert.That(logs.GetSnapshot().Any(r => r.Level == LogLevel.Warning && r.Id.Id == 2), Is.True, "a warning");
        });
        silent.Stop();
        await accepting;
        foreach (var socket in held)
        {
            socket.Dispose();
        }
    }

    [Test]
    public async Task Get_UntrustedCertificate_Gives502UnreachableAndAWarningThatSaysWhy()
    {
        var hits = 0;
        await using var upstream = await StartHttpsUpstreamAsync(_certificate, () => Interlocked.Increment(ref hits));
        await using var gateway = await TestGateway.StartAsync(GatewaySettings.Proxy(BaseAddressOf(upstream)), logging: b => b.AddFakeLogging());
        var logs = gateway.Services.GetFakeLogCollector();

        using var response = await gateway.Client.GetAsync(new Uri("/api/ai/protocol", UriKind.Relative)).WaitAsync(Bound);

        var problem = await Problem.ReadAsync(response, HttpStatusCode.BadGateway);
        var warning = logs.GetSnapshot().FirstOrDefault(r => r.Level == LogLevel.Warning && r.Id.Id == 2);
        Assert.Multiple(() =>
        {
            Assert.That(problem.Reason, Is.EqualTo("upstream_unreachable"));
            Assert.That(hits, Is.Zero, "never a silent bypass: no request reached the upstream");
            Assert.That(warning, Is.Not.Null, "a warning");
            Assert.That(warning?.Message, Does.Contain("certificate").IgnoreCase.And.Contain("UntrustedRoot"), "the warning says why: the certificate is not trusted");
        });
    }

    private static Action<IServiceCollection> TrustOnly(X509Certificate2 trusted) => services =>
        services.AddSingleton(sp =>
        {
            // Stands in for the machine's trust store, which a test must not change: this one certificate, nothing else.
            var transport = new SharedTransport(sp.GetRequiredService<HardenedProxyRegistry>().Transport);
            transport.Handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                certificate is not null && string.Equals(certificate.GetCertHashString(), trusted.GetCertHashString(), StringComparison.Ordinal);
            return transport;
        });

    private static Uri BaseAddressOf(WebApplication app) =>
        new(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());

    private static async Task AcceptAllAsync(TcpListener listener, List<Socket> held)
    {
        try
        {
            while (true)
            {
                var socket = await listener.AcceptSocketAsync();
                lock (held)
                {
                    held.Add(socket);
                }
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // stopped
        }
    }

    private static async Task<WebApplication> StartHttpsUpstreamAsync(X509Certificate2 certificate, Action? onRequest = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrelHttpsConfiguration();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen =>
        {
            listen.Protocols = HttpProtocols.Http1AndHttp2;
            listen.UseHttps(certificate);
        }));
        var app = builder.Build();
        app.MapGet("/{**rest}", (HttpContext context) =>
        {
            onRequest?.Invoke();
            return context.Request.Protocol;
        });
        await app.StartAsync();
        return app;
    }
}
