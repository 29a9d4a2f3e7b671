// SPDX-License-Identifier: Apache-2.0
/* The file: and http:// demand sources. Both end in demand_payload_apply(): the one targets parser, then a merge
 * into the last good targets, so a bad document never changes anything. Neither blocks: the file is a bounded read
 * of a regular file, the URL goes through the libcurl multi client. */
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>

#include "force12/backoff.h"
#include "force12/demand-sources.h"
#include "force12/file-util.h"
#include "force12/http-client.h"
#include "force12/json.h"
#include "force12/log.h"
#include "force12/targets.h"
#include "force12/time-util.h"

int demand_payload_apply(const char *text, size_t len, const Config *config, unsigned *targets, ErrorText *error)
{
	unsigned parsed[CONFIG_MAX_APPS];
	int changed = 0;

	if (targets_parse(text, len, config, false, parsed, error) < 0)
		return -EINVAL;
	for (size_t i = 0; i < config->n_apps; i++)
		if (parsed[i] != TARGETS_UNSET && parsed[i] != targets[i]) {
			targets[i] = parsed[i];
			changed = 1;
		}
	return changed;
}

/* What both sources keep: the last good targets, what went wrong last, how often they were applied. */
typedef struct SourceState {
	const Config *config;
	DemandFn fn;
	void *userdata;
	unsigned targets[CONFIG_MAX_APPS];
	bool have_targets;
	char error[CONFIG_ERROR_MAX]; /* the last refusal, for status */
	unsigned updates, rejected;
} SourceState;

static void state_init(SourceState *s, const Config *config, DemandFn fn, void *userdata)
{
	*s = (SourceState){.config = config, .fn = fn, .userdata = userdata};
	for (size_t i = 0; i < CONFIG_MAX_APPS; i++)
		s->targets[i] = TARGETS_UNSET;
}

/* Applies a document; logs one line when it is refused (once per distinct reason). */
static void state_apply(SourceState *s, const char *origin, const char *text, size_t len)
{
	ErrorText error = {};
	int r = demand_payload_apply(text, len, s->config, s->targets, &error);

	if (r < 0) {
		s->rejected++;
		if (!streq(error.text, s->error))
			log_error("%s: %s; keeping the last good targets", origin, error.text);
		snprintf(s->error, sizeof(s->error), "%s", error.text);
		return;
	}
	s->error[0] = 0;
	if (r == 0 && s->have_targets)
		return;
	s->have_targets = true;
	s->updates++;
	log_info("New targets from %s", origin);
	s->fn(s->targets, s->userdata);
}

static void state_status(const SourceState *s, cJSON *o)
{
	cJSON_AddItemToObject(o, "error", s->error[0] ? cJSON_CreateString(s->error) : cJSON_CreateNull());
	cJSON_AddNumberToObject(o, "updates", s->updates);
	cJSON_AddNumberToObject(o, "rejected", s->rejected);
}

/* ---- file: ---- */

/* How often a lost directory watch is tried again (the directory was removed or moved away). */
#define FILE_REARM_USEC (1 * USEC_PER_SEC)

struct FileSource {
	SourceState state;
	sd_event *event;
	char *path, *dir, *name, *origin;
	int fd; /* inotify */
	int wd; /* the directory's watch, -1 while it is lost */
	sd_event_source *io, *rearm;
	char read_error[CONFIG_ERROR_MAX]; /* why the file could not be read last time, logged once */
	char watch_error[CONFIG_ERROR_MAX];
	uint64_t last_hash; /* of the last document read, so that an unrelated event in the directory changes nothing */
	bool have_hash;
	unsigned rearms;
};

static uint64_t fnv1a(const char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)p[i]) * 0x100000001b3ULL;
	return h;
}

/* Logs a read failure once per distinct reason. */
static void file_read_failed(FileSource *f, bool warning, const char *what)
{
	if (streq(what, f->read_error))
		return;
	snprintf(f->read_error, sizeof(f->read_error), "%s", what);
	f->have_hash = false;
	if (warning)
		log_warning("%s: %s; keeping the last good targets", f->origin, what);
	else
		log_error("%s: %s; keeping the last good targets", f->origin, what);
}

