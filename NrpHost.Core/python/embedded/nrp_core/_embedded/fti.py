"""The FTI loop: engine scheduling, datapack pools and function execution.

This follows nrp-core 1.4.1's ``FTILoop`` and ``SimulationDataManager``:

* the loop step ``dt`` is the smallest engine timestep; engines wait in a queue
  ordered by completion time, equal times keeping insertion order;
* each ``run_step`` advances the simulation time by ``dt``, running one
  datapack cycle per batch of engines that complete inside that step;
* a datapack cycle fetches the requested datapacks of the batch engines, runs
  their preprocessing functions, then their transceiver functions, then the
  status function, sends transceiver outputs and client datapacks to the batch
  engines, and clears the isUpdated flags;
* the batch engines are then restarted for one timestep.

Engine steps run synchronously when the engine is restarted, which gives the
same data flow as nrp-core's asynchronous steps (an engine only receives data
when it is in a batch) and leaves every engine idle between requests.

Precomputation
--------------
Nothing a cycle does depends on data except the datapacks themselves, so it is
worked out once:

* a :class:`_CyclePlan` per batch (an ordered tuple of engines) holds what the
  cycle fetches, which functions it runs and which engines it sends to;
* the batch sequence is periodic: while every engine reports the time it was
  asked to reach, an engine is requeued at ``t + timestep``, so the queue
  content relative to the current time only takes finitely many values. The
  constructor plays the queue forward until such a state repeats and keeps the
  result as a ring of :class:`_ScheduledBatch` nodes (transient prefix, then
  the cycle over the hyperperiod). ``run_step`` walks the ring instead of
  popping and pushing a heap.

An engine *ahead* of the simulation time (it reported a later time than it was
asked to reach, which only a script changing ``_time_ns`` can cause) is
requeued at its own time, which leaves the precomputed pattern. The loop then
rebuilds the exact queue nrp-core would hold at that point and continues with
the general heap-based scheduler until the next reset. The heap scheduler is
also used when the pattern is too long to precompute (see
``MAX_SCHEDULE_LENGTH``).

Functions are called with their inputs bound once (see ``FTILoop._caller``):
one taking only engine datapacks, by reference, gets them straight from the
engine pool, positionally when its parameters are exactly its keywords.

Copies: a fetched datapack is a snapshot of the engine's data and a sent one
is a copy of the pool's (nrp-core serialises both); nothing else is copied. A
cycle does no JSON encoding, no logging and no dictionary rebuilding beyond the
keyword arguments of functions that cannot be called positionally.
"""

import functools
import heapq
import sys
from operator import itemgetter
from types import FunctionType

from .datapacks import JsonDataPack, JsonRawData, make_datapack, to_json
from .datatransfer import DataPackRefused
from .protobuf import ProtoDataPack
from .functions import IN_ENGINE, IN_ENGINES, IN_ITERATION, IN_PREPROCESSED, IN_TIME, KIND_PF

__all__ = ["FTILoop", "FunctionError", "MAX_SCHEDULE_LENGTH"]

# Longest batch sequence (transient plus one period) that is precomputed. The
# sequence has one entry per distinct completion time in a hyperperiod (the
# lcm of the timesteps), e.g. 8 for timesteps 0.01/0.02/0.04/0.08 s; beyond
# this the heap scheduler runs instead, which behaves identically.
MAX_SCHEDULE_LENGTH = 4096

_new_datapack = JsonDataPack.__new__

# code flags of functions taking *args / **kwargs
_CO_VARARGS = 0x04
_CO_VARKEYWORDS = 0x08


def _parameter_order(function, keys):
    """``keys`` (keyword -> value) in the order of ``function``'s parameters if a
    positional call binds exactly as the keyword call would, else None."""
    if type(function) is not FunctionType:
        return None
    code = function.__code__
    if code.co_flags & (_CO_VARARGS | _CO_VARKEYWORDS) or code.co_posonlyargcount or code.co_kwonlyargcount:
        return None
    names = code.co_varnames[:code.co_argcount]
    if len(names) != len(keys) or any(name not in keys for name in names):
        return None
    return tuple(keys[name] for name in names)


