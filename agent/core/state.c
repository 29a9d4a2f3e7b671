// SPDX-License-Identifier: Apache-2.0
/* Keeps the run-time targets in the state dir. A write is all or nothing: readers see the old file or the new
 * one, never a torn one. Never fatal: the caller decides what a failure means. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "force12/state.h"
#include "force12/targets.h"

#define STATE_FILE "targets.json"

static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static int fsync_dir(const char *dir)
{
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || fsync(fd) < 0)
		return -errno;
	return 0;
}

int state_save_targets(const char *dir, const Config *config, const unsigned *targets)
{
	_cleanup_free_ char *text = targets_format(config, targets);
	char path[4096], tmp[4096];
	_cleanup_close_ int fd = -1;
	int r;

	if (!text)
		return -ENOMEM;
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	snprintf(path, sizeof(path), "%s/" STATE_FILE, dir);
	snprintf(tmp, sizeof(tmp), "%s/." STATE_FILE ".%d", dir, (int)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	r = write_all(fd, text, strlen(text));
	if (r == 0)
		r = write_all(fd, "\n", 1);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0) {
		(void)unlink(tmp);
		return r;
	}
	return fsync_dir(dir);
}

static int read_small_file(int fd, char *buf, size_t size, size_t *ret_len)
{
	size_t len = 0;

	for (;;) {
		ssize_t n = read(fd, buf + len, size - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == size)
			return -EFBIG;
	}
	*ret_len = len;
	return 0;
}

int state_load_targets(const char *dir, const Config *config, unsigned *targets, ErrorText *error)
{
	char path[4096], corrupt[4200];
	_cleanup_free_ char *buf = malloc(TARGETS_BODY_MAX + 1);
	_cleanup_close_ int fd = -1;
	unsigned values[CONFIG_MAX_APPS];
	size_t len = 0;
	int r;

	if (!buf)
		return -ENOMEM;
	snprintf(path, sizeof(path), "%s/" STATE_FILE, dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	r = read_small_file(fd, buf, TARGETS_BODY_MAX + 1, &len);
	if (r == 0 && targets_parse(buf, len, config, true, values, error) == 0) {
		for (size_t i = 0; i < config->n_apps; i++)
			if (values[i] != TARGETS_UNSET)
				targets[i] = values[i];
		return 1;
	}
	if (r == -EFBIG)
		(void)error_text_set(error, 0, "file is too large");
	else if (r < 0)
		return r;
	snprintf(corrupt, sizeof(corrupt), "%s.corrupt", path);
	(void)rename(path, corrupt);
	return -EBADMSG;
}
