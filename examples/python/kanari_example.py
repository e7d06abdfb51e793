#!/usr/bin/env python3
"""Route and record from Python through libkanari's C API, with ctypes only.

    kanari_example.py --lib build/lib/libkanari.so --kanari build/cli/kanari
    kanari_example.py --lib /usr/local/lib/libkanari.so --state .kanari   # an existing store

With --kanari (the CLI binary) the example sets up a fresh store in a
temporary directory (init, two versions, a 25 % canary), then checks that
everything it did through the library agrees with the CLI and with the
published routing algorithm (docs/routing.md, computed here with hashlib): route
decisions, recorded counts and the gate's verdict. It exits 1 on any
mismatch; the test suite runs it. `KANARI_LIB` may stand in for --lib.

The `Kanari` class is the part to copy into a runtime: one instance (one
handle) may be shared by a thread pool (the library serialises calls on a
handle; one instance per thread runs them in parallel), errors raised as
`KanariError` with the library's message and status code.
"""

import argparse
import ctypes
import hashlib
import json
import os
import subprocess
import sys
import tempfile

ID_SIZE = 65
ARM_CANARY = 1
HAS_LATENCY_MS, HAS_COST, HAS_TOKENS, HAS_SCORE, HAS_AT = 1, 2, 4, 8, 16
OPEN_CREATE = 1
EVALUATE_APPLY = 1
VERDICTS = ["PROMOTE", "HOLD", "ROLLBACK", "INSUFFICIENT_DATA", "AWAITING_APPROVAL", "NO_CANARY"]


class RouteDecision(ctypes.Structure):
    _fields_ = [("version", ctypes.c_char * ID_SIZE), ("arm", ctypes.c_int), ("bucket", ctypes.c_int32),
                ("shadow", ctypes.c_int), ("canary", ctypes.c_char * ID_SIZE)]


class Metric(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("value", ctypes.c_double)]


# kanari_outcome as of ABI 1 (libkanari.so.1): the metrics came at the end.
class Outcome(ctypes.Structure):
    _fields_ = [("track", ctypes.c_char_p), ("task", ctypes.c_char_p), ("version", ctypes.c_char_p),
                ("pass_", ctypes.c_int), ("has", ctypes.c_uint), ("latency_ms", ctypes.c_double),
                ("cost", ctypes.c_double), ("tokens", ctypes.c_int64), ("score", ctypes.c_double),
                ("at_ms", ctypes.c_int64), ("error", ctypes.c_char_p),
                ("metrics", ctypes.POINTER(Metric)), ("n_metrics", ctypes.c_size_t)]


class RecordSummary(ctypes.Structure):
    _fields_ = [("inserted", ctypes.c_int64), ("duplicates", ctypes.c_int64), ("conflicts", ctypes.c_int64),
                ("invalid", ctypes.c_int64)]


class KanariError(Exception):
    def __init__(self, status, message):
        super().__init__(f"{message} (status {status})")
        self.status = status


def load(path):
    """Loads libkanari and declares the prototypes this example uses."""
    lib = ctypes.CDLL(path)
    P, S, C = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int
    lib.kanari_version.restype = S
    lib.kanari_last_error.argtypes, lib.kanari_last_error.restype = [P], S
    lib.kanari_free.argtypes, lib.kanari_free.restype = [P], None
    lib.kanari_open.argtypes, lib.kanari_open.restype = [S, S, ctypes.c_uint, ctypes.POINTER(P)], C
    lib.kanari_close.argtypes, lib.kanari_close.restype = [P], None
    lib.kanari_route.argtypes, lib.kanari_route.restype = [P, S, S, S, ctypes.POINTER(RouteDecision)], C
    lib.kanari_route_many.argtypes = [P, S, ctypes.POINTER(S), ctypes.c_size_t, ctypes.POINTER(RouteDecision)]
    lib.kanari_route_many.restype = C
    lib.kanari_record.argtypes = [P, ctypes.POINTER(Outcome), ctypes.POINTER(RecordSummary)]
    lib.kanari_record.restype = C
    lib.kanari_record_batch.argtypes = [P, ctypes.POINTER(Outcome), ctypes.c_size_t, ctypes.POINTER(RecordSummary)]
    lib.kanari_record_batch.restype = C
    # The JSON out-parameter is a char** the caller frees with kanari_free:
    # declared as void* so ctypes hands back the pointer, not a copy.
    lib.kanari_evaluate.argtypes = [P, S, ctypes.c_uint, ctypes.POINTER(C), ctypes.POINTER(P)]
    lib.kanari_evaluate.restype = C
    return lib


def _bytes(s):
    return None if s is None else s.encode("utf-8")


