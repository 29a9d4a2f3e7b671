#!/usr/bin/env bash
# The ECS Agent baseline: an EMULATION of the documented behaviour of the Amazon ECS container agent on one host,
# against the same Docker engine, because the real agent needs the AWS control plane, which these machines cannot
# reach. It reads demand changes ("APP=N [APP=N...]", one line per change) from a FIFO, turns each into task changes
# (stop one task of an app, start one task of an app; stops first) and carries them out ONE AT A TIME, IN ORDER
# (by default: --parallel lets N run at once, still begun in order).
#
# Parameters (flag, or the ECS agent's own environment variable), with their documented defaults:
#   --stop-timeout / ECS_CONTAINER_STOP_TIMEOUT, default 30s: "time to wait for the container to exit normally
#       before being forcibly killed" (README of aws/amazon-ecs-agent, environment variables table; the ECS
#       developer guide, "Amazon ECS container agent configuration"). A stop is POST /containers/{id}/stop?t=30.
#   --cleanup-wait / ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION, default 3h: "time to wait to delete containers for a
#       stopped task. If set to less than 1 minute, the value is ignored" (same table). Stopped containers stay on
#       the engine until then, so within a run nothing is removed unless the wait is set shorter.
#   --parallel / ECS_BASELINE_PARALLEL, default 1: task changes carried out at once. One at a time, in order,
#       from the comparison's issue and amazon-ecs-agent issue 92 (agent v1.1: a 20-25 s delay before a start
#       that follows stops) and PR 1036 (a new task waits for the resources of the tasks being stopped). This is
#       the emulation's own knob, not an ECS variable: raise it to model an agent that overlaps task changes.
# What it does not emulate: the control plane's scheduling delay, image pulls (the image is local; ECS's default
# pull behaviour would pull on every start, which would only make the real agent slower), the agent's own
# state-change reporting. So this baseline is, if anything, kinder than the real agent.
#
# Containers carry io.force12.baseline=<run id> (ownership, cleanup; never io.force12.agent, so no force12 agent
# ever sees them) and com.amazonaws.ecs.container-name=<app>, the label a real ECS task's containers carry, so the
# observer reads them with the same --label-key as on a real ECS host.
set -euo pipefail

usage() {
	cat <<EOF
Usage: ecs-baseline.sh --run-id ID --demand-fifo PATH [OPTIONS]
Emulates the ECS Agent's documented behaviour on this engine (see the comments at the top of this file).
  --run-id ID             label value of io.force12.baseline on every container it makes ([a-z0-9_.-], required)
  --demand-fifo PATH      read "APP=N [APP=N...]" lines from this FIFO (created if missing; required)
  --stop-timeout DUR      ECS_CONTAINER_STOP_TIMEOUT (default 30s): 45, 45s, 2m, 1h30m
  --cleanup-wait DUR      ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION (default 3h; under 1m is ignored, as by the agent)
  --parallel N            ECS_BASELINE_PARALLEL: task changes at once, begun in order (default 1, 1..64)
  --image IMAGE           (default busybox:latest)
  --cmd-json JSON         the container's command as a JSON array (default: the image's own)
  --docker-socket PATH    (default: \$DOCKER_HOST when unix://..., else /var/run/docker.sock)
EOF
}

die() {
	echo "ecs-baseline: $*" >&2
	exit 2
}

# Go-style durations as the agent takes them ("30s", "3h", "1m30s"), or plain seconds; prints seconds.
duration_seconds() { # NAME VALUE
	local v=$2 total=0 n unit
	[[ $v =~ ^[0-9]+$ ]] && {
		echo "$v"
		return
	}
	[[ $v =~ ^([0-9]+[hms])+$ ]] || die "$1: \"$v\" is not a duration like 30s, 10m, 3h or 1m30s"
	while [[ $v =~ ^([0-9]+)([hms])(.*)$ ]]; do
		n=$((10#${BASH_REMATCH[1]})) unit=${BASH_REMATCH[2]} v=${BASH_REMATCH[3]}
		case $unit in h) total=$((total + n * 3600)) ;; m) total=$((total + n * 60)) ;; s) total=$((total + n)) ;; esac
	done
	echo "$total"
}

