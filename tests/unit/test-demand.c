// SPDX-License-Identifier: Apache-2.0
/* Unit tests of the demand sources: the random walk's step (bounds, step size, determinism, that it moves and
 * covers its whole range), the --demand spec parser, and one tick of a real random source on an sd-event loop. */

/* cmocka.h needs these four first; its own block keeps clang-format's include sorting from moving it up. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-event.h>

#include "force12/config.h"
#include "force12/demand.h"
#include "force12/targets.h"

#define N_SEEDS      200
#define N_PICK_SEEDS 20

/* Any non-zero state is valid; these spread the seeds over the bits. */
static uint64_t seed_state(unsigned seed)
{
	return (uint64_t)seed * 0x9E3779B97F4A7C15ULL + 1;
}

static void test_step_stays_in_range(void **state)
{
	static const unsigned maxes[] = {1, 2, 3, 9, 100, CONFIG_MAX_CAPACITY};

	for (unsigned seed = 1; seed <= N_SEEDS; seed++)
		for (size_t m = 0; m < ELEMENTSOF(maxes); m++) {
			uint64_t s = seed_state(seed);
			unsigned max = maxes[m], v = seed % (max + 1);

			for (int i = 0; i < 1000; i++) {
				v = demand_random_step(&s, v, max, DEMAND_RANDOM_MAX_STEP);
				if (v > max)
					fail_msg("seed %u, max %u, step %d: %u", seed, max, i, v);
			}
		}
}

/* A current value above max (capacity lowered by a reload) comes back into range at once. */
static void test_step_clamps_current_above_max(void **state)
{
	for (unsigned seed = 1; seed <= N_SEEDS; seed++) {
		uint64_t s = seed_state(seed);

		assert_int_equal(demand_random_step(&s, 50, 9, DEMAND_RANDOM_MAX_STEP), 9);
	}
}

static void test_step_size(void **state)
{
	static const unsigned steps[] = {0, 1, 3, 10};

	for (unsigned seed = 1; seed <= N_SEEDS; seed++)
		for (size_t k = 0; k < ELEMENTSOF(steps); k++) {
			unsigned max_step = steps[k], v = 50;
			uint64_t s = seed_state(seed);

			for (int i = 0; i < 200; i++) {
				unsigned next = demand_random_step(&s, v, 100, max_step);
				unsigned moved = next > v ? next - v : v - next;

				if (moved > max_step)
					fail_msg("seed %u, max_step %u: %u -> %u", seed, max_step, v, next);
				v = next;
			}
		}
}

/* Away from the ends, every move from -max_step to +max_step happens. */
static void test_step_takes_every_size_both_ways(void **state)
{
	bool seen[2 * DEMAND_RANDOM_MAX_STEP + 1] = {false};
	uint64_t s = seed_state(1);

	for (int i = 0; i < 10000; i++) {
		unsigned next = demand_random_step(&s, 500, 1000, DEMAND_RANDOM_MAX_STEP);

		assert_in_range(next, 500 - DEMAND_RANDOM_MAX_STEP, 500 + DEMAND_RANDOM_MAX_STEP);
		seen[next - (500 - DEMAND_RANDOM_MAX_STEP)] = true;
	}
	for (size_t i = 0; i < ELEMENTSOF(seen); i++)
		if (!seen[i])
			fail_msg("a move of %d never happened in 10000 steps", (int)i - DEMAND_RANDOM_MAX_STEP);
}

static void test_step_is_deterministic(void **state)
{
	for (unsigned seed = 1; seed <= N_SEEDS; seed++) {
		uint64_t a = seed_state(seed), b = seed_state(seed), other = seed_state(seed + 1);
		unsigned va = 4, vb = 4, vo = 4, differ = 0;

		for (int i = 0; i < 500; i++) {
			va = demand_random_step(&a, va, 9, DEMAND_RANDOM_MAX_STEP);
			vb = demand_random_step(&b, vb, 9, DEMAND_RANDOM_MAX_STEP);
			vo = demand_random_step(&other, vo, 9, DEMAND_RANDOM_MAX_STEP);
			assert_int_equal(va, vb);
			assert_true(a == b);
			assert_true(a != 0);
			differ += va != vo;
		}
		/* The seed matters: another one walks another way. */
		if (differ == 0)
			fail_msg("seeds %u and %u walk the same 500 steps", seed, seed + 1);
	}
}

