# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# shellcheck disable=SC2153 # AGENT_BIN, T, NODE come from lib.sh
# The agent core against the real engine: convergence, priority under capacity, garbage, adoption, ownership,
# replacement of killed containers, SIGTERM-ignoring containers, bad config, restarts.
# Every test here also passes lib.sh's shared check at cleanup: the engine's own events of the test's node,
# replayed, never show more running than the capacity, no foreign container touched, and no leftovers.

DEMO_CMD='["sh", "-c", "trap '"'"'exit 0'"'"' TERM; while :; do sleep 1 & wait $!; done"]'

test_converge_up_and_down() {
	start_agent
	for n in 5 2 0; do
		set_targets "{\"priority1\": $n}"
		wait_settled 60 priority1=$n priority2=0
		[ "$(api GET /v1/targets | jq .priority1)" -eq "$n" ] || fail "GET /v1/targets does not say $n"
	done
	wait_until 10 "the agent to count the last removal" status_is '.totals.removed >= 5'
	[ "$(status_field .totals.started)" -eq 5 ] || fail "started $(status_field .totals.started), expected 5"
	[ "$(status_field .totals.removed)" -eq 5 ] || fail "removed $(status_field .totals.removed), expected 5"
	[ "$(status_field .totals.killed)" -eq 0 ] || fail "the TERM-trapping demo container was killed"
}

# Never over capacity: proven at every engine event by lib.sh's replay (check_engine_events), not by sampling.
test_priority_under_capacity() {
	start_agent --capacity 4
	set_targets '{"priority1": 3, "priority2": 3}'
	wait_settled 60 priority1=3 priority2=1
	status_field '.apps[] | select(.name=="priority2") | .allocated' | grep -qx 1 || fail "priority2 allocated is not 1"
	set_targets '{"priority1": 1}'
	wait_settled 60 priority1=1 priority2=3
	set_targets '{"priority1": 4}'
	wait_settled 60 priority1=4 priority2=0
	check_engine_events || fail "the engine's events show the capacity broken"
}

preemption_events_in() {
	[ "$(event_count die priority2)" -ge 3 ] && [ "$(event_count start priority1)" -ge 3 ]
}

