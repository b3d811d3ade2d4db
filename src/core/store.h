/*
 * store: one interface, two drivers (SQLite, PostgreSQL via libpq).
 *
 * SQL is written once, in the subset both accept, with $1..$N parameters.
 * The SQLite driver binds by name ("$1", "$2", ...) through
 * sqlite3_bind_parameter_index, because SQLite numbers $N by first
 * appearance.  RETURNING and INSERT ... ON CONFLICT work on both.
 *
 * Statements are prepared once per connection: each connection caches its
 * prepared statements keyed by the SQL text's address, so callers pass SQL
 * from static tables (stmt.def style), never strings built at run time.
 * (A reused address holding other text is detected and re-prepared; the
 * cache holds at most STMT_CACHE_MAX = 1024 statements and is emptied when
 * full.)  One statement per call; multi-statement text goes to
 * store_exec_script.
 *
 * Parameters: only $1..$N.  Every $k the SQL uses must be given; params
 * beyond the highest $k the SQL uses are ignored.  PostgreSQL infers each
 * parameter's type from where it appears, so every $k up to the highest
 * must appear, at least once where its type is clear ("$1 IS NULL" alone
 * fails there; "a = $1 OR $1 IS NULL" is fine).
 *
 * Differences the drivers absorb:
 *   - a trailing row-lock clause (FOR UPDATE, FOR SHARE, ... NOWAIT,
 *     SKIP LOCKED; not FOR UPDATE OF t) is dropped on SQLite, whose
 *     store_begin already holds the database's only write lock;
 *   - PostgreSQL booleans come back as "1"/"0" and bytea as raw bytes,
 *     as SQLite gives them.
 *
 * Transactions behave as on PostgreSQL on both drivers: once a statement
 * fails inside a transaction, every further statement fails and
 * store_commit rolls back and returns STORE_ERR; call store_rollback.
 * (Use INSERT ... ON CONFLICT where a conflict is expected.)
 *
 * A struct store is one connection, used by one thread at a time.  Results
 * are fully fetched into a struct store_res owned by the caller
 * (store_res_free).  Error text of the last failure: store_errmsg().
 * Failures are logged once by the store, with the SQL's first 80 bytes and
 * the error (constraint violations and lock conflicts as warnings, since
 * callers often expect them).
 */
#ifndef YZ_STORE_H
#define YZ_STORE_H

#include <stddef.h>
#include <stdint.h>

enum store_driver { STORE_SQLITE, STORE_PG };

enum store_rc {
	STORE_OK = 0,
	STORE_ERR = -1,          /* any other failure */
	STORE_CONSTRAINT = -2,   /* unique / foreign-key / check violation */
	STORE_BUSY = -3,         /* lock or serialization failure: retry the transaction */
};

enum sval_type { SV_NULL, SV_INT, SV_TEXT, SV_BLOB };

struct sval {
	enum sval_type type;
	int64_t i;
	const char *s;     /* SV_TEXT: NUL-terminated; SV_BLOB: len bytes */
	size_t len;
};

#define SVN ((struct sval){ .type = SV_NULL })
#define SVI(x) ((struct sval){ .type = SV_INT, .i = (int64_t)(x) })
/* SVT(NULL) binds SQL NULL */
static inline struct sval sv_text(const char *x)
{
	struct sval v = { .type = x ? SV_TEXT : SV_NULL, .s = x };
	return v;
}
#define SVT(x) sv_text(x)
#define SVB(p, n) ((struct sval){ .type = SV_BLOB, .s = (const char *)(p), .len = (n) })

struct store;
struct store_res;

/*
 * uri: "sqlite:PATH" (PATH created if missing; WAL, synchronous=FULL,
 * foreign_keys=ON, busy_timeout 10 s) or "postgresql://..." / "postgres://...".
 * On failure returns -1 and sets *err to a malloc'd message (caller frees).
 */
int store_open(const char *uri, struct store **out, char **err);
/*
 * Another connection to the database st is connected to (for a second
 * thread: a connection is used by one thread at a time).  0, or -1 with
 * *err (malloc'd) as store_open; always -1 for an in-memory SQLite
 * database, which a second connection would not see.
 */
