// SPDX-License-Identifier: Apache-2.0
/* Demand sources: where targets come from, the control API being one of them. Each source hands the agent sets of
 * targets through the one callback it was given; the reconciler never knows where they came from. */
#pragma once

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <systemd/sd-event.h>

#include "force12/config.h"
#include "force12/time-util.h"

typedef struct Demand Demand;
/* targets: config->n_apps entries, TARGETS_UNSET for apps the source leaves alone. */
typedef void (*DemandFn)(const unsigned *targets, void *userdata);

#define DEMAND_RANDOM_INTERVAL_USEC (3 * USEC_PER_SEC)
#define DEMAND_RANDOM_MAX_STEP      3

typedef struct DemandOptions {
	const char *node_id; /* etcd: this node's key */
	unsigned interval;   /* http: seconds between polls, 0: the default */
	unsigned lease_ttl;  /* etcd: seconds, 0: the default */
	/* etcd: TLS (PEM files) and user/password auth; NULL: none (see ClusterOptions) */
	const char *etcd_cacert, *etcd_cert, *etcd_key, *etcd_user, *etcd_password_file;
} DemandOptions;

/* Apps that carry a "scale" rule (config->apps[i].scale) take their targets from it, whatever the spec: their
 * entries of the spec's source are dropped, and the control API may not set them.
 * spec: "api" (the control API: targets come through demand_submit()), "random[:SEED]", "file:PATH", "http://URL" (or
 * https), or "etcd://HOST:PORT[,HOST:PORT...]" (needs o->node_id). The config must outlive the source. On a bad spec
 * returns -EINVAL with a one-line reason in error (CONFIG_ERROR_MAX bytes). */
int demand_new_with_options(Demand **ret, sd_event *event, const char *spec, const Config *config,
                            const DemandOptions *o, DemandFn fn, void *userdata, ErrorText *error);
/* With the default options (no etcd). */
int demand_new(Demand **ret, sd_event *event, const char *spec, const Config *config, DemandFn fn, void *userdata,
               ErrorText *error);
Demand *demand_free(Demand *d);
DEFINE_TRIVIAL_CLEANUP_FUNC(Demand *, demand_free);
/* "api", "random", "file", "http", "etcd" ("none" for NULL): for status and error messages. */
const char *demand_kind(const Demand *d);
/* Targets from the control API: handed to the callback when d is the api source, else -EBUSY (another source owns
 * the targets, or they name an app a scale rule drives; nothing changes). targets NULL only asks. */
int demand_submit(Demand *d, const unsigned *targets);
/* What refused those targets, for the 409: "metric" when they name an app a scale rule drives, else the kind. */
const char *demand_owner(const Demand *d, const unsigned *targets);
/* Adds the source's view to a /v1/status object: "cluster" for etcd, "demand" for file and http, and
 * apps[].scale {query, value, recommendation, target, error, failures} for each app with a scale rule. */
void demand_status_json(const Demand *d, cJSON *status);
/* The force12_scale_* gauges of the apps with a scale rule (nothing without one). */
void demand_write_metrics(const Demand *d, FILE *f);
typedef struct ClusterStatus ClusterStatus;
/* The cluster's typed status (for /metrics); -ENODATA unless d is the etcd source. */
int demand_cluster_status(const Demand *d, ClusterStatus *ret);
/* A line for /healthz when the source cannot reach what it follows (etcd), else NULL. */
const char *demand_health_note(const Demand *d);

/* The Force12 demo's random walk, one step: current moves by up to max_step either way, within 0..max.
 * state is the generator's state (never 0). Pure, for the tests. */
unsigned demand_random_step(uint64_t *state, unsigned current, unsigned max, unsigned max_step);
