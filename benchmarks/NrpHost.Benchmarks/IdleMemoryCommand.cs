using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace NrpHost.Benchmarks;

/// <summary>
/// <c>idle-memory [--runs N] [--out file]</c>: the resident memory of an idle server (NrpHost.Api, embedded broker,
/// no simulation) in each isolation mode, read from <c>/proc</c> once it is ready (in <c>Process</c>, once its warm
/// spare has loaded): the host alone, and the host plus its spare. The median of N fresh starts per mode.
/// </summary>
public static class IdleMemoryCommand
{
    public const string Verb = "idle-memory";

    public static async Task<int> RunAsync(string[] args, TextWriter output)
    {
        var runs = 5;
        string? file = null;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--runs" when i + 1 < args.Length:
                    runs = int.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                case "--out" when i + 1 < args.Length:
                    file = args[++i];
                    break;
                default:
                    await output.WriteLineAsync("usage: idle-memory [--runs N] [--out file]");
                    return 2;
            }
        }

        var table = new StringBuilder()
            .AppendLine("| isolation | host RSS (MiB) | spare worker RSS (MiB) | host + spare (MiB) | runs |")
            .AppendLine("|---|---:|---:|---:|---:|");
        foreach (var isolation in new[] { "InProcess", "Process" })
        {
            var samples = new List<(double Host, double Spare)>();
            for (var run = 0; run < runs; run++)
            {
                samples.Add(await MeasureAsync(isolation));
            }

            var host = Median(samples.Select(s => s.Host));
            var spare = Median(samples.Select(s => s.Spare));
            table.AppendLine(CultureInfo.InvariantCulture, $"| {isolation} | {host:F1} | {(spare > 0 ? spare.ToString("F1", CultureInfo.InvariantCulture) : "—")} | {host + spare:F1} | {runs} |");
        }

        var text = $"Idle server RSS, {Environment.MachineName}, {Environment.ProcessorCount} CPUs, {DateTime.UtcNow:yyyy-MM-dd}\n\n" + table;
        await output.WriteLineAsync(text);
        if (file is not null)
        {
            await File.WriteAllTextAsync(file, text);
        }

        return 0;
    }

    private static async Task<(double Host, double Spare)> MeasureAsync(string isolation)
    {
        var root = Path.Combine(Path.GetTempPath(), "nrphost-idle-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(Path.Combine(root, "experiments"));
        var port = PythonHost.FreePort();
        var start = new ProcessStartInfo("dotnet")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "NrpHost.Api.dll"));
        start.ArgumentList.Add($"--urls=http://127.0.0.1:{port}");
        start.Environment["NrpHost__Simulation__Isolation"] = isolation;
        start.Environment["NrpHost__Storage__LocalRoot"] = Path.Combine(root, "experiments");
        start.Environment["NrpHost__Simulation__WorkDirectory"] = Path.Combine(root, "work");
        start.Environment["NrpHost__Mqtt__EmbeddedPort"] = PythonHost.FreePort().ToString(CultureInfo.InvariantCulture);
        using var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (true)
            {
                if (DateTime.UtcNow > deadline)
                {
                    throw new TimeoutException("the server did not become ready");
                }

                try
                {
                    var health = await http.GetStringAsync(new Uri("/health", UriKind.Relative));
                    if (isolation == "InProcess" || health.Contains("warm spare ready", StringComparison.Ordinal))
                    {
                        break;
                    }
                }
                catch (HttpRequestException)
                {
                    // Not listening yet.
                }

                await Task.Delay(100);
            }

            // Let start-up garbage settle.
            await Task.Delay(2000);
            var workers = Children(process.Id);
            return (RssMiB(process.Id), workers.Sum(RssMiB));
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            Directory.Delete(root, recursive: true);
        }
    }

    private static List<int> Children(int pid) =>
        Directory.GetDirectories($"/proc/{pid}/task")
            .SelectMany(task => File.ReadAllText(Path.Combine(task, "children")).Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Select(child => int.Parse(child, CultureInfo.InvariantCulture))
            .ToList();

    private static double RssMiB(int pid)
    {
        var line = File.ReadAllLines($"/proc/{pid}/status").Single(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024.0;
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }
}
