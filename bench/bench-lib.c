// SPDX-License-Identifier: Apache-2.0
/* The benchmark's plumbing (see bench-lib.h). Blocking calls and one thread for the event stream are fine here:
 * this is a measuring tool, not the agent. Times are taken on receipt, with CLOCK_MONOTONIC. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench-lib.h"

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static size_t buf_write(char *p, size_t size, size_t n, void *ud)
{
	Buf *b = ud;
	size_t len = size * n;
	char *d;

	if (b->len + len > BENCH_BODY_MAX)
		return 0;
	d = realloc(b->data, b->len + len + 1);
	if (!d)
		return 0;
	memcpy(d + b->len, p, len);
	b->data = d;
	b->len += len;
	b->data[b->len] = 0;
	return len;
}

void http_prepare(CURL *h, const char *sock, const char *method, const char *path, const char *body,
                  struct curl_slist *headers, Buf *buf)
{
	char url[1024];

	snprintf(url, sizeof(url), "http://localhost%s", path);
	curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, sock);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
	if (body) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	} else {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, NULL);
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
		curl_easy_setopt(h, CURLOPT_NOBODY, 0L);
	}
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, buf_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, buf);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 120L);
}

static struct curl_slist *json_headers(void)
{
	static struct curl_slist *h;

	if (!h)
		h = curl_slist_append(NULL, "Content-Type: application/json");
	return h;
}

int http_call(CURL *h, const char *sock, const char *method, const char *path, const char *body, long *ret_code,
              char **ret_body)
{
	Buf b = {0};
	CURLcode c;

	http_prepare(h, sock, method, path, body, json_headers(), &b);
	c = curl_easy_perform(h);
	if (c != CURLE_OK) {
		free(b.data);
		return -EIO;
	}
	if (ret_code)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, ret_code);
	if (ret_body)
		*ret_body = b.data ? b.data : strdup("");
	else
		free(b.data);
	return 0;
}

int http_once(const char *sock, const char *method, const char *path, const char *body, long *ret_code, char **ret_body)
{
	CURL *h = curl_easy_init();
	int r;

	if (!h)
		return -ENOMEM;
	r = http_call(h, sock, method, path, body, ret_code, ret_body);
	curl_easy_cleanup(h);
	return r;
}

cJSON *http_json(const char *sock, const char *method, const char *path, const char *body)
{
	char *text = NULL;
	long code = 0;
	cJSON *j;

	if (http_once(sock, method, path, body, &code, &text) < 0)
		return NULL;
	j = code / 100 == 2 ? cJSON_Parse(text) : NULL;
	free(text);
	return j;
}

/* ---- the event stream ---- */

static CEntry *watch_entry(Watch *w, const char *id, const char *app)
{
	for (size_t i = 0; i < w->n; i++)
		if (strcmp(w->c[i].id, id) == 0)
			return &w->c[i];
	if (w->n == w->size) {
		size_t size = w->size ? w->size * 2 : 256;
		CEntry *c = realloc(w->c, size * sizeof(CEntry));
		if (!c)
			return NULL;
		w->c = c;
		w->size = size;
	}
	w->c[w->n] = (CEntry){.state = CS_CREATED};
	snprintf(w->c[w->n].id, sizeof(w->c[w->n].id), "%s", id);
	snprintf(w->c[w->n].app, sizeof(w->c[w->n].app), "%s", app ? app : "");
	return &w->c[w->n++];
}

