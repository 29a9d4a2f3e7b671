// SPDX-License-Identifier: Apache-2.0
/* The Docker Engine API's JSON (v1.41) as force12 speaks it: the create body, container lists, inspect answers and
 * events. Pure: no I/O, no logging, no mutable state. Nothing from the engine is trusted: a field of the wrong type
 * or size is -EPROTO or a skipped entry, never a crash or a silently truncated copy. */

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "force12/docker-json.h"
#include "force12/json.h"
#include "force12/macro.h"

/* What Go's zero time.Time is in seconds since the epoch: the engine writes "0001-01-01T00:00:00Z" for "never". */
#define GO_ZERO_TIME_SEC INT64_C(-62135596800)

static const char *const state_table[_DOCKER_STATE_MAX] = {
        [DOCKER_STATE_CREATED] = "created",   [DOCKER_STATE_RUNNING] = "running",
        [DOCKER_STATE_PAUSED] = "paused",     [DOCKER_STATE_RESTARTING] = "restarting",
        [DOCKER_STATE_REMOVING] = "removing", [DOCKER_STATE_EXITED] = "exited",
        [DOCKER_STATE_DEAD] = "dead",
};

static const struct {
	const char *name;
	DockerEventAction action;
} event_action_table[] = {
        {"create", DOCKER_EVENT_CREATE},   {"start", DOCKER_EVENT_START}, {"die", DOCKER_EVENT_DIE},
        {"destroy", DOCKER_EVENT_DESTROY}, {"pause", DOCKER_EVENT_PAUSE}, {"unpause", DOCKER_EVENT_UNPAUSE},
        {"remove", DOCKER_EVENT_DESTROY}, /* Podman's name for destroy */
};

/* Podman's compatible API passes states of its own through: "stopping" while a stop waits for the process (Docker
 * says "running" until the process is gone), "stopped" for exited before its cleanup, "initialized" for created
 * with its runtime state prepared, "configured" in some versions' lists. Each is read as Docker's equivalent
 * (docs/engines.md). */
static const struct {
	const char *name;
	DockerState state;
} podman_state_table[] = {
        {"stopping", DOCKER_STATE_RUNNING},
        {"stopped", DOCKER_STATE_EXITED},
        {"initialized", DOCKER_STATE_CREATED},
        {"configured", DOCKER_STATE_CREATED},
};

/* The engine writes states in lower case; its API document's examples still show "Exited", so case is ignored. */
DockerState docker_state_from_string(const char *s)
{
	if (!s)
		return _DOCKER_STATE_INVALID;
	for (size_t i = 0; i < ELEMENTSOF(state_table); i++)
		if (strcasecmp(state_table[i], s) == 0)
			return (DockerState)i;
	for (size_t i = 0; i < ELEMENTSOF(podman_state_table); i++)
		if (strcasecmp(podman_state_table[i].name, s) == 0)
			return podman_state_table[i].state;
	return _DOCKER_STATE_INVALID;
}

const char *docker_state_to_string(DockerState s)
{
	if (s < 0 || s >= _DOCKER_STATE_MAX)
		return NULL;
	return state_table[s];
}

bool docker_id_is_valid(const char *id)
{
	size_t n;

	if (!id)
		return false;
	n = strspn(id, "0123456789abcdef");
	return n >= 1 && n <= DOCKER_ID_MAX && id[n] == '\0';
}

/* ---- the create body ---- */

/* Adds item under key, taking ownership of it even on failure; a NULL item is an allocation failure. */
static int add_item(cJSON *o, const char *key, cJSON *item)
{
	if (!item)
		return -ENOMEM;
	if (!cJSON_AddItemToObject(o, key, item)) {
		cJSON_Delete(item);
		return -ENOMEM;
	}
	return 0;
}

static cJSON *strv_to_json(char *const *strv)
{
	_cleanup_(cJSON_Deletep) cJSON *a = cJSON_CreateArray();

	if (!a)
		return NULL;
	for (char *const *s = strv; *s; s++) {
		cJSON *item = cJSON_CreateString(*s);

		if (!item || !cJSON_AddItemToArray(a, item)) {
			cJSON_Delete(item);
			return NULL;
		}
	}
	return TAKE_PTR(a);
}

