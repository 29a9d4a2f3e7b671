/* The Docker Engine client: asynchronous calls over the engine's unix socket, one callback per call.
 * It maps the engine's documented statuses to errors (304 "already in that state" is success, 404 -ENOENT,
 * 409 -EBUSY) and knows nothing of apps or plans. Every call has a timeout. */
#pragma once

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <systemd/sd-event.h>

#include "force12/http-client.h"
#include "force12/macro.h"

#define DOCKER_API_VERSION_MIN "1.25" /* StopTimeout at create */

typedef struct Docker Docker;

typedef struct DockerReply {
	int error;           /* 0, or negative errno (transport errors as in http-client.h; -ENOENT 404, -EBUSY 409,
	                        -EINVAL 400, -EIO 5xx, -EPROTO unparsable JSON) */
	long status;         /* HTTP status, 0 if none arrived */
	const char *message; /* the engine's "message", or curl's words; never NULL */
	cJSON *json;         /* parsed body, or NULL; owned by the client, valid during the callback */
	HttpRequest *request;
} DockerReply;

typedef void (*DockerCallback)(const DockerReply *reply, void *userdata);
/* Streamed /events: one decoded JSON object per call. */
typedef void (*DockerEventFn)(const cJSON *event, void *userdata);

int docker_new(Docker **ret, sd_event *event, const char *socket_path);
Docker *docker_free(Docker *d);
DEFINE_TRIVIAL_CLEANUP_FUNC(Docker *, docker_free);

const char *docker_socket_path(const Docker *d);
/* The negotiated API version ("1.41"), or NULL before a successful ping. */
const char *docker_api_version(const Docker *d);
/* True for errors that mean the engine itself cannot be reached (as opposed to a refused call). */
bool docker_error_is_unreachable(int error);

/* GET /_ping; on success the API version is taken from the Api-Version header. */
int docker_ping(Docker *d, DockerCallback cb, void *userdata);
int docker_create(Docker *d, const char *name, const char *body, DockerCallback cb, void *userdata);
int docker_start(Docker *d, const char *id, DockerCallback cb, void *userdata);
/* POST /containers/{id}/pause and /unpause (the warm standby). */
int docker_pause(Docker *d, const char *id, DockerCallback cb, void *userdata);
int docker_unpause(Docker *d, const char *id, DockerCallback cb, void *userdata);
/* The HTTP timeout is timeout_sec plus a margin, so the engine's own kill happens first. */
int docker_stop(Docker *d, const char *id, unsigned timeout_sec, DockerCallback cb, void *userdata);
int docker_remove(Docker *d, const char *id, bool force, DockerCallback cb, void *userdata);
int docker_inspect(Docker *d, const char *id, DockerCallback cb, void *userdata);
/* GET /containers/json?all=1 filtered by one label ("key=value"). */
int docker_list(Docker *d, const char *label, DockerCallback cb, void *userdata);
int docker_image_inspect(Docker *d, const char *image, DockerCallback cb, void *userdata);
/* POST /images/create; the reply's error reflects an error reported inside the progress stream too. */
int docker_pull(Docker *d, const char *image, DockerCallback cb, void *userdata);
/* GET /events filtered to containers with the label; on_event for each event, done when the stream ends. */
int docker_events(Docker *d, const char *label, DockerEventFn on_event, DockerCallback done, void *userdata,
                  HttpRequest **ret);
