/*
 * Public pages, sign-in, registration, desks and the account page.
 * Each handler documents the context its template receives (besides what
 * page_ctx_fill adds: user, csrf, path).
 */
#include "apps/portal/portal.h"
#include "apps/portal/portal_int.h"
#include "core/account.h"
#include "core/audit.h"
#include "core/auth.h"
#include "core/crypto.h"
#include "core/dept.h"
#include "core/desk.h"
#include "core/jobs.h"
#include "core/log.h"
#include "core/validate.h"
#include "core/xalloc.h"

#include <stdlib.h>
#include <string.h>

int portal_audit(struct req *r, const char *action, const char *object, int64_t dept_id,
		 const char *detail)
{
	struct audit_entry e = { r->who.user_id, r->who.login ? r->who.login : "anonymous", action,
				 object, dept_id, r->ip, detail };
	if (audit_append(r->st, &e) == 0)
		return 0;
	resp_error(r, 500, MSG_HTTP_500, NULL);
	return -1;
}

const char *portal_one_time_password(struct req *r)
{
	static const char alpha[] = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
	char *pw = arena_alloc(r->arena, 17);
	for (int i = 0; i < 16; i++)
		pw[i] = alpha[random_uniform(sizeof alpha - 1)];
	return pw;
}

int portal_can_admin_dept(struct req *r, int64_t dept_id)
{
	if (r->who.roles & ROLEBIT_PLATFORM_ADMIN)
		return 1;
	return account_has_role(r->st, r->who.user_id, dept_id, "dept_admin");
}

static int enroll_ctx(struct req *r, json_t *ctx);

/* A safe local redirect target: an absolute path on this site, nothing else. */
static const char *safe_next(const char *next)
{
	if (next == NULL || next[0] != '/' || next[1] == '/' || next[1] == '\\' || strchr(next, ':'))
		return "/desk";
	return next;
}

/* GET /  ctx: depts (tree, first levels) */
void page_home(struct req *r)
{
	json_t *tree = dept_tree(r->st);
	if (tree == NULL) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	json_t *top = json_array();
	size_t i;
	json_t *d;
	json_array_foreach(tree, i, d)
		if (json_integer_value(json_object_get(d, "depth")) <= 1)
			json_array_append(top, d);
	json_decref(tree);
	resp_page(r, 200, "portal/home", json_pack("{s:s,s:o}", "title", "首页", "depts", top));
}

/* GET /login  ctx: values.next */
void page_login(struct req *r)
{
	json_t *ctx = json_pack("{s:s}", "title", "登录");
	json_object_set(ctx, "values", r->in);
	resp_page(r, 200, "portal/login", ctx);
}

static void login_failed(struct req *r, enum auth_result res)
{
	enum msg_id why = res == AUTH_LOCKED ? MSG_LOGIN_LOCKED
			  : res == AUTH_DISABLED ? MSG_LOGIN_DISABLED
			  : res == AUTH_ERROR ? MSG_HTTP_500 : MSG_LOGIN_BAD;
	int status = res == AUTH_LOCKED ? 429 : res == AUTH_ERROR ? 500 : 401;
	if (res == AUTH_ERROR)
		r->keep_tx = 0;
	if (r->is_api) {
		resp_error(r, status, why, res == AUTH_BAD ? "password" : NULL);
		return;
	}
	json_t *ctx = json_pack("{s:s,s:{s:s,s:s}}", "title", "登录", "error", "field", "password",
				"message", msg(why));
	json_t *values = json_object();
	json_object_set(values, "login", json_object_get(r->in, "login"));
	json_object_set(values, "next", json_object_get(r->in, "next"));
	json_object_set_new(ctx, "values", values);
	resp_page(r, status, "portal/login", ctx);
}

/* POST /login */
void do_login(struct req *r)
{
	enum auth_result res = auth_login(r, req_in_str(r, "login"), req_in_str(r, "password"));
	const char *next = safe_next(req_in_str(r, "next"));
	switch (res) {
	case AUTH_OK:
		resp_redirect(r, r->who.must_change_pw ? "/account?must=1" : next);
		return;
	case AUTH_NEED_TOTP:
		resp_redirect(r, "/login/totp");
		return;
	case AUTH_NEED_ENROLL:
		resp_redirect(r, "/login/enroll");
		return;
	default:
		login_failed(r, res);
	}
}

