namespace NrpHost.Simulation;

/// <summary>
/// A fault of a simulation's script, as the NRP Frontend shows it (the <c>runtime_error</c> message).
/// </summary>
/// <param name="SimulationId">The simulation.</param>
/// <param name="Message">What went wrong.</param>
/// <param name="ErrorType"><c>Loading</c>, <c>Compile</c>, <c>Runtime</c> or <c>SimTimeout</c>.</param>
/// <param name="FileName">The experiment file the error points at (the main script unless it lies in another file).</param>
/// <param name="LineNumber">Line in that file, -1 when unknown.</param>
/// <param name="Offset">Column, -1 when unknown.</param>
/// <param name="LineText">The text of that line, empty when unknown.</param>
public sealed record SimulationError(
    int SimulationId,
    string Message,
    string ErrorType,
    string FileName,
    int LineNumber,
    int Offset,
    string LineText);
