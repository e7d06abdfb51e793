#!/usr/bin/env python3
"""Renders `kanari report --html` in headless Chromium and checks what a
person would see: three charts drawn (SVGs whose shapes have non-zero
boxes, and non-background pixels of both arms' colours in the screenshot
where each chart is), no console errors, no network request, and an actor
and reason that are markup shown as text, never run. The same check on the
page with its charts removed must fail, so the check itself can fail.

  check_html_report.py KANARI [CHROMIUM]

Exit 0 when it passes, 1 when it fails, 77 (skipped) when Chromium is not
installed and CI is not set (scripts/test.sh installs it).
"""
import html
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib
from datetime import datetime, timedelta, timezone

KANARI = sys.argv[1]
CHROMIUM = sys.argv[2] if len(sys.argv) > 2 and sys.argv[2] else (
    shutil.which("chromium") or shutil.which("chromium-browser"))

EVIL_ACTOR = "<script>window.__pwned='actor'</script>"
EVIL_REASON = "<img src=x onerror=\"window.__pwned='reason'\"> & </td></tr></table><b>bold?</b>"

CHECKER = """<script>
window.__errors = [];
window.addEventListener('error', function (e) { window.__errors.push(String(e.message)); });
window.addEventListener('load', function () {
  var out = {charts: [], pwned: window.__pwned || null, errors: window.__errors};
  document.querySelectorAll('svg.chart').forEach(function (svg) {
    var r = svg.getBoundingClientRect(), drawn = 0;
    svg.querySelectorAll('rect,circle,path,polyline,polygon,line').forEach(function (el) {
      var b = el.getBoundingClientRect();
      if (b.width > 0 || b.height > 0) drawn++;
    });
    out.charts.push({id: svg.id, x: r.left + window.scrollX, y: r.top + window.scrollY,
                     w: r.width, h: r.height, drawn: drawn});
  });
  out.resources = performance.getEntriesByType('resource').map(function (e) { return e.name; });
  out.fetchers = document.querySelectorAll('[src],[href],link,iframe,object,embed,img').length;
  out.scripts = document.scripts.length;
  out.bold = document.querySelectorAll('b').length;
  out.text_has_actor = document.body.textContent.indexOf(%s) >= 0;
  document.body.setAttribute('data-kanari-check', JSON.stringify(out));
});
</script>
""" % json.dumps(EVIL_ACTOR).replace("</", "<\\/")  # no </script> inside the script


def run(*args, stdin=None):
    r = subprocess.run(args, input=stdin, capture_output=True, text=True)
    if r.returncode not in (0, 1):
        sys.exit("command failed (%d): %s\n%s" % (r.returncode, " ".join(args), r.stderr))
    return r.stdout


