// SPDX-License-Identifier: Apache-2.0
/* libcurl's multi interface glued into sd-event, after systemd's curl-util.c (CurlGlue): ONE glue per event loop,
 * shared by every HttpClient on it (the engine, etcd, the http demand source). The socket callback keeps one IO
 * source per curl socket, the timer callback arms one one-shot timer. Nothing is ever called back from inside a
 * curl callback: stream data is queued in on_write and finished transfers collected after each action, and
 * both are delivered from one deferred event source, holding a reference on the request (and on the glue) across
 * each callback, so that a callback may cancel any request or free any client. It must never block. */
#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "force12/http-client.h"
#include "force12/list.h"
#include "force12/log.h"

#define DEFAULT_MAX_RESPONSE (4u * 1024 * 1024)
#define STREAM_BACKLOG_MAX   (4u * 1024 * 1024) /* chunks received but not yet delivered */
#define DEFAULT_MAX_LINE     (1024u * 1024)

typedef struct CurlGlue CurlGlue;

struct HttpRequest {
	unsigned n_ref;
	HttpClient *client; /* NULL once cancelled or done */
	CURL *easy;
	struct curl_slist *headers;
	char *body; /* the whole answer, or (streams) what is not yet delivered */
	size_t len, max;
	size_t size; /* what body has room for (len + 1 at least): it grows by doubling, not by each chunk */
	HttpLineFn on_line;
	size_t max_line;
	HttpDoneFn done;
	void (*destroy)(void *userdata);
	void *userdata;
	int chunk_error;
	bool finished, queued;
	int error; /* once finished */
	long status;
	char error_text[CURL_ERROR_SIZE];
	LIST_FIELDS(HttpRequest, requests); /* the client's */
	LIST_FIELDS(HttpRequest, pending);  /* the glue's: something to deliver */
};

struct CurlGlue {
	unsigned n_ref;
	sd_event *event;
	CURLM *multi;
	sd_event_source *timer, *defer;
	HttpRequest *pending;
	LIST_FIELDS(CurlGlue, glues);
};

struct HttpClient {
	CurlGlue *glue;
	HttpRequest *requests;
	unsigned n_requests;
};

/* Every glue of the process, one per event loop. */
static CurlGlue *glues;

static CurlGlue *glue_unref(CurlGlue *g);

static CurlGlue *glue_ref(CurlGlue *g)
{
	g->n_ref++;
	return g;
}

static HttpRequest *request_ref(HttpRequest *r)
{
	r->n_ref++;
	return r;
}

static void request_unref(HttpRequest *r)
{
	if (!r || --r->n_ref > 0)
		return;
	if (r->easy)
		curl_easy_cleanup(r->easy);
	curl_slist_free_all(r->headers);
	free(r->body);
	free(r);
}

static void glue_schedule(CurlGlue *g, HttpRequest *r)
{
	if (!r->queued) {
		r->queued = true;
		LIST_PREPEND(pending, g->pending, r);
	}
	(void)sd_event_source_set_enabled(g->defer, SD_EVENT_ONESHOT);
}

/* Takes r out of its client and out of curl; calls destroy (unless done took the userdata over). */
static void request_detach(HttpRequest *r)
{
	HttpClient *c = r->client;
	CurlGlue *g;

	if (!c)
		return;
	g = c->glue;
	if (r->easy && !r->finished)
		curl_multi_remove_handle(g->multi, r->easy);
	if (r->queued) {
		LIST_REMOVE(pending, g->pending, r);
		r->queued = false;
	}
	LIST_REMOVE(requests, c->requests, r);
	c->n_requests--;
	r->client = NULL;
	if (r->destroy)
		r->destroy(r->userdata);
	r->destroy = NULL;
	request_unref(r); /* the client's reference */
}

static int map_curl_error(HttpRequest *r, CURLcode code)
{
	switch (code) {
	case CURLE_OK:
		return 0;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
		return -ECONNREFUSED;
	case CURLE_GOT_NOTHING:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_PARTIAL_FILE:
		return -ECONNRESET;
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_UNSUPPORTED_PROTOCOL:
		return -EPROTO;
	case CURLE_WRITE_ERROR:
		return r->chunk_error ? -ECANCELED : -EMSGSIZE;
	default:
		return -EIO;
	}
}

/* Called after every curl action: finished transfers leave curl now and are delivered later. */
static void glue_collect_finished(CurlGlue *g)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(g->multi, &left))) {
		HttpRequest *r;

		if (msg->msg != CURLMSG_DONE)
			continue;
		if (curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r) != CURLE_OK || !r)
			continue;
		r->error = map_curl_error(r, msg->data.result);
		if (r->error == 0)
			curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &r->status);
		curl_multi_remove_handle(g->multi, r->easy);
		r->finished = true;
		glue_schedule(g, r);
	}
}

