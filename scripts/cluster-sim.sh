#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The cluster simulation of issue 16: one real etcd (Debian's, own ports and data dir), NODES agents on this
# machine, each with its own fake engine (one fake-engine process serves them all, each on its own socket, with
# the latencies measured on this machine's dockerd), capacities mixed. It changes the totals CHANGES times, kills
# 10% of the nodes at once (agent SIGKILLed, its engine powered off: its containers die with it), lets 10% join at
# once, then takes one node away and counts the containers that move. Every event of every fake engine goes to one
# log, from which the invariants are checked: no node ever over its capacity, and the cluster's running count of
# an app never above the bound written in docs/scale.md. Writes OUT/report.md, OUT/cluster.png, OUT/figures.txt.
# Usage: cluster-sim.sh OUT   (environment: NODES=200 TTL=10 CHANGES=4 SEED=2015 WAIT_FACTOR=1 KEEP=)
# Exit status: 0 when every phase converged and no invariant broke; 1 otherwise; 77 when a tool is missing.
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:?usage: cluster-sim.sh OUT}
NODES=${NODES:-200}
TTL=${TTL:-10}
CHANGES=${CHANGES:-4}
SEED=${SEED:-2015}
WAIT_FACTOR=${WAIT_FACTOR:-1}
LATENCY=${SIM_LATENCY:-create=48,start=455,stop=143,remove=30,kill=20,pause=20,unpause=20}
AGENT_BIN=${AGENT_BIN:-$TOP/build/force12-agent}
FAKE_ENGINE=${FAKE_ENGINE:-$TOP/build/fake-engine}
CAPS=(5 9 20 40) # mixed capacities, node i gets CAPS[i % 4]

case "$NODES" in '' | *[!0-9]*) echo "cluster-sim.sh: NODES=$NODES: an integer in 2..1000" >&2 && exit 2 ;; esac
if [ "$NODES" -lt 2 ] || [ "$NODES" -gt 1000 ]; then
	echo "cluster-sim.sh: NODES=$NODES: an integer in 2..1000" >&2
	exit 2
fi
for tool in etcd jq curl awk gnuplot; do
	command -v "$tool" >/dev/null || { echo "cluster-sim.sh: $tool not found (scripts/setup-host.sh --test)" >&2; exit 77; }
done
if [ ! -x "$AGENT_BIN" ] || [ ! -x "$FAKE_ENGINE" ]; then
	echo "cluster-sim.sh: $AGENT_BIN or $FAKE_ENGINE missing (make all sim-tools)" >&2
	exit 77
fi

MOVE=$((NODES / 10 > 0 ? NODES / 10 : 1)) # killed at once, and joining at once
TOTAL_ENGINES=$((NODES + MOVE))
DIR=$(mktemp -d "${TMPDIR:-/tmp}/force12-sim.XXXXXX")
RUN=$(basename "$DIR" | cut -d. -f2 | tr '[:upper:]' '[:lower:]')
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
: >"$OUT/figures.txt"
FAKE_PID=''
ETCD_PID=
declare -A AGENT_PID DEAD

