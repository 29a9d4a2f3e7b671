// SPDX-License-Identifier: Apache-2.0
/* Unit tests of the target-count parser behind PUT /v1/targets and the state file: every error class with its HTTP
 * status and message, the bounds of a count, apps left unset, and that a refused body never writes ret. */

/* cmocka.h needs these four first; its own block keeps clang-format's include sorting from moving it up. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "force12/api.h"
#include "force12/config.h"
#include "force12/targets.h"

/* What ret holds before a call that must not write it: no count the parser could produce. */
#define SENTINEL 777777777u

static void fill(unsigned *v, size_t n, unsigned x)
{
	for (size_t i = 0; i < n; i++)
		v[i] = x;
}

static void assert_untouched(const unsigned *v)
{
	for (size_t i = 0; i < CONFIG_MAX_APPS; i++)
		if (v[i] != SENTINEL)
			fail_msg("ret[%zu] was written (%u) by a call that failed", i, v[i]);
}

/* The parser gets an exact-size heap copy without a terminating NUL, so that ASan sees any read past len. */
static int parse_exact(const char *text, size_t len, const Config *c, bool ignore_unknown, unsigned *ret,
                       ErrorText *error)
{
	char *copy = malloc(len > 0 ? len : 1);
	int e;

	assert_non_null(copy);
	memcpy(copy, text, len);
	e = targets_parse(copy, len, c, ignore_unknown, ret, error);
	free(copy);
	return e;
}

static void assert_refused_len(const Config *c, const char *text, size_t len, bool ignore_unknown, int expected,
                               int status, const char *needle)
{
	ErrorText error = {};
	unsigned ret[CONFIG_MAX_APPS];
	int e;

	fill(ret, CONFIG_MAX_APPS, SENTINEL);
	e = parse_exact(text, len, c, ignore_unknown, ret, &error);
	if (e != expected)
		fail_msg("targets_parse(%.*s) = %d, expected %d (error.text: \"%s\")", (int)MIN(len, 200), text, e,
		         expected, error.text);
	assert_int_equal(api_http_status(e), status);
	assert_untouched(ret);
	assert_true(error.text[0] != '\0');
	if (!strstr(error.text, needle))
		fail_msg("error.text \"%s\" does not contain \"%s\" (input: %.*s)", error.text, needle,
		         (int)MIN(len, 200), text);
	assert_null(strchr(error.text, '\n'));
	/* The message buffer is optional. */
	assert_int_equal(parse_exact(text, len, c, ignore_unknown, ret, NULL), expected);
	assert_untouched(ret);
}

static void assert_refused(const Config *c, const char *text, int expected, int status, const char *needle)
{
	assert_refused_len(c, text, strlen(text), false, expected, status, needle);
}

static void parse_ok_len(const Config *c, const char *text, size_t len, bool ignore_unknown, unsigned *ret)
{
	ErrorText error = {};
	int e;

	e = parse_exact(text, len, c, ignore_unknown, ret, &error);
	if (e != 0)
		fail_msg("targets_parse(%.*s) = %d: %s", (int)MIN(len, 200), text, e, error.text);
}

static void parse_ok(const Config *c, const char *text, unsigned *ret)
{
	parse_ok_len(c, text, strlen(text), false, ret);
}

/* The embedded default (priority1, priority2), shared by the tests: made once, so that a failing test (cmocka
 * longjmps out of it) does not leak it. */
static Config *default_config;

static int make_default_config(void **state)
{
	if (config_new_default(&default_config) < 0 || default_config->n_apps != 2)
		return -1;
	return 0;
}

static int free_default_config(void **state)
{
	default_config = config_free(default_config);
	return 0;
}

static void test_http_status(void **state)
{
	assert_int_equal(api_http_status(0), 200);
	assert_int_equal(api_http_status(TARGETS_MALFORMED), 400);
	assert_int_equal(api_http_status(TARGETS_UNKNOWN_APP), 404);
	assert_int_equal(api_http_status(TARGETS_BAD_COUNT), 422);
	assert_int_equal(api_http_status(TARGETS_TOO_LARGE), 413);
}

