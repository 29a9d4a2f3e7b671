// SPDX-License-Identifier: Apache-2.0
/* The metric demand source: for each app that carries a scaling rule, one Prometheus instant query per interval
 * over libcurl in the event loop, turned into a target through the rule's formula and scale-down window. A failed
 * query (unreachable, slow, 5xx, an answer that is not one number) backs off, keeps the last good target and shows
 * the error in the rule's status. It never blocks and never calls back from inside curl. */
#pragma once

#include <stdbool.h>
#include <stdio.h>
#include <systemd/sd-event.h>

#include "force12/scale-rule.h"

#define METRIC_BACKOFF_MAX_USEC (30 * 1000000ULL) /* or the interval, if longer */

typedef struct MetricSource MetricSource;

/* A new stabilized target for the app at index `index` of the rules array. Called from the event loop. */
typedef void (*MetricTargetFn)(size_t index, unsigned target, void *userdata);

typedef struct ScaleStatus {
	bool has_value;              /* a query has succeeded at least once */
	double value;                /* its last good value */
	unsigned recommendation;     /* what that value asks for: clamp(ceil(value / per_container), min, max) */
	unsigned target;             /* after the scale-down window; the last good target while queries fail */
	char error[SCALE_ERROR_MAX]; /* the last query's failure, "" when it succeeded */
	unsigned failures;           /* failed queries in a row */
	unsigned long long queries;  /* queries answered with a number */
	double next_query;           /* seconds until the next query */
} ScaleStatus;

/* rules: n entries, NULL for an app without a rule (for example one per app of the config, in its order). The
 * rules must outlive the source. Queries start at once, from the loop. */
int metric_source_new(MetricSource **ret, sd_event *event, const ScaleRule *const *rules, size_t n, MetricTargetFn fn,
                      void *userdata);
MetricSource *metric_source_free(MetricSource *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(MetricSource *, metric_source_free);

/* The status of rule `index`; -ENOENT when that app has no rule. */
int metric_source_status(const MetricSource *m, size_t index, ScaleStatus *ret);
/* {"query", "value", "recommendation", "target", "error", "failures"} for /v1/status ("value", "target" and
 * "recommendation" are null before the first good answer, "error" null when the last query succeeded), or NULL. */
cJSON *metric_source_status_json(const MetricSource *m, size_t index);
/* The force12_scale_* gauges for /metrics; names[i] is app i's name. */
void metric_source_write_metrics(const MetricSource *m, const char *const *names, FILE *f);
