"""The values the Store methods take and return."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Dict, List, Literal, Mapping, Optional, Union

# "previous" only for a session: a version that is neither arm now (an old
# stable after a promotion, a rolled-back canary draining).
Arm = Literal["stable", "canary", "previous"]


@dataclass(frozen=True)
class Route:
    """Which version serves a key (``kanari route --key K``).

    ``version`` is the full id (64 hex characters) of the version to run;
    ``arm`` says whether it is the track's stable or the open rollout's
    canary. ``bucket`` is the key's bucket (0-9999) and ``canary`` the open
    rollout's canary id, both None when no rollout is open. ``shadow`` is
    True when the rollout's current step is a shadow step that wants this
    task mirrored to the canary as well.
    """

    version: str
    arm: Arm
    bucket: Optional[int]
    shadow: bool
    canary: Optional[str]

    @property
    def is_canary(self) -> bool:
        return self.arm == "canary"


@dataclass(frozen=True)
class SessionRoute(Route):
    """Which version serves a session (``kanari route --session ID``): the
    version it is pinned to, for its lifetime (docs/routing.md, "Sessions").

    ``pinned`` is True when this call pinned it (a new, ended or expired
    session). ``moved`` is True when a rollback moved it from ``moved_from``
    to the stable: the conversation's context and memory belong to the old
    version, so start it over. ``draining`` is True while it stays on a
    rolled-back canary until ``drain_until_ms``. ``requests`` counts its
    requests since it was pinned; idle past ``expires_at_ms`` it is over.
    Times are milliseconds since the Unix epoch.
    """

    session: str = ""
    pinned: bool = False
    moved: bool = False
    moved_from: Optional[str] = None
    draining: bool = False
    requests: int = 0
    expires_at_ms: int = 0
    drain_until_ms: Optional[int] = None


@dataclass
class Outcome:
    """One task's outcome, as ``record`` takes it (``kanari record``).

    ``version`` is any reference (full id, a unique prefix of 4 or more hex
    characters, "stable", "canary"); None uses the version the task was
    routed to with ``route(key, task=...)``. ``at`` is when the task
    finished: an aware datetime or milliseconds since the Unix epoch (None:
    now). ``metrics`` are the outcome's own measurements for metric gates:
    at most 32 names matching ``[a-z][a-z0-9_]{0,63}``, finite numbers.
    """

    task: str
    passed: bool
    version: Optional[str] = None
    track: Optional[str] = None
    latency_ms: Optional[float] = None
    cost: Optional[float] = None
    tokens: Optional[int] = None
    score: Optional[float] = None
    error: Optional[str] = None
    at: Union[datetime, int, None] = None
    metrics: Optional[Mapping[str, float]] = None


@dataclass(frozen=True)
class RecordSummary:
    """What a record call stored. A repeat of an outcome with the same fields
    is a duplicate (skipped: retries are safe); a repeat with different
    fields is a conflict (not stored: the first write wins). Neither is an
    error."""

    inserted: int
    duplicates: int
    conflicts: int

    def __add__(self, other: "RecordSummary") -> "RecordSummary":
        return RecordSummary(
            self.inserted + other.inserted, self.duplicates + other.duplicates, self.conflicts + other.conflicts
        )


@dataclass(frozen=True)
class Evaluation:
    """The gate's verdict for a track (``kanari canary evaluate --json``).

    ``verdict`` is one of PROMOTE, HOLD, ROLLBACK, INSUFFICIENT_DATA,
    AWAITING_APPROVAL, NO_CANARY; ``applied`` says whether it was performed
    (``apply=True``); ``data`` is the whole JSON object the CLI prints
    (verdict, applied, action, canary, stable, reasons, evidence, ...).
    """

    verdict: str
    applied: bool
    data: Dict[str, Any] = field(repr=False)

    @property
    def reasons(self) -> List[str]:
        return list(self.data.get("reasons", []))


_VARIABLE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


@dataclass(frozen=True)
class Prompt:
    """A prompt of a version, with the version's model configuration, as
    ``Store.get_prompt`` returns it.

    ``name`` is the component name, ``text`` its content, ``version`` the
    version it came from (the routed full id when fetched by key, the
    reference as given when fetched by ``version=``) and ``config`` the
    version's model configuration
    (the JSON object of ``version add --config/--model/--param``). ``route``
    is the routing decision when the prompt was fetched by key, else None.
    """

    name: str
    text: str
    version: str
    config: Dict[str, Any] = field(repr=False)
    route: Optional[Route] = None

    def compile(self, **variables: Any) -> str:
        """The text with each ``{{name}}`` (spaces inside the braces allowed)
        replaced by ``str(variables[name])``; placeholders without a value
        are left as they are."""

        def sub(m: "re.Match[str]") -> str:
            name = m.group(1)
            return str(variables[name]) if name in variables else m.group(0)

        return _VARIABLE.sub(sub, self.text)

    def __str__(self) -> str:
        return self.text
