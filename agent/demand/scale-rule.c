// SPDX-License-Identifier: Apache-2.0
/* Scaling rules: the strict parser of an app's "scale" object, the target-value formula and the scale-down
 * stabilization window. Pure: no I/O, no logging, no clock (time is an argument), so the unit tests cover it all. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "force12/scale-rule.h"

static const char *const rule_keys[] = {"prometheus", "query",    "per_container",     "min",
                                        "max",        "interval", "scale_down_window", "bearer_token_file",
                                        NULL};

typedef struct Scope {
	const cJSON *object;
	const char *prefix;
	char *error;
} Scope;

_printf_(2, 3) static int rule_error(const Scope *s, const char *format, ...)
{
	va_list ap;
	int n;

	if (s->error) {
		n = snprintf(s->error, SCALE_ERROR_MAX, "%s%s", s->prefix, s->prefix[0] ? "." : "");
		if (n >= 0 && n < SCALE_ERROR_MAX) {
			va_start(ap, format);
			vsnprintf(s->error + n, SCALE_ERROR_MAX - (size_t)n, format, ap);
			va_end(ap);
		}
	}
	return -EINVAL;
}

/* A key from the input, safe for a one-line message. */
static void key_echo(const char *key, char buf[static 52])
{
	size_t i;

	for (i = 0; i < 48 && key[i]; i++)
		buf[i] = key[i] >= 0x20 && key[i] < 0x7f ? key[i] : '?';
	strcpy(buf + i, key[i] ? "..." : "");
}

static int check_keys(const Scope *s)
{
	const cJSON *item;
	char echo[52];

	cJSON_ArrayForEach (item, s->object) {
		bool known = false, seen = false;

		for (const char *const *k = rule_keys; *k && item->string; k++)
			known = known || streq(*k, item->string);
		key_echo(item->string ? item->string : "", echo);
		if (!known)
			return rule_error(
			        s,
			        "%s: unknown key (expected one of: prometheus, query, per_container, min, max, "
			        "interval, scale_down_window, bearer_token_file)",
			        echo);
		for (const cJSON *p = s->object->child; p != item; p = p->next)
			seen = seen || (p->string && streq(p->string, item->string));
		if (seen)
			return rule_error(s, "%s: given twice", echo);
	}
	return 0;
}

static bool url_is_valid(const char *url)
{
	size_t n = strlen(url);

	if (n > SCALE_URL_MAX)
		return false;
	/* Printable ASCII that needs no escaping in a URL; no query or fragment, the query is appended. */
	for (const char *c = url; *c; c++)
		if (*c <= 0x20 || *c >= 0x7f || strchr("\"<>\\^`{|}?#", *c))
			return false;
	if (strncmp(url, "http://", 7) == 0)
		return n > 7;
	return strncmp(url, "https://", 8) == 0 && n > 8;
}

static int get_string(const Scope *s, const char *key, bool required, size_t max, char **ret)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(s->object, key);

	if (!v) {
		if (required)
			return rule_error(s, "%s: missing", key);
		return 0;
	}
	if (!cJSON_IsString(v) || !v->valuestring || !v->valuestring[0] || strlen(v->valuestring) > max ||
	    strpbrk(v->valuestring, "\r\n"))
		return rule_error(s, "%s: must be a non-empty string of at most %zu bytes on one line", key, max);
	*ret = strdup(v->valuestring);
	return *ret ? 0 : -ENOMEM;
}

static int get_uint(const Scope *s, const char *key, bool required, unsigned lo, unsigned hi, unsigned *ret)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(s->object, key);

	if (!v) {
		if (required)
			return rule_error(s, "%s: missing (an integer in %u..%u)", key, lo, hi);
		return 0;
	}
	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble != floor(v->valuedouble) ||
	    v->valuedouble < lo || v->valuedouble > hi)
		return rule_error(s, "%s: must be an integer in %u..%u", key, lo, hi);
	*ret = (unsigned)v->valuedouble;
	return 0;
}

static int parse_strings(const Scope *s, ScaleRule *r)
{
	int k;

	k = get_string(s, "prometheus", true, SCALE_URL_MAX, &r->prometheus);
	if (k < 0)
		return k;
	if (!r->prometheus || !url_is_valid(r->prometheus))
		return rule_error(s, "prometheus: must be a base URL http://HOST[:PORT][/PATH] or https://..., "
		                     "without query or fragment");
	k = get_string(s, "query", true, SCALE_QUERY_MAX, &r->query);
	if (k < 0)
		return k;
	return get_string(s, "bearer_token_file", false, 4096, &r->bearer_token_file);
}

