namespace NrpHost.Simulation;

/// <summary>
/// Keeps the host's own paths out of what users are told (REST and MQTT messages): a file in the simulation directory
/// is named relative to the experiment (<c>engine.py</c>), and the work directory, the shipped Python packages, the
/// application and the Python installation appear as <c>[work]</c>, <c>[nrphost]</c>, <c>[app]</c> and
/// <c>[python]</c>. The full paths stay in the host's log.
/// </summary>
internal sealed class PathScrubber
{
    private readonly (string Path, string Replacement)[] _rules;

    public PathScrubber(string? simulationDirectory, IEnumerable<(string? Path, string Label)> hostPaths)
    {
        var rules = new List<(string, string)>();
        if (!string.IsNullOrEmpty(simulationDirectory))
        {
            var directory = Path.TrimEndingDirectorySeparator(simulationDirectory);
            rules.Add((directory + Path.DirectorySeparatorChar, string.Empty));
            rules.Add((directory, "."));
        }

        foreach (var (path, label) in hostPaths)
        {
            if (!string.IsNullOrEmpty(path) && Path.TrimEndingDirectorySeparator(path) is { Length: > 1 } trimmed)
            {
                rules.Add((trimmed, label));
            }
        }

        // Longest first, so a path inside another is replaced by its own rule.
        _rules = [.. rules.OrderByDescending(r => r.Item1.Length)];
    }

    public string Scrub(string text)
    {
        foreach (var (path, replacement) in _rules)
        {
            text = text.Replace(path, replacement, StringComparison.Ordinal);
        }

        return text;
    }

    public SimulationError Scrub(SimulationError error) => error with
    {
        Message = Scrub(error.Message),
        FileName = Scrub(error.FileName),
    };
}
