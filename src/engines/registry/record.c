/*
 * record: the records of a registry (registry.h, "records"): put (insert or
 * update with history), delete, point reads, queries with filters and
 * keyset pagination, history, and streaming scans for export and
 * comparison.
 *
 * The insert path is the import and demo-data path, so it does no work
 * beyond checking the values and one INSERT ... ON CONFLICT DO NOTHING: the
 * canonical texts live in a stack buffer (heap only for very large rows),
 * and the statement text comes from the handle (prepared once per
 * connection).  Only when the INSERT did nothing (the key exists) does the
 * update path read the record, compare field by field and write.
 *
 * Neither put nor delete appends an audit entry: the caller does (an import
 * audits the import, a form the form), as one entry per row would drown
 * the chain during a large import.  The record itself says who changed it
 * and from where (_created_*, _updated_*, reg_history).
 *
 * Derived copies (一数一源): when an update changes an authoritative field
 * R.f, the administrators of every department owning a registry with a
 * field derived=R.f are notified.  Who derives from what is cached
 * process-wide and rebuilt when the set of registries changes (count and
 * sum of versions of the registries table).
 */
#include "engines/registry/registry_int.h"

#include "core/buf.h"
#include "core/log.h"
#include "core/notify.h"
#include "core/validate.h"
#include "core/xalloc.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SCAN_PAGE 5000
#define HISTORY_MAX 1000
#define QUERY_LIMIT_MAX 500

static const char SQL_HISTORY_INSERT[] =
	"INSERT INTO reg_history (registry_id, rec_key, version, op, changes, at, actor_id, actor, "
	"source) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
static const char SQL_HISTORY_OF[] =
	"SELECT version, op, at, actor, source, changes FROM reg_history "
	"WHERE registry_id = $1 AND rec_key = $2 ORDER BY id DESC LIMIT 1000";
static const char SQL_REG_SIG[] =
	"SELECT COUNT(*), COALESCE(SUM(version), 0) FROM registries";
static const char SQL_REG_CODES[] = "SELECT code FROM registries ORDER BY code";
static const char SQL_DEPT_ADMINS[] =
	"SELECT u.id FROM user_roles r JOIN users u ON u.id = r.user_id "
	"WHERE r.dept_id = $1 AND r.role = 'dept_admin' AND u.disabled = 0 ORDER BY u.id";

/* ------------------------------------------------------------ errors */

static void err_clear(struct reg_error *e)
{
	if (e == NULL)
		return;
	e->why = MSG_NONE;
	e->field[0] = '\0';
	e->detail[0] = '\0';
}

static void err_set(struct reg_error *e, enum msg_id why, const char *field)
{
	if (e == NULL)
		return;
	e->why = why;
	snprintf(e->field, sizeof e->field, "%s", field ? field : "");
	e->detail[0] = '\0';
}

/* An error about a value of f, with a detail saying what the field allows. */
static void err_value(struct reg_error *e, const struct reg_field *f, enum msg_id why)
{
	if (e == NULL)
		return;
	err_set(e, why, f->name);
	if (why == MSG_REG_BAD_ENUM) {
		struct buf b = BUF_INIT(sizeof e->detail - 1);
		if (buf_addstr(&b, msg(MSG_REG_ENUM_ALLOWED)) == 0) {
			for (int i = 0; i < f->nenum; i++)
				if (buf_addf(&b, "%s%s", i ? "、" : "", f->enum_values[i]) != 0)
					break;
		}
		snprintf(e->detail, sizeof e->detail, "%s", b.data ? b.data : "");
		buf_release(&b);
	} else if (why == MSG_FIELD_TOO_LONG) {
		snprintf(e->detail, sizeof e->detail, "%s%d", msg(MSG_REG_MAX_CHARS),
			 f->max_chars > 0 ? f->max_chars : 200);
	} else if (why == MSG_REG_DECIMAL_SCALE) {
		snprintf(e->detail, sizeof e->detail, "%s%d", msg(MSG_REG_MAX_SCALE), f->scale);
	}
}

/* ------------------------------------------------------------ values */

static const char *actor_name(const struct reg_actor *who)
{
	return who && who->name ? who->name : "system";
}

static const char *actor_source(const struct reg_actor *who)
{
	return who && who->source ? who->source : "";
}

/* Whether f is shown masked to a viewer without the right. */
static int field_masked(const struct reg_field *f)
{
	return f->personal || f->type == RT_IDCARD || f->type == RT_PHONE;
}

/* Canonical decimal text -> units (the canonical form has exactly scale digits). */
static int64_t canon_units(const char *c)
{
	int neg = *c == '-';
	uint64_t v = 0;
	for (const char *p = c + neg; *p; p++)
		if (*p >= '0' && *p <= '9')
			v = v * 10u + (uint64_t)(*p - '0');
	if (neg)
		return v == (uint64_t)INT64_MAX + 1u ? INT64_MIN : -(int64_t)v;
	return (int64_t)v;
}

/* The stored (bound) form of canonical text c of field f; c NULL = SQL NULL. */
static struct sval stored_sval(const struct reg_field *f, const char *c)
{
	if (c == NULL)
		return SVN;
	switch (f->type) {
	case RT_INTEGER:
		return SVI(strtoll(c, NULL, 10));
	case RT_DECIMAL:
		return SVI(canon_units(c));
	case RT_BOOL:
		return SVI(strcmp(c, "true") == 0);
	default:
		return SVT(c);
	}
}

