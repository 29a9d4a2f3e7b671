// SPDX-License-Identifier: Apache-2.0
/* The state directory: the last targets set at run time, kept so that a restarted agent resumes them.
 * Written atomically (temp file, fsync, rename, fsync of the directory); a corrupt file is set aside. */
#pragma once

#include "force12/config.h"

/* Writes targets (config->n_apps entries) to DIR/targets.json through a temp file created with O_EXCL|O_NOFOLLOW
 * (a symlink planted at the temp name is removed, never written through). */
int state_save_targets(const char *dir, const Config *config, const unsigned *targets);
/* Reads DIR/targets.json into targets (apps the file does not name are left as they are). Returns 1 if loaded,
 * 0 if there is no file, negative errno on I/O errors (-EISDIR for a directory). Only a regular file of at most
 * TARGETS_BODY_MAX bytes is read, never through a symlink and never blocking (a FIFO): anything else, and a file
 * that does not parse, is renamed to targets.json.corrupt and -EBADMSG returned, with the reason in error. */
int state_load_targets(const char *dir, const Config *config, unsigned *targets, ErrorText *error);