RUN_ID='' FIFO='' IMAGE=busybox:latest CMD_JSON=null
STOP_TIMEOUT=${ECS_CONTAINER_STOP_TIMEOUT:-30s}
CLEANUP_WAIT=${ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION:-3h}
PARALLEL=${ECS_BASELINE_PARALLEL:-1}
case "${DOCKER_HOST:-}" in
unix://*) ENGINE=${DOCKER_HOST#unix://} ;;
*) ENGINE=/var/run/docker.sock ;;
esac
while [ $# -gt 0 ]; do
	[ $# -ge 2 ] || case $1 in -h | --help) ;; *) die "$1 needs a value; try --help" ;; esac
	case $1 in
	--run-id) RUN_ID=$2 ;;
	--demand-fifo) FIFO=$2 ;;
	--stop-timeout) STOP_TIMEOUT=$2 ;;
	--cleanup-wait) CLEANUP_WAIT=$2 ;;
	--parallel) PARALLEL=$2 ;;
	--image) IMAGE=$2 ;;
	--cmd-json) CMD_JSON=$2 ;;
	--docker-socket) ENGINE=$2 ;;
	-h | --help)
		usage
		exit 0
		;;
	*) die "unknown option \"$1\"; try --help" ;;
	esac
	shift 2
done
[[ $RUN_ID =~ ^[a-z0-9][a-z0-9_.-]{0,62}$ ]] || die "--run-id: \"$RUN_ID\" must be 1..63 of a-z 0-9 _ . -"
[ -n "$FIFO" ] || die "--demand-fifo is required"
if ! [[ $PARALLEL =~ ^[0-9]{1,2}$ ]] || [ "$PARALLEL" -lt 1 ] || [ "$PARALLEL" -gt 64 ]; then
	die "--parallel: \"$PARALLEL\" is not a number in 1..64"
fi
jq -e 'type == "array" or type == "null"' >/dev/null 2>&1 <<<"$CMD_JSON" || die "--cmd-json: not a JSON array"
STOP_SECS=$(duration_seconds --stop-timeout "$STOP_TIMEOUT")
CLEANUP_SECS=$(duration_seconds --cleanup-wait "$CLEANUP_WAIT")
if [ "$CLEANUP_SECS" -lt 60 ]; then
	echo "ecs-baseline: --cleanup-wait $CLEANUP_WAIT is under 1 minute: ignored, 3h (as the ECS agent does)" >&2
	CLEANUP_SECS=10800
fi
[ -p "$FIFO" ] || mkfifo -m 0600 "$FIFO"

engine() { # METHOD PATH [curl args...]: prints the body; fails on an HTTP error
	local method=$1 path=$2
	shift 2
	curl -sS --fail-with-body --max-time "${CALL_TIMEOUT:-60}" --unix-socket "$ENGINE" -X "$method" "$@" \
		"http://localhost/v1.41$path"
}

declare -A desired=()   # the tasks asked for, per app (the control plane's view)
declare -A running=()   # names of the app's tasks, oldest first, space-separated
declare -A start_job=() # name -> pid of the job that creates and starts it
declare -A removed=()   # names of stopped tasks cleaned up
stop_jobs=()            # pids of the stops under way (or done)
CLEANUP_FILE=$(mktemp /tmp/ecs-baseline-cleanup.XXXXXX) # "due-epoch name", appended by each stop when it is done
trap 'rm -f "$CLEANUP_FILE"' EXIT
seq_no=0

# At most PARALLEL task changes in flight; with 1, each waits for the one before.
throttle() {
	local n
	while n=$(jobs -rp | wc -l) && [ "$n" -ge "$PARALLEL" ]; do wait -n || true; done
}

