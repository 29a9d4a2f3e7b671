# shellcheck shell=bash
# SPDX-License-Identifier: Apache-2.0
# One node at scale, short (issue 16): the agent against a fake engine already holding 1000 owned containers
# (build/force12-scale --check). Asserted: behaviour only. The agent adopts all of them without touching one,
# reports them, follows +10% and -10% of N on the engine, keeps answering /healthz through a 10 s engine stall
# and a dropped event stream and converges after each, exits 0 on SIGTERM; and the run leaves nothing behind.
# Times are printed as figures, never asserted.

SCALE_BENCH=${SCALE_BENCH:-$TOP/build/force12-scale}
FAKE_ENGINE=${FAKE_ENGINE:-$TOP/build/fake-engine}

# Processes whose command line names the test's dir: what a run left behind.
leftover_processes() {
	local p
	for p in /proc/[0-9]*; do
		tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -qF "$T/tmp" && echo "${p#/proc/}: $(tr '\0' ' ' <"$p/cmdline")"
	done
	return 0
}

test_scale_one_node_1000_containers() {
	if [ ! -x "$SCALE_BENCH" ] || [ ! -x "$FAKE_ENGINE" ]; then
		fail "$SCALE_BENCH or $FAKE_ENGINE missing (make sim-tools)"
	fi
	mkdir -p "$T/tmp" "$T/logs"
	local rc=0
	TMPDIR=$T/tmp SANITIZER_LOG_DIR=${SANITIZER_LOG_DIR:-$T/logs} FAKE_ENGINE=$FAKE_ENGINE \
		"$SCALE_BENCH" --agent "$AGENT_BIN" --sizes 1000 --faults 100 --resync 2 --timeout $((120 * WAIT_FACTOR)) \
		--check >"$T/scale.out" 2>&1 || rc=$?
	# The agents' logs where lib.sh's cleanup looks for sanitizer and valgrind reports.
	cat "$T"/logs/*.log >>"$T/agent.log" 2>/dev/null || true
	[ "$rc" -eq 0 ] || fail "force12-scale --check failed ($rc): $(cat "$T/scale.out")"
	# Not vacuous: every part ran and printed its line.
	local part
	for part in "first sync: ready" "resync:" "+10%:" "-10%:" "fault stall 10 s" "fault event stream dropped" \
		"done, 0 problem"; do
		grep -qF -- "$part" "$T/scale.out" || fail "no '$part' in: $(cat "$T/scale.out")"
	done
	[ -z "$(ls -A "$T/tmp")" ] || fail "left behind in TMPDIR: $(ls -A "$T/tmp")"
	[ -z "$(leftover_processes)" ] || fail "processes left behind: $(leftover_processes)"
	local line
	while read -r line; do figure "scale ${line%%: *}" "${line#*: }"; done < <(grep -E '^scale (N=|fault)' "$T/scale.out" | sed 's/^scale //')
}
