#!/usr/bin/python3
"""Reference values for kanari's paired statistics, computed independently of the C++.

Run with Debian's interpreter, which has numpy and scipy, and mpmath
(apt-get install python3-mpmath):

    /usr/bin/python3 tests/data/gen_paired_vectors.py

It rewrites, next to this script:

  paired_vectors.json
      mcnemar   McNemar's exact one-sided test on the discordant pairs:
                p = P(X >= stable_only) for X ~ Binomial(stable_only +
                canary_only, 1/2), the p-value of
                scipy.stats.binomtest(stable_only, n, 0.5, 'greater'). "p" is
                computed here at 50 significant digits with mpmath, as the
                regularized incomplete beta I_{1/2}(k, n - k + 1) by
                quadrature of its integral; "p_scipy" is binomtest's value.
                They agree to 1e-10 up to a million discordant pairs (checked
                below), but scipy 1.10's binom.sf loses accuracy beyond that
                (scipy issue #13079): at n = 2^41 it is off by 2e-5 and even
                puts P(X >= n/2) below 1/2, which symmetry rules out. So the
                C++ is held to "p". With no discordant pairs binomtest
                refuses n = 0; the p-value is 1 by definition there.
      wilcoxon  Wilcoxon signed-rank test on paired differences: zeros
                dropped here first (Wilcoxon's treatment), then
                scipy.stats.wilcoxon(d, alternative=..., method='exact') when
                at most 50 differences remain and no two |d| are equal, else
                method='approx', correction=False (normal approximation,
                tie-corrected variance). The statistic scipy returns for a
                one-sided alternative is W+, the sum of the ranks of the
                positive differences; checked below. With nothing left after
                dropping zeros scipy has no answer; W+ = 0 and p = 1 by
                definition.

The references are checked here against exact rational arithmetic where that
is cheap: the McNemar p-values up to 3000 discordant pairs, scipy's exact
Wilcoxon p-values by counting subsets. The C++ tests read the file; nothing
here runs at test time.
"""
import json
import math
import os
import random
from fractions import Fraction

import mpmath
import numpy as np
import scipy
from mpmath import mp, mpf
from scipy import stats

HERE = os.path.dirname(os.path.abspath(__file__))
MAX_COUNT = 2**40


# --- McNemar ------------------------------------------------------------------

def exact_upper_tail(k, n):
    # P(X >= k), X ~ Binomial(n, 1/2), as an exact fraction.
    total = 0
    c = math.comb(n, k)
    for j in range(k, n + 1):
        total += c
        c = c * (n - j) // (j + 1)
    return Fraction(total, 2**n)


def mp_upper_tail(k, n):
    # P(X >= k), X ~ Binomial(n, 1/2), as I_{1/2}(k, n - k + 1) =
    # int_0^{1/2} t^(k-1) (1-t)^(n-k) dt / B(k, n - k + 1), at 50 digits.
    if k == 0:
        return mpf(1)
    if 2 * k <= n:
        return 1 - mp_upper_tail(n - k + 1, n)  # I_x(a, b) = 1 - I_{1-x}(b, a)
    a, b = mpf(k), mpf(n - k + 1)
    half = mpf(1) / 2

    def log_integrand(t):
        return (a - 1) * mp.log(t) + (b - 1) * mp.log1p(-t)

    top = log_integrand(half)  # k > n/2: the integrand rises all the way to 1/2
    # Breakpoints for the quadrature, geometric away from 1/2 from the
    # integrand's own scale there: the smaller of its normal width and the
    # decay length of its exponential fall.
    slope = 2 * (a - b)  # d/dt log_integrand at 1/2
    scale = 1 / (2 * mp.sqrt(n))
    if slope > 0:
        scale = min(scale, 1 / slope)
    points = [half]
    step = scale / 4
    while half - step > 0:
        points.append(half - step)
        step *= 2
    points.append(mpf(0))
    integral = mp.quad(lambda t: mp.exp(log_integrand(t) - top), points[::-1])
    log_beta = mp.loggamma(a) + mp.loggamma(b) - mp.loggamma(a + b)
    return mp.exp(top - log_beta) * integral


def mcnemar_case(name, stable_only, canary_only):
    assert 0 <= stable_only <= MAX_COUNT and 0 <= canary_only <= MAX_COUNT
    n = stable_only + canary_only
    if n == 0:
        return {"name": name, "stable_only": 0, "canary_only": 0, "p": 1.0, "p_scipy": None}
    p = float(mp_upper_tail(stable_only, n))
    p_scipy = float(stats.binomtest(stable_only, n, 0.5, alternative="greater").pvalue)
    if n <= 3000:
        exact = float(exact_upper_tail(stable_only, n))
        assert p == exact, (name, p, exact)
    if n <= 10**6:
        # subnormal results carry few digits: compare them on the 2^-1074 grid
        assert abs(p_scipy - p) <= 1e-10 * p or abs(p_scipy - p) <= 4 * 2.0**-1074, (name, p, p_scipy)
    return {"name": name, "stable_only": stable_only, "canary_only": canary_only, "p": p, "p_scipy": p_scipy}


