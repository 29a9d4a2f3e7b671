// SPDX-License-Identifier: Apache-2.0
/* Unit tests of the reconciler: every rule of plan.h, the Force12 demo's scenarios, and property tests over
 * pseudo-random inputs (fixed seed, so a failure always reproduces) that the node never goes over capacity. */

/* cmocka.h needs these four first; its own block keeps clang-format's include sorting from moving it up. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "force12/plan.h"
#include "force12/xorshift.h"

#define APP(n, prio, tgt)                                                           \
	{                                                                           \
		.name = (n), .priority = (prio), .target = (tgt), .can_start = true \
	}
#define CTR(a, ph, t)                                        \
	{                                                    \
		.app = (a), .phase = (ph), .started_at = (t) \
	}

static Plan *compute(unsigned capacity, const PlanApp *apps, size_t n_apps, const PlanContainer *containers,
                     size_t n_containers)
{
	PlanInput in = {
	        .capacity = capacity,
	        .apps = apps,
	        .n_apps = n_apps,
	        .containers = containers,
	        .n_containers = n_containers,
	};
	Plan *p = NULL;

	assert_int_equal(plan_compute(&in, &p), 0);
	assert_non_null(p);
	assert_int_equal(p->n_apps, n_apps);
	return p;
}

static bool contains(const size_t *list, size_t n, size_t index)
{
	for (size_t i = 0; i < n; i++)
		if (list[i] == index)
			return true;
	return false;
}

static unsigned total_starts(const Plan *p)
{
	unsigned n = 0;

	for (size_t i = 0; i < p->n_apps; i++)
		n += p->apps[i].starts;
	return n;
}

/* ---- allocation ---- */

static void test_allocation_under_capacity(void **state)
{
	const PlanApp apps[] = {APP("web", 1, 2), APP("batch", 2, 3)};
	_cleanup_plan_ Plan *p = compute(9, apps, ELEMENTSOF(apps), NULL, 0);

	assert_int_equal(p->apps[0].allocated, 2);
	assert_int_equal(p->apps[1].allocated, 3);
	assert_int_equal(p->apps[0].starts, 2);
	assert_int_equal(p->apps[1].starts, 3);
	assert_int_equal(p->occupied, 0);
	assert_int_equal(p->n_stops, 0);
	assert_int_equal(p->n_removes, 0);
}

static void test_allocation_over_capacity(void **state)
{
	/* Given out of priority order on purpose: the result must follow priority, not input order. */
	const PlanApp apps[] = {APP("low", 3, 4), APP("high", 1, 4), APP("mid", 2, 4)};
	_cleanup_plan_ Plan *p = compute(5, apps, ELEMENTSOF(apps), NULL, 0);

	assert_int_equal(p->apps[1].allocated, 4);
	assert_int_equal(p->apps[2].allocated, 1);
	assert_int_equal(p->apps[0].allocated, 0);
	assert_int_equal(p->apps[1].starts, 4);
	assert_int_equal(p->apps[2].starts, 1);
	assert_int_equal(p->apps[0].starts, 0);
}

static void test_priority_tie_broken_by_name(void **state)
{
	const PlanApp apps[] = {APP("zeta", 1, 2), APP("alpha", 1, 2)};
	const PlanApp reversed[] = {APP("alpha", 1, 2), APP("zeta", 1, 2)};
	_cleanup_plan_ Plan *p = compute(3, apps, ELEMENTSOF(apps), NULL, 0);
	_cleanup_plan_ Plan *q = compute(3, reversed, ELEMENTSOF(reversed), NULL, 0);

	assert_int_equal(p->apps[1].allocated, 2); /* alpha */
	assert_int_equal(p->apps[0].allocated, 1); /* zeta */
	assert_int_equal(q->apps[0].allocated, 2); /* alpha */
	assert_int_equal(q->apps[1].allocated, 1); /* zeta */
}

static void test_priority_beats_name(void **state)
{
	/* "aaa" sorts first by name but is less important by priority. */
	const PlanApp apps[] = {APP("aaa", 2, 3), APP("zzz", 1, 3)};
	_cleanup_plan_ Plan *p = compute(3, apps, ELEMENTSOF(apps), NULL, 0);

	assert_int_equal(p->apps[1].allocated, 3);
	assert_int_equal(p->apps[0].allocated, 0);
}

static void test_zero_targets(void **state)
{
	const PlanApp apps[] = {APP("priority1", 1, 0), APP("priority2", 2, 0)};
	const PlanContainer c[] = {CTR(0, PHASE_RUNNING, 1), CTR(1, PHASE_RUNNING, 2), CTR(1, PHASE_RUNNING, 3)};
	_cleanup_plan_ Plan *empty = compute(9, apps, ELEMENTSOF(apps), NULL, 0);
	_cleanup_plan_ Plan *p = compute(9, apps, ELEMENTSOF(apps), c, ELEMENTSOF(c));

	assert_int_equal(empty->apps[0].allocated, 0);
	assert_int_equal(empty->apps[1].allocated, 0);
	assert_int_equal(total_starts(empty), 0);
	assert_int_equal(empty->n_stops, 0);

	/* Everything that runs is stopped: lowest priority first, newest first. */
	assert_int_equal(total_starts(p), 0);
	assert_int_equal(p->n_stops, 3);
	assert_int_equal(p->stops[0], 2);
	assert_int_equal(p->stops[1], 1);
	assert_int_equal(p->stops[2], 0);
}

static void test_capacity_one(void **state)
{
	const PlanApp apps[] = {APP("priority2", 2, 1), APP("priority1", 1, 1)};
	_cleanup_plan_ Plan *p = compute(1, apps, ELEMENTSOF(apps), NULL, 0);

	assert_int_equal(p->apps[1].allocated, 1);
	assert_int_equal(p->apps[0].allocated, 0);
	assert_int_equal(p->apps[1].starts, 1);
	assert_int_equal(p->apps[0].starts, 0);
}

static void test_capacity_one_swap(void **state)
{
	/* priority2 holds the only slot; priority1 wants it: stop first, start only after the stop has exited. */
	const PlanApp apps[] = {APP("priority1", 1, 1), APP("priority2", 2, 1)};
	const PlanContainer running[] = {CTR(1, PHASE_RUNNING, 1)};
	const PlanContainer stopping[] = {CTR(1, PHASE_STOPPING, 1)};
	const PlanContainer exited[] = {CTR(1, PHASE_EXITED, 1)};
	_cleanup_plan_ Plan *a = compute(1, apps, ELEMENTSOF(apps), running, 1);
	_cleanup_plan_ Plan *b = compute(1, apps, ELEMENTSOF(apps), stopping, 1);
	_cleanup_plan_ Plan *c = compute(1, apps, ELEMENTSOF(apps), exited, 1);

	assert_int_equal(a->n_stops, 1);
	assert_int_equal(a->stops[0], 0);
	assert_int_equal(total_starts(a), 0);
	assert_int_equal(b->n_stops, 0);
	assert_int_equal(total_starts(b), 0);
	assert_int_equal(b->occupied, 1);
	assert_int_equal(c->n_removes, 1);
	assert_int_equal(c->removes[0], 0);
	assert_int_equal(c->apps[0].starts, 1);
	assert_int_equal(c->apps[1].starts, 0);
}

/* The SIGKILL mid scale-up: 3 run, 5 were created by the killed agent (their starts may still land). They hold
 * their places and count toward the target, and are removed; nothing new starts until they are gone. */
static void test_adopted_created_holds_its_place(void **state)
{
	const PlanApp apps[] = {APP("priority1", 1, 8)};
	const PlanContainer c[] = {CTR(0, PHASE_RUNNING, 1), CTR(0, PHASE_RUNNING, 2), CTR(0, PHASE_RUNNING, 3),
	                           CTR(0, PHASE_CREATED, 4), CTR(0, PHASE_CREATED, 5), CTR(0, PHASE_CREATED, 6),
	                           CTR(0, PHASE_CREATED, 7), CTR(0, PHASE_CREATED, 8)};
	_cleanup_plan_ Plan *p = compute(9, apps, ELEMENTSOF(apps), c, ELEMENTSOF(c));
	_cleanup_plan_ Plan *q = compute(9, apps, ELEMENTSOF(apps), c, 3);

	assert_int_equal(p->occupied, 8);
	assert_int_equal(p->apps[0].created, 5);
	assert_int_equal(p->n_removes, 5);
	assert_int_equal(p->n_stops, 0); /* the running ones are wanted: never stopped for them */
	assert_int_equal(total_starts(p), 0);
	/* Once they are gone, the rest is started. */
	assert_int_equal(q->apps[0].starts, 5);
}

