// SPDX-License-Identifier: Apache-2.0
/* The agent's core loop: engine connection, sync (list + events), and reconcile. It feeds the container table
 * (container.c) to the pure planner and hands the plan to container.c's chains.
 * It must never touch a container without its own label, and never block the event loop. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "agent-internal.h"
#include "force12/backoff.h"
#include "force12/docker.h"
#include "force12/state.h"
#include "force12/targets.h"

#define PING_BACKOFF_MIN_USEC (100 * USEC_PER_MSEC)
#define PING_BACKOFF_MAX_USEC (2 * USEC_PER_SEC)
#define APP_BACKOFF_MIN_USEC  (1 * USEC_PER_SEC)
#define APP_BACKOFF_MAX_USEC  (60 * USEC_PER_SEC)
#define MERGE_STEP            256u /* list entries merged (or containers looked at) between two looks at the clock */
#define MERGE_SLICE_USEC      (4 * USEC_PER_MSEC) /* merging per turn of the loop, about */

static void start_sync(Agent *a);
static void resync(Agent *a);
static void agent_schedule_reconcile(Agent *a);
static void schedule_ping(Agent *a);

static const char *engine_address(Agent *a)
{
	return a->engine->ops->address(a->engine);
}

/* ---- systemd ---- */

/* p: the pass just computed; NULL while the engine is away. */
static void update_status(Agent *a, const Pass *p)
{
	char line[512] = "";
	size_t n = 0;

	if (!a->engine_up)
		snprintf(line, sizeof(line), "engine not reachable at %s; waiting", engine_address(a));
	else if (!p)
		return;
	else
		for (size_t i = 0; i < a->config->n_apps && n < sizeof(line); i++)
			n += (size_t)snprintf(line + n, sizeof(line) - n, "%s%s %u/%u running", i ? ", " : "",
			                      a->config->apps[i].name, p->res[i].running, p->res[i].allocated);
	if (streq(line, a->status_line))
		return;
	snprintf(a->status_line, sizeof(a->status_line), "%s", line);
	if (a->notify)
		(void)sd_notifyf(false, "STATUS=%s", line);
}

/* ---- reconcile ---- */

static void agent_schedule_reconcile(Agent *a)
{
	if (a->reconcile_source)
		(void)sd_event_source_set_enabled(a->reconcile_source, SD_EVENT_ONESHOT);
}

static void arm_retry_timer(Agent *a, uint64_t now)
{
	uint64_t next = UINT64_MAX;

	for (size_t i = 0; i < a->config->n_apps; i++)
		if (a->apps[i].retry_at > now && a->apps[i].retry_at < next)
			next = a->apps[i].retry_at;
	if (next == UINT64_MAX)
		return;
	(void)sd_event_source_set_time(a->retry_timer, next);
	(void)sd_event_source_set_enabled(a->retry_timer, SD_EVENT_ONESHOT);
}

static PlanApp plan_app(Agent *a, size_t i, usec_t now)
{
	return (PlanApp){
	        .name = a->config->apps[i].name,
	        .priority = a->config->apps[i].priority,
	        .target = a->apps[i].target,
	        .standby = a->config->apps[i].standby,
	        .can_start = a->apps[i].retry_at <= now && !a->apps[i].pulling,
	};
}

static void tally_counts(const AppTally *t, PlanAppResult *ret)
{
	*ret = (PlanAppResult){};
	for (ContainerPhase ph = 0; ph < _PHASE_MAX; ph++)
		(void)plan_tally_n(ret, ph, t->phases[ph]);
}

/* Takes from h, after its first skip, no more than want and what *left allows, onto list. */
static void pick(const ContainerHeap *h, size_t skip, unsigned want, Container **list, size_t *n, unsigned *left)
{
	size_t got = heap_first(h, skip, MIN(want, *left), list + *n);

	*n += got;
	*left -= (unsigned)got;
}

/* In the order dispatch() goes through them, each list gets no more than the slots the lists before it leave
 * (dispatch stops there): the picks cost O(parallel log n), whatever the node's size. */
