"""Buffered bridge from Python's ``print`` and ``logging`` to the host's ``ILogger``.

``sys.stdout``/``sys.stderr`` are replaced by streams that collect complete lines in a deque, and a
``logging`` handler on the root logger does the same for log records. Nothing here calls into .NET:
the host drains the deque periodically (and when a script ends) while holding the GIL, so a ``print``
costs a few hundred nanoseconds of pure Python.

Each entry is ``(category, level, text)``. The category is the one bound to the current thread
(a simulation's threads carry their simulation's), otherwise ``"Python"``. A simulation's threads
also write every line to its log file (the *tee*).

Output is bounded, so a script printing as fast as it can harms nobody:

* what reaches the host's logger is rate-limited per category (``RATE_LINES`` a second, bursts of
  ``BURST_LINES``); what is dropped is counted and reported in one line per drain;
* a simulation's log file stops growing at its byte limit, with one line saying so;
* the log files are flushed at every drain (every 200 ms), so a crash of the whole process loses at
  most that much output.
"""

import collections
import io
import logging
import os
import sys
import threading
import time
import traceback
import weakref

# Levels use Python's logging numbers; the host maps them to LogLevel.
STDOUT_LEVEL = logging.INFO
STDERR_LEVEL = logging.WARNING
DEFAULT_CATEGORY = "Python"
MAX_BUFFERED = 100_000
RATE_LINES = 1000.0
BURST_LINES = 2000.0

_entries = collections.deque(maxlen=MAX_BUFFERED)
_local = threading.local()
_buckets = {}
_dropped = collections.Counter()
_tees = weakref.WeakSet()
_installed = False


class Binding:
    """Where a thread's output goes: its logger category, its log file (a :class:`Tee`), its owner (a simulation id)
    and its experiment directory (tracebacks name the experiment's files relative to it)."""

    __slots__ = ("category", "tee", "owner", "directory")

    def __init__(self, category=None, tee=None, owner=None, directory=None):
        self.category = category
        self.tee = tee
        self.owner = owner
        self.directory = directory


_UNBOUND = Binding()


def bind(binding):
    """Route the calling thread's output as ``binding`` says (``None``: the default)."""
    _local.binding = binding if binding is not None else _UNBOUND


def current_binding():
    return getattr(_local, "binding", _UNBOUND)


def current_category():
    return current_binding().category or DEFAULT_CATEGORY


def current_owner():
    """The simulation the calling thread works for, or None."""
    return current_binding().owner


class Tee:
    """A simulation's log file: complete lines, at most ``limit`` bytes, then one line saying the rest was cut."""

    def __init__(self, path, limit):
        self._file = open(path, "a", encoding="utf-8", errors="replace")
        self._limit = limit
        self._written = 0
        self.cut_lines = 0
        self._lock = threading.Lock()
        _tees.add(self)

    @property
    def closed(self):
        return self._file.closed

    def write_lines(self, lines):
        with self._lock:
            if self._file.closed:
                return
            try:
                for line in lines:
                    if self._written >= self._limit:
                        if self.cut_lines == 0:
                            self._file.write("[NrpHost] this log reached its limit of %d bytes; later output is not written\n" % self._limit)
                        self.cut_lines += 1
                        continue
                    self._file.write(line)
                    self._file.write("\n")
                    self._written += len(line) + 1
            except (OSError, ValueError):
                pass

    def flush(self):
        with self._lock:
            if not self._file.closed:
                try:
                    self._file.flush()
                except (OSError, ValueError):
                    pass

    def close(self):
        with self._lock:
            try:
                if self.cut_lines:
                    self._file.write("[NrpHost] %d lines were not written: this log had reached its limit\n" % self.cut_lines)
                self._file.close()
            except (OSError, ValueError):
                pass


def reset(category):
    """A new simulation takes ``category``: forget the rate and the held-back count of an earlier one with that name."""
    _buckets.pop(category, None)
    _dropped.pop(category, None)


def _admit(category):
    """Whether one more line of ``category`` may go to the host's logger now (token bucket)."""
    now = time.monotonic()
    bucket = _buckets.get(category)
    if bucket is None:
        _buckets[category] = [BURST_LINES - 1.0, now]
        return True
    tokens = min(BURST_LINES, bucket[0] + (now - bucket[1]) * RATE_LINES)
    bucket[1] = now
    if tokens >= 1.0:
        bucket[0] = tokens - 1.0
        return True
    bucket[0] = tokens
    _dropped[category] += 1
    return False


def _emit(binding, level, lines):
    category = binding.category or DEFAULT_CATEGORY
    for line in lines:
        if _admit(category):
            _entries.append((category, level, line))
    tee = binding.tee
    if tee is not None:
        tee.write_lines(lines)


def emit_block(level, text, tee_prefix=""):
    """Send a multi-line text (a traceback) to the logger as one entry; the log file gets its lines."""
    binding = current_binding()
    category = binding.category or DEFAULT_CATEGORY
    text = text.rstrip("\n")
    if _admit(category):
        _entries.append((category, level, text))
    if binding.tee is not None:
        binding.tee.write_lines([tee_prefix + line for line in text.split("\n")])
        binding.tee.flush()  # an error is on disk at once, whatever happens to the process next


