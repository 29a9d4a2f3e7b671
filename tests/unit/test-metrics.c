// SPDX-License-Identifier: Apache-2.0
/* Unit tests of the comparison's metrics (compare/metrics.c) on small hand-made observer CSVs whose answers were
 * worked out by hand: time to target, stop durations, exit codes, percentiles, tracking error, edge medians,
 * and the parser's refusals. */

/* cmocka.h needs these four first; its own block keeps clang-format's include sorting from moving it up. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

/* Two apps. a: demand 2, then 1, then 0; b: 1, then 2. Worked out by hand:
 * - change 1 (t=101, a=2 b=1): a reaches 2 at 102.5 (b reached 1 at 102.0): 1.5 s;
 * - change 2 (t=104, a=1 b=2): a drops to 1 at 105.2, b reaches 2 at 105.4: 1.4 s;
 * - change 3 (t=107, a=0 b=2): a stays at 1 until the end: not reached.
 * Error area: a 0.5*2 + 1*1 + 1.2*1 + 3*1 = 6.2, b 1*1 + 1.4*1 = 2.4, total 8.6;
 * demand area: a 2*3 + 1*3 = 9, b 1*3 + 2*6 = 15, total 24; tracking error 8.6/24. */
static const char trace[] = "# force12-observe test\n"
                            "time,kind,app,container,value\n"
                            "100.0,running,a,,0\n"
                            "100.0,running,b,,0\n"
                            "101.0,demand,a,,2\n"
                            "101.0,demand,b,,1\n"
                            "101.5,start,a,c1,\n"
                            "102.0,start,b,c2,\n"
                            "102.5,start,a,c3,\n"
                            "103.0,running,a,,2\n"
                            "103.0,running,b,,1\n"
                            "104.0,demand,a,,1\n"
                            "104.0,demand,b,,2\n"
                            "104.2,kill,a,c1,15\n"
                            "105.2,kill,a,c1,9\n"
                            "105.2,die,a,c1,137\n"
                            "105.3,stop,a,c1,\n"
                            "105.4,start,b,c4,\n"
                            "107.0,demand,a,,0\n"
                            "110.0,stopped,,,1\n";

static Run *parse_ok(const char *text)
{
	char error[RUN_ERROR_MAX] = "";
	Run *r = NULL;

	if (run_parse(text, strlen(text), &r, error) < 0)
		fail_msg("run_parse: %s", error);
	return r;
}

static void test_time_to_target(void **state)
{
	_cleanup_(run_freep) Run *r = parse_ok(trace);
	_cleanup_free_ double *ttt = NULL;

	assert_int_equal(run_time_to_target(r, &ttt), 3);
	assert_float_equal(ttt[0], 1.5, 1e-9);
	assert_float_equal(ttt[1], 1.4, 1e-9);
	assert_true(isinf(ttt[2]));
}

static void test_time_to_target_zero_when_already_there(void **state)
{
	_cleanup_(run_freep) Run *r = parse_ok("1.0,running,a,,3\n"
	                                       "2.0,demand,a,,3\n"
	                                       "5.0,demand,a,,2\n"
	                                       "5.5,kill,a,x,15\n"
	                                       "6.0,die,a,x,0\n"
	                                       "9.0,list_ms,,,1\n");
	_cleanup_free_ double *ttt = NULL;

	assert_int_equal(run_time_to_target(r, &ttt), 2);
	assert_float_equal(ttt[0], 0, 1e-9);
	assert_float_equal(ttt[1], 1.0, 1e-9);
}

/* A target met only after the next change does not count for the earlier one. */
static void test_time_to_target_window_ends_at_next_change(void **state)
{
	_cleanup_(run_freep) Run *r = parse_ok("0,running,a,,0\n"
	                                       "1,demand,a,,1\n"
	                                       "2,demand,a,,2\n"
	                                       "3,start,a,x,\n"
	                                       "4,start,a,y,\n");
	_cleanup_free_ double *ttt = NULL;

	assert_int_equal(run_time_to_target(r, &ttt), 2);
	assert_true(isinf(ttt[0]));
	assert_float_equal(ttt[1], 2.0, 1e-9);
}

