/* Carries out the plan, one chain of engine calls per container: create -> start, and stop -> inspect ->
 * remove. Each step records what happened in the container table and wakes the reconciler; a chain never
 * decides what should run, it only reports. */
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "agent-internal.h"

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

	op_release(c);
	if (free_it)
		container_free(c);
	else
		container_touch(c);
	agent_schedule_reconcile(a);
}

static double seconds_since(uint64_t begin)
{
	return (double)(now_usec(CLOCK_MONOTONIC) - begin) / 1e6;
}

/* ---- create -> start (-> pause, for the standby pool) ---- */

static void on_warm_pause(const DockerReply *reply, void *userdata)
{
	Container *c = userdata;
	Agent *a = c->agent;

	if (reply->error < 0) {
		if (docker_error_is_unreachable(reply->error))
			agent_engine_lost(a, reply->error);
		else
			log_app(LOG_WARNING, reply->error, c->app_name, c->id,
			        "Failed to pause %s into the standby pool: %s", c->name, reply->message);
		c->phase = c->died ? PHASE_EXITED : PHASE_RUNNING; /* running after all: the plan decides */
		return op_end(c, false);
	}
	a->totals.warmed++;
	c->phase = c->died ? PHASE_EXITED : PHASE_STANDBY;
	log_app(LOG_DEBUG, 0, c->app_name, c->id, "Warmed %s into the standby pool in %.0f ms", c->name,
	        seconds_since(c->op_begin) * 1e3);
	op_end(c, false);
}

static void warm_started(Container *c)
{
	Agent *a = c->agent;

	if (c->died) {
		c->phase = PHASE_EXITED;
		return op_end(c, false);
	}
	op_begin(c, OP_PAUSE);
	if (docker_pause(a->docker, c->id, on_warm_pause, c) < 0) {
		c->phase = PHASE_RUNNING;
		op_end(c, false);
	}
}

static void on_start(const DockerReply *reply, void *userdata)
{
	Container *c = userdata;
	Agent *a = c->agent;

	if (reply->error < 0) {
		if (docker_error_is_unreachable(reply->error))
			agent_engine_lost(a, reply->error);
		else
			agent_app_failed(a, c->app, reply->error, reply->message);
		c->phase = PHASE_EXITED; /* created but not running: garbage */
		return op_end(c, false);
	}
	if (c->app >= 0)
		a->apps[c->app].failures = 0, a->apps[c->app].last_error[0] = 0;
	c->started_at = now_usec(CLOCK_REALTIME);
	if (c->warm)
		return warm_started(c);
	a->totals.started++;
	histogram_observe(&a->start_latency, seconds_since(c->op_begin));
	c->phase = c->died ? PHASE_EXITED : PHASE_RUNNING;
	log_app(LOG_INFO, 0, c->app_name, c->id, "Started %s in %.0f ms", c->name, seconds_since(c->op_begin) * 1e3);
	op_end(c, false);
}

