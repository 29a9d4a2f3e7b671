// SPDX-License-Identifier: Apache-2.0
/* fault-proxy: a unix-socket proxy in front of the Docker engine, for the fault tests. It forwards bytes both
 * ways and, as asked, delays every answer chunk, replaces every Nth answer chunk with garbage, or cuts the
 * connection in the middle of every Nth answer chunk. A test tool only: one process, poll(), no HTTP parsing. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONN 512
#define CHUNK    65536

typedef struct Pending {
	struct Pending *next;
	long long release_ms;
	size_t len;
	char data[];
} Pending;

typedef struct Conn {
	int client, upstream;
	Pending *head, *tail; /* answer chunks waiting for their delay */
} Conn;

static struct {
	const char *listen, *upstream;
	long delay_ms;
	unsigned garbage_every, cut_every;
	unsigned long long chunks;
} opt;

static Conn conns[MAX_CONN];
static size_t n_conns;

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static int unix_fd(const char *path, int do_listen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || strlen(path) >= sizeof(sa.sun_path))
		return -1;
	strcpy(sa.sun_path, path);
	if (do_listen) {
		unlink(path);
		if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 128) < 0)
			return close(fd), -1;
	} else if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return close(fd), -1;
	return fd;
}

static void conn_close(size_t i)
{
	Conn *c = &conns[i];
	while (c->head) {
		Pending *p = c->head;
		c->head = p->next;
		free(p);
	}
	close(c->client);
	close(c->upstream);
	conns[i] = conns[--n_conns];
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* An answer chunk arrived from the engine: maybe spoil it, then queue it (delay) or send it. */
static int on_answer(Conn *c, const char *buf, size_t len)
{
	static const char garbage[] =
	        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{\"Id\":[";
	Pending *p;

	opt.chunks++;
	if (opt.garbage_every && opt.chunks % opt.garbage_every == 0) {
		(void)write_all(c->client, garbage, sizeof(garbage) - 1);
		return -1;
	}
	if (opt.cut_every && opt.chunks % opt.cut_every == 0) {
		(void)write_all(c->client, buf, len / 2);
		return -1;
	}
	if (opt.delay_ms <= 0)
		return write_all(c->client, buf, len);
	p = malloc(sizeof(*p) + len);
	if (!p)
		return -1;
	p->next = NULL;
	p->release_ms = now_ms() + opt.delay_ms;
	p->len = len;
	memcpy(p->data, buf, len);
	if (c->tail)
		c->tail->next = p;
	else
		c->head = p;
	c->tail = p;
	return 0;
}

static int flush_due(Conn *c, long long now)
{
	while (c->head && c->head->release_ms <= now) {
		Pending *p = c->head;
		c->head = p->next;
		if (!c->head)
			c->tail = NULL;
		int r = write_all(c->client, p->data, p->len);
		free(p);
		if (r < 0)
			return -1;
	}
	return 0;
}

static int next_timeout(void)
{
	long long soonest = -1, now = now_ms();
	for (size_t i = 0; i < n_conns; i++)
		if (conns[i].head && (soonest < 0 || conns[i].head->release_ms < soonest))
			soonest = conns[i].head->release_ms;
	return soonest < 0 ? -1 : (int)(soonest > now ? soonest - now : 0);
}

static void accept_one(int lfd)
{
	int cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC), ufd;

	if (cfd < 0)
		return;
	ufd = unix_fd(opt.upstream, 0);
	if (ufd < 0 || n_conns == MAX_CONN) {
		close(cfd);
		if (ufd >= 0)
			close(ufd);
		return;
	}
	conns[n_conns++] = (Conn){.client = cfd, .upstream = ufd};
}

/* Returns -1 when the connection is over. */
static int pump(Conn *c, short client_ev, short upstream_ev)
{
	char buf[CHUNK];
	ssize_t n;

	if (client_ev & (POLLIN | POLLHUP)) {
		n = read(c->client, buf, sizeof(buf));
		if (n <= 0 || write_all(c->upstream, buf, (size_t)n) < 0)
			return -1;
	}
	if (upstream_ev & (POLLIN | POLLHUP)) {
		n = read(c->upstream, buf, sizeof(buf));
		if (n <= 0) /* the engine closed: send what is held first */
			return c->head ? (flush_due(c, now_ms() + opt.delay_ms), -1) : -1;
		if (on_answer(c, buf, (size_t)n) < 0)
			return -1;
	}
	return 0;
}

static void loop(int lfd)
{
	struct pollfd pfd[1 + 2 * MAX_CONN];

	for (;;) {
		size_t n = n_conns;
		pfd[0] = (struct pollfd){.fd = lfd, .events = POLLIN};
		for (size_t i = 0; i < n; i++) {
			pfd[1 + 2 * i] = (struct pollfd){.fd = conns[i].client, .events = POLLIN};
			pfd[2 + 2 * i] = (struct pollfd){.fd = conns[i].upstream, .events = POLLIN};
		}
		if (poll(pfd, 1 + 2 * n, next_timeout()) < 0 && errno != EINTR)
			return;
		long long now = now_ms();
		for (size_t i = n; i-- > 0;)
			if (pump(&conns[i], pfd[1 + 2 * i].revents, pfd[2 + 2 * i].revents) < 0 ||
			    flush_due(&conns[i], now) < 0)
				conn_close(i);
		if (pfd[0].revents & POLLIN)
			accept_one(lfd);
	}
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
	        {"listen", required_argument, NULL, 'l'},    {"upstream", required_argument, NULL, 'u'},
	        {"delay-ms", required_argument, NULL, 'd'},  {"garbage-every", required_argument, NULL, 'g'},
	        {"cut-every", required_argument, NULL, 'c'}, {},
	};
	int c, lfd;

	while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
		switch (c) {
		case 'l':
			opt.listen = optarg;
			break;
		case 'u':
			opt.upstream = optarg;
			break;
		case 'd':
			opt.delay_ms = atol(optarg);
			break;
		case 'g':
			opt.garbage_every = (unsigned)atoi(optarg);
			break;
		case 'c':
			opt.cut_every = (unsigned)atoi(optarg);
			break;
		default:
			fprintf(stderr, "usage: fault-proxy --listen PATH --upstream PATH [--delay-ms N] "
			                "[--garbage-every N] [--cut-every N]\n");
			return 2;
		}
	if (!opt.listen || !opt.upstream)
		return fprintf(stderr, "fault-proxy: --listen and --upstream are required\n"), 2;
	signal(SIGPIPE, SIG_IGN);
	lfd = unix_fd(opt.listen, 1);
	if (lfd < 0)
		return perror("fault-proxy: listen"), 1;
	loop(lfd);
	return 1;
}
