"""The FTI loop's per-cycle time stamps (NrpHost's step-latency profile, ``nrp_core._embedded.profiling``) and the rings
they are written into (``nrphost.profiling``).

A profiled loop must behave exactly as a plain one: the same batches, engine steps, warnings, datapack flow and
status-function observations (the schedule model of test_fti_schedule and nrp-core's four-engine table of
test_scheduling), with one record per cycle whose stamps never go backwards, and a layout for every plan it uses,
including plans made after an engine left the precomputed schedule. Each test runs with every ring writer there is
here: the native one (``nrphost._stamp``, where it was built) and Python's stand-in."""

import ctypes
from time import perf_counter

import nrpcore_testkit as kit
import test_fti_schedule as schedule
import test_scheduling
from nrp_client import NrpCore
from nrp_core._embedded.profiling import CycleProbe
from nrphost import profiling

RECORDS = 1024


def _writers():
    """The ring writers to test: Python's stand-in, and the native one where it was built."""
    writers = [profiling.PythonRing]
    if profiling.STAMPS == "native":
        writers.append(profiling.Ring)
    return writers


class Ring:
    """Native memory laid out as the host lays it out, a ``writer`` over it, and the records it wrote decoded."""

    def __init__(self, slots, records=RECORDS, writer=profiling.Ring):
        self.slots = slots
        self.memory = (ctypes.c_int64 * (1 + records * slots))()
        address = ctypes.addressof(self.memory)
        self.writer = writer(address, records, slots)
        record = ctypes.c_double * slots
        self.records = [record.from_address(address + 8 * (1 + i * slots)) for i in range(records)]
        self.head = (ctypes.c_int64 * 1).from_address(address)

    def read(self):
        """(layouts {plan id: (functions, engines)}, cycles [(plan id, stamps)]) of every record written (no lapping)."""
        written = self.head[0]
        assert written <= len(self.records), "the test ring overflowed"
        layouts, cycles = {}, []
        for n in range(written):
            values = list(self.records[n])
            if values[0] < 0:
                values = [int(v) for v in values]
                functions, engines = values[1], values[2]
                layouts[-1 - values[0]] = (values[3:3 + functions], values[3 + functions:3 + functions + engines])
            else:
                functions, engines = layouts[int(values[0])]
                cycles.append((int(values[0]), values[1:4 + len(functions) + len(engines)]))
        return layouts, cycles


def _profile(loop, writer):
    probe = CycleProbe(loop)
    ring = Ring(probe.max_record, writer=writer)
    probe.start(ring.writer)
    return probe, ring


def _check_stamps(probe, ring, batches):
    layouts, cycles = ring.read()
    assert len(cycles) == batches
    for plan, stamps in cycles:
        functions, engines = layouts[plan]
        assert len(stamps) == 3 + len(functions) + len(engines)
        assert stamps == sorted(stamps), stamps
        assert all(0 <= f < len(probe.functions) for f in functions)
        assert all(0 <= e < len(probe.engines) for e in engines)
    for (_, previous), (_, current) in zip(cycles, cycles[1:]):
        assert current[0] >= previous[-1]
    return layouts, cycles


def test_profiling_leaves_the_schedule_unchanged_and_stamps_every_batch():
    cases = [(timesteps, {}, ()) for timesteps in schedule.CONFIGURATIONS]
    cases += [
        ([10 * schedule.MS, 20 * schedule.MS, 40 * schedule.MS], {"e1": {3: 35 * schedule.MS}}, ()),
        ([10 * schedule.MS, 20 * schedule.MS], {"e0": {1: 5 * schedule.MS, 4: 21 * schedule.MS}, "e1": {2: 60 * schedule.MS}}, ()),
        ([10 * schedule.MS, 20 * schedule.MS, 40 * schedule.MS], {}, (7, 30, 31)),
    ]
    for writer, (timesteps, shifts, resets) in ((w, case) for w in _writers() for case in cases):
        profiled = {}

        def start(loop):
            profiled["probe"], profiled["ring"] = _profile(loop, writer)

        loop = schedule._check(timesteps, steps=60, shifts=shifts, resets=resets, initialized=start)
        log, _ = schedule._run_loop(timesteps, 60, shifts, resets)
        batches = len({(entry[2], i) for i, entry in enumerate(log) if entry[0] == "tf" and (i == 0 or log[i - 1][0] != "tf")})
        layouts, cycles = _check_stamps(profiled["probe"], profiled["ring"], batches)
        # every plan the loop knows was described, and each batch's engines are the plan's
        assert sorted(layouts) == sorted(plan.profile[0] for plan in loop._plans.values() if plan.profile is not None)
        assert {plan for plan, _ in cycles} <= set(layouts)


def test_profiling_leaves_the_heap_scheduler_unchanged():
    with schedule._NoPrecomputedSchedule():
        for writer, timesteps in ((w, t) for w in _writers() for t in schedule.CONFIGURATIONS[:4]):
            rings = []
            schedule._check(timesteps, steps=40, initialized=lambda loop: rings.append(_profile(loop, writer)))
            layouts, cycles = rings[0][1].read()
            assert cycles and len(layouts) >= 1


def test_profiling_four_engines_with_status_function_gives_nrp_cores_table():
    for writer in _writers():
        _four_engines_with_status_function(writer)


