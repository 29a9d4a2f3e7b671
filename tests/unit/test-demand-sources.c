// SPDX-License-Identifier: Apache-2.0
/* Unit tests of the file and http sources' payload handling (a good document is merged in, a bad one changes
 * nothing and says why in one line), of a real file source on an sd-event loop (pick-up of a write and of an
 * atomic rename, a bad file keeps the last targets), and of the etcd answers the cluster source reads. */

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
#include <systemd/sd-event.h>
#include <unistd.h>

#include "force12/cluster.h"
#include "force12/config.h"
#include "force12/demand-sources.h"
#include "force12/etcd-json.h"
#include "force12/targets.h"

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

static int apply(const char *text, unsigned *targets, ErrorText *error)
{
	return demand_payload_apply(text, strlen(text), config, targets, error);
}

static void test_payload_good(void **state)
{
	unsigned t[CONFIG_MAX_APPS] = {0};
	ErrorText error = {};

	t[p1] = 1;
	t[p2] = 2;
	assert_int_equal(apply("{\"priority1\": 5}", t, &error), 1);
	assert_int_equal(t[p1], 5);
	assert_int_equal(t[p2], 2); /* not named: kept */
	assert_int_equal(apply("{\"priority1\": 5, \"priority2\": 2}", t, &error), 0);
	assert_int_equal(apply(" {\"priority2\": 0}\n", t, &error), 1);
	assert_int_equal(t[p2], 0);
}

/* Each bad document: -EINVAL, targets untouched, one line naming the problem. */
static void assert_refused(const char *text, size_t len, const char *needle)
{
	unsigned t[CONFIG_MAX_APPS] = {0};
	ErrorText error = {};

	t[p1] = 3;
	t[p2] = 4;
	assert_int_equal(demand_payload_apply(text, len, config, t, &error), -EINVAL);
	assert_int_equal(t[p1], 3);
	assert_int_equal(t[p2], 4);
	if (!strstr(error.text, needle))
		fail_msg("error.text \"%s\" does not contain \"%s\"", error.text, needle);
	assert_null(strchr(error.text, '\n'));
}

static void test_payload_bad(void **state)
{
	static char big[TARGETS_BODY_MAX + 2];

	assert_refused("{\"priority1\": ", 14, "malformed JSON");
	assert_refused("", 0, "empty");
	assert_refused("[1, 2]", 6, "object");
	assert_refused("{\"nosuch\": 1}", 13, "unknown app \"nosuch\"");
	assert_refused("{\"priority1\": 1, \"priority2\": -1}", 33, "priority2");
	assert_refused("{\"priority1\": 1.5}", 18, "integer");
	assert_refused("{\"priority1\": 1} x", 18, "after the JSON");
	memset(big, ' ', sizeof(big));
	assert_refused(big, sizeof(big), "over");
}

/* ---- a real file source ---- */

typedef struct Received {
	unsigned calls;
	unsigned targets[CONFIG_MAX_APPS];
} Received;

