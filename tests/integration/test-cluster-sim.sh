# shellcheck shell=bash
# SPDX-License-Identifier: Apache-2.0
# The cluster simulation, short (issue 16): 20 agents on one real etcd, each with its own fake engine
# (scripts/cluster-sim.sh NODES=20). Asserted: every phase converges (totals changes, 10% killed, 10% joining, one
# leaving), every node runs the share it computed, and the invariants replayed from the engines' own event log hold
# (no node over its capacity, no app over the cluster bound); nothing is left behind. Times are figures only.

cluster_sim_skip_reason() {
	if [ -n "${SANITIZE:-}" ] || ldd "$AGENT_BIN" 2>/dev/null | grep -q libasan; then
		echo "sanitizer run: the cluster simulation runs once, in the plain pass"
		return 0
	fi
	command -v etcd >/dev/null || { echo "etcd not found (scripts/setup-host.sh --test)"; return 0; }
	return 1
}

test_cluster_sim_20_nodes() {
	local why rc=0
	if why=$(cluster_sim_skip_reason); then
		skip "$why"
	fi
	mkdir -p "$T/tmp" "$T/logs"
	TMPDIR=$T/tmp SANITIZER_LOG_DIR=${SANITIZER_LOG_DIR:-$T/logs} NODES=20 TTL=5 CHANGES=3 \
		bash "$TOP/scripts/cluster-sim.sh" "$T/out" >"$T/sim.out" 2>&1 || rc=$?
	cat "$T"/logs/*.log >>"$T/agent.log" 2>/dev/null || true
	[ "$rc" -eq 0 ] || fail "cluster-sim.sh failed ($rc): $(tail -n 30 "$T/sim.out")"
	grep -q '^invariants: 0 violations' "$T/out/figures.txt" || fail "invariants: $(cat "$T/out/figures.txt")"
	grep -q '^nodes not running their computed share after the changes: 0' "$T/out/figures.txt" ||
		fail "shares: $(cat "$T/out/figures.txt")"
	# Not vacuous: the kill and the leave made the survivors start containers, the join moved some.
	grep -qE '^kill: [1-9][0-9]* nodes changed' "$T/out/figures.txt" || fail "the kill changed nothing: $(cat "$T/out/figures.txt")"
	grep -qE '^one node leaving: it ran [1-9][0-9]*; [1-9]' "$T/out/figures.txt" ||
		fail "the leave moved nothing: $(cat "$T/out/figures.txt")"
	if [ ! -s "$T/out/cluster.png" ] || [ ! -s "$T/out/report.md" ]; then fail "no report in $T/out"; fi
	[ -z "$(ls -A "$T/tmp")" ] || fail "left behind in TMPDIR: $(ls -A "$T/tmp")"
	local p
	for p in /proc/[0-9]*; do
		if tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -qF "$T/tmp"; then
			fail "process left behind: $(tr '\0' ' ' <"$p/cmdline")"
		fi
	done
	local line
	while read -r line; do figure "cluster-sim 20: ${line%%: *}" "${line#*: }"; done < <(grep -E '^(change|kill|join|leave|one node|[0-9]+ (of|nodes))' "$T/out/figures.txt")
}
