#!/usr/bin/env bash
# make bench: scaling figures of the agent against the engine's own floor, measured in the same run and
# alternating with the agent's runs. Prints "name: value unit (ratio to the floor)" lines.
# Environment: ROUNDS (default 3), SIZES (default "20"), DOCKER_HOST (unix://...).
set -euo pipefail

NAME=bench
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

ROUNDS=${ROUNDS:-3}
SIZES=${SIZES:-20}
CMD="trap 'exit 0' TERM; while :; do sleep 1 & wait \$!; done"


# Running containers with a label, counted from the engine itself.
engine_count() { # LABEL [STATUS]
	local filter
	if [ -n "${2:-}" ]; then
		filter="{\"label\":[\"$1\"],\"status\":[\"$2\"]}"
	else
		filter="{\"label\":[\"$1\"]}"
	fi
	curl -s --unix-socket "$ENGINE" -G "http://localhost/containers/json" --data-urlencode all=1 \
		--data-urlencode "filters=$filter" | grep -o '"Id"' | wc -l
}

wait_count() { # LABEL STATUS N
	while [ "$(engine_count "$1" "$2")" -ne "$3" ]; do sleep 0.02; done
}


set_target() {
	curl -s --unix-socket "$DIR/api.sock" -X PUT -d "{\"priority1\": $1}" http://localhost/v1/targets >/dev/null
}

# The agent: time from the target change until all N run; then until all are stopped and removed.
agent_up_down() { # N -> prints "up_ms down_ms"
	local n=$1 t0 up down
	t0=$(now_ms)
	set_target "$n"
	wait_count "io.force12.agent=$NODE" running "$n"
	up=$(($(now_ms) - t0))
	t0=$(now_ms)
	set_target 0
	wait_count "io.force12.agent=$NODE" "" 0
	down=$(($(now_ms) - t0))
	echo "$up $down"
}

# The floor a user gets by hand: N `docker run -d` in a shell loop, then `docker stop` + `docker rm` of each.
cli_up_down() { # N -> prints "up_ms down_ms"
	local n=$1 t0 up down ids=() i
	t0=$(now_ms)
	for ((i = 0; i < n; i++)); do
		ids+=("$(docker run -d --network none --stop-timeout 2 --label "io.force12.test=$NODE" busybox:latest \
			sh -c "$CMD")")
	done
	up=$(($(now_ms) - t0))
	t0=$(now_ms)
	for i in "${ids[@]}"; do docker stop -t 2 "$i" >/dev/null && docker rm "$i" >/dev/null; done
	down=$(($(now_ms) - t0))
	echo "$up $down"
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

report() { # NAME VALUE_MS FLOOR_MS
	awk -v n="$1" -v v="$2" -v f="$3" 'BEGIN { printf "%s: %.2f s (%.2fx the floor)\n", n, v / 1000, v / f }'
}

echo "force12 bench: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), engine $(docker version -f '{{.Server.Version}}'), $ROUNDS rounds"
start_agent --capacity 1000
for n in $SIZES; do
	rm -f "$DIR/agent-up" "$DIR/agent-down" "$DIR/cli-up" "$DIR/cli-down"
	for ((r = 0; r < ROUNDS; r++)); do
		read -r up down < <(agent_up_down "$n")
		echo "$up" >>"$DIR/agent-up"
		echo "$down" >>"$DIR/agent-down"
		read -r up down < <(cli_up_down "$n")
		echo "$up" >>"$DIR/cli-up"
		echo "$down" >>"$DIR/cli-down"
	done
	cli_up=$(median <"$DIR/cli-up")
	cli_down=$(median <"$DIR/cli-down")
	report "docker_run_loop_0_to_$n" "$cli_up" "$cli_up"
	report "scale_up_0_to_$n" "$(median <"$DIR/agent-up")" "$cli_up"
	report "docker_stop_rm_loop_${n}_to_0" "$cli_down" "$cli_down"
	report "scale_down_${n}_to_0" "$(median <"$DIR/agent-down")" "$cli_down"
done
