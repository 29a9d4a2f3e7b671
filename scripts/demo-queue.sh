#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# make demo DEMAND=queue: force12 scaling consumers on a real queue's depth, the next step the Force12 demo named.
# Debian's redis-server holds a list, a producer pushes jobs at a rate that follows the Force12 random walk,
# prometheus-redis-exporter exports the list's length, Prometheus scrapes it every second, and the agent scales the
# priority1 consumers (busybox, each takes a job every 0.5 s) on the query sum(redis_key_size{key=...}), 4 jobs per
# consumer, at most 9. priority2 (network none) fills the rest of the capacity and gives way by priority.
# The consumers use the host's network (network_mode host) to reach Redis on 127.0.0.1; everything else is none.
# SURGE_AT seconds in (default 30) or later, once at most 2 consumers run, SURGE jobs (default 60) arrive at once; the time until enough consumers run is
# measured and printed. Runs until Ctrl-C on a terminal, or DURATION seconds (default 90 when not on a terminal).
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
AGENT=$TOP/build/force12-agent
NODE=force12-demo-queue
KEY=force12:queue
PER_CONTAINER=4
DIR=$(mktemp -d /tmp/force12-demo-queue.XXXXXX)
SOCK=$DIR/agent.sock
case "${DOCKER_HOST:-}" in
unix://*) ENGINE=${DOCKER_HOST#unix://} ;;
*) ENGINE=/var/run/docker.sock ;;
esac
if [ -t 1 ]; then DURATION=${DURATION:-0}; else DURATION=${DURATION:-90}; fi
SURGE_AT=${SURGE_AT:-30}
SURGE=${SURGE:-60}
SEED=${SEED:-}

for tool in redis-server redis-cli prometheus prometheus-redis-exporter jq python3; do
	command -v "$tool" >/dev/null || {
		echo "demo-queue: $tool is missing (make demo installs redis-server, prometheus-redis-exporter and prometheus)" >&2
		exit 1
	}
done

free_port() { # FIRST: the first loopback port from FIRST on that nothing listens on
	local p=$1
	while (: <"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do p=$((p + 1)); done
	echo "$p"
}
REDIS_PORT=$(free_port 16379)
EXPORTER_PORT=$(free_port 19121)
PROM_PORT=$(free_port 19090)
PORT=$(free_port "${PORT:-5112}")

# shellcheck source=scripts/demo-lib.sh
. "$TOP/scripts/demo-lib.sh"
api() { curl -s --max-time 2 --unix-socket "$SOCK" "http://localhost$1"; }
owned() { docker -H "unix://$ENGINE" ps -aq --filter "label=io.force12.agent=$NODE" | wc -l; }
depth() { redis-cli -p "$REDIS_PORT" LLEN "$KEY" 2>/dev/null || echo "?"; }

pids=()
agent_pid=
finish() {
	trap - EXIT INT TERM
	demo_scale_down
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	echo "Left on the engine by the demo: $(owned) containers. Logs: $DIR"
}
trap finish EXIT
trap 'exit 0' INT TERM

# The queue, its exporter and Prometheus, each with its own port and data dir under $DIR.
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$DIR" >"$DIR/redis.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 50); do redis-cli -p "$REDIS_PORT" PING >/dev/null 2>&1 && break; sleep 0.1; done
prometheus-redis-exporter --redis.addr "redis://127.0.0.1:$REDIS_PORT" --check-single-keys "db0=$KEY" \
	--web.listen-address "127.0.0.1:$EXPORTER_PORT" >"$DIR/exporter.log" 2>&1 &
pids+=($!)
sed -e "s/@EXPORTER_PORT@/$EXPORTER_PORT/" "$TOP/demo/prometheus.yml.in" >"$DIR/prometheus.yml"
prometheus --config.file="$DIR/prometheus.yml" --storage.tsdb.path="$DIR/prometheus" \
	--web.listen-address="127.0.0.1:$PROM_PORT" --log.level=warn >"$DIR/prometheus.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PROM_PORT/-/ready" >/dev/null && break; sleep 0.1; done

# The agent's config: the demo's two apps, priority1 scaled on the queue's depth.
jq --arg prom "http://127.0.0.1:$PROM_PORT" --arg key "$KEY" --argjson per "$PER_CONTAINER" \
	--arg consume "$(sed -e "s/@REDIS_PORT@/$REDIS_PORT/" -e "s/@KEY@/$KEY/" "$TOP/demo/consumer.sh")" \
	'.apps[0].command[2] = $consume | .apps[0].scale.prometheus = $prom | .apps[0].scale.per_container = $per
	 | .apps[0].scale.query = "sum(redis_key_size{key=\"" + $key + "\"}) or vector(0)"' \
	"$TOP/demo/agent-queue.json" >"$DIR/agent.json"
"$AGENT" -c "$DIR/agent.json" --node-id "$NODE" --docker-socket "$ENGINE" --api-socket "$SOCK" \
	--state-dir "$DIR/state" --listen "127.0.0.1:$PORT" >"$DIR/agent.log" 2>&1 &
agent_pid=$!
for _ in $(seq 1 100); do
	[ "$(api /v1/status | jq -r .ready 2>/dev/null)" = true ] && break
	kill -0 "$agent_pid" 2>/dev/null || { cat "$DIR/agent.log"; exit 1; }
	sleep 0.1