static int need_half(struct req *r)
{
	if (r->who.user_id != 0 && r->who.half)
		return 0;
	resp_redirect(r, r->who.user_id ? "/desk" : "/login");
	return -1;
}

/* GET /login/totp */
void page_totp(struct req *r)
{
	if (need_half(r) == 0)
		resp_page(r, 200, "portal/totp", json_pack("{s:s}", "title", "动态验证码"));
}

static void totp_done(struct req *r, enum auth_result res, const char *tmpl)
{
	if (res == AUTH_OK) {
		resp_redirect(r, "/desk");
		return;
	}
	enum msg_id why = res == AUTH_LOCKED ? MSG_LOGIN_LOCKED : res == AUTH_ERROR ? MSG_TOTP_NO_ENROLL
										    : MSG_TOTP_BAD;
	int status = res == AUTH_LOCKED ? 429 : 401;
	if (r->is_api) {
		resp_error(r, status, why, "code");
		return;
	}
	json_t *ctx = json_pack("{s:s,s:{s:s,s:s}}", "title", "动态验证码", "error", "field", "code",
				"message", msg(why));
	if (strcmp(tmpl, "portal/enroll") == 0)
		enroll_ctx(r, ctx);
	resp_page(r, status, tmpl, ctx);
}

/* POST /login/totp */
void do_totp(struct req *r)
{
	if (need_half(r) == 0)
		totp_done(r, auth_totp(r, req_in_str(r, "code")), "portal/totp");
}

/* GET /login/enroll  ctx: secret (base32), secret_grouped, uri (otpauth://) */
void page_enroll(struct req *r)
{
	if (need_half(r) != 0)
		return;
	json_t *ctx = json_pack("{s:s}", "title", "设置动态验证码");
	if (enroll_ctx(r, ctx) != 0) {
		/* Already enrolled: the code page is the way in. */
		json_decref(ctx);
		resp_redirect(r, "/login/totp");
		return;
	}
	resp_page(r, 200, "portal/enroll", ctx);
}

/* POST /login/enroll */
void do_enroll(struct req *r)
{
	if (need_half(r) == 0)
		totp_done(r, auth_enroll_finish(r, req_in_str(r, "code")), "portal/enroll");
}

/* POST /logout */
void do_logout(struct req *r)
{
	if (auth_logout(r) != 0) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	resp_redirect(r, "/");
}

/* POST /logout/all */
void do_logout_all(struct req *r)
{
	if (auth_logout_all(r->st, r->who.user_id) != 0 ||
	    portal_audit(r, "logout.all", arena_printf(r->arena, "user:%lld", (long long)r->who.user_id),
			 0, NULL) != 0) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	resp_cookie(r, "yz_sid", "", 0);
	resp_redirect(r, "/");
}

/* GET /register */
void page_register(struct req *r)
{
	char idem[33];
	random_hex(idem, 16);
	resp_page(r, 200, "portal/register",
		  json_pack("{s:s,s:s,s:{s:s}}", "title", "注册", "idem", idem, "values", "kind", "citizen"));
}

int portal_input_fail(struct req *r, enum msg_id why, const char *field)
{
	if (why == MSG_HTTP_500) {
		resp_error(r, 500, why, NULL);
		return -1;
	}
	struct input_error e = { 400, why, "" };
	snprintf(e.field, sizeof e.field, "%s", field ? field : "");
	resp_input_error(r, &e);
	return -1;
}

int portal_audit_list_read(struct req *r, const char *kind, const char *q)
{
	/* Lists of accounts show names and masked identifiers: who looked is recorded. */
	json_t *d = json_pack("{s:s?,s:s?}", "kind", kind, "q", q);
	char *detail = json_dumps(d, JSON_COMPACT);
	json_decref(d);
	struct audit_entry e = { r->who.user_id, r->who.login, "read.person_list", "users", 0, r->ip, detail };
	int rc = audit_append_tx(r->st, &e);
	free(detail);
	if (rc != 0)
		resp_error(r, 500, MSG_HTTP_500, NULL);
	return rc;
}

