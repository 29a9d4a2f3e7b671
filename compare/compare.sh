#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# make compare: force12 against the real Amazon ECS Agent (with its defaults, and tuned) and docker-compose on this
# host, same seeded demand, same engine, same containers, side by side. For each container variant (one that does
# not trap SIGTERM, one that does) and each system it starts force12-observe, the system, and compare/drive.sh with
# one seeded trace for DURATION seconds, waits the tail, then stops what it started and removes every container of
# the run. Then force12-report and gnuplot write OUT/report.md and OUT/report.png beside the raw CSVs. See
# compare/README.md.
# Environment: DURATION (120), SEED (2015), TAIL (10), FORCE12_STOP_TIMEOUT (2), ECS_CONTAINER_STOP_TIMEOUT (30s)
# and ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION (3h) for the "ecs" column, ECS_TUNED_STOP_TIMEOUT (2s) and
# ECS_TUNED_CLEANUP_WAIT (1s) for "ecs-tuned", COMPOSE_STOP_TIMEOUT (10, docker-compose's default),
# ECS_AGENT_BIN (default: scripts/third-party.sh builds or finds it), ECS_CONNECT_TIMEOUT (60), RUN_PREFIX (a
# label-safe prefix of the run ids, default cmp-<pid>), VARIANTS ("plain trap"),
# SYSTEMS ("force12 ecs ecs-tuned compose"). Exit status: 0 report written; 1 a run failed (nothing of it left);
# 2 bad input; 3 the report was written but a run overlapped an engine restart and is left out as invalid.
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${1:-$TOP/build/compare}
AGENT=${AGENT_BIN:-$TOP/build/force12-agent}
OBSERVE=${OBSERVE_BIN:-$TOP/build/force12-observe}
REPORT=${REPORT_BIN:-$TOP/build/force12-report}
PYTHON=/usr/bin/python3
DURATION=${DURATION:-120}
SEED=${SEED:-2015}
TAIL=${TAIL:-10}
FORCE12_STOP_TIMEOUT=${FORCE12_STOP_TIMEOUT:-2}
ECS_DEFAULT_STOP=${ECS_CONTAINER_STOP_TIMEOUT:-30s}
ECS_DEFAULT_CLEANUP=${ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION:-3h}
ECS_TUNED_STOP=${ECS_TUNED_STOP_TIMEOUT:-2s}
ECS_TUNED_CLEANUP=${ECS_TUNED_CLEANUP_WAIT:-1s}
COMPOSE_STOP_TIMEOUT=${COMPOSE_STOP_TIMEOUT:-10}
ECS_CONNECT_TIMEOUT=${ECS_CONNECT_TIMEOUT:-60}
RUN_PREFIX=${RUN_PREFIX:-cmp-$$}
read -ra VARIANTS <<<"${VARIANTS:-plain trap}"
read -ra SYSTEMS <<<"${SYSTEMS:-force12 ecs ecs-tuned compose}"
case "${DOCKER_HOST:-}" in
unix://*) ENGINE=${DOCKER_HOST#unix://} ;;
*) ENGINE=/var/run/docker.sock ;;
esac

log() { echo "compare: $*" >&2; }
bad() {
	log "$*"
	exit 2
}

# Go durations as the ECS agent reads them (time.ParseDuration: "30s", "3h", "1m30s", "500ms"); prints whole
# seconds, rounded up.
go_seconds() { # NAME VALUE
	local v=$2 total=0 n unit
	[[ $v =~ ^([0-9]+(ms|s|m|h))+$ ]] || bad "$1: \"$v\" is not a duration like 30s, 500ms, 10m or 1h30m"
	while [[ $v =~ ^([0-9]+)(ms|s|m|h)(.*)$ ]]; do
		n=$((10#${BASH_REMATCH[1]})) unit=${BASH_REMATCH[2]} v=${BASH_REMATCH[3]}
		case $unit in h) total=$((total + n * 3600000)) ;; m) total=$((total + n * 60000)) ;;
		s) total=$((total + n * 1000)) ;; ms) total=$((total + n)) ;; esac
	done
	echo $(((total + 999) / 1000))
}