static void pass_pick(Agent *a, Pass *p)
{
	size_t n_apps = a->config->n_apps;
	unsigned parallel = a->config->parallel;
	unsigned left = parallel > a->ops_in_flight ? parallel - a->ops_in_flight : 0;
	unsigned removes_left = parallel > a->removes_in_flight ? parallel - a->removes_in_flight : 0, starts = 0;

	pick(&table_tally(a, -1)->running, 0, p->orphans.stops, p->stops, &p->n_stops, &left);
	for (size_t k = n_apps; k > 0; k--) {
		const PlanAppResult *r = &p->res[p->order[k - 1]];
		pick(&table_tally(a, (int)p->order[k - 1])->running, r->parks, r->stops, p->stops, &p->n_stops, &left);
	}
	for (size_t k = n_apps; k > 0; k--)
		pick(&table_tally(a, (int)p->order[k - 1])->running, 0, p->res[p->order[k - 1]].parks, p->parks,
		     &p->n_parks, &left);
	pick(&a->removable, 0, removes_left, p->removes, &p->n_removes, &removes_left);
	for (size_t k = 0; k < n_apps; k++)
		pick(&table_tally(a, (int)p->order[k])->standby, 0, p->res[p->order[k]].resumes, p->resumes,
		     &p->n_resumes, &left);
	for (size_t i = 0; i < n_apps; i++)
		starts += p->res[i].starts;
	left -= MIN(starts, left);
	pick(&table_tally(a, -1)->standby, 0, p->orphans.retires, p->retires, &p->n_retires, &left);
	for (size_t i = 0; i < n_apps; i++)
		pick(&table_tally(a, (int)i)->standby, p->res[i].resumes, p->res[i].retires, p->retires, &p->n_retires,
		     &left);
}

int agent_pass(Agent *a, usec_t now, Pass *p)
{
	size_t n_apps = a->config->n_apps, parallel = a->config->parallel;

	*p = (Pass){};
	p->buffer = calloc(5 * parallel, sizeof(Container *));
	if (!p->buffer)
		return -ENOMEM;
	p->stops = p->buffer;
	p->parks = p->stops + parallel;
	p->removes = p->parks + parallel;
	p->resumes = p->removes + parallel;
	p->retires = p->resumes + parallel;
	for (size_t i = 0; i < n_apps; i++) {
		p->apps[i] = plan_app(a, i, now);
		tally_counts(table_tally(a, (int)i), &p->res[i]);
	}
	tally_counts(table_tally(a, -1), &p->orphans);
	p->occupied = plan_decide(a->config->capacity, p->apps, n_apps, p->res, &p->orphans, p->order);
	pass_pick(a, p);
	return 0;
}

static bool slot_free(Agent *a)
{
	return a->ops_in_flight < a->config->parallel;
}

static void dispatch(Agent *a, const Pass *p)
{
	int r;

	/* Stops first: they make the room that the starts below may need on a later pass. */
	for (size_t i = 0; i < p->n_stops && slot_free(a); i++)
		if ((r = container_stop_and_remove(p->stops[i])) < 0)
			log_warning_errno(r, "Failed to queue a stop: %m, ignoring");
	for (size_t i = 0; i < p->n_parks && slot_free(a); i++)
		if ((r = container_park(p->parks[i])) < 0)
			log_warning_errno(r, "Failed to queue a pause: %m, ignoring");
	for (size_t i = 0; i < p->n_removes && a->removes_in_flight < a->config->parallel; i++)
		if ((r = container_remove(p->removes[i])) < 0)
			log_warning_errno(r, "Failed to queue a removal: %m, ignoring");
	/* Resumes before creates: the standby pool is the fast way up. */
	for (size_t i = 0; i < p->n_resumes && slot_free(a); i++)
		if ((r = container_resume(p->resumes[i])) < 0)
			log_warning_errno(r, "Failed to queue an unpause: %m, ignoring");
	for (size_t i = 0; i < a->config->n_apps; i++)
		for (unsigned s = 0; s < p->res[i].starts && slot_free(a); s++)
			if ((r = container_create_and_start(a, (int)i)) < 0)
				log_warning_errno(r, "Failed to queue a start: %m, ignoring");
	for (size_t i = 0; i < p->n_retires && slot_free(a); i++)
		if ((r = container_retire(p->retires[i])) < 0)
			log_warning_errno(r, "Failed to queue a retirement: %m, ignoring");
	/* The plan only asks for warms when nothing else is to do; they still leave a slot free for news. */
	for (size_t i = 0; i < a->config->n_apps; i++)
		for (unsigned s = 0; s < p->res[i].warms && a->ops_in_flight + 1 < a->config->parallel; s++)
			if ((r = container_warm(a, (int)i)) < 0)
				log_warning_errno(r, "Failed to queue a standby container: %m, ignoring");
}