class FunctionError(RuntimeError):
    """A function broke a rule of the runtime (bad return value, missing input).

    ``location`` is the (file name, line) of the offending function.
    """

    def __init__(self, message, spec=None):
        super().__init__(message)
        self.location = None
        if spec is not None:
            code = getattr(spec.function, "__code__", None)
            if code is not None:
                self.location = (code.co_filename, code.co_firstlineno)


class _CyclePlan:
    """What the datapack cycle of one batch does, in nrp-core's order.

    * ``engines``: the batch, in queue order;
    * ``fetch``: ``((name, engine) key, name, engine name, engine.get)`` for
      every datapack requested from a batch engine;
    * ``pfs``: ``(engine, spec, call, key)`` for the preprocessing functions of
      the batch (see :meth:`FTILoop._caller` for ``call`` and ``key``);
    * ``tfs``: ``(spec, call, key)`` for the transceiver functions of the batch;
    * ``sends``: ``(external, outbox, engine.set)`` per batch engine;
    * ``steps``: ``(engine, timestep, engine.step)`` per batch engine;
    * ``profile``: what a step-latency profile's timed cycle needs of it (its plan id first), None until a
      profile numbers it (see :mod:`.profiling`).
    """

    __slots__ = ("engines", "fetch", "pfs", "tfs", "sends", "steps", "profile")

    def __init__(self, engines):
        self.engines = tuple(engines)
        self.fetch = tuple((key, name, engine.name, engine.get)
                           for engine in self.engines for key, name in engine.fetch_keys)
        self.pfs = tuple((engine,) + entry for engine in self.engines for entry in engine.pfs)
        self.tfs = tuple(entry for engine in self.engines for entry in engine.tfs)
        self.sends = tuple((engine.external, engine.outbox, engine.set) for engine in self.engines)
        self.steps = tuple((engine, engine.timestep_ns, engine.step) for engine in self.engines)
        self.profile = None


class _ScheduledBatch:
    """One entry of the precomputed batch sequence.

    ``plan`` is the batch's cycle, ``gap`` the time to the next entry,
    ``next`` the next entry, and ``rest`` the other queued engines as
    ``(completion time - this batch's time, engine)`` in queue order (used to
    rebuild the queue when an engine leaves the pattern).
    """

    __slots__ = ("plan", "rest", "gap", "next")

    def __init__(self, plan, rest):
        self.plan = plan
        self.rest = rest
        self.gap = 0
        self.next = None


class _TransceiverPool:
    """The transceiver pool, kept by destination: each engine's ``outbox`` (what
    it is sent on every sync) and ``unrouted`` for datapacks addressed to an
    engine that does not exist. ``get((name, engine))`` reads it as one pool."""

    __slots__ = ("outboxes", "unrouted")

    def __init__(self, engines):
        self.outboxes = {e.name: e.outbox for e in engines}
        self.unrouted = {}

    def get(self, key):
        outbox = self.outboxes.get(key[1])
        if outbox is None:
            return self.unrouted.get(key)
        return outbox.get(key[0])


