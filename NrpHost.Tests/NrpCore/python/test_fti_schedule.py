"""The FTI loop's batch sequence against a direct model of nrp-core's algorithm
(reference §4.6: a queue ordered by completion time, equal times in insertion
order, one datapack cycle per batch, ``run = simTime - engineTime + timestep``,
an engine ahead of the simulation time requeued at its own time unstepped).

The loop precomputes the batch sequence and falls back to a heap when an
engine leaves the pattern; these tests drive it with stand-in engines through
many timestep combinations, engines that report other times than asked,
resets, and with the precomputed sequence disabled, and compare every
transceiver call, engine step, warning and step boundary with the model."""

import random
import re
import sys

import nrpcore_testkit  # noqa: F401 - puts the runtime on sys.path
from nrp_core._embedded import fti
from nrp_core._embedded.functions import IN_TIME, KIND_TF, FunctionSpec

MS = 1000000


class StandInEngine:
    """An engine whose clock advances by what it is asked to run, plus
    ``shifts[n]`` after its n-th step (to report a later or earlier time)."""

    def __init__(self, name, timestep_ns, log, shifts=None):
        self.name = name
        self.timestep_ns = timestep_ns
        self.time_ns = 0
        self.log = log
        self.shifts = shifts or {}
        self.clock = 0
        self.calls = 0

    def initialize(self):
        pass

    def step(self, run_ns):
        self.calls += 1
        self.clock += run_ns + self.shifts.get(self.calls, 0)
        self.log.append(("step", self.name, run_ns))
        return self.clock

    def get(self, name):
        return {"time": self.clock}

    def set(self, name, value):
        pass

    def reset(self):
        self.clock = 0

    def shutdown(self):
        pass


def _model(timesteps, steps, shifts=None, resets=()):
    """nrp-core's FTILoop on stand-in engines: the expected log."""
    shifts = shifts or {}
    names = [f"e{i}" for i in range(len(timesteps))]
    timestep = dict(zip(names, timesteps))
    log = []
    clock = dict.fromkeys(names, 0)
    reported = dict.fromkeys(names, 0)
    calls = dict.fromkeys(names, 0)
    queue = [(0, i, name) for i, name in enumerate(names)]
    seq = len(names)
    sim_time = 0
    dt = min(timesteps)
    for index in range(steps):
        if index in resets:
            log.append(("reset",))
            clock = dict.fromkeys(names, 0)
            reported = dict.fromkeys(names, 0)
            queue = [(0, seq + i, name) for i, name in enumerate(names)]
            seq += len(names)
            sim_time = 0
        stop = sim_time + dt
        while min(queue)[0] < stop:
            queue.sort()
            t = queue[0][0]
            batch = [name for time, _, name in queue if time == t]
            queue = [entry for entry in queue if entry[0] != t]
            log.extend(("tf", name, t) for name in batch)
            for name in batch:
                run = t - reported[name] + timestep[name]
                if run >= 0:
                    calls[name] += 1
                    clock[name] += run + shifts.get(name, {}).get(calls[name], 0)
                    reported[name] = clock[name]
                    log.append(("step", name, run))
                    queue.append((t + timestep[name], seq, name))
                else:
                    log.append(("ahead", name, t))
                    queue.append((reported[name], seq, name))
                seq += 1
        sim_time = stop
        log.append(("end", sim_time))
    return log


def _run_loop(timesteps, steps, shifts=None, resets=(), initialized=None):
    """The same run on the embedded FTI loop: (log, loop). ``initialized(loop)`` is called after ``initialize()``."""
    shifts = shifts or {}
    log = []
    engines = [StandInEngine(f"e{i}", ts, log, shifts.get(f"e{i}")) for i, ts in enumerate(timesteps)]
    functions = []
    for engine in engines:
        def transceiver_function(t, name=engine.name):
            log.append(("tf", name, t))
            return []
        spec = FunctionSpec(KIND_TF, engine.name, transceiver_function)
        spec._add_input("t", IN_TIME, None, "SimulationTime")
        functions.append(spec)

    def warn(message):
        match = re.match(r'Engine "(\w+)" is ahead of the simulation time \((\d+) ns > (\d+) ns\)', message)
        assert match, message
        log.append(("ahead", match.group(1), int(match.group(3))))

    loop = fti.FTILoop(engines, functions, None, warn=warn)
    loop.initialize()
    if initialized is not None:
        initialized(loop)
    for index in range(steps):
        if index in resets:
            log.append(("reset",))
            loop.reset()
        loop.run_step()
        log.append(("end", loop.sim_time))
    return log, loop


def _check(timesteps, steps=120, shifts=None, resets=(), initialized=None):
    expected = _model(timesteps, steps, shifts, resets)
    actual, loop = _run_loop(timesteps, steps, shifts, resets, initialized)
    assert actual == expected, (timesteps, shifts, resets, _first_difference(actual, expected))
    return loop


