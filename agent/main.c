// SPDX-License-Identifier: Apache-2.0
/* force12-agent: parses the command line, loads the config, wires the agent, its demand source and its
 * control API into one sd-event loop, and speaks to systemd. The only place that exits. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "force12/agent.h"
#include "force12/api.h"
#include "force12/cluster.h"
#include "force12/demand.h"
#include "force12/log.h"
#include "force12/metrics.h"
#include "force12/state.h"
#include "force12/targets.h"

/* FORCE12_VERSION comes from the VERSION file, through the Makefile. */
#define DEFAULT_CONFIG     "/etc/force12/agent.json"
#define DEFAULT_API_SOCKET "/run/force12/agent.sock"
#define DEFAULT_STATE_DIR  "/var/lib/force12"
#define MAX_TARGET_FLAGS   CONFIG_MAX_APPS
#define MAX_ALLOW_HOSTS    16

typedef struct Args {
	const char *config_path;
	bool config_given;
	char docker_socket[4096];
	bool docker_socket_given;
	const char *api_socket, *api_group, *listen, *token_file, *state_dir, *demand;
	const char *etcd_cacert, *etcd_cert, *etcd_key, *etcd_user, *etcd_password_file;
	char node_id[256];
	unsigned capacity;                   /* 0: from the config */
	unsigned demand_interval, lease_ttl; /* 0: the sources' defaults */
	const char *targets[MAX_TARGET_FLAGS];
	size_t n_targets;
	const char *allow_hosts[MAX_ALLOW_HOSTS];
	size_t n_allow_hosts;
} Args;

typedef struct Main {
	Args *args;
	sd_event *event;
	Agent *agent;
	Demand *demand;
	Api *api;
} Main;

static void help(void)
{
	printf("Usage: force12-agent [OPTIONS]\n\n"
	       "Keeps this Docker host at the target container counts of its apps, talking to the engine\n"
	       "directly over its socket. Stops are SIGTERM-aware and stopped containers are removed at once.\n\n"
	       "  -c, --config FILE        JSON config (default: " DEFAULT_CONFIG " if it exists,\n"
	       "                           else the embedded default: capacity 9, apps priority1 and priority2)\n"
	       "      --docker-socket PATH engine socket (default: $DOCKER_HOST when unix://..., else\n"
	       "                           /var/run/docker.sock)\n"
	       "      --api-socket PATH    control API unix socket (default " DEFAULT_API_SOCKET ";\n"
	       "                           a socket passed by systemd wins)\n"
	       "      --api-group GROUP    group of the API socket (mode 0660)\n"
	       "      --listen ADDR:PORT   also serve the control API over TCP (off by default)\n"
	       "      --token-file FILE    bearer token for TCP requests; required unless ADDR is loopback\n"
	       "                           (without it TCP is read-only; a browser logs in with /?token=)\n"
	       "      --allow-host NAME    a name the Host header may carry besides localhost and IP\n"
	       "                           addresses (repeatable; others are refused: no DNS rebinding)\n"
	       "      --node-id ID         this node's id (default: /etc/machine-id, else the hostname)\n"
	       "      --capacity N         the most containers this agent keeps running at once\n"
	       "      --target APP=N       initial target count of an app (repeatable)\n"
	       "      --state-dir DIR      where the last targets are kept across restarts\n"
	       "                           (default " DEFAULT_STATE_DIR ")\n"
	       "      --demand SOURCE      where targets come from: api (default), random[:SEED],\n"
	       "                           file:PATH (JSON like PUT /v1/targets, read again when it changes),\n"
	       "                           http://URL (polled, with If-None-Match), or\n"
	       "                           etcd://[https://]HOST:PORT[,...] (cluster mode: this node's share of\n"
	       "                           the totals in /force12/targets)\n"
	       "      --demand-interval S  seconds between polls of an http:// source (default 5)\n"
	       "      --lease-ttl S        cluster mode: TTL of this node's registration (default 10)\n"
	       "      --etcd-cacert FILE   cluster mode: CA certificate (PEM) that signed etcd's certificate\n"
	       "      --etcd-cert FILE     cluster mode: client certificate (PEM) for etcd, with --etcd-key\n"
	       "      --etcd-key FILE      cluster mode: the client certificate's private key (PEM)\n"
	       "      --etcd-user USER     cluster mode: etcd user, with --etcd-password-file\n"
	       "      --etcd-password-file FILE  cluster mode: the etcd user's password (first line)\n"
	       "      --log-level LEVEL    error | warning | info | debug (default info)\n"
	       "  -h, --help               show this help\n"
	       "      --version            show the version\n\n"
	       "Targets at start: --target flags first, then the state dir, then the config file.\n"
	       "Signals: TERM and INT stop the agent and leave its containers running; HUP reloads the config.\n"
	       "Exit status: 0 clean stop, 1 runtime failure, 2 bad usage or bad config (nothing was started).\n");
}

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "force12-agent: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, " (see --help)\n");
	return -EINVAL;
}

