/*
 * schema: registries as real tables.
 *
 * registry_apply turns a definition (def.c) into the table reg_<code> and
 * its indexes, or alters them to a new definition, refusing changes that
 * would lose data; it records every DDL statement (registry_migrations),
 * stores the definition (registries) and appends the audit entry.
 *
 * registry_get hands out the cached handle of a registry's current
 * version: one cheap query finds the registry's id, version and text; a
 * handle is built (parsed, departments resolved, SQL generated as
 * registry_int.h documents) once per (id, version, text) and kept until
 * exit, as the store's statement caches point at its SQL.  The text is part
 * of the cache key because a rolled-back apply may have built a handle for
 * an id and version that a later apply reuses with another definition.
 */
#include "engines/registry/registry_int.h"

#include "core/audit.h"
#include "core/buf.h"
#include "core/dept.h"
#include "core/log.h"
#include "core/xalloc.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- small helpers ---------------------------------------------------- */

/* integer, decimal (scaled) and boolean are stored as BIGINT, the rest as TEXT */
static int int_stored(enum reg_type t)
{
	return t == RT_INTEGER || t == RT_DECIMAL || t == RT_BOOL;
}

/* The key column is UNIQUE already; other indexed, idcard and uscc fields get an index. */
static int wants_index(const struct reg_def *d, int i)
{
	const struct reg_field *f = &d->fields[i];
	return i != d->key && (f->indexed || f->type == RT_IDCARD || f->type == RT_USCC);
}

/* Copies s into dst (cap bytes) without cutting a UTF-8 character. */
static void copy_utf8(char *dst, size_t cap, const char *s)
{
	size_t n = strlen(s);
	if (n >= cap) {
		n = cap - 1;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(dst, s, n);
	dst[n] = '\0';
}

static int refuse(struct reg_error *e, enum msg_id why, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int refuse(struct reg_error *e, enum msg_id why, const char *field, const char *fmt, ...)
{
	char detail[1024] = "";
	if (fmt != NULL) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(detail, sizeof detail, fmt, ap);
		va_end(ap);
	}
	e->why = why;
	copy_utf8(e->field, sizeof e->field, field ? field : "");
	copy_utf8(e->detail, sizeof e->detail, detail);
	return -1;
}

static int store_failed(struct store *st, struct reg_error *e, const char *what)
{
	log_error("registry: %s: %s", what, store_errmsg(st));
	return refuse(e, MSG_REGDEF_STORE, "", NULL);
}

/* One integer from generated SQL (interned, so the statement cache keys stay stable). */
static int gen_query_int(struct store *st, const char *sql, const struct sval *p, int np, int64_t *out)
{
	int rc = store_query_int(st, reg_sql_intern(sql), p, np, out);
	if (rc == 1) {
		*out = 0;
		rc = 0;
	}
	return rc;
}

static char *type_spec(const struct reg_field *f)
{
	struct buf b = BUF_INIT(64 * 1024);
	buf_addstr(&b, reg_type_name(f->type));
	switch (f->type) {
	case RT_TEXT:
	case RT_ADDRESS:
		buf_addf(&b, "(%d)", f->max_chars);
		break;
	case RT_DECIMAL:
		buf_addf(&b, "(%d)", f->scale);
		break;
	case RT_ENUM:
		buf_addch(&b, '(');
		for (int i = 0; i < f->nenum; i++) {
			if (i > 0)
				buf_addch(&b, '|');
			buf_addstr(&b, f->enum_values[i]);
		}
		buf_addch(&b, ')');
		break;
	default:
		break;
	}
	return buf_detach(&b, NULL);
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

/* The definition as JSON (what registries.def_json holds). */
static json_t *def_to_json(const struct reg_def *d)
{
	json_t *fields = json_array();
	for (int i = 0; i < d->nfields; i++) {
		const struct reg_field *f = &d->fields[i];
		char *spec = type_spec(f);
		json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:b, s:b, s:b, s:b, s:s, s:s, s:s, s:o}",
				      "name", f->name, "label", f->label, "type", reg_type_name(f->type),
				      "type_label", reg_type_label(f->type), "type_spec", spec,
				      "required", f->required, "indexed", f->indexed, "personal", f->personal,
				      "is_key", i == d->key, "is_subject", i == d->subject,
				      "source_dept", f->source_dept, "derived_from", f->derived_from,
				      "share", reg_share_name(f->share), "share_cond", str_or_null(f->share_cond));
		free(spec);
		json_object_set_new(o, "share_label", json_string(reg_share_label(f->share)));
		if (f->type == RT_TEXT || f->type == RT_ADDRESS)
			json_object_set_new(o, "max_chars", json_integer(f->max_chars));
		if (f->type == RT_DECIMAL)
			json_object_set_new(o, "scale", json_integer(f->scale));
		if (f->type == RT_ENUM) {
			json_t *v = json_array();
			for (int k = 0; k < f->nenum; k++)
				json_array_append_new(v, json_string(f->enum_values[k]));
			json_object_set_new(o, "enum", v);
		}
		json_array_append_new(fields, o);
	}
	return json_pack("{s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:o, s:b, s:o, s:o, s:o}",
			 "code", d->code, "name", d->name, "owner_dept", d->owner_dept,
			 "key", d->fields[d->key].name,
			 "subject", d->subject >= 0 ? json_string(d->fields[d->subject].name) : json_null(),
			 "share", reg_share_name(d->share), "share_label", reg_share_label(d->share),
			 "share_cond", str_or_null(d->share_cond), "open", d->open,
			 "abstract", str_or_null(d->abstract), "update_cycle", str_or_null(d->update_cycle),
			 "fields", fields);
}

