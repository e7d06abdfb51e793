"""Store: opening, closing, errors, routing and recording against the CLI."""

from __future__ import annotations

import hashlib
import os
import json
from datetime import datetime, timedelta, timezone

import pytest

import kanari
from conftest import Setup, keys, run_cli


# ---- opening, closing, errors ------------------------------------------------


def test_library_version_is_the_package_version():
    assert kanari.library_version() == kanari.__version__


def test_missing_store_is_operational_with_the_library_message(tmp_path):
    with pytest.raises(kanari.OperationalError) as e:
        kanari.Store(tmp_path / "nowhere")
    assert e.value.status == 3
    assert e.value.message == str(e.value)
    assert "nowhere" in e.value.message
    assert not (tmp_path / "nowhere").exists()


def test_create_makes_a_store_the_cli_reads(location: str):
    state = location
    with kanari.Store(state, create=True, actor="py") as store:
        # No version yet: the track has no stable.
        with pytest.raises(kanari.NotFoundError) as e:
            store.route("user-1")
        assert e.value.status == 4
        assert "no stable version" in e.value.message
    assert json.loads(run_cli(state, "track", "list", "--json").stdout) == []


def test_context_manager_closes_and_later_calls_raise(setup: Setup):
    with kanari.Store(setup.state) as store:
        assert not store.closed
        store.route("k")
    assert store.closed
    with pytest.raises(kanari.OperationalError, match="closed"):
        store.route("k")
    store.close()  # twice is fine
    s2 = kanari.Store(setup.state)
    s2.close()
    assert "closed" in repr(s2)


def test_context_manager_closes_on_exceptions(setup: Setup):
    with pytest.raises(RuntimeError):
        with kanari.Store(setup.state) as store:
            raise RuntimeError("boom")
    assert store.closed


def test_exception_classes_mirror_exit_codes():
    assert issubclass(kanari.UsageError, kanari.KanariError)
    assert issubclass(kanari.UsageError, ValueError)
    assert issubclass(kanari.NotFoundError, LookupError)
    for cls, status in ((kanari.UsageError, 2), (kanari.OperationalError, 3), (kanari.NotFoundError, 4),
                        (kanari.ConflictError, 5)):
        assert issubclass(cls, kanari.KanariError)
        assert kanari._errors.error_for(status, "m").__class__ is cls


def test_bad_input_raises_usage_error_with_the_cli_message(setup: Setup):
    with kanari.Store(setup.state) as store:
        with pytest.raises(kanari.UsageError) as e:
            store.route("")
        cli = run_cli(setup.state, "route", "--key", "", codes=(2,))
        assert e.value.status == 2
        assert e.value.message and e.value.message in cli.stderr
        with pytest.raises(kanari.UsageError) as e:
            store.route("k", track="Not A Track!")
        assert "track" in e.value.message
        # A NUL would cut the string short in C: refused before the call.
        with pytest.raises(kanari.UsageError, match="NUL"):
            store.route("user\0-1")
        with pytest.raises(kanari.UsageError, match="UTF-8"):
            store.route("\udcff")
        with pytest.raises(kanari.UsageError, match="key must be a str"):
            store.route(42)  # type: ignore[arg-type]


# ---- routing ------------------------------------------------------------------------