def _first_difference(actual, expected):
    for i, (a, b) in enumerate(zip(actual, expected)):
        if a != b:
            return i, a, b
    return min(len(actual), len(expected)), "length", (len(actual), len(expected))


class _NoPrecomputedSchedule:
    """Within this block, FTI loops use the heap scheduler only."""

    def __enter__(self):
        self.saved = getattr(fti, "MAX_SCHEDULE_LENGTH", None)
        fti.MAX_SCHEDULE_LENGTH = 0

    def __exit__(self, *exc):
        if self.saved is not None:
            fti.MAX_SCHEDULE_LENGTH = self.saved
        else:
            del fti.MAX_SCHEDULE_LENGTH


CONFIGURATIONS = [
    [10 * MS, 20 * MS, 40 * MS, 80 * MS],  # nrp-core's loop_sync_test_tf
    [80 * MS, 40 * MS, 20 * MS, 10 * MS],
    [20 * MS, 30 * MS],  # several or no cycles per step
    [10 * MS, 15 * MS, 25 * MS],
    [10 * MS, 10 * MS, 10 * MS],
    [30 * MS, 10 * MS, 30 * MS, 20 * MS],
    [7 * MS, 10 * MS, 13 * MS],  # long hyperperiod
    [10 * MS],
]


def test_schedule_matches_the_model_for_regular_engines():
    for timesteps in CONFIGURATIONS:
        loop = _check(timesteps)
        if hasattr(loop, "_node"):
            assert loop._node is not None  # still on the precomputed sequence


def test_schedule_four_engine_batches_in_queue_order():
    log, _ = _run_loop([10 * MS, 20 * MS, 40 * MS, 80 * MS], 17)
    batches = {}
    for entry in log:
        if entry[0] == "tf":
            batches.setdefault(entry[2] // MS, []).append(entry[1])
    assert batches[0] == ["e0", "e1", "e2", "e3"]
    assert batches[10] == ["e0"]
    assert batches[20] == ["e1", "e0"]
    assert batches[40] == ["e2", "e1", "e0"]
    assert batches[80] == ["e3", "e2", "e1", "e0"]
    assert batches[160] == ["e3", "e2", "e1", "e0"]
    assert sorted(batches) == [10 * k for k in range(17)]


def test_schedule_engine_reporting_an_earlier_time_runs_longer_next_time():
    # e1 reports 3 ms less than asked after its 2nd step: its next run is 23 ms,
    # and the batch pattern is unchanged
    _check([10 * MS, 20 * MS], shifts={"e1": {2: -3 * MS}})


def test_schedule_engine_ahead_is_not_stepped_and_requeued_at_its_time():
    # e1 jumps 35 ms ahead after its 3rd step: warnings, unstepped cycles and a
    # new batch pattern, identical to nrp-core's queue
    loop = _check([10 * MS, 20 * MS, 40 * MS], shifts={"e1": {3: 35 * MS}})
    if hasattr(loop, "_node"):
        assert loop._node is None  # left the precomputed sequence
    _check([10 * MS, 20 * MS], shifts={"e0": {1: 5 * MS, 4: 21 * MS}, "e1": {2: 60 * MS}})
    _check([20 * MS, 30 * MS], shifts={"e0": {2: 31 * MS}})


def test_schedule_reset_restarts_the_sequence():
    _check([10 * MS, 20 * MS, 40 * MS], resets=(7, 30, 31))
    # a reset after leaving the precomputed sequence returns to it
    loop = _check([10 * MS, 20 * MS], shifts={"e1": {3: 35 * MS}}, resets=(20,))
    if hasattr(loop, "_node"):
        assert loop._node is not None


def test_schedule_heap_scheduler_alone_matches_the_model():
    with _NoPrecomputedSchedule():
        for timesteps in CONFIGURATIONS:
            loop = _check(timesteps, steps=60)
            if hasattr(loop, "_node"):
                assert loop._schedule is None and loop._node is None
        _check([10 * MS, 20 * MS, 40 * MS], shifts={"e1": {3: 35 * MS}}, resets=(40,))


def test_schedule_random_configurations_match_the_model():
    rng = random.Random(20240611)
    for _ in range(60):
        count = rng.randint(1, 4)
        timesteps = [rng.choice((5, 10, 10, 15, 20, 25, 30, 40)) * MS for _ in range(count)]
        shifts = {}
        for i in range(count):
            if rng.random() < 0.4:
                shifts[f"e{i}"] = {rng.randint(1, 12): rng.choice((-7, -1, 1, 9, 33, 70)) * MS}
        resets = tuple(sorted(rng.sample(range(1, 80), rng.randint(0, 2))))
        _check(timesteps, steps=80, shifts=shifts, resets=resets)
        with _NoPrecomputedSchedule():
            _check(timesteps, steps=40, shifts=shifts, resets=resets)
