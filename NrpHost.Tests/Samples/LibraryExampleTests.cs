using System.Diagnostics;
using NrpHost.Tests.Infrastructure;
using NrpHost.Tests.NrpCore;

namespace NrpHost.Tests.Samples;

/// <summary>The README's library example compiles (it is <c>samples/LibraryExample</c>) and runs as printed.</summary>
public sealed class LibraryExampleTests
{
    private const string SamplePath = "samples/LibraryExample/Program.cs";

    [Fact]
    public void Readme_PrintsTheSampleExactly()
    {
        var readme = File.ReadAllText(Repository.Combine("README.md")).ReplaceLineEndings("\n");
        var marker = $"<!-- {SamplePath} -->";
        var at = readme.IndexOf(marker, StringComparison.Ordinal);
        Assert.True(at >= 0, $"README.md has no '{marker}' before the library example");
        var fence = readme.IndexOf("```csharp\n", at, StringComparison.Ordinal) + "```csharp\n".Length;
        var end = readme.LastIndexOf('\n', readme.IndexOf("```", fence, StringComparison.Ordinal));
        var printed = Unindent(readme[fence..end]);

        Assert.Equal(File.ReadAllText(Repository.Combine(SamplePath)).ReplaceLineEndings("\n").TrimEnd(), printed.TrimEnd());
    }

    [Fact]
    public async Task Sample_RunsTfExchangeToCompletion_ThenStopsIt()
    {
        using var temp = new TempDirectory("sample");
        var experiment = temp.Combine("experiments", "tf_exchange");
        ExampleExperimentTests.CopyDirectory(Path.Combine(ExampleExperimentTests.RepositoryExperiments(), "tf_exchange"), experiment);
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = temp.Path, // its experiments/ folder is found in the current directory
        };
        start.ArgumentList.Add(Repository.Combine("samples", "LibraryExample", "bin", Repository.Configuration, "net10.0", "LibraryExample.dll"));
        start.ArgumentList.Add("--NrpHost:Simulation:WorkDirectory=" + temp.Combine("work"));

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await process.WaitForExitAsync(patience.Token);

        var printed = (await output).Split('\n').Select(l => l.TrimEnd()).Where(l => l.StartsWith("simulation 0", StringComparison.Ordinal)).ToList();
        Assert.True(process.ExitCode == 0, $"exit {process.ExitCode}\n{await output}\n{await error}");
        Assert.Equal(
            [
                "simulation 0: new -> created",
                "simulation 0: created -> paused",
                "simulation 0: paused -> started",
                "simulation 0: started -> completed",
                "simulation 0 is completed after 1.00 s of simulated time",
                "simulation 0: completed -> stopped",
            ],
            printed);
        Assert.Single(Directory.GetFiles(experiment, "*_simulation_0_*.log.zip"));
    }

    /// <summary>The block as code: the README may indent it inside a list item.</summary>
    private static string Unindent(string block)
    {
        var lines = block.Split('\n');
        var indent = lines.Where(l => l.Trim().Length > 0).Min(l => l.Length - l.TrimStart(' ').Length);
        return string.Join('\n', lines.Select(l => l.Length >= indent ? l[indent..] : l.TrimStart(' ')));
    }
}