static int parse_uint(const char *s, unsigned max, unsigned *ret)
{
	char *end;

	if (!s[0] || s[0] == '-' || s[0] == '+')
		return -EINVAL;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || *end || v > max)
		return -EINVAL;
	*ret = (unsigned)v;
	return 0;
}

static void default_node_id(char *buf, size_t size)
{
	FILE *f = fopen("/etc/machine-id", "re");

	buf[0] = 0;
	if (f) {
		if (fgets(buf, (int)size, f))
			buf[strcspn(buf, "\n")] = 0;
		fclose(f);
	}
	if (!buf[0] && gethostname(buf, size) < 0)
		snprintf(buf, size, "localhost");
}

#define DOCKER_SOCKET "/var/run/docker.sock"
#define PODMAN_SOCKET "/run/podman/podman.sock"

static void default_docker_socket(char *buf, size_t size)
{
	const char *h = getenv("DOCKER_HOST");

	if (h && strncmp(h, "unix://", 7) == 0)
		snprintf(buf, size, "%s", h + 7);
	else
		snprintf(buf, size, DOCKER_SOCKET);
}

/* The engine is found, not assumed: with no --docker-socket and no unix:// $DOCKER_HOST, a host with no Docker
 * socket but Podman's (podman.socket, as Fedora CoreOS ships it) uses Podman's Docker-compatible API. Decided
 * once at start: a Docker socket that appears later is not switched to. */
static void find_engine(Args *args)
{
	const char *h = getenv("DOCKER_HOST");

	if (args->docker_socket_given || (h && strncmp(h, "unix://", 7) == 0))
		return;
	if (access(DOCKER_SOCKET, F_OK) < 0 && access(PODMAN_SOCKET, F_OK) == 0) {
		snprintf(args->docker_socket, sizeof(args->docker_socket), PODMAN_SOCKET);
		log_info("No %s; using Podman's Docker-compatible API at %s", DOCKER_SOCKET, PODMAN_SOCKET);
	}
}

