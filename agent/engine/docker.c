// SPDX-License-Identifier: Apache-2.0
/* Docker Engine client over the unix socket, behind the engine operations table (engine.h). Builds URLs, maps the
 * engine's statuses to errors and decodes JSON bodies into typed answers: HTTP and JSON never leave this file.
 * The rest (apps, plans, retries) belongs to the caller. Never blocks: every call is queued on the curl multi
 * and answered from the event loop. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "force12/docker-json.h"
#include "force12/docker.h"
#include "force12/http-client.h"
#include "force12/json.h"
#include "force12/list.h"
#include "force12/time-util.h"

#define CALL_TIMEOUT_MSEC (30 * 1000ULL)
#define STOP_MARGIN_MSEC  (30 * 1000ULL)
#define PULL_TIMEOUT_MSEC (15 * 60 * 1000ULL)
#define LIST_MIN_RESPONSE (32u * 1024 * 1024)
#define LIST_ENTRY_MAX    4096u /* a listed container weighs about 925 bytes (dockerd 20.10): room for labels */
#define STREAM_LINE_MAX   (1024u * 1024)      /* a longer line ends the stream (a resync follows) */
#define LIST_STEP         128u                /* entries decoded between two looks at the clock */
#define LIST_SLICE_USEC   (4 * USEC_PER_MSEC) /* decoding per turn of the event loop, about */

typedef struct ListDecode ListDecode;

typedef struct Docker {
	Engine engine; /* first: an Engine * is a Docker * */
	sd_event *event;
	HttpClient *http;
	ListDecode *decodes; /* lists being decoded in slices */
	char *socket_path;
	char api_version[16];
} Docker;

typedef enum CallKind {
	CALL_PLAIN,
	CALL_CREATE,
	CALL_INSPECT,
	CALL_LIST,
} CallKind;

typedef struct Call {
	Docker *docker;
	CallKind kind;
	EngineCallback cb;
	EngineEventFn on_event;
	void *userdata;
	char *stream_error; /* pull: an error reported inside the progress stream */
} Call;

static void call_free(Call *c)
{
	if (!c)
		return;
	free(c->stream_error);
	free(c);
}

static void call_destroy(void *userdata)
{
	call_free(userdata);
}

/* A good list decoded a slice per turn of the loop, so that a list of any size never holds it (the API answers in
 * between). The answer goes to the caller when the last slice is done. */
struct ListDecode {
	LIST_FIELDS(ListDecode, decodes);
	Docker *docker;
	Call *call;
	char *text;
	DockerListParser parser;
	sd_event_source *source;
};

static void list_decode_free(ListDecode *ld)
{
	LIST_REMOVE(decodes, ld->docker->decodes, ld);
	sd_event_source_disable_unref(ld->source);
	docker_list_parser_done(&ld->parser);
	call_free(ld->call);
	free(ld->text);
	free(ld);
}

static int on_list_slice(sd_event_source *s, void *userdata)
{
	ListDecode *ld = userdata;
	EngineReply reply = {.message = ""};
	Call *c = ld->call;
	usec_t begin = now_usec(CLOCK_MONOTONIC);
	int r;

	/* By time rather than by count: an entry costs what its labels weigh and what the machine has to spare. */
	do
		r = docker_list_parse_step(&ld->parser, LIST_STEP);
	while (r == 0 && now_usec(CLOCK_MONOTONIC) - begin < LIST_SLICE_USEC);
	if (r == 0)
		return 0; /* the source stays on: the next slice in the next turn */
	if (r < 0)
		reply = (EngineReply){.error = r, .message = "the engine's answer could not be decoded"};
	else {
		reply.list = ld->parser.list;
		reply.n_list = ld->parser.n;
		reply.list_owner = &ld->parser.list; /* docker_list_parser_done() frees it unless it is taken */
	}
	(void)sd_event_source_set_enabled(s, SD_EVENT_OFF);
	if (c->cb)
		c->cb(&reply, c->userdata);
	list_decode_free(ld); /* the callback may not free the engine: the agent frees it only at its own end */
	return 0;
}

