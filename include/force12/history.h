// SPDX-License-Identifier: Apache-2.0
/* Dashboard history: a bounded ring of per-app samples (target, allocated, running) and the node's capacity, so
 * that a dashboard opened now draws the last minutes at once (GET /v1/history). Pure: no I/O, no clock (the
 * caller passes the time), and all its memory is allocated when the app set is first seen, never per sample. */
#pragma once

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "force12/macro.h"

/* The dashboard polls once a second and shows the last 10 minutes. */
#define HISTORY_INTERVAL_MS 1000
#define HISTORY_SLOTS       600
#define HISTORY_MAX_APPS    64 /* CONFIG_MAX_APPS */
#define HISTORY_MAX_SLOTS   86400

typedef struct HistoryCounts {
	uint32_t target, allocated, running;
} HistoryCounts;

typedef struct History History;

/* A ring of SLOTS samples (1..HISTORY_MAX_SLOTS). */
int history_new(History **ret, size_t slots);
History *history_free(History *h);
DEFINE_TRIVIAL_CLEANUP_FUNC(History *, history_free);

/* Adds a sample taken at t_ms (wall clock, ms since the epoch) of the N apps NAMES with their COUNTS. When the
 * names differ from the last sample's (a reload), the ring starts again for the new apps. When the ring is full
 * the oldest sample goes. -EINVAL (more than HISTORY_MAX_APPS apps, a NULL name) or -ENOMEM change nothing. */
int history_add(History *h, uint64_t t_ms, uint32_t capacity, const char *const *names, const HistoryCounts *counts,
                size_t n);

size_t history_size(const History *h);   /* samples held, at most the slots */
size_t history_n_apps(const History *h); /* apps of the samples held */
const char *history_app(const History *h, size_t app);
/* The i-th oldest sample; counts points at history_n_apps() entries, valid until the next history_add(). */
int history_get(const History *h, size_t i, uint64_t *ret_t_ms, uint32_t *ret_capacity,
                const HistoryCounts **ret_counts);

/* Bytes the ring holds for its samples: slots x (12 + 12 x apps), whatever the number of samples added. */
size_t history_memory(const History *h);

/* {"interval_ms", "now": now_ms, "apps": [names], "samples": [{"t", "capacity", "target": [], "allocated": [],
 * "running": []}]}, oldest first; "now" (the caller's clock) lets a reader on another clock align the times.
 * NULL when out of memory. */
cJSON *history_json(const History *h, uint64_t now_ms);
