// SPDX-License-Identifier: Apache-2.0
/* Unit tests of the dashboard's history ring: samples come back oldest first, a full ring drops the oldest and
 * keeps the newest SLOTS in order, its memory is fixed by slots and apps whatever the number of samples, a change
 * of the app set (a reload) starts it again, bad arguments change nothing, and the JSON the API serves. */

/* cmocka.h needs these four first; its own block keeps clang-format's include sorting from moving it up. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "force12/history.h"
#include "force12/json.h"

static const char *const two[] = {"priority1", "priority2"};

static void add(History *h, uint64_t t, uint32_t p1, uint32_t p2)
{
	HistoryCounts c[2] = {{p1, p1, p1 > 0 ? p1 - 1 : 0}, {p2, p2, p2}};
	assert_int_equal(history_add(h, t, 9, two, c, 2), 0);
}

static void test_empty(void **state)
{
	_cleanup_(history_freep) History *h = NULL;
	_cleanup_json_ cJSON *j = NULL;

	assert_int_equal(history_new(&h, 10), 0);
	assert_int_equal(history_size(h), 0);
	assert_int_equal(history_n_apps(h), 0);
	assert_int_equal(history_get(h, 0, NULL, NULL, NULL), -ERANGE);
	j = history_json(h, 5);
	assert_non_null(j);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "samples")), 0);
	assert_int_equal(cJSON_GetObjectItem(j, "now")->valueint, 5);
	assert_int_equal(cJSON_GetObjectItem(j, "interval_ms")->valueint, HISTORY_INTERVAL_MS);
}

static void test_bad_sizes(void **state)
{
	History *h = NULL;

	assert_int_equal(history_new(&h, 0), -EINVAL);
	assert_int_equal(history_new(&h, HISTORY_MAX_SLOTS + 1), -EINVAL);
	assert_null(h);
	assert_null(history_free(NULL));
}

static void test_oldest_first(void **state)
{
	_cleanup_(history_freep) History *h = NULL;
	const HistoryCounts *c;
	uint64_t t;
	uint32_t cap;

	assert_int_equal(history_new(&h, 10), 0);
	for (unsigned i = 0; i < 4; i++)
		add(h, 1000 + i, i, 9 - i);
	assert_int_equal(history_size(h), 4);
	assert_int_equal(history_n_apps(h), 2);
	assert_string_equal(history_app(h, 1), "priority2");
	assert_null(history_app(h, 2));
	for (unsigned i = 0; i < 4; i++) {
		assert_int_equal(history_get(h, i, &t, &cap, &c), 0);
		assert_int_equal(t, 1000 + i);
		assert_int_equal(cap, 9);
		assert_int_equal(c[0].target, i);
		assert_int_equal(c[1].running, 9 - i);
	}
}

/* 1000 samples into 10 slots: the last 10, in order, and the memory is what it was after the first. */
static void test_wraps_and_stays_bounded(void **state)
{
	_cleanup_(history_freep) History *h = NULL;
	const HistoryCounts *c;
	uint64_t t;
	size_t memory;

	assert_int_equal(history_new(&h, 10), 0);
	add(h, 0, 0, 0);
	memory = history_memory(h);
	assert_int_equal(memory, 10 * (8 + 4 + 2 * 12));
	for (uint64_t i = 1; i < 1000; i++)
		add(h, i, (uint32_t)(i % 10), 3);
	assert_int_equal(history_size(h), 10);
	assert_int_equal(history_memory(h), memory);
	for (size_t i = 0; i < 10; i++) {
		assert_int_equal(history_get(h, i, &t, NULL, &c), 0);
		assert_int_equal(t, 990 + i);
		assert_int_equal(c[0].target, (990 + i) % 10);
	}
	assert_int_equal(history_get(h, 10, NULL, NULL, NULL), -ERANGE);
}

/* The default ring: 600 slots (10 minutes at one a second), 21.6 KB for two apps, 468 KB at the most apps (64). */
static void test_default_bound(void **state)
{
	_cleanup_(history_freep) History *h = NULL;
	const char *names[HISTORY_MAX_APPS];
	HistoryCounts counts[HISTORY_MAX_APPS] = {{0}};
	char buf[HISTORY_MAX_APPS][8];

	assert_int_equal(history_new(&h, HISTORY_SLOTS), 0);
	add(h, 1, 1, 1);
	assert_int_equal(history_memory(h), 21600);
	for (size_t i = 0; i < HISTORY_MAX_APPS; i++) {
		snprintf(buf[i], sizeof(buf[i]), "a%zu", i);
		names[i] = buf[i];
	}
	for (uint64_t t = 0; t < 2 * HISTORY_SLOTS; t++)
		assert_int_equal(history_add(h, t, 9, names, counts, HISTORY_MAX_APPS), 0);
	assert_int_equal(history_size(h), HISTORY_SLOTS);
	assert_int_equal(history_memory(h), HISTORY_SLOTS * (12 + 12 * HISTORY_MAX_APPS));
}

