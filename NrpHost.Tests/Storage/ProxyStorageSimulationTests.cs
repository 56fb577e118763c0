using System.IO.Compression;
using NrpHost.Simulation;
using NrpHost.Tests.Infrastructure;

namespace NrpHost.Tests.Storage;

/// <summary>
/// Simulations whose experiments come from the NRP Storage Proxy (a stand-in over real HTTP): a Core host configured
/// with <c>NrpHost:Storage:ProxyUrl</c> stages from the proxy at creation and uploads the log archive at stop.
/// </summary>
[Collection(PythonCollection.Name)]
public sealed class ProxyStorageSimulationTests : IAsyncLifetime
{
    private FakeStorageProxy _proxy = null!;

    public async Task InitializeAsync() => _proxy = await FakeStorageProxy.StartAsync();

    public async Task DisposeAsync() => await _proxy.DisposeAsync();

    private CoreHost Host(Action<Dictionary<string, string?>>? configure = null) => new(configure: s =>
    {
        s["NrpHost:Storage:ProxyUrl"] = _proxy.Url;
        s["NrpHost:Storage:RetryDelayMilliseconds"] = "10";
        configure?.Invoke(s);
    });

    private static SimulationRequest Request(string experiment = "exp", string? token = FakeStorageProxy.Token) =>
        new(experiment) { Token = token };

    [Fact]
    public async Task CreateAndStop_StagesFromTheProxy_AndUploadsTheLogArchiveWithTheCreationToken()
    {
        _proxy.Experiment().WithFile("assets/model.sdf", "<sdf/>").Build();
        await using var host = Host();
        var mark = host.Logs.Mark;

        var created = await host.Manager.CreateAsync(Request());

        Assert.Equal(CreateSimulationStatus.Ready, created.Status);
        Assert.Equal(SimulationState.Paused, created.Simulation!.State);
        var directory = ((SimulationManager)host.Manager).DirectoryOf(created.Simulation.Id)!;
        Assert.Equal("<sdf/>", File.ReadAllText(Path.Combine(directory, "assets", "model.sdf")));
        Assert.Contains(_proxy.Requests, r => r.RawPath == "/storage/exp%2Fassets");

        var stop = await host.Manager.RequestStateAsync(created.Simulation.Id, SimulationState.Stopped);

        Assert.Equal(StateChangeStatus.Changed, stop.Status);
        var upload = Assert.Single(_proxy.RequestsTo("POST", "/storage/exp/"));
        Assert.EndsWith($"_simulation_0_{host.HostId}.log.zip", upload.RawPath, StringComparison.Ordinal);
        Assert.Equal("Bearer " + FakeStorageProxy.Token, upload.Authorization);
        Assert.Equal("application/octet-stream", upload.ContentType);
        var archive = Assert.Single(Directory.GetFiles(Path.Combine(_proxy.Root, "exp"), "*_simulation_0_*.log.zip"));
        using (ZipFile.OpenRead(archive))
        {
            // A readable zip: the bytes arrived as sent.
        }

        Assert.False(Directory.Exists(Path.Combine(host.WorkDirectory, "unsent-logs")));
        Assert.DoesNotContain(host.Logs.Since(mark), e => e.Message.Contains(FakeStorageProxy.Token, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Stop_UploadFails_StillStops_AndKeepsTheArchiveInTheUnsentLogsDirectory()
    {
        _proxy.Experiment().Build();
        await using var host = Host(s => s["NrpHost:Storage:UnsentLogsDirectory"] = Path.Combine(s["NrpHost:Simulation:WorkDirectory"]!, "..", "kept"));
        var created = await host.Manager.CreateAsync(Request());
        Assert.Equal(CreateSimulationStatus.Ready, created.Status);
        _proxy.Inject(ProxyFault.WithStatus(503), r => r.Method == "POST", times: 10);

        var stop = await host.Manager.RequestStateAsync(created.Simulation!.Id, SimulationState.Stopped);

        Assert.Equal(StateChangeStatus.Changed, stop.Status);
        Assert.Equal(SimulationState.Stopped, host.Manager.Find(created.Simulation.Id)!.State);
        Assert.Single(_proxy.RequestsTo("POST", "/storage/exp/"));
        Assert.Single(Directory.GetFiles(Path.Combine(host.Scratch, "kept"), "*_simulation_0_*.log.zip"));
        await host.WaitForLogAsync(created.Simulation.Id, e => e.Message.Contains("could not be uploaded", StringComparison.Ordinal) &&
                                                               e.Message.Contains("503", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Create_ProxyHangs_FailsWithStorageUnavailableNamingTheProxy()
    {
        _proxy.Experiment().Build();
        _proxy.HangAll = true;
        await using var host = Host(s =>
        {
            s["NrpHost:Storage:TimeoutSeconds"] = "1";
            s["NrpHost:Storage:AttemptTimeoutSeconds"] = "0.4";
        });

        var created = await host.Manager.CreateAsync(Request()).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(CreateSimulationStatus.Failed, created.Status);
        Assert.Equal(SimulationFault.StorageUnavailable, created.Fault);
        Assert.Contains(_proxy.Url, created.Message, StringComparison.Ordinal);
        Assert.Equal(SimulationState.Failed, created.Simulation!.State);
    }

    [Theory]
    [InlineData("expired", SimulationFault.Unauthorized)]
    [InlineData(null, SimulationFault.Unauthorized)]
    [InlineData(FakeStorageProxy.Token, SimulationFault.Forbidden)]
    public async Task Create_RefusedByTheProxy_FailsWithTheMatchingFault(string? token, SimulationFault fault)
    {
        _proxy.Experiment().Build();
        _proxy.SharedWith["exp"] = ["someone-else"];
        await using var host = Host();

        var created = await host.Manager.CreateAsync(Request(token: token));

        Assert.Equal(CreateSimulationStatus.Failed, created.Status);
        Assert.Equal(fault, created.Fault);
    }

    [Fact]
    public async Task Create_TraversalNameFromTheProxy_FailsWithAClearMessage_AndWritesNothingOutside()
    {
        _proxy.Experiment().Build();
        _proxy.ExtraEntries["exp"] = [new { name = "../../escaped.py", uuid = "exp/../../escaped.py", size = 1, type = "file" }];
        await using var host = Host();

        var created = await host.Manager.CreateAsync(Request());

        Assert.Equal(CreateSimulationStatus.Failed, created.Status);
        Assert.Equal(SimulationFault.Initialization, created.Fault);
        Assert.Contains("'../../escaped.py'", created.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(host.Scratch, "escaped.py", SearchOption.AllDirectories));
    }
}
