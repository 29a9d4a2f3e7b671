# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# shellcheck disable=SC2153 # T, NODE, TOP come from lib.sh
# make bench's smoke run: the benchmark with tiny sizes prints every figure with a number, exits 0 and leaves
# nothing on the engine. It asserts no timings: the figures are the benchmark's business, not the test's.

BENCH=${BENCH_BIN:-$TOP/build/force12-bench}

# Figures every run prints (SIZES=2, FOOTPRINT_N=3), each "name: NUMBER unit ...".
BENCH_FIGURES=(floor_create_start_sequential_2 floor_create_start_parallel_2 scale_up_0_to_2
	floor_stop_remove_sequential_2 floor_stop_remove_parallel_2 scale_down_2_to_0
	floor_stop_p50 floor_stop_p99 floor_stop_remove_p50 floor_stop_remove_p99
	stop_latency_die_p50 stop_latency_die_p99 stop_latency_destroy_p50 stop_latency_destroy_p99
	preempt_swap_cold footprint_idle_rss footprint_idle_private_dirty footprint_3_rss footprint_3_private_dirty
	cpu_per_100_ops cpu_idle churn_time_to_target_p50 churn_time_to_target_p95 churn_rss_start churn_rss_end
	churn_fds_start churn_fds_end api_status_keepalive_p50 api_status_keepalive_p99
	api_status_new_connection_p50 api_status_new_connection_p99 api_agent_rss_before api_agent_rss_after)
NUMBER='-?[0-9]+(\.[0-9]+)?'

leftovers() {
	{
		dk ps -aq --filter "label=io.force12.agent=$NODE"
		dk ps -aq --filter "label=io.force12.test=$NODE"
	} | wc -l
}

test_bench_smoke_prints_every_figure() {
	[ -x "$BENCH" ] || fail "$BENCH is not built (make $BENCH)"
	local rc=0 name
	SIZES=2 ROUNDS=1 STOP_STEPS=2 SWAP_N=2 FOOTPRINT_N=3 IDLE_SECONDS=1 CHURN_SECONDS=20 API_N=20 SCALE_SIZES=100 \
		BENCH_NODE=$NODE BENCH_BIN=$BENCH bash "$TOP/bench/bench.sh" >"$T/bench.out" 2>"$T/bench.err" || rc=$?
	[ "$rc" -eq 0 ] || fail "bench.sh exited with $rc; stderr: $(cat "$T/bench.err"); stdout: $(cat "$T/bench.out")"
	grep -Eq "^force12 bench: [0-9]+ cores, load $NUMBER $NUMBER $NUMBER, engine [^ ]+ \(API [0-9.]+\), 1 rounds, sizes 2," \
		"$T/bench.out" || fail "no header line in: $(cat "$T/bench.out")"
	for name in "${BENCH_FIGURES[@]}"; do
		grep -Eq "^$name: $NUMBER [^ ]+" "$T/bench.out" || fail "no figure $name with a number in: $(cat "$T/bench.out")"
	done
	grep -Eq "^scale_up_0_to_2: $NUMBER s \($NUMBER+x the floor\)" "$T/bench.out" || fail "scale-up has no ratio to the floor"
	grep -Eq "^scale_down_2_to_0: $NUMBER s \($NUMBER+x the floor\)" "$T/bench.out" || fail "scale-down has no ratio to the floor"
	# The agent has warm standby: the swap through the pool is measured, never "unavailable".
	for name in preempt_swap_standby preempt_swap_speedup; do
		grep -Eq "^$name: ${NUMBER}[x ]" "$T/bench.out" || fail "no figure $name with a number in: $(grep "^$name" "$T/bench.out")"
	done
	[ "$(leftovers)" -eq 0 ] || fail "the bench left $(leftovers) containers labelled with its node $NODE"
	figure bench_smoke_lines "$(grep -c . "$T/bench.out")"
}

test_bench_usage() {
	local rc=0
	"$BENCH" --help >"$T/help" || fail "--help exited non-zero"
	grep -q '^Usage: force12-bench' "$T/help" || fail "--help prints no usage"
	ROUNDS=0 "$BENCH" >"$T/out" 2>"$T/err" || rc=$?
	[ "$rc" -eq 2 ] || fail "ROUNDS=0: exit status $rc, expected 2"
	if [ "$(wc -l <"$T/err")" -ne 1 ] || ! grep -q 'ROUNDS=0' "$T/err"; then
		fail "ROUNDS=0: not a one-line error naming it: $(cat "$T/err")"
	fi
	rc=0
	"$BENCH" --only nothing >"$T/out" 2>"$T/err" || rc=$?
	[ "$rc" -eq 2 ] || fail "--only nothing: exit status $rc, expected 2"
	[ ! -s "$T/out" ] || fail "a usage error printed figures: $(cat "$T/out")"
}