/* ---- generated SQL of a handle ---------------------------------------- */

static char *intern_buf(struct buf *b)
{
	char *s = (char *)reg_sql_intern(b->data ? b->data : "");
	buf_release(b);
	return s;
}

static struct reg_sql *gen_sql(const struct reg_def *d)
{
	struct reg_sql *q = xcalloc(1, sizeof *q);
	struct buf b = BUF_INIT(1024 * 1024);
	const char *key = d->fields[d->key].name;
	int n = d->nfields;

	buf_addf(&b, "reg_%s", d->code);
	q->table = intern_buf(&b);
	for (int i = 0; i < n; i++)
		buf_addf(&b, "%s\"%s\"", i ? ", " : "", d->fields[i].name);
	q->cols = intern_buf(&b);

	buf_addf(&b, "INSERT INTO %s (%s, _version, _created_at, _created_by, _created_src, "
		 "_updated_at, _updated_by, _updated_src) VALUES (", q->table, q->cols);
	for (int i = 0; i < n; i++)
		buf_addf(&b, "$%d, ", i + 1);
	buf_addf(&b, "1, $%d, $%d, $%d, $%d, $%d, $%d) ON CONFLICT (\"%s\") DO NOTHING", n + 1, n + 2,
		 n + 3, n + 1, n + 2, n + 3, key);
	q->insert = intern_buf(&b);

	buf_addf(&b, "SELECT _id, %s, _version FROM %s WHERE \"%s\" = $1", q->cols, q->table, key);
	q->by_key = intern_buf(&b);

	buf_addf(&b, "UPDATE %s SET ", q->table);
	for (int i = 0; i < n; i++)
		buf_addf(&b, "\"%s\" = $%d, ", d->fields[i].name, i + 1);
	buf_addf(&b, "_version = _version + 1, _updated_at = $%d, _updated_by = $%d, "
		 "_updated_src = $%d WHERE _id = $%d", n + 1, n + 2, n + 3, n + 4);
	q->update = intern_buf(&b);

	buf_addf(&b, "DELETE FROM %s WHERE _id = $1", q->table);
	q->del = intern_buf(&b);
	buf_addf(&b, "SELECT COUNT(*) FROM %s", q->table);
	q->count = intern_buf(&b);
	buf_addf(&b, "SELECT _id, %s, _version, _created_at, _created_by, _created_src, _updated_at, "
		 "_updated_by, _updated_src FROM %s WHERE \"%s\" = $1", q->cols, q->table, key);
	q->record = intern_buf(&b);
	buf_addf(&b, "SELECT _id, %s FROM %s WHERE _id > $1 ORDER BY _id LIMIT $2", q->cols, q->table);
	q->page = intern_buf(&b);
	buf_addf(&b, "SELECT _id, %s FROM %s WHERE \"%s\" > $1 ORDER BY \"%s\" LIMIT $2", q->cols,
		 q->table, key, key);
	q->scan_key = intern_buf(&b);
	q->exists_by = xcalloc((size_t)n + 1, sizeof *q->exists_by);
	for (int i = 0; i < n; i++) {
		buf_addf(&b, "SELECT 1 FROM %s WHERE \"%s\" = $1 LIMIT 1", q->table, d->fields[i].name);
		q->exists_by[i] = intern_buf(&b);
	}
	return q;
}

/* ---- the handle cache ------------------------------------------------- */

struct cached {
	struct registry *reg;
	char *hash;              /* SHA-256 of the definition text the handle was built from */
	struct cached *next;
};

static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static struct cached *cache;

static struct registry *cache_find(int64_t id, int64_t version, const char *hash)
{
	for (struct cached *c = cache; c != NULL; c = c->next)
		if (c->reg->id == id && c->reg->version == version && strcmp(c->hash, hash) == 0)
			return c->reg;
	return NULL;
}

static void handle_free(struct registry *reg)
{
	if (reg == NULL)
		return;
	struct reg_def *d = xcalloc(1, sizeof *d);
	*d = reg->def;
	regdef_free(d);
	free(reg->source_dept_id);
	if (reg->sql != NULL)
		free(reg->sql->exists_by);
	free((void *)reg->sql);
	free(reg);
}

static struct registry *handle_build(struct store *st, int64_t id, int64_t version, int64_t owner,
				     const char *text)
{
	struct reg_def *d = NULL;
	char *err = NULL;
	if (regdef_parse(text, strlen(text), &d, &err) != 0) {
		log_error("registry %" PRId64 " version %" PRId64 ": stored definition does not parse: %s",
			  id, version, err ? err : "?");
		free(err);
		return NULL;
	}
	struct registry *reg = xcalloc(1, sizeof *reg);
	reg->id = id;
	reg->version = version;
	reg->owner_dept_id = owner;
	reg->def = *d;
	free(d);
	reg->source_dept_id = xcalloc((size_t)reg->def.nfields + 1, sizeof *reg->source_dept_id);
	for (int i = 0; i < reg->def.nfields; i++) {
		const struct reg_field *f = &reg->def.fields[i];
		if (f->source_dept[0] == '\0')
			continue;
		int rc = dept_find_code(st, f->source_dept, &reg->source_dept_id[i]);
		if (rc < 0) {
			handle_free(reg);
			return NULL;
		}
		if (rc == 1)
			reg->source_dept_id[i] = 0;
	}
	reg->sql = gen_sql(&reg->def);
	return reg;
}

