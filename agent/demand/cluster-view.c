// SPDX-License-Identifier: Apache-2.0
/* The cluster view (see cluster-view.h): etcd's kvs in, members and totals kept, this node's share out. Pure, so
 * that the tests can replay any sequence of etcd events without an etcd. */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "force12/cluster-view.h"
#include "force12/json.h"
#include "force12/log.h"
#include "force12/targets.h"

void cluster_view_init(ClusterView *v, const Config *config)
{
	*v = (ClusterView){.config = config};
}

void cluster_view_done(ClusterView *v)
{
	free(v->members);
	v->members = NULL;
	v->n_members = 0;
}

void cluster_view_reset(ClusterView *v)
{
	v->n_members = 0;
	memset(v->totals, 0, sizeof(v->totals));
	v->ignored_over_cap = v->ignored_malformed = 0;
	v->logged_over_cap = v->logged_malformed = false;
}

static int member_cmp(const void *a, const void *b)
{
	return strcmp(((const ClusterMember *)a)->id, ((const ClusterMember *)b)->id);
}

const ClusterMember *cluster_view_find(const ClusterView *v, const char *id)
{
	ClusterMember key;

	if (v->n_members == 0)
		return NULL; /* bsearch() must not be given a NULL array */
	snprintf(key.id, sizeof(key.id), "%s", id);
	return bsearch(&key, v->members, v->n_members, sizeof(ClusterMember), member_cmp);
}

bool cluster_node_id_is_valid(const char *id)
{
	size_t n = strlen(id);

	return n > 0 && n <= SPLIT_NODE_ID_MAX &&
	       strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

/* {"capacity": N} with N an integer in 0..CONFIG_MAX_CAPACITY; anything else is refused. */
static int parse_capacity(const char *text, size_t len, unsigned *ret)
{
	_cleanup_json_ cJSON *j = cJSON_ParseWithLength(text, len);
	const cJSON *cap = cJSON_GetObjectItemCaseSensitive(j, "capacity");

	if (!cJSON_IsObject(j) || !cJSON_IsNumber(cap) || !(cap->valuedouble >= 0) ||
	    cap->valuedouble > CONFIG_MAX_CAPACITY || cap->valuedouble != (double)(unsigned)cap->valuedouble)
		return -EINVAL;
	*ret = (unsigned)cap->valuedouble;
	return 0;
}

static void member_remove(ClusterView *v, const char *id)
{
	ClusterMember *m = (ClusterMember *)cluster_view_find(v, id);

	if (!m)
		return;
	memmove(m, m + 1, (size_t)(v->members + v->n_members - m - 1) * sizeof(ClusterMember));
	v->n_members--;
}

static void member_put(ClusterView *v, const char *id, const EtcdKv *kv)
{
	ClusterMember *m;
	unsigned capacity;

	if (!cluster_node_id_is_valid(id) || parse_capacity(kv->value, kv->value_len, &capacity) < 0) {
		/* A flood of junk must not flood the log: the first is logged, the rest counted (status). */
		v->ignored_malformed++;
		if (!v->logged_malformed)
			log_warning(
			        "etcd: %s%.64s: expected a node id and {\"capacity\": N}, ignoring it (and counting "
			        "further ones in the status only)",
			        CLUSTER_NODES_PREFIX, id);
		v->logged_malformed = true;
		return;
	}
	m = (ClusterMember *)cluster_view_find(v, id);
	if (!m) {
		/* One slot stays free for this node, whoever registers first. */
		bool is_self = v->self && streq(id, v->self);
		size_t cap = SPLIT_MAX_NODES - (v->self && !is_self && !cluster_view_find(v, v->self) ? 1 : 0);
		if (v->n_members >= cap) {
			v->ignored_over_cap++;
			if (!v->logged_over_cap)
				log_warning("etcd: more than %d nodes registered, ignoring %.64s (and counting further "
				            "ones "
				            "in the status only)",
				            SPLIT_MAX_NODES, id);
			v->logged_over_cap = true;
			return;
		}
		ClusterMember *a = reallocarray(v->members, v->n_members + 1, sizeof(ClusterMember));
		if (!a) {
			log_warning("etcd: out of memory for node %s, ignoring", id);
			return;
		}
		v->members = a;
		m = &v->members[v->n_members++];
		snprintf(m->id, sizeof(m->id), "%s", id);
	}
	m->capacity = capacity;
	qsort(v->members, v->n_members, sizeof(ClusterMember), member_cmp);
}

static void totals_put(ClusterView *v, const EtcdKv *kv)
{
	ErrorText error = {};
	unsigned t[CONFIG_MAX_APPS];

	if (kv->deleted) {
		memset(v->totals, 0, sizeof(v->totals));
		return;
	}
	if (targets_parse(kv->value, kv->value_len, v->config, false, t, &error) < 0) {
		log_error("etcd: %s at revision %" PRId64 ": %s; keeping the last totals", CLUSTER_TARGETS_KEY,
		          kv->mod_revision, error.text);
		return;
	}
	/* The cluster owns every app: one not named has a total of 0. */
	for (size_t i = 0; i < v->config->n_apps; i++)
		v->totals[i] = t[i] == TARGETS_UNSET ? 0 : t[i];
}

void cluster_view_apply(ClusterView *v, const EtcdKv *kv)
{
	if (streq(kv->key, CLUSTER_TARGETS_KEY))
		totals_put(v, kv);
	else if (strncmp(kv->key, CLUSTER_NODES_PREFIX, strlen(CLUSTER_NODES_PREFIX)) == 0) {
		const char *id = kv->key + strlen(CLUSTER_NODES_PREFIX);
		if (kv->deleted)
			member_remove(v, id);
		else
			member_put(v, id, kv);
	}
	v->revision = MAX(v->revision, kv->mod_revision);
}

int cluster_view_share(const ClusterView *v, const char *node_id, unsigned *ret)
{
	size_t n_apps = v->config->n_apps;
	const ClusterMember *self;
	int r;

	_cleanup_free_ SplitNode *nodes = calloc(v->n_members + 1, sizeof(SplitNode));
	_cleanup_free_ unsigned *rows = calloc((v->n_members + 1) * n_apps, sizeof(unsigned));
	if (!nodes || !rows)
		return -ENOMEM;
	for (size_t i = 0; i < v->n_members; i++)
		nodes[i] = (SplitNode){v->members[i].id, v->members[i].capacity};
	r = split_compute(v->config, v->totals, nodes, v->n_members, rows);
	if (r < 0)
		return r;
	self = cluster_view_find(v, node_id);
	memset(ret, 0, n_apps * sizeof(unsigned));
	if (!self)
		return 0;
	memcpy(ret, rows + (size_t)(self - v->members) * n_apps, n_apps * sizeof(unsigned));
	return 1;
}
