// SPDX-License-Identifier: Apache-2.0
/* fake-engine: the subset of the Docker Engine API (v1.41) that force12 uses, on unix sockets, with every container
 * in memory (up to 1,000,000 an engine), per-call latencies, failure injection and an event log, so that scale can
 * be shown without starting real containers. One process may serve many engines (one socket each: the cluster
 * simulation). A test tool only: HTTP is libmicrohttpd's, one thread per connection, so a slow call (its latency)
 * holds only its own connection. It never runs anything. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define API_VERSION    "1.41"
#define ENGINE_VERSION "20.10.24-fake"
#define BODY_MAX       (1u << 20)
#define NO_INDEX       UINT32_MAX
#define MAX_LABELS     64
#define NETWORK_ID     "f2ff2b878bfa5153cada721d3e7c62c33d02d42bbca61837a72208c5cc226973"

enum {
	L_CREATE,
	L_START,
	L_STOP,
	L_REMOVE,
	L_KILL,
	L_PAUSE,
	L_UNPAUSE,
	L_LIST,
	L_INSPECT,
	_L_MAX
};
static const char *const latency_names[_L_MAX] = {"create", "start",   "stop", "remove", "kill",
                                                  "pause",  "unpause", "list", "inspect"};
/* This machine's dockerd, measured for issue 16 (a trapping busybox); the rest are quick. */
static const unsigned latency_default_ms[_L_MAX] = {48, 455, 143, 30, 20, 20, 20, 0, 0};

typedef enum {
	ST_CREATED,
	ST_RUNNING,
	ST_PAUSED,
	ST_EXITED
} State;
static const char *const state_names[] = {"created", "running", "paused", "exited"};

/* Interned: label sets, images and commands are shared by every container that has the same ones, never freed. */
typedef struct LabelSet {
	struct LabelSet *next;
	char *json; /* {"k":"v",...}, also the key of the intern table */
	size_t n;
	char *keys[MAX_LABELS], *vals[MAX_LABELS];
	const char *agent, *app; /* io.force12.agent / io.force12.app, or NULL */
} LabelSet;

typedef struct Ctr {
	char id[65];
	char name[64];
	char endpoint[65]; /* the network endpoint's id: listed, so it counts in a list's size */
	const LabelSet *labels;
	const char *image, *cmd_json, *cmd_text, *network;
	State state;
	bool used, busy;
	int exit_code, pid;
	int64_t created_ns, started_ns, finished_ns;
	uint32_t next_id, next_name; /* hash chains */
} Ctr;

typedef struct Event {
	uint64_t seq;
	char *line;
	const LabelSet *labels;
	char id[65];
	char name[64];
	const char *action;
} Event;

typedef struct Engine {
	unsigned index;
	char path[108];
	char node[128]; /* for --preload */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct MHD_Daemon *daemon;
	Ctr *slots;
	uint32_t n_slots, size_slots, n_used, n_running, *free_list, n_free;
	uint32_t *id_buckets, *name_buckets, n_buckets;
	Event *ring;
	uint64_t ev_seq; /* events emitted so far; the ring holds the last ring_size */
	uint64_t drop_gen;
	int64_t stall_until_ns;
	double fail_rate;
	unsigned latency_ms[_L_MAX];
	bool off;
	uint64_t requests, lists, failures_injected;
	int64_t last_list_start_ns, last_list_end_ns;
	unsigned subscribers;
	uint64_t rng;
} Engine;

static struct {
	unsigned max_containers, ring_size;
	bool ignore_filters;
	FILE *event_log;
	pthread_mutex_t log_lock, intern_lock;
	LabelSet *label_sets;
	char **strings;
	size_t n_strings, size_strings;
	const char **images;
	size_t n_images;
	struct Engine *engines; /* every engine of this process, for /fake/all */
	size_t n_engines;
	volatile sig_atomic_t quit;
} g = {.max_containers = 1000000, .ring_size = 65536};

/* ---- small helpers ---- */

static int64_t now_ns(clockid_t clock)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static uint32_t hash_str(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static uint64_t rng_next(Engine *e)
{
	e->rng ^= e->rng << 13;
	e->rng ^= e->rng >> 7;
	e->rng ^= e->rng << 17;
	return e->rng;
}

typedef struct Buf {
	char *data;
	size_t len, size;
	bool oom;
} Buf;

static void buf_add(Buf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->size) {
		size_t size = b->size ? b->size : 4096;
		while (size < b->len + n + 1)
			size *= 2;
		char *d = realloc(b->data, size);
		if (!d) {
			b->oom = true;
			return;
		}
		b->data = d;
		b->size = size;
	}
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = 0;
}

static void buf_puts(Buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

__attribute__((format(printf, 2, 3))) static void buf_printf(Buf *b, const char *format, ...)
{
	char small[512];
	va_list ap;
	int n;

	va_start(ap, format);
	n = vsnprintf(small, sizeof(small), format, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(small)) {
		buf_add(b, small, (size_t)n);
		return;
	}
	char *big = malloc((size_t)n + 1);
	if (!big) {
		b->oom = true;
		return;
	}
	va_start(ap, format);
	vsnprintf(big, (size_t)n + 1, format, ap);
	va_end(ap);
	buf_add(b, big, (size_t)n);
	free(big);
}

/* A JSON string literal, quotes included. */
static void buf_json_str(Buf *b, const char *s)
{
	buf_add(b, "\"", 1);
	for (const char *p = s; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == '"' || c == '\\') {
			char esc[2] = {'\\', (char)c};
			buf_add(b, esc, 2);
		} else if (c < 0x20)
			buf_printf(b, "\\u%04x", c);
		else
			buf_add(b, p, 1);
	}
	buf_add(b, "\"", 1);
}

static void rfc3339(int64_t ns, char *out, size_t size)
{
	time_t sec = (time_t)(ns / 1000000000);
	struct tm tm;

	if (ns <= 0) {
		snprintf(out, size, "0001-01-01T00:00:00Z");
		return;
	}
	gmtime_r(&sec, &tm);
	snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02d.%09" PRId64 "Z", tm.tm_year + 1900, tm.tm_mon + 1,
	         tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ns % 1000000000);
}

/* ---- interning ---- */

static const char *intern(const char *s)
{
	pthread_mutex_lock(&g.intern_lock);
	for (size_t i = 0; i < g.n_strings; i++)
		if (strcmp(g.strings[i], s) == 0) {
			pthread_mutex_unlock(&g.intern_lock);
			return g.strings[i];
		}
	if (g.n_strings == g.size_strings) {
		size_t size = g.size_strings ? g.size_strings * 2 : 64;
		char **p = realloc(g.strings, size * sizeof(*p));
		if (!p)
			abort();
		g.strings = p;
		g.size_strings = size;
	}
	char *copy = strdup(s);
	if (!copy)
		abort();
	g.strings[g.n_strings++] = copy;
	pthread_mutex_unlock(&g.intern_lock);
	return copy;
}

/* labels: a JSON object of strings (or NULL: none). NULL when it is not one. */
static const LabelSet *labels_intern(const cJSON *labels)
{
	Buf b = {};
	const cJSON *l;
	LabelSet *s;

	if (labels && !cJSON_IsNull(labels) && !cJSON_IsObject(labels))
		return NULL;
	buf_puts(&b, "{");
	cJSON_ArrayForEach (l, labels) {
		if (!cJSON_IsString(l) || !l->string)
			goto bad;
		if (b.len > 1)
			buf_puts(&b, ",");
		buf_json_str(&b, l->string);
		buf_puts(&b, ":");
		buf_json_str(&b, l->valuestring);
	}
	buf_puts(&b, "}");
	if (b.oom)
		goto bad;
	pthread_mutex_lock(&g.intern_lock);
	for (s = g.label_sets; s; s = s->next)
		if (strcmp(s->json, b.data) == 0)
			break;
	if (!s) {
		s = calloc(1, sizeof(*s));
		if (!s)
			abort();
		s->json = b.data;
		b.data = NULL;
		cJSON_ArrayForEach (l, labels) {
			if (s->n == MAX_LABELS)
				break;
			s->keys[s->n] = strdup(l->string);
			s->vals[s->n] = strdup(l->valuestring);
			if (strcmp(l->string, "io.force12.agent") == 0)
				s->agent = s->vals[s->n];
			if (strcmp(l->string, "io.force12.app") == 0)
				s->app = s->vals[s->n];
			s->n++;
		}
		s->next = g.label_sets;
		g.label_sets = s;
	}
	pthread_mutex_unlock(&g.intern_lock);
	free(b.data);
	return s;
bad:
	free(b.data);
	return NULL;
}