/* The hot path (every share API call) reads the hash; the text only on a cache miss. */
static const char SQL_REG_BY_CODE[] =
	"SELECT id, version, owner_dept_id, def_hash FROM registries WHERE code = $1";
static const char SQL_REG_BY_ID[] =
	"SELECT id, version, owner_dept_id, def_hash FROM registries WHERE id = $1";
static const char SQL_REG_TEXT[] = "SELECT def_text FROM registries WHERE id = $1";

static const struct registry *get_by(struct store *st, const char *sql, struct sval key)
{
	struct store_res *r = NULL;
	if (store_query(st, sql, &key, 1, &r) != STORE_OK)
		return NULL;
	if (store_res_rows(r) != 1) {
		store_res_free(r);
		return NULL;
	}
	int64_t id = store_res_int(r, 0, 0), version = store_res_int(r, 0, 1);
	int64_t owner = store_res_int(r, 0, 2);
	const char *hash = store_res_text(r, 0, 3);
	if (hash == NULL)
		hash = "";
	pthread_mutex_lock(&cache_mu);
	struct registry *reg = cache_find(id, version, hash);
	pthread_mutex_unlock(&cache_mu);
	if (reg != NULL) {
		store_res_free(r);
		return reg;
	}
	struct store_res *tr = NULL;
	struct sval tp = SVI(id);
	if (store_query(st, SQL_REG_TEXT, &tp, 1, &tr) != STORE_OK || store_res_rows(tr) != 1) {
		store_res_free(tr);
		store_res_free(r);
		return NULL;
	}
	const char *text = store_res_text(tr, 0, 0);
	struct registry *fresh = handle_build(st, id, version, owner, text ? text : "");
	store_res_free(tr);
	if (fresh == NULL) {
		store_res_free(r);
		return NULL;
	}
	pthread_mutex_lock(&cache_mu);
	reg = cache_find(id, version, hash);
	if (reg == NULL) {
		struct cached *c = xcalloc(1, sizeof *c);
		c->reg = fresh;
		c->hash = xstrdup(hash);
		c->next = cache;
		cache = c;
		reg = fresh;
		fresh = NULL;
	}
	pthread_mutex_unlock(&cache_mu);
	handle_free(fresh);
	store_res_free(r);
	return reg;
}

const struct registry *registry_get(struct store *st, const char *code)
{
	if (code == NULL)
		return NULL;
	return get_by(st, SQL_REG_BY_CODE, SVT(code));
}

const struct registry *registry_get_id(struct store *st, int64_t id)
{
	return get_by(st, SQL_REG_BY_ID, SVI(id));
}

/* ---- DDL -------------------------------------------------------------- */

struct ddl {
	char **v;
	int n, cap;
};

static void ddl_add(struct ddl *x, char *sql)
{
	if (x->n == x->cap) {
		x->cap = x->cap ? x->cap * 2 : 16;
		x->v = xrealloc(x->v, (size_t)x->cap * sizeof *x->v);
	}
	x->v[x->n++] = sql;
}

static void ddl_free(struct ddl *x)
{
	for (int i = 0; i < x->n; i++)
		free(x->v[i]);
	free(x->v);
}

static void col_def(struct buf *b, struct store *st, const struct reg_field *f)
{
	if (int_stored(f->type))
		buf_addf(b, "\"%s\" BIGINT", f->name);
	else if (store_driver(st) == STORE_PG)
		buf_addf(b, "\"%s\" TEXT COLLATE \"C\"", f->name);
	else
		buf_addf(b, "\"%s\" TEXT", f->name);
}

static char *index_sql(int64_t id, const char *code, const char *field)
{
	return xasprintf("CREATE INDEX regi_%" PRId64 "_%s ON reg_%s (\"%s\")", id, field, code, field);
}

static char *drop_index_sql(int64_t id, const char *field)
{
	return xasprintf("DROP INDEX IF EXISTS regi_%" PRId64 "_%s", id, field);
}

/* CREATE TABLE and its indexes. */
static void ddl_create(struct ddl *x, struct store *st, int64_t id, const struct reg_def *d)
{
	struct buf b = BUF_INIT(1024 * 1024);
	buf_addf(&b, "CREATE TABLE reg_%s (\n\t_id %s", d->code,
		 store_driver(st) == STORE_PG ? "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"
					      : "INTEGER PRIMARY KEY");
	for (int i = 0; i < d->nfields; i++) {
		buf_addstr(&b, ",\n\t");
		col_def(&b, st, &d->fields[i]);
		if (i == d->key)
			buf_addstr(&b, " NOT NULL UNIQUE");
	}
	buf_addstr(&b, ",\n\t_version BIGINT NOT NULL,\n\t_created_at BIGINT NOT NULL,\n"
		   "\t_created_by TEXT NOT NULL,\n\t_created_src TEXT NOT NULL,\n"
		   "\t_updated_at BIGINT NOT NULL,\n\t_updated_by TEXT NOT NULL,\n"
		   "\t_updated_src TEXT NOT NULL\n)");
	ddl_add(x, buf_detach(&b, NULL));
	for (int i = 0; i < d->nfields; i++)
		if (wants_index(d, i))
			ddl_add(x, index_sql(id, d->code, d->fields[i].name));
}