/* Checks raw text against f and gives its stored form in *sv, with the
 * canonical text in canon (cap >= REG_VALUE_MAX + 1).  A NULL is refused
 * (MSG_REG_REQUIRED) unless allow_null.  MSG_NONE or why not. */
static enum msg_id check_one(const struct reg_field *f, const char *text, char *canon, size_t cap,
			     int allow_null, struct sval *sv)
{
	int is_null = 0;
	enum msg_id why = reg_value_check(f, text, canon, cap, &is_null);
	if (why == MSG_REG_REQUIRED && allow_null)
		why = MSG_NONE;
	if (why != MSG_NONE)
		return why;
	if (is_null) {
		if (!allow_null)
			return MSG_REG_REQUIRED;
		*sv = SVN;
		return MSG_NONE;
	}
	*sv = stored_sval(f, canon);
	return MSG_NONE;
}

/* ------------------------------------------------------------ one row of values */

struct row {
	int n;
	const char *canon[REG_MAX_FIELDS];   /* canonical text, NULL = SQL NULL */
	struct sval sv[REG_MAX_FIELDS + 4];  /* the stored values, then the statement's extras */
	size_t off[REG_MAX_FIELDS];
	char *mem;
	size_t used, cap;
	char local[8192];
};

static void row_init(struct row *r)
{
	r->n = 0;
	r->mem = r->local;
	r->used = 0;
	r->cap = sizeof r->local;
}

static void row_release(struct row *r)
{
	if (r->mem != r->local)
		free(r->mem);
	r->mem = r->local;
}

static size_t row_add(struct row *r, const char *s)
{
	size_t len = strlen(s) + 1, at = r->used;
	if (r->used + len > r->cap) {
		size_t ncap = r->cap * 2;
		while (ncap < r->used + len)
			ncap *= 2;
		if (r->mem == r->local) {
			char *m = xmalloc(ncap);
			memcpy(m, r->local, r->used);
			r->mem = m;
		} else {
			r->mem = xrealloc(r->mem, ncap);
		}
		r->cap = ncap;
	}
	memcpy(r->mem + at, s, len);
	r->used += len;
	return at;
}

/* Checks values (one per field) into r; -1 with *e at the first bad one. */
static int row_check(const struct registry *reg, const char *const *values, struct row *r,
		     struct reg_error *e)
{
	const struct reg_def *d = &reg->def;
	char canon[REG_VALUE_MAX + 1];
	int isnull[REG_MAX_FIELDS];

	if (d->nfields < 1 || d->nfields > REG_MAX_FIELDS) {
		err_set(e, MSG_HTTP_500, "");
		return -1;
	}
	r->n = d->nfields;
	for (int i = 0; i < d->nfields; i++) {
		const struct reg_field *f = &d->fields[i];
		int is_null = 0;
		enum msg_id why = reg_value_check(f, values[i], canon, sizeof canon, &is_null);
		if (why == MSG_NONE && is_null && i == d->key)
			why = MSG_REG_REQUIRED;   /* a record always has its key */
		if (why != MSG_NONE) {
			err_value(e, f, why);
			return -1;
		}
		isnull[i] = is_null;
		r->off[i] = is_null ? 0 : row_add(r, canon);
	}
	for (int i = 0; i < d->nfields; i++) {
		r->canon[i] = isnull[i] ? NULL : r->mem + r->off[i];
		r->sv[i] = stored_sval(&d->fields[i], r->canon[i]);
	}
	return 0;
}

/* ------------------------------------------------------------ derived copies */

struct dep {
	char src[2 * REG_CODE_MAX + 1];     /* "registry.field" derived from */
	const struct registry *reg;         /* the registry holding the copy */
	int field;
};

static pthread_mutex_t dep_mu = PTHREAD_MUTEX_INITIALIZER;
static struct dep *deps;
static int ndeps, dep_loaded;
static int64_t dep_sig_count, dep_sig_sum;

/* Makes the process-wide list of derived fields current.  0 or -1. */
static int deps_refresh(struct store *st)
{
	struct store_res *res = NULL;
	int64_t count, sum;
	int fresh;

	if (store_query(st, SQL_REG_SIG, NULL, 0, &res) != STORE_OK || store_res_rows(res) != 1) {
		store_res_free(res);
		return -1;
	}
	count = store_res_int(res, 0, 0);
	sum = store_res_int(res, 0, 1);
	store_res_free(res);
	pthread_mutex_lock(&dep_mu);
	fresh = dep_loaded && dep_sig_count == count && dep_sig_sum == sum;
	pthread_mutex_unlock(&dep_mu);
	if (fresh)
		return 0;

	/* Built outside the lock (it reads the store), swapped in under it. */
	if (store_query(st, SQL_REG_CODES, NULL, 0, &res) != STORE_OK)
		return -1;
	struct dep *list = NULL;
	int n = 0, cap = 0;
	for (int i = 0; i < store_res_rows(res); i++) {
		const struct registry *dr = registry_get(st, store_res_text(res, i, 0));
		if (dr == NULL)
			continue;
		for (int j = 0; j < dr->def.nfields; j++) {
			const struct reg_field *f = &dr->def.fields[j];
			if (f->derived_from[0] == '\0')
				continue;
			if (n == cap) {
				cap = cap ? cap * 2 : 16;
				list = xrealloc(list, (size_t)cap * sizeof *list);
			}
			snprintf(list[n].src, sizeof list[n].src, "%s", f->derived_from);
			list[n].reg = dr;
			list[n].field = j;
			n++;
		}
	}
	store_res_free(res);
	pthread_mutex_lock(&dep_mu);
	free(deps);
	deps = list;
	ndeps = n;
	dep_sig_count = count;
	dep_sig_sum = sum;
	dep_loaded = 1;
	pthread_mutex_unlock(&dep_mu);
	return 0;
}