static int parse_numbers(const Scope *s, ScaleRule *r)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(s->object, "per_container");
	int k;

	if (!v)
		return rule_error(s, "per_container: missing (the metric's value one container handles, above 0)");
	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble <= 0 || v->valuedouble > 1e15)
		return rule_error(s, "per_container: must be a number above 0");
	r->per_container = v->valuedouble;
	if ((k = get_uint(s, "min", false, 0, SCALE_MAX_COUNT, &r->min)) < 0 ||
	    (k = get_uint(s, "max", true, 0, SCALE_MAX_COUNT, &r->max)) < 0 ||
	    (k = get_uint(s, "interval", false, 1, SCALE_MAX_INTERVAL, &r->interval)) < 0 ||
	    (k = get_uint(s, "scale_down_window", false, 0, SCALE_MAX_WINDOW, &r->window)) < 0)
		return k;
	if (r->min > r->max)
		return rule_error(s, "min: must not be above max (%u > %u)", r->min, r->max);
	return 0;
}

int scale_rule_parse(const cJSON *object, const char *prefix, ScaleRule **ret, char *error)
{
	_cleanup_(scale_rule_freep) ScaleRule *r = NULL;
	Scope s = {.object = object, .prefix = prefix ? prefix : "", .error = error};
	int k;

	if (!cJSON_IsObject(object)) {
		if (error)
			snprintf(error, SCALE_ERROR_MAX,
			         "%s: must be an object with prometheus, query, per_container and max",
			         s.prefix[0] ? s.prefix : "scale");
		return -EINVAL;
	}
	k = check_keys(&s);
	if (k < 0)
		return k;
	r = calloc(1, sizeof(ScaleRule));
	if (!r)
		return -ENOMEM;
	r->interval = SCALE_DEFAULT_INTERVAL;
	r->window = SCALE_DEFAULT_WINDOW;
	if ((k = parse_strings(&s, r)) < 0 || (k = parse_numbers(&s, r)) < 0) {
		if (k == -ENOMEM && error)
			snprintf(error, SCALE_ERROR_MAX, "out of memory");
		return k;
	}
	*ret = TAKE_PTR(r);
	return 0;
}

ScaleRule *scale_rule_free(ScaleRule *r)
{
	if (!r)
		return NULL;
	free(r->prometheus);
	free(r->query);
	free(r->bearer_token_file);
	free(r);
	return NULL;
}

ScaleRule *scale_rule_dup(const ScaleRule *r)
{
	_cleanup_(scale_rule_freep) ScaleRule *c = malloc(sizeof(ScaleRule));

	if (!c)
		return NULL;
	*c = *r;
	c->prometheus = strdup(r->prometheus);
	c->query = strdup(r->query);
	c->bearer_token_file = r->bearer_token_file ? strdup(r->bearer_token_file) : NULL;
	if (!c->prometheus || !c->query || (r->bearer_token_file && !c->bearer_token_file))
		return NULL;
	return TAKE_PTR(c);
}

unsigned scale_recommend(const ScaleRule *r, double value)
{
	double n;

	if (!(value > 0))
		return r->min; /* also NaN, which the caller should have refused */
	n = ceil(value / r->per_container);
	if (n <= r->min)
		return r->min;
	if (n >= r->max)
		return r->max;
	return (unsigned)n;
}

void scale_window_init(ScaleWindow *w, usec_t length)
{
	*w = (ScaleWindow){.length = length};
}

void scale_window_done(ScaleWindow *w)
{
	free(w->entries);
	*w = (ScaleWindow){.length = w->length};
}

int scale_window_push(ScaleWindow *w, usec_t now, unsigned recommendation, unsigned *ret_target)
{
	size_t drop = 0;

	/* Entries older than the window no longer hold the target up. */
	while (drop < w->n && w->entries[drop].at + w->length < now)
		drop++;
	if (drop > 0) {
		memmove(w->entries, w->entries + drop, (w->n - drop) * sizeof(ScaleWindowEntry));
		w->n -= drop;
	}
	/* A newer, at least as high recommendation outlives every lower or equal older one: they never win again. */
	while (w->n > 0 && w->entries[w->n - 1].recommendation <= recommendation)
		w->n--;
	if (w->n == w->allocated) {
		size_t a = w->allocated ? 2 * w->allocated : 8;
		ScaleWindowEntry *e = realloc(w->entries, a * sizeof(ScaleWindowEntry));

		if (!e)
			return -ENOMEM;
		w->entries = e;
		w->allocated = a;
	}
	w->entries[w->n++] = (ScaleWindowEntry){.at = now, .recommendation = recommendation};
	*ret_target = w->entries[0].recommendation;
	return 0;
}
