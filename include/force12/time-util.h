// SPDX-License-Identifier: Apache-2.0
/* Time inside the agent: every duration and point in time is a usec_t; seconds and milliseconds appear only at
 * the edges (config, JSON, log text). */
#pragma once

#include <stdint.h>
#include <time.h>

typedef uint64_t usec_t;

#define USEC_INFINITY ((usec_t)UINT64_MAX)
#define USEC_PER_MSEC ((usec_t)1000ULL)
#define USEC_PER_SEC  ((usec_t)1000000ULL)

static inline usec_t now_usec(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (usec_t)ts.tv_sec * USEC_PER_SEC + (usec_t)ts.tv_nsec / 1000;
}