static void test_capacity_zero(void **state)
{
	const PlanApp apps[] = {APP("priority1", 1, 5)};
	const PlanContainer c[] = {CTR(0, PHASE_RUNNING, 1), CTR(0, PHASE_RUNNING, 2)};
	_cleanup_plan_ Plan *p = compute(0, apps, ELEMENTSOF(apps), c, ELEMENTSOF(c));

	assert_int_equal(p->apps[0].allocated, 0);
	assert_int_equal(p->apps[0].starts, 0);
	assert_int_equal(p->n_stops, 2);
}

/* ---- the Force12 demo ---- */

static void test_force12_qos(void **state)
{
	PlanApp apps[] = {APP("priority1", 1, 3), APP("priority2", 2, 3)};
	Plan *p = compute(4, apps, ELEMENTSOF(apps), NULL, 0);

	assert_int_equal(p->apps[0].allocated, 3);
	assert_int_equal(p->apps[1].allocated, 1);
	assert_int_equal(p->apps[0].starts, 3);
	assert_int_equal(p->apps[1].starts, 1);
	p = plan_free(p);
	assert_null(p);

	apps[0].target = 1;
	p = compute(4, apps, ELEMENTSOF(apps), NULL, 0);
	assert_int_equal(p->apps[0].allocated, 1);
	assert_int_equal(p->apps[1].allocated, 3);
	plan_free(p);
}

static void test_force12_qos_with_containers(void **state)
{
	/* Running 3 + 1; priority1 drops to 1: two of priority1 stop (newest), priority2 waits for the room. */
	const PlanApp apps[] = {APP("priority1", 1, 1), APP("priority2", 2, 3)};
	PlanContainer c[] = {CTR(0, PHASE_RUNNING, 10), CTR(0, PHASE_RUNNING, 30), CTR(0, PHASE_RUNNING, 20),
	                     CTR(1, PHASE_RUNNING, 15)};
	Plan *p = compute(4, apps, ELEMENTSOF(apps), c, ELEMENTSOF(c));

	assert_int_equal(p->apps[0].allocated, 1);
	assert_int_equal(p->apps[1].allocated, 3);
	assert_int_equal(p->n_stops, 2);
	assert_int_equal(p->stops[0], 1);
	assert_int_equal(p->stops[1], 2);
	assert_int_equal(total_starts(p), 0);
	p = plan_free(p);

	c[1].phase = c[2].phase = PHASE_EXITED;
	p = compute(4, apps, ELEMENTSOF(apps), c, ELEMENTSOF(c));
	assert_int_equal(p->n_stops, 0);
	assert_int_equal(p->n_removes, 2);
	assert_int_equal(p->apps[0].starts, 0);
	assert_int_equal(p->apps[1].starts, 2);
	assert_int_equal(p->occupied, 2);
	plan_free(p);
}

static void test_priority_preemption(void **state)
{
	const PlanApp apps[] = {APP("priority1", 1, 9), APP("priority2", 2, 9)};
	PlanContainer c[9];
	Plan *p;

	for (size_t i = 0; i < ELEMENTSOF(c); i++)
		c[i] = (PlanContainer)CTR(1, PHASE_RUNNING, 100 + i);

	p = compute(9, apps, ELEMENTSOF(apps), c, ELEMENTSOF(c));
	assert_int_equal(p->apps[0].allocated, 9);
	assert_int_equal(p->apps[1].allocated, 0);
	assert_int_equal(p->apps[1].running, 9);
	assert_int_equal(p->n_stops, 9);
	for (size_t i = 0; i < 9; i++)
		assert_int_equal(p->stops[i], 8 - i); /* newest first */
	assert_int_equal(total_starts(p), 0);         /* stop before start */
	assert_int_equal(p->occupied, 9);
	p = plan_free(p);

	for (size_t i = 0; i < ELEMENTSOF(c); i++)
		c[i].phase = PHASE_STOPPING;
	p = compute(9, apps, ELEMENTSOF(apps), c, ELEMENTSOF(c));
	assert_int_equal(p->n_stops, 0);
	assert_int_equal(p->n_removes, 0);
	assert_int_equal(total_starts(p), 0);
	assert_int_equal(p->occupied, 9);
	assert_int_equal(p->apps[1].stopping, 9);
	assert_int_equal(p->apps[1].running, 0);
	p = plan_free(p);

	/* Half of them have exited: exactly that room is handed to priority1. */
	for (size_t i = 0; i < 4; i++)
		c[i].phase = PHASE_EXITED;
	p = compute(9, apps, ELEMENTSOF(apps), c, ELEMENTSOF(c));
	assert_int_equal(p->n_removes, 4);
	assert_int_equal(p->apps[0].starts, 4);
	assert_int_equal(p->apps[1].starts, 0);
	p = plan_free(p);

	for (size_t i = 0; i < ELEMENTSOF(c); i++)
		c[i].phase = PHASE_EXITED;
	p = compute(9, apps, ELEMENTSOF(apps), c, ELEMENTSOF(c));
	assert_int_equal(p->n_stops, 0);
	assert_int_equal(p->n_removes, 9);
	for (size_t i = 0; i < 9; i++)
		assert_true(contains(p->removes, p->n_removes, i));
	assert_int_equal(p->apps[0].starts, 9);
	assert_int_equal(p->apps[1].starts, 0);
	assert_int_equal(p->occupied, 0);
	plan_free(p);
}

/* ---- starts ---- */

static void test_can_start_false(void **state)
{
	PlanApp apps[] = {APP("priority1", 1, 3), APP("priority2", 2, 6)};
	_cleanup_plan_ Plan *p = NULL;

	apps[0].can_start = false;
	p = compute(6, apps, ELEMENTSOF(apps), NULL, 0);
	assert_int_equal(p->apps[0].allocated, 3);
	assert_int_equal(p->apps[0].starts, 0);
	/* priority2 does not borrow the room priority1 is backing off from. */
	assert_int_equal(p->apps[1].allocated, 3);
	assert_int_equal(p->apps[1].starts, 3);
}

static void test_can_start_false_keeps_running(void **state)
{
	/* Backing off stops nothing: the app's running containers stay within its allocation. */
	PlanApp apps[] = {APP("web", 1, 3)};
	const PlanContainer c[] = {CTR(0, PHASE_RUNNING, 1), CTR(0, PHASE_RUNNING, 2)};
	_cleanup_plan_ Plan *p = NULL;

	apps[0].can_start = false;
	p = compute(6, apps, ELEMENTSOF(apps), c, ELEMENTSOF(c));
	assert_int_equal(p->apps[0].starts, 0);
	assert_int_equal(p->n_stops, 0);
}

static void test_free_room_in_priority_order(void **state)
{
	/* 4 of capacity 6 are still stopping: the 2 free slots go to the more important app first. */
	const PlanApp apps[] = {APP("b", 2, 3), APP("a", 1, 3)};
	const PlanContainer c[] = {CTR(-1, PHASE_STOPPING, 1), CTR(-1, PHASE_STOPPING, 2), CTR(-1, PHASE_STOPPING, 3),
	                           CTR(-1, PHASE_STOPPING, 4)};
	_cleanup_plan_ Plan *p = compute(6, apps, ELEMENTSOF(apps), c, ELEMENTSOF(c));

	assert_int_equal(p->occupied, 4);
	assert_int_equal(p->apps[1].starts, 2);
	assert_int_equal(p->apps[0].starts, 0);
}

static void test_starting_counts_toward_target(void **state)
{
	const PlanApp apps[] = {APP("web", 1, 4)};
	const PlanContainer c[] = {CTR(0, PHASE_STARTING, 0), CTR(0, PHASE_STARTING, 0), CTR(0, PHASE_RUNNING, 5)};
	_cleanup_plan_ Plan *p = compute(9, apps, ELEMENTSOF(apps), c, ELEMENTSOF(c));

	assert_int_equal(p->apps[0].starting, 2);
	assert_int_equal(p->apps[0].running, 1);
	assert_int_equal(p->apps[0].starts, 1);
	assert_int_equal(p->occupied, 3);
}

static void test_excess_starting_never_stopped(void **state)
{
	/* Over allocation by 3, but only one RUNNING container: stop just that one, never a STARTING one. */
	const PlanApp apps[] = {APP("web", 1, 1)};
	const PlanContainer c[] = {CTR(0, PHASE_STARTING, 0), CTR(0, PHASE_RUNNING, 7), CTR(0, PHASE_STARTING, 0),
	                           CTR(0, PHASE_STARTING, 0)};
	_cleanup_plan_ Plan *p = compute(9, apps, ELEMENTSOF(apps), c, ELEMENTSOF(c));

	assert_int_equal(p->n_stops, 1);
	assert_int_equal(p->stops[0], 1);
	assert_int_equal(p->apps[0].starts, 0);
}

/* ---- stops ---- */