static void watch_event(Watch *w, const cJSON *ev, uint64_t t)
{
	const char *action = cJSON_GetStringValue(cJSON_GetObjectItem(ev, "Action"));
	const cJSON *actor = cJSON_GetObjectItem(ev, "Actor");
	const char *id = cJSON_GetStringValue(cJSON_GetObjectItem(actor, "ID"));
	const char *app =
	        cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(actor, "Attributes"), "io.force12.app"));
	CEntry *e;

	if (!action || !id)
		return;
	e = watch_entry(w, id, app);
	if (!e)
		return;
	if (strcmp(action, "create") == 0) {
		e->t_create = t;
	} else if (strcmp(action, "start") == 0 || strcmp(action, "unpause") == 0) {
		e->state = CS_RUNNING;
		e->t_run = t;
	} else if (strcmp(action, "pause") == 0) {
		e->state = CS_PAUSED;
	} else if (strcmp(action, "die") == 0) {
		e->state = CS_EXITED;
		e->t_die = t;
	} else if (strcmp(action, "destroy") == 0) {
		e->state = CS_DESTROYED;
		e->t_destroy = t;
	}
}

static size_t watch_write(char *p, size_t size, size_t n, void *ud)
{
	Watch *w = ud;
	size_t len = size * n;
	uint64_t t = now_ns();
	char *nl;

	if (buf_write(p, size, n, &w->line) != len)
		return 0;
	pthread_mutex_lock(&w->lock);
	while (w->line.data && (nl = memchr(w->line.data, '\n', w->line.len))) {
		*nl = 0;
		cJSON *ev = cJSON_Parse(w->line.data);
		if (ev)
			watch_event(w, ev, t);
		cJSON_Delete(ev);
		w->line.len -= (size_t)(nl + 1 - w->line.data);
		memmove(w->line.data, nl + 1, w->line.len + 1);
	}
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	return len;
}

static size_t watch_header(char *p, size_t size, size_t n, void *ud)
{
	Watch *w = ud;

	if (n * size == 2 && p[0] == '\r') { /* end of the headers: the subscription is live */
		pthread_mutex_lock(&w->lock);
		w->connected = true;
		pthread_cond_broadcast(&w->cond);
		pthread_mutex_unlock(&w->lock);
	}
	return n * size;
}

static int watch_progress(void *ud, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
	Watch *w = ud;
	bool stop;

	pthread_mutex_lock(&w->lock);
	stop = w->stop;
	pthread_mutex_unlock(&w->lock);
	return stop;
}

static void *watch_thread(void *ud)
{
	Watch *w = ud;
	CURL *h = curl_easy_init();
	CURLcode c = CURLE_FAILED_INIT;

	if (h) {
		char url[600];
		snprintf(url, sizeof(url), "http://localhost%s", w->path);
		curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, w->sock);
		curl_easy_setopt(h, CURLOPT_URL, url);
		curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, watch_write);
		curl_easy_setopt(h, CURLOPT_WRITEDATA, w);
		curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, watch_header);
		curl_easy_setopt(h, CURLOPT_HEADERDATA, w);
		curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
		curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, watch_progress);
		curl_easy_setopt(h, CURLOPT_XFERINFODATA, w);
		c = curl_easy_perform(h);
		curl_easy_cleanup(h);
	}
	pthread_mutex_lock(&w->lock);
	w->done = true;
	w->error = w->stop ? 0 : (c == CURLE_OK ? -EPIPE : -EIO);
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

int watch_start(Watch *w, const char *sock, const char *node)
{
	char filters[256];
	char *esc;
	pthread_condattr_t ca;
	int r = 0;

	*w = (Watch){0};
	pthread_mutex_init(&w->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cond, &ca);
	snprintf(w->sock, sizeof(w->sock), "%s", sock);
	snprintf(filters, sizeof(filters), "{\"type\":[\"container\"],\"label\":[\"io.force12.agent=%s\"]}", node);
	esc = curl_easy_escape(NULL, filters, 0);
	if (!esc)
		return -ENOMEM;
	snprintf(w->path, sizeof(w->path), "/v1.41/events?filters=%s", esc);
	curl_free(esc);
	if (pthread_create(&w->thread, NULL, watch_thread, w) != 0)
		return -EAGAIN;
	pthread_mutex_lock(&w->lock);
	while (!w->connected && !w->done)
		pthread_cond_wait(&w->cond, &w->lock);
	if (!w->connected)
		r = w->error ? w->error : -EIO;
	pthread_mutex_unlock(&w->lock);
	return r;
}

