// SPDX-License-Identifier: Apache-2.0
/* Keeps slow or idle clients from locking others out of an API listener. A connection "awaits" from its accept
 * (or the end of its last request) until its request's headers are in: while awaiting it is nobody we know, so
 * it gets a deadline, a peer (an IP address, a uid) may hold only so many awaiting connections, and when the
 * listener is full the oldest awaiting connection makes room for the new one. A connection whose headers are in
 * is never cut by the guard. Pure bookkeeping: the guard never touches a socket, it hands fds to `cut`. */
#pragma once

#include <stdbool.h>

#include "force12/macro.h"
#include "force12/time-util.h"

typedef struct ConnGuard ConnGuard;
typedef struct GuardConn GuardConn;

typedef struct ConnGuardLimits {
	unsigned total;    /* connections open at once (awaiting or busy) before the oldest awaiting one is cut */
	unsigned per_peer; /* awaiting connections one peer may hold; its oldest is cut for a new one */
	usec_t deadline;   /* how long a connection may await */
} ConnGuardLimits;

/* Called for every connection the guard gives up: the caller ends it (shutdown(2) of the fd, say). */
typedef void (*ConnGuardCut)(int fd, void *userdata);

int conn_guard_new(ConnGuard **ret, const ConnGuardLimits *limits, ConnGuardCut cut, void *userdata);
ConnGuard *conn_guard_free(ConnGuard *g);
DEFINE_TRIVIAL_CLEANUP_FUNC(ConnGuard *, conn_guard_free);

/* A new connection from peer (any string; copied, at most 63 bytes kept). It cuts nothing: the limits are
 * restored by conn_guard_expire() at the end of the turn, once the connections that could be read were read.
 * NULL when out of memory: the caller then ends the connection itself. */
GuardConn *conn_guard_open(ConnGuard *g, const char *peer, int fd, usec_t now);
/* Its request's headers are in: no longer awaiting. */
void conn_guard_busy(ConnGuard *g, GuardConn *c);
/* Its request is answered and it stays open (keep-alive): awaiting again, from now. */
void conn_guard_idle(ConnGuard *g, GuardConn *c, usec_t now);
/* It is closed, for whatever reason: forget it. Accepts NULL. */
void conn_guard_close(ConnGuard *g, GuardConn *c);
/* Called at the end of every turn of the loop, after the connections were read. Cuts every connection that has
 * awaited past the deadline, then restores the limits: the oldest awaiting connections of each peer over its
 * share, then the oldest awaiting ones while the listener holds more than its total, never a connection opened
 * at this same now (not read yet: the limits may be exceeded for that instant). Returns when the next one would
 * expire (USEC_INFINITY when none awaits). */
usec_t conn_guard_expire(ConnGuard *g, usec_t now);

unsigned conn_guard_open_count(const ConnGuard *g); /* awaiting + busy, not counting cut ones */
unsigned conn_guard_awaiting_count(const ConnGuard *g);
unsigned long conn_guard_cut_total(const ConnGuard *g);
