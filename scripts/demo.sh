#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# make demo: the Force12 microscaling demo on this host. The agent runs the embedded default (capacity 9,
# priority1 and priority2) with the random demand, and the terminal shows each app's demand beside what runs.
# Runs until Ctrl-C on a terminal, or DURATION seconds (default 60 when not on a terminal).
set -euo pipefail
# make demo DEMAND=queue: the consumers of a real queue, scaled on its depth through Prometheus.
if [ "${DEMAND:-}" = queue ]; then exec bash "$(dirname "$0")/demo-queue.sh"; fi

TOP=$(cd "$(dirname "$0")/.." && pwd)
AGENT=$TOP/build/force12-agent
NODE=force12-demo
DIR=$(mktemp -d /tmp/force12-demo.XXXXXX)
SOCK=$DIR/agent.sock
case "${DOCKER_HOST:-}" in
unix://*) ENGINE=${DOCKER_HOST#unix://} ;;
*) ENGINE=/var/run/docker.sock ;;
esac
if [ -t 1 ]; then DURATION=${DURATION:-0}; else DURATION=${DURATION:-60}; fi
SEED=${SEED:-}
PORT=${PORT:-5112}
# The dashboard needs TCP: take the first free loopback port from PORT on.
while (: <"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; do PORT=$((PORT + 1)); done

# shellcheck source=scripts/demo-lib.sh
. "$TOP/scripts/demo-lib.sh"
api() { curl -s --max-time 2 --unix-socket "$SOCK" "http://localhost$1"; }
owned() { docker ps -aq --filter "label=io.force12.agent=$NODE" "$@" | wc -l; }

agent_pid=
finish() {
	trap - EXIT INT TERM
	demo_scale_down
	echo "Left on the engine by the demo: $(owned) containers. Agent log: $DIR/agent.log"
}
trap finish EXIT
trap 'exit 0' INT TERM

"$AGENT" --node-id "$NODE" --docker-socket "$ENGINE" --api-socket "$SOCK" --state-dir "$DIR/state" \
	--listen "127.0.0.1:$PORT" --demand "random${SEED:+:$SEED}" >"$DIR/agent.log" 2>&1 &
agent_pid=$!
for _ in $(seq 1 100); do
	[ "$(api /v1/status | jq -r .ready 2>/dev/null)" = true ] && break
	kill -0 "$agent_pid" 2>/dev/null || { cat "$DIR/agent.log"; exit 1; }
	sleep 0.1
done

bar() { # RUNNING DEMAND WIDTH: █ running, ░ demand not yet running, · free
	local s="" i
	for ((i = 0; i < $3; i++)); do
		if [ "$i" -lt "$1" ]; then s+="█"; elif [ "$i" -lt "$2" ]; then s+="░"; else s+="·"; fi
	done
	printf '%s' "$s"
}

max_stopped=0
start=$(date +%s)
[ -t 1 ] || echo "dashboard: http://127.0.0.1:$PORT/ (control API socket $SOCK)"
[ -t 1 ] && clear
while :; do
	now=$(date +%s)
	elapsed=$((now - start))
	[ "$DURATION" -gt 0 ] && [ "$elapsed" -ge "$DURATION" ] && break
	status=$(api /v1/status) || true
	[ -n "$status" ] || { echo "agent not answering; log:"; tail "$DIR/agent.log"; exit 1; }
	# Exited and not yet removed (a stop's last few ms); "created" is a start under way, not garbage.
	stopped=$(owned --filter status=exited --filter status=dead)
	[ "$stopped" -gt "$max_stopped" ] && max_stopped=$stopped
	if [ -t 1 ]; then
		printf '\033[H'
		printf 'force12 demo: random demand on node %s, capacity %s   (%ss, Ctrl-C to stop)\033[K\n\n' \
			"$NODE" "$(jq -r .capacity <<<"$status")" "$elapsed"
		printf '  %-10s %6s %8s %9s   %s\033[K\n' app demand running allocated "█ running  ░ demanded"
		jq -r '.apps[] | "\(.name) \(.target) \(.running) \(.allocated) \(.starting) \(.stopping)"' <<<"$status" |
			while read -r name target running allocated starting stopping; do
				printf '  %-10s %6s %8s %9s   %s  %s\033[K\n' "$name" "$target" "$running" "$allocated" \
					"$(bar "$running" "$target" "$(jq -r .capacity <<<"$status")")" "$( ((starting + stopping > 0)) && echo "(+$starting starting, -$stopping stopping)")"
			done
		printf '\n  exited containers on the engine: %s now, %s at most\033[K\n' "$stopped" "$max_stopped"
		printf '  %s\033[K\n' "$(jq -r '.totals | "started \(.started), stopped \(.stopped), removed \(.removed), killed \(.killed), failed \(.failed)"' <<<"$status")"
		printf '  dashboard:   http://127.0.0.1:%s/\033[K\n' "$PORT"
		printf '  control API: %s/force12ctl --socket %s status\033[K\n\033[J' "$TOP/build" "$SOCK"
	else
		jq -r --arg t "$elapsed" --arg s "$stopped" \
			'"t=\($t)s " + ([.apps[] | "\(.name) demand \(.target) running \(.running)"] | join(", ")) + ", exited \($s)"' \
			<<<"$status"
	fi
	sleep 1
done
