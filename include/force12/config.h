// SPDX-License-Identifier: Apache-2.0
/* The agent's configuration: what apps it runs, how many at most, and how it talks to the engine.
 * Parsing is strict (unknown keys, wrong types and out-of-range values are errors that name the key) and
 * pure: nothing here touches the engine or the file system except config_load_file(). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "force12/error.h"
#include "force12/macro.h"
#include "force12/scale-rule.h"

#define CONFIG_MAX_APPS         64
#define CONFIG_APP_NAME_MAX     63
#define CONFIG_MAX_TARGET       1000000
#define CONFIG_MAX_CAPACITY     1000000
#define CONFIG_MAX_STOP_TIMEOUT 3600
#define CONFIG_FILE_MAX         (1024 * 1024)
#define CONFIG_ERROR_MAX        ERROR_TEXT_MAX

typedef struct AppConfig {
	char *name;            /* [A-Za-z0-9][A-Za-z0-9_.-]*, at most CONFIG_APP_NAME_MAX */
	unsigned priority;     /* lower number = more important; ties broken by name */
	char *image;           /* non-empty */
	char **command;        /* NULL-terminated argv, or NULL for the image's own CMD */
	char **env;            /* NULL-terminated "K=V" list, or NULL */
	unsigned stop_timeout; /* seconds, 0..CONFIG_MAX_STOP_TIMEOUT, default 2 */
	char *network_mode;    /* default "none" */
	bool init;        /* run docker's init (tini) as PID 1 so that a non-trapping command still stops on TERM */
	unsigned target;  /* initial target, 0..CONFIG_MAX_TARGET, default 0 */
	unsigned standby; /* warm standby: containers kept paused, ready to resume, 0..CONFIG_MAX_STANDBY */
	ScaleRule *scale; /* "scale": the target follows a Prometheus query (docs/metric-scaling.md), or NULL */
} AppConfig;

typedef struct Config {
	unsigned capacity;        /* 1..CONFIG_MAX_CAPACITY; the most containers running at once */
	unsigned resync_interval; /* seconds between full resyncs with the engine, 1..86400, default 30 */
	unsigned parallel;        /* container operations in flight at once, 1..64, default 8 */
	AppConfig *apps;
	size_t n_apps;
	/* "etcd": {"cacert", "cert", "key", "user", "password_file"}: cluster mode's TLS and auth (the --etcd-* flags
	 * win over them); NULL when not given. */
	char *etcd_cacert, *etcd_cert, *etcd_key, *etcd_user, *etcd_password_file;
} Config;

/* The embedded default of INTERFACE.md: capacity 9, apps priority1 and priority2 running the TERM-trapping demo
 * container. */
int config_new_default(Config **ret);

/* Parses a JSON document. On failure returns -EINVAL and writes a one-line message naming the offending key
 * (e.g. "apps[1].stop_timeout: must be an integer in 0..3600") into error (size CONFIG_ERROR_MAX) when given. */
int config_parse(const char *text, size_t len, Config **ret, ErrorText *error);

/* Reads and parses a file; I/O errors are reported in error as well ("/etc/x.json: No such file or directory"). */
int config_load_file(const char *path, Config **ret, ErrorText *error);

/* Index of the app with this name, or -1. */
int config_find_app(const Config *c, const char *name);

Config *config_free(Config *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(Config *, config_free);
#define _cleanup_config_ _cleanup_(config_freep)

/* True if name is a valid app name. */
bool app_name_is_valid(const char *name);