static void test_step_moves(void **state)
{
	for (unsigned seed = 1; seed <= N_SEEDS; seed++) {
		uint64_t s = seed_state(seed);
		bool seen[10] = {false};
		unsigned v = 4, changes = 0, distinct = 0;

		for (int i = 0; i < 100; i++) {
			unsigned next = demand_random_step(&s, v, 9, DEMAND_RANDOM_MAX_STEP);

			changes += next != v;
			seen[next] = true;
			v = next;
		}
		for (size_t i = 0; i < ELEMENTSOF(seen); i++)
			distinct += seen[i];
		/* 6 moves in 7 are non-zero; 100 steps with fewer than 30 changes or 3 values is no random walk. */
		if (changes < 30 || distinct < 3)
			fail_msg("seed %u: %u changes, %u distinct values in 100 steps", seed, changes, distinct);
	}
}

static void test_step_reaches_both_ends(void **state)
{
	for (unsigned seed = 1; seed <= N_SEEDS; seed++) {
		uint64_t s = seed_state(seed);
		bool zero = false, max = false;
		unsigned v = 4;

		for (int i = 0; i < 10000 && !(zero && max); i++) {
			v = demand_random_step(&s, v, 9, DEMAND_RANDOM_MAX_STEP);
			zero = zero || v == 0;
			max = max || v == 9;
		}
		if (!zero || !max)
			fail_msg("seed %u: 10000 steps within 0..9 %s", seed, zero ? "never reach 9" : "never reach 0");
	}
}

static void test_step_max_zero(void **state)
{
	for (unsigned seed = 1; seed <= N_SEEDS; seed++) {
		uint64_t s = seed_state(seed);

		for (int i = 0; i < 100; i++)
			assert_int_equal(demand_random_step(&s, 0, 0, DEMAND_RANDOM_MAX_STEP), 0);
		assert_int_equal(demand_random_step(&s, 5, 0, DEMAND_RANDOM_MAX_STEP), 0);
	}
}

typedef struct Received {
	unsigned calls;
	unsigned targets[CONFIG_MAX_APPS];
} Received;

static void on_targets(const unsigned *targets, void *userdata)
{
	Received *r = userdata;

	r->calls++;
	memcpy(r->targets, targets, sizeof(r->targets));
}

static Config *parse_config(const char *text)
{
	ErrorText error = {};
	Config *c = NULL;

	if (config_parse(text, strlen(text), &c, &error) < 0)
		fail_msg("config_parse: %s", error.text);
	return c;
}

static void test_new_api(void **state)
{
	_cleanup_config_ Config *c = NULL;
	_cleanup_(sd_event_unrefp) sd_event *e = NULL;
	ErrorText error = {};
	static Demand *const sentinel = (Demand *)&sentinel;
	Demand *d = sentinel;
	Received got = {0};

	assert_int_equal(config_new_default(&c), 0);
	assert_int_equal(sd_event_new(&e), 0);
	unsigned targets[CONFIG_MAX_APPS] = {3, 1};

	assert_int_equal(demand_new(&d, e, "api", c, on_targets, &got, &error), 0);
	assert_non_null(d);
	assert_ptr_not_equal(d, sentinel);
	assert_string_equal(demand_kind(d), "api");
	/* The api source hands what the control API submits to the one callback, like every other source. */
	assert_int_equal(demand_submit(d, NULL), 0);
	assert_int_equal(got.calls, 0);
	assert_int_equal(demand_submit(d, targets), 0);
	assert_int_equal(got.calls, 1);
	assert_null(demand_free(d));
	assert_null(demand_free(NULL));
	assert_string_equal(demand_kind(NULL), "none");
	assert_int_equal(demand_submit(NULL, targets), -EBUSY);
}

/* Any other source owns the targets: the API's are refused and nothing is delivered. */
static void test_submit_refused_by_other_sources(void **state)
{
	_cleanup_config_ Config *c = NULL;
	_cleanup_(sd_event_unrefp) sd_event *e = NULL;
	ErrorText error = {};
	unsigned targets[CONFIG_MAX_APPS] = {3, 1};
	Received got = {0};
	Demand *d = NULL;

	assert_int_equal(config_new_default(&c), 0);
	assert_int_equal(sd_event_new(&e), 0);
	assert_int_equal(demand_new(&d, e, "random:7", c, on_targets, &got, &error), 0);
	assert_int_equal(demand_submit(d, NULL), -EBUSY);
	assert_int_equal(demand_submit(d, targets), -EBUSY);
	assert_int_equal(got.calls, 0);
	assert_string_equal(demand_kind(d), "random");
	demand_free(d);
}