def around_half(name, n, z):
    # stable_only about z standard deviations above n/2 (sd = sqrt(n)/2).
    k = int(round(n / 2 + z * math.sqrt(n) / 2))
    k = max(0, min(n, k))
    return mcnemar_case(name, k, n - k)


def mcnemar_cases():
    cases = [
        mcnemar_case("no discordant pairs", 0, 0),
        mcnemar_case("one stable_only", 1, 0),
        mcnemar_case("one canary_only", 0, 1),
        mcnemar_case("three stable_only: 1/8", 3, 0),
        mcnemar_case("all canary_only", 0, 7),
        mcnemar_case("all stable_only 20", 20, 0),
        mcnemar_case("symmetric 1-1", 1, 1),
        mcnemar_case("symmetric 2-2", 2, 2),
        mcnemar_case("symmetric 10-10", 10, 10),
        mcnemar_case("symmetric 500-500", 500, 500),
        mcnemar_case("7 vs 3", 7, 3),
        mcnemar_case("3 vs 7", 3, 7),
        mcnemar_case("6 vs 5", 6, 5),
        mcnemar_case("15 vs 2", 15, 2),
        mcnemar_case("near 1: 1 vs 50", 1, 50),
        mcnemar_case("near 1: 5 vs 60", 5, 60),
        mcnemar_case("near 1: 1 vs 1000", 1, 1000),
        mcnemar_case("near 1: 2 vs 40", 2, 40),
        mcnemar_case("near 1: 20 vs 80", 20, 80),
        mcnemar_case("tiny: 1000 vs 0", 1000, 0),
        mcnemar_case("tiny: 1000 vs 5", 1000, 5),
        mcnemar_case("smallest subnormal: 1074 vs 0", 1074, 0),
        mcnemar_case("underflow: 1075 vs 0", 1075, 0),
        mcnemar_case("underflow: 5000 vs 10", 5000, 10),
        mcnemar_case("200 vs 150", 200, 150),
        mcnemar_case("2900 vs 100", 2900, 100),
        mcnemar_case("largest both", MAX_COUNT, MAX_COUNT),
        mcnemar_case("largest stable, one canary", MAX_COUNT, 1),
        mcnemar_case("largest stable only", MAX_COUNT, 0),
        mcnemar_case("largest canary only", 0, MAX_COUNT),
        mcnemar_case("one stable, largest canary", 1, MAX_COUNT),
        mcnemar_case("largest, one more stable", MAX_COUNT, MAX_COUNT - 1),
        mcnemar_case("largest, one more canary", MAX_COUNT - 1, MAX_COUNT),
    ]
    # p across its whole range at several sizes, including sizes where the
    # normal approximation is poor (n = 30) and where counts are huge.
    for n in [30, 1001, 10**6, 10**9 + 7, 2**40 + 1, 2**41 - 3]:
        for z in [-40, -10, -5, -3, -1, -0.3, 0, 0.3, 1, 2, 3, 5, 10, 20, 30, 37, 38.2, 38.6]:
            k = int(round(n / 2 + z * math.sqrt(n) / 2))
            if 0 <= k <= n and k <= MAX_COUNT and n - k <= MAX_COUNT:
                cases.append(around_half("n=%d z=%g" % (n, z), n, z))
    rng = random.Random(20270115)
    for i in range(30):
        scale = rng.choice([10, 1000, 10**6, MAX_COUNT])
        a = rng.randint(0, scale)
        b = max(0, min(MAX_COUNT, a + rng.randint(-int(3 * math.sqrt(a + 1)), int(3 * math.sqrt(a + 1)))))
        if rng.random() < 0.5:
            a, b = b, a
        cases.append(mcnemar_case("random %d" % i, a, b))
    # names are unique; duplicate (stable_only, canary_only) pairs add nothing
    seen, unique = set(), []
    for c in cases:
        key = (c["stable_only"], c["canary_only"])
        if key not in seen:
            seen.add(key)
            unique.append(c)
    return unique


# --- Wilcoxon -----------------------------------------------------------------

def exact_count_tail(ranks_positive_sum, n, alternative):
    # Number of subsets of {1..n} with sum >= (greater) or <= (less) the
    # statistic, over 2^n, by dynamic programming in big integers.
    top = n * (n + 1) // 2
    counts = [1] + [0] * top
    for r in range(1, n + 1):
        for s in range(top, r - 1, -1):
            counts[s] += counts[s - r]
    w = int(ranks_positive_sum)
    tail = sum(counts[w:]) if alternative == "greater" else sum(counts[: w + 1])
    return Fraction(tail, 2**n)


