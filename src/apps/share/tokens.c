/*
 * tokens: department API tokens (部门接口令牌) for the department's own
 * systems calling the sharing API (core/apitoken.h).
 *
 *   GET  /share/tokens               the acting department's tokens (last use, state)
 *   POST /share/tokens               create one: the clear token is shown once, here
 *   POST /share/tokens/{id}/revoke   revoke one
 *
 * Only administrators of the department manage its tokens.  Audited
 * "token.create" and "token.revoke" (never the token itself).
 */
#include "apps/share/share_int.h"
#include "core/apitoken.h"
#include "core/audit.h"
#include "core/calendar.h"
#include "core/log.h"
#include "core/xalloc.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char sql_is_admin[] =
	"SELECT COUNT(*) FROM user_roles WHERE user_id = $1 AND dept_id = $2 AND role = 'dept_admin'";
static const char sql_dept_name[] = "SELECT name FROM departments WHERE id = $1";
static const char sql_dept_id[] = "SELECT id FROM departments WHERE code = $1";
static const char sql_user_id[] = "SELECT id FROM users WHERE login = $1";
static const char sql_admin_depts[] =
	"SELECT d.id, d.name FROM user_roles r JOIN departments d ON d.id = r.dept_id "
	"WHERE r.user_id = $1 AND r.role = 'dept_admin' ORDER BY d.id";

static const char *time_text(struct req *r, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	char s[32];
	if (t <= 0 || localtime_r(&tt, &tm) == NULL || strftime(s, sizeof s, "%Y-%m-%d %H:%M", &tm) == 0)
		return "";
	return arena_strdup(r->arena, s);
}

/* The department whose tokens r's user manages: the acting one, if administered; 0 otherwise. */
static int64_t admin_dept(struct req *r)
{
	int64_t dept = share_acting_dept(r), n = 0;
	if (dept == 0)
		return 0;
	struct sval p[] = { SVI(r->who.user_id), SVI(dept) };
	if (store_query_int(r->st, sql_is_admin, p, 2, &n) == STORE_OK && n > 0)
		return dept;
	/* Acting for a department they do not administer: the first one they do. */
	struct store_res *res = NULL;
	struct sval q[] = { SVI(r->who.user_id) };
	int64_t out = 0;
	if (store_query(r->st, sql_admin_depts, q, 1, &res) == STORE_OK && store_res_rows(res) > 0 &&
	    (json_object_get(r->in, "dept") == NULL && req_query(r, "dept") == NULL))
		out = store_res_int(res, 0, 0);
	store_res_free(res);
	return out;
}

static json_t *page_ctx(struct req *r, int64_t dept)
{
	json_t *list = apitoken_list(r->st, dept, time(NULL));
	if (list == NULL)
		return NULL;
	static const struct { const char *s, *t; } titles[] = {
		{ "active", "有效" }, { "revoked", "已吊销" }, { "expired", "已过期" } };
	size_t i;
	json_t *o;
	json_array_foreach(list, i, o) {
		const char *st = json_string_value(json_object_get(o, "state"));
		for (size_t k = 0; k < sizeof titles / sizeof titles[0]; k++)
			if (st && strcmp(st, titles[k].s) == 0)
				json_object_set_new(o, "state_title", json_string(titles[k].t));
		json_object_set_new(o, "active", json_boolean(st && strcmp(st, "active") == 0));
		json_object_set_new(o, "created_text",
				    json_string(time_text(r, json_integer_value(json_object_get(o, "created_at")))));
		json_t *lu = json_object_get(o, "last_used_at");
		json_object_set_new(o, "last_used_text", json_string(json_is_integer(lu) ? time_text(r, json_integer_value(lu))
											 : "从未使用"));
		json_t *ex = json_object_get(o, "expires_at");
		json_object_set_new(o, "expires_text", json_string(json_is_integer(ex) ? time_text(r, json_integer_value(ex))
										       : "长期有效"));
	}
	struct store_res *res = NULL;
	struct sval p[] = { SVI(dept) };
	const char *name = "";
	if (store_query(r->st, sql_dept_name, p, 1, &res) == STORE_OK && store_res_rows(res) == 1)
		name = arena_strdup(r->arena, store_res_text(res, 0, 0));
	store_res_free(res);
	json_t *depts = json_array();
	struct sval q[] = { SVI(r->who.user_id) };
	if (store_query(r->st, sql_admin_depts, q, 1, &res) == STORE_OK)
		for (int k = 0; k < store_res_rows(res); k++)
			json_array_append_new(depts, json_pack("{s:I,s:s,s:b}", "id", (json_int_t)store_res_int(res, k, 0),
							       "name", store_res_text(res, k, 1), "selected",
							       store_res_int(res, k, 0) == dept));
	store_res_free(res);
	json_t *ctx = json_pack("{s:s,s:I,s:s,s:o}", "title", "部门接口令牌", "dept_id", (json_int_t)dept, "dept_name",
				name, "tokens", list);
	json_object_set_new(ctx, "show_depts", json_boolean(json_array_size(depts) > 1));
	json_object_set_new(ctx, "depts", depts);
	json_object_set_new(ctx, "switch_action", json_string("/share/tokens"));
	json_object_set_new(ctx, "registries", registry_list(r->st));
	return ctx;
}