static int on_reconcile(sd_event_source *s, void *userdata)
{
	Agent *a = userdata;
	usec_t now = now_usec(CLOCK_MONOTONIC);
	Pass p;
	int r;

	/* Not while a list is being merged: the table is half old, half new until the merge ends (it reconciles). */
	if (!a->engine_up || !a->synced || a->shutting_down || a->merge.active)
		return 0;
	if (a->tally_broken && !table_rebuild(a))
		return log_error_errno(-ENOMEM, "Failed to reconcile: %m");
	r = agent_pass(a, now, &p);
	if (r < 0)
		return log_error_errno(r, "Failed to reconcile: %m");
	arm_retry_timer(a, now);
	for (size_t i = 0; i < a->config->n_apps; i++)
		a->apps[i].allocated = p.res[i].allocated;
	dispatch(a, &p);
	update_status(a, &p);
	free(p.buffer);
	return 0;
}

static int on_retry_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	agent_schedule_reconcile(userdata);
	return 0;
}

static void agent_app_failed(Agent *a, int app, int error, const char *message)
{
	AppState *st;
	uint64_t delay;

	if (app < 0 || (size_t)app >= a->config->n_apps)
		return;
	st = &a->apps[app];
	st->failures++;
	delay = backoff_delay(APP_BACKOFF_MIN_USEC, APP_BACKOFF_MAX_USEC, st->failures);
	st->retry_at = now_usec(CLOCK_MONOTONIC) + delay;
	snprintf(st->last_error, sizeof(st->last_error), "%s", message);
	a->totals.failed++;
	log_app(LOG_WARNING, error, a->config->apps[app].name, NULL,
	        "Failed to start a container of %s: %s; retrying in %.1f s", a->config->apps[app].name, message,
	        (double)delay / (double)USEC_PER_SEC);
	arm_retry_timer(a, now_usec(CLOCK_MONOTONIC));
}

/* ---- the engine: ping, images, list, events ---- */

static void agent_engine_lost(Agent *a, int error)
{
	if (a->shutting_down)
		return;
	/* Once, on the way down: every call in flight fails the same way and reports it here. */
	if (a->engine_up && ratelimit_below(&a->engine_log, now_usec(CLOCK_MONOTONIC)))
		log_warning_errno(error, "Engine not reachable at %s: %m; waiting for it", engine_address(a));
	a->engine_up = false;
	a->synced = false;
	if (a->list_in_flight) /* issued before the loss: events since are lost, so its news may be old */
		a->list_stale = true;
	if (a->events)
		a->engine->ops->stream_cancel(a->engine, TAKE_PTR(a->events));
	update_status(a, NULL);
	schedule_ping(a);
}

