// SPDX-License-Identifier: Apache-2.0
/* The comparison's metrics from one observer CSV. The running count of each app is rebuilt from the engine's
 * start and die events (exact times) on top of the first once-a-second sample; everything here is pure. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

static const char *const kind_names[_ROW_KIND_MAX] = {
        [ROW_DEMAND] = "demand",
        [ROW_START] = "start",
        [ROW_KILL] = "kill",
        [ROW_DIE] = "die",
        [ROW_STOP] = "stop",
        [ROW_DESTROY] = "destroy",
        [ROW_RUNNING] = "running",
        [ROW_STOPPED] = "stopped",
        [ROW_ENGINE_STOPPED] = "engine_stopped",
        [ROW_LIST_MS] = "list_ms",
        [ROW_RSS_KIB] = "rss_kib",
        [ROW_CPU_S] = "cpu_s",
        [ROW_ENGINE_LOST] = "engine_lost",
};

const char *row_kind_to_string(RowKind k)
{
	return k < _ROW_KIND_MAX ? kind_names[k] : NULL;
}

int row_kind_from_string(const char *s)
{
	for (int k = 0; k < _ROW_KIND_MAX; k++)
		if (streq(s, kind_names[k]))
			return k;
	return -EINVAL;
}

static bool kind_needs_app(RowKind k)
{
	return k <= ROW_RUNNING;
}

static bool kind_needs_value(RowKind k)
{
	return k == ROW_DEMAND || k == ROW_KILL || k == ROW_DIE || (k >= ROW_RUNNING && k != ROW_ENGINE_LOST);
}

Run *run_free(Run *r)
{
	if (!r)
		return NULL;
	free(r->rows);
	free(r);
	return NULL;
}

_printf_(3, 4) static int parse_error(char *error, size_t line, const char *format, ...)
{
	char what[RUN_ERROR_MAX - 32];
	va_list ap;

	va_start(ap, format);
	vsnprintf(what, sizeof(what), format, ap);
	va_end(ap);
	snprintf(error, RUN_ERROR_MAX, "line %zu: %s", line, what);
	return -EINVAL;
}

/* A field quoted in an error: at most 32 bytes, anything but printable ASCII as '?', so the error stays one line. */
static const char *echo_field(char *buf, size_t size, const char *field)
{
	size_t i = 0;

	for (; field[i] && i + 1 < size && i < 32; i++)
		buf[i] = (unsigned char)field[i] >= 0x20 && (unsigned char)field[i] < 0x7f ? field[i] : '?';
	buf[i] = 0;
	return buf;
}

static int app_index(Run *r, const char *name)
{
	for (size_t i = 0; i < r->n_apps; i++)
		if (streq(r->apps[i], name))
			return (int)i;
	if (r->n_apps >= RUN_MAX_APPS)
		return -E2BIG;
	snprintf(r->apps[r->n_apps], RUN_APP_NAME_MAX, "%s", name);
	return (int)r->n_apps++;
}

static int parse_number(const char *s, double *ret)
{
	char *end;

	if (!s[0])
		return -EINVAL;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || *end || !isfinite(v))
		return -EINVAL;
	*ret = v;
	return 0;
}

/* Splits a line in place into exactly n comma-separated fields. */
static int split_fields(char *line, char **fields, size_t n)
{
	size_t i = 0;

	fields[i++] = line;
	for (char *p = line; *p; p++)
		if (*p == ',') {
			if (i == n)
				return -EINVAL;
			*p = 0;
			fields[i++] = p + 1;
		}
	return i == n ? 0 : -EINVAL;
}