/* A NULL list means "not set": the key is left out so that the image's own default applies. */
static int add_strv(cJSON *o, const char *key, char *const *strv)
{
	if (!strv)
		return 0;
	return add_item(o, key, strv_to_json(strv));
}

static cJSON *labels_new(const char *app, const char *node_id)
{
	_cleanup_(cJSON_Deletep) cJSON *l = cJSON_CreateObject();

	if (!l || !cJSON_AddStringToObject(l, LABEL_AGENT, node_id) || !cJSON_AddStringToObject(l, LABEL_APP, app))
		return NULL;
	return TAKE_PTR(l);
}

/* Restart policy "no": the agent, not the engine, decides when a container comes back. */
static cJSON *host_config_new(const EngineCreateSpec *app)
{
	_cleanup_(cJSON_Deletep) cJSON *h = cJSON_CreateObject();
	cJSON *restart;

	if (!h || !cJSON_AddStringToObject(h, "NetworkMode", app->network_mode))
		return NULL;
	if (app->init && !cJSON_AddTrueToObject(h, "Init"))
		return NULL;
	restart = cJSON_AddObjectToObject(h, "RestartPolicy");
	if (!restart || !cJSON_AddStringToObject(restart, "Name", "no"))
		return NULL;
	return TAKE_PTR(h);
}

char *docker_json_create_body(const EngineCreateSpec *app)
{
	_cleanup_(cJSON_Deletep) cJSON *o = cJSON_CreateObject();

	if (!o || !cJSON_AddStringToObject(o, "Image", app->image))
		return NULL;
	if (add_strv(o, "Cmd", app->command) < 0 || add_strv(o, "Env", app->env) < 0)
		return NULL;
	if (add_item(o, "Labels", labels_new(app->app, app->node_id)) < 0)
		return NULL;
	if (!cJSON_AddStringToObject(o, "StopSignal", "SIGTERM") ||
	    !cJSON_AddNumberToObject(o, "StopTimeout", app->stop_timeout))
		return NULL;
	if (add_item(o, "HostConfig", host_config_new(app)) < 0)
		return NULL;
	return cJSON_PrintUnformatted(o);
}

/* ---- typed access to what the engine sent ---- */

static const cJSON *object_get(const cJSON *o, const char *key)
{
	if (!cJSON_IsObject(o))
		return NULL;
	return cJSON_GetObjectItemCaseSensitive(o, key);
}

