namespace NrpHost.Profiling;

/// <summary>
/// The step-latency profile of one simulation: how long each phase of its steps took, in microseconds. Kept while
/// the simulation runs and after it completes, until it is stopped; updated every few milliseconds.
/// </summary>
public sealed record StepProfile
{
    /// <summary>The simulation.</summary>
    public required int SimulationId { get; init; }

    /// <summary>
    /// Steps measured: datapack cycles of the FTI loop with the embedded runtime (one line each in
    /// <c>step_duration.log</c>), otherwise <c>nrp.run_loop</c> calls.
    /// </summary>
    public long Steps { get; init; }

    /// <summary><c>nrp.run_loop</c> calls measured.</summary>
    public long RunLoopCalls { get; init; }

    /// <summary>Steps that were overwritten before the host read them (0 unless the host fell far behind).</summary>
    public long LostSteps { get; init; }

    /// <summary>The folder of nrp-core-compatible time logs in the simulation directory (and its log archive), or null.</summary>
    public string? TimeLogs { get; init; }

    /// <summary>Statistics per phase, keyed by the names in <see cref="StepPhases"/>; phases never measured are left out.</summary>
    public IReadOnlyDictionary<string, StepStatistics> Phases { get; init; } = new Dictionary<string, StepStatistics>();

    /// <summary>Each engine's step (its <c>runLoop</c>), by engine name.</summary>
    public IReadOnlyDictionary<string, StepStatistics> Engines { get; init; } = new Dictionary<string, StepStatistics>();

    /// <summary>Each preprocessing, transceiver and status function, by function name.</summary>
    public IReadOnlyDictionary<string, StepStatistics> Functions { get; init; } = new Dictionary<string, StepStatistics>();
}

/// <summary>Statistics of one phase, in microseconds. Percentiles are within about 2% of the exact value.</summary>
/// <param name="Count">How many times it was measured.</param>
/// <param name="Mean">The mean.</param>
/// <param name="P50">The median.</param>
/// <param name="P90">The 90th percentile.</param>
/// <param name="P99">The 99th percentile.</param>
/// <param name="Max">The largest.</param>
public readonly record struct StepStatistics(long Count, double Mean, double P50, double P90, double P99, double Max);

/// <summary>The phase names of a <see cref="StepProfile"/> (also the <c>phase</c> tag of <c>nrphost.step.duration</c>).</summary>
public static class StepPhases
{
    /// <summary>One datapack cycle of the FTI loop, from its start to its engines' restart (nrp-core's <c>step_duration</c>).</summary>
    public const string Step = "step";

    /// <summary>Waiting for the batch's engines to finish their step (empty in the embedded runtime, whose engines step synchronously).</summary>
    public const string WaitForEngines = "wait_for_engines";

    /// <summary>Fetching the datapacks the functions request from the batch's engines.</summary>
    public const string GetDatapacks = "get_datapacks";

    /// <summary>Running the preprocessing, transceiver and status functions (nrp-core's "run tfs").</summary>
    public const string RunFunctions = "run_functions";

    /// <summary>Sending client and transceiver datapacks to the batch's engines.</summary>
    public const string SendDatapacks = "send_datapacks";

    /// <summary>Restarting the batch's engines (in the embedded runtime this is their <c>runLoop</c>).</summary>
    public const string RestartEngines = "restart_engines";

    /// <summary>The nrp-core client's <c>run_loop</c> as a whole, as <c>nrp.run_loop</c> calls it.</summary>
    public const string RunLoop = "run_loop";

    /// <summary>The host's own part of <c>nrp.run_loop</c>: the pause gate (time spent paused excluded) and the timeout check.</summary>
    public const string Host = "host";

    /// <summary>One engine's step (tagged with <c>engine</c>).</summary>
    public const string Engine = "engine";

    /// <summary>One function (tagged with <c>function</c>).</summary>
    public const string Function = "function";
}