static void file_reread(FileSource *f)
{
	_cleanup_free_ char *buf = malloc(TARGETS_BODY_MAX + 1);
	char what[CONFIG_ERROR_MAX];
	uint64_t h;
	ssize_t n;

	if (!buf)
		return;
	n = read_regular_file(f->path, buf, TARGETS_BODY_MAX + 1);
	if (n == -ENOENT) {
		file_read_failed(f, true, "no such file (yet)");
		return;
	}
	if (n == -EBADFD) {
		file_read_failed(f, false, "not a regular file");
		return;
	}
	if (n < 0) {
		snprintf(what, sizeof(what), "cannot read it: %s", strerror((int)-n));
		file_read_failed(f, false, what);
		return;
	}
	f->read_error[0] = 0;
	/* Any change in the directory brings us here (a symlink swap renames a name that is not the file's): the same
	 * bytes as last time are nothing new. */
	h = fnv1a(buf, (size_t)n);
	if (f->have_hash && h == f->last_hash)
		return;
	f->last_hash = h;
	f->have_hash = true;
	state_apply(&f->state, f->origin, buf, (size_t)n);
}

#define FILE_WATCH_MASK                                                                                      \
	(IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_ATTRIB | IN_DELETE_SELF | \
	 IN_MOVE_SELF | IN_ONLYDIR)

/* Watches the directory by its path. Returns 0, or a negative errno with nothing armed. */
static int file_arm(FileSource *f)
{
	int wd = inotify_add_watch(f->fd, f->dir, FILE_WATCH_MASK);

	if (wd < 0)
		return -errno;
	f->wd = wd;
	return 0;
}

static void file_watch_lost(FileSource *f, const char *why)
{
	uint64_t now = 0;

	if (f->wd >= 0)
		(void)inotify_rm_watch(f->fd, f->wd); /* a moved directory keeps its watch: drop it */
	f->wd = -1;
	snprintf(f->watch_error, sizeof(f->watch_error), "the watch on %s is lost (%s); trying again every second",
	         f->dir, why);
	log_error("%s: %s; keeping the last good targets", f->origin, f->watch_error);
	(void)sd_event_now(f->event, CLOCK_MONOTONIC, &now);
	(void)sd_event_source_set_time(f->rearm, now + FILE_REARM_USEC);
	(void)sd_event_source_set_enabled(f->rearm, SD_EVENT_ONESHOT);
}

static int on_rearm(sd_event_source *s, uint64_t usec, void *userdata)
{
	FileSource *f = userdata;

	if (f->wd >= 0)
		return 0;
	if (file_arm(f) < 0) {
		(void)sd_event_source_set_time(s, usec + FILE_REARM_USEC);
		(void)sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
		return 0;
	}
	f->rearms++;
	f->watch_error[0] = 0;
	log_info("%s: watching %s again", f->origin, f->dir);
	file_reread(f);
	return 0;
}

/* A new name is read at once only if it is a symlink (created whole); a new regular file is read when its writer
 * closes it (IN_CLOSE_WRITE), not half-written. */
static bool created_symlink(const FileSource *f, const char *name)
{
	_cleanup_free_ char *p = NULL;
	struct stat st;

	if (asprintf(&p, "%s/%s", f->dir, name) < 0)
		return true;
	return lstat(p, &st) < 0 || S_ISLNK(st.st_mode);
}

static int on_inotify(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	FileSource *f = userdata;
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool changed = false;
	const char *lost = NULL;
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *ev = (struct inotify_event *)p;
			if (ev->mask & IN_Q_OVERFLOW)
				changed = true;
			else if (ev->wd == f->wd && f->wd >= 0) {
				if (ev->mask & IN_DELETE_SELF)
					lost = "the directory was removed";
				else if (ev->mask & IN_MOVE_SELF)
					lost = "the directory was moved away";
				else if (ev->mask & IN_IGNORED)
					lost = lost ?: "the kernel dropped it";
				else if (ev->mask & IN_CREATE)
					changed = changed || created_symlink(f, ev->name);
				else
					changed = true;
			}
			p += sizeof(*ev) + ev->len;
		}
	if (lost) {
		file_watch_lost(f, lost);
		return 0;
	}
	/* Any name in the directory: the file itself (a rename into place, a write that finished) or a link on its
	 * way (a ConfigMap's ..data re-pointed). file_reread() ignores the same bytes. */
	if (changed)
		file_reread(f);
	return 0;
}

