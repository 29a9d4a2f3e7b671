// SPDX-License-Identifier: Apache-2.0
/* The container state machine: the table of the containers that carry the agent's node id, their phases, and
 * every transition, whether an engine answer, an engine event or a list causes it. Each chain of engine calls
 * (create -> start [-> pause], stop -> inspect -> remove, pause, unpause) records what happened and reports to the
 * agent through Agent.news; a chain never decides what should run, the plan does. */
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "agent-internal.h"

/* Sized by _PHASE_MAX: a phase added to plan.h without a name here fails test-core's walk over every value. */
static const char *const phase_table[_PHASE_MAX] = {
        [PHASE_STARTING] = "starting", [PHASE_RUNNING] = "running",   [PHASE_STOPPING] = "stopping",
        [PHASE_EXITED] = "exited",     [PHASE_REMOVING] = "removing", [PHASE_STANDBY] = "standby",
        [PHASE_WARMING] = "warming",   [PHASE_PARKING] = "parking",   [PHASE_CREATED] = "created",
};

const char *container_phase_to_string(ContainerPhase p)
{
	if (p < 0 || p >= _PHASE_MAX)
		return NULL;
	return phase_table[p];
}

/* ---- the container table ---- */

Container *container_new(Agent *a, int app, const char *app_name)
{
	Container *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->agent = a;
	c->app = app;
	snprintf(c->app_name, sizeof(c->app_name), "%s", app_name);
	c->exit_code = -1;
	c->serial = ++a->serial;
	LIST_PREPEND(containers, a->containers, c);
	a->n_containers++;
	table_add(c);
	container_touch(c);
	return c;
}

/* The id is known once the create answered (or the list named it): from then on c is found by it. */
static int container_set_id(Container *c, const char *id)
{
	snprintf(c->id, sizeof(c->id), "%s", id);
	return hashmap_put(c->agent->by_id, c->id, c);
}

Container *container_find(Agent *a, const char *id)
{
	return id[0] ? hashmap_get(a->by_id, id) : NULL;
}

/* A container freed while a list is in flight must not come back from that list, which may predate its end. */
static void remember_vanished(Agent *a, const char *id)
{
	char *copy;

	if (!a->list_in_flight || !id[0] || hashmap_get(a->vanished, id))
		return;
	copy = strdup(id);
	if (copy && hashmap_put(a->vanished, copy, copy) < 0)
		free(copy);
}

void container_forget_vanished(Agent *a)
{
	char *id;

	while (a->vanished && (id = hashmap_steal_first(a->vanished)))
		free(id);
}

void container_free(Container *c)
{
	Agent *a = c->agent;

	remember_vanished(a, c->id);
	if (c->id[0] && hashmap_get(a->by_id, c->id) == c)
		(void)hashmap_remove(a->by_id, c->id);
	table_remove(c);
	if (a->merge.drop_next == c)
		a->merge.drop_next = c->containers_next;
	LIST_REMOVE(containers, a->containers, c);
	a->n_containers--;
	free(c);
}

void container_touch(Container *c)
{
	c->seq = ++c->agent->seq;
}

static void phase_from_state(Container *c, DockerState state)
{
	switch (state) {
	case DOCKER_STATE_RUNNING:
	case DOCKER_STATE_RESTARTING:
		container_set_phase(c, PHASE_RUNNING);
		break;
	case DOCKER_STATE_PAUSED: /* the standby pool (or paused by someone else: the pool's rules apply) */
		container_set_phase(c, PHASE_STANDBY);
		break;
	case DOCKER_STATE_REMOVING:
		container_set_phase(c, PHASE_REMOVING);
		break;
	case DOCKER_STATE_CREATED:
		/* Ours from this life: its start failed, garbage. Adopted: an agent killed mid scale-up may have sent
		 * its start, which the engine still carries out; it may run at any moment (PHASE_CREATED). */
		container_set_phase(c, c->adopted ? PHASE_CREATED : PHASE_EXITED);
		break;
	default:
		container_set_phase(c, PHASE_EXITED);
		break;
	}
}

bool container_is_ours(Agent *a, const char *node)
{
	return streq(node, a->node_id);
}