static void on_ping(const EngineReply *reply, void *userdata)
{
	Agent *a = userdata;
	uint64_t now = now_usec(CLOCK_MONOTONIC);

	if (reply->error < 0) {
		a->pings_failed++;
		if (ratelimit_below(&a->engine_log, now))
			log_full_errno(a->pings_failed == 1 ? LOG_WARNING : LOG_DEBUG, reply->error,
			               "Engine not reachable at %s: %s; retrying", engine_address(a), reply->message);
		a->engine_up = false;
		update_status(a, NULL);
		schedule_ping(a);
		return;
	}
	if (!a->engine->ops->api_version(a->engine)) {
		log_error("The engine at %s did not say its API version; retrying", engine_address(a));
		schedule_ping(a);
		return;
	}
	if (a->pings_failed > 0 || !a->engine_logged)
		log_info("Engine reachable at %s, API %s", engine_address(a), a->engine->ops->api_version(a->engine));
	a->engine_logged = true;
	a->pings_failed = 0;
	a->engine_up = true;
	start_sync(a);
}

static int on_ping_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	Agent *a = userdata;
	int r = a->engine->ops->ping(a->engine, on_ping, a);

	if (r < 0) {
		log_error_errno(r, "Failed to queue a ping: %m");
		schedule_ping(a);
	}
	return 0;
}

static void schedule_ping(Agent *a)
{
	/* Failed lists count like failed pings: an engine that answers pings but not lists is not hammered. */
	usec_t delay =
	        backoff_delay(PING_BACKOFF_MIN_USEC, PING_BACKOFF_MAX_USEC, a->pings_failed + a->lists_failed + 1);
	int enabled = SD_EVENT_OFF;

	(void)sd_event_source_get_enabled(a->ping_timer, &enabled);
	if (enabled != SD_EVENT_OFF)
		return;
	log_debug("Next engine ping in %llu ms", (unsigned long long)(delay / USEC_PER_MSEC));
	(void)sd_event_source_set_time(a->ping_timer, now_usec(CLOCK_MONOTONIC) + delay);
	(void)sd_event_source_set_enabled(a->ping_timer, SD_EVENT_ONESHOT);
}

static void became_ready(Agent *a)
{
	a->ready = true;
	log_info("Synced with the engine: %zu containers of node %s; ready", a->n_containers, a->node_id);
	if (a->notify)
		(void)sd_notify(false, "READY=1");
}

/* The list is merged: the table is the engine's (as of the list, and every event since). */
static void merge_done(Agent *a)
{
	(void)sd_event_source_set_enabled(a->merge_source, SD_EVENT_OFF);
	a->list_in_flight = false;
	if (!a->list_stale)
		a->synced = true;
	if (a->resync_wanted || a->list_stale) { /* an event, or a lost engine, may have made it older news */
		a->resync_wanted = false;
		resync(a);
	}
	a->list_stale = false;
	if (!a->ready)
		became_ready(a);
	agent_schedule_reconcile(a);
	/* The list's text and entries were the peak (tens of MB at 50,000 containers): give back what glibc keeps of
	 * it between the table's chunks. */
	(void)malloc_trim(0);
}

static int on_merge_slice(sd_event_source *s, void *userdata)
{
	Agent *a = userdata;
	usec_t begin = now_usec(CLOCK_MONOTONIC);
	bool done;

	do
		done = container_merge_step(a, a->merge_slice);
	while (!done && now_usec(CLOCK_MONOTONIC) - begin < a->merge_slice_usec);
	if (done)
		merge_done(a);
	return 0;
}

