namespace NrpHost.Simulation;

/// <summary>The six states of an NRP simulation.</summary>
public enum SimulationState
{
    /// <summary>Being staged and initialised.</summary>
    Created,

    /// <summary>Initialised, or paused by the user; the script waits at its next <c>nrp.run_loop</c>.</summary>
    Paused,

    /// <summary>The script runs.</summary>
    Started,

    /// <summary>The script returned or raised; resources are kept until the simulation is stopped.</summary>
    Completed,

    /// <summary>Stopped and cleaned up (final).</summary>
    Stopped,

    /// <summary>Failed and cleaned up (final).</summary>
    Failed,
}

/// <summary>Wire names of <see cref="SimulationState"/> (<c>created</c>, <c>paused</c>…) and related helpers.</summary>
public static class SimulationStates
{
    /// <summary>The lower-case name the NRP uses on the wire.</summary>
    public static string ToWireName(this SimulationState state) => state switch
    {
        SimulationState.Created => "created",
        SimulationState.Paused => "paused",
        SimulationState.Started => "started",
        SimulationState.Completed => "completed",
        SimulationState.Stopped => "stopped",
        SimulationState.Failed => "failed",
        _ => throw new ArgumentOutOfRangeException(nameof(state), state, null),
    };

    /// <summary>Parses a wire name (exact, lower-case).</summary>
    public static bool TryParse(string? name, out SimulationState state)
    {
        foreach (var candidate in Enum.GetValues<SimulationState>())
        {
            if (string.Equals(candidate.ToWireName(), name, StringComparison.Ordinal))
            {
                state = candidate;
                return true;
            }
        }

        state = default;
        return false;
    }

    /// <summary>Whether the state is final (<c>stopped</c> or <c>failed</c>).</summary>
    public static bool IsFinal(this SimulationState state) => state is SimulationState.Stopped or SimulationState.Failed;
}
