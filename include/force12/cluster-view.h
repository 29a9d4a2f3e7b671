// SPDX-License-Identifier: Apache-2.0
/* What a cluster-mode agent knows of etcd: the members and the totals as of a revision, built from etcd's kvs and
 * watch events, and this node's row of the split of them. Pure: no I/O (it only logs what it refuses). A bad
 * value changes nothing: a bad node registration is ignored, bad totals keep the last good ones. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "force12/config.h"
#include "force12/etcd-json.h"
#include "force12/split.h"

#define CLUSTER_PREFIX       "/force12/"
#define CLUSTER_TARGETS_KEY  "/force12/targets"
#define CLUSTER_NODES_PREFIX "/force12/nodes/"

typedef struct ClusterMember {
	char id[SPLIT_NODE_ID_MAX + 1];
	unsigned capacity;
} ClusterMember;

typedef struct ClusterView {
	const Config *config;
	int64_t revision;
	ClusterMember *members; /* sorted by id */
	size_t n_members;
	unsigned totals[CONFIG_MAX_APPS]; /* apps the totals do not name have 0 */
	/* This node's id (NULL: none): a slot of the SPLIT_MAX_NODES stays free for it, so that a flood of
	 * registrations cannot push it out of the split. Set by the owner; must outlive the view. */
	const char *self;
	/* Registrations ignored since the last reset: over the cap, or malformed (each kind logged once). */
	unsigned ignored_over_cap, ignored_malformed;
	bool logged_over_cap, logged_malformed;
} ClusterView;

void cluster_view_init(ClusterView *v, const Config *config);
void cluster_view_done(ClusterView *v);
/* Before a full read: no members, no totals, no ignored registrations. */
void cluster_view_reset(ClusterView *v);
/* A kv of a range answer or a watch event (deleted set for a DELETE). Keys outside /force12/ are ignored. */
void cluster_view_apply(ClusterView *v, const EtcdKv *kv);
const ClusterMember *cluster_view_find(const ClusterView *v, const char *id);
/* This node's row of split_compute() into ret (config->n_apps counts). Returns 1 if node_id is a member, 0 if
 * not (ret all 0: the others have its share), negative errno on failure (ret untouched). */
int cluster_view_share(const ClusterView *v, const char *node_id, unsigned *ret);
bool cluster_node_id_is_valid(const char *id);
