// SPDX-License-Identifier: Apache-2.0
/* Fuzzes the decoders of the engine's answers: one JSON tree goes through the list, inspect, event and create-id
 * decoders (a confused or hostile engine may send any of them anything), and the raw bytes through the RFC 3339
 * parser. What a decoder accepts must be what the agent relies on: ids fit for a URL, valid app names, states in
 * range, terminated strings, times that format back to themselves. */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "force12/docker-json.h"
#include "fuzz.h"

#define TERMINATED(a) (memchr((a), '\0', sizeof(a)) != NULL)

static void check_state(DockerState s)
{
	CHECK(s >= 0 && s < _DOCKER_STATE_MAX && docker_state_to_string(s));
}

static void check_list(const cJSON *json)
{
	DockerContainer *list = (DockerContainer *)&list;
	size_t n = SIZE_MAX;

	if (docker_json_parse_list(json, &list, &n) < 0) {
		CHECK(list == (DockerContainer *)&list && n == SIZE_MAX);
		return;
	}
	CHECK(n <= (size_t)cJSON_GetArraySize(json));
	CHECK((n == 0) == (list == NULL));
	for (size_t i = 0; i < n; i++) {
		const DockerContainer *c = &list[i];

		CHECK(TERMINATED(c->id) && docker_id_is_valid(c->id));
		CHECK(TERMINATED(c->app) && app_name_is_valid(c->app));
		CHECK(TERMINATED(c->name) && c->name[0] && !strchr(c->name, '/'));
		check_state(c->state);
		CHECK(c->created >= 0);
	}
	free(list);
}

static void check_inspect(const cJSON *json)
{
	DockerInspect d;
	int64_t usec;

	if (docker_json_parse_inspect(json, &d) < 0)
		return;
	CHECK(TERMINATED(d.id) && docker_id_is_valid(d.id));
	check_state(d.state);
	CHECK(TERMINATED(d.started_at) && d.started_at_usec >= 0);
	/* started_at is kept only for a real start, and then it is the text the time came from. */
	if (d.started_at[0])
		CHECK(docker_json_parse_time(d.started_at, &usec) == 0 && usec == d.started_at_usec && usec > 0);
}

static void check_event(const cJSON *json)
{
	DockerEvent e;

	if (docker_json_parse_event(json, &e) < 0)
		return;
	CHECK(TERMINATED(e.id) && (e.id[0] == '\0' || docker_id_is_valid(e.id)));
	CHECK(TERMINATED(e.app) && (e.app[0] == '\0' || app_name_is_valid(e.app)));
	CHECK(e.action >= DOCKER_EVENT_OTHER && e.action <= DOCKER_EVENT_UNPAUSE);
	CHECK(e.action == DOCKER_EVENT_OTHER || e.id[0]);
	CHECK(e.exit_code >= -1 && (e.action == DOCKER_EVENT_DIE || e.exit_code == -1));
	CHECK(e.time_nano >= 0);
}

static void check_created_id(const cJSON *json)
{
	char id[DOCKER_ID_MAX + 1];

	if (docker_json_parse_created_id(json, id) < 0)
		return;
	CHECK(TERMINATED(id) && docker_id_is_valid(id));
}

/* An accepted time, written back in UTC with microseconds, must parse to the same value. */
static void check_time(const char *s)
{
	char again[64];
	int64_t usec, usec2;
	struct tm tm;
	time_t sec;

	if (docker_json_parse_time(s, &usec) < 0)
		return;
	CHECK(usec >= 0);
	sec = (time_t)(usec / 1000000);
	CHECK(gmtime_r(&sec, &tm));
	if (usec == 0 || tm.tm_year + 1900 > 9999) /* the zero time; or pushed past year 9999 by a negative offset */
		return;
	snprintf(again, sizeof(again), "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900, tm.tm_mon + 1,
	         tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(usec % 1000000));
	CHECK(docker_json_parse_time(again, &usec2) == 0 && usec2 == usec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cJSON *json = cJSON_ParseWithLength((const char *)data, size);
	char *copy;
	DockerState s;

	check_list(json);
	check_inspect(json);
	check_event(json);
	check_created_id(json);
	cJSON_Delete(json);

	copy = strndup((const char *)data, size);
	CHECK(copy);
	check_time(copy);
	s = docker_state_from_string(copy);
	/* Docker's names come back as they went in; Podman's own (stopping, stopped, ...) map to Docker's state, whose
	 * name then reads back as that same state. */
	if (s != _DOCKER_STATE_INVALID)
		CHECK(docker_state_from_string(docker_state_to_string(s)) == s);
	free(copy);
	return 0;
}