static void render(struct req *r, int64_t dept, int status, json_t *extra)
{
	if (status >= 400 && store_in_tx(r->st))
		store_rollback(r->st);
	json_t *ctx = page_ctx(r, dept);
	if (ctx == NULL) {
		json_decref(extra);
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	if (extra != NULL)
		json_object_update(ctx, extra);
	json_decref(extra);
	resp_page(r, status, "share/token_list", ctx);
}

/* GET /share/tokens?dept= */
static void page_tokens(struct req *r)
{
	int64_t dept = admin_dept(r);
	if (dept == 0) {
		resp_error(r, 403, MSG_TOKEN_NOT_ADMIN, NULL);
		return;
	}
	const char *done = req_in_str(r, "done");
	render(r, dept, 200, done ? json_pack("{s:s}", "done", "令牌已吊销，使用它的系统将无法再访问。") : NULL);
}

static json_t *form_error(const char *field, const char *message, json_t *values)
{
	return json_pack("{s:{s:s,s:s},s:{s:s},s:O}", "error", "field", field, "message", message, "errors", field,
			 message, "values", values);
}

/* POST /share/tokens  name, scopes, expires (YYYY-MM-DD, optional), dept */
static void do_create(struct req *r)
{
	int64_t dept = admin_dept(r);
	if (dept == 0) {
		resp_error(r, 403, MSG_TOKEN_NOT_ADMIN, NULL);
		return;
	}
	const char *name = req_in_str(r, "name");
	const char *scopes = req_in_str(r, "scopes");
	const char *expires = req_in_str(r, "expires");
	/* "population, enterprise" is accepted as "population,enterprise". */
	char *sc = arena_alloc(r->arena, strlen(scopes) + 1);
	size_t n = 0;
	for (const char *p = scopes; *p; p++)
		if (*p != ' ' && *p != '\t')
			sc[n++] = *p;
	sc[n] = '\0';
	if (!apitoken_scopes_valid(sc)) {
		render(r, dept, 400, form_error("scopes", msg(MSG_TOKEN_BAD_SCOPE), r->in));
		return;
	}
	int64_t exp = 0;
	if (expires != NULL && *expires) {
		cal_day d;
		if (cal_day_parse(expires, &d) != 0 || d <= cal_day_of(time(NULL))) {
			render(r, dept, 400, form_error("expires", msg(MSG_TOKEN_BAD_EXPIRY), r->in));
			return;
		}
		/* Valid through the given day (local midnight after it). */
		int y, m, dd;
		cal_day_to_ymd(d + 1, &y, &m, &dd);
		struct tm tm = { 0 };
		tm.tm_year = y - 1900;
		tm.tm_mon = m - 1;
		tm.tm_mday = dd;
		tm.tm_isdst = -1;
		exp = (int64_t)mktime(&tm);
	}
	int64_t id = 0;
	char clear[APITOKEN_MAX];
	int rc = apitoken_create(r->st, http_ctx()->keys, dept, name, sc, exp, r->who.user_id, &id, clear);
	if (rc < 0) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	if (rc > 0) {
		render(r, dept, 400, form_error("name", msg(MSG_TOKEN_NAME_TAKEN), r->in));
		return;
	}
	char obj[48];
	snprintf(obj, sizeof obj, "api_token:%lld", (long long)id);
	json_t *det = json_pack("{s:s,s:s,s:I}", "name", name, "scopes", sc, "expires_at", (json_int_t)exp);
	char *dt = json_dumps(det, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(det);
	struct audit_entry e = { r->who.user_id, r->who.login, "token.create", obj, dept, r->ip, dt };
	int arc = audit_append(r->st, &e);
	free(dt);
	if (arc != 0) {
		sodium_memzero(clear, sizeof clear);
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	/* Shown once: this answer is the only place the clear token ever appears. */
	json_t *extra = json_pack("{s:{s:I,s:s,s:s}}", "created", "id", (json_int_t)id, "name", name, "token", clear);
	sodium_memzero(clear, sizeof clear);
	render(r, dept, 200, extra);
}

/* POST /share/tokens/{id}/revoke  dept */
static void do_revoke(struct req *r)
{
	int64_t id = 0;
	if (req_param_id(r, "id", &id) != 0)
		return;
	int64_t dept = admin_dept(r);
	if (dept == 0) {
		resp_error(r, 403, MSG_TOKEN_NOT_ADMIN, NULL);
		return;
	}
	int rc = apitoken_revoke(r->st, id, dept, r->who.user_id, time(NULL));
	if (rc < 0) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	if (rc > 0) {
		resp_error(r, 404, MSG_TOKEN_NOT_FOUND, NULL);
		return;
	}
	char obj[48];
	snprintf(obj, sizeof obj, "api_token:%lld", (long long)id);
	struct audit_entry e = { r->who.user_id, r->who.login, "token.revoke", obj, dept, r->ip, NULL };
	if (audit_append(r->st, &e) != 0) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	resp_redirect(r, arena_printf(r->arena, "/share/tokens?dept=%lld&done=revoke", (long long)dept));
}

/* The demo's token of 民政局 for its own system; its clear value is not kept anywhere. */
int share_token_demo(struct store *st, const struct keys *k)
{
	int64_t mca = 0, sun = 0, id = 0;
	struct sval p[] = { SVT("mca") }, q[] = { SVT("sun.mca") };
	if (store_query_int(st, sql_dept_id, p, 1, &mca) != STORE_OK ||
	    store_query_int(st, sql_user_id, q, 1, &sun) != STORE_OK)
		return 0;   /* not there: nothing to seed */
	char clear[APITOKEN_MAX];
	int rc = apitoken_create(st, k, mca, "民政业务系统", "population", 0, sun, &id, clear);
	sodium_memzero(clear, sizeof clear);
	if (rc < 0)
		return -1;
	if (rc > 0)
		return 0;
	char obj[48];
	snprintf(obj, sizeof obj, "api_token:%lld", (long long)id);
	struct audit_entry e = { 0, "system", "token.create", obj, mca, NULL,
				 "{\"demo\":true,\"name\":\"民政业务系统\",\"scopes\":\"population\"}" };
	return audit_append(st, &e) == 0 ? 0 : -1;
}

static const struct field_spec fs_list[] = {
	{ "dept", FT_INT, 0, 1, INT64_MAX, NULL, "部门" },
	{ "done", FT_TEXT, 0, 0, 20, NULL, "结果" },
	{ NULL },
};

static const struct field_spec fs_create[] = {
	{ "dept", FT_INT, 0, 1, INT64_MAX, NULL, "部门" },
	{ "name", FT_TEXT, FS_REQUIRED, 1, APITOKEN_NAME_MAX, NULL, "令牌名称" },
	{ "scopes", FT_TEXT, FS_REQUIRED, 1, APITOKEN_SCOPES_MAX, NULL, "授权范围" },
	{ "expires", FT_DATE, 0, 0, 0, NULL, "有效期至" },
	{ NULL },
};

static const struct field_spec fs_revoke[] = {
	{ "dept", FT_INT, 0, 1, INT64_MAX, NULL, "部门" },
	{ NULL },
};

static void create_fill(struct req *r, json_t *ctx)
{
	int64_t dept = admin_dept(r);
	json_t *base = dept ? page_ctx(r, dept) : NULL;
	if (base == NULL)
		return;
	const char *k;
	json_t *v;
	json_object_foreach(base, k, v)
		if (json_object_get(ctx, k) == NULL)
			json_object_set(ctx, k, v);
	json_decref(base);
}

const struct route share_token_routes[] = {
	{ HM_GET, "/share/tokens", page_tokens, ROLE_DEPT_ADMIN, 0, fs_list, NULL, NULL,
	  "The department's API tokens" },
	{ HM_POST, "/share/tokens", do_create, ROLE_DEPT_ADMIN, RF_CSRF, fs_create, "share/token_list", create_fill,
	  "Create an API token (its clear value is shown once)" },
	{ HM_POST, "/share/tokens/{id}/revoke", do_revoke, ROLE_DEPT_ADMIN, RF_CSRF, fs_revoke, NULL, NULL,
	  "Revoke an API token" },
	{ 0, NULL, NULL, 0, 0, NULL, NULL, NULL, NULL },
};
