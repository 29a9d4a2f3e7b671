// SPDX-License-Identifier: Apache-2.0
/* Decoding of a Prometheus HTTP API answer to an instant query (/api/v1/query) into the one number a scaling rule
 * needs. Pure: no I/O, no logging. Anything but exactly one finite number is an error a person can act on. */
#pragma once

#include <stddef.h>

#include "force12/scale-rule.h"

#define PROM_ANSWER_MAX (1024 * 1024) /* bytes of answer accepted */

/* Decodes the body of an answer (any HTTP status: Prometheus explains its 4xx/5xx in the same envelope).
 * On success writes the value and returns 0. Otherwise returns -EINVAL (the answer is valid but not one finite
 * number: no series, several series, NaN, +-Inf, a string, a range vector, an error status from Prometheus) or
 * -EBADMSG (not a Prometheus answer at all), with one line in error (SCALE_ERROR_MAX bytes). */
int prom_query_decode(const char *body, size_t len, double *ret_value, char *error);

/* The URL of an instant query: base + "/api/v1/query?query=" + the query, percent-encoded. NULL on ENOMEM. */
char *prom_query_url(const char *base, const char *query);
