using System.Text;
using NrpHost.Storage;
using NrpHost.Tests.Infrastructure;

namespace NrpHost.Tests.Storage;

/// <summary>Staging and upload against a proxy stand-in over real HTTP (reference nrp-peers §7, P03–P11, P16).</summary>
public sealed class ProxyExperimentStorageTests : IAsyncLifetime
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(60);
    private readonly TempDirectory _target = new("stage");
    private FakeStorageProxy _proxy = null!;

    private string Target => _target.Combine("sim");

    public async Task InitializeAsync()
    {
        _proxy = await FakeStorageProxy.StartAsync();
        Directory.CreateDirectory(Target);
    }

    public async Task DisposeAsync()
    {
        await _proxy.DisposeAsync();
        _target.Dispose();
    }

    private static ExperimentLocation Exp(string id = "exp_0", string? token = FakeStorageProxy.Token, string? contextId = null) =>
        new(id) { Token = token, ContextId = contextId };

    private void BuildNested() =>
        _proxy.Experiment("exp_0")
            .WithFile("assets/x.sdf", "<sdf/>")
            .WithFile("assets/meshes/deep/mesh.dae", "mesh")
            .WithFile("engine.py", "# engine")
            .Build();

    private async Task<ExperimentStorageException> StageFailsAsync(ProxyClientHost host, ExperimentLocation? location = null)
    {
        return await Assert.ThrowsAsync<ExperimentStorageException>(() =>
            host.Storage.StageAsync(location ?? Exp(), Target).WaitAsync(Guard));
    }

    [Fact]
    public async Task Stage_ClonesTheTreeByNameAndFolderUuid_P03ToP06()
    {
        BuildNested();
        await using var host = new ProxyClientHost(_proxy.Url);

        await host.Storage.StageAsync(Exp(), Target).WaitAsync(Guard);

        Assert.Equal("<sdf/>", File.ReadAllText(Path.Combine(Target, "assets", "x.sdf")));
        Assert.Equal("mesh", File.ReadAllText(Path.Combine(Target, "assets", "meshes", "deep", "mesh.dae")));
        Assert.Equal(File.ReadAllText(Path.Combine(_proxy.Root, "exp_0", "main_script.py")), File.ReadAllText(Path.Combine(Target, "main_script.py")));
        Assert.True(File.Exists(Path.Combine(Target, "simulation_config.json")));

        // P03 root by name, P04 sub-folders by their %2F-encoded uuid, P05/P06 downloads by name.
        Assert.Single(_proxy.Requests, r => r.RawPath == "/storage/exp_0");
        Assert.Single(_proxy.Requests, r => r.RawPath == "/storage/exp_0%2Fassets");
        Assert.Single(_proxy.Requests, r => r.RawPath == "/storage/exp_0%2Fassets%2Fmeshes%2Fdeep");
        Assert.Single(_proxy.Requests, r => r.RawPath == "/storage/exp_0/main_script.py" && r.Query == "?byname=true");
        Assert.Single(_proxy.Requests, r => r.RawPath == "/storage/exp_0%2Fassets/x.sdf" && r.Query == "?byname=true");
    }

    [Fact]
    public async Task Stage_LeavesOutTopLevelLogsAndCaches_AndSwapFilesEverywhere()
    {
        _proxy.Experiment("exp_0")
            .WithFile("old.log", "x")
            .WithFile("2024-01-01_12-00-00_simulation_0.log.zip", "x")
            .WithFile("logs/a.txt", "x")
            .WithFile("__pycache__/m.pyc", "x")
            .WithFile(".main_script.py.swp", "x")
            .WithFile("sub/kept.log", "kept")
            .WithFile("sub/.x.swp", "x")
            .Build();
        await using var host = new ProxyClientHost(_proxy.Url);

        await host.Storage.StageAsync(Exp(), Target).WaitAsync(Guard);

        var staged = Directory.EnumerateFileSystemEntries(Target, "*", SearchOption.AllDirectories)
            .Select(p => Path.GetRelativePath(Target, p).Replace('\\', '/')).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(["main_script.py", "simulation_config.json", "sub", "sub/kept.log"], staged);
        Assert.DoesNotContain(_proxy.Requests, r => r.RawPath.Contains("logs", StringComparison.Ordinal) || r.RawPath.Contains("pycache", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Stage_SendsTheCallersBearerTokenOnEveryCall()
    {
        BuildNested();
        await using var host = new ProxyClientHost(_proxy.Url);

        await host.Storage.StageAsync(Exp(), Target).WaitAsync(Guard);

        Assert.NotEmpty(_proxy.Requests);
        Assert.All(_proxy.Requests, r => Assert.Equal("Bearer " + FakeStorageProxy.Token, r.Authorization));
    }

    [Fact]
    public async Task Stage_WithoutToken_SendsNoTokenSentinel_AndIsUnauthorized()
    {
        BuildNested();
        await using var host = new ProxyClientHost(_proxy.Url);

        var error = await StageFailsAsync(host, Exp(token: null));

        Assert.Equal(ExperimentStorageError.Unauthorized, error.Error);
        Assert.Equal("Bearer no_token", _proxy.Requests.Single().Authorization);
    }

    [Fact]
    public async Task Stage_UnknownToken477_IsUnauthorized_P10()
    {
        BuildNested();
        await using var host = new ProxyClientHost(_proxy.Url);

        var error = await StageFailsAsync(host, Exp(token: "expired"));

        Assert.Equal(ExperimentStorageError.Unauthorized, error.Error);
        Assert.Contains("477", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Stage_ExperimentNotSharedOrUnknown403_IsForbidden_P08()
    {
        BuildNested();
        _proxy.SharedWith["exp_0"] = ["someone-else"];
        await using var host = new ProxyClientHost(_proxy.Url);

        var notShared = await StageFailsAsync(host);
        var unknown = await StageFailsAsync(host, Exp("no_such_experiment"));

        Assert.Equal(ExperimentStorageError.Forbidden, notShared.Error);
        Assert.Equal(ExperimentStorageError.Forbidden, unknown.Error);
        Assert.Contains("exp_0", notShared.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Stage_NotFound404_IsNotFound()
    {
        BuildNested();
        _proxy.Inject(ProxyFault.WithStatus(404));
        await using var host = new ProxyClientHost(_proxy.Url);

        var error = await StageFailsAsync(host);

        Assert.Equal(ExperimentStorageError.NotFound, error.Error);
    }

    [Fact]
    public async Task Stage_MissingFileAnswered204_FailsNamingTheFile_AndWritesNoEmptyFile_P07()
    {
        BuildNested();
        _proxy.ExtraEntries["exp_0/assets"] = [new { name = "ghost.sdf", uuid = "exp_0/assets/ghost.sdf", size = 3, type = "file" }];
        await using var host = new ProxyClientHost(_proxy.Url);

        var error = await StageFailsAsync(host);

        Assert.Equal(ExperimentStorageError.FileMissing, error.Error);
        Assert.Contains("assets/ghost.sdf", error.Message, StringComparison.Ordinal);
        Assert.Contains("204", error.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(Target, "assets", "ghost.sdf")));
    }

    [Theory]
    [InlineData("../x", "file")]
    [InlineData("/etc/x", "file")]
    [InlineData("a/../../b", "file")]
    [InlineData("..\\x", "file")]
    [InlineData("..", "folder")]
    [InlineData("../../escape", "folder")]
    [InlineData("/tmp", "folder")]
    [InlineData("C:\\x", "file")]
    public async Task Stage_TraversalNameInListing_IsRefusedAndNothingIsWrittenOutside(string name, string type)
    {
        _proxy.Experiment("exp_0").Build();
        _proxy.ExtraEntries["exp_0"] = [new { name, uuid = "exp_0/" + name, size = 1, type }];
        await using var host = new ProxyClientHost(_proxy.Url);
        var before = Directory.EnumerateFileSystemEntries(_target.Path, "*", SearchOption.AllDirectories).ToArray();

        var error = await StageFailsAsync(host);

        Assert.Equal(ExperimentStorageError.InvalidPath, error.Error);
        Assert.Contains($"'{name}'", error.Message, StringComparison.Ordinal);
        var outside = Directory.EnumerateFileSystemEntries(_target.Path, "*", SearchOption.AllDirectories)
            .Where(p => !p.StartsWith(Target + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            .Except(before);
        Assert.Empty(outside);
        Assert.DoesNotContain(_proxy.Requests, r => r.Query.Contains("byname", StringComparison.Ordinal) && r.RawPath.EndsWith("/x", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Stage_TraversalNameInNestedListing_IsRefused()
    {
        BuildNested();
        _proxy.ExtraEntries["exp_0/assets"] = [new { name = "../../../outside.txt", uuid = "exp_0/assets/../../../outside.txt", size = 1, type = "file" }];
        await using var host = new ProxyClientHost(_proxy.Url);

        var error = await StageFailsAsync(host);

        Assert.Equal(ExperimentStorageError.InvalidPath, error.Error);
        Assert.Contains("folder 'assets'", error.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(_target.Combine("outside.txt")));
    }

    [Theory]
    [InlineData("../exp")]
    [InlineData("a/b")]
    [InlineData("")]
    public async Task Stage_ExperimentIdThatIsNotOneName_IsRefusedWithoutCallingTheProxy(string experimentId)
    {
        await using var host = new ProxyClientHost(_proxy.Url);

        var error = await StageFailsAsync(host, Exp(experimentId));

        Assert.Equal(ExperimentStorageError.InvalidPath, error.Error);
        Assert.Empty(_proxy.Requests);
    }

    [Fact]
    public async Task Stage_Transient503ThenSuccess_IsRetried()
    {
        BuildNested();
        _proxy.Inject(ProxyFault.WithStatus(503), r => r.RawPath == "/storage/exp_0");
        await using var host = new ProxyClientHost(_proxy.Url);

        await host.Storage.StageAsync(Exp(), Target).WaitAsync(Guard);

        Assert.Equal(2, _proxy.Requests.Count(r => r.RawPath == "/storage/exp_0"));
        Assert.True(File.Exists(Path.Combine(Target, "assets", "x.sdf")));
    }

    [Fact]
    public async Task Stage_DroppedConnectionDuringDownload_IsRetried()
    {
        BuildNested();
        _proxy.Inject(ProxyFault.DropConnection, r => r.RawPath == "/storage/exp_0/engine.py");
        await using var host = new ProxyClientHost(_proxy.Url);

        await host.Storage.StageAsync(Exp(), Target).WaitAsync(Guard);

        Assert.Equal(2, _proxy.Requests.Count(r => r.RawPath == "/storage/exp_0/engine.py"));
        Assert.Equal("# engine", File.ReadAllText(Path.Combine(Target, "engine.py")));
    }

    [Fact]
    public async Task Stage_PersistentServerError_IsUnavailableNamingTheProxy_AfterTheConfiguredRetries()
    {
        BuildNested();
        _proxy.Inject(ProxyFault.WithStatus(500), times: 100);
        await using var host = new ProxyClientHost(_proxy.Url, s => s["NrpHost:Storage:MaxRetries"] = "2");

        var error = await StageFailsAsync(host);

        Assert.Equal(ExperimentStorageError.Unavailable, error.Error);
        Assert.Contains(_proxy.Url, error.Message, StringComparison.Ordinal);
        Assert.Contains("500", error.Message, StringComparison.Ordinal);
        Assert.Equal(3, _proxy.Requests.Count);
    }

    [Fact]
    public async Task Stage_HungProxy_FailsWithUnavailableAfterTheConfiguredTimeout()
    {
        BuildNested();
        _proxy.HangAll = true;
        await using var host = new ProxyClientHost(_proxy.Url, s =>
        {
            s["NrpHost:Storage:TimeoutSeconds"] = "1";
            s["NrpHost:Storage:AttemptTimeoutSeconds"] = "0.4";
        });

        var error = await StageFailsAsync(host);

        Assert.Equal(ExperimentStorageError.Unavailable, error.Error);
        Assert.Contains(_proxy.Url, error.Message, StringComparison.Ordinal);
        Assert.Contains("did not answer within 1 s", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Stage_ProxyNotListening_IsUnavailableNamingTheProxy()
    {
        BuildNested();
        var url = _proxy.Url;
        await _proxy.DisposeAsync();
        _proxy = await FakeStorageProxy.StartAsync();
        await using var host = new ProxyClientHost(url, s => s["NrpHost:Storage:MaxRetries"] = "0");

        var error = await StageFailsAsync(host);

        Assert.Equal(ExperimentStorageError.Unavailable, error.Error);
        Assert.Contains(url, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Stage_CancelledByTheCaller_ThrowsOperationCanceled()
    {
        BuildNested();
        _proxy.HangAll = true;
        await using var host = new ProxyClientHost(_proxy.Url);
        using var cancel = new CancellationTokenSource();

        var staging = host.Storage.StageAsync(Exp(), Target, cancel.Token);
        await _proxy.WaitForRequestAsync();
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => staging.WaitAsync(Guard));
    }

    [Fact]
    public async Task Stage_ThroughHaproxyStyleBase_ReachesTheProxyRoutes_P16()
    {
        await _proxy.DisposeAsync();
        _proxy = await FakeStorageProxy.StartAsync(behindHaproxy: true);
        BuildNested();
        await using var host = new ProxyClientHost(_proxy.Url + "/storage");

        await host.Storage.StageAsync(Exp(), Target).WaitAsync(Guard);

        Assert.True(File.Exists(Path.Combine(Target, "assets", "x.sdf")));
        Assert.Contains(_proxy.Requests, r => r.RawPath == "/storage/storage/exp_0%2Fassets");
    }

    [Fact]
    public async Task Upload_PostsOctetStreamWithTheSavedToken_ByteIdentical_P11()
    {
        _proxy.Experiment("exp_0").Build();
        await using var host = new ProxyClientHost(_proxy.Url);
        var bytes = Enumerable.Range(0, 70_000).Select(i => (byte)(i * 7)).ToArray();

        await host.Storage.UploadAsync(Exp(), "2024-01-01_12-00-00_simulation_0.log.zip", new MemoryStream(bytes)).WaitAsync(Guard);

        Assert.Equal(bytes, File.ReadAllBytes(Path.Combine(_proxy.Root, "exp_0", "2024-01-01_12-00-00_simulation_0.log.zip")));
        var post = Assert.Single(_proxy.RequestsTo("POST", "/storage/exp_0/"));
        Assert.Equal("/storage/exp_0/2024-01-01_12-00-00_simulation_0.log.zip", post.RawPath);
        Assert.Equal("application/octet-stream", post.ContentType);
        Assert.Equal("Bearer " + FakeStorageProxy.Token, post.Authorization);
    }

    [Fact]
    public async Task Upload_FailureIsNotRetried_AndIsUnavailable()
    {
        _proxy.Experiment("exp_0").Build();
        _proxy.Inject(ProxyFault.WithStatus(503), r => r.Method == "POST", times: 10);
        await using var host = new ProxyClientHost(_proxy.Url);

        var error = await Assert.ThrowsAsync<ExperimentStorageException>(() =>
            host.Storage.UploadAsync(Exp(), "a.log.zip", new MemoryStream(Encoding.UTF8.GetBytes("zip"))).WaitAsync(Guard));

        Assert.Equal(ExperimentStorageError.Unavailable, error.Error);
        Assert.Single(_proxy.RequestsTo("POST", "/storage/"));
    }

    [Fact]
    public async Task Upload_NameAlreadyInTheExperiment_TakesTheNextFreeSuffix_AndReplacesNothing()
    {
        _proxy.Experiment("exp_0")
            .WithFile("2024-01-01_12-00-00_simulation_0_lab.log.zip", "first")
            .WithFile("2024-01-01_12-00-00_simulation_0_lab_1.log.zip", "second")
            .Build();
        await using var host = new ProxyClientHost(_proxy.Url);

        var stored = await host.Storage.UploadAsync(Exp(), "2024-01-01_12-00-00_simulation_0_lab.log.zip", new MemoryStream("third"u8.ToArray())).WaitAsync(Guard);

        Assert.Equal("2024-01-01_12-00-00_simulation_0_lab_2.log.zip", stored);
        var folder = Path.Combine(_proxy.Root, "exp_0");
        Assert.Equal("first", File.ReadAllText(Path.Combine(folder, "2024-01-01_12-00-00_simulation_0_lab.log.zip")));
        Assert.Equal("second", File.ReadAllText(Path.Combine(folder, "2024-01-01_12-00-00_simulation_0_lab_1.log.zip")));
        Assert.Equal("third", File.ReadAllText(Path.Combine(folder, stored)));
        Assert.Equal("/storage/exp_0/" + stored, Assert.Single(_proxy.RequestsTo("POST", "/storage/")).RawPath);
    }

    [Fact]
    public async Task Upload_ExperimentListingRefused_UploadsNothing()
    {
        _proxy.Experiment("exp_0").Build();
        _proxy.Inject(ProxyFault.WithStatus(403), r => r.Method == "GET" && r.RawPath == "/storage/exp_0");
        await using var host = new ProxyClientHost(_proxy.Url);

        var error = await Assert.ThrowsAsync<ExperimentStorageException>(() =>
            host.Storage.UploadAsync(Exp(), "a.log.zip", new MemoryStream([1, 2])).WaitAsync(Guard));

        Assert.Equal(ExperimentStorageError.Forbidden, error.Error);
        Assert.Empty(_proxy.RequestsTo("POST", "/storage/"));
        Assert.False(File.Exists(Path.Combine(_proxy.Root, "exp_0", "a.log.zip")));
    }

    [Fact]
    public async Task Upload_UnknownToken_IsUnauthorized()
    {
        _proxy.Experiment("exp_0").Build();
        await using var host = new ProxyClientHost(_proxy.Url);

        var error = await Assert.ThrowsAsync<ExperimentStorageException>(() =>
            host.Storage.UploadAsync(Exp(token: "expired"), "a.log.zip", new MemoryStream([1, 2])).WaitAsync(Guard));

        Assert.Equal(ExperimentStorageError.Unauthorized, error.Error);
        Assert.False(File.Exists(Path.Combine(_proxy.Root, "exp_0", "a.log.zip")));
    }
}
