// SPDX-License-Identifier: Apache-2.0
/* The file: and http:// demand sources: a JSON document like the body of PUT /v1/targets, read again when the
 * file changes (inotify on its directory, so an atomic rename is seen at once) or polled over HTTP with
 * If-None-Match. A bad document is reported in one line and the last good targets stay. */
#pragma once

#include <cjson/cJSON.h>
#include <systemd/sd-event.h>

#include "force12/config.h"
#include "force12/demand.h"

#define DEMAND_HTTP_DEFAULT_INTERVAL 5  /* seconds between polls */
#define DEMAND_HTTP_BACKOFF_MAX      60 /* seconds between polls after repeated failures */
#define DEMAND_HTTP_TIMEOUT_MSEC     10000

typedef struct FileSource FileSource;
typedef struct HttpSource HttpSource;

/* The payload step both sources share. Pure. On a good payload merges it into targets (named apps take the new
 * count, the others keep theirs) and returns 1 if anything changed, 0 if not. On a bad one returns -EINVAL with
 * one line in error and leaves targets as they were. */
int demand_payload_apply(const char *text, size_t len, const Config *config, unsigned *targets, ErrorText *error);

int file_source_new(FileSource **ret, sd_event *event, const char *path, const Config *config, DemandFn fn,
                    void *userdata, ErrorText *error);
FileSource *file_source_free(FileSource *f);
DEFINE_TRIVIAL_CLEANUP_FUNC(FileSource *, file_source_free);
cJSON *file_source_status_json(const FileSource *f);

/* url: http:// or https://; interval: seconds (0: the default). */
int http_source_new(HttpSource **ret, sd_event *event, const char *url, unsigned interval, const Config *config,
                    DemandFn fn, void *userdata, ErrorText *error);
HttpSource *http_source_free(HttpSource *h);
DEFINE_TRIVIAL_CLEANUP_FUNC(HttpSource *, http_source_free);
cJSON *http_source_status_json(const HttpSource *h);
