/*
 * store_pg: the PostgreSQL driver (libpq).
 *
 * Each statement is prepared once per connection (PQprepare, names s1,
 * s2, ...) and cached by the SQL text's address; the parameter count comes
 * from PQdescribePrepared, so parameters beyond the statement's highest $N
 * are ignored, as in the SQLite driver.  Parameters go as text (integers
 * in decimal) except blobs, which go in binary format; results come back
 * as text, with bytea unescaped to raw bytes and booleans as "1"/"0" (what
 * SQLite gives for the same column).
 *
 * A broken connection is reset once at the start of the next call;
 * prepared statements die with the connection, so the cache is emptied.
 */
#include "core/store.h"
#include "core/store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "core/log.h"
#include "core/xalloc.h"

/* pg_type OIDs (fixed since PostgreSQL 7; catalog/pg_type_d.h is server-side) */
#define PG_BOOLOID 16
#define PG_BYTEAOID 17

struct pg {
	PGconn *conn;
	struct stmt_cache cache;
	unsigned long next_id;   /* never reused, so a leaked name never collides */
};

struct pg_stmt {
	char name[24];
	char *sql;         /* copy of the caller's text, to detect a reused address */
	int nparams;
};

static void pg_stmt_free(void *val, void *arg)
{
	struct pg_stmt *s = val;
	(void)arg;
	if (s == NULL)
		return;
	free(s->sql);
	free(s);
}

/* libpq's message on one line (it may span several, with tabs) */
static char *pg_oneline(const char *m)
{
	char *out = xstrdup(m), *w = out;
	for (const char *p = m; *p; p++) {
		int space = *p == '\n' || *p == '\t' || *p == ' ';
		if (space && (w == out || w[-1] == ' '))
			continue;
		*w++ = space ? ' ' : *p;
	}
	while (w > out && w[-1] == ' ')
		w--;
	*w = '\0';
	return out;
}

static void pg_conn_err(struct store *st, const char *what)
{
	struct pg *d = st->drv;
	char *m = pg_oneline(PQerrorMessage(d->conn));
	store_seterr(st, "%s: %s", what, m);
	free(m);
}

/* Sets the error from a failed result (res may be NULL) and maps its SQLSTATE. */
static int pg_fail(struct store *st, const PGresult *res)
{
	struct pg *d = st->drv;
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;

	if (PQstatus(d->conn) != CONNECTION_OK) {
		pg_conn_err(st, "connection lost");
		return STORE_ERR;
	}
	if (primary == NULL) {
		pg_conn_err(st, "postgres");
		return STORE_ERR;
	}
	store_seterr(st, "%s [%s]%s%s", primary, state ? state : "?", detail ? " " : "",
		     detail ? detail : "");
	if (state == NULL)
		return STORE_ERR;
	if (strncmp(state, "23", 2) == 0)
		return STORE_CONSTRAINT;
	if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 || strcmp(state, "55P03") == 0)
		return STORE_BUSY;
	return STORE_ERR;
}

static int pg_ok(const PGresult *res)
{
	ExecStatusType s = PQresultStatus(res);
	return res != NULL && (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK || s == PGRES_EMPTY_QUERY);
}

/* Reconnects a broken connection; prepared statements died with it. */
static int pg_reconnect(struct store *st)
{
	struct pg *d = st->drv;
	PQreset(d->conn);
	stmt_cache_clear(&d->cache, pg_stmt_free, NULL);
	if (PQstatus(d->conn) != CONNECTION_OK) {
		pg_conn_err(st, "connection lost, reconnecting failed");
		return STORE_ERR;
	}
	log_warn("store: PostgreSQL connection was lost; reconnected");
	return STORE_OK;
}

/* Before each call: a broken connection is reset (once per call). */
static int pg_ensure(struct store *st)
{
	struct pg *d = st->drv;
	if (PQstatus(d->conn) == CONNECTION_OK)
		return STORE_OK;
	if (pg_reconnect(st) != STORE_OK)
		return STORE_ERR;
	if (st->in_tx) {
		store_seterr(st, "connection lost inside the transaction");
		return STORE_ERR;
	}
	return STORE_OK;
}

/*
 * Runs a command for its side effect, ignoring its result: a broken
 * connection shows at the next call, a failure inside a transaction at the
 * next statement (the transaction is then aborted).
 */