static void on_list(const EngineReply *reply, void *userdata)
{
	Agent *a = userdata;
	DockerContainer *list;

	a->list_in_flight = false;
	if (reply->error < 0) {
		a->list_stale = false;
		container_forget_vanished(a);
		a->lists_failed++;
		snprintf(a->sync_error, sizeof(a->sync_error), "container list failed: %s", reply->message);
		if ((!engine_error_is_unreachable(reply->error) || reply->error == -EPROTO) &&
		    ratelimit_below(&a->engine_log, now_usec(CLOCK_MONOTONIC)))
			log_warning_errno(reply->error, "Failed to list containers: %s; retrying", reply->message);
		return agent_engine_lost(a, reply->error); /* re-ping, then list again, with backoff */
	}
	a->lists_failed = 0;
	a->sync_error[0] = 0;
	/* Merged a slice per turn (on_merge_slice): the list stays in flight until then, so that what vanishes
	 * meanwhile is remembered and no other list starts. */
	if (reply->list_owner && *reply->list_owner == reply->list)
		list = TAKE_PTR(*reply->list_owner);
	else if ((list = malloc(MAX(reply->n_list, 1) * sizeof(*list))))
		memcpy(list, reply->list, reply->n_list * sizeof(*list));
	if (!list && reply->n_list > 0) { /* an empty list may come as NULL */
		log_error_errno(-ENOMEM, "Failed to keep the container list: %m; retrying");
		return agent_engine_lost(a, -ENOMEM);
	}
	a->list_in_flight = true;
	container_merge_begin(a, list, reply->n_list);
	(void)sd_event_source_set_enabled(a->merge_source, SD_EVENT_ON);
}

/* How many containers the node may own: what runs, the standby pools, and what the table holds now (leftovers
 * included), with room to spare. The list's size limit follows it. */
static size_t list_expect(Agent *a)
{
	size_t n = (size_t)a->config->capacity + 1024;

	for (size_t i = 0; i < a->config->n_apps; i++)
		n += a->config->apps[i].standby;
	return MAX(n, a->n_containers) * 2;
}

static void resync(Agent *a)
{
	int r;

	if (a->merge.active) {
		a->resync_wanted = true; /* after this merge */
		return;
	}
	if (a->list_in_flight || !a->engine_up)
		return;
	a->list_seq = ++a->seq;
	r = a->engine->ops->list(a->engine, a->label, list_expect(a), on_list, a);
	if (r < 0) {
		log_warning_errno(r, "Failed to queue a container list: %m, ignoring");
		return;
	}
	a->list_in_flight = true;
}

static void on_event(const DockerEvent *ev, void *userdata)
{
	Agent *a = userdata;

	if (container_handle_event(a, ev))
		agent_schedule_reconcile(a);
	if (a->resync_wanted && !a->list_in_flight) {
		a->resync_wanted = false;
		resync(a);
	}
}

static void on_events_end(const EngineReply *reply, void *userdata)
{
	Agent *a = userdata;

	a->events = NULL;
	if (a->shutting_down)
		return;
	log_full_errno(a->engine_up ? LOG_WARNING : LOG_DEBUG, reply->error,
	               "Event stream from the engine ended (%s); reconnecting", reply->message);
	/* Events may have been missed: check the engine, then resync. */
	a->engine_up = false;
	schedule_ping(a);
}

static void start_events(Agent *a)
{
	int r;

	if (a->events)
		return;
	r = a->engine->ops->events(a->engine, a->label, on_event, on_events_end, a, &a->events);
	if (r < 0)
		log_warning_errno(r, "Failed to open the event stream: %m; relying on resyncs");
}

/* Images: checked once before READY (and pulled when missing), so the first scale-up never waits on a pull;
 * pulled again when a create finds its image gone. */
typedef struct ImageCall {
	LIST_FIELDS(struct ImageCall, image_calls);
	Agent *agent;
	char *image;
	bool startup;
} ImageCall;

static void image_call_free(Agent *a, ImageCall *ic)
{
	LIST_REMOVE(image_calls, a->image_calls, ic);
	free(ic->image);
	free(ic);
}

static void set_pulling(Agent *a, const char *image, bool pulling)
{
	for (size_t i = 0; i < a->config->n_apps; i++)
		if (streq(a->config->apps[i].image, image))
			a->apps[i].pulling = pulling;
}

static void image_done(Agent *a, ImageCall *ic)
{
	bool startup = ic->startup;

	set_pulling(a, ic->image, false);
	image_call_free(a, ic);
	agent_schedule_reconcile(a);
	if (startup && a->images_pending > 0 && --a->images_pending == 0) {
		a->images_checked = true;
		start_sync(a);
	}
}

