namespace HardenedGateway.PackageTests;

/// <summary>Finds the repository root (the folder of <c>HardenedGateway.sln</c>) from the test's output folder.</summary>
internal static class RepositoryLayout
{
    public static string Root { get; } = FindRoot();

    public static string PathOf(params string[] relative) => Path.Combine([Root, .. relative]);

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "HardenedGateway.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"HardenedGateway.sln was not found above {TestContext.CurrentContext.TestDirectory}.");
    }
}
