"""What the host does so that one simulation's code cannot harm the process or the simulations after it.

Installed once, when the interpreter starts (``install``):

* **A snapshot of the interpreter** as the host set it up: the ``builtins`` namespace, the recursion limit,
  ``sys.path``/``meta_path``/``path_hooks``, the standard streams and hooks, signal handlers, ``os.environ``,
  the current directory, the umask, the modules loaded, the root logger, trace and profile hooks. ``restore``
  puts all of it back after the last open simulation has closed, checks it, and names what it could not
  restore (the host then refuses to run more simulations in that interpreter).
* **Guards on the calls that would end the process**: ``os._exit``, ``os.abort``, ``os.kill``/``killpg`` of the
  host's own process (group), ``signal.raise_signal``, ``signal.pthread_kill`` and the ``os.exec*`` family raise
  :class:`ProcessExitRefused` instead, so the simulation ends like for any other fault and the host goes on.
  Forked children are not guarded: they must be able to exit.
* **Ownership of what a simulation starts**: a thread started by a simulation's thread works for the same
  simulation (its output goes to that simulation's category and log file) and is made a daemon thread, so it can
  never hold up the host's exit; child processes started through ``subprocess``, ``os.fork``, ``os.posix_spawn``
  are recorded. When the simulation closes, ``end`` ends its child processes (SIGTERM, then SIGKILL after 2 s) and
  names its threads that are still running.
"""

import atexit
import builtins
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import weakref

from nrphost import _output

KILL_GRACE_SECONDS = 2.0

_host_pid = os.getpid()
_installed = False
_pristine = None
_sessions = {}
_leftovers = {}
_lock = threading.Lock()


class ProcessExitRefused(BaseException):
    """A call that would end (or replace) the whole host process was refused. Ends the simulation, not the host."""


class _Owned:
    """What one simulation started: threads (weakly) and child process ids."""

    def __init__(self):
        self.threads = weakref.WeakSet()
        self.children = []
        self.atexit = []


# -- the snapshot ----------------------------------------------------------------------------------------------

_STREAMS_AND_HOOKS = ("stdin", "stdout", "stderr", "excepthook", "displayhook", "unraisablehook", "breakpointhook")


class _Snapshot:
    def __init__(self):
        self.builtins = dict(builtins.__dict__)
        self.recursion_limit = sys.getrecursionlimit()
        self.switch_interval = sys.getswitchinterval()
        self.path = list(sys.path)
        self.meta_path = list(sys.meta_path)
        self.path_hooks = list(sys.path_hooks)
        self.hooks = {name: getattr(sys, name, None) for name in _STREAMS_AND_HOOKS}
        self.threading_excepthook = threading.excepthook
        self.thread_trace = threading.gettrace() if hasattr(threading, "gettrace") else None
        self.thread_profile = threading.getprofile() if hasattr(threading, "getprofile") else None
        self.signals = {}
        for sig in signal.valid_signals():
            try:
                self.signals[sig] = signal.getsignal(sig)
            except (OSError, ValueError):
                pass
        self.environ = dict(os.environ)
        self.cwd = os.getcwd()
        self.umask = os.umask(0o022)
        os.umask(self.umask)
        self.modules = dict(sys.modules)
        root = logging.getLogger()
        self.root_handlers = list(root.handlers)
        self.root_level = root.level
        self.logging_disable = logging.root.manager.disable


def install():
    """Take the snapshot and install the guards (once, when the interpreter starts)."""
    global _installed, _pristine
    if _installed:
        return
    _install_guards()
    _install_ownership()
    _pristine = _Snapshot()
    _installed = True


def _refuse(what, replace=False):
    raise ProcessExitRefused(
        "%s was refused: it would %s the whole host process, not only this simulation" % (what, "replace" if replace else "end"))


