/* UTF-8 validation for text from outside (request bodies, config files), which cJSON passes through as is. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* True if s[0..len) is well-formed UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF. */
bool utf8_is_valid(const char *s, size_t len);
