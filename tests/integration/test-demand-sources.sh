# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# shellcheck disable=SC2153 # T, NODE, TOP come from lib.sh
# The file: and http:// demand sources against a real agent and engine: a change is picked up (an atomic rename at
# once, a poll within its interval), a bad document keeps the last targets and is reported, the http source sends
# If-None-Match and keeps its targets on 304 and on server errors.

ms() { echo $(($(date +%s%N) / 1000000)); }

put_file() { # PATH JSON: an atomic replace, the way a config tool writes
	printf '%s' "$2" >"$1.tmp.$$"
	mv -f "$1.tmp.$$" "$1"
}

targets_are() { # JQ-EXPRESSION over GET /v1/targets
	api GET /v1/targets | json_check "$1"
}

test_source_file_pickup_and_bad_file() {
	local f=$T/demand/targets.json t0
	mkdir -p "$T/demand"
	put_file "$f" '{"priority1": 2}'
	start_agent --demand "file:$f"
	wait_settled 60 priority1=2 priority2=0
	t0=$(ms)
	put_file "$f" '{"priority1": 1, "priority2": 3}'
	wait_until 5 "the renamed file to be read" targets_are '.priority1 == 1 and .priority2 == 3'
	figure file_rename_to_new_targets_ms "$(($(ms) - t0))"
	wait_settled 60 priority1=1 priority2=3
	# A bad document: reported in one line and in the status, nothing changes.
	put_file "$f" '{"priority1": 5, "priority2": "many"}'
	wait_until 10 "the bad file to be reported" grep -q "file:$f: \"priority2\": the count must be" "$T/agent.log"
	status_field '.demand.error' | grep -q 'priority2' || fail "the status does not report the bad file"
	sleep 1
	targets_are '.priority1 == 1 and .priority2 == 3' || fail "a bad file changed the targets: $(api GET /v1/targets)"
	is_settled priority1=1 priority2=3 || fail "a bad file changed the containers"
	put_file "$f" 'not json at all'
	wait_until 10 "the malformed file to be reported" grep -q "file:$f: malformed JSON" "$T/agent.log"
	put_file "$f" '{"nosuch": 1}'
	wait_until 10 "the unknown app to be reported" grep -q "file:$f: unknown app \"nosuch\"" "$T/agent.log"
	targets_are '.priority1 == 1 and .priority2 == 3' || fail "a bad file changed the targets"
	# A file written in place (no rename) is read when its writer closes it.
	printf '%s' '{"priority1": 0, "priority2": 2}' >"$f"
	wait_settled 60 priority1=0 priority2=2
	[ "$(status_field '.demand.error')" = null ] || fail "the error stayed after a good file"
	# The API does not own the targets: a PUT is refused.
	[ "$(api_code PUT /v1/targets '{"priority1": 4}')" = 409 ] || fail "PUT /v1/targets was not refused"
}

start_etag_server() { # serves $T/www/targets.json; sets PORT
	mkdir -p "$T/www"
	python3 "$TOP/tests/tools/etag-server.py" "$T/www" "$T/www.port" 2>>"$T/www.log" &
	echo $! >>"$T/pids"
	wait_until 10 "the ETag server" test -s "$T/www.port"
	PORT=$(cat "$T/www.port")
}

stats() { # FIELD of the server's counts
	curl -s "http://127.0.0.1:$PORT/_stats" | jq -r ".$1"
}

