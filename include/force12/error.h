// SPDX-License-Identifier: Apache-2.0
/* The project's one error channel: a function returns a negative errno and, when its caller passes an ErrorText,
 * says in one line what went wrong (which key, which file, which value). The buffer carries its size. */
#pragma once

#include "force12/macro.h"

#define ERROR_TEXT_MAX 256

typedef struct ErrorText {
	char text[ERROR_TEXT_MAX];
} ErrorText;

/* Writes the line into e (if not NULL) and returns r: `return error_text_set(error, -EINVAL, "...", ...);`. */
int error_text_set(ErrorText *e, int r, const char *format, ...) _printf_(3, 4);
