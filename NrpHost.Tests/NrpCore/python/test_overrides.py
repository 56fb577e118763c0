"""``-o Key=Value`` override grammar and schema defaults of simulation_config.json."""


import nrpcore_testkit as kit
from nrp_client import NrpCore
from nrp_core._embedded.config import (
    ConfigError,
    apply_defaults,
    parse_override_args,
    seconds_to_ns,
    set_override,
)


def _config():
    return {
        "SimulationTimeout": 1,
        "SimulationName": "x",
        "EngineConfigs": [
            {"EngineType": "python_json", "EngineName": "python_1", "PythonFileName": "e.py"},
            {"EngineType": "datatransfer_grpc_engine", "EngineName": "datatransfer_engine", "simulationID": "0"},
        ],
    }


def _raises_config_error(call, *args):
    try:
        call(*args)
    except ConfigError as e:
        return e
    raise AssertionError("no ConfigError")


def test_overrides_args_are_split_on_single_spaces():
    assert parse_override_args("") == []
    assert parse_override_args("-o SimulationTimeout=5 --cloglevel=debug") == ["SimulationTimeout=5"]
    assert parse_override_args("-o A=1 -o B=2 --param C=3 --param=D=4 -oE=5") == ["A=1", "B=2", "C=3", "D=4", "E=5"]
    # a value with a space is cut at the space, as nrp-core's client does
    assert parse_override_args('-o SimulationName="two words"') == ['SimulationName="two']
    # two spaces give "-o" an empty argument
    _raises_config_error(parse_override_args, "-o  A=1")
    assert parse_override_args("--logdir logs -o A=1") == ["A=1"]
    _raises_config_error(parse_override_args, "-o")


def test_overrides_comma_joined_pairs_keep_json_values_whole():
    assert parse_override_args("-o A=1,B.c=2") == ["A=1", "B.c=2"]
    assert parse_override_args("-o A=[1,2,3]") == ["A=[1,2,3]"]
    assert parse_override_args('-o A={"x":1,"y":2},B=3') == ['A={"x":1,"y":2}', "B=3"]


def test_overrides_values_are_json_with_string_fallback():
    config = _config()
    set_override(config, "SimulationTimeout=5")
    set_override(config, 'SimulationName="quoted"')
    set_override(config, "Unquoted=localhost:1883")
    set_override(config, 'Obj={"a": [1, 2]}')
    set_override(config, "Flag=true")
    set_override(config, "Nothing=null")
    set_override(config, "Number=0.25")
    set_override(config, 'Empty=""')
    assert config["SimulationTimeout"] == 5
    assert config["SimulationName"] == "quoted"
    assert config["Unquoted"] == "localhost:1883"
    assert config["Obj"] == {"a": [1, 2]}
    assert config["Flag"] is True and config["Nothing"] is None and config["Number"] == 0.25
    assert config["Empty"] == ""


def test_overrides_dotted_paths_indices_and_searches():
    config = _config()
    set_override(config, 'EngineConfigs.1.simulationID="42"')
    set_override(config, 'EngineConfigs.1.MQTTPrefix=""')
    set_override(config, "EngineConfigs.EngineName:python_1.EngineTimestep=0.02")
    set_override(config, "Nested.deeper.value=3")
    set_override(config, "EngineConfigs.0.Extra=[1,2]")
    assert config["EngineConfigs"][1]["simulationID"] == "42"
    assert config["EngineConfigs"][1]["MQTTPrefix"] == ""
    assert config["EngineConfigs"][0]["EngineTimestep"] == 0.02
    assert config["EngineConfigs"][0]["Extra"] == [1, 2]
    assert config["Nested"] == {"deeper": {"value": 3}}
    # the value may itself contain "="
    set_override(config, 'EngineConfigs.1.Query="a=b"')
    assert config["EngineConfigs"][1]["Query"] == "a=b"


def test_overrides_invalid_forms_are_rejected():
    config = _config()
    _raises_config_error(set_override, config, "NoEquals")
    _raises_config_error(set_override, config, "=1")
    _raises_config_error(set_override, config, "A..b=1")
    _raises_config_error(set_override, config, "EngineConfigs.5.x=1")
    _raises_config_error(set_override, config, "EngineConfigs.abc.x=1")
    _raises_config_error(set_override, config, "EngineConfigs.EngineName:nope.x=1")
    _raises_config_error(set_override, config, "SimulationName.x=1")


