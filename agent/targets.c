/* Parses and formats target counts. It never applies anything: callers get all the values or an error, so a
 * rejected request changes nothing. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "force12/json.h"
#include "force12/targets.h"
#include "force12/utf8.h"

static TargetsError fail(char *error, TargetsError e, const char *fmt, const char *arg)
{
	if (error)
		snprintf(error, CONFIG_ERROR_MAX, fmt, arg);
	return e;
}

static bool count_from_json(const cJSON *v, unsigned *ret)
{
	if (!cJSON_IsNumber(v))
		return false;
	double d = v->valuedouble;
	if (!(d >= 0 && d <= CONFIG_MAX_TARGET) || d != (double)(long long)d)
		return false;
	*ret = (unsigned)d;
	return true;
}

static bool has_duplicate_key(const cJSON *obj, const cJSON *item)
{
	for (const cJSON *i = obj->child; i && i != item; i = i->next)
		if (streq(i->string, item->string))
			return true;
	return false;
}

TargetsError targets_parse(const char *text, size_t len, const Config *config, bool ignore_unknown, unsigned *ret,
                           char *error)
{
	unsigned values[CONFIG_MAX_APPS];
	const cJSON *item;

	if (len > TARGETS_BODY_MAX)
		return fail(error, TARGETS_TOO_LARGE, "body is over %s bytes", "65536");
	if (len == 0)
		return fail(error, TARGETS_MALFORMED, "empty body: expected a JSON object like %s",
		            "{\"priority1\": 3}");
	if (memchr(text, 0, len))
		return fail(error, TARGETS_MALFORMED, "body contains a NUL byte%s", "");
	if (!utf8_is_valid(text, len))
		return fail(error, TARGETS_MALFORMED, "body is not valid UTF-8%s", "");

	const char *end = NULL;
	_cleanup_(cJSON_Deletep) cJSON *json = cJSON_ParseWithLengthOpts(text, len, &end, false);
	if (!json)
		return fail(error, TARGETS_MALFORMED, "malformed JSON: expected an object like %s",
		            "{\"priority1\": 3}");
	while (end < text + len && strchr(" \t\r\n", *end))
		end++;
	if (end < text + len)
		return fail(error, TARGETS_MALFORMED, "data after the JSON object%s", "");
	if (!cJSON_IsObject(json))
		return fail(error, TARGETS_MALFORMED, "expected a JSON object like %s, not another JSON value",
		            "{\"priority1\": 3}");

	for (size_t i = 0; i < config->n_apps; i++)
		values[i] = TARGETS_UNSET;
	cJSON_ArrayForEach (item, json) {
		int idx = config_find_app(config, item->string);
		unsigned n;

		if (has_duplicate_key(json, item))
			return fail(error, TARGETS_MALFORMED, "app \"%.64s\" is named twice", item->string);
		if (idx < 0) {
			if (ignore_unknown)
				continue;
			return fail(error, TARGETS_UNKNOWN_APP, "unknown app \"%.64s\"", item->string);
		}
		if (!count_from_json(item, &n))
			return fail(error, TARGETS_BAD_COUNT, "\"%.64s\": the count must be an integer in 0..1000000",
			            item->string);
		values[idx] = n;
	}
	memcpy(ret, values, config->n_apps * sizeof(unsigned));
	return TARGETS_OK;
}

int targets_http_status(TargetsError e)
{
	switch (e) {
	case TARGETS_OK:
		return 200;
	case TARGETS_UNKNOWN_APP:
		return 404;
	case TARGETS_BAD_COUNT:
		return 422;
	case TARGETS_TOO_LARGE:
		return 413;
	default:
		return 400;
	}
}

char *targets_format(const Config *config, const unsigned *targets)
{
	_cleanup_(cJSON_Deletep) cJSON *o = cJSON_CreateObject();

	if (!o)
		return NULL;
	for (size_t i = 0; i < config->n_apps; i++)
		if (!cJSON_AddNumberToObject(o, config->apps[i].name, targets[i]))
			return NULL;
	return cJSON_PrintUnformatted(o);
}