/* Replaces {1}..{9} in tmpl by args[0..nargs-1] into b. */
static int fill_template(struct buf *b, const char *tmpl, const char *const *args, int nargs)
{
	for (const char *p = tmpl; *p; p++) {
		if (p[0] == '{' && p[1] >= '1' && p[1] <= '9' && p[2] == '}') {
			int k = p[1] - '1';
			if (k < nargs && buf_addstr(b, args[k]) != 0)
				return -1;
			p += 2;
		} else if (buf_addch(b, *p) != 0) {
			return -1;
		}
	}
	return 0;
}

static int notify_dept_admins(struct store *st, const struct registry *src, int fi,
			      const struct dep *dp, const char *key_masked, const struct reg_actor *who)
{
	const struct reg_field *sf = &src->def.fields[fi];
	const struct reg_field *df = &dp->reg->def.fields[dp->field];
	struct sval p[] = { SVI(dp->reg->owner_dept_id) };
	struct store_res *res = NULL;
	struct buf body = BUF_INIT(8000);
	char link[128], dedup[200];
	const char *args[] = {
		src->def.name ? src->def.name : src->def.code, sf->label ? sf->label : sf->name,
		key_masked, dp->reg->def.name ? dp->reg->def.name : dp->reg->def.code,
		df->label ? df->label : df->name,
	};
	int rc = -1;

	if (store_query(st, SQL_DEPT_ADMINS, p, 1, &res) != STORE_OK)
		goto out;
	if (fill_template(&body, msg(MSG_REG_NOTIFY_DERIVED_BODY), args, 5) != 0)
		goto out;
	snprintf(link, sizeof link, "/share/registries/%s", src->def.code);
	snprintf(dedup, sizeof dedup, "regchg:%s:%s:%s:%s", src->def.code, sf->name,
		 dp->reg->def.owner_dept, actor_source(who));
	for (int i = 0; i < store_res_rows(res); i++)
		if (notify_user(st, store_res_int(res, i, 0), "registry.derived",
				msg(MSG_REG_NOTIFY_DERIVED_TITLE), body.data ? body.data : "", link,
				dedup) != 0)
			goto out;
	rc = 0;
out:
	store_res_free(res);
	buf_release(&body);
	return rc;
}

/* Notifies the owners of copies of the changed authoritative fields. */
static int notify_derived(struct store *st, const struct registry *reg, const int *changed,
			  const char *key_canon, const struct reg_actor *who)
{
	const struct reg_def *d = &reg->def;
	char src[2 * REG_CODE_MAX + 1], masked[REG_VALUE_MAX + 1];
	int refreshed = 0;

	for (int i = 0; i < d->nfields; i++) {
		if (!changed[i] || d->fields[i].derived_from[0] != '\0')
			continue;
		if (!refreshed) {
			if (deps_refresh(st) != 0)
				return -1;
			refreshed = 1;
			const struct reg_field *kf = &d->fields[d->key];
			if (field_masked(kf))
				reg_value_mask(kf, key_canon, masked, sizeof masked);
			else
				snprintf(masked, sizeof masked, "%s", key_canon);
		}
		snprintf(src, sizeof src, "%s.%s", d->code, d->fields[i].name);
		/* Copy the matches out under the lock; the handles live until exit. */
		struct dep local[32];
		int nl = 0;
		pthread_mutex_lock(&dep_mu);
		for (int k = 0; k < ndeps && nl < (int)(sizeof local / sizeof local[0]); k++)
			if (strcmp(deps[k].src, src) == 0)
				local[nl++] = deps[k];
		pthread_mutex_unlock(&dep_mu);
		for (int k = 0; k < nl; k++)
			if (notify_dept_admins(st, reg, i, &local[k], masked, who) != 0)
				return -1;
	}
	return 0;
}

/* ------------------------------------------------------------ put */

static int history_add(struct store *st, const struct registry *reg, const char *key,
		       int64_t version, const char *op, json_t *changes, const struct reg_actor *who,
		       int64_t now)
{
	char *text = json_dumps(changes, JSON_COMPACT);
	if (text == NULL)
		return -1;
	struct sval p[] = { SVI(reg->id), SVT(key), SVI(version), SVT(op), SVT(text), SVI(now),
			    SVI(who ? who->user_id : 0), SVT(actor_name(who)), SVT(actor_source(who)) };
	int rc = store_exec(st, SQL_HISTORY_INSERT, p, 9, NULL);
	free(text);
	return rc == STORE_OK ? 0 : -1;
}

static json_t *json_str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

