# shellcheck shell=bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2153 # T, NODE, TOP come from lib.sh
# Metric scaling against a real Prometheus (Debian's) that scrapes a gauge the test drives
# (tests/tools/gauge-exporter.py), all on loopback with the test's own ports and data dirs: the agent follows a rise
# at once and a fall only after the scale-down window; answers that are not one number, a Prometheus that answers
# 5xx, is slow or is stopped keep the last good target, show the error and back off, and the rule recovers without
# a restart; a bad rule is refused at load; a flapping metric moves containers only without the window.

ms() { echo $(($(date +%s%N) / 1000000)); }

need_prometheus() {
	command -v prometheus >/dev/null || {
		fail "prometheus is not installed (scripts/setup-host.sh --test installs it)"
	}
}

start_helper() { # ROLE NAME [UPSTREAM]: a gauge-exporter.py role; sets PORT
	rm -f "$T/$2.port"
	python3 "$TOP/tests/tools/gauge-exporter.py" "$1" "$T/$2.port" ${3:+"$3"} 2>>"$T/$2.log" &
	echo $! >>"$T/pids"
	wait_until 10 "the $2 helper to listen" test -s "$T/$2.port"
	PORT=$(cat "$T/$2.port")
}

gauge() { # BODY for the exporter's /set
	curl -sf -X POST --data-binary "$1" "http://127.0.0.1:$EXPORTER/set" >/dev/null || fail "cannot set the gauge: $1"
}

fault() { # BODY for the proxy's /_fault
	curl -sf -X POST --data-binary "$1" "http://127.0.0.1:$PROXY/_fault" >/dev/null || fail "cannot set the fault: $1"
}

PROM_PID=
start_prometheus() { # uses PROM_PORT, EXPORTER; keeps its data in $T/prom-data across restarts
	cat >"$T/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: gauge
    static_configs:
      - targets: ['127.0.0.1:$EXPORTER']
YML
	prometheus --config.file="$T/prometheus.yml" --storage.tsdb.path="$T/prom-data" \
		--web.listen-address="127.0.0.1:$PROM_PORT" --log.level=warn >>"$T/prometheus.log" 2>&1 &
	PROM_PID=$!
	echo "$PROM_PID" >>"$T/pids"
	wait_until 60 "Prometheus to be ready" curl -sf "http://127.0.0.1:$PROM_PORT/-/ready"
	wait_until 30 "Prometheus to scrape the gauge" prom_has_gauge
}

prom_has_gauge() {
	curl -sf "http://127.0.0.1:$PROM_PORT/api/v1/query?query=force12_test_queue_depth" |
		json_check '.data.result | length > 0'
}

stop_prometheus() {
	kill -TERM "$PROM_PID" 2>/dev/null || true
	wait "$PROM_PID" 2>/dev/null || true
	PROM_PID=
}

setup_metrics() { # starts the exporter and Prometheus; PROXY too with "proxy"
	need_prometheus
	start_helper exporter exporter
	EXPORTER=$PORT
	PROM_PORT=$(free_port)
	start_prometheus
	if [ "${1:-}" = proxy ]; then
		start_helper proxy proxy "http://127.0.0.1:$PROM_PORT"
		PROXY=$PORT
	fi
}

write_scaled_config() { # PROMETHEUS-URL WINDOW [extra app JSON]
	write_config "$T/agent.json" <<JSON
{"capacity": 9, "apps": [
 {"name": "worker", "priority": 1, "image": "busybox:latest",
  "command": ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1 & wait \$!; done"],
  "scale": {"prometheus": "$1", "query": "force12_test_queue_depth", "per_container": 10, "min": 0,
            "max": 6, "interval": 1, "scale_down_window": $2}}${3:+,$3}]}
JSON
}

scale_is() { # jq expression over apps[0].scale
	api GET /v1/status | json_check ".apps[0].scale | $1"
}

target_changes() { # the agent's own lines "Target of worker: A -> B", as "A->B" words
	sed -n 's/.*Target of worker: \([0-9]*\) -> \([0-9]*\).*/\1->\2/p' "$T/agent.log" | tr '\n' ' '
}

