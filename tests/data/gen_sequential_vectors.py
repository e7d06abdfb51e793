#!/usr/bin/python3
"""Reference values for kanari's gate statistics, computed independently of the C++.

Run with Debian's interpreter, which has numpy and scipy:

    /usr/bin/python3 tests/data/gen_sequential_vectors.py

It rewrites, next to this script:

  sequential_vectors.json  the sequential method (docs/gates.md, "Sequential"):
      asymptotic confidence sequence of Waudby-Smith et al. (2023) in the form
      GrowthBook's gbstats uses, on c - s with add-one-smoothed variances;
      bounds, verdict and the more-canary-tasks estimate (found here by a
      linear scan, where the C++ bisects).
  stats_vectors.json       Wilson 95 % intervals from scipy.stats.binomtest and
      threshold-rule verdicts from exact rational arithmetic (fractions).

The C++ tests read both files; nothing here runs at test time.
"""
import json
import math
import os
import random
from fractions import Fraction

import numpy as np
from scipy import stats

HERE = os.path.dirname(os.path.abspath(__file__))
MAX_COUNT = 2**40


# --- sequential ----------------------------------------------------------------

def rho(alpha, planned):
    # Waudby-Smith et al. 2023, closed-form rho optimising the width at `planned`.
    two_log = -2.0 * math.log(alpha)
    return math.sqrt((two_log + math.log(two_log + 1.0)) / planned)


def halfwidth(s2, n, r, alpha):
    # eq. (9) of Waudby-Smith et al. 2023, as written in gbstats.
    nr2 = n * r * r
    return math.sqrt(s2) * math.sqrt(2.0 * (nr2 + 1.0) * math.log(math.sqrt(nr2 + 1.0) / alpha) / (n * r) ** 2)


def smoothed_var(x, n):
    p = (x + 1.0) / (n + 2.0)
    return p * (1.0 - p)


def seq_case(name, cp, cn, sp, sn, alpha, ppm, regression="absolute", planned=200):
    c, s = cp / cn, sp / sn
    diff = c - s
    vc, vs = smoothed_var(cp, cn), smoothed_var(sp, sn)
    var = vc / cn + vs / sn
    total = cn + sn
    r = rho(alpha, planned)
    h = halfwidth(var * total, total, r, alpha)
    lower, upper = diff - h, diff + h
    margin = ppm / 1e6 * (s if regression == "relative" else 1.0)
    if upper < 0:
        verdict = "ROLLBACK"
    elif lower > -margin:
        verdict = "PROMOTE"
    else:
        verdict = "HOLD"
    more = None
    if verdict == "HOLD":
        # Linear scan, vectorised: the first m > cn at which the projected
        # bounds (same smoothed variances, same stable/canary ratio) decide.
        ratio = sn / cn
        start = cn + 1
        chunk = 1_000_000
        while start < 50_000_000:
            m = np.arange(start, start + chunk, dtype=np.float64)
            ms = ratio * m
            t = m + ms
            v = vc / m + vs / ms
            nr2 = t * r * r
            hw = np.sqrt(v * t) * np.sqrt(2.0 * (nr2 + 1.0) * np.log(np.sqrt(nr2 + 1.0) / alpha) / (t * r) ** 2)
            ok = (diff + hw < 0) | (diff - hw > -margin)
            if ok.any():
                more = int(m[np.argmax(ok)]) - cn
                break
            start += chunk
    return {
        "name": name, "canary_pass": cp, "canary_n": cn, "stable_pass": sp, "stable_n": sn,
        "alpha": alpha, "max_regression_ppm": ppm, "regression": regression,
        "planned_samples": planned, "rho": r, "diff": diff, "variance": var,
        "halfwidth": h, "lower": lower, "upper": upper, "margin": margin,
        "verdict": verdict, "more_canary_tasks": more,
    }


SEQUENTIAL = [
    seq_case("equal small", 9, 10, 9, 10, 0.05, 100000),
    seq_case("equal large", 900, 1000, 900, 1000, 0.05, 100000),
    seq_case("equal huge", 90000, 100000, 90000, 100000, 0.05, 100000),
    seq_case("slightly worse large", 880, 1000, 900, 1000, 0.05, 100000),
    seq_case("much worse small", 5, 10, 9, 10, 0.05, 100000),
    seq_case("much worse medium", 30, 50, 45, 50, 0.05, 100000),
    seq_case("much worse large", 140, 200, 180, 200, 0.05, 100000),
    seq_case("all pass both", 10, 10, 10, 10, 0.05, 100000),
    seq_case("all pass large", 500, 500, 500, 500, 0.05, 100000),
    seq_case("none pass both", 0, 20, 0, 20, 0.05, 100000),
    seq_case("canary better", 95, 100, 80, 100, 0.05, 50000),
    seq_case("zero margin equal", 450, 500, 450, 500, 0.05, 0),
    seq_case("zero margin better", 480, 500, 400, 500, 0.05, 0),
    seq_case("unequal arms", 45, 50, 1800, 2000, 0.05, 100000),
    seq_case("unequal arms worse", 35, 50, 1800, 2000, 0.05, 100000),
    seq_case("alpha 0.01", 170, 200, 180, 200, 0.01, 100000),
    seq_case("alpha 0.2", 170, 200, 180, 200, 0.2, 100000),
    seq_case("alpha 0.5", 17, 20, 18, 20, 0.5, 50000),
    seq_case("planned 20", 18, 20, 18, 20, 0.05, 100000, planned=20),
    seq_case("planned 5000", 1800, 2000, 1800, 2000, 0.05, 20000, planned=5000),
    seq_case("relative", 160, 200, 180, 200, 0.05, 100000, regression="relative"),
    seq_case("relative low base", 18, 100, 20, 100, 0.05, 250000, regression="relative"),
    seq_case("tight margin", 900, 1000, 905, 1000, 0.05, 10000),
    seq_case("big counts", 2**30 - 5, 2**30, 2**30 - 7, 2**30, 0.05, 1000),
]


