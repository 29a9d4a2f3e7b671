// SPDX-License-Identifier: Apache-2.0
/* Cluster mode over etcd v3's JSON gateway: lease grant, node registration, one range read, then one streaming
 * watch of /force12/ from the revision after it, and a keepalive every TTL/3. Any failure drops the connection and
 * retries with capped backoff on the next endpoint, resuming the watch from the last revision; the share handed
 * to the agent changes only when the totals or the members do, never because etcd went away. */
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "force12/backoff.h"
#include "force12/cluster.h"
#include "force12/etcd-json.h"
#include "force12/file-util.h"
#include "force12/http-client.h"
#include "force12/json.h"
#include "force12/log.h"
#include "force12/split.h"
#include "force12/targets.h"
#include "force12/time-util.h"

#define STEP_TIMEOUT_MSEC 5000

struct Cluster {
	sd_event *event;
	HttpClient *http;
	const Config *config;
	char *node_id, *node_key;
	unsigned ttl;
	char **endpoints;
	size_t n_endpoints, current;
	/* TLS (PEM files; NULL: the system's CAs, no client certificate) and etcd's user/password auth. */
	char *cacert, *cert, *key;
	char *user, *password;
	char *token;               /* from /v3/auth/authenticate, sent as the Authorization header; NULL: none yet */
	uint64_t token_usec;       /* when it was issued */
	HttpRequest *reauth;       /* a renewal while connected */
	bool keepalive_after_auth; /* the keepalive that found the token expired goes again after the renewal */
	DemandFn fn;
	void *userdata;

	/* What etcd said, as of view.revision. */
	ClusterView view;
	int64_t lease_id;
	unsigned share[CONFIG_MAX_APPS];
	bool have_view, have_share;

	/* The connection. */
	HttpRequest *step, *watch, *keepalive;
	bool rerange; /* the watch was cancelled for a compaction: read again */
	sd_event_source *retry_timer, *keepalive_timer;
	unsigned failures;
	bool reachable;
	char error[256];
	RateLimit log_limit;
};

static void connect_start(Cluster *c);
static int auth_send(Cluster *c, HttpRequest **slot);
static int keepalive_send(Cluster *c, HttpRequest **slot);
static void fail(Cluster *c, const char *fmt, ...) _printf_(2, 3);

/* ---- endpoints ---- */

