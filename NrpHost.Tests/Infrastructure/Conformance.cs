namespace NrpHost.Tests.Infrastructure;

/// <summary>
/// nrp-core's own tests and examples, unchanged, at <c>../shared/nrp-core-conformance/</c> (see its <c>ORIGIN.md</c>):
/// tests run them from there and never copy them into the project.
/// </summary>
public static class Conformance
{
    public static string Folder { get; } = Repository.Combine("..", "shared", "nrp-core-conformance");

    /// <summary>Why the folder cannot be used, or null when it can.</summary>
    public static string? WhyNot => Directory.Exists(Folder)
        ? null
        : $"nrp-core's tests and examples (nrp-core 1.4.1, unchanged; its ORIGIN.md lists them) are not at {Folder}";

    public static string Combine(params string[] parts) => Path.Combine([Folder, .. parts]);
}

/// <summary>A theory that runs nrp-core's own files; skipped, with the reason, where they are not there.</summary>
public sealed class ConformanceTheoryAttribute : TheoryAttribute
{
    public ConformanceTheoryAttribute()
    {
        if (Conformance.WhyNot is { } reason)
        {
            Skip = reason;
        }
    }
}

/// <summary>A Python of this machine, run as a process (as nrp-core runs its tests and tools), that imports given modules.</summary>
public static class SystemPython
{
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, string?> Found = new();

    /// <summary>The first of Debian's <c>/usr/bin/python3</c> and the <c>python3</c> on PATH that imports <paramref name="modules"/>, or null.</summary>
    public static string? With(string modules) =>
        Found.GetOrAdd(modules, m => new[] { "/usr/bin/python3", "python3" }.FirstOrDefault(python => Run(python, ["-c", "import " + m]).Code == 0));

    /// <summary>Runs <paramref name="python"/> with <paramref name="arguments"/>: exit code and everything it printed.</summary>
    public static (int Code, string Output) Run(string python, string[] arguments, IReadOnlyDictionary<string, string>? environment = null, string? directory = null)
    {
        var start = new System.Diagnostics.ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        if (directory is not null)
        {
            start.WorkingDirectory = directory;
        }

        try
        {
            using var process = System.Diagnostics.Process.Start(start)!;
            var error = process.StandardError.ReadToEndAsync();
            var output = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            return (process.ExitCode, output + error.Result);
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            return (-1, ex.Message);
        }
    }
}

/// <summary>nrp-core's <c>tools/plot_sim_loop.py</c>, run unchanged with a Python that has numpy and matplotlib (no window: the Agg backend).</summary>
public static class PlotSimLoop
{
    /// <summary>Why it cannot run here, or null when it can.</summary>
    public static string? WhyNot => Conformance.WhyNot
        ?? (SystemPython.With("numpy, matplotlib") is null ? "no python3 here imports numpy and matplotlib (Debian: python3-matplotlib), which nrp-core's plot_sim_loop.py needs" : null);

    /// <summary>Runs it on <paramref name="folder"/>: exit code and everything it printed.</summary>
    public static (int Code, string Output) Run(string folder) =>
        SystemPython.Run(SystemPython.With("numpy, matplotlib")!, [Conformance.Combine("plot_sim_loop.py"), folder], new Dictionary<string, string> { ["MPLBACKEND"] = "Agg" });
}

/// <summary>A test that runs nrp-core's plot tool; skipped, with the reason, where it cannot run.</summary>
public sealed class PlotSimLoopFactAttribute : FactAttribute
{
    public PlotSimLoopFactAttribute()
    {
        if (PlotSimLoop.WhyNot is { } reason)
        {
            Skip = reason;
        }
    }
}

/// <summary>
/// A test that runs nrp-core's own tests with Google's protobuf package, as nrp-core does; skipped, with the reason, where
/// they or such a Python are not here.
/// </summary>
public sealed class ProtobufConformanceFactAttribute : FactAttribute
{
    public ProtobufConformanceFactAttribute()
    {
        if ((Conformance.WhyNot ?? (SystemPython.With("google.protobuf") is null
                ? "no python3 here imports google.protobuf (Debian: python3-protobuf), which nrp-core's tests need" : null)) is { } reason)
        {
            Skip = reason;
        }
    }
}
