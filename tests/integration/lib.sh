# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# Helpers for the integration tests: a real agent against the real engine. Every container a test makes is
# labelled with the test's own node id (or io.force12.test=1) and removed by cleanup, pass or fail.

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
AGENT_BIN=${AGENT_BIN:-$TOP/build/force12-agent}
case "${DOCKER_HOST:-}" in
unix://*) ENGINE_SOCK=${DOCKER_HOST#unix://} ;;
*) ENGINE_SOCK=/var/run/docker.sock ;;
esac
export ENGINE_SOCK

# The docker CLI, on the engine the test uses (ENGINE_SOCK may be a test's own engine).
dk() { docker -H "unix://$ENGINE_SOCK" "$@"; }

# Figures a test measured, printed by run.sh at the end (never asserted on).
figure() { # NAME VALUE
	echo "$1: $2" >>"${FIGURES_FILE:-/dev/null}"
}

# fd 3 is the test's stderr even inside a wait_until, which silences the command it polls.
exec 3>&2
fail() {
	echo "    FAIL: $*" >&3
	if [ -n "${T:-}" ] && [ -f "$T/agent.log" ]; then
		echo "    --- last lines of the agent's log:" >&3
		tail -n 15 "$T/agent.log" | sed 's/^/    | /' >&3
	fi
	exit 1
}

engine() { # METHOD PATH [curl args...]: a raw engine call
	local method=$1 path=$2
	shift 2
	curl -sf --unix-socket "$ENGINE_SOCK" -X "$method" "$@" "http://localhost/v1.41$path"
}

# Valgrind or sanitizers slow the agent; waits scale with this factor (never an assertion on time).
WAIT_FACTOR=${WAIT_FACTOR:-1}

# poll_until SECONDS COMMAND...: polls every 0.1 s until COMMAND succeeds; fails after SECONDS x WAIT_FACTOR.
poll_until() {
	local n=$(($1 * WAIT_FACTOR * 10)) i=0
	shift
	while ! "$@" >/dev/null 2>&1; do
		i=$((i + 1))
		[ "$i" -lt "$n" ] || return 1
		sleep 0.1
	done
}

wait_until() { # SECONDS DESCRIPTION COMMAND...: poll until COMMAND succeeds, or fail the test
	poll_until "$1" "${@:3}" || fail "gave up after $(($1 * WAIT_FACTOR))s waiting for: $2"
}

new_test_dir() {
	T=$(mktemp -d /tmp/force12-test.XXXXXX)
	NODE="f12test-$(basename "$T" | cut -d. -f2 | tr '[:upper:]' '[:lower:]')"
	# Every agent a test starts, however it starts it, logs into a *.log here: the sanitizer check reads them all.
	SANITIZER_LOG_DIR=$T
	export T NODE SANITIZER_LOG_DIR
	trap cleanup EXIT
}

