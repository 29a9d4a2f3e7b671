// SPDX-License-Identifier: Apache-2.0
/* Small files from outside (a targets file, a password, a token, a certificate): read bounded, and never hang. */
#pragma once

#include <sys/types.h>

/* Reads at most size bytes of the regular file at path into buf (not terminated). Opened O_NONBLOCK, so that a
 * FIFO put in its place cannot hang the event loop; anything but a regular file is -EBADFD. Symlinks are
 * followed (a ConfigMap's file is a link into a directory that is swapped whole). Returns the length read, or a
 * negative errno. */
ssize_t read_regular_file(const char *path, char *buf, size_t size);