/* Takes c over; false if it could not start (c is untouched then). The text is taken from req (tens of MB at
 * 50,000 containers: a copy would hold the loop), or copied if it cannot be. */
static bool list_decode_start(Docker *d, Call *c, HttpRequest *req, const char *body, size_t len)
{
	ListDecode *ld = calloc(1, sizeof(*ld));
	size_t n = 0;

	if (!ld)
		return false;
	ld->docker = d;
	if (sd_event_add_defer(d->event, &ld->source, on_list_slice, ld) < 0) {
		free(ld);
		return false;
	}
	ld->text = req ? http_request_steal_body(req, &n) : NULL;
	if (ld->text && n != len) { /* not the body done was given: never expected */
		free(ld->text);
		ld->text = NULL;
	}
	if (!ld->text && (ld->text = malloc(len + 1))) {
		memcpy(ld->text, body, len);
		ld->text[len] = 0;
	}
	if (!ld->text) {
		sd_event_source_disable_unref(ld->source);
		free(ld);
		return false;
	}
	ld->parser = (DockerListParser){.text = ld->text, .len = len};
	ld->call = c;
	(void)sd_event_source_set_enabled(ld->source, SD_EVENT_ON);
	LIST_PREPEND(decodes, d->decodes, ld);
	return true;
}

static Docker *docker_of(Engine *e)
{
	return (Docker *)e;
}

static Engine *docker_free(Engine *e)
{
	Docker *d = docker_of(e);

	if (!d)
		return NULL;
	/* Cancelled requests free their Call through call_destroy, never calling back; so do lists being decoded. */
	http_client_free(d->http);
	while (d->decodes)
		list_decode_free(d->decodes);
	sd_event_unref(d->event);
	free(d->socket_path);
	free(d);
	return NULL;
}

static const char *docker_address(Engine *e)
{
	return docker_of(e)->socket_path;
}

static const char *docker_api_version(Engine *e)
{
	Docker *d = docker_of(e);

	return d->api_version[0] ? d->api_version : NULL;
}

static int status_to_error(long status)
{
	if ((status >= 200 && status < 300) || status == 304)
		return 0;
	switch (status) {
	case 400:
		return -EINVAL;
	case 404:
		return -ENOENT;
	case 409:
		return -EBUSY;
	default:
		return -EIO;
	}
}

/* Decodes a successful answer by the call's kind, then hands it over. */
static void reply_decoded(Call *c, const cJSON *json, const char *body, size_t len, EngineReply *reply)
{
	_cleanup_free_ DockerContainer *list = NULL;
	char id[DOCKER_ID_MAX + 1];
	DockerInspect inspect;
	int r = 0;

	if (reply->error == 0)
		switch (c->kind) {
		case CALL_CREATE:
			r = docker_json_parse_created_id(json, id);
			reply->id = id;
			break;
		case CALL_INSPECT:
			r = docker_json_parse_inspect(json, &inspect);
			reply->inspect = &inspect;
			break;
		case CALL_LIST:
			r = docker_json_parse_list_text(body ?: "", body ? len : 0, &list, &reply->n_list);
			reply->list = list;
			reply->list_owner = &list;
			break;
		case CALL_PLAIN:
			break;
		}
	if (r < 0) {
		*reply = (EngineReply){.error = r, .message = "the engine's answer could not be decoded"};
		if (c->kind == CALL_CREATE)
			reply->message = "create answered without a valid Id";
	}
	if (c->cb)
		c->cb(reply, c->userdata);
}

