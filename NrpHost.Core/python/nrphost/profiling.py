"""Step-latency profile of one simulation: the Python side.

Only a profiled simulation uses this module. The host calls :func:`describe` once the client is initialised, allocates
two rings of native memory of the sizes it says, and calls :func:`attach` with their addresses. From then on:

* the session builds its ``nrp`` object with the timed ``run_loop`` (``runner.Nrp`` with a ring), which writes
  ``(entry, client call, client return)`` per call into the host ring;
* with the embedded runtime, its FTI loop writes one record per datapack cycle into the cycle ring
  (``nrp_core._embedded.profiling``).

A ring is ``1 + records * slots`` 8-byte slots: slot 0 (int64) holds how many records were written so far (set after
each record), then the records (doubles), record ``n`` at ``n % records``. Stamps are seconds of the monotonic clock
(``time.perf_counter()``; at a year of uptime a double still resolves 10 ns), indices and counts exact small integers.

Writers see a ring as an object with ``stamp(k)`` (the clock into slot ``k`` of the record being written),
``commit([first])`` (publish that record, slot 0 set to ``first`` if given), ``record(values)`` (write and publish a
whole record) and ``release()``. The native ``nrphost._stamp.Ring`` (built from ``native/_stamp.c`` when the library is
built) does each in one C call, without a Python float: a profiled two-engine FTI cycle costs about a third of what
Python's own clock reads and stores cost. :class:`PythonRing` is its stand-in where it was not built. Python does
nothing else per step: no call into .NET, no formatting, no statistics. The host reads the rings without the GIL (it
checks the count before and after reading, so a record overwritten meanwhile is counted as lost, never misread) and
does the rest: statistics, nrp-core's time-log files, metrics.
"""

import ctypes
import sys
from time import perf_counter

__all__ = ["HOST_SLOTS", "STAMPS", "PythonRing", "Ring", "attach", "describe", "detach"]

# Values per nrp.run_loop record: entry, client call, client return.
HOST_SLOTS = 3


class PythonRing:
    """A ring written from Python: the same methods and records as ``nrphost._stamp.Ring``, each stamp a
    ``time.perf_counter()`` stored through a ``memoryview`` (slower: a Python call, a float and a store per stamp)."""

    __slots__ = ("_memory", "_head", "_values", "_slots", "_mask", "_written", "_base")

    def __init__(self, address, records, slots):
        if not address or records <= 0 or records & (records - 1) or slots <= 0:
            raise ValueError("a ring needs an address, a power of two of records and at least one slot")
        self._memory = (ctypes.c_char * (8 * (1 + records * slots))).from_address(address)
        raw = memoryview(self._memory).cast("B")
        self._head = raw[:8].cast("q")
        self._values = raw[8:].cast("d")
        raw.release()
        self._slots = slots
        self._mask = records - 1
        self._written = self._head[0]
        self._base = (self._written & self._mask) * slots

    def stamp(self, k):
        if not 0 <= k < self._slots:
            raise IndexError("slot %d is outside the record (%d slots)" % (k, self._slots))
        self._values[self._base + k] = perf_counter()

    def commit(self, first=None):
        if first is not None:
            self._values[self._base] = first
        self._publish()

    def record(self, values):
        values = [float(value) for value in values]
        if len(values) > self._slots:
            raise ValueError("a record of %d values does not fit in %d slots" % (len(values), self._slots))
        for i, value in enumerate(values):
            self._values[self._base + i] = value
        self._publish()

    def _publish(self):
        self._written += 1
        self._head[0] = self._written
        self._base = (self._written & self._mask) * self._slots

    def release(self):
        """Forget the host's memory: later calls raise ValueError. Returns whether the memory may be freed, that is
        whether no view of it made by anyone else is left."""
        self._head.release()
        self._values.release()
        memory, self._memory = self._memory, None
        # the only references left should be `memory` and getrefcount's argument: any other is a view made of it
        return sys.getrefcount(memory) <= 2


try:
    from ._stamp import Ring  # the native stamps (native/_stamp.c)
    STAMPS = "native"
except ImportError:  # not built here (no C compiler at build time), or built for another platform
    Ring = PythonRing
    STAMPS = "python"


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
    session.profile = Ring(host_address, host_records, HOST_SLOTS)
    probe = getattr(session, "cycle_probe", None)
    if probe is not None:
        cycles = Ring(cycle_address, cycle_records, probe.max_record)
        session.cycle_ring = cycles
        probe.start(cycles)
    return perf_counter()


def detach(session):
    """Release the rings: the host's memory is no longer written after the script ended. Returns whether the host may
    free it: False when a view of it outlives the release (a script kept one), and the host then leaves it allocated."""
    free = True
    for name in ("profile", "cycle_ring"):
        ring = getattr(session, name, None)
        if ring is not None:
            free = bool(ring.release()) and free
            setattr(session, name, None)
    return free
