// SPDX-License-Identifier: Apache-2.0
/* Prometheus text exposition (format 0.0.4) of the agent's state, counters and latency histograms, and the
 * API's own request counters. Rendering reads state only. */
#pragma once

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>

#include "force12/agent.h"
#include "force12/cluster.h"

#define API_STATS_MAX 64

typedef struct ApiStatsEntry {
	char route[24];
	unsigned status;
	uint64_t count;
} ApiStatsEntry;

typedef struct ApiStats {
	ApiStatsEntry entries[API_STATS_MAX];
	size_t n;
} ApiStats;

/* route: the API's label for the response (one of its routes' paths, "other" or "unauthorized"; the API's route
 * table keeps the set bounded). */
void api_stats_count(ApiStats *s, const char *route, unsigned status);
void api_stats_free(ApiStats *s);

/* Returns malloc'ed text, or NULL on allocation failure. cluster (NULL outside cluster mode) becomes the
 * force12_cluster_* gauges. */
char *metrics_render(Agent *a, const ApiStats *s, const ClusterStatus *cluster);

/* More gauges at the end of every rendering (main.c: the scale rules' force12_scale_*), one writer per process;
 * fn NULL removes it. It writes complete families (HELP, TYPE, samples) and reads state only. */
typedef void (*MetricsExtraFn)(FILE *f, void *userdata);
void metrics_set_extra(MetricsExtraFn fn, void *userdata);