class FTILoop:
    """Runs engines and functions of one simulation with nrp-core's FTI semantics."""

    def __init__(self, engines, functions, status_function, pass_by_value=False, warn=None):
        self.engines = list(engines)
        self._by_name = {e.name: e for e in self.engines}
        self.dt = min(e.timestep_ns for e in self.engines) if self.engines else 10000000
        self.sim_time = 0
        self.sim_iteration = 0
        self.done = False
        self.trajectory = []
        self.stop_requested = False
        self._touched = []
        self._queue = []  # heap of (completion time, sequence, engine); heap scheduler only
        self._seq = 0
        self._by_value = bool(pass_by_value)
        self._warn = warn or (lambda message: print(message, file=sys.stderr))
        self.status_function = status_function

        self.engine_pool = {}
        self.pre_pool = {}
        for engine in self.engines:
            # never replaced, only cleared: plans and the transceiver pool hold them (a
            # DataTransfer engine's outbox refuses JSON datapacks when they are stored)
            engine.outbox = getattr(engine, "new_outbox", dict)()
            engine.external = {}
        self.tf_pool = _TransceiverPool(self.engines)
        self._outboxes = self.tf_pool.outboxes
        self._chain_pf = (self.engine_pool,)
        self._chain_tf = (self.engine_pool, self.pre_pool)
        self._chain_sf = (self.engine_pool, self.pre_pool, self.tf_pool)

        # Link TFs and PFs to their engines (registration order per engine).
        # Functions linked to an engine that is not in the configuration never run.
        pfs = {e.name: [] for e in self.engines}
        tfs = {e.name: [] for e in self.engines}
        for spec in functions:
            if spec.kind == KIND_PF:
                if spec.engine_name in pfs:
                    pfs[spec.engine_name].append((spec,) + self._caller(spec, self._chain_pf))
            elif spec.engine_name in tfs:
                tfs[spec.engine_name].append((spec,) + self._caller(spec, self._chain_tf))
        self._sf_call, self._sf_key = (self._caller(status_function, self._chain_sf)
                                       if status_function is not None else (None, None))
        requested = {e.name: set() for e in self.engines}
        everything = list(functions) + ([status_function] if status_function is not None else [])
        for spec in everything:
            for name, engine_name in spec.requested_keys():
                if engine_name in requested:
                    requested[engine_name].add(name)
        for engine in self.engines:
            engine.pfs = tuple(pfs[engine.name])
            engine.tfs = tuple(tfs[engine.name])
            engine.fetch_keys = tuple(((n, engine.name), n) for n in sorted(requested[engine.name]))

        self._plans = {}
        self._schedule = self._build_schedule()
        self._node = None  # next scheduled batch; None when the heap scheduler runs
        self._next_time = 0  # completion time of self._node

    # ------------------------------------------------------------ scheduling
    def _plan_for(self, batch):
        """The (cached) cycle plan of a batch of engines."""
        key = tuple(batch)
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = _CyclePlan(key)
        return plan

    def _build_schedule(self):
        """Precompute the batch sequence from the initial queue (every engine at
        time 0, in configuration order), assuming every engine reaches the
        time it is asked to. Returns its first entry, or None if the sequence
        is longer than ``MAX_SCHEDULE_LENGTH`` (or there are no engines)."""
        if not self.engines or any(e.timestep_ns <= 0 for e in self.engines):
            return None
        queue = [(0, seq, engine) for seq, engine in enumerate(self.engines)]  # kept sorted
        seq = len(queue)
        seen = {}  # queue content relative to its earliest time -> entry
        first = previous = None
        previous_time = 0
        while True:
            t = queue[0][0]
            state = tuple((time - t, engine) for time, _, engine in queue)
            node = seen.get(state)
            if node is not None:  # the state repeated: close the ring
                previous.next = node
                previous.gap = t - previous_time
                return first
            if len(seen) >= MAX_SCHEDULE_LENGTH:
                return None
            size = 1
            while size < len(queue) and queue[size][0] == t:
                size += 1
            node = _ScheduledBatch(self._plan_for([engine for _, _, engine in queue[:size]]), state[size:])
            seen[state] = node
            if previous is None:
                first = node
            else:
                previous.next = node
                previous.gap = t - previous_time
            previous, previous_time = node, t
            # pop the batch and requeue it, as run_step does
            batch = queue[:size]
            queue = queue[size:]
            for _, _, engine in batch:
                queue.append((t + engine.timestep_ns, seq, engine))
                seq += 1
            queue.sort()

    def _use_heap(self, entries):
        """Switch to the heap scheduler with ``entries`` ((time, engine) in queue order)."""
        queue = []
        seq = self._seq
        for time, engine in entries:
            seq += 1
            queue.append((time, seq, engine))
        heapq.heapify(queue)
        self._queue = queue
        self._seq = seq
        self._node = None

    def _restart_schedule(self):
        """Every engine queued at time 0 in configuration order."""
        if self._schedule is not None:
            self._node = self._schedule
            self._next_time = 0
            self._queue = []
        else:
            self._use_heap([(0, engine) for engine in self.engines])

    # ------------------------------------------------------------------ setup
    def _fetch_all_into_trajectory(self):
        touched = self._touched
        for engine in self.engines:
            for key, name in engine.fetch_keys:
                dp = make_datapack(name, engine.name, engine.get(name))
                self.engine_pool[key] = dp
                touched.append(dp)
                self.trajectory.append(to_json(dp._value))

    def initialize(self):
        """Initialise engines in configuration order and return the initial observations."""
        self._restart_schedule()
        for engine in self.engines:
            engine.initialize()
            engine.initialized = True
        self._fetch_all_into_trajectory()
        return self.flush_trajectory()

    def flush_trajectory(self):
        trajectory = self.trajectory
        self.trajectory = []
        return trajectory

    def add_external(self, datapacks):
        """Merge client datapacks into the external pool (replacing same name and engine)."""
        for dp in datapacks:
            engine = self._by_name.get(dp.engine_name)
            if engine is not None:  # unknown engines never receive anything, as in nrp-core
                proto = type(dp) is not JsonDataPack
                if proto and not getattr(engine, "accepts_proto", False):
                    raise DataPackRefused(
                        f'The protobuf datapack "{dp.name}" was sent to engine "{engine.name}", a {engine.type} '
                        "engine, which accepts JSON datapacks only")
                if not proto and not getattr(engine, "accepts_json", True):
                    raise DataPackRefused(
                        f'The JSON datapack "{dp.name}" was sent to engine "{engine.name}", a {engine.type} '
                        "engine, which accepts protobuf datapacks only")
                engine.external[dp.name] = dp

    # ------------------------------------------------------------- functions
    def _caller(self, spec, chain):
        """How to call ``spec``'s function with its inputs: ``(call, key)``, meaning
        ``call()`` if ``key`` is None, else ``call(engine_pool[key])``.

        When every input is an engine datapack of an existing engine, passed by
        reference, the inputs are always in the engine pool (it is filled for
        every engine by ``initialize`` and ``reset`` and entries are only
        replaced afterwards), so they are read from there directly and, if the
        function's parameters are exactly its keywords, passed positionally,
        which binds them identically; the usual single input needs no wrapper
        at all. Every other function goes through :meth:`_call`.
        """
        function = spec.function
        inputs = spec.inputs
        if self._by_value or not all(kind == IN_ENGINE and key[1] in self._by_name for _, kind, key in inputs):
            return functools.partial(self._call, spec, chain), None
        pool = self.engine_pool
        keys = _parameter_order(function, {keyword: key for keyword, _, key in inputs})
        if keys is None:
            fast = tuple((keyword, key) for keyword, _, key in inputs)
            return (lambda: function(**{keyword: pool[key] for keyword, key in fast})), None
        if len(keys) == 0:
            return function, None
        if len(keys) == 1:
            return function, keys[0]
        get = itemgetter(*keys)
        return (lambda: function(*get(pool))), None

    def _lookup(self, key, chain, spec):
        for pool in chain:
            dp = pool.get(key)
            if dp is not None:
                if self._by_value:
                    if type(dp) is not JsonDataPack:
                        return dp._copy()
                    copy = make_datapack(dp.name, dp.engine_name, to_json(dp._value))
                    copy._updated = dp._updated
                    return copy
                return dp
        raise FunctionError(
            f'Couldn\'t find datapack with ID name "{key[0]}" and engine "{key[1]}" requested by "{spec.name}"', spec)

    def _call(self, spec, chain):
        """Call ``spec``'s function, looking each input up along the pool ``chain``."""
        kwargs = {}
        for keyword, kind, arg in spec.inputs:
            if kind == IN_ENGINE or kind == IN_PREPROCESSED:
                for pool in chain:
                    dp = pool.get(arg)
                    if dp is not None:
                        break
                if dp is None or self._by_value:
                    dp = self._lookup(arg, chain, spec)
                kwargs[keyword] = dp
            elif kind == IN_ENGINES:
                names, keys = arg
                kwargs[keyword] = {n: self._lookup(k, chain, spec) for n, k in zip(names, keys)}
            elif kind == IN_TIME:
                kwargs[keyword] = self.sim_time
            elif kind == IN_ITERATION:
                kwargs[keyword] = self.sim_iteration
        return spec.function(**kwargs)

    def _check_outputs(self, outputs, spec):
        if type(outputs) is not list:
            if spec.kind == KIND_PF:
                raise FunctionError("Preprocessing functions must return a list of DataPacks", spec)
            raise FunctionError("Transceiver functions must return a list of DataPacks", spec)
        for dp in outputs:
            if not isinstance(dp, (JsonDataPack, ProtoDataPack)):
                raise FunctionError(
                    f'"{spec.name}" returned {type(dp).__name__}; the returned list may only contain DataPacks', spec)

    def _check_output(self, dp, spec):
        """A transceiver output that is not a JsonDataPack: a protobuf datapack for an engine that takes them."""
        if isinstance(dp, JsonDataPack):
            return
        if not isinstance(dp, ProtoDataPack):
            raise FunctionError(
                f'"{spec.name}" returned {type(dp).__name__}; the returned list may only contain DataPacks', spec)
        engine = self._by_name.get(dp.engine_name)
        if engine is not None and not getattr(engine, "accepts_proto", False):
            raise FunctionError(
                f'"{spec.name}" returned the protobuf datapack "{dp.name}" ({dp.message_type.full_name}) for engine '
                f'"{engine.name}", a {engine.type} engine, which accepts JSON datapacks only', spec)

    # ----------------------------------------------------------------- cycle
    def _run_batch(self, plan, t):
        """One datapack cycle (nrp-core steps (a) to (f)) for the batch of ``plan``
        completing at ``t``, then the restart of its engines. Returns None, or
        the list of batch engines that are ahead of ``t`` (not stepped).

        A profiled loop runs the timed copy in :mod:`.profiling` instead; change both together."""
        engine_pool = self.engine_pool
        touched = self._touched
        append = touched.append
        self.sim_time = t

        # (a) fetch the requested datapacks of the batch engines: fresh
        # datapacks holding a snapshot of the engine's data
        for key, name, engine_name, get in plan.fetch:
            dp = _new_datapack(JsonDataPack)
            dp.name = name
            dp.engine_name = engine_name
            dp._value = get(name)
            dp._updated = True
            dp._proxy = None
            engine_pool[key] = dp
            append(dp)

        # (b) preprocessing functions, outputs to the preprocessing pool
        for engine, spec, call, key in plan.pfs:
            outputs = call() if key is None else call(engine_pool[key])
            self._check_outputs(outputs, spec)
            for dp in outputs:
                if dp.engine_name != engine.name:
                    raise FunctionError(
                        f'Preprocessing function "{spec.name}" returned datapack "{dp.name}" addressed to '
                        f'engine "{dp.engine_name}"; its outputs must be linked to engine "{engine.name}"', spec)
                self.pre_pool[(dp.name, dp.engine_name)] = dp
                append(dp)

        # (c) transceiver functions, outputs to the transceiver pool; they only
        # see the engine and preprocessing pools, so not each other's outputs
        outboxes = self._outboxes
        try:
            for spec, call, key in plan.tfs:
                outputs = call() if key is None else call(engine_pool[key])
                if type(outputs) is not list:
                    self._check_outputs(outputs, spec)
                for dp in outputs:
                    if type(dp) is not JsonDataPack:
                        self._check_output(dp, spec)
                    try:
                        outboxes[dp.engine_name][dp.name] = dp
                    except KeyError:  # no such engine: only the status function can see it
                        self.tf_pool.unrouted[(dp.name, dp.engine_name)] = dp
                    append(dp)
        except DataPackRefused as refused:  # a JSON datapack for a DataTransfer engine
            raise FunctionError(f'"{spec.name}": {refused}', spec) from None

        # (d) status function
        if self._sf_call is not None:
            self._run_status_function()

        # (e) send client and transceiver datapacks to the batch engines: copies
        # of the pool's datapacks, as nrp-core serialises them
        for external, outbox, send in plan.sends:
            if external:
                for dp in external.values():
                    send(dp.name, to_json(dp._value))
            if outbox:
                for dp in outbox.values():
                    send(dp.name, to_json(dp._value))

        # (f) new iteration: nothing is "updated" any more
        for dp in touched:
            dp._updated = False
        touched.clear()

        # restart the batch engines, normally for exactly one timestep; an
        # engine that is ahead of t is not stepped
        ahead = None
        for engine, timestep, step in plan.steps:
            run = t - engine.time_ns + timestep
            if run >= 0 or run == timestep:
                engine.time_ns = step(run)
            else:
                self._warn(
                    f'Engine "{engine.name}" is ahead of the simulation time ({engine.time_ns} ns > {t} ns); '
                    "it is not stepped in this cycle")
                ahead = [engine] if ahead is None else ahead + [engine]
        self.sim_iteration += 1
        return ahead

    def _run_status_function(self):
        spec = self.status_function
        key = self._sf_key
        result = self._sf_call() if key is None else self._sf_call(self.engine_pool[key])
        if not isinstance(result, (tuple, list)) or len(result) != 2:
            raise FunctionError("Status Function must return a tuple (done, list of observations)", spec)
        done, observations = result
        if not isinstance(observations, (list, tuple)):
            raise FunctionError("Status Function must return a list of observations as its second element", spec)
        self.done = bool(done)
        for item in observations:
            if isinstance(item, (JsonRawData, JsonDataPack)):
                self.trajectory.append(to_json(item._value))
            else:
                self.trajectory.append(to_json(item))

    # ------------------------------------------------------------------ loop
    def run_step(self):
        """Advance the simulation by ``dt`` (nrp-core ``FTILoop::runLoop``)."""
        stop = self.sim_time + self.dt
        node = self._node
        if node is None:
            self._run_queued(stop)
            return
        t = self._next_time
        run_batch = self._run_batch
        while t < stop:
            ahead = run_batch(node.plan, t)
            if ahead is not None:
                self._leave_schedule(node, t, ahead)
                self._run_queued(stop)
                return
            t += node.gap
            node = node.next
        self._node = node
        self._next_time = t
        self.sim_time = stop

    def _leave_schedule(self, node, t, ahead):
        """After the batch of ``node`` at ``t`` left the engines ``ahead`` at
        their own time: build the queue the heap scheduler would hold now (the
        other engines in queue order, then the batch in order, each at its
        completion time) and switch to it."""
        entries = [(t + offset, engine) for offset, engine in node.rest]
        for engine in node.plan.engines:
            entries.append((engine.time_ns if engine in ahead else t + engine.timestep_ns, engine))
        self._use_heap(entries)

    def _run_queued(self, stop):
        """``run_step`` with the general heap scheduler."""
        queue = self._queue
        if not queue:
            self.sim_time = stop
            return
        heappop = heapq.heappop
        heappush = heapq.heappush
        while queue[0][0] < stop:
            t = queue[0][0]
            batch = [heappop(queue)[2]]
            while queue and queue[0][0] == t:
                batch.append(heappop(queue)[2])
            ahead = self._run_batch(self._plan_for(batch), t) or ()
            seq = self._seq
            for engine in batch:
                seq += 1
                heappush(queue, (engine.time_ns if engine in ahead else t + engine.timestep_ns, seq, engine))
            self._seq = seq
        self.sim_time = stop

    def run_iterations(self, count):
        """Run ``count`` steps (0: until ``stop_requested``); returns the steps run."""
        self.stop_requested = False
        done_steps = 0
        step = self.run_step
        while not self.stop_requested:
            if count and done_steps >= count:
                break
            step()
            done_steps += 1
        return done_steps

    def run_until_timeout(self, timeout_ns):
        """Run until the done flag is set, the timeout is reached (``timeout_ns`` < 0:
        never) or a stop is requested. The done flag is checked before each step."""
        self.stop_requested = False
        step = self.run_step
        while not self.stop_requested:
            if self.done or (timeout_ns >= 0 and self.sim_time >= timeout_ns):
                break
            step()

    def reset(self):
        """nrp-core ``FTILoop::resetLoop``, delivering pending datapacks to every engine."""
        for engine in self.engines:
            if not getattr(engine, "takes_pending_at_reset", True):
                continue
            for dp in engine.external.values():
                engine.set(dp.name, to_json(dp._value))
            for dp in engine.outbox.values():
                engine.set(dp.name, to_json(dp._value))
        for engine in self.engines:
            engine.external.clear()
            engine.outbox.clear()
        self.engine_pool.clear()
        self.pre_pool.clear()
        self.tf_pool.unrouted.clear()
        self._touched.clear()
        self.trajectory = []
        self.done = False
        for engine in self.engines:
            engine.reset()
            engine.time_ns = 0
        self._restart_schedule()
        self.sim_time = 0
        self._fetch_all_into_trajectory()
        return self.flush_trajectory()

    def shutdown(self):
        """Call ``shutdown`` on every initialised engine; return the first error, if any."""
        first_error = None
        for engine in self.engines:
            if getattr(engine, "initialized", False):
                engine.initialized = False
                try:
                    engine.shutdown()
                except Exception as e:  # keep shutting the others down
                    if first_error is None:
                        first_error = e
        return first_error
