"""Fixtures: stores set up with the real `kanari` command of the build.

The suite runs from the build tree (ctest `python_pytest`) with
KANARI_LIBRARY naming the build's libkanari.so, KANARI_CLI its kanari
binary and PYTHONPATH the source python/ directory.

With KANARI_TEST_STORE=postgresql (ctest `postgresql/python_pytest`, run by
scripts/test.sh inside pg_virtualenv) every store is a schema of its own on
the server KANARI_TEST_PG_URI names (default "postgresql://", libpq's PG*
variables fill in the rest), dropped afterwards. Without a server the run
exits 77 (skipped), except under CI.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, List

import pytest

CLI = os.environ.get("KANARI_CLI")
ON_POSTGRESQL = os.environ.get("KANARI_TEST_STORE") == "postgresql"
PG_BASE = os.environ.get("KANARI_TEST_PG_URI") or "postgresql://"
_schemas = itertools.count(1)


def psql(sql: str) -> subprocess.CompletedProcess:
    return subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", PG_BASE, "-c", sql], capture_output=True,
                          text=True)


def pytest_sessionstart(session: pytest.Session) -> None:
    if ON_POSTGRESQL:
        try:
            p = psql("SELECT 1")
            problem = p.stderr.strip() if p.returncode else ""
        except OSError as e:
            problem = str(e)
        if problem:
            if os.environ.get("CI"):
                raise RuntimeError(f"no PostgreSQL server at {PG_BASE}: {problem}")
            pytest.exit(f"no PostgreSQL server at {PG_BASE} ({problem}); skipped", returncode=77)


@pytest.fixture
def location(tmp_path: Path) -> Iterator[str]:
    """Where a test's store lives: a directory, or a fresh schema's URI."""
    if not ON_POSTGRESQL:
        yield str(tmp_path / "state")
        return
    name = f"kanari_py_{os.getpid()}_{next(_schemas)}"
    assert psql(f"CREATE SCHEMA {name}").returncode == 0
    yield PG_BASE + ("&" if "?" in PG_BASE else "?") + "options=-csearch_path%3D" + name
    psql(f"DROP SCHEMA IF EXISTS {name} CASCADE")

PROMPT_A = "You are agent A. Think step by step.\n"
PROMPT_B = "You are agent B. Be {{tone}} with {{ user }}.\r\nNo final newline"


@dataclass
class Setup:
    state: str
    stable: str  # full id
    canary: str  # full id
    work: Path

    def cli(self, *args: str, stdin: str | None = None, codes=(0,)) -> subprocess.CompletedProcess:
        return run_cli(self.state, *args, stdin=stdin, codes=codes)

    def cli_json(self, *args: str, codes=(0,)):
        return json.loads(self.cli(*args, "--json", codes=codes).stdout)


def run_cli(state: str, *args: str, stdin: str | None = None, codes=(0,)) -> subprocess.CompletedProcess:
    assert CLI, "set KANARI_CLI to the kanari binary (ctest does)"
    p = subprocess.run([CLI, "--state", state, "--actor", "pytest", *args], input=stdin, capture_output=True,
                       text=True)
    assert p.returncode in codes, f"kanari {' '.join(args)} exited {p.returncode}: {p.stderr}"
    return p


def add_version(state: str, work: Path, prompt: str, *extra: str) -> str:
    path = work / f"prompt-{len(list(work.iterdir()))}.md"
    path.write_bytes(prompt.encode("utf-8"))
    out = run_cli(state, "version", "add", "--prompt", f"system.md={path}", *extra, "--json").stdout
    return json.loads(out)["id"]


@pytest.fixture
def setup(tmp_path: Path, location: str) -> Setup:
    """Two versions (A stable, B a 25 % canary, min 20 samples per arm), B
    with a tool and a second prompt under a directory."""
    state = location
    work = tmp_path / "work"
    work.mkdir()
    run_cli(state, "init", "-q")
    a = add_version(state, work, PROMPT_A, "--model", "m-1", "--param", "temperature=0.2")
    tool = work / "search.json"
    tool.write_text('{"name": "search",   "parameters": {}}')
    roles = work / "backend.md"
    roles.write_bytes(b"backend\n")
    b = add_version(state, work, PROMPT_B, "--model", "m-2", "--param", "temperature=0.7", "--param", "n=3",
                    "--tool", f"search={tool}", "--prompt", f"roles/backend.md={roles}")
    run_cli(state, "canary", "start", "--version", b, "--percentage", "25", "--min-samples", "20", "-q")
    return Setup(state=state, stable=a, canary=b, work=work)


def keys(n: int) -> List[str]:
    return [f"user-{i}" for i in range(n)] + ["ünïcödé", "用户-7", "emoji-😀"]