/* A container found on the engine that this agent did not create in this life. */
static Container *container_adopt(Agent *a, const char *id, const char *app, const char *name)
{
	Container *c = container_new(a, config_find_app(a->config, app), app);

	if (!c)
		return NULL;
	if (container_set_id(c, id) < 0) {
		container_free(c);
		return NULL;
	}
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->adopted = true;
	return c;
}

static void merge_listed(Agent *a, const DockerContainer *l)
{
	Container *c;

	if (!container_is_ours(a, l->node))
		return; /* never ours, whatever the engine's filter let through */
	c = container_find(a, l->id);

	if (c) {
		if (c->op == OP_NONE && c->seq < a->list_seq)
			phase_from_state(c, l->state);
		c->seq = MAX(c->seq, a->list_seq); /* seen */
		return;
	}
	if (hashmap_get(a->vanished, l->id) || hashmap_get(a->creating, l->name))
		return; /* gone meanwhile, or our own create whose answer is on its way */
	c = container_adopt(a, l->id, l->app, l->name);
	if (!c)
		return;
	container_set_started_at(c, (uint64_t)l->created * USEC_PER_SEC);
	c->seq = a->list_seq;
	phase_from_state(c, l->state);
	/* A line for each of the first few; the rest at debug level (50,000 lines would hold the first sync). */
	if (!a->ready && c->phase == PHASE_RUNNING)
		log_app(a->n_containers <= 16 ? LOG_INFO : LOG_DEBUG, 0, c->app_name, c->id,
		        "Adopting running container %s", c->name);
}

/* Everything listed is marked with seq >= list_seq, and so is whatever changed since the list was issued; what is
 * older and idle was not listed: gone. */
static void drop_if_unlisted(Agent *a, Container *c)
{
	if (c->op == OP_NONE && c->seq < a->list_seq)
		container_free(c);
}

void container_merge_list(Agent *a, const DockerContainer *list, size_t n)
{
	Container *c, *next;

	for (size_t i = 0; i < n; i++)
		merge_listed(a, &list[i]);
	LIST_FOREACH_SAFE(containers, c, next, a->containers)
	drop_if_unlisted(a, c);
	container_forget_vanished(a);
}

void container_merge_begin(Agent *a, DockerContainer *list, size_t n)
{
	container_merge_end(a);
	a->merge = (ListMerge){.list = list, .n = n, .active = true};
}

/* Between two steps anything may happen (events, answers, containers freed): what changes a container moves its
 * seq past list_seq, a freed one is remembered as vanished (list_in_flight holds until the end) and the walk's
 * next container moves on when it is freed. */
bool container_merge_step(Agent *a, size_t max)
{
	ListMerge *m = &a->merge;

	if (!m->active)
		return true;
	if (!m->dropping) {
		size_t end = m->pos + MIN(max, m->n - m->pos);

		for (; m->pos < end; m->pos++)
			merge_listed(a, &m->list[m->pos]);
		if (m->pos < m->n)
			return false;
		free(TAKE_PTR(m->list));
		m->dropping = true;
		m->drop_next = a->containers;
		return false;
	}
	for (size_t k = 0; k < max && m->drop_next; k++) {
		Container *c = m->drop_next;

		m->drop_next = c->containers_next;
		drop_if_unlisted(a, c);
	}
	if (m->drop_next)
		return false;
	container_forget_vanished(a);
	container_merge_end(a);
	return true;
}

void container_merge_end(Agent *a)
{
	free(a->merge.list);
	a->merge = (ListMerge){};
}

/* ---- events ---- */

static void on_die(Agent *a, Container *c, int exit_code)
{
	c->exit_code = exit_code;
	if (c->op != OP_NONE) {
		c->died = true; /* the op in flight settles it */
		/* A container we stop no longer runs once it died: its place is free now, not when the engine has
		 * finished the stop call (about 140 ms later), so a start waiting for the place goes at once. */
		if (c->op == OP_STOP && c->phase == PHASE_STOPPING) {
			container_set_phase(c, PHASE_EXITED);
			container_touch(c);
		}
		return;
	}
	if (c->phase == PHASE_RUNNING) {
		a->totals.died++;
		log_app(LOG_WARNING, 0, c->app_name, c->id,
		        "Container %s exited on its own with status %d; replacing it", c->name, exit_code);
	}
	container_set_phase(c, PHASE_EXITED);
	container_touch(c);
}

