// SPDX-License-Identifier: Apache-2.0
/* The reconciler: observed containers + targets + capacity -> plan. A pure function: it does no I/O, keeps no
 * state and never looks at the clock, so the unit tests can check it exhaustively without an engine.
 * The agent carries the plan out and calls plan_compute() again whenever anything changes. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "force12/macro.h"

typedef enum ContainerPhase {
	PHASE_STARTING, /* create or start in flight: occupies capacity */
	PHASE_RUNNING,  /* running, nothing in flight */
	PHASE_STOPPING, /* stop in flight: still occupies capacity until it has exited */
	PHASE_EXITED,   /* exited, dead, or created and not being started: garbage to remove */
	PHASE_REMOVING, /* remove in flight: occupies nothing */
	PHASE_STANDBY,  /* paused, ready to resume: occupies nothing, never counts as running */
	PHASE_WARMING,  /* create -> start -> pause in flight for the standby pool: runs until paused, so it occupies
	                 * capacity like STARTING (it never counts toward the app's target) */
	PHASE_PARKING,  /* pause of a running container in flight: occupies capacity until paused */
	PHASE_CREATED,  /* adopted in state "created" (not created by this agent in this life): a start sent before a
	                 * restart may still land, so it occupies capacity and counts toward its app like STARTING
	                 * until it is gone; it is removed (forced) */
	_PHASE_MAX,
} ContainerPhase;

typedef struct PlanApp {
	const char *name;
	unsigned priority; /* lower number = more important; ties broken by name (strcmp) */
	unsigned target;
	unsigned standby; /* K: containers to keep parked (paused) ready to resume */
	bool can_start;   /* false while the app backs off after failed starts */
} PlanApp;

typedef struct PlanContainer {
	int app; /* index into PlanInput.apps, or -1: an app that is no longer configured */
	ContainerPhase phase;
	uint64_t started_at; /* any monotonic order; used to stop the newest first */
} PlanContainer;

typedef struct PlanInput {
	unsigned capacity;
	const PlanApp *apps;
	size_t n_apps;
	const PlanContainer *containers;
	size_t n_containers;
} PlanInput;

typedef struct PlanAppResult {
	unsigned allocated;                   /* what the node gives the app after capacity and priority */
	unsigned running, starting, stopping; /* observed, by phase */
	unsigned standby, warming, parking;   /* observed: the standby pool and what is on its way in */
	unsigned created;                     /* observed: adopted "created" containers, on their way out */
	unsigned starts;                      /* containers to create and start now */
	unsigned resumes;                     /* standby containers to resume now (listed in Plan.resumes) */
	unsigned warms;                       /* containers to create, start and pause into the pool now */
	unsigned stops;                       /* RUNNING containers to stop now (listed in Plan.stops) */
	unsigned parks;                       /* RUNNING containers to park now (listed in Plan.parks) */
	unsigned retires;                     /* STANDBY containers to retire now (listed in Plan.retires) */
} PlanAppResult;

/* The one count of phases, for the planner and for what the status shows: adds a container in PHASE to a's
 * per-phase counters and returns whether it occupies a place against capacity (false for an invalid phase). */
bool plan_tally(PlanAppResult *a, ContainerPhase phase);
/* The same for n containers in phase at once (a caller that keeps a count per phase). */
bool plan_tally_n(PlanAppResult *a, ContainerPhase phase, unsigned n);

/* What /v1/status, /metrics and the history call "stopping": on the way out of running, to exit (STOPPING) or
 * into the standby pool (PARKING). The planner keeps the two apart. */
static inline unsigned plan_app_stopping(const PlanAppResult *a)
{
	return a->stopping + a->parking;
}

