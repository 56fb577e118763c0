"""Several clients in one process: no shared module state, nothing left in
sys.modules or sys.path after shutdown, and the current directory untouched."""

import os
import sys
import threading

import nrpcore_testkit as kit
from nrp_client import NrpCore

COUNTING_ENGINE = """
from nrp_core.engines.python_json import EngineScript
import counting_helper_{tag} as helper

STEPS = 0


class Script(EngineScript):
    def initialize(self):
        self._registerDataPack("count")
        self._setDataPack("count", {{"steps": STEPS, "helper": helper.CALLS}})

    def runLoop(self, timestep_ns):
        global STEPS
        STEPS += 1
        helper.CALLS += 1
        self._setDataPack("count", {{"steps": STEPS, "helper": helper.CALLS}})
"""

COUNTING_SF = """
from nrp_core import *

seen = []


@EngineDataPack(keyword="count", id=DataPackIdentifier("count", "python_1"))
@StatusFunction()
def sf(count):
    seen.append(count.data["steps"])
    return True, [count, {{"calls": len(seen)}}]
"""


def _experiment(tag):
    files = {"engine.py": COUNTING_ENGINE.format(tag=tag), "sf.py": COUNTING_SF.format(),
             f"counting_helper_{tag}.py": "CALLS = 0\n"}
    config = {"SimulationTimeout": 1, "EngineConfigs": [kit.python_engine("python_1", "engine.py")],
              "StatusFunction": kit.function("sf", "sf.py")}
    return kit.make_experiment(files, config)


def _embedded_modules():
    return sorted(name for name in sys.modules if name.startswith("_nrp_embedded_") or "counting_helper_" in name)


def test_isolation_two_interleaved_clients_of_one_experiment_do_not_share_state():
    tag = f"i{os.getpid()}a"
    dirpath = _experiment(tag)
    try:
        before_path = list(sys.path)
        first = NrpCore("localhost:5345", experiment_folder=dirpath)
        second = NrpCore("localhost:5345", experiment_folder=dirpath)
        first.initialize()
        second.initialize()
        assert first.run_loop(3)[1][-2:] == [{"steps": 2, "helper": 2}, {"calls": 3}]
        assert second.run_loop(1)[1] == [{"steps": 0, "helper": 0}, {"calls": 1}]
        assert first.run_loop(1)[1] == [{"steps": 3, "helper": 3}, {"calls": 4}]
        assert second.run_loop(1)[1] == [{"steps": 1, "helper": 1}, {"calls": 2}]
        first.shutdown()
        assert second.run_loop(1)[1] == [{"steps": 2, "helper": 2}, {"calls": 3}]
        second.shutdown()
        assert _embedded_modules() == []
        assert sys.path == before_path
    finally:
        kit.remove(dirpath)


def test_isolation_modules_and_sys_path_are_cleaned_up_after_shutdown():
    tag = f"i{os.getpid()}b"
    dirpath = _experiment(tag)
    try:
        cwd = os.getcwd()
        before_path = list(sys.path)
        client = NrpCore("localhost:5345", experiment_folder=dirpath)
        client.initialize()
        names = _embedded_modules()
        assert any(name.endswith("_functions") for name in names)
        assert any("_engine_0" in name for name in names)
        assert any(name.endswith(f"_sibling_counting_helper_{tag}") for name in names)
        assert sys.path == before_path
        client.run_loop(2)
        client.shutdown()
        assert _embedded_modules() == []
        assert sys.path == before_path
        assert os.getcwd() == cwd
        # a new client starts from scratch
        again = NrpCore("localhost:5345", experiment_folder=dirpath)
        again.initialize()
        assert again.run_loop(2)[1][-2:] == [{"steps": 1, "helper": 1}, {"calls": 2}]
        again.shutdown()
    finally:
        kit.remove(dirpath)


def test_isolation_failed_initialize_is_cleaned_up_by_shutdown():
    dirpath = kit.make_experiment({"engine.py": "raise ImportError('no such simulator')\n"},
                                  {"EngineConfigs": [kit.python_engine("python_1", "engine.py")]})
    try:
        before_path = list(sys.path)
        client = NrpCore("localhost:5345", experiment_folder=dirpath)
        try:
            client.initialize()
        except RuntimeError:
            pass
        client.shutdown()
        assert _embedded_modules() == []
        assert sys.path == before_path
    finally:
        kit.remove(dirpath)


def test_isolation_concurrent_clients_on_two_threads():
    tags = [f"i{os.getpid()}c", f"i{os.getpid()}d"]
    dirs = [_experiment(tag) for tag in tags]
    results = {}
    errors = []

    def run(index):
        try:
            client = NrpCore("localhost:5345", experiment_folder=dirs[index])
            client.initialize()
            for _ in range(50):
                done, trajectory = client.run_loop(1)
            results[index] = trajectory
            client.shutdown()
        except Exception as e:  # reported below
            errors.append(e)

    try:
        threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert errors == []
        for index in range(2):
            assert results[index] == [{"steps": 49, "helper": 49}, {"calls": 50}]
        assert _embedded_modules() == []
    finally:
        for dirpath in dirs:
            kit.remove(dirpath)
