// SPDX-License-Identifier: Apache-2.0
/* force12-report: turns observer CSVs (one per system and variant) into the comparison's report: report.md with
 * one column per run, and the data files plus a gnuplot script for report.png. It reads files and writes files in
 * its output directory; it never talks to an engine. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "metrics.h"

#define MAX_RUNS     16
#define TITLE_MAX    64
#define FILE_MAX     (512u * 1024 * 1024)
#define PREAMBLE_MAX (1024u * 1024)
#define PATH_LEN     4096

typedef struct Column {
	char title[TITLE_MAX];
	const char *path;
	Run *run;
	Summary s;
} Column;

static int fail(const char *format, ...) _printf_(1, 2);
static int fail(const char *format, ...)
{
	va_list ap;

	fputs("force12-report: ", stderr);
	va_start(ap, format);
	vfprintf(stderr, format, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -EINVAL;
}

static int read_file(const char *path, size_t max, char **ret, size_t *ret_len)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, cap = 0;
	FILE *f = fopen(path, "re");

	if (!f)
		return fail("%s: %s", path, strerror(errno));
	for (;;) {
		if (len + 65536 + 1 > cap) {
			cap = cap ? cap * 2 : 131072;
			char *b = realloc(buf, cap);
			if (!b) {
				fclose(f);
				return fail("%s: out of memory", path);
			}
			buf = b;
		}
		size_t n = fread(buf + len, 1, 65536, f);
		len += n;
		if (len > max) {
			fclose(f);
			return fail("%s: larger than %zu bytes", path, (size_t)max);
		}
		if (n == 0)
			break;
	}
	bool bad = ferror(f);
	fclose(f);
	if (bad)
		return fail("%s: read error", path);
	buf[len] = 0;
	*ret = TAKE_PTR(buf);
	*ret_len = len;
	return 0;
}

static int load_column(Column *c)
{
	_cleanup_free_ char *text = NULL;
	char error[RUN_ERROR_MAX];
	size_t len;
	int r;

	r = read_file(c->path, FILE_MAX, &text, &len);
	if (r < 0)
		return r;
	r = run_parse(text, len, &c->run, error);
	if (r < 0)
		return fail("%s: %s", c->path, r == -EINVAL ? error : strerror(-r));
	r = run_summarize(c->run, &c->s);
	if (r < 0)
		return fail("%s: %s", c->path, strerror(-r));
	return 0;
}

/* ---- report.md ---- */

static void fmt_seconds(char *buf, size_t size, double v)
{
	if (isnan(v))
		snprintf(buf, size, "–");
	else if (isinf(v))
		snprintf(buf, size, "not reached");
	else
		snprintf(buf, size, "%.2f s", v);
}

static void fmt_number(char *buf, size_t size, double v, const char *unit)
{
	if (isnan(v))
		snprintf(buf, size, "–");
	else
		snprintf(buf, size, "%.*f%s", v == floor(v) ? 0 : 1, v, unit);
}

typedef void (*CellFn)(const Summary *s, char *buf, size_t size);

static void cell_changes(const Summary *s, char *b, size_t n)
{
	snprintf(b, n, "%zu (%zu reached)", s->n_changes, s->n_reached);
}
static void cell_ttt_p50(const Summary *s, char *b, size_t n)
{
	fmt_seconds(b, n, s->ttt_p50);
}
static void cell_ttt_p95(const Summary *s, char *b, size_t n)
{
	fmt_seconds(b, n, s->ttt_p95);
}
static void cell_ttt_max(const Summary *s, char *b, size_t n)
{
	fmt_seconds(b, n, s->ttt_max);
}
static void cell_stops(const Summary *s, char *b, size_t n)
{
	snprintf(b, n, "%zu", s->n_stops);
}
static void cell_stop_p50(const Summary *s, char *b, size_t n)
{
	fmt_seconds(b, n, s->stop_p50);
}
static void cell_stop_p95(const Summary *s, char *b, size_t n)
{
	fmt_seconds(b, n, s->stop_p95);
}
static void cell_stop_max(const Summary *s, char *b, size_t n)
{
	fmt_seconds(b, n, s->stop_max);
}
static void cell_exits(const Summary *s, char *b, size_t n)
{
	snprintf(b, n, "%u / %u / %u", s->exits.clean, s->exits.killed, s->exits.other);
}
static void cell_starts(const Summary *s, char *b, size_t n)
{
	snprintf(b, n, "%u / %u", s->starts, s->removals);
}
static void cell_running_max(const Summary *s, char *b, size_t n)
{
	snprintf(b, n, "%u", s->running_max);
}
static void cell_stopped_end(const Summary *s, char *b, size_t n)
{
	fmt_number(b, n, s->stopped_end, "");
}
static void cell_stopped_max(const Summary *s, char *b, size_t n)
{
	fmt_number(b, n, s->stopped_max, "");
}
static void cell_list(const Summary *s, char *b, size_t n)
{
	char x[32], y[32];

	fmt_number(x, sizeof(x), s->list_ms_start, " ms");
	fmt_number(y, sizeof(y), s->list_ms_end, " ms");
	snprintf(b, n, "%s → %s", x, y);
}
static void cell_tracking(const Summary *s, char *b, size_t n)
{
	if (isnan(s->tracking_error))
		snprintf(b, n, "–");
	else
		snprintf(b, n, "%.1f %%", 100 * s->tracking_error);
}

