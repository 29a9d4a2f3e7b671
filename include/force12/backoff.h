// SPDX-License-Identifier: Apache-2.0
/* The project's one exponential backoff: the engine ping, an app's failed starts, etcd, the http demand source. */
#pragma once

#include "force12/macro.h"
#include "force12/time-util.h"

/* The wait after the failures-th failure in a row: min, doubled for each further failure, at most max.
 * failures 0 counts as 1. */
static inline usec_t backoff_delay(usec_t min, usec_t max, unsigned failures)
{
	usec_t d = min;

	for (unsigned i = 1; i < failures && d < max; i++)
		d *= 2;
	return MIN(d, max);
}
