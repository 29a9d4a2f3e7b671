// SPDX-License-Identifier: Apache-2.0
/* The metric demand source: a timer per scaling rule sends one instant query to Prometheus per interval through
 * the project's curl-in-sd-event client; the answer goes through prom-query (decode) and scale-rule (formula and
 * window), and the stabilized target goes to the owner's callback. A failure never changes the target. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "force12/file-util.h"
#include "force12/http-client.h"
#include "force12/json.h"
#include "force12/log.h"
#include "force12/metric-source.h"
#include "force12/prom-query.h"
#include "force12/time-util.h"

#define TOKEN_MAX 4096

typedef struct Rule {
	MetricSource *owner;
	size_t index;
	const ScaleRule *rule;
	char *url;
	ScaleWindow window;
	HttpRequest *req;
	sd_event_source *timer;
	usec_t started, next;
	unsigned backoff_steps; /* transport failures and 5xx in a row; answers that are not a number retry at the
	                           interval */
	ScaleStatus st;
} Rule;

struct MetricSource {
	sd_event *event;
	HttpClient *http;
	Rule *rules;
	size_t n;
	MetricTargetFn fn;
	void *userdata;
};

static usec_t source_now(const MetricSource *m)
{
	uint64_t t = 0;

	(void)sd_event_now(m->event, CLOCK_MONOTONIC, &t);
	return t;
}

static usec_t backoff(const Rule *r)
{
	usec_t interval = r->rule->interval * USEC_PER_SEC, cap = MAX(interval, METRIC_BACKOFF_MAX_USEC), d = interval;

	for (unsigned i = 0; i < r->backoff_steps && d < cap; i++)
		d *= 2;
	return MIN(d, cap);
}

static void schedule(Rule *r, usec_t at)
{
	r->next = at;
	(void)sd_event_source_set_time(r->timer, at);
	(void)sd_event_source_set_enabled(r->timer, SD_EVENT_ONESHOT);
}

/* unreachable: Prometheus did not answer, or answered 5xx: back off. Otherwise it answered with something that is
 * not one number (which may change with the next sample): try again at the interval. */
static void rule_failed(Rule *r, const char *what, bool unreachable)
{
	usec_t now = source_now(r->owner);

	r->st.failures++;
	r->backoff_steps = unreachable ? r->backoff_steps + 1 : 0;
	if (!streq(what, r->st.error))
		log_warning("Scaling query %s at %s: %s; keeping target %u, trying again in %.0f s", r->rule->query,
		            r->rule->prometheus, what, r->st.target, backoff(r) / 1e6);
	snprintf(r->st.error, sizeof(r->st.error), "%s", what);
	/* The tests read the delays the source chose from this line. */
	log_debug("Scaling query %s failed %u times in a row, next in %.1f s", r->rule->query, r->st.failures,
	          backoff(r) / 1e6);
	schedule(r, now + backoff(r));
}

static void rule_succeeded(Rule *r, double value)
{
	usec_t now = source_now(r->owner), at = r->started + r->rule->interval * USEC_PER_SEC;
	unsigned rec = scale_recommend(r->rule, value), target;

	if (scale_window_push(&r->window, now, rec, &target) < 0) {
		rule_failed(r, "out of memory", true);
		return;
	}
	if (r->st.error[0] || r->st.failures)
		log_info("Scaling query %s at %s answers again: %g", r->rule->query, r->rule->prometheus, value);
	r->st.error[0] = 0;
	r->st.failures = 0;
	r->backoff_steps = 0;
	r->st.queries++;
	r->st.value = value;
	r->st.has_value = true;
	r->st.recommendation = rec;
	if (target != r->st.target || r->st.queries == 1)
		log_debug("Scaling query %s = %g: recommends %u, target %u", r->rule->query, value, rec, target);
	r->st.target = target;
	schedule(r, MAX(at, now));
	r->owner->fn(r->index, target, r->owner->userdata);
}

