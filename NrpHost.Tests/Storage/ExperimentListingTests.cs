using System.Diagnostics;
using Microsoft.Extensions.Options;
using NrpHost.Storage;
using NrpHost.Tests.Infrastructure;

namespace NrpHost.Tests.Storage;

/// <summary>
/// <see cref="IExperimentStorage.ListAsync"/>: local folders, and the NRP Storage Proxy's <c>/storage/experiments</c>
/// (a stand-in over real HTTP) with the caller's token.
/// </summary>
public sealed class ExperimentListingTests : IAsyncLifetime
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);
    private readonly TempDirectory _root = new("listing");
    private FakeStorageProxy _proxy = null!;

    public async Task InitializeAsync() => _proxy = await FakeStorageProxy.StartAsync();

    public async Task DisposeAsync()
    {
        await _proxy.DisposeAsync();
        _root.Dispose();
    }

    private LocalExperimentStorage Local() => new(Options.Create(new LocalStorageOptions { LocalRoot = _root.Path }));

    private ExperimentBuilder Experiment(string name) => new(_root.Path, name);

    private static string Config(string? name = null, string? description = null) =>
        System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["SimulationName"] = name,
            ["SimulationDescription"] = description,
            ["SimulationTimeout"] = 1,
            ["EngineConfigs"] = Array.Empty<object>(),
        });

    [Fact]
    public async Task Local_ListsEveryExperimentFolder_WithNameDescriptionAndConfigurations_InIdOrder()
    {
        Experiment("b_exp").WithConfig(raw: Config("Braitenberg vehicle", "  Steers towards light.  "))
            .WithFile("variant.json", Config("Variant"))
            .WithFile("a_variant.json", Config())
            .WithFile("engine_data.json", """{"weights": [1, 2, 3]}""")
            .Build();
        Experiment("a_exp").WithConfig(raw: """{"EngineConfigs": []}""").Build();

        var list = await Local().ListAsync(token: null).WaitAsync(Guard);

        Assert.Equal(["a_exp", "b_exp"], list.Select(e => e.Id));
        var a = list[0];
        Assert.Equal("a_exp", a.Name);
        Assert.Equal(string.Empty, a.Description);
        Assert.Equal(["simulation_config.json"], a.Configurations);
        var b = list[1];
        Assert.Equal("Braitenberg vehicle", b.Name);
        Assert.Equal("Steers towards light.", b.Description);
        Assert.Equal(["simulation_config.json", "a_variant.json", "variant.json"], b.Configurations);
    }

    [Fact]
    public async Task Local_LeavesOutFoldersWithoutConfiguration_HiddenFolders_AndNamesThatCannotBeIds()
    {
        Experiment("good").Build();
        Directory.CreateDirectory(_root.Combine("logs_only"));
        File.WriteAllText(_root.Combine("logs_only", "old.log"), "x");
        Experiment(".hidden").Build();
        Experiment("has space ok").Build();
        Experiment("only_other_json").WithConfig(raw: "{}").Build();
        File.Delete(_root.Combine("only_other_json", "simulation_config.json"));
        File.WriteAllText(_root.Combine("only_other_json", "data.json"), "[1, 2]");
        File.WriteAllText(_root.Combine("not_a_folder.json"), Config());

        var list = await Local().ListAsync(token: null).WaitAsync(Guard);

        Assert.Equal(["good", "has space ok"], list.Select(e => e.Id));
    }

    [Fact]
    public async Task Local_AnUnreadableDefaultConfiguration_IsStillListed_UnderTheFolderName()
    {
        Experiment("broken").WithConfig(raw: "{ not json").Build();
        Experiment("huge").WithConfig(raw: "{\"SimulationName\": \"" + new string('x', 2 * 1024 * 1024) + "\"}").Build();
        Experiment("long_name").WithConfig(raw: Config(new string('n', 5000))).Build();

        var list = await Local().ListAsync(token: null).WaitAsync(Guard);

        Assert.Equal(["broken", "huge", "long_name"], list.Select(e => e.Id));
        Assert.Equal("broken", list[0].Name);
        Assert.Equal(["simulation_config.json"], list[0].Configurations);
        Assert.Equal("huge", list[1].Name);
        Assert.Equal(2000, list[2].Name.Length);
    }

    [Fact]
    public async Task Local_NeverOpensAFifoOrFollowsALinkNamedLikeAConfiguration()
    {
        Experiment("exp").Build();
        var fifo = _root.Combine("exp", "blocking.json");
        using (var mkfifo = Process.Start("mkfifo", [fifo]))
        {
            await mkfifo.WaitForExitAsync();
            Assert.Equal(0, mkfifo.ExitCode);
        }

        var outside = _root.Combine("outside.json");
        File.WriteAllText(outside, Config("Outside"));
        File.CreateSymbolicLink(_root.Combine("exp", "linked.json"), outside);

        // Opening the FIFO for reading would block until a writer comes: the guard turns that into a failure.
        var list = await Local().ListAsync(token: null).WaitAsync(Guard);

        var exp = Assert.Single(list);
        Assert.Equal(["simulation_config.json"], exp.Configurations);
        Assert.Equal("exp", exp.Name);
    }

    [Fact]
    public async Task Local_MissingRoot_IsAnEmptyList()
    {
        var storage = new LocalExperimentStorage(Options.Create(new LocalStorageOptions { LocalRoot = _root.Combine("absent") }));

        Assert.Empty(await storage.ListAsync(token: null).WaitAsync(Guard));
    }

    [Fact]
    public async Task Proxy_ListsWhatTheTokensUserMaySee_WithTheConfigurationsNameAndDescription()
    {
        _proxy.Experiment("mine").WithConfig(raw: Config("My experiment", "Mine only.")).Build();
        _proxy.Experiment("shared").Build();
        _proxy.Experiment("theirs").Build();
        _proxy.Users["token-of-bob"] = "bob";
        _proxy.SharedWith["mine"] = [FakeStorageProxy.User];
        _proxy.SharedWith["theirs"] = ["bob"];
        await using var host = new ProxyClientHost(_proxy.Url);

        var list = await host.Storage.ListAsync(FakeStorageProxy.Token).WaitAsync(Guard);

        Assert.Equal(["mine", "shared"], list.Select(e => e.Id));
        Assert.Equal("My experiment", list[0].Name);
        Assert.Equal("Mine only.", list[0].Description);
        Assert.Equal(["simulation_config.json"], list[0].Configurations);
        Assert.Equal("shared", list[1].Name);
        var request = Assert.Single(_proxy.RequestsTo("GET", "/storage/experiments"));
        Assert.Equal("Bearer " + FakeStorageProxy.Token, request.Authorization);
        Assert.Equal(string.Empty, request.Query);
    }

    [Fact]
    public async Task Proxy_CorruptedConfiguration_KeepsTheProxysName()
    {
        _proxy.Experiment("broken").WithConfig(raw: "{ not json").Build();
        await using var host = new ProxyClientHost(_proxy.Url);

        var list = await host.Storage.ListAsync(FakeStorageProxy.Token).WaitAsync(Guard);

        Assert.Equal("Experiment with corrupted simulation_config.json", Assert.Single(list).Name);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("unknown-token")]
    public async Task Proxy_NoOrUnknownToken_IsUnauthorized(string? token)
    {
        _proxy.Experiment("exp").Build();
        await using var host = new ProxyClientHost(_proxy.Url);

        var error = await Assert.ThrowsAsync<ExperimentStorageException>(() => host.Storage.ListAsync(token).WaitAsync(Guard));

        Assert.Equal(ExperimentStorageError.Unauthorized, error.Error);
        Assert.Equal("Bearer " + (token ?? "no_token"), Assert.Single(_proxy.RequestsTo("GET", "/storage/experiments")).Authorization);
    }

    [Fact]
    public async Task Proxy_Failing_IsUnavailable_NamingTheProxy()
    {
        await using var host = new ProxyClientHost(_proxy.Url);
        _proxy.Inject(ProxyFault.WithStatus(503), times: 10);

        var error = await Assert.ThrowsAsync<ExperimentStorageException>(() => host.Storage.ListAsync(FakeStorageProxy.Token).WaitAsync(Guard));

        Assert.Equal(ExperimentStorageError.Unavailable, error.Error);
        Assert.Contains(_proxy.Url, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"experiments": []}""")]
    [InlineData("""[{"id": "ok"}""")]
    [InlineData("not json at all")]
    public async Task Proxy_AnswerThatIsNotAList_IsUnavailable(string answer)
    {
        _proxy.ExperimentsAnswer = answer;
        await using var host = new ProxyClientHost(_proxy.Url);

        var error = await Assert.ThrowsAsync<ExperimentStorageException>(() => host.Storage.ListAsync(FakeStorageProxy.Token).WaitAsync(Guard));

        Assert.Equal(ExperimentStorageError.Unavailable, error.Error);
    }

    [Fact]
    public async Task Proxy_HostileEntries_AreLeftOut_AndOddFieldsFallBack()
    {
        _proxy.ExperimentsAnswer = """
            [
              {"id": "../../etc", "name": "escape"},
              {"id": "a/b"},
              {"id": 42},
              "just a string",
              null,
              {"name": "no id"},
              {"id": "plain", "configuration": {"SimulationName": 7, "SimulationDescription": ["x"], "configFile": "../outside.json"}},
              {"id": "named", "configuration": {"SimulationName": "Named", "configFile": "other_config.json"}}
            ]
            """;
        await using var host = new ProxyClientHost(_proxy.Url);

        var list = await host.Storage.ListAsync(FakeStorageProxy.Token).WaitAsync(Guard);

        Assert.Equal(["named", "plain"], list.Select(e => e.Id));
        Assert.Equal("Named", list[0].Name);
        Assert.Equal(["other_config.json"], list[0].Configurations);
        Assert.Equal("plain", list[1].Name);
        Assert.Equal(string.Empty, list[1].Description);
        Assert.Equal(["simulation_config.json"], list[1].Configurations);
    }
}
