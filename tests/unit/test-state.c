// SPDX-License-Identifier: Apache-2.0
/* Unit tests of the state dir: what is saved loads back, a missing file changes nothing, a corrupt one is set aside
 * without touching the targets, and a save leaves nothing behind but targets.json, whether it works or not. */

/* cmocka.h needs these four first; its own block keeps clang-format's include sorting from moving it up. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "force12/config.h"
#include "force12/state.h"
#include "force12/targets.h"

typedef struct Fixture {
	char dir[64];
	Config *config;
} Fixture;

static int setup(void **state)
{
	Fixture *f = calloc(1, sizeof(Fixture));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/test-state-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(config_new_default(&f->config), 0);
	*state = f;
	return 0;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int teardown(void **state)
{
	Fixture *f = *state;

	assert_int_equal(nftw(f->dir, remove_one, 16, FTW_DEPTH | FTW_PHYS), 0);
	config_free(f->config);
	free(f);
	return 0;
}

static char *path_in(const char *dir, const char *name)
{
	char *p = NULL;

	assert_true(asprintf(&p, "%s/%s", dir, name) > 0);
	return p;
}

static void write_file(const char *dir, const char *name, const char *text, size_t len)
{
	_cleanup_free_ char *p = path_in(dir, name);
	FILE *fp = fopen(p, "we");

	assert_non_null(fp);
	assert_int_equal(fwrite(text, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
}

/* The file's whole content, NUL-terminated; NULL if it does not exist. */
static char *read_file(const char *dir, const char *name, size_t *ret_len)
{
	_cleanup_free_ char *p = path_in(dir, name);
	struct stat st;
	char *buf;
	FILE *fp = fopen(p, "re");

	if (!fp) {
		assert_int_equal(errno, ENOENT);
		return NULL;
	}
	assert_int_equal(fstat(fileno(fp), &st), 0);
	buf = malloc((size_t)st.st_size + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)st.st_size, fp), (size_t)st.st_size);
	buf[st.st_size] = '\0';
	fclose(fp);
	if (ret_len)
		*ret_len = (size_t)st.st_size;
	return buf;
}

static bool exists(const char *dir, const char *name)
{
	_cleanup_free_ char *p = path_in(dir, name);

	return access(p, F_OK) == 0;
}

/* Fails unless the directory holds exactly the names given (NULL-terminated). */
static void assert_dir_holds(const char *dir, const char *const *names)
{
	size_t n_names = 0, seen = 0;
	struct dirent *de;
	DIR *d = opendir(dir);

	assert_non_null(d);
	while (names[n_names])
		n_names++;
	while ((de = readdir(d))) {
		bool expected = false;

		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		for (size_t i = 0; i < n_names; i++)
			expected = expected || streq(de->d_name, names[i]);
		if (!expected)
			fail_msg("%s holds an unexpected file \"%s\"", dir, de->d_name);
		seen++;
	}
	closedir(d);
	assert_int_equal(seen, n_names);
}

static void test_save_then_load(void **state)
{
	Fixture *f = *state;
	const unsigned saved[] = {3, 6};
	unsigned loaded[] = {0, 0};
	ErrorText error = {};
	_cleanup_free_ char *text = NULL;

	assert_int_equal(state_save_targets(f->dir, f->config, saved), 0);
	text = read_file(f->dir, "targets.json", NULL);
	assert_non_null(text);
	assert_string_equal(text, "{\"priority1\":3,\"priority2\":6}\n");
	assert_int_equal(state_load_targets(f->dir, f->config, loaded, &error), 1);
	assert_int_equal(loaded[0], 3);
	assert_int_equal(loaded[1], 6);

	/* A second save replaces the first; the extremes survive. */
	const unsigned again[] = {CONFIG_MAX_TARGET, 0};
	assert_int_equal(state_save_targets(f->dir, f->config, again), 0);
	assert_int_equal(state_load_targets(f->dir, f->config, loaded, &error), 1);
	assert_int_equal(loaded[0], CONFIG_MAX_TARGET);
	assert_int_equal(loaded[1], 0);
}

static void test_load_without_file(void **state)
{
	Fixture *f = *state;
	unsigned targets[] = {5, 7};
	ErrorText error = {};

	assert_int_equal(state_load_targets(f->dir, f->config, targets, &error), 0);
	assert_int_equal(targets[0], 5);
	assert_int_equal(targets[1], 7);
	/* Nor does a state dir that does not exist yet mean an error.text. */
	_cleanup_free_ char *missing = path_in(f->dir, "missing");
	assert_int_equal(state_load_targets(missing, f->config, targets, &error), 0);
	assert_int_equal(targets[0], 5);
	assert_int_equal(targets[1], 7);
	assert_dir_holds(f->dir, (const char *const[]){NULL});
}

