// SPDX-License-Identifier: Apache-2.0
/* Unit tests of scaling rules: the parser refuses each bad value with one line naming the key, the formula is
 * clamp(ceil(value / per_container), min, max), and the scale-down window holds the highest recommendation of its
 * span while a rise takes effect at once. */

/* cmocka.h needs these four first; its own block keeps clang-format's include sorting from moving it up. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "force12/json.h"
#include "force12/scale-rule.h"

#define SEC 1000000ULL

static int parse(const char *text, ScaleRule **ret, char *error)
{
	_cleanup_json_ cJSON *o = cJSON_Parse(text);

	assert_non_null(o);
	return scale_rule_parse(o, "apps[1].scale", ret, error);
}

static void assert_refused(const char *text, const char *expected)
{
	char error[SCALE_ERROR_MAX] = "";
	ScaleRule *r = NULL;

	assert_int_equal(parse(text, &r, error), -EINVAL);
	assert_null(r);
	if (!strstr(error, expected))
		fail_msg("error \"%s\" does not contain \"%s\"", error, expected);
	assert_null(strchr(error, '\n'));
}

static void test_parse_full(void **state)
{
	_cleanup_(scale_rule_freep) ScaleRule *r = NULL, *c = NULL;
	char error[SCALE_ERROR_MAX] = "";

	assert_int_equal(parse("{\"prometheus\": \"https://prom.example:9090/sub/\", \"query\": \"sum(queue_depth)\","
	                       " \"per_container\": 2.5, \"min\": 1, \"max\": 9, \"interval\": 2,"
	                       " \"scale_down_window\": 60, \"bearer_token_file\": \"/run/token\"}",
	                       &r, error),
	                 0);
	assert_string_equal(r->prometheus, "https://prom.example:9090/sub/");
	assert_string_equal(r->query, "sum(queue_depth)");
	assert_true(r->per_container == 2.5);
	assert_int_equal(r->min, 1);
	assert_int_equal(r->max, 9);
	assert_int_equal(r->interval, 2);
	assert_int_equal(r->window, 60);
	assert_string_equal(r->bearer_token_file, "/run/token");
	c = scale_rule_dup(r);
	assert_non_null(c);
	assert_string_equal(c->query, r->query);
	assert_ptr_not_equal(c->query, r->query);
	assert_string_equal(c->bearer_token_file, "/run/token");
}

static void test_parse_defaults(void **state)
{
	_cleanup_(scale_rule_freep) ScaleRule *r = NULL;

	assert_int_equal(parse("{\"prometheus\": \"http://127.0.0.1:9090\", \"query\": \"up\", \"per_container\": 5,"
	                       " \"max\": 3}",
	                       &r, NULL),
	                 0);
	assert_int_equal(r->min, 0);
	assert_int_equal(r->interval, SCALE_DEFAULT_INTERVAL);
	assert_int_equal(r->window, SCALE_DEFAULT_WINDOW);
	assert_null(r->bearer_token_file);
}

#define GOOD_HEAD "{\"prometheus\": \"http://127.0.0.1:9090\", \"query\": \"up\", "

static void test_parse_refused(void **state)
{
	assert_refused(GOOD_HEAD "\"per_container\": 0, \"max\": 3}",
	               "apps[1].scale.per_container: must be a number above 0");
	assert_refused(GOOD_HEAD "\"per_container\": -1, \"max\": 3}", "apps[1].scale.per_container:");
	assert_refused(GOOD_HEAD "\"per_container\": \"5\", \"max\": 3}", "apps[1].scale.per_container:");
	assert_refused(GOOD_HEAD "\"max\": 3}", "apps[1].scale.per_container: missing");
	assert_refused(GOOD_HEAD "\"per_container\": 1, \"min\": 5, \"max\": 3}",
	               "apps[1].scale.min: must not be above max (5 > 3)");
	assert_refused(GOOD_HEAD "\"per_container\": 1, \"max\": 3, \"step\": 1}",
	               "apps[1].scale.step: unknown key (expected one of:");
	assert_refused(GOOD_HEAD "\"per_container\": 1, \"max\": 3, \"max\": 4}", "apps[1].scale.max: given twice");
	assert_refused(GOOD_HEAD "\"per_container\": 1}", "apps[1].scale.max: missing");
	assert_refused(GOOD_HEAD "\"per_container\": 1, \"max\": 1.5}", "apps[1].scale.max: must be an integer");
	assert_refused(GOOD_HEAD "\"per_container\": 1, \"max\": 1000001}", "apps[1].scale.max: must be an integer");
	assert_refused(GOOD_HEAD "\"per_container\": 1, \"max\": -1}", "apps[1].scale.max:");
	assert_refused(GOOD_HEAD "\"per_container\": 1, \"max\": 3, \"interval\": 0}",
	               "apps[1].scale.interval: must be an integer in 1..3600");
	assert_refused(GOOD_HEAD "\"per_container\": 1, \"max\": 3, \"scale_down_window\": 3601}",
	               "apps[1].scale.scale_down_window:");
	assert_refused(GOOD_HEAD "\"per_container\": 1, \"max\": 3, \"bearer_token_file\": \"\"}",
	               "apps[1].scale.bearer_token_file:");
	assert_refused("{\"prometheus\": \"ftp://x\", \"query\": \"up\", \"per_container\": 1, \"max\": 3}",
	               "apps[1].scale.prometheus: must be a base URL");
	assert_refused("{\"prometheus\": \"http://x/?a=1\", \"query\": \"up\", \"per_container\": 1, \"max\": 3}",
	               "apps[1].scale.prometheus:");
	assert_refused("{\"prometheus\": \"http://1{7.0.0.1\", \"query\": \"up\", \"per_container\": 1, \"max\": 3}",
	               "apps[1].scale.prometheus:");
	assert_refused("{\"query\": \"up\", \"per_container\": 1, \"max\": 3}", "apps[1].scale.prometheus: missing");
	assert_refused("{\"prometheus\": \"http://x\", \"query\": \"\", \"per_container\": 1, \"max\": 3}",
	               "apps[1].scale.query:");
	assert_refused("{\"prometheus\": \"http://x\", \"query\": \"a\\nb\", \"per_container\": 1, \"max\": 3}",
	               "apps[1].scale.query:");
	assert_refused("[1]", "apps[1].scale: must be an object");
	assert_refused("{\"\\u0001bad\": 1}", "apps[1].scale.?bad: unknown key");
}

static void test_formula(void **state)
{
	ScaleRule r = {.per_container = 5, .min = 1, .max = 9};

	assert_int_equal(scale_recommend(&r, 0), 1);  /* min */
	assert_int_equal(scale_recommend(&r, -7), 1); /* a negative metric is no demand */
	assert_int_equal(scale_recommend(&r, 0.001), 1);
	assert_int_equal(scale_recommend(&r, 5), 1);    /* exactly one container's worth */
	assert_int_equal(scale_recommend(&r, 5.01), 2); /* ceil */
	assert_int_equal(scale_recommend(&r, 12), 3);
	assert_int_equal(scale_recommend(&r, 45), 9);
	assert_int_equal(scale_recommend(&r, 46), 9); /* max */
	assert_int_equal(scale_recommend(&r, 1e300), 9);
	r.min = 0;
	assert_int_equal(scale_recommend(&r, 0), 0);
	assert_int_equal(scale_recommend(&r, 1), 1);
	r.per_container = 0.5;
	assert_int_equal(scale_recommend(&r, 2), 4);
	r = (ScaleRule){.per_container = 1, .min = 0, .max = SCALE_MAX_COUNT};
	assert_int_equal(scale_recommend(&r, 4e9), SCALE_MAX_COUNT); /* no unsigned overflow */
	r = (ScaleRule){.per_container = 1, .min = 3, .max = 3};
	assert_int_equal(scale_recommend(&r, 100), 3);
	assert_int_equal(scale_recommend(&r, 0), 3);
}