static void test_stop_newest_first(void **state)
{
	const PlanApp apps[] = {APP("web", 1, 2)};
	const PlanContainer c[] = {CTR(0, PHASE_RUNNING, 50), CTR(0, PHASE_RUNNING, 10), CTR(0, PHASE_RUNNING, 40),
	                           CTR(0, PHASE_RUNNING, 20), CTR(0, PHASE_RUNNING, 30)};
	_cleanup_plan_ Plan *p = compute(9, apps, ELEMENTSOF(apps), c, ELEMENTSOF(c));

	assert_int_equal(p->n_stops, 3);
	assert_int_equal(p->stops[0], 0); /* 50 */
	assert_int_equal(p->stops[1], 2); /* 40 */
	assert_int_equal(p->stops[2], 4); /* 30 */
	assert_int_equal(total_starts(p), 0);
}

static void test_stop_ties_higher_index_first(void **state)
{
	const PlanApp apps[] = {APP("web", 1, 1)};
	const PlanContainer c[] = {CTR(0, PHASE_RUNNING, 5), CTR(0, PHASE_RUNNING, 5), CTR(0, PHASE_RUNNING, 5)};
	_cleanup_plan_ Plan *p = compute(9, apps, ELEMENTSOF(apps), c, ELEMENTSOF(c));

	assert_int_equal(p->n_stops, 2);
	assert_int_equal(p->stops[0], 2);
	assert_int_equal(p->stops[1], 1);
}

static void test_stop_order_across_apps(void **state)
{
	/* Capacity 2 and every app has 2 running: app -1 first, then the most expendable app, then the next. */
	const PlanApp apps[] = {APP("mid", 2, 2), APP("high", 1, 1), APP("low", 3, 2)};
	const PlanContainer c[] = {
	        CTR(1, PHASE_RUNNING, 1),  CTR(0, PHASE_RUNNING, 2), CTR(2, PHASE_RUNNING, 3),
	        CTR(-1, PHASE_RUNNING, 4), CTR(2, PHASE_RUNNING, 5), CTR(0, PHASE_RUNNING, 6),
	};
	_cleanup_plan_ Plan *p = compute(2, apps, ELEMENTSOF(apps), c, ELEMENTSOF(c));

	assert_int_equal(p->apps[1].allocated, 1);
	assert_int_equal(p->apps[0].allocated, 1);
	assert_int_equal(p->apps[2].allocated, 0);
	assert_int_equal(p->n_stops, 4);
	assert_int_equal(p->stops[0], 3); /* app -1 */
	assert_int_equal(p->stops[1], 4); /* low, newest */
	assert_int_equal(p->stops[2], 2); /* low */
	assert_int_equal(p->stops[3], 5); /* mid, its newest; its older one keeps running */
	assert_int_equal(total_starts(p), 0);
}

static void test_adoption(void **state)
{
	/* A restarted agent finds its containers running at target: nothing to do. */
	const PlanApp apps[] = {APP("priority1", 1, 3), APP("priority2", 2, 6)};
	PlanContainer c[9];

	for (size_t i = 0; i < ELEMENTSOF(c); i++)
		c[i] = (PlanContainer)CTR(i < 3 ? 0 : 1, PHASE_RUNNING, 1000 - i);

	_cleanup_plan_ Plan *p = compute(9, apps, ELEMENTSOF(apps), c, ELEMENTSOF(c));
	assert_int_equal(p->n_stops, 0);
	assert_int_equal(p->n_removes, 0);
	assert_int_equal(total_starts(p), 0);
	assert_int_equal(p->apps[0].running, 3);
	assert_int_equal(p->apps[1].running, 6);
	assert_int_equal(p->occupied, 9);
}

static void test_adoption_below_target(void **state)
{
	const PlanApp apps[] = {APP("priority1", 1, 3), APP("priority2", 2, 6)};
	const PlanContainer c[] = {CTR(1, PHASE_RUNNING, 1), CTR(0, PHASE_RUNNING, 2)};
	_cleanup_plan_ Plan *p = compute(9, apps, ELEMENTSOF(apps), c, ELEMENTSOF(c));

	assert_int_equal(p->n_stops, 0);
	assert_int_equal(p->apps[0].starts, 2);
	assert_int_equal(p->apps[1].starts, 5);
}

/* ---- app -1, phases ---- */

static void test_unconfigured_app(void **state)
{
	const PlanApp apps[] = {APP("web", 1, 2)};
	const PlanContainer c[] = {
	        CTR(-1, PHASE_RUNNING, 1),  CTR(-1, PHASE_EXITED, 2),   CTR(-1, PHASE_RUNNING, 3),
	        CTR(-1, PHASE_STARTING, 4), CTR(-1, PHASE_STOPPING, 5), CTR(-1, PHASE_REMOVING, 6),
	};
	_cleanup_plan_ Plan *p = compute(4, apps, ELEMENTSOF(apps), c, ELEMENTSOF(c));

	assert_int_equal(p->n_stops, 2);
	assert_int_equal(p->stops[0], 2); /* newest first */
	assert_int_equal(p->stops[1], 0);
	assert_int_equal(p->n_removes, 1);
	assert_int_equal(p->removes[0], 1);
	/* RUNNING x2, STARTING, STOPPING occupy 4 of 4: web must wait. */
	assert_int_equal(p->occupied, 4);
	assert_int_equal(p->apps[0].allocated, 2);
	assert_int_equal(p->apps[0].starts, 0);
	assert_int_equal(p->apps[0].running, 0);
	assert_int_equal(p->apps[0].starting, 0);
	assert_int_equal(p->apps[0].stopping, 0);
}

static void test_unconfigured_app_without_apps(void **state)
{
	const PlanContainer c[] = {CTR(-1, PHASE_RUNNING, 1), CTR(-1, PHASE_EXITED, 2)};
	_cleanup_plan_ Plan *p = compute(9, NULL, 0, c, ELEMENTSOF(c));

	assert_int_equal(p->n_stops, 1);
	assert_int_equal(p->stops[0], 0);
	assert_int_equal(p->n_removes, 1);
	assert_int_equal(p->removes[0], 1);
}

static void test_stopping_and_removing(void **state)
{
	const PlanApp apps[] = {APP("web", 1, 1)};
	const PlanContainer c[] = {
	        CTR(0, PHASE_STOPPING, 1), CTR(0, PHASE_STOPPING, 2), CTR(0, PHASE_REMOVING, 3),
	        CTR(0, PHASE_REMOVING, 4), CTR(0, PHASE_RUNNING, 5),
	};
	_cleanup_plan_ Plan *p = compute(3, apps, ELEMENTSOF(apps), c, ELEMENTSOF(c));

	/* The RUNNING one is at target; STOPPING ones are not stopped again; REMOVING ones are not removed again. */
	assert_int_equal(p->n_stops, 0);
	assert_int_equal(p->n_removes, 0);
	assert_int_equal(p->apps[0].stopping, 2);
	assert_int_equal(p->apps[0].running, 1);
	assert_int_equal(p->occupied, 3); /* REMOVING counts for nothing */
	assert_int_equal(p->apps[0].starts, 0);
}

static void test_stopping_not_counted_toward_target(void **state)
{
	/* STOPPING containers use capacity but are not part of the app's count: it wants replacements. */
	const PlanApp apps[] = {APP("web", 1, 2)};
	const PlanContainer c[] = {CTR(0, PHASE_STOPPING, 1), CTR(0, PHASE_STOPPING, 2), CTR(0, PHASE_REMOVING, 3)};
	_cleanup_plan_ Plan *full = compute(2, apps, ELEMENTSOF(apps), c, ELEMENTSOF(c));
	_cleanup_plan_ Plan *room = compute(3, apps, ELEMENTSOF(apps), c, ELEMENTSOF(c));

	assert_int_equal(full->apps[0].starts, 0);
	assert_int_equal(room->apps[0].starts, 1);
}

static void test_exited_removed(void **state)
{
	const PlanApp apps[] = {APP("web", 1, 2)};
	const PlanContainer c[] = {CTR(0, PHASE_EXITED, 1), CTR(0, PHASE_RUNNING, 2), CTR(0, PHASE_EXITED, 3),
	                           CTR(0, PHASE_EXITED, 4)};
	_cleanup_plan_ Plan *p = compute(9, apps, ELEMENTSOF(apps), c, ELEMENTSOF(c));

	assert_int_equal(p->n_removes, 3);
	assert_true(contains(p->removes, p->n_removes, 0));
	assert_true(contains(p->removes, p->n_removes, 2));
	assert_true(contains(p->removes, p->n_removes, 3));
	assert_int_equal(p->occupied, 1);
	assert_int_equal(p->apps[0].starts, 1); /* exited ones are replaced */
}

