/* Demand sources: where targets come from besides the control API. Each source hands the agent a full set of
 * targets through one callback; the reconciler never knows where they came from. */
#pragma once

#include <stdint.h>
#include <systemd/sd-event.h>

#include "force12/config.h"

typedef struct Demand Demand;
/* targets: config->n_apps entries, TARGETS_UNSET for apps the source leaves alone. */
typedef void (*DemandFn)(const unsigned *targets, void *userdata);

#define DEMAND_RANDOM_INTERVAL_USEC (3 * 1000000ULL)
#define DEMAND_RANDOM_MAX_STEP      3

/* spec: "api" (no source: *ret = NULL) or "random[:SEED]". The config must outlive the source. On a bad spec
 * returns -EINVAL with a one-line reason in error (CONFIG_ERROR_MAX bytes). */
int demand_new(Demand **ret, sd_event *event, const char *spec, const Config *config, DemandFn fn, void *userdata,
               char *error);
Demand *demand_free(Demand *d);
DEFINE_TRIVIAL_CLEANUP_FUNC(Demand *, demand_free);
/* "random", ...: for status and error messages. */
const char *demand_kind(const Demand *d);

/* The Force12 demo's random walk, one step: current moves by up to max_step either way, within 0..max.
 * state is the generator's state (never 0). Pure, for the tests. */
unsigned demand_random_step(uint64_t *state, unsigned current, unsigned max, unsigned max_step);
