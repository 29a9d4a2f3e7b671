/* Demand sources. The random source replays the Force12 demo: every 3 s the most important app's demand
 * moves by up to 3 within 0..capacity and the next app takes the rest. Sources only propose targets. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "force12/cluster.h"
#include "force12/demand-sources.h"
#include "force12/demand.h"
#include "force12/log.h"
#include "force12/targets.h"

struct Demand {
	const char *kind;
	FileSource *file;
	HttpSource *http;
	Cluster *cluster;
	/* random */
	sd_event_source *timer;
	const Config *config;
	DemandFn fn;
	void *userdata;
	uint64_t rng;
	unsigned current;
	int first, second; /* the two most important apps */
};

static uint64_t xorshift64(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

unsigned demand_random_step(uint64_t *state, unsigned current, unsigned max, unsigned max_step)
{
	long delta = (long)(xorshift64(state) % (2 * (uint64_t)max_step + 1)) - (long)max_step;
	long v = (long)current + delta;

	if (v < 0)
		v = 0;
	if (v > (long)max)
		v = (long)max;
	return (unsigned)v;
}

static void emit(Demand *d)
{
	unsigned targets[CONFIG_MAX_APPS];

	for (size_t i = 0; i < d->config->n_apps; i++)
		targets[i] = TARGETS_UNSET;
	targets[d->first] = d->current;
	if (d->second >= 0)
		targets[d->second] = d->config->capacity - d->current;
	d->fn(targets, d->userdata);
}

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata)
{
	Demand *d = userdata;

	d->current = demand_random_step(&d->rng, d->current, d->config->capacity, DEMAND_RANDOM_MAX_STEP);
	emit(d);
	(void)sd_event_source_set_time(s, usec + DEMAND_RANDOM_INTERVAL_USEC);
	return 0;
}

/* The two apps that come first in (priority, name) order. */
static void pick_apps(const Config *c, int *first, int *second)
{
	*first = *second = -1;
	for (size_t i = 0; i < c->n_apps; i++) {
		const AppConfig *a = &c->apps[i];
		bool before_first =
		        *first < 0 || a->priority < c->apps[*first].priority ||
		        (a->priority == c->apps[*first].priority && strcmp(a->name, c->apps[*first].name) < 0);
		if (before_first) {
			*second = *first;
			*first = (int)i;
			continue;
		}
		if (*second < 0 || a->priority < c->apps[*second].priority ||
		    (a->priority == c->apps[*second].priority && strcmp(a->name, c->apps[*second].name) < 0))
			*second = (int)i;
	}
}

static int parse_seed(const char *spec, uint64_t *ret, char *error)
{
	char *end;

	if (spec[0] == 0) {
		if (getrandom(ret, sizeof(*ret), GRND_NONBLOCK) != sizeof(*ret))
			*ret = (uint64_t)time(NULL);
		*ret %= 1000000;
	} else {
		errno = 0;
		unsigned long long v = strtoull(spec, &end, 10);
		/* strtoull() would skip spaces and take a sign: only plain digits are a seed. */
		if (errno || *end || spec[0] < '0' || spec[0] > '9') {
			snprintf(error, CONFIG_ERROR_MAX,
			         "--demand random:SEED: \"%.64s\" is not a non-negative integer", spec);
			return -EINVAL;
		}
		*ret = v;
	}
	return 0;
}

static int random_new(Demand **ret, sd_event *event, const char *seed_spec, const Config *config, DemandFn fn,
                      void *userdata, char *error)
{
	_cleanup_(demand_freep) Demand *d = calloc(1, sizeof(Demand));
	uint64_t seed;
	int r;

	if (!d)
		return -ENOMEM;
	r = parse_seed(seed_spec, &seed, error);
	if (r < 0)
		return r;
	d->kind = "random";
	d->config = config;
	d->fn = fn;
	d->userdata = userdata;
	d->rng = seed * 0x9E3779B97F4A7C15ULL + 1; /* never 0 */
	pick_apps(config, &d->first, &d->second);
	d->current = (unsigned)(xorshift64(&d->rng) % (config->capacity + 1));
	r = sd_event_add_time_relative(event, &d->timer, CLOCK_MONOTONIC, 0, 0, on_tick, d);
	if (r < 0)
		return r;
	(void)sd_event_source_set_enabled(d->timer, SD_EVENT_ON);
	log_info("Random demand (seed %llu): %s moves within 0..%u every %.0f s, %s takes the rest",
	         (unsigned long long)seed, config->apps[d->first].name, config->capacity,
	         DEMAND_RANDOM_INTERVAL_USEC / 1e6, d->second >= 0 ? config->apps[d->second].name : "nothing");
	*ret = TAKE_PTR(d);
	return 0;
}

