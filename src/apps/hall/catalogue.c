/*
 * catalogue: the pages and API of the service-item catalogue.
 *
 *   /hall                    the public catalogue: search, filters, pages
 *   /hall/items/{code}       an item's service guide (办事指南)
 *   /admin/hall/items...     department admins list, create and edit their items
 *   /api/v1/hall/items...    the same as JSON
 *
 * The public sees published items only; a department's admins (and platform
 * admins) also see its drafts and retired items.  Each handler documents
 * the context its template receives (besides user, csrf, path).
 */
#include "apps/hall/hall.h"
#include "apps/hall/hall_int.h"
#include "apps/hall/items.h"
#include "core/account.h"
#include "core/dept.h"
#include "core/xalloc.h"

#include <stdlib.h>
#include <string.h>

#define CATALOGUE_PAGE 20
#define ADMIN_PAGE 50

/* May r's user administer dept's items (its dept admin, or a platform admin)? */
static int can_admin(struct req *r, int64_t dept)
{
	if (r->who.user_id == 0 || r->who.half || dept <= 0)
		return 0;
	if (r->who.roles & ROLEBIT_PLATFORM_ADMIN)
		return 1;
	if (!(r->who.roles & ROLEBIT_DEPT_ADMIN))
		return 0;
	return account_has_role(r->st, r->who.user_id, dept, "dept_admin") == 1;
}

/* Marks {"selected": true} on the element of arr whose key equals want. */
static void mark_int(json_t *arr, const char *key, int64_t want)
{
	size_t i;
	json_t *o;
	json_array_foreach(arr, i, o)
		json_object_set_new(o, "selected", json_boolean(hall_jint(o, key) == want));
}

/* [{value, selected}] from strings. */
static json_t *options(json_t *values, const char *want)
{
	json_t *out = json_array();
	size_t i;
	json_t *v;
	json_array_foreach(values, i, v)
		json_array_append_new(out, json_pack("{s:O,s:b}", "value", v, "selected",
						     want != NULL && strcmp(json_string_value(v), want) == 0));
	return out;
}

/* ---------- public ---------- */

/* GET /hall  ctx: page {items, next, total}, values {q, theme, audience, dept}, depts, themes,
 * life_events (filter options with selected), filtered, next_href */
void hall_page_catalogue(struct req *r)
{
	const char *q = req_in_str(r, "q"), *theme = req_in_str(r, "theme"), *aud = req_in_str(r, "audience");
	int64_t dept = req_in_int(r, "dept", 0), after = req_in_int(r, "after", 0);
	int limit = (int)req_in_int(r, "limit", CATALOGUE_PAGE);
	json_t *page = hall_item_list(r->st, q, dept, theme, aud, 0, after, limit);
	json_t *facets = hall_item_facets(r->st);
	if (page == NULL || facets == NULL) {
		json_decref(page);
		json_decref(facets);
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	json_t *depts = json_incref(json_object_get(facets, "depts"));
	mark_int(depts, "id", dept);
	json_t *ctx = json_pack("{s:s,s:o,s:o,s:o,s:o,s:b,s:b}", "title", "网上办事", "page", page, "depts", depts,
				"themes", options(json_object_get(facets, "themes"), theme), "life_events",
				options(json_object_get(facets, "life_events"), theme), "filtered",
				q || theme || aud || dept, "first_page", after == 0);
	json_object_set_new(ctx, "has_themes", json_boolean(json_array_size(json_object_get(facets, "themes"))));
	json_object_set_new(ctx, "has_life_events",
			    json_boolean(json_array_size(json_object_get(facets, "life_events"))));
	json_decref(facets);
	json_object_set(ctx, "values", r->in);
	json_t *next = json_object_get(page, "next");
	if (json_is_integer(next)) {
		struct buf b = BUF_INIT(4096);
		buf_addf(&b, "/hall?after=%lld", (long long)json_integer_value(next));
		if (q)
			buf_addf(&b, "&q=%s", req_url_encode(r, q));
		if (dept)
			buf_addf(&b, "&dept=%lld", (long long)dept);
		if (theme)
			buf_addf(&b, "&theme=%s", req_url_encode(r, theme));
		if (aud)
			buf_addf(&b, "&audience=%s", aud);
		if (json_object_get(r->in, "limit") != NULL)
			buf_addf(&b, "&limit=%d", limit);
		json_object_set_new(ctx, "next_href", json_string(b.data ? b.data : "/hall"));
		buf_release(&b);
	}
	resp_page(r, 200, "hall/catalogue", ctx);
}

/* Lines of a multi-line text that are not blank. */
static json_t *lines(const char *text)
{
	json_t *out = json_array();
	const char *p = text ? text : "";
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		size_t a = 0, z = len;
		while (a < z && (p[a] == ' ' || p[a] == '\t' || p[a] == '\r'))
			a++;
		while (z > a && (p[z - 1] == ' ' || p[z - 1] == '\t' || p[z - 1] == '\r'))
			z--;
		if (z > a)
			json_array_append_new(out, json_stringn(p + a, z - a));
		p += len + (nl ? 1 : 0);
	}
	return out;
}

