// SPDX-License-Identifier: Apache-2.0
/* Unit tests of the hash map: random puts and removes checked against a plain array after every step (removal
 * shifts entries back, the part most easily got wrong), growth, duplicates refused, draining. */

/* cmocka.h needs these four first; its own block keeps clang-format's include sorting from moving it up. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "force12/hashmap.h"

#define N 2000

static char keys[N][16];

static void test_against_an_array(void **state)
{
	_cleanup_(hashmap_freep) Hashmap *h = NULL;
	static bool in[N];
	uint64_t s = 88172645463325252ULL;
	size_t n = 0;

	memset(in, 0, sizeof(in));
	for (size_t i = 0; i < N; i++)
		snprintf(keys[i], sizeof(keys[i]), "%zx", i * 7919);
	assert_int_equal(hashmap_new(&h), 0);
	for (int step = 0; step < 20000; step++) {
		size_t k;

		s ^= s << 13, s ^= s >> 7, s ^= s << 17;
		k = (size_t)(s % N);
		if (s & (1ULL << 40)) {
			int r = hashmap_put(h, keys[k], keys[k]);
			assert_int_equal(r, in[k] ? -EEXIST : 0);
			n += !in[k];
			in[k] = true;
		} else {
			assert_ptr_equal(hashmap_remove(h, keys[k]), in[k] ? keys[k] : NULL);
			n -= in[k];
			in[k] = false;
		}
		assert_int_equal(hashmap_size(h), n);
		if (step % 1000 == 0)
			for (size_t i = 0; i < N; i++)
				assert_ptr_equal(hashmap_get(h, keys[i]), in[i] ? keys[i] : NULL);
	}
	for (size_t i = 0; i < N; i++)
		assert_ptr_equal(hashmap_get(h, keys[i]), in[i] ? keys[i] : NULL);
	while (n > 0) {
		char *v = hashmap_steal_first(h);
		assert_non_null(v);
		assert_true(in[(size_t)(v - keys[0]) / sizeof(keys[0])]);
		in[(size_t)(v - keys[0]) / sizeof(keys[0])] = false;
		n--;
	}
	assert_null(hashmap_steal_first(h));
	assert_int_equal(hashmap_size(h), 0);
}

static void test_empty_and_missing(void **state)
{
	_cleanup_(hashmap_freep) Hashmap *h = NULL;

	assert_int_equal(hashmap_new(&h), 0);
	assert_null(hashmap_get(h, "a"));
	assert_null(hashmap_remove(h, "a"));
	assert_int_equal(hashmap_put(h, "", h), 0);
	assert_ptr_equal(hashmap_get(h, ""), h);
	assert_null(hashmap_free(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_against_an_array),
	        cmocka_unit_test(test_empty_and_missing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