/* The key exists: compare and update.  0 or -1. */
static int put_update(struct store *st, const struct registry *reg, struct row *r,
		      const struct reg_actor *who, int64_t now, int *outcome, struct reg_error *e)
{
	const struct reg_def *d = &reg->def;
	const struct reg_sql *sql = reg->sql;
	struct store_res *res = NULL;
	char old[REG_VALUE_MAX + 1];
	int changed[REG_MAX_FIELDS], nchanged = 0, rc = -1;
	json_t *ch = NULL;

	if (store_query(st, sql->by_key, &r->sv[d->key], 1, &res) != STORE_OK ||
	    store_res_rows(res) != 1) {
		err_set(e, MSG_HTTP_500, "");
		goto out;
	}
	int64_t id = store_res_int(res, 0, 0);
	int64_t version = store_res_int(res, 0, d->nfields + 1);
	ch = json_object();
	for (int i = 0; i < d->nfields; i++) {
		const char *stored = store_res_text(res, 0, 1 + i);
		const char *oc = NULL;
		if (stored != NULL) {
			reg_value_format(&d->fields[i], stored, old, sizeof old);
			oc = old;
		}
		changed[i] = (oc == NULL) != (r->canon[i] == NULL) ||
			     (oc != NULL && strcmp(oc, r->canon[i]) != 0);
		if (!changed[i])
			continue;
		nchanged++;
		json_object_set_new(ch, d->fields[i].name,
				    json_pack("{s:o,s:o}", "old", json_str_or_null(oc), "new",
					      json_str_or_null(r->canon[i])));
	}
	if (nchanged == 0) {
		*outcome = 0;
		rc = 0;
		goto out;
	}
	int n = d->nfields;
	r->sv[n] = SVI(now);
	r->sv[n + 1] = SVT(actor_name(who));
	r->sv[n + 2] = SVT(actor_source(who));
	r->sv[n + 3] = SVI(id);
	if (store_exec(st, sql->update, r->sv, n + 4, NULL) != STORE_OK ||
	    history_add(st, reg, r->canon[d->key], version + 1, "update", ch, who, now) != 0 ||
	    notify_derived(st, reg, changed, r->canon[d->key], who) != 0) {
		err_set(e, MSG_HTTP_500, "");
		goto out;
	}
	*outcome = 2;
	rc = 0;
out:
	json_decref(ch);
	store_res_free(res);
	return rc;
}

int registry_put(struct store *st, const struct registry *reg, const char *const *values,
		 const struct reg_actor *who, int *outcome, struct reg_error *e)
{
	struct row r;
	int64_t changes = 0, now = (int64_t)time(NULL);
	int dummy, rc = -1;

	if (outcome == NULL)
		outcome = &dummy;
	*outcome = 0;
	err_clear(e);
	row_init(&r);
	if (row_check(reg, values, &r, e) != 0)
		goto out;
	int n = reg->def.nfields;
	r.sv[n] = SVI(now);
	r.sv[n + 1] = SVT(actor_name(who));
	r.sv[n + 2] = SVT(actor_source(who));
	if (store_exec(st, reg->sql->insert, r.sv, n + 3, &changes) != STORE_OK) {
		err_set(e, MSG_HTTP_500, "");
		goto out;
	}
	if (changes > 0) {
		*outcome = 1;
		rc = 0;
		goto out;
	}
	rc = put_update(st, reg, &r, who, now, outcome, e);
out:
	row_release(&r);
	return rc;
}

int registry_put_json(struct store *st, const struct registry *reg, const json_t *rec,
		      const struct reg_actor *who, int *outcome, struct reg_error *e)
{
	const struct reg_def *d = &reg->def;
	const char *values[REG_MAX_FIELDS] = { 0 };
	char nums[REG_MAX_FIELDS][24];
	const char *k;
	json_t *v;

	err_clear(e);
	if (outcome != NULL)
		*outcome = 0;
	if (!json_is_object(rec)) {
		err_set(e, MSG_REG_NOT_OBJECT, "");
		return -1;
	}
	json_object_foreach((json_t *)rec, k, v) {
		int i = reg_field_index(d, k);
		if (i < 0) {
			err_set(e, MSG_REG_UNKNOWN_FIELD, k);
			return -1;
		}
		const struct reg_field *f = &d->fields[i];
		switch (json_typeof(v)) {
		case JSON_STRING:
			if (strlen(json_string_value(v)) != json_string_length(v)) {
				err_set(e, MSG_FIELD_BAD_CONTROL, f->name);
				return -1;
			}
			values[i] = json_string_value(v);
			break;
		case JSON_NULL:
			values[i] = NULL;
			break;
		case JSON_INTEGER:
			if (f->type != RT_INTEGER && f->type != RT_DECIMAL && f->type != RT_BOOL) {
				err_set(e, MSG_REG_JSON_TYPE, f->name);
				return -1;
			}
			snprintf(nums[i], sizeof nums[i], "%" JSON_INTEGER_FORMAT, json_integer_value(v));
			values[i] = nums[i];
			break;
		case JSON_TRUE:
		case JSON_FALSE:
			if (f->type != RT_BOOL) {
				err_set(e, MSG_REG_JSON_TYPE, f->name);
				return -1;
			}
			values[i] = json_is_true(v) ? "true" : "false";
			break;
		case JSON_REAL:
			err_set(e, f->type == RT_DECIMAL ? MSG_REG_DECIMAL_AS_TEXT : MSG_REG_JSON_TYPE,
				f->name);
			return -1;
		default:
			err_set(e, MSG_REG_JSON_TYPE, f->name);
			return -1;
		}
	}
	return registry_put(st, reg, values, who, outcome, e);
}

/* ------------------------------------------------------------ reading */

/* Bit i set when field i is in the view (every field when v or v->fields is NULL). */
static uint64_t view_bits(const struct registry *reg, const struct reg_view *v)
{
	uint64_t bits = 0;
	if (v == NULL || v->fields == NULL)
		return reg->def.nfields >= 64 ? ~(uint64_t)0 : (((uint64_t)1 << reg->def.nfields) - 1);
	for (const char *const *p = v->fields; *p != NULL; p++) {
		int i = reg_field_index(&reg->def, *p);
		if (i >= 0)
			bits |= (uint64_t)1 << i;
	}
	return bits;
}

/* A view NULL means every field, masked. */
static int view_unmasked(const struct reg_view *v)
{
	return v != NULL && v->unmasked;
}

