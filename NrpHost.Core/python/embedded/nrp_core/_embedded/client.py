"""``NrpCore``: the nrp-core python client API, running the simulation in-process.

The constructor takes the same arguments as nrp-core 1.4.1's client. Instead
of launching NRPCoreSim and talking gRPC, it reads the configuration (applying
the ``-o`` overrides in ``args``) and runs engines, functions and the FTI loop
in the calling process. Launcher-only arguments (``address``, ``log_output``,
``server_timeout``, the docker ones) are accepted and ignored; engine and
function output goes to ``sys.stdout``.

Paths: a non-empty ``experiment_folder`` is made absolute against the current
directory at construction; a relative ``config_file`` is resolved against it.
With an empty ``experiment_folder`` the config file is resolved against the
current directory and its parent directory becomes the experiment directory,
as NRPCoreSim does. Engine scripts and function files are resolved against the
experiment directory.

State rules are nrp-core's: a request that is not allowed in the current state
raises ``ConnectionError("Can't process request: ...")`` and changes nothing;
a request that fails inside the simulation moves it to ``Failed`` and raises a
``RuntimeError`` (:class:`NrpCoreRequestError`); from ``Failed`` only
``shutdown()`` is allowed. After ``shutdown()`` the client is closed and every
request raises ``ChildProcessError``. Requests are serialised by a lock, except
``stop()``, which may be called from any thread while a run is in progress.
"""

import json
import os
import threading

from .config import load_config
from .datapacks import make_datapack
from .errors import InvalidTransitionError, NrpCoreRequestError, request_error
from .runtime import EmbeddedSimulation

__all__ = ["NrpCore", "NrpCoreRequestError", "RunLoopResponse"]

CREATED = "Created"
INITIALIZED = "Initialized"
RUNNING = "Running"
STOPPED = "Stopped"
FAILED = "Failed"

_CAN_RUN = (INITIALIZED, STOPPED)
_CAN_STOP = (INITIALIZED, STOPPED, RUNNING)
_CAN_SHUTDOWN = (INITIALIZED, STOPPED, RUNNING, FAILED)


class RunLoopResponse:
    """Result of an asynchronous ``run_loop``/``run_until_timeout``, appended to the
    caller's ``response`` list; decode it with ``NrpCore.unpack_thread_results``."""

    __slots__ = ("doneFlag", "timeoutFlag", "trajectory", "error", "until_timeout")

    def __init__(self, done=False, timeout=False, trajectory=None, error=None, until_timeout=False):
        self.doneFlag = done
        self.timeoutFlag = timeout
        self.trajectory = trajectory if trajectory is not None else []
        self.error = error
        self.until_timeout = until_timeout


