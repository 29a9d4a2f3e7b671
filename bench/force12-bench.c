// SPDX-License-Identifier: Apache-2.0
/* force12-bench: the agent against the engine's own floor, measured in the same run, and the agent's footprint.
 * Prints one line per figure, "name: value unit (ratio to the floor)", with the goal beside it. It
 * reports and does not judge: it exits non-zero only when something broke (the agent died, a count never
 * converged). Every container it makes, or has the agent make, carries this run's labels and is removed. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench-lib.h"

#define DEMO_CMD     "trap 'exit 0' TERM; while :; do sleep 1 & wait $!; done"
#define MAX_SIZES    16
#define MAX_ROUNDS   100
#define ONLY_SCALE   (1u << 0)
#define ONLY_STOP    (1u << 1)
#define ONLY_SWAP    (1u << 2)
#define ONLY_FOOT    (1u << 3)
#define ONLY_CHURN   (1u << 4)
#define ONLY_ALL     0x1fu
#define GOAL_RATIO   1.10
#define GOAL_STOP_MS 300.0

typedef struct Bench {
	const char *engine;
	char node[96];
	char dir[200];
	unsigned sizes[MAX_SIZES], n_sizes, rounds, idle_seconds, churn_seconds, footprint_n, stop_steps, swap_n,
	        parallel, seed, only;
	Agent agent;
	Watch watch;
	unsigned serial; /* names of the floor's containers */
	bool broken;     /* a figure could not be measured: exit 1 after the others */
} Bench;

static Bench *the_bench; /* for the signal handler and fatal() */

static void cleanup(Bench *b)
{
	if (b->agent.pid > 0)
		agent_stop(&b->agent);
	engine_remove_labelled(b->engine, "io.force12.agent", b->node);
	engine_remove_labelled(b->engine, "io.force12.test", b->node);
	if (b->dir[0]) {
		char cmd[260];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", b->dir);
		if (system(cmd) != 0)
			fprintf(stderr, "force12-bench: could not remove %s, ignoring\n", b->dir);
	}
}

_Noreturn __attribute__((format(printf, 1, 2))) static void fatal(const char *format, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "force12-bench: ");
	va_start(ap, format);
	vfprintf(stderr, format, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	if (the_bench) {
		if (the_bench->agent.pid > 0 || the_bench->agent.exit_status >= 0) {
			char cmd[400];
			snprintf(cmd, sizeof(cmd), "tail -n 5 '%s' | sed 's/^/  agent: /' >&2", the_bench->agent.log);
			if (system(cmd) != 0)
				fprintf(stderr, "force12-bench: no agent log\n");
		}
		cleanup(the_bench);
	}
	exit(1);
}

static void on_signal(int sig)
{
	/* Only the agent here (async-signal-safe); bench.sh's trap removes the containers by label. */
	if (the_bench && the_bench->agent.pid > 0)
		kill(the_bench->agent.pid, SIGTERM);
	_exit(128 + sig);
}

/* ---- numbers and lines ---- */

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;
	return (a > b) - (a < b);
}

/* Nearest rank: the smallest value with at least p of the samples at or below it. */
static double percentile(double *v, size_t n, double p)
{
	size_t rank;

	if (n == 0)
		return NAN;
	qsort(v, n, sizeof(double), cmp_double);
	rank = (size_t)ceil(p * (double)n);
	return v[rank > 0 ? rank - 1 : 0];
}

static double median(double *v, size_t n)
{
	return percentile(v, n, 0.5);
}

__attribute__((format(printf, 4, 5))) static void figure(const char *name, double value, const char *unit,
                                                         const char *format, ...)
{
	va_list ap;

	/* Three significant digits or more: enough for figures that differ by a few percent. */
	int prec = strcmp(unit, "fds") == 0 ? 0
	           : fabs(value) >= 100     ? 0
	           : fabs(value) >= 10      ? 1
	           : fabs(value) >= 1       ? 2
	                                    : 3;

	printf("%s: %.*f %s", name, prec, value, unit);
	if (format && format[0]) {
		printf(" ");
		va_start(ap, format);
		vprintf(format, ap);
		va_end(ap);
	}
	printf("\n");
	fflush(stdout);
}

static double secs(uint64_t ns)
{
	return (double)ns / 1e9;
}

/* ---- waiting on the event stream ---- */

/* Waits for pred, checking every second that the agent, if one runs, is alive. */
static void wait_for(Bench *b, bool (*pred)(Watch *w, void *ud), void *ud, double timeout_s, const char *what)
{
	uint64_t end = now_ns() + (uint64_t)(timeout_s * 1e9);

	for (;;) {
		int r = watch_wait(&b->watch, pred, ud, 1.0);
		if (r == 0)
			return;
		if (r != -ETIMEDOUT)
			fatal("the engine's event stream ended while waiting for %s", what);
		/* pid is 0 when no agent should run (the cleanup after one): then only the engine is waited on. */
		if (b->agent.pid > 0 && !agent_alive(&b->agent))
			fatal("the agent died (status %d) while waiting for %s", b->agent.exit_status, what);
		if (now_ns() > end)
			fatal("gave up after %.0f s waiting for %s", timeout_s, what);
	}
}

static double converge_timeout(unsigned n)
{
	return 120.0 + 10.0 * n;
}

typedef struct Want {
	const char *app;
	size_t n;
	uint64_t since;
} Want;

static bool pred_running(Watch *w, void *ud)
{
	Want *x = ud;
	return watch_count(w, x->app, CS_RUNNING) == x->n;
}