test_preemption_stops_before_starts() {
	start_agent --capacity 3
	set_targets '{"priority2": 3}'
	wait_settled 60 priority1=0 priority2=3
	local t0 order
	t0=$(date +%s%N)
	set_targets '{"priority1": 3}'
	wait_settled 60 priority1=3 priority2=0
	# The engine's event stream may trail its state (Podman's does): wait for the evidence before reading it.
	wait_until 10 "the engine's events of the 3 priority2 dies and 3 priority1 starts" preemption_events_in
	# From the engine's events: the k-th start of priority1 comes after the k-th die of priority2.
	order=$(events_since "$t0" | awk -F'\t' '$2 == "die" && $6 == "priority2" { o = o "d"; d++ }
		$2 == "start" && $6 == "priority1" { o = o "s"; if (++s > d) bad = 1 }
		END { print (bad ? "BAD " : "") o }')
	[[ $order != BAD* ]] || fail "a priority1 start came before the priority2 stop that made its room: $order (d: die, s: start)"
	{ [ "${order//[^d]/}" = ddd ] && [ "${order//[^s]/}" = sss ]; } || fail "expected 3 dies and 3 starts: $order"
	figure preemption_event_order "$order"
}

label_args() { # APP: the labels of a container owned by $NODE
	echo "--label io.force12.agent=$NODE --label io.force12.app=$1"
}

test_leftovers_removed_at_startup() {
	# An exited, a created and a dead-on-arrival container of ours, left from an earlier run.
	# shellcheck disable=SC2046
	docker run --network none $(label_args priority1) --name "force12-priority1-old$NODE" busybox:latest true >/dev/null
	# shellcheck disable=SC2046
	docker create --network none $(label_args priority2) busybox:latest true >/dev/null
	# shellcheck disable=SC2046
	docker run --network none $(label_args gone-app) busybox:latest sh -c 'exit 3' >/dev/null || true
	[ "$(count '*' all)" -eq 3 ] || fail "test setup: expected 3 leftovers"
	start_agent --target priority1=1
	wait_settled 60 priority1=1 priority2=0
}

test_restart_adopts_without_duplicates() {
	start_agent
	set_targets '{"priority1": 3, "priority2": 2}'
	wait_settled 60 priority1=3 priority2=2
	local before after
	before=$(docker ps -q --no-trunc --filter "label=io.force12.agent=$NODE" | sort)
	stop_agent TERM
	[ "$AGENT_STATUS" -eq 0 ] || fail "agent exited with $AGENT_STATUS on SIGTERM"
	[ "$(count '*' running)" -eq 5 ] || fail "SIGTERM did not leave the containers running"
	start_agent
	sleep 2 # give a wrong agent time to start or stop something
	after=$(docker ps -q --no-trunc --filter "label=io.force12.agent=$NODE" | sort)
	[ "$before" = "$after" ] || fail "the restarted agent changed the containers"
	[ "$(status_field .totals.started)" -eq 0 ] || fail "the restarted agent started containers"
	[ "$(status_field '.apps[0].running')" -eq 3 ] || fail "the restarted agent does not count the adopted ones"
}

test_crash_restart_resumes_targets() {
	start_agent --target priority1=1
	set_targets '{"priority1": 4}'
	wait_settled 60 priority1=4 priority2=0
	local before after t0 events
	before=$(dk ps -q --no-trunc --filter "label=io.force12.agent=$NODE" | sort)
	stop_agent KILL
	t0=$(date +%s%N)
	start_agent # no --target: the state dir wins over the config's 0
	[ "$(api GET /v1/targets | jq .priority1)" -eq 4 ] || fail "the targets were not resumed"
	sleep 2 # a window for a wrong agent to start or stop something (not a timing assertion)
	after=$(dk ps -q --no-trunc --filter "label=io.force12.agent=$NODE" | sort)
	[ "$before" = "$after" ] || fail "the restarted agent replaced containers: $before -> $after"
	wait_events
	events=$(events_since "$t0" | awk -F'\t' '$2 ~ /^(create|start|kill|die|stop|destroy)$/')
	[ -z "$events" ] || fail "the restarted agent acted on the engine: $events"
	[ "$(status_field .totals.started)" -eq 0 ] || fail "the restarted agent started containers"
}

test_foreign_containers_untouched() {
	local plain other other_exited snap_before snap_after
	plain=$(docker run --network none -d --label "io.force12.test=$NODE" --name "plain-$NODE" busybox:latest sleep 600)
	other=$(docker run --network none -d --label "io.force12.test=$NODE" --label io.force12.agent=other-node \
		--label io.force12.app=priority1 --name "force12-priority1-other$NODE" busybox:latest sleep 600)
	other_exited=$(docker create --network none --label "io.force12.test=$NODE" --label io.force12.agent=other-node \
		--label io.force12.app=priority2 busybox:latest true)
	docker start -a "$other_exited" >/dev/null
	snap_before=$(docker inspect -f '{{.Id}} {{.State.Status}} {{.State.StartedAt}}' "$plain" "$other" "$other_exited")
	start_agent --capacity 2
	set_targets '{"priority1": 2, "priority2": 2}'
	wait_settled 60 priority1=2 priority2=0
	set_targets '{"priority1": 0, "priority2": 0}'
	wait_settled 60 priority1=0 priority2=0
	snap_after=$(docker inspect -f '{{.Id}} {{.State.Status}} {{.State.StartedAt}}' "$plain" "$other" "$other_exited")
	[ "$snap_before" = "$snap_after" ] || fail "a foreign container changed: $snap_before -> $snap_after"
	api GET /v1/containers | json_check 'all(.[]; .id != "'"$other"'")' || fail "the agent lists a foreign container"
}

test_killed_container_is_replaced() {
	start_agent
	set_targets '{"priority1": 2}'
	wait_settled 60 priority1=2 priority2=0
	local victim
	victim=$(docker ps -q --no-trunc --filter "label=io.force12.agent=$NODE" | head -n 1)
	local t0 seq
	t0=$(date +%s%N)
	docker kill "$victim" >/dev/null
	wait_settled 30 priority1=2 priority2=0
	wait_until 30 "the killed container to be removed" sh -c "! docker inspect $victim"
	wait_until 10 "the agent to count the replacement's start" status_is '.totals.started >= 3'
	[ "$(status_field .totals.died)" -eq 1 ] || fail "died total is not 1"
	[ "$(status_field .totals.started)" -eq 3 ] || fail "expected one replacement start"
	# The engine's event stream may trail its state (Podman's does): everything it sent up to now, recorded.
	wait_events
	# From the engine's events: the victim died and was destroyed (Podman says "remove"), and exactly one other
	# container started.
	seq=$(events_since "$t0" | awk -F'\t' -v v="$victim" '$3 == v && ($2 == "die" || $2 == "destroy" || $2 == "remove") { printf "%s ", ($2 == "remove" ? "destroy" : $2) }
		$3 != v && $2 == "start" { printf "start-new " } $3 == v && $2 == "start" { printf "start-victim " }')
	[[ $seq == *"die "* && $seq == *"destroy "* ]] || fail "the victim's die and destroy are not in the engine's events: $seq"
	[ "$(grep -o 'start-new' <<<"$seq" | wc -l)" -eq 1 ] || fail "not exactly one replacement start: $seq"
	[[ $seq != *start-victim* ]] || fail "the victim was restarted instead of replaced: $seq"
	# "Replaced within about a second": the engine's time from the victim's die to the replacement's start.
	figure killed_container_die_to_replacement_start_ms "$(events_since "$t0" | awk -F'\t' -v v="$victim" \
		'$3 == v && $2 == "die" { d = $1 } $3 != v && $2 == "start" && d { printf "%d", ($1 - d) / 1000000; exit }')"
}

test_removed_container_is_replaced() {
	start_agent
	set_targets '{"priority1": 2}'
	wait_settled 60 priority1=2 priority2=0
	docker rm -f "$(docker ps -q --filter "label=io.force12.agent=$NODE" | head -n 1)" >/dev/null
	wait_until 30 "a replacement start" sh -c "[ \$(curl -s --unix-socket $T/api.sock http://x/v1/status | jq .totals.started) -eq 3 ]"
	wait_settled 30 priority1=2 priority2=0
}

test_term_ignoring_container_is_killed_and_counted() {
	write_config "$T/agent.json" <<JSON
{"capacity": 4, "apps": [
  {"name": "stubborn", "image": "busybox:latest", "stop_timeout": 1,
   "command": ["sh", "-c", "trap '' TERM; while :; do sleep 1; done"]},
  {"name": "polite", "image": "busybox:latest", "stop_timeout": 5, "priority": 2, "init": true,
   "command": ["sh", "-c", "while :; do sleep 1; done"]}]}
JSON
	start_agent -c "$T/agent.json"
	set_targets '{"stubborn": 1, "polite": 1}'
	wait_settled 60 stubborn=1 polite=1
	set_targets '{"stubborn": 0, "polite": 0}'
	wait_settled 60 stubborn=0 polite=0
	[ "$(status_field .totals.killed)" -eq 1 ] || fail "killed total $(status_field .totals.killed), expected 1"
	[ "$(status_field .totals.stopped)" -eq 1 ] || fail "the init:true app was not stopped cleanly"
	grep -q 'Hint: stubborn does not stop on SIGTERM' "$T/agent.log" || fail "no hint in the log"
	[ "$(grep -c 'Hint: ' "$T/agent.log")" -eq 1 ] || fail "the hint was logged more than once"
}

test_bad_config_is_refused() {
	local out rc
	echo '{"capacity": 0, "apps": [{"name": "a", "image": "busybox:latest"}]}' >"$T/bad.json"
	set +e
	out=$("$AGENT_BIN" -c "$T/bad.json" --node-id "$NODE" --api-socket "$T/api.sock" 2>&1)
	rc=$?
	set -e
	[ "$rc" -eq 2 ] || fail "exit status $rc, expected 2"
	[ "$(echo "$out" | wc -l)" -eq 1 ] || fail "expected one line, got: $out"
	echo "$out" | grep -q 'capacity' || fail "the error does not name the key: $out"
	for bad in '{"capacity": 2, "apps": [{"name": "a", "image": "x", "colour": 1}]}' \
		'{"capacity": 2, "apps": [{"name": "a", "image": "x", "target": -1}]}' \
		'{"capacity": 2, "apps": [{"name": "a", "image": "x"}, {"name": "a", "image": "y"}]}' \
		'{"capacity": "2", "apps": [{"name": "a", "image": "x"}]}'; do
		echo "$bad" >"$T/bad.json"
		set +e
		out=$("$AGENT_BIN" -c "$T/bad.json" --node-id "$NODE" --api-socket "$T/api.sock" 2>&1)
		rc=$?
		set -e
		[ "$rc" -eq 2 ] || fail "exit status $rc for $bad"
		[ "$(echo "$out" | wc -l)" -eq 1 ] || fail "expected one line for $bad, got: $out"
	done
	[ ! -e "$T/api.sock" ] || fail "a refused config still opened the API socket"
	[ "$(count '*' all)" -eq 0 ] || fail "a refused config created containers"
}

test_reload_on_hup() {
	write_config "$T/agent.json" <<JSON
{"capacity": 4, "apps": [{"name": "priority1", "image": "busybox:latest", "target": 1, "command": $DEMO_CMD}]}
JSON
	start_agent -c "$T/agent.json"
	wait_settled 60 priority1=1
	write_config "$T/agent.json" <<JSON
{"capacity": 4, "apps": [{"name": "web", "image": "busybox:latest", "target": 2, "command": $DEMO_CMD}]}
JSON
	kill -HUP "$AGENT_PID"
	wait_settled 60 web=2 priority1=0
	echo '{"capacity": 0}' >"$T/agent.json"
	kill -HUP "$AGENT_PID"
	wait_until 10 "an error logged for the bad reload" grep -q 'Failed to reload' "$T/agent.log"
	kill -0 "$AGENT_PID" || fail "a bad config on reload stopped the agent"
	is_settled web=2 || fail "a bad reload changed the running set"
}

test_systemd_notify() {
	socat -u "UNIX-RECV:$T/notify.sock" - >"$T/notify.log" &
	local socat_pid=$!
	wait_until 5 "socat to listen" test -S "$T/notify.sock"
	NOTIFY_SOCKET=$T/notify.sock WATCHDOG_USEC=1000000 start_agent --target priority1=2
	# socat writes what it receives on its own time: waited for, with a limit.
	wait_until 10 "READY=1 once ready" grep -q 'READY=1' "$T/notify.log"
	wait_settled 60 priority1=2 priority2=0
	wait_until 10 "a STATUS= with the counts" grep -q 'STATUS=priority1 2/2 running, priority2 0/0 running' "$T/notify.log"
	wait_until 5 "WATCHDOG=1 pings" grep -q 'WATCHDOG=1' "$T/notify.log"
	kill -HUP "$AGENT_PID"
	wait_until 5 "RELOADING=1 on SIGHUP" grep -q 'RELOADING=1' "$T/notify.log"
	stop_agent TERM
	wait_until 10 "STOPPING=1 on SIGTERM" grep -q 'STOPPING=1' "$T/notify.log"
	kill "$socat_pid" 2>/dev/null || true
}

test_engine_socket_missing_at_start() {
	# The agent waits for a missing engine socket, says so, and becomes ready when it appears.
	local sock=$T/engine.sock
	record_events "$ENGINE_SOCK" "$NODE"
	agent_started
	"$AGENT_BIN" --node-id "$NODE" --api-socket "$T/api.sock" --state-dir "$T/state" --docker-socket "$sock" \
		--target priority1=1 >>"$T/agent.log" 2>&1 &
	AGENT_PID=$!
	wait_until 10 "the agent to say it waits" grep -q 'not reachable' "$T/agent.log"
	api GET /v1/status | json_check '.ready == false and .docker.reachable == false' || fail "status claims ready"
	[ "$(api_code GET /healthz)" = 503 ] || fail "/healthz is not 503 without an engine"
	socat "UNIX-LISTEN:$sock,fork" "UNIX-CONNECT:$ENGINE_SOCK" &
	local proxy=$!
	wait_until 30 "the agent to become ready" agent_ready
	note_capacity "$NODE"
	wait_settled 60 priority1=1 priority2=0
	[ "$(api_code GET /healthz)" = 200 ] || fail "/healthz is not 200 with the engine back"
	stop_agent TERM
	kill "$proxy" 2>/dev/null || true
}

test_failing_apps_back_off_without_hurting_others() {
	write_config "$T/agent.json" <<JSON
{"capacity": 6, "apps": [
  {"name": "noimage", "priority": 1, "image": "force12-test/missing:nope", "target": 1},
  {"name": "badcmd", "priority": 1, "image": "busybox:latest", "command": ["/no/such/binary"], "target": 1},
  {"name": "good", "priority": 2, "image": "busybox:latest", "command": $DEMO_CMD, "target": 2}]}
JSON
	start_agent -c "$T/agent.json"
	# Pulled before READY: the pull's log line comes before the line that says the agent is ready.
	local pull_line ready_line
	pull_line=$(grep -n 'Pulling image force12-test/missing:nope' "$T/agent.log" | head -n 1 | cut -d: -f1)
	ready_line=$(grep -n 'Synced with the engine: .*; ready' "$T/agent.log" | head -n 1 | cut -d: -f1)
	[ -n "$pull_line" ] || fail "the missing image was never pulled"
	[ -n "$ready_line" ] || fail "the agent never logged that it is ready"
	[ "$pull_line" -lt "$ready_line" ] || fail "the missing image was pulled after READY (log lines $pull_line, $ready_line)"
	wait_until 60 "good to run 2" sh -c "[ \$(docker ps -q --filter label=io.force12.agent=$NODE --filter label=io.force12.app=good | wc -l) -eq 2 ]"
	wait_until 30 "errors shown in /v1/status" sh -c \
		"curl -s --unix-socket $T/api.sock http://x/v1/status | jq -e '[.apps[] | select(.name != \"good\") | .error != null] | all' >/dev/null"
	# Backoff: the delays the agent chose, as it logs them, double from 1 s per app (1, 2, 4, ... capped at 60).
	local app delays
	for app in noimage badcmd; do
		wait_until 30 "$app's third failure" sh -c "[ \$(grep -c 'Failed to start a container of $app: .*; retrying in' $T/agent.log) -ge 3 ]"
		delays=$(sed -n "s/.*Failed to start a container of $app: .*; retrying in \([0-9.]*\) s.*/\1/p" "$T/agent.log" | tr '\n' ' ')
		[[ $delays == "1.0 2.0 4.0 "* ]] || fail "$app's retry delays are not 1, 2, 4 s...: $delays"
		[[ $delays =~ ^(1\.0 2\.0 4\.0 )(8\.0 )?(16\.0 )?(32\.0 )?(60\.0 )*$ ]] || fail "$app's retry delays: $delays"
		figure "failing_app_${app}_retry_delays_s" "$delays"
	done
	[ "$(count good running)" -eq 2 ] || fail "the good app was disturbed"
	[ "$(count noimage all)" -eq 0 ] || fail "containers of the image-less app exist"
	[ "$(count badcmd all)" -le 1 ] || fail "leftover containers of badcmd: $(count badcmd all)"
}

test_corrupt_state_file_is_set_aside() {
	mkdir -p "$T/state"
	printf '{"priority1": 3, "prio' >"$T/state/targets.json"
	start_agent --target priority2=1
	grep -q 'State file in .* is corrupt' "$T/agent.log" || fail "the corrupt state file was not reported"
	[ -f "$T/state/targets.json.corrupt" ] || fail "the corrupt file was not set aside"
	wait_settled 60 priority1=0 priority2=1
	set_targets '{"priority1": 2}'
	wait_settled 60 priority1=2 priority2=1
	jq -e '.priority1 == 2 and .priority2 == 1' "$T/state/targets.json" >/dev/null || fail "the new targets were not kept"
}