void watch_stop(Watch *w)
{
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	free(w->c);
	free(w->line.data);
	w->c = NULL;
	w->line.data = NULL;
	w->n = w->size = 0;
}

int watch_wait(Watch *w, bool (*pred)(Watch *w, void *ud), void *ud, double timeout_s)
{
	uint64_t deadline = now_ns() + (uint64_t)(timeout_s * 1e9);
	struct timespec ts = {.tv_sec = (time_t)(deadline / 1000000000u), .tv_nsec = (long)(deadline % 1000000000u)};
	int r = 0;

	pthread_mutex_lock(&w->lock);
	while (!pred(w, ud)) {
		if (w->done) {
			r = w->error ? w->error : -EPIPE;
			break;
		}
		if (pthread_cond_timedwait(&w->cond, &w->lock, &ts) == ETIMEDOUT && !pred(w, ud)) {
			r = -ETIMEDOUT;
			break;
		}
	}
	pthread_mutex_unlock(&w->lock);
	return r;
}

size_t watch_count(Watch *w, const char *app, CState state)
{
	size_t n = 0;

	for (size_t i = 0; i < w->n; i++)
		if (w->c[i].state == state && (!app || strcmp(app, w->c[i].app) == 0))
			n++;
	return n;
}

size_t watch_live(Watch *w)
{
	return w->n - watch_count(w, NULL, CS_DESTROYED);
}

/* ---- the agent ---- */

static int agent_spawn(Agent *a, const char *const *args)
{
	const char *argv[64];
	char state[320];
	size_t n = 0;

	snprintf(state, sizeof(state), "%s/state", a->dir);
	argv[n++] = a->bin;
	argv[n++] = "--node-id";
	argv[n++] = a->node;
	argv[n++] = "--api-socket";
	argv[n++] = a->sock;
	argv[n++] = "--state-dir";
	argv[n++] = state;
	argv[n++] = "--docker-socket";
	argv[n++] = a->engine;
	argv[n++] = "--log-level";
	argv[n++] = "warning";
	for (; args && *args && n < 62; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	/* The sanitizer pass looks for reports in $SANITIZER_LOG_DIR/ *.log: the agent's stderr goes there then. */
	const char *sdir = getenv("SANITIZER_LOG_DIR");
	if (sdir && sdir[0]) {
		static unsigned serial;
		snprintf(a->log, sizeof(a->log), "%s/bench-agent-%d-%u.log", sdir, (int)getpid(), serial++);
	}
	a->pid = fork();
	if (a->pid < 0)
		return -errno;
	if (a->pid == 0) {
		int fd = open(a->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd >= 0) {
			dup2(fd, STDERR_FILENO);
			dup2(fd, STDOUT_FILENO);
		}
		execv(a->bin, (char *const *)argv);
		fprintf(stderr, "exec %s: %m\n", a->bin);
		_exit(127);
	}
	a->exit_status = -1;
	return 0;
}

bool agent_alive(Agent *a)
{
	int status;

	if (a->pid <= 0)
		return false;
	if (waitpid(a->pid, &status, WNOHANG) == a->pid) {
		a->exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		a->pid = 0;
		return false;
	}
	return true;
}

static void first_line(const char *file, char *out, size_t size)
{
	FILE *f = fopen(file, "re");

	out[0] = 0;
	if (!f)
		return;
	if (fgets(out, (int)size, f))
		out[strcspn(out, "\n")] = 0;
	fclose(f);
}

int agent_launch(Agent *a, const char *const *args)
{
	char cmd[400];

	/* A fresh state dir each time: targets of an earlier agent must not carry over. */
	snprintf(cmd, sizeof(cmd), "rm -rf '%s/state'", a->dir);
	if (system(cmd) != 0)
		return -EIO;
	unlink(a->sock);
	return agent_spawn(a, args);
}

int agent_start(Agent *a, const char *const *args, char *errline, size_t errsize)
{
	int r = agent_launch(a, args);

	if (r < 0)
		return r;
	for (int i = 0; i < 1200; i++) {
		cJSON *s;
		if (!agent_alive(a)) {
			first_line(a->log, errline, errsize);
			return -ECHILD;
		}
		s = http_json(a->sock, "GET", "/v1/status", NULL);
		bool ready = cJSON_IsTrue(cJSON_GetObjectItem(s, "ready"));
		cJSON_Delete(s);
		if (ready)
			return 0;
		usleep(50 * 1000);
	}
	snprintf(errline, errsize, "not ready within 60 s");
	return -ETIMEDOUT;
}

int agent_stop(Agent *a)
{
	int status;

	if (a->pid <= 0)
		return 0;
	kill(a->pid, SIGTERM);
	for (int i = 0; i < 100; i++) {
		if (waitpid(a->pid, &status, WNOHANG) == a->pid) {
			a->exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
			a->pid = 0;
			return a->exit_status;
		}
		usleep(100 * 1000);
	}
	kill(a->pid, SIGKILL);
	waitpid(a->pid, &status, 0);
	a->pid = 0;
	a->exit_status = 137;
	return a->exit_status;
}

int agent_put_targets(Agent *a, const char *json)
{
	long code = 0;
	int r = http_once(a->sock, "PUT", "/v1/targets", json, &code, NULL);

	if (r < 0)
		return r;
	return code == 200 ? 0 : -EPROTO;
}

cJSON *agent_status(Agent *a)
{
	return http_json(a->sock, "GET", "/v1/status", NULL);
}

/* ---- /proc ---- */

int proc_mem(pid_t pid, long *ret_rss_kib, long *ret_private_dirty_kib)
{
	char path[64], line[256];
	long rss = -1, pd = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		sscanf(line, "Rss: %ld kB", &rss);
		sscanf(line, "Private_Dirty: %ld kB", &pd);
	}
	fclose(f);
	if (rss < 0 || pd < 0)
		return -EPROTO;
	*ret_rss_kib = rss;
	*ret_private_dirty_kib = pd;
	return 0;
}

