// SPDX-License-Identifier: Apache-2.0
/* force12ctl's private interface: the blocking HTTP client that talks to the agent (http.c), aligned tables
 * (table.c), the renderings of the agent's answers (render.c) and the commands (commands.c).
 * Only `set` changes anything, and only through the agent's API; nothing here touches the engine. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "force12/json.h"
#include "force12/macro.h"

/* FORCE12_VERSION comes from the VERSION file, through the Makefile. */

/* Exit statuses: part of the interface (INTERFACE.md). */
#define EXIT_AGENT_ERROR 1 /* the agent answered with an error (or something that is not an answer) */
#define EXIT_USAGE       2
#define EXIT_UNREACHABLE 3

#define CTL_DEFAULT_SOCKET   "/run/force12/agent.sock"
#define CTL_REPLY_MAX        (16u * 1024 * 1024)
#define CTL_CONNECT_TIMEOUT  5L  /* seconds */
#define CTL_TIMEOUT          30L /* seconds, the whole request */
#define CTL_TOKEN_MAX        4096
#define CTL_ERROR_MAX        1024
#define CTL_INTERVAL_DEFAULT 1.0

/* ---- http.c ---- */

/* Where the agent is: a unix socket, or a base URL (no trailing slash) with an optional bearer token. */
typedef struct Endpoint {
	char *socket_path;
	char *url;
	char *token;
} Endpoint;

void endpoint_done(Endpoint *e);
/* What to print after "agent not reachable at ". */
const char *endpoint_name(const Endpoint *e);

typedef struct Reply {
	long status;
	char *body; /* NUL-terminated; size excludes the NUL */
	size_t size;
} Reply;

void reply_done(Reply *r);

typedef struct Client Client;

int client_new(Client **ret, const Endpoint *e);
Client *client_free(Client *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(Client *, client_free);

/* Sends one request and waits for the answer (timeouts: connect 5 s, whole request 30 s; bodies over 16 MiB are
 * refused). 0 when the agent answered, whatever the HTTP status. Else a negative errno: the connect() errno,
 * -ETIMEDOUT, -ECONNRESET (no complete answer), -EHOSTUNREACH (name not resolved), -EFBIG (answer too large),
 * -EINTR (SIGINT or SIGTERM is pending: the caller blocked them to be told), -ENOMEM, -EIO; client_detail()
 * then holds curl's words. */
int client_request(Client *c, const char *method, const char *path, const char *body, Reply *ret);
const char *client_detail(const Client *c);

/* Whether a client_request() error means the agent could not be reached at all (exit status 3). */
bool client_error_is_unreachable(int r);

/* Reads the first line of a token file: -EBADMSG when empty or when it holds control characters. */
int token_read(const char *path, char **ret);

/* ---- table.c ---- */

typedef struct Table Table;

int table_new(Table **ret, size_t n_columns, const char *const *headers);
Table *table_free(Table *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(Table *, table_free);
/* Copies n_columns cells; control characters become '?'. NULL cells print as "-". */
int table_add_row(Table *t, const char *const *cells);
/* Left-aligned columns two spaces apart; the last column is not padded. */
int table_print(const Table *t, FILE *f);

/* A copy of s safe to print on a terminal: C0 and C1 control characters (escape sequences) become '?'. */
char *text_sanitize(const char *s);

/* ---- render.c ---- */

/* GET /v1/status as a header line, the apps table, errors and a totals line. -EPROTO when it is no status. */
int render_status(FILE *f, const cJSON *status);
/* GET /v1/containers as a table, sorted by app and name. -EPROTO when it is not an array. */
int render_containers(FILE *f, const cJSON *containers);

/* ---- commands.c ---- */

typedef struct Ctl {
	Endpoint endpoint;
	Client *client;
	bool pretty;               /* get, set */
	double interval;           /* watch, seconds */
	unsigned count;            /* watch: stop after this many refreshes; 0 = until Ctrl-C */
	char error[CTL_ERROR_MAX]; /* why a command failed, for main() to print */
} Ctl;

/* Each returns the exit status; when it is not 0, ctl->error says why unless it was printed already. */
int command_status(Ctl *ctl, char **args, int n_args);
int command_get(Ctl *ctl, char **args, int n_args);
int command_set(Ctl *ctl, char **args, int n_args);
int command_containers(Ctl *ctl, char **args, int n_args);
int command_watch(Ctl *ctl, char **args, int n_args);
int command_metrics(Ctl *ctl, char **args, int n_args);
