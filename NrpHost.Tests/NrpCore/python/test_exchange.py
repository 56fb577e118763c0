"""Two-engine exchange (nrp-core's tf_exchange): 100 cycles in 1 s, engine 2 one step behind."""

import os
import re

import nrpcore_testkit as kit
from nrp_client import NrpCore

ENGINE_1 = """
from nrp_core.engines.python_json import EngineScript


class Script(EngineScript):
    def initialize(self):
        print("Engine 1 is initializing")
        self._registerDataPack("datapack1")
        self._setDataPack("datapack1", {"time": self._time_ns, "timestep": 0})

    def runLoop(self, timestep_ns):
        self._setDataPack("datapack1", {"time": self._time_ns, "timestep": timestep_ns})
        print("DataPack 1 data is " + str(self._getDataPack("datapack1")))

    def shutdown(self):
        print("Engine 1 is shutting down")
"""

ENGINE_2 = """
from nrp_core.engines.python_json import EngineScript


class Script(EngineScript):
    def initialize(self):
        print("Engine 2 is initializing")
        self._registerDataPack("rec_datapack2")
        self._setDataPack("rec_datapack2", {"time": 0, "timestep": 0})

    def runLoop(self, timestep_ns):
        print("Engine 2 received data is " + str(self._getDataPack("rec_datapack2")))

    def shutdown(self):
        print("Engine 2 is shutting down")
"""

TF_1 = """
from nrp_core import *
from nrp_core.data.nrp_json import JsonDataPack


@EngineDataPack(keyword="datapack_python", id=DataPackIdentifier("datapack1", "python_1"))
@TransceiverFunction("python_2")
def transceiver_function(datapack_python):
    rec = JsonDataPack("rec_datapack2", "python_2")
    for key in datapack_python.data.keys():
        rec.data[key] = datapack_python.data[key]
    return [rec]
"""

CONFIG = {
    "SimulationName": "tf_exchange",
    "SimulationTimeout": 1,
    "EngineConfigs": [
        kit.python_engine("python_1", "engine_1.py"),
        kit.python_engine("python_2", "engine_2.py"),
    ],
    "DataPackProcessingFunctions": [kit.function("tf_1", "tf_1.py")],
}


def _experiment():
    return kit.make_experiment({"engine_1.py": ENGINE_1, "engine_2.py": ENGINE_2, "tf_1.py": TF_1}, CONFIG)


def _times(output, prefix):
    return [int(m.group(1)) for m in re.finditer(re.escape(prefix) + r"\{'time': (\d+)", output)]


def test_exchange_initialize_returns_the_requested_datapack():
    dirpath = _experiment()
    try:
        client = NrpCore("localhost:5345", experiment_folder=dirpath)
        with kit.captured_stdout():
            assert client.initialize() == [{"time": 0, "timestep": 0}]
            assert client.current_state() == "Initialized"
            client.shutdown()
    finally:
        kit.remove(dirpath)


def test_exchange_runs_100_cycles_with_engine_2_one_step_behind():
    dirpath = _experiment()
    try:
        client = NrpCore("localhost:5345", experiment_folder=dirpath)
        with kit.captured_stdout() as out:
            client.initialize()
            result = client.run_until_timeout()
            client.shutdown()
        text = out.getvalue()
        assert result == (False, True, [])
        engine_1 = _times(text, "DataPack 1 data is ")
        engine_2 = _times(text, "Engine 2 received data is ")
        assert engine_1 == [10000000 * k for k in range(1, 101)]
        assert engine_2 == [10000000 * (k - 1) for k in range(1, 101)]
        assert "{'time': 1000000000, 'timestep': 10000000}" in text
        assert "Engine 2 received data is {'time': 0, 'timestep': 0}" in text
        assert "Engine 1 is initializing" in text and "Engine 2 is shutting down" in text
    finally:
        kit.remove(dirpath)


def test_exchange_client_sequence_from_the_nrp_core_docs():
    dirpath = _experiment()
    try:
        client = NrpCore("localhost:5345", experiment_folder=dirpath)
        with kit.captured_stdout() as out:
            client.initialize()
            assert client.run_loop(10) == (False, [])
            assert client.current_state() == "Stopped"
            assert client.reset() == [{"time": 10000000 * 10, "timestep": 10000000}]
            assert client.current_state() == "Initialized"
            done, timeout, trajectory = client.run_until_timeout()
            client.shutdown()
        assert (done, timeout, trajectory) == (False, True, [])
        assert client.current_state() == "Created"
        # 10 steps, then 100 more from time 0 after the reset
        engine_1 = _times(out.getvalue(), "DataPack 1 data is ")
        assert engine_1 == [10000000 * k for k in range(1, 11)] + [10000000 * k for k in range(1, 101)]
    finally:
        kit.remove(dirpath)


def test_exchange_config_file_relative_to_cwd_without_experiment_folder():
    dirpath = _experiment()
    try:
        # an absolute config path with no experiment folder: files resolve next to the config
        client = NrpCore("localhost:5345", config_file=os.path.join(dirpath, "simulation_config.json"))
        assert client.experiment_folder == dirpath
        with kit.captured_stdout():
            client.initialize()
            assert client.run_loop(2) == (False, [])
            client.shutdown()
    finally:
        kit.remove(dirpath)


def test_exchange_old_import_path_is_the_same_client():
    from nrp_core.client import NrpCore as OldNrpCore
    assert OldNrpCore is NrpCore
