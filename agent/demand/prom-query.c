// SPDX-License-Identifier: Apache-2.0
/* The Prometheus answer decoder: {"status":"success","data":{"resultType":"vector","result":[{"metric":{...},
 * "value":[<time>,"<number>"]}]}} and its scalar, matrix, string and error forms. Pure and bounded: it never trusts
 * a field's type, never logs, and refuses what is not exactly one finite number, saying why. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "force12/json.h"
#include "force12/prom-query.h"

_printf_(3, 4) static int fail(char *error, int r, const char *format, ...)
{
	va_list ap;

	if (error) {
		va_start(ap, format);
		vsnprintf(error, SCALE_ERROR_MAX, format, ap);
		va_end(ap);
	}
	return r;
}

/* Prometheus sends sample values as strings: "12", "1.5e3", "NaN", "+Inf", "-Inf". */
static int sample_value(const cJSON *pair, double *ret, char *error)
{
	const cJSON *v;
	char *end;
	double d;

	if (!cJSON_IsArray(pair) || cJSON_GetArraySize(pair) != 2)
		return fail(error, -EBADMSG, "malformed answer: a sample is not [time, \"value\"]");
	v = cJSON_GetArrayItem(pair, 1);
	if (!cJSON_IsString(v) || !v->valuestring || !v->valuestring[0])
		return fail(error, -EBADMSG, "malformed answer: a sample's value is not a string");
	errno = 0;
	d = strtod(v->valuestring, &end);
	if (*end || end == v->valuestring)
		return fail(error, -EBADMSG, "malformed answer: a sample's value is not a number");
	if (isnan(d))
		return fail(error, -EINVAL, "the query gives NaN (a division by zero or an empty rate?)");
	if (isinf(d))
		return fail(error, -EINVAL, "the query gives %s", d > 0 ? "+Inf" : "-Inf");
	*ret = d;
	return 0;
}

static int decode_vector(const cJSON *result, double *ret, char *error)
{
	int n;

	if (!cJSON_IsArray(result))
		return fail(error, -EBADMSG, "malformed answer: \"result\" is not an array");
	n = cJSON_GetArraySize(result);
	if (n == 0)
		return fail(error, -EINVAL,
		            "the query gives no series (is the exporter scraped? wrap it in sum() "
		            "or add \"or vector(0)\")");
	if (n > 1)
		return fail(error, -EINVAL, "the query gives %d series, one is needed (aggregate it, e.g. sum(...))",
		            n);
	if (!cJSON_IsObject(result->child))
		return fail(error, -EBADMSG, "malformed answer: a series is not an object");
	return sample_value(cJSON_GetObjectItemCaseSensitive(result->child, "value"), ret, error);
}

/* Text from outside, made fit for one line: printable ASCII only, bounded. */
static void one_line(char *buf, size_t size, const cJSON *text, const char *fallback)
{
	snprintf(buf, size, "%s", cJSON_IsString(text) && text->valuestring ? text->valuestring : fallback);
	for (size_t i = 0; buf[i]; i++)
		if ((unsigned char)buf[i] < 0x20 || (unsigned char)buf[i] >= 0x7f)
			buf[i] = ' ';
}

static int decode_error(const cJSON *root, char *error)
{
	char type[33], text[160];

	one_line(type, sizeof(type), cJSON_GetObjectItemCaseSensitive(root, "errorType"), "error");
	one_line(text, sizeof(text), cJSON_GetObjectItemCaseSensitive(root, "error"), "no reason");
	return fail(error, -EINVAL, "Prometheus refused the query (%s): %s", type, text);
}

int prom_query_decode(const char *body, size_t len, double *ret_value, char *error)
{
	_cleanup_json_ cJSON *root = NULL;
	const cJSON *status, *data, *type;

	if (!body || len == 0)
		return fail(error, -EBADMSG, "malformed answer: empty body");
	if (len > PROM_ANSWER_MAX)
		return fail(error, -EBADMSG, "malformed answer: over %d bytes", PROM_ANSWER_MAX);
	root = cJSON_ParseWithLength(body, len);
	if (!cJSON_IsObject(root))
		return fail(error, -EBADMSG, "malformed answer: not a JSON object (is this Prometheus?)");
	status = cJSON_GetObjectItemCaseSensitive(root, "status");
	if (!cJSON_IsString(status) || !status->valuestring)
		return fail(error, -EBADMSG, "malformed answer: no \"status\" (is this Prometheus?)");
	if (streq(status->valuestring, "error"))
		return decode_error(root, error);
	if (!streq(status->valuestring, "success"))
		return fail(error, -EBADMSG, "malformed answer: status is neither success nor error");
	data = cJSON_GetObjectItemCaseSensitive(root, "data");
	type = cJSON_GetObjectItemCaseSensitive(data, "resultType");
	if (!cJSON_IsObject(data) || !cJSON_IsString(type) || !type->valuestring)
		return fail(error, -EBADMSG, "malformed answer: no data.resultType");
	if (streq(type->valuestring, "vector"))
		return decode_vector(cJSON_GetObjectItemCaseSensitive(data, "result"), ret_value, error);
	if (streq(type->valuestring, "scalar"))
		return sample_value(cJSON_GetObjectItemCaseSensitive(data, "result"), ret_value, error);
	if (streq(type->valuestring, "string"))
		return fail(error, -EINVAL, "the query gives a string, a number is needed");
	if (streq(type->valuestring, "matrix"))
		return fail(error, -EINVAL,
		            "the query gives a range vector, an instant one is needed (drop the [...] "
		            "or wrap it in a function such as avg_over_time)");
	return fail(error, -EBADMSG, "malformed answer: unknown resultType");
}

char *prom_query_url(const char *base, const char *query)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t b = strlen(base), q = strlen(query);
	char *url = malloc(b + strlen("/api/v1/query?query=") + 3 * q + 1), *p;

	if (!url)
		return NULL;
	while (b > 0 && base[b - 1] == '/')
		b--;
	p = mempcpy(url, base, b);
	p = stpcpy(p, "/api/v1/query?query=");
	for (const unsigned char *c = (const unsigned char *)query; *c; c++) {
		if ((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
		    strchr("-._~", *c)) {
			*p++ = (char)*c;
		} else {
			*p++ = '%';
			*p++ = hex[*c >> 4];
			*p++ = hex[*c & 15];
		}
	}
	*p = 0;
	return url;
}
