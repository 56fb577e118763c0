using Microsoft.Extensions.Logging;

namespace NrpHost.Simulation;

/// <summary>
/// One line that a simulation's script (or an engine or function running on its thread) printed or logged: a
/// <c>print</c> line (<see cref="LogLevel.Information"/>), a line written to <c>sys.stderr</c>
/// (<see cref="LogLevel.Warning"/>) or a <c>logging</c> record at its own level.
/// </summary>
public sealed class SimulationOutputEventArgs(int simulationId, LogLevel level, string text) : EventArgs
{
    /// <summary>The simulation.</summary>
    public int SimulationId { get; } = simulationId;

    /// <summary>The line's level.</summary>
    public LogLevel Level { get; } = level;

    /// <summary>The line, without its line break.</summary>
    public string Text { get; } = text;
}
