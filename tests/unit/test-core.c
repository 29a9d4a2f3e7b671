// SPDX-License-Identifier: Apache-2.0
/* Unit tests of the stateful core (agent.c + container.c) against a scripted fake engine behind the engine
 * operations table. The fake keeps the engine's truth (which containers exist, in which state, with which labels)
 * and queues every call; the test decides when and how each call is answered and when each event arrives, so
 * races that a real engine shows once in a thousand runs are played here on purpose. After every step the
 * invariants are checked against the fake's truth, not against the agent's own view: never more running than
 * capacity, never a foreign container touched, and (once quiet) every owned container accounted for. */

/* cmocka.h needs these four first; its own block keeps clang-format's include sorting from moving it up. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../agent/core/agent-internal.h"
#include "force12/backoff.h"
#include "force12/docker-json.h"
#include "force12/targets.h"
#include "force12/xorshift.h"

#define FAKE_MAX_CONTAINERS 256
#define FAKE_MAX_CALLS      512
#define FAKE_MAX_EVENTS     1024
#define NODE                "n1"

typedef enum FakeOp {
	F_PING,
	F_CREATE,
	F_START,
	F_STOP,
	F_PAUSE,
	F_UNPAUSE,
	F_REMOVE,
	F_INSPECT,
	F_LIST,
	F_IMAGE_INSPECT,
	F_PULL,
	_F_MAX,
} FakeOp;

typedef struct FakeCall {
	FakeOp op;
	char id[DOCKER_ID_MAX + 1];
	char name[128];
	char app[CONFIG_APP_NAME_MAX + 1];
	bool force;
	EngineCallback cb;
	void *userdata;
} FakeCall;

typedef struct FakeContainer {
	char id[DOCKER_ID_MAX + 1];
	char name[128];
	char app[CONFIG_APP_NAME_MAX + 1];
	char node[64];
	DockerState state;
	int exit_code;
	int64_t created;
} FakeContainer;

typedef struct Fake {
	Engine engine;
	bool up;
	FakeCall calls[FAKE_MAX_CALLS];
	size_t n_calls;
	FakeContainer ctr[FAKE_MAX_CONTAINERS];
	size_t n_ctr;
	DockerEvent events[FAKE_MAX_EVENTS];
	size_t n_events;
	bool stream_open;
	EngineEventFn on_event;
	EngineCallback stream_done;
	void *stream_userdata;
	unsigned next_id;
	unsigned foreign_touched;
	unsigned max_running; /* the most of ours running at once, by the fake's truth */
	unsigned stop_exit_code;
	unsigned calls_made[_F_MAX];
	bool events_first;   /* deliver the events a call causes before its answer */
	bool ignore_filters; /* list and stream every container, like an engine (or proxy) that ignores filters= */
	unsigned forced_removes;
} Fake;

static void fake_deliver_events(Fake *f);

static Fake *fake_of(Engine *e)
{
	return (Fake *)e;
}

/* ---- the fake's truth ---- */

static FakeContainer *fake_find(Fake *f, const char *id_or_name)
{
	for (size_t i = 0; i < f->n_ctr; i++)
		if (streq(f->ctr[i].id, id_or_name) || streq(f->ctr[i].name, id_or_name))
			return &f->ctr[i];
	return NULL;
}

static unsigned fake_count(Fake *f, const char *node, DockerState state)
{
	unsigned n = 0;

	for (size_t i = 0; i < f->n_ctr; i++)
		n += streq(f->ctr[i].node, node) && f->ctr[i].state == state;
	return n;
}

static unsigned fake_count_app(Fake *f, const char *app, DockerState state)
{
	unsigned n = 0;

	for (size_t i = 0; i < f->n_ctr; i++)
		n += streq(f->ctr[i].node, NODE) && streq(f->ctr[i].app, app) && f->ctr[i].state == state;
	return n;
}

static void fake_note_running(Fake *f)
{
	f->max_running = MAX(f->max_running, fake_count(f, NODE, DOCKER_STATE_RUNNING));
}

static void fake_emit(Fake *f, DockerEventAction action, const FakeContainer *c)
{
	DockerEvent *e;

	if (!f->stream_open || (!streq(c->node, NODE) && !f->ignore_filters) || f->n_events >= FAKE_MAX_EVENTS)
		return;
	e = &f->events[f->n_events++];
	*e = (DockerEvent){.action = action, .exit_code = action == DOCKER_EVENT_DIE ? c->exit_code : -1};
	snprintf(e->id, sizeof(e->id), "%s", c->id);
	snprintf(e->app, sizeof(e->app), "%s", c->app);
	snprintf(e->node, sizeof(e->node), "%s", c->node);
	snprintf(e->name, sizeof(e->name), "%s", c->name);
}

static FakeContainer *fake_add(Fake *f, const char *name, const char *app, const char *node, DockerState state)
{
	FakeContainer *c;

	assert_true(f->n_ctr < FAKE_MAX_CONTAINERS);
	c = &f->ctr[f->n_ctr++];
	*c = (FakeContainer){.state = state, .exit_code = -1, .created = 1700000000 + f->next_id};
	snprintf(c->id, sizeof(c->id), "%064x", ++f->next_id);
	snprintf(c->name, sizeof(c->name), "%s", name);
	snprintf(c->app, sizeof(c->app), "%s", app);
	snprintf(c->node, sizeof(c->node), "%s", node);
	fake_note_running(f);
	return c;
}

static void fake_drop(Fake *f, FakeContainer *c)
{
	size_t i = (size_t)(c - f->ctr);

	memmove(&f->ctr[i], &f->ctr[i + 1], (f->n_ctr - i - 1) * sizeof(*c));
	f->n_ctr--;
}

/* A container dies on its own (killed from outside, or its command ends). */
static void fake_die(Fake *f, FakeContainer *c, int exit_code)
{
	c->state = DOCKER_STATE_EXITED;
	c->exit_code = exit_code;
	fake_emit(f, DOCKER_EVENT_DIE, c);
}

/* ---- the operations: queue the call, answer later ---- */

static int fake_queue(Engine *e, FakeOp op, const char *id, const char *name, EngineCallback cb, void *userdata)
{
	Fake *f = fake_of(e);
	FakeCall *c;

	assert_true(f->n_calls < FAKE_MAX_CALLS);
	c = &f->calls[f->n_calls++];
	*c = (FakeCall){.op = op, .cb = cb, .userdata = userdata};
	snprintf(c->id, sizeof(c->id), "%s", id ?: "");
	snprintf(c->name, sizeof(c->name), "%s", name ?: "");
	f->calls_made[op]++;
	if (id) {
		FakeContainer *t = fake_find(f, id);
		if (t && !streq(t->node, NODE))
			f->foreign_touched++;
	}
	return 0;
}

static Engine *fake_free(Engine *e)
{
	free(e);
	return NULL;
}

static const char *fake_address(Engine *e)
{
	return "fake";
}

static const char *fake_api_version(Engine *e)
{
	return fake_of(e)->up ? "1.41" : NULL;
}

static int fake_ping(Engine *e, EngineCallback cb, void *userdata)
{
	return fake_queue(e, F_PING, NULL, NULL, cb, userdata);
}

static int fake_create(Engine *e, const EngineCreateSpec *spec, EngineCallback cb, void *userdata)
{
	Fake *f = fake_of(e);
	int r = fake_queue(e, F_CREATE, NULL, spec->name, cb, userdata);

	assert_string_equal(spec->node_id, NODE);
	snprintf(f->calls[f->n_calls - 1].app, sizeof(f->calls[0].app), "%s", spec->app);
	return r;
}

#define ID_OP(fn, op)                                                               \
	static int fn(Engine *e, const char *id, EngineCallback cb, void *userdata) \
	{                                                                           \
		return fake_queue(e, op, id, NULL, cb, userdata);                   \
	}
ID_OP(fake_start, F_START)
ID_OP(fake_pause, F_PAUSE)
ID_OP(fake_unpause, F_UNPAUSE)
ID_OP(fake_inspect, F_INSPECT)
ID_OP(fake_image_inspect, F_IMAGE_INSPECT)
ID_OP(fake_pull, F_PULL)

static int fake_remove(Engine *e, const char *id, bool force, EngineCallback cb, void *userdata)
{
	Fake *f = fake_of(e);
	int r = fake_queue(e, F_REMOVE, id, NULL, cb, userdata);

	f->calls[f->n_calls - 1].force = force;
	f->forced_removes += force;
	return r;
}

static int fake_stop(Engine *e, const char *id, unsigned timeout_sec, EngineCallback cb, void *userdata)
{
	return fake_queue(e, F_STOP, id, NULL, cb, userdata);
}

static int fake_list(Engine *e, const char *label, size_t expect, EngineCallback cb, void *userdata)
{
	assert_string_equal(label, LABEL_AGENT "=" NODE);
	assert_true(expect >= fake_of(e)->n_ctr);
	return fake_queue(e, F_LIST, NULL, NULL, cb, userdata);
}

static int fake_events(Engine *e, const char *label, EngineEventFn on_event, EngineCallback done, void *userdata,
                       EngineStream **ret)
{
	Fake *f = fake_of(e);

	assert_false(f->stream_open);
	if (!f->up)
		return -ECONNREFUSED;
	f->stream_open = true;
	f->on_event = on_event;
	f->stream_done = done;
	f->stream_userdata = userdata;
	*ret = (EngineStream *)f;
	return 0;
}

