# shellcheck shell=bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2153 # T, NODE, TOP, WAIT_FACTOR come from lib.sh
# The dashboard page (web/dashboard.html, served at GET /) in headless Chromium against a real agent and the
# real engine: no console errors, the apps shown, the numbers following a change of targets, the banner when the
# agent goes away. tests/dashboard/dashboard-test.mjs drives Debian's chromium with playwright-core from npm.
# Screenshots: build/dashboard.png (running) and build/dashboard-down.png (agent stopped).

DASH_DIR=$TOP/tests/dashboard

# chromium, node and npm from Debian when missing (a node that came with the machine will do), then the npm
# packages of tests/dashboard from its lock file.
dashboard_prereqs() {
	local missing=()
	[ -x /usr/bin/chromium ] || missing+=(chromium)
	command -v node >/dev/null || missing+=(nodejs)
	command -v npm >/dev/null || missing+=(npm)
	if [ ${#missing[@]} -gt 0 ]; then
		if [ "$(id -u)" -ne 0 ]; then
			fail "needs ${missing[*]}: run as root or install them"
		fi
		echo "installing ${missing[*]}" >&2
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"; } >&2 ||
			fail "apt-get install ${missing[*]} failed"
	fi
	if [ ! -f "$DASH_DIR/node_modules/playwright-core/package.json" ]; then
		(cd "$DASH_DIR" && npm ci --no-audit --no-fund) >&2 || fail "npm ci in tests/dashboard failed"
	fi
}

# The page driver runs in the background and says what it sees in $T/page.out, a line a step.
PAGE_PID=

page_done() { # MARKER: the driver printed MARKER, or it is no longer running
	grep -q "^$1" "$T/page.out" || ! kill -0 "$PAGE_PID" 2>/dev/null
}

page_wait() { # MARKER SECONDS
	wait_until "$2" "the page driver to say '$1'" page_done "$1"
	grep -q "^$1" "$T/page.out" || page_fail "the page driver stopped before it said '$1'"
}

page_fail() {
	{
		echo "    --- the page driver said:"
		sed 's/^/    | /' "$T/page.out" "$T/page.err"
	} >&2
	fail "$@"
}

# Ends the driver (and its Chromium) before lib.sh's cleanup, keeping the test's exit status.
dashboard_cleanup() {
	local rc=$?
	set +e
	if [ -n "$PAGE_PID" ]; then
		kill -TERM "$PAGE_PID" 2>/dev/null
		wait "$PAGE_PID" 2>/dev/null
	fi
	(exit "$rc")
	cleanup
}

test_dashboard() {
	local port url limit
	dashboard_prereqs
	port=$(free_port)
	url="http://127.0.0.1:$port/"
	start_agent --listen "127.0.0.1:$port" --capacity 4
	curl -sf "$url" | grep -q '<canvas id="chart"' || fail "GET $url is not the dashboard page"
	mkdir -p "$TOP/build"
	rm -f "$TOP/build/dashboard.png" "$TOP/build/dashboard-down.png"

	limit=$((30 * WAIT_FACTOR))
	trap dashboard_cleanup EXIT
	node "$DASH_DIR/dashboard-test.mjs" "$url" "$TOP/build/dashboard.png" --timeout "$limit" \
		--expect priority1.target=2,priority1.running=2,priority2.target=5,priority2.allocated=2,priority2.running=2 \
		--down-screenshot "$TOP/build/dashboard-down.png" --profile "$T/chromium" \
		>"$T/page.out" 2>"$T/page.err" &
	PAGE_PID=$!

	page_wait loaded 90
	grep -q "^loaded node=$NODE apps=priority1,priority2$" "$T/page.out" ||
		page_fail "the page does not show node $NODE with apps priority1,priority2"
	grep -q '^app priority1 target=0 allocated=0 running=0 ' "$T/page.out" ||
		page_fail "the page does not show priority1 at 0"

	# priority1 gets its 2; priority2 asks for 5 and gets the 2 left of the capacity of 4.
	set_targets '{"priority1": 2, "priority2": 5}'
	page_wait matched $((limit + 30))
	wait_settled 60 priority1=2 priority2=2

	page_wait stop-agent 30
	stop_agent TERM
	page_wait banner $((limit + 30))
	page_wait ok 30
	local rc=0
	wait "$PAGE_PID" || rc=$?
	PAGE_PID=
	[ "$rc" -eq 0 ] || page_fail "the page driver failed (exit $rc)"
	[ -s "$TOP/build/dashboard.png" ] || fail "no screenshot in build/dashboard.png"
	sed 's/^/    | /' "$T/page.out" >&2
}

# shellcheck disable=SC2016 # a jq program
history_shows_priority1_at_0() { # URL
	curl -sf "${1}v1/history" |
		json_check '(.apps | index("priority1")) as $i | .samples[-1] | .target[$i] == 0 and .running[$i] == 0'
}

# shellcheck disable=SC2016 # $i is jq's
history_has_2_samples_of_priority1_at_3() { # URL
	curl -sf "${1}v1/history" |
		json_check '(.apps | index("priority1")) as $i | [.samples[] | select(.target[$i] == 3 and .running[$i] == 3)] | length >= 2'
}

# A page opened after a burst of demand draws it at once, from the agent's history (GET /v1/history): priority1
# goes to 3 and back to 0 before the page is opened, so only the history can show it.
test_dashboard_history() {
	local port url limit rc=0
	dashboard_prereqs
	port=$(free_port)
	url="http://127.0.0.1:$port/"
	start_agent --listen "127.0.0.1:$port" --capacity 4
	set_targets '{"priority1": 3}'
	wait_settled 60 priority1=3 priority2=0
	wait_until 10 "two history samples of priority1 at 3" history_has_2_samples_of_priority1_at_3 "$url"
	set_targets '{"priority1": 0}'
	wait_settled 60 priority1=0 priority2=0

	# The API's own record of the burst: samples with target and running 3, then (a sample later) 0 again.
	wait_until 10 "a history sample of priority1 back at 0" history_shows_priority1_at_0 "$url"
	curl -sf "${url}v1/history" >"$T/history.json" || fail "GET /v1/history failed"
	jq -e '.interval_ms > 0 and (.now | type) == "number" and (.apps | index("priority1")) != null' \
		"$T/history.json" >/dev/null || fail "GET /v1/history: $(head -c 300 "$T/history.json")"
	jq -e '(.apps | index("priority1")) as $i | [.samples[] | select(.target[$i] == 3 and .running[$i] == 3)]
		| length >= 2' "$T/history.json" >/dev/null ||
		fail "the history has no samples of priority1 running 3: $(head -c 600 "$T/history.json")"
	figure history_samples_after_burst "$(jq '.samples | length' "$T/history.json")"

	limit=$((30 * WAIT_FACTOR))
	trap dashboard_cleanup EXIT
	node "$DASH_DIR/dashboard-test.mjs" "$url" "$TOP/build/dashboard-history.png" --timeout "$limit" \
		--history priority1=3 --profile "$T/chromium" >"$T/page.out" 2>"$T/page.err" &
	PAGE_PID=$!
	page_wait ok 90
	wait "$PAGE_PID" || rc=$?
	PAGE_PID=
	[ "$rc" -eq 0 ] || page_fail "the page driver failed (exit $rc)"
	grep -q '^history priority1 ' "$T/page.out" || page_fail "the page driver did not check the history"
	sed 's/^/    | /' "$T/page.out" >&2
}

# A stand-in for Prometheus on loopback: every instant query answers VALUE (one series). Writes its port to FILE.
fake_prometheus() { # FILE VALUE
	python3 - "$1" "$2" <<'PY' &
import http.server, json, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"status": "success", "data": {"resultType": "vector",
                           "result": [{"metric": {}, "value": [0, sys.argv[2]]}]}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
open(sys.argv[1] + ".tmp", "w").write(str(s.server_port))
import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
s.serve_forever()
PY
	echo $! >>"$T/pids"
	wait_until 10 "the stand-in Prometheus to listen" test -s "$1"
}

# An app scaled on a metric: the page draws the rule's dotted line beside demand without a console error and shows
# the target the rule set (7 / 5 per container -> 2).
test_dashboard_scale_rule() {
	local port url limit rc=0
	dashboard_prereqs
	fake_prometheus "$T/prom.port" 7
	write_config "$T/agent.json" <<JSON
{"capacity": 3, "apps": [
 {"name": "worker", "image": "busybox:latest", "priority": 1,
  "command": ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1 & wait \$!; done"],
  "scale": {"prometheus": "http://127.0.0.1:$(cat "$T/prom.port")", "query": "sum(queue)", "per_container": 5,
            "max": 3, "interval": 1}},
 {"name": "other", "image": "busybox:latest", "priority": 2,
  "command": ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1 & wait \$!; done"]}]}
JSON
	port=$(free_port)
	url="http://127.0.0.1:$port/"
	start_agent -c "$T/agent.json" --listen "127.0.0.1:$port"
	wait_until 30 "the rule's first value" sh -c \
		"curl -s --unix-socket $T/api.sock http://x/v1/status | jq -e '.apps[0].scale.recommendation == 2'"
	limit=$((30 * WAIT_FACTOR))
	trap dashboard_cleanup EXIT
	node "$DASH_DIR/dashboard-test.mjs" "$url" "$TOP/build/dashboard-scale.png" --timeout "$limit" \
		--expect worker.target=2,worker.running=2,other.target=0 --profile "$T/chromium" \
		>"$T/page.out" 2>"$T/page.err" &
	PAGE_PID=$!
	page_wait ok $((limit + 60))
	wait "$PAGE_PID" || rc=$?
	PAGE_PID=
	[ "$rc" -eq 0 ] || page_fail "the page driver failed (exit $rc)"
	grep -q '^matched ' "$T/page.out" || page_fail "the page did not show the rule's target"
	wait_settled 60 worker=2 other=0
}
