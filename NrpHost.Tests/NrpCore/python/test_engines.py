"""Engines and functions: unsupported engine types, user
error locations, EngineScript helpers, preprocessing functions and inputs."""

import os
import traceback

import nrpcore_testkit as kit
from nrp_client import NrpCore
from nrp_core.engines.python_json import EngineScript


def _raises(exc_type, call, *args):
    try:
        call(*args)
    except exc_type as e:
        return e
    raise AssertionError(f"{call} did not raise {exc_type.__name__}")


def _run_client(files, config, steps=1, **kwargs):
    """initialize + run_loop(steps) + shutdown; returns (initial, result)."""
    dirpath = kit.make_experiment(files, config)
    client = None
    try:
        client = NrpCore("localhost:5345", experiment_folder=dirpath, **kwargs)
        initial = client.initialize()
        result = client.run_loop(steps)
        return initial, result
    finally:
        if client is not None and client.current_state() != "Created":
            client.shutdown()
        kit.remove(dirpath)


def test_engines_unknown_engine_type_needs_a_real_nrp_core():
    config = {"EngineConfigs": [kit.python_engine("python_1", "engine.py"),
                                {"EngineType": "gazebo_grpc", "EngineName": "gazebo"}]}
    dirpath = kit.make_experiment({"engine.py": kit.time_engine("d")}, config)
    try:
        client = NrpCore("localhost:5345", experiment_folder=dirpath)
        error = _raises(RuntimeError, client.initialize)
        message = str(error)
        assert "gazebo_grpc" in message and "gazebo" in message
        assert "real nrp-core installation" in message
        assert "NrpHost:NrpCore:Mode=External" in message
        assert client.current_state() == "Failed"
        client.shutdown()
    finally:
        kit.remove(dirpath)


def test_engines_event_loop_and_computational_graph_need_a_real_nrp_core():
    for extra in ({"SimulationLoop": "EventLoop"}, {"DataPackProcessor": "cg"},
                  {"ExternalProcesses": [{"ProcCmd": "sleep"}]}):
        config = dict({"EngineConfigs": [kit.python_engine("python_1", "engine.py")]}, **extra)
        dirpath = kit.make_experiment({"engine.py": kit.time_engine("d")}, config)
        try:
            client = NrpCore("localhost:5345", experiment_folder=dirpath)
            error = _raises(RuntimeError, client.initialize)
            assert "real nrp-core installation" in str(error)
            client.shutdown()
        finally:
            kit.remove(dirpath)


def test_engines_error_in_engine_code_carries_file_and_line():
    engine = """
    from nrp_core.engines.python_json import EngineScript


    class Script(EngineScript):
        def runLoop(self, timestep_ns):
            value = 1
            value = value / 0
    """
    dirpath = kit.make_experiment({"engine.py": engine},
                                  {"EngineConfigs": [kit.python_engine("python_1", "engine.py")]})
    try:
        client = NrpCore("localhost:5345", experiment_folder=dirpath)
        client.initialize()
        error = _raises(RuntimeError, client.run_loop, 1)
        path = os.path.join(dirpath, "engine.py")
        assert (error.file_name, error.line_number) == (path, 7)
        assert isinstance(error.__cause__, ZeroDivisionError)
        innermost = traceback.extract_tb(error.__traceback__)[-1]
        assert (innermost.filename, innermost.lineno) == (path, 7)
        assert f'File "{path}", line 7' in str(error)
        client.shutdown()
    finally:
        kit.remove(dirpath)


def test_engines_error_in_function_code_carries_file_and_line():
    tf = """
    from nrp_core import *


    @EngineDataPack(keyword="d", id=DataPackIdentifier("d", "python_1"))
    @TransceiverFunction("python_1")
    def tf(d):
        return [d.data["missing"]]
    """
    config = {"EngineConfigs": [kit.python_engine("python_1", "engine.py")],
              "DataPackProcessingFunctions": [kit.function("tf", "tf.py")]}
    dirpath = kit.make_experiment({"engine.py": kit.time_engine("d"), "tf.py": tf}, config)
    try:
        client = NrpCore("localhost:5345", experiment_folder=dirpath)
        client.initialize()
        error = _raises(RuntimeError, client.run_loop, 1)
        assert (error.file_name, error.line_number) == (os.path.join(dirpath, "tf.py"), 7)
        assert isinstance(error.__cause__, KeyError)
        client.shutdown()
    finally:
        kit.remove(dirpath)


