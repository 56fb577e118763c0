"""simulation_config.json loading: ``-o`` overrides, schema defaults, checks.

The override grammar follows NRPCoreSim's ``-o/--param Key=Value``:

* the argument string is split on single spaces, as the nrp-core client does;
  ``-o X``, ``--param X``, ``-oX`` and ``--param=X`` are recognised and every
  other token is ignored (log flags and the like have no meaning in-process);
* one parameter may hold several comma-joined ``Key=Value`` pairs; a comma
  starts a new pair only when what follows it looks like ``Key=``, so JSON
  values such as ``[1,2]`` survive;
* the key is split on ``=`` once, then on ``.`` into path segments; on an
  object a segment is a member name (missing members are added), on an array
  it is an index or a ``Key:Value`` search for the first element whose member
  ``Key`` equals ``Value``;
* the value is parsed as JSON (so strings are written ``"quoted"``); a value
  that is not valid JSON is taken as a plain string.

Defaults are applied to each key independently after the overrides, as the
JSON schema does in nrp-core 1.4.1.
"""

import copy
import json
import os
import re
import struct

__all__ = [
    "ConfigError",
    "apply_defaults",
    "apply_overrides",
    "launcher_settings",
    "load_config",
    "parse_override_args",
    "seconds_to_ns",
    "set_override",
]


class ConfigError(ValueError):
    """The simulation configuration or an override is invalid."""


_TOP_DEFAULTS = {
    "SimulationLoop": "FTILoop",
    "SimulationTimeout": 0,
    "SimulationTimestep": 0.01,
    "DataPackProcessor": "tf",
    "ProcessLauncherType": "Basic",
    "EngineConfigs": [],
    "ExternalProcesses": [],
    "DataPackProcessingFunctions": [],
    "ComputationalGraph": [],
    "FunctionArgumentsPassingMethod": "value",
}

_ENGINE_DEFAULTS = {
    "EngineProcStartParams": [],
    "EngineEnvParams": [],
    "EngineLaunchCommand": {"LaunchType": "BasicFork"},
    "EngineTimestep": 0.01,
    "EngineCommandTimeout": 0.0,
    "EngineExtraConfigs": {},
}

_PYTHON_JSON_DEFAULTS = {
    "ServerAddress": "localhost:9002",
    "RegistrationServerAddress": "localhost:9001",
    "ServerOptions": "",
}

_DATATRANSFER_DEFAULTS = {
    "ServerAddress": "localhost:9004",
    "MQTTBroker": "localhost:1883",
    "dataDirectory": "data",
    "simulationID": "0",
    "streamDataPackMessage": True,
    "dumps": [],
}

_FUNCTION_DEFAULTS = {"IsActive": True}

# Engine settings that only tell nrp-core how to launch and reach an engine process.
_LAUNCHER_KEYS = ("EngineProcCmd", "EngineProcStartParams", "EngineEnvParams", "ServerAddress",
                  "RegistrationServerAddress", "ServerOptions", "ProtobufPluginsPath")

_PAIR_SPLIT = re.compile(r",(?=[A-Za-z_][\w.:\-]*=)")


def seconds_to_ns(seconds):
    """Seconds to int ns the way nrp-core does: through single precision,
    truncated (0.01 s -> 10000000 ns)."""
    f32 = struct.unpack("f", struct.pack("f", float(seconds)))[0]
    product = struct.unpack("f", struct.pack("f", f32 * 1e9))[0]
    return int(product)


def parse_override_args(args):
    """Return the ``Key=Value`` strings given with ``-o``/``--param`` in ``args``."""
    if not args:
        return []
    tokens = args.split(" ")
    params = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        value = None
        if token in ("-o", "--param"):
            if i + 1 >= len(tokens) or tokens[i + 1] == "":
                raise ConfigError(f'Option "{token}" is missing its Key=Value argument')
            value = tokens[i + 1]
            i += 1
        elif token.startswith("--param="):
            value = token[len("--param="):]
        elif token.startswith("-o") and not token.startswith("--"):
            value = token[2:]
        i += 1
        if value is not None:
            params.extend(p for p in _PAIR_SPLIT.split(value) if p)
    return params


def _parse_value(text):
    try:
        return json.loads(text)
    except ValueError:
        return text


def _array_index(array, segment, full_key):
    if ":" in segment:
        member, wanted = segment.split(":", 1)
        wanted_json = _parse_value(wanted)
        for index, element in enumerate(array):
            if isinstance(element, dict) and member in element:
                found = element[member]
                if found == wanted_json or str(found) == wanted:
                    return index
        raise ConfigError(f'Override "{full_key}": no array element with {member} == {wanted}')
    try:
        index = int(segment)
    except ValueError:
        raise ConfigError(f'Override "{full_key}": "{segment}" is not an array index or Key:Value search') from None
    if not 0 <= index < len(array):
        raise ConfigError(f'Override "{full_key}": index {index} is out of range (array size {len(array)})')
    return index


