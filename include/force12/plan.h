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
	_PHASE_MAX,
} ContainerPhase;

typedef struct PlanApp {
	const char *name;
	unsigned priority; /* lower number = more important; ties broken by name (strcmp) */
	unsigned target;
	bool can_start; /* false while the app backs off after failed starts */
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
	unsigned starts;                      /* containers to create and start now */
} PlanAppResult;

typedef struct Plan {
	PlanAppResult *apps; /* n_apps entries, same order as the input */
	size_t n_apps;
	size_t *stops; /* indices into PlanInput.containers, in the order to issue them */
	size_t n_stops;
	size_t *removes; /* indices into PlanInput.containers */
	size_t n_removes;
	unsigned occupied; /* containers that count against capacity now: starting + running + stopping */
} Plan;

/* Rules:
 *  - allocation: apps in (priority, name) order each get min(target, capacity left);
 *  - an app whose running + starting exceeds its allocation has the excess stopped among its RUNNING
 *    containers, newest started_at first (ties: higher index first);
 *  - containers of app -1 are stopped when running and removed when exited;
 *  - every PHASE_EXITED container is removed;
 *  - starts only use capacity that is free now (capacity - occupied, occupied counting STARTING, RUNNING and
 *    STOPPING of every app, including app -1), handed out in priority order, and only to apps with
 *    can_start; so stops that make room always finish before the starts that need the room, and the running
 *    count never goes over capacity, even for a moment.
 * Returns 0, or -ENOMEM, or -EINVAL when a container names an app index out of range. */
int plan_compute(const PlanInput *in, Plan **ret);

Plan *plan_free(Plan *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(Plan *, plan_free);
#define _cleanup_plan_ _cleanup_(plan_freep)