static const char *field_desc(const struct reg_field *f, char *out, size_t cap)
{
	snprintf(out, cap, "字段“%s”（%s）", f->name, f->label);
	return out;
}

/* Counts over a registry table: 0 rows, 1 values of field, 2 longest text, 3 max, 4 min. */
#define COUNT_ROWS(st, code, out) gen_count((st), 0, (code), NULL, (out))
static int gen_count(struct store *st, int kind, const char *code, const char *field, int64_t *out)
{
	char *sql;
	switch (kind) {
	case 0:
		sql = xasprintf("SELECT COUNT(*) FROM reg_%s", code);
		break;
	case 1:
		sql = xasprintf("SELECT COUNT(\"%s\") FROM reg_%s", field, code);
		break;
	case 2:
		sql = xasprintf("SELECT COALESCE(MAX(LENGTH(\"%s\")), 0) FROM reg_%s", field, code);
		break;
	case 3:
		sql = xasprintf("SELECT COALESCE(MAX(\"%s\"), 0) FROM reg_%s", field, code);
		break;
	default:
		sql = xasprintf("SELECT COALESCE(MIN(\"%s\"), 0) FROM reg_%s", field, code);
		break;
	}
	int rc = gen_query_int(st, sql, NULL, 0, out);
	free(sql);
	return rc;
}

/* Whether changing field o to f depends on the values held (else counting them is skipped:
 * each count is a scan of the table). */
static int needs_count(const struct reg_field *o, const struct reg_field *f)
{
	if (o->type != f->type || (f->required && !o->required))
		return 1;
	if (f->type == RT_DECIMAL)
		return o->scale != f->scale;
	if (f->type == RT_TEXT || f->type == RT_ADDRESS)
		return f->max_chars < o->max_chars;
	if (f->type == RT_ENUM)
		for (int k = 0; k < o->nenum; k++) {
			int kept = 0;
			for (int j = 0; j < f->nenum && !kept; j++)
				kept = strcmp(f->enum_values[j], o->enum_values[k]) == 0;
			if (!kept)
				return 1;
		}
	return 0;
}

/* Checks the change from o to n against the data held; fills x with the DDL. */
static int plan_alter(struct store *st, int64_t id, const struct reg_def *o, const struct reg_def *n,
		      struct ddl *x, struct reg_error *e)
{
	const char *code = n->code;
	char desc[256];
	int64_t records;
	if (COUNT_ROWS(st, code, &records) != 0)
		return store_failed(st, e, "count records");

	/* a new key (another field, or the key's column changes storage): only while empty */
	const struct reg_field *ok = &o->fields[o->key], *nk = &n->fields[n->key];
	if (strcmp(ok->name, nk->name) != 0 || int_stored(ok->type) != int_stored(nk->type)) {
		if (records > 0)
			return refuse(e, MSG_REGDEF_KEY_HAS_RECORDS, nk->name,
				      "原主键“%s”，新主键“%s”；已有 %" PRId64 " 条记录", ok->name,
				      nk->name, records);
		ddl_add(x, xasprintf("DROP TABLE reg_%s", code));
		ddl_create(x, st, id, n);
		return 0;
	}

	/* removed fields */
	for (int i = 0; i < o->nfields; i++) {
		const struct reg_field *f = &o->fields[i];
		if (reg_field_index(n, f->name) >= 0)
			continue;
		int64_t c;
		if (gen_count(st, 1, code, f->name, &c) != 0)
			return store_failed(st, e, "count values");
		if (c > 0)
			return refuse(e, MSG_REGDEF_DROP_HAS_VALUES, f->name, "%s：已有 %" PRId64 " 条记录有值",
				      field_desc(f, desc, sizeof desc), c);
		if (wants_index(o, i))
			ddl_add(x, drop_index_sql(id, f->name));
		ddl_add(x, xasprintf("ALTER TABLE reg_%s DROP COLUMN \"%s\"", code, f->name));
	}