def _four_engines_with_status_function(writer):
    dirpath = test_scheduling._experiment()
    try:
        client = NrpCore("localhost:5345", experiment_folder=dirpath)
        client.initialize()
        probe = client._nrphost_cycle_probe()
        ring = Ring(probe.max_record, records=256, writer=writer)
        probe.start(ring.writer)
        done, timeout, trajectory = client.run_until_timeout()
        client.shutdown()
    finally:
        kit.remove(dirpath)
    assert (done, timeout) == (False, True)
    assert [entry["row"] for entry in trajectory] == test_scheduling._expected_table()
    assert probe.engines == ["python_1", "python_2", "python_3", "python_4"]
    assert probe.functions == ["tf_1", "tf_2", "tf_3", "tf_4", "status_function"]
    layouts, cycles = _check_stamps(probe, ring, 100)
    # the status function runs in every cycle, after the batch's transceiver functions
    for plan, _ in cycles:
        functions, engines = layouts[plan]
        assert probe.functions[functions[-1]] == "status_function"
        assert [probe.engines[e] for e in engines] == [probe.functions[f].replace("tf_", "python_") for f in functions[:-1]]


def test_profiling_a_failing_function_writes_no_record_and_raises_as_before():
    for writer in _writers():
        _failing_function(writer)


def _failing_function(writer):
    files = {"engine.py": kit.time_engine("datapack1"), "tf.py": """
        from nrp_core import *

        calls = [0]

        @TransceiverFunction("python_1")
        def failing():
            calls[0] += 1
            if calls[0] == 3:
                raise ValueError("third call")
            return []
        """}
    config = {"SimulationTimeout": 1, "EngineConfigs": [kit.python_engine("python_1", "engine.py", 0.01)],
              "DataPackProcessingFunctions": [kit.function("tf", "tf.py")]}
    dirpath = kit.make_experiment(files, config)
    try:
        client = NrpCore("localhost:5345", experiment_folder=dirpath)
        client.initialize()
        probe = client._nrphost_cycle_probe()
        ring = Ring(probe.max_record, writer=writer)
        probe.start(ring.writer)
        client.run_loop(2)
        try:
            client.run_loop(1)
            raise AssertionError("the function's error did not reach the caller")
        except RuntimeError as error:
            assert "third call" in str(error)
        client.shutdown()
    finally:
        kit.remove(dirpath)
    _, cycles = ring.read()
    assert len(cycles) == 2


def test_ring_writers_write_the_same_records():
    """A stamp is the clock time.perf_counter reads, at the moment of the call; commit publishes the record with its
    first value, record writes a whole one; both writers leave the same memory."""
    memories = []
    for writer in _writers():
        ring = Ring(4, records=4, writer=writer)
        w = ring.writer
        before = perf_counter()
        w.stamp(1)
        w.stamp(3)
        after = perf_counter()
        w.commit(7)
        w.record([-1, 2, 0, 5])
        assert ring.head[0] == 2
        first = list(ring.records[0])
        assert first[0] == 7 and first[2] == 0
        assert before <= first[1] <= first[3] <= after, (writer, before, first, after)
        assert list(ring.records[1]) == [-1, 2, 0, 5]
        for _ in range(3):  # once around the ring: the fifth record is the first slot again
            w.record([1, 2, 3, 4])
        assert ring.head[0] == 5 and list(ring.records[0]) == [1, 2, 3, 4]
        memories.append([list(record) for record in ring.records[1:]])
    assert all(memory == memories[0] for memory in memories)


def test_ring_writers_refuse_what_would_leave_the_ring():
    """A script can reach its ring (through nrp.run_loop's closure): no call can write outside it, or after the host
    let go of it."""
    for writer in _writers():
        ring = Ring(3, records=2, writer=writer)
        w = ring.writer
        for bad in (-1, 3, 1 << 40):
            try:
                w.stamp(bad)
                raise AssertionError("%s wrote slot %d of a 3-slot record" % (writer.__name__, bad))
            except (IndexError, OverflowError):
                pass
        try:
            w.record([1, 2, 3, 4])
            raise AssertionError("a 4-value record went into 3 slots")
        except ValueError:
            pass
        assert ring.head[0] == 0 and all(list(record) == [0, 0, 0] for record in ring.records)
        assert w.release()
        for call in (lambda: w.stamp(0), lambda: w.commit(), lambda: w.record([1])):
            try:
                call()
                raise AssertionError("%s wrote after it was released" % writer.__name__)
            except ValueError:
                pass
        assert ring.head[0] == 0
        if writer is not profiling.PythonRing:  # the native ring is pointed at its memory once
            try:
                w.__init__(ctypes.addressof(ring.memory), 2, 3)
                raise AssertionError("a released native ring was set up again")
            except TypeError:
                pass
    try:
        profiling.PythonRing(ctypes.addressof(ctypes.c_int64()), 3, 1)
        raise AssertionError("a ring of 3 records was accepted")
    except ValueError:
        pass


def test_python_ring_release_tells_when_a_view_outlives_it():
    """A script that kept a view of the memory could still write it once the host freed it: release says so, and the
    host then keeps the memory."""
    ring = Ring(3, records=2, writer=profiling.PythonRing)
    kept = ring.writer._values[0:3]
    assert ring.writer.release() is False
    kept.release()
    ring = Ring(3, records=2, writer=profiling.PythonRing)
    assert ring.writer.release() is True