/* A create or start of ours that this life did not send (an agent killed mid scale-up sent it), or a late event of
 * one already gone: a list tells which, at once rather than at the next resync, so that the new one is counted
 * before more starts go over the target. */
static bool unknown_event(Agent *a, const DockerEvent *ev)
{
	if (ev->name[0] && hashmap_get(a->creating, ev->name))
		return false; /* our own create still in flight */
	/* While a list is in flight or being merged, the container may be one it names in its older state. */
	if (a->list_in_flight && ev->action != DOCKER_EVENT_OTHER && !hashmap_get(a->vanished, ev->id)) {
		a->resync_wanted = true;
		return false;
	}
	if (ev->action != DOCKER_EVENT_CREATE && ev->action != DOCKER_EVENT_START)
		return false;
	if (!ev->name[0])
		return false;
	a->resync_wanted = true;
	return false;
}

bool container_handle_event(Agent *a, const DockerEvent *ev)
{
	Container *c;

	if (!container_is_ours(a, ev->node))
		return false; /* never ours, whatever the engine's filter let through */
	c = container_find(a, ev->id);
	if (!c)
		return unknown_event(a, ev);
	switch (ev->action) {
	case DOCKER_EVENT_DIE:
		on_die(a, c, ev->exit_code);
		break;
	case DOCKER_EVENT_DESTROY:
		if (c->op != OP_NONE) {
			c->died = true;
			break;
		}
		log_app(LOG_INFO, 0, c->app_name, c->id, "Container %s was removed by someone else", c->name);
		container_free(c);
		break;
	case DOCKER_EVENT_START:
		if (c->op == OP_NONE && (c->phase == PHASE_EXITED || c->phase == PHASE_CREATED)) {
			container_set_phase(c, PHASE_RUNNING);
			container_touch(c);
		}
		break;
	case DOCKER_EVENT_PAUSE:
	case DOCKER_EVENT_UNPAUSE:
		/* With no op of ours in flight, a pause or unpause that contradicts the table is someone else's doing,
		 * or one of ours that a lagging stream delivers after a later answer (our pause of a container after
		 * the answer to its resume): the engine's list tells which. Flipping a running container to standby on
		 * a stale event would resume it again, or count a running one as free room. */
		if (c->op == OP_NONE && (c->phase == PHASE_RUNNING || c->phase == PHASE_STANDBY) &&
		    c->phase != (ev->action == DOCKER_EVENT_PAUSE ? PHASE_STANDBY : PHASE_RUNNING))
			a->resync_wanted = true;
		break;
	default:
		return false;
	}
	return true;
}

static usec_t usec_since(usec_t begin)
{
	return now_usec(CLOCK_MONOTONIC) - begin;
}

static void report(Agent *a, ContainerNews news, int app, int error, const char *message)
{
	if (a->news)
		a->news(a, news, app, error, message);
}

/* An answer that says the engine cannot be reached is reported as that; true if it was. */
static bool engine_gone(Container *c, const EngineReply *reply)
{
	if (!engine_error_is_unreachable(reply->error))
		return false;
	report(c->agent, NEWS_ENGINE_LOST, c->app, reply->error, reply->message);
	return true;
}

/* Removes have a budget of their own: a remove is cheap and never urgent, so it must not hold a slot that a stop
 * or a start needs (a preemption frees capacity stop by stop, and each freed place goes straight to a start). */
static unsigned *budget_of(Agent *a, ContainerOp op)
{
	return op == OP_REMOVE ? &a->removes_in_flight : &a->ops_in_flight;
}

static void op_release(Container *c)
{
	if (c->op != OP_NONE)
		(*budget_of(c->agent, c->op))--;
	c->op = OP_NONE;
}

static void op_begin(Container *c, ContainerOp op)
{
	op_release(c);
	(*budget_of(c->agent, op))++;
	c->op = op;
}

