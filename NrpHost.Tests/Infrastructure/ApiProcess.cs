using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace NrpHost.Tests.Infrastructure;

/// <summary>NrpHost.Api started as a process of its own (<c>dotnet NrpHost.Api.dll</c>), for tests that kill or restart it.</summary>
public sealed class ApiProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private TaskCompletionSource _outputGrew = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ApiProcess(Process process, int port)
    {
        _process = process;
        Port = port;
        Client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };
    }

    public int Port { get; }

    public HttpClient Client { get; }

    public int Pid => _process.Id;

    /// <summary>What the process printed so far (for failure messages).</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>Starts the API with <paramref name="settings"/> as environment (<c>NrpHost__…</c>) and waits until it answers.</summary>
    public static async Task<ApiProcess> StartAsync(IReadOnlyDictionary<string, string> settings, TimeSpan? timeout = null, int? requestedPort = null, string bind = "127.0.0.1")
    {
        var port = requestedPort ?? Messaging.FreePort.Next();
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory, // never the current directory: it may be a simulation directory that goes away
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "NrpHost.Api.dll"));
        start.ArgumentList.Add($"--urls=http://{bind}:{port}");
        start.Environment["NrpHost__Mqtt__EmbeddedPort"] = Messaging.FreePort.Next().ToString(System.Globalization.CultureInfo.InvariantCulture);
        foreach (var (key, value) in settings)
        {
            start.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        var api = new ApiProcess(Process.Start(start)!, port);
        api._process.OutputDataReceived += (_, e) => api.Append(e.Data);
        api._process.ErrorDataReceived += (_, e) => api.Append(e.Data);
        api._process.BeginOutputReadLine();
        api._process.BeginErrorReadLine();
        try
        {
            await Eventually.AnswersAsync(api.Client, new Uri("/version", UriKind.Relative), () => api._process.HasExited, () => api.Output, timeout ?? TimeSpan.FromSeconds(60));
            return api;
        }
        catch (Exception ex) when (ex is TimeoutException or InvalidOperationException)
        {
            var output = api.Output;
            await api.DisposeAsync();
            throw new TimeoutException("the API process did not start:\n" + output, ex);
        }
    }

    public async Task<(int Code, JsonElement Body)> SendAsync(HttpMethod method, string path, string? json = null)
    {
        using var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative));
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }

        using var response = await Client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return ((int)response.StatusCode, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone());
    }

    /// <summary>Waits until the process has printed <paramref name="text"/> (a log line); no polling, each new line wakes it.</summary>
    public async Task WaitForOutputAsync(string text, TimeSpan? within = null)
    {
        using var deadline = new CancellationTokenSource(within ?? TimeSpan.FromSeconds(60));
        while (true)
        {
            Task grew;
            lock (_output)
            {
                if (_output.ToString().Contains(text, StringComparison.Ordinal))
                {
                    return;
                }

                grew = _outputGrew.Task;
            }

            try
            {
                await grew.WaitAsync(deadline.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"the host did not print \"{text}\"; it printed:\n{Output}");
            }
        }
    }

    /// <summary>SIGTERM: the host shuts down gracefully; completes when it has exited.</summary>
    public async Task TerminateAsync(TimeSpan within)
    {
        NrpHost.Isolation.Libc.Kill(_process.Id, NrpHost.Isolation.Libc.SIGTERM);
        await _process.WaitForExitAsync().WaitAsync(within);
    }

    /// <summary>The process's exit code once it has exited.</summary>
    public int ExitCode => _process.ExitCode;

    /// <summary>SIGKILL: the process gets no chance to clean up.</summary>
    public async Task KillAsync()
    {
        _process.Kill(entireProcessTree: false);
        await _process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
            _outputGrew.TrySetResult();
            _outputGrew = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }
}
