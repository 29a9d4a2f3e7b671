# shellcheck shell=bash
# SPDX-License-Identifier: Apache-2.0
# The comparison (make compare) in short, against the real engine and the real Amazon ECS Agent (built once per
# machine by scripts/third-party.sh) behind the local control plane (compare/ecs-plane). Asserts behaviour, never
# timing: with its defaults the ECS Agent keeps every container it stopped; a container that ignores SIGTERM exits
# 137, SIGKILLed only after the stop timeout, under both; force12 leaves no stopped container; every demand change
# reached the agent as a payload that it acknowledged, and the agent did what the payloads said; nothing of a run
# is left. Also: the control plane's scheduler (unit tests), an agent that exits or never connects, bad input, and
# a run that overlaps an engine restart (on the test's own engine).

csv_rows() { # FILE KIND: the rows of that kind
	awk -F, -v k="$2" '$2 == k' "$1"
}

# The last "stopped" sample of a CSV.
last_stopped() {
	csv_rows "$1" stopped | tail -n 1 | cut -d, -f5
}

# Stopped samples never go down, none is over the dies seen before it, and the last one counts every die up to a
# second before it (the sample's list may have started a moment before a die).
keeps_stopped() { # CSV
	awk -F, '
		$2 == "die" { die[++n] = $1 }
		$2 == "stopped" { t[++m] = $1; v[m] = $5 }
		END {
			if (n == 0) { print "no stop at all"; exit 1 }
			for (i = 1; i <= m; i++) {
				if (i > 1 && v[i] < v[i - 1]) { print "stopped went down at " t[i]; exit 1 }
				before = 0; settled = 0
				for (j = 1; j <= n; j++) { if (die[j] <= t[i]) before++; if (die[j] <= t[i] - 1) settled++ }
				if (v[i] > before || v[i] < settled) { print "stopped " v[i] " at " t[i] " against " settled ".." before " dies"; exit 1 }
			}
		}' "$1"
}

# Every die was SIGKILLed (a kill 9 before it) no sooner than TIMEOUT - 0.5 s after the container's first SIGTERM:
# the system waited out its stop timeout. Prints the first container that breaks it.
killed_after_timeout() { # CSV TIMEOUT_SECONDS
	awk -F, -v limit="$2" '
		$2 == "kill" && $5 == 15 && !($4 in term) { term[$4] = $1 }
		$2 == "kill" && $5 == 9 { k9[$4] = $1 }
		$2 == "die" {
			n++
			if (!($4 in term)) { print $4 " died without a SIGTERM first"; exit 1 }
			if (!($4 in k9)) { print $4 " died without a SIGKILL"; exit 1 }
			if (k9[$4] - term[$4] < limit - 0.5) { print $4 " SIGKILLed " k9[$4] - term[$4] " s after SIGTERM"; exit 1 }
		}
		END { if (n == 0) { print "no die at all"; exit 1 } }' "$1"
}

group_gone() { # PGID: no process of that group is left
	[ -z "$(ps -eo pgid= | awk -v g="$1" '$1 == g')" ]
}

skip_under_sanitizers() {
	if [ -n "${SANITIZE:-}" ] || ldd "$AGENT_BIN" 2>/dev/null | grep -q libasan; then
		skip "sanitizer run: the comparison runs once, in the plain pass"
	fi
}

test_compare_plane_scheduler() {
	(cd "$TOP/compare/ecs-plane" && /usr/bin/python3 -m unittest -q test_scheduler 2>"$T/unittest.log") || {
		sed 's/^/    | /' "$T/unittest.log" >&3
		fail "the control plane's scheduler unit tests failed"
	}
	grep -qE '^Ran [1-9][0-9]* tests?' "$T/unittest.log" || fail "no scheduler test ran"
}

