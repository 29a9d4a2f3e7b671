# shellcheck shell=bash
# SPDX-License-Identifier: Apache-2.0
# The fake engine (tests/tools/fake-engine.c) against the real dockerd: the same calls, the same status codes, the
# same event actions in the same order, and the JSON fields the agent reads (agent/docker-json.c) present with the
# same types. The fake must stay honest, or the scale figures measured against it mean nothing.

FAKE_ENGINE=${FAKE_ENGINE:-$TOP/build/fake-engine}

start_fake_engine() { # SOCKET [fake-engine args...]: starts one and waits until it answers
	local sock=$1
	shift
	[ -x "$FAKE_ENGINE" ] || fail "$FAKE_ENGINE is missing (make build/fake-engine)"
	"$FAKE_ENGINE" --socket "$sock" "$@" 2>>"$T/fake-engine.log" &
	echo $! >>"$T/pids"
	wait_until 10 "the fake engine to answer" curl -sf --unix-socket "$sock" http://localhost/_ping
}

# One call: prints "STEP CODE" to the transcript and keeps the body in $T/body.
call() { # SOCK STEP METHOD PATH [BODY]
	local sock=$1 step=$2 method=$3 path=$4 code limit=$((60 * WAIT_FACTOR))
	# A call that hangs (an engine in trouble) shows as "000" in the transcript and fails the comparison.
	if [ $# -ge 5 ]; then
		code=$(curl -s --max-time "$limit" -o "$T/body" -w '%{http_code}' --unix-socket "$sock" -X "$method" \
			-H 'Content-Type: application/json' --data-binary "$5" "http://localhost/v1.41$path") || true
	else
		code=$(curl -s --max-time "$limit" -o "$T/body" -w '%{http_code}' --unix-socket "$sock" -X "$method" \
			"http://localhost/v1.41$path") || true
	fi
	echo "$step $code" >>"$OUT"
}

# Shapes of the fields the agent reads, written as "STEP jq-value"; identical text is required of both engines.
shape() { # STEP JQ
	echo "$1 $(jq -c "$2" "$T/body" 2>/dev/null || echo unparsable)" >>"$OUT"
}

# The scenario, run once against each engine. NAME prefixes keep the two runs apart on the shared engine.
scenario() { # SOCK NAME-PREFIX OUT
	local sock=$1 p=$2 id id2 evpid
	OUT=$3
	: >"$OUT"
	local enc_filter labels create create2
	enc_filter=$(jq -rn --arg n "$NODE" '{type: ["container"], label: ["io.force12.test=\($n)"]} | tojson | @uri')
	labels=$(jq -cn --arg n "$NODE" '{"io.force12.test": $n, "io.force12.agent": $n, "io.force12.app": "web"}')
	create=$(jq -cn --argjson l "$labels" '{Image: "busybox:latest", Labels: $l, StopSignal: "SIGTERM", StopTimeout: 2,
		Cmd: ["sh", "-c", "trap '"'"'exit 0'"'"' TERM; while :; do sleep 1 & wait $!; done"],
		HostConfig: {NetworkMode: "none", RestartPolicy: {Name: "no"}}}')
	create2=$(jq -c '.Image = "busybox:nonexistent-force12"' <<<"$create")
	# Live before the first create: dockerd sends the headers just before it subscribes, so "since" (a second
	# back; the label is this test's own) has it replay what came in between; the fake subscribes first.
	curl -sN -D "$OUT.hdr" --unix-socket "$sock" \
		"http://localhost/v1.41/events?since=$(($(date +%s) - 1))&filters=$enc_filter" >"$OUT.events" &
	evpid=$!
	echo "$evpid" >>"$T/pids" # killed by cleanup should the scenario stop half-way
	wait_until 10 "the event stream of $sock" grep -q '^HTTP/1.1 200' "$OUT.hdr"

	call "$sock" ping GET /_ping
	curl -sI --unix-socket "$sock" http://localhost/_ping | grep -qi '^Api-Version: 1\.' && echo "ping api-version" >>"$OUT"
	call "$sock" version GET /version
	shape version '.ApiVersion | type'
	call "$sock" image GET /images/busybox:latest/json
	call "$sock" image-missing GET /images/busybox:nonexistent-force12/json
	call "$sock" create POST "/containers/create?name=$p-a" "$create"
	shape create '[(.Id | test("^[0-9a-f]{64}$")), (.Warnings | type)]'
	id=$(jq -r .Id "$T/body")
	call "$sock" create-conflict POST "/containers/create?name=$p-a" "$create"
	shape create-conflict '.message | type'
	call "$sock" create-no-image POST "/containers/create?name=$p-b" "$create2"
	call "$sock" create-bad-name POST "/containers/create?name=-bad" "$create"
	call "$sock" create-bad-json POST "/containers/create?name=$p-c" '{"Image": '
	call "$sock" inspect-created GET "/containers/$id/json"
	shape inspect-created '[.State.Status, .State.Running, .State.ExitCode, .State.StartedAt]'
	call "$sock" start POST "/containers/$id/start"
	call "$sock" start-again POST "/containers/$id/start"
	call "$sock" list GET "/containers/json?all=1&filters=$(jq -rn --arg n "$NODE" '{label: ["io.force12.test=\($n)"]} | tojson | @uri')"
	jq -c '.[0]' "$T/body" | awk '{ print length }' >"$OUT.entry-bytes"
	shape list '[length, (.[0] | keys), (.[0].Id | test("^[0-9a-f]{64}$")), (.[0].Names | map(test("^/"))),
		.[0].Labels["io.force12.app"], .[0].State, (.[0].Created | type), (.[0].Status | test("^Up "))]'
	call "$sock" list-other-label GET "/containers/json?all=1&filters=$(jq -rn --arg n "$NODE" '{label: ["io.force12.test=\($n)", "io.force12.app=db"]} | tojson | @uri')"
	shape list-other-label 'length'
	call "$sock" inspect GET "/containers/$id/json"
	shape inspect '[.Id == "'"$id"'", (.State | keys), .State.Status, .State.Running, .State.ExitCode,
		(.State.StartedAt | test("^20[0-9][0-9]-")), (.Name | test("^/")), .Config.Labels["io.force12.app"]]'
	call "$sock" inspect-by-name GET "/containers/$p-a/json"
	call "$sock" pause POST "/containers/$id/pause"
	call "$sock" pause-again POST "/containers/$id/pause"
	call "$sock" list-paused GET "/containers/json?all=1&filters=$(jq -rn --arg n "$NODE" '{label: ["io.force12.test=\($n)"]} | tojson | @uri')"
	shape list-paused '.[0].State'
	call "$sock" remove-paused DELETE "/containers/$id"
	call "$sock" start-paused POST "/containers/$id/start"
	call "$sock" unpause POST "/containers/$id/unpause"
	call "$sock" unpause-again POST "/containers/$id/unpause"
	call "$sock" remove-running DELETE "/containers/$id"
	call "$sock" stop POST "/containers/$id/stop?t=2"
	call "$sock" stop-again POST "/containers/$id/stop?t=2"
	call "$sock" kill-exited POST "/containers/$id/kill"
	call "$sock" pause-exited POST "/containers/$id/pause"
	call "$sock" inspect-stopped GET "/containers/$id/json"
	shape inspect-stopped '[.State.Status, .State.Running, .State.ExitCode]'
	call "$sock" list-running-only GET "/containers/json?filters=$(jq -rn --arg n "$NODE" '{label: ["io.force12.test=\($n)"]} | tojson | @uri')"
	shape list-running-only 'length'
	call "$sock" restart POST "/containers/$id/start"
	call "$sock" kill POST "/containers/$id/kill"
	# The engine reaps the killed process after answering.
	wait_until 10 "the kill to be reaped" sh -c \
		"curl -s --unix-socket $sock http://localhost/v1.41/containers/$id/json | jq -e '.State.Running == false'"
	call "$sock" inspect-killed GET "/containers/$id/json"
	shape inspect-killed '[.State.Status, .State.ExitCode]'
	call "$sock" remove DELETE "/containers/$id"
	call "$sock" remove-again DELETE "/containers/$id"
	call "$sock" inspect-removed GET "/containers/$id/json"
	shape inspect-removed '.message | type'
	call "$sock" start-removed POST "/containers/$id/start"
	call "$sock" create2 POST "/containers/create?name=$p-d" "$create"
	id2=$(jq -r .Id "$T/body")
	call "$sock" start2 POST "/containers/$id2/start"
	call "$sock" remove-force DELETE "/containers/$id2?force=1"
	call "$sock" unknown-path GET "/no/such/path"
	wait_until 10 "the last destroy in the event stream" sh -c \
		"jq -r 'select(.Action == \"destroy\") | .id' $OUT.events 2>/dev/null | grep -qx $id2"
	kill "$evpid" 2>/dev/null || true
	wait "$evpid" 2>/dev/null || true
	jq -r .Action "$OUT.events" | tr '\n' ' ' >"$OUT.actions"
	# The agent's own reading of events: exit codes of die, the app label, the time in ns.
	jq -c 'select(.Action == "die") | [.Actor.Attributes.exitCode, .Actor.Attributes["io.force12.app"], (.timeNano | type)]' \
		"$OUT.events" >>"$OUT"
}

