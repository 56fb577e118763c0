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

All schedules and fetch lists are computed once at construction; a cycle does
no JSON encoding, no logging and no dictionary rebuilding beyond the keyword
arguments of the functions it calls.
"""

import heapq
import sys

from .datapacks import JsonDataPack, JsonRawData, make_datapack, to_json
from .functions import IN_ENGINE, IN_ENGINES, IN_ITERATION, IN_PREPROCESSED, IN_TIME, KIND_PF, KIND_SF, KIND_TF

__all__ = ["FTILoop", "FunctionError"]


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


def _heappush(queue, item):
    heapq.heappush(queue, item)


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
        self.engine_pool = {}
        self.pre_pool = {}
        self.tf_pool = {}
        self._touched = []
        self._queue = []
        self._seq = 0
        self._by_value = bool(pass_by_value)
        self._warn = warn or (lambda message: print(message, file=sys.stderr))
        self.status_function = status_function

        self._chain_pf = (self.engine_pool,)
        self._chain_tf = (self.engine_pool, self.pre_pool)
        self._chain_sf = (self.engine_pool, self.pre_pool, self.tf_pool)

        # Link TFs and PFs to their engines (registration order per engine).
        # Functions linked to an engine that is not in the configuration never run.
        pfs = {e.name: [] for e in self.engines}
        tfs = {e.name: [] for e in self.engines}
        for spec in functions:
            target = pfs if spec.kind == KIND_PF else tfs
            if spec.engine_name in target:
                target[spec.engine_name].append(spec)
        requested = {e.name: set() for e in self.engines}
        everything = list(functions) + ([status_function] if status_function is not None else [])
        for spec in everything:
            spec.fast_inputs = None
            if not self._by_value and all(kind == IN_ENGINE for _, kind, _ in spec.inputs):
                spec.fast_inputs = tuple((keyword, key) for keyword, _, key in spec.inputs)
            for name, engine_name in spec.requested_keys():
                if engine_name in requested:
                    requested[engine_name].add(name)
        self._has_pfs = any(pfs.values())
        for engine in self.engines:
            engine.pfs = tuple(pfs[engine.name])
            engine.tfs = tuple(tfs[engine.name])
            engine.fetch_keys = tuple(((n, engine.name), n) for n in sorted(requested[engine.name]))
            engine.outbox = {}
            engine.external = {}

    # ------------------------------------------------------------------ setup
    def _requeue_all_at_zero(self):
        self._queue = []
        for engine in self.engines:
            self._seq += 1
            self._queue.append((0, self._seq, engine))
        heapq.heapify(self._queue)

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
        self._queue = []
        for engine in self.engines:
            self._seq += 1
            _heappush(self._queue, (0, self._seq, engine))
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
                engine.external[dp.name] = dp

    # ------------------------------------------------------------- functions
    def _lookup(self, key, chain, spec):
        for pool in chain:
            dp = pool.get(key)
            if dp is not None:
                if self._by_value:
                    copy = make_datapack(dp.name, dp.engine_name, to_json(dp._value))
                    copy._updated = dp._updated
                    return copy
                return dp
        raise FunctionError(
            f'Couldn\'t find datapack with ID name "{key[0]}" and engine "{key[1]}" requested by "{spec.name}"', spec)

    def _call(self, spec, chain):
        fast = spec.fast_inputs
        if fast is not None:
            # only EngineDataPack inputs, passed by reference: one dict lookup each
            pool = chain[0]
            try:
                kwargs = {keyword: pool[key] for keyword, key in fast}
            except KeyError:
                kwargs = None  # not in the engine pool: take the general path below
            if kwargs is not None:
                return spec.function(**kwargs)
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
            if not isinstance(dp, JsonDataPack):
                raise FunctionError(
                    f'"{spec.name}" returned {type(dp).__name__}; the returned list may only contain DataPacks', spec)

    # ----------------------------------------------------------------- cycle
    def _cycle(self, batch):
        engine_pool = self.engine_pool
        touched = self._touched
        append = touched.append
        new = JsonDataPack.__new__

        # (a) fetch the requested datapacks of the batch engines
        for engine in batch:
            if engine.fetch_keys:
                get = engine.get
                ename = engine.name
                for key, name in engine.fetch_keys:
                    dp = new(JsonDataPack)
                    dp.name = name
                    dp.engine_name = ename
                    dp._value = get(name)
                    dp._updated = True
                    dp._proxy = None
                    engine_pool[key] = dp
                    append(dp)

        # (b) preprocessing functions, outputs to the preprocessing pool
        if self._has_pfs:
            for engine in batch:
                for spec in engine.pfs:
                    outputs = self._call(spec, self._chain_pf)
                    self._check_outputs(outputs, spec)
                    for dp in outputs:
                        if dp.engine_name != engine.name:
                            raise FunctionError(
                                f'Preprocessing function "{spec.name}" returned datapack "{dp.name}" addressed to '
                                f'engine "{dp.engine_name}"; its outputs must be linked to engine "{engine.name}"', spec)
                        self.pre_pool[(dp.name, dp.engine_name)] = dp
                        append(dp)

        # (c) transceiver functions, outputs to the transceiver pool
        by_name = self._by_name
        tf_pool = self.tf_pool
        for engine in batch:
            for spec in engine.tfs:
                fast = spec.fast_inputs
                if fast is not None:
                    kwargs = {}
                    try:
                        for keyword, key in fast:
                            kwargs[keyword] = engine_pool[key]
                    except KeyError:
                        outputs = self._call(spec, self._chain_tf)
                    else:
                        outputs = spec.function(**kwargs)
                else:
                    outputs = self._call(spec, self._chain_tf)
                if type(outputs) is not list:
                    self._check_outputs(outputs, spec)
                for dp in outputs:
                    if type(dp) is not JsonDataPack:
                        self._check_outputs(outputs, spec)
                    tf_pool[(dp.name, dp.engine_name)] = dp
                    target = by_name.get(dp.engine_name)
                    if target is not None:
                        target.outbox[dp.name] = dp
                    append(dp)

        # (d) status function
        if self.status_function is not None:
            self._run_status_function()

        # (e) send transceiver and client datapacks to the batch engines
        for engine in batch:
            if engine.external:
                for dp in engine.external.values():
                    engine.set(dp.name, to_json(dp._value))
            if engine.outbox:
                for dp in engine.outbox.values():
                    engine.set(dp.name, to_json(dp._value))

        # (f) new iteration: nothing is "updated" any more
        for dp in touched:
            dp._updated = False
        touched.clear()

    def _run_status_function(self):
        spec = self.status_function
        result = self._call(spec, self._chain_sf)
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
        queue = self._queue
        if not queue:
            self.sim_time = stop
            return
        heappop = heapq.heappop
        heappush = heapq.heappush
        cycle = self._cycle
        while queue[0][0] < stop:
            t = queue[0][0]
            batch = [heappop(queue)[2]]
            while queue and queue[0][0] == t:
                batch.append(heappop(queue)[2])
            self.sim_time = t
            cycle(batch)
            seq = self._seq
            for engine in batch:
                seq += 1
                timestep = engine.timestep_ns
                run = t - engine.time_ns + timestep
                if run == timestep or run > 0:
                    engine.time_ns = engine.step(run)
                    heappush(queue, (t + timestep, seq, engine))
                else:
                    self._requeue_ahead(engine, t, seq, run)
            self._seq = seq
            self.sim_iteration += 1
        self.sim_time = stop

    def _requeue_ahead(self, engine, t, seq, run):
        if run == 0:
            engine.time_ns = engine.step(0)
            heapq.heappush(self._queue, (t + engine.timestep_ns, seq, engine))
            return
        self._warn(
            f'Engine "{engine.name}" is ahead of the simulation time ({engine.time_ns} ns > {t} ns); '
            "it is not stepped in this cycle")
        heapq.heappush(self._queue, (engine.time_ns, seq, engine))

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
            for dp in engine.external.values():
                engine.set(dp.name, to_json(dp._value))
            for dp in engine.outbox.values():
                engine.set(dp.name, to_json(dp._value))
        for engine in self.engines:
            engine.external = {}
            engine.outbox = {}
        self.engine_pool.clear()
        self.pre_pool.clear()
        self.tf_pool.clear()
        self._touched.clear()
        self.trajectory = []
        self.done = False
        for engine in self.engines:
            engine.reset()
            engine.time_ns = 0
        self._requeue_all_at_zero()
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