static bool pred_live(Watch *w, void *ud)
{
	Want *x = ud;
	return watch_live(w) == x->n;
}

/* The last start/unpause of the containers now running: when the count was reached. */
static uint64_t last_run(Watch *w, const char *app)
{
	uint64_t t = 0;

	pthread_mutex_lock(&w->lock);
	for (size_t i = 0; i < w->n; i++)
		if (w->c[i].state == CS_RUNNING && (!app || strcmp(app, w->c[i].app) == 0) && w->c[i].t_run > t)
			t = w->c[i].t_run;
	pthread_mutex_unlock(&w->lock);
	return t;
}

static uint64_t last_destroy(Watch *w)
{
	uint64_t t = 0;

	pthread_mutex_lock(&w->lock);
	for (size_t i = 0; i < w->n; i++)
		if (w->c[i].state == CS_DESTROYED && w->c[i].t_destroy > t)
			t = w->c[i].t_destroy;
	pthread_mutex_unlock(&w->lock);
	return t;
}

/* Forgets the containers that are gone, so that the next phase starts from an empty table. */
static void watch_forget_destroyed(Watch *w)
{
	size_t j = 0;

	pthread_mutex_lock(&w->lock);
	for (size_t i = 0; i < w->n; i++)
		if (w->c[i].state != CS_DESTROYED)
			w->c[j++] = w->c[i];
	w->n = j;
	pthread_mutex_unlock(&w->lock);
}

static void put_targets(Bench *b, const char *format, ...)
{
	char body[256];
	va_list ap;

	va_start(ap, format);
	vsnprintf(body, sizeof(body), format, ap);
	va_end(ap);
	if (agent_put_targets(&b->agent, body) < 0)
		fatal("PUT /v1/targets %s failed", body);
}

static void start_agent(Bench *b, const char *const *args)
{
	char err[512];
	int r = agent_start(&b->agent, args, err, sizeof(err));

	if (r < 0)
		fatal("the agent did not become ready: %s", err[0] ? err : strerror(-r));
}

static void stop_agent_and_clean(Bench *b)
{
	Want none = {.n = 0};
	int status = agent_stop(&b->agent);

	if (status != 0) {
		fprintf(stderr, "force12-bench: the agent exited with status %d on SIGTERM (expected 0)\n", status);
		b->broken = true;
	}
	b->agent.exit_status = -1;
	engine_remove_labelled(b->engine, "io.force12.agent", b->node);
	wait_for(b, pred_live, &none, 120, "the agent's containers to be removed");
	watch_forget_destroyed(&b->watch);
}

/* ---- the floor: raw engine calls, K in flight (K = 1 is the plain sequential loop) ---- */

typedef struct Slot {
	CURL *h;
	Buf buf;
	unsigned idx;
	int step;
} Slot;

typedef struct Floor {
	Bench *b;
	bool up;
	unsigned n, next, done;
	char (*ids)[65];
	CURLM *m;
	struct curl_slist *headers;
	char body[1024];
} Floor;

static void floor_request(Floor *f, Slot *s)
{
	char path[256];
	const char *method = "POST", *body = NULL;

	free(s->buf.data);
	s->buf = (Buf){0};
	if (f->up && s->step == 0) {
		snprintf(path, sizeof(path), "/v1.41/containers/create?name=%s-floor-%u", f->b->node, f->b->serial++);
		body = f->body;
	} else if (f->up) {
		snprintf(path, sizeof(path), "/v1.41/containers/%s/start", f->ids[s->idx]);
	} else if (s->step == 0) {
		snprintf(path, sizeof(path), "/v1.41/containers/%s/stop?t=2", f->ids[s->idx]);
	} else {
		snprintf(path, sizeof(path), "/v1.41/containers/%s", f->ids[s->idx]);
		method = "DELETE";
	}
	http_prepare(s->h, f->b->engine, method, path, body, f->headers, &s->buf);
	curl_easy_setopt(s->h, CURLOPT_PRIVATE, s);
	curl_multi_add_handle(f->m, s->h);
}

static void floor_next(Floor *f, Slot *s)
{
	if (f->next >= f->n)
		return;
	s->idx = f->next++;
	s->step = 0;
	floor_request(f, s);
}

static void floor_done(Floor *f, Slot *s, CURLcode result)
{
	long code = 0;

	curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &code);
	curl_multi_remove_handle(f->m, s->h);
	/* 304 to a stop: already stopped (it exited on its own); the remove still follows. */
	if (result == CURLE_OK && code == 304 && !f->up && s->step == 0)
		fprintf(stderr, "force12-bench: floor: container %.12s had already stopped\n", f->ids[s->idx]);
	else if (result != CURLE_OK || code / 100 != 2)
		fatal("floor: engine call failed (HTTP %ld, %s): %.200s", code, curl_easy_strerror(result),
		      s->buf.data ? s->buf.data : "");
	if (s->step == 0) {
		if (f->up) {
			cJSON *j = cJSON_Parse(s->buf.data);
			const char *id = cJSON_GetStringValue(cJSON_GetObjectItem(j, "Id"));
			if (!id)
				fatal("floor: create answered no Id");
			snprintf(f->ids[s->idx], sizeof(f->ids[s->idx]), "%s", id);
			cJSON_Delete(j);
		}
		s->step = 1;
		floor_request(f, s);
		return;
	}
	f->done++;
	floor_next(f, s);
}