int file_source_new(FileSource **ret, sd_event *event, const char *path, const Config *config, DemandFn fn,
                    void *userdata, ErrorText *error)
{
	_cleanup_(file_source_freep) FileSource *f = calloc(1, sizeof(FileSource));
	_cleanup_free_ char *d = NULL, *b = NULL;
	int r;

	if (!f)
		return -ENOMEM;
	f->fd = -1;
	f->wd = -1;
	if (!path[0] || path[strlen(path) - 1] == '/') {
		(void)error_text_set(error, 0, "--demand file:%.64s: expected the path of a file", path);
		return -EINVAL;
	}
	state_init(&f->state, config, fn, userdata);
	f->event = sd_event_ref(event);
	if (!(d = strdup(path)) || !(b = strdup(path)) || !(f->path = strdup(path)) || !(f->dir = strdup(dirname(d))) ||
	    !(f->name = strdup(basename(b))) || asprintf(&f->origin, "file:%s", path) < 0)
		return -ENOMEM;
	f->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (f->fd < 0)
		return -errno;
	r = file_arm(f);
	if (r < 0) {
		(void)error_text_set(error, 0, "--demand file:%.64s: cannot watch the directory %.64s: %s", path,
		                     f->dir, strerror(-r));
		return r == -ENOMEM ? r : -EINVAL;
	}
	r = sd_event_add_io(event, &f->io, f->fd, EPOLLIN, on_inotify, f);
	if (r < 0)
		return r;
	r = sd_event_add_time(event, &f->rearm, CLOCK_MONOTONIC, 0, 0, on_rearm, f);
	if (r < 0)
		return r;
	(void)sd_event_source_set_enabled(f->rearm, SD_EVENT_OFF);
	log_info("Targets from %s, read again whenever it changes", f->origin);
	file_reread(f);
	*ret = TAKE_PTR(f);
	return 0;
}

FileSource *file_source_free(FileSource *f)
{
	if (!f)
		return NULL;
	sd_event_source_disable_unref(f->io);
	sd_event_source_disable_unref(f->rearm);
	sd_event_unref(f->event);
	if (f->fd >= 0)
		close(f->fd);
	free(f->path);
	free(f->dir);
	free(f->name);
	free(f->origin);
	free(f);
	return NULL;
}

cJSON *file_source_status_json(const FileSource *f)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "source", f->origin);
	state_status(&f->state, o);
	/* A lost watch is the error that matters most: nothing is read until it is back. */
	if (f->watch_error[0])
		cJSON_ReplaceItemInObject(o, "error", cJSON_CreateString(f->watch_error));
	else if (f->read_error[0] && !f->state.error[0])
		cJSON_ReplaceItemInObject(o, "error", cJSON_CreateString(f->read_error));
	cJSON_AddBoolToObject(o, "watching", f->wd >= 0);
	cJSON_AddNumberToObject(o, "rearms", f->rearms);
	return o;
}

/* ---- http:// ---- */

struct HttpSource {
	SourceState state;
	sd_event *event;
	HttpClient *http;
	HttpRequest *req;
	sd_event_source *timer;
	char *url, *origin, *etag;
	uint64_t interval_usec;
	unsigned failures, not_modified;
};

static uint64_t http_next_delay(const HttpSource *h)
{
	return backoff_delay(h->interval_usec, DEMAND_HTTP_BACKOFF_MAX * USEC_PER_SEC, h->failures + 1);
}

static void http_failed(HttpSource *h, const char *fmt, const char *arg)
{
	char what[CONFIG_ERROR_MAX];

	snprintf(what, sizeof(what), fmt, arg);
	h->failures++;
	if (!streq(what, h->state.error))
		log_warning("%s: %s; keeping the last good targets, polling again in %.0f s", h->origin, what,
		            http_next_delay(h) / (double)USEC_PER_SEC);
	snprintf(h->state.error, sizeof(h->state.error), "%s", what);
}

static void http_answer(HttpSource *h, HttpRequest *req, long status, const char *body, size_t len)
{
	const char *etag;
	char line[32];

	if (status == 304) {
		h->not_modified++;
		h->failures = 0;
		h->state.error[0] = 0;
		return;
	}
	if (status != 200) {
		snprintf(line, sizeof(line), "HTTP %ld", status);
		http_failed(h, "the server answered %s", line);
		return;
	}
	h->failures = 0;
	state_apply(&h->state, h->origin, body, len);
	if (h->state.error[0])
		return; /* no ETag for a refused document: the next poll fetches it whole again */
	etag = http_request_header(req, "ETag");
	free(h->etag);
	h->etag = etag && strlen(etag) < 256 && !strpbrk(etag, "\r\n") ? strdup(etag) : NULL;
}