def _install_guards():
    import posix

    real_kill = os.kill
    real_killpg = os.killpg

    def _exit(status):
        if os.getpid() != _host_pid:
            return real_exit(status)
        _refuse("os._exit(%r)" % (status,))

    def abort():
        if os.getpid() != _host_pid:
            return real_abort()
        _refuse("os.abort()")

    def kill(pid, sig):
        if os.getpid() == _host_pid and sig != 0 and (pid in (0, -1, _host_pid) or pid == -os.getpgrp()):
            _refuse("os.kill(%r, %r)" % (pid, sig))
        return real_kill(pid, sig)

    def killpg(pgid, sig):
        if os.getpid() == _host_pid and sig != 0 and pgid in (0, os.getpgrp()):
            _refuse("os.killpg(%r, %r)" % (pgid, sig))
        return real_killpg(pgid, sig)

    def raise_signal(sig):
        if os.getpid() == _host_pid:
            _refuse("signal.raise_signal(%r)" % (sig,))
        return real_raise_signal(sig)

    def pthread_kill(thread_id, sig):
        if os.getpid() == _host_pid and sig != 0:
            _refuse("signal.pthread_kill(%r, %r)" % (thread_id, sig))
        return real_pthread_kill(thread_id, sig)

    real_exit = os._exit
    real_abort = os.abort
    real_raise_signal = signal.raise_signal
    real_pthread_kill = signal.pthread_kill
    for module in (os, posix):
        module._exit = _exit
        module.abort = abort
        module.kill = kill
        module.killpg = killpg
    signal.raise_signal = raise_signal
    signal.pthread_kill = pthread_kill

    for name in ("execv", "execve"):
        real = getattr(os, name, None)
        if real is None:
            continue

        def exec_guard(*args, _real=real, _name=name):
            if os.getpid() != _host_pid:
                return _real(*args)
            _refuse("os.%s(%r, ...)" % (_name, args[0] if args else ""), replace=True)

        setattr(os, name, exec_guard)
        setattr(posix, name, exec_guard)


# -- ownership of threads and child processes --------------------------------------------------------------------

def _record_child(pid):
    owner = _output.current_owner()
    if owner is None or pid is None or pid <= 0:
        return
    owned = _sessions.get(owner)
    if owned is not None:
        owned.children.append(pid)


def _install_ownership():
    real_start = threading.Thread.start

    def start(self):
        binding = _output.current_binding()
        owner = binding.owner
        if owner is not None and not self._started.is_set():
            try:
                self.daemon = True  # never holds up the host's exit
            except RuntimeError:
                pass
            run = self.run

            def bound_run():
                _output.bind(binding)
                run()

            self.run = bound_run
            owned = _sessions.get(owner)
            if owned is not None:
                owned.threads.add(self)
        return real_start(self)

    threading.Thread.start = start

    real_popen_init = subprocess.Popen.__init__

    def popen_init(self, *args, **kwargs):
        real_popen_init(self, *args, **kwargs)
        _record_child(getattr(self, "pid", None))

    subprocess.Popen.__init__ = popen_init

    for name in ("fork", "forkpty", "posix_spawn", "posix_spawnp"):
        real = getattr(os, name, None)
        if real is None:
            continue

        def spawner(*args, _real=real, **kwargs):
            result = _real(*args, **kwargs)
            pid = result[0] if isinstance(result, tuple) else result
            if os.getpid() == _host_pid:
                _record_child(pid)
            return result

        setattr(os, name, spawner)

    real_register = atexit.register

    def register(func, *args, **kwargs):
        owner = _output.current_owner()
        if owner is not None and owner in _sessions:
            _sessions[owner].atexit.append(func)
        return real_register(func, *args, **kwargs)

    atexit.register = register


def begin(owner):
    """A simulation starts: what its threads start from now on is recorded as its own."""
    with _lock:
        _sessions.setdefault(owner, _Owned())


def end(owner):
    """A simulation has closed: end its child processes and name its threads still running.

    Returns ``(ended_children, running_threads)``: ``[(pid, how)]`` and the names of its threads still alive."""
    with _lock:
        owned = _sessions.pop(owner, None)
    if owned is None:
        return [], []
    for func in owned.atexit:
        atexit.unregister(func)
    ended = _end_children(owned.children)
    running = sorted(t.name for t in list(owned.threads) if t.is_alive())
    if running:
        with _lock:
            _leftovers[owner] = owned.threads
    return ended, running


def abandon(owner):
    """The host gave up on a simulation whose thread does not return: it no longer counts as open (so the interpreter
    is restored after the others), and what it started is watched like a closed simulation's."""
    with _lock:
        owned = _sessions.pop(owner, None)
        if owned is not None:
            _leftovers[owner] = owned.threads


def leftover_threads():
    """``{simulation id: [thread names]}`` of threads that closed simulations started and that still run."""
    with _lock:
        result = {}
        for owner, threads in list(_leftovers.items()):
            alive = sorted(t.name for t in list(threads) if t.is_alive())
            if alive:
                result[owner] = alive
            else:
                del _leftovers[owner]
        return result


def _alive(pid):
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    except ChildProcessError:
        pass  # not our child (any more): check it exists
    except OSError:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _end_children(pids):
    alive = [pid for pid in dict.fromkeys(pids) if _alive(pid)]
    ended = []
    for pid in alive:
        try:
            os.kill(pid, signal.SIGTERM)
        except OSError:
            pass
    deadline = time.monotonic() + KILL_GRACE_SECONDS
    while alive and time.monotonic() < deadline:
        time.sleep(0.02)
        still = []
        for pid in alive:
            if _alive(pid):
                still.append(pid)
            else:
                ended.append((pid, "SIGTERM"))
        alive = still
    for pid in alive:
        try:
            os.kill(pid, signal.SIGKILL)
            ended.append((pid, "SIGKILL"))
        except OSError:
            pass
        try:
            os.waitpid(pid, 0)
        except OSError:
            pass
    return ended


