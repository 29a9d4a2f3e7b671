// SPDX-License-Identifier: Apache-2.0
/* The agent's private state, shared by agent.c (sync, reconcile loop, life cycle), container.c (the container
 * state machine: every phase transition, from engine answers and events alike) and agent-json.c (what the API
 * shows). Calls go one way: agent.c -> container.c; container.c reports back only through Agent.news.
 * Nothing outside these files may include it. */
#pragma once

#include "force12/agent.h"
#include "force12/engine.h"
#include "force12/hashmap.h"
#include "force12/histogram.h"
#include "force12/list.h"
#include "force12/log.h"
#include "force12/plan.h"
#include "force12/time-util.h"

typedef enum ContainerOp {
	OP_NONE,
	OP_CREATE,
	OP_START,
	OP_STOP,
	OP_INSPECT,
	OP_REMOVE,
	OP_PAUSE,
	OP_UNPAUSE,
} ContainerOp;

/* What the state machine reports to the agent. */
typedef enum ContainerNews {
	NEWS_CHANGED,       /* a container changed: reconcile */
	NEWS_ENGINE_LOST,   /* an answer said the engine cannot be reached (error) */
	NEWS_START_FAILED,  /* a start of app failed (error, message): back off */
	NEWS_IMAGE_MISSING, /* a create of app found no image: pull it */
} ContainerNews;

typedef struct Container Container;
struct Container {
	LIST_FIELDS(Container, containers);
	Agent *agent;
	char id[DOCKER_ID_MAX + 1]; /* empty while the create is in flight */
	char name[128];
	char app_name[CONFIG_APP_NAME_MAX + 1];
	int app; /* config index, or -1 for an app no longer configured */
	ContainerPhase phase;
	ContainerOp op;
	uint64_t seq;      /* agent seq of the last change; a list issued before it is older news */
	usec_t started_at; /* CLOCK_REALTIME */
	usec_t op_begin;   /* CLOCK_MONOTONIC, when the current chain began */
	int exit_code;     /* from the die event or inspect; -1 unknown */
	bool died;         /* a die event came while an op was in flight */
	bool by_us;        /* we asked it to stop */
	bool warm;         /* created for the standby pool: paused once started */
	bool adopted;      /* found on the engine, not created by this agent in this life */
	uint32_t heap_pos; /* where it sits in the heap its app and phase put it in (table.c), if any */
	uint64_t serial;   /* the table's order: a later container has a higher serial (the planner's input order is
	                    * the table's, the latest first) */
};

/* A binary heap of containers, each knowing its place in it (table.c): O(log n) to add or take out any of them,
 * and the first few in order without walking the rest. */
typedef struct ContainerHeap {
	Container **items;
	size_t n, size;
	bool (*before)(const Container *x, const Container *y);
} ContainerHeap;

/* The containers of one app (or of the apps no longer configured, app -1), kept up to date by every change of a
 * container's phase, app or start time, so that a reconcile never walks the table. */
typedef struct AppTally {
	unsigned phases[_PHASE_MAX]; /* how many are in each phase */
	ContainerHeap running;       /* PHASE_RUNNING, the newest started first (ties: the earliest in the table) */
	ContainerHeap standby;       /* PHASE_STANDBY, the latest in the table first */
} AppTally;

/* One reconcile's work: the planner's decisions (plan_decide) from the tallies, and the containers they name, no
 * more than the parallel limits let through now, in the planner's order (plan.h). */
typedef struct Pass {
	PlanApp apps[CONFIG_MAX_APPS];
	PlanAppResult res[CONFIG_MAX_APPS], orphans;
	size_t order[CONFIG_MAX_APPS];
	unsigned occupied;
	Container **stops, **parks, **removes, **resumes, **retires; /* each at most config->parallel */
	size_t n_stops, n_parks, n_removes, n_resumes, n_retires;
	Container **buffer;
} Pass;

/* A list being merged into the table a slice per turn of the loop (container.c), so that no list holds the loop:
 * first its entries, then a walk over the table for the containers it did not name. */
typedef struct ListMerge {
	DockerContainer *list;
	size_t n, pos;
	Container *drop_next; /* the next container to look at for dropping (container_free() moves it on) */
	bool active, dropping;
} ListMerge;

typedef struct AppState {
	unsigned target;
	unsigned allocated;
	unsigned failures;
	usec_t retry_at; /* CLOCK_MONOTONIC; starts wait until then */
	bool kill_hint_logged;
	bool pulling;
	char last_error[256];
} AppState;

struct Agent {
	sd_event *event;
	Config *config;
	AppState *apps;
	char *node_id;
	char *label; /* io.force12.agent=<node id> */
	char *state_dir;
	bool persist_targets, notify;
	Engine *engine;
	void (*news)(Agent *a, ContainerNews news, int app, int error, const char *message);

