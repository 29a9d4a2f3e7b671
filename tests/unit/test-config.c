// SPDX-License-Identifier: Apache-2.0
/* Unit tests of the config parser: the embedded default, every field, the defaults, and one test per kind of
 * rejected input, each checking the return value, the key named in the message, and that *ret is untouched. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* cmocka.h needs the headers above first. */
#include <cmocka.h>

#include "force12/config.h"

#define DEMO_COMMAND "trap 'exit 0' TERM; while :; do sleep 1 & wait $!; done"

static Config sentinel;

/* Test documents are written with ' for " so they stay readable; none of them needs a real '. */
static char *json(const char *s)
{
	char *t = strdup(s);

	assert_non_null(t);
	for (char *p = t; *p; p++)
		if (*p == '\'')
			*p = '"';
	return t;
}

static void assert_parse_fails_len(const char *text, size_t len, const char *needle)
{
	ErrorText error = {};
	Config *c = &sentinel;

	assert_int_equal(config_parse(text, len, &c, &error), -EINVAL);
	assert_ptr_equal(c, &sentinel);
	if (!strstr(error.text, needle))
		fail_msg("error.text \"%s\" does not contain \"%s\" (input: %s)", error.text, needle, text);
	assert_null(strchr(error.text, '\n'));
	/* The message buffer is optional. */
	assert_int_equal(config_parse(text, len, &c, NULL), -EINVAL);
	assert_ptr_equal(c, &sentinel);
}

static void assert_parse_fails(const char *quoted, const char *needle)
{
	char *text = json(quoted);

	assert_parse_fails_len(text, strlen(text), needle);
	free(text);
}

static Config *parse_ok(const char *quoted)
{
	ErrorText error = {};
	char *text = json(quoted);
	Config *c = NULL;
	int r;

	r = config_parse(text, strlen(text), &c, &error);
	if (r != 0)
		fail_msg("config_parse(%s) = %d: %s", text, r, error.text);
	free(text);
	assert_non_null(c);
	return c;
}

static void assert_strv_equal(char **l, const char *const *expected)
{
	size_t i;

	assert_non_null(l);
	for (i = 0; expected[i]; i++) {
		assert_non_null(l[i]);
		assert_string_equal(l[i], expected[i]);
	}
	assert_null(l[i]);
}

static void test_default_matches_interface(void **state)
{
	static const char *const command[] = {"sh", "-c", DEMO_COMMAND, NULL};
	_cleanup_config_ Config *c = NULL;

	assert_int_equal(config_new_default(&c), 0);
	assert_int_equal(c->capacity, 9);
	assert_int_equal(c->resync_interval, 30);
	assert_int_equal(c->parallel, 8);
	assert_int_equal(c->n_apps, 2);
	for (size_t i = 0; i < 2; i++) {
		AppConfig *a = &c->apps[i];

		assert_string_equal(a->name, i == 0 ? "priority1" : "priority2");
		assert_int_equal(a->priority, i + 1);
		assert_string_equal(a->image, "busybox:latest");
		assert_strv_equal(a->command, command);
		assert_null(a->env);
		assert_int_equal(a->stop_timeout, 2);
		assert_string_equal(a->network_mode, "none");
		assert_false(a->init);
		assert_int_equal(a->target, 0);
		assert_int_equal(a->standby, 0);
	}
}

