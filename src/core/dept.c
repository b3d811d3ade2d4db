#include "core/dept.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/validate.h"
#include "core/xalloc.h"

#include <csv.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEPT_IMPORT_MAX_ROWS 100000

const char *const dept_levels[] = { "province", "city", "county", "town", "village", NULL };
static const char *const level_zh[] = { "省", "市", "县", "镇", "村", NULL };
static const enum msg_id level_msg[] = { MSG_LEVEL_PROVINCE, MSG_LEVEL_CITY, MSG_LEVEL_COUNTY,
					 MSG_LEVEL_TOWN, MSG_LEVEL_VILLAGE };

enum dept_stmt { S_INSERT, S_UPDATE, S_GET, S_BY_CODE, S_ALL, S_PAGE, S_PARENT_OF, S__MAX };

static const char *const sql[S__MAX] = {
	[S_INSERT] = "INSERT INTO departments (code, name, parent_id, level, sort, created_at, updated_at) "
		     "VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
	[S_UPDATE] = "UPDATE departments SET code = $2, name = $3, parent_id = $4, level = $5, sort = $6, "
		     "updated_at = $7 WHERE id = $1",
	[S_GET] = "SELECT d.id, d.code, d.name, d.parent_id, p.name, d.level, d.sort FROM departments d "
		  "LEFT JOIN departments p ON p.id = d.parent_id WHERE d.id = $1",
	[S_BY_CODE] = "SELECT id FROM departments WHERE code = $1",
	[S_ALL] = "SELECT id, code, name, parent_id, level, sort FROM departments ORDER BY sort, id",
	[S_PAGE] = "SELECT d.id, d.code, d.name, d.parent_id, p.name, d.level, d.sort FROM departments d "
		   "LEFT JOIN departments p ON p.id = d.parent_id WHERE d.id > $1 ORDER BY d.id LIMIT $2",
	[S_PARENT_OF] = "SELECT parent_id FROM departments WHERE id = $1",
};

static int level_index(const char *level)
{
	for (int i = 0; dept_levels[i]; i++)
		if (strcmp(level, dept_levels[i]) == 0 || strcmp(level, level_zh[i]) == 0)
			return i;
	return -1;
}

const char *dept_level_label(const char *level)
{
	int i = level ? level_index(level) : -1;
	return i < 0 ? "" : msg(level_msg[i]);
}

static int dept_check(struct store *st, int64_t self, const struct dept_in *d, enum msg_id *why,
		      const char **field)
{
	*why = validate_dept_code(d->code);
	if (*why != MSG_NONE) {
		*field = "code";
		return -1;
	}
	*why = validate_text(d->name, strlen(d->name), 1, 100, 0);
	if (*why != MSG_NONE) {
		*field = "name";
		return -1;
	}
	if (level_index(d->level) < 0) {
		*why = MSG_DEPT_LEVEL_BAD;
		*field = "level";
		return -1;
	}
	/* Walk up from the new parent: it must exist and never reach self. */
	int64_t cur = d->parent_id;
	for (int depth = 0; cur != 0; depth++) {
		if (cur == self || depth > 64) {
			*why = MSG_DEPT_PARENT_CYCLE;
			*field = "parent_id";
			return -1;
		}
		struct store_res *res = NULL;
		struct sval p[] = { SVI(cur) };
		if (store_query(st, sql[S_PARENT_OF], p, 1, &res) != STORE_OK) {
			*why = MSG_HTTP_500;
			*field = NULL;
			return -1;
		}
		if (store_res_rows(res) == 0) {
			store_res_free(res);
			*why = MSG_DEPT_PARENT_UNKNOWN;
			*field = "parent_id";
			return -1;
		}
		cur = store_res_int(res, 0, 0);
		store_res_free(res);
	}
	return 0;
}

static const char *canonical_level(const char *level)
{
	int i = level_index(level);
	return i < 0 ? level : dept_levels[i];
}