	Container *containers; /* the table, the latest first */
	size_t n_containers;
	uint64_t serial;            /* the last container's serial */
	AppTally *tallies;          /* CONFIG_MAX_APPS + 1: app -1 (unconfigured) first, then by config index */
	ContainerHeap removable;    /* PHASE_EXITED and PHASE_CREATED, the latest in the table first */
	bool tally_broken;          /* a heap could not grow: rebuilt before the next reconcile */
	unsigned ops_in_flight;     /* creates, starts, stops, pauses, unpauses: at most config->parallel */
	unsigned removes_in_flight; /* removes: at most config->parallel too, apart */
	uint64_t seq;

	bool engine_up, ready, synced, images_checked, shutting_down;
	unsigned pings_failed;
	unsigned lists_failed; /* lists that failed since the last good one: the pings back off on them too */
	bool engine_logged;    /* "Engine reachable" was said once */
	char sync_error[256];  /* why the last list failed ("" once one succeeds): /healthz and /v1/status say it */
	unsigned images_pending;
	EngineStream *events;
	struct ImageCall *image_calls;
	bool list_in_flight; /* from the list's call until its merge is done */
	ListMerge merge;
	bool list_stale;    /* the engine was lost while the list was in flight or merged: the table is not synced
	                     * when the merge ends, another list follows */
	size_t merge_slice; /* entries merged (or containers looked at for dropping) between two looks at the clock */
	usec_t merge_slice_usec; /* merging per turn of the loop: after that much, the rest waits for the next turn */
	bool resync_wanted;      /* an event named a container of ours that the table lacks */
	uint64_t list_seq;
	Hashmap *by_id;    /* the containers whose id is known, by id */
	Hashmap *vanished; /* ids freed while a list was in flight (keys = values, owned) */
	Hashmap *creating; /* our creates in flight, by name: a list or an event may name them before the answer */

	sd_event_source *reconcile_source, *resync_timer, *retry_timer, *ping_timer, *merge_source;
	RateLimit engine_log;
	char status_line[512];

	AgentTotals totals;
	Histogram start_latency, stop_latency;
};

/* table.c: the tallies and heaps. Every change of a container's phase, app or start time goes through these. */
void container_set_phase(Container *c, ContainerPhase phase);
void container_set_app(Container *c, int app);
void container_set_started_at(Container *c, usec_t started_at);
void table_add(Container *c);
void table_remove(Container *c);
AppTally *table_tally(Agent *a, int app);
/* Counts again from the table and refills the heaps; false if a heap could still not grow. */
bool table_rebuild(Agent *a);
void table_free(Agent *a);
/* Writes into out the first k containers of h in its order that have no operation in flight, after skipping the
 * first skip of them; returns how many it wrote. */
size_t heap_first(const ContainerHeap *h, size_t skip, size_t k, Container **out);

/* agent.c: the work of a reconcile at now (CLOCK_MONOTONIC), without doing it. p->buffer must be freed. */
int agent_pass(Agent *a, usec_t now, Pass *p);

/* container.c: the phase's name in /v1/containers ("standby", ...), or NULL out of range. */
const char *container_phase_to_string(ContainerPhase p);

/* container.c: the container table. */
Container *container_new(Agent *a, int app, const char *app_name);
Container *container_find(Agent *a, const char *id);
void container_free(Container *c);
void container_touch(Container *c);

/* container.c: what the engine tells, outside of the chains. Only what carries the agent's own node id in its
 * io.force12.agent label is looked at, whatever the engine returns (an engine or a proxy may ignore filters). */
bool container_is_ours(Agent *a, const char *node);
/* Returns true if the table changed. */
bool container_handle_event(Agent *a, const DockerEvent *ev);
void container_forget_vanished(Agent *a);
/* A list issued at a->list_seq: merges each entry, then forgets the idle containers it did not name. */
void container_merge_list(Agent *a, const DockerContainer *list, size_t n);
/* The same in slices: begin takes list over (malloc'ed); each step merges or looks at no more than max entries and
 * returns true once the merge is done. end frees what a merge still holds (done or not). */
void container_merge_begin(Agent *a, DockerContainer *list, size_t n);
bool container_merge_step(Agent *a, size_t max);
void container_merge_end(Agent *a);

/* container.c: each starts a chain of engine calls and returns 0 or a negative errno. */
int container_create_and_start(Agent *a, int app);
int container_stop_and_remove(Container *c);
int container_remove(Container *c);
/* The warm standby: create -> start -> pause into the pool; pause a running one into it; unpause one back into
 * service; unpause -> stop -> remove one the pool no longer needs. */
int container_warm(Agent *a, int app);
int container_park(Container *c);
int container_resume(Container *c);
int container_retire(Container *c);
