// SPDX-License-Identifier: Apache-2.0
/* Fuzzes targets_parse(), the one parser behind PUT /v1/targets, the state file and the demand sources, against
 * the embedded default config. Checks that a rejection writes nothing but one printable line, that ignore_unknown
 * only ever turns an unknown-app refusal into something else, and that what it accepts is one whole JSON object and
 * survives targets_format() and a second parse (the state file is written by one and read back by the other). */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <string.h>

#include "force12/config.h"
#include "force12/targets.h"
#include "force12/utf8.h"
#include "fuzz.h"

#define POISON 0xA5A5A5A5u

static const Config *default_config(void)
{
	static Config *c = NULL;

	if (!c)
		CHECK(config_new_default(&c) == 0);
	return c;
}

/* The message goes into the JSON answer of PUT /v1/targets and into the log: one line of UTF-8, whatever the
 * body's keys held. */
static void check_error_line(const char *error)
{
	size_t n = strnlen(error, CONFIG_ERROR_MAX);

	CHECK(n > 0 && n < CONFIG_ERROR_MAX);
	CHECK(utf8_is_valid(error, n));
	for (size_t i = 0; i < n; i++)
		CHECK((unsigned char)error[i] >= 0x20 && error[i] != 0x7f);
}

/* Parses with the output pre-filled with POISON; on failure it must still be POISON. */
static int parse(const uint8_t *data, size_t size, const Config *c, bool ignore_unknown, unsigned ret[CONFIG_MAX_APPS])
{
	ErrorText error = {};
	int e;

	for (size_t i = 0; i < CONFIG_MAX_APPS; i++)
		ret[i] = POISON;
	e = targets_parse((const char *)data, size, c, ignore_unknown, ret, &error);
	if (e == 0) {
		for (size_t i = 0; i < c->n_apps; i++)
			CHECK(ret[i] == TARGETS_UNSET || ret[i] <= CONFIG_MAX_TARGET);
	} else {
		CHECK(e == TARGETS_MALFORMED || e == TARGETS_UNKNOWN_APP || e == TARGETS_BAD_COUNT ||
		      e == TARGETS_TOO_LARGE);
		check_error_line(error.text);
		for (size_t i = 0; i < c->n_apps; i++)
			CHECK(ret[i] == POISON);
	}
	return e;
}

/* An accepted body is one JSON object and nothing after it but white space. */
static void check_whole_object(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data, *end = NULL;
	cJSON *json = cJSON_ParseWithLengthOpts(text, size, &end, false);

	CHECK(cJSON_IsObject(json));
	while (end < text + size && strchr(" \t\r\n", *end))
		end++;
	CHECK(end == text + size);
	cJSON_Delete(json);
}

/* What the agent does with a parse: unset apps keep their current target, then the whole set is saved. */
static void check_round_trip(const Config *c, const unsigned *values)
{
	unsigned merged[CONFIG_MAX_APPS], again[CONFIG_MAX_APPS];
	char *text;

	for (size_t i = 0; i < c->n_apps; i++)
		merged[i] = values[i] == TARGETS_UNSET ? c->apps[i].target : values[i];
	text = targets_format(c, merged);
	CHECK(text);
	CHECK(parse((const uint8_t *)text, strlen(text), c, false, again) == 0);
	CHECK(memcmp(merged, again, c->n_apps * sizeof(unsigned)) == 0);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const Config *c = default_config();
	unsigned strict[CONFIG_MAX_APPS], lenient[CONFIG_MAX_APPS];
	int es, el;

	es = parse(data, size, c, false, strict);
	el = parse(data, size, c, true, lenient);
	/* Skipping unknown names changes nothing else: the same verdict unless the strict one was "unknown app". */
	if (es != TARGETS_UNKNOWN_APP)
		CHECK(el == es);
	CHECK(el != TARGETS_UNKNOWN_APP);
	if (es == 0) {
		CHECK(memcmp(strict, lenient, c->n_apps * sizeof(unsigned)) == 0);
		/* A key cut short at an escaped NUL is not the name the client sent ({"priority1\u0000x": 3}). */
		CHECK(!has_escaped_nul(data, size));
	}
	if (el == 0) {
		check_whole_object(data, size);
		check_round_trip(c, lenient);
	}
	return 0;
}
