// SPDX-License-Identifier: Apache-2.0
/* Control API server: libmicrohttpd in epoll mode, its epoll fd one sd-event IO source, no threads.
 * Bodies are capped at 64 KiB. Connections are counted against the fd limit and a client that has not sent its
 * headers is cut first (conn-guard.c), so that slow clients never lock out the unix socket or a token holder.
 * Every request's Host must be one of ours (no DNS rebinding); on TCP nothing changes without the bearer token,
 * and a browser logs in once with ?token= for a session cookie. Handlers validate everything before they change
 * anything. */
#include <arpa/inet.h>
#include <grp.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "force12/api.h"
#include "force12/conn-guard.h"
#include "force12/dashboard.h"
#include "force12/history.h"
#include "force12/json.h"
#include "force12/log.h"
#include "force12/metrics.h"
#include "force12/targets.h"
#include "force12/time-util.h"

/* Little memory per client: a request line and headers must fit in 16 KiB (bodies are buffered apart, up to
 * 64 KiB). A client has API_HEADER_DEADLINE to send its headers, however it drips them; after that only the idle
 * timeout applies. The listeners share the fds RLIMIT_NOFILE leaves after API_FD_RESERVE (the engine, etcd, curl,
 * the event loop, the state file): TCP at most half, the unix socket a third, and libmicrohttpd's own cap is
 * API_MHD_SLACK above the guard's, for connections cut but not yet closed. */
#define API_CONNECTION_TIMEOUT 10 /* seconds idle before a client is dropped */
#define API_CONNECTION_MEMORY  (16 * 1024)
#define API_HEADER_DEADLINE    (5 * USEC_PER_SEC)
#define API_FD_RESERVE         128
#define API_MHD_SLACK          64
#define API_TCP_MAX            2048
#define API_UNIX_MAX           1024
#define API_PER_PEER_MAX       64
#define API_SESSION_BYTES      32

typedef struct Server {
	Api *api;
	struct MHD_Daemon *daemon;
	sd_event_source *io, *timer;
	ConnGuard *guard;
	bool tcp;
	unsigned port; /* TCP: the port a Host header must name */
} Server;

struct Api {
	sd_event *event;
	Agent *agent;
	Server unix_server, tcp_server;
	char *token;
	char session[API_SESSION_BYTES * 2 + 1]; /* the dashboard's cookie, good for this run of the agent */
	char cookie_name[32];
	char **allow_hosts; /* names the Host header may carry besides localhost and IP literals */
	size_t n_allow_hosts;
	int (*submit_targets)(const unsigned *targets, const char **ret_owner, void *userdata);
	void (*status_hook)(cJSON *status, void *userdata);
	const char *(*health_hook)(void *userdata);
	bool (*cluster_hook)(ClusterStatus *ret, void *userdata);
	void *hook_userdata;
	char *socket_path; /* ours to unlink at exit; NULL when systemd owns it */
	ApiStats stats;
	History *history; /* the dashboard's last minutes, sampled every HISTORY_INTERVAL_MS */
	sd_event_source *history_timer;
};

typedef struct Request {
	char *body;
	size_t len;
	bool too_large;
} Request;

/* Wall-clock milliseconds, the time of the dashboard history's samples. */
static uint64_t realtime_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- responses ---- */

typedef struct ApiRoute ApiRoute;
static const ApiRoute *route_of(const char *url);
static const char *route_allow(const ApiRoute *r);
static const char *route_label(const char *route);

static enum MHD_Result respond(struct MHD_Connection *conn, Api *api, const char *route, unsigned status,
                               const char *type, char *text)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	if (!text)
		return MHD_NO;
	resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(text);
		return MHD_NO;
	}
	(void)MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	(void)MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (status == 405 && route_of(route))
		(void)MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, route_allow(route_of(route)));
	if (status == 401)
		(void)MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
	api_stats_count(&api->stats, route_label(route), status);
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result respond_json(struct MHD_Connection *conn, Api *api, const char *route, unsigned status,
                                    cJSON *json)
{
	_cleanup_(cJSON_Deletep) cJSON *j = json;
	char *text = j ? cJSON_PrintUnformatted(j) : NULL;

	if (!text)
		return MHD_NO;
	/* One JSON document a line: easy for people and for line-based tools. */
	char *line = realloc(text, strlen(text) + 2);
	if (!line) {
		free(text);
		return MHD_NO;
	}
	strcat(line, "\n");
	return respond(conn, api, route, status, "application/json", line);
}