/* Ends a chain: the container is idle again (or freed) and the reconciler may act on the news. */
static void op_end(Container *c, bool free_it)
{
	Agent *a = c->agent;
	int app = c->app;

	op_release(c);
	if (free_it)
		container_free(c);
	else
		container_touch(c);
	report(a, NEWS_CHANGED, app, 0, NULL);
}

/* ---- create -> start (-> pause, for the standby pool) ---- */

static void on_warm_pause(const EngineReply *reply, void *userdata)
{
	Container *c = userdata;
	Agent *a = c->agent;

	if (reply->error < 0) {
		if (!engine_gone(c, reply))
			log_app(LOG_WARNING, reply->error, c->app_name, c->id,
			        "Failed to pause %s into the standby pool: %s", c->name, reply->message);
		container_set_phase(c,
		                    c->died ? PHASE_EXITED : PHASE_RUNNING); /* running after all: the plan decides */
		return op_end(c, false);
	}
	a->totals.warmed++;
	container_set_phase(c, c->died ? PHASE_EXITED : PHASE_STANDBY);
	log_app(LOG_DEBUG, 0, c->app_name, c->id, "Warmed %s into the standby pool in %.0f ms", c->name,
	        (double)usec_since(c->op_begin) / USEC_PER_MSEC);
	op_end(c, false);
}

static void warm_started(Container *c)
{
	Agent *a = c->agent;

	if (c->died) {
		container_set_phase(c, PHASE_EXITED);
		return op_end(c, false);
	}
	op_begin(c, OP_PAUSE);
	if (a->engine->ops->pause(a->engine, c->id, on_warm_pause, c) < 0) {
		container_set_phase(c, PHASE_RUNNING);
		op_end(c, false);
	}
}

static void on_start(const EngineReply *reply, void *userdata)
{
	Container *c = userdata;
	Agent *a = c->agent;

	if (reply->error < 0) {
		if (!engine_gone(c, reply))
			report(a, NEWS_START_FAILED, c->app, reply->error, reply->message);
		container_set_phase(c, PHASE_EXITED); /* created but not running: garbage */
		return op_end(c, false);
	}
	if (c->app >= 0)
		a->apps[c->app].failures = 0, a->apps[c->app].last_error[0] = 0;
	container_set_started_at(c, now_usec(CLOCK_REALTIME));
	if (c->warm)
		return warm_started(c);
	a->totals.started++;
	histogram_observe(&a->start_latency, usec_since(c->op_begin));
	container_set_phase(c, c->died ? PHASE_EXITED : PHASE_RUNNING);
	log_app(LOG_INFO, 0, c->app_name, c->id, "Started %s in %.0f ms", c->name,
	        (double)usec_since(c->op_begin) / USEC_PER_MSEC);
	op_end(c, false);
}

static void on_create(const EngineReply *reply, void *userdata)
{
	const EngineReply no_id = {.error = -EPROTO, .message = "create answered without a valid Id"};
	Container *c = userdata;
	Agent *a = c->agent;
	int r;

	(void)hashmap_remove(a->creating, c->name);
	if (reply->error == 0 && (!reply->id || !docker_id_is_valid(reply->id)))
		reply = &no_id;
	if (reply->error == 0 && container_find(a, reply->id)) {
		/* Adopted from a list or an event that named it by a name we did not know yet: it is this one. */
		Container *other = container_find(a, reply->id);
		if (other->op == OP_NONE)
			container_free(other);
	}
	if (reply->error == 0)
		if (container_set_id(c, reply->id) < 0)
			reply = &no_id;
	if (reply->error < 0) {
		if (engine_error_is_unreachable(reply->error))
			report(a, NEWS_ENGINE_LOST, c->app, reply->error, reply->message);
		else if (reply->error == -EBUSY) /* name taken: the next pass picks another */
			log_app(LOG_DEBUG, 0, c->app_name, NULL, "Name %s taken, retrying", c->name);
		else {
			report(a, NEWS_START_FAILED, c->app, reply->error, reply->message);
			if (reply->error == -ENOENT && c->app >= 0)
				report(a, NEWS_IMAGE_MISSING, c->app, 0, NULL);
		}
		c->id[0] = 0;
		return op_end(c, true);
	}
	op_begin(c, OP_START);
	r = a->engine->ops->start(a->engine, c->id, on_start, c);
	if (r < 0) {
		log_app(LOG_ERR, r, c->app_name, c->id, "Failed to queue a start: %m");
		container_set_phase(c, PHASE_EXITED);
		op_end(c, false);
	}
}

