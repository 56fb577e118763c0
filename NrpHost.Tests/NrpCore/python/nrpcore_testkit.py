"""Helpers shared by the embedded nrp-core runtime tests (not a test module).

Tests build their experiments in fresh temporary directories with
:func:`make_experiment` and remove them with :func:`remove`. Importing this
module puts ``NrpHost.Core/python/embedded`` on ``sys.path`` if it is not there yet.
"""

import contextlib
import io
import json
import logging
import os
import shutil
import sys
import tempfile
import textwrap

HERE = os.path.dirname(os.path.abspath(__file__))


def _find_upwards(*parts):
    """First ``<ancestor>/<parts>`` that exists, searching from this folder up."""
    directory = HERE
    while True:
        candidate = os.path.join(directory, *parts)
        if os.path.exists(candidate):
            return candidate
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent


# The runtime: NrpHost.Core/python/embedded of the source tree, unless the host already put
# an nrp_client on sys.path (the .NET tests run copies of these files).
PYTHON_ROOT = _find_upwards("NrpHost.Core", "python", "embedded")
if PYTHON_ROOT and PYTHON_ROOT not in sys.path:
    try:
        import nrp_client  # noqa: F401 - already importable: keep the host's copy
    except ImportError:
        sys.path.insert(0, PYTHON_ROOT)

# The example experiments: $NRPHOST_EXPERIMENTS_DIR or the repository's experiments/.
_EXAMPLE = _find_upwards("experiments", "tf_exchange", "simulation_config.json")
EXPERIMENTS_ROOT = os.environ.get("NRPHOST_EXPERIMENTS_DIR") or (
    os.path.dirname(os.path.dirname(_EXAMPLE)) if _EXAMPLE else os.path.join(HERE, "experiments"))


def make_experiment(files, config=None):
    """Write ``files`` ({relative name: source}) and, if given, ``config`` as
    simulation_config.json into a new temporary directory; return its path."""
    dirpath = tempfile.mkdtemp(prefix="nrp_test_")
    for name, text in files.items():
        path = os.path.join(dirpath, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(textwrap.dedent(text).lstrip("\n"))
    if config is not None:
        write_config(dirpath, config)
    return dirpath


def write_config(dirpath, config, name="simulation_config.json"):
    with open(os.path.join(dirpath, name), "w", encoding="utf-8") as f:
        json.dump(config, f, indent=2)


def remove(dirpath):
    shutil.rmtree(dirpath, ignore_errors=True)


@contextlib.contextmanager
def captured_stdout():
    """Collect everything printed (engines and functions print to sys.stdout)."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        yield buffer


def python_engine(name, file_name, timestep=None, **extra):
    entry = {"EngineType": "python_json", "EngineName": name, "PythonFileName": file_name}
    if timestep is not None:
        entry["EngineTimestep"] = timestep
    entry.update(extra)
    return entry


def datatransfer_engine(name="datatransfer_engine"):
    return {"EngineType": "datatransfer_grpc_engine", "EngineName": name,
            "MQTTBroker": "localhost:1883", "simulationID": "0", "dumps": []}


def function(name, file_name, **extra):
    entry = {"Name": name, "FileName": file_name}
    entry.update(extra)
    return entry


# An engine that publishes {"time": _time_ns} as datapack <dp> on every step.
TIME_ENGINE = """
from nrp_core.engines.python_json import EngineScript


class Script(EngineScript):
    def initialize(self):
        self._registerDataPack("{dp}")
        self._setDataPack("{dp}", {{"time": self._time_ns}})

    def runLoop(self, timestep_ns):
        self._setDataPack("{dp}", {{"time": self._time_ns}})
"""


def time_engine(datapack_name):
    return TIME_ENGINE.format(dp=datapack_name)


class StandInNrp:
    """What the NRP backend hands to main_script.py as ``nrp``: wraps a real
    client and raises ``timeout_class`` instead of running past
    ``SimulationTimeout / SimulationTimestep`` steps."""

    def __init__(self, client, timeout_class, simulation_timeout, simulation_timestep=0.01):
        self.client = client
        self.timeout_class = timeout_class
        self.max_steps = int(simulation_timeout / simulation_timestep)
        self.count = 0
        self.results = []

    def run_loop(self, num_iterations=1, json_data=None):
        if self.count + num_iterations > self.max_steps:
            raise self.timeout_class("The number of iteration requested will exceed the timeout")
        result = self.client.run_loop(num_iterations, json_data)
        self.count += num_iterations
        self.results.append(result)
        return result


class ListHandler(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records = []

    def emit(self, record):
        self.records.append(record)


def script_logger(name):
    """A DEBUG logger that keeps its records in memory and does not propagate."""
    logger = logging.getLogger(name)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    handler = ListHandler()
    logger.addHandler(handler)
    return logger, handler


def drop_logger(logger, handler):
    logger.removeHandler(handler)
    logging.Logger.manager.loggerDict.pop(logger.name, None)
