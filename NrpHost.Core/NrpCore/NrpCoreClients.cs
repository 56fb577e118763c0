namespace NrpHost.NrpCore;

/// <summary>Which client factory a simulation's script session uses, and what goes on <c>sys.path</c> for it.</summary>
internal static class NrpCoreClients
{
    /// <summary>The folder (under the shipped Python packages) that holds the embedded runtime.</summary>
    public const string EmbeddedFolder = "embedded";

    public static (string Factory, IReadOnlyList<string> PythonPath) Select(NrpCoreOptions options, string packagesPath) =>
        options.Mode switch
        {
            NrpCoreMode.External => (options.Client, options.PythonPath.Select(Path.GetFullPath).ToList()),
            _ => (options.Client, [Path.Combine(packagesPath, EmbeddedFolder)]),
        };
}