/* "key" or "key=value" against a label set. */
static bool labels_match(const LabelSet *s, const char *filter)
{
	const char *eq = strchr(filter, '=');
	size_t klen = eq ? (size_t)(eq - filter) : strlen(filter);

	for (size_t i = 0; s && i < s->n; i++)
		if (strlen(s->keys[i]) == klen && strncmp(s->keys[i], filter, klen) == 0)
			return !eq || strcmp(s->vals[i], eq + 1) == 0;
	return false;
}

/* ---- the container table: slots, two hash chains (id, name), a free list ---- */

static void table_link(Engine *e, uint32_t i)
{
	Ctr *c = &e->slots[i];
	uint32_t hi = hash_str(c->id) & (e->n_buckets - 1), hn = hash_str(c->name) & (e->n_buckets - 1);

	c->next_id = e->id_buckets[hi];
	e->id_buckets[hi] = i;
	c->next_name = e->name_buckets[hn];
	e->name_buckets[hn] = i;
}

static int table_grow_buckets(Engine *e, uint32_t want)
{
	uint32_t n = e->n_buckets ? e->n_buckets : 256;
	while (n < want)
		n *= 2;
	if (n == e->n_buckets)
		return 0;
	uint32_t *ib = malloc(n * sizeof(*ib)), *nb = malloc(n * sizeof(*nb));
	if (!ib || !nb) {
		free(ib);
		free(nb);
		return -ENOMEM;
	}
	memset(ib, 0xff, n * sizeof(*ib));
	memset(nb, 0xff, n * sizeof(*nb));
	free(e->id_buckets);
	free(e->name_buckets);
	e->id_buckets = ib;
	e->name_buckets = nb;
	e->n_buckets = n;
	for (uint32_t i = 0; i < e->n_slots; i++)
		if (e->slots[i].used)
			table_link(e, i);
	return 0;
}

static void table_unlink(Engine *e, uint32_t i)
{
	Ctr *c = &e->slots[i];
	uint32_t *p = &e->id_buckets[hash_str(c->id) & (e->n_buckets - 1)];

	while (*p != NO_INDEX && *p != i)
		p = &e->slots[*p].next_id;
	if (*p == i)
		*p = c->next_id;
	p = &e->name_buckets[hash_str(c->name) & (e->n_buckets - 1)];
	while (*p != NO_INDEX && *p != i)
		p = &e->slots[*p].next_name;
	if (*p == i)
		*p = c->next_name;
}

static uint32_t table_find_name(Engine *e, const char *name)
{
	if (!e->n_buckets)
		return NO_INDEX;
	for (uint32_t i = e->name_buckets[hash_str(name) & (e->n_buckets - 1)]; i != NO_INDEX;
	     i = e->slots[i].next_name)
		if (strcmp(e->slots[i].name, name) == 0)
			return i;
	return NO_INDEX;
}

/* A full id, a name (with or without its '/'), or a unique id prefix, as the engine accepts them. */
static uint32_t table_find(Engine *e, const char *ref)
{
	uint32_t found = NO_INDEX;
	size_t n = strlen(ref);

	if (!e->n_buckets || n == 0)
		return NO_INDEX;
	for (uint32_t i = e->id_buckets[hash_str(ref) & (e->n_buckets - 1)]; i != NO_INDEX; i = e->slots[i].next_id)
		if (strcmp(e->slots[i].id, ref) == 0)
			return i;
	found = table_find_name(e, ref[0] == '/' ? ref + 1 : ref);
	if (found != NO_INDEX || n >= 64)
		return found;
	for (uint32_t i = 0; i < e->n_slots; i++)
		if (e->slots[i].used && strncmp(e->slots[i].id, ref, n) == 0) {
			if (found != NO_INDEX)
				return NO_INDEX; /* ambiguous */
			found = i;
		}
	return found;
}

static int table_add(Engine *e, uint32_t *ret)
{
	uint32_t i;

	if (e->n_used >= g.max_containers)
		return -ENOSPC;
	if (e->n_free > 0)
		i = e->free_list[--e->n_free];
	else {
		if (e->n_slots == e->size_slots) {
			uint32_t size = e->size_slots ? e->size_slots * 2 : 64;
			Ctr *s = realloc(e->slots, size * sizeof(*s));
			uint32_t *f = realloc(e->free_list, size * sizeof(*f));
			if (!s || !f) {
				if (s)
					e->slots = s;
				if (f)
					e->free_list = f;
				return -ENOMEM;
			}
			e->slots = s;
			e->free_list = f;
			e->size_slots = size;
		}
		i = e->n_slots++;
	}
	/* Cleared before the buckets grow: their rehash walks every slot up to n_slots, this one included. */
	memset(&e->slots[i], 0, sizeof(Ctr));
	if (e->n_used + 1 > e->n_buckets && table_grow_buckets(e, e->n_used + 1) < 0) {
		e->free_list[e->n_free++] = i;
		return -ENOMEM;
	}
	e->slots[i].used = true;
	e->n_used++;
	*ret = i;
	return 0;
}

static void table_remove(Engine *e, uint32_t i)
{
	table_unlink(e, i);
	e->slots[i].used = false;
	e->free_list[e->n_free++] = i;
	e->n_used--;
}

static void new_id(Engine *e, char out[65])
{
	static const char hex[] = "0123456789abcdef";
	for (int k = 0; k < 64; k += 16) {
		uint64_t r = rng_next(e);
		for (int j = 0; j < 16; j++, r >>= 4)
			out[k + j] = hex[r & 15];
	}
	out[64] = 0;
}

/* ---- events ---- */

static void log_line(Engine *e, const char *what, const char *id, const LabelSet *l, int64_t t)
{
	if (!g.event_log)
		return;
	pthread_mutex_lock(&g.log_lock);
	fprintf(g.event_log, "%" PRId64 " %u %s %s %s %s\n", t, e->index, what, id, l && l->agent ? l->agent : "-",
	        l && l->app ? l->app : "-");
	fflush(g.event_log);
	pthread_mutex_unlock(&g.log_lock);
}

/* Called with the engine locked. attr: one extra attribute ("exitCode":"0"), or NULL. */
static void emit(Engine *e, const Ctr *c, const char *action, const char *attr_key, const char *attr_val)
{
	int64_t t = now_ns(CLOCK_REALTIME);
	Buf b = {};

	buf_printf(&b, "{\"status\":\"%s\",\"id\":\"%s\",\"from\":", action, c->id);
	buf_json_str(&b, c->image);
	buf_printf(&b, ",\"Type\":\"container\",\"Action\":\"%s\",\"Actor\":{\"ID\":\"%s\",\"Attributes\":{", action,
	           c->id);
	if (attr_key) {
		buf_json_str(&b, attr_key);
		buf_puts(&b, ":");
		buf_json_str(&b, attr_val);
		buf_puts(&b, ",");
	}
	buf_puts(&b, "\"image\":");
	buf_json_str(&b, c->image);
	for (size_t k = 0; c->labels && k < c->labels->n; k++) {
		buf_puts(&b, ",");
		buf_json_str(&b, c->labels->keys[k]);
		buf_puts(&b, ":");
		buf_json_str(&b, c->labels->vals[k]);
	}
	buf_puts(&b, ",\"name\":");
	buf_json_str(&b, c->name);
	buf_printf(&b, "}},\"scope\":\"local\",\"time\":%" PRId64 ",\"timeNano\":%" PRId64 "}\n", t / 1000000000, t);
	log_line(e, action, c->id, c->labels, t);
	if (b.oom || !e->ring) {
		free(b.data);
		return;
	}
	Event *ev = &e->ring[e->ev_seq % g.ring_size];
	free(ev->line);
	*ev = (Event){.seq = e->ev_seq, .line = b.data, .labels = c->labels, .action = action};
	snprintf(ev->id, sizeof(ev->id), "%s", c->id);
	snprintf(ev->name, sizeof(ev->name), "%s", c->name);
	e->ev_seq++;
	pthread_cond_broadcast(&e->cond);
}

