/* Docker Engine client over the unix socket. Builds URLs, maps the engine's statuses to errors and decodes
 * JSON bodies; the rest (apps, plans, retries) belongs to the caller. Never blocks: every call is queued on
 * the shared curl multi and answered from the event loop. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "force12/docker-json.h"
#include "force12/docker.h"
#include "force12/json.h"

#define CALL_TIMEOUT_MSEC (30 * 1000ULL)
#define STOP_MARGIN_MSEC  (30 * 1000ULL)
#define PULL_TIMEOUT_MSEC (15 * 60 * 1000ULL)
#define LIST_MAX_RESPONSE (32u * 1024 * 1024)
#define STREAM_LINE_MAX   (1024u * 1024)

struct Docker {
	sd_event *event;
	HttpClient *http;
	char *socket_path;
	char api_version[16];
};

typedef struct Call {
	Docker *docker;
	DockerCallback cb;
	DockerEventFn on_event;
	void *userdata;
	char *line; /* a stream's unfinished line */
	size_t line_len;
	char *stream_error; /* pull: an error reported inside the progress stream */
	bool overlong;
} Call;

static void call_free(Call *c)
{
	if (!c)
		return;
	free(c->line);
	free(c->stream_error);
	free(c);
}

static void call_destroy(void *userdata)
{
	call_free(userdata);
}

int docker_new(Docker **ret, sd_event *event, const char *socket_path)
{
	_cleanup_(docker_freep) Docker *d = NULL;
	int r;

	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->event = sd_event_ref(event);
	d->socket_path = strdup(socket_path);
	if (!d->socket_path)
		return -ENOMEM;
	r = http_client_new(&d->http, event);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(d);
	return 0;
}

Docker *docker_free(Docker *d)
{
	if (!d)
		return NULL;
	/* Cancelled requests free their Call through call_destroy, never calling back. */
	http_client_free(d->http);
	sd_event_unref(d->event);
	free(d->socket_path);
	free(d);
	return NULL;
}

const char *docker_socket_path(const Docker *d)
{
	return d->socket_path;
}

const char *docker_api_version(const Docker *d)
{
	return d->api_version[0] ? d->api_version : NULL;
}

bool docker_error_is_unreachable(int error)
{
	return error == -ECONNREFUSED || error == -ECONNRESET || error == -ETIMEDOUT || error == -EPROTO;
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
		if (len > 0 && is_json)
			json = cJSON_ParseWithLength(body, len);
		const cJSON *m = cJSON_GetObjectItemCaseSensitive(json, "message");
		if (cJSON_IsString(m))
			message = m->valuestring;
		if (c->stream_error && (error == 0 || !message[0])) {
			error = error ?: -EIO;
			message = c->stream_error;
		}
		if (error == 0 && is_json && len > 0 && !json)
			error = -EPROTO, message = "malformed JSON in the engine's answer";
	}
	if (error == 0 && status == 200 && req && !c->docker->api_version[0]) {
		const char *v = http_request_header(req, "Api-Version");
		if (v)
			snprintf(c->docker->api_version, sizeof(c->docker->api_version), "%s", v);
	}

	DockerReply reply = {.error = error, .status = status, .message = message, .json = json, .request = req};
	if (c->cb)
		c->cb(&reply, c->userdata);
	call_free(c);
}

static int call_start(Docker *d, const char *method, const char *path, const char *body, uint64_t timeout_msec,
                      size_t max_response, HttpChunkFn on_chunk, Call *c, HttpRequest **ret)
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
	        .on_chunk = on_chunk,
	        .destroy = call_destroy,
	};
	r = http_request_start(d->http, &spec, on_done, c, ret);
	if (r < 0)
		call_free(c);
	return r;
}

static Call *call_new(Docker *d, DockerCallback cb, void *userdata)
{
	Call *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->docker = d;
	c->cb = cb;
	c->userdata = userdata;
	return c;
}

static int simple_call(Docker *d, const char *method, const char *path, const char *body, uint64_t timeout_msec,
                       DockerCallback cb, void *userdata)
{
	Call *c = call_new(d, cb, userdata);
	if (!c)
		return -ENOMEM;
	return call_start(d, method, path, body, timeout_msec, 0, NULL, c, NULL);
}

int docker_ping(Docker *d, DockerCallback cb, void *userdata)
{
	Call *c = call_new(d, cb, userdata);
	if (!c)
		return -ENOMEM;
	d->api_version[0] = 0; /* negotiate anew: the engine may have been upgraded */
	return call_start(d, "GET", "/_ping", NULL, CALL_TIMEOUT_MSEC, 4096, NULL, c, NULL);
}

int docker_create(Docker *d, const char *name, const char *body, DockerCallback cb, void *userdata)
{
	_cleanup_free_ char *escaped = curl_easy_escape(NULL, name, 0);
	char path[512];

	if (!escaped)
		return -ENOMEM;
	snprintf(path, sizeof(path), "/containers/create?name=%s", escaped);
	return simple_call(d, "POST", path, body, CALL_TIMEOUT_MSEC, cb, userdata);
}

static int id_call(Docker *d, const char *method, const char *id, const char *suffix, uint64_t timeout_msec,
                   DockerCallback cb, void *userdata)
{
	char path[256];

	if (!docker_id_is_valid(id))
		return -EINVAL;
	snprintf(path, sizeof(path), "/containers/%s%s", id, suffix);
	return simple_call(d, method, path, NULL, timeout_msec, cb, userdata);
}