static void make_name(char *buf, size_t size, const char *app)
{
	uint8_t rnd[4] = {};

	if (getrandom(rnd, sizeof(rnd), GRND_NONBLOCK) != sizeof(rnd)) {
		uint64_t t = now_usec(CLOCK_MONOTONIC);
		memcpy(rnd, &t, sizeof(rnd));
	}
	snprintf(buf, size, "force12-%s-%02x%02x%02x%02x", app, rnd[0], rnd[1], rnd[2], rnd[3]);
}

static int create_chain(Agent *a, int app, bool warm)
{
	const AppConfig *ac = &a->config->apps[app];
	Container *c;
	int r;

	c = container_new(a, app, ac->name);
	if (!c)
		return -ENOMEM;
	make_name(c->name, sizeof(c->name), ac->name);
	c->warm = warm;
	container_set_phase(c, warm ? PHASE_WARMING : PHASE_STARTING);
	c->op_begin = now_usec(CLOCK_MONOTONIC);
	op_begin(c, OP_CREATE);
	r = hashmap_put(a->creating, c->name, c);
	if (r < 0) {
		op_end(c, true);
		return r;
	}
	EngineCreateSpec spec = engine_create_spec(ac, c->name, a->node_id);
	r = a->engine->ops->create(a->engine, &spec, on_create, c);
	if (r < 0) {
		(void)hashmap_remove(a->creating, c->name);
		op_end(c, true);
		return r;
	}
	log_app(LOG_DEBUG, 0, ac->name, NULL, "Creating %s%s", c->name, warm ? " for the standby pool" : "");
	return 0;
}

int container_create_and_start(Agent *a, int app)
{
	return create_chain(a, app, false);
}

int container_warm(Agent *a, int app)
{
	return create_chain(a, app, true);
}

/* ---- park (pause) and resume (unpause) ---- */

static void on_park(const EngineReply *reply, void *userdata)
{
	Container *c = userdata;
	Agent *a = c->agent;

	if (reply->error == -ENOENT)
		return op_end(c, true);
	/* An earlier pause of ours landed after all: it is parked. Stopping it instead would loop on Podman, which
	 * refuses to stop a paused container (docs/engines.md); Docker and Podman both say "already paused". */
	bool already = reply->error == -EBUSY && reply->message && strstr(reply->message, "already paused");
	if (reply->error < 0 && !already) {
		if (!engine_gone(c, reply))
			log_app(LOG_WARNING, reply->error, c->app_name, c->id,
			        "Failed to park %s: %s; stopping it instead", c->name, reply->message);
		container_set_phase(c, c->died ? PHASE_EXITED : PHASE_RUNNING);
		if (!engine_error_is_unreachable(reply->error) && c->phase == PHASE_RUNNING) {
			op_release(c);
			if (container_stop_and_remove(c) < 0)
				report(a, NEWS_CHANGED, c->app, 0, NULL);
			return;
		}
		return op_end(c, false);
	}
	a->totals.parked++;
	container_set_phase(c, c->died ? PHASE_EXITED : PHASE_STANDBY);
	log_app(LOG_INFO, 0, c->app_name, c->id, "Parked %s in the standby pool in %.0f ms", c->name,
	        (double)usec_since(c->op_begin) / USEC_PER_MSEC);
	op_end(c, false);
}

/* Starts a one-call chain (pause or unpause) in phase; on a failure to queue the container goes to fallback. */
static int pause_chain(Container *c, ContainerOp op, ContainerPhase phase, ContainerPhase fallback, EngineCallback cb)
{
	Engine *e = c->agent->engine;
	int r;

	if (c->op != OP_NONE)
		return 0;
	container_set_phase(c, phase);
	c->died = false;
	c->op_begin = now_usec(CLOCK_MONOTONIC);
	op_begin(c, op);
	r = (op == OP_PAUSE ? e->ops->pause : e->ops->unpause)(e, c->id, cb, c);
	if (r < 0) {
		container_set_phase(c, fallback);
		op_end(c, false);
	}
	return r;
}

