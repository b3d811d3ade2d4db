/*
 * store: the driver-independent half.  URI dispatch, transaction state,
 * error text and logging, results, the statement cache, the connection
 * pool and the migration runner.  See store.h for the contract and
 * store_int.h for the split with the drivers.
 */
#include "core/store.h"
#include "core/store_int.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/embed.h"
#include "core/log.h"
#include "core/xalloc.h"

/* ---------------------------------------------------------------- errors */

void store_seterr(struct store *st, const char *fmt, ...)
{
	va_list ap;
	char *msg = NULL;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (msg == NULL)
		msg = xstrdup("out of memory formatting an error");
	free(st->errmsg);
	st->errmsg = msg;
}

/* The first 80 bytes of sql on one line, cut on a UTF-8 boundary. */
static void sql_head(char out[96], const char *sql)
{
	size_t n = 0;
	if (sql == NULL) {
		snprintf(out, 96, "(no sql)");
		return;
	}
	while (*sql == ' ' || *sql == '\t' || *sql == '\n' || *sql == '\r')
		sql++;
	for (; sql[n] != '\0' && n < 80; n++) {
		char c = sql[n];
		out[n] = (c == '\n' || c == '\r' || c == '\t') ? ' ' : c;
	}
	if (sql[n] != '\0') {
		/* do not end inside a multi-byte character */
		while (n > 0 && ((unsigned char)sql[n] & 0xC0) == 0x80)
			n--;
		memcpy(out + n, "...", 3);
		n += 3;
	}
	out[n] = '\0';
}

/*
 * The one place failures are logged.  ctx names what failed when the SQL
 * itself says little (a migration file); otherwise the SQL's head is used.
 * Constraint violations and lock conflicts are often expected by the
 * caller (and retried or answered), so they are warnings.
 */
static void log_fail(const struct store *st, const char *sql, const char *ctx, int rc)
{
	char head[96];
	enum log_level lvl = rc == STORE_ERR ? LOG_ERROR : LOG_WARN;
	const char *msg = st->errmsg ? st->errmsg : "unknown error";
	if (ctx != NULL) {
		log_msg(lvl, "store: %s: %s", ctx, msg);
		return;
	}
	sql_head(head, sql);
	log_msg(lvl, "store: %s: %s", head, msg);
}

/* Before a statement: refuse to run inside a failed transaction. */
static int pre_stmt(struct store *st, const char *sql, const struct sval *params, int nparams,
		    const char *ctx)
{
	if (sql == NULL || nparams < 0 || (nparams > 0 && params == NULL)) {
		store_seterr(st, "bad arguments (sql %s, %d params)", sql ? "set" : "NULL", nparams);
		goto fail;
	}
	for (int i = 0; i < nparams; i++) {
		if (params[i].type == SV_BLOB && params[i].s == NULL && params[i].len > 0) {
			store_seterr(st, "parameter $%d: blob with NULL data", i + 1);
			goto fail;
		}
	}
	if (st->in_tx && st->tx_failed) {
		store_seterr(st, "transaction aborted by an earlier error: roll it back");
		goto fail;
	}
	return STORE_OK;
fail:
	log_fail(st, sql, ctx, STORE_ERR);
	return STORE_ERR;
}

/* After a statement: a failure inside a transaction poisons it (as on PostgreSQL). */
static int post_stmt(struct store *st, const char *sql, const char *ctx, int rc)
{
	if (rc == STORE_OK)
		return rc;
	if (st->in_tx)
		st->tx_failed = 1;
	log_fail(st, sql, ctx, rc);
	return rc;
}

/* ------------------------------------------------------ open, close, tx */