/* ---- filters: {"label":["k=v"],"status":["running"],"name":["x"],"id":["y"],"type":[..],"event":[..]} ---- */

typedef struct Filters {
	cJSON *json;
	bool bad;
} Filters;

static Filters filters_parse(const char *s)
{
	Filters f = {};
	const cJSON *k, *v;

	if (!s)
		return f;
	f.json = cJSON_Parse(s);
	if (!cJSON_IsObject(f.json)) {
		f.bad = true;
		return f;
	}
	cJSON_ArrayForEach (k, f.json) {
		/* The old form {"label":{"k=v":true}} is accepted too. */
		if (!cJSON_IsArray(k) && !cJSON_IsObject(k))
			f.bad = true;
		cJSON_ArrayForEach (v, k)
			if (cJSON_IsArray(k) && !cJSON_IsString(v))
				f.bad = true;
	}
	return f;
}

static const char *filter_value(const cJSON *v)
{
	return cJSON_IsString(v) ? v->valuestring : v->string;
}

/* Every key must match; within a key, label values all must match, other values any one. */
static bool filters_match(const Filters *f, const char *id, const char *name, const LabelSet *labels,
                          const char *status, const char *type, const char *action)
{
	const cJSON *k, *v;

	if (g.ignore_filters || !f->json)
		return true;
	cJSON_ArrayForEach (k, f->json) {
		bool label = strcmp(k->string, "label") == 0, any = false, all = true;
		cJSON_ArrayForEach (v, k) {
			const char *val = filter_value(v);
			bool m = false;
			if (!val)
				continue;
			if (label)
				m = labels_match(labels, val);
			else if (strcmp(k->string, "status") == 0)
				m = status && strcmp(status, val) == 0;
			else if (strcmp(k->string, "name") == 0)
				m = strstr(name, val[0] == '/' ? val + 1 : val) != NULL;
			else if (strcmp(k->string, "id") == 0 || strcmp(k->string, "container") == 0)
				m = strncmp(id, val, strlen(val)) == 0 || strcmp(name, val) == 0;
			else if (strcmp(k->string, "type") == 0)
				m = type && strcmp(type, val) == 0;
			else if (strcmp(k->string, "event") == 0)
				m = action && strcmp(action, val) == 0;
			else
				m = true; /* unknown keys are not ours to judge */
			any |= m;
			all &= m;
		}
		if (label ? !all : !any)
			return false;
	}
	return true;
}

/* ---- responses ---- */

typedef struct Req {
	Buf body;
	bool is_list;
	Engine *engine;
} Req;