# A sanitizer's (or valgrind's, with AGENT_WRAPPER=valgrind ...) report in any agent's log fails the test: every
# *.log under $T and under $SANITIZER_LOG_DIR (where the agents that compare, bench and boot tests start log).
sanitizer_reports() {
	local d files=()
	for d in "$T" "${SANITIZER_LOG_DIR:-}"; do
		{ [ -n "$d" ] && [ -d "$d" ]; } || continue
		[ "$d" = "$T" ] && [ ${#files[@]} -gt 0 ] && continue # the same directory twice
		mapfile -t -O "${#files[@]}" files < <(find "$d" -name '*.log' -type f 2>/dev/null)
	done
	[ ${#files[@]} -gt 0 ] || return 1
	grep -HE 'ERROR: (Address|Leak|Thread|Memory)Sanitizer|runtime error:|SUMMARY: .*Sanitizer|ERROR SUMMARY: [1-9]|definitely lost: [1-9]|are definitely lost|Invalid (read|write|free)|uninitialised|Mismatched free' \
		"${files[@]}" /dev/null
}

# skip REASON: ends the test as skipped. run.sh counts a test as skipped only when it exits 77 through here (the
# marker file says why); a bare exit 77 (a command that happens to return 77 under set -e) is a failure.
skip() {
	echo "$*" >"${SKIP_MARKER:-/dev/null}"
	echo "SKIP: $*" >&3
	exit 77
}

# sanitizer_build: true when the agent under test is a sanitizer build; the slow end-to-end tests then skip with
# skip "sanitizer run: ...", the only reason the CI's allow-list accepts (docs/testing.md).
sanitizer_build() {
	[ -n "${SANITIZE:-}" ] || ldd "$AGENT_BIN" 2>/dev/null | grep -q libasan
}

# ---- the engine's own record, and the invariant every agent test passes through --------------------------------
# record_events SOCK NODE: follows the engine's container events for NODE's containers and the test's foreign ones
# (label io.force12.test=$NODE) into $T/events-NODE.tsv, one "TIME-NS ACTION ID AGENT TEST APP" a line (labels, or
# -), from now
# until cleanup. When the engine goes away and comes back (a test's own engine restarted) it reconnects and writes
# a snapshot line of what runs then (ID=APP,...). Only ENGINE_SOCK-style sockets and the API: dockerd or Podman alike.
record_events() { # SOCK NODE
	local sock=$1 node=$2 out="$T/events-$2.tsv"
	[ -f "$T/recorders" ] && grep -qx "$node $sock" "$T/recorders" && return 0
	echo "$node $sock" >>"$T/recorders"
	: >>"$out"
	(
		set +eE
		trap - ERR EXIT
		trap 'pkill -TERM -P "$BASHPID" 2>/dev/null; exit 0' TERM
		since=$(date +%s.%N)
		while :; do
			if curl -sf --max-time 2 --unix-socket "$sock" http://localhost/_ping >/dev/null 2>&1; then
				curl -s --unix-socket "$sock" -G "http://localhost/v1.41/containers/json" \
					--data-urlencode "filters={\"label\":[\"io.force12.agent=$node\"],\"status\":[\"running\"]}" |
					jq -r --arg t "$(date +%s%N)" '"\($t)\tsnapshot\t" + ([.[] | .Id + "=" + (.Labels["io.force12.app"] // "-")] | join(",")) + "\t-\t-\t-"' >>"$out"
				curl -sN --unix-socket "$sock" -G "http://localhost/v1.41/events" --data-urlencode "since=$since" \
					--data-urlencode 'filters={"type":["container"]}' 2>/dev/null |
					jq -r --unbuffered --arg n "$node" --arg t "$NODE" '.Actor.Attributes as $l |
						if $l["io.force12.barrier"] == $n then [.timeNano, "barrier", .id, "-", "-", "-"] | @tsv
						else select($l["io.force12.agent"] == $n or $l["io.force12.test"] == $t) |
						[.timeNano, .Action, .id, ($l["io.force12.agent"] // "-"), ($l["io.force12.test"] // "-"),
						 ($l["io.force12.app"] // "-")] | @tsv end' >>"$out" &
				wait $!
			fi
			sleep 0.2
		done
	) &
	echo "$!" >>"$T/recorder-pids"
	# The stream is live once the engine answers it; the first snapshot line says so.
	wait_until 10 "the engine's event stream for $node" test -s "$out"
}

# The invariant, replayed from the engine's events at every event: NODE's running count (start/unpause to
# die/pause/destroy; paused ones do not count) never above CAPACITY (Podman's compat API names some events
# differently: died, cleanup, remove; they count the same); no kill, stop, die, pause, unpause or destroy of a
# foreign container (label io.force12.test=$NODE, not NODE's) while an agent ran. Prints each violation.
replay_events() { # NODE CAPACITY FILE
	sort -n -k1,1 -s "$3" | awk -F'\t' -v node="$1" -v cap="$2" -v tnode="$NODE" \
		-v from="$(cat "$T/agent-from" 2>/dev/null || echo 0)" '
	function show(id) { return substr(id, 1, 12) }
	BEGIN { stops = "^(die|died|cleanup|pause|destroy|remove)$" }
	$2 == "snapshot" {
		delete run; n = 0
		k = split($3, ids, ",")
		for (i = 1; i <= k; i++) if (ids[i] != "") { sub(/=.*/, "", ids[i]); run[ids[i]] = 1; n++ }
		next
	}
	$4 == node {
		if (($2 == "start" || $2 == "unpause") && !($3 in run)) { run[$3] = 1; n++ }
		else if ($2 ~ stops && ($3 in run)) { delete run[$3]; n-- }
		if (n > max) max = n
		if (n > cap && !over[n]++) printf "over capacity: %d running (capacity %d) after %s of %s at %s\n", n, cap, $2, show($3), $1
		next
	}
	$5 == tnode && $1 >= from && $2 ~ /^(kill|stop|die|died|pause|unpause|destroy|remove)$/ {
		printf "foreign container %s: %s at %s while the agent ran\n", show($3), $2, $1
	}
	END { printf "max %d\n", max > "/dev/stderr" }'
}

# events_barrier [SOCK [NODE]]: returns once NODE's recorder holds every event the engine sent before the call.
# The engine's stream is ordered, so a container of ours created and removed now (label io.force12.barrier,
# recorded as "barrier", ignored by every reader) arrives after all of them. Fails when the stream does not
# deliver it (saying so on stdout); returns 2 when the engine does not answer (stopped: it has nothing more to
# send).
events_barrier() {
	local sock=${1:-$ENGINE_SOCK} node=${2:-$NODE} id
	curl -sf --max-time $((10 * WAIT_FACTOR)) --unix-socket "$sock" http://localhost/_ping >/dev/null || return 2
	local answer
	answer=$(curl -s --max-time $((10 * WAIT_FACTOR)) --unix-socket "$sock" -X POST -H 'Content-Type: application/json' \
		-d "{\"Image\": \"busybox:latest\", \"Labels\": {\"io.force12.barrier\": \"$node\"}}" \
		"http://localhost/v1.41/containers/create?name=f12-barrier-$node-$RANDOM$RANDOM")
	id=$(jq -r '.Id // empty' <<<"$answer" 2>/dev/null)
	[ -n "$id" ] || {
		echo "the engine at $sock refused the event barrier's container: $answer"
		return 1
	}
	curl -sf --max-time $((10 * WAIT_FACTOR)) --unix-socket "$sock" -X DELETE \
		"http://localhost/v1.41/containers/$id?force=true" >/dev/null || true
	poll_until 30 grep -q "	barrier	$id	" "$T/events-$node.tsv" || {
		echo "the engine's event stream of $node did not deliver the events up to now in $((30 * WAIT_FACTOR)) s"
		return 1
	}
}

# In a test: the recorded events of NODE are complete up to now, or the test fails.
wait_events() { # [SOCK [NODE]]
	local out
	out=$(events_barrier "$@") || fail "the engine's events: ${out:-the engine does not answer}"
}

# Runs the replay for every recorder of the test; fails with what it found.
check_engine_events() {
	local node sock cap bad="" out n
	[ -f "$T/recorders" ] || return 0
	# Complete up to now: the replay judges every event the engine sent while the agent ran. Then the recorders
	# stop (a test that called this before its cleanup did has them stopped already).
	if [ -f "$T/recorder-pids" ]; then
		while read -r node sock; do
			out=$(events_barrier "$sock" "$node" </dev/null) || [ $? -eq 2 ] || bad+="$node: $out"$'\n'
		done <"$T/recorders"
		while read -r n; do kill "$n" 2>/dev/null; done <"$T/recorder-pids"
		rm -f "$T/recorder-pids"
	fi
	while read -r node sock; do
		cap=$(sort -n "$T/capacity-$node" 2>/dev/null | tail -n 1)
		[ -n "$cap" ] || continue # no agent of this node ever became ready
		out=$(replay_events "$node" "$cap" "$T/events-$node.tsv" 2>"$T/replay-$node.max")
		[ -z "$out" ] || bad+="$node: $out"$'\n'
	done <"$T/recorders"
	[ -z "$bad" ] || {
		echo "    FAIL: the engine's events break the invariant:" >&2
		echo "$bad" | head -n 10 | sed 's/^/    | /' >&2
		return 1
	}
}

# No leftovers: an agent that is still running removes every container of its node that is neither running nor
# paused (exited, dead, created). Asked through the API, which Docker and Podman answer alike (Podman's CLI
# refuses "status=dead", and an error must not read as "none").
check_no_leftovers() {
	local node=$1 q
	q=$(jq -rn --arg n "$node" '{label: ["io.force12.agent=\($n)"]} | tojson | @uri')
	leftovers() { # prints "ID STATE" of each; fails when the engine does not answer a list
		local list
		list=$(curl -sf --max-time $((10 * WAIT_FACTOR)) --unix-socket "$ENGINE_SOCK" \
			"http://localhost/v1.41/containers/json?all=1&filters=$q") || {
			echo "the engine did not answer the list"
			return 1
		}
		jq -r 'if type == "array" then .[] | select(.State != "running" and .State != "paused") |
			"\(.Id[:12]) \(.State)" else error("not a list") end' <<<"$list"
	}
	# shellcheck disable=SC2317 # called through poll_until
	no_garbage() {
		local out
		out=$(leftovers) && [ -z "$out" ]
	}
	poll_until 15 no_garbage || {
		echo "    FAIL: leftovers: $(leftovers 2>&1 | tr '\n' ';')" >&2
		return 1
	}
}

cleanup() {
	local rc=$?
	set +eE
	trap - ERR
	if [ "$rc" -eq 0 ] && [ -n "${AGENT_PID:-}" ] && kill -0 "$AGENT_PID" 2>/dev/null &&
		[ -z "${NO_LEFTOVER_CHECK:-}" ]; then
		check_no_leftovers "$NODE" || rc=1
	fi
	# TERM first, so that a leak checker sees a normal exit.
	if [ -n "${AGENT_PID:-}" ]; then
		kill -TERM "$AGENT_PID" 2>/dev/null || true
		for _ in $(seq 1 50); do kill -0 "$AGENT_PID" 2>/dev/null || break; sleep 0.1; done
		stop_agent KILL 2>/dev/null || true
	fi
	if sanitizer_reports >&2; then
		echo "    FAIL: sanitizer report in the agent's log" >&2
		rc=1
	fi
	# A test that skipped ran no agent to judge; every other one passes the engine's record.
	if [ "$rc" -ne 77 ]; then
		check_engine_events || rc=1
	else
		check_engine_events >/dev/null 2>&1
	fi
	local ids
	mapfile -t ids < <(dk ps -aq --filter "label=io.force12.agent=$NODE"
		dk ps -aq --filter "label=io.force12.test=$NODE")
	[ ${#ids[@]} -eq 0 ] || dk rm -f "${ids[@]}" >/dev/null 2>&1
	# Node ids of agents a test ran in other ways (a booted host): their containers go too.
	local n
	[ -f "$T/extra-nodes" ] && while read -r n; do
		mapfile -t ids < <(dk ps -aq --filter "label=io.force12.agent=$n")
		[ ${#ids[@]} -eq 0 ] || dk rm -f "${ids[@]}" >/dev/null 2>&1
	done <"$T/extra-nodes"
	[ -z "${PROXY_PID:-}" ] || kill "$PROXY_PID" 2>/dev/null || true
	# Helpers a test started in the background (servers): listed one pid a line in $T/pids.
	[ -f "$T/pids" ] && while read -r n; do kill "$n" 2>/dev/null || true; done <"$T/pids"
	stop_private_engine
	[ -n "${KEEP_TEST_DIRS:-}" ] || rm -rf "$T"
	exit "$rc"
}

# start_agent [agent args...]: starts an agent for $NODE and waits until it is ready. The engine's events of the
# node are recorded from before its start (record_events); its capacity is noted for the replay.
start_agent() {
	: >>"$T/agent.log"
	record_events "$ENGINE_SOCK" "$NODE"
	agent_started
	${AGENT_WRAPPER:-} "$AGENT_BIN" --node-id "$NODE" --api-socket "$T/api.sock" --state-dir "$T/state" \
		--docker-socket "${AGENT_ENGINE:-$ENGINE_SOCK}" --log-level debug "$@" >>"$T/agent.log" 2>&1 &
	AGENT_PID=$!
	wait_until 30 "the agent to become ready" agent_ready
	note_capacity "$NODE"
}

# For tests that start an agent by hand: the time from which foreign containers must stay untouched.
agent_started() {
	[ -f "$T/agent-from" ] || date +%s%N >"$T/agent-from"
}

note_capacity() { # NODE: the capacity the agent reports, for the replay
	status_field .capacity >>"$T/capacity-$1"
}

# jq -e on empty input succeeds; this does not.
json_check() { # JQ-EXPRESSION, JSON on stdin
	local in
	in=$(cat)
	[ -n "$in" ] && jq -e "$1" >/dev/null <<<"$in"
}

agent_ready() {
	kill -0 "$AGENT_PID" 2>/dev/null || fail "the agent exited; see its log"
	api GET /v1/status | json_check '.ready == true'
}

# stop_agent [SIGNAL]: sets AGENT_STATUS to the agent's exit status.
# shellcheck disable=SC2034
stop_agent() {
	[ -n "${AGENT_PID:-}" ] || return 0
	kill -"${1:-TERM}" "$AGENT_PID" 2>/dev/null || true
	AGENT_STATUS=0
	wait "$AGENT_PID" 2>/dev/null || AGENT_STATUS=$?
	AGENT_PID=
}

api() { # METHOD PATH [BODY]
	if [ $# -ge 3 ]; then
		curl -s --unix-socket "$T/api.sock" -X "$1" --data-binary "$3" "http://localhost$2"
	else
		curl -s --unix-socket "$T/api.sock" -X "$1" "http://localhost$2"
	fi
}

api_code() { # METHOD PATH [BODY]: prints the HTTP status
	if [ $# -ge 3 ]; then
		curl -s -o /dev/null -w '%{http_code}' --unix-socket "$T/api.sock" -X "$1" --data-binary "$3" \
			"http://localhost$2"
	else
		curl -s -o /dev/null -w '%{http_code}' --unix-socket "$T/api.sock" -X "$1" "http://localhost$2"
	fi
}

set_targets() { # JSON
	local out
	out=$(api PUT /v1/targets "$1") || fail "PUT /v1/targets failed"
	echo "$out" | json_check 'has("error") | not' || fail "PUT /v1/targets $1: $out"
}

# Counts from the engine itself, never from the agent.
# Prints nothing when the engine does not answer, so that no comparison holds (an error is not "0").
count() { # APP STATUS  (STATUS: running, exited, created, ... or all)
	local filters=(--filter "label=io.force12.agent=$NODE") ids
	[ "$1" != "*" ] && filters+=(--filter "label=io.force12.app=$1")
	[ "$2" = all ] || filters+=(--filter "status=$2")
	ids=$(dk ps -aq "${filters[@]}") || return 1
	if [ -z "$ids" ]; then echo 0; else wc -l <<<"$ids"; fi
}

# is_settled APP=N ...: every app runs exactly N containers and the node holds nothing else of ours.
is_settled() {
	local total=0 spec app n
	for spec in "$@"; do
		app=${spec%%=*}
		n=${spec#*=}
		[ "$(count "$app" running)" -eq "$n" ] || return 1
		total=$((total + n))
	done
	[ "$(count '*' all)" -eq "$total" ]
}

wait_settled() { # SECONDS APP=N ...
	local secs=$1
	shift
	wait_until "$secs" "settled at $*" is_settled "$@"
}

# events_since NS [NODE]: the recorded engine events of NODE (default $NODE) from time NS on, in order.
events_since() {
	sort -n -k1,1 -s "$T/events-${2:-$NODE}.tsv" | awk -F'\t' -v from="$1" '$1 >= from && $2 != "snapshot" && $2 != "barrier"'
}

# event_count ACTION [APP [UNTIL-NS]]: how many ACTION events the engine reported for $NODE's containers (of APP).
event_count() {
	events_since 0 | awk -F'\t' -v a="$1" -v app="${2:-}" -v until="${3:-}" \
		'$2 == a && (app == "" || $6 == app) && (until == "" || $1 <= until) { n++ } END { print n + 0 }'
}

# app_max_running APP: the most containers of APP the engine ran at once, replayed from its events (paused
# ones do not count). "No duplicates above target" is this, at or below the target, during the whole test.
app_max_running() {
	sort -n -k1,1 -s "$T/events-$NODE.tsv" | awk -F'\t' -v app="$1" '
	$2 == "snapshot" {
		delete run; n = 0
		k = split($3, ids, ",")
		for (i = 1; i <= k; i++) if (ids[i] ~ ("=" app "$")) { sub(/=.*/, "", ids[i]); run[ids[i]] = 1; n++ }
		if (n > max) max = n
		next
	}
	$6 == app && ($2 == "start" || $2 == "unpause") && !($3 in run) { run[$3] = 1; n++; if (n > max) max = n }
	$6 == app && $2 ~ /^(die|died|cleanup|pause|destroy|remove)$/ && ($3 in run) { delete run[$3]; n-- }
	END { print max + 0 }'
}

free_port() { # a loopback TCP port nothing listens on
	local p
	for p in $(shuf -i 20000-40000 -n 50); do
		(: <"/dev/tcp/127.0.0.1/$p") 2>/dev/null || {
			echo "$p"
			return
		}
	done
	fail "no free port"
}

status_field() { # jq expression over /v1/status
	api GET /v1/status | jq -r "$1"
}

# The agent counts a change when it handles the engine's answer, which comes after the engine shows the change:
# a test that read the engine first waits for the agent's status with this.
status_is() { # JQ-EXPRESSION over /v1/status
	api GET /v1/status | json_check "$1"
}

write_config() { # FILE, JSON on stdin
	cat >"$1"
}

# A dockerd of the test's own (own socket, data root, exec root, pid file, no bridge), so that a test may stop
# and start it without touching anything else. Sets ENGINE_SOCK to it; the image is copied in.
start_private_engine() {
	local d=$T/engine
	mkdir -p "$d"
	# Its own network namespace: nothing it does to interfaces can reach the host engine's docker0.
	unshare --net dockerd --host "unix://$d/docker.sock" --data-root "$d/data" --exec-root "$d/exec" --pidfile "$d/docker.pid" \
		--bridge none --iptables=false --ip-masq=false --ip-forward=false >>"$d/dockerd.log" 2>&1 &
	ENGINE_PID=$!
	wait_until 60 "the test's own engine to answer" curl -sf --unix-socket "$d/docker.sock" http://localhost/_ping
	if ! docker -H "unix://$d/docker.sock" image inspect busybox:latest >/dev/null 2>&1; then
		docker save busybox:latest | docker -H "unix://$d/docker.sock" load >/dev/null
	fi
	ENGINE_SOCK=$d/docker.sock
}

stop_private_engine() {
	[ -n "${ENGINE_PID:-}" ] || return 0
	local d=$T/engine
	# The engine, then any containerd shim of it left behind: a shim outlives its engine by design, and would
	# outlive the test (runs of test-faults and test-compare left them, with no container under them).
	kill -TERM "$ENGINE_PID" 2>/dev/null || true
	wait "$ENGINE_PID" 2>/dev/null || true
	pkill -KILL -f "containerd-shim-runc-v2 .*-address $d/" 2>/dev/null || true
	ENGINE_PID=
}
