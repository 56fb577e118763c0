"""Client state rules and error mapping, as nrp-core's client and server report them."""

import json
import os

import nrpcore_testkit as kit
from nrp_client import NrpCore
from nrp_client import NrpCoreRequestError
from nrp_core._embedded.protobuf import unpack_any

FAILING_ENGINE = """
from nrp_core.engines.python_json import EngineScript


class Script(EngineScript):
    def initialize(self):
        self._registerDataPack("d")
        self._setDataPack("d", {"n": 0})

    def runLoop(self, timestep_ns):
        if self._time_ns >= 30000000:
            raise ValueError("engine exploded")
"""


def _simple():
    config = {"SimulationTimeout": 1, "EngineConfigs": [kit.python_engine("python_1", "engine.py")]}
    return kit.make_experiment({"engine.py": kit.time_engine("d")}, config)


def _raises(exc_type, call, *args):
    try:
        call(*args)
    except exc_type as e:
        return e
    raise AssertionError(f"{call} did not raise {exc_type.__name__}")


def test_errors_requests_before_initialize_are_refused():
    dirpath = _simple()
    try:
        client = NrpCore("localhost:5345", experiment_folder=dirpath)
        error = _raises(ConnectionError, client.run_loop, 1)
        assert "Created" in str(error)
        _raises(ConnectionError, client.run_until_timeout)
        _raises(ConnectionError, client.reset)
        _raises(ConnectionError, client.stop)
        _raises(ConnectionError, client.shutdown)
        assert client.current_state() == "Created"
        client.initialize()
        client.shutdown()
    finally:
        kit.remove(dirpath)


def test_errors_second_initialize_is_refused():
    dirpath = _simple()
    try:
        client = NrpCore("localhost:5345", experiment_folder=dirpath)
        client.initialize()
        _raises(ConnectionError, client.initialize)
        assert client.current_state() == "Initialized"
        client.shutdown()
    finally:
        kit.remove(dirpath)


def test_errors_closed_client_refuses_everything():
    dirpath = _simple()
    try:
        client = NrpCore("localhost:5345", experiment_folder=dirpath)
        client.initialize()
        client.shutdown()
        assert client.current_state() == "Created"
        for call in (client.initialize, client.run_until_timeout, client.reset, client.shutdown, client.stop):
            _raises(ChildProcessError, call)
        _raises(ChildProcessError, client.run_loop, 1)
    finally:
        kit.remove(dirpath)


def test_errors_failure_in_a_step_moves_to_failed_and_only_shutdown_remains():
    config = {"SimulationTimeout": 1, "EngineConfigs": [kit.python_engine("python_1", "engine.py")]}
    dirpath = kit.make_experiment({"engine.py": FAILING_ENGINE}, config)
    try:
        client = NrpCore("localhost:5345", experiment_folder=dirpath)
        client.initialize()
        assert client.run_loop(2) == (False, [])
        error = _raises(RuntimeError, client.run_loop, 5)
        assert isinstance(error, NrpCoreRequestError)
        assert str(error).startswith('Request failed with error "ValueError: engine exploded')
        assert str(error).endswith('The only possible action now is "shutdown()".')
        assert isinstance(error.__cause__, ValueError)
        assert client.current_state() == "Failed"
        for call in (client.initialize, client.run_until_timeout, client.reset, client.stop):
            _raises(ConnectionError, call)
        _raises(ConnectionError, client.run_loop, 1)
        client.shutdown()
        assert client.current_state() == "Created"
    finally:
        kit.remove(dirpath)


def test_errors_missing_or_invalid_config_fails_at_construction():
    dirpath = _simple()
    try:
        _raises(FileNotFoundError, NrpCore, "localhost:5345", dirpath, "missing.json")
        with open(os.path.join(dirpath, "broken.json"), "w") as f:
            f.write("{ not json")
        _raises(ValueError, NrpCore, "localhost:5345", dirpath, "broken.json")
        kit.write_config(dirpath, {"EngineConfigs": [{"EngineName": "x"}]}, "no_type.json")
        error = _raises(ValueError, NrpCore, "localhost:5345", dirpath, "no_type.json")
        assert "EngineType" in str(error)
        kit.write_config(dirpath, {"EngineConfigs": [kit.python_engine("a", "engine.py"),
                                                     kit.python_engine("a", "engine.py")]}, "dup.json")
        _raises(ValueError, NrpCore, "localhost:5345", dirpath, "dup.json")
    finally:
        kit.remove(dirpath)