	/* kept and added fields */
	struct ddl later = { 0 };
	int rc = 0;
	for (int i = 0; i < n->nfields && rc == 0; i++) {
		const struct reg_field *f = &n->fields[i];
		int oi = reg_field_index(o, f->name);
		const struct reg_field *of = oi >= 0 ? &o->fields[oi] : NULL;
		int64_t c = 0;          /* values held */
		int recreate = 0;       /* the column is dropped and added again (it holds nothing) */
		int add = of == NULL;
		if (of != NULL && needs_count(of, f) && gen_count(st, 1, code, f->name, &c) != 0) {
			rc = store_failed(st, e, "count values");
			break;
		}
		if (of != NULL && of->type != f->type) {
			if (c > 0) {
				int ok_retype = (f->type == RT_TEXT || f->type == RT_ADDRESS) &&
						!int_stored(of->type) && of->type != RT_BOOL;
				if (!ok_retype) {
					rc = refuse(e, MSG_REGDEF_RETYPE_HAS_VALUES, f->name,
						    "%s：%s 改为 %s，已有 %" PRId64 " 条记录有值",
						    field_desc(f, desc, sizeof desc), reg_type_label(of->type),
						    reg_type_label(f->type), c);
					break;
				}
			} else if (int_stored(of->type) != int_stored(f->type)) {
				recreate = 1;
			}
		}
		/* text lengths: the longest value must fit */
		if (of != NULL && c > 0 && (f->type == RT_TEXT || f->type == RT_ADDRESS) &&
		    !int_stored(of->type)) {
			int64_t longest;
			if (gen_count(st, 2, code, f->name, &longest) != 0) {
				rc = store_failed(st, e, "longest value");
				break;
			}
			if (longest > f->max_chars) {
				rc = refuse(e, MSG_REGDEF_TEXT_TOO_SHORT, f->name,
					    "%s：新长度 %d，已有的值最长 %" PRId64 " 个字符",
					    field_desc(f, desc, sizeof desc), f->max_chars, longest);
				break;
			}
		}
		/* enum values in use */
		if (of != NULL && c > 0 && of->type == RT_ENUM && f->type == RT_ENUM) {
			for (int k = 0; k < of->nenum && rc == 0; k++) {
				int kept = 0;
				for (int j = 0; j < f->nenum; j++)
					if (strcmp(f->enum_values[j], of->enum_values[k]) == 0)
						kept = 1;
				if (kept)
					continue;
				char *sql = xasprintf("SELECT COUNT(*) FROM reg_%s WHERE \"%s\" = $1", code,
						      f->name);
				struct sval p = SVT(of->enum_values[k]);
				int64_t used;
				int qrc = gen_query_int(st, sql, &p, 1, &used);
				free(sql);
				if (qrc != 0)
					rc = store_failed(st, e, "enum value use");
				else if (used > 0)
					rc = refuse(e, MSG_REGDEF_ENUM_IN_USE, f->name,
						    "%s：值“%s”被 %" PRId64 " 条记录使用",
						    field_desc(f, desc, sizeof desc), of->enum_values[k], used);
			}
			if (rc != 0)
				break;
		}
		/* decimal scale */
		if (of != NULL && c > 0 && of->type == RT_DECIMAL && f->type == RT_DECIMAL &&
		    of->scale != f->scale) {
			if (f->scale < of->scale) {
				rc = refuse(e, MSG_REGDEF_SCALE_HAS_VALUES, f->name,
					    "%s：小数位数 %d 改为 %d，已有 %" PRId64 " 条记录有值",
					    field_desc(f, desc, sizeof desc), of->scale, f->scale, c);
				break;
			}
			int64_t mul = 1, hi, lo;
			for (int k = of->scale; k < f->scale; k++)
				mul *= 10;
			if (gen_count(st, 3, code, f->name, &hi) != 0 || gen_count(st, 4, code, f->name, &lo) != 0) {
				rc = store_failed(st, e, "decimal range");
				break;
			}
			if (hi > INT64_MAX / mul || lo < INT64_MIN / mul) {
				rc = refuse(e, MSG_REGDEF_SCALE_HAS_VALUES, f->name,
					    "%s：增加小数位数后已有的值超出范围", field_desc(f, desc, sizeof desc));
				break;
			}
			ddl_add(&later, xasprintf("UPDATE reg_%s SET \"%s\" = \"%s\" * %" PRId64, code, f->name,
						  f->name, mul));
		}
		/* required: no record may lack it */
		if (f->required && (of == NULL || !of->required || recreate)) {
			int64_t held = (of != NULL && !recreate) ? c : 0;
			if (records - held > 0) {
				rc = refuse(e, MSG_REGDEF_REQUIRED_NULLS, f->name,
					    "%s：%" PRId64 " 条记录没有值", field_desc(f, desc, sizeof desc),
					    records - held);
				break;
			}
		}
		/* the DDL */
		int had_index = of != NULL && wants_index(o, oi);
		int want_index = wants_index(n, i);
		if (recreate) {
			if (had_index)
				ddl_add(x, drop_index_sql(id, f->name));
			ddl_add(x, xasprintf("ALTER TABLE reg_%s DROP COLUMN \"%s\"", code, f->name));
			add = 1;
			had_index = 0;
		}
		if (had_index && !want_index)
			ddl_add(x, drop_index_sql(id, f->name));
		if (add) {
			struct buf b = BUF_INIT(4096);
			buf_addf(&b, "ALTER TABLE reg_%s ADD COLUMN ", code);
			col_def(&b, st, f);
			ddl_add(&later, buf_detach(&b, NULL));
		}
		if (want_index && !had_index)
			ddl_add(&later, index_sql(id, code, f->name));
	}
	if (rc == 0)
		for (int i = 0; i < later.n; i++) {
			ddl_add(x, later.v[i]);
			later.v[i] = NULL;
		}
	ddl_free(&later);
	return rc;
}

/* ---- checks against the store ----------------------------------------- */