int container_park(Container *c)
{
	return pause_chain(c, OP_PAUSE, PHASE_PARKING, PHASE_RUNNING, on_park);
}

static void on_resume(const EngineReply *reply, void *userdata)
{
	Container *c = userdata;
	Agent *a = c->agent;

	if (reply->error == -ENOENT)
		return op_end(c, true);
	if (reply->error < 0) {
		if (engine_error_is_unreachable(reply->error)) {
			report(a, NEWS_ENGINE_LOST, c->app, reply->error, reply->message);
			container_set_phase(c, PHASE_STANDBY);
		} else {
			/* Not paused after all (someone else unpaused or stopped it): the next list tells. */
			report(a, NEWS_START_FAILED, c->app, reply->error, reply->message);
			container_set_phase(c, PHASE_EXITED);
		}
		return op_end(c, false);
	}
	a->totals.resumed++;
	histogram_observe(&a->start_latency, usec_since(c->op_begin));
	container_set_started_at(c, now_usec(CLOCK_REALTIME));
	container_set_phase(c, c->died ? PHASE_EXITED : PHASE_RUNNING);
	log_app(LOG_INFO, 0, c->app_name, c->id, "Resumed %s from the standby pool in %.0f ms", c->name,
	        (double)usec_since(c->op_begin) / USEC_PER_MSEC);
	op_end(c, false);
}

int container_resume(Container *c)
{
	return pause_chain(c, OP_UNPAUSE, PHASE_STARTING, PHASE_STANDBY, on_resume);
}

/* ---- stop -> inspect -> remove ---- */

static void on_remove(const EngineReply *reply, void *userdata)
{
	Container *c = userdata;
	Agent *a = c->agent;

	if (reply->error == 0 || reply->error == -ENOENT) {
		if (reply->error == 0)
			a->totals.removed++;
		log_app(LOG_DEBUG, 0, c->app_name, c->id, "Removed %s", c->name);
		return op_end(c, true);
	}
	if (reply->error == -EBUSY) {
		/* 409: it runs after all. A start queued before it was listed as created (say, by an agent that was
		 * SIGKILLed) landed since. Count it as running, the newest, and let the plan decide. */
		log_app(LOG_INFO, 0, c->app_name, c->id, "Container %s turned out to be running; adopting it", c->name);
		container_set_phase(c, PHASE_RUNNING);
		container_set_started_at(c, now_usec(CLOCK_REALTIME));
		return op_end(c, false);
	}
	if (!engine_gone(c, reply))
		log_app(LOG_WARNING, reply->error, c->app_name, c->id, "Failed to remove %s: %s; will retry", c->name,
		        reply->message);
	if (c->phase != PHASE_CREATED) /* that one keeps its place until it is gone */
		container_set_phase(c, PHASE_EXITED);
	op_end(c, false);
}

int container_remove(Container *c)
{
	bool force;
	int r;

	if (c->op != OP_NONE)
		return 0;
	if (!docker_id_is_valid(c->id)) { /* never expected; dropping it beats retrying it forever */
		log_app(LOG_ERR, 0, c->app_name, NULL, "Container %s has no valid id, forgetting it", c->name);
		container_free(c);
		return -EINVAL;
	}
	/* An adopted created container may start until it is gone: it keeps its place, and the remove kills it. */
	force = c->phase == PHASE_CREATED;
	if (!force)
		container_set_phase(c, PHASE_REMOVING);
	op_begin(c, OP_REMOVE);
	r = c->agent->engine->ops->remove(c->agent->engine, c->id, force, on_remove, c);
	if (r < 0) {
		if (!force)
			container_set_phase(c, PHASE_EXITED);
		op_end(c, false);
	}
	return r;
}