/* One data line into a row; returns 1 for a row, 0 for a line to skip. */
static int parse_line(Run *r, char *line, size_t lineno, Row *row, char *error)
{
	char *f[5], echo[40];
	int k;

	if (split_fields(line, f, ELEMENTSOF(f)) < 0)
		return parse_error(error, lineno, "expected 5 fields: time,kind,app,container,value");
	if (streq(f[0], "time"))
		return 0; /* the header */
	if (parse_number(f[0], &row->time) < 0 || row->time < 0 || row->time > 1e12)
		return parse_error(error, lineno, "time \"%s\" is not a number of seconds in 0..1e12",
		                   echo_field(echo, sizeof(echo), f[0]));
	k = row_kind_from_string(f[1]);
	if (k < 0)
		return 0; /* a kind of a newer observer: ignored */
	row->kind = k;
	row->app = -1;
	if (strlen(f[2]) >= RUN_APP_NAME_MAX || strlen(f[3]) >= RUN_ID_MAX)
		return parse_error(error, lineno, "app or container name too long");
	if (kind_needs_app(row->kind)) {
		if (!f[2][0])
			return parse_error(error, lineno, "%s without an app", f[1]);
		row->app = app_index(r, f[2]);
		if (row->app < 0)
			return parse_error(error, lineno, "more than %d apps", RUN_MAX_APPS);
	}
	snprintf(row->container, sizeof(row->container), "%s", f[3]);
	row->value = 0;
	if (!kind_needs_value(row->kind))
		return 1;
	/* Counts, signals and exit codes are integers in 0..RUN_MAX_COUNT; list_ms, rss_kib and cpu_s any number in
	 * 0..RUN_MAX_MS. */
	bool integral = row->kind != ROW_LIST_MS && row->kind != ROW_RSS_KIB && row->kind != ROW_CPU_S;
	if (parse_number(f[4], &row->value) < 0 || row->value < 0 ||
	    row->value > (integral ? RUN_MAX_COUNT : RUN_MAX_MS) || (integral && row->value != floor(row->value)))
		return parse_error(error, lineno, "%s: value \"%s\" is not %s", f[1],
		                   echo_field(echo, sizeof(echo), f[4]),
		                   integral ? "an integer in 0..1000000" : "a number of milliseconds in 0..1e9");
	return 1;
}

static int run_add_row(Run *r, const Row *row, size_t *allocated)
{
	if (r->n_rows >= RUN_MAX_ROWS)
		return -E2BIG;
	if (r->n_rows == *allocated) {
		size_t n = *allocated ? *allocated * 2 : 256;
		Row *rows = realloc(r->rows, n * sizeof(Row));
		if (!rows)
			return -ENOMEM;
		r->rows = rows;
		*allocated = n;
	}
	r->rows[r->n_rows++] = *row;
	return 0;
}

/* qsort is not stable; the rows carry their file order through their address, so sort a copy by index. */
typedef struct Indexed {
	Row row;
	size_t index;
} Indexed;

static int indexed_compare(const void *a, const void *b)
{
	const Indexed *x = a, *y = b;

	if (x->row.time != y->row.time)
		return x->row.time < y->row.time ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

static int run_sort(Run *r)
{
	_cleanup_free_ Indexed *tmp = calloc(r->n_rows ?: 1, sizeof(Indexed));

	if (!tmp)
		return -ENOMEM;
	for (size_t i = 0; i < r->n_rows; i++)
		tmp[i] = (Indexed){.row = r->rows[i], .index = i};
	qsort(tmp, r->n_rows, sizeof(Indexed), indexed_compare);
	for (size_t i = 0; i < r->n_rows; i++)
		r->rows[i] = tmp[i].row;
	if (r->n_rows > 0) {
		r->t_begin = r->rows[0].time;
		r->t_end = r->rows[r->n_rows - 1].time;
	}
	return 0;
}

int run_parse(const char *text, size_t len, Run **ret, char *error)
{
	_cleanup_(run_freep) Run *r = calloc(1, sizeof(Run));
	size_t allocated = 0, lineno = 0;
	const char *p = text, *end = text + len;
	int k;

	if (!r)
		return -ENOMEM;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		char line[RUN_LINE_MAX];
		Row row;

		lineno++;
		if (n >= sizeof(line))
			return parse_error(error, lineno, "longer than %d bytes", RUN_LINE_MAX - 1);
		if (memchr(p, 0, n))
			return parse_error(error, lineno, "contains a NUL byte");
		memcpy(line, p, n);
		line[n] = 0;
		if (n > 0 && line[n - 1] == '\r')
			line[n - 1] = 0;
		p += n + 1;
		if (!line[0] || line[0] == '#')
			continue;
		k = parse_line(r, line, lineno, &row, error);
		if (k < 0)
			return k;
		if (k == 0)
			continue;
		k = run_add_row(r, &row, &allocated);
		if (k < 0)
			return k == -E2BIG ? parse_error(error, lineno, "more than %u rows", RUN_MAX_ROWS) : k;
	}
	k = run_sort(r);
	if (k < 0)
		return k;
	*ret = TAKE_PTR(r);
	return 0;
}