static void on_http_done(HttpRequest *req, int error, long status, const char *body, size_t len, void *userdata)
{
	HttpSource *h = userdata;
	uint64_t now = 0;

	h->req = NULL;
	if (error == -EMSGSIZE)
		http_failed(h, "the answer is over %s bytes", "65536");
	else if (error < 0)
		http_failed(h, "%s", http_request_error_text(req));
	else
		http_answer(h, req, status, body, len);
	(void)sd_event_now(h->event, CLOCK_MONOTONIC, &now);
	(void)sd_event_source_set_time(h->timer, now + http_next_delay(h));
	(void)sd_event_source_set_enabled(h->timer, SD_EVENT_ONESHOT);
}

static int on_http_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	HttpSource *h = userdata;
	_cleanup_free_ char *inm = NULL;
	const char *headers[] = {"Accept: application/json", NULL, NULL};
	int r;

	if (h->etag) {
		if (asprintf(&inm, "If-None-Match: %s", h->etag) < 0)
			return 0;
		headers[1] = inm;
	}
	HttpRequestSpec spec = {
	        .url = h->url,
	        .headers = headers,
	        .timeout_msec = DEMAND_HTTP_TIMEOUT_MSEC,
	        .max_response = TARGETS_BODY_MAX,
	};
	r = http_request_start(h->http, &spec, on_http_done, h, &h->req);
	if (r < 0) {
		http_failed(h, "cannot start a request: %s", strerror(-r));
		(void)sd_event_source_set_time(s, usec + http_next_delay(h));
		(void)sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
	}
	return 0;
}

static bool url_is_valid(const char *url)
{
	size_t n = strlen(url);

	if (n > 2048 || strpbrk(url, " \t\r\n"))
		return false;
	if (strncmp(url, "http://", 7) == 0)
		return n > 7;
	return strncmp(url, "https://", 8) == 0 && n > 8;
}

int http_source_new(HttpSource **ret, sd_event *event, const char *url, unsigned interval, const Config *config,
                    DemandFn fn, void *userdata, ErrorText *error)
{
	_cleanup_(http_source_freep) HttpSource *h = calloc(1, sizeof(HttpSource));
	int r;

	if (!h)
		return -ENOMEM;
	if (!url_is_valid(url)) {
		(void)error_text_set(error, 0, "--demand %.64s: expected http://HOST[:PORT]/PATH", url);
		return -EINVAL;
	}
	state_init(&h->state, config, fn, userdata);
	h->event = sd_event_ref(event);
	h->interval_usec = (interval ? interval : DEMAND_HTTP_DEFAULT_INTERVAL) * USEC_PER_SEC;
	if (!(h->url = strdup(url)) || !(h->origin = strdup(url)))
		return -ENOMEM;
	r = http_client_new(&h->http, event);
	if (r < 0)
		return r;
	/* The first poll at once, from the loop. */
	r = sd_event_add_time(event, &h->timer, CLOCK_MONOTONIC, 0, 0, on_http_timer, h);
	if (r < 0)
		return r;
	log_info("Targets from %s, polled every %.0f s", url, h->interval_usec / (double)USEC_PER_SEC);
	*ret = TAKE_PTR(h);
	return 0;
}

HttpSource *http_source_free(HttpSource *h)
{
	if (!h)
		return NULL;
	http_request_cancel(h->req);
	http_client_free(h->http);
	sd_event_source_disable_unref(h->timer);
	sd_event_unref(h->event);
	free(h->url);
	free(h->origin);
	free(h->etag);
	free(h);
	return NULL;
}

cJSON *http_source_status_json(const HttpSource *h)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "source", h->url);
	state_status(&h->state, o);
	cJSON_AddNumberToObject(o, "not_modified", h->not_modified);
	cJSON_AddNumberToObject(o, "failures", h->failures);
	cJSON_AddNumberToObject(o, "interval", h->interval_usec / (double)USEC_PER_SEC);
	return o;
}