static enum MHD_Result send_data(struct MHD_Connection *conn, unsigned status, const char *type, char *data, size_t len)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
	enum MHD_Result ret;

	if (!r) {
		free(data);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Api-Version", API_VERSION);
	MHD_add_response_header(r, "Docker-Experimental", "false");
	MHD_add_response_header(r, "Ostype", "linux");
	MHD_add_response_header(r, "Server", "Docker/" ENGINE_VERSION " (linux)");
	if (type)
		MHD_add_response_header(r, "Content-Type", type);
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result send_empty(struct MHD_Connection *conn, unsigned status)
{
	return send_data(conn, status, NULL, NULL, 0);
}

static enum MHD_Result send_buf(struct MHD_Connection *conn, unsigned status, Buf *b)
{
	if (b->oom) {
		free(b->data);
		return MHD_NO;
	}
	buf_puts(b, "\n");
	return send_data(conn, status, "application/json", b->data, b->len);
}

__attribute__((format(printf, 3, 4))) static enum MHD_Result send_error(struct MHD_Connection *conn, unsigned status,
                                                                        const char *format, ...)
{
	char msg[512];
	Buf b = {};
	va_list ap;

	va_start(ap, format);
	vsnprintf(msg, sizeof(msg), format, ap);
	va_end(ap);
	buf_puts(&b, "{\"message\":");
	buf_json_str(&b, msg);
	buf_puts(&b, "}");
	return send_buf(conn, status, &b);
}

/* As the engine's units.HumanDuration words it. */
static void human_duration(int64_t sec, char *out, size_t size)
{
	int64_t h = sec / 3600;

	if (sec < 1)
		snprintf(out, size, "Less than a second");
	else if (sec == 1)
		snprintf(out, size, "1 second");
	else if (sec < 60)
		snprintf(out, size, "%" PRId64 " seconds", sec);
	else if (sec / 60 == 1)
		snprintf(out, size, "About a minute");
	else if (sec < 3600)
		snprintf(out, size, "%" PRId64 " minutes", sec / 60);
	else if (h == 1)
		snprintf(out, size, "About an hour");
	else if (h < 48)
		snprintf(out, size, "%" PRId64 " hours", h);
	else if (h < 24 * 7 * 2)
		snprintf(out, size, "%" PRId64 " days", h / 24);
	else
		snprintf(out, size, "%" PRId64 " weeks", h / 24 / 7);
}

static void ctr_status_text(const Ctr *c, int64_t now, char *out, size_t size)
{
	char d[48];

	switch (c->state) {
	case ST_CREATED:
		snprintf(out, size, "Created");
		return;
	case ST_RUNNING:
	case ST_PAUSED:
		human_duration((now - c->started_ns) / 1000000000, d, sizeof(d));
		snprintf(out, size, "Up %s%s", d, c->state == ST_PAUSED ? " (Paused)" : "");
		return;
	case ST_EXITED:
		human_duration((now - c->finished_ns) / 1000000000, d, sizeof(d));
		snprintf(out, size, "Exited (%d) %s ago", c->exit_code, d);
		return;
	}
}

static void list_entry(Buf *b, const Ctr *c, int64_t now)
{
	char status[64];

	ctr_status_text(c, now, status, sizeof(status));
	buf_printf(b, "{\"Id\":\"%s\",\"Names\":[\"/%s\"],\"Image\":", c->id, c->name);
	buf_json_str(b, c->image);
	buf_puts(b, ",\"ImageID\":\"sha256:7cfbbec8963d8f13e6c70416d6592e1cc10f47a348131290a55d43c3acab3fb9\","
	            "\"Command\":");
	buf_json_str(b, c->cmd_text);
	buf_printf(b, ",\"Created\":%" PRId64 ",\"Ports\":[],\"Labels\":%s,\"State\":\"%s\",\"Status\":\"%s\"",
	           c->created_ns / 1000000000, c->labels ? c->labels->json : "{}", state_names[c->state], status);
	buf_printf(
	        b,
	        ",\"HostConfig\":{\"NetworkMode\":\"%s\"},\"NetworkSettings\":{\"Networks\":{\"%s\":{"
	        "\"IPAMConfig\":null,\"Links\":null,\"Aliases\":null,\"NetworkID\":\"%.64s\",\"EndpointID\":\"%.64s\","
	        "\"Gateway\":\"\",\"IPAddress\":\"\",\"IPPrefixLen\":0,\"IPv6Gateway\":\"\","
	        "\"GlobalIPv6Address\":\"\",\"GlobalIPv6PrefixLen\":0,\"MacAddress\":\"\",\"DriverOpts\":null}}},"
	        "\"Mounts\":[]}",
	        c->network, c->network, NETWORK_ID, c->endpoint);
}

/* ---- the calls ---- */

static bool stalled_wait(Engine *e)
{
	/* Called locked: waits out a stall. */
	for (;;) {
		int64_t now = now_ns(CLOCK_MONOTONIC);
		if (g.quit || e->stall_until_ns <= now)
			return !g.quit;
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 100 * 1000000;
		if (ts.tv_nsec >= 1000000000)
			ts.tv_sec++, ts.tv_nsec -= 1000000000;
		pthread_cond_timedwait(&e->cond, &e->lock, &ts);
	}
}

static bool inject_failure(Engine *e)
{
	if (e->fail_rate <= 0)
		return false;
	if ((double)(rng_next(e) >> 11) / (double)(1ULL << 53) >= e->fail_rate)
		return false;
	e->failures_injected++;
	return true;
}

/* The latency of a call, taken without the lock: other requests go on meanwhile. */
static void latency(Engine *e, int which)
{
	unsigned ms = e->latency_ms[which];
	if (ms == 0)
		return;
	pthread_mutex_unlock(&e->lock);
	sleep_ms(ms);
	pthread_mutex_lock(&e->lock);
}

static bool name_is_valid(const char *s)
{
	size_t n = strlen(s);
	if (n < 2 || n > 63 || !strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", s[0]))
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

static bool image_known(const char *image)
{
	for (size_t i = 0; i < g.n_images; i++)
		if (strcmp(g.images[i], image) == 0)
			return true;
	return false;
}

static void cmd_strings(const cJSON *cmd, const char **ret_json, const char **ret_text)
{
	Buf j = {}, t = {};
	const cJSON *a;

	buf_puts(&j, "[");
	cJSON_ArrayForEach (a, cmd) {
		if (!cJSON_IsString(a))
			continue;
		if (j.len > 1) {
			buf_puts(&j, ",");
			buf_puts(&t, " ");
		}
		buf_json_str(&j, a->valuestring);
		buf_puts(&t, a->valuestring);
	}
	buf_puts(&j, "]");
	*ret_json = intern(j.data && !j.oom ? j.data : "[]");
	*ret_text = intern(t.data && !t.oom ? t.data : "");
	free(j.data);
	free(t.data);
}

static enum MHD_Result do_create(Engine *e, struct MHD_Connection *conn, Req *q)
{
	const char *name = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "name");
	cJSON *body = cJSON_ParseWithLength(q->body.data ? q->body.data : "", q->body.len);
	const cJSON *image = cJSON_GetObjectItemCaseSensitive(body, "Image");
	const cJSON *hc = cJSON_GetObjectItemCaseSensitive(body, "HostConfig");
	const cJSON *net = cJSON_GetObjectItemCaseSensitive(hc, "NetworkMode");
	const LabelSet *labels;
	char gen[64];
	uint32_t i;
	int r;

	if (!cJSON_IsObject(body)) {
		cJSON_Delete(body);
		/* dockerd 20.10 answers a body it cannot decode with 500, not 400. */
		return send_error(conn, 500, "invalid character in the request body");
	}
	labels = labels_intern(cJSON_GetObjectItemCaseSensitive(body, "Labels"));
	if (!cJSON_IsString(image) || !image->valuestring[0] || !labels) {
		cJSON_Delete(body);
		return send_error(conn, 400,
		                  !labels ? "labels must be strings"
		                          : "config cannot be empty in order to create a container");
	}
	if (name && name[0] == '/')
		name++;
	if (name && !name_is_valid(name)) {
		cJSON_Delete(body);
		return send_error(conn, 400, "Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
		                  name);
	}
	if (!image_known(image->valuestring)) {
		r = send_error(conn, 404, "No such image: %s", image->valuestring);
		cJSON_Delete(body);
		return r;
	}
	if (inject_failure(e)) {
		cJSON_Delete(body);
		return send_error(conn, 500, "fake engine: injected failure");
	}
	latency(e, L_CREATE);
	if (!name) {
		snprintf(gen, sizeof(gen), "fake_%08" PRIx64, rng_next(e) & 0xffffffff);
		name = gen;
	}
	i = table_find_name(e, name);
	if (i != NO_INDEX) {
		r = send_error(
		        conn, 409,
		        "Conflict. The container name \"/%s\" is already in use by container \"%s\". You have to "
		        "remove (or rename) that container to be able to reuse that name.",
		        name, e->slots[i].id);
		cJSON_Delete(body);
		return r;
	}
	r = table_add(e, &i);
	if (r < 0) {
		cJSON_Delete(body);
		return send_error(conn, 500, "fake engine: %s", strerror(-r));
	}
	Ctr *c = &e->slots[i];
	new_id(e, c->id);
	new_id(e, c->endpoint);
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->labels = labels;
	c->image = intern(image->valuestring);
	cmd_strings(cJSON_GetObjectItemCaseSensitive(body, "Cmd"), &c->cmd_json, &c->cmd_text);
	c->network = intern(cJSON_IsString(net) && net->valuestring[0] ? net->valuestring : "default");
	c->state = ST_CREATED;
	c->created_ns = now_ns(CLOCK_REALTIME);
	table_link(e, i);
	emit(e, c, "create", NULL, NULL);
	cJSON_Delete(body);
	Buf b = {};
	buf_printf(&b, "{\"Id\":\"%s\",\"Warnings\":[]}", c->id);
	return send_buf(conn, 201, &b);
}

static void set_running(Engine *e, Ctr *c, bool running)
{
	bool was = c->state == ST_RUNNING || c->state == ST_PAUSED;
	if (running && !was)
		e->n_running++;
	if (!running && was)
		e->n_running--;
}

static void ctr_die(Engine *e, Ctr *c, int code, const char *signal)
{
	char buf[16];

	if (signal)
		emit(e, c, "kill", "signal", signal);
	set_running(e, c, false);
	c->state = ST_EXITED;
	c->exit_code = code;
	c->pid = 0;
	c->finished_ns = now_ns(CLOCK_REALTIME);
	snprintf(buf, sizeof(buf), "%d", code);
	emit(e, c, "die", "exitCode", buf);
}

/* Looks the container up again after a latency: it may have gone meanwhile. */
static Ctr *refind(Engine *e, const char *id)
{
	uint32_t i = table_find(e, id);
	return i == NO_INDEX ? NULL : &e->slots[i];
}

static enum MHD_Result do_action(Engine *e, struct MHD_Connection *conn, const char *method, const char *ref,
                                 const char *action)
{
	uint32_t i = table_find(e, ref);
	char id[65];
	Ctr *c;

	if (i == NO_INDEX)
		return send_error(conn, 404, "No such container: %s", ref);
	c = &e->slots[i];
	snprintf(id, sizeof(id), "%s", c->id);
	bool mutating = strcmp(method, "GET") != 0;
	if (mutating && inject_failure(e))
		return send_error(conn, 500, "fake engine: injected failure");

	if (strcmp(method, "GET") == 0 && strcmp(action, "json") == 0) {
		char created[48], started[48], finished[48];
		latency(e, L_INSPECT);
		if (!(c = refind(e, id)))
			return send_error(conn, 404, "No such container: %s", ref);
		rfc3339(c->created_ns, created, sizeof(created));
		rfc3339(c->started_ns, started, sizeof(started));
		rfc3339(c->finished_ns, finished, sizeof(finished));
		Buf b = {};
		buf_printf(&b, "{\"Id\":\"%s\",\"Created\":\"%s\",\"Path\":\"\",\"Args\":%s,\"State\":{", c->id,
		           created, c->cmd_json);
		buf_printf(&b,
		           "\"Status\":\"%s\",\"Running\":%s,\"Paused\":%s,\"Restarting\":false,\"OOMKilled\":false,"
		           "\"Dead\":false,\"Pid\":%d,\"ExitCode\":%d,\"Error\":\"\",\"StartedAt\":\"%s\","
		           "\"FinishedAt\":\"%s\"},",
		           state_names[c->state], c->state == ST_RUNNING || c->state == ST_PAUSED ? "true" : "false",
		           c->state == ST_PAUSED ? "true" : "false", c->pid, c->exit_code, started, finished);
		buf_puts(&b, "\"Image\":\"sha256:7cfbbec8963d8f13e6c70416d6592e1cc10f47a348131290a55d43c3acab3fb9\"");
		buf_printf(&b, ",\"Name\":\"/%s\",\"RestartCount\":0,\"Driver\":\"overlay2\",\"Platform\":\"linux\",",
		           c->name);
		buf_printf(&b,
		           "\"HostConfig\":{\"NetworkMode\":\"%s\",\"RestartPolicy\":{\"Name\":\"no\","
		           "\"MaximumRetryCount\":0}},\"Config\":{\"Image\":",
		           c->network);
		buf_json_str(&b, c->image);
		buf_printf(&b, ",\"Cmd\":%s,\"Labels\":%s},\"NetworkSettings\":{\"Networks\":{}},\"Mounts\":[]}",
		           c->cmd_json, c->labels ? c->labels->json : "{}");
		return send_buf(conn, 200, &b);
	}
	if (strcmp(method, "DELETE") == 0 && action[0] == 0) {
		const char *force = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "force");
		bool forced = force && (strcmp(force, "1") == 0 || strcmp(force, "true") == 0);
		if ((c->state == ST_RUNNING || c->state == ST_PAUSED) && !forced)
			return send_error(conn, 409,
			                  "You cannot remove a %s container %s. %s the container before attempting "
			                  "removal or force remove",
			                  c->state == ST_PAUSED ? "paused" : "running", c->id,
			                  c->state == ST_PAUSED ? "Unpause and then stop" : "Stop");
		if (c->busy)
			return send_error(conn, 409, "removal of container %s is already in progress", c->id);
		c->busy = true;
		latency(e, L_REMOVE);
		if (!(c = refind(e, id)))
			return send_error(conn, 404, "No such container: %s", ref);
		c->busy = false;
		if (c->state == ST_RUNNING || c->state == ST_PAUSED)
			ctr_die(e, c, 137, "9");
		emit(e, c, "destroy", NULL, NULL);
		table_remove(e, (uint32_t)(c - e->slots));
		return send_empty(conn, 204);
	}
	if (strcmp(method, "POST") != 0)
		return send_error(conn, 404, "page not found");
	if (strcmp(action, "start") == 0) {
		if (c->state == ST_RUNNING)
			return send_empty(conn, 304);
		if (c->state == ST_PAUSED)
			return send_error(conn, 409, "cannot start a paused container, try unpause instead");
		latency(e, L_START);
		if (!(c = refind(e, id)))
			return send_error(conn, 404, "No such container: %s", ref);
		if (c->state == ST_RUNNING || c->state == ST_PAUSED)
			return send_empty(conn, 304);
		set_running(e, c, true);
		c->state = ST_RUNNING;
		c->pid = 1000 + (int)(rng_next(e) % 4000000);
		c->exit_code = 0;
		c->started_ns = now_ns(CLOCK_REALTIME);
		emit(e, c, "start", NULL, NULL);
		return send_empty(conn, 204);
	}
	if (strcmp(action, "stop") == 0 || strcmp(action, "kill") == 0) {
		bool stop = action[0] == 's';
		if (c->state != ST_RUNNING && c->state != ST_PAUSED) {
			if (stop)
				return send_empty(conn, 304);
			return send_error(conn, 409, "Cannot kill container: %s: Container %s is not running", ref,
			                  c->id);
		}
		latency(e, stop ? L_STOP : L_KILL);
		if (!(c = refind(e, id)))
			return send_error(conn, 404, "No such container: %s", ref);
		if (c->state != ST_RUNNING && c->state != ST_PAUSED)
			return send_empty(conn, stop ? 304 : 204);
		/* A trapping container exits 0 on TERM; a paused one cannot trap it and is killed. */
		if (stop) {
			ctr_die(e, c, c->state == ST_PAUSED ? 137 : 0, "15");
			emit(e, c, "stop", NULL, NULL);
		} else
			ctr_die(e, c, 137, "9");
		return send_empty(conn, 204);
	}
	if (strcmp(action, "pause") == 0 || strcmp(action, "unpause") == 0) {
		bool pause = action[0] == 'p';
		if (c->state != ST_RUNNING && c->state != ST_PAUSED)
			return send_error(conn, 409, "Container %s is not running", c->id);
		if (pause && c->state == ST_PAUSED)
			return send_error(conn, 409, "Container %s is already paused", c->id);
		if (!pause && c->state != ST_PAUSED) /* 500 from dockerd 20.10, as the honesty test found */
			return send_error(conn, 500, "Container %s is not paused", c->id);
		latency(e, pause ? L_PAUSE : L_UNPAUSE);
		if (!(c = refind(e, id)))
			return send_error(conn, 404, "No such container: %s", ref);
		if (c->state != (pause ? ST_RUNNING : ST_PAUSED))
			return send_error(conn, 409, "Container %s is not %s", c->id, pause ? "running" : "paused");
		c->state = pause ? ST_PAUSED : ST_RUNNING;
		emit(e, c, action, NULL, NULL);
		return send_empty(conn, 204);
	}
	return send_error(conn, 404, "page not found");
}

static enum MHD_Result do_list(Engine *e, struct MHD_Connection *conn, Req *q)
{
	const char *all = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "all");
	bool show_all = all && (strcmp(all, "1") == 0 || strcmp(all, "true") == 0);
	Filters f = filters_parse(MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "filters"));
	int64_t now = now_ns(CLOCK_REALTIME);
	Buf b = {};
	bool first = true;

	if (f.bad) {
		cJSON_Delete(f.json);
		return send_error(conn, 400, "invalid filter");
	}
	e->lists++;
	e->last_list_start_ns = now_ns(CLOCK_MONOTONIC);
	q->is_list = true;
	latency(e, L_LIST);
	buf_puts(&b, "[");
	/* Newest first, as the engine lists. */
	for (uint32_t i = e->n_slots; i-- > 0;) {
		const Ctr *c = &e->slots[i];
		if (!c->used || (!show_all && c->state != ST_RUNNING && c->state != ST_PAUSED))
			continue;
		if (!filters_match(&f, c->id, c->name, c->labels, state_names[c->state], "container", NULL))
			continue;
		if (!first)
			buf_puts(&b, ",");
		first = false;
		list_entry(&b, c, now);
	}
	buf_puts(&b, "]");
	cJSON_Delete(f.json);
	return send_buf(conn, 200, &b);
}

