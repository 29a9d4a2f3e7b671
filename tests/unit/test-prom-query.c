// SPDX-License-Identifier: Apache-2.0
/* Unit tests of the Prometheus answer decoder: exactly one finite number is accepted, from a vector of one series
 * or a scalar; no series, several, NaN, +-Inf, a string, a range vector, an error answer and malformed bodies are
 * each refused with their own one-line reason. And the query URL is percent-encoded. */

/* cmocka.h needs these four first; its own block keeps clang-format's include sorting from moving it up. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "force12/prom-query.h"

static void assert_value(const char *body, double expected)
{
	char error[SCALE_ERROR_MAX] = "";
	double v = -12345;

	if (prom_query_decode(body, strlen(body), &v, error) != 0)
		fail_msg("refused %s: %s", body, error);
	assert_true(v == expected);
}

static void assert_refused(const char *body, int expected_r, const char *expected)
{
	char error[SCALE_ERROR_MAX] = "";
	double v = -12345;

	assert_int_equal(prom_query_decode(body, strlen(body), &v, error), expected_r);
	assert_true(v == -12345); /* untouched */
	if (!strstr(error, expected))
		fail_msg("error \"%s\" does not contain \"%s\"", error, expected);
	assert_null(strchr(error, '\n'));
}

#define VECTOR(result) "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":" result "}}"

static void test_one_number(void **state)
{
	assert_value(VECTOR("[{\"metric\":{},\"value\":[1700000000.123,\"17\"]}]"), 17);
	assert_value(VECTOR("[{\"metric\":{\"job\":\"q\"},\"value\":[1,\"2.5e1\"]}]"), 25);
	assert_value(VECTOR("[{\"metric\":{},\"value\":[1,\"-3\"]}]"), -3);
	assert_value("{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":[1,\"4\"]}}", 4);
	/* fields Prometheus adds later (warnings, stats) are ignored */
	assert_value("{\"status\":\"success\",\"warnings\":[\"w\"],\"data\":{\"resultType\":\"vector\",\"result\":"
	             "[{\"metric\":{},\"value\":[1,\"0\"]}]}}",
	             0);
}

static void test_not_one_number(void **state)
{
	assert_refused(VECTOR("[]"), -EINVAL, "the query gives no series");
	assert_refused(VECTOR("[{\"metric\":{\"a\":\"1\"},\"value\":[1,\"1\"]},{\"metric\":{\"a\":\"2\"},\"value\":[1,"
	                      "\"2\"]}]"),
	               -EINVAL, "the query gives 2 series, one is needed");
	assert_refused(VECTOR("[{\"metric\":{},\"value\":[1,\"NaN\"]}]"), -EINVAL, "the query gives NaN");
	assert_refused(VECTOR("[{\"metric\":{},\"value\":[1,\"+Inf\"]}]"), -EINVAL, "the query gives +Inf");
	assert_refused(VECTOR("[{\"metric\":{},\"value\":[1,\"-Inf\"]}]"), -EINVAL, "the query gives -Inf");
	assert_refused("{\"status\":\"success\",\"data\":{\"resultType\":\"string\",\"result\":[1,\"hello\"]}}",
	               -EINVAL, "the query gives a string");
	assert_refused("{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[]}}", -EINVAL,
	               "range vector");
	assert_refused("{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"1:5: parse error:\\nunexpected\"}",
	               -EINVAL, "Prometheus refused the query (bad_data): 1:5: parse error: unexpected");
	assert_refused("{\"status\":\"error\"}", -EINVAL, "Prometheus refused the query (error): no reason");
}

static void test_malformed(void **state)
{
	static const char *const bodies[] = {
	        "",
	        "not json",
	        "[]",
	        "{}",
	        "{\"status\":1}",
	        "{\"status\":\"maybe\"}",
	        "{\"status\":\"success\"}",
	        "{\"status\":\"success\",\"data\":{}}",
	        "{\"status\":\"success\",\"data\":{\"resultType\":\"tensor\"}}",
	        VECTOR("{}"),
	        VECTOR("[1]"),
	        VECTOR("[{\"metric\":{}}]"),
	        VECTOR("[{\"metric\":{},\"value\":[1]}]"),
	        VECTOR("[{\"metric\":{},\"value\":[1,2]}]"),
	        VECTOR("[{\"metric\":{},\"value\":[1,\"\"]}]"),
	        VECTOR("[{\"metric\":{},\"value\":[1,\"12abc\"]}]"),
	        VECTOR("[{\"metric\":{},\"value\":[1,\"2\",3]}]"),
	        "{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":\"4\"}}",
	};

	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		char error[SCALE_ERROR_MAX] = "";
		double v = -12345;

		if (prom_query_decode(bodies[i], strlen(bodies[i]), &v, error) != -EBADMSG)
			fail_msg("not refused as malformed: %s (%s)", bodies[i], error);
		assert_true(v == -12345);
		assert_non_null(strstr(error, "malformed answer"));
	}
	assert_int_equal(prom_query_decode(NULL, 0, &(double){0}, NULL), -EBADMSG);
}

static void test_size_limit(void **state)
{
	size_t n = PROM_ANSWER_MAX + 1;
	char *big = malloc(n), error[SCALE_ERROR_MAX];

	assert_non_null(big);
	memset(big, ' ', n);
	assert_int_equal(prom_query_decode(big, n, &(double){0}, error), -EBADMSG);
	assert_non_null(strstr(error, "over"));
	free(big);
}

static void test_url(void **state)
{
	char *u = prom_query_url("http://127.0.0.1:9090/", "sum(queue_depth{job=\"a b\"}) / 2");

	assert_string_equal(
	        u, "http://127.0.0.1:9090/api/v1/query?query=sum%28queue_depth%7Bjob%3D%22a%20b%22%7D%29%20%2F%202");
	free(u);
	u = prom_query_url("https://p/prefix", "up+1&x");
	assert_string_equal(u, "https://p/prefix/api/v1/query?query=up%2B1%26x");
	free(u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_one_number), cmocka_unit_test(test_not_one_number),
	        cmocka_unit_test(test_malformed),  cmocka_unit_test(test_size_limit),
	        cmocka_unit_test(test_url),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
