"""Buffered bridge from Python's ``print`` and ``logging`` to the host's ``ILogger``.

``sys.stdout``/``sys.stderr`` are replaced by streams that collect complete lines in a deque, and a
``logging`` handler on the root logger does the same for log records. Nothing here calls into .NET:
the host drains the deque periodically (and when a script ends) while holding the GIL, so a ``print``
costs a few hundred nanoseconds of pure Python.

Each entry is ``(category, level, text)``. The category is the one set for the current thread with
``set_category`` (a simulation's script thread sets its own), otherwise ``"Python"``.
"""

import collections
import io
import logging
import sys
import threading

# Levels use Python's logging numbers; the host maps them to LogLevel.
STDOUT_LEVEL = logging.INFO
STDERR_LEVEL = logging.WARNING
DEFAULT_CATEGORY = "Python"
MAX_BUFFERED = 100_000

_entries = collections.deque(maxlen=MAX_BUFFERED)
_local = threading.local()
_installed = False


def set_category(category):
    """Route this thread's output to ``category`` (``None`` restores the default)."""
    _local.category = category


def set_tee(stream):
    """Also write this thread's complete lines to ``stream`` (a simulation's log file)."""
    _local.tee = stream


def release_tee(stream):
    """Stop writing to ``stream`` (from any thread) and close it."""
    if getattr(_local, "tee", None) is stream:
        _local.tee = None
    try:
        stream.close()
    except OSError:
        pass


def _write_tee(lines):
    tee = getattr(_local, "tee", None)
    if tee is None:
        return
    if tee.closed:
        _local.tee = None
        return
    try:
        for line in lines:
            tee.write(line)
            tee.write("\n")
    except (OSError, ValueError):
        _local.tee = None


def current_category():
    return getattr(_local, "category", None) or DEFAULT_CATEGORY


def drain():
    """Return every buffered entry, oldest first, and forget them."""
    out = []
    pop = _entries.popleft
    try:
        while True:
            out.append(pop())
    except IndexError:
        pass
    return out


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
        category = current_category()
        for line in lines:
            _entries.append((category, self._level, line))
        _write_tee(lines)
        return len(text)

    def flush(self):
        pending = getattr(self._partial, "text", "")
        if pending:
            self._partial.text = ""
            _entries.append((current_category(), self._level, pending))
            _write_tee((pending,))


class _BufferHandler(logging.Handler):
    """A logging handler that buffers formatted records for the host."""

    def emit(self, record):
        try:
            category = getattr(_local, "category", None)
            if category is None:
                category = DEFAULT_CATEGORY + "." + record.name
            text = self.format(record)
            _entries.append((category, record.levelno, text))
            _write_tee(("%s: %s" % (record.levelname, text),))
        except Exception:  # noqa: BLE001 - a log call must never break the caller
            self.handleError(record)


def install():
    """Replace ``sys.stdout``/``sys.stderr`` and attach the root logging handler (once)."""
    global _installed
    if _installed:
        return
    sys.stdout = _LineStream("<stdout>", STDOUT_LEVEL)
    sys.stderr = _LineStream("<stderr>", STDERR_LEVEL)
    handler = _BufferHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    _installed = True


def flush_all():
    """Move partial lines of the current thread into the buffer."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, _LineStream):
            stream.flush()
