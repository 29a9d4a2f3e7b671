// SPDX-License-Identifier: Apache-2.0
/* The project's one ordering of apps: more important first, that is a lower priority number, then the name
 * (strcmp). The planner, the cluster split and the random demand all rank apps by it. */
#pragma once

#include <string.h>

/* <0 when (priority a, name a) goes first, >0 when b does, 0 for equal pairs. */
static inline int order_compare(unsigned priority_a, const char *name_a, unsigned priority_b, const char *name_b)
{
	if (priority_a != priority_b)
		return priority_a < priority_b ? -1 : 1;
	return strcmp(name_a, name_b);
}
