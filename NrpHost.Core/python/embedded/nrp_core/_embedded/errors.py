"""Exceptions raised by the embedded client, and how user errors are located.

A request that fails inside an engine script or a function file raises
:class:`NrpCoreRequestError`, a ``RuntimeError`` with nrp-core's message
(``Request failed with error "...". The only possible action now is
"shutdown()".``). Its ``__cause__`` is the original exception and its
traceback continues into the user's code, so the innermost frame is the user's
file and line; ``file_name`` and ``line_number`` hold that location directly.
"""

import os
import traceback

__all__ = ["InvalidTransitionError", "NrpCoreRequestError", "config_location", "locate_user_error", "request_error"]


class InvalidTransitionError(RuntimeError):
    """The request is not allowed in the current state (cause of the ``ConnectionError``)."""


class NrpCoreRequestError(RuntimeError):
    """A request failed; the simulation is now in state ``Failed``."""

    def __init__(self, message, error_message="", file_name=None, line_number=None):
        super().__init__(message)
        self.error_message = error_message
        self.file_name = file_name
        self.line_number = line_number


def config_location(config_path, *needles):
    """(``config_path``, line) of the first line of the configuration file that holds every one of
    ``needles`` (line None if none does, or the file cannot be read)."""
    if not config_path:
        return None
    try:
        with open(config_path, encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                if all(needle in line for needle in needles):
                    return config_path, number
    except (OSError, UnicodeDecodeError):
        pass
    return config_path, None


def locate_user_error(exc, user_files=()):
    """(file name, line) of the place in the user's files where ``exc`` was raised.

    Prefers a ``SyntaxError``'s own location, then the innermost traceback
    frame in one of ``user_files``, then a ``location`` attribute set by the
    runtime (a user file the refusal is about). The runtime's own files are
    never named: (None, None) when nothing points into the user's files.
    """
    if isinstance(exc, SyntaxError) and exc.filename:
        return exc.filename, exc.lineno
    frames = traceback.extract_tb(exc.__traceback__) if exc.__traceback__ is not None else []
    user_files = {os.path.normcase(f) for f in user_files}
    for frame in reversed(frames):
        if os.path.normcase(frame.filename) in user_files:
            return frame.filename, frame.lineno
    location = getattr(exc, "location", None)
    if location:
        return location
    return None, None


def request_error(exc, user_files=()):
    """Build the ``NrpCoreRequestError`` for ``exc``, carrying its traceback."""
    file_name, line_number = locate_user_error(exc, user_files)
    text = f"{type(exc).__name__}: {exc}"
    if file_name and line_number is not None:
        text += f" (File \"{file_name}\", line {line_number})"
    elif file_name:
        text += f" (File \"{file_name}\")"
    error = NrpCoreRequestError(
        f'Request failed with error "{text}". The only possible action now is "shutdown()".',
        text, file_name, line_number)
    return error.with_traceback(exc.__traceback__)
