// SPDX-License-Identifier: Apache-2.0
/* Unit tests of the API listeners' guard: awaiting connections expire, one peer cannot hold more than its share,
 * a full listener makes room for a new client at the oldest awaiting one's cost, and a connection whose request
 * is in is never cut. */

/* cmocka.h needs these four first; its own block keeps clang-format's include sorting from moving it up. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "force12/conn-guard.h"

typedef struct Cuts {
	int fds[4096];
	size_t n;
} Cuts;

static void record_cut(int fd, void *userdata)
{
	Cuts *c = userdata;

	c->fds[c->n++] = fd;
}

static ConnGuard *guard(Cuts *cuts, unsigned total, unsigned per_peer)
{
	ConnGuard *g = NULL;
	ConnGuardLimits l = {.total = total, .per_peer = per_peer, .deadline = 5 * USEC_PER_SEC};

	memset(cuts, 0, sizeof(*cuts));
	assert_int_equal(conn_guard_new(&g, &l, record_cut, cuts), 0);
	return g;
}

/* One connection accepted in its own turn of the loop: the guard restores its limits at the end of the turn. */
static GuardConn *open_turn(ConnGuard *g, const char *peer, int fd, usec_t now)
{
	GuardConn *c = conn_guard_open(g, peer, fd, now);

	(void)conn_guard_expire(g, now);
	return c;
}

static void test_deadline(void **state)
{
	Cuts cuts;
	_cleanup_(conn_guard_freep) ConnGuard *g = guard(&cuts, 100, 100);
	GuardConn *a = conn_guard_open(g, "1.2.3.4", 10, 0);
	GuardConn *b = conn_guard_open(g, "1.2.3.4", 11, 2 * USEC_PER_SEC);

	assert_int_equal(conn_guard_expire(g, USEC_PER_SEC), 5 * USEC_PER_SEC);
	assert_int_equal(cuts.n, 0);
	/* a's headers came in: it is no longer held to the deadline; b is. */
	conn_guard_busy(g, a);
	assert_int_equal(conn_guard_expire(g, 5 * USEC_PER_SEC), 7 * USEC_PER_SEC);
	assert_int_equal(cuts.n, 0);
	assert_int_equal(conn_guard_expire(g, 7 * USEC_PER_SEC), USEC_INFINITY);
	assert_int_equal(cuts.n, 1);
	assert_int_equal(cuts.fds[0], 11);
	/* a keeps its connection open after its answer: awaiting again, from then. */
	conn_guard_idle(g, a, 8 * USEC_PER_SEC);
	assert_int_equal(conn_guard_expire(g, 12 * USEC_PER_SEC), 13 * USEC_PER_SEC);
	assert_int_equal(conn_guard_expire(g, 13 * USEC_PER_SEC), USEC_INFINITY);
	assert_int_equal(cuts.n, 2);
	assert_int_equal(cuts.fds[1], 10);
	assert_int_equal(conn_guard_cut_total(g), 2);
	assert_int_equal(conn_guard_open_count(g), 0);
	conn_guard_close(g, a);
	conn_guard_close(g, b);
}

static void test_per_peer(void **state)
{
	Cuts cuts;
	_cleanup_(conn_guard_freep) ConnGuard *g = guard(&cuts, 1000, 3);
	GuardConn *c[10], *other, *extra[2];

	for (int i = 0; i < 10; i++)
		c[i] = open_turn(g, "10.0.0.1", 100 + i, (usec_t)i);
	/* The peer keeps its 3 newest; the oldest went first. */
	assert_int_equal(cuts.n, 7);
	for (int i = 0; i < 7; i++)
		assert_int_equal(cuts.fds[i], 100 + i);
	assert_int_equal(conn_guard_awaiting_count(g), 3);
	/* Another peer is not charged for it. */
	other = open_turn(g, "10.0.0.2", 200, 20);
	assert_int_equal(cuts.n, 7);
	/* A busy connection does not count against its peer. */
	conn_guard_busy(g, c[9]);
	extra[0] = open_turn(g, "10.0.0.1", 110, 30);
	assert_int_equal(cuts.n, 7);
	extra[1] = open_turn(g, "10.0.0.1", 111, 31);
	assert_int_equal(cuts.n, 8);
	assert_int_equal(cuts.fds[7], 107);
	conn_guard_close(g, other);
	conn_guard_close(g, extra[0]);
	conn_guard_close(g, extra[1]);
	for (int i = 0; i < 10; i++)
		conn_guard_close(g, c[i]);
	assert_int_equal(conn_guard_open_count(g), 0);
}

/* 2000 clients that never finish their headers against a listener of 100: each new client still gets in, and a
 * client whose headers came in is never the one cut. */