/* The JSON value of canonical text c of f as the viewer may see it. */
static json_t *value_json(const struct reg_field *f, const char *c, int unmasked)
{
	char masked[REG_VALUE_MAX + 1];
	if (c == NULL)
		return json_null();
	if (!unmasked && field_masked(f)) {
		reg_value_mask(f, c, masked, sizeof masked);
		return json_string(masked);
	}
	return json_string(c);
}

/* The fields of row `row` (columns col0 .. col0+n-1) as a JSON object limited to the view. */
static json_t *record_json(const struct registry *reg, const struct store_res *res, int row,
			   int col0, uint64_t bits, int unmasked)
{
	const struct reg_def *d = &reg->def;
	char canon[REG_VALUE_MAX + 1];
	json_t *o = json_object();
	for (int i = 0; i < d->nfields; i++) {
		if (!(bits & ((uint64_t)1 << i)))
			continue;
		const char *stored = store_res_text(res, row, col0 + i);
		const char *c = NULL;
		if (stored != NULL) {
			reg_value_format(&d->fields[i], stored, canon, sizeof canon);
			c = canon;
		}
		json_object_set_new(o, d->fields[i].name, value_json(&d->fields[i], c, unmasked));
	}
	return o;
}

/* The stored key for canonical-or-raw key text, with the canonical text in canon. */
static int key_sval(const struct registry *reg, const char *key, char *canon, size_t cap,
		    struct sval *sv)
{
	if (key == NULL)
		return -1;
	return check_one(&reg->def.fields[reg->def.key], key, canon, cap, 0, sv) == MSG_NONE ? 0 : -1;
}

json_t *registry_get_record(struct store *st, const struct registry *reg, const char *key,
			    const struct reg_view *v)
{
	char canon[REG_VALUE_MAX + 1];
	struct sval p;
	struct store_res *res = NULL;
	json_t *o = NULL;

	if (key_sval(reg, key, canon, sizeof canon, &p) != 0)
		return NULL;
	if (store_query(st, reg->sql->record, &p, 1, &res) != STORE_OK || store_res_rows(res) != 1)
		goto out;
	int n = reg->def.nfields;
	o = record_json(reg, res, 0, 1, view_bits(reg, v), view_unmasked(v));
	json_object_set_new(o, "_meta",
			    json_pack("{s:I,s:I,s:s?,s:s?,s:I,s:s?,s:s?}",
				      "version", (json_int_t)store_res_int(res, 0, n + 1),
				      "created_at", (json_int_t)store_res_int(res, 0, n + 2),
				      "created_by", store_res_text(res, 0, n + 3),
				      "created_src", store_res_text(res, 0, n + 4),
				      "updated_at", (json_int_t)store_res_int(res, 0, n + 5),
				      "updated_by", store_res_text(res, 0, n + 6),
				      "updated_src", store_res_text(res, 0, n + 7)));
out:
	store_res_free(res);
	return o;
}

int registry_exists(struct store *st, const struct registry *reg, const char *field,
		    const char *value, struct reg_error *e)
{
	char canon[REG_VALUE_MAX + 1];
	struct sval p;
	struct store_res *res = NULL;
	enum msg_id why;
	int i;

	err_clear(e);
	i = field ? reg_field_index(&reg->def, field) : -1;
	if (i < 0) {
		err_set(e, MSG_REG_UNKNOWN_FIELD, field);
		return -1;
	}
	why = check_one(&reg->def.fields[i], value, canon, sizeof canon, 0, &p);
	if (why != MSG_NONE) {
		err_value(e, &reg->def.fields[i], why);
		return -1;
	}
	if (store_query(st, reg->sql->exists_by[i], &p, 1, &res) != STORE_OK) {
		err_set(e, MSG_HTTP_500, "");
		return -1;
	}
	int found = store_res_rows(res) > 0;
	store_res_free(res);
	return found;
}

int64_t registry_count(struct store *st, const struct registry *reg)
{
	int64_t n = 0;
	if (store_query_int(st, reg->sql->count, NULL, 0, &n) != STORE_OK)
		return -1;
	return n;
}

/* ------------------------------------------------------------ queries */

static int type_ordered(enum reg_type t)
{
	return t == RT_INTEGER || t == RT_DECIMAL || t == RT_DATE;
}

static int type_text_like(enum reg_type t)
{
	return t == RT_TEXT || t == RT_ADDRESS || t == RT_IDCARD || t == RT_USCC || t == RT_PHONE;
}

