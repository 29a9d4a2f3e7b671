# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# shellcheck disable=SC2153 # T, NODE come from lib.sh
# The warm standby against the real engine: the pool is filled to K with paused containers, a scale-up takes
# from it first and refills it, a scale-down parks containers, a standby container never counts as running, and
# with targets 0 and standby 0 nothing is left.

DEMO_CMD='["sh", "-c", "trap '"'"'exit 0'"'"' TERM; while :; do sleep 1 & wait $!; done"]'

standby_config() { # K1 K2
	write_config "$T/agent.json" <<JSON
{"capacity": 9, "apps": [
  {"name": "priority1", "priority": 1, "image": "busybox:latest", "command": $DEMO_CMD, "standby": $1},
  {"name": "slowstop", "priority": 2, "image": "busybox:latest", "stop_timeout": 15, "standby": $2,
   "command": ["sh", "-c", "while :; do sleep 1; done"]}]}
JSON
}

# is_standby APP RUNNING PAUSED: the engine holds exactly that of the app, and nothing else of it.
is_standby() {
	[ "$(count "$1" running)" -eq "$2" ] && [ "$(count "$1" paused)" -eq "$3" ] &&
		[ "$(count "$1" all)" -eq $(($2 + $3)) ]
}

app_field() { # APP FIELD
	status_field ".apps[] | select(.name==\"$1\") | .$2"
}

# The agent's view agrees with the engine's: paused containers are standby, never running. The agent counts a
# change when it handles the engine's answer, after the engine shows it: waited for, with a limit.
counts_agree() { # APP
	[ "$(app_field "$1" running)" -eq "$(count "$1" running)" ] && [ "$(app_field "$1" standby)" -eq "$(count "$1" paused)" ]
}
check_counts_agree() { # APP
	wait_until 10 "the agent's counts of $1 to match the engine's" counts_agree "$1"
}

slowstop_die_recorded() {
	[ "$(event_count die slowstop)" -ge 1 ]
}