json_t *portal_read_account(struct req *r, int64_t id)
{
	json_t *a = account_json(r->st, id);
	if (a == NULL) {
		resp_error(r, 404, MSG_USER_NOT_FOUND, NULL);
		return NULL;
	}
	/* Reading another person's record is audited, even masked. */
	struct audit_entry e = { r->who.user_id, r->who.login, "read.person",
				 arena_printf(r->arena, "user:%lld", (long long)id), 0, r->ip, NULL };
	if (json_is_string(json_object_get(a, "ident_masked")) && audit_append_tx(r->st, &e) != 0) {
		json_decref(a);
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return NULL;
	}
	return a;
}

/* Adds the enrolment secret (plain and grouped by four) and its otpauth URI to ctx. */
static int enroll_ctx(struct req *r, json_t *ctx)
{
	char *secret = auth_enroll_begin(r);
	if (secret == NULL)
		return -1;
	char *uri = totp_uri("一站", r->who.login, secret);
	char grouped[TOTP_SECRET_LEN * 2];
	size_t g = 0;
	for (size_t i = 0; secret[i] && g + 2 < sizeof grouped; i++) {
		if (i > 0 && i % 4 == 0)
			grouped[g++] = ' ';
		grouped[g++] = secret[i];
	}
	grouped[g] = '\0';
	json_object_set_new(ctx, "secret", json_string(secret));
	json_object_set_new(ctx, "secret_grouped", json_string(grouped));
	json_object_set_new(ctx, "uri", json_string(uri));
	free(uri);
	free(secret);
	return 0;
}

int portal_register_person(struct req *r, int64_t *id)
{
	const char *kind = req_in_str(r, "kind");
	int citizen = strcmp(kind, "citizen") == 0;
	const char *ident = req_in_str(r, citizen ? "id_number" : "uscc");
	if (ident == NULL)
		return portal_input_fail(r, citizen ? MSG_REGISTER_NEED_IDCARD : MSG_REGISTER_NEED_USCC,
				      citizen ? "id_number" : "uscc");
	if (!citizen && req_in_str(r, "contact_name") == NULL)
		return portal_input_fail(r, MSG_REGISTER_NEED_CONTACT, "contact_name");
	const char *pw = req_in_str(r, "password");
	if (validate_password(pw, req_in_str(r, "login")) != MSG_NONE)
		return portal_input_fail(r, validate_password(pw, req_in_str(r, "login")), "password");
	if (strcmp(pw, req_in_str(r, "password2")) != 0)
		return portal_input_fail(r, MSG_PASSWORD_MISMATCH, "password2");
	struct account_new a = { req_in_str(r, "login"), kind, req_in_str(r, "name"), ident,
				 citizen ? NULL : req_in_str(r, "contact_name"), req_in_str(r, "phone"),
				 req_in_str(r, "email"), pw, 0 };
	enum msg_id why;
	const char *field = NULL;
	if (account_create(r->st, http_ctx()->keys, &a, id, &why, &field) != 0) {
		if (field != NULL && strcmp(field, "ident") == 0)
			field = citizen ? "id_number" : "uscc";
		return portal_input_fail(r, why, field);
	}
	char *object = arena_printf(r->arena, "user:%lld", (long long)*id);
	return portal_audit(r, "user.register", object, 0,
			    citizen ? "{\"kind\":\"citizen\"}" : "{\"kind\":\"enterprise\"}");
}

/* POST /register: account created, signed in, to the desk. */
void do_register(struct req *r)
{
	int64_t id = 0;
	if (portal_register_person(r, &id) != 0)
		return;
	enum auth_result res = auth_login(r, req_in_str(r, "login"), req_in_str(r, "password"));
	r->keep_tx = 0;
	if (res != AUTH_OK) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	resp_redirect(r, "/desk?welcome=1");
}