class Kanari:
    """One open store (one handle). Threads may share it: the library runs its
    calls one at a time. Close it only after every thread is done with it."""

    def __init__(self, lib, state_dir, actor="python", create=False):
        self.lib = lib
        self.h = ctypes.c_void_p()
        st = lib.kanari_open(_bytes(state_dir), _bytes(actor), OPEN_CREATE if create else 0, ctypes.byref(self.h))
        if st != 0:
            raise KanariError(st, lib.kanari_last_error(None).decode())

    def close(self):
        if self.h:
            self.lib.kanari_close(self.h)
            self.h = ctypes.c_void_p()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _check(self, st, ok=(0,)):
        if st not in ok:
            raise KanariError(st, self.lib.kanari_last_error(self.h).decode())
        return st

    @staticmethod
    def _route_dict(r):
        return {"version": r.version.decode(), "arm": "canary" if r.arm == ARM_CANARY else "stable",
                "bucket": None if r.bucket < 0 else r.bucket, "shadow": bool(r.shadow)}

    def route(self, key, track=None, task=None):
        r = RouteDecision()
        self._check(self.lib.kanari_route(self.h, _bytes(track), _bytes(key), _bytes(task), ctypes.byref(r)))
        return self._route_dict(r)

    def route_many(self, keys, track=None):
        arr = (ctypes.c_char_p * len(keys))(*[_bytes(k) for k in keys])
        out = (RouteDecision * len(keys))()
        self._check(self.lib.kanari_route_many(self.h, _bytes(track), arr, len(keys), out))
        return [self._route_dict(r) for r in out]

    @staticmethod
    def _outcome(task, passed, version=None, track=None, latency_ms=None, tokens=None, error=None, metrics=None):
        o = Outcome(track=_bytes(track), task=_bytes(task), version=_bytes(version), pass_=1 if passed else 0,
                    error=_bytes(error))
        if metrics:
            # The struct keeps a reference to the array (ctypes' _objects).
            o.metrics = (Metric * len(metrics))(*[Metric(_bytes(k), float(v)) for k, v in metrics.items()])
            o.n_metrics = len(metrics)
        if latency_ms is not None:
            o.has |= HAS_LATENCY_MS
            o.latency_ms = latency_ms
        if tokens is not None:
            o.has |= HAS_TOKENS
            o.tokens = tokens
        return o

    def record(self, task, passed, **fields):
        s = RecordSummary()
        o = self._outcome(task, passed, **fields)
        self._check(self.lib.kanari_record(self.h, ctypes.byref(o), ctypes.byref(s)))
        return {"inserted": s.inserted, "duplicates": s.duplicates, "conflicts": s.conflicts}

    def record_batch(self, outcomes):
        """outcomes: dicts with task, passed and the optional fields of record()."""
        arr = (Outcome * len(outcomes))(*[self._outcome(**o) for o in outcomes])
        s = RecordSummary()
        self._check(self.lib.kanari_record_batch(self.h, arr, len(outcomes), ctypes.byref(s)))
        return {"inserted": s.inserted, "duplicates": s.duplicates, "conflicts": s.conflicts}

    def evaluate(self, track=None, apply=False):
        verdict = ctypes.c_int(-1)
        text = ctypes.c_void_p()
        st = self._check(self.lib.kanari_evaluate(self.h, _bytes(track), EVALUATE_APPLY if apply else 0,
                                                  ctypes.byref(verdict), ctypes.byref(text)), ok=(0, 1))
        try:
            result = json.loads(ctypes.string_at(text.value).decode("utf-8"))
        finally:
            self.lib.kanari_free(text)
        assert result["verdict"] == VERDICTS[verdict.value]
        return st, result