static int check_refs(struct store *st, const struct reg_def *d, int64_t *owner, struct reg_error *e)
{
	int rc = dept_find_code(st, d->owner_dept, owner);
	if (rc < 0)
		return store_failed(st, e, "owner department");
	if (rc == 1)
		return refuse(e, MSG_REGDEF_NO_DEPT, "", "资源提供部门“%s”", d->owner_dept);
	for (int i = 0; i < d->nfields; i++) {
		const struct reg_field *f = &d->fields[i];
		char desc[256];
		if (f->source_dept[0] != '\0') {
			int64_t dept;
			rc = dept_find_code(st, f->source_dept, &dept);
			if (rc < 0)
				return store_failed(st, e, "source department");
			if (rc == 1)
				return refuse(e, MSG_REGDEF_NO_DEPT, f->name, "%s：source=%s",
					      field_desc(f, desc, sizeof desc), f->source_dept);
			continue;
		}
		char reg[REG_CODE_MAX + 1];
		const char *dot = strchr(f->derived_from, '.');
		size_t rn = dot ? (size_t)(dot - f->derived_from) : 0;
		if (dot == NULL || rn >= sizeof reg)
			return refuse(e, MSG_REGDEF_DERIVED_MISSING, f->name, "%s", f->derived_from);
		memcpy(reg, f->derived_from, rn);
		reg[rn] = '\0';
		const struct registry *other = registry_get(st, reg);
		int k = other ? reg_field_index(&other->def, dot + 1) : -1;
		if (k < 0)
			return refuse(e, MSG_REGDEF_DERIVED_MISSING, f->name, "%s：derived=%s",
				      field_desc(f, desc, sizeof desc), f->derived_from);
		const struct reg_field *src = &other->def.fields[k];
		int same = src->type == f->type;
		if (same && f->type == RT_DECIMAL)
			same = src->scale == f->scale;
		if (same && (f->type == RT_TEXT || f->type == RT_ADDRESS))
			same = f->max_chars >= src->max_chars;
		for (int v = 0; same && f->type == RT_ENUM && v < src->nenum; v++) {
			int found = 0;
			for (int j = 0; j < f->nenum; j++)
				if (strcmp(f->enum_values[j], src->enum_values[v]) == 0)
					found = 1;
			same = found;
		}
		if (!same) {
			char *a = type_spec(f), *b = type_spec(src);
			refuse(e, MSG_REGDEF_DERIVED_TYPE, f->name, "%s：%s，%s 为 %s",
			       field_desc(f, desc, sizeof desc), a, f->derived_from, b);
			free(a);
			free(b);
			return -1;
		}
	}
	return 0;
}

/* ---- registry_apply --------------------------------------------------- */

static const char SQL_CURRENT[] =
	"SELECT id, version, def_text FROM registries WHERE code = $1 FOR UPDATE";
static const char SQL_INSERT_REG[] =
	"INSERT INTO registries (code, name, owner_dept_id, share, open, version, def_text, def_json, "
	"created_at, updated_at, def_hash) VALUES ($1, $2, $3, $4, $5, 1, $6, $7, $8, $8, $9) RETURNING id";
static const char SQL_UPDATE_REG[] =
	"UPDATE registries SET name = $1, owner_dept_id = $2, share = $3, open = $4, version = $5, "
	"def_text = $6, def_json = $7, updated_at = $8, def_hash = $10 WHERE id = $9";
static const char SQL_INSERT_MIG[] =
	"INSERT INTO registry_migrations (registry_id, version, sql, applied_at, applied_by) "
	"VALUES ($1, $2, $3, $4, $5)";

static int field_same(const struct reg_field *a, const struct reg_field *b)
{
	if (a->type != b->type || a->max_chars != b->max_chars || a->scale != b->scale ||
	    a->nenum != b->nenum || a->required != b->required || a->indexed != b->indexed ||
	    a->personal != b->personal || a->share != b->share || strcmp(a->label, b->label) != 0 ||
	    strcmp(a->source_dept, b->source_dept) != 0 || strcmp(a->derived_from, b->derived_from) != 0)
		return 0;
	if ((a->share_cond == NULL) != (b->share_cond == NULL) ||
	    (a->share_cond && strcmp(a->share_cond, b->share_cond) != 0))
		return 0;
	for (int i = 0; i < a->nenum; i++)
		if (strcmp(a->enum_values[i], b->enum_values[i]) != 0)
			return 0;
	return 1;
}

/* {"code","version","added":[],"removed":[],"changed":[]} for the audit entry. */
static char *change_detail(const struct reg_def *o, const struct reg_def *n, int64_t version)
{
	json_t *added = json_array(), *removed = json_array(), *changed = json_array();
	for (int i = 0; i < n->nfields; i++) {
		int k = o ? reg_field_index(o, n->fields[i].name) : -1;
		if (k < 0)
			json_array_append_new(added, json_string(n->fields[i].name));
		else if (!field_same(&o->fields[k], &n->fields[i]))
			json_array_append_new(changed, json_string(n->fields[i].name));
	}
	for (int i = 0; o && i < o->nfields; i++)
		if (reg_field_index(n, o->fields[i].name) < 0)
			json_array_append_new(removed, json_string(o->fields[i].name));
	json_t *j = json_pack("{s:s, s:I, s:o, s:o, s:o}", "code", n->code, "version", (json_int_t)version,
			      "added", added, "removed", removed, "changed", changed);
	char *s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return s;
}

