"""Datapack flow through the pools: fetched datapacks are snapshots that stay in
the pool (stale) while their engine is outside the batch, sent datapacks are
copies that are re-sent on every sync until reset, the status function sees the
transceiver pool, and functions get their inputs however their parameters are
declared."""

import sys

import nrpcore_testkit as kit
from nrp_client import NrpCore

# python_fast (0.01 s) counts in place; python_slow (0.02 s) counts in place and
# records the "cmd" value it holds at each step
ENGINES = {
    "fast.py": """
    from nrp_core.engines.python_json import EngineScript


    class Script(EngineScript):
        def initialize(self):
            self._registerDataPack("count")
            self._setDataPack("count", {"n": 0})

        def runLoop(self, timestep_ns):
            self._getDataPack("count")["n"] += 1  # in place: the pool keeps its snapshot
    """,
    "slow.py": """
    from nrp_core.engines.python_json import EngineScript


    class Script(EngineScript):
        def initialize(self):
            self._registerDataPack("count")
            self._registerDataPack("cmd")
            self._registerDataPack("log")
            self._setDataPack("count", {"n": 0})
            self._setDataPack("log", [])

        def runLoop(self, timestep_ns):
            self._getDataPack("count")["n"] += 1
            cmd = self._getDataPack("cmd")
            self._getDataPack("log").append(None if cmd is None else dict(cmd))
            if cmd is not None:
                cmd["n"] += 1000  # in place: the next sync re-sends the original

        def reset(self):
            self._setDataPack("cmd", None)
            self._setDataPack("log", [])
    """,
}

# tf_fast runs every cycle and records what it sees of both engines; tf_slow
# runs every other cycle and, only in its first call, sends "cmd" to python_slow
FUNCTIONS = {
    "tf_fast.py": """
    from nrp_core import *

    seen = []
    calls = {"slow": 0}


    @EngineDataPack(keyword="fast", id=DataPackIdentifier("count", "python_fast"))
    @EngineDataPack(keyword="slow", id=DataPackIdentifier("count", "python_slow"))
    @SimulationTime(keyword="t")
    @TransceiverFunction("python_fast")
    def tf_fast(fast, slow, t):
        seen.append((t, fast.data["n"], fast.isUpdated(), slow.data["n"], slow.isUpdated(), id(slow)))
        fast.data["n"] = -1  # by reference: changes the pool's datapack, never the engine
        return []
    """,
    "tf_slow.py": """
    from nrp_core import *
    from nrp_core.data.nrp_json import JsonDataPack


    @TransceiverFunction("python_slow")
    def tf_slow():
        calls["slow"] += 1
        if calls["slow"] > 1:
            return []
        cmd = JsonDataPack("cmd", "python_slow")
        cmd.data["n"] = 7
        lost = JsonDataPack("lost", "no_such_engine")
        lost.data["n"] = 8
        return [cmd, lost]
    """,
    "sf.py": """
    from nrp_core import *
    from nrp_core.data.nrp_json import JsonRawData


    @PreprocessedDataPack(keyword="cmd", id=DataPackIdentifier("cmd", "python_slow"))
    @PreprocessedDataPack(keyword="lost", id=DataPackIdentifier("lost", "no_such_engine"))
    @EngineDataPack(keyword="log", id=DataPackIdentifier("log", "python_slow"))
    @StatusFunction()
    def sf(cmd, lost, log):
        # the transceiver pool, including datapacks for engines that do not exist
        return False, [JsonRawData({"cmd": cmd.data.to_python(), "lost": lost.data["n"],
                                    "log": log.data.to_python(), "fresh": cmd.isUpdated()})]
    """,
}


def _client(dirpath):
    return NrpCore("localhost:5345", experiment_folder=dirpath)


def _experiment(status_function=True):
    files = dict(ENGINES)
    files.update(FUNCTIONS)
    config = {"SimulationTimeout": 1,
              "EngineConfigs": [kit.python_engine("python_fast", "fast.py", 0.01),
                                kit.python_engine("python_slow", "slow.py", 0.02)],
              "DataPackProcessingFunctions": [kit.function("tf_fast", "tf_fast.py"),
                                              kit.function("tf_slow", "tf_slow.py")]}
    if status_function:
        config["StatusFunction"] = kit.function("sf", "sf.py")
    return kit.make_experiment(files, config)


def _namespace(client):
    return sys.modules[client._sim._namespace_module.__name__].__dict__


def test_dataflow_stale_datapacks_are_snapshots_kept_between_syncs():
    dirpath = _experiment(status_function=False)
    try:
        client = _client(dirpath)
        client.initialize()
        client.run_loop(6)
        seen = _namespace(client)["seen"]
        client.shutdown()
    finally:
        kit.remove(dirpath)
    ms = 1000000
    # (t, fast n, fast updated, slow n, slow updated, identity of the slow datapack)
    assert [row[:5] for row in seen] == [
        (0, 0, True, 0, True),
        (10 * ms, 1, True, 0, False),  # python_slow is stale: the value fetched at 0
        (20 * ms, 2, True, 1, True),
        (30 * ms, 3, True, 1, False),
        (40 * ms, 4, True, 2, True),
        (50 * ms, 5, True, 2, False),
    ]
    # the stale datapack is the very object fetched at the last sync
    assert seen[0][5] == seen[1][5] and seen[2][5] == seen[3][5] and seen[1][5] != seen[2][5]


