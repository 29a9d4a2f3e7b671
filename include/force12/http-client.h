// SPDX-License-Identifier: Apache-2.0
/* Asynchronous HTTP requests with libcurl's multi interface, driven by sd-event: no threads, no blocking call.
 * Used for the engine (over its unix socket) and for remote services alike. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "force12/macro.h"

typedef struct HttpClient HttpClient;
typedef struct HttpRequest HttpRequest;

/* Called once when the request is over. error is 0 when an HTTP answer arrived (status is set), else a negative
 * errno: -ETIMEDOUT, -ECONNREFUSED (nothing listens, or the socket is missing), -ECONNRESET (closed
 * mid-answer), -EMSGSIZE (answer over max_response), -EPROTO (not HTTP), -ECANCELED (on_line asked to stop), -EIO
 * (anything else). The request is freed after the callback returns. */
typedef void (*HttpDoneFn)(HttpRequest *req, int error, long status, const char *body, size_t len, void *userdata);

/* For streams of lines (the engine's /events, etcd's watch): called with each complete line, without its '\n'
 * and NUL-terminated; empty lines are skipped. Returns 0 to go on, negative to stop the transfer. */
typedef int (*HttpLineFn)(HttpRequest *req, const char *line, size_t len, void *userdata);

typedef struct HttpRequestSpec {
	const char *method; /* NULL: GET */
	const char *url;
	const char *unix_socket; /* NULL: TCP */
	const char *body;        /* NULL: none */
	size_t body_len;
	const char *const *headers;      /* NULL-terminated "Name: value" lines, or NULL */
	uint64_t timeout_msec;           /* whole transfer; 0: none (streams) */
	size_t max_response;             /* 0: 4 MiB */
	HttpLineFn on_line;              /* streams: each line as it arrives, not the whole body at the end */
	size_t max_line;                 /* on_line: a longer line ends the transfer with -EMSGSIZE; 0: 1 MiB */
	void (*destroy)(void *userdata); /* called instead of done when the request is cancelled */
	/* https: PEM files. ca_file NULL: the system's CAs; cert_file and key_file: a client certificate. */
	const char *ca_file, *cert_file, *key_file;
} HttpRequestSpec;
#define HTTP_REQUEST_SPEC_TLS 1 /* the TLS fields above exist */

int http_client_new(HttpClient **ret, sd_event *event);
/* Cancels every request still running (calling destroy, not done). Accepts NULL; returns NULL. */
HttpClient *http_client_free(HttpClient *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(HttpClient *, http_client_free);

/* Queues a request; done is called later from the event loop, never from inside this call. */
int http_request_start(HttpClient *c, const HttpRequestSpec *spec, HttpDoneFn done, void *userdata, HttpRequest **ret);
/* Stops a request without calling done (destroy is called) and frees it. Accepts NULL. */
void http_request_cancel(HttpRequest *req);
/* A header of the answer (only valid inside the done callback), or NULL. */
const char *http_request_header(HttpRequest *req, const char *name);
/* curl's words on the last failure, for logs. */
const char *http_request_error_text(HttpRequest *req);
/* In done (not for streams): takes the answer's body over (NUL-terminated, *ret_len bytes; the caller frees it), so
 * that a big answer need not be copied. done's body argument must not be used after this. */
char *http_request_steal_body(HttpRequest *req, size_t *ret_len);
/* How many requests are in flight. */
unsigned http_client_in_flight(HttpClient *c);