static bool hostport_is_valid(const char *s, size_t n)
{
	const char *colon = memrchr(s, ':', n);

	if (n == 0 || n > 255 || !colon || colon == s || colon + 1 == s + n || s + n - colon - 1 > 5)
		return false;
	for (const char *p = colon + 1; p < s + n; p++)
		if (*p < '0' || *p > '9')
			return false;
	for (const char *p = s; p < colon; p++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-[]:", *p))
			return false;
	return true;
}

static void strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

int cluster_parse_endpoints(const char *spec, char ***ret, size_t *ret_n, ErrorText *error)
{
	char **v = calloc(CLUSTER_MAX_ENDPOINTS, sizeof(char *));
	size_t n = 0;

	if (!v)
		return -ENOMEM;
	for (const char *p = spec;; p++) {
		const char *scheme = "http://";
		size_t len;

		/* Each endpoint may name its scheme: https:// for etcd's TLS port. Without one, plain http. */
		if (strncmp(p, "https://", 8) == 0) {
			scheme = "https://";
			p += 8;
		} else if (strncmp(p, "http://", 7) == 0)
			p += 7;
		len = strcspn(p, ",");
		if (!hostport_is_valid(p, len) || n == CLUSTER_MAX_ENDPOINTS) {
			(void)error_text_set(
			        error, 0,
			        "--demand etcd://%.64s: expected [https://]HOST:PORT[,[https://]HOST:PORT...] "
			        "(at most %d)",
			        spec, CLUSTER_MAX_ENDPOINTS);
			strv_free(v, n);
			return -EINVAL;
		}
		if (asprintf(&v[n], "%s%.*s", scheme, (int)len, p) < 0) {
			strv_free(v, n);
			return -ENOMEM;
		}
		n++;
		p += len;
		if (!*p)
			break;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

static void format_counts(const Config *config, const unsigned *v, char *buf, size_t size)
{
	size_t n = 0;

	buf[0] = 0;
	for (size_t i = 0; i < config->n_apps && n < size; i++)
		n += (size_t)snprintf(buf + n, size - n, "%s%s=%u", i ? " " : "", config->apps[i].name, v[i]);
}

/* Computes this node's row of the split and hands it over if it changed. Not a member (its lease was lost): a
 * share of 0, the others have taken it over. */
static void view_publish(Cluster *c)
{
	unsigned share[CONFIG_MAX_APPS];
	size_t n_apps = c->config->n_apps, n = c->view.n_members;
	char buf[512];
	int self;

	if (!c->have_view)
		return;
	self = cluster_view_share(&c->view, c->node_id, share);
	if (self < 0) {
		log_warning_errno(self, "Failed to compute the cluster split: %m, keeping the last share");
		return;
	}
	if (c->have_share && memcmp(share, c->share, n_apps * sizeof(unsigned)) == 0)
		return;
	memcpy(c->share, share, n_apps * sizeof(unsigned));
	c->have_share = true;
	format_counts(c->config, share, buf, sizeof(buf));
	log_info("Cluster share at revision %" PRId64 " over %zu member%s%s: %s", c->view.revision, n,
	         n == 1 ? "" : "s", self ? "" : " (this node is not one of them)", buf);
	c->fn(c->share, c->userdata);
}

/* ---- requests ---- */

/* etcd's answer to a call with a token it no longer knows. */
static bool token_expired(const Cluster *c, long status, const char *body, size_t len)
{
	char text[160];

	if (!c->user || status == 200)
		return false;
	etcd_error_text(body, len, text, sizeof(text));
	return strstr(text, "invalid auth token") != NULL;
}

static void token_drop(Cluster *c)
{
	if (c->token)
		explicit_bzero(c->token, strlen(c->token));
	free(c->token);
	c->token = NULL;
}

static int post(Cluster *c, const char *path, char *body, HttpLineFn on_line, HttpDoneFn done, HttpRequest **ret)
{
	_cleanup_free_ char *url = NULL, *b = body, *auth = NULL;
	const char *headers[] = {"Content-Type: application/json", NULL, NULL};

	if (!b || asprintf(&url, "%s%s", c->endpoints[c->current], path) < 0)
		return -ENOMEM;
	/* The token goes with everything but the request that asks for it. */
	if (c->token && !streq(path, "/v3/auth/authenticate")) {
		if (asprintf(&auth, "Authorization: %s", c->token) < 0)
			return -ENOMEM;
		headers[1] = auth;
	}
	HttpRequestSpec spec = {
	        .method = "POST",
	        .url = url,
	        .body = b,
	        .body_len = strlen(b),
	        .headers = headers,
	        .timeout_msec = on_line ? 0 : STEP_TIMEOUT_MSEC,
	        .max_response = ETCD_ANSWER_MAX,
	        .on_line = on_line,
	        .max_line = ETCD_ANSWER_MAX,
#ifdef HTTP_REQUEST_SPEC_TLS
	        .ca_file = c->cacert,
	        .cert_file = c->cert,
	        .key_file = c->key,
#endif
	};
	int r = http_request_start(c->http, &spec, done, c, ret);
	if (auth)
		explicit_bzero(auth, strlen(auth));
	b = NULL;
	explicit_bzero(body, strlen(body)); /* an authenticate body holds the password */
	free(body);
	return r;
}

/* The common checks of a step's answer: a 200 with a body, else fail() with the reason. */
static bool answer_ok(Cluster *c, HttpRequest *req, int error, long status, const char *body, size_t len,
                      const char *what)
{
	char text[160];

	if (error < 0) {
		fail(c, "%s: %s", what, http_request_error_text(req));
		return false;
	}
	if (status != 200) {
		etcd_error_text(body, len, text, sizeof(text));
		/* An expired or revoked token: the next attempt authenticates again first. */
		if (c->token && strstr(text, "invalid auth token")) {
			log_info("etcd: the auth token of %s is no longer valid; authenticating again", c->user);
			token_drop(c);
		}
		fail(c, "%s: HTTP %ld%s%s", what, status, text[0] ? ": " : "", text);
		return false;
	}
	return true;
}

static void mark_reachable(Cluster *c)
{
	if (!c->reachable && c->failures > 0)
		log_info("etcd at %s is reachable again; resuming from revision %" PRId64, c->endpoints[c->current],
		         c->view.revision);
	c->reachable = true;
	c->failures = 0;
	c->error[0] = 0;
}

static int on_watch_message(Cluster *c, const char *line, size_t len)
{
	EtcdAnswer a;

	if (etcd_parse_watch(line, len, &a) < 0)
		return -EPROTO;
	if (a.canceled) {
		c->rerange = a.compact_revision > 0;
		if (c->rerange)
			log_warning("etcd: revision %" PRId64 " was compacted (now %" PRId64
			            "); reading everything again",
			            c->view.revision + 1, a.compact_revision);
		etcd_answer_done(&a);
		return -ECANCELED;
	}
	if (a.created)
		mark_reachable(c);
	for (size_t i = 0; i < a.n_kvs; i++)
		cluster_view_apply(&c->view, &a.kvs[i]);
	c->view.revision = MAX(c->view.revision, a.revision);
	etcd_answer_done(&a);
	view_publish(c);
	return 0;
}

/* The gateway writes one JSON message a line. */
static int on_watch_line(HttpRequest *req, const char *line, size_t len, void *userdata)
{
	return on_watch_message(userdata, line, len);
}

static void range_start(Cluster *c);

static void on_watch_done(HttpRequest *req, int error, long status, const char *body, size_t len, void *userdata)
{
	Cluster *c = userdata;

	c->watch = NULL;
	if (c->rerange) {
		c->rerange = false;
		range_start(c);
		return;
	}
	if (error == -ECANCELED || error == -EMSGSIZE)
		fail(c, "watch: etcd cancelled the watch or sent a malformed or oversized message");
	else if (error < 0)
		fail(c, "watch: %s", http_request_error_text(req));
	else
		fail(c, "watch: the stream ended (HTTP %ld)", status);
}

static void watch_start(Cluster *c)
{
	int r = post(c, "/v3/watch", etcd_body_watch_prefix(CLUSTER_PREFIX, c->view.revision + 1), on_watch_line,
	             on_watch_done, &c->watch);
	if (r < 0)
		fail(c, "watch: %s", strerror(-r));
}

static void on_range_done(HttpRequest *req, int error, long status, const char *body, size_t len, void *userdata)
{
	Cluster *c = userdata;
	EtcdAnswer a;

	c->step = NULL;
	if (!answer_ok(c, req, error, status, body, len, "range"))
		return;
	if (etcd_parse_range(body, len, &a) < 0) {
		fail(c, "range: malformed answer");
		return;
	}
	/* A full read replaces the view: members that left while we were not watching are gone. */
	cluster_view_reset(&c->view);
	for (size_t i = 0; i < a.n_kvs; i++)
		cluster_view_apply(&c->view, &a.kvs[i]);
	c->view.revision = a.revision;
	c->have_view = true;
	etcd_answer_done(&a);
	view_publish(c);
	watch_start(c);
}

static void range_start(Cluster *c)
{
	int r = post(c, "/v3/kv/range", etcd_body_range_prefix(CLUSTER_PREFIX), NULL, on_range_done, &c->step);
	if (r < 0)
		fail(c, "range: %s", strerror(-r));
}

static void on_put_done(HttpRequest *req, int error, long status, const char *body, size_t len, void *userdata)
{
	Cluster *c = userdata;

	c->step = NULL;
	if (!answer_ok(c, req, error, status, body, len, "registration"))
		return;
	if (c->watch)
		return; /* a registration again after a lost lease: the running watch shows it */
	/* With a view already, resume the watch where it stopped; else read everything first. */
	if (c->have_view)
		watch_start(c);
	else
		range_start(c);
}

static void put_start(Cluster *c)
{
	char value[64];

	snprintf(value, sizeof(value), "{\"capacity\": %u}", c->config->capacity);
	int r = post(c, "/v3/kv/put", etcd_body_put(c->node_key, value, c->lease_id), NULL, on_put_done, &c->step);
	if (r < 0)
		fail(c, "registration: %s", strerror(-r));
}

static void on_grant_done(HttpRequest *req, int error, long status, const char *body, size_t len, void *userdata)
{
	Cluster *c = userdata;
	EtcdAnswer a;

	c->step = NULL;
	if (!answer_ok(c, req, error, status, body, len, "lease grant"))
		return;
	if (etcd_parse_lease(body, len, &a) < 0 || a.ttl <= 0) {
		fail(c, "lease grant: malformed answer");
		return;
	}
	c->lease_id = a.lease_id;
	log_info("Registering as %s (capacity %u) under lease %" PRIx64 ", TTL %" PRId64 " s", c->node_key,
	         c->config->capacity, (uint64_t)c->lease_id, a.ttl);
	put_start(c);
}

static void grant_start(Cluster *c)
{
	int r = post(c, "/v3/lease/grant", etcd_body_grant(c->ttl), NULL, on_grant_done, &c->step);
	if (r < 0)
		fail(c, "lease grant: %s", strerror(-r));
}

/* Keepalive answers, both the one that starts a reconnection (step) and the periodic ones. */
static void on_keepalive_done(HttpRequest *req, int error, long status, const char *body, size_t len, void *userdata)
{
	Cluster *c = userdata;
	bool connecting = req == c->step;
	EtcdAnswer a;

	if (connecting)
		c->step = NULL;
	else
		c->keepalive = NULL;
	/* The token expired between two keepalives (etcd forgets an unused simple token after --auth-token-ttl): the
	 * watch goes on, a new token is asked for and the keepalive sent again with it. */
	if (!connecting && error >= 0 && token_expired(c, status, body, len)) {
		log_info("etcd: the auth token of %s expired; authenticating again", c->user);
		token_drop(c);
		c->keepalive_after_auth = true;
		if (!c->reauth && auth_send(c, &c->reauth) < 0)
			fail(c, "authentication: out of memory");
		return;
	}
	if (!answer_ok(c, req, error, status, body, len, "lease keepalive"))
		return;
	if (etcd_parse_lease(body, len, &a) < 0) {
		fail(c, "lease keepalive: malformed answer");
		return;
	}
	if (a.ttl > 0) {
		if (connecting)
			put_start(c);
		return;
	}
	log_warning("etcd: lease %" PRIx64 " has expired; registering again", (uint64_t)c->lease_id);
	c->lease_id = 0;
	if (connecting)
		grant_start(c);
	else if (!c->step)
		grant_start(c); /* the watch goes on; the new registration shows up in it */
}

static int keepalive_send(Cluster *c, HttpRequest **slot)
{
	return post(c, "/v3/lease/keepalive", etcd_body_keepalive(c->lease_id), NULL, on_keepalive_done, slot);
}

static int on_keepalive_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	Cluster *c = userdata;

	(void)sd_event_source_set_time(s, usec + c->ttl * USEC_PER_SEC / 3);
	/* A token is renewed before etcd forgets it (a simple token lives 5 minutes unless used): the watch that
	 * is running keeps going, the next calls carry the new one. */
	if (c->watch && c->user && c->token && !c->reauth && usec >= c->token_usec + CLUSTER_TOKEN_RENEW_USEC) {
		int r = auth_send(c, &c->reauth);
		if (r < 0)
			fail(c, "authentication: %s", strerror(-r));
	}
	if (c->watch && c->lease_id && !c->keepalive && !c->step) {
		int r = keepalive_send(c, &c->keepalive);
		if (r < 0)
			fail(c, "lease keepalive: %s", strerror(-r));
	}
	return 0;
}

/* ---- failures and reconnection ---- */

static void drop_connection(Cluster *c)
{
	http_request_cancel(TAKE_PTR(c->step));
	http_request_cancel(TAKE_PTR(c->watch));
	http_request_cancel(TAKE_PTR(c->keepalive));
	http_request_cancel(TAKE_PTR(c->reauth));
	c->rerange = false;
}

static usec_t backoff_usec(unsigned failures)
{
	return backoff_delay(CLUSTER_BACKOFF_MIN_USEC, CLUSTER_BACKOFF_MAX_USEC, failures);
}

static void fail(Cluster *c, const char *fmt, ...)
{
	uint64_t now = 0, delay;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->error, sizeof(c->error), fmt, ap);
	va_end(ap);
	drop_connection(c);
	c->reachable = false;
	c->failures++;
	delay = backoff_usec(c->failures);
	(void)sd_event_now(c->event, CLOCK_MONOTONIC, &now);
	if (ratelimit_below(&c->log_limit, now))
		log_warning("etcd at %s: %s; keeping the last share, retrying in %.1f s (attempt %u)",
		            c->endpoints[c->current], c->error, delay / (double)USEC_PER_SEC, c->failures);
	c->current = (c->current + 1) % c->n_endpoints;
	(void)sd_event_source_set_time(c->retry_timer, now + delay);
	(void)sd_event_source_set_enabled(c->retry_timer, SD_EVENT_ONESHOT);
}

static void connect_continue(Cluster *c);

static void on_auth_done(HttpRequest *req, int error, long status, const char *body, size_t len, void *userdata)
{
	Cluster *c = userdata;
	bool connecting = req == c->step;
	char *token = NULL;
	char text[160];

	if (connecting)
		c->step = NULL;
	else
		c->reauth = NULL;
	if (error >= 0 && status != 200) {
		/* Wrong user or password, auth not enabled: etcd's own words, with the user it was. */
		etcd_error_text(body, len, text, sizeof(text));
		fail(c, "authentication as %s: HTTP %ld%s%s", c->user, status, text[0] ? ": " : "", text);
		return;
	}
	if (!answer_ok(c, req, error, status, body, len, "authentication"))
		return;
	if (etcd_parse_token(body, len, &token) < 0) {
		fail(c, "authentication as %s: malformed answer", c->user);
		return;
	}
	token_drop(c);
	c->token = token;
	(void)sd_event_now(c->event, CLOCK_MONOTONIC, &c->token_usec);
	log_debug("etcd: authenticated as %s", c->user);
	if (connecting)
		connect_continue(c);
	else if (c->keepalive_after_auth && c->lease_id && !c->keepalive && !c->step) {
		c->keepalive_after_auth = false;
		if (keepalive_send(c, &c->keepalive) < 0)
			fail(c, "lease keepalive: out of memory");
	}
}

static int auth_send(Cluster *c, HttpRequest **slot)
{
	return post(c, "/v3/auth/authenticate", etcd_body_authenticate(c->user, c->password), NULL, on_auth_done, slot);
}

/* A client certificate out of its dates: said in so many words (etcd would only close the connection). The file
 * is read at every connection: a renewed certificate is taken as it is. */
static bool client_cert_is_current(Cluster *c)
{
	_cleanup_free_ char *buf = NULL;
	int64_t not_before, not_after, now = (int64_t)time(NULL);
	char when[32];
	struct tm tm;
	ssize_t n;

	if (!c->cert || !(buf = malloc(65536)))
		return true;
	n = read_regular_file(c->cert, buf, 65536);
	if (n < 0 || etcd_cert_validity(buf, (size_t)n, &not_before, &not_after) < 0)
		return true; /* curl says what is wrong with it */
	if (now <= not_after && now >= not_before)
		return true;
	time_t t = (time_t)(now > not_after ? not_after : not_before);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
	fail(c, "the client certificate %s %s %s", c->cert, now > not_after ? "expired at" : "is not valid before",
	     when);
	return false;
}

static void connect_start(Cluster *c)
{
	int r;

	drop_connection(c);
	if (!client_cert_is_current(c))
		return;
	if (c->user && !c->token) {
		r = auth_send(c, &c->step);
		if (r < 0)
			fail(c, "authentication: %s", strerror(-r));
		return;
	}
	connect_continue(c);
}

static void connect_continue(Cluster *c)
{
	int r;

	/* A lease that is still alive keeps the registration; else a new one. */
	if (c->lease_id) {
		r = keepalive_send(c, &c->step);
		if (r < 0)
			fail(c, "lease keepalive: %s", strerror(-r));
	} else
		grant_start(c);
}

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata)
{
	connect_start(userdata);
	return 0;
}