static void fake_stream_cancel(Engine *e, EngineStream *s)
{
	Fake *f = fake_of(e);

	assert_ptr_equal(s, f);
	f->stream_open = false;
	f->n_events = 0;
}

static const EngineOps fake_ops = {
        .free = fake_free,
        .address = fake_address,
        .api_version = fake_api_version,
        .ping = fake_ping,
        .create = fake_create,
        .start = fake_start,
        .stop = fake_stop,
        .pause = fake_pause,
        .unpause = fake_unpause,
        .remove = fake_remove,
        .inspect = fake_inspect,
        .list = fake_list,
        .image_inspect = fake_image_inspect,
        .pull = fake_pull,
        .events = fake_events,
        .stream_cancel = fake_stream_cancel,
};

/* ---- answering ---- */

/* What the engine does for a call that succeeds, as Docker 20.10 does it: the error it answers, or 0. */
static int fake_apply(Fake *f, const FakeCall *call, EngineReply *reply, DockerInspect *inspect)
{
	FakeContainer *c = call->id[0] ? fake_find(f, call->id) : NULL;

	switch (call->op) {
	case F_PING:
	case F_IMAGE_INSPECT:
	case F_PULL:
	case F_LIST:
		return 0;
	case F_CREATE:
		if (fake_find(f, call->name))
			return -EBUSY;
		c = fake_add(f, call->name, call->app, NODE, DOCKER_STATE_CREATED);
		fake_emit(f, DOCKER_EVENT_CREATE, c);
		reply->id = c->id;
		return 0;
	default:
		break;
	}
	if (!c)
		return -ENOENT;
	switch (call->op) {
	case F_START:
		if (c->state == DOCKER_STATE_PAUSED)
			return -EBUSY;
		if (c->state != DOCKER_STATE_RUNNING) {
			c->state = DOCKER_STATE_RUNNING;
			c->exit_code = -1;
			fake_emit(f, DOCKER_EVENT_START, c);
			fake_note_running(f);
		}
		return 0;
	case F_STOP:
		if (c->state == DOCKER_STATE_RUNNING || c->state == DOCKER_STATE_PAUSED)
			fake_die(f, c, (int)f->stop_exit_code);
		return 0;
	case F_PAUSE:
		if (c->state != DOCKER_STATE_RUNNING)
			return -EBUSY;
		c->state = DOCKER_STATE_PAUSED;
		fake_emit(f, DOCKER_EVENT_PAUSE, c);
		return 0;
	case F_UNPAUSE:
		if (c->state != DOCKER_STATE_PAUSED)
			return -EBUSY;
		c->state = DOCKER_STATE_RUNNING;
		fake_emit(f, DOCKER_EVENT_UNPAUSE, c);
		fake_note_running(f);
		return 0;
	case F_REMOVE:
		if ((c->state == DOCKER_STATE_RUNNING || c->state == DOCKER_STATE_PAUSED) && !call->force)
			return -EBUSY;
		if (c->state == DOCKER_STATE_RUNNING || c->state == DOCKER_STATE_PAUSED)
			fake_die(f, c, 137);
		fake_emit(f, DOCKER_EVENT_DESTROY, c);
		fake_drop(f, c);
		return 0;
	case F_INSPECT:
		*inspect = (DockerInspect){.state = c->state, .exit_code = c->exit_code};
		snprintf(inspect->id, sizeof(inspect->id), "%s", c->id);
		reply->inspect = inspect;
		return 0;
	default:
		fail();
	}
	return 0;
}

static DockerContainer *mfree_list(DockerContainer *list)
{
	free(list);
	return NULL;
}

/* Answers call i: with error (nothing happens on the engine), or with 0: it happens, as the engine would do it.
 * lost: it happens, but the answer is lost on the way (the connection breaks): the caller gets -ECONNRESET. */
static void fake_answer_full(Fake *f, size_t i, int error, bool lost)
{
	DockerContainer *list = NULL;
	DockerInspect inspect;
	EngineReply reply = {.message = ""};
	FakeCall call;

	assert_true(i < f->n_calls);
	call = f->calls[i];
	memmove(&f->calls[i], &f->calls[i + 1], (f->n_calls - i - 1) * sizeof(call));
	f->n_calls--;
	if (!f->up && error == 0)
		error = -ECONNREFUSED;
	reply.error = error ?: fake_apply(f, &call, &reply, &inspect);
	if (reply.error == 0 && call.op == F_LIST) {
		list = calloc(FAKE_MAX_CONTAINERS, sizeof(*list));
		assert_non_null(list);
		for (size_t k = 0; k < f->n_ctr; k++)
			if (streq(f->ctr[k].node, NODE) || f->ignore_filters) {
				DockerContainer *l = &list[reply.n_list++];
				*l = (DockerContainer){.state = f->ctr[k].state, .created = f->ctr[k].created};
				snprintf(l->id, sizeof(l->id), "%s", f->ctr[k].id);
				snprintf(l->node, sizeof(l->node), "%s", f->ctr[k].node);
				snprintf(l->name, sizeof(l->name), "%s", f->ctr[k].name);
				snprintf(l->app, sizeof(l->app), "%s", f->ctr[k].app);
			}
		if (reply.n_list == 0) /* as the Docker client: an empty list is NULL */
			list = mfree_list(list);
		reply.list = list;
		reply.list_owner = &list; /* as the Docker client: the agent takes it to merge it in slices */
	}
	if (lost)
		reply = (EngineReply){.error = -ECONNRESET};
	if (reply.error < 0)
		reply.message = strerror(-reply.error);
	if (f->events_first)
		fake_deliver_events(f);
	call.cb(&reply, call.userdata);
	free(list);
}

static void fake_answer(Fake *f, size_t i, int error)
{
	fake_answer_full(f, i, error, false);
}

static ssize_t fake_pending(Fake *f, FakeOp op)
{
	for (size_t i = 0; i < f->n_calls; i++)
		if (f->calls[i].op == op)
			return (ssize_t)i;
	return -1;
}

static void fake_deliver_events(Fake *f)
{
	while (f->stream_open && f->n_events > 0) {
		DockerEvent e = f->events[0];
		memmove(&f->events[0], &f->events[1], (f->n_events - 1) * sizeof(e));
		f->n_events--;
		f->on_event(&e, f->stream_userdata);
	}
}

/* The engine goes away: the stream ends and every call in flight fails. */
static void fake_down(Fake *f)
{
	f->up = false;
	f->n_events = 0;
	if (f->stream_open) {
		EngineReply reply = {.error = -ECONNRESET, .message = "gone"};
		f->stream_open = false;
		f->stream_done(&reply, f->stream_userdata);
	}
	while (f->n_calls > 0)
		fake_answer(f, 0, -ECONNREFUSED);
}

/* ---- the test fixture ---- */

typedef struct T {
	sd_event *event;
	Fake *fake;
	Agent *agent;
	unsigned capacity;
	unsigned long seed;
} T;

static void loop_idle(T *t)
{
	for (int i = 0; i < 1000; i++)
		if (sd_event_run(t->event, 0) <= 0)
			return;
}

static void dump(T *t);

static void check_heap(const ContainerHeap *h, size_t n, bool (*belongs)(const Container *c, int app), int app)
{
	assert_int_equal(h->n, n);
	for (size_t k = 0; k < h->n; k++) {
		assert_int_equal(h->items[k]->heap_pos, k);
		assert_true(belongs(h->items[k], app));
		if (k > 0)
			assert_false(h->before(h->items[k], h->items[(k - 1) / 2]));
	}
}

static bool belongs_running(const Container *c, int app)
{
	return c->phase == PHASE_RUNNING && c->app == app;
}

static bool belongs_standby(const Container *c, int app)
{
	return c->phase == PHASE_STANDBY && c->app == app;
}

static bool belongs_removable(const Container *c, int app)
{
	return c->phase == PHASE_EXITED || c->phase == PHASE_CREATED;
}

/* The tallies the agent keeps as phases change equal a full recount of its table, and every heap holds exactly the
 * containers of its app and phase, in heap order. */
static void check_tally(T *t)
{
	Agent *a = t->agent;
	unsigned phases[CONFIG_MAX_APPS + 1][_PHASE_MAX] = {};
	size_t removable = 0;

	assert_false(a->tally_broken);
	for (Container *c = a->containers; c; c = c->containers_next) {
		assert_true(c->app >= -1 && c->app < (int)a->config->n_apps);
		phases[c->app + 1][c->phase]++;
		removable += c->phase == PHASE_EXITED || c->phase == PHASE_CREATED;
		if (c->containers_next)
			assert_true(c->serial > c->containers_next->serial);
	}
	for (int app = -1; app < CONFIG_MAX_APPS; app++) {
		const AppTally *tl = table_tally(a, app);
		if (memcmp(tl->phases, phases[app + 1], sizeof(tl->phases)) != 0) {
			dump(t);
			fail_msg("the tally of app %d differs from a recount (seed %lu)", app, t->seed);
		}
		check_heap(&tl->running, phases[app + 1][PHASE_RUNNING], belongs_running, app);
		check_heap(&tl->standby, phases[app + 1][PHASE_STANDBY], belongs_standby, app);
	}
	check_heap(&a->removable, removable, belongs_removable, 0);
}

/* What the old reconcile dispatched from a full plan: the list's entries in order, those with an operation in
 * flight skipped (their chains refuse them), as long as *left lasts. */
