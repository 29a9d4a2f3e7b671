// SPDX-License-Identifier: Apache-2.0
/* Fuzzes plan_compute() with PlanInputs decoded from the bytes, and checks the rules of plan.h as hard
 * invariants: the plan may not push the node over capacity, stop anything but RUNNING containers, miss or repeat a
 * remove, or allocate other than min(capacity, sum of targets) in priority order. Anything else is a reconciler
 * bug that no amount of engine testing would show reliably. */
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "force12/config.h"
#include "force12/plan.h"
#include "fuzz.h"

#define MAX_APPS       8
#define MAX_CONTAINERS 256

typedef struct Reader {
	const uint8_t *p;
	size_t left;
} Reader;

typedef struct Input {
	PlanInput in;
	PlanApp apps[MAX_APPS];
	PlanContainer containers[MAX_CONTAINERS];
	bool corrupt; /* one container made invalid on purpose: plan_compute must refuse it */
} Input;

/* Few distinct names and duplicates on purpose: ties in priority and in name are where ordering bugs hide. */
static const char *const names[8] = {"a", "b", "c", "a", "priority1", "priority2", "b.x", "B"};
static const unsigned big_capacities[4] = {CONFIG_MAX_CAPACITY, UINT_MAX, UINT_MAX - 1, 1u << 31};
static const unsigned big_targets[4] = {CONFIG_MAX_TARGET, UINT_MAX, UINT_MAX - 1, 1u << 31};

static uint8_t next(Reader *r)
{
	if (r->left == 0)
		return 0;
	r->left--;
	return *r->p++;
}

static void decode_app(Reader *r, PlanApp *a)
{
	uint8_t x = next(r), y = next(r);

	a->priority = x & 0x80 ? UINT_MAX - (x & 3) : x & 3;
	a->name = names[(x >> 2) & 7];
	a->can_start = !(x & 0x20);
	a->target = y < 0xF0 ? y % 24u : big_targets[y & 3];
	a->standby = x & 0x40 ? 1 + (y >> 4) % 4 : 0;
}

static void decode(const uint8_t *data, size_t size, Input *ret)
{
	Reader r = {data, size};
	uint8_t flags = next(&r), cap = next(&r);
	size_t n_apps = next(&r) % (MAX_APPS + 1), n = 0;

	*ret = (Input){.in.capacity = cap < 0xF0 ? cap % 40u : big_capacities[cap & 3]};
	for (size_t i = 0; i < n_apps; i++)
		decode_app(&r, &ret->apps[i]);
	while (r.left >= 2 && n < MAX_CONTAINERS) {
		uint8_t x = next(&r), y = next(&r);

		ret->containers[n++] = (PlanContainer){
		        .app = (int)((x & 0x0F) % (n_apps + 1)) - 1,
		        .phase = (ContainerPhase)((x >> 4) % _PHASE_MAX),
		        .started_at = y,
		};
	}
	if ((flags & 0x0F) == 0x0F && n > 0) {
		PlanContainer *victim = &ret->containers[(flags >> 4) % n];

		if (flags & 0x10)
			victim->phase = _PHASE_MAX;
		else
			victim->app = flags & 0x20 ? -2 : (int)n_apps;
		ret->corrupt = true;
	}
	ret->in.apps = ret->apps;
	ret->in.n_apps = n_apps;
	ret->in.containers = ret->containers;
	ret->in.n_containers = n;
}

static bool strictly_before(const PlanApp *a, const PlanApp *b)
{
	if (a->priority != b->priority)
		return a->priority < b->priority;
	return strcmp(a->name, b->name) < 0;
}

/* The engine's truth, from what the engine does with each phase's operation (not the planner's own rule): may the
 * engine report the container running (not paused) before the agent next looks? A start may have landed; a stop
 * or a pause has not; a warm runs between its start and its pause. */
static bool engine_may_run(ContainerPhase phase)
{
	switch (phase) {
	case PHASE_STARTING:
	case PHASE_RUNNING:
	case PHASE_STOPPING:
	case PHASE_PARKING:
	case PHASE_WARMING:
	case PHASE_CREATED: /* a start sent by an agent that was killed may still land */
		return true;
	default:
		return false;
	}
}

/* At worst everything the plan sets in motion runs at once with all that may run now: starts, resumes
 * (unpause), warms (start before the pause) and retires (unpause before the stop). */
static uint64_t engine_worst_case(const PlanInput *in, const Plan *p)
{
	uint64_t n = (uint64_t)p->n_resumes + p->n_retires;

	for (size_t i = 0; i < in->n_containers; i++)
		n += engine_may_run(in->containers[i].phase);
	for (size_t a = 0; a < p->n_apps; a++)
		n += (uint64_t)p->apps[a].starts + p->apps[a].warms;
	return n;
}

