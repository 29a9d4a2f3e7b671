/* The agent's private state, shared by agent.c (sync and reconcile), container-ops.c (carrying out plans) and
 * agent-json.c (what the API shows). Nothing outside these files may include it. */
#pragma once

#include "force12/agent.h"
#include "force12/docker-json.h"
#include "force12/docker.h"
#include "force12/log.h"
#include "force12/plan.h"

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

typedef struct Container {
	struct Container *prev, *next;
	Agent *agent;
	char id[DOCKER_ID_MAX + 1]; /* empty while the create is in flight */
	char name[128];
	char app_name[CONFIG_APP_NAME_MAX + 1];
	int app; /* config index, or -1 for an app no longer configured */
	ContainerPhase phase;
	ContainerOp op;
	uint64_t seq;        /* agent seq of the last change; a list issued before it is older news */
	uint64_t started_at; /* CLOCK_REALTIME usec */
	uint64_t op_begin;   /* CLOCK_MONOTONIC usec when the current chain began */
	int exit_code;       /* from the die event or inspect; -1 unknown */
	bool died;           /* a die event came while an op was in flight */
	bool by_us;          /* we asked it to stop */
	bool warm;           /* created for the standby pool: paused once started */
} Container;

typedef struct AppState {
	unsigned target;
	unsigned allocated;
	unsigned failures;
	uint64_t retry_at; /* CLOCK_MONOTONIC usec; starts wait until then */
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
	Docker *docker;

	Container *containers;
	size_t n_containers;
	unsigned ops_in_flight;     /* creates, starts, stops, pauses, unpauses: at most config->parallel */
	unsigned removes_in_flight; /* removes: at most config->parallel too, apart */
	uint64_t seq;

	bool engine_up, ready, synced, images_checked, shutting_down;
	unsigned pings_failed;
	unsigned images_pending;
	HttpRequest *events;
	struct ImageCall *image_calls;
	bool list_in_flight;
	uint64_t list_seq;
	char **vanished; /* ids freed while a list was in flight */
	size_t n_vanished;

	sd_event_source *reconcile_source, *resync_timer, *retry_timer, *ping_timer;
	RateLimit engine_log;
	char status_line[512];

	AgentTotals totals;
	Histogram start_latency, stop_latency;
};

uint64_t now_usec(clockid_t clock);
void agent_schedule_reconcile(Agent *a);
/* The engine answered with a transport error: go into the waiting state. */
void agent_engine_lost(Agent *a, int error);
void agent_app_failed(Agent *a, int app, int error, const char *message);
/* Pulls an image in the background; the apps using it do not start until it is done. */
void agent_pull_image(Agent *a, const char *image);

Container *container_new(Agent *a, int app, const char *app_name);
Container *container_find(Agent *a, const char *id);
void container_free(Container *c);
void container_touch(Container *c);

/* container-ops.c: each starts a chain of engine calls and returns 0 or a negative errno. */
int container_create_and_start(Agent *a, int app);
int container_stop_and_remove(Container *c);
int container_remove(Container *c);
/* The warm standby: create -> start -> pause into the pool; pause a running one into it; unpause one back into
 * service; unpause -> stop -> remove one the pool no longer needs. */
int container_warm(Agent *a, int app);
int container_park(Container *c);
int container_resume(Container *c);
int container_retire(Container *c);
