"""The DataTransfer engine: file logging in nrp-core's formats, reset, refusals, a missing broker.
(MQTT streaming against real brokers is tested from .NET: DataTransferStreamingTests.)"""

import contextlib
import io
import os

import nrpcore_testkit as kit
from nrp_client import NrpCore, NrpCoreRequestError

# Sends one datapack of each formatting kind on every sync of the DataTransfer engine.
TF = """
from nrp_core import *
from nrp_core.data.nrp_protobuf import (DumpStringDataPack, DumpArrayFloatDataPack, WrappersDoubleValueDataPack,
                                        WrappersBoolValueDataPack, NrpGenericProtoArrayBoolDataPack)


@SimulationIteration(keyword="i")
@TransceiverFunction("datatransfer_engine")
def to_files(i):
    text = DumpStringDataPack("text", "datatransfer_engine")
    text.data.string_stream = f"step {i}"
    line = DumpArrayFloatDataPack("line", "datatransfer_engine")
    line.data.float_stream.extend([0.5, i])
    grid = DumpArrayFloatDataPack("grid", "datatransfer_engine")
    grid.data.float_stream.extend([1, 2, 3, 4, 5])
    grid.data.dims.extend([2, 3])
    cube = DumpArrayFloatDataPack("cube", "datatransfer_engine")
    cube.data.float_stream.extend([1, 2])
    cube.data.dims.extend([1, 1, 2])
    number = WrappersDoubleValueDataPack("number", "datatransfer_engine")
    number.data.value = i / 4
    flag = WrappersBoolValueDataPack("flag", "datatransfer_engine")
    flag.data.value = i % 2 == 1
    flags = NrpGenericProtoArrayBoolDataPack("flags", "datatransfer_engine")
    flags.data.array.extend([True, False])
    return [text, line, grid, cube, number, flag, flags]
"""

NAMES = ("text", "line", "grid", "cube", "number", "flag", "flags")


def _datatransfer(dumps=None, **extra):
    engine = kit.datatransfer_engine()
    engine["dumps"] = dumps if dumps is not None else [{"name": n, "file": True} for n in NAMES]
    engine.update(extra)
    return engine


def _experiment(tf=TF, engine=None):
    """python_1 and the DataTransfer engine, and the transceiver function ``tf`` (none if empty)."""
    config = {"SimulationTimeout": 1,
              "EngineConfigs": [kit.python_engine("python_1", "engine.py"), engine or _datatransfer()],
              "DataPackProcessingFunctions": [kit.function("to_files", "tf.py")] if tf else []}
    return kit.make_experiment({"engine.py": kit.time_engine("d"), "tf.py": tf}, config)


def _files(dirpath, data="data"):
    root = os.path.join(dirpath, data)
    (stamp,) = os.listdir(root)
    folder = os.path.join(root, stamp)
    return folder, sorted(os.listdir(folder))


def _refusal(call, *args):
    """The text of the request error ``call(*args)`` raises."""
    try:
        call(*args)
    except NrpCoreRequestError as e:
        return str(e)
    raise AssertionError(f"{call.__name__}{args} was not refused")


def _lines(folder, name):
    with open(os.path.join(folder, name), "rb") as f:
        return f.read().decode("utf-8").split("\n")[:-1]


def test_datatransfer_files_have_nrp_cores_formats():
    dirpath = _experiment()
    try:
        client = NrpCore("localhost:5345", experiment_folder=dirpath)
        warnings = io.StringIO()
        with contextlib.redirect_stderr(warnings):
            client.initialize()
            client.run_loop(3)  # cycles at 0, 0.01 and 0.02 s
        folder, names = _files(dirpath)
        assert names == sorted(f"{n}-0.data" for n in NAMES)
        assert _lines(folder, "text-0.data") == ["0.000000,step 0", "0.010000,step 1", "0.020000,step 2"]
        assert _lines(folder, "line-0.data") == ["0.000000,0,0.500000,0.000000", "0.010000,0,0.500000,1.000000",
                                                 "0.020000,0,0.500000,2.000000"]
        # two dims: rows of dims[1] values, missing values left out
        assert _lines(folder, "grid-0.data")[:3] == ["0.000000,", "0,1.000000,2.000000,3.000000", "1,4.000000,5.000000"]
        # three dims are printed as one dimension
        assert _lines(folder, "cube-0.data")[0] == "0.000000,0,1.000000,2.000000"
        # other messages: field names, then the time (as C++ streams a float) and the values
        assert _lines(folder, "number-0.data") == ["sim_time,value", "0,0.000000", "0.01,0.250000", "0.02,0.500000"]
        assert _lines(folder, "flag-0.data") == ["sim_time,value", "0,0", "0.01,1", "0.02,0"]
        # repeated fields cannot be logged (nrp-core): an empty file and one warning
        assert _lines(folder, "flags-0.data") == []
        assert warnings.getvalue().count('"flags"') == 1
        client.shutdown()
    finally:
        kit.remove(dirpath)


