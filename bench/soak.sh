#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# make soak: random demand at one change per second with a container killed every 10 s, for DURATION seconds
# (default 1800). After every change it waits (up to the next change) for the agent to settle and then checks
# the engine: no stopped or created containers of the agent's, and exactly the allocation running. A change that
# does not settle within its second is not checked; at least MIN_CHECKED_PERCENT (default 50) of the changes
# must be, and at the end, with demand held still, the agent must settle (within SETTLE_LIMIT s, default 60) and
# pass the same check. At the end too: the foreign containers are untouched, and RSS and open fds did not grow
# beyond noise. Reports time to target p50/p95 and RSS/fds over time. Exits non-zero on any violation.
set -euo pipefail

NAME=soak
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

DURATION=${DURATION:-1800}
SEED=${SEED:-2015}
MIN_CHECKED_PERCENT=${MIN_CHECKED_PERCENT:-50}
SETTLE_LIMIT=${SETTLE_LIMIT:-60}
violations=0


violation() {
	echo "VIOLATION: $*"
	violations=$((violations + 1))
}
engine_owned() { # prints "running other"
	curl -s --unix-socket "$ENGINE" -G http://localhost/containers/json --data-urlencode all=1 \
		--data-urlencode "filters={\"label\":[\"io.force12.agent=$NODE\"]}" |
		jq -r '[(map(select(.State == "running")) | length), (map(select(.State != "running")) | length)] | @tsv'
}

# Foreign containers: one unlabelled, one of another node. Their state must not change.
docker run -d --network none --label "io.force12.test=$NODE" busybox:latest sleep 100000 >/dev/null
docker run -d --network none --label "io.force12.test=$NODE" --label io.force12.agent=other-node \
	--label io.force12.app=priority1 busybox:latest sleep 100000 >/dev/null
foreign() { docker ps -a --no-trunc --filter "label=io.force12.test=$NODE" --format '{{.ID}} {{.Status}}' | sed 's/Up [^)]*//' | sort; }
foreign_before=$(foreign | cut -d' ' -f1)

start_agent --log-level warning
read -r rss0 fds0 < <(footprint)
echo "soak: ${DURATION}s, seed $SEED, one change a second, a kill every 10 s; agent RSS ${rss0} KiB, ${fds0} fds"

RANDOM=$SEED
p1=4 changes=0 unsettled=0 kills=0
: >"$DIR/ttt"
start=$(date +%s)
while [ $(($(date +%s) - start)) -lt "$DURATION" ]; do
	t0=$(now_ms)
	p1=$((p1 + RANDOM % 7 - 3))
	[ $p1 -lt 0 ] && p1=0
	[ $p1 -gt 9 ] && p1=9
	api -X PUT -d "{\"priority1\": $p1, \"priority2\": $((9 - p1))}" http://localhost/v1/targets >/dev/null ||
		violation "PUT failed"
	changes=$((changes + 1))
	if [ $((changes % 10)) -eq 0 ]; then
		victim=$(docker ps -q --filter "label=io.force12.agent=$NODE" --filter status=running | shuf -n 1)
		[ -n "$victim" ] && docker kill "$victim" >/dev/null 2>&1 && kills=$((kills + 1))
	fi
	ok=0
	while [ $(($(now_ms) - t0)) -lt 1000 ]; do
		if settled; then
			echo $(($(now_ms) - t0)) >>"$DIR/ttt"
			read -r running other < <(engine_owned)
			[ "$other" -eq 0 ] || violation "settled, yet the engine holds $other stopped/created containers of ours"
			[ "$running" -eq 9 ] || violation "settled, yet $running run (capacity 9, targets sum to 9)"
			ok=1
			break
		fi
		sleep 0.03
	done
	[ $ok -eq 1 ] || unsettled=$((unsettled + 1))
	while [ $(($(now_ms) - t0)) -lt 1000 ]; do sleep 0.02; done
	# Growth is judged from after the warm-up: curl's connection cache fills up to its cap first.
	[ "$changes" -eq 20 ] && read -r rss_warm fds_warm < <(footprint)
	if [ $((changes % 60)) -eq 0 ]; then
		read -r rss fds < <(footprint)
		echo "  t=$(($(date +%s) - start))s rss=${rss} KiB fds=${fds} changes=${changes} kills=${kills}"
	fi
	kill -0 "$agent_pid" 2>/dev/null || {
		violation "the agent died"
		break
	}
done

# Enough changes checked: a soak whose changes never settle has checked nothing.
checked=$((changes - unsettled))
{ [ $((checked * 100)) -ge $((changes * MIN_CHECKED_PERCENT)) ] && [ "$checked" -gt 0 ]; } ||
	violation "only $checked of $changes changes settled within their second and were checked (minimum ${MIN_CHECKED_PERCENT}%)"
# Demand held still: the agent settles, and the engine holds exactly the allocation.
final_ok=0
final_t0=$(now_ms)
while [ $(($(now_ms) - final_t0)) -lt $((SETTLE_LIMIT * 1000)) ]; do
	if settled; then
		final_ok=1
		break
	fi
	sleep 0.1
done
if [ $final_ok -eq 1 ]; then
	read -r running other < <(engine_owned)
	[ "$other" -eq 0 ] || violation "at the end the engine holds $other stopped/created containers of ours"
	[ "$running" -eq 9 ] || violation "at the end $running run (capacity 9, targets sum to 9)"
else
	violation "the agent did not settle within ${SETTLE_LIMIT}s of the last change"
fi

read -r rss1 fds1 < <(footprint)
[ "$(foreign | cut -d' ' -f1)" = "$foreign_before" ] || violation "a foreign container was touched"
[ "$(foreign | grep -c Exited || true)" -eq 0 ] || violation "a foreign container was stopped"
if [ -n "${fds_warm:-}" ]; then
	[ "$rss1" -le $((rss_warm + 4096)) ] || violation "RSS grew from ${rss_warm} to ${rss1} KiB"
	[ "$fds1" -le $((fds_warm + 4)) ] || violation "open fds grew from ${fds_warm} to ${fds1}"
else
	echo "soak: too short (under 20 changes) to judge growth"
fi
read -r p50 p95 < <(sort -n "$DIR/ttt" | awk '{a[NR] = $1} END {print a[int(NR * 0.5 + 0.5)], a[int(NR * 0.95 + 0.5)]}')
echo "soak_changes: $changes (settled within the second and checked: $checked; kills: $kills)"
echo "soak_time_to_target: p50 ${p50} ms, p95 ${p95} ms (from the PUT until the agent reported settled)"
echo "soak_agent_rss: ${rss0} KiB at start, ${rss_warm:-?} KiB after 20 changes, ${rss1} KiB at end"
echo "soak_agent_fds: ${fds0} at start, ${fds_warm:-?} after 20 changes, ${fds1} at end"
echo "soak_totals: $(api http://localhost/v1/status | jq -c .totals)"
echo "soak: $violations violations"
[ "$violations" -eq 0 ]