static void test_all_apps(void **state)
{
	const Config *c = default_config;
	unsigned ret[CONFIG_MAX_APPS];

	fill(ret, CONFIG_MAX_APPS, SENTINEL);
	parse_ok(c, "{\"priority1\": 3, \"priority2\": 6}", ret);
	assert_int_equal(ret[0], 3);
	assert_int_equal(ret[1], 6);
	/* Exactly n_apps entries are written. */
	assert_int_equal(ret[2], SENTINEL);

	/* Order in the body does not matter; whitespace around the object is fine. */
	parse_ok(c, "\n {\"priority2\":1,\"priority1\":2}\r\n\t", ret);
	assert_int_equal(ret[0], 2);
	assert_int_equal(ret[1], 1);
}

static void test_apps_not_named_are_unset(void **state)
{
	const Config *c = default_config;
	unsigned ret[CONFIG_MAX_APPS];

	fill(ret, CONFIG_MAX_APPS, SENTINEL);
	parse_ok(c, "{\"priority2\": 4}", ret);
	assert_int_equal(ret[0], TARGETS_UNSET);
	assert_int_equal(ret[1], 4);

	parse_ok(c, "{\"priority1\": 0}", ret);
	assert_int_equal(ret[0], 0);
	assert_int_equal(ret[1], TARGETS_UNSET);

	parse_ok(c, "{}", ret);
	assert_int_equal(ret[0], TARGETS_UNSET);
	assert_int_equal(ret[1], TARGETS_UNSET);
}

static void test_count_bounds(void **state)
{
	const Config *c = default_config;
	unsigned ret[CONFIG_MAX_APPS];

	parse_ok(c, "{\"priority1\": 0, \"priority2\": 1000000}", ret);
	assert_int_equal(ret[0], 0);
	assert_int_equal(ret[1], CONFIG_MAX_TARGET);

	/* Exact integers in other notations are integers, as in the config. */
	parse_ok(c, "{\"priority1\": 1e6, \"priority2\": 3.0}", ret);
	assert_int_equal(ret[0], 1000000);
	assert_int_equal(ret[1], 3);
	parse_ok(c, "{\"priority1\": -0}", ret);
	assert_int_equal(ret[0], 0);
}

static void test_bad_count(void **state)
{
	static const char *const bad[] = {
	        "-1", "1.5", "\"3\"", "true", "false", "null", "1000001", "1e300", "-1e300", "0.5", "[3]", "{}",
	};
	const Config *c = default_config;
	char text[128];

	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		snprintf(text, sizeof(text), "{\"priority1\": %s}", bad[i]);
		assert_refused(c, text, TARGETS_BAD_COUNT, 422, "\"priority1\"");
		assert_refused(c, text, TARGETS_BAD_COUNT, 422, "0..1000000");
		/* The message names the app that is wrong, not the first one. */
		snprintf(text, sizeof(text), "{\"priority1\": 3, \"priority2\": %s}", bad[i]);
		assert_refused(c, text, TARGETS_BAD_COUNT, 422, "\"priority2\"");
	}
}

