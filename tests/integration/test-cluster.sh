# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# shellcheck disable=SC2153 # T, NODE, TOP come from lib.sh
# Cluster mode on the local cluster (scripts/local-cluster.sh): etcd and three emulated hosts, each its own dockerd
# and agent, capacity 9. The totals split as expected over the hosts; an etcd restart starts or stops nothing and
# a later change still converges; agents away while their watch's revision is compacted read everything again;
# when a host dies the survivors take its share over with exactly the starts it needs; no host ever runs more
# than its capacity, replayed at every event of each host's engine (lib.sh's shared check). Counts come from the
# hosts' engines, never from the agents.

TTL=10

lc() {
	F12_CLUSTER_DIR=$T/cluster F12_CLUSTER_ID=$NODE F12_LEASE_TTL=$TTL F12_LOG_DIR=$T \
		bash "$TOP/scripts/local-cluster.sh" "$@"
}
hsock() { echo "$T/cluster/host-$1/engine/docker.sock"; }
hdk() { # HOST docker-args...
	local h=$1
	shift
	docker -H "unix://$(hsock "$h")" "$@"
}
hapi() { curl -s --unix-socket "$T/cluster/host-$1/api.sock" "http://localhost$2"; }
ms() { echo $(($(date +%s%N) / 1000000)); }

running() { # HOST APP
	hdk "$1" ps -q --filter status=running --filter "label=io.force12.app=$2" | wc -l
}

# split_is HOST:P1:P2 ...: each host runs exactly that many of priority1 and priority2, and nothing else of ours.
split_is() {
	local spec h p1 p2
	for spec in "$@"; do
		IFS=: read -r h p1 p2 <<<"$spec"
		[ "$(running "$h" priority1)" -eq "$p1" ] || return 1
		[ "$(running "$h" priority2)" -eq "$p2" ] || return 1
		[ "$(hdk "$h" ps -aq --filter "label=io.force12.agent=$NODE-host-$h" | wc -l)" -eq $((p1 + p2)) ] || return 1
	done
}

# split_even P1 P2: hosts 1-3 run, together, P1 of priority1 and P2 of priority2, each app within 1 over the hosts,
# and nothing else of ours. Which hosts get the odd ones follows the node ids' rendezvous weights (split.h), and the
# ids change every run; the unit tests (test-split) pin the rule itself.
split_even() {
	local h app want sum lo hi n
	for app in priority1 priority2; do
		want=$1
		shift
		sum=0 lo=999999 hi=0
		for h in 1 2 3; do
			n=$(running "$h" "$app")
			sum=$((sum + n))
			((n < lo)) && lo=$n
			((n > hi)) && hi=$n
		done
		[ "$sum" -eq "$want" ] && [ $((hi - lo)) -le 1 ] || return 1
	done
	for h in 1 2 3; do
		[ "$(hdk "$h" ps -aq --filter "label=io.force12.agent=$NODE-host-$h" | wc -l)" -eq \
			$(($(running "$h" priority1) + $(running "$h" priority2))) ] || return 1
	done
}

# Records every host's engine events for lib.sh's replay (capacity at every event), with the capacity each agent
# reports.
record_hosts() {
	local h
	for h in 1 2 3; do
		record_events "$(hsock "$h")" "$NODE-host-$h"
		hapi "$h" /v1/status | jq -r .capacity >>"$T/capacity-$NODE-host-$h"
	done
}

# A host's engine events from NS on (lib.sh's events_since for that host's node).
host_events() { # HOST NS
	events_since "$2" "$NODE-host-$1"
}

# Pauses (STOP) or resumes (CONT) every host's agent: an agent held away from etcd by more than a restart.
signal_agents() { # SIGNAL
	local h
	for h in 1 2 3; do kill -"$1" "$(cat "$T/cluster/host-$h/agent.pid")"; done
}

all_reachable() {
	local h
	for h in "$@"; do
		hapi "$h" /v1/status | json_check '.cluster.reachable == true' || return 1
	done
}

# Every container of the hosts with its start time: an etcd restart must not change a line of it.
snapshot() {
	local h
	for h in 1 2 3; do
		hdk "$h" ps -aq --no-trunc | sort | while read -r id; do
			hdk "$h" inspect -f "$h {{.Id}} {{.State.Status}} {{.State.StartedAt}}" "$id"
		done
	done
}

