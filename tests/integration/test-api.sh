# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# shellcheck disable=SC2153 # T, NODE, AGENT_BIN come from lib.sh
# The control API against a running agent and the real engine: every endpoint, every bad input (answered with
# its status and changing nothing), the TCP listener's token, the unix socket's mode, /metrics by promtool.


test_api_endpoints() {
	start_agent --capacity 4
	api GET /v1/status | json_check '.node == env.NODE and .capacity == 4 and .docker.reachable == true
		and .docker.api_version != null and (.apps | length) == 2
		and (.apps[0] | has("name") and has("priority") and has("target") and has("allocated") and has("running")
			and has("starting") and has("stopping"))
		and (.totals | has("started") and has("stopped") and has("removed") and has("killed") and has("failed"))' ||
		fail "GET /v1/status: $(api GET /v1/status)"
	[ "$(api GET /v1/targets)" = '{"priority1":0,"priority2":0}' ] || fail "GET /v1/targets: $(api GET /v1/targets)"
	api PUT /v1/targets '{"priority1": 2, "priority2": 5}' | json_check '. == {"priority1": 2, "priority2": 5}' ||
		fail "PUT did not answer with all targets"
	wait_settled 60 priority1=2 priority2=2
	api GET /v1/status | json_check '.apps[1].target == 5 and .apps[1].allocated == 2' ||
		fail "a target above capacity is not shown as target 5, allocated 2"
	local ids
	ids=$(docker ps -q --no-trunc --filter "label=io.force12.agent=$NODE" | sort | tr '\n' ' ')
	[ "$(api GET /v1/containers | jq -r '[.[] | select(.state == "running") | .id] | sort | join(" ")') " = "$ids" ] ||
		fail "GET /v1/containers does not match the engine"
	api GET /v1/containers | json_check 'all(.[]; has("id") and has("name") and has("app") and has("state") and has("started_at"))' ||
		fail "GET /v1/containers lacks fields"
	[ "$(api GET /healthz)" = ok ] || fail "/healthz"
	api GET /metrics | grep -q '^force12_app_running{app="priority1"} 2$' || fail "/metrics lacks the running gauge"
	[ "$(api_code GET /)" = 200 ] || fail "GET / is not 200"
	[ "$(api_code HEAD /v1/status)" = 200 ] || fail "HEAD /v1/status"
}