static void test_full_config(void **state)
{
	static const char *const command[] = {"/bin/worker", "--fast", "", NULL};
	static const char *const env[] = {"A=1", "EMPTY=", "B=x=y", NULL};
	_cleanup_config_ Config *c =
	        parse_ok("{'capacity': 1000000, 'resync_interval': 86400, 'parallel': 64,\n"
	                 " 'apps': [{'name': 'web-1.a_b', 'image': 'nginx:1.25', 'priority': 1000,\n"
	                 "  'command': ['/bin/worker', '--fast', ''], 'env': ['A=1', 'EMPTY=', 'B=x=y'],\n"
	                 "  'stop_timeout': 3600, 'network_mode': 'host', 'init': true,\n"
	                 "  'target': 1000000, 'standby': 1000},\n"
	                 " {'name': 'Z', 'image': 'i', 'priority': 0, 'stop_timeout': 0, 'init': false,\n"
	                 "  'target': 0, 'env': []}]}");
	AppConfig *a = &c->apps[0], *z = &c->apps[1];

	assert_int_equal(c->capacity, 1000000);
	assert_int_equal(c->resync_interval, 86400);
	assert_int_equal(c->parallel, 64);
	assert_int_equal(c->n_apps, 2);
	assert_string_equal(a->name, "web-1.a_b");
	assert_string_equal(a->image, "nginx:1.25");
	assert_int_equal(a->priority, 1000);
	assert_strv_equal(a->command, command);
	assert_strv_equal(a->env, env);
	assert_int_equal(a->stop_timeout, 3600);
	assert_string_equal(a->network_mode, "host");
	assert_true(a->init);
	assert_int_equal(a->target, 1000000);
	assert_int_equal(a->standby, 1000);
	assert_string_equal(z->name, "Z");
	assert_int_equal(z->priority, 0);
	assert_int_equal(z->stop_timeout, 0);
	assert_null(z->env);
	assert_null(z->command);
}

static void test_defaults_apply(void **state)
{
	_cleanup_config_ Config *c = parse_ok("{'capacity': 1, 'apps': [{'name': 'a', 'image': 'busybox'}]}");
	AppConfig *a = &c->apps[0];

	assert_int_equal(c->capacity, 1);
	assert_int_equal(c->resync_interval, 30);
	assert_int_equal(c->parallel, 8);
	assert_int_equal(c->n_apps, 1);
	assert_string_equal(a->name, "a");
	assert_string_equal(a->image, "busybox");
	assert_int_equal(a->priority, 1);
	assert_null(a->command);
	assert_null(a->env);
	assert_int_equal(a->stop_timeout, 2);
	assert_string_equal(a->network_mode, "none");
	assert_false(a->init);
	assert_int_equal(a->target, 0);
	assert_int_equal(a->standby, 0);
}

static void test_exact_integers_in_other_notations(void **state)
{
	/* JSON has one number type: 5.0 and 5e0 are the integer 5; -0 is 0. */
	_cleanup_config_ Config *c =
	        parse_ok("{'capacity': 5.0, 'parallel': 2e0, 'apps': [{'name': 'a', 'image': 'i', 'target': -0}]}");

	assert_int_equal(c->capacity, 5);
	assert_int_equal(c->parallel, 2);
	assert_int_equal(c->apps[0].target, 0);
}

static void test_find_app(void **state)
{
	_cleanup_config_ Config *c = NULL;

	assert_int_equal(config_new_default(&c), 0);
	assert_int_equal(config_find_app(c, "priority1"), 0);
	assert_int_equal(config_find_app(c, "priority2"), 1);
	assert_int_equal(config_find_app(c, "priority3"), -1);
	assert_int_equal(config_find_app(c, "Priority1"), -1);
	assert_int_equal(config_find_app(NULL, "priority1"), -1);
}

static void test_app_name_is_valid(void **state)
{
	char name[CONFIG_APP_NAME_MAX + 2];

	assert_true(app_name_is_valid("a"));
	assert_true(app_name_is_valid("0web_1.x-Y"));
	assert_false(app_name_is_valid(NULL));
	assert_false(app_name_is_valid(""));
	assert_false(app_name_is_valid("-a"));
	assert_false(app_name_is_valid(".a"));
	assert_false(app_name_is_valid("_a"));
	assert_false(app_name_is_valid("a b"));
	assert_false(app_name_is_valid("a/b"));
	assert_false(app_name_is_valid("caf\xc3\xa9"));
	memset(name, 'x', CONFIG_APP_NAME_MAX);
	name[CONFIG_APP_NAME_MAX] = '\0';
	assert_true(app_name_is_valid(name));
	name[CONFIG_APP_NAME_MAX] = 'x';
	name[CONFIG_APP_NAME_MAX + 1] = '\0';
	assert_false(app_name_is_valid(name));
}

static void test_free_null(void **state)
{
	assert_null(config_free(NULL));
}

