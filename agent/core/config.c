// SPDX-License-Identifier: Apache-2.0
/* The agent's configuration: strict JSON parsing into a Config and the embedded default of INTERFACE.md.
 * It never logs, never touches the engine, and never accepts a document it cannot fully account for: every
 * rejection is one line naming the key. Only config_load_file() does I/O. */
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "force12/config.h"
#include "force12/json.h"
#include "force12/utf8.h"

#define CONFIG_MAX_RESYNC   86400
#define CONFIG_MAX_PARALLEL 64
#define CONFIG_MAX_PRIORITY 1000
#define CONFIG_MAX_STANDBY  1000
#define KEY_ECHO_MAX        48

/* Kept as JSON so that the default is checked by the same parser as any user's file, and can be copied into one. */
static const char default_config[] =
        "{"
        "\"capacity\": 9, \"resync_interval\": 30, \"parallel\": 8, \"apps\": ["
        "{\"name\": \"priority1\", \"priority\": 1, \"image\": \"busybox:latest\","
        " \"command\": [\"sh\", \"-c\", \"trap 'exit 0' TERM; while :; do sleep 1 & wait $!; done\"],"
        " \"stop_timeout\": 2, \"network_mode\": \"none\", \"init\": false, \"target\": 0},"
        "{\"name\": \"priority2\", \"priority\": 2, \"image\": \"busybox:latest\","
        " \"command\": [\"sh\", \"-c\", \"trap 'exit 0' TERM; while :; do sleep 1 & wait $!; done\"],"
        " \"stop_timeout\": 2, \"network_mode\": \"none\", \"init\": false, \"target\": 0}"
        "]}";

static const char *const config_keys[] = {"capacity", "resync_interval", "parallel", "apps", "etcd", NULL};
static const char *const etcd_keys[] = {"cacert", "cert", "key", "user", "password_file", NULL};
static const char *const app_keys[] = {"name",         "image", "priority", "command", "env",   "stop_timeout",
                                       "network_mode", "init",  "target",   "standby", "scale", NULL};

/* One JSON object being read, and how to name its keys in messages: prefix is "" at the top, "apps[2]." in an app. */
typedef struct Scope {
	const cJSON *object;
	const char *prefix;
	ErrorText *error;
} Scope;