static void expect_taken(Container **index, const size_t *list, size_t n, unsigned *left, Container **got, size_t n_got)
{
	size_t k = 0;

	for (size_t i = 0; i<n && * left> 0; i++) {
		if (index[list[i]]->op != OP_NONE)
			continue;
		assert_true(k < n_got);
		assert_ptr_equal(got[k], index[list[i]]);
		k++;
		(*left)--;
	}
	assert_int_equal(k, n_got);
}

/* The pass, from the tallies and the first few of each heap, names the same containers as plan_compute() over
 * the whole table, cut where the old dispatch would have stopped. */
static void check_pass(T *t)
{
	Agent *a = t->agent;
	size_t n = a->n_containers, k = 0;
	unsigned parallel = a->config->parallel, starts = 0;
	unsigned left = parallel > a->ops_in_flight ? parallel - a->ops_in_flight : 0;
	unsigned removes_left = parallel > a->removes_in_flight ? parallel - a->removes_in_flight : 0;
	Container **index = calloc(MAX(n, 1), sizeof(Container *));
	PlanContainer *pcs = calloc(MAX(n, 1), sizeof(PlanContainer));
	Plan *q = NULL;
	Pass p;

	assert_true(index && pcs);
	assert_int_equal(agent_pass(a, now_usec(CLOCK_MONOTONIC), &p), 0);
	for (Container *c = a->containers; c; c = c->containers_next, k++) {
		index[k] = c;
		pcs[k] = (PlanContainer){.app = c->app, .phase = c->phase, .started_at = c->started_at};
	}
	PlanInput in = {.capacity = a->config->capacity,
	                .apps = p.apps,
	                .n_apps = a->config->n_apps,
	                .containers = pcs,
	                .n_containers = n};
	assert_int_equal(plan_compute(&in, &q), 0);
	assert_memory_equal(q->apps, p.res, in.n_apps * sizeof(*p.res));
	assert_int_equal(q->occupied, p.occupied);
	expect_taken(index, q->stops, q->n_stops, &left, p.stops, p.n_stops);
	expect_taken(index, q->parks, q->n_parks, &left, p.parks, p.n_parks);
	expect_taken(index, q->removes, q->n_removes, &removes_left, p.removes, p.n_removes);
	expect_taken(index, q->resumes, q->n_resumes, &left, p.resumes, p.n_resumes);
	for (size_t i = 0; i < in.n_apps; i++)
		starts += q->apps[i].starts;
	left -= MIN(starts, left);
	expect_taken(index, q->retires, q->n_retires, &left, p.retires, p.n_retires);
	plan_free(q);
	free(p.buffer);
	free(pcs);
	free(index);
}

static void check_invariants(T *t)
{
	unsigned running = fake_count(t->fake, NODE, DOCKER_STATE_RUNNING);

	if (running > t->capacity) {
		dump(t);
		fail_msg("%u of ours run on the engine, capacity %u (seed %lu)", running, t->capacity, t->seed);
	}
	if (t->fake->foreign_touched)
		fail_msg("a foreign container was touched (seed %lu)", t->seed);
	check_tally(t);
}

/* One step: the loop runs, then one thing happens. The pass is checked before the loop runs, while what just
 * happened still waits for its reconcile. */
static void step(T *t)
{
	check_tally(t);
	check_pass(t);
	loop_idle(t);
	check_invariants(t);
}

static bool source_on(sd_event_source *s)
{
	int enabled = SD_EVENT_OFF;

	(void)sd_event_source_get_enabled(s, &enabled);
	return enabled != SD_EVENT_OFF;
}

/* A ping after an engine loss, or the end of an app's backoff, is due. */
static bool timer_armed(T *t)
{
	return source_on(t->agent->ping_timer) || source_on(t->agent->retry_timer);
}

/* Answers every call and delivers every event, oldest first, until nothing moves; waits for timers (pings after
 * an engine loss, backoffs) up to limit_ms. */
static void behave(T *t, unsigned limit_ms)
{
	unsigned waited = 0;

	for (int i = 0; i < 100000; i++) {
		step(t);
		if (t->fake->n_events > 0) {
			fake_deliver_events(t->fake);
			continue;
		}
		if (t->fake->n_calls > 0) {
			fake_answer(t->fake, 0, 0);
			continue;
		}
		if (waited >= limit_ms || !timer_armed(t))
			return;
		if (sd_event_run(t->event, 20 * 1000) == 0)
			waited += 20;
	}
}

static const char *default_config = "{\"capacity\": 4, \"resync_interval\": 3600, \"parallel\": 8, \"apps\": ["
                                    "{\"name\": \"a\", \"image\": \"busybox\", \"priority\": 1},"
                                    "{\"name\": \"b\", \"image\": \"busybox\", \"priority\": 2}]}";

static const char *standby_config = "{\"capacity\": 4, \"resync_interval\": 3600, \"parallel\": 8, \"apps\": ["
                                    "{\"name\": \"a\", \"image\": \"busybox\", \"priority\": 1, \"standby\": 2},"
                                    "{\"name\": \"b\", \"image\": \"busybox\", \"priority\": 2}]}";

static T *t_new_with(const char *config_text, Fake *fake)
{
	T *t = calloc(1, sizeof(T));
	Config *config = NULL;
	ErrorText error = {};
	unsigned targets[CONFIG_MAX_APPS] = {};

	assert_non_null(t);
	if (config_parse(config_text, strlen(config_text), &config, &error) < 0)
		fail_msg("config: %s", error.text);
	t->capacity = config->capacity;
	if (!fake) {
		fake = calloc(1, sizeof(Fake));
		assert_non_null(fake);
		fake->engine.ops = &fake_ops;
		fake->up = true;
	}
	t->fake = fake;
	AgentOptions o = {.engine = &fake->engine, .node_id = NODE};
	assert_int_equal(sd_event_new(&t->event), 0);
	assert_int_equal(agent_new(&t->agent, t->event, config, targets, &o), 0);
	assert_int_equal(agent_start(t->agent), 0);
	return t;
}

/* Up and ready: ping, image checks, events, list answered. */
static T *t_new(const char *config_text)
{
	T *t = t_new_with(config_text, NULL);

	behave(t, 0);
	assert_true(agent_is_ready(t->agent));
	return t;
}

/* Frees the agent but keeps the fake's truth for the next agent (a restart). */
static Fake *t_free_keep(T *t)
{
	Fake *copy = malloc(sizeof(Fake));

	assert_non_null(copy);
	*copy = *t->fake;
	copy->n_calls = 0;
	copy->n_events = 0;
	copy->stream_open = false;
	agent_free(t->agent);
	sd_event_unref(t->event);
	free(t);
	return copy;
}

static void t_free(T *t)
{
	if (!t)
		return;
	agent_free(t->agent);
	sd_event_unref(t->event);
	free(t);
}

static void set_targets(T *t, unsigned a, unsigned b)
{
	unsigned targets[CONFIG_MAX_APPS] = {a, b};

	agent_set_targets(t->agent, targets);
}

static unsigned running(T *t, const char *app)
{
	return fake_count_app(t->fake, app, DOCKER_STATE_RUNNING);
}

static unsigned paused(T *t, const char *app)
{
	return fake_count_app(t->fake, app, DOCKER_STATE_PAUSED);
}

static unsigned leftovers(T *t)
{
	return fake_count(t->fake, NODE, DOCKER_STATE_EXITED) + fake_count(t->fake, NODE, DOCKER_STATE_CREATED);
}

/* Every container of ours on the engine is in the agent's table, and the table holds nothing the engine lacks. */
static void check_accounted(T *t)
{
	size_t ours = 0;

	for (size_t i = 0; i < t->fake->n_ctr; i++) {
		if (!streq(t->fake->ctr[i].node, NODE))
			continue;
		ours++;
		if (!container_find(t->agent, t->fake->ctr[i].id))
			fail_msg("container %s (%s) is not accounted for (seed %lu)", t->fake->ctr[i].name,
			         docker_state_to_string(t->fake->ctr[i].state), t->seed);
	}
	assert_int_equal(ours, t->agent->n_containers);
}

/* Quiet and converged: the targets run, nothing is left over, the table matches the engine. */
static void check_converged(T *t, unsigned a, unsigned b)
{
	behave(t, 0);
	assert_int_equal(running(t, "a"), a);
	assert_int_equal(running(t, "b"), b);
	assert_int_equal(leftovers(t), 0);
	assert_int_equal(t->fake->n_calls, 0);
	check_accounted(t);
}

/* Finds the pending call of op, fails if there is none. */
static size_t pending(T *t, FakeOp op)
{
	ssize_t i;

	loop_idle(t);
	i = fake_pending(t->fake, op);
	if (i < 0)
		fail_msg("no call of kind %d pending", op);
	return (size_t)i;
}

static FakeContainer *ours_in_state(T *t, DockerState state)
{
	for (size_t i = 0; i < t->fake->n_ctr; i++)
		if (streq(t->fake->ctr[i].node, NODE) && t->fake->ctr[i].state == state)
			return &t->fake->ctr[i];
	return NULL;
}

/* ---- scenarios ---- */

static void test_converge_up(void **state)
{
	T *t = t_new(default_config);

	set_targets(t, 3, 1);
	check_converged(t, 3, 1);
	assert_int_equal(agent_totals(t->agent)->started, 4);
	t_free(t);
}