int run_demand_changes(const Run *r, DemandChange **ret)
{
	_cleanup_free_ DemandChange *c = NULL;
	int current[RUN_MAX_APPS] = {0};
	size_t n = 0;

	for (size_t i = 0; i < r->n_rows; i++) {
		const Row *row = &r->rows[i];
		if (row->kind != ROW_DEMAND)
			continue;
		current[row->app] = (int)row->value;
		if (n > 0 && c[n - 1].time == row->time) {
			c[n - 1].demand[row->app] = (int)row->value;
			continue;
		}
		DemandChange *grown = realloc(c, (n + 1) * sizeof(DemandChange));
		if (!grown)
			return -ENOMEM;
		c = grown;
		c[n].time = row->time;
		memcpy(c[n].demand, current, sizeof(current));
		n++;
	}
	*ret = TAKE_PTR(c);
	return (int)n;
}

/* Which apps were ever given a demand: only they count towards targets and tracking. */
static void demanded_apps(const Run *r, bool *ret)
{
	memset(ret, 0, RUN_MAX_APPS * sizeof(bool));
	for (size_t i = 0; i < r->n_rows; i++)
		if (r->rows[i].kind == ROW_DEMAND)
			ret[r->rows[i].app] = true;
}

/* The running counts at the first once-a-second sample (its rows share one time: running per app, stopped,
 * list_ms; an app without a running row there had none), and the time of that sample (-INFINITY without one). */
static double running_base(const Run *r, int *counts)
{
	double t = -INFINITY;

	memset(counts, 0, RUN_MAX_APPS * sizeof(int));
	for (size_t i = 0; i < r->n_rows; i++) {
		const Row *row = &r->rows[i];
		if (row->kind != ROW_RUNNING && row->kind != ROW_STOPPED && row->kind != ROW_LIST_MS)
			continue;
		if (t == -INFINITY)
			t = row->time;
		else if (row->time != t)
			break;
		if (row->kind == ROW_RUNNING)
			counts[row->app] = (int)row->value;
	}
	return t;
}

/* Applies a start or die after the base sample; returns true when the row changed a count. */
static bool apply_event(const Row *row, double base, int *counts)
{
	if (row->time <= base)
		return false;
	if (row->kind == ROW_START) {
		counts[row->app]++;
		return true;
	}
	if (row->kind == ROW_DIE && counts[row->app] > 0) {
		counts[row->app]--;
		return true;
	}
	return false;
}

void run_running_at(const Run *r, double t, int *ret_running)
{
	double base = running_base(r, ret_running);

	for (size_t i = 0; i < r->n_rows && r->rows[i].time <= t; i++)
		apply_event(&r->rows[i], base, ret_running);
}

static bool on_target(const int *running, const int *demand, const bool *demanded, size_t n_apps)
{
	for (size_t a = 0; a < n_apps; a++)
		if (demanded[a] && running[a] != demand[a])
			return false;
	return true;
}

