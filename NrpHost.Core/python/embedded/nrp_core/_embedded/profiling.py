"""Time stamps of every datapack cycle of one FTI loop, for NrpHost's step-latency profile.

:class:`CycleProbe` describes a loop (its engines, its functions, the longest record a cycle can make);
:meth:`CycleProbe.start` turns stamping on. It gives that loop instance a timed cycle (``_run_batch``) and a plan lookup
(``_plan_for``) that numbers new plans; nothing else changes, and a loop that is not profiled keeps the plain class
methods, so profiling costs nothing when it is off.

The timed cycle stamps the clock at the points of nrp-core's time profiler and after every function and every
engine step, into a ring of fixed-size records of doubles in memory the host owns and reads without the GIL (see
``nrphost.profiling``). Which slot each stamp goes to is worked out once per plan, so a cycle adds one ``stamp(k)``
call per point and one ``commit`` per record. Per cycle::

    [plan id, step start, after get datapacks, after each function..., after send datapacks, after each engine...]

Functions are the plan's preprocessing functions, then its transceiver functions, then the status function; engines
are the plan's batch in queue order. When a plan is numbered, a layout record is written first::

    [-1 - plan id, number of functions, number of engines, function indices..., engine indices...]

with indices into ``functions`` and ``engines``. Engines run synchronously when they are restarted (see
DEVIATIONS.md), so nrp-core's "wait for engines" is empty and an engine's ``runLoop`` is part of "restart engines".

The timed cycle is :meth:`FTILoop._run_batch` with the stamps added; the two must be changed together.
"""

import itertools

from .datapacks import JsonDataPack, to_json
from .datatransfer import DataPackRefused
from .fti import FunctionError, _CyclePlan

__all__ = ["CycleProbe"]

_new_datapack = JsonDataPack.__new__


class CycleProbe:
    """What a profile of one loop needs to know before it starts: ``engines`` and ``functions`` (names) and
    ``max_record``, the most int64 values one record can hold."""

    def __init__(self, loop):
        self._loop = loop
        self.engines = [engine.name for engine in loop.engines]
        specs = [entry[0] for engine in loop.engines for entry in engine.pfs]
        specs += [entry[0] for engine in loop.engines for entry in engine.tfs]
        self._status = loop.status_function if loop._sf_call is not None else None
        if self._status is not None:
            specs.append(self._status)
        self.functions = [spec.name for spec in specs]
        self._function_index = {id(spec): i for i, spec in enumerate(specs)}
        self._engine_index = {id(engine): i for i, engine in enumerate(loop.engines)}
        self.max_record = 4 + len(specs) + len(loop.engines)

    def _layout(self, plan):
        functions = [self._function_index[id(entry[1])] for entry in plan.pfs]
        functions += [self._function_index[id(entry[0])] for entry in plan.tfs]
        if self._status is not None:
            functions.append(self._function_index[id(self._status)])
        engines = [self._engine_index[id(entry[0])] for entry in plan.steps]
        return functions, engines

    def start(self, ring):
        """Stamp every cycle from now on into ``ring`` (a ring of ``max_record`` slots per record, see
        ``nrphost.profiling``: ``stamp(k)``, ``commit([first])``, ``record(values)``)."""
        loop = self._loop
        stamp = ring.stamp
        commit = ring.commit
        layout = self._layout
        numbered = 0

        def number(plan):
            """Give ``plan`` the next id, write its layout record, and work out what its timed cycle needs:
            ``(plan id, its preprocessing functions, transceiver functions and engines each with the slot of its
            stamp, the status function's slot, the "after send" slot)``."""
            nonlocal numbered
            functions, engines = layout(plan)
            pid = numbered
            numbered += 1
            ring.record([-1 - pid, len(functions), len(engines)] + functions + engines)
            slot = itertools.count(3)
            pfs = tuple(entry + (next(slot),) for entry in plan.pfs)
            tfs = tuple(entry + (next(slot),) for entry in plan.tfs)
            status = next(slot) if run_status_function is not None else 0
            sent = next(slot)
            steps = tuple(entry + (next(slot),) for entry in plan.steps)
            plan.profile = (pid, pfs, tfs, status, sent, steps)

        def plan_for(batch):
            key = tuple(batch)
            plan = plans.get(key)
            if plan is None:
                plan = plans[key] = _CyclePlan(key)
            if plan.profile is None:
                number(plan)
            return plan

        plans = loop._plans
        engine_pool = loop.engine_pool
        pre_pool = loop.pre_pool
        touched = loop._touched
        outboxes = loop._outboxes
        unrouted = loop.tf_pool.unrouted
        check_outputs = loop._check_outputs
        check_output = loop._check_output
        run_status_function = loop._run_status_function if loop._sf_call is not None else None
        warn = loop._warn

        for plan in list(plans.values()):
            number(plan)

        def run_batch(plan, t):
            stamp(1)
            pid, pfs, tfs, status, sent, steps = plan.profile
            append = touched.append
            loop.sim_time = t

            # (a) fetch
            for key, name, engine_name, get in plan.fetch:
                dp = _new_datapack(JsonDataPack)
                dp.name = name
                dp.engine_name = engine_name
                dp._value = get(name)
                dp._updated = True
                dp._proxy = None
                engine_pool[key] = dp
                append(dp)
            stamp(2)

            # (b) preprocessing functions
            for engine, spec, call, key, at in pfs:
                outputs = call() if key is None else call(engine_pool[key])
                check_outputs(outputs, spec)
                for dp in outputs:
                    if dp.engine_name != engine.name:
                        raise FunctionError(
                            f'Preprocessing function "{spec.name}" returned datapack "{dp.name}" addressed to '
                            f'engine "{dp.engine_name}"; its outputs must be linked to engine "{engine.name}"', spec)
                    pre_pool[(dp.name, dp.engine_name)] = dp
                    append(dp)
                stamp(at)

            # (c) transceiver functions
            try:
                for spec, call, key, at in tfs:
                    outputs = call() if key is None else call(engine_pool[key])
                    if type(outputs) is not list:
                        check_outputs(outputs, spec)
                    for dp in outputs:
                        if type(dp) is not JsonDataPack:
                            check_output(dp, spec)
                        try:
                            outboxes[dp.engine_name][dp.name] = dp
                        except KeyError:
                            unrouted[(dp.name, dp.engine_name)] = dp
                        append(dp)
                    stamp(at)
            except DataPackRefused as refused:
                raise FunctionError(f'"{spec.name}": {refused}', spec) from None

            # (d) status function
            if run_status_function is not None:
                run_status_function()
                stamp(status)

            # (e) send, (f) new iteration
            for external, outbox, send in plan.sends:
                if external:
                    for dp in external.values():
                        send(dp.name, to_json(dp._value))
                if outbox:
                    for dp in outbox.values():
                        send(dp.name, to_json(dp._value))
            for dp in touched:
                dp._updated = False
            touched.clear()
            stamp(sent)

            # restart the batch engines
            ahead = None
            for engine, timestep, step, at in steps:
                run = t - engine.time_ns + timestep
                if run >= 0 or run == timestep:
                    engine.time_ns = step(run)
                else:
                    warn(f'Engine "{engine.name}" is ahead of the simulation time ({engine.time_ns} ns > {t} ns); '
                         "it is not stepped in this cycle")
                    ahead = [engine] if ahead is None else ahead + [engine]
                stamp(at)
            loop.sim_iteration += 1

            commit(pid)
            return ahead

        loop._plan_for = plan_for
        loop._run_batch = run_batch
