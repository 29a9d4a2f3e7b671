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
#define CLUSTER_TOKEN_RENEW_USEC (60 * USEC_PER_SEC) /* an auth token is asked for again after this long */

typedef struct Cluster Cluster;

typedef struct ClusterOptions {
	const char *node_id; /* this node's key under /force12/nodes/ */
	unsigned ttl;        /* lease TTL in seconds, 0: CLUSTER_DEFAULT_TTL */
	/* TLS: PEM files. cacert NULL: the system's CAs. cert and key: a client certificate, both or neither. Any of
	 * them needs every endpoint to be https://. */
	const char *cacert, *cert, *key;
	/* etcd's user/password auth: the token from /v3/auth/authenticate goes with every call and is renewed before
	 * it expires and on an "invalid auth token" answer. The password is the file's first line. */
	const char *user, *password_file;
} ClusterOptions;

/* endpoints: the part after etcd://: [https://]HOST:PORT[,...] (no scheme: http). On a bad spec or option returns
 * -EINVAL with one line in error (CONFIG_ERROR_MAX bytes). The password file is read here, once. */
int cluster_new_with_options(Cluster **ret, sd_event *event, const char *endpoints, const ClusterOptions *o,
                             const Config *config, DemandFn fn, void *userdata, ErrorText *error);
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

/* Parses "[https://]HOST:PORT[,...]" into http:// or https:// base URLs. Pure, for the tests. */
int cluster_parse_endpoints(const char *spec, char ***ret, size_t *ret_n, ErrorText *error);