def test_overrides_reach_the_engine_configuration_through_the_client():
    engine = """
    from nrp_core.engines.python_json import EngineScript


    class Script(EngineScript):
        def initialize(self):
            self._registerDataPack("config")
            self._setDataPack("config", {"id": self._config.get("simulationID"),
                                         "timestep": self._config["EngineTimestep"],
                                         "ratio": self._config["TimeRatio"]})
    """
    sf = """
    from nrp_core import *


    @EngineDataPack(keyword="config", id=DataPackIdentifier("config", "python_1"))
    @StatusFunction()
    def status_function(config):
        return False, []
    """
    config = {"SimulationTimeout": 1,
              "EngineConfigs": [kit.python_engine("python_1", "engine.py"), kit.datatransfer_engine()],
              "StatusFunction": kit.function("sf", "sf.py")}
    dirpath = kit.make_experiment({"engine.py": engine, "sf.py": sf}, config)
    try:
        args = ('-o EngineConfigs.0.simulationID="7" -o EngineConfigs.1.simulationID="7" '
                '-o EngineConfigs.1.MQTTPrefix="" -o EngineConfigs.1.MQTTBroker="localhost:1884" '
                "-o EngineConfigs.0.EngineTimestep=0.05 -o SimulationTimeout=2")
        client = NrpCore("localhost:5345", experiment_folder=dirpath, args=args)
        assert client.initialize() == [{"id": "7", "timestep": 0.05, "ratio": [1, 1000000000]}]
        client.run_until_timeout()
        # SimulationTimeout=2 with a 0.01 s datatransfer engine: the loop step is 0.01 s
        assert client._sim.loop.sim_time == 2000000000
        client.shutdown()
    finally:
        kit.remove(dirpath)


def test_defaults_are_applied_independently():
    config = apply_defaults({"EngineConfigs": [{"EngineType": "python_json", "EngineName": "a", "PythonFileName": "a.py"}],
                             "DataPackProcessingFunctions": [{"Name": "f", "FileName": "f.py"}],
                             "StatusFunction": {"Name": "s", "FileName": "s.py", "IsActive": False}})
    assert config["SimulationTimeout"] == 0
    assert config["SimulationTimestep"] == 0.01
    assert config["SimulationLoop"] == "FTILoop"
    assert config["ExternalProcesses"] == [] and config["ComputationalGraph"] == []
    engine = config["EngineConfigs"][0]
    assert engine["EngineTimestep"] == 0.01 and engine["EngineCommandTimeout"] == 0.0
    assert engine["ServerAddress"] == "localhost:9002"
    assert config["DataPackProcessingFunctions"][0]["IsActive"] is True
    assert config["StatusFunction"]["IsActive"] is False
    config = apply_defaults({"SimulationTimestep": 0.02})
    assert config["SimulationTimeout"] == 0 and config["SimulationTimestep"] == 0.02


def test_timesteps_convert_through_single_precision():
    assert seconds_to_ns(0.01) == 10000000
    assert seconds_to_ns(0.02) == 20000000
    assert seconds_to_ns(0.001) == 1000000
    assert seconds_to_ns(0.25) == 250000000
    assert seconds_to_ns(1) == 1000000000


def test_simulation_timeout_is_truncated_to_whole_seconds():
    config = {"SimulationTimeout": 0.9, "EngineConfigs": [kit.python_engine("python_1", "engine.py")]}
    dirpath = kit.make_experiment({"engine.py": kit.time_engine("d")}, config)
    try:
        client = NrpCore("localhost:5345", experiment_folder=dirpath)
        client.initialize()
        # 0.9 s truncates to 0: already timed out, no step runs
        assert client.run_until_timeout() == (False, True, [])
        assert client._sim.loop.sim_time == 0
        client.shutdown()
        client = NrpCore("localhost:5345", experiment_folder=dirpath, args="-o SimulationTimeout=1.5")
        client.initialize()
        client.run_until_timeout()
        assert client._sim.loop.sim_time == 1000000000
        client.shutdown()
    finally:
        kit.remove(dirpath)
