# shellcheck shell=bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2153 # T, NODE, TOP come from lib.sh
# force12ctl against a running agent and the real engine: each command's output and exit status, bad input that
# changes nothing, an agent that is not there (exit 3), the TCP API with its token, help for every command.

# CTL_BIN comes from the Makefile (a sanitized build tests its own binary).
CTL=${CTL_BIN:-$TOP/build/force12ctl}
CTL_COMMANDS=(status get set containers watch metrics)

# run_ctl ARGS...: force12ctl on this test's agent; sets OUT, ERR and RC.
run_ctl() {
	run_ctl_raw --socket "$T/api.sock" "$@"
}

run_ctl_raw() {
	RC=0
	"$CTL" "$@" >"$T/ctl.out" 2>"$T/ctl.err" </dev/null || RC=$?
	OUT=$(cat "$T/ctl.out")
	ERR=$(cat "$T/ctl.err")
}

expect_rc() { # STATUS WHAT
	[ "$RC" -eq "$1" ] || fail "$2: exit status $RC, expected $1; stdout: $OUT; stderr: $ERR"
}

# cell HEADER-LINE ROW COLUMN: ROW's text under COLUMN, cut at the offsets of the header's column names. A
# value that does not start exactly under its header, or overflows into the next column, shows in the cut.
cell() {
	awk -v h="$1" -v row="$2" -v col="$3" 'BEGIN {
		n = split(h, names, / +/)
		from = 1
		for (i = 1; i <= n; i++) {
			pos[i] = index(substr(h, from), names[i]) + from - 1
			from = pos[i] + length(names[i])
		}
		for (i = 1; i <= n; i++)
			if (names[i] == col) {
				print substr(row, pos[i], i < n ? pos[i + 1] - pos[i] : length(row))
				exit
			}
		exit 1
	}'
}

