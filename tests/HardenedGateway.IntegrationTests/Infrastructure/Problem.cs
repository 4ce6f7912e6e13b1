using System.Net;
using System.Text.Json;

namespace HardenedGateway.IntegrationTests.Infrastructure;

/// <summary>A gateway problem-details body (DESIGN.md: title, status, detail, proxy, traceId).</summary>
public sealed record Problem(string? Title, int Status, string? Detail, string? Proxy, string? Reason, string? TraceId)
{
    /// <summary>Reads the response as a problem body, asserting its status, content type and required members.</summary>
    public static async Task<Problem> ReadAsync(HttpResponseMessage response, HttpStatusCode expectedStatus, string expectedProxy = "ai")
    {
        var text = await response.Content.ReadAsStringAsync().ConfigureAwait(false);
        Assert.That(response.StatusCode, Is.EqualTo(expectedStatus), text);
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"), text);
        using var document = JsonDocument.Parse(text);
        var root = document.RootElement;
        var problem = new Problem(
            GetString(root, "title"),
            root.TryGetProperty("status", out var status) ? status.GetInt32() : 0,
            GetString(root, "detail"),
            GetString(root, "proxy"),
            GetString(root, "reason"),
            GetString(root, "traceId"));
        Assert.Multiple(() =>
        {
            Assert.That(problem.Status, Is.EqualTo((int)expectedStatus), text);
            Assert.That(problem.Title, Is.Not.Null.And.Not.Empty, text);
            Assert.That(problem.Detail, Is.Not.Null.And.Not.Empty, text);
            Assert.That(problem.Proxy, Is.EqualTo(expectedProxy), text);
            Assert.That(problem.TraceId, Is.Not.Null.And.Not.Empty, text);
        });
        return problem;
    }

    private static string? GetString(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
