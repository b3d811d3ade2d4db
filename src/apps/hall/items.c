#include "apps/hall/items.h"
#include "core/audit.h"
#include "core/buf.h"
#include "core/validate.h"
#include "core/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *const hall_kinds[] = { "行政许可", "行政确认", "行政给付", "行政裁决", "行政奖励",
				   "公共服务", "其他行政权力", NULL };
const char *const hall_audiences[] = { "person", "enterprise", "both", NULL };

const char *hall_audience_label(const char *a)
{
	if (a == NULL)
		return "";
	if (strcmp(a, "person") == 0)
		return "个人";
	if (strcmp(a, "enterprise") == 0)
		return "法人";
	return "个人、法人";
}

const char *hall_depth_label(int depth)
{
	static const char *const labels[] = { "", "办事指南", "表格下载与预约", "在线预审", "全程网办",
					      "全程网办、结果送达" };
	return depth >= 1 && depth <= 5 ? labels[depth] : "";
}

/* ---------- the text lists ---------- */

#define LIST_MAX_LINES 100
#define PART_MAX 8

/* Splits one line on '|' into trimmed parts (in place). Returns the count. */
static int split_parts(char *line, char **parts)
{
	int n = 0;
	char *p = line;
	for (;;) {
		char *bar = strchr(p, '|');
		if (bar)
			*bar = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
		size_t len = strlen(p);
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t' || p[len - 1] == '\r'))
			p[--len] = '\0';
		if (n < PART_MAX)
			parts[n++] = p;
		if (!bar)
			break;
		p = bar + 1;
	}
	return n;
}

static int fail(struct item_err *e, const char *field, int line, const char *why)
{
	e->field = field;
	e->line = line;
	snprintf(e->reason, sizeof e->reason, "第 %d 行：%s", line, why);
	return -1;
}

/* Calls fn for each non-empty line; stops at the first failure. */
static int each_line(const char *text, const char *field, struct item_err *e, json_t *out,
		     int (*fn)(char **parts, int n, int line, json_t *out, struct item_err *e))
{
	char *copy = xstrdup(text ? text : "");
	char *save = NULL;
	int line = 0, rc = 0, count = 0;
	for (char *p = copy; p != NULL && rc == 0; p = save) {
		char *nl = strchr(p, '\n');
		save = nl ? nl + 1 : NULL;
		if (nl)
			*nl = '\0';
		line++;
		char *parts[PART_MAX];
		char *s = p;
		while (*s == ' ' || *s == '\t' || *s == '\r')
			s++;
		if (*s == '\0' || *s == '#')
			continue;
		if (++count > LIST_MAX_LINES) {
			rc = fail(e, field, line, "行数过多（最多 100 行）");
			break;
		}
		int n = split_parts(s, parts);
		for (int i = 0; i < n && rc == 0; i++)
			if (validate_text(parts[i], strlen(parts[i]), 0, 500, 0) != MSG_NONE)
				rc = fail(e, field, line, "含有无效字符或过长");
		if (rc == 0)
			rc = fn(parts, n, line, out, e);
	}
	free(copy);
	return rc;
}

static int material_line(char **parts, int n, int line, json_t *out, struct item_err *e)
{
	if (n < 2 || parts[0][0] == '\0')
		return fail(e, "materials", line, "格式应为：名称 | 必需/可选 | 说明");
	int req;
	if (strcmp(parts[1], "必需") == 0)
		req = 1;
	else if (strcmp(parts[1], "可选") == 0)
		req = 0;
	else
		return fail(e, "materials", line, "第二项须为“必需”或“可选”");
	/* Materials are addressed by position: m1, m2, ... */
	json_array_append_new(out, json_pack("{s:o,s:s,s:b,s:s}", "code",
					      json_sprintf("m%zu", json_array_size(out) + 1), "name", parts[0],
					      "required", req, "note", n > 2 ? parts[2] : ""));
	return 0;
}

