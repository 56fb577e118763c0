using System.Diagnostics;
using System.Globalization;
using NrpHost.Tests.Infrastructure;

namespace NrpHost.Tests.Packaging;

/// <summary>
/// A .NET application that only references the packed NrpHost.Core package runs a simulation in a worker process of its
/// own, with nothing installed besides the package.
/// </summary>
public sealed class PackedWorkerTests
{
    private const string Project =
        """
        <Project Sdk="Microsoft.NET.Sdk">
          <PropertyGroup>
            <OutputType>Exe</OutputType>
            <TargetFramework>net10.0</TargetFramework>
            <ImplicitUsings>enable</ImplicitUsings>
            <Nullable>enable</Nullable>
          </PropertyGroup>
          <ItemGroup>
            <PackageReference Include="NrpHost.Core" Version="$VERSION" />
            <PackageReference Include="Microsoft.Extensions.Logging" Version="10.0.13" />
          </ItemGroup>
        </Project>
        """;

    private const string Program =
        """
        using Microsoft.Extensions.DependencyInjection;
        using NrpHost.Isolation;
        using NrpHost.Simulation;

        var services = new ServiceCollection().AddLogging();
        services.AddNrpHost(options =>
        {
            options.LocalStorage.LocalRoot = args[0];
            options.Simulation.WorkDirectory = args[1];
            options.Simulation.Isolation = SimulationIsolation.Process;
        });
        await using var provider = services.BuildServiceProvider();
        var manager = provider.GetRequiredService<ISimulationManager>();
        var created = await manager.CreateAsync(new SimulationRequest("exp"));
        if (created.Status != CreateSimulationStatus.Ready)
        {
            Console.WriteLine("not created: " + created.Message);
            return 1;
        }

        await manager.RequestStateAsync(created.Simulation!.Id, SimulationState.Started);
        var ended = await manager.WaitForStateAsync(created.Simulation.Id, SimulationState.Completed, TimeSpan.FromSeconds(120));
        Console.WriteLine($"state {ended?.State}");
        Console.WriteLine($"application {Environment.ProcessId}");
        await manager.RequestStateAsync(created.Simulation.Id, SimulationState.Stopped);
        return 0;
        """;

    [Fact]
    public async Task AnApplicationReferencingOnlyThePackage_RunsASimulationInAWorkerProcess()
    {
        using var temp = new TempDirectory("packed");
        var version = "0.0.0-test" + DateTime.UtcNow.ToString("yyyyMMddHHmmss", CultureInfo.InvariantCulture) + Guid.NewGuid().ToString("N")[..6];
        var feed = temp.Combine("feed");
        var app = temp.Combine("app");
        try
        {
            await RunAsync("dotnet", ["pack", Repository.Combine("NrpHost.Core"), "-o", feed, $"-p:Version={version}", "-p:EnableSourceLink=false"], Repository.Root);

            Directory.CreateDirectory(app);
            File.WriteAllText(Path.Combine(app, "app.csproj"), Project.Replace("$VERSION", version, StringComparison.Ordinal));
            File.WriteAllText(Path.Combine(app, "Program.cs"), Program);
            File.WriteAllText(Path.Combine(app, "nuget.config"), $"""
                <configuration>
                  <packageSources>
                    <add key="packed" value="{feed}" />
                  </packageSources>
                </configuration>
                """);
            await RunAsync("dotnet", ["build", app, "-c", "Release", "-o", Path.Combine(app, "out")], app);
            Assert.True(File.Exists(Path.Combine(app, "out", "nrphost-worker", "NrpHost.Worker.dll")), "the package put its worker next to the application");

            var experiment = temp.Combine("experiments", "exp");
            var pidFile = temp.Combine("script.pid");
            new ExperimentBuilder(temp.Combine("experiments"), "exp")
                .WithConfig(timeout: 0.05, dataTransfer: false)
                .WithFile("engine.py", ExperimentBuilder.NoOpEngine)
                .WithScript($"import os\nwith open('{pidFile}', 'w') as out:\n    out.write(str(os.getpid()))\n" + ExperimentBuilder.LoopScript)
                .Build();
            var output = await RunAsync("dotnet", [Path.Combine(app, "out", "app.dll"), temp.Combine("experiments"), temp.Combine("work")], app);

            Assert.Contains("state Completed", output, StringComparison.Ordinal);
            var application = int.Parse(output.Split('\n').Single(l => l.StartsWith("application ", StringComparison.Ordinal))["application ".Length..].Trim(), CultureInfo.InvariantCulture);
            var script = int.Parse(File.ReadAllText(pidFile), CultureInfo.InvariantCulture);
            Assert.NotEqual(application, script);
            Assert.Single(Directory.GetFiles(experiment, "*_simulation_0_*.log.zip"));
        }
        finally
        {
            // The package of this run leaves nothing in the machine's package cache.
            var cached = Path.Combine(Environment.GetEnvironmentVariable("NUGET_PACKAGES") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages"), "nrphost.core", version);
            if (Directory.Exists(cached))
            {
                Directory.Delete(cached, recursive: true);
            }
        }
    }

    private static async Task<string> RunAsync(string command, IEnumerable<string> arguments, string directory)
    {
        var start = new ProcessStartInfo(command)
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(5));
        var text = await output + await error;
        Assert.True(process.ExitCode == 0, $"{command} {string.Join(' ', start.ArgumentList)} exited with {process.ExitCode}:\n{text}");
        return text;
    }
}