/* NULL when o is not an object, key is absent, or its value is not a string. */
static const char *object_get_string(const cJSON *o, const char *key)
{
	const cJSON *v = object_get(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int copy_string(char *dst, size_t size, const char *src)
{
	size_t n;

	if (!src)
		return -EPROTO;
	n = strlen(src);
	if (n >= size)
		return -EPROTO;
	memcpy(dst, src, n + 1);
	return 0;
}

/* cJSON keeps numbers as doubles: integers above 2^53 (timeNano) come back rounded to a representable value. */
static int json_int64(const cJSON *v, int64_t min, int64_t max, int64_t *ret)
{
	double d;
	int64_t i;

	if (!cJSON_IsNumber(v))
		return -EPROTO;
	d = v->valuedouble;
	if (!(d >= -0x1p63 && d < 0x1p63)) /* also false for NaN */
		return -EPROTO;
	i = (int64_t)d;
	if ((double)i != d || i < min || i > max)
		return -EPROTO;
	*ret = i;
	return 0;
}

/* ---- GET /containers/json ---- */

/* Besides its own name, a container may be listed under "/<other>/<alias>" names of legacy links: its own name is
 * the one without an inner '/'. */
static int parse_names(const cJSON *names, char *ret, size_t size)
{
	const cJSON *n;

	if (!cJSON_IsArray(names))
		return -EPROTO;
	cJSON_ArrayForEach (n, names) {
		const char *s = cJSON_IsString(n) ? n->valuestring : NULL;

		if (!s)
			return -EPROTO;
		if (s[0] == '/')
			s++;
		if (s[0] != '\0' && !strchr(s, '/'))
			return copy_string(ret, size, s);
	}
	return -EPROTO;
}

/* The owner label, copied only if it fits: an owner too long to be a node id is nobody the agent can be. */
static void copy_node(char *dst, size_t size, const char *node)
{
	if (node && copy_string(dst, size, node) < 0)
		dst[0] = 0;
}

static int parse_list_entry(const cJSON *item, DockerContainer *ret)
{
	const char *id = object_get_string(item, "Id");
	const cJSON *labels = object_get(item, "Labels");
	const char *app = object_get_string(labels, LABEL_APP);
	DockerContainer c = {};

	if (!docker_id_is_valid(id) || !app_name_is_valid(app))
		return -EPROTO;
	c.state = docker_state_from_string(object_get_string(item, "State"));
	if (c.state < 0)
		return -EPROTO;
	if (json_int64(object_get(item, "Created"), 0, INT64_MAX, &c.created) < 0)
		return -EPROTO;
	if (parse_names(object_get(item, "Names"), c.name, sizeof(c.name)) < 0)
		return -EPROTO;
	if (copy_string(c.id, sizeof(c.id), id) < 0 || copy_string(c.app, sizeof(c.app), app) < 0)
		return -EPROTO;
	copy_node(c.node, sizeof(c.node), object_get_string(labels, LABEL_AGENT));
	*ret = c;
	return 0;
}

int docker_json_parse_list(const cJSON *json, DockerContainer **ret, size_t *ret_n)
{
	_cleanup_free_ DockerContainer *list = NULL;
	const cJSON *item;
	size_t size, n = 0;

	if (!cJSON_IsArray(json))
		return -EPROTO;
	size = (size_t)cJSON_GetArraySize(json);
	if (size > 0) {
		list = calloc(size, sizeof(*list));
		if (!list)
			return -ENOMEM;
	}
	cJSON_ArrayForEach (item, json) {
		if (n < size && parse_list_entry(item, &list[n]) >= 0)
			n++;
	}
	if (n == 0) {
		free(list);
		list = NULL;
	}
	*ret = TAKE_PTR(list);
	*ret_n = n;
	return 0;
}

/* The end of the JSON value that starts at p (an object, an array, a string or a scalar), or NULL if it does not
 * end before end. Only brackets and strings are followed: the value itself is parsed afterwards. */
static const char *value_end(const char *p, const char *end)
{
	unsigned depth = 0;
	bool in_string = false;

	for (; p < end; p++) {
		if (in_string) {
			if (*p == '\\')
				p++;
			else if (*p == '"')
				in_string = false;
			if (!in_string && depth == 0)
				return p + 1;
			continue;
		}
		if (*p == '"')
			in_string = true;
		else if (*p == '{' || *p == '[')
			depth++;
		else if (*p == '}' || *p == ']') {
			if (depth == 0)
				return p; /* a scalar ended by its container */
			if (--depth == 0)
				return p + 1;
		} else if (depth == 0 && (*p == ',' || *p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
			return p;
	}
	return depth == 0 && !in_string ? end : NULL;
}

static const char *skip_space(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
		p++;
	return p;
}

static int list_append(DockerContainer **list, size_t *n, size_t *size, const DockerContainer *c)
{
	if (*n == *size) {
		size_t m = MAX(*size * 2, (size_t)64);
		DockerContainer *l = reallocarray(*list, m, sizeof(DockerContainer));

		if (!l)
			return -ENOMEM;
		*list = l;
		*size = m;
	}
	(*list)[(*n)++] = *c;
	return 0;
}

int docker_list_parse_step(DockerListParser *lp, size_t max_entries)
{
	const char *p = lp->text + lp->pos, *end = lp->text + lp->len;

	if (!lp->started) {
		p = skip_space(p, end);
		if (p == end || *p != '[')
			return -EPROTO;
		p = skip_space(p + 1, end);
		lp->started = true;
	}
	for (size_t k = 0; k < max_entries && p < end && *p != ']'; k++) {
		const char *e = value_end(p, end);
		DockerContainer c;
		cJSON *item;
		int r;

		if (!e || e == p)
			return -EPROTO;
		/* One entry at a time: never a tree of the whole answer, which may hold a million entries. */
		item = cJSON_ParseWithLength(p, (size_t)(e - p));
		if (!item)
			return -EPROTO;
		r = parse_list_entry(item, &c);
		cJSON_Delete(item);
		if (r >= 0 && list_append(&lp->list, &lp->n, &lp->size, &c) < 0)
			return -ENOMEM;
		p = skip_space(e, end);
		if (p < end && *p == ',')
			p = skip_space(p + 1, end);
		else if (p < end && *p != ']')
			return -EPROTO;
	}
	lp->pos = (size_t)(p - lp->text);
	if (p < end && *p != ']')
		return 0; /* more to come */
	if (p == end || skip_space(p + 1, end) != end)
		return -EPROTO;
	return 1;
}

void docker_list_parser_done(DockerListParser *lp)
{
	free(lp->list);
	lp->list = NULL;
	lp->n = lp->size = 0;
}

int docker_json_parse_list_text(const char *text, size_t len, DockerContainer **ret, size_t *ret_n)
{
	DockerListParser lp = {.text = text, .len = len};
	int r;

	while ((r = docker_list_parse_step(&lp, SIZE_MAX)) == 0)
		;
	if (r < 0) {
		docker_list_parser_done(&lp);
		return r;
	}
	*ret = TAKE_PTR(lp.list);
	*ret_n = lp.n;
	return 0;
}

/* ---- GET /containers/{id}/json ---- */

/* Absent or null means unknown; present, it must be a time. The zero time ("never started") leaves both empty. */
static int parse_started_at(const cJSON *state, DockerInspect *d)
{
	const cJSON *v = object_get(state, "StartedAt");

	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsString(v) || docker_json_parse_time(v->valuestring, &d->started_at_usec) < 0)
		return -EPROTO;
	if (d->started_at_usec == 0)
		return 0;
	return copy_string(d->started_at, sizeof(d->started_at), v->valuestring);
}

static int parse_exit_code_number(const cJSON *state, int *ret)
{
	const cJSON *v = object_get(state, "ExitCode");
	int64_t i;

	if (!v || cJSON_IsNull(v)) {
		*ret = -1;
		return 0;
	}
	if (json_int64(v, INT_MIN, INT_MAX, &i) < 0)
		return -EPROTO;
	*ret = (int)i;
	return 0;
}

int docker_json_parse_inspect(const cJSON *json, DockerInspect *ret)
{
	const char *id = object_get_string(json, "Id");
	const cJSON *state = object_get(json, "State");
	DockerInspect d = {};

	if (!docker_id_is_valid(id) || copy_string(d.id, sizeof(d.id), id) < 0)
		return -EPROTO;
	d.state = docker_state_from_string(object_get_string(state, "Status"));
	if (d.state < 0)
		return -EPROTO;
	if (parse_exit_code_number(state, &d.exit_code) < 0 || parse_started_at(state, &d) < 0)
		return -EPROTO;
	*ret = d;
	return 0;
}

/* ---- GET /events ---- */

/* Exact names only: "exec_start: sh" or "health_status: healthy" are other events, not starts. */
static DockerEventAction event_action_from_string(const char *s)
{
	for (size_t i = 0; i < ELEMENTSOF(event_action_table); i++)
		if (streq(event_action_table[i].name, s))
			return event_action_table[i].action;
	return DOCKER_EVENT_OTHER;
}

/* Attributes are strings, the exit code too: decimal digits that fit an int, else -1 (unknown). */
static int parse_exit_code_string(const char *s)
{
	int v = 0;

	if (!s || s[0] == '\0')
		return -1;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9' || v > (INT_MAX - (*p - '0')) / 10)
			return -1;
		v = v * 10 + (*p - '0');
	}
	return v;
}

/* timeNano, else time in seconds, else 0: the time is informative, an event is not dropped for it. */
static int64_t event_time_nano(const cJSON *json)
{
	int64_t t;

	if (json_int64(object_get(json, "timeNano"), 0, INT64_MAX, &t) >= 0)
		return t;
	if (json_int64(object_get(json, "time"), 0, INT64_MAX / 1000000000, &t) >= 0)
		return t * 1000000000;
	return 0;
}

int docker_json_parse_event(const cJSON *json, DockerEvent *ret)
{
	const char *type = object_get_string(json, "Type");
	const char *action = object_get_string(json, "Action");
	const cJSON *actor = object_get(json, "Actor");
	const char *id = object_get_string(actor, "ID");
	const cJSON *attributes = object_get(actor, "Attributes");
	const char *app = object_get_string(attributes, LABEL_APP);
	DockerEvent e = {.action = DOCKER_EVENT_OTHER, .exit_code = -1};

	if (!type)
		return -EPROTO;
	e.time_nano = event_time_nano(json);
	if (!streq(type, "container")) {
		*ret = e;
		return 0;
	}
	if (!action || !docker_id_is_valid(id) || copy_string(e.id, sizeof(e.id), id) < 0)
		return -EPROTO;
	e.action = event_action_from_string(action);
	if (app_name_is_valid(app) && copy_string(e.app, sizeof(e.app), app) < 0)
		return -EPROTO;
	copy_node(e.node, sizeof(e.node), object_get_string(attributes, LABEL_AGENT));
	copy_node(e.name, sizeof(e.name), object_get_string(attributes, "name"));
	if (e.action == DOCKER_EVENT_DIE)
		e.exit_code = parse_exit_code_string(object_get_string(attributes, "exitCode"));
	*ret = e;
	return 0;
}

/* ---- POST /containers/create ---- */

int docker_json_parse_created_id(const cJSON *json, char ret[DOCKER_ID_MAX + 1])
{
	const char *id = object_get_string(json, "Id");

	if (!docker_id_is_valid(id))
		return -EPROTO;
	return copy_string(ret, DOCKER_ID_MAX + 1, id);
}

/* ---- paths ---- */

/* One part of a path, escaped for a URL: RFC 3986's unreserved characters stay, everything else is %XX. */
static void escape_part(char *dst, const char *src, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)src[i];

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		    strchr("-._~", ch)) {
			*dst++ = (char)ch;
			continue;
		}
		*dst++ = '%';
		*dst++ = hex[ch >> 4];
		*dst++ = hex[ch & 15];
	}
	*dst = 0;
}

