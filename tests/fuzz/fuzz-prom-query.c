// SPDX-License-Identifier: Apache-2.0
/* Fuzzes the Prometheus answer decoder and the scaling rule parser with the same bytes. Invariants: an accepted
 * answer is one finite number that survives a round trip through the canonical vector form; a refused one leaves
 * the value untouched and explains itself in one non-empty line; an accepted rule has per_container > 0 and
 * min <= max, and its formula stays within min..max for every accepted value. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "force12/json.h"
#include "force12/prom-query.h"
#include "force12/scale-rule.h"
#include "fuzz.h"

static void check_error_line(const char *error)
{
	CHECK(error[0] != 0);
	CHECK(strlen(error) < SCALE_ERROR_MAX);
	CHECK(!strchr(error, '\n') && !strchr(error, '\r'));
}

static void check_rule(const uint8_t *data, size_t size, double value, bool have_value)
{
	_cleanup_json_ cJSON *o = cJSON_ParseWithLength((const char *)data, size);
	_cleanup_(scale_rule_freep) ScaleRule *r = NULL;
	char error[SCALE_ERROR_MAX] = "";
	int k;

	if (!o)
		return;
	k = scale_rule_parse(o, "apps[0].scale", &r, error);
	if (k < 0) {
		CHECK(r == NULL);
		check_error_line(error);
		CHECK(strncmp(error, "apps[0].scale", 13) == 0);
		return;
	}
	CHECK(r->per_container > 0 && isfinite(r->per_container));
	CHECK(r->min <= r->max && r->max <= SCALE_MAX_COUNT);
	CHECK(r->interval >= 1 && r->interval <= SCALE_MAX_INTERVAL && r->window <= SCALE_MAX_WINDOW);
	CHECK(r->prometheus && r->query && r->query[0]);
	if (have_value) {
		unsigned n = scale_recommend(r, value);

		CHECK(n >= r->min && n <= r->max);
	}
	char *url = prom_query_url(r->prometheus, r->query);
	CHECK(url && !strpbrk(url, " \r\n\"{}"));
	free(url);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char error[SCALE_ERROR_MAX] = "", again[256];
	double v = 4242.5, w = 0;
	int k;

	k = prom_query_decode((const char *)data, size, &v, error);
	if (k == 0) {
		CHECK(isfinite(v));
		snprintf(again, sizeof(again),
		         "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"metric\":{},"
		         "\"value\":[1,\"%.17g\"]}]}}",
		         v);
		CHECK(prom_query_decode(again, strlen(again), &w, NULL) == 0 && w == v);
	} else {
		CHECK(k == -EINVAL || k == -EBADMSG);
		CHECK(v == 4242.5);
		check_error_line(error);
	}
	check_rule(data, size, k == 0 ? v : 0, k == 0);
	return 0;
}
