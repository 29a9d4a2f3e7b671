// SPDX-License-Identifier: Apache-2.0
/* How many containers a membership change moves under the cluster split (issue 16, part 4): `make split-moves`.
 * Pure computation, no agent, no engine: the split of the totals before and after a change, compared node by node.
 *
 * A move is one container started or stopped on a node that is a member both before and after the change (what the
 * leavers ran and what the joiners start is not counted: it cannot be avoided). The bound is, summed over the apps,
 * |what the staying nodes run after - what they ran before|: no split that gives out the same totals (and gives the
 * joiners the same shares) can do with fewer. For a leave that the capacity absorbs it is what the leavers ran; for a
 * join it is what the joiners get.
 *
 * Nodes are node-000, node-001, ... with capacities 5, 9, 20, 40 in turn (the cluster simulation's mix); two apps,
 * priority1 (priority 1) and priority2 (priority 2), the embedded default config. Prints one line per scenario. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "force12/config.h"
#include "force12/split.h"
#include "force12/xorshift.h"

#define UNIVERSE 240

static const unsigned caps[] = {5, 9, 20, 40};
static char ids[UNIVERSE][16];
static Config *config;
static size_t app1, app2;

typedef struct Moves {
	unsigned long starts, stops, bound, gone; /* gone: what the leavers ran, or what the joiners got */
} Moves;

/* Adds m to sum; returns whether m moved more than its bound. */
static bool add_moves(Moves *sum, const Moves *m)
{
	sum->starts += m->starts;
	sum->stops += m->stops;
	sum->bound += m->bound;
	sum->gone += m->gone;
	return m->starts + m->stops > m->bound;
}

/* The split over the members (in[k] != 0) into counts[k][app] for every k of the universe (0 for non-members). */
static void split_of(const unsigned *totals, const char *in, unsigned (*counts)[2])
{
	SplitNode nodes[UNIVERSE];
	size_t map[UNIVERSE], n = 0;
	unsigned rows[UNIVERSE * CONFIG_MAX_APPS];

	for (size_t k = 0; k < UNIVERSE; k++) {
		counts[k][0] = counts[k][1] = 0;
		if (!in[k])
			continue;
		nodes[n] = (SplitNode){ids[k], caps[k % 4]};
		map[n++] = k;
	}
	if (split_compute(config, totals, nodes, n, rows) < 0) {
		fprintf(stderr, "split_compute failed\n");
		exit(1);
	}
	for (size_t i = 0; i < n; i++) {
		counts[map[i]][0] = rows[i * config->n_apps + app1];
		counts[map[i]][1] = rows[i * config->n_apps + app2];
	}
}

static Moves compare(const unsigned *totals, const char *before, const char *after)
{
	unsigned a[UNIVERSE][2], b[UNIVERSE][2];
	long sum_before[2] = {0, 0}, sum_after[2] = {0, 0};
	Moves m = {0};

	split_of(totals, before, a);
	split_of(totals, after, b);
	for (size_t k = 0; k < UNIVERSE; k++)
		for (size_t app = 0; app < 2; app++) {
			if (before[k] && after[k]) {
				if (b[k][app] > a[k][app])
					m.starts += b[k][app] - a[k][app];
				else
					m.stops += a[k][app] - b[k][app];
				sum_before[app] += a[k][app];
				sum_after[app] += b[k][app];
			} else {
				m.gone += a[k][app] + b[k][app];
			}
		}
	for (size_t app = 0; app < 2; app++)
		m.bound += (unsigned long)labs(sum_after[app] - sum_before[app]);
	return m;
}

static void print(const char *what, unsigned n, const unsigned *t, const Moves *m, const char *extra)
{
	char tot[16] = "random";

	if (t)
		snprintf(tot, sizeof(tot), "%u+%u", t[app1], t[app2]);
	printf("%3u nodes, %-9s %-34s moves %5lu (%lu starts, %lu stops) bound %5lu excess %4lu%s\n", n, tot, what,
	       m->starts + m->stops, m->starts, m->stops, m->bound, m->starts + m->stops - m->bound, extra);
}