# -- restore -------------------------------------------------------------------------------------------------------

def open_sessions():
    with _lock:
        return len(_sessions)


def restore(work_directory):
    """Put the interpreter back as the snapshot has it; unload modules loaded from ``work_directory``.

    Only when no simulation is open (with several at once, the last one to close restores). Returns what could not
    be restored, as texts; empty when all is well."""
    if _pristine is None or open_sessions() > 0:
        return []
    problems = []
    saved = _pristine

    def attempt(what, action):
        try:
            action()
        except BaseException as err:  # noqa: BLE001 - a failed restore is reported, never raised
            problems.append("%s: %s: %s" % (what, type(err).__name__, err))

    def builtins_back():
        current = builtins.__dict__
        for name in [n for n in current if n not in saved.builtins]:
            del current[name]
        for name, value in saved.builtins.items():
            if current.get(name, _missing) is not value:
                current[name] = value

    attempt("builtins", builtins_back)
    attempt("recursion limit", lambda: sys.setrecursionlimit(saved.recursion_limit))
    attempt("switch interval", lambda: sys.setswitchinterval(saved.switch_interval))
    attempt("sys.path", lambda: sys.path.__setitem__(slice(None), saved.path))
    attempt("sys.meta_path", lambda: sys.meta_path.__setitem__(slice(None), saved.meta_path))
    attempt("sys.path_hooks", lambda: sys.path_hooks.__setitem__(slice(None), saved.path_hooks))
    attempt("sys.path_importer_cache", sys.path_importer_cache.clear)
    for name, value in saved.hooks.items():
        attempt("sys." + name, lambda n=name, v=value: setattr(sys, n, v))
    attempt("threading.excepthook", lambda: setattr(threading, "excepthook", saved.threading_excepthook))
    attempt("threading trace hook", lambda: threading.settrace(saved.thread_trace))
    attempt("threading profile hook", lambda: threading.setprofile(saved.thread_profile))

    def environ_back():
        for name in [n for n in os.environ if n not in saved.environ]:
            del os.environ[name]
        for name, value in saved.environ.items():
            if os.environ.get(name) != value:
                os.environ[name] = value

    attempt("os.environ", environ_back)
    attempt("current directory", lambda: os.chdir(saved.cwd))
    attempt("umask", lambda: os.umask(saved.umask))

    def modules_back():
        prefix = os.path.abspath(work_directory) + os.sep
        for name, module in list(sys.modules.items()):
            if name in saved.modules:
                continue
            origin = getattr(module, "__file__", None) or ""
            if isinstance(origin, str) and origin.startswith(prefix):
                del sys.modules[name]
        for name, module in saved.modules.items():
            if sys.modules.get(name) is not module:
                sys.modules[name] = module

    attempt("sys.modules", modules_back)

    def logging_back():
        root = logging.getLogger()
        root.handlers[:] = saved.root_handlers
        root.setLevel(saved.root_level)
        logging.disable(saved.logging_disable)

    attempt("root logger", logging_back)
    problems.extend(_differences(saved))
    return problems


_missing = object()


def _differences(saved):
    """What still differs from the snapshot after a restore (what the host cannot fix from here)."""
    found = []
    current = builtins.__dict__
    changed = [n for n, v in saved.builtins.items() if current.get(n, _missing) is not v]
    if changed or len(current) != len(saved.builtins):
        found.append("builtins still differ: %s" % ", ".join(sorted(changed)[:5]))
    if sys.getrecursionlimit() != saved.recursion_limit:
        found.append("the recursion limit is %d, not %d" % (sys.getrecursionlimit(), saved.recursion_limit))
    if sys.path != saved.path:
        found.append("sys.path still differs")
    for name, value in saved.hooks.items():
        if getattr(sys, name, None) is not value:
            found.append("sys.%s still differs" % name)
    for sig, handler in saved.signals.items():
        try:
            if signal.getsignal(sig) != handler:
                found.append("the handler of signal %s was changed and cannot be put back from here" % sig)
        except (OSError, ValueError):
            pass
    if dict(os.environ) != saved.environ:
        found.append("os.environ still differs")
    try:
        if os.getcwd() != saved.cwd:
            found.append("the current directory is %s" % os.getcwd())
    except OSError as err:
        found.append("the current directory is gone: %s" % err)
    return found