static void test_unknown_key(void **state)
{
	assert_parse_fails("{'capacity': 1, 'colour': 1, 'apps': [{'name': 'a', 'image': 'i'}]}",
	                   "colour: unknown key");
	assert_parse_fails("{'capacity': 1, 'apps': [{'name': 'a', 'image': 'i'}, {'name': 'b', 'image': 'i', "
	                   "'colour': 'red'}]}",
	                   "apps[1].colour: unknown key");
	/* Keys are case-sensitive. */
	assert_parse_fails("{'Capacity': 1, 'apps': [{'name': 'a', 'image': 'i'}]}", "Capacity: unknown key");
	/* A key with a newline is echoed on one line. */
	assert_parse_fails("{'capacity': 1, 'apps': [{'name': 'a', 'image': 'i'}], 'a\\nb': 1}", "a?b: unknown key");
}

static void test_wrong_type(void **state)
{
	assert_parse_fails("{'capacity': '9', 'apps': [{'name': 'a', 'image': 'i'}]}",
	                   "capacity: must be an integer in 1..1000000");
	assert_parse_fails("{'capacity': true, 'apps': [{'name': 'a', 'image': 'i'}]}", "capacity: must be an integer");
	assert_parse_fails("{'capacity': null, 'apps': [{'name': 'a', 'image': 'i'}]}", "capacity: must be an integer");
	assert_parse_fails("{'capacity': 1, 'apps': {'name': 'a', 'image': 'i'}}", "apps: must be a non-empty array");
	assert_parse_fails("{'capacity': 1, 'apps': ['a']}", "apps[0]: must be an object");
	assert_parse_fails("{'capacity': 1, 'apps': [{'name': 7, 'image': 'i'}]}",
	                   "apps[0].name: must be a non-empty string");
	assert_parse_fails("{'capacity': 1, 'apps': [{'name': 'a', 'image': ['i']}]}",
	                   "apps[0].image: must be a non-empty string");
	assert_parse_fails("{'capacity': 1, 'apps': [{'name': 'a', 'image': 'i', 'init': 1}]}",
	                   "apps[0].init: must be true or false");
	assert_parse_fails("{'capacity': 1, 'apps': [{'name': 'a', 'image': 'i', 'command': 'sh'}]}",
	                   "apps[0].command: must be a non-empty array of strings");
	assert_parse_fails("{'capacity': 1, 'apps': [{'name': 'a', 'image': 'i', 'command': ['sh', 1]}]}",
	                   "apps[0].command[1]: must be a string");
	assert_parse_fails("{'capacity': 1, 'apps': [{'name': 'a', 'image': 'i', 'env': 'A=1'}]}",
	                   "apps[0].env: must be");
	assert_parse_fails("{'capacity': 1, 'apps': [{'name': 'a', 'image': 'i', 'network_mode': false}]}",
	                   "apps[0].network_mode: must be a non-empty string");
	assert_parse_fails("{'capacity': 1, 'apps': [{'name': 'a', 'image': 'i', 'priority': '1'}]}",
	                   "apps[0].priority: must be an integer in 0..1000");
}

static void test_non_integer(void **state)
{
	assert_parse_fails("{'capacity': 2.5, 'apps': [{'name': 'a', 'image': 'i'}]}",
	                   "capacity: must be an integer in 1..1000000");
	assert_parse_fails("{'capacity': 1, 'apps': [{'name': 'a', 'image': 'i', 'stop_timeout': 1.000001}]}",
	                   "apps[0].stop_timeout: must be an integer in 0..3600");
	assert_parse_fails("{'capacity': 1, 'apps': [{'name': 'a', 'image': 'i', 'target': 1e-3}]}",
	                   "apps[0].target: must be an integer in 0..1000000");
}

static void test_negative(void **state)
{
	assert_parse_fails("{'capacity': -1, 'apps': [{'name': 'a', 'image': 'i'}]}", "capacity: must be an integer");
	assert_parse_fails("{'capacity': 1, 'apps': [{'name': 'a', 'image': 'i', 'priority': -1}]}",
	                   "apps[0].priority: must be an integer in 0..1000");
	assert_parse_fails("{'capacity': 1, 'apps': [{'name': 'a', 'image': 'i', 'target': -0.5}]}",
	                   "apps[0].target: must be an integer in 0..1000000");
}

