// SPDX-License-Identifier: Apache-2.0
/* Unit tests of the engine's JSON: the create body round-trips, real engine answers decode to the values the agent
 * acts on, and every field of the wrong type or size is refused or skipped as docker-json.h says, never a crash. */

/* cmocka.h needs these four first; its own block keeps clang-format's include sorting from moving it up. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "force12/docker-json.h"
#include "force12/json.h"

#define ID_A  "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90"
#define ID_B  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define ID_C  "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
#define ID_65 ID_A "0"

/* 2026-11-27T18:50:29Z */
#define T_SEC   INT64_C(1795805429)
#define T_NANO  INT64_C(1795805429123456768) /* a double holds it exactly, so cJSON does not round it */
#define USEC(s) ((s)*INT64_C(1000000))

/* JSON with ' for " so that the documents below stay readable; none of them needs a literal '. */
static cJSON *json(const char *text)
{
	_cleanup_free_ char *copy = strdup(text);
	cJSON *j;

	assert_non_null(copy);
	for (char *p = copy; *p; p++)
		if (*p == '\'')
			*p = '"';
	j = cJSON_Parse(copy);
	assert_non_null(j);
	return j;
}

/* base with member key of base[parent] (the top level if parent is NULL) set to value, or removed if value is NULL. */
static cJSON *variant(const char *base, const char *parent, const char *key, const char *value)
{
	cJSON *j = json(base);
	cJSON *o = parent ? cJSON_GetObjectItemCaseSensitive(j, parent) : j;

	assert_non_null(o);
	cJSON_DeleteItemFromObjectCaseSensitive(o, key);
	if (value)
		assert_true(cJSON_AddItemToObject(o, key, json(value)));
	return j;
}

/* ---- the create body ---- */

static cJSON *create_body(const AppConfig *app, const char *node_id)
{
	const EngineCreateSpec spec = engine_create_spec(app, "force12-test", node_id);
	_cleanup_free_ char *body = docker_json_create_body(&spec);
	cJSON *j;

	assert_non_null(body);
	j = cJSON_Parse(body);
	assert_non_null(j);
	assert_true(cJSON_IsObject(j));
	return j;
}

static const char *get_string(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	assert_true(cJSON_IsString(v));
	return v->valuestring;
}

static void assert_strv(const cJSON *a, char *const *expected)
{
	size_t n = 0;
	const cJSON *item;

	assert_true(cJSON_IsArray(a));
	cJSON_ArrayForEach (item, a) {
		assert_non_null(expected[n]);
		assert_true(cJSON_IsString(item));
		assert_string_equal(item->valuestring, expected[n]);
		n++;
	}
	assert_null(expected[n]);
}

static void test_create_body_full(void **state)
{
	/* AppConfig holds non-const strings and -Wwrite-strings makes literals const: hence the arrays. */
	char name[] = "priority1", image[] = "busybox:latest", network[] = "none";
	char sh[] = "sh", c[] = "-c", script[] = "trap 'exit 0' TERM; while :; do sleep 1 & wait $!; done";
	char a[] = "A=1", quote[] = "QUOTE=\"x\\y\"";
	char *command[] = {sh, c, script, NULL};
	char *env[] = {a, quote, NULL};
	AppConfig app = {
	        .name = name,
	        .priority = 1,
	        .image = image,
	        .command = command,
	        .env = env,
	        .stop_timeout = 7,
	        .network_mode = network,
	        .init = true,
	};
	_cleanup_(cJSON_Deletep) cJSON *j = create_body(&app, "node-1");
	const cJSON *labels = cJSON_GetObjectItemCaseSensitive(j, "Labels");
	const cJSON *host = cJSON_GetObjectItemCaseSensitive(j, "HostConfig");
	const cJSON *timeout = cJSON_GetObjectItemCaseSensitive(j, "StopTimeout");

	assert_int_equal(cJSON_GetArraySize(j), 7);
	assert_string_equal(get_string(j, "Image"), "busybox:latest");
	assert_strv(cJSON_GetObjectItemCaseSensitive(j, "Cmd"), command);
	assert_strv(cJSON_GetObjectItemCaseSensitive(j, "Env"), env);
	assert_int_equal(cJSON_GetArraySize(labels), 2);
	assert_string_equal(get_string(labels, LABEL_AGENT), "node-1");
	assert_string_equal(get_string(labels, LABEL_APP), "priority1");
	assert_string_equal(get_string(j, "StopSignal"), "SIGTERM");
	assert_true(cJSON_IsNumber(timeout));
	assert_int_equal(timeout->valueint, 7);
	assert_true(cJSON_IsObject(host));
	assert_int_equal(cJSON_GetArraySize(host), 3);
	assert_string_equal(get_string(host, "NetworkMode"), "none");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(host, "Init")));
	assert_string_equal(get_string(cJSON_GetObjectItemCaseSensitive(host, "RestartPolicy"), "Name"), "no");
}

static void test_create_body_minimal(void **state)
{
	char name[] = "priority2", image[] = "registry.example:5000/demo@sha256:0123", network[] = "bridge";
	AppConfig app = {
	        .name = name,
	        .image = image,
	        .stop_timeout = 0,
	        .network_mode = network,
	};
	_cleanup_(cJSON_Deletep) cJSON *j = create_body(&app, "6f1e2d3c4b5a");
	const cJSON *labels = cJSON_GetObjectItemCaseSensitive(j, "Labels");
	const cJSON *host = cJSON_GetObjectItemCaseSensitive(j, "HostConfig");
	const cJSON *timeout = cJSON_GetObjectItemCaseSensitive(j, "StopTimeout");

	/* No Cmd or Env at all, not empty ones: the image's own CMD and ENV must apply. */
	assert_null(cJSON_GetObjectItemCaseSensitive(j, "Cmd"));
	assert_null(cJSON_GetObjectItemCaseSensitive(j, "Env"));
	assert_int_equal(cJSON_GetArraySize(j), 5);
	assert_string_equal(get_string(j, "Image"), "registry.example:5000/demo@sha256:0123");
	assert_string_equal(get_string(labels, LABEL_AGENT), "6f1e2d3c4b5a");
	assert_string_equal(get_string(labels, LABEL_APP), "priority2");
	/* 0 is a real timeout (kill at once), not "unset". */
	assert_true(cJSON_IsNumber(timeout));
	assert_int_equal(timeout->valueint, 0);
	assert_string_equal(get_string(host, "NetworkMode"), "bridge");
	assert_null(cJSON_GetObjectItemCaseSensitive(host, "Init"));
	assert_string_equal(get_string(cJSON_GetObjectItemCaseSensitive(host, "RestartPolicy"), "Name"), "no");
}

