using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;

namespace HardenedGateway.Prometheus;

/// <summary>
/// The status page: one HTML file embedded in this assembly, its style and script inline, so it needs
/// nothing from any other server (it works air-gapped). It is served with a Content-Security-Policy that
/// allows exactly its own inline style and script (by their SHA-256 hashes) and connections to this origin.
/// </summary>
internal sealed class StatusPageDocument
{
    public const string ResourceName = "HardenedGateway.Prometheus.Status.StatusPage.html";

    private const string EventsUrlPlaceholder = "{{EventsUrl}}";
    private const string ResetUrlPlaceholder = "{{ResetUrl}}";

    private readonly string _template;

    private StatusPageDocument(string template)
    {
        _template = template;
        ContentSecurityPolicy =
            "default-src 'none'; " +
            $"script-src '{Hash(template, "<script>", "</script>")}'; " +
            $"style-src '{Hash(template, "<style>", "</style>")}'; " +
            "connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
    }

    /// <summary>Gets the page's Content-Security-Policy header value.</summary>
    public string ContentSecurityPolicy { get; }

    public static StatusPageDocument Load()
    {
        using var stream = typeof(StatusPageDocument).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"The embedded resource {ResourceName} is missing.");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return new StatusPageDocument(reader.ReadToEnd());
    }

    /// <summary>Renders the page with the addresses it reads from (HTML-encoded into attributes of its body).</summary>
    /// <param name="eventsUrl">The server-sent-events endpoint.</param>
    /// <param name="resetUrl">The admin reset endpoint, with <c>{name}</c> where the proxy name goes.</param>
    public byte[] Render(string eventsUrl, string resetUrl) => Encoding.UTF8.GetBytes(_template
        .Replace(EventsUrlPlaceholder, HtmlEncoder.Default.Encode(eventsUrl), StringComparison.Ordinal)
        .Replace(ResetUrlPlaceholder, HtmlEncoder.Default.Encode(resetUrl), StringComparison.Ordinal));

    /// <summary>The CSP source of the text between the first <paramref name="open"/> and the following <paramref name="close"/>.</summary>
    private static string Hash(string template, string open, string close)
    {
        var start = template.IndexOf(open, StringComparison.Ordinal) + open.Length;
        var end = template.IndexOf(close, start, StringComparison.Ordinal);
        if (start < open.Length || end < 0)
        {
            throw new InvalidOperationException($"The status page has no {open} element.");
        }

        return "sha256-" + Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(template[start..end])));
    }
}