/* Stops a stream the consumer wants no more of (error < 0), as curl would for a failed write. */
static void request_stop(HttpRequest *r, int error)
{
	r->chunk_error = error;
	if (r->finished)
		return;
	curl_multi_remove_handle(r->client->glue->multi, r->easy);
	r->finished = true;
	r->error = error;
}

/* Hands every complete line received so far to on_line and keeps the unfinished one. */
static void request_dispatch_lines(HttpRequest *r)
{
	size_t done = 0;
	char *nl;

	while (r->chunk_error == 0 && (nl = memchr(r->body + done, '\n', r->len - done))) {
		size_t n = (size_t)(nl - (r->body + done));
		int k = 0;

		*nl = 0;
		if (n > r->max_line)
			k = -EMSGSIZE;
		else if (n > 0)
			k = r->on_line(r, r->body + done, n, r->userdata);
		if (!r->client)
			return; /* cancelled by the callback */
		done += n + 1;
		if (k < 0)
			request_stop(r, k == -EMSGSIZE ? k : -ECANCELED);
	}
	memmove(r->body, r->body + done, r->len - done);
	r->len -= done;
	if (r->chunk_error == 0 && r->len > r->max_line)
		request_stop(r, -EMSGSIZE);
}

/* Delivers what r has: the lines received so far, then (once finished) done. */
static void request_dispatch(HttpRequest *r)
{
	if (r->on_line && r->len > 0)
		request_dispatch_lines(r);
	if (!r->client)
		return; /* cancelled by a callback */
	bool stream = r->on_line;

	if (!r->finished)
		return;
	r->destroy = NULL; /* done takes the userdata over */
	if (r->done)
		r->done(r, r->error, r->status, stream ? "" : (r->body ?: ""), stream ? 0 : r->len, r->userdata);
	request_detach(r);
}

static int on_defer(sd_event_source *s, void *userdata)
{
	CurlGlue *g = glue_ref(userdata);

	/* Each round takes the queue as it is: what a callback queues anew waits for the next round. */
	while (g->pending) {
		HttpRequest *r = request_ref(g->pending);

		LIST_REMOVE(pending, g->pending, r);
		r->queued = false;
		if (r->client)
			request_dispatch(r);
		request_unref(r);
	}
	glue_unref(g);
	return 0;
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	CurlGlue *g = userdata;
	int action = 0, running;

	if (revents & (EPOLLIN | EPOLLPRI | EPOLLHUP))
		action |= CURL_CSELECT_IN;
	if (revents & EPOLLOUT)
		action |= CURL_CSELECT_OUT;
	if (revents & EPOLLERR)
		action |= CURL_CSELECT_ERR;

	if (curl_multi_socket_action(g->multi, fd, action, &running) != CURLM_OK)
		log_debug("curl_multi_socket_action() failed, ignoring");
	glue_collect_finished(g);
	return 0;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	CurlGlue *g = userdata;
	int running;

	if (curl_multi_socket_action(g->multi, CURL_SOCKET_TIMEOUT, 0, &running) != CURLM_OK)
		log_debug("curl_multi_socket_action() on timeout failed, ignoring");
	glue_collect_finished(g);
	return 0;
}

static int curl_socket_cb(CURL *easy, curl_socket_t fd, int what, void *userdata, void *socketp)
{
	CurlGlue *g = userdata;
	sd_event_source *io = socketp;
	uint32_t events = 0;

	if (what == CURL_POLL_REMOVE) {
		if (io) {
			sd_event_source_disable_unref(io);
			curl_multi_assign(g->multi, fd, NULL);
		}
		return 0;
	}
	if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
		events |= EPOLLIN;
	if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
		events |= EPOLLOUT;

	if (io) {
		if (sd_event_source_set_io_events(io, events) < 0 || sd_event_source_set_enabled(io, SD_EVENT_ON) < 0)
			return -1;
		return 0;
	}
	if (sd_event_add_io(g->event, &io, fd, events, on_io, g) < 0)
		return -1;
	(void)sd_event_source_set_description(io, "curl-io");
	if (curl_multi_assign(g->multi, fd, io) != CURLM_OK) {
		sd_event_source_disable_unref(io);
		return -1;
	}
	return 0;
}