int store_open(const char *uri, struct store **out, char **err)
{
	struct store *st = NULL;
	int rc = -1;

	*out = NULL;
	if (err != NULL)
		*err = NULL;
	if (uri == NULL) {
		if (err != NULL)
			*err = xstrdup("no store URI");
		goto out;
	}
	st = xcalloc(1, sizeof(*st));
	if (strncmp(uri, "sqlite:", 7) == 0) {
		st->driver = STORE_SQLITE;
		if (store_sqlite_open(st, uri + 7, err) != 0)
			goto out;
	} else if (strncmp(uri, "postgresql://", 13) == 0 || strncmp(uri, "postgres://", 11) == 0) {
		st->driver = STORE_PG;
		if (store_pg_open(st, uri, err) != 0)
			goto out;
	} else {
		if (err != NULL)
			*err = xstrdup("unknown store URI (expected sqlite:PATH or postgresql://...)");
		goto out;
	}
	if (strcmp(uri, "sqlite::memory:") != 0)
		st->uri = xstrdup(uri);
	*out = st;
	st = NULL;
	rc = 0;
out:
	if (st != NULL) {
		free(st->errmsg);
		free(st);
	}
	return rc;
}

void store_close(struct store *st)
{
	if (st == NULL)
		return;
	if (st->in_tx) {
		log_warn("store: closing a connection inside a transaction; rolling back");
		st->ops->rollback(st);
	}
	st->ops->close(st);
	free(st->errmsg);
	free(st->uri);
	free(st);
}

int store_open_again(const struct store *st, struct store **out, char **err)
{
	if (st->uri == NULL) {
		*out = NULL;
		if (err != NULL)
			*err = xstrdup("an in-memory database has no second connection");
		return -1;
	}
	return store_open(st->uri, out, err);
}

enum store_driver store_driver(const struct store *st)
{
	return st->driver;
}

const char *store_errmsg(const struct store *st)
{
	return st->errmsg ? st->errmsg : "";
}

int store_begin(struct store *st)
{
	int rc;
	if (st->in_tx) {
		store_seterr(st, "store_begin: already in a transaction");
		log_fail(st, "BEGIN", NULL, STORE_ERR);
		return STORE_ERR;
	}
	rc = st->ops->begin(st);
	if (rc != STORE_OK) {
		log_fail(st, "BEGIN", NULL, rc);
		return rc;
	}
	st->in_tx = 1;
	st->tx_failed = 0;
	return STORE_OK;
}

int store_commit(struct store *st)
{
	int rc;
	if (!st->in_tx) {
		store_seterr(st, "store_commit: no transaction");
		log_fail(st, "COMMIT", NULL, STORE_ERR);
		return STORE_ERR;
	}
	if (st->tx_failed) {
		/* Already logged when the statement failed; this is the caller's answer. */
		st->ops->rollback(st);
		st->in_tx = st->tx_failed = 0;
		store_seterr(st, "transaction aborted by an earlier error; rolled back");
		return STORE_ERR;
	}
	rc = st->ops->commit(st);
	st->in_tx = st->tx_failed = 0;
	if (rc != STORE_OK)
		log_fail(st, "COMMIT", NULL, rc);
	return rc;
}

void store_rollback(struct store *st)
{
	if (!st->in_tx)
		return;
	st->ops->rollback(st);
	st->in_tx = st->tx_failed = 0;
}

int store_in_tx(const struct store *st)
{
	return st->in_tx;
}

/* ------------------------------------------------------------ statements */

static int do_exec(struct store *st, const char *sql, const struct sval *params, int nparams,
		   int64_t *changes, const char *ctx)
{
	int rc;
	if (changes != NULL)
		*changes = 0;
	if (pre_stmt(st, sql, params, nparams, ctx) != STORE_OK)
		return STORE_ERR;
	rc = st->ops->exec(st, sql, params, nparams, changes);
	return post_stmt(st, sql, ctx, rc);
}

static int do_query(struct store *st, const char *sql, const struct sval *params, int nparams,
		    struct store_res **out, const char *ctx)
{
	int rc;
	*out = NULL;
	if (pre_stmt(st, sql, params, nparams, ctx) != STORE_OK)
		return STORE_ERR;
	rc = st->ops->query(st, sql, params, nparams, out);
	if (rc != STORE_OK) {
		store_res_free(*out);
		*out = NULL;
	}
	return post_stmt(st, sql, ctx, rc);
}

