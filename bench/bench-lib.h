// SPDX-License-Identifier: Apache-2.0
/* The benchmark's plumbing: blocking HTTP over unix sockets, a thread that follows the engine's event stream
 * into a table of containers with the times their states changed, the agent as a child process, and /proc
 * readings. It never touches a container that does not carry this run's labels. */
#pragma once

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define BENCH_BODY_MAX (8u << 20)

typedef struct Buf {
	char *data;
	size_t len;
} Buf;

uint64_t now_ns(void);

/* One request on a kept-alive handle; *ret_body (may be NULL) is NUL-terminated and owned by the caller. */
int http_call(CURL *h, const char *sock, const char *method, const char *path, const char *body, long *ret_code,
              char **ret_body);
/* The same on a handle of its own, for one-off calls. */
int http_once(const char *sock, const char *method, const char *path, const char *body, long *ret_code,
              char **ret_body);
/* Prepares h for a request; for the multi loops of the floor. buf receives the answer. */
void http_prepare(CURL *h, const char *sock, const char *method, const char *path, const char *body,
                  struct curl_slist *headers, Buf *buf);
cJSON *http_json(const char *sock, const char *method, const char *path, const char *body);

/* States as the event stream tells them. */
typedef enum CState {
	CS_CREATED,
	CS_RUNNING,
	CS_PAUSED,
	CS_EXITED,
	CS_DESTROYED,
} CState;

typedef struct CEntry {
	char id[65];
	char app[64];
	CState state;
	uint64_t t_create, t_run, t_die, t_destroy; /* monotonic ns of receipt; t_run: last start or unpause */
} CEntry;

typedef struct Watch {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	char sock[256];
	char path[512];
	Buf line;
	CEntry *c;
	size_t n, size;
	bool connected, done, stop;
	int error;
} Watch;

/* Follows GET /events for containers labelled io.force12.agent=NODE. Returns once the stream is open. */
int watch_start(Watch *w, const char *sock, const char *node);
void watch_stop(Watch *w);
/* Waits until pred holds (checked under the lock after every event) or timeout_s passes: 0 or -ETIMEDOUT. */
int watch_wait(Watch *w, bool (*pred)(Watch *w, void *ud), void *ud, double timeout_s);
/* Counts under the lock: containers of app (NULL: any) in state, among those created at or after since. */
size_t watch_count(Watch *w, const char *app, CState state);
size_t watch_live(Watch *w);

typedef struct Agent {
	pid_t pid;
	char dir[256];
	char sock[300];
	char log[300];
	char node[128];
	char engine[256];
	const char *bin;
	int exit_status; /* after agent_stop or when it died: the status, -1 while it runs */
} Agent;

/* Starts the agent with extra args (NULL-terminated) and waits until /v1/status says ready.
 * Returns 0, -ECHILD when it exited (exit_status set, *first log line in errline*), -ETIMEDOUT. */
int agent_start(Agent *a, const char *const *args, char *errline, size_t errsize);
/* Starts the agent and returns at once (its log: a->log, or a file in $SANITIZER_LOG_DIR when that is set). */
int agent_launch(Agent *a, const char *const *args);
int agent_stop(Agent *a);
bool agent_alive(Agent *a);
int agent_put_targets(Agent *a, const char *json);
cJSON *agent_status(Agent *a);

/* /proc readings of a process. */
int proc_mem(pid_t pid, long *ret_rss_kib, long *ret_private_dirty_kib);
double proc_cpu_seconds(pid_t pid);
/* Time on CPU in ns precision (the main thread's; the agent has no other), -1 without schedstats. */
double proc_schedstat_seconds(pid_t pid);
int proc_fds(pid_t pid);

/* Removes every container labelled label=value on the engine: the cleanup of this run. Returns how many. */
int engine_remove_labelled(const char *sock, const char *label, const char *value);