def test_datatransfer_reset_starts_new_files_and_the_engine_time_again():
    dirpath = _experiment()
    try:
        client = NrpCore("localhost:5345", experiment_folder=dirpath)
        with contextlib.redirect_stderr(io.StringIO()):
            client.initialize()
            client.run_loop(2)
            client.reset()
            client.run_loop(1)
            client.reset()
        folder, names = _files(dirpath)
        assert {f"text-{k}.data" for k in (0, 1, 2)} <= set(names)
        # the transceiver outputs pending at a reset are not logged (nrp-core's reset gives them to the first engine
        # only), and the next file starts at time 0; SimulationIteration is not reset (nrp-core)
        assert _lines(folder, "text-0.data") == ["0.000000,step 0", "0.010000,step 1"]
        assert _lines(folder, "text-1.data") == ["0.000000,step 2"]
        assert _lines(folder, "text-2.data") == []
        # only the first file of a message type's series starts with its field names (nrp-core)
        assert _lines(folder, "number-0.data")[0] == "sim_time,value"
        assert _lines(folder, "number-1.data") == ["0,0.500000"]
        client.shutdown()
    finally:
        kit.remove(dirpath)


def test_datatransfer_data_directory_is_configurable_and_confined_to_the_experiment():
    dirpath = _experiment(engine=_datatransfer([{"name": "text", "file": True}], dataDirectory="out/run"))
    try:
        tf = TF.replace("return [text, line, grid, cube, number, flag, flags]", "return [text]")
        with open(os.path.join(dirpath, "tf.py"), "w", encoding="utf-8") as f:
            f.write(tf)
        client = NrpCore("localhost:5345", experiment_folder=dirpath)
        client.initialize()
        client.run_loop(1)
        folder, names = _files(dirpath, os.path.join("out", "run"))
        assert names == ["text-0.data"]
        client.shutdown()
        outside = NrpCore("localhost:5345", experiment_folder=dirpath,
                          args='-o EngineConfigs.1.dataDirectory="../elsewhere"')
        text = _refusal(outside.initialize)
        assert "outside the experiment directory" in text
        assert "simulation_config.json" in text and "_embedded" not in text
        outside.shutdown()
        assert not os.path.exists(os.path.join(os.path.dirname(dirpath), "elsewhere"))
    finally:
        kit.remove(dirpath)


def test_datatransfer_refuses_json_datapacks_naming_the_users_function():
    tf = """
    from nrp_core import *
    from nrp_core.data.nrp_json import JsonDataPack


    @TransceiverFunction("datatransfer_engine")
    def to_files():
        out = JsonDataPack("text", "datatransfer_engine")
        out.data["x"] = 1
        return [out]
    """
    dirpath = _experiment(tf, _datatransfer([{"name": "text", "file": True}]))
    try:
        client = NrpCore("localhost:5345", experiment_folder=dirpath)
        client.initialize()
        text = _refusal(client.run_loop, 1)
        assert "protobuf datapacks only" in text and '"text"' in text
        assert 'tf.py", line 5' in text and "_embedded" not in text
        assert client.current_state() == "Failed"
        client.shutdown()
    finally:
        kit.remove(dirpath)


def test_datatransfer_refuses_datapacks_that_are_not_dumped():
    dirpath = _experiment(engine=_datatransfer([{"name": "text", "file": True}]))
    try:
        client = NrpCore("localhost:5345", experiment_folder=dirpath)
        client.initialize()
        assert "DataPack line is not registered in engine datatransfer_engine" in _refusal(client.run_loop, 1)
        client.shutdown()
    finally:
        kit.remove(dirpath)