[[ $DURATION =~ ^[0-9]+$ && $DURATION -ge 3 ]] || bad "DURATION: \"$DURATION\" is not a number of seconds >= 3"
[[ $TAIL =~ ^[0-9]+$ ]] || bad "TAIL: \"$TAIL\" is not a number of seconds"
[[ $FORCE12_STOP_TIMEOUT =~ ^[0-9]+$ ]] || bad "FORCE12_STOP_TIMEOUT: \"$FORCE12_STOP_TIMEOUT\" is not a number of seconds"
[[ $COMPOSE_STOP_TIMEOUT =~ ^[0-9]+$ ]] || bad "COMPOSE_STOP_TIMEOUT: \"$COMPOSE_STOP_TIMEOUT\" is not a number of seconds"
[[ $ECS_CONNECT_TIMEOUT =~ ^[0-9]+$ && $ECS_CONNECT_TIMEOUT -ge 1 ]] || bad "ECS_CONNECT_TIMEOUT: \"$ECS_CONNECT_TIMEOUT\" is not a number of seconds >= 1"
[[ $RUN_PREFIX =~ ^[a-z0-9][a-z0-9_.-]{0,40}$ ]] || bad "RUN_PREFIX: \"$RUN_PREFIX\" must be a-z 0-9 _ . -"
go_seconds ECS_CONTAINER_STOP_TIMEOUT "$ECS_DEFAULT_STOP" >/dev/null
go_seconds ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION "$ECS_DEFAULT_CLEANUP" >/dev/null
go_seconds ECS_TUNED_STOP_TIMEOUT "$ECS_TUNED_STOP" >/dev/null
go_seconds ECS_TUNED_CLEANUP_WAIT "$ECS_TUNED_CLEANUP" >/dev/null
for bin in "$AGENT" "$OBSERVE" "$REPORT"; do [ -x "$bin" ] || bad "$bin is missing; run make"; done

title_of() { # SYSTEM VARIANT
	local s v
	case $1 in
	force12) s=force12 ;;
	ecs) s="ECS Agent, defaults" ;;
	ecs-tuned) s="ECS Agent, tuned" ;;
	compose) s="docker-compose" ;;
	*) bad "unknown system \"$1\" (force12, ecs, ecs-tuned, compose)" ;;
	esac
	case $2 in plain) v="no trap" ;; trap) v="traps TERM" ;; *) bad "unknown variant \"$2\" (plain, trap)" ;; esac
	echo "$s ($v)"
}
for v in "${VARIANTS[@]}"; do for s in "${SYSTEMS[@]}"; do title_of "$s" "$v" >/dev/null; done; done

need_ecs=false need_compose=false
for s in "${SYSTEMS[@]}"; do
	case $s in ecs | ecs-tuned) need_ecs=true ;; compose) need_compose=true ;; esac
done
ECS_AGENT=${ECS_AGENT_BIN:-}
if $need_ecs; then
	"$PYTHON" -c 'import websockets' 2>/dev/null || bad "python3-websockets is missing (apt-get install python3-websockets)"
	if [ -z "$ECS_AGENT" ]; then
		log "the real ECS Agent: scripts/third-party.sh amazon-ecs-agent (built once per machine, then cached)"
		ECS_AGENT=$(bash "$TOP/scripts/third-party.sh" amazon-ecs-agent) || bad "could not build the ECS Agent"
	fi
	[ -x "$ECS_AGENT" ] || bad "ECS_AGENT_BIN: \"$ECS_AGENT\" is not an executable"
fi
if $need_compose; then
	command -v docker-compose >/dev/null || bad "docker-compose is missing (apt-get install docker-compose)"
fi

TMP=$(mktemp -d /tmp/force12-compare.XXXXXX)
runs=() pids=() invalid=()

dk() { docker -H "unix://$ENGINE" "$@"; }

