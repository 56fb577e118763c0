using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using NrpHost.Tests.Infrastructure;

namespace NrpHost.Tests.Api;

/// <summary>Starting NrpHost.Api as a person does: its address from the usual places, and a clear word when it is taken.</summary>
public sealed class StartupTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Start_WhenThePortIsTaken_PrintsOneLineNamingItAndAnotherAddress_AndExitsNonZero()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;
        using var temp = new TempDirectory("startup");

        var run = await RunToExitAsync(Api(temp, $"--urls=http://127.0.0.1:{port}"));

        Assert.NotEqual(0, run.ExitCode);
        var line = Assert.Single(run.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.Contains($"port {port} is already in use", line, StringComparison.Ordinal);
        Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"--urls http://127.0.0.1:{port + 1}"), line, StringComparison.Ordinal);
        AssertNoStackTrace(run.Output + run.Error);
    }

    [Fact]
    public async Task Start_WhenTheDefaultPortIsTaken_SuggestsUrlsLocalhost8091()
    {
        // 8090 is taken either way: by this listener, or by whatever already holds it.
        using var taken = new TcpListener(IPAddress.Loopback, 8090);
        try
        {
            taken.Start();
        }
        catch (SocketException)
        {
        }

        using var temp = new TempDirectory("startup");

        var run = await RunToExitAsync(Api(temp));

        Assert.NotEqual(0, run.ExitCode);
        var line = Assert.Single(run.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.Equal(
            "NrpHost cannot listen on http://localhost:8090: port 8090 is already in use by another process (another NrpHost?). Stop that process, or choose another address with --urls http://localhost:8091 (or ASPNETCORE_URLS=http://localhost:8091).",
            line);
        AssertNoStackTrace(run.Output + run.Error);
    }

    [Fact]
    public async Task DotnetRun_ListensWhereAspNetCoreUrlsSays()
    {
        using var temp = new TempDirectory("startup");
        var port = Messaging.FreePort.Next();
        var start = DotnetRun(temp);
        start.Environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}";

        await AssertAnswersAsync(start, port);
    }

    [Fact]
    public async Task DotnetRun_ListensWhereUrlsSays()
    {
        using var temp = new TempDirectory("startup");
        var port = Messaging.FreePort.Next();
        var start = DotnetRun(temp);
        start.ArgumentList.Add("--");
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add($"http://127.0.0.1:{port}");

        await AssertAnswersAsync(start, port);
    }

    private static void AssertNoStackTrace(string output)
    {
        Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Hosting failed to start", output, StringComparison.Ordinal);
    }

    /// <summary>The built NrpHost.Api next to the tests, with its own storage, work directory and MQTT port.</summary>
    private static ProcessStartInfo Api(TempDirectory temp, params string[] arguments)
    {
        var start = Isolated(temp, new ProcessStartInfo("dotnet"));
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "NrpHost.Api.dll"));
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        return start;
    }

    /// <summary><c>dotnet run --project NrpHost.Api</c> from the repository, as the README says (without building again).</summary>
    private static ProcessStartInfo DotnetRun(TempDirectory temp)
    {
        var start = Isolated(temp, new ProcessStartInfo("dotnet"));
        foreach (var argument in new[] { "run", "--no-build", "-c", Repository.Configuration, "--project", Repository.Combine("NrpHost.Api") })
        {
            start.ArgumentList.Add(argument);
        }

        return start;
    }

    private static ProcessStartInfo Isolated(TempDirectory temp, ProcessStartInfo start)
    {
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.UseShellExecute = false;
        start.WorkingDirectory = temp.Path;
        start.Environment["NrpHost__Mqtt__EmbeddedPort"] = Messaging.FreePort.Next().ToString(CultureInfo.InvariantCulture);
        start.Environment["NrpHost__Storage__LocalRoot"] = Directory.CreateDirectory(temp.Combine("experiments")).FullName;
        start.Environment["NrpHost__Simulation__WorkDirectory"] = temp.Combine("work");
        start.Environment.Remove("ASPNETCORE_URLS");
        start.Environment.Remove("DOTNET_URLS");
        return start;
    }

    private static async Task<(int ExitCode, string Output, string Error)> RunToExitAsync(ProcessStartInfo start)
    {
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(Patience);
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("the API did not exit:\n" + await output + await error);
        }

        return (process.ExitCode, await output, await error);
    }

    private static async Task AssertAnswersAsync(ProcessStartInfo start, int port)
    {
        using var process = Process.Start(start)!;
        var output = new StringBuilder();
        process.OutputDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        process.ErrorDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(5) };
        try
        {
            await Eventually.AnswersAsync(client, new Uri("/version", UriKind.Relative), () => process.HasExited, () => $"the API on port {port}:\n{output}", Patience);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }
        }
    }
}
