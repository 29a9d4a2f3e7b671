// SPDX-License-Identifier: Apache-2.0
/* force12-scale: one agent against a fake engine (tests/tools/fake-engine.c) that already holds N owned containers:
 * first sync, resync, the longest time /healthz goes unanswered, RSS per container, and the time to plan and
 * dispatch a target change of 10% of N; then faults (an engine stall, a dropped event stream) under load. Prints
 * one line a figure. Goals are reported; with --check it exits 1 when the agent misbehaves (never on timing). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench-lib.h"

#define MAX_SIZES 8
#define GOAL_GAP  0.050
#define GOAL_RSS  1024.0

typedef struct Probe {
	pthread_t thread;
	pthread_mutex_t lock;
	char sock[300];
	uint64_t *sent, *recv;
	size_t n, size;
	volatile bool stop;
} Probe;

typedef struct Scale {
	const char *fake_bin, *app;
	char dir[150], node[96], fake_sock[200], cfg[300];
	unsigned sizes[MAX_SIZES], n_sizes, resync, timeout, fault_n;
	bool check, faults;
	pid_t fake_pid;
	Agent agent;
	Probe probe;
	long base_rss_kib;
	unsigned problems;
} Scale;

static Scale *the_scale;

static double secs(uint64_t ns)
{
	return (double)ns / 1e9;
}

__attribute__((format(printf, 2, 3))) static void problem(Scale *s, const char *format, ...)
{
	va_list ap;

	fprintf(stderr, "force12-scale: ");
	va_start(ap, format);
	vfprintf(stderr, format, ap);
	va_end(ap);
	fputc('\n', stderr);
	s->problems++;
}

/* ---- the /healthz probe: requests back to back, each answer's send and receive time ---- */

static void *probe_thread(void *ud)
{
	Probe *p = ud;
	CURL *h = curl_easy_init();

	while (!p->stop) {
		uint64_t t0 = now_ns();
		long code = 0;
		if (http_call(h, p->sock, "GET", "/healthz", NULL, &code, NULL) == 0 && code > 0) {
			pthread_mutex_lock(&p->lock);
			if (p->n == p->size) {
				size_t size = p->size ? p->size * 2 : 4096;
				uint64_t *a = realloc(p->sent, size * sizeof(*a)),
				         *b = a ? realloc(p->recv, size * sizeof(*b)) : NULL;
				if (a)
					p->sent = a;
				if (b)
					p->recv = b;
				if (a && b)
					p->size = size;
			}
			if (p->n < p->size) {
				p->sent[p->n] = t0;
				p->recv[p->n] = now_ns();
				p->n++;
			}
			pthread_mutex_unlock(&p->lock);
		} else
			usleep(5000);
		usleep(2000);
	}
	curl_easy_cleanup(h);
	return NULL;
}

static void probe_start(Probe *p, const char *sock)
{
	*p = (Probe){.stop = false};
	pthread_mutex_init(&p->lock, NULL);
	snprintf(p->sock, sizeof(p->sock), "%s", sock);
	pthread_create(&p->thread, NULL, probe_thread, p);
}

static void probe_stop(Probe *p)
{
	p->stop = true;
	pthread_join(p->thread, NULL);
	free(p->sent);
	free(p->recv);
	p->sent = p->recv = NULL;
	p->n = p->size = 0;
}

/* The longest time in [from, to] with no answer. */
static double probe_gap(Probe *p, uint64_t from, uint64_t to)
{
	uint64_t last = from, gap = 0;

	pthread_mutex_lock(&p->lock);
	for (size_t i = 0; i < p->n; i++) {
		uint64_t r = p->recv[i];
		if (r < from)
			continue;
		if (r > to)
			break;
		if (r - last > gap)
			gap = r - last;
		last = r;
	}
	pthread_mutex_unlock(&p->lock);
	if (to - last > gap)
		gap = to - last;
	return secs(gap);
}

static size_t probe_answers(Probe *p, uint64_t from, uint64_t to)
{
	size_t n = 0;

	pthread_mutex_lock(&p->lock);
	for (size_t i = 0; i < p->n; i++)
		n += p->recv[i] >= from && p->recv[i] <= to;
	pthread_mutex_unlock(&p->lock);
	return n;
}