def wilcoxon_case(name, differences, alternative):
    d = [float(x) for x in differences]
    nonzero = np.array([x for x in d if x != 0.0], dtype=np.float64)
    zeros = len(d) - len(nonzero)
    n = len(nonzero)
    absd = np.abs(nonzero)
    ties = len(np.unique(absd)) != n
    ranks = stats.rankdata(absd)
    w_plus = float(np.sum(ranks[nonzero > 0]))
    case = {"name": name, "differences": d, "alternative": alternative, "n": n, "zeros": zeros}
    if n == 0:
        case.update({"w_plus": 0.0, "exact": True, "z": 0.0, "p": 1.0})
        return case
    exact = n <= 50 and not ties
    if exact:
        res = stats.wilcoxon(nonzero, alternative=alternative, method="exact")
        z = 0.0
        reference = exact_count_tail(w_plus, n, alternative)
        assert abs(float(res.pvalue) - float(reference)) <= 1e-14 * float(reference), (name, res.pvalue)
    else:
        res = stats.wilcoxon(nonzero, alternative=alternative, method="approx", correction=False)
        z = float(res.zstatistic)
    # scipy's statistic for a one-sided alternative is W+.
    assert float(res.statistic) == w_plus, (name, res.statistic, w_plus)
    case.update({"w_plus": w_plus, "exact": exact, "z": z, "p": float(res.pvalue)})
    return case


def wilcoxon_inputs():
    rng = np.random.default_rng(20270115)

    def distinct(n, shift, scale=1.0):
        # n values with distinct magnitudes (rounded to 6 places for readability)
        while True:
            x = np.round(rng.normal(shift, scale, n), 6)
            if len(np.unique(np.abs(x))) == n and not (x == 0).any():
                return x.tolist()

    fifty = distinct(50, -0.3)
    inputs = [
        ("empty", []),
        ("all zeros", [0.0, 0.0, -0.0, 0.0]),
        ("n = 1 positive", [2.5]),
        ("n = 1 negative", [-0.25]),
        ("n = 1 after zeros", [0.0, 0.0, 3.0]),
        ("two opposite", [1.0, -2.0]),
        ("all positive 10", [float(i) for i in range(1, 11)]),
        ("all negative 10", [-0.5 * i for i in range(1, 11)]),
        ("symmetric", [1.0, -2.0, 3.0, -4.0, 5.0, -6.0, 7.0, -8.0]),
        ("alternating signs", [-1.0, 2.0, -3.0, 4.0, -5.0, 6.0, -7.0, 8.0]),
        ("mostly positive", [0.3, 1.2, -0.1, 2.2, 0.7, 1.9, -0.4, 0.05, 3.1, 1.1, 0.9, -1.5]),
        ("zeros dropped", [0.0, 1.5, -0.5, 0.0, 2.5, 3.5, 0.0, -4.5, 5.5, 6.5]),
        ("ties small", [1.0, 1.0, -1.0, 2.0, 2.0, 3.0]),
        ("ties and zeros", [0.0, -1.0, 1.0, 2.0, -2.0, 2.0, 0.0, 3.0, 4.0, 4.0]),
        ("all tied", [1.0, -1.0, 1.0, 1.0, 1.0]),
        ("all tied positive", [0.5] * 12),
        ("one tie among 20", [float(i) for i in range(1, 20)] + [-7.0]),
        ("not tied: 0.1 + 0.2 vs 0.3", [0.1 + 0.2, -0.3, 0.5, 0.7]),
        ("n = 50 exact", distinct(50, 0.2)),
        ("n = 50 all positive", [float(i) for i in range(1, 51)]),
        ("n = 51 approx", distinct(51, 0.2)),
        ("n = 50 with one tie", [float(i) for i in range(1, 50)] + [-25.0]),
        ("53 values 3 zeros: exact", fifty[:25] + [0.0, 0.0, 0.0] + fifty[25:]),
        ("n = 30 exact", distinct(30, -0.5)),
        ("n = 200 shifted", distinct(200, 0.1)),
        ("n = 120 negative shift", distinct(120, -0.4)),
        ("n = 1000 integer ties", np.round(rng.normal(0.3, 3.0, 1000)).tolist()),
        ("n = 1000 all positive", [float(i) for i in range(1, 1001)]),
        ("large magnitudes", [1e300, -1e-300, 5e299, -2e300, 3e-310, 7.0]),
    ]
    return inputs


def wilcoxon_cases():
    cases = []
    for name, d in wilcoxon_inputs():
        for alternative in ["greater", "less"]:
            cases.append(wilcoxon_case("%s (%s)" % (name, alternative), d, alternative))
    return cases


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
    import warnings

    mp.dps = 50

    # binom.sf warns (divide by zero) when its result underflows to 0.
    warnings.simplefilter("ignore", RuntimeWarning)
    write("paired_vectors.json", {
        "generator": "tests/data/gen_paired_vectors.py (scipy %s, numpy %s, mpmath %s)"
        % (scipy.__version__, np.__version__, mpmath.__version__),
        "mcnemar": mcnemar_cases(),
        "wilcoxon": wilcoxon_cases(),
    })
