"""Function decorators and the loader for DataPack processing functions.

The decorators have nrp-core's names and arguments. The function decorator
(``TransceiverFunction``, ``PreprocessingFunction``, ``StatusFunction``) must be
the innermost one; it turns the Python function into a :class:`FunctionSpec`.
Input decorators stacked above it (``EngineDataPack``, ``EngineDataPacks``,
``PreprocessedDataPack``, ``SimulationTime``, ``SimulationIteration``) each add
one keyword argument to that spec.

While the loader executes a function file, every spec created by a function
decorator is recorded in a per-thread registry, so concurrent clients loading
files on different threads never see each other's functions.
"""

import threading

from .datapacks import DataPackIdentifier

__all__ = [
    "EngineDataPack",
    "EngineDataPacks",
    "FunctionSpec",
    "PreprocessedDataPack",
    "PreprocessingFunction",
    "SimulationIteration",
    "SimulationTime",
    "StatusFunction",
    "TransceiverFunction",
    "load_function_file",
]

KIND_TF = "TransceiverFunction"
KIND_PF = "PreprocessingFunction"
KIND_SF = "StatusFunction"

# Input kinds
IN_ENGINE = 0  # one datapack requested from an engine
IN_ENGINES = 1  # dict of datapacks requested from one engine
IN_PREPROCESSED = 2  # one datapack from the preprocessing pool
IN_TIME = 3  # simulation time in ns
IN_ITERATION = 4  # datapack cycle counter

_loading = threading.local()


class FunctionSpec:
    """A decorated function: its kind, linked engine and requested inputs."""

    __slots__ = ("kind", "engine_name", "function", "inputs", "name", "file_name")

    def __init__(self, kind, engine_name, function):
        self.kind = kind
        self.engine_name = engine_name
        self.function = function
        # list of (keyword, input kind, argument); argument is a (name, engine)
        # key, a list of keys, or None
        self.inputs = []
        self.name = getattr(function, "__name__", "?")
        self.file_name = getattr(getattr(function, "__code__", None), "co_filename", None)

    def _add_input(self, keyword, kind, argument, decorator):
        if not isinstance(keyword, str) or not keyword:
            raise TypeError(f"{decorator}: keyword must be a non-empty string")
        for existing, _, _ in self.inputs:
            if existing == keyword:
                raise ValueError(f'{decorator}: keyword "{keyword}" is already used by another input of "{self.name}"')
        self.inputs.append((keyword, kind, argument))

    def requested_keys(self):
        """(name, engine) keys this function requests from engines."""
        for _, kind, arg in self.inputs:
            if kind == IN_ENGINE:
                yield arg
            elif kind == IN_ENGINES:
                yield from arg[1]

    def __call__(self, *args, **kwargs):
        return self.function(*args, **kwargs)

    def __repr__(self):
        return f"<{self.kind} {self.name!r} linked to {self.engine_name!r}>"


def _register(spec):
    registry = getattr(_loading, "registry", None)
    if registry is not None:
        registry.append(spec)
    return spec


def _check_target(target, decorator):
    if not isinstance(target, FunctionSpec):
        raise TypeError(
            f"@{decorator} must be placed above the function decorator "
            "(@TransceiverFunction, @PreprocessingFunction or @StatusFunction), which must be the innermost one"
        )
    return target


def _key_of(identifier, decorator):
    if isinstance(identifier, DataPackIdentifier):
        return (identifier.name, identifier.engine_name)
    raise TypeError(f"{decorator}: id must be a DataPackIdentifier")


class TransceiverFunction:
    """Decorator: a transceiver function linked to ``engine_name``.

    It runs when that engine is synchronised and must return a list of
    datapacks, which are sent to the engines they are addressed to.
    """

    def __init__(self, engine_name=None, **kwargs):
        self.engine_name = kwargs.get("engineName", engine_name)
        if not isinstance(self.engine_name, str):
            raise TypeError("TransceiverFunction(engine_name) expects an engine name")

    def __call__(self, function):
        if isinstance(function, FunctionSpec):
            raise TypeError("@TransceiverFunction must be the innermost decorator")
        return _register(FunctionSpec(KIND_TF, self.engine_name, function))