/* ---- object ---- */

/* The password: the file's first line, at most 255 bytes. */
static int read_password(const char *path, char **ret, ErrorText *error)
{
	char buf[257];
	ssize_t n = read_regular_file(path, buf, sizeof(buf) - 1);

	if (n < 0) {
		(void)error_text_set(error, 0, "--etcd-password-file %.128s: %s", path,
		                     n == -EBADFD ? "not a regular file" : strerror((int)-n));
		return -EINVAL;
	}
	buf[n] = 0;
	buf[strcspn(buf, "\r\n")] = 0;
	if (!buf[0] || strlen(buf) > 255) {
		explicit_bzero(buf, sizeof(buf));
		(void)error_text_set(error, 0,
		                     "--etcd-password-file %.128s: expected the password on its first line "
		                     "(1..255 bytes)",
		                     path);
		return -EINVAL;
	}
	*ret = strdup(buf);
	explicit_bzero(buf, sizeof(buf));
	return *ret ? 0 : -ENOMEM;
}

static int pem_file(const char *flag, const char *path, char **ret, ErrorText *error)
{
	if (!path)
		return 0;
	if (access(path, R_OK) < 0) {
		(void)error_text_set(error, 0, "%s %.128s: %s", flag, path, strerror(errno));
		return -EINVAL;
	}
	*ret = strdup(path);
	return *ret ? 0 : -ENOMEM;
}

