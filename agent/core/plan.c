// SPDX-License-Identifier: Apache-2.0
/* The reconciler: turns observed containers, targets and capacity into a plan of stops, removes and starts.
 * Pure by contract: it must never do I/O, read the clock, log or keep state between calls, so that the same
 * input always yields the same plan and the unit tests can check every rule without an engine. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "force12/order.h"
#include "force12/plan.h"

/* A RUNNING container that may be stopped, with the key that decides which goes first. */
typedef struct StopCandidate {
	uint64_t started_at;
	size_t index;
} StopCandidate;

Plan *plan_free(Plan *p)
{
	if (!p)
		return NULL;
	free(p->apps);
	free(p->stops);
	free(p->removes);
	free(p->parks);
	free(p->resumes);
	free(p->retires);
	free(p);
	return NULL;
}

static int plan_validate(const PlanInput *in)
{
	if (!in || (!in->apps && in->n_apps > 0) || (!in->containers && in->n_containers > 0))
		return -EINVAL;
	for (size_t i = 0; i < in->n_apps; i++)
		if (!in->apps[i].name)
			return -EINVAL;
	for (size_t i = 0; i < in->n_containers; i++) {
		const PlanContainer *c = &in->containers[i];

		if (c->app < -1 || (c->app >= 0 && (size_t)c->app >= in->n_apps))
			return -EINVAL;
		if ((unsigned)c->phase >= _PHASE_MAX)
			return -EINVAL;
	}
	return 0;
}

static int plan_new(size_t n_apps, size_t n_containers, Plan **ret)
{
	Plan *p = calloc(1, sizeof(Plan));

	if (!p)
		return -ENOMEM;
	/* At least one element each, so that a NULL from calloc always means failure. */
	p->apps = calloc(MAX(n_apps, 1), sizeof(PlanAppResult));
	p->stops = calloc(MAX(n_containers, 1), sizeof(size_t));
	p->removes = calloc(MAX(n_containers, 1), sizeof(size_t));
	p->parks = calloc(MAX(n_containers, 1), sizeof(size_t));
	p->resumes = calloc(MAX(n_containers, 1), sizeof(size_t));
	p->retires = calloc(MAX(n_containers, 1), sizeof(size_t));
	if (!p->apps || !p->stops || !p->removes || !p->parks || !p->resumes || !p->retires) {
		plan_free(p);
		return -ENOMEM;
	}
	p->n_apps = n_apps;
	*ret = p;
	return 0;
}

bool plan_tally(PlanAppResult *a, ContainerPhase phase)
{
	return plan_tally_n(a, phase, 1);
}

bool plan_tally_n(PlanAppResult *a, ContainerPhase phase, unsigned n)
{
	unsigned *counter[_PHASE_MAX] = {
	        [PHASE_STARTING] = &a->starting, [PHASE_RUNNING] = &a->running, [PHASE_STOPPING] = &a->stopping,
	        [PHASE_STANDBY] = &a->standby,   [PHASE_WARMING] = &a->warming, [PHASE_PARKING] = &a->parking,
	        [PHASE_CREATED] = &a->created,
	};

	if (phase < 0 || phase >= _PHASE_MAX)
		return false;
	if (counter[phase])
		*counter[phase] += n;
	/* A warming container is started and not yet paused, and an adopted created one may start at any moment
	 * (a start sent by an agent that was killed): both run on the engine, so both occupy a place. */
	switch (phase) {
	case PHASE_STARTING:
	case PHASE_RUNNING:
	case PHASE_STOPPING:
	case PHASE_WARMING:
	case PHASE_PARKING:
	case PHASE_CREATED:
		return true;
	default: /* EXITED and REMOVING are on their way out, STANDBY is paused. */
		return false;
	}
}

/* Fills the per-app phase counts (orphans: app -1's) and removes every EXITED and adopted CREATED container. */
static void plan_count(const PlanInput *in, Plan *p, PlanAppResult *orphans)
{
	for (size_t i = 0; i < in->n_containers; i++) {
		const PlanContainer *c = &in->containers[i];

		(void)plan_tally(c->app >= 0 ? &p->apps[c->app] : orphans, c->phase);
		if (c->phase == PHASE_EXITED || c->phase == PHASE_CREATED)
			p->removes[p->n_removes++] = i;
	}
}

