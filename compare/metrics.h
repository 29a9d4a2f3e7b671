// SPDX-License-Identifier: Apache-2.0
/* The comparison's metrics, computed from one observer CSV (force12-observe's format, see observe/observe.c):
 * time to target after each demand change, stop durations, exit codes, stopped containers, engine list
 * latency and tracking error. Pure: it parses text it is given and never touches the engine or the disk. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "force12/macro.h"

#define RUN_MAX_APPS     64
#define RUN_APP_NAME_MAX 128
#define RUN_ID_MAX       64
#define RUN_LINE_MAX     4096
#define RUN_MAX_ROWS     (8u * 1024 * 1024)
#define RUN_ERROR_MAX    256
#define RUN_MAX_COUNT    1000000 /* the most a demand, count, signal or exit code may say */
#define RUN_MAX_MS       1e9
#define RUN_LATENCY_EDGE 5 /* samples whose median is the list latency "at start" and "at end" */

typedef enum RowKind {
	ROW_DEMAND,         /* app, value = the demand the driver announced */
	ROW_START,          /* app, container */
	ROW_KILL,           /* app, container, value = signal */
	ROW_DIE,            /* app, container, value = exit code */
	ROW_STOP,           /* app, container */
	ROW_DESTROY,        /* app, container: removed */
	ROW_RUNNING,        /* app, value = running containers (sampled once a second) */
	ROW_STOPPED,        /* value = stopped containers that match the observer's filter */
	ROW_ENGINE_STOPPED, /* value = stopped containers on the whole engine */
	ROW_LIST_MS,        /* value = latency of GET /containers/json?all=1 in ms */
	ROW_RSS_KIB,        /* value = peak resident memory of the system's own processes, KiB (compare.sh) */
	ROW_CPU_S,          /* value = CPU seconds (user + system) of the system's own processes (compare.sh) */
	ROW_ENGINE_LOST,    /* the engine's event stream ended during the run: the run is not a valid result */
	_ROW_KIND_MAX,
} RowKind;

typedef struct Row {
	double time; /* seconds since the epoch */
	RowKind kind;
	int app; /* index into Run.apps, -1 for none */
	char container[RUN_ID_MAX];
	double value;
} Row;

typedef struct Run {
	Row *rows; /* sorted by time (stable) */
	size_t n_rows;
	char apps[RUN_MAX_APPS][RUN_APP_NAME_MAX];
	size_t n_apps;
	double t_begin, t_end; /* first and last row */
} Run;

/* One demand change: every app's demand from this moment until the next change. */
typedef struct DemandChange {
	double time;
	int demand[RUN_MAX_APPS];
} DemandChange;

/* What a stop cost: from the first kill signal (the stop's SIGTERM) to the die. */
typedef struct ExitCounts {
	unsigned clean;  /* 0 or 143 (128 + SIGTERM) */
	unsigned killed; /* 137 (128 + SIGKILL) */
	unsigned other;
} ExitCounts;

typedef struct Summary {
	size_t n_changes, n_reached;
	double ttt_p50, ttt_p95, ttt_max; /* INFINITY when not reached */
	size_t n_stops;
	double stop_p50, stop_p95, stop_max; /* NAN when there was no stop */
	ExitCounts exits;
	double stopped_end, stopped_max;   /* NAN without samples */
	double list_ms_start, list_ms_end; /* NAN without samples */
	double tracking_error;             /* share (0..), NAN without demand */
	double demand_area, error_area;    /* container-seconds */
	unsigned starts, removals;
	unsigned running_max;  /* the most containers running at once, all apps, from the start and die events */
	double rss_kib, cpu_s; /* the system's own cost (the last such row); NAN without one */
	unsigned engine_lost;  /* engine_lost rows: non-zero makes the run invalid */
} Summary;

/* Parses the observer's CSV. Lines starting with '#' and the header line are skipped. On a malformed line
 * returns -EINVAL with "line N: ..." in error (RUN_ERROR_MAX bytes). */
int run_parse(const char *text, size_t len, Run **ret, char *error);
Run *run_free(Run *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(Run *, run_free);

/* Demand rows with the same time form one change. Returns the number of changes (written to *ret, malloc'd),
 * or a negative errno. */
int run_demand_changes(const Run *r, DemandChange **ret);

/* For each change, the seconds until every app ran exactly its demand, counted from the start/die events;
 * INFINITY when that did not happen before the next change (or the end of the run). ret has one entry per change;
 * returns the number of changes or a negative errno. */
int run_time_to_target(const Run *r, double **ret);

/* Seconds each stop took (first kill to die, per container); returns the count or a negative errno. */
int run_stop_durations(const Run *r, double **ret);

ExitCounts run_exit_counts(const Run *r);

/* The area between demand and running, summed over apps, and the area under demand, from the first demand
 * change to the end of the run, in container-seconds. The tracking error is error / demand. */
void run_tracking_areas(const Run *r, double *ret_error_area, double *ret_demand_area);

/* Nearest-rank percentile (p in 0..100] of n values (sorted in place); INFINITY sorts last. NAN when n is 0. */
double percentile(double *values, size_t n, double p);

/* Median of the first (from_end false) or last RUN_LATENCY_EDGE samples of a kind; NAN when there is none. */
double run_edge_median(const Run *r, RowKind kind, bool from_end);

int run_summarize(const Run *r, Summary *ret);

/* The running count of each app at time t, from the first running sample and the start/die events after it. */
void run_running_at(const Run *r, double t, int *ret_running);

const char *row_kind_to_string(RowKind k);
int row_kind_from_string(const char *s);
