// SPDX-License-Identifier: Apache-2.0
/* The live dashboard page (web/dashboard.html), embedded at build time by scripts/embed.sh. */
#pragma once

#include <stddef.h>

extern const char dashboard_html[];
extern const size_t dashboard_html_len;
