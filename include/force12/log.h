// SPDX-License-Identifier: Apache-2.0
/* Logging: to journald with structured fields (APP=, CONTAINER_ID=, NODE_ID=) when stderr is the journal
 * (JOURNAL_STREAM), else leveled lines on stderr. A function either logs or returns an error, not both. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <syslog.h>

#include "force12/macro.h"

void log_set_max_level(int level);
int log_get_max_level(void);
/* Parses error|warning|info|debug; returns the syslog level or -EINVAL. */
int log_level_from_string(const char *s);
void log_set_node_id(const char *node_id);
/* Decides between journal and stderr; call once at start (and in tests to force stderr). */
void log_open(void);

/* Logs at level with an optional errno-style error (negative or positive); %m expands to it.
 * app and container may be NULL. Returns -abs(error), so that "return log_error_errno(r, ...);" works. */
int log_internal(int level, int error, const char *app, const char *container, const char *func, const char *format,
                 ...) _printf_(6, 7);

#define log_full_errno(level, error, ...) log_internal(level, error, NULL, NULL, __func__, __VA_ARGS__)
#define log_debug(...)                    log_full_errno(LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...)                     log_full_errno(LOG_INFO, 0, __VA_ARGS__)
#define log_notice(...)                   log_full_errno(LOG_NOTICE, 0, __VA_ARGS__)
#define log_warning(...)                  log_full_errno(LOG_WARNING, 0, __VA_ARGS__)
#define log_error(...)                    log_full_errno(LOG_ERR, 0, __VA_ARGS__)
#define log_debug_errno(e, ...)           log_full_errno(LOG_DEBUG, e, __VA_ARGS__)
#define log_warning_errno(e, ...)         log_full_errno(LOG_WARNING, e, __VA_ARGS__)
#define log_error_errno(e, ...)           log_full_errno(LOG_ERR, e, __VA_ARGS__)

/* With the app and container as structured fields. */
#define log_app(level, error, app, container, ...) log_internal(level, error, app, container, __func__, __VA_ARGS__)

/* Allows at most burst messages per interval; the caller logs only when it returns true. Keeps the count of
 * what it suppressed, reported with the next allowed message. */
typedef struct RateLimit {
	uint64_t interval_usec;
	unsigned burst;
	uint64_t begin;
	unsigned num;
	unsigned suppressed;
} RateLimit;

#define RATELIMIT_INIT(interval, b)                       \
	{                                                 \
		.interval_usec = (interval), .burst = (b) \
	}
bool ratelimit_below(RateLimit *rl, uint64_t now_usec);
