"""Store: one open kanari store, one libkanari handle."""

from __future__ import annotations

import ctypes
import json
import math
import os
import re
import threading
from collections import OrderedDict
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Callable, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

from . import _lib
from ._errors import OperationalError, UsageError, error_for
from ._types import Arm, Evaluation, Outcome, Prompt, RecordSummary, Route, SessionRoute

_FULL_ID = re.compile(r"[0-9a-f]{64}")
_OUTCOME_KEYS = {f for f in Outcome.__dataclass_fields__}


def _text(value: Optional[str], what: str) -> Optional[bytes]:
    """A str argument as the NUL-terminated UTF-8 the C API takes."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise UsageError(_lib.USAGE, f"{what} must be a str, not {type(value).__name__}")
    if "\0" in value:
        raise UsageError(_lib.USAGE, f"{what} contains a NUL character")
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError as e:
        raise UsageError(_lib.USAGE, f"{what} is not valid UTF-8 ({e.reason})") from None


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise UsageError(_lib.USAGE, f"{what} must be a number, not {type(value).__name__}")
    try:
        return float(value)
    except OverflowError:
        raise UsageError(_lib.USAGE, f"{what} {value} is beyond the range of a double") from None


_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def _integer(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise UsageError(_lib.USAGE, f"{what} must be an integer, not {type(value).__name__}")
    # ctypes would cut a larger int to its low 64 bits without a word.
    if not _INT64_MIN <= value <= _INT64_MAX:
        raise UsageError(_lib.USAGE, f"{what} {value} does not fit in 64 bits")
    return value


def _at_ms(at: Union[datetime, int]) -> int:
    if isinstance(at, datetime):
        if at.tzinfo is None or at.utcoffset() is None:
            raise UsageError(_lib.USAGE, "at is a naive datetime; give it a timezone (e.g. timezone.utc)")
        return math.floor(at.timestamp() * 1000)
    return _integer(at, "at (milliseconds since the Unix epoch)")


def _as_outcome(item: Union[Outcome, Mapping[str, Any]], where: str) -> Outcome:
    if isinstance(item, Outcome):
        return item
    if not isinstance(item, Mapping):
        raise TypeError(f"{where}must be an Outcome or a mapping, not {type(item).__name__}")
    fields = dict(item)
    if "pass" in fields and "passed" not in fields:  # the JSON Lines spelling
        fields["passed"] = fields.pop("pass")
    unknown = sorted(set(fields) - _OUTCOME_KEYS)
    if unknown:
        raise UsageError(_lib.USAGE, f"{where}unknown key(s) {', '.join(map(repr, unknown))}")
    missing = [k for k in ("task", "passed") if k not in fields]
    if missing:
        raise UsageError(_lib.USAGE, f"{where}missing {' and '.join(missing)}")
    return Outcome(**fields)


def _fill(c: _lib.Outcome, o: Outcome, keep: List[Any]) -> None:
    """Fills the C outcome `c` from `o`; `keep` holds what it points to."""
    if not isinstance(o.passed, bool):
        raise UsageError(_lib.USAGE, f"passed must be a bool, not {type(o.passed).__name__}")
    strings = [_text(o.track, "track"), _text(o.task, "task"), _text(o.version, "version"), _text(o.error, "error")]
    keep.extend(strings)
    c.track, c.task, c.version, c.error = strings
    c.pass_ = 1 if o.passed else 0
    has = 0
    if o.latency_ms is not None:
        c.latency_ms, has = _number(o.latency_ms, "latency_ms"), has | _lib.HAS_LATENCY_MS
    if o.cost is not None:
        c.cost, has = _number(o.cost, "cost"), has | _lib.HAS_COST
    if o.tokens is not None:
        c.tokens, has = _integer(o.tokens, "tokens"), has | _lib.HAS_TOKENS
    if o.score is not None:
        c.score, has = _number(o.score, "score"), has | _lib.HAS_SCORE
    if o.at is not None:
        c.at_ms, has = _at_ms(o.at), has | _lib.HAS_AT
    c.has = has
    if o.metrics:
        if not isinstance(o.metrics, Mapping):
            raise UsageError(_lib.USAGE, f"metrics must be a mapping of names to numbers, not {type(o.metrics).__name__}")
        # A bool is a number here: `escalated=True` is the metric 1.
        items = [(_text(k, "metric name"), float(v) if isinstance(v, bool) else _number(v, f"metric {k!r}"))
                 for k, v in o.metrics.items()]
        array = (_lib.Metric * len(items))(*[_lib.Metric(k, v) for k, v in items])
        keep.extend((items, array))
        c.metrics = array
        c.n_metrics = len(items)


def _summary(s: _lib.RecordSummary) -> RecordSummary:
    return RecordSummary(int(s.inserted), int(s.duplicates), int(s.conflicts))


def _route(r: _lib.RouteDecision) -> Route:
    canary = r.canary.decode("ascii")
    return Route(
        version=r.version.decode("ascii"),
        arm="canary" if r.arm == _lib.ARM_CANARY else "stable",
        bucket=None if r.bucket < 0 else int(r.bucket),
        shadow=bool(r.shadow),
        canary=canary or None,
    )


def _session_route(r: _lib.SessionRoute, session: str) -> SessionRoute:
    d = r.decision
    arm: Arm = "canary" if d.arm == _lib.ARM_CANARY else "previous" if d.arm == _lib.ARM_PREVIOUS else "stable"
    return SessionRoute(
        version=d.version.decode("ascii"),
        arm=arm,
        bucket=None if d.bucket < 0 else int(d.bucket),
        shadow=bool(d.shadow),
        canary=d.canary.decode("ascii") or None,
        session=session,
        pinned=bool(r.pinned),
        moved=bool(r.moved),
        moved_from=r.moved_from.decode("ascii") or None,
        draining=bool(r.draining),
        requests=int(r.requests),
        expires_at_ms=int(r.expires_at_ms),
        drain_until_ms=int(r.drain_until_ms) if r.draining else None,
    )


class Store:
    """An open kanari store: the directory holding kanari.db (the CLI's
    ``--state``, usually ``.kanari``) or a ``postgresql://`` URI.

    ``actor`` is recorded in the events this Store writes (None:
    "unknown"); ``create=True`` creates a missing store as ``kanari init``
    does, otherwise a missing store raises OperationalError.
    ``route_cache_ms`` lets ``route`` reuse a track's routing table for that
    long (0, the default, reads it on every call, so a route reflects the
    rollout as committed by any process a moment before).

    Use it as a context manager, or call ``close()``::

        with kanari.Store(".kanari", actor="my-runtime") as store:
            r = store.route("user-42", task="t-981")
            ...
            store.record("t-981", True, latency_ms=840.0)

    Threads may share one Store: the library runs calls on one handle one at
    a time (open a Store per thread to run them in parallel). ``close()``
    waits for calls in progress in other threads and makes later calls raise
    OperationalError. Processes each open their own Store on the same
    location; the store's own locking keeps their writes apart.

    Versions are immutable and named by the hash of their content, so the
    bytes of components read by full version id are cached in the Store (at
    most ``cache_size`` components and 64 MiB; 0 disables the cache). Reads
    through a prefix, "stable" or "canary" always ask the store, since what
    they name changes.
    """

    _CACHE_BYTES = 64 << 20

    def __init__(
        self,
        location: Union[str, "os.PathLike[str]"],
        *,
        actor: Optional[str] = None,
        create: bool = False,
        route_cache_ms: int = 0,
        cache_size: int = 256,
    ) -> None:
        self._lib = _lib.load()
        self._handle: Optional[int] = None
        self._cond = threading.Condition()
        self._active = 0
        self._closing = False
        # (full id, component name), or (full id, None) for the model JSON.
        self._cache: "OrderedDict[Tuple[str, Optional[str]], bytes]" = OrderedDict()
        self._cache_bytes = 0
        self._cache_size = max(0, int(cache_size))
        self.location = os.fspath(location)
        if not isinstance(self.location, str):
            raise TypeError("location must be a str or an os.PathLike of str")
        handle = ctypes.c_void_p()
        st = self._lib.kanari_open(
            _text(self.location, "location"),
            _text(actor, "actor"),
            _lib.OPEN_CREATE if create else 0,
            ctypes.byref(handle),
        )
        if st != _lib.OK:
            raise error_for(st, self._message(None))
        self._handle = handle.value
        if route_cache_ms:
            self._check(self._lib.kanari_set_route_cache_ms(self._handle, int(route_cache_ms)))

    # ---- lifetime ---------------------------------------------------------

    def close(self) -> None:
        """Closes the store. Waits for calls other threads have in progress;
        any later call raises OperationalError. Closing twice is allowed."""
        with self._cond:
            if self._handle is None:
                return
            self._closing = True
            while self._active:
                self._cond.wait()
            handle, self._handle = self._handle, None
        self._lib.kanari_close(handle)

    @property
    def closed(self) -> bool:
        return self._handle is None or self._closing

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    def __repr__(self) -> str:
        # A postgresql:// URI may carry a password: never shown.
        shown = re.sub(r"^([a-z]+://[^:/@]*):[^@/]*@", r"\1:***@", self.location)
        return f"<kanari.Store {shown!r}{' closed' if self.closed else ''}>"

    @contextmanager
    def _call(self) -> Iterator[int]:
        with self._cond:
            if self._handle is None or self._closing:
                raise OperationalError(_lib.OPERATIONAL, "the Store is closed")
            self._active += 1
            handle = self._handle
        try:
            yield handle
        finally:
            with self._cond:
                self._active -= 1
                if not self._active:
                    self._cond.notify_all()

    def _message(self, handle: Optional[int]) -> str:
        text: Optional[bytes] = self._lib.kanari_last_error(handle)
        return text.decode("utf-8", "replace") if text else ""

    def _check(self, status: int, handle: Optional[int] = None, ok: Sequence[int] = (_lib.OK,)) -> int:
        # kanari_last_error is per thread: read on the thread that made the call.
        if status not in ok:
            raise error_for(status, self._message(handle if handle is not None else self._handle))
        return status

    # ---- routing ------------------------------------------------------------

    def route(self, key: str, *, track: Optional[str] = None, task: Optional[str] = None) -> Route:
        """Which version serves ``key`` (non-empty UTF-8) on ``track`` (None:
        "default") now, as ``kanari route --key KEY``. A key stays on its
        version while the rollout runs (sticky routing); the bucket is the
        published SHA-256 of the rollout's salt and the key.

        With ``task``, the assignment is remembered, so ``record(task, ...)``
        needs no version. Raises NotFoundError when the track has no stable
        version, UsageError for an empty or invalid key or track."""
        k, t, tk = _text(key, "key"), _text(track, "track"), _text(task, "task")
        out = _lib.RouteDecision()
        with self._call() as h:
            self._check(self._lib.kanari_route(h, t, k, tk, ctypes.byref(out)), h)
        return _route(out)

    def route_many(self, keys: Sequence[str], *, track: Optional[str] = None) -> List[Route]:
        """Routes many keys against one read of the routing table (``kanari
        route --keys``), at hashing speed. The i-th result is for keys[i]."""
        if isinstance(keys, (str, bytes)):
            raise TypeError("keys must be a sequence of str, not a single string")
        encoded = [_text(k, "key") for k in keys]
        if not encoded:
            return []
        array = (ctypes.c_char_p * len(encoded))(*encoded)
        out = (_lib.RouteDecision * len(encoded))()
        t = _text(track, "track")
        with self._call() as h:
            self._check(self._lib.kanari_route_many(h, t, array, len(encoded), out), h)
        return [_route(r) for r in out]

    def route_session(self, session: str, *, track: Optional[str] = None, task: Optional[str] = None) -> SessionRoute:
        """Which version serves ``session`` (a conversation's id, 1 to 256
        bytes of UTF-8) on ``track``, as ``kanari route --session ID``: routed
        like a key on its first request, then pinned to that version for
        its lifetime, whatever the percentage or a promotion does, until
        ``end_session`` or idle past the policy's ``session_ttl_seconds``.

        When the result's ``moved`` is True a rollback took the session off
        its canary: start the conversation over on the new version (its
        memory, tool state and context format belong to ``moved_from``).
        With ``task``, the assignment is remembered for ``record(task, ...)``.
        Every call writes (the pin's expiry and request count)."""
        s, t, tk = _text(session, "session"), _text(track, "track"), _text(task, "task")
        route_session = self._function("kanari_route_session")
        out = _lib.SessionRoute()
        with self._call() as h:
            self._check(route_session(h, t, s, tk, ctypes.byref(out)), h)
        return _session_route(out, session)

    def end_session(self, session: str, *, track: Optional[str] = None) -> None:
        """Ends ``session`` (``kanari session end ID``): its next route pins it
        afresh. Raises NotFoundError when it was never routed; ending an
        ended or expired session does nothing."""
        s, t = _text(session, "session"), _text(track, "track")
        end = self._function("kanari_session_end")
        with self._call() as h:
            self._check(end(h, t, s), h)

    # ---- the outcome ledger ---------------------------------------------------

    def record(
        self,
        task: str,
        passed: bool,
        *,
        version: Optional[str] = None,
        track: Optional[str] = None,
        latency_ms: Optional[float] = None,
        cost: Optional[float] = None,
        tokens: Optional[int] = None,
        score: Optional[float] = None,
        error: Optional[str] = None,
        at: Union[datetime, int, None] = None,
        metrics: Optional[Mapping[str, float]] = None,
        session: Optional[str] = None,
    ) -> RecordSummary:
        """Stores one outcome (``kanari record``); the fields are those of
        ``Outcome``. The arm is derived from the version: without
        ``version``, the one ``route(..., task=task)`` assigned, or with
        ``session`` the version the session is pinned to (``kanari record
        --session``; not with ``version``).

        A repeat with the same fields counts as a duplicate, one with
        different fields as a conflict (first write wins); neither raises.
        Raises UsageError for invalid input (nothing is stored), NotFoundError
        for an unknown version."""
        o = Outcome(task, passed, version, track, latency_ms, cost, tokens, score, error, at, metrics)
        keep: List[Any] = []
        c = _lib.Outcome()
        _fill(c, o, keep)
        s = _lib.RecordSummary()
        if session is not None:
            pinned = _text(session, "session")
            record_session = self._function("kanari_record_session")
            with self._call() as h:
                self._check(record_session(h, ctypes.byref(c), pinned, ctypes.byref(s)), h)
            return _summary(s)
        with self._call() as h:
            self._check(self._lib.kanari_record(h, ctypes.byref(c), ctypes.byref(s)), h)
        return _summary(s)

    def record_many(self, outcomes: Iterable[Union[Outcome, Mapping[str, Any]]]) -> RecordSummary:
        """Stores many outcomes in one transaction: all or nothing. Each is an
        ``Outcome`` or a mapping with its fields (``pass`` may stand for
        ``passed``, as in ``record --jsonl``). An invalid outcome stores
        nothing and raises UsageError naming its index (``outcome 3: ...``,
        counting from 0)."""
        items = list(outcomes)
        array = (_lib.Outcome * len(items))()
        keep: List[Any] = []
        for i, item in enumerate(items):
            try:
                _fill(array[i], _as_outcome(item, f"outcome {i}: "), keep)
            except UsageError as e:
                if e.message.startswith(f"outcome {i}: "):
                    raise
                raise UsageError(e.status, f"outcome {i}: {e.message}") from None
        s = _lib.RecordSummary()
        with self._call() as h:
            if items:
                self._check(self._lib.kanari_record_batch(h, array, len(items), ctypes.byref(s)), h)
        return _summary(s)

    # ---- gates -------------------------------------------------------------------

    def evaluate(self, track: Optional[str] = None, *, apply: bool = False) -> Evaluation:
        """The gate's verdict for ``track`` (None: "default"), as ``kanari
        canary evaluate --json``; with ``apply=True`` the verdict is
        performed (promote, roll back) as ``--apply`` does. A ROLLBACK is a
        verdict, not an exception (the CLI exits 1 for it)."""
        t = _text(track, "track")
        verdict = ctypes.c_int(-1)
        text = ctypes.c_void_p()
        with self._call() as h:
            self._check(
                self._lib.kanari_evaluate(
                    h, t, _lib.EVALUATE_APPLY if apply else 0, ctypes.byref(verdict), ctypes.byref(text)
                ),
                h,
                ok=(_lib.OK, _lib.NEGATIVE),
            )
        try:
            data = json.loads(ctypes.string_at(text).decode("utf-8"))
        finally:
            self._lib.kanari_free(text)
        return Evaluation(verdict=data["verdict"], applied=bool(data.get("applied", False)), data=data)

    # ---- versions --------------------------------------------------------------

    def component(self, version: str, name: str) -> bytes:
        """The exact bytes of component ``name`` (e.g. "system.md",
        "roles/backend.md"; "model.json" is the canonical model JSON) of
        ``version`` (a full id, a unique prefix of 4+ hex characters, or
        "stable"/"canary" of the default track), as ``kanari version cat``.

        Raises NotFoundError for an unknown version or name (the message
        lists the version's components). Cached by full id (see Store)."""
        return self._cached(version, name, lambda: self._fetch(version, name))

    def _cached(self, version: str, name: Optional[str], fetch: Callable[[], bytes]) -> bytes:
        """fetch(), cached under (version, name) when version is a full id
        (name None: the model configuration)."""
        cacheable = self._cache_size > 0 and isinstance(version, str) and _FULL_ID.fullmatch(version) is not None
        if cacheable:
            with self._cond:
                data = self._cache.get((version, name))
                if data is not None:
                    self._cache.move_to_end((version, name))
                    return data
        data = fetch()
        if cacheable and len(data) <= self._CACHE_BYTES:
            with self._cond:
                if (version, name) not in self._cache:
                    self._cache[(version, name)] = data
                    self._cache_bytes += len(data)
                    while len(self._cache) > self._cache_size or self._cache_bytes > self._CACHE_BYTES:
                        _, old = self._cache.popitem(last=False)
                        self._cache_bytes -= len(old)
        return data

    def _function(self, name: str) -> Any:
        if not hasattr(self._lib, name):
            raise OperationalError(
                _lib.OPERATIONAL, f"the loaded libkanari ({self._lib._name}) has no {name}: install kanari 0.2.0 or newer"
            )
        return getattr(self._lib, name)

    def _fetch(self, version: str, name: str) -> bytes:
        v, n = _text(version, "version"), _text(name, "component name")
        component = self._function("kanari_component")
        data = ctypes.c_void_p()
        size = ctypes.c_size_t()
        with self._call() as h:
            self._check(component(h, v, n, ctypes.byref(data), ctypes.byref(size)), h)
        try:
            return ctypes.string_at(data, size.value) if size.value else b""
        finally:
            self._lib.kanari_free(data)

    def _fetch_model(self, version: str) -> bytes:
        v = _text(version, "version")
        model = self._function("kanari_model")
        text = ctypes.c_void_p()
        with self._call() as h:
            self._check(model(h, v, ctypes.byref(text)), h)
        try:
            return ctypes.string_at(text)
        finally:
            self._lib.kanari_free(text)

    def prompt(self, version: str, name: str) -> str:
        """Component ``name`` of ``version`` as text (UTF-8), e.g. a system
        prompt. Raises UsageError when the bytes are not UTF-8 (read them
        with ``component``)."""
        data = self.component(version, name)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise UsageError(
                _lib.USAGE, f"component '{name}' of {version} is not UTF-8 text ({e.reason} at byte {e.start}); "
                "read its bytes with component()"
            ) from None

    def model(self, version: str) -> Dict[str, Any]:
        """The model configuration of ``version`` (the JSON object given to
        ``version add`` with --config/--model/--param) as a new dict.
        Cached by full id like ``component``."""
        # Cached beside the components under the name None, which no
        # component has.
        config: Dict[str, Any] = json.loads(self._cached(version, None, lambda: self._fetch_model(version)))
        return config

    def get_prompt(
        self,
        name: str,
        *,
        key: Optional[str] = None,
        version: Optional[str] = None,
        track: Optional[str] = None,
        task: Optional[str] = None,
        session: Optional[str] = None,
    ) -> Prompt:
        """Prompt ``name`` with its model configuration, from the version
        that serves ``key`` now (routed as ``route(key, track=, task=)``: the
        result's ``route`` says which arm) or from an explicit ``version``
        (a full id or a unique prefix; "stable"/"canary" are refused, since
        text and configuration are two reads: route by key to follow them).
        With ``session`` instead, from the version the session is pinned to
        (``route_session``; the result's ``route.moved`` says when a rollback
        moved it). Give exactly one of ``key``, ``session`` and ``version``.

            p = store.get_prompt("system.md", key=user_id, task=task_id)
            reply = llm(system=p.compile(user=name), **p.config)
            store.record(task_id, ok)        # the routed version, remembered
        """
        if sum(x is not None for x in (key, version, session)) != 1:
            raise UsageError(_lib.USAGE, "get_prompt needs exactly one of key=, session= and version=")
        if version in ("stable", "canary"):
            # Text and configuration are two reads; a promotion between them
            # would mix two versions. Routing names one full id.
            raise UsageError(
                _lib.USAGE, f"get_prompt(version='{version}') could mix two versions; route by key= "
                "(which follows the stable and the canary), or give a version id"
            )
        route: Optional[Route] = None
        if key is not None:
            route = self.route(key, track=track, task=task)
            version = route.version
        elif session is not None:
            route = self.route_session(session, track=track, task=task)
            version = route.version
        assert version is not None
        # By key the version is a full id: a second read hits the cache.
        return Prompt(name=name, text=self.prompt(version, name), version=version, config=self.model(version),
                      route=route)
