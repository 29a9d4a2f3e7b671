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
	wait_until 10 "the agent to count them running" status_is '[.apps[].running] == [2, 2]'
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
	# Over the limit: the agent answers 413 from the headers and closes; with "Expect: 100-continue" curl waits for
	# that answer instead of sending the body into a closed connection (curl exit 55, not the agent's error).
	big=$(head -c 70000 /dev/zero | tr '\0' ' ')
	code=$(curl -s -o "$T/413.json" -w '%{http_code}' --unix-socket "$T/api.sock" -X PUT -H 'Expect: 100-continue' \
		--data-binary "{\"priority1\": 2 $big}" http://localhost/v1/targets)
	[ "$code" = 413 ] || fail "an oversized body answered $code, expected 413"
	json_check '.error | type == "string" and length > 0' <"$T/413.json" || fail "the 413 gave no JSON error: $(cat "$T/413.json")"
	[ "$(api GET /v1/targets)" = "$before" ] || fail "an oversized body changed the targets"
	# Chunked upload without a Content-Length, over the limit.
	code=$(head -c 70000 /dev/zero | tr '\0' ' ' | curl -s -o /dev/null -w '%{http_code}' --unix-socket "$T/api.sock" \
		-X PUT -H 'Transfer-Encoding: chunked' --data-binary @- http://localhost/v1/targets || true)
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
	wait_until 10 "the agent to count them running" status_is '[.apps[].running] == [2, 0]'
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
# The header deadline and the per-peer limit are asserted by test_api_header_deadline and
# test_api_slow_tcp_clients_do_not_lock_out; the figures here show how many connections were held at once.
test_api_abuse_agent_stays_responsive() {
	start_agent --target priority1=1
	wait_settled 60 priority1=1 priority2=0
	local before rss0 rss worst mode log secs
	before=$(api GET /v1/targets)
	rss0=$(awk '/^VmRSS/ {print $2}' "/proc/$AGENT_PID/status")
	for mode in idle slowloris big-header; do
		log=$T/abuse-$mode.log
		# Endless headers are held until the agent cuts them: room for the connect storm, the 5 s header
		# deadline and a loaded machine.
		secs=6
		[ "$mode" != big-header ] || secs=$((10 * WAIT_FACTOR))
		"$API_ABUSE" --socket "$T/api.sock" --count 1000 --mode "$mode" --seconds "$secs" >"$log" 2>&1 &
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

# Issue 15, finding 2: a web page cannot reach the API by DNS rebinding (a Host that names someone else is
# refused on both listeners), and a loopback listener without --token-file changes nothing (read-only).
test_api_host_check_and_readonly_tcp() {
	local port url before
	port=$(free_port)
	start_agent --listen "127.0.0.1:$port" --target priority1=1
	url=http://127.0.0.1:$port
	# Settled first: the end compares the running set with this one (CI once caught the create still going).
	wait_settled 60 priority1=1 priority2=0
	before=$(api GET /v1/targets)
	code() { curl -s -o /dev/null -w '%{http_code}' --max-time $((10 * WAIT_FACTOR)) "$@"; }
	[ "$(code -X PUT -H "Host: evil.attacker.example:$port" -d '{"priority1": 0}' "$url/v1/targets")" = 403 ] ||
		fail "a PUT with a foreign Host was not refused with 403"
	[ "$(code -H "Host: evil.attacker.example:$port" "$url/v1/status")" = 403 ] ||
		fail "a GET with a foreign Host (DNS rebinding) was not refused"
	[ "$(code -H "Host: localhost:$((port + 1))" "$url/v1/status")" = 403 ] || fail "a Host with another port was served"
	[ "$(code -X PUT -d '{"priority1": 0}' "$url/v1/targets")" = 403 ] ||
		fail "a PUT over a TCP listener without --token-file was not refused"
	curl -s -X PUT -d '{"priority1": 0}' "$url/v1/targets" | grep -q 'token-file' || fail "the 403 does not say what to do"
	[ "$(api GET /v1/targets)" = "$before" ] || fail "a refused request changed the targets"
	# Reads work under every name of the listener.
	[ "$(code "$url/v1/status")" = 200 ] || fail "GET by 127.0.0.1:$port refused"
	[ "$(code -H "Host: localhost:$port" "$url/")" = 200 ] || fail "the dashboard by localhost:$port refused"
	# The unix socket (reached through an SSH tunnel by a browser) checks the name too, not the port.
	[ "$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$T/api.sock" http://evil.attacker.example/v1/targets)" = 403 ] ||
		fail "the unix socket served a foreign Host"
	[ "$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$T/api.sock" http://localhost:8080/v1/targets)" = 200 ] ||
		fail "the unix socket refused localhost:8080 (an SSH tunnel)"
	api GET /metrics | grep -q '^force12_api_requests_total{path="forbidden",code="403"} 6$' ||
		fail "the refusals are not counted: $(api GET /metrics | grep forbidden)"
	is_settled priority1=1 priority2=0 || fail "the running set changed"
	wait_events
	[ "$(event_count die priority1)" -eq 0 ] || fail "the engine reported a priority1 container dying"
}

# Issue 15, findings 2 and 8: with --token-file a browser logs in once (GET /?token=...), gets an HttpOnly
# SameSite=Strict cookie and the token leaves the address bar; the cookie reads, never writes.
test_api_dashboard_login_with_token() {
	local port url token=s3cret-token-0123456789 hdr cookie before
	port=$(free_port)
	echo "$token" >"$T/token"
	chmod 600 "$T/token"
	start_agent --listen "127.0.0.1:$port" --token-file "$T/token"
	url=http://127.0.0.1:$port
	before=$(api GET /v1/targets)
	[ "$(curl -s -o "$T/page" -w '%{http_code} %{content_type}' "$url/")" = "401 text/html; charset=utf-8" ] ||
		fail "GET / without the token is not the 401 login page"
	grep -q 'name="token"' "$T/page" || fail "the login page has no token field"
	[ "$(curl -s -o /dev/null -w '%{http_code}' "$url/?token=wrong")" = 401 ] || fail "a wrong ?token= was accepted"
	hdr=$(curl -s -D - -o /dev/null "$url/?token=$token" | tr -d '\r')
	grep -q '^HTTP/1.1 303' <<<"$hdr" || fail "the right ?token= does not redirect: $hdr"
	grep -qi '^location: /$' <<<"$hdr" || fail "the redirect does not drop the token from the address: $hdr"
	cookie=$(grep -i '^set-cookie:' <<<"$hdr" | sed 's/^[^:]*: //')
	{ grep -q '; HttpOnly' <<<"$cookie" && grep -q '; SameSite=Strict' <<<"$cookie"; } ||
		fail "the session cookie is not HttpOnly and SameSite=Strict: $cookie"
	grep -q "$token" <<<"$cookie" && fail "the cookie carries the token itself"
	cookie=${cookie%%;*}
	[ "$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: $cookie" "$url/")" = 200 ] || fail "the cookie does not open /"
	for p in /v1/status /v1/history; do
		[ "$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: $cookie" "$url$p")" = 200 ] ||
			fail "the dashboard's poll of $p is refused with the cookie"
	done
	local forged=${cookie%?}0
	[ "$forged" = "$cookie" ] && forged=${cookie%?}1
	[ "$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: $forged" "$url/v1/status")" = 401 ] ||
		fail "a forged cookie was accepted"
	[ "$(curl -s -o /dev/null -w '%{http_code}' -X PUT -d '{"priority1": 2}' -H "Cookie: $cookie" "$url/v1/targets")" = 401 ] ||
		fail "the cookie allowed a PUT"
	[ "$(api GET /v1/targets)" = "$before" ] || fail "a refused PUT changed the targets"
	# An open redirect through the login is not possible: the Location is always a path of ours.
	hdr=$(curl -s -D - -o /dev/null "$url//evil.example?token=$token" | tr -d '\r')
	grep -qi '^location: /$' <<<"$hdr" || grep -q '^HTTP/1.1 404' <<<"$hdr" || fail "login redirected elsewhere: $hdr"
}

# Issue 15, finding 6, end to end: a FIFO named targets.json does not hang the start.
test_api_state_fifo_does_not_hang_start() {
	mkdir -p "$T/state"
	mkfifo "$T/state/targets.json"
	start_agent --target priority1=1
	wait_settled 60 priority1=1 priority2=0
	[ -p "$T/state/targets.json.corrupt" ] || fail "the FIFO was not set aside"
	grep -q 'not a regular file' "$T/agent.log" || fail "the log does not say why the state file was ignored"
}

# Issue 15, finding 3: 2000 clients dripping their headers over TCP, reconnecting whenever cut, under an fd limit
# of 1024. The agent derives its limits from RLIMIT_NOFILE (never runs out of fds), cuts clients that have not
# sent their headers in time, and serves a token holder on TCP and everyone on the unix socket meanwhile.
test_api_slow_tcp_clients_do_not_lock_out() {
	local port url token=s3cret-token-0123456789 log out worst=0 ms fds maxfds=0
	port=$(free_port)
	echo "$token" >"$T/token"
	command -v prlimit >/dev/null || fail "test setup: prlimit (util-linux) is missing"
	# A hard limit of 1024 (the agent lifts only its soft limit); prlimit execs the rest, so AGENT_PID stays.
	AGENT_WRAPPER="prlimit --nofile=1024:1024 ${AGENT_WRAPPER:-}" \
		start_agent --listen "127.0.0.1:$port" --token-file "$T/token" --target priority1=1
	[ "$(awk '/^Max open files/ {print $5}' "/proc/$AGENT_PID/limits")" = 1024 ] || fail "test setup: the hard fd limit is not 1024"
	wait_settled 60 priority1=1 priority2=0
	url=http://127.0.0.1:$port
	log=$T/abuse-tcp.log
	"$API_ABUSE" --tcp "127.0.0.1:$port" --count 2000 --mode slowloris --reconnect --seconds 20 >"$log" 2>&1 &
	local abuser=$!
	wait_until 15 "api-abuse to hold its connections" grep -q '^holding:' "$log"
	for _ in $(seq 1 10); do
		out=$(curl -s -o /dev/null -w '%{http_code} %{time_total} curl-exit %{exitcode}' --max-time $((20 * WAIT_FACTOR)) \
			-H "Authorization: Bearer $token" "$url/v1/targets") || true
		[ "${out%% *}" = 200 ] || fail "the token holder got '$out' while 2000 slow clients held the port"
		ms=$(awk -v t="${out#* }" 'BEGIN { printf "%d", t * 1000000 }')
		[ "$ms" -gt "$worst" ] && worst=$ms
		fds=$(find "/proc/$AGENT_PID/fd" -mindepth 1 2>/dev/null | wc -l)
		[ "$fds" -gt "$maxfds" ] && maxfds=$fds
		sleep 0.5
	done
	figure "token_holder_worst_us_during_2000_slow_tcp_clients" "$worst"
	figure "unix_healthz_worst_us_during_2000_slow_tcp_clients" "$(probe_healthz 10)"
	figure "agent_fds_max_during_2000_slow_tcp_clients_rlimit_1024" "$maxfds"
	wait "$abuser" || fail "api-abuse failed: $(cat "$log")"
	figure "api_abuse_tcp_slowloris_reconnect" "$(tail -n 1 "$log")"
	grep -q 'Too many open files' "$T/agent.log" && fail "the agent ran out of fds: $(grep -m1 'Too many open files' "$T/agent.log")"
	kill -0 "$AGENT_PID" || fail "the agent died"
	[ "$(api GET /v1/targets)" = '{"priority1":1,"priority2":0}' ] || fail "the abuse changed the targets"
}

# Issue 15, finding 3: a client that drips its headers (one byte every half second, never finishing) is cut at
# the header deadline (5 s; the idle timeout alone never fired), on the unix socket as on TCP.
test_api_header_deadline() {
	local port
	port=$(free_port)
	start_agent --listen "127.0.0.1:$port"
	"$API_ABUSE" --tcp "127.0.0.1:$port" --count 5 --mode slowloris --seconds $((12 * WAIT_FACTOR)) >"$T/tcp.log" 2>&1 &
	local a=$!
	"$API_ABUSE" --socket "$T/api.sock" --count 5 --mode slowloris --seconds $((12 * WAIT_FACTOR)) >"$T/unix.log" 2>&1
	wait "$a" || fail "api-abuse failed"
	grep -q 'the server closed 5; 0 still open$' "$T/tcp.log" || fail "TCP slow clients were not cut: $(cat "$T/tcp.log")"
	grep -q 'the server closed 5; 0 still open$' "$T/unix.log" || fail "unix slow clients were not cut: $(cat "$T/unix.log")"
}

# Issue 15, finding 8, in a real browser: headless Chromium opens http://ADDR:PORT/?token=..., follows the 303 to
# /, and the page's polls (relative fetches, the session cookie) load the node and follow a change of targets with
# no HTTP error. The page driver and its helpers are test-dashboard.sh's.
test_api_dashboard_browser_login() {
	# shellcheck source=tests/integration/test-dashboard.sh
	. "$TOP/tests/integration/test-dashboard.sh"
	local port token=s3cret-token-0123456789 limit
	dashboard_prereqs
	port=$(free_port)
	echo "$token" >"$T/token"
	start_agent --listen "127.0.0.1:$port" --token-file "$T/token" --capacity 4
	limit=$((30 * WAIT_FACTOR))
	trap dashboard_cleanup EXIT
	node "$DASH_DIR/dashboard-test.mjs" "http://127.0.0.1:$port/?token=$token" "$T/page.png" --timeout "$limit" \
		--expect priority1.target=2,priority1.running=2 --profile "$T/chromium" >"$T/page.out" 2>"$T/page.err" &
	PAGE_PID=$!
	page_wait loaded 90
	grep -q "^loaded node=$NODE apps=priority1,priority2$" "$T/page.out" ||
		page_fail "the page behind the token does not show node $NODE"
	set_targets '{"priority1": 2}'
	page_wait ok $((limit + 30))
	local rc=0
	wait "$PAGE_PID" || rc=$?
	PAGE_PID=
	[ "$rc" -eq 0 ] || page_fail "the page driver failed (exit $rc)"
	wait_settled 60 priority1=2 priority2=0
}
