# shellcheck shell=bash
# The comparison (make compare) in short against the real engine: both systems, both container variants, a few
# seconds each. Checks the report's structure and what must hold whatever the timing: force12 leaves no stopped
# container, the ECS baseline keeps every container it stopped (their count grows with each stop, none removed),
# and the variant that does not trap SIGTERM exits 137 under the baseline. Every run's containers are gone after.

csv_rows() { # FILE KIND: the rows of that kind
	awk -F, -v k="$2" '$2 == k' "$1"
}

# The last "stopped" sample of a CSV.
last_stopped() {
	csv_rows "$1" stopped | tail -n 1 | cut -d, -f5
}

# Stopped samples never go down, none is over the dies seen before it, and the last one counts every die up to a
# second before it (the sample's list may have started a moment before a die).
baseline_keeps_stopped() { # CSV
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

test_compare_short() {
	command -v gnuplot >/dev/null || {
		echo "gnuplot is missing (make check installs gnuplot-nox)" >&2
		exit 77
	}
	local out=$T/compare f v row
	# Changes at 0, 3 and 6 s (seed 2015: 5/4, 4/5, 1/8): four stops. The tail leaves the baseline time for its
	# nine first starts in series (up to ~10 s on a busy engine) and the stops after them.
	DURATION=9 TAIL=10 SEED=2015 ECS_CONTAINER_STOP_TIMEOUT=3s RUN_PREFIX=$NODE \
		bash "$TOP/compare/compare.sh" "$out" 2>"$T/compare.log" || {
		sed 's/^/    | /' "$T/compare.log" >&3
		fail "compare.sh failed"
	}

	# The report's structure.
	for f in report.md report.png report.gp force12-plain.csv ecs-plain.csv force12-trap.csv ecs-trap.csv; do
		[ -s "$out/$f" ] || fail "$f is missing or empty"
	done
	[ "$(head -c 8 "$out/report.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || fail "report.png is not a PNG"
	grep -qx '## Results' "$out/report.md" || fail "report.md has no Results section"
	grep -qF '| | force12 (no trap) | ECS baseline (no trap) | force12 (traps TERM) | ECS baseline (traps TERM) |' \
		"$out/report.md" || fail "report.md lacks the side-by-side header"
	for row in "demand changes" "time to target, p50" "time to target, p95" "time to target, max" \
		"stop took, p50" "stop took, p95" "stop took, max" "exits: clean (0, 143) / killed (137) / other" \
		"stopped containers at the end" "stopped containers at most" "engine list latency, start → end" \
		"tracking error"; do
		[ "$(grep -cF "| $row |" "$out/report.md")" -eq 1 ] || fail "report.md lacks the row \"$row\""
		[ "$(grep -F "| $row |" "$out/report.md" | tr -cd '|' | wc -c)" -eq 6 ] || fail "row \"$row\" has not 4 cells"
	done
	grep -q 'emulation' "$out/report.md" || fail "report.md does not say the baseline is an emulation"
	grep -q 'ECS_CONTAINER_STOP_TIMEOUT = 3s' "$out/report.md" || fail "report.md does not give the stop timeout used"

	# force12 stopped containers and left none.
	for v in plain trap; do
		[ "$(csv_rows "$out/force12-$v.csv" die | wc -l)" -ge 1 ] || fail "force12 ($v) stopped nothing: the run tested nothing"
		[ "$(last_stopped "$out/force12-$v.csv")" = 0 ] || fail "force12 ($v) left $(last_stopped "$out/force12-$v.csv") stopped containers"
	done
	# The baseline keeps every container it stopped.
	for v in plain trap; do
		[ "$(csv_rows "$out/ecs-$v.csv" destroy | wc -l)" -eq 0 ] || fail "the baseline ($v) removed containers"
		f=$(baseline_keeps_stopped "$out/ecs-$v.csv") || fail "baseline ($v): $f"
	done
	# Not trapping SIGTERM under the baseline ends in SIGKILL, every time.
	[ "$(csv_rows "$out/ecs-plain.csv" die | cut -d, -f5 | sort -u)" = 137 ] ||
		fail "baseline (no trap) exits: $(csv_rows "$out/ecs-plain.csv" die | cut -d, -f5 | sort | uniq -c | tr '\n' ' ')"
	# A stop that comes a moment after its start can beat the shell's trap (the kernel then ignores TERM for PID 1),
	# so the trapping variant is only required to exit 0 at least once.
	csv_rows "$out/ecs-trap.csv" die | cut -d, -f5 | grep -qx 0 || fail "baseline (traps TERM) never exited 0"

	# Nothing of the runs is left on the engine.
	for f in force12-plain force12-trap; do
		[ "$(dk ps -aq --filter "label=io.force12.agent=$NODE-$f" | wc -l)" -eq 0 ] || fail "containers of $f are left"
	done
	for f in ecs-plain ecs-trap; do
		[ "$(dk ps -aq --filter "label=io.force12.baseline=$NODE-$f" | wc -l)" -eq 0 ] || fail "containers of $f are left"
	done
	figure compare_tracking_error "$(grep -F '| tracking error |' "$out/report.md" | cut -d'|' -f3- | tr -s ' ')"
}