/* n with thousands separators ("100,000,000"), in the arena. */
static const char *grouped(struct req *r, json_int_t n)
{
	char digits[32], *out = arena_alloc(r->arena, 48), *o = out;
	int len = snprintf(digits, sizeof digits, "%lld", (long long)n);
	for (int i = 0; i < len; i++) {
		if (i > 0 && digits[i - 1] != '-' && (len - i) % 3 == 0)
			*o++ = ',';
		*o++ = digits[i];
	}
	*o = '\0';
	return out;
}

/* [{name, href}]: each tag of text with the catalogue filtered by it. */
static json_t *tag_links(struct req *r, const char *text)
{
	json_t *tags = hall_split_tags(text), *out = json_array();
	size_t i;
	json_t *t;
	json_array_foreach(tags, i, t)
		json_array_append_new(out, json_pack("{s:O,s:s}", "name", t, "href",
						     arena_printf(r->arena, "/hall?theme=%s",
								  req_url_encode(r, json_string_value(t)))));
	json_decref(tags);
	return out;
}

/* Adds what the guide page shows besides the item's own fields. */
static void guide_decorate(struct req *r, json_t *item)
{
	size_t i;
	json_t *f;
	json_array_foreach(json_object_get(item, "form"), i, f) {
		const char *type = hall_jstr0(f, "type");
		json_object_set_new(f, "type_label", json_string(hall_form_type_label(type)));
		json_t *max = json_object_get(f, "max"), *ch = json_object_get(f, "choices");
		const char *limit = "";
		if (json_is_array(ch)) {
			struct buf b = BUF_INIT(8192);
			size_t k;
			json_t *c;
			json_array_foreach(ch, k, c)
				buf_addf(&b, "%s%s", k ? "、" : "", json_string_value(c));
			limit = arena_printf(r->arena, "可选：%s", b.data ? b.data : "");
			buf_release(&b);
		} else if (json_is_integer(max) && strcmp(type, "int") == 0) {
			limit = arena_printf(r->arena, "不超过 %s", grouped(r, json_integer_value(max)));
		} else if (json_is_integer(max)) {
			limit = arena_printf(r->arena, "最多 %lld 字", (long long)json_integer_value(max));
		}
		json_object_set_new(f, "limit_text", json_string(limit));
	}
	int64_t required = 0;
	json_t *m;
	json_array_foreach(json_object_get(item, "materials"), i, m)
		required += json_is_true(json_object_get(m, "required"));
	int depth = (int)hall_jint(item, "depth");
	json_t *meter = json_array();
	for (int k = 1; k <= 5; k++)
		json_array_append_new(meter, json_pack("{s:i,s:b}", "level", k, "on", k <= depth));
	json_object_set_new(item, "depth_meter", meter);
	json_object_set_new(item, "required_count", json_integer(required));
	json_object_set_new(item, "material_count", json_integer((json_int_t)json_array_size(json_object_get(item, "materials"))));
	json_object_set_new(item, "theme_tags", tag_links(r, hall_jstr0(item, "themes")));
	json_object_set_new(item, "life_event_tags", tag_links(r, hall_jstr0(item, "life_events")));
	json_object_set_new(item, "condition_lines", lines(hall_jstr0(item, "conditions")));
	json_object_set_new(item, "legal_lines", lines(hall_jstr0(item, "legal_basis")));
	json_object_set_new(item, "process_label", json_string(hall_process_label(hall_jstr0(item, "process"))));
	json_object_set_new(item, "zero_visits", json_boolean(hall_jint(item, "visits") == 0));
	json_object_set_new(item, "same_limits",
			    json_boolean(hall_jint(item, "statutory_days") == hall_jint(item, "promised_days")));
	json_object_set_new(item, "has_materials", json_boolean(json_array_size(json_object_get(item, "materials"))));
	json_object_set_new(item, "has_form", json_boolean(json_array_size(json_object_get(item, "form"))));
	json_object_set_new(item, "has_specials",
			    json_boolean(json_array_size(json_object_get(item, "special_steps"))));
}