static void test_unknown_app(void **state)
{
	const Config *c = default_config;
	unsigned ret[CONFIG_MAX_APPS];

	assert_refused(c, "{\"nope\": 1}", TARGETS_UNKNOWN_APP, 404, "unknown app \"nope\"");
	/* A valid app before it is not applied either. */
	assert_refused(c, "{\"priority1\": 3, \"nope\": 1}", TARGETS_UNKNOWN_APP, 404, "\"nope\"");
	/* Names are case-sensitive. */
	assert_refused(c, "{\"PRIORITY1\": 1}", TARGETS_UNKNOWN_APP, 404, "\"PRIORITY1\"");
	assert_refused(c, "{\"\": 1}", TARGETS_UNKNOWN_APP, 404, "unknown app \"\"");

	/* ignore_unknown skips the name (whatever its value) and keeps the rest. */
	const char *text = "{\"nope\": 1, \"priority2\": 5, \"gone\": \"x\"}";
	fill(ret, CONFIG_MAX_APPS, SENTINEL);
	parse_ok_len(c, text, strlen(text), true, ret);
	assert_int_equal(ret[0], TARGETS_UNSET);
	assert_int_equal(ret[1], 5);
	assert_int_equal(ret[2], SENTINEL);

	/* but does not hide anything else. */
	text = "{\"nope\": 1, \"priority1\": -1}";
	assert_refused_len(c, text, strlen(text), true, TARGETS_BAD_COUNT, 422, "\"priority1\"");
	text = "[\"nope\"]";
	assert_refused_len(c, text, strlen(text), true, TARGETS_MALFORMED, 400, "expected a JSON object");
}

static void test_duplicate_key(void **state)
{
	const Config *c = default_config;
	const char *twice_unknown = "{\"x\": 1, \"x\": 2}";

	assert_refused(c, "{\"priority1\": 3, \"priority1\": 4}", TARGETS_MALFORMED, 400,
	               "app \"priority1\" is named twice");
	assert_refused(c, "{\"priority1\": 3, \"priority2\": 1, \"priority1\": 3}", TARGETS_MALFORMED, 400,
	               "\"priority1\"");
	assert_refused_len(c, twice_unknown, strlen(twice_unknown), true, TARGETS_MALFORMED, 400, "\"x\"");
}

static void test_not_an_object(void **state)
{
	static const char *const values[] = {
	        "[]", "[{\"priority1\": 3}]", "3", "-1", "\"priority1\"", "null", "true",
	};
	const Config *c = default_config;

	for (size_t i = 0; i < ELEMENTSOF(values); i++)
		assert_refused(c, values[i], TARGETS_MALFORMED, 400, "expected a JSON object");
}

static void test_malformed(void **state)
{
	static const char *const values[] = {
	        "{",
	        "}",
	        "{\"priority1\": }",
	        "{\"priority1\" 3}",
	        "{priority1: 3}",
	        "{'priority1': 3}",
	        "{\"priority1\": 3,}",
	        "{\"priority1\": 03x}",
	        "   ",
	        "\n",
	        "priority1=3",
	};
	const Config *c = default_config;

	for (size_t i = 0; i < ELEMENTSOF(values); i++)
		assert_refused(c, values[i], TARGETS_MALFORMED, 400, "malformed JSON");
	assert_refused(c, "{\"priority1\xff\": 3}", TARGETS_MALFORMED, 400, "UTF-8");
	assert_refused(c, "{\"priority1\": 3, \"\xc3\x28\": 1}", TARGETS_MALFORMED, 400, "UTF-8");
}

/* One JSON value per body: what follows it is an error, as in the config, not silently dropped. */
static void test_data_after_the_object(void **state)
{
	static const char *const values[] = {
	        "{\"priority1\": 3}xyz",
	        "{\"priority1\": 3}}",
	        "{\"priority1\": 3}{\"priority2\": 4}",
	        "{\"priority1\": 3} 5",
	};
	const Config *c = default_config;
	unsigned ret[CONFIG_MAX_APPS];

	for (size_t i = 0; i < ELEMENTSOF(values); i++)
		assert_refused(c, values[i], TARGETS_MALFORMED, 400, "");
	/* Trailing whitespace is not data. */
	parse_ok(c, "{\"priority1\": 3} \r\n\t", ret);
	assert_int_equal(ret[0], 3);
}

