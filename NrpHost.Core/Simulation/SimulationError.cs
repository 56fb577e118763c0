namespace NrpHost.Simulation;

/// <summary>
/// A fault of a simulation's script, as the NRP Frontend shows it (the <c>runtime_error</c> message).
/// </summary>
public sealed record SimulationError
{
    /// <summary>The simulation.</summary>
    public required int SimulationId { get; init; }

    /// <summary>What went wrong.</summary>
    public required string Message { get; init; }

    /// <summary><c>Loading</c>, <c>Compile</c>, <c>Runtime</c> or <c>SimTimeout</c>.</summary>
    public required string ErrorType { get; init; }

    /// <summary>The experiment file the error points at (the main script unless it lies in another file).</summary>
    public string FileName { get; init; } = string.Empty;

    /// <summary>Line in that file, -1 when unknown.</summary>
    public int LineNumber { get; init; } = -1;

    /// <summary>Column, -1 when unknown.</summary>
    public int Offset { get; init; } = -1;

    /// <summary>The text of that line, empty when unknown.</summary>
    public string LineText { get; init; } = string.Empty;

    /// <summary>The Python exception's type name, when the fault was one (not part of the wire format).</summary>
    internal string? ExceptionType { get; init; }

    /// <summary>
    /// What nrp-core refused in the experiment's configuration (an engine type or simulation loop it does not have, an
    /// invalid setting), when that was the fault: the user's to fix (not part of the wire format).
    /// </summary>
    internal string? Refusal { get; init; }

    /// <summary>The <c>OSError</c>'s errno, when the fault was one (not part of the wire format).</summary>
    internal int? Errno { get; init; }

    /// <summary>
    /// <see cref="Message"/> followed by where it happened, <c>(main_script.py, line 3)</c>, so a message read alone
    /// (the REST answer to a failed create, a log line) names the experiment file and line.
    /// </summary>
    internal string Located()
    {
        if (string.IsNullOrEmpty(FileName))
        {
            return Message;
        }

        if (LineNumber > 0)
        {
            return string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{Message} ({FileName}, line {LineNumber})");
        }

        return Message.Contains(FileName, StringComparison.Ordinal) ? Message : $"{Message} ({FileName})";
    }
}
