"""Runs one simulation's ``main_script.py`` inside the host process.

A ``Session`` belongs to one simulation and lives on that simulation's own thread. The host gives it:

* a block of shared native memory (``ctl``, eight int64 slots, see ``CTL_*``) that both sides read and
  write without the GIL or any call across the .NET boundary: the host sets the pause/stop flags there,
  the ``nrp`` object writes its step count;
* ``wait``, a .NET callable that blocks (without the GIL) until the pause gate opens or stop is asked.

The hot path, ``Nrp.run_loop``, is pure Python: one flag read, the timeout check, the client call and
one counter write. It leaves Python only while paused.
"""

import builtins
import ctypes
import json
import linecache
import logging
import os
import sys
import threading
from time import perf_counter_ns
import traceback

from nrphost import _containment, _output

# Slots of the shared control block (int64 each).
CTL_FLAGS = 0        # bit 0: paused, bit 1: stop requested (written by the host)
CTL_STEPS = 1        # iterations done (written by run_loop)
CTL_THREAD = 4       # threading.get_ident() of the script thread (written once)
CTL_IN_USER = 5      # 1 while user code runs (client construction and initialize, the script, shutdown)
CTL_RESUMED_AT = 6   # perf_counter_ns() when the script last left the pause gate (written off the hot path)
FLAG_PAUSED = 1
FLAG_STOP = 2


class NRPSimulationTimeout(Exception):
    """Raised by ``nrp.run_loop`` when the requested iterations would pass ``SimulationTimeout``."""


class NRPStopExecution(BaseException):
    """Ends a script whose simulation is being stopped. ``except Exception`` does not catch it."""


RESERVED_DESCRIPTORS = 16

# Set by the worker process that runs one simulation in an interpreter of its own (Process and Sandbox isolation).
ISOLATED = False


def _reserve_descriptors(count):
    """Open ``count`` descriptors on /dev/null to hand back later (as many as can be had)."""
    reserve = []
    try:
        for _ in range(count):
            reserve.append(os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC))
    except OSError:
        pass
    return reserve


_JSON_DATA_SHAPE = ('json_data is a datapack {"datapack_name": ..., "engine_name": ..., "payload": {...}}, a list of '
                    "them, or such JSON text")


def _json_datapacks(json_data):
    """``(datapack_name, engine_name, payload)`` of each datapack in ``nrp.run_loop``'s ``json_data``."""
    if isinstance(json_data, (str, bytes)):
        try:
            json_data = json.loads(json_data)
        except ValueError as err:
            raise ValueError("%s; the text given is not JSON: %s" % (_JSON_DATA_SHAPE, err)) from None
    entries = json_data if isinstance(json_data, list) else [json_data]
    result = []
    for entry in entries:
        if not isinstance(entry, dict) or set(entry) != {"datapack_name", "engine_name", "payload"} \
                or not isinstance(entry["datapack_name"], str) or not isinstance(entry["engine_name"], str) \
                or not isinstance(entry["payload"], dict):
            raise ValueError("%s, not %r" % (_JSON_DATA_SHAPE, entry))
        result.append((entry["datapack_name"], entry["engine_name"], entry["payload"]))
    return result


_REFUSALS = ("UnsupportedConfigurationError", "ConfigError")


def _refusal(err):
    """The message of the embedded runtime's refusal of the configuration in ``err``'s chain of causes, or None."""
    try:
        seen = 0
        while err is not None and seen < 8:
            if type(err).__name__ in _REFUSALS and type(err).__module__.startswith("nrp_core."):
                return str(err)
            err = err.__cause__ or err.__context__
            seen += 1
    except Exception:  # noqa: BLE001 - an exception of the script's own making may fail anywhere: then it is no refusal
        pass
    return None


def _not_available(name):
    def method(self, *args, **kwargs):
        raise NotImplementedError("%s() is not available" % name)

    method.__name__ = name
    return method