start_task() { # APP
	local app=$1 body name
	seq_no=$((seq_no + 1))
	name=ecs-$RUN_ID-$app-$seq_no
	body=$(jq -nc --arg image "$IMAGE" --argjson cmd "$CMD_JSON" --arg run "$RUN_ID" --arg app "$app" \
		'{Image: $image, Labels: {"io.force12.baseline": $run, "com.amazonaws.ecs.container-name": $app},
		  HostConfig: {NetworkMode: "none"}} + (if $cmd then {Cmd: $cmd} else {} end)')
	throttle
	{
		engine POST "/containers/create?name=$name" -H 'Content-Type: application/json' -d "$body" >/dev/null &&
			engine POST "/containers/$name/start" >/dev/null
	} || echo "ecs-baseline: starting a task of $app ($name) failed" >&2 &
	start_job[$name]=$!
	running[$app]="${running[$app]:-} $name"
}

stop_task() { # APP: the oldest task
	local app=$1 names name
	read -ra names <<<"${running[$app]:-}"
	[ ${#names[@]} -gt 0 ] || return 0
	name=${names[0]}
	running[$app]="${names[*]:1}"
	# A task is stopped only once it has started, whatever the parallelism.
	wait "${start_job[$name]}" 2>/dev/null || true
	unset "start_job[$name]"
	throttle
	{
		CALL_TIMEOUT=$((STOP_SECS + 60)) engine POST "/containers/$name/stop?t=$STOP_SECS" >/dev/null ||
			echo "ecs-baseline: stopping $name failed" >&2
		[ ! -e "$CLEANUP_FILE" ] || echo "$(($(date +%s) + CLEANUP_SECS)) $name" >>"$CLEANUP_FILE"
	} &
	stop_jobs+=($!)
}

clean_up_due() {
	local now due name
	now=$(date +%s)
	while read -r due name; do
		if [ -n "${removed[$name]:-}" ] || [ "$due" -gt "$now" ]; then continue; fi
		removed[$name]=1
		engine DELETE "/containers/$name" >/dev/null || true
	done <"$CLEANUP_FILE"
}

# One demand change into task changes, carried out one at a time: every stop first, then every start.
apply_change() { # LINE
	local spec app n d new=() i
	for spec in $1; do
		[[ $spec =~ ^([A-Za-z0-9][A-Za-z0-9_.-]{0,62})=([0-9]{1,6})$ ]] || {
			echo "ecs-baseline: demand line \"$1\" is not APP=N [APP=N...], ignoring" >&2
			return 0
		}
		new+=("${BASH_REMATCH[1]} $((10#${BASH_REMATCH[2]}))")
	done
	for spec in ${new[@]+"${new[@]}"}; do
		app=${spec% *} n=${spec#* } d=$((${spec#* } - ${desired[${spec% *}]:-0}))
		for ((i = 0; i < -d; i++)); do stop_task "$app"; done
		desired[$app]=$n
	done
	for spec in ${new[@]+"${new[@]}"}; do
		app=${spec% *} n=${spec#* }
		local have
		read -ra have <<<"${running[$app]:-}"
		for ((i = ${#have[@]}; i < n; i++)); do start_task "$app"; done
	done
	clean_up_due
}

# On TERM, starts under way finish first, so that no container appears after whoever stopped us cleaned up; a stop
# under way is left to the engine (it cannot add a container), its job ended so that it records nothing more.
finish() {
	local p
	for p in ${start_job[@]+"${start_job[@]}"}; do wait "$p" 2>/dev/null || true; done
	for p in ${stop_jobs[@]+"${stop_jobs[@]}"}; do kill "$p" 2>/dev/null || true; done
	exit 0
}
trap finish TERM INT
exec 3<>"$FIFO"
echo "ecs-baseline: ready (run $RUN_ID, stop timeout ${STOP_SECS}s, cleanup wait ${CLEANUP_SECS}s, parallel $PARALLEL)" >&2
while :; do
	if IFS= read -r -n 4096 -t 1 line <&3; then # a longer line arrives in pieces, each refused
		apply_change "$line"
	else
		clean_up_due
	fi
done
