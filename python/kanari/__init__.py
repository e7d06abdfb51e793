"""kanari: versioned prompts and canary rollouts with quality gates, from Python.

A thin, typed wrapper over libkanari (the library behind the ``kanari``
command): the same store, the same routing and gates, in-process::

    import kanari

    with kanari.Store(".kanari", actor="my-runtime") as store:
        p = store.get_prompt("system.md", key="user-42", task="t-981")
        ...                                  # run the task with p.text, p.config
        store.record("t-981", True, latency_ms=840.0, metrics={"tool_calls": 3})
        print(store.evaluate().verdict)

Failures raise KanariError subclasses whose ``status`` is the CLI's exit
code for the same failure: UsageError (2), OperationalError (3),
NotFoundError (4), ConflictError (5).
"""

from ._errors import ConflictError, KanariError, NotFoundError, OperationalError, UsageError
from ._store import Store
from ._types import Arm, Evaluation, Outcome, Prompt, RecordSummary, Route, SessionRoute

__version__ = "0.2.0"

__all__ = [
    "Arm",
    "ConflictError",
    "Evaluation",
    "KanariError",
    "NotFoundError",
    "OperationalError",
    "Outcome",
    "Prompt",
    "RecordSummary",
    "Route",
    "SessionRoute",
    "Store",
    "UsageError",
    "library_version",
]


def library_version() -> str:
    """The version of the loaded libkanari, e.g. "0.2.0"."""
    from . import _lib

    version: bytes = _lib.load().kanari_version()
    return version.decode("ascii")
