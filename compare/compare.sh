#!/usr/bin/env bash
# make compare: force12 against the ECS Agent baseline on this host, same demand, side by side. For each container
# variant (one that does not trap SIGTERM, one that does) and each system (force12-agent, compare/ecs-baseline.sh)
# it starts force12-observe, the system, and compare/drive.sh with one seeded trace for DURATION seconds, waits
# TAIL seconds more, then removes every container of the run. Then force12-report and gnuplot write OUT/report.md
# and OUT/report.png beside the raw CSVs.
# Environment: DURATION (120), SEED (2015), TAIL (10), ECS_CONTAINER_STOP_TIMEOUT (30s),
# ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION (3h), ECS_BASELINE_PARALLEL (1), FORCE12_STOP_TIMEOUT (2), RUN_PREFIX (a label-safe prefix of the
# run ids, default cmp-<pid>), VARIANTS ("plain trap"), SYSTEMS ("force12 ecs").
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${1:-$TOP/build/compare}
AGENT=${AGENT_BIN:-$TOP/build/force12-agent}
OBSERVE=${OBSERVE_BIN:-$TOP/build/force12-observe}
REPORT=${REPORT_BIN:-$TOP/build/force12-report}
DURATION=${DURATION:-120}
SEED=${SEED:-2015}
TAIL=${TAIL:-10}
FORCE12_STOP_TIMEOUT=${FORCE12_STOP_TIMEOUT:-2}
export ECS_CONTAINER_STOP_TIMEOUT=${ECS_CONTAINER_STOP_TIMEOUT:-30s}
export ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION=${ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION:-3h}
export ECS_BASELINE_PARALLEL=${ECS_BASELINE_PARALLEL:-1}
RUN_PREFIX=${RUN_PREFIX:-cmp-$$}
read -ra VARIANTS <<<"${VARIANTS:-plain trap}"
read -ra SYSTEMS <<<"${SYSTEMS:-force12 ecs}"
case "${DOCKER_HOST:-}" in
unix://*) ENGINE=${DOCKER_HOST#unix://} ;;
*) ENGINE=/var/run/docker.sock ;;
esac

log() { echo "compare: $*" >&2; }
[[ $DURATION =~ ^[0-9]+$ && $DURATION -ge 3 ]] || { log "DURATION: \"$DURATION\" is not a number of seconds >= 3"; exit 2; }
[[ $TAIL =~ ^[0-9]+$ ]] || { log "TAIL: \"$TAIL\" is not a number of seconds"; exit 2; }
[[ $RUN_PREFIX =~ ^[a-z0-9][a-z0-9_.-]{0,40}$ ]] || { log "RUN_PREFIX: \"$RUN_PREFIX\" must be a-z 0-9 _ . -"; exit 2; }
for bin in "$AGENT" "$OBSERVE" "$REPORT"; do [ -x "$bin" ] || { log "$bin is missing; run make"; exit 2; }; done

TMP=$(mktemp -d /tmp/force12-compare.XXXXXX)
runs=() pids=()

remove_containers() { # RUN_ID: everything of that run, by its labels
	local ids
	mapfile -t ids < <(docker -H "unix://$ENGINE" ps -aq --filter "label=io.force12.agent=$1"
		docker -H "unix://$ENGINE" ps -aq --filter "label=io.force12.baseline=$1")
	[ ${#ids[@]} -eq 0 ] || docker -H "unix://$ENGINE" rm -f "${ids[@]}" >/dev/null 2>&1 || true
}

stop_pids() {
	local p
	for p in ${pids[@]+"${pids[@]}"}; do kill -TERM "$p" 2>/dev/null || true; done
	for p in ${pids[@]+"${pids[@]}"}; do wait "$p" 2>/dev/null || true; done
	pids=()
}

cleanup() {
	stop_pids
	local r
	for r in ${runs[@]+"${runs[@]}"}; do remove_containers "$r"; done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

command_of() { # VARIANT: the container's command as a JSON array
	case $1 in
	plain) jq -nc '["sh", "-c", "while true; do sleep 1; done"]' ;;
	trap) jq -nc '["sh", "-c", "trap '"'"'exit 0'"'"' TERM; while :; do sleep 1 & wait $!; done"]' ;;
	*)
		log "unknown variant \"$1\" (plain, trap)"
		exit 2
		;;
	esac
}