static void test_out_of_range(void **state)
{
	assert_parse_fails("{'capacity': 1000001, 'apps': [{'name': 'a', 'image': 'i'}]}",
	                   "capacity: must be an integer in 1..1000000");
	assert_parse_fails("{'capacity': 1e400, 'apps': [{'name': 'a', 'image': 'i'}]}",
	                   "capacity: must be an integer");
	assert_parse_fails("{'capacity': 1, 'resync_interval': 86401, 'apps': [{'name': 'a', 'image': 'i'}]}",
	                   "resync_interval: must be an integer in 1..86400");
	assert_parse_fails("{'capacity': 1, 'resync_interval': 0, 'apps': [{'name': 'a', 'image': 'i'}]}",
	                   "resync_interval: must be an integer in 1..86400");
	assert_parse_fails("{'capacity': 1, 'parallel': 65, 'apps': [{'name': 'a', 'image': 'i'}]}",
	                   "parallel: must be an integer in 1..64");
	assert_parse_fails("{'capacity': 1, 'parallel': 0, 'apps': [{'name': 'a', 'image': 'i'}]}",
	                   "parallel: must be an integer in 1..64");
	assert_parse_fails("{'capacity': 1, 'apps': [{'name': 'a', 'image': 'i'}, {'name': 'b', 'image': 'i', "
	                   "'stop_timeout': 3601}]}",
	                   "apps[1].stop_timeout: must be an integer in 0..3600");
	assert_parse_fails("{'capacity': 1, 'apps': [{'name': 'a', 'image': 'i', 'priority': 1001}]}",
	                   "apps[0].priority: must be an integer in 0..1000");
	assert_parse_fails("{'capacity': 1, 'apps': [{'name': 'a', 'image': 'i', 'target': 1000001}]}",
	                   "apps[0].target: must be an integer in 0..1000000");
	assert_parse_fails("{'capacity': 1, 'apps': [{'name': 'a', 'image': 'i', 'standby': 1001}]}",
	                   "apps[0].standby: must be an integer in 0..1000");
	assert_parse_fails("{'capacity': 1, 'apps': [{'name': 'a', 'image': 'i', 'target': 18446744073709551616}]}",
	                   "apps[0].target: must be an integer");
}

static void test_capacity_zero(void **state)
{
	assert_parse_fails("{'capacity': 0, 'apps': [{'name': 'a', 'image': 'i'}]}",
	                   "capacity: must be an integer in 1..1000000");
}

static void test_duplicate_app(void **state)
{
	assert_parse_fails("{'capacity': 9, 'apps': [{'name': 'priority1', 'image': 'i'}, {'name': 'priority2', "
	                   "'image': 'i'}, {'name': 'priority1', 'image': 'j'}]}",
	                   "apps[2].name: duplicate app \"priority1\"");
}

static void test_missing_required(void **state)
{
	assert_parse_fails("{'apps': [{'name': 'a', 'image': 'i'}]}",
	                   "capacity: missing, must be an integer in 1..1000000");
	assert_parse_fails("{'capacity': 1}", "apps: missing");
	assert_parse_fails("{'capacity': 1, 'apps': [{'image': 'i'}]}", "apps[0].name: missing");
	assert_parse_fails("{'capacity': 1, 'apps': [{'name': 'a'}, {'name': 'b'}]}", "apps[0].image: missing");
	assert_parse_fails("{}", "capacity: missing");
}

static void test_duplicate_key(void **state)
{
	assert_parse_fails("{'capacity': 1, 'capacity': 2, 'apps': [{'name': 'a', 'image': 'i'}]}",
	                   "capacity: duplicate key");
	assert_parse_fails("{'capacity': 1, 'apps': [{'name': 'a', 'image': 'i', 'image': 'j'}]}",
	                   "apps[0].image: duplicate key");
}

static void test_top_level_not_object(void **state)
{
	assert_parse_fails("[{'capacity': 1}]", "top level: must be a JSON object");
	assert_parse_fails("9", "top level: must be a JSON object");
	assert_parse_fails("'config'", "top level: must be a JSON object");
	assert_parse_fails("null", "top level: must be a JSON object");
}