typedef struct Plan {
	PlanAppResult *apps; /* n_apps entries, same order as the input */
	size_t n_apps;
	size_t *stops; /* indices into PlanInput.containers, in the order to issue them */
	size_t n_stops;
	size_t *removes; /* indices into PlanInput.containers */
	size_t n_removes;
	size_t *parks; /* RUNNING containers to pause into the standby pool instead of stopping them */
	size_t n_parks;
	size_t *resumes; /* STANDBY containers to unpause */
	size_t n_resumes;
	size_t *retires; /* STANDBY containers beyond the pool's size (or of unconfigured apps) to stop and remove */
	size_t n_retires;
	unsigned occupied; /* counting against capacity now: starting + running + stopping + parking + warming +
	                    * created */
} Plan;

/* Rules:
 *  - allocation: apps in (priority, name) order each get min(target, capacity left);
 *  - an app whose running + starting exceeds its allocation has the excess stopped among its RUNNING
 *    containers, newest started_at first (ties: higher index first);
 *  - containers of app -1 are stopped when running and removed when exited;
 *  - every PHASE_EXITED container is removed;
 *  - every PHASE_CREATED container is removed too, but until it is gone it occupies capacity and counts toward its
 *    app's starts like a STARTING one (it may start at any moment), never toward its stops;
 *  - starts only use capacity that is free now (capacity - occupied, occupied counting every phase in which
 *    the engine may run the container: STARTING, RUNNING, STOPPING, PARKING and WARMING, of every app,
 *    including app -1), handed out in priority order, and only to apps with can_start; so stops that make room
 *    always finish before the starts that need the room, and the engine's running count never goes over
 *    capacity, even for a moment.
 *  - warm standby: an app with standby K keeps K containers paused (STANDBY) outside its capacity.
 *    - A scale-up resumes standby containers before it creates any (resumes use free capacity like starts).
 *    - A scale-down parks its excess (pauses it into the pool) while the pool (standby + warming + parking)
 *      is below K, and stops the rest.
 *    - The pool is refilled (warms) only when the node is quiet: nothing to start, resume, stop, park or
 *      retire, and nothing starting, stopping or parking. Real work always goes first. A warming container
 *      runs until it is paused, so warms only use the capacity that is free now: a node whose running
 *      containers fill its capacity refills no pool.
 *    - STANDBY containers beyond K, and those of unconfigured apps, are retired (unpaused, stopped and
 *      removed). The unpause runs them for a moment, so retires use free capacity too, after the starts.
 * Returns 0, or -ENOMEM, or -EINVAL when a container names an app index out of range. */
int plan_compute(const PlanInput *in, Plan **ret);

/* The same decisions from the counts alone, for a caller that keeps its containers' counts as their phases change
 * and its containers in the orders below (a node of 50,000 containers cannot hand every one over on each pass).
 * res: n_apps entries that carry each app's observed counts (what plan_tally() fills; the rest is overwritten),
 * orphans: those of the containers of app -1. Writes, as plan_compute() would:
 *  - allocated, starts, resumes, warms;
 *  - parks + stops: the app's newest RUNNING containers (newest started_at first; ties: higher index first) go
 *    out of service, the newest parks of them into the pool, the next stops stopped; orphans->stops = every
 *    RUNNING one of app -1;
 *  - resumes + retires: the app's first STANDBY containers in input order are resumed, the next retires
 *    retired; orphans->retires: the first of app -1;
 * order: the apps in (priority, name) order (the order starts, resumes and warms are handed out in; stops go from
 * the last). Returns what counts against capacity now (Plan.occupied). plan_compute() is this plus the choice of
 * containers, and lists them in this order: stops and parks of app -1 then from the least important app on;
 * resumes by order; retires of app -1 then by app index; removes: every EXITED and CREATED one, in input order. */
unsigned plan_decide(unsigned capacity, const PlanApp *apps, size_t n_apps, PlanAppResult *res, PlanAppResult *orphans,
                     size_t *order);

Plan *plan_free(Plan *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(Plan *, plan_free);
#define _cleanup_plan_ _cleanup_(plan_freep)