/* Each of these is set aside and refused, whatever is wrong with it. */
static void test_load_corrupt(void **state)
{
	static const char *const bodies[] = {
	        "{\"priority1\": ",
	        "",
	        "[3, 6]",
	        "{\"priority1\": -1}",
	        "{\"priority1\": 2, \"priority1\": 3}",
	        "{\"priority1\": \"3\"}",
	        "\xff\xfe",
	};
	Fixture *f = *state;

	for (size_t i = 0; i < ELEMENTSOF(bodies); i++) {
		unsigned targets[] = {5, 7};
		ErrorText error = {};
		_cleanup_free_ char *kept = NULL;
		size_t len = 0;

		write_file(f->dir, "targets.json", bodies[i], strlen(bodies[i]));
		assert_int_equal(state_load_targets(f->dir, f->config, targets, &error), -EBADMSG);
		assert_int_equal(targets[0], 5);
		assert_int_equal(targets[1], 7);
		if (error.text[0] == '\0')
			fail_msg("no reason given for \"%s\"", bodies[i]);
		assert_false(exists(f->dir, "targets.json"));
		kept = read_file(f->dir, "targets.json.corrupt", &len);
		assert_non_null(kept);
		assert_int_equal(len, strlen(bodies[i]));
		assert_memory_equal(kept, bodies[i], len);
		/* Once set aside, the next start finds no file. */
		assert_int_equal(state_load_targets(f->dir, f->config, targets, &error), 0);
		assert_int_equal(targets[0], 5);
	}
}

static void test_load_too_large(void **state)
{
	Fixture *f = *state;
	size_t len = TARGETS_BODY_MAX + 1;
	_cleanup_free_ char *text = malloc(len);
	unsigned targets[] = {5, 7};
	ErrorText error = {};

	/* A valid object, one byte over the limit. */
	assert_non_null(text);
	memset(text, ' ', len);
	memcpy(text, "{\"priority1\": 1", strlen("{\"priority1\": 1"));
	text[len - 1] = '}';
	write_file(f->dir, "targets.json", text, len);
	assert_int_equal(state_load_targets(f->dir, f->config, targets, &error), -EBADMSG);
	assert_non_null(strstr(error.text, "too large"));
	assert_int_equal(targets[0], 5);
	assert_int_equal(targets[1], 7);
	assert_dir_holds(f->dir, (const char *const[]){"targets.json.corrupt", NULL});

	/* At the limit it is read. */
	text[len - 2] = '}';
	write_file(f->dir, "targets.json", text, len - 1);
	assert_int_equal(state_load_targets(f->dir, f->config, targets, &error), 1);
	assert_int_equal(targets[0], 1);
	assert_int_equal(targets[1], 7);
}

/* After a config change the file may name an app that is gone: the others still load. */
static void test_load_unknown_app(void **state)
{
	static const char body[] = "{\"gone\": 4, \"priority2\": 8}\n";
	Fixture *f = *state;
	unsigned targets[] = {5, 7};
	ErrorText error = {};

	write_file(f->dir, "targets.json", body, strlen(body));
	assert_int_equal(state_load_targets(f->dir, f->config, targets, &error), 1);
	/* priority1 is not named: left as it was. */
	assert_int_equal(targets[0], 5);
	assert_int_equal(targets[1], 8);
	/* The file is good, so it stays. */
	assert_dir_holds(f->dir, (const char *const[]){"targets.json", NULL});
}

