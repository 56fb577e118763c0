using System.Text.Json;
using Google.Protobuf;
using NrpHost.Tests.Infrastructure;
using NrpHost.Tests.Protos.Dump;
using NrpHost.Tests.Protos.EngineGrpc;
using NrpHost.Tests.Protos.EngineTest;
using NrpHost.Tests.Protos.NrpCore;
using NrpHost.Tests.Protos.NrpGenericProto;
using NrpHost.Tests.Protos.Wrappers;

namespace NrpHost.Tests.NrpCore;

/// <summary>
/// The embedded runtime's protobuf messages are nrp-core's wire format: what Python serialises, Google.Protobuf
/// decodes with nrp-core's <c>.proto</c> definitions (NrpCore/Protos), and the other way round.
/// </summary>
[Collection(PythonCollection.Name)]
public sealed class ProtobufWireFormatTests(PythonFixture python)
{
    private const string Encode = """
        import json
        from nrp_core.data.nrp_protobuf import *

        m = {}
        m["String"] = DumpString(string_stream="grüße \n\t\"end\"")
        m["ArrayFloat"] = DumpArrayFloat(float_stream=[0.1, -2.5, 3e38, float("inf")], dims=[2, 2, 4294967295])
        m["Bool"] = WrappersBoolValue(value=True)
        m["Bytes"] = WrappersBytesValue(value=bytes(range(256)))
        m["Float"] = WrappersFloatValue(value=-0.0)
        m["Double"] = WrappersDoubleValue(value=1.0000000000000002)
        m["Int32"] = WrappersInt32Value(value=-2147483648)
        m["Int64"] = WrappersInt64Value(value=-9223372036854775808)
        m["UInt32"] = WrappersUInt32Value(value=4294967295)
        m["UInt64"] = WrappersUInt64Value(value=18446744073709551615)
        m["StringValue"] = WrappersStringValue(value="x" * 300)
        m["ArrayBool"] = NrpGenericProtoArrayBool(array=[True, False, True], shape=[3, 1])
        m["ArraySInt64"] = NrpGenericProtoArraySInt64(array=[-1, 9223372036854775807, -9223372036854775808], shape=[3])
        m["ArrayInt32"] = NrpGenericProtoArrayInt32(array=[-1, 0, 2147483647])
        m["ArrayDouble"] = NrpGenericProtoArrayDouble(array=[0.5] * 1000, shape=[10, 100])
        m["ArrayString"] = NrpGenericProtoArrayString(array=["a", "", "ç"])
        m["ArrayBytes"] = NrpGenericProtoArrayBytes(array=[b"\x00\xff", b""])
        m["ArrayUInt64"] = NrpGenericProtoArrayUInt64(array=[18446744073709551615, 1])
        m["Payload"] = EngineTestTestPayload(integer=7, str="seven")
        m["Empty"] = DumpString()
        result = json.dumps({k: v.SerializeToString().hex() for k, v in m.items()})
        """;