/* The observer writes engine events (engine time) and samples (its own time): the file need not be in order. */
static void test_rows_sorted_by_time(void **state)
{
	_cleanup_(run_freep) Run *r = parse_ok("0,running,a,,0\n"
	                                       "1,demand,a,,1\n"
	                                       "3,running,a,,1\n"
	                                       "2.25,start,a,x,\n");
	_cleanup_free_ double *ttt = NULL;

	assert_int_equal(run_time_to_target(r, &ttt), 1);
	assert_float_equal(ttt[0], 1.25, 1e-9);
	assert_float_equal(r->t_begin, 0, 1e-9);
	assert_float_equal(r->t_end, 3, 1e-9);
}

static void test_tracking_error(void **state)
{
	_cleanup_(run_freep) Run *r = parse_ok(trace);
	double error_area, demand_area;
	Summary s;

	run_tracking_areas(r, &error_area, &demand_area);
	assert_float_equal(error_area, 8.6, 1e-9);
	assert_float_equal(demand_area, 24, 1e-9);
	assert_int_equal(run_summarize(r, &s), 0);
	assert_float_equal(s.tracking_error, 8.6 / 24, 1e-9);
}

/* A perfect follower (every start at the moment of the change) has no error at all. */
static void test_tracking_error_zero_when_exact(void **state)
{
	_cleanup_(run_freep) Run *r = parse_ok("0,running,a,,0\n"
	                                       "1,demand,a,,2\n"
	                                       "1,start,a,x,\n"
	                                       "1,start,a,y,\n"
	                                       "4,demand,a,,1\n"
	                                       "4,die,a,x,0\n"
	                                       "8,stopped,,,0\n");
	double error_area, demand_area;

	run_tracking_areas(r, &error_area, &demand_area);
	assert_float_equal(error_area, 0, 1e-9);
	assert_float_equal(demand_area, 2 * 3 + 1 * 4, 1e-9);
}

static void test_running_at(void **state)
{
	_cleanup_(run_freep) Run *r = parse_ok(trace);
	int running[RUN_MAX_APPS];

	run_running_at(r, 102.7, running);
	assert_int_equal(running[0], 2);
	assert_int_equal(running[1], 1);
	run_running_at(r, 106, running);
	assert_int_equal(running[0], 1);
	assert_int_equal(running[1], 2);
}

/* Containers running before the observer's first sample are counted from it, not from zero. */
static void test_running_base_from_first_sample(void **state)
{
	_cleanup_(run_freep) Run *r = parse_ok("0.5,start,a,old,\n"
	                                       "1,running,a,,4\n"
	                                       "2,demand,a,,3\n"
	                                       "2.5,die,a,z,143\n");
	_cleanup_free_ double *ttt = NULL;

	assert_int_equal(run_time_to_target(r, &ttt), 1);
	assert_float_equal(ttt[0], 0.5, 1e-9);
}

/* The first sample knew no app yet (no running rows): every app starts from zero there, not from a later sample. */
static void test_running_base_without_apps_yet(void **state)
{
	_cleanup_(run_freep) Run *r = parse_ok("1,stopped,,,0\n"
	                                       "1,list_ms,,,3\n"
	                                       "2,demand,a,,2\n"
	                                       "2.5,start,a,x,\n"
	                                       "2.75,start,a,y,\n"
	                                       "3,running,a,,2\n"
	                                       "3,stopped,,,0\n");
	_cleanup_free_ double *ttt = NULL;
	int running[RUN_MAX_APPS];

	assert_int_equal(run_time_to_target(r, &ttt), 1);
	assert_float_equal(ttt[0], 0.75, 1e-9);
	run_running_at(r, 2.6, running);
	assert_int_equal(running[0], 1);
}

