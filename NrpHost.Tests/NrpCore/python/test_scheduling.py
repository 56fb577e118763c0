"""Four engines at 0.01/0.02/0.04/0.08 s (nrp-core's loop_sync_test_tf): call counts,
last-seen engine times per cycle (stale datapacks of engines outside the batch)
and the order of the transceiver functions inside a cycle."""


import os

import nrpcore_testkit as kit
from nrp_client import NrpCore

# tf_1 defines the globals shared by all function files, as in nrp-core
TF_1 = """
from nrp_core import *

num_iterations = [0, 0, 0, 0]
engine_times = [0, 0, 0, 0]
rows = []
order = []


@EngineDataPack(keyword="dp1", id=DataPackIdentifier("datapack1", "python_1"))
@EngineDataPack(keyword="dp2", id=DataPackIdentifier("datapack2", "python_2"))
@EngineDataPack(keyword="dp3", id=DataPackIdentifier("datapack3", "python_3"))
@EngineDataPack(keyword="dp4", id=DataPackIdentifier("datapack4", "python_4"))
@TransceiverFunction("python_1")
def transceiver_function(dp1, dp2, dp3, dp4):
    engine_times[0] = dp1.data["time"]
    engine_times[1] = dp2.data["time"]
    engine_times[2] = dp3.data["time"]
    engine_times[3] = dp4.data["time"]
    rows.append([v for pair in zip(num_iterations, engine_times) for v in pair])
    num_iterations[0] += 1
    order.append(1)
    return []
"""

TF_N = """
from nrp_core import *


@TransceiverFunction("python_{n}")
def transceiver_function_{n}():
    num_iterations[{n} - 1] += 1
    order.append({n})
    return []
"""

SF = """
from nrp_core import *
from nrp_core.data.nrp_json import JsonRawData


@SimulationTime(keyword="t")
@StatusFunction()
def status_function(t):
    observation = JsonRawData()
    observation.data["time"] = t
    observation.data["order"] = list(order)
    observation.data["row"] = rows[-1]
    order.clear()
    return False, [observation]
"""

# First rows of nrp-core's expected_results.txt for this setup
EXPECTED_HEAD = [
    [0, 0, 0, 0, 0, 0, 0, 0],
    [1, 10000000, 1, 0, 1, 0, 1, 0],
    [2, 20000000, 2, 20000000, 1, 0, 1, 0],
    [3, 30000000, 2, 20000000, 1, 0, 1, 0],
    [4, 40000000, 3, 40000000, 2, 40000000, 1, 0],
    [5, 50000000, 3, 40000000, 2, 40000000, 1, 0],
    [6, 60000000, 4, 60000000, 2, 40000000, 1, 0],
    [7, 70000000, 4, 60000000, 2, 40000000, 1, 0],
    [8, 80000000, 5, 80000000, 3, 80000000, 2, 80000000],
    [9, 90000000, 5, 80000000, 3, 80000000, 2, 80000000],
]


def _expected_row(k):
    if k == 0:
        return [0] * 8
    row = [k, k * 10000000]
    for factor in (2, 4, 8):
        row += [k // factor + 1, (k // factor) * factor * 10000000]
    return row


def _experiment():
    files = {"tf_1.py": TF_1, "sf.py": SF}
    config = {"SimulationTimeout": 1, "EngineConfigs": [], "DataPackProcessingFunctions": [kit.function("tf_1", "tf_1.py")],
              "StatusFunction": kit.function("status_function", "sf.py")}
    for n, timestep in ((1, 0.01), (2, 0.02), (3, 0.04), (4, 0.08)):
        files[f"engine_{n}.py"] = kit.time_engine(f"datapack{n}")
        config["EngineConfigs"].append(kit.python_engine(f"python_{n}", f"engine_{n}.py", timestep))
        if n > 1:
            files[f"tf_{n}.py"] = TF_N.format(n=n)
            config["DataPackProcessingFunctions"].append(kit.function(f"tf_{n}", f"tf_{n}.py"))
    return kit.make_experiment(files, config)


def _run():
    dirpath = _experiment()
    try:
        client = NrpCore("localhost:5345", experiment_folder=dirpath)
        client.initialize()
        result = client.run_until_timeout()
        client.shutdown()
        return result
    finally:
        kit.remove(dirpath)


def _expected_table():
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "expected_schedule_4_engines.txt")
    with open(path, encoding="utf-8") as f:
        return [[int(v) for v in line.split()] for line in f if line.strip() and not line.startswith("#")]