static enum MHD_Result respond_error(struct MHD_Connection *conn, Api *api, const char *route, unsigned status,
                                     const char *message)
{
	cJSON *o = cJSON_CreateObject();

	if (o)
		cJSON_AddStringToObject(o, "error", message);
	return respond_json(conn, api, route, status, o);
}

/* ---- handlers ---- */

unsigned api_http_status(int error)
{
	switch (error) {
	case 0:
		return 200;
	case -ENOENT:
		return 404;
	case -EBUSY:
		return 409;
	case -E2BIG:
		return 413;
	case -ERANGE:
		return 422;
	default:
		return 400;
	}
}

static enum MHD_Result refused_by_source(struct MHD_Connection *conn, Api *api, const char *owner)
{
	ErrorText error = {};

	if (streq(owner, "metric"))
		snprintf(error.text, sizeof(error.text),
		         "an app with a \"scale\" rule takes its target from its Prometheus query; set the other apps "
		         "only");
	else
		snprintf(error.text, sizeof(error.text),
		         "targets come from the %s demand source; start the agent with --demand api to set them",
		         owner);
	return respond_error(conn, api, "/v1/targets", 409, error.text);
}

static enum MHD_Result put_targets(struct MHD_Connection *conn, Api *api, const Request *req)
{
	const Config *config = agent_config(api->agent);
	ErrorText error = {};
	unsigned targets[CONFIG_MAX_APPS];
	const char *owner = "none";
	int e;

	if (!api->submit_targets || api->submit_targets(NULL, &owner, api->hook_userdata) < 0)
		return refused_by_source(conn, api, owner);
	if (req->too_large)
		return respond_error(conn, api, "/v1/targets", 413, "body is over 65536 bytes");
	e = targets_parse(req->body ? req->body : "", req->len, config, false, targets, &error);
	if (e < 0)
		return respond_error(conn, api, "/v1/targets", api_http_status(e), error.text);
	if (api->submit_targets(targets, &owner, api->hook_userdata) < 0)
		return refused_by_source(conn, api, owner);
	return respond_json(conn, api, "/v1/targets", 200, agent_targets_json(api->agent));
}

static enum MHD_Result get_metrics(struct MHD_Connection *conn, Api *api, const Request *req)
{
	ClusterStatus cluster;
	bool in_cluster = api->cluster_hook && api->cluster_hook(&cluster, api->hook_userdata);
	char *text = metrics_render(api->agent, &api->stats, in_cluster ? &cluster : NULL);

	if (!text)
		return MHD_NO;
	return respond(conn, api, "/metrics", 200, "text/plain; version=0.0.4; charset=utf-8", text);
}

/* Health is the engine's: a node whose engine answers keeps its containers as they should be, even while etcd is
 * away (it keeps its last share), so it stays 200 and the note says what is degraded. */
static enum MHD_Result get_healthz(struct MHD_Connection *conn, Api *api, const Request *req)
{
	bool ok = agent_engine_reachable(api->agent);
	const char *note = api->health_hook ? api->health_hook(api->hook_userdata) : NULL;
	const char *why = agent_engine_error(api->agent);
	char *text = NULL;

	if (asprintf(&text, "%s%s%s\n",
	             ok    ? "ok"
	             : why ? why
	                   : "engine not reachable",
	             note ? "; " : "", note ? note : "") < 0)
		text = NULL;
	return respond(conn, api, "/healthz", ok ? 200 : 503, "text/plain; charset=utf-8", text);
}

static cJSON *status_json(Api *api)
{
	cJSON *o = agent_status_json(api->agent);

	if (o && api->status_hook)
		api->status_hook(o, api->hook_userdata);
	return o;
}

static enum MHD_Result get_status(struct MHD_Connection *conn, Api *api, const Request *req)
{
	return respond_json(conn, api, "/v1/status", 200, status_json(api));
}

static enum MHD_Result get_targets(struct MHD_Connection *conn, Api *api, const Request *req)
{
	return respond_json(conn, api, "/v1/targets", 200, agent_targets_json(api->agent));
}

static enum MHD_Result get_containers(struct MHD_Connection *conn, Api *api, const Request *req)
{
	return respond_json(conn, api, "/v1/containers", 200, agent_containers_json(api->agent));
}

static enum MHD_Result get_history(struct MHD_Connection *conn, Api *api, const Request *req)
{
	return respond_json(conn, api, "/v1/history", 200, history_json(api->history, realtime_ms()));
}

static enum MHD_Result get_dashboard(struct MHD_Connection *conn, Api *api, const Request *req)
{
	return respond(conn, api, "/", 200, "text/html; charset=utf-8", strndup(dashboard_html, dashboard_html_len));
}