test_compare_real_ecs_agent() {
	skip_under_sanitizers
	command -v gnuplot >/dev/null || fail "gnuplot is missing (scripts/setup-host.sh --test installs gnuplot-nox)"
	local out=$T/compare ecs=$T/compare/ecs-plain.csv f12=$T/compare/force12-plain.csv ev=$T/compare/ecs-plain.events
	local row changes f
	# Changes at 0, 3 and 6 s (seed 2015: 5/4, 4/5, 1/8): four stops under each system. The ECS Agent with its
	# defaults: stop timeout 30 s, cleanup wait 3 h; its tail is then 40 s.
	env -u ECS_CONTAINER_STOP_TIMEOUT -u ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION DURATION=9 TAIL=5 SEED=2015 \
		FORCE12_STOP_TIMEOUT=2 SYSTEMS="force12 ecs" VARIANTS=plain RUN_PREFIX="$NODE" \
		bash "$TOP/compare/compare.sh" "$out" 2>"$T/compare.log" || {
		sed 's/^/    | /' "$T/compare.log" >&3
		fail "compare.sh failed"
	}

	# The report's structure.
	for f in report.md report.png report.gp force12-plain.csv ecs-plain.csv ecs-plain.events; do
		[ -s "$out/$f" ] || fail "$f is missing or empty"
	done
	[ "$(head -c 8 "$out/report.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || fail "report.png is not a PNG"
	grep -qF '| | force12 (no trap) | ECS Agent, defaults (no trap) |' "$out/report.md" ||
		fail "report.md lacks the side-by-side header"
	for row in "demand changes" "time to target, p50" "stop took, max" "exits: clean (0, 143) / killed (137) / other" \
		"stopped containers at the end" "engine list latency, start → end" "tracking error" \
		"own memory (peak RSS)" "own CPU time (user + system)"; do
		[ "$(grep -cF "| $row |" "$out/report.md")" -eq 1 ] || fail "report.md lacks the row \"$row\""
		[ "$(grep -F "| $row |" "$out/report.md" | tr -cd '|' | wc -c)" -eq 4 ] || fail "row \"$row\" has not 2 cells"
	done
	grep -F '| own memory (peak RSS) |' "$out/report.md" | grep -qE '\| [0-9.]+ MiB \| [0-9.]+ MiB \|' ||
		fail "the own-memory row lacks a figure: $(grep -F '| own memory' "$out/report.md")"
	grep -q 'real Amazon ECS Agent 1\.73\.1' "$out/report.md" || fail "report.md does not name the real agent's version"
	grep -q 'ECS_CONTAINER_STOP_TIMEOUT=30s' "$out/report.md" || fail "report.md does not give the default stop timeout"
	grep -q 'What stands in for AWS' "$out/report.md" || fail "report.md does not describe the local control plane"
	grep -qi 'emulation' "$out/report.md" && fail "report.md still speaks of an emulation"

	# Every demand change reached the real agent as a payload, and the agent acknowledged each one.
	changes=$("$TOP/build/force12-trace" --seed 2015 --duration 9 | wc -l)
	[ "$(jq -s '[.[] | select(.event == "demand")] | length' "$ev")" -eq "$changes" ] ||
		fail "the plane got $(jq -s '[.[] | select(.event == "demand")] | length' "$ev") demand changes, not $changes"
	jq -se '[.[] | select(.event == "demand" and .messageId == null)] | length == 0' "$ev" >/dev/null ||
		fail "a demand change made no payload"
	jq -se '([.[] | select(.event == "demand") | .messageId] - [.[] | select(.event == "ack") | .messageId]) == []' \
		"$ev" >/dev/null || fail "payloads never acknowledged: $(jq -sc '[.[] | select(.event == "demand") | .messageId] - [.[] | select(.event == "ack") | .messageId]' "$ev")"
	# ... and did what they said: one container start per task sent RUNNING, one exit per task sent STOPPED.
	[ "$(csv_rows "$ecs" start | wc -l)" -eq "$(jq -s '[.[] | select(.event == "payload") | .tasks[] | select(.desired == "RUNNING")] | length' "$ev")" ] ||
		fail "the agent started $(csv_rows "$ecs" start | wc -l) containers for $(jq -s '[.[] | select(.event == "payload") | .tasks[] | select(.desired == "RUNNING")] | length' "$ev") tasks"
	[ "$(csv_rows "$ecs" die | wc -l)" -eq "$(jq -s '[.[] | select(.event == "payload") | .tasks[] | select(.desired == "STOPPED")] | length' "$ev")" ] ||
		fail "the agent stopped $(csv_rows "$ecs" die | wc -l) containers for $(jq -s '[.[] | select(.event == "payload") | .tasks[] | select(.desired == "STOPPED")] | length' "$ev") tasks"

	# With its defaults the ECS Agent keeps every container it stopped; force12 stopped some and left none.
	[ "$(csv_rows "$ecs" destroy | wc -l)" -eq 0 ] || fail "the ECS Agent removed containers within its 3 h cleanup wait"
	f=$(keeps_stopped "$ecs") || fail "ECS Agent: $f"
	[ "$(last_stopped "$ecs")" -eq "$(csv_rows "$ecs" die | wc -l)" ] || fail "the ECS Agent's stopped count is not its dies"
	[ "$(csv_rows "$f12" die | wc -l)" -ge 1 ] || fail "force12 stopped nothing: the run tested nothing"
	[ "$(last_stopped "$f12")" = 0 ] || fail "force12 left $(last_stopped "$f12") stopped containers"

	# The container that ignores SIGTERM exits 137 under both, SIGKILLed only after each one's stop timeout.
	for f in "$ecs" "$f12"; do
		[ "$(csv_rows "$f" die | cut -d, -f5 | sort -u)" = 137 ] ||
			fail "$(basename "$f") exits: $(csv_rows "$f" die | cut -d, -f5 | sort | uniq -c | tr '\n' ' ')"
	done
	f=$(killed_after_timeout "$ecs" 30) || fail "ECS Agent: $f"
	f=$(killed_after_timeout "$f12" 2) || fail "force12: $f"

	# Nothing of the runs is left: no container, no agent on its ports.
	[ "$(dk ps -aq --filter "label=io.force12.agent=$NODE-force12-plain" | wc -l)" -eq 0 ] || fail "containers of force12 are left"
	[ "$(dk ps -aq --filter "label=io.force12.ecs=$NODE-ecs-plain" | wc -l)" -eq 0 ] || fail "containers of the ECS run are left"
	[ "$(dk ps -aq --filter "label=com.amazonaws.ecs.cluster=$NODE-ecs-plain" | wc -l)" -eq 0 ] || fail "ECS task containers are left"
	! ss -Hltn 'sport = :51678' | grep -q . || fail "something still listens on 51678 after the run"
	figure compare_ecs_default_time_to_target_p50 "$(grep -F '| time to target, p50 |' "$out/report.md" | cut -d'|' -f3- | tr -s ' ')"
	figure compare_own_rss "$(grep -F '| own memory (peak RSS) |' "$out/report.md" | cut -d'|' -f3- | tr -s ' ')"
}

test_compare_faults_and_bad_input() {
	skip_under_sanitizers
	local out=$T/faults rc
	# Bad input: a clear line, exit 2, nothing run.
	for bad in "DURATION=x" "ECS_CONTAINER_STOP_TIMEOUT=30" "SYSTEMS=ecs2" "RUN_PREFIX=Bad!"; do
		rc=0
		env "$bad" bash "$TOP/compare/compare.sh" "$out" 2>"$T/bad.log" || rc=$?
		[ "$rc" -eq 2 ] || fail "$bad: exit $rc, not 2"
		[ "$(wc -l <"$T/bad.log")" -eq 1 ] || fail "$bad: not one line: $(cat "$T/bad.log")"
	done
	# An ECS Agent that exits at once: a clear message with its last lines, exit 1, no container left.
	printf '#!/bin/sh\necho "agent: cannot start, said the fake agent" >&2\nexit 5\n' >"$T/exits"
	printf '#!/bin/sh\necho "agent: waiting forever, said the fake agent" >&2\necho $$ >"%s"\nexec sleep 600\n' "$T/hangs.pid" >"$T/hangs"
	chmod +x "$T/exits" "$T/hangs"
	rc=0
	ECS_AGENT_BIN=$T/exits SYSTEMS=ecs VARIANTS=plain DURATION=3 RUN_PREFIX="$NODE-x" \
		bash "$TOP/compare/compare.sh" "$out" 2>"$T/exits.log" || rc=$?
	[ "$rc" -eq 1 ] || fail "an exiting ECS Agent: exit $rc, not 1"
	grep -q 'exited before it connected' "$T/exits.log" || fail "no clear message: $(cat "$T/exits.log")"
	grep -q 'said the fake agent' "$T/exits.log" || fail "the agent's last lines are not shown"
	rc=0
	ECS_AGENT_BIN=$T/hangs ECS_CONNECT_TIMEOUT=2 SYSTEMS=ecs VARIANTS=plain DURATION=3 RUN_PREFIX="$NODE-h" \
		bash "$TOP/compare/compare.sh" "$out" 2>"$T/hangs.log" || rc=$?
	[ "$rc" -eq 1 ] || fail "an ECS Agent that never connects: exit $rc, not 1"
	grep -q 'did not connect to the local control plane within 2s' "$T/hangs.log" || fail "no clear message: $(cat "$T/hangs.log")"
	grep -q 'said the fake agent' "$T/hangs.log" || fail "the agent's last lines are not shown"
	[ -s "$T/hangs.pid" ] || fail "the fake agent did not run"
	! kill -0 "$(cat "$T/hangs.pid")" 2>/dev/null || fail "the hanging agent was left running"
	[ "$(dk ps -aq --filter "label=io.force12.ecs=$NODE-x-ecs-plain" --filter "label=io.force12.ecs=$NODE-h-ecs-plain" | wc -l)" -eq 0 ] ||
		fail "containers are left"
}

# A run that overlaps an engine restart is reported as invalid, not as a result: on the test's own engine.
test_compare_engine_restart_is_invalid() {
	skip_under_sanitizers
	command -v gnuplot >/dev/null || fail "gnuplot is missing"
	start_private_engine
	local out=$T/restart rc=0 pid
	DOCKER_HOST="unix://$ENGINE_SOCK" DURATION=12 TAIL=3 SYSTEMS=force12 VARIANTS="plain trap" RUN_PREFIX="$NODE" \
		bash "$TOP/compare/compare.sh" "$out" 2>"$T/restart.log" &
	pid=$!
	echo "$pid" >>"$T/pids"
	wait_until 60 "the first run to drive demand" grep -q ',demand,' "$out/force12-plain.csv"
	stop_private_engine
	start_private_engine
	wait "$pid" || rc=$?
	[ "$rc" -eq 3 ] || {
		sed 's/^/    | /' "$T/restart.log" >&3
		fail "compare.sh exit $rc, not 3 (a run overlapped an engine restart)"
	}
	grep -q 'engine_lost' "$out/force12-plain.csv" || fail "the restart is not marked in the CSV"
	grep -qF '**Invalid runs, left out:** force12 (no trap)' "$out/report.md" || fail "report.md does not say the run is invalid"
	grep -qF '| | force12 (traps TERM) |' "$out/report.md" || fail "the valid run is not the report's only column"
	[ "$(dk ps -aq --filter "label=io.force12.agent=$NODE-force12-plain" | wc -l)" -eq 0 ] || fail "containers are left"
}

# Ctrl-C during a run (SIGINT to the whole process group, as a terminal sends it) stops every process of the run
# and removes every container of it.
test_compare_ctrl_c_cleans_up() {
	skip_under_sanitizers
	local out=$T/ctrlc rc=0 pgid
	# A fresh process group with SIGINT at its default (a background job of a script would inherit it ignored).
	SYSTEMS=ecs VARIANTS=plain DURATION=60 RUN_PREFIX="$NODE" /usr/bin/python3 -c '
import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.setsid()
os.execvp("bash", ["bash"] + sys.argv[1:])' "$TOP/compare/compare.sh" "$out" 2>"$T/ctrlc.log" &
	pgid=$!
	echo "$pgid" >>"$T/pids"
	wait_until 90 "the ECS Agent to run containers" grep -q ',start,' "$out/ecs-plain.csv"
	[ "$(dk ps -q --filter "label=io.force12.ecs=$NODE-ecs-plain" | wc -l)" -ge 1 ] || fail "no container ran before the Ctrl-C"
	kill -INT -- "-$pgid"
	wait "$pgid" || rc=$?
	[ "$rc" -eq 130 ] || fail "compare.sh exit $rc after Ctrl-C, not 130: $(cat "$T/ctrlc.log")"
	grep -q 'interrupted' "$T/ctrlc.log" || fail "no word of the interruption: $(cat "$T/ctrlc.log")"
	[ "$(dk ps -aq --filter "label=io.force12.ecs=$NODE-ecs-plain" | wc -l)" -eq 0 ] || fail "containers of the run are left"
	# What it stopped may take a moment to be reaped once it is gone.
	wait_until 10 "every process of the run to end" group_gone "$pgid"
	! ss -Hltn 'sport = :51678' | grep -q . || fail "something still listens on 51678"
}
