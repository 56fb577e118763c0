using System.Globalization;
using NrpHost.Python;

namespace NrpHost.Simulation;

internal sealed partial class SimulationManager
{
    private const string OutputCategoryPrefix = "Simulation.";

    public event EventHandler<SimulationOutputEventArgs>? Output;

    /// <summary>
    /// Python output of this process, drained in batches: the lines of a simulation's thread carry the category
    /// <c>Simulation.&lt;id&gt;</c> (set by the script runner); those of this manager's simulations become <see cref="Output"/>.
    /// </summary>
    private void OnPythonOutput(IReadOnlyList<(string Category, int Level, string Text)> entries, IReadOnlyList<(string Category, long Count)> dropped)
    {
        if (Output is null)
        {
            return;
        }

        foreach (var (category, level, text) in entries)
        {
            if (OwnSimulation(category) is { } id)
            {
                Raise(Output, new SimulationOutputEventArgs(id, PythonRuntime.ToLogLevel(level), text));
            }
        }

        foreach (var (category, count) in dropped)
        {
            if (OwnSimulation(category) is { } id)
            {
                Raise(Output, new SimulationOutputEventArgs(id, count));
            }
        }
    }

    /// <summary>
    /// Output of a simulation's worker process: every line is that simulation's, whatever category the worker claims
    /// (it runs the script's code); logged as in-process output is, then raised as <see cref="Output"/>.
    /// </summary>
    private void OnWorkerOutput(int id, Isolation.WorkerOutput output)
    {
        var category = OutputCategoryPrefix + id.ToString(CultureInfo.InvariantCulture);
        var lines = output.Lines.Select(l => (category, l.Level, l.Text)).ToList();
        var dropped = output.Dropped.Count == 0 ? [] : new List<(string, long)> { (category, output.Dropped.Sum(d => Math.Max(0, d.Count))) };
        PythonRuntime.LogOutput(_loggerFactory, lines);
        PythonRuntime.CountDropped(dropped);
        PythonRuntime.LogDropped(_loggerFactory, dropped);
        if (Output is null)
        {
            return;
        }

        foreach (var (_, level, text) in lines)
        {
            Raise(Output, new SimulationOutputEventArgs(id, PythonRuntime.ToLogLevel(level), text));
        }

        foreach (var (_, count) in dropped)
        {
            Raise(Output, new SimulationOutputEventArgs(id, count));
        }
    }

    private int? OwnSimulation(string category) =>
        category.StartsWith(OutputCategoryPrefix, StringComparison.Ordinal) &&
        int.TryParse(category.AsSpan(OutputCategoryPrefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var id) &&
        FindSimulation(id) is not null
            ? id
            : null;
}
