/* libcurl multi glued into sd-event, the way systemd's curl-util does it: the socket callback keeps one IO source
 * per curl socket, the timer callback arms one one-shot timer, finished transfers are drained after every action.
 * It must never block and never call back into the caller from inside a curl callback. */
#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "force12/http-client.h"
#include "force12/log.h"

#define DEFAULT_MAX_RESPONSE (4u * 1024 * 1024)

struct HttpRequest {
	HttpClient *client;
	CURL *easy;
	struct curl_slist *headers;
	char *body;
	size_t len, max;
	HttpChunkFn on_chunk;
	HttpDoneFn done;
	void (*destroy)(void *userdata);
	void *userdata;
	int chunk_error;
	char error[CURL_ERROR_SIZE];
	HttpRequest *prev, *next;
};

struct HttpClient {
	sd_event *event;
	CURLM *multi;
	sd_event_source *timer;
	HttpRequest *requests;
	unsigned n_requests;
};

static void request_unlink(HttpRequest *r)
{
	HttpClient *c = r->client;

	if (r->prev)
		r->prev->next = r->next;
	else
		c->requests = r->next;
	if (r->next)
		r->next->prev = r->prev;
	c->n_requests--;
}

static void request_free(HttpRequest *r)
{
	if (!r)
		return;
	if (r->easy) {
		curl_multi_remove_handle(r->client->multi, r->easy);
		curl_easy_cleanup(r->easy);
	}
	request_unlink(r);
	if (r->destroy)
		r->destroy(r->userdata);
	curl_slist_free_all(r->headers);
	free(r->body);
	free(r);
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

static void drain_finished(HttpClient *c)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(c->multi, &left))) {
		HttpRequest *r;
		long status = 0;

		if (msg->msg != CURLMSG_DONE)
			continue;
		if (curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r) != CURLE_OK || !r)
			continue;
		int error = map_curl_error(r, msg->data.result);
		if (error == 0)
			curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
		r->destroy = NULL; /* done takes the userdata over */
		if (r->done)
			r->done(r, error, status, r->body ? r->body : "", r->len, r->userdata);
		request_free(r);
	}
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	HttpClient *c = userdata;
	int action = 0, running;

	if (revents & (EPOLLIN | EPOLLPRI | EPOLLHUP))
		action |= CURL_CSELECT_IN;
	if (revents & EPOLLOUT)
		action |= CURL_CSELECT_OUT;
	if (revents & EPOLLERR)
		action |= CURL_CSELECT_ERR;

	if (curl_multi_socket_action(c->multi, fd, action, &running) != CURLM_OK)
		log_debug("curl_multi_socket_action() failed, ignoring");
	drain_finished(c);
	return 0;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	HttpClient *c = userdata;
	int running;

	if (curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running) != CURLM_OK)
		log_debug("curl_multi_socket_action() on timeout failed, ignoring");
	drain_finished(c);
	return 0;
}

