// SPDX-License-Identifier: Apache-2.0
/* force12-observe: records what any container scaler does to a Docker host, as CSV, for the comparison runs.
 * It follows the engine's /events (start, kill, die, stop, destroy), samples GET /containers/json?all=1 once a
 * second (running per app, stopped containers, the list's latency) and timestamps the demand a driver announces
 * through a FIFO. It only reads the engine: it never creates, stops or removes anything, and needs nothing from
 * the system under test, so it runs beside a real ECS Agent as well as beside force12.
 *
 * CSV (one row per line, header "time,kind,app,container,value"; lines starting with '#' are comments):
 *   time       seconds since the epoch (engine time for events, the observer's clock for the rest)
 *   demand     app, value = the demand the driver announced
 *   start | stop | destroy   app, container (12 hex digits)
 *   kill       app, container, value = the signal
 *   die        app, container, value = the exit code
 *   running    app, value = its running containers (every app seen so far, once a second)
 *   stopped    value = exited or dead containers that match the filter; engine_stopped: on the whole engine
 *   list_ms    value = milliseconds GET /containers/json?all=1 took
 *   engine_lost  the engine's event stream ended while the observer ran (an engine restart, or the engine gone):
 *              a run that has one is not a valid result
 */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-event.h>
#include <time.h>

#include "force12/http-client.h"
#include "force12/json.h"
#include "force12/log.h" /* RateLimit only: its lines would say force12-agent */

#define OBSERVE_VERSION      "1"
#define MAX_APPS             64
#define APP_MAX              128
#define LABEL_MAX            256
#define DEMAND_LINE_MAX      4096
#define LIST_MAX_RESPONSE    (64u * 1024 * 1024)
#define LIST_TIMEOUT_MSEC    (30 * 1000ULL)
#define SAMPLE_INTERVAL_USEC (1000000ULL)
#define RECONNECT_USEC       (1000000ULL)

typedef struct Observer {
	sd_event *event;
	HttpClient *http; /* the event stream and the unfiltered list */
	const char *socket;
	char label_key[LABEL_MAX];
	char filter_key[LABEL_MAX], filter_value[LABEL_MAX]; /* filter_key empty: no filter */
	FILE *out;
	sd_event_source *tick, *reconnect, *fifo_source;
	int fifo_fd;
	char fifo_buf[DEMAND_LINE_MAX];
	size_t fifo_len;
	bool fifo_overlong;
	HttpRequest *events;
	bool list_in_flight;
	uint64_t list_started;
	char apps[MAX_APPS][APP_MAX];
	size_t n_apps;
	RateLimit warn_limit;
	int write_error;
	bool stopping; /* being freed: a stream that ends now was ended by us */
} Observer;

/* One line on stderr; with an error, its text after a colon. Returns -abs(error) for "return say_errno(...)". */
_printf_(2, 3) static int say_errno(int error, const char *format, ...)
{
	va_list ap;

	fputs("force12-observe: ", stderr);
	va_start(ap, format);
	vfprintf(stderr, format, ap);
	va_end(ap);
	if (error)
		fprintf(stderr, ": %s", strerror(abs(error)));
	fputc('\n', stderr);
	return -abs(error);
}
#define say(...) say_errno(0, __VA_ARGS__)

