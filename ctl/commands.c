// SPDX-License-Identifier: Apache-2.0
/* force12ctl's commands: each asks the agent one thing (watch: again and again) and prints the answer.
 * Failures become the documented exit statuses, with one line that says what went wrong and what to do:
 * 1 the agent said no, 2 bad usage, 3 the agent could not be reached. Only `set` changes anything. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"

#define COUNT_MAX (UINT64_C(1) << 53) /* what a JSON number carries exactly */

static int fail(Ctl *ctl, int status, const char *format, ...) _printf_(3, 4);
static int fail(Ctl *ctl, int status, const char *format, ...)
{
	va_list ap;

	va_start(ap, format);
	vsnprintf(ctl->error, sizeof(ctl->error), format, ap);
	va_end(ap);
	return status;
}

static const char *unreachable_hint(const Ctl *ctl, int r)
{
	bool socket = ctl->endpoint.socket_path != NULL;

	switch (-r) {
	case ENOENT:
	case ECONNREFUSED:
		return socket ? "is force12-agent running?" : "is force12-agent running with --listen?";
	case EACCES:
	case EPERM:
		return "permission denied; run as root or as a member of the socket's group";
	case ETIMEDOUT:
		return "it did not answer in time; is the host or the agent overloaded?";
	case EHOSTUNREACH:
		return "check the host in the URL";
	case ECONNRESET:
		return "the connection closed before an answer; is this the agent's API?";
	default:
		return "could not talk to it";
	}
}

/* A request that got no answer. */
static int request_failed(Ctl *ctl, int r)
{
	const char *where = endpoint_name(&ctl->endpoint), *detail = client_detail(ctl->client);

	if (client_error_is_unreachable(r))
		return fail(ctl, EXIT_UNREACHABLE, "agent not reachable at %s: %s (%s)", where,
		            unreachable_hint(ctl, r), detail[0] ? detail : strerror(-r));
	if (r == -EINVAL)
		return fail(ctl, EXIT_USAGE, "--url %s: %s", where, detail[0] ? detail : "not a URL");
	if (r == -EFBIG)
		return fail(ctl, EXIT_AGENT_ERROR, "the answer from %s is over %u MiB; is this the agent's API?", where,
		            CTL_REPLY_MAX >> 20);
	return fail(ctl, EXIT_AGENT_ERROR, "request to %s failed: %s", where, detail[0] ? detail : strerror(-r));
}

/* An answer other than 2xx: the agent's own words, as is. */
static int answer_failed(Ctl *ctl, const Reply *reply)
{
	_cleanup_json_ cJSON *j = cJSON_ParseWithLength(reply->body, reply->size);
	const cJSON *error = cJSON_GetObjectItemCaseSensitive(j, "error");
	_cleanup_free_ char *text = cJSON_IsString(error) ? text_sanitize(error->valuestring) : NULL;

	if (!text)
		return fail(ctl, EXIT_AGENT_ERROR,
		            "%s answered HTTP %ld without an error message; is this the agent's API?",
		            endpoint_name(&ctl->endpoint), reply->status);
	if (reply->status == 401)
		return fail(ctl, EXIT_AGENT_ERROR, "%s\nforce12ctl: give the agent's token with --token-file FILE",
		            text);
	return fail(ctl, EXIT_AGENT_ERROR, "%s", text);
}

/* 0 with a 2xx answer; else the exit status, ctl->error saying why. */
static int call(Ctl *ctl, const char *method, const char *path, const char *body, Reply *ret)
{
	_cleanup_(reply_done) Reply reply = {};
	int r;

	ctl->error[0] = 0;
	r = client_request(ctl->client, method, path, body, &reply);
	if (r < 0)
		return request_failed(ctl, r);
	if (reply.status < 200 || reply.status > 299)
		return answer_failed(ctl, &reply);
	*ret = reply;
	reply = (Reply){};
	return 0;
}

static int parse_answer(Ctl *ctl, const Reply *reply, const char *path, cJSON **ret)
{
	/* size + 1 takes in the NUL, so that trailing garbage is refused. */
	cJSON *j = cJSON_ParseWithLengthOpts(reply->body, reply->size + 1, NULL, true);

	if (!j)
		return fail(ctl, EXIT_AGENT_ERROR, "the answer from %s to %s is not JSON; is this the agent's API?",
		            endpoint_name(&ctl->endpoint), path);
	*ret = j;
	return 0;
}

static int call_json(Ctl *ctl, const char *method, const char *path, const char *body, Reply *ret_reply, cJSON **ret)
{
	_cleanup_(reply_done) Reply reply = {};
	int r;

	r = call(ctl, method, path, body, &reply);
	if (r == 0)
		r = parse_answer(ctl, &reply, path, ret);
	if (r == 0 && ret_reply) {
		*ret_reply = reply;
		reply = (Reply){};
	}
	return r;
}

/* The exit status for what a render_*() returned. */
static int rendered(Ctl *ctl, int r, const char *path)
{
	if (r == -EPROTO)
		return fail(ctl, EXIT_AGENT_ERROR, "the answer from %s to %s is not what the agent sends",
		            endpoint_name(&ctl->endpoint), path);
	if (r < 0)
		return fail(ctl, EXIT_AGENT_ERROR, "%s", strerror(-r));
	return 0;
}

