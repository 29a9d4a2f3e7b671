// SPDX-License-Identifier: Apache-2.0
/* What the harnesses share: how an invariant fails (a message and a trap, which libFuzzer reports as a crash with
 * the input saved), and a scanner for the one JSON escape cJSON turns into a silent truncation. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Names the broken invariant before trapping: -O1 folds the traps together, so the stack alone may not. */
#define CHECK(x)                                                                                  \
	do {                                                                                      \
		if (!(x)) {                                                                       \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #x); \
			__builtin_trap();                                                         \
		}                                                                                 \
	} while (0)

/* True if the text has the escape \u0000 (after an odd run of backslashes). Outside strings a backslash is not
 * JSON, so in anything cJSON accepts this is inside a string, where it decodes to a NUL that cuts the C string
 * short: the same silent truncation as a raw NUL byte. */
static inline bool has_escaped_nul(const uint8_t *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t run = 0;

		while (i < n && s[i] == '\\')
			run++, i++;
		if (run % 2 == 1 && n - i >= 5 && memcmp(s + i, "u0000", 5) == 0)
			return true;
	}
	return false;
}
