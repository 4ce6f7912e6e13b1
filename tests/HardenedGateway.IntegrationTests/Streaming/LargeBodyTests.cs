using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using HardenedGateway.IntegrationTests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;

namespace HardenedGateway.IntegrationTests.Streaming;

/// <summary>
/// EC-002: large bodies stream through in both directions, never materialised. Bodies are generated
/// on the fly and checked by length and SHA-256; the process's managed heap must not grow by
/// anything near the body size. Not parallel: the heap is measured process-wide.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class LargeBodyTests
{
    private const long BodySize = 256L * 1024 * 1024;
    private const int ChunkSize = 64 * 1024;

    /// <summary>Generous: a buffered body would need at least BodySize.</summary>
    private const long HeapGrowthBound = 64L * 1024 * 1024;

    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    [Test]
    public async Task Get_LargeDownload_StreamsWithFlatMemory()
    {
        await using var upstream = await TestUpstream.StartAsync(app => app.MapGet("/{**rest}", async (HttpContext context) =>
        {
            context.Response.ContentType = "application/octet-stream";
            context.Response.ContentLength = BodySize;
            await WritePatternAsync(context.Response.Body, BodySize, context.RequestAborted);
        }));
        await using var gateway = await TestGateway.StartAsync(GatewaySettings.Proxy(upstream.BaseAddress));
        var expected = ExpectedHash(BodySize);

        using var monitor = HeapMonitor.Start();
        using var response = await gateway.Client.GetAsync(new Uri("/api/ai/download", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        var (length, hash) = await HashAsync(await response.Content.ReadAsStreamAsync()).WaitAsync(Bound);
        var peakGrowth = await monitor.StopAsync();

        Assert.Multiple(() =>
        {
            Assert.That(response.Content.Headers.ContentLength, Is.EqualTo(BodySize));
            Assert.That(length, Is.EqualTo(BodySize));
            Assert.That(hash, Is.EqualTo(expected));
            Assert.That(peakGrowth, Is.LessThan(HeapGrowthBound), $"peak managed heap growth {peakGrowth / 1048576} MiB for a {BodySize / 1048576} MiB body");
        });
        TestContext.Out.WriteLine($"download: peak heap growth {peakGrowth / 1048576.0:0.0} MiB, {monitor.Elapsed.TotalSeconds:0.00} s");
    }

    [Test]
    public async Task Post_LargeChunkedUpload_StreamsWithFlatMemory()
    {
        static void Unlimited(IServiceCollection services) => services.Configure<KestrelServerOptions>(o => o.Limits.MaxRequestBodySize = null);
        await using var upstream = await TestUpstream.StartAsync(
            app => app.MapPost("/{**rest}", async (HttpContext context) =>
            {
                var (length, hash) = await HashAsync(context.Request.Body);
                return $"{length}:{hash}";
            }),
            Unlimited);
        await using var gateway = await TestGateway.StartAsync(GatewaySettings.Proxy(upstream.BaseAddress), services: Unlimited);
        var expected = ExpectedHash(BodySize);

        using var monitor = HeapMonitor.Start();
        using var content = new StreamingTests.PushContent(stream => WritePatternAsync(stream, BodySize, CancellationToken.None));
        using var response = await gateway.Client.PostAsync(new Uri("/api/ai/upload", UriKind.Relative), content).WaitAsync(Bound);
        var answer = await response.Content.ReadAsStringAsync();
        var peakGrowth = await monitor.StopAsync();

        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), answer);
            Assert.That(answer, Is.EqualTo($"{BodySize}:{expected}"));
            Assert.That(peakGrowth, Is.LessThan(HeapGrowthBound), $"peak managed heap growth {peakGrowth / 1048576} MiB for a {BodySize / 1048576} MiB body");
        });
        TestContext.Out.WriteLine($"upload: peak heap growth {peakGrowth / 1048576.0:0.0} MiB, {monitor.Elapsed.TotalSeconds:0.00} s");
    }

    [TestCase(true)]
    [TestCase(false)]
    public async Task Post_BodyOverServerLimit_Gets413AndUpstreamIsNotAnsweredFor(bool chunked)
    {
        await using var upstream = await TestUpstream.StartAsync(app => app.MapPost("/{**rest}", () => "reached"));
        await using var gateway = await TestGateway.StartAsync(
            GatewaySettings.Proxy(upstream.BaseAddress),
            services: s => s.Configure<KestrelServerOptions>(o => o.Limits.MaxRequestBodySize = 1000));

        using HttpContent content = chunked
            ? new StreamingTests.PushContent(stream => stream.WriteAsync(new byte[5000]).AsTask())
            : new ByteArrayContent(new byte[5000]);
        using var response = await gateway.Client.PostAsync(new Uri("/api/ai/upload", UriKind.Relative), content);

        // The gateway's own answer: a problem body like its others, without a reason (the upstream was not at fault).
        var problem = await Problem.ReadAsync(response, HttpStatusCode.RequestEntityTooLarge);
        Assert.That(problem.Reason, Is.Null);
    }

    /// <summary>Chunk k is the same 64 KiB block with k in its first 8 bytes: cheap to make, and order-sensitive.</summary>
    private static async Task WritePatternAsync(Stream destination, long size, CancellationToken cancellationToken)
    {
        var chunk = NewPatternChunk();
        for (long offset = 0, index = 0; offset < size; offset += ChunkSize, index++)
        {
            BinaryPrimitives.WriteInt64LittleEndian(chunk, index);
            await destination.WriteAsync(chunk.AsMemory(0, (int)Math.Min(ChunkSize, size - offset)), cancellationToken);
        }
    }

    private static string ExpectedHash(long size)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var chunk = NewPatternChunk();
        for (long offset = 0, index = 0; offset < size; offset += ChunkSize, index++)
        {
            BinaryPrimitives.WriteInt64LittleEndian(chunk, index);
            hash.AppendData(chunk, 0, (int)Math.Min(ChunkSize, size - offset));
        }

        return Convert.ToHexString(hash.GetHashAndReset());
    }

    private static byte[] NewPatternChunk()
    {
        var chunk = new byte[ChunkSize];
        for (var i = 0; i < chunk.Length; i++)
        {
            chunk[i] = (byte)(i * 31 % 251);
        }

        return chunk;
    }

    private static async Task<(long Length, string Hash)> HashAsync(Stream source)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[ChunkSize];
        long length = 0;
        int read;
        while ((read = await source.ReadAsync(buffer)) > 0)
        {
            hash.AppendData(buffer, 0, read);
            length += read;
        }

        return (length, Convert.ToHexString(hash.GetHashAndReset()));
    }

    /// <summary>Samples the managed heap while a transfer runs and reports its peak growth over the starting size.</summary>
    private sealed class HeapMonitor : IDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Stopwatch _stopwatch = Stopwatch.StartNew();
        private readonly long _baseline;
        private readonly Task<long> _sampling;

        private HeapMonitor()
        {
            _baseline = GC.GetTotalMemory(forceFullCollection: true);
            _sampling = SampleAsync();
        }

        public TimeSpan Elapsed => _stopwatch.Elapsed;

        public static HeapMonitor Start() => new();

        public async Task<long> StopAsync()
        {
            _stopwatch.Stop();
            await _stop.CancelAsync();
            return Math.Max(0, await _sampling - _baseline);
        }

        public void Dispose() => _stop.Dispose();

        private async Task<long> SampleAsync()
        {
            var peak = _baseline;
            while (!_stop.IsCancellationRequested)
            {
                peak = Math.Max(peak, GC.GetTotalMemory(forceFullCollection: false));
                try
                {
                    await Task.Delay(20, _stop.Token);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }

            return Math.Max(peak, GC.GetTotalMemory(forceFullCollection: false));
        }
    }
}
