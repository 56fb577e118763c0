"""nrp_core.data.nrp_protobuf: nrp-core's datapack classes, their message API and the protobuf wire format
(the .NET tests decode the same bytes with Google.Protobuf)."""

import math

import nrpcore_testkit as kit
from nrp_client import NrpCore, NrpCoreRequestError
from nrp_core.data import nrp_protobuf
from nrp_core.data.nrp_protobuf import (
    DumpArrayFloat,
    DumpArrayFloatDataPack,
    DumpString,
    DumpStringDataPack,
    DumpStringRawData,
    EngineTestTestPayloadRawData,
    NrpGenericProtoArrayBoolDataPack,
    NrpGenericProtoArraySInt32,
    WrappersBoolValueDataPack,
    WrappersFloatValueDataPack,
    WrappersInt32Value,
    WrappersInt64ValueDataPack,
    WrappersUInt64ValueDataPack,
)


def _raises(kind, call, *args):
    try:
        call(*args)
    except kind as e:
        return e
    raise AssertionError(f"{call} did not raise {kind.__name__}")


def test_protobuf_module_has_nrp_cores_datapack_names():
    for name in ("DumpStringDataPack", "DumpArrayFloatDataPack", "WrappersBoolValueDataPack",
                 "WrappersBytesValueDataPack", "WrappersFloatValueDataPack", "WrappersDoubleValueDataPack",
                 "WrappersInt32ValueDataPack", "WrappersInt64ValueDataPack", "WrappersUInt32ValueDataPack",
                 "WrappersUInt64ValueDataPack", "WrappersStringValueDataPack", "NrpGenericProtoArrayBoolDataPack",
                 "NrpGenericProtoArrayFloatDataPack", "NrpGenericProtoArrayInt32DataPack",
                 "NrpGenericProtoArrayStringDataPack", "DumpStringRawData", "EngineTestTestPayloadRawData"):
        assert name in nrp_protobuf.__all__, name
        assert getattr(nrp_protobuf, name).__name__ == name


def test_protobuf_datapack_identity_and_data():
    dp = DumpStringDataPack("datapack_DumpString", "datatransfer_engine")
    assert (dp.name, dp.engine_name) == ("datapack_DumpString", "datatransfer_engine")
    assert dp.type == "N4Dump6StringE" and dp.getType() == dp.type
    assert dp.id.name == "datapack_DumpString" and dp.id.engine_name == "datatransfer_engine"
    assert not dp.isEmpty() and dp.isUpdated()
    assert isinstance(dp.data, DumpString) and dp.data.string_stream == ""
    dp.data.string_stream = "str(datapack_python.data)"
    assert dp.data.string_stream == "str(datapack_python.data)"
    assert dp.data.GetFieldNames() == ["string_stream"]
    dp.data = DumpString(string_stream="replaced")
    assert dp.data.string_stream == "replaced"
    _raises(TypeError, setattr, dp, "data", DumpArrayFloat())
    _raises(TypeError, DumpStringDataPack, "name", 3)


def test_protobuf_field_values_are_checked_and_converted():
    value = WrappersInt64ValueDataPack("i", "e").data
    value.value = 10000000000
    assert value.value == 10000000000
    _raises(TypeError, setattr, value, "value", 1.5)
    _raises(TypeError, setattr, value, "value", "1")
    _raises(ValueError, setattr, WrappersInt32Value(), "value", 1 << 31)
    _raises(ValueError, setattr, WrappersUInt64ValueDataPack("u", "e").data, "value", -1)
    single = WrappersFloatValueDataPack("f", "e").data
    single.value = 0.1
    assert single.value != 0.1 and abs(single.value - 0.1) < 1e-7  # single precision, as in C++
    single.value = 1e300
    assert math.isinf(single.value)
    flag = WrappersBoolValueDataPack("b", "e").data
    flag.value = 1
    assert flag.value is True
    _raises(AttributeError, setattr, DumpString(), "nope", 1)
    _raises(ValueError, lambda: DumpString(nope=1))