static void test_converge_down_removes_everything_stopped(void **state)
{
	T *t = t_new(default_config);

	set_targets(t, 3, 1);
	behave(t, 0);
	set_targets(t, 1, 0);
	check_converged(t, 1, 0);
	assert_int_equal(agent_totals(t->agent)->stopped, 3);
	assert_int_equal(agent_totals(t->agent)->removed, 3);
	t_free(t);
}

static void test_capacity_goes_by_priority(void **state)
{
	T *t = t_new(default_config);

	set_targets(t, 3, 3);
	check_converged(t, 3, 1);
	t_free(t);
}

static void test_preemption_stops_before_it_starts(void **state)
{
	T *t = t_new(default_config);

	set_targets(t, 0, 4);
	check_converged(t, 0, 4);
	set_targets(t, 4, 4);
	loop_idle(t);
	/* Nothing is free: the first pass may only stop. */
	assert_int_equal(fake_pending(t->fake, F_CREATE), -1);
	assert_true(fake_pending(t->fake, F_STOP) >= 0);
	check_converged(t, 4, 0);
	assert_int_equal(t->fake->max_running, 4);
	t_free(t);
}

static void test_die_before_the_stop_answer(void **state)
{
	T *t = t_new(default_config);
	FakeContainer *c;

	set_targets(t, 1, 0);
	behave(t, 0);
	set_targets(t, 0, 0);
	(void)pending(t, F_STOP);
	c = ours_in_state(t, DOCKER_STATE_RUNNING);
	assert_non_null(c);
	fake_die(t->fake, c, 0); /* exits on its own TERM handling before the engine answers the stop */
	fake_deliver_events(t->fake);
	step(t);
	fake_answer(t->fake, pending(t, F_STOP), 0);
	check_converged(t, 0, 0);
	assert_int_equal(agent_totals(t->agent)->died, 0); /* we stopped it: not a death */
	assert_int_equal(agent_totals(t->agent)->stopped, 1);
	t_free(t);
}

static void test_die_event_frees_the_place_before_the_stop_answer(void **state)
{
	T *t = t_new(default_config);
	FakeContainer *c;

	set_targets(t, 0, 4);
	check_converged(t, 0, 4);
	set_targets(t, 1, 4);
	(void)pending(t, F_STOP);
	c = ours_in_state(t, DOCKER_STATE_RUNNING);
	for (size_t i = 0; i < t->fake->n_ctr; i++)
		if (streq(t->fake->ctr[i].id, t->fake->calls[pending(t, F_STOP)].id))
			c = &t->fake->ctr[i];
	fake_die(t->fake, c, 0);
	fake_deliver_events(t->fake);
	step(t);
	/* The place is free once the container died: the start goes before the stop's answer. */
	assert_true(fake_pending(t->fake, F_CREATE) >= 0);
	assert_true(fake_pending(t->fake, F_STOP) >= 0);
	check_converged(t, 1, 3);
	t_free(t);
}

static Fake *fake_new(void);

/* A created container left by an agent that was killed: its start (sent before the kill) may land at any moment.
 * It holds its place until it is gone, and the remove is forced, so that it cannot run on after it. */
static void test_adopted_created_is_removed_by_force(void **state)
{
	Fake *f = fake_new();
	FakeContainer *c;
	T *t;

	fake_add(f, "force12-a-left", "a", NODE, DOCKER_STATE_CREATED);
	t = t_new_with(default_config, f);
	for (int i = 0; i < 50 && fake_pending(t->fake, F_REMOVE) < 0; i++) {
		loop_idle(t);
		fake_deliver_events(t->fake);
		if (t->fake->n_calls > 0 && fake_pending(t->fake, F_REMOVE) < 0)
			fake_answer(t->fake, 0, 0);
	}
	c = &t->fake->ctr[0];
	assert_int_equal(container_find(t->agent, c->id)->phase, PHASE_CREATED);
	assert_true(t->fake->calls[pending(t, F_REMOVE)].force);
	/* The start queued by the killed agent lands now: the forced remove kills it and removes it anyway. */
	c->state = DOCKER_STATE_RUNNING;
	fake_emit(t->fake, DOCKER_EVENT_START, c);
	fake_deliver_events(t->fake);
	loop_idle(t);
	fake_answer(t->fake, pending(t, F_REMOVE), 0);
	check_converged(t, 0, 0);
	assert_int_equal(t->fake->n_ctr, 0);
	t_free(t);
}

static void test_enoent_on_start(void **state)
{
	T *t = t_new(default_config);

	set_targets(t, 1, 0);
	fake_answer(t->fake, pending(t, F_CREATE), 0);
	(void)pending(t, F_START);
	fake_drop(t->fake, ours_in_state(t, DOCKER_STATE_CREATED)); /* removed from outside */
	fake_answer(t->fake, pending(t, F_START), 0);
	step(t);
	assert_int_equal(agent_totals(t->agent)->failed, 1);
	behave(t, 2500); /* the app backs off, then tries again */
	check_converged(t, 1, 0);
	t_free(t);
}

static void test_enoent_on_stop(void **state)
{
	T *t = t_new(default_config);

	set_targets(t, 2, 0);
	behave(t, 0);
	set_targets(t, 1, 0);
	(void)pending(t, F_STOP);
	fake_drop(t->fake, fake_find(t->fake, t->fake->calls[pending(t, F_STOP)].id));
	fake_answer(t->fake, pending(t, F_STOP), 0);
	check_converged(t, 1, 0);
	t_free(t);
}

static void test_enoent_on_the_inspect_after_stop(void **state)
{
	T *t = t_new(default_config);

	set_targets(t, 1, 0);
	behave(t, 0);
	set_targets(t, 0, 0);
	fake_answer(t->fake, pending(t, F_STOP), 0);
	fake_drop(t->fake, ours_in_state(t, DOCKER_STATE_EXITED));
	if (fake_pending(t->fake, F_INSPECT) >= 0)
		fake_answer(t->fake, pending(t, F_INSPECT), 0);
	check_converged(t, 0, 0);
	t_free(t);
}

static void test_enoent_on_remove(void **state)
{
	T *t = t_new(default_config);

	set_targets(t, 1, 0);
	behave(t, 0);
	set_targets(t, 0, 0);
	fake_answer(t->fake, pending(t, F_STOP), 0);
	fake_deliver_events(t->fake);
	if (fake_pending(t->fake, F_INSPECT) >= 0)
		fake_answer(t->fake, pending(t, F_INSPECT), 0);
	(void)pending(t, F_REMOVE);
	fake_drop(t->fake, ours_in_state(t, DOCKER_STATE_EXITED));
	fake_answer(t->fake, pending(t, F_REMOVE), 0);
	check_converged(t, 0, 0);
	assert_int_equal(t->agent->n_containers, 0);
	t_free(t);
}

static void test_engine_lost_mid_create_and_back(void **state)
{
	T *t = t_new(default_config);

	set_targets(t, 2, 0);
	(void)pending(t, F_CREATE);
	fake_down(t->fake);
	step(t);
	assert_false(agent_engine_reachable(t->agent));
	t->fake->up = true;
	behave(t, 3000);
	assert_true(agent_engine_reachable(t->agent));
	check_converged(t, 2, 0);
	t_free(t);
}

static void test_engine_lost_after_create_happened(void **state)
{
	T *t = t_new(default_config);

	set_targets(t, 1, 0);
	/* The engine created it, but the answer never came: the agent does not know its id. */
	fake_answer_full(t->fake, pending(t, F_CREATE), 0, true);
	fake_down(t->fake);
	step(t);
	t->fake->up = true;
	behave(t, 3000);
	check_converged(t, 1, 0);
	t_free(t);
}

static void test_engine_lost_mid_stop_and_back(void **state)
{
	T *t = t_new(default_config);

	set_targets(t, 2, 0);
	behave(t, 0);
	set_targets(t, 0, 0);
	fake_answer_full(t->fake, pending(t, F_STOP), 0, true);
	fake_down(t->fake);
	step(t);
	t->fake->up = true;
	behave(t, 3000);
	check_converged(t, 0, 0);
	t_free(t);
}

static void test_engine_lost_mid_start_and_back(void **state)
{
	T *t = t_new(default_config);

	set_targets(t, 1, 1);
	fake_answer(t->fake, pending(t, F_CREATE), 0);
	(void)pending(t, F_START);
	fake_answer_full(t->fake, pending(t, F_START), 0, true);
	fake_down(t->fake);
	step(t);
	t->fake->up = true;
	behave(t, 3000);
	check_converged(t, 1, 1);
	t_free(t);
}

static void test_event_before_the_create_answer(void **state)
{
	T *t = t_new(default_config);

	t->fake->events_first = true;
	set_targets(t, 2, 1);
	check_converged(t, 2, 1);
	assert_int_equal(t->fake->calls_made[F_CREATE], 3);
	t_free(t);
}

static void test_die_before_the_start_answer(void **state)
{
	T *t = t_new(default_config);
	FakeContainer *c;

	set_targets(t, 1, 0);
	fake_answer(t->fake, pending(t, F_CREATE), 0);
	(void)pending(t, F_START);
	c = ours_in_state(t, DOCKER_STATE_CREATED);
	c->state = DOCKER_STATE_RUNNING;
	fake_emit(t->fake, DOCKER_EVENT_START, c);
	fake_die(t->fake, c, 1);
	fake_deliver_events(t->fake);
	step(t);
	fake_answer(t->fake, pending(t, F_START), 0); /* it was running: 304, success */
	check_converged(t, 1, 0);
	assert_int_equal(t->fake->calls_made[F_CREATE], 2);
	t_free(t);
}

