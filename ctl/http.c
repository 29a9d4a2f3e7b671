// SPDX-License-Identifier: Apache-2.0
/* force12ctl's HTTP client: one blocking libcurl easy handle, reused so that `watch` keeps its connection.
 * Reaches the agent on its unix socket, or at a URL with a bearer token. Every answer is bounded in size and
 * time, redirects are never followed, and nothing but http(s) is spoken. */
#include <curl/curl.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"

struct Client {
	CURL *curl;
	const Endpoint *endpoint; /* borrowed: outlives the client */
	char errbuf[CURL_ERROR_SIZE];
	char detail[CURL_ERROR_SIZE + 64];
};

typedef struct Buffer {
	char *data;
	size_t size, allocated;
	bool too_large, no_memory;
} Buffer;

void endpoint_done(Endpoint *e)
{
	free(e->socket_path);
	free(e->url);
	if (e->token)
		explicit_bzero(e->token, strlen(e->token));
	free(e->token);
	*e = (Endpoint){};
}

const char *endpoint_name(const Endpoint *e)
{
	return e->socket_path ? e->socket_path : e->url;
}

void reply_done(Reply *r)
{
	free(r->body);
	*r = (Reply){};
}

static void buffer_done(Buffer *b)
{
	free(b->data);
}

/* The token's header is wiped before it is freed. */
static void headers_freep(struct curl_slist **l)
{
	for (struct curl_slist *i = *l; i; i = i->next)
		explicit_bzero(i->data, strlen(i->data));
	curl_slist_free_all(*l);
}

int client_new(Client **ret, const Endpoint *e)
{
	Client *c = calloc(1, sizeof(Client));

	if (!c)
		return -ENOMEM;
	c->curl = curl_easy_init();
	if (!c->curl) {
		free(c);
		return -ENOMEM;
	}
	c->endpoint = e;
	*ret = c;
	return 0;
}

Client *client_free(Client *c)
{
	if (!c)
		return NULL;
	curl_easy_cleanup(c->curl);
	free(c);
	return NULL;
}

const char *client_detail(const Client *c)
{
	return c->detail;
}

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	Buffer *b = userdata;
	size_t n = size * nmemb;

	if (n > CTL_REPLY_MAX - b->size) {
		b->too_large = true;
		return 0;
	}
	if (b->size + n + 1 > b->allocated) {
		size_t want = MAX(b->allocated * 2, b->size + n + 1);
		char *p = realloc(b->data, MIN(want, (size_t)CTL_REPLY_MAX + 1));
		if (!p) {
			b->no_memory = true;
			return 0;
		}
		b->data = p;
		b->allocated = MIN(want, (size_t)CTL_REPLY_MAX + 1);
	}
	memcpy(b->data + b->size, ptr, n);
	b->size += n;
	b->data[b->size] = 0;
	return n;
}

/* `watch` blocks SIGINT and SIGTERM to wait for them; a pending one ends the transfer at once. */
static int on_progress(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	sigset_t pending;

	if (sigpending(&pending) < 0)
		return 0;
	return sigismember(&pending, SIGINT) == 1 || sigismember(&pending, SIGTERM) == 1;
}

static int headers_add(struct curl_slist **l, const char *header)
{
	struct curl_slist *n = curl_slist_append(*l, header);

	if (!n)
		return -ENOMEM;
	*l = n;
	return 0;
}

static int request_headers(const Client *c, bool json_body, struct curl_slist **ret)
{
	_cleanup_(headers_freep) struct curl_slist *l = NULL;
	_cleanup_free_ char *auth = NULL;
	int r;

	if (c->endpoint->token && asprintf(&auth, "Authorization: Bearer %s", c->endpoint->token) < 0)
		return -ENOMEM;
	r = headers_add(&l, "Expect:");
	if (r >= 0 && json_body)
		r = headers_add(&l, "Content-Type: application/json");
	if (r >= 0 && auth)
		r = headers_add(&l, auth);
	if (auth)
		explicit_bzero(auth, strlen(auth));
	if (r < 0)
		return r;
	*ret = TAKE_PTR(l);
	return 0;
}

static CURLcode set_target(Client *c, const char *url)
{
	CURLcode e = curl_easy_setopt(c->curl, CURLOPT_URL, url);

	e = e ?: curl_easy_setopt(c->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	if (c->endpoint->socket_path) {
		e = e ?: curl_easy_setopt(c->curl, CURLOPT_UNIX_SOCKET_PATH, c->endpoint->socket_path);
		/* The socket is local: an http_proxy from the environment must not reroute it. */
		e = e ?: curl_easy_setopt(c->curl, CURLOPT_PROXY, "");
	}
	return e;
}

static CURLcode set_method(Client *c, const char *method, const char *body)
{
	CURLcode e = CURLE_OK;

	if (body) {
		e = curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, body);
		e = e ?: curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
	}
	if (!streq(method, "GET") || body)
		e = e ?: curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, method);
	return e;
}