static void on_targets(const unsigned *targets, void *userdata)
{
	Received *r = userdata;

	r->calls++;
	memcpy(r->targets, targets, config->n_apps * sizeof(unsigned));
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* Runs the loop until the callback count reaches calls, or 2 s. */
static void run_until(sd_event *e, Received *got, unsigned calls)
{
	for (int i = 0; i < 200 && got->calls < calls; i++)
		assert_true(sd_event_run(e, 10 * 1000) >= 0);
}

static void test_file_source(void **state)
{
	char dir[] = "/tmp/force12-unit.XXXXXX", path[256], tmp[256];
	ErrorText error = {};
	FileSource *f = NULL;
	sd_event *e = NULL;
	Received got = {0};

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/targets.json", dir);
	snprintf(tmp, sizeof(tmp), "%s/.targets.json.new", dir);
	write_file(path, "{\"priority1\": 2}");
	assert_int_equal(sd_event_new(&e), 0);
	assert_int_equal(file_source_new(&f, e, path, config, on_targets, &got, &error), 0);
	/* Read once at start. */
	assert_int_equal(got.calls, 1);
	assert_int_equal(got.targets[p1], 2);
	assert_int_equal(got.targets[p2], TARGETS_UNSET);

	/* An atomic rename into place. */
	write_file(tmp, "{\"priority1\": 4, \"priority2\": 1}");
	assert_int_equal(rename(tmp, path), 0);
	run_until(e, &got, 2);
	assert_int_equal(got.calls, 2);
	assert_int_equal(got.targets[p1], 4);
	assert_int_equal(got.targets[p2], 1);

	/* A bad file: no call, the error in the status. */
	write_file(path, "{\"priority1\": oops}");
	for (int i = 0; i < 30; i++)
		assert_true(sd_event_run(e, 10 * 1000) >= 0);
	assert_int_equal(got.calls, 2);
	cJSON *st = file_source_status_json(f);
	assert_true(cJSON_IsString(cJSON_GetObjectItem(st, "error")));
	cJSON_Delete(st);

	/* A write in place (IN_CLOSE_WRITE) of a good one again. */
	write_file(path, "{\"priority2\": 7}");
	run_until(e, &got, 3);
	assert_int_equal(got.calls, 3);
	assert_int_equal(got.targets[p1], 4);
	assert_int_equal(got.targets[p2], 7);

	file_source_free(f);
	sd_event_unref(e);
	unlink(path);
	rmdir(dir);
}

static void test_file_source_bad_spec(void **state)
{
	ErrorText error = {};
	FileSource *f = NULL;
	sd_event *e = NULL;
	Received got = {0};

	assert_int_equal(sd_event_new(&e), 0);
	assert_int_equal(file_source_new(&f, e, "/nonexistent-dir-f12/targets.json", config, on_targets, &got, &error),
	                 -EINVAL);
	assert_non_null(strstr(error.text, "/nonexistent-dir-f12"));
	assert_int_equal(file_source_new(&f, e, "/tmp/", config, on_targets, &got, &error), -EINVAL);
	assert_null(f);
	sd_event_unref(e);
}

/* ---- etcd answers ---- */

static void test_base64(void **state)
{
	static const char *const texts[] = {"", "f", "fo", "foo", "foob", "/force12/nodes/host-1"};
	char *enc, *dec;
	size_t len;

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		enc = etcd_base64_encode(texts[i], strlen(texts[i]));
		assert_int_equal(etcd_base64_decode(enc, 100, &dec, &len), 0);
		assert_int_equal(len, strlen(texts[i]));
		assert_string_equal(dec, texts[i]);
		free(enc);
		free(dec);
	}
	assert_int_equal(etcd_base64_decode("Zm9v", 2, &dec, &len), -EPROTO); /* over the limit */
	assert_int_equal(etcd_base64_decode("Zm9", 100, &dec, &len), -EPROTO);
	assert_int_equal(etcd_base64_decode("Z=9v", 100, &dec, &len), -EPROTO);
	assert_int_equal(etcd_base64_decode("Zm9*", 100, &dec, &len), -EPROTO);
}