static void on_done(HttpRequest *req, int error, long status, const char *body, size_t len, void *userdata)
{
	Rule *r = userdata;
	char what[SCALE_ERROR_MAX], detail[SCALE_ERROR_MAX];
	double value;

	r->req = NULL;
	if (error == -ETIMEDOUT) {
		snprintf(what, sizeof(what), "no answer within the interval (%u s)", r->rule->interval);
		rule_failed(r, what, true);
	} else if (error == -EMSGSIZE) {
		rule_failed(r, "the answer is over 1 MiB", false);
	} else if (error < 0) {
		snprintf(what, sizeof(what), "%s", http_request_error_text(req));
		rule_failed(r, what[0] ? what : strerror(-error), true);
	} else if (prom_query_decode(body, len, &value, detail) < 0) {
		/* Prometheus explains 4xx and 5xx in its envelope; anything else gets the status. */
		if (status != 200 && strncmp(detail, "Prometheus refused", 18) != 0)
			snprintf(what, sizeof(what), "HTTP %ld from Prometheus", status);
		else if (status >= 500)
			snprintf(what, sizeof(what), "HTTP %ld: %.200s", status, detail);
		else
			snprintf(what, sizeof(what), "%s", detail);
		rule_failed(r, what, status >= 500 || (status != 200 && status < 400));
	} else if (status != 200) {
		snprintf(what, sizeof(what), "HTTP %ld from Prometheus", status);
		rule_failed(r, what, status >= 500 || status < 400);
	} else {
		rule_succeeded(r, value);
	}
}

/* The token is read before every query, so that a rotated token is picked up without a restart. */
static int read_token(const char *path, char *buf, size_t size)
{
	ssize_t n = read_regular_file(path, buf, size - 1);

	if (n < 0)
		return (int)n;
	if ((size_t)n == size - 1)
		return -EFBIG;
	while (n > 0 && strchr(" \t\r\n", buf[n - 1]))
		n--;
	buf[n] = 0;
	if (n == 0 || strpbrk(buf, "\r\n"))
		return -EBADMSG;
	return 0;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	Rule *r = userdata;
	char token[TOKEN_MAX], auth[TOKEN_MAX + 32], what[SCALE_ERROR_MAX];
	const char *headers[] = {"Accept: application/json", NULL, NULL};
	int k;

	if (r->req) /* still waiting: the timeout ends it */
		return 0;
	if (r->rule->bearer_token_file) {
		k = read_token(r->rule->bearer_token_file, token, sizeof(token));
		if (k < 0) {
			snprintf(what, sizeof(what), "bearer_token_file %.128s: %s", r->rule->bearer_token_file,
			         k == -EBADMSG ? "empty or not one line" : strerror(-k));
			rule_failed(r, what, false);
			return 0;
		}
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
		explicit_bzero(token, sizeof(token));
		headers[1] = auth;
	}
	HttpRequestSpec spec = {
	        .url = r->url,
	        .headers = headers,
	        .timeout_msec = r->rule->interval * 1000ULL,
	        .max_response = PROM_ANSWER_MAX,
	};
	r->started = source_now(r->owner);
	k = http_request_start(r->owner->http, &spec, on_done, r, &r->req);
	explicit_bzero(auth, sizeof(auth));
	if (k < 0) {
		snprintf(what, sizeof(what), "cannot start a request: %s", strerror(-k));
		rule_failed(r, what, true);
	}
	return 0;
}

static int rule_init(MetricSource *m, Rule *r, size_t index, const ScaleRule *rule)
{
	*r = (Rule){.owner = m, .index = index, .rule = rule};
	scale_window_init(&r->window, rule->window * USEC_PER_SEC);
	r->url = prom_query_url(rule->prometheus, rule->query);
	if (!r->url)
		return -ENOMEM;
	log_info("Scaling rule %zu: %s at %s, %g per container, %u..%u, every %u s, scale-down window %u s", index,
	         rule->query, rule->prometheus, rule->per_container, rule->min, rule->max, rule->interval,
	         rule->window);
	return sd_event_add_time(m->event, &r->timer, CLOCK_MONOTONIC, 0, 0, on_timer, r);
}