static void cell_rss(const Summary *s, char *b, size_t n)
{
	if (isnan(s->rss_kib))
		snprintf(b, n, "–");
	else
		snprintf(b, n, "%.1f MiB", s->rss_kib / 1024);
}
static void cell_cpu(const Summary *s, char *b, size_t n)
{
	if (isnan(s->cpu_s))
		snprintf(b, n, "–");
	else
		snprintf(b, n, "%.2f s", s->cpu_s);
}

static const struct {
	const char *name;
	CellFn fn;
} table_rows[] = {
        {"demand changes", cell_changes},
        {"time to target, p50", cell_ttt_p50},
        {"time to target, p95", cell_ttt_p95},
        {"time to target, max", cell_ttt_max},
        {"stops (SIGTERM to exit)", cell_stops},
        {"stop took, p50", cell_stop_p50},
        {"stop took, p95", cell_stop_p95},
        {"stop took, max", cell_stop_max},
        {"exits: clean (0, 143) / killed (137) / other", cell_exits},
        {"containers started / removed", cell_starts},
        {"containers running at once, at most", cell_running_max},
        {"stopped containers at the end", cell_stopped_end},
        {"stopped containers at most", cell_stopped_max},
        {"engine list latency, start → end", cell_list},
        {"tracking error", cell_tracking},
        {"own memory (peak RSS)", cell_rss},
        {"own CPU time (user + system)", cell_cpu},
};

static void write_table(FILE *f, const Column *cols, size_t n)
{
	char cell[128];

	fprintf(f, "| |");
	for (size_t i = 0; i < n; i++)
		fprintf(f, " %s |", cols[i].title);
	fprintf(f, "\n|---|");
	for (size_t i = 0; i < n; i++)
		fprintf(f, "---|");
	fputc('\n', f);
	for (size_t r = 0; r < ELEMENTSOF(table_rows); r++) {
		fprintf(f, "| %s |", table_rows[r].name);
		for (size_t i = 0; i < n; i++) {
			table_rows[r].fn(&cols[i].s, cell, sizeof(cell));
			fprintf(f, " %s |", cell);
		}
		fputc('\n', f);
	}
}

static const char definitions[] =
        "How each figure is computed (compare/metrics.c, from the observer's CSV only):\n\n"
        "- **time to target**: from a demand change (as the driver announced it) until every app runs exactly its "
        "demand, counted from the engine's start and die events; \"not reached\" when the next change came "
        "first (or the run ended). Percentiles are nearest-rank over all changes, not-reached ones sorting "
        "last.\n"
        "- **stop took**: from a container's first kill signal (the stop's SIGTERM) to its exit.\n"
        "- **exits**: every container exit seen; 143 is a SIGTERM the process did not trap but died of, which "
        "is clean; 137 means it was SIGKILLed after the stop timeout.\n"
        "- **containers running at once, at most**: over all apps, from the engine's start and die events (each "
        "run starts from none); the demand never asks for more than 9 in all, force12's capacity.\n"
        "- **stopped containers**: exited or dead containers of the system under test, sampled once a second.\n"
        "- **engine list latency**: GET /containers/json?all=1 over the whole engine, median of the first and "
        "of the last 5 samples.\n"
        "- **tracking error**: the area between demand and running containers, summed over the apps, as a "
        "share of the area under the demand, from the first demand change to the end of the run.\n"
        "- **own memory, own CPU time**: of the system's own processes over the run (the agent process; for "
        "docker-compose, every docker-compose process it ran), read from /proc by compare/compare.sh: peak "
        "resident set (VmHWM; for docker-compose the largest one process) and user + system CPU seconds.\n";