/* What of an app's observed containers may run on the engine now: see plan_tally(). */
static unsigned occupying(const PlanAppResult *a)
{
	return a->starting + a->running + a->stopping + a->warming + a->parking + a->created;
}

/* Keeps the observed counts of a, clears every decision. */
static void clear_decisions(PlanAppResult *a)
{
	a->allocated = a->starts = a->resumes = a->warms = a->stops = a->parks = a->retires = 0;
}

/* More important first: lower priority number, then name, then input index so that equal names stay stable. */
static bool app_before(const PlanApp *apps, size_t a, size_t b)
{
	int r = order_compare(apps[a].priority, apps[a].name, apps[b].priority, apps[b].name);

	return r != 0 ? r < 0 : a < b;
}

/* Insertion sort: there are few apps (config caps them at 64), and it needs no context pointer. */
static void plan_sort_apps(const PlanApp *apps, size_t n, size_t *order)
{
	for (size_t i = 0; i < n; i++) {
		size_t v = i, j = i;

		for (; j > 0 && app_before(apps, v, order[j - 1]); j--)
			order[j] = order[j - 1];
		order[j] = v;
	}
}

static void decide_allocation(unsigned capacity, const PlanApp *apps, size_t n_apps, const size_t *order,
                              PlanAppResult *res)
{
	unsigned left = capacity;

	for (size_t k = 0; k < n_apps; k++) {
		size_t i = order[k];

		res[i].allocated = MIN(apps[i].target, left);
		left -= res[i].allocated;
	}
}

/* The standby pool of an app: parked, on the way in, and (after this plan) what it parks. */
static unsigned pool_size(const PlanAppResult *a)
{
	return a->standby + a->warming + a->parking;
}

/* Every running container of an unconfigured app stops; an app whose running + starting exceeds its allocation
 * has the excess taken out of service among its running ones, parked while its pool is short of K. */
static void decide_stops(const PlanApp *apps, size_t n_apps, PlanAppResult *res, PlanAppResult *orphans)
{
	orphans->stops = orphans->running;
	for (size_t i = 0; i < n_apps; i++) {
		PlanAppResult *a = &res[i];
		unsigned active = a->running + a->starting, pool = pool_size(a), n;
		unsigned room = apps[i].standby > pool ? apps[i].standby - pool : 0;

		if (active <= a->allocated)
			continue;
		n = MIN(active - a->allocated, a->running);
		a->parks = MIN(room, n);
		a->stops = n - a->parks;
	}
}

/* Only capacity that is free right now is handed out, so a start never races a stop that makes its room.
 * The standby pool is used first. free_now is what is left after the starts. */
static void decide_starts(const PlanApp *apps, size_t n_apps, const size_t *order, PlanAppResult *res,
                          unsigned *free_now)
{
	for (size_t k = 0; k < n_apps; k++) {
		size_t i = order[k];
		PlanAppResult *a = &res[i];
		unsigned active = a->running + a->starting + a->created, take;

		if (!apps[i].can_start || active >= a->allocated)
			continue;
		take = MIN(a->allocated - active, *free_now);
		a->resumes = MIN(take, a->standby);
		a->starts = take - a->resumes;
		*free_now -= take;
	}
}

/* Standby containers beyond K, and those of unconfigured apps, are retired; those being resumed are not counted.
 * A retire unpauses the container before it stops it, so it runs for a moment: retires, like starts, only use
 * capacity that is free now (what the starts left), and wait for room otherwise. */
static void decide_retires(const PlanApp *apps, size_t n_apps, PlanAppResult *res, PlanAppResult *orphans,
                           unsigned *free_now)
{
	orphans->retires = MIN(orphans->standby, *free_now);
	*free_now -= orphans->retires;
	for (size_t i = 0; i < n_apps; i++) {
		PlanAppResult *a = &res[i];
		unsigned left = a->standby - a->resumes, pool = left + a->warming + a->parking;

		if (pool <= apps[i].standby)
			continue;
		a->retires = MIN(MIN(pool - apps[i].standby, left), *free_now);
		*free_now -= a->retires;
	}
}

