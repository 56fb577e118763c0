"""Engines of the embedded runtime.

* :class:`EngineScript` is the base class of python_json engine scripts
  (public as ``nrp_core.engines.python_json.EngineScript``).
* :class:`PythonJsonEngine` runs one such script in-process, doing what the
  python_json engine server does for each HTTP route of nrp-core 1.4.1:
  advance ``_time_ns`` then call ``runLoop``, answer datapack gets with a copy
  of the cached data, overwrite the cache on sets, call ``reset`` and then
  zero the time.

The DataTransfer engine is in :mod:`.datatransfer`.

Refusals (a datapack the script has not registered) carry a ``location``:
the engine script's ``initialize`` (where datapacks are registered), so the
error names the user's file and line rather than this module's.
"""

import sys
import types

from .datapacks import to_json

__all__ = ["EngineScript", "PythonJsonEngine", "TIME_RATIO"]

TIME_RATIO = [1, 1000000000]


class EngineScript:
    """Base class of python_json engine scripts (``class Script(EngineScript)``).

    Override ``initialize``, ``runLoop(timestep_ns)``, ``shutdown`` and
    ``reset``; the base versions do nothing. Inside ``runLoop`` ``_time_ns``
    already holds the end time of the step.
    """

    def __init__(self):
        self._time_ns = 0
        self._datapacks = {}
        self._name = ""
        self._config = {}

    # Hooks -----------------------------------------------------------------
    def initialize(self):
        pass

    def runLoop(self, timestep_ns):  # noqa: N802 - nrp-core API name
        pass

    def shutdown(self):
        pass

    def reset(self):
        pass

    # Helpers ---------------------------------------------------------------
    def _registerDataPack(self, datapack_name):  # noqa: N802 - nrp-core API name
        if datapack_name in self._datapacks:
            raise Exception(f'DataPack with specified name ("{datapack_name}") already registered')
        self._datapacks[datapack_name] = None

    def _setDataPack(self, datapack_name, data):  # noqa: N802 - nrp-core API name
        if datapack_name not in self._datapacks:
            raise Exception(f'Attempting to set data on an unregistered DataPack ("{datapack_name}")')
        self._datapacks[datapack_name] = data

    def _getDataPack(self, datapack_name):  # noqa: N802 - nrp-core API name
        if datapack_name not in self._datapacks:
            raise Exception(f'Attempting to get data from an unregistered DataPack ("{datapack_name}")')
        return self._datapacks[datapack_name]

    def _getRegisteredDataPackNames(self):  # noqa: N802 - nrp-core API name
        return list(self._datapacks.keys())

    def _advanceTime(self, time_ns):  # noqa: N802 - nrp-core API name
        self._time_ns += time_ns

    def _getEngineName(self):  # noqa: N802 - nrp-core API name
        return self._name


class _Engine:
    """State shared by every engine kind: name, timestep and schedule data."""

    def __init__(self, index, config, timestep_ns):
        self.index = index
        self.name = config["EngineName"]
        self.type = config["EngineType"]
        self.config = config
        self.timestep_ns = timestep_ns
        self.time_ns = 0  # engine time as last reported
        # filled in by the FTI loop
        self.fetch_keys = ()  # ((name, engine) key, name) requested from this engine
        self.pfs = ()
        self.tfs = ()
        self.outbox = {}  # name -> datapack from TFs addressed to this engine
        self.external = {}  # name -> datapack from the client addressed to this engine


class PythonJsonEngine(_Engine):
    """A python_json engine script running in-process."""

    accepts_json = True
    accepts_proto = False

    def __init__(self, index, config, timestep_ns, script_path, module_name, module_builtins=None):
        super().__init__(index, config, timestep_ns)
        self.module_builtins = module_builtins
        self.script_path = script_path
        self.module_name = module_name
        self.module = None
        self.script = None
        self._datapacks = None

    def load(self):
        """Execute the script file as a fresh module and instantiate ``Script``."""
        with open(self.script_path, encoding="utf-8") as f:
            source = f.read()
        code = compile(source, self.script_path, "exec")
        module = types.ModuleType(self.module_name)
        module.__file__ = self.script_path
        if self.module_builtins is not None:
            module.__dict__["__builtins__"] = self.module_builtins
        sys.modules[self.module_name] = module
        self.module = module
        exec(code, module.__dict__)  # noqa: S102 - running the experiment's own engine script
        script_class = module.__dict__.get("Script")
        if not isinstance(script_class, type) or not issubclass(script_class, EngineScript):
            error = TypeError(
                f'Engine "{self.name}": {self.script_path} must define a class "Script" that subclasses '
                "nrp_core.engines.python_json.EngineScript")
            line = next((n for n, text in enumerate(source.splitlines(), 1) if text.startswith("class Script")), 1)
            error.location = (self.script_path, line)
            raise error
        script = script_class()
        # a Script that overrides __init__ without calling the base still works
        if not hasattr(script, "_datapacks"):
            script._datapacks = {}
        if not hasattr(script, "_time_ns"):
            script._time_ns = 0
        script._name = self.name
        config = dict(self.config)
        config["TimeRatio"] = list(TIME_RATIO)
        script._config = config
        self.script = script

    def initialize(self):
        self.script.initialize()
        self.time_ns = self.script._time_ns

    def step(self, run_ns):
        script = self.script
        script._time_ns += run_ns
        script.runLoop(run_ns)
        return script._time_ns

    def get(self, name):
        """A copy of the cached data of datapack ``name`` (JSON null if never set)."""
        datapacks = self.script._datapacks
        if name not in datapacks:
            raise self._refusal(f'Engine "{self.name}": the requested DataPack "{name}" is not registered')
        return to_json(datapacks[name])

    def set(self, name, value):
        """Overwrite the cached data of datapack ``name`` with ``value`` (a copy)."""
        datapacks = self.script._datapacks
        if name not in datapacks:
            raise self._refusal(
                f'Engine "{self.name}": received DataPack "{name}", which the engine script has not registered')
        datapacks[name] = value

    def new_outbox(self):
        return {}

    def _refusal(self, message):
        """An error located at the script's ``initialize`` (or its ``Script`` class, or line 1)."""
        error = Exception(message)
        line = 1
        script_class = type(self.script) if self.script is not None else None
        hook = getattr(script_class, "initialize", None) if script_class is not None else None
        code = getattr(hook, "__code__", None)
        if code is not None and code.co_filename == self.script_path:
            line = code.co_firstlineno
        error.location = (self.script_path, line)
        return error

    def reset(self):
        self.script.reset()
        self.script._time_ns = 0
        self.time_ns = 0

    def shutdown(self):
        if self.script is not None:
            self.script.shutdown()

    def unload(self):
        sys.modules.pop(self.module_name, None)
        self.module = None
        self.script = None
