using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace HardenedGateway.Forwarding;

/// <summary>
/// A problem body as UTF-8 bytes around its one varying field, the trace id: built once per proxy,
/// status and text with the same writer and field order as a body written field by field, so the
/// bytes are identical, and then copied per answer (issue 16: shedding load costs no JSON writing).
/// </summary>
internal sealed class ProblemBody
{
    /// <summary>A W3C activity id: "00-" + 32 + "-" + 16 + "-" + 2 characters.</summary>
    public const int MaxTraceIdLength = 55;

    // Stands for the trace id while the body is built; the writer leaves it unescaped.
    private const string Placeholder = "TRACE-ID-PLACEHOLDER";

    // Keyed by proxy name; a name has one body per status, title, detail and reason, all fixed texts,
    // so the bodies a process holds are bounded by its proxies times the gateway's own answers.
    private static readonly ConcurrentDictionary<Key, ProblemBody> Cache = new();

    private ProblemBody(byte[] prefix, byte[] suffix)
    {
        Prefix = prefix;
        Suffix = suffix;
    }

    /// <summary>Gets the bytes up to and including the opening quote of the trace id.</summary>
    public byte[] Prefix { get; }

    /// <summary>Gets the bytes from the closing quote of the trace id to the end.</summary>
    public byte[] Suffix { get; }

    /// <summary>Writes the whole body with <paramref name="traceId"/> into <paramref name="destination"/>, which holds at least <see cref="Length"/> bytes.</summary>
    public void CopyTo(ReadOnlySpan<byte> traceId, Span<byte> destination)
    {
        Prefix.CopyTo(destination);
        traceId.CopyTo(destination[Prefix.Length..]);
        Suffix.CopyTo(destination[(Prefix.Length + traceId.Length)..]);
    }

    /// <summary>Gets the length of the body with a trace id of <paramref name="traceIdLength"/> bytes.</summary>
    public int Length(int traceIdLength) => Prefix.Length + traceIdLength + Suffix.Length;

    /// <summary>Gets the cached body for these fields, building it on first use.</summary>
    /// <remarks>Title and detail follow from the status and reason in every caller, so they are not part of the key (no long strings hashed per answer).</remarks>
    public static ProblemBody For(int status, string title, string detail, string proxyName, string? reasonLabel) =>
        Cache.TryGetValue(new Key(proxyName, status, reasonLabel), out var body)
            ? body
            : Cache.GetOrAdd(new Key(proxyName, status, reasonLabel), static (key, texts) => Create(key, texts.Title, texts.Detail), (Title: title, Detail: detail));

    /// <summary>
    /// Writes the trace id the body carries (<c>Activity.Current?.Id ?? TraceIdentifier</c>) as UTF-8,
    /// without building the activity's id string; returns its length, or -1 when it would need escaping
    /// or is longer than <paramref name="destination"/> (the caller then writes the body field by field).
    /// </summary>
    public static int FormatTraceId(HttpContext context, Span<byte> destination)
    {
        var activity = Activity.Current;
        if (activity is { IdFormat: ActivityIdFormat.W3C })
        {
            // Activity.Id of a W3C activity, as the runtime builds it: 00-<trace id>-<span id>-<flags>.
            // The ids keep their lower-case hex strings, so nothing is parsed or allocated here.
            "00-"u8.CopyTo(destination);
            var length = 3 + CopyAscii(activity.TraceId.ToHexString(), destination[3..]);
            destination[length++] = (byte)'-';
            length += CopyAscii(activity.SpanId.ToHexString(), destination[length..]);
            var recorded = (activity.ActivityTraceFlags & ActivityTraceFlags.Recorded) != 0;
            (recorded ? "-01"u8 : "-00"u8).CopyTo(destination[length..]);
            return length + 3;
        }

        return CopyPlain(activity?.Id ?? context.TraceIdentifier, destination);
    }

    private static int CopyAscii(string hex, Span<byte> destination)
    {
        System.Text.Ascii.FromUtf16(hex, destination, out var written);
        return written;
    }

    /// <summary>Copies an id made only of characters the JSON writer never escapes; -1 otherwise.</summary>
    private static int CopyPlain(string id, Span<byte> destination)
    {
        if (id.Length > destination.Length)
        {
            return -1;
        }

        for (var i = 0; i < id.Length; i++)
        {
            var c = id[i];
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or ':' or '|' or '_'))
            {
                return -1;
            }

            destination[i] = (byte)c;
        }

        return id.Length;
    }

    private static ProblemBody Create(Key key, string title, string detail)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { SkipValidation = true }))
        {
            ProblemResponses.WriteProblemObject(writer, key.Status, title, detail, key.ProxyName, key.ReasonLabel, Placeholder);
        }

        var bytes = buffer.WrittenSpan;
        var at = bytes.IndexOf("\"TRACE-ID-PLACEHOLDER\""u8);
        return new ProblemBody(bytes[..(at + 1)].ToArray(), bytes[(at + 1 + Placeholder.Length)..].ToArray());
    }

    private readonly record struct Key(string ProxyName, int Status, string? ReasonLabel);
}
