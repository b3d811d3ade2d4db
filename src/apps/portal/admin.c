/*
 * Administration pages: the department tree, accounts and roles, jobs and
 * the audit trail.  Platform admins manage everything; a department admin
 * manages the staff of the departments they administer.
 */
#include "apps/portal/portal.h"
#include "apps/portal/portal_int.h"
#include "core/account.h"
#include "core/audit.h"
#include "core/auth.h"
#include "core/dept.h"
#include "core/files.h"
#include "core/jobs.h"
#include "core/log.h"
#include "core/validate.h"
#include "core/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Adds "depts" (the tree) and "levels" for department selects. */
void form_fill_depts(struct req *r, json_t *ctx)
{
	json_t *tree = dept_tree(r->st);
	json_t *sel = json_object_get(json_object_get(ctx, "values"), "parent_id");
	json_t *sel2 = json_object_get(json_object_get(ctx, "values"), "dept_id");
	json_int_t want = json_is_integer(sel) ? json_integer_value(sel) : 0;
	json_int_t want2 = json_is_integer(sel2) ? json_integer_value(sel2) : 0;
	size_t i;
	json_t *d;
	json_array_foreach(tree, i, d) {
		json_int_t id = json_integer_value(json_object_get(d, "id"));
		json_object_set_new(d, "selected", json_boolean(id == want || id == want2));
		json_object_set_new(d, "prefix",
				    json_string(arena_printf(r->arena, "%.*s",
							     (int)json_integer_value(json_object_get(d, "depth")) * 3,
							     "　　　　　　　　　　　　　　　　　　　　")));
	}
	json_object_set_new(ctx, "depts", tree ? tree : json_array());
	json_t *levels = json_array();
	const char *cur = json_string_value(json_object_get(json_object_get(ctx, "values"), "level"));
	for (int k = 0; dept_levels[k]; k++)
		json_array_append_new(levels, json_pack("{s:s,s:s,s:b}", "value", dept_levels[k], "label",
							dept_level_label(dept_levels[k]), "selected",
							cur && strcmp(cur, dept_levels[k]) == 0));
	json_object_set_new(ctx, "levels", levels);
	if (r->route != NULL && r->param_val[0] != NULL && r->nparams > 0)
		json_object_set_new(ctx, "id", json_string(r->param_val[0]));
}

/* GET /admin/depts  ctx: depts (tree with indent) */
void page_depts(struct req *r)
{
	json_t *tree = dept_tree(r->st);
	if (tree == NULL) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	resp_page(r, 200, "portal/depts", json_pack("{s:s,s:o}", "title", "部门管理", "depts", tree));
}

/* GET /admin/depts/new and /admin/depts/import */
void page_dept_new(struct req *r)
{
	json_t *ctx = json_pack("{s:s,s:{s:s}}", "title", "新建部门", "values", "level", "county");
	if (strcmp(r->path, "/admin/depts/import") == 0) {
		json_object_set_new(ctx, "title", json_string("导入部门"));
		resp_page(r, 200, "portal/dept_import", ctx);
		return;
	}
	form_fill_depts(r, ctx);
	resp_page(r, 200, "portal/dept_form", ctx);
}

static void dept_in_from(struct req *r, struct dept_in *d)
{
	d->code = req_in_str(r, "code");
	d->name = req_in_str(r, "name");
	d->parent_id = req_in_int(r, "parent_id", 0);
	d->level = req_in_str(r, "level");
	d->sort = req_in_int(r, "sort", 0);
}

static void dept_saved(struct req *r, int rc, enum msg_id why, const char *field, int64_t id,
		       const char *action)
{
	if (rc != 0) {
		if (why == MSG_HTTP_404)
			resp_error(r, 404, MSG_DEPT_NOT_FOUND, NULL);
		else
			portal_input_fail(r, why, field);
		return;
	}
	char *obj = arena_printf(r->arena, "dept:%lld", (long long)id);
	if (portal_audit(r, action, obj, id, NULL) != 0)
		return;
	if (r->is_api) {
		json_t *d = dept_json(r->st, id);
		resp_json(r, strcmp(action, "dept.create") == 0 ? 201 : 200, d ? d : json_object());
		return;
	}
	resp_redirect(r, arena_printf(r->arena, "/admin/depts/%lld?saved=1", (long long)id));
}

