// SPDX-License-Identifier: Apache-2.0
/* The project's one hash map: string keys to pointers, open addressing with linear probing, O(1) on average for
 * put, get and remove. Keys are not copied: a key must stay valid and unchanged while it is in the map (it usually
 * lives inside the value). */
#pragma once

#include <stddef.h>

#include "force12/macro.h"

typedef struct Hashmap Hashmap;

int hashmap_new(Hashmap **ret);
/* Frees the map, not the values. Accepts NULL; returns NULL. */
Hashmap *hashmap_free(Hashmap *h);
DEFINE_TRIVIAL_CLEANUP_FUNC(Hashmap *, hashmap_free);

/* 0, -EEXIST if the key is there already (nothing changes), -ENOMEM. */
int hashmap_put(Hashmap *h, const char *key, void *value);
void *hashmap_get(const Hashmap *h, const char *key);
/* Takes the key out; returns its value, or NULL if it was not there. */
void *hashmap_remove(Hashmap *h, const char *key);
/* Takes some entry out and returns its value; NULL when empty. For draining a map. */
void *hashmap_steal_first(Hashmap *h);
size_t hashmap_size(const Hashmap *h);
