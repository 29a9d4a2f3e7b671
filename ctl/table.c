// SPDX-License-Identifier: Apache-2.0
/* Aligned text tables for force12ctl: each column as wide as its widest cell, left-aligned, two spaces apart.
 * Cells come from the agent (and through it from the engine), so control characters never reach the terminal. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"

struct Table {
	size_t n_columns;
	char **cells; /* row-major, the headers first */
	size_t n_cells, allocated;
};

char *text_sanitize(const char *s)
{
	char *out = malloc(strlen(s) + 1), *o = out;
	const unsigned char *p = (const unsigned char *)s;

	if (!out)
		return NULL;
	while (*p) {
		if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) { /* U+0080..U+009F: C1 controls, e.g. CSI */
			*o++ = '?';
			p += 2;
			continue;
		}
		*o++ = *p < 0x20 || *p == 0x7f ? '?' : (char)*p;
		p++;
	}
	*o = 0;
	return out;
}

/* Columns on a terminal: UTF-8 continuation bytes take none. */
static size_t text_width(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

static int table_add_cell(Table *t, const char *cell)
{
	char *copy = text_sanitize(cell ? cell : "-");

	if (!copy)
		return -ENOMEM;
	if (t->n_cells == t->allocated) {
		size_t n = MAX(t->allocated * 2, (size_t)32);
		char **p = reallocarray(t->cells, n, sizeof(char *));
		if (!p) {
			free(copy);
			return -ENOMEM;
		}
		t->cells = p;
		t->allocated = n;
	}
	t->cells[t->n_cells++] = copy;
	return 0;
}

int table_add_row(Table *t, const char *const *cells)
{
	size_t before = t->n_cells;
	int r = 0;

	for (size_t i = 0; r >= 0 && i < t->n_columns; i++)
		r = table_add_cell(t, cells[i]);
	if (r < 0) /* all or nothing: rows stay whole */
		while (t->n_cells > before)
			free(t->cells[--t->n_cells]);
	return r;
}

int table_new(Table **ret, size_t n_columns, const char *const *headers)
{
	_cleanup_(table_freep) Table *t = calloc(1, sizeof(Table));
	int r;

	if (!t)
		return -ENOMEM;
	t->n_columns = n_columns;
	r = table_add_row(t, headers);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(t);
	return 0;
}

Table *table_free(Table *t)
{
	if (!t)
		return NULL;
	for (size_t i = 0; i < t->n_cells; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t);
	return NULL;
}

int table_print(const Table *t, FILE *f)
{
	_cleanup_free_ size_t *widths = calloc(t->n_columns, sizeof(size_t));

	if (!widths)
		return -ENOMEM;
	for (size_t i = 0; i < t->n_cells; i++)
		widths[i % t->n_columns] = MAX(widths[i % t->n_columns], text_width(t->cells[i]));
	for (size_t i = 0; i < t->n_cells; i++) {
		size_t col = i % t->n_columns;
		fputs(t->cells[i], f);
		if (col + 1 == t->n_columns)
			fputc('\n', f);
		else
			fprintf(f, "%*s", (int)(widths[col] - text_width(t->cells[i]) + 2), "");
	}
	return ferror(f) ? -EIO : 0;
}
