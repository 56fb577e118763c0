using System.ComponentModel.DataAnnotations;
using NrpHost.Isolation;

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

    /// <summary>
    /// Where each simulation's Python runs: <see cref="SimulationIsolation.InProcess"/> (the library's default),
    /// <see cref="SimulationIsolation.Process"/> (a worker process per simulation; the server's default) or
    /// <see cref="SimulationIsolation.Sandbox"/> (that worker inside bubblewrap).
    /// </summary>
    public SimulationIsolation Isolation { get; set; } = SimulationIsolation.InProcess;

    /// <summary>Limits of each simulation's worker process (<see cref="SimulationIsolation.Process"/> and <see cref="SimulationIsolation.Sandbox"/> only).</summary>
    public SimulationLimits Limits { get; set; } = new();

    /// <summary>How worker processes are started (<see cref="SimulationIsolation.Process"/> and <see cref="SimulationIsolation.Sandbox"/> only).</summary>
    public WorkerOptions Worker { get; set; } = new();

    /// <summary>
    /// Where per-simulation directories are made. Default: <c>nrphost/&lt;host id&gt;</c> under the system temp folder,
    /// so every host (<see cref="Hosting.HostIdentityOptions.HostId"/>) has its own, and its own unsent logs.
    /// </summary>
    public string? WorkDirectory { get; set; }

    /// <summary>
    /// Where log archives are written before they are handed to storage. Default: <c>archives</c> in the work
    /// directory. On another file system than the work directory, a simulation that fills its disk cannot keep its own
    /// logs from being archived. When an archive cannot be written at all, the simulation directory is kept and archived
    /// by the next start.
    /// </summary>
    public string? ArchiveStagingDirectory { get; set; }

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

    /// <summary>
    /// How long creating a simulation may take on its thread (compiling the script, constructing the nrp-core client and
    /// its <c>initialize()</c>), in seconds. Past it the simulation fails and, if its thread does not end when interrupted,
    /// the thread is abandoned. Default 120.
    /// </summary>
    [Range(1, 3600)]
    public int InitializeTimeoutSeconds { get; set; } = 120;

    /// <summary>
    /// How long the nrp-core client's <c>shutdown()</c> may take at stop, in seconds. Past it the simulation ends
    /// <c>failed</c>, naming the engine that did not return, and its thread is abandoned. Default 10.
    /// </summary>
    [Range(1, 3600)]
    public int ShutdownTimeoutSeconds { get; set; } = 10;

    /// <summary>How long archiving and uploading a simulation's logs may take at stop, in seconds. Default 30.</summary>
    [Range(1, 3600)]
    public int ArchiveTimeoutSeconds { get; set; } = 30;

    /// <summary>The most bytes one file contributes to a log archive (its head and tail are kept). Default 64 MiB.</summary>
    [Range(1024, long.MaxValue)]
    public long MaxLogFileBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>
    /// Profile the step latency of every simulation (as <see cref="SimulationRequest.Profile"/> does for one): per-phase
    /// timings of every step, nrp-core's time-log files in the log archive, <c>nrphost.step.duration</c>. Default false.
    /// </summary>
    public bool Profile { get; set; }

    /// <summary>The most bytes all files together contribute to a log archive. Default 256 MiB.</summary>
    [Range(1024, long.MaxValue)]
    public long MaxArchiveBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>
    /// How many stopped or failed simulations stay listed (and can be looked up); beyond it the oldest are dropped.
    /// Default 100.
    /// </summary>
    [Range(0, 100_000)]
    public int RetainFinished { get; set; } = 100;
}