/* ---- the routes: a new endpoint is one row (the 404 text, the Allow header and the /metrics labels follow) ---- */

typedef enum MHD_Result (*RouteFn)(struct MHD_Connection *conn, Api *api, const Request *req);

struct ApiRoute {
	const char *path;
	RouteFn get; /* GET and HEAD */
	RouteFn put; /* NULL: GET only */
};

static const ApiRoute routes[] = {
        {"/", get_dashboard, NULL},
        {"/v1/status", get_status, NULL},
        {"/v1/targets", get_targets, put_targets},
        {"/v1/containers", get_containers, NULL},
        {"/v1/history", get_history, NULL},
        {"/metrics", get_metrics, NULL},
        {"/healthz", get_healthz, NULL},
};

static const ApiRoute *route_of(const char *url)
{
	for (size_t i = 0; i < ELEMENTSOF(routes); i++)
		if (streq(url, routes[i].path))
			return &routes[i];
	return NULL;
}

static const char *route_allow(const ApiRoute *r)
{
	return r->put ? "GET, HEAD, PUT" : "GET, HEAD";
}

/* What /metrics counts a response under: a route's path, or "other" / "unauthorized" (a bounded label set). */
static const char *route_label(const char *route)
{
	const ApiRoute *r = route_of(route);

	if (r)
		return r->path;
	if (streq(route, "unauthorized") || streq(route, "forbidden"))
		return route;
	return "other";
}

static enum MHD_Result not_found(struct MHD_Connection *conn, Api *api)
{
	char text[256] = "no such path; see GET";
	size_t n = strlen(text);

	for (size_t i = 0; i < ELEMENTSOF(routes); i++)
		n += (size_t)snprintf(text + n, sizeof(text) - MIN(n, sizeof(text)), "%s %s", i ? "," : "",
		                      routes[i].path);
	return respond_error(conn, api, "other", 404, text);
}

static enum MHD_Result dispatch(struct MHD_Connection *conn, Api *api, const char *url, const char *method,
                                const Request *req)
{
	const ApiRoute *route = route_of(url);

	if (!route)
		return not_found(conn, api);
	if (streq(method, "GET") || streq(method, "HEAD"))
		return route->get(conn, api, req);
	if (route->put && streq(method, "PUT"))
		return route->put(conn, api, req);
	return respond_error(conn, api, route->path, 405,
	                     route->put ? "method not allowed; use GET or PUT" : "method not allowed; use GET");
}

/* Constant time in the length of the expected token, whatever the client sent. */
static bool token_matches(const char *expected, const char *got)
{
	size_t n = strlen(expected), m = got ? strlen(got) : 0;
	unsigned char diff = n != m;

	for (size_t i = 0; i < n; i++)
		diff |= (unsigned char)expected[i] ^ (unsigned char)(i < m ? got[i] : 0);
	return diff == 0;
}

/* ---- who may ask what ---- */

static bool bearer_ok(struct MHD_Connection *conn, const Api *api)
{
	const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);

	return h && strncmp(h, "Bearer ", 7) == 0 && token_matches(api->token, h + 7);
}

static bool session_ok(struct MHD_Connection *conn, const Api *api)
{
	const char *c = MHD_lookup_connection_value(conn, MHD_COOKIE_KIND, api->cookie_name);

	return c && token_matches(api->session, c);
}

static bool is_ip_literal(const char *name)
{
	unsigned char addr[sizeof(struct in6_addr)];
	char v6[INET6_ADDRSTRLEN + 2];
	size_t n = strlen(name);

	if (inet_pton(AF_INET, name, addr) == 1)
		return true;
	if (n < 3 || n >= sizeof(v6) || name[0] != '[' || name[n - 1] != ']')
		return false;
	memcpy(v6, name + 1, n - 2);
	v6[n - 2] = 0;
	return inet_pton(AF_INET6, v6, addr) == 1;
}

/* A Host header names us if its name is localhost, an IP literal (DNS rebinding needs a name that resolves to
 * us; a literal is the address the browser itself connected to) or a name given with --allow-host, and, on TCP,
 * its port is the listener's (no port: 80). The unix socket knows no port: any port (an SSH tunnel's) will do,
 * so will a single-label name (curl's "http://x/"), and a request without Host (HTTP/1.0) comes from no browser. */