/* Creates and starts n containers (up), or stops and removes them; returns the seconds it took. */
static double floor_run(Bench *b, bool up, unsigned n, unsigned k, char (*ids)[65])
{
	Floor f = {.b = b, .up = up, .n = n, .ids = ids, .m = curl_multi_init()};
	Slot slots[64] = {0};
	uint64_t t0;

	k = k > 64 ? 64 : k;
	snprintf(f.body, sizeof(f.body),
	         "{\"Image\": \"busybox:latest\", \"Cmd\": [\"sh\", \"-c\", \"%s\"], \"Labels\": "
	         "{\"io.force12.test\": \"%s\"}, \"StopTimeout\": 2, \"HostConfig\": {\"NetworkMode\": \"none\"}}",
	         DEMO_CMD, b->node);
	f.headers = curl_slist_append(NULL, "Content-Type: application/json");
	curl_multi_setopt(f.m, CURLMOPT_MAX_HOST_CONNECTIONS, (long)k);
	for (unsigned i = 0; i < k; i++)
		slots[i].h = curl_easy_init();
	t0 = now_ns();
	for (unsigned i = 0; i < k; i++)
		floor_next(&f, &slots[i]);
	while (f.done < n) {
		CURLMsg *msg;
		int running, q;
		curl_multi_perform(f.m, &running);
		while ((msg = curl_multi_info_read(f.m, &q)))
			if (msg->msg == CURLMSG_DONE) {
				Slot *s;
				curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&s);
				floor_done(&f, s, msg->data.result);
			}
		if (f.done < n)
			curl_multi_poll(f.m, NULL, 0, 1000, NULL);
	}
	t0 = now_ns() - t0;
	for (unsigned i = 0; i < k; i++) {
		curl_easy_cleanup(slots[i].h);
		free(slots[i].buf.data);
	}
	curl_multi_cleanup(f.m);
	curl_slist_free_all(f.headers);
	return secs(t0);
}

/* ---- scale up and down ---- */

static void agent_up_down(Bench *b, unsigned n, double *ret_up, double *ret_down)
{
	Want all = {.n = n}, none = {.n = 0};
	uint64_t t0;

	t0 = now_ns();
	put_targets(b, "{\"priority1\": %u}", n);
	wait_for(b, pred_running, &all, converge_timeout(n), "the scale-up");
	*ret_up = secs(last_run(&b->watch, NULL) - t0);
	t0 = now_ns();
	put_targets(b, "{\"priority1\": 0}");
	wait_for(b, pred_live, &none, converge_timeout(n), "the scale-down");
	*ret_down = secs(last_destroy(&b->watch) - t0);
	watch_forget_destroyed(&b->watch);
}

typedef struct Samples {
	double agent_up[MAX_ROUNDS], agent_down[MAX_ROUNDS], seq_up[MAX_ROUNDS], seq_down[MAX_ROUNDS],
	        par_up[MAX_ROUNDS], par_down[MAX_ROUNDS];
} Samples;

static void report_scale(Bench *b, unsigned n, Samples *s)
{
	double up = median(s->agent_up, b->rounds), down = median(s->agent_down, b->rounds);
	double seq_up = median(s->seq_up, b->rounds), par_up = median(s->par_up, b->rounds);
	double seq_down = median(s->seq_down, b->rounds), par_down = median(s->par_down, b->rounds);
	double floor_up = fmin(seq_up, par_up), floor_down = fmin(seq_down, par_down);
	char name[64];

	snprintf(name, sizeof(name), "floor_create_start_sequential_%u", n);
	figure(name, seq_up, "s", "(raw API loop)  rounds %.2f..%.2f s", s->seq_up[0], s->seq_up[b->rounds - 1]);
	snprintf(name, sizeof(name), "floor_create_start_parallel_%u", n);
	figure(name, par_up, "s", "(raw API, %u in flight)  rounds %.2f..%.2f s", b->parallel, s->par_up[0],
	       s->par_up[b->rounds - 1]);
	snprintf(name, sizeof(name), "scale_up_0_to_%u", n);
	/* median() sorted the samples: the spread of the rounds is first..last. */
	figure(name, up, "s", "(%.2fx the floor)  rounds %.2f..%.2f s  goal: <= %.2fx", up / floor_up, s->agent_up[0],
	       s->agent_up[b->rounds - 1], GOAL_RATIO);
	snprintf(name, sizeof(name), "floor_stop_remove_sequential_%u", n);
	figure(name, seq_down, "s", "(raw API loop)  rounds %.2f..%.2f s", s->seq_down[0], s->seq_down[b->rounds - 1]);
	snprintf(name, sizeof(name), "floor_stop_remove_parallel_%u", n);
	figure(name, par_down, "s", "(raw API, %u in flight)  rounds %.2f..%.2f s", b->parallel, s->par_down[0],
	       s->par_down[b->rounds - 1]);
	snprintf(name, sizeof(name), "scale_down_%u_to_0", n);
	figure(name, down, "s", "(%.2fx the floor)  rounds %.2f..%.2f s  goal: <= %.2fx", down / floor_down,
	       s->agent_down[0], s->agent_down[b->rounds - 1], GOAL_RATIO);
}

static void bench_scale(Bench *b)
{
	static char ids[1001][65];

	for (unsigned i = 0; i < b->n_sizes; i++) {
		unsigned n = b->sizes[i];
		Samples s;
		for (unsigned r = 0; r < b->rounds; r++) {
			agent_up_down(b, n, &s.agent_up[r], &s.agent_down[r]);
			s.seq_up[r] = floor_run(b, true, n, 1, ids);
			s.seq_down[r] = floor_run(b, false, n, 1, ids);
			s.par_up[r] = floor_run(b, true, n, b->parallel, ids);
			s.par_down[r] = floor_run(b, false, n, b->parallel, ids);
		}
		report_scale(b, n, &s);
	}
}

