"""Threads sharing one Store, and processes each with their own, on one store."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import kanari
from conftest import Setup

THREADS, PER_THREAD = 8, 200


def test_threads_share_one_store(setup: Setup):
    barrier = threading.Barrier(THREADS)
    with kanari.Store(setup.state, actor="threads") as store:
        expected = {"canary": [0, 0], "stable": [0, 0]}  # [n, pass]
        lock = threading.Lock()

        def work(t: int) -> kanari.RecordSummary:
            barrier.wait()
            total = kanari.RecordSummary(0, 0, 0)
            for i in range(PER_THREAD):
                task = f"th{t}-{i}"
                r = store.route(f"user-{t}-{i}", task=task)
                passed = (t + i) % 3 != 0
                if i % 2:
                    total += store.record(task, passed, latency_ms=float(i), metrics={"tool_calls": i % 4})
                else:
                    total += store.record_many([kanari.Outcome(task, passed, version=r.version)])
                # A retry from the same thread: a duplicate, never stored twice.
                total += store.record(task, passed, version=r.version, latency_ms=float(i) if i % 2 else None,
                                      metrics={"tool_calls": i % 4} if i % 2 else None)
                assert store.component(r.version, "system.md")
                with lock:
                    expected[r.arm][0] += 1
                    expected[r.arm][1] += passed
            return total

        with ThreadPoolExecutor(THREADS) as pool:
            totals = list(pool.map(work, range(THREADS)))
        assert sum(t.inserted for t in totals) == THREADS * PER_THREAD
        assert sum(t.duplicates for t in totals) == THREADS * PER_THREAD
        assert sum(t.conflicts for t in totals) == 0
    status = setup.cli_json("canary", "status")
    assert [status["canary_stats"]["n"], status["canary_stats"]["pass"]] == expected["canary"]
    assert [status["stable_stats"]["n"], status["stable_stats"]["pass"]] == expected["stable"]
    setup.cli("doctor")  # exit 0: the store is healthy


def test_each_thread_gets_its_own_error_message(setup: Setup):
    # The library keeps the last error per thread: under contention every
    # thread's exception carries its own call's message.
    with kanari.Store(setup.state) as store:
        def work(t: int) -> int:
            wrong = 0
            for i in range(100):
                version = f"{t:02d}{i:02d}" + "e" * 60  # a well-formed, unknown id
                try:
                    store.component(version, "system.md")
                except kanari.NotFoundError as e:
                    wrong += version not in e.message
                else:
                    wrong += 1
                store.route(f"user-{t}-{i}")  # a success in between
            return wrong

        with ThreadPoolExecutor(THREADS) as pool:
            assert sum(pool.map(work, range(THREADS))) == 0


def test_close_waits_for_calls_in_other_threads(setup: Setup):
    store = kanari.Store(setup.state)
    started = threading.Event()
    errors = []

    def busy() -> None:
        started.set()
        try:
            for i in range(2000):
                store.route(f"k-{i}")
        except kanari.OperationalError as e:
            assert "closed" in e.message
        except Exception as e:  # pragma: no cover - the failure being tested
            errors.append(e)

    threads = [threading.Thread(target=busy) for _ in range(4)]
    for t in threads:
        t.start()
    started.wait()
    store.close()
    for t in threads:
        t.join()
    assert not errors and store.closed


WRITER = r"""
import sys, kanari
state, proc, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with kanari.Store(state, actor=f"proc-{proc}") as store:
    inserted = 0
    for i in range(n):
        task = f"p{proc}-{i}"
        store.route(f"user-{proc}-{i}", task=task)
        if i % 10 == 9:
            inserted += store.record_many([{"task": f"{task}-b{j}", "pass": True, "version": "stable"}
                                           for j in range(3)]).inserted
        inserted += store.record(task, i % 2 == 0, latency_ms=1.0).inserted
    print(inserted)
"""


def test_two_processes_on_one_store(setup: Setup):
    n = 300
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, setup.state, str(p), str(n)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=os.environ.copy()) for p in range(2)]
    outs = [p.communicate(timeout=240) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err
    per_proc = n + 3 * (n // 10)
    assert [int(out) for out, _ in outs] == [per_proc, per_proc]
    status = setup.cli_json("canary", "status")
    assert status["canary_stats"]["n"] + status["stable_stats"]["n"] == 2 * per_proc
    assert status["canary_stats"]["pass"] + status["stable_stats"]["pass"] == 2 * (n // 2 + 3 * (n // 10))
