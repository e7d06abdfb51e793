#!/usr/bin/env python3
"""`kanari metrics` read by an independent parser: the Prometheus client
library's own text-format parser (Debian's python3-prometheus-client), with
the values checked against `kanari canary status --json` and the outcomes
recorded, and --output written atomically for the textfile collector.

  check_metrics.py KANARI
"""
import json
import os
import subprocess
import sys
import tempfile

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:
    sys.exit("python3-prometheus-client is not installed (scripts/test.sh installs it); run this with "
             "Debian's /usr/bin/python3")

KANARI = sys.argv[1]


def kanari(state, *args, stdin=None):
    r = subprocess.run([KANARI, "--state", state, *args], input=stdin, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("kanari %s failed (%d): %s" % (" ".join(args), r.returncode, r.stderr))
    return r.stdout


def parse(text):
    """{(sample name, frozenset(labels)): value}, and the families."""
    families = list(text_string_to_metric_families(text))
    samples = {}
    for f in families:
        assert f.name.startswith("kanari_"), f.name
        assert f.documentation, "%s has no HELP" % f.name
        assert f.type in ("counter", "gauge"), (f.name, f.type)
        for s in f.samples:
            key = (s.name, frozenset(s.labels.items()))
            assert key not in samples, "duplicate sample %s" % (key,)
            samples[key] = s.value
    return families, samples


def value(samples, name, **labels):
    return samples[(name, frozenset(labels.items()))]


def main():
    failures = []
    def expect(cond, what):
        if not cond:
            failures.append(what)
    with tempfile.TemporaryDirectory() as tmp:
        state = os.path.join(tmp, "state")
        kanari(state, "init")
        for track, n in (("agent.b-2", 2), ("default", 2)):
            ids = []  # the default track's, added last
            for i in range(n):
                p = os.path.join(tmp, "%s-%d.md" % (track, i))
                open(p, "w").write("prompt %s %d\n" % (track, i))
                ids.append(json.loads(kanari(state, "--track", track, "version", "add", "--prompt", "p=" + p,
                                             "--json"))["id"])
        kanari(state, "canary", "start", "--version", ids[1], "--steps", "12.5,50,100")
        lines = []
        for i in range(40):
            lines.append(json.dumps({"task": "c%d" % i, "pass": i % 7 != 0, "version": "canary",
                                     "latency_ms": 50 + 3 * i}))
            lines.append(json.dumps({"task": "s%d" % i, "pass": i % 4 != 0, "version": "stable",
                                     "latency_ms": 40 + 2 * i, **({"error": "E1"} if i % 10 == 0 else {})}))
        kanari(state, "record", "--jsonl", "-", stdin="\n".join(lines) + "\n")
        status = json.loads(kanari(state, "canary", "status", "--json"))

        text = kanari(state, "metrics")
        families, samples = parse(text)
        print("%d families, %d samples parsed" % (len(families), len(samples)))
        expect(text.endswith("\n"), "the exposition does not end in a newline")
        t = {"track": "default"}
        for arm in ("canary", "stable"):
            st = status[arm + "_stats"]
            a = dict(t, arm=arm)
            expect(value(samples, "kanari_gate_outcomes", **a) == st["n"], "gate outcomes of " + arm)
            expect(value(samples, "kanari_gate_passes", **a) == st["pass"], "gate passes of " + arm)
            expect(abs(value(samples, "kanari_gate_pass_rate", **a) - st["pass_rate"]) < 1e-12,
                   "gate pass rate of " + arm)
            expect(abs(value(samples, "kanari_gate_latency_seconds", quantile="0.5", **a) * 1000
                       - st["latency_p50_ms"]) < 1e-9, "p50 of " + arm)
            expect(abs(value(samples, "kanari_gate_latency_seconds", quantile="0.95", **a) * 1000
                       - st["latency_p95_ms"]) < 1e-9, "p95 of " + arm)
            expect(value(samples, "kanari_outcomes_total", **a) == 40, "outcomes_total of " + arm)
        expect(value(samples, "kanari_outcome_passes_total", track="default", arm="canary") == 34, "canary passes")
        expect(value(samples, "kanari_outcome_passes_total", track="default", arm="stable") == 30, "stable passes")
        expect(value(samples, "kanari_outcome_errors_total", track="default", arm="stable") == 4, "stable errors")
        expect(value(samples, "kanari_rollout_percentage", **t) == status["percentage"] == 12.5, "percentage")
        expect(value(samples, "kanari_rollout_step", **t) == status["step"] == 0, "step")
        expect(value(samples, "kanari_rollout_state", track="default", state="active") == 1, "state active")
        expect(value(samples, "kanari_rollout_info", track="default", rollout=str(status["rollout"]),
                     stable=status["stable"], canary=status["canary"]) == 1, "rollout info")
        expect(value(samples, "kanari_tracks") == 2, "tracks")
        expect(value(samples, "kanari_rollout_state", track="agent.b-2", state="idle") == 1, "idle track")
        expect(value(samples, "kanari_rollout_percentage", track="agent.b-2") == 0, "idle percentage")
        expect(value(samples, "kanari_outcomes_total", track="agent.b-2", arm="canary") == 0, "idle outcomes")

        # --output: the same text, written for the textfile collector.
        collector = os.path.join(tmp, "textfile")
        os.mkdir(collector)
        out = os.path.join(collector, "kanari.prom")
        kanari(state, "metrics", "--output", out)
        written = open(out).read()
        expect(written == text, "--output differs from stdout")
        expect(os.listdir(collector) == ["kanari.prom"], "files left in the collector directory: %s"
               % os.listdir(collector))
        expect(oct(os.stat(out).st_mode & 0o777) == "0o644", "mode %o" % os.stat(out).st_mode)
        parse(written)
    if failures:
        print("FAILED: " + "; ".join(failures))
        return 1
    print("kanari metrics parses as Prometheus text and matches canary status")
    return 0


if __name__ == "__main__":
    sys.exit(main())
