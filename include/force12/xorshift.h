// SPDX-License-Identifier: Apache-2.0
/* The project's one small pseudo-random generator (xorshift64): the demo's random demand walk and the tests'
 * seeded interleavings. Not for anything secret. */
#pragma once

#include <stdint.h>

/* Advances the state (never 0) and returns it. */
static inline uint64_t xorshift64(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}