static void on_create(const DockerReply *reply, void *userdata)
{
	const DockerReply no_id = {.error = -EPROTO, .message = "create answered without a valid Id"};
	Container *c = userdata;
	Agent *a = c->agent;
	int r;

	if (reply->error == 0 && (!reply->json || docker_json_parse_created_id(reply->json, c->id) < 0))
		reply = &no_id;
	if (reply->error < 0) {
		if (docker_error_is_unreachable(reply->error))
			agent_engine_lost(a, reply->error);
		else if (reply->error == -EBUSY) /* name taken: the next pass picks another */
			log_app(LOG_DEBUG, 0, c->app_name, NULL, "Name %s taken, retrying", c->name);
		else {
			agent_app_failed(a, c->app, reply->error, reply->message);
			if (reply->error == -ENOENT && c->app >= 0)
				agent_pull_image(a, a->config->apps[c->app].image);
		}
		c->id[0] = 0;
		return op_end(c, true);
	}
	op_begin(c, OP_START);
	r = docker_start(a->docker, c->id, on_start, c);
	if (r < 0) {
		log_app(LOG_ERR, r, c->app_name, c->id, "Failed to queue a start: %m");
		c->phase = PHASE_EXITED;
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
	_cleanup_free_ char *body = docker_json_create_body(ac, a->node_id);
	Container *c;
	int r;

	if (!body)
		return -ENOMEM;
	c = container_new(a, app, ac->name);
	if (!c)
		return -ENOMEM;
	make_name(c->name, sizeof(c->name), ac->name);
	c->warm = warm;
	c->phase = warm ? PHASE_WARMING : PHASE_STARTING;
	c->op_begin = now_usec(CLOCK_MONOTONIC);
	op_begin(c, OP_CREATE);
	r = docker_create(a->docker, c->name, body, on_create, c);
	if (r < 0) {
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

static void on_park(const DockerReply *reply, void *userdata)
{
	Container *c = userdata;
	Agent *a = c->agent;

	if (reply->error == -ENOENT)
		return op_end(c, true);
	if (reply->error < 0) {
		if (docker_error_is_unreachable(reply->error))
			agent_engine_lost(a, reply->error);
		else
			log_app(LOG_WARNING, reply->error, c->app_name, c->id,
			        "Failed to park %s: %s; stopping it instead", c->name, reply->message);
		c->phase = c->died ? PHASE_EXITED : PHASE_RUNNING;
		if (!docker_error_is_unreachable(reply->error) && c->phase == PHASE_RUNNING) {
			op_release(c);
			if (container_stop_and_remove(c) < 0)
				agent_schedule_reconcile(a);
			return;
		}
		return op_end(c, false);
	}
	a->totals.parked++;
	c->phase = c->died ? PHASE_EXITED : PHASE_STANDBY;
	log_app(LOG_INFO, 0, c->app_name, c->id, "Parked %s in the standby pool in %.0f ms", c->name,
	        seconds_since(c->op_begin) * 1e3);
	op_end(c, false);
}

/* Starts a one-call chain (pause or unpause) in phase; on a failure to queue the container goes to fallback. */
static int pause_chain(Container *c, ContainerOp op, ContainerPhase phase, ContainerPhase fallback, DockerCallback cb)
{
	int r;

	if (c->op != OP_NONE)
		return 0;
	c->phase = phase;
	c->died = false;
	c->op_begin = now_usec(CLOCK_MONOTONIC);
	op_begin(c, op);
	r = (op == OP_PAUSE ? docker_pause : docker_unpause)(c->agent->docker, c->id, cb, c);
	if (r < 0) {
		c->phase = fallback;
		op_end(c, false);
	}
	return r;
}

int container_park(Container *c)
{
	return pause_chain(c, OP_PAUSE, PHASE_PARKING, PHASE_RUNNING, on_park);
}

static void on_resume(const DockerReply *reply, void *userdata)
{
	Container *c = userdata;
	Agent *a = c->agent;

	if (reply->error == -ENOENT)
		return op_end(c, true);
	if (reply->error < 0) {
		if (docker_error_is_unreachable(reply->error)) {
			agent_engine_lost(a, reply->error);
			c->phase = PHASE_STANDBY;
		} else {
			/* Not paused after all (someone else unpaused or stopped it): the next list tells. */
			agent_app_failed(a, c->app, reply->error, reply->message);
			c->phase = PHASE_EXITED;
		}
		return op_end(c, false);
	}
	a->totals.resumed++;
	histogram_observe(&a->start_latency, seconds_since(c->op_begin));
	c->started_at = now_usec(CLOCK_REALTIME);
	c->phase = c->died ? PHASE_EXITED : PHASE_RUNNING;
	log_app(LOG_INFO, 0, c->app_name, c->id, "Resumed %s from the standby pool in %.0f ms", c->name,
	        seconds_since(c->op_begin) * 1e3);
	op_end(c, false);
}

int container_resume(Container *c)
{
	return pause_chain(c, OP_UNPAUSE, PHASE_STARTING, PHASE_STANDBY, on_resume);
}

/* ---- stop -> inspect -> remove ---- */

static void on_remove(const DockerReply *reply, void *userdata)
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
		c->phase = PHASE_RUNNING;
		c->started_at = now_usec(CLOCK_REALTIME);
		return op_end(c, false);
	}
	if (docker_error_is_unreachable(reply->error))
		agent_engine_lost(a, reply->error);
	else
		log_app(LOG_WARNING, reply->error, c->app_name, c->id, "Failed to remove %s: %s; will retry", c->name,
		        reply->message);
	c->phase = PHASE_EXITED;
	op_end(c, false);
}

int container_remove(Container *c)
{
	int r;

	if (c->op != OP_NONE)
		return 0;
	if (!docker_id_is_valid(c->id)) { /* never expected; dropping it beats retrying it forever */
		log_app(LOG_ERR, 0, c->app_name, NULL, "Container %s has no valid id, forgetting it", c->name);
		container_free(c);
		return -EINVAL;
	}
	c->phase = PHASE_REMOVING;
	op_begin(c, OP_REMOVE);
	r = docker_remove(c->agent->docker, c->id, false, on_remove, c);
	if (r < 0) {
		c->phase = PHASE_EXITED;
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
		        seconds_since(c->op_begin) * 1e3);
	}
}