# --- Wilson ---------------------------------------------------------------------

def wilson(k, n):
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    return {"pass": k, "n": n, "lo": float(ci.low), "hi": float(ci.high)}


WILSON = [wilson(k, n) for k, n in [(0, 1), (1, 1), (0, 10), (7, 10), (10, 10), (1, 2),
                                    (50, 100), (99, 100), (1, 1000), (123456, 1000000)]]


# --- threshold rule (exact rationals) ---------------------------------------------

def threshold(cp, cn, sp, sn, ppm, regression):
    c, s, delta = Fraction(cp, cn), Fraction(sp, sn), Fraction(ppm, 10**6)
    if regression == "absolute":
        rollback = s - c > delta
    else:
        rollback = s > 0 and (s - c) / s > delta
    if rollback:
        return "rollback"
    return "promote" if c >= s else "hold"


def threshold_cases():
    rng = random.Random(20240601)
    cases = []
    for _ in range(400):
        regression = rng.choice(["absolute", "relative"])
        ppm = rng.choice([0, 1, 50000, 100000, 123456, 250000, 999999, 1000000])
        scale = rng.choice([10, 100, 1000, MAX_COUNT])
        cn = rng.randint(1, scale)
        sn = rng.randint(1, scale)
        cp = rng.randint(0, cn)
        sp = rng.randint(0, sn)
        cases.append((cp, cn, sp, sn, ppm, regression))
    # exact boundaries: s - c == delta, and one pass either side
    for k in range(1, 16):
        n = 10 * k
        for ppm, regression in [(100000, "absolute"), (200000, "absolute"), (100000, "relative")]:
            for sp in range(0, n + 1, max(1, n // 10)):
                if regression == "absolute":
                    cp = sp - n * ppm // 10**6
                else:
                    cp = sp - sp * ppm // 10**6
                for d in (-1, 0, 1):
                    if 0 <= cp + d <= n:
                        cases.append((cp + d, n, sp, n, ppm, regression))
    # huge counts at the boundary
    big = MAX_COUNT
    cases += [(big - big // 10 - 1, big, big, big, 100000, "absolute"),
              (big - big // 10, big, big, big, 100000, "absolute"),
              (big - 1, big, big, big, 0, "absolute"),
              (big, big, big, big, 0, "absolute"),
              (0, big, big, big, 1000000, "absolute"),
              (0, big, big, big, 999999, "absolute")]
    # compact rows: [canary_pass, canary_n, stable_pass, stable_n, ppm, regression, call]
    return [[cp, cn, sp, sn, ppm, regression, threshold(cp, cn, sp, sn, ppm, regression)]
            for cp, cn, sp, sn, ppm, regression in cases]


def write(name, doc):
    # One line per list element, so a diff of the vectors reads case by case.
    lines = ["{"]
    keys = sorted(doc)
    for i, key in enumerate(keys):
        value = doc[key]
        end = "," if i + 1 < len(keys) else ""
        if isinstance(value, list):
            lines.append(" %s: [" % json.dumps(key))
            for j, item in enumerate(value):
                sep = "," if j + 1 < len(value) else ""
                lines.append("  " + json.dumps(item, sort_keys=True) + sep)
            lines.append(" ]" + end)
        else:
            lines.append(" %s: %s%s" % (json.dumps(key), json.dumps(value), end))
    lines.append("}")
    with open(os.path.join(HERE, name), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    write("sequential_vectors.json", {
        "generator": "tests/data/gen_sequential_vectors.py (numpy %s)" % np.__version__,
        "cases": SEQUENTIAL,
    })
    write("stats_vectors.json", {
        "generator": "tests/data/gen_sequential_vectors.py (scipy %s)" % __import__("scipy").__version__,
        "wilson": WILSON,
        "threshold_rows": "[canary_pass, canary_n, stable_pass, stable_n, max_regression_ppm, regression, call]",
        "threshold": threshold_cases(),
    })