def test_protobuf_repeated_fields_behave_like_lists():
    dp = DumpArrayFloatDataPack("a", "e")
    dp.data.float_stream.extend([1, 2.5, 3])
    dp.data.float_stream.append(4)
    dp.data.dims.extend([2, 2])
    assert list(dp.data.float_stream) == [1.0, 2.5, 3.0, 4.0] and len(dp.data.float_stream) == 4
    assert dp.data.float_stream[1:3] == [2.5, 3.0]
    dp.data.float_stream[0] = 9
    dp.data.float_stream[1:3] = [7, 8]
    assert dp.data.float_stream == [9.0, 7.0, 8.0, 4.0]
    del dp.data.float_stream[0]
    assert dp.data.float_stream == [7.0, 8.0, 4.0]
    _raises(AttributeError, setattr, dp.data, "dims", [1])
    _raises(TypeError, dp.data.dims.append, "x")
    _raises(ValueError, dp.data.dims.append, -1)
    flags = NrpGenericProtoArrayBoolDataPack("b", "e")
    flags.data.array.extend([True, False, 1, 0])
    flags.data.shape.extend([2, 2])
    assert list(flags.data.array) == [True, False, True, False]


def test_protobuf_wire_format_of_known_messages():
    # bytes worked out by hand from the protobuf encoding rules and nrp-core's field numbers
    assert DumpString(string_stream="hi").SerializeToString() == b"\x2a\x02hi"
    assert DumpString().SerializeToString() == b""  # proto3: defaults are not written
    assert WrappersInt32Value(value=-1).SerializeToString() == b"\x08" + b"\xff" * 9 + b"\x01"
    assert DumpArrayFloat(float_stream=[1.0], dims=[1, 300]).SerializeToString() == \
        b"\x2a\x04\x00\x00\x80\x3f" + b"\x32\x03\x01\xac\x02"  # packed float (5) and packed uint32 (6)
    assert NrpGenericProtoArraySInt32(array=[-1, 1], shape=[2]).SerializeToString() == b"\x0a\x02\x01\x02\x12\x01\x02"


def test_protobuf_parsing_round_trips_and_accepts_unpacked_and_unknown_fields():
    original = DumpArrayFloat(float_stream=[0.5, -2.0], dims=[2])
    assert DumpArrayFloat.FromString(original.SerializeToString()) == original
    unpacked = b"\x2d\x00\x00\x00\x3f" + b"\x2d\x00\x00\x00\xc0" + b"\x30\x02"
    assert DumpArrayFloat.FromString(unpacked) == original
    with_unknown = b"\x08\x07" + b"\x2a\x01x" + b"\x3a\x02ab"  # field 1 varint and field 7 bytes are unknown
    assert DumpString.FromString(with_unknown).string_stream == "x"
    _raises(ValueError, DumpString.FromString, b"\x2a\x05ab")
    _raises(ValueError, DumpString.FromString, b"\x2a\x02\xff\xfe")  # a string field must be UTF-8


def test_protobuf_other_types_fail_to_import_with_a_clear_message():
    error = _raises(ImportError, __import__, "nrp_core.data.nrp_protobuf", globals(), locals(), ["GazeboCameraDataPack"])
    text = str(error)
    assert "GazeboCameraDataPack" in text and "NrpHost:NrpCore:Mode=External" in text


STATUS_PROTO = """
from nrp_core import *
from nrp_core.data.nrp_protobuf import DumpStringRawData, EngineTestTestPayloadRawData

import json

@SimulationIteration(keyword="sim_iter")
@StatusFunction()
def status_function(sim_iter):
    proto1 = DumpStringRawData()
    proto1.data.string_stream = json.dumps({"int": sim_iter})
    proto2 = EngineTestTestPayloadRawData()
    proto2.data.integer = sim_iter
    return sim_iter == 3, [proto1, proto2]
"""


def test_protobuf_status_function_observations_are_messages_in_order():
    config = {"SimulationTimeout": 1, "EngineConfigs": [kit.python_engine("python_1", "engine.py")],
              "StatusFunction": kit.function("status_function", "sf.py")}
    dirpath = kit.make_experiment({"engine.py": kit.time_engine("d"), "sf.py": STATUS_PROTO}, config)
    try:
        client = NrpCore("localhost:5345", experiment_folder=dirpath)
        client.initialize()
        done, timeout, trajectory = client.run_until_timeout()
        assert (done, timeout) == (True, False)
        assert len(trajectory) == 8
        assert [type(t).__name__ for t in trajectory] == ["DumpString", "EngineTestTestPayload"] * 4
        assert [t.integer for t in trajectory[1::2]] == [0, 1, 2, 3]
        assert trajectory[4].string_stream == '{"int": 2}'
        client.shutdown()
    finally:
        kit.remove(dirpath)


