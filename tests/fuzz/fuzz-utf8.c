// SPDX-License-Identifier: Apache-2.0
/* Fuzzes utf8_is_valid() against a decoder written the other way round: it computes each code point and then
 * rejects overlong forms, surrogates and values above U+10FFFF, where the module checks byte ranges. The two
 * must agree on every input; a disagreement lets malformed text from outside into the agent, or refuses good text.
 * The module's scanner for the JSON escape \u0000 is checked the same way against fuzz.h's. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "force12/utf8.h"
#include "fuzz.h"

static bool reference_is_valid(const uint8_t *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint8_t c = s[i];
		uint32_t cp, min;
		size_t len;

		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xE0) == 0xC0)
			len = 2, cp = c & 0x1F, min = 0x80;
		else if ((c & 0xF0) == 0xE0)
			len = 3, cp = c & 0x0F, min = 0x800;
		else if ((c & 0xF8) == 0xF0)
			len = 4, cp = c & 0x07, min = 0x10000;
		else
			return false; /* a continuation byte in lead position, or 0xF8..0xFF */
		if (n - i < len)
			return false;
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3F);
		}
		if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		i += len;
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bool got = utf8_is_valid((const char *)data, size);

	CHECK(got == reference_is_valid(data, size));
	/* The module's \u0000 scanner (it pairs up escapes) against the harness's (it counts backslash runs). */
	CHECK(json_has_nul_escape((const char *)data, size) == has_escaped_nul(data, size));
	/* Validity is decided per sequence: a valid text stays valid when any valid text is appended to itself. */
	if (got && size > 0 && size <= 4096) {
		uint8_t twice[8192];

		for (size_t i = 0; i < size; i++)
			twice[i] = twice[size + i] = data[i];
		CHECK(utf8_is_valid((const char *)twice, 2 * size));
	}
	return 0;
}
