/*
 * store_sqlite: the SQLite driver.
 *
 * One connection per struct store, used by one thread at a time, so the
 * connection is opened with SQLITE_OPEN_NOMUTEX.  Statements are prepared
 * once (SQLITE_PREPARE_PERSISTENT) and cached by the SQL text's address;
 * parameters are bound by name ("$1", "$2", ...) because SQLite numbers
 * $N parameters by first appearance.
 */
#include "core/store.h"
#include "core/store_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>

#include "core/log.h"
#include "core/xalloc.h"

struct sq {
	sqlite3 *db;
	struct stmt_cache cache;
	pthread_mutex_t *wlock;   /* the process-wide writer lock of this database file */
	int locked;
};

/*
 * Writers of one database file queue on a mutex of this process before
 * BEGIN IMMEDIATE.  SQLite itself allows one writer at a time and makes the
 * others retry in its busy handler, which sleeps (up to 100 ms a try): under
 * load that turned into second-long tails for submissions.  A mutex hands the
 * write lock over at once and in order.  Other processes (the CLI while the
 * server runs) still meet SQLite's own lock and busy timeout.
 */
struct wlock_entry {
	char *path;
	pthread_mutex_t mu;
	struct wlock_entry *next;
};
static struct wlock_entry *wlocks;
static pthread_mutex_t wlocks_mu = PTHREAD_MUTEX_INITIALIZER;

static pthread_mutex_t *wlock_for(const char *path)
{
	char *real = realpath(path, NULL);
	const char *key = real ? real : path;
	pthread_mutex_lock(&wlocks_mu);
	struct wlock_entry *e = wlocks;
	while (e != NULL && strcmp(e->path, key) != 0)
		e = e->next;
	if (e == NULL) {
		/* Entries live as long as the process: one per database file ever opened. */
		e = xcalloc(1, sizeof *e);
		e->path = xstrdup(key);
		pthread_mutex_init(&e->mu, NULL);
		e->next = wlocks;
		wlocks = e;
	}
	pthread_mutex_unlock(&wlocks_mu);
	free(real);
	return &e->mu;
}

static void sq_unlock(struct sq *d)
{
	if (d->locked) {
		d->locked = 0;
		pthread_mutex_unlock(d->wlock);
	}
}

struct sq_stmt {
	sqlite3_stmt *stmt;
	char *sql;        /* copy of the caller's text, to detect a reused address */
	int maxparam;     /* highest $N the statement uses */
	int *idx;         /* idx[N-1]: SQLite's index of $N, 0 when unused (found once, at prepare) */
};

static int sq_rc(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_CONSTRAINT:
		return STORE_CONSTRAINT;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return STORE_BUSY;
	default:
		return STORE_ERR;
	}
}

static int sq_fail(struct store *st, int rc)
{
	struct sq *d = st->drv;
	store_seterr(st, "%s", sqlite3_errmsg(d->db));
	return sq_rc(rc);
}

static void sq_stmt_free(void *val, void *arg)
{
	struct sq_stmt *s = val;
	(void)arg;
	if (s == NULL)     /* an entry emptied by a failed re-prepare */
		return;
	sqlite3_finalize(s->stmt);
	free(s->sql);
	free(s->idx);
	free(s);
}

/*
 * Length of sql without a trailing row-locking clause (FOR UPDATE, FOR
 * SHARE, ... NOWAIT, SKIP LOCKED).  SQLite has no such clause and needs
 * none: store_begin takes the database's write lock (BEGIN IMMEDIATE), so
 * a transaction already excludes every other writer.
 */
static size_t sq_strip_lock_clause(const char *sql)
{
	static const char *const words[] = { "UPDATE", "SHARE", "NO", "KEY", "NOWAIT", "SKIP", "LOCKED" };
	size_t end = strlen(sql), len = end;
	int nwords = 0;

	while (end > 0 && (isspace((unsigned char)sql[end - 1]) || sql[end - 1] == ';'))
		end--;
	for (; nwords < 6; nwords++) {
		size_t start = end, i;
		while (start > 0 && isalpha((unsigned char)sql[start - 1]))
			start--;
		if (start == end || start == 0 || !isspace((unsigned char)sql[start - 1]))
			return len;
		if (end - start == 3 && strncasecmp(sql + start, "FOR", 3) == 0)
			return nwords > 0 ? start : len;
		for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
			if (strlen(words[i]) == end - start && strncasecmp(sql + start, words[i], end - start) == 0)
				break;
		if (i == sizeof(words) / sizeof(words[0]))
			return len;
		end = start;
		while (end > 0 && isspace((unsigned char)sql[end - 1]))
			end--;
	}
	return len;
}