    [Fact]
    public void PythonMessages_DecodeWithGoogleProtobuf_ToTheSameValues()
    {
        using var session = new EmbeddedPython(python);
        var hex = JsonSerializer.Deserialize<Dictionary<string, string>>(session.Run(Encode))!;
        byte[] Bytes(string name) => Convert.FromHexString(hex[name]);

        Assert.Equal("grüße \n\t\"end\"", Protos.Dump.String.Parser.ParseFrom(Bytes("String")).StringStream);
        var floats = Protos.Dump.ArrayFloat.Parser.ParseFrom(Bytes("ArrayFloat"));
        Assert.Equal([0.1f, -2.5f, 3e38f, float.PositiveInfinity], floats.FloatStream);
        Assert.Equal([2u, 2u, 4294967295u], floats.Dims);
        Assert.True(BoolValue.Parser.ParseFrom(Bytes("Bool")).Value);
        Assert.Equal(Enumerable.Range(0, 256).Select(i => (byte)i), BytesValue.Parser.ParseFrom(Bytes("Bytes")).Value.ToByteArray());
        var negativeZero = FloatValue.Parser.ParseFrom(Bytes("Float")).Value;
        Assert.True(negativeZero == 0 && float.IsNegative(negativeZero));
        Assert.Equal(1.0000000000000002, DoubleValue.Parser.ParseFrom(Bytes("Double")).Value);
        Assert.Equal(int.MinValue, Int32Value.Parser.ParseFrom(Bytes("Int32")).Value);
        Assert.Equal(long.MinValue, Int64Value.Parser.ParseFrom(Bytes("Int64")).Value);
        Assert.Equal(uint.MaxValue, UInt32Value.Parser.ParseFrom(Bytes("UInt32")).Value);
        Assert.Equal(ulong.MaxValue, UInt64Value.Parser.ParseFrom(Bytes("UInt64")).Value);
        Assert.Equal(new string('x', 300), StringValue.Parser.ParseFrom(Bytes("StringValue")).Value);
        var flags = ArrayBool.Parser.ParseFrom(Bytes("ArrayBool"));
        Assert.Equal([true, false, true], flags.Array);
        Assert.Equal([3u, 1u], flags.Shape);
        Assert.Equal([-1L, long.MaxValue, long.MinValue], ArraySInt64.Parser.ParseFrom(Bytes("ArraySInt64")).Array);
        Assert.Equal([-1, 0, int.MaxValue], ArrayInt32.Parser.ParseFrom(Bytes("ArrayInt32")).Array);
        var doubles = ArrayDouble.Parser.ParseFrom(Bytes("ArrayDouble"));
        Assert.Equal(1000, doubles.Array.Count);
        Assert.All(doubles.Array, v => Assert.Equal(0.5, v));
        Assert.Equal(["a", "", "ç"], ArrayString.Parser.ParseFrom(Bytes("ArrayString")).Array);
        Assert.Equal([[0, 255], Array.Empty<byte>()], ArrayBytes.Parser.ParseFrom(Bytes("ArrayBytes")).Array.Select(b => b.ToByteArray()));
        Assert.Equal([ulong.MaxValue, 1UL], ArrayUInt64.Parser.ParseFrom(Bytes("ArrayUInt64")).Array);
        var payload = TestPayload.Parser.ParseFrom(Bytes("Payload"));
        Assert.Equal((7u, "seven"), (payload.Integer, payload.Str));
        Assert.Empty(Bytes("Empty"));

        // byte for byte what Google.Protobuf writes for the same values
        Assert.Equal(new Protos.Dump.ArrayFloat { FloatStream = { 0.1f, -2.5f, 3e38f, float.PositiveInfinity }, Dims = { 2, 2, 4294967295 } }.ToByteArray(), Bytes("ArrayFloat"));
        Assert.Equal(new Int64Value { Value = long.MinValue }.ToByteArray(), Bytes("Int64"));
        Assert.Equal(new ArraySInt64 { Array = { -1, long.MaxValue, long.MinValue }, Shape = { 3 } }.ToByteArray(), Bytes("ArraySInt64"));
    }

