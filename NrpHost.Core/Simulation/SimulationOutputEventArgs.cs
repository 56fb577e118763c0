using Microsoft.Extensions.Logging;

namespace NrpHost.Simulation;

/// <summary>
/// One line that a simulation (its script, or an engine, function or thread it runs) printed or logged: a
/// <c>print</c> line (<see cref="LogLevel.Information"/>), a line written to <c>sys.stderr</c>
/// (<see cref="LogLevel.Warning"/>) or a <c>logging</c> record at its own level. Output is rate-limited: when lines
/// were held back, one event says how many (<see cref="DroppedLines"/>); the simulation's log file keeps them.
/// </summary>
public sealed class SimulationOutputEventArgs : EventArgs
{
    /// <summary>A line of output.</summary>
    public SimulationOutputEventArgs(int simulationId, LogLevel level, string text)
    {
        SimulationId = simulationId;
        Level = level;
        Text = text;
    }

    /// <summary>A count of lines that were held back by the rate limit.</summary>
    public SimulationOutputEventArgs(int simulationId, long droppedLines)
    {
        SimulationId = simulationId;
        Level = LogLevel.Warning;
        DroppedLines = droppedLines;
        Text = $"{droppedLines} lines of output were held back by the rate limit; the simulation log file has them";
    }

    /// <summary>The simulation.</summary>
    public int SimulationId { get; }

    /// <summary>The line's level.</summary>
    public LogLevel Level { get; }

    /// <summary>The line, without its line break (for a count of held-back lines, a sentence saying so).</summary>
    public string Text { get; }

    /// <summary>How many lines were held back (0 for an ordinary line).</summary>
    public long DroppedLines { get; }
}