log() { echo "cluster-sim: $*" >&2; }
figure() { echo "$1: $2" | tee -a "$OUT/figures.txt"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
calc() { awk "BEGIN { printf \"%.${2:-2}f\", $1 }"; }
since() { calc "($(now_ms) - $1) / 1000"; } # MS: seconds since then

cleanup() {
	local rc=$? i
	set +e
	for i in "${!AGENT_PID[@]}"; do kill -TERM "${AGENT_PID[$i]}" 2>/dev/null; done
	for i in "${!AGENT_PID[@]}"; do wait "${AGENT_PID[$i]}" 2>/dev/null; done
	[ -z "$FAKE_PID" ] || { kill -TERM "$FAKE_PID" 2>/dev/null; wait "$FAKE_PID" 2>/dev/null; }
	[ -z "$ETCD_PID" ] || { kill -TERM "$ETCD_PID" 2>/dev/null; wait "$ETCD_PID" 2>/dev/null; }
	if [ -n "${KEEP:-}" ]; then log "kept $DIR"; else rm -rf "$DIR"; fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
	local p
	for p in $(shuf -i 20000-40000 -n 50); do
		(: <"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
	done
	return 1
}

wait_for() { # SECONDS WHAT COMMAND...
	local limit=$(($1 * WAIT_FACTOR * 10)) what=$2 i=0
	shift 2
	until "$@" >/dev/null 2>&1; do
		i=$((i + 1))
		[ "$i" -lt "$limit" ] || { log "gave up waiting for: $what"; return 1; }
		sleep 0.1
	done
}

# ---- etcd ----
ETCD_PORT=$(free_port)
PEER_PORT=$(free_port)
ETCD=http://127.0.0.1:$ETCD_PORT
etcd --name "sim-$RUN" --data-dir "$DIR/etcd" --listen-client-urls "$ETCD" --advertise-client-urls "$ETCD" \
	--listen-peer-urls "http://127.0.0.1:$PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$PEER_PORT" \
	--initial-cluster "sim-$RUN=http://127.0.0.1:$PEER_PORT" >"$DIR/etcd.log" 2>&1 &
ETCD_PID=$!
wait_for 30 "etcd on $ETCD" curl -sf "$ETCD/health"
b64() { printf '%s' "$1" | base64 -w0; }
put_totals() { # P1 P2
	curl -sf "$ETCD/v3/kv/put" -d "{\"key\": \"$(b64 /force12/targets)\", \"value\": \"$(b64 "{\"priority1\": $1, \"priority2\": $2}")\"}" >/dev/null
}
etcd_metric() { # NAME [LABEL-TEXT]: the sum of its samples (those whose labels hold LABEL-TEXT)
	curl -sf "$ETCD/metrics" | awk -v m="$1" -v l="${2:-}" '($1 == m || index($1, m "{") == 1) && index($1, l) { s += $2 }
		END { printf "%.0f\n", s }'
}
proc_cpu() { # PID: user+system seconds
	awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f\n", ($14 + $15) / hz }' "/proc/$1/stat" 2>/dev/null || echo 0
}
proc_rss_kib() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }

# ---- the fake engines ----
mkdir -p "$DIR/engines"
"$FAKE_ENGINE" --socket-dir "$DIR/engines" --engines "$TOTAL_ENGINES" --latency "$LATENCY" \
	--event-log "$DIR/events.log" --event-ring 4096 --max-containers 1000 2>"$DIR/fake-engine.log" &
FAKE_PID=$!
sock() { echo "$DIR/engines/engine-$1.sock"; }
wait_for 30 "the fake engines" curl -sf --unix-socket "$(sock $((TOTAL_ENGINES - 1)))" http://localhost/_ping
mark() { curl -sf --unix-socket "$(sock 0)" -X POST -G --data-urlencode "text=$1" http://localhost/fake/mark >/dev/null; }
all_engines() { curl -sf --unix-socket "$(sock 0)" http://localhost/fake/all; }

# ---- agents ----
node_id() { echo "sim-$RUN-$1"; }
cap_of() { echo "${CAPS[$(($1 % ${#CAPS[@]}))]}"; }
start_agent() { # I
	local i=$1 d=$DIR/node-$1 logf
	mkdir -p "$d/state"
	logf=$d/agent.log
	[ -z "${SANITIZER_LOG_DIR:-}" ] || logf=$SANITIZER_LOG_DIR/cluster-sim-$RUN-node-$i.log
	mark "cap $(node_id "$i") $(cap_of "$i")"
	"$AGENT_BIN" --node-id "$(node_id "$i")" --capacity "$(cap_of "$i")" --lease-ttl "$TTL" --demand "etcd://127.0.0.1:$ETCD_PORT" \
		--docker-socket "$(sock "$i")" --api-socket "$d/api.sock" --state-dir "$d/state" --log-level warning \
		2>>"$logf" >/dev/null &
	AGENT_PID[$i]=$!
}
status_of() { curl -s --max-time 10 --unix-socket "$DIR/node-$1/api.sock" http://localhost/v1/status; }
all_ready() { # FROM TO: every agent in [FROM, TO) ready and seeing MEMBERS members
	local i
	for ((i = $1; i < $2; i++)); do
		[ -n "${DEAD[$i]:-}" ] && continue
		kill -0 "${AGENT_PID[$i]}" 2>/dev/null || { log "node $i's agent exited; see $DIR/node-$i/agent.log"; exit 1; }
		status_of "$i" | jq -e ".ready == true and .cluster.reachable == true and (.cluster.members | length) == $MEMBERS" >/dev/null || return 1
	done
}

# The capacity of the live nodes and what the cluster must run of each app (priority1 first).
live_capacity() {
	local i c=0
	for i in "${!AGENT_PID[@]}"; do [ -n "${DEAD[$i]:-}" ] || c=$((c + $(cap_of "$i"))); done
	echo "$c"
}
expect() { # P1 P2 -> "E1 E2"
	local c e1
	c=$(live_capacity)
	e1=$(($1 < c ? $1 : c))
	echo "$e1 $(($2 < c - e1 ? $2 : c - e1))"
}
# Converged: the live engines run exactly E1 + E2, nothing more is created or exited.
converged() { # E1 E2
	all_engines | jq -e --argjson e1 "$1" --argjson e2 "$2" '[.[] | select(.off | not)] |
		((map(.running.priority1 // 0) | add) == $e1) and ((map(.running.priority2 // 0) | add) == $e2) and
		((map(.containers) | add) == $e1 + $e2)' >/dev/null
}
wait_converged() { # WHAT P1 P2: sets TOOK to the seconds since PHASE_START_MS, or adds WHAT to FAILED
	local e
	read -r -a e < <(expect "$2" "$3")
	TOOK=
	if wait_for $((TTL * 6 + 120)) "$1: the cluster to run ${e[0]} + ${e[1]}" converged "${e[0]}" "${e[1]}"; then
		TOOK=$(since "$PHASE_START_MS")
	else
		FAILED="$FAILED $1"
	fi
}
# Every node runs exactly the share it computed.
shares_kept() {
	local i s bad=0
	for i in "${!AGENT_PID[@]}"; do
		[ -n "${DEAD[$i]:-}" ] && continue
		s=$(status_of "$i")
		jq -e '[.apps[] | .running == (.allocated // .target)] | all' >/dev/null <<<"$s" || bad=$((bad + 1))
	done
	echo "$bad"
}

FAILED=
log "etcd at $ETCD, $TOTAL_ENGINES fake engines, starting $NODES agents (lease TTL $TTL s)"
MEMBERS=$NODES
etcd_cpu0=$(proc_cpu "$ETCD_PID")
events0=$(etcd_metric etcd_debugging_mvcc_events_total)
keepalives0=$(etcd_metric grpc_server_msg_received_total 'grpc_method="LeaseKeepAlive"')
ranges0=$(etcd_metric grpc_server_handled_total 'grpc_method="Range"')
t_run0=$(now_ms)
for ((i = 0; i < NODES; i++)); do start_agent "$i"; done
wait_for $((60 + NODES / 2)) "every agent ready with $NODES members" all_ready 0 "$NODES" || { log "not every agent became ready"; exit 1; }
figure "agents ready (all $NODES members seen)" "$(since "$t_run0") s"
CAPACITY=$(live_capacity)
figure "capacity of the cluster" "$CAPACITY (nodes of ${CAPS[*]})"

# ---- phase 1: changes of the totals ----
RANDOM=$SEED
P1=0 P2=0
for ((k = 1; k <= CHANGES; k++)); do
	P1=$((CAPACITY * (20 + RANDOM % 40) / 100))
	P2=$((CAPACITY * (10 + RANDOM % 40) / 100))
	mark "totals $P1 $P2"
	PHASE_START_MS=$(now_ms)
	put_totals "$P1" "$P2"
	wait_converged "change-$k" "$P1" "$P2"
	figure "change $k to $P1 + $P2: cluster converged in" "${TOOK:-never} s"
done
bad=$(shares_kept)
[ "$bad" -eq 0 ] || FAILED="$FAILED shares($bad nodes not running their share)"
figure "nodes not running their computed share after the changes" "$bad"

# ---- phase 2: 10% killed at once ----
agents_cpu=0
mapfile -t victims < <(seq 0 $((NODES - 1)) | shuf -n "$MOVE" --random-source=<(yes "$SEED"))
mark "kill ${#victims[@]}"
PHASE_START_MS=$(now_ms)
# bash reports each killed job on stderr as it reaps it: not news here.
{
	for i in "${victims[@]}"; do
		agents_cpu=$(calc "$agents_cpu + $(proc_cpu "${AGENT_PID[$i]}")")
		kill -KILL "${AGENT_PID[$i]}"
		curl -sf --unix-socket "$(sock "$i")" -X POST http://localhost/fake/poweroff >/dev/null
		DEAD[$i]=1
	done
	for i in "${victims[@]}"; do wait "${AGENT_PID[$i]}" || true; done
} 2>/dev/null
MEMBERS=$((NODES - MOVE))
wait_converged "kill" "$P1" "$P2"
figure "$MOVE of $NODES nodes killed at once: survivors covered in" "${TOOK:-never} s (goal: lease TTL + 2 = $((TTL + 2)) s)"

# ---- phase 3: 10% join at once ----
wait_for $((TTL + 30)) "the dead nodes' leases to expire" all_ready 0 "$NODES" || FAILED="$FAILED expire"
MEMBERS=$NODES
mark "join $MOVE"
PHASE_START_MS=$(now_ms)
for ((i = NODES; i < NODES + MOVE; i++)); do start_agent "$i"; done
wait_for 120 "the joining agents ready" all_ready 0 "$TOTAL_ENGINES" || FAILED="$FAILED join-ready"
read -r -a e < <(expect "$P1" "$P2")
# Converged once the joiners run their shares: every live node runs what it computed.
join_done() { converged "${e[0]}" "${e[1]}" && [ "$(shares_kept)" -eq 0 ]; }
TOOK=
if wait_for $((TTL * 6 + 120)) "the join to settle" join_done; then
	TOOK=$(since "$PHASE_START_MS")
else
	FAILED="$FAILED join"
fi
figure "$MOVE nodes joining at once: settled in" "${TOOK:-never} s"

# ---- phase 4: one node leaves: how many containers move ----
leaver=0
while [ -n "${DEAD[$leaver]:-}" ]; do leaver=$((leaver + 1)); done
mark "leave $(node_id "$leaver")"
PHASE_START_MS=$(now_ms)
agents_cpu=$(calc "$agents_cpu + $(proc_cpu "${AGENT_PID[$leaver]}")")
{
	kill -KILL "${AGENT_PID[$leaver]}"
	curl -sf --unix-socket "$(sock "$leaver")" -X POST http://localhost/fake/poweroff >/dev/null
	wait "${AGENT_PID[$leaver]}" || true
} 2>/dev/null
DEAD[$leaver]=1
MEMBERS=$((TOTAL_ENGINES - MOVE - 1))
wait_converged "leave" "$P1" "$P2"
figure "one node left: survivors covered in" "${TOOK:-never} s"
sleep 2 # stragglers: a move that comes after convergence still counts

# ---- resources ----
rss=0
for i in "${!AGENT_PID[@]}"; do
	[ -n "${DEAD[$i]:-}" ] && continue
	rss=$((rss + $(proc_rss_kib "${AGENT_PID[$i]}")))
	agents_cpu=$(calc "$agents_cpu + $(proc_cpu "${AGENT_PID[$i]}")")
done
secs=$(since "$t_run0")
events1=$(etcd_metric etcd_debugging_mvcc_events_total)
figure "run length" "$secs s"
figure "etcd CPU" "$(calc "$(proc_cpu "$ETCD_PID") - $etcd_cpu0") s over the run, RSS $(($(proc_rss_kib "$ETCD_PID") / 1024)) MiB"
figure "etcd watch events sent" "$((events1 - events0)) ($(calc "($events1 - $events0) / $secs" 1)/s)"
keepalives1=$(etcd_metric grpc_server_msg_received_total 'grpc_method="LeaseKeepAlive"')
figure "etcd lease keepalives received" "$((keepalives1 - keepalives0)) ($(calc "($keepalives1 - $keepalives0) / $secs" 1)/s)"
figure "etcd range requests (reads)" "$(($(etcd_metric grpc_server_handled_total 'grpc_method="Range"') - ranges0))"
figure "agents (live) summed RSS" "$((rss / 1024)) MiB ($((rss / (TOTAL_ENGINES - MOVE - 1))) KiB each)"
figure "agents summed CPU (every agent, dead ones until their death)" "$agents_cpu s"
figure "fake engines (one process)" "CPU $(proc_cpu "$FAKE_PID") s, RSS $(($(proc_rss_kib "$FAKE_PID") / 1024)) MiB"

# ---- the event log: invariants, per-node times, moves, the plot's data ----
sort -n -k1,1 "$DIR/events.log" >"$DIR/events.sorted"
awk -v t0="$t_run0" -v dir="$OUT" -f "$TOP/scripts/cluster-sim-check.awk" "$DIR/events.sorted" >"$DIR/check.txt" || FAILED="$FAILED invariants"
cat "$DIR/check.txt" >>"$OUT/figures.txt"
cat "$DIR/check.txt"

{
	echo "# Cluster simulation: $NODES nodes on one etcd"
	echo
	echo "Run of $(date -u +%FT%TZ) on $(nproc) cores (load $(cut -d' ' -f1-3 /proc/loadavg)): \`make cluster-sim NODES=$NODES\`"
	echo "(scripts/cluster-sim.sh; TTL=$TTL CHANGES=$CHANGES SEED=$SEED). Agent: $AGENT_BIN. Each node's engine is a fake"
	echo "engine (tests/tools/fake-engine.c) with dockerd's measured latencies ($LATENCY ms); a killed node's"
	echo "engine is powered off with it. Figures, not goals: see docs/scale.md for the goals and the analysis."
	echo
	echo '```'
	cat "$OUT/figures.txt"
	echo '```'
	echo
	echo "![running containers against the totals](cluster.png)"
	[ -z "$FAILED" ] || { echo; echo "**Failed:**$FAILED"; }
} >"$OUT/report.md"
cat >"$OUT/cluster.gp" <<EOF
set terminal pngcairo size 1200,500 font ',10'
set output 'cluster.png'
set title 'Cluster of $NODES simulated nodes: running containers (from the engines) and totals'
set xlabel 'seconds since the agents started'
set ylabel 'containers'
set key outside right
plot 'running.dat' using 1:2 with steps title 'priority1 running', \
     'running.dat' using 1:4 with steps dt 2 title 'priority1 total', \
     'running.dat' using 1:3 with steps title 'priority2 running', \
     'running.dat' using 1:5 with steps dt 2 title 'priority2 total'
EOF
(cd "$OUT" && gnuplot cluster.gp) || log "gnuplot failed; the data is in $OUT/running.dat"
if [ -n "$FAILED" ]; then
	log "FAILED:$FAILED (report: $OUT/report.md)"
	exit 1
fi
log "done: $OUT/report.md"