static void on_pull(const EngineReply *reply, void *userdata)
{
	ImageCall *ic = userdata;
	Agent *a = ic->agent;

	if (reply->error < 0)
		log_error_errno(reply->error, "Failed to pull image %s: %s", ic->image, reply->message);
	else
		log_info("Pulled image %s", ic->image);
	image_done(a, ic);
}

static int pull_image(Agent *a, ImageCall *ic)
{
	int r;

	log_info("Pulling image %s", ic->image);
	set_pulling(a, ic->image, true);
	r = a->engine->ops->pull(a->engine, ic->image, on_pull, ic);
	if (r < 0)
		log_error_errno(r, "Failed to queue a pull of %s: %m", ic->image);
	return r;
}

static void on_image_inspect(const EngineReply *reply, void *userdata)
{
	ImageCall *ic = userdata;
	Agent *a = ic->agent;

	if (reply->error == -ENOENT && pull_image(a, ic) >= 0)
		return;
	if (reply->error < 0 && reply->error != -ENOENT)
		log_warning_errno(reply->error, "Failed to inspect image %s: %s, ignoring", ic->image, reply->message);
	image_done(a, ic);
}

static ImageCall *image_call_new(Agent *a, const char *image, bool startup)
{
	ImageCall *ic = calloc(1, sizeof(*ic));

	if (!ic)
		return NULL;
	ic->agent = a;
	ic->startup = startup;
	ic->image = strdup(image);
	if (!ic->image) {
		free(ic);
		return NULL;
	}
	LIST_PREPEND(image_calls, a->image_calls, ic);
	return ic;
}

static void agent_pull_image(Agent *a, const char *image)
{
	ImageCall *ic;

	LIST_FOREACH(image_calls, ic, a->image_calls)
	if (streq(ic->image, image))
		return; /* already on it */
	ic = image_call_new(a, image, false);
	if (ic && pull_image(a, ic) < 0)
		image_done(a, ic);
}

static void check_images(Agent *a)
{
	a->images_pending = 1; /* held until every check is queued */
	for (size_t i = 0; i < a->config->n_apps; i++) {
		bool seen = false;
		for (size_t j = 0; j < i; j++)
			seen = seen || streq(a->config->apps[j].image, a->config->apps[i].image);
		if (seen)
			continue;
		ImageCall *ic = image_call_new(a, a->config->apps[i].image, true);
		if (!ic)
			continue;
		a->images_pending++;
		if (a->engine->ops->image_inspect(a->engine, ic->image, on_image_inspect, ic) < 0) {
			log_warning("Failed to queue an inspect of image %s, ignoring", ic->image);
			image_done(a, ic);
		}
	}
	if (--a->images_pending == 0) {
		a->images_checked = true;
		start_sync(a);
	}
}

/* After every (re)connection: images once, then the event stream and a full list. */
static void start_sync(Agent *a)
{
	if (!a->engine_up)
		return;
	if (!a->images_checked) {
		if (a->images_pending == 0)
			check_images(a);
		return;
	}
	start_events(a);
	resync(a);
}

static int on_resync_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	Agent *a = userdata;

	(void)sd_event_source_set_time(s, now_usec(CLOCK_MONOTONIC) + a->config->resync_interval * USEC_PER_SEC);
	if (a->engine_up)
		start_sync(a);
	return 0;
}

/* ---- events ---- */

/* ---- what the container state machine reports ---- */

static void on_container_news(Agent *a, ContainerNews news, int app, int error, const char *message)
{
	switch (news) {
	case NEWS_CHANGED:
		break;
	case NEWS_ENGINE_LOST:
		agent_engine_lost(a, error);
		break;
	case NEWS_START_FAILED:
		agent_app_failed(a, app, error, message);
		break;
	case NEWS_IMAGE_MISSING:
		if (app >= 0 && (size_t)app < a->config->n_apps)
			agent_pull_image(a, a->config->apps[app].image);
		break;
	}
	agent_schedule_reconcile(a);
}

/* ---- life cycle ---- */

