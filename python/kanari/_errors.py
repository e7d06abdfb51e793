"""Exceptions: one class per failing status, which equals the CLI's exit code."""

from __future__ import annotations


class KanariError(Exception):
    """A failed call. ``status`` is the library's status, which is the exit
    code the ``kanari`` command gives for the same failure; ``message`` is
    the library's message (the CLI's error text), also ``str(error)``."""

    status: int
    message: str

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status}, message={self.message!r})"


class UsageError(KanariError, ValueError):
    """Status 2: an invalid argument or input (a bad key, track, task,
    metric name, outcome); nothing was written."""


class OperationalError(KanariError):
    """Status 3: an I/O or database failure, a missing store, a library that
    cannot be loaded, a closed Store."""


class NotFoundError(KanariError, LookupError):
    """Status 4: an unknown or ambiguous version reference, an unknown
    component name, a track without a stable version."""


class ConflictError(KanariError):
    """Status 5: not allowed in the current state."""


_BY_STATUS = {2: UsageError, 3: OperationalError, 4: NotFoundError, 5: ConflictError}


def error_for(status: int, message: str) -> KanariError:
    """The exception for a failing status (KanariError for an unknown one)."""
    return _BY_STATUS.get(status, KanariError)(status, message)
