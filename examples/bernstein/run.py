#!/usr/bin/env python3
"""Canary a Bernstein project's role prompts and model config with kanari.

    run.py [--kanari PATH] [--workspace DIR] [--tasks N]

Bernstein keeps its agents' role prompts in templates/roles/*.md and its
model settings in .sdd/config.yaml; this directory holds both, as that
project lays them out. The script copies them to a workspace (a scratch
directory unless --workspace is given), makes a kanari store there, and
plays two changes through the whole loop:

1. The backend prompt learns to run the test suite before it reports. It is
   versioned, started as a 20 % canary (`kanari canary --prompt-version
   <hash> --percentage 20`, Bernstein's form), and simulated tasks run
   until the gate promotes it.
2. .sdd/config.yaml switches to a cheaper model. Same again, and the gate
   rolls it back.

Each task is routed by the Python package (`kanari.Store.route`), loads its
role prompt and the model config of the version it was routed to
(`Store.prompt`, `Store.model`), calls a stand-in model (deterministic: how
well it does depends on the prompt and the model it was given) and records
its outcome with a metric (`Store.record`). Every ten tasks the gate is asked
and its verdict applied (`Store.evaluate(apply=True)`), as cron would.

Exits 0 when the first change was promoted and the second rolled back, 1
otherwise; the test suite runs it. Needs the `kanari` command (--kanari, or
on PATH) and the Python package (`import kanari`: installed, or python/ on
PYTHONPATH with KANARI_LIBRARY naming libkanari.so).
"""

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import kanari

HERE = Path(__file__).resolve().parent
ROLES = ["backend", "backend", "qa", "reviewer"]  # the task mix: half backend work
TEST_RULE = "- Run the full test suite before you report that you are done.\n"


def stand_in_model(prompt: str, config: dict, task: str) -> tuple[bool, float, int]:
    """A deterministic stand-in for the model call: (passed, latency_ms, tool_calls).

    A task passes when a hash of its id falls under the quality its prompt
    and model earn: 60 out of 100, 100 when the prompt asks for the test
    suite, 40 less on the cheap model.
    """
    quality = 60
    if "Run the full test suite" in prompt:
        quality = 100
    if config.get("default_model") == "haiku":
        quality -= 40
    draw = int.from_bytes(hashlib.sha256(task.encode()).digest()[:4], "big") % 100
    latency_ms = 400.0 + draw * 7 if config.get("default_model") == "haiku" else 900.0 + draw * 11
    return draw < quality, latency_ms, 3 + draw % 5


class Workspace:
    """The Bernstein project and the kanari CLI run inside it."""

    def __init__(self, root: Path, kanari_cli: str):
        self.root = root
        self.state = root / ".kanari"
        # The commands run inside the project: a relative path to the CLI
        # means relative to where this script was started.
        self.cli = os.path.abspath(kanari_cli) if os.sep in kanari_cli else kanari_cli

    def kanari(self, *args: str) -> str:
        done = subprocess.run([self.cli, "--state", str(self.state), *args], cwd=self.root, text=True,
                              capture_output=True)
        if done.returncode != 0:
            raise SystemExit(f"kanari {' '.join(args)}: exit {done.returncode}: {done.stderr.strip()}")
        return done.stdout

    def add_version(self, label: str) -> str:
        """Versions every role prompt and the YAML model config."""
        roles = sorted(str(p.relative_to(self.root)) for p in (self.root / "templates/roles").glob("*.md"))
        out = self.kanari("version", "add", *roles, "--config", ".sdd/config.yaml", "--label", label, "--json")
        return json.loads(out)["id"]


def run_tasks(store: kanari.Store, first: int, limit: int) -> tuple[str, int, dict]:
    """Runs tasks until an applied verdict ends the rollout; returns (action, tasks run, counts)."""
    counts = {"stable": [0, 0], "canary": [0, 0]}  # arm -> [tasks, passed]
    for i in range(first, first + limit):
        task = f"bern-{i}"
        role = ROLES[i % len(ROLES)]
        route = store.route(task, task=task)  # sticky by task id; the assignment is remembered
        prompt = store.prompt(route.version, f"templates/roles/{role}.md")
        config = store.model(route.version)
        passed, latency_ms, tool_calls = stand_in_model(prompt, config, task)
        store.record(task, passed, latency_ms=latency_ms, metrics={"tool_calls": tool_calls})
        counts[route.arm][0] += 1
        counts[route.arm][1] += passed
        if (i + 1) % 10 == 0:
            result = store.evaluate(apply=True)
            if result.applied and result.verdict in ("PROMOTE", "ROLLBACK"):
                return result.verdict, i + 1 - first, counts
    return "none", limit, counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kanari", default=shutil.which("kanari") or "kanari", help="the kanari command")
    parser.add_argument("--workspace", help="where to copy the project and keep the store (default: a scratch dir)")
    parser.add_argument("--tasks", type=int, default=2000, help="at most this many tasks per change")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="kanari-bernstein-") as scratch:
        root = Path(args.workspace or scratch) / "project"
        shutil.copytree(HERE / "templates", root / "templates")
        shutil.copytree(HERE / ".sdd", root / ".sdd")
        ws = Workspace(root, args.kanari)
        ws.kanari("init", "-q")
        v1 = ws.add_version("as shipped")
        print(f"stable       {v1[:12]}  templates/roles/*.md + .sdd/config.yaml")

        failures = []
        with kanari.Store(ws.state, actor="bernstein-example") as store:
            # Change 1: a better backend prompt.
            backend = root / "templates/roles/backend.md"
            backend.write_text(backend.read_text() + TEST_RULE)
            v2 = ws.add_version("backend runs the tests")
            ws.kanari("canary", "--prompt-version", v2, "--percentage", "20", "-q")
            action, n, counts = run_tasks(store, 0, args.tasks)
            print(f"change 1     {v2[:12]}  backend prompt runs the tests: {action} after {n} tasks {counts}")
            if action != "PROMOTE" or not store.prompt("stable", "templates/roles/backend.md").endswith(TEST_RULE):
                failures.append(f"change 1 should have been promoted, got {action}")

            # Change 2: a cheaper model in the YAML config.
            config = root / ".sdd/config.yaml"
            config.write_text(config.read_text().replace("default_model: opus", "default_model: haiku"))
            v3 = ws.add_version("cheaper model")
            ws.kanari("canary", "--prompt-version", v3, "--percentage", "20", "-q")
            action, n, counts = run_tasks(store, args.tasks, args.tasks)
            print(f"change 2     {v3[:12]}  .sdd/config.yaml on haiku: {action} after {n} tasks {counts}")
            if action != "ROLLBACK" or store.model("stable").get("default_model") != "opus":
                failures.append(f"change 2 should have been rolled back, got {action}")

        stable = json.loads(ws.kanari("version", "show", "stable", "--json"))["id"]
        print(f"stable now   {stable[:12]}")
        if stable != v2:
            failures.append(f"the stable should be {v2[:12]}, is {stable[:12]}")
        print(ws.kanari("history", "--limit", "8"), end="")
        for f in failures:
            print(f"run.py: {f}", file=sys.stderr)
        return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
