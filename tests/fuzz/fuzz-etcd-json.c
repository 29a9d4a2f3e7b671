// SPDX-License-Identifier: Apache-2.0
/* Fuzzes the parsers of the etcd v3 JSON gateway's answers (range, watch message, lease, error text), and the
 * cluster view fed with the watch events it accepts: whatever the bytes, a parse either fails with -EPROTO (or -ENOMEM)
 * and writes nothing, or gives keys without NULs within ETCD_KEY_MAX, values within ETCD_VALUE_MAX, non-negative
 * revisions; the error text is one printable line. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "force12/cluster-view.h"
#include "force12/etcd-json.h"
#include "force12/log.h"
#include "fuzz.h"

static void check_answer(int r, const EtcdAnswer *a)
{
	CHECK(r == 0 || r == -EPROTO || r == -ENOMEM);
	if (r < 0) {
		/* Untouched: still the poison the caller put there. */
		CHECK(a->revision == -1 && a->kvs == NULL && a->n_kvs == 0);
		return;
	}
	CHECK(a->revision >= 0 && a->n_kvs <= ETCD_KVS_MAX);
	for (size_t i = 0; i < a->n_kvs; i++) {
		size_t klen = strlen(a->kvs[i].key);
		CHECK(klen > 0 && klen <= ETCD_KEY_MAX);
		CHECK(a->kvs[i].value_len <= ETCD_VALUE_MAX);
		CHECK(a->kvs[i].value[a->kvs[i].value_len] == 0);
		CHECK(a->kvs[i].mod_revision >= 0);
		CHECK(!a->kvs[i].deleted || a->kvs[i].value_len == 0);
	}
}

/* What the cluster source does with a watch message: apply its events to a view and take a share. Whatever the
 * events said, no member runs more than its capacity, and a node that is not a member gets nothing. */
static void check_view(const EtcdAnswer *a)
{
	static Config *c = NULL;
	unsigned share[CONFIG_MAX_APPS];
	ClusterView v;

	if (!c) {
		log_set_max_level(LOG_EMERG); /* the refusals it logs are expected */
		CHECK(config_new_default(&c) == 0);
	}
	cluster_view_init(&v, c);
	for (int round = 0; round < 2; round++)
		for (size_t i = 0; i < a->n_kvs; i++)
			cluster_view_apply(&v, &a->kvs[i]);
	for (size_t m = 0; m < v.n_members; m++) {
		unsigned sum = 0;
		CHECK(cluster_view_share(&v, v.members[m].id, share) == 1);
		for (size_t i = 0; i < c->n_apps; i++)
			sum += share[i];
		CHECK(sum <= v.members[m].capacity);
	}
	CHECK(cluster_view_share(&v, "not a member id", share) == 0);
	for (size_t i = 0; i < c->n_apps; i++)
		CHECK(share[i] == 0);
	cluster_view_done(&v);
}

/* Base64 round trip of the input's own bytes: what is encoded decodes to the same. */
static void check_base64(const uint8_t *data, size_t size)
{
	char *enc = etcd_base64_encode(data, size), *dec = NULL;
	size_t len = 0;

	CHECK(enc);
	CHECK(etcd_base64_decode(enc, size, &dec, &len) == 0);
	CHECK(len == size && memcmp(dec, data, size) == 0);
	free(enc);
	free(dec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	EtcdAnswer a = {.revision = -1};
	char line[160];
	int r;

	check_answer(etcd_parse_range(text, size, &a), &a);
	etcd_answer_done(&a);
	a = (EtcdAnswer){.revision = -1};
	r = etcd_parse_watch(text, size, &a);
	check_answer(r, &a);
	if (r == 0)
		check_view(&a);
	etcd_answer_done(&a);
	a = (EtcdAnswer){.revision = -1};
	r = etcd_parse_lease(text, size, &a);
	CHECK(r == 0 || r == -EPROTO);
	if (r == 0)
		CHECK(a.lease_id != 0 && a.ttl >= 0);
	etcd_error_text(text, size, line, sizeof(line));
	CHECK(strlen(line) < sizeof(line));
	for (size_t i = 0; line[i]; i++)
		CHECK((unsigned char)line[i] >= 0x20 && line[i] != 0x7f);
	if (size <= 4096)
		check_base64(data, size);
	return 0;
}