int docker_start(Docker *d, const char *id, DockerCallback cb, void *userdata)
{
	return id_call(d, "POST", id, "/start", CALL_TIMEOUT_MSEC, cb, userdata);
}

int docker_pause(Docker *d, const char *id, DockerCallback cb, void *userdata)
{
	return id_call(d, "POST", id, "/pause", CALL_TIMEOUT_MSEC, cb, userdata);
}

int docker_unpause(Docker *d, const char *id, DockerCallback cb, void *userdata)
{
	return id_call(d, "POST", id, "/unpause", CALL_TIMEOUT_MSEC, cb, userdata);
}

int docker_stop(Docker *d, const char *id, unsigned timeout_sec, DockerCallback cb, void *userdata)
{
	char suffix[32];

	snprintf(suffix, sizeof(suffix), "/stop?t=%u", timeout_sec);
	return id_call(d, "POST", id, suffix, timeout_sec * 1000ULL + STOP_MARGIN_MSEC, cb, userdata);
}

int docker_remove(Docker *d, const char *id, bool force, DockerCallback cb, void *userdata)
{
	return id_call(d, "DELETE", id, force ? "?force=1" : "", CALL_TIMEOUT_MSEC, cb, userdata);
}

int docker_inspect(Docker *d, const char *id, DockerCallback cb, void *userdata)
{
	return id_call(d, "GET", id, "/json", CALL_TIMEOUT_MSEC, cb, userdata);
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

int docker_list(Docker *d, const char *label, DockerCallback cb, void *userdata)
{
	_cleanup_free_ char *filter = label_filter(label, NULL);
	char path[1024];
	Call *c;

	if (!filter)
		return -EINVAL;
	snprintf(path, sizeof(path), "/containers/json?all=1&filters=%s", filter);
	c = call_new(d, cb, userdata);
	if (!c)
		return -ENOMEM;
	return call_start(d, "GET", path, NULL, CALL_TIMEOUT_MSEC, LIST_MAX_RESPONSE, NULL, c, NULL);
}

int docker_image_inspect(Docker *d, const char *image, DockerCallback cb, void *userdata)
{
	char path[1024];

	if (strlen(image) > 512 || strpbrk(image, "?#% \t\r\n"))
		return -EINVAL;
	snprintf(path, sizeof(path), "/images/%s/json", image);
	return simple_call(d, "GET", path, NULL, CALL_TIMEOUT_MSEC, cb, userdata);
}

/* Splits the stream into lines and hands each complete one to handle_line. */
static int stream_feed(Call *c, const char *data, size_t len, void (*handle_line)(Call *c, const char *line))
{
	for (size_t i = 0; i < len; i++) {
		if (data[i] != '\n') {
			if (c->line_len >= STREAM_LINE_MAX) {
				c->overlong = true;
				continue;
			}
			if (!c->line || c->line_len % 256 == 0) {
				char *l = realloc(c->line, c->line_len + 257);
				if (!l)
					return -ENOMEM;
				c->line = l;
			}
			c->line[c->line_len++] = data[i];
			continue;
		}
		if (c->line_len > 0 && !c->overlong) {
			c->line[c->line_len] = 0;
			handle_line(c, c->line);
		}
		c->line_len = 0;
		c->overlong = false;
	}
	return 0;
}

static void pull_line(Call *c, const char *line)
{
	_cleanup_(cJSON_Deletep) cJSON *j = cJSON_Parse(line);
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");

	if (!e) /* a refused pull answers with the usual {"message": ...} */
		e = cJSON_GetObjectItemCaseSensitive(j, "message");

	if (cJSON_IsString(e) && !c->stream_error)
		c->stream_error = strdup(e->valuestring);
}

static int pull_chunk(HttpRequest *req, const char *data, size_t len, void *userdata)
{
	return stream_feed(userdata, data, len, pull_line);
}

int docker_pull(Docker *d, const char *image, DockerCallback cb, void *userdata)
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
	c = call_new(d, cb, userdata);
	if (!c)
		return -ENOMEM;
	return call_start(d, "POST", path, NULL, PULL_TIMEOUT_MSEC, 0, pull_chunk, c, NULL);
}

static void event_line(Call *c, const char *line)
{
	_cleanup_(cJSON_Deletep) cJSON *j = cJSON_Parse(line);

	if (j && c->on_event)
		c->on_event(j, c->userdata);
}

static int events_chunk(HttpRequest *req, const char *data, size_t len, void *userdata)
{
	return stream_feed(userdata, data, len, event_line);
}

int docker_events(Docker *d, const char *label, DockerEventFn on_event, DockerCallback done, void *userdata,
                  HttpRequest **ret)
{
	_cleanup_free_ char *filter = label_filter(label, "container");
	char path[1024];
	Call *c;

	if (!filter)
		return -EINVAL;
	snprintf(path, sizeof(path), "/events?filters=%s", filter);
	c = call_new(d, done, userdata);
	if (!c)
		return -ENOMEM;
	c->on_event = on_event;
	return call_start(d, "GET", path, NULL, 0, 0, events_chunk, c, ret);
}