void do_dept_new(struct req *r)
{
	struct dept_in d;
	int64_t id = 0;
	enum msg_id why = MSG_NONE;
	const char *field = NULL;
	dept_in_from(r, &d);
	int rc = dept_create(r->st, &d, &id, &why, &field);
	dept_saved(r, rc, why, field, id, "dept.create");
}

/* GET /admin/depts/{id}  ctx: dept, values (for the form), depts, levels, staff, saved */
void page_dept_edit(struct req *r)
{
	int64_t id;
	if (req_param_id(r, "id", &id) != 0)
		return;
	json_t *d = dept_json(r->st, id);
	if (d == NULL) {
		resp_error(r, 404, MSG_DEPT_NOT_FOUND, NULL);
		return;
	}
	static const char q[] =
		"SELECT u.id, u.login, u.name, r.role FROM user_roles r JOIN users u ON u.id = r.user_id "
		"WHERE r.dept_id = $1 ORDER BY u.name, r.role";
	struct store_res *res = NULL;
	struct sval p[] = { SVI(id) };
	if (store_query(r->st, q, p, 1, &res) != STORE_OK) {
		json_decref(d);
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	json_t *staff = json_array();
	for (int i = 0; i < store_res_rows(res); i++) {
		const char *role = store_res_text(res, i, 3);
		json_array_append_new(staff, json_pack("{s:I,s:s,s:s,s:s}", "id",
						       (json_int_t)store_res_int(res, i, 0), "login",
						       store_res_text(res, i, 1), "name", store_res_text(res, i, 2),
						       "role_label",
						       strcmp(role, "staff") == 0 ? msg(MSG_ROLE_STAFF)
						       : strcmp(role, "dept_admin") == 0 ? msg(MSG_ROLE_DEPT_ADMIN)
											: msg(MSG_ROLE_PLATFORM_ADMIN)));
	}
	store_res_free(res);
	json_t *ctx = json_pack("{s:O,s:O,s:o,s:b,s:b}", "title", json_object_get(d, "name"), "values", d,
				"staff", staff, "saved", req_query(r, "saved") != NULL, "can_edit",
				(r->who.roles & ROLEBIT_PLATFORM_ADMIN) != 0);
	json_object_set_new(ctx, "dept", d);
	form_fill_depts(r, ctx);
	resp_page(r, 200, "portal/dept_form", ctx);
}

void do_dept_edit(struct req *r)
{
	int64_t id;
	if (req_param_id(r, "id", &id) != 0)
		return;
	struct dept_in d;
	enum msg_id why = MSG_NONE;
	const char *field = NULL;
	dept_in_from(r, &d);
	int rc = dept_update(r->st, id, &d, &why, &field);
	dept_saved(r, rc, why, field, id, "dept.update");
}

/* The job that imports departments: one transaction, all or nothing. */
static void import_progress(void *arg, int64_t done, int64_t total)
{
	struct job *j = arg;
	(void)j;
	(void)done;
	(void)total;
	/* The import runs inside one transaction: progress rows would be invisible
	 * until commit, so the page shows "running" and then the result. */
}

static int job_dept_import(struct job *j, json_t **result, char **message)
{
	const char *csv = json_string_value(json_object_get(j->params, "csv"));
	if (csv == NULL) {
		*message = xstrdup(msg(MSG_CSV_BAD));
		return -1;
	}
	int64_t total = 0;
	for (const char *p = csv; *p; p++)
		total += *p == '\n';
	if (*csv && csv[strlen(csv) - 1] != '\n')
		total++;      /* a last line without a newline */
	if (total > 0)
		total--;      /* the header */
	jobs_progress(j, 0, total);
	if (store_begin(j->st) != STORE_OK) {
		*message = xstrdup(msg(MSG_HTTP_503));
		return -1;
	}
	json_t *report = NULL;
	if (dept_import_csv(j->st, csv, strlen(csv), &report, import_progress, j) != 0) {
		store_rollback(j->st);
		*result = json_pack("{s:o}", "errors", report ? report : json_array());
		*message = xstrdup(report ? msg(MSG_CSV_BAD) : msg(MSG_HTTP_500));
		return -1;
	}
	char *detail = json_dumps(report, JSON_COMPACT);
	struct audit_entry a = { j->user_id, "job", "dept.import", NULL, 0, NULL, detail };
	int arc = audit_append(j->st, &a);
	free(detail);
	if (arc != 0 || store_commit(j->st) != STORE_OK) {
		store_rollback(j->st);
		json_decref(report);
		*message = xstrdup(msg(MSG_HTTP_500));
		return -1;
	}
	*result = report;
	jobs_progress(j, total, total);
	return 0;
}

void portal_register_jobs(void)
{
	jobs_register("dept.import", "导入部门", job_dept_import);
}

/* Answers a 400 by the field (the form again on the page) and returns -1;
 * detail (may be MSG_NONE) says more than why. */
static int import_refuse(struct req *r, enum msg_id why, const char *field, enum msg_id detail)
{
	struct input_error e = { 400, why, "", "" };
	snprintf(e.field, sizeof e.field, "%s", field);
	if (detail != MSG_NONE)
		snprintf(e.detail, sizeof e.detail, "%s", msg(detail));
	resp_input_error(r, &e);
	return -1;
}

/*
 * The CSV text: pasted (csv) or uploaded (file, multipart on the page).  An
 * uploaded file must be text (sniffed: text/plain or text/csv, whatever its
 * name says) in UTF-8 without NUL.  0, or -1 when answered.
 */
static int import_text(struct req *r, const char **text, size_t *len)
{
	static const char *const csv_types[] = { "text/plain", "text/csv", NULL };
	const struct upload *up = req_upload(r, "file");
	const char *pasted = req_in_str(r, "csv");
	char mime[128];
	int ok = 0;

	if (pasted != NULL && *pasted == '\0')
		pasted = NULL;
	if (up != NULL && pasted != NULL)
		return import_refuse(r, MSG_CSV_BOTH, "file", MSG_NONE);
	if (up == NULL) {
		if (pasted == NULL)
			return import_refuse(r, MSG_FIELD_REQUIRED, "csv", MSG_CSV_NEED);
		*text = pasted;
		*len = strlen(pasted);
		return 0;
	}
	if (up->data.len == 0)
		return import_refuse(r, MSG_FILE_EMPTY, "file", MSG_NONE);
	if (files_sniff(up->data.data, up->data.len, mime, sizeof mime) != 0) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return -1;
	}
	for (int i = 0; csv_types[i] != NULL; i++)
		ok |= strcmp(mime, csv_types[i]) == 0;
	if (!ok)
		return import_refuse(r, MSG_FILE_TYPE_CSV, "file", MSG_NONE);
	if (validate_utf8(up->data.data, up->data.len) != MSG_NONE)
		return import_refuse(r, MSG_FIELD_BAD_UTF8, "file", MSG_NONE);
	if (memchr(up->data.data, '\0', up->data.len) != NULL)
		return import_refuse(r, MSG_FIELD_BAD_CONTROL, "file", MSG_NONE);
	*text = up->data.data;
	*len = up->data.len;
	return 0;
}