double proc_cpu_seconds(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long utime, stime;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	/* The command name may hold spaces and parentheses: fields are counted after the last ')'. */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) != 2)
		return -1;
	return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

double proc_schedstat_seconds(pid_t pid)
{
	char path[64];
	unsigned long long ns;
	FILE *f;
	int n;

	snprintf(path, sizeof(path), "/proc/%d/schedstat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	n = fscanf(f, "%llu", &ns);
	fclose(f);
	return n == 1 ? (double)ns / 1e9 : -1;
}

int proc_fds(pid_t pid)
{
	char path[64];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (!d)
		return -errno;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

int engine_remove_labelled(const char *sock, const char *label, const char *value)
{
	char filters[256], path[512], *esc;
	const cJSON *item;
	cJSON *list;
	int n = 0;

	snprintf(filters, sizeof(filters), "{\"label\":[\"%s=%s\"]}", label, value);
	esc = curl_easy_escape(NULL, filters, 0);
	if (!esc)
		return -ENOMEM;
	snprintf(path, sizeof(path), "/v1.41/containers/json?all=1&filters=%s", esc);
	curl_free(esc);
	list = http_json(sock, "GET", path, NULL);
	if (!cJSON_IsArray(list)) {
		cJSON_Delete(list);
		return -EIO;
	}
	cJSON_ArrayForEach (item, list) {
		const char *id = cJSON_GetStringValue(cJSON_GetObjectItem(item, "Id"));
		if (!id)
			continue;
		snprintf(path, sizeof(path), "/v1.41/containers/%s?force=1", id);
		if (http_once(sock, "DELETE", path, NULL, NULL, NULL) == 0)
			n++;
	}
	cJSON_Delete(list);
	return n;
}
