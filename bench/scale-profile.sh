#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Where the agent's time goes at scale: perf record on an agent that adopts N (default 20000) containers held by
# the fake engine, resyncs, then scales down by 10% of N. Prints perf's top lines (self time, no children).
# Usage: bench/scale-profile.sh   (environment: N, RESYNC=3, TOP_LINES=25, AGENT_BIN, FAKE_ENGINE)
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
N=${N:-20000}
RESYNC=${RESYNC:-3}
TOP_LINES=${TOP_LINES:-25}
AGENT=${AGENT_BIN:-$TOP/build/force12-agent}
FAKE=${FAKE_ENGINE:-$TOP/build/fake-engine}
command -v perf >/dev/null || { echo "scale-profile.sh: perf not found (apt-get install linux-perf)" >&2; exit 77; }
DIR=$(mktemp -d "${TMPDIR:-/tmp}/force12-scale-profile.XXXXXX")
fake_pid=''
agent_pid=''
perf_pid=
cleanup() {
	local p
	for p in $perf_pid $agent_pid $fake_pid; do kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	rm -rf "$DIR"
}
trap cleanup EXIT

"$FAKE" --socket "$DIR/engine.sock" --latency 0 --preload "priority1=$N" --node-id prof \
	--max-containers $((N * 2)) 2>/dev/null &
fake_pid=$!
until curl -sf --unix-socket "$DIR/engine.sock" http://localhost/_ping >/dev/null; do sleep 0.1; done
stat() { curl -s --unix-socket "$DIR/engine.sock" http://localhost/fake/stats | jq -r ".$1"; }
cat >"$DIR/agent.json" <<JSON
{"capacity": $((N + N / 10)), "resync_interval": $RESYNC, "apps": [{"name": "priority1", "image": "busybox:latest",
 "priority": 1, "stop_timeout": 2, "network_mode": "none", "command": ["sh", "-c", "sleep 1000"]}]}
JSON
"$AGENT" -c "$DIR/agent.json" --node-id prof --docker-socket "$DIR/engine.sock" --api-socket "$DIR/api.sock" \
	--state-dir "$DIR/state" --target "priority1=$N" --log-level warning 2>"$DIR/agent.log" &
agent_pid=$!
perf record -F 299 --call-graph dwarf,16384 -p "$agent_pid" -o "$DIR/perf.data" 2>"$DIR/perf.log" &
perf_pid=$!
api() { curl -s --max-time 300 --unix-socket "$DIR/api.sock" "$@"; }
until api http://localhost/v1/status 2>/dev/null | jq -e .ready >/dev/null 2>&1; do sleep 0.2; done
lists=$(stat lists)
until [ "$(stat lists)" -gt "$lists" ]; do sleep 0.2; done # one resync
sleep 1
api -X PUT -d "{\"priority1\": $((N - N / 10))}" http://localhost/v1/targets >/dev/null
until [ "$(stat containers)" -eq $((N - N / 10)) ]; do sleep 0.2; done
kill -INT "$perf_pid"
wait "$perf_pid" 2>/dev/null || true
perf_pid=
echo "force12 scale profile: N=$N (first sync, one resync, -10% of N), agent $AGENT"
echo "-- self time:"
perf report -i "$DIR/perf.data" --no-children --sort symbol --stdio -g none 2>/dev/null | grep -E '^ +[0-9]' | head -n "$TOP_LINES" || true
echo "-- with callees (inlined functions show under their callers):"
perf report -i "$DIR/perf.data" --children --sort symbol --stdio -g none 2>/dev/null | grep -E '^ +[0-9]' | head -n "$TOP_LINES" || true
echo "-- who calls strcmp:"
perf report -i "$DIR/perf.data" --no-children --sort symbol --stdio -G --percent-limit 20 2>/dev/null |
	grep -vE '^$|^#' | head -n 60 || true