/* POST /admin/depts/import (and the API): queues the job, shows its page. */
void do_dept_import(struct req *r)
{
	int64_t id = 0;
	const char *text = NULL;
	size_t len = 0;
	if (import_text(r, &text, &len) != 0)
		return;
	json_t *params = json_pack("{s:s%}", "csv", text, len);
	int rc = jobs_enqueue(r->st, "dept.import", params, r->who.user_id, 0, &id);
	json_decref(params);
	if (rc != 0) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	if (portal_audit(r, "job.create", arena_printf(r->arena, "job:%lld", (long long)id), 0,
			 "{\"kind\":\"dept.import\"}") != 0)
		return;
	jobs_kick();
	if (r->is_api) {
		r->location = arena_printf(r->arena, "/api/v1/jobs/%lld", (long long)id);
		resp_json(r, 202, json_pack("{s:I,s:s}", "job", (json_int_t)id, "href", r->location));
		return;
	}
	resp_redirect(r, arena_printf(r->arena, "/jobs/%lld", (long long)id));
}

/* GET /jobs/{id}  ctx: job */
void page_job(struct req *r)
{
	int64_t id;
	if (req_param_id(r, "id", &id) != 0)
		return;
	json_t *j = jobs_json(r->st, id);
	if (j == NULL || (json_integer_value(json_object_get(j, "user_id")) != r->who.user_id &&
			  !(r->who.roles & ROLEBIT_PLATFORM_ADMIN))) {
		json_decref(j);
		resp_error(r, 404, MSG_JOB_NOT_FOUND, NULL);
		return;
	}
	/* What the generic page can say of a result: import counts, and a page of the result
	 * (a comparison's report) when the job names one. */
	json_t *res = json_object_get(j, "result");
	json_t *href = json_object_get(res, "href");
	const char *h = json_is_string(href) ? json_string_value(href) : "";
	json_t *ctx = json_pack("{s:s,s:o,s:b}", "title", "任务进度", "job", j, "counts",
				json_object_get(res, "created") != NULL);
	if (h[0] == '/' && h[1] != '/')
		json_object_set_new(ctx, "result_href", json_string(h));
	resp_page(r, 200, "portal/job", ctx);
}

