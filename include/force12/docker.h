// SPDX-License-Identifier: Apache-2.0
/* The Docker Engine API client (Docker, and Podman's Docker-compatible service): the engine operations table of
 * engine.h over the engine's unix socket. It maps the engine's documented statuses to errors (304 "already in
 * that state" is success, 404 -ENOENT, 409 -EBUSY) and knows nothing of apps or plans. Every call has a timeout. */
#pragma once

#include <systemd/sd-event.h>

#include "force12/engine.h"

#define DOCKER_API_VERSION_MIN "1.25" /* StopTimeout at create */

int docker_engine_new(Engine **ret, sd_event *event, const char *socket_path);
