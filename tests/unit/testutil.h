/*
 * Helpers shared by the unit tests (cmocka).
 *
 * test_store_uri(): the store under test.  YIZHAN_TEST_STORE selects it
 * (tests/run.sh sets a postgresql:// URI for the second pass); otherwise a
 * fresh SQLite file in a temporary folder.  For PostgreSQL each call gives a
 * fresh schema-less database state by dropping and recreating the public
 * schema, so every test starts empty.
 */
#ifndef YZ_TESTUTIL_H
#define YZ_TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/store.h"

static inline char *test_tmpdir(void)
{
	/* Under $TMPDIR when set (tests/run.sh removes its own at the end). */
	const char *base = getenv("TMPDIR");
	char tmpl[512];
	snprintf(tmpl, sizeof tmpl, "%s/yizhan-test-XXXXXX", base && *base ? base : "/tmp");
	char *d = mkdtemp(tmpl);
	if (d == NULL) {
		perror("mkdtemp");
		abort();
	}
	return strdup(d);
}

/* malloc'd URI; for SQLite a new file in a new temporary folder. */
static inline char *test_store_uri(void)
{
	const char *env = getenv("YIZHAN_TEST_STORE");
	if (env != NULL && *env != '\0')
		return strdup(env);
	char *dir = test_tmpdir();
	char *uri = NULL;
	if (asprintf(&uri, "sqlite:%s/test.db", dir) < 0)
		abort();
	free(dir);
	return uri;
}

static inline int test_is_pg(void)
{
	const char *env = getenv("YIZHAN_TEST_STORE");
	return env != NULL && strncmp(env, "postgres", 8) == 0;
}

/* Opens the test store and empties it (PostgreSQL: drops the public schema). */
static inline struct store *test_store_open(void)
{
	char *uri = test_store_uri(), *err = NULL;
	struct store *st = NULL;
	if (store_open(uri, &st, &err) != 0) {
		fprintf(stderr, "test store %s: %s\n", uri, err ? err : "?");
		abort();
	}
	free(uri);
	if (store_driver(st) == STORE_PG &&
	    store_exec_script(st, "DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;") != 0)
		abort();
	return st;
}

#endif