/* ---- GET /containers/json ---- */

/* The shape of the engine's answer (API document, ContainerList), with ours, foreign and broken entries. */
static const char list_answer[] =
        "["
        /* 0: ours, running, every field the engine sends */
        "{'Id': '" ID_A "', 'Names': ['/force12-priority1-ab12cd34'], 'Image': 'busybox:latest',"
        " 'ImageID': 'sha256:d74508fb6632491cea586a1fd7d748dfc5274cd6fdfedee309ecdcbc2bf5cb82',"
        " 'Command': 'sh -c \\'trap\\'', 'Created': 1795805429,"
        " 'Ports': [{'PrivatePort': 2222, 'PublicPort': 3333, 'Type': 'tcp'}],"
        " 'Labels': {'io.force12.agent': 'node-1', 'io.force12.app': 'priority1', 'com.example.vendor': 'Acme'},"
        " 'State': 'running', 'Status': 'Up 3 minutes', 'SizeRw': 12288, 'SizeRootFs': 0,"
        " 'HostConfig': {'NetworkMode': 'none'},"
        " 'NetworkSettings': {'Networks': {'none': {'NetworkID': '7ea29fc1412292a2d7bba362f9253545',"
        "   'IPAddress': '', 'IPPrefixLen': 0, 'MacAddress': ''}}},"
        " 'Mounts': [{'Name': 'fac362', 'Source': '/data', 'Destination': '/data', 'Driver': 'local',"
        "   'Mode': 'ro,Z', 'RW': false, 'Propagation': ''}]},"
        /* 1: foreign: no labels of ours */
        "{'Id': '8dfafdbc3a40', 'Names': ['/boring_feynman'], 'Image': 'ubuntu:latest', 'Command': 'echo 1',"
        " 'Created': 1367854155, 'State': 'exited', 'Status': 'Exit 0', 'Ports': [], 'Labels': {},"
        " 'HostConfig': {'NetworkMode': 'default'}, 'Mounts': []},"
        /* 2: ours, exited; a legacy link alias listed before its own name; "Exited" as the API document writes it */
        "{'Id': '" ID_B "', 'Names': ['/web/db', '/force12-priority2-00ff00ff'], 'Created': 1795805000,"
        " 'Labels': {'io.force12.app': 'priority2', 'io.force12.agent': 'node-1'}, 'State': 'Exited',"
        " 'Status': 'Exited (137) 5 seconds ago', 'Ports': [], 'Mounts': []},"
        /* 3: an app label that is not an app name */
        "{'Id': '" ID_C "', 'Names': ['/x'], 'Created': 1, 'Labels': {'io.force12.app': 'bad name!'},"
        " 'State': 'running'},"
        /* 4: an id that may not go into a URL */
        "{'Id': '../../v1.41/containers', 'Names': ['/y'], 'Created': 1, 'Labels': {'io.force12.app': 'priority1'},"
        " 'State': 'running'},"
        /* 5: a state this agent does not know */
        "{'Id': '" ID_C "', 'Names': ['/z'], 'Created': 1, 'Labels': {'io.force12.app': 'priority1'},"
        " 'State': 'hibernating'},"
        /* 6: ours, created, a short id */
        "{'Id': 'e90e34656806', 'Names': ['force12-priority1-12345678'], 'Created': 0,"
        " 'Labels': {'io.force12.app': 'priority1'}, 'State': 'created'},"
        /* 7..9: not even objects */
        "42, null, 'text'"
        "]";

static void test_list_realistic(void **state)
{
	_cleanup_(cJSON_Deletep) cJSON *j = json(list_answer);
	_cleanup_free_ DockerContainer *list = NULL;
	size_t n = 0;

	assert_int_equal(docker_json_parse_list(j, &list, &n), 0);
	assert_int_equal(n, 3);
	assert_non_null(list);

	assert_string_equal(list[0].id, ID_A);
	assert_string_equal(list[0].name, "force12-priority1-ab12cd34");
	assert_string_equal(list[0].app, "priority1");
	assert_int_equal(list[0].state, DOCKER_STATE_RUNNING);
	assert_int_equal(list[0].created, T_SEC);
	assert_string_equal(list[0].node, "node-1"); /* the owner, for the agent to check (issue 15) */

	assert_string_equal(list[1].id, ID_B);
	assert_string_equal(list[1].name, "force12-priority2-00ff00ff");
	assert_string_equal(list[1].app, "priority2");
	assert_int_equal(list[1].state, DOCKER_STATE_EXITED);
	assert_int_equal(list[1].created, 1795805000);

	assert_string_equal(list[2].id, "e90e34656806");
	assert_string_equal(list[2].name, "force12-priority1-12345678");
	assert_int_equal(list[2].state, DOCKER_STATE_CREATED);
	assert_int_equal(list[2].created, 0);
}