static int add_sources(Agent *a)
{
	int r;

	r = sd_event_add_defer(a->event, &a->reconcile_source, on_reconcile, a);
	if (r < 0)
		return r;
	(void)sd_event_source_set_enabled(a->reconcile_source, SD_EVENT_OFF);
	(void)sd_event_source_set_description(a->reconcile_source, "reconcile");
	r = sd_event_add_defer(a->event, &a->merge_source, on_merge_slice, a);
	if (r < 0)
		return r;
	(void)sd_event_source_set_enabled(a->merge_source, SD_EVENT_OFF);
	(void)sd_event_source_set_description(a->merge_source, "list-merge");
	r = sd_event_add_time(a->event, &a->retry_timer, CLOCK_MONOTONIC, UINT64_MAX, 1000, on_retry_timer, a);
	if (r < 0)
		return r;
	(void)sd_event_source_set_enabled(a->retry_timer, SD_EVENT_OFF);
	r = sd_event_add_time(a->event, &a->ping_timer, CLOCK_MONOTONIC, UINT64_MAX, 1000, on_ping_timer, a);
	if (r < 0)
		return r;
	(void)sd_event_source_set_enabled(a->ping_timer, SD_EVENT_OFF);
	r = sd_event_add_time_relative(a->event, &a->resync_timer, CLOCK_MONOTONIC,
	                               a->config->resync_interval * USEC_PER_SEC, 0, on_resync_timer, a);
	if (r < 0)
		return r;
	return sd_event_source_set_enabled(a->resync_timer, SD_EVENT_ON);
}

int agent_new(Agent **ret, sd_event *event, Config *config, const unsigned *targets, const AgentOptions *o)
{
	_cleanup_config_ Config *cfg = config;
	_cleanup_(agent_freep) Agent *a = NULL;
	int r;

	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->event = sd_event_ref(event);
	a->config = TAKE_PTR(cfg);
	a->engine_log = (RateLimit)RATELIMIT_INIT(30 * USEC_PER_SEC, 3);
	a->merge_slice = MERGE_STEP;
	a->merge_slice_usec = MERGE_SLICE_USEC;
	a->persist_targets = o->persist_targets;
	a->notify = o->notify;
	a->apps = calloc(CONFIG_MAX_APPS, sizeof(AppState));
	a->node_id = strdup(o->node_id);
	if (!a->apps || !a->node_id || asprintf(&a->label, LABEL_AGENT "=%s", o->node_id) < 0)
		return -ENOMEM;
	if (hashmap_new(&a->by_id) < 0 || hashmap_new(&a->vanished) < 0 || hashmap_new(&a->creating) < 0 ||
	    !table_rebuild(a))
		return -ENOMEM;
	if (o->state_dir && !(a->state_dir = strdup(o->state_dir)))
		return -ENOMEM;
	for (size_t i = 0; i < a->config->n_apps; i++)
		a->apps[i].target = targets[i];
	a->news = on_container_news;
	if (o->engine)
		a->engine = o->engine;
	else {
		r = docker_engine_new(&a->engine, event, o->docker_socket);
		if (r < 0)
			return r;
	}
	r = add_sources(a);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(a);
	return 0;
}

Agent *agent_free(Agent *a)
{
	if (!a)
		return NULL;
	a->shutting_down = true;
	a->events = NULL;
	engine_free(a->engine); /* cancels every call in flight, without callbacks */
	while (a->containers)
		container_free(a->containers);
	while (a->image_calls)
		image_call_free(a, a->image_calls);
	container_merge_end(a);
	container_forget_vanished(a);
	table_free(a);
	hashmap_free(a->by_id);
	hashmap_free(a->vanished);
	hashmap_free(a->creating);
	sd_event_source_disable_unref(a->reconcile_source);
	sd_event_source_disable_unref(a->merge_source);
	sd_event_source_disable_unref(a->resync_timer);
	sd_event_source_disable_unref(a->retry_timer);
	sd_event_source_disable_unref(a->ping_timer);
	sd_event_unref(a->event);
	config_free(a->config);
	free(a->apps);
	free(a->node_id);
	free(a->label);
	free(a->state_dir);
	free(a);
	return NULL;
}

