#include "apps/hall/hall_int.h"
#include "apps/hall/items.h"
#include "core/audit.h"
#include "core/buf.h"
#include "core/validate.h"
#include "core/xalloc.h"
#include "engines/case/procdef.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *const hall_kinds[] = { "行政许可", "行政确认", "行政给付", "行政裁决", "行政奖励",
				   "公共服务", "其他行政权力", NULL };
const char *const hall_audiences[] = { "person", "enterprise", "both", NULL };
const char *const hall_statuses[] = { "draft", "published", "retired", NULL };
/* The hall's processes the item form offers (each checked against the registry). */
const char *const hall_processes[] = { "hall.standard", "hall.simple", NULL };

const char *hall_audience_label(const char *a)
{
	if (a == NULL)
		return "";
	if (strcmp(a, "person") == 0)
		return msg(MSG_HALL_AUD_PERSON);
	if (strcmp(a, "enterprise") == 0)
		return msg(MSG_HALL_AUD_ENTERPRISE);
	return msg(MSG_HALL_AUD_BOTH);
}

const char *hall_depth_label(int depth)
{
	return depth >= 1 && depth <= 5 ? msg((enum msg_id)(MSG_HALL_DEPTH_1 + depth - 1)) : "";
}

const char *hall_depth_note(int depth)
{
	return depth >= 1 && depth <= 5 ? msg((enum msg_id)(MSG_HALL_DEPTH_1_NOTE + depth - 1)) : "";
}

const char *hall_status_label(const char *status)
{
	if (status != NULL && strcmp(status, "published") == 0)
		return msg(MSG_HALL_STATUS_PUBLISHED);
	if (status != NULL && strcmp(status, "retired") == 0)
		return msg(MSG_HALL_STATUS_RETIRED);
	return msg(MSG_HALL_STATUS_DRAFT);
}

const char *hall_process_label(const char *process)
{
	const struct procdef *p = procdef_get(process);
	if (p != NULL && p->title != NULL)
		return p->title;
	if (process != NULL && strcmp(process, "hall.simple") == 0)
		return msg(MSG_HALL_PROC_SIMPLE);
	if (process != NULL && strcmp(process, "hall.standard") == 0)
		return msg(MSG_HALL_PROC_STANDARD);
	return process ? process : "";
}

/* The form field types, parallel to their labels (msg ids in the same order). */
static const char *const form_types[] = { "text", "textarea", "int", "date", "choice", "idcard",
					  "uscc", "phone", "email", NULL };

const char *hall_form_type_label(const char *type)
{
	for (int k = 0; type != NULL && form_types[k]; k++)
		if (strcmp(type, form_types[k]) == 0)
			return msg((enum msg_id)(MSG_HALL_FT_TEXT + k));
	return "";
}

/* ---------- the text lists ---------- */

#define LIST_MAX_LINES 100
#define PART_MAX 8

/* Trims spaces, tabs and a trailing CR of s in place; returns the start. */
static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t len = strlen(s);
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r'))
		s[--len] = '\0';
	return s;
}

/* Splits one line on '|' into trimmed parts (in place).  Returns the count,
 * PART_MAX + 1 when there are more parts than PART_MAX. */
static int split_parts(char *line, char **parts)
{
	int n = 0;
	char *p = line;
	for (;;) {
		char *bar = strchr(p, '|');
		if (bar)
			*bar = '\0';
		if (n < PART_MAX)
			parts[n] = trim(p);
		n++;
		if (!bar)
			break;
		p = bar + 1;
	}
	return n > PART_MAX ? PART_MAX + 1 : n;
}

static int fail(struct item_err *e, const char *field, int line, const char *why)
{
	e->field = field;
	e->line = line;
	snprintf(e->reason, sizeof e->reason, "第 %d 行：%.120s", line, why);
	return -1;
}

/* Calls fn for each line that is neither blank nor a "#" comment; stops at
 * the first failure.  Lines are numbered as the person sees them. */
