"""component, prompt, model and get_prompt against `kanari version checkout`."""

from __future__ import annotations

import json
import subprocess

import pytest

import kanari
from conftest import CLI, PROMPT_A, PROMPT_B, Setup, add_version


def checkout(setup: Setup, ref: str) -> dict:
    out = setup.work / f"checkout-{ref}"
    setup.cli("version", "checkout", ref, "--to", str(out), "-q")
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def test_components_are_the_checkout_bytes(setup: Setup):
    with kanari.Store(setup.state) as store:
        for version in (setup.stable, setup.canary):
            files = checkout(setup, version)
            assert "system.md" in files and "model.json" in files
            for name, data in files.items():
                assert store.component(version, name) == data, name
                assert CLI
                cat = subprocess.run([CLI, "--state", setup.state, "version", "cat", version[:8], name],
                                     capture_output=True, check=True).stdout
                assert cat == data, name
            assert store.model(version) == json.loads(files["model.json"])
        # CRLF and the missing final newline are kept; the tool is canonical JSON.
        assert store.prompt(setup.canary, "system.md") == PROMPT_B
        assert store.component(setup.canary, "search") == b'{"name":"search","parameters":{}}'
        assert store.prompt(setup.canary, "roles/backend.md") == "backend\n"
        assert store.model(setup.stable) == {"model": "m-1", "temperature": 0.2}
        assert store.model(setup.canary) == {"model": "m-2", "n": 3, "temperature": 0.7}


def test_references_other_than_full_ids(setup: Setup):
    with kanari.Store(setup.state) as store:
        assert store.prompt("stable", "system.md") == PROMPT_A
        assert store.prompt("canary", "system.md") == PROMPT_B
        assert store.prompt(setup.canary[:6], "system.md") == PROMPT_B
        assert store.model("canary")["model"] == "m-2"
        # Not cached: "stable" follows a promotion.
        setup.cli("canary", "promote", "--full", "-q")
        assert store.prompt("stable", "system.md") == PROMPT_B


def test_unknown_version_and_component(setup: Setup):
    with kanari.Store(setup.state) as store:
        with pytest.raises(kanari.NotFoundError) as e:
            store.component("0" * 64, "system.md")
        assert e.value.status == 4 and e.value.message
        with pytest.raises(kanari.NotFoundError) as e:
            store.component(setup.canary, "nope.md")
        # The message lists the version's components.
        for name in ("system.md", "roles/backend.md", "search"):
            assert name in e.value.message
        with pytest.raises(kanari.NotFoundError):
            store.prompt("abc", "system.md")  # too short a prefix, or unknown
        with pytest.raises(kanari.NotFoundError):
            store.model("ffff")


def test_binary_component_is_not_a_prompt(setup: Setup):
    blob = setup.work / "blob.bin"
    blob.write_bytes(b"\xff\xfe\x00binary")
    v = json.loads(setup.cli("version", "add", "--prompt", f"system.md={blob}", "--file", f"data.bin={blob}",
                             "--track", "bin", "--json").stdout)["id"]
    with kanari.Store(setup.state) as store:
        assert store.component(v, "data.bin") == b"\xff\xfe\x00binary"
        with pytest.raises(kanari.UsageError, match="not UTF-8"):
            store.prompt(v, "data.bin")


def test_full_ids_are_cached_and_bounded(setup: Setup):
    with kanari.Store(setup.state, cache_size=2) as store:
        first = store.component(setup.stable, "system.md")
        assert store.component(setup.stable, "system.md") is first
        store.component(setup.canary, "system.md")
        store.component(setup.canary, "search")
        assert len(store._cache) == 2
        assert (setup.stable, "system.md") not in store._cache
        # Prefixes and stable/canary are never cached.
        store.component(setup.canary[:10], "system.md")
        store.component("stable", "system.md")
        assert all(len(v) == 64 for v, _ in store._cache)
        # The model configuration is cached beside the components.
        assert store.model(setup.stable) == store.model(setup.stable)
        assert (setup.stable, None) in store._cache
        # ...under a key no component name can take.
        with pytest.raises(kanari.NotFoundError, match="has no component ''"):
            store.component(setup.stable, "")
    with kanari.Store(setup.state, cache_size=0) as store:
        store.component(setup.stable, "system.md")
        assert not store._cache


def test_get_prompt_by_key_follows_the_route(setup: Setup):
    with kanari.Store(setup.state) as store:
        for i in range(60):
            p = store.get_prompt("system.md", key=f"user-{i}", task=f"t-{i}")
            assert p.route is not None and p.version == p.route.version
            if p.route.is_canary:
                assert (p.text, p.config["model"]) == (PROMPT_B, "m-2")
                assert p.compile(tone="kind", user="Ada") == \
                    "You are agent B. Be kind with Ada.\r\nNo final newline"
                assert p.compile(tone="brief") == "You are agent B. Be brief with {{ user }}.\r\nNo final newline"
            else:
                assert (str(p), p.config) == (PROMPT_A, {"model": "m-1", "temperature": 0.2})
            # The task was assigned: record needs no version.
            assert store.record(f"t-{i}", True).inserted == 1
        p = store.get_prompt("system.md", version=setup.canary[:8])
        assert (p.text, p.version, p.route) == (PROMPT_B, setup.canary[:8], None)
        with pytest.raises(kanari.UsageError, match="exactly one"):
            store.get_prompt("system.md")
        with pytest.raises(kanari.UsageError, match="exactly one"):
            store.get_prompt("system.md", key="k", version=setup.stable)
        with pytest.raises(kanari.UsageError, match="route by key"):
            store.get_prompt("system.md", version="stable")
        with pytest.raises(kanari.NotFoundError):
            store.get_prompt("missing.md", key="user-1")


def test_get_prompt_on_another_track(setup: Setup):
    other = add_version(setup.state, setup.work, "other track\n", "--track", "agents")
    with kanari.Store(setup.state) as store:
        p = store.get_prompt("system.md", key="user-1", track="agents")
        assert p.route is not None
        assert (p.text, p.version, p.route.arm) == ("other track\n", other, "stable")
        assert p.config == {}
