// SPDX-License-Identifier: Apache-2.0
/* The deterministic split of cluster totals over nodes (see split.h for what it guarantees). Pure: no I/O, no time,
 * no randomness. Each app is water-filled over the capacity the earlier apps left: the level L is found by bisection,
 * every node gets min(room, L), and the few containers left over (fewer than the nodes with room above L) go one each
 * to the nodes first in the fixed order of split.h (capacity, rendezvous weight, id). Nothing depends on the order of
 * the input: the nodes are sorted by id first, for the duplicate check, and the ranking is a total order. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "force12/order.h"
#include "force12/split.h"
#include "force12/targets.h"

typedef struct Slot {
	size_t index; /* into the caller's nodes */
	const char *id;
	unsigned capacity;
	unsigned left;   /* capacity not yet given out */
	uint64_t weight; /* split_weight() for the app being spread */
} Slot;

uint64_t split_weight(const char *app, const char *node_id)
{
	const uint64_t prime = 0x100000001b3ULL;
	uint64_t h = 0xcbf29ce484222325ULL;

	for (const unsigned char *p = (const unsigned char *)app; *p; p++)
		h = (h ^ *p) * prime;
	h *= prime; /* the NUL between the two: ("ab", "c") and ("a", "bc") differ */
	for (const unsigned char *p = (const unsigned char *)node_id; *p; p++)
		h = (h ^ *p) * prime;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

static int cmp_id(const void *a, const void *b)
{
	return strcmp(((const Slot *)a)->id, ((const Slot *)b)->id);
}

/* The order in which nodes with room take an app's odd containers: larger capacity, then higher weight, then the
 * smaller id. Capacity first because the capacity the big nodes keep is the least likely to be needed whole by a
 * later app (see split.h: a later app moves only where a node is full). */
static int cmp_rank(const void *a, const void *b)
{
	const Slot *x = *(Slot *const *)a, *y = *(Slot *const *)b;

	if (x->capacity != y->capacity)
		return x->capacity > y->capacity ? -1 : 1;
	if (x->weight != y->weight)
		return x->weight > y->weight ? -1 : 1;
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

static uint64_t filled_to(const Slot *slots, size_t n_slots, unsigned level)
{
	uint64_t sum = 0;

	for (size_t k = 0; k < n_slots; k++)
		sum += MIN(slots[k].left, level);
	return sum;
}

/* The largest level L with sum(min(left, L)) <= n; when n is all that is left, the largest left. */
static unsigned level_for(const Slot *slots, size_t n_slots, uint64_t n)
{
	unsigned lo = 0, hi = 0;

	for (size_t k = 0; k < n_slots; k++)
		hi = MAX(hi, slots[k].left);
	while (lo < hi) {
		unsigned mid = lo + (hi - lo + 1) / 2;
		if (filled_to(slots, n_slots, mid) <= n)
			lo = mid;
		else
			hi = mid - 1;
	}
	return lo;
}

/* Gives min(n, the capacity left) containers of app out: water-filling, then the odd ones by cmp_rank. gave[k] is per
 * slot; by_rank is scratch room for n_slots pointers. */
static void spread(Slot *slots, size_t n_slots, const char *app, unsigned n, unsigned *gave, Slot **by_rank)
{
	uint64_t room = 0;
	size_t n_rank = 0;

	for (size_t k = 0; k < n_slots; k++)
		room += slots[k].left;
	uint64_t want = MIN((uint64_t)n, room);
	unsigned level = level_for(slots, n_slots, want);
	uint64_t odd = want - filled_to(slots, n_slots, level);

	for (size_t k = 0; k < n_slots; k++) {
		gave[k] = MIN(slots[k].left, level);
		slots[k].left -= gave[k];
		if (odd > 0 && slots[k].left > 0) {
			slots[k].weight = split_weight(app, slots[k].id);
			by_rank[n_rank++] = &slots[k];
		}
	}
	/* odd < n_rank: the level is the largest that fits, so one more each to all of them would not. */
	qsort(by_rank, n_rank, sizeof(Slot *), cmp_rank);
	for (size_t r = 0; r < odd; r++) {
		by_rank[r]->left--;
		gave[by_rank[r] - slots]++;
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
	_cleanup_free_ Slot **by_rank = calloc(n_nodes, sizeof(Slot *));
	_cleanup_free_ unsigned *gave = calloc(n_nodes, sizeof(unsigned));
	if (!slots || !by_rank || !gave)
		return -ENOMEM;
	for (size_t i = 0; i < n_nodes; i++)
		slots[i] =
		        (Slot){.index = i, .id = nodes[i].id, .capacity = nodes[i].capacity, .left = nodes[i].capacity};
	qsort(slots, n_nodes, sizeof(Slot), cmp_id);
	for (size_t i = 1; i < n_nodes; i++)
		if (streq(slots[i - 1].id, slots[i].id))
			return -EINVAL;

	app_order(config, order);
	for (size_t o = 0; o < config->n_apps; o++) {
		size_t app = order[o];
		unsigned total = totals[app] == TARGETS_UNSET ? 0 : totals[app];

		spread(slots, n_nodes, config->apps[app].name, total, gave, by_rank);
		for (size_t k = 0; k < n_nodes; k++)
			ret[slots[k].index * config->n_apps + app] = gave[k];
	}
	return 0;
}