/* Work planned or under way for a: then no pool is refilled. */
static bool app_busy(const PlanAppResult *a)
{
	return a->stops + a->parks + a->resumes + a->retires + a->starts > 0 || a->starting > 0 || a->stopping > 0 ||
	       a->parking > 0 || a->created > 0;
}

/* A warming container runs between its start and its pause: warms only use capacity that is free now, handed
 * out in priority order like starts, and only when the node is quiet (no real work planned or under way), so
 * that the pool never delays real work. */
static void decide_warms(const PlanApp *apps, size_t n_apps, const size_t *order, PlanAppResult *res,
                         const PlanAppResult *orphans, unsigned *free_now)
{
	if (app_busy(orphans))
		return;
	for (size_t i = 0; i < n_apps; i++)
		if (app_busy(&res[i]))
			return;
	for (size_t k = 0; k < n_apps; k++) {
		size_t i = order[k];
		PlanAppResult *a = &res[i];
		unsigned pool = pool_size(a);

		if (apps[i].can_start && apps[i].standby > pool) {
			a->warms = MIN(apps[i].standby - pool, *free_now);
			*free_now -= a->warms;
		}
	}
}

unsigned plan_decide(unsigned capacity, const PlanApp *apps, size_t n_apps, PlanAppResult *res, PlanAppResult *orphans,
                     size_t *order)
{
	unsigned occupied = occupying(orphans), free_now;

	clear_decisions(orphans);
	for (size_t i = 0; i < n_apps; i++) {
		clear_decisions(&res[i]);
		occupied += occupying(&res[i]);
	}
	plan_sort_apps(apps, n_apps, order);
	decide_allocation(capacity, apps, n_apps, order, res);
	decide_stops(apps, n_apps, res, orphans);
	free_now = capacity > occupied ? capacity - occupied : 0;
	decide_starts(apps, n_apps, order, res, &free_now);
	decide_retires(apps, n_apps, res, orphans, &free_now);
	decide_warms(apps, n_apps, order, res, orphans, &free_now);
	return occupied;
}

static int stop_candidate_compare(const void *x, const void *y)
{
	const StopCandidate *a = x, *b = y;

	/* Newest first; among equals the higher index (created later in the listing) first. */
	if (a->started_at != b->started_at)
		return a->started_at > b->started_at ? -1 : 1;
	if (a->index != b->index)
		return a->index > b->index ? -1 : 1;
	return 0;
}

static void cand_swap(StopCandidate *a, StopCandidate *b)
{
	StopCandidate t = *a;

	*a = *b;
	*b = t;
}

/* Moves the k first in stop order (newest first) to the front of cand, in any order: O(n) on average, so that a
 * reconcile of a big node does not sort every candidate to stop a few (the order is total: no ties). */
static void cand_select(StopCandidate *cand, size_t n, size_t k)
{
	size_t lo = 0, hi = n; /* the k-th lies in [lo, hi) */

	while (hi - lo > 1 && k > lo && k < hi) {
		size_t mid = lo + (hi - lo) / 2, store = lo;

		/* Median of three as the pivot, parked at hi - 1. */
		if (stop_candidate_compare(&cand[mid], &cand[lo]) < 0)
			cand_swap(&cand[mid], &cand[lo]);
		if (stop_candidate_compare(&cand[hi - 1], &cand[lo]) < 0)
			cand_swap(&cand[hi - 1], &cand[lo]);
		if (stop_candidate_compare(&cand[mid], &cand[hi - 1]) < 0)
			cand_swap(&cand[mid], &cand[hi - 1]);
		for (size_t i = lo; i < hi - 1; i++)
			if (stop_candidate_compare(&cand[i], &cand[hi - 1]) < 0)
				cand_swap(&cand[i], &cand[store++]);
		cand_swap(&cand[store], &cand[hi - 1]);
		if (store < k)
			lo = store + 1;
		else
			hi = store;
	}
}

