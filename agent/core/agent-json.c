// SPDX-License-Identifier: Apache-2.0
/* What the control API shows of the agent: status, targets and containers as JSON. Reads the agent's state; never
 * changes it. */
#include <stdio.h>

#include "agent-internal.h"

static cJSON *app_json(Agent *a, size_t i)
{
	const AppConfig *ac = &a->config->apps[i];
	unsigned alloc, running, starting, stopping;
	cJSON *o = cJSON_CreateObject();

	if (!o)
		return NULL;
	agent_app_counts(a, i, &alloc, &running, &starting, &stopping);
	cJSON_AddStringToObject(o, "name", ac->name);
	cJSON_AddNumberToObject(o, "priority", ac->priority);
	cJSON_AddNumberToObject(o, "target", a->apps[i].target);
	cJSON_AddNumberToObject(o, "allocated", alloc);
	cJSON_AddNumberToObject(o, "running", running);
	cJSON_AddNumberToObject(o, "starting", starting);
	cJSON_AddNumberToObject(o, "stopping", stopping);
	cJSON_AddNumberToObject(o, "standby", agent_app_standby(a, i, NULL));
	cJSON_AddNumberToObject(o, "standby_target", ac->standby);
	cJSON_AddStringToObject(o, "image", ac->image);
	if (a->apps[i].last_error[0])
		cJSON_AddStringToObject(o, "error", a->apps[i].last_error);
	else
		cJSON_AddNullToObject(o, "error");
	return o;
}

static cJSON *totals_json(Agent *a)
{
	cJSON *o = cJSON_CreateObject();

	if (!o)
		return NULL;
	cJSON_AddNumberToObject(o, "started", (double)a->totals.started);
	cJSON_AddNumberToObject(o, "stopped", (double)a->totals.stopped);
	cJSON_AddNumberToObject(o, "removed", (double)a->totals.removed);
	cJSON_AddNumberToObject(o, "killed", (double)a->totals.killed);
	cJSON_AddNumberToObject(o, "failed", (double)a->totals.failed);
	cJSON_AddNumberToObject(o, "died", (double)a->totals.died);
	cJSON_AddNumberToObject(o, "warmed", (double)a->totals.warmed);
	cJSON_AddNumberToObject(o, "parked", (double)a->totals.parked);
	cJSON_AddNumberToObject(o, "resumed", (double)a->totals.resumed);
	return o;
}

static cJSON *docker_json(Agent *a)
{
	cJSON *o = cJSON_CreateObject();
	const char *v = a->engine->ops->api_version(a->engine);

	if (!o)
		return NULL;
	cJSON_AddBoolToObject(o, "reachable", agent_engine_reachable(a));
	if (agent_engine_error(a))
		cJSON_AddStringToObject(o, "error", agent_engine_error(a));
	else
		cJSON_AddNullToObject(o, "error");
	if (v)
		cJSON_AddStringToObject(o, "api_version", v);
	else
		cJSON_AddNullToObject(o, "api_version");
	cJSON_AddStringToObject(o, "socket", a->engine->ops->address(a->engine));
	return o;
}

cJSON *agent_status_json(Agent *a)
{
	cJSON *o = cJSON_CreateObject(), *apps;

	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "node", a->node_id);
	cJSON_AddStringToObject(o, "version", FORCE12_VERSION);
	cJSON_AddNumberToObject(o, "capacity", a->config->capacity);
	cJSON_AddBoolToObject(o, "ready", a->ready);
	cJSON_AddItemToObject(o, "docker", docker_json(a));
	apps = cJSON_AddArrayToObject(o, "apps");
	for (size_t i = 0; apps && i < a->config->n_apps; i++)
		cJSON_AddItemToArray(apps, app_json(a, i));
	cJSON_AddItemToObject(o, "totals", totals_json(a));
	return o;
}

cJSON *agent_targets_json(Agent *a)
{
	cJSON *o = cJSON_CreateObject();

	for (size_t i = 0; o && i < a->config->n_apps; i++)
		cJSON_AddNumberToObject(o, a->config->apps[i].name, a->apps[i].target);
	return o;
}

static void format_time(uint64_t usec, char *buf, size_t size)
{
	time_t t = (time_t)(usec / 1000000);
	struct tm tm;

	if (usec == 0 || !gmtime_r(&t, &tm) || strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		buf[0] = 0;
}

cJSON *agent_containers_json(Agent *a)
{
	cJSON *arr = cJSON_CreateArray();

	for (Container *c = a->containers; arr && c; c = c->containers_next) {
		char started[32];
		cJSON *o = cJSON_CreateObject();
		if (!o)
			break;
		format_time(c->started_at, started, sizeof(started));
		cJSON_AddStringToObject(o, "id", c->id);
		cJSON_AddStringToObject(o, "name", c->name);
		cJSON_AddStringToObject(o, "app", c->app_name);
		cJSON_AddStringToObject(o, "state", container_phase_to_string(c->phase));
		if (started[0])
			cJSON_AddStringToObject(o, "started_at", started);
		else
			cJSON_AddNullToObject(o, "started_at");
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}