static unsigned push(ScaleWindow *w, usec_t at, unsigned rec)
{
	unsigned t = 12345;

	assert_int_equal(scale_window_push(w, at, rec, &t), 0);
	return t;
}

static void test_window_up_at_once_down_after(void **state)
{
	ScaleWindow w;

	scale_window_init(&w, 30 * SEC);
	assert_int_equal(push(&w, 0, 2), 2);
	assert_int_equal(push(&w, 5 * SEC, 7), 7); /* up: immediate */
	assert_int_equal(push(&w, 10 * SEC, 3), 7);
	assert_int_equal(push(&w, 30 * SEC, 1), 7);
	assert_int_equal(push(&w, 35 * SEC, 1), 7);     /* the 7 of t=5 s is exactly 30 s old: still in */
	assert_int_equal(push(&w, 35 * SEC + 1, 1), 3); /* then the next highest of the window */
	assert_int_equal(push(&w, 40 * SEC + 1, 1), 1);
	assert_int_equal(push(&w, 41 * SEC, 9), 9);
	scale_window_done(&w);
}

static void test_window_zero(void **state)
{
	ScaleWindow w;

	scale_window_init(&w, 0);
	assert_int_equal(push(&w, 0, 5), 5);
	assert_int_equal(push(&w, 1, 2), 2);
	assert_int_equal(push(&w, 1, 0), 2); /* the same instant is within any window */
	assert_int_equal(push(&w, 2, 4), 4);
	assert_int_equal(push(&w, 3, 0), 0);
	scale_window_done(&w);
}