/* GET /admin/users  ctx: page {items,next}, kind, q, kinds */
void page_users(struct req *r)
{
	const char *kind = req_in_str(r, "kind"), *q = req_in_str(r, "q");
	if (portal_audit_list_read(r, kind, q) != 0)
		return;
	json_t *page = account_list(r->st, kind, q, req_in_int(r, "after", 0), (int)req_in_int(r, "limit", 50));
	if (page == NULL) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	json_t *ctx = json_pack("{s:s,s:o,s:s,s:s,s:{s:s,s:s}}", "title", "人员与账号", "page", page, "kind",
				kind ? kind : "", "q", q ? q : "", "values", "kind", kind ? kind : "", "q",
				q ? q : "");
	json_t *next = json_object_get(page, "next");
	if (json_is_integer(next))
		json_object_set_new(ctx, "next_href",
				    json_string(arena_printf(r->arena, "/admin/users?after=%lld%s%s%s%s",
							     (long long)json_integer_value(next),
							     kind ? "&kind=" : "", kind ? kind : "", q ? "&q=" : "",
							     q ? req_url_encode(r, q) : "")));
	resp_page(r, 200, "portal/users", ctx);
}

void page_user_new(struct req *r)
{
	json_t *ctx = json_pack("{s:s,s:{s:s}}", "title", "新建工作人员账号", "values", "role", "staff");
	form_fill_depts(r, ctx);
	resp_page(r, 200, "portal/user_new", ctx);
}