static void test_stop_durations_and_exits(void **state)
{
	_cleanup_(run_freep) Run *r = parse_ok(trace);
	_cleanup_free_ double *d = NULL;
	ExitCounts e = run_exit_counts(r);

	/* The second kill (SIGKILL after the timeout) does not restart the clock. */
	assert_int_equal(run_stop_durations(r, &d), 1);
	assert_float_equal(d[0], 1.0, 1e-9);
	assert_int_equal(e.killed, 1);
	assert_int_equal(e.clean, 0);
	assert_int_equal(e.other, 0);
}

static void test_exit_categories(void **state)
{
	_cleanup_(run_freep) Run *r = parse_ok("1,die,a,x,0\n"
	                                       "2,die,a,y,143\n"
	                                       "3,die,a,z,137\n"
	                                       "4,die,a,w,1\n"
	                                       "5,die,a,v,137\n");
	ExitCounts e = run_exit_counts(r);
	_cleanup_free_ double *d = NULL;

	assert_int_equal(e.clean, 2);
	assert_int_equal(e.killed, 2);
	assert_int_equal(e.other, 1);
	/* Dies without a kill are not stops. */
	assert_int_equal(run_stop_durations(r, &d), 0);
}

static void test_percentile(void **state)
{
	double v[] = {5, 1, 3, 2, 4};
	double w[] = {0.2, INFINITY, 0.1, 0.3};
	double one[] = {7};

	assert_float_equal(percentile(v, 5, 50), 3, 0);
	assert_float_equal(percentile(v, 5, 95), 5, 0);
	assert_float_equal(percentile(v, 5, 100), 5, 0);
	assert_float_equal(percentile(v, 5, 20), 1, 0);
	assert_float_equal(percentile(v, 5, 21), 2, 0);
	assert_true(isnan(percentile(v, 0, 50)));
	assert_float_equal(percentile(one, 1, 50), 7, 0);
	/* Not reached sorts last. */
	assert_float_equal(percentile(w, 4, 50), 0.2, 0);
	assert_float_equal(percentile(w, 4, 75), 0.3, 0);
	assert_true(isinf(percentile(w, 4, 95)));
}

static void test_summary_samples(void **state)
{
	char text[2048] = "";
	Summary s;

	for (int i = 1; i <= 12; i++) {
		char line[64];
		snprintf(line, sizeof(line), "%d,list_ms,,,%d\n%d,stopped,,,%d\n", i, i, i, i == 6 ? 9 : i % 4);
		strcat(text, line);
	}
	_cleanup_(run_freep) Run *r = parse_ok(text);
	assert_int_equal(run_summarize(r, &s), 0);
	assert_float_equal(s.list_ms_start, 3, 0);
	assert_float_equal(s.list_ms_end, 10, 0);
	assert_float_equal(s.stopped_max, 9, 0);
	assert_float_equal(s.stopped_end, 0, 0);
	assert_int_equal(s.n_changes, 0);
	assert_true(isnan(s.tracking_error));
	assert_true(isnan(s.stop_p50));
}

static void parse_fails(const char *text, const char *expect);

/* The system's own cost and the engine-lost mark that compare.sh and force12-observe add to a CSV. */
static void test_summary_cost_and_engine_lost(void **state)
{
	Summary s;
	_cleanup_(run_freep) Run *plain = parse_ok("1,list_ms,,,2\n");

	assert_int_equal(run_summarize(plain, &s), 0);
	assert_true(isnan(s.rss_kib));
	assert_true(isnan(s.cpu_s));
	assert_int_equal(s.engine_lost, 0);

	_cleanup_(run_freep) Run *r = parse_ok("1,list_ms,,,2\n2,engine_lost,,,\n3,rss_kib,,,40960\n"
	                                       "3,cpu_s,,,1.25\n4,engine_lost,,,\n");
	assert_int_equal(run_summarize(r, &s), 0);
	assert_float_equal(s.rss_kib, 40960, 0);
	assert_float_equal(s.cpu_s, 1.25, 1e-9);
	assert_int_equal(s.engine_lost, 2);
	parse_fails("1,cpu_s,,,-1\n", "cpu_s: value");
	parse_fails("1,rss_kib,,,x\n", "rss_kib: value");
}