static void test_adoption_after_restart(void **state)
{
	T *t = t_new(default_config);
	unsigned creates;
	Fake *f;

	set_targets(t, 3, 1);
	behave(t, 0);
	creates = t->fake->calls_made[F_CREATE];
	f = t_free_keep(t);
	t = t_new_with(default_config, f);
	behave(t, 0);
	assert_true(agent_is_ready(t->agent));
	/* Target 0 in the new agent's config: it adopts, then stops what it no longer wants. No duplicates. */
	assert_int_equal(t->fake->calls_made[F_CREATE], creates);
	check_converged(t, 0, 0);
	t_free(t);
}

/* Adopted containers created in the same second (the engine's list says seconds) tie on their start time: the
 * agent's pass stops the same ones, in the same order, as the planner over the whole table (check_pass, each step),
 * and with parallel 2 it takes them a few at a time. */
static void test_adopted_ties_stop_like_the_planner(void **state)
{
	static const char *config = "{\"capacity\": 12, \"resync_interval\": 3600, \"parallel\": 2, \"apps\": ["
	                            "{\"name\": \"a\", \"image\": \"busybox\", \"priority\": 1, \"target\": 6},"
	                            "{\"name\": \"b\", \"image\": \"busybox\", \"priority\": 2, \"target\": 4}]}";
	Fake *f = calloc(1, sizeof(Fake));
	T *t;

	assert_non_null(f);
	f->engine.ops = &fake_ops;
	f->up = true;
	for (unsigned i = 0; i < 10; i++) {
		char name[32];
		snprintf(name, sizeof(name), "force12-%s-%u", i % 3 ? "a" : "b", i);
		fake_add(f, name, i % 3 ? "a" : "b", NODE, DOCKER_STATE_RUNNING)->created = 1700000000 + i / 4;
	}
	t = t_new_with(config, f);
	set_targets(t, 6, 4); /* before the first list: it adopts them all, wanted */
	behave(t, 0);
	assert_true(agent_is_ready(t->agent));
	assert_int_equal(t->fake->calls_made[F_STOP], 0);
	set_targets(t, 2, 1);
	check_converged(t, 2, 1);
	t_free(t);
}

static void test_adoption_keeps_what_is_wanted(void **state)
{
	T *t = t_new(default_config);
	Fake *f;
	unsigned targets[CONFIG_MAX_APPS] = {3, 1};

	set_targets(t, 3, 1);
	behave(t, 0);
	f = t_free_keep(t);
	f->calls_made[F_CREATE] = 0;
	f->calls_made[F_STOP] = 0;
	t = t_new_with(default_config, f);
	agent_set_targets(t->agent, targets);
	check_converged(t, 3, 1);
	assert_int_equal(t->fake->calls_made[F_CREATE], 0);
	assert_int_equal(t->fake->calls_made[F_STOP], 0);
	t_free(t);
}

static Fake *fake_new(void)
{
	Fake *f = calloc(1, sizeof(Fake));

	assert_non_null(f);
	f->engine.ops = &fake_ops;
	f->up = true;
	return f;
}

static void test_leftovers_removed_at_startup(void **state)
{
	Fake *f = fake_new();
	T *t;

	fake_add(f, "force12-a-1", "a", NODE, DOCKER_STATE_EXITED);
	fake_add(f, "force12-a-2", "a", NODE, DOCKER_STATE_CREATED);
	fake_add(f, "force12-b-3", "b", NODE, DOCKER_STATE_DEAD);
	t = t_new_with(default_config, f);
	check_converged(t, 0, 0);
	assert_int_equal(t->fake->n_ctr, 0);
	t_free(t);
}

static void test_unknown_app_is_stopped_and_removed(void **state)
{
	Fake *f = fake_new();
	T *t;

	fake_add(f, "force12-gone-1", "gone", NODE, DOCKER_STATE_RUNNING);
	t = t_new_with(default_config, f);
	check_converged(t, 0, 0);
	assert_int_equal(t->fake->n_ctr, 0);
	t_free(t);
}

static void test_foreign_containers_untouched(void **state)
{
	Fake *f = fake_new();
	T *t;

	fake_add(f, "other-a-1", "a", "n2", DOCKER_STATE_RUNNING);
	fake_add(f, "other-a-2", "a", "n2", DOCKER_STATE_EXITED);
	t = t_new_with(default_config, f);
	set_targets(t, 2, 0);
	check_converged(t, 2, 0);
	set_targets(t, 0, 0);
	check_converged(t, 0, 0);
	assert_int_equal(fake_count(t->fake, "n2", DOCKER_STATE_RUNNING), 1);
	assert_int_equal(fake_count(t->fake, "n2", DOCKER_STATE_EXITED), 1);
	assert_int_equal(t->fake->foreign_touched, 0);
	t_free(t);
}

/* The agent was SIGKILLed mid scale-up (issue: 15/12/11 running of target 8 on capacity 9): 3 of its containers run,
 * 5 are created with their starts still on their way in the engine. The new agent counts the 5 against capacity
 * and the target until they are gone, removes them by force, and never runs more than the target, even when the
 * old starts land while it works. */
static void test_sigkill_mid_scale_up_never_over_target(void **state)
{
	const char *config = "{\"capacity\": 9, \"resync_interval\": 3600, \"parallel\": 8, \"apps\": ["
	                     "{\"name\": \"a\", \"image\": \"busybox\", \"priority\": 1, \"target\": 8},"
	                     "{\"name\": \"b\", \"image\": \"busybox\", \"priority\": 2}]}";
	Fake *f = fake_new();
	unsigned targets[CONFIG_MAX_APPS] = {8, 0};
	char name[32];
	T *t;

	for (int i = 0; i < 8; i++) {
		snprintf(name, sizeof(name), "force12-a-old%d", i);
		fake_add(f, name, "a", NODE, i < 3 ? DOCKER_STATE_RUNNING : DOCKER_STATE_CREATED);
	}
	t = t_new_with(config, f);
	agent_set_targets(t->agent, targets);
	/* Until the list is merged and the first removes are out, answer everything but the removes. */
	for (int i = 0; i < 50 && fake_pending(t->fake, F_REMOVE) < 0; i++) {
		step(t);
		fake_deliver_events(t->fake);
		if (t->fake->n_calls > 0 && fake_pending(t->fake, F_REMOVE) < 0)
			fake_answer(t->fake, 0, 0);
	}
	step(t);
	assert_int_equal(t->fake->calls_made[F_CREATE], 0); /* 3 running + 5 created = 8: nothing to add yet */
	/* The old starts land now, one by one, while the forced removes are in flight. */
	for (size_t i = 0; i < t->fake->n_ctr; i++)
		if (t->fake->ctr[i].state == DOCKER_STATE_CREATED) {
			t->fake->ctr[i].state = DOCKER_STATE_RUNNING;
			fake_emit(t->fake, DOCKER_EVENT_START, &t->fake->ctr[i]);
			fake_note_running(t->fake);
			step(t);
		}
	assert_int_equal(t->fake->calls_made[F_CREATE], 0);
	check_converged(t, 8, 0);
	assert_true(t->fake->max_running <= 8);
	assert_true(t->fake->forced_removes >= 1);
	t_free(t);
}

/* Issue 15, finding 1: an engine (or a socket proxy) that ignores filters= lists and streams every container.
 * The agent acts only on those carrying its own node id: not on another node's, not on one with only an app
 * label, not on one owned by someone else, whatever their state and whatever happens to them. */
static void test_engine_ignoring_filters_foreign_untouched(void **state)
{
	Fake *f = fake_new();
	T *t;

	f->ignore_filters = true;
	fake_add(f, "prod-db", "a", "n2", DOCKER_STATE_RUNNING);
	fake_add(f, "db", "a", "", DOCKER_STATE_RUNNING);
	fake_add(f, "their-a", "a", "someone", DOCKER_STATE_CREATED);
	fake_add(f, "their-b", "b", "someone", DOCKER_STATE_EXITED);
	t = t_new_with(default_config, f);
	set_targets(t, 2, 1);
	check_converged(t, 2, 1);
	/* Their events reach the agent too: a foreign container dies, is started, is paused. */
	fake_die(t->fake, fake_find(t->fake, "prod-db"), 1);
	fake_find(t->fake, "their-a")->state = DOCKER_STATE_RUNNING;
	fake_emit(t->fake, DOCKER_EVENT_START, fake_find(t->fake, "their-a"));
	fake_emit(t->fake, DOCKER_EVENT_CREATE, fake_find(t->fake, "db"));
	set_targets(t, 0, 0);
	check_converged(t, 0, 0);
	assert_int_equal(t->fake->foreign_touched, 0);
	assert_int_equal(t->agent->n_containers, 0);
	assert_int_equal(t->fake->n_ctr, 4);
	assert_int_equal(fake_count(t->fake, "", DOCKER_STATE_RUNNING), 1);
	assert_int_equal(fake_count(t->fake, "someone", DOCKER_STATE_RUNNING), 1);
	assert_int_equal(fake_count(t->fake, "someone", DOCKER_STATE_EXITED), 1);
	assert_int_equal(fake_count(t->fake, "n2", DOCKER_STATE_EXITED), 1);
	t_free(t);
}

