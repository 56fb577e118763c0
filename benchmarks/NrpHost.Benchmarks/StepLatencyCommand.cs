using System.Globalization;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using NrpHost.Profiling;
using NrpHost.Simulation;

namespace NrpHost.Benchmarks;

/// <summary>
/// <c>step-latency &lt;experiment folder&gt; [--steps N] [--config file] [--out folder]</c>: runs an experiment headless on
/// the embedded runtime with step-latency profiling, prints the per-phase table, and writes into the output folder
/// <c>steps.csv</c> (one row per step, microseconds), <c>step_duration.png</c> (each phase and the whole step over the
/// steps, as nrp-core's <c>plot_sim_loop.py</c> draws them), <c>step_histogram.png</c>, <c>profile.json</c> and the
/// nrp-core time logs. The experiment is copied first and never changed; its own main script is not run: a script of
/// <c>N</c> <c>nrp.run_loop()</c> calls is (SimulationTimeout is raised to fit them).
/// </summary>
public static class StepLatencyCommand
{
    public const string Verb = "step-latency";

    private const string Usage = "usage: step-latency <experiment folder> [--steps N] [--config file] [--out folder]";
    private const string Driver = "nrphost_step_latency.py";
    private const int DefaultSteps = 1000;

    private static readonly (string File, string Label)[] Phases =
    [
        ("after_wait_for_engines", "wait for engines"),
        ("after_get_datapacks", "get datapacks"),
        ("after_run_tfs", "run functions"),
        ("after_send_datapacks", "send datapacks"),
        ("after_restart_engines", "restart engines"),
    ];

    /// <summary>Runs the command; returns the process exit code (0 done, 1 the experiment failed, 2 bad arguments).</summary>
    public static async Task<int> RunAsync(IReadOnlyList<string> args, TextWriter output, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        if (!TryParse(args, out var options, out var problem))
        {
            await error.WriteLineAsync(problem + "\n" + Usage);
            return 2;
        }

        var name = Path.GetFileName(Path.TrimEndingDirectorySeparator(options.Experiment));
        var scratch = Path.Combine(Path.GetTempPath(), "nrphost-step-latency-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var copy = Path.Combine(scratch, "experiments", name);
            Copy(options.Experiment, copy);
            var steps = PrepareDriver(copy, options.Config, options.Steps);
            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"Profiling {steps} steps of {options.Experiment} ({options.Config}) on the embedded runtime..."));

            var (profile, archive, failure) = await RunProfiledAsync(scratch, name, options.Config);
            if (failure is not null)
            {
                await error.WriteLineAsync(failure);
                return 1;
            }