/* The text decoder gives what the tree decoder gives, on every fixture, and refuses what is not one array. */
static void test_list_text_same_as_tree(void **state)
{
	_cleanup_(cJSON_Deletep) cJSON *j = json(list_answer);
	_cleanup_free_ char *text = cJSON_PrintUnformatted(j), *pretty = cJSON_Print(j);
	_cleanup_free_ DockerContainer *a = NULL, *b = NULL, *c = NULL;
	static const char *const bad[] = {"", "{}", "[", "[{}", "[{},]x", "[1 2]", "[\"a]", "[] []", "x"};
	DockerContainer *d = NULL;
	size_t na = 0, nb = 0, nc = 0, nd = 0;

	assert_int_equal(docker_json_parse_list(j, &a, &na), 0);
	assert_int_equal(docker_json_parse_list_text(text, strlen(text), &b, &nb), 0);
	assert_int_equal(docker_json_parse_list_text(pretty, strlen(pretty), &c, &nc), 0);
	assert_int_equal(na, 3);
	assert_int_equal(nb, na);
	assert_int_equal(nc, na);
	for (size_t i = 0; i < na; i++)
		for (const DockerContainer *x = &b[i]; x; x = x == &b[i] ? &c[i] : NULL) {
			assert_string_equal(a[i].id, x->id);
			assert_string_equal(a[i].name, x->name);
			assert_string_equal(a[i].app, x->app);
			assert_string_equal(a[i].node, x->node);
			assert_int_equal(a[i].state, x->state);
			assert_int_equal(a[i].created, x->created);
		}
	/* In steps of one entry: the same, a step at a time. */
	DockerListParser lp = {.text = pretty, .len = strlen(pretty)};
	int r, steps = 0;
	while ((r = docker_list_parse_step(&lp, 1)) == 0)
		steps++;
	assert_int_equal(r, 1);
	assert_true(steps >= 3);
	assert_int_equal(lp.n, na);
	for (size_t i = 0; i < na; i++)
		assert_string_equal(lp.list[i].id, a[i].id);
	docker_list_parser_done(&lp);
	assert_int_equal(docker_json_parse_list_text(" [ ] ", 5, &d, &nd), 0);
	assert_int_equal(nd, 0);
	assert_null(d);
	for (size_t i = 0; i < ELEMENTSOF(bad); i++)
		assert_int_equal(docker_json_parse_list_text(bad[i], strlen(bad[i]), &d, &nd), -EPROTO);
}

static void test_list_empty(void **state)
{
	_cleanup_(cJSON_Deletep) cJSON *j = json("[]");
	DockerContainer *list = (DockerContainer *)&list; /* must be overwritten */
	size_t n = 99;

	assert_int_equal(docker_json_parse_list(j, &list, &n), 0);
	assert_int_equal(n, 0);
	assert_null(list);
}

static void test_list_not_an_array(void **state)
{
	static const char *const answers[] = {
	        "{}", "{'message': 'page not found'}", "'[]'", "42", "null", "true",
	};
	DockerContainer sentinel, *list = &sentinel;
	size_t n = 99;

	for (size_t i = 0; i < ELEMENTSOF(answers); i++) {
		_cleanup_(cJSON_Deletep) cJSON *j = json(answers[i]);

		assert_int_equal(docker_json_parse_list(j, &list, &n), -EPROTO);
	}
	assert_int_equal(docker_json_parse_list(NULL, &list, &n), -EPROTO);
	assert_ptr_equal(list, &sentinel);
	assert_int_equal(n, 99);
}

static const char list_entry[] = "{'Id': '" ID_A "', 'Names': ['/force12-priority1-ab12cd34'], 'Created': 1795805429,"
                                 " 'Labels': {'io.force12.agent': 'node-1', 'io.force12.app': 'priority1'},"
                                 " 'State': 'running', 'Status': 'Up 1 second'}";

static size_t parse_one_entry(cJSON *entry)
{
	_cleanup_(cJSON_Deletep) cJSON *a = cJSON_CreateArray();
	_cleanup_free_ DockerContainer *list = NULL;
	size_t n = 99;

	assert_non_null(a);
	assert_true(cJSON_AddItemToArray(a, entry));
	assert_int_equal(docker_json_parse_list(a, &list, &n), 0);
	if (n == 0)
		assert_null(list);
	return n;
}

static void test_list_entry_skipped(void **state)
{
	static const char long_name[] = "['/force12-priority1-"
	                                "0123456789012345678901234567890123456789012345678901234567890123456789"
	                                "0123456789012345678901234567890123456789012345678901234567890123456789']";
	static const struct {
		const char *parent, *key, *value;
	} cases[] = {
	        {NULL, "Id", NULL},
	        {NULL, "Id", "42"},
	        {NULL, "Id", "''"},
	        {NULL, "Id", "'" ID_65 "'"},
	        {NULL, "Id", "'A1B2C3D4E5F6'"},
	        {NULL, "Id", "['" ID_A "']"},
	        {NULL, "Names", NULL},
	        {NULL, "Names", "'/force12-priority1-ab12cd34'"},
	        {NULL, "Names", "[]"},
	        {NULL, "Names", "[42]"},
	        {NULL, "Names", "['/']"},
	        {NULL, "Names", "['/a/b']"},
	        {NULL, "Names", long_name},
	        {NULL, "Labels", NULL},
	        {NULL, "Labels", "['io.force12.app=priority1']"},
	        {NULL, "Labels", "{}"},
	        {"Labels", LABEL_APP, NULL},
	        {"Labels", LABEL_APP, "7"},
	        {"Labels", LABEL_APP, "''"},
	        {"Labels", LABEL_APP, "'-starts-with-a-dash'"},
	        {"Labels", LABEL_APP, "'a234567890123456789012345678901234567890123456789012345678901234'"},
	        {NULL, "State", NULL},
	        {NULL, "State", "1"},
	        {NULL, "State", "'Up 3 minutes'"},
	        {NULL, "State", "''"},
	        {NULL, "Created", NULL},
	        {NULL, "Created", "'1795805429'"},
	        {NULL, "Created", "1.5"},
	        {NULL, "Created", "-1"},
	        {NULL, "Created", "1e300"},
	};

	/* The unmodified entry is kept: otherwise every case below would pass for the wrong reason. */
	assert_int_equal(parse_one_entry(json(list_entry)), 1);
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		cJSON *entry = variant(list_entry, cases[i].parent, cases[i].key, cases[i].value);

		if (parse_one_entry(entry) != 0)
			fail_msg("case %zu (%s.%s = %s) was not skipped", i, cases[i].parent ?: "", cases[i].key,
			         cases[i].value ?: "(absent)");
	}
}