bool api_host_allowed(const char *host, unsigned port, const char *const *allow, size_t n_allow)
{
	char name[256];
	const char *colon, *end;
	unsigned long p = 80;

	if (!host)
		return port == 0;
	end = host[0] == '[' ? strchr(host, ']') : NULL;
	colon = strrchr(end ? end : host, ':');
	if (host[0] == '[' && !end)
		return false;
	if (colon) {
		char *e;
		if (!colon[1] || colon[1] == '+' || colon[1] == '-')
			return false;
		p = strtoul(colon + 1, &e, 10);
		if (*e || p > 65535)
			return false;
	}
	size_t n = colon ? (size_t)(colon - host) : strlen(host);
	if (n == 0 || n >= sizeof(name))
		return false;
	memcpy(name, host, n);
	name[n] = 0;
	if (port != 0 && p != port)
		return false;
	if (strcasecmp(name, "localhost") == 0 || is_ip_literal(name))
		return true;
	/* A name without a dot can be no attacker's domain: scripts' "http://x/" on the socket goes on working. */
	if (port == 0 && !strchr(name, '.'))
		return true;
	for (size_t i = 0; i < n_allow; i++)
		if (strcasecmp(name, allow[i]) == 0)
			return true;
	return false;
}

static const char login_page[] =
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>force12: token required</title>"
        "</head>\n<body style=\"font-family: sans-serif; max-width: 40em; margin: 3em auto\">\n<h1>force12-agent</h1>\n"
        "<p>This listener asks for the agent's token: the first line of the file given to "
        "<code>--token-file</code>. The page then keeps a session cookie until the agent restarts.</p>\n"
        "<form method=\"get\" action=\"/\"><input type=\"password\" name=\"token\" autocomplete=\"off\" "
        "autofocus size=\"40\"> <button>Open the dashboard</button></form>\n</body></html>\n";

/* ?token=T was right: the session cookie, and the same page again without the token in its address. */
static enum MHD_Result login(struct MHD_Connection *conn, Server *s, const char *url)
{
	_cleanup_free_ char *cookie = NULL;
	const ApiRoute *route = route_of(url);
	static const char text[] = "logged in\n";
	struct MHD_Response *resp;
	enum MHD_Result ret;

	if (asprintf(&cookie, "%s=%s; Path=/; HttpOnly; SameSite=Strict", s->api->cookie_name, s->api->session) < 0)
		return MHD_NO;
	resp = MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
	if (!resp)
		return MHD_NO;
	(void)MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	(void)MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	(void)MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	(void)MHD_add_response_header(resp, MHD_HTTP_HEADER_SET_COOKIE, cookie);
	/* Only a route of ours: the client's path could be "//elsewhere.example". */
	(void)MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, route ? route->path : "/");
	api_stats_count(&s->api->stats, route_label(url), 303);
	ret = MHD_queue_response(conn, 303, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* true when the request is refused, its answer queued in *ret. */
static bool refused(struct MHD_Connection *conn, Server *s, const char *url, const char *method, enum MHD_Result *ret)
{
	Api *api = s->api;
	const char *host = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
	const char *t;
	bool reads = streq(method, "GET") || streq(method, "HEAD");

	if (!api_host_allowed(host, s->tcp ? s->port : 0, (const char *const *)api->allow_hosts, api->n_allow_hosts)) {
		*ret = respond_error(conn, api, "forbidden", 403,
		                     "the Host header names no address of this agent; give the name with "
		                     "--allow-host NAME");
		return true;
	}
	if (!s->tcp)
		return false;
	if (!api->token) {
		if (reads)
			return false;
		*ret = respond_error(conn, api, "forbidden", 403,
		                     "this TCP listener is read-only: start the agent with --token-file to change "
		                     "targets over TCP, or use the unix socket");
		return true;
	}
	if (bearer_ok(conn, api) || (reads && session_ok(conn, api)))
		return false;
	t = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "token");
	if (reads && t && token_matches(api->token, t)) {
		*ret = login(conn, s, url);
		return true;
	}
	if (reads && streq(url, "/") && !t)
		*ret = respond(conn, api, "unauthorized", 401, "text/html; charset=utf-8",
		               strndup(login_page, sizeof(login_page) - 1));
	else
		*ret = respond_error(conn, api, "unauthorized", 401,
		                     "missing or wrong bearer token; send Authorization: Bearer <token>");
	return true;
}

static bool body_declared_too_large(struct MHD_Connection *conn)
{
	const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	char *end;

	if (!cl)
		return false;
	errno = 0;
	unsigned long long n = strtoull(cl, &end, 10);
	return errno != 0 || *end || n > TARGETS_BODY_MAX;
}

