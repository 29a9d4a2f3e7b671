/* Target counts as JSON ({"priority1": 3, "priority2": 6}): the body of PUT /v1/targets, the state file and the
 * file and http demand sources all use this one parser. Pure; validates everything before it writes anything. */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "force12/config.h"

#define TARGETS_UNSET    UINT_MAX
#define TARGETS_BODY_MAX (64 * 1024)

typedef enum TargetsError {
	TARGETS_OK,
	TARGETS_MALFORMED,   /* not JSON, not an object, empty, duplicate key: HTTP 400 */
	TARGETS_UNKNOWN_APP, /* HTTP 404 */
	TARGETS_BAD_COUNT,   /* not an integer in 0..CONFIG_MAX_TARGET: HTTP 422 */
	TARGETS_TOO_LARGE,   /* over TARGETS_BODY_MAX: HTTP 413 */
} TargetsError;

/* Parses text into ret (config->n_apps entries; apps not named are TARGETS_UNSET). With ignore_unknown, names
 * of apps that are not configured are skipped rather than refused (for the state file after a config change).
 * ret is written only on success; error (CONFIG_ERROR_MAX bytes) gets one line naming the problem. */
TargetsError targets_parse(const char *text, size_t len, const Config *config, bool ignore_unknown, unsigned *ret,
                           char *error);
int targets_http_status(TargetsError e);
/* {"app": n, ...} for every app, in config order. Returns malloc'ed text or NULL. */
char *targets_format(const Config *config, const unsigned *targets);
