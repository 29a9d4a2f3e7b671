// SPDX-License-Identifier: Apache-2.0
/* force12ctl: the command-line client of force12-agent's control API. Parses the command line, finds the agent
 * (flags, then $FORCE12_URL / $FORCE12_SOCKET, then the default socket), runs one command and maps the outcome
 * to the documented exit status. The only place that prints a command's error and exits. */
#include <curl/curl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#include "ctl.h"

enum {
	OPT_PRETTY = 1 << 0, /* get, set */
	OPT_WATCH = 1 << 1,  /* watch: --interval, --count */
};

typedef struct Command {
	const char *name;
	int (*run)(Ctl *ctl, char **args, int n_args);
	int min_args, max_args;
	unsigned options;
	const char *synopsis;
	const char *help;
} Command;

static const Command commands[] = {
        {"status", command_status, 0, 0, 0, "status",
         "Shows the node, its capacity and whether the engine answers, then a table of the apps: priority,\n"
         "target (what was asked), allocated (what the node gives after capacity and priority), running,\n"
         "starting and stopping containers, standby (parked, paused, ready to resume); the last error of a\n"
         "failing app; and the agent's counters.\n"},
        {"get", command_get, 0, 0, OPT_PRETTY, "get [--pretty]",
         "Prints the targets as JSON, as the agent answers them: {\"priority1\":3,\"priority2\":6}\n\n"
         "      --pretty      indent the JSON\n"},
        {"set", command_set, 1, -1, OPT_PRETTY, "set [--pretty] APP=N [APP=N...]",
         "Sets the target count of the named apps and leaves the others alone; prints all targets as the\n"
         "agent answers them. N is a non-negative integer (the agent takes 0..1000000). All or nothing: when\n"
         "the agent refuses one (an unknown app, a count out of range), nothing changes.\n\n"
         "      --pretty      indent the JSON\n"},
        {"containers", command_containers, 0, 0, 0, "containers",
         "Lists the containers the agent owns on this node: ID, NAME, APP, STATE (starting, running,\n"
         "stopping, exited, removing) and when they STARTED (UTC), sorted by app and name.\n"},
        {"watch", command_watch, 0, 0, OPT_WATCH, "watch [--interval SECONDS] [--count N]",
         "Shows the status table and redraws it in place every second until Ctrl-C. When the output is not a\n"
         "terminal, prints one table after the other. Keeps going while the agent is away.\n\n"
         "      --interval SECONDS  between refreshes (default 1; 0.1 to 86400)\n"
         "      --count N           stop after N refreshes; the exit status is the last one's\n"},
        {"metrics", command_metrics, 0, 0, 0, "metrics",
         "Prints the agent's Prometheus metrics (text exposition format) as they are.\n"},
};

typedef struct Args {
	const char *socket_path, *url, *token_file;
	bool help, version, pretty, interval_given, count_given;
	double interval;
	unsigned count;
	const Command *command;
	const char *command_name;
	char **args;
	int n_args;
} Args;

static void help(void)
{
	printf("Usage: force12ctl [--socket PATH | --url URL [--token-file FILE]] COMMAND [ARGS]\n\n"
	       "Asks this host's force12-agent what it runs and sets its targets, through its control API.\n\n"
	       "Commands:\n"
	       "  status                 table of apps: target, allocated, running, starting, stopping, standby\n"
	       "  get                    targets as JSON\n"
	       "  set APP=N [APP=N...]   set targets\n"
	       "  containers             the containers the agent owns\n"
	       "  watch                  live-updating status until Ctrl-C\n"
	       "  metrics                the Prometheus text\n"
	       "  help [COMMAND]         this help, or a command's (also: COMMAND --help)\n\n"
	       "Options:\n"
	       "      --socket PATH      the agent's unix socket (default $FORCE12_SOCKET, else\n"
	       "                         " CTL_DEFAULT_SOCKET ")\n"
	       "      --url URL          the agent's TCP API instead, e.g. http://10.0.0.5:5112 (default\n"
	       "                         $FORCE12_URL, which wins over $FORCE12_SOCKET)\n"
	       "      --token-file FILE  the agent's bearer token for --url: the file's first line\n"
	       "                         (default $FORCE12_TOKEN_FILE)\n"
	       "  -h, --help             show this help\n"
	       "      --version          show the version\n\n"
	       "Exit status: 0 ok, 1 the agent answered with an error, 2 bad usage, 3 the agent is unreachable.\n");
}

static void command_help(const Command *c)
{
	printf("Usage: force12ctl [--socket PATH | --url URL [--token-file FILE]] %s\n\n%s", c->synopsis, c->help);
}