class PreprocessingFunction:
    """Decorator: a preprocessing function linked to ``engine_name``.

    Its inputs must come from that engine and its outputs, which go to the
    preprocessing pool, must be addressed to it.
    """

    def __init__(self, engine_name=None, **kwargs):
        self.engine_name = kwargs.get("engineName", engine_name)
        if not isinstance(self.engine_name, str):
            raise TypeError("PreprocessingFunction(engine_name) expects an engine name")

    def __call__(self, function):
        if isinstance(function, FunctionSpec):
            raise TypeError("@PreprocessingFunction must be the innermost decorator")
        return _register(FunctionSpec(KIND_PF, self.engine_name, function))


class StatusFunction:
    """Decorator: the status function, run once per datapack cycle after all
    transceiver functions. It returns ``(done, observations)``."""

    def __call__(self, function):
        if isinstance(function, FunctionSpec):
            raise TypeError("@StatusFunction must be the innermost decorator")
        return _register(FunctionSpec(KIND_SF, None, function))


class EngineDataPack:
    """Input decorator: injects the datapack ``id`` (requested from its engine)."""

    def __init__(self, keyword, id):  # noqa: A002 - nrp-core parameter name
        self.keyword = keyword
        self.key = _key_of(id, "EngineDataPack")

    def __call__(self, target):
        _check_target(target, "EngineDataPack")._add_input(self.keyword, IN_ENGINE, self.key, "EngineDataPack")
        return target


class EngineDataPacks:
    """Input decorator: injects ``{name: datapack}`` for several datapacks of one engine."""

    def __init__(self, keyword, datapackNames, engineName):  # noqa: N803 - nrp-core parameter names
        if isinstance(datapackNames, str) or not isinstance(engineName, str):
            raise TypeError("EngineDataPacks(keyword, datapackNames=[...], engineName=...)")
        self.keyword = keyword
        names = [str(n) for n in datapackNames]
        self.argument = (names, [(n, engineName) for n in names])

    def __call__(self, target):
        _check_target(target, "EngineDataPacks")._add_input(self.keyword, IN_ENGINES, self.argument, "EngineDataPacks")
        return target


class PreprocessedDataPack:
    """Input decorator: injects a datapack produced by a preprocessing function."""

    def __init__(self, keyword, id):  # noqa: A002 - nrp-core parameter name
        self.keyword = keyword
        self.key = _key_of(id, "PreprocessedDataPack")

    def __call__(self, target):
        _check_target(target, "PreprocessedDataPack")._add_input(
            self.keyword, IN_PREPROCESSED, self.key, "PreprocessedDataPack")
        return target


class SimulationTime:
    """Input decorator: injects the simulation time in nanoseconds."""

    def __init__(self, keyword):
        self.keyword = keyword

    def __call__(self, target):
        _check_target(target, "SimulationTime")._add_input(self.keyword, IN_TIME, None, "SimulationTime")
        return target


class SimulationIteration:
    """Input decorator: injects the datapack cycle counter (starts at 0)."""

    def __init__(self, keyword):
        self.keyword = keyword

    def __call__(self, target):
        _check_target(target, "SimulationIteration")._add_input(self.keyword, IN_ITERATION, None, "SimulationIteration")
        return target


def load_function_file(path, namespace):
    """Execute the function file ``path`` in ``namespace`` (shared by all
    function files of one simulation) and return the specs it registered."""
    with open(path, encoding="utf-8") as f:
        source = f.read()
    code = compile(source, path, "exec")
    previous = getattr(_loading, "registry", None)
    _loading.registry = registry = []
    try:
        namespace["__file__"] = path
        exec(code, namespace)  # noqa: S102 - running the experiment's own function file
    finally:
        _loading.registry = previous
    return registry