static void test_empty_body(void **state)
{
	const Config *c = default_config;
	ErrorText error = {};
	unsigned ret[CONFIG_MAX_APPS];

	assert_refused_len(c, "", 0, false, TARGETS_MALFORMED, 400, "empty body");
	assert_refused_len(c, "", 0, true, TARGETS_MALFORMED, 400, "empty body");
	/* len is what counts, not what text points to. */
	fill(ret, CONFIG_MAX_APPS, SENTINEL);
	assert_int_equal(targets_parse("{\"priority1\": 3}", 0, c, false, ret, &error), TARGETS_MALFORMED);
	assert_untouched(ret);
	assert_non_null(strstr(error.text, "empty body"));
}

static void test_nul_byte(void **state)
{
	static const char with_nul_after[] = "{\"priority1\": 3}\0";
	static const char with_nul_inside[] = "{\"priority1\"\0: 3}";
	static const char nul_only[] = "\0";
	const Config *c = default_config;

	assert_refused_len(c, with_nul_after, sizeof(with_nul_after) - 1, false, TARGETS_MALFORMED, 400, "NUL byte");
	assert_refused_len(c, with_nul_inside, sizeof(with_nul_inside) - 1, false, TARGETS_MALFORMED, 400, "NUL byte");
	assert_refused_len(c, nul_only, 1, false, TARGETS_MALFORMED, 400, "NUL byte");
}

/* cJSON would cut a key at an escaped NUL: "priority1\u0000x" must not become priority1. */
static void test_nul_escape(void **state)
{
	const Config *c = default_config;

	assert_refused(c, "{\"priority1\\u0000x\": 3}", TARGETS_MALFORMED, 400, "\\u0000");
	assert_refused(c, "{\"priority1\": 3, \"x\": \"\\u0000\"}", TARGETS_MALFORMED, 400, "\\u0000");
}

/* Names from the body are echoed on one line, shortened. */
static void test_echoed_name(void **state)
{
	const Config *c = default_config;
	char text[256];
	ErrorText error = {};
	unsigned ret[CONFIG_MAX_APPS];

	assert_refused(c, "{\"bad\\nname\": 1}", TARGETS_UNKNOWN_APP, 404, "unknown app \"bad?name\"");
	snprintf(text, sizeof(text), "{\"%0200d\": 1}", 0);
	assert_int_equal(targets_parse(text, strlen(text), c, false, ret, &error), TARGETS_UNKNOWN_APP);
	assert_non_null(strstr(error.text, "..."));
	assert_true(strlen(error.text) < 100);
}

static void test_length_is_respected(void **state)
{
	static const char text[] = "{\"priority1\": 3}{garbage";
	const Config *c = default_config;
	unsigned ret[CONFIG_MAX_APPS];

	fill(ret, CONFIG_MAX_APPS, SENTINEL);
	parse_ok_len(c, text, strlen("{\"priority1\": 3}"), false, ret);
	assert_int_equal(ret[0], 3);
	assert_int_equal(ret[1], TARGETS_UNSET);
	/* One byte short of the closing brace. */
	assert_refused_len(c, text, strlen("{\"priority1\": 3"), false, TARGETS_MALFORMED, 400, "malformed JSON");
}

/* A valid object of exactly len bytes: {"priority1": 7} padded with spaces before the closing brace. */
static char *padded_body(size_t len)
{
	static const char head[] = "{\"priority1\": 7";
	char *t = malloc(len);

	assert_non_null(t);
	memset(t, ' ', len);
	memcpy(t, head, strlen(head));
	t[len - 1] = '}';
	return t;
}

static void test_too_large(void **state)
{
	const Config *c = default_config;
	unsigned ret[CONFIG_MAX_APPS];
	char *t;

	assert_int_equal(TARGETS_BODY_MAX, 65536);
	t = padded_body(TARGETS_BODY_MAX + 1);
	assert_refused_len(c, t, TARGETS_BODY_MAX + 1, false, TARGETS_TOO_LARGE, 413, "65536");
	free(t);

	/* The size is checked first: a large body of anything is 413, not 400. */
	t = malloc(1000000);
	assert_non_null(t);
	memset(t, 'x', 1000000);
	assert_refused_len(c, t, 1000000, false, TARGETS_TOO_LARGE, 413, "65536");
	free(t);

	/* Exactly the limit is accepted. */
	t = padded_body(TARGETS_BODY_MAX);
	fill(ret, CONFIG_MAX_APPS, SENTINEL);
	parse_ok_len(c, t, TARGETS_BODY_MAX, false, ret);
	assert_int_equal(ret[0], 7);
	assert_int_equal(ret[1], TARGETS_UNSET);
	free(t);
}

