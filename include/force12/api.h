// SPDX-License-Identifier: Apache-2.0
/* The control API: HTTP/1.1 + JSON over a unix socket (and optionally TCP with a bearer token), served by
 * libmicrohttpd inside the agent's sd-event loop. A rejected request changes nothing. */
#pragma once

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <systemd/sd-event.h>

#include "force12/agent.h"
#include "force12/cluster.h"

typedef struct Api Api;

typedef struct ApiOptions {
	const char *socket_path;  /* used when systemd passed no socket */
	int socket_mode;          /* 0660 */
	const char *socket_group; /* NULL: the process's group */
	const char *listen;       /* "ADDR:PORT" or NULL */
	const char *token;        /* required for TCP when ADDR is not loopback; without it TCP is read-only */
	/* Host names a request's Host header may carry besides localhost and IP literals (a reverse proxy's or
	 * the machine's name); checked on the unix socket and TCP alike. */
	const char *const *allow_hosts;
	size_t n_allow_hosts;
	/* PUT /v1/targets hands validated targets here (targets NULL: only asks): 0 when taken, -EBUSY with the
	 * owning source's kind in *ret_owner when another demand source owns the targets (the API answers 409). */
	int (*submit_targets)(const unsigned *targets, const char **ret_owner, void *userdata);
	/* Optional: adds fields to GET /v1/status (the cluster view); a note appended to a 200 /healthz ("ok; etcd
	 * not reachable: ..."), NULL when there is nothing to say. */
	void (*status_hook)(cJSON *status, void *userdata);
	const char *(*health_hook)(void *userdata);
	/* Optional: the cluster's status for /metrics; returns false outside cluster mode. */
	bool (*cluster_hook)(ClusterStatus *ret, void *userdata);
	void *hook_userdata;
} ApiOptions;

/* The status an answer gets for an error of a request's content: 0 200, -ENOENT 404 (no such app), -EBUSY 409,
 * -E2BIG 413, -ERANGE 422 (a value out of range), anything else 400. */
unsigned api_http_status(int error);

/* Whether a Host header value names this agent: localhost, an IP literal or one of allow (case-insensitive),
 * with port the listener's (0: the unix socket, any port; there a missing Host and a name without a dot are
 * allowed too). */
bool api_host_allowed(const char *host, unsigned port, const char *const *allow, size_t n_allow);

/* Fails with a one-line reason in error (CONFIG_ERROR_MAX bytes) when a socket cannot be set up, when a
 * non-loopback address is asked for without a token, or when an allow_hosts entry is not a host name. */
int api_new(Api **ret, sd_event *event, Agent *agent, const ApiOptions *opts, ErrorText *error);
Api *api_free(Api *api);
DEFINE_TRIVIAL_CLEANUP_FUNC(Api *, api_free);
