namespace NrpHost.Simulation;

/// <summary>
/// Creates, lists and controls simulations. One instance per host; safe to use from many threads.
/// </summary>
public interface ISimulationManager
{
    /// <summary>
    /// Raised after every state change, outside any lock, and once for each new simulation (in <c>created</c>, with
    /// <see cref="SimulationStateChangedEventArgs.Previous"/> null). Handlers must return quickly and never throw.
    /// </summary>
    event EventHandler<SimulationStateChangedEventArgs>? StateChanged;

    /// <summary>Raised for every fault a simulation's script reports. Handlers must return quickly.</summary>
    event EventHandler<SimulationErrorEventArgs>? RuntimeError;

    /// <summary>Raised while a simulation shuts down (start and end of the task), for progress displays.</summary>
    event EventHandler<SimulationProgressEventArgs>? Progress;

    /// <summary>
    /// Raised for every line a simulation's script prints or logs, in order, shortly after it was written (output is
    /// moved out of Python in batches, every <c>OutputDrainIntervalMilliseconds</c> and when the script ends, so a
    /// script's last lines come before its <see cref="RuntimeError"/> and its final state). Handlers must return quickly.
    /// </summary>
    event EventHandler<SimulationOutputEventArgs>? Output;

    /// <summary>
    /// Creates a simulation: stages the experiment into its own directory and initialises it. Returns when it is
    /// paused (ready to start), failed, or refused.
    /// </summary>
    Task<CreateSimulationResult> CreateAsync(SimulationRequest request, CancellationToken cancellationToken = default);

    /// <summary>The simulation with this id, or null.</summary>
    SimulationSnapshot? Find(int id);

    /// <summary>The state of the simulation with this id, or null; what <see cref="Find"/> says, read without making a snapshot.</summary>
    SimulationState? StateOf(int id) => Find(id)?.State;

    /// <summary>Every simulation of this process, in id order (final ones included).</summary>
    IReadOnlyList<SimulationSnapshot> List();

    /// <summary>
    /// Asks a simulation to go to <paramref name="target"/>: <c>started</c> (start or resume), <c>paused</c>,
    /// <c>stopped</c> (returns once it is cleaned up), <c>completed</c> or <c>failed</c>. Requesting the current
    /// state succeeds without doing anything. An impossible request is a result, not an exception.
    /// </summary>
    Task<StateChangeResult> RequestStateAsync(int id, SimulationState target, CancellationToken cancellationToken = default);

    /// <summary>
    /// The step-latency profile of simulation <paramref name="id"/> as it is now: null when there is no such simulation,
    /// it is not profiled (<see cref="SimulationRequest.Profile"/>, <see cref="SimulationOptions.Profile"/>), or it was
    /// stopped (a profile is kept until then; its time logs are in the log archive). A simulation in a worker process
    /// gives the profile as it last sent it (at most half a second old); <see cref="ReadProfileAsync"/> asks it now.
    /// </summary>
    Profiling.StepProfile? FindProfile(int id) => null;

    /// <summary>
    /// As <see cref="FindProfile"/>, read now: it counts every step done so far, also of a simulation in a worker process.
    /// </summary>
    Task<Profiling.StepProfile?> ReadProfileAsync(int id, CancellationToken cancellationToken = default) => Task.FromResult(FindProfile(id));
}

/// <summary>A simulation changed state, or was just created.</summary>
public sealed class SimulationStateChangedEventArgs(SimulationSnapshot simulation, SimulationState? previous) : EventArgs
{
    /// <summary>The simulation, in its new state.</summary>
    public SimulationSnapshot Simulation { get; } = simulation;

    /// <summary>The state it left, or null when the simulation was just created (it has had no state before).</summary>
    public SimulationState? Previous { get; } = previous;

    /// <summary>Whether this is the simulation's first event: it was just created.</summary>
    public bool IsNew => Previous is null;
}

/// <summary>A simulation's script reported a fault.</summary>
public sealed class SimulationErrorEventArgs(SimulationError error) : EventArgs
{
    /// <summary>The fault.</summary>
    public SimulationError Error { get; } = error;
}

/// <summary>Progress of a long task of a simulation (its shutdown).</summary>
public sealed class SimulationProgressEventArgs(int simulationId, string task, bool done) : EventArgs
{
    /// <summary>The simulation.</summary>
    public int SimulationId { get; } = simulationId;

    /// <summary>The task's title, for example <c>Shutting down Simulation</c>.</summary>
    public string Task { get; } = task;

    /// <summary>False when the task starts, true when it ends.</summary>
    public bool Done { get; } = done;
}