title_of() { # SYSTEM VARIANT
	local s v
	case $1 in force12) s=force12 ;; ecs) s="ECS baseline" ;; *) log "unknown system \"$1\" (force12, ecs)" && exit 2 ;; esac
	case $2 in plain) v="no trap" ;; trap) v="traps TERM" ;; esac
	echo "$s ($v)"
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

run_one() { # SYSTEM VARIANT
	local system=$1 variant=$2 run="$RUN_PREFIX-$1-$2" dir="$TMP/$1-$2" csv="$OUT/$1-$2.csv" cmd
	local observe_args=(--filter "io.force12.agent=$run" --label-key io.force12.app)
	cmd=$(command_of "$variant")
	mkdir -p "$dir"
	runs+=("$run")
	[ "$system" = ecs ] && observe_args=(--filter "io.force12.baseline=$run" --label-key com.amazonaws.ecs.container-name)
	log "$(title_of "$system" "$variant"): ${DURATION}s of demand (seed $SEED), then ${TAIL}s"
	"$OBSERVE" --docker-socket "$ENGINE" "${observe_args[@]}" --demand-fifo "$dir/observe.fifo" -o "$csv" \
		2>"$dir/observe.log" &
	pids+=($!)
	wait_for 30 "the observer's first sample" grep -q ',list_ms,' "$csv"
	if [ "$system" = force12 ]; then
		jq -n --argjson cmd "$cmd" --argjson t "$FORCE12_STOP_TIMEOUT" '{capacity: 9, apps: [
			{name: "priority1", priority: 1, image: "busybox:latest", command: $cmd, stop_timeout: $t},
			{name: "priority2", priority: 2, image: "busybox:latest", command: $cmd, stop_timeout: $t}]}' \
			>"$dir/agent.json"
		"$AGENT" --config "$dir/agent.json" --node-id "$run" --api-socket "$dir/api.sock" --state-dir "$dir/state" \
			--docker-socket "$ENGINE" --log-level warning 2>"$dir/system.log" &
		pids+=($!)
		wait_for 30 "the agent to be ready" agent_ready "$dir/api.sock"
		bash "$TOP/compare/drive.sh" --seed "$SEED" --duration "$DURATION" --observer-fifo "$dir/observe.fifo" \
			--force12 "$dir/api.sock"
	else
		mkfifo "$dir/baseline.fifo"
		bash "$TOP/compare/ecs-baseline.sh" --run-id "$run" --demand-fifo "$dir/baseline.fifo" --cmd-json "$cmd" \
			--docker-socket "$ENGINE" 2>"$dir/system.log" &
		pids+=($!)
		wait_for 10 "the baseline to be ready" grep -q ready "$dir/system.log"
		bash "$TOP/compare/drive.sh" --seed "$SEED" --duration "$DURATION" --observer-fifo "$dir/observe.fifo" \
			--baseline-fifo "$dir/baseline.fifo"
	fi
	sleep "$TAIL"
	stop_pids
	remove_containers "$run"
	if [ -s "$dir/system.log" ]; then
		log "what $system said (first lines):"
		head -n 5 "$dir/system.log" | sed 's/^/    /' >&2
	fi
}

