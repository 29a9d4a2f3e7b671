// SPDX-License-Identifier: Apache-2.0
/* Renders the agent's JSON answers for people: the status table and the containers table.
 * Pure formatting onto a FILE; tolerant of missing fields ("-"), so an older or newer agent still shows. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"

static const char *string_of(const cJSON *o, const char *key)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(item) ? item->valuestring : NULL;
}

static void number_format(const cJSON *item, char *buf, size_t size)
{
	if (cJSON_IsNumber(item))
		snprintf(buf, size, "%.15g", item->valuedouble);
	else
		snprintf(buf, size, "-");
}

static void number_text(const cJSON *o, const char *key, char *buf, size_t size)
{
	number_format(cJSON_GetObjectItemCaseSensitive(o, key), buf, size);
}

static int print_status_header(FILE *f, const cJSON *status)
{
	const cJSON *docker = cJSON_GetObjectItemCaseSensitive(status, "docker");
	bool reachable = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(docker, "reachable"));
	bool pending = cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(status, "ready"));
	const char *api = string_of(docker, "api_version");
	_cleanup_free_ char *line = NULL, *safe = NULL;
	char capacity[32];

	number_text(status, "capacity", capacity, sizeof(capacity));
	if (asprintf(&line, "node %s, capacity %s, engine %s%s%s%s%s", string_of(status, "node") ?: "-", capacity,
	             reachable ? "reachable" : "NOT reachable", api ? " (API " : "", api ?: "", api ? ")" : "",
	             pending ? ", first sync pending" : "") < 0)
		return -ENOMEM;
	safe = text_sanitize(line);
	if (!safe)
		return -ENOMEM;
	fprintf(f, "%s\n", safe);
	return 0;
}

static int add_app_row(Table *t, const cJSON *app)
{
	static const char *const keys[] = {"priority", "target",   "allocated", "running",
	                                   "starting", "stopping", "standby"};
	char numbers[ELEMENTSOF(keys)][32];
	const char *cells[ELEMENTSOF(keys) + 2] = {string_of(app, "name")};

	char metric[32];

	for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
		number_text(app, keys[i], numbers[i], sizeof(numbers[i]));
		cells[i + 1] = numbers[i];
	}
	/* An app scaled on a metric: its last value ("-" without a rule or before the first answer). */
	number_text(cJSON_GetObjectItemCaseSensitive(app, "scale"), "value", metric, sizeof(metric));
	cells[ELEMENTSOF(keys) + 1] = metric;
	return table_add_row(t, cells);
}

static int print_apps(FILE *f, const cJSON *apps)
{
	static const char *const headers[] = {"APP",      "PRIORITY", "TARGET",  "ALLOCATED", "RUNNING",
	                                      "STARTING", "STOPPING", "STANDBY", "METRIC"};
	_cleanup_(table_freep) Table *t = NULL;
	const cJSON *app;
	int r;

	r = table_new(&t, ELEMENTSOF(headers), headers);
	if (r < 0)
		return r;
	cJSON_ArrayForEach (app, apps) {
		r = add_app_row(t, app);
		if (r < 0)
			return r;
	}
	return table_print(t, f);
}

/* A failing app's last error, one line an app, after the table where it does not break the columns. */
static int print_app_errors(FILE *f, const cJSON *apps)
{
	const cJSON *app;

	cJSON_ArrayForEach (app, apps) {
		const char *error = string_of(app, "error");
		if (!error)
			continue;
		_cleanup_free_ char *name = text_sanitize(string_of(app, "name") ?: "-");
		_cleanup_free_ char *text = text_sanitize(error);
		if (!name || !text)
			return -ENOMEM;
		fprintf(f, "error: %s: %s\n", name, text);
	}
	return 0;
}

