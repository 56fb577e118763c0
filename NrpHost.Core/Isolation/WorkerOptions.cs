using System.ComponentModel.DataAnnotations;

namespace NrpHost.Isolation;

/// <summary>How worker processes are started (<c>NrpHost:Simulation:Worker</c>); every value has a working default.</summary>
public sealed class WorkerOptions
{
    /// <summary>
    /// Keep one worker started and waiting (its interpreter and the nrp-core runtime loaded, no experiment yet), so that
    /// creating a simulation does not wait for a process to start. Default true.
    /// </summary>
    public bool WarmSpare { get; set; } = true;

    /// <summary>How long a worker may take to start and load its interpreter, in seconds. Default 60.</summary>
    [Range(1, 600)]
    public int StartTimeoutSeconds { get; set; } = 60;

    /// <summary>
    /// How long a worker may take to answer the host's check (every 2 s) before it counts as hung: its simulation fails
    /// and it is killed with everything it started. Default 15.
    /// </summary>
    [Range(1, 600)]
    public int AnswerTimeoutSeconds { get; set; } = 15;

    /// <summary>
    /// The <c>dotnet</c> host that runs the worker. Default: the one of the runtime this process runs on, then
    /// <c>DOTNET_ROOT</c>, then <c>PATH</c>.
    /// </summary>
    public string? Dotnet { get; set; }

    /// <summary>The worker's assembly. Default: <c>nrphost-worker/NrpHost.Worker.dll</c> next to the application.</summary>
    public string? Assembly { get; set; }

    /// <summary>bubblewrap, for <see cref="SimulationIsolation.Sandbox"/>. Default <c>bwrap</c> (looked up on <c>PATH</c>).</summary>
    public string Bubblewrap { get; set; } = "bwrap";
}