static void test_over_capacity_after_capacity_drop(void **state)
{
	/* Capacity went from 6 to 2: stop the excess, start nothing while occupied is above capacity. */
	const PlanApp apps[] = {APP("a", 1, 3), APP("b", 2, 3)};
	const PlanContainer c[] = {CTR(0, PHASE_RUNNING, 1), CTR(0, PHASE_RUNNING, 2), CTR(0, PHASE_RUNNING, 3),
	                           CTR(1, PHASE_RUNNING, 4), CTR(1, PHASE_RUNNING, 5), CTR(1, PHASE_RUNNING, 6)};
	_cleanup_plan_ Plan *p = compute(2, apps, ELEMENTSOF(apps), c, ELEMENTSOF(c));

	assert_int_equal(p->apps[0].allocated, 2);
	assert_int_equal(p->apps[1].allocated, 0);
	assert_int_equal(p->n_stops, 4);
	assert_int_equal(p->stops[0], 5);
	assert_int_equal(p->stops[1], 4);
	assert_int_equal(p->stops[2], 3);
	assert_int_equal(p->stops[3], 2);
	assert_int_equal(total_starts(p), 0);
}

static void test_empty(void **state)
{
	_cleanup_plan_ Plan *p = compute(9, NULL, 0, NULL, 0);

	assert_int_equal(p->n_stops, 0);
	assert_int_equal(p->n_removes, 0);
	assert_int_equal(p->occupied, 0);
	assert_null(plan_free(NULL));
}

/* ---- invalid input ---- */

static void expect_einval(const PlanInput *in)
{
	Plan *sentinel = (Plan *)(uintptr_t)0xdeadbeef, *p = sentinel;

	assert_int_equal(plan_compute(in, &p), -EINVAL);
	assert_ptr_equal(p, sentinel);
}

static void test_invalid_input(void **state)
{
	const PlanApp apps[] = {APP("web", 1, 1), APP("db", 2, 1)};
	const PlanApp unnamed[] = {{.name = NULL, .priority = 1, .target = 1, .can_start = true}};
	PlanContainer c[] = {CTR(0, PHASE_RUNNING, 1), CTR(1, PHASE_RUNNING, 2)};
	PlanInput in = {.capacity = 9, .apps = apps, .n_apps = 2, .containers = c, .n_containers = 2};
	Plan *p = NULL;

	c[1].app = 2; /* == n_apps */
	expect_einval(&in);
	c[1].app = 1000;
	expect_einval(&in);
	c[1].app = -2;
	expect_einval(&in);
	c[1].app = 1;
	c[1].phase = _PHASE_MAX;
	expect_einval(&in);
	c[1].phase = (ContainerPhase)-1;
	expect_einval(&in);
	c[1].phase = PHASE_RUNNING;

	in.apps = NULL;
	expect_einval(&in);
	in.apps = apps;
	in.containers = NULL;
	expect_einval(&in);
	in.containers = c;
	in.apps = unnamed;
	in.n_apps = 1;
	c[1].app = 0;
	expect_einval(&in);
	expect_einval(NULL);
	in.apps = apps;
	in.n_apps = 2;
	assert_int_equal(plan_compute(&in, NULL), -EINVAL);

	/* The same input, repaired, is accepted. */
	assert_int_equal(plan_compute(&in, &p), 0);
	assert_non_null(p);
	plan_free(p);
}

/* ---- properties over pseudo-random input ---- */

static unsigned rnd(uint64_t *s, unsigned n)
{
	return (unsigned)(xorshift64(s) % n);
}

static const char *const names[] = {"alpha", "beta", "gamma", "delta", "beta" /* a duplicate, on purpose */};

static size_t random_apps(uint64_t *s, PlanApp *apps, size_t max)
{
	size_t n = rnd(s, (unsigned)max + 1);

	for (size_t i = 0; i < n; i++)
		apps[i] = (PlanApp){
		        .name = names[rnd(s, ELEMENTSOF(names))],
		        .priority = rnd(s, 4),
		        .target = rnd(s, 10),
		        .standby = rnd(s, 3) ? 0 : rnd(s, 4),
		        .can_start = rnd(s, 4) != 0,
		};
	return n;
}

/* True when apps[a] is more important than apps[b] under the documented order (index breaks full ties). */
static bool more_important(const PlanApp *apps, size_t a, size_t b)
{
	int r = strcmp(apps[a].name, apps[b].name);

	if (apps[a].priority != apps[b].priority)
		return apps[a].priority < apps[b].priority;
	return r != 0 ? r < 0 : a < b;
}

/* The app of importance rank k (0 = the most important). */
static size_t app_at_rank(const PlanInput *in, size_t k)
{
	for (size_t i = 0; i < in->n_apps; i++) {
		size_t rank = 0;

		for (size_t j = 0; j < in->n_apps; j++)
			rank += more_important(in->apps, j, i);
		if (rank == k)
			return i;
	}
	fail();
	return 0;
}

static void check_allocation(const PlanInput *in, const Plan *p)
{
	unsigned sum_alloc = 0, sum_target = 0;

	for (size_t i = 0; i < in->n_apps; i++) {
		sum_alloc += p->apps[i].allocated;
		sum_target += in->apps[i].target;
		assert_true(p->apps[i].allocated <= in->apps[i].target);
		/* An app short of its target means every less important app got nothing. */
		if (p->apps[i].allocated < in->apps[i].target)
			for (size_t j = 0; j < in->n_apps; j++)
				if (more_important(in->apps, i, j))
					assert_int_equal(p->apps[j].allocated, 0);
	}
	assert_int_equal(sum_alloc, MIN(in->capacity, sum_target));
}

/* The engine's truth, written from what the engine does with each phase's operation and not from the planner's
 * rules: may the engine report this container running (state "running", not "paused") at some instant before
 * the agent next looks? A start may have landed already; a stop or a pause has not landed yet; a warm runs
 * between its start and its pause. Paused, exited and removed containers do not run. */
static bool engine_may_run(ContainerPhase ph)
{
	switch (ph) {
	case PHASE_STARTING: /* create -> start, or an unpause, in flight */
	case PHASE_RUNNING:
	case PHASE_STOPPING: /* runs until the stop lands */
	case PHASE_PARKING:  /* runs until the pause lands */
	case PHASE_WARMING:  /* create -> start -> pause: runs between the start and the pause */
	case PHASE_CREATED:  /* adopted "created": a start sent before a restart may land at any moment */
		return true;
	default:
		return false;
	}
}

/* At worst everything the plan sets in motion runs at once with everything that may run now: every start,
 * resume (unpause) and warm (start before its pause), and every retire (unpause before its stop). */
static unsigned engine_worst_case(const PlanInput *in, const Plan *p)
{
	unsigned n = (unsigned)p->n_resumes + (unsigned)p->n_retires;

	for (size_t k = 0; k < in->n_containers; k++)
		n += engine_may_run(in->containers[k].phase);
	for (size_t i = 0; i < p->n_apps; i++)
		n += p->apps[i].starts + p->apps[i].warms;
	return n;
}

static void check_counts_and_starts(const PlanInput *in, const Plan *p)
{
	unsigned occupied = 0, starts = 0;

	for (size_t i = 0; i < in->n_apps; i++) {
		unsigned run = 0, sta = 0, sto = 0, cre = 0, active;

		for (size_t k = 0; k < in->n_containers; k++) {
			if (in->containers[k].app != (int)i)
				continue;
			run += in->containers[k].phase == PHASE_RUNNING;
			sta += in->containers[k].phase == PHASE_STARTING;
			sto += in->containers[k].phase == PHASE_STOPPING;
			cre += in->containers[k].phase == PHASE_CREATED;
		}
		assert_int_equal(p->apps[i].running, run);
		assert_int_equal(p->apps[i].starting, sta);
		assert_int_equal(p->apps[i].stopping, sto);
		assert_int_equal(p->apps[i].created, cre);
		active = run + sta + cre;
		/* Resumes and creates together fill the allocation, no more; the pool is used first. */
		assert_true(p->apps[i].starts + p->apps[i].resumes <=
		            (p->apps[i].allocated > active ? p->apps[i].allocated - active : 0));
		assert_true(p->apps[i].resumes <= p->apps[i].standby);
		if (p->apps[i].starts > 0)
			assert_int_equal(p->apps[i].resumes, p->apps[i].standby);
		if (!in->apps[i].can_start)
			assert_int_equal(p->apps[i].starts + p->apps[i].resumes, 0);
		starts += p->apps[i].starts + p->apps[i].resumes;
	}
	for (size_t k = 0; k < in->n_containers; k++)
		occupied += engine_may_run(in->containers[k].phase);
	assert_int_equal(p->occupied, occupied);
	/* Never over capacity on the engine, even for a moment; over it already (capacity lowered), nothing more. */
	if (occupied <= in->capacity)
		assert_true(engine_worst_case(in, p) <= in->capacity);
	else
		assert_int_equal(engine_worst_case(in, p), occupied);
	(void)starts;
}