test_fake_engine_answers_like_dockerd() {
	local fake=$T/fake.sock
	curl -sf --unix-socket "$ENGINE_SOCK" http://localhost/_ping >/dev/null || fail "no engine at $ENGINE_SOCK"
	start_fake_engine "$fake" --latency 0
	scenario "$ENGINE_SOCK" "f12fake-$NODE-real" "$T/real"
	scenario "$fake" "f12fake-$NODE-fake" "$T/fake"
	if ! diff -u "$T/real" "$T/fake" >&2; then
		fail "the fake engine answers differently from dockerd (- dockerd, + fake)"
	fi
	if ! diff <(cat "$T/real.actions"; echo) <(cat "$T/fake.actions"; echo) >&2; then
		echo "    dockerd: $(cat "$T/real.actions")" >&2
		echo "    fake:    $(cat "$T/fake.actions")" >&2
		fail "the event streams differ"
	fi
	# Not vacuous: the scenario saw what it is about.
	grep -q '^start 204$' "$T/real" || fail "dockerd did not start the container: $(cat "$T/real")"
	[ "$(wc -l <"$T/real")" -ge 50 ] || fail "the transcript is short: $(cat "$T/real")"
	grep -q 'kill die stop' "$T/real.actions" || fail "no stop in dockerd's events: $(cat "$T/real.actions")"
	# A list's size decides what the agent can hold (its answer limit): an entry must weigh what dockerd's does.
	local rb fb
	rb=$(cat "$T/real.entry-bytes") fb=$(cat "$T/fake.entry-bytes")
	if [ "$fb" -lt $((rb * 9 / 10)) ] || [ "$fb" -gt $((rb * 11 / 10)) ]; then
		fail "a listed container is $fb bytes in the fake, $rb in dockerd (10% allowed)"
	fi
	figure "fake engine: bytes of one listed container, dockerd / fake" "$rb / $fb"
	figure "fake engine: calls compared with dockerd" "$(grep -c ' [0-9][0-9][0-9]$' "$T/real")"
}

# The filter honesty the ownership test of issue 15 relies on: --ignore-filters lists (and streams) what the
# filter excludes; without it the same request lists nothing.
test_fake_engine_filters_and_ignore_mode() {
	local f1=$T/f1.sock f2=$T/f2.sock q
	start_fake_engine "$f1" --latency 0 --preload web=3 --node-id n2
	start_fake_engine "$f2" --latency 0 --preload web=3 --node-id n2 --ignore-filters
	q=$(jq -rn '{label: ["io.force12.agent=n1"]} | tojson | @uri')
	[ "$(curl -s --unix-socket "$f1" "http://localhost/v1.41/containers/json?all=1&filters=$q" | jq length)" = 0 ] ||
		fail "the fake listed containers of another node"
	[ "$(curl -s --unix-socket "$f2" "http://localhost/v1.41/containers/json?all=1&filters=$q" | jq length)" = 3 ] ||
		fail "--ignore-filters did not list everything"
	q=$(jq -rn '{label: ["io.force12.agent=n2"]} | tojson | @uri')
	[ "$(curl -s --unix-socket "$f1" "http://localhost/v1.41/containers/json?all=1&filters=$q" | jq length)" = 3 ] ||
		fail "the fake did not list its preloaded containers"
}