    [Fact]
    public void ClientDataPackMessages_AreNrpCoresEnvelope()
    {
        using var session = new EmbeddedPython(python);
        using var experiment = new TempDirectory("proto-client");
        File.WriteAllText(experiment.Combine("simulation_config.json"), """{"SimulationTimeout": 1, "EngineConfigs": []}""");
        var hex = JsonSerializer.Deserialize<string[]>(session.Run("""
            import json
            from nrp_client import NrpCore
            from nrp_core.data.nrp_protobuf import DumpString

            client = NrpCore("localhost:5345", experiment_folder=folder)
            client.set_json_datapack("actions", "python_1", {"speed": 1.5, "name": "ü"})
            client.set_proto_datapack("text", "datatransfer_engine", DumpString(string_stream="hello"))
            result = json.dumps([client._json_datapack_out_buffer[0].SerializeToString().hex(),
                                 client._proto_datapack_out_buffer[0].SerializeToString().hex()])
            """, new Dictionary<string, object> { ["folder"] = experiment.Path }))!;

        var json = DataPackMessage.Parser.ParseFrom(Convert.FromHexString(hex[0]));
        Assert.Equal(("actions", "python_1"), (json.DataPackId.DataPackName, json.DataPackId.EngineName));
        Assert.Equal("type.googleapis.com/NrpCore.JsonMessage", json.Data.TypeUrl);
        var data = JsonDocument.Parse(json.Data.Unpack<JsonMessage>().Data).RootElement;
        Assert.Equal((1.5, "ü"), (data.GetProperty("speed").GetDouble(), data.GetProperty("name").GetString()));

        var proto = DataPackMessage.Parser.ParseFrom(Convert.FromHexString(hex[1]));
        Assert.Equal(("text", "datatransfer_engine", "N4Dump6StringE"), (proto.DataPackId.DataPackName, proto.DataPackId.EngineName, proto.DataPackId.DataPackType));
        Assert.Equal("hello", proto.Data.Unpack<Protos.Dump.String>().StringStream);
    }

    [Fact]
    public void GoogleProtobufMessages_ParseInPython_ToTheSameValues()
    {
        using var session = new EmbeddedPython(python);
        var inputs = new Dictionary<string, object>
        {
            ["array_float"] = Convert.ToHexString(new Protos.Dump.ArrayFloat { FloatStream = { 1.5f, -0.25f }, Dims = { 2 } }.ToByteArray()),
            ["sint32"] = Convert.ToHexString(new ArraySInt32 { Array = { int.MinValue, -1, 1 }, Shape = { 3 } }.ToByteArray()),
            ["payload"] = Convert.ToHexString(new TestPayload { Integer = uint.MaxValue, Str = "ok" }.ToByteArray()),
            ["envelope"] = Convert.ToHexString(new DataPackMessage
            {
                DataPackId = new DataPackIdentifier { DataPackName = "n", EngineName = "e", DataPackType = "t" },
                Data = Google.Protobuf.WellKnownTypes.Any.Pack(new Protos.Dump.String { StringStream = "inner" }),
            }.ToByteArray()),
        };
        var decoded = JsonDocument.Parse(session.Run("""
            import json
            from nrp_core.data.nrp_protobuf import DumpArrayFloat, NrpGenericProtoArraySInt32, EngineTestTestPayload
            from nrp_core._embedded.protobuf import DataPackMessage, unpack_any

            a = DumpArrayFloat.FromString(bytes.fromhex(array_float))
            s = NrpGenericProtoArraySInt32.FromString(bytes.fromhex(sint32))
            p = EngineTestTestPayload.FromString(bytes.fromhex(payload))
            e = DataPackMessage.FromString(bytes.fromhex(envelope))
            result = json.dumps({"floats": list(a.float_stream), "dims": list(a.dims), "sint32": list(s.array),
                                 "integer": p.integer, "str": p.str, "name": e.dataPackId.dataPackName,
                                 "inner": unpack_any(e.data).string_stream})
            """, inputs)).RootElement;

        Assert.Equal([1.5, -0.25], decoded.GetProperty("floats").EnumerateArray().Select(v => v.GetDouble()));
        Assert.Equal([2], decoded.GetProperty("dims").EnumerateArray().Select(v => v.GetInt32()));
        Assert.Equal([int.MinValue, -1, 1], decoded.GetProperty("sint32").EnumerateArray().Select(v => v.GetInt32()));
        Assert.Equal(uint.MaxValue, decoded.GetProperty("integer").GetUInt32());
        Assert.Equal("ok", decoded.GetProperty("str").GetString());
        Assert.Equal("n", decoded.GetProperty("name").GetString());
        Assert.Equal("inner", decoded.GetProperty("inner").GetString());
    }
}