/* The receive time of the first answer to a request sent at or after t, or 0. */
static uint64_t probe_first_after(Probe *p, uint64_t t)
{
	uint64_t r = 0;

	pthread_mutex_lock(&p->lock);
	for (size_t i = 0; i < p->n && !r; i++)
		if (p->sent[i] >= t)
			r = p->recv[i];
	pthread_mutex_unlock(&p->lock);
	return r;
}

/* ---- the fake engine ---- */

static void fake_stop(Scale *s)
{
	int status;

	if (s->fake_pid <= 0)
		return;
	kill(s->fake_pid, SIGTERM);
	waitpid(s->fake_pid, &status, 0);
	s->fake_pid = 0;
}

static int fake_start(Scale *s, unsigned n, const char *latency)
{
	char preload[96], max[32];

	snprintf(s->fake_sock, sizeof(s->fake_sock), "%s/engine.sock", s->dir);
	snprintf(preload, sizeof(preload), "%s=%u", s->app, n);
	snprintf(max, sizeof(max), "%u", n * 2 + 100);
	s->fake_pid = fork();
	if (s->fake_pid < 0)
		return -errno;
	if (s->fake_pid == 0) {
		execl(s->fake_bin, s->fake_bin, "--socket", s->fake_sock, "--latency", latency, "--preload", preload,
		      "--node-id", s->node, "--max-containers", max, (char *)NULL);
		fprintf(stderr, "exec %s: %m\n", s->fake_bin);
		_exit(127);
	}
	for (int i = 0; i < 600; i++) {
		long code = 0;
		if (http_once(s->fake_sock, "GET", "/_ping", NULL, &code, NULL) == 0 && code == 200)
			return 0;
		usleep(50 * 1000);
	}
	return -ETIMEDOUT;
}

static long long fake_stat(Scale *s, const char *key)
{
	cJSON *j = http_json(s->fake_sock, "GET", "/fake/stats", NULL);
	const cJSON *v = cJSON_GetObjectItem(j, key);
	long long r = cJSON_IsNumber(v) ? (long long)v->valuedouble : -1;

	cJSON_Delete(j);
	return r;
}

static void fake_control(Scale *s, const char *path)
{
	long code = 0;

	if (http_once(s->fake_sock, "POST", path, NULL, &code, NULL) < 0 || code / 100 != 2)
		problem(s, "fake engine control %s failed (%ld)", path, code);
}

/* ---- the agent ---- */

static int write_config(Scale *s, unsigned capacity)
{
	FILE *f;

	snprintf(s->cfg, sizeof(s->cfg), "%s/agent.json", s->dir);
	f = fopen(s->cfg, "we");
	if (!f)
		return -errno;
	fprintf(f,
	        "{\"capacity\": %u, \"resync_interval\": %u, \"apps\": [{\"name\": \"%s\", \"image\": "
	        "\"busybox:latest\", \"priority\": 1, \"stop_timeout\": 2, \"network_mode\": \"none\", "
	        "\"command\": [\"sh\", \"-c\", \"trap 'exit 0' TERM; while :; do sleep 1 & wait $!; done\"]}]}\n",
	        capacity, s->resync, s->app);
	return fclose(f) == 0 ? 0 : -errno;
}

static cJSON *app_status(Scale *s, cJSON **ret_root)
{
	cJSON *st = agent_status(&s->agent), *a;

	*ret_root = st;
	cJSON_ArrayForEach (a, cJSON_GetObjectItem(st, "apps"))
		if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(a, "name")) ?: "", s->app) == 0)
			return a;
	return NULL;
}

static int app_field(Scale *s, const char *key)
{
	cJSON *root, *a = app_status(s, &root);
	const cJSON *v = cJSON_GetObjectItem(a, key);
	int r = cJSON_IsNumber(v) ? v->valueint : -1;

	cJSON_Delete(root);
	return r;
}

