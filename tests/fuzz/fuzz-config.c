// SPDX-License-Identifier: Apache-2.0
/* Fuzzes config_parse(): any bytes, as a config file would deliver them. Besides "no crash, no leak", it checks
 * what the header promises: a rejection writes one printable line and leaves *ret alone; an accepted config has
 * every field in range, so that nothing downstream has to check again. Each accepted app must also yield a create
 * body that is JSON naming the same image. */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <string.h>

#include "force12/config.h"
#include "force12/docker-json.h"
#include "fuzz.h"

static void check_error_line(const char *error)
{
	size_t n = strnlen(error, CONFIG_ERROR_MAX);

	CHECK(n > 0 && n < CONFIG_ERROR_MAX);
	for (size_t i = 0; i < n; i++)
		CHECK(error[i] >= 0x20 && error[i] < 0x7f);
}

static void check_strv(char **l, bool allow_empty_entries, bool env)
{
	if (!l)
		return;
	CHECK(l[0]); /* an empty list is stored as NULL */
	for (char **s = l; *s; s++) {
		CHECK(allow_empty_entries || (*s)[0]);
		if (env)
			CHECK(strchr(*s, '=') && (*s)[0] != '=');
	}
}

static void check_create_body(const AppConfig *a)
{
	const char *node_id = "fuzz-node";
	const AppConfig *app = a;
	const EngineCreateSpec spec = engine_create_spec(app, "force12-test", node_id);
	char *body = docker_json_create_body(&spec);
	cJSON *json, *image;

	CHECK(body);
	json = cJSON_Parse(body);
	CHECK(json);
	image = cJSON_GetObjectItemCaseSensitive(json, "Image");
	CHECK(cJSON_IsString(image) && strcmp(image->valuestring, a->image) == 0);
	cJSON_Delete(json);
	free(body);
}

static void check_config(const Config *c)
{
	CHECK(c->capacity >= 1 && c->capacity <= CONFIG_MAX_CAPACITY);
	CHECK(c->resync_interval >= 1 && c->resync_interval <= 86400);
	CHECK(c->parallel >= 1 && c->parallel <= 64);
	CHECK(c->n_apps >= 1 && c->n_apps <= CONFIG_MAX_APPS && c->apps);
	for (size_t i = 0; i < c->n_apps; i++) {
		const AppConfig *a = &c->apps[i];

		CHECK(app_name_is_valid(a->name));
		CHECK(config_find_app(c, a->name) == (int)i); /* names are unique */
		CHECK(a->image && a->image[0]);
		CHECK(a->network_mode && a->network_mode[0]);
		CHECK(a->stop_timeout <= CONFIG_MAX_STOP_TIMEOUT);
		CHECK(a->target <= CONFIG_MAX_TARGET);
		check_strv(a->command, true, false);
		check_strv(a->env, true, true);
		check_create_body(a);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Config *sentinel = (Config *)&sentinel, *c = sentinel;
	ErrorText error = {};
	int r;

	memset(error.text, 0, sizeof(error.text));
	r = config_parse((const char *)data, size, &c, &error);
	if (r < 0) {
		CHECK(r == -EINVAL || r == -ENOMEM);
		CHECK(c == sentinel);
		check_error_line(error.text);
		return 0;
	}
	CHECK(r == 0 && c && c != sentinel);
	/* "Never accepts a document it cannot fully account for": a value cut at an escaped NUL is not what the
	 * user wrote ("busybox\u0000:evil" would run busybox). */
	CHECK(!has_escaped_nul(data, size));
	check_config(c);
	config_free(c);
	return 0;
}