done
python3 "$TOP/demo/producer.py" "$REDIS_PORT" "$KEY" 2 "$DIR/producer" "$SEED" 2>"$DIR/producer.log" &
pids+=($!)

# The surge: SURGE jobs at once; then, every 0.1 s, when the rule's target rose and when that many consumers run.
surge() {
	local t0 before after target=0 running t_target="" t_running="" now want=""
	before=$(api /v1/status | jq -r '.apps[0].scale.target // 0')
	t0=$(date +%s%N)
	redis-cli -p "$REDIS_PORT" LPUSH "$KEY" $(seq -f "surge-%g" 1 "$SURGE") >/dev/null
	after=$(depth)
	while [ $((($(date +%s%N) - t0) / 1000000)) -lt 60000 ]; do
		read -r target running < <(api /v1/status | jq -r '"\(.apps[0].scale.target // 0) \(.apps[0].running)"')
		now=$((($(date +%s%N) - t0) / 1000000))
		[ -z "$t_target" ] && [ "$target" -gt "$before" ] && t_target=$now && want=$target
		[ -n "$t_target" ] && [ "$running" -ge "$want" ] && t_running=$now && break
		sleep 0.1
	done
	echo "surge of $SURGE jobs (queue $after): target $before -> ${want:-?} after ${t_target:-?} ms," \
		"${want:-?} consumers running after ${t_running:-?} ms" >"$DIR/surge"
}

bar() { # RUNNING WANTED WIDTH: █ running, ░ wanted not yet running, · free
	local s="" i
	for ((i = 0; i < $3; i++)); do
		if [ "$i" -lt "$1" ]; then s+="█"; elif [ "$i" -lt "$2" ]; then s+="░"; else s+="·"; fi
	done
	printf '%s' "$s"
}

start=$(date +%s)
surged=0
[ -t 1 ] || echo "dashboard: http://127.0.0.1:$PORT/  Prometheus: http://127.0.0.1:$PROM_PORT/  logs: $DIR"
[ -t 1 ] && clear
while :; do
	elapsed=$(($(date +%s) - start))
	[ "$DURATION" -gt 0 ] && [ "$elapsed" -ge "$DURATION" ] && break
	status=$(api /v1/status) || true
	[ -n "$status" ] || { echo "agent not answering; log:"; tail "$DIR/agent.log"; exit 1; }
	# The surge comes once the consumers are few (at most 2), so that it needs more of them.
	if [ "$surged" = 0 ] && [ "$elapsed" -ge "$SURGE_AT" ] &&
		[ "$(jq -r '.apps[0].scale.target // 0' <<<"$status")" -le 2 ]; then
		surged=1
		surge &
		pids+=($!)
	fi
	read -r level rate <"$DIR/producer" 2>/dev/null || level='?' rate='?'
	q=$(depth)
	scale=$(jq -r '.apps[0].scale | "value \(.value // "-") recommendation \(.recommendation // "-") target \(.target // "-")\(if .error then "  error: " + .error else "" end)"' <<<"$status")
	if [ -t 1 ]; then
		printf '\033[H'
		printf 'force12 demo: consumers scaled on a Redis queue, node %s, capacity %s  (%ss, Ctrl-C to stop)\033[K\n\n' \
			"$NODE" "$(jq -r .capacity <<<"$status")" "$elapsed"
		printf '  producer: level %s of 9, %s jobs/s      queue depth: %s jobs\033[K\n' "$level" "$rate" "$q"
		printf '  rule (%s jobs per consumer): %s\033[K\n\n' "$PER_CONTAINER" "$scale"
		printf '  %-10s %6s %8s %9s   %s\033[K\n' app target running allocated "█ running  ░ target"
		jq -r '.apps[] | "\(.name) \(.target) \(.running) \(.allocated)"' <<<"$status" |
			while read -r name target running allocated; do
				printf '  %-10s %6s %8s %9s   %s\033[K\n' "$name" "$target" "$running" "$allocated" \
					"$(bar "$running" "$target" "$(jq -r .capacity <<<"$status")")"
			done
		printf '\n  %s\033[K\n' "$(cat "$DIR/surge" 2>/dev/null || echo "surge of $SURGE jobs at ${SURGE_AT}s")"
		printf '  dashboard: http://127.0.0.1:%s/   Prometheus: http://127.0.0.1:%s/\033[K\n\033[J' "$PORT" "$PROM_PORT"
	else
		jq -r --arg t "$elapsed" --arg q "$q" --arg r "$rate" --arg s "$scale" \
			'"t=\($t)s rate \($r)/s queue \($q) \($s); " + ([.apps[] | "\(.name) target \(.target) running \(.running)"] | join(", "))' \
			<<<"$status"
	fi
	sleep 1
done
[ -f "$DIR/surge" ] && cat "$DIR/surge"
grep -o 'Started force12-priority1-[0-9a-f]* in [0-9]* ms' "$DIR/agent.log" | awk '{ s += $(NF-1); n++ }
	END { if (n) printf "consumer start time: %d starts, mean %.0f ms\n", n, s / n }'
