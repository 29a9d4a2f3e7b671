// SPDX-License-Identifier: Apache-2.0
/* Latency histograms for /metrics: counts per fixed bucket. */
#include <stddef.h>

#include "force12/histogram.h"

const double histogram_bounds[HISTOGRAM_BUCKETS - 1] = {0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 2, 5, 10, 30};

void histogram_observe(Histogram *h, usec_t duration)
{
	double seconds = (double)duration / USEC_PER_SEC;
	size_t i = 0;

	while (i < HISTOGRAM_BUCKETS - 1 && seconds > histogram_bounds[i])
		i++;
	h->counts[i]++;
	h->count++;
	h->sum += seconds;
}