remove_containers() { # RUN_ID: every container of that run, by its labels, and a compose project's network
	local ids key
	for key in io.force12.agent io.force12.ecs io.force12.compose; do
		mapfile -t ids < <(dk ps -aq --filter "label=$key=$1" 2>/dev/null)
		[ ${#ids[@]} -eq 0 ] || dk rm -f "${ids[@]}" >/dev/null 2>&1 || true
	done
	mapfile -t ids < <(dk network ls -q --filter "label=com.docker.compose.project=${1//./}" 2>/dev/null)
	[ ${#ids[@]} -eq 0 ] || dk network rm "${ids[@]}" >/dev/null 2>&1 || true
}

stop_pids() { # TERM everything started, KILL what is still there after 20 s
	local p i
	for p in ${pids[@]+"${pids[@]}"}; do kill -TERM "$p" 2>/dev/null || true; done
	for ((i = 0; i < 200; i++)); do
		for p in ${pids[@]+"${pids[@]}"}; do kill -0 "$p" 2>/dev/null && break; done
		kill -0 "${p:-0}" 2>/dev/null || break
		sleep 0.1
	done
	for p in ${pids[@]+"${pids[@]}"}; do kill -KILL "$p" 2>/dev/null || true; done
	for p in ${pids[@]+"${pids[@]}"}; do wait "$p" 2>/dev/null || true; done
	pids=()
}

cleanup() {
	trap - INT TERM
	stop_pids
	local r
	for r in ${runs[@]+"${runs[@]}"}; do remove_containers "$r"; done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'log "interrupted: stopping everything of the run"; exit 130' INT TERM

command_of() { # VARIANT: the container's command as a JSON array
	case $1 in
	plain) jq -nc '["sh", "-c", "while true; do sleep 1; done"]' ;;
	trap) jq -nc '["sh", "-c", "trap '"'"'exit 0'"'"' TERM; while :; do sleep 1 & wait $!; done"]' ;;
	esac
}

wait_for() { # SECONDS DESCRIPTION COMMAND...
	local limit=$(($1 * 10)) what=$2 i=0
	shift 2
	until "$@" >/dev/null 2>&1; do
		i=$((i + 1))
		[ "$i" -lt "$limit" ] || { log "gave up waiting for $what"; return 1; }
		sleep 0.1
	done
}

agent_ready() { curl -sf --unix-socket "$1" http://localhost/v1/status | jq -e '.ready == true'; }

# The engine's identity (its pid and start time) when it is this host's dockerd; empty when unknown.
engine_identity() {
	local pid
	[ "$ENGINE" = /var/run/docker.sock ] && [ -r /var/run/docker.pid ] || return 0
	pid=$(cat /var/run/docker.pid 2>/dev/null) || return 0
	[ -r "/proc/$pid/stat" ] || return 0
	echo "$pid:$(cut -d' ' -f22 "/proc/$pid/stat")"
}

# "RSS_KIB CPU_SECONDS" of a live process: its peak resident set and its user + system time with its children's.
proc_cost() { # PID
	local hwm ticks
	hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$1/status" 2>/dev/null) || return 1
	ticks=$(awk '{ sub(/^.*\) /, ""); print $12 + $13 + $14 + $15 }' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$hwm" ] && [ -n "$ticks" ] || return 1
	echo "$hwm $(awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.3f", t / hz }')"
}

port_taken() { ss -Hltn "sport = :$1" | grep -q .; }

# While PID (the driver, or a sleep) runs, the system's process must stay alive; else the run fails.
watch_while() { # PID SYSTEM_PID WHAT
	while kill -0 "$1" 2>/dev/null; do
		if ! kill -0 "$2" 2>/dev/null; then
			sleep 0.5 # a Ctrl-C that ended it too is handled as an interruption (the INT trap runs now)
			log "$3 exited during the run"
			return 1
		fi
		sleep 0.2
	done
	wait "$1"
}

# The ECS Agent on this host, pointed at the local control plane; its pid goes into pid (run_one's).
start_ecs_agent() { # DIR CLUSTER API_PORT STOP_TIMEOUT CLEANUP_WAIT
	local p
	for p in 51678 51679; do
		port_taken "$p" && { log "port $p is taken ($(ss -Hltnp "sport = :$p" | head -n 1 | tr -s ' ')): the ECS Agent listens on 51678 and 51679; free them and run again"; return 1; }
	done
	mkdir -p "$1/data"
	env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$1" \
		ECS_EXTERNAL=true AWS_DEFAULT_REGION=us-east-1 AWS_ACCESS_KEY_ID=AKIDFORCE12LOCAL \
		AWS_SECRET_ACCESS_KEY=force12-local-plane-ignores-signatures \
		ECS_BACKEND_HOST="http://127.0.0.1:$3" ECS_CLUSTER="$2" DOCKER_HOST="unix://$ENGINE" \
		ECS_DATADIR="$1/data" ECS_LOGFILE="$1/agent.log" ECS_LOGLEVEL=info ECS_AUDIT_LOGFILE_DISABLED=true \
		ECS_DISABLE_METRICS=true ECS_DISABLE_DOCKER_HEALTH_CHECK=true ECS_DISABLE_IMAGE_CLEANUP=true \
		ECS_IMAGE_PULL_BEHAVIOR=prefer-cached ECS_ENABLE_TASK_CPU_MEM_LIMIT=false \
		ECS_CONTAINER_STOP_TIMEOUT="$4" ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION="$5" \
		"$ECS_AGENT" >"$1/system.log" 2>&1 &
	pid=$!
}

fail_run() { # DIR WHAT
	log "$2"
	local f seen=" "
	# syslog: run_one's, where force12's stderr went (under SANITIZER_LOG_DIR when set).
	for f in "$1/plane.log" "$1/agent.log" "$1/system.log" ${syslog:+"$syslog"}; do
		[[ $seen != *" $f "* ]] || continue
		seen+="$f "
		[ -s "$f" ] || continue
		# The ECS Agent writes the same lines to its log file and to its output: show them once.
		[ "$f" != "$1/system.log" ] || [ ! -s "$1/agent.log" ] || continue
		log "last lines of $(basename "$f"):"
		tail -n 12 "$f" | sed 's/^/    /' >&2
	done
	exit 1
}

run_one() { # SYSTEM VARIANT
	local system=$1 variant=$2 run="$RUN_PREFIX-$1-$2" dir="$TMP/$1-$2" csv="$OUT/$1-$2.csv" cmd pid drive
	local observe_args tail=$TAIL before after cost="" syslog
	cmd=$(command_of "$variant")
	mkdir -p "$dir"
	runs+=("$run")
	syslog=$dir/system.log
	case $system in
	force12)
		observe_args=(--filter "io.force12.agent=$run" --label-key io.force12.app)
		# The agent's stderr goes where the sanitizer pass looks for reports.
		[ -z "${SANITIZER_LOG_DIR:-}" ] || syslog=$SANITIZER_LOG_DIR/compare-$run.log
		;;
	ecs | ecs-tuned) observe_args=(--filter "io.force12.ecs=$run" --label-key com.amazonaws.ecs.container-name) ;;
	compose) observe_args=(--filter "io.force12.compose=$run" --label-key com.docker.compose.service) ;;
	esac
	log "$(title_of "$system" "$variant"): ${DURATION}s of demand (seed $SEED), then the tail"
	before=$(engine_identity)
	"$OBSERVE" --docker-socket "$ENGINE" "${observe_args[@]}" --demand-fifo "$dir/observe.fifo" -o "$csv" \
		2>"$dir/observe.log" &
	pids+=($!)
	wait_for 30 "the observer's first sample" grep -q ',list_ms,' "$csv" || fail_run "$dir" "the observer did not start"
	mkfifo "$dir/demand.fifo"
	case $system in
	force12)
		jq -n --argjson cmd "$cmd" --argjson t "$FORCE12_STOP_TIMEOUT" '{capacity: 9, apps: [
			{name: "priority1", priority: 1, image: "busybox:latest", command: $cmd, stop_timeout: $t},
			{name: "priority2", priority: 2, image: "busybox:latest", command: $cmd, stop_timeout: $t}]}' \
			>"$dir/agent.json"
		"$AGENT" --config "$dir/agent.json" --node-id "$run" --api-socket "$dir/api.sock" --state-dir "$dir/state" \
			--docker-socket "$ENGINE" --log-level warning 2>"$syslog" &
		pid=$!
		pids+=("$pid")
		wait_for 30 "the agent to be ready" agent_ready "$dir/api.sock" || fail_run "$dir" "force12-agent did not become ready"
		bash "$TOP/compare/drive.sh" --seed "$SEED" --duration "$DURATION" --observer-fifo "$dir/observe.fifo" \
			--force12 "$dir/api.sock" &
		;;
	ecs | ecs-tuned)
		local stop cleanup cluster=${run//./-} ports
		if [ "$system" = ecs ]; then stop=$ECS_DEFAULT_STOP cleanup=$ECS_DEFAULT_CLEANUP; else stop=$ECS_TUNED_STOP cleanup=$ECS_TUNED_CLEANUP; fi
		# Stops that begin at the end of the demand take the stop timeout: the tail waits for them (and for the
		# starts that waited for them).
		tail=$((TAIL > $(go_seconds stop "$stop") + 10 ? TAIL : $(go_seconds stop "$stop") + 10))
		"$PYTHON" "$TOP/compare/ecs-plane/plane.py" --cluster "$cluster" --port-file "$dir/ports" \
			--demand-fifo "$dir/demand.fifo" --events "$OUT/$system-$variant.events" --label "io.force12.ecs=$run" \
			--cmd-json "$cmd" 2>"$dir/plane.log" &
		pids+=($!)
		wait_for 10 "the control plane" test -s "$dir/ports" || fail_run "$dir" "the local ECS control plane did not start"
		read -r ports _ <"$dir/ports"
		start_ecs_agent "$dir" "$cluster" "$ports" "$stop" "$cleanup" || fail_run "$dir" "the ECS Agent was not started"
		pids+=("$pid")
		syslog=$dir/agent.log
		local i=0
		until grep -q 'agent connected' "$dir/plane.log"; do
			kill -0 "$pid" 2>/dev/null || fail_run "$dir" "the ECS Agent exited before it connected to the local control plane"
			i=$((i + 1))
			[ "$i" -lt $((ECS_CONNECT_TIMEOUT * 10)) ] ||
				fail_run "$dir" "the ECS Agent did not connect to the local control plane within ${ECS_CONNECT_TIMEOUT}s"
			sleep 0.1
		done
		bash "$TOP/compare/drive.sh" --seed "$SEED" --duration "$DURATION" --observer-fifo "$dir/observe.fifo" \
			--fifo "$dir/demand.fifo" &
		;;
	compose)
		local project=${run//./}
		tail=$((TAIL > COMPOSE_STOP_TIMEOUT + 10 ? TAIL : COMPOSE_STOP_TIMEOUT + 10))
		# docker-compose interpolates $VARIABLES in the file: $$ is a literal $ (the trap variant's $!).
		jq -n --argjson cmd "$cmd" --arg run "$run" --arg t "${COMPOSE_STOP_TIMEOUT}s" '($cmd | map(gsub("\\$"; "$$"))) as $cmd | {version: "2.4", services:
			({} | .priority1 = {image: "busybox:latest", command: $cmd, network_mode: "none", stop_grace_period: $t,
				labels: {"io.force12.compose": $run}} | .priority2 = .priority1)}' >"$dir/compose.yml"
		DOCKER_HOST="unix://$ENGINE" "$PYTHON" "$TOP/compare/compose-driver.py" --project "$project" \
			--file "$dir/compose.yml" --demand-fifo "$dir/demand.fifo" --cost "$dir/cost" 2>"$syslog" &
		pid=$!
		pids+=("$pid")
		wait_for 10 "the compose driver" grep -q ready "$syslog" || fail_run "$dir" "the compose driver did not start"
		bash "$TOP/compare/drive.sh" --seed "$SEED" --duration "$DURATION" --observer-fifo "$dir/observe.fifo" \
			--fifo "$dir/demand.fifo" &
		;;
	esac
	drive=$!
	pids+=("$drive")
	watch_while "$drive" "$pid" "$system" || fail_run "$dir" "the run of $system ($variant) failed"
	sleep "$tail" &
	pids+=($!)
	watch_while $! "$pid" "$system" || fail_run "$dir" "the run of $system ($variant) failed"
	[ "$system" = compose ] || cost=$(proc_cost "$pid") || true
	after=$(engine_identity)
	stop_pids
	if [ "$system" = compose ]; then
		cost=$(cat "$dir/cost" 2>/dev/null) || true
		! grep -q 'took .* s, exit [1-9]' "$syslog" || fail_run "$dir" "docker-compose failed in the run of $variant"
	fi
	if [ -n "$cost" ]; then
		printf '%s,rss_kib,,,%s\n%s,cpu_s,,,%s\n' "$(date +%s.%N)" "${cost% *}" "$(date +%s.%N)" "${cost#* }" >>"$csv"
	fi
	if [ "$before" != "$after" ]; then
		log "the engine restarted during this run ($before -> $after)"
		printf '%s,engine_lost,,,\n' "$(date +%s.%N)" >>"$csv"
	fi
	remove_containers "$run"
	if grep -q ',engine_lost,' "$csv"; then
		invalid+=("$(title_of "$system" "$variant")")
		log "INVALID: $(title_of "$system" "$variant") overlapped an engine restart; it is left out of the report"
	fi
	if [ -s "$syslog" ] && [ "$system" = force12 ]; then
		log "what force12 said (first lines):"
		head -n 5 "$syslog" | sed 's/^/    /' >&2
	fi
}