/* ---- the event stream ---- */

typedef struct Sub {
	Engine *engine;
	Filters filters;
	uint64_t next, drop_gen;
	int fd;
	char *pending; /* what did not fit into the last buffer */
	size_t pending_len, pending_off;
} Sub;

static bool peer_gone(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLRDHUP};
	return fd >= 0 && poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

static ssize_t sub_copy(Sub *s, char *buf, size_t max)
{
	size_t n = s->pending_len - s->pending_off;
	if (n > max)
		n = max;
	memcpy(buf, s->pending + s->pending_off, n);
	s->pending_off += n;
	if (s->pending_off == s->pending_len) {
		free(s->pending);
		s->pending = NULL;
		s->pending_len = s->pending_off = 0;
	}
	return (ssize_t)n;
}

static ssize_t sub_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	Sub *s = cls;
	Engine *e = s->engine;
	ssize_t ret = 0;

	if (s->pending)
		return sub_copy(s, buf, max);
	pthread_mutex_lock(&e->lock);
	while (ret == 0) {
		if (g.quit || e->off || s->drop_gen != e->drop_gen) {
			ret = MHD_CONTENT_READER_END_OF_STREAM;
			break;
		}
		if (s->next + g.ring_size < e->ev_seq) { /* fell behind the ring: the engine drops slow readers */
			ret = MHD_CONTENT_READER_END_WITH_ERROR;
			break;
		}
		if (e->stall_until_ns <= now_ns(CLOCK_MONOTONIC) && s->next < e->ev_seq) {
			const Event *ev = &e->ring[s->next++ % g.ring_size];
			if (!filters_match(&s->filters, ev->id, ev->name, ev->labels, NULL, "container", ev->action))
				continue;
			s->pending = strdup(ev->line);
			if (!s->pending) {
				ret = MHD_CONTENT_READER_END_WITH_ERROR;
				break;
			}
			s->pending_len = strlen(s->pending);
			ret = sub_copy(s, buf, max);
			break;
		}
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 200 * 1000000;
		if (ts.tv_nsec >= 1000000000)
			ts.tv_sec++, ts.tv_nsec -= 1000000000;
		pthread_cond_timedwait(&e->cond, &e->lock, &ts);
		if (peer_gone(s->fd)) {
			ret = MHD_CONTENT_READER_END_WITH_ERROR;
			break;
		}
	}
	pthread_mutex_unlock(&e->lock);
	return ret;
}

