// SPDX-License-Identifier: Apache-2.0
/* Logging to journald (structured) or stderr (plain, leveled). Never exits, never blocks on anything but a
 * write to stderr or the journal socket. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>

#include "force12/log.h"

static int max_level = LOG_INFO;
static bool use_journal;
static char node_id[128];

void log_set_max_level(int level)
{
	max_level = level;
}

int log_get_max_level(void)
{
	return max_level;
}

int log_level_from_string(const char *s)
{
	static const struct {
		const char *name;
		int level;
	} table[] = {
	        {"error", LOG_ERR}, {"warning", LOG_WARNING}, {"notice", LOG_NOTICE},
	        {"info", LOG_INFO}, {"debug", LOG_DEBUG},
	};
	for (size_t i = 0; i < ELEMENTSOF(table); i++)
		if (streq(s, table[i].name))
			return table[i].level;
	return -EINVAL;
}

void log_set_node_id(const char *id)
{
	snprintf(node_id, sizeof(node_id), "%s", id ? id : "");
}

/* JOURNAL_STREAM=dev:ino names the stream systemd connected stderr to; only then are we talking to journald. */
static bool stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
		return false;
	if (fstat(STDERR_FILENO, &st) < 0)
		return false;
	return st.st_dev == (dev_t)dev && st.st_ino == (ino_t)ino;
}

void log_open(void)
{
	use_journal = stderr_is_journal();
}

static const char *level_name(int level)
{
	switch (level) {
	case LOG_EMERG:
	case LOG_ALERT:
	case LOG_CRIT:
	case LOG_ERR:
		return "error";
	case LOG_WARNING:
		return "warning";
	case LOG_NOTICE:
		return "notice";
	case LOG_INFO:
		return "info";
	default:
		return "debug";
	}
}

/* One entry with the fields that apply: APP= and CONTAINER_ID= only when there is one. */
static void log_to_journal(int level, const char *app, const char *container, const char *func, const char *msg)
{
	char f[6][1200];
	struct iovec iov[6];
	int n = 0;

	snprintf(f[n++], sizeof(f[0]), "MESSAGE=%s", msg);
	snprintf(f[n++], sizeof(f[0]), "PRIORITY=%i", level);
	snprintf(f[n++], sizeof(f[0]), "SYSLOG_IDENTIFIER=force12-agent");
	snprintf(f[n++], sizeof(f[0]), "NODE_ID=%s", node_id);
	if (app && app[0])
		snprintf(f[n++], sizeof(f[0]), "APP=%s", app);
	if (container && container[0])
		snprintf(f[n++], sizeof(f[0]), "CONTAINER_ID=%s", container);
	for (int i = 0; i < n; i++)
		iov[i] = (struct iovec){.iov_base = f[i], .iov_len = strlen(f[i])};
	/* sd_journal_sendv() adds no CODE_ fields of its own: name the function that logged. */
	(void)sd_journal_sendv_with_location("CODE_FILE=force12-agent", "CODE_LINE=0", func, iov, n);
}

static void log_to_stderr(int level, const char *app, const char *container, const char *msg)
{
	char ctx[160] = "";

	if (app || container)
		snprintf(ctx, sizeof(ctx), "[%s%s%.12s] ", app ? app : "", app && container ? " " : "",
		         container ? container : "");
	fprintf(stderr, "force12-agent: %s: %s%s\n", level_name(level), ctx, msg);
}

int log_internal(int level, int error, const char *app, const char *container, const char *func, const char *format,
                 ...)
{
	char msg[1024];
	va_list ap;

	if (error < 0)
		error = -error;
	if (level > max_level)
		return -error;

	errno = error; /* for %m */
	va_start(ap, format);
	vsnprintf(msg, sizeof(msg), format, ap);
	va_end(ap);

	if (use_journal)
		log_to_journal(level, app, container, func, msg);
	else
		log_to_stderr(level, app, container, msg);
	return -error;
}

bool ratelimit_below(RateLimit *rl, uint64_t now)
{
	if (rl->begin == 0 || now - rl->begin >= rl->interval_usec) {
		if (rl->suppressed > 0)
			log_warning("(suppressed %u similar messages)", rl->suppressed);
		rl->begin = now;
		rl->num = 0;
		rl->suppressed = 0;
	}
	if (rl->num < rl->burst) {
		rl->num++;
		return true;
	}
	rl->suppressed++;
	return false;
}
