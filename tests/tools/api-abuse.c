// SPDX-License-Identifier: Apache-2.0
/* api-abuse: misbehaving clients of the control API, for the abuse tests. It opens many connections at once
 * and holds them (idle, or dripping a request one byte at a time, or sending an endless header), until killed
 * or for --seconds. A test tool: one process, non-blocking sockets.
 *
 * It counts only what really happened: a connection is opened when connect() returned 0 (on a unix socket a
 * non-blocking connect either completes at once or fails with EAGAIN when the server's listen backlog is full;
 * those are tried again every round, never counted as opened). "Closed by the server" counts only opened
 * connections on which a read returned end-of-file or a read or write failed with ECONNRESET or EPIPE.
 * It prints "first round: ..." after its first pass, "holding: ..." once nothing is left to connect (the
 * storm is over), and a summary at the end.
 *
 * --tcp ADDR:PORT (IPv4) instead of --socket: a non-blocking connect in progress is polled until it completes
 * (counted as opened then) or fails (tried again). --reconnect: a connection the server closed is opened again,
 * as a determined attacker would, so that the server never gets its slots back. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX(a, b) ((a) > (b) ? (a) : (b))

typedef enum {
	MODE_IDLE,
	MODE_SLOWLORIS,
	MODE_BIG_HEADER
} Mode;

/* Connection slots: not yet connected (try again), connected (an fd), closed by the server, or given up. */
enum {
	SLOT_PENDING = -1,
	SLOT_CLOSED = -2,
	SLOT_FAILED = -3,
};

/* Returns a connected fd, SLOT_PENDING when the backlog is full (try later), or SLOT_FAILED. */
static int connect_unix(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd, saved;

	if (strlen(path) >= sizeof(sa.sun_path))
		return SLOT_FAILED;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return errno == EMFILE || errno == ENFILE ? SLOT_PENDING : SLOT_FAILED;
	strcpy(sa.sun_path, path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return fd;
	saved = errno;
	close(fd);
	return saved == EAGAIN || saved == EINPROGRESS ? SLOT_PENDING : SLOT_FAILED;
}

/* Starts a TCP connect: a connected fd, a connecting one (*connecting set), SLOT_PENDING or SLOT_FAILED. */
static int connect_tcp(const struct sockaddr_in *sa, bool *connecting)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), saved;

	*connecting = false;
	if (fd < 0)
		return errno == EMFILE || errno == ENFILE ? SLOT_PENDING : SLOT_FAILED;
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0)
		return fd;
	if (errno == EINPROGRESS) {
		*connecting = true;
		return fd;
	}
	saved = errno;
	close(fd);
	return saved == EAGAIN || saved == ECONNREFUSED || saved == ETIMEDOUT ? SLOT_PENDING : SLOT_FAILED;
}

/* A connect in progress: 1 done, 0 not yet, -1 failed (the slot tries again). */
static int connect_done(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLOUT};
	int err = 0;
	socklen_t len = sizeof(err);

	if (poll(&p, 1, 0) <= 0)
		return 0;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err != 0)
		return -1;
	return 1;
}

static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static bool server_closed(int err)
{
	return err == ECONNRESET || err == EPIPE || err == ENOTCONN;
}