static int curl_socket_cb(CURL *easy, curl_socket_t fd, int what, void *userdata, void *socketp)
{
	HttpClient *c = userdata;
	sd_event_source *io = socketp;
	uint32_t events = 0;

	if (what == CURL_POLL_REMOVE) {
		if (io) {
			sd_event_source_disable_unref(io);
			curl_multi_assign(c->multi, fd, NULL);
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
	if (sd_event_add_io(c->event, &io, fd, events, on_io, c) < 0)
		return -1;
	(void)sd_event_source_set_description(io, "curl-io");
	if (curl_multi_assign(c->multi, fd, io) != CURLM_OK) {
		sd_event_source_disable_unref(io);
		return -1;
	}
	return 0;
}

static int curl_timer_cb(CURLM *multi, long timeout_ms, void *userdata)
{
	HttpClient *c = userdata;
	uint64_t usec;

	if (timeout_ms < 0)
		return sd_event_source_set_enabled(c->timer, SD_EVENT_OFF) < 0 ? -1 : 0;
	if (sd_event_now(c->event, CLOCK_MONOTONIC, &usec) < 0)
		return -1;
	usec += (uint64_t)timeout_ms * 1000;
	if (sd_event_source_set_time(c->timer, usec) < 0 || sd_event_source_set_enabled(c->timer, SD_EVENT_ONESHOT) < 0)
		return -1;
	return 0;
}

int http_client_new(HttpClient **ret, sd_event *event)
{
	_cleanup_(http_client_freep) HttpClient *c = NULL;
	int r;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->event = sd_event_ref(event);
	c->multi = curl_multi_init();
	if (!c->multi)
		return -ENOMEM;
	/* Accuracy 1 us: 0 would mean sd-event's default of 250 ms, and curl's "now" timeouts would wait that long. */
	r = sd_event_add_time(event, &c->timer, CLOCK_MONOTONIC, UINT64_MAX, 1, on_timer, c);
	if (r < 0)
		return r;
	(void)sd_event_source_set_enabled(c->timer, SD_EVENT_OFF);
	(void)sd_event_source_set_description(c->timer, "curl-timer");

	if (curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, curl_socket_cb) != CURLM_OK ||
	    curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c) != CURLM_OK ||
	    curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, curl_timer_cb) != CURLM_OK ||
	    curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c) != CURLM_OK ||
	    curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, 16L) != CURLM_OK)
		return -EIO;

	*ret = TAKE_PTR(c);
	return 0;
}

HttpClient *http_client_free(HttpClient *c)
{
	if (!c)
		return NULL;
	while (c->requests)
		request_free(c->requests);
	if (c->multi)
		curl_multi_cleanup(c->multi);
	sd_event_source_disable_unref(c->timer);
	sd_event_unref(c->event);
	free(c);
	return NULL;
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *userdata)
{
	HttpRequest *r = userdata;
	size_t n = size * nmemb;

	if (r->on_chunk) {
		r->chunk_error = r->on_chunk(r, data, n, r->userdata);
		return r->chunk_error < 0 ? 0 : n;
	}
	if (n > r->max - r->len)
		return 0; /* over the limit: CURLE_WRITE_ERROR */
	char *b = realloc(r->body, r->len + n + 1);
	if (!b)
		return 0;
	memcpy(b + r->len, data, n);
	r->len += n;
	b[r->len] = 0;
	r->body = b;
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
	ok = ok && curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->error) == CURLE_OK;
	ok = ok && curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) == CURLE_OK;
	ok = ok && curl_easy_setopt(e, CURLOPT_USERAGENT, "force12-agent/" FORCE12_VERSION) == CURLE_OK;
	ok = ok && curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers) == CURLE_OK;
	ok = ok && curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)spec->timeout_msec) == CURLE_OK;
	ok = ok && curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 10000L) == CURLE_OK;
	ok = ok && curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK;
	if (spec->unix_socket)
		ok = ok && curl_easy_setopt(e, CURLOPT_UNIX_SOCKET_PATH, spec->unix_socket) == CURLE_OK;
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
	r->client = c;
	r->done = done;
	r->userdata = userdata;
	r->on_chunk = spec->on_chunk;
	r->max = spec->max_response ? spec->max_response : DEFAULT_MAX_RESPONSE;
	r->next = c->requests;
	if (c->requests)
		c->requests->prev = r;
	c->requests = r;
	c->n_requests++;

	r->easy = curl_easy_init();
	if (!r->easy) {
		request_free(r);
		return -ENOMEM;
	}
	k = request_setup(r, spec);
	if (k < 0 || curl_multi_add_handle(c->multi, r->easy) != CURLM_OK) {
		curl_easy_cleanup(TAKE_PTR(r->easy));
		request_free(r);
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
	request_free(r);
}

const char *http_request_header(HttpRequest *r, const char *name)
{
	struct curl_header *h;

	if (curl_easy_header(r->easy, name, 0, CURLH_HEADER, -1, &h) != CURLHE_OK)
		return NULL;
	return h->value;
}

const char *http_request_error_text(HttpRequest *r)
{
	return r->error[0] ? r->error : "no answer";
}

unsigned http_client_in_flight(HttpClient *c)
{
	return c->n_requests;
}