/* Each scaling rule: its query, what the last value asks for, the target after the window, and its last error. */
static int print_app_scale(FILE *f, const cJSON *apps)
{
	const cJSON *app;

	cJSON_ArrayForEach (app, apps) {
		const cJSON *scale = cJSON_GetObjectItemCaseSensitive(app, "scale");
		char value[32], rec[32], target[32];

		if (!cJSON_IsObject(scale))
			continue;
		_cleanup_free_ char *name = text_sanitize(string_of(app, "name") ?: "-");
		_cleanup_free_ char *query = text_sanitize(string_of(scale, "query") ?: "-");
		_cleanup_free_ char *error =
		        string_of(scale, "error") ? text_sanitize(string_of(scale, "error")) : NULL;
		if (!name || !query || (string_of(scale, "error") && !error))
			return -ENOMEM;
		number_text(scale, "value", value, sizeof(value));
		number_text(scale, "recommendation", rec, sizeof(rec));
		number_text(scale, "target", target, sizeof(target));
		fprintf(f, "scale: %s: %s = %s, recommends %s, target %s%s%s\n", name, query, value, rec, target,
		        error ? "; error: " : "", error ?: "");
	}
	return 0;
}

/* Whatever counters the agent keeps, in its order: started, stopped, removed, killed, failed, ... */
static int print_totals(FILE *f, const cJSON *totals)
{
	const cJSON *item;
	const char *sep = "totals: ";

	if (!cJSON_IsObject(totals))
		return 0;
	cJSON_ArrayForEach (item, totals) {
		char number[32];
		_cleanup_free_ char *key = text_sanitize(item->string ?: "-");
		if (!key)
			return -ENOMEM;
		number_format(item, number, sizeof(number));
		fprintf(f, "%s%s %s", sep, key, number);
		sep = ", ";
	}
	if (totals->child)
		fputc('\n', f);
	return 0;
}

int render_status(FILE *f, const cJSON *status)
{
	const cJSON *apps = cJSON_GetObjectItemCaseSensitive(status, "apps");
	int r;

	if (!cJSON_IsObject(status) || !cJSON_IsArray(apps))
		return -EPROTO;
	r = print_status_header(f, status);
	if (r >= 0)
		r = print_apps(f, apps);
	if (r >= 0)
		r = print_app_errors(f, apps);
	if (r >= 0)
		r = print_app_scale(f, apps);
	if (r >= 0)
		r = print_totals(f, cJSON_GetObjectItemCaseSensitive(status, "totals"));
	return r;
}

static int compare_containers(const void *a, const void *b)
{
	const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
	int c = strcmp(string_of(x, "app") ?: "", string_of(y, "app") ?: "");

	return c != 0 ? c : strcmp(string_of(x, "name") ?: "", string_of(y, "name") ?: "");
}

static int add_container_row(Table *t, const cJSON *c)
{
	const char *id = string_of(c, "id");
	char short_id[13];
	const char *cells[] = {short_id, string_of(c, "name"), string_of(c, "app"), string_of(c, "state"),
	                       string_of(c, "started_at")};

	snprintf(short_id, sizeof(short_id), "%.12s", id ?: "-");
	return table_add_row(t, cells);
}

int render_containers(FILE *f, const cJSON *containers)
{
	static const char *const headers[] = {"ID", "NAME", "APP", "STATE", "STARTED"};
	_cleanup_(table_freep) Table *t = NULL;
	_cleanup_free_ const cJSON **sorted = NULL;
	size_t n = 0;
	const cJSON *c;
	int r;

	if (!cJSON_IsArray(containers))
		return -EPROTO;
	sorted = calloc((size_t)cJSON_GetArraySize(containers) + 1, sizeof(cJSON *));
	if (!sorted)
		return -ENOMEM;
	cJSON_ArrayForEach (c, containers)
		sorted[n++] = c;
	qsort(sorted, n, sizeof(cJSON *), compare_containers);
	r = table_new(&t, ELEMENTSOF(headers), headers);
	for (size_t i = 0; r >= 0 && i < n; i++)
		r = add_container_row(t, sorted[i]);
	if (r < 0)
		return r;
	return table_print(t, f);
}