int docker_image_path(const char *image, const char *suffix, char **ret)
{
	size_t len = image ? strlen(image) : 0;
	_cleanup_free_ char *out = NULL;
	char *p;

	if (len == 0 || len > 1024)
		return -EINVAL;
	out = malloc(strlen("/images/") + 3 * len + strlen(suffix) + 1);
	if (!out)
		return -ENOMEM;
	p = stpcpy(out, "/images");
	for (const char *s = image;;) {
		size_t n = strcspn(s, "/");

		if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
			return -EINVAL;
		*p++ = '/';
		escape_part(p, s, n);
		p += strlen(p);
		if (!s[n])
			break;
		s += n + 1;
	}
	strcpy(p, suffix);
	*ret = TAKE_PTR(out);
	return 0;
}

/* ---- RFC 3339 times ---- */

/* Exactly n ASCII digits: no sign, no space, no locale. */
static int parse_digits(const char **p, unsigned n, int *ret)
{
	int v = 0;

	for (unsigned i = 0; i < n; i++) {
		char c = (*p)[i];

		if (c < '0' || c > '9')
			return -EINVAL;
		v = v * 10 + (c - '0');
	}
	*p += n;
	*ret = v;
	return 0;
}

/* One character out of set. */
static int expect_char(const char **p, const char *set)
{
	if (**p == '\0' || !strchr(set, **p))
		return -EINVAL;
	(*p)++;
	return 0;
}