/* The file, http and etcd sources live in their own modules; this wraps them so that main.c sees one object. */
static int remote_new(Demand **ret, sd_event *event, const char *spec, const Config *config, const DemandOptions *o,
                      DemandFn fn, void *userdata, char *error)
{
	_cleanup_(demand_freep) Demand *d = calloc(1, sizeof(Demand));
	int r;

	if (!d)
		return -ENOMEM;
	if (strncmp(spec, "file:", 5) == 0) {
		d->kind = "file";
		r = file_source_new(&d->file, event, spec + 5, config, fn, userdata, error);
	} else if (strncmp(spec, "etcd://", 7) == 0) {
		d->kind = "etcd";
		if (!o || !o->node_id) {
			snprintf(error, CONFIG_ERROR_MAX, "--demand %.64s: cluster mode needs a node id", spec);
			return -EINVAL;
		}
		r = cluster_new(&d->cluster, event, spec + 7, o->node_id, o->lease_ttl, config, fn, userdata, error);
	} else {
		d->kind = "http";
		r = http_source_new(&d->http, event, spec, o ? o->interval : 0, config, fn, userdata, error);
	}
	if (r < 0)
		return r;
	*ret = TAKE_PTR(d);
	return 0;
}

int demand_new_with_options(Demand **ret, sd_event *event, const char *spec, const Config *config,
                            const DemandOptions *o, DemandFn fn, void *userdata, char *error)
{
	if (streq(spec, "api")) {
		*ret = NULL;
		return 0;
	}
	if (streq(spec, "random"))
		return random_new(ret, event, "", config, fn, userdata, error);
	if (strncmp(spec, "random:", 7) == 0)
		return random_new(ret, event, spec + 7, config, fn, userdata, error);
	if (strncmp(spec, "file:", 5) == 0 || strncmp(spec, "http://", 7) == 0 || strncmp(spec, "https://", 8) == 0 ||
	    strncmp(spec, "etcd://", 7) == 0)
		return remote_new(ret, event, spec, config, o, fn, userdata, error);
	snprintf(error, CONFIG_ERROR_MAX,
	         "--demand %.64s: unknown source; expected api, random[:SEED], file:PATH, http://URL or "
	         "etcd://HOST:PORT",
	         spec);
	return -EINVAL;
}

int demand_new(Demand **ret, sd_event *event, const char *spec, const Config *config, DemandFn fn, void *userdata,
               char *error)
{
	return demand_new_with_options(ret, event, spec, config, NULL, fn, userdata, error);
}

Demand *demand_free(Demand *d)
{
	if (!d)
		return NULL;
	sd_event_source_disable_unref(d->timer);
	file_source_free(d->file);
	http_source_free(d->http);
	cluster_free(d->cluster);
	free(d);
	return NULL;
}

const char *demand_kind(const Demand *d)
{
	return d ? d->kind : "api";
}

void demand_status_json(const Demand *d, cJSON *status)
{
	if (!d)
		return;
	if (d->cluster)
		cJSON_AddItemToObject(status, "cluster", cluster_status_json(d->cluster));
	else if (d->file)
		cJSON_AddItemToObject(status, "demand", file_source_status_json(d->file));
	else if (d->http)
		cJSON_AddItemToObject(status, "demand", http_source_status_json(d->http));
}

const char *demand_health_note(const Demand *d)
{
	if (d && d->cluster && !cluster_reachable(d->cluster))
		return "etcd not reachable: keeping the last cluster share";
	return NULL;
}
