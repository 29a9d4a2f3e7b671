// SPDX-License-Identifier: Apache-2.0
/* Renders /metrics in the Prometheus text format. Label values are only app names (validated at config time)
 * and fixed route names, so nothing here needs escaping beyond what is checked. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "force12/metrics.h"

static MetricsExtraFn extra_fn;
static void *extra_userdata;

void metrics_set_extra(MetricsExtraFn fn, void *userdata)
{
	extra_fn = fn;
	extra_userdata = userdata;
}

void api_stats_count(ApiStats *s, const char *r, unsigned status)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->entries[i].status == status && streq(s->entries[i].route, r)) {
			s->entries[i].count++;
			return;
		}
	if (s->n == API_STATS_MAX)
		return;
	snprintf(s->entries[s->n].route, sizeof(s->entries[s->n].route), "%s", r);
	s->entries[s->n].status = status;
	s->entries[s->n].count = 1;
	s->n++;
}

void api_stats_free(ApiStats *s)
{
	s->n = 0;
}

static void header(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void render_apps(FILE *f, Agent *a)
{
	const Config *c = agent_config(a);
	unsigned targets[CONFIG_MAX_APPS];
	static const char *const names[] = {"force12_app_target", "force12_app_allocated", "force12_app_running",
	                                    "force12_app_starting", "force12_app_stopping"};
	static const char *const helps[] = {
	        "Containers asked for.", "Containers the node gives the app after capacity and priority.",
	        "Containers running.", "Containers being created or started.", "Containers being stopped."};

	agent_get_targets(a, targets);
	for (size_t m = 0; m < ELEMENTSOF(names); m++) {
		header(f, names[m], "gauge", helps[m]);
		for (size_t i = 0; i < c->n_apps; i++) {
			unsigned v[4];
			agent_app_counts(a, i, &v[0], &v[1], &v[2], &v[3]);
			fprintf(f, "%s{app=\"%s\"} %u\n", names[m], c->apps[i].name, m == 0 ? targets[i] : v[m - 1]);
		}
	}
	header(f, "force12_app_standby", "gauge",
	       "Containers parked (paused) in the warm standby pool, ready to resume.");
	for (size_t i = 0; i < c->n_apps; i++)
		fprintf(f, "force12_app_standby{app=\"%s\"} %u\n", c->apps[i].name, agent_app_standby(a, i, NULL));
	header(f, "force12_capacity", "gauge", "The most containers the node runs at once.");
	fprintf(f, "force12_capacity %u\n", c->capacity);
}

static void render_totals(FILE *f, Agent *a)
{
	const AgentTotals *t = agent_totals(a);
	const struct {
		const char *name, *help;
		uint64_t value;
	} counters[] = {
	        {"force12_containers_started_total", "Containers created and started.", t->started},
	        {"force12_containers_stopped_total", "Containers stopped cleanly (exit 0, 143 or other than 137).",
	         t->stopped},
	        {"force12_containers_removed_total", "Containers removed.", t->removed},
	        {"force12_containers_killed_total", "Containers killed at their stop timeout (exit 137).", t->killed},
	        {"force12_container_failures_total", "Failed creates and starts.", t->failed},
	        {"force12_containers_died_total", "Containers that exited without being asked to.", t->died},
	        {"force12_standby_warmed_total", "Containers created, started and paused into the standby pool.",
	         t->warmed},
	        {"force12_standby_parked_total", "Running containers paused into the standby pool.", t->parked},
	        {"force12_standby_resumed_total", "Standby containers resumed into service.", t->resumed},
	};

	for (size_t i = 0; i < ELEMENTSOF(counters); i++) {
		header(f, counters[i].name, "counter", counters[i].help);
		fprintf(f, "%s %llu\n", counters[i].name, (unsigned long long)counters[i].value);
	}
	header(f, "force12_engine_reachable", "gauge", "1 while the Docker Engine answers.");
	fprintf(f, "force12_engine_reachable %d\n", agent_engine_reachable(a) ? 1 : 0);
}

static void render_histogram(FILE *f, const char *name, const char *help, const Histogram *h)
{
	uint64_t cum = 0;

	header(f, name, "histogram", help);
	for (size_t i = 0; i < HISTOGRAM_BUCKETS - 1; i++) {
		cum += h->counts[i];
		fprintf(f, "%s_bucket{le=\"%g\"} %llu\n", name, histogram_bounds[i], (unsigned long long)cum);
	}
	fprintf(f, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)h->count);
	fprintf(f, "%s_sum %.6f\n%s_count %llu\n", name, h->sum, name, (unsigned long long)h->count);
}

static void render_api(FILE *f, const ApiStats *s)
{
	header(f, "force12_api_requests_total", "counter", "Control API requests by path and status.");
	for (size_t i = 0; i < s->n; i++)
		fprintf(f, "force12_api_requests_total{path=\"%s\",code=\"%u\"} %llu\n", s->entries[i].route,
		        s->entries[i].status, (unsigned long long)s->entries[i].count);
}

/* Cluster mode: etcd reachable, the revision, the live members, and this node's share of each app. */
static void render_cluster(FILE *f, Agent *a, const ClusterStatus *cluster)
{
	const Config *c = agent_config(a);

	header(f, "force12_cluster_reachable", "gauge", "1 while etcd answers, else 0 (the last share is kept).");
	fprintf(f, "force12_cluster_reachable %d\n", cluster->reachable);
	header(f, "force12_cluster_revision", "gauge", "The etcd revision this node last read.");
	fprintf(f, "force12_cluster_revision %llu\n", (unsigned long long)cluster->revision);
	header(f, "force12_cluster_members", "gauge", "Live nodes registered in etcd.");
	fprintf(f, "force12_cluster_members %zu\n", cluster->n_members);
	header(f, "force12_cluster_failures", "gauge", "etcd calls failed in a row.");
	fprintf(f, "force12_cluster_failures %u\n", cluster->failures);
	if (!cluster->share)
		return;
	header(f, "force12_cluster_share", "gauge", "This node's share of the cluster totals.");
	for (size_t i = 0; i < c->n_apps; i++)
		fprintf(f, "force12_cluster_share{app=\"%s\"} %u\n", c->apps[i].name, cluster->share[i]);
}

char *metrics_render(Agent *a, const ApiStats *s, const ClusterStatus *cluster)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return NULL;
	render_apps(f, a);
	render_totals(f, a);
	render_histogram(f, "force12_container_start_seconds", "Time from create to running.", agent_start_latency(a));
	render_histogram(f, "force12_container_stop_seconds", "Time from the stop request until the container exited.",
	                 agent_stop_latency(a));
	render_api(f, s);
	if (cluster)
		render_cluster(f, a, cluster);
	if (extra_fn)
		extra_fn(f, extra_userdata);
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}