static void test_killed_container_is_replaced(void **state)
{
	T *t = t_new(default_config);

	set_targets(t, 2, 0);
	behave(t, 0);
	fake_die(t->fake, ours_in_state(t, DOCKER_STATE_RUNNING), 137);
	check_converged(t, 2, 0);
	assert_int_equal(agent_totals(t->agent)->died, 1);
	assert_int_equal(t->fake->calls_made[F_CREATE], 3);
	t_free(t);
}

static void test_removed_container_is_replaced(void **state)
{
	T *t = t_new(default_config);
	FakeContainer *c;

	set_targets(t, 2, 0);
	behave(t, 0);
	c = ours_in_state(t, DOCKER_STATE_RUNNING);
	c->state = DOCKER_STATE_EXITED;
	fake_emit(t->fake, DOCKER_EVENT_DIE, c);
	fake_emit(t->fake, DOCKER_EVENT_DESTROY, c);
	fake_drop(t->fake, c);
	check_converged(t, 2, 0);
	t_free(t);
}

static void test_term_ignoring_is_counted_killed(void **state)
{
	T *t = t_new(default_config);

	set_targets(t, 2, 0);
	behave(t, 0);
	t->fake->stop_exit_code = 137;
	set_targets(t, 0, 0);
	check_converged(t, 0, 0);
	assert_int_equal(agent_totals(t->agent)->killed, 2);
	assert_int_equal(agent_totals(t->agent)->stopped, 0);
	t_free(t);
}

static void test_failing_start_backs_off_without_hurting_others(void **state)
{
	T *t = t_new(default_config);
	size_t i;

	set_targets(t, 1, 1);
	loop_idle(t);
	for (int k = 0; k < 2; k++)
		fake_answer(t->fake, pending(t, F_CREATE), 0);
	/* a's start fails; b's works */
	i = pending(t, F_START);
	fake_answer(t->fake, i, -EIO);
	behave(t, 0);
	assert_int_equal(agent_totals(t->agent)->failed, 1);
	assert_int_equal(running(t, "a") + running(t, "b"), 1);
	behave(t, 2500);
	check_converged(t, 1, 1);
	t_free(t);
}

static void test_name_conflict_is_retried(void **state)
{
	T *t = t_new(default_config);

	set_targets(t, 1, 0);
	fake_answer(t->fake, pending(t, F_CREATE), -EBUSY);
	check_converged(t, 1, 0);
	assert_int_equal(agent_totals(t->agent)->failed, 0);
	assert_int_equal(t->fake->calls_made[F_CREATE], 2);
	t_free(t);
}

static void test_missing_image_is_pulled(void **state)
{
	T *t = t_new(default_config);

	set_targets(t, 1, 0);
	fake_answer(t->fake, pending(t, F_CREATE), -ENOENT);
	(void)pending(t, F_PULL);
	behave(t, 2500);
	check_converged(t, 1, 0);
	t_free(t);
}

static void test_parallel_limit_holds(void **state)
{
	const char *config = "{\"capacity\": 8, \"resync_interval\": 3600, \"parallel\": 2, \"apps\": ["
	                     "{\"name\": \"a\", \"image\": \"busybox\"}, {\"name\": \"b\", \"image\": \"busybox\"}]}";
	T *t = t_new(config);

	set_targets(t, 6, 0);
	for (int i = 0; i < 200; i++) {
		unsigned in_flight = 0;
		loop_idle(t);
		for (size_t k = 0; k < t->fake->n_calls; k++)
			in_flight += t->fake->calls[k].op != F_REMOVE && t->fake->calls[k].op != F_INSPECT;
		assert_true(in_flight <= 2);
		if (t->fake->n_calls == 0 && t->fake->n_events == 0)
			break;
		fake_deliver_events(t->fake);
		if (t->fake->n_calls)
			fake_answer(t->fake, 0, 0);
	}
	check_converged(t, 6, 0);
	t_free(t);
}

static void test_reload_drops_an_app(void **state)
{
	T *t = t_new(default_config);
	Config *c = NULL;
	const char *text = "{\"capacity\": 4, \"resync_interval\": 3600, \"apps\": ["
	                   "{\"name\": \"a\", \"image\": \"busybox\", \"priority\": 1}]}";

	set_targets(t, 1, 2);
	behave(t, 0);
	assert_int_equal(config_parse(text, strlen(text), &c, NULL), 0);
	agent_reload(t->agent, c);
	check_converged(t, 1, 0);
	t_free(t);
}

static void test_list_failure_recovers(void **state)
{
	T *t = t_new_with(default_config, NULL);

	for (int i = 0; i < 20 && fake_pending(t->fake, F_LIST) < 0; i++) {
		loop_idle(t);
		fake_deliver_events(t->fake);
		if (t->fake->n_calls)
			fake_answer(t->fake, 0, 0);
	}
	fake_answer(t->fake, pending(t, F_LIST), -EIO);
	step(t);
	assert_false(agent_is_ready(t->agent));
	behave(t, 3000);
	assert_true(agent_is_ready(t->agent));
	set_targets(t, 1, 0);
	check_converged(t, 1, 0);
	t_free(t);
}

/* ---- the warm standby ---- */

/* Issue 15, finding 4: an engine that answers pings but whose lists fail (one too big to hold, or garbage) is
 * not listed 10 times a second for ever: the lists back off like pings, the failure shows in the agent's health
 * (and so in /healthz and /v1/status), and "Engine reachable" is not said again each time. */
static void test_list_failures_back_off(void **state)
{
	T *t = t_new_with(default_config, NULL);
	usec_t when = 0;

	for (unsigned k = 1; k <= 4; k++) {
		for (int i = 0; i < 20 && fake_pending(t->fake, F_LIST) < 0; i++) {
			loop_idle(t);
			fake_deliver_events(t->fake);
			if (t->fake->n_calls && fake_pending(t->fake, F_LIST) < 0)
				fake_answer(t->fake, 0, 0);
			else if (fake_pending(t->fake, F_LIST) < 0)
				(void)sd_event_run(t->event, 3 * USEC_PER_SEC); /* the next ping, after its delay */
		}
		fake_answer(t->fake, pending(t, F_LIST), -EFBIG);
		step(t);
		assert_false(agent_is_ready(t->agent));
		assert_false(agent_engine_reachable(t->agent));
		assert_non_null(agent_engine_error(t->agent));
		assert_non_null(strstr(agent_engine_error(t->agent), "container list failed"));
		/* The next try waits as a ping after k failures would: 100 ms doubling, not 100 ms each time. */
		assert_true(source_on(t->agent->ping_timer));
		assert_int_equal(sd_event_source_get_time(t->agent->ping_timer, &when), 0);
		assert_true(when >= now_usec(CLOCK_MONOTONIC) +
		                            backoff_delay(100 * USEC_PER_MSEC, 2 * USEC_PER_SEC, k + 1) -
		                            50 * USEC_PER_MSEC);
	}
	assert_int_equal(t->fake->calls_made[F_LIST], 4);
	behave(t, 5000);
	assert_true(agent_is_ready(t->agent));
	assert_true(agent_engine_reachable(t->agent));
	assert_null(agent_engine_error(t->agent));
	t_free(t);
}

static void test_standby_pool_fills(void **state)
{
	T *t = t_new(standby_config);

	behave(t, 0);
	assert_int_equal(paused(t, "a"), 2);
	assert_int_equal(running(t, "a"), 0);
	assert_int_equal(agent_totals(t->agent)->warmed, 2);
	check_accounted(t);
	t_free(t);
}

static void test_standby_resume_before_create(void **state)
{
	T *t = t_new(standby_config);
	unsigned creates;

	behave(t, 0);
	creates = t->fake->calls_made[F_CREATE];
	set_targets(t, 2, 0);
	loop_idle(t);
	assert_int_equal(fake_pending(t->fake, F_CREATE), -1);
	assert_true(fake_pending(t->fake, F_UNPAUSE) >= 0);
	behave(t, 0);
	assert_int_equal(running(t, "a"), 2);
	assert_int_equal(agent_totals(t->agent)->resumed, 2);
	/* refilled once quiet */
	assert_int_equal(paused(t, "a"), 2);
	assert_int_equal(t->fake->calls_made[F_CREATE], creates + 2);
	t_free(t);
}

static void test_standby_park_on_scale_down(void **state)
{
	T *t = t_new(standby_config);

	set_targets(t, 2, 0);
	behave(t, 0);
	assert_int_equal(paused(t, "a"), 2);
	/* Someone removes the pool; before the agent acts on it, the target drops: the excess parks. */
	for (size_t i = t->fake->n_ctr; i-- > 0;)
		if (t->fake->ctr[i].state == DOCKER_STATE_PAUSED) {
			t->fake->ctr[i].state = DOCKER_STATE_EXITED;
			fake_emit(t->fake, DOCKER_EVENT_DIE, &t->fake->ctr[i]);
			fake_emit(t->fake, DOCKER_EVENT_DESTROY, &t->fake->ctr[i]);
			fake_drop(t->fake, &t->fake->ctr[i]);
		}
	fake_deliver_events(t->fake);
	set_targets(t, 0, 0);
	behave(t, 0);
	assert_int_equal(agent_totals(t->agent)->parked, 2);
	assert_int_equal(paused(t, "a"), 2);
	assert_int_equal(running(t, "a"), 0);
	check_accounted(t);
	t_free(t);
}