def test_engines_syntax_error_in_a_file_carries_file_and_line():
    tf = """
    from nrp_core import *

    def broken(:
        pass
    """
    config = {"EngineConfigs": [kit.python_engine("python_1", "engine.py")],
              "DataPackProcessingFunctions": [kit.function("tf", "tf.py")]}
    dirpath = kit.make_experiment({"engine.py": kit.time_engine("d"), "tf.py": tf}, config)
    try:
        client = NrpCore("localhost:5345", experiment_folder=dirpath)
        error = _raises(RuntimeError, client.initialize)
        assert isinstance(error.__cause__, SyntaxError)
        assert (error.file_name, error.line_number) == (os.path.join(dirpath, "tf.py"), 3)
        client.shutdown()
    finally:
        kit.remove(dirpath)


def test_engines_script_must_subclass_engine_script():
    dirpath = kit.make_experiment({"engine.py": "class Script:\n    pass\n"},
                                  {"EngineConfigs": [kit.python_engine("python_1", "engine.py")]})
    try:
        client = NrpCore("localhost:5345", experiment_folder=dirpath)
        error = _raises(RuntimeError, client.initialize)
        assert "EngineScript" in str(error)
        client.shutdown()
    finally:
        kit.remove(dirpath)


def test_engines_engine_script_helpers():
    script = EngineScript()
    assert script._time_ns == 0
    script._registerDataPack("a")
    _raises(Exception, script._registerDataPack, "a")
    assert script._getDataPack("a") is None
    script._setDataPack("a", {"x": 1})
    assert script._getDataPack("a") == {"x": 1}
    _raises(Exception, script._setDataPack, "b", {})
    _raises(Exception, script._getDataPack, "b")
    assert script._getRegisteredDataPackNames() == ["a"]
    script._advanceTime(5)
    assert script._time_ns == 5
    script._name = "engine"
    assert script._getEngineName() == "engine"


def test_engines_reset_zeroes_time_after_the_script_reset_unless_it_raises():
    engine = """
    from nrp_core.engines.python_json import EngineScript


    class Script(EngineScript):
        def initialize(self):
            self._registerDataPack("d")
            self._setDataPack("d", {"time": 0})
            self.fail = False

        def runLoop(self, timestep_ns):
            self._setDataPack("d", {"time": self._time_ns})
            self.fail = True

        def reset(self):
            self._setDataPack("d", {"time": self._time_ns})
            if self.fail and self._time_ns > 30000000:
                raise RuntimeError("cannot reset")
    """
    sf = """
    from nrp_core import *


    @EngineDataPack(keyword="d", id=DataPackIdentifier("d", "python_1"))
    @StatusFunction()
    def sf(d):
        return False, []
    """
    config = {"EngineConfigs": [kit.python_engine("python_1", "engine.py")], "StatusFunction": kit.function("sf", "sf.py")}
    dirpath = kit.make_experiment({"engine.py": engine, "sf.py": sf}, config)
    try:
        client = NrpCore("localhost:5345", experiment_folder=dirpath)
        client.initialize()
        client.run_loop(2)
        # reset() sees the pre-reset time; the data fetched afterwards shows it
        assert client.reset() == [{"time": 20000000}]
        script = client._sim.engines[0].script
        assert script._time_ns == 0
        client.run_loop(4)
        _raises(RuntimeError, client.reset)
        assert script._time_ns == 40000000
        client.shutdown()
    finally:
        kit.remove(dirpath)


def test_engines_datapack_sent_to_an_unregistered_name_fails():
    tf = """
    from nrp_core import *
    from nrp_core.data.nrp_json import JsonDataPack


    @TransceiverFunction("python_1")
    def tf():
        return [JsonDataPack("unknown", "python_1")]
    """
    config = {"EngineConfigs": [kit.python_engine("python_1", "engine.py")],
              "DataPackProcessingFunctions": [kit.function("tf", "tf.py")]}
    dirpath = kit.make_experiment({"engine.py": kit.time_engine("d"), "tf.py": tf}, config)
    try:
        client = NrpCore("localhost:5345", experiment_folder=dirpath)
        client.initialize()
        error = _raises(RuntimeError, client.run_loop, 1)
        assert "unknown" in str(error)
        client.shutdown()
    finally:
        kit.remove(dirpath)