def test_dataflow_sent_datapacks_are_copies_resent_on_every_sync():
    dirpath = _experiment()
    try:
        client = _client(dirpath)
        client.initialize()
        done, trajectory = client.run_loop(5)
        assert done is False and trajectory == []
        observations = client.run_until_timeout()[2]
        calls = _namespace(client)["calls"]["slow"]
        client.shutdown()
    finally:
        kit.remove(dirpath)
    assert calls == 50  # tf_slow ran at every sync of python_slow, sending only the first time
    assert len(observations) == 100  # run_loop's observations stay until returned
    assert observations[0] == {"cmd": {"n": 7}, "lost": 8, "log": [], "fresh": True}
    assert observations[1] == {"cmd": {"n": 7}, "lost": 8, "log": [], "fresh": False}
    # python_slow changed its copy in place at every step; every sync re-sent 7
    assert observations[4]["log"] == [{"n": 7}] * 2
    assert observations[-1]["log"] == [{"n": 7}] * 49


def test_dataflow_reset_clears_transceiver_and_client_datapacks():
    dirpath = _experiment()
    try:
        client = _client(dirpath)
        client.initialize()
        client.run_loop(2)
        client.set_json_datapack("cmd", "python_slow", {"n": 1})
        client.reset()  # delivered, then python_slow's reset() drops it
        # nothing is pending any more: the status function's input is gone
        try:
            client.run_loop(1)
        except RuntimeError as e:
            assert 'Couldn\'t find datapack with ID name "lost" and engine "no_such_engine"' in str(e), str(e)
        else:
            raise AssertionError("the transceiver pool was not cleared by reset")
        client.shutdown()
    finally:
        kit.remove(dirpath)


def test_dataflow_reset_stops_resending_old_datapacks():
    dirpath = _experiment(status_function=False)
    try:
        client = _client(dirpath)
        client.initialize()
        client.run_loop(4)
        client.set_json_datapack("count", "python_fast", {"n": 500})
        client.reset()
        client.run_loop(4)
        engines = client._sim.engines
        slow_log = engines[1].script._getDataPack("log")
        fast_count = engines[0].script._getDataPack("count")
        client.shutdown()
    finally:
        kit.remove(dirpath)
    assert slow_log == [None, None]  # neither "cmd" from tf_slow nor anything else
    assert fast_count == {"n": 504}  # delivered once at reset, never re-sent


FUNCTION_FORMS = {
    "engine.py": kit.time_engine("d"),
    "engine_2.py": kit.time_engine("e"),
    "sf.py": """
    from nrp_core import *
    from nrp_core.data.nrp_json import JsonRawData

    results = []


    @StatusFunction()
    def sf():
        return True, [JsonRawData(list(results))]
    """,
}

FORMS = {
    # parameters in another order than the decorators
    "reordered": ("def tf(b, a):", "results.append(['reordered', a.data['time'], b.data['time']])"),
    "keyword_only": ("def tf(*, a, b):", "results.append(['keyword_only', a.data['time'], b.data['time']])"),
    "var_keyword": ("def tf(**inputs):", "results.append(['var_keyword', sorted(inputs)])"),
    "defaults": ("def tf(a, b, c=3):", "results.append(['defaults', c])"),
}


def _forms_config(files):
    return {"EngineConfigs": [kit.python_engine("python_1", "engine.py"), kit.python_engine("python_2", "engine_2.py")],
            "DataPackProcessingFunctions": [kit.function(name[:-3], name) for name in files
                                            if name[:-3] in FORMS or name == "wrong.py"],
            "StatusFunction": kit.function("sf", "sf.py")}


def _tf_file(signature, body):
    return f"""
    from nrp_core import *


    @EngineDataPack(keyword="a", id=DataPackIdentifier("d", "python_1"))
    @EngineDataPack(keyword="b", id=DataPackIdentifier("e", "python_2"))
    @TransceiverFunction("python_1")
    {signature}
        {body}
        return []
    """


def test_dataflow_functions_get_their_inputs_whatever_the_parameters():
    files = dict(FUNCTION_FORMS)
    for name, (signature, body) in FORMS.items():
        files[f"{name}.py"] = _tf_file(signature, body)
    dirpath = kit.make_experiment(files, _forms_config(files))
    try:
        client = _client(dirpath)
        client.initialize()
        done, trajectory = client.run_loop(2)
        client.shutdown()
    finally:
        kit.remove(dirpath)
    assert done is True
    assert trajectory[-1] == [["reordered", 0, 0], ["keyword_only", 0, 0], ["var_keyword", ["a", "b"]],
                              ["defaults", 3], ["reordered", 10000000, 10000000],
                              ["keyword_only", 10000000, 10000000], ["var_keyword", ["a", "b"]], ["defaults", 3]]


def test_dataflow_function_parameters_must_match_the_keywords():
    for signature, message in (("def tf(a, c):", "unexpected keyword argument 'b'"),
                               ("def tf(a, b, /):", "positional-only arguments passed as keyword arguments")):
        files = dict(FUNCTION_FORMS)
        files["wrong.py"] = _tf_file(signature, "pass")
        dirpath = kit.make_experiment(files, _forms_config(files))
        try:
            client = _client(dirpath)
            client.initialize()
            try:
                client.run_loop(1)
            except RuntimeError as e:
                assert "TypeError" in str(e) and message in str(e), str(e)
            else:
                raise AssertionError(f"{signature} was accepted")
            assert client.current_state() == "Failed"
            client.shutdown()
        finally:
            kit.remove(dirpath)