static void pg_quiet(struct pg *d, const char *sql)
{
	PQclear(PQexec(d->conn, sql));
}

static int pg_prepare(struct store *st, const char *sql, struct pg_stmt **out)
{
	struct pg *d = st->drv;
	struct pg_stmt *s = stmt_cache_get(&d->cache, sql);
	PGresult *res = NULL;
	int rc = STORE_ERR;

	*out = NULL;
	if (s != NULL && strcmp(s->sql, sql) == 0) {
		*out = s;
		return STORE_OK;
	}
	if (s != NULL) {
		/* the address now holds other text: replace the entry */
		char dealloc[48];
		snprintf(dealloc, sizeof(dealloc), "DEALLOCATE %s", s->name);
		pg_quiet(d, dealloc);
		pg_stmt_free(s, NULL);
		stmt_cache_set(&d->cache, sql, NULL);
	} else if (d->cache.n >= STMT_CACHE_MAX) {
		pg_quiet(d, "DEALLOCATE ALL");
		stmt_cache_clear(&d->cache, pg_stmt_free, NULL);
	}

	s = xcalloc(1, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "s%lu", ++d->next_id);
	res = PQprepare(d->conn, s->name, sql, 0, NULL);
	if (!pg_ok(res)) {
		rc = pg_fail(st, res);
		goto fail;
	}
	PQclear(res);
	res = PQdescribePrepared(d->conn, s->name);
	if (!pg_ok(res)) {
		rc = pg_fail(st, res);
		goto fail;
	}
	s->nparams = PQnparams(res);
	PQclear(res);
	s->sql = xstrdup(sql);
	stmt_cache_set(&d->cache, sql, s);
	*out = s;
	return STORE_OK;
fail:
	PQclear(res);
	free(s);
	return rc;
}

/* The count of rows a DML statement touched; 0 for anything else. */
static int64_t pg_changes(PGresult *res)
{
	static const char *const dml[] = { "INSERT ", "UPDATE ", "DELETE ", "MERGE " };
	const char *status = PQcmdStatus(res);
	int64_t n = 0;
	for (size_t i = 0; i < sizeof(dml) / sizeof(dml[0]); i++)
		if (strncmp(status, dml[i], strlen(dml[i])) == 0 &&
		    store_parse_int(PQcmdTuples(res), &n) == 0)
			return n;
	return 0;
}

/* A row sink of store_each (see sq_sink in store_sqlite.c). */
struct pg_sink {
	store_row_fn fn;
	void *arg;
	int stopped;
};

/* Cell (r, c) as the store gives it: *raw (PQfreemem) is set for a decoded bytea. */
static int pg_cell(struct store *st, PGresult *res, int r, int c, const char **v, size_t *len, unsigned char **raw)
{
	*raw = NULL;
	*v = PQgetvalue(res, r, c);
	*len = (size_t)PQgetlength(res, r, c);
	if (PQgetisnull(res, r, c)) {
		*v = NULL;
		*len = 0;
	} else if (PQftype(res, c) == PG_BYTEAOID) {
		*raw = PQunescapeBytea((const unsigned char *)*v, len);
		if (*raw == NULL) {
			store_seterr(st, "cannot decode a bytea value (out of memory?)");
			return STORE_ERR;
		}
		*v = (const char *)*raw;
	} else if (PQftype(res, c) == PG_BOOLOID) {
		*v = (*v)[0] == 't' ? "1" : "0";
		*len = 1;
	}
	return STORE_OK;
}

static int pg_collect(struct store *st, PGresult *res, struct res_builder *rb)
{
	int rows = PQntuples(res), cols = PQnfields(res);
	rb_init(rb, cols);
	for (int r = 0; r < rows; r++) {
		for (int c = 0; c < cols; c++) {
			const char *v;
			size_t len;
			unsigned char *raw;
			if (pg_cell(st, res, r, c, &v, &len, &raw) != STORE_OK)
				return STORE_ERR;
			int rc = rb_add(rb, v, len);
			PQfreemem(raw);
			if (rc != 0) {
				store_seterr(st, "result larger than %zu bytes", (size_t)STORE_RES_MAX);
				return STORE_ERR;
			}
		}
		rb_end_row(rb);
	}
	return STORE_OK;
}

