// SPDX-License-Identifier: Apache-2.0
/* Fuzzes the control API end to end: each input is sent as raw bytes to a real agent's API server
 * (libmicrohttpd inside the sd-event loop) over its unix socket, and the loop runs until the server has
 * answered or closed. The agent is never connected to an engine, so nothing outside the process is touched.
 * Invariants: no crash or sanitizer finding, an answer is HTTP, and every target stays in 0..1000000. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "force12/agent.h"
#include "force12/api.h"
#include "force12/config.h"
#include "force12/log.h"
#include "fuzz.h"

static sd_event *event;
static Agent *agent;
static Api *api;
static char socket_path[108];

/* The agent's one road for targets, as main.c wires it with --demand api. */
static int submit_targets(const unsigned *targets, const char **ret_owner, void *userdata)
{
	if (targets)
		agent_set_targets(agent, targets);
	return 0;
}

static void setup(void)
{
	Config *config = NULL;
	unsigned targets[CONFIG_MAX_APPS] = {0};
	ErrorText error = {};

	log_set_max_level(LOG_EMERG); /* quiet: the API logs nothing per request anyway */
	snprintf(socket_path, sizeof(socket_path), "/tmp/force12-fuzz-api-%d.sock", (int)getpid());
	CHECK(sd_event_new(&event) >= 0);
	CHECK(config_new_default(&config) == 0);
	AgentOptions ao = {.docker_socket = "/nonexistent/docker.sock", .node_id = "fuzz"};
	CHECK(agent_new(&agent, event, config, targets, &ao) == 0);
	ApiOptions po = {.socket_path = socket_path, .socket_mode = 0600, .submit_targets = submit_targets};
	CHECK(api_new(&api, event, agent, &po, &error) == 0);
}

static int client_connect(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	CHECK(fd >= 0);
	strcpy(sa.sun_path, socket_path);
	CHECK(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 || errno == EAGAIN);
	return fd;
}

/* Sends what it can (the socket buffer may take less than all), then reads until EOF, running the loop. */
static void exchange(int fd, const uint8_t *data, size_t size)
{
	char answer[4096], first[8] = "";
	size_t sent = 0, got = 0;
	int quiet = 0;

	/* At most ~50 ms per input: an incomplete request gets no answer, and that is fine. */
	for (int i = 0; i < 50 && quiet < 3; i++) {
		if (sent < size) {
			ssize_t n = write(fd, data + sent, size - sent);
			if (n > 0)
				sent += (size_t)n;
			if (sent == size)
				shutdown(fd, SHUT_WR);
		} else if (i == 0)
			shutdown(fd, SHUT_WR);
		(void)sd_event_run(event, 1000);
		ssize_t n = read(fd, answer, sizeof(answer));
		if (n == 0 || (n < 0 && errno != EAGAIN))
			break;
		if (n < 0 && got > 0)
			quiet++; /* answered, and nothing more is coming right now */
		if (n > 0) {
			quiet = 0;
			if (got < sizeof(first) - 1)
				memcpy(first + got, answer, MIN((size_t)n, sizeof(first) - 1 - got));
			got += (size_t)n;
		}
	}
	if (got >= 5)
		CHECK(memcmp(first, "HTTP/", 5) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned targets[CONFIG_MAX_APPS];
	int fd;

	if (!event)
		setup();
	fd = client_connect();
	exchange(fd, data, size);
	close(fd);
	/* Let the server notice the close and free the connection. */
	for (int i = 0; i < 3; i++)
		(void)sd_event_run(event, 0);
	agent_get_targets(agent, targets);
	for (size_t i = 0; i < agent_config(agent)->n_apps; i++)
		CHECK(targets[i] <= CONFIG_MAX_TARGET);
	return 0;
}
