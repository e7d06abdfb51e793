#!/usr/bin/env python3
"""An agent loop on kanari: route -> load the prompt -> call the model -> record.

    agent_runner.py --state .kanari [--tasks 200] [--users 50] [--track default]
                    [--prompt system.md] [--evaluate] [--apply]

For every task the runner asks kanari which version serves the task's user
(sticky: a user stays on one version for the whole rollout), loads that
version's prompt and model configuration, calls the model, and records the
outcome with its latency and metrics, so that the canary's gate can judge
the new version on real work. With --evaluate it prints the gate's verdict
at the end (and performs it with --apply).

The model is a stand-in: a deterministic function of the prompt and the
task, so that the example runs anywhere and gives the same numbers every
time. Replace `call_model` with your client. It needs the Python package
kanari (installed by `cmake --install`; from a build tree, PYTHONPATH=python
and KANARI_LIBRARY=build/lib/libkanari.so).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any, Dict, Set

import kanari


@dataclass
class Reply:
    text: str
    ok: bool
    tokens: int
    tool_calls: int


def call_model(system_prompt: str, config: Dict[str, Any], task: str) -> Reply:
    """A stand-in for an LLM call. Whether the task succeeds is a fixed
    function of the task and the prompt: a prompt that says "step by step"
    succeeds on 90 % of tasks, any other on 60 %."""
    digest = hashlib.sha256(f"{task}\n{system_prompt}".encode("utf-8")).digest()
    draw = int.from_bytes(digest[:4], "big") / 2**32
    ok = draw < (0.9 if "step by step" in system_prompt else 0.6)
    tool_calls = 1 + digest[4] % 4
    tokens = 50 * len(system_prompt.split()) + 10 * tool_calls
    model = config.get("model", "stand-in")
    return Reply(text=f"[{model}] answer to {task}", ok=ok, tokens=tokens, tool_calls=tool_calls)


def run(store: kanari.Store, args: argparse.Namespace) -> None:
    per_arm: Dict[str, Counter[str]] = defaultdict(Counter)
    version_of_user: Dict[str, Set[str]] = defaultdict(set)
    for i in range(args.tasks):
        task = f"task-{i}"
        user = f"user-{i % args.users}"
        # 1. Which version serves this user; remember it for the task.
        route = store.route(user, track=args.track, task=task)
        version_of_user[user].add(route.version)
        # 2. Its prompt and model configuration (cached: versions are immutable).
        system_prompt = store.prompt(route.version, args.prompt)
        config = store.model(route.version)
        # 3. The model.
        started = time.monotonic()
        reply = call_model(system_prompt, config, task)
        latency_ms = (time.monotonic() - started) * 1000
        latency_ms += 100 + 50 * reply.tool_calls  # the stand-in answers at once: add a model's pace
        # 4. The outcome, against the routed version (no version needed).
        store.record(task, reply.ok, track=args.track, latency_ms=latency_ms, tokens=reply.tokens,
                     metrics={"tool_calls": reply.tool_calls, "escalated": 0 if reply.ok else 1})
        counts = per_arm[f"{route.arm} {route.version[:12]}"]
        counts["tasks"] += 1
        counts["passed"] += reply.ok

    print(f"ran {args.tasks} tasks for {args.users} users")
    for arm, c in sorted(per_arm.items()):
        print(f"  {arm}: {c['tasks']} tasks, {c['passed']} passed ({100 * c['passed'] / c['tasks']:.0f} %)")
    sticky = all(len(v) == 1 for v in version_of_user.values())
    print("every user stayed on one version" if sticky else "a user moved between versions")
    if args.evaluate:
        ev = store.evaluate(args.track, apply=args.apply)
        print(f"gate: {ev.verdict}{' (applied)' if ev.applied else ''}")
        for reason in ev.reasons:
            print(f"  {reason}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--state", default=".kanari", help="the store (default .kanari)")
    ap.add_argument("--track", default=None, help="the track (default: default)")
    ap.add_argument("--tasks", type=int, default=200, help="how many tasks to run (default 200)")
    ap.add_argument("--users", type=int, default=50, help="how many users they come from (default 50)")
    ap.add_argument("--prompt", default="system.md", help="the component holding the system prompt")
    ap.add_argument("--evaluate", action="store_true", help="print the gate's verdict at the end")
    ap.add_argument("--apply", action="store_true", help="with --evaluate: perform the verdict")
    args = ap.parse_args()
    try:
        with kanari.Store(args.state, actor="agent-runner") as store:
            run(store, args)
    except kanari.KanariError as e:
        print(f"agent_runner: {e}", file=sys.stderr)
        return e.status
    return 0


if __name__ == "__main__":
    sys.exit(main())