static int do_script(struct store *st, const char *sql, const char *ctx)
{
	if (pre_stmt(st, sql, NULL, 0, ctx) != STORE_OK)
		return STORE_ERR;
	return post_stmt(st, sql, ctx, st->ops->exec_script(st, sql));
}

/* Full-check integer parse of a result cell: 0, or -1 (not logged). */
static int do_query_int(struct store *st, const char *sql, const struct sval *params,
			int nparams, int64_t *out, const char *ctx)
{
	struct store_res *r = NULL;
	int rc = do_query(st, sql, params, nparams, &r, ctx);
	*out = 0;
	if (rc != STORE_OK)
		goto out;
	if (store_res_rows(r) == 0 || store_res_cols(r) == 0) {
		rc = 1;
		goto out;
	}
	if (!store_res_isnull(r, 0, 0) && store_parse_int(store_res_text(r, 0, 0), out) != 0) {
		store_seterr(st, "not an integer: '%.40s'", store_res_text(r, 0, 0));
		rc = post_stmt(st, sql, ctx, STORE_ERR);
		goto out;
	}
	rc = STORE_OK;
out:
	store_res_free(r);
	return rc;
}

int store_exec(struct store *st, const char *sql, const struct sval *params, int nparams,
	       int64_t *changes)
{
	return do_exec(st, sql, params, nparams, changes, NULL);
}

int store_query(struct store *st, const char *sql, const struct sval *params, int nparams,
		struct store_res **out)
{
	return do_query(st, sql, params, nparams, out, NULL);
}

int store_each(struct store *st, const char *sql, const struct sval *params, int nparams, store_row_fn fn,
	       void *arg)
{
	if (pre_stmt(st, sql, params, nparams, NULL) != STORE_OK)
		return STORE_ERR;
	int rc = st->ops->each(st, sql, params, nparams, fn, arg);
	return rc > 0 ? rc : post_stmt(st, sql, NULL, rc);
}

int store_exec_script(struct store *st, const char *sql)
{
	return do_script(st, sql, NULL);
}

int store_query_int(struct store *st, const char *sql, const struct sval *params, int nparams,
		    int64_t *out)
{
	return do_query_int(st, sql, params, nparams, out, NULL);
}

/* --------------------------------------------------------------- results */

struct store_res {
	int rows, cols;
	const struct res_cell *cells;
	const char *data;
};

int store_parse_int(const char *s, int64_t *out)
{
	char *end = NULL;
	long long v;
	if (s == NULL || *s == '\0' || !(*s == '-' || (*s >= '0' && *s <= '9')))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0')
		return -1;
	*out = (int64_t)v;
	return 0;
}

void rb_init(struct res_builder *b, int cols)
{
	memset(b, 0, sizeof(*b));
	b->cols = cols;
	buf_init(&b->data, STORE_RES_MAX);
}

int rb_add(struct res_builder *b, const void *p, size_t len)
{
	struct res_cell *c;
	if (b->ncells == b->capcells) {
		b->capcells = b->capcells ? b->capcells * 2 : 16;
		b->cells = xrealloc(b->cells, b->capcells * sizeof(*b->cells));
	}
	c = &b->cells[b->ncells];
	c->off = b->data.len;
	c->len = p ? len : 0;
	c->null = p == NULL;
	/* every cell keeps its own terminator, so text cells are C strings */
	if (p != NULL && len > 0 && buf_add(&b->data, p, len) != 0)
		return -1;
	if (buf_addch(&b->data, '\0') != 0)
		return -1;
	b->ncells++;
	return 0;
}

void rb_end_row(struct res_builder *b)
{
	b->rows++;
}

struct store_res *rb_finish(struct res_builder *b)
{
	size_t head = sizeof(struct store_res);
	size_t cells = b->ncells * sizeof(struct res_cell);
	struct store_res *r;
	char *p;