/* (started_at, index) of a is newer than b's. */
static bool newer(const PlanInput *in, size_t a, size_t b)
{
	if (in->containers[a].started_at != in->containers[b].started_at)
		return in->containers[a].started_at > in->containers[b].started_at;
	return a > b;
}

/* How many containers of app the rules say must stop. */
static size_t expected_stops(const PlanInput *in, const Plan *p, int app)
{
	size_t run = 0;
	unsigned active, alloc;

	for (size_t k = 0; k < in->n_containers; k++)
		run += in->containers[k].app == app && in->containers[k].phase == PHASE_RUNNING;
	if (app < 0)
		return run; /* an unconfigured app parks nothing */
	active = p->apps[app].running + p->apps[app].starting;
	alloc = p->apps[app].allocated;
	return active > alloc ? MIN(active - alloc, run) : 0;
}

/* Stop-order rank: app -1 first, then the least important app first. */
static bool stops_before(const PlanInput *in, int a, int b)
{
	if (a == b)
		return false;
	if (a < 0 || b < 0)
		return a < 0;
	return more_important(in->apps, (size_t)b, (size_t)a);
}

static void check_stops(const PlanInput *in, const Plan *p)
{
	for (size_t s = 0; s < p->n_stops; s++) {
		size_t k = p->stops[s];
		int app, prev;

		assert_true(k < in->n_containers);
		assert_int_equal(in->containers[k].phase, PHASE_RUNNING);
		assert_false(contains(p->stops, s, k)); /* never twice */
		if (s == 0)
			continue;
		/* Grouped by app in stop-order rank, newest first within an app. */
		app = in->containers[k].app;
		prev = in->containers[p->stops[s - 1]].app;
		assert_false(stops_before(in, app, prev));
		if (prev == app)
			assert_true(newer(in, p->stops[s - 1], k));
	}
	for (int app = -1; app < (int)in->n_apps; app++) {
		size_t n = 0, parks = 0;

		for (size_t s = 0; s < p->n_stops; s++)
			n += in->containers[p->stops[s]].app == app;
		for (size_t s = 0; s < p->n_parks; s++)
			parks += in->containers[p->parks[s]].app == app;
		/* What leaves service is parked while the pool has room, and stopped beyond that. */
		assert_int_equal(n + parks, expected_stops(in, p, app));
		if (app >= 0) {
			unsigned pool = p->apps[app].standby + p->apps[app].warming + p->apps[app].parking;
			unsigned room = in->apps[app].standby > pool ? in->apps[app].standby - pool : 0;
			assert_int_equal(parks, MIN(room, expected_stops(in, p, app)));
		} else
			assert_int_equal(parks, 0);
		/* The ones taken out are the newest: no RUNNING container left in service is newer than one stopped or
		 * parked, and the parked ones are the newest of those taken out. */
		for (size_t k = 0; k < in->n_containers; k++) {
			bool stopped = contains(p->stops, p->n_stops, k), parked = contains(p->parks, p->n_parks, k);
			if (in->containers[k].app != app || in->containers[k].phase != PHASE_RUNNING || parked)
				continue;
			for (size_t s = 0; s < p->n_parks; s++)
				if (in->containers[p->parks[s]].app == app)
					assert_false(newer(in, k, p->parks[s]));
			if (stopped)
				continue;
			for (size_t s = 0; s < p->n_stops; s++)
				if (in->containers[p->stops[s]].app == app)
					assert_false(newer(in, k, p->stops[s]));
		}
	}
}

static void check_removes(const PlanInput *in, const Plan *p)
{
	size_t exited = 0;

	for (size_t r = 0; r < p->n_removes; r++) {
		assert_true(p->removes[r] < in->n_containers);
		assert_true(in->containers[p->removes[r]].phase == PHASE_EXITED ||
		            in->containers[p->removes[r]].phase == PHASE_CREATED);
		assert_false(contains(p->removes, r, p->removes[r]));
	}
	for (size_t k = 0; k < in->n_containers; k++)
		exited += in->containers[k].phase == PHASE_EXITED || in->containers[k].phase == PHASE_CREATED;
	assert_int_equal(p->n_removes, exited);
}

static size_t count_of_app(const PlanInput *in, const size_t *list, size_t n, int app)
{
	size_t c = 0;

	for (size_t k = 0; k < n; k++)
		c += in->containers[list[k]].app == app;
	return c;
}

/* The standby pool: resumes and retires pick distinct STANDBY containers of the right app; after the plan the pool
 * holds at most K (and exactly K once warms land, when the node is quiet); an unconfigured app keeps none. */
static void check_standby(const PlanInput *in, const Plan *p)
{
	bool quiet = p->n_stops == 0 && p->n_parks == 0 && p->n_resumes == 0 && p->n_retires == 0;
	/* No room left on the engine for anything more to run, even for a moment. */
	bool full = engine_worst_case(in, p) >= in->capacity;
	bool short_of_room = false;

	for (size_t k = 0; k < p->n_resumes; k++) {
		assert_int_equal(in->containers[p->resumes[k]].phase, PHASE_STANDBY);
		assert_false(contains(p->resumes, k, p->resumes[k]));
		assert_false(contains(p->retires, p->n_retires, p->resumes[k]));
	}
	for (size_t k = 0; k < p->n_retires; k++) {
		assert_int_equal(in->containers[p->retires[k]].phase, PHASE_STANDBY);
		assert_false(contains(p->retires, k, p->retires[k]));
	}
	for (size_t k = 0; k < in->n_containers; k++) {
		ContainerPhase ph = in->containers[k].phase;
		quiet = quiet && ph != PHASE_STARTING && ph != PHASE_STOPPING && ph != PHASE_PARKING &&
		        ph != PHASE_CREATED;
		if (ph == PHASE_CREATED) /* removed, always */
			assert_true(contains(p->removes, p->n_removes, k));
		if (in->containers[k].app < 0 && ph == PHASE_STANDBY && !full)
			assert_true(contains(p->retires, p->n_retires, k));
	}
	for (size_t i = 0; i < in->n_apps; i++) {
		const PlanAppResult *a = &p->apps[i];
		unsigned sb = 0, k_pool = in->apps[i].standby, after;

		for (size_t k = 0; k < in->n_containers; k++)
			sb += in->containers[k].app == (int)i && in->containers[k].phase == PHASE_STANDBY;
		assert_int_equal(a->standby, sb);
		assert_int_equal(a->resumes, count_of_app(in, p->resumes, p->n_resumes, (int)i));
		quiet = quiet && a->starts == 0;
		after = sb - a->resumes - (unsigned)count_of_app(in, p->retires, p->n_retires, (int)i) + a->warming +
		        a->parking + (unsigned)count_of_app(in, p->parks, p->n_parks, (int)i) + a->warms;
		/* Beyond K only while more is already on its way in than the pool needs (nothing to retire yet), or
		 * while the engine has no room to unpause one for its stop. */
		if (sb - a->resumes > 0 && after > k_pool && !full)
			assert_int_equal(sb - a->resumes, count_of_app(in, p->retires, p->n_retires, (int)i));
		if (a->warms > 0)
			assert_true(in->apps[i].can_start);
	}
	/* Warms fill the pool when quiet, in priority order, as far as the room on the engine goes. */
	for (size_t k = 0; k < in->n_apps; k++) {
		size_t i = app_at_rank(in, k);
		const PlanAppResult *a = &p->apps[i];
		unsigned pool = a->standby + a->warming + a->parking;
		unsigned want = in->apps[i].standby > pool ? in->apps[i].standby - pool : 0;
		if (!quiet || !in->apps[i].can_start) {
			assert_int_equal(a->warms, 0);
			continue;
		}
		if (short_of_room)
			assert_int_equal(a->warms, 0);
		else if (a->warms < want)
			assert_true(full);
		else
			assert_int_equal(a->warms, want);
		assert_true(a->warms <= want);
		short_of_room = short_of_room || a->warms < want;
	}
}

static void check_plan(const PlanInput *in, const Plan *p)
{
	assert_int_equal(p->n_apps, in->n_apps);
	check_allocation(in, p);
	check_counts_and_starts(in, p);
	check_stops(in, p);
	check_removes(in, p);
	check_standby(in, p);
}

/* A random input in apps[max_apps] and c[max_containers]: up to 12 of capacity, random apps, containers of random
 * apps (-1: unconfigured), phases, and start times in a small range, so that ties are many. */
static PlanInput random_input(uint64_t *seed, PlanApp *apps, size_t max_apps, PlanContainer *c, size_t max_containers)
{
	PlanInput in = {.apps = apps, .containers = c};

	in.n_apps = random_apps(seed, apps, max_apps);
	in.capacity = rnd(seed, 13);
	in.n_containers = rnd(seed, (unsigned)max_containers + 1);
	for (size_t k = 0; k < in.n_containers; k++)
		c[k] = (PlanContainer){
		        .app = (int)rnd(seed, (unsigned)in.n_apps + 1) - 1,
		        .phase = (ContainerPhase)rnd(seed, _PHASE_MAX),
		        .started_at = rnd(seed, 6),
		};
	return in;
}

