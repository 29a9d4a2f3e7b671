// SPDX-License-Identifier: Apache-2.0
/* The cluster split: how the cluster-wide totals are shared over the live nodes. Every agent runs the same pure
 * function on the same input (totals + members) and takes its own row, so no coordination is needed beyond etcd.
 * It must never depend on the order the members were listed in, on time, or on anything local; and since agents of
 * two versions may share a cluster, it must not change between versions without a note (split_weight() is pinned
 * by the unit tests).
 *
 * What it guarantees, for every input:
 * - Capacity: no node gets more than its capacity, summed over the apps.
 * - Priority and totals: apps are served in (priority, name) order; each app gets min(total, the capacity the
 *   earlier apps left), so the whole total is given out whenever the capacity allows.
 * - Fairness: each app is water-filled over the capacity left: there is a level L such that every node gets L or
 *   L + 1 of the app, or all the room it has left when that is less. So two nodes that still have room after the
 *   app differ by at most 1 in it, and a node the app filled got at most 1 more than any of them.
 * - Stability: the odd containers of an app (the "+ 1"s) go to the nodes with room for them ranked by a fixed order:
 *   larger capacity first, then the higher rendezvous weight split_weight(app, node id), then the smaller id. The
 *   order between two nodes never depends on who else is a member, so for fixed totals, when nodes only leave, or
 *   only join:
 *   - on every node that stays, the count of the first app, and the running sum of the apps in priority order,
 *     move only with the change (up when nodes leave, down when nodes join);
 *   - a later app moves against the change on a node only when that node is full (after a leave, before a join),
 *     and by no more than the earlier apps moved there (a more important app took or gave back that room).
 *   Hence when no staying node is full after a leave, the nodes that stay start exactly what the leavers ran and
 *   stop nothing; when none was full before a join, they stop exactly what the joiners get and start nothing:
 *   the least any split could move. Otherwise each container of a later app pushed by an earlier one costs one stop
 *   and one start more than that least (bench/split-moves.c measures it; docs/scale.md has the figures). */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "force12/config.h"

#define SPLIT_MAX_NODES   1024
#define SPLIT_NODE_ID_MAX 199

typedef struct SplitNode {
	const char *id; /* unique; the tie-break */
	unsigned capacity;
} SplitNode;

/* apps: the config's apps (their priority and name give the order); totals: n_apps cluster totals (TARGETS_UNSET
 * counts as 0). nodes: n_nodes members in any order, ids unique. ret: n_nodes * n_apps counts, row i for nodes[i]
 * as passed. See above for what the result guarantees. Returns -EINVAL on duplicate ids or too many nodes, -ENOMEM,
 * 0 otherwise. */
int split_compute(const Config *config, const unsigned *totals, const SplitNode *nodes, size_t n_nodes, unsigned *ret);

/* The rendezvous weight of a node for an app's odd containers: FNV-1a 64 of the app's name, a NUL and the node id,
 * then the MurmurHash3 64-bit finaliser (so that ids differing in their last character spread over all bits).
 * Stable across machines, builds and versions. */
uint64_t split_weight(const char *app, const char *node_id);
