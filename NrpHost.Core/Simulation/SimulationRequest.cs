using System.Text;

namespace NrpHost.Simulation;

/// <summary>What to run: an experiment from storage and who asks.</summary>
/// <param name="ExperimentId">The storage experiment (folder name) to run.</param>
public sealed record SimulationRequest(string ExperimentId)
{
    /// <summary>The configuration file used when none is named.</summary>
    public const string DefaultConfiguration = "simulation_config.json";

    /// <summary>The script run when none is named.</summary>
    public const string DefaultMainScript = "main_script.py";

    /// <summary>The owner when none is known (local storage: nobody can be verified).</summary>
    public const string DefaultOwner = "default-owner";

    /// <summary>The nrp-core configuration file, relative to the experiment root.</summary>
    public string ExperimentConfiguration { get; init; } = DefaultConfiguration;

    /// <summary>The script to run, relative to the experiment root.</summary>
    public string MainScript { get; init; } = DefaultMainScript;

    /// <summary>The owner's user id or name.</summary>
    public string Owner { get; init; } = DefaultOwner;

    /// <summary>The collab context id, if any.</summary>
    public string? ContextId { get; init; }

    /// <summary>
    /// Profile the step latency of this simulation: per-phase timings of every step (<see cref="ISimulationManager.FindProfile"/>),
    /// nrp-core's time-log files in the log archive, <c>nrphost.step.duration</c>, a summary in its log at stop.
    /// </summary>
    public bool Profile { get; init; }

    /// <summary>The caller's storage token, kept for the log upload at stop. Never printed.</summary>
    public string? Token { get; init; }

    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append("ExperimentId = ").Append(ExperimentId)
            .Append(", ExperimentConfiguration = ").Append(ExperimentConfiguration)
            .Append(", MainScript = ").Append(MainScript)
            .Append(", Owner = ").Append(Owner)
            .Append(", ContextId = ").Append(ContextId)
            .Append(", Profile = ").Append(Profile)
            .Append(", Token = ").Append(Token is null ? "(none)" : "(hidden)");
        return true;
    }
}