static void test_full_listener_serves_newcomers(void **state)
{
	static Cuts cuts;
	static GuardConn *all[3000];
	_cleanup_(conn_guard_freep) ConnGuard *g = guard(&cuts, 100, 1000);
	GuardConn *served;

	for (int i = 0; i < 2000; i++)
		all[i] = open_turn(g, "127.0.0.1", i, (usec_t)i);
	assert_int_equal(conn_guard_open_count(g), 100);
	assert_int_equal(cuts.n, 1900);
	served = open_turn(g, "127.0.0.1", 5000, 3000);
	conn_guard_busy(g, served);
	for (int i = 0; i < 1000; i++)
		all[2000 + i] = open_turn(g, "127.0.0.1", 6000 + i, (usec_t)(4000 + i));
	for (size_t i = 0; i < cuts.n; i++)
		assert_int_not_equal(cuts.fds[i], 5000);
	assert_int_equal(conn_guard_open_count(g), 100);
	assert_int_equal(conn_guard_awaiting_count(g), 99);
	conn_guard_close(g, served);
	assert_int_equal(conn_guard_open_count(g), 99);
	for (int i = 0; i < 3000; i++)
		conn_guard_close(g, all[i]);
	assert_int_equal(conn_guard_open_count(g), 0);
}

/* A connection closed by its client is forgotten, whether it was awaiting, busy or already cut. */
static void test_close_in_every_state(void **state)
{
	Cuts cuts;
	_cleanup_(conn_guard_freep) ConnGuard *g = guard(&cuts, 2, 10);
	GuardConn *a = open_turn(g, "p", 1, 0);
	GuardConn *b = open_turn(g, "p", 2, 1);
	GuardConn *c = open_turn(g, "p", 3, 2); /* cuts a */

	assert_int_equal(cuts.n, 1);
	conn_guard_busy(g, b);
	conn_guard_close(g, a);
	conn_guard_close(g, b);
	assert_int_equal(conn_guard_open_count(g), 1);
	conn_guard_close(g, c);
	assert_int_equal(conn_guard_open_count(g), 0);
	assert_int_equal(conn_guard_awaiting_count(g), 0);
	assert_int_equal(conn_guard_expire(g, 100 * USEC_PER_SEC), USEC_INFINITY);
}

/* Connections accepted in one turn of the loop (one now) are never cut for each other: none has been read yet. */
static void test_same_instant_is_spared(void **state)
{
	Cuts cuts;
	_cleanup_(conn_guard_freep) ConnGuard *g = guard(&cuts, 10, 2);
	GuardConn *all[22];

	all[0] = open_turn(g, "p", 1, 1);
	for (int i = 0; i < 20; i++)
		all[1 + i] = conn_guard_open(g, "p", 100 + i, 5);
	assert_int_equal(cuts.n, 0); /* nothing is cut before the end of the turn */
	(void)conn_guard_expire(g, 5);
	/* Only the one from before was cut. */
	assert_int_equal(cuts.n, 1);
	assert_int_equal(cuts.fds[0], 1);
	/* The next turn restores the limits at the oldest's cost. */
	all[21] = open_turn(g, "p", 200, 6);
	assert_int_equal(conn_guard_awaiting_count(g), 2);
	assert_int_equal(cuts.n, 20);
	assert_int_equal(cuts.fds[19], 118);
	for (int i = 0; i < 22; i++)
		conn_guard_close(g, all[i]);
}

/* A token holder shares its address with 2000 slow clients that reconnect as fast as they are cut. Its request
 * is read in the turn after its accept, and that turn first accepts more of the slow ones: they must not cut it
 * before its request is seen (a CI run's curl got an empty answer when the guard cut at accept). */
static void test_read_in_the_turn_after_accept_is_never_cut(void **state)
{
	Cuts cuts;
	_cleanup_(conn_guard_freep) ConnGuard *g = guard(&cuts, 20, 3);
	GuardConn *slow[40], *holder;
	int n = 0;

	for (; n < 3; n++)
		slow[n] = open_turn(g, "127.0.0.1", 100 + n, 1);
	holder = open_turn(g, "127.0.0.1", 7, 2);
	/* Turn 3: the listener accepts 30 more slow clients, then reads the holder's request. */
	for (int i = 0; i < 30; i++, n++)
		slow[n] = conn_guard_open(g, "127.0.0.1", 100 + n, 3);
	conn_guard_busy(g, holder);
	(void)conn_guard_expire(g, 3);
	for (size_t i = 0; i < cuts.n; i++)
		assert_int_not_equal(cuts.fds[i], 7);
	assert_int_equal(cuts.n, 3); /* the three from turn 1; turn 3's are not read yet */
	/* Turn 4: the peer is brought down to its share, still not at the holder's cost. */
	slow[n] = open_turn(g, "127.0.0.1", 100 + n, 4);
	n++;
	assert_int_equal(conn_guard_awaiting_count(g), 3);
	for (size_t i = 0; i < cuts.n; i++)
		assert_int_not_equal(cuts.fds[i], 7);
	assert_int_equal(conn_guard_open_count(g), 4);
	conn_guard_close(g, holder);
	for (int i = 0; i < n; i++)
		conn_guard_close(g, slow[i]);
	assert_int_equal(conn_guard_open_count(g), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_deadline),
	        cmocka_unit_test(test_per_peer),
	        cmocka_unit_test(test_full_listener_serves_newcomers),
	        cmocka_unit_test(test_close_in_every_state),
	        cmocka_unit_test(test_same_instant_is_spared),
	        cmocka_unit_test(test_read_in_the_turn_after_accept_is_never_cut),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