# expect_row HEADER-LINE ROW COLUMN=REGEX...: each value stands under its column, padded with spaces only.
expect_row() {
	local header=$1 row=$2 spec col want got
	shift 2
	for spec in "$@"; do
		col=${spec%%=*}
		want=${spec#*=}
		got=$(cell "$header" "$row" "$col") || fail "no column $col in: $header"
		[[ $got =~ ^${want}\ *$ ]] || fail "column $col: '$got', expected '$want', in
$header
$row"
	done
}

line_starting() { # PREFIX: the first line of OUT that starts with PREFIX
	grep -m1 -- "^$1" <<<"$OUT" || fail "no line starting with '$1' in:
$OUT"
}


test_ctl_status_table() {
	start_agent --capacity 4 --target priority1=2 --target priority2=5
	wait_settled 60 priority1=2 priority2=2
	wait_until 10 "the agent to see what the engine runs" \
		sh -c "curl -s --unix-socket $T/api.sock http://x/v1/status | jq -e '[.apps[].running] == [2, 2]'"
	run_ctl status
	expect_rc 0 "status"
	local header
	line_starting "node $NODE, capacity 4, engine reachable (API [0-9.]*)$" >/dev/null
	header=$(line_starting APP)
	[[ $header =~ ^APP\ +PRIORITY\ +TARGET\ +ALLOCATED\ +RUNNING\ +STARTING\ +STOPPING\ +STANDBY\ +METRIC$ ]] ||
		fail "table header: $header"
	expect_row "$header" "$(line_starting 'priority1 ')" APP=priority1 PRIORITY=1 TARGET=2 ALLOCATED=2 RUNNING=2 \
		STARTING=0 STOPPING=0 STANDBY=0 METRIC=-
	expect_row "$header" "$(line_starting 'priority2 ')" APP=priority2 PRIORITY=2 TARGET=5 ALLOCATED=2 RUNNING=2 \
		STARTING=0 STOPPING=0 STANDBY=0 METRIC=-
	line_starting 'totals: started 4, stopped 0, removed 0, killed 0, failed 0' >/dev/null
	! grep -q '^error:' <<<"$OUT" || fail "an error is shown for healthy apps: $OUT"
	[ -z "$ERR" ] || fail "status wrote to stderr: $ERR"
}

test_ctl_status_shows_app_error() {
	write_config "$T/agent.json" <<'JSON'
{"capacity": 2, "apps": [{"name": "noimage", "image": "force12-test/missing:nope", "target": 1}]}
JSON
	start_agent -c "$T/agent.json"
	wait_until 30 "the error in /v1/status" sh -c \
		"curl -s --unix-socket $T/api.sock http://x/v1/status | jq -e '.apps[0].error != null'"
	local error
	error=$(status_field '.apps[0].error')
	run_ctl status
	expect_rc 0 "status with a failing app"
	grep -qxF "error: noimage: $error" <<<"$OUT" || fail "the app's error '$error' is not shown: $OUT"
}

# An app scaled on a Prometheus that is not there (a port nothing listens on): the status names the rule and its
# error, the METRIC column stays "-", and set refuses that app (409, exit 1) while it sets the others.
test_ctl_status_shows_scale_rule() {
	local port
	port=$(free_port)
	write_config "$T/agent.json" <<JSON
{"capacity": 2, "apps": [
 {"name": "worker", "image": "busybox:latest", "priority": 1,
  "scale": {"prometheus": "http://127.0.0.1:$port", "query": "sum(queue)", "per_container": 2, "max": 2,
            "interval": 1}},
 {"name": "other", "image": "busybox:latest", "priority": 2,
  "command": ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1 & wait \$!; done"]}]}
JSON
	start_agent -c "$T/agent.json"
	wait_until 30 "the rule's error in /v1/status" sh -c \
		"curl -s --unix-socket $T/api.sock http://x/v1/status | jq -e '.apps[0].scale.error != null and .apps[0].scale.failures >= 1'"
	run_ctl status
	expect_rc 0 "status with a scale rule"
	local header
	header=$(line_starting APP)
	expect_row "$header" "$(line_starting 'worker ')" APP=worker TARGET=0 METRIC=-
	line_starting 'scale: worker: sum(queue) = -, recommends -, target -; error: ' >/dev/null
	! grep -q '^scale: other' <<<"$OUT" || fail "a scale line for an app without a rule: $OUT"
	run_ctl set worker=2
	expect_rc 1 "set of an app a rule drives"
	[[ $ERR == *metric* || $ERR == *scale* ]] || fail "the refusal does not name the scale rule: $ERR"
	[ "$(status_field '.apps[0].target')" -eq 0 ] || fail "the refused set changed the target"
	run_ctl set other=1
	expect_rc 0 "set of the other app"
	[ "$(status_field '.apps[1].target')" -eq 1 ] || fail "the other app was not set"
	wait_settled 60 worker=0 other=1
}

test_ctl_get_and_set() {
	start_agent
	run_ctl get
	expect_rc 0 "get"
	[ "$OUT" = "$(api GET /v1/targets)" ] || fail "get printed '$OUT', the agent answers '$(api GET /v1/targets)'"
	[ "$OUT" = '{"priority1":0,"priority2":0}' ] || fail "get: $OUT"
	run_ctl set priority1=2 priority2=1
	expect_rc 0 "set"
	[ "$OUT" = '{"priority1":2,"priority2":1}' ] || fail "set printed: $OUT"
	wait_settled 60 priority1=2 priority2=1
	[ "$(api GET /v1/targets)" = '{"priority1":2,"priority2":1}' ] || fail "GET /v1/targets: $(api GET /v1/targets)"
	# Apps not named are left alone.
	run_ctl set priority2=0
	expect_rc 0 "set priority2=0"
	[ "$OUT" = '{"priority1":2,"priority2":0}' ] || fail "set priority2=0 printed: $OUT"
	wait_settled 60 priority1=2 priority2=0
	run_ctl get --pretty
	expect_rc 0 "get --pretty"
	[ "$(wc -l <<<"$OUT")" -gt 1 ] || fail "get --pretty is not indented: $OUT"
	jq -e '. == {"priority1": 2, "priority2": 0}' <<<"$OUT" >/dev/null || fail "get --pretty: $OUT"
	# Flags win over the environment.
	RC=0
	OUT=$(FORCE12_SOCKET=$T/nothing.sock FORCE12_URL=http://127.0.0.1:1 "$CTL" --socket "$T/api.sock" get) || RC=$?
	expect_rc 0 "--socket with FORCE12_SOCKET and FORCE12_URL set"
	[ "$OUT" = '{"priority1":2,"priority2":0}' ] || fail "get with the environment set: $OUT"
	RC=0
	OUT=$(FORCE12_SOCKET=$T/api.sock "$CTL" get) || RC=$?
	expect_rc 0 "get with FORCE12_SOCKET"
}

test_ctl_set_bad_input_changes_nothing() {
	start_agent --target priority1=1
	wait_settled 60 priority1=1 priority2=0
	local before want arg
	before=$(api GET /v1/targets)
	unchanged() { [ "$(api GET /v1/targets)" = "$before" ] || fail "$* changed the targets: $(api GET /v1/targets)"; }

	# Refused by the agent: exit 1, the agent's own message.
	want=$(api PUT /v1/targets '{"nosuchapp": 1}' | jq -r .error)
	[[ -n $want && $want != null ]] || fail "the agent gave no error for an unknown app"
	run_ctl set nosuchapp=1
	expect_rc 1 "set nosuchapp=1"
	[ "$ERR" = "force12ctl: $want" ] || fail "set nosuchapp=1 printed '$ERR', the agent says '$want'"
	[ -z "$OUT" ] || fail "set nosuchapp=1 printed on stdout: $OUT"
	unchanged set nosuchapp=1
	run_ctl set priority1=3 nosuchapp=1
	expect_rc 1 "set priority1=3 nosuchapp=1"
	unchanged set priority1=3 nosuchapp=1
	want=$(api PUT /v1/targets '{"priority1": 1000001}' | jq -r .error)
	run_ctl set priority1=1000001
	expect_rc 1 "set priority1=1000001"
	[ "$ERR" = "force12ctl: $want" ] || fail "set priority1=1000001 printed '$ERR', the agent says '$want'"
	unchanged set priority1=1000001

	# Refused here: exit 2, nothing sent, even when an earlier argument is fine.
	for arg in foo a=-1 priority1=-1 priority1= =3 priority1=1.5 priority1=+3 'priority1= 3' priority1=3x \
		priority1=99999999999999999999; do
		run_ctl set priority1=3 "$arg"
		expect_rc 2 "set priority1=3 '$arg'"
		grep -q "^force12ctl: set $arg: " <<<"$ERR" || fail "set '$arg': the error does not name it: $ERR"
		[ -z "$OUT" ] || fail "set '$arg' printed on stdout: $OUT"
		unchanged "set priority1=3 '$arg'"
	done
	run_ctl set priority1=3 priority1=4
	expect_rc 2 "set priority1=3 priority1=4"
	grep -q 'twice' <<<"$ERR" || fail "a duplicate app is not named as such: $ERR"
	unchanged set priority1=3 priority1=4
	run_ctl set
	expect_rc 2 "set without arguments"
	sleep 1
	is_settled priority1=1 priority2=0 || fail "the engine changed"
}

test_ctl_containers() {
	start_agent --target priority1=2 --target priority2=1
	wait_settled 60 priority1=2 priority2=1
	wait_until 10 "the agent to see its containers running" sh -c \
		"curl -s --unix-socket $T/api.sock http://x/v1/containers | jq -e '[.[] | select(.state == \"running\")] | length == 3'"
	run_ctl containers
	expect_rc 0 "containers"
	local header rows id name app
	header=$(head -n1 <<<"$OUT")
	[[ $header =~ ^ID\ +NAME\ +APP\ +STATE\ +STARTED$ ]] || fail "containers header: $header"
	rows=$(tail -n +2 <<<"$OUT")
	[ "$(awk '{print $1}' <<<"$rows" | sort | tr '\n' ' ')" = \
		"$(dk ps -q --filter "label=io.force12.agent=$NODE" | sort | tr '\n' ' ')" ] ||
		fail "the ids differ from docker ps: $OUT"
	while read -r id name app; do
		expect_row "$header" "$(grep -m1 "^$id " <<<"$rows")" "ID=$id" "NAME=$name" "APP=$app" STATE=running \
			'STARTED=[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z'
	done < <(dk ps --filter "label=io.force12.agent=$NODE" --format '{{.ID}} {{.Names}} {{.Label "io.force12.app"}}')
	# Sorted by app, then name.
	[ "$(awk '{print $3, $2}' <<<"$rows")" = "$(awk '{print $3, $2}' <<<"$rows" | sort)" ] || fail "not sorted: $OUT"
}

test_ctl_metrics() {
	start_agent --target priority1=1
	wait_settled 60 priority1=1 priority2=0
	wait_until 10 "the running gauge" sh -c \
		"curl -s --unix-socket $T/api.sock http://x/metrics | grep -q '^force12_app_running{app=\"priority1\"} 1$'"
	run_ctl metrics
	expect_rc 0 "metrics"
	grep -q '^force12_app_running{app="priority1"} 1$' <<<"$OUT" || fail "metrics lack the running gauge: $OUT"
	grep -q '^# TYPE force12_app_running gauge$' <<<"$OUT" || fail "metrics lack their TYPE lines"
}

test_ctl_watch_count() {
	start_agent --target priority1=1
	wait_settled 60 priority1=1 priority2=0
	wait_until 10 "the agent to count it running" status_is '.apps[0].running == 1'
	run_ctl watch --count 2 --interval 0.2
	expect_rc 0 "watch --count 2"
	[ "$(grep -c "^node $NODE, " <<<"$OUT")" -eq 2 ] || fail "watch --count 2 did not print two tables: $OUT"
	[ "$(grep -c '^priority1  *1  *1  *1  *1 ' <<<"$OUT")" -eq 2 ] || fail "watch tables lack priority1: $OUT"
	! grep -q $'\e' <<<"$OUT" || fail "escape sequences written to a file"
	# The agent goes away in the middle: watch keeps going and says why; its status is the last refresh's.
	stop_agent TERM
	run_ctl watch --count 2 --interval 0.2
	expect_rc 3 "watch without an agent"
	[ "$(grep -c 'agent not reachable' <<<"$ERR")" -eq 2 ] || fail "watch without an agent: $ERR"
}

test_ctl_watch_on_a_terminal() {
	command -v script >/dev/null || {
		fail "script (util-linux) is not installed"
	}
	start_agent
	script -qec "$CTL --socket $T/api.sock watch --count 3 --interval 0.2" /dev/null >"$T/tty.out" </dev/null ||
		fail "watch on a terminal failed: $(cat -v "$T/tty.out")"
	[ "$(grep -o $'\e\\[H' "$T/tty.out" | wc -l)" -eq 3 ] || fail "not three redraws from home: $(cat -v "$T/tty.out")"
	[ "$(grep -o $'\e\\[J' "$T/tty.out" | wc -l)" -eq 3 ] || fail "the screen is not cleared below: $(cat -v "$T/tty.out")"
	grep -q $'^APP .*\e\\[K' "$T/tty.out" || fail "lines are not cleared to their end: $(cat -v "$T/tty.out")"
}

test_ctl_watch_stops_on_signal() {
	start_agent
	# Without job control a background job ignores SIGINT; SIGTERM takes the same path in force12ctl.
	"$CTL" --socket "$T/api.sock" watch --interval 0.2 >"$T/watch.out" 2>&1 &
	local pid=$! rc=0 guard
	wait_until 10 "the first table" grep -q '^APP' "$T/watch.out"
	kill -TERM "$pid"
	(
		sleep $((5 * WAIT_FACTOR))
		kill -KILL "$pid"
	) 2>/dev/null &
	guard=$!
	wait "$pid" || rc=$?
	kill "$guard" 2>/dev/null || true
	[ "$rc" -ne 137 ] || fail "watch did not stop within 5 s of SIGTERM"
	[ "$rc" -eq 0 ] || fail "watch stopped by a signal exited $rc: $(cat "$T/watch.out")"
}

test_ctl_agent_unreachable() {
	local c args
	for c in "${CTL_COMMANDS[@]}"; do
		args=("$c")
		[ "$c" = set ] && args+=(priority1=1)
		[ "$c" = watch ] && args+=(--count 1)
		run_ctl_raw --socket "$T/nothing.sock" "${args[@]}"
		expect_rc 3 "$c without an agent"
		[ "$ERR" = "force12ctl: agent not reachable at $T/nothing.sock: is force12-agent running? (connect: No such file or directory)" ] ||
			fail "$c without an agent said: $ERR"
	done
	RC=0
	ERR=$(FORCE12_SOCKET=$T/nothing.sock "$CTL" status 2>&1) || RC=$?
	expect_rc 3 "FORCE12_SOCKET with nothing there"
	grep -qF "at $T/nothing.sock:" <<<"$ERR" || fail "FORCE12_SOCKET is not used: $ERR"
	# A crashed agent leaves its socket behind: refused, not missing.
	start_agent
	stop_agent KILL
	[ -S "$T/api.sock" ] || fail "no stale socket to test with"
	run_ctl status
	expect_rc 3 "status with a stale socket"
	grep -qF "agent not reachable at $T/api.sock: is force12-agent running? (connect: Connection refused)" <<<"$ERR" ||
		fail "a stale socket said: $ERR"
	run_ctl_raw --url "http://127.0.0.1:$(free_port)" status
	expect_rc 3 "--url with nothing listening"
	grep -q 'agent not reachable at http://127.0.0.1:[0-9]*: .*Connection refused' <<<"$ERR" || fail "--url said: $ERR"
}

test_ctl_tcp_token() {
	local port url token_file=$T/token
	port=$(free_port)
	url=http://127.0.0.1:$port
	echo "s3cret-token-0123456789" >"$token_file"
	start_agent --listen "127.0.0.1:$port" --token-file "$token_file"
	run_ctl_raw --url "$url" get
	expect_rc 1 "--url without a token"
	grep -q '^force12ctl: missing or wrong bearer token' <<<"$ERR" || fail "no token: $ERR"
	grep -q -- '--token-file' <<<"$ERR" || fail "no token: does not say to use --token-file: $ERR"
	echo wrong-token-wrong-token >"$T/wrong"
	run_ctl_raw --url "$url" --token-file "$T/wrong" set priority1=1
	expect_rc 1 "--url with a wrong token"
	[ "$(api GET /v1/targets | jq .priority1)" -eq 0 ] || fail "a wrong token changed the targets"
	run_ctl_raw --url "$url/" --token-file "$token_file" set priority1=1
	expect_rc 0 "--url with the token"
	[ "$OUT" = '{"priority1":1,"priority2":0}' ] || fail "set over TCP printed: $OUT"
	wait_settled 60 priority1=1 priority2=0
	RC=0
	OUT=$(FORCE12_URL=$url FORCE12_TOKEN_FILE=$token_file "$CTL" get) || RC=$?
	expect_rc 0 "FORCE12_URL and FORCE12_TOKEN_FILE"
	[ "$OUT" = '{"priority1":1,"priority2":0}' ] || fail "get from the environment: $OUT"
	run_ctl_raw --socket "$T/api.sock" --token-file "$token_file" get
	expect_rc 2 "--token-file with --socket"
	run_ctl_raw --socket "$T/api.sock" --url "$url" get
	expect_rc 2 "--socket and --url"
	run_ctl_raw --url "ftp://127.0.0.1:$port" get
	expect_rc 2 "an ftp URL"
}

test_ctl_help_and_usage() {
	local c help
	run_ctl_raw --help
	expect_rc 0 "--help"
	help=$OUT
	for c in "${CTL_COMMANDS[@]}"; do
		grep -q "^  $c " <<<"$help" || fail "--help does not list $c"
		run_ctl_raw "$c" --help
		expect_rc 0 "$c --help"
		grep -q "^Usage: force12ctl .* $c" <<<"$OUT" || fail "$c --help: $OUT"
		run_ctl_raw help "$c"
		expect_rc 0 "help $c"
	done
	run_ctl_raw --version
	expect_rc 0 "--version"
	grep -q '^force12ctl [0-9]' <<<"$OUT" || fail "--version: $OUT"
	run_ctl_raw
	expect_rc 2 "no command"
	run_ctl_raw frobnicate
	expect_rc 2 "an unknown command"
	run_ctl_raw --frobnicate status
	expect_rc 2 "an unknown option"
	run_ctl_raw status extra
	expect_rc 2 "status with an argument"
	run_ctl_raw status --interval 2
	expect_rc 2 "--interval with status"
	run_ctl_raw watch --interval 0
	expect_rc 2 "--interval 0"
	run_ctl_raw watch --count -1
	expect_rc 2 "--count -1"
}

# complete LINE: what bash completion (completion/force12ctl.bash with Debian's bash-completion) offers for LINE,
# the cursor at its end, one candidate a line. force12ctl is this build's.
complete_line() {
	local line=$1
	PATH="$(dirname "$CTL"):$PATH" LINE="$line" COMPLETION="$TOP/completion/force12ctl.bash" bash --norc -c '
		. /usr/share/bash-completion/bash_completion
		. "$COMPLETION"
		read -ra COMP_WORDS <<<"$LINE"
		[[ $LINE == *" " ]] && COMP_WORDS+=("")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		COMP_LINE=$LINE
		COMP_POINT=${#LINE}
		_force12ctl force12ctl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
		printf "%s\n" "${COMPREPLY[@]}"' 2>"$T/complete.err"
}

# Bash completion of a command, a command's option and, after `set`, the app names the agent reports: apps
# of this test's config, not the default ones, so that they can only come from the agent.
test_ctl_bash_completion() {
	[ -f /usr/share/bash-completion/bash_completion ] || {
		fail "needs bash-completion (apt-get install bash-completion)"
	}
	write_config "$T/agent.json" <<'JSON'
{"capacity": 2, "apps": [
  {"name": "web-front", "image": "busybox:latest", "command": ["sleep", "3600"]},
  {"name": "batch", "image": "busybox:latest", "command": ["sleep", "3600"]}]}
JSON
	start_agent -c "$T/agent.json"
	local got
	got=$(complete_line "force12ctl sta")
	[ "$got" = status ] || fail "'force12ctl sta<TAB>' offers '$got', expected status"
	got=$(complete_line "force12ctl get --pr")
	[ "$got" = --pretty ] || fail "'force12ctl get --pr<TAB>' offers '$got', expected --pretty"
	got=$(complete_line "force12ctl --socket $T/api.sock set w")
	[ "$got" = web-front= ] || fail "'set w<TAB>' offers '$got', expected web-front= (stderr: $(cat "$T/complete.err"))"
	got=$(complete_line "force12ctl --socket $T/api.sock set " | sort | tr '\n' ' ')
	[ "$got" = "batch= web-front= " ] || fail "'set <TAB>' offers '$got', expected the agent's apps batch= web-front="
	# With the agent gone there is nothing to offer, and no error on the terminal.
	stop_agent TERM
	got=$(complete_line "force12ctl --socket $T/api.sock set ")
	[ -z "$got" ] || fail "'set <TAB>' with no agent offers '$got'"
	[ ! -s "$T/complete.err" ] || fail "completion wrote to the terminal: $(cat "$T/complete.err")"
}