int cluster_new_with_options(Cluster **ret, sd_event *event, const char *endpoints, const ClusterOptions *o,
                             const Config *config, DemandFn fn, void *userdata, ErrorText *error)
{
	_cleanup_(cluster_freep) Cluster *c = calloc(1, sizeof(Cluster));
	const char *node_id = o->node_id;
	bool tls = o->cacert || o->cert || o->key;
	int r;

	if (!c)
		return -ENOMEM;
	c->log_limit = (RateLimit)RATELIMIT_INIT(60 * USEC_PER_SEC, 5);
	r = cluster_parse_endpoints(endpoints, &c->endpoints, &c->n_endpoints, error);
	if (r < 0)
		return r;
	if (!cluster_node_id_is_valid(node_id)) {
		(void)error_text_set(error, 0, "--node-id %.64s: not usable as an etcd key", node_id);
		return -EINVAL;
	}
#ifndef HTTP_REQUEST_SPEC_TLS
	if (tls) {
		(void)error_text_set(error, 0, "--etcd-cacert, --etcd-cert, --etcd-key: not supported by this build");
		return -EINVAL;
	}
#endif
	if (!o->cert != !o->key) {
		(void)error_text_set(error, 0, "--etcd-cert and --etcd-key go together");
		return -EINVAL;
	}
	/* Certificates over plain http would be a silent downgrade: every endpoint says https:// then. */
	for (size_t i = 0; tls && i < c->n_endpoints; i++)
		if (strncmp(c->endpoints[i], "https://", 8) != 0) {
			(void)error_text_set(error, 0,
			                     "--demand etcd://%.64s: with --etcd-cacert/--etcd-cert every endpoint is "
			                     "https://HOST:PORT",
			                     endpoints);
			return -EINVAL;
		}
	if (!o->user != !o->password_file) {
		(void)error_text_set(error, 0, "--etcd-user and --etcd-password-file go together");
		return -EINVAL;
	}
	if (o->user && (!o->user[0] || strlen(o->user) > 255 || strpbrk(o->user, "\r\n"))) {
		(void)error_text_set(error, 0, "--etcd-user: expected a user name of 1..255 bytes");
		return -EINVAL;
	}
	if ((r = pem_file("--etcd-cacert", o->cacert, &c->cacert, error)) < 0 ||
	    (r = pem_file("--etcd-cert", o->cert, &c->cert, error)) < 0 ||
	    (r = pem_file("--etcd-key", o->key, &c->key, error)) < 0)
		return r;
	if (o->user) {
		r = read_password(o->password_file, &c->password, error);
		if (r < 0)
			return r;
		if (!(c->user = strdup(o->user)))
			return -ENOMEM;
	}
	c->event = sd_event_ref(event);
	c->config = config;
	cluster_view_init(&c->view, config);
	c->fn = fn;
	c->userdata = userdata;
	c->ttl = o->ttl ? o->ttl : CLUSTER_DEFAULT_TTL;
	if (!(c->node_id = strdup(node_id)) || asprintf(&c->node_key, "%s%s", CLUSTER_NODES_PREFIX, node_id) < 0)
		return -ENOMEM;
	c->view.self = c->node_id;
	r = http_client_new(&c->http, event);
	if (r < 0)
		return r;
	r = sd_event_add_time(event, &c->retry_timer, CLOCK_MONOTONIC, 0, 1000, on_retry, c);
	if (r < 0)
		return r;
	r = sd_event_add_time_relative(event, &c->keepalive_timer, CLOCK_MONOTONIC, c->ttl * USEC_PER_SEC / 3, 0,
	                               on_keepalive_timer, c);
	if (r < 0)
		return r;
	(void)sd_event_source_set_enabled(c->keepalive_timer, SD_EVENT_ON);
	log_info("Cluster mode: etcd at %s, node %s, lease TTL %u s%s%s%s%s", endpoints, node_id, c->ttl,
	         c->cacert ? ", CA " : "", c->cacert ?: "", c->user ? ", user " : "", c->user ?: "");
	/* The retry timer is armed at 0: the first connection starts from the loop, not from here. */
	*ret = TAKE_PTR(c);
	return 0;
}

