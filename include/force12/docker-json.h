// SPDX-License-Identifier: Apache-2.0
/* Encoding and decoding of the engine's JSON: the create body, container lists, inspect answers and events.
 * Pure functions, tested without an engine; every field from outside is checked for type and size. */
#pragma once

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "force12/engine.h"

DockerState docker_state_from_string(const char *s);
const char *docker_state_to_string(DockerState s);

/* The body of POST /containers/create: image, command, env, labels of ownership, StopSignal SIGTERM,
 * StopTimeout, network mode and init. Returns a malloc'ed string, or NULL on allocation failure. */
char *docker_json_create_body(const EngineCreateSpec *spec);

/* Decodes GET /containers/json. Entries without an id or a valid app label are skipped (not ours to judge); an
 * answer that is not an array is -EPROTO. */
int docker_json_parse_list(const cJSON *json, DockerContainer **ret, size_t *ret_n);
/* The same from the answer's text, one entry at a time (no tree of the whole answer): the same entries, or -EPROTO
 * for text that is not one JSON array. */
int docker_json_parse_list_text(const char *text, size_t len, DockerContainer **ret, size_t *ret_n);
/* The same in steps, so that a big list never holds the event loop: each step decodes at most max_entries.
 * text must stay valid until the end. Returns 1 when the list is complete (list, n), 0 for more, or -EPROTO. */
typedef struct DockerListParser {
	const char *text;
	size_t len, pos;
	bool started;
	DockerContainer *list;
	size_t n, size;
} DockerListParser;
int docker_list_parse_step(DockerListParser *lp, size_t max_entries);
/* Frees what the parser holds. */
void docker_list_parser_done(DockerListParser *lp);
int docker_json_parse_inspect(const cJSON *json, DockerInspect *ret);
/* Decodes one event object; -EPROTO if it lacks what every container event has. */
int docker_json_parse_event(const cJSON *json, DockerEvent *ret);
/* Decodes the "Id" of a create answer. */
int docker_json_parse_created_id(const cJSON *json, char ret[DOCKER_ID_MAX + 1]);
/* RFC 3339 with optional fraction and Z or offset -> usec since the epoch; "0001-01-01T00:00:00Z" -> 0. */
int docker_json_parse_time(const char *s, int64_t *ret_usec);

/* The path of an image's call, "/images/<name>/json" for suffix "/json": each '/'-separated part of the name
 * URL-escaped, so that nothing in it (?, #, %, spaces) changes the call. -EINVAL for a name that would leave
 * /images/ once a client or proxy resolves dot segments ("x/../../containers/ID") or that has an empty part.
 * Returns a malloc'ed string in *ret. */
int docker_image_path(const char *image, const char *suffix, char **ret);
