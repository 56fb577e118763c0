"""Step-latency profile of one simulation: the Python side.

Only a profiled simulation uses this module. The host calls :func:`describe` once the client is initialised, allocates
two rings of native memory of the sizes it says, and calls :func:`attach` with their addresses. From then on:

* the session builds its ``nrp`` object with the timed ``run_loop`` (``runner.Nrp`` with a :class:`Recorder`), which
  writes ``(entry, client call, client return)`` per call into the host ring;
* with the embedded runtime, its FTI loop writes one record per datapack cycle into the cycle ring
  (``nrp_core._embedded.profiling``).

A ring is ``1 + records * slots`` 8-byte slots: slot 0 (int64) holds how many records were written so far (set after
each record), then the records (doubles), record ``n`` at ``n % records``. Stamps are ``time.perf_counter()`` seconds
(a float and a double store cost less than an int and an int64 store; at a year of uptime a double still
resolves 10 ns), indices and counts are exact small integers. Python does
nothing else per step: no call into .NET, no formatting, no statistics. The host reads the rings without the GIL
(it checks the count before and after reading, so a record overwritten meanwhile is counted as lost, never misread)
and does the rest: statistics, nrp-core's time-log files, metrics.
"""

import ctypes
from time import perf_counter

__all__ = ["HOST_SLOTS", "Recorder", "attach", "describe"]

# Values per nrp.run_loop record: entry, client call, client return.
HOST_SLOTS = 3


class Recorder:
    """A ring as Python writes it: ``records`` (one ``memoryview`` of doubles per record, a power of two of them; a
    memoryview item store is the cheapest way to put a Python float into native memory) and ``head`` (an int64
    ``memoryview``, ``head[0]`` = records written)."""

    __slots__ = ("records", "head")

    def __init__(self, address, records, slots):
        if records <= 0 or records & (records - 1):
            raise ValueError("the number of records must be a power of two")
        raw = memoryview((ctypes.c_char * (8 * (1 + records * slots))).from_address(address)).cast("B")
        self.head = raw[:8].cast("q")
        self.records = [raw[8 * (1 + i * slots):8 * (1 + (i + 1) * slots)].cast("d") for i in range(records)]

    def release(self):
        """Forget the host's memory (it is freed after this): the list the writers hold is emptied in place, so a
        late write fails with an IndexError instead of writing into freed memory."""
        self.records.clear()
        self.head = None


def describe(session):
    """``(cycle record slots, engine names, function names)``; 0 slots when the client has no FTI loop of its own
    (a real nrp-core installation), in which case only ``nrp.run_loop`` is timed."""
    hook = getattr(session.client, "_nrphost_cycle_probe", None)
    probe = hook() if hook is not None else None
    session.cycle_probe = probe
    if probe is None:
        return 0, [], []
    return probe.max_record, list(probe.engines), list(probe.functions)


def attach(session, host_address, host_records, cycle_address, cycle_records):
    """Profile ``session`` from its next ``run()`` on, into the rings at the two addresses, of so many records each (the
    cycle ring only when :func:`describe` gave it slots). Returns the clock's value now (seconds), the origin of the
    time logs."""
    session.profile = Recorder(host_address, host_records, HOST_SLOTS)
    probe = getattr(session, "cycle_probe", None)
    if probe is not None:
        cycles = Recorder(cycle_address, cycle_records, probe.max_record)
        session.cycle_recorder = cycles
        probe.start(cycles.records, cycles.head)
    return perf_counter()


def detach(session):
    """Release the views of the host's memory; the rings are no longer written after the script ended."""
    for name in ("profile", "cycle_recorder"):
        recorder = getattr(session, name, None)
        if recorder is not None:
            recorder.release()
            setattr(session, name, None)