static void after_exit(Container *c)
{
	Agent *a = c->agent;

	count_exit(a, c);
	op_release(c); /* the remove has a budget of its own */
	/* Exited: its place is free now, not once it is removed. A start waiting for it goes at once. */
	agent_schedule_reconcile(a);
	/* c may be gone after this; a failure to queue leaves it EXITED for the next pass. */
	if (container_remove(c) < 0)
		log_warning("Failed to queue a removal, will retry");
}

static void on_stopped_inspect(const DockerReply *reply, void *userdata)
{
	Container *c = userdata;
	DockerInspect info;

	if (reply->error == -ENOENT)
		return op_end(c, true);
	if (reply->error == 0 && docker_json_parse_inspect(reply->json, &info) == 0)
		c->exit_code = info.exit_code;
	after_exit(c);
}

static void on_stop(const DockerReply *reply, void *userdata)
{
	Container *c = userdata;
	Agent *a = c->agent;
	int r;

	if (reply->error == -ENOENT)
		return op_end(c, true); /* already gone: done */
	if (reply->error < 0) {
		if (docker_error_is_unreachable(reply->error))
			agent_engine_lost(a, reply->error);
		else
			log_app(LOG_WARNING, reply->error, c->app_name, c->id, "Failed to stop %s: %s; will retry",
			        c->name, reply->message);
		c->phase = c->died ? PHASE_EXITED : PHASE_RUNNING;
		return op_end(c, false);
	}
	histogram_observe(&a->stop_latency, seconds_since(c->op_begin));
	c->phase = PHASE_EXITED;
	if (c->exit_code >= 0 && c->died)
		return after_exit(c); /* the die event already told the exit code */
	op_begin(c, OP_INSPECT);
	r = docker_inspect(a->docker, c->id, on_stopped_inspect, c);
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
	c->phase = PHASE_STOPPING;
	c->by_us = true;
	c->died = false;
	c->exit_code = -1;
	c->op_begin = now_usec(CLOCK_MONOTONIC);
	op_begin(c, OP_STOP);
	r = docker_stop(a->docker, c->id, timeout, on_stop, c);
	if (r < 0) {
		c->phase = PHASE_RUNNING;
		op_end(c, false);
		return r;
	}
	log_app(LOG_DEBUG, 0, c->app_name, c->id, "Stopping %s (timeout %u s)", c->name, timeout);
	return 0;
}

/* ---- retire: unpause -> stop -> remove ---- */

static void on_retire_unpause(const DockerReply *reply, void *userdata)
{
	Container *c = userdata;
	Agent *a = c->agent;

	if (reply->error == -ENOENT)
		return op_end(c, true);
	if (reply->error < 0 && docker_error_is_unreachable(reply->error)) {
		agent_engine_lost(a, reply->error);
		c->phase = PHASE_STANDBY;
		return op_end(c, false);
	}
	/* Unpaused, or not paused to begin with: a stop settles it either way. */
	op_release(c);
	if (container_stop_and_remove(c) < 0) {
		c->phase = PHASE_EXITED;
		agent_schedule_reconcile(a);
	}
}

int container_retire(Container *c)
{
	/* Briefly running again before it stops: it occupies capacity like any stopping container. */
	return pause_chain(c, OP_UNPAUSE, PHASE_STOPPING, PHASE_STANDBY, on_retire_unpause);
}