static bool node_id_is_valid(const char *id)
{
	size_t n = strlen(id);

	return n > 0 && n < 200 && strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

enum {
	ARG_DOCKER_SOCKET = 0x100,
	ARG_API_SOCKET,
	ARG_API_GROUP,
	ARG_LISTEN,
	ARG_TOKEN_FILE,
	ARG_ALLOW_HOST,
	ARG_NODE_ID,
	ARG_CAPACITY,
	ARG_TARGET,
	ARG_STATE_DIR,
	ARG_DEMAND,
	ARG_DEMAND_INTERVAL,
	ARG_LEASE_TTL,
	ARG_ETCD_CACERT,
	ARG_ETCD_CERT,
	ARG_ETCD_KEY,
	ARG_ETCD_USER,
	ARG_ETCD_PASSWORD_FILE,
	ARG_LOG_LEVEL,
	ARG_VERSION,
};

static int parse_option(Args *args, int c)
{
	int level;

	switch (c) {
	case 'c':
		args->config_path = optarg;
		args->config_given = true;
		return 0;
	case ARG_DOCKER_SOCKET:
		snprintf(args->docker_socket, sizeof(args->docker_socket), "%s", optarg);
		args->docker_socket_given = true;
		return 0;
	case ARG_API_SOCKET:
		args->api_socket = optarg;
		return 0;
	case ARG_API_GROUP:
		args->api_group = optarg;
		return 0;
	case ARG_LISTEN:
		args->listen = optarg;
		return 0;
	case ARG_TOKEN_FILE:
		args->token_file = optarg;
		return 0;
	case ARG_ALLOW_HOST:
		if (args->n_allow_hosts == MAX_ALLOW_HOSTS)
			return usage_error("--allow-host %s: at most 16 names", optarg);
		args->allow_hosts[args->n_allow_hosts++] = optarg;
		return 0;
	case ARG_NODE_ID:
		if (!node_id_is_valid(optarg))
			return usage_error("--node-id %s: use letters, digits, '_', '.' and '-'", optarg);
		snprintf(args->node_id, sizeof(args->node_id), "%s", optarg);
		return 0;
	case ARG_CAPACITY:
		if (parse_uint(optarg, CONFIG_MAX_CAPACITY, &args->capacity) < 0 || args->capacity == 0)
			return usage_error("--capacity %s: must be an integer in 1..1000000", optarg);
		return 0;
	case ARG_TARGET:
		if (args->n_targets == MAX_TARGET_FLAGS)
			return usage_error("--target %s: too many --target flags", optarg);
		args->targets[args->n_targets++] = optarg;
		return 0;
	case ARG_STATE_DIR:
		args->state_dir = optarg;
		return 0;
	case ARG_DEMAND:
		args->demand = optarg;
		return 0;
	case ARG_DEMAND_INTERVAL:
		if (parse_uint(optarg, 86400, &args->demand_interval) < 0 || args->demand_interval == 0)
			return usage_error("--demand-interval %s: must be a number of seconds in 1..86400", optarg);
		return 0;
	case ARG_LEASE_TTL:
		if (parse_uint(optarg, 3600, &args->lease_ttl) < 0 || args->lease_ttl < 2)
			return usage_error("--lease-ttl %s: must be a number of seconds in 2..3600", optarg);
		return 0;
	case ARG_ETCD_CACERT:
		args->etcd_cacert = optarg;
		return 0;
	case ARG_ETCD_CERT:
		args->etcd_cert = optarg;
		return 0;
	case ARG_ETCD_KEY:
		args->etcd_key = optarg;
		return 0;
	case ARG_ETCD_USER:
		args->etcd_user = optarg;
		return 0;
	case ARG_ETCD_PASSWORD_FILE:
		args->etcd_password_file = optarg;
		return 0;
	case ARG_LOG_LEVEL:
		level = log_level_from_string(optarg);
		if (level < 0)
			return usage_error("--log-level %s: expected error, warning, info or debug", optarg);
		log_set_max_level(level);
		return 0;
	default:
		return -EINVAL;
	}
}

/* Returns 1 to go on, 0 to exit successfully (help, version), negative on bad usage. */
static int parse_args(int argc, char **argv, Args *args)
{
	static const struct option options[] = {
	        {"config", required_argument, NULL, 'c'},
	        {"docker-socket", required_argument, NULL, ARG_DOCKER_SOCKET},
	        {"api-socket", required_argument, NULL, ARG_API_SOCKET},
	        {"api-group", required_argument, NULL, ARG_API_GROUP},
	        {"listen", required_argument, NULL, ARG_LISTEN},
	        {"token-file", required_argument, NULL, ARG_TOKEN_FILE},
	        {"allow-host", required_argument, NULL, ARG_ALLOW_HOST},
	        {"node-id", required_argument, NULL, ARG_NODE_ID},
	        {"capacity", required_argument, NULL, ARG_CAPACITY},
	        {"target", required_argument, NULL, ARG_TARGET},
	        {"state-dir", required_argument, NULL, ARG_STATE_DIR},
	        {"demand", required_argument, NULL, ARG_DEMAND},
	        {"demand-interval", required_argument, NULL, ARG_DEMAND_INTERVAL},
	        {"lease-ttl", required_argument, NULL, ARG_LEASE_TTL},
	        {"etcd-cacert", required_argument, NULL, ARG_ETCD_CACERT},
	        {"etcd-cert", required_argument, NULL, ARG_ETCD_CERT},
	        {"etcd-key", required_argument, NULL, ARG_ETCD_KEY},
	        {"etcd-user", required_argument, NULL, ARG_ETCD_USER},
	        {"etcd-password-file", required_argument, NULL, ARG_ETCD_PASSWORD_FILE},
	        {"log-level", required_argument, NULL, ARG_LOG_LEVEL},
	        {"help", no_argument, NULL, 'h'},
	        {"version", no_argument, NULL, ARG_VERSION},
	        {},
	};
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":c:h", options, NULL)) >= 0) {
		if (c == 'h')
			return help(), 0;
		if (c == ARG_VERSION)
			return puts("force12-agent " FORCE12_VERSION), 0;
		if (c == '?')
			return usage_error("unknown option %s", argv[optind - 1]);
		if (c == ':')
			return usage_error("option %s needs a value", argv[optind - 1]);
		if (parse_option(args, c) < 0)
			return -EINVAL;
	}
	if (optind < argc)
		return usage_error("unexpected argument \"%s\"", argv[optind]);
	return 1;
}