int cluster_new(Cluster **ret, sd_event *event, const char *endpoints, const char *node_id, unsigned ttl,
                const Config *config, DemandFn fn, void *userdata, ErrorText *error)
{
	ClusterOptions o = {.node_id = node_id, .ttl = ttl};

	return cluster_new_with_options(ret, event, endpoints, &o, config, fn, userdata, error);
}

Cluster *cluster_free(Cluster *c)
{
	if (!c)
		return NULL;
	/* The lease is not revoked: the containers keep running after a stop, so the share stays claimed until the
	 * lease expires. */
	drop_connection(c);
	http_client_free(c->http);
	sd_event_source_disable_unref(c->retry_timer);
	sd_event_source_disable_unref(c->keepalive_timer);
	sd_event_unref(c->event);
	strv_free(c->endpoints, c->n_endpoints);
	free(c->node_id);
	free(c->node_key);
	free(c->cacert);
	free(c->cert);
	free(c->key);
	free(c->user);
	token_drop(c);
	if (c->password)
		explicit_bzero(c->password, strlen(c->password));
	free(c->password);
	cluster_view_done(&c->view);
	free(c);
	return NULL;
}

bool cluster_reachable(const Cluster *c)
{
	return c->reachable;
}

static cJSON *counts_json(const Config *config, const unsigned *v)
{
	cJSON *o = cJSON_CreateObject();

	for (size_t i = 0; o && i < config->n_apps; i++)
		cJSON_AddNumberToObject(o, config->apps[i].name, v[i]);
	return o;
}