static void test_list_name_limits(void **state)
{
	/* 127 characters fit name[128]; the engine's longest own names are far shorter. */
	char names[256];
	_cleanup_free_ DockerContainer *list = NULL;
	size_t n = 0;
	cJSON *entry;

	snprintf(names, sizeof(names), "['/%0127d']", 7);
	entry = variant(list_entry, NULL, "Names", names);
	{
		_cleanup_(cJSON_Deletep) cJSON *a = cJSON_CreateArray();

		assert_true(cJSON_AddItemToArray(a, entry));
		assert_int_equal(docker_json_parse_list(a, &list, &n), 0);
	}
	assert_int_equal(n, 1);
	assert_int_equal(strlen(list[0].name), 127);
	assert_int_equal(list[0].name[126], '7');

	snprintf(names, sizeof(names), "['/%0128d']", 7);
	assert_int_equal(parse_one_entry(variant(list_entry, NULL, "Names", names)), 0);
}

static void test_state_strings(void **state)
{
	for (DockerState s = 0; s < _DOCKER_STATE_MAX; s++) {
		const char *name = docker_state_to_string(s);

		assert_non_null(name);
		assert_int_equal(docker_state_from_string(name), s);
	}
	assert_string_equal(docker_state_to_string(DOCKER_STATE_RUNNING), "running");
	assert_string_equal(docker_state_to_string(DOCKER_STATE_DEAD), "dead");
	assert_int_equal(docker_state_from_string("removing"), DOCKER_STATE_REMOVING);
	assert_int_equal(docker_state_from_string("Exited"), DOCKER_STATE_EXITED);
	/* Podman's own states, read as Docker's. */
	assert_int_equal(docker_state_from_string("stopping"), DOCKER_STATE_RUNNING);
	assert_int_equal(docker_state_from_string("stopped"), DOCKER_STATE_EXITED);
	assert_int_equal(docker_state_from_string("initialized"), DOCKER_STATE_CREATED);
	assert_int_equal(docker_state_from_string("configured"), DOCKER_STATE_CREATED);
	assert_int_equal(docker_state_from_string("up"), _DOCKER_STATE_INVALID);
	assert_int_equal(docker_state_from_string("running "), _DOCKER_STATE_INVALID);
	assert_int_equal(docker_state_from_string(""), _DOCKER_STATE_INVALID);
	assert_int_equal(docker_state_from_string(NULL), _DOCKER_STATE_INVALID);
	assert_null(docker_state_to_string(_DOCKER_STATE_MAX));
	assert_null(docker_state_to_string(_DOCKER_STATE_INVALID));
}

/* ---- GET /containers/{id}/json ---- */

static const char inspect_answer[] =
        "{'Id': '" ID_A "', 'Created': '2026-11-27T18:50:28.9Z', 'Path': 'sh', 'Args': ['-c', 'trap'],"
        " 'State': {'Status': 'running', 'Running': true, 'Paused': false, 'Restarting': false,"
        "   'OOMKilled': false, 'Dead': false, 'Pid': 1234, 'ExitCode': 0, 'Error': '',"
        "   'StartedAt': '2026-11-27T18:50:29.123456789Z', 'FinishedAt': '0001-01-01T00:00:00Z'},"
        " 'Image': 'sha256:d74508fb6632', 'Name': '/force12-priority1-ab12cd34', 'RestartCount': 0,"
        " 'HostConfig': {'NetworkMode': 'none', 'Init': true},"
        " 'Config': {'Labels': {'io.force12.agent': 'node-1', 'io.force12.app': 'priority1'}}}";

static void test_inspect_running(void **state)
{
	_cleanup_(cJSON_Deletep) cJSON *j = json(inspect_answer);
	DockerInspect d;

	assert_int_equal(docker_json_parse_inspect(j, &d), 0);
	assert_string_equal(d.id, ID_A);
	assert_int_equal(d.state, DOCKER_STATE_RUNNING);
	assert_int_equal(d.exit_code, 0);
	assert_string_equal(d.started_at, "2026-11-27T18:50:29.123456789Z");
	assert_int_equal(d.started_at_usec, USEC(T_SEC) + 123456);
}

static void test_inspect_exited(void **state)
{
	_cleanup_(cJSON_Deletep) cJSON *j = json("{'Id': 'e90e34656806', 'State': {'Status': 'exited', 'ExitCode': 137,"
	                                         " 'StartedAt': '2026-11-27T19:50:29+01:00'}}");
	DockerInspect d;

	assert_int_equal(docker_json_parse_inspect(j, &d), 0);
	assert_string_equal(d.id, "e90e34656806");
	assert_int_equal(d.state, DOCKER_STATE_EXITED);
	assert_int_equal(d.exit_code, 137);
	assert_string_equal(d.started_at, "2026-11-27T19:50:29+01:00");
	assert_int_equal(d.started_at_usec, USEC(T_SEC));
}

static void test_inspect_never_started(void **state)
{
	_cleanup_(cJSON_Deletep) cJSON *zero = json("{'Id': '" ID_B "', 'State': {'Status': 'created', 'ExitCode': 0,"
	                                            " 'StartedAt': '0001-01-01T00:00:00Z'}}");
	_cleanup_(cJSON_Deletep) cJSON *bare = json("{'Id': '" ID_B "', 'State': {'Status': 'created'}}");
	DockerInspect d;

	assert_int_equal(docker_json_parse_inspect(zero, &d), 0);
	assert_int_equal(d.state, DOCKER_STATE_CREATED);
	assert_int_equal(d.exit_code, 0);
	assert_string_equal(d.started_at, "");
	assert_int_equal(d.started_at_usec, 0);

	assert_int_equal(docker_json_parse_inspect(bare, &d), 0);
	assert_string_equal(d.id, ID_B);
	assert_int_equal(d.exit_code, -1);
	assert_string_equal(d.started_at, "");
	assert_int_equal(d.started_at_usec, 0);
}

