// SPDX-License-Identifier: Apache-2.0
/* Unit tests of the cluster split: totals below, at and above the cluster's capacity, unequal capacities, a node
 * joining and leaving, and that every member order gives the same split. Properties are checked on many random
 * inputs as well: no node over its capacity, each app gets min(total, capacity left), shares even within 1. */

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

#include "force12/config.h"
#include "force12/split.h"
#include "force12/targets.h"

/* The embedded default: priority1 (priority 1), priority2 (priority 2). */
static Config *config;

static int setup(void **state)
{
	return config_new_default(&config);
}

static int teardown(void **state)
{
	config = config_free(config);
	return 0;
}

static unsigned share(const unsigned *ret, size_t node, const char *app)
{
	return ret[node * config->n_apps + (size_t)config_find_app(config, app)];
}

static void totals_of(unsigned p1, unsigned p2, unsigned *totals)
{
	totals[config_find_app(config, "priority1")] = p1;
	totals[config_find_app(config, "priority2")] = p2;
}

/* Asserts row i of ret, priority1 then priority2. */
static void assert_row(const unsigned *ret, size_t i, unsigned p1, unsigned p2)
{
	assert_int_equal(share(ret, i, "priority1"), p1);
	assert_int_equal(share(ret, i, "priority2"), p2);
}

static void test_below_capacity(void **state)
{
	SplitNode nodes[] = {{"host-1", 9}, {"host-2", 9}, {"host-3", 9}};
	unsigned totals[2], ret[3 * 2];

	totals_of(12, 9, totals);
	assert_int_equal(split_compute(config, totals, nodes, 3, ret), 0);
	for (size_t i = 0; i < 3; i++)
		assert_row(ret, i, 4, 3);
}

static void test_at_capacity(void **state)
{
	SplitNode nodes[] = {{"host-1", 9}, {"host-2", 9}, {"host-3", 9}};
	unsigned totals[2], ret[3 * 2];

	totals_of(18, 9, totals);
	assert_int_equal(split_compute(config, totals, nodes, 3, ret), 0);
	for (size_t i = 0; i < 3; i++)
		assert_row(ret, i, 6, 3);
}

/* 20 + 20 over 27 slots: priority1 gets its 20 (7, 7, 6: the odd ones to the smallest ids), priority2 the 7 left,
 * the odd one to the node with the most room. */
static void test_above_capacity(void **state)
{
	SplitNode nodes[] = {{"host-1", 9}, {"host-2", 9}, {"host-3", 9}};
	unsigned totals[2], ret[3 * 2];

	totals_of(20, 20, totals);
	assert_int_equal(split_compute(config, totals, nodes, 3, ret), 0);
	assert_row(ret, 0, 7, 2);
	assert_row(ret, 1, 7, 2);
	assert_row(ret, 2, 6, 3);
	/* The more important app wins all of it: priority2 gets nothing. */
	totals_of(40, 5, totals);
	assert_int_equal(split_compute(config, totals, nodes, 3, ret), 0);
	for (size_t i = 0; i < 3; i++)
		assert_row(ret, i, 9, 0);
}

static void test_unequal_capacities(void **state)
{
	SplitNode nodes[] = {{"a", 2}, {"b", 10}, {"c", 5}};
	unsigned totals[2], ret[3 * 2];

	totals_of(12, 9, totals);
	assert_int_equal(split_compute(config, totals, nodes, 3, ret), 0);
	/* priority1: 4 each but a holds 2; the 2 left go to b and c. priority2: only b has room, 5. */
	assert_row(ret, 0, 2, 0);
	assert_row(ret, 1, 5, 5);
	assert_row(ret, 2, 5, 0);
	/* A node of capacity 0 is a member that gets nothing. */
	SplitNode with_zero[] = {{"a", 0}, {"b", 3}};
	totals_of(2, 2, totals);
	assert_int_equal(split_compute(config, totals, with_zero, 2, ret), 0);
	assert_row(ret, 0, 0, 0);
	assert_row(ret, 1, 2, 1);
}

