// SPDX-License-Identifier: Apache-2.0
/* Cluster mode: the demand source behind --demand etcd://HOST:PORT[,HOST:PORT...]. It registers this node under a
 * lease, watches the cluster totals and the members from the last revision it read, and hands the agent this
 * node's row of split_compute(). All through the etcd v3 JSON gateway with libcurl inside sd-event. It never
 * blocks, and while etcd is away it changes nothing: the last share stays. */
#pragma once

#include <cjson/cJSON.h>
#include <systemd/sd-event.h>

#include "force12/cluster-view.h"
#include "force12/config.h"
#include "force12/demand.h"
#include "force12/time-util.h"

#define CLUSTER_DEFAULT_TTL      10
#define CLUSTER_MAX_ENDPOINTS    16
#define CLUSTER_BACKOFF_MIN_USEC (250 * USEC_PER_MSEC)
#define CLUSTER_BACKOFF_MAX_USEC (5 * USEC_PER_SEC)

typedef struct Cluster Cluster;

/* endpoints: the part after etcd://. ttl: lease TTL in seconds. The config must outlive the cluster. On a bad
 * spec returns -EINVAL with one line in error (CONFIG_ERROR_MAX bytes). */
int cluster_new(Cluster **ret, sd_event *event, const char *endpoints, const char *node_id, unsigned ttl,
                const Config *config, DemandFn fn, void *userdata, ErrorText *error);
Cluster *cluster_free(Cluster *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(Cluster *, cluster_free);

/* What /metrics shows of the cluster, typed: no key of a JSON object to keep in step. */
typedef struct ClusterStatus {
	bool reachable;
	uint64_t revision;
	size_t n_members;
	unsigned failures;
	const unsigned *share; /* this node's share, config->n_apps entries; NULL before the first one */
} ClusterStatus;

/* Valid until the cluster changes (the next event loop iteration). */
void cluster_status(const Cluster *c, ClusterStatus *ret);

/* {"reachable", "endpoint", "revision", "lease_ttl", "members": [{"id", "capacity"}], "totals", "share",
 * "error", "failures"} */
cJSON *cluster_status_json(const Cluster *c);
bool cluster_reachable(const Cluster *c);

/* Parses "HOST:PORT[,HOST:PORT...]" into http:// base URLs. Pure, for the tests. */
int cluster_parse_endpoints(const char *spec, char ***ret, size_t *ret_n, ErrorText *error);