def test_scheduling_table_matches_nrp_core():
    done, timeout, trajectory = _run()
    assert (done, timeout) == (False, True)
    assert len(trajectory) == 100
    rows = [entry["row"] for entry in trajectory]
    assert rows[:10] == EXPECTED_HEAD
    table = _expected_table()
    assert len(table) == 100
    for k, (row, expected) in enumerate(zip(rows, table)):
        assert row == expected, f"cycle {k}: {row} != {expected}"
    assert table == [_expected_row(k) for k in range(100)]
    assert rows[99] == [99, 990000000, 50, 980000000, 25, 960000000, 13, 960000000]


def test_scheduling_one_cycle_per_step_at_the_smallest_timestep():
    _, _, trajectory = _run()
    assert [entry["time"] for entry in trajectory] == [10000000 * k for k in range(100)]
    counts = [0, 0, 0, 0]
    for entry in trajectory:
        for n in entry["order"]:
            counts[n - 1] += 1
    assert counts == [100, 50, 25, 13]


def test_scheduling_batch_order_puts_the_earliest_queued_engine_first():
    _, _, trajectory = _run()
    by_time = {entry["time"]: entry["order"] for entry in trajectory}
    assert by_time[0] == [1, 2, 3, 4]  # configuration order at t=0
    assert by_time[10000000] == [1]
    assert by_time[20000000] == [2, 1]
    assert by_time[40000000] == [3, 2, 1]
    assert by_time[80000000] == [4, 3, 2, 1]
    assert by_time[160000000] == [4, 3, 2, 1]


def test_scheduling_non_multiple_timesteps_give_several_cycles_per_step():
    files = {"engine_1.py": kit.time_engine("a"), "engine_2.py": kit.time_engine("b"), "sf.py": '''
        from nrp_core import *
        from nrp_core.data.nrp_json import JsonRawData


        @SimulationTime(keyword="t")
        @EngineDataPack(keyword="a", id=DataPackIdentifier("a", "python_1"))
        @EngineDataPack(keyword="b", id=DataPackIdentifier("b", "python_2"))
        @StatusFunction()
        def status_function(t, a, b):
            return False, [JsonRawData({"t": t, "a": a.isUpdated(), "b": b.isUpdated()})]
        '''}
    config = {"SimulationTimeout": 1, "EngineConfigs": [kit.python_engine("python_1", "engine_1.py", 0.02),
                                                        kit.python_engine("python_2", "engine_2.py", 0.03)],
              "StatusFunction": kit.function("status_function", "sf.py")}
    dirpath = kit.make_experiment(files, config)
    try:
        client = NrpCore("localhost:5345", experiment_folder=dirpath)
        client.initialize()
        client.run_loop(3)  # dt = 0.02 s: steps end at 0.02, 0.04, 0.06
        client.set_json_datapack("unused", "nowhere", {})  # unknown engines are ignored
        client.run_loop(1)
        client.shutdown()
        client2 = NrpCore("localhost:5345", experiment_folder=dirpath)
        client2.initialize()
        _, _, trajectory = client2.run_until_timeout()
        client2.shutdown()
    finally:
        kit.remove(dirpath)
    times = [entry["t"] for entry in trajectory]
    assert times[:5] == [0, 20000000, 30000000, 40000000, 60000000]
    assert trajectory[2] == {"t": 30000000, "a": False, "b": True}
    assert trajectory[4] == {"t": 60000000, "a": True, "b": True}