def published_bucket(salt: str, key: str) -> int:
    digest = hashlib.sha256((salt + ":" + key).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % 10000


def test_routes_equal_the_cli_and_the_published_algorithm(setup: Setup):
    ks = keys(400)
    with kanari.Store(setup.state) as store:
        routes = [store.route(k) for k in ks]
        assert store.route_many(ks) == routes
        assert store.route_many([]) == []
        # Sticky: the same key, the same version, call after call.
        assert [store.route(k) for k in ks] == routes
    lines = setup.cli("route", "--keys", "-", "--json", stdin="".join(k + "\n" for k in ks)).stdout.splitlines()
    status = setup.cli_json("canary", "status")
    for k, r, line in zip(ks, routes, lines):
        c = json.loads(line)
        assert (c["key"], c["version"], c["arm"], c["bucket"], c["shadow"]) == (k, r.version, r.arm, r.bucket,
                                                                                 r.shadow)
        assert r.bucket == published_bucket(status["salt"], k)
        assert r.canary == setup.canary
        assert r.version == (setup.canary if r.is_canary else setup.stable)
    n_canary = sum(r.is_canary for r in routes)
    assert 0.15 * len(ks) < n_canary < 0.35 * len(ks)


def test_route_without_rollout_has_no_bucket_nor_canary(setup: Setup):
    setup.cli("canary", "rollback", "-q")
    with kanari.Store(setup.state) as store:
        r = store.route("user-1")
    assert r == kanari.Route(version=setup.stable, arm="stable", bucket=None, shadow=False, canary=None)
    with pytest.raises(AttributeError):
        r.version = "x"  # type: ignore[misc]  # frozen


def test_route_cache_ms_reuses_the_table(setup: Setup):
    with kanari.Store(setup.state, route_cache_ms=60_000) as store:
        before = store.route_many(keys(200))
        canary_key = next(k for k, r in zip(keys(200), before) if r.is_canary)
        setup.cli("canary", "rollback", "-q")
        assert store.route(canary_key).is_canary  # the cached table
    with kanari.Store(setup.state) as store:
        assert not store.route(canary_key).is_canary


def test_route_on_another_track(setup: Setup):
    with kanari.Store(setup.state) as store:
        with pytest.raises(kanari.NotFoundError):
            store.route("k", track="other")


# ---- recording ---------------------------------------------------------------------


def test_record_with_the_routed_assignment_and_explicit_versions(setup: Setup):
    with kanari.Store(setup.state) as store:
        routes = {}
        for i in range(40):
            routes[i] = store.route(f"user-{i}", task=f"t-{i}")
            s = store.record(f"t-{i}", i % 4 != 0, latency_ms=100.0 + i, tokens=500, cost=0.01, score=0.5)
            assert s == kanari.RecordSummary(1, 0, 0)
        # A retry is a duplicate; different fields are a conflict; neither raises.
        assert store.record("t-0", False, latency_ms=100.0, tokens=500, cost=0.01, score=0.5) == \
            kanari.RecordSummary(0, 1, 0)
        assert store.record("t-0", True, latency_ms=100.0, tokens=500, cost=0.01, score=0.5) == \
            kanari.RecordSummary(0, 0, 1)
        assert store.record("s-1", True, version="stable").inserted == 1
        assert store.record("s-2", True, version=setup.canary[:8]).inserted == 1
    status = setup.cli_json("canary", "status")
    n_canary = sum(r.is_canary for r in routes.values())
    assert status["canary_stats"]["n"] == n_canary + 1
    assert status["stable_stats"]["n"] == 40 - n_canary + 1
    assert status["canary_stats"]["pass"] == sum(r.is_canary and i % 4 != 0 for i, r in routes.items()) + 1


def test_record_errors(setup: Setup):
    with kanari.Store(setup.state) as store:
        with pytest.raises(kanari.NotFoundError):
            store.record("t-1", True, version="ffffffff")
        with pytest.raises(kanari.NotFoundError, match="no routed assignment"):
            store.record("t-1", True)  # never routed: no version to use
        with pytest.raises(kanari.UsageError, match="metric"):
            store.record("t-1", True, version="stable", metrics={"Bad Name": 1})
        with pytest.raises(kanari.UsageError):
            store.record("t-1", True, version="stable", metrics={"x": float("nan")})
        with pytest.raises(kanari.UsageError, match="naive"):
            store.record("t-1", True, version="stable", at=datetime(2027, 1, 1))
        with pytest.raises(kanari.UsageError, match="tokens"):
            store.record("t-1", True, version="stable", tokens=1.5)  # type: ignore[arg-type]
        # ctypes would keep the low 64 bits (2**64 + 5 stored as 5).
        with pytest.raises(kanari.UsageError, match="does not fit in 64 bits"):
            store.record("t-1", True, version="stable", tokens=2**64 + 5)
        with pytest.raises(kanari.UsageError, match="does not fit in 64 bits"):
            store.record("t-1", True, version="stable", at=2**64 + 1_800_000_000_000)
        with pytest.raises(kanari.UsageError, match="does not fit in 64 bits"):
            store.record_many([{"task": "t-1", "passed": True, "version": "stable", "tokens": -(2**63) - 1}])
        with pytest.raises(kanari.UsageError, match="beyond the range of a double"):
            store.record("t-1", True, version="stable", latency_ms=10**400)
        with pytest.raises(kanari.UsageError, match="passed"):
            store.record("t-1", 1, version="stable")  # type: ignore[arg-type]
        with pytest.raises(kanari.UsageError):
            store.record("", True, version="stable")
    assert setup.cli_json("canary", "status")["stable_stats"]["n"] == 0


def test_a_library_without_the_api_is_refused_when_loaded(tmp_path):
    # A libkanari older than the package (libkanari.so.0, whose outcomes have
    # no metrics) or another library altogether must not be called with the
    # package's structs: loading it fails, naming what is missing.
    import ctypes.util
    import subprocess
    import sys

    other = ctypes.util.find_library("m")
    assert other
    env = dict(os.environ, KANARI_LIBRARY=other)
    done = subprocess.run([sys.executable, "-c", f"import kanari; kanari.Store({str(tmp_path)!r}, create=True)"],
                          env=env, capture_output=True, text=True)
    assert done.returncode != 0
    assert "kanari.OperationalError" in done.stderr or "OperationalError" in done.stderr
    assert "kanari_component" in done.stderr
    assert not (tmp_path / "kanari.db").exists()


def test_record_at_datetime_and_milliseconds(setup: Setup):
    now = datetime.now(timezone.utc)
    with kanari.Store(setup.state) as store:
        assert store.record("a-1", True, version="stable", at=now - timedelta(seconds=5)).inserted == 1
        ms = int((now - timedelta(seconds=3)).timestamp() * 1000)
        assert store.record("a-2", True, version="stable", at=ms).inserted == 1
        # The same time again, as a datetime and as milliseconds: a duplicate.
        assert store.record("a-2", True, version="stable",
                            at=datetime.fromtimestamp(ms / 1000, timezone.utc)).duplicates == 1
        # More than 10 minutes in the future is refused by the library.
        with pytest.raises(kanari.UsageError):
            store.record("a-3", True, version="stable", at=now + timedelta(hours=1))


def test_record_many_is_one_transaction(setup: Setup):
    with kanari.Store(setup.state) as store:
        good = [kanari.Outcome(f"b-{i}", True, version="stable", latency_ms=10.0) for i in range(5)]
        bad = {"task": "b-bad", "pass": True, "version": "stable", "metrics": {"Not-a-name": 1}}
        with pytest.raises(kanari.UsageError) as e:
            store.record_many(good + [bad])
        assert e.value.message.startswith("outcome 5: ")
        with pytest.raises(kanari.UsageError, match=r"^outcome 1: unknown key\(s\) 'colour'"):
            store.record_many([good[0], {"task": "x", "passed": True, "colour": "red"}])
        with pytest.raises(kanari.UsageError, match=r"^outcome 0: missing passed"):
            store.record_many([{"task": "x"}])
        assert setup.cli_json("canary", "status")["stable_stats"]["n"] == 0
        # Dicts with the JSON Lines spelling, Outcomes, and a generator.
        s = store.record_many(good + [{"task": "b-5", "pass": False, "version": "canary"}])
        assert s == kanari.RecordSummary(6, 0, 0)
        again = store.record_many(o for o in good[:2] + [kanari.Outcome("b-4", False, version="stable")])
        assert again == kanari.RecordSummary(0, 2, 1)
        assert store.record_many([]) == kanari.RecordSummary(0, 0, 0)
    status = setup.cli_json("canary", "status")
    assert (status["stable_stats"]["n"], status["canary_stats"]["n"]) == (5, 1)


def test_metrics_reach_the_metric_gate(tmp_path, setup: Setup):
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"min_samples": 3, "metrics": [
        {"metric": "tool_calls", "aggregate": "mean", "max": 4}]}))
    setup.cli("canary", "rollback", "-q")
    setup.cli("canary", "start", "--version", setup.canary, "--percentage", "50", "--policy", str(policy), "-q")
    with kanari.Store(setup.state) as store:
        store.record("m-1", True, version="canary", metrics={"tool_calls": 3, "escalated": True})
        store.record_many([{"task": f"m-{i}", "passed": True, "version": "canary", "metrics": {"tool_calls": 9}}
                           for i in (2, 3)])
        for i in range(3):
            store.record(f"s-{i}", True, version="stable", metrics={"tool_calls": 2.5})
        status = setup.cli_json("canary", "status")
        (gate,) = status["metrics"]
        assert gate["canary"] == {"n": 3, "value": 7.0}
        assert gate["stable"] == {"n": 3, "value": 2.5}
        ev = store.evaluate()
        assert ev.verdict == "ROLLBACK"
        assert any("tool_calls" in r for r in ev.reasons)


