namespace NrpHost.Simulation;

/// <summary>What to run: an experiment from storage and who asks.</summary>
/// <param name="ExperimentId">The storage experiment (folder name) to run.</param>
public sealed record SimulationRequest(string ExperimentId)
{
    /// <summary>The nrp-core configuration file, relative to the experiment root.</summary>
    public string ExperimentConfiguration { get; init; } = "simulation_config.json";

    /// <summary>The script to run, relative to the experiment root.</summary>
    public string MainScript { get; init; } = "main_script.py";

    /// <summary>The owner's user id or name.</summary>
    public string Owner { get; init; } = "default-owner";

    /// <summary>The collab context id, if any.</summary>
    public string? ContextId { get; init; }

    /// <summary>The caller's storage token, kept for the log upload at stop.</summary>
    public string? Token { get; init; }
}
