// SPDX-License-Identifier: Apache-2.0
/* Unit tests of the UTF-8 validator: the well-formed forms pass, every class of ill-formed input fails. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* cmocka needs the headers above first. */
#include <cmocka.h>

#include "force12/utf8.h"

#define VALID(s)   assert_true(utf8_is_valid((s), sizeof(s) - 1))
#define INVALID(s) assert_false(utf8_is_valid((s), sizeof(s) - 1))

static void test_valid(void **state)
{
	VALID("");
	VALID("priority1");
	VALID("caf\xc3\xa9");      /* U+00E9 */
	VALID("\xe2\x82\xac");     /* U+20AC */
	VALID("\xed\x9f\xbf");     /* U+D7FF, just below the surrogates */
	VALID("\xf0\x9f\x90\xb3"); /* U+1F433 */
	VALID("\xf4\x8f\xbf\xbf"); /* U+10FFFF, the last code point */
	VALID("\x7f");
}

static void test_invalid(void **state)
{
	INVALID("\x80");             /* lone continuation */
	INVALID("\xc0\xaf");         /* overlong '/' */
	INVALID("\xc1\xbf");         /* overlong */
	INVALID("\xe0\x80\xaf");     /* overlong 3-byte */
	INVALID("\xf0\x80\x80\xaf"); /* overlong 4-byte */
	INVALID("\xed\xa0\x80");     /* U+D800, a surrogate */
	INVALID("\xf4\x90\x80\x80"); /* above U+10FFFF */
	INVALID("\xf5\x80\x80\x80");
	INVALID("\xff");
	INVALID("\xfe\xff");
	INVALID("\xc3");             /* truncated */
	INVALID("\xe2\x82");         /* truncated */
	INVALID("ok\xf0\x9f\x90");   /* truncated at the end */
	INVALID("\xe2\x28\xa1");     /* bad second byte */
	INVALID("\xf0\x9f\x28\xb3"); /* bad third byte */
}

static void test_length_is_respected(void **state)
{
	const char s[] = "\xc3\xa9";

	assert_false(utf8_is_valid(s, 1)); /* cut inside the sequence */
	assert_true(utf8_is_valid(s, 2));
	assert_true(utf8_is_valid("abc\x80", 3)); /* what lies past len is not read */
}

#define NUL_ESCAPE(s) json_has_nul_escape((s), sizeof(s) - 1)

static void test_nul_escape(void **state)
{
	assert_true(NUL_ESCAPE("{\"priority1\\u0000x\": 5}"));
	assert_true(NUL_ESCAPE("\\u0000"));
	assert_true(NUL_ESCAPE("\\\\\\u0000")); /* an escaped backslash, then the escape */
	assert_false(NUL_ESCAPE("\\\\u0000"));  /* an escaped backslash, then plain text */
	assert_false(NUL_ESCAPE("\\u0001"));
	assert_false(NUL_ESCAPE("\\u000"));
	assert_false(NUL_ESCAPE("{\"priority1\": 5}"));
	assert_false(json_has_nul_escape("\\u0000", 5)); /* cut before the last digit */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_valid),
	        cmocka_unit_test(test_invalid),
	        cmocka_unit_test(test_length_is_respected),
	        cmocka_unit_test(test_nul_escape),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
