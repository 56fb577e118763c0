"""``stop()`` from another thread ends a long run_loop / run_until_timeout."""

import threading
import time

import nrpcore_testkit as kit
from nrp_client import NrpCore


def _client(timeout=-1):
    config = {"SimulationTimeout": timeout, "EngineConfigs": [kit.python_engine("python_1", "engine.py")]}
    dirpath = kit.make_experiment({"engine.py": kit.time_engine("d")}, config)
    return dirpath, NrpCore("localhost:5345", experiment_folder=dirpath)


def _wait_for(condition, seconds=10.0):
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.001)


def _sim_time(client):
    return client._sim.loop.sim_time


def test_stop_ends_run_loop_zero_from_another_thread():
    dirpath, client = _client()
    try:
        client.initialize()
        outcome = []
        runner = threading.Thread(target=lambda: outcome.append(client.run_loop(0)))
        runner.start()
        _wait_for(lambda: client.current_state() == "Running" and _sim_time(client) >= 50000000)
        client.stop()
        runner.join(10)
        assert not runner.is_alive()
        assert outcome == [(False, [])]
        assert client.current_state() == "Stopped"
        stopped_at = _sim_time(client)
        assert client.run_loop(1) == (False, [])
        assert _sim_time(client) == stopped_at + 10000000
        client.shutdown()
    finally:
        kit.remove(dirpath)


def test_stop_ends_a_long_run_loop_before_its_iterations_are_done():
    dirpath, client = _client()
    try:
        client.initialize()
        runner = threading.Thread(target=client.run_loop, args=(10 ** 9,))
        runner.start()
        _wait_for(lambda: client.current_state() == "Running" and _sim_time(client) > 0)
        client.stop()
        runner.join(10)
        assert not runner.is_alive()
        assert _sim_time(client) < 10 ** 9 * 10000000
        client.shutdown()
    finally:
        kit.remove(dirpath)


def test_stop_async_run_and_unpack_results():
    dirpath, client = _client()
    try:
        client.initialize()
        response = []
        thread = client.run_loop(0, run_async=True, response=response)
        assert isinstance(thread, threading.Thread)
        _wait_for(lambda: client.current_state() == "Running")
        client.stop()
        thread.join(10)
        assert not thread.is_alive()
        assert client.unpack_thread_results(response) == (False, [])
        thread = client.run_until_timeout(run_async=True, response=response)
        _wait_for(lambda: _sim_time(client) > 0 and client.current_state() == "Running")
        client.stop()
        thread.join(10)
        # two results, as nrp-core 1.4.1 gives (the timeout flag stays on the response)
        assert client.unpack_thread_results(response[1]) == (False, [])
        assert response[1].timeoutFlag is False
        client.shutdown()
    finally:
        kit.remove(dirpath)


def test_stop_is_harmless_when_idle_and_does_not_affect_the_next_run():
    dirpath, client = _client(timeout=1)
    try:
        client.initialize()
        client.stop()
        assert client.current_state() == "Initialized"
        assert client.run_until_timeout() == (False, True, [])
        assert _sim_time(client) == 1000000000
        client.shutdown()
    finally:
        kit.remove(dirpath)