/* What the agent answered, on one line; or indented with --pretty. */
static int print_json(Ctl *ctl, const Reply *reply, const cJSON *json)
{
	_cleanup_free_ char *pretty = NULL;

	if (ctl->pretty) {
		pretty = cJSON_Print(json);
		if (!pretty)
			return fail(ctl, EXIT_AGENT_ERROR, "%s", strerror(ENOMEM));
		puts(pretty);
		return 0;
	}
	fwrite(reply->body, 1, reply->size, stdout);
	if (reply->size == 0 || reply->body[reply->size - 1] != '\n')
		putchar('\n');
	return 0;
}

int command_status(Ctl *ctl, char **args, int n_args)
{
	_cleanup_json_ cJSON *status = NULL;
	int r;

	r = call_json(ctl, "GET", "/v1/status", NULL, NULL, &status);
	if (r != 0)
		return r;
	return rendered(ctl, render_status(stdout, status), "/v1/status");
}

int command_get(Ctl *ctl, char **args, int n_args)
{
	_cleanup_(reply_done) Reply reply = {};
	_cleanup_json_ cJSON *targets = NULL;
	int r;

	r = call_json(ctl, "GET", "/v1/targets", NULL, &reply, &targets);
	if (r != 0)
		return r;
	return print_json(ctl, &reply, targets);
}

/* Digits only: no sign, no blanks, no exponent. */
static int parse_count(const char *s, uint64_t *ret)
{
	char *end;

	if (!s[0] || strspn(s, "0123456789") != strlen(s))
		return -EINVAL;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno == ERANGE || v > COUNT_MAX)
		return -ERANGE;
	*ret = v;
	return 0;
}

static int add_target(Ctl *ctl, cJSON *targets, const char *arg)
{
	const char *eq = strchr(arg, '=');
	_cleanup_free_ char *app = NULL;
	uint64_t n;
	int r;

	if (!eq || eq == arg)
		return fail(ctl, EXIT_USAGE, "set %s: expected APP=N, e.g. priority1=3 (see force12ctl set --help)",
		            arg);
	app = strndup(arg, (size_t)(eq - arg));
	if (!app)
		return fail(ctl, EXIT_AGENT_ERROR, "%s", strerror(ENOMEM));
	r = parse_count(eq + 1, &n);
	if (r == -ERANGE)
		return fail(ctl, EXIT_USAGE, "set %s: N is too large (see force12ctl set --help)", arg);
	if (r < 0)
		return fail(ctl, EXIT_USAGE, "set %s: N must be a non-negative integer (see force12ctl set --help)",
		            arg);
	if (cJSON_GetObjectItemCaseSensitive(targets, app))
		return fail(ctl, EXIT_USAGE, "set %s: app %s is given twice", arg, app);
	if (!cJSON_AddNumberToObject(targets, app, (double)n))
		return fail(ctl, EXIT_AGENT_ERROR, "%s", strerror(ENOMEM));
	return 0;
}

/* All arguments are checked before anything is sent: a bad one sends nothing. */
static int targets_body(Ctl *ctl, char **args, int n_args, char **ret)
{
	_cleanup_json_ cJSON *targets = cJSON_CreateObject();
	char *body;
	int r;

	if (!targets)
		return fail(ctl, EXIT_AGENT_ERROR, "%s", strerror(ENOMEM));
	for (int i = 0; i < n_args; i++) {
		r = add_target(ctl, targets, args[i]);
		if (r != 0)
			return r;
	}
	body = cJSON_PrintUnformatted(targets);
	if (!body)
		return fail(ctl, EXIT_AGENT_ERROR, "%s", strerror(ENOMEM));
	*ret = body;
	return 0;
}

int command_set(Ctl *ctl, char **args, int n_args)
{
	_cleanup_(reply_done) Reply reply = {};
	_cleanup_json_ cJSON *targets = NULL;
	_cleanup_free_ char *body = NULL;
	int r;

	r = targets_body(ctl, args, n_args, &body);
	if (r != 0)
		return r;
	r = call_json(ctl, "PUT", "/v1/targets", body, &reply, &targets);
	if (r != 0)
		return r;
	return print_json(ctl, &reply, targets);
}

int command_containers(Ctl *ctl, char **args, int n_args)
{
	_cleanup_json_ cJSON *containers = NULL;
	int r;

	r = call_json(ctl, "GET", "/v1/containers", NULL, NULL, &containers);
	if (r != 0)
		return r;
	return rendered(ctl, render_containers(stdout, containers), "/v1/containers");
}

int command_metrics(Ctl *ctl, char **args, int n_args)
{
	_cleanup_(reply_done) Reply reply = {};
	int r;

	r = call(ctl, "GET", "/metrics", NULL, &reply);
	if (r != 0)
		return r;
	fwrite(reply.body, 1, reply.size, stdout);
	return 0;
}