/* Gives the rows to the sink's fn; bytea cells decoded for the call are freed after it. */
static int pg_emit(struct store *st, PGresult *res, struct pg_sink *sink)
{
	int rows = PQntuples(res), cols = PQnfields(res);
	size_t n = cols > 0 ? (size_t)cols : 1;
	const char **v = xcalloc(n, sizeof(*v));
	size_t *len = xcalloc(n, sizeof(*len));
	unsigned char **raw = xcalloc(n, sizeof(*raw));
	int rc = STORE_OK;
	for (int r = 0; r < rows && rc == STORE_OK && sink->stopped == 0; r++) {
		for (int c = 0; c < cols && rc == STORE_OK; c++)
			rc = pg_cell(st, res, r, c, &v[c], &len[c], &raw[c]);
		if (rc == STORE_OK) {
			struct store_row row = { cols, v, len };
			int frc = sink->fn(sink->arg, &row);
			if (frc > 0)
				sink->stopped = frc;
		}
		for (int c = 0; c < cols; c++) {
			PQfreemem(raw[c]);
			raw[c] = NULL;
		}
	}
	free(v);
	free(len);
	free(raw);
	return rc;
}

static int pg_run(struct store *st, const char *sql, const struct sval *params, int nparams,
		  struct res_builder *rb, struct pg_sink *sink, int64_t *changes)
{
	struct pg *d = st->drv;
	struct pg_stmt *s = NULL;
	PGresult *res = NULL;
	const char **values = NULL;
	int *lengths = NULL, *formats = NULL;
	char (*ints)[24] = NULL;
	int rc;

	rc = pg_ensure(st);
	if (rc != STORE_OK)
		return rc;
	rc = pg_prepare(st, sql, &s);
	if (rc != STORE_OK)
		return rc;
	if (s->nparams > nparams) {
		store_seterr(st, "statement uses $%d but %d parameter(s) given", s->nparams, nparams);
		return STORE_ERR;
	}
	if (s->nparams > 0) {
		values = xcalloc((size_t)s->nparams, sizeof(*values));
		lengths = xcalloc((size_t)s->nparams, sizeof(*lengths));
		formats = xcalloc((size_t)s->nparams, sizeof(*formats));
		ints = xcalloc((size_t)s->nparams, sizeof(*ints));
	}
	for (int i = 0; i < s->nparams; i++) {
		const struct sval *v = &params[i];
		switch (v->type) {
		case SV_INT:
			snprintf(ints[i], sizeof(ints[i]), "%lld", (long long)v->i);
			values[i] = ints[i];
			break;
		case SV_TEXT:
			values[i] = v->s;     /* NULL binds SQL NULL */
			break;
		case SV_BLOB:
			if (v->len > 0x7fffffff) {
				store_seterr(st, "parameter $%d: blob too large", i + 1);
				rc = STORE_ERR;
				goto out;
			}
			/* binary format; a NULL pointer would mean SQL NULL */
			values[i] = v->s ? v->s : "";
			lengths[i] = (int)v->len;
			formats[i] = 1;
			break;
		case SV_NULL:
		default:
			values[i] = NULL;
			break;
		}
	}
	res = PQexecPrepared(d->conn, s->name, s->nparams, values, lengths, formats, 0);
	if (!pg_ok(res)) {
		rc = pg_fail(st, res);
		goto out;
	}
	if (rb != NULL) {
		rc = pg_collect(st, res, rb);
		if (rc != STORE_OK)
			goto out;
	}
	if (sink != NULL) {
		rc = pg_emit(st, res, sink);
		if (rc != STORE_OK)
			goto out;
	}
	if (changes != NULL)
		*changes = pg_changes(res);
	rc = STORE_OK;
out:
	PQclear(res);
	free(values);
	free(lengths);
	free(formats);
	free(ints);
	return rc;
}

static int pg_exec(struct store *st, const char *sql, const struct sval *params, int nparams,
		   int64_t *changes)
{
	return pg_run(st, sql, params, nparams, NULL, NULL, changes);
}

static int pg_query(struct store *st, const char *sql, const struct sval *params, int nparams,
		    struct store_res **out)
{
	struct res_builder rb;
	int rc;
	memset(&rb, 0, sizeof(rb));
	rc = pg_run(st, sql, params, nparams, &rb, NULL, NULL);
	if (rc != STORE_OK) {
		rb_release(&rb);
		return rc;
	}
	*out = rb_finish(&rb);
	return STORE_OK;
}

