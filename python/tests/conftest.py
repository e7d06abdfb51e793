"""Fixtures: stores set up with the real `kanari` command of the build.

The suite runs from the build tree (ctest `python_pytest`) with
KANARI_LIBRARY naming the build's libkanari.so, KANARI_CLI its kanari
binary and PYTHONPATH the source python/ directory.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import List

import pytest

CLI = os.environ.get("KANARI_CLI")

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
def bare(tmp_path: Path) -> str:
    """An initialised store with no version."""
    state = str(tmp_path / "state")
    run_cli(state, "init", "-q")
    return state


@pytest.fixture
def setup(tmp_path: Path) -> Setup:
    """Two versions (A stable, B a 25 % canary, min 20 samples per arm), B
    with a tool and a second prompt under a directory."""
    state = str(tmp_path / "state")
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
