"""One embedded simulation: builds engines and functions from a configuration,
owns the FTI loop, and removes every trace of them at shutdown.

Isolation rules:

* each engine script is executed as a new module with a unique name
  (``_nrp_embedded_<n>_engine_<i>``); all function files of the simulation
  share one fresh namespace (``_nrp_embedded_<n>_functions``), as they share
  ``__main__`` in nrp-core;
* ``import x`` in those files (and in the modules they import this way) first
  looks for ``x.py`` or ``x/__init__.py`` in the experiment directory, as
  nrp-core's engine server finds modules next to the script; such a module is
  loaded once per simulation under a unique name
  (``_nrp_embedded_<n>_sibling_x``), so two simulations never share it. A
  module that is already imported in the process (the standard library, say)
  takes precedence over a file of the same name;
* all these modules are registered in ``sys.modules`` while the simulation
  lives and removed at shutdown; ``sys.path`` and the current directory are
  never changed, and files are resolved against the experiment directory.
"""

import builtins
import importlib
import importlib.util
import itertools
import os
import sys
import types

from .config import seconds_to_ns
from .datatransfer import DataTransferEngine
from .engines import PythonJsonEngine
from .errors import config_location
from .fti import FTILoop
from .functions import KIND_SF, load_function_file

__all__ = ["EmbeddedSimulation", "UnsupportedConfigurationError"]

EXTERNAL_MODE_HINT = "NrpHost:NrpCore:Mode=External"

_ids = itertools.count(1)
_real_import = builtins.__import__


class UnsupportedConfigurationError(RuntimeError):
    """The experiment needs something only a real nrp-core installation provides."""


def _needs_real_nrp_core(what, location=None):
    error = UnsupportedConfigurationError(
        f"{what} is not supported by the embedded nrp-core runtime, which runs python_json engines (and the "
        f"DataTransfer engine) only; this experiment needs a real nrp-core installation (set {EXTERNAL_MODE_HINT}).")
    error.location = location
    return error


class SiblingImporter:
    """``__import__`` for user code that loads modules of the experiment
    directory privately for one simulation."""

    def __init__(self, base_dir, prefix):
        self.base_dir = base_dir
        self.prefix = f"{prefix}_sibling_"
        self.modules = {}
        self.builtins = dict(builtins.__dict__)
        self.builtins["__import__"] = self.import_module

    def _find(self, top):
        package = os.path.join(self.base_dir, top, "__init__.py")
        if os.path.isfile(package):
            return package, True
        module = os.path.join(self.base_dir, top + ".py")
        if os.path.isfile(module):
            return module, False
        return None

    def _load(self, top, path, is_package):
        unique = self.prefix + top
        locations = [os.path.dirname(path)] if is_package else None
        spec = importlib.util.spec_from_file_location(unique, path, submodule_search_locations=locations)
        module = importlib.util.module_from_spec(spec)
        module.__dict__["__builtins__"] = self.builtins
        sys.modules[unique] = module
        self.modules[top] = module
        try:
            # compiled here rather than by the loader so that no __pycache__ is
            # written into the experiment directory
            with open(path, encoding="utf-8") as f:
                code = compile(f.read(), path, "exec")
            exec(code, module.__dict__)  # noqa: S102 - the experiment's own module
        except BaseException:
            sys.modules.pop(unique, None)
            self.modules.pop(top, None)
            raise
        return module

    def import_module(self, name, globals=None, locals=None, fromlist=(), level=0):  # noqa: A002 - __import__ signature
        if level == 0 and name:
            top, _, rest = name.partition(".")
            module = self.modules.get(top)
            if module is None and top not in sys.modules and top not in sys.builtin_module_names:
                found = self._find(top)
                if found is not None:
                    module = self._load(top, *found)
            if module is not None:
                if rest:
                    submodule = importlib.import_module(f"{module.__name__}.{rest}")
                    return submodule if fromlist else module
                return module
        return _real_import(name, globals, locals, fromlist, level)

    def unload(self):
        for name in list(sys.modules):
            if name.startswith(self.prefix):
                sys.modules.pop(name, None)
        self.modules.clear()


def _function_location(spec):
    code = getattr(spec.function, "__code__", None)
    if code is None:
        return None
    return code.co_filename, code.co_firstlineno