preamble() {
	local trace_changes
	trace_changes=$("${TRACE_BIN:-$TOP/build/force12-trace}" --seed "$SEED" --duration "$DURATION" | wc -l)
	cat <<EOF
# force12 against the ECS Agent: same demand, same host

Run on $(date -u '+%Y-%m-%d %H:%M UTC'): $(nproc) CPUs, Linux $(uname -r), Docker Engine \
$(docker -H "unix://$ENGINE" version -f '{{.Server.Version}}' 2>/dev/null || echo unknown). The engine was shared
with other work during the run, so latencies carry that noise; every system and variant ran on the same engine, one
after the other, each starting from no containers of its own and leaving none behind.

**Demand.** The Force12 demo's random walk, seed $SEED: every 3 s priority1 moves by up to 3 within 0..9 and
priority2 takes the rest (9 - priority1); $trace_changes changes in ${DURATION} s, replayed in real time by
compare/drive.sh, then ${TAIL} s more with the last demand. force12-observe recorded each run from the engine alone.

**Systems.**
- **force12**: build/force12-agent, capacity 9, apps priority1 and priority2 (priorities 1 and 2), stop timeout
  ${FORCE12_STOP_TIMEOUT} s (its config's per-app \`stop_timeout\`), driven through PUT /v1/targets.
- **ECS baseline**: an **emulation** of the ECS Agent's documented behaviour, compare/ecs-baseline.sh, against the
  same engine. The real ECS Agent needs the AWS control plane, which this host cannot reach, so it did not run here.
  The emulation stops with ECS_CONTAINER_STOP_TIMEOUT = ${ECS_CONTAINER_STOP_TIMEOUT} (POST /containers/{id}/stop),
  keeps stopped containers for ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION = ${ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION} and
  carries out task changes $(if [ "$ECS_BASELINE_PARALLEL" = 1 ]; then echo "one at a time, in order"; else
		echo "$ECS_BASELINE_PARALLEL at a time (ECS_BASELINE_PARALLEL), begun in order"; fi) (stops before starts). Defaults are the agent's documented ones
  (README of aws/amazon-ecs-agent; amazon-ecs-agent issue 92 and PR 1036 for the ordering). It does not emulate the
  control plane's scheduling delay or image pulls, so it is if anything kinder than the real agent. The stop
  timeouts differ because the defaults do; \`ECS_CONTAINER_STOP_TIMEOUT=${FORCE12_STOP_TIMEOUT}s make compare\` gives
  both sides the same one.

**Containers.** busybox:latest, network none, in two variants, both run under both systems:
- **no trap**: \`sh -c 'while true; do sleep 1; done'\` (the seed's first container): as PID 1 it ignores SIGTERM,
  so every stop waits for the stop timeout and ends in SIGKILL (exit 137);
- **traps TERM**: \`sh -c "trap 'exit 0' TERM; while :; do sleep 1 & wait \$!; done"\` (force12's default app):
  exits 0 at once on SIGTERM.

Reproduce: \`make compare\` (DURATION=, SEED=, TAIL=, ECS_CONTAINER_STOP_TIMEOUT=,
ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION=, ECS_BASELINE_PARALLEL=, FORCE12_STOP_TIMEOUT=).
EOF
}

mkdir -p "$OUT"
for v in "${VARIANTS[@]}"; do command_of "$v" >/dev/null; done
for s in "${SYSTEMS[@]}"; do title_of "$s" plain >/dev/null; done
rm -f "$OUT"/report.md "$OUT"/report.png "$OUT"/report.gp "$OUT"/run*.dat "$OUT"/*.csv
columns=()
for v in "${VARIANTS[@]}"; do
	for s in "${SYSTEMS[@]}"; do
		run_one "$s" "$v"
		columns+=("$(title_of "$s" "$v")=$OUT/$s-$v.csv")
	done
done
preamble >"$TMP/preamble.md"
"$REPORT" -o "$OUT" --preamble "$TMP/preamble.md" "${columns[@]}"
(cd "$OUT" && gnuplot report.gp)
log "wrote $OUT/report.md, $OUT/report.png and the CSVs"
