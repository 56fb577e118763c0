using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using NrpHost.Tests.Infrastructure;

namespace NrpHost.Tests.Python;

/// <summary>
/// Each CPython 3.11–3.13 shared library on this machine works, and 3.10 (which pythonnet 3.2.1 cannot load) is
/// refused with a clear report: the API is started as a separate process (one interpreter per process) with that
/// library and reports over real HTTP.
/// </summary>
public sealed class PythonVersionsTests
{
    public static TheoryData<string> Libraries()
    {
        var data = new TheoryData<string>();
        var root = Path.Combine(Environment.GetEnvironmentVariable("HOME") ?? "/root", ".pyenv", "versions");
        foreach (var minor in new[] { 10, 11, 12, 13 })
        {
            var found = Directory.Exists(root)
                ? Directory.EnumerateDirectories(root, $"3.{minor}.*").Select(d => Path.Combine(d, "lib", $"libpython3.{minor}.so.1.0")).FirstOrDefault(File.Exists)
                : null;
            found ??= new[] { $"/usr/lib/x86_64-linux-gnu/libpython3.{minor}.so.1.0", $"/usr/lib/aarch64-linux-gnu/libpython3.{minor}.so.1.0" }.FirstOrDefault(File.Exists);
            if (found is not null)
            {
                data.Add(found);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Libraries))]
    public async Task Api_WithThisLibrary_InitialisesPythonAndReportsIt(string library)
    {
        var port = Messaging.FreePort.Next();
        var api = Path.Combine(AppContext.BaseDirectory, "NrpHost.Api.dll");
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory, // never the current directory: it may be a simulation directory that goes away
        };
        start.ArgumentList.Add(api);
        start.ArgumentList.Add($"--urls=http://127.0.0.1:{port}");
        start.Environment["NrpHost__Python__Library"] = library;
        start.Environment["NrpHost__Python__InitializeAtStartup"] = "true";
        start.Environment["NrpHost__Mqtt__EmbeddedPort"] = Messaging.FreePort.Next().ToString(System.Globalization.CultureInfo.InvariantCulture);
        using var process = Process.Start(start)!;
        var output = new System.Text.StringBuilder();
        process.OutputDataReceived += (_, e) => output.AppendLine(e.Data);
        process.ErrorDataReceived += (_, e) => output.AppendLine(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
            var python = (JsonElement?)(await Eventually.ValueAsync(
                async () =>
                {
                    Assert.False(process.HasExited, "the API exited; output:\n" + output);
                    try
                    {
                        using var response = await http.GetAsync(new Uri($"http://127.0.0.1:{port}/health"));
                        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
                        var state = body.RootElement.GetProperty("python");
                        return state.GetProperty("state").GetString() is "ready" or "unavailable" ? (object)state.Clone() : null;
                    }
                    catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
                    {
                        return null; // not listening yet
                    }
                },
                () => "no health report; output:\n" + output,
                TimeSpan.FromSeconds(60)));
            var minor = Path.GetFileName(library)["libpython3.".Length..].Split('.')[0];
            if (minor == "10")
            {
                Assert.Equal("unavailable", python.Value.GetProperty("state").GetString());
                Assert.Contains("3.11-3.13", python.Value.GetProperty("error").GetString(), StringComparison.Ordinal);
                return;
            }

            Assert.Equal("ready", python.Value.GetProperty("state").GetString());
            Assert.Equal(Path.GetFileName(library), python.Value.GetProperty("library").GetString()); // no host path in /health
            Assert.StartsWith($"3.{minor}.", python.Value.GetProperty("version").GetString(), StringComparison.Ordinal);
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
