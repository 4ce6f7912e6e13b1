using System.Text;
using HardenedGateway.Metrics;

namespace HardenedGateway.Tests.Metrics;

/// <summary>The text format writer: sample values, label escaping, chunking in whole lines and growth for long lines.</summary>
[TestFixture]
public sealed class PrometheusTextBuilderTests
{
    [TestCase(double.PositiveInfinity, "+Inf")]
    [TestCase(double.NegativeInfinity, "-Inf")]
    [TestCase(double.NaN, "NaN")]
    [TestCase(0.25, "0.25")]
    [TestCase(1e-7, "1E-07")]
    [TestCase(-3.5, "-3.5")]
    public void AppendDouble_SpecialAndFiniteValues_WritesTextFormatSpelling(double value, string expected)
    {
        var writer = new ChunkWriter();
        using (var builder = new PrometheusTextBuilder(writer))
        {
            builder.Append(value);
            builder.Flush();
        }

        Assert.That(writer.ToString(), Is.EqualTo(expected));
    }

    [TestCase("\"quoted", "\\\"quoted")]
    [TestCase("\\start", "\\\\start")]
    [TestCase("\nfirst", "\\nfirst")]
    [TestCase("a\\b\"c\nd", "a\\\\b\\\"c\\nd")]
    [TestCase("plain", "plain")]
    [TestCase("", "")]
    public void EscapeLabelValue_SpecialCharacterAnywhere_IsEscaped(string value, string expected) =>
        Assert.That(PrometheusTextBuilder.EscapeLabelValue(value), Is.EqualTo(expected));

    [Test]
    public void EndLine_BelowSixteenKilobytes_HandsNothingOnUntilFlush()
    {
        var writer = new ChunkWriter();
        using var builder = new PrometheusTextBuilder(writer);
        var line = new string('x', 1023);

        for (var i = 0; i < 15; i++)
        {
            builder.Append(line);
            builder.EndLine();
        }

        Assert.That(writer.Chunks, Is.Empty, "15 KiB is below the threshold");

        builder.Flush();

        Assert.That(writer.Chunks.Select(c => c.Length), Is.EqualTo(new[] { 15 * 1024 }));
    }

    [Test]
    public void EndLine_ReachingExactlySixteenKilobytes_HandsOnThatChunkOfWholeLines()
    {
        var writer = new ChunkWriter();
        using var builder = new PrometheusTextBuilder(writer);
        var line = new string('x', 1023);

        for (var i = 0; i < 16; i++)
        {
            builder.Append(line);
            builder.EndLine();
        }

        Assert.That(writer.Chunks.Select(c => c.Length), Is.EqualTo(new[] { 16 * 1024 }));
        Assert.That(writer.Chunks[0], Does.EndWith("\n"));

        builder.Append("tail");
        builder.EndLine();
        builder.Flush();
        builder.Flush();

        Assert.That(writer.Chunks, Is.EqualTo(new[] { string.Concat(Enumerable.Repeat(line + "\n", 16)), "tail\n" }), "no empty chunk is written by a second flush");
    }

    [Test]
    public void Flush_NothingWritten_WritesNothing()
    {
        var writer = new ChunkWriter();
        using (var builder = new PrometheusTextBuilder(writer))
        {
            builder.Flush();
        }

        Assert.That(writer.Chunks, Is.Empty);
    }

    [Test]
    public void Append_LineLongerThanBuffer_GrowsAndKeepsTheLineWhole()
    {
        var writer = new ChunkWriter();
        var longName = new string('n', 70_000);
        using (var builder = new PrometheusTextBuilder(writer))
        {
            builder.StartSample("m", "proxy=\"");
            builder.Append(longName);
            builder.Append(longName);
            builder.Append('"');
            builder.Append('}');
            builder.Append(' ');
            builder.Append(long.MaxValue);
            builder.Append(' ');
            builder.Append(-0.000123456789012345);
            builder.EndLine();
            builder.Flush();
        }

        var expected = "m{proxy=\"" + longName + longName + "\"} 9223372036854775807 -0.000123456789012345\n";
        Assert.Multiple(() =>
        {
            Assert.That(writer.Chunks, Has.Count.EqualTo(1), "a line is never split");
            Assert.That(writer.ToString(), Is.EqualTo(expected));
        });
    }

    [TestCase(1)]
    [TestCase(2)]
    [TestCase(3)]
    [TestCase(4)]
    public void Append_BufferExactlyFull_GrowsForNextValue(int kind)
    {
        // Fill the buffer exactly, whatever size the pool handed out, then append one more value of each kind.
        var writer = new ChunkWriter();
        string expected;
        using (var builder = new PrometheusTextBuilder(writer))
        {
            var filler = new string('f', 1 << 15);
            builder.Append(filler);
            switch (kind)
            {
                case 1:
                    builder.Append('x');
                    expected = "x";
                    break;
                case 2:
                    builder.Append("abc");
                    expected = "abc";
                    break;
                case 3:
                    builder.Append(long.MinValue);
                    expected = "-9223372036854775808";
                    break;
                default:
                    builder.Append(double.MinValue);
                    expected = "-1.7976931348623157E+308";
                    break;
            }

            builder.Flush();
            expected = filler + expected;
        }

        Assert.That(writer.ToString(), Is.EqualTo(expected));
    }

    [Test]
    public void Utf8Destination_NonAsciiLabel_WritesUtf8Bytes()
    {
        var writer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var builder = new PrometheusTextBuilder(writer))
        {
            builder.StartSample("m", "proxy=\"" + PrometheusTextBuilder.EscapeLabelValue("zürich\"") + "\"");
            builder.Append("} ");
            builder.Append(3L);
            builder.EndLine();
            builder.Flush();
        }

        Assert.That(Encoding.UTF8.GetString(writer.WrittenSpan), Is.EqualTo("m{proxy=\"zürich\\\"\"} 3\n"));
    }

    [Test]
    public void Dispose_Twice_DoesNotThrow()
    {
        var builder = new PrometheusTextBuilder(new ChunkWriter());
        builder.Append("x");
        builder.Dispose();

        Assert.That(builder.Dispose, Throws.Nothing);
    }

    /// <summary>Records every chunk the builder hands on.</summary>
    private sealed class ChunkWriter : StringWriter
    {
        public List<string> Chunks { get; } = [];

        public override void Write(ReadOnlySpan<char> buffer)
        {
            Chunks.Add(buffer.ToString());
            base.Write(buffer);
        }
    }
}