static void request_append(Request *req, const char *data, size_t size)
{
	if (req->too_large || size > TARGETS_BODY_MAX - req->len) {
		req->too_large = true;
		return;
	}
	char *b = realloc(req->body, req->len + size + 1);
	if (!b) {
		req->too_large = true;
		return;
	}
	memcpy(b + req->len, data, size);
	req->len += size;
	b[req->len] = 0;
	req->body = b;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
	Server *s = cls;
	Request *req = *con_cls;
	const union MHD_ConnectionInfo *info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	GuardConn *guarded = info ? info->socket_context : NULL;
	enum MHD_Result ret;

	if (!req) {
		/* Headers in: a client we trust (the socket's, a token holder) leaves the header deadline for the idle
		 * timeout; anyone else stays under the deadline until the whole request, body too, is in. */
		if (!s->tcp || (s->api->token && bearer_ok(conn, s->api)))
			conn_guard_busy(s->guard, guarded);
		req = calloc(1, sizeof(*req));
		if (!req)
			return MHD_NO;
		*con_cls = req;
		if (refused(conn, s, url, method, &ret))
			return ret;
		if (body_declared_too_large(conn))
			return respond_error(conn, s->api, url, 413, "body is over 65536 bytes");
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		request_append(req, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	conn_guard_busy(s->guard, guarded);
	return dispatch(conn, s->api, url, method, req);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	Server *s = cls;
	Request *req = *con_cls;
	const union MHD_ConnectionInfo *info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	uint64_t now;

	/* Kept open for a next request: its headers are awaited again, under the deadline. */
	if (toe == MHD_REQUEST_TERMINATED_COMPLETED_OK && info) {
		(void)sd_event_now(s->api->event, CLOCK_MONOTONIC, &now);
		conn_guard_idle(s->guard, info->socket_context, now);
	}
	if (!req)
		return;
	free(req->body);
	free(req);
	*con_cls = NULL;
}

/* ---- event loop glue ---- */

/* The timer fires at libmicrohttpd's next timeout or the guard's next header deadline, whichever is first; clients
 * past their deadline are cut here (their EOF then wakes libmicrohttpd, which closes them). */
static void server_rearm(Server *s)
{
	MHD_UNSIGNED_LONG_LONG ms;
	uint64_t now, next;

	(void)sd_event_now(s->api->event, CLOCK_MONOTONIC, &now);
	next = conn_guard_expire(s->guard, now);
	if (MHD_get_timeout(s->daemon, &ms) == MHD_YES)
		next = MIN(next, now + ms * 1000);
	if (next == USEC_INFINITY) {
		(void)sd_event_source_set_enabled(s->timer, SD_EVENT_OFF);
		return;
	}
	(void)sd_event_source_set_time(s->timer, next);
	(void)sd_event_source_set_enabled(s->timer, SD_EVENT_ONESHOT);
}

static int on_server_io(sd_event_source *es, int fd, uint32_t revents, void *userdata)
{
	Server *s = userdata;

	(void)MHD_run(s->daemon);
	server_rearm(s);
	return 0;
}

static int on_server_timer(sd_event_source *es, uint64_t usec, void *userdata)
{
	return on_server_io(es, -1, 0, userdata);
}

static void log_mhd(void *cls, const char *fmt, va_list ap)
{
	char buf[512];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	buf[strcspn(buf, "\n")] = 0;
	log_debug("HTTP server: %s", buf);
}

/* The guard gave up on a client: shutdown, not close, so that libmicrohttpd, which owns the fd, sees the end of
 * the stream and closes the connection its usual way. */
static void cut_connection(int fd, void *userdata)
{
	Server *s = userdata;

	if (fd >= 0)
		(void)shutdown(fd, SHUT_RDWR);
	log_debug("Cut an API client that had not sent its request in time (%s)", s->tcp ? "TCP" : "unix socket");
}

/* Whom a connection is counted against: its IP address on TCP, its uid on the unix socket. */
static void peer_key(Server *s, struct MHD_Connection *conn, int fd, char *buf, size_t size)
{
	const union MHD_ConnectionInfo *info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = info ? info->client_addr : NULL;
	struct ucred cred;
	socklen_t len = sizeof(cred);

	snprintf(buf, size, "?");
	if (!s->tcp) {
		if (fd >= 0 && getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0)
			snprintf(buf, size, "uid %u", (unsigned)cred.uid);
	} else if (sa && sa->sa_family == AF_INET)
		(void)inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, buf, (socklen_t)size);
	else if (sa && sa->sa_family == AF_INET6)
		(void)inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, buf, (socklen_t)size);
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
	Server *s = cls;
	const union MHD_ConnectionInfo *info;
	char peer[INET6_ADDRSTRLEN + 8];
	uint64_t now;
	int fd;

	if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
		conn_guard_close(s->guard, *socket_context);
		*socket_context = NULL;
		return;
	}
	info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	fd = info ? info->connect_fd : -1;
	peer_key(s, conn, fd, peer, sizeof(peer));
	(void)sd_event_now(s->api->event, CLOCK_MONOTONIC, &now);
	*socket_context = conn_guard_open(s->guard, peer, fd, now);
	if (!*socket_context && fd >= 0)
		(void)shutdown(fd, SHUT_RDWR);
}