/* Desk providers of the portal: the person's jobs, a one-time password to
 * replace, and for administrators locked sign-ins and staff without a
 * second factor. */
static int desk_jobs(struct req *r, json_t *items)
{
	json_t *jobs = jobs_of_user(r->st, r->who.user_id, 10);
	if (jobs == NULL)
		return -1;
	size_t i;
	json_t *j;
	json_array_foreach(jobs, i, j) {
		json_int_t id = json_integer_value(json_object_get(j, "id"));
		int failed = json_is_true(json_object_get(j, "failed"));
		int finished = json_is_true(json_object_get(j, "finished"));
		json_array_append_new(
			items, json_pack("{s:s,s:s,s:s,s:O,s:b,s:s}", "kind", "job", "title",
					 arena_printf(r->arena, "后台任务 #%lld：%s", (long long)id,
						      json_string_value(json_object_get(j, "kind_label"))),
					 "href", arena_printf(r->arena, "/jobs/%lld", (long long)id), "status",
					 json_object_get(j, "state_label"), "failed", failed, "level",
					 failed ? "alert" : finished ? "info" : "warn"));
	}
	json_decref(jobs);
	return 0;
}

static int desk_password(struct req *r, json_t *items)
{
	if (r->who.must_change_pw)
		json_array_append_new(items, json_pack("{s:s,s:s,s:s,s:s,s:b,s:s}", "kind", "account", "title",
						       msg(MSG_MUST_CHANGE_PW), "href", "/account",
						       "status", "待处理", "failed", 0, "level", "warn"));
	return 0;
}

static int desk_admin(struct req *r, json_t *items)
{
	static const char locked[] =
		"SELECT COUNT(*) FROM login_throttle WHERE locked_until > $1 AND key LIKE 'acct:%'";
	static const char no_totp[] =
		"SELECT COUNT(DISTINCT u.id) FROM users u JOIN user_roles r ON r.user_id = u.id "
		"WHERE u.kind = 'staff' AND u.totp_enabled = 0 AND u.disabled = 0 AND ($1 = 1 OR r.dept_id IN "
		"(SELECT dept_id FROM user_roles WHERE user_id = $2 AND role = 'dept_admin'))";
	int platform = (r->who.roles & ROLEBIT_PLATFORM_ADMIN) != 0;
	if (!platform && !(r->who.roles & ROLEBIT_DEPT_ADMIN))
		return 0;
	int64_t n = 0;
	if (platform) {
		struct sval p[] = { SVI(auth_now()) };
		if (store_query_int(r->st, locked, p, 1, &n) != STORE_OK)
			return -1;
		if (n > 0)
			json_array_append_new(items, json_pack("{s:s,s:s,s:s,s:s,s:I,s:b,s:s}", "kind", "security",
							       "title", "因多次登录失败被暂时锁定的账号", "href",
							       "/admin/audit", "status", "请核查", "count",
							       (json_int_t)n, "failed", 0, "level", "alert"));
	}
	struct sval q[] = { SVI(platform), SVI(r->who.user_id) };
	if (store_query_int(r->st, no_totp, q, 2, &n) != STORE_OK)
		return -1;
	if (n > 0)
		json_array_append_new(items, json_pack("{s:s,s:s,s:s,s:s,s:I,s:b,s:s}", "kind", "security", "title",
						       "尚未设置动态验证码的工作人员（首次登录时设置）", "href",
						       "/admin/users?kind=staff", "status", "待设置", "count",
						       (json_int_t)n, "failed", 0, "level", "info"));
	return 0;
}

void portal_register_desk(void)
{
	desk_register(desk_password);
	desk_register(desk_admin);
	desk_register(desk_jobs);
}