static int load_config(Args *args, Config **ret)
{
	ErrorText error = {};
	int r;

	if (!args->config_given && access(DEFAULT_CONFIG, F_OK) == 0)
		args->config_path = DEFAULT_CONFIG;
	if (!args->config_path)
		return config_new_default(ret);
	r = config_load_file(args->config_path, ret, &error);
	if (r < 0)
		fprintf(stderr, "force12-agent: bad config: %s\n", error.text);
	return r;
}

/* The targets of every source but the random walk are kept in the state dir: a restarted agent resumes them until
 * its source speaks again (an etcd or http source answers only later, and the containers must not flap meanwhile). */
static bool demand_keeps_targets(const char *spec)
{
	return !streq(spec, "random") && strncmp(spec, "random:", 7) != 0;
}

/* Targets at start: the config, overlaid by the state dir, overlaid by --target flags. */
static int initial_targets(Args *args, const Config *config, bool use_state, unsigned *targets)
{
	ErrorText error = {};
	int r;

	for (size_t i = 0; i < config->n_apps; i++)
		targets[i] = config->apps[i].target;
	if (use_state) {
		r = state_load_targets(args->state_dir, config, targets, &error);
		if (r > 0)
			log_info("Resuming the targets kept in %s", args->state_dir);
		else if (r == -EBADMSG)
			log_warning("State file in %s is corrupt (%s); set aside as targets.json.corrupt, ignoring",
			            args->state_dir, error.text);
		else if (r < 0)
			log_warning_errno(r, "Failed to read the targets kept in %s: %m, ignoring", args->state_dir);
	}
	for (size_t i = 0; i < args->n_targets; i++) {
		const char *eq = strchr(args->targets[i], '=');
		char app[CONFIG_APP_NAME_MAX + 1];
		unsigned n;
		int idx;

		if (!eq || (size_t)(eq - args->targets[i]) > CONFIG_APP_NAME_MAX)
			return usage_error("--target %s: expected APP=N", args->targets[i]);
		snprintf(app, sizeof(app), "%.*s", (int)(eq - args->targets[i]), args->targets[i]);
		idx = config_find_app(config, app);
		if (idx < 0)
			return usage_error("--target %s: no such app in the config", args->targets[i]);
		if (parse_uint(eq + 1, CONFIG_MAX_TARGET, &n) < 0)
			return usage_error("--target %s: N must be an integer in 0..1000000", args->targets[i]);
		targets[idx] = n;
	}
	return 0;
}

static int read_token(const char *path, char **ret)
{
	char buf[4096];
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f)
		return -errno;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	buf[strcspn(buf, "\r\n")] = 0;
	if (strlen(buf) < 16)
		return -EBADMSG;
	*ret = strdup(buf);
	explicit_bzero(buf, sizeof(buf));
	return *ret ? 0 : -ENOMEM;
}