int run_time_to_target(const Run *r, double **ret)
{
	_cleanup_free_ DemandChange *changes = NULL;
	_cleanup_free_ double *out = NULL;
	int running[RUN_MAX_APPS];
	bool demanded[RUN_MAX_APPS];
	size_t j = 0;
	int n = run_demand_changes(r, &changes);

	if (n < 0)
		return n;
	out = calloc((size_t)n ?: 1, sizeof(double));
	if (!out)
		return -ENOMEM;
	demanded_apps(r, demanded);
	double base = running_base(r, running);
	for (int i = 0; i < n; i++) {
		double t = changes[i].time, until = i + 1 < n ? changes[i + 1].time : INFINITY;
		int scan[RUN_MAX_APPS];

		for (; j < r->n_rows && r->rows[j].time <= t; j++)
			apply_event(&r->rows[j], base, running);
		out[i] = INFINITY;
		if (on_target(running, changes[i].demand, demanded, r->n_apps)) {
			out[i] = 0;
			continue;
		}
		memcpy(scan, running, sizeof(scan));
		for (size_t k = j; k < r->n_rows && r->rows[k].time < until; k++)
			if (apply_event(&r->rows[k], base, scan) &&
			    on_target(scan, changes[i].demand, demanded, r->n_apps)) {
				out[i] = r->rows[k].time - t;
				break;
			}
	}
	*ret = TAKE_PTR(out);
	return n;
}

typedef struct PendingKill {
	char container[RUN_ID_MAX];
	double time;
} PendingKill;

int run_stop_durations(const Run *r, double **ret)
{
	_cleanup_free_ PendingKill *pending = NULL;
	_cleanup_free_ double *out = NULL;
	size_t n_pending = 0, n = 0;

	pending = calloc(r->n_rows ?: 1, sizeof(PendingKill));
	out = calloc(r->n_rows ?: 1, sizeof(double));
	if (!pending || !out)
		return -ENOMEM;
	for (size_t i = 0; i < r->n_rows; i++) {
		const Row *row = &r->rows[i];
		size_t k;

		if (row->kind != ROW_KILL && row->kind != ROW_DIE)
			continue;
		for (k = 0; k < n_pending; k++)
			if (streq(pending[k].container, row->container))
				break;
		if (row->kind == ROW_KILL && k == n_pending) {
			pending[n_pending++] = (PendingKill){.time = row->time};
			snprintf(pending[k].container, RUN_ID_MAX, "%s", row->container);
		} else if (row->kind == ROW_DIE && k < n_pending) {
			out[n++] = row->time - pending[k].time;
			pending[k] = pending[--n_pending];
		}
	}
	*ret = TAKE_PTR(out);
	return (int)n;
}

ExitCounts run_exit_counts(const Run *r)
{
	ExitCounts c = {0};

	for (size_t i = 0; i < r->n_rows; i++) {
		if (r->rows[i].kind != ROW_DIE)
			continue;
		int code = (int)r->rows[i].value;
		if (code == 0 || code == 143)
			c.clean++;
		else if (code == 137)
			c.killed++;
		else
			c.other++;
	}
	return c;
}

static void add_areas(const int *running, const int *demand, const bool *demanded, size_t n_apps, double dt,
                      double *error_area, double *demand_area)
{
	for (size_t a = 0; a < n_apps; a++) {
		if (!demanded[a])
			continue;
		*error_area += fabs((double)(demand[a] - running[a])) * dt;
		*demand_area += (double)demand[a] * dt;
	}
}

void run_tracking_areas(const Run *r, double *ret_error_area, double *ret_demand_area)
{
	_cleanup_free_ DemandChange *changes = NULL;
	int running[RUN_MAX_APPS], demand[RUN_MAX_APPS];
	bool demanded[RUN_MAX_APPS];
	double error_area = 0, demand_area = 0;
	int n = run_demand_changes(r, &changes);

	*ret_error_area = *ret_demand_area = 0;
	if (n <= 0)
		return;
	demanded_apps(r, demanded);
	double base = running_base(r, running), now = changes[0].time;
	memcpy(demand, changes[0].demand, sizeof(demand));
	size_t i = 0;
	for (; i < r->n_rows && r->rows[i].time <= now; i++)
		apply_event(&r->rows[i], base, running);
	int c = 1;
	for (; i < r->n_rows; i++) {
		const Row *row = &r->rows[i];
		bool is_change = row->kind == ROW_DEMAND && c < n && changes[c].time == row->time;
		if (!is_change && !(row->kind == ROW_START || row->kind == ROW_DIE))
			continue;
		add_areas(running, demand, demanded, r->n_apps, row->time - now, &error_area, &demand_area);
		now = row->time;
		if (is_change)
			memcpy(demand, changes[c++].demand, sizeof(demand));
		else
			apply_event(row, base, running);
	}
	add_areas(running, demand, demanded, r->n_apps, r->t_end - now, &error_area, &demand_area);
	*ret_error_area = error_area;
	*ret_demand_area = demand_area;
}

