// SPDX-License-Identifier: Apache-2.0
/* The project's one intrusive doubly linked list (after systemd's LIST_* macros): a struct embeds
 * LIST_FIELDS(Type, name) and a head pointer; insert and remove are O(1), nothing is allocated. */
#pragma once

#include <stddef.h>

#define LIST_FIELDS(t, name) t *name##_next, *name##_prev

#define LIST_PREPEND(name, head, item)                              \
	do {                                                        \
		typeof(*(head)) **_head = &(head), *_item = (item); \
		_item->name##_prev = NULL;                          \
		_item->name##_next = *_head;                        \
		if (*_head)                                         \
			(*_head)->name##_prev = _item;              \
		*_head = _item;                                     \
	} while (0)

#define LIST_REMOVE(name, head, item)                                         \
	do {                                                                  \
		typeof(*(head)) **_head = &(head), *_item = (item);           \
		if (_item->name##_next)                                       \
			_item->name##_next->name##_prev = _item->name##_prev; \
		if (_item->name##_prev)                                       \
			_item->name##_prev->name##_next = _item->name##_next; \
		else                                                          \
			*_head = _item->name##_next;                          \
		_item->name##_next = _item->name##_prev = NULL;               \
	} while (0)

#define LIST_FOREACH(name, i, head) for ((i) = (head); (i); (i) = (i)->name##_next)

/* Safe against removing i inside the loop. */
#define LIST_FOREACH_SAFE(name, i, n, head) for ((i) = (head); (i) && (((n) = (i)->name##_next), 1); (i) = (n))
