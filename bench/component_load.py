# Per-call cost of loading a prompt at run time through the Python package
# (docs/benchmarks.md, "Loading a prompt at run time").
#   KANARI_LIBRARY=build/lib/libkanari.so PYTHONPATH=python python3 bench/component_load.py STATE FULL_ID
# STATE holds a version FULL_ID with a prompt a.md.
import sys, time
import kanari

state, vid = sys.argv[1], sys.argv[2]
def per_call(fn, n):
    best = []
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(n):
            fn()
        best.append((time.perf_counter() - t) / n * 1e6)
    best.sort()
    return best[2], best[0], best[-1]

with kanari.Store(state) as cached, kanari.Store(state, cache_size=0) as raw:
    for label, fn, n in [
        ("component(full id), cached", lambda: cached.component(vid, "a.md"), 100000),
        ("component(full id), cache_size=0", lambda: raw.component(vid, "a.md"), 5000),
        ("component(\"stable\") (never cached)", lambda: cached.component("stable", "a.md"), 5000),
        ("model(full id), cached", lambda: cached.model(vid), 100000),
        ("route(key)", lambda: cached.route("user-42"), 5000),
    ]:
        med, lo, hi = per_call(fn, n)
        print(f"| `{label}` | {med:.1f} µs ({lo:.1f}–{hi:.1f}) |")