static void test_malformed(void **state)
{
	assert_parse_fails("{\n  'capacity': 1,\n  'apps': [,]\n}", "malformed JSON near line 3");
	assert_parse_fails("{'capacity': 1,\n'apps': [{'name': 'a', 'image': 'i'}]", "malformed JSON near line 2");
	assert_parse_fails("", "malformed JSON near line 1");
	assert_parse_fails("   \n", "malformed JSON");
	assert_parse_fails("{'capacity': 1, 'apps': [{'name': 'a', 'image': 'i'}]}\n\n{}",
	                   "malformed JSON near line 3, column 1: data after the top-level value");
	/* Trailing white space is fine. */
	config_free(parse_ok("{'capacity': 1, 'apps': [{'name': 'a', 'image': 'i'}]}\n\t \r\n"));
}

static void test_embedded_nul(void **state)
{
	static const char text[] = "{\"capacity\": 1, \"apps\": [{\"name\": \"a\", \"image\": \"i\"}]}\0garbage";

	assert_parse_fails_len(text, sizeof(text) - 1, "NUL byte");
}

static void test_length_is_respected(void **state)
{
	/* Only len bytes count, even when the buffer goes on. */
	static const char text[] = "{\"capacity\": 1, \"apps\": [{\"name\": \"a\", \"image\": \"i\"}]}, more";
	_cleanup_config_ Config *c = NULL;

	assert_int_equal(config_parse(text, (size_t)(strchr(text, ',') - text), &c, NULL), -EINVAL);
	assert_int_equal(config_parse(text, strlen(text) - strlen(", more"), &c, NULL), 0);
	assert_int_equal(c->capacity, 1);
}

static void test_apps_empty_or_too_many(void **state)
{
	size_t size = 64 + 40 * (CONFIG_MAX_APPS + 1);
	char *text = malloc(size), *p = text;
	Config *c = &sentinel;

	assert_parse_fails("{'capacity': 1, 'apps': []}", "apps: must be a non-empty array of at most 64 apps");

	assert_non_null(text);
	p += sprintf(p, "{\"capacity\": 1, \"apps\": [");
	for (int i = 0; i <= CONFIG_MAX_APPS; i++)
		p += sprintf(p, "%s{\"name\": \"a%d\", \"image\": \"i\"}", i ? "," : "", i);
	strcpy(p, "]}");
	assert_parse_fails_len(text, strlen(text), "apps: must be a non-empty array of at most 64 apps");

	/* Exactly CONFIG_MAX_APPS is fine. */
	p = strrchr(text, '{');
	strcpy(p - 1, "]}");
	assert_int_equal(config_parse(text, strlen(text), &c, NULL), 0);
	assert_int_equal(c->n_apps, CONFIG_MAX_APPS);
	assert_string_equal(c->apps[CONFIG_MAX_APPS - 1].name, "a63");
	config_free(c);
	free(text);
}

static void test_bad_name(void **state)
{
	assert_parse_fails("{'capacity': 1, 'apps': [{'name': '-a', 'image': 'i'}]}",
	                   "apps[0].name: must be 1..63 characters");
	assert_parse_fails("{'capacity': 1, 'apps': [{'name': 'a b', 'image': 'i'}]}", "apps[0].name: must be");
	assert_parse_fails("{'capacity': 1, 'apps': [{'name': '', 'image': 'i'}]}", "apps[0].name: must be");
	assert_parse_fails("{'capacity': 1, 'apps': [{'name': "
	                   "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 'image': 'i'}]}",
	                   "apps[0].name: must be 1..63 characters");
}

static void test_empty_strings(void **state)
{
	assert_parse_fails("{'capacity': 1, 'apps': [{'name': 'a', 'image': ''}]}",
	                   "apps[0].image: must be a non-empty string");
	assert_parse_fails("{'capacity': 1, 'apps': [{'name': 'a', 'image': 'i', 'network_mode': ''}]}",
	                   "apps[0].network_mode: must be a non-empty string");
	assert_parse_fails("{'capacity': 1, 'apps': [{'name': 'a', 'image': 'i', 'command': []}]}",
	                   "apps[0].command: must be a non-empty array of strings");
}