/* How many connections each listener may hold: what RLIMIT_NOFILE leaves after the reserve. */
static unsigned server_limit(bool tcp)
{
	struct rlimit rl;
	rlim_t soft = 1024, budget;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		soft = rl.rlim_cur == RLIM_INFINITY ? 1 << 20 : rl.rlim_cur;
	budget = soft > API_FD_RESERVE + 2 * API_MHD_SLACK + 16 ? soft - API_FD_RESERVE - 2 * API_MHD_SLACK : 16;
	return (unsigned)(tcp ? MIN(budget / 2, (rlim_t)API_TCP_MAX) : MIN(budget / 3, (rlim_t)API_UNIX_MAX));
}

static int server_start(Server *s, Api *api, int fd, bool tcp)
{
	const union MHD_DaemonInfo *info;
	ConnGuardLimits limits = {.total = server_limit(tcp), .deadline = API_HEADER_DEADLINE};
	int r;

	s->api = api;
	s->tcp = tcp;
	limits.per_peer = MAX(4u, MIN(limits.total / 4, (unsigned)API_PER_PEER_MAX));
	r = conn_guard_new(&s->guard, &limits, cut_connection, s);
	if (r < 0) {
		close(fd);
		return r;
	}
	log_debug("API %s listener: %u connections, %u awaiting their headers per peer, %u s to send them",
	          tcp ? "TCP" : "unix socket", limits.total, limits.per_peer,
	          (unsigned)(limits.deadline / USEC_PER_SEC));
	s->daemon = MHD_start_daemon(
	        MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER, log_mhd,
	        NULL, MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_LIMIT, limits.total + API_MHD_SLACK,
	        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)API_CONNECTION_TIMEOUT, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
	        (size_t)API_CONNECTION_MEMORY, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
	        MHD_OPTION_NOTIFY_CONNECTION, on_connection, s, MHD_OPTION_END);
	if (!s->daemon) {
		close(fd);
		return -EIO;
	}
	info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_EPOLL_FD);
	if (!info)
		return -EIO;
	r = sd_event_add_io(api->event, &s->io, info->epoll_fd, EPOLLIN, on_server_io, s);
	if (r < 0)
		return r;
	/* Before the engine's and sources' work: a big list read and merged over many turns of the loop must not keep
	 * /healthz (systemd's watchdog, a probe) waiting behind it. */
	(void)sd_event_source_set_priority(s->io, SD_EVENT_PRIORITY_IMPORTANT);
	r = sd_event_add_time(api->event, &s->timer, CLOCK_MONOTONIC, UINT64_MAX, 1000, on_server_timer, s);
	if (r < 0)
		return r;
	(void)sd_event_source_set_enabled(s->timer, SD_EVENT_OFF);
	return 0;
}

static void server_stop(Server *s)
{
	sd_event_source_disable_unref(s->io);
	sd_event_source_disable_unref(s->timer);
	if (s->daemon)
		MHD_stop_daemon(s->daemon); /* closes the listening socket and every connection */
	s->guard = conn_guard_free(s->guard);
}

/* ---- sockets ---- */

static int socket_from_systemd(void)
{
	int n = sd_listen_fds(true);

	for (int fd = SD_LISTEN_FDS_START; fd < SD_LISTEN_FDS_START + n; fd++)
		if (sd_is_socket_unix(fd, SOCK_STREAM, 1, NULL, 0) > 0)
			return fd;
	return -ENOENT;
}

static int make_parent_dir(const char *path)
{
	_cleanup_free_ char *dir = strdup(path);
	char *slash;

	if (!dir)
		return -ENOMEM;
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = 0;
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* A stale socket from a crashed agent is replaced; one that still answers belongs to a live agent. */
static int unlink_stale_socket(const char *path, const struct sockaddr_un *sa)
{
	struct stat st;
	_cleanup_close_ int probe = -1;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe >= 0 && connect(probe, (const struct sockaddr *)sa, sizeof(*sa)) == 0)
		return -EADDRINUSE;
	return unlink(path) < 0 ? -errno : 0;
}

