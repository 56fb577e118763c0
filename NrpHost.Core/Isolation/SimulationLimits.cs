using System.ComponentModel.DataAnnotations;

namespace NrpHost.Isolation;

/// <summary>
/// Limits of one simulation's worker process (<c>NrpHost:Simulation:Limits</c>), applied in the
/// <see cref="SimulationIsolation.Process"/> and <see cref="SimulationIsolation.Sandbox"/> modes. Passing one ends only
/// that simulation, as <c>failed</c>, with a message naming the limit. Unset: no limit of NrpHost's own.
/// </summary>
public sealed class SimulationLimits
{
    /// <summary>
    /// The most memory the simulation's process may allocate, in MiB (its data segment, <c>RLIMIT_DATA</c>: every
    /// private writable mapping, so the interpreter, the script's objects and the worker's own runtime). Past it
    /// allocations fail: Python raises <c>MemoryError</c>.
    /// </summary>
    [Range(256, 1_048_576)]
    public int? MemoryMB { get; set; }

    /// <summary>The most files the simulation's process may have open at once (<c>RLIMIT_NOFILE</c>).</summary>
    [Range(64, 1_048_576)]
    public int? OpenFiles { get; set; }

    /// <summary>
    /// The most processes and threads (each thread counts) the simulation may have at once, the worker's own threads included (about 30): a pids cgroup where
    /// the host can make one, otherwise <c>RLIMIT_NPROC</c> (which counts every process of the user, and which the
    /// kernel does not apply to root).
    /// </summary>
    [Range(64, 1_048_576)]
    public int? Processes { get; set; }

    /// <summary>Whether any limit is set.</summary>
    internal bool Any => MemoryMB is not null || OpenFiles is not null || Processes is not null;
}