/* Whether and how r's user can apply online: {online, can, href, need_login, wrong_kind, kind_label,
 * login_href}. */
static json_t *apply_ctx(struct req *r, json_t *item)
{
	const char *aud = hall_jstr0(item, "audience"), *code = hall_jstr0(item, "code");
	int online = hall_jint(item, "depth") >= 3 && json_is_true(json_object_get(item, "published"));
	int signed_in = r->who.user_id != 0 && !r->who.half;
	int fits = signed_in && ((r->who.kind == ACCT_CITIZEN && strcmp(aud, "enterprise") != 0) ||
				 (r->who.kind == ACCT_ENTERPRISE && strcmp(aud, "person") != 0));
	const char *kind_label = strcmp(aud, "person") == 0 ? "个人" : strcmp(aud, "enterprise") == 0 ? "法人"
												   : "个人或法人";
	return json_pack("{s:b,s:b,s:s,s:b,s:b,s:s,s:s}", "online", online, "can", online && fits, "href",
			 arena_printf(r->arena, "/hall/items/%s/apply", code), "need_login", online && !signed_in,
			 "wrong_kind", online && signed_in && !fits, "kind_label", kind_label, "login_href",
			 arena_printf(r->arena, "/login?next=/hall/items/%s", code));
}

/* The item by code for r: published, or any status for its department's admins.
 * NULL after answering 404. *admin says whether r's user administers it. */
static json_t *visible_item(struct req *r, const char *code, int *admin)
{
	json_t *item = code ? hall_item_json(r->st, 0, code) : NULL;
	*admin = item != NULL && can_admin(r, hall_jint(item, "dept_id"));
	if (item == NULL || (!json_is_true(json_object_get(item, "published")) && !*admin)) {
		json_decref(item);
		resp_error(r, 404, MSG_HALL_ITEM_NOT_FOUND, NULL);
		return NULL;
	}
	return item;
}

/* GET /hall/items/{code}  ctx: item (decorated), apply, admin, preview */
void hall_page_guide(struct req *r)
{
	int admin = 0;
	json_t *item = visible_item(r, req_param(r, "code"), &admin);
	if (item == NULL)
		return;
	guide_decorate(r, item);
	json_t *ctx = json_pack("{s:O,s:o,s:b,s:b}", "title", json_object_get(item, "name"), "apply",
				apply_ctx(r, item), "admin", admin, "preview",
				!json_is_true(json_object_get(item, "published")));
	json_object_set_new(ctx, "item", item);
	resp_page(r, 200, "hall/guide", ctx);
}

/* ---------- department admins ---------- */

/* GET /admin/hall/items  ctx: page {items, next, total}, depts (selectable, with selected), all
 * (platform admin: "every department" offered), all_selected, next_href, dept_name */