static void test_property_random_inputs(void **state)
{
	uint64_t seed = 0x9e3779b97f4a7c15ULL;

	for (unsigned iter = 0; iter < 20000; iter++) {
		PlanApp apps[6];
		PlanContainer c[24];
		PlanInput in = random_input(&seed, apps, ELEMENTSOF(apps), c, ELEMENTSOF(c));
		Plan *p = NULL;

		assert_int_equal(plan_compute(&in, &p), 0);
		check_plan(&in, p);
		plan_free(p);
	}
}

/* plan_decide() from counts alone: the counts of each app's actions match what plan_compute() lists, a recount
 * decides the same (plan_decide works from the counts the caller keeps, never from the containers), and so does
 * any permutation of the containers. */
static void check_decide(const PlanInput *in, const Plan *p, uint64_t *seed)
{
	PlanAppResult res[6] = {}, orphans = {}, count[6] = {}, orphans_count = {};
	PlanContainer shuffled[24];
	size_t order[6];
	PlanInput perm = *in;
	Plan *q = NULL;

	for (size_t k = 0; k < in->n_containers; k++) {
		int app = in->containers[k].app;
		(void)plan_tally(app >= 0 ? &res[app] : &orphans, in->containers[k].phase);
	}
	assert_int_equal(plan_decide(in->capacity, in->apps, in->n_apps, res, &orphans, order), p->occupied);
	assert_memory_equal(res, p->apps, in->n_apps * sizeof(*res));
	assert_int_equal(orphans.stops, orphans.running);
	for (size_t k = 0; k < p->n_stops; k++) {
		int app = in->containers[p->stops[k]].app;
		(app >= 0 ? &count[app] : &orphans_count)->stops++;
	}
	for (size_t k = 0; k < p->n_parks; k++)
		count[in->containers[p->parks[k]].app].parks++;
	for (size_t k = 0; k < p->n_retires; k++) {
		int app = in->containers[p->retires[k]].app;
		(app >= 0 ? &count[app] : &orphans_count)->retires++;
	}
	for (size_t k = 0; k < p->n_resumes; k++)
		count[in->containers[p->resumes[k]].app].resumes++;
	assert_int_equal(orphans_count.stops, orphans.stops);
	assert_int_equal(orphans_count.retires, orphans.retires);
	for (size_t i = 0; i < in->n_apps; i++) {
		assert_int_equal(count[i].stops, p->apps[i].stops);
		assert_int_equal(count[i].parks, p->apps[i].parks);
		assert_int_equal(count[i].resumes, p->apps[i].resumes);
		assert_int_equal(count[i].retires, p->apps[i].retires);
	}
	for (size_t k = 0; k < in->n_containers; k++) {
		size_t j = rnd(seed, (unsigned)k + 1);
		shuffled[k] = shuffled[j];
		shuffled[j] = in->containers[k];
	}
	perm.containers = shuffled;
	assert_int_equal(plan_compute(&perm, &q), 0);
	assert_memory_equal(q->apps, p->apps, in->n_apps * sizeof(*res));
	assert_int_equal(q->n_stops, p->n_stops);
	assert_int_equal(q->n_removes, p->n_removes);
	plan_free(q);
}

static void test_decide_from_counts(void **state)
{
	uint64_t seed = 0x2545f4914f6cdd1dULL;

	for (unsigned iter = 0; iter < 20000; iter++) {
		PlanApp apps[6];
		PlanContainer c[24];
		PlanInput in = random_input(&seed, apps, ELEMENTSOF(apps), c, ELEMENTSOF(c));
		Plan *p = NULL;

		assert_int_equal(plan_compute(&in, &p), 0);
		check_decide(&in, p, &seed);
		plan_free(p);
	}
}

/* ---- simulation: carry plans out step by step, as the agent does, and check capacity at every instant ---- */

/* What the engine holds for a container, apart from the planner's phases: the engine's own state, changed one
 * engine call at a time (create, start, pause, unpause, stop, remove) as the agent's chains carry them out. */
typedef enum EngineState {
	ENG_CREATED,
	ENG_RUNNING,
	ENG_PAUSED,
	ENG_EXITED,
} EngineState;

typedef struct Sim {
	PlanContainer c[128];
	EngineState e[128];
	size_t n;
	uint64_t clock;
	unsigned capacity;
	unsigned max_running; /* the most the engine ever ran at once */
} Sim;

/* The engine's running count: state running, paused ones excluded. Checked after every single engine call. */
static void sim_check_engine(Sim *sim)
{
	unsigned n = 0;

	for (size_t k = 0; k < sim->n; k++)
		n += sim->e[k] == ENG_RUNNING;
	sim->max_running = MAX(sim->max_running, n);
	assert_true(n <= sim->capacity);
}

static void sim_apply(Sim *sim, const Plan *p)
{
	for (size_t s = 0; s < p->n_stops; s++)
		sim->c[p->stops[s]].phase = PHASE_STOPPING;
	for (size_t r = 0; r < p->n_removes; r++)
		sim->c[p->removes[r]].phase = PHASE_REMOVING;
	for (size_t r = 0; r < p->n_parks; r++)
		sim->c[p->parks[r]].phase = PHASE_PARKING;
	for (size_t r = 0; r < p->n_resumes; r++)
		sim->c[p->resumes[r]].phase = PHASE_STARTING;
	for (size_t r = 0; r < p->n_retires; r++)
		sim->c[p->retires[r]].phase = PHASE_STOPPING;
	for (size_t i = 0; i < p->n_apps; i++) {
		for (unsigned k = 0; k < p->apps[i].starts + p->apps[i].warms; k++) {
			bool warm = k >= p->apps[i].starts;

			assert_true(sim->n < ELEMENTSOF(sim->c));
			sim->e[sim->n] = ENG_CREATED;
			sim->c[sim->n++] =
			        (PlanContainer){.app = (int)i, .phase = warm ? PHASE_WARMING : PHASE_STARTING};
		}
	}
}

/* One engine call of a container's chain lands; returns false when the container is gone (removed). */
static bool sim_engine_call(Sim *sim, size_t k, uint64_t *seed)
{
	PlanContainer *c = &sim->c[k];
	EngineState *e = &sim->e[k];

	switch (c->phase) {
	case PHASE_STARTING: /* start (or unpause, for a resume) */
		if (*e == ENG_CREATED && rnd(seed, 8) == 0) {
			c->phase = PHASE_EXITED; /* the start failed */
			*e = ENG_EXITED;
			break;
		}
		*e = ENG_RUNNING;
		c->phase = PHASE_RUNNING;
		c->started_at = ++sim->clock;
		break;
	case PHASE_WARMING: /* start, then pause */
		if (*e == ENG_CREATED)
			*e = ENG_RUNNING;
		else if (rnd(seed, 8) == 0) {
			*e = ENG_EXITED; /* it died before the pause */
			c->phase = PHASE_EXITED;
		} else {
			*e = ENG_PAUSED;
			c->phase = PHASE_STANDBY;
		}
		break;
	case PHASE_PARKING:
		*e = ENG_PAUSED;
		c->phase = PHASE_STANDBY;
		break;
	case PHASE_STOPPING: /* a retire unpauses before it stops */
		if (*e == ENG_PAUSED)
			*e = ENG_RUNNING;
		else {
			*e = ENG_EXITED;
			c->phase = PHASE_EXITED;
		}
		break;
	case PHASE_REMOVING:
		return false;
	default:
		break;
	}
	return true;
}

/* Operations in flight finish in any order, one engine call at a time; the engine's running count is checked
 * after each. */
static void sim_progress(Sim *sim, uint64_t *seed)
{
	bool gone[ELEMENTSOF(sim->c)] = {false};
	size_t kept = 0;

	for (size_t k = 0; k < sim->n; k++)
		if (rnd(seed, 2)) {
			gone[k] = !sim_engine_call(sim, k, seed);
			sim_check_engine(sim);
		}
	for (size_t k = 0; k < sim->n; k++) {
		if (gone[k])
			continue;
		sim->c[kept] = sim->c[k];
		sim->e[kept++] = sim->e[k];
	}
	sim->n = kept;
}

static Plan *sim_step(Sim *sim, const PlanApp *apps, size_t n_apps, unsigned capacity)
{
	PlanInput in = {
	        .capacity = capacity, .apps = apps, .n_apps = n_apps, .containers = sim->c, .n_containers = sim->n};
	Plan *p = NULL;

	sim->capacity = capacity;
	assert_int_equal(plan_compute(&in, &p), 0);
	check_plan(&in, p);
	sim_apply(sim, p);
	sim_check_engine(sim);
	return p;
}