static int unix_socket_new(const char *path, int mode, const char *group, ErrorText *error)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	_cleanup_close_ int fd = -1;
	int r;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		(void)error_text_set(error, 0, "--api-socket %.64s...: path too long", path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	r = make_parent_dir(path);
	if (r >= 0)
		r = unlink_stale_socket(path, &sa);
	if (r < 0) {
		(void)error_text_set(error, 0, "--api-socket %s: %s", path,
		                     r == -EADDRINUSE ? "another agent is serving it" : strerror(-r));
		return r;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 128) < 0 ||
	    chmod(path, (mode_t)mode) < 0) {
		r = -errno;
		(void)error_text_set(error, 0, "--api-socket %s: %s", path, strerror(errno));
		return r;
	}
	if (group) {
		struct group *g = getgrnam(group);
		if (!g || chown(path, (uid_t)-1, g->gr_gid) < 0) {
			(void)error_text_set(error, 0, "--api-group %s: %s", group,
			                     g ? strerror(errno) : "no such group");
			return -EINVAL;
		}
	}
	return TAKE_FD(fd);
}

/* "ADDR:PORT" or "[ADDR6]:PORT". */
static int parse_listen(const char *spec, struct sockaddr_storage *ss, socklen_t *len, bool *loopback)
{
	char host[128];
	const char *colon = strrchr(spec, ':');
	char *end;

	if (!colon || colon == spec || (size_t)(colon - spec) >= sizeof(host))
		return -EINVAL;
	memcpy(host, spec, (size_t)(colon - spec));
	host[colon - spec] = 0;
	unsigned long port = strtoul(colon + 1, &end, 10);
	if (*end || colon[1] == 0 || port == 0 || port > 65535)
		return -EINVAL;
	memset(ss, 0, sizeof(*ss));
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		host[strlen(host) - 1] = 0;
		if (inet_pton(AF_INET6, host + 1, &s6->sin6_addr) != 1)
			return -EINVAL;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		*loopback = IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr);
		*len = sizeof(*s6);
		return 0;
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
		return -EINVAL;
	s4->sin_family = AF_INET;
	s4->sin_port = htons((uint16_t)port);
	*loopback = (ntohl(s4->sin_addr.s_addr) >> 24) == 127;
	*len = sizeof(*s4);
	return 0;
}

static int tcp_socket_new(const ApiOptions *o, unsigned *ret_port, ErrorText *error)
{
	struct sockaddr_storage ss;
	socklen_t len;
	bool loopback;
	_cleanup_close_ int fd = -1;
	int one = 1;

	if (parse_listen(o->listen, &ss, &len, &loopback) < 0) {
		(void)error_text_set(error, 0, "--listen %.64s: expected ADDR:PORT, e.g. 127.0.0.1:5112", o->listen);
		return -EINVAL;
	}
	if (!loopback && !o->token) {
		(void)error_text_set(
		        error, 0,
		        "--listen %.64s is not a loopback address: give --token-file so that requests must carry the "
		        "token",
		        o->listen);
		return -EPERM;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, SOMAXCONN) < 0) {
		int r = -errno;
		(void)error_text_set(error, 0, "--listen %.64s: %s", o->listen, strerror(errno));
		return r;
	}
	*ret_port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
	                                           : ((struct sockaddr_in *)&ss)->sin_port);
	return TAKE_FD(fd);
}

static int open_unix(Api *api, const ApiOptions *o, ErrorText *error)
{
	int fd = socket_from_systemd();

	if (fd >= 0) {
		log_info("Serving the control API on the socket systemd passed");
		return fd;
	}
	fd = unix_socket_new(o->socket_path, o->socket_mode, o->socket_group, error);
	if (fd < 0)
		return fd;
	api->socket_path = strdup(o->socket_path);
	log_info("Serving the control API on %s", o->socket_path);
	return fd;
}

/* ---- the dashboard's history ---- */

static void history_sample(Api *api)
{
	const Config *c = agent_config(api->agent);
	const char *names[CONFIG_MAX_APPS];
	HistoryCounts counts[CONFIG_MAX_APPS];
	unsigned targets[CONFIG_MAX_APPS], allocated, running, starting, stopping;

	agent_get_targets(api->agent, targets);
	for (size_t i = 0; i < c->n_apps; i++) {
		agent_app_counts(api->agent, i, &allocated, &running, &starting, &stopping);
		names[i] = c->apps[i].name;
		counts[i] = (HistoryCounts){targets[i], allocated, running};
	}
	(void)history_add(api->history, realtime_ms(), c->capacity, names, counts, c->n_apps);
}

static int on_history_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	history_sample(userdata);
	return sd_event_source_set_time(s, usec + HISTORY_INTERVAL_MS * USEC_PER_MSEC);
}