/* "$N" with N a canonical decimal >= 1; 0 otherwise. */
static int sq_param_number(const char *name)
{
	long n = 0;
	if (name == NULL || name[0] != '$' || name[1] < '1' || name[1] > '9')
		return 0;
	for (const char *p = name + 1; *p; p++) {
		if (*p < '0' || *p > '9' || n > 65535)
			return 0;
		n = n * 10 + (*p - '0');
	}
	return n > 65535 ? 0 : (int)n;
}

static int sq_prepare(struct store *st, const char *sql, struct sq_stmt **out)
{
	struct sq *d = st->drv;
	struct sq_stmt *s = stmt_cache_get(&d->cache, sql);
	const char *tail = NULL;
	size_t len;
	int rc, nparams;

	*out = NULL;
	if (s != NULL && strcmp(s->sql, sql) == 0) {
		*out = s;
		return STORE_OK;
	}
	if (s != NULL) {
		/* the address now holds other text: replace the entry */
		sq_stmt_free(s, NULL);
		stmt_cache_set(&d->cache, sql, NULL);
		s = NULL;
	} else if (d->cache.n >= STMT_CACHE_MAX) {
		stmt_cache_clear(&d->cache, sq_stmt_free, NULL);
	}

	len = sq_strip_lock_clause(sql);
	s = xcalloc(1, sizeof(*s));
	rc = sqlite3_prepare_v3(d->db, sql, (int)len, SQLITE_PREPARE_PERSISTENT, &s->stmt, &tail);
	if (rc != SQLITE_OK) {
		rc = sq_fail(st, rc);
		goto fail;
	}
	if (s->stmt == NULL) {
		store_seterr(st, "empty statement");
		rc = STORE_ERR;
		goto fail;
	}
	for (; tail != NULL && tail < sql + len; tail++) {
		if (!isspace((unsigned char)*tail) && *tail != ';') {
			store_seterr(st, "more than one statement (use store_exec_script)");
			rc = STORE_ERR;
			goto fail;
		}
	}
	nparams = sqlite3_bind_parameter_count(s->stmt);
	for (int i = 1; i <= nparams; i++) {
		const char *name = sqlite3_bind_parameter_name(s->stmt, i);
		int n = sq_param_number(name);
		if (n == 0) {
			store_seterr(st, "parameter %s: only $1, $2, ... are supported", name ? name : "?");
			rc = STORE_ERR;
			goto fail;
		}
		if (n > s->maxparam)
			s->maxparam = n;
	}
	if (s->maxparam > 0) {
		s->idx = xcalloc((size_t)s->maxparam, sizeof *s->idx);
		for (int i = 1; i <= nparams; i++)
			s->idx[sq_param_number(sqlite3_bind_parameter_name(s->stmt, i)) - 1] = i;
	}
	s->sql = xstrdup(sql);
	stmt_cache_set(&d->cache, sql, s);
	*out = s;
	return STORE_OK;
fail:
	sqlite3_finalize(s->stmt);
	free(s);
	return rc;
}

static int sq_bind(struct store *st, struct sq_stmt *s, const struct sval *params, int nparams)
{
	if (s->maxparam > nparams) {
		store_seterr(st, "statement uses $%d but %d parameter(s) given", s->maxparam, nparams);
		return STORE_ERR;
	}
	for (int i = 0; i < nparams && i < s->maxparam; i++) {
		const struct sval *v = &params[i];
		int idx = s->idx[i], rc;
		if (idx == 0)
			continue;     /* a parameter this statement does not use */
		switch (v->type) {
		case SV_INT:
			rc = sqlite3_bind_int64(s->stmt, idx, (sqlite3_int64)v->i);
			break;
		case SV_TEXT:
			rc = v->s == NULL ? sqlite3_bind_null(s->stmt, idx)
					  : sqlite3_bind_text64(s->stmt, idx, v->s, strlen(v->s),
								SQLITE_STATIC, SQLITE_UTF8);
			break;
		case SV_BLOB:
			/* a NULL pointer would bind SQL NULL: an empty blob needs a real one */
			rc = sqlite3_bind_blob64(s->stmt, idx, v->s ? v->s : "", v->len, SQLITE_STATIC);
			break;
		case SV_NULL:
		default:
			rc = sqlite3_bind_null(s->stmt, idx);
			break;
		}
		if (rc != SQLITE_OK) {
			store_seterr(st, "binding $%d: %s", i + 1, sqlite3_errmsg(sqlite3_db_handle(s->stmt)));
			return sq_rc(rc);
		}
	}
	return STORE_OK;
}

