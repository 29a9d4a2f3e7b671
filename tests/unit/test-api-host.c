// SPDX-License-Identifier: Apache-2.0
/* Unit tests of the API's Host check (issue 15, DNS rebinding): which Host header values name the agent on a TCP
 * listener (the port must match) and on the unix socket (any port, Host may be absent). */

/* cmocka.h needs these four first; its own block keeps clang-format's include sorting from moving it up. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "force12/api.h"

static const char *const allow[] = {"node1.example.org", "grafana-proxy"};

static bool tcp(const char *host)
{
	return api_host_allowed(host, 5112, allow, 2);
}

static bool unix_socket(const char *host)
{
	return api_host_allowed(host, 0, allow, 2);
}

static void test_tcp(void **state)
{
	assert_true(tcp("127.0.0.1:5112"));
	assert_true(tcp("localhost:5112"));
	assert_true(tcp("LocalHost:5112"));
	assert_true(tcp("[::1]:5112"));
	assert_true(tcp("10.1.2.3:5112")); /* an address literal cannot be rebound */
	assert_true(tcp("node1.example.org:5112"));
	assert_true(tcp("NODE1.example.org:5112"));
	assert_true(tcp("grafana-proxy:5112"));
	/* A rebinding page's own name, another port, no port (80), junk. */
	assert_false(tcp("evil.attacker.example:5112"));
	assert_false(tcp("localhost.evil.example:5112"));
	assert_false(tcp("localhost.:5112"));
	assert_false(tcp("127.0.0.1:5113"));
	assert_false(tcp("127.0.0.1"));
	assert_false(tcp("127.0.0.1:"));
	assert_false(tcp("127.0.0.1:+5112"));
	assert_false(tcp("127.0.0.1:5112x"));
	assert_false(tcp("[::1:5112"));
	assert_false(tcp("::1:5112"));
	assert_false(tcp("127.1:5112"));
	assert_false(tcp(":5112"));
	assert_false(tcp(""));
	assert_false(tcp(NULL));
	assert_true(api_host_allowed("localhost", 80, NULL, 0));
}

static void test_unix_socket(void **state)
{
	assert_true(unix_socket(NULL));
	assert_true(unix_socket("localhost"));
	assert_true(unix_socket("localhost:8080")); /* an SSH tunnel's port */
	assert_true(unix_socket("127.0.0.1:1"));
	assert_true(unix_socket("grafana-proxy"));
	assert_false(unix_socket("evil.attacker.example"));
	assert_false(unix_socket("evil.attacker.example:8080"));
	assert_true(unix_socket("x"));              /* curl --unix-socket ... http://x/ */
	assert_false(unix_socket("agent.example")); /* a dotted name not given with --allow-host */
	assert_false(tcp("x:5112"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_tcp),
	        cmocka_unit_test(test_unix_socket),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