static int days_in_month(int year, int month)
{
	static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	return month == 2 && leap ? 29 : days[month - 1];
}

/* "YYYY-MM-DDTHH:MM:SS", every field in range (no leap second: the engine never writes one). */
static int parse_date_time(const char **p, struct tm *ret)
{
	int year, mon, day, hour, min, sec;

	if (parse_digits(p, 4, &year) < 0 || expect_char(p, "-") < 0 || parse_digits(p, 2, &mon) < 0 ||
	    expect_char(p, "-") < 0 || parse_digits(p, 2, &day) < 0 || expect_char(p, "Tt") < 0 ||
	    parse_digits(p, 2, &hour) < 0 || expect_char(p, ":") < 0 || parse_digits(p, 2, &min) < 0 ||
	    expect_char(p, ":") < 0 || parse_digits(p, 2, &sec) < 0)
		return -EINVAL;
	if (mon < 1 || mon > 12 || day < 1 || day > days_in_month(year, mon) || hour > 23 || min > 59 || sec > 59)
		return -EINVAL;
	*ret = (struct tm){.tm_year = year - 1900,
	                   .tm_mon = mon - 1,
	                   .tm_mday = day,
	                   .tm_hour = hour,
	                   .tm_min = min,
	                   .tm_sec = sec};
	return 0;
}