def set_override(config, param):
    """Apply one ``Key=Value`` override to ``config`` in place."""
    if "=" not in param:
        raise ConfigError(f'Override "{param}" is not of the form Key=Value')
    full_key, text = param.split("=", 1)
    segments = full_key.split(".")
    if not full_key or any(s == "" for s in segments):
        raise ConfigError(f'Override "{param}" has an empty key')
    value = _parse_value(text)
    node = config
    for position, segment in enumerate(segments):
        last = position == len(segments) - 1
        if isinstance(node, list):
            index = _array_index(node, segment, full_key)
            if last:
                node[index] = value
            else:
                node = node[index]
        elif isinstance(node, dict):
            if last:
                node[segment] = value
            else:
                if segment not in node:
                    node[segment] = {}
                elif not isinstance(node[segment], (dict, list)):
                    raise ConfigError(f'Override "{full_key}": "{segment}" is not an object or array')
                node = node[segment]
        else:
            raise ConfigError(f'Override "{full_key}": "{segments[position - 1]}" is not an object or array')


def apply_overrides(config, params):
    for param in params:
        set_override(config, param)
    return config


def _fill(target, defaults):
    for key, value in defaults.items():
        if key not in target:
            target[key] = copy.deepcopy(value)


def apply_defaults(config):
    """Apply nrp-core's schema defaults in place and check the structure."""
    if not isinstance(config, dict):
        raise ConfigError("The simulation configuration must be a JSON object")
    _fill(config, _TOP_DEFAULTS)
    for key in ("EngineConfigs", "DataPackProcessingFunctions", "ExternalProcesses", "ComputationalGraph"):
        if not isinstance(config[key], list):
            raise ConfigError(f"{key} must be an array")
    if not isinstance(config["SimulationTimeout"], (int, float)) or isinstance(config["SimulationTimeout"], bool):
        raise ConfigError("SimulationTimeout must be a number")
    names = set()
    for index, engine in enumerate(config["EngineConfigs"]):
        if not isinstance(engine, dict):
            raise ConfigError(f"EngineConfigs.{index} must be an object")
        for required in ("EngineName", "EngineType"):
            if not isinstance(engine.get(required), str):
                raise ConfigError(f'EngineConfigs.{index} is missing the required string "{required}"')
        if engine["EngineName"] in names:
            raise ConfigError(f'Engine name "{engine["EngineName"]}" is used by more than one engine')
        names.add(engine["EngineName"])
        _fill(engine, _ENGINE_DEFAULTS)
        timestep = engine["EngineTimestep"]
        if isinstance(timestep, bool) or not isinstance(timestep, (int, float)) or timestep <= 0:
            raise ConfigError(f'Engine "{engine["EngineName"]}": EngineTimestep must be a positive number')
        if engine["EngineType"] == "datatransfer_grpc_engine":
            _fill(engine, _DATATRANSFER_DEFAULTS)
            dumps = engine["dumps"]
            if isinstance(dumps, list):
                for dump in dumps:
                    if isinstance(dump, dict):
                        _fill(dump, {"network": False, "file": False})
        if engine["EngineType"] == "python_json":
            _fill(engine, _PYTHON_JSON_DEFAULTS)
            if not isinstance(engine.get("PythonFileName"), str):
                raise ConfigError(f'Engine "{engine["EngineName"]}": "PythonFileName" is required for python_json engines')
    functions = list(config["DataPackProcessingFunctions"])
    if "StatusFunction" in config:
        if not isinstance(config["StatusFunction"], dict):
            raise ConfigError("StatusFunction must be an object")
        functions.append(config["StatusFunction"])
    for index, function in enumerate(functions):
        if not isinstance(function, dict):
            raise ConfigError(f"DataPackProcessingFunctions.{index} must be an object")
        for required in ("Name", "FileName"):
            if not isinstance(function.get(required), str):
                raise ConfigError(f'Function entry {index} is missing the required string "{required}"')
        _fill(function, _FUNCTION_DEFAULTS)
    return config


def launcher_settings(config):
    """Settings of ``config`` (before defaults) that only matter to a launched nrp-core:
    ``<engine>.<key>`` for engine launch settings, and ``ProcessLauncherType`` when not ``Basic``."""
    found = []
    if not isinstance(config, dict):
        return found
    if config.get("ProcessLauncherType", "Basic") != "Basic":
        found.append("ProcessLauncherType")
    for engine in config.get("EngineConfigs") or []:
        if not isinstance(engine, dict):
            continue
        name = engine.get("EngineName", "?")
        for key in _LAUNCHER_KEYS:
            if key in engine and engine[key] not in ([], ""):
                found.append(f"{name}.{key}")
        launch = engine.get("EngineLaunchCommand")
        if isinstance(launch, dict) and launch.get("LaunchType", "BasicFork") != "BasicFork":
            found.append(f'{name}.EngineLaunchCommand ({launch.get("LaunchType")})')
    return found


def load_config(path, args="", launcher=None):
    """Read ``path``, apply the ``-o`` overrides found in ``args`` and the defaults. The launcher
    settings the user gave (see :func:`launcher_settings`) are appended to the list ``launcher``."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"The provided configuration file [ {path} ] is invalid")
    with open(path, encoding="utf-8") as f:
        try:
            config = json.load(f)
        except ValueError as e:
            raise ConfigError(f"Could not parse the configuration file [ {path} ]: {e}") from e
    if not isinstance(config, dict):
        raise ConfigError(f"The configuration file [ {path} ] must hold a JSON object")
    apply_overrides(config, parse_override_args(args))
    if launcher is not None:
        launcher.extend(launcher_settings(config))
    return apply_defaults(config)