	assert(b->cols == 0 || b->ncells == (size_t)b->rows * (size_t)b->cols);
	/* header and cell table are both multiples of the cell alignment */
	head = (head + _Alignof(struct res_cell) - 1) & ~(_Alignof(struct res_cell) - 1);
	p = xmalloc(head + cells + b->data.len + 1);
	r = (struct store_res *)(void *)p;
	r->rows = b->cols ? b->rows : 0;
	r->cols = b->cols;
	if (cells)
		memcpy(p + head, b->cells, cells);
	r->cells = (const struct res_cell *)(void *)(p + head);
	if (b->data.len)
		memcpy(p + head + cells, b->data.data, b->data.len);
	p[head + cells + b->data.len] = '\0';
	r->data = p + head + cells;
	rb_release(b);
	return r;
}

void rb_release(struct res_builder *b)
{
	free(b->cells);
	buf_release(&b->data);
	memset(b, 0, sizeof(*b));
}

static const struct res_cell *res_cell(const struct store_res *r, int row, int col)
{
	int ok = r != NULL && row >= 0 && row < r->rows && col >= 0 && col < r->cols;
	assert(ok);   /* out of range is a programmer error */
	if (!ok)
		return NULL;
	return &r->cells[(size_t)row * (size_t)r->cols + (size_t)col];
}

int store_res_rows(const struct store_res *r)
{
	return r ? r->rows : 0;
}

int store_res_cols(const struct store_res *r)
{
	return r ? r->cols : 0;
}

const char *store_res_text(const struct store_res *r, int row, int col)
{
	const struct res_cell *c = res_cell(r, row, col);
	if (c == NULL || c->null)
		return NULL;
	return r->data + c->off;
}

size_t store_res_len(const struct store_res *r, int row, int col)
{
	const struct res_cell *c = res_cell(r, row, col);
	return c ? c->len : 0;
}

int64_t store_res_int(const struct store_res *r, int row, int col)
{
	const struct res_cell *c = res_cell(r, row, col);
	int64_t v = 0;
	if (c == NULL || c->null)
		return 0;
	if (store_parse_int(r->data + c->off, &v) != 0) {
		log_error("store: store_res_int: row %d col %d is not an integer: '%.40s'", row, col,
			  r->data + c->off);
		return 0;
	}
	return v;
}

int store_res_isnull(const struct store_res *r, int row, int col)
{
	const struct res_cell *c = res_cell(r, row, col);
	return c == NULL || c->null;
}

void store_res_free(struct store_res *r)
{
	free(r);
}

/* ------------------------------------------------------- statement cache */

static size_t ptr_hash(const char *key, size_t mask)
{
	uint64_t h = (uint64_t)(uintptr_t)key;
	h ^= h >> 33;
	h *= UINT64_C(0xff51afd7ed558ccd);
	h ^= h >> 33;
	return (size_t)h & mask;
}

void *stmt_cache_get(const struct stmt_cache *c, const char *key)
{
	if (c->cap == 0)
		return NULL;
	for (size_t i = ptr_hash(key, c->cap - 1);; i = (i + 1) & (c->cap - 1)) {
		if (c->keys[i] == key)
			return c->vals[i];
		if (c->keys[i] == NULL)
			return NULL;
	}
}

static void cache_insert(struct stmt_cache *c, const char *key, void *val)
{
	size_t i = ptr_hash(key, c->cap - 1);
	while (c->keys[i] != NULL && c->keys[i] != key)
		i = (i + 1) & (c->cap - 1);
	if (c->keys[i] == NULL)
		c->n++;
	c->keys[i] = key;
	c->vals[i] = val;
}

void stmt_cache_set(struct stmt_cache *c, const char *key, void *val)
{
	/* keep the load at most one half, so probes stay short and always end */
	if ((c->n + 1) * 2 > c->cap) {
		struct stmt_cache old = *c;
		c->cap = old.cap ? old.cap * 2 : 64;
		c->keys = xcalloc(c->cap, sizeof(*c->keys));
		c->vals = xcalloc(c->cap, sizeof(*c->vals));
		c->n = 0;
		for (size_t i = 0; i < old.cap; i++)
			if (old.keys[i] != NULL)
				cache_insert(c, old.keys[i], old.vals[i]);
		free(old.keys);
		free(old.vals);
	}
	cache_insert(c, key, val);
}