static int write_report(const char *dir, const char *preamble, const Column *cols, size_t n)
{
	char path[PATH_LEN];
	FILE *f;

	snprintf(path, sizeof(path), "%s/report.md", dir);
	f = fopen(path, "we");
	if (!f)
		return fail("%s: %s", path, strerror(errno));
	if (preamble)
		fputs(preamble, f);
	else
		fputs("# force12 comparison\n\n", f);
	fputs("\n## Results\n\n", f);
	write_table(f, cols, n);
	fputs("\n", f);
	fputs(definitions, f);
	fputs("\n![demand against running containers, and stopped containers](report.png)\n\nRaw data: ", f);
	for (size_t i = 0; i < n; i++) {
		const char *base = strrchr(cols[i].path, '/');
		fprintf(f, "%s`%s`", i ? ", " : "", base ? base + 1 : cols[i].path);
	}
	fputs(".\n", f);
	if (fclose(f) != 0)
		return fail("%s: %s", path, strerror(errno));
	return 0;
}

/* ---- plot data and the gnuplot script ---- */

static double plot_origin(const Run *r)
{
	for (size_t i = 0; i < r->n_rows; i++)
		if (r->rows[i].kind == ROW_DEMAND)
			return r->rows[i].time;
	return r->t_begin;
}

/* One line at every moment demand or running changed: t, then demand and running of each app. */
static int write_series(const char *dir, size_t index, const Run *r)
{
	_cleanup_free_ DemandChange *changes = NULL;
	char path[PATH_LEN];
	int n = run_demand_changes(r, &changes), c = 0, running[RUN_MAX_APPS];
	double t0 = plot_origin(r);
	FILE *f;

	if (n < 0)
		return fail("out of memory");
	snprintf(path, sizeof(path), "%s/run%zu.dat", dir, index);
	f = fopen(path, "we");
	if (!f)
		return fail("%s: %s", path, strerror(errno));
	for (size_t i = 0; i < r->n_rows; i++) {
		const Row *row = &r->rows[i];
		if (row->time < t0 || !(row->kind == ROW_DEMAND || row->kind == ROW_START || row->kind == ROW_DIE))
			continue;
		while (c + 1 < n && changes[c + 1].time <= row->time)
			c++;
		run_running_at(r, row->time, running);
		fprintf(f, "%.3f", row->time - t0);
		for (size_t a = 0; a < r->n_apps; a++)
			fprintf(f, " %d %d", n > 0 ? changes[c].demand[a] : 0, running[a]);
		fputc('\n', f);
	}
	/* Steps hold until the end of the run, not just until the last event. */
	run_running_at(r, r->t_end, running);
	fprintf(f, "%.3f", r->t_end - t0);
	for (size_t a = 0; a < r->n_apps; a++)
		fprintf(f, " %d %d", n > 0 ? changes[n - 1].demand[a] : 0, running[a]);
	fputc('\n', f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/run%zu-stopped.dat", dir, index);
	f = fopen(path, "we");
	if (!f)
		return fail("%s: %s", path, strerror(errno));
	for (size_t i = 0; i < r->n_rows; i++)
		if (r->rows[i].kind == ROW_STOPPED && r->rows[i].time >= t0)
			fprintf(f, "%.3f %.0f\n", r->rows[i].time - t0, r->rows[i].value);
	fclose(f);
	return 0;
}

static void gp_run_panel(FILE *f, size_t index, const Column *c)
{
	static const char *const colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd"};

	fprintf(f, "set title \"%s: demand (dashed) and running (solid)\"\n", c->title);
	fprintf(f, "plot ");
	for (size_t a = 0; a < c->run->n_apps && a < 8; a++) {
		const char *color = colors[a % ELEMENTSOF(colors)];
		fprintf(f, "%s'run%zu.dat' using 1:%zu with steps dt 2 lw 1.5 lc rgb '%s' title '%s demand', \\\n",
		        a ? "     " : "", index, 2 + 2 * a, color, c->run->apps[a]);
		fprintf(f, "     'run%zu.dat' using 1:%zu with steps lw 2 lc rgb '%s' title '%s running'%s\n", index,
		        3 + 2 * a, color, c->run->apps[a], a + 1 < c->run->n_apps && a + 1 < 8 ? ", \\" : "");
	}
	if (c->run->n_apps == 0)
		fprintf(f, "0 notitle\n");
}

static int write_gnuplot(const char *dir, const Column *cols, size_t n)
{
	char path[PATH_LEN];
	FILE *f;

	double span = 1;

	for (size_t i = 0; i < n; i++)
		span = MAX(span, cols[i].run->t_end - plot_origin(cols[i].run));
	snprintf(path, sizeof(path), "%s/report.gp", dir);
	f = fopen(path, "we");
	if (!f)
		return fail("%s: %s", path, strerror(errno));
	fprintf(f,
	        "# Made by force12-report; run in this directory: gnuplot report.gp\n"
	        "set terminal pngcairo size 1200,%zu font ',10'\n"
	        "set output 'report.png'\n"
	        "set multiplot layout %zu,1\n"
	        "set key outside right top\n"
	        "set xlabel 'seconds since the first demand change'\n"
	        "set ylabel 'containers'\n"
	        "set grid\n"
	        "set yrange [0:*]\n"
	        "set offsets 0, 0, 1, 0\n"
	        "set xrange [0:%.0f]\n",
	        (n + 1) * 260, n + 1, ceil(span));
	for (size_t i = 0; i < n; i++)
		gp_run_panel(f, i + 1, &cols[i]);
	fprintf(f, "set title 'stopped containers on the engine (exited, not removed)'\nplot ");
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s'run%zu-stopped.dat' using 1:2 with steps lw 2 title '%s'%s\n", i ? "     " : "", i + 1,
		        cols[i].title, i + 1 < n ? ", \\" : "");
	fprintf(f, "unset multiplot\n");
	if (fclose(f) != 0)
		return fail("%s: %s", path, strerror(errno));
	return 0;
}

