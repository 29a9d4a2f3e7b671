#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Churn: the agent under the Force12 demo's random demand for DURATION seconds (default 300). Samples the
# engine every 0.2 s and reports the stopped (exited/dead) and created containers the agent owns: the most
# seen at any moment, and the most seen while the agent was settled (nothing starting or stopping, running =
# allocated), which must be 0. Also the agent's RSS and open fds at the start and the end.
set -euo pipefail

NAME=churn
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

DURATION=${DURATION:-300}
SEED=${SEED:-2015}


owned_by_state() { # prints "running exited_or_dead created"
	curl -s --unix-socket "$ENGINE" -G http://localhost/containers/json --data-urlencode all=1 \
		--data-urlencode "filters={\"label\":[\"io.force12.agent=$NODE\"]}" |
		jq -r '[(map(select(.State == "running")) | length), (map(select(.State == "exited" or .State == "dead")) | length),
			(map(select(.State == "created")) | length)] | @tsv'
}

start_agent --demand "random:$SEED"
read -r rss0 fds0 < <(footprint)

max_any=0 max_settled=0 max_created=0 samples=0 settled_samples=0
end=$(($(date +%s) + DURATION))
while [ "$(date +%s)" -lt "$end" ]; do
	read -r _ stopped created < <(owned_by_state)
	samples=$((samples + 1))
	[ "$stopped" -gt "$max_any" ] && max_any=$stopped
	[ "$created" -gt "$max_created" ] && max_created=$created
	if settled; then
		# Confirm with a second engine read after the agent said it is settled.
		read -r _ stopped created < <(owned_by_state)
		settled_samples=$((settled_samples + 1))
		[ $((stopped + created)) -gt "$max_settled" ] && max_settled=$((stopped + created))
	fi
	sleep 0.2
done
read -r rss1 fds1 < <(footprint)
totals=$(curl -s --unix-socket "$DIR/api.sock" http://localhost/v1/status | jq -c .totals)

echo "churn: ${DURATION}s of random demand (seed $SEED), $samples samples, $settled_samples while settled"
echo "stopped_owned_max_any_moment: $max_any containers (exited, awaiting their removal)"
echo "created_owned_max_any_moment: $max_created containers (starts under way)"
echo "stopped_or_created_owned_max_when_settled: $max_settled containers"
echo "agent_rss: ${rss0} KiB at start, ${rss1} KiB at end"
echo "agent_fds: $fds0 at start, $fds1 at end"
echo "totals: $totals"
if [ -s "$DIR/agent.log" ]; then
	echo "agent warnings ($(wc -l <"$DIR/agent.log") lines), the first ones:"
	head -n 5 "$DIR/agent.log"
fi
