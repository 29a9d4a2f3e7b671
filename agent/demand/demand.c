// SPDX-License-Identifier: Apache-2.0
/* Demand sources behind one table of operations: where targets come from. Each source (the control API, the
 * Force12 demo's random walk, a file, an http:// URL, an etcd cluster) is one row of `sources` below and hands
 * full sets of targets to the one DemandFn the agent gave; the reconciler never knows where they came from. A new
 * source is a new row. Sources only propose targets.
 *
 * Apps that carry a "scale" rule take their targets from it instead: the metric source (metric-source.c) runs beside
 * whichever source the row started, its targets take the same road, and the row's targets for those apps are
 * dropped on the way. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "force12/cluster.h"
#include "force12/demand-sources.h"
#include "force12/demand.h"
#include "force12/log.h"
#include "force12/metric-source.h"
#include "force12/order.h"
#include "force12/targets.h"
#include "force12/time-util.h"
#include "force12/xorshift.h"

typedef struct DemandOps {
	const char *kind;
	const char *prefix; /* --demand PREFIX ARGUMENT */
	bool bare;          /* --demand KIND alone is this source too */
	bool keep_prefix;   /* the argument is the whole spec (a URL) */
	int (*start)(Demand *d, sd_event *event, const char *arg, const Config *config, const DemandOptions *o,
	             ErrorText *error);
	void (*stop)(void *impl);
	void (*status)(const void *impl, cJSON *status);       /* adds its view to /v1/status */
	const char *(*health)(const void *impl);               /* a /healthz note, or NULL */
	void (*cluster)(const void *impl, ClusterStatus *ret); /* cluster mode only */
} DemandOps;

struct Demand {
	const DemandOps *ops;
	void *impl;
	DemandFn fn;
	void *userdata;
	const Config *config;
	MetricSource *metric; /* the apps with a "scale" rule; NULL when none has one */
};

/* The one road out: every source's targets, with the apps a scale rule drives left alone. */
static void source_emit(const unsigned *targets, void *userdata)
{
	Demand *d = userdata;
	unsigned t[CONFIG_MAX_APPS];
	bool any = false;

	for (size_t i = 0; i < d->config->n_apps; i++) {
		t[i] = d->config->apps[i].scale ? TARGETS_UNSET : targets[i];
		any |= t[i] != TARGETS_UNSET;
	}
	if (any)
		d->fn(t, d->userdata);
}

static void on_metric_target(size_t index, unsigned target, void *userdata)
{
	Demand *d = userdata;
	unsigned t[CONFIG_MAX_APPS];

	for (size_t i = 0; i < d->config->n_apps; i++)
		t[i] = i == index ? target : TARGETS_UNSET;
	d->fn(t, d->userdata);
}

static int metric_start(Demand *d, sd_event *event)
{
	const ScaleRule *rules[CONFIG_MAX_APPS];
	bool any = false;

	for (size_t i = 0; i < d->config->n_apps; i++)
		any |= !!(rules[i] = d->config->apps[i].scale);
	return any ? metric_source_new(&d->metric, event, rules, d->config->n_apps, on_metric_target, d) : 0;
}

/* ---- random: the Force12 demo ---- */

typedef struct RandomSource {
	sd_event_source *timer;
	const Config *config;
	Demand *demand;
	uint64_t rng;
	unsigned current;
	int first, second; /* the two most important apps */
} RandomSource;

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

static void random_emit(RandomSource *rs)
{
	unsigned targets[CONFIG_MAX_APPS];

	for (size_t i = 0; i < rs->config->n_apps; i++)
		targets[i] = TARGETS_UNSET;
	targets[rs->first] = rs->current;
	if (rs->second >= 0)
		targets[rs->second] = rs->config->capacity - rs->current;
	source_emit(targets, rs->demand);
}

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata)
{
	RandomSource *rs = userdata;

	rs->current = demand_random_step(&rs->rng, rs->current, rs->config->capacity, DEMAND_RANDOM_MAX_STEP);
	random_emit(rs);
	(void)sd_event_source_set_time(s, usec + DEMAND_RANDOM_INTERVAL_USEC);
	return 0;
}

/* The two apps that come first in (priority, name) order. */
static void pick_apps(const Config *c, int *first, int *second)
{
	*first = *second = -1;
	for (size_t i = 0; i < c->n_apps; i++) {
		const AppConfig *a = &c->apps[i];
		if (*first < 0 ||
		    order_compare(a->priority, a->name, c->apps[*first].priority, c->apps[*first].name) < 0) {
			*second = *first;
			*first = (int)i;
		} else if (*second < 0 ||
		           order_compare(a->priority, a->name, c->apps[*second].priority, c->apps[*second].name) < 0)
			*second = (int)i;
	}
}