static void test_standby_retire_on_reload(void **state)
{
	T *t = t_new(standby_config);
	Config *c = NULL;

	behave(t, 0);
	assert_int_equal(paused(t, "a"), 2);
	assert_int_equal(config_parse(default_config, strlen(default_config), &c, NULL), 0);
	agent_reload(t->agent, c);
	check_converged(t, 0, 0);
	assert_int_equal(paused(t, "a"), 0);
	assert_int_equal(t->fake->n_ctr, 0);
	t_free(t);
}

static void test_standby_resume_of_a_vanished_container(void **state)
{
	T *t = t_new(standby_config);

	behave(t, 0);
	set_targets(t, 1, 0);
	(void)pending(t, F_UNPAUSE);
	fake_drop(t->fake, fake_find(t->fake, t->fake->calls[pending(t, F_UNPAUSE)].id));
	fake_answer(t->fake, pending(t, F_UNPAUSE), 0);
	behave(t, 0);
	assert_int_equal(running(t, "a"), 1);
	assert_int_equal(paused(t, "a"), 2);
	check_accounted(t);
	t_free(t);
}

static void test_standby_park_refused_stops_instead(void **state)
{
	T *t = t_new(standby_config);

	set_targets(t, 2, 0);
	behave(t, 0);
	for (size_t i = t->fake->n_ctr; i-- > 0;)
		if (t->fake->ctr[i].state == DOCKER_STATE_PAUSED) {
			fake_emit(t->fake, DOCKER_EVENT_DESTROY, &t->fake->ctr[i]);
			fake_drop(t->fake, &t->fake->ctr[i]);
		}
	fake_deliver_events(t->fake);
	set_targets(t, 1, 0);
	fake_answer(t->fake, pending(t, F_PAUSE), -EBUSY);
	behave(t, 0);
	assert_int_equal(running(t, "a"), 1);
	assert_int_equal(agent_totals(t->agent)->stopped, 1);
	check_accounted(t);
	t_free(t);
}

/* A lagging event stream delivers our own earlier pause of a container after the answer to its resume: the engine
 * runs it, and the agent must not count it as standby again (it would resume another on a full node: 5 running on
 * a capacity of 4, checked from the fake engine's truth at every step). */
static void test_standby_stale_pause_event_after_resume(void **state)
{
	T *t = t_new(standby_config);
	DockerEvent stale;
	char x[sizeof(t->fake->calls[0].id)];
	size_t i;

	behave(t, 0);
	assert_int_equal(paused(t, "a"), 2);
	set_targets(t, 1, 3);
	i = pending(t, F_UNPAUSE);
	snprintf(x, sizeof(x), "%s", t->fake->calls[i].id);
	fake_answer(t->fake, i, 0);
	/* x runs; the stream now brings the pause of x it held back, ahead of the unpause's own event. */
	fake_emit(t->fake, DOCKER_EVENT_PAUSE, fake_find(t->fake, x));
	stale = t->fake->events[t->fake->n_events - 1];
	t->fake->n_events--;
	t->fake->on_event(&stale, t->fake->stream_userdata);
	behave(t, 0);
	assert_int_equal(running(t, "a"), 1);
	assert_int_equal(running(t, "b"), 3);
	/* x was not taken for standby again: no second unpause of it (the list said it runs). */
	assert_int_equal(t->fake->calls_made[F_UNPAUSE], 1);
	assert_int_equal(agent_totals(t->agent)->resumed, 1);
	check_accounted(t);
	t_free(t);
}

static void test_standby_adopted_after_restart(void **state)
{
	T *t = t_new(standby_config);
	unsigned creates;
	Fake *f;

	behave(t, 0);
	creates = t->fake->calls_made[F_CREATE];
	f = t_free_keep(t);
	t = t_new_with(standby_config, f);
	behave(t, 0);
	assert_int_equal(paused(t, "a"), 2);
	assert_int_equal(t->fake->calls_made[F_CREATE], creates);
	check_accounted(t);
	t_free(t);
}

/* ---- scale ---- */

/* A resync of n owned containers: the list's answer merged into the table. Prints the time per container; the
 * check is that the table ends up right, and (as a figure) that 4x the containers costs about 4x, not 16x. */
static double resync_usec(unsigned n)
{
	const char *config = "{\"capacity\": 1000000, \"resync_interval\": 3600, \"apps\": ["
	                     "{\"name\": \"a\", \"image\": \"busybox\"}, {\"name\": \"b\", \"image\": \"busybox\"}]}";
	_cleanup_free_ DockerContainer *list = calloc(n, sizeof(DockerContainer));
	T *t = t_new(config);
	usec_t begin, end;

	assert_non_null(list);
	for (unsigned i = 0; i < n; i++) {
		list[i] = (DockerContainer){.state = DOCKER_STATE_RUNNING, .created = 1700000000};
		snprintf(list[i].id, sizeof(list[i].id), "%064x", i + 1);
		snprintf(list[i].name, sizeof(list[i].name), "force12-a-%u", i);
		snprintf(list[i].app, sizeof(list[i].app), "a");
		snprintf(list[i].node, sizeof(list[i].node), NODE);
	}
	t->agent->list_seq = ++t->agent->seq;
	begin = now_usec(CLOCK_MONOTONIC);
	container_merge_list(t->agent, list, n); /* adopts every one */
	t->agent->list_seq = ++t->agent->seq;
	container_merge_list(t->agent, list, n); /* and again: every one is found */
	end = now_usec(CLOCK_MONOTONIC);
	assert_int_equal(t->agent->n_containers, n);
	for (unsigned i = 0; i < n; i += 97)
		assert_non_null(container_find(t->agent, list[i].id));
	t_free(t);
	return (double)(end - begin);
}

static void test_resync_is_linear(void **state)
{
	double small = resync_usec(1000), big = resync_usec(4000);

	print_message("figure: resync of 1000 owned containers: %.0f us (%.2f us each); 4000: %.0f us, ratio %.1f\n",
	              small, small / 1000, big, big / MAX(small, 1));
}

/* The one backoff, with the schedules the README states: engine pings 0.1 s doubling to 2 s, a failing app's
 * starts 1 s doubling to 60 s. */
static void test_backoff_schedules(void **state)
{
	static const usec_t ping[] = {100, 200, 400, 800, 1600, 2000, 2000};
	static const usec_t app[] = {1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000};

	for (unsigned i = 0; i < ELEMENTSOF(ping); i++)
		assert_int_equal(backoff_delay(100 * USEC_PER_MSEC, 2 * USEC_PER_SEC, i + 1), ping[i] * USEC_PER_MSEC);
	for (unsigned i = 0; i < ELEMENTSOF(app); i++)
		assert_int_equal(backoff_delay(USEC_PER_SEC, 60 * USEC_PER_SEC, i + 1), app[i] * USEC_PER_MSEC);
	assert_int_equal(backoff_delay(USEC_PER_SEC, 60 * USEC_PER_SEC, 0), USEC_PER_SEC);
	assert_int_equal(backoff_delay(USEC_PER_SEC, 60 * USEC_PER_SEC, UINT32_MAX), 60 * USEC_PER_SEC);
}

/* ---- what the API shows ---- */

static void test_every_phase_has_a_name(void **state)
{
	for (ContainerPhase p = 0; p < _PHASE_MAX; p++) {
		const char *name = container_phase_to_string(p);
		assert_non_null(name);
		for (ContainerPhase q = 0; q < p; q++)
			assert_string_not_equal(name, container_phase_to_string(q));
	}
	assert_null(container_phase_to_string(_PHASE_MAX));
}

/* /v1/containers names the state of standby, warming and parking containers too (it showed none: "-"). */
static void test_containers_json_names_standby_states(void **state)
{
	T *t = t_new_with(standby_config, NULL);
	unsigned seen_standby = 0, seen_warming = 0;
	cJSON *arr, *o;

	for (int i = 0; i < 50 && fake_pending(t->fake, F_CREATE) < 0; i++) {
		loop_idle(t);
		fake_deliver_events(t->fake);
		if (t->fake->n_calls > 0 && fake_pending(t->fake, F_CREATE) < 0)
			fake_answer(t->fake, 0, 0);
	}
	arr = agent_containers_json(t->agent);
	cJSON_ArrayForEach (o, arr) {
		const cJSON *st = cJSON_GetObjectItemCaseSensitive(o, "state");
		assert_true(cJSON_IsString(st));
		seen_warming += streq(st->valuestring, "warming");
	}
	cJSON_Delete(arr);
	behave(t, 0);
	arr = agent_containers_json(t->agent);
	cJSON_ArrayForEach (o, arr) {
		const cJSON *st = cJSON_GetObjectItemCaseSensitive(o, "state");
		assert_true(cJSON_IsString(st));
		seen_standby += streq(st->valuestring, "standby");
	}
	cJSON_Delete(arr);
	assert_int_equal(seen_warming, 2);
	assert_int_equal(seen_standby, 2);
	t_free(t);
}

/* ---- the property test: random interleavings ---- */

static unsigned long rnd(unsigned long *s)
{
	uint64_t x = *s;

	*s = (unsigned long)xorshift64(&x);
	return *s;
}

/* What the node gives each app: (priority, name) order, each min(target, capacity left). Apps a, b: a first. */
static void expected(unsigned capacity, unsigned ta, unsigned tb, unsigned *ra, unsigned *rb)
{
	*ra = MIN(ta, capacity);
	*rb = MIN(tb, capacity - *ra);
}