/* A row sink of store_each: fn with the cells' arrays (cols of each). */
struct sq_sink {
	store_row_fn fn;
	void *arg;
	const char **v;
	size_t *len;
	int stopped;         /* fn's positive value */
};

/* Cell c of the current row: NULL for SQL NULL, else its text or blob bytes (*len of them). */
static const char *sq_cell(sqlite3_stmt *stmt, int c, size_t *len)
{
	int type = sqlite3_column_type(stmt, c);
	const char *p = NULL;
	if (type == SQLITE_BLOB)
		p = sqlite3_column_blob(stmt, c);
	else if (type != SQLITE_NULL)
		p = (const char *)sqlite3_column_text(stmt, c);
	/* an empty blob comes back as a NULL pointer: keep it a value */
	if (p == NULL && type != SQLITE_NULL)
		p = "";
	*len = p ? (size_t)sqlite3_column_bytes(stmt, c) : 0;
	return p;
}

/* Runs sql; with rb, collects the rows; with sink, gives them to its fn. */
static int sq_run(struct store *st, const char *sql, const struct sval *params, int nparams,
		  struct res_builder *rb, struct sq_sink *sink, int64_t *changes)
{
	struct sq *d = st->drv;
	struct sq_stmt *s = NULL;
	sqlite3_int64 total = sqlite3_total_changes64(d->db);
	int rc, cols;

	rc = sq_prepare(st, sql, &s);
	if (rc != STORE_OK)
		return rc;
	rc = sq_bind(st, s, params, nparams);
	if (rc != STORE_OK)
		goto out;
	cols = sqlite3_column_count(s->stmt);
	if (rb != NULL)
		rb_init(rb, cols);
	if (sink != NULL) {
		sink->v = xcalloc(cols > 0 ? (size_t)cols : 1, sizeof(*sink->v));
		sink->len = xcalloc(cols > 0 ? (size_t)cols : 1, sizeof(*sink->len));
	}
	for (;;) {
		int src = sqlite3_step(s->stmt);
		if (src == SQLITE_DONE)
			break;
		if (src != SQLITE_ROW) {
			rc = sq_fail(st, src);
			goto out;
		}
		if (sink != NULL) {
			for (int c = 0; c < cols; c++)
				sink->v[c] = sq_cell(s->stmt, c, &sink->len[c]);
			struct store_row row = { cols, sink->v, sink->len };
			int frc = sink->fn(sink->arg, &row);
			if (frc > 0) {
				sink->stopped = frc;
				break;
			}
			continue;
		}
		if (rb == NULL)
			continue;
		for (int c = 0; c < cols; c++) {
			size_t len;
			const char *p = sq_cell(s->stmt, c, &len);
			if (rb_add(rb, p, len) != 0) {
				store_seterr(st, "result larger than %zu bytes", (size_t)STORE_RES_MAX);
				rc = STORE_ERR;
				goto out;
			}
		}
		rb_end_row(rb);
	}
	/* DDL leaves sqlite3_changes() at the previous statement's count: count only real changes */
	if (changes != NULL)
		*changes = sqlite3_total_changes64(d->db) != total ? (int64_t)sqlite3_changes64(d->db) : 0;
	rc = STORE_OK;
out:
	sqlite3_reset(s->stmt);
	sqlite3_clear_bindings(s->stmt);
	return rc;
}

static int sq_exec(struct store *st, const char *sql, const struct sval *params, int nparams,
		   int64_t *changes)
{
	return sq_run(st, sql, params, nparams, NULL, NULL, changes);
}

static int sq_query(struct store *st, const char *sql, const struct sval *params, int nparams,
		    struct store_res **out)
{
	struct res_builder rb;
	int rc;
	memset(&rb, 0, sizeof(rb));
	rc = sq_run(st, sql, params, nparams, &rb, NULL, NULL);
	if (rc != STORE_OK) {
		rb_release(&rb);
		return rc;
	}
	*out = rb_finish(&rb);
	return STORE_OK;
}

static int sq_each(struct store *st, const char *sql, const struct sval *params, int nparams, store_row_fn fn,
		   void *arg)
{
	struct sq_sink sink = { fn, arg, NULL, NULL, 0 };
	int rc = sq_run(st, sql, params, nparams, NULL, &sink, NULL);
	free(sink.v);
	free(sink.len);
	return rc == STORE_OK && sink.stopped > 0 ? sink.stopped : rc;
}