static void on_done(HttpRequest *req, int error, long status, const char *body, size_t len, void *userdata)
{
	_cleanup_(cJSON_Deletep) cJSON *json = NULL;
	Call *c = userdata;
	const char *message = "";

	if (error < 0)
		message = http_request_error_text(req);
	else {
		error = status_to_error(status);
		const char *type = http_request_header(req, "Content-Type");
		bool is_json = type && strncmp(type, "application/json", 16) == 0;
		/* A good list is decoded entry by entry from the text (it may hold a million entries); the rest
		 * (answers, and every error's message) as one tree. */
		bool whole = !(c->kind == CALL_LIST && error == 0);
		if (len > 0 && is_json && whole)
			json = cJSON_ParseWithLength(body, len);
		const cJSON *m = cJSON_GetObjectItemCaseSensitive(json, "message");
		if (cJSON_IsString(m))
			message = m->valuestring;
		/* Podman answers 500 where Docker says 409 (a container in the wrong state, a name taken); its
		 * "cause" tells them apart from real server errors (docs/engines.md). */
		const cJSON *cause = cJSON_GetObjectItemCaseSensitive(json, "cause");
		if (status == 500 && cJSON_IsString(cause) &&
		    (streq(cause->valuestring, "container state improper") ||
		     streq(cause->valuestring, "that name is already in use")))
			error = -EBUSY;
		if (c->stream_error && (error == 0 || !message[0])) {
			error = error ?: -EIO;
			message = c->stream_error;
		}
		if (error == 0 && is_json && len > 0 && !json && whole)
			error = -EPROTO, message = "malformed JSON in the engine's answer";
	}
	if (error == 0 && status == 200 && req && !c->docker->api_version[0]) {
		const char *v = http_request_header(req, "Api-Version");
		if (v)
			snprintf(c->docker->api_version, sizeof(c->docker->api_version), "%s", v);
	}

	if (error == 0 && c->kind == CALL_LIST && list_decode_start(c->docker, c, req, body, len))
		return;
	EngineReply reply = {.error = error, .message = message};
	reply_decoded(c, json, body, len, &reply);
	call_free(c);
}

static int call_start(Docker *d, const char *method, const char *path, const char *body, uint64_t timeout_msec,
                      size_t max_response, HttpLineFn on_line, Call *c, HttpRequest **ret)
{
	char url[2048];
	int r;

	if (d->api_version[0])
		r = snprintf(url, sizeof(url), "http://localhost/v%s%s", d->api_version, path);
	else
		r = snprintf(url, sizeof(url), "http://localhost%s", path);
	if (r < 0 || (size_t)r >= sizeof(url)) {
		call_free(c);
		return -ENAMETOOLONG;
	}
	HttpRequestSpec spec = {
	        .method = method,
	        .url = url,
	        .unix_socket = d->socket_path,
	        .body = body,
	        .body_len = body ? strlen(body) : 0,
	        .timeout_msec = timeout_msec,
	        .max_response = max_response,
	        .on_line = on_line,
	        .max_line = STREAM_LINE_MAX,
	        .destroy = call_destroy,
	};
	r = http_request_start(d->http, &spec, on_done, c, ret);
	if (r < 0)
		call_free(c);
	return r;
}

static Call *call_new(Docker *d, CallKind kind, EngineCallback cb, void *userdata)
{
	Call *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->docker = d;
	c->kind = kind;
	c->cb = cb;
	c->userdata = userdata;
	return c;
}

static int simple_call(Docker *d, CallKind kind, const char *method, const char *path, const char *body,
                       uint64_t timeout_msec, size_t max_response, EngineCallback cb, void *userdata)
{
	Call *c = call_new(d, kind, cb, userdata);
	if (!c)
		return -ENOMEM;
	return call_start(d, method, path, body, timeout_msec, max_response, NULL, c, NULL);
}

static int docker_ping(Engine *e, EngineCallback cb, void *userdata)
{
	Docker *d = docker_of(e);

	d->api_version[0] = 0; /* negotiate anew: the engine may have been upgraded */
	return simple_call(d, CALL_PLAIN, "GET", "/_ping", NULL, CALL_TIMEOUT_MSEC, 4096, cb, userdata);
}

static int docker_create(Engine *e, const EngineCreateSpec *spec, EngineCallback cb, void *userdata)
{
	_cleanup_free_ char *escaped = curl_easy_escape(NULL, spec->name, 0);
	_cleanup_free_ char *body = docker_json_create_body(spec);
	char path[512];

	if (!escaped || !body)
		return -ENOMEM;
	snprintf(path, sizeof(path), "/containers/create?name=%s", escaped);
	return simple_call(docker_of(e), CALL_CREATE, "POST", path, body, CALL_TIMEOUT_MSEC, 0, cb, userdata);
}