static void scenario(unsigned n, unsigned t1, unsigned t2, unsigned change)
{
	char all[UNIVERSE] = {0}, fewer[UNIVERSE], more[UNIVERSE];
	unsigned totals[CONFIG_MAX_APPS] = {0};
	unsigned victims[UNIVERSE];
	uint64_t rng = 0x5eed5eed1175ULL;
	char what[64], extra[64];
	Moves m, sum = {0};
	unsigned over = 0;
	unsigned long worst = 0;

	totals[app1] = t1;
	totals[app2] = t2;
	memset(all, 1, n);
	/* Each node leaving in turn. */
	for (unsigned k = 0; k < n; k++) {
		memcpy(fewer, all, sizeof(all));
		fewer[k] = 0;
		m = compare(totals, all, fewer);
		over += add_moves(&sum, &m);
		if (m.starts + m.stops - m.bound > worst)
			worst = m.starts + m.stops - m.bound;
	}
	snprintf(what, sizeof(what), "one leaves (each of %u, summed)", n);
	snprintf(extra, sizeof(extra), "; over the bound in %u of %u, worst +%lu", over, n, worst);
	print(what, n, totals, &sum, extra);
	/* One joining, of each capacity. */
	for (unsigned c = 0; c < 4; c++) {
		memcpy(more, all, sizeof(all));
		unsigned k = n + (4 + c - n % 4) % 4; /* the next id with capacity caps[c] */
		more[k] = 1;
		m = compare(totals, all, more);
		snprintf(what, sizeof(what), "one joins (%s, capacity %u)", ids[k], caps[c]);
		snprintf(extra, sizeof(extra), "; the joiner got %lu", m.gone);
		print(what, n, totals, &m, extra);
	}
	/* change of n leaving at once (seeded choice), then joining back. */
	for (unsigned k = 0; k < n; k++)
		victims[k] = k;
	for (unsigned k = n - 1; k > 0; k--) {
		unsigned j = (unsigned)(xorshift64(&rng) % (k + 1)), t = victims[k];
		victims[k] = victims[j];
		victims[j] = t;
	}
	memcpy(fewer, all, sizeof(all));
	for (unsigned k = 0; k < change; k++)
		fewer[victims[k]] = 0;
	m = compare(totals, all, fewer);
	snprintf(what, sizeof(what), "%u leave at once", change);
	snprintf(extra, sizeof(extra), "; the leavers ran %lu", m.gone);
	print(what, n, totals, &m, extra);
	m = compare(totals, fewer, all);
	snprintf(what, sizeof(what), "%u join at once (%u -> %u)", change, n - change, n);
	snprintf(extra, sizeof(extra), "; the joiners got %lu", m.gone);
	print(what, n, totals, &m, extra);
}

/* Totals drawn the way the cluster simulation draws them (priority1 20-59% of the capacity, priority2 10-49%),
 * each with every node leaving in turn, summed over the rounds. */
static void sweep(unsigned n, unsigned rounds)
{
	char all[UNIVERSE] = {0}, fewer[UNIVERSE];
	unsigned totals[CONFIG_MAX_APPS] = {0}, capacity = 0, over = 0;
	uint64_t rng = 0x51317ULL;
	Moves m, sum = {0};
	char what[64], extra[64];

	memset(all, 1, n);
	for (unsigned k = 0; k < n; k++)
		capacity += caps[k % 4];
	for (unsigned r = 0; r < rounds; r++) {
		totals[app1] = capacity * (20 + (unsigned)(xorshift64(&rng) % 40)) / 100;
		totals[app2] = capacity * (10 + (unsigned)(xorshift64(&rng) % 40)) / 100;
		for (unsigned k = 0; k < n; k++) {
			memcpy(fewer, all, sizeof(all));
			fewer[k] = 0;
			m = compare(totals, all, fewer);
			over += add_moves(&sum, &m);
		}
	}
	snprintf(what, sizeof(what), "%u random totals, every leave", rounds);
	snprintf(extra, sizeof(extra), "; over the bound in %u of %u", over, rounds * n);
	print(what, n, NULL, &sum, extra);
}