static int pg_each(struct store *st, const char *sql, const struct sval *params, int nparams, store_row_fn fn,
		   void *arg)
{
	struct pg_sink sink = { fn, arg, 0 };
	int rc = pg_run(st, sql, params, nparams, NULL, &sink, NULL);
	return rc == STORE_OK && sink.stopped > 0 ? sink.stopped : rc;
}

/* A command without parameters through the simple protocol. */
static int pg_simple(struct store *st, const char *sql, PGresult **keep)
{
	struct pg *d = st->drv;
	PGresult *res;
	int rc = pg_ensure(st);
	if (rc != STORE_OK)
		return rc;
	res = PQexec(d->conn, sql);
	if (!pg_ok(res)) {
		rc = pg_fail(st, res);
		PQclear(res);
		return rc;
	}
	if (keep != NULL)
		*keep = res;
	else
		PQclear(res);
	return STORE_OK;
}

static int pg_exec_script(struct store *st, const char *sql)
{
	return pg_simple(st, sql, NULL);
}

static int pg_begin(struct store *st)
{
	return pg_simple(st, "BEGIN", NULL);
}

static int pg_commit(struct store *st)
{
	PGresult *res = NULL;
	int rc = pg_simple(st, "COMMIT", &res);
	if (rc != STORE_OK)
		return rc;
	/* COMMIT of an aborted transaction "succeeds" with the tag ROLLBACK */
	if (strcmp(PQcmdStatus(res), "ROLLBACK") == 0) {
		store_seterr(st, "the server rolled the transaction back");
		rc = STORE_ERR;
	}
	PQclear(res);
	return rc;
}

static void pg_rollback(struct store *st)
{
	struct pg *d = st->drv;
	if (PQstatus(d->conn) != CONNECTION_OK) {
		/* the transaction ended with the connection: nothing to roll back */
		if (pg_reconnect(st) != STORE_OK)
			log_error("store: ROLLBACK: %s", store_errmsg(st));
		return;
	}
	if (pg_simple(st, "ROLLBACK", NULL) != STORE_OK)
		log_error("store: ROLLBACK: %s", store_errmsg(st));
}

static void pg_close(struct store *st)
{
	struct pg *d = st->drv;
	if (d == NULL)
		return;
	stmt_cache_clear(&d->cache, pg_stmt_free, NULL);
	stmt_cache_release(&d->cache);
	PQfinish(d->conn);
	free(d);
	st->drv = NULL;
}

static const struct store_ops pg_ops = {
	.begin = pg_begin,
	.commit = pg_commit,
	.rollback = pg_rollback,
	.exec = pg_exec,
	.query = pg_query,
	.each = pg_each,
	.exec_script = pg_exec_script,
	.close = pg_close,
};

/* NOTICEs ("relation already exists, skipping") would go to stderr. */
static void pg_notice(void *arg, const char *message)
{
	size_t n = strlen(message);
	(void)arg;
	while (n > 0 && message[n - 1] == '\n')
		n--;
	log_debug("store: postgres: %.*s", (int)n, message);
}

int store_pg_open(struct store *st, const char *uri, char **err)
{
	/*
	 * Keywords before dbname are defaults the URI may override; those after
	 * it are imposed.  PQreset reuses them all.
	 */
	const char *const keys[] = { "connect_timeout", "application_name", "dbname",
				     "client_encoding", NULL };
	const char *const vals[] = { "10", "yizhan", uri, "UTF8", NULL };
	struct pg *d = xcalloc(1, sizeof(*d));

	d->conn = PQconnectdbParams(keys, vals, 1);
	if (d->conn == NULL) {
		if (err != NULL)
			*err = xstrdup("postgres: out of memory");
		free(d);
		return -1;
	}
	if (PQstatus(d->conn) != CONNECTION_OK) {
		if (err != NULL) {
			char *m = pg_oneline(PQerrorMessage(d->conn));
			*err = xasprintf("postgres: %s", m);
			free(m);
		}
		PQfinish(d->conn);
		free(d);
		return -1;
	}
	PQsetNoticeProcessor(d->conn, pg_notice, NULL);
	st->ops = &pg_ops;
	st->drv = d;
	return 0;
}