static void on_demand(const unsigned *targets, void *userdata);

static int new_demand(Main *m, Demand **ret, ErrorText *error)
{
	const Config *config = agent_config(m->agent);
	/* The --etcd-* flags win over the config's "etcd" keys. */
	DemandOptions o = {
	        .node_id = m->args->node_id,
	        .interval = m->args->demand_interval,
	        .lease_ttl = m->args->lease_ttl,
	        .etcd_cacert = m->args->etcd_cacert ?: config->etcd_cacert,
	        .etcd_cert = m->args->etcd_cert ?: config->etcd_cert,
	        .etcd_key = m->args->etcd_key ?: config->etcd_key,
	        .etcd_user = m->args->etcd_user ?: config->etcd_user,
	        .etcd_password_file = m->args->etcd_password_file ?: config->etcd_password_file,
	};

	return demand_new_with_options(ret, m->event, m->args->demand, agent_config(m->agent), &o, on_demand, m, error);
}

static void on_status(cJSON *status, void *userdata)
{
	demand_status_json(((Main *)userdata)->demand, status);
}

static void on_metrics(FILE *f, void *userdata)
{
	demand_write_metrics(((Main *)userdata)->demand, f);
}

static bool on_cluster(ClusterStatus *ret, void *userdata)
{
	return demand_cluster_status(((Main *)userdata)->demand, ret) >= 0;
}

static const char *on_health(void *userdata)
{
	return demand_health_note(((Main *)userdata)->demand);
}

/* The one road of targets into the agent, from every source (the control API's through demand_submit()). */
static void on_demand(const unsigned *targets, void *userdata)
{
	Main *m = userdata;

	agent_set_targets(m->agent, targets);
}

static int on_submit_targets(const unsigned *targets, const char **ret_owner, void *userdata)
{
	Main *m = userdata;
	int r = demand_submit(m->demand, targets);

	if (r < 0)
		*ret_owner = demand_owner(m->demand, targets);
	return r;
}

static int on_exit_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	Main *m = userdata;

	log_info("Received SIG%s; stopping, leaving the containers running", sigabbrev_np((int)si->ssi_signo));
	(void)sd_notify(false, "STOPPING=1");
	return sd_event_exit(m->event, 0);
}

static void reload(Main *m)
{
	Config *config = NULL;
	ErrorText error = {};
	Demand *demand = NULL;
	int r;

	if (!m->args->config_path) {
		log_info("Reload asked for, but the agent runs on the embedded default: nothing to reload");
		return;
	}
	r = config_load_file(m->args->config_path, &config, &error);
	if (r < 0) {
		log_error("Failed to reload: %s; keeping the running config", error.text);
		return;
	}
	if (m->args->capacity)
		config->capacity = m->args->capacity;
	/* The demand source holds the old config: replace it after the agent switched over. */
	m->demand = demand_free(m->demand);
	agent_reload(m->agent, config);
	r = new_demand(m, &demand, &error);
	if (r < 0) {
		/* Never leave the node with no source at all: the control API takes the targets meanwhile. */
		log_error("Failed to restart the demand source: %s; the control API sets the targets until the next "
		          "reload",
		          error.text);
		r = demand_new(&demand, m->event, "api", agent_config(m->agent), on_demand, m, &error);
		if (r < 0)
			log_error_errno(r, "Failed to fall back to the control API as the demand source: %m");
	}
	m->demand = demand;
}

static int on_hup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	Main *m = userdata;
	uint64_t now;

	(void)sd_event_now(m->event, CLOCK_MONOTONIC, &now);
	(void)sd_notifyf(false, "RELOADING=1\nMONOTONIC_USEC=%llu", (unsigned long long)now);
	reload(m);
	(void)sd_notify(false, "READY=1");
	return 0;
}

/* The API may hold up to 2048 client connections besides the engine's: lift the soft fd limit. */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= 4096)
		return;
	rl.rlim_cur = MIN(rl.rlim_max, (rlim_t)4096);
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		log_warning_errno(-errno, "Failed to raise the open file limit: %m, ignoring");
}

