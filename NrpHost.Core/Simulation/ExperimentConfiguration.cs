using System.Text.Json;

namespace NrpHost.Simulation;

/// <summary>What the host needs from <c>simulation_config.json</c>; each default applies on its own.</summary>
/// <param name="SimulationTimeout">Seconds of simulated time allowed (default 0).</param>
/// <param name="SimulationTimestep">Seconds per <c>run_loop</c> iteration (default 0.01).</param>
/// <param name="DataTransferEngineIndex">Index of the <c>datatransfer_grpc_engine</c> in <c>EngineConfigs</c>, -1 if none.</param>
internal sealed record ExperimentConfiguration(double SimulationTimeout, double SimulationTimestep, int DataTransferEngineIndex)
{
    public const double DefaultTimestep = 0.01;

    /// <summary>nrp-core's default <c>dataDirectory</c> of a data-transfer engine.</summary>
    public const string DefaultDataDirectory = "data";

    /// <summary>Engine names by the Python file that implements them (<c>PythonFileName</c>), relative to the experiment.</summary>
    public IReadOnlyDictionary<string, string> EnginesByFile { get; init; } = new Dictionary<string, string>();

    /// <summary>Folders (relative to the experiment) whose files go into the log archive: the data-transfer engines' data.</summary>
    public IReadOnlyList<string> ArchiveFolders { get; init; } = [];

    /// <summary>The name of the engine implemented by <paramref name="file"/> (relative to the experiment), or null.</summary>
    public string? EngineOfFile(string file) =>
        EnginesByFile.TryGetValue(NormalizeFile(file), out var engine) ? engine : null;

    /// <summary>Whether <c>SimulationTimeout</c> was given in the file (it defaults to 0 otherwise).</summary>
    public bool HasTimeout { get; init; } = true;

    /// <summary>
    /// Why this configuration's run will surprise its author, or null: a missing or zero <c>SimulationTimeout</c>
    /// (or one shorter than a step) allows no step, so the first <c>nrp.run_loop()</c> raises
    /// <c>NRPSimulationTimeout</c> and the run completes at once, as in the NRP backend.
    /// </summary>
    public string? Warning(string file)
    {
        if (MaxSteps > 0)
        {
            return null;
        }

        var timeout = HasTimeout
            ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $"SimulationTimeout is {SimulationTimeout} s")
            : "SimulationTimeout is not set (it defaults to 0)";
        return string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"{file}: {timeout}, which allows no step of SimulationTimestep {SimulationTimestep} s. The first nrp.run_loop() raises NRPSimulationTimeout and the simulation completes at once (as in the NRP backend). Set \"SimulationTimeout\" to the simulated seconds the run may take.");
    }

    /// <summary>floor(SimulationTimeout / SimulationTimestep): iterations allowed.</summary>
    public long MaxSteps => (long)Math.Floor((SimulationTimeout / SimulationTimestep) + 1e-9);

    public static ExperimentConfiguration Load(string path)
    {
        using var stream = File.OpenRead(path);
        using var document = JsonDocument.Parse(stream, new JsonDocumentOptions
        {
            AllowTrailingCommas = true,
            CommentHandling = JsonCommentHandling.Skip,
        });
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new FormatException("the configuration must be a JSON object");
        }

        var timeout = Number(root, "SimulationTimeout", 0);
        var timestep = Number(root, "SimulationTimestep", DefaultTimestep);
        if (timeout < 0)
        {
            throw new FormatException("SimulationTimeout must not be negative");
        }

        if (timestep <= 0)
        {
            throw new FormatException("SimulationTimestep must be positive");
        }

        var index = -1;
        var enginesByFile = new Dictionary<string, string>(StringComparer.Ordinal);
        var folders = new List<string>();
        if (root.TryGetProperty("EngineConfigs", out var engines) && engines.ValueKind == JsonValueKind.Array)
        {
            var i = 0;
            foreach (var engine in engines.EnumerateArray())
            {
                if (engine.ValueKind == JsonValueKind.Object)
                {
                    var type = Text(engine, "EngineType");
                    if (type == "datatransfer_grpc_engine")
                    {
                        index = index < 0 ? i : index;
                        folders.Add(Text(engine, "dataDirectory") ?? DefaultDataDirectory);
                    }

                    if (Text(engine, "EngineName") is { } name && Text(engine, "PythonFileName") is { } file)
                    {
                        enginesByFile.TryAdd(NormalizeFile(file), name);
                    }
                }

                i++;
            }
        }

        var hasTimeout = root.TryGetProperty(nameof(SimulationTimeout), out var given) && given.ValueKind != JsonValueKind.Null;
        return new ExperimentConfiguration(timeout, timestep, index) { EnginesByFile = enginesByFile, ArchiveFolders = folders, HasTimeout = hasTimeout };
    }

    private static string NormalizeFile(string file)
    {
        file = file.Replace('\\', '/');
        while (file.StartsWith("./", StringComparison.Ordinal))
        {
            file = file[2..];
        }

        return file;
    }

    private static string? Text(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static double Number(JsonElement root, string name, double fallback)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return fallback;
        }

        return value.ValueKind == JsonValueKind.Number
            ? value.GetDouble()
            : throw new FormatException($"{name} must be a number");
    }
}
