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

wait_until() { # SECONDS DESCRIPTION COMMAND...: poll until COMMAND succeeds
	local limit=$(($1 * WAIT_FACTOR)) what=$2 i=0
	shift 2
	while ! "$@" >/dev/null 2>&1; do
		i=$((i + 1))
		[ "$i" -ge $((limit * 10)) ] && fail "gave up after ${limit}s waiting for: $what"
		sleep 0.1
	done
}

new_test_dir() {
	T=$(mktemp -d /tmp/force12-test.XXXXXX)
	NODE="f12test-$(basename "$T" | cut -d. -f2 | tr '[:upper:]' '[:lower:]')"
	export T NODE
	trap cleanup EXIT
}

# A sanitizer's (or valgrind's, with AGENT_WRAPPER=valgrind ...) report in the agent's log fails the test.
sanitizer_reports() {
	[ -f "$T/agent.log" ] && grep -E 'ERROR: (Address|Leak)Sanitizer|runtime error:|SUMMARY: .*Sanitizer|ERROR SUMMARY: [1-9]|definitely lost: [1-9]|are definitely lost|Invalid (read|write|free)|uninitialised|Mismatched free' "$T/agent.log"
}

cleanup() {
	local rc=$?
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

# start_agent [agent args...]: starts an agent for $NODE and waits until it is ready.
start_agent() {
	: >>"$T/agent.log"
	${AGENT_WRAPPER:-} "$AGENT_BIN" --node-id "$NODE" --api-socket "$T/api.sock" --state-dir "$T/state" \
		--docker-socket "${AGENT_ENGINE:-$ENGINE_SOCK}" --log-level debug "$@" >>"$T/agent.log" 2>&1 &
	AGENT_PID=$!
	wait_until 30 "the agent to become ready" agent_ready
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
count() { # APP STATUS  (STATUS: running, exited, created, ... or all)
	local filters=(--filter "label=io.force12.agent=$NODE")
	[ "$1" != "*" ] && filters+=(--filter "label=io.force12.app=$1")
	if [ "$2" = all ]; then
		dk ps -aq "${filters[@]}" | wc -l
	else
		dk ps -aq "${filters[@]}" --filter "status=$2" | wc -l
	fi
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

# Samples the engine's running count of our containers in the background; max_running prints the largest seen.
start_sampler() {
	(
		max=0
		while :; do
			n=$(count '*' running)
			[ "$n" -gt "$max" ] && max=$n && echo "$max" >"$T/max-running"
			sleep 0.05
		done
	) &
	SAMPLER_PID=$!
	echo 0 >"$T/max-running"
}

max_running() {
	[ -n "${SAMPLER_PID:-}" ] && kill "$SAMPLER_PID" 2>/dev/null && wait "$SAMPLER_PID" 2>/dev/null
	SAMPLER_PID=
	cat "$T/max-running"
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
	kill -TERM "$ENGINE_PID" 2>/dev/null || true
	wait "$ENGINE_PID" 2>/dev/null || true
	ENGINE_PID=
}
