"""``NrpCore``: the nrp-core python client API, running the simulation in-process.

The constructor takes the same arguments as nrp-core 1.4.1's client. Instead
of launching NRPCoreSim and talking gRPC, it reads the configuration (applying
the ``-o`` overrides in ``args``) and runs engines, functions and the FTI loop
in the calling process. ``address`` must still be a server address
(``host:port``, ``[v6]:port`` or ``unix:<path>``): anything else raises the
``TimeoutError`` nrp-core's client raises when it cannot reach a server.
Launcher-only arguments (``log_output``, ``server_timeout``, the docker ones)
are accepted; those the caller set, and the engine launch settings of the
configuration (``ServerAddress``, ``EngineLaunchCommand``...), are named in
one warning line on ``sys.stderr``, since they have no effect. Engine and
function output goes to ``sys.stdout``.

Client datapacks are buffered as nrp-core buffers them, as
``EngineGrpc.DataPackMessage`` messages in ``_json_datapack_out_buffer`` and
``_proto_datapack_out_buffer``, until the next ``run_loop()`` or ``reset()``.

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
import sys
import threading

from .config import load_config
from .datapacks import JSON_DATAPACK_TYPE, make_datapack
from .errors import InvalidTransitionError, NrpCoreRequestError, request_error
from .protobuf import DATAPACKS, DataPackMessage, JsonMessage, Message, from_foreign, pack_any, unpack_any
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


def _identify(message, name, type_string, engine_name):
    identifier = message.dataPackId
    identifier.dataPackName = str(name)
    identifier.dataPackType = type_string
    identifier.engineName = str(engine_name)


def _check_address(address):
    """nrp-core's client cannot reach a server at an address that is not one: raise what it raises."""
    if not isinstance(address, str):
        raise TypeError(f"address must be a string such as \"localhost:5345\", not {type(address).__name__}")
    text = address
    for scheme in ("dns:///", "ipv4:", "ipv6:"):
        if text.startswith(scheme):
            text = text[len(scheme):]
    if text.startswith("unix:") and len(text) > len("unix:"):
        return
    if text.startswith("["):
        host, _, port = text[1:].partition("]:")
    else:
        host, _, port = text.rpartition(":")
        if ":" in host:  # an IPv6 address needs brackets
            host = ""
    if host and port.isdigit() and 0 < int(port) < 65536 and not any(c.isspace() for c in host):
        return
    raise TimeoutError(
        f'Timeout while connecting to NRP Server. "{address}" is not a server address (host:port, [v6]:port or '
        "unix:path), so no NRP Server can be reached there.")


