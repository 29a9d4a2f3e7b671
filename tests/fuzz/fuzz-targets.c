/* Fuzzes targets_parse(), the one parser behind PUT /v1/targets, the state file and the demand sources, against
 * the embedded default config. Checks that a rejection writes nothing, that ignore_unknown only ever turns an
 * unknown-app refusal into something else, and that what it accepts survives targets_format() and a second parse
 * (the state file is written by one and read back by the other). */
#include <stdint.h>
#include <string.h>

#include "force12/config.h"
#include "force12/targets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                          \
	do {                              \
		if (!(x))                 \
			__builtin_trap(); \
	} while (0)

#define POISON 0xA5A5A5A5u

static const Config *default_config(void)
{
	static Config *c = NULL;

	if (!c && config_new_default(&c) < 0)
		__builtin_trap();
	return c;
}

/* Parses with the output pre-filled with POISON; on failure it must still be POISON. */
static TargetsError parse(const uint8_t *data, size_t size, const Config *c, bool ignore_unknown,
                          unsigned ret[CONFIG_MAX_APPS])
{
	char error[CONFIG_ERROR_MAX] = "";
	TargetsError e;
	int status;

	for (size_t i = 0; i < CONFIG_MAX_APPS; i++)
		ret[i] = POISON;
	e = targets_parse((const char *)data, size, c, ignore_unknown, ret, error);
	status = targets_http_status(e);
	if (e == TARGETS_OK) {
		CHECK(status == 200);
		for (size_t i = 0; i < c->n_apps; i++)
			CHECK(ret[i] == TARGETS_UNSET || ret[i] <= CONFIG_MAX_TARGET);
	} else {
		CHECK(status >= 400 && status < 500);
		CHECK(error[0] && memchr(error, '\0', sizeof(error)));
		for (size_t i = 0; i < c->n_apps; i++)
			CHECK(ret[i] == POISON);
	}
	return e;
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
	CHECK(parse((const uint8_t *)text, strlen(text), c, false, again) == TARGETS_OK);
	CHECK(memcmp(merged, again, c->n_apps * sizeof(unsigned)) == 0);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const Config *c = default_config();
	unsigned strict[CONFIG_MAX_APPS], lenient[CONFIG_MAX_APPS];
	TargetsError es, el;

	es = parse(data, size, c, false, strict);
	el = parse(data, size, c, true, lenient);
	/* Skipping unknown names changes nothing else: the same verdict unless the strict one was "unknown app". */
	if (es != TARGETS_UNKNOWN_APP)
		CHECK(el == es);
	CHECK(el != TARGETS_UNKNOWN_APP);
	if (es == TARGETS_OK)
		CHECK(memcmp(strict, lenient, c->n_apps * sizeof(unsigned)) == 0);
	if (el == TARGETS_OK)
		check_round_trip(c, lenient);
	return 0;
}