/* Encodes code point c as UTF-8 into out; returns bytes. */
static size_t utf8_put(uint32_t c, char *out)
{
	if (c < 0x80) {
		out[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		out[0] = (char)(0xC0 | (c >> 6));
		out[1] = (char)(0x80 | (c & 0x3F));
		return 2;
	}
	if (c < 0x10000) {
		out[0] = (char)(0xE0 | (c >> 12));
		out[1] = (char)(0x80 | ((c >> 6) & 0x3F));
		out[2] = (char)(0x80 | (c & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | (c >> 18));
	out[1] = (char)(0x80 | ((c >> 12) & 0x3F));
	out[2] = (char)(0x80 | ((c >> 6) & 0x3F));
	out[3] = (char)(0x80 | (c & 0x3F));
	return 4;
}

/*
 * The least string greater than every string beginning with prefix p
 * (valid UTF-8): p with its last code point incremented, dropping trailing
 * U+10FFFF.  Bytewise order of UTF-8 is code point order, so
 * p <= s < succ exactly when s begins with p.  0, or -1 when there is none
 * (then no upper bound is needed).
 */
static int prefix_successor(const char *p, char *out, size_t cap)
{
	size_t len = strlen(p);
	if (len + 1 > cap)
		return -1;
	memcpy(out, p, len + 1);
	while (len > 0) {
		size_t st = len - 1;
		while (st > 0 && ((unsigned char)out[st] & 0xC0) == 0x80)
			st--;
		const unsigned char *u = (const unsigned char *)out + st;
		uint32_t c;
		size_t n = len - st;
		if (n == 1)
			c = u[0];
		else if (n == 2)
			c = ((uint32_t)(u[0] & 0x1F) << 6) | (u[1] & 0x3F);
		else if (n == 3)
			c = ((uint32_t)(u[0] & 0x0F) << 12) | ((uint32_t)(u[1] & 0x3F) << 6) | (u[2] & 0x3F);
		else
			c = ((uint32_t)(u[0] & 0x07) << 18) | ((uint32_t)(u[1] & 0x3F) << 12) |
			    ((uint32_t)(u[2] & 0x3F) << 6) | (u[3] & 0x3F);
		if (c >= 0x10FFFF) {
			len = st;
			out[len] = '\0';
			continue;
		}
		c++;
		if (c == 0xD800)
			c = 0xE000;
		if (st + 4 + 1 > cap)
			return -1;
		len = st + utf8_put(c, out + st);
		out[len] = '\0';
		return 0;
	}
	return -1;
}

json_t *registry_query(struct store *st, const struct registry *reg, const struct reg_filter *f,
		       int nf, int64_t after, int limit, const struct reg_view *v, struct reg_error *e)
{
	const struct reg_def *d = &reg->def;
	struct sval p[2 * REG_MAX_FILTERS + 2];
	char (*canon)[REG_VALUE_MAX + 1] = NULL;
	struct buf sql = BUF_INIT(16384);
	struct store_res *res = NULL;
	json_t *out = NULL;
	int np = 0;

	err_clear(e);
	if (limit < 1 || limit > QUERY_LIMIT_MAX) {
		err_set(e, MSG_REG_BAD_LIMIT, "");
		return NULL;
	}
	if (nf < 0 || nf > REG_MAX_FILTERS) {
		err_set(e, MSG_REG_TOO_MANY_FILTERS, "");
		return NULL;
	}
	canon = xmalloc((size_t)(2 * REG_MAX_FILTERS + 2) * sizeof *canon);
	p[np++] = SVI(after);
	if (buf_addf(&sql, "SELECT _id, %s FROM %s WHERE _id > $1", reg->sql->cols,
		     reg->sql->table) != 0)
		goto fail500;
	for (int k = 0; k < nf; k++) {
		int i = f[k].field ? reg_field_index(d, f[k].field) : -1;
		if (i < 0) {
			err_set(e, MSG_REG_UNKNOWN_FIELD, f[k].field);
			goto out;
		}
		const struct reg_field *fd = &d->fields[i];
		enum msg_id why = MSG_NONE;
		switch (f[k].op) {
		case RO_EQ:
			if (f[k].value == NULL || f[k].value[0] == '\0') {
				if (buf_addf(&sql, " AND \"%s\" IS NULL", fd->name) != 0)
					goto fail500;
				continue;
			}
			why = check_one(fd, f[k].value, canon[np], sizeof canon[np], 0, &p[np]);
			if (why == MSG_NONE && buf_addf(&sql, " AND \"%s\" = $%d", fd->name, np + 1) != 0)
				goto fail500;
			break;
		case RO_GE:
		case RO_LE:
			if (!type_ordered(fd->type)) {
				why = MSG_REG_BAD_OP;
				break;
			}
			why = check_one(fd, f[k].value, canon[np], sizeof canon[np], 0, &p[np]);
			if (why == MSG_NONE &&
			    buf_addf(&sql, " AND \"%s\" %s $%d", fd->name, f[k].op == RO_GE ? ">=" : "<=",
				     np + 1) != 0)
				goto fail500;
			break;
		case RO_PREFIX: {
			if (!type_text_like(fd->type)) {
				why = MSG_REG_BAD_OP;
				break;
			}
			const char *pv = f[k].value;
			size_t plen = pv ? strlen(pv) : 0;
			if (plen == 0) {
				why = MSG_REG_REQUIRED;
				break;
			}
			if (plen > REG_VALUE_MAX) {
				why = MSG_REG_TOO_LONG;
				break;
			}
			why = (enum msg_id)validate_text(pv, plen, 1, 0, 0);
			if (why != MSG_NONE)
				break;
			memcpy(canon[np], pv, plen + 1);
			p[np] = SVT(canon[np]);
			np++;
			if (prefix_successor(pv, canon[np], sizeof canon[np]) == 0) {
				p[np] = SVT(canon[np]);
				if (buf_addf(&sql, " AND \"%s\" >= $%d AND \"%s\" < $%d", fd->name, np,
					     fd->name, np + 1) != 0)
					goto fail500;
			} else {
				if (buf_addf(&sql, " AND \"%s\" >= $%d", fd->name, np) != 0)
					goto fail500;
				np--;   /* the successor slot is not used */
			}
			break;
		}
		default:
			why = MSG_REG_BAD_OP;
			break;
		}
		if (why != MSG_NONE) {
			err_value(e, fd, why);
			goto out;
		}
		np++;
	}
	p[np] = SVI(limit + 1);
	if (buf_addf(&sql, " ORDER BY _id LIMIT $%d", np + 1) != 0)
		goto fail500;
	np++;
	if (store_query(st, reg_sql_intern(sql.data), p, np, &res) != STORE_OK)
		goto fail500;
	{
		uint64_t bits = view_bits(reg, v);
		int unmasked = view_unmasked(v), rows = store_res_rows(res);
		int shown = rows > limit ? limit : rows;
		json_t *items = json_array();
		for (int r = 0; r < shown; r++)
			json_array_append_new(items, record_json(reg, res, r, 1, bits, unmasked));
		out = json_pack("{s:o,s:o}", "items", items, "next",
				rows > limit ? json_integer(store_res_int(res, shown - 1, 0)) : json_null());
	}
	goto out;
fail500:
	err_set(e, MSG_HTTP_500, "");
out:
	store_res_free(res);
	buf_release(&sql);
	free(canon);
	return out;
}

/* ------------------------------------------------------------ history */

/* Adds {old,new} of a history entry to o, masked as the view says. */
static void history_change(json_t *o, const struct reg_field *f, json_t *pair, int unmasked)
{
	json_t *old = json_object_get(pair, "old"), *nw = json_object_get(pair, "new");
	json_object_set_new(o, f->name,
			    json_pack("{s:o,s:o}",
				      "old", value_json(f, json_is_string(old) ? json_string_value(old) : NULL, unmasked),
				      "new", value_json(f, json_is_string(nw) ? json_string_value(nw) : NULL, unmasked)));
}

json_t *registry_history(struct store *st, const struct registry *reg, const char *key,
			 const struct reg_view *v)
{
	char canon[REG_VALUE_MAX + 1];
	struct sval kp;
	struct store_res *rec = NULL, *hist = NULL;
	json_t *out = NULL, *created = NULL, *changes = NULL;
	uint64_t bits = view_bits(reg, v);
	int unmasked = view_unmasked(v);

	if (key_sval(reg, key, canon, sizeof canon, &kp) != 0)
		return NULL;
	struct sval hp[] = { SVI(reg->id), SVT(canon) };
	if (store_query(st, reg->sql->record, &kp, 1, &rec) != STORE_OK ||
	    store_query(st, SQL_HISTORY_OF, hp, 2, &hist) != STORE_OK)
		goto out;
	if (store_res_rows(rec) == 0 && store_res_rows(hist) == 0)
		goto out;
	int n = reg->def.nfields;
	if (store_res_rows(rec) == 1)
		created = json_pack("{s:I,s:s?,s:s?}", "at", (json_int_t)store_res_int(rec, 0, n + 2),
				    "by", store_res_text(rec, 0, n + 3), "source",
				    store_res_text(rec, 0, n + 4));
	else
		created = json_null();
	changes = json_array();
	for (int r = 0; r < store_res_rows(hist); r++) {
		json_t *raw = json_loads(store_res_text(hist, r, 5), 0, NULL);
		json_t *vis = json_object();
		const char *fname;
		json_t *pair;
		json_object_foreach(raw, fname, pair) {
			int i = reg_field_index(&reg->def, fname);
			if (i < 0 || !(bits & ((uint64_t)1 << i)))
				continue;   /* a field since removed, or outside the view */
			history_change(vis, &reg->def.fields[i], pair, unmasked);
		}
		json_decref(raw);
		json_array_append_new(changes,
				      json_pack("{s:I,s:s,s:I,s:s,s:s,s:o}",
						"version", (json_int_t)store_res_int(hist, r, 0),
						"op", store_res_text(hist, r, 1),
						"at", (json_int_t)store_res_int(hist, r, 2),
						"by", store_res_text(hist, r, 3),
						"source", store_res_text(hist, r, 4),
						"changes", vis));
	}
	out = json_pack("{s:o,s:o}", "created", created, "changes", changes);
	created = changes = NULL;
out:
	json_decref(created);
	json_decref(changes);
	store_res_free(rec);
	store_res_free(hist);
	return out;
}

/* ------------------------------------------------------------ delete */

int registry_delete(struct store *st, const struct registry *reg, const char *key,
		    const struct reg_actor *who)
{
	const struct reg_def *d = &reg->def;
	char canon[REG_VALUE_MAX + 1], old[REG_VALUE_MAX + 1];
	struct sval kp;
	struct store_res *res = NULL;
	json_t *ch = NULL;
	int rc = -1;
	int64_t now = (int64_t)time(NULL);

	if (key_sval(reg, key, canon, sizeof canon, &kp) != 0)
		return 1;
	if (store_query(st, reg->sql->by_key, &kp, 1, &res) != STORE_OK)
		goto out;
	if (store_res_rows(res) == 0) {
		rc = 1;
		goto out;
	}
	ch = json_object();
	for (int i = 0; i < d->nfields; i++) {
		const char *stored = store_res_text(res, 0, 1 + i);
		if (stored == NULL)
			continue;
		reg_value_format(&d->fields[i], stored, old, sizeof old);
		json_object_set_new(ch, d->fields[i].name,
				    json_pack("{s:s,s:n}", "old", old, "new"));
	}
	struct sval idp = SVI(store_res_int(res, 0, 0));
	if (history_add(st, reg, canon, store_res_int(res, 0, d->nfields + 1) + 1, "delete", ch, who,
			now) != 0 ||
	    store_exec(st, reg->sql->del, &idp, 1, NULL) != STORE_OK)
		goto out;
	rc = 0;
out:
	json_decref(ch);
	store_res_free(res);
	return rc;
}

/* ------------------------------------------------------------ scan */

/* The stored value of a result cell of field f, for a keyset bound. */
static struct sval cell_sval(const struct reg_field *f, const char *stored)
{
	if (stored == NULL)
		return SVN;
	if (f->type == RT_INTEGER || f->type == RT_DECIMAL || f->type == RT_BOOL)
		return SVI(strtoll(stored, NULL, 10));
	return SVT(stored);
}

struct scanner {
	const struct registry *reg;
	reg_row_fn fn;
	void *arg;
	char fmt[REG_MAX_FIELDS][40];       /* canonical text of decimal and boolean cells */
	const char *vals[REG_MAX_FIELDS];
};

/* Calls fn for each row of res (columns _id, fields...).  0 to go on, else fn's value. */
static int scan_rows(struct scanner *sc, const struct store_res *res)
{
	const struct reg_def *d = &sc->reg->def;
	for (int r = 0; r < store_res_rows(res); r++) {
		for (int i = 0; i < d->nfields; i++) {
			const char *s = store_res_text(res, r, 1 + i);
			if (s != NULL && (d->fields[i].type == RT_DECIMAL || d->fields[i].type == RT_BOOL)) {
				reg_value_format(&d->fields[i], s, sc->fmt[i], sizeof sc->fmt[i]);
				s = sc->fmt[i];
			}
			sc->vals[i] = s;
		}
		int rc = sc->fn(sc->arg, sc->vals);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/*
 * Pages through `first` (params: limit) then `next` (params: bound from
 * the last row, then limit), ordered by field oi (ties by _id when
 * with_id).  0 done, fn's non-zero value, or -1.
 */
static int scan_keyset(struct store *st, struct scanner *sc, const char *first, const char *next,
		       int oi, int with_id)
{
	const struct reg_field *of = &sc->reg->def.fields[oi];
	struct store_res *res = NULL;
	struct sval p[3];
	char *last = NULL;
	int64_t last_id = 0;
	int rc = 0, np;

	p[0] = SVI(SCAN_PAGE);
	if (store_query(st, first, p, 1, &res) != STORE_OK)
		return -1;
	for (;;) {
		int rows = store_res_rows(res);
		rc = scan_rows(sc, res);
		if (rc != 0 || rows < SCAN_PAGE)
			break;
		free(last);
		const char *lv = store_res_text(res, rows - 1, 1 + oi);
		last = lv ? xstrdup(lv) : NULL;
		last_id = store_res_int(res, rows - 1, 0);
		store_res_free(res);
		res = NULL;
		np = 0;
		p[np++] = cell_sval(of, last);
		if (with_id)
			p[np++] = SVI(last_id);
		p[np++] = SVI(SCAN_PAGE);
		if (store_query(st, next, p, np, &res) != STORE_OK) {
			rc = -1;
			break;
		}
	}
	free(last);
	store_res_free(res);
	return rc;
}

int registry_scan(struct store *st, const struct registry *reg, const char *order_field,
		  reg_row_fn fn, void *arg)
{
	const struct reg_def *d = &reg->def;
	const struct reg_sql *s = reg->sql;
	struct scanner *sc = xcalloc(1, sizeof *sc);
	char *q1 = NULL, *q2 = NULL, *q3 = NULL;
	int rc = -1, oi;

	sc->reg = reg;
	sc->fn = fn;
	sc->arg = arg;
	oi = order_field ? reg_field_index(d, order_field) : d->key;
	if (oi < 0)
		goto out;
	if (oi == d->key) {
		/* The key is never NULL and unique: keyset on the key alone. */
		q1 = xasprintf("SELECT _id, %s FROM %s ORDER BY \"%s\" LIMIT $1", s->cols, s->table,
			       d->fields[oi].name);
		rc = scan_keyset(st, sc, reg_sql_intern(q1), s->scan_key, oi, 0);
		goto out;
	}
	/*
	 * Another field: the records where it is NULL come first (by _id), then
	 * the others by (field, _id).  Both drivers thus give the same order
	 * (PostgreSQL sorts NULLs last, SQLite first).
	 */
	const char *fname = d->fields[oi].name;
	q1 = xasprintf("SELECT _id, %s FROM %s WHERE \"%s\" IS NULL AND _id > $1 ORDER BY _id LIMIT $2",
		       s->cols, s->table, fname);
	{
		const char *nsql = reg_sql_intern(q1);
		struct store_res *res = NULL;
		int64_t after = 0;
		for (;;) {
			struct sval p[] = { SVI(after), SVI(SCAN_PAGE) };
			if (store_query(st, nsql, p, 2, &res) != STORE_OK)
				goto out;
			int rows = store_res_rows(res);
			int r = scan_rows(sc, res);
			if (rows > 0)
				after = store_res_int(res, rows - 1, 0);
			store_res_free(res);
			if (r != 0) {
				rc = r;
				goto out;
			}
			if (rows < SCAN_PAGE)
				break;
		}
	}
	q2 = xasprintf("SELECT _id, %s FROM %s WHERE \"%s\" IS NOT NULL ORDER BY \"%s\", _id LIMIT $1",
		       s->cols, s->table, fname, fname);
	q3 = xasprintf("SELECT _id, %s FROM %s WHERE \"%s\" > $1 OR (\"%s\" = $1 AND _id > $2) "
		       "ORDER BY \"%s\", _id LIMIT $3",
		       s->cols, s->table, fname, fname, fname);
	rc = scan_keyset(st, sc, reg_sql_intern(q2), reg_sql_intern(q3), oi, 1);
out:
	free(q1);
	free(q2);
	free(q3);
	free(sc);
	return rc;
}