static void test_join_and_leave(void **state)
{
	SplitNode three[] = {{"host-1", 9}, {"host-2", 9}, {"host-3", 9}};
	SplitNode four[] = {{"host-1", 9}, {"host-2", 9}, {"host-3", 9}, {"host-4", 9}};
	SplitNode two[] = {{"host-1", 9}, {"host-3", 9}};
	unsigned totals[2], ret[4 * 2];

	totals_of(12, 9, totals);
	assert_int_equal(split_compute(config, totals, four, 4, ret), 0);
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(share(ret, i, "priority1"), 3);
	/* 9 over 4 with equal room left: 2 each, the odd one to the smallest id. */
	assert_int_equal(share(ret, 0, "priority2"), 3);
	unsigned sum = 0;
	for (size_t i = 0; i < 4; i++) {
		sum += share(ret, i, "priority2");
		assert_in_range(share(ret, i, "priority2"), 2, 3);
	}
	assert_int_equal(sum, 9);
	/* host-2 leaves: the two survivors take its share, up to their capacity (6 + 3 each). */
	assert_int_equal(split_compute(config, totals, two, 2, ret), 0);
	assert_row(ret, 0, 6, 3);
	assert_row(ret, 1, 6, 3);
	/* And back to three. */
	assert_int_equal(split_compute(config, totals, three, 3, ret), 0);
	for (size_t i = 0; i < 3; i++)
		assert_row(ret, i, 4, 3);
}

static void test_no_nodes_and_unset(void **state)
{
	SplitNode one[] = {{"only", 9}};
	unsigned totals[2] = {TARGETS_UNSET, TARGETS_UNSET}, ret[2];

	assert_int_equal(split_compute(config, totals, NULL, 0, ret), 0);
	assert_int_equal(split_compute(config, totals, one, 1, ret), 0);
	assert_row(ret, 0, 0, 0);
}

static void test_duplicate_ids_refused(void **state)
{
	SplitNode nodes[] = {{"x", 9}, {"y", 9}, {"x", 3}};
	unsigned totals[2], ret[3 * 2];

	totals_of(1, 1, totals);
	assert_int_equal(split_compute(config, totals, nodes, 3, ret), -EINVAL);
}

static uint64_t rng = 88172645463325252ULL;
static unsigned rnd(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % n);
}

/* Properties over a random input: capacity, the cluster total per app, evenness. */
static void check_properties(const SplitNode *nodes, size_t n, const unsigned *totals, const unsigned *ret)
{
	static const char *const order[] = {"priority1", "priority2"};
	unsigned left = 0, used[64] = {0};

	for (size_t i = 0; i < n; i++)
		left += nodes[i].capacity;
	for (size_t o = 0; o < 2; o++) {
		size_t app = (size_t)config_find_app(config, order[o]);
		unsigned sum = 0, want = MIN(totals[app], left), lo = UINT32_MAX, hi = 0;
		for (size_t i = 0; i < n; i++) {
			unsigned s = ret[i * config->n_apps + app];
			sum += s;
			/* Evenness among the nodes that were not full after this app. */
			if (used[i] + s < nodes[i].capacity) {
				lo = MIN(lo, s);
				hi = MAX(hi, s);
			}
			used[i] += s;
		}
		assert_int_equal(sum, want);
		if (lo != UINT32_MAX)
			assert_true(hi <= lo + 1);
		left -= sum;
	}
	for (size_t i = 0; i < n; i++)
		assert_true(used[i] <= nodes[i].capacity);
}

/* The same members in any order give every node the same share. */
static void test_order_does_not_matter(void **state)
{
	static const char *const ids[] = {"n0", "n1", "n2", "n3", "n4", "n5", "n6", "n7"};

	for (unsigned round = 0; round < 2000; round++) {
		SplitNode nodes[8], shuffled[8];
		unsigned totals[2], ret[8 * 2], ret2[8 * 2];
		size_t n = 1 + rnd(8), perm[8];

		for (size_t i = 0; i < n; i++) {
			nodes[i] = (SplitNode){ids[i], rnd(12)};
			perm[i] = i;
		}
		totals_of(rnd(60), rnd(60), totals);
		for (size_t i = n - 1; i > 0; i--) {
			size_t j = rnd((unsigned)i + 1), t = perm[i];
			perm[i] = perm[j];
			perm[j] = t;
		}
		for (size_t i = 0; i < n; i++)
			shuffled[i] = nodes[perm[i]];
		assert_int_equal(split_compute(config, totals, nodes, n, ret), 0);
		assert_int_equal(split_compute(config, totals, shuffled, n, ret2), 0);
		for (size_t i = 0; i < n; i++)
			for (size_t a = 0; a < config->n_apps; a++)
				assert_int_equal(ret2[i * config->n_apps + a], ret[perm[i] * config->n_apps + a]);
		check_properties(nodes, n, totals, ret);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_below_capacity),        cmocka_unit_test(test_at_capacity),
	        cmocka_unit_test(test_above_capacity),        cmocka_unit_test(test_unequal_capacities),
	        cmocka_unit_test(test_join_and_leave),        cmocka_unit_test(test_no_nodes_and_unset),
	        cmocka_unit_test(test_duplicate_ids_refused), cmocka_unit_test(test_order_does_not_matter),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
