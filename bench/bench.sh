#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# make bench: runs the benchmark program (build/force12-bench: the agent against the engine's floor measured in
# the same run, stop latency, preemption swap, footprint, churn), then the control API's latency. Prints one
# line per figure, "name: value unit (ratio to the floor)". Sizes come from the environment (see
# force12-bench --help: SIZES, ROUNDS, STOP_STEPS, SWAP_N, FOOTPRINT_N, IDLE_SECONDS, CHURN_SECONDS, SEED);
# API_N is the number of requests of the API latency figures (default 1000); SCALE_SIZES the container counts of
# the scale part (default "1000 10000 50000", against the fake engine: build/force12-scale --help).
# Exit status: non-zero only when something broke; a missed goal is reported, not failed.
set -euo pipefail

NAME=bench
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

BENCH=${BENCH_BIN:-$TOP/build/force12-bench}
[ -x "$BENCH" ] || {
	echo "bench.sh: $BENCH is missing; run make bench (or make $BENCH)" >&2
	exit 1
}

# lib.sh's trap removes whatever carries this node id, should the program itself be killed.
"$BENCH" --agent "$AGENT" --docker-socket "$ENGINE" --node-id "$NODE" "$@"
N=${API_N:-1000} bash "$TOP/bench/api-latency.sh"
# The scale part (issue 16): one agent against a fake engine holding SCALE_SIZES owned containers.
SCALE=${SCALE_BENCH:-$TOP/build/force12-scale}
if [ -x "$SCALE" ]; then
	"$SCALE" --agent "$AGENT" --sizes "${SCALE_SIZES:-1000 10000 50000}"
else
	echo "scale: skipped, $SCALE is missing (make sim-tools)"
fi
echo "force12 bench: done, load $(cut -d' ' -f1-3 /proc/loadavg)"