/* A metric flapping between high and low every interval: the window holds the high value the whole time, where
 * without a window the target would change on every sample. */
static void test_window_flapping(void **state)
{
	ScaleWindow with, without;
	unsigned changes_with = 0, changes_without = 0, last_with = 0, last_without = 0;

	scale_window_init(&with, 30 * SEC);
	scale_window_init(&without, 0);
	for (unsigned i = 0; i < 100; i++) {
		unsigned rec = i % 2 ? 2 : 8, a = push(&with, i * 5 * SEC, rec), b = push(&without, i * 5 * SEC, rec);

		changes_with += i > 0 && a != last_with;
		changes_without += i > 0 && b != last_without;
		last_with = a;
		last_without = b;
		assert_int_equal(a, 8);
		assert_true(with.n <= 2); /* bounded: only decreasing recommendations are kept */
	}
	assert_int_equal(changes_with, 0);
	assert_int_equal(changes_without, 99);
	scale_window_done(&with);
	scale_window_done(&without);
}

/* Against the definition: the max of every recommendation made within [now - window, now]. */
static void test_window_matches_definition(void **state)
{
	enum {
		N = 2000
	};
	static usec_t at[N];
	static unsigned recs[N];
	uint64_t x = 88172645463325252ULL;
	usec_t t = 0;
	ScaleWindow w;

	scale_window_init(&w, 20 * SEC);
	for (unsigned i = 0; i < N; i++) {
		unsigned got, want = 0;

		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		t += (x % 7) * SEC; /* sometimes twice at the same time */
		at[i] = t;
		recs[i] = (unsigned)(x >> 32) % 10;
		got = push(&w, t, recs[i]);
		for (unsigned j = 0; j <= i; j++)
			if (at[j] + 20 * SEC >= t && recs[j] > want)
				want = recs[j];
		assert_int_equal(got, want);
		assert_true(w.n <= 10);
	}
	scale_window_done(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_parse_full),
	        cmocka_unit_test(test_parse_defaults),
	        cmocka_unit_test(test_parse_refused),
	        cmocka_unit_test(test_formula),
	        cmocka_unit_test(test_window_up_at_once_down_after),
	        cmocka_unit_test(test_window_zero),
	        cmocka_unit_test(test_window_flapping),
	        cmocka_unit_test(test_window_matches_definition),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