/* Takes n of app's RUNNING containers out of service, newest first: the first n_park are parked into the standby
 * pool, the rest stopped. cand has room for every container. */
static void plan_stop_newest(const PlanInput *in, int app, size_t n, size_t n_park, StopCandidate *cand, Plan *p)
{
	size_t n_cand = 0;

	if (n == 0)
		return;
	for (size_t i = 0; i < in->n_containers; i++)
		if (in->containers[i].app == app && in->containers[i].phase == PHASE_RUNNING)
			cand[n_cand++] = (StopCandidate){.started_at = in->containers[i].started_at, .index = i};
	n = MIN(n, n_cand);
	if (n < n_cand)
		cand_select(cand, n_cand, n);
	qsort(cand, n, sizeof(StopCandidate), stop_candidate_compare);
	for (size_t k = 0; k < n; k++)
		if (k < n_park)
			p->parks[p->n_parks++] = cand[k].index;
		else
			p->stops[p->n_stops++] = cand[k].index;
}

/* Unconfigured apps go first, then the most expendable app first, so the important ones lose capacity last. */
static int plan_pick_stops(const PlanInput *in, const size_t *order, const PlanAppResult *orphans, Plan *p)
{
	_cleanup_free_ StopCandidate *cand = calloc(MAX(in->n_containers, 1), sizeof(StopCandidate));

	if (!cand)
		return -ENOMEM;
	plan_stop_newest(in, -1, orphans->stops, 0, cand, p);
	for (size_t k = in->n_apps; k > 0; k--) {
		const PlanAppResult *a = &p->apps[order[k - 1]];

		plan_stop_newest(in, (int)order[k - 1], a->parks + a->stops, a->parks, cand, p);
	}
	return 0;
}

/* Lists n of app's STANDBY containers, in input order, into list; taken marks them. */
static void plan_pick_standby(const PlanInput *in, int app, unsigned n, bool *taken, size_t *list, size_t *n_list)
{
	for (size_t i = 0; i < in->n_containers && n > 0; i++)
		if (in->containers[i].app == app && in->containers[i].phase == PHASE_STANDBY && !taken[i]) {
			taken[i] = true;
			list[(*n_list)++] = i;
			n--;
		}
}

/* Resumes by app order; retires of app -1, then by app index, among the standby containers not resumed. */
static void plan_pick_standbys(const PlanInput *in, const size_t *order, const PlanAppResult *orphans, bool *taken,
                               Plan *p)
{
	for (size_t k = 0; k < in->n_apps; k++)
		plan_pick_standby(in, (int)order[k], p->apps[order[k]].resumes, taken, p->resumes, &p->n_resumes);
	plan_pick_standby(in, -1, orphans->retires, taken, p->retires, &p->n_retires);
	for (size_t i = 0; i < in->n_apps; i++)
		plan_pick_standby(in, (int)i, p->apps[i].retires, taken, p->retires, &p->n_retires);
}

int plan_compute(const PlanInput *in, Plan **ret)
{
	_cleanup_plan_ Plan *p = NULL;
	_cleanup_free_ size_t *order = NULL;
	_cleanup_free_ bool *taken = NULL;
	PlanAppResult orphans = {};
	int r;

	if (!ret)
		return -EINVAL;
	r = plan_validate(in);
	if (r < 0)
		return r;
	r = plan_new(in->n_apps, in->n_containers, &p);
	if (r < 0)
		return r;
	order = calloc(MAX(in->n_apps, 1), sizeof(size_t));
	taken = calloc(MAX(in->n_containers, 1), sizeof(bool));
	if (!order || !taken)
		return -ENOMEM;

	plan_count(in, p, &orphans);
	p->occupied = plan_decide(in->capacity, in->apps, in->n_apps, p->apps, &orphans, order);
	r = plan_pick_stops(in, order, &orphans, p);
	if (r < 0)
		return r;
	plan_pick_standbys(in, order, &orphans, taken, p);

	*ret = TAKE_PTR(p);
	return 0;
}