class Nrp:
    """The ``nrp`` object a main script sees: ``run_loop`` on top of the nrp-core client.

    ``run_loop`` is a closure stored on the instance (no bound-method creation per call). Per call it reads the
    pause/stop flags, checks the timeout, calls the client and publishes the iteration count to the control block:
    no clock reads and no call into .NET (the host keeps the wall-clock time itself).

    With a ``ring`` (a profiled simulation, see ``nrphost.profiling``) the instance gets a timed copy instead,
    chosen here once: it also stamps the clock at entry (again after a pause, so time spent paused is nobody's),
    before and after the client call, into the ring's record, and commits it.
    """

    __slots__ = ("run_loop",)

    def __init__(self, client, ctl, wait, max_steps, ring=None):
        run = client.run_loop
        count = ctl[1]

        def queue(json_data):
            # json_data travels with this run request as client JSON datapacks, as set_json_datapack queues them (the
            # engines get them, and through them the status function). It is never handed on: nrp-core 1.4's second
            # parameter is run_async, which would turn the call into a thread.
            for datapack_name, engine_name, payload in _json_datapacks(json_data):
                client.set_json_datapack(datapack_name, engine_name, payload)

        def pause_point():
            waited = False
            while True:
                flags = ctl[0]
                if flags & FLAG_STOP:
                    raise NRPStopExecution()
                if not flags & FLAG_PAUSED:
                    if waited:
                        ctl[6] = perf_counter_ns()
                    return
                wait()
                waited = True

        def run_loop(num_iterations=1, json_data=None):
            nonlocal count
            if ctl[0]:
                pause_point()
            if count + num_iterations > max_steps:
                raise NRPSimulationTimeout("The number of iteration requested will exceed the timeout")
            # A failing call is not counted, as in the NRP backend.
            if json_data is not None:
                queue(json_data)
            result = run(num_iterations)
            count += num_iterations
            ctl[1] = count
            return result

        if ring is None:
            self.run_loop = run_loop
            return

        stamp = ring.stamp
        commit = ring.commit

        def timed_run_loop(num_iterations=1, json_data=None):
            nonlocal count
            stamp(0)
            if ctl[0]:
                pause_point()
                stamp(0)
            if count + num_iterations > max_steps:
                raise NRPSimulationTimeout("The number of iteration requested will exceed the timeout")
            if json_data is not None:
                queue(json_data)
            stamp(1)
            result = run(num_iterations)
            stamp(2)
            commit()
            count += num_iterations
            ctl[1] = count
            return result

        self.run_loop = timed_run_loop

    initialize = _not_available("initialize")
    reset = _not_available("reset")
    stop = _not_available("stop")
    shutdown = _not_available("shutdown")

    def __repr__(self):
        return "<nrp: run_loop(num_iterations=1, json_data=None)>"




def _report(error_type, msg, file_name, line_number=-1, offset=-1, line_text=""):
    return {
        "error_type": error_type,
        "msg": msg,
        "fileName": file_name,
        "line_number": -1 if line_number is None else int(line_number),
        "offset": -1 if offset is None else int(offset),
        "line_text": (line_text or "").rstrip("\n"),
    }


def control_block(address, size=8):
    """A memoryview of ``size`` int64 slots at the native ``address`` owned by the host."""
    raw = (ctypes.c_char * (8 * size)).from_address(address)
    return memoryview(raw).cast("B").cast("q")


def load_factory(spec, roots=()):
    """Resolve ``"module:attribute"`` to a callable that creates an nrp-core client.

    ``roots`` are the folders the client must come from (the embedded runtime, or a real nrp-core
    installation). A module of the same name imported earlier from elsewhere is dropped first, so the
    configured client is the one used.
    """
    module_name, _, attr = spec.partition(":")
    for root in roots:
        _prefer_packages_of(os.path.abspath(root))
    module = __import__(module_name, fromlist=["_"])
    target = module
    for part in (attr or "NrpCore").split("."):
        target = getattr(target, part)
    return target


def _prefer_packages_of(root):
    """Drop cached modules that shadow a package or module of ``root`` but were loaded from elsewhere."""
    try:
        entries = os.listdir(root)
    except OSError:
        return
    names = set()
    for entry in entries:
        if entry.endswith(".py"):
            names.add(entry[:-3])
        elif os.path.isfile(os.path.join(root, entry, "__init__.py")):
            names.add(entry)
    prefix = root + os.sep
    for top in names:
        loaded = sys.modules.get(top)
        if loaded is None:
            continue
        origin = os.path.abspath(getattr(loaded, "__file__", None) or "")
        if origin.startswith(prefix):
            continue
        for name in [n for n in sys.modules if n == top or n.startswith(top + ".")]:
            del sys.modules[name]


