// SPDX-License-Identifier: Apache-2.0
/* Open addressing with linear probing; removal shifts the following entries back (no tombstones), so a lookup
 * never walks more than the run its key hashes into. The table doubles at 3/4 full and starts at 16 slots. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "force12/hashmap.h"

typedef struct Entry {
	const char *key; /* NULL: free */
	void *value;
} Entry;

struct Hashmap {
	Entry *entries;
	size_t size, n; /* size: a power of two */
};

/* FNV-1a, 64 bit. */
static uint64_t hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 0x100000001b3ULL;
	return h;
}

int hashmap_new(Hashmap **ret)
{
	Hashmap *h = calloc(1, sizeof(*h));

	if (!h)
		return -ENOMEM;
	h->size = 16;
	h->entries = calloc(h->size, sizeof(Entry));
	if (!h->entries) {
		free(h);
		return -ENOMEM;
	}
	*ret = h;
	return 0;
}

Hashmap *hashmap_free(Hashmap *h)
{
	if (h) {
		free(h->entries);
		free(h);
	}
	return NULL;
}

static size_t slot_of(const Hashmap *h, const char *key)
{
	size_t i = (size_t)hash(key) & (h->size - 1);

	while (h->entries[i].key && !streq(h->entries[i].key, key))
		i = (i + 1) & (h->size - 1);
	return i;
}

static int grow(Hashmap *h)
{
	Entry *old = h->entries;
	size_t old_size = h->size;

	h->entries = calloc(old_size * 2, sizeof(Entry));
	if (!h->entries) {
		h->entries = old;
		return -ENOMEM;
	}
	h->size = old_size * 2;
	for (size_t i = 0; i < old_size; i++)
		if (old[i].key)
			h->entries[slot_of(h, old[i].key)] = old[i];
	free(old);
	return 0;
}

int hashmap_put(Hashmap *h, const char *key, void *value)
{
	size_t i;

	if ((h->n + 1) * 4 > h->size * 3 && grow(h) < 0)
		return -ENOMEM;
	i = slot_of(h, key);
	if (h->entries[i].key)
		return -EEXIST;
	h->entries[i] = (Entry){.key = key, .value = value};
	h->n++;
	return 0;
}

void *hashmap_get(const Hashmap *h, const char *key)
{
	return h->entries[slot_of(h, key)].value;
}

/* Empties slot i and moves back the entries of the run after it that would no longer be found. */
static void *remove_slot(Hashmap *h, size_t i)
{
	void *value = h->entries[i].value;
	size_t mask = h->size - 1;

	h->entries[i] = (Entry){};
	h->n--;
	for (size_t j = (i + 1) & mask; h->entries[j].key; j = (j + 1) & mask) {
		size_t home = (size_t)hash(h->entries[j].key) & mask;
		/* Entry j may stay unless its home lies cyclically in (i, j]. */
		if (i <= j ? (home > i && home <= j) : (home > i || home <= j))
			continue;
		h->entries[i] = h->entries[j];
		h->entries[j] = (Entry){};
		i = j;
	}
	return value;
}

void *hashmap_remove(Hashmap *h, const char *key)
{
	size_t i = slot_of(h, key);

	return h->entries[i].key ? remove_slot(h, i) : NULL;
}

void *hashmap_steal_first(Hashmap *h)
{
	for (size_t i = 0; h->n > 0 && i < h->size; i++)
		if (h->entries[i].key)
			return remove_slot(h, i);
	return NULL;
}

size_t hashmap_size(const Hashmap *h)
{
	return h->n;
}