static double now_realtime(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t now_monotonic(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000;
}

/* App names and ids go into a CSV: anything but a small safe set becomes '_', and they are cut to size. */
static void sanitize(char *dst, size_t size, const char *src)
{
	size_t i = 0;

	for (; src[i] && i + 1 < size; i++)
		dst[i] = strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:/@-", src[i]) ? src[i]
		                                                                                                : '_';
	dst[i] = 0;
}

static int app_index(Observer *o, const char *name)
{
	for (size_t i = 0; i < o->n_apps; i++)
		if (streq(o->apps[i], name))
			return (int)i;
	if (o->n_apps >= MAX_APPS)
		return -E2BIG;
	snprintf(o->apps[o->n_apps], APP_MAX, "%s", name);
	return (int)o->n_apps++;
}

static void row(Observer *o, double time, const char *kind, const char *app, const char *container, const char *value)
{
	if (fprintf(o->out, "%.3f,%s,%s,%s,%s\n", time, kind, app ?: "", container ?: "", value ?: "") < 0)
		o->write_error = -errno;
}

static void flush(Observer *o)
{
	if (fflush(o->out) != 0 && !o->write_error) {
		o->write_error = negative_errno();
		say_errno(o->write_error, "Failed to write the CSV");
		sd_event_exit(o->event, 1);
	}
}

static bool warn_allowed(Observer *o)
{
	return ratelimit_below(&o->warn_limit, now_monotonic());
}

/* ---- the event stream ---- */

static const char *attribute(const cJSON *attrs, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(attrs, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool passes_filter(const Observer *o, const cJSON *labels)
{
	const char *v;

	if (!o->filter_key[0])
		return true;
	v = attribute(labels, o->filter_key);
	return v && streq(v, o->filter_value);
}

static void on_event(const cJSON *event, void *userdata)
{
	static const char *const actions[] = {"start", "kill", "die", "stop", "destroy"};
	Observer *o = userdata;
	const cJSON *action = cJSON_GetObjectItemCaseSensitive(event, "Action");
	const cJSON *actor = cJSON_GetObjectItemCaseSensitive(event, "Actor");
	const cJSON *attrs = cJSON_GetObjectItemCaseSensitive(actor, "Attributes");
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(actor, "ID");
	const cJSON *nano = cJSON_GetObjectItemCaseSensitive(event, "timeNano");
	const char *app_raw = attribute(attrs, o->label_key), *value = NULL;
	char app[APP_MAX], container[16];
	size_t a;

	if (!cJSON_IsString(action) || !cJSON_IsString(id) || !cJSON_IsNumber(nano) || !app_raw ||
	    !passes_filter(o, attrs))
		return;
	for (a = 0; a < ELEMENTSOF(actions); a++)
		if (streq(action->valuestring, actions[a]))
			break;
	if (a == ELEMENTSOF(actions))
		return;
	if (streq(actions[a], "kill"))
		value = attribute(attrs, "signal");
	else if (streq(actions[a], "die"))
		value = attribute(attrs, "exitCode");
	if ((streq(actions[a], "kill") || streq(actions[a], "die")) &&
	    (!value || strspn(value, "0123456789") != strlen(value) || !value[0]))
		return;
	sanitize(app, sizeof(app), app_raw);
	sanitize(container, 13, id->valuestring);
	(void)app_index(o, app);
	row(o, nano->valuedouble / 1e9, actions[a], app, container, value);
	flush(o);
}

static int events_start(Observer *o);

static int on_reconnect(sd_event_source *s, uint64_t usec, void *userdata)
{
	Observer *o = userdata;
	int r = events_start(o);

	if (r < 0) {
		if (warn_allowed(o))
			say_errno(r, "Failed to follow the engine's events; retrying");
		(void)sd_event_source_set_time_relative(s, RECONNECT_USEC);
		(void)sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
	}
	return 0;
}

static void schedule_reconnect(Observer *o)
{
	(void)sd_event_source_set_time_relative(o->reconnect, RECONNECT_USEC);
	(void)sd_event_source_set_enabled(o->reconnect, SD_EVENT_ONESHOT);
}

static void on_events_end(HttpRequest *req, int error, long status, const char *body, size_t len, void *userdata)
{
	Observer *o = userdata;

	o->events = NULL;
	if (o->stopping)
		return;
	row(o, now_realtime(), "engine_lost", NULL, NULL, NULL);
	if (warn_allowed(o))
		say("The engine's event stream ended (%s); reconnecting, events meanwhile are lost",
		    error < 0 ? http_request_error_text(req) : "closed");
	schedule_reconnect(o);
}

/* The raw JSON lines of /events: the observer needs every attribute, not the agent's typed view of them. */
static int on_event_line(HttpRequest *req, const char *line, size_t len, void *userdata)
{
	_cleanup_json_ cJSON *j = cJSON_ParseWithLength(line, len);

	if (j)
		on_event(j, userdata);
	return 0;
}

static int events_start(Observer *o)
{
	_cleanup_free_ char *filter = NULL, *escaped = NULL, *url = NULL;
	char label[2 * LABEL_MAX + 2];

	/* The engine filters by the filter label when there is one, else by the presence of the app label. */
	if (o->filter_key[0])
		snprintf(label, sizeof(label), "%s=%s", o->filter_key, o->filter_value);
	else
		snprintf(label, sizeof(label), "%s", o->label_key);
	if (strpbrk(label, "\"\\") || asprintf(&filter, "{\"type\":[\"container\"],\"label\":[\"%s\"]}", label) < 0 ||
	    !(escaped = curl_easy_escape(NULL, filter, 0)) ||
	    asprintf(&url, "http://localhost/events?filters=%s", escaped) < 0)
		return -EINVAL;
	HttpRequestSpec spec = {.url = url, .unix_socket = o->socket, .on_line = on_event_line};
	return http_request_start(o->http, &spec, on_events_end, o, &o->events);
}

/* ---- the once-a-second sample ---- */

static void count_containers(Observer *o, const cJSON *list, int *running, int *stopped, int *engine_stopped)
{
	const cJSON *c;

	cJSON_ArrayForEach (c, list) {
		const cJSON *state = cJSON_GetObjectItemCaseSensitive(c, "State");
		const cJSON *labels = cJSON_GetObjectItemCaseSensitive(c, "Labels");
		const char *app_raw = attribute(labels, o->label_key);
		bool is_stopped = cJSON_IsString(state) &&
		                  (streq(state->valuestring, "exited") || streq(state->valuestring, "dead"));
		char app[APP_MAX];
		int i;

		*engine_stopped += is_stopped;
		if (!passes_filter(o, labels))
			continue;
		*stopped += is_stopped;
		if (!app_raw || !cJSON_IsString(state) || !streq(state->valuestring, "running"))
			continue;
		sanitize(app, sizeof(app), app_raw);
		i = app_index(o, app);
		if (i >= 0)
			running[i]++;
	}
}

static void on_list(HttpRequest *req, int error, long status, const char *body, size_t len, void *userdata)
{
	Observer *o = userdata;
	double ms = (double)(now_monotonic() - o->list_started) / 1000.0, t = now_realtime();
	int running[MAX_APPS] = {0}, stopped = 0, engine_stopped = 0;
	char v[32];

	o->list_in_flight = false;
	_cleanup_json_ cJSON *list = error == 0 && status == 200 ? cJSON_ParseWithLength(body, len) : NULL;
	if (!cJSON_IsArray(list)) {
		if (warn_allowed(o))
			say("GET /containers/json?all=1 failed (%s), no sample this second",
			    error < 0 ? http_request_error_text(req) : "not a JSON array");
		return;
	}
	count_containers(o, list, running, &stopped, &engine_stopped);
	for (size_t i = 0; i < o->n_apps; i++) {
		snprintf(v, sizeof(v), "%d", running[i]);
		row(o, t, "running", o->apps[i], NULL, v);
	}
	snprintf(v, sizeof(v), "%d", stopped);
	row(o, t, "stopped", NULL, NULL, v);
	snprintf(v, sizeof(v), "%d", engine_stopped);
	row(o, t, "engine_stopped", NULL, NULL, v);
	snprintf(v, sizeof(v), "%.1f", ms);
	row(o, t, "list_ms", NULL, NULL, v);
	flush(o);
}

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata)
{
	Observer *o = userdata;
	HttpRequestSpec spec = {
	        .url = "http://localhost/containers/json?all=1",
	        .unix_socket = o->socket,
	        .timeout_msec = LIST_TIMEOUT_MSEC,
	        .max_response = LIST_MAX_RESPONSE,
	};
	int r;

	(void)sd_event_source_set_time(s, usec + SAMPLE_INTERVAL_USEC);
	if (o->list_in_flight)
		return 0; /* the last one is still running: its latency is the figure, not a second request */
	o->list_started = now_monotonic();
	r = http_request_start(o->http, &spec, on_list, o, NULL);
	if (r < 0) {
		/* Logged, not returned: a failing callback would disable the timer for good. */
		say_errno(r, "Failed to list the engine's containers");
		return 0;
	}
	o->list_in_flight = true;
	return 0;
}

/* ---- demand announcements ---- */

/* "APP=N APP=N ...": all or nothing. */
static int demand_line(Observer *o, char *line)
{
	char *tokens[MAX_APPS], *save = NULL, *tok;
	size_t n = 0;
	double t = now_realtime();

	for (tok = strtok_r(line, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
		char *eq = strchr(tok, '=');
		if (n == MAX_APPS || !eq || eq == tok || (size_t)(eq - tok) >= APP_MAX || !eq[1] ||
		    strspn(eq + 1, "0123456789") != strlen(eq + 1) || strlen(eq + 1) > 7)
			return -EINVAL;
		*eq = 0;
		char app[APP_MAX];
		sanitize(app, sizeof(app), tok);
		if (!streq(app, tok))
			return -EINVAL;
		*eq = '=';
		tokens[n++] = tok;
	}
	if (n == 0)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		char *eq = strchr(tokens[i], '=');
		*eq = 0;
		(void)app_index(o, tokens[i]);
		row(o, t, "demand", tokens[i], NULL, eq + 1);
	}
	flush(o);
	return 0;
}

static void demand_feed(Observer *o, const char *data, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (data[i] != '\n') {
			if (o->fifo_len + 1 >= sizeof(o->fifo_buf))
				o->fifo_overlong = true;
			else
				o->fifo_buf[o->fifo_len++] = data[i];
			continue;
		}
		o->fifo_buf[o->fifo_len] = 0;
		char copy[DEMAND_LINE_MAX];
		memcpy(copy, o->fifo_buf, o->fifo_len + 1); /* demand_line() cuts its line into tokens */
		if (o->fifo_overlong || demand_line(o, copy) < 0)
			say("Demand line \"%.80s\" is not \"APP=N [APP=N...]\" (at most %d bytes), ignoring",
			    o->fifo_buf, DEMAND_LINE_MAX - 1);
		o->fifo_len = 0;
		o->fifo_overlong = false;
	}
}

static int on_fifo(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	Observer *o = userdata;
	char buf[4096];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		demand_feed(o, buf, (size_t)n);
	if (n < 0 && errno != EAGAIN && errno != EINTR)
		return say_errno(errno, "Failed to read the demand FIFO");
	return 0;
}

static int fifo_open(Observer *o, const char *path)
{
	struct stat st;
	int r;

	if (mkfifo(path, 0600) < 0 && errno != EEXIST)
		return say_errno(errno, "Failed to create the demand FIFO %s", path);
	/* Read-write, so that the FIFO never reports end-of-file between two writers. */
	o->fifo_fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (o->fifo_fd < 0)
		return say_errno(errno, "Failed to open the demand FIFO %s", path);
	if (fstat(o->fifo_fd, &st) < 0 || !S_ISFIFO(st.st_mode)) {
		say("%s exists and is not a FIFO", path);
		return -EINVAL;
	}
	r = sd_event_add_io(o->event, &o->fifo_source, o->fifo_fd, EPOLLIN, on_fifo, o);
	return r < 0 ? say_errno(r, "Failed to watch the demand FIFO") : 0;
}

/* ---- main ---- */

typedef struct Args {
	const char *socket, *label_key, *filter, *fifo, *output;
	unsigned long duration;
} Args;

static void help(void)
{
	printf("Usage: force12-observe [OPTIONS]\n"
	       "Records what happens to the containers of a Docker host as CSV (time,kind,app,container,value):\n"
	       "demand announced by a driver, every start, kill, die (exit code), stop and removal, and once a\n"
	       "second the running containers per app, the stopped containers and the latency of\n"
	       "GET /containers/json?all=1. It only reads the engine.\n\n"
	       "  --docker-socket PATH  engine socket (default: $DOCKER_HOST when unix://..., else "
	       "/var/run/docker.sock)\n"
	       "  --label-key KEY       the label that names a container's app (default io.force12.app;\n"
	       "                        ECS tasks: com.amazonaws.ecs.container-name)\n"
	       "  --filter KEY=VALUE    count only containers carrying this label (default: all with the app label;\n"
	       "                        stopped containers: all of the engine)\n"
	       "  --demand-fifo PATH    read demand announcements from this FIFO (created if missing), one line\n"
	       "                        per change: APP=N [APP=N...]\n"
	       "  -o, --output FILE     write the CSV here (default: standard output)\n"
	       "  --duration SECONDS    stop after this long (default: at SIGTERM or SIGINT)\n"
	       "  -h, --help, --version\n"
	       "Exit status: 0 after a clean stop, 1 on a runtime failure, 2 on bad usage.\n");
}

static int usage_error(const char *format, const char *arg)
{
	fprintf(stderr, "force12-observe: ");
	fprintf(stderr, format, arg);
	fprintf(stderr, "; try --help\n");
	return -EINVAL;
}

static bool label_ok(const char *s, size_t max)
{
	return s[0] && strlen(s) < max && !strpbrk(s, "\"\\\n\r,=");
}

static int parse_args(int argc, char **argv, Args *a)
{
	static const struct option options[] = {
	        {"docker-socket", required_argument, NULL, 'S'},
	        {"label-key", required_argument, NULL, 'k'},
	        {"filter", required_argument, NULL, 'f'},
	        {"demand-fifo", required_argument, NULL, 'F'},
	        {"output", required_argument, NULL, 'o'},
	        {"duration", required_argument, NULL, 'd'},
	        {"help", no_argument, NULL, 'h'},
	        {"version", no_argument, NULL, 'V'},
	        {},
	};
	const char *host = getenv("DOCKER_HOST");
	char *end;
	int c;

	*a = (Args){.socket = "/var/run/docker.sock", .label_key = "io.force12.app"};
	if (host && strncmp(host, "unix://", 7) == 0)
		a->socket = host + 7;
	while ((c = getopt_long(argc, argv, "ho:", options, NULL)) >= 0)
		switch (c) {
		case 'S':
			a->socket = optarg;
			break;
		case 'k':
			a->label_key = optarg;
			break;
		case 'f':
			a->filter = optarg;
			break;
		case 'F':
			a->fifo = optarg;
			break;
		case 'o':
			a->output = optarg;
			break;
		case 'd':
			errno = 0;
			a->duration = strtoul(optarg, &end, 10);
			if (errno || *end || optarg[0] < '0' || optarg[0] > '9' || a->duration == 0 ||
			    a->duration > 30 * 24 * 3600UL)
				return usage_error("--duration: \"%.32s\" is not a number of seconds in 1..2592000",
				                   optarg);
			break;
		case 'h':
			help();
			return 1;
		case 'V':
			printf("force12-observe " OBSERVE_VERSION "\n");
			return 1;
		default:
			return -EINVAL;
		}
	if (optind < argc)
		return usage_error("unexpected argument \"%.64s\"", argv[optind]);
	if (!label_ok(a->label_key, LABEL_MAX))
		return usage_error("--label-key: \"%.64s\" must be a label key without '\"', '\\', ',' or '='",
		                   a->label_key);
	if (a->filter) {
		const char *eq = strchr(a->filter, '=');
		if (!eq || eq == a->filter || strlen(a->filter) >= LABEL_MAX || strpbrk(a->filter, "\"\\\n\r,"))
			return usage_error("--filter: \"%.64s\" must be KEY=VALUE (no '\"', '\\' or ',')", a->filter);
	}
	if (strlen(a->socket) >= 108)
		return usage_error("--docker-socket: \"%.64s...\" is longer than a unix socket path may be", a->socket);
	return 0;
}

static Observer *observer_free(Observer *o)
{
	if (!o)
		return NULL;
	sd_event_source_disable_unref(o->tick);
	sd_event_source_disable_unref(o->reconnect);
	sd_event_source_disable_unref(o->fifo_source);
	if (o->fifo_fd >= 0)
		close(o->fifo_fd);
	o->stopping = true;
	http_request_cancel(o->events);
	http_client_free(o->http);
	if (o->out && o->out != stdout)
		fclose(o->out);
	sd_event_unref(o->event);
	free(o);
	return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(Observer *, observer_free);

static int observer_new(Observer **ret, const Args *a)
{
	_cleanup_(observer_freep) Observer *o = calloc(1, sizeof(Observer));
	int r;

	if (!o)
		return say_errno(ENOMEM, "Out of memory");
	o->fifo_fd = -1;
	o->socket = a->socket;
	o->warn_limit = (RateLimit)RATELIMIT_INIT(10 * 1000000ULL, 5);
	snprintf(o->label_key, sizeof(o->label_key), "%s", a->label_key);
	if (a->filter) {
		const char *eq = strchr(a->filter, '=');
		snprintf(o->filter_key, sizeof(o->filter_key), "%.*s", (int)(eq - a->filter), a->filter);
		snprintf(o->filter_value, sizeof(o->filter_value), "%s", eq + 1);
	}
	o->out = a->output ? fopen(a->output, "we") : stdout;
	if (!o->out)
		return say_errno(errno, "Failed to open %s", a->output);
	r = sd_event_default(&o->event);
	if (r >= 0)
		r = http_client_new(&o->http, o->event);
	if (r >= 0)
		r = sd_event_add_time_relative(o->event, &o->tick, CLOCK_MONOTONIC, 0, 1, on_tick, o);
	if (r >= 0)
		r = sd_event_source_set_enabled(o->tick, SD_EVENT_ON);
	if (r >= 0)
		r = sd_event_add_time_relative(o->event, &o->reconnect, CLOCK_MONOTONIC, RECONNECT_USEC, 0,
		                               on_reconnect, o);
	if (r >= 0)
		r = sd_event_source_set_enabled(o->reconnect, SD_EVENT_OFF);
	if (r >= 0 && a->duration)
		r = sd_event_add_time_relative(o->event, NULL, CLOCK_MONOTONIC, a->duration * 1000000ULL, 0, NULL,
		                               NULL);
	if (r < 0)
		return say_errno(r, "Failed to set up the event loop");
	if (a->fifo) {
		r = fifo_open(o, a->fifo);
		if (r < 0)
			return r;
	}
	*ret = TAKE_PTR(o);
	return 0;
}

int main(int argc, char **argv)
{
	_cleanup_(observer_freep) Observer *o = NULL;
	Args a;
	sigset_t mask;
	int r;

	r = parse_args(argc, argv, &a);
	if (r != 0)
		return r > 0 ? 0 : 2;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (observer_new(&o, &a) < 0)
		return 1;
	if (sd_event_add_signal(o->event, NULL, SIGTERM, NULL, NULL) < 0 ||
	    sd_event_add_signal(o->event, NULL, SIGINT, NULL, NULL) < 0)
		return 1;
	fprintf(o->out, "# force12-observe " OBSERVE_VERSION ": socket=%s label_key=%s filter=%s%s%s\n", a.socket,
	        o->label_key, o->filter_key, o->filter_key[0] ? "=" : "", o->filter_value);
	fprintf(o->out, "time,kind,app,container,value\n");
	flush(o);
	r = events_start(o);
	if (r < 0) {
		say_errno(r, "Failed to follow the engine's events; retrying");
		schedule_reconnect(o);
	}
	r = sd_event_loop(o->event);
	flush(o);
	if (r < 0)
		return say_errno(r, "Event loop failed"), 1;
	return r == 0 && !o->write_error ? 0 : 1;
}
