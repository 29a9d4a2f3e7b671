// SPDX-License-Identifier: Apache-2.0
/* Latency histogram with fixed bucket bounds (seconds, as /metrics exports them). */
#pragma once

#include <stdint.h>

#include "force12/time-util.h"

#define HISTOGRAM_BUCKETS 12
typedef struct Histogram {
	uint64_t counts[HISTOGRAM_BUCKETS]; /* non-cumulative; the last is +Inf */
	uint64_t count;
	double sum; /* seconds */
} Histogram;
extern const double histogram_bounds[HISTOGRAM_BUCKETS - 1];

void histogram_observe(Histogram *h, usec_t duration);
