namespace HardenedGateway.BrowserTests.Infrastructure;

/// <summary>Finds files of the repository from the test's output folder.</summary>
public static class RepositoryPaths
{
    /// <summary>Gets the repository's root: the nearest folder above the test assembly holding <c>HardenedGateway.sln</c>.</summary>
    public static string Root
    {
        get
        {
            for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
            {
                if (File.Exists(Path.Combine(directory.FullName, "HardenedGateway.sln")))
                {
                    return directory.FullName;
                }
            }

            throw new InvalidOperationException("HardenedGateway.sln was not found above " + AppContext.BaseDirectory);
        }
    }
}