test_api_bad_input_changes_nothing() {
	start_agent --target priority1=1
	local before big
	before=$(api GET /v1/targets)
	check() { # STATUS METHOD PATH [BODY]
		local want=$1 code out
		shift
		code=$(api_code "$@")
		[ "$code" = "$want" ] || fail "$* answered $code, expected $want"
		out=$(api "$@")
		echo "$out" | json_check '.error | type == "string" and length > 0' || fail "$* gave no JSON error: $out"
		[ "$(api GET /v1/targets)" = "$before" ] || fail "$* changed the targets"
	}
	check 400 PUT /v1/targets '{"priority1": 2'
	check 400 PUT /v1/targets '[1, 2]'
	check 400 PUT /v1/targets '"priority1"'
	check 400 PUT /v1/targets ''
	check 400 PUT /v1/targets '{"priority1": 2, "priority1": 3}'
	check 422 PUT /v1/targets '{"priority1": 2.5}'
	check 422 PUT /v1/targets '{"priority1": -1}'
	check 422 PUT /v1/targets '{"priority1": 1000001}'
	check 422 PUT /v1/targets '{"priority1": "3"}'
	check 422 PUT /v1/targets '{"priority2": 3, "priority1": null}'
	check 404 PUT /v1/targets '{"priority1": 3, "nosuchapp": 1}'
	check 400 PUT /v1/targets $'{"priority1": 3, "\xff\xfe": 1}'
	check 400 PUT /v1/targets "$(printf '%0.s[' $(seq 1 5000))"
	check 404 GET /v1/nothing
	check 404 GET /v1/status/extra
	check 405 POST /v1/status
	check 405 DELETE /v1/targets
	check 405 POST /v1/targets '{"priority1": 2}'
	big=$(head -c 70000 /dev/zero | tr '\0' ' ')
	check 413 PUT /v1/targets "{\"priority1\": 2 $big}"
	# Chunked upload without a Content-Length, over the limit.
	code=$(head -c 70000 /dev/zero | tr '\0' ' ' | curl -s -o /dev/null -w '%{http_code}' --unix-socket "$T/api.sock" \
		-X PUT -H 'Transfer-Encoding: chunked' --data-binary @- http://localhost/v1/targets)
	[ "$code" = 413 ] || fail "chunked oversized body answered $code"
	[ "$(api GET /v1/targets)" = "$before" ] || fail "targets changed"
	kill -0 "$AGENT_PID" || fail "the agent died"
	wait_settled 30 priority1=1 priority2=0
}

test_api_targets_from_another_source_are_refused() {
	start_agent --demand random:1
	[ "$(api_code PUT /v1/targets '{"priority1": 2}')" = 409 ] || fail "PUT with --demand random was not refused"
	api PUT /v1/targets '{"priority1": 2}' | grep -q 'demand source' || fail "the 409 does not say why"
}

test_api_tcp_token() {
	local port token_file=$T/token
	port=$(free_port)
	echo "s3cret-token-0123456789" >"$token_file"
	chmod 600 "$token_file"
	start_agent --listen "127.0.0.1:$port" --token-file "$token_file"
	local url=http://127.0.0.1:$port/v1/targets
	[ "$(curl -s -o /dev/null -w '%{http_code}' "$url")" = 401 ] || fail "no token was not refused"
	[ "$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer wrong' "$url")" = 401 ] ||
		fail "a wrong token was not refused"
	[ "$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer s3cret-token-0123456789x' "$url")" = 401 ] ||
		fail "a longer token was accepted"
	[ "$(curl -s -o /dev/null -w '%{http_code}' -X PUT -d '{"priority1": 1}' -H 'Authorization: Bearer wrong' "$url")" = 401 ] ||
		fail "a PUT with a wrong token was not refused"
	[ "$(api GET /v1/targets | jq .priority1)" = 0 ] || fail "a refused PUT changed the targets"
	[ "$(curl -s -H 'Authorization: Bearer s3cret-token-0123456789' "$url")" = '{"priority1":0,"priority2":0}' ] ||
		fail "the right token was refused"
	# The unix socket needs no token.
	[ "$(api_code GET /v1/targets)" = 200 ] || fail "the unix socket asked for a token"
}

test_api_refuses_public_listen_without_token() {
	local out rc=0
	out=$("$AGENT_BIN" --node-id "$NODE" --api-socket "$T/api.sock" --state-dir "$T/state" --listen 0.0.0.0:5112 2>&1) || rc=$?
	[ "$rc" -eq 2 ] || fail "exit status $rc, expected 2"
	echo "$out" | grep -q 'token-file' || fail "the error does not say what to do: $out"
	[ "$(count '*' all)" -eq 0 ] || fail "containers were created"
}

test_api_socket_mode() {
	getent group daemon >/dev/null || fail "test setup: no group 'daemon' on this machine"
	start_agent --api-group daemon
	[ "$(stat -c %a "$T/api.sock")" = 660 ] || fail "socket mode $(stat -c %a "$T/api.sock"), expected 660"
	[ "$(stat -c %G "$T/api.sock")" = daemon ] || fail "socket group $(stat -c %G "$T/api.sock"), expected daemon"
	stop_agent TERM
	[ ! -e "$T/api.sock" ] || fail "the socket was left behind after a clean stop"
}

test_api_metrics_parse_with_promtool() {
	command -v promtool >/dev/null || fail "promtool is not installed (Debian package prometheus)"
	start_agent --target priority1=2
	wait_settled 60 priority1=2 priority2=0
	api GET /v1/status >/dev/null
	api GET /nothing >/dev/null
	api GET /metrics >"$T/metrics.txt"
	promtool check metrics <"$T/metrics.txt" || fail "promtool check metrics failed on: $(head -n 20 "$T/metrics.txt")"
	for m in force12_app_target force12_app_allocated force12_app_running force12_containers_started_total \
		force12_containers_stopped_total force12_containers_removed_total force12_containers_killed_total \
		force12_container_failures_total force12_engine_reachable force12_container_start_seconds_bucket \
		force12_container_stop_seconds_bucket force12_api_requests_total; do
		grep -q "^$m" "$T/metrics.txt" || fail "/metrics lacks $m"
	done
	grep -q '^force12_container_start_seconds_count 2$' "$T/metrics.txt" || fail "start histogram count is not 2"
	grep -q '^force12_api_requests_total{path="other",code="404"} 1$' "$T/metrics.txt" || fail "API 404 not counted"
}

# Probes /healthz COUNT times; fails on anything but 200; prints the slowest answer in µs (a figure, never
# asserted: the --max-time is only a limit on waiting, scaled by WAIT_FACTOR).
probe_healthz() { # COUNT
	local worst=0 out code ms
	for _ in $(seq 1 "$1"); do
		out=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' --max-time $((30 * WAIT_FACTOR)) --unix-socket "$T/api.sock" \
			http://localhost/healthz) || true
		code=${out%% *}
		[ "$code" = 200 ] || fail "/healthz answered '$out' during the abuse"
		ms=$(awk -v t="${out#* }" 'BEGIN { printf "%d", t * 1000000 }')
		[ "$ms" -gt "$worst" ] && worst=$ms
		sleep 0.1
	done
	echo "$worst"
}

# 1000 misbehaving clients per mode, counted by api-abuse as real connections (connect() returned 0; a full
# listen backlog is retried, never counted): the agent stays responsive and bounded, and cuts off endless headers.
# Not asserted (issue 15's, the agent has none yet): a cap on connections or an idle timeout; the figures show
# how many idle and slowloris connections the agent still held at the end.
test_api_abuse_agent_stays_responsive() {
	start_agent --target priority1=1
	wait_settled 60 priority1=1 priority2=0
	local before rss0 rss worst mode log
	before=$(api GET /v1/targets)
	rss0=$(awk '/^VmRSS/ {print $2}' "/proc/$AGENT_PID/status")
	for mode in idle slowloris big-header; do
		log=$T/abuse-$mode.log
		"$API_ABUSE" --socket "$T/api.sock" --count 1000 --mode "$mode" --seconds 6 >"$log" 2>&1 &
		local abuser=$!
		# Probed while the 1000 are held (once api-abuse has nothing left to connect). During the connect storm
		# itself a client may find the listen backlog full: issue 15's to bound, not asserted here.
		wait_until 10 "api-abuse to hold its connections" grep -q '^holding:' "$log"
		worst=$(probe_healthz 20)
		rss=$(awk '/^VmRSS/ {print $2}' "/proc/$AGENT_PID/status")
		wait "$abuser" || fail "api-abuse --mode $mode failed: $(cat "$log")"
		figure "healthz_worst_us_during_1000_${mode}_clients" "$worst"
		figure "agent_rss_kib_during_1000_${mode}_clients" "$rss"
		figure "api_abuse_${mode}" "$(tail -n 1 "$log")"
		grep -qE '^opened 1000 of 1000 \(0 failed\)' "$log" || fail "$mode: not every client connected: $(cat "$log")"
		[ "$rss" -lt $((rss0 + 65536)) ] || fail "RSS grew from $rss0 KiB to $rss KiB under $mode clients"
		kill -0 "$AGENT_PID" || fail "the agent died under $mode clients"
	done
	# Endless headers: every one of the 1000 connected clients is cut off by the agent before the run ends.
	grep -qE 'the server closed 1000; 0 still open$' "$T/abuse-big-header.log" ||
		fail "endless headers were not all cut off: $(cat "$T/abuse-big-header.log")"
	[ "$(api GET /v1/targets)" = "$before" ] || fail "the abuse changed the targets"
	is_settled priority1=1 priority2=0 || fail "the abuse changed the running set"
}