preamble() {
	local trace_changes ecs_version compose_version
	trace_changes=$("${TRACE_BIN:-$TOP/build/force12-trace}" --seed "$SEED" --duration "$DURATION" | wc -l)
	ecs_version=$([ -n "$ECS_AGENT" ] && "$ECS_AGENT" -version 2>/dev/null | awk '/Version:/ { v = $2 } /Commit:/ { c = $2 } END { print v " (commit " c ")" }' || echo "not run")
	compose_version=$(docker-compose version --short 2>/dev/null || echo "not run")
	cat <<EOF
# force12 against the real Amazon ECS Agent and docker-compose: same demand, same host

Run on $(date -u '+%Y-%m-%d %H:%M UTC'): $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end,
Linux $(uname -r), Docker Engine $(dk version -f '{{.Server.Version}}' 2>/dev/null || echo unknown) on $ENGINE. The
host was shared with other work during the run, so latencies carry that noise; every system and variant ran on the
same engine, one after the other, each starting from no containers of its own and leaving none behind.

**Demand.** The Force12 demo's random walk, seed $SEED: every 3 s priority1 moves by up to 3 within 0..9 and
priority2 takes the rest (9 - priority1); $trace_changes changes in ${DURATION} s, replayed in real time by
compare/drive.sh, then a tail with the last demand: ${TAIL} s, and for the ECS Agent and docker-compose at least
their stop timeout + 10 s, so that the stops that begin at the end can finish. force12-observe recorded each run
from the engine alone.

**Systems** (one column each, per container variant):
- **force12** $("$AGENT" --version 2>/dev/null | head -n 1): build/force12-agent, capacity 9, apps priority1 and
  priority2 (priorities 1 and 2), stop timeout ${FORCE12_STOP_TIMEOUT} s (per-app \`stop_timeout\`), driven through
  PUT /v1/targets.
- **ECS Agent, defaults**: the real Amazon ECS Agent $ecs_version, built from the unmodified upstream archive by
  scripts/third-party.sh, with ECS_CONTAINER_STOP_TIMEOUT=$ECS_DEFAULT_STOP and
  ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION=$ECS_DEFAULT_CLEANUP (the agent's defaults: 30s and 3h).
- **ECS Agent, tuned**: the same agent with ECS_CONTAINER_STOP_TIMEOUT=$ECS_TUNED_STOP and
  ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION=$ECS_TUNED_CLEANUP: as fast as the agent goes (v1.73.1 refuses to start with
  a stop timeout under 1s, and replaces a cleanup wait under 1s by the 3h default: agent/config/config.go).
- Both ECS columns also run with ECS_EXTERNAL=true, ECS_DISABLE_METRICS=true, ECS_DISABLE_DOCKER_HEALTH_CHECK=true,
  ECS_DISABLE_IMAGE_CLEANUP=true, ECS_IMAGE_PULL_BEHAVIOR=prefer-cached, ECS_ENABLE_TASK_CPU_MEM_LIMIT=false,
  ECS_AUDIT_LOGFILE_DISABLED=true, ECS_LOGLEVEL=info.
- **docker-compose** $compose_version (Debian's): what a single-host user would pick instead; two services in one
  compose file, each change \`docker-compose up -d --no-recreate --scale priority1=N --scale priority2=M\`
  (compare/compose-driver.py; changes that arrive while one runs are merged into the next), stop_grace_period
  ${COMPOSE_STOP_TIMEOUT}s (docker-compose's default is 10 s). A scale-down stops and removes the containers.

**What stands in for AWS** (the one part that is not real): compare/ecs-plane/plane.py, a local ECS control plane
on 127.0.0.1. It answers the ECS API the agent calls (RegisterContainerInstance, echoing the agent's attributes;
DiscoverPollEndpoint, pointing at its own plain ws:// ACS endpoint; task, container and attachment state changes,
acknowledged), and over the ACS websocket it sends what the ECS service scheduler would for two services whose
desired counts follow the demand: each demand change becomes one PayloadMessage (seqNum one higher each time)
with new tasks (desiredStatus RUNNING) for a scale-out and the app's most recently started tasks sent again with
desiredStatus STOPPED for a scale-in (last in, first out: our choice; the real scheduler first balances across
zones, which one host does not have). A task that stops on its own is replaced; after a reconnect every task not
yet reported stopped is sent again; heartbeats every 20 s. Each task is one container (busybox:latest, network
none, no task-level stopTimeout, so the agent's ECS_CONTAINER_STOP_TIMEOUT applies). It adds no scheduling delay
of its own: a payload leaves as soon as the driver's line arrives, so the real control plane can only be slower.
What the agent then does is its own: it starts and stops the tasks of a payload in parallel, but a task start
waits for the stops it knows of with the same or an earlier seqNum to finish (agent/engine/task_manager.go,
waitForHostResources), so a scale-in of containers that ignore SIGTERM can hold the next starts for the stop
timeout.

**Containers.** busybox:latest, network none, in two variants, both run under every system:
- **no trap**: \`sh -c 'while true; do sleep 1; done'\` (the seed's first container): as PID 1 it ignores SIGTERM,
  so every stop waits for the stop timeout and ends in SIGKILL (exit 137);
- **traps TERM**: \`sh -c "trap 'exit 0' TERM; while :; do sleep 1 & wait \$!; done"\` (force12's default app):
  exits 0 at once on SIGTERM.

Reproduce: \`make compare\` (DURATION=, SEED=, TAIL=, FORCE12_STOP_TIMEOUT=, ECS_CONTAINER_STOP_TIMEOUT=,
ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION=, ECS_TUNED_STOP_TIMEOUT=, ECS_TUNED_CLEANUP_WAIT=, COMPOSE_STOP_TIMEOUT=,
SYSTEMS=, VARIANTS=).
EOF
	if [ ${#invalid[@]} -gt 0 ]; then
		printf '\n**Invalid runs, left out:** %s: each overlapped an engine restart (the engine'"'"'s event stream ended or its process changed), so its figures are not a result.\n' "$(
			IFS=,
			echo "${invalid[*]}"
		)"
	fi
}

mkdir -p "$OUT"
rm -f "$OUT"/report.md "$OUT"/report.png "$OUT"/report.gp "$OUT"/run*.dat "$OUT"/*.csv "$OUT"/*.events
columns=()
for v in "${VARIANTS[@]}"; do
	for s in "${SYSTEMS[@]}"; do
		run_one "$s" "$v"
		grep -q ',engine_lost,' "$OUT/$s-$v.csv" || columns+=("$(title_of "$s" "$v")=$OUT/$s-$v.csv")
	done
done
preamble >"$TMP/preamble.md"
if [ ${#columns[@]} -gt 0 ]; then
	"$REPORT" -o "$OUT" --preamble "$TMP/preamble.md" "${columns[@]}"
	(cd "$OUT" && gnuplot report.gp)
	log "wrote $OUT/report.md, $OUT/report.png and the CSVs"
else
	{
		cat "$TMP/preamble.md"
		printf '\n## Results\n\nNone: every run was invalid.\n'
	} >"$OUT/report.md"
	log "every run was invalid; wrote $OUT/report.md"
fi
[ ${#invalid[@]} -eq 0 ] || exit 3
