using System.IO.Compression;
using NrpHost.Simulation;
using NrpHost.Tests.Infrastructure;

namespace NrpHost.Tests.Simulation;

/// <summary>
/// nrp-core runs everything with the experiment folder as the current directory: engine and function files at import,
/// engine initialize() and shutdown(), status functions, and the main script. So does NrpHost, from the client's
/// construction until its shutdown has finished; and what engines print at shutdown lands in the simulation log.
/// </summary>
[Collection(PythonCollection.Name)]
public sealed class ExperimentFolderTests
{
    private const string Engine =
        """
        from nrp_core.engines.python_json import EngineScript

        AT_IMPORT = open("engine_import.txt").read().strip()


        class Script(EngineScript):
            def initialize(self):
                print("engine import read", AT_IMPORT)
                print("engine initialize read", open("engine_initialize.txt").read().strip())
                self._registerDataPack("out")
                self._setDataPack("out", {"n": 0})

            def runLoop(self, timestep_ns):
                pass

            def shutdown(self):
                print("engine shutdown read", open("engine_shutdown.txt").read().strip())
        """;

    private const string Tf =
        """
        from nrp_core import *

        TF_IMPORT = open("tf_import.txt").read().strip()
        print("tf import read", TF_IMPORT)


        @EngineDataPack(keyword="out", id=DataPackIdentifier("out", "python_1"))
        @TransceiverFunction("python_1")
        def tf(out):
            return []
        """;

    private const string Status =
        """
        from nrp_core import *

        @StatusFunction()
        def status():
            print("status read", open("status.txt").read().strip())
            return False, []
        """;

    [Fact]
    public async Task RelativePaths_WorkInEngineImportInitializeAndShutdown_TfImport_StatusFunctionAndScript()
    {
        await using var host = new CoreHost(fakeClient: false);
        var hostDirectory = Directory.GetCurrentDirectory();
        host.Experiment()
            .WithConfig(raw: """
                {
                    "SimulationTimeout": 0.05,
                    "EngineConfigs": [{"EngineType": "python_json", "EngineName": "python_1", "PythonFileName": "engine.py"}],
                    "DataPackProcessingFunctions": [{"Name": "tf", "FileName": "tf.py"}],
                    "StatusFunction": {"Name": "status", "FileName": "status.py"}
                }
                """)
            .WithFile("engine.py", Engine).WithFile("tf.py", Tf).WithFile("status.py", Status)
            .WithFile("engine_import.txt", "A1").WithFile("engine_initialize.txt", "B2").WithFile("engine_shutdown.txt", "C3")
            .WithFile("tf_import.txt", "D4").WithFile("status.txt", "E5").WithFile("script.txt", "F6")
            .WithScript("print('script read', open('script.txt').read().strip())\nwhile True:\n    try:\n        nrp.run_loop()\n    except NRPSimulationTimeout:\n        break\n")
            .Build();
        var errors = new List<SimulationError>();
        host.Manager.RuntimeError += (_, e) => errors.Add(e.Error);

        var sim = await host.CreatePausedAsync();
        await host.Manager.RequestStateAsync(sim.Id, SimulationState.Started);
        await host.WaitForStateAsync(sim.Id, SimulationState.Completed);
        Assert.Equal(StateChangeStatus.Changed, (await host.Manager.RequestStateAsync(sim.Id, SimulationState.Stopped)).Status);

        Assert.Empty(errors);
        foreach (var line in new[] { "engine import read A1", "engine initialize read B2", "tf import read D4", "status read E5", "script read F6", "engine shutdown read C3" })
        {
            await host.WaitForLogAsync(sim.Id, e => e.Message == line);
        }

        // The shutdown ran on the simulation's own thread, so its output is in the simulation log in the archive.
        var archive = Assert.Single(Directory.GetFiles(Path.Combine(host.StorageRoot, "exp"), "*_simulation_0_*.log.zip"));
        using var zip = ZipFile.OpenRead(archive);
        using var log = new StreamReader(zip.GetEntry("simulation_0.log")!.Open());
        var text = log.ReadToEnd();
        Assert.Contains("engine initialize read B2", text, StringComparison.Ordinal);
        Assert.Contains("engine shutdown read C3", text, StringComparison.Ordinal);

        // And the host has its own directory back.
        Assert.Equal(hostDirectory, Directory.GetCurrentDirectory());
    }
}