void hall_page_admin_items(struct req *r)
{
	json_t *depts = hall_user_depts(r, 0);
	if (depts == NULL) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	int platform = (r->who.roles & ROLEBIT_PLATFORM_ADMIN) != 0;
	int64_t dept = req_in_int(r, "dept", 0), scope;
	if (dept != 0 && !can_admin(r, dept)) {
		json_decref(depts);
		resp_error(r, 403, MSG_NOT_YOUR_DEPT, "dept");
		return;
	}
	if (dept != 0)
		scope = dept;
	else if (platform)
		scope = -1;
	else
		scope = json_array_size(depts) ? hall_jint(json_array_get(depts, 0), "id") : 0;
	mark_int(depts, "id", scope);
	json_t *page = scope != 0 ? hall_item_list(r->st, NULL, 0, NULL, NULL, scope, req_in_int(r, "after", 0),
						   ADMIN_PAGE)
				  : json_pack("{s:[],s:n,s:i}", "items", "next", "total", 0);
	if (page == NULL) {
		json_decref(depts);
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	json_t *ctx = json_pack("{s:s,s:o,s:o,s:b,s:b,s:b}", "title", "事项管理", "page", page, "depts", depts,
				"all", platform, "all_selected", scope == -1, "show_filter",
				platform || json_array_size(depts) > 1);
	json_t *next = json_object_get(page, "next");
	if (json_is_integer(next))
		json_object_set_new(ctx, "next_href",
				    json_string(arena_printf(r->arena, "/admin/hall/items?after=%lld%s%s",
							     (long long)json_integer_value(next), dept ? "&dept=" : "",
							     dept ? arena_printf(r->arena, "%lld", (long long)dept) : "")));
	resp_page(r, 200, "hall/admin_items", ctx);
}

/* Adds what hall/item_form needs besides values: depts, kinds, depths, processes (each with
 * selected), id and item when editing. */
void hall_item_form_fill(struct req *r, json_t *ctx)
{
	json_t *values = json_object_get(ctx, "values");
	json_t *depts = hall_user_depts(r, 0);
	if (depts == NULL)
		depts = json_array();
	mark_int(depts, "id", hall_jint(values, "dept_id"));
	json_object_set_new(ctx, "depts", depts);
	const char *kind = hall_jstr0(values, "kind"), *process = hall_jstr0(values, "process");
	json_t *kinds = json_array();
	for (int k = 0; hall_kinds[k]; k++)
		json_array_append_new(kinds, json_pack("{s:s,s:b}", "value", hall_kinds[k], "selected",
						       strcmp(kind, hall_kinds[k]) == 0));
	json_object_set_new(ctx, "kinds", kinds);
	json_t *depths = json_array();
	int64_t depth = hall_jint(values, "depth");
	for (int d = 1; d <= 5; d++)
		json_array_append_new(depths, json_pack("{s:i,s:s,s:s,s:b}", "value", d, "label", hall_depth_label(d),
							"note", hall_depth_note(d), "selected", depth == d));
	json_object_set_new(ctx, "depths", depths);
	json_t *procs = json_array();
	for (int k = 0; hall_processes[k]; k++)
		json_array_append_new(procs, json_pack("{s:s,s:s,s:b}", "value", hall_processes[k], "label",
						       hall_process_label(hall_processes[k]), "selected",
						       strcmp(process, hall_processes[k]) == 0));
	json_object_set_new(ctx, "processes", procs);
	const char *id = req_param(r, "id");
	if (id != NULL && json_object_get(ctx, "id") == NULL)
		json_object_set_new(ctx, "id", json_string(id));
	if (id != NULL && json_object_get(ctx, "item") == NULL) {
		/* Not req_param_id: this may run while an input error is being answered. */
		char *end = NULL;
		long long n = strtoll(id, &end, 10);
		json_t *item = end != id && *end == '\0' && n > 0 ? hall_item_json(r->st, n, NULL) : NULL;
		if (item != NULL)
			json_object_set_new(ctx, "item", item);
	}
	if (json_object_get(ctx, "title") == NULL)
		json_object_set_new(ctx, "title", json_string(id ? "修改事项" : "新建事项"));
}

/* GET /admin/hall/items/new  ctx: values (defaults), as hall_item_form_fill */
void hall_page_item_new(struct req *r)
{
	json_t *depts = hall_user_depts(r, 0);
	int64_t first = json_array_size(depts) ? hall_jint(json_array_get(depts, 0), "id") : 0;
	json_decref(depts);
	json_t *ctx = json_pack("{s:s,s:{s:I,s:s,s:s,s:i,s:i,s:i,s:i,s:s,s:s}}", "title", "新建事项", "values",
				"dept_id", (json_int_t)first, "kind", "行政许可", "audience", "person",
				"statutory_days", 20, "promised_days", 10, "depth", 3, "visits", 1, "process",
				"hall.standard", "status", "draft");
	hall_item_form_fill(r, ctx);
	resp_page(r, 200, "hall/item_form", ctx);
}

/*
 * Checks that r's user may write the item (its current department when
 * updating, and the department it is saved under) and saves it.  0 with *out,
 * or -1 after answering.
 */
static int item_write(struct req *r, int64_t id, int64_t *out)
{
	if (id != 0) {
		json_t *cur = hall_item_json(r->st, id, NULL);
		if (cur == NULL) {
			resp_error(r, 404, MSG_HALL_ITEM_NOT_FOUND, NULL);
			return -1;
		}
		int64_t cur_dept = hall_jint(cur, "dept_id");
		json_decref(cur);
		if (!can_admin(r, cur_dept)) {
			resp_error(r, 403, MSG_NOT_YOUR_DEPT, "dept_id");
			return -1;
		}
	}
	int64_t dept = req_in_int(r, "dept_id", 0);
	json_t *d = dept_json(r->st, dept);
	if (d == NULL) {
		struct input_error e = { 400, MSG_DEPT_NOT_FOUND, "dept_id", "" };
		resp_input_error(r, &e);
		return -1;
	}
	json_decref(d);
	if (!can_admin(r, dept)) {
		resp_error(r, 403, MSG_NOT_YOUR_DEPT, "dept_id");
		return -1;
	}
	return hall_item_save(r, id, out);
}

/* POST /admin/hall/items/new */
void hall_do_item_new(struct req *r)
{
	int64_t id = 0;
	if (item_write(r, 0, &id) == 0)
		resp_redirect(r, arena_printf(r->arena, "/admin/hall/items/%lld?saved=1", (long long)id));
}

/* GET /admin/hall/items/{id}  ctx: item, values (the item, lists as text), saved, as hall_item_form_fill */
void hall_page_item_edit(struct req *r)
{
	int64_t id;
	if (req_param_id(r, "id", &id) != 0)
		return;
	json_t *item = hall_item_json(r->st, id, NULL);
	if (item == NULL) {
		resp_error(r, 404, MSG_HALL_ITEM_NOT_FOUND, NULL);
		return;
	}
	if (!can_admin(r, hall_jint(item, "dept_id"))) {
		json_decref(item);
		resp_error(r, 403, MSG_NOT_YOUR_DEPT, NULL);
		return;
	}
	static const char *const copy[] = { "code", "name", "dept_id", "kind", "audience", "statutory_days",
					     "promised_days", "depth", "visits", "process", "conditions", "fees",
					     "result_name", "themes", "life_events", "legal_basis", "status", NULL };
	json_t *values = json_object();
	for (int k = 0; copy[k]; k++)
		json_object_set(values, copy[k], json_object_get(item, copy[k]));
	char *m = hall_materials_text(json_object_get(item, "materials"));
	char *f = hall_form_text(json_object_get(item, "form"));
	char *s = hall_specials_text(json_object_get(item, "special_steps"));
	json_object_set_new(values, "materials", json_string(m));
	json_object_set_new(values, "form", json_string(f));
	json_object_set_new(values, "specials", json_string(s));
	free(m);
	free(f);
	free(s);
	json_t *ctx = json_pack("{s:s,s:o,s:o,s:b}", "title", "修改事项", "item", item, "values", values, "saved",
				req_in_str(r, "saved") != NULL);
	hall_item_form_fill(r, ctx);
	resp_page(r, 200, "hall/item_form", ctx);
}

/* POST /admin/hall/items/{id} */
void hall_do_item_edit(struct req *r)
{
	int64_t id, out = 0;
	if (req_param_id(r, "id", &id) != 0)
		return;
	if (item_write(r, id, &out) == 0)
		resp_redirect(r, arena_printf(r->arena, "/admin/hall/items/%lld?saved=1", (long long)id));
}

/* ---------- API ---------- */

/* GET /api/v1/hall/items */
void hall_api_items(struct req *r)
{
	json_t *page = hall_item_list(r->st, req_in_str(r, "q"), req_in_int(r, "dept", 0), req_in_str(r, "theme"),
				      req_in_str(r, "audience"), 0, req_in_int(r, "after", 0),
				      (int)req_in_int(r, "limit", CATALOGUE_PAGE));
	if (page == NULL) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	resp_json(r, 200, page);
}

/* GET /api/v1/hall/items/{code} */
void hall_api_item(struct req *r)
{
	int admin = 0;
	json_t *item = visible_item(r, req_param(r, "code"), &admin);
	if (item != NULL)
		resp_json(r, 200, item);
}

static void api_saved(struct req *r, int64_t id, int status)
{
	json_t *item = hall_item_json(r->st, id, NULL);
	if (item == NULL) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	r->location = arena_printf(r->arena, "/api/v1/hall/items/%s", hall_jstr0(item, "code"));
	resp_json(r, status, item);
}

/* POST /api/v1/hall/items */
void hall_api_item_create(struct req *r)
{
	int64_t id = 0;
	if (item_write(r, 0, &id) == 0)
		api_saved(r, id, 201);
}

/* PUT /api/v1/hall/items/{id} */
void hall_api_item_update(struct req *r)
{
	int64_t id, out = 0;
	if (req_param_id(r, "id", &id) != 0)
		return;
	if (item_write(r, id, &out) == 0)
		api_saved(r, id, 200);
}
