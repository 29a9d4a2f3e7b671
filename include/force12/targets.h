// SPDX-License-Identifier: Apache-2.0
/* Target counts as JSON ({"priority1": 3, "priority2": 6}): the body of PUT /v1/targets, the state file and the
 * file and http demand sources all use this one parser. Pure; validates everything before it writes anything. */
#pragma once

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "force12/config.h"

#define TARGETS_UNSET    UINT_MAX
#define TARGETS_BODY_MAX (64 * 1024)

/* What targets_parse() refuses, as negative errno values (the API maps them to HTTP statuses, not this parser). */
#define TARGETS_MALFORMED   (-EBADMSG) /* not JSON, not an object, empty, duplicate key */
#define TARGETS_UNKNOWN_APP (-ENOENT)
#define TARGETS_BAD_COUNT   (-ERANGE) /* not an integer in 0..CONFIG_MAX_TARGET */
#define TARGETS_TOO_LARGE   (-E2BIG)  /* over TARGETS_BODY_MAX */

/* Parses text into ret (config->n_apps entries; apps not named are TARGETS_UNSET). With ignore_unknown, names
 * of apps that are not configured are skipped rather than refused (for the state file after a config change).
 * Returns 0, or one of the errors above; ret is written only on success; error (CONFIG_ERROR_MAX bytes) gets one
 * line naming the problem. */
int targets_parse(const char *text, size_t len, const Config *config, bool ignore_unknown, unsigned *ret,
                  ErrorText *error);
/* {"app": n, ...} for every app, in config order. Returns malloc'ed text or NULL. */
char *targets_format(const Config *config, const unsigned *targets);
