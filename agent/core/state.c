// SPDX-License-Identifier: Apache-2.0
/* Keeps the run-time targets in the state dir. A write is all or nothing: readers see the old file or the new
 * one, never a torn one. Never fatal: the caller decides what a failure means. Nothing in the dir is trusted:
 * only a regular file of sane size is read (a FIFO must not hang the start), and the temp file is created new,
 * never through a planted symlink. */
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

/* A new file or nothing: whatever sits at the temp name (a crashed run's leftover, or a symlink planted to make
 * us write elsewhere) is unlinked, never followed, and the create tried once more. */
static int open_temp(const char *tmp)
{
	int fd;

	for (int attempt = 0; attempt < 2; attempt++) {
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (fd >= 0)
			return fd;
		if (errno != EEXIST || unlink(tmp) < 0)
			break;
	}
	return -errno;
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
	fd = open_temp(tmp);
	if (fd < 0)
		return fd;
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

/* 0 for a regular file of at most TARGETS_BODY_MAX bytes; -EISDIR for a directory (an I/O error, left alone);
 * -EBADMSG with the reason for anything else (set aside like a corrupt file); -EFBIG when too large. */
static int check_regular(int fd, ErrorText *error)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	if (!S_ISREG(st.st_mode))
		return error_text_set(error, -EBADMSG, "a %s, not a regular file",
		                      S_ISFIFO(st.st_mode)   ? "FIFO"
		                      : S_ISSOCK(st.st_mode) ? "socket"
		                                             : "device");
	if (st.st_size > TARGETS_BODY_MAX)
		return -EFBIG;
	/* A regular file: reads never block, so the O_NONBLOCK of the open changes nothing from here on. */
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
	/* O_NONBLOCK: opening a FIFO returns at once instead of waiting for a writer; O_NOFOLLOW: a symlink fails. */
	fd = open(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
	if (fd < 0 && errno == ELOOP)
		r = error_text_set(error, -EBADMSG, "a symbolic link, not a regular file");
	else if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	else
		r = check_regular(fd, error);
	if (r == 0)
		r = read_small_file(fd, buf, TARGETS_BODY_MAX + 1, &len);
	if (r == 0 && targets_parse(buf, len, config, true, values, error) == 0) {
		for (size_t i = 0; i < config->n_apps; i++)
			if (values[i] != TARGETS_UNSET)
				targets[i] = values[i];
		return 1;
	}
	if (r == -EFBIG)
		(void)error_text_set(error, 0, "file is too large");
	else if (r < 0 && r != -EBADMSG)
		return r;
	snprintf(corrupt, sizeof(corrupt), "%s.corrupt", path);
	(void)rename(path, corrupt);
	return -EBADMSG;
}