def make_store(state):
    k = lambda *a, stdin=None: run(KANARI, "--state", state, *a, stdin=stdin)
    k("init")
    work = os.path.dirname(state)
    for name, text in (("a.md", "You are agent A.\n"), ("b.md", "You are agent B.\n")):
        with open(os.path.join(work, name), "w") as f:
            f.write(text)
    k("version", "add", "--prompt", "system=" + os.path.join(work, "a.md"))
    canary = json.loads(k("version", "add", "--prompt", "system=" + os.path.join(work, "b.md"), "--json"))["id"]
    k("canary", "start", "--version", canary, "--steps", "25,100", "--reason", "try B")
    # An outcome counts only when it is dated inside its window (from the
    # rollout's or step's start on) and at most 10 minutes ahead of the
    # clock, and this runs on the real clock: the two batches are dated over
    # the next 9 minutes, the second after the first.
    start = datetime.now(timezone.utc) + timedelta(seconds=2)
    def batch(prefix, count, seconds0, fail_every, latency0, step):
        lines = []
        for i in range(count):
            for arm, version, fail, lat in (("c", "canary", 10, latency0 + 9 * i), ("s", "stable", fail_every, 70 + 4 * i)):
                at = start + timedelta(seconds=seconds0 + step * i)
                lines.append(json.dumps({"task": "%s%s%d" % (prefix, arm, i), "pass": i % fail != 3,
                                         "version": version, "latency_ms": lat,
                                         "at": at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")}))
        return "\n".join(lines) + "\n"
    k("record", "--jsonl", "-", stdin=batch("a", 30, 0, 5, 120, 8))
    k("canary", "evaluate", "--apply")  # PROMOTE: advances to 100 %
    k("--actor", EVIL_ACTOR, "canary", "pause", "--reason", EVIL_REASON)
    k("--actor", EVIL_ACTOR, "canary", "resume", "--reason", EVIL_REASON)
    k("record", "--jsonl", "-", stdin=batch("b", 25, 250, 6, 110, 12))
    out = json.loads(k("canary", "evaluate", "--apply", "--json"))
    if out["action"] != "promoted":
        sys.exit("setup: expected the gate to promote, got %s" % out)


def chromium(page, *extra):
    args = [CHROMIUM, "--headless", "--disable-gpu", "--no-sandbox", "--hide-scrollbars",
            "--force-device-scale-factor=1", "--user-data-dir=" + os.path.join(os.path.dirname(page), "profile"),
            # No network: a dead proxy and a resolver that resolves nothing.
            "--proxy-server=127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND",
            "--enable-logging=stderr", "--v=0", "--virtual-time-budget=3000", *extra, "file://" + page]
    r = subprocess.run(args, capture_output=True, text=True, timeout=180)
    if r.returncode != 0:
        sys.exit("chromium failed (%d):\n%s" % (r.returncode, r.stderr[-4000:]))
    return r.stdout, r.stderr


def read_png(path):
    """(width, height, rows of (r, g, b)) of an 8-bit RGB or RGBA PNG."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and ctype in (2, 6) and interlace == 0, "unsupported PNG"
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows, prev = [], bytearray(stride)
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append([tuple(line[x * bpp:x * bpp + 3]) for x in range(width)])
        prev = line
    return width, height, rows


def check(page, shot_dir):
    """Problems with the page as Chromium shows it (empty when it is fine)."""
    problems = []
    dom, log = chromium(page, "--dump-dom", "--window-size=1000,3000")
    console = [l for l in log.splitlines() if "CONSOLE" in l]
    if console:
        problems.append("console messages: %s" % console)
    m = re.search(r'data-kanari-check="([^"]*)"', dom)
    if not m:
        return problems + ["the checker did not run"]
    got = json.loads(html.unescape(m.group(1)))
    print("page:", json.dumps(got))
    if got["pwned"]:
        problems.append("markup from the store ran: %s" % got["pwned"])
    if got["errors"]:
        problems.append("script errors: %s" % got["errors"])
    if got["resources"]:
        problems.append("the page fetched %s" % got["resources"])
    if got["fetchers"]:
        problems.append("%d elements that could fetch" % got["fetchers"])
    if got["scripts"] != 1 or got["bold"]:
        problems.append("markup from the store became elements (%d scripts, %d <b>)" % (got["scripts"], got["bold"]))
    if not got["text_has_actor"]:
        problems.append("the actor is not shown as text")
    want = {"chart-pass-rate": 20, "chart-latency": 10, "chart-timeline": 8}
    charts = {c["id"]: c for c in got["charts"]}
    for cid, least in want.items():
        c = charts.get(cid)
        if not c:
            problems.append("no %s" % cid)
        elif c["w"] < 300 or c["h"] < 100 or c["drawn"] < least:
            problems.append("%s is not drawn: %s" % (cid, c))
    if problems:
        return problems
    bottom = int(max(c["y"] + c["h"] for c in charts.values())) + 20
    shot = os.path.join(shot_dir, "report.png")
    chromium(page, "--screenshot=" + shot, "--window-size=1000,%d" % bottom)
    width, height, rows = read_png(shot)
    for cid, c in charts.items():
        x0, y0 = max(int(c["x"]), 0), max(int(c["y"]), 0)
        x1, y1 = min(int(c["x"] + c["w"]), width), min(int(c["y"] + c["h"]), height)
        ink = orange = blue = 0
        for y in range(y0, y1):
            for r, g, b in rows[y][x0:x1]:
                if r < 235 or g < 235 or b < 235:
                    ink += 1
                if r - b > 60 and r > g:
                    orange += 1
                if b - r > 60 and b > g:
                    blue += 1
        area = max((x1 - x0) * (y1 - y0), 1)
        print("%s: %dx%d px, %.1f %% ink, %d canary-coloured, %d stable-coloured pixels"
              % (cid, x1 - x0, y1 - y0, 100.0 * ink / area, orange, blue))
        if ink < 0.02 * area:
            problems.append("%s looks blank in the screenshot (%.2f %% ink)" % (cid, 100.0 * ink / area))
        if orange < 200:
            problems.append("%s shows no canary colour" % cid)
        if cid != "chart-timeline" and blue < 200:
            problems.append("%s shows no stable colour" % cid)
    return problems


def main():
    if not CHROMIUM:
        if os.environ.get("CI"):
            sys.exit("chromium is not installed (scripts/test.sh installs it)")
        print("chromium is not installed; skipped (scripts/test.sh installs it)")
        return 77
    with tempfile.TemporaryDirectory() as tmp:
        make_store(os.path.join(tmp, "state"))
        report = os.path.join(tmp, "report.html")
        run(KANARI, "--state", os.path.join(tmp, "state"), "report", "--html", report)
        page = open(report, encoding="utf-8").read()
        failed = []
        if re.search(r"https?://", page):
            failed.append("the page contains a URL")
        # The checker needs to run, so the page's own Content-Security-Policy
        # (which forbids every script) goes; everything else stays as written.
        checked = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>\n?', "", page)
        if checked == page:
            failed.append("the page has no Content-Security-Policy")
        checked = checked.replace("<head>\n", "<head>\n" + CHECKER, 1)
        path = os.path.join(tmp, "checked.html")
        open(path, "w", encoding="utf-8").write(checked)
        failed += check(path, tmp)
        # The control: without its charts the same page must fail the check.
        bare = re.sub(r"<svg class=\"chart\".*?</svg>\n", "", checked, flags=re.S)
        bare_path = os.path.join(tmp, "bare.html")
        open(bare_path, "w", encoding="utf-8").write(bare)
        if bare == checked or not check(bare_path, tmp):
            failed.append("the check passes on a page without charts: it cannot tell")
        # And with charts laid out but not painted, the screenshot check must
        # be what fails.
        hidden = checked.replace("</style>", "svg.chart { visibility: hidden; }\n</style>", 1)
        hidden_path = os.path.join(tmp, "hidden.html")
        open(hidden_path, "w", encoding="utf-8").write(hidden)
        if not any("looks blank" in p for p in check(hidden_path, tmp)):
            failed.append("the screenshot check passes on a page whose charts are not painted")
        if failed:
            print("FAILED:\n  " + "\n  ".join(failed))
            return 1
        print("the report renders in Chromium: three charts drawn, nothing fetched, no console errors, "
              "markup from the store shown as text")
        return 0


if __name__ == "__main__":
    sys.exit(main())