/* Unlocked: MHD may destroy the response while the engine is locked (a queueing that failed). */
static void sub_free(void *cls)
{
	Sub *s = cls;
	__atomic_fetch_sub(&s->engine->subscribers, 1, __ATOMIC_RELAXED);
	cJSON_Delete(s->filters.json);
	free(s->pending);
	free(s);
}

static enum MHD_Result do_events(Engine *e, struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	Sub *s = calloc(1, sizeof(*s));
	struct MHD_Response *r;
	enum MHD_Result ret;

	if (!s)
		return MHD_NO;
	s->filters = filters_parse(MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "filters"));
	if (s->filters.bad) {
		cJSON_Delete(s->filters.json);
		free(s);
		return send_error(conn, 400, "invalid filter");
	}
	s->engine = e;
	s->next = e->ev_seq;
	s->drop_gen = e->drop_gen;
	s->fd = ci ? ci->connect_fd : -1;
	__atomic_fetch_add(&e->subscribers, 1, __ATOMIC_RELAXED);
	r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, sub_read, s, sub_free);
	if (!r) {
		__atomic_fetch_sub(&e->subscribers, 1, __ATOMIC_RELAXED);
		cJSON_Delete(s->filters.json);
		free(s);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Api-Version", API_VERSION);
	MHD_add_response_header(r, "Content-Type", "application/json");
	MHD_add_response_header(r, "Server", "Docker/" ENGINE_VERSION " (linux)");
	ret = MHD_queue_response(conn, 200, r);
	MHD_destroy_response(r);
	return ret;
}

/* ---- the fake's own controls: /fake/... (never stalled, never failed) ---- */

static double arg_double(struct MHD_Connection *conn, const char *key, double def)
{
	const char *v = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, key);
	char *end;
	double d;

	if (!v)
		return def;
	d = strtod(v, &end);
	return *end || d < 0 ? -1 : d;
}

static void power_off(Engine *e)
{
	for (uint32_t i = 0; i < e->n_slots; i++) {
		Ctr *c = &e->slots[i];
		if (!c->used)
			continue;
		if (c->state == ST_RUNNING || c->state == ST_PAUSED)
			ctr_die(e, c, 137, NULL);
		emit(e, c, "destroy", NULL, NULL);
		table_remove(e, i);
	}
	e->off = true;
	pthread_cond_broadcast(&e->cond);
}

/* Every engine of the process, with its running containers by app: one request for a whole simulated cluster. */
static void all_engines_json(Buf *b)
{
	buf_puts(b, "[");
	for (size_t k = 0; k < g.n_engines; k++) {
		Engine *o = &g.engines[k];
		const char *apps[16];
		unsigned counts[16], n_apps = 0;
		pthread_mutex_lock(&o->lock);
		for (uint32_t i = 0; i < o->n_slots; i++) {
			const Ctr *c = &o->slots[i];
			const char *app = c->labels && c->labels->app ? c->labels->app : "-";
			unsigned a;
			if (!c->used || (c->state != ST_RUNNING && c->state != ST_PAUSED))
				continue;
			for (a = 0; a < n_apps && strcmp(apps[a], app) != 0; a++)
				;
			if (a == n_apps && n_apps < 16)
				apps[n_apps] = app, counts[n_apps++] = 0;
			if (a < n_apps)
				counts[a]++;
		}
		buf_printf(b, "%s{\"engine\":%zu,\"off\":%s,\"containers\":%u,\"running\":{", k ? "," : "", k,
		           o->off ? "true" : "false", o->n_used);
		for (unsigned a = 0; a < n_apps; a++) {
			buf_puts(b, a ? "," : "");
			buf_json_str(b, apps[a]);
			buf_printf(b, ":%u", counts[a]);
		}
		buf_puts(b, "}}");
		pthread_mutex_unlock(&o->lock);
	}
	buf_puts(b, "]");
}

static enum MHD_Result do_fake(Engine *e, struct MHD_Connection *conn, const char *method, const char *what)
{
	Buf b = {};

	if (strcmp(what, "all") == 0) {
		pthread_mutex_unlock(&e->lock); /* each engine is locked in turn */
		all_engines_json(&b);
		pthread_mutex_lock(&e->lock);
		return send_buf(conn, 200, &b);
	}

	if (strcmp(what, "stats") == 0) {
		buf_printf(&b,
		           "{\"containers\":%u,\"running\":%u,\"requests\":%" PRIu64 ",\"lists\":%" PRIu64
		           ",\"last_list_start_ns\":%" PRId64 ",\"last_list_end_ns\":%" PRId64 ",\"events\":%" PRIu64
		           ",\"subscribers\":%u,\"failures_injected\":%" PRIu64 ",\"off\":%s}",
		           e->n_used, e->n_running, e->requests, e->lists, e->last_list_start_ns, e->last_list_end_ns,
		           e->ev_seq, e->subscribers, e->failures_injected, e->off ? "true" : "false");
		return send_buf(conn, 200, &b);
	}
	if (strcmp(method, "POST") != 0)
		return send_error(conn, 405, "POST only");
	if (strcmp(what, "stall") == 0) {
		double s = arg_double(conn, "seconds", 10);
		if (s < 0)
			return send_error(conn, 400, "seconds: a number >= 0");
		e->stall_until_ns = now_ns(CLOCK_MONOTONIC) + (int64_t)(s * 1e9);
		pthread_cond_broadcast(&e->cond);
	} else if (strcmp(what, "drop-events") == 0) {
		e->drop_gen++;
		pthread_cond_broadcast(&e->cond);
	} else if (strcmp(what, "fail") == 0) {
		double r = arg_double(conn, "rate", 0);
		if (r < 0 || r > 1)
			return send_error(conn, 400, "rate: a number in 0..1");
		e->fail_rate = r;
	} else if (strcmp(what, "latency") == 0) {
		for (int i = 0; i < _L_MAX; i++) {
			double v = arg_double(conn, latency_names[i], e->latency_ms[i]);
			if (v < 0 || v > 600000)
				return send_error(conn, 400, "%s: milliseconds in 0..600000", latency_names[i]);
			e->latency_ms[i] = (unsigned)v;
		}
	} else if (strcmp(what, "poweroff") == 0)
		power_off(e);
	else if (strcmp(what, "mark") == 0) {
		const char *text = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "text");
		if (!text || strpbrk(text, "\n\r"))
			return send_error(conn, 400, "text: one line");
		log_line(e, "mark", text, NULL, now_ns(CLOCK_REALTIME));
	} else
		return send_error(conn, 404, "unknown control %s", what);
	return send_empty(conn, 204);
}

/* ---- dispatch ---- */

static enum MHD_Result route(Engine *e, struct MHD_Connection *conn, const char *method, const char *url, Req *q)
{
	char ref[256];
	const char *p;

