using NrpHost.Profiling;
using NrpHost.Tests.Infrastructure;

namespace NrpHost.Tests.Profiling;

public sealed class TimeLogsTests
{
    [Fact]
    public void Cycles_AreWrittenInNrpCoresUnits_OneLinePerFile_AndStatsWithNrpCoresLines()
    {
        using var temp = new TempDirectory("timelogs");
        var logs = TimeLogs.Create(temp.Path, "20261208-010203-77", origin: 1_000_000, cycles: true, initialization: TimeSpan.FromMilliseconds(1.5));
        logs.WriteCycle(3_000_000, 3_000_000, 3_004_999, 3_010_000, 3_012_000, 3_020_500);
        logs.WriteRun(20_500_999);
        logs.WriteRun(7_000);
        logs.Finish(shutdown: TimeSpan.FromMilliseconds(3), total: TimeSpan.FromSeconds(2));

        Assert.Equal("time_logs/20261208-010203-77", logs.Name);
        string Read(string file) => File.ReadAllText(Path.Combine(temp.Path, "time_logs", "20261208-010203-77", file + ".log"));
        Assert.Equal("2000\n", Read("step_start"));
        Assert.Equal("2000\n", Read("after_wait_for_engines"));
        Assert.Equal("2004\n", Read("after_get_datapacks"));
        Assert.Equal("2010\n", Read("after_run_tfs"));
        Assert.Equal("2012\n", Read("after_send_datapacks"));
        Assert.Equal("2020\n", Read("after_restart_engines"));
        Assert.Equal("20\n", Read("step_duration"));
        Assert.Equal(
            "Initializing Simulation: 1500\nRunning Simulation: 20500\nRunning Simulation: 7\nShutting down Simulation: 3000\nNRPCoreSim execution time: 2000000\n",
            Read("experiment_stats"));
        Assert.Null(logs.Failure);
    }

    [Fact]
    public void AFolderOfThatNameAlready_ThereOrALinkPlantedByTheExperiment_IsLeftAlone_AndAnotherNameIsUsed()
    {
        using var temp = new TempDirectory("timelogs-link");
        var elsewhere = Directory.CreateDirectory(temp.Combine("elsewhere")).FullName;
        var simulation = Directory.CreateDirectory(temp.Combine("simulation")).FullName;
        File.CreateSymbolicLink(Path.Combine(simulation, "time_logs"), elsewhere);
        Directory.CreateDirectory(Path.Combine(simulation, "time_logs-2", "run"));
        Directory.CreateDirectory(Path.Combine(simulation, "time_logs-2", "run-2"));

        var logs = TimeLogs.Create(simulation, "run", origin: 0, cycles: true, initialization: TimeSpan.Zero);
        logs.WriteCycle(1000, 1000, 2000, 3000, 4000, 5000);
        logs.Finish(shutdown: null, total: TimeSpan.Zero);

        // A link named time_logs is not followed; folders of that name already there are not written into.
        Assert.Equal("time_logs-2/run-3", logs.Name);
        Assert.Empty(Directory.GetFileSystemEntries(elsewhere));
        Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(simulation, "time_logs-2", "run")));
        Assert.Equal("4\n", File.ReadAllText(Path.Combine(simulation, "time_logs-2", "run-3", "step_duration.log")));
    }

    [Fact]
    public void AFolderThatCannotBeMade_StopsTheFiles_AndSaysWhy_WithoutThrowing()
    {
        using var temp = new TempDirectory("timelogs-file");
        var blocked = temp.Combine("not-a-folder");
        File.WriteAllText(blocked, "x");

        var logs = TimeLogs.Create(blocked, "run", origin: 0, cycles: true, initialization: TimeSpan.Zero);
        logs.WriteCycle(1, 1, 2, 3, 4, 5);
        logs.WriteRun(1000);
        logs.Finish(shutdown: null, total: TimeSpan.FromSeconds(1));

        Assert.NotNull(logs.Failure);
    }

    [Fact]
    public void CycleRings_ForExperimentsWithVeryManyFunctions_StayBounded()
    {
        Assert.Equal(StepProfiler.RingRecords, StepProfiler.RecordsFor(7));
        var records = StepProfiler.RecordsFor(100_000);
        Assert.True(records >= 16 && (records & (records - 1)) == 0);
        Assert.True((long)StepProfiler.RecordsFor(20_000) * 20_000 * 8 <= 32L * 1024 * 1024);
    }
}