static int id_call(Engine *e, CallKind kind, const char *method, const char *id, const char *suffix,
                   uint64_t timeout_msec, EngineCallback cb, void *userdata)
{
	char path[256];

	if (!docker_id_is_valid(id))
		return -EINVAL;
	snprintf(path, sizeof(path), "/containers/%s%s", id, suffix);
	return simple_call(docker_of(e), kind, method, path, NULL, timeout_msec, 0, cb, userdata);
}

static int docker_start(Engine *e, const char *id, EngineCallback cb, void *userdata)
{
	return id_call(e, CALL_PLAIN, "POST", id, "/start", CALL_TIMEOUT_MSEC, cb, userdata);
}

static int docker_pause(Engine *e, const char *id, EngineCallback cb, void *userdata)
{
	return id_call(e, CALL_PLAIN, "POST", id, "/pause", CALL_TIMEOUT_MSEC, cb, userdata);
}

static int docker_unpause(Engine *e, const char *id, EngineCallback cb, void *userdata)
{
	return id_call(e, CALL_PLAIN, "POST", id, "/unpause", CALL_TIMEOUT_MSEC, cb, userdata);
}

/* The HTTP timeout is timeout_sec plus a margin, so the engine's own kill happens first. */
static int docker_stop(Engine *e, const char *id, unsigned timeout_sec, EngineCallback cb, void *userdata)
{
	char suffix[32];

	snprintf(suffix, sizeof(suffix), "/stop?t=%u", timeout_sec);
	return id_call(e, CALL_PLAIN, "POST", id, suffix, timeout_sec * 1000ULL + STOP_MARGIN_MSEC, cb, userdata);
}

static int docker_remove(Engine *e, const char *id, bool force, EngineCallback cb, void *userdata)
{
	return id_call(e, CALL_PLAIN, "DELETE", id, force ? "?force=1" : "", CALL_TIMEOUT_MSEC, cb, userdata);
}

static int docker_inspect(Engine *e, const char *id, EngineCallback cb, void *userdata)
{
	return id_call(e, CALL_INSPECT, "GET", id, "/json", CALL_TIMEOUT_MSEC, cb, userdata);
}

/* filters={"label":["<label>"]} plus an optional type, URL-escaped. */
static char *label_filter(const char *label, const char *type)
{
	char json[512];
	int n;

	if (type)
		n = snprintf(json, sizeof(json), "{\"type\":[\"%s\"],\"label\":[\"%s\"]}", type, label);
	else
		n = snprintf(json, sizeof(json), "{\"label\":[\"%s\"]}", label);
	if (n < 0 || (size_t)n >= sizeof(json) || strpbrk(label, "\"\\"))
		return NULL;
	return curl_easy_escape(NULL, json, 0);
}

/* GET /containers/json?all=1 filtered by one label ("key=value"). */
static int docker_list(Engine *e, const char *label, size_t expect, EngineCallback cb, void *userdata)
{
	_cleanup_free_ char *filter = label_filter(label, NULL);
	size_t limit = LIST_MIN_RESPONSE;
	char path[1024];

	if (!filter)
		return -EINVAL;
	/* The limit follows what the caller may own, so that a node of any capacity can sync. */
	if (expect < SIZE_MAX / 2 / LIST_ENTRY_MAX)
		limit = MAX(limit, expect * LIST_ENTRY_MAX);
	snprintf(path, sizeof(path), "/containers/json?all=1&filters=%s", filter);
	return simple_call(docker_of(e), CALL_LIST, "GET", path, NULL, CALL_TIMEOUT_MSEC, limit, cb, userdata);
}

static int docker_image_inspect(Engine *e, const char *image, EngineCallback cb, void *userdata)
{
	_cleanup_free_ char *path = NULL;
	int r;

	r = docker_image_path(image, "/json", &path);
	if (r < 0)
		return r;
	return simple_call(docker_of(e), CALL_PLAIN, "GET", path, NULL, CALL_TIMEOUT_MSEC, 0, cb, userdata);
}

