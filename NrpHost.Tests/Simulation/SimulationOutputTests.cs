using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using NrpHost.Simulation;
using NrpHost.Tests.Infrastructure;

namespace NrpHost.Tests.Simulation;

/// <summary><see cref="ISimulationManager.Output"/>: what a simulation's script prints or logs, as events.</summary>
[Collection(PythonCollection.Name)]
public sealed class SimulationOutputTests
{
    [Theory]
    [InlineData("InProcess")]
    [InlineData("Process")]
    public async Task Output_CarriesTheScriptsPrintsAndLogRecords_InOrder_WithTheirLevels_BeforeTheFinalState(string isolation)
    {
        await using var host = new CoreHost(configure: s => s["NrpHost:Simulation:Isolation"] = isolation);
        host.Experiment().WithConfig(timeout: 100_000).WithScript("""
            import logging, sys, threading
            print("first")
            sys.stderr.write("to stderr\n")
            logging.getLogger("exp.part").error("an error record")
            file_logger.info("only in the script's own log file")
            worker = threading.Thread(target=lambda: print("from a thread the script started"))
            worker.start()
            worker.join()
            print("last", end="")
            """).Build();
        var lines = new ConcurrentQueue<SimulationOutputEventArgs>();
        var completedAfter = -1;
        host.Manager.Output += (_, e) => lines.Enqueue(e);
        host.Manager.StateChanged += (_, e) =>
        {
            if (e.Simulation.State == SimulationState.Completed)
            {
                completedAfter = lines.Count;
            }
        };
        var simulation = await host.CreatePausedAsync();

        await host.Manager.RequestStateAsync(simulation.Id, SimulationState.Started);
        await host.WaitForStateAsync(simulation.Id, SimulationState.Completed);

        // file_logger writes to its file only; a thread the script starts works for the simulation, so its output is here.
        Assert.Equal(
            [
                (LogLevel.Information, "first"), (LogLevel.Warning, "to stderr"), (LogLevel.Error, "an error record"),
                (LogLevel.Information, "from a thread the script started"), (LogLevel.Information, "last"),
            ],
            lines.Select(l => (l.Level, l.Text)));
        Assert.All(lines, l => Assert.Equal(simulation.Id, l.SimulationId));
        Assert.Equal(5, completedAfter);
    }

    [Theory]
    [InlineData("InProcess")]
    [InlineData("Process")]
    public async Task ARuntimeError_ReachesSubscribersAfterEveryLinePrintedBeforeIt(string isolation)
    {
        await using var host = new CoreHost(configure: s => s["NrpHost:Simulation:Isolation"] = isolation);
        host.Experiment().WithConfig(timeout: 100_000).WithScript("""
            import time
            for i in range(1000):
                print("line", i)
            time.sleep(0.5)
            raise RuntimeError("after the lines")
            """).Build();
        var seen = new ConcurrentQueue<string>();

        // A slow subscriber: the lines are still being handed on when the script raises (the drain takes them within 200 ms).
        host.Manager.Output += (_, e) =>
        {
            Thread.Sleep(1);
            seen.Enqueue(e.Text);
        };
        host.Manager.RuntimeError += (_, e) => seen.Enqueue("error: " + e.Error.Message);
        var simulation = await host.CreatePausedAsync();

        await host.Manager.RequestStateAsync(simulation.Id, SimulationState.Started);
        await host.WaitForStateAsync(simulation.Id, SimulationState.Completed);

        var expected = Enumerable.Range(0, 1000).Select(i => $"line {i}").Append("error: after the lines");
        Assert.Equal(expected, seen.Where(s => s.StartsWith("line ", StringComparison.Ordinal) || s.StartsWith("error: ", StringComparison.Ordinal)));
    }

    [Theory]
    [InlineData("InProcess")]
    [InlineData("Process")]
    public async Task Output_ATracebackIsOneRecord_ForAnUncaughtError_ALoggedException_AndAThreadThatDies(string isolation)
    {
        await using var host = new CoreHost(configure: s => s["NrpHost:Simulation:Isolation"] = isolation);
        host.Experiment().WithConfig(timeout: 100_000).WithScript("""
            import logging, threading
            def inner():
                raise KeyError("logged")
            try:
                inner()
            except KeyError:
                logging.getLogger("exp").exception("caught it")
            def dies():
                raise ValueError("in a thread")
            worker = threading.Thread(target=dies)
            worker.start()
            worker.join()
            def deepest():
                raise RuntimeError("uncaught")
            deepest()
            """).Build();
        var lines = new ConcurrentQueue<SimulationOutputEventArgs>();
        host.Manager.Output += (_, e) => lines.Enqueue(e);
        var simulation = await host.CreatePausedAsync();

        await host.Manager.RequestStateAsync(simulation.Id, SimulationState.Started);
        await host.WaitForStateAsync(simulation.Id, SimulationState.Completed);

        var tracebacks = lines.Where(l => l.Text.Contains("Traceback (most recent call last)", StringComparison.Ordinal)).ToList();
        Assert.Equal(3, tracebacks.Count);
        Assert.Contains(tracebacks, l => l.Text.StartsWith("caught it\n", StringComparison.Ordinal) && l.Text.EndsWith("KeyError: 'logged'", StringComparison.Ordinal));
        Assert.Contains(tracebacks, l => l.Text.Contains("in dies", StringComparison.Ordinal) && l.Text.EndsWith("ValueError: in a thread", StringComparison.Ordinal));
        Assert.Contains(tracebacks, l => l.Text.Contains("in deepest", StringComparison.Ordinal) && l.Text.EndsWith("RuntimeError: uncaught", StringComparison.Ordinal));

        // The user's code only: the experiment's files by their names, none of the host's frames or paths.
        Assert.All(tracebacks, l =>
        {
            Assert.Contains("File \"main_script.py\", line", l.Text, StringComparison.Ordinal);
            Assert.DoesNotContain("runner.py", l.Text, StringComparison.Ordinal);
            Assert.DoesNotContain("nrphost-python", l.Text, StringComparison.Ordinal);
            Assert.DoesNotContain("noqa", l.Text, StringComparison.Ordinal);
            Assert.DoesNotContain(host.WorkDirectory, l.Text, StringComparison.Ordinal);
        });

        // no line of a traceback arrives on its own
        Assert.DoesNotContain(lines, l => l.Text.TrimStart().StartsWith("File \"", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.Text is "RuntimeError: uncaught" or "ValueError: in a thread" or "KeyError: 'logged'");
    }

    [Fact]
    public async Task Output_ASubscriberThatThrows_DoesNotHurtTheSimulationOrOtherSubscribers()
    {
        await using var host = new CoreHost();
        host.Experiment().WithConfig(timeout: 100_000).WithScript("print('hello')").Build();
        var seen = new ConcurrentQueue<string>();
        host.Manager.Output += (_, _) => throw new InvalidOperationException("a broken subscriber");
        host.Manager.Output += (_, e) => seen.Enqueue(e.Text);
        var simulation = await host.CreatePausedAsync();

        await host.Manager.RequestStateAsync(simulation.Id, SimulationState.Started);
        await host.WaitForStateAsync(simulation.Id, SimulationState.Completed);

        Assert.Equal(["hello"], seen);
    }
}