test_metric_follows_up_at_once_down_after_window() {
	local t0 pid
	setup_metrics
	gauge 0
	write_scaled_config "http://127.0.0.1:$PROM_PORT" 8
	start_agent -c "$T/agent.json"
	pid=$AGENT_PID
	wait_until 30 "the rule's first value" scale_is '.value == 0 and .target == 0 and .error == null'
	# Up: 35 / 10 per container -> 4 containers, at once.
	t0=$(ms)
	gauge 35
	wait_until 30 "the target to follow the rise" scale_is '.target == 4'
	figure metric_rise_to_target_ms "$(($(ms) - t0))"
	wait_settled 60 worker=4
	figure metric_rise_to_4_running_ms "$(($(ms) - t0))"
	# Down: 5 -> 1 container is recommended at once, but the window holds the target at 4 until the 4s are old.
	t0=$(ms)
	gauge 5
	wait_until 30 "the recommendation to fall" scale_is '.recommendation == 1'
	scale_is '.target == 4' || fail "the target fell with the recommendation: $(status_field '.apps[0].scale')"
	[ "$(count worker running)" -eq 4 ] || fail "containers stopped inside the window"
	wait_until 60 "the target to fall after the window" scale_is '.target == 1'
	figure metric_fall_to_target_ms "$(($(ms) - t0)) (window 8 s)"
	wait_settled 60 worker=1
	# The target went 0 -> 4 -> 1: no step through 3 or 2 while the window held it.
	[ "$(target_changes)" = "0->4 4->1 " ] || fail "target changes: $(target_changes)"
	# /metrics exports the rule.
	api GET /metrics | grep -q '^force12_scale_target{app="worker"} 1$' || fail "no force12_scale_target in /metrics"
	api GET /metrics | grep -q '^force12_scale_value{app="worker"} 5$' || fail "no force12_scale_value in /metrics"
	api GET /metrics >"$T/metrics.txt"
	promtool check metrics <"$T/metrics.txt" >"$T/promtool.out" 2>&1 ||
		fail "promtool check metrics: $(cat "$T/promtool.out")"

	# Prometheus stopped mid-test: the error shows, the target and the container stay, and a rise of the metric
	# while it is away changes nothing.
	stop_prometheus
	gauge 45
	wait_until 30 "the rule to report Prometheus away" scale_is '.error != null and .failures >= 2'
	scale_is '.target == 1 and .value == 5' || fail "the last good target was not kept: $(status_field '.apps[0].scale')"
	is_settled worker=1 || fail "containers changed while Prometheus was away"
	# Back: the rule recovers without a restart of the agent.
	t0=$(ms)
	start_prometheus
	wait_until 90 "the rule to recover" scale_is '.error == null and .target == 5'
	figure metric_recovery_after_prometheus_restart_ms "$(($(ms) - t0))"
	wait_settled 60 worker=5
	if [ "$AGENT_PID" != "$pid" ] || ! kill -0 "$pid"; then
		fail "the agent is not the same process"
	fi
}

test_metric_bad_answers_keep_last_target() {
	setup_metrics proxy
	gauge 25
	write_scaled_config "http://127.0.0.1:$PROXY" 0 \
		"{\"name\": \"words\", \"priority\": 2, \"image\": \"busybox:latest\", \"target\": 1,
		  \"command\": [\"sh\", \"-c\", \"trap 'exit 0' TERM; while :; do sleep 1 & wait \$!; done\"],
		  \"scale\": {\"prometheus\": \"http://127.0.0.1:$PROM_PORT\", \"query\": \"\\\"hello\\\"\",
		            \"per_container\": 1, \"max\": 3, \"interval\": 1}}"
	start_agent -c "$T/agent.json"
	wait_until 30 "the first value" scale_is '.target == 3 and .error == null'
	wait_settled 60 worker=3 words=1
	# A query that gives a string: its app keeps the target it had.
	wait_until 30 "the string query's error in the status" status_is '.apps[1].scale.error // "" | test("a string")'
	local answer want
	for answer in "NaN:gives NaN" "+Inf:gives +Inf" "-Inf:gives -Inf" "series=2:gives 2 series" \
		"series=0:gives no series"; do
		want=${answer#*:}
		case ${answer%%:*} in
		series=*) gauge "${answer%%:*}" ;;
		*) gauge "series=1" && gauge "${answer%%:*}" ;;
		esac
		wait_until 30 "the error \"$want\"" scale_is ".error // \"\" | contains(\"$want\")"
		scale_is '.target == 3 and .value == 25' || fail "$want: the last good target was not kept"
	done
	# Prometheus answering 5xx through the proxy, then slow (3 s, the interval is 1 s).
	gauge series=1
	gauge 25
	wait_until 30 "good answers again" scale_is '.error == null'
	fault status=503
	wait_until 30 "the 503 to show" scale_is '.error | test("HTTP 503")'
	fault slow=3
	wait_until 30 "the slow answer to show" scale_is '.error | test("no answer within the interval")'
	scale_is '.target == 3' || fail "the last good target was not kept through 5xx and slowness"
	is_settled worker=3 words=1 || fail "containers changed while the queries failed"
	# Backoff: the delays the source chose, as it logs them, double from the interval while Prometheus fails
	# (answers that are not a number retried at the interval: 1.0 each).
	wait_until 60 "the backoff to reach 8 s" \
		grep -q "Scaling query force12_test_queue_depth failed [0-9]* times in a row, next in 8.0 s" "$T/agent.log"
	local delays
	delays=$(sed -n 's/.*Scaling query force12_test_queue_depth failed [0-9]* times in a row, next in \([0-9.]*\) s.*/\1/p' \
		"$T/agent.log" | tr '\n' ' ')
	figure metric_backoff_delays_s "$delays"
	[[ "$delays" == *" 2.0 4.0 8.0 "* ]] || fail "the backoff did not double: $delays"
	scale_is '.target == 3' || fail "the last good target was not kept through the backoff"
	# Recovery without a restart.
	fault pass
	gauge 55
	wait_until 90 "the rule to recover" scale_is '.error == null and .target == 6'
	wait_settled 60 worker=6 words=1
}

