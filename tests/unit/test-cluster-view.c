// SPDX-License-Identifier: Apache-2.0
/* Unit tests of the cluster view: etcd events in (as the watch hands them over), members, totals and this node's
 * share out. A node joining and leaving moves the share; a bad registration or bad totals change nothing; a node
 * that is not a member (its lease was lost) gets nothing. */

/* cmocka.h needs these four first; its own block keeps clang-format's include sorting from moving it up. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "force12/cluster-view.h"
#include "force12/config.h"

static Config *config;
static size_t p1, p2;

static int setup(void **state)
{
	int r = config_new_default(&config);

	p1 = (size_t)config_find_app(config, "priority1");
	p2 = (size_t)config_find_app(config, "priority2");
	return r;
}

static int teardown(void **state)
{
	config = config_free(config);
	return 0;
}

/* One event; value NULL is a DELETE. */
static void event(ClusterView *v, int64_t rev, const char *key, const char *value)
{
	EtcdKv kv = {
	        .key = (char *)key,
	        .value = (char *)(value ? value : ""),
	        .value_len = value ? strlen(value) : 0,
	        .mod_revision = rev,
	        .deleted = !value,
	};

	cluster_view_apply(v, &kv);
}

static void assert_share(const ClusterView *v, const char *node, int member, unsigned want1, unsigned want2)
{
	unsigned share[CONFIG_MAX_APPS];

	assert_int_equal(cluster_view_share(v, node, share), member);
	assert_int_equal(share[p1], want1);
	assert_int_equal(share[p2], want2);
}

static void test_join_and_leave(void **state)
{
	ClusterView v;

	cluster_view_init(&v, config);
	event(&v, 2, "/force12/targets", "{\"priority1\": 12, \"priority2\": 9}");
	event(&v, 3, "/force12/nodes/b", "{\"capacity\": 9}");
	assert_share(&v, "b", 1, 9, 0);
	event(&v, 4, "/force12/nodes/a", "{\"capacity\": 9}");
	event(&v, 5, "/force12/nodes/c", "{\"capacity\": 9}");
	assert_int_equal(v.n_members, 3);
	assert_string_equal(v.members[0].id, "a"); /* kept sorted */
	assert_int_equal(v.revision, 5);
	assert_share(&v, "a", 1, 4, 3);
	assert_share(&v, "c", 1, 4, 3);
	/* c's lease expires: a and b take its share over. */
	event(&v, 6, "/force12/nodes/c", NULL);
	assert_share(&v, "a", 1, 6, 3);
	assert_share(&v, "b", 1, 6, 3);
	assert_share(&v, "c", 0, 0, 0); /* no longer a member: nothing */
	/* A registration again with another capacity. */
	event(&v, 7, "/force12/nodes/b", "{\"capacity\": 3}");
	assert_share(&v, "b", 1, 3, 0);
	assert_share(&v, "a", 1, 9, 0);
	cluster_view_done(&v);
}

static void test_bad_values_change_nothing(void **state)
{
	ClusterView v;

	cluster_view_init(&v, config);
	event(&v, 2, "/force12/targets", "{\"priority1\": 4, \"priority2\": 2}");
	event(&v, 3, "/force12/nodes/a", "{\"capacity\": 9}");
	/* Bad totals: the last good ones stay. */
	event(&v, 4, "/force12/targets", "{\"priority1\": -1}");
	event(&v, 5, "/force12/targets", "{\"nosuch\": 1}");
	event(&v, 6, "/force12/targets", "not json");
	assert_share(&v, "a", 1, 4, 2);
	/* Bad registrations are ignored: a bad capacity, a bad id, a too long id. */
	event(&v, 7, "/force12/nodes/b", "{\"capacity\": \"nine\"}");
	event(&v, 8, "/force12/nodes/c", "{\"capacity\": 1.5}");
	event(&v, 9, "/force12/nodes/bad id", "{\"capacity\": 9}");
	event(&v, 10, "/force12/nodes/", "{\"capacity\": 9}");
	assert_int_equal(v.n_members, 1);
	/* A bad value for a known member keeps its last capacity. */
	event(&v, 11, "/force12/nodes/a", "{}");
	assert_int_equal(v.members[0].capacity, 9);
	/* Keys outside ours are ignored but move the revision. */
	event(&v, 12, "/force12/other", "x");
	assert_int_equal(v.revision, 12);
	assert_share(&v, "a", 1, 4, 2);
	cluster_view_done(&v);
}

static void test_totals_deleted_and_unnamed(void **state)
{
	ClusterView v;

	cluster_view_init(&v, config);
	event(&v, 2, "/force12/nodes/a", "{\"capacity\": 9}");
	event(&v, 3, "/force12/targets", "{\"priority1\": 4, \"priority2\": 2}");
	/* An app the totals do not name has 0: the cluster owns every app. */
	event(&v, 4, "/force12/targets", "{\"priority2\": 5}");
	assert_share(&v, "a", 1, 0, 5);
	event(&v, 5, "/force12/targets", NULL);
	assert_share(&v, "a", 1, 0, 0);
	/* A full read starts from nothing. */
	event(&v, 6, "/force12/targets", "{\"priority1\": 1}");
	cluster_view_reset(&v);
	assert_int_equal(v.n_members, 0);
	assert_share(&v, "a", 0, 0, 0);
	cluster_view_done(&v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_join_and_leave),
	        cmocka_unit_test(test_bad_values_change_nothing),
	        cmocka_unit_test(test_totals_deleted_and_unnamed),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
