namespace NrpHost.Simulation;

/// <summary>A simulation as it is at one moment.</summary>
/// <param name="Id">The id (0, 1, 2… per process).</param>
/// <param name="State">The current state.</param>
/// <param name="ExperimentId">The storage experiment it runs.</param>
/// <param name="ExperimentConfiguration">The configuration file name, relative to the experiment root.</param>
/// <param name="MainScript">The script name, relative to the experiment root.</param>
/// <param name="Owner">Who created it.</param>
/// <param name="CreationDate">When it was created.</param>
/// <param name="ContextId">The collab context id, if any.</param>
/// <param name="Clock">Its time keeping.</param>
public sealed record SimulationSnapshot(
    int Id,
    SimulationState State,
    string ExperimentId,
    string ExperimentConfiguration,
    string MainScript,
    string Owner,
    DateTimeOffset CreationDate,
    string? ContextId,
    SimulationClock Clock);

/// <summary>A simulation's time keeping, in seconds.</summary>
/// <param name="RealTime">Wall-clock time the simulation spent <c>started</c> (pauses excluded).</param>
/// <param name="SimulationTime">Iterations done times <c>SimulationTimestep</c>.</param>
/// <param name="SimulationTimeLeft">Iterations left before <c>SimulationTimeout</c> times <c>SimulationTimestep</c>.</param>
/// <param name="Iterations">Iterations done.</param>
public readonly record struct SimulationClock(double RealTime, double SimulationTime, double SimulationTimeLeft, long Iterations);