static void test_bad_env(void **state)
{
	assert_parse_fails("{'capacity': 1, 'apps': [{'name': 'a', 'image': 'i', 'env': ['A=1', 'B']}]}",
	                   "apps[0].env[1]: must be a string \"KEY=VALUE\"");
	assert_parse_fails("{'capacity': 1, 'apps': [{'name': 'a', 'image': 'i', 'env': ['=1']}]}",
	                   "apps[0].env[0]: must be a string \"KEY=VALUE\" with a non-empty KEY");
	assert_parse_fails("{'capacity': 1, 'apps': [{'name': 'a', 'image': 'i', 'env': [1]}]}",
	                   "apps[0].env[0]: must be");
}

/* Image names go into the engine's URLs: '?', '#', '%', white space and '.'/'..' components are refused (issue 15,
 * finding 7); ordinary references with a registry port, a tag and a digest are not. */
static void test_image_refused_characters(void **state)
{
	static const char *const bad[] = {
	        "busybox?x=1", "busybox#frag", "busy%2Fbox", "busy box", "x/../../containers/id",
	        "../x",        "x/..",         "./x",        "x/./y",    ".."};
	static const char *const good[] = {"busybox",
	                                   "busybox:latest",
	                                   "registry.example:5000/team/app:1.2-rc_1",
	                                   "busybox@sha256:0123456789abcdef",
	                                   "a..b/c",
	                                   "x/.y"};
	char text[256];

	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		snprintf(text, sizeof(text), "{\"capacity\": 1, \"apps\": [{\"name\": \"a\", \"image\": \"%s\"}]}",
		         bad[i]);
		assert_parse_fails_len(text, strlen(text), "apps[0].image: must not");
	}
	for (size_t i = 0; i < ELEMENTSOF(good); i++) {
		_cleanup_config_ Config *c = NULL;
		ErrorText error = {};
		snprintf(text, sizeof(text), "{\"capacity\": 1, \"apps\": [{\"name\": \"a\", \"image\": \"%s\"}]}",
		         good[i]);
		if (config_parse(text, strlen(text), &c, &error) != 0)
			fail_msg("%s refused: %s", good[i], error.text);
		assert_string_equal(c->apps[0].image, good[i]);
	}
}

/* "scale" goes through the rule parser: a good rule is kept on its app, a bad one is refused naming its key. */
static void test_scale_rule(void **state)
{
	_cleanup_config_ Config *c =
	        parse_ok("{'capacity': 9, 'apps': [{'name': 'a', 'image': 'i'}, {'name': 'w', 'image': 'i', 'scale': "
	                 "{'prometheus': 'http://127.0.0.1:9090', 'query': 'sum(queue_depth)', 'per_container': 5, "
	                 "'max': 9}}]}");

	assert_null(c->apps[0].scale);
	assert_non_null(c->apps[1].scale);
	assert_string_equal(c->apps[1].scale->query, "sum(queue_depth)");
	assert_true(c->apps[1].scale->per_container == 5);
	assert_int_equal(c->apps[1].scale->max, 9);
	assert_parse_fails("{'capacity': 1, 'apps': [{'name': 'a', 'image': 'i', 'scale': {'prometheus': "
	                   "'http://h:1', 'query': 'q', 'per_container': 0, 'max': 3}}]}",
	                   "apps[0].scale.per_container:");
	assert_parse_fails("{'capacity': 1, 'apps': [{'name': 'a', 'image': 'i', 'scale': {'prometheus': "
	                   "'http://h:1', 'query': 'q', 'per_container': 1, 'min': 5, 'max': 3}}]}",
	                   "apps[0].scale.min:");
	assert_parse_fails("{'capacity': 1, 'apps': [{'name': 'a', 'image': 'i'}, {'name': 'b', 'image': 'i', "
	                   "'scale': {'prometheus': 'http://h:1', 'query': 'q', 'per_container': 1, 'maximum': 3}}]}",
	                   "apps[1].scale.maximum:");
	assert_parse_fails("{'capacity': 1, 'apps': [{'name': 'a', 'image': 'i', 'scale': 3}]}", "apps[0].scale");
}

static char *write_temp(const char *content, size_t len)
{
	char *path = strdup("/tmp/test-config-XXXXXX");
	int fd;

	assert_non_null(path);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
	return path;
}

