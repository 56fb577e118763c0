using System.IO.Compression;
using System.Text.Json;
using NrpHost.Tests.Infrastructure;

namespace NrpHost.Tests.Simulation;

/// <summary>
/// A work directory on a small tmpfs that the script fills: no log is lost. The real server, over HTTP and its events
/// stream; the disk really runs out.
/// </summary>
public sealed class FullDiskTests
{
    /// <summary>Writes a log of its own, fills the disk it runs on, says so, and steps on until stopped.</summary>
    private static string FillingScript(string marker) => $$"""
        import os
        with open("mine.log", "w") as log:
            log.write("{{marker}}\n")
        fd = os.open("fill.bin", os.O_WRONLY | os.O_CREAT)
        try:
            while True:
                os.write(fd, b"\0" * 65536)
        except OSError as e:
            print("filled", e.errno)
        finally:
            os.close(fd)
        while True:
            nrp.run_loop()
        """;

    [TmpfsTheory]
    [InlineData("Process")]
    [InlineData("InProcess")]
    public async Task AFullDisk_KeepsTheSimulationDirectory_ReportsItInHealth_AndTheNextStartWithRoomArchivesIt(string isolation)
    {
        using var temp = new TempDirectory("full-disk");
        var (experiments, marker, settings) = Prepare(temp);
        using var disk = Tmpfs.Mount(settings["NrpHost:Simulation:WorkDirectory"], 4);
        settings["NrpHost:Simulation:Isolation"] = isolation;

        string kept;
        await using (var first = await ApiProcess.StartAsync(settings))
        {
            await RunUntilTheDiskIsFullAsync(first);
            Assert.Equal(0, disk.Free);

            // Stopping cannot write the archive: the directory and its claim stay, the log and /health say where.
            var stop = await first.SendAsync(HttpMethod.Put, "/simulation/0/state", """{"state":"stopped"}""");
            Assert.Equal(200, stop.Code);
            kept = Assert.Single(Directory.GetDirectories(disk.Path, "nrp.0.*"));
            Assert.True(File.Exists(Path.Combine(kept, "mine.log")));
            Assert.True(File.Exists(kept + ".json"));
            await first.WaitForOutputAsync($"its logs could not be archived");
            Assert.Contains(kept, first.Output, StringComparison.Ordinal);
            await AssertHealthKeepsAsync(first, kept);
            Assert.Empty(Directory.GetFiles(Path.Combine(experiments, "exp"), "*.zip"));
        }

        // A start while the disk is still full keeps it too, and says so.
        await using (var second = await ApiProcess.StartAsync(settings))
        {
            await second.WaitForOutputAsync("its logs could not be archived");
            await AssertHealthKeepsAsync(second, kept);
            Assert.True(Directory.Exists(kept));
        }

        // Space is back: the next start archives the logs into storage and removes the directory.
        disk.Resize(64);
        await using var third = await ApiProcess.StartAsync(settings);
        await third.WaitForOutputAsync("was left behind by an earlier process");
        Assert.False(Directory.Exists(kept));
        Assert.False(File.Exists(kept + ".json"));
        var archive = Assert.Single(Directory.GetFiles(Path.Combine(experiments, "exp"), "*_simulation_0_*.log.zip"));
        using (var zip = ZipFile.OpenRead(archive))
        using (var reader = new StreamReader(zip.GetEntry("mine.log")!.Open()))
        {
            Assert.Equal(marker + "\n", await reader.ReadToEndAsync());
        }

        var (code, health) = await third.SendAsync(HttpMethod.Get, "/health");
        Assert.Equal(200, code);
        Assert.Equal("healthy", health.GetProperty("checks").GetProperty("simulations").GetProperty("status").GetString());
    }

    [TmpfsFact]
    public async Task WithTheArchiveStagedElsewhere_AFullWorkDirectoryStillGetsItsLogsArchived()
    {
        using var temp = new TempDirectory("full-disk-staging");
        var (experiments, marker, settings) = Prepare(temp);
        using var disk = Tmpfs.Mount(settings["NrpHost:Simulation:WorkDirectory"], 4);
        settings["NrpHost:Simulation:ArchiveStagingDirectory"] = temp.Combine("staging");

        await using var host = await ApiProcess.StartAsync(settings);
        await RunUntilTheDiskIsFullAsync(host);
        Assert.Equal(0, disk.Free);

        Assert.Equal(200, (await host.SendAsync(HttpMethod.Put, "/simulation/0/state", """{"state":"stopped"}""")).Code);
        Assert.Empty(Directory.GetDirectories(disk.Path, "nrp.0.*"));
        var archive = Assert.Single(Directory.GetFiles(Path.Combine(experiments, "exp"), "*_simulation_0_*.log.zip"));
        using (var zip = ZipFile.OpenRead(archive))
        using (var reader = new StreamReader(zip.GetEntry("mine.log")!.Open()))
        {
            Assert.Equal(marker + "\n", await reader.ReadToEndAsync());
        }

        Assert.Empty(Directory.GetFiles(temp.Combine("staging")));
        var (_, health) = await host.SendAsync(HttpMethod.Get, "/health");
        Assert.Equal("healthy", health.GetProperty("checks").GetProperty("simulations").GetProperty("status").GetString());
    }

    /// <summary>An experiment whose script fills the disk after writing <c>Marker</c> to its own log, and the host's settings (its work directory is where the tmpfs goes).</summary>
    private static (string Experiments, string Marker, Dictionary<string, string> Settings) Prepare(TempDirectory temp)
    {
        var experiments = temp.Combine("experiments");
        var marker = "the script's own log " + Guid.NewGuid().ToString("N");
        ContainmentProcessTests.WriteExperiment(experiments, FillingScript(marker));
        return (experiments, marker, new Dictionary<string, string>
        {
            ["NrpHost:Storage:LocalRoot"] = experiments,
            ["NrpHost:Simulation:WorkDirectory"] = temp.Combine("work"),
        });
    }

    /// <summary>Creates and starts simulation 0 and waits, on its events stream, until the script says the disk is full.</summary>
    private static async Task RunUntilTheDiskIsFullAsync(ApiProcess host)
    {
        Assert.Equal(201, (await host.SendAsync(HttpMethod.Post, "/simulation", """{"experimentID":"exp"}""")).Code);
        await using var events = await EventStreamReader.OpenAsync(host.Client.BaseAddress!, 0);
        Assert.Equal(200, (await host.SendAsync(HttpMethod.Put, "/simulation/0/state", """{"state":"started"}""")).Code);
        var filled = await events.WaitForAsync(e => e.Name == "log" && e.Data.GetProperty("text").GetString()!.StartsWith("filled", StringComparison.Ordinal));
        Assert.Equal("filled 28", filled.Data.GetProperty("text").GetString()); // ENOSPC, not a limit of the host's
    }

    private static async Task AssertHealthKeepsAsync(ApiProcess host, string kept)
    {
        var (code, health) = await host.SendAsync(HttpMethod.Get, "/health");
        Assert.Equal(200, code);
        var simulations = health.GetProperty("checks").GetProperty("simulations");
        Assert.Equal("degraded", simulations.GetProperty("status").GetString());
        var description = simulations.GetProperty("description").GetString()!;
        Assert.Contains("the logs of simulation 0 could not be archived", description, StringComparison.Ordinal);
        Assert.Contains(Path.GetFileName(kept), description, StringComparison.Ordinal);
        Assert.DoesNotContain(Path.GetDirectoryName(kept)!, description, StringComparison.Ordinal);
    }
}