static void test_save_creates_dir(void **state)
{
	Fixture *f = *state;
	_cleanup_free_ char *sub = path_in(f->dir, "state");
	const unsigned saved[] = {2, 4};
	unsigned loaded[] = {0, 0};
	ErrorText error = {};
	struct stat st;

	assert_int_equal(stat(sub, &st), -1);
	assert_int_equal(state_save_targets(sub, f->config, saved), 0);
	assert_int_equal(stat(sub, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(state_load_targets(sub, f->config, loaded, &error), 1);
	assert_int_equal(loaded[0], 2);
	assert_int_equal(loaded[1], 4);
}

static void test_save_leaves_no_temp_file(void **state)
{
	Fixture *f = *state;
	const unsigned saved[] = {1, 2};

	for (int i = 0; i < 3; i++) {
		assert_int_equal(state_save_targets(f->dir, f->config, saved), 0);
		assert_dir_holds(f->dir, (const char *const[]){"targets.json", NULL});
	}
}

static void test_save_under_regular_file(void **state)
{
	Fixture *f = *state;
	_cleanup_free_ char *file = path_in(f->dir, "plain");
	_cleanup_free_ char *below = path_in(file, "state");
	_cleanup_free_ char *text = NULL;
	const unsigned saved[] = {1, 2};
	unsigned targets[] = {5, 7};
	ErrorText error = {};

	write_file(f->dir, "plain", "x", 1);
	assert_int_equal(state_save_targets(below, f->config, saved), -ENOTDIR);
	/* A regular file given as the state dir. */
	assert_int_equal(state_save_targets(file, f->config, saved), -ENOTDIR);
	assert_int_equal(state_load_targets(file, f->config, targets, &error), -ENOTDIR);
	assert_int_equal(targets[0], 5);
	assert_int_equal(targets[1], 7);
	text = read_file(f->dir, "plain", NULL);
	assert_string_equal(text, "x");
	assert_dir_holds(f->dir, (const char *const[]){"plain", NULL});
}

/* A rename that fails (targets.json is a directory) returns the error and cleans up the temp file. */
static void test_save_fails_cleanly(void **state)
{
	Fixture *f = *state;
	_cleanup_free_ char *blocker = path_in(f->dir, "targets.json");
	_cleanup_free_ char *inside = path_in(blocker, "x");
	const unsigned saved[] = {1, 2};
	unsigned targets[] = {5, 7};
	ErrorText error = {};

	assert_int_equal(mkdir(blocker, 0755), 0);
	assert_int_equal(mkdir(inside, 0755), 0);
	assert_int_equal(state_save_targets(f->dir, f->config, saved), -EISDIR);
	assert_dir_holds(f->dir, (const char *const[]){"targets.json", NULL});
	/* Loading it is an I/O error.text, not corruption: nothing is renamed. */
	assert_int_equal(state_load_targets(f->dir, f->config, targets, &error), -EISDIR);
	assert_int_equal(targets[0], 5);
	assert_int_equal(targets[1], 7);
	assert_dir_holds(f->dir, (const char *const[]){"targets.json", NULL});
}

/* A FIFO named targets.json (planted, or left by a tool) must not hang the start: it is set aside at once. */
static void test_load_fifo_does_not_block(void **state)
{
	Fixture *f = *state;
	_cleanup_free_ char *p = path_in(f->dir, "targets.json");
	unsigned targets[] = {5, 7};
	ErrorText error = {};

	assert_int_equal(mkfifo(p, 0644), 0);
	alarm(5); /* before the fix the open waited for a writer for ever: fail, do not hang */
	assert_int_equal(state_load_targets(f->dir, f->config, targets, &error), -EBADMSG);
	alarm(0);
	assert_non_null(strstr(error.text, "FIFO"));
	assert_int_equal(targets[0], 5);
	assert_int_equal(targets[1], 7);
	assert_dir_holds(f->dir, (const char *const[]){"targets.json.corrupt", NULL});
}

/* targets.json as a symlink is not followed: a link to a file the agent may read is not read. */
static void test_load_symlink_is_not_followed(void **state)
{
	static const char body[] = "{\"priority1\": 3}\n";
	Fixture *f = *state;
	_cleanup_free_ char *p = path_in(f->dir, "targets.json");
	_cleanup_free_ char *victim = path_in(f->dir, "elsewhere");
	_cleanup_free_ char *text = NULL;
	unsigned targets[] = {5, 7};
	ErrorText error = {};

	write_file(f->dir, "elsewhere", body, strlen(body));
	assert_int_equal(symlink(victim, p), 0);
	assert_int_equal(state_load_targets(f->dir, f->config, targets, &error), -EBADMSG);
	assert_non_null(strstr(error.text, "symbolic link"));
	assert_int_equal(targets[0], 5);
	text = read_file(f->dir, "elsewhere", NULL);
	assert_string_equal(text, body);
}

/* A symlink planted at the temp name (.targets.json.<pid> -> victim) must not make a save write the victim. */
static void test_save_planted_temp_symlink(void **state)
{
	Fixture *f = *state;
	_cleanup_free_ char *victim = path_in(f->dir, "victim");
	_cleanup_free_ char *tmp = NULL, *text = NULL;
	const unsigned saved[] = {3, 4};
	unsigned loaded[] = {0, 0};
	ErrorText error = {};

	write_file(f->dir, "victim", "precious\n", 9);
	assert_true(asprintf(&tmp, "%s/.targets.json.%d", f->dir, (int)getpid()) > 0);
	assert_int_equal(symlink(victim, tmp), 0);
	assert_int_equal(state_save_targets(f->dir, f->config, saved), 0);
	text = read_file(f->dir, "victim", NULL);
	assert_string_equal(text, "precious\n");
	assert_int_equal(state_load_targets(f->dir, f->config, loaded, &error), 1);
	assert_int_equal(loaded[0], 3);
	assert_int_equal(loaded[1], 4);
	/* targets.json is a regular file of its own, not the victim through a link. */
	assert_dir_holds(f->dir, (const char *const[]){"targets.json", "victim", NULL});
	struct stat st;
	assert_int_equal(lstat(victim, &st), 0);
	assert_true(S_ISREG(st.st_mode));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_save_then_load, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_load_without_file, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_load_corrupt, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_load_too_large, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_load_unknown_app, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_save_creates_dir, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_save_leaves_no_temp_file, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_save_under_regular_file, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_save_fails_cleanly, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_load_fifo_does_not_block, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_load_symlink_is_not_followed, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_save_planted_temp_symlink, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