/* ---- stop latency: single-step scale-downs ---- */

typedef struct Died {
	uint64_t since, t_die, t_destroy;
} Died;

static bool pred_one_destroyed(Watch *w, void *ud)
{
	Died *d = ud;

	for (size_t i = 0; i < w->n; i++)
		if (w->c[i].t_die >= d->since && w->c[i].state == CS_DESTROYED) {
			d->t_die = w->c[i].t_die;
			d->t_destroy = w->c[i].t_destroy;
			return true;
		}
	return false;
}

/* The floor of one stop: raw POST /stop (it answers once the container has exited) then DELETE, one
 * container at a time, on containers started by the floor's own calls. Appends to stop[] and rm[]. */
static void floor_stops(Bench *b, unsigned n, double *stop, double *rm)
{
	static char ids[1001][65];
	CURL *h = curl_easy_init();
	char path[200];

	if (!h)
		fatal("out of memory");
	floor_run(b, true, n, b->parallel, ids);
	for (unsigned i = 0; i < n; i++) {
		uint64_t t0 = now_ns();
		long code = 0;
		snprintf(path, sizeof(path), "/v1.41/containers/%.64s/stop?t=2", ids[i]);
		if (http_call(h, b->engine, "POST", path, NULL, &code, NULL) < 0 || (code / 100 != 2 && code != 304))
			fatal("floor: stop failed (HTTP %ld)", code);
		stop[i] = (double)(now_ns() - t0) / 1e6;
		snprintf(path, sizeof(path), "/v1.41/containers/%.64s", ids[i]);
		if (http_call(h, b->engine, "DELETE", path, NULL, &code, NULL) < 0 || code / 100 != 2)
			fatal("floor: remove failed (HTTP %ld)", code);
		rm[i] = (double)(now_ns() - t0) / 1e6;
	}
	curl_easy_cleanup(h);
}

/* The agent's: one container fewer at a time, from the PUT until its "die" and its "destroy" events. */
static void agent_stops(Bench *b, double *die, double *destroy)
{
	Want all = {.n = b->stop_steps};

	put_targets(b, "{\"priority1\": %u}", b->stop_steps);
	wait_for(b, pred_running, &all, converge_timeout(b->stop_steps), "the scale-up before the stops");
	for (unsigned t = b->stop_steps, k = 0; t-- > 0; k++) {
		Died d = {.since = now_ns()};
		put_targets(b, "{\"priority1\": %u}", t);
		wait_for(b, pred_one_destroyed, &d, 60, "a container to stop");
		die[k] = (double)(d.t_die - d.since) / 1e6;
		destroy[k] = (double)(d.t_destroy - d.since) / 1e6;
		watch_forget_destroyed(&b->watch);
	}
}

static void bench_stop(Bench *b)
{
	size_t n = (size_t)b->rounds * b->stop_steps;
	double *die = calloc(n, sizeof(double)), *destroy = calloc(n, sizeof(double));
	double *fstop = calloc(n, sizeof(double)), *frm = calloc(n, sizeof(double));

	if (!die || !destroy || !fstop || !frm)
		fatal("out of memory");
	for (unsigned r = 0; r < b->rounds; r++) {
		agent_stops(b, die + r * b->stop_steps, destroy + r * b->stop_steps);
		floor_stops(b, b->stop_steps, fstop + r * b->stop_steps, frm + r * b->stop_steps);
	}
	figure("floor_stop_p50", percentile(fstop, n, 0.5), "ms", "(raw POST /stop?t=2, one container at a time)");
	figure("floor_stop_p99", percentile(fstop, n, 0.99), "ms", "(%zu stops)", n);
	figure("floor_stop_remove_p50", percentile(frm, n, 0.5), "ms", "(raw stop, then DELETE)");
	figure("floor_stop_remove_p99", percentile(frm, n, 0.99), "ms", "(%zu stops)", n);
	figure("stop_latency_die_p50", percentile(die, n, 0.5), "ms", "(target n-1 until the \"die\" event)");
	figure("stop_latency_die_p99", percentile(die, n, 0.99), "ms", "(%zu stops)  goal: < %.0f ms", n, GOAL_STOP_MS);
	figure("stop_latency_destroy_p50", percentile(destroy, n, 0.5), "ms", "(until the \"destroy\" event)");
	figure("stop_latency_destroy_p99", percentile(destroy, n, 0.99), "ms", "(%zu stops)", n);
	free(die);
	free(destroy);
	free(fstop);
	free(frm);
}

/* ---- preemption swap, cold and from the warm standby ---- */

static void write_swap_config(Bench *b, const char *path, unsigned standby)
{
	FILE *f = fopen(path, "we");
	char extra[64] = "";

	if (!f)
		fatal("cannot write %s: %m", path);
	if (standby)
		snprintf(extra, sizeof(extra), ", \"standby\": %u", standby);
	fprintf(f,
	        "{\"capacity\": %u, \"apps\": [\n"
	        " {\"name\": \"priority1\", \"priority\": 1, \"image\": \"busybox:latest\", \"command\": [\"sh\", "
	        "\"-c\", "
	        "\"%s\"], \"stop_timeout\": 2, \"network_mode\": \"none\"%s},\n"
	        " {\"name\": \"priority2\", \"priority\": 2, \"image\": \"busybox:latest\", \"command\": [\"sh\", "
	        "\"-c\", "
	        "\"%s\"], \"stop_timeout\": 2, \"network_mode\": \"none\"}]}\n",
	        b->swap_n, DEMO_CMD, extra, DEMO_CMD);
	if (fclose(f) != 0)
		fatal("cannot write %s: %m", path);
}