/* A reload with other apps starts the ring again; the same apps keep it. */
static void test_app_set_change_restarts(void **state)
{
	_cleanup_(history_freep) History *h = NULL;
	static const char *const three[] = {"priority1", "priority2", "batch"};
	HistoryCounts c[3] = {{1, 1, 1}, {2, 2, 2}, {3, 3, 3}};
	const HistoryCounts *got;

	assert_int_equal(history_new(&h, 5), 0);
	add(h, 1, 1, 1);
	add(h, 2, 1, 1);
	assert_int_equal(history_size(h), 2);
	assert_int_equal(history_add(h, 3, 9, three, c, 3), 0);
	assert_int_equal(history_size(h), 1);
	assert_int_equal(history_n_apps(h), 3);
	assert_int_equal(history_get(h, 0, NULL, NULL, &got), 0);
	assert_int_equal(got[2].running, 3);
	assert_int_equal(history_add(h, 4, 9, three, c, 3), 0);
	assert_int_equal(history_size(h), 2);
	/* No apps at all is a sample too. */
	assert_int_equal(history_add(h, 5, 9, NULL, NULL, 0), 0);
	assert_int_equal(history_size(h), 1);
	assert_int_equal(history_n_apps(h), 0);
}

static void test_bad_arguments_change_nothing(void **state)
{
	_cleanup_(history_freep) History *h = NULL;
	const char *with_null[] = {"priority1", NULL};
	HistoryCounts c[HISTORY_MAX_APPS + 1] = {{0}};
	const char *many[HISTORY_MAX_APPS + 1];

	for (size_t i = 0; i <= HISTORY_MAX_APPS; i++)
		many[i] = "x";
	assert_int_equal(history_new(&h, 5), 0);
	add(h, 1, 1, 1);
	assert_int_equal(history_add(h, 2, 9, with_null, c, 2), -EINVAL);
	assert_int_equal(history_add(h, 2, 9, NULL, c, 2), -EINVAL);
	assert_int_equal(history_add(h, 2, 9, two, NULL, 2), -EINVAL);
	assert_int_equal(history_add(h, 2, 9, many, c, HISTORY_MAX_APPS + 1), -EINVAL);
	assert_int_equal(history_size(h), 1);
	assert_int_equal(history_n_apps(h), 2);
}

static void test_json(void **state)
{
	_cleanup_(history_freep) History *h = NULL;
	_cleanup_json_ cJSON *j = NULL;
	cJSON *apps, *samples, *s;

	assert_int_equal(history_new(&h, 3), 0);
	for (unsigned i = 0; i < 5; i++)
		add(h, 1764528000000ULL + 1000 * i, i, 8 - i);
	j = history_json(h, 1764528005000ULL);
	assert_non_null(j);
	assert_true(cJSON_GetObjectItem(j, "now")->valuedouble == 1764528005000.0);
	apps = cJSON_GetObjectItem(j, "apps");
	assert_int_equal(cJSON_GetArraySize(apps), 2);
	assert_string_equal(cJSON_GetArrayItem(apps, 0)->valuestring, "priority1");
	samples = cJSON_GetObjectItem(j, "samples");
	assert_int_equal(cJSON_GetArraySize(samples), 3);
	s = cJSON_GetArrayItem(samples, 0);
	assert_true(cJSON_GetObjectItem(s, "t")->valuedouble == 1764528002000.0);
	assert_int_equal(cJSON_GetObjectItem(s, "capacity")->valueint, 9);
	assert_int_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(s, "target"), 0)->valueint, 2);
	assert_int_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(s, "allocated"), 1)->valueint, 6);
	assert_int_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(s, "running"), 0)->valueint, 1);
	s = cJSON_GetArrayItem(samples, 2);
	assert_int_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(s, "target"), 0)->valueint, 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_empty),
	        cmocka_unit_test(test_bad_sizes),
	        cmocka_unit_test(test_oldest_first),
	        cmocka_unit_test(test_wraps_and_stays_bounded),
	        cmocka_unit_test(test_default_bound),
	        cmocka_unit_test(test_app_set_change_restarts),
	        cmocka_unit_test(test_bad_arguments_change_nothing),
	        cmocka_unit_test(test_json),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
