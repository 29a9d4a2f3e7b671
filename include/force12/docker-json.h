/* Encoding and decoding of the engine's JSON: the create body, container lists, inspect answers and events.
 * Pure functions, tested without an engine; every field from outside is checked for type and size. */
#pragma once

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "force12/config.h"

#define LABEL_AGENT   "io.force12.agent"
#define LABEL_APP     "io.force12.app"
#define DOCKER_ID_MAX 64

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

DockerState docker_state_from_string(const char *s);
const char *docker_state_to_string(DockerState s);

typedef struct DockerContainer {
	char id[DOCKER_ID_MAX + 1];
	char name[128];
	char app[CONFIG_APP_NAME_MAX + 1];
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
	int exit_code;                     /* die: the exit code; else -1 */
	int64_t time_nano;
} DockerEvent;

/* The body of POST /containers/create for an app: image, command, env, labels of ownership, StopSignal SIGTERM,
 * StopTimeout, network mode and init. Returns a malloc'ed string, or NULL on allocation failure. */
char *docker_json_create_body(const AppConfig *app, const char *node_id);

/* Decodes GET /containers/json. Entries without an id or a valid app label are skipped (not ours to judge); an
 * answer that is not an array is -EPROTO. */
int docker_json_parse_list(const cJSON *json, DockerContainer **ret, size_t *ret_n);
int docker_json_parse_inspect(const cJSON *json, DockerInspect *ret);
/* Decodes one event object; -EPROTO if it lacks what every container event has. */
int docker_json_parse_event(const cJSON *json, DockerEvent *ret);
/* Decodes the "Id" of a create answer. */
int docker_json_parse_created_id(const cJSON *json, char ret[DOCKER_ID_MAX + 1]);
/* RFC 3339 with optional fraction and Z or offset -> usec since the epoch; "0001-01-01T00:00:00Z" -> 0. */
int docker_json_parse_time(const char *s, int64_t *ret_usec);
/* True if id is 1..64 lowercase hex digits: what may go into a URL path. */
bool docker_id_is_valid(const char *id);