/* priority1's standby as /v1/status shows it: the count, or -1 when the agent shows none. */
static int status_standby(Bench *b)
{
	cJSON *s = agent_status(&b->agent), *app;
	int n = -1;

	cJSON_ArrayForEach (app, cJSON_GetObjectItem(s, "apps")) {
		const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(app, "name"));
		cJSON *sb = cJSON_GetObjectItem(app, "standby");
		if (name && strcmp(name, "priority1") == 0 && cJSON_IsNumber(sb))
			n = sb->valueint;
	}
	cJSON_Delete(s);
	return n;
}

/* The seconds from priority1's target change until it runs swap_n; NAN with *why set when standby is
 * unavailable in this agent. */
static double swap_once(Bench *b, bool warm, char *why, size_t why_size)
{
	char config[300], err[512];
	const char *args[] = {"-c", config, NULL};
	Want p2 = {.app = "priority2", .n = b->swap_n}, p1 = {.app = "priority1", .n = b->swap_n};
	uint64_t t0;
	double t;
	int r;

	snprintf(config, sizeof(config), "%s/swap-%s.json", b->dir, warm ? "standby" : "cold");
	write_swap_config(b, config, warm ? b->swap_n : 0);
	r = agent_start(&b->agent, args, err, sizeof(err));
	if (r == -ECHILD && warm && b->agent.exit_status == 2 && strstr(err, "standby")) {
		snprintf(why, why_size, "the agent refuses the config key: %s", err);
		b->agent.exit_status = -1;
		return NAN;
	}
	if (r < 0)
		fatal("the agent did not become ready with %s: %s", config, err[0] ? err : strerror(-r));
	/* The pool fills on the empty node first: warming a container takes a slot of the capacity until it is
	 * paused, so a node that priority2 already fills warms nothing (its pool would fill only by parking). */
	if (warm) {
		uint64_t end = now_ns() + (uint64_t)(converge_timeout(b->swap_n) * 1e9);
		int n;
		while ((n = status_standby(b)) < (int)b->swap_n) {
			if (n < 0) {
				snprintf(why, why_size,
				         "the agent accepts \"standby\" but /v1/status shows no standby");
				stop_agent_and_clean(b);
				return NAN;
			}
			if (!agent_alive(&b->agent))
				fatal("the agent died (status %d) while its standby filled", b->agent.exit_status);
			if (now_ns() > end) {
				/* A count that never converged: reported, and the run fails at the end. */
				snprintf(why, why_size, "BROKEN: priority1's standby stayed at %d of %u for %.0f s", n,
				         b->swap_n, converge_timeout(b->swap_n));
				b->broken = true;
				stop_agent_and_clean(b);
				return NAN;
			}
			usleep(50 * 1000);
		}
	}
	put_targets(b, "{\"priority2\": %u}", b->swap_n);
	wait_for(b, pred_running, &p2, converge_timeout(b->swap_n), "priority2 to run");
	if (warm && status_standby(b) != (int)b->swap_n) {
		snprintf(why, why_size, "BROKEN: priority1's standby went from %u to %d while priority2 started",
		         b->swap_n, status_standby(b));
		b->broken = true;
		stop_agent_and_clean(b);
		return NAN;
	}
	t0 = now_ns();
	put_targets(b, "{\"priority1\": %u}", b->swap_n);
	wait_for(b, pred_running, &p1, converge_timeout(b->swap_n), "priority1 to take the node");
	t = secs(last_run(&b->watch, "priority1") - t0);
	put_targets(b, "{\"priority1\": 0, \"priority2\": 0}");
	stop_agent_and_clean(b);
	return t;
}

static void bench_swap(Bench *b)
{
	double cold[MAX_ROUNDS], warm[MAX_ROUNDS];
	char why[600] = "";
	unsigned n_warm = 0;

	for (unsigned r = 0; r < b->rounds; r++) {
		cold[r] = swap_once(b, false, why, sizeof(why));
		if (!why[0]) {
			double t = swap_once(b, true, why, sizeof(why));
			if (!why[0])
				warm[n_warm++] = t;
		}
	}
	double c = median(cold, b->rounds);
	figure("preempt_swap_cold", c, "s", "(capacity %u, priority2 at %u, then priority1 set to %u)", b->swap_n,
	       b->swap_n, b->swap_n);
	if (why[0]) {
		printf("preempt_swap_standby: unavailable (%s)\n", why);
		printf("preempt_swap_speedup: unavailable  goal: >= 5x\n");
	} else {
		double w = median(warm, n_warm);
		figure("preempt_swap_standby", w, "s", "(\"standby\": %u on priority1)", b->swap_n);
		figure("preempt_swap_speedup", c / w, "x", "(cold / standby)  goal: >= 5x");
	}
	fflush(stdout);
}

/* ---- footprint ---- */

static void read_mem(Bench *b, long *rss, long *pd)
{
	if (proc_mem(b->agent.pid, rss, pd) < 0)
		fatal("cannot read /proc/%d/smaps_rollup", (int)b->agent.pid);
}

