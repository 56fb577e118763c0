using System.ComponentModel.DataAnnotations;

namespace NrpHost.Simulation;

/// <summary>How simulations are run.</summary>
public sealed class SimulationOptions
{
    /// <summary>The configuration section these options bind to.</summary>
    public const string SectionName = "NrpHost:Simulation";

    /// <summary>
    /// How many simulations may be non-final (<c>created</c>, <c>paused</c>, <c>started</c>, <c>completed</c>)
    /// at once. Default 1, as in the NRP backend.
    /// </summary>
    [Range(1, 64)]
    public int MaxActiveSimulations { get; set; } = 1;

    /// <summary>Where per-simulation directories are made. Default: <c>nrphost</c> under the system temp folder.</summary>
    public string? WorkDirectory { get; set; }

    /// <summary>
    /// How long a stopping script may take to reach its next <c>nrp.run_loop</c> before the stop exception is raised
    /// inside it, in milliseconds.
    /// </summary>
    [Range(0, 60_000)]
    public int StopGraceMilliseconds { get; set; } = 200;

    /// <summary>
    /// How long a stopping script may refuse to end (after the stop exception was first raised in it) before it is
    /// abandoned and the simulation marked failed, in milliseconds.
    /// </summary>
    [Range(100, 600_000)]
    public int AbandonAfterMilliseconds { get; set; } = 10_000;
}