def test_datatransfer_client_proto_datapacks_are_logged_and_json_ones_refused():
    dirpath = _experiment("", _datatransfer([{"name": "from_client", "file": True}]))
    try:
        from nrp_core.data.nrp_protobuf import DumpString

        client = NrpCore("localhost:5345", experiment_folder=dirpath)
        client.initialize()
        client.set_proto_datapack("from_client", "datatransfer_engine", DumpString(string_stream="hello"))
        assert len(client._proto_datapack_out_buffer) == 1
        client.run_loop(2)  # re-sent on every sync until reset, as in nrp-core
        assert client._proto_datapack_out_buffer == []
        folder, _ = _files(dirpath)
        assert _lines(folder, "from_client-0.data") == ["0.000000,hello", "0.010000,hello"]
        client.set_json_datapack("from_client", "datatransfer_engine", {"x": 1})
        assert "accepts protobuf datapacks only" in _refusal(client.run_loop, 1)
        client.shutdown()
    finally:
        kit.remove(dirpath)


def test_datatransfer_without_a_broker_warns_once_and_keeps_logging_files():
    dumps = [{"name": "text", "file": True, "network": True}]
    tf = TF.replace("return [text, line, grid, cube, number, flag, flags]", "return [text]")
    dirpath = _experiment(tf, _datatransfer(dumps))
    try:
        # a port nothing listens on (refused at once)
        client = NrpCore("localhost:5345", experiment_folder=dirpath, args='-o EngineConfigs.1.MQTTBroker="127.0.0.1:9"')
        warnings = io.StringIO()
        with contextlib.redirect_stderr(warnings):
            client.initialize()
            client.run_loop(20)
        assert warnings.getvalue().count("cannot connect to the MQTT broker 127.0.0.1:9") == 1
        folder, _ = _files(dirpath)
        assert len(_lines(folder, "text-0.data")) == 20
        client.shutdown()
    finally:
        kit.remove(dirpath)


def test_datatransfer_checks_its_configuration_at_initialize():
    for dumps, expected in (([{"file": True}], 'must be an object with a "name"'),
                            ([{"name": "a", "file": "yes"}], "dumps.0.file must be true or false"),
                            ([{"name": "a", "file": True}, {"name": "a"}], "listed twice"),
                            ([{"name": "../a", "file": True}], "cannot be a file name"),
                            ([{"name": "a+b", "network": True}], "cannot be an MQTT topic")):
        dirpath = _experiment("", _datatransfer(dumps))
        try:
            client = NrpCore("localhost:5345", experiment_folder=dirpath)
            text = _refusal(client.initialize)
            assert expected in text, text
            client.shutdown()
        finally:
            kit.remove(dirpath)


def test_datatransfer_gets_are_empty_and_unknown_names_refused():
    sf = """
    from nrp_core import *


    @EngineDataPack(keyword="t", id=DataPackIdentifier("text", "datatransfer_engine"))
    @StatusFunction()
    def status(t):
        return False, [{"data": t.data.to_python()}]
    """
    dirpath = _experiment("", _datatransfer([{"name": "text", "file": True}]))
    try:
        with open(os.path.join(dirpath, "sf.py"), "w", encoding="utf-8") as f:
            f.write(sf.replace("\n    ", "\n"))
        kit.write_config(dirpath, {"SimulationTimeout": 1,
                                   "EngineConfigs": [kit.python_engine("python_1", "engine.py"),
                                                     _datatransfer([{"name": "text", "file": True}])],
                                   "StatusFunction": kit.function("status", "sf.py")})
        client = NrpCore("localhost:5345", experiment_folder=dirpath)
        assert client.initialize() == [None]
        client.shutdown()
        kit.write_config(dirpath, {"SimulationTimeout": 1,
                                   "EngineConfigs": [kit.python_engine("python_1", "engine.py"), _datatransfer([])],
                                   "StatusFunction": kit.function("status", "sf.py")})
        client = NrpCore("localhost:5345", experiment_folder=dirpath)
        assert "DataPack text is not registered in engine datatransfer_engine" in _refusal(client.initialize)
        client.shutdown()
    finally:
        kit.remove(dirpath)