static int double_compare(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double percentile(double *values, size_t n, double p)
{
	if (n == 0)
		return NAN;
	qsort(values, n, sizeof(double), double_compare);
	size_t rank = (size_t)ceil(p / 100.0 * (double)n);
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return values[rank - 1];
}

double run_edge_median(const Run *r, RowKind kind, bool from_end)
{
	double v[RUN_LATENCY_EDGE];
	size_t n = 0;

	for (size_t k = 0; k < r->n_rows && n < RUN_LATENCY_EDGE; k++) {
		const Row *row = &r->rows[from_end ? r->n_rows - 1 - k : k];
		if (row->kind == kind)
			v[n++] = row->value;
	}
	return percentile(v, n, 50);
}

static void sample_stats(const Run *r, RowKind kind, double *ret_end, double *ret_max)
{
	*ret_end = *ret_max = NAN;
	for (size_t i = 0; i < r->n_rows; i++) {
		if (r->rows[i].kind != kind)
			continue;
		*ret_end = r->rows[i].value;
		if (isnan(*ret_max) || r->rows[i].value > *ret_max)
			*ret_max = r->rows[i].value;
	}
}

static void summarize_rows(const Run *r, Summary *s)
{
	/* Each run starts from no container of its own, so the events alone give the running count. */
	long running = 0;

	for (size_t i = 0; i < r->n_rows; i++) {
		if (r->rows[i].kind == ROW_START) {
			s->starts++;
			running++;
			s->running_max = MAX(s->running_max, (unsigned)running);
		} else if (r->rows[i].kind == ROW_DIE)
			running = MAX(running - 1, 0L);
		else if (r->rows[i].kind == ROW_DESTROY)
			s->removals++;
		else if (r->rows[i].kind == ROW_RSS_KIB)
			s->rss_kib = r->rows[i].value;
		else if (r->rows[i].kind == ROW_CPU_S)
			s->cpu_s = r->rows[i].value;
		else if (r->rows[i].kind == ROW_ENGINE_LOST)
			s->engine_lost++;
	}
	s->exits = run_exit_counts(r);
	sample_stats(r, ROW_STOPPED, &s->stopped_end, &s->stopped_max);
	s->list_ms_start = run_edge_median(r, ROW_LIST_MS, false);
	s->list_ms_end = run_edge_median(r, ROW_LIST_MS, true);
	run_tracking_areas(r, &s->error_area, &s->demand_area);
	s->tracking_error = s->demand_area > 0 ? s->error_area / s->demand_area : NAN;
}

int run_summarize(const Run *r, Summary *ret)
{
	_cleanup_free_ double *ttt = NULL, *stops = NULL;
	Summary s = {.rss_kib = NAN, .cpu_s = NAN};
	int n;

	n = run_time_to_target(r, &ttt);
	if (n < 0)
		return n;
	s.n_changes = (size_t)n;
	for (int i = 0; i < n; i++)
		s.n_reached += isfinite(ttt[i]);
	s.ttt_p50 = percentile(ttt, s.n_changes, 50);
	s.ttt_p95 = percentile(ttt, s.n_changes, 95);
	s.ttt_max = percentile(ttt, s.n_changes, 100);
	n = run_stop_durations(r, &stops);
	if (n < 0)
		return n;
	s.n_stops = (size_t)n;
	s.stop_p50 = percentile(stops, s.n_stops, 50);
	s.stop_p95 = percentile(stops, s.n_stops, 95);
	s.stop_max = percentile(stops, s.n_stops, 100);
	summarize_rows(r, &s);
	*ret = s;
	return 0;
}
