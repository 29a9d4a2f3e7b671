// SPDX-License-Identifier: Apache-2.0
/* Unit tests of the curl glue (http-client.c) against a small HTTP server on a unix socket in the same event loop:
 * stream lines and completions reach their owner from the loop, never from inside curl, so a callback may start
 * a request, cancel its own, or free its client; and every request ends exactly once (done or destroy). */

/* cmocka.h needs these four first; its own block keeps clang-format's include sorting from moving it up. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "force12/http-client.h"
#include "force12/macro.h"

typedef struct Server {
	sd_event *event;
	sd_event_source *listen;
	char dir[64], path[108];
	int fd;
} Server;

/* Answers each connection at once: a chunked stream of two lines for /stream, a small body for anything else. */
static int on_accept(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	static const char stream[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
	                             "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
	                             "2\r\na\n\r\n2\r\nb\n\r\n0\r\n\r\n";
	static const char plain[] = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello";
	char req[4096];
	size_t len = 0;
	int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);

	if (c < 0)
		return 0;
	while (len < sizeof(req) - 1) {
		ssize_t n = read(c, req + len, sizeof(req) - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		req[len] = 0;
		if (strstr(req, "\r\n\r\n"))
			break;
	}
	if (strncmp(req, "GET /stream", 11) == 0)
		assert_int_equal(write(c, stream, sizeof(stream) - 1), (ssize_t)sizeof(stream) - 1);
	else
		assert_int_equal(write(c, plain, sizeof(plain) - 1), (ssize_t)sizeof(plain) - 1);
	close(c);
	return 0;
}

static int setup(void **state)
{
	Server *s = calloc(1, sizeof(Server));
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	assert_non_null(s);
	snprintf(s->dir, sizeof(s->dir), "/tmp/test-http-glue-XXXXXX");
	assert_non_null(mkdtemp(s->dir));
	snprintf(s->path, sizeof(s->path), "%s/sock", s->dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", s->path);
	s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(s->fd >= 0);
	assert_int_equal(bind(s->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(s->fd, 16), 0);
	assert_int_equal(sd_event_new(&s->event), 0);
	assert_int_equal(sd_event_add_io(s->event, &s->listen, s->fd, EPOLLIN, on_accept, s), 0);
	*state = s;
	return 0;
}

static int teardown(void **state)
{
	Server *s = *state;

	sd_event_source_disable_unref(s->listen);
	sd_event_unref(s->event);
	close(s->fd);
	unlink(s->path);
	rmdir(s->dir);
	free(s);
	return 0;
}

typedef struct Probe {
	Server *server;
	HttpClient *client;
	HttpRequest *self, *other;
	unsigned lines, done, destroyed, nested_done;
	int nested_start;
	char data[64];
	bool cancel_self, free_client, start_nested;
} Probe;

static void run_until(Server *s, const unsigned *counter, unsigned want)
{
	for (int i = 0; i < 2000 && *counter < want; i++)
		assert_true(sd_event_run(s->event, 10 * 1000) >= 0);
	assert_int_equal(*counter, want);
}

static void on_nested_done(HttpRequest *req, int error, long status, const char *body, size_t len, void *userdata)
{
	Probe *p = userdata;

	assert_int_equal(error, 0);
	assert_int_equal(status, 200);
	p->nested_done++;
}

static void on_destroy(void *userdata)
{
	((Probe *)userdata)->destroyed++;
}

static int start(Probe *p, const char *path, HttpLineFn on_line, HttpDoneFn done, HttpRequest **ret)
{
	char url[128];

	snprintf(url, sizeof(url), "http://localhost%s", path);
	HttpRequestSpec spec = {
	        .url = url,
	        .unix_socket = p->server->path,
	        .timeout_msec = 5000,
	        .on_line = on_line,
	        .destroy = on_destroy,
	};
	return http_request_start(p->client, &spec, done, p, ret);
}

static int on_line(HttpRequest *req, const char *line, size_t len, void *userdata)
{
	Probe *p = userdata;

	p->lines++;
	assert_int_equal(strlen(line), len);
	strncat(p->data, line, sizeof(p->data) - strlen(p->data) - 2);
	strcat(p->data, "\n");
	if (p->start_nested && p->nested_start == 1) /* not yet tried */
		p->nested_start = start(p, "/plain", NULL, on_nested_done, NULL);
	if (p->cancel_self) {
		http_request_cancel(req);
		return 0;
	}
	return 0;
}

static void on_done(HttpRequest *req, int error, long status, const char *body, size_t len, void *userdata)
{
	Probe *p = userdata;

	assert_int_equal(error, 0);
	assert_int_equal(status, 200);
	p->done++;
	if (p->free_client)
		p->client = http_client_free(p->client);
}

/* A stream's line arrives from the loop: curl accepts a new request from inside the line callback (inside
 * curl's own write callback it refuses any multi call: CURLM_RECURSIVE_API_CALL). */
static void test_line_callback_may_start_a_request(void **state)
{
	Probe p = {.server = *state, .start_nested = true, .nested_start = 1};

	assert_int_equal(http_client_new(&p.client, p.server->event), 0);
	assert_int_equal(start(&p, "/stream", on_line, on_done, NULL), 0);
	run_until(p.server, &p.done, 1);
	assert_int_equal(p.nested_start, 0);
	run_until(p.server, &p.nested_done, 1);
	assert_string_equal(p.data, "a\nb\n");
	assert_true(p.lines >= 1);
	assert_int_equal(p.destroyed, 0);
	http_client_free(p.client);
}

static void test_line_callback_may_cancel_its_own_request(void **state)
{
	Probe p = {.server = *state, .cancel_self = true};

	assert_int_equal(http_client_new(&p.client, p.server->event), 0);
	assert_int_equal(start(&p, "/stream", on_line, on_done, NULL), 0);
	run_until(p.server, &p.destroyed, 1);
	for (int i = 0; i < 20; i++)
		(void)sd_event_run(p.server->event, 1000);
	assert_int_equal(p.done, 0);
	assert_int_equal(p.lines, 1);
	assert_int_equal(http_client_in_flight(p.client), 0);
	http_client_free(p.client);
}

/* A done callback frees its client while another request of it is still queued: that one ends with destroy. */
static void test_done_may_free_the_client(void **state)
{
	Probe p = {.server = *state, .free_client = true};

	assert_int_equal(http_client_new(&p.client, p.server->event), 0);
	assert_int_equal(start(&p, "/plain", NULL, on_done, NULL), 0);
	assert_int_equal(start(&p, "/plain", NULL, on_done, NULL), 0);
	run_until(p.server, &p.done, 1);
	for (int i = 0; i < 20; i++)
		(void)sd_event_run(p.server->event, 1000);
	assert_null(p.client);
	assert_int_equal(p.done + p.destroyed, 2);
}

/* Two clients on one loop (the engine and etcd, say): each frees only its own requests. */
static void test_clients_share_the_loop_and_keep_their_requests(void **state)
{
	Probe a = {.server = *state}, b = {.server = *state};

	assert_int_equal(http_client_new(&a.client, a.server->event), 0);
	assert_int_equal(http_client_new(&b.client, b.server->event), 0);
	assert_int_equal(start(&a, "/plain", NULL, on_done, NULL), 0);
	assert_int_equal(start(&b, "/plain", NULL, on_done, NULL), 0);
	http_client_free(a.client);
	assert_int_equal(a.destroyed, 1);
	run_until(b.server, &b.done, 1);
	assert_int_equal(a.done, 0);
	http_client_free(b.client);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_line_callback_may_start_a_request, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_line_callback_may_cancel_its_own_request, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_done_may_free_the_client, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_clients_share_the_loop_and_keep_their_requests, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