static int setup_event(Main *m)
{
	sigset_t mask;
	int r;

	raise_fd_limit();
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return -errno;
	signal(SIGPIPE, SIG_IGN);
	r = sd_event_default(&m->event);
	if (r < 0)
		return r;
	if ((r = sd_event_add_signal(m->event, NULL, SIGTERM, on_exit_signal, m)) < 0 ||
	    (r = sd_event_add_signal(m->event, NULL, SIGINT, on_exit_signal, m)) < 0 ||
	    (r = sd_event_add_signal(m->event, NULL, SIGHUP, on_hup, m)) < 0)
		return r;
	return sd_event_set_watchdog(m->event, true);
}

/* Returns the exit status. */
static int run(Args *args)
{
	_cleanup_config_ Config *config = NULL;
	_cleanup_free_ char *token = NULL;
	unsigned targets[CONFIG_MAX_APPS];
	ErrorText error = {};
	Main m = {.args = args};
	int r, status = 1;

	if (load_config(args, &config) < 0)
		return 2;
	if (args->capacity)
		config->capacity = args->capacity;
	if (args->token_file && (r = read_token(args->token_file, &token)) < 0) {
		fprintf(stderr, "force12-agent: --token-file %s: %s\n", args->token_file,
		        r == -EBADMSG ? "the token must be at least 16 characters" : strerror(-r));
		return 2;
	}
	if (initial_targets(args, config, demand_keeps_targets(args->demand), targets) < 0)
		return 2;
	log_set_node_id(args->node_id);
	r = setup_event(&m);
	if (r < 0) {
		log_error_errno(r, "Failed to set up the event loop: %m");
		goto out;
	}
	AgentOptions ao = {
	        .docker_socket = args->docker_socket,
	        .node_id = args->node_id,
	        .state_dir = args->state_dir,
	        .persist_targets = demand_keeps_targets(args->demand),
	        .notify = true,
	};
	r = agent_new(&m.agent, m.event, TAKE_PTR(config), targets, &ao);
	if (r < 0) {
		log_error_errno(r, "Failed to set up the agent: %m");
		goto out;
	}
	r = new_demand(&m, &m.demand, &error);
	if (r < 0) {
		fprintf(stderr, "force12-agent: %s\n", error.text);
		status = 2;
		goto out;
	}
	ApiOptions po = {
	        .socket_path = args->api_socket,
	        .socket_mode = 0660,
	        .socket_group = args->api_group,
	        .listen = args->listen,
	        .token = token,
	        .allow_hosts = args->allow_hosts,
	        .n_allow_hosts = args->n_allow_hosts,
	        .submit_targets = on_submit_targets,
	        .cluster_hook = on_cluster,
	        .status_hook = on_status,
	        .health_hook = on_health,
	        .hook_userdata = &m,
	};
	r = api_new(&m.api, m.event, m.agent, &po, &error);
	if (r < 0) {
		fprintf(stderr, "force12-agent: %s\n", error.text);
		status = r == -EPERM || r == -EINVAL ? 2 : 1;
		goto out;
	}
	metrics_set_extra(on_metrics, &m);
	r = agent_start(m.agent);
	if (r < 0) {
		log_error_errno(r, "Failed to start: %m");
		goto out;
	}
	r = sd_event_loop(m.event);
	status = r < 0 ? (log_error_errno(r, "Event loop failed: %m"), 1) : 0;
out:
	metrics_set_extra(NULL, NULL);
	api_free(m.api);
	demand_free(m.demand);
	agent_free(m.agent);
	sd_event_unref(m.event);
	return status;
}

int main(int argc, char **argv)
{
	Args args = {.api_socket = DEFAULT_API_SOCKET, .state_dir = DEFAULT_STATE_DIR, .demand = "api"};
	int r;

	log_open();
	default_docker_socket(args.docker_socket, sizeof(args.docker_socket));
	r = parse_args(argc, argv, &args);
	if (r <= 0)
		return r < 0 ? 2 : 0;
	if (!args.node_id[0])
		default_node_id(args.node_id, sizeof(args.node_id));
	find_engine(&args);
	return run(&args);
}