static int apply_def(struct store *st, const struct reg_def *d, const char *text,
		     const struct reg_actor *who, struct reg_error *e)
{
	int64_t owner = 0;
	if (check_refs(st, d, &owner, e) != 0)
		return -1;

	struct store_res *r = NULL;
	struct sval code = SVT(d->code);
	if (store_query(st, SQL_CURRENT, &code, 1, &r) != STORE_OK)
		return store_failed(st, e, "current definition");
	int exists = store_res_rows(r) == 1;
	int64_t id = exists ? store_res_int(r, 0, 0) : 0;
	int64_t version = exists ? store_res_int(r, 0, 1) + 1 : 1;
	struct reg_def *old = NULL;
	if (exists) {
		const char *old_text = store_res_text(r, 0, 2);
		if (old_text != NULL && strcmp(old_text, text) == 0) {
			store_res_free(r);
			return 0;    /* the same definition: nothing to do */
		}
		char *err = NULL;
		if (old_text == NULL || regdef_parse(old_text, strlen(old_text), &old, &err) != 0) {
			log_error("registry %s: stored definition does not parse: %s", d->code,
				  err ? err : "?");
			free(err);
			store_res_free(r);
			return refuse(e, MSG_REGDEF_STORE, "", NULL);
		}
	}
	store_res_free(r);

	int64_t now = (int64_t)time(NULL);
	json_t *dj = def_to_json(d);
	char *def_json = json_dumps(dj, JSON_COMPACT);
	json_decref(dj);
	char def_hash[65];
	sha256_hex(text, strlen(text), def_hash);
	struct ddl x = { 0 };
	int rc = -1;

	if (!exists) {
		struct sval p[] = { SVT(d->code), SVT(d->name), SVI(owner), SVT(reg_share_name(d->share)),
				    SVI(d->open), SVT(text), SVT(def_json), SVI(now), SVT(def_hash) };
		if (store_query_int(st, SQL_INSERT_REG, p, 9, &id) != STORE_OK) {
			store_failed(st, e, "insert registry");
			goto out;
		}
		ddl_create(&x, st, id, d);
	} else {
		if (plan_alter(st, id, old, d, &x, e) != 0)
			goto out;
		struct sval p[] = { SVT(d->name), SVI(owner), SVT(reg_share_name(d->share)), SVI(d->open),
				    SVI(version), SVT(text), SVT(def_json), SVI(now), SVI(id), SVT(def_hash) };
		if (store_exec(st, SQL_UPDATE_REG, p, 10, NULL) != STORE_OK) {
			store_failed(st, e, "update registry");
			goto out;
		}
	}

	const char *actor = who && who->name ? who->name : "system";
	for (int i = 0; i < x.n; i++) {
		if (store_exec_script(st, x.v[i]) != STORE_OK) {
			store_failed(st, e, x.v[i]);
			goto out;
		}
		struct sval p[] = { SVI(id), SVI(version), SVT(x.v[i]), SVI(now), SVT(actor) };
		if (store_exec(st, SQL_INSERT_MIG, p, 5, NULL) != STORE_OK) {
			store_failed(st, e, "record migration");
			goto out;
		}
	}

	char object[64];
	snprintf(object, sizeof object, "registry:%" PRId64, id);
	char *detail = change_detail(old, d, version);
	struct audit_entry a = {
		.actor_id = who ? who->user_id : 0,
		.actor = actor,
		.action = exists ? "registry.alter" : "registry.create",
		.object = object,
		.dept_id = owner,
		.detail = detail,
	};
	int arc = audit_append(st, &a);
	free(detail);
	if (arc != 0) {
		store_failed(st, e, "audit");
		goto out;
	}
	rc = 0;
out:
	ddl_free(&x);
	free(def_json);
	regdef_free(old);
	return rc;
}

int registry_apply(struct store *st, const char *text, size_t len, const struct reg_actor *who,
		   struct reg_error *e)
{
	struct reg_error scratch;
	if (e == NULL)
		e = &scratch;
	memset(e, 0, sizeof *e);
	e->why = MSG_NONE;
	struct reg_def *d = NULL;
	char *err = NULL;
	if (regdef_parse(text, len, &d, &err) != 0) {
		refuse(e, MSG_REGDEF_PARSE, "", "%s", err ? err : "");
		free(err);
		return -1;
	}
	/* the stored text: the bytes given, which parse, so hold no NUL */
	char *copy = xstrndup(text, len);
	int rc = apply_def(st, d, copy, who, e);
	free(copy);
	regdef_free(d);
	return rc;
}

/* ---- reading ---------------------------------------------------------- */

static const char SQL_LIST[] =
	"SELECT r.id, r.code, r.name, r.owner_dept_id, d.name, r.share, r.open, r.version "
	"FROM registries r JOIN departments d ON d.id = r.owner_dept_id ORDER BY r.id";

static int by_code(const void *a, const void *b)
{
	json_t *const *x = a, *const *y = b;
	return strcmp(json_string_value(json_object_get(*x, "code")),
		      json_string_value(json_object_get(*y, "code")));
}

