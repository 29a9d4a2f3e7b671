// SPDX-License-Identifier: Apache-2.0
/* Fuzzes run_parse(), the reader of the observer's CSV behind force12-report, and every metric computed from what
 * it accepts. Checks that a refusal leaves no run and says one printable line starting with "line N:", and that an
 * accepted run's figures are sane: rows sorted, counts within bounds, times to target and stop durations not
 * negative, percentiles ordered, the error area within the bounds the demand allows. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "../../compare/metrics.h"
#include "fuzz.h"

static void check_refusal(const char *error)
{
	size_t n = strnlen(error, RUN_ERROR_MAX);

	CHECK(n > 0 && n < RUN_ERROR_MAX);
	CHECK(strncmp(error, "line ", 5) == 0);
	for (size_t i = 0; i < n; i++)
		CHECK((unsigned char)error[i] >= 0x20 && error[i] != 0x7f);
}

static void check_summary(const Run *r, const Summary *s)
{
	CHECK(s->n_reached <= s->n_changes);
	CHECK(isnan(s->ttt_p50) || s->ttt_p50 >= 0);
	CHECK(isnan(s->ttt_p50) || s->ttt_p50 <= s->ttt_p95);
	CHECK(isnan(s->ttt_p95) || s->ttt_p95 <= s->ttt_max);
	CHECK(isnan(s->stop_p50) || (s->stop_p50 >= 0 && s->stop_p50 <= s->stop_p95 && s->stop_p95 <= s->stop_max));
	CHECK(s->exits.clean + s->exits.killed + s->exits.other <= r->n_rows);
	CHECK(s->error_area >= 0 && s->demand_area >= 0);
	CHECK(isnan(s->tracking_error) || s->tracking_error >= 0);
	CHECK(isnan(s->stopped_end) || s->stopped_end <= s->stopped_max);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char error[RUN_ERROR_MAX] = "";
	Run *r = NULL;
	Summary s;

	if (size > 64 * 1024)
		return 0;
	if (run_parse((const char *)data, size, &r, error) < 0) {
		CHECK(r == NULL);
		check_refusal(error);
		return 0;
	}
	CHECK(r != NULL && r->n_apps <= RUN_MAX_APPS);
	for (size_t i = 1; i < r->n_rows; i++)
		CHECK(r->rows[i - 1].time <= r->rows[i].time);
	CHECK(run_summarize(r, &s) == 0);
	check_summary(r, &s);
	run_free(r);
	return 0;
}