	if (strncmp(url, "/fake/", 6) == 0)
		return do_fake(e, conn, method, url + 6);
	if (e->off)
		return MHD_NO; /* a node that is gone: the connection just closes */
	if (!stalled_wait(e))
		return MHD_NO;
	e->requests++;
	/* /v1.41/... and /... alike */
	if (url[0] == '/' && url[1] == 'v' && url[2] >= '0' && url[2] <= '9') {
		p = strchr(url + 1, '/');
		url = p ? p : "/";
	}
	if (strcmp(url, "/_ping") == 0 && (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0)) {
		char *ok = strdup("OK");
		return send_data(conn, 200, "text/plain; charset=utf-8", ok, ok ? 2 : 0);
	}
	if (strcmp(url, "/version") == 0) {
		Buf b = {};
		buf_puts(&b, "{\"Platform\":{\"Name\":\"fake-engine\"},\"Version\":\"" ENGINE_VERSION
		             "\",\"ApiVersion\":\"" API_VERSION "\",\"MinAPIVersion\":\"1.12\",\"GitCommit\":\"fake\","
		             "\"GoVersion\":\"none\",\"Os\":\"linux\",\"Arch\":\"amd64\",\"KernelVersion\":\"\"}");
		return send_buf(conn, 200, &b);
	}
	if (strcmp(url, "/events") == 0 && strcmp(method, "GET") == 0)
		return do_events(e, conn);
	if (strcmp(url, "/containers/json") == 0 && strcmp(method, "GET") == 0)
		return do_list(e, conn, q);
	if (strcmp(url, "/containers/create") == 0 && strcmp(method, "POST") == 0)
		return do_create(e, conn, q);
	if (strncmp(url, "/images/", 8) == 0) {
		if (strcmp(url, "/images/create") == 0 && strcmp(method, "POST") == 0) {
			const char *from = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "fromImage");
			const char *tag = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "tag");
			char full[512];
			snprintf(full, sizeof(full), "%s:%s", from ? from : "", tag ? tag : "latest");
			if (image_known(full)) {
				Buf b = {};
				buf_printf(&b, "{\"status\":\"Status: Image is up to date for %s\"}", full);
				return send_buf(conn, 200, &b);
			}
			/* No registry is reachable: like a real engine without network. */
			return send_error(conn, 404, "pull access denied for %s, repository does not exist", full);
		}
		size_t n = strlen(url);
		if (n > 13 && strcmp(url + n - 5, "/json") == 0 && strcmp(method, "GET") == 0) {
			snprintf(ref, sizeof(ref), "%.*s", (int)(n - 13), url + 8);
			if (!strchr(ref, ':') && strlen(ref) + 8 <= sizeof(ref))
				strcat(ref, ":latest");
			if (image_known(ref)) {
				Buf b = {};
				buf_puts(&b, "{\"Id\":\"sha256:"
				             "7cfbbec8963d8f13e6c70416d6592e1cc10f47a348131290a55d43c3acab3fb"
				             "9\",\"RepoTags\":[");
				buf_json_str(&b, ref);
				buf_puts(&b, "],\"Os\":\"linux\",\"Architecture\":\"amd64\",\"Size\":4261550}");
				return send_buf(conn, 200, &b);
			}
			return send_error(conn, 404, "No such image: %s", ref);
		}
		return send_error(conn, 404, "page not found");
	}
	if (strncmp(url, "/containers/", 12) == 0) {
		const char *id = url + 12, *slash = strchr(id, '/');
		size_t n = slash ? (size_t)(slash - id) : strlen(id);
		if (n == 0 || n >= sizeof(ref))
			return send_error(conn, 404, "page not found");
		snprintf(ref, sizeof(ref), "%.*s", (int)n, id);
		return do_action(e, conn, method, ref, slash ? slash + 1 : "");
	}
	return send_error(conn, 404, "page not found");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	Engine *e = cls;
	Req *q = *con_cls;
	enum MHD_Result r;

	if (!q) {
		q = calloc(1, sizeof(*q));
		if (!q)
			return MHD_NO;
		q->engine = e;
		*con_cls = q;
		return MHD_YES;
	}
	if (*upload_size > 0) {
		if (q->body.len + *upload_size > BODY_MAX)
			return MHD_NO;
		buf_add(&q->body, upload, *upload_size);
		*upload_size = 0;
		return MHD_YES;
	}
	pthread_mutex_lock(&e->lock);
	r = route(e, conn, method, url, q);
	pthread_mutex_unlock(&e->lock);
	return r;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	Engine *e = cls;
	Req *q = *con_cls;

	if (!q)
		return;
	if (q->is_list) {
		pthread_mutex_lock(&e->lock);
		e->last_list_end_ns = now_ns(CLOCK_MONOTONIC);
		pthread_mutex_unlock(&e->lock);
	}
	free(q->body.data);
	free(q);
	*con_cls = NULL;
}

/* ---- setup ---- */

static int listen_unix(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1024) < 0) {
		int saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

static int preload(Engine *e, const char *spec)
{
	const char *eq = strchr(spec, '=');
	char app[64], *end;
	unsigned long n;

	if (!eq || eq == spec || (size_t)(eq - spec) >= sizeof(app))
		return -EINVAL;
	snprintf(app, sizeof(app), "%.*s", (int)(eq - spec), spec);
	n = strtoul(eq + 1, &end, 10);
	if (*end || n > g.max_containers)
		return -EINVAL;
	cJSON *labels = cJSON_CreateObject();
	cJSON_AddStringToObject(labels, "io.force12.agent", e->node);
	cJSON_AddStringToObject(labels, "io.force12.app", app);
	const LabelSet *ls = labels_intern(labels);
	cJSON_Delete(labels);
	cJSON *cmd = cJSON_Parse("[\"sh\",\"-c\",\"trap 'exit 0' TERM; while :; do sleep 1 & wait $!; done\"]");
	const char *cj, *ct;
	cmd_strings(cmd, &cj, &ct);
	cJSON_Delete(cmd);
	int64_t t = now_ns(CLOCK_REALTIME) - 3600LL * 1000000000;
	if (table_grow_buckets(e, e->n_used + (uint32_t)n) < 0)
		return -ENOMEM;
	for (unsigned long k = 0; k < n; k++) {
		uint32_t i;
		char name[64];
		snprintf(name, sizeof(name), "force12-%.40s-p%07lu", app, k);
		if (table_find_name(e, name) != NO_INDEX)
			continue;
		if (table_add(e, &i) < 0)
			return -ENOMEM;
		Ctr *c = &e->slots[i];
		new_id(e, c->id);
		new_id(e, c->endpoint);
		snprintf(c->name, sizeof(c->name), "%s", name);
		c->labels = ls;
		c->image = intern("busybox:latest");
		c->cmd_json = cj;
		c->cmd_text = ct;
		c->network = intern("none");
		c->state = ST_RUNNING;
		c->pid = 1000 + (int)k;
		c->created_ns = t;
		c->started_ns = t;
		e->n_running++;
		table_link(e, i);
	}
	return 0;
}

static int parse_latency(unsigned lat[_L_MAX], const char *spec)
{
	char *copy = strdup(spec), *save = NULL;
	int r = 0;

	if (!copy)
		return -ENOMEM;
	if (strcmp(spec, "0") == 0) {
		memset(lat, 0, sizeof(unsigned) * _L_MAX);
		free(copy);
		return 0;
	}
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(t, '='), *end;
		int i;
		if (!eq) {
			r = -EINVAL;
			break;
		}
		*eq = 0;
		for (i = 0; i < _L_MAX && strcmp(latency_names[i], t) != 0; i++)
			;
		unsigned long v = strtoul(eq + 1, &end, 10);
		if (i == _L_MAX || *end || eq[1] == 0 || v > 600000) {
			r = -EINVAL;
			break;
		}
		lat[i] = (unsigned)v;
	}
	free(copy);
	return r;
}

