// SPDX-License-Identifier: Apache-2.0
/* The agent: keeps the engine at the target counts. It owns the container table (what the engine holds that
 * is ours), turns it into plans with plan_compute() and carries the plans out through the Docker client.
 * It never touches a container that does not carry its own node id. */
#pragma once

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "force12/config.h"
#include "force12/engine.h"
#include "force12/histogram.h"
#include "force12/macro.h"

typedef struct Agent Agent;

typedef struct AgentOptions {
	const char *docker_socket;
	Engine *engine; /* if set, used instead of a Docker client on docker_socket, and taken over (tests) */
	const char *node_id;
	const char *state_dir; /* NULL: targets are not kept */
	bool persist_targets;  /* keep run-time targets in state_dir */
	bool notify;           /* talk to systemd (READY=1, STATUS=) */
} AgentOptions;

typedef struct AgentTotals {
	uint64_t started, stopped, removed, killed, failed, died;
	uint64_t warmed, parked, resumed; /* the warm standby */
} AgentTotals;

/* Takes config over (also on failure). targets: config->n_apps initial targets. */
int agent_new(Agent **ret, sd_event *event, Config *config, const unsigned *targets, const AgentOptions *opts);
Agent *agent_free(Agent *a);
DEFINE_TRIVIAL_CLEANUP_FUNC(Agent *, agent_free);

/* Connects to the engine (waiting for it if need be), pulls missing images, syncs, then sends READY=1. */
int agent_start(Agent *a);

const Config *agent_config(const Agent *a);
const char *agent_node_id(const Agent *a);
/* False while the engine cannot be reached, and while its container lists fail (agent_engine_error says why). */
bool agent_engine_reachable(const Agent *a);
/* Why the engine is of no use although it answers pings (a list too big to hold, or garbage), or NULL. */
const char *agent_engine_error(const Agent *a);
bool agent_is_ready(const Agent *a);
const AgentTotals *agent_totals(const Agent *a);
const Histogram *agent_start_latency(const Agent *a);
const Histogram *agent_stop_latency(const Agent *a);

/* Sets the targets of the apps whose entry is not TARGETS_UNSET, all at once, and keeps them in the state dir.
 * The values must have been validated (targets_parse). */
void agent_set_targets(Agent *a, const unsigned *targets);
/* Current targets into ret (config->n_apps entries). */
void agent_get_targets(const Agent *a, unsigned *ret);

/* Swaps in a new config (SIGHUP). Apps kept by name keep their run-time targets; new apps start at their
 * configured target; containers of removed apps are stopped and removed. Takes config over. */
void agent_reload(Agent *a, Config *config);

/* The JSON answers of the control API. */
cJSON *agent_status_json(Agent *a);
cJSON *agent_targets_json(Agent *a);
cJSON *agent_containers_json(Agent *a);
/* Per app, for metrics: allocated and observed counts by phase. */
void agent_app_counts(Agent *a, size_t app, unsigned *allocated, unsigned *running, unsigned *starting,
                      unsigned *stopping);
/* Per app: standby containers parked and ready to resume; *warming (if not NULL): on their way into the pool. */
unsigned agent_app_standby(Agent *a, size_t app, unsigned *warming);
