using System.Diagnostics;

namespace HardenedGateway.Tests.Metrics;

/// <summary>
/// Not a timing assertion: prints how long a render of 100 proxies x 10 status codes takes, for the
/// record (SC-006). Run with <c>dotnet test --filter "FullyQualifiedName~RenderTimingProbe"</c>.
/// </summary>
[TestFixture]
[Explicit("Prints render times; asserts nothing about speed.")]
public sealed class RenderTimingProbe
{
    [Test]
    public void RenderPrometheusText_HundredProxiesTenCodes_PrintsRenderTime()
    {
        using var collector = new MetricsCollector(bytesPool: new BytesPool());
        int[] codes = [200, 201, 204, 301, 400, 404, 429, 499, 502, 503];
        for (var p = 0; p < 100; p++)
        {
            var proxy = collector.ForProxy($"proxy-{p:D3}", new ConcurrencyLimiter(10), null);
            foreach (var code in codes)
            {
                proxy.RecordRequest(code, code == 429 ? GatewayErrorReason.ConcurrencyLimit : GatewayErrorReason.None, TimeSpan.FromMilliseconds(p * 7), TimeSpan.FromMilliseconds(p));
            }
        }

        using var sink = new StreamWriter(Stream.Null);
        for (var i = 0; i < 200; i++)
        {
            collector.WritePrometheusText(sink);
        }

        const int Runs = 1_000;
        var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        var stopwatch = Stopwatch.StartNew();
        for (var i = 0; i < Runs; i++)
        {
            collector.WritePrometheusText(sink);
        }

        stopwatch.Stop();
        var allocated = (GC.GetAllocatedBytesForCurrentThread() - allocatedBefore) / Runs;
        var text = collector.RenderPrometheusText();
        var toStringWatch = Stopwatch.StartNew();
        for (var i = 0; i < 100; i++)
        {
            _ = collector.RenderPrometheusText();
        }

        toStringWatch.Stop();
        var nullWatch = Stopwatch.StartNew();
        for (var i = 0; i < Runs; i++)
        {
            collector.WritePrometheusText(TextWriter.Null);
        }

        nullWatch.Stop();
        var bytes = new System.Buffers.ArrayBufferWriter<byte>(512 * 1024);
        var bytesWatch = Stopwatch.StartNew();
        for (var i = 0; i < Runs; i++)
        {
            bytes.ResetWrittenCount();
            collector.WritePrometheusTextUtf8(bytes);
        }

        bytesWatch.Stop();
        TestContext.Out.WriteLine($"TextWriter.Null: {nullWatch.Elapsed.TotalMilliseconds * 1000 / Runs:F1} µs; IBufferWriter<byte>: {bytesWatch.Elapsed.TotalMilliseconds * 1000 / Runs:F1} µs per render");
        TestContext.Out.WriteLine(
            $"{text.Length:N0} chars, {text.Split('\n').Length - 1:N0} lines; WritePrometheusText(StreamWriter): {stopwatch.Elapsed.TotalMilliseconds * 1000 / Runs:F1} µs per render, {allocated:N0} bytes allocated per render; RenderPrometheusText(): {toStringWatch.Elapsed.TotalMilliseconds * 10:F1} µs per render");
    }
}