class Session:
    """One simulation's script, client and logs, on the simulation's thread.

    From the client's construction until ``close`` the simulation directory is the process's current directory
    and the first entry of ``sys.path``, as nrp-core runs everything (engines, functions, ``main_script.py``) from
    the experiment folder. ``close`` puts both back.

    User code (the client's construction and ``initialize``, the script, ``shutdown``) runs with ``CTL_IN_USER``
    set: the host raises the stop signal in this thread only then (it checks the flag while holding the GIL). On
    the way out the flag is cleared and a signal not delivered yet is dropped, with no Python-level call in
    between (where a pending signal could be delivered), so the runner's own bookkeeping and clean-up are never
    cut short by it.
    """

    def __init__(self, sim_id, directory, script_name, ctl_address, wait, max_steps, log_limit=64 * 1024 * 1024):
        self.sim_id = sim_id
        self.directory = os.path.abspath(directory)
        self.script_name = script_name
        self.script_path = os.path.join(self.directory, script_name)
        self.ctl = control_block(ctl_address)
        self.wait = wait
        self.max_steps = max_steps
        self.log_limit = log_limit
        self.code = None
        self.client = None
        self.profile = None  # a nrphost.profiling ring when the simulation is profiled
        self.category = "Simulation.%d" % sim_id
        self.tee = None
        self.binding = _output.Binding(self.category, None, sim_id, self.directory)
        self.file_logger = None
        self._file_handler = None
        self._entered = None
        self._ctid = None
        # Descriptors held back for what follows the script (its report, the logs, the host's reply): a script that
        # used up every descriptor it may have still gets its fault reported and its logs closed.
        self._reserve = _reserve_descriptors(RESERVED_DESCRIPTORS)

    # -- set-up, on the simulation thread ------------------------------------------------------

    def bind_thread(self):
        """Route the calling thread's output to this simulation (its logger category and log file).

        Called at the start of every host call on the simulation thread: the thread's Python thread state,
        and with it its thread-local data, does not outlive one GIL acquisition by the host. Threads that this
        thread starts carry the same binding (see ``_containment``).
        """
        _output.bind(self.binding)
        ident = threading.get_ident()
        self.ctl[CTL_THREAD] = ident
        self._ctid = ctypes.c_ulong(ident)

    def open_logs(self):
        """Create ``simulation_<id>.log`` (this simulation's output) and the script's ``file_logger``, both bounded."""
        _containment.begin(self.sim_id)
        _output.reset(self.category)
        self.tee = _output.Tee(os.path.join(self.directory, "simulation_%d.log" % self.sim_id), self.log_limit)
        self.binding.tee = self.tee
        self.bind_thread()
        stem = os.path.splitext(os.path.basename(self.script_name))[0]
        logger = logging.getLogger("nrphost.script.%d" % self.sim_id)
        logger.handlers.clear()
        handler = _TeeHandler(_output.Tee(os.path.join(self.directory, "%s_%d.log" % (stem, self.sim_id)), self.log_limit))
        handler.setFormatter(_output.UserTracebackFormatter("%(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
        logger.propagate = False
        self._file_handler = handler
        self.file_logger = logger

    def load(self):
        """Read and compile the script. Returns a report on failure, else None."""
        self.bind_thread()
        try:
            with open(self.script_path, "r", encoding="utf-8") as handle:
                source = handle.read()
        except (OSError, UnicodeDecodeError) as err:
            return _report("Loading", "Error loading main script : %s" % err, self.script_name)
        try:
            self.code = compile(source, self.script_path, "exec")
        except SyntaxError as err:
            return _report("Compile", "SyntaxError in (Line %s): %s" % (err.lineno, err.msg), self.script_name,
                           err.lineno, err.offset, err.text)
        except ValueError as err:  # e.g. null bytes
            return _report("Compile", "SyntaxError in (Line -1): %s" % err, self.script_name)
        return None

    def _enter_directory(self):
        """Make the simulation directory the current directory and the front of ``sys.path`` (once)."""
        if self._entered is None:
            try:
                cwd = os.getcwd()
            except OSError:  # the current directory was removed under us: the host's own is the one to go back to
                cwd = _containment.host_directory()
            self._entered = cwd
            os.chdir(self.directory)
            sys.path.insert(0, self.directory)

    def create_client(self, factory_spec, address, config_file, args, roots=()):
        """Construct and initialise the nrp-core client. Returns a report on failure, else None."""
        self.bind_thread()
        self._enter_directory()
        try:
            factory = load_factory(factory_spec, tuple(roots))
            ctl, ctid = self.ctl, self._ctid
            ctl[CTL_IN_USER] = 1
            try:
                self.client = factory(address, experiment_folder=self.directory, config_file=config_file, args=args)
                self.client.initialize()
            finally:
                ctl[CTL_IN_USER] = 0
                _set_async_exc(ctid, None)
        except NRPStopExecution:
            raise
        except BaseException as err:  # noqa: BLE001 - every failure becomes a report
            self._log_exception(err)
            report = self._report_from_exception(
                err, "Loading", "Error initializing nrp_core client. Check logs. Simulation ID %d: %s" % (self.sim_id, err))
            report["error_type"] = "Loading"
            return report
        return None

    # -- the run, on the simulation thread --------------------------------------------------------

    def run(self):
        """Execute the script. Returns ``(stopped, report_or_None)``."""
        self.bind_thread()
        self._enter_directory()
        ctl, ctid = self.ctl, self._ctid
        scope = {
            "__name__": "__main__",
            "__file__": self.script_path,
            "__builtins__": builtins,
            "nrp": Nrp(self.client, ctl, self.wait, self.max_steps, self.profile),
            "NRPSimulationTimeout": NRPSimulationTimeout,
            "file_logger": self.file_logger,
            "logging": logging,
        }
        stopped = False
        report = None
        try:
            try:
                ctl[CTL_IN_USER] = 1
                try:
                    exec(self.code, scope)  # noqa: S102 - running the experiment's script is the point
                finally:
                    ctl[CTL_IN_USER] = 0
                    _set_async_exc(ctid, None)
                    self._release_reserve()
            except NRPStopExecution:
                stopped = True
            except NRPSimulationTimeout as err:
                report = self._report_from_exception(err, "SimTimeout", "The number of iteration requested will exceed the timeout")
            except SystemExit as err:
                if err.code not in (None, 0):
                    report = _report("Runtime", "main script exited with status %s" % (err.code,), self.script_name)
            except (AttributeError, NameError, SyntaxError) as err:
                report = self._report_from_exception(err, "Compile", None)
                report["msg"] = "%s in main script (Line %s): %s" % (type(err).__name__, report["line_number"], err)
                self._log_exception(err)
            except BaseException as err:  # noqa: BLE001 - every failure becomes a report
                report = self._report_from_exception(err, "Runtime", str(err) or type(err).__name__)
                self._log_exception(err)
        except NRPStopExecution:
            # A stop signal that landed between the lines above still means "stopped".
            stopped = True
        _output.flush_all()
        return stopped or bool(ctl[CTL_FLAGS] & FLAG_STOP), report

    # -- clean-up ----------------------------------------------------------------------------------

    def shutdown_client(self):
        """Shut the client down (its engines run their ``shutdown``); returns an error text or None."""
        self.bind_thread()
        client, self.client = self.client, None
        if client is None:
            return None
        ctl, ctid = self.ctl, self._ctid
        try:
            ctl[CTL_IN_USER] = 1
            try:
                client.shutdown()
            finally:
                ctl[CTL_IN_USER] = 0
                _set_async_exc(ctid, None)
        except BaseException as err:  # noqa: BLE001 - the stop signal included: shutdown is over either way
            self._log_exception(err)
            return "%s: %s" % (type(err).__name__, err)
        finally:
            _output.flush_all()
        return None

    def close(self):
        """End what the simulation started, give the interpreter back, close the log files and release the view of
        the control block (the host frees its memory after this).

        Returns ``{"ended": [[pid, how]], "threads": [names], "problems": [texts]}``: the child processes it ended,
        its threads still running, and what of the interpreter could not be restored."""
        self.bind_thread()
        self._release_reserve()
        _output.flush_all()
        ended, threads = _containment.end(self.sim_id)
        if self._entered is not None:
            cwd = self._entered
            self._entered = None
            try:
                sys.path.remove(self.directory)
            except ValueError:
                pass
            try:
                if os.getcwd() == self.directory:
                    os.chdir(cwd)
            except OSError:
                os.chdir(cwd)
            prefix = self.directory + os.sep
            for name, module in list(sys.modules.items()):
                origin = getattr(module, "__file__", None) or ""
                if isinstance(origin, str) and origin.startswith(prefix):
                    del sys.modules[name]
        # A worker process runs one simulation and is thrown away with its interpreter: nothing to give back.
        problems = [] if ISOLATED else _containment.restore(os.path.dirname(self.directory))
        if self._file_handler is not None:
            self.file_logger.removeHandler(self._file_handler)
            self._file_handler.close()
            self._file_handler = None
        _output.flush_all()
        _output.bind(None)
        if self.tee is not None:
            self.tee.close()
            self.tee = None
            self.binding.tee = None
        self.code = None
        self.client = None
        try:
            self.ctl.release()
        except (BufferError, ValueError) as err:
            problems.append("the control block view could not be released: %s" % err)
        return {"ended": [[pid, how] for pid, how in ended], "threads": threads, "problems": problems}

    def _release_reserve(self):
        reserve, self._reserve = self._reserve, []
        for fd in reserve:
            try:
                os.close(fd)
            except OSError:
                pass

    # -- reports -----------------------------------------------------------------------------------

    def _log_exception(self, err):
        """The traceback as one log entry (its lines go to the simulation log)."""
        _output.emit_block(_output.STDERR_LEVEL, _output.format_exception(type(err), err, err.__traceback__))

    def _report_from_exception(self, err, error_type, msg):
        """Locate the innermost frame in the experiment's own files (main script, engines, functions)."""
        file_name, line, offset, text = self.script_name, -1, -1, ""
        if isinstance(err, SyntaxError) and err.filename and self._inside(err.filename):
            file_name = os.path.relpath(err.filename, self.directory)
            line, offset, text = err.lineno, err.offset, err.text or ""
        else:
            for frame, lineno in traceback.walk_tb(err.__traceback__):
                path = frame.f_code.co_filename
                if self._inside(path):
                    file_name = os.path.relpath(path, self.directory)
                    line = lineno
                    text = linecache.getline(path, lineno).strip()
            if line == -1 and (located := self._located(err)) is not None:
                # A refusal of the runtime about one of the experiment's files (its configuration, say) names it.
                path, lineno = located
                file_name = os.path.relpath(path, self.directory)
                if lineno is not None:
                    line = lineno
                    text = linecache.getline(path, lineno).strip()
        report = _report(error_type, msg if msg is not None else str(err), file_name, line, offset, text)
        refusal = _refusal(err)
        if refusal is not None:
            # The runtime refused the experiment's configuration: the user's to fix, not a fault of the host.
            report["refusal"] = refusal
        # What the host needs to tell a limit of the simulation's process from any other fault.
        report["exception"] = type(err).__name__
        report["errno"] = getattr(err, "errno", None) if isinstance(err, OSError) else None
        return report

    def _inside(self, path):
        return _inside(self.directory, path)

    def _located(self, err):
        """The (path, line or None) a runtime error says it is about (its ``location``, or its cause's), when that
        is one of the experiment's files; else None."""
        try:
            seen = 0
            while err is not None and seen < 8:
                location = getattr(err, "location", None)
                if isinstance(location, tuple) and len(location) == 2 and isinstance(location[0], str) \
                        and self._inside(location[0]) and (location[1] is None or isinstance(location[1], int)):
                    return location
                err = err.__cause__ or err.__context__
                seen += 1
        except Exception:  # noqa: BLE001 - an exception of the script's own making may fail anywhere: then no location
            pass
        return None


class _TeeHandler(logging.Handler):
    """A logging handler writing formatted records into a bounded log file."""

    def __init__(self, tee):
        super().__init__()
        self._tee = tee

    def emit(self, record):
        try:
            self._tee.write_lines(self.format(record).split("\n"))
        except Exception:  # noqa: BLE001 - a log call must never break the caller
            self.handleError(record)

    def flush(self):
        self._tee.flush()

    def close(self):
        self._tee.close()
        super().close()


def _inside(directory, path):
    try:
        return os.path.abspath(path).startswith(directory + os.sep)
    except (TypeError, ValueError):
        return False


def where(thread_id, directory):
    """Where a thread is, for a report about a phase that overran: ``(file, line, function)`` of its innermost
    frame in the experiment's own files (relative to ``directory``), or None when it runs none of them."""
    frame = sys._current_frames().get(thread_id)
    directory = os.path.abspath(directory)
    while frame is not None:
        path = frame.f_code.co_filename
        if _inside(directory, path):
            return os.path.relpath(path, directory), frame.f_lineno, frame.f_code.co_name
        frame = frame.f_back
    return None


def interrupt(thread_id):
    """Raise ``NRPStopExecution`` asynchronously in the given Python thread (GIL held by the caller, which checked
    that the thread runs user code)."""
    return _set_async_exc(ctypes.c_ulong(thread_id), ctypes.py_object(NRPStopExecution))


# No argtypes are set on this function object: None is passed as NULL, which drops a pending exception.
_set_async_exc = ctypes.pythonapi.PyThreadState_SetAsyncExc