int dept_create(struct store *st, const struct dept_in *d, int64_t *id, enum msg_id *why,
		const char **field)
{
	*field = NULL;
	if (dept_check(st, 0, d, why, field) != 0)
		return -1;
	struct sval p[] = { SVT(d->code), SVT(d->name), d->parent_id ? SVI(d->parent_id) : SVN,
			    SVT(canonical_level(d->level)), SVI(d->sort), SVI(time(NULL)) };
	int rc = store_query_int(st, sql[S_INSERT], p, 6, id);
	if (rc == STORE_CONSTRAINT) {
		*why = MSG_DEPT_CODE_TAKEN;
		*field = "code";
		return -1;
	}
	if (rc != STORE_OK) {
		*why = MSG_HTTP_500;
		return -1;
	}
	return 0;
}

int dept_update(struct store *st, int64_t id, const struct dept_in *d, enum msg_id *why,
		const char **field)
{
	*field = NULL;
	if (dept_check(st, id, d, why, field) != 0)
		return -1;
	struct sval p[] = { SVI(id), SVT(d->code), SVT(d->name), d->parent_id ? SVI(d->parent_id) : SVN,
			    SVT(canonical_level(d->level)), SVI(d->sort), SVI(time(NULL)) };
	int64_t n = 0;
	int rc = store_exec(st, sql[S_UPDATE], p, 7, &n);
	if (rc == STORE_CONSTRAINT) {
		*why = MSG_DEPT_CODE_TAKEN;
		*field = "code";
		return -1;
	}
	if (rc != STORE_OK || n != 1) {
		*why = rc != STORE_OK ? MSG_HTTP_500 : MSG_HTTP_404;
		return -1;
	}
	return 0;
}

static json_t *dept_row(const struct store_res *res, int i)
{
	const char *level = store_res_text(res, i, 5);
	const char *pname = store_res_text(res, i, 4);
	return json_pack("{s:I,s:s,s:s,s:o,s:o,s:s,s:s,s:I}", "id", (json_int_t)store_res_int(res, i, 0),
			 "code", store_res_text(res, i, 1), "name", store_res_text(res, i, 2),
			 "parent_id",
			 store_res_isnull(res, i, 3) ? json_null() : json_integer(store_res_int(res, i, 3)),
			 "parent_name", pname ? json_string(pname) : json_null(), "level", level,
			 "level_label", dept_level_label(level), "sort", (json_int_t)store_res_int(res, i, 6));
}

json_t *dept_json(struct store *st, int64_t id)
{
	struct store_res *res = NULL;
	struct sval p[] = { SVI(id) };
	json_t *o = NULL;
	if (store_query(st, sql[S_GET], p, 1, &res) == STORE_OK && store_res_rows(res) == 1)
		o = dept_row(res, 0);
	store_res_free(res);
	return o;
}

json_t *dept_list(struct store *st, int64_t after, int limit)
{
	struct store_res *res = NULL;
	struct sval p[] = { SVI(after), SVI(limit + 1) };
	if (store_query(st, sql[S_PAGE], p, 2, &res) != STORE_OK)
		return NULL;
	json_t *items = json_array();
	int n = store_res_rows(res);
	for (int i = 0; i < n && i < limit; i++)
		json_array_append_new(items, dept_row(res, i));
	json_t *out = json_pack("{s:o,s:o}", "items", items, "next",
				n > limit ? json_integer(store_res_int(res, limit - 1, 0)) : json_null());
	store_res_free(res);
	return out;
}

/* Depth-first order: children follow their parent, siblings by sort then id. */
static void tree_walk(json_t *all, json_t *out, json_int_t parent, int depth)
{
	size_t i;
	json_t *d;
	if (depth > 64)
		return;
	json_array_foreach(all, i, d) {
		json_t *pid = json_object_get(d, "parent_id");
		json_int_t p = json_is_integer(pid) ? json_integer_value(pid) : 0;
		if (p != parent)
			continue;
		json_t *copy = json_copy(d);
		json_object_set_new(copy, "depth", json_integer(depth));
		json_object_set_new(copy, "indent", json_integer(depth * 2));
		json_array_append_new(out, copy);
		tree_walk(all, out, json_integer_value(json_object_get(d, "id")), depth + 1);
	}
}