/* The cluster simulation's sequence (scripts/cluster-sim.sh): n nodes, change of them killed (a seeded choice), change
 * new ones (ids n, n + 1, ...) joining, then the first live node leaving. */
static void sim_sequence(unsigned n, unsigned t1, unsigned t2, unsigned change)
{
	char all[UNIVERSE] = {0}, killed[UNIVERSE], joined[UNIVERSE], left[UNIVERSE];
	unsigned totals[CONFIG_MAX_APPS] = {0}, leaver = 0;
	uint64_t rng = 0x5eed5eed1175ULL;
	char extra[64];
	Moves m;

	totals[app1] = t1;
	totals[app2] = t2;
	memset(all, 1, n);
	memcpy(killed, all, sizeof(all));
	for (unsigned k = 0; k < change;) {
		unsigned v = (unsigned)(xorshift64(&rng) % n);
		if (killed[v]) {
			killed[v] = 0;
			k++;
		}
	}
	memcpy(joined, killed, sizeof(all));
	memset(joined + n, 1, change);
	while (!joined[leaver])
		leaver++;
	memcpy(left, joined, sizeof(all));
	left[leaver] = 0;
	m = compare(totals, all, killed);
	snprintf(extra, sizeof(extra), "; the killed ran %lu", m.gone);
	print("sim: kill (seeded)", n, totals, &m, extra);
	m = compare(totals, killed, joined);
	snprintf(extra, sizeof(extra), "; the joiners got %lu", m.gone);
	print("sim: new ones join", n, totals, &m, extra);
	/* As the agents see it: registrations arrive one at a time, each a membership of its own. */
	Moves sum = {0};
	char step[UNIVERSE], next[UNIVERSE];
	memcpy(step, killed, sizeof(all));
	for (unsigned k = n; k < n + change; k++) {
		memcpy(next, step, sizeof(all));
		next[k] = 1;
		m = compare(totals, step, next);
		(void)add_moves(&sum, &m);
		memcpy(step, next, sizeof(all));
	}
	snprintf(extra, sizeof(extra), "; the joiners got %lu", sum.gone);
	print("sim: new ones join one by one", n, totals, &sum, extra);
	m = compare(totals, joined, left);
	snprintf(extra, sizeof(extra), "; the leaver ran %lu", m.gone);
	print("sim: then the first live node leaves", n, totals, &m, extra);
}

int main(void)
{
	if (config_new_default(&config) < 0)
		return 1;
	app1 = (size_t)config_find_app(config, "priority1");
	app2 = (size_t)config_find_app(config, "priority2");
	for (size_t k = 0; k < UNIVERSE; k++)
		snprintf(ids[k], sizeof(ids[k]), "node-%03zu", k);
	/* 200 nodes: 3,700 slots. Two fits, then priority1 alone past what priority2 can have (capacity binds). */
	scenario(200, 1961, 370, 20);
	scenario(200, 1036, 962, 20);
	scenario(200, 3000, 1000, 20);
	/* 20 nodes: 370 slots. */
	scenario(20, 196, 37, 2);
	scenario(20, 104, 96, 2);
	scenario(20, 300, 100, 2);
	/* Fewer containers than nodes: shares of 0 and 1. */
	scenario(200, 150, 30, 20);
	sim_sequence(200, 1961, 370, 20);
	sim_sequence(200, 1036, 962, 20);
	sweep(200, 50);
	sweep(20, 50);
	config_free(config);
	return 0;
}
