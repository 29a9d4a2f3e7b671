// SPDX-License-Identifier: Apache-2.0
/* Parses and formats target counts. It never applies anything: callers get all the values or an error, so a
 * rejected request changes nothing. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "force12/json.h"
#include "force12/targets.h"
#include "force12/utf8.h"

/* An app name as it may be echoed in an error: one line, ASCII, at most 64 characters. */
static const char *echo_name(const char *name, char buf[static 68])
{
	size_t i;

	for (i = 0; name[i] && i < 64; i++)
		buf[i] = (name[i] >= 0x20 && name[i] < 0x7f && name[i] != '"' && name[i] != '\\') ? name[i] : '?';
	strcpy(buf + i, name[i] ? "..." : "");
	return buf;
}

static int fail(ErrorText *error, int e, const char *fmt, const char *arg)
{
	if (error)
		(void)error_text_set(error, 0, fmt, arg);
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

int targets_parse(const char *text, size_t len, const Config *config, bool ignore_unknown, unsigned *ret,
                  ErrorText *error)
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
	if (json_has_nul_escape(text, len))
		return fail(error, TARGETS_MALFORMED, "body contains the escape \\u0000%s", "");

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
		char name[68];
		unsigned n;

		if (has_duplicate_key(json, item))
			return fail(error, TARGETS_MALFORMED, "app \"%s\" is named twice",
			            echo_name(item->string, name));
		if (idx < 0) {
			if (ignore_unknown)
				continue;
			return fail(error, TARGETS_UNKNOWN_APP, "unknown app \"%s\"", echo_name(item->string, name));
		}
		if (!count_from_json(item, &n))
			return fail(error, TARGETS_BAD_COUNT, "\"%s\": the count must be an integer in 0..1000000",
			            echo_name(item->string, name));
		values[idx] = n;
	}
	memcpy(ret, values, config->n_apps * sizeof(unsigned));
	return 0;
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