test_standby_pool_fill_consume_refill_park_and_drain() {
	standby_config 3 0
	start_agent --config "$T/agent.json"
	# Filled up to K, with nothing running.
	wait_until 60 "the pool to hold 3" is_standby priority1 0 3
	check_counts_agree priority1
	[ "$(app_field priority1 standby_target)" -eq 3 ] || fail "standby_target is not 3"
	api GET /metrics | grep -qx 'force12_app_standby{app="priority1"} 3' || fail "/metrics does not show the pool"

	# A restart adopts the pool: nothing new is created for it, nothing is touched (the engine's events).
	stop_agent TERM
	local t0
	t0=$(date +%s%N)
	start_agent --config "$T/agent.json"
	sleep 1 # a window for a wrong agent to act (not a timing assertion)
	is_standby priority1 0 3 || fail "the pool changed across a restart"
	[ "$(status_field .totals.warmed)" -eq 0 ] || fail "the restarted agent warmed $(status_field .totals.warmed) more"
	wait_events
	[ -z "$(events_since "$t0" | awk -F'\t' '$2 !~ /^exec_/')" ] || fail "the restarted agent acted: $(events_since "$t0")"

	# A scale-up takes from the pool first (3 resumed, 2 created), then refills it in the background.
	local resumed_ms
	t0=$(date +%s%N)
	set_targets '{"priority1": 5}'
	wait_until 60 "5 running" sh -c "[ \$(docker ps -q --filter label=io.force12.agent=$NODE --filter label=io.force12.app=priority1 --filter status=running | wc -l) -ge 5 ]"
	resumed_ms=$((($(date +%s%N) - t0) / 1000000))
	wait_until 10 "the agent to count the 5 starts" status_is '.totals.resumed + .totals.started >= 5'
	[ "$(status_field .totals.resumed)" -eq 3 ] || fail "resumed $(status_field .totals.resumed), expected 3"
	[ "$(status_field .totals.started)" -eq 2 ] || fail "created $(status_field .totals.started), expected 2"
	figure standby_scale_up_0_to_5_ms "$resumed_ms"
	wait_until 60 "the pool to be refilled" is_standby priority1 5 3
	check_counts_agree priority1
	[ "$(status_field .totals.warmed)" -eq 3 ] || fail "warmed $(status_field .totals.warmed), expected 3"

	# A scale-down parks what the pool has room for. The slow-stopping app keeps the node busy, so the pool is
	# not refilled in between: p1 up to 8 takes the 3 parked ones, then down to 4 parks 3 and stops 1.
	set_targets '{"slowstop": 1}'
	wait_until 60 "slowstop running" is_standby slowstop 1 0
	local t1 order
	t1=$(date +%s%N)
	set_targets '{"priority1": 8, "slowstop": 0}' # slowstop takes 15 s to stop: not quiet meanwhile
	wait_until 60 "8 running" sh -c "[ \$(docker ps -q --filter label=io.force12.agent=$NODE --filter label=io.force12.app=priority1 --filter status=running | wc -l) -eq 8 ]"
	set_targets '{"priority1": 4}'
	wait_until 60 "4 running and 3 parked" is_standby priority1 4 3
	check_counts_agree priority1
	[ "$(status_field .totals.parked)" -eq 3 ] || fail "parked $(status_field .totals.parked), expected 3"
	wait_until 60 "slowstop gone" is_standby slowstop 0 0
	# The engine's event stream may trail its state (Podman's does): wait for slowstop's die in it.
	wait_until 10 "slowstop's die in the engine's events" slowstop_die_recorded
	# From the engine's events, in order: while slowstop was on its way out (until its die) priority1 took the 3
	# parked ones (unpause) and was paused only by the scale-down to 4 (3 parks), never by a refill (a create
	# then pause). u: unpause, c: create, p: pause, D: slowstop's die.
	order=$(events_since "$t1" | awk -F'\t' '$6 == "slowstop" && $2 == "die" { o = o "D" }
		$6 == "priority1" && $2 == "unpause" { o = o "u" } $6 == "priority1" && $2 == "create" { o = o "c" }
		$6 == "priority1" && $2 == "pause" { o = o "p" } END { print o }')
	figure standby_busy_node_event_order "$order"
	[[ $order == *D* ]] || fail "no die of slowstop in the engine's events: $order"
	[[ ${order%%D*} == uuu* ]] || fail "the scale-up did not take the 3 parked ones first: $order"
	[[ ${order%%D*} != *c* ]] || fail "a container was created for priority1 while the node was busy: $order"
	[ "$(status_field .totals.warmed)" -eq 3 ] || fail "the pool was overfilled: warmed $(status_field .totals.warmed)"
	[ "$(status_field .totals.killed)" -eq 1 ] || fail "killed $(status_field .totals.killed), expected slowstop's 1"

	# Targets 0 with standby 0 (a reload): nothing is left, and the parked ones stopped cleanly.
	standby_config 0 0
	set_targets '{"priority1": 0}'
	kill -HUP "$AGENT_PID"
	wait_settled 60 priority1=0 slowstop=0
	[ "$(status_field .totals.killed)" -eq 1 ] || fail "a standby container was killed on its way out"
	check_counts_agree priority1
}

# The bench's swap with warm standby (capacity 9, K = 9 for both apps), checked from the engine's events: the
# running count never goes above 9 at any event, not even between a warm's start and its pause. A full node
# warms nothing; the pools fill by parking what a swap takes out of service, and a swap back resumes them.
test_standby_swap_capacity_9_never_over_capacity() {
	write_config "$T/agent.json" <<JSON
{"capacity": 9, "apps": [
  {"name": "priority1", "priority": 1, "image": "busybox:latest", "command": $DEMO_CMD, "standby": 9},
  {"name": "priority2", "priority": 2, "image": "busybox:latest", "command": $DEMO_CMD, "standby": 9,
   "target": 9}]}
JSON
	start_agent --config "$T/agent.json"
	wait_until 60 "priority2 to run 9" is_standby priority2 9 0
	# priority1 takes the node: priority2's 9 are parked (its pool is empty), priority1's 9 created.
	set_targets '{"priority1": 9, "priority2": 0}'
	wait_until 60 "priority1 to run 9 with priority2's 9 parked" sh -c \
		"[ \$(docker ps -q --filter label=io.force12.agent=$NODE --filter label=io.force12.app=priority1 --filter status=running | wc -l) -eq 9 ] &&
		 [ \$(docker ps -q --filter label=io.force12.agent=$NODE --filter label=io.force12.app=priority2 --filter status=paused | wc -l) -eq 9 ]"
	# And back: priority1's 9 are parked, priority2's 9 resumed from its pool.
	local t0
	t0=$(date +%s%N)
	set_targets '{"priority1": 0, "priority2": 9}'
	wait_until 60 "priority2 resumed and priority1 parked" sh -c \
		"[ \$(docker ps -q --filter label=io.force12.agent=$NODE --filter label=io.force12.app=priority2 --filter status=running | wc -l) -eq 9 ] &&
		 [ \$(docker ps -q --filter label=io.force12.agent=$NODE --filter label=io.force12.app=priority1 --filter status=paused | wc -l) -eq 9 ]"
	figure standby_swap_back_9_ms "$((($(date +%s%N) - t0) / 1000000))"
	is_standby priority1 0 9 || fail "priority1 is not 0 running + 9 parked"
	is_standby priority2 9 0 || fail "priority2 is not 9 running + 0 parked"
	wait_until 10 "the agent to count the swap" status_is '.totals.resumed >= 9 and .totals.parked >= 18'
	[ "$(status_field .totals.warmed)" -eq 0 ] || fail "a full node warmed $(status_field .totals.warmed) containers"
	[ "$(status_field .totals.resumed)" -eq 9 ] || fail "resumed $(status_field .totals.resumed), expected 9"
	[ "$(status_field .totals.parked)" -eq 18 ] || fail "parked $(status_field .totals.parked), expected 18"
	# The engine's truth at every event (the same replay the cleanup runs for every test).
	local out
	wait_events
	out=$(replay_events "$NODE" 9 "$T/events-$NODE.tsv" 2>"$T/max")
	[ -z "$out" ] || fail "the engine's events: $out"
	figure standby_swap_engine_max_running "$(sed -n 's/^max //p' "$T/max") of capacity 9"
}
