namespace NrpHost.Tests.Infrastructure;

/// <summary>The repository the tests were built from (the folder that holds <c>NrpHost.sln</c>).</summary>
public static class Repository
{
    public static string Root { get; } = FindRoot();

    /// <summary>The build configuration of the test assembly, so processes started from the repository use the same outputs.</summary>
    public const string Configuration =
#if DEBUG
        "Debug";
#else
        "Release";
#endif

    public static string Combine(params string[] parts) => Path.Combine([Root, .. parts]);

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "NrpHost.sln")))
            {
                return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException("the repository (a folder with NrpHost.sln) above " + AppContext.BaseDirectory);
    }
}
