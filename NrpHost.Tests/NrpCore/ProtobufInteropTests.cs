using NrpHost.Tests.Infrastructure;

namespace NrpHost.Tests.NrpCore;

/// <summary>
/// The embedded runtime's top-level <c>nrp_protobuf</c> package, as nrp-core installs it: Google protobuf classes for the
/// messages the runtime knows. nrp-core's own <c>nrp_simulation/tests/server.py</c> imports it and runs unchanged, with a
/// Python of this machine (as nrp-core runs it), the runtime on its path and no stub.
/// </summary>
public sealed class ProtobufInteropTests
{
    /// <summary>The embedded runtime (nrp_client, nrp_core, nrp_protobuf) as built next to the tests.</summary>
    private static readonly string Runtime = Path.Combine(AppContext.BaseDirectory, "nrphost-python", "embedded");

    private static Dictionary<string, string> OnPath => new() { ["PYTHONPATH"] = Runtime, ["PYTHONDONTWRITEBYTECODE"] = "1" };

    [ProtobufConformanceFact]
    public void NrpCoresServerTests_RunUnchanged_AllSixteenPass()
    {
        using var temp = new TempDirectory("server-py");
        var example = temp.Combine("status_function_test");
        ExampleExperimentTests.CopyDirectory(Conformance.Combine("examples", "status_function_test"), example);

        var (code, output) = SystemPython.Run(SystemPython.With("google.protobuf")!, [Conformance.Combine("server.py"), "unused", example], OnPath, temp.Path);

        Assert.True(code == 0, output);
        Assert.Contains("Ran 16 tests", output, StringComparison.Ordinal);
        Assert.Matches(@"(?m)^OK$", output);
    }

    [ProtobufConformanceFact]
    public void EveryMessage_IsAGoogleClass_WithTheRuntimesBytes_AndIsTakenWhereTheRuntimesOwnIs()
    {
        using var temp = new TempDirectory("nrp-protobuf");
        ExampleExperimentTests.CopyDirectory(Conformance.Combine("examples", "status_function_test"), temp.Path); // a configuration for the client
        var (code, output) = SystemPython.Run(SystemPython.With("google.protobuf")!, ["-c", """
            import importlib, random
            from google.protobuf.message import Message as GoogleMessage
            from nrp_protobuf.proto_modules import proto_modules
            from nrp_core._embedded.protobuf import DATAPACKS, MESSAGES, from_foreign
            from nrp_client import NrpCore

            rng = random.Random(7)
            values = {"double": lambda: rng.uniform(-1e9, 1e9), "float": lambda: 0.5 * rng.randint(-1000, 1000),
                      "int32": lambda: rng.randint(-2**31, 2**31 - 1), "int64": lambda: rng.randint(-2**63, 2**63 - 1),
                      "uint32": lambda: rng.randint(0, 2**32 - 1), "uint64": lambda: rng.randint(0, 2**64 - 1),
                      "sint32": lambda: rng.randint(-2**31, 2**31 - 1), "sint64": lambda: rng.randint(-2**63, 2**63 - 1),
                      "bool": lambda: rng.random() < 0.5, "string": lambda: "é" * rng.randint(0, 5), "bytes": lambda: bytes([rng.randint(0, 255)] * 3)}
            checked = 0
            for module in proto_modules:
                generated = importlib.import_module("nrp_protobuf." + module)
                for name, cls in vars(generated).items():
                    if not (isinstance(cls, type) and issubclass(cls, GoogleMessage)):
                        continue
                    own = MESSAGES[cls.DESCRIPTOR.full_name]
                    for _ in range(20):
                        message = cls()
                        for field in own.fields:
                            if field.kind == "message":
                                continue
                            if field.repeated:
                                getattr(message, field.name).extend(values[field.kind]() for _ in range(rng.randint(0, 4)))
                            else:
                                setattr(message, field.name, values[field.kind]())
                        converted = from_foreign(message)
                        assert type(converted) is own, (name, type(converted))
                        assert converted.SerializeToString() == message.SerializeToString(), name
                        assert converted == message, name
                        checked += 1
                    if own.__name__ + "DataPack" in DATAPACKS:
                        datapack = DATAPACKS[own.__name__ + "DataPack"]("d", "e")
                        datapack.data = message
                        assert datapack.data == message and type(datapack.data) is own, name

            client = NrpCore("localhost:5345")
            from nrp_protobuf.dump_pb2 import String
            client.set_proto_datapack("d", "e", String(string_stream="from google"))
            assert len(client._proto_datapack_out_buffer) == 1
            from nrp_protobuf.engine_grpc_pb2 import DataPackMessage
            try:
                client.set_proto_datapack("d", "e", DataPackMessage())  # a message, but not a datapack's
                raise AssertionError("a DataPackMessage was taken as a datapack")
            except TypeError as refused:
                assert "set_proto_datapack expects" in str(refused), refused
            print("checked", checked)
            """], OnPath, temp.Path);

        Assert.True(code == 0, output);
        Assert.Matches(@"checked [1-9]\d{2,}", output);
    }

    [Fact]
    public void WithoutGooglesProtobuf_ImportingAModule_SaysWhatToInstall()
    {
        var python = SystemPython.With("sys") ?? "python3";

        // Whatever this machine has, the package is hidden from the interpreter as if it were not installed.
        var (code, output) = SystemPython.Run(python, ["-c", """
            import sys
            sys.modules["google"] = None
            try:
                import nrp_protobuf.enginetest_pb2
            except ImportError as missing:
                print(missing)
            else:
                sys.exit("imported")
            from nrp_core.data.nrp_protobuf import EngineTestTestPayload
            print(EngineTestTestPayload(integer=1).integer)
            """], OnPath);

        Assert.True(code == 0, output);
        Assert.Contains("nrp_protobuf needs Google's protobuf package for Python", output, StringComparison.Ordinal);
        Assert.Contains("apt-get install python3-protobuf", output, StringComparison.Ordinal);
        Assert.Contains("pip install protobuf", output, StringComparison.Ordinal);
        Assert.EndsWith("1", output.TrimEnd(), StringComparison.Ordinal); // the runtime's own classes still work
    }
}