container_events() { # HOST SINCE-EPOCH: start, stop, die, create and destroy events since then
	hdk "$1" events --since "$2" --until "$(date +%s.%N)" --filter type=container \
		--filter event=start --filter event=stop --filter event=die --filter event=create --filter event=destroy \
		--format '{{.Action}} {{.Actor.Attributes.name}}'
}

cluster_cleanup() {
	local rc=$?
	set +e # the test's errexit must not cut the cleanup short
	lc stop >/dev/null 2>&1
	# The agents' logs, where lib.sh's cleanup looks for sanitizer and valgrind reports.
	cat "$T"/host-*.agent.log >>"$T/agent.log" 2>/dev/null
	(exit "$rc")
	cleanup
}

test_cluster_three_hosts_split_etcd_restart_host_loss() {
	# Not skips: a test machine (scripts/setup-host.sh --test) has etcd, and runs the tests as root.
	command -v etcd >/dev/null || fail "etcd not installed (apt-get install etcd-server, or scripts/setup-host.sh --test)"
	[ "$(id -u)" -eq 0 ] || fail "needs root: every emulated host is its own dockerd"
	sanitizer_build && skip "sanitizer run: the cluster simulation runs once, in the plain pass"
	trap cluster_cleanup EXIT
	lc start 3 2>>"$T/cluster.log" || fail "the local cluster did not start: $(tail -n 3 "$T/cluster.log")"
	record_hosts
	agent_started
	local t0 h before after since events

	# 12 + 9 over three hosts of 9: 4 + 3 each.
	t0=$(ms)
	lc put-targets '{"priority1": 12, "priority2": 9}'
	wait_until 90 "the split 4+3 on every host" split_is 1:4:3 2:4:3 3:4:3
	figure cluster_totals_to_converged_ms "$(($(ms) - t0))"
	for h in 1 2 3; do
		hapi "$h" /v1/status | json_check '(.cluster.members | length) == 3 and .cluster.share == {"priority1": 4, "priority2": 3}' ||
			fail "host $h's status: $(hapi "$h" /v1/status | jq -c .cluster)"
	done
	hapi 1 /metrics >"$T/metrics"
	{ grep -qx 'force12_cluster_members 3' "$T/metrics" && grep -qx 'force12_cluster_reachable 1' "$T/metrics" &&
		grep -qx 'force12_cluster_share{app="priority1"} 4' "$T/metrics"; } ||
		fail "/metrics lacks the cluster view: $(grep cluster "$T/metrics")"
	if command -v promtool >/dev/null; then
		promtool check metrics <"$T/metrics" >"$T/promtool.log" 2>&1 || fail "promtool: $(cat "$T/promtool.log")"
	fi

	# etcd restarts: every agent says so, /healthz stays 200 with a note, nothing starts or stops.
	before=$(snapshot)
	since=$(date +%s.%N) # sub-second: the last starts of the convergence may fall in the same second
	lc restart-etcd 4 2>>"$T/cluster.log" &
	local restart_pid=$!
	wait_until 15 "host 1 to report etcd unreachable" sh -c "curl -s --unix-socket $T/cluster/host-1/api.sock http://x/v1/status | jq -e '.cluster.reachable == false'"
	body=$(curl -s -w ' %{http_code}' --unix-socket "$T/cluster/host-1/api.sock" http://localhost/healthz)
	[[ $body == *"etcd not reachable"*" 200" ]] || fail "/healthz during the etcd outage: $body"
	wait "$restart_pid" || fail "etcd did not come back: $(tail -n 3 "$T/cluster.log")"
	wait_until 30 "every agent to reach etcd again" all_reachable 1 2 3
	sleep 3
	after=$(snapshot)
	[ "$before" = "$after" ] || fail "the etcd restart changed containers: $(diff <(echo "$before") <(echo "$after"))"
	for h in 1 2 3; do
		events=$(container_events "$h" "$since")
		[ -z "$events" ] || fail "host $h: container events during the etcd restart: $events"
	done
	split_is 1:4:3 2:4:3 3:4:3 || fail "the split changed across the etcd restart"

	# An agent restarted while etcd is away keeps its share too: it resumes it from its state dir.
	since=$(date +%s.%N) # sub-second: the last starts of the convergence may fall in the same second
	lc stop-etcd
	lc restart-agent 2 2>>"$T/cluster.log" || fail "host 2's agent did not come back"
	sleep 3
	lc start-etcd 2>>"$T/cluster.log"
	wait_until 30 "every agent to reach etcd again" all_reachable 1 2 3
	sleep 2
	[ "$before" = "$(snapshot)" ] || fail "the agent restart changed containers: $(diff <(echo "$before") <(snapshot))"
	events=$(container_events 2 "$since")
	[ -z "$events" ] || fail "host 2: container events around its agent's restart: $events"

	# Changes made while the agents were away, then compacted away before they come back: they read everything
	# again and converge. 10 + 5: 4, 3, 3 of priority1 and 2, 2, 1 of priority2. The agents lose etcd, then are held (SIGSTOP) while etcd comes
	# back, takes the changes and compacts them, so that none reconnects before the compaction: every one of
	# them must take the compaction path.
	lc stop-etcd
	wait_until 30 "the agents to back off" sh -c "for h in 1 2 3; do curl -s --unix-socket $T/cluster/host-\$h/api.sock http://x/v1/status | jq -e '.cluster.failures >= 5' >/dev/null || exit 1; done"
	signal_agents STOP
	lc start-etcd 2>>"$T/cluster.log"
	lc put-targets '{"priority1": 10, "priority2": 5}'
	lc put-targets '{"priority1": 10, "priority2": 5}'
	lc compact
	signal_agents CONT
	wait_until 90 "the split after a compaction" split_even 10 5
	local reread
	for h in 1 2 3; do
		grep -q 'was compacted' "$T/cluster/host-$h/agent.log" && reread=$((${reread:-0} + 1))
	done
	figure cluster_agents_that_reread_after_compaction "${reread:-0} of 3"
	[ "${reread:-0}" -eq 3 ] || fail "only ${reread:-0} of 3 agents took the compaction path"

	# A later change converges: 8 + 6 is 3, 3, 2 of priority1 and 2 each of priority2.
	t0=$(ms)
	lc put-targets '{"priority1": 8, "priority2": 6}'
	wait_until 90 "the split after the etcd restart" split_even 8 6
	figure cluster_change_after_etcd_restart_to_converged_ms "$(($(ms) - t0))"

	# Host 3 dies: the two others take its share over (4+3 each): from their engines' events, the survivors
	# start together exactly what host 3 ran, app by app, and stop nothing (the least a split can move; split.h).
	# The time is a figure (the lease's TTL is $TTL s), never asserted.
	local lost1 lost2 moved expected=
	lost1=$(running 3 priority1) lost2=$(running 3 priority2)
	[ "$lost1" -eq 0 ] || expected+="start:priority1 $lost1 "
	[ "$lost2" -eq 0 ] || expected+="start:priority2 $lost2 "
	t0=$(ms)
	since=$(date +%s%N)
	lc kill-host 3 2>>"$T/cluster.log"
	wait_until 90 "the survivors to cover host 3's share" split_is 1:4:3 2:4:3
	figure cluster_host_death_to_share_covered_ms "$(($(ms) - t0)) (lease TTL ${TTL}000)"
	for h in 1 2; do wait_events "$(hsock "$h")" "$NODE-host-$h"; done
	moved=$(for h in 1 2; do
		host_events "$h" "$since" | awk -F'\t' '$2 ~ /^(start|die)$/ { print $2 ":" $6 }'
	done | sort | uniq -c | awk '{ printf "%s %s ", $2, $1 }')
	[ "$moved" = "$expected" ] ||
		fail "after host 3's death the survivors' engines did: ${moved:-nothing} (expected ${expected:-nothing}, nothing else)"
	for h in 1 2; do
		hapi "$h" /v1/status | json_check '(.cluster.members | length) == 2' ||
			fail "host $h still counts host 3: $(hapi "$h" /v1/status | jq -c .cluster.members)"
	done
}