static int each_line(const char *text, const char *field, int max_parts, struct item_err *e, json_t *out,
		     int (*fn)(char **parts, int n, int line, json_t *out, struct item_err *e))
{
	char *copy = xstrdup(text ? text : "");
	char *next = NULL;
	int line = 0, rc = 0, count = 0;
	for (char *p = copy; p != NULL && rc == 0; p = next) {
		char *nl = strchr(p, '\n');
		next = nl ? nl + 1 : NULL;
		if (nl)
			*nl = '\0';
		line++;
		char *parts[PART_MAX];
		char *s = trim(p);
		if (*s == '\0' || *s == '#')
			continue;
		if (++count > LIST_MAX_LINES) {
			rc = fail(e, field, line, "行数过多（最多 100 行）");
			break;
		}
		int n = split_parts(s, parts);
		if (n > max_parts) {
			char why[96];
			snprintf(why, sizeof why, "最多 %d 项，用 | 分隔", max_parts);
			rc = fail(e, field, line, why);
			break;
		}
		for (int i = 0; i < n && rc == 0; i++)
			if (validate_text(parts[i], strlen(parts[i]), 0, 500, 0) != MSG_NONE)
				rc = fail(e, field, line, "含有无效字符，或某一项超过 500 字");
		if (rc == 0)
			rc = fn(parts, n, line, out, e);
	}
	free(copy);
	return rc;
}

/* A link in a list: a path on this site or an https:// address, no spaces or quotes. */
static int link_ok(const char *s)
{
	if (!((s[0] == '/' && s[1] != '/' && s[1] != '\\') || strncmp(s, "https://", 8) == 0))
		return 0;
	if (strlen(s) > 300)
		return 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p <= ' ' || *p >= 0x7f || *p == '"' || *p == '\'' || *p == '<' || *p == '>' ||
		    *p == '`' || *p == '\\')
			return 0;
	return 1;
}

static int material_line(char **parts, int n, int line, json_t *out, struct item_err *e)
{
	if (n < 2 || parts[0][0] == '\0')
		return fail(e, "materials", line, "格式应为：名称 | 必需/可选 | 说明 | 空白表格地址 | 示例地址");
	int req;
	if (strcmp(parts[1], "必需") == 0)
		req = 1;
	else if (strcmp(parts[1], "可选") == 0)
		req = 0;
	else
		return fail(e, "materials", line, "第二项须为“必需”或“可选”");
	const char *blank = n > 3 ? parts[3] : "", *example = n > 4 ? parts[4] : "";
	if (*blank && !link_ok(blank))
		return fail(e, "materials", line, "空白表格地址须为本站路径（/ 开头）或 https:// 地址");
	if (*example && !link_ok(example))
		return fail(e, "materials", line, "示例地址须为本站路径（/ 开头）或 https:// 地址");
	size_t i;
	json_t *m;
	json_array_foreach(out, i, m)
		if (strcmp(json_string_value(json_object_get(m, "name")), parts[0]) == 0)
			return fail(e, "materials", line, "材料名称重复");
	/* Materials are addressed by position: m1, m2, ... */
	json_array_append_new(out, json_pack("{s:o,s:s,s:b,s:s,s:s,s:s}", "code",
					      json_sprintf("m%zu", json_array_size(out) + 1), "name", parts[0],
					      "required", req, "note", n > 2 ? parts[2] : "", "blank", blank,
					      "example", example));
	return 0;
}