/* Each EXITED container removed exactly once, nothing else removed. */
static void check_removes(const PlanInput *in, const Plan *p)
{
	bool removed[MAX_CONTAINERS] = {};

	CHECK(p->n_removes <= in->n_containers);
	for (size_t k = 0; k < p->n_removes; k++) {
		size_t i = p->removes[k];

		CHECK(i < in->n_containers && !removed[i] &&
		      (in->containers[i].phase == PHASE_EXITED || in->containers[i].phase == PHASE_CREATED));
		removed[i] = true;
	}
	for (size_t i = 0; i < in->n_containers; i++)
		CHECK(removed[i] ==
		      (in->containers[i].phase == PHASE_EXITED || in->containers[i].phase == PHASE_CREATED));
}

/* Observed counts per app and occupied, as plan.h defines them. */
static void check_counts(const PlanInput *in, const Plan *p)
{
	unsigned running[MAX_APPS] = {}, starting[MAX_APPS] = {}, stopping[MAX_APPS] = {}, standby[MAX_APPS] = {};
	unsigned occupied = 0;

	for (size_t i = 0; i < in->n_containers; i++) {
		const PlanContainer *c = &in->containers[i];

		occupied += engine_may_run(c->phase);
		if (c->app < 0)
			continue;
		running[c->app] += c->phase == PHASE_RUNNING;
		starting[c->app] += c->phase == PHASE_STARTING;
		stopping[c->app] += c->phase == PHASE_STOPPING;
		standby[c->app] += c->phase == PHASE_STANDBY;
	}
	CHECK(p->occupied == occupied);
	for (size_t a = 0; a < in->n_apps; a++)
		CHECK(p->apps[a].running == running[a] && p->apps[a].starting == starting[a] &&
		      p->apps[a].stopping == stopping[a] && p->apps[a].standby == standby[a]);
}

/* allocated = min(target, what is left) in importance order, so the sum is min(capacity, sum of targets). */
static void check_allocation(const PlanInput *in, const Plan *p)
{
	uint64_t sum_allocated = 0, sum_targets = 0;

	for (size_t a = 0; a < in->n_apps; a++) {
		CHECK(p->apps[a].allocated <= in->apps[a].target);
		sum_allocated += p->apps[a].allocated;
		sum_targets += in->apps[a].target;
	}
	CHECK(sum_allocated == MIN((uint64_t)in->capacity, sum_targets));
	/* A less important app gets nothing while a more important one is short. */
	for (size_t a = 0; a < in->n_apps; a++)
		for (size_t b = 0; b < in->n_apps; b++)
			if (strictly_before(&in->apps[a], &in->apps[b]) && p->apps[b].allocated > 0)
				CHECK(p->apps[a].allocated == in->apps[a].target);
}

/* Stops and parks: only RUNNING, each once; all of app -1 stopped; of an app exactly its excess (as far as
 * RUNNING ones go), newest first. */
static void check_stops(const PlanInput *in, const Plan *p)
{
	bool stopped[MAX_CONTAINERS] = {};
	unsigned per_app[MAX_APPS] = {};

	CHECK(p->n_stops + p->n_parks <= in->n_containers);
	for (size_t k = 0; k < p->n_stops + p->n_parks; k++) {
		size_t i = k < p->n_stops ? p->stops[k] : p->parks[k - p->n_stops];

		CHECK(i < in->n_containers && !stopped[i] && in->containers[i].phase == PHASE_RUNNING);
		CHECK(k < p->n_stops || in->containers[i].app >= 0);
		stopped[i] = true;
		if (in->containers[i].app >= 0)
			per_app[in->containers[i].app]++;
	}
	for (size_t a = 0; a < in->n_apps; a++) {
		const PlanAppResult *r = &p->apps[a];
		unsigned active = r->running + r->starting;
		unsigned excess = active > r->allocated ? active - r->allocated : 0;

		CHECK(per_app[a] == MIN(excess, r->running));
	}
	for (size_t i = 0; i < in->n_containers; i++) {
		const PlanContainer *u = &in->containers[i];

		if (u->phase != PHASE_RUNNING)
			continue;
		if (u->app < 0)
			CHECK(stopped[i]);
		if (stopped[i])
			continue;
		/* u keeps running: every stopped container of its app must be newer (or later in the list on a tie). */
		for (size_t s = 0; s < in->n_containers; s++)
			if (stopped[s] && in->containers[s].app == u->app)
				CHECK(in->containers[s].started_at > u->started_at ||
				      (in->containers[s].started_at == u->started_at && s > i));
	}
}

