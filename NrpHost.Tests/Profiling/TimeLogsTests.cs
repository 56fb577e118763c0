using NrpHost.Profiling;
using NrpHost.Tests.Infrastructure;

namespace NrpHost.Tests.Profiling;

public sealed class TimeLogsTests
{
    [Fact]
    public void Cycles_AreWrittenInNrpCoresUnits_OneLinePerFile_AndStatsAtTheEnd()
    {
        using var temp = new TempDirectory("timelogs");
        var logs = TimeLogs.Create(temp.Path, "time_logs1", origin: 1_000_000, cycles: true);
        logs.WriteCycle(3_000_000, 3_000_000, 3_004_999, 3_010_000, 3_012_000, 3_020_500);
        logs.Finish([("experiment initialization time", TimeSpan.FromMilliseconds(1.5)), ("experiment total time", TimeSpan.FromSeconds(2))]);

        string Read(string file) => File.ReadAllText(Path.Combine(temp.Path, "time_logs1", file + ".log"));
        Assert.Equal("2000\n", Read("step_start"));
        Assert.Equal("2000\n", Read("after_wait_for_engines"));
        Assert.Equal("2004\n", Read("after_get_datapacks"));
        Assert.Equal("2010\n", Read("after_run_tfs"));
        Assert.Equal("2012\n", Read("after_send_datapacks"));
        Assert.Equal("2020\n", Read("after_restart_engines"));
        Assert.Equal("20\n", Read("step_duration"));
        Assert.Equal("experiment initialization time 1500\nexperiment total time 2000000\n", Read("experiment_stats"));
        Assert.Null(logs.Failure);
    }

    [Fact]
    public void AFolderOfThatNameAlready_ThereOrALinkPlantedByTheExperiment_IsLeftAlone_AndAnotherNameIsUsed()
    {
        using var temp = new TempDirectory("timelogs-link");
        var elsewhere = Directory.CreateDirectory(temp.Combine("elsewhere")).FullName;
        var simulation = Directory.CreateDirectory(temp.Combine("simulation")).FullName;
        File.CreateSymbolicLink(Path.Combine(simulation, "time_logs1"), elsewhere);
        Directory.CreateDirectory(Path.Combine(simulation, "time_logs1-2"));

        var logs = TimeLogs.Create(simulation, "time_logs1", origin: 0, cycles: true);
        logs.WriteCycle(1000, 1000, 2000, 3000, 4000, 5000);
        logs.Finish([]);

        Assert.Equal("time_logs1-3", logs.Name);
        Assert.Empty(Directory.GetFileSystemEntries(elsewhere));
        Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(simulation, "time_logs1-2")));
        Assert.Equal("4\n", File.ReadAllText(Path.Combine(simulation, "time_logs1-3", "step_duration.log")));
    }

    [Fact]
    public void AFolderThatCannotBeMade_StopsTheFiles_AndSaysWhy_WithoutThrowing()
    {
        using var temp = new TempDirectory("timelogs-file");
        var blocked = temp.Combine("not-a-folder");
        File.WriteAllText(blocked, "x");

        var logs = TimeLogs.Create(blocked, "time_logs1", origin: 0, cycles: true);
        logs.WriteCycle(1, 1, 2, 3, 4, 5);
        logs.Finish([("experiment total time", TimeSpan.FromSeconds(1))]);

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
