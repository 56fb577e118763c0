"""Per-cycle cost of the embedded FTI loop for a two-engine exchange.

Prints microseconds per cycle for:

* ``client run_loop(1)``: one ``NrpCore.run_loop(1)`` call per cycle, as the
  NRP backend's ``nrp.run_loop()`` does;
* ``client run_loop(N)``: N cycles in one call (the loop alone);
* ``plain loop``: the same engine ``runLoop`` calls and transceiver function
  call, with the datapack hand-over, written as a bare Python loop. It makes
  the two copies nrp-core semantics require (the fetched datapack and the one
  sent to python_2; ``dict()`` is the cheapest correct copy of this flat data)
  and nothing else: no scheduling, pools or isUpdated flags.

Each figure is the best per-cycle time over ``repeats`` consecutive chunks of
``cycles`` cycles, and the three measurements are interleaved over several
rounds, so that a shared, noisy machine disturbs them alike.

``make_exchange_experiment(dirpath)`` writes the experiment (two python_json
engines at 0.01 s, one transceiver function, no printing) so other benchmarks
can reuse the same setup.

Usage: python3 NrpHost.Tests/NrpCore/python/bench_fti.py [cycles per chunk] [chunks] [rounds]
"""

import os
import shutil
import sys
import tempfile
import time

_HERE = os.path.dirname(os.path.abspath(__file__))
_PYTHON_ROOT = os.path.normpath(os.path.join(_HERE, "..", "..", "..", "NrpHost.Core", "python", "embedded"))
if _PYTHON_ROOT not in sys.path:
    sys.path.insert(0, _PYTHON_ROOT)

_CONFIG = """{
    "SimulationName": "bench_exchange",
    "SimulationTimeout": 1000000,
    "EngineConfigs": [
        {"EngineType": "python_json", "EngineName": "python_1", "PythonFileName": "engine_1.py"},
        {"EngineType": "python_json", "EngineName": "python_2", "PythonFileName": "engine_2.py"}
    ],
    "DataPackProcessingFunctions": [
        {"Name": "tf_1", "FileName": "tf_1.py"}
    ]
}
"""

_ENGINE_1 = '''from nrp_core.engines.python_json import EngineScript


class Script(EngineScript):
    def initialize(self):
        self._registerDataPack("datapack1")
        self._setDataPack("datapack1", {"time": self._time_ns, "timestep": 0})

    def runLoop(self, timestep_ns):
        self._setDataPack("datapack1", {"time": self._time_ns, "timestep": timestep_ns})
'''

_ENGINE_2 = '''from nrp_core.engines.python_json import EngineScript


class Script(EngineScript):
    def initialize(self):
        self._registerDataPack("rec_datapack2")
        self._setDataPack("rec_datapack2", {"time": 0, "timestep": 0})

    def runLoop(self, timestep_ns):
        self.last = self._getDataPack("rec_datapack2")
'''

_TF_1 = '''from nrp_core import *
from nrp_core.data.nrp_json import JsonDataPack


@EngineDataPack(keyword="datapack_python", id=DataPackIdentifier("datapack1", "python_1"))
@TransceiverFunction("python_2")
def transceiver_function(datapack_python):
    rec_datapack = JsonDataPack("rec_datapack2", "python_2")
    for key in datapack_python.data.keys():
        rec_datapack.data[key] = datapack_python.data[key]
    return [rec_datapack]
'''


def make_exchange_experiment(dirpath):
    """Write the two-engine exchange experiment into ``dirpath``."""
    os.makedirs(dirpath, exist_ok=True)
    for name, text in (("simulation_config.json", _CONFIG), ("engine_1.py", _ENGINE_1),
                       ("engine_2.py", _ENGINE_2), ("tf_1.py", _TF_1)):
        with open(os.path.join(dirpath, name), "w", encoding="utf-8") as f:
            f.write(text)