/* Until the agent itself says nothing is starting or stopping: its last operation is done. */
static void wait_agent_settled(Bench *b)
{
	for (int i = 0; i < 1200; i++) {
		cJSON *s = agent_status(&b->agent), *app;
		bool settled = s != NULL;
		cJSON_ArrayForEach (app, cJSON_GetObjectItem(s, "apps")) {
			double st = cJSON_GetNumberValue(cJSON_GetObjectItem(app, "starting"));
			double sp = cJSON_GetNumberValue(cJSON_GetObjectItem(app, "stopping"));
			double run = cJSON_GetNumberValue(cJSON_GetObjectItem(app, "running"));
			double alloc = cJSON_GetNumberValue(cJSON_GetObjectItem(app, "allocated"));
			if (st != 0 || sp != 0 || run != alloc)
				settled = false;
		}
		cJSON_Delete(s);
		if (settled)
			return;
		if (!agent_alive(&b->agent))
			fatal("the agent died (status %d)", b->agent.exit_status);
		usleep(50 * 1000);
	}
	fatal("the agent did not settle within 60 s");
}

static void bench_footprint(Bench *b)
{
	unsigned n = b->footprint_n;
	char cap[16];
	const char *args[] = {"--capacity", cap, NULL};
	Want all = {.n = n}, none = {.n = 0};
	long rss0, pd0, rss1, pd1;
	double cpu0, cpu1, cpu_idle0, cpu_idle1, cpu2, sched0, sched1;
	size_t events;

	snprintf(cap, sizeof(cap), "%u", n > 1000 ? n : 1000);
	start_agent(b, args);
	sleep(2);
	read_mem(b, &rss0, &pd0);
	figure("footprint_idle_rss", rss0 / 1024.0, "MiB", "(no containers)");
	figure("footprint_idle_private_dirty", pd0 / 1024.0, "MiB", "(no containers)");
	cpu0 = proc_cpu_seconds(b->agent.pid);
	put_targets(b, "{\"priority1\": %u}", n);
	wait_for(b, pred_running, &all, converge_timeout(n), "the footprint's scale-up");
	wait_agent_settled(b);
	cpu1 = proc_cpu_seconds(b->agent.pid);
	sleep(2);
	read_mem(b, &rss1, &pd1);
	pthread_mutex_lock(&b->watch.lock);
	events = b->watch.n;
	pthread_mutex_unlock(&b->watch.lock);
	cpu_idle0 = proc_cpu_seconds(b->agent.pid);
	sched0 = proc_schedstat_seconds(b->agent.pid);
	sleep(b->idle_seconds);
	cpu_idle1 = proc_cpu_seconds(b->agent.pid);
	sched1 = proc_schedstat_seconds(b->agent.pid);
	if (watch_count(&b->watch, NULL, CS_RUNNING) != n || b->watch.n != events)
		fatal("containers changed during the idle window");
	put_targets(b, "{\"priority1\": 0}");
	wait_for(b, pred_live, &none, converge_timeout(n), "the footprint's scale-down");
	wait_agent_settled(b);
	cpu2 = proc_cpu_seconds(b->agent.pid);
	char name[64];
	snprintf(name, sizeof(name), "footprint_%u_rss", n);
	figure(name, rss1 / 1024.0, "MiB", "(managing %u running containers)  goal: <= 12 MiB", n);
	snprintf(name, sizeof(name), "footprint_%u_private_dirty", n);
	figure(name, pd1 / 1024.0, "MiB", "(managing %u running containers)  goal: <= 4 MiB", n);
	figure("cpu_per_100_ops", (cpu1 - cpu0 + cpu2 - cpu_idle1) / (2.0 * n) * 100.0, "s",
	       "(utime+stime over 0->%u->0 = %u ops: a create+start is one, a stop+remove one; %.2f s in all)", n,
	       2 * n, cpu1 - cpu0 + cpu2 - cpu_idle1);
	figure("cpu_idle", (cpu_idle1 - cpu_idle0) / b->idle_seconds * 100.0, "%",
	       "(%.2f s of utime+stime over %u s, %u containers running, nothing changing; schedstat: %.1f ms on "
	       "CPU = %.4f%%)  goal: < 0.1%%",
	       cpu_idle1 - cpu_idle0, b->idle_seconds, n, (sched1 - sched0) * 1e3,
	       (sched1 - sched0) / b->idle_seconds * 100.0);
	stop_agent_and_clean(b);
}

/* ---- churn: the random demand ---- */

/* "alloc,alloc,..." of every app, and whether every app runs its allocation with nothing under way. */
static bool churn_poll(Bench *b, char *key, size_t size, bool *ret_settled)
{
	cJSON *s = agent_status(&b->agent), *app;
	size_t len = 0;

	if (!s)
		return false;
	*ret_settled = true;
	key[0] = 0;
	cJSON_ArrayForEach (app, cJSON_GetObjectItem(s, "apps")) {
		double alloc = cJSON_GetNumberValue(cJSON_GetObjectItem(app, "allocated"));
		double tgt = cJSON_GetNumberValue(cJSON_GetObjectItem(app, "target"));
		if (cJSON_GetNumberValue(cJSON_GetObjectItem(app, "running")) != alloc ||
		    cJSON_GetNumberValue(cJSON_GetObjectItem(app, "starting")) != 0 ||
		    cJSON_GetNumberValue(cJSON_GetObjectItem(app, "stopping")) != 0)
			*ret_settled = false;
		if (len < size)
			len += (size_t)snprintf(key + len, size - len, "%.0f/%.0f,", tgt, alloc);
	}
	cJSON_Delete(s);
	return true;
}