PF_FILES = {
    "engine_1.py": kit.time_engine("raw"),
    "engine_2.py": """
    from nrp_core.engines.python_json import EngineScript


    class Script(EngineScript):
        def initialize(self):
            self._registerDataPack("input")
            self._registerDataPack("seen")
            self._setDataPack("seen", [])

        def runLoop(self, timestep_ns):
            self._setDataPack("seen", self._getDataPack("seen") + [self._getDataPack("input")])
    """,
    "pf.py": """
    from nrp_core import *
    from nrp_core.data.nrp_json import JsonDataPack


    @EngineDataPack(keyword="raw", id=DataPackIdentifier("raw", "python_1"))
    @PreprocessingFunction("python_1")
    def pf(raw):
        out = JsonDataPack("scaled", "python_1")
        out.data["ms"] = raw.data["time"] // 1000000
        return [out]
    """,
    "tf.py": """
    from nrp_core import *
    from nrp_core.data.nrp_json import JsonDataPack


    @PreprocessedDataPack(keyword="scaled", id=DataPackIdentifier("scaled", "python_1"))
    @EngineDataPacks(keyword="packs", datapackNames=["raw"], engineName="python_1")
    @SimulationTime(keyword="t")
    @SimulationIteration(keyword="i")
    @TransceiverFunction("python_1")
    def tf(scaled, packs, t, i):
        out = JsonDataPack("input", "python_2")
        out.data["ms"] = scaled.data["ms"]
        out.data["raw"] = packs["raw"].data["time"]
        out.data["t"] = t
        out.data["i"] = i
        out.data["fresh"] = scaled.isUpdated()
        return [out]
    """,
    "sf.py": """
    from nrp_core import *


    @EngineDataPack(keyword="seen", id=DataPackIdentifier("seen", "python_2"))
    @PreprocessedDataPack(keyword="sent", id=DataPackIdentifier("input", "python_2"))
    @StatusFunction()
    def sf(seen, sent):
        # the status function also sees the transceiver functions' outputs
        return True, [seen, sent]
    """,
}


def test_engines_preprocessing_and_input_decorators():
    config = {"EngineConfigs": [kit.python_engine("python_1", "engine_1.py"), kit.python_engine("python_2", "engine_2.py")],
              "DataPackProcessingFunctions": [kit.function("pf", "pf.py"), kit.function("tf", "tf.py")],
              "StatusFunction": kit.function("sf", "sf.py")}
    _, (done, trajectory) = _run_client(PF_FILES, config, steps=3)
    assert done is True
    seen, sent = trajectory[-2], trajectory[-1]
    assert sent == {"ms": 20, "raw": 20000000, "t": 20000000, "i": 2, "fresh": True}
    # python_2 received each TF output before its step; the status function sees
    # what it had published up to the start of the third cycle
    assert seen == [{"ms": 0, "raw": 0, "t": 0, "i": 0, "fresh": True},
                    {"ms": 10, "raw": 10000000, "t": 10000000, "i": 1, "fresh": True}]


def test_engines_preprocessing_output_must_stay_on_its_engine():
    files = dict(PF_FILES)
    files["pf.py"] = PF_FILES["pf.py"].replace('JsonDataPack("scaled", "python_1")', 'JsonDataPack("scaled", "python_2")')
    config = {"EngineConfigs": [kit.python_engine("python_1", "engine_1.py"), kit.python_engine("python_2", "engine_2.py")],
              "DataPackProcessingFunctions": [kit.function("pf", "pf.py")]}
    error = _raises(RuntimeError, _run_client, files, config)
    assert "must be linked to engine" in str(error)


def test_engines_function_files_share_one_namespace_and_inactive_ones_are_skipped():
    files = {
        "engine.py": kit.time_engine("d"),
        "a.py": """
        from nrp_core import *
        shared = {"calls": 0}


        @TransceiverFunction("python_1")
        def a():
            shared["calls"] += 1
            return []
        """,
        "b.py": """
        from nrp_core import *
        from nrp_core.data.nrp_json import JsonRawData


        @StatusFunction()
        def b():
            return True, [JsonRawData({"calls": shared["calls"]})]
        """,
        "inactive.py": "raise RuntimeError('never loaded')\n",
    }
    config = {"EngineConfigs": [kit.python_engine("python_1", "engine.py")],
              "DataPackProcessingFunctions": [kit.function("a", "a.py"), kit.function("x", "inactive.py", IsActive=False)],
              "StatusFunction": kit.function("b", "b.py")}
    _, result = _run_client(files, config, steps=3)
    assert result == (True, [{"calls": 1}, {"calls": 2}, {"calls": 3}])


def test_engines_datapacks_are_passed_by_reference_unless_policy_is_value():
    files = {
        "engine.py": kit.time_engine("d"),
        "tf.py": """
        from nrp_core import *


        @EngineDataPack(keyword="d", id=DataPackIdentifier("d", "python_1"))
        @TransceiverFunction("python_1")
        def tf(d):
            d.data["touched"] = True
            return []
        """,
        "sf.py": """
        from nrp_core import *


        @EngineDataPack(keyword="d", id=DataPackIdentifier("d", "python_1"))
        @StatusFunction()
        def sf(d):
            return True, [d]
        """,
    }
    config = {"EngineConfigs": [kit.python_engine("python_1", "engine.py")],
              "DataPackProcessingFunctions": [kit.function("tf", "tf.py")],
              "StatusFunction": kit.function("sf", "sf.py")}
    _, result = _run_client(files, config)
    assert result == (True, [{"time": 0, "touched": True}])
    config["DataPackPassingPolicy"] = "value"
    _, result = _run_client(files, config)
    assert result == (True, [{"time": 0}])