/* ---- main ---- */

static void help(void)
{
	printf("Usage: force12-report [OPTIONS] TITLE=CSV...\n"
	       "Reads observer CSVs (force12-observe) and writes, into the output directory: report.md (a table with\n"
	       "one column per CSV), runN.dat and runN-stopped.dat, and report.gp, which draws report.png with\n"
	       "gnuplot. TITLE is the column's heading (no '=', '|' or quotes, at most %d bytes).\n\n"
	       "  -o, --out DIR        output directory (default: .)\n"
	       "  --preamble FILE      markdown to put above the table (what was run, and how)\n"
	       "  -h, --help\n",
	       TITLE_MAX - 1);
}

static int parse_column(const char *arg, Column *c)
{
	const char *eq = strchr(arg, '=');

	if (!eq || eq == arg || (size_t)(eq - arg) >= TITLE_MAX || !eq[1])
		return fail("\"%.64s\": expected TITLE=CSV (a title of 1..%d bytes); try --help", arg, TITLE_MAX - 1);
	snprintf(c->title, sizeof(c->title), "%.*s", (int)(eq - arg), arg);
	if (strpbrk(c->title, "|\"'\\\n"))
		return fail("\"%s\": a title may not contain |, quotes or backslashes", c->title);
	c->path = eq + 1;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
	        {"out", required_argument, NULL, 'o'},
	        {"preamble", required_argument, NULL, 'p'},
	        {"help", no_argument, NULL, 'h'},
	        {},
	};
	_cleanup_free_ char *preamble = NULL;
	const char *dir = ".", *preamble_path = NULL;
	Column cols[MAX_RUNS] = {0};
	size_t n = 0, len;
	int c, rc = 1;

	while ((c = getopt_long(argc, argv, "ho:", options, NULL)) >= 0)
		switch (c) {
		case 'o':
			dir = optarg;
			break;
		case 'p':
			preamble_path = optarg;
			break;
		case 'h':
			help();
			return 0;
		default:
			fprintf(stderr, "Try 'force12-report --help'.\n");
			return 2;
		}
	if (optind == argc || argc - optind > MAX_RUNS) {
		fail("expected 1..%d TITLE=CSV arguments; try --help", MAX_RUNS);
		return 2;
	}
	if (strlen(dir) > PATH_LEN - 64) {
		fail("--out: path too long");
		return 2;
	}
	for (int i = optind; i < argc; i++)
		if (parse_column(argv[i], &cols[n++]) < 0)
			return 2;
	if (preamble_path && read_file(preamble_path, PREAMBLE_MAX, &preamble, &len) < 0)
		goto out;
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		fail("%s: %s", dir, strerror(errno));
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (load_column(&cols[i]) < 0 || write_series(dir, i + 1, cols[i].run) < 0)
			goto out;
	if (write_report(dir, preamble, cols, n) < 0 || write_gnuplot(dir, cols, n) < 0)
		goto out;
	rc = 0;
out:
	for (size_t i = 0; i < n; i++)
		run_free(cols[i].run);
	return rc;
}
