/*
 * The JSON API under /api/v1/: one convention for lists (cursor
 * pagination: ?after=<cursor>&limit=<n> answered with {"items":[...],
 * "next": cursor|null}), errors ({"error":{"code","message","field"}}) and
 * ids (integers).  Cookie sessions from POST /api/v1/session; unsafe calls
 * carry the session's CSRF token in X-CSRF-Token.
 */
#include "apps/portal/portal.h"
#include "apps/portal/portal_int.h"
#include "core/account.h"
#include "core/audit.h"
#include "core/auth.h"
#include "core/dept.h"
#include "core/desk.h"
#include "core/jobs.h"
#include "core/openapi.h"
#include "core/xalloc.h"

#include <stdlib.h>
#include <string.h>

void api_index(struct req *r)
{
	resp_json(r, 200, json_pack("{s:s,s:s,s:s,s:s}", "name", "yizhan", "version", "v1", "openapi",
				    "/api/v1/openapi.json", "message", msg(MSG_SITE_NAME)));
}

void api_openapi(struct req *r)
{
	json_t *doc = openapi_document();
	if (doc == NULL) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	resp_json(r, 200, doc);
}

static json_t *session_json(struct req *r, const char *state)
{
	return json_pack("{s:s,s:s,s:I}", "state", state, "csrf_token", r->who.csrf ? r->who.csrf : "",
			 "user_id", (json_int_t)r->who.user_id);
}

void api_session_new(struct req *r)
{
	enum auth_result res = auth_login(r, req_in_str(r, "login"), req_in_str(r, "password"));
	switch (res) {
	case AUTH_OK:
		resp_json(r, 201, session_json(r, "ok"));
		return;
	case AUTH_NEED_TOTP:
		resp_json(r, 201, session_json(r, "totp_required"));
		return;
	case AUTH_NEED_ENROLL:
		resp_json(r, 201, session_json(r, "totp_enrollment_required"));
		return;
	default:
		r->keep_tx = res != AUTH_ERROR;
		resp_error(r, res == AUTH_LOCKED ? 429 : res == AUTH_ERROR ? 500 : 401,
			   res == AUTH_LOCKED ? MSG_LOGIN_LOCKED
			   : res == AUTH_DISABLED ? MSG_LOGIN_DISABLED
			   : res == AUTH_ERROR ? MSG_HTTP_500 : MSG_LOGIN_BAD,
			   res == AUTH_BAD ? "password" : NULL);
	}
}

void api_session_totp(struct req *r)
{
	if (r->who.user_id == 0 || !r->who.half) {
		resp_error(r, 409, MSG_HTTP_409, NULL);
		return;
	}
	enum auth_result res = auth_totp(r, req_in_str(r, "code"));
	if (res == AUTH_OK) {
		resp_json(r, 200, session_json(r, "ok"));
		return;
	}
	r->keep_tx = res != AUTH_ERROR;
	resp_error(r, res == AUTH_LOCKED ? 429 : 401, res == AUTH_LOCKED ? MSG_LOGIN_LOCKED : MSG_TOTP_BAD,
		   "code");
}

void api_session_delete(struct req *r)
{
	if (auth_logout(r) != 0) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	resp_json(r, 200, json_pack("{s:s}", "state", "signed_out"));
}

void api_me(struct req *r)
{
	json_t *a = account_json(r->st, r->who.user_id);
	if (a == NULL) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	json_object_set_new(a, "must_change_password", json_boolean(r->who.must_change_pw));
	resp_json(r, 200, a);
}

void api_desk(struct req *r)
{
	json_t *items = desk_collect(r);
	if (items == NULL) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	resp_json(r, 200, json_pack("{s:o,s:o}", "items", items, "next", json_null()));
}

void api_register(struct req *r)
{
	int64_t id = 0;
	if (portal_register_person(r, &id) != 0)
		return;
	json_t *a = account_json(r->st, id);
	r->location = arena_printf(r->arena, "/api/v1/users/%lld", (long long)id);
	resp_json(r, 201, a ? a : json_object());
}

void api_depts(struct req *r)
{
	json_t *page = dept_list(r->st, req_in_int(r, "after", 0), (int)req_in_int(r, "limit", 50));
	if (page == NULL) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	resp_json(r, 200, page);
}

void api_dept(struct req *r)
{
	int64_t id;
	if (req_param_id(r, "id", &id) != 0)
		return;
	json_t *d = dept_json(r->st, id);
	if (d == NULL) {
		resp_error(r, 404, MSG_DEPT_NOT_FOUND, NULL);
		return;
	}
	resp_json(r, 200, d);
}

void api_dept_create(struct req *r)
{
	do_dept_new(r);
}

void api_dept_update(struct req *r)
{
	do_dept_edit(r);
}

void api_dept_import(struct req *r)
{
	do_dept_import(r);
}

void api_users(struct req *r)
{
	if (portal_audit_list_read(r, req_in_str(r, "kind"), req_in_str(r, "q")) != 0)
		return;
	json_t *page = account_list(r->st, req_in_str(r, "kind"), req_in_str(r, "q"),
				    req_in_int(r, "after", 0), (int)req_in_int(r, "limit", 50));
	if (page == NULL) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	resp_json(r, 200, page);
}

void api_user(struct req *r)
{
	int64_t id;
	if (req_param_id(r, "id", &id) != 0)
		return;
	json_t *a = portal_read_account(r, id);
	if (a != NULL)
		resp_json(r, 200, a);
}

void api_user_create(struct req *r)
{
	int64_t id = 0;
	const char *pw = NULL;
	if (portal_create_staff(r, &id, &pw) != 0)
		return;
	json_t *a = account_json(r->st, id);
	if (a == NULL) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	json_object_set_new(a, "one_time_password", json_string(pw));
	r->location = arena_printf(r->arena, "/api/v1/users/%lld", (long long)id);
	resp_json(r, 201, a);
}

void api_user_roles_add(struct req *r)
{
	do_user_role_add(r);
	if (r->status == 303) {
		int64_t id;
		r->answered = 0;
		r->location = NULL;
		if (req_param_id(r, "id", &id) == 0)
			resp_json(r, 200, account_json(r->st, id));
	}
}

void api_user_roles_remove(struct req *r)
{
	int64_t uid, dept;
	if (req_param_id(r, "id", &uid) != 0 || req_param_id(r, "dept", &dept) != 0)
		return;
	/* Same checks as the form: feed the path values through the validated input. */
	const char *role = req_param(r, "role");
	if (strcmp(role, "staff") != 0 && strcmp(role, "dept_admin") != 0 &&
	    strcmp(role, "platform_admin") != 0) {
		resp_error(r, 400, MSG_ROLE_UNKNOWN, "role");
		return;
	}
	json_object_set_new(r->in, "dept_id", json_integer(dept));
	json_object_set_new(r->in, "role", json_string(role));
	do_user_role_remove(r);
	if (r->status == 303) {
		r->answered = 0;
		r->location = NULL;
		resp_json(r, 200, account_json(r->st, uid));
	}
}

void api_job(struct req *r)
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
	resp_json(r, 200, j);
}
