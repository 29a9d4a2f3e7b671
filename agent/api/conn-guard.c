// SPDX-License-Identifier: Apache-2.0
/* The API listeners' guard against slow clients (see conn-guard.h): two orders of awaiting connections, one over
 * the whole listener and one per peer, both oldest-first, so that every cut is O(1), and a list of the peers over
 * their share, so that the end of a turn of the loop visits only those. It never cuts a connection whose
 * request's headers are in: those are the clients it exists to serve. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "force12/conn-guard.h"
#include "force12/hashmap.h"
#include "force12/list.h"

typedef struct Peer Peer;

struct GuardConn {
	int fd;
	bool awaiting, cut;
	usec_t since;
	char peer_key[64];
	Peer *peer; /* set while awaiting */
	LIST_FIELDS(GuardConn, all);
	LIST_FIELDS(GuardConn, by_peer);
};

struct Peer {
	char key[64];
	unsigned awaiting;
	bool over;                  /* on the guard's list of peers over their share */
	GuardConn *newest, *oldest; /* its awaiting connections */
	LIST_FIELDS(Peer, over);
};

struct ConnGuard {
	ConnGuardLimits limits;
	ConnGuardCut cut;
	void *userdata;
	Hashmap *peers;             /* key -> Peer, only peers with awaiting connections */
	GuardConn *newest, *oldest; /* every awaiting connection */
	Peer *over;                 /* peers with more awaiting connections than their share */
	unsigned n_open, n_awaiting;
	unsigned long n_cut;
};

int conn_guard_new(ConnGuard **ret, const ConnGuardLimits *limits, ConnGuardCut cut, void *userdata)
{
	ConnGuard *g = calloc(1, sizeof(ConnGuard));

	if (!g || hashmap_new(&g->peers) < 0) {
		free(g);
		return -ENOMEM;
	}
	g->limits = *limits;
	g->cut = cut;
	g->userdata = userdata;
	*ret = g;
	return 0;
}

ConnGuard *conn_guard_free(ConnGuard *g)
{
	Peer *p;

	if (!g)
		return NULL;
	/* Connections still known are the caller's (it closes them and calls conn_guard_close first, or not). */
	while ((p = hashmap_steal_first(g->peers)))
		free(p);
	hashmap_free(g->peers);
	free(g);
	return NULL;
}

static void await_start(ConnGuard *g, GuardConn *c, usec_t now)
{
	Peer *p = hashmap_get(g->peers, c->peer_key);

	if (!p) {
		p = calloc(1, sizeof(Peer));
		if (!p)
			return; /* not awaiting then: it only escapes the guard, nothing breaks */
		strcpy(p->key, c->peer_key);
		if (hashmap_put(g->peers, p->key, p) < 0) {
			free(p);
			return;
		}
	}
	c->awaiting = true;
	c->since = now;
	c->peer = p;
	LIST_PREPEND(all, g->newest, c);
	if (!g->oldest)
		g->oldest = c;
	LIST_PREPEND(by_peer, p->newest, c);
	if (!p->oldest)
		p->oldest = c;
	p->awaiting++;
	g->n_awaiting++;
	if (p->awaiting > g->limits.per_peer && !p->over) {
		LIST_PREPEND(over, g->over, p);
		p->over = true;
	}
}

static void await_end(ConnGuard *g, GuardConn *c)
{
	Peer *p = c->peer;

	if (!c->awaiting)
		return;
	if (g->oldest == c)
		g->oldest = c->all_prev;
	LIST_REMOVE(all, g->newest, c);
	if (p->oldest == c)
		p->oldest = c->by_peer_prev;
	LIST_REMOVE(by_peer, p->newest, c);
	c->awaiting = false;
	c->peer = NULL;
	g->n_awaiting--;
	p->awaiting--;
	if (p->over && p->awaiting <= g->limits.per_peer) {
		LIST_REMOVE(over, g->over, p);
		p->over = false;
	}
	if (p->awaiting == 0) {
		(void)hashmap_remove(g->peers, p->key);
		free(p);
	}
}

static void cut(ConnGuard *g, GuardConn *c)
{
	await_end(g, c);
	c->cut = true;
	g->n_open--;
	g->n_cut++;
	g->cut(c->fd, g->userdata);
}

GuardConn *conn_guard_open(ConnGuard *g, const char *peer, int fd, usec_t now)
{
	GuardConn *c = calloc(1, sizeof(GuardConn));

	if (!c)
		return NULL;
	c->fd = fd;
	snprintf(c->peer_key, sizeof(c->peer_key), "%s", peer);
	g->n_open++;
	await_start(g, c, now);
	return c;
}

void conn_guard_busy(ConnGuard *g, GuardConn *c)
{
	if (c)
		await_end(g, c);
}

void conn_guard_idle(ConnGuard *g, GuardConn *c, usec_t now)
{
	if (c && !c->cut && !c->awaiting)
		await_start(g, c, now);
}

void conn_guard_close(ConnGuard *g, GuardConn *c)
{
	if (!c)
		return;
	await_end(g, c);
	if (!c->cut)
		g->n_open--;
	free(c);
}

usec_t conn_guard_expire(ConnGuard *g, usec_t now)
{
	Peer *p, *next;

	while (g->oldest && g->oldest->since + g->limits.deadline <= now)
		cut(g, g->oldest);
	/* Room, at the end of the turn: a client whose request came in during this turn was read and is busy now,
	 * whatever the accepts before it. First each peer over its share pays, then the oldest awaiting client.
	 * Connections opened in this turn (at now) are spared: they have not been read yet. A cut that brings a
	 * peer down to its share takes it off the list (and frees it at 0), so the peer is not read after that. */
	LIST_FOREACH_SAFE(over, p, next, g->over)
	{
		bool done = false;
		while (!done && p->oldest->since < now) {
			done = p->awaiting <= g->limits.per_peer + 1;
			cut(g, p->oldest);
		}
	}
	while (g->n_open > g->limits.total && g->oldest && g->oldest->since < now)
		cut(g, g->oldest);
	return g->oldest ? g->oldest->since + g->limits.deadline : USEC_INFINITY;
}

unsigned conn_guard_open_count(const ConnGuard *g)
{
	return g->n_open;
}

unsigned conn_guard_awaiting_count(const ConnGuard *g)
{
	return g->n_awaiting;
}

unsigned long conn_guard_cut_total(const ConnGuard *g)
{
	return g->n_cut;
}