class NrpCore:
    """In-process nrp-core client (``nrp_client.NrpCore`` / ``nrp_core.client.NrpCore``)."""

    def __init__(self, address, experiment_folder="", config_file="simulation_config.json", args="",
                 log_output=".console_output.log", server_timeout=10,
                 docker_daemon_address="unix:///var/run/docker.sock", image_name="",
                 get_archives=[], compose_file=""):  # noqa: B006 - nrp-core's signature; never mutated
        self._closed = True
        self._state = "None"
        self._sim = None
        self.address = address
        self.log_output = log_output
        if experiment_folder:
            base_dir = os.path.abspath(experiment_folder)
            config_path = config_file if os.path.isabs(config_file) else os.path.join(base_dir, config_file)
        else:
            config_path = os.path.abspath(config_file)
            base_dir = os.path.dirname(config_path)
        self.experiment_folder = base_dir
        self.config_file = os.path.normpath(config_path)
        self._config = load_config(self.config_file, args)
        self._lock = threading.Lock()
        self._json_buffer = []
        self._closed = False
        self._state = CREATED

    # ----------------------------------------------------------------- helpers
    def _enter(self, allowed, what):
        """Check the client is open and the state allows ``what``; caller holds the lock."""
        if self._closed:
            raise ChildProcessError("This NRP Server is closed; create a new client to run the experiment again.")
        if self._state not in allowed:
            cause = InvalidTransitionError(f'Simulation can\'t be {what} from state "{self._state}"')
            raise ConnectionError(f"Can't process request: {cause}") from cause

    def _fail(self, exc):
        self._state = FAILED
        files = self._sim.user_files if self._sim is not None else ()
        return request_error(exc, files)

    def _take_buffer(self):
        buffered = self._json_buffer
        self._json_buffer = []
        return buffered

    # ---------------------------------------------------------------- requests
    def current_state(self):
        """``"Created"``, ``"Initialized"``, ``"Running"``, ``"Stopped"`` or ``"Failed"``."""
        return self._state

    def initialize(self):
        """Load and initialise engines and functions; returns the initial observations
        (the data of every datapack the functions request). Buffered client
        datapacks are not sent."""
        with self._lock:
            self._enter((CREATED,), "initialized")
            self._sim = EmbeddedSimulation(self._config, self.experiment_folder)
            try:
                trajectory = self._sim.build_and_initialize()
            except Exception as e:
                raise self._fail(e) from e
            self._state = INITIALIZED
            return trajectory

    def run_loop(self, num_iterations, json_data=None, run_async=False, response=None):
        """Run ``num_iterations`` loop steps (0: until ``stop()``) and return
        ``(done, trajectory)``; the trajectory is only returned (and then
        cleared) when done is true. Buffered client datapacks are sent first.
        ``json_data`` is accepted for compatibility with nrp-core 1.3 callers
        and ignored, as nrp-core 1.4 does."""
        if type(num_iterations) is not int or num_iterations < 0:
            if isinstance(num_iterations, bool) or not isinstance(num_iterations, int) or num_iterations < 0:
                raise ValueError("num_iterations must be a non-negative integer")
            num_iterations = int(num_iterations)
        if run_async:
            return self._start_async(lambda: self.run_loop(num_iterations), response, False)
        # The synchronous request is kept in this one frame, and the lock is
        # taken with acquire/release (cheaper than ``with``): with run_loop(1)
        # per cycle, as the NRP backend does, this overhead is part of every cycle.
        lock = self._lock
        lock.acquire()
        try:
            if self._closed or self._state not in _CAN_RUN:
                self._enter(_CAN_RUN, "run")
            loop = self._sim.loop
            self._state = RUNNING
            try:
                if self._json_buffer:
                    loop.add_external(self._take_buffer())
                if num_iterations == 1:
                    loop.stop_requested = False
                    loop.run_step()
                else:
                    loop.run_iterations(num_iterations)
            except Exception as e:
                raise self._fail(e) from e
            except BaseException:
                self._state = FAILED
                raise
            self._state = STOPPED
            if loop.done:
                return True, loop.flush_trajectory()
            return False, []
        finally:
            lock.release()

    def run_until_timeout(self, run_async=False, response=None):
        """Run until the status function reports done, ``SimulationTimeout`` (whole
        seconds) is reached or ``stop()`` is called; returns
        ``(done, timeout, trajectory)``. Buffered client datapacks are not sent."""
        if run_async:
            return self._start_async(self._run_until_timeout, response, True)
        return self._run_until_timeout()

    def _run_until_timeout(self):
        with self._lock:
            self._enter(_CAN_RUN, "run")
            loop = self._sim.loop
            timeout_ns = self._sim.timeout_ns
            self._state = RUNNING
            try:
                loop.run_until_timeout(timeout_ns)
            except Exception as e:
                raise self._fail(e) from e
            except BaseException:
                self._state = FAILED
                raise
            self._state = STOPPED
            timed_out = timeout_ns >= 0 and loop.sim_time >= timeout_ns
            return loop.done, timed_out, loop.flush_trajectory()

    def _start_async(self, call, response, until_timeout):
        def target():
            try:
                result = call()
            except BaseException as e:  # handed to the caller through the response
                outcome = RunLoopResponse(error=e, until_timeout=until_timeout)
            else:
                if until_timeout:
                    outcome = RunLoopResponse(result[0], result[1], result[2], until_timeout=True)
                else:
                    outcome = RunLoopResponse(result[0], False, result[1])
            if response is not None:
                response.append(outcome)

        thread = threading.Thread(target=target, name="NrpCoreRunLoop", daemon=True)
        thread.start()
        return thread

    @staticmethod
    def unpack_thread_results(resp):
        """Turn an asynchronous response into ``(done, trajectory)`` (or
        ``(done, timeout, trajectory)`` for ``run_until_timeout``); re-raises
        the error of a failed run."""
        if isinstance(resp, list):
            resp = resp[0]
        if resp.error is not None:
            raise resp.error
        if resp.until_timeout:
            return resp.doneFlag, resp.timeoutFlag, resp.trajectory
        return resp.doneFlag, resp.trajectory

    def stop(self):
        """Ask a running ``run_loop``/``run_until_timeout`` to return before its next
        step. Safe to call from any thread; does not wait."""
        if self._closed:
            raise ChildProcessError("This NRP Server is closed; create a new client to run the experiment again.")
        state = self._state
        if state not in _CAN_STOP:
            cause = InvalidTransitionError(f'Simulation can\'t be stopped from state "{state}"')
            raise ConnectionError(f"Can't process request: {cause}") from cause
        sim = self._sim
        if sim is not None and sim.loop is not None:
            sim.loop.stop_requested = True

    def reset(self):
        """Send buffered client datapacks, reset engines and time to 0, and return
        the observations read after the reset."""
        with self._lock:
            self._enter(_CAN_RUN, "reset")
            loop = self._sim.loop
            try:
                loop.add_external(self._take_buffer())
                trajectory = loop.reset()
            except Exception as e:
                raise self._fail(e) from e
            self._state = INITIALIZED
            return trajectory

    def shutdown(self):
        """Shut engines down and unload the experiment; the client is closed afterwards."""
        with self._lock:
            self._enter(_CAN_SHUTDOWN, "shut down")
            sim, self._sim = self._sim, None
            self._closed = True
            self._json_buffer = []
            error = sim.shutdown() if sim is not None else None
            if error is not None:
                self._state = FAILED
                raise request_error(error, sim.user_files) from error
            self._state = CREATED

    # ----------------------------------------------------------- client data
    def set_json_datapack(self, datapack_name, engine_name, payload):
        """Buffer a JSON datapack for ``engine_name``; it travels with the next
        ``run_loop()`` or ``reset()`` and is then re-sent on every sync of that
        engine until reset."""
        data = json.loads(json.dumps(payload))
        self._json_buffer.append(make_datapack(str(datapack_name), str(engine_name), data))

    def set_proto_datapack(self, datapack_name, engine_name, payload):
        """Protobuf datapacks need nrp-core's generated messages and a real installation."""
        raise NotImplementedError(
            "Protobuf datapacks are not supported by the embedded nrp-core runtime; "
            "use set_json_datapack or a real nrp-core installation (NrpHost:NrpCore:Mode=External).")

    def __del__(self):
        try:
            if not self._closed and self._state != CREATED:
                self.shutdown()
        except Exception:  # noqa: S110 - best effort, as nrp-core's client
            pass
