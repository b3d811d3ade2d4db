/*
 * store_int: what store.c shares with the drivers (store_sqlite.c,
 * store_pg.c).  Not for use outside src/core/store*.c.
 *
 * Division of work: store.c owns the transaction state, the error text
 * shown by store_errmsg() and all logging; a driver only runs statements,
 * sets the error text (store_seterr) and returns a store_rc.  Drivers never
 * log failures themselves, so each failure is logged exactly once.
 */
#ifndef YZ_STORE_INT_H
#define YZ_STORE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/store.h"

struct store_ops {
	int (*begin)(struct store *st);
	int (*commit)(struct store *st);    /* the transaction is over afterwards, even on failure */
	void (*rollback)(struct store *st);
	int (*exec)(struct store *st, const char *sql, const struct sval *params, int nparams,
		    int64_t *changes);
	int (*query)(struct store *st, const char *sql, const struct sval *params, int nparams,
		     struct store_res **out);
	/* store_each's rows; returns STORE_OK, fn's positive value, or a store_rc */
	int (*each)(struct store *st, const char *sql, const struct sval *params, int nparams, store_row_fn fn,
		    void *arg);
	int (*exec_script)(struct store *st, const char *sql);
	void (*close)(struct store *st);    /* frees the driver state, not st */
};

struct store {
	const struct store_ops *ops;
	enum store_driver driver;
	int in_tx;          /* between a successful store_begin and commit/rollback */
	int tx_failed;      /* a statement failed inside the transaction: only rollback is allowed */
	char *errmsg;       /* last failure, malloc'd; NULL if none yet */
	void *drv;          /* driver state */
	char *uri;          /* as opened (store_open_again); NULL for an in-memory database */
};

/* Replaces st->errmsg. */
void store_seterr(struct store *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Driver entry points, called by store_open with the part after the scheme. */
int store_sqlite_open(struct store *st, const char *path, char **err);
int store_pg_open(struct store *st, const char *uri, char **err);

/*
 * Prepared-statement cache: open addressing on the SQL text's address.
 * Values belong to the driver.  Because an address can be reused for other
 * text (a caller's buffer), drivers keep a copy of the text in the value
 * and compare it on every hit; a mismatch replaces the entry.  Bounded by
 * STMT_CACHE_MAX entries: a driver clears the cache when it is full.
 */
#define STMT_CACHE_MAX 1024

struct stmt_cache {
	const char **keys;
	void **vals;
	size_t cap, n;
};

void *stmt_cache_get(const struct stmt_cache *c, const char *key);
/* Inserts or replaces (the old value is not freed: the caller did that). */
void stmt_cache_set(struct stmt_cache *c, const char *key, void *val);
/* Calls fin on every value and empties the cache (keeps its memory). */
void stmt_cache_clear(struct stmt_cache *c, void (*fin)(void *val, void *arg), void *arg);
/* Frees the cache's own memory; values must have been cleared. */
void stmt_cache_release(struct stmt_cache *c);

/*
 * Result builder: cells are appended row by row; rb_finish packs the
 * result into one allocation (header, cell table, then every cell's bytes,
 * each NUL-terminated).  Results are bounded by STORE_RES_MAX bytes.
 */
#define STORE_RES_MAX ((size_t)1 << 30)

struct res_cell {
	size_t off;
	size_t len;
	int null;
};

struct res_builder {
	int cols, rows;
	struct res_cell *cells;
	size_t ncells, capcells;
	struct buf data;
};

void rb_init(struct res_builder *b, int cols);
/* Appends one cell (p == NULL: SQL NULL).  -1 when the result grows too large. */
int rb_add(struct res_builder *b, const void *p, size_t len);
void rb_end_row(struct res_builder *b);
/* Packs the result (caller frees with store_res_free) and releases b. */
struct store_res *rb_finish(struct res_builder *b);
void rb_release(struct res_builder *b);

#endif