int metric_source_new(MetricSource **ret, sd_event *event, const ScaleRule *const *rules, size_t n, MetricTargetFn fn,
                      void *userdata)
{
	_cleanup_(metric_source_freep) MetricSource *m = calloc(1, sizeof(MetricSource));
	int k;

	if (!m || !(m->rules = calloc(n ? n : 1, sizeof(Rule))))
		return -ENOMEM;
	m->event = sd_event_ref(event);
	m->fn = fn;
	m->userdata = userdata;
	k = http_client_new(&m->http, event);
	if (k < 0)
		return k;
	for (size_t i = 0; i < n; i++, m->n++) {
		if (!rules[i])
			continue;
		k = rule_init(m, &m->rules[i], i, rules[i]);
		if (k < 0)
			return k;
	}
	*ret = TAKE_PTR(m);
	return 0;
}

MetricSource *metric_source_free(MetricSource *m)
{
	if (!m)
		return NULL;
	for (size_t i = 0; i < m->n; i++) {
		http_request_cancel(m->rules[i].req);
		sd_event_source_disable_unref(m->rules[i].timer);
		scale_window_done(&m->rules[i].window);
		free(m->rules[i].url);
	}
	/* after the requests: freeing the client cancels what is left */
	http_client_free(m->http);
	free(m->rules);
	sd_event_unref(m->event);
	free(m);
	return NULL;
}

int metric_source_status(const MetricSource *m, size_t index, ScaleStatus *ret)
{
	const Rule *r;
	usec_t now;

	if (!m || index >= m->n || !m->rules[index].rule)
		return -ENOENT;
	r = &m->rules[index];
	now = source_now(m);
	*ret = r->st;
	ret->next_query = r->req ? 0 : r->next > now ? (r->next - now) / 1e6 : 0;
	return 0;
}

cJSON *metric_source_status_json(const MetricSource *m, size_t index)
{
	ScaleStatus st;
	cJSON *o;

	if (metric_source_status(m, index, &st) < 0 || !(o = cJSON_CreateObject()))
		return NULL;
	cJSON_AddStringToObject(o, "query", m->rules[index].rule->query);
	if (st.has_value) {
		cJSON_AddNumberToObject(o, "value", st.value);
		cJSON_AddNumberToObject(o, "recommendation", st.recommendation);
		cJSON_AddNumberToObject(o, "target", st.target);
	} else {
		cJSON_AddNullToObject(o, "value");
		cJSON_AddNullToObject(o, "recommendation");
		cJSON_AddNullToObject(o, "target");
	}
	if (st.error[0])
		cJSON_AddStringToObject(o, "error", st.error);
	else
		cJSON_AddNullToObject(o, "error");
	cJSON_AddNumberToObject(o, "failures", st.failures);
	return o;
}

static void gauge(const MetricSource *m, const char *const *names, FILE *f, const char *name, const char *help,
                  int which)
{
	ScaleStatus st;

	fprintf(f, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
	for (size_t i = 0; i < m->n; i++) {
		if (metric_source_status(m, i, &st) < 0 || (which < 3 && !st.has_value))
			continue;
		fprintf(f, "%s{app=\"%s\"} %.17g\n", name, names[i],
		        which == 0   ? st.value
		        : which == 1 ? (double)st.recommendation
		        : which == 2 ? (double)st.target
		                     : (double)st.failures);
	}
}

void metric_source_write_metrics(const MetricSource *m, const char *const *names, FILE *f)
{
	if (!m)
		return;
	gauge(m, names, f, "force12_scale_value", "Last good value of the app's scaling query.", 0);
	gauge(m, names, f, "force12_scale_recommendation", "Containers the last good value asks for.", 1);
	gauge(m, names, f, "force12_scale_target", "Target after the scale-down window.", 2);
	gauge(m, names, f, "force12_scale_failures", "Scaling queries failed in a row.", 3);
}
