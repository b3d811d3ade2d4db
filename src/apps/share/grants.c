/*
 * grants: requests for conditional resources (数据共享申请) and the grants
 * they give.
 *
 *   /share/requests/new?registry=CODE   the request form (fields, 用途, 依据, days)
 *   /share/requests                     the acting department's requests, out and in
 *   /share/requests/{id}                details, timeline, approve/reject, withdraw
 *   /share/grants                       grants given and received, with revoke
 *   /api/v1/share/requests[...]         the same as JSON
 *   /api/v1/share/grants[...]
 *
 * A request is a case of process share.grant (processes/share/grant.proc)
 * owned by the registry's owning department, whose applicant is the
 * requesting user; its row in share_requests says what is asked.  Staff of
 * the owning department approve (a grant row: fields, purpose, expires =
 * approval day + days) or reject with a reason; the applicant may withdraw
 * while it waits.  The case's transitions are internal events: both sides
 * read the whole timeline on /share/requests/{id}, and this file notifies
 * them itself (the case engine's applicant notices link to hall pages).
 *
 * Grants read while not revoked and today < expires (share_right_for in
 * util.c).  The owning department revokes with a reason; the grantee may
 * give a grant up.  Every write is audited: grant.request, grant.approve,
 * grant.reject, grant.withdraw, grant.revoke.
 */
#include "apps/share/share_int.h"
#include "core/account.h"
#include "core/audit.h"
#include "core/calendar.h"
#include "core/desk.h"
#include "core/log.h"
#include "core/notify.h"
#include "core/xalloc.h"
#include "engines/case/case.h"
#include "engines/case/procdef.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PROCESS "share.grant"
#define LIST_PAGE 50

enum {
	S_REQ_INSERT, S_REQ_GET, S_REQ_OUT, S_REQ_IN, S_REQ_SET_GRANT,
	S_GRANT_INSERT, S_GRANT_GET, S_GRANT_LIST, S_GRANT_REVOKE,
	S_DEPT_STAFF, S_ROLES, S_DESK, S_DEPT_NAME, S_USER_ID, S_DEPT_ID, S_CASE_PAGE, S__MAX
};

#define REQ_COLS \
	"SELECT q.id, q.case_id, q.registry_id, q.owner_dept_id, q.dept_id, q.user_id, q.fields, q.purpose, " \
	"q.basis, q.days, q.grant_id, q.created_at, c.state, c.version, c.deadline, c.state_final, " \
	"r.code, r.name, d1.name, d2.name, u.name, c.light FROM share_requests q " \
	"JOIN cases c ON c.id = q.case_id JOIN registries r ON r.id = q.registry_id " \
	"JOIN departments d1 ON d1.id = q.owner_dept_id JOIN departments d2 ON d2.id = q.dept_id " \
	"LEFT JOIN users u ON u.id = q.user_id "

#define GRANT_COLS \
	"SELECT g.id, g.registry_id, g.owner_dept_id, g.grantee_dept_id, g.fields, g.purpose, g.starts, " \
	"g.expires, g.case_id, g.approved_at, g.revoked_at, g.revoke_kind, g.revoke_reason, r.code, r.name, " \
	"d1.name, d2.name, (SELECT q.id FROM share_requests q WHERE q.grant_id = g.id) " \
	"FROM share_grants g JOIN registries r ON r.id = g.registry_id " \
	"JOIN departments d1 ON d1.id = g.owner_dept_id JOIN departments d2 ON d2.id = g.grantee_dept_id "

static const char *const sql[S__MAX] = {
	[S_REQ_INSERT] = "INSERT INTO share_requests (case_id, registry_id, owner_dept_id, dept_id, user_id, "
			 "fields, purpose, basis, days, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) "
			 "RETURNING id",
	[S_REQ_GET] = REQ_COLS "WHERE q.id = $1",
	[S_REQ_OUT] = REQ_COLS "WHERE q.dept_id = $1 AND q.id < $2 ORDER BY q.id DESC LIMIT $3",
	[S_REQ_IN] = REQ_COLS "WHERE q.owner_dept_id = $1 AND q.id < $2 ORDER BY q.id DESC LIMIT $3",
	[S_REQ_SET_GRANT] = "UPDATE share_requests SET grant_id = $2 WHERE id = $1",
	[S_GRANT_INSERT] = "INSERT INTO share_grants (registry_id, owner_dept_id, grantee_dept_id, fields, purpose, "
			   "starts, expires, case_id, approved_by, approved_at) "
			   "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
	[S_GRANT_GET] = GRANT_COLS "WHERE g.id = $1",
	[S_GRANT_LIST] = GRANT_COLS "WHERE (g.owner_dept_id = $1 OR g.grantee_dept_id = $1) AND g.id < $2 "
				    "ORDER BY g.id DESC LIMIT $3",
	[S_GRANT_REVOKE] = "UPDATE share_grants SET revoked_at = $2, revoked_by = $3, revoke_kind = $4, "
			   "revoke_reason = $5 WHERE id = $1 AND revoked_at IS NULL",
	[S_DEPT_STAFF] = "SELECT DISTINCT r.user_id FROM user_roles r JOIN users u ON u.id = r.user_id "
			 "WHERE r.dept_id = $1 AND r.role IN ('staff', 'dept_admin') AND u.disabled = 0 "
			 "ORDER BY r.user_id",
	[S_ROLES] = "SELECT role FROM user_roles WHERE user_id = $1 AND dept_id = $2",
	[S_DESK] = "SELECT q.owner_dept_id, d.name, COUNT(*) FROM share_requests q JOIN cases c ON c.id = q.case_id "
		   "JOIN departments d ON d.id = q.owner_dept_id WHERE c.state = 'submitted' AND q.owner_dept_id IN "
		   "(SELECT dept_id FROM user_roles WHERE user_id = $1 AND role IN ('staff', 'dept_admin')) "
		   "GROUP BY q.owner_dept_id, d.name ORDER BY q.owner_dept_id",
	[S_DEPT_NAME] = "SELECT name FROM departments WHERE id = $1",
	[S_USER_ID] = "SELECT id FROM users WHERE login = $1",
	[S_DEPT_ID] = "SELECT id FROM departments WHERE code = $1",
	[S_CASE_PAGE] = "SELECT c.process, q.id FROM cases c LEFT JOIN share_requests q ON q.case_id = c.id "
			"WHERE c.id = $1",
};

/* ------------------------------------------------------------ helpers */

