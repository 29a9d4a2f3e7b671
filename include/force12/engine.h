// SPDX-License-Identifier: Apache-2.0
/* The container engine as the agent sees it: a table of asynchronous operations with typed answers (a created id,
 * a container list, an inspect, an event) and -errno. How the engine is reached (HTTP, JSON) is the business of
 * the implementation behind the table: the Docker Engine API client (docker.c) or a test's scripted fake.
 * Every answer is delivered later from the event loop, never from inside the call that queued it. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "force12/config.h"
#include "force12/macro.h"

#define LABEL_AGENT   "io.force12.agent"
#define LABEL_APP     "io.force12.app"
#define DOCKER_ID_MAX 64
#define NODE_ID_MAX   199 /* the longest node id (--node-id) */

typedef enum DockerState {
	DOCKER_STATE_CREATED,
	DOCKER_STATE_RUNNING,
	DOCKER_STATE_PAUSED,
	DOCKER_STATE_RESTARTING,
	DOCKER_STATE_REMOVING,
	DOCKER_STATE_EXITED,
	DOCKER_STATE_DEAD,
	_DOCKER_STATE_MAX,
	_DOCKER_STATE_INVALID = -EINVAL,
} DockerState;

/* One entry of a container list. */
typedef struct DockerContainer {
	char id[DOCKER_ID_MAX + 1];
	char name[128];
	char app[CONFIG_APP_NAME_MAX + 1];
	char node[NODE_ID_MAX + 1]; /* the io.force12.agent label: "" if missing or too long */
	DockerState state;
	int64_t created; /* seconds since the epoch */
} DockerContainer;

typedef struct DockerInspect {
	char id[DOCKER_ID_MAX + 1];
	DockerState state;
	int exit_code;
	char started_at[40];     /* RFC 3339 as the engine writes it */
	int64_t started_at_usec; /* 0 if unknown */
} DockerInspect;

typedef enum DockerEventAction {
	DOCKER_EVENT_OTHER,
	DOCKER_EVENT_CREATE,
	DOCKER_EVENT_START,
	DOCKER_EVENT_DIE,
	DOCKER_EVENT_DESTROY,
	DOCKER_EVENT_PAUSE,
	DOCKER_EVENT_UNPAUSE,
} DockerEventAction;

typedef struct DockerEvent {
	DockerEventAction action;
	char id[DOCKER_ID_MAX + 1];
	char app[CONFIG_APP_NAME_MAX + 1]; /* "" if the label is missing */
	char node[NODE_ID_MAX + 1];        /* the io.force12.agent label: "" if missing or too long */
	char name[128];                    /* the container's name, "" if missing */
	int exit_code;                     /* die: the exit code; else -1 */
	int64_t time_nano;
} DockerEvent;

/* What a container is created from: the engine labels it with app and node_id. */
typedef struct EngineCreateSpec {
	const char *name;
	const char *app;
	const char *node_id;
	const char *image;
	char *const *command; /* NULL: the image's own */
	char *const *env;     /* NULL: none */
	const char *network_mode;
	unsigned stop_timeout; /* seconds */
	bool init;
} EngineCreateSpec;

/* The spec of a container of app, named name, owned by node_id. */
static inline EngineCreateSpec engine_create_spec(const AppConfig *app, const char *name, const char *node_id)
{
	return (EngineCreateSpec){
	        .name = name,
	        .app = app->name,
	        .node_id = node_id,
	        .image = app->image,
	        .command = app->command,
	        .env = app->env,
	        .network_mode = app->network_mode,
	        .stop_timeout = app->stop_timeout,
	        .init = app->init,
	};
}

/* One answer. error: 0 or a negative errno (-ENOENT: no such container or image, -EBUSY: conflict, -EINVAL: refused,
 * -EIO: the engine failed; -ECONNREFUSED, -ECONNRESET, -ETIMEDOUT, -EPROTO: the engine cannot be reached or
 * speaks nonsense, see engine_error_is_unreachable()). The pointers are valid during the callback only. */
typedef struct EngineReply {
	int error;
	const char *message;          /* the engine's words, or the transport's; never NULL */
	const char *id;               /* create: the new container's id */
	const DockerInspect *inspect; /* inspect */
	const DockerContainer *list;  /* list */
	size_t n_list;
	DockerContainer **list_owner; /* list: where the engine holds it (malloc'ed), or NULL. A callback that needs the
	                               * list after it returns takes it (TAKE_PTR(*list_owner)) and frees it. */
} EngineReply;

typedef void (*EngineCallback)(const EngineReply *reply, void *userdata);
typedef void (*EngineEventFn)(const DockerEvent *event, void *userdata);

typedef struct Engine Engine;
typedef struct EngineStream EngineStream;

/* The operations. Each returns 0 when queued (the callback follows exactly once, unless the engine is freed
 * first: then never), or a negative errno (no callback). */
typedef struct EngineOps {
	Engine *(*free)(Engine *e);
	const char *(*address)(Engine *e);     /* for logs: the socket path */
	const char *(*api_version)(Engine *e); /* "1.41", or NULL before a successful ping */
	int (*ping)(Engine *e, EngineCallback cb, void *userdata);
	int (*create)(Engine *e, const EngineCreateSpec *spec, EngineCallback cb, void *userdata);
	int (*start)(Engine *e, const char *id, EngineCallback cb, void *userdata);
	/* The engine sends SIGTERM and kills after timeout_sec. */
	int (*stop)(Engine *e, const char *id, unsigned timeout_sec, EngineCallback cb, void *userdata);
	int (*pause)(Engine *e, const char *id, EngineCallback cb, void *userdata);
	int (*unpause)(Engine *e, const char *id, EngineCallback cb, void *userdata);
	/* force: a container that runs (or starts meanwhile) is killed first. */
	int (*remove)(Engine *e, const char *id, bool force, EngineCallback cb, void *userdata);
	int (*inspect)(Engine *e, const char *id, EngineCallback cb, void *userdata);
	/* Every container (running or not) that carries the label "key=value". expect: how many the caller may own;
	 * the answer may be as large as that many entries need (and never less than a fixed floor). */
	int (*list)(Engine *e, const char *label, size_t expect, EngineCallback cb, void *userdata);
	int (*image_inspect)(Engine *e, const char *image, EngineCallback cb, void *userdata);
	int (*pull)(Engine *e, const char *image, EngineCallback cb, void *userdata);
	/* Container events of the label: on_event for each, done once when the stream ends. */
	int (*events)(Engine *e, const char *label, EngineEventFn on_event, EngineCallback done, void *userdata,
	              EngineStream **ret);
	/* Ends a stream without calling done. */
	void (*stream_cancel)(Engine *e, EngineStream *s);
} EngineOps;

/* Every implementation starts with this. */
struct Engine {
	const EngineOps *ops;
};

static inline Engine *engine_free(Engine *e)
{
	return e ? e->ops->free(e) : NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(Engine *, engine_free);

/* True for errors that mean the engine itself cannot be reached (as opposed to a refused call). */
static inline bool engine_error_is_unreachable(int error)
{
	return error == -ECONNREFUSED || error == -ECONNRESET || error == -ETIMEDOUT || error == -EPROTO;
}

/* True if id is 1..64 lowercase hex digits: what may go into a URL path. */
bool docker_id_is_valid(const char *id);