def _load_namespace(path):
    namespace = {"__name__": "_bench_" + os.path.basename(path)[:-3], "__file__": path}
    with open(path, encoding="utf-8") as f:
        exec(compile(f.read(), path, "exec"), namespace)  # noqa: S102 - benchmark's own files
    return namespace


def _best(run, cycles, repeats):
    """Best microseconds per cycle of ``run(cycles)`` over ``repeats`` calls."""
    best = None
    for _ in range(repeats):
        start = time.perf_counter()
        run(cycles)
        elapsed = time.perf_counter() - start
        best = elapsed if best is None else min(best, elapsed)
    return best / cycles * 1e6


def make_client_runner(dirpath):
    """``(run(n), close())``: ``run`` makes ``n`` ``run_loop(1)`` calls of an initialised client."""
    from nrp_client import NrpCore
    client = NrpCore("localhost:5345", experiment_folder=dirpath)
    client.initialize()
    run_loop = client.run_loop

    def run(n):
        for _ in range(n):
            run_loop(1)

    return run, client.shutdown


def bench_client_single(dirpath, cycles, repeats=1):
    run, close = make_client_runner(dirpath)
    run(200)  # warm-up
    result = _best(run, cycles, repeats)
    close()
    return result


def bench_client_batch(dirpath, cycles, repeats=1):
    from nrp_client import NrpCore
    client = NrpCore("localhost:5345", experiment_folder=dirpath)
    client.initialize()
    client.run_loop(200)
    result = _best(client.run_loop, cycles, repeats)
    client.shutdown()
    return result


def make_plain_runner(dirpath):
    """``run(n)``: ``n`` cycles of the same engine and function calls without the runtime around them."""
    from nrp_core._embedded import functions
    from nrp_core.data.nrp_json import JsonDataPack

    engine_1 = _load_namespace(os.path.join(dirpath, "engine_1.py"))["Script"]()
    engine_2 = _load_namespace(os.path.join(dirpath, "engine_2.py"))["Script"]()
    functions._loading.registry = registered = []
    try:
        _load_namespace(os.path.join(dirpath, "tf_1.py"))
    finally:
        functions._loading.registry = None
    tf = registered[0].function
    engine_1.initialize()
    engine_2.initialize()
    dt = 10000000

    def run(n):
        for _ in range(n):
            source = JsonDataPack("datapack1", "python_1")
            source._value = dict(engine_1._getDataPack("datapack1"))
            for out in tf(datapack_python=source):
                engine_2._setDataPack(out.name, dict(out._value))
            engine_1._time_ns += dt
            engine_1.runLoop(dt)
            engine_2._time_ns += dt
            engine_2.runLoop(dt)

    return run


def bench_plain(dirpath, cycles, repeats=1):
    """The same engine and function calls without the runtime around them."""
    run = make_plain_runner(dirpath)
    run(200)
    return _best(run, cycles, repeats)


def main(argv):
    cycles = int(argv[1]) if len(argv) > 1 else 2000
    repeats = int(argv[2]) if len(argv) > 2 else 10
    rounds = int(argv[3]) if len(argv) > 3 else 3
    dirpath = tempfile.mkdtemp(prefix="nrp_bench_")
    plain = batch = single = float("inf")
    try:
        make_exchange_experiment(dirpath)
        for _ in range(rounds):
            plain = min(plain, bench_plain(dirpath, cycles, repeats))
            batch = min(batch, bench_client_batch(dirpath, cycles, repeats))
            single = min(single, bench_client_single(dirpath, cycles, repeats))
    finally:
        shutil.rmtree(dirpath, ignore_errors=True)
    print(f"python {sys.version.split()[0]}, best chunk of {cycles} cycles "
          f"({repeats} chunks x {rounds} rounds per figure)")
    print(f"client run_loop(1): {single:.2f} us per cycle")
    print(f"client run_loop(N): {batch:.2f} us per cycle")
    print(f"plain loop:         {plain:.2f} us per cycle")
    print(f"ratio run_loop(1) / plain: {single / plain:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
