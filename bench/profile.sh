#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Where the agent's time goes during a scale 0 -> N -> 0 (N=${N:-20}): perf on the agent (its own functions,
# with call chains), and perf on the whole machine by command (the agent against dockerd, containerd, runc...).
# Falls back to valgrind --tool=callgrind on the agent when perf cannot record here. Prints the top lines.
set -euo pipefail

NAME=profile
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

N=${N:-20}
CYCLES=${CYCLES:-3} # 0 -> N -> 0 this many times: the agent needs little CPU, and perf samples only that
TOP_LINES=${TOP_LINES:-25}

engine_running() {
	curl -s --unix-socket "$ENGINE" -G http://localhost/containers/json --data-urlencode all=1 \
		--data-urlencode "filters={\"label\":[\"io.force12.agent=$NODE\"]}" | jq 'length'
}
wait_owned() { # COUNT
	local i
	for ((i = 0; i < 6000; i++)); do
		[ "$(engine_running)" -eq "$1" ] && return 0
		sleep 0.05
	done
	echo "profile.sh: the agent never reached $1 containers" >&2
	exit 1
}
up_down() {
	api -X PUT -d "{\"priority1\": $N}" http://localhost/v1/targets >/dev/null
	wait_owned "$N"
	until settled; do sleep 0.05; done
	api -X PUT -d '{"priority1": 0}' http://localhost/v1/targets >/dev/null
	wait_owned 0
}

if perf record -o "$DIR/probe.data" -- true >/dev/null 2>&1; then
	start_agent --capacity 1000
	perf record -F 9999 --call-graph dwarf,16384 -p "$agent_pid" -o "$DIR/agent.data" 2>"$DIR/perf-agent.log" &
	perf_agent=$!
	perf record -F 199 -a -o "$DIR/all.data" 2>"$DIR/perf-all.log" &
	perf_all=$!
	sleep 1
	cpu0=$(awk '{print $14 + $15}' "/proc/$agent_pid/stat")
	t0=$(now_ms)
	for ((c = 0; c < CYCLES; c++)); do up_down; done
	t1=$(now_ms)
	cpu1=$(awk '{print $14 + $15}' "/proc/$agent_pid/stat")
	kill -INT "$perf_agent" "$perf_all"
	wait "$perf_agent" "$perf_all" || true
	echo "profile: 0 -> $N -> 0 $CYCLES times in $((t1 - t0)) ms; the agent used $(((cpu1 - cpu0) * 1000 / $(getconf CLK_TCK))) ms of CPU (utime+stime)"
	echo "--- the engine's processes and the agent during the run, share of all CPU samples (perf -a, 199 Hz;"
	echo "    the machine is shared, so the rest is other work)"
	perf report -i "$DIR/all.data" --stdio --sort comm 2>/dev/null |
		grep -E ' (dockerd|containerd|containerd-shim|runc|runc:\[[0-9]:[A-Z]+\]|force12-agent|exe) *$' | head -n 15
	echo "--- the agent, by function, self time (perf -p, 9999 Hz)"
	perf report -i "$DIR/agent.data" --stdio --no-children --sort dso,symbol -g none --percent-limit 0.5 2>/dev/null |
		grep -v '^#' | grep -v '^$' | head -n "$TOP_LINES"
	echo "--- the agent, self time by library"
	perf report -i "$DIR/agent.data" --stdio --no-children --sort dso -g none --percent-limit 0.5 2>/dev/null |
		grep -v '^#' | grep -v '^$' | head -n 12
	echo "--- the agent's own functions, with their callees"
	perf report -i "$DIR/agent.data" --stdio --children --sort dso,symbol -g none 2>/dev/null |
		grep ' force12-agent ' | head -n "$TOP_LINES"
else
	echo "profile: perf cannot record here; valgrind --tool=callgrind on the agent instead"
	AGENT_REAL=$AGENT
	AGENT=$DIR/agent-under-callgrind
	printf '#!/bin/sh\nexec valgrind --tool=callgrind --callgrind-out-file=%s/callgrind.out %s "$@"\n' "$DIR" "$AGENT_REAL" >"$AGENT"
	chmod +x "$AGENT"
	start_agent --capacity 1000
	for ((c = 0; c < CYCLES; c++)); do up_down; done
	kill -TERM "$agent_pid"
	wait "$agent_pid" || true
	agent_pid=
	callgrind_annotate --inclusive=no "$DIR/callgrind.out" 2>/dev/null | head -n $((TOP_LINES + 20))
fi
