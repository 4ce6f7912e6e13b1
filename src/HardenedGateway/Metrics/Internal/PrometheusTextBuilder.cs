using System.Buffers;
using System.Globalization;
using System.Text;

namespace HardenedGateway.Metrics;

/// <summary>
/// Writes Prometheus text format 0.0.4 into a pooled character buffer and hands it to the destination
/// in chunks of whole lines. Numbers are formatted straight into the buffer with the invariant culture,
/// so a render costs no string per line.
/// </summary>
internal sealed class PrometheusTextBuilder : IDisposable
{
    // A chunk is handed on once it holds this many characters; big enough that a scrape of 100 proxies
    // is a handful of writes, small enough to stay out of the large object heap.
    private const int FlushThreshold = 16 * 1024;

    private readonly TextWriter? _textWriter;
    private readonly IBufferWriter<byte>? _byteWriter;
    private char[] _buffer;
    private int _length;

    public PrometheusTextBuilder(TextWriter destination)
        : this() => _textWriter = destination;

    public PrometheusTextBuilder(IBufferWriter<byte> destination)
        : this() => _byteWriter = destination;

    private PrometheusTextBuilder() => _buffer = ArrayPool<char>.Shared.Rent(FlushThreshold * 2);

    /// <summary>Writes <c># HELP</c> and <c># TYPE</c>; help texts are constants without backslashes or newlines.</summary>
    public void WriteFamilyHeader(string name, string help, string type)
    {
        Append("# HELP ");
        Append(name);
        Append(' ');
        Append(help);
        Append("\n# TYPE ");
        Append(name);
        Append(' ');
        Append(type);
        EndLine();
    }

    /// <summary>Writes <c>name{labels} </c>: the start of a sample line; <paramref name="labels"/> is already escaped.</summary>
    public void StartSample(string name, string labels)
    {
        Append(name);
        Append('{');
        Append(labels);
    }

    public void Append(char value)
    {
        EnsureCapacity(1);
        _buffer[_length++] = value;
    }

    public void Append(string value)
    {
        EnsureCapacity(value.Length);
        value.CopyTo(0, _buffer, _length, value.Length);
        _length += value.Length;
    }

    public void Append(long value)
    {
        EnsureCapacity(20);
        value.TryFormat(_buffer.AsSpan(_length), out var written, default, CultureInfo.InvariantCulture);
        _length += written;
    }

    /// <summary>Appends a sample value: shortest round-trippable form, or <c>+Inf</c>, <c>-Inf</c>, <c>NaN</c>.</summary>
    public void Append(double value)
    {
        if (double.IsPositiveInfinity(value))
        {
            Append("+Inf");
        }
        else if (double.IsNegativeInfinity(value))
        {
            Append("-Inf");
        }
        else if (double.IsNaN(value))
        {
            Append("NaN");
        }
        else
        {
            EnsureCapacity(32);
            value.TryFormat(_buffer.AsSpan(_length), out var written, "R", CultureInfo.InvariantCulture);
            _length += written;
        }
    }

    /// <summary>Ends a line, and hands the buffer on once it is full enough; lines are never split.</summary>
    public void EndLine()
    {
        Append('\n');
        if (_length >= FlushThreshold)
        {
            Flush();
        }
    }

    /// <summary>Hands everything written so far to the destination.</summary>
    public void Flush()
    {
        if (_length == 0)
        {
            return;
        }

        ReadOnlySpan<char> chunk = _buffer.AsSpan(0, _length);
        if (_textWriter is not null)
        {
            _textWriter.Write(chunk);
        }
        else
        {
            Encoding.UTF8.GetBytes(chunk, _byteWriter!);
        }

        _length = 0;
    }

    public void Dispose()
    {
        var buffer = _buffer;
        _buffer = [];
        _length = 0;
        if (buffer.Length != 0)
        {
            ArrayPool<char>.Shared.Return(buffer);
        }
    }

    /// <summary>Escapes a label value as the text format requires: backslash, double quote and line feed.</summary>
    public static string EscapeLabelValue(string value)
    {
        if (value.AsSpan().IndexOfAny('\\', '"', '\n') < 0)
        {
            return value;
        }

        var escaped = new StringBuilder(value.Length + 8);
        foreach (var c in value)
        {
            _ = c switch
            {
                '\\' => escaped.Append(@"\\"),
                '"' => escaped.Append("\\\""),
                '\n' => escaped.Append(@"\n"),
                _ => escaped.Append(c),
            };
        }

        return escaped.ToString();
    }

    private void EnsureCapacity(int additional)
    {
        if (_length + additional <= _buffer.Length)
        {
            return;
        }

        // Only a very long proxy name gets here: grow rather than split a line.
        var larger = ArrayPool<char>.Shared.Rent(Math.Max(_buffer.Length * 2, _length + additional));
        _buffer.AsSpan(0, _length).CopyTo(larger);
        ArrayPool<char>.Shared.Return(_buffer);
        _buffer = larger;
    }
}