class NrpCore:
    """In-process nrp-core client (``nrp_client.NrpCore`` / ``nrp_core.client.NrpCore``)."""

    def __init__(self, address, experiment_folder="", config_file="simulation_config.json", args="",
                 log_output=".console_output.log", server_timeout=10,
                 docker_daemon_address="unix:///var/run/docker.sock", image_name="",
                 get_archives=[], compose_file=""):  # noqa: B006 - nrp-core's signature; never mutated
        self._closed = True
        self._state = "None"
        self._sim = None
        _check_address(address)
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
        launcher = []
        self._config = load_config(self.config_file, args, launcher)
        if docker_daemon_address != "unix:///var/run/docker.sock":
            launcher.append("docker_daemon_address")
        launcher += [name for name, value in (("image_name", image_name), ("compose_file", compose_file),
                                              ("get_archives", get_archives)) if value]
        if launcher:
            print("nrp-core (embedded, in-process): these launcher settings have no effect and are ignored: "
                  + ", ".join(launcher), file=sys.stderr)
        self._lock = threading.Lock()
        self._json_datapack_out_buffer = []
        self._proto_datapack_out_buffer = []
        self._buffered = False  # True while a buffer holds something (one check per run_loop)
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
        """The buffered client datapacks as datapacks (JSON ones first, as nrp-core's server merges them)."""
        datapacks = []
        for message in self._json_datapack_out_buffer:
            identifier = message.dataPackId
            value = json.loads(unpack_any(message.data).data)
            datapacks.append(make_datapack(identifier.dataPackName, identifier.engineName, value))
        for message in self._proto_datapack_out_buffer:
            identifier = message.dataPackId
            data = unpack_any(message.data)
            datapack = DATAPACKS[type(data).__name__ + "DataPack"](identifier.dataPackName, identifier.engineName)
            datapack._value = data
            datapacks.append(datapack)
        self._json_datapack_out_buffer.clear()
        self._proto_datapack_out_buffer.clear()
        self._buffered = False
        return datapacks

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
            self._sim = EmbeddedSimulation(self._config, self.experiment_folder, self.config_file)
            try:
                trajectory = self._sim.build_and_initialize()
            except Exception as e:
                raise self._fail(e) from e
            self._state = INITIALIZED
            return trajectory

    def run_loop(self, num_iterations, run_async=False, response=None):
        """Run ``num_iterations`` loop steps (0: until ``stop()``) and return
        ``(done, trajectory)``; the trajectory is only returned (and then
        cleared) when done is true. Buffered client datapacks are sent first.
        With a true ``run_async`` (also the second positional argument, as in
        nrp-core 1.4.1) the run happens in a started ``threading.Thread``,
        which is returned; its response is appended to ``response``."""
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
                if self._buffered:
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
        """Turn an asynchronous response (or the ``response`` list it was appended to) into
        ``(done, trajectory)``, for ``run_loop`` and ``run_until_timeout`` alike, as nrp-core does
        (the timeout flag stays on the response as ``timeoutFlag``); re-raises the error of a failed run."""
        if isinstance(resp, list):
            resp = resp[0]
        if resp.error is not None:
            raise resp.error
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
            self._json_datapack_out_buffer.clear()
            self._proto_datapack_out_buffer.clear()
            self._buffered = False
            error = sim.shutdown() if sim is not None else None
            if error is not None:
                self._state = FAILED
                raise request_error(error, sim.user_files) from error
            self._state = CREATED

    def _nrphost_cycle_probe(self):
        """A :class:`.profiling.CycleProbe` of this client's FTI loop, for NrpHost's step-latency profile; None before
        ``initialize()``. Not part of nrp-core's API."""
        sim = self._sim
        if sim is None or sim.loop is None:
            return None
        from .profiling import CycleProbe
        return CycleProbe(sim.loop)

    # ----------------------------------------------------------- client data
    def set_json_datapack(self, datapack_name, engine_name, payload):
        """Buffer a JSON datapack for ``engine_name``; it travels with the next
        ``run_loop()`` or ``reset()`` and is then re-sent on every sync of that
        engine until reset."""
        message = DataPackMessage()
        _identify(message, datapack_name, JSON_DATAPACK_TYPE, engine_name)
        message.data.CopyFrom(pack_any(JsonMessage(data=json.dumps(payload))))
        self._json_datapack_out_buffer.append(message)
        self._buffered = True

    def set_proto_datapack(self, datapack_name, engine_name, payload):
        """Buffer a protobuf datapack (``payload``: a message of ``nrp_core.data.nrp_protobuf``, e.g.
        ``DumpString(string_stream="x")``) for ``engine_name``, like ``set_json_datapack``."""
        converted = from_foreign(payload)  # a message of nrp_protobuf (Google protobuf), as nrp-core takes
        if converted is not None:
            payload = converted
        if not isinstance(payload, Message) or type(payload).__name__ + "DataPack" not in DATAPACKS:
            raise TypeError(
                "set_proto_datapack expects a protobuf message of nrp_core.data.nrp_protobuf (Dump, Wrappers, "
                f"NrpGenericProto or EngineTest), not {type(payload).__name__}; other message types need a real "
                "nrp-core installation (NrpHost:NrpCore:Mode=External)")
        message = DataPackMessage()
        _identify(message, datapack_name, payload._type_string, engine_name)
        message.data.CopyFrom(pack_any(payload))
        self._proto_datapack_out_buffer.append(message)
        self._buffered = True

    def __del__(self):
        try:
            if not self._closed and self._state != CREATED:
                self.shutdown()
        except Exception:  # noqa: S110 - best effort, as nrp-core's client
            pass