static int usage_error(const char *format, ...) _printf_(1, 2);
static int usage_error(const char *format, ...)
{
	va_list ap;

	fputs("force12ctl: ", stderr);
	va_start(ap, format);
	vfprintf(stderr, format, ap);
	va_end(ap);
	fputs(" (see force12ctl --help)\n", stderr);
	return -EINVAL;
}

static const Command *command_find(const char *name)
{
	for (size_t i = 0; i < ELEMENTSOF(commands); i++)
		if (streq(commands[i].name, name))
			return &commands[i];
	return NULL;
}

static int parse_interval(const char *s, double *ret)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= 0.1 && v <= 86400))
		return usage_error("--interval %s: expected seconds from 0.1 to 86400", s);
	*ret = v;
	return 0;
}

static int parse_positive(const char *s, unsigned *ret)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || s[0] == '+' || v == 0 || v > 1000000000)
		return usage_error("--count %s: expected a positive integer", s);
	*ret = (unsigned)v;
	return 0;
}

enum {
	ARG_SOCKET = 0x100,
	ARG_URL,
	ARG_TOKEN_FILE,
	ARG_PRETTY,
	ARG_INTERVAL,
	ARG_COUNT,
	ARG_VERSION,
};

static int parse_option(Args *args, int c, char **argv)
{
	switch (c) {
	case 'h':
		args->help = true;
		return 0;
	case ARG_VERSION:
		args->version = true;
		return 0;
	case ARG_SOCKET:
		args->socket_path = optarg;
		return 0;
	case ARG_URL:
		args->url = optarg;
		return 0;
	case ARG_TOKEN_FILE:
		args->token_file = optarg;
		return 0;
	case ARG_PRETTY:
		args->pretty = true;
		return 0;
	case ARG_INTERVAL:
		args->interval_given = true;
		return parse_interval(optarg, &args->interval);
	case ARG_COUNT:
		args->count_given = true;
		return parse_positive(optarg, &args->count);
	case ':':
		return usage_error("%s needs an argument", argv[optind - 1]);
	default:
		return usage_error("unknown option %s", argv[optind - 1]);
	}
}

/* Options may come before or after the command (getopt permutes). */
static int parse_options(int argc, char **argv, Args *args)
{
	static const struct option options[] = {
	        {"help", no_argument, NULL, 'h'},
	        {"version", no_argument, NULL, ARG_VERSION},
	        {"socket", required_argument, NULL, ARG_SOCKET},
	        {"url", required_argument, NULL, ARG_URL},
	        {"token-file", required_argument, NULL, ARG_TOKEN_FILE},
	        {"pretty", no_argument, NULL, ARG_PRETTY},
	        {"interval", required_argument, NULL, ARG_INTERVAL},
	        {"count", required_argument, NULL, ARG_COUNT},
	        {},
	};
	int c, r;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", options, NULL)) >= 0) {
		r = parse_option(args, c, argv);
		if (r < 0)
			return r;
	}
	if (optind < argc) {
		args->command_name = argv[optind];
		args->args = argv + optind + 1;
		args->n_args = argc - optind - 1;
	}
	return 0;
}

/* `help [COMMAND]` is --help in another spelling. */
static int resolve_help_command(Args *args)
{
	if (!args->command_name || !streq(args->command_name, "help"))
		return 0;
	args->help = true;
	args->command_name = args->n_args > 0 ? args->args[0] : NULL;
	if (args->n_args > 1)
		return usage_error("help takes one command at most");
	return 0;
}

static int check_command(Args *args)
{
	const Command *c = args->command;

	if (args->n_args < c->min_args)
		return usage_error("%s: missing argument; usage: force12ctl %s", c->name, c->synopsis);
	if (c->max_args >= 0 && args->n_args > c->max_args)
		return usage_error("%s: unexpected argument %s", c->name, args->args[c->max_args]);
	if (args->pretty && !(c->options & OPT_PRETTY))
		return usage_error("--pretty goes with get and set only");
	if ((args->interval_given || args->count_given) && !(c->options & OPT_WATCH))
		return usage_error("--%s goes with watch only", args->interval_given ? "interval" : "count");
	return 0;
}

/* Returns 1 to go on, 0 to exit successfully (help, version), negative on bad usage. */
static int parse_args(int argc, char **argv, Args *args)
{
	int r = parse_options(argc, argv, args);

	if (r >= 0)
		r = resolve_help_command(args);
	if (r < 0)
		return r;
	if (args->command_name && !(args->command = command_find(args->command_name)))
		return usage_error("unknown command %s", args->command_name);
	if (args->version) {
		printf("force12ctl %s\n", FORCE12_VERSION);
		return 0;
	}
	if (args->help) {
		if (args->command)
			command_help(args->command);
		else
			help();
		return 0;
	}
	if (!args->command)
		return usage_error("no command given");
	r = check_command(args);
	return r < 0 ? r : 1;
}

