// SPDX-License-Identifier: Apache-2.0
/* cJSON with the cleanup helper every JSON user needs. */
#pragma once

#include <cjson/cJSON.h>

#include "force12/macro.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(cJSON *, cJSON_Delete);
#define _cleanup_json_ _cleanup_(cJSON_Deletep)