static int parse_seed(const char *spec, uint64_t *ret, ErrorText *error)
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
			(void)error_text_set(error, 0, "--demand random:SEED: \"%.64s\" is not a non-negative integer",
			                     spec);
			return -EINVAL;
		}
		*ret = v;
	}
	return 0;
}

static void random_stop(void *impl)
{
	RandomSource *rs = impl;

	sd_event_source_disable_unref(rs->timer);
	free(rs);
}

static int random_start(Demand *d, sd_event *event, const char *seed_spec, const Config *config, const DemandOptions *o,
                        ErrorText *error)
{
	RandomSource *rs = calloc(1, sizeof(RandomSource));
	uint64_t seed;
	int r;

	if (!rs)
		return -ENOMEM;
	r = parse_seed(seed_spec, &seed, error);
	if (r < 0) {
		free(rs);
		return r;
	}
	rs->demand = d;
	rs->config = config;
	rs->rng = seed * 0x9E3779B97F4A7C15ULL + 1; /* never 0 */
	pick_apps(config, &rs->first, &rs->second);
	rs->current = (unsigned)(xorshift64(&rs->rng) % (config->capacity + 1));
	r = sd_event_add_time_relative(event, &rs->timer, CLOCK_MONOTONIC, 0, 0, on_tick, rs);
	if (r < 0) {
		free(rs);
		return r;
	}
	(void)sd_event_source_set_enabled(rs->timer, SD_EVENT_ON);
	log_info("Random demand (seed %llu): %s moves within 0..%u every %.0f s, %s takes the rest",
	         (unsigned long long)seed, config->apps[rs->first].name, config->capacity,
	         DEMAND_RANDOM_INTERVAL_USEC / (double)USEC_PER_SEC,
	         rs->second >= 0 ? config->apps[rs->second].name : "nothing");
	d->impl = rs;
	return 0;
}

/* ---- api: the control API's PUT /v1/targets, through demand_submit() ---- */

static int api_start(Demand *d, sd_event *event, const char *arg, const Config *config, const DemandOptions *o,
                     ErrorText *error)
{
	d->impl = NULL;
	return 0;
}

static void api_stop(void *impl)
{
}

/* ---- file, http, etcd: their own modules ---- */

static int file_start(Demand *d, sd_event *event, const char *path, const Config *config, const DemandOptions *o,
                      ErrorText *error)
{
	return file_source_new((FileSource **)&d->impl, event, path, config, source_emit, d, error);
}

static void file_stop(void *impl)
{
	file_source_free(impl);
}

static void file_status(const void *impl, cJSON *status)
{
	cJSON_AddItemToObject(status, "demand", file_source_status_json(impl));
}

static int http_start(Demand *d, sd_event *event, const char *url, const Config *config, const DemandOptions *o,
                      ErrorText *error)
{
	return http_source_new((HttpSource **)&d->impl, event, url, o ? o->interval : 0, config, source_emit, d, error);
}

static void http_stop(void *impl)
{
	http_source_free(impl);
}

static void http_status(const void *impl, cJSON *status)
{
	cJSON_AddItemToObject(status, "demand", http_source_status_json(impl));
}

static int etcd_start(Demand *d, sd_event *event, const char *endpoints, const Config *config, const DemandOptions *o,
                      ErrorText *error)
{
	if (!o || !o->node_id) {
		(void)error_text_set(error, 0, "--demand etcd://%.64s: cluster mode needs a node id", endpoints);
		return -EINVAL;
	}
	ClusterOptions co = {
	        .node_id = o->node_id,
	        .ttl = o->lease_ttl,
	        .cacert = o->etcd_cacert,
	        .cert = o->etcd_cert,
	        .key = o->etcd_key,
	        .user = o->etcd_user,
	        .password_file = o->etcd_password_file,
	};

	return cluster_new_with_options((Cluster **)&d->impl, event, endpoints, &co, config, source_emit, d, error);
}

static void etcd_stop(void *impl)
{
	cluster_free(impl);
}

static void etcd_status(const void *impl, cJSON *status)
{
	cJSON_AddItemToObject(status, "cluster", cluster_status_json(impl));
}

static const char *etcd_health(const void *impl)
{
	return cluster_reachable(impl) ? NULL : "etcd not reachable: keeping the last cluster share";
}

static void etcd_cluster(const void *impl, ClusterStatus *ret)
{
	cluster_status(impl, ret);
}

/* ---- the table ---- */

static const DemandOps sources[] = {
        {.kind = "api", .bare = true, .start = api_start, .stop = api_stop},
        {.kind = "random", .prefix = "random:", .bare = true, .start = random_start, .stop = random_stop},
        {.kind = "file", .prefix = "file:", .start = file_start, .stop = file_stop, .status = file_status},
        {.kind = "http",
         .prefix = "http://",
         .keep_prefix = true,
         .start = http_start,
         .stop = http_stop,
         .status = http_status},
        {.kind = "http",
         .prefix = "https://",
         .keep_prefix = true,
         .start = http_start,
         .stop = http_stop,
         .status = http_status},
        {.kind = "etcd",
         .prefix = "etcd://",
         .start = etcd_start,
         .stop = etcd_stop,
         .status = etcd_status,
         .health = etcd_health,
         .cluster = etcd_cluster},
};

