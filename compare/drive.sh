#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The comparison's driver: replays one seeded demand trace (force12-trace: the Force12 demo's random walk) in real
# time against one system, announcing each change to the observer first (its demand FIFO), then handing it to the
# system under test: force12 through its control API (PUT /v1/targets on the agent's unix socket), the others
# (the local ECS control plane, the docker-compose driver) as a line "APP=N APP=N" on their demand FIFO. It never
# touches the engine.
set -euo pipefail

usage() {
	cat <<EOF
Usage: drive.sh --observer-fifo PATH (--force12 API_SOCKET | --fifo PATH) [OPTIONS]
  --seed N              the trace's seed (default 2015)
  --duration SECONDS    how long to replay (default 120)
  --observer-fifo PATH  force12-observe's --demand-fifo
  --force12 SOCKET      drive a force12 agent through its control API socket
  --fifo PATH           write each change as a line to this FIFO (compare/ecs-plane/plane.py,
                        compare/compose-driver.py)
EOF
}

die() {
	echo "drive: $*" >&2
	exit 2
}

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TRACE=${TRACE_BIN:-$TOP/build/force12-trace}
SEED=2015 DURATION=120 OBSERVER='' AGENT_SOCK='' BASELINE=''
while [ $# -gt 0 ]; do
	case $1 in
	-h | --help)
		usage
		exit 0
		;;
	--seed | --duration | --observer-fifo | --force12 | --fifo) [ $# -ge 2 ] || die "$1 needs a value" ;;
	*) die "unknown option \"$1\"; try --help" ;;
	esac
	case $1 in
	--seed) SEED=$2 ;;
	--duration) DURATION=$2 ;;
	--observer-fifo) OBSERVER=$2 ;;
	--force12) AGENT_SOCK=$2 ;;
	--fifo) BASELINE=$2 ;;
	esac
	shift 2
done
[ -p "$OBSERVER" ] || die "--observer-fifo: \"$OBSERVER\" is not a FIFO (start force12-observe first)"
if [ -n "$AGENT_SOCK" ] && [ -n "$BASELINE" ] || [ -z "$AGENT_SOCK$BASELINE" ]; then
	die "give exactly one of --force12 and --fifo"
fi
[ -z "$BASELINE" ] || [ -p "$BASELINE" ] || die "--fifo: \"$BASELINE\" is not a FIFO"
mapfile -t trace < <("$TRACE" --seed "$SEED" --duration "$DURATION") || die "force12-trace failed"
[ ${#trace[@]} -gt 0 ] || die "force12-trace printed nothing"

exec 4>"$OBSERVER"
[ -z "$BASELINE" ] || exec 5>"$BASELINE"

apply() { # "APP=N APP=N"
	if [ -n "$AGENT_SOCK" ]; then
		local body
		body=$(tr ' ' '\n' <<<"$1" | jq -Rn '[inputs | split("=") | {(.[0]): (.[1] | tonumber)}] | add')
		curl -sS --fail-with-body --max-time 5 --unix-socket "$AGENT_SOCK" -X PUT --data-binary "$body" \
			http://localhost/v1/targets >/dev/null || echo "drive: PUT /v1/targets $body failed" >&2
	else
		echo "$1" >&5
	fi
}

# Sleeps run in the background so that a TERM (compare.sh stopping the run) ends them too, at once.
NAP=''
nap() {
	sleep "$1" &
	NAP=$!
	wait "$NAP"
	NAP=''
}
trap '[ -z "$NAP" ] || kill "$NAP" 2>/dev/null; exit 143' TERM INT

start_ns=$(date +%s%N)
for line in "${trace[@]}"; do
	offset=${line%% *} change=${line#* }
	wait_ns=$((start_ns + offset * 1000000000 - $(date +%s%N)))
	[ "$wait_ns" -le 0 ] || nap "$((wait_ns / 1000000000)).$(printf '%09d' $((wait_ns % 1000000000)))"
	echo "$change" >&4
	apply "$change"
done
# The trace's last change holds until the end of the duration.
end_ns=$((start_ns + DURATION * 1000000000 - $(date +%s%N)))
[ "$end_ns" -le 0 ] || nap "$((end_ns / 1000000000)).$(printf '%09d' $((end_ns % 1000000000)))"