static int history_start(Api *api)
{
	uint64_t now;
	int r = history_new(&api->history, HISTORY_SLOTS);

	if (r < 0)
		return r;
	(void)sd_event_now(api->event, CLOCK_MONOTONIC, &now);
	r = sd_event_add_time(api->event, &api->history_timer, CLOCK_MONOTONIC, now, USEC_PER_MSEC, on_history_timer,
	                      api);
	return r < 0 ? r : sd_event_source_set_enabled(api->history_timer, SD_EVENT_ON);
}

/* A host name as DNS has it: letters, digits, '-' and '.', at most 253 characters. */
static bool host_name_valid(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > 253 || name[0] == '.' || name[0] == '-')
		return false;
	return strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.") == n;
}

static int copy_allow_hosts(Api *api, const ApiOptions *o, ErrorText *error)
{
	if (o->n_allow_hosts == 0)
		return 0;
	api->allow_hosts = calloc(o->n_allow_hosts, sizeof(char *));
	if (!api->allow_hosts)
		return -ENOMEM;
	for (size_t i = 0; i < o->n_allow_hosts; i++) {
		if (!host_name_valid(o->allow_hosts[i]))
			return error_text_set(error, -EINVAL,
			                      "--allow-host %.64s: expected a host name (letters, digits, '-', '.')",
			                      o->allow_hosts[i]);
		api->allow_hosts[i] = strdup(o->allow_hosts[i]);
		if (!api->allow_hosts[i])
			return -ENOMEM;
		api->n_allow_hosts = i + 1;
	}
	return 0;
}

/* The dashboard's session: random, never derived from the token, forgotten when the agent stops. */
static int session_new(Api *api)
{
	unsigned char raw[API_SESSION_BYTES];

	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		return -errno;
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(api->session + 2 * i, 3, "%02x", raw[i]);
	explicit_bzero(raw, sizeof(raw));
	return 0;
}

int api_new(Api **ret, sd_event *event, Agent *agent, const ApiOptions *o, ErrorText *error)
{
	_cleanup_(api_freep) Api *api = calloc(1, sizeof(Api));
	unsigned port = 0;
	int fd, r;

	if (!api || (o->token && !(api->token = strdup(o->token))))
		return -ENOMEM;
	r = copy_allow_hosts(api, o, error);
	if (r == -ENOMEM)
		(void)error_text_set(error, 0, "out of memory");
	if (r < 0)
		return r;
	r = session_new(api);
	if (r < 0)
		return error_text_set(error, r, "failed to make a session key: %s", strerror(-r));
	api->event = sd_event_ref(event);
	api->agent = agent;
	api->submit_targets = o->submit_targets;
	api->status_hook = o->status_hook;
	api->health_hook = o->health_hook;
	api->cluster_hook = o->cluster_hook;
	api->hook_userdata = o->hook_userdata;
	r = history_start(api);
	if (r < 0)
		return error_text_set(error, r, "failed to start the dashboard history: %s", strerror(-r));
	fd = open_unix(api, o, error);
	if (fd < 0)
		return fd;
	r = server_start(&api->unix_server, api, fd, false);
	if (r >= 0 && o->listen) {
		fd = tcp_socket_new(o, &port, error);
		if (fd < 0)
			return fd;
		api->tcp_server.port = port;
		snprintf(api->cookie_name, sizeof(api->cookie_name), "force12_session_%u", port);
		r = server_start(&api->tcp_server, api, fd, true);
		if (r >= 0)
			log_info("Serving the control API on %s%s", o->listen,
			         o->token ? " (bearer token or dashboard session required)"
			                  : " (read-only: no --token-file)");
	}
	if (r < 0) {
		(void)error_text_set(error, 0, "failed to start the HTTP server: %s", strerror(-r));
		return r;
	}
	*ret = TAKE_PTR(api);
	return 0;
}

Api *api_free(Api *api)
{
	if (!api)
		return NULL;
	server_stop(&api->unix_server);
	server_stop(&api->tcp_server);
	if (api->socket_path)
		(void)unlink(api->socket_path);
	sd_event_unref(api->event);
	if (api->token)
		explicit_bzero(api->token, strlen(api->token));
	free(api->token);
	free(api->socket_path);
	for (size_t i = 0; i < api->n_allow_hosts; i++)
		free(api->allow_hosts[i]);
	free(api->allow_hosts);
	explicit_bzero(api->session, sizeof(api->session));
	api_stats_free(&api->stats);
	sd_event_source_disable_unref(api->history_timer);
	history_free(api->history);
	free(api);
	return NULL;
}