/* The row of spec and the argument it carries. */
static const DemandOps *source_lookup(const char *spec, const char **ret_arg)
{
	for (size_t i = 0; i < ELEMENTSOF(sources); i++) {
		const DemandOps *ops = &sources[i];
		if (ops->bare && streq(spec, ops->kind)) {
			*ret_arg = "";
			return ops;
		}
		if (ops->prefix && strncmp(spec, ops->prefix, strlen(ops->prefix)) == 0) {
			*ret_arg = ops->keep_prefix ? spec : spec + strlen(ops->prefix);
			return ops;
		}
	}
	return NULL;
}

int demand_new_with_options(Demand **ret, sd_event *event, const char *spec, const Config *config,
                            const DemandOptions *o, DemandFn fn, void *userdata, ErrorText *error)
{
	_cleanup_(demand_freep) Demand *d = NULL;
	const DemandOps *ops;
	const char *arg;
	int r;

	ops = source_lookup(spec, &arg);
	if (!ops) {
		(void)error_text_set(
		        error, 0,
		        "--demand %.64s: unknown source; expected api, random[:SEED], file:PATH, http://URL or "
		        "etcd://HOST:PORT",
		        spec);
		return -EINVAL;
	}
	d = calloc(1, sizeof(Demand));
	if (!d)
		return -ENOMEM;
	d->fn = fn;
	d->userdata = userdata;
	d->config = config;
	r = ops->start(d, event, arg, config, o, error);
	if (r < 0)
		return r;
	d->ops = ops; /* only now: stop() is for a started source */
	r = metric_start(d, event);
	if (r < 0)
		return error_text_set(error, r, "cannot start the scale rules: %s", strerror(-r));
	*ret = TAKE_PTR(d);
	return 0;
}

int demand_new(Demand **ret, sd_event *event, const char *spec, const Config *config, DemandFn fn, void *userdata,
               ErrorText *error)
{
	return demand_new_with_options(ret, event, spec, config, NULL, fn, userdata, error);
}

Demand *demand_free(Demand *d)
{
	if (!d)
		return NULL;
	metric_source_free(d->metric);
	if (d->ops)
		d->ops->stop(d->impl);
	free(d);
	return NULL;
}

const char *demand_kind(const Demand *d)
{
	return d ? d->ops->kind : "none";
}

/* Does targets name an app that a scale rule drives? */
static bool names_scaled_app(const Demand *d, const unsigned *targets)
{
	for (size_t i = 0; targets && i < d->config->n_apps; i++)
		if (d->config->apps[i].scale && targets[i] != TARGETS_UNSET)
			return true;
	return false;
}

int demand_submit(Demand *d, const unsigned *targets)
{
	if (!d || d->ops->start != api_start || names_scaled_app(d, targets))
		return -EBUSY;
	if (targets)
		d->fn(targets, d->userdata);
	return 0;
}

const char *demand_owner(const Demand *d, const unsigned *targets)
{
	return d && d->ops->start == api_start && names_scaled_app(d, targets) ? "metric" : demand_kind(d);
}

void demand_status_json(const Demand *d, cJSON *status)
{
	cJSON *apps, *app, *scale;

	if (!d)
		return;
	if (d->ops->status)
		d->ops->status(d->impl, status);
	if (!d->metric)
		return;
	/* apps[] of the agent's status, matched by name: each app with a rule gets its "scale" object. */
	apps = cJSON_GetObjectItemCaseSensitive(status, "apps");
	cJSON_ArrayForEach (app, apps) {
		int i = config_find_app(d->config, cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(app, "name")));
		if (i >= 0 && (scale = metric_source_status_json(d->metric, (size_t)i)))
			cJSON_AddItemToObject(app, "scale", scale);
	}
}

void demand_write_metrics(const Demand *d, FILE *f)
{
	const char *names[CONFIG_MAX_APPS];

	if (!d || !d->metric)
		return;
	for (size_t i = 0; i < d->config->n_apps; i++)
		names[i] = d->config->apps[i].name;
	metric_source_write_metrics(d->metric, names, f);
}

const char *demand_health_note(const Demand *d)
{
	return d && d->ops->health ? d->ops->health(d->impl) : NULL;
}

int demand_cluster_status(const Demand *d, ClusterStatus *ret)
{
	if (!d || !d->ops->cluster)
		return -ENODATA;
	d->ops->cluster(d->impl, ret);
	return 0;
}
