"""Sessions (docs/routing.md, "Sessions"): pinned for their lifetime, cut by
a rollback with ``moved``, recorded against their pin, ended; the same pins
the CLI shows."""

from __future__ import annotations

import pytest

import kanari
from conftest import Setup


def _find(store: kanari.Store, arm: str) -> str:
    for i in range(1000):
        s = f"conv-{arm}-{i}"
        if store.route_session(s).arm == arm:
            return s
    raise AssertionError(f"no session routed to {arm}")


def test_a_session_keeps_its_version_and_the_cli_sees_the_pin(setup: Setup):
    with kanari.Store(setup.state) as store:
        first = store.route_session("conv-1")
        assert isinstance(first, kanari.SessionRoute)
        assert first.pinned and not first.moved and first.requests == 1
        assert first.session == "conv-1"
        for turn in (2, 3):
            again = store.route_session("conv-1")
            assert again.version == first.version
            assert not again.pinned and again.requests == turn
        shown = setup.cli_json("session", "show", "conv-1")
        assert shown["version"] == first.version
        assert shown["requests"] == 3
        assert shown["arm"] == first.arm


def test_a_rollback_moves_a_canary_session_once(setup: Setup):
    with kanari.Store(setup.state) as store:
        s = _find(store, "canary")
        setup.cli("canary", "rollback")
        moved = store.route_session(s)
        assert moved.moved and moved.moved_from == setup.canary
        assert moved.version == setup.stable and moved.arm == "stable"
        assert not store.route_session(s).moved


def test_record_and_get_prompt_by_session(setup: Setup):
    with kanari.Store(setup.state) as store:
        s = _find(store, "canary")
        p = store.get_prompt("system.md", session=s)
        assert p.version == setup.canary
        assert isinstance(p.route, kanari.SessionRoute) and p.route.requests == 2
        assert store.record("py-session-task", True, session=s).inserted == 1
        assert setup.cli_json("canary", "status")["canary_stats"]["n"] == 1
        with pytest.raises(kanari.NotFoundError):
            store.record("py-task-2", True, session="never-routed")
        with pytest.raises(kanari.UsageError):
            store.record("py-task-3", True, session=s, version="stable")
        with pytest.raises(kanari.UsageError):
            store.get_prompt("system.md", session=s, key="k")


def test_end_session_and_bad_ids(setup: Setup):
    with kanari.Store(setup.state) as store:
        store.route_session("to-end")
        store.end_session("to-end")
        assert setup.cli_json("session", "show", "to-end")["state"] == "ended"
        assert store.route_session("to-end").pinned
        with pytest.raises(kanari.NotFoundError):
            store.end_session("never-routed")
        for bad in ("", "x" * 257, "a\x00b"):
            with pytest.raises(kanari.UsageError):
                store.route_session(bad)
        listed = setup.cli_json("session", "list")
        assert {s["session"] for s in listed} == {"to-end"}
        assert listed[0]["requests"] == 1
