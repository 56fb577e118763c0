using System.IO.Compression;
using NrpHost.Tests.Infrastructure;

namespace NrpHost.Tests.Api;

/// <summary>The README's several-hosts deployment (<see cref="HostGroup"/>) with its storage behind the (fake) NRP Storage Proxy.</summary>
[Collection(SeveralHostsCollection.Name)]
public sealed class SeveralHostsProxyTests(ProxyHostGroup group) : IClassFixture<ProxyHostGroup>
{
    [Fact]
    public async Task SimultaneousStopsOfSimulationZero_UploadOneArchivePerHost_ThroughTheProxyUploadRoute()
    {
        var created = await group.CreateOnEveryHostAsync();
        Assert.All(created, c => Assert.Equal(0, c.GetProperty("simulationID").GetInt32()));

        Assert.All(await group.PutStateOnEveryHostAsync(0, "stopped"), s => Assert.Equal("stopped", s));

        const string route = "/storage/" + HostGroup.Experiment + "/";
        var uploads = group.Proxy.RequestsTo("POST", route).Select(r => Uri.UnescapeDataString(r.RawPath[route.Length..])).ToList();
        Assert.True(uploads.Count == 3, string.Join(", ", uploads));
        var folder = Path.Combine(group.Proxy.Root, HostGroup.Experiment);
        foreach (var host in group.Hosts)
        {
            using var zip = ZipFile.OpenRead(Path.Combine(folder, HostGroup.ArchiveOf(host, 0, uploads)));
            Assert.Contains(zip.Entries, e => e.FullName == "simulation_0.log");
        }

        Assert.Equal(uploads.Order(), Directory.GetFiles(folder, "*.log.zip").Select(f => Path.GetFileName(f)).Order());
    }
}