static void test_inspect_malformed(void **state)
{
	static const struct {
		const char *parent, *key, *value;
	} cases[] = {
	        {NULL, "Id", NULL},
	        {NULL, "Id", "42"},
	        {NULL, "Id", "'" ID_65 "'"},
	        {NULL, "Id", "'force12-priority1-ab12cd34'"},
	        {NULL, "State", NULL},
	        {NULL, "State", "'running'"},
	        {"State", "Status", NULL},
	        {"State", "Status", "true"},
	        {"State", "Status", "'zombie'"},
	        {"State", "ExitCode", "'137'"},
	        {"State", "ExitCode", "1e12"},
	        {"State", "ExitCode", "0.5"},
	        {"State", "StartedAt", "1795805429"},
	        {"State", "StartedAt", "'yesterday'"},
	        {"State", "StartedAt", "'2026-11-27T18:50:29.123456789Z and more'"},
	};
	DockerInspect d = {.id = "untouched", .exit_code = 99};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		_cleanup_(cJSON_Deletep) cJSON *j =
		        variant(inspect_answer, cases[i].parent, cases[i].key, cases[i].value);

		if (docker_json_parse_inspect(j, &d) != -EPROTO)
			fail_msg("case %zu (%s.%s = %s) was accepted", i, cases[i].parent ?: "", cases[i].key,
			         cases[i].value ?: "(absent)");
	}
	for (const char *const *t = (const char *const[]){"[]", "'x'", "null", NULL}; *t; t++) {
		_cleanup_(cJSON_Deletep) cJSON *j = json(*t);

		assert_int_equal(docker_json_parse_inspect(j, &d), -EPROTO);
	}
	assert_int_equal(docker_json_parse_inspect(NULL, &d), -EPROTO);
	assert_string_equal(d.id, "untouched");
	assert_int_equal(d.exit_code, 99);
}

/* ---- GET /events ---- */

/* A container event as a v1.41 engine streams it; attrs go first into Actor.Attributes. */
static cJSON *container_event(const char *action, const char *attrs)
{
	char text[1024];
	int n = snprintf(text, sizeof(text),
	                 "{'status': '%s', 'id': '" ID_A "', 'from': 'busybox:latest', 'Type': 'container',"
	                 " 'Action': '%s', 'Actor': {'ID': '" ID_A "', 'Attributes': {%s 'image': 'busybox:latest',"
	                 " 'io.force12.agent': 'node-1', 'io.force12.app': 'priority1',"
	                 " 'name': 'force12-priority1-ab12cd34'}}, 'scope': 'local', 'time': 1795805429,"
	                 " 'timeNano': 1795805429123456768}",
	                 action, action, attrs);

	assert_true(n > 0 && (size_t)n < sizeof(text));
	return json(text);
}

static DockerEvent parse_event_ok(cJSON *j)
{
	DockerEvent e;

	assert_int_equal(docker_json_parse_event(j, &e), 0);
	cJSON_Delete(j);
	return e;
}

static void test_event_lifecycle(void **state)
{
	static const struct {
		const char *action;
		DockerEventAction expected;
	} cases[] = {
	        {"create", DOCKER_EVENT_CREATE}, {"start", DOCKER_EVENT_START},     {"destroy", DOCKER_EVENT_DESTROY},
	        {"pause", DOCKER_EVENT_PAUSE},   {"unpause", DOCKER_EVENT_UNPAUSE}, {"kill", DOCKER_EVENT_OTHER},
	        {"stop", DOCKER_EVENT_OTHER},    {"exec_die", DOCKER_EVENT_OTHER},  {"remove", DOCKER_EVENT_DESTROY},
	        {"init", DOCKER_EVENT_OTHER},    {"cleanup", DOCKER_EVENT_OTHER},
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		DockerEvent e = parse_event_ok(container_event(cases[i].action, ""));

		assert_int_equal(e.action, cases[i].expected);
		assert_string_equal(e.id, ID_A);
		assert_string_equal(e.app, "priority1");
		assert_string_equal(e.node, "node-1");
		assert_string_equal(e.name, "force12-priority1-ab12cd34");
		assert_int_equal(e.exit_code, -1);
		assert_int_equal(e.time_nano, T_NANO);
	}
}

/* The owner label is what the agent's ownership check reads: missing, or too long to be a node id, is nobody. */
static void test_owner_label(void **state)
{
	char text[1024], *long_id = malloc(NODE_ID_MAX + 2);
	_cleanup_free_ DockerContainer *list = NULL;
	size_t n = 0;
	cJSON *j;

	assert_non_null(long_id);
	memset(long_id, 'n', NODE_ID_MAX + 1);
	long_id[NODE_ID_MAX + 1] = 0;
	snprintf(text, sizeof(text),
	         "[{'Id': '" ID_A "', 'Names': ['/a'], 'Created': 1, 'State': 'running',"
	         " 'Labels': {'io.force12.app': 'priority1'}},"
	         " {'Id': '" ID_B "', 'Names': ['/b'], 'Created': 1, 'State': 'running',"
	         " 'Labels': {'io.force12.app': 'priority1', 'io.force12.agent': '%s'}},"
	         " {'Id': '" ID_C "', 'Names': ['/c'], 'Created': 1, 'State': 'running',"
	         " 'Labels': {'io.force12.app': 'priority1', 'io.force12.agent': 'n2'}}]",
	         long_id);
	j = json(text);
	assert_int_equal(docker_json_parse_list(j, &list, &n), 0);
	cJSON_Delete(j);
	assert_int_equal(n, 3);
	assert_string_equal(list[0].node, "");
	assert_string_equal(list[1].node, "");
	assert_string_equal(list[2].node, "n2");
	free(long_id);
	DockerEvent e = parse_event_ok(
	        json("{'Type': 'container', 'Action': 'start', 'Actor': {'ID': '" ID_B "', 'Attributes': {}}}"));
	assert_string_equal(e.node, "");
	assert_string_equal(e.name, "");
}

