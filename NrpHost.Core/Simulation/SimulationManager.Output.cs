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

    private int? OwnSimulation(string category) =>
        category.StartsWith(OutputCategoryPrefix, StringComparison.Ordinal) &&
        int.TryParse(category.AsSpan(OutputCategoryPrefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var id) &&
        FindSimulation(id) is not null
            ? id
            : null;
}
