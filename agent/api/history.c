// SPDX-License-Identifier: Apache-2.0
/* The dashboard's history ring (see force12/history.h). Three parallel arrays of SLOTS entries, allocated when
 * the app set changes and never per sample, so the memory is fixed by slots and apps; it never does I/O or reads
 * the clock. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "force12/history.h"
#include "force12/json.h"

struct History {
	size_t slots;
	size_t head;  /* the next slot to write */
	size_t count; /* samples held */
	size_t n_apps;
	char **names;
	uint64_t *times;
	uint32_t *capacities;
	HistoryCounts *counts; /* slots x n_apps */
};

static void history_clear_apps(History *h)
{
	for (size_t i = 0; i < h->n_apps; i++)
		free(h->names[i]);
	free(h->names);
	free(h->counts);
	h->names = NULL;
	h->counts = NULL;
	h->n_apps = 0;
	h->head = h->count = 0;
}

int history_new(History **ret, size_t slots)
{
	_cleanup_(history_freep) History *h = NULL;

	if (slots == 0 || slots > HISTORY_MAX_SLOTS)
		return -EINVAL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->slots = slots;
	h->times = calloc(slots, sizeof(*h->times));
	h->capacities = calloc(slots, sizeof(*h->capacities));
	if (!h->times || !h->capacities)
		return -ENOMEM;
	*ret = TAKE_PTR(h);
	return 0;
}

History *history_free(History *h)
{
	if (!h)
		return NULL;
	history_clear_apps(h);
	free(h->times);
	free(h->capacities);
	free(h);
	return NULL;
}

static bool same_apps(const History *h, const char *const *names, size_t n)
{
	if (n != h->n_apps || (n > 0 && !h->names))
		return false;
	for (size_t i = 0; i < n; i++)
		if (strcmp(h->names[i], names[i]) != 0)
			return false;
	return true;
}

/* Starts the ring again for a new app set; on failure the old one stays. */
static int history_set_apps(History *h, const char *const *names, size_t n)
{
	char **copy = calloc(n ? n : 1, sizeof(char *));
	HistoryCounts *counts = calloc(h->slots * (n ? n : 1), sizeof(HistoryCounts));

	if (!copy || !counts)
		goto oom;
	for (size_t i = 0; i < n; i++) {
		copy[i] = strdup(names[i]);
		if (!copy[i])
			goto oom;
	}
	history_clear_apps(h);
	h->names = copy;
	h->counts = counts;
	h->n_apps = n;
	return 0;
oom:
	for (size_t i = 0; copy && i < n; i++)
		free(copy[i]);
	free(copy);
	free(counts);
	return -ENOMEM;
}

int history_add(History *h, uint64_t t_ms, uint32_t capacity, const char *const *names, const HistoryCounts *counts,
                size_t n)
{
	if (n > HISTORY_MAX_APPS || (n > 0 && (!names || !counts)))
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!names[i])
			return -EINVAL;
	if (!h->counts || !same_apps(h, names, n)) {
		int r = history_set_apps(h, names, n);
		if (r < 0)
			return r;
	}
	h->times[h->head] = t_ms;
	h->capacities[h->head] = capacity;
	if (n > 0)
		memcpy(h->counts + h->head * n, counts, n * sizeof(*counts));
	h->head = (h->head + 1) % h->slots;
	if (h->count < h->slots)
		h->count++;
	return 0;
}

size_t history_size(const History *h)
{
	return h->count;
}

size_t history_n_apps(const History *h)
{
	return h->n_apps;
}

const char *history_app(const History *h, size_t app)
{
	return app < h->n_apps ? h->names[app] : NULL;
}

int history_get(const History *h, size_t i, uint64_t *ret_t_ms, uint32_t *ret_capacity,
                const HistoryCounts **ret_counts)
{
	if (i >= h->count)
		return -ERANGE;
	size_t slot = (h->head + h->slots - h->count + i) % h->slots;
	if (ret_t_ms)
		*ret_t_ms = h->times[slot];
	if (ret_capacity)
		*ret_capacity = h->capacities[slot];
	if (ret_counts)
		*ret_counts = h->counts + slot * h->n_apps;
	return 0;
}

size_t history_memory(const History *h)
{
	return h->slots * (sizeof(*h->times) + sizeof(*h->capacities) + h->n_apps * sizeof(HistoryCounts));
}

static cJSON *sample_json(const History *h, size_t i)
{
	static const char *const keys[] = {"target", "allocated", "running"};
	_cleanup_json_ cJSON *o = cJSON_CreateObject();
	const HistoryCounts *c;
	uint64_t t;
	uint32_t cap;

	if (!o || history_get(h, i, &t, &cap, &c) < 0)
		return NULL;
	if (!cJSON_AddNumberToObject(o, "t", (double)t) || !cJSON_AddNumberToObject(o, "capacity", cap))
		return NULL;
	for (size_t k = 0; k < ELEMENTSOF(keys); k++) {
		cJSON *a = cJSON_AddArrayToObject(o, keys[k]);
		if (!a)
			return NULL;
		for (size_t app = 0; app < h->n_apps; app++) {
			uint32_t v = k == 0 ? c[app].target : k == 1 ? c[app].allocated : c[app].running;
			cJSON *num = cJSON_CreateNumber(v);
			if (!num || !cJSON_AddItemToArray(a, num)) {
				cJSON_Delete(num);
				return NULL;
			}
		}
	}
	return TAKE_PTR(o);
}

cJSON *history_json(const History *h, uint64_t now_ms)
{
	_cleanup_json_ cJSON *o = cJSON_CreateObject();
	cJSON *apps, *samples;

	if (!o || !cJSON_AddNumberToObject(o, "interval_ms", HISTORY_INTERVAL_MS) ||
	    !cJSON_AddNumberToObject(o, "now", (double)now_ms))
		return NULL;
	apps = cJSON_AddArrayToObject(o, "apps");
	samples = cJSON_AddArrayToObject(o, "samples");
	if (!apps || !samples)
		return NULL;
	for (size_t i = 0; i < h->n_apps; i++) {
		cJSON *s = cJSON_CreateString(h->names[i]);
		if (!s || !cJSON_AddItemToArray(apps, s)) {
			cJSON_Delete(s);
			return NULL;
		}
	}
	for (size_t i = 0; i < h->count; i++) {
		cJSON *s = sample_json(h, i);
		if (!s || !cJSON_AddItemToArray(samples, s)) {
			cJSON_Delete(s);
			return NULL;
		}
	}
	return TAKE_PTR(o);
}