static void usage(FILE *f)
{
	fprintf(f,
	        "Usage: fake-engine [OPTIONS]\n"
	        "A fake Docker Engine (API " API_VERSION
	        " subset force12 uses) on unix sockets; containers live in memory.\n"
	        "  --socket PATH            serve one engine on PATH (repeatable: one engine each)\n"
	        "  --socket-dir DIR --engines N   serve N engines on DIR/engine-0.sock ... DIR/engine-(N-1).sock\n"
	        "  --latency SPEC           ms per call: 0 (none), or create=48,start=455,stop=143,remove=30,kill=20,\n"
	        "                           pause=20,unpause=20,list=0,inspect=0 (those are the defaults)\n"
	        "  --preload APP=N          N running containers of APP owned by --node-id (repeatable)\n"
	        "  --node-id ID             owner of preloaded containers (several engines: ID-0, ID-1, ...)\n"
	        "  --ignore-filters         list and stream everything, whatever filters= says\n"
	        "  --max-containers N       per engine (default 1000000)\n"
	        "  --image NAME             an image the engine holds (repeatable; default busybox:latest)\n"
	        "  --event-log FILE         append 'TIME_NS ENGINE ACTION ID NODE APP' for every event\n"
	        "  --event-ring N           events kept for slow readers, per engine (default 65536)\n"
	        "Controls on each socket: GET /fake/stats, /fake/all (every engine's running by app); POST "
	        "/fake/stall?seconds=S, /fake/drop-events,\n"
	        "/fake/fail?rate=R, /fake/latency?create=MS&..., /fake/poweroff, /fake/mark?text=T.\n"
	        "Runs until SIGTERM or SIGINT; removes its sockets on the way out.\n");
}

static void on_quit(int sig)
{
	g.quit = 1;
}

static int die(const char *format, ...)
{
	va_list ap;
	fprintf(stderr, "fake-engine: ");
	va_start(ap, format);
	vfprintf(stderr, format, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 2;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"socket", required_argument, NULL, 's'},
	        {"socket-dir", required_argument, NULL, 'D'},
	        {"engines", required_argument, NULL, 'N'},
	        {"latency", required_argument, NULL, 'l'},
	        {"preload", required_argument, NULL, 'p'},
	        {"node-id", required_argument, NULL, 'n'},
	        {"ignore-filters", no_argument, NULL, 'i'},
	        {"max-containers", required_argument, NULL, 'm'},
	        {"image", required_argument, NULL, 'I'},
	        {"event-log", required_argument, NULL, 'e'},
	        {"event-ring", required_argument, NULL, 'r'},
	        {"help", no_argument, NULL, 'h'},
	        {0},
	};
	const char *sockets[1024], *preloads[64], *sock_dir = NULL, *node = "fake-node", *images[64];
	size_t n_sockets = 0, n_preloads = 0, n_images = 0;
	unsigned lat[_L_MAX], n_engines = 0;
	unsigned long v;
	char *end;
	int c;

	memcpy(lat, latency_default_ms, sizeof(lat));
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) >= 0) {
		switch (c) {
		case 's':
			if (n_sockets == 1024)
				return die("at most 1024 sockets");
			sockets[n_sockets++] = optarg;
			break;
		case 'D':
			sock_dir = optarg;
			break;
		case 'N':
			v = strtoul(optarg, &end, 10);
			if (*end || v < 1 || v > 1024)
				return die("--engines %s: an integer in 1..1024", optarg);
			n_engines = (unsigned)v;
			break;
		case 'l':
			if (parse_latency(lat, optarg) < 0)
				return die(
				        "--latency %s: expected 0 or NAME=MS,... with NAME one of create, start, stop, "
				        "remove, kill, pause, unpause, list, inspect",
				        optarg);
			break;
		case 'p':
			if (n_preloads == 64)
				return die("at most 64 --preload");
			preloads[n_preloads++] = optarg;
			break;
		case 'n':
			node = optarg;
			break;
		case 'i':
			g.ignore_filters = true;
			break;
		case 'm':
			v = strtoul(optarg, &end, 10);
			if (*end || v < 1 || v > 1000000)
				return die("--max-containers %s: an integer in 1..1000000", optarg);
			g.max_containers = (unsigned)v;
			break;
		case 'I':
			if (n_images == 64)
				return die("at most 64 --image");
			images[n_images++] = optarg;
			break;
		case 'e':
			g.event_log = fopen(optarg, "ae");
			if (!g.event_log)
				return die("--event-log %s: %s", optarg, strerror(errno));
			break;
		case 'r':
			v = strtoul(optarg, &end, 10);
			if (*end || v < 16 || v > 10000000)
				return die("--event-ring %s: an integer in 16..10000000", optarg);
			g.ring_size = (unsigned)v;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc)
		return die("unexpected argument %s (see --help)", argv[optind]);
	if (!!sock_dir != !!n_engines)
		return die("--socket-dir and --engines go together");
	if (n_sockets + n_engines == 0 || n_sockets + n_engines > 1024)
		return die("give --socket PATH or --socket-dir DIR --engines N (1..1024 engines)");
	if (n_images == 0)
		images[n_images++] = "busybox:latest";
	g.images = images;
	g.n_images = n_images;

	/* One fd a connection: as many as the machine allows. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	signal(SIGPIPE, SIG_IGN);
	pthread_mutex_init(&g.log_lock, NULL);
	pthread_mutex_init(&g.intern_lock, NULL);

	size_t total = n_sockets + n_engines;
	Engine *engines = calloc(total, sizeof(*engines));
	if (!engines)
		return die("out of memory");
	for (size_t i = 0; i < total; i++) {
		Engine *e = &engines[i];
		e->index = (unsigned)i;
		if (i < n_sockets)
			snprintf(e->path, sizeof(e->path), "%s", sockets[i]);
		else
			snprintf(e->path, sizeof(e->path), "%s/engine-%zu.sock", sock_dir, i - n_sockets);
		if (total == 1)
			snprintf(e->node, sizeof(e->node), "%s", node);
		else
			snprintf(e->node, sizeof(e->node), "%s-%zu", node, i);
		pthread_mutex_init(&e->lock, NULL);
		pthread_cond_init(&e->cond, NULL);
		memcpy(e->latency_ms, lat, sizeof(lat));
		if (getrandom(&e->rng, sizeof(e->rng), 0) != sizeof(e->rng) || e->rng == 0)
			e->rng = 0x9e3779b97f4a7c15ULL ^ (uint64_t)now_ns(CLOCK_REALTIME) ^ i;
		e->ring = calloc(g.ring_size, sizeof(Event));
		if (!e->ring)
			return die("out of memory for the event ring (--event-ring)");
		for (size_t k = 0; k < n_preloads; k++)
			if (preload(e, preloads[k]) < 0)
				return die("--preload %s: expected APP=N with N up to --max-containers", preloads[k]);
	}
	g.engines = engines;
	g.n_engines = total;
	for (size_t i = 0; i < total; i++) {
		Engine *e = &engines[i];
		int fd = listen_unix(e->path);
		if (fd < 0)
			return die("%s: %s", e->path, strerror(errno));
		e->daemon = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL_INTERNAL_THREAD, 0, NULL,
		                             NULL, on_request, e, MHD_OPTION_LISTEN_SOCKET, fd,
		                             MHD_OPTION_NOTIFY_COMPLETED, on_completed, e, MHD_OPTION_THREAD_STACK_SIZE,
		                             (size_t)(256 * 1024), MHD_OPTION_END);
		if (!e->daemon)
			return die("%s: libmicrohttpd would not start", e->path);
	}
	struct sigaction sa = {.sa_handler = on_quit};
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	fprintf(stderr, "fake-engine: %zu engine(s) ready, first at %s\n", total, engines[0].path);
	while (!g.quit)
		pause();
	for (size_t i = 0; i < total; i++) {
		pthread_mutex_lock(&engines[i].lock);
		pthread_cond_broadcast(&engines[i].cond);
		pthread_mutex_unlock(&engines[i].lock);
	}
	for (size_t i = 0; i < total; i++) {
		MHD_stop_daemon(engines[i].daemon);
		unlink(engines[i].path);
	}
	if (g.event_log)
		fclose(g.event_log);
	return 0;
}