json_t *registry_list(struct store *st)
{
	struct store_res *r = NULL;
	if (store_query(st, SQL_LIST, NULL, 0, &r) != STORE_OK)
		return NULL;
	int n = store_res_rows(r);
	json_t **items = xcalloc((size_t)n + 1, sizeof *items);
	int ok = 1;
	for (int i = 0; i < n && ok; i++) {
		const char *share = store_res_text(r, i, 5);
		int64_t records = -1;
		const struct registry *reg = registry_get_id(st, store_res_int(r, i, 0));
		if (reg == NULL || store_query_int(st, reg->sql->count, NULL, 0, &records) != STORE_OK)
			ok = 0;
		enum reg_share s = RS_UNCONDITIONAL;
		for (int k = 0; k < RS__MAX; k++)
			if (strcmp(share, reg_share_name((enum reg_share)k)) == 0)
				s = (enum reg_share)k;
		items[i] = json_pack("{s:I, s:s, s:s, s:I, s:s, s:s, s:s, s:b, s:I, s:I}",
				     "id", (json_int_t)store_res_int(r, i, 0), "code", store_res_text(r, i, 1),
				     "name", store_res_text(r, i, 2),
				     "owner_dept_id", (json_int_t)store_res_int(r, i, 3),
				     "owner_dept_name", store_res_text(r, i, 4), "share", reg_share_name(s),
				     "share_label", reg_share_label(s), "open", (int)store_res_int(r, i, 6),
				     "records", (json_int_t)records,
				     "version", (json_int_t)store_res_int(r, i, 7));
	}
	store_res_free(r);
	json_t *out = ok ? json_array() : NULL;
	if (ok)
		qsort(items, (size_t)n, sizeof *items, by_code);
	for (int i = 0; i < n; i++) {
		if (out != NULL && items[i] != NULL)
			json_array_append(out, items[i]);
		json_decref(items[i]);
	}
	free(items);
	return out;
}

static const char SQL_DEPT_NAME[] = "SELECT name FROM departments WHERE id = $1";

static json_t *dept_name_json(struct store *st, int64_t id)
{
	struct store_res *r = NULL;
	struct sval p = SVI(id);
	if (id == 0 || store_query(st, SQL_DEPT_NAME, &p, 1, &r) != STORE_OK)
		return json_null();
	json_t *out = store_res_rows(r) == 1 ? json_string(store_res_text(r, 0, 0)) : json_null();
	store_res_free(r);
	return out;
}

json_t *registry_def_json(struct store *st, const struct registry *reg)
{
	if (reg == NULL)
		return NULL;
	json_t *j = def_to_json(&reg->def);
	json_object_set_new(j, "id", json_integer(reg->id));
	json_object_set_new(j, "version", json_integer(reg->version));
	json_object_set_new(j, "owner_dept_id", json_integer(reg->owner_dept_id));
	json_object_set_new(j, "owner_dept_name", dept_name_json(st, reg->owner_dept_id));
	json_t *fields = json_object_get(j, "fields");
	for (int i = 0; i < reg->def.nfields; i++) {
		const struct reg_field *f = &reg->def.fields[i];
		json_t *o = json_array_get(fields, (size_t)i);
		json_object_set_new(o, "source_dept_id", json_integer(reg->source_dept_id[i]));
		json_object_set_new(o, "source_dept_name", dept_name_json(st, reg->source_dept_id[i]));
		json_t *dl = json_null();
		const char *dot = f->derived_from[0] ? strchr(f->derived_from, '.') : NULL;
		if (dot != NULL) {
			char code[REG_CODE_MAX + 1];
			size_t rn = (size_t)(dot - f->derived_from);
			if (rn < sizeof code) {
				memcpy(code, f->derived_from, rn);
				code[rn] = '\0';
				const struct registry *other = registry_get(st, code);
				int k = other ? reg_field_index(&other->def, dot + 1) : -1;
				if (k >= 0) {
					char *s = xasprintf("%s·%s", other->def.name, other->def.fields[k].label);
					json_decref(dl);
					dl = json_string(s);
					free(s);
					json_object_set_new(o, "source_dept_id",
							    json_integer(other->source_dept_id[k]));
					json_object_set_new(o, "source_dept_name",
							    dept_name_json(st, other->source_dept_id[k]));
				}
			}
		}
		json_object_set_new(o, "derived_label", dl);
	}
	return j;
}

static const char SQL_DEF_TEXT[] = "SELECT def_text FROM registries WHERE code = $1";

char *registry_def_text(struct store *st, const char *code)
{
	struct store_res *r = NULL;
	struct sval p = SVT(code);
	if (code == NULL || store_query(st, SQL_DEF_TEXT, &p, 1, &r) != STORE_OK)
		return NULL;
	char *out = store_res_rows(r) == 1 && store_res_text(r, 0, 0) ? xstrdup(store_res_text(r, 0, 0))
								       : NULL;
	store_res_free(r);
	return out;
}

static const char SQL_MIGRATIONS[] =
	"SELECT version, sql, applied_at FROM registry_migrations WHERE registry_id = $1 ORDER BY id";

json_t *registry_migrations(struct store *st, const struct registry *reg)
{
	struct store_res *r = NULL;
	if (reg == NULL)
		return NULL;
	struct sval p = SVI(reg->id);
	if (store_query(st, SQL_MIGRATIONS, &p, 1, &r) != STORE_OK)
		return NULL;
	json_t *out = json_array();
	for (int i = 0; i < store_res_rows(r); i++)
		json_array_append_new(out, json_pack("{s:I, s:s, s:I}", "version",
						     (json_int_t)store_res_int(r, i, 0), "sql",
						     store_res_text(r, i, 1), "applied_at",
						     (json_int_t)store_res_int(r, i, 2)));
	store_res_free(r);
	return out;
}
