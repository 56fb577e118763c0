"""The example experiments under experiments/ run to completion through their
template-style main_script.py, driven like the NRP backend drives them."""

import json
import os

import logging

import nrpcore_testkit as kit
from nrp_client import NrpCore


class NRPSimulationTimeout(Exception):
    """Stand-in for the backend's exception class."""


def _run_main_script(name, extra_args=""):
    """Run experiments/<name>/main_script.py; returns (stand-in nrp, log messages, printed text)."""
    folder = os.path.join(kit.EXPERIMENTS_ROOT, name)
    with open(os.path.join(folder, "simulation_config.json"), encoding="utf-8") as f:
        config = json.load(f)
    index = next(i for i, e in enumerate(config["EngineConfigs"]) if e["EngineType"] == "datatransfer_grpc_engine")
    args = (f'-o EngineConfigs.{index}.simulationID="17" -o EngineConfigs.{index}.MQTTPrefix="" '
            f'-o EngineConfigs.{index}.MQTTBroker="localhost:1883"' + extra_args)
    script_path = os.path.join(folder, "main_script.py")
    with open(script_path, encoding="utf-8") as f:
        code = compile(f.read(), script_path, "exec")
    logger, handler = kit.script_logger(f"nrp_test_main_script_{name}")
    try:
        with kit.captured_stdout() as out:
            client = NrpCore("localhost:5345", experiment_folder=folder, args=args)
            client.initialize()
            nrp = kit.StandInNrp(client, NRPSimulationTimeout, config.get("SimulationTimeout", 0),
                                 config.get("SimulationTimestep", 0.01))
            exec(code, {"nrp": nrp, "NRPSimulationTimeout": NRPSimulationTimeout,  # noqa: S102
                        "file_logger": logger, "logging": logging})
            client.shutdown()
        messages = [record.getMessage() for record in handler.records]
    finally:
        kit.drop_logger(logger, handler)
    return nrp, messages, out.getvalue()


def test_example_tf_exchange_runs_100_steps_then_times_out():
    nrp, messages, text = _run_main_script("tf_exchange")
    assert nrp.count == 100 and len(nrp.results) == 100
    assert all(result == (False, []) for result in nrp.results)
    assert "tf_exchange: simulation completed" in messages
    assert "DataPack 1 data is {'time': 1000000000, 'timestep': 10000000}" in text
    assert "Engine 2 received data is {'time': 990000000, 'timestep': 10000000}" in text


def test_example_status_function_thermostat_reports_comfort():
    nrp, messages, text = _run_main_script("status_function_thermostat")
    assert nrp.count == 300
    assert any(done for done, _ in nrp.results)
    assert any(message.startswith("comfortable at t=") for message in messages)
    assert "status_function_thermostat: simulation completed" in messages
    assert "Room ends at" in text


def test_example_vehicle_closed_loop_moves_and_turns():
    # Real-time pacing off: the 60 s run takes a fraction of a second.
    nrp, messages, text = _run_main_script("vehicle_closed_loop", " -o EngineConfigs.0.RealTimeFactor=0")
    assert nrp.count == 6000
    assert "vehicle_closed_loop: simulation completed" in messages
    assert sum("s simulated)" in m for m in messages) == 60
    pose_lines = [line for line in text.splitlines() if line.startswith("t=") and "vehicle at" in line]
    assert len(pose_lines) == 120
    headings = {line.split("heading")[1].split("deg")[0].strip() for line in pose_lines}
    assert len(headings) > 2  # the controller steered it away from the wall
