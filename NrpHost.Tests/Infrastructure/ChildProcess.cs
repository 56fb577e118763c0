using System.Diagnostics;
using System.Text.Json;

namespace NrpHost.Tests.Infrastructure;

/// <summary>Runs a scenario of NrpHost.Tests.Child in a fresh process and reads the JSON line it prints.</summary>
public static class ChildProcess
{
    public static async Task<JsonElement> RunAsync(string scenario, TimeSpan? timeout = null, params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory, // never the current directory: it may be a simulation directory that goes away
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "NrpHost.Tests.Child.dll"));
        start.ArgumentList.Add(scenario);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"the child scenario '{scenario}' did not end; stderr:\n{await stderr}");
        }

        var output = await stdout;
        Assert.True(process.ExitCode == 0, $"the child scenario '{scenario}' exited with {process.ExitCode}:\n{output}\n{await stderr}");
        var line = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Last(l => l.TrimStart().StartsWith('{'));
        return JsonDocument.Parse(line).RootElement.Clone();
    }
}
