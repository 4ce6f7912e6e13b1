using System.IO.Pipelines;
using HardenedGateway.Tunnels;
using Microsoft.Extensions.Time.Testing;

namespace HardenedGateway.Tests.Tunnels;

/// <summary>WS-002 on a fake clock: the idle timeout counts bytes in either direction, the lifetime holds, every end returns the buffers.</summary>
[TestFixture]
public sealed class TunnelSessionTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    [TestCase(true)]
    [TestCase(false)]
    public async Task RunAsync_BytesInOneDirection_RestartIdleClockThenSilenceEndsIt(bool fromClient)
    {
        var time = new FakeTimeProvider();
        var pool = new BytesPool(16);
        await using var wires = new Wires();
        using var session = new TunnelSession(pool, time, idleTimeout: TimeSpan.FromMinutes(1), maxLifetime: TimeSpan.Zero);
        var run = session.RunAsync(wires.GatewayClientSide, wires.GatewayUpstreamSide, CancellationToken.None);

        time.Advance(TimeSpan.FromSeconds(59));
        await wires.SendAndDeliverAsync(fromClient, 3);
        time.Advance(TimeSpan.FromSeconds(1)); // the first deadline: 1 s silent, re-armed for 59 s
        time.Advance(TimeSpan.FromSeconds(58));
        Assert.That(run.IsCompleted, Is.False, "59 s after the last byte the tunnel is still open");

        time.Advance(TimeSpan.FromSeconds(1));

        Assert.That(await run.WaitAsync(Bound), Is.EqualTo(TunnelEnd.IdleTimeout));
        Assert.That(pool.OutstandingCount, Is.Zero);
    }

    [Test]
    public async Task RunAsync_BusyTunnelAtMaxLifetime_EndsWithLifetime()
    {
        var time = new FakeTimeProvider();
        var pool = new BytesPool(16);
        await using var wires = new Wires();
        using var session = new TunnelSession(pool, time, idleTimeout: TimeSpan.FromMinutes(1), maxLifetime: TimeSpan.FromMinutes(10));
        var run = session.RunAsync(wires.GatewayClientSide, wires.GatewayUpstreamSide, CancellationToken.None);

        for (var i = 0; i < 19; i++)
        {
            time.Advance(TimeSpan.FromSeconds(30));
            await wires.SendAndDeliverAsync(fromClient: i % 2 == 0, 10);
        }

        Assert.That(run.IsCompleted, Is.False, "9 min 30 s, busy: open");
        time.Advance(TimeSpan.FromSeconds(30));

        Assert.That(await run.WaitAsync(Bound), Is.EqualTo(TunnelEnd.Lifetime));
        Assert.Multiple(() =>
        {
            Assert.That(session.BytesFromClient, Is.EqualTo(100));
            Assert.That(session.BytesFromUpstream, Is.EqualTo(90));
            Assert.That(pool.OutstandingCount, Is.Zero);
        });
    }

    [TestCase(true)]
    [TestCase(false)]
    public async Task RunAsync_OneSideEndsItsStream_EndsWithThatSidesCloseAndReturnsBuffers(bool client)
    {
        var expected = client ? TunnelEnd.ClientClosed : TunnelEnd.UpstreamClosed;
        var time = new FakeTimeProvider();
        var pool = new BytesPool(16);
        await using var wires = new Wires();
        using var session = new TunnelSession(pool, time, TimeSpan.Zero, TimeSpan.Zero);
        var run = session.RunAsync(wires.GatewayClientSide, wires.GatewayUpstreamSide, CancellationToken.None);
        await wires.SendAndDeliverAsync(client, 5);

        await (client ? wires.ClientToGateway.Writer : wires.UpstreamToGateway.Writer).CompleteAsync();

        Assert.That(await run.WaitAsync(Bound), Is.EqualTo(expected));
        Assert.That(pool.OutstandingCount, Is.Zero);
    }

    [TestCase(true)]
    [TestCase(false)]
    public async Task RunAsync_OneSideFails_EndsWithThatSidesReset(bool client)
    {
        var expected = client ? TunnelEnd.ClientReset : TunnelEnd.UpstreamReset;
        var pool = new BytesPool(16);
        await using var wires = new Wires();
        using var session = new TunnelSession(pool, new FakeTimeProvider(), TimeSpan.Zero, TimeSpan.Zero);
        var run = session.RunAsync(wires.GatewayClientSide, wires.GatewayUpstreamSide, CancellationToken.None);

        await (client ? wires.ClientToGateway.Writer : wires.UpstreamToGateway.Writer).CompleteAsync(new IOException("connection reset"));

        Assert.That(await run.WaitAsync(Bound), Is.EqualTo(expected));
        Assert.That(pool.OutstandingCount, Is.Zero);
    }

    [Test]
    public async Task RunAsync_HostStopping_EndsWithShutdown()
    {
        var pool = new BytesPool(16);
        await using var wires = new Wires();
        using var stopping = new CancellationTokenSource();
        using var session = new TunnelSession(pool, new FakeTimeProvider(), TimeSpan.FromMinutes(5), TimeSpan.Zero);
        var run = session.RunAsync(wires.GatewayClientSide, wires.GatewayUpstreamSide, stopping.Token);
        await wires.SendAndDeliverAsync(fromClient: true, 1);

        await stopping.CancelAsync();

        Assert.That(await run.WaitAsync(Bound), Is.EqualTo(TunnelEnd.Shutdown));
        Assert.That(pool.OutstandingCount, Is.Zero);
    }

    [Test]
    public async Task RunAsync_OpenButQuiet_HoldsNoBuffer()
    {
        var pool = new BytesPool(16);
        await using var wires = new Wires();
        using var session = new TunnelSession(pool, new FakeTimeProvider(), TimeSpan.Zero, TimeSpan.Zero);
        var run = session.RunAsync(wires.GatewayClientSide, wires.GatewayUpstreamSide, CancellationToken.None);

        await wires.SendAndDeliverAsync(fromClient: true, 1000);
        await wires.SendAndDeliverAsync(fromClient: false, 1000);

        Assert.Multiple(() =>
        {
            Assert.That(run.IsCompleted, Is.False);
            Assert.That(pool.RentCount, Is.GreaterThanOrEqualTo(2), "each direction copied through a pooled buffer");
            Assert.That(pool.OutstandingCount, Is.Zero, "waiting with a zero-byte read, a quiet tunnel holds no 32 KiB buffer");
        });
        session.End(TunnelEnd.Shutdown);
        await run.WaitAsync(Bound);
    }

    /// <summary>Two in-memory connections: client ⇄ gateway and gateway ⇄ upstream.</summary>
    private sealed class Wires : IAsyncDisposable
    {
        public Pipe ClientToGateway { get; } = new();

        public Pipe GatewayToClient { get; } = new();

        public Pipe UpstreamToGateway { get; } = new();

        public Pipe GatewayToUpstream { get; } = new();

        public Stream GatewayClientSide => new DuplexStream(ClientToGateway.Reader.AsStream(), GatewayToClient.Writer.AsStream());

        public Stream GatewayUpstreamSide => new DuplexStream(UpstreamToGateway.Reader.AsStream(), GatewayToUpstream.Writer.AsStream());

        /// <summary>Writes <paramref name="count"/> bytes at one end and waits (bounded) until the tunnel delivered them at the other.</summary>
        public async Task SendAndDeliverAsync(bool fromClient, int count)
        {
            var writer = fromClient ? ClientToGateway.Writer : UpstreamToGateway.Writer;
            var reader = fromClient ? GatewayToUpstream.Reader : GatewayToClient.Reader;
            await writer.WriteAsync(new byte[count]).AsTask().WaitAsync(Bound);
            var received = 0;
            while (received < count)
            {
                var result = await reader.ReadAsync().AsTask().WaitAsync(Bound);
                received += (int)result.Buffer.Length;
                reader.AdvanceTo(result.Buffer.End);
            }

            Assert.That(received, Is.EqualTo(count));
        }

        public async ValueTask DisposeAsync()
        {
            await ClientToGateway.Writer.CompleteAsync();
            await UpstreamToGateway.Writer.CompleteAsync();
        }
    }

    private sealed class DuplexStream(Stream input, Stream output) : Stream
    {
        public override bool CanRead => true;

        public override bool CanWrite => true;

        public override bool CanSeek => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => input.ReadAsync(buffer, cancellationToken);

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => output.WriteAsync(buffer, cancellationToken);

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
