"""Details of nrp-core 1.4.1's python client that scripts rely on."""

import contextlib
import io
import threading

import nrpcore_testkit as kit
from nrp_client import NrpCore, NrpCoreRequestError

UNREGISTERED = """
from nrp_core.engines.python_json import EngineScript


class Script(EngineScript):
    def initialize(self):
        self._registerDataPack("d")
        self._setDataPack("d", {"time": 0})
"""

TF_TO_UNREGISTERED = """
from nrp_core import *
from nrp_core.data.nrp_json import JsonDataPack


@TransceiverFunction("python_1")
def tf():
    return [JsonDataPack("typo", "python_1")]
"""


def _experiment(engine=None, config_extra=None, engine_extra=None, tf=None):
    config = {"SimulationTimeout": 1,
              "EngineConfigs": [kit.python_engine("python_1", "engine.py", **(engine_extra or {}))]}
    files = {"engine.py": engine or kit.time_engine("d")}
    if tf:
        files["tf.py"] = tf
        config["DataPackProcessingFunctions"] = [kit.function("tf", "tf.py")]
    config.update(config_extra or {})
    return kit.make_experiment(files, config)


def test_client_api_second_positional_argument_is_run_async():
    dirpath = _experiment()
    try:
        client = NrpCore("localhost:5345", experiment_folder=dirpath)
        client.initialize()
        response = []
        thread = client.run_loop(3, True, response)
        assert isinstance(thread, threading.Thread)
        thread.join(10)
        assert client.unpack_thread_results(response) == (False, [])
        # a falsy second argument (the NRP backend's json_data=None) runs synchronously
        assert client.run_loop(1, None) == (False, [])
        client.shutdown()
    finally:
        kit.remove(dirpath)


def test_client_api_datapack_buffers_are_nrp_cores_attributes():
    dirpath = _experiment()
    try:
        client = NrpCore("localhost:5345", experiment_folder=dirpath)
        assert client._json_datapack_out_buffer == [] and client._proto_datapack_out_buffer == []
        client.set_json_datapack("d", "python_1", {"time": 5})
        assert len(client._json_datapack_out_buffer) == 1 and client._proto_datapack_out_buffer == []
        client.initialize()
        client.run_loop(1)
        assert client._json_datapack_out_buffer == []
        client.shutdown()
    finally:
        kit.remove(dirpath)


def test_client_api_engine_script_module_path():
    from nrp_core.engines.python_json import EngineScript as Short
    from nrp_core.engines.python_json.engine_script import EngineScript

    assert EngineScript is Short
    engine = UNREGISTERED.replace("from nrp_core.engines.python_json import EngineScript",
                                  "from nrp_core.engines.python_json.engine_script import EngineScript")
    dirpath = _experiment(engine)
    try:
        client = NrpCore("localhost:5345", experiment_folder=dirpath)
        client.initialize()
        assert client.run_loop(1) == (False, [])
        client.shutdown()
    finally:
        kit.remove(dirpath)


def test_client_api_constructor_refuses_a_bad_server_address():
    dirpath = _experiment()
    try:
        for bad in ("garbage_address", "localhost", "localhost:0", "localhost:70000", "::1:5345", "", "host name:1"):
            try:
                NrpCore(bad, experiment_folder=dirpath)
                raise AssertionError(f"{bad!r} was accepted")
            except TimeoutError as e:
                assert "Timeout while connecting to NRP Server" in str(e) and repr(bad)[1:-1] in str(e)
        try:
            NrpCore(5345, experiment_folder=dirpath)
            raise AssertionError("a number was accepted as the address")
        except TypeError:
            pass
        for good in ("localhost:5345", "127.0.0.1:50051", "[::1]:5345", "unix:/tmp/nrp.sock", "dns:///example.org:443"):
            NrpCore(good, experiment_folder=dirpath)
    finally:
        kit.remove(dirpath)


def test_client_api_one_warning_line_names_ignored_launcher_settings():
    dirpath = _experiment(engine_extra={"ServerAddress": "localhost:9100",
                                        "EngineLaunchCommand": {"LaunchType": "DockerLauncher", "ImageName": "x"}})
    try:
        stderr = io.StringIO()
        with contextlib.redirect_stderr(stderr):
            NrpCore("localhost:5345", experiment_folder=dirpath, image_name="nrp-vanilla")
        lines = stderr.getvalue().splitlines()
        assert len(lines) == 1
        for name in ("python_1.ServerAddress", "python_1.EngineLaunchCommand (DockerLauncher)", "image_name"):
            assert name in lines[0]
        plain = _experiment()
        quiet = io.StringIO()
        with contextlib.redirect_stderr(quiet):
            NrpCore("localhost:5345", experiment_folder=plain)
        kit.remove(plain)
        assert quiet.getvalue() == ""  # defaults are not named
    finally:
        kit.remove(dirpath)


def test_client_api_refusals_name_the_users_file_and_line():
    dirpath = _experiment(UNREGISTERED, tf=TF_TO_UNREGISTERED)
    try:
        client = NrpCore("localhost:5345", experiment_folder=dirpath)
        client.initialize()
        try:
            client.run_loop(1)
            raise AssertionError("an unregistered datapack was accepted")
        except NrpCoreRequestError as error:
            e = error
            text = str(e)
        # the engine script must register the datapack: its initialize() is named, not the runtime's code
        assert 'received DataPack "typo"' in text
        assert 'engine.py", line 5' in text and "_embedded" not in text
        assert e.file_name.endswith("engine.py") and e.line_number == 5
        client.shutdown()
        broken = _experiment(config_extra={"SimulationLoop": "EventLoop"})
        try:
            client = NrpCore("localhost:5345", experiment_folder=broken)
            try:
                client.initialize()
                raise AssertionError("EventLoop was accepted")
            except NrpCoreRequestError as e:
                assert "simulation_config.json" in str(e) and "line " in str(e) and "_embedded" not in str(e)
            client.shutdown()
        finally:
            kit.remove(broken)
    finally:
        kit.remove(dirpath)