static void test_event_die(void **state)
{
	DockerEvent e = parse_event_ok(container_event("die", "'exitCode': '137',"));

	assert_int_equal(e.action, DOCKER_EVENT_DIE);
	assert_string_equal(e.id, ID_A);
	assert_string_equal(e.app, "priority1");
	assert_int_equal(e.exit_code, 137);
	assert_int_equal(e.time_nano, T_NANO);

	assert_int_equal(parse_event_ok(container_event("die", "'exitCode': '0',")).exit_code, 0);
	assert_int_equal(parse_event_ok(container_event("die", "'exitCode': '2147483647',")).exit_code, 2147483647);
	/* Absent or not a number the way the engine writes it: unknown. */
	assert_int_equal(parse_event_ok(container_event("die", "")).exit_code, -1);
	assert_int_equal(parse_event_ok(container_event("die", "'exitCode': 137,")).exit_code, -1);
	assert_int_equal(parse_event_ok(container_event("die", "'exitCode': '',")).exit_code, -1);
	assert_int_equal(parse_event_ok(container_event("die", "'exitCode': '-1',")).exit_code, -1);
	assert_int_equal(parse_event_ok(container_event("die", "'exitCode': '13x',")).exit_code, -1);
	assert_int_equal(parse_event_ok(container_event("die", "'exitCode': ' 137',")).exit_code, -1);
	assert_int_equal(parse_event_ok(container_event("die", "'exitCode': '2147483648',")).exit_code, -1);
	assert_int_equal(parse_event_ok(container_event("die", "'exitCode': '99999999999999999999',")).exit_code, -1);
	/* Only a die carries an exit code. */
	assert_int_equal(parse_event_ok(container_event("kill", "'exitCode': '137', 'signal': '15',")).exit_code, -1);
}

static void test_event_action_suffix(void **state)
{
	static const char *const actions[] = {
	        "exec_start: sh -c true",
	        "exec_create: sh",
	        "health_status: healthy",
	        "health_status: unhealthy",
	        "start: x",
	        "die:",
	        "Start",
	};

	for (size_t i = 0; i < ELEMENTSOF(actions); i++) {
		DockerEvent e = parse_event_ok(container_event(actions[i], "'exitCode': '1',"));

		assert_int_equal(e.action, DOCKER_EVENT_OTHER);
		assert_string_equal(e.id, ID_A);
		assert_int_equal(e.exit_code, -1);
	}
}

static void test_event_not_a_container(void **state)
{
	DockerEvent e =
	        parse_event_ok(json("{'Type': 'network', 'Action': 'connect', 'Actor': {'ID': '" ID_C "',"
	                            " 'Attributes': {'container': '" ID_A "', 'name': 'bridge', 'type': 'bridge'}},"
	                            " 'scope': 'local', 'time': 1795805429, 'timeNano': 1795805429123456768}"));

	assert_int_equal(e.action, DOCKER_EVENT_OTHER);
	assert_string_equal(e.id, "");
	assert_string_equal(e.app, "");
	assert_int_equal(e.exit_code, -1);
	assert_int_equal(e.time_nano, T_NANO);

	/* Not a container event, so what a container event needs may be missing. */
	e = parse_event_ok(json("{'Type': 'image', 'Action': 'pull', 'Actor': {'ID': 'busybox:latest'}}"));
	assert_int_equal(e.action, DOCKER_EVENT_OTHER);
	assert_string_equal(e.id, "");
	e = parse_event_ok(json("{'Type': 'daemon', 'Action': 'reload'}"));
	assert_int_equal(e.action, DOCKER_EVENT_OTHER);
	assert_int_equal(e.time_nano, 0);
}

static void test_event_app_label(void **state)
{
	cJSON *j = container_event("start", "");
	cJSON *attrs = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "Actor"), "Attributes");

	cJSON_DeleteItemFromObjectCaseSensitive(attrs, LABEL_APP);
	assert_string_equal(parse_event_ok(j).app, "");

	j = variant("{'Type': 'container', 'Action': 'start', 'Actor': {'ID': '" ID_B "', 'Attributes': {}}}", "Actor",
	            "Attributes",
	            "{'io.force12.app': 'a234567890123456789012345678901234567890123456789012345678901234'}");
	assert_string_equal(parse_event_ok(j).app, "");
	j = variant("{'Type': 'container', 'Action': 'start', 'Actor': {'ID': '" ID_B "'}}", "Actor", "Attributes",
	            "{'io.force12.app': 5}");
	assert_string_equal(parse_event_ok(j).app, "");
	j = variant("{'Type': 'container', 'Action': 'start', 'Actor': {'ID': '" ID_B "'}}", "Actor", "Attributes",
	            "'io.force12.app=priority1'");
	assert_string_equal(parse_event_ok(j).app, "");
	j = json("{'Type': 'container', 'Action': 'start', 'Actor': {'ID': '" ID_B "'}}");
	assert_string_equal(parse_event_ok(j).id, ID_B);
}

static void test_event_time(void **state)
{
	static const char base[] = "{'Type': 'container', 'Action': 'die', 'Actor': {'ID': '" ID_A "'},"
	                           " 'time': 1795805429, 'timeNano': 1795805429123456768}";
	static const char seconds[] = "{'Type': 'container', 'Action': 'die', 'Actor': {'ID': '" ID_A "'},"
	                              " 'time': 1795805429}";

	assert_int_equal(parse_event_ok(json(base)).time_nano, T_NANO);
	/* Without a usable timeNano, the seconds. */
	assert_int_equal(parse_event_ok(json(seconds)).time_nano, T_SEC * 1000000000);
	assert_int_equal(parse_event_ok(variant(base, NULL, "timeNano", "'1795805429123456768'")).time_nano,
	                 T_SEC * 1000000000);
	assert_int_equal(parse_event_ok(variant(base, NULL, "timeNano", "-5")).time_nano, T_SEC * 1000000000);
	/* Neither, or seconds that overflow as nanoseconds: 0, and the event still counts. */
	assert_int_equal(parse_event_ok(variant(seconds, NULL, "time", NULL)).time_nano, 0);
	assert_int_equal(parse_event_ok(variant(seconds, NULL, "time", "'1795805429'")).time_nano, 0);
	assert_int_equal(parse_event_ok(variant(seconds, NULL, "time", "9300000000000000000")).time_nano, 0);
	assert_int_equal(parse_event_ok(variant(seconds, NULL, "time", "1e300")).time_nano, 0);
}