int store_open_again(const struct store *st, struct store **out, char **err);
void store_close(struct store *st);
enum store_driver store_driver(const struct store *st);
const char *store_errmsg(const struct store *st);

/* A write transaction (SQLite: BEGIN IMMEDIATE).  Not nestable. */
int store_begin(struct store *st);
int store_commit(struct store *st);
void store_rollback(struct store *st);   /* no-op outside a transaction */
int store_in_tx(const struct store *st);

/* Runs a statement that returns no rows; *changes (if not NULL) gets the row count. */
int store_exec(struct store *st, const char *sql, const struct sval *params, int nparams,
	       int64_t *changes);
/* Runs a statement and fetches every row. *out is NULL on failure. */
int store_query(struct store *st, const char *sql, const struct sval *params, int nparams,
		struct store_res **out);
/*
 * Streams the rows of a statement to fn without fetching them into a
 * result (long scans: no copy of every value, no result the size of the
 * scan).  fn gets each row's cells as text (NULL for SQL NULL; integers as
 * decimal text, booleans "1"/"0", blobs as bytes), NUL-terminated, valid
 * during the call only; it returns 0 to go on or a positive value to stop.
 * fn must not use st (on SQLite the statement is still being stepped).
 * Returns STORE_OK after the last row, fn's positive value when it
 * stopped, or a negative store_rc on a failure (logged as for the others).
 */
struct store_row {
	int cols;
	const char *const *v;
	const size_t *len;
};
typedef int (*store_row_fn)(void *arg, const struct store_row *row);
/* Parses a whole decimal int64 (optional '-'), nothing else, e.g. an integer cell.  0 or -1. */
int store_parse_int(const char *s, int64_t *out);
int store_each(struct store *st, const char *sql, const struct sval *params, int nparams, store_row_fn fn,
	       void *arg);
/* Multi-statement script without parameters (migrations); not cached. */
int store_exec_script(struct store *st, const char *sql);

int store_res_rows(const struct store_res *r);
int store_res_cols(const struct store_res *r);
/* Text of a cell, NULL for SQL NULL; valid until store_res_free. Integers come as decimal text. */
const char *store_res_text(const struct store_res *r, int row, int col);
size_t store_res_len(const struct store_res *r, int row, int col);
int64_t store_res_int(const struct store_res *r, int row, int col);  /* 0 for NULL */
int store_res_isnull(const struct store_res *r, int row, int col);
void store_res_free(struct store_res *r);

/*
 * Query helpers for the common shapes. Each returns STORE_OK, STORE_ERR, or
 * 1 when no row matched.
 */
int store_query_int(struct store *st, const char *sql, const struct sval *params, int nparams,
		    int64_t *out);

/*
 * A pool of connections for the server's threads.  store_pool_get blocks
 * until a connection is free.  A connection handed back must not be in a
 * transaction (the pool rolls back one that is, and logs it).
 */
struct store_pool;
int store_pool_new(const char *uri, int size, struct store_pool **out, char **err);
struct store *store_pool_get(struct store_pool *p);
void store_pool_put(struct store_pool *p, struct store *st);
void store_pool_free(struct store_pool *p);

/*
 * Migrations: the embedded files migrations/<module>/<NNNN>_<name>.sql are
 * applied in order (module "core" first, then other modules by name, each
 * by number), each in its own transaction, and recorded in the table
 * schema_migrations(module, version, name, applied_at).  Already-applied
 * ones are skipped.  Before running, the text is adapted to the driver:
 *   {{pk}}    -> INTEGER PRIMARY KEY AUTOINCREMENT | BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY
 *   {{blob}}  -> BLOB | BYTEA
 * Returns 0 or -1 (logged, with the file name).  Must not be called inside
 * a transaction.  Files not ending in ".sql" are ignored; a ".sql" name of
 * another shape, two files with one number, or an unknown {{...}} substitution
 * is an error.  Migration files must not contain BEGIN/COMMIT.  On
 * PostgreSQL each migration's transaction takes pg_advisory_xact_lock(4242)
 * and re-checks the record, so nodes starting together apply each once.
 */
int store_migrate(struct store *st);
/* store_migrate over an explicit table (ends with a NULL name); for tests. */
struct embed_file;
int store_migrate_files(struct store *st, const struct embed_file *files);

#endif
