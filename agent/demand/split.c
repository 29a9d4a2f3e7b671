// SPDX-License-Identifier: Apache-2.0
/* The deterministic split of cluster totals over nodes (see split.h). Pure: no I/O, no time, no randomness. The
 * nodes are sorted by id first so that the member order of the input never matters. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "force12/order.h"
#include "force12/split.h"
#include "force12/targets.h"

typedef struct Slot {
	size_t index; /* into the caller's nodes */
	const char *id;
	unsigned left; /* capacity not yet given out */
} Slot;

static int cmp_id(const void *a, const void *b)
{
	return strcmp(((const Slot *)a)->id, ((const Slot *)b)->id);
}

static int cmp_left_then_id(const void *a, const void *b)
{
	const Slot *x = a, *y = b;

	if (x->left != y->left)
		return x->left > y->left ? -1 : 1;
	return strcmp(x->id, y->id);
}

/* The apps' indexes in (priority, name) order; insertion sort, there are at most CONFIG_MAX_APPS. */
static void app_order(const Config *c, size_t *order)
{
	for (size_t i = 0; i < c->n_apps; i++) {
		size_t j = i;
		while (j > 0) {
			const AppConfig *a = &c->apps[order[j - 1]], *b = &c->apps[i];
			if (order_compare(a->priority, a->name, b->priority, b->name) < 0)
				break;
			order[j] = order[j - 1];
			j--;
		}
		order[j] = i;
	}
}

/* Gives n containers of one app out as evenly as the capacity left allows. gave[k] is per slot. */
static void spread(Slot *slots, size_t n_slots, unsigned n, unsigned *gave)
{
	while (n > 0) {
		size_t eligible = 0;
		for (size_t k = 0; k < n_slots; k++)
			eligible += slots[k].left > 0;
		if (eligible == 0)
			return;
		unsigned per = n / (unsigned)eligible;
		if (per == 0)
			break;
		for (size_t k = 0; k < n_slots; k++) {
			unsigned g = MIN(per, slots[k].left);
			slots[k].left -= g;
			gave[k] += g;
			n -= g;
		}
	}
	if (n == 0)
		return;
	/* Fewer left than nodes with room: one each to those with the most room, then by id. Sorting a copy keeps
	 * slots (and gave) in id order. */
	_cleanup_free_ Slot *by_room = malloc(n_slots * sizeof(Slot));
	if (!by_room)
		abort(); /* small and bounded by SPLIT_MAX_NODES; a split that silently differs would be worse */
	memcpy(by_room, slots, n_slots * sizeof(Slot));
	for (size_t k = 0; k < n_slots; k++)
		by_room[k].index = k;
	qsort(by_room, n_slots, sizeof(Slot), cmp_left_then_id);
	for (size_t k = 0; k < n_slots && n > 0; k++) {
		size_t s = by_room[k].index;
		if (slots[s].left == 0)
			continue;
		slots[s].left--;
		gave[s]++;
		n--;
	}
}

int split_compute(const Config *config, const unsigned *totals, const SplitNode *nodes, size_t n_nodes, unsigned *ret)
{
	size_t order[CONFIG_MAX_APPS];

	if (n_nodes > SPLIT_MAX_NODES)
		return -EINVAL;
	memset(ret, 0, n_nodes * config->n_apps * sizeof(unsigned));
	if (n_nodes == 0)
		return 0;
	_cleanup_free_ Slot *slots = calloc(n_nodes, sizeof(Slot));
	_cleanup_free_ unsigned *gave = calloc(n_nodes, sizeof(unsigned));
	if (!slots || !gave)
		return -ENOMEM;
	for (size_t i = 0; i < n_nodes; i++)
		slots[i] = (Slot){.index = i, .id = nodes[i].id, .left = nodes[i].capacity};
	qsort(slots, n_nodes, sizeof(Slot), cmp_id);
	for (size_t i = 1; i < n_nodes; i++)
		if (streq(slots[i - 1].id, slots[i].id))
			return -EINVAL;

	app_order(config, order);
	for (size_t o = 0; o < config->n_apps; o++) {
		size_t app = order[o];
		unsigned total = totals[app] == TARGETS_UNSET ? 0 : totals[app];

		memset(gave, 0, n_nodes * sizeof(unsigned));
		spread(slots, n_nodes, total, gave);
		for (size_t k = 0; k < n_nodes; k++)
			ret[slots[k].index * config->n_apps + app] = gave[k];
	}
	return 0;
}