def drain():
    """Return every buffered entry, oldest first, and forget them; then ``(category, count)`` of the lines the
    rate limit dropped since the last drain. Flushes the simulations' log files."""
    out = []
    pop = _entries.popleft
    try:
        while True:
            out.append(pop())
    except IndexError:
        pass
    dropped = list(_dropped.items())
    _dropped.clear()
    for tee in list(_tees):
        tee.flush()
    return out, dropped


class _LineStream(io.TextIOBase):
    """A text stream that turns writes into complete lines, per thread."""

    def __init__(self, name, level):
        super().__init__()
        self._name = name
        self._level = level
        self._partial = threading.local()

    @property
    def name(self):
        return self._name

    @property
    def encoding(self):
        return "utf-8"

    def writable(self):
        return True

    def isatty(self):
        return False

    def write(self, text):
        if not isinstance(text, str):
            raise TypeError("write() argument must be str, not %s" % type(text).__name__)
        pending = getattr(self._partial, "text", "")
        if "\n" not in text:
            self._partial.text = pending + text
            return len(text)
        lines = (pending + text).split("\n")
        self._partial.text = lines.pop()
        _emit(current_binding(), self._level, lines)
        return len(text)

    def flush(self):
        pending = getattr(self._partial, "text", "")
        if pending:
            self._partial.text = ""
            _emit(current_binding(), self._level, (pending,))


class _BufferHandler(logging.Handler):
    """A logging handler that buffers formatted records for the host (a record with a traceback stays one entry)."""

    def emit(self, record):
        try:
            binding = current_binding()
            category = binding.category or DEFAULT_CATEGORY + "." + record.name
            text = self.format(record)
            if _admit(category):
                _entries.append((category, record.levelno, text))
            if binding.tee is not None:
                binding.tee.write_lines(["%s: %s" % (record.levelname, line) for line in text.split("\n")])
        except Exception:  # noqa: BLE001 - a log call must never break the caller
            self.handleError(record)


# The folder of NrpHost's own Python packages (nrphost, the embedded nrp-core runtime): its frames are the host's.
_HOST_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def format_exception(exc_type, value, tb):
    """A traceback as the user should see it: the host's own frames (the runner, the embedded runtime) left out, the
    experiment's files named relative to the experiment, the interpreter's own under ``[python]``."""
    try:
        summary = traceback.TracebackException(exc_type, value, tb)
        _user_frames(summary, current_binding().directory, set())
        return "".join(summary.format())
    except Exception:  # noqa: BLE001 - a report is never lost to its own formatting
        return "".join(traceback.format_exception(exc_type, value, tb))


def _user_frames(summary, directory, seen):
    if summary is None or id(summary) in seen:
        return
    seen.add(id(summary))
    frames = []
    for frame in summary.stack:
        if _is_host_file(frame.filename):
            continue
        frames.append(traceback.FrameSummary(
            _shown(frame.filename, directory), frame.lineno, frame.name, lookup_line=False, line=frame.line,
            end_lineno=getattr(frame, "end_lineno", None), colno=getattr(frame, "colno", None),
            end_colno=getattr(frame, "end_colno", None)))
    summary.stack = traceback.StackSummary.from_list(frames)
    if getattr(summary, "filename", None):  # a SyntaxError names its file itself
        summary.filename = _shown(summary.filename, directory)
    _user_frames(summary.__cause__, directory, seen)
    _user_frames(summary.__context__, directory, seen)
    for inner in getattr(summary, "exceptions", None) or ():
        _user_frames(inner, directory, seen)


def _is_host_file(path):
    return isinstance(path, str) and path.startswith(_HOST_ROOT + os.sep)


def _shown(path, directory):
    if not isinstance(path, str) or not os.path.isabs(path):
        return path
    if directory and path.startswith(directory + os.sep):
        return os.path.relpath(path, directory)
    for prefix in {sys.base_prefix, sys.prefix}:
        if prefix and path.startswith(prefix + os.sep):
            return "[python]/" + os.path.relpath(path, prefix)
    return path


class UserTracebackFormatter(logging.Formatter):
    """Formats a logged exception as :func:`format_exception` does."""

    def formatException(self, ei):
        return format_exception(*ei).rstrip("\n")


def _thread_excepthook(args):
    """An exception that ends a thread is one log entry (its whole traceback), in the thread's own category."""
    if args.exc_type is SystemExit:
        return
    name = args.thread.name if args.thread is not None else "?"
    text = "Exception in thread %s:\n%s" % (name, format_exception(args.exc_type, args.exc_value, args.exc_traceback))
    emit_block(STDERR_LEVEL, text)


def install():
    """Replace ``sys.stdout``/``sys.stderr``, attach the root logging handler and the thread exception hook (once)."""
    global _installed
    if _installed:
        return
    sys.stdout = _LineStream("<stdout>", STDOUT_LEVEL)
    sys.stderr = _LineStream("<stderr>", STDERR_LEVEL)
    handler = _BufferHandler()
    handler.setFormatter(UserTracebackFormatter("%(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    threading.excepthook = _thread_excepthook
    _installed = True


def flush_all():
    """Move partial lines of the current thread into the buffer, and write its log file through."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, _LineStream):
            stream.flush()
    tee = current_binding().tee
    if tee is not None:
        tee.flush()
