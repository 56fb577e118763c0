namespace NrpHost.Simulation;

/// <summary>A simulation as it is at one moment.</summary>
public sealed record SimulationSnapshot
{
    /// <summary>The id (0, 1, 2… per process).</summary>
    public required int Id { get; init; }

    /// <summary>The current state.</summary>
    public required SimulationState State { get; init; }

    /// <summary>The storage experiment it runs.</summary>
    public required string ExperimentId { get; init; }

    /// <summary>The configuration file name, relative to the experiment root.</summary>
    public string ExperimentConfiguration { get; init; } = SimulationRequest.DefaultConfiguration;

    /// <summary>The script name, relative to the experiment root.</summary>
    public string MainScript { get; init; } = SimulationRequest.DefaultMainScript;

    /// <summary>Who created it.</summary>
    public string Owner { get; init; } = SimulationRequest.DefaultOwner;

    /// <summary>When it was created.</summary>
    public required DateTimeOffset CreationDate { get; init; }

    /// <summary>The collab context id, if any.</summary>
    public string? ContextId { get; init; }

    /// <summary>Its time keeping.</summary>
    public SimulationClock Clock { get; init; }
}

/// <summary>A simulation's time keeping, in seconds.</summary>
public readonly record struct SimulationClock
{
    /// <summary>Wall-clock time the simulation spent <c>started</c> (pauses excluded).</summary>
    public double RealTime { get; init; }

    /// <summary>Iterations done times <c>SimulationTimestep</c>.</summary>
    public double SimulationTime { get; init; }

    /// <summary>Iterations left before <c>SimulationTimeout</c> times <c>SimulationTimestep</c>.</summary>
    public double SimulationTimeLeft { get; init; }

    /// <summary>Iterations done.</summary>
    public long Iterations { get; init; }
}