int portal_create_staff(struct req *r, int64_t *id, const char **pw)
{
	int64_t dept = req_in_int(r, "dept_id", 0);
	json_t *d = dept_json(r->st, dept);
	if (d == NULL)
		return portal_input_fail(r, MSG_DEPT_NOT_FOUND, "dept_id");
	json_decref(d);
	if (!portal_can_admin_dept(r, dept)) {
		resp_error(r, 403, MSG_NOT_YOUR_DEPT, "dept_id");
		return -1;
	}
	*pw = portal_one_time_password(r);
	struct account_new a = { req_in_str(r, "login"), "staff", req_in_str(r, "name"), NULL, NULL,
				 req_in_str(r, "phone"), req_in_str(r, "email"), *pw, 1 };
	enum msg_id why;
	const char *field = NULL;
	if (account_create(r->st, http_ctx()->keys, &a, id, &why, &field) != 0)
		return portal_input_fail(r, why, field);
	if (account_add_role(r->st, *id, dept, req_in_str(r, "role")) != 0) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return -1;
	}
	return portal_audit(r, "user.create", arena_printf(r->arena, "user:%lld", (long long)*id), dept,
			    arena_printf(r->arena, "{\"role\":\"%s\"}", req_in_str(r, "role")));
}

/* POST /admin/users/new: shows the one-time password once. */
void do_user_new(struct req *r)
{
	int64_t id = 0;
	const char *pw = NULL;
	if (portal_create_staff(r, &id, &pw) != 0)
		return;
	json_t *account = account_json(r->st, id);
	resp_page(r, 201, "portal/user_created",
		  json_pack("{s:s,s:o,s:s}", "title", "账号已创建", "account", account ? account : json_object(),
			    "password", pw));
}

/* GET /admin/users/{id}  ctx: account, depts (for granting), can_admin, saved */
void page_user(struct req *r)
{
	int64_t id;
	if (req_param_id(r, "id", &id) != 0)
		return;
	json_t *a = portal_read_account(r, id);
	if (a == NULL)
		return;
	json_t *ctx = json_pack("{s:s,s:o,s:b,s:b}", "title", "账号详情", "account", a, "is_admin",
				(r->who.roles & ROLEBIT_PLATFORM_ADMIN) != 0, "saved",
				req_query(r, "saved") != NULL);
	form_fill_depts(r, ctx);
	json_t *roles = json_array();
	json_array_append_new(roles, json_pack("{s:s,s:s}", "value", "staff", "label", msg(MSG_ROLE_STAFF)));
	json_array_append_new(roles, json_pack("{s:s,s:s}", "value", "dept_admin", "label",
					       msg(MSG_ROLE_DEPT_ADMIN)));
	if (r->who.roles & ROLEBIT_PLATFORM_ADMIN)
		json_array_append_new(roles, json_pack("{s:s,s:s}", "value", "platform_admin", "label",
						       msg(MSG_ROLE_PLATFORM_ADMIN)));
	json_object_set_new(ctx, "role_choices", roles);
	resp_page(r, 200, "portal/user", ctx);
}

static int role_change(struct req *r, int add, int64_t *uid)
{
	if (req_param_id(r, "id", uid) != 0)
		return -1;
	int64_t dept = req_in_int(r, "dept_id", 0);
	const char *role = req_in_str(r, "role");
	json_t *a = account_json(r->st, *uid);
	json_t *d = dept_json(r->st, dept);
	int staff = a && strcmp(json_string_value(json_object_get(a, "kind")), "staff") == 0;
	json_decref(a);
	json_decref(d);
	if (a == NULL) {
		resp_error(r, 404, MSG_USER_NOT_FOUND, NULL);
		return -1;
	}
	if (d == NULL) {
		resp_error(r, 400, MSG_DEPT_NOT_FOUND, "dept_id");
		return -1;
	}
	if (!staff) {
		resp_error(r, 400, MSG_ROLE_UNKNOWN, "role");
		return -1;
	}
	int platform = strcmp(role, "platform_admin") == 0;
	if ((platform && !(r->who.roles & ROLEBIT_PLATFORM_ADMIN)) || !portal_can_admin_dept(r, dept)) {
		resp_error(r, 403, MSG_NOT_YOUR_DEPT, "dept_id");
		return -1;
	}
	if ((add ? account_add_role(r->st, *uid, dept, role) : account_remove_role(r->st, *uid, dept, role)) != 0) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return -1;
	}
	return portal_audit(r, add ? "user.role_add" : "user.role_remove",
			    arena_printf(r->arena, "user:%lld", (long long)*uid), dept,
			    arena_printf(r->arena, "{\"role\":\"%s\"}", role));
}

