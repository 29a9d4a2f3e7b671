// SPDX-License-Identifier: Apache-2.0
/* An app's scaling rule: a Prometheus query turned into a target count. Pure: parsing the app's "scale" object
 * (strict, one line naming the bad key), the target-value formula, and the scale-down stabilization window. Never
 * does I/O; time comes in as an argument. */
#pragma once

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "force12/macro.h"
#include "force12/time-util.h"

#define SCALE_MAX_COUNT        1000000 /* same bound as a target */
#define SCALE_MAX_INTERVAL     3600    /* seconds */
#define SCALE_MAX_WINDOW       3600    /* seconds */
#define SCALE_DEFAULT_INTERVAL 5
#define SCALE_DEFAULT_WINDOW   30
#define SCALE_QUERY_MAX        4096
#define SCALE_URL_MAX          2048
#define SCALE_ERROR_MAX        256

typedef struct ScaleRule {
	char *prometheus;        /* base URL, http:// or https://, e.g. "http://127.0.0.1:9090" */
	char *query;             /* PromQL instant query that must yield exactly one number */
	double per_container;    /* > 0: how much of the metric one container handles */
	unsigned min, max;       /* the target stays in min..max */
	unsigned interval;       /* seconds between queries, 1..SCALE_MAX_INTERVAL */
	unsigned window;         /* "scale_down_window", seconds, 0..SCALE_MAX_WINDOW */
	char *bearer_token_file; /* NULL: no Authorization header; else read before every query */
} ScaleRule;

/* Parses a "scale" object. prefix names it in messages, e.g. "apps[1].scale". On failure returns -EINVAL (or
 * -ENOMEM) with one line in error (SCALE_ERROR_MAX bytes) such as "apps[1].scale.min: must not be above max (5 >
 * 3)", and *ret is untouched. */
int scale_rule_parse(const cJSON *object, const char *prefix, ScaleRule **ret, char *error);
ScaleRule *scale_rule_free(ScaleRule *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(ScaleRule *, scale_rule_free);
/* A deep copy, or NULL when out of memory. */
ScaleRule *scale_rule_dup(const ScaleRule *r);

/* The target-value algorithm of the HPA and KEDA: clamp(ceil(value / per_container), min, max). value must be
 * finite; a negative value gives min. */
unsigned scale_recommend(const ScaleRule *r, double value);

/* The scale-down stabilization window: the target is the highest recommendation seen during the last `window`
 * microseconds (the HPA's rule), so a rise takes effect at once and a fall only once every higher recommendation
 * is older than the window. Kept as a deque of decreasing recommendations: its size is at most max - min + 1 and
 * at most the number of samples within the window. */
typedef struct ScaleWindowEntry {
	usec_t at;
	unsigned recommendation;
} ScaleWindowEntry;

typedef struct ScaleWindow {
	usec_t length;
	ScaleWindowEntry *entries;
	size_t n, allocated;
} ScaleWindow;

void scale_window_init(ScaleWindow *w, usec_t length);
void scale_window_done(ScaleWindow *w);
/* Records a recommendation made at `now` (never earlier than the last one) and writes the stabilized target. */
int scale_window_push(ScaleWindow *w, usec_t now, unsigned recommendation, unsigned *ret_target);