static void count_exit(Agent *a, Container *c)
{
	if (c->exit_code == 137) {
		a->totals.killed++;
		log_app(LOG_WARNING, 0, c->app_name, c->id, "Container %s was killed (exit 137) at its stop timeout",
		        c->name);
		if (c->app >= 0 && !a->apps[c->app].kill_hint_logged) {
			a->apps[c->app].kill_hint_logged = true;
			log_app(LOG_NOTICE, 0, c->app_name, NULL,
			        "Hint: %s does not stop on SIGTERM. Trap TERM in its command, or set \"init\": true "
			        "for the "
			        "app so that an init process passes the signal on",
			        c->app_name);
		}
	} else {
		a->totals.stopped++;
		log_app(LOG_INFO, 0, c->app_name, c->id, "Stopped %s (exit %d) in %.0f ms", c->name, c->exit_code,
		        (double)usec_since(c->op_begin) / USEC_PER_MSEC);
	}
}

static void after_exit(Container *c)
{
	Agent *a = c->agent;

	count_exit(a, c);
	op_release(c); /* the remove has a budget of its own */
	/* Exited: its place is free now, not once it is removed. A start waiting for it goes at once. */
	report(a, NEWS_CHANGED, c->app, 0, NULL);
	/* c may be gone after this; a failure to queue leaves it EXITED for the next pass. */
	if (container_remove(c) < 0)
		log_warning("Failed to queue a removal, will retry");
}

static void on_stopped_inspect(const EngineReply *reply, void *userdata)
{
	Container *c = userdata;
	if (reply->error == -ENOENT)
		return op_end(c, true);
	if (reply->error == 0 && reply->inspect)
		c->exit_code = reply->inspect->exit_code;
	after_exit(c);
}

static void on_stop(const EngineReply *reply, void *userdata)
{
	Container *c = userdata;
	Agent *a = c->agent;
	int r;

	if (reply->error == -ENOENT)
		return op_end(c, true); /* already gone: done */
	if (reply->error < 0) {
		if (!engine_gone(c, reply))
			log_app(LOG_WARNING, reply->error, c->app_name, c->id, "Failed to stop %s: %s; will retry",
			        c->name, reply->message);
		container_set_phase(c, c->died ? PHASE_EXITED : PHASE_RUNNING);
		return op_end(c, false);
	}
	histogram_observe(&a->stop_latency, usec_since(c->op_begin));
	container_set_phase(c, PHASE_EXITED);
	if (c->exit_code >= 0 && c->died)
		return after_exit(c); /* the die event already told the exit code */
	op_begin(c, OP_INSPECT);
	r = a->engine->ops->inspect(a->engine, c->id, on_stopped_inspect, c);
	if (r < 0)
		after_exit(c);
}

int container_stop_and_remove(Container *c)
{
	Agent *a = c->agent;
	unsigned timeout = c->app >= 0 ? a->config->apps[c->app].stop_timeout : 10;
	int r;

	if (c->op != OP_NONE)
		return 0;
	container_set_phase(c, PHASE_STOPPING);
	c->by_us = true;
	c->died = false;
	c->exit_code = -1;
	c->op_begin = now_usec(CLOCK_MONOTONIC);
	op_begin(c, OP_STOP);
	r = a->engine->ops->stop(a->engine, c->id, timeout, on_stop, c);
	if (r < 0) {
		container_set_phase(c, PHASE_RUNNING);
		op_end(c, false);
		return r;
	}
	log_app(LOG_DEBUG, 0, c->app_name, c->id, "Stopping %s (timeout %u s)", c->name, timeout);
	return 0;
}

/* ---- retire: unpause -> stop -> remove ---- */

static void on_retire_unpause(const EngineReply *reply, void *userdata)
{
	Container *c = userdata;
	Agent *a = c->agent;

	if (reply->error == -ENOENT)
		return op_end(c, true);
	if (reply->error < 0 && engine_error_is_unreachable(reply->error)) {
		report(a, NEWS_ENGINE_LOST, c->app, reply->error, reply->message);
		container_set_phase(c, PHASE_STANDBY);
		return op_end(c, false);
	}
	/* Unpaused, or not paused to begin with: a stop settles it either way. */
	op_release(c);
	if (container_stop_and_remove(c) < 0) {
		container_set_phase(c, PHASE_EXITED);
		report(a, NEWS_CHANGED, c->app, 0, NULL);
	}
}

int container_retire(Container *c)
{
	/* Briefly running again before it stops: it occupies capacity like any stopping container. */
	return pause_chain(c, OP_UNPAUSE, PHASE_STOPPING, PHASE_STANDBY, on_retire_unpause);
}