void cluster_status(const Cluster *c, ClusterStatus *ret)
{
	*ret = (ClusterStatus){
	        .reachable = c->reachable,
	        .revision = (uint64_t)c->view.revision,
	        .n_members = c->view.n_members,
	        .failures = c->failures,
	        .share = c->have_share ? c->share : NULL,
	};
}

cJSON *cluster_status_json(const Cluster *c)
{
	cJSON *o = cJSON_CreateObject(), *members = cJSON_AddArrayToObject(o, "members");

	if (!members)
		return o;
	for (size_t i = 0; i < c->view.n_members; i++) {
		cJSON *m = cJSON_CreateObject();
		cJSON_AddStringToObject(m, "id", c->view.members[i].id);
		cJSON_AddNumberToObject(m, "capacity", c->view.members[i].capacity);
		cJSON_AddItemToArray(members, m);
	}
	cJSON_AddBoolToObject(o, "reachable", c->reachable);
	cJSON_AddStringToObject(o, "endpoint", c->endpoints[c->current]);
	cJSON_AddNumberToObject(o, "revision", (double)c->view.revision);
	cJSON_AddNumberToObject(o, "lease_ttl", c->ttl);
	cJSON_AddItemToObject(o, "totals", c->have_view ? counts_json(c->config, c->view.totals) : cJSON_CreateNull());
	cJSON_AddItemToObject(o, "share", c->have_share ? counts_json(c->config, c->share) : cJSON_CreateNull());
	cJSON_AddItemToObject(o, "error", c->error[0] ? cJSON_CreateString(c->error) : cJSON_CreateNull());
	cJSON_AddNumberToObject(o, "failures", c->failures);
	cJSON *ignored = cJSON_AddObjectToObject(o, "ignored_registrations");
	cJSON_AddNumberToObject(ignored, "over_cap", c->view.ignored_over_cap);
	cJSON_AddNumberToObject(ignored, "malformed", c->view.ignored_malformed);
	cJSON_AddStringToObject(o, "transport",
	                        strncmp(c->endpoints[c->current], "https://", 8) == 0 ? "https" : "http");
	cJSON_AddItemToObject(o, "user", c->user ? cJSON_CreateString(c->user) : cJSON_CreateNull());
	return o;
}