            Directory.CreateDirectory(options.Out);
            var cycles = ExtractTimeLogs(archive!, profile!.TimeLogs!, options.Out);
            await output.WriteLineAsync(ProfileTable.Format(profile));
            WriteCsv(Path.Combine(options.Out, "steps.csv"), cycles);
            Charts.StepDuration(Path.Combine(options.Out, "step_duration.png"), cycles, name, Phases.Select(p => p.Label).ToArray());
            Charts.Histogram(Path.Combine(options.Out, "step_histogram.png"), cycles.Duration, name);
            await File.WriteAllTextAsync(Path.Combine(options.Out, "profile.json"), JsonSerializer.Serialize(profile, JsonOptions));
            await output.WriteLineAsync($"Wrote steps.csv, step_duration.png, step_histogram.png, profile.json and {profile.TimeLogs}/ to {Path.GetFullPath(options.Out)}");
            return 0;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or JsonException or FormatException)
        {
            await error.WriteLineAsync($"step-latency: {ex.Message}");
            return 1;
        }
        finally
        {
            try
            {
                Directory.Delete(scratch, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    private sealed record Options(string Experiment, int? Steps, string Config, string Out);

    private static bool TryParse(IReadOnlyList<string> args, out Options options, out string problem)
    {
        options = null!;
        problem = string.Empty;
        string? experiment = null, config = null, output = null;
        int? steps = null;
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (arg is "--steps" or "--config" or "--out")
            {
                if (i + 1 >= args.Count)
                {
                    problem = $"{arg} needs a value";
                    return false;
                }

                var value = args[++i];
                if (arg == "--steps")
                {
                    if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n < 1)
                    {
                        problem = $"--steps must be a positive whole number, not '{value}'";
                        return false;
                    }

                    steps = n;
                }
                else if (arg == "--config")
                {
                    config = value;
                }
                else
                {
                    output = value;
                }
            }
            else if (experiment is null && !arg.StartsWith("--", StringComparison.Ordinal))
            {
                experiment = arg;
            }
            else
            {
                problem = $"unexpected argument '{arg}'";
                return false;
            }
        }

        if (experiment is null)
        {
            problem = "the experiment folder is missing";
            return false;
        }

        config ??= SimulationRequest.DefaultConfiguration;
        if (!Directory.Exists(experiment))
        {
            problem = $"the experiment folder '{experiment}' does not exist";
            return false;
        }

        if (Path.IsPathRooted(config) || config.Split('/', '\\').Contains("..") || !File.Exists(Path.Combine(experiment, config)))
        {
            problem = $"the configuration '{config}' is not a file inside '{experiment}'";
            return false;
        }

        var name = Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(experiment)));
        output ??= "step-latency-" + name + "-" + DateTime.Now.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture);
        options = new Options(Path.GetFullPath(experiment), steps, config, output);
        return true;
    }

    /// <summary>Writes the driver script and makes the configuration allow it; returns the number of steps.</summary>
    private static int PrepareDriver(string experiment, string configFile, int? requested)
    {
        var path = Path.Combine(experiment, configFile);
        var config = JsonNode.Parse(File.ReadAllText(path), documentOptions: new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip })?.AsObject()
            ?? throw new FormatException($"{configFile} is not a JSON object");
        var timestep = config["SimulationTimestep"]?.GetValue<double>() ?? 0.01;
        var timeout = config["SimulationTimeout"]?.GetValue<double>() ?? 0;
        var configured = (int)Math.Floor((timeout / timestep) + 1e-9);
        var steps = requested ?? (configured > 0 ? configured : DefaultSteps);
        config["SimulationTimeout"] = steps * timestep;
        File.WriteAllText(path, config.ToJsonString());
        File.WriteAllText(Path.Combine(experiment, Driver), string.Create(CultureInfo.InvariantCulture, $"for _ in range({steps}):\n    nrp.run_loop()\n"));
        return steps;
    }

    private static async Task<(StepProfile? Profile, string? Archive, string? Failure)> RunProfiledAsync(string scratch, string name, string configFile)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["NrpHost:Storage:LocalRoot"] = Path.Combine(scratch, "experiments"),
            ["NrpHost:Simulation:WorkDirectory"] = Path.Combine(scratch, "work"),
            ["NrpHost:NrpCore:Mode"] = "Embedded",
        }).Build();
        var services = new ServiceCollection();
        services.AddLogging(logging => logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning));
        services.AddNrpHost(configuration);
        await using var provider = services.BuildServiceProvider();
        var manager = provider.GetRequiredService<ISimulationManager>();
        var errors = new List<string>();
        manager.RuntimeError += (_, e) => { lock (errors) { errors.Add($"{e.Error.ErrorType} error in {e.Error.FileName} line {e.Error.LineNumber}: {e.Error.Message}"); } };

        var created = await manager.CreateAsync(new SimulationRequest(name) { MainScript = Driver, ExperimentConfiguration = configFile, Profile = true });
        if (created.Status != CreateSimulationStatus.Ready)
        {
            return (null, null, $"The experiment could not be started ({created.Status}): {created.Message}");
        }

        var id = created.Simulation!.Id;
        await manager.RequestStateAsync(id, SimulationState.Started);
        var ended = await manager.WaitForStateAsync(id, SimulationState.Completed, TimeSpan.FromHours(12));
        var profile = manager.FindProfile(id);
        await manager.RequestStateAsync(id, SimulationState.Stopped);
        lock (errors)
        {
            if (errors.Count > 0 || ended?.State != SimulationState.Completed || profile?.TimeLogs is null)
            {
                return (null, null, "The experiment failed: " + (errors.Count > 0 ? string.Join("; ", errors) : $"it ended {ended?.State}"));
            }
        }

        var archive = Directory.GetFiles(Path.Combine(scratch, "experiments", name), "*.log.zip").Single();
        return (profile, archive, null);
    }

    /// <summary>Per step, in microseconds: when it started (since the profile began), each phase and the whole step.</summary>
    internal sealed record CycleTable(double[] Start, double[][] Phases, double[] Duration);

    /// <summary>Copies the time logs out of the log archive and reads them.</summary>
    private static CycleTable ExtractTimeLogs(string archive, string folder, string output)
    {
        using var zip = ZipFile.OpenRead(archive);
        var files = new Dictionary<string, double[]>(StringComparer.Ordinal);
        foreach (var entry in zip.Entries.Where(e => e.FullName.StartsWith(folder + "/", StringComparison.Ordinal)))
        {
            var target = Path.Combine(output, folder, entry.Name);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            entry.ExtractToFile(target, overwrite: true);
            files[Path.GetFileNameWithoutExtension(entry.Name)] = File.ReadAllLines(target)
                .Where(l => l.Length > 0)
                .Select(l => double.Parse(l.Split(' ')[^1], CultureInfo.InvariantCulture))
                .ToArray();
        }

        var start = files["step_start"];
        var previous = start;
        var phases = new double[Phases.Length][];
        for (var p = 0; p < Phases.Length; p++)
        {
            var at = files[Phases[p].File];
            phases[p] = at.Zip(previous, (a, b) => a - b).ToArray();
            previous = at;
        }

        return new CycleTable(start, phases, files["step_duration"]);
    }

    private static void WriteCsv(string path, CycleTable cycles)
    {
        var text = new StringBuilder("step,start_us,wait_for_engines_us,get_datapacks_us,run_functions_us,send_datapacks_us,restart_engines_us,step_duration_us\n");
        for (var i = 0; i < cycles.Duration.Length; i++)
        {
            text.Append(CultureInfo.InvariantCulture, $"{i},{cycles.Start[i]}");
            foreach (var phase in cycles.Phases)
            {
                text.Append(CultureInfo.InvariantCulture, $",{phase[i]}");
            }

            text.Append(CultureInfo.InvariantCulture, $",{cycles.Duration[i]}\n");
        }

        File.WriteAllText(path, text.ToString());
    }

    /// <summary>The two charts, drawn with ScottPlot.</summary>
    private static class Charts
    {
        public static void StepDuration(string path, CycleTable cycles, string experiment, string[] labels)
        {
            var plot = new ScottPlot.Plot();
            var duration = plot.Add.Signal(cycles.Duration);
            duration.LegendText = "step duration";
            duration.Color = ScottPlot.Colors.Gray;
            for (var p = 0; p < cycles.Phases.Length; p++)
            {
                if (cycles.Phases[p].Any(v => v > 0))
                {
                    plot.Add.Signal(cycles.Phases[p]).LegendText = labels[p];
                }
            }

            plot.Title($"{experiment}: step duration over {cycles.Duration.Length} steps");
            plot.XLabel("step");
            plot.YLabel("µs");
            plot.Axes.SetLimitsY(0, Percentile(cycles.Duration, 0.995) * 1.2);
            plot.ShowLegend(ScottPlot.Alignment.UpperRight);
            plot.SavePng(path, 1200, 600);
        }

        public static void Histogram(string path, double[] durations, string experiment)
        {
            var high = Percentile(durations, 0.995);
            var low = durations.Min();
            var histogram = ScottPlot.Statistics.Histogram.WithBinCount(60, low, Math.Max(high, low + 1));
            histogram.AddRange(durations.Where(d => d <= high));
            var plot = new ScottPlot.Plot();
            var bars = plot.Add.Bars(histogram.Bins, histogram.Counts);
            foreach (var bar in bars.Bars)
            {
                bar.Size = histogram.FirstBinSize * 0.9;
            }

            var over = durations.Count(d => d > high);
            plot.Title(string.Create(CultureInfo.InvariantCulture, $"{experiment}: step duration ({durations.Length} steps{(over > 0 ? $", {over} above {high:F0} µs not shown" : string.Empty)})"));
            plot.XLabel("step duration (µs)");
            plot.YLabel("steps");
            plot.Axes.Margins(bottom: 0);
            plot.SavePng(path, 1000, 500);
        }

        private static double Percentile(double[] values, double quantile)
        {
            var sorted = values.Order().ToArray();
            return sorted.Length == 0 ? 1 : sorted[Math.Clamp((int)Math.Ceiling(quantile * sorted.Length) - 1, 0, sorted.Length - 1)];
        }
    }

    private static void Copy(string source, string target)
    {
        Directory.CreateDirectory(target);
        foreach (var file in Directory.EnumerateFiles(source))
        {
            if (!file.EndsWith(".log.zip", StringComparison.Ordinal))
            {
                File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
            }
        }

        foreach (var directory in Directory.EnumerateDirectories(source))
        {
            var name = Path.GetFileName(directory);
            if (name != "__pycache__" && !name.StartsWith("time_logs", StringComparison.Ordinal) && (File.GetAttributes(directory) & FileAttributes.ReparsePoint) == 0)
            {
                Copy(directory, Path.Combine(target, name));
            }
        }
    }
}