/* Waits until /v1/status says ready: the time it took, or -1. */
static double wait_ready(Scale *s, uint64_t t0)
{
	while (secs(now_ns() - t0) < s->timeout) {
		if (!agent_alive(&s->agent)) {
			problem(s, "the agent exited with status %d; its log: %s", s->agent.exit_status, s->agent.log);
			return -1;
		}
		cJSON *st = agent_status(&s->agent);
		bool ready = cJSON_IsTrue(cJSON_GetObjectItem(st, "ready"));
		cJSON_Delete(st);
		if (ready)
			return secs(now_ns() - t0);
		usleep(20 * 1000);
	}
	return -1;
}

/* Waits until the fake engine holds want running containers and want in all: the time it took, or -1. */
static double wait_engine(Scale *s, long long want, uint64_t t0)
{
	while (secs(now_ns() - t0) < s->timeout) {
		if (fake_stat(s, "running") == want && fake_stat(s, "containers") == want)
			return secs(now_ns() - t0);
		if (!agent_alive(&s->agent)) {
			problem(s, "the agent died");
			return -1;
		}
		usleep(10 * 1000);
	}
	return -1;
}

static void put_target(Scale *s, unsigned n, double *ret_put)
{
	char body[96];
	uint64_t t0 = now_ns();

	snprintf(body, sizeof(body), "{\"%s\": %u}", s->app, n);
	if (agent_put_targets(&s->agent, body) < 0)
		problem(s, "PUT /v1/targets %s failed", body);
	if (ret_put)
		*ret_put = secs(now_ns() - t0);
}

static int run_agent(Scale *s, unsigned n, unsigned capacity)
{
	char cap[32], target[96];
	const char *args[] = {"-c", s->cfg, "--capacity", cap, "--target", target, NULL};

	snprintf(cap, sizeof(cap), "%u", capacity);
	snprintf(target, sizeof(target), "%s=%u", s->app, n);
	if (write_config(s, capacity) < 0)
		return -EIO;
	snprintf(s->agent.sock, sizeof(s->agent.sock), "%s/api.sock", s->dir);
	snprintf(s->agent.log, sizeof(s->agent.log), "%s/agent.log", s->dir);
	snprintf(s->agent.dir, sizeof(s->agent.dir), "%s", s->dir);
	snprintf(s->agent.node, sizeof(s->agent.node), "%s", s->node);
	snprintf(s->agent.engine, sizeof(s->agent.engine), "%s", s->fake_sock);
	return agent_launch(&s->agent, args);
}

static void finish_agent(Scale *s)
{
	int status = agent_stop(&s->agent);

	if (status != 0)
		problem(s, "the agent exited with status %d on SIGTERM (expected 0); log %s", status, s->agent.log);
}

static void last_line(const char *file, char *out, size_t size)
{
	FILE *f = fopen(file, "re");
	char line[512];

	snprintf(out, size, "(none)");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (line[0] != '\n') {
			line[strcspn(line, "\n")] = 0;
			snprintf(out, size, "%s", line);
		}
	fclose(f);
}

/* ---- one size ---- */

static void baseline(Scale *s)
{
	long pd;

	if (fake_start(s, 0, "0") < 0 || run_agent(s, 0, 10) < 0) {
		problem(s, "could not start the baseline");
		return;
	}
	if (wait_ready(s, now_ns()) < 0)
		problem(s, "the agent with no containers did not become ready");
	usleep(500 * 1000);
	proc_mem(s->agent.pid, &s->base_rss_kib, &pd);
	printf("scale baseline: RSS %.1f MiB with 0 containers\n", s->base_rss_kib / 1024.0);
	finish_agent(s);
	fake_stop(s);
}