static void bench_churn(Bench *b)
{
	char seed[32], key[256], prev[256] = "";
	const char *args[] = {"--demand", seed, NULL};
	size_t cap = 4096, n = 0, changes = 0, superseded = 0;
	double *ttt = calloc(cap, sizeof(double));
	uint64_t end, t0 = 0;
	bool pending = false, settled;
	long rss0, pd, rss1;
	int fds0, fds1;

	if (!ttt)
		fatal("out of memory");
	snprintf(seed, sizeof(seed), "random:%u", b->seed);
	start_agent(b, args);
	sleep(1);
	read_mem(b, &rss0, &pd);
	fds0 = proc_fds(b->agent.pid);
	end = now_ns() + (uint64_t)b->churn_seconds * 1000000000u;
	while (now_ns() < end) {
		if (!agent_alive(&b->agent))
			fatal("the agent died during the churn (status %d)", b->agent.exit_status);
		if (!churn_poll(b, key, sizeof(key), &settled))
			fatal("GET /v1/status failed during the churn");
		if (strcmp(key, prev) != 0) {
			changes++;
			if (pending)
				superseded++;
			else
				t0 = now_ns();
			pending = true;
			snprintf(prev, sizeof(prev), "%s", key);
		}
		if (pending && settled) {
			if (n == cap) {
				double *m = realloc(ttt, 2 * cap * sizeof(double));
				if (!m)
					fatal("out of memory");
				ttt = m;
				cap *= 2;
			}
			ttt[n++] = (double)(now_ns() - t0) / 1e6;
			pending = false;
		}
		usleep(20 * 1000);
	}
	read_mem(b, &rss1, &pd);
	fds1 = proc_fds(b->agent.pid);
	figure("churn_time_to_target_p50", percentile(ttt, n, 0.5), "ms",
	       "(%u s of random:%u demand; %zu changes seen, %zu settled, %zu superseded before settling)",
	       b->churn_seconds, b->seed, changes, n, superseded);
	figure("churn_time_to_target_p95", percentile(ttt, n, 0.95), "ms",
	       "(from the change seen in /v1/status, polled every 20 ms, until running == allocated)");
	figure("churn_rss_start", rss0 / 1024.0, "MiB", NULL);
	figure("churn_rss_end", rss1 / 1024.0, "MiB", "(growth %+ld KiB)  goal: no growth", rss1 - rss0);
	figure("churn_fds_start", fds0, "fds", NULL);
	figure("churn_fds_end", fds1, "fds", "(growth %+d)  goal: no growth", fds1 - fds0);
	free(ttt);
	stop_agent_and_clean(b);
}

/* ---- main ---- */

static void usage(FILE *f)
{
	fprintf(f,
	        "Usage: force12-bench [OPTIONS]\n"
	        "The agent's scaling against the engine's floor (raw API calls), stop latency, preemption swap\n"
	        "(cold and warm standby), footprint and churn. One line per figure: name: value unit (ratio).\n"
	        "  --agent PATH           the agent binary (default: $AGENT_BIN, else build/force12-agent)\n"
	        "  --docker-socket PATH   engine socket (default: $DOCKER_HOST when unix://..., else "
	        "/var/run/docker.sock)\n"
	        "  --node-id ID           this run's node id and label value (default force12-bench-PID)\n"
	        "  --only LIST            comma-separated subset of: scale,stop,swap,footprint,churn\n"
	        "  -h, --help\n"
	        "Environment: SIZES (\"20 50\"), ROUNDS (3), STOP_STEPS (20), SWAP_N (9), FOOTPRINT_N (100),\n"
	        "IDLE_SECONDS (60), CHURN_SECONDS (600), SEED (2015), PARALLEL (8: the floor's requests in flight).\n"
	        "Exit status: 0 when every figure was measured (goals are reported, not enforced); 1 when\n"
	        "something broke (the agent died, a count never converged); 2 bad usage.\n");
}

static unsigned env_uint(const char *name, unsigned def, unsigned min, unsigned max)
{
	const char *v = getenv(name);
	char *end;
	unsigned long n;

	if (!v || !v[0])
		return def;
	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno || *end || n < min || n > max) {
		fprintf(stderr, "force12-bench: %s=%s: must be an integer in %u..%u\n", name, v, min, max);
		exit(2);
	}
	return (unsigned)n;
}

static void parse_sizes(Bench *b)
{
	const char *v = getenv("SIZES");
	char *copy = strdup(v && v[0] ? v : "20 50"), *save = NULL;

	for (char *t = strtok_r(copy, " ,", &save); t; t = strtok_r(NULL, " ,", &save)) {
		char *end;
		unsigned long n = strtoul(t, &end, 10);
		if (*end || n < 1 || n > 1000 || b->n_sizes == MAX_SIZES) {
			fprintf(stderr, "force12-bench: SIZES=%s: must be up to %d integers in 1..1000\n", v,
			        MAX_SIZES);
			exit(2);
		}
		b->sizes[b->n_sizes++] = (unsigned)n;
	}
	free(copy);
	if (b->n_sizes == 0) {
		fprintf(stderr, "force12-bench: SIZES is empty\n");
		exit(2);
	}
}

static unsigned parse_only(const char *list)
{
	static const char *const names[] = {"scale", "stop", "swap", "footprint", "churn"};
	char *copy = strdup(list), *save = NULL;
	unsigned mask = 0;

	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		unsigned i;
		for (i = 0; i < 5 && strcmp(t, names[i]) != 0; i++)
			;
		if (i == 5) {
			fprintf(stderr, "force12-bench: --only %s: expected scale, stop, swap, footprint or churn\n",
			        t);
			exit(2);
		}
		mask |= 1u << i;
	}
	free(copy);
	return mask;
}