int hall_parse_materials(const char *text, json_t **out, struct item_err *e)
{
	*out = json_array();
	if (each_line(text, "materials", e, *out, material_line) != 0) {
		json_decref(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

static const char *const form_types[] = { "text", "textarea", "int", "date", "choice", "idcard",
					  "uscc", "phone", "email", NULL };

static int form_line(char **parts, int n, int line, json_t *out, struct item_err *e)
{
	if (n < 4)
		return fail(e, "form", line, "格式应为：name | 标签 | 类型 | 必填/选填 | 上限或选项");
	const char *name = parts[0];
	size_t len = strlen(name);
	if (len == 0 || len > 32 || strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") != len ||
	    name[0] == '_')
		return fail(e, "form", line, "字段名须为 1–32 位小写字母、数字或下划线");
	size_t i;
	json_t *f;
	json_array_foreach(out, i, f)
		if (strcmp(json_string_value(json_object_get(f, "name")), name) == 0)
			return fail(e, "form", line, "字段名重复");
	if (parts[1][0] == '\0')
		return fail(e, "form", line, "缺少标签");
	int t = -1;
	for (int k = 0; form_types[k]; k++)
		if (strcmp(parts[2], form_types[k]) == 0)
			t = k;
	if (t < 0)
		return fail(e, "form", line, "类型须为 text、textarea、int、date、choice、idcard、uscc、phone、email 之一");
	int req;
	if (strcmp(parts[3], "必填") == 0)
		req = 1;
	else if (strcmp(parts[3], "选填") == 0)
		req = 0;
	else
		return fail(e, "form", line, "第四项须为“必填”或“选填”");
	json_t *field = json_pack("{s:s,s:s,s:s,s:b}", "name", name, "label", parts[1], "type", parts[2],
				  "required", req);
	const char *extra = n > 4 ? parts[4] : "";
	if (strcmp(parts[2], "choice") == 0) {
		json_t *choices = json_array();
		char *c = xstrdup(extra), *p = c;
		while (p && *p) {
			char *slash = strchr(p, '/');
			if (slash)
				*slash = '\0';
			if (*p)
				json_array_append_new(choices, json_string(p));
			p = slash ? slash + 1 : NULL;
		}
		free(c);
		if (json_array_size(choices) < 2) {
			json_decref(choices);
			json_decref(field);
			return fail(e, "form", line, "选项至少两个，用 / 分隔");
		}
		json_object_set_new(field, "choices", choices);
	} else if (*extra) {
		char *end = NULL;
		long v = strtol(extra, &end, 10);
		if (*end != '\0' || v < 1 || v > 5000) {
			json_decref(field);
			return fail(e, "form", line, "上限须为 1–5000 的整数");
		}
		json_object_set_new(field, "max", json_integer(v));
	}
	json_array_append_new(out, field);
	return 0;
}

int hall_parse_form(const char *text, json_t **out, struct item_err *e)
{
	*out = json_array();
	if (each_line(text, "form", e, *out, form_line) != 0) {
		json_decref(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

static int special_line(char **parts, int n, int line, json_t *out, struct item_err *e)
{
	if (n < 3)
		return fail(e, "specials", line, "格式应为：环节 | 标题 | 计时/不计时");
	size_t len = strlen(parts[0]);
	if (len == 0 || len > 32 || strspn(parts[0], "abcdefghijklmnopqrstuvwxyz_") != len)
		return fail(e, "specials", line, "环节名须为小写字母或下划线（如 inspection）");
	int counts;
	if (strcmp(parts[2], "计时") == 0)
		counts = 1;
	else if (strcmp(parts[2], "不计时") == 0)
		counts = 0;
	else
		return fail(e, "specials", line, "第三项须为“计时”或“不计时”");
	json_array_append_new(out, json_pack("{s:s,s:s,s:b}", "state", parts[0], "title", parts[1], "counts",
					      counts));
	return 0;
}

int hall_parse_specials(const char *text, json_t **out, struct item_err *e)
{
	*out = json_array();
	if (each_line(text, "specials", e, *out, special_line) != 0) {
		json_decref(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

char *hall_materials_text(json_t *materials)
{
	struct buf b = BUF_INIT(1u << 20);
	size_t i;
	json_t *m;
	json_array_foreach(materials, i, m)
		buf_addf(&b, "%s | %s | %s\n", json_string_value(json_object_get(m, "name")),
			 json_is_true(json_object_get(m, "required")) ? "必需" : "可选",
			 json_string_value(json_object_get(m, "note")));
	return buf_detach(&b, NULL);
}

char *hall_form_text(json_t *form)
{
	struct buf b = BUF_INIT(1u << 20);
	size_t i;
	json_t *f;
	json_array_foreach(form, i, f) {
		buf_addf(&b, "%s | %s | %s | %s", json_string_value(json_object_get(f, "name")),
			 json_string_value(json_object_get(f, "label")),
			 json_string_value(json_object_get(f, "type")),
			 json_is_true(json_object_get(f, "required")) ? "必填" : "选填");
		json_t *ch = json_object_get(f, "choices");
		if (json_is_array(ch)) {
			size_t k;
			json_t *c;
			buf_addstr(&b, " | ");
			json_array_foreach(ch, k, c)
				buf_addf(&b, "%s%s", k ? "/" : "", json_string_value(c));
		} else if (json_is_integer(json_object_get(f, "max"))) {
			buf_addf(&b, " | %lld", (long long)json_integer_value(json_object_get(f, "max")));
		}
		buf_addch(&b, '\n');
	}
	return buf_detach(&b, NULL);
}

char *hall_specials_text(json_t *specials)
{
	struct buf b = BUF_INIT(1u << 20);
	size_t i;
	json_t *s;
	json_array_foreach(specials, i, s)
		buf_addf(&b, "%s | %s | %s\n", json_string_value(json_object_get(s, "state")),
			 json_string_value(json_object_get(s, "title")),
			 json_is_true(json_object_get(s, "counts")) ? "计时" : "不计时");
	return buf_detach(&b, NULL);
}

/* ---------- store ---------- */

enum item_stmt { S_INSERT, S_UPDATE, S_BY_ID, S_BY_CODE, S_LIST, S__MAX };

#define ITEM_COLS "i.id, i.code, i.name, i.dept_id, d.name, i.kind, i.audience, i.statutory_days, " \
	"i.promised_days, i.special_steps, i.materials, i.form, i.fees, i.visits, i.depth, i.process, " \
	"i.themes, i.life_events, i.conditions, i.legal_basis, i.result_name, i.status, i.updated_at"

static const char *const sql[S__MAX] = {
	[S_INSERT] = "INSERT INTO hall_items (code, name, dept_id, kind, audience, statutory_days, promised_days, "
		     "special_steps, materials, form, fees, visits, depth, process, themes, life_events, conditions, "
		     "legal_basis, result_name, status, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, "
		     "$8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $21) RETURNING id",
	[S_UPDATE] = "UPDATE hall_items SET code = $1, name = $2, dept_id = $3, kind = $4, audience = $5, "
		     "statutory_days = $6, promised_days = $7, special_steps = $8, materials = $9, form = $10, "
		     "fees = $11, visits = $12, depth = $13, process = $14, themes = $15, life_events = $16, "
		     "conditions = $17, legal_basis = $18, result_name = $19, status = $20, updated_at = $21 "
		     "WHERE id = $22",
	[S_BY_ID] = "SELECT " ITEM_COLS " FROM hall_items i JOIN departments d ON d.id = i.dept_id WHERE i.id = $1",
	[S_BY_CODE] = "SELECT " ITEM_COLS " FROM hall_items i JOIN departments d ON d.id = i.dept_id "
		      "WHERE i.code = $1",
	[S_LIST] = "SELECT " ITEM_COLS " FROM hall_items i JOIN departments d ON d.id = i.dept_id WHERE "
		   "(($6 = 0 AND i.status = 'published') OR ($6 <> 0 AND i.dept_id = $6)) "
		   "AND ($1 = '' OR i.name LIKE $1 OR i.code LIKE $1) AND ($2 = 0 OR i.dept_id = $2) "
		   "AND ($3 = '' OR i.themes LIKE $3 OR i.life_events LIKE $3) "
		   "AND ($4 = '' OR i.audience = $4 OR i.audience = 'both') AND i.id > $5 ORDER BY i.id LIMIT $7",
};

static json_t *parse_json_col(const char *s)
{
	json_error_t je;
	json_t *j = s ? json_loads(s, 0, &je) : NULL;
	return j ? j : json_array();
}

static json_t *item_row(const struct store_res *res, int i)
{
	const char *aud = store_res_text(res, i, 6);
	int depth = (int)store_res_int(res, i, 14);
	json_t *o = json_pack(
		"{s:I,s:s,s:s,s:I,s:s,s:s,s:s,s:s,s:I,s:I,s:o,s:o,s:o,s:s,s:I,s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:I}",
		"id", (json_int_t)store_res_int(res, i, 0), "code", store_res_text(res, i, 1), "name",
		store_res_text(res, i, 2), "dept_id", (json_int_t)store_res_int(res, i, 3), "dept_name",
		store_res_text(res, i, 4), "kind", store_res_text(res, i, 5), "audience", aud,
		"audience_label", hall_audience_label(aud), "statutory_days", (json_int_t)store_res_int(res, i, 7),
		"promised_days", (json_int_t)store_res_int(res, i, 8), "special_steps",
		parse_json_col(store_res_text(res, i, 9)), "materials", parse_json_col(store_res_text(res, i, 10)),
		"form", parse_json_col(store_res_text(res, i, 11)), "fees", store_res_text(res, i, 12), "visits",
		(json_int_t)store_res_int(res, i, 13), "depth", (json_int_t)depth, "depth_label",
		hall_depth_label(depth), "process", store_res_text(res, i, 15), "themes", store_res_text(res, i, 16),
		"life_events", store_res_text(res, i, 17), "conditions", store_res_text(res, i, 18), "legal_basis",
		store_res_text(res, i, 19), "result_name", store_res_text(res, i, 20), "status",
		store_res_text(res, i, 21), "updated_at", (json_int_t)store_res_int(res, i, 22));
	json_object_set_new(o, "published", json_boolean(strcmp(store_res_text(res, i, 21), "published") == 0));
	json_object_set_new(o, "online", json_boolean(depth >= 3));
	return o;
}

json_t *hall_item_json(struct store *st, int64_t id, const char *code)
{
	struct store_res *res = NULL;
	struct sval p[] = { id ? SVI(id) : SVT(code) };
	json_t *o = NULL;
	if (store_query(st, sql[id ? S_BY_ID : S_BY_CODE], p, 1, &res) == STORE_OK && store_res_rows(res) == 1)
		o = item_row(res, 0);
	store_res_free(res);
	return o;
}

json_t *hall_item_list(struct store *st, const char *q, int64_t dept_id, const char *theme,
		       const char *audience, int64_t admin_dept, int64_t after, int limit)
{
	struct store_res *res = NULL;
	char *like_q = q && *q ? xasprintf("%%%s%%", q) : xstrdup("");
	char *like_t = theme && *theme ? xasprintf("%%%s%%", theme) : xstrdup("");
	struct sval p[] = { SVT(like_q), SVI(dept_id), SVT(like_t), SVT(audience ? audience : ""), SVI(after),
			    SVI(admin_dept), SVI(limit + 1) };
	json_t *out = NULL;
	if (store_query(st, sql[S_LIST], p, 7, &res) != STORE_OK)
		goto done;
	json_t *items = json_array();
	int n = store_res_rows(res);
	for (int i = 0; i < n && i < limit; i++)
		json_array_append_new(items, item_row(res, i));
	out = json_pack("{s:o,s:o}", "items", items, "next",
			n > limit ? json_integer(store_res_int(res, limit - 1, 0)) : json_null());
done:
	free(like_q);
	free(like_t);
	store_res_free(res);
	return out;
}

static int item_fail(struct req *r, const char *field, const char *reason)
{
	/* List problems name the line; they are not catalogue messages but parse reports. */
	struct input_error e = { 400, MSG_HALL_ITEM_LIST_BAD, "", "" };
	snprintf(e.field, sizeof e.field, "%s", field);
	snprintf(e.detail, sizeof e.detail, "%s", reason);
	resp_input_error(r, &e);
	return -1;
}

int hall_item_save(struct req *r, int64_t id, int64_t *out_id)
{
	json_t *materials = NULL, *form = NULL, *specials = NULL;
	char *m = NULL, *f = NULL, *s = NULL;
	struct item_err e = { 0 };
	int rc = -1;
	if (hall_parse_materials(req_in_str(r, "materials"), &materials, &e) != 0 ||
	    hall_parse_form(req_in_str(r, "form"), &form, &e) != 0 ||
	    hall_parse_specials(req_in_str(r, "specials"), &specials, &e) != 0) {
		item_fail(r, e.field, e.reason);
		goto out;
	}
	int64_t statutory = req_in_int(r, "statutory_days", 0), promised = req_in_int(r, "promised_days", 0);
	if (promised > statutory) {
		struct input_error ie = { 400, MSG_HALL_PROMISED_OVER, "promised_days" };
		resp_input_error(r, &ie);
		goto out;
	}
	m = json_dumps(materials, JSON_COMPACT);
	f = json_dumps(form, JSON_COMPACT);
	s = json_dumps(specials, JSON_COMPACT);
	const char *opt[] = { "fees", "themes", "life_events", "conditions", "legal_basis", "result_name" };
	const char *v[6];
	for (int k = 0; k < 6; k++)
		v[k] = req_in_str(r, opt[k]) ? req_in_str(r, opt[k]) : "";
	struct sval p[] = { SVT(req_in_str(r, "code")), SVT(req_in_str(r, "name")), SVI(req_in_int(r, "dept_id", 0)),
			    SVT(req_in_str(r, "kind")), SVT(req_in_str(r, "audience")), SVI(statutory), SVI(promised),
			    SVT(s), SVT(m), SVT(f), SVT(v[0]), SVI(req_in_int(r, "visits", 0)),
			    SVI(req_in_int(r, "depth", 1)), SVT(req_in_str(r, "process")), SVT(v[1]), SVT(v[2]),
			    SVT(v[3]), SVT(v[4]), SVT(v[5]), SVT(req_in_str(r, "status")), SVI(time(NULL)), SVI(id) };
	int src;
	if (id == 0) {
		src = store_query_int(r->st, sql[S_INSERT], p, 21, out_id);
	} else {
		int64_t n = 0;
		src = store_exec(r->st, sql[S_UPDATE], p, 22, &n);
		if (src == STORE_OK && n != 1) {
			resp_error(r, 404, MSG_HALL_ITEM_NOT_FOUND, NULL);
			goto out;
		}
		*out_id = id;
	}
	if (src == STORE_CONSTRAINT) {
		struct input_error ie = { 400, MSG_HALL_CODE_TAKEN, "code" };
		resp_input_error(r, &ie);
		goto out;
	}
	if (src != STORE_OK) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		goto out;
	}
	struct audit_entry a = { r->who.user_id, r->who.login, id ? "hall.item_update" : "hall.item_create",
				 arena_printf(r->arena, "hall_item:%lld", (long long)*out_id),
				 req_in_int(r, "dept_id", 0), r->ip, NULL };
	if (audit_append(r->st, &a) != 0) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		goto out;
	}
	rc = 0;
out:
	free(m);
	free(f);
	free(s);
	json_decref(materials);
	json_decref(form);
	json_decref(specials);
	return rc;
}

const struct field_spec *hall_form_spec(struct req *r, json_t *item)
{
	json_t *form = json_object_get(item, "form");
	size_t n = json_array_size(form);
	struct field_spec *spec = arena_alloc(r->arena, (n + 1) * sizeof *spec);
	size_t i;
	json_t *f;
	json_array_foreach(form, i, f) {
		struct field_spec *s = &spec[i];
		const char *type = json_string_value(json_object_get(f, "type"));
		s->name = arena_strdup(r->arena, json_string_value(json_object_get(f, "name")));
		s->label = arena_strdup(r->arena, json_string_value(json_object_get(f, "label")));
		s->flags = json_is_true(json_object_get(f, "required")) ? FS_REQUIRED : 0;
		s->max = json_is_integer(json_object_get(f, "max")) ? json_integer_value(json_object_get(f, "max")) : 0;
		if (strcmp(type, "textarea") == 0)
			s->type = FT_TEXTAREA;
		else if (strcmp(type, "int") == 0) {
			s->type = FT_INT;
			s->min = 0;
			s->max = s->max ? s->max : 1000000000;
		} else if (strcmp(type, "date") == 0)
			s->type = FT_DATE;
		else if (strcmp(type, "idcard") == 0)
			s->type = FT_IDCARD;
		else if (strcmp(type, "uscc") == 0)
			s->type = FT_USCC;
		else if (strcmp(type, "phone") == 0)
			s->type = FT_PHONE;
		else if (strcmp(type, "email") == 0)
			s->type = FT_EMAIL;
		else if (strcmp(type, "choice") == 0) {
			json_t *ch = json_object_get(f, "choices");
			const char **c = arena_alloc(r->arena, (json_array_size(ch) + 1) * sizeof *c);
			size_t k;
			json_t *x;
			json_array_foreach(ch, k, x)
				c[k] = arena_strdup(r->arena, json_string_value(x));
			s->type = FT_CHOICE;
			s->choices = c;
		} else
			s->type = FT_TEXT;
	}
	return spec;
}