static int curl_timer_cb(CURLM *multi, long timeout_ms, void *userdata)
{
	CurlGlue *g = userdata;
	uint64_t usec;

	if (timeout_ms < 0)
		return sd_event_source_set_enabled(g->timer, SD_EVENT_OFF) < 0 ? -1 : 0;
	if (sd_event_now(g->event, CLOCK_MONOTONIC, &usec) < 0)
		return -1;
	usec += (uint64_t)timeout_ms * 1000;
	if (sd_event_source_set_time(g->timer, usec) < 0 || sd_event_source_set_enabled(g->timer, SD_EVENT_ONESHOT) < 0)
		return -1;
	return 0;
}

static CurlGlue *glue_unref(CurlGlue *g)
{
	if (!g || --g->n_ref > 0)
		return NULL;
	LIST_REMOVE(glues, glues, g);
	if (g->multi)
		curl_multi_cleanup(g->multi);
	sd_event_source_disable_unref(g->timer);
	sd_event_source_disable_unref(g->defer);
	sd_event_unref(g->event);
	free(g);
	return NULL;
}

static int glue_new(CurlGlue **ret, sd_event *event)
{
	CurlGlue *g = calloc(1, sizeof(*g));
	int r;

	if (!g)
		return -ENOMEM;
	g->n_ref = 1;
	g->event = sd_event_ref(event);
	LIST_PREPEND(glues, glues, g);
	g->multi = curl_multi_init();
	if (!g->multi) {
		glue_unref(g);
		return -ENOMEM;
	}
	/* Accuracy 1 us: 0 would mean sd-event's default of 250 ms, and curl's "now" timeouts would wait that long. */
	r = sd_event_add_time(event, &g->timer, CLOCK_MONOTONIC, UINT64_MAX, 1, on_timer, g);
	if (r >= 0)
		r = sd_event_add_defer(event, &g->defer, on_defer, g);
	if (r < 0) {
		glue_unref(g);
		return r;
	}
	(void)sd_event_source_set_enabled(g->timer, SD_EVENT_OFF);
	(void)sd_event_source_set_description(g->timer, "curl-timer");
	(void)sd_event_source_set_enabled(g->defer, SD_EVENT_OFF);
	(void)sd_event_source_set_description(g->defer, "curl-deliver");
	if (curl_multi_setopt(g->multi, CURLMOPT_SOCKETFUNCTION, curl_socket_cb) != CURLM_OK ||
	    curl_multi_setopt(g->multi, CURLMOPT_SOCKETDATA, g) != CURLM_OK ||
	    curl_multi_setopt(g->multi, CURLMOPT_TIMERFUNCTION, curl_timer_cb) != CURLM_OK ||
	    curl_multi_setopt(g->multi, CURLMOPT_TIMERDATA, g) != CURLM_OK ||
	    curl_multi_setopt(g->multi, CURLMOPT_MAXCONNECTS, 16L) != CURLM_OK) {
		glue_unref(g);
		return -EIO;
	}
	*ret = g;
	return 0;
}

/* The glue of this event loop, made on first use. */
static int glue_get(sd_event *event, CurlGlue **ret)
{
	CurlGlue *g;

	LIST_FOREACH(glues, g, glues)
	if (g->event == event) {
		*ret = glue_ref(g);
		return 0;
	}
	return glue_new(ret, event);
}

int http_client_new(HttpClient **ret, sd_event *event)
{
	HttpClient *c = calloc(1, sizeof(*c));
	int r;

	if (!c)
		return -ENOMEM;
	r = glue_get(event, &c->glue);
	if (r < 0) {
		free(c);
		return r;
	}
	*ret = c;
	return 0;
}

HttpClient *http_client_free(HttpClient *c)
{
	if (!c)
		return NULL;
	while (c->requests)
		request_detach(c->requests);
	glue_unref(c->glue);
	free(c);
	return NULL;
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *userdata)
{
	HttpRequest *r = userdata;
	bool stream = r->on_line;
	size_t n = size * nmemb, limit = stream ? STREAM_BACKLOG_MAX : r->max;

	if (n > limit - r->len)
		return 0; /* over the limit: CURLE_WRITE_ERROR */
	if (r->len + n + 1 > r->size) {
		size_t want = MAX(r->len + n + 1, MIN(MAX(r->size * 2, (size_t)16384), limit + 1));
		char *b = realloc(r->body, want);
		if (!b)
			return 0;
		r->body = b;
		r->size = want;
	}
	memcpy(r->body + r->len, data, n);
	r->len += n;
	r->body[r->len] = 0;
	if (stream && r->client)
		glue_schedule(r->client->glue, r); /* delivered from the loop, never from here */
	return n;
}