int hall_parse_materials(const char *text, json_t **out, struct item_err *e)
{
	*out = json_array();
	if (each_line(text, "materials", 5, e, *out, material_line) != 0) {
		json_decref(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

#define FORM_INT_MAX 1000000000000LL   /* 10^12: money in yuan, areas, counts */

static int form_line(char **parts, int n, int line, json_t *out, struct item_err *e)
{
	if (n < 4)
		return fail(e, "form", line, "格式应为：name | 标签 | 类型 | 必填/选填 | 上限或选项");
	const char *name = parts[0];
	size_t len = strlen(name);
	if (len == 0 || len > 32 || strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") != len ||
	    name[0] == '_' || (name[0] >= '0' && name[0] <= '9'))
		return fail(e, "form", line, "字段名须为 1–32 位小写字母、数字或下划线，以字母开头");
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
	const char *type = form_types[t];
	const char *extra = n > 4 ? parts[4] : "";
	int is_text = strcmp(type, "text") == 0 || strcmp(type, "textarea") == 0;
	int is_int = strcmp(type, "int") == 0;
	if (strcmp(type, "choice") == 0) {
		json_t *choices = json_array();
		char *c = xstrdup(extra), *p = c;
		while (p) {
			char *slash = strchr(p, '/');
			if (slash)
				*slash = '\0';
			char *opt = trim(p);
			if (*opt)
				json_array_append_new(choices, json_string(opt));
			p = slash ? slash + 1 : NULL;
		}
		free(c);
		if (json_array_size(choices) < 2) {
			json_decref(choices);
			return fail(e, "form", line, "选项至少两个，用 / 分隔，例如：男/女");
		}
		json_t *field = json_pack("{s:s,s:s,s:s,s:b,s:o}", "name", name, "label", parts[1], "type", type,
					  "required", req, "choices", choices);
		json_array_append_new(out, field);
		return 0;
	}
	json_t *field = json_pack("{s:s,s:s,s:s,s:b}", "name", name, "label", parts[1], "type", type,
				  "required", req);
	if (*extra) {
		if (!is_text && !is_int) {
			json_decref(field);
			return fail(e, "form", line, "该类型的格式是固定的，不需要第五项");
		}
		char *end = NULL;
		long long v = strtoll(extra, &end, 10);
		long long hi = is_int ? FORM_INT_MAX : 5000;
		if (end == extra || *end != '\0' || v < 1 || v > hi) {
			json_decref(field);
			return fail(e, "form", line,
				    is_int ? "上限须为 1 至 1000000000000 之间的整数" : "字数上限须为 1–5000 的整数");
		}
		json_object_set_new(field, "max", json_integer(v));
	}
	json_array_append_new(out, field);
	return 0;
}

int hall_parse_form(const char *text, json_t **out, struct item_err *e)
{
	*out = json_array();
	if (each_line(text, "form", 5, e, *out, form_line) != 0) {
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
	if (parts[1][0] == '\0')
		return fail(e, "specials", line, "缺少标题");
	int counts;
	if (strcmp(parts[2], "计时") == 0)
		counts = 1;
	else if (strcmp(parts[2], "不计时") == 0)
		counts = 0;
	else
		return fail(e, "specials", line, "第三项须为“计时”或“不计时”");
	size_t i;
	json_t *s;
	json_array_foreach(out, i, s)
		if (strcmp(json_string_value(json_object_get(s, "state")), parts[0]) == 0)
			return fail(e, "specials", line, "环节重复");
	json_array_append_new(out, json_pack("{s:s,s:s,s:b}", "state", parts[0], "title", parts[1], "counts",
					      counts));
	return 0;
}

int hall_parse_specials(const char *text, json_t **out, struct item_err *e)
{
	*out = json_array();
	if (each_line(text, "specials", 3, e, *out, special_line) != 0) {
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
	json_array_foreach(materials, i, m) {
		const char *blank = hall_jstr0(m, "blank"), *example = hall_jstr0(m, "example"), *note = hall_jstr0(m, "note");
		buf_addf(&b, "%s | %s", hall_jstr0(m, "name"), json_is_true(json_object_get(m, "required")) ? "必需" : "可选");
		if (*note || *blank || *example)
			buf_addf(&b, " | %s", note);
		if (*blank || *example)
			buf_addf(&b, " | %s", blank);
		if (*example)
			buf_addf(&b, " | %s", example);
		buf_addch(&b, '\n');
	}
	char *s = buf_detach(&b, NULL);
	return s ? s : xstrdup("");
}

char *hall_form_text(json_t *form)
{
	struct buf b = BUF_INIT(1u << 20);
	size_t i;
	json_t *f;
	json_array_foreach(form, i, f) {
		buf_addf(&b, "%s | %s | %s | %s", hall_jstr0(f, "name"), hall_jstr0(f, "label"), hall_jstr0(f, "type"),
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
	char *s = buf_detach(&b, NULL);
	return s ? s : xstrdup("");
}

char *hall_specials_text(json_t *specials)
{
	struct buf b = BUF_INIT(1u << 20);
	size_t i;
	json_t *s;
	json_array_foreach(specials, i, s)
		buf_addf(&b, "%s | %s | %s\n", hall_jstr0(s, "state"), hall_jstr0(s, "title"),
			 json_is_true(json_object_get(s, "counts")) ? "计时" : "不计时");
	char *t = buf_detach(&b, NULL);
	return t ? t : xstrdup("");
}

/* ---------- store ---------- */

enum item_stmt { S_INSERT, S_UPDATE, S_BY_ID, S_BY_CODE, S_LIST, S_COUNT, S_CURRENT, S_FACET_DEPTS,
		 S_FACET_TAGS, S__MAX };

#define ITEM_COLS "i.id, i.code, i.name, i.dept_id, d.name, i.kind, i.audience, i.statutory_days, " \
	"i.promised_days, i.special_steps, i.materials, i.form, i.fees, i.visits, i.depth, i.process, " \
	"i.themes, i.life_events, i.conditions, i.legal_basis, i.result_name, i.status, i.updated_at"

/* $1 q (a LIKE pattern, lower case), $2 dept, $3 theme (LIKE pattern), $4 audience, $5 admin_dept. */
#define LIST_WHERE \
	"(($5 = 0 AND i.status = 'published') OR $5 = -1 OR ($5 > 0 AND i.dept_id = $5)) " \
	"AND ($1 = '' OR LOWER(i.name) LIKE $1 ESCAPE '\\' OR LOWER(i.code) LIKE $1 ESCAPE '\\' " \
	"OR d.name LIKE $1 ESCAPE '\\' OR i.themes LIKE $1 ESCAPE '\\' OR i.life_events LIKE $1 ESCAPE '\\' " \
	"OR i.result_name LIKE $1 ESCAPE '\\') " \
	"AND ($2 = 0 OR i.dept_id = $2) " \
	"AND ($3 = '' OR i.themes LIKE $3 ESCAPE '\\' OR i.life_events LIKE $3 ESCAPE '\\') " \
	"AND ($4 = '' OR i.audience = $4 OR i.audience = 'both')"

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
		   LIST_WHERE " AND i.id > $6 ORDER BY i.id LIMIT $7",
	[S_COUNT] = "SELECT COUNT(*) FROM hall_items i JOIN departments d ON d.id = i.dept_id WHERE " LIST_WHERE,
	[S_CURRENT] = "SELECT code, status FROM hall_items WHERE id = $1",
	[S_FACET_DEPTS] = "SELECT DISTINCT d.id, d.name, d.sort FROM hall_items i JOIN departments d "
			  "ON d.id = i.dept_id WHERE i.status = 'published' ORDER BY d.sort, d.id",
	[S_FACET_TAGS] = "SELECT themes, life_events FROM hall_items WHERE status = 'published'",
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
	const char *status = store_res_text(res, i, 21);
	int depth = (int)store_res_int(res, i, 14);
	json_t *o = json_pack(
		"{s:I,s:s,s:s,s:I,s:s,s:s,s:s,s:s,s:I,s:I,s:o,s:o,s:o,s:s,s:I,s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:I}",
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
		store_res_text(res, i, 19), "result_name", store_res_text(res, i, 20), "status", status,
		"updated_at", (json_int_t)store_res_int(res, i, 22));
	json_object_set_new(o, "status_label", json_string(hall_status_label(status)));
	json_object_set_new(o, "depth_note", json_string(hall_depth_note(depth)));
	json_object_set_new(o, "published", json_boolean(strcmp(status, "published") == 0));
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

/* A LIKE pattern matching s anywhere, with %, _ and the escape character escaped;
 * ASCII letters lowered when lower is set.  "" for an empty or NULL s.  malloc'd. */
static char *like_pattern(const char *s, int lower)
{
	if (s == NULL || *s == '\0')
		return xstrdup("");
	struct buf b = BUF_INIT(4096);
	buf_addch(&b, '%');
	for (const char *p = s; *p; p++) {
		if (*p == '%' || *p == '_' || *p == '\\')
			buf_addch(&b, '\\');
		buf_addch(&b, lower && *p >= 'A' && *p <= 'Z' ? (char)(*p - 'A' + 'a') : *p);
	}
	buf_addch(&b, '%');
	char *out = buf_detach(&b, NULL);
	return out ? out : xstrdup("");
}

json_t *hall_item_list(struct store *st, const char *q, int64_t dept_id, const char *theme,
		       const char *audience, int64_t admin_dept, int64_t after, int limit)
{
	struct store_res *res = NULL;
	char *like_q = like_pattern(q, 1);
	char *like_t = like_pattern(theme, 0);
	struct sval p[] = { SVT(like_q), SVI(dept_id), SVT(like_t), SVT(audience ? audience : ""), SVI(admin_dept),
			    SVI(after), SVI(limit + 1) };
	json_t *out = NULL;
	int64_t total = 0;
	if (store_query_int(st, sql[S_COUNT], p, 5, &total) != STORE_OK)
		goto done;
	if (store_query(st, sql[S_LIST], p, 7, &res) != STORE_OK)
		goto done;
	json_t *items = json_array();
	int n = store_res_rows(res);
	for (int i = 0; i < n && i < limit; i++)
		json_array_append_new(items, item_row(res, i));
	out = json_pack("{s:o,s:o,s:I}", "items", items, "next",
			n > limit ? json_integer(store_res_int(res, limit - 1, 0)) : json_null(), "total",
			(json_int_t)total);
done:
	free(like_q);
	free(like_t);
	store_res_free(res);
	return out;
}

json_t *hall_split_tags(const char *s)
{
	static const char *const seps[] = { "、", "，", "；", "　", ",", ";", " ", "/", "\t", NULL };
	json_t *out = json_array();
	const char *p = s ? s : "";
	while (*p) {
		/* the next separator */
		const char *best = NULL;
		size_t blen = 0;
		for (int k = 0; seps[k]; k++) {
			const char *f = strstr(p, seps[k]);
			if (f && (!best || f < best)) {
				best = f;
				blen = strlen(seps[k]);
			}
		}
		size_t len = best ? (size_t)(best - p) : strlen(p);
		if (len > 0) {
			int dup = 0;
			size_t i;
			json_t *t;
			json_array_foreach(out, i, t)
				if (json_string_length(t) == len && memcmp(json_string_value(t), p, len) == 0)
					dup = 1;
			if (!dup)
				json_array_append_new(out, json_stringn(p, len));
		}
		p += len + blen;
	}
	return out;
}

static int tag_cmp(const void *a, const void *b)
{
	return strcmp(json_string_value(*(json_t *const *)a), json_string_value(*(json_t *const *)b));
}

/* Adds the tags of text to the set (a JSON array of distinct strings). */
static void add_tags(json_t *set, const char *text)
{
	json_t *tags = hall_split_tags(text);
	size_t i, k;
	json_t *t, *have;
	json_array_foreach(tags, i, t) {
		int dup = 0;
		json_array_foreach(set, k, have)
			if (json_equal(have, t))
				dup = 1;
		if (!dup && json_array_size(set) < 200)
			json_array_append(set, t);
	}
	json_decref(tags);
}

static json_t *sorted(json_t *arr)
{
	size_t n = json_array_size(arr);
	json_t **v = xcalloc(n ? n : 1, sizeof *v);
	for (size_t i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(arr, i));
	qsort(v, n, sizeof *v, tag_cmp);
	json_t *out = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(out, v[i]);
	free(v);
	json_decref(arr);
	return out;
}

json_t *hall_item_facets(struct store *st)
{
	struct store_res *res = NULL;
	json_t *depts = json_array(), *themes = json_array(), *events = json_array();
	if (store_query(st, sql[S_FACET_DEPTS], NULL, 0, &res) != STORE_OK)
		goto fail;
	for (int i = 0; i < store_res_rows(res); i++)
		json_array_append_new(depts, json_pack("{s:I,s:s}", "id", (json_int_t)store_res_int(res, i, 0),
						       "name", store_res_text(res, i, 1)));
	store_res_free(res);
	res = NULL;
	if (store_query(st, sql[S_FACET_TAGS], NULL, 0, &res) != STORE_OK)
		goto fail;
	for (int i = 0; i < store_res_rows(res); i++) {
		add_tags(themes, store_res_text(res, i, 0));
		add_tags(events, store_res_text(res, i, 1));
	}
	store_res_free(res);
	return json_pack("{s:o,s:o,s:o}", "depts", depts, "themes", sorted(themes), "life_events", sorted(events));
fail:
	store_res_free(res);
	json_decref(depts);
	json_decref(themes);
	json_decref(events);
	return NULL;
}

/* The line number (1-based) of the k-th (0-based) entry of a text list. */
static int entry_line(const char *text, size_t k)
{
	int line = 0;
	size_t seen = 0;
	const char *p = text ? text : "";
	while (*p) {
		line++;
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		size_t a = 0;
		while (a < len && (p[a] == ' ' || p[a] == '\t' || p[a] == '\r'))
			a++;
		if (a < len && p[a] != '#' && seen++ == k)
			return line;
		p += len + (nl ? 1 : 0);
	}
	return line;
}

/* Each special step must be a special state of the process. */
static int check_specials(const struct procdef *proc, const char *text, json_t *specials, struct item_err *e)
{
	size_t i;
	json_t *s;
	json_array_foreach(specials, i, s) {
		const char *state = json_string_value(json_object_get(s, "state"));
		int k = procdef_state(proc, state);
		if (k >= 0 && (proc->states[k].flags & PD_STATE_SPECIAL))
			continue;
		struct buf b = BUF_INIT(160);
		for (int j = 0; j < proc->nstates; j++)
			if (proc->states[j].flags & PD_STATE_SPECIAL)
				buf_addf(&b, "%s%s", b.len ? "、" : "", proc->states[j].name);
		char why[160];
		if (b.len)
			snprintf(why, sizeof why, "流程“%s”没有特殊环节 %s（可用：%s）", proc->title, state, b.data);
		else
			snprintf(why, sizeof why, "流程“%s”没有特殊环节，请删去此行", proc->title);
		buf_release(&b);
		return fail(e, "specials", entry_line(text, i), why);
	}
	return 0;
}

int hall_item_store(struct store *st, int64_t id, const struct hall_item_in *in, const struct procdef *proc,
		    int64_t *out_id, enum msg_id *why, struct item_err *e)
{
	json_t *materials = NULL, *form = NULL, *specials = NULL;
	char *m = NULL, *f = NULL, *s = NULL;
	struct store_res *cur = NULL;
	int rc = -1;
	memset(e, 0, sizeof *e);
	*why = MSG_HALL_ITEM_LIST_BAD;
	if (hall_parse_materials(in->materials, &materials, e) != 0 || hall_parse_form(in->form, &form, e) != 0 ||
	    hall_parse_specials(in->specials, &specials, e) != 0 ||
	    (proc != NULL && check_specials(proc, in->specials, specials, e) != 0))
		goto out;
	e->line = 0;
	e->reason[0] = '\0';
	if (in->promised_days > in->statutory_days) {
		*why = MSG_HALL_PROMISED_OVER;
		e->field = "promised_days";
		goto out;
	}
	if ((in->depth <= 3 && in->visits == 0) || (in->depth == 5 && in->visits > 0)) {
		*why = MSG_HALL_VISITS_DEPTH;
		e->field = "visits";
		goto out;
	}
	if (id != 0) {
		struct sval pc[] = { SVI(id) };
		if (store_query(st, sql[S_CURRENT], pc, 1, &cur) != STORE_OK) {
			*why = MSG_HTTP_500;
			goto out;
		}
		if (store_res_rows(cur) != 1) {
			*why = MSG_HALL_ITEM_NOT_FOUND;
			goto out;
		}
		if (strcmp(store_res_text(cur, 0, 0), in->code) != 0 && strcmp(store_res_text(cur, 0, 1), "draft") != 0) {
			*why = MSG_HALL_CODE_FIXED;
			e->field = "code";
			goto out;
		}
	}
	m = json_dumps(materials, JSON_COMPACT);
	f = json_dumps(form, JSON_COMPACT);
	s = json_dumps(specials, JSON_COMPACT);
#define OPT(x) SVT((x) ? (x) : "")
	struct sval p[] = { SVT(in->code), SVT(in->name), SVI(in->dept_id), SVT(in->kind), SVT(in->audience),
			    SVI(in->statutory_days), SVI(in->promised_days), SVT(s), SVT(m), SVT(f), OPT(in->fees),
			    SVI(in->visits), SVI(in->depth), SVT(in->process), OPT(in->themes), OPT(in->life_events),
			    OPT(in->conditions), OPT(in->legal_basis), OPT(in->result_name), SVT(in->status),
			    SVI(time(NULL)), SVI(id) };
#undef OPT
	int src;
	if (id == 0) {
		src = store_query_int(st, sql[S_INSERT], p, 21, out_id);
	} else {
		int64_t n = 0;
		src = store_exec(st, sql[S_UPDATE], p, 22, &n);
		if (src == STORE_OK && n != 1) {
			*why = MSG_HALL_ITEM_NOT_FOUND;
			goto out;
		}
		*out_id = id;
	}
	if (src == STORE_CONSTRAINT) {
		*why = MSG_HALL_CODE_TAKEN;
		e->field = "code";
		goto out;
	}
	if (src != STORE_OK) {
		*why = MSG_HTTP_500;
		goto out;
	}
	*why = MSG_NONE;
	rc = 0;
out:
	store_res_free(cur);
	free(m);
	free(f);
	free(s);
	json_decref(materials);
	json_decref(form);
	json_decref(specials);
	return rc;
}

int hall_item_save(struct req *r, int64_t id, int64_t *out_id)
{
	struct hall_item_in in = {
		req_in_str(r, "code"), req_in_str(r, "name"), req_in_int(r, "dept_id", 0), req_in_str(r, "kind"),
		req_in_str(r, "audience"), req_in_int(r, "statutory_days", 0), req_in_int(r, "promised_days", 0),
		req_in_int(r, "depth", 1), req_in_int(r, "visits", 0), req_in_str(r, "process"),
		req_in_str(r, "conditions"), req_in_str(r, "materials"), req_in_str(r, "form"),
		req_in_str(r, "specials"), req_in_str(r, "fees"), req_in_str(r, "result_name"),
		req_in_str(r, "themes"), req_in_str(r, "life_events"), req_in_str(r, "legal_basis"),
		req_in_str(r, "status"),
	};
	enum msg_id why;
	struct item_err e = { 0 };
	const struct procdef *proc = procdef_get(in.process);
	if (proc == NULL || strncmp(in.process, "hall.", 5) != 0) {
		struct input_error ie = { 400, MSG_HALL_PROCESS_UNKNOWN, "process", "" };
		resp_input_error(r, &ie);
		return -1;
	}
	if (hall_item_store(r->st, id, &in, proc, out_id, &why, &e) != 0) {
		if (why == MSG_HTTP_500 || why == MSG_HALL_ITEM_NOT_FOUND) {
			resp_error(r, why == MSG_HTTP_500 ? 500 : 404, why, NULL);
			return -1;
		}
		/* List problems name the line: a parse report in the detail. */
		struct input_error ie = { 400, why, "", "" };
		snprintf(ie.field, sizeof ie.field, "%s", e.field ? e.field : "");
		snprintf(ie.detail, sizeof ie.detail, "%s", e.reason);
		resp_input_error(r, &ie);
		return -1;
	}
	json_t *dj = json_pack("{s:s,s:s}", "code", in.code, "status", in.status);
	char *detail = json_dumps(dj, JSON_COMPACT);
	json_decref(dj);
	struct audit_entry a = { r->who.user_id, r->who.login, id ? "hall.item_update" : "hall.item_create",
				 arena_printf(r->arena, "hall_item:%lld", (long long)*out_id), in.dept_id, r->ip,
				 detail };
	int arc = audit_append(r->st, &a);
	free(detail);
	if (arc != 0) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return -1;
	}
	return 0;
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
