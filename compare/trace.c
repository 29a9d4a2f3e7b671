// SPDX-License-Identifier: Apache-2.0
/* force12-trace: prints the Force12 demo's seeded demand trace, the same walk as `force12-agent --demand
 * random:SEED` (priority1 moves by up to 3 every 3 s within 0..capacity, priority2 takes the rest), so that the
 * comparison's driver can replay one trace against any system. Only prints; it talks to nothing. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "force12/config.h"
#include "force12/demand.h"
#include "force12/xorshift.h"

static void help(void)
{
	printf("Usage: force12-trace [OPTIONS]\n"
	       "Prints the Force12 demo's demand trace, one line per change: SECONDS priority1=N priority2=N\n"
	       "(the same walk as force12-agent --demand random:SEED).\n\n"
	       "  --seed N          the walk's seed (default 2015)\n"
	       "  --duration SECS   how long the trace lasts (default 120)\n"
	       "  --capacity N      priority1 moves within 0..N, priority2 takes the rest (default 9)\n"
	       "  --all             print every 3 s tick, also those that change nothing\n"
	       "  -h, --help\n");
}

static int parse_uint(const char *what, const char *s, unsigned long max, unsigned long *ret)
{
	char *end;

	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || *end || s[0] < '0' || s[0] > '9' || v > max) {
		fprintf(stderr, "force12-trace: %s: \"%.32s\" is not an integer in 0..%lu\n", what, s, max);
		return -EINVAL;
	}
	*ret = v;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
	        {"seed", required_argument, NULL, 's'},     {"duration", required_argument, NULL, 'd'},
	        {"capacity", required_argument, NULL, 'c'}, {"all", no_argument, NULL, 'a'},
	        {"help", no_argument, NULL, 'h'},           {},
	};
	unsigned long seed = 2015, duration = 120, capacity = 9;
	bool all = false;
	int c;

	while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
		int r = 0;
		switch (c) {
		case 's':
			r = parse_uint("--seed", optarg, 999999999999UL, &seed);
			break;
		case 'd':
			r = parse_uint("--duration", optarg, 7 * 24 * 3600, &duration);
			break;
		case 'c':
			r = parse_uint("--capacity", optarg, CONFIG_MAX_CAPACITY, &capacity);
			if (r == 0 && capacity == 0) {
				fprintf(stderr, "force12-trace: --capacity: must be at least 1\n");
				r = -EINVAL;
			}
			break;
		case 'a':
			all = true;
			break;
		case 'h':
			help();
			return 0;
		default:
			fprintf(stderr, "Try 'force12-trace --help'.\n");
			return 2;
		}
		if (r < 0)
			return 2;
	}
	if (optind < argc) {
		fprintf(stderr, "force12-trace: unexpected argument \"%.64s\"; try --help\n", argv[optind]);
		return 2;
	}

	uint64_t rng = (uint64_t)seed * 0x9E3779B97F4A7C15ULL + 1;
	unsigned current = (unsigned)(xorshift64(&rng) % (capacity + 1)), last = (unsigned)capacity + 1;
	unsigned interval = (unsigned)(DEMAND_RANDOM_INTERVAL_USEC / 1000000);
	for (unsigned long t = 0; t < duration; t += interval) {
		current = demand_random_step(&rng, current, (unsigned)capacity, DEMAND_RANDOM_MAX_STEP);
		if (all || current != last)
			printf("%lu priority1=%u priority2=%lu\n", t, current, capacity - current);
		last = current;
	}
	return fflush(stdout) == 0 ? 0 : 1;
}
