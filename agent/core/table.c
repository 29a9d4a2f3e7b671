// SPDX-License-Identifier: Apache-2.0
/* The container table's indexes, kept as containers change: per app (and for the apps no longer configured) the
 * count of each phase, its RUNNING containers newest first and its STANDBY ones in table order, and every EXITED or
 * CREATED container in table order. A reconcile reads counts and the first few of each order; it never walks the
 * table, so that its cost follows the work to do and not the node's size. Every change of a container's phase,
 * app or start time must go through here, or the counts lie. */
#include <stdlib.h>
#include <string.h>

#include "agent-internal.h"

/* ---- the heap ---- */

static bool running_before(const Container *x, const Container *y)
{
	/* The planner's stop order: newest first; on a tie the higher input index, that is the earlier in the
	 * table (the planner's input is the table, the latest first). */
	if (x->started_at != y->started_at)
		return x->started_at > y->started_at;
	return x->serial < y->serial;
}

static bool later_in_table(const Container *x, const Container *y)
{
	return x->serial > y->serial;
}

static void heap_set(ContainerHeap *h, size_t i, Container *c)
{
	h->items[i] = c;
	c->heap_pos = (uint32_t)i;
}

static void heap_up(ContainerHeap *h, size_t i)
{
	Container *c = h->items[i];

	while (i > 0 && h->before(c, h->items[(i - 1) / 2])) {
		heap_set(h, i, h->items[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	heap_set(h, i, c);
}

static void heap_down(ContainerHeap *h, size_t i)
{
	Container *c = h->items[i];

	for (;;) {
		size_t best = 2 * i + 1;

		if (best >= h->n)
			break;
		if (best + 1 < h->n && h->before(h->items[best + 1], h->items[best]))
			best++;
		if (!h->before(h->items[best], c))
			break;
		heap_set(h, i, h->items[best]);
		i = best;
	}
	heap_set(h, i, c);
}

static int heap_push(ContainerHeap *h, Container *c)
{
	if (h->n == h->size) {
		size_t size = MAX(h->size * 2, 16u);
		Container **items = realloc(h->items, size * sizeof(*items));

		if (!items)
			return -ENOMEM;
		h->items = items;
		h->size = size;
	}
	heap_set(h, h->n++, c);
	heap_up(h, h->n - 1);
	return 0;
}

static void heap_remove(ContainerHeap *h, Container *c)
{
	size_t i = c->heap_pos;
	Container *last;

	if (i >= h->n || h->items[i] != c)
		return; /* not in it: a push that failed (the table is rebuilt) */
	last = h->items[--h->n];
	if (i == h->n)
		return;
	heap_set(h, i, last);
	heap_up(h, i);
	heap_down(h, last->heap_pos);
}

/* The frontier of the walk in heap_first: positions of h, itself a heap by h's order. */
typedef struct Frontier {
	const ContainerHeap *h;
	size_t *pos;
	size_t n, size;
} Frontier;

static bool frontier_before(const Frontier *f, size_t x, size_t y)
{
	return f->h->before(f->h->items[f->pos[x]], f->h->items[f->pos[y]]);
}

static void frontier_swap(Frontier *f, size_t x, size_t y)
{
	size_t t = f->pos[x];

	f->pos[x] = f->pos[y];
	f->pos[y] = t;
}

static int frontier_push(Frontier *f, size_t pos)
{
	size_t i;

	if (pos >= f->h->n)
		return 0;
	if (f->n == f->size) {
		size_t size = MAX(f->size * 2, 64u);
		size_t *p = realloc(f->pos, size * sizeof(*p));

		if (!p)
			return -ENOMEM;
		f->pos = p;
		f->size = size;
	}
	f->pos[i = f->n++] = pos;
	for (; i > 0 && frontier_before(f, i, (i - 1) / 2); i = (i - 1) / 2)
		frontier_swap(f, i, (i - 1) / 2);
	return 0;
}

static size_t frontier_pop(Frontier *f)
{
	size_t top = f->pos[0], i = 0;

	f->pos[0] = f->pos[--f->n];
	for (;;) {
		size_t best = 2 * i + 1;

		if (best >= f->n)
			break;
		if (best + 1 < f->n && frontier_before(f, best + 1, best))
			best++;
		if (!frontier_before(f, best, i))
			break;
		frontier_swap(f, i, best);
		i = best;
	}
	return top;
}

/* A best-first walk from the root: the next in order is always the best of the children of those taken so far,
 * so k of n cost O(k log k) and the heap is not touched. */
size_t heap_first(const ContainerHeap *h, size_t skip, size_t k, Container **out)
{
	Frontier f = {.h = h};
	size_t written = 0;

	if (k == 0 || frontier_push(&f, 0) < 0)
		return 0;
	while (f.n > 0 && written < k) {
		size_t pos = frontier_pop(&f);
		Container *c = h->items[pos];

		if (frontier_push(&f, 2 * pos + 1) < 0 || frontier_push(&f, 2 * pos + 2) < 0)
			break; /* out of memory: fewer this pass, the rest on the next */
		if (c->op != OP_NONE)
			continue; /* busy: the planner's chains skip it too */
		if (skip > 0)
			skip--;
		else
			out[written++] = c;
	}
	free(f.pos);
	return written;
}

/* ---- the tallies ---- */

AppTally *table_tally(Agent *a, int app)
{
	return &a->tallies[app + 1];
}

static ContainerHeap *heap_of(Agent *a, const Container *c)
{
	switch (c->phase) {
	case PHASE_RUNNING:
		return &table_tally(a, c->app)->running;
	case PHASE_STANDBY:
		return &table_tally(a, c->app)->standby;
	case PHASE_EXITED:
	case PHASE_CREATED:
		return &a->removable;
	default:
		return NULL;
	}
}

void table_add(Container *c)
{
	Agent *a = c->agent;
	ContainerHeap *h = heap_of(a, c);

	table_tally(a, c->app)->phases[c->phase]++;
	if (h && heap_push(h, c) < 0)
		a->tally_broken = true;
}

void table_remove(Container *c)
{
	Agent *a = c->agent;
	ContainerHeap *h = heap_of(a, c);

	table_tally(a, c->app)->phases[c->phase]--;
	if (h)
		heap_remove(h, c);
}

void container_set_phase(Container *c, ContainerPhase phase)
{
	if (c->phase == phase)
		return;
	table_remove(c);
	c->phase = phase;
	table_add(c);
}

void container_set_app(Container *c, int app)
{
	if (c->app == app)
		return;
	table_remove(c);
	c->app = app;
	table_add(c);
}

void container_set_started_at(Container *c, usec_t started_at)
{
	if (c->phase != PHASE_RUNNING) {
		c->started_at = started_at;
		return;
	}
	table_remove(c);
	c->started_at = started_at;
	table_add(c);
}

static void heap_init(ContainerHeap *h, bool (*before)(const Container *x, const Container *y))
{
	h->n = 0;
	h->before = before;
}

bool table_rebuild(Agent *a)
{
	if (!a->tallies && !(a->tallies = calloc(CONFIG_MAX_APPS + 1, sizeof(AppTally))))
		return false;
	for (size_t i = 0; i <= CONFIG_MAX_APPS; i++) {
		AppTally *t = &a->tallies[i];

		memset(t->phases, 0, sizeof(t->phases));
		heap_init(&t->running, running_before);
		heap_init(&t->standby, later_in_table);
	}
	heap_init(&a->removable, later_in_table);
	a->tally_broken = false;
	for (Container *c = a->containers; c; c = c->containers_next)
		table_add(c);
	return !a->tally_broken;
}

void table_free(Agent *a)
{
	for (size_t i = 0; a->tallies && i <= CONFIG_MAX_APPS; i++) {
		free(a->tallies[i].running.items);
		free(a->tallies[i].standby.items);
	}
	free(a->tallies);
	a->tallies = NULL;
	free(a->removable.items);
	a->removable = (ContainerHeap){};
}