# ---- the gate ----------------------------------------------------------------------


def test_evaluate_verdicts_equal_the_cli(setup: Setup):
    with kanari.Store(setup.state) as store:
        ev = store.evaluate()
        assert ev.verdict == "INSUFFICIENT_DATA" and not ev.applied
        for i in range(20):
            store.record(f"c-{i}", i < 5, version="canary")
            store.record(f"s-{i}", True, version="stable")
        ev = store.evaluate()
        assert ev.verdict == "ROLLBACK" and not ev.applied
        cli = setup.cli_json("canary", "evaluate", codes=(1,))
        for v in (ev.data, cli):
            v["evidence"]["step_state"].pop("elapsed_seconds", None)
        assert ev.data == cli
        applied = store.evaluate(apply=True)
        assert applied.verdict == "ROLLBACK" and applied.applied
        assert store.route("user-1").canary is None
        assert store.evaluate().verdict == "NO_CANARY"
    assert setup.cli_json("canary", "status")["state"] == "idle"


def test_evaluate_promote_applied(setup: Setup):
    with kanari.Store(setup.state, actor="release-bot") as store:
        store.record_many([kanari.Outcome(f"c-{i}", True, version="canary") for i in range(20)] +
                          [kanari.Outcome(f"s-{i}", True, version="stable") for i in range(20)])
        ev = store.evaluate(apply=True)
        assert (ev.verdict, ev.applied) == ("PROMOTE", True)
        (event,) = setup.cli_json("history", "--limit", "1")
        assert (event["action"], event["actor"]) == ("promoted", "release-bot")
        assert store.route("user-1") == kanari.Route(setup.canary, "stable", None, False, None)
        assert store.evaluate(track="nope").verdict == "NO_CANARY"
        with pytest.raises(kanari.UsageError, match="track"):
            store.evaluate(track="Bad Track")


def test_repr_hides_a_uri_password(setup: Setup):
    with pytest.raises(kanari.OperationalError) as e:
        kanari.Store("postgresql://bob:s3cret@127.0.0.1:1/db")
    assert "s3cret" not in e.value.message
    with kanari.Store(setup.state) as store:
        assert setup.state in repr(store)
        store.location = "postgresql://bob:s3cret@db.example/kanari"
        assert repr(store) == "<kanari.Store 'postgresql://bob:***@db.example/kanari'>"
        with pytest.raises(TypeError):
            store.route_many("user-1")  # type: ignore[arg-type]
