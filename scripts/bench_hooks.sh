#!/usr/bin/env bash
# What one healthy URL hook adds to a command that writes an event
# (docs/hooks.md): `canary pause` on a store with a hook on `paused`
# posting to a local HTTP server that answers at once, against the same
# command on a store with no hook, in the same run (hyperfine: median of
# RUNS, default 21, with min and max; `canary resume` before each run, its
# own delivery outside the timing). Both stores are SQLite.
#   ./scripts/bench_hooks.sh
set -euo pipefail
source "$(dirname "$0")/common.sh"
ensure_packages "${KANARI_PACKAGES[@]}" hyperfine python3
build_kanari
K="$BUILD_DIR/cli/kanari"
runs=${RUNS:-21}
work=$(mktemp -d)
server=
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"' EXIT
python3 - "$work/port" <<'PY' &
import http.server, sys
class Answer(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *args):
        pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Answer)
open(sys.argv[1] + ".tmp", "w").write(str(s.server_address[1]))
__import__("os").rename(sys.argv[1] + ".tmp", sys.argv[1])
s.serve_forever()
PY
server=$!
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.05; done
port=$(cat "$work/port")
printf 'a\n' >"$work/a.md"
printf 'b\n' >"$work/b.md"
for s in none hook; do
  "$K" --state "$work/$s" init -q
  "$K" --state "$work/$s" version add --prompt p.md="$work/a.md" -q
  "$K" --state "$work/$s" version add --prompt p.md="$work/b.md" -q
  "$K" --state "$work/$s" canary start --version "$("$K" --state "$work/$s" version list --json |
    python3 -c 'import json,sys;print(json.load(sys.stdin)[0]["id"])')" --percentage 20 -q
done
"$K" --state "$work/hook" hook add local --url "http://127.0.0.1:$port/" --on paused,resumed -q
# Paused, so that the first `canary resume` hyperfine prepares with has
# something to resume.
"$K" --state "$work/none" canary pause -q
"$K" --state "$work/hook" canary pause -q
hf() { # hf STATE: median (min, max) in ms of `canary pause`
  hyperfine -N --warmup 3 --runs "$runs" --prepare "$K --state $1 canary resume -q" \
    --export-json "$work/hf.json" "$K --state $1 canary pause -q" >/dev/null 2>&1
  python3 -c "import json; r = json.load(open('$work/hf.json'))['results'][0]; print('%.2f (min %.2f, max %.2f)' % (r['median'] * 1e3, r['min'] * 1e3, r['max'] * 1e3))"
}
none=$(hf "$work/none")
hook=$(hf "$work/hook")
delivered=$("$K" --state "$work/hook" canary status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["deliveries"])')
echo "| command | no hook (ms) | one URL hook (ms) | difference of medians (ms) |"
echo "|---|---|---|---|"
echo "| canary pause | $none | $hook | $(echo "${hook%% *} - ${none%% *}" | bc) |"
echo "deliveries after the runs: $delivered" >&2