json_t *dept_tree(struct store *st)
{
	struct store_res *res = NULL;
	if (store_query(st, sql[S_ALL], NULL, 0, &res) != STORE_OK)
		return NULL;
	json_t *all = json_array();
	for (int i = 0; i < store_res_rows(res); i++) {
		const char *level = store_res_text(res, i, 4);
		json_array_append_new(
			all, json_pack("{s:I,s:s,s:s,s:o,s:s,s:s,s:I}", "id",
				       (json_int_t)store_res_int(res, i, 0), "code", store_res_text(res, i, 1),
				       "name", store_res_text(res, i, 2), "parent_id",
				       store_res_isnull(res, i, 3) ? json_null()
								   : json_integer(store_res_int(res, i, 3)),
				       "level", level, "level_label", dept_level_label(level), "sort",
				       (json_int_t)store_res_int(res, i, 5)));
	}
	store_res_free(res);
	json_t *out = json_array();
	tree_walk(all, out, 0, 0);
	json_decref(all);
	return out;
}

int dept_find_code(struct store *st, const char *code, int64_t *id)
{
	struct sval p[] = { SVT(code) };
	int rc = store_query_int(st, sql[S_BY_CODE], p, 1, id);
	return rc == STORE_OK ? 0 : rc == 1 ? 1 : -1;
}

/* ---------- CSV import (libcsv) ---------- */

enum { COL_CODE, COL_NAME, COL_PARENT, COL_LEVEL, COL_SORT, COL__MAX };
static const char *const col_names[COL__MAX] = { "code", "name", "parent_code", "level", "sort" };

struct csv_acc {
	int col;                 /* column index within the current row */
	int64_t row;             /* 1 = header */
	int map[16];             /* file column -> COL_*, -1 unknown */
	int ncols;
	char *cell[COL__MAX];
	json_t *rows;            /* parsed rows: arrays of 5 strings */
	json_t *errors;
	int too_many;
};

static void add_error(json_t *errors, int64_t row, const char *field, const char *reason)
{
	if (json_array_size(errors) < 200)
		json_array_append_new(errors, json_pack("{s:I,s:s,s:s}", "row", (json_int_t)row, "field",
							 field, "reason", reason));
}