static int request_setup(HttpRequest *r, const HttpRequestSpec *spec)
{
	CURL *e = r->easy;
	bool ok = true;

	for (const char *const *h = spec->headers; h && *h; h++) {
		struct curl_slist *l = curl_slist_append(r->headers, *h);
		if (!l)
			return -ENOMEM;
		r->headers = l;
	}
	if (spec->body) {
		/* An explicit type stops curl from adding its form default; callers may override it. */
		struct curl_slist *l = curl_slist_append(r->headers, "Content-Type: application/json");
		if (!l)
			return -ENOMEM;
		r->headers = l;
	}
	ok = ok && curl_easy_setopt(e, CURLOPT_URL, spec->url) == CURLE_OK;
	ok = ok && curl_easy_setopt(e, CURLOPT_PRIVATE, r) == CURLE_OK;
	ok = ok && curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write) == CURLE_OK;
	ok = ok && curl_easy_setopt(e, CURLOPT_WRITEDATA, r) == CURLE_OK;
	ok = ok && curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->error_text) == CURLE_OK;
	ok = ok && curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) == CURLE_OK;
	ok = ok && curl_easy_setopt(e, CURLOPT_USERAGENT, "force12-agent/" FORCE12_VERSION) == CURLE_OK;
	ok = ok && curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers) == CURLE_OK;
	ok = ok && curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)spec->timeout_msec) == CURLE_OK;
	ok = ok && curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 10000L) == CURLE_OK;
	ok = ok && curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK;
	if (spec->unix_socket)
		ok = ok && curl_easy_setopt(e, CURLOPT_UNIX_SOCKET_PATH, spec->unix_socket) == CURLE_OK;
	if (spec->ca_file)
		ok = ok && curl_easy_setopt(e, CURLOPT_CAINFO, spec->ca_file) == CURLE_OK;
	if (spec->cert_file)
		ok = ok && curl_easy_setopt(e, CURLOPT_SSLCERT, spec->cert_file) == CURLE_OK;
	if (spec->key_file)
		ok = ok && curl_easy_setopt(e, CURLOPT_SSLKEY, spec->key_file) == CURLE_OK;
	if (spec->method)
		ok = ok && curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, spec->method) == CURLE_OK;
	if (spec->body) {
		ok = ok && curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)spec->body_len) == CURLE_OK;
		ok = ok && curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, spec->body) == CURLE_OK;
	} else if (spec->method && (streq(spec->method, "POST") || streq(spec->method, "PUT"))) {
		ok = ok && curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, 0L) == CURLE_OK;
		ok = ok && curl_easy_setopt(e, CURLOPT_POSTFIELDS, "") == CURLE_OK;
	}
	return ok ? 0 : -EINVAL;
}

int http_request_start(HttpClient *c, const HttpRequestSpec *spec, HttpDoneFn done, void *userdata, HttpRequest **ret)
{
	HttpRequest *r;
	int k;

	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->n_ref = 1; /* the client's */
	r->client = c;
	r->done = done;
	r->userdata = userdata;
	r->on_line = spec->on_line;
	r->max_line = spec->max_line ? spec->max_line : DEFAULT_MAX_LINE;
	r->max = spec->max_response ? spec->max_response : DEFAULT_MAX_RESPONSE;
	LIST_PREPEND(requests, c->requests, r);
	c->n_requests++;

	r->easy = curl_easy_init();
	k = r->easy ? request_setup(r, spec) : -ENOMEM;
	if (k < 0 || curl_multi_add_handle(c->glue->multi, r->easy) != CURLM_OK) {
		r->finished = true; /* never added */
		request_detach(r);
		return k < 0 ? k : -EIO;
	}
	r->destroy =
	        spec->destroy; /* from here on the request owns the userdata; failures above leave it to the caller */
	if (ret)
		*ret = r;
	return 0;
}

void http_request_cancel(HttpRequest *r)
{
	if (r)
		request_detach(r);
}

const char *http_request_header(HttpRequest *r, const char *name)
{
	struct curl_header *h;

	if (curl_easy_header(r->easy, name, 0, CURLH_HEADER, -1, &h) != CURLHE_OK)
		return NULL;
	return h->value;
}

char *http_request_steal_body(HttpRequest *r, size_t *ret_len)
{
	if (r->on_line || !r->body)
		return NULL;
	*ret_len = r->len;
	r->len = r->size = 0;
	return TAKE_PTR(r->body);
}

const char *http_request_error_text(HttpRequest *r)
{
	return r->error_text[0] ? r->error_text : "no answer";
}

unsigned http_client_in_flight(HttpClient *c)
{
	return c->n_requests;
}