/* Optional ".d" with 1..9 digits, as nanoseconds. */
static int parse_fraction(const char **p, int *ret_nsec)
{
	unsigned n = 0;
	int nsec = 0;

	if (**p != '.') {
		*ret_nsec = 0;
		return 0;
	}
	for ((*p)++; **p >= '0' && **p <= '9'; (*p)++, n++) {
		if (n >= 9)
			return -EINVAL;
		nsec = nsec * 10 + (**p - '0');
	}
	if (n == 0)
		return -EINVAL;
	for (; n < 9; n++)
		nsec *= 10;
	*ret_nsec = nsec;
	return 0;
}

/* "Z" or "+HH:MM" / "-HH:MM", as seconds east of UTC. */
static int parse_offset(const char **p, int *ret_sec)
{
	int sign, hour, min;

	if (**p == 'Z' || **p == 'z') {
		(*p)++;
		*ret_sec = 0;
		return 0;
	}
	if (**p != '+' && **p != '-')
		return -EINVAL;
	sign = **p == '-' ? -1 : 1;
	(*p)++;
	if (parse_digits(p, 2, &hour) < 0 || expect_char(p, ":") < 0 || parse_digits(p, 2, &min) < 0)
		return -EINVAL;
	if (hour > 23 || min > 59)
		return -EINVAL;
	*ret_sec = sign * (hour * 3600 + min * 60);
	return 0;
}

int docker_json_parse_time(const char *s, int64_t *ret_usec)
{
	const char *p = s;
	int nsec, offset, saved_errno;
	struct tm tm;
	int64_t sec;
	time_t t;

	if (!s)
		return -EINVAL;
	if (parse_date_time(&p, &tm) < 0 || parse_fraction(&p, &nsec) < 0 || parse_offset(&p, &offset) < 0 ||
	    *p != '\0')
		return -EINVAL;
	/* (time_t) -1 is also 1969-12-31T23:59:59Z: only errno tells a failure apart. Callers' errno is kept. */
	saved_errno = errno;
	errno = 0;
	t = timegm(&tm);
	if (t == (time_t)-1 && errno != 0) {
		errno = saved_errno;
		return -ERANGE;
	}
	errno = saved_errno;
	sec = (int64_t)t - offset;
	if (sec == GO_ZERO_TIME_SEC && nsec == 0) {
		*ret_usec = 0;
		return 0;
	}
	if (sec < 0)
		return -ERANGE; /* before the epoch: no container ever started then */
	*ret_usec = sec * 1000000 + nsec / 1000;
	return 0;
}