static void on_field(void *s, size_t len, void *data)
{
	struct csv_acc *a = data;
	if (a->row == 1) {
		if (a->col < 16) {
			a->map[a->col] = -1;
			for (int k = 0; k < COL__MAX; k++)
				if (strlen(col_names[k]) == len && memcmp(s, col_names[k], len) == 0)
					a->map[a->col] = k;
			/* A UTF-8 BOM before the first header is tolerated. */
			if (a->col == 0 && len > 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
				for (int k = 0; k < COL__MAX; k++)
					if (strlen(col_names[k]) == len - 3 &&
					    memcmp((char *)s + 3, col_names[k], len - 3) == 0)
						a->map[a->col] = k;
		}
		a->ncols = a->col + 1;
	} else if (a->col < 16 && a->col < a->ncols && a->map[a->col] >= 0) {
		int k = a->map[a->col];
		free(a->cell[k]);
		a->cell[k] = xstrndup(s ? s : "", len);
		if (strlen(a->cell[k]) != len)
			add_error(a->errors, a->row, col_names[k], msg(MSG_FIELD_BAD_CONTROL));
	}
	a->col++;
}

static void on_row(int c, void *data)
{
	(void)c;
	struct csv_acc *a = data;
	if (a->row > 1) {
		if (json_array_size(a->rows) >= DEPT_IMPORT_MAX_ROWS) {
			a->too_many = 1;
		} else {
			json_t *r = json_array();
			for (int k = 0; k < COL__MAX; k++)
				json_array_append_new(r, json_string(a->cell[k] ? a->cell[k] : ""));
			json_array_append_new(a->rows, r);
		}
	}
	for (int k = 0; k < COL__MAX; k++) {
		free(a->cell[k]);
		a->cell[k] = NULL;
	}
	a->col = 0;
	a->row++;
}

int dept_import_csv(struct store *st, const char *text, size_t len, json_t **report,
		    void (*progress)(void *arg, int64_t done, int64_t total), void *arg)
{
	struct csv_parser p;
	struct csv_acc a = { .row = 1 };
	int rc = -1, created = 0, updated = 0;
	json_t *codes = json_object();
	a.rows = json_array();
	a.errors = json_array();
	*report = NULL;

	if (csv_init(&p, CSV_STRICT | CSV_APPEND_NULL) != 0)
		goto out;
	if (csv_parse(&p, text, len, on_field, on_row, &a) != len || csv_fini(&p, on_field, on_row, &a) != 0) {
		add_error(a.errors, a.row, "", csv_strerror(csv_error(&p)));
		csv_free(&p);
		goto fail;
	}
	csv_free(&p);
	int have[COL__MAX] = { 0 };
	for (int i = 0; i < a.ncols && i < 16; i++)
		if (a.map[i] >= 0)
			have[a.map[i]] = 1;
	if (!have[COL_CODE] || !have[COL_NAME] || !have[COL_LEVEL]) {
		add_error(a.errors, 1, "", msg(MSG_CSV_NO_HEADER));
		goto fail;
	}
	if (a.too_many) {
		add_error(a.errors, 0, "", msg(MSG_CSV_TOO_MANY_ROWS));
		goto fail;
	}
	size_t i;
	json_t *row;
	int64_t total = (int64_t)json_array_size(a.rows);
	json_array_foreach(a.rows, i, row) {
		int64_t rowno = (int64_t)i + 2;
		const char *code = json_string_value(json_array_get(row, COL_CODE));
		const char *parent = json_string_value(json_array_get(row, COL_PARENT));
		const char *sort = json_string_value(json_array_get(row, COL_SORT));
		struct dept_in d = { code, json_string_value(json_array_get(row, COL_NAME)), 0,
				     json_string_value(json_array_get(row, COL_LEVEL)), 0 };
		if (json_object_get(codes, code) != NULL) {
			add_error(a.errors, rowno, "code", msg(MSG_CSV_DUP_CODE));
			continue;
		}
		json_object_set_new(codes, code, json_true());
		if (*sort) {
			char *end = NULL;
			long long v = strtoll(sort, &end, 10);
			if (*end != '\0' || v < 0 || v > 1000000) {
				add_error(a.errors, rowno, "sort", msg(MSG_FIELD_NOT_INTEGER));
				continue;
			}
			d.sort = v;
		}
		if (*parent) {
			int f = dept_find_code(st, parent, &d.parent_id);
			if (f < 0)
				goto out;
			if (f == 1) {
				add_error(a.errors, rowno, "parent_code", msg(MSG_DEPT_PARENT_UNKNOWN));
				continue;
			}
		}
		int64_t id = 0;
		enum msg_id why;
		const char *field = NULL;
		int f = dept_find_code(st, code, &id);
		if (f < 0)
			goto out;
		int r = f == 0 ? dept_update(st, id, &d, &why, &field) : dept_create(st, &d, &id, &why, &field);
		if (r != 0) {
			if (why == MSG_HTTP_500)
				goto out;
			add_error(a.errors, rowno, field ? field : "", msg(why));
			continue;
		}
		if (f == 0)
			updated++;
		else
			created++;
		if (progress != NULL && (i + 1) % 100 == 0)
			progress(arg, (int64_t)i + 1, total);
	}
	if (json_array_size(a.errors) > 0)
		goto fail;
	if (progress != NULL)
		progress(arg, total, total);
	*report = json_pack("{s:i,s:i}", "created", created, "updated", updated);
	rc = 0;
	goto out;
fail:
	*report = json_incref(a.errors);
out:
	for (int k = 0; k < COL__MAX; k++)
		free(a.cell[k]);
	json_decref(a.rows);
	json_decref(a.errors);
	json_decref(codes);
	return rc;
}
