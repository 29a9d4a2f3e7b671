// SPDX-License-Identifier: Apache-2.0
/* The cluster split: how the cluster-wide totals are shared over the live nodes. Every agent runs the same pure
 * function on the same input (totals + members) and takes its own row, so no coordination is needed beyond etcd.
 * It must never depend on the order the members were listed in, on time, or on anything local. */
#pragma once

#include <stddef.h>

#include "force12/config.h"

#define SPLIT_MAX_NODES   1024
#define SPLIT_NODE_ID_MAX 199

typedef struct SplitNode {
	const char *id; /* unique; the tie-break */
	unsigned capacity;
} SplitNode;

/* apps: the config's apps (their priority and name give the order); totals: n_apps cluster totals (TARGETS_UNSET
 * counts as 0). nodes: n_nodes members in any order, ids unique. ret: n_nodes * n_apps counts, row i for nodes[i]
 * as passed. Apps are served in (priority, name) order; each app's count min(total, capacity left) is spread as
 * evenly as the capacity left on each node allows; an odd container goes to the node with the most capacity left,
 * then the smallest id. Returns -EINVAL on duplicate ids or too many nodes, 0 otherwise. */
int split_compute(const Config *config, const unsigned *totals, const SplitNode *nodes, size_t n_nodes, unsigned *ret);