static void test_format_default(void **state)
{
	const Config *c = default_config;
	const unsigned targets[] = {3, 6};
	unsigned ret[CONFIG_MAX_APPS];
	char *text = targets_format(c, targets);

	assert_non_null(text);
	assert_string_equal(text, "{\"priority1\":3,\"priority2\":6}");
	fill(ret, CONFIG_MAX_APPS, SENTINEL);
	parse_ok(c, text, ret);
	assert_int_equal(ret[0], 3);
	assert_int_equal(ret[1], 6);
	free(text);
}

/* CONFIG_MAX_APPS apps with names using every allowed character class, and counts across the whole range. */
static void test_format_round_trip(void **state)
{
	size_t size = 64 * CONFIG_MAX_APPS + 64, len;
	_cleanup_free_ char *doc = malloc(size);
	ErrorText error = {};
	unsigned targets[CONFIG_MAX_APPS], ret[CONFIG_MAX_APPS];
	Config *c = NULL;

	assert_non_null(doc);
	len = (size_t)snprintf(doc, size, "{\"capacity\": 10, \"apps\": [");
	for (size_t i = 0; i < CONFIG_MAX_APPS; i++)
		len += (size_t)snprintf(doc + len, size - len, "%s{\"name\": \"App-%02zu.x_y\", \"image\": \"i\"}",
		                        i ? ", " : "", i);
	len += (size_t)snprintf(doc + len, size - len, "]}");
	assert_true(len < size);
	if (config_parse(doc, len, &c, &error) < 0)
		fail_msg("config_parse: %s", error.text);
	assert_int_equal(c->n_apps, CONFIG_MAX_APPS);

	for (size_t i = 0; i < CONFIG_MAX_APPS; i++)
		targets[i] = (unsigned)((i * 15625 + i * i) % (CONFIG_MAX_TARGET + 1));
	targets[0] = 0;
	targets[CONFIG_MAX_APPS - 1] = CONFIG_MAX_TARGET;

	char *text = targets_format(c, targets);
	assert_non_null(text);
	assert_non_null(strstr(text, "\"App-63.x_y\":1000000"));
	fill(ret, CONFIG_MAX_APPS, SENTINEL);
	parse_ok(c, text, ret);
	for (size_t i = 0; i < CONFIG_MAX_APPS; i++)
		if (ret[i] != targets[i])
			fail_msg("app %zu: formatted %u, parsed back %u (%s)", i, targets[i], ret[i], text);
	free(text);
	config_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_http_status),
	        cmocka_unit_test(test_all_apps),
	        cmocka_unit_test(test_apps_not_named_are_unset),
	        cmocka_unit_test(test_count_bounds),
	        cmocka_unit_test(test_bad_count),
	        cmocka_unit_test(test_unknown_app),
	        cmocka_unit_test(test_duplicate_key),
	        cmocka_unit_test(test_not_an_object),
	        cmocka_unit_test(test_malformed),
	        cmocka_unit_test(test_data_after_the_object),
	        cmocka_unit_test(test_empty_body),
	        cmocka_unit_test(test_nul_byte),
	        cmocka_unit_test(test_nul_escape),
	        cmocka_unit_test(test_echoed_name),
	        cmocka_unit_test(test_length_is_respected),
	        cmocka_unit_test(test_too_large),
	        cmocka_unit_test(test_format_default),
	        cmocka_unit_test(test_format_round_trip),
	};

	return cmocka_run_group_tests(tests, make_default_config, free_default_config);
}
