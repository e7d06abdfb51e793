"""Finding and loading libkanari, and the C declarations of its API.

The structs mirror include/kanari/kanari.h of ABI 1 (libkanari.so.1) field
for field; a change there bumps the SONAME, and this module loads the SONAME
it was written for.

Where the library comes from, first match wins:

1. the environment variable ``KANARI_LIBRARY`` (a path to libkanari.so);
2. the path ``cmake --install`` recorded next to this file (``_paths.py``);
3. the dynamic linker's search path: ``libkanari.so.1``, then whatever
   ``ctypes.util.find_library("kanari")`` finds.

ctypes releases the GIL around every foreign call, so threads of one
process call into the library in parallel (the library serialises calls on
one handle itself).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import importlib
import os
import threading
from typing import Optional

ABI = 1
ID_SIZE = 65

# kanari_status: the CLI's exit codes.
OK, NEGATIVE, USAGE, OPERATIONAL, NOT_FOUND, CONFLICT = 0, 1, 2, 3, 4, 5
ARM_CANARY = 1
ARM_PREVIOUS = 2
HAS_LATENCY_MS, HAS_COST, HAS_TOKENS, HAS_SCORE, HAS_AT = 1, 2, 4, 8, 16
OPEN_CREATE = 1
EVALUATE_APPLY = 1
VERDICTS = ("PROMOTE", "HOLD", "ROLLBACK", "INSUFFICIENT_DATA", "AWAITING_APPROVAL", "NO_CANARY")


class RouteDecision(ctypes.Structure):
    _fields_ = [
        ("version", ctypes.c_char * ID_SIZE),
        ("arm", ctypes.c_int),
        ("bucket", ctypes.c_int32),
        ("shadow", ctypes.c_int),
        ("canary", ctypes.c_char * ID_SIZE),
    ]


class SessionRoute(ctypes.Structure):
    _fields_ = [
        ("decision", RouteDecision),
        ("pinned", ctypes.c_int),
        ("moved", ctypes.c_int),
        ("moved_from", ctypes.c_char * ID_SIZE),
        ("draining", ctypes.c_int),
        ("requests", ctypes.c_int64),
        ("expires_at_ms", ctypes.c_int64),
        ("drain_until_ms", ctypes.c_int64),
    ]


class Metric(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("value", ctypes.c_double)]


class Outcome(ctypes.Structure):
    _fields_ = [
        ("track", ctypes.c_char_p),
        ("task", ctypes.c_char_p),
        ("version", ctypes.c_char_p),
        ("pass_", ctypes.c_int),
        ("has", ctypes.c_uint),
        ("latency_ms", ctypes.c_double),
        ("cost", ctypes.c_double),
        ("tokens", ctypes.c_int64),
        ("score", ctypes.c_double),
        ("at_ms", ctypes.c_int64),
        ("error", ctypes.c_char_p),
        ("metrics", ctypes.POINTER(Metric)),
        ("n_metrics", ctypes.c_size_t),
    ]


class RecordSummary(ctypes.Structure):
    _fields_ = [
        ("inserted", ctypes.c_int64),
        ("duplicates", ctypes.c_int64),
        ("conflicts", ctypes.c_int64),
        ("invalid", ctypes.c_int64),
    ]


def _declare(lib: ctypes.CDLL) -> None:
    P, S, C = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int
    # Strings the caller frees (JSON, component bytes) come back through a
    # void** so that ctypes hands over the pointer rather than a copy.
    PP = ctypes.POINTER(P)
    lib.kanari_version.argtypes, lib.kanari_version.restype = [], S
    lib.kanari_last_error.argtypes, lib.kanari_last_error.restype = [P], S
    lib.kanari_free.argtypes, lib.kanari_free.restype = [P], None
    lib.kanari_open.argtypes, lib.kanari_open.restype = [S, S, ctypes.c_uint, PP], C
    lib.kanari_close.argtypes, lib.kanari_close.restype = [P], None
    lib.kanari_set_route_cache_ms.argtypes, lib.kanari_set_route_cache_ms.restype = [P, ctypes.c_int64], C
    lib.kanari_route.argtypes = [P, S, S, S, ctypes.POINTER(RouteDecision)]
    lib.kanari_route.restype = C
    lib.kanari_route_many.argtypes = [P, S, ctypes.POINTER(S), ctypes.c_size_t, ctypes.POINTER(RouteDecision)]
    lib.kanari_route_many.restype = C
    lib.kanari_record.argtypes = [P, ctypes.POINTER(Outcome), ctypes.POINTER(RecordSummary)]
    lib.kanari_record.restype = C
    lib.kanari_record_batch.argtypes = [P, ctypes.POINTER(Outcome), ctypes.c_size_t, ctypes.POINTER(RecordSummary)]
    lib.kanari_record_batch.restype = C
    lib.kanari_evaluate.argtypes = [P, S, ctypes.c_uint, ctypes.POINTER(C), PP]
    lib.kanari_evaluate.restype = C
    # Added within ABI 1: an older libkanari.so.1 lacks them, and the
    # methods that need them say so.
    if hasattr(lib, "kanari_component"):
        lib.kanari_component.argtypes = [P, S, S, PP, ctypes.POINTER(ctypes.c_size_t)]
        lib.kanari_component.restype = C
    if hasattr(lib, "kanari_model"):
        lib.kanari_model.argtypes = [P, S, PP]
        lib.kanari_model.restype = C
    if hasattr(lib, "kanari_route_session"):  # ABI 1.2
        lib.kanari_route_session.argtypes = [P, S, S, S, ctypes.POINTER(SessionRoute)]
        lib.kanari_route_session.restype = C
        lib.kanari_session_end.argtypes = [P, S, S]
        lib.kanari_session_end.restype = C
        lib.kanari_record_session.argtypes = [P, ctypes.POINTER(Outcome), S, ctypes.POINTER(RecordSummary)]
        lib.kanari_record_session.restype = C


def _candidates() -> list[str]:
    env = os.environ.get("KANARI_LIBRARY")
    if env:
        return [env]
    found: list[str] = []
    try:
        # Written by `cmake --install`; absent from a source tree.
        found.append(importlib.import_module(f"{__package__}._paths").LIBRARY)
    except ImportError:
        pass
    found.append(f"libkanari.so.{ABI}")
    name = ctypes.util.find_library("kanari")
    if name:
        found.append(name)
    return found


_lock = threading.Lock()
_lib: Optional[ctypes.CDLL] = None


def load() -> ctypes.CDLL:
    """The loaded library (loaded once per process)."""
    global _lib
    with _lock:
        if _lib is None:
            tried = []
            for path in _candidates():
                try:
                    lib = ctypes.CDLL(path)
                except OSError as e:
                    tried.append(f"{path}: {e}")
                    continue
                # kanari_component came last (ABI 1.1): a library without it
                # is older than the structs declared here (libkanari.so.0
                # has no outcome metrics) or not libkanari at all.
                if not hasattr(lib, "kanari_component"):
                    tried.append(f"{path}: has no kanari_component, so it is not libkanari 0.2.0 or newer")
                    continue
                _declare(lib)
                _lib = lib
                break
            else:
                from ._errors import OperationalError

                raise OperationalError(
                    OPERATIONAL,
                    "cannot load libkanari (" + "; ".join(tried) + "); install kanari with `cmake --install`, "
                    "or set KANARI_LIBRARY to the path of libkanari.so",
                )
        return _lib
