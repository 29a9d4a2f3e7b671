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
#include "force12/cluster.h"
#include "force12/config.h"
#include "force12/etcd-json.h"

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

/* Finding 9 of #15: a registration flood. Registrations over SPLIT_MAX_NODES and malformed ones are ignored and
 * counted; one slot stays free for this node, so a flood that came first cannot push it out of the split. */
static void test_registration_flood_keeps_a_slot_for_self(void **state)
{
	ClusterView v;
	char key[64];
	int64_t rev = 1;

	cluster_view_init(&v, config);
	v.self = "zz-self";
	event(&v, rev++, "/force12/targets", "{\"priority1\": 5000}");
	for (int i = 0; i < SPLIT_MAX_NODES + 100; i++) {
		snprintf(key, sizeof(key), "/force12/nodes/flood-%04d", i);
		event(&v, rev++, key, "{\"capacity\": 1}");
	}
	assert_int_equal(v.n_members, SPLIT_MAX_NODES - 1);
	assert_int_equal(v.ignored_over_cap, 101);
	assert_true(v.logged_over_cap);
	/* Junk: counted, not members. */
	for (int i = 0; i < 50; i++) {
		snprintf(key, sizeof(key), "/force12/nodes/junk-%d", i);
		event(&v, rev++, key, "{\"capacity\": -1}");
	}
	event(&v, rev++, "/force12/nodes/bad id", "{\"capacity\": 1}");
	assert_int_equal(v.ignored_malformed, 51);
	assert_int_equal(v.n_members, SPLIT_MAX_NODES - 1);
	/* This node registers last and still gets in, with its share: 5000 - 1023 over capacity 9. */
	event(&v, rev++, "/force12/nodes/zz-self", "{\"capacity\": 9}");
	assert_int_equal(v.n_members, SPLIT_MAX_NODES);
	assert_share(&v, "zz-self", 1, 9, 0);
	/* Full: another one is ignored. */
	event(&v, rev++, "/force12/nodes/late", "{\"capacity\": 9}");
	assert_null(cluster_view_find(&v, "late"));
	assert_int_equal(v.ignored_over_cap, 102);
	/* A reset (a full read) starts the counts and the log-once afresh. */
	cluster_view_reset(&v);
	assert_int_equal(v.ignored_over_cap, 0);
	assert_int_equal(v.ignored_malformed, 0);
	assert_false(v.logged_over_cap);
	cluster_view_done(&v);
}

/* A self-signed certificate made for this test with openssl (-days 30); its dates as openssl prints them. */
static const char test_cert[] = "-----BEGIN CERTIFICATE-----\n"
                                "MIIBjTCCATOgAwIBAgIUP4kUefrXkAjR6cFmSescM7/QSCYwCgYIKoZIzj0EAwIw\n"
                                "HDEaMBgGA1UECgwRZm9yY2UxMi11bml0LXRlc3QwHhcNMjYxMTMwMTkxMjI3WhcN\n"
                                "MjYxMjMwMTkxMjI3WjAcMRowGAYDVQQKDBFmb3JjZTEyLXVuaXQtdGVzdDBZMBMG\n"
                                "ByqGSM49AgEGCCqGSM49AwEHA0IABGRlKTBnYPDJ2lxbNl9m3o9/ckGj+ipW6bFM\n"
                                "CJK+8yXXSLVnUCDVURr3AdqHcuf1MvR6R//YcVy456BuScq1r+CjUzBRMB0GA1Ud\n"
                                "DgQWBBSEqMnuLsA+LWB2IVK02EtucZyFNDAfBgNVHSMEGDAWgBSEqMnuLsA+LWB2\n"
                                "IVK02EtucZyFNDAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0gAMEUCIEea\n"
                                "UNb7rhjW8QIH4uh6nKacI15p3atYijY8Yl0fRilQAiEArVrRcGvhMCkImFpLIwH9\n"
                                "gHRoMlOdtA9p/etXs714f1c=\n"
                                "-----END CERTIFICATE-----\n";

static void test_cert_validity(void **state)
{
	int64_t nb = 0, na = 0;
	char *cut;

	assert_int_equal(etcd_cert_validity(test_cert, strlen(test_cert), &nb, &na), 0);
	assert_int_equal(nb, 1796065947LL);
	assert_int_equal(na, 1798657947LL);
	/* Not a certificate, or cut short: refused. */
	assert_int_equal(etcd_cert_validity("hello", 5, &nb, &na), -EPROTO);
	cut = strdup(test_cert);
	assert_non_null(cut);
	memcpy(strstr(cut, "-----END") - 40, "AAAA", 4);
	strcpy(strstr(cut, "CERTIFICATE-----") + 17, "AAAA\n-----END CERTIFICATE-----\n");
	assert_int_equal(etcd_cert_validity(cut, strlen(cut), &nb, &na), -EPROTO);
	free(cut);
}

static void test_endpoints_and_token(void **state)
{
	ErrorText error = {};
	char **v = NULL, *token = NULL;
	size_t n = 0;

	assert_int_equal(cluster_parse_endpoints("10.0.0.1:2379,https://etcd-2:2379,http://[::1]:2379", &v, &n, &error),
	                 0);
	assert_int_equal(n, 3);
	assert_string_equal(v[0], "http://10.0.0.1:2379");
	assert_string_equal(v[1], "https://etcd-2:2379");
	assert_string_equal(v[2], "http://[::1]:2379");
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
	assert_int_equal(cluster_parse_endpoints("ftp://x:1", &v, &n, &error), -EINVAL);
	assert_int_equal(cluster_parse_endpoints("https://", &v, &n, &error), -EINVAL);
	assert_non_null(strstr(error.text, "https://"));

	assert_int_equal(etcd_parse_token("{\"token\": \"abc.12\"}", 19, &token), 0);
	assert_string_equal(token, "abc.12");
	free(token);
	/* A token goes into a header line: nothing that could end it or add another. */
	assert_int_equal(etcd_parse_token("{\"token\": \"a\\r\\nX: y\"}", 23, &token), -EPROTO);
	assert_int_equal(etcd_parse_token("{\"token\": \"\"}", 13, &token), -EPROTO);
	assert_int_equal(etcd_parse_token("{\"error\": \"x\"}", 14, &token), -EPROTO);
	char *body = etcd_body_authenticate("force12", "p\"w");
	assert_non_null(body);
	assert_string_equal(body, "{\"name\":\"force12\",\"password\":\"p\\\"w\"}");
	free(body);
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
	        cmocka_unit_test(test_registration_flood_keeps_a_slot_for_self),
	        cmocka_unit_test(test_cert_validity),
	        cmocka_unit_test(test_endpoints_and_token),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