/* One step of misbehaviour on a connected socket; returns -1 once the server closed it. */
static int step(int fd, Mode mode, size_t *sent)
{
	static const char slow[] =
	        "PUT /v1/targets HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n{\"priority1\": 1";
	char junk[4096];
	ssize_t n = 0;

	if (mode == MODE_SLOWLORIS)
		n = write(fd, slow + (*sent % (sizeof(slow) - 1)), 1);
	else if (mode == MODE_BIG_HEADER) {
		if (*sent == 0)
			n = write(fd, "GET /v1/status HTTP/1.1\r\nHost: x\r\nX-Big: ", 41);
		else {
			memset(junk, 'a', sizeof(junk));
			n = write(fd, junk, sizeof(junk));
		}
	}
	if (n < 0 && server_closed(errno))
		return -1;
	if (n > 0)
		*sent += (size_t)n;
	/* A read of 0 means the server closed: good for it. Drain what it answered (a 431, say) first. */
	do
		n = read(fd, junk, sizeof(junk));
	while (n > 0);
	return n == 0 || (n < 0 && server_closed(errno)) ? -1 : 0;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
	        {"socket", required_argument, NULL, 's'},
	        {"count", required_argument, NULL, 'n'},
	        {"mode", required_argument, NULL, 'm'},
	        {"seconds", required_argument, NULL, 't'},
	        {"tcp", required_argument, NULL, 'T'},
	        {"reconnect", no_argument, NULL, 'r'},
	        {},
	};
	const char *path = NULL, *tcp = NULL;
	bool reconnect = false;
	struct sockaddr_in sin = {.sin_family = AF_INET};
	int count = 100, seconds = 30, c;
	Mode mode = MODE_IDLE;

	while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
		switch (c) {
		case 's':
			path = optarg;
			break;
		case 'n':
			count = atoi(optarg);
			break;
		case 't':
			seconds = atoi(optarg);
			break;
		case 'T':
			tcp = optarg;
			break;
		case 'r':
			reconnect = true;
			break;
		case 'm':
			mode = strcmp(optarg, "slowloris") == 0    ? MODE_SLOWLORIS
			       : strcmp(optarg, "big-header") == 0 ? MODE_BIG_HEADER
			                                           : MODE_IDLE;
			break;
		default:
			return fprintf(stderr, "usage: api-abuse --socket PATH | --tcp ADDR:PORT [--count N] [--mode "
			                       "idle|slowloris|big-header] [--seconds S] [--reconnect]\n"),
			       2;
		}
	if ((!path == !tcp) || count <= 0)
		return fprintf(stderr, "api-abuse: --socket or --tcp, and a positive --count, are required\n"), 2;
	if (tcp) {
		char host[64];
		const char *colon = strrchr(tcp, ':');
		if (!colon || (size_t)(colon - tcp) >= sizeof(host))
			return fprintf(stderr, "api-abuse: --tcp %s: expected ADDR:PORT\n", tcp), 2;
		memcpy(host, tcp, (size_t)(colon - tcp));
		host[colon - tcp] = 0;
		sin.sin_port = htons((uint16_t)atoi(colon + 1));
		if (inet_pton(AF_INET, host, &sin.sin_addr) != 1)
			return fprintf(stderr, "api-abuse: --tcp %s: expected an IPv4 address\n", tcp), 2;
	}
	signal(SIGPIPE, SIG_IGN);
	raise_fd_limit();

	int *fds = calloc((size_t)count, sizeof(int));
	size_t *sent = calloc((size_t)count, sizeof(size_t));
	bool *connecting = calloc((size_t)count, sizeof(bool));
	int opened = 0, open_now = 0, max_open = 0, closed_by_server = 0, failed = 0, first_round = -1, pending;
	bool holding = false;
	time_t start = time(NULL);
	if (!fds || !sent || !connecting)
		return 1;
	for (int i = 0; i < count; i++)
		fds[i] = SLOT_PENDING;
	for (time_t end = time(NULL) + seconds; time(NULL) < end;) {
		/* Connect what is not connected yet: as many as the server lets in. */
		pending = 0;
		for (int i = 0; i < count; i++) {
			if (fds[i] >= 0 && connecting[i]) {
				int d = connect_done(fds[i]);
				if (d < 0) {
					close(fds[i]);
					fds[i] = SLOT_PENDING;
					connecting[i] = false;
				} else if (d > 0) {
					connecting[i] = false;
					opened++;
					open_now++;
				} else
					pending++;
				continue;
			}
			if (fds[i] != SLOT_PENDING)
				continue;
			fds[i] = tcp ? connect_tcp(&sin, &connecting[i]) : connect_unix(path);
			if (fds[i] >= 0 && connecting[i])
				pending++;
			else if (fds[i] >= 0) {
				opened++;
				open_now++;
			} else if (fds[i] == SLOT_FAILED)
				failed++;
			else
				pending++;
		}
		max_open = MAX(max_open, open_now);
		if (first_round < 0) {
			first_round = opened;
			printf("first round: %d of %d connected at once\n", opened, count);
			fflush(stdout);
		}
		/* The storm is over once nothing is left to connect (or after 3 s of trying): say what is held. */
		if (!holding && (pending == 0 || time(NULL) - start >= 3)) {
			holding = true;
			printf("holding: %d open, %d still trying to connect\n", open_now, pending);
			fflush(stdout);
		}
		for (int i = 0; i < count; i++)
			if (fds[i] >= 0 && !connecting[i] && step(fds[i], mode, &sent[i]) < 0) {
				close(fds[i]);
				fds[i] = reconnect ? SLOT_PENDING : SLOT_CLOSED;
				sent[i] = 0;
				open_now--;
				closed_by_server++;
			}
		usleep(mode == MODE_SLOWLORIS ? 500000 : 100000);
	}
	printf("opened %d of %d (%d failed); held at most %d at once; the server closed %d; %d still open\n", opened,
	       count, failed, max_open, closed_by_server, open_now);
	for (int i = 0; i < count; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(fds);
	free(sent);
	free(connecting);
	return 0;
}