static void test_event_malformed(void **state)
{
	static const char base[] = "{'Type': 'container', 'Action': 'die', 'Actor': {'ID': '" ID_A "',"
	                           " 'Attributes': {'exitCode': '1', 'io.force12.app': 'priority1'}}, 'time': 1}";
	static const struct {
		const char *parent, *key, *value;
	} cases[] = {
	        {NULL, "Type", NULL},        {NULL, "Type", "1"},           {NULL, "Type", "['container']"},
	        {NULL, "Action", NULL},      {NULL, "Action", "7"},         {NULL, "Action", "{}"},
	        {NULL, "Actor", NULL},       {NULL, "Actor", "'" ID_A "'"}, {"Actor", "ID", NULL},
	        {"Actor", "ID", "42"},       {"Actor", "ID", "''"},         {"Actor", "ID", "'" ID_65 "'"},
	        {"Actor", "ID", "'A1B2C3'"}, {"Actor", "ID", "'abc def'"},
	};
	DockerEvent e = {.action = DOCKER_EVENT_START, .id = "untouched", .exit_code = 99};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		_cleanup_(cJSON_Deletep) cJSON *j = variant(base, cases[i].parent, cases[i].key, cases[i].value);

		if (docker_json_parse_event(j, &e) != -EPROTO)
			fail_msg("case %zu (%s.%s = %s) was accepted", i, cases[i].parent ?: "", cases[i].key,
			         cases[i].value ?: "(absent)");
	}
	for (const char *const *t = (const char *const[]){"[]", "'die'", "0", "null", NULL}; *t; t++) {
		_cleanup_(cJSON_Deletep) cJSON *j = json(*t);

		assert_int_equal(docker_json_parse_event(j, &e), -EPROTO);
	}
	assert_int_equal(docker_json_parse_event(NULL, &e), -EPROTO);
	assert_int_equal(e.action, DOCKER_EVENT_START);
	assert_string_equal(e.id, "untouched");
	assert_int_equal(e.exit_code, 99);
}

/* ---- POST /containers/create ---- */

static void test_created_id(void **state)
{
	static const char *const bad[] = {
	        "{'Warnings': []}",
	        "{'Id': 42, 'Warnings': []}",
	        "{'Id': '', 'Warnings': []}",
	        "{'Id': '" ID_65 "'}",
	        "{'Id': 'E90E34656806'}",
	        "{'Id': 'e90e3465680/'}",
	        "['" ID_A "']",
	        "'" ID_A "'",
	        "{'message': 'No such image: busybox:latest'}",
	};
	char id[DOCKER_ID_MAX + 1];

	{
		_cleanup_(cJSON_Deletep) cJSON *j = json("{'Id': '" ID_A "', 'Warnings': ['low memory']}");

		assert_int_equal(docker_json_parse_created_id(j, id), 0);
		assert_string_equal(id, ID_A);
	}
	{
		_cleanup_(cJSON_Deletep) cJSON *j = json("{'Id': 'e90e34656806', 'Warnings': []}");

		assert_int_equal(docker_json_parse_created_id(j, id), 0);
		assert_string_equal(id, "e90e34656806");
	}
	strcpy(id, "untouched");
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		_cleanup_(cJSON_Deletep) cJSON *j = json(bad[i]);

		if (docker_json_parse_created_id(j, id) != -EPROTO)
			fail_msg("%s was accepted", bad[i]);
	}
	assert_int_equal(docker_json_parse_created_id(NULL, id), -EPROTO);
	assert_string_equal(id, "untouched");
}

static void test_id_is_valid(void **state)
{
	assert_true(docker_id_is_valid(ID_A));
	assert_true(docker_id_is_valid("e90e34656806"));
	assert_true(docker_id_is_valid("0"));
	assert_false(docker_id_is_valid(ID_65));
	assert_false(docker_id_is_valid(""));
	assert_false(docker_id_is_valid(NULL));
	assert_false(docker_id_is_valid("E90E34656806"));
	assert_false(docker_id_is_valid("e90e3465680g"));
	assert_false(docker_id_is_valid("e90e/../json"));
	assert_false(docker_id_is_valid("e90e?x=1"));
	assert_false(docker_id_is_valid("force12-priority1-ab12cd34"));
}

/* ---- times ---- */

static int64_t parse_time_ok(const char *s)
{
	int64_t usec = -1;

	if (docker_json_parse_time(s, &usec) != 0)
		fail_msg("\"%s\" was refused", s);
	return usec;
}

static void test_time_valid(void **state)
{
	assert_int_equal(parse_time_ok("2026-11-27T18:50:29.123456789Z"), USEC(T_SEC) + 123456);
	assert_int_equal(parse_time_ok("2026-11-27T18:50:29Z"), USEC(T_SEC));
	assert_int_equal(parse_time_ok("2026-11-27T18:50:29.5Z"), USEC(T_SEC) + 500000);
	assert_int_equal(parse_time_ok("2026-11-27T18:50:29.000001Z"), USEC(T_SEC) + 1);
	assert_int_equal(parse_time_ok("2026-11-27T18:50:29.000000999Z"), USEC(T_SEC));
	/* An offset east of UTC is earlier in UTC, west is later. */
	assert_int_equal(parse_time_ok("2026-11-27T19:50:29+01:00"), USEC(T_SEC));
	assert_int_equal(parse_time_ok("2026-11-27T19:50:29.25+01:00"), USEC(T_SEC) + 250000);
	assert_int_equal(parse_time_ok("2026-11-27T13:20:29-05:30"), USEC(T_SEC));
	assert_int_equal(parse_time_ok("2026-11-28T00:00:29+05:10"), USEC(T_SEC));
	assert_int_equal(parse_time_ok("2026-11-27T18:50:29+00:00"), USEC(T_SEC));
	assert_int_equal(parse_time_ok("2026-11-27t18:50:29z"), USEC(T_SEC));
	assert_int_equal(parse_time_ok("2024-02-29T12:00:00Z"), USEC(INT64_C(1709208000)));
	assert_int_equal(parse_time_ok("2013-05-06T15:49:15Z"), USEC(INT64_C(1367855355)));
	assert_int_equal(parse_time_ok("1970-01-01T00:00:01Z"), USEC(1));
	assert_int_equal(parse_time_ok("9999-12-31T23:59:59.999999999Z"), USEC(INT64_C(253402300799)) + 999999);
	/* The engine's "never": Go's zero time. */
	assert_int_equal(parse_time_ok("0001-01-01T00:00:00Z"), 0);
}