def published_bucket(salt, key):
    """docs/routing.md, the published algorithm."""
    digest = hashlib.sha256((salt + ":" + key).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % 10000


class Checker:
    def __init__(self):
        self.failures = 0

    def equal(self, what, got, want):
        if got != want:
            self.failures += 1
            print(f"MISMATCH {what}: library {got!r}, expected {want!r}", file=sys.stderr)


def cli(kanari, state, *args, stdin=None, codes=(0,)):
    p = subprocess.run([kanari, "--state", state, "--actor", "python-example", *args], input=stdin,
                       capture_output=True, text=True)
    if p.returncode not in codes:
        sys.exit(f"kanari {' '.join(args)} failed ({p.returncode}): {p.stderr}")
    return p


def set_up(kanari, state):
    """A store with a stable and a canary at 25 %, made with the CLI."""
    work = os.path.dirname(state)
    cli(kanari, state, "init", "-q")
    ids = []
    for name, text in (("a.md", "You are agent A.\n"), ("b.md", "You are agent B.\n")):
        path = os.path.join(work, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        ids.append(json.loads(cli(kanari, state, "version", "add", "--prompt", "system=" + path, "--json").stdout)["id"])
    cli(kanari, state, "canary", "start", "--version", ids[1], "--percentage", "25", "--min-samples", "20", "-q")
    return ids


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lib", default=os.environ.get("KANARI_LIB"), help="path to libkanari.so (or $KANARI_LIB)")
    ap.add_argument("--kanari", help="the kanari CLI: set up a fresh store and check against it")
    ap.add_argument("--state", help="an existing store directory (without --kanari)")
    ap.add_argument("--keys", type=int, default=1000, help="how many keys to route")
    a = ap.parse_args()
    if not a.lib or not (a.kanari or a.state):
        ap.error("give --lib (or KANARI_LIB) and --kanari or --state")
    lib = load(a.lib)
    print(f"libkanari {lib.kanari_version().decode()}")

    with tempfile.TemporaryDirectory(prefix="kanari-py-") as tmp:
        state = a.state or os.path.join(tmp, "state")
        if a.kanari:
            set_up(a.kanari, state)
        keys = [f"user-{i}" for i in range(a.keys)] + ["ünïcödé", "用户-7", "emoji-😀"]
        check = Checker()

        with Kanari(lib, state, actor="python-example") as k:
            # 1. Route: one call per key, and a batch.
            one = [k.route(key) for key in keys]
            check.equal("route_many", k.route_many(keys), one)
            canary = sum(r["arm"] == "canary" for r in one)
            print(f"routed {len(keys)} keys: {canary} canary, {len(keys) - canary} stable")

            # 2. Record: half route with a task id and record without a
            #    version (the assignment is remembered), half in one batch.
            half = len(keys) // 2
            for i, key in enumerate(keys[:half]):
                k.route(key, task=f"py-{i}")
                k.record(f"py-{i}", i % 7 != 0, latency_ms=100.0 + i, tokens=500)
            summary = k.record_batch([{"task": f"py-{i}", "passed": i % 7 != 0, "version": one[i]["version"],
                                       "latency_ms": 100.0 + i, "metrics": {"tool_calls": i % 5, "escalated": 0}}
                                      for i in range(half, len(keys))])
            check.equal("batch inserted", summary["inserted"], len(keys) - half)
            check.equal("retry is a duplicate", k.record("py-0", False, latency_ms=100.0, tokens=500)["duplicates"],
                        1)
            try:
                k.route("")
                check.equal("empty key refused", "accepted", "KanariError")
            except KanariError as e:
                check.equal("empty key status", e.status, 2)

            # 3. The gate, without applying.
            status, verdict = k.evaluate()
            print(f"gate: {verdict['verdict']} (canary {verdict['canary']['pass']}/{verdict['canary']['n']}, "
                  f"stable {verdict['stable']['pass']}/{verdict['stable']['n']})")

        if a.kanari:
            st = json.loads(cli(a.kanari, state, "canary", "status", "--json").stdout)
            salt = st["salt"]
            pct = st["percentage"]
            # The published algorithm, in Python.
            for key, r in zip(keys, one):
                b = published_bucket(salt, key)
                check.equal(f"bucket of {key}", r["bucket"], b)
                check.equal(f"arm of {key}", r["arm"], "canary" if b < round(pct * 100) else "stable")
            # The CLI, on the same keys.
            lines = cli(a.kanari, state, "route", "--keys", "-", "--json", stdin="".join(x + "\n" for x in keys))
            for r, line in zip(one, lines.stdout.splitlines()):
                c = json.loads(line)
                check.equal(f"CLI route of {c['key']}",
                            {"version": c["version"], "arm": c["arm"], "bucket": c["bucket"], "shadow": c["shadow"]},
                            r)
            # What was recorded, as the CLI counts it.
            n_canary = sum(r["arm"] == "canary" for r in one)
            check.equal("canary n", st["canary_stats"]["n"], n_canary)
            check.equal("stable n", st["stable_stats"]["n"], len(keys) - n_canary)
            check.equal("canary passes", st["canary_stats"]["pass"],
                        sum(r["arm"] == "canary" and i % 7 != 0 for i, r in enumerate(one)))
            ev = cli(a.kanari, state, "canary", "evaluate", "--json", codes=(0, 1))
            check.equal("evaluate exit", ev.returncode, status)
            # The step's age is read from each caller's clock, a moment apart.
            cli_verdict = json.loads(ev.stdout)
            for v in (verdict, cli_verdict):
                v["evidence"]["step_state"].pop("elapsed_seconds", None)
            check.equal("evaluate JSON", verdict, cli_verdict)
            print("the library agrees with the CLI and the published algorithm"
                  if not check.failures else f"{check.failures} mismatches")
    return 1 if check.failures else 0


if __name__ == "__main__":
    sys.exit(main())