static void resync_figures(Scale *s, unsigned n)
{
	long long lists = fake_stat(s, "lists");
	uint64_t t0 = now_ns(), start, end, answered = 0;

	while (secs(now_ns() - t0) < s->resync + s->timeout) {
		if (fake_stat(s, "lists") > lists &&
		    fake_stat(s, "last_list_end_ns") > fake_stat(s, "last_list_start_ns"))
			break;
		usleep(20 * 1000);
	}
	start = (uint64_t)fake_stat(s, "last_list_start_ns");
	end = (uint64_t)fake_stat(s, "last_list_end_ns");
	if (fake_stat(s, "lists") <= lists || end < start) {
		problem(s, "N=%u: no resync within %u s", n, s->resync + s->timeout);
		return;
	}
	while (!(answered = probe_first_after(&s->probe, end)) && secs(now_ns() - end) < s->timeout)
		usleep(10 * 1000);
	if (!answered) {
		problem(s, "N=%u: /healthz unanswered after the resync", n);
		return;
	}
	printf("scale N=%u resync: %.3f s (list served in %.3f s), longest /healthz gap %.3f s (goal %.3f)\n", n,
	       secs(answered - start), secs(end - start), probe_gap(&s->probe, start, answered), GOAL_GAP);
}

static void change_figures(Scale *s, unsigned n)
{
	unsigned step = n / 10 ? n / 10 : 1;
	double put, took;
	uint64_t t0 = now_ns();

	put_target(s, n + step, &put);
	took = wait_engine(s, n + step, t0);
	if (took < 0) {
		problem(s, "N=%u: +10%% never reached %u on the engine", n, n + step);
		return;
	}
	printf("scale N=%u +10%%: %u started in %.3f s (PUT answered in %.3f s), longest /healthz gap %.3f s\n", n,
	       step, took, put, probe_gap(&s->probe, t0, now_ns()));
	t0 = now_ns();
	put_target(s, n, &put);
	took = wait_engine(s, n, t0);
	if (took < 0) {
		problem(s, "N=%u: -10%% never came back to %u on the engine", n, n);
		return;
	}
	printf("scale N=%u -10%%: %u stopped and removed in %.3f s (PUT answered in %.3f s), longest /healthz gap "
	       "%.3f s\n",
	       n, step, took, put, probe_gap(&s->probe, t0, now_ns()));
}

static void one_size(Scale *s, unsigned n)
{
	unsigned capacity = n + (n / 10 ? n / 10 : 1);
	long rss = 0, rss_peak = 0, pd = 0;
	double ready;
	uint64_t t0;

	if (fake_start(s, n, "0") < 0) {
		problem(s, "N=%u: the fake engine did not start", n);
		return;
	}
	t0 = now_ns();
	if (run_agent(s, n, capacity) < 0) {
		problem(s, "N=%u: the agent did not start", n);
		fake_stop(s);
		return;
	}
	probe_start(&s->probe, s->agent.sock);
	ready = wait_ready(s, t0);
	if (ready < 0) {
		char last[512];
		last_line(s->agent.log, last, sizeof(last));
		printf("scale N=%u first sync: not ready within %u s (longest /healthz gap %.3f s); the agent's last "
		       "log line: %s\n",
		       n, s->timeout, probe_gap(&s->probe, t0, now_ns()), last);
		problem(s, "N=%u: the agent never became ready", n);
		goto out;
	}
	/* The gap counts from the first answer: before it the socket does not exist yet. */
	uint64_t first = probe_first_after(&s->probe, t0);
	printf("scale N=%u first sync: ready in %.3f s, longest /healthz gap %.3f s (goal %.3f; systemd's watchdog: "
	       "30 s)\n",
	       n, ready, first ? probe_gap(&s->probe, first, now_ns()) : ready, GOAL_GAP);
	/* Adopted, not replaced: the engine saw no call that changes anything. */
	if (app_field(s, "running") != (int)n)
		problem(s, "N=%u: the agent reports %d running, the engine holds %u", n, app_field(s, "running"), n);
	if (fake_stat(s, "events") != 0)
		problem(s, "N=%u: the agent changed containers while adopting (%lld engine events)", n,
		        fake_stat(s, "events"));
	resync_figures(s, n);
	/* Right after the list is served the agent still decodes and merges it (a slice a turn, /healthz first), and
	 * holds it meanwhile; a second later (before the next resync) it has given that back. Both are shown. */
	proc_mem(s->agent.pid, &rss_peak, &pd);
	usleep(1000 * 1000);
	proc_mem(s->agent.pid, &rss, &pd);
	printf("scale N=%u RSS: %.1f MiB, %.0f B a container beyond the idle agent (goal %.0f) 1 s after a resync, "
	       "%.0f B while it is merged; %d fds\n",
	       n, rss / 1024.0, (double)(rss - s->base_rss_kib) * 1024.0 / n, GOAL_RSS,
	       (double)(rss_peak - s->base_rss_kib) * 1024.0 / n, proc_fds(s->agent.pid));
	change_figures(s, n);
	if (app_field(s, "running") != (int)n)
		problem(s, "N=%u: after the change the agent reports %d running, expected %u", n,
		        app_field(s, "running"), n);
out:
	probe_stop(&s->probe);
	finish_agent(s);
	fake_stop(s);
}

