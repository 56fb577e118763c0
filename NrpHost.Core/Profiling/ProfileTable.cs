using System.Globalization;
using System.Text;

namespace NrpHost.Profiling;

/// <summary>A <see cref="StepProfile"/> as a plain-text table (the simulation log at stop, the step-latency command).</summary>
internal static class ProfileTable
{
    private static readonly (string Phase, string Label)[] Rows =
    [
        (StepPhases.Step, "step (FTI cycle)"),
        (StepPhases.WaitForEngines, "  wait for engines"),
        (StepPhases.GetDatapacks, "  get datapacks"),
        (StepPhases.RunFunctions, "  run functions"),
        (StepPhases.SendDatapacks, "  send datapacks"),
        (StepPhases.RestartEngines, "  restart engines"),
        (StepPhases.RunLoop, "client run_loop"),
        (StepPhases.Host, "host (nrp.run_loop)"),
    ];

    public static string Format(StepProfile profile)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture,
            $"Step-latency profile of simulation {profile.SimulationId}: {profile.Steps} steps, {profile.RunLoopCalls} nrp.run_loop calls");
        if (profile.LostSteps > 0)
        {
            text.Append(CultureInfo.InvariantCulture, $", {profile.LostSteps} steps lost (read too late)");
        }

        if (profile.TimeLogs is { } folder)
        {
            text.Append(", time logs in ").Append(folder);
        }

        text.Append('\n');
        var labels = Rows.Select(r => r.Label)
            .Concat(profile.Engines.Keys.Select(e => "engine " + e))
            .Concat(profile.Functions.Keys.Select(f => "function " + f));
        var width = Math.Max(24, labels.Max(l => l.Length) + 2);
        text.Append("phase (µs)".PadRight(width));
        foreach (var column in new[] { "count", "mean", "p50", "p90", "p99", "max" })
        {
            text.Append(column.PadLeft(11));
        }

        text.Append('\n');
        foreach (var (phase, label) in Rows)
        {
            if (profile.Phases.TryGetValue(phase, out var statistics))
            {
                Row(text, label, statistics, width);
            }
        }

        foreach (var (name, statistics) in profile.Engines)
        {
            Row(text, "engine " + name, statistics, width);
        }

        foreach (var (name, statistics) in profile.Functions)
        {
            Row(text, "function " + name, statistics, width);
        }

        return text.ToString();
    }

    private static void Row(StringBuilder text, string label, StepStatistics s, int width)
    {
        text.Append(label.PadRight(width));
        text.Append(s.Count.ToString(CultureInfo.InvariantCulture).PadLeft(11));
        foreach (var value in new[] { s.Mean, s.P50, s.P90, s.P99, s.Max })
        {
            text.Append(value.ToString("F1", CultureInfo.InvariantCulture).PadLeft(11));
        }

        text.Append('\n');
    }
}