int agent_start(Agent *a)
{
	log_info("Node %s: capacity %u, %zu apps, engine at %s", a->node_id, a->config->capacity, a->config->n_apps,
	         engine_address(a));
	return a->engine->ops->ping(a->engine, on_ping, a);
}

const Config *agent_config(const Agent *a)
{
	return a->config;
}

const char *agent_node_id(const Agent *a)
{
	return a->node_id;
}

bool agent_engine_reachable(const Agent *a)
{
	/* An engine that answers pings but whose lists fail (too big, garbage) gives the agent nothing to work on. */
	return a->engine_up && !a->sync_error[0];
}

const char *agent_engine_error(const Agent *a)
{
	return a->sync_error[0] ? a->sync_error : NULL;
}

bool agent_is_ready(const Agent *a)
{
	return a->ready;
}

const AgentTotals *agent_totals(const Agent *a)
{
	return &a->totals;
}

const Histogram *agent_start_latency(const Agent *a)
{
	return &a->start_latency;
}

const Histogram *agent_stop_latency(const Agent *a)
{
	return &a->stop_latency;
}

void agent_get_targets(const Agent *a, unsigned *ret)
{
	for (size_t i = 0; i < a->config->n_apps; i++)
		ret[i] = a->apps[i].target;
}

void agent_set_targets(Agent *a, const unsigned *targets)
{
	unsigned now[CONFIG_MAX_APPS];
	int r;

	for (size_t i = 0; i < a->config->n_apps; i++)
		if (targets[i] != TARGETS_UNSET && targets[i] != a->apps[i].target) {
			log_app(LOG_INFO, 0, a->config->apps[i].name, NULL, "Target of %s: %u -> %u",
			        a->config->apps[i].name, a->apps[i].target, targets[i]);
			a->apps[i].target = targets[i];
		}
	if (a->persist_targets && a->state_dir) {
		agent_get_targets(a, now);
		r = state_save_targets(a->state_dir, a->config, now);
		if (r < 0)
			log_warning_errno(r, "Failed to keep the targets in %s: %m, ignoring", a->state_dir);
	}
	agent_schedule_reconcile(a);
}

void agent_reload(Agent *a, Config *config)
{
	AppState *apps = calloc(CONFIG_MAX_APPS, sizeof(AppState));

	if (!apps) {
		config_free(config);
		log_error_errno(-ENOMEM, "Failed to reload: %m; keeping the old config");
		return;
	}
	for (size_t i = 0; i < config->n_apps; i++) {
		int old = config_find_app(a->config, config->apps[i].name);
		apps[i] = old >= 0 ? a->apps[old] : (AppState){.target = config->apps[i].target};
		apps[i].retry_at = 0;
		apps[i].failures = 0;
	}
	for (Container *c = a->containers; c; c = c->containers_next)
		container_set_app(c, config_find_app(config, c->app_name));
	free(a->apps);
	config_free(a->config);
	a->apps = apps;
	a->config = config;
	a->images_checked = false; /* new images are checked (and pulled) before they are needed */
	log_info("Reloaded: capacity %u, %zu apps", config->capacity, config->n_apps);
	start_sync(a);
	agent_schedule_reconcile(a);
}

void agent_app_counts(Agent *a, size_t app, unsigned *allocated, unsigned *running, unsigned *starting,
                      unsigned *stopping)
{
	PlanAppResult n;

	tally_counts(table_tally(a, (int)app), &n);
	*allocated = a->apps[app].allocated;
	*running = n.running;
	*starting = n.starting;
	*stopping = plan_app_stopping(&n);
}

unsigned agent_app_standby(Agent *a, size_t app, unsigned *warming)
{
	const AppTally *t = table_tally(a, (int)app);

	if (warming)
		*warming = t->phases[PHASE_WARMING];
	return t->phases[PHASE_STANDBY];
}