static int pull_line(HttpRequest *req, const char *line, size_t len, void *userdata)
{
	Call *c = userdata;
	_cleanup_(cJSON_Deletep) cJSON *j = cJSON_Parse(line);
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");

	if (!e) /* a refused pull answers with the usual {"message": ...} */
		e = cJSON_GetObjectItemCaseSensitive(j, "message");

	if (cJSON_IsString(e) && !c->stream_error)
		c->stream_error = strdup(e->valuestring);
	return 0;
}

/* POST /images/create; the reply's error reflects an error reported inside the progress stream too. */
static int docker_pull(Engine *e, const char *image, EngineCallback cb, void *userdata)
{
	_cleanup_free_ char *name = strdup(image), *ename = NULL, *etag = NULL;
	const char *tag = "latest";
	char path[2048], *slash, *colon;
	Call *c;

	if (!name)
		return -ENOMEM;
	slash = strrchr(name, '/');
	colon = strrchr(slash ? slash : name, ':');
	if (colon && !strchr(name, '@')) {
		*colon = 0;
		tag = colon + 1;
	}
	ename = curl_easy_escape(NULL, name, 0);
	etag = curl_easy_escape(NULL, tag, 0);
	if (!ename || !etag)
		return -ENOMEM;
	if (strchr(name, '@'))
		snprintf(path, sizeof(path), "/images/create?fromImage=%s", ename);
	else
		snprintf(path, sizeof(path), "/images/create?fromImage=%s&tag=%s", ename, etag);
	c = call_new(docker_of(e), CALL_PLAIN, cb, userdata);
	if (!c)
		return -ENOMEM;
	return call_start(docker_of(e), "POST", path, NULL, PULL_TIMEOUT_MSEC, 0, pull_line, c, NULL);
}

/* Undecodable events are dropped: the next resync corrects what they would have told. */
static int event_line(HttpRequest *req, const char *line, size_t len, void *userdata)
{
	_cleanup_(cJSON_Deletep) cJSON *j = cJSON_ParseWithLength(line, len);
	Call *c = userdata;
	DockerEvent ev;

	if (j && c->on_event && docker_json_parse_event(j, &ev) >= 0)
		c->on_event(&ev, c->userdata);
	return 0;
}

static int docker_events(Engine *e, const char *label, EngineEventFn on_event, EngineCallback done, void *userdata,
                         EngineStream **ret)
{
	_cleanup_free_ char *filter = label_filter(label, "container");
	HttpRequest *req = NULL;
	char path[1024];
	Call *c;
	int r;

	if (!filter)
		return -EINVAL;
	snprintf(path, sizeof(path), "/events?filters=%s", filter);
	c = call_new(docker_of(e), CALL_PLAIN, done, userdata);
	if (!c)
		return -ENOMEM;
	c->on_event = on_event;
	r = call_start(docker_of(e), "GET", path, NULL, 0, 0, event_line, c, &req);
	if (r < 0)
		return r;
	*ret = (EngineStream *)req;
	return 0;
}

static void docker_stream_cancel(Engine *e, EngineStream *s)
{
	http_request_cancel((HttpRequest *)s);
}

static const EngineOps docker_ops = {
        .free = docker_free,
        .address = docker_address,
        .api_version = docker_api_version,
        .ping = docker_ping,
        .create = docker_create,
        .start = docker_start,
        .stop = docker_stop,
        .pause = docker_pause,
        .unpause = docker_unpause,
        .remove = docker_remove,
        .inspect = docker_inspect,
        .list = docker_list,
        .image_inspect = docker_image_inspect,
        .pull = docker_pull,
        .events = docker_events,
        .stream_cancel = docker_stream_cancel,
};

int docker_engine_new(Engine **ret, sd_event *event, const char *socket_path)
{
	_cleanup_(engine_freep) Engine *e = NULL;
	Docker *d;
	int r;

	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->engine.ops = &docker_ops;
	e = &d->engine;
	d->event = sd_event_ref(event);
	d->socket_path = strdup(socket_path);
	if (!d->socket_path)
		return -ENOMEM;
	r = http_client_new(&d->http, event);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(e);
	return 0;
}