class EmbeddedSimulation:
    """Engines, functions and FTI loop of one client."""

    def __init__(self, config, base_dir, config_path=None):
        self.config = config
        self.base_dir = base_dir
        self.config_path = config_path
        self.id = next(_ids)
        self.prefix = f"_nrp_embedded_{self.id}"
        self.user_files = []
        self.engines = []
        self.loop = None
        self._namespace_module = None
        self.importer = SiblingImporter(base_dir, self.prefix)
        timeout = config.get("SimulationTimeout", 0)
        seconds = int(timeout)
        self.timeout_ns = -1 if seconds < 0 else seconds * 1000000000

    def resolve(self, file_name):
        return os.path.normpath(os.path.join(self.base_dir, file_name))

    def _in_config(self, *needles):
        """(configuration file, line) of the first line holding all ``needles``, for error messages."""
        return config_location(self.config_path, *needles)

    # ----------------------------------------------------------------- build
    def _check_supported(self):
        config = self.config
        if config.get("SimulationLoop", "FTILoop") != "FTILoop":
            raise _needs_real_nrp_core(f'SimulationLoop "{config["SimulationLoop"]}"',
                                       self._in_config('"SimulationLoop"'))
        if config.get("DataPackProcessor", "tf") != "tf":
            raise _needs_real_nrp_core(f'DataPackProcessor "{config["DataPackProcessor"]}" (computational graph)',
                                       self._in_config('"DataPackProcessor"'))
        if config.get("ExternalProcesses"):
            raise _needs_real_nrp_core("ExternalProcesses", self._in_config('"ExternalProcesses"'))
        for engine in config["EngineConfigs"]:
            if engine["EngineType"] not in ("python_json", "datatransfer_grpc_engine"):
                raise _needs_real_nrp_core(f'Engine type "{engine["EngineType"]}" (engine "{engine["EngineName"]}")',
                                           self._in_config(f'"{engine["EngineType"]}"'))

    def build_and_initialize(self):
        """Load engines and functions and initialise the engines; returns the
        initial observations."""
        self._check_supported()

        # Launch engines (load their scripts) in configuration order.
        for index, engine_config in enumerate(self.config["EngineConfigs"]):
            timestep_ns = seconds_to_ns(engine_config["EngineTimestep"])
            if engine_config["EngineType"] == "python_json":
                path = self.resolve(engine_config["PythonFileName"])
                if not os.path.isfile(path):
                    error = FileNotFoundError(
                        f'Engine "{engine_config["EngineName"]}": PythonFileName "{path}" does not exist')
                    error.location = self._in_config('"PythonFileName"', engine_config["PythonFileName"])
                    raise error
                engine = PythonJsonEngine(index, engine_config, timestep_ns, path, f"{self.prefix}_engine_{index}",
                                          self.importer.builtins)
                self.user_files.append(path)
            else:
                engine = DataTransferEngine(index, engine_config, timestep_ns, self.base_dir, config_path=self.config_path)
            self.engines.append(engine)
            if isinstance(engine, DataTransferEngine):
                try:
                    engine.load()
                except ValueError as e:
                    e.location = self._in_config(f'"{engine.name}"')
                    raise
            else:
                engine.load()

        # Load functions: TFs and PFs in array order, then the status function.
        namespace_module = types.ModuleType(f"{self.prefix}_functions")
        sys.modules[namespace_module.__name__] = namespace_module
        self._namespace_module = namespace_module
        namespace = namespace_module.__dict__
        namespace["__builtins__"] = self.importer.builtins
        functions = []
        names = set()
        for entry in self.config["DataPackProcessingFunctions"]:
            if not entry.get("IsActive", True):
                continue
            spec = self._load_function(entry, namespace, names)
            if spec.kind == KIND_SF:
                error = TypeError(f'"{entry["FileName"]}": a Status Function must be configured as "StatusFunction"')
                error.location = _function_location(spec)
                raise error
            functions.append(spec)
        status_function = None
        entry = self.config.get("StatusFunction")
        if entry and entry.get("IsActive", True):
            status_function = self._load_function(entry, namespace, names)
            if status_function.kind != KIND_SF:
                error = TypeError(f'"{entry["FileName"]}": the StatusFunction entry must use @StatusFunction()')
                error.location = _function_location(status_function)
                raise error

        pass_by_value = self.config.get("DataPackPassingPolicy") == "value"
        self.loop = FTILoop(self.engines, functions, status_function, pass_by_value)
        return self.loop.initialize()

    def _load_function(self, entry, namespace, names):
        path = self.resolve(entry["FileName"])
        if not os.path.isfile(path):
            error = FileNotFoundError(f'Function "{entry["Name"]}": FileName "{path}" does not exist')
            error.location = self._in_config('"FileName"', entry["FileName"])
            raise error
        if entry["Name"] in names:
            error = ValueError(f'A function named "{entry["Name"]}" is already loaded')
            error.location = self._in_config('"Name"', entry["Name"])
            raise error
        self.user_files.append(path)
        specs = load_function_file(path, namespace)
        if len(specs) != 1:
            error = ValueError(f'"{path}" must define exactly one decorated function, found {len(specs)}')
            error.location = _function_location(specs[1]) if len(specs) > 1 else (path, 1)
            raise error
        spec = specs[0]
        spec.name = entry["Name"]
        names.add(entry["Name"])
        return spec

    # -------------------------------------------------------------- teardown
    def shutdown(self):
        """Shut engines down and unload every module; returns the first engine error."""
        # engines are only initialised by the loop, so without a loop there is
        # no engine shutdown hook to call
        error = self.loop.shutdown() if self.loop is not None else None
        for engine in self.engines:
            engine.unload()
        if self._namespace_module is not None:
            sys.modules.pop(self._namespace_module.__name__, None)
            self._namespace_module.__dict__.clear()
            self._namespace_module = None
        self.importer.unload()
        self.loop = None
        return error