void stmt_cache_clear(struct stmt_cache *c, void (*fin)(void *val, void *arg), void *arg)
{
	for (size_t i = 0; i < c->cap; i++) {
		if (c->keys[i] == NULL)
			continue;
		fin(c->vals[i], arg);
		c->keys[i] = NULL;
		c->vals[i] = NULL;
	}
	c->n = 0;
}

void stmt_cache_release(struct stmt_cache *c)
{
	assert(c->n == 0);
	free(c->keys);
	free(c->vals);
	memset(c, 0, sizeof(*c));
}

/* ------------------------------------------------------------------ pool */

struct store_pool {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int size, nfree;
	struct store **all;
	struct store **free;   /* stack of idle connections */
};

int store_pool_new(const char *uri, int size, struct store_pool **out, char **err)
{
	struct store_pool *p = NULL;
	int rc = -1;

	*out = NULL;
	if (err != NULL)
		*err = NULL;
	if (size < 1) {
		if (err != NULL)
			*err = xasprintf("store pool size %d: must be at least 1", size);
		goto out;
	}
	p = xcalloc(1, sizeof(*p));
	p->all = xcalloc((size_t)size, sizeof(*p->all));
	p->free = xcalloc((size_t)size, sizeof(*p->free));
	for (; p->size < size; p->size++) {
		if (store_open(uri, &p->all[p->size], err) != 0)
			goto out;
		p->free[p->nfree++] = p->all[p->size];
	}
	if (pthread_mutex_init(&p->mu, NULL) != 0 || pthread_cond_init(&p->cv, NULL) != 0) {
		/* cannot fail on Linux with default attributes */
		abort();
	}
	*out = p;
	p = NULL;
	rc = 0;
out:
	if (p != NULL) {
		for (int i = 0; i < p->size; i++)
			store_close(p->all[i]);
		free(p->all);
		free(p->free);
		free(p);
	}
	return rc;
}

struct store *store_pool_get(struct store_pool *p)
{
	struct store *st;
	pthread_mutex_lock(&p->mu);
	while (p->nfree == 0)
		pthread_cond_wait(&p->cv, &p->mu);
	st = p->free[--p->nfree];
	pthread_mutex_unlock(&p->mu);
	return st;
}