static int sq_exec_script(struct store *st, const char *sql)
{
	struct sq *d = st->drv;
	char *msg = NULL;
	int rc = sqlite3_exec(d->db, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		store_seterr(st, "%s", msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return sq_rc(rc);
	}
	return STORE_OK;
}

static const char SQL_BEGIN[] = "BEGIN IMMEDIATE";
static const char SQL_COMMIT[] = "COMMIT";
static const char SQL_ROLLBACK[] = "ROLLBACK";

static int sq_begin(struct store *st)
{
	struct sq *d = st->drv;
	if (d->wlock != NULL && !d->locked) {
		pthread_mutex_lock(d->wlock);
		d->locked = 1;
	}
	int rc = sq_run(st, SQL_BEGIN, NULL, 0, NULL, NULL, NULL);
	if (rc != STORE_OK)
		sq_unlock(d);
	return rc;
}

static void sq_rollback(struct store *st)
{
	struct sq *d = st->drv;
	/* SQLite may already have rolled back by itself (after SQLITE_FULL, for example) */
	if (!sqlite3_get_autocommit(d->db) && sq_run(st, SQL_ROLLBACK, NULL, 0, NULL, NULL, NULL) != STORE_OK)
		log_error("store: ROLLBACK: %s", store_errmsg(st));
	sq_unlock(d);
}

static int sq_commit(struct store *st)
{
	struct sq *d = st->drv;
	int rc = sq_run(st, SQL_COMMIT, NULL, 0, NULL, NULL, NULL);
	if (rc != STORE_OK && !sqlite3_get_autocommit(d->db)) {
		/* a failed COMMIT leaves the transaction open: end it, as PostgreSQL does */
		char *keep = xstrdup(store_errmsg(st));
		sq_rollback(st);
		store_seterr(st, "%s", keep);
		free(keep);
	}
	sq_unlock(d);
	return rc;
}

static void sq_close(struct store *st)
{
	struct sq *d = st->drv;
	if (d == NULL)
		return;
	stmt_cache_clear(&d->cache, sq_stmt_free, NULL);
	stmt_cache_release(&d->cache);
	sq_unlock(d);
	if (sqlite3_close(d->db) != SQLITE_OK)
		log_error("store: closing SQLite: %s", sqlite3_errmsg(d->db));
	free(d);
	st->drv = NULL;
}

static const struct store_ops sq_ops = {
	.begin = sq_begin,
	.commit = sq_commit,
	.rollback = sq_rollback,
	.exec = sq_exec,
	.query = sq_query,
	.each = sq_each,
	.exec_script = sq_exec_script,
	.close = sq_close,
};

static int journal_cb(void *arg, int ncols, char **vals, char **names)
{
	char *mode = arg;
	(void)names;
	if (ncols > 0 && vals[0] != NULL)
		snprintf(mode, 16, "%s", vals[0]);
	return 0;
}

/* SQLite's memory statistics take a global mutex around every allocation;
 * nothing here reads them.  Must run before SQLite initialises. */
static void sq_global_config(void)
{
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

int store_sqlite_open(struct store *st, const char *path, char **err)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	struct sq *d = NULL;
	char mode[16] = "";
	char *msg = NULL;
	int rc;

	if (*path == '\0') {
		if (err != NULL)
			*err = xstrdup("sqlite: empty path");
		return -1;
	}
	pthread_once(&once, sq_global_config);
	d = xcalloc(1, sizeof(*d));
	rc = sqlite3_open_v2(path, &d->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			     NULL);
	if (rc != SQLITE_OK)
		goto fail;
	sqlite3_extended_result_codes(d->db, 1);
	/* the busy timeout first: switching to WAL waits for other connections */
	sqlite3_busy_timeout(d->db, 10000);
	rc = sqlite3_exec(d->db, "PRAGMA journal_mode=WAL", journal_cb, mode, &msg);
	if (rc != SQLITE_OK)
		goto fail;
	if (strcasecmp(mode, "wal") != 0 && strcmp(path, ":memory:") != 0) {
		if (err != NULL)
			*err = xasprintf("sqlite %s: cannot use WAL (journal mode is %s)", path, mode);
		goto out;
	}
	rc = sqlite3_exec(d->db, "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;", NULL, NULL, &msg);
	if (rc != SQLITE_OK)
		goto fail;
	d->wlock = strcmp(path, ":memory:") == 0 ? NULL : wlock_for(path);
	st->ops = &sq_ops;
	st->drv = d;
	return 0;
fail:
	if (err != NULL)
		*err = xasprintf("sqlite %s: %s", path,
				 msg ? msg : d->db ? sqlite3_errmsg(d->db) : sqlite3_errstr(rc));
out:
	sqlite3_free(msg);
	sqlite3_close(d->db);
	free(d);
	return -1;
}