test_source_http_etag_and_bad_payload() {
	local t0 n
	start_etag_server
	printf '%s' '{"priority1": 2, "priority2": 1}' >"$T/www/targets.json"
	start_agent --demand "http://127.0.0.1:$PORT/targets.json" --demand-interval 1
	wait_settled 60 priority1=2 priority2=1
	# Polls after the first carry the ETag and are answered 304.
	wait_until 10 "conditional requests answered 304" sh -c "[ \$(curl -s http://127.0.0.1:$PORT/_stats | jq .not_modified) -ge 3 ]"
	[ "$(stats conditional)" -ge 3 ] || fail "no If-None-Match sent: $(stats requests) requests"
	targets_are '.priority1 == 2 and .priority2 == 1' || fail "a 304 changed the targets"
	# A change: picked up within the interval.
	t0=$(ms)
	printf '%s' '{"priority1": 3}' >"$T/www/targets.json"
	wait_until 10 "the new document to be fetched" targets_are '.priority1 == 3 and .priority2 == 1'
	figure http_change_to_new_targets_ms "$(($(ms) - t0))"
	wait_settled 60 priority1=3 priority2=1
	# A bad payload: reported, the last good targets stay.
	printf '%s' '{"priority1": 1000001}' >"$T/www/targets.json"
	wait_until 10 "the bad payload to be reported" grep -q "targets.json: \"priority1\": the count must be" "$T/agent.log"
	sleep 2
	targets_are '.priority1 == 3 and .priority2 == 1' || fail "a bad payload changed the targets"
	status_field '.demand.error' | grep -q priority1 || fail "the status does not report the bad payload"
	# A failing server: the agent backs off and keeps its targets.
	echo 503 >"$T/www/status"
	n=$(stats requests)
	t0=$(ms)
	wait_until 15 "the failures to be reported" grep -q "the server answered HTTP 503" "$T/agent.log"
	# Backoff: the delay the agent chose, as it logs it, is twice the interval after the first failure.
	grep -q "the server answered HTTP 503; keeping the last good targets, polling again in 2 s" "$T/agent.log" ||
		fail "the first failure's delay is not 2 s: $(grep 'HTTP 503' "$T/agent.log")"
	# Three more failed polls: each one counted in the status, the targets kept.
	wait_until 30 "three polls answered 503" sh -c "[ \$(curl -s http://127.0.0.1:$PORT/_stats | jq .requests) -ge $((n + 3)) ]"
	figure http_3_failed_polls_ms "$(($(ms) - t0))"
	targets_are '.priority1 == 3 and .priority2 == 1' || fail "server errors changed the targets"
	wait_until 10 "the status to count the 3 failures" status_is '.demand.failures >= 3'
	rm "$T/www/status"
	printf '%s' '{"priority1": 1, "priority2": 0}' >"$T/www/targets.json"
	wait_settled 60 priority1=1 priority2=0
	[ "$(status_field '.demand.error')" = null ] || fail "the error stayed after a good answer"
}

configmap_publish() { # DIR VERSION JSON: the way the kubelet updates a ConfigMap volume
	mkdir "$1/..$2"
	printf '%s' "$3" >"$1/..$2/targets.json"
	ln -s "..$2" "$1/..data_tmp"
	mv -T "$1/..data_tmp" "$1/..data"
}

# Finding 5 of #15: a ConfigMap-style symlink swap is followed; a directory removed and made again is watched again,
# and while it is gone the status says the watch is lost instead of error: null.
test_source_file_symlink_swap_and_dir_recreation() {
	local d=$T/cm t0
	mkdir -p "$d"
	configmap_publish "$d" v1 '{"priority1": 2, "priority2": 0}'
	ln -s ..data/targets.json "$d/targets.json"
	start_agent --demand "file:$d/targets.json"
	wait_settled 60 priority1=2 priority2=0
	t0=$(ms)
	configmap_publish "$d" v2 '{"priority1": 1, "priority2": 2}'
	wait_until 5 "the symlink swap to be seen" targets_are '.priority1 == 1 and .priority2 == 2'
	figure file_symlink_swap_to_new_targets_ms "$(($(ms) - t0))"
	rm -rf "$d/..v1"
	wait_settled 60 priority1=1 priority2=2
	# The directory goes away: the watch is dead, the status says so, the targets stay.
	rm -rf "$d"
	wait_until 10 "the lost watch in the status" status_is '.demand.error // "" | test("watch")'
	[ "$(status_field '.demand.watching')" = false ] || fail "the status does not say the watch is lost: $(status_field .demand)"
	targets_are '.priority1 == 1 and .priority2 == 2' || fail "losing the directory changed the targets"
	# Made again, with a new document: watched again and read.
	mkdir -p "$d"
	t0=$(ms)
	put_file "$d/targets.json" '{"priority1": 0, "priority2": 1}'
	wait_until 10 "the re-created directory's file to be read" targets_are '.priority1 == 0 and .priority2 == 1'
	figure file_dir_recreated_to_new_targets_ms "$(($(ms) - t0))"
	[ "$(status_field '.demand.watching')" = true ] || fail "the watch was not armed again: $(status_field .demand)"
	[ "$(status_field '.demand.error')" = null ] || fail "the error stayed after the watch came back: $(status_field .demand)"
	# And later changes keep coming (the new watch is live, not one read at re-arm).
	put_file "$d/targets.json" '{"priority1": 1, "priority2": 1}'
	wait_until 5 "a change after the re-arm" targets_are '.priority1 == 1 and .priority2 == 1'
	wait_settled 60 priority1=1 priority2=1
}