static const char *jstr(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static const char *time_text(struct req *r, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	char s[32];
	if (t <= 0 || localtime_r(&tt, &tm) == NULL || strftime(s, sizeof s, "%Y-%m-%d %H:%M", &tm) == 0)
		return "";
	return arena_strdup(r->arena, s);
}

static void today_text(char out[11])
{
	cal_day_format(cal_day_of(time(NULL)), out);
}

/* The roles r's user holds in dept: PD_ROLE_STAFF / PD_ROLE_DEPT_ADMIN bits (0 on failure). */
static unsigned dept_roles(struct req *r, int64_t dept)
{
	unsigned roles = 0;
	if (r->who.user_id == 0 || r->who.half || r->who.kind != ACCT_STAFF || dept <= 0)
		return 0;
	struct store_res *res = NULL;
	struct sval p[] = { SVI(r->who.user_id), SVI(dept) };
	if (store_query(r->st, sql[S_ROLES], p, 2, &res) != STORE_OK)
		return 0;
	for (int i = 0; i < store_res_rows(res); i++) {
		const char *role = store_res_text(res, i, 0);
		if (strcmp(role, "staff") == 0)
			roles |= PD_ROLE_STAFF;
		else if (strcmp(role, "dept_admin") == 0)
			roles |= PD_ROLE_DEPT_ADMIN;
	}
	store_res_free(res);
	return roles;
}

static const char *dept_name(struct req *r, int64_t id)
{
	struct store_res *res = NULL;
	struct sval p[] = { SVI(id) };
	const char *out = "";
	if (store_query(r->st, sql[S_DEPT_NAME], p, 1, &res) == STORE_OK && store_res_rows(res) == 1)
		out = arena_strdup(r->arena, store_res_text(res, 0, 0));
	store_res_free(res);
	return out;
}

/* Labels of comma-separated field names of reg ("姓名、住址"); names when unknown. */
static const char *fields_label(struct req *r, const struct registry *reg, const char *list)
{
	struct buf b = BUF_INIT(8192);
	const char *p = list;
	while (p != NULL && *p) {
		const char *c = strchr(p, ',');
		size_t n = c ? (size_t)(c - p) : strlen(p);
		char name[REG_CODE_MAX];
		snprintf(name, sizeof name, "%.*s", (int)(n < sizeof name ? n : sizeof name - 1), p);
		int i = reg ? reg_field_index(&reg->def, name) : -1;
		if (b.len > 0)
			buf_addstr(&b, "、");
		buf_addstr(&b, i >= 0 && reg->def.fields[i].label ? reg->def.fields[i].label : name);
		p = c ? c + 1 : NULL;
	}
	const char *out = arena_strdup(r->arena, b.data ? b.data : "");
	buf_release(&b);
	return out;
}

static json_t *fields_array(const char *list)
{
	json_t *a = json_array();
	const char *p = list;
	while (p != NULL && *p) {
		const char *c = strchr(p, ',');
		size_t n = c ? (size_t)(c - p) : strlen(p);
		json_array_append_new(a, json_stringn(p, n));
		p = c ? c + 1 : NULL;
	}
	return a;
}

static const char *state_title(const char *state)
{
	const struct procdef *p = procdef_get(PROCESS);
	int s = p ? procdef_state(p, state) : -1;
	return s >= 0 ? p->states[s].title : state;
}

/* Notifies every active staff member of dept; 0 or -1. */
static int notify_dept(struct store *st, int64_t dept, const char *kind, const char *title, const char *body,
		       const char *link, const char *dedup_prefix)
{
	struct store_res *res = NULL;
	struct sval p[] = { SVI(dept) };
	if (store_query(st, sql[S_DEPT_STAFF], p, 1, &res) != STORE_OK)
		return -1;
	int rc = 0;
	for (int i = 0; i < store_res_rows(res) && rc == 0; i++) {
		char dedup[200];
		int64_t uid = store_res_int(res, i, 0);
		snprintf(dedup, sizeof dedup, "%s:%lld", dedup_prefix, (long long)uid);
		rc = notify_user(st, uid, kind, title, body, link, dedup);
	}
	store_res_free(res);
	return rc;
}

static int audit(struct store *st, struct req *r, const char *action, const char *object, int64_t dept,
		 json_t *detail)
{
	char *d = detail ? json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	struct audit_entry e = { r ? r->who.user_id : 0, r ? r->who.login : "system", action, object, dept,
				 r ? r->ip : NULL, d };
	int rc = audit_append(st, &e);
	free(d);
	return rc;
}

/* ------------------------------------------------------------ requests as JSON */

static json_t *request_row(struct req *r, struct store_res *res, int i)
{
	int64_t id = store_res_int(res, i, 0);
	const char *state = store_res_text(res, i, 12);
	int64_t dl = store_res_int(res, i, 14);
	char dls[11] = "";
	int final = (int)store_res_int(res, i, 15);
	if (!final && dl > 0 && dl < 2147483647)
		cal_day_format((cal_day)dl, dls);
	const struct registry *reg = registry_get(r->st, store_res_text(res, i, 16));
	const char *fields = store_res_text(res, i, 6);
	json_t *o = json_pack("{s:I,s:I,s:{s:s,s:s},s:{s:I,s:s},s:{s:I,s:s},s:o,s:s,s:s,s:s,s:I,s:s,s:s,s:b,s:I}",
			      "id", (json_int_t)id, "case_id", (json_int_t)store_res_int(res, i, 1),
			      "registry", "code", store_res_text(res, i, 16), "name", store_res_text(res, i, 17),
			      "owner", "id", (json_int_t)store_res_int(res, i, 3), "name", store_res_text(res, i, 18),
			      "dept", "id", (json_int_t)store_res_int(res, i, 4), "name", store_res_text(res, i, 19),
			      "fields", fields_array(fields), "fields_label", fields_label(r, reg, fields),
			      "purpose", store_res_text(res, i, 7), "basis",
			      store_res_text(res, i, 8) ? store_res_text(res, i, 8) : "",
			      "days", (json_int_t)store_res_int(res, i, 9), "state", state, "state_title",
			      state_title(state), "final", final, "version", (json_int_t)store_res_int(res, i, 13));
	if (o == NULL)
		return NULL;
	json_object_set_new(o, "deadline", dls[0] ? json_string(dls) : json_null());
	json_object_set_new(o, "light", json_integer(store_res_int(res, i, 21)));
	json_object_set_new(o, "user", store_res_isnull(res, i, 5) ? json_null()
				       : json_pack("{s:I,s:s?}", "id", (json_int_t)store_res_int(res, i, 5),
						   "name", store_res_text(res, i, 20)));
	json_object_set_new(o, "grant_id", store_res_isnull(res, i, 10) ? json_null()
					   : json_integer(store_res_int(res, i, 10)));
	json_object_set_new(o, "created_at", json_integer(store_res_int(res, i, 11)));
	json_object_set_new(o, "created_text", json_string(time_text(r, store_res_int(res, i, 11))));
	json_object_set_new(o, "href", json_string(arena_printf(r->arena, "/share/requests/%lld", (long long)id)));
	return o;
}

/* One request as JSON; NULL when none (*err 0) or on a failure (*err 1). */
static json_t *request_get(struct req *r, int64_t id, int *err)
{
	struct store_res *res = NULL;
	struct sval p[] = { SVI(id) };
	*err = 0;
	if (store_query(r->st, sql[S_REQ_GET], p, 1, &res) != STORE_OK) {
		*err = 1;
		return NULL;
	}
	json_t *o = store_res_rows(res) == 1 ? request_row(r, res, 0) : NULL;
	store_res_free(res);
	return o;
}

/* A page of requests of dept (out: made by it; in: to it). */
static json_t *request_list(struct req *r, int64_t dept, int in, int64_t after, int limit)
{
	struct store_res *res = NULL;
	struct sval p[] = { SVI(dept), SVI(after > 0 ? after : INT64_MAX), SVI(limit + 1) };
	if (store_query(r->st, sql[in ? S_REQ_IN : S_REQ_OUT], p, 3, &res) != STORE_OK)
		return NULL;
	json_t *items = json_array();
	int rows = store_res_rows(res);
	for (int i = 0; i < rows && i < limit; i++) {
		json_t *o = request_row(r, res, i);
		if (o != NULL)
			json_array_append_new(items, o);
	}
	json_t *next = rows > limit ? json_integer(store_res_int(res, limit - 1, 0)) : json_null();
	store_res_free(res);
	return json_pack("{s:o,s:o}", "items", items, "next", next);
}

/* ------------------------------------------------------------ grants as JSON */

static json_t *grant_row(struct req *r, struct store_res *res, int i, int64_t dept)
{
	char today[11];
	today_text(today);
	int64_t id = store_res_int(res, i, 0);
	const char *expires = store_res_text(res, i, 7);
	int revoked = !store_res_isnull(res, i, 10);
	const char *kind = store_res_text(res, i, 11);
	const char *state = revoked ? (kind && strcmp(kind, "give_up") == 0 ? "given_up" : "revoked")
			    : strcmp(expires, today) <= 0 ? "expired" : "active";
	static const struct { const char *s, *t; } titles[] = {
		{ "active", "有效" }, { "expired", "已过期" }, { "revoked", "已撤销" }, { "given_up", "已放弃" } };
	const char *st_title = state;
	for (size_t k = 0; k < sizeof titles / sizeof titles[0]; k++)
		if (strcmp(titles[k].s, state) == 0)
			st_title = titles[k].t;
	const struct registry *reg = registry_get(r->st, store_res_text(res, i, 13));
	const char *fields = store_res_text(res, i, 4);
	int64_t owner = store_res_int(res, i, 2), grantee = store_res_int(res, i, 3);
	json_t *o = json_pack("{s:I,s:{s:s,s:s},s:{s:I,s:s},s:{s:I,s:s},s:o,s:s,s:s,s:s,s:s,s:s,s:s,s:b,s:b}",
			      "id", (json_int_t)id, "registry", "code", store_res_text(res, i, 13), "name",
			      store_res_text(res, i, 14), "owner", "id", (json_int_t)owner, "name",
			      store_res_text(res, i, 15), "grantee", "id", (json_int_t)grantee, "name",
			      store_res_text(res, i, 16), "fields", fields_array(fields), "fields_label",
			      fields_label(r, reg, fields), "purpose", store_res_text(res, i, 5), "starts",
			      store_res_text(res, i, 6), "expires", expires, "state", state, "state_title", st_title,
			      "given", dept == owner, "received", dept == grantee);
	if (o == NULL)
		return NULL;
	json_object_set_new(o, "active", json_boolean(strcmp(state, "active") == 0));
	json_object_set_new(o, "case_id", store_res_isnull(res, i, 8) ? json_null()
					  : json_integer(store_res_int(res, i, 8)));
	json_object_set_new(o, "request_id", store_res_isnull(res, i, 17) ? json_null()
					     : json_integer(store_res_int(res, i, 17)));
	json_object_set_new(o, "approved_at", json_integer(store_res_int(res, i, 9)));
	json_object_set_new(o, "revoked_at", revoked ? json_integer(store_res_int(res, i, 10)) : json_null());
	json_object_set_new(o, "revoke_reason", store_res_text(res, i, 12) ? json_string(store_res_text(res, i, 12))
									   : json_null());
	return o;
}

static json_t *grant_list(struct req *r, int64_t dept, int64_t after, int limit)
{
	struct store_res *res = NULL;
	struct sval p[] = { SVI(dept), SVI(after > 0 ? after : INT64_MAX), SVI(limit + 1) };
	if (store_query(r->st, sql[S_GRANT_LIST], p, 3, &res) != STORE_OK)
		return NULL;
	json_t *items = json_array();
	int rows = store_res_rows(res);
	for (int i = 0; i < rows && i < limit; i++) {
		json_t *o = grant_row(r, res, i, dept);
		if (o != NULL)
			json_array_append_new(items, o);
	}
	json_t *next = rows > limit ? json_integer(store_res_int(res, limit - 1, 0)) : json_null();
	store_res_free(res);
	return json_pack("{s:o,s:o}", "items", items, "next", next);
}

/* ------------------------------------------------------------ creating a request */

struct req_in {
	const struct registry *reg;
	int64_t dept;            /* requesting department */
	const char *fields;      /* comma-separated, in definition order (arena) */
	const char *purpose;
	const char *basis;       /* may be NULL */
	int days;
};

struct fail {
	int status;
	enum msg_id why;
	const char *field;
	const char *detail;      /* Chinese, e.g. the legal basis (may be NULL) */
};

static int failed(struct fail *f, int status, enum msg_id why, const char *field, const char *detail)
{
	f->status = status;
	f->why = why;
	f->field = field;
	f->detail = detail;
	return -1;
}

/*
 * Checks the wanted field names (want[i] for i < n) against the registry:
 * each must exist and be conditional.  Builds the comma list in definition
 * order.  0, or -1 with *f.
 */
static int check_fields(struct req *r, const struct registry *reg, const char *const *want, int n,
			const char **out, struct fail *f)
{
	const struct reg_def *d = &reg->def;
	char *chosen = arena_alloc(r->arena, (size_t)d->nfields + 1);
	for (int k = 0; k < n; k++) {
		int i = reg_field_index(d, want[k]);
		if (i < 0)
			return failed(f, 400, MSG_GRANT_FIELD_UNKNOWN, "fields",
				      arena_printf(r->arena, "%s：%s", msg(MSG_GRANT_FIELD_UNKNOWN), want[k]));
		const struct reg_field *fd = &d->fields[i];
		if (fd->share == RS_NONE) {
			const char *basis = fd->share_cond ? fd->share_cond : d->share_cond;
			return failed(f, 400, MSG_GRANT_FIELD_NONE, "fields",
				      arena_printf(r->arena, "%s：%s（依据：%s）", msg(MSG_GRANT_FIELD_NONE),
						   fd->label ? fd->label : fd->name, basis ? basis : "—"));
		}
		if (fd->share == RS_UNCONDITIONAL)
			return failed(f, 400, MSG_GRANT_FIELD_UNCONDITIONAL, "fields",
				      arena_printf(r->arena, "%s：%s", msg(MSG_GRANT_FIELD_UNCONDITIONAL),
						   fd->label ? fd->label : fd->name));
		chosen[i] = 1;
	}
	struct buf b = BUF_INIT(8192);
	for (int i = 0; i < d->nfields; i++) {
		if (!chosen[i])
			continue;
		if (b.len)
			buf_addstr(&b, ",");
		buf_addstr(&b, d->fields[i].name);
	}
	if (b.len == 0) {
		buf_release(&b);
		return failed(f, 400, MSG_GRANT_FIELDS_REQUIRED, "fields", NULL);
	}
	*out = arena_strdup(r->arena, b.data);
	buf_release(&b);
	return 0;
}

/* The registry may be requested by dept at all: 0, or -1 with *f. */
static int check_registry(struct req *r, const struct registry *reg, int64_t dept, struct fail *f)
{
	if (reg == NULL)
		return failed(f, 400, MSG_GRANT_NO_REGISTRY, "registry", NULL);
	if (reg->owner_dept_id == dept)
		return failed(f, 400, MSG_GRANT_OWN_REGISTRY, "registry", NULL);
	if (reg->def.share == RS_NONE)
		return failed(f, 400, MSG_GRANT_REGISTRY_NONE, "registry",
			      arena_printf(r->arena, "%s（依据：%s）", msg(MSG_GRANT_REGISTRY_NONE),
					   reg->def.share_cond ? reg->def.share_cond : "—"));
	return 0;
}

/* Creates the case and the request row, audits, notifies; 0 with *id, or -1 with *f. */
static int request_create(struct store *st, struct req *r, int64_t user_id, const char *login,
			  const struct req_in *in, int64_t *id, struct fail *f)
{
	const struct registry *reg = in->reg;
	char *dname = NULL;
	{
		struct store_res *res = NULL;
		struct sval p[] = { SVI(in->dept) };
		if (store_query(st, sql[S_DEPT_NAME], p, 1, &res) != STORE_OK || store_res_rows(res) != 1) {
			store_res_free(res);
			return failed(f, 500, MSG_HTTP_500, NULL, NULL);
		}
		dname = xstrdup(store_res_text(res, 0, 0));
		store_res_free(res);
	}
	char subject[400];
	snprintf(subject, sizeof subject, "%s申请共享%s", dname, reg->def.name);
	json_t *data = json_pack("{s:s,s:s,s:s,s:s?,s:i,s:I}", "registry", reg->def.code, "fields", in->fields,
				 "purpose", in->purpose, "basis", in->basis, "days", in->days, "dept",
				 (json_int_t)in->dept);
	struct case_new n = { .process = PROCESS, .dept_id = reg->owner_dept_id, .applicant_id = user_id,
			      .subject = subject, .data = data };
	struct case_actor who = { user_id, login, PD_ROLE_APPLICANT };
	int64_t case_id = 0;
	char tracking[CASE_TRACKING_LEN + 1];
	enum case_rc crc = case_create(st, &n, &who, &case_id, tracking);
	json_decref(data);
	int rc = -1;
	if (crc != CASE_OK) {
		log_error("share: case_create for a grant request: %s", case_rc_name(crc));
		failed(f, 500, MSG_HTTP_500, NULL, NULL);
		goto out;
	}
	struct sval p[] = { SVI(case_id), SVI(reg->id), SVI(reg->owner_dept_id), SVI(in->dept),
			    user_id > 0 ? SVI(user_id) : SVN, SVT(in->fields), SVT(in->purpose), SVT(in->basis),
			    SVI(in->days), SVI(time(NULL)) };
	if (store_query_int(st, sql[S_REQ_INSERT], p, 10, id) != STORE_OK) {
		failed(f, 500, MSG_HTTP_500, NULL, NULL);
		goto out;
	}
	char obj[48], link[64], dedup[64];
	snprintf(obj, sizeof obj, "share_request:%lld", (long long)*id);
	snprintf(link, sizeof link, "/share/requests/%lld", (long long)*id);
	snprintf(dedup, sizeof dedup, "share.request:%lld", (long long)*id);
	json_t *det = json_pack("{s:s,s:s,s:s,s:i,s:I,s:I}", "registry", reg->def.code, "fields", in->fields,
				"purpose", in->purpose, "days", in->days, "dept", (json_int_t)in->dept, "case",
				(json_int_t)case_id);
	char *dt = json_dumps(det, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(det);
	struct audit_entry e = { user_id, login ? login : "system", "grant.request", obj, reg->owner_dept_id,
				 r ? r->ip : NULL, dt };
	int arc = audit_append(st, &e);
	free(dt);
	if (arc != 0) {
		failed(f, 500, MSG_HTTP_500, NULL, NULL);
		goto out;
	}
	char *body = xasprintf("%s申请共享“%s”的数据项，用途：%s。请在 5 个工作日内审批。", dname, reg->def.name,
			       in->purpose);
	int nrc = notify_dept(st, reg->owner_dept_id, "share.request", msg(MSG_GRANT_NEW_TITLE), body, link, dedup);
	free(body);
	if (nrc != 0) {
		failed(f, 500, MSG_HTTP_500, NULL, NULL);
		goto out;
	}
	rc = 0;
out:
	free(dname);
	return rc;
}

/* ------------------------------------------------------------ deciding */

/*
 * Approves (creating the grant) or rejects request rq (as JSON) for r's
 * user with roles on the case.  version 0 takes the current version.
 * 0, or -1 with *f.
 */
static int decide(struct req *r, json_t *rq, int approve, const char *reason, int64_t version, unsigned roles,
		  struct fail *f)
{
	int64_t id = json_integer_value(json_object_get(rq, "id"));
	int64_t case_id = json_integer_value(json_object_get(rq, "case_id"));
	if (!(roles & (PD_ROLE_STAFF | PD_ROLE_DEPT_ADMIN)))
		return failed(f, 403, MSG_GRANT_NOT_OWNER, NULL, NULL);
	if (json_is_true(json_object_get(rq, "final")))
		return failed(f, 409, MSG_GRANT_DONE, NULL, NULL);
	if (!approve && (reason == NULL || *reason == '\0'))
		return failed(f, 400, MSG_GRANT_REASON_REQUIRED, "reason", NULL);
	if (version <= 0)
		version = json_integer_value(json_object_get(rq, "version"));
	json_t *fields = approve ? json_object() : json_pack("{s:s}", "reason", reason);
	if (approve && reason != NULL && *reason)
		json_object_set_new(fields, "comment", json_string(reason));
	struct case_actor who = { r->who.user_id, r->who.login, roles };
	const char *missing = NULL;
	enum case_rc crc = case_act(r->st, case_id, version, approve ? "approve" : "reject", &who, fields, &missing);
	json_decref(fields);
	switch (crc) {
	case CASE_OK: break;
	case CASE_CONFLICT: return failed(f, 409, MSG_GRANT_CONFLICT, NULL, NULL);
	case CASE_BAD_STATE: return failed(f, 409, MSG_GRANT_DONE, NULL, NULL);
	case CASE_FORBIDDEN: return failed(f, 403, MSG_GRANT_NOT_OWNER, NULL, NULL);
	case CASE_MISSING_FIELD: return failed(f, 400, MSG_GRANT_REASON_REQUIRED, "reason", NULL);
	default: return failed(f, 500, MSG_HTTP_500, NULL, NULL);
	}
	json_t *reg = json_object_get(rq, "registry");
	int64_t owner = json_integer_value(json_object_get(json_object_get(rq, "owner"), "id"));
	int64_t grantee = json_integer_value(json_object_get(json_object_get(rq, "dept"), "id"));
	char obj[48];
	json_t *det;
	if (approve) {
		const struct registry *rg = registry_get(r->st, jstr(reg, "code"));
		if (rg == NULL)
			return failed(f, 500, MSG_HTTP_500, NULL, NULL);
		char starts[11], expires[11];
		cal_day today = cal_day_of(time(NULL));
		cal_day_format(today, starts);
		cal_day_format(today + (cal_day)json_integer_value(json_object_get(rq, "days")), expires);
		/* The fields as asked (rq "fields" array → comma list). */
		struct buf b = BUF_INIT(8192);
		size_t i;
		json_t *v;
		json_array_foreach(json_object_get(rq, "fields"), i, v) {
			if (b.len)
				buf_addstr(&b, ",");
			buf_addstr(&b, json_string_value(v));
		}
		int64_t gid = 0;
		struct sval p[] = { SVI(rg->id), SVI(owner), SVI(grantee), SVT(b.data ? b.data : ""),
				    SVT(jstr(rq, "purpose")), SVT(starts), SVT(expires), SVI(case_id),
				    SVI(r->who.user_id), SVI(time(NULL)) };
		int qrc = store_query_int(r->st, sql[S_GRANT_INSERT], p, 10, &gid);
		struct sval u[] = { SVI(id), SVI(gid) };
		if (qrc != STORE_OK || store_exec(r->st, sql[S_REQ_SET_GRANT], u, 2, NULL) != STORE_OK) {
			buf_release(&b);
			return failed(f, 500, MSG_HTTP_500, NULL, NULL);
		}
		snprintf(obj, sizeof obj, "share_grant:%lld", (long long)gid);
		det = json_pack("{s:I,s:s,s:I,s:s,s:s,s:s}", "request", (json_int_t)id, "registry", jstr(reg, "code"),
				"grantee", (json_int_t)grantee, "fields", b.data ? b.data : "", "purpose",
				jstr(rq, "purpose"), "expires", expires);
		buf_release(&b);
	} else {
		snprintf(obj, sizeof obj, "share_request:%lld", (long long)id);
		det = json_pack("{s:s,s:I,s:s}", "registry", jstr(reg, "code"), "dept", (json_int_t)grantee,
				"reason", reason);
	}
	int arc = audit(r->st, r, approve ? "grant.approve" : "grant.reject", obj, owner, det);
	json_decref(det);
	if (arc != 0)
		return failed(f, 500, MSG_HTTP_500, NULL, NULL);
	/* The requester learns the decision; without one (the demo) the department's staff do. */
	char link[64], dedup[64];
	snprintf(link, sizeof link, "/share/requests/%lld", (long long)id);
	snprintf(dedup, sizeof dedup, "share.decision:%lld", (long long)id);
	char *body = approve ? xasprintf("%s同意了共享“%s”的申请（%s）。", jstr(json_object_get(rq, "owner"), "name"),
					 jstr(reg, "name"), jstr(rq, "fields_label"))
			     : xasprintf("%s不同意共享“%s”的申请。理由：%s", jstr(json_object_get(rq, "owner"), "name"),
					 jstr(reg, "name"), reason);
	json_t *user = json_object_get(rq, "user");
	int nrc = json_is_object(user)
			  ? notify_user(r->st, json_integer_value(json_object_get(user, "id")), "share.decision",
					msg(MSG_GRANT_DECIDED_TITLE), body, link, dedup)
			  : notify_dept(r->st, grantee, "share.decision", msg(MSG_GRANT_DECIDED_TITLE), body, link, dedup);
	free(body);
	if (nrc != 0)
		return failed(f, 500, MSG_HTTP_500, NULL, NULL);
	return 0;
}

/* The applicant withdraws request rq; 0 or -1 with *f. */
static int withdraw(struct req *r, json_t *rq, int64_t version, struct fail *f)
{
	json_t *user = json_object_get(rq, "user");
	if (!json_is_object(user) || json_integer_value(json_object_get(user, "id")) != r->who.user_id)
		return failed(f, 403, MSG_CASE_E_FORBIDDEN, NULL, NULL);
	if (json_is_true(json_object_get(rq, "final")))
		return failed(f, 409, MSG_GRANT_DONE, NULL, NULL);
	if (version <= 0)
		version = json_integer_value(json_object_get(rq, "version"));
	struct case_actor who = { r->who.user_id, r->who.login, PD_ROLE_APPLICANT };
	enum case_rc crc = case_act(r->st, json_integer_value(json_object_get(rq, "case_id")), version, "withdraw",
				    &who, NULL, NULL);
	if (crc == CASE_CONFLICT)
		return failed(f, 409, MSG_GRANT_CONFLICT, NULL, NULL);
	if (crc == CASE_BAD_STATE)
		return failed(f, 409, MSG_GRANT_DONE, NULL, NULL);
	if (crc != CASE_OK)
		return failed(f, crc == CASE_FORBIDDEN ? 403 : 500, crc == CASE_FORBIDDEN ? MSG_CASE_E_FORBIDDEN
											  : MSG_HTTP_500, NULL, NULL);
	char obj[48];
	snprintf(obj, sizeof obj, "share_request:%lld", (long long)json_integer_value(json_object_get(rq, "id")));
	json_t *det = json_pack("{s:s}", "registry", jstr(json_object_get(rq, "registry"), "code"));
	int arc = audit(r->st, r, "grant.withdraw", obj,
			json_integer_value(json_object_get(json_object_get(rq, "owner"), "id")), det);
	json_decref(det);
	return arc == 0 ? 0 : failed(f, 500, MSG_HTTP_500, NULL, NULL);
}

/* ------------------------------------------------------------ who sees a request */

struct access {
	unsigned owner_roles;    /* PD_ROLE_STAFF / DEPT_ADMIN in the owning department */
	int requester_dept;      /* holds a role in the requesting department */
	int applicant;           /* the requesting user */
	int supervisor;          /* platform admin */
};

static void access_of(struct req *r, json_t *rq, struct access *a)
{
	memset(a, 0, sizeof *a);
	a->owner_roles = dept_roles(r, json_integer_value(json_object_get(json_object_get(rq, "owner"), "id")));
	a->requester_dept = dept_roles(r, json_integer_value(json_object_get(json_object_get(rq, "dept"), "id"))) != 0;
	json_t *u = json_object_get(rq, "user");
	a->applicant = json_is_object(u) && r->who.user_id != 0 &&
		       json_integer_value(json_object_get(u, "id")) == r->who.user_id;
	a->supervisor = (r->who.roles & ROLEBIT_PLATFORM_ADMIN) != 0;
}

static int may_see(const struct access *a)
{
	return a->owner_roles || a->requester_dept || a->applicant || a->supervisor;
}

/* Loads request {id} for r; answers 404/500 itself and returns NULL. */
static json_t *load_request(struct req *r, struct access *a)
{
	int64_t id = 0;
	int err = 0;
	if (req_param_id(r, "id", &id) != 0)
		return NULL;
	json_t *rq = request_get(r, id, &err);
	if (err) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return NULL;
	}
	if (rq != NULL)
		access_of(r, rq, a);
	if (rq == NULL || !may_see(a)) {
		json_decref(rq);
		resp_error(r, 404, MSG_GRANT_NOT_FOUND, NULL);
		return NULL;
	}
	return rq;
}

/* ------------------------------------------------------------ pages */

/* The departments r's user acts in, [{id,name,selected}], for the department switcher. */
static json_t *my_depts(struct req *r, int64_t acting)
{
	json_t *roles = account_roles(r->st, r->who.user_id);
	json_t *out = json_array();
	size_t i, k;
	json_t *x, *y;
	json_array_foreach(roles, i, x) {
		int64_t id = json_integer_value(json_object_get(x, "dept_id"));
		int dup = 0;
		json_array_foreach(out, k, y)
			dup |= json_integer_value(json_object_get(y, "id")) == id;
		if (!dup)
			json_array_append_new(out, json_pack("{s:I,s:O,s:b}", "id", (json_int_t)id, "name",
							     json_object_get(x, "dept_name"), "selected", id == acting));
	}
	json_decref(roles);
	return out;
}

/* Sets depts, show_depts (more than one) and switch_action on a page's context. */
static void set_depts(struct req *r, json_t *ctx, int64_t acting, const char *action)
{
	json_t *d = my_depts(r, acting);
	json_object_set_new(ctx, "show_depts", json_boolean(json_array_size(d) > 1));
	json_object_set_new(ctx, "depts", d);
	json_object_set_new(ctx, "switch_action", json_string(action));
}

/* The request form's context: registry (with fields by class), depts, values, error. */
static json_t *form_ctx(struct req *r, const struct registry *reg, int64_t dept, json_t *values, const struct fail *f)
{
	json_t *ctx = json_pack("{s:s,s:I,s:s}", "title", "申请共享数据", "dept_id", (json_int_t)dept, "dept_name",
				dept_name(r, dept));
	set_depts(r, ctx, dept, "/share/requests/new");
	if (reg == NULL) {
		/* Choose a registry first. */
		json_t *all = registry_list(r->st), *list = json_array();
		size_t i;
		json_t *x;
		json_array_foreach(all, i, x) {
			const char *share = jstr(x, "share");
			if (json_integer_value(json_object_get(x, "owner_dept_id")) == dept ||
			    (share && strcmp(share, "none") == 0))
				continue;
			json_array_append(list, x);
		}
		json_decref(all);
		json_object_set_new(ctx, "registries", list);
		json_object_set_new(ctx, "choose", json_true());
	} else {
		const struct reg_def *d = &reg->def;
		json_t *cond = json_array(), *unc = json_array(), *none = json_array();
		json_t *vf = values ? json_object_get(values, "fields") : NULL;
		for (int i = 0; i < d->nfields; i++) {
			const struct reg_field *fd = &d->fields[i];
			int checked = 0;
			size_t k;
			json_t *v;
			json_array_foreach(vf, k, v)
				checked |= json_is_string(v) && strcmp(json_string_value(v), fd->name) == 0;
			json_t *o = json_pack("{s:s,s:s,s:s,s:b,s:s?}", "name", fd->name, "label",
					      fd->label ? fd->label : fd->name, "type", reg_type_label(fd->type),
					      "checked", checked, "cond", fd->share_cond ? fd->share_cond : d->share_cond);
			json_array_append_new(fd->share == RS_CONDITIONAL ? cond : fd->share == RS_UNCONDITIONAL ? unc
													       : none,
					      o);
		}
		json_object_set_new(ctx, "registry", json_pack("{s:s,s:s,s:s,s:s?}", "code", d->code, "name", d->name,
							       "share_label", reg_share_label(d->share), "cond",
							       d->share_cond));
		json_object_set_new(ctx, "has_unconditional", json_boolean(json_array_size(unc) > 0));
		json_object_set_new(ctx, "has_none", json_boolean(json_array_size(none) > 0));
		json_object_set_new(ctx, "conditional", cond);
		json_object_set_new(ctx, "unconditional", unc);
		json_object_set_new(ctx, "none", none);
		json_object_set_new(ctx, "owner_name", json_string(dept_name(r, reg->owner_dept_id)));
	}
	json_t *vals = values ? json_deep_copy(values) : json_object();
	if (json_object_get(vals, "days") == NULL)
		json_object_set_new(vals, "days", json_integer(90));
	json_object_set_new(ctx, "values", vals);
	if (f != NULL && f->why != MSG_NONE) {
		const char *text = f->detail ? f->detail : msg(f->why);
		json_object_set_new(ctx, "error", json_pack("{s:s?,s:s}", "field", f->field, "message", text));
		json_object_set_new(ctx, "errors", f->field ? json_pack("{s:s}", f->field, text) : json_object());
	}
	return ctx;
}

/* GET /share/requests/new?registry=CODE&dept= */
static void page_new(struct req *r)
{
	int64_t dept = share_acting_dept(r);
	if (dept == 0) {
		resp_error(r, 403, MSG_SHARE_NO_DEPT, NULL);
		return;
	}
	const char *code = req_in_str(r, "registry");
	const struct registry *reg = code && *code ? registry_get(r->st, code) : NULL;
	struct fail f = { 0 };
	if (code && *code && check_registry(r, reg, dept, &f) != 0) {
		json_t *ctx = form_ctx(r, NULL, dept, NULL, &f);
		resp_page(r, f.status, "share/grant_form", ctx);
		return;
	}
	resp_page(r, 200, "share/grant_form", form_ctx(r, reg, dept, NULL, NULL));
}

/* POST /share/requests/new (RF_DYNAMIC: one checkbox per field, "f_<name>") */
static void do_new(struct req *r)
{
	int64_t dept = share_acting_dept(r);
	if (dept == 0) {
		resp_error(r, 403, MSG_SHARE_NO_DEPT, NULL);
		return;
	}
	const char *code = jstr(r->in, "registry");
	const struct registry *reg = code ? registry_get(r->st, code) : NULL;
	struct fail f = { 0 };
	if (check_registry(r, reg, dept, &f) != 0) {
		store_rollback(r->st);
		resp_page(r, f.status, "share/grant_form", form_ctx(r, NULL, dept, NULL, &f));
		return;
	}
	const struct reg_def *d = &reg->def;
	struct field_spec *spec = arena_alloc(r->arena, sizeof *spec * ((size_t)d->nfields + 6));
	int n = 0;
	spec[n++] = (struct field_spec){ "registry", FT_TEXT, FS_REQUIRED, 1, 32, NULL, "信息资源" };
	spec[n++] = (struct field_spec){ "dept", FT_INT, 0, 1, INT64_MAX, NULL, "申请部门" };
	spec[n++] = (struct field_spec){ "purpose", FT_TEXT, FS_REQUIRED, 5, 200, NULL, "用途" };
	spec[n++] = (struct field_spec){ "basis", FT_TEXTAREA, 0, 0, 1000, NULL, "依据" };
	spec[n++] = (struct field_spec){ "days", FT_INT, FS_REQUIRED, 1, 365, NULL, "使用期限（天）" };
	for (int i = 0; i < d->nfields; i++)
		spec[n++] = (struct field_spec){ arena_printf(r->arena, "f_%s", d->fields[i].name), FT_BOOL, 0, 0, 0,
						 NULL, d->fields[i].label };
	spec[n] = (struct field_spec){ NULL };
	/* Keep what was typed for the form again (before req_check normalises). */
	json_t *values = json_object();
	json_t *wanted = json_array();
	const char *k;
	json_t *v;
	json_object_foreach(r->in, k, v) {
		if (strncmp(k, "f_", 2) == 0 && json_is_string(v) && strcmp(json_string_value(v), "0") != 0 &&
		    *json_string_value(v))
			json_array_append_new(wanted, json_string(k + 2));
		else if (strncmp(k, "f_", 2) != 0)
			json_object_set(values, k, v);
	}
	json_object_set(values, "fields", wanted);
	struct input_error ie = { 0 };
	if (input_check(spec, r->in, 1, &ie) != 0) {
		const char *field = ie.field;
		const char *label = NULL;
		for (int i = 0; spec[i].name; i++)
			if (strcmp(spec[i].name, ie.field) == 0)
				label = spec[i].label;
		struct fail fe = { ie.status, ie.msg, field[0] == 'f' && field[1] == '_' ? "fields" : field,
				   label ? arena_printf(r->arena, "%s：%s", label, ie.detail[0] ? ie.detail : msg(ie.msg))
					 : NULL };
		fe.field = arena_strdup(r->arena, fe.field);
		store_rollback(r->st);
		resp_page(r, ie.status, "share/grant_form", form_ctx(r, reg, dept, values, &fe));
		json_decref(values);
		json_decref(wanted);
		return;
	}
	size_t nw = json_array_size(wanted);
	const char **want = arena_alloc(r->arena, sizeof(char *) * (nw + 1));
	for (size_t i = 0; i < nw; i++)
		want[i] = arena_strdup(r->arena, json_string_value(json_array_get(wanted, i)));
	struct req_in in = { reg, dept, NULL, jstr(r->in, "purpose"), jstr(r->in, "basis"),
			     (int)req_in_int(r, "days", 0) };
	int64_t id = 0;
	if (check_fields(r, reg, want, (int)nw, &in.fields, &f) != 0 ||
	    request_create(r->st, r, r->who.user_id, r->who.login, &in, &id, &f) != 0) {
		if (f.status >= 500) {
			resp_error(r, 500, MSG_HTTP_500, NULL);
		} else {
			store_rollback(r->st);
			resp_page(r, f.status, "share/grant_form", form_ctx(r, reg, dept, values, &f));
		}
		json_decref(values);
		json_decref(wanted);
		return;
	}
	json_decref(values);
	json_decref(wanted);
	resp_redirect(r, arena_printf(r->arena, "/share/requests/%lld?done=new", (long long)id));
}

static void decorate_light(json_t *items)
{
	static const char *const css[] = { "green", "yellow", "red" };
	static const char *const text[] = { "正常", "临近时限", "已超期" };
	size_t i;
	json_t *o;
	json_array_foreach(items, i, o) {
		int l = (int)json_integer_value(json_object_get(o, "light"));
		if (l < 0 || l > 2)
			l = 0;
		json_object_set_new(o, "light_css", json_string(css[l]));
		json_object_set_new(o, "light_text", json_string(text[l]));
	}
}

/* GET /share/requests?dept=&after_out=&after_in= */
static void page_list(struct req *r)
{
	int64_t dept = share_acting_dept(r);
	if (dept == 0) {
		resp_error(r, 403, MSG_SHARE_NO_DEPT, NULL);
		return;
	}
	json_t *out = request_list(r, dept, 0, req_in_int(r, "after_out", 0), LIST_PAGE);
	json_t *in = request_list(r, dept, 1, req_in_int(r, "after_in", 0), LIST_PAGE);
	if (out == NULL || in == NULL) {
		json_decref(out);
		json_decref(in);
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	decorate_light(json_object_get(out, "items"));
	decorate_light(json_object_get(in, "items"));
	json_t *ctx = json_pack("{s:s,s:I,s:s,s:o,s:o}", "title", "数据共享申请", "dept_id", (json_int_t)dept,
				"dept_name", dept_name(r, dept), "out", out, "in", in);
	set_depts(r, ctx, dept, "/share/requests");
	resp_page(r, 200, "share/grant_list", ctx);
}

/* The detail page (after a failed decision: status, f, values). */
static void detail_render(struct req *r, json_t *rq, const struct access *a, int status, const struct fail *f,
			  const char *reason)
{
	if (status >= 400 && store_in_tx(r->st))
		store_rollback(r->st);
	int64_t case_id = json_integer_value(json_object_get(rq, "case_id"));
	json_t *tl = case_timeline(r->st, case_id, 0);
	if (tl == NULL) {
		json_decref(rq);
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	size_t i;
	json_t *ev;
	json_array_foreach(tl, i, ev) {
		json_object_set_new(ev, "at_text", json_string(time_text(r, json_integer_value(json_object_get(ev, "at")))));
		const char *why = jstr(json_object_get(ev, "data"), "reason");
		if (why != NULL)
			json_object_set_new(ev, "reason", json_string(why));
	}
	int open = !json_is_true(json_object_get(rq, "final"));
	json_t *ctx = json_pack("{s:s,s:O,s:o,s:b,s:b}", "title", "数据共享申请", "req", rq, "timeline", tl,
				"can_decide", open && (a->owner_roles & (PD_ROLE_STAFF | PD_ROLE_DEPT_ADMIN)) != 0,
				"can_withdraw", open && a->applicant);
	json_t *arr = json_object_get(rq, "fields");
	json_object_set_new(ctx, "light_text", json_string(json_integer_value(json_object_get(rq, "light")) == 2 ? "已超期"
							   : json_integer_value(json_object_get(rq, "light")) == 1 ? "临近时限" : "正常"));
	json_object_set_new(ctx, "light_css", json_string(json_integer_value(json_object_get(rq, "light")) == 2 ? "red"
							  : json_integer_value(json_object_get(rq, "light")) == 1 ? "yellow" : "green"));
	(void)arr;
	const char *done = req_query(r, "done");
	if (done != NULL && status < 400)
		json_object_set_new(ctx, "done", json_string(strcmp(done, "new") == 0 ? "申请已提交，等待提供部门审批。"
							     : strcmp(done, "approve") == 0 ? "已同意，授权已生效。"
							     : strcmp(done, "reject") == 0 ? "已作出不同意的决定。"
							     : strcmp(done, "withdraw") == 0 ? "申请已撤回。" : "已保存。"));
	if (f != NULL && f->why != MSG_NONE) {
		json_object_set_new(ctx, "error", json_pack("{s:s?,s:s}", "field", f->field, "message", msg(f->why)));
		if (f->field)
			json_object_set_new(ctx, "errors", json_pack("{s:s}", f->field, msg(f->why)));
	}
	json_object_set_new(ctx, "reason", json_string(reason ? reason : ""));
	json_decref(rq);
	resp_page(r, status, "share/grant_request", ctx);
}

/* GET /share/requests/{id} */
static void page_detail(struct req *r)
{
	struct access a;
	json_t *rq = load_request(r, &a);
	if (rq != NULL)
		detail_render(r, rq, &a, 200, NULL, NULL);
}

/*
 * GET /share/cases/{id}: the page of a case of this application, where the
 * case engine's lists (电子监察) link to (case_staff_href): its grant
 * request or its data-quality task, each of which checks who may see it.
 */
static void page_case(struct req *r)
{
	int64_t id = 0;
	if (req_param_id(r, "id", &id) != 0)
		return;
	struct sval p[] = { SVI(id) };
	struct store_res *res = NULL;
	if (store_query(r->st, sql[S_CASE_PAGE], p, 1, &res) != STORE_OK) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	const char *process = store_res_rows(res) ? store_res_text(res, 0, 0) : "";
	if (strcmp(process, "share.grant") == 0 && !store_res_isnull(res, 0, 1))
		resp_redirect(r, arena_printf(r->arena, "/share/requests/%lld", (long long)store_res_int(res, 0, 1)));
	else if (strcmp(process, "share.dq") == 0)
		resp_redirect(r, arena_printf(r->arena, "/share/tasks/%lld", (long long)id));
	else
		resp_error(r, 404, MSG_HTTP_404, NULL);
	store_res_free(res);
}

/* POST /share/requests/{id}/decision  decision=approve|reject, reason, version */
static void do_decision(struct req *r)
{
	struct access a;
	json_t *rq = load_request(r, &a);
	if (rq == NULL)
		return;
	const char *decision = req_in_str(r, "decision");
	const char *reason = req_in_str(r, "reason");
	struct fail f = { 0 };
	int approve = decision && strcmp(decision, "approve") == 0;
	if (decide(r, rq, approve, reason, req_in_int(r, "version", 0), a.owner_roles, &f) != 0) {
		if (f.status >= 500) {
			json_decref(rq);
			resp_error(r, 500, MSG_HTTP_500, NULL);
			return;
		}
		detail_render(r, rq, &a, f.status, &f, reason ? arena_strdup(r->arena, reason) : NULL);
		return;
	}
	resp_redirect(r, arena_printf(r->arena, "/share/requests/%lld?done=%s",
				      (long long)json_integer_value(json_object_get(rq, "id")),
				      approve ? "approve" : "reject"));
	json_decref(rq);
}

/* POST /share/requests/{id}/withdraw  version */
static void do_withdraw(struct req *r)
{
	struct access a;
	json_t *rq = load_request(r, &a);
	if (rq == NULL)
		return;
	struct fail f = { 0 };
	if (withdraw(r, rq, req_in_int(r, "version", 0), &f) != 0) {
		if (f.status >= 500) {
			json_decref(rq);
			resp_error(r, 500, MSG_HTTP_500, NULL);
			return;
		}
		detail_render(r, rq, &a, f.status, &f, NULL);
		return;
	}
	resp_redirect(r, arena_printf(r->arena, "/share/requests/%lld?done=withdraw",
				      (long long)json_integer_value(json_object_get(rq, "id"))));
	json_decref(rq);
}

/* GET /share/grants?dept=&after= */
static void page_grants(struct req *r)
{
	int64_t dept = share_acting_dept(r);
	if (dept == 0) {
		resp_error(r, 403, MSG_SHARE_NO_DEPT, NULL);
		return;
	}
	json_t *g = grant_list(r, dept, req_in_int(r, "after", 0), LIST_PAGE);
	if (g == NULL) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	json_t *given = json_array(), *received = json_array();
	size_t i;
	json_t *o;
	json_array_foreach(json_object_get(g, "items"), i, o)
		json_array_append(json_is_true(json_object_get(o, "given")) ? given : received, o);
	json_t *ctx = json_pack("{s:s,s:I,s:s,s:o,s:o,s:O}", "title", "数据共享授权", "dept_id", (json_int_t)dept,
				"dept_name", dept_name(r, dept), "given", given, "received", received, "next",
				json_object_get(g, "next"));
	json_decref(g);
	set_depts(r, ctx, dept, "/share/grants");
	const char *done = req_query(r, "done");
	if (done != NULL)
		json_object_set_new(ctx, "done", json_string("授权已撤销。"));
	resp_page(r, 200, "share/grant_grants", ctx);
}

/* Revokes (owner) or gives up (grantee) grant {id}; 0 with *gid, or -1 with *f. */
static int revoke(struct req *r, const char *reason, struct fail *f)
{
	int64_t id = 0;
	if (req_param_id(r, "id", &id) != 0)
		return failed(f, 0, MSG_NONE, NULL, NULL);   /* answered */
	struct store_res *res = NULL;
	struct sval p[] = { SVI(id) };
	if (store_query(r->st, sql[S_GRANT_GET], p, 1, &res) != STORE_OK)
		return failed(f, 500, MSG_HTTP_500, NULL, NULL);
	if (store_res_rows(res) != 1) {
		store_res_free(res);
		return failed(f, 404, MSG_GRANT_GRANT_NOT_FOUND, NULL, NULL);
	}
	int64_t owner = store_res_int(res, 0, 2), grantee = store_res_int(res, 0, 3);
	int revoked = !store_res_isnull(res, 0, 10);
	char today[11];
	today_text(today);
	int expired = strcmp(store_res_text(res, 0, 7), today) <= 0;
	const char *code = arena_strdup(r->arena, store_res_text(res, 0, 13));
	const char *rname = arena_strdup(r->arena, store_res_text(res, 0, 14));
	const char *oname = arena_strdup(r->arena, store_res_text(res, 0, 15));
	store_res_free(res);
	int is_owner = dept_roles(r, owner) != 0, is_grantee = dept_roles(r, grantee) != 0;
	if (!is_owner && !is_grantee)
		return failed(f, r->who.roles & ROLEBIT_PLATFORM_ADMIN ? 403 : 404,
			      r->who.roles & ROLEBIT_PLATFORM_ADMIN ? MSG_GRANT_NOT_YOURS : MSG_GRANT_GRANT_NOT_FOUND,
			      NULL, NULL);
	if (revoked || expired)
		return failed(f, 409, MSG_GRANT_NOT_ACTIVE, NULL, NULL);
	if (is_owner && (reason == NULL || *reason == '\0'))
		return failed(f, 400, MSG_GRANT_REVOKE_REASON_REQUIRED, "reason", NULL);
	const char *kind = is_owner ? "revoke" : "give_up";
	int64_t n = 0;
	struct sval u[] = { SVI(id), SVI(time(NULL)), SVI(r->who.user_id), SVT(kind), SVT(reason && *reason ? reason : NULL) };
	if (store_exec(r->st, sql[S_GRANT_REVOKE], u, 5, &n) != STORE_OK)
		return failed(f, 500, MSG_HTTP_500, NULL, NULL);
	if (n == 0)
		return failed(f, 409, MSG_GRANT_NOT_ACTIVE, NULL, NULL);
	char obj[48];
	snprintf(obj, sizeof obj, "share_grant:%lld", (long long)id);
	json_t *det = json_pack("{s:s,s:s,s:I,s:s?}", "registry", code, "kind", kind, "grantee", (json_int_t)grantee,
				"reason", reason && *reason ? reason : NULL);
	int arc = audit(r->st, r, "grant.revoke", obj, owner, det);
	json_decref(det);
	if (arc != 0)
		return failed(f, 500, MSG_HTTP_500, NULL, NULL);
	if (is_owner) {
		char dedup[64];
		snprintf(dedup, sizeof dedup, "share.revoke:%lld", (long long)id);
		char *body = xasprintf("%s撤销了本部门对“%s”的共享授权。理由：%s", oname, rname, reason);
		int nrc = notify_dept(r->st, grantee, "share.revoke", msg(MSG_GRANT_REVOKED_TITLE), body, "/share/grants",
				      dedup);
		free(body);
		if (nrc != 0)
			return failed(f, 500, MSG_HTTP_500, NULL, NULL);
	}
	return 0;
}

/* POST /share/grants/{id}/revoke  reason */
static void do_revoke(struct req *r)
{
	struct fail f = { 0 };
	if (revoke(r, req_in_str(r, "reason"), &f) != 0) {
		if (f.status != 0)
			resp_error(r, f.status, f.why, f.field);
		return;
	}
	resp_redirect(r, "/share/grants?done=revoke");
}

/* ------------------------------------------------------------ API */

static void api_fail(struct req *r, const struct fail *f)
{
	if (f->detail == NULL) {
		resp_error(r, f->status, f->why, f->field);
		return;
	}
	resp_json(r, f->status, json_pack("{s:{s:s,s:s,s:s?}}", "error", "code", msg_name(f->why), "message",
					  f->detail, "field", f->field));
}

/* POST /api/v1/share/requests {registry, fields:[...], purpose, basis?, days, dept?} */
static void api_create(struct req *r)
{
	static const struct field_spec spec[] = {
		{ "registry", FT_TEXT, FS_REQUIRED, 1, 32, NULL, "信息资源" },
		{ "dept", FT_INT, 0, 1, INT64_MAX, NULL, "申请部门" },
		{ "purpose", FT_TEXT, FS_REQUIRED, 5, 200, NULL, "用途" },
		{ "basis", FT_TEXTAREA, 0, 0, 1000, NULL, "依据" },
		{ "days", FT_INT, FS_REQUIRED, 1, 365, NULL, "使用期限（天）" },
		{ NULL },
	};
	json_t *fields = json_incref(json_object_get(r->in, "fields"));
	json_object_del(r->in, "fields");
	struct fail f = { 0 };
	if (req_check(r, spec) != 0) {
		json_decref(fields);
		return;
	}
	if (!json_is_array(fields) || json_array_size(fields) == 0 || json_array_size(fields) > REG_MAX_FIELDS) {
		enum msg_id why = json_is_array(fields) && json_array_size(fields) > 0 ? MSG_FIELD_TOO_LONG
											: MSG_GRANT_FIELDS_REQUIRED;
		json_decref(fields);
		resp_error(r, 400, why, "fields");
		return;
	}
	size_t nw = json_array_size(fields);
	const char **want = arena_alloc(r->arena, sizeof(char *) * (nw + 1));
	for (size_t i = 0; i < nw; i++) {
		json_t *v = json_array_get(fields, i);
		if (!json_is_string(v)) {
			json_decref(fields);
			resp_error(r, 400, MSG_FIELD_NOT_STRING, "fields");
			return;
		}
		want[i] = arena_strdup(r->arena, json_string_value(v));
	}
	json_decref(fields);
	int64_t dept = share_acting_dept(r);
	if (dept == 0) {
		resp_error(r, 403, MSG_SHARE_NO_DEPT, NULL);
		return;
	}
	const struct registry *reg = registry_get(r->st, jstr(r->in, "registry"));
	struct req_in in = { reg, dept, NULL, jstr(r->in, "purpose"), jstr(r->in, "basis"),
			     (int)req_in_int(r, "days", 0) };
	int64_t id = 0;
	if (check_registry(r, reg, dept, &f) != 0 || check_fields(r, reg, want, (int)nw, &in.fields, &f) != 0 ||
	    request_create(r->st, r, r->who.user_id, r->who.login, &in, &id, &f) != 0) {
		api_fail(r, &f);
		return;
	}
	int err = 0;
	json_t *rq = request_get(r, id, &err);
	if (rq == NULL) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	resp_json(r, 201, rq);
}

/* GET /api/v1/share/requests?box=out|in&dept=&after=&limit= */
static void api_list(struct req *r)
{
	int64_t dept = share_acting_dept(r);
	if (dept == 0) {
		resp_error(r, 403, MSG_SHARE_NO_DEPT, NULL);
		return;
	}
	const char *box = req_in_str(r, "box");
	json_t *l = request_list(r, dept, box && strcmp(box, "in") == 0, req_in_int(r, "after", 0),
				 (int)req_in_int(r, "limit", LIST_PAGE));
	if (l == NULL) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	resp_json(r, 200, l);
}

/* GET /api/v1/share/requests/{id} */
static void api_get(struct req *r)
{
	struct access a;
	json_t *rq = load_request(r, &a);
	if (rq == NULL)
		return;
	json_t *tl = case_timeline(r->st, json_integer_value(json_object_get(rq, "case_id")), 0);
	json_object_set_new(rq, "timeline", tl ? tl : json_array());
	resp_json(r, 200, rq);
}

/* POST /api/v1/share/requests/{id}/decision {decision: approve|reject|withdraw, reason?, version?} */
static void api_decision(struct req *r)
{
	struct access a;
	json_t *rq = load_request(r, &a);
	if (rq == NULL)
		return;
	const char *decision = req_in_str(r, "decision");
	struct fail f = { 0 };
	int rc = strcmp(decision, "withdraw") == 0
			 ? withdraw(r, rq, req_in_int(r, "version", 0), &f)
			 : decide(r, rq, strcmp(decision, "approve") == 0, req_in_str(r, "reason"),
				  req_in_int(r, "version", 0), a.owner_roles, &f);
	int64_t id = json_integer_value(json_object_get(rq, "id"));
	json_decref(rq);
	if (rc != 0) {
		api_fail(r, &f);
		return;
	}
	int err = 0;
	rq = request_get(r, id, &err);
	if (rq == NULL) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	resp_json(r, 200, rq);
}

/* GET /api/v1/share/grants?dept=&after=&limit= */
static void api_grants(struct req *r)
{
	int64_t dept = share_acting_dept(r);
	if (dept == 0) {
		resp_error(r, 403, MSG_SHARE_NO_DEPT, NULL);
		return;
	}
	json_t *g = grant_list(r, dept, req_in_int(r, "after", 0), (int)req_in_int(r, "limit", LIST_PAGE));
	if (g == NULL) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	resp_json(r, 200, g);
}

/* POST /api/v1/share/grants/{id}/revoke {reason} */
static void api_revoke(struct req *r)
{
	struct fail f = { 0 };
	if (revoke(r, req_in_str(r, "reason"), &f) != 0) {
		if (f.status != 0)
			api_fail(r, &f);
		return;
	}
	int64_t id = 0;
	(void)req_param_id(r, "id", &id);
	struct store_res *res = NULL;
	struct sval p[] = { SVI(id) };
	if (store_query(r->st, sql[S_GRANT_GET], p, 1, &res) != STORE_OK || store_res_rows(res) != 1) {
		store_res_free(res);
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	json_t *o = grant_row(r, res, 0, share_acting_dept(r));
	store_res_free(res);
	resp_json(r, 200, o);
}

/* ------------------------------------------------------------ desk */

static int desk_requests(struct req *r, json_t *items)
{
	if (r->who.kind != ACCT_STAFF || r->who.half || r->who.user_id == 0)
		return 0;
	struct store_res *res = NULL;
	struct sval p[] = { SVI(r->who.user_id) };
	if (store_query(r->st, sql[S_DESK], p, 1, &res) != STORE_OK)
		return -1;
	for (int i = 0; i < store_res_rows(res); i++)
		json_array_append_new(
			items, json_pack("{s:s,s:s,s:s,s:s,s:I,s:s}", "kind", "share.request", "title",
					 arena_printf(r->arena, "%s：%s", store_res_text(res, i, 1), msg(MSG_GRANT_DESK_PENDING)),
					 "href", arena_printf(r->arena, "/share/requests?dept=%lld#in",
							      (long long)store_res_int(res, i, 0)),
					 "status", "待审批", "count", (json_int_t)store_res_int(res, i, 2), "level", "warn"));
	store_res_free(res);
	return 0;
}

void share_grant_register(void)
{
	desk_register(desk_requests);
	/* The sharing API's catch-all paths, after every route table (see api.c). */
	http_add_routes(share_api_read_routes);
}

/* ------------------------------------------------------------ demo */

static int64_t id_of(struct store *st, int s, const char *key)
{
	int64_t id = 0;
	struct sval p[] = { SVT(key) };
	return store_query_int(st, sql[s], p, 1, &id) == STORE_OK ? id : 0;
}

int share_grant_demo(struct store *st, const struct keys *k)
{
	const struct registry *pop = registry_get(st, "population");
	int64_t mca = id_of(st, S_DEPT_ID, "mca"), hrss = id_of(st, S_DEPT_ID, "hrss");
	int64_t wang = id_of(st, S_USER_ID, "wang.mca"), zhao = id_of(st, S_USER_ID, "zhao.psb");
	if (pop == NULL || mca == 0 || hrss == 0 || wang == 0 || zhao == 0) {
		log_info("share: demo grants skipped (population registry or demo people missing)");
		return 0;
	}
	int64_t existing = 0;
	if (store_query_int(st, "SELECT COUNT(*) FROM share_requests", NULL, 0, &existing) != STORE_OK)
		return -1;
	if (existing > 0)
		return 0;
	struct fail f = { 0 };
	struct req_in a = { pop, mca, "name,address,household_no", "最低生活保障审核", "《社会救助暂行办法》第十一条", 180 };
	struct req_in b = { pop, hrss, "name,birth_date", "社会保险参保资格核验", NULL, 90 };
	int64_t ida = 0, idb = 0;
	/* Only fields the registry has and may share (the definition is another file's). */
	const char *fa[] = { "name", "address", "household_no" }, *fb[] = { "name", "birth_date" };
	struct req dummy;
	memset(&dummy, 0, sizeof dummy);
	dummy.arena = arena_new();
	int rc = -1;
	if (check_fields(&dummy, pop, fa, 3, &a.fields, &f) != 0 || check_fields(&dummy, pop, fb, 2, &b.fields, &f) != 0) {
		log_error("share: demo grant fields refused by the population definition: %s", msg(f.why));
		goto out;
	}
	if (request_create(st, NULL, wang, "wang.mca", &a, &ida, &f) != 0 ||
	    request_create(st, NULL, 0, "system", &b, &idb, &f) != 0)
		goto out;
	/* zhao.psb approves the first. */
	dummy.st = st;
	dummy.who.user_id = zhao;
	dummy.who.login = "zhao.psb";
	dummy.who.kind = ACCT_STAFF;
	int err = 0;
	json_t *rq = request_get(&dummy, ida, &err);
	if (rq == NULL)
		goto out;
	rc = decide(&dummy, rq, 1, NULL, 0, PD_ROLE_STAFF | PD_ROLE_DEPT_ADMIN, &f);
	json_decref(rq);
	if (rc == 0)
		rc = share_token_demo(st, k);
out:
	arena_free(dummy.arena);
	return rc;
}

/* ------------------------------------------------------------ routes */

static const struct field_spec fs_new_page[] = {
	{ "registry", FT_TEXT, 0, 0, 32, NULL, "信息资源" },
	{ "dept", FT_INT, 0, 1, INT64_MAX, NULL, "部门" },
	{ NULL },
};

static const struct field_spec fs_list[] = {
	{ "dept", FT_INT, 0, 1, INT64_MAX, NULL, "部门" },
	{ "after_out", FT_INT, 0, 0, INT64_MAX, NULL, "游标" },
	{ "after_in", FT_INT, 0, 0, INT64_MAX, NULL, "游标" },
	{ NULL },
};

static const struct field_spec fs_detail[] = {
	{ "done", FT_TEXT, 0, 0, 20, NULL, "结果" },
	{ NULL },
};

static const char *const decisions[] = { "approve", "reject", NULL };
static const char *const api_decisions[] = { "approve", "reject", "withdraw", NULL };

static const struct field_spec fs_decision[] = {
	{ "decision", FT_CHOICE, FS_REQUIRED, 0, 0, decisions, "审批结果" },
	{ "reason", FT_TEXTAREA, 0, 0, 1000, NULL, "理由" },
	{ "version", FT_INT, 0, 1, INT64_MAX, NULL, "版本" },
	{ NULL },
};

static const struct field_spec fs_api_decision[] = {
	{ "decision", FT_CHOICE, FS_REQUIRED, 0, 0, api_decisions, "审批结果" },
	{ "reason", FT_TEXTAREA, 0, 0, 1000, NULL, "理由" },
	{ "version", FT_INT, 0, 1, INT64_MAX, NULL, "版本" },
	{ NULL },
};

static const struct field_spec fs_withdraw[] = {
	{ "version", FT_INT, 0, 1, INT64_MAX, NULL, "版本" },
	{ NULL },
};

static const struct field_spec fs_grants[] = {
	{ "dept", FT_INT, 0, 1, INT64_MAX, NULL, "部门" },
	{ "after", FT_INT, 0, 0, INT64_MAX, NULL, "游标" },
	{ "done", FT_TEXT, 0, 0, 20, NULL, "结果" },
	{ NULL },
};

static const char *const boxes[] = { "out", "in", NULL };

static const struct field_spec fs_api_list[] = {
	{ "dept", FT_INT, 0, 1, INT64_MAX, NULL, "部门" },
	{ "box", FT_CHOICE, 0, 0, 0, boxes, "方向" },
	{ "after", FT_INT, 0, 0, INT64_MAX, NULL, "游标" },
	{ "limit", FT_INT, 0, 1, 200, NULL, "每页条数" },
	{ NULL },
};

static const struct field_spec fs_api_grants[] = {
	{ "dept", FT_INT, 0, 1, INT64_MAX, NULL, "部门" },
	{ "after", FT_INT, 0, 0, INT64_MAX, NULL, "游标" },
	{ "limit", FT_INT, 0, 1, 200, NULL, "每页条数" },
	{ NULL },
};

static const struct field_spec fs_revoke[] = {
	{ "reason", FT_TEXTAREA, 0, 0, 1000, NULL, "理由" },
	{ NULL },
};

#define CSRF RF_CSRF
#define API (RF_API | RF_CSRF)
const struct route share_grant_routes[] = {
	{ HM_GET, "/share/requests/new", page_new, ROLE_STAFF, 0, fs_new_page, NULL, NULL,
	  "Request form for a conditional resource" },
	{ HM_POST, "/share/requests/new", do_new, ROLE_STAFF, CSRF | RF_DYNAMIC | RF_IDEM, NULL, NULL, NULL,
	  "Submit a request: registry, f_<field> checkboxes, purpose, basis, days" },
	{ HM_GET, "/share/requests", page_list, ROLE_STAFF, 0, fs_list, NULL, NULL,
	  "The acting department's requests, made and received" },
	{ HM_GET, "/share/requests/{id}", page_detail, ROLE_STAFF, 0, fs_detail, NULL, NULL,
	  "A request: details, timeline, decision" },
	{ HM_GET, "/share/cases/{id}", page_case, ROLE_STAFF, 0, NULL, NULL, NULL,
	  "A case of the sharing app (grant request or data-quality task): redirects to its page" },
	{ HM_POST, "/share/requests/{id}/decision", do_decision, ROLE_STAFF, CSRF, fs_decision, NULL, NULL,
	  "Approve or reject a request (owner's staff; a reason is required to reject)" },
	{ HM_POST, "/share/requests/{id}/withdraw", do_withdraw, ROLE_STAFF, CSRF, fs_withdraw, NULL, NULL,
	  "Withdraw one's own pending request" },
	{ HM_GET, "/share/grants", page_grants, ROLE_STAFF, 0, fs_grants, NULL, NULL,
	  "Grants given and received by the acting department" },
	{ HM_POST, "/share/grants/{id}/revoke", do_revoke, ROLE_STAFF, CSRF, fs_revoke, NULL, NULL,
	  "Revoke a grant (owner, reason required) or give it up (grantee)" },
	{ HM_POST, "/api/v1/share/requests", api_create, ROLE_STAFF, API | RF_DYNAMIC | RF_IDEM, NULL, NULL, NULL,
	  "Request a conditional resource: {registry, fields:[...], purpose, basis?, days, dept?}" },
	{ HM_GET, "/api/v1/share/requests", api_list, ROLE_STAFF, RF_API, fs_api_list, NULL, NULL,
	  "The acting department's requests (box=out|in), newest first (cursor pagination)" },
	{ HM_GET, "/api/v1/share/requests/{id}", api_get, ROLE_STAFF, RF_API, NULL, NULL, NULL,
	  "One request with its timeline" },
	{ HM_POST, "/api/v1/share/requests/{id}/decision", api_decision, ROLE_STAFF, API, fs_api_decision, NULL, NULL,
	  "Decide a request: {decision: approve|reject|withdraw, reason?, version?}" },
	{ HM_GET, "/api/v1/share/grants", api_grants, ROLE_STAFF, RF_API, fs_api_grants, NULL, NULL,
	  "Grants given and received by the acting department (cursor pagination)" },
	{ HM_POST, "/api/v1/share/grants/{id}/revoke", api_revoke, ROLE_STAFF, API, fs_revoke, NULL, NULL,
	  "Revoke a grant (owner, {reason} required) or give it up (grantee)" },
	{ 0, NULL, NULL, 0, 0, NULL, NULL, NULL, NULL },
};