static void test_simulation_never_over_capacity(void **state)
{
	uint64_t seed = 0x2545f4914f6cdd1dULL;

	for (unsigned run = 0; run < 300; run++) {
		PlanApp apps[4] = {APP("priority1", 1, 0), APP("priority2", 2, 0), APP("batch", 3, 0),
		                   APP("extra", 2, 0)};
		unsigned capacity = 1 + rnd(&seed, 12);
		Sim sim = {.n = 0};

		for (unsigned step = 0; step < 60; step++) {
			if (rnd(&seed, 4) == 0)
				apps[rnd(&seed, 4)].target = rnd(&seed, 12);
			plan_free(sim_step(&sim, apps, ELEMENTSOF(apps), capacity));
			sim_progress(&sim, &seed);
		}
	}
}

static void test_simulation_converges(void **state)
{
	/* Demand swings between the demo's two apps; once it holds still, the host settles at the allocation. */
	uint64_t seed = 42;
	PlanApp apps[] = {APP("priority1", 1, 0), APP("priority2", 2, 9)};
	Sim sim = {.n = 0};
	Plan *p = NULL;

	for (unsigned step = 0; step < 200; step++) {
		if (step % 10 == 0)
			apps[0].target = rnd(&seed, 10);
		plan_free(sim_step(&sim, apps, ELEMENTSOF(apps), 9));
		sim_progress(&sim, &seed);
	}
	apps[0].target = 7;
	for (unsigned step = 0; step < 200; step++) {
		plan_free(sim_step(&sim, apps, ELEMENTSOF(apps), 9));
		sim_progress(&sim, &seed);
	}
	p = sim_step(&sim, apps, ELEMENTSOF(apps), 9);
	assert_int_equal(p->apps[0].running, 7);
	assert_int_equal(p->apps[1].running, 2);
	assert_int_equal(p->n_stops, 0);
	assert_int_equal(total_starts(p), 0);
	plan_free(p);
}

/* ---- warm standby ---- */

#define APP_SB(n, prio, tgt, k)                                                                     \
	{                                                                                           \
		.name = (n), .priority = (prio), .target = (tgt), .standby = (k), .can_start = true \
	}

static void test_standby_filled_when_quiet(void **state)
{
	PlanApp apps[] = {APP_SB("p1", 1, 2, 3), APP("p2", 2, 0)};
	PlanContainer c[] = {CTR(0, PHASE_RUNNING, 1), CTR(0, PHASE_RUNNING, 2), CTR(0, PHASE_STANDBY, 0)};
	Plan *p = compute(9, apps, 2, c, ELEMENTSOF(c));

	assert_int_equal(p->apps[0].standby, 1);
	assert_int_equal(p->apps[0].warms, 2); /* up to K = 3 */
	assert_int_equal(p->apps[1].warms, 0);
	assert_int_equal(p->apps[0].running, 2); /* standby never counts as running... */
	assert_int_equal(p->occupied, 2);        /* ...nor against capacity */
	plan_free(p);
}

static void test_standby_waits_for_real_work(void **state)
{
	PlanApp apps[] = {APP_SB("p1", 1, 3, 2)};
	PlanContainer busy[] = {CTR(0, PHASE_RUNNING, 1), CTR(0, PHASE_STARTING, 2)};
	Plan *p = compute(9, apps, 1, NULL, 0);

	/* Three to start: the pool waits. */
	assert_int_equal(p->apps[0].starts, 3);
	assert_int_equal(p->apps[0].warms, 0);
	plan_free(p);
	/* A start still in flight: the pool still waits. */
	apps[0].target = 2;
	p = compute(9, apps, 1, busy, ELEMENTSOF(busy));
	assert_int_equal(p->apps[0].warms, 0);
	plan_free(p);
	/* Backing off: nothing is created for the pool either. */
	apps[0].can_start = false;
	busy[1].phase = PHASE_RUNNING;
	p = compute(9, apps, 1, busy, ELEMENTSOF(busy));
	assert_int_equal(p->apps[0].warms, 0);
	plan_free(p);
}

static void test_standby_consumed_first(void **state)
{
	PlanApp apps[] = {APP_SB("p1", 1, 5, 3)};
	PlanContainer c[] = {CTR(0, PHASE_STANDBY, 0), CTR(0, PHASE_STANDBY, 0), CTR(0, PHASE_RUNNING, 1)};
	Plan *p = compute(9, apps, 1, c, ELEMENTSOF(c));

	/* 4 more wanted: the 2 parked ones are resumed, 2 are created. */
	assert_int_equal(p->apps[0].resumes, 2);
	assert_int_equal(p->n_resumes, 2);
	assert_true(contains(p->resumes, 2, 0) && contains(p->resumes, 2, 1));
	assert_int_equal(p->apps[0].starts, 2);
	assert_int_equal(p->apps[0].warms, 0); /* refilled later, when quiet */
	assert_int_equal(p->n_retires, 0);
	plan_free(p);
}

static void test_standby_resumes_use_free_capacity_only(void **state)
{
	/* Capacity 3 full of p2; p1 wants 3 with 3 parked: p2 stops first, nothing resumes into room not yet free. */
	PlanApp apps[] = {APP_SB("p1", 1, 3, 3), APP("p2", 2, 3)};
	PlanContainer c[] = {CTR(1, PHASE_RUNNING, 1), CTR(1, PHASE_RUNNING, 2), CTR(1, PHASE_RUNNING, 3),
	                     CTR(0, PHASE_STANDBY, 0), CTR(0, PHASE_STANDBY, 0), CTR(0, PHASE_STANDBY, 0)};
	Plan *p = compute(3, apps, 2, c, ELEMENTSOF(c));

	assert_int_equal(p->apps[0].allocated, 3);
	assert_int_equal(p->n_stops, 3);
	assert_int_equal(p->apps[0].resumes, 0);
	plan_free(p);
	c[0].phase = c[1].phase = PHASE_EXITED;
	c[2].phase = PHASE_STOPPING;
	p = compute(3, apps, 2, c, ELEMENTSOF(c));
	assert_int_equal(p->apps[0].resumes, 2); /* the room of the two that exited */
	assert_int_equal(p->apps[0].starts, 0);
	plan_free(p);
}

static void test_scale_down_parks_up_to_k(void **state)
{
	PlanApp apps[] = {APP_SB("p1", 1, 1, 2)};
	PlanContainer c[] = {CTR(0, PHASE_RUNNING, 1), CTR(0, PHASE_RUNNING, 2), CTR(0, PHASE_RUNNING, 3),
	                     CTR(0, PHASE_RUNNING, 4), CTR(0, PHASE_STANDBY, 0)};
	Plan *p = compute(9, apps, 1, c, ELEMENTSOF(c));

	/* 3 leave service; the pool has room for 1 more (K = 2, 1 parked): the newest is parked, 2 stopped. */
	assert_int_equal(p->n_parks, 1);
	assert_int_equal(p->parks[0], 3);
	assert_int_equal(p->n_stops, 2);
	assert_true(contains(p->stops, 2, 2) && contains(p->stops, 2, 1));
	assert_int_equal(p->apps[0].warms, 0);
	plan_free(p);
}

static void test_standby_beyond_k_retired(void **state)
{
	PlanApp apps[] = {APP_SB("p1", 1, 0, 1)};
	PlanContainer c[] = {CTR(0, PHASE_STANDBY, 0), CTR(0, PHASE_STANDBY, 0), CTR(0, PHASE_STANDBY, 0),
	                     CTR(-1, PHASE_STANDBY, 0)};
	Plan *p = compute(9, apps, 1, c, ELEMENTSOF(c));

	assert_int_equal(p->n_retires, 3); /* two of p1 beyond K = 1, and the unconfigured app's */
	assert_true(contains(p->retires, 3, 3));
	assert_int_equal(p->apps[0].warms, 0);
	plan_free(p);
	/* K = 0 and target 0: nothing is kept. */
	apps[0].standby = 0;
	p = compute(9, apps, 1, c, 3);
	assert_int_equal(p->n_retires, 3);
	plan_free(p);
}