_printf_(2, 3) static int config_error(ErrorText *error, const char *format, ...)
{
	va_list ap;

	if (error) {
		va_start(ap, format);
		(void)vsnprintf(error->text, sizeof(error->text), format, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static int config_oom(ErrorText *error)
{
	return error_text_set(error, -ENOMEM, "out of memory");
}

static char **strv_free(char **l)
{
	if (!l)
		return NULL;
	for (char **i = l; *i; i++)
		free(*i);
	free(l);
	return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(char **, strv_free);

static bool strv_contains(const char *const *l, const char *s)
{
	for (; *l; l++)
		if (streq(*l, s))
			return true;
	return false;
}

static void app_config_done(AppConfig *a)
{
	free(a->name);
	free(a->image);
	strv_free(a->command);
	strv_free(a->env);
	free(a->network_mode);
	scale_rule_free(a->scale);
}

Config *config_free(Config *c)
{
	if (!c)
		return NULL;
	for (size_t i = 0; i < c->n_apps; i++)
		app_config_done(&c->apps[i]);
	free(c->apps);
	free(c->etcd_cacert);
	free(c->etcd_cert);
	free(c->etcd_key);
	free(c->etcd_user);
	free(c->etcd_password_file);
	free(c);
	return NULL;
}

bool app_name_is_valid(const char *name)
{
	size_t n;

	if (!name)
		return false;
	n = strlen(name);
	if (n < 1 || n > CONFIG_APP_NAME_MAX)
		return false;
	if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", name[0]))
		return false;
	return strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

int config_find_app(const Config *c, const char *name)
{
	if (!c || !name)
		return -1;
	for (size_t i = 0; i < c->n_apps; i++)
		if (streq(c->apps[i].name, name))
			return (int)i;
	return -1;
}

/* A key from the input, made safe to put in a one-line message: printable ASCII only, and not too long. */
static const char *key_echo(const char *key, char buf[static KEY_ECHO_MAX + 4])
{
	size_t i;

	for (i = 0; i < KEY_ECHO_MAX && key[i]; i++)
		buf[i] = key[i] >= 0x20 && key[i] < 0x7f ? key[i] : '?';
	strcpy(buf + i, key[i] ? "..." : "");
	return buf;
}

static int scope_unknown_key(const Scope *s, const char *key, const char *const *known)
{
	char echo[KEY_ECHO_MAX + 4], list[160] = "";

	for (const char *const *k = known; *k; k++) {
		if (k != known)
			strncat(list, ", ", sizeof(list) - strlen(list) - 1);
		strncat(list, *k, sizeof(list) - strlen(list) - 1);
	}
	return config_error(s->error, "%s%s: unknown key (expected one of: %s)", s->prefix, key_echo(key, echo), list);
}

/* cJSON keeps duplicate keys and lookups return the first; a second value that would be silently ignored is an
 * error. Every earlier sibling is a distinct known key, so this is quadratic in at most a dozen keys. */
static int scope_check_keys(const Scope *s, const char *const *known)
{
	const cJSON *item;

	cJSON_ArrayForEach (item, s->object) {
		for (const cJSON *prev = s->object->child; prev != item; prev = prev->next)
			if (streq(prev->string, item->string))
				return config_error(s->error, "%s%s: duplicate key", s->prefix, item->string);
		if (!strv_contains(known, item->string))
			return scope_unknown_key(s, item->string, known);
	}
	return 0;
}

/* Leaves *value alone when the key is absent and optional, so callers preset the default. */
static int scope_uint(const Scope *s, const char *key, bool required, unsigned min, unsigned max, unsigned *value)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(s->object, key);
	double d;

	if (!item) {
		if (required)
			return config_error(s->error, "%s%s: missing, must be an integer in %u..%u", s->prefix, key,
			                    min, max);
		return 0;
	}
	d = cJSON_IsNumber(item) ? item->valuedouble : -1.0;
	/* Range first: converting an out-of-range double to an integer is undefined. NaN fails the range too. */
	if (!(d >= min && d <= max) || d != (double)(long long)d)
		return config_error(s->error, "%s%s: must be an integer in %u..%u", s->prefix, key, min, max);
	*value = (unsigned)d;
	return 0;
}

static int scope_string(const Scope *s, const char *key, bool required, char **value)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(s->object, key);
	char *copy;

	if (!item) {
		if (required)
			return config_error(s->error, "%s%s: missing, must be a non-empty string", s->prefix, key);
		return 0;
	}
	if (!cJSON_IsString(item) || !item->valuestring || !item->valuestring[0])
		return config_error(s->error, "%s%s: must be a non-empty string", s->prefix, key);
	copy = strdup(item->valuestring);
	if (!copy)
		return config_oom(s->error);
	free(*value);
	*value = copy;
	return 0;
}

static int scope_bool(const Scope *s, const char *key, bool *value)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(s->object, key);

	if (!item)
		return 0;
	if (!cJSON_IsBool(item))
		return config_error(s->error, "%s%s: must be true or false", s->prefix, key);
	*value = cJSON_IsTrue(item);
	return 0;
}

static bool env_entry_is_valid(const char *e)
{
	const char *eq = strchr(e, '=');

	return eq && eq != e;
}

/* An array of strings into a NULL-terminated list. "command" must not be empty (use no key for the image's own
 * CMD); "env" entries must be KEY=VALUE, and an empty env is stored as NULL. */
static int scope_strv(const Scope *s, const char *key, bool env, char ***value)
{
	const cJSON *array = cJSON_GetObjectItemCaseSensitive(s->object, key), *item;
	_cleanup_(strv_freep) char **l = NULL;
	size_t i = 0;
	int n;

	if (!array)
		return 0;
	n = cJSON_IsArray(array) ? cJSON_GetArraySize(array) : -1;
	if (n < 0 || (n == 0 && !env))
		return config_error(s->error, "%s%s: must be %s", s->prefix, key,
		                    env ? "an array of \"KEY=VALUE\" strings" : "a non-empty array of strings");
	if (n == 0)
		return 0;
	l = calloc((size_t)n + 1, sizeof(char *));
	if (!l)
		return config_oom(s->error);
	cJSON_ArrayForEach (item, array) {
		if (!cJSON_IsString(item) || !item->valuestring || (env && !env_entry_is_valid(item->valuestring)))
			return config_error(s->error, "%s%s[%zu]: must be %s", s->prefix, key, i,
			                    env ? "a string \"KEY=VALUE\" with a non-empty KEY" : "a string");
		l[i] = strdup(item->valuestring);
		if (!l[i++])
			return config_oom(s->error);
	}
	strv_free(*value);
	*value = TAKE_PTR(l);
	return 0;
}

/* "x/../../containers/ID" would walk the engine's URL tree; no image reference has such a component. */
static bool image_has_dot_component(const char *image)
{
	for (const char *p = image; p; p = strchr(p, '/') ? strchr(p, '/') + 1 : NULL) {
		size_t n = strcspn(p, "/");
		if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return true;
	}
	return false;
}

static int app_parse_strings(const Scope *s, AppConfig *a)
{
	int r;

	r = scope_string(s, "name", true, &a->name);
	if (r < 0)
		return r;
	if (!app_name_is_valid(a->name))
		return config_error(
		        s->error,
		        "%sname: must be 1..%d characters of A-Z a-z 0-9 _ . -, starting with a letter or digit",
		        s->prefix, CONFIG_APP_NAME_MAX);
	r = scope_string(s, "image", true, &a->image);
	if (r < 0)
		return r;
	/* The image goes into the engine's URLs (/images/NAME/json, ?fromImage=NAME): nothing that would end the path
	 * or start a query or a fragment there. No image reference holds these. */
	if (strpbrk(a->image, "?#%") || a->image[strcspn(a->image, " \t\r\n\v\f")])
		return config_error(s->error, "%simage: must not contain '?', '#', '%%' or white space", s->prefix);
	if (image_has_dot_component(a->image))
		return config_error(s->error, "%simage: must not have a \".\" or \"..\" path component", s->prefix);
	r = scope_strv(s, "command", false, &a->command);
	if (r < 0)
		return r;
	r = scope_strv(s, "env", true, &a->env);
	if (r < 0)
		return r;
	return scope_string(s, "network_mode", false, &a->network_mode);
}

static int app_parse_numbers(const Scope *s, AppConfig *a)
{
	int r;

	r = scope_uint(s, "priority", false, 0, CONFIG_MAX_PRIORITY, &a->priority);
	if (r < 0)
		return r;
	r = scope_uint(s, "stop_timeout", false, 0, CONFIG_MAX_STOP_TIMEOUT, &a->stop_timeout);
	if (r < 0)
		return r;
	r = scope_uint(s, "target", false, 0, CONFIG_MAX_TARGET, &a->target);
	if (r < 0)
		return r;
	r = scope_uint(s, "standby", false, 0, CONFIG_MAX_STANDBY, &a->standby);
	if (r < 0)
		return r;
	return scope_bool(s, "init", &a->init);
}

/* "scale": the rule's own strict parser (agent/demand/scale-rule.c), its one line naming the key. */
static int app_parse_scale(const cJSON *object, size_t index, AppConfig *a, ErrorText *error)
{
	char prefix[32], line[SCALE_ERROR_MAX] = "";
	int r;

	snprintf(prefix, sizeof(prefix), "apps[%zu].scale", index);
	r = scale_rule_parse(object, prefix, &a->scale, line);
	if (r == -ENOMEM)
		return config_oom(error);
	if (r < 0)
		return config_error(error, "%s", line[0] ? line : "apps[?].scale: invalid");
	return 0;
}

/* Fills a zeroed AppConfig; on failure what was filled is left for config_free(). */
static int app_parse(const cJSON *item, size_t index, AppConfig *a, ErrorText *error)
{
	char prefix[32];
	Scope s = {.object = item, .prefix = prefix, .error = error};
	int r;

	snprintf(prefix, sizeof(prefix), "apps[%zu].", index);
	if (!cJSON_IsObject(item))
		return config_error(error, "apps[%zu]: must be an object with at least \"name\" and \"image\"", index);
	r = scope_check_keys(&s, app_keys);
	if (r < 0)
		return r;
	*a = (AppConfig){.priority = 1, .stop_timeout = 2};
	r = app_parse_strings(&s, a);
	if (r < 0)
		return r;
	if (!a->network_mode) {
		a->network_mode = strdup("none");
		if (!a->network_mode)
			return config_oom(error);
	}
	r = app_parse_numbers(&s, a);
	if (r < 0 || !cJSON_HasObjectItem(item, "scale"))
		return r;
	return app_parse_scale(cJSON_GetObjectItemCaseSensitive(item, "scale"), index, a, error);
}

static int apps_parse(const cJSON *apps, Config *c, ErrorText *error)
{
	const cJSON *item;
	size_t i = 0;
	int n;

	if (!apps)
		return config_error(error, "apps: missing, must be a non-empty array of at most %d apps",
		                    CONFIG_MAX_APPS);
	n = cJSON_IsArray(apps) ? cJSON_GetArraySize(apps) : 0;
	if (n < 1 || n > CONFIG_MAX_APPS)
		return config_error(error, "apps: must be a non-empty array of at most %d apps", CONFIG_MAX_APPS);
	c->apps = calloc((size_t)n, sizeof(AppConfig));
	if (!c->apps)
		return config_oom(error);
	c->n_apps = (size_t)n;
	cJSON_ArrayForEach (item, apps) {
		int r = app_parse(item, i, &c->apps[i], error);
		if (r < 0)
			return r;
		for (size_t j = 0; j < i; j++)
			if (streq(c->apps[j].name, c->apps[i].name))
				return config_error(error, "apps[%zu].name: duplicate app \"%s\" (already apps[%zu])",
				                    i, c->apps[i].name, j);
		i++;
	}
	return 0;
}

/* "etcd": paths and a user name, checked by the cluster source when it starts. */
static int etcd_parse(const cJSON *item, Config *c, ErrorText *error)
{
	Scope s = {.object = item, .prefix = "etcd.", .error = error};
	int r;

	if (!item)
		return 0;
	if (!cJSON_IsObject(item))
		return config_error(error, "etcd: must be an object like {\"cacert\": \"/etc/force12/etcd-ca.pem\"}");
	r = scope_check_keys(&s, etcd_keys);
	if (r >= 0)
		r = scope_string(&s, "cacert", false, &c->etcd_cacert);
	if (r >= 0)
		r = scope_string(&s, "cert", false, &c->etcd_cert);
	if (r >= 0)
		r = scope_string(&s, "key", false, &c->etcd_key);
	if (r >= 0)
		r = scope_string(&s, "user", false, &c->etcd_user);
	if (r >= 0)
		r = scope_string(&s, "password_file", false, &c->etcd_password_file);
	return r;
}

static int config_from_json(const cJSON *root, Config **ret, ErrorText *error)
{
	_cleanup_config_ Config *c = NULL;
	Scope s = {.object = root, .prefix = "", .error = error};
	int r;

	if (!cJSON_IsObject(root))
		return config_error(error, "top level: must be a JSON object with \"capacity\" and \"apps\"");
	r = scope_check_keys(&s, config_keys);
	if (r < 0)
		return r;
	c = calloc(1, sizeof(Config));
	if (!c)
		return config_oom(error);
	*c = (Config){.resync_interval = 30, .parallel = 8};
	r = scope_uint(&s, "capacity", true, 1, CONFIG_MAX_CAPACITY, &c->capacity);
	if (r >= 0)
		r = scope_uint(&s, "resync_interval", false, 1, CONFIG_MAX_RESYNC, &c->resync_interval);
	if (r >= 0)
		r = scope_uint(&s, "parallel", false, 1, CONFIG_MAX_PARALLEL, &c->parallel);
	if (r >= 0)
		r = apps_parse(cJSON_GetObjectItemCaseSensitive(root, "apps"), c, error);
	if (r >= 0)
		r = etcd_parse(cJSON_GetObjectItemCaseSensitive(root, "etcd"), c, error);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(c);
	return 0;
}

static int malformed_at(const char *text, size_t len, size_t offset, const char *what, ErrorText *error)
{
	unsigned line = 1, column = 1;

	for (size_t i = 0; i < MIN(offset, len); i++, column++)
		if (text[i] == '\n') {
			line++;
			column = 0;
		}
	return config_error(error, "malformed JSON near line %u, column %u%s", line, column, what);
}

static int json_parse(const char *text, size_t len, cJSON **ret, ErrorText *error)
{
	const char *nul = len > 0 ? memchr(text, '\0', len) : NULL, *end = NULL;
	cJSON *root;

	if (len > CONFIG_FILE_MAX)
		return config_error(error, "config is larger than %d bytes", CONFIG_FILE_MAX);
	/* cJSON stops at a NUL; what follows it would be silently dropped. */
	if (nul)
		return malformed_at(text, len, (size_t)(nul - text), ": NUL byte", error);
	if (!utf8_is_valid(text, len))
		return config_error(error, "config is not valid UTF-8");
	if (json_has_nul_escape(text, len))
		return config_error(error, "config contains the escape \\u0000, which no key or value may hold");
	root = cJSON_ParseWithLengthOpts(text, len, &end, false);
	if (!root)
		return malformed_at(text, len, end ? (size_t)(end - text) : 0, "", error);
	while (end < text + len && strchr(" \t\r\n", *end))
		end++;
	if (end < text + len) {
		cJSON_Delete(root);
		return malformed_at(text, len, (size_t)(end - text), ": data after the top-level value", error);
	}
	*ret = root;
	return 0;
}

int config_parse(const char *text, size_t len, Config **ret, ErrorText *error)
{
	_cleanup_(cJSON_Deletep) cJSON *root = NULL;
	int r;

	r = json_parse(text, len, &root, error);
	if (r < 0)
		return r;
	return config_from_json(root, ret, error);
}

int config_new_default(Config **ret)
{
	return config_parse(default_config, strlen(default_config), ret, NULL);
}

static int io_error(const char *path, int r, ErrorText *error)
{
	if (error)
		(void)error_text_set(error, 0, "%s: %s", path, strerror(-r));
	return r;
}

static int too_big(const char *path, ErrorText *error)
{
	if (error)
		(void)error_text_set(error, 0, "%s: larger than %d bytes, refusing", path, CONFIG_FILE_MAX);
	return -EFBIG;
}

/* Reads at most CONFIG_FILE_MAX bytes; works for pipes (-c /dev/stdin) as well, so st_size is only a shortcut. */
static int read_file_limited(const char *path, char **ret, size_t *ret_len, ErrorText *error)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	struct stat st;
	ssize_t n;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 || fstat(fd, &st) < 0)
		return io_error(path, negative_errno(), error);
	if (S_ISREG(st.st_mode) && st.st_size > CONFIG_FILE_MAX)
		return too_big(path, error);
	buf = malloc(CONFIG_FILE_MAX + 1);
	if (!buf)
		return io_error(path, -ENOMEM, error);
	do {
		n = read(fd, buf + len, CONFIG_FILE_MAX + 1 - len);
		if (n < 0 && errno != EINTR)
			return io_error(path, negative_errno(), error);
		len += n > 0 ? (size_t)n : 0;
	} while (n != 0 && len <= CONFIG_FILE_MAX);
	if (len > CONFIG_FILE_MAX)
		return too_big(path, error);
	*ret = TAKE_PTR(buf);
	*ret_len = len;
	return 0;
}

int config_load_file(const char *path, Config **ret, ErrorText *error)
{
	_cleanup_free_ char *text = NULL;
	ErrorText message = {};
	size_t len = 0;
	int r;

	r = read_file_limited(path, &text, &len, error);
	if (r < 0)
		return r;
	r = config_parse(text, len, ret, error ? &message : NULL);
	if (r < 0)
		(void)config_error(error, "%s: %s", path, message.text); /* truncating a long path is fine */
	return r;
}