static void assert_spec_refused(const char *spec, int expected, const char *needle)
{
	_cleanup_config_ Config *c = NULL;
	_cleanup_(sd_event_unrefp) sd_event *e = NULL;
	ErrorText error = {};
	static Demand *const sentinel = (Demand *)&sentinel;
	Demand *d = sentinel;
	Received got = {0};
	int r;

	assert_int_equal(config_new_default(&c), 0);
	assert_int_equal(sd_event_new(&e), 0);
	r = demand_new(&d, e, spec, c, on_targets, &got, &error);
	if (r != expected)
		fail_msg("demand_new(\"%s\") = %d, expected %d (error.text: \"%s\")", spec, r, expected, error.text);
	assert_ptr_equal(d, sentinel);
	if (!strstr(error.text, needle))
		fail_msg("error.text \"%s\" does not contain \"%s\"", error.text, needle);
	assert_null(strchr(error.text, '\n'));
	/* No timer was left behind on the loop. */
	assert_int_equal(sd_event_run(e, 0), 0);
	assert_int_equal(got.calls, 0);
}

static void test_new_bad_spec(void **state)
{
	assert_spec_refused("random:abc", -EINVAL, "\"abc\"");
	assert_spec_refused("random:abc", -EINVAL, "random");
	assert_spec_refused("random:-1", -EINVAL, "\"-1\"");
	assert_spec_refused("random:-1", -EINVAL, "random");
	assert_spec_refused("random:42x", -EINVAL, "\"42x\"");
	assert_spec_refused("random:18446744073709551616", -EINVAL, "18446744073709551616");
	assert_spec_refused("bogus", -EINVAL, "bogus");
	assert_spec_refused("randomly", -EINVAL, "randomly");
	assert_spec_refused("API", -EINVAL, "API");
	assert_spec_refused("", -EINVAL, "unknown source");
	/* Sources that need more than a name. */
	assert_spec_refused("file:", -EINVAL, "file:");
	assert_spec_refused("etcd://nohost", -EINVAL, "etcd://nohost");
	assert_spec_refused("http://", -EINVAL, "http://");
}

/* Starts a random source per spec on one loop and runs it until each has proposed targets once. The first ticks
 * come together (sd-event coalesces timers within its default accuracy of 250 ms), so the loop waits once for all
 * of them rather than once per source. */
static void first_targets(sd_event *e, size_t n, const Config *const *configs, const char *const *specs, Received *got)
{
	Demand *d[64] = {NULL};
	bool done = false;

	assert_true(n <= ELEMENTSOF(d));
	for (size_t i = 0; i < n; i++) {
		ErrorText error = {};
		int r = demand_new(&d[i], e, specs[i], configs[i], on_targets, &got[i], &error);

		if (r < 0)
			fail_msg("demand_new(\"%s\") = %d: %s", specs[i], r, error.text);
		assert_non_null(d[i]);
		assert_string_equal(demand_kind(d[i]), "random");
	}
	for (int i = 0; i < 1000 && !done; i++) {
		assert_true(sd_event_run(e, 1000000) >= 0);
		done = true;
		for (size_t k = 0; k < n; k++)
			done = done && got[k].calls > 0;
	}
	/* The next tick is DEMAND_RANDOM_INTERVAL_USEC away, not due at once. */
	for (int i = 0; i < 5; i++)
		assert_true(sd_event_run(e, 0) >= 0);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(got[i].calls, 1);
		assert_null(demand_free(d[i]));
	}
}

static void test_new_random(void **state)
{
	_cleanup_config_ Config *c = NULL;
	_cleanup_(sd_event_unrefp) sd_event *e = NULL;
	Received got[2] = {{0}};

	assert_int_equal(config_new_default(&c), 0);
	assert_int_equal(sd_event_new(&e), 0);
	/* Two sources with the same seed. */
	first_targets(e, 2, (const Config *[]){c, c}, (const char *[]){"random:42", "random:42"}, got);
	/* The most important app moves within 0..capacity and the next one takes the rest. */
	assert_in_range(got[0].targets[0], 0, c->capacity);
	assert_int_equal(got[0].targets[0] + got[0].targets[1], c->capacity);
	/* Same seed, same demand. */
	assert_memory_equal(got[0].targets, got[1].targets, c->n_apps * sizeof(unsigned));
	/* A freed source proposes nothing more. */
	assert_true(sd_event_run(e, 0) >= 0);
	assert_int_equal(got[0].calls, 1);
	assert_int_equal(got[1].calls, 1);
}

/* The two apps come by priority, not by their place in the config; the others are left alone. Which app moves
 * is told by comparing with a config where place, priority and name agree: same seed and capacity, same walk. */