/* The agent beside this program (both are in build/). */
static const char *default_agent(void)
{
	static char path[4096];
	ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 32);
	char *slash;

	if (n <= 0)
		return "build/force12-agent";
	path[n] = 0;
	slash = strrchr(path, '/');
	strcpy(slash + 1, "force12-agent");
	return path;
}

static void parse_args(Bench *b, int argc, char **argv)
{
	static const struct option opts[] = {
	        {"agent", required_argument, NULL, 'a'},   {"docker-socket", required_argument, NULL, 'd'},
	        {"node-id", required_argument, NULL, 'n'}, {"only", required_argument, NULL, 'o'},
	        {"help", no_argument, NULL, 'h'},          {0},
	};
	const char *dh = getenv("DOCKER_HOST");
	int c;

	b->agent.bin = getenv("AGENT_BIN") ? getenv("AGENT_BIN") : default_agent();
	b->engine = dh && strncmp(dh, "unix://", 7) == 0 ? dh + 7 : "/var/run/docker.sock";
	snprintf(b->node, sizeof(b->node), "force12-bench-%d", (int)getpid());
	b->only = ONLY_ALL;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) >= 0)
		switch (c) {
		case 'a':
			b->agent.bin = optarg;
			break;
		case 'd':
			b->engine = optarg;
			break;
		case 'n':
			snprintf(b->node, sizeof(b->node), "%s", optarg);
			break;
		case 'o':
			b->only = parse_only(optarg);
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(2);
		}
	if (optind < argc) {
		fprintf(stderr, "force12-bench: unexpected argument %s (see --help)\n", argv[optind]);
		exit(2);
	}
	b->rounds = env_uint("ROUNDS", 3, 1, MAX_ROUNDS);
	b->stop_steps = env_uint("STOP_STEPS", 20, 1, 1000);
	b->swap_n = env_uint("SWAP_N", 9, 1, 1000);
	b->footprint_n = env_uint("FOOTPRINT_N", 100, 1, 1000);
	b->idle_seconds = env_uint("IDLE_SECONDS", 60, 1, 86400);
	b->churn_seconds = env_uint("CHURN_SECONDS", 600, 1, 86400);
	b->seed = env_uint("SEED", 2015, 0, 0x7fffffff);
	b->parallel = env_uint("PARALLEL", 8, 1, 64);
	parse_sizes(b);
	if (access(b->agent.bin, X_OK) != 0) {
		fprintf(stderr, "force12-bench: %s: not an executable agent (build it with make, or --agent)\n",
		        b->agent.bin);
		exit(2);
	}
}

static void header(Bench *b)
{
	cJSON *v = http_json(b->engine, "GET", "/version", NULL);
	const char *version = cJSON_GetStringValue(cJSON_GetObjectItem(v, "Version"));
	const char *api = cJSON_GetStringValue(cJSON_GetObjectItem(v, "ApiVersion"));
	char load[64] = "?";
	FILE *f = fopen("/proc/loadavg", "re");

	if (!v)
		fatal("the engine does not answer on %s", b->engine);
	if (f) {
		char l1[16], l5[16], l15[16];
		if (fscanf(f, "%15s %15s %15s", l1, l5, l15) == 3)
			snprintf(load, sizeof(load), "%s %s %s", l1, l5, l15);
		fclose(f);
	}
	printf("force12 bench: %ld cores, load %s, engine %s (API %s), %u rounds, sizes", sysconf(_SC_NPROCESSORS_ONLN),
	       load, version ? version : "?", api ? api : "?", b->rounds);
	for (unsigned i = 0; i < b->n_sizes; i++)
		printf(" %u", b->sizes[i]);
	printf(", floor in flight %u, node %s\n", b->parallel, b->node);
	fflush(stdout);
	cJSON_Delete(v);
}

int main(int argc, char **argv)
{
	Bench b = {.agent.exit_status = -1};
	int r;

	setvbuf(stdout, NULL, _IOLBF, 0);
	parse_args(&b, argc, argv);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	snprintf(b.dir, sizeof(b.dir), "/tmp/force12-bench.XXXXXX");
	if (!mkdtemp(b.dir)) {
		fprintf(stderr, "force12-bench: mkdtemp: %m\n");
		return 1;
	}
	the_bench = &b;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	snprintf(b.agent.node, sizeof(b.agent.node), "%s", b.node);
	snprintf(b.agent.engine, sizeof(b.agent.engine), "%s", b.engine);
	snprintf(b.agent.sock, sizeof(b.agent.sock), "%s/api.sock", b.dir);
	snprintf(b.agent.log, sizeof(b.agent.log), "%s/agent.log", b.dir);
	snprintf(b.agent.dir, sizeof(b.agent.dir), "%s", b.dir);
	header(&b);
	r = watch_start(&b.watch, b.engine, b.node);
	if (r < 0)
		fatal("cannot follow the engine's events on %s: %s", b.engine, strerror(-r));
	if (b.only & (ONLY_SCALE | ONLY_STOP)) {
		const char *args[] = {"--capacity", "1000", NULL};
		start_agent(&b, args);
		if (b.only & ONLY_SCALE)
			bench_scale(&b);
		if (b.only & ONLY_STOP)
			bench_stop(&b);
		stop_agent_and_clean(&b);
	}
	if (b.only & ONLY_SWAP)
		bench_swap(&b);
	if (b.only & ONLY_FOOT)
		bench_footprint(&b);
	if (b.only & ONLY_CHURN)
		bench_churn(&b);
	watch_stop(&b.watch);
	cleanup(&b);
	return b.broken ? 1 : 0;
}