/* ---- faults: a 10 s stall and a dropped event stream, with the measured latencies, during a change ---- */

static void fault_run(Scale *s, const char *what, const char *control)
{
	unsigned n = s->fault_n, step = n / 10 ? n / 10 : 1;
	uint64_t t0 = now_ns(), t1;
	size_t answers;
	double took;

	put_target(s, n + step, NULL);
	usleep(300 * 1000); /* the scale-up in flight */
	fake_control(s, control);
	t1 = now_ns();
	took = wait_engine(s, n + step, t0);
	answers = probe_answers(&s->probe, t1, now_ns());
	if (took < 0)
		problem(s, "fault %s: never converged to %u", what, n + step);
	if (answers == 0)
		problem(s, "fault %s: /healthz unanswered while the engine misbehaved", what);
	printf("scale fault %s (N=%u, +%u): converged in %.3f s, /healthz answered %zu times, longest gap %.3f s\n",
	       what, n, step, took, answers, probe_gap(&s->probe, t1, now_ns()));
	put_target(s, n, NULL);
	if (wait_engine(s, n, now_ns()) < 0)
		problem(s, "fault %s: never came back to %u", what, n);
}

static void faults(Scale *s)
{
	unsigned n = s->fault_n;
	uint64_t t0 = now_ns();

	if (fake_start(s, n, "create=48,start=455,stop=143,remove=30") < 0 || run_agent(s, n, n + n / 10 + 1) < 0) {
		problem(s, "faults: could not start");
		fake_stop(s);
		return;
	}
	probe_start(&s->probe, s->agent.sock);
	if (wait_ready(s, t0) < 0)
		problem(s, "faults: the agent never became ready");
	else {
		fault_run(s, "stall 10 s", "/fake/stall?seconds=10");
		fault_run(s, "event stream dropped", "/fake/drop-events");
	}
	probe_stop(&s->probe);
	finish_agent(s);
	fake_stop(s);
}

/* ---- main ---- */

static void cleanup(void)
{
	Scale *s = the_scale;
	char cmd[260];

	if (!s)
		return;
	if (s->agent.pid > 0)
		agent_stop(&s->agent);
	fake_stop(s);
	if (s->dir[0] && !getenv("KEEP_SCALE_DIR")) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s->dir);
		if (system(cmd) != 0)
			fprintf(stderr, "force12-scale: could not remove %s\n", s->dir);
	}
}

static void on_signal(int sig)
{
	cleanup();
	_exit(128 + sig);
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: force12-scale [OPTIONS]\n"
	           "One agent against a fake engine holding N owned containers: first sync, resync, longest /healthz\n"
	           "gap, RSS a container, +10%%/-10%% of N; then a 10 s engine stall and a dropped event stream.\n"
	           "  --agent PATH         the agent (default $AGENT_BIN, else build/force12-agent)\n"
	           "  --fake-engine PATH   the fake engine (default $FAKE_ENGINE, else build/fake-engine)\n"
	           "  --sizes \"N ...\"      container counts (default \"1000 10000 50000\"; each 1..1000000)\n"
	           "  --resync SECONDS     the agent's resync_interval (default 5)\n"
	           "  --timeout SECONDS    limit of every wait (default 300)\n"
	           "  --faults N           run the fault part with N containers (default 1000; 0: skip)\n"
	           "  --check              exit 1 when the agent misbehaved (never on timing)\n");
}