static void random_step(T *t, unsigned long *s, unsigned *ta, unsigned *tb)
{
	Fake *f = t->fake;
	unsigned long r = rnd(s) % 100;
	static const int errors[] = {-ENOENT, -EBUSY, -EIO};

	if (r < 5) {
		*ta = (unsigned)(rnd(s) % 7);
		*tb = (unsigned)(rnd(s) % 7);
		set_targets(t, *ta, *tb);
	} else if (r < 60) {
		if (f->n_calls)
			fake_answer(f, rnd(s) % f->n_calls, 0);
	} else if (r < 66) {
		/* A refusal on a call whose failure costs no backoff (the test must converge within its limit). */
		size_t i = f->n_calls ? rnd(s) % f->n_calls : 0;
		int e = errors[rnd(s) % ELEMENTSOF(errors)];
		/* The engine says ENOENT only of what is gone: a lie would be corrected by the next resync only. */
		if (e == -ENOENT && f->n_calls && fake_find(f, f->calls[i].id))
			e = -EIO;
		if (f->n_calls && f->calls[i].op != F_START && f->calls[i].op != F_CREATE && f->calls[i].op != F_PING &&
		    f->calls[i].op != F_LIST)
			fake_answer(f, i, e);
	} else if (r < 68) {
		if (f->n_calls)
			fake_answer_full(f, rnd(s) % f->n_calls, 0, true);
	} else if (r < 90) {
		if (f->n_events) {
			DockerEvent e = f->events[0];
			memmove(&f->events[0], &f->events[1], (f->n_events - 1) * sizeof(e));
			f->n_events--;
			if (f->stream_open)
				f->on_event(&e, f->stream_userdata);
		}
	} else if (r < 93) {
		FakeContainer *c = ours_in_state(t, DOCKER_STATE_RUNNING);
		if (c)
			fake_die(f, c, rnd(s) % 2 ? 137 : 0);
	} else {
		(void)sd_event_run(t->event, 1000); /* let a timer fire */
	}
}

static void dump(T *t)
{
	for (size_t i = 0; i < t->fake->n_ctr; i++) {
		Container *c = container_find(t->agent, t->fake->ctr[i].id);
		fprintf(stderr, "engine %s %s %s %s: agent %s phase %d op %d\n", t->fake->ctr[i].node,
		        t->fake->ctr[i].app, t->fake->ctr[i].id + 56, docker_state_to_string(t->fake->ctr[i].state),
		        c ? "knows" : "lacks", c ? (int)c->phase : -1, c ? (int)c->op : -1);
	}
	fprintf(stderr, "agent: %zu containers, engine_up %d synced %d, ops %u removes %u\n", t->agent->n_containers,
	        t->agent->engine_up, t->agent->synced, t->agent->ops_in_flight, t->agent->removes_in_flight);
}

/* One turn of the loop only (one source dispatched): a list's merge, a reconcile, may wait while more happens. */
static void one_turn(T *t)
{
	check_tally(t);
	check_pass(t);
	(void)sd_event_run(t->event, 0);
	check_invariants(t);
}

/* sliced: lists merged an entry or two a turn, resyncs often, and the loop sometimes run one turn only between two
 * happenings, so that events and answers land in the middle of a merge and before a reconcile. */
static void property_run_with(const char *config, unsigned standby, unsigned long seed, unsigned steps, bool sliced)
{
	unsigned long s = seed;
	unsigned ta = 0, tb = 0, ra, rb, pool_min;
	T *t = t_new(config);

	t->seed = seed;
	if (sliced) {
		t->agent->merge_slice = 1 + seed % 2;
		t->agent->merge_slice_usec = 0; /* one step a turn */
	}
	for (unsigned i = 0; i < steps; i++) {
		random_step(t, &s, &ta, &tb);
		if (sliced && rnd(&s) % 8 == 0) /* a resync is due: more lists, merged while all this goes on */
			assert_int_equal(sd_event_source_set_time(t->agent->resync_timer, 1), 0);
		if (sliced && (t->agent->merge.active || rnd(&s) % 3 == 0))
			one_turn(t);
		else
			step(t);
	}
	/* From here on the engine behaves: the agent must converge. */
	behave(t, 3000);
	expected(t->capacity, ta, tb, &ra, &rb);
	/* The pool fills only into free capacity (a warming container runs until it is paused); once filled it may
	 * stay while others use the node. */
	pool_min = MIN(standby, t->capacity - ra - rb);
	if (running(t, "a") != ra || running(t, "b") != rb || leftovers(t) != 0 || paused(t, "a") < pool_min ||
	    paused(t, "a") > standby) {
		dump(t);
		fail_msg("seed %lu: a %u/%u, b %u/%u, %u left over, %u parked (want %u..%u)", seed, running(t, "a"), ra,
		         running(t, "b"), rb, leftovers(t), paused(t, "a"), pool_min, standby);
	}
	check_accounted(t);
	t_free(t);
}

static void property_run(const char *config, unsigned standby, unsigned long seed, unsigned steps)
{
	property_run_with(config, standby, seed, steps, false);
}

static void test_property_random_interleavings(void **state)
{
	for (unsigned long seed = 1; seed <= 40; seed++)
		property_run(default_config, 0, seed * 2654435761UL, 400);
}

/* True when the planner counts a WARMING container against capacity, as the engine does (it runs between its
 * start and its pause). Until plan.c does (issue #20), the standby property test cannot hold and says so. */
static void test_property_random_interleavings_with_standby(void **state)
{
	for (unsigned long seed = 1; seed <= 40; seed++)
		property_run(standby_config, 2, seed * 40503UL + 7, 400);
}

/* The same with lists merged a slice at a time and the loop sometimes turned once only: events, answers and
 * target changes land in the middle of a merge (issue 16: a list of 50,000 is merged over many turns). */
static void test_property_random_interleavings_sliced(void **state)
{
	for (unsigned long seed = 1; seed <= 20; seed++) {
		property_run_with(default_config, 0, seed * 2654435761UL + 3, 400, true);
		property_run_with(standby_config, 2, seed * 40503UL + 11, 400, true);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_converge_up),
	        cmocka_unit_test(test_converge_down_removes_everything_stopped),
	        cmocka_unit_test(test_capacity_goes_by_priority),
	        cmocka_unit_test(test_preemption_stops_before_it_starts),
	        cmocka_unit_test(test_die_before_the_stop_answer),
	        cmocka_unit_test(test_die_event_frees_the_place_before_the_stop_answer),
	        cmocka_unit_test(test_adopted_created_is_removed_by_force),
	        cmocka_unit_test(test_enoent_on_start),
	        cmocka_unit_test(test_enoent_on_stop),
	        cmocka_unit_test(test_enoent_on_the_inspect_after_stop),
	        cmocka_unit_test(test_enoent_on_remove),
	        cmocka_unit_test(test_engine_lost_mid_create_and_back),
	        cmocka_unit_test(test_engine_lost_after_create_happened),
	        cmocka_unit_test(test_engine_lost_mid_stop_and_back),
	        cmocka_unit_test(test_engine_lost_mid_start_and_back),
	        cmocka_unit_test(test_event_before_the_create_answer),
	        cmocka_unit_test(test_die_before_the_start_answer),
	        cmocka_unit_test(test_adoption_after_restart),
	        cmocka_unit_test(test_adoption_keeps_what_is_wanted),
	        cmocka_unit_test(test_adopted_ties_stop_like_the_planner),
	        cmocka_unit_test(test_leftovers_removed_at_startup),
	        cmocka_unit_test(test_unknown_app_is_stopped_and_removed),
	        cmocka_unit_test(test_foreign_containers_untouched),
	        cmocka_unit_test(test_sigkill_mid_scale_up_never_over_target),
	        cmocka_unit_test(test_engine_ignoring_filters_foreign_untouched),
	        cmocka_unit_test(test_killed_container_is_replaced),
	        cmocka_unit_test(test_removed_container_is_replaced),
	        cmocka_unit_test(test_term_ignoring_is_counted_killed),
	        cmocka_unit_test(test_failing_start_backs_off_without_hurting_others),
	        cmocka_unit_test(test_name_conflict_is_retried),
	        cmocka_unit_test(test_missing_image_is_pulled),
	        cmocka_unit_test(test_parallel_limit_holds),
	        cmocka_unit_test(test_reload_drops_an_app),
	        cmocka_unit_test(test_list_failure_recovers),
	        cmocka_unit_test(test_list_failures_back_off),
	        cmocka_unit_test(test_standby_pool_fills),
	        cmocka_unit_test(test_standby_resume_before_create),
	        cmocka_unit_test(test_standby_park_on_scale_down),
	        cmocka_unit_test(test_standby_retire_on_reload),
	        cmocka_unit_test(test_standby_resume_of_a_vanished_container),
	        cmocka_unit_test(test_standby_park_refused_stops_instead),
	        cmocka_unit_test(test_standby_stale_pause_event_after_resume),
	        cmocka_unit_test(test_standby_adopted_after_restart),
	        cmocka_unit_test(test_resync_is_linear),
	        cmocka_unit_test(test_backoff_schedules),
	        cmocka_unit_test(test_every_phase_has_a_name),
	        cmocka_unit_test(test_containers_json_names_standby_states),
	        cmocka_unit_test(test_property_random_interleavings),
	        cmocka_unit_test(test_property_random_interleavings_with_standby),
	        cmocka_unit_test(test_property_random_interleavings_sliced),
	};

	log_set_max_level(LOG_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