static void test_summary_of_trace(void **state)
{
	_cleanup_(run_freep) Run *r = parse_ok(trace);
	Summary s;

	assert_int_equal(run_summarize(r, &s), 0);
	assert_int_equal(s.n_changes, 3);
	assert_int_equal(s.n_reached, 2);
	assert_float_equal(s.ttt_p50, 1.5, 1e-9);
	assert_true(isinf(s.ttt_p95));
	assert_int_equal(s.starts, 4);
	assert_int_equal(s.running_max, 3); /* c1, c2, c3; c1 died before c4 */
	assert_int_equal(s.n_stops, 1);
	assert_float_equal(s.stopped_end, 1, 0);
}

static void parse_fails(const char *text, const char *expect)
{
	char error[RUN_ERROR_MAX] = "";
	Run *r = NULL;

	assert_int_equal(run_parse(text, strlen(text), &r, error), -EINVAL);
	assert_null(r);
	if (!strstr(error, expect))
		fail_msg("error \"%s\" lacks \"%s\"", error, expect);
}

static void test_parse_refuses(void **state)
{
	char long_line[RUN_LINE_MAX + 10];

	parse_fails("1,demand,a,\n", "line 1: expected 5 fields");
	parse_fails("1,demand,a,,2\n1,demand,a,,2,3\n", "line 2: expected 5 fields");
	parse_fails("x,demand,a,,2\n", "time \"x\"");
	parse_fails("1\t\x1b,demand,a,,2\n", "time \"1??\"");
	parse_fails("-1,demand,a,,2\n", "in 0..1e12");
	parse_fails("1e13,demand,a,,2\n", "in 0..1e12");
	parse_fails("1,demand,,,2\n", "demand without an app");
	parse_fails("1,die,a,c,\n", "die: value");
	parse_fails("1,list_ms,,,nan\n", "list_ms: value");
	parse_fails("1,running,a,,1e999\n", "running: value");
	parse_fails("1,demand,a,,1e119\n", "demand: value \"1e119\" is not an integer");
	parse_fails("1,demand,a,,-1\n", "demand: value");
	parse_fails("1,running,a,,2.5\n", "running: value");
	parse_fails("1,list_ms,,,-3\n", "list_ms: value \"-3\" is not a number of milliseconds");
	memset(long_line, 'x', sizeof(long_line) - 1);
	long_line[sizeof(long_line) - 1] = 0;
	parse_fails(long_line, "longer than");
	assert_int_equal(run_parse("1,demand,a,,2\n\0", 15, &(Run *){NULL}, (char[RUN_ERROR_MAX]){0}), -EINVAL);
}

static void test_parse_skips_comments_header_and_unknown_kinds(void **state)
{
	_cleanup_(run_freep) Run *r = parse_ok("# comment\ntime,kind,app,container,value\n\n1,future_kind,,,\n"
	                                       "2,demand,a,,1\r\n");

	assert_int_equal(r->n_rows, 1);
	assert_int_equal(r->n_apps, 1);
	assert_string_equal(r->apps[0], "a");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_time_to_target),
	        cmocka_unit_test(test_time_to_target_zero_when_already_there),
	        cmocka_unit_test(test_time_to_target_window_ends_at_next_change),
	        cmocka_unit_test(test_rows_sorted_by_time),
	        cmocka_unit_test(test_tracking_error),
	        cmocka_unit_test(test_tracking_error_zero_when_exact),
	        cmocka_unit_test(test_running_at),
	        cmocka_unit_test(test_running_base_from_first_sample),
	        cmocka_unit_test(test_running_base_without_apps_yet),
	        cmocka_unit_test(test_stop_durations_and_exits),
	        cmocka_unit_test(test_exit_categories),
	        cmocka_unit_test(test_percentile),
	        cmocka_unit_test(test_summary_samples),
	        cmocka_unit_test(test_summary_of_trace),
	        cmocka_unit_test(test_summary_cost_and_engine_lost),
	        cmocka_unit_test(test_parse_refuses),
	        cmocka_unit_test(test_parse_skips_comments_header_and_unknown_kinds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