static void test_time_invalid(void **state)
{
	static const char *const bad[] = {
	        "",
	        "garbage",
	        "2026-11-27",
	        "2026-11-27T18:50:29",
	        "2026-11-27T18:50:29.123",
	        "2026-11-27 18:50:29Z",
	        " 2026-11-27T18:50:29Z",
	        "2026-11-27T18:50:29Z ",
	        "2026-11-27T18:50:29Zjunk",
	        "+2026-11-27T18:50:29Z",
	        "26-11-27T18:50:29Z",
	        "2026-1-27T18:50:29Z",
	        "2026-11-27T8:50:29Z",
	        "2026/11/27T18:50:29Z",
	        "2026-00-27T18:50:29Z",
	        "2026-13-27T18:50:29Z",
	        "2026-11-00T18:50:29Z",
	        "2026-11-31T18:50:29Z",
	        "2023-02-29T18:50:29Z",
	        "2100-02-29T18:50:29Z",
	        "2026-11-27T24:00:00Z",
	        "2026-11-27T18:60:29Z",
	        "2026-11-27T18:50:60Z",
	        "2026-11-27T18:50:29.Z",
	        "2026-11-27T18:50:29.1234567891Z",
	        "2026-11-27T18:50:29,5Z",
	        "2026-11-27T18:50:29.-5Z",
	        "2026-11-27T18:50:29+01",
	        "2026-11-27T18:50:29+0100",
	        "2026-11-27T18:50:29+1:00",
	        "2026-11-27T18:50:29+24:00",
	        "2026-11-27T18:50:29+01:60",
	        "2026-11-27T18:50:29 +01:00",
	        "2026-11-27T18:50:29Z+01:00",
	        "2026-11-27T18:50:29UTC",
	        "1795805429",
	        "2026-11-2\xffT18:50:29Z",
	};
	int64_t usec = 42;

	for (size_t i = 0; i < ELEMENTSOF(bad); i++)
		if (docker_json_parse_time(bad[i], &usec) != -EINVAL)
			fail_msg("\"%s\" was not refused with -EINVAL", bad[i]);
	assert_int_equal(docker_json_parse_time(NULL, &usec), -EINVAL);
	/* Well-formed but before the epoch: no container started then. */
	assert_int_equal(docker_json_parse_time("1969-12-31T23:59:59Z", &usec), -ERANGE);
	assert_int_equal(docker_json_parse_time("0001-01-01T00:00:00.5Z", &usec), -ERANGE);
	assert_int_equal(docker_json_parse_time("1970-01-01T00:30:00+01:00", &usec), -ERANGE);
	assert_int_equal(usec, 42);
}

/* Issue 15, finding 7: an image name never changes which call is made. */
static void test_image_path_escaped(void **state)
{
	static const struct {
		const char *image, *path;
	} good[] = {
	        {"busybox", "/images/busybox/json"},
	        {"busybox:latest", "/images/busybox%3Alatest/json"},
	        {"localhost:5000/team/app:1.2", "/images/localhost%3A5000/team/app%3A1.2/json"},
	        {"busybox@sha256:ab12", "/images/busybox%40sha256%3Aab12/json"},
	        {"x?all=1#y", "/images/x%3Fall%3D1%23y/json"},
	        {"a%2e%2e", "/images/a%252e%252e/json"},
	        {"..x/y..", "/images/..x/y../json"},
	};
	static const char *const bad[] = {
	        "x/../../../containers/0123abcd", "..", ".", "a/./b", "a//b", "/a", "a/", "",
	};
	char *path;

	for (size_t i = 0; i < ELEMENTSOF(good); i++) {
		assert_int_equal(docker_image_path(good[i].image, "/json", &path), 0);
		assert_string_equal(path, good[i].path);
		free(path);
	}
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		path = NULL;
		assert_int_equal(docker_image_path(bad[i], "/json", &path), -EINVAL);
		assert_null(path);
	}
	assert_int_equal(docker_image_path(NULL, "/json", &path), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_create_body_full),      cmocka_unit_test(test_create_body_minimal),
	        cmocka_unit_test(test_list_realistic),        cmocka_unit_test(test_list_empty),
	        cmocka_unit_test(test_list_not_an_array),     cmocka_unit_test(test_list_entry_skipped),
	        cmocka_unit_test(test_list_name_limits),      cmocka_unit_test(test_state_strings),
	        cmocka_unit_test(test_inspect_running),       cmocka_unit_test(test_inspect_exited),
	        cmocka_unit_test(test_inspect_never_started), cmocka_unit_test(test_inspect_malformed),
	        cmocka_unit_test(test_event_lifecycle),       cmocka_unit_test(test_event_die),
	        cmocka_unit_test(test_event_action_suffix),   cmocka_unit_test(test_event_not_a_container),
	        cmocka_unit_test(test_event_app_label),       cmocka_unit_test(test_event_time),
	        cmocka_unit_test(test_event_malformed),       cmocka_unit_test(test_created_id),
	        cmocka_unit_test(test_id_is_valid),           cmocka_unit_test(test_time_valid),
	        cmocka_unit_test(test_time_invalid),          cmocka_unit_test(test_image_path_escaped),
	        cmocka_unit_test(test_owner_label),           cmocka_unit_test(test_list_text_same_as_tree),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