def test_protobuf_datapack_for_a_python_json_engine_is_refused_naming_both():
    tf = """
    from nrp_core import *
    from nrp_core.data.nrp_protobuf import DumpStringDataPack


    @TransceiverFunction("python_1")
    def tf():
        return [DumpStringDataPack("d", "python_1")]
    """
    config = {"SimulationTimeout": 1, "EngineConfigs": [kit.python_engine("python_1", "engine.py")],
              "DataPackProcessingFunctions": [kit.function("tf", "tf.py")]}
    dirpath = kit.make_experiment({"engine.py": kit.time_engine("d"), "tf.py": tf}, config)
    try:
        client = NrpCore("localhost:5345", experiment_folder=dirpath)
        client.initialize()
        error = _raises(NrpCoreRequestError, client.run_loop, 1)
        text = str(error)
        assert "Dump.String" in text and '"python_1"' in text and "JSON datapacks only" in text
        assert "tf.py" in text and "_embedded" not in text
        client.shutdown()
    finally:
        kit.remove(dirpath)


def test_protobuf_raw_data_wraps_a_message():
    raw = DumpStringRawData()
    raw.data.string_stream = "x"
    assert raw.data.string_stream == "x"
    payload = EngineTestTestPayloadRawData()
    payload.data.integer = 7
    assert payload.data.SerializeToString() == b"\x08\x07"


def test_unsigned_wrappers_warn_that_the_experiment_runs_here_only_at_the_line_that_makes_them():
    import warnings
    from nrp_core._embedded.protobuf import UnportableExperimentWarning
    from nrp_core.data.nrp_protobuf import WrappersUInt32Value, WrappersUInt32ValueDataPack

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        WrappersUInt64ValueDataPack("u", "e")
        WrappersUInt32Value(value=3)
        WrappersUInt32ValueDataPack("u", "e").data.value = 4
        WrappersInt64ValueDataPack("i", "e")  # in nrp-core: no warning
        WrappersInt32Value(value=1)
    assert [w.category for w in caught] == [UnportableExperimentWarning] * 3, [str(w.message) for w in caught]
    assert "Wrappers.UInt64Value is not a message of nrp-core 1.4.1" in str(caught[0].message)
    assert "Wrappers.UInt32Value" in str(caught[1].message)
    # the warning points at this file (the experiment's line), not at the runtime
    assert all(w.filename == __file__ for w in caught), [w.filename for w in caught]


def test_a_message_copies_another_of_its_type_as_nrp_cores_bindings_do():
    original = DumpArrayFloat(float_stream=[1.5, 2.5], dims=[1, 2])
    copy = DumpArrayFloat(original)
    assert copy == original and copy is not original
    copy.float_stream.append(3.5)  # a copy, not a view
    assert list(original.float_stream) == [1.5, 2.5]
    assert DumpString(DumpString(string_stream="x"), string_stream="y").string_stream == "y"  # fields on top
    wrong = _raises(TypeError, DumpString, WrappersInt32Value(value=1))
    assert "copies a Dump.String message, not a Wrappers.Int32Value" in str(wrong)
    assert "at most one message" in str(_raises(TypeError, DumpString, DumpString(), DumpString()))


def test_the_runtimes_own_copies_and_parses_of_an_unsigned_wrapper_do_not_warn_again():
    import warnings
    from nrp_core.data.nrp_protobuf import WrappersUInt32Value, WrappersUInt32ValueDataPack

    made = WrappersUInt32Value(value=5)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert WrappersUInt32Value.FromString(made.SerializeToString()) == made
        assert made._copy() == made
        WrappersUInt32ValueDataPack.__new__(WrappersUInt32ValueDataPack)  # no constructor run, nothing made
    assert caught == [], [str(w.message) for w in caught]