/* GET /desk  ctx: items [{kind,title,href,status,failed}], roles, account, welcome */
void page_desk(struct req *r)
{
	json_t *items = desk_collect(r);
	json_t *account = account_json(r->st, r->who.user_id);
	if (items == NULL || account == NULL) {
		json_decref(items);
		json_decref(account);
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	json_t *ctx = json_pack("{s:s,s:o,s:o,s:O,s:b}", "title", "我的桌面", "items", items, "account",
				account, "roles", json_object_get(account, "roles"), "welcome",
				req_query(r, "welcome") != NULL);
	resp_page(r, 200, r->who.kind == ACCT_STAFF ? "portal/desk_staff" : "portal/desk_person", ctx);
}

/* Titles (and for the enrolment page, its secret) around input errors. */
void form_fill_login(struct req *r, json_t *ctx)
{
	(void)r;
	json_object_set_new(ctx, "title", json_string("登录"));
}

void form_fill_register(struct req *r, json_t *ctx)
{
	(void)r;
	json_object_set_new(ctx, "title", json_string("注册"));
}

void form_fill_totp(struct req *r, json_t *ctx)
{
	(void)r;
	json_object_set_new(ctx, "title", json_string("动态验证码"));
}

void form_fill_enroll(struct req *r, json_t *ctx)
{
	json_object_set_new(ctx, "title", json_string("设置动态验证码"));
	enroll_ctx(r, ctx);
}

/* Context of the account page around a password form error. */
void form_fill_account(struct req *r, json_t *ctx)
{
	json_t *account = account_json(r->st, r->who.user_id);
	json_object_set_new(ctx, "title", json_string("账号与安全"));
	json_object_set_new(ctx, "account", account ? account : json_object());
	json_object_set_new(ctx, "must", json_boolean(r->who.must_change_pw));
}

/* GET /account  ctx: account, must */
void page_account(struct req *r)
{
	json_t *account = account_json(r->st, r->who.user_id);
	if (account == NULL) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	resp_page(r, 200, "portal/account",
		  json_pack("{s:s,s:o,s:b,s:b}", "title", "账号与安全", "account", account, "must",
			    r->who.must_change_pw, "saved", req_query(r, "saved") != NULL));
}

void do_password(struct req *r)
{
	struct store_res *res = NULL;
	static const char q[] = "SELECT password FROM users WHERE id = $1";
	struct sval p[] = { SVI(r->who.user_id) };
	if (store_query(r->st, q, p, 1, &res) != STORE_OK || store_res_rows(res) != 1) {
		store_res_free(res);
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	int ok = password_verify(store_res_text(res, 0, 0), req_in_str(r, "old")) == 0;
	store_res_free(res);
	const char *pw = req_in_str(r, "password");
	struct input_error e = { 400, MSG_NONE, "" };
	if (!ok) {
		e.msg = MSG_PASSWORD_OLD_BAD;
		snprintf(e.field, sizeof e.field, "old");
	} else if (validate_password(pw, r->who.login) != MSG_NONE) {
		e.msg = validate_password(pw, r->who.login);
		snprintf(e.field, sizeof e.field, "password");
	} else if (strcmp(pw, req_in_str(r, "password2")) != 0) {
		e.msg = MSG_PASSWORD_MISMATCH;
		snprintf(e.field, sizeof e.field, "password2");
	}
	if (e.msg != MSG_NONE) {
		json_t *ctx = json_pack("{s:s,s:o,s:{s:s,s:s},s:b}", "title", "账号与安全", "account",
					account_json(r->st, r->who.user_id), "error", "field", e.field,
					"message", msg(e.msg), "must", r->who.must_change_pw);
		json_t *errs = json_object();
		json_object_set_new(errs, e.field, json_string(msg(e.msg)));
		json_object_set_new(ctx, "errors", errs);
		resp_page(r, 400, "portal/account", ctx);
		return;
	}
	/* Every other session ends; this one continues. */
	static const char del[] = "DELETE FROM sessions WHERE user_id = $1 AND id_hash <> $2";
	struct sval d[] = { SVI(r->who.user_id), SVT(r->who.sid_hash) };
	if (account_set_password(r->st, r->who.user_id, pw, 0) != 0 ||
	    store_exec(r->st, del, d, 2, NULL) != STORE_OK) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	if (portal_audit(r, "user.password", arena_printf(r->arena, "user:%lld", (long long)r->who.user_id),
			 0, NULL) != 0)
		return;
	resp_redirect(r, "/account?saved=1");
}