/* A setting from its flag, else from the environment; ret_from names where it came from, for messages. */
static const char *setting(const char *flag_value, const char *flag, const char *variable, const char **ret_from)
{
	const char *v;

	if (flag_value) {
		*ret_from = flag;
		return flag_value;
	}
	v = getenv(variable + 1); /* variable is "$NAME" */
	*ret_from = variable;
	return v && v[0] ? v : NULL;
}

static int endpoint_from_url(Endpoint *e, const char *url, const char *url_from, const char *token_file,
                             const char *token_from)
{
	const char *host = strstr(url, "://");
	size_t n = strlen(url);
	int r;

	/* A host must follow the scheme (strchr() finds the NUL too); a query or fragment would end up before
	 * the API's paths. */
	if ((strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0) || strchr("/?#", host[3]) ||
	    strpbrk(url, "?#"))
		return usage_error("%s %s: expected http://HOST:PORT or https://HOST:PORT", url_from, url);
	while (n > 0 && url[n - 1] == '/')
		n--;
	e->url = strndup(url, n);
	if (!e->url)
		return -ENOMEM;
	if (!token_file)
		return 0;
	r = token_read(token_file, &e->token);
	if (r < 0)
		return usage_error("%s %s: %s", token_from, token_file,
		                   r == -EBADMSG ? "the first line must be the token, without control characters"
		                                 : strerror(-r));
	return 0;
}

/* Flags win over the environment; a URL in the environment wins over a socket there. */
static int endpoint_from_args(const Args *args, Endpoint *e)
{
	const char *url_from, *socket_from, *token_from;
	const char *url = setting(args->url, "--url", "$FORCE12_URL", &url_from);
	const char *socket_path = setting(args->socket_path, "--socket", "$FORCE12_SOCKET", &socket_from);
	const char *token_file = setting(args->token_file, "--token-file", "$FORCE12_TOKEN_FILE", &token_from);
	struct sockaddr_un sa;

	if (args->url && args->socket_path)
		return usage_error("give --socket or --url, not both");
	if (url && !args->socket_path)
		return endpoint_from_url(e, url, url_from, token_file, token_from);
	if (args->token_file)
		return usage_error("--token-file goes with --url only; the unix socket needs no token");
	if (!socket_path)
		socket_path = CTL_DEFAULT_SOCKET;
	if (!socket_path[0] || strlen(socket_path) >= sizeof(sa.sun_path))
		return usage_error("%s %s: not a unix socket path (empty or too long)", socket_from, socket_path);
	e->socket_path = strdup(socket_path);
	return e->socket_path ? 0 : -ENOMEM;
}

static void ctl_done(Ctl *ctl)
{
	client_free(ctl->client);
	endpoint_done(&ctl->endpoint);
}

static int run(const Args *args)
{
	_cleanup_(ctl_done) Ctl ctl = {.pretty = args->pretty, .interval = args->interval, .count = args->count};
	int r;

	r = endpoint_from_args(args, &ctl.endpoint);
	if (r == -ENOMEM)
		fprintf(stderr, "force12ctl: %s\n", strerror(ENOMEM));
	if (r < 0)
		return r == -ENOMEM ? EXIT_AGENT_ERROR : EXIT_USAGE;
	r = client_new(&ctl.client, &ctl.endpoint);
	if (r < 0) {
		fprintf(stderr, "force12ctl: cannot set up libcurl: %s\n", strerror(-r));
		return EXIT_AGENT_ERROR;
	}
	r = args->command->run(&ctl, args->args, args->n_args);
	if (r != 0 && ctl.error[0])
		fprintf(stderr, "force12ctl: %s\n", ctl.error);
	return r;
}

int main(int argc, char **argv)
{
	Args args = {.interval = CTL_INTERVAL_DEFAULT};
	int r;

	r = parse_args(argc, argv, &args);
	if (r <= 0)
		return r < 0 ? EXIT_USAGE : 0;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "force12ctl: cannot initialize libcurl\n");
		return EXIT_AGENT_ERROR;
	}
	r = run(&args);
	curl_global_cleanup();
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "force12ctl: cannot write the output: %s\n", strerror(errno));
		return r ?: EXIT_AGENT_ERROR;
	}
	return r;
}
