namespace MinimalHost;

/// <summary>
/// The app's own typed client for the AI engine. <c>AddHardenedHandler("ai")</c> makes it share the
/// concurrency limit, circuit breaker and metrics of the <c>/api/ai</c> proxy route.
/// </summary>
internal sealed class AiClient(HttpClient http)
{
    public async Task<string> GetHealthAsync(CancellationToken cancellationToken)
    {
        using var response = await http.GetAsync(new Uri("health", UriKind.Relative), cancellationToken);
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadAsStringAsync(cancellationToken);
    }
}