/* ---- watch ---- */

static bool stop_pending(void)
{
	sigset_t pending;

	return sigpending(&pending) == 0 && (sigismember(&pending, SIGINT) == 1 || sigismember(&pending, SIGTERM) == 1);
}

/* One refresh into memory: a title line, then the status or why there is none (on errors when it is not the
 * screen). Returns the refresh's exit status. */
static int watch_render(Ctl *ctl, FILE *f, FILE *errors)
{
	_cleanup_json_ cJSON *status = NULL;
	time_t now = time(NULL);
	struct tm tm;
	char clock[16] = "";
	int r;

	if (localtime_r(&now, &tm))
		strftime(clock, sizeof(clock), "%H:%M:%S", &tm);
	fprintf(f, "Every %gs: force12ctl status, %s  %s\n\n", ctl->interval, endpoint_name(&ctl->endpoint), clock);
	r = call_json(ctl, "GET", "/v1/status", NULL, NULL, &status);
	if (r == 0)
		r = rendered(ctl, render_status(f, status), "/v1/status");
	if (r != 0 && !stop_pending())
		fprintf(errors, "force12ctl: %s\n", ctl->error);
	ctl->error[0] = 0; /* shown already */
	return r;
}

/* In place on a terminal: cursor home, each line cleared to its end, the rest of the screen cleared.
 * Elsewhere (a pipe, a file) one frame after the other. */
static void watch_draw(const char *frame, bool tty)
{
	if (!tty) {
		printf("%s\n", frame);
		fflush(stdout);
		return;
	}
	fputs("\033[H", stdout);
	for (const char *line = frame; *line;) {
		size_t n = strcspn(line, "\n");
		fwrite(line, 1, n, stdout);
		fputs("\033[K\n", stdout);
		line += n + (line[n] == '\n');
	}
	fputs("\033[J", stdout);
	fflush(stdout);
}

static int watch_once(Ctl *ctl, bool tty)
{
	_cleanup_free_ char *frame = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&frame, &size);
	int r;

	if (!f)
		return fail(ctl, EXIT_AGENT_ERROR, "%s", strerror(errno));
	r = watch_render(ctl, f, tty ? f : stderr);
	if (fclose(f) != 0)
		return fail(ctl, EXIT_AGENT_ERROR, "%s", strerror(errno));
	if (!stop_pending()) /* Ctrl-C cut the request short: nothing worth showing */
		watch_draw(frame, tty);
	return r;
}

static struct timespec timespec_add(struct timespec t, double seconds)
{
	long long ns = t.tv_nsec + (long long)(seconds * 1e9);

	t.tv_sec += (time_t)(ns / 1000000000);
	t.tv_nsec = (long)(ns % 1000000000);
	return t;
}

static long long timespec_diff_ns(struct timespec a, struct timespec b)
{
	return (long long)(a.tv_sec - b.tv_sec) * 1000000000 + (a.tv_nsec - b.tv_nsec);
}

/* Sleeps until the deadline with SIGINT and SIGTERM blocked, so that neither can slip in unseen between a
 * check and the sleep. True when one came. */
static bool watch_sleep(struct timespec deadline, const sigset_t *stop)
{
	for (;;) {
		struct timespec now, left;
		clock_gettime(CLOCK_MONOTONIC, &now);
		long long ns = timespec_diff_ns(deadline, now);
		if (ns <= 0)
			return false;
		left = (struct timespec){.tv_sec = (time_t)(ns / 1000000000), .tv_nsec = (long)(ns % 1000000000)};
		if (sigtimedwait(stop, NULL, &left) > 0)
			return true;
		if (errno == EAGAIN)
			return false;
	}
}

/* Takes in the signal that stopped us, so that unblocking it does not kill us after all. */
static void watch_finish(const sigset_t *stop, const sigset_t *old)
{
	struct timespec zero = {};

	while (sigtimedwait(stop, NULL, &zero) > 0)
		;
	(void)sigprocmask(SIG_SETMASK, old, NULL);
}

int command_watch(Ctl *ctl, char **args, int n_args)
{
	bool tty = isatty(STDOUT_FILENO);
	sigset_t stop, old;
	struct timespec next;
	int status = 0;

	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &stop, &old) < 0)
		return fail(ctl, EXIT_AGENT_ERROR, "sigprocmask: %s", strerror(errno));
	clock_gettime(CLOCK_MONOTONIC, &next);
	for (unsigned n = 0; ctl->count == 0 || n < ctl->count; n++) {
		int r = watch_once(ctl, tty);
		if (stop_pending()) /* Ctrl-C during the request: cut short, not a failure of the agent */
			break;
		status = r;
		if (r == EXIT_USAGE || (ctl->count != 0 && n + 1 == ctl->count)) /* a bad URL stays bad */
			break;
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		next = timespec_add(next, ctl->interval);
		if (timespec_diff_ns(next, now) <= 0) /* fell behind: a slow answer; start afresh */
			next = timespec_add(now, ctl->interval);
		if (watch_sleep(next, &stop))
			break;
	}
	watch_finish(&stop, &old);
	return status;
}