static void test_simulation_with_standby(void **state)
{
	/* Demand swings with pools on both apps; capacity holds at every instant, and once demand holds still
	 * each app runs its allocation with exactly K parked. */
	uint64_t seed = 7;
	PlanApp apps[] = {APP_SB("priority1", 1, 0, 4), APP_SB("priority2", 2, 9, 2)};
	Sim sim = {.n = 0};
	Plan *p = NULL;

	for (unsigned step = 0; step < 300; step++) {
		if (step % 7 == 0)
			apps[0].target = rnd(&seed, 10);
		plan_free(sim_step(&sim, apps, ELEMENTSOF(apps), 9));
		sim_progress(&sim, &seed);
	}
	/* 4 + 3 running leave 2 free: the pools are warmed through that room, two at a time. */
	apps[0].target = 4;
	apps[1].target = 3;
	for (unsigned step = 0; step < 300; step++) {
		plan_free(sim_step(&sim, apps, ELEMENTSOF(apps), 9));
		sim_progress(&sim, &seed);
	}
	p = sim_step(&sim, apps, ELEMENTSOF(apps), 9);
	assert_int_equal(p->apps[0].running, 4);
	assert_int_equal(p->apps[1].running, 3);
	assert_int_equal(p->apps[0].standby, 4);
	assert_int_equal(p->apps[1].standby, 2);
	assert_int_equal(p->n_stops + p->n_parks + p->n_resumes + p->n_retires, 0);
	plan_free(p);
}

/* The bug of issue 20: a warming container runs between its start and its pause, so it counts against capacity
 * and no warm goes out beyond the free room. On a full node (capacity 9, 9 running, K = 9) nothing is warmed. */
static void test_warms_only_within_free_capacity(void **state)
{
	PlanApp apps[] = {APP_SB("p1", 1, 9, 9)};
	PlanContainer c[9];
	Plan *p;

	for (size_t k = 0; k < ELEMENTSOF(c); k++)
		c[k] = (PlanContainer)CTR(0, PHASE_RUNNING, k + 1);
	p = compute(9, apps, 1, c, 9);
	assert_int_equal(p->apps[0].warms, 0);
	plan_free(p);
	/* 7 running: the 2 free places are warmed, no more. */
	apps[0].target = 7;
	p = compute(9, apps, 1, c, 7);
	assert_int_equal(p->apps[0].warms, 2);
	plan_free(p);
	/* Two apps short of room: the more important one's pool is warmed first. */
	PlanApp two[] = {APP_SB("p2", 2, 0, 3), APP_SB("p1", 1, 7, 3)};
	for (size_t k = 0; k < 7; k++)
		c[k].app = 1;
	p = compute(9, two, 2, c, 7);
	assert_int_equal(p->apps[1].warms, 2);
	assert_int_equal(p->apps[0].warms, 0);
	plan_free(p);
}

static void test_warming_occupies_capacity(void **state)
{
	/* One running, one warming (started, not yet paused), capacity 2: no room for a start. */
	PlanApp apps[] = {APP_SB("p1", 1, 2, 1)};
	PlanContainer c[] = {CTR(0, PHASE_RUNNING, 1), CTR(0, PHASE_WARMING, 0)};
	Plan *p = compute(2, apps, 1, c, ELEMENTSOF(c));

	assert_int_equal(p->occupied, 2);
	assert_int_equal(p->apps[0].starts, 0);
	assert_int_equal(p->apps[0].warms, 0);
	plan_free(p);
	/* Once it is paused it frees its place. */
	c[1].phase = PHASE_STANDBY;
	p = compute(2, apps, 1, c, ELEMENTSOF(c));
	assert_int_equal(p->occupied, 1);
	assert_int_equal(p->apps[0].resumes, 1);
	plan_free(p);
}

static void test_retire_waits_for_room(void **state)
{
	/* A retire unpauses before it stops: on a full node the parked container of an unconfigured app waits. */
	PlanApp apps[] = {APP_SB("p1", 1, 1, 0)};
	PlanContainer c[] = {CTR(0, PHASE_RUNNING, 1), CTR(-1, PHASE_STANDBY, 0), CTR(0, PHASE_STANDBY, 0)};
	Plan *p = compute(1, apps, 1, c, ELEMENTSOF(c));

	assert_int_equal(p->n_retires, 0);
	plan_free(p);
	p = compute(2, apps, 1, c, ELEMENTSOF(c));
	assert_int_equal(p->n_retires, 1); /* one free place: one retire at a time, the unconfigured app's first */
	assert_int_equal(p->retires[0], 1);
	plan_free(p);
}

/* The bench's swap: capacity 9, two apps with K = 9 each, demand swapping between them. The engine model never
 * runs more than 9, not even for the moment between a warm's start and its pause. */
static void test_simulation_swap_capacity_9_standby_9(void **state)
{
	uint64_t seed = 2015;
	PlanApp apps[] = {APP_SB("priority1", 1, 0, 9), APP_SB("priority2", 2, 9, 9)};
	Sim sim = {.n = 0};

	for (unsigned round = 0; round < 20; round++) {
		apps[0].target = round % 2 ? 0 : 9;
		apps[1].target = 9 - apps[0].target;
		for (unsigned step = 0; step < 40; step++) {
			plan_free(sim_step(&sim, apps, ELEMENTSOF(apps), 9));
			sim_progress(&sim, &seed);
		}
	}
	assert_int_equal(sim.max_running, 9);
}

/* One count of phases for the planner and the status: every phase walked, its place against capacity and the one
 * counter it feeds; "stopping" as the status shows it is STOPPING and PARKING. */
static void test_tally_every_phase(void **state)
{
	static const bool occupies[_PHASE_MAX] = {
	        [PHASE_STARTING] = true, [PHASE_RUNNING] = true, [PHASE_STOPPING] = true,
	        [PHASE_WARMING] = true,  [PHASE_PARKING] = true, [PHASE_CREATED] = true,
	};

	for (int p = 0; p < _PHASE_MAX; p++) {
		PlanAppResult a = {};
		unsigned sum;

		assert_int_equal(plan_tally(&a, (ContainerPhase)p), occupies[p]);
		sum = a.running + a.starting + a.stopping + a.standby + a.warming + a.parking + a.created;
		assert_int_equal(sum, p == PHASE_EXITED || p == PHASE_REMOVING ? 0 : 1);
		assert_int_equal(plan_app_stopping(&a), p == PHASE_STOPPING || p == PHASE_PARKING);
	}
	PlanAppResult none = {};
	assert_false(plan_tally(&none, _PHASE_MAX));
	assert_false(plan_tally(&none, (ContainerPhase)-1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_tally_every_phase),
	        cmocka_unit_test(test_allocation_under_capacity),
	        cmocka_unit_test(test_allocation_over_capacity),
	        cmocka_unit_test(test_priority_tie_broken_by_name),
	        cmocka_unit_test(test_priority_beats_name),
	        cmocka_unit_test(test_zero_targets),
	        cmocka_unit_test(test_capacity_one),
	        cmocka_unit_test(test_capacity_one_swap),
	        cmocka_unit_test(test_adopted_created_holds_its_place),
	        cmocka_unit_test(test_capacity_zero),
	        cmocka_unit_test(test_force12_qos),
	        cmocka_unit_test(test_force12_qos_with_containers),
	        cmocka_unit_test(test_priority_preemption),
	        cmocka_unit_test(test_can_start_false),
	        cmocka_unit_test(test_can_start_false_keeps_running),
	        cmocka_unit_test(test_free_room_in_priority_order),
	        cmocka_unit_test(test_starting_counts_toward_target),
	        cmocka_unit_test(test_excess_starting_never_stopped),
	        cmocka_unit_test(test_stop_newest_first),
	        cmocka_unit_test(test_stop_ties_higher_index_first),
	        cmocka_unit_test(test_stop_order_across_apps),
	        cmocka_unit_test(test_adoption),
	        cmocka_unit_test(test_adoption_below_target),
	        cmocka_unit_test(test_unconfigured_app),
	        cmocka_unit_test(test_unconfigured_app_without_apps),
	        cmocka_unit_test(test_stopping_and_removing),
	        cmocka_unit_test(test_stopping_not_counted_toward_target),
	        cmocka_unit_test(test_exited_removed),
	        cmocka_unit_test(test_over_capacity_after_capacity_drop),
	        cmocka_unit_test(test_empty),
	        cmocka_unit_test(test_invalid_input),
	        cmocka_unit_test(test_property_random_inputs),
	        cmocka_unit_test(test_decide_from_counts),
	        cmocka_unit_test(test_simulation_never_over_capacity),
	        cmocka_unit_test(test_simulation_converges),
	        cmocka_unit_test(test_standby_filled_when_quiet),
	        cmocka_unit_test(test_standby_waits_for_real_work),
	        cmocka_unit_test(test_standby_consumed_first),
	        cmocka_unit_test(test_standby_resumes_use_free_capacity_only),
	        cmocka_unit_test(test_scale_down_parks_up_to_k),
	        cmocka_unit_test(test_standby_beyond_k_retired),
	        cmocka_unit_test(test_simulation_with_standby),
	        cmocka_unit_test(test_warms_only_within_free_capacity),
	        cmocka_unit_test(test_warming_occupies_capacity),
	        cmocka_unit_test(test_retire_waits_for_room),
	        cmocka_unit_test(test_simulation_swap_capacity_9_standby_9),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