static void assert_random_picks(const char *config_text, size_t moves, size_t rest)
{
	_cleanup_config_ Config *c = parse_config(config_text);
	_cleanup_(sd_event_unrefp) sd_event *e = NULL;
	char ref_text[256];
	unsigned differ = 0;

	snprintf(ref_text, sizeof(ref_text),
	         "{\"capacity\": %u, \"apps\": [{\"name\": \"a\", \"image\": \"i\", \"priority\": 1},"
	         "{\"name\": \"b\", \"image\": \"i\", \"priority\": 2}]}",
	         c->capacity);
	_cleanup_config_ Config *ref = parse_config(ref_text);
	const Config *configs[2 * N_PICK_SEEDS];
	const char *specs[2 * N_PICK_SEEDS];
	char spec_text[N_PICK_SEEDS][32];
	Received got[2 * N_PICK_SEEDS] = {{0}};

	/* Even entries run the reference config, odd ones the config under test, with the same seed. */
	for (unsigned seed = 0; seed < N_PICK_SEEDS; seed++) {
		snprintf(spec_text[seed], sizeof(spec_text[seed]), "random:%u", seed);
		configs[2 * seed] = ref;
		configs[2 * seed + 1] = c;
		specs[2 * seed] = specs[2 * seed + 1] = spec_text[seed];
	}
	assert_int_equal(sd_event_new(&e), 0);
	first_targets(e, 2 * N_PICK_SEEDS, configs, specs, got);
	for (unsigned seed = 0; seed < N_PICK_SEEDS; seed++) {
		const unsigned *expected = got[2 * seed].targets, *t = got[2 * seed + 1].targets;

		assert_int_equal(t[moves], expected[0]);
		assert_int_equal(t[rest], c->capacity - t[moves]);
		for (size_t i = 0; i < c->n_apps; i++)
			if (i != moves && i != rest)
				assert_int_equal(t[i], TARGETS_UNSET);
		differ += t[moves] != t[rest];
	}
	/* Otherwise the two could be swapped unnoticed. */
	assert_true(differ > 0);
}

static void test_random_picks_by_priority(void **state)
{
	assert_random_picks("{\"capacity\": 20, \"apps\": ["
	                    "{\"name\": \"low\", \"image\": \"i\", \"priority\": 9},"
	                    "{\"name\": \"mid\", \"image\": \"i\", \"priority\": 2},"
	                    "{\"name\": \"top\", \"image\": \"i\", \"priority\": 1}]}",
	                    2, 1);
	/* Same priority: name order. */
	assert_random_picks("{\"capacity\": 20, \"apps\": ["
	                    "{\"name\": \"low\", \"image\": \"i\", \"priority\": 9},"
	                    "{\"name\": \"mid\", \"image\": \"i\", \"priority\": 2},"
	                    "{\"name\": \"b-top\", \"image\": \"i\", \"priority\": 1},"
	                    "{\"name\": \"a-top\", \"image\": \"i\", \"priority\": 1}]}",
	                    3, 2);
	assert_random_picks("{\"capacity\": 5, \"apps\": ["
	                    "{\"name\": \"a\", \"image\": \"i\", \"priority\": 1},"
	                    "{\"name\": \"c\", \"image\": \"i\", \"priority\": 3},"
	                    "{\"name\": \"b\", \"image\": \"i\", \"priority\": 2}]}",
	                    0, 2);
	/* Same priority for second place: name order too. */
	assert_random_picks("{\"capacity\": 7, \"apps\": ["
	                    "{\"name\": \"top\", \"image\": \"i\", \"priority\": 1},"
	                    "{\"name\": \"b-mid\", \"image\": \"i\", \"priority\": 2},"
	                    "{\"name\": \"a-mid\", \"image\": \"i\", \"priority\": 2}]}",
	                    0, 2);
}

/* App "a" (the most important) carries a scale rule; its Prometheus (port 9, discard) never answers a query. */
#define SCALED_CONFIG                                                                                          \
	"{\"capacity\": 9, \"apps\": [{\"name\": \"a\", \"image\": \"i\", \"priority\": 1, \"scale\": "        \
	"{\"prometheus\": \"http://127.0.0.1:9\", \"query\": \"sum(q)\", \"per_container\": 5, \"max\": 9}}, " \
	"{\"name\": \"b\", \"image\": \"i\", \"priority\": 2}]}"

/* The random walk would move "a": its rule drives it instead, so the walk's targets reach the agent without it,
 * and "b" still takes the rest of the walk's capacity. */