static void parse_sizes(Scale *s, const char *v)
{
	char *copy = strdup(v), *save = NULL;

	s->n_sizes = 0;
	for (char *t = strtok_r(copy, " ,", &save); t; t = strtok_r(NULL, " ,", &save)) {
		char *end;
		unsigned long n = strtoul(t, &end, 10);
		if (*end || n < 1 || n > 1000000 || s->n_sizes == MAX_SIZES) {
			fprintf(stderr, "force12-scale: --sizes %s: up to %d integers in 1..1000000\n", v, MAX_SIZES);
			exit(2);
		}
		s->sizes[s->n_sizes++] = (unsigned)n;
	}
	free(copy);
}

static unsigned parse_uint(const char *opt, const char *v, unsigned min, unsigned max)
{
	char *end;
	unsigned long n = strtoul(v, &end, 10);

	if (*end || !v[0] || n < min || n > max) {
		fprintf(stderr, "force12-scale: %s %s: an integer in %u..%u\n", opt, v, min, max);
		exit(2);
	}
	return (unsigned)n;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"agent", required_argument, NULL, 'a'},
	        {"fake-engine", required_argument, NULL, 'f'},
	        {"sizes", required_argument, NULL, 's'},
	        {"resync", required_argument, NULL, 'r'},
	        {"timeout", required_argument, NULL, 't'},
	        {"faults", required_argument, NULL, 'F'},
	        {"check", no_argument, NULL, 'c'},
	        {"help", no_argument, NULL, 'h'},
	        {0},
	};
	Scale s = {.app = "priority1", .resync = 5, .timeout = 300, .fault_n = 1000, .agent.exit_status = -1};
	int c;

	setvbuf(stdout, NULL, _IOLBF, 0);
	s.agent.bin = getenv("AGENT_BIN") ?: "build/force12-agent";
	s.fake_bin = getenv("FAKE_ENGINE") ?: "build/fake-engine";
	parse_sizes(&s, "1000 10000 50000");
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) >= 0)
		switch (c) {
		case 'a':
			s.agent.bin = optarg;
			break;
		case 'f':
			s.fake_bin = optarg;
			break;
		case 's':
			parse_sizes(&s, optarg);
			break;
		case 'r':
			s.resync = parse_uint("--resync", optarg, 1, 3600);
			break;
		case 't':
			s.timeout = parse_uint("--timeout", optarg, 1, 86400);
			break;
		case 'F':
			s.fault_n = parse_uint("--faults", optarg, 0, 1000000);
			break;
		case 'c':
			s.check = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	if (optind < argc || s.n_sizes == 0) {
		fprintf(stderr, "force12-scale: unexpected argument (see --help)\n");
		return 2;
	}
	if (access(s.agent.bin, X_OK) != 0 || access(s.fake_bin, X_OK) != 0) {
		fprintf(stderr, "force12-scale: %s or %s is not executable (make all sim-tools)\n", s.agent.bin,
		        s.fake_bin);
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	const char *tmp = getenv("TMPDIR");
	snprintf(s.dir, sizeof(s.dir), "%s/force12-scale.XXXXXX",
	         tmp && tmp[0] == '/' && strlen(tmp) < 100 ? tmp : "/tmp");
	if (!mkdtemp(s.dir)) {
		fprintf(stderr, "force12-scale: mkdtemp: %m\n");
		return 1;
	}
	snprintf(s.node, sizeof(s.node), "force12-scale-%d", (int)getpid());
	the_scale = &s;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	printf("force12 scale: agent %s, fake engine with no latency for sizes, measured latencies for faults, "
	       "resync every %u s, %ld cores, parallel 8 (the agent's default)\n",
	       s.agent.bin, s.resync, sysconf(_SC_NPROCESSORS_ONLN));
	baseline(&s);
	for (unsigned i = 0; i < s.n_sizes; i++)
		one_size(&s, s.sizes[i]);
	if (s.fault_n > 0)
		faults(&s);
	cleanup();
	printf("force12 scale: done, %u problem(s)\n", s.problems);
	return s.check && s.problems > 0 ? 1 : 0;
}
