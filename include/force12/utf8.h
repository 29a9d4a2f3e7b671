// SPDX-License-Identifier: Apache-2.0
/* UTF-8 validation for text from outside (request bodies, config files), which cJSON passes through as is. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* True if s[0..len) is well-formed UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF. */
bool utf8_is_valid(const char *s, size_t len);

/* True if JSON text s[0..len) holds the escape \u0000 anywhere. cJSON decodes it into a C string that ends
 * there, so "priority1\u0000x" would silently become "priority1": such text is refused instead. */
bool json_has_nul_escape(const char *s, size_t len);