/* Starts: only apps that may start, never past the allocation, only into capacity that is free now, and all of
 * it that some app is short of. */
static void check_starts(const PlanInput *in, const Plan *p)
{
	uint64_t starts = 0, short_of = 0, free_now = in->capacity > p->occupied ? in->capacity - p->occupied : 0;

	for (size_t a = 0; a < in->n_apps; a++) {
		const PlanAppResult *r = &p->apps[a];
		uint64_t active =
		        (uint64_t)r->running + r->starting + r->created; /* an adopted created one may start */

		if (!in->apps[a].can_start)
			CHECK(r->starts + r->resumes + r->warms == 0);
		CHECK(active + r->starts + r->resumes <= MAX(active, r->allocated));
		CHECK(r->resumes <= r->standby && (r->starts == 0 || r->resumes == r->standby));
		starts += r->starts + r->resumes;
		if (in->apps[a].can_start && r->allocated > active)
			short_of += r->allocated - active;
	}
	CHECK(starts == MIN(free_now, short_of));
	/* The engine never runs more than the capacity, even for a moment; over it already, nothing more runs. */
	if (p->occupied <= in->capacity)
		CHECK(engine_worst_case(in, p) <= in->capacity);
	else
		CHECK(engine_worst_case(in, p) == p->occupied);
}

/* Resumes and retires: distinct STANDBY containers, the resumed ones of apps that resume that many; every standby
 * container of app -1 retired while the engine has room to unpause it for its stop. */
static void check_standby(const PlanInput *in, const Plan *p)
{
	bool taken[MAX_CONTAINERS] = {};
	unsigned resumed[MAX_APPS] = {};

	CHECK(p->n_resumes + p->n_retires <= in->n_containers);
	for (size_t k = 0; k < p->n_resumes + p->n_retires; k++) {
		size_t i = k < p->n_resumes ? p->resumes[k] : p->retires[k - p->n_resumes];

		CHECK(i < in->n_containers && !taken[i] && in->containers[i].phase == PHASE_STANDBY);
		taken[i] = true;
		if (k < p->n_resumes) {
			CHECK(in->containers[i].app >= 0);
			resumed[in->containers[i].app]++;
		}
	}
	for (size_t a = 0; a < in->n_apps; a++)
		CHECK(resumed[a] == p->apps[a].resumes);
	for (size_t i = 0; i < in->n_containers; i++)
		if (in->containers[i].app < 0 && in->containers[i].phase == PHASE_STANDBY &&
		    engine_worst_case(in, p) < in->capacity)
			CHECK(taken[i]);
}

static bool lists_equal(const size_t *a, size_t na, const size_t *b, size_t nb)
{
	return na == nb && memcmp(a, b, na * sizeof(*a)) == 0;
}

static bool plans_equal(const Plan *a, const Plan *b)
{
	if (!lists_equal(a->parks, a->n_parks, b->parks, b->n_parks) ||
	    !lists_equal(a->resumes, a->n_resumes, b->resumes, b->n_resumes) ||
	    !lists_equal(a->retires, a->n_retires, b->retires, b->n_retires))
		return false;
	return a->n_apps == b->n_apps && a->n_stops == b->n_stops && a->n_removes == b->n_removes &&
	       a->occupied == b->occupied && memcmp(a->apps, b->apps, a->n_apps * sizeof(*a->apps)) == 0 &&
	       memcmp(a->stops, b->stops, a->n_stops * sizeof(*a->stops)) == 0 &&
	       memcmp(a->removes, b->removes, a->n_removes * sizeof(*a->removes)) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Plan *sentinel = (Plan *)&sentinel, *p = sentinel, *again = NULL;
	static Input input;
	int r;

	decode(data, size, &input);
	r = plan_compute(&input.in, &p);
	if (input.corrupt) {
		CHECK(r == -EINVAL && p == sentinel);
		return 0;
	}
	CHECK(r == 0 && p && p != sentinel && p->n_apps == input.in.n_apps);
	check_counts(&input.in, p);
	check_removes(&input.in, p);
	check_allocation(&input.in, p);
	check_stops(&input.in, p);
	check_starts(&input.in, p);
	check_standby(&input.in, p);
	/* Pure: the same input gives the same plan. */
	CHECK(plan_compute(&input.in, &again) == 0 && plans_equal(p, again));
	plan_free(again);
	plan_free(p);
	return 0;
}