void store_pool_put(struct store_pool *p, struct store *st)
{
	if (st == NULL)
		return;
	if (st->in_tx) {
		log_error("store: connection returned to the pool inside a transaction; rolled back");
		store_rollback(st);
	}
	pthread_mutex_lock(&p->mu);
	assert(p->nfree < p->size);
	p->free[p->nfree++] = st;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

void store_pool_free(struct store_pool *p)
{
	if (p == NULL)
		return;
	if (p->nfree != p->size)
		log_error("store: pool freed with %d connection(s) still in use", p->size - p->nfree);
	for (int i = 0; i < p->size; i++)
		store_close(p->all[i]);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	free(p->all);
	free(p->free);
	free(p);
}

/* ------------------------------------------------------------ migrations */

#define MIG_MODULE_MAX 64
#define MIG_NAME_MAX 128
#define MIG_TEXT_MAX ((size_t)16 << 20)
#define MIG_LOCK "SELECT pg_advisory_xact_lock(4242)"

struct mig {
	const struct embed_file *f;
	char module[MIG_MODULE_MAX];
	int64_t version;
	char name[MIG_NAME_MAX];
};

static const char SQL_MIG_TABLE[] =
	"CREATE TABLE IF NOT EXISTS schema_migrations ("
	"module TEXT NOT NULL, version INTEGER NOT NULL, name TEXT NOT NULL, "
	"applied_at BIGINT NOT NULL, PRIMARY KEY (module, version))";
static const char SQL_MIG_LIST[] = "SELECT module, version FROM schema_migrations";
static const char SQL_MIG_CHECK[] =
	"SELECT 1 FROM schema_migrations WHERE module = $1 AND version = $2";
static const char SQL_MIG_RECORD[] =
	"INSERT INTO schema_migrations (module, version, name, applied_at) VALUES ($1, $2, $3, $4)";

static int mig_is_word(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

/* "<module>/<NNNN>_<name>.sql": module and name of [a-z0-9_] (name may hold '-'). */
static int mig_parse(const char *path, struct mig *m)
{
	const char *p = path, *slash = strchr(path, '/');
	size_t n, len = strlen(path);

	if (slash == NULL || slash == path || (size_t)(slash - path) >= MIG_MODULE_MAX)
		return -1;
	for (; p < slash; p++)
		if (!mig_is_word(*p))
			return -1;
	memcpy(m->module, path, (size_t)(slash - path));
	m->module[slash - path] = '\0';
	p = slash + 1;
	m->version = 0;
	for (n = 0; n < 4; n++, p++) {
		if (*p < '0' || *p > '9')
			return -1;
		m->version = m->version * 10 + (*p - '0');
	}
	if (*p++ != '_')
		return -1;
	if (len < 4 || strcmp(path + len - 4, ".sql") != 0)
		return -1;
	n = (size_t)(path + len - 4 - p);
	if (n == 0 || n >= MIG_NAME_MAX)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (!mig_is_word(p[i]) && p[i] != '-')
			return -1;
	memcpy(m->name, p, n);
	m->name[n] = '\0';
	return 0;
}

static int mig_cmp(const void *a, const void *b)
{
	const struct mig *x = a, *y = b;
	int xc = strcmp(x->module, "core") == 0, yc = strcmp(y->module, "core") == 0;
	int c;
	if (xc != yc)
		return xc ? -1 : 1;
	c = strcmp(x->module, y->module);
	if (c != 0)
		return c;
	return (x->version > y->version) - (x->version < y->version);
}

/* The migration's text with {{pk}} and {{blob}} replaced; NULL and *why on error. */
static char *mig_text(const struct store *st, const struct mig *m, const char **why)
{
	static const struct {
		const char *key, *sqlite, *pg;
	} subst[] = {
		{ "{{pk}}", "INTEGER PRIMARY KEY AUTOINCREMENT",
		  "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY" },
		{ "{{blob}}", "BLOB", "BYTEA" },
	};
	struct buf b = BUF_INIT(MIG_TEXT_MAX);
	const char *s = (const char *)m->f->data, *end = s + m->f->len;

	if (memchr(s, '\0', m->f->len) != NULL) {
		*why = "file contains a NUL byte";
		goto fail;
	}
	while (s < end) {
		const char *open = strstr(s, "{{");
		size_t i;
		if (open == NULL) {
			if (buf_add(&b, s, (size_t)(end - s)) != 0)
				goto toolarge;
			break;
		}
		if (buf_add(&b, s, (size_t)(open - s)) != 0)
			goto toolarge;
		for (i = 0; i < sizeof(subst) / sizeof(subst[0]); i++)
			if (strncmp(open, subst[i].key, strlen(subst[i].key)) == 0)
				break;
		if (i == sizeof(subst) / sizeof(subst[0])) {
			*why = "unknown {{...}} substitution (known: {{pk}}, {{blob}})";
			goto fail;
		}
		if (buf_addstr(&b, st->driver == STORE_PG ? subst[i].pg : subst[i].sqlite) != 0)
			goto toolarge;
		s = open + strlen(subst[i].key);
	}
	if (b.data == NULL && buf_add(&b, "", 0) != 0)
		goto toolarge;
	return buf_detach(&b, NULL);
toolarge:
	*why = "file too large";
fail:
	buf_release(&b);
	return NULL;
}

/* Applies m unless applied meanwhile (another node).  0 or -1 (logged). */
static int mig_apply(struct store *st, const struct mig *m)
{
	char *text = NULL, *ctx = xasprintf("migration %s", m->f->name);
	const char *why = NULL;
	int64_t one;
	int rc = -1, r;
	struct sval check[2] = { SVT(m->module), SVI(m->version) };
	struct sval rec[4] = { SVT(m->module), SVI(m->version), SVT(m->name),
			       SVI((int64_t)time(NULL)) };

	if (store_begin(st) != STORE_OK)
		goto out;
	if (st->driver == STORE_PG && do_exec(st, MIG_LOCK, NULL, 0, NULL, ctx) != STORE_OK)
		goto out;
	r = do_query_int(st, SQL_MIG_CHECK, check, 2, &one, ctx);
	if (r == STORE_OK) {
		rc = 0;      /* another node applied it while we waited for the lock */
		goto out;
	}
	if (r != 1)
		goto out;
	text = mig_text(st, m, &why);
	if (text == NULL) {
		store_seterr(st, "%s", why);
		log_fail(st, NULL, ctx, STORE_ERR);
		goto out;
	}
	if (do_script(st, text, ctx) != STORE_OK)
		goto out;
	if (do_exec(st, SQL_MIG_RECORD, rec, 4, NULL, ctx) != STORE_OK)
		goto out;
	if (store_commit(st) != STORE_OK)
		goto out;
	log_info("store: applied migration %s", m->f->name);
	rc = 0;
out:
	store_rollback(st);
	if (rc != 0) {
		/* so that store_errmsg names the file too (the log already does) */
		char *msg = xstrdup(store_errmsg(st));
		store_seterr(st, "%s: %s", ctx, msg);
		free(msg);
	}
	free(text);
	free(ctx);
	return rc;
}

int store_migrate_files(struct store *st, const struct embed_file *files)
{
	struct mig *migs = NULL;
	struct store_res *done = NULL;
	size_t n = 0, cap = 0;
	int rc = -1;

	if (st->in_tx) {
		/* not "goto out": that would roll back the caller's transaction */
		store_seterr(st, "store_migrate inside a transaction");
		log_fail(st, NULL, "migrations", STORE_ERR);
		return -1;
	}
	for (const struct embed_file *f = files; f->name != NULL; f++) {
		size_t len = strlen(f->name);
		if (len < 4 || strcmp(f->name + len - 4, ".sql") != 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 32;
			migs = xrealloc(migs, cap * sizeof(*migs));
		}
		memset(&migs[n], 0, sizeof(migs[n]));
		migs[n].f = f;
		if (mig_parse(f->name, &migs[n]) != 0) {
			store_seterr(st, "migration file name %s: expected <module>/<NNNN>_<name>.sql",
				     f->name);
			log_fail(st, NULL, "migrations", STORE_ERR);
			goto out;
		}
		n++;
	}
	if (n > 1)
		qsort(migs, n, sizeof(*migs), mig_cmp);
	for (size_t i = 1; i < n; i++) {
		if (mig_cmp(&migs[i - 1], &migs[i]) == 0) {
			store_seterr(st, "migrations %s and %s have the same number", migs[i - 1].f->name,
				     migs[i].f->name);
			log_fail(st, NULL, "migrations", STORE_ERR);
			goto out;
		}
	}

	/* Concurrent CREATE TABLE IF NOT EXISTS can collide on PostgreSQL: lock first. */
	if (store_begin(st) != STORE_OK)
		goto out;
	if (st->driver == STORE_PG && do_exec(st, MIG_LOCK, NULL, 0, NULL, "migrations") != STORE_OK)
		goto out;
	if (do_script(st, SQL_MIG_TABLE, "migrations: schema_migrations") != STORE_OK)
		goto out;
	if (store_commit(st) != STORE_OK)
		goto out;

	if (do_query(st, SQL_MIG_LIST, NULL, 0, &done, "migrations") != STORE_OK)
		goto out;
	for (size_t i = 0; i < n; i++) {
		int applied = 0;
		for (int r = 0; r < store_res_rows(done) && !applied; r++)
			applied = strcmp(store_res_text(done, r, 0), migs[i].module) == 0 &&
				  store_res_int(done, r, 1) == migs[i].version;
		if (!applied && mig_apply(st, &migs[i]) != 0)
			goto out;
	}
	rc = 0;
out:
	store_rollback(st);
	store_res_free(done);
	free(migs);
	return rc;
}

int store_migrate(struct store *st)
{
	return store_migrate_files(st, embed_migrations);
}