static void test_load_missing_file(void **state)
{
	ErrorText error = {};
	Config *c = &sentinel;

	assert_int_equal(config_load_file("/nonexistent/force12/agent.json", &c, &error), -ENOENT);
	assert_ptr_equal(c, &sentinel);
	assert_string_equal(error.text, "/nonexistent/force12/agent.json: No such file or directory");
	assert_int_equal(config_load_file("/tmp", &c, &error), -EISDIR);
	assert_string_equal(error.text, "/tmp: Is a directory");
	assert_ptr_equal(c, &sentinel);
}

static void test_load_file(void **state)
{
	char *text = json("{'capacity': 4,\n 'apps': [{'name': 'a', 'image': 'i', 'target': 3}]}\n");
	char *path = write_temp(text, strlen(text));
	ErrorText error = {};
	Config *c = NULL;

	assert_int_equal(config_load_file(path, &c, &error), 0);
	assert_int_equal(c->capacity, 4);
	assert_int_equal(c->n_apps, 1);
	assert_string_equal(c->apps[0].name, "a");
	assert_int_equal(c->apps[0].target, 3);
	config_free(c);
	unlink(path);
	free(path);
	free(text);
}

static void test_load_file_bad_content(void **state)
{
	char *text = json("{'capacity': 4,\n 'apps': [{'name': 'a', 'image': 'i', 'stop_timeout': 2.5}]}\n");
	char *path = write_temp(text, strlen(text));
	ErrorText error = {};
	char expected[CONFIG_ERROR_MAX];
	Config *c = &sentinel;

	assert_int_equal(config_load_file(path, &c, &error), -EINVAL);
	assert_ptr_equal(c, &sentinel);
	snprintf(expected, sizeof(expected), "%s: apps[0].stop_timeout: must be an integer in 0..3600", path);
	assert_string_equal(error.text, expected);
	unlink(path);
	free(path);
	free(text);
}

static void test_load_file_too_big(void **state)
{
	size_t len = CONFIG_FILE_MAX + 1;
	char *text = malloc(len), *path;
	ErrorText error = {};
	Config *c = &sentinel;

	assert_non_null(text);
	memset(text, ' ', len);
	text[0] = '{';
	text[len - 1] = '}';
	path = write_temp(text, len);
	assert_int_equal(config_load_file(path, &c, &error), -EFBIG);
	assert_ptr_equal(c, &sentinel);
	assert_non_null(strstr(error.text, path));
	assert_non_null(strstr(error.text, "larger than 1048576 bytes"));
	/* One byte less is read (and then rejected for what it is, not for its size). */
	assert_int_equal(truncate(path, CONFIG_FILE_MAX), 0);
	assert_int_equal(config_load_file(path, &c, &error), -EINVAL);
	assert_non_null(strstr(error.text, "malformed JSON"));
	unlink(path);
	free(path);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_default_matches_interface),
	        cmocka_unit_test(test_full_config),
	        cmocka_unit_test(test_defaults_apply),
	        cmocka_unit_test(test_exact_integers_in_other_notations),
	        cmocka_unit_test(test_find_app),
	        cmocka_unit_test(test_app_name_is_valid),
	        cmocka_unit_test(test_free_null),
	        cmocka_unit_test(test_unknown_key),
	        cmocka_unit_test(test_wrong_type),
	        cmocka_unit_test(test_non_integer),
	        cmocka_unit_test(test_negative),
	        cmocka_unit_test(test_out_of_range),
	        cmocka_unit_test(test_capacity_zero),
	        cmocka_unit_test(test_duplicate_app),
	        cmocka_unit_test(test_missing_required),
	        cmocka_unit_test(test_duplicate_key),
	        cmocka_unit_test(test_top_level_not_object),
	        cmocka_unit_test(test_malformed),
	        cmocka_unit_test(test_embedded_nul),
	        cmocka_unit_test(test_length_is_respected),
	        cmocka_unit_test(test_apps_empty_or_too_many),
	        cmocka_unit_test(test_bad_name),
	        cmocka_unit_test(test_empty_strings),
	        cmocka_unit_test(test_bad_env),
	        cmocka_unit_test(test_image_refused_characters),
	        cmocka_unit_test(test_scale_rule),
	        cmocka_unit_test(test_load_missing_file),
	        cmocka_unit_test(test_load_file),
	        cmocka_unit_test(test_load_file_bad_content),
	        cmocka_unit_test(test_load_file_too_big),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