static void test_scaled_app_left_to_its_rule(void **state)
{
	_cleanup_config_ Config *c = parse_config(SCALED_CONFIG);
	_cleanup_(sd_event_unrefp) sd_event *e = NULL;
	Received got = {0};

	assert_int_equal(sd_event_new(&e), 0);
	first_targets(e, 1, (const Config *[]){c}, (const char *[]){"random:42"}, &got);
	assert_int_equal(got.targets[0], TARGETS_UNSET);
	assert_in_range(got.targets[1], 0, c->capacity);
}

/* The control API may set the other apps, not one a rule drives; the refusal names the metric source. */
static void test_scaled_app_refused_to_the_api(void **state)
{
	_cleanup_config_ Config *c = parse_config(SCALED_CONFIG);
	_cleanup_(sd_event_unrefp) sd_event *e = NULL;
	_cleanup_(demand_freep) Demand *d = NULL;
	ErrorText error = {};
	unsigned both[CONFIG_MAX_APPS] = {3, 1}, other[CONFIG_MAX_APPS] = {TARGETS_UNSET, 4};
	Received got = {0};

	assert_int_equal(sd_event_new(&e), 0);
	assert_int_equal(demand_new(&d, e, "api", c, on_targets, &got, &error), 0);
	assert_int_equal(demand_submit(d, NULL), 0);
	assert_int_equal(demand_submit(d, both), -EBUSY);
	assert_string_equal(demand_owner(d, both), "metric");
	assert_int_equal(got.calls, 0);
	assert_int_equal(demand_submit(d, other), 0);
	assert_string_equal(demand_owner(d, other), "api");
	assert_int_equal(got.calls, 1);
	assert_int_equal(got.targets[0], TARGETS_UNSET);
	assert_int_equal(got.targets[1], 4);
}

/* apps[].scale in the status for the app with a rule only (matched by name, not by place), and its gauges. */
static void test_scaled_app_status_and_metrics(void **state)
{
	_cleanup_config_ Config *c = parse_config(SCALED_CONFIG);
	_cleanup_(sd_event_unrefp) sd_event *e = NULL;
	_cleanup_(demand_freep) Demand *d = NULL;
	ErrorText error = {};
	Received got = {0};
	cJSON *status, *apps, *scale;
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	assert_int_equal(sd_event_new(&e), 0);
	assert_int_equal(demand_new(&d, e, "api", c, on_targets, &got, &error), 0);
	status = cJSON_Parse("{\"apps\": [{\"name\": \"b\"}, {\"name\": \"a\"}]}");
	assert_non_null(status);
	demand_status_json(d, status);
	apps = cJSON_GetObjectItem(status, "apps");
	assert_null(cJSON_GetObjectItem(cJSON_GetArrayItem(apps, 0), "scale"));
	scale = cJSON_GetObjectItem(cJSON_GetArrayItem(apps, 1), "scale");
	assert_non_null(scale);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(scale, "query")), "sum(q)");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(scale, "value")));
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(scale, "target")));
	assert_true(cJSON_IsNumber(cJSON_GetObjectItem(scale, "failures")));
	cJSON_Delete(status);

	f = open_memstream(&text, &len);
	assert_non_null(f);
	demand_write_metrics(d, f);
	assert_int_equal(fclose(f), 0);
	assert_non_null(strstr(text, "# TYPE force12_scale_target gauge\n"));
	assert_non_null(strstr(text, "force12_scale_failures{app=\"a\"} 0\n"));
	assert_null(strstr(text, "app=\"b\""));
	free(text);
	assert_int_equal(got.calls, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_step_stays_in_range),
	        cmocka_unit_test(test_step_clamps_current_above_max),
	        cmocka_unit_test(test_step_size),
	        cmocka_unit_test(test_step_takes_every_size_both_ways),
	        cmocka_unit_test(test_step_is_deterministic),
	        cmocka_unit_test(test_step_moves),
	        cmocka_unit_test(test_step_reaches_both_ends),
	        cmocka_unit_test(test_step_max_zero),
	        cmocka_unit_test(test_new_api),
	        cmocka_unit_test(test_submit_refused_by_other_sources),
	        cmocka_unit_test(test_new_bad_spec),
	        cmocka_unit_test(test_new_random),
	        cmocka_unit_test(test_random_picks_by_priority),
	        cmocka_unit_test(test_scaled_app_left_to_its_rule),
	        cmocka_unit_test(test_scaled_app_refused_to_the_api),
	        cmocka_unit_test(test_scaled_app_status_and_metrics),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