def test_errors_missing_engine_or_function_file_fails_initialize():
    config = {"EngineConfigs": [kit.python_engine("python_1", "nope.py")]}
    dirpath = kit.make_experiment({}, config)
    try:
        client = NrpCore("localhost:5345", experiment_folder=dirpath)
        error = _raises(RuntimeError, client.initialize)
        assert "nope.py" in str(error)
        assert client.current_state() == "Failed"
        client.shutdown()
        kit.write_config(dirpath, {"EngineConfigs": [], "DataPackProcessingFunctions": [kit.function("tf", "tf.py")]})
        client = NrpCore("localhost:5345", experiment_folder=dirpath)
        _raises(RuntimeError, client.initialize)
        client.shutdown()
    finally:
        kit.remove(dirpath)


def test_errors_transceiver_function_must_return_a_list():
    tf = """
    from nrp_core import *


    @TransceiverFunction("python_1")
    def tf():
        return None
    """
    config = {"EngineConfigs": [kit.python_engine("python_1", "engine.py")],
              "DataPackProcessingFunctions": [kit.function("tf", "tf.py")]}
    dirpath = kit.make_experiment({"engine.py": kit.time_engine("d"), "tf.py": tf}, config)
    try:
        client = NrpCore("localhost:5345", experiment_folder=dirpath)
        client.initialize()
        error = _raises(RuntimeError, client.run_loop, 1)
        assert "Transceiver functions must return a list of DataPacks" in str(error)
        assert error.file_name == os.path.join(dirpath, "tf.py")
        client.shutdown()
    finally:
        kit.remove(dirpath)


def test_errors_function_file_must_register_exactly_one_function():
    tf = """
    from nrp_core import *


    @TransceiverFunction("python_1")
    def tf_a():
        return []


    @TransceiverFunction("python_1")
    def tf_b():
        return []
    """
    config = {"EngineConfigs": [kit.python_engine("python_1", "engine.py")],
              "DataPackProcessingFunctions": [kit.function("tf", "tf.py")]}
    dirpath = kit.make_experiment({"engine.py": kit.time_engine("d"), "tf.py": tf}, config)
    try:
        client = NrpCore("localhost:5345", experiment_folder=dirpath)
        error = _raises(RuntimeError, client.initialize)
        assert "exactly one" in str(error)
        client.shutdown()
    finally:
        kit.remove(dirpath)


def test_errors_run_loop_rejects_negative_iterations():
    dirpath = _simple()
    try:
        client = NrpCore("localhost:5345", experiment_folder=dirpath)
        client.initialize()
        _raises(ValueError, client.run_loop, -1)
        assert client.current_state() == "Initialized"
        client.shutdown()
    finally:
        kit.remove(dirpath)


def test_errors_client_payload_must_be_json():
    dirpath = _simple()
    try:
        client = NrpCore("localhost:5345", experiment_folder=dirpath)
        _raises(TypeError, client.set_json_datapack, "d", "python_1", {"x": object()})
        _raises(TypeError, client.set_proto_datapack, "d", "python_1", {"x": 1})
        client.set_json_datapack("d", "python_1", {"x": [1, 2]})
        # buffered as nrp-core buffers it: a DataPackMessage packing a JsonMessage
        message = client._json_datapack_out_buffer[0]
        assert message.dataPackId.dataPackName == "d" and message.dataPackId.engineName == "python_1"
        assert message.data.type_url == "type.googleapis.com/NrpCore.JsonMessage"
        assert json.loads(unpack_any(message.data).data) == {"x": [1, 2]}
    finally:
        kit.remove(dirpath)
