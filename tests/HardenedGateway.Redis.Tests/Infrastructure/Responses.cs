namespace HardenedGateway.Redis.Tests.Infrastructure;

/// <summary>Ends the requests a test held open.</summary>
public static class Responses
{
    /// <summary>Waits (at most <paramref name="bound"/>) for every send to answer and disposes each response.</summary>
    public static async Task DisposeAllAsync(IEnumerable<Task<HttpResponseMessage>> sends, TimeSpan bound)
    {
        foreach (var response in await Task.WhenAll(sends).WaitAsync(bound).ConfigureAwait(false))
        {
            response.Dispose();
        }
    }
}