test_metric_bad_rule_refused_at_load() {
	local bad out rc
	for bad in '"per_container": 0, "max": 3:apps[0].scale.per_container' \
		'"per_container": 1, "min": 5, "max": 3:apps[0].scale.min' \
		'"per_container": 1, "max": 3, "maximum": 4:apps[0].scale.maximum'; do
		write_config "$T/agent.json" <<JSON
{"capacity": 9, "apps": [{"name": "worker", "image": "busybox:latest", "target": 2,
  "scale": {"prometheus": "http://127.0.0.1:9", "query": "up", ${bad%%:apps*}}}]}
JSON
		rc=0
		out=$("$AGENT_BIN" -c "$T/agent.json" --node-id "$NODE" --api-socket "$T/api.sock" --state-dir "$T/state" \
			--docker-socket "$ENGINE_SOCK" 2>&1) || rc=$?
		printf '%s\n' "$out" >>"${SANITIZER_LOG_DIR:-$T}/metric-bad-rule.log"
		[ "$rc" -eq 2 ] || fail "exit $rc for ${bad%%:apps*}"
		[ "$(echo "$out" | wc -l)" -eq 1 ] || fail "not one line: $out"
		echo "$out" | grep -qF "apps${bad##*:apps}:" || fail "the key is not named: $out"
	done
	[ "$(count '*' all)" -eq 0 ] || fail "a refused config started containers"
}

# The engine's own event stream, followed live (the engine keeps only its last 256 events for --since, and the
# engine is shared): "STARTS STOPS TARGET-CHANGES" of our containers while the metric flaps, into FLAP. Not run in a
# command substitution: start_agent's event recorder (lib.sh) would hold its pipe open.
FLAP=
flap_run() { # WINDOW
	local events=$T/events-$1 pid changes
	write_scaled_config "http://127.0.0.1:$PROM_PORT" "$1"
	gauge 45
	start_agent -c "$T/agent.json"
	wait_settled 60 worker=5
	# docker itself, not the dk function: $! must be the process the kill below ends (a subshell's child outlived it).
	docker -H "unix://$ENGINE_SOCK" events --filter type=container --filter "label=io.force12.agent=$NODE" \
		--format '{{.Action}}' >"$events" &
	pid=$!
	echo "$pid" >>"$T/pids"
	sleep 1
	changes=$(grep -c "Target of worker" "$T/agent.log" || true)
	gauge flap=5,45,2
	sleep $((20 * WAIT_FACTOR))
	gauge 45
	changes=$(($(grep -c "Target of worker" "$T/agent.log" || true) - changes))
	kill "$pid"
	wait "$pid" 2>/dev/null || true
	stop_agent
	FLAP="$(grep -cx start "$events" || true) $(grep -cx die "$events" || true) $changes"
	dk ps -aq --filter "label=io.force12.agent=$NODE" | xargs -r docker -H "unix://$ENGINE_SOCK" rm -f >/dev/null
	rm -rf "$T/state"
}

# The metric jumps between 5 (1 container) and 45 (5 containers) every 2 s for 20 s: with a 10 s window the target
# holds at 5 and no container starts or stops; without one the target follows the flapping (the counts are figures).
test_metric_flapping_held_by_window() {
	local with without
	setup_metrics
	flap_run 10
	with=$FLAP
	flap_run 0
	without=$FLAP
	figure metric_flap_20s_window_10s_starts_stops_target_changes "$with"
	figure metric_flap_20s_window_0s_starts_stops_target_changes "$without"
	[ "$with" = "0 0 0" ] || fail "containers moved on a flapping metric despite the window: $with"
	[ "${without##* }" -gt 2 ] || fail "without the window the target did not follow the flapping: $without"
}

# SIGHUP with a changed rule: the new rule takes over without a restart; a bad one keeps the running config.
test_metric_rule_reloaded_on_hup() {
	local pid
	setup_metrics
	gauge 25
	write_scaled_config "http://127.0.0.1:$PROM_PORT" 0
	start_agent -c "$T/agent.json"
	pid=$AGENT_PID
	wait_until 30 "the first target" scale_is '.target == 3'
	wait_settled 60 worker=3
	sed -i 's/"per_container": 10/"per_container": 5/' "$T/agent.json"
	kill -HUP "$pid"
	wait_until 30 "the reloaded rule" scale_is '.target == 5'
	wait_settled 60 worker=5
	sed -i 's/"per_container": 5/"per_container": 0/' "$T/agent.json"
	kill -HUP "$pid"
	wait_until 10 "the bad reload to be refused" grep -q "apps\[0\].scale.per_container: must be a number above 0; keeping the running config" "$T/agent.log"
	gauge 15
	wait_until 30 "the running rule to go on" scale_is '.target == 3 and .value == 15'
	wait_settled 60 worker=3
	kill -0 "$pid" || fail "the agent exited"
}