static void test_parse_range(void **state)
{
	/* A real answer of etcd 3.4 for the prefix /force12/. */
	const char *text =
	        "{\"header\":{\"cluster_id\":\"1\",\"member_id\":\"2\",\"revision\":\"7\",\"raft_term\":\"2\"},"
	        "\"kvs\":[{\"key\":\"L2ZvcmNlMTIvdGFyZ2V0cw==\",\"create_revision\":\"2\",\"mod_revision\""
	        ":\"2\",\"version\":\"1\",\"value\":\"eyJwcmlvcml0eTEiOjN9\"}],\"count\":\"1\"}";
	EtcdAnswer a;

	assert_int_equal(etcd_parse_range(text, strlen(text), &a), 0);
	assert_int_equal(a.revision, 7);
	assert_int_equal(a.n_kvs, 1);
	assert_string_equal(a.kvs[0].key, "/force12/targets");
	assert_string_equal(a.kvs[0].value, "{\"priority1\":3}");
	assert_int_equal(a.kvs[0].mod_revision, 2);
	etcd_answer_done(&a);
	/* No kvs at all. */
	text = "{\"header\":{\"revision\":\"3\"}}";
	assert_int_equal(etcd_parse_range(text, strlen(text), &a), 0);
	assert_int_equal(a.n_kvs, 0);
	etcd_answer_done(&a);
	/* Malformed: no revision, wrong types, bad base64. */
	static const char *const bad[] = {
	        "{}",
	        "{\"header\":{\"revision\":\"x\"}}",
	        "{\"header\":{\"revision\":\"3\"},\"kvs\":{}}",
	        "{\"header\":{\"revision\":\"3\"},\"kvs\":[{\"key\":\"***\"}]}",
	        "{\"header\":{\"revision\":\"3\"},\"kvs\":[{\"key\":\"\"}]}",
	        "{\"header\":{\"revision\":\"3\"},\"kvs\":[{\"key\":\"eA==\",\"value\":1}]}",
	        "[]",
	        "{\"header\":{\"revision\":\"3\"}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (etcd_parse_range(bad[i], strlen(bad[i]), &a) != -EPROTO)
			fail_msg("accepted: %s", bad[i]);
}

static void test_parse_watch(void **state)
{
	const char *created = "{\"result\":{\"header\":{\"revision\":\"2\"},\"created\":true}}";
	const char *events =
	        "{\"result\":{\"header\":{\"revision\":\"9\"},\"events\":[{\"kv\":{\"key\":"
	        "\"L2ZvcmNlMTIvbm9kZXMvYQ==\",\"mod_revision\":\"8\",\"value\":\"eyJjYXBhY2l0eSI6IDl9\"}},"
	        "{\"type\":\"DELETE\",\"kv\":{\"key\":\"L2ZvcmNlMTIvbm9kZXMvYg==\",\"mod_revision\":\"9\"}}]}}";
	const char *compacted = "{\"result\":{\"header\":{},\"canceled\":true,\"compact_revision\":\"4\"}}";
	EtcdAnswer a;

	assert_int_equal(etcd_parse_watch(created, strlen(created), &a), 0);
	assert_true(a.created);
	assert_false(a.canceled);
	etcd_answer_done(&a);
	assert_int_equal(etcd_parse_watch(events, strlen(events), &a), 0);
	assert_int_equal(a.n_kvs, 2);
	assert_string_equal(a.kvs[0].key, "/force12/nodes/a");
	assert_string_equal(a.kvs[0].value, "{\"capacity\": 9}");
	assert_false(a.kvs[0].deleted);
	assert_string_equal(a.kvs[1].key, "/force12/nodes/b");
	assert_true(a.kvs[1].deleted);
	assert_int_equal(a.revision, 9);
	etcd_answer_done(&a);
	assert_int_equal(etcd_parse_watch(compacted, strlen(compacted), &a), 0);
	assert_true(a.canceled);
	assert_int_equal(a.compact_revision, 4);
	etcd_answer_done(&a);
	/* An error object instead of a result, an unknown event type. */
	const char *err = "{\"error\":{\"grpc_code\":14,\"message\":\"unavailable\"}}";
	const char *type = "{\"result\":{\"events\":[{\"type\":\"MOVE\",\"kv\":{\"key\":\"eA==\"}}]}}";
	assert_int_equal(etcd_parse_watch(err, strlen(err), &a), -EPROTO);
	assert_int_equal(etcd_parse_watch(type, strlen(type), &a), -EPROTO);
}

static void test_parse_lease(void **state)
{
	const char *grant = "{\"header\":{\"revision\":\"1\"},\"ID\":\"4111120288928379653\",\"TTL\":\"10\"}";
	const char *alive =
	        "{\"result\":{\"header\":{\"revision\":\"2\"},\"ID\":\"4111120288928379653\",\"TTL\":\"9\"}}";
	const char *gone = "{\"result\":{\"header\":{\"revision\":\"2\"},\"ID\":\"123\"}}";
	EtcdAnswer a;

	assert_int_equal(etcd_parse_lease(grant, strlen(grant), &a), 0);
	assert_int_equal(a.lease_id, 4111120288928379653LL);
	assert_int_equal(a.ttl, 10);
	assert_int_equal(etcd_parse_lease(alive, strlen(alive), &a), 0);
	assert_int_equal(a.ttl, 9);
	assert_int_equal(etcd_parse_lease(gone, strlen(gone), &a), 0);
	assert_int_equal(a.ttl, 0);
	assert_int_equal(etcd_parse_lease("{\"TTL\":\"5\"}", 11, &a), -EPROTO); /* no ID */
}

static void test_endpoints(void **state)
{
	char **v;
	ErrorText error = {};
	size_t n;

	assert_int_equal(cluster_parse_endpoints("127.0.0.1:2379,etcd-2.example:22379", &v, &n, &error), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0], "http://127.0.0.1:2379");
	assert_string_equal(v[1], "http://etcd-2.example:22379");
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
	static const char *const bad[] = {"",         "host",  "host:",    ":2379", "a:1,",
	                                  "a:1,,b:2", "a b:1", "a:123456", "a:1/x"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (cluster_parse_endpoints(bad[i], &v, &n, &error) != -EINVAL)
			fail_msg("accepted: \"%s\"", bad[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_payload_good), cmocka_unit_test(test_payload_bad),
	        cmocka_unit_test(test_file_source),  cmocka_unit_test(test_file_source_bad_spec),
	        cmocka_unit_test(test_base64),       cmocka_unit_test(test_parse_range),
	        cmocka_unit_test(test_parse_watch),  cmocka_unit_test(test_parse_lease),
	        cmocka_unit_test(test_endpoints),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
