// SPDX-License-Identifier: Apache-2.0
/* One line of error text beside a negative errno (error.h). */
#include <stdarg.h>
#include <stdio.h>

#include "force12/error.h"

int error_text_set(ErrorText *e, int r, const char *format, ...)
{
	va_list ap;

	if (e) {
		va_start(ap, format);
		(void)vsnprintf(e->text, sizeof(e->text), format, ap);
		va_end(ap);
	}
	return r;
}