static CURLcode set_limits(Client *c, Buffer *b)
{
	CURLcode e = curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT, CTL_CONNECT_TIMEOUT);

	e = e ?: curl_easy_setopt(c->curl, CURLOPT_TIMEOUT, CTL_TIMEOUT);
	e = e ?: curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
	e = e ?: curl_easy_setopt(c->curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)CTL_REPLY_MAX);
	e = e ?: curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_data);
	e = e ?: curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, b);
	e = e ?: curl_easy_setopt(c->curl, CURLOPT_NOPROGRESS, 0L);
	e = e ?: curl_easy_setopt(c->curl, CURLOPT_XFERINFOFUNCTION, on_progress);
	e = e ?: curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, c->errbuf);
	e = e ?: curl_easy_setopt(c->curl, CURLOPT_USERAGENT, "force12ctl/" FORCE12_VERSION);
	return e;
}

static void set_detail(Client *c, CURLcode code)
{
	snprintf(c->detail, sizeof(c->detail), "%s", c->errbuf[0] ? c->errbuf : curl_easy_strerror(code));
}

static int request_error(Client *c, CURLcode code, const Buffer *b)
{
	long os_errno = 0;

	set_detail(c, code);
	switch (code) {
	case CURLE_COULDNT_CONNECT:
		(void)curl_easy_getinfo(c->curl, CURLINFO_OS_ERRNO, &os_errno);
		if (os_errno <= 0)
			return -ECONNREFUSED;
		snprintf(c->detail, sizeof(c->detail), "connect: %s", strerror((int)os_errno));
		return -(int)os_errno;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return -EHOSTUNREACH;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_GOT_NOTHING:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_PARTIAL_FILE:
		return -ECONNRESET;
	case CURLE_WRITE_ERROR:
	case CURLE_FILESIZE_EXCEEDED:
		return b->no_memory ? -ENOMEM : -EFBIG;
	case CURLE_ABORTED_BY_CALLBACK:
		return -EINTR;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	case CURLE_URL_MALFORMAT:
		return -EINVAL;
	default:
		return -EIO;
	}
}

bool client_error_is_unreachable(int r)
{
	return r < 0 && r != -EFBIG && r != -ENOMEM && r != -EINTR && r != -EINVAL;
}

int client_request(Client *c, const char *method, const char *path, const char *body, Reply *ret)
{
	_cleanup_(headers_freep) struct curl_slist *headers = NULL;
	_cleanup_(buffer_done) Buffer b = {};
	_cleanup_free_ char *url = NULL;
	const char *base = c->endpoint->socket_path ? "http://localhost" : c->endpoint->url;
	CURLcode e;
	long status = 0;
	int r;

	c->errbuf[0] = c->detail[0] = 0;
	if (asprintf(&url, "%s%s", base, path) < 0)
		return -ENOMEM;
	r = request_headers(c, body != NULL, &headers);
	if (r < 0)
		return r;
	curl_easy_reset(c->curl); /* keeps the connection for the next request */
	e = set_target(c, url);
	e = e ?: set_method(c, method, body);
	e = e ?: set_limits(c, &b);
	e = e ?: curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, headers);
	if (e != CURLE_OK) {
		set_detail(c, e);
		return e == CURLE_OUT_OF_MEMORY ? -ENOMEM : -EIO;
	}
	e = curl_easy_perform(c->curl);
	if (e != CURLE_OK)
		return request_error(c, e, &b);
	(void)curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
	if (!b.data && !(b.data = strdup("")))
		return -ENOMEM;
	*ret = (Reply){.status = status, .body = TAKE_PTR(b.data), .size = b.size};
	return 0;
}

static bool token_is_valid(const char *token)
{
	if (!token[0])
		return false;
	for (const char *p = token; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

/* Like the agent: the token is the file's first line. */
int token_read(const char *path, char **ret)
{
	char buf[CTL_TOKEN_MAX + 1];
	FILE *f = fopen(path, "re");
	char *token = NULL;
	size_t n;
	int r = 0;

	if (!f)
		return -errno;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	if (ferror(f))
		r = errno > 0 ? -errno : -EIO; /* EISDIR, ... */
	fclose(f);
	buf[n] = 0;
	buf[strcspn(buf, "\r\n")] = 0;
	if (r == 0 && !token_is_valid(buf))
		r = -EBADMSG;
	if (r == 0 && !(token = strdup(buf)))
		r = -ENOMEM;
	explicit_bzero(buf, sizeof(buf));
	if (r < 0)
		return r;
	*ret = token;
	return 0;
}