void do_user_role_add(struct req *r)
{
	int64_t uid;
	if (role_change(r, 1, &uid) == 0)
		resp_redirect(r, arena_printf(r->arena, "/admin/users/%lld?saved=1", (long long)uid));
}

void do_user_role_remove(struct req *r)
{
	int64_t uid;
	if (role_change(r, 0, &uid) == 0)
		resp_redirect(r, arena_printf(r->arena, "/admin/users/%lld?saved=1", (long long)uid));
}

static void user_flag(struct req *r, const char *action)
{
	int64_t uid;
	if (req_param_id(r, "id", &uid) != 0)
		return;
	int rc;
	if (strcmp(action, "user.disable") == 0)
		rc = account_set_disabled(r->st, uid, 1) || auth_logout_all(r->st, uid);
	else if (strcmp(action, "user.enable") == 0)
		rc = account_set_disabled(r->st, uid, 0);
	else
		rc = account_reset_totp(r->st, uid) || auth_logout_all(r->st, uid);
	if (rc != 0) {
		resp_error(r, 404, MSG_USER_NOT_FOUND, NULL);
		return;
	}
	if (portal_audit(r, action, arena_printf(r->arena, "user:%lld", (long long)uid), 0, NULL) != 0)
		return;
	resp_redirect(r, arena_printf(r->arena, "/admin/users/%lld?saved=1", (long long)uid));
}

void do_user_disable(struct req *r)
{
	user_flag(r, "user.disable");
}

void do_user_enable(struct req *r)
{
	user_flag(r, "user.enable");
}

void do_user_reset_totp(struct req *r)
{
	user_flag(r, "user.totp_reset");
}

/* GET /admin/audit  ctx: entries, report {ok, entries, checkpoints, first_bad_seq, reason}, next_href */
void page_audit(struct req *r)
{
	static const char q[] =
		"SELECT seq, ts, actor, action, object, ip, hash FROM audit_log "
		"WHERE ($1 = 0 OR seq < $1) ORDER BY seq DESC LIMIT $2";
	int64_t after = req_in_int(r, "after", 0), limit = req_in_int(r, "limit", 50);
	struct store_res *res = NULL;
	struct sval p[] = { SVI(after), SVI(limit) };
	if (store_query(r->st, q, p, 2, &res) != STORE_OK) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	json_t *entries = json_array();
	int n = store_res_rows(res);
	for (int i = 0; i < n; i++) {
		char ts[32];
		time_t t = (time_t)store_res_int(res, i, 1);
		struct tm tm;
		localtime_r(&t, &tm);
		strftime(ts, sizeof ts, "%Y-%m-%d %H:%M:%S", &tm);
		const char *obj = store_res_text(res, i, 4), *ip = store_res_text(res, i, 5);
		json_array_append_new(entries, json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:s}", "seq",
							 (json_int_t)store_res_int(res, i, 0), "ts", ts,
							 "actor", store_res_text(res, i, 2), "action",
							 store_res_text(res, i, 3), "object", obj ? obj : "",
							 "ip", ip ? ip : "", "hash",
							 arena_strndup(r->arena, store_res_text(res, i, 6), 12)));
	}
	json_t *ctx = json_pack("{s:s,s:o}", "title", "审计日志", "entries", entries);
	if (n == limit && n > 0)
		json_object_set_new(ctx, "next_href",
				    json_string(arena_printf(r->arena, "/admin/audit?after=%lld",
							     (long long)store_res_int(res, n - 1, 0))));
	store_res_free(res);
	resp_page(r, 200, "portal/audit", ctx);
}
