/*
 * handle: the staff side of the online service hall (办件处理).
 *
 *   /hall/inbox                       a department's open cases by urgency (红黄绿灯)
 *   /hall/cases/{id}                  the staff view of a case (apply.c's page calls
 *                                     hall_case_staff_page for staff of the case)
 *   POST /hall/cases/{id}/handle      take a transition (受理, 一次性告知, 审查, 准予许可 ...)
 *   POST /hall/cases/{id}/assign      take the case, or assign it to a colleague
 *   POST /hall/cases/{id}/comment     an internal or public comment
 *   /hall/supervision                 电子监察: every yellow and red case, recent escalations
 *   /api/v1/hall/...                  the same as JSON
 *
 * Who may act on a case is computed per case (hall_staff_roles): staff of
 * its department, its administrators, and platform admins as supervisors.
 * Anyone else gets 404, so case ids are no oracle.  Actions go through the
 * case engine (engines/case/case.h), which checks the version (optimistic
 * locking: of two people acting on one page, one wins and the other gets
 * 409 with nothing changed), the state, the roles and the required fields.
 * An approval of an item with a result name issues its certificate in the
 * same transaction (cert.c).
 */
#include "apps/hall/hall.h"
#include "apps/hall/hall_int.h"
#include "apps/hall/items.h"
#include "core/account.h"
#include "core/audit.h"
#include "core/conf.h"
#include "core/desk.h"
#include "core/dept.h"
#include "core/files.h"
#include "core/log.h"
#include "core/msg.h"
#include "core/validate.h"
#include "core/xalloc.h"
#include "engines/case/case.h"
#include "engines/case/procdef.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define INBOX_PAGE 50
#define SUPERVISION_MAX 200
#define ESCALATION_DAYS 30

enum {
	S_ROLES,
	S_HEAD,
	S_USER,
	S_COLLEAGUES,
	S_DESK,
	S_DESK_ALL,
	S_SUP_LIGHT,
	S_SUP_COUNT,
	S_SUP_ESC,
	S__MAX
};

static const char *const sql[S__MAX] = {
	[S_ROLES] = "SELECT role FROM user_roles WHERE user_id = $1 AND dept_id = $2",
	[S_HEAD] = "SELECT dept_id, applicant_id, process, state, item_code FROM cases WHERE id = $1",
	[S_USER] = "SELECT name, kind, ident_masked, phone, login FROM users WHERE id = $1",
	[S_COLLEAGUES] = "SELECT DISTINCT u.id, u.name, u.login FROM users u JOIN user_roles r ON r.user_id = u.id "
			 "WHERE r.dept_id = $1 AND r.role IN ('staff', 'dept_admin') AND u.disabled = 0 "
			 "ORDER BY u.id",
	[S_DESK] = "SELECT c.dept_id, d.name, c.light, COUNT(*) FROM cases c JOIN departments d ON d.id = c.dept_id "
		   "WHERE c.state_final = 0 AND c.light > 0 AND c.dept_id IN (SELECT dept_id FROM user_roles "
		   "WHERE user_id = $1 AND role IN ('staff', 'dept_admin')) "
		   "GROUP BY c.dept_id, d.name, c.light ORDER BY c.light DESC, c.dept_id",
	[S_DESK_ALL] = "SELECT COUNT(*) FROM cases WHERE state_final = 0 AND light = 2",
	[S_SUP_LIGHT] = "SELECT c.id, c.tracking, c.subject, c.state, c.process, c.deadline, c.updated_at, d.name, "
			"u.name FROM cases c JOIN departments d ON d.id = c.dept_id "
			"LEFT JOIN users u ON u.id = c.assignee_id "
			"WHERE c.state_final = 0 AND c.light = $1 ORDER BY c.deadline, c.id LIMIT $2",
	[S_SUP_COUNT] = "SELECT COUNT(*) FROM cases WHERE state_final = 0 AND light = $1",
	[S_SUP_ESC] = "SELECT e.id, e.case_id, e.title, e.day, e.created_at, c.subject, c.tracking, d.name, c.process "
		      "FROM case_events e JOIN cases c ON c.id = e.case_id "
		      "JOIN departments d ON d.id = c.dept_id "
		      "WHERE e.kind = 'escalate' AND e.created_at >= $1 ORDER BY e.id DESC LIMIT $2",
};

/* ------------------------------------------------------------- helpers */

/* The light as words and colour: 红灯 已超期 / badge-red (the text carries it without colour). */
static void light_decorate(json_t *o, int light)
{
	static const char *const css[] = { "green", "yellow", "red" };
	static const enum msg_id text[] = { MSG_HALL_LIGHT_GREEN_TEXT, MSG_HALL_LIGHT_YELLOW_TEXT,
					    MSG_HALL_LIGHT_RED_TEXT };
	if (light < 0 || light > 2)
		light = 0;
	json_object_set_new(o, "light_css", json_string(css[light]));
	json_object_set_new(o, "light_text", json_string(msg(text[light])));
}

static const char *time_text(struct req *r, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	char s[32];
	if (localtime_r(&tt, &tm) == NULL || strftime(s, sizeof s, "%Y-%m-%d %H:%M", &tm) == 0)
		return "";
	return arena_strdup(r->arena, s);
}

/* Chinese labels of the fields transitions require. */
static const char *field_label(const char *name)
{
	static const struct {
		const char *name;
		enum msg_id label;
	} labels[] = {
		{ "missing_list", MSG_HALL_F_MISSING_LIST },
		{ "reason", MSG_HALL_F_REASON },
		{ "opinion", MSG_HALL_F_OPINION },
		{ "result", MSG_HALL_F_RESULT },
		{ "comment", MSG_HALL_F_COMMENT },
	};
	for (size_t i = 0; i < sizeof labels / sizeof labels[0]; i++)
		if (strcmp(labels[i].name, name) == 0)
			return msg(labels[i].label);
	return name;
}

/* "138****8000"; identifiers keep head and tail: 440106********123X, 91440106********XY. */
static const char *mask_keep(struct req *r, const char *v, size_t head, size_t tail)
{
	size_t n = strlen(v);
	if (n <= head + tail)
		return "****";
	char *o = arena_alloc(r->arena, n + 1);
	memcpy(o, v, head);
	memset(o + head, '*', n - head - tail);
	memcpy(o + n - tail, v + n - tail, tail);
	return o;
}

unsigned hall_staff_roles(struct req *r, int64_t dept_id)
{
	unsigned roles = 0;
	if (r->who.user_id == 0 || r->who.half || r->who.kind != ACCT_STAFF)
		return 0;
	if (r->who.roles & ROLEBIT_PLATFORM_ADMIN)
		roles |= PD_ROLE_SUPERVISOR;
	struct store_res *res = NULL;
	struct sval v[] = { SVI(r->who.user_id), SVI(dept_id) };
	if (store_query(r->st, sql[S_ROLES], v, 2, &res) != STORE_OK)
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

struct case_head {
	int64_t dept, applicant;
	const char *process, *state, *item;
};

/* 0, 1 when there is no such case, -1 on a store failure. */
static int load_head(struct req *r, int64_t id, struct case_head *h)
{
	struct store_res *res = NULL;
	struct sval v[] = { SVI(id) };
	if (store_query(r->st, sql[S_HEAD], v, 1, &res) != STORE_OK)
		return -1;
	int rc = 1;
	/* The hall handles its own processes only: a data-sharing request or a
	 * data-quality task is acted on in its application, where its effects live. */
	const char *process = store_res_rows(res) == 1 ? store_res_text(res, 0, 2) : NULL;
	if (process != NULL && strncmp(process, "hall.", 5) == 0) {
		h->dept = store_res_int(res, 0, 0);
		h->applicant = store_res_int(res, 0, 1);
		h->process = arena_strdup(r->arena, store_res_text(res, 0, 2));
		h->state = arena_strdup(r->arena, store_res_text(res, 0, 3));
		h->item = store_res_text(res, 0, 4) ? arena_strdup(r->arena, store_res_text(res, 0, 4)) : NULL;
		rc = 0;
	}
	store_res_free(res);
	return rc;
}

/* The case's head and r's roles for it; answers 404/500 and returns -1 for no role. */
static int staff_case(struct req *r, int64_t id, struct case_head *h, unsigned *roles)
{
	int rc = load_head(r, id, h);
	if (rc < 0) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return -1;
	}
	*roles = rc == 0 ? hall_staff_roles(r, h->dept) : 0;
	if (*roles == 0) {
		resp_error(r, 404, MSG_HALL_CASE_NOT_FOUND, NULL);
		return -1;
	}
	return 0;
}

static struct case_actor actor_of(struct req *r, unsigned roles)
{
	struct case_actor a = { r->who.user_id, r->who.login, roles };
	return a;
}

const char *hall_base_url(struct req *r)
{
	const char *b = http_ctx()->conf->base_url;
	if (b != NULL && *b)
		return b;
	const char *host = req_header(r, "Host");
	if (host == NULL || *host == '\0' || strlen(host) > 253)
		return "/";
	for (const char *p = host; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      *p == '.' || *p == '-' || *p == ':' || *p == '[' || *p == ']'))
			return "/";
	return arena_printf(r->arena, "%s://%s/", r->https ? "https" : "http", host);
}

/* -------------------------------------------------------------- inbox */

/* Adds href, light words, assignee name and deadline text to inbox items; drops drafts. */
static json_t *inbox_items(struct req *r, json_t *items)
{
	json_t *out = json_array();
	size_t i;
	json_t *it;
	json_array_foreach(items, i, it) {
		if (strcmp(hall_jstr(it, "state") ? hall_jstr(it, "state") : "", "draft") == 0)
			continue;   /* the applicant's own until submitted */
		json_t *o = json_deep_copy(it);
		int64_t id = hall_jint(it, "id");
		json_object_set_new(o, "href", json_string(arena_printf(r->arena, "/hall/cases/%lld", (long long)id)));
		light_decorate(o, (int)hall_jint(it, "light"));
		int64_t as = hall_jint(it, "assignee_id");
		if (as > 0) {
			struct store_res *res = NULL;
			struct sval v[] = { SVI(as) };
			if (store_query(r->st, sql[S_USER], v, 1, &res) == STORE_OK && store_res_rows(res) == 1)
				json_object_set_new(o, "assignee", json_string(store_res_text(res, 0, 0)));
			store_res_free(res);
		}
		json_array_append_new(out, o);
	}
	return out;
}

/* The inbox of r's request: 0 with *out {dept{id,name}, depts, items, next}, or -1 after answering. */
static int inbox_load(struct req *r, json_t **out)
{
	*out = NULL;
	json_t *depts = hall_user_depts(r, 1);
	if (depts == NULL) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return -1;
	}
	int64_t want = req_in_int(r, "dept", 0);
	json_t *dept = NULL;
	size_t i;
	json_t *d;
	json_array_foreach(depts, i, d) {
		int sel = want == 0 ? dept == NULL : hall_jint(d, "id") == want;
		if (sel)
			dept = d;
	}
	if (want != 0 && dept == NULL) {
		json_decref(depts);
		resp_error(r, 403, MSG_HALL_DEPT_FORBIDDEN, "dept");
		return -1;
	}
	json_array_foreach(depts, i, d)
		json_object_set_new(d, "selected", json_boolean(d == dept));
	json_t *page = NULL;
	if (dept != NULL) {
		const char *state = req_in_str(r, "state");
		int limit = (int)req_in_int(r, "limit", INBOX_PAGE);
		enum case_rc rc = case_inbox_app(r->st, hall_jint(dept, "id"), "hall",
						 state && *state ? state : NULL, req_in_str(r, "after"),
						 limit, &page);
		if (rc != CASE_OK) {
			json_decref(depts);
			if (rc == CASE_INVALID)
				resp_error(r, 400, MSG_CASE_E_INVALID, "after");
			else
				resp_error(r, 500, MSG_HTTP_500, NULL);
			return -1;
		}
	}
	json_t *items = page ? inbox_items(r, json_object_get(page, "items")) : json_array();
	*out = json_pack("{s:O,s:o,s:o,s:O}", "dept", dept ? dept : json_null(), "depts", depts, "items", items,
			 "next", page ? json_object_get(page, "next") : json_null());
	json_decref(page);
	return 0;
}

/* The states a hall case waits in (for the filter). */
static json_t *state_options(const char *want)
{
	json_t *out = json_array();
	const struct procdef *p = procdef_get("hall.standard");
	for (int i = 0; p != NULL && i < p->nstates; i++) {
		const struct pd_state *s = &p->states[i];
		if ((s->flags & (PD_STATE_FINAL | PD_STATE_INITIAL)) != 0)
			continue;
		json_array_append_new(out, json_pack("{s:s,s:s,s:b}", "value", s->name, "title", s->title,
						     "selected", want != NULL && strcmp(want, s->name) == 0));
	}
	return out;
}

/* GET /hall/inbox  ctx: title, dept, depts [{id,name,selected}], states, items [{href, subject,
 * tracking_print, state_title, light_css, light_text, deadline, assignee}], next_href */
static void page_inbox(struct req *r)
{
	json_t *in = NULL;
	if (inbox_load(r, &in) != 0)
		return;
	const char *state = req_in_str(r, "state");
	json_object_set_new(in, "title", json_string("办件收件箱"));
	json_object_set_new(in, "states", state_options(state));
	json_object_set_new(in, "show_depts", json_boolean(json_array_size(json_object_get(in, "depts")) > 1));
	const char *next = hall_jstr(in, "next");
	if (next != NULL) {
		json_t *dept = json_object_get(in, "dept");
		json_object_set_new(in, "next_href",
				    json_string(arena_printf(r->arena, "/hall/inbox?dept=%lld%s%s&after=%s",
							     (long long)hall_jint(dept, "id"),
							     state && *state ? "&state=" : "",
							     state && *state ? req_url_encode(r, state) : "",
							     req_url_encode(r, next))));
	}
	resp_page(r, 200, "hall/inbox", in);
}

/* GET /api/v1/hall/inbox */
static void api_inbox(struct req *r)
{
	json_t *in = NULL;
	if (inbox_load(r, &in) != 0)
		return;
	json_object_del(in, "depts");
	resp_json(r, 200, in);
}

/* --------------------------------------------------------- staff view */

/* The form data with the item's labels, identifiers masked: [{label, value}]. */
static json_t *data_rows(struct req *r, json_t *item, json_t *data)
{
	json_t *rows = json_array();
	if (!json_is_object(data))
		return rows;
	json_t *seen = json_object();
	size_t i;
	json_t *f;
	json_array_foreach(json_object_get(item, "form"), i, f) {
		const char *name = hall_jstr(f, "name"), *type = hall_jstr(f, "type");
		if (name == NULL)
			continue;
		json_t *v = json_object_get(data, name);
		if (v == NULL || json_is_null(v))
			continue;
		json_object_set_new(seen, name, json_true());
		const char *text = json_is_string(v) ? json_string_value(v)
			: json_is_integer(v) ? arena_printf(r->arena, "%lld", (long long)json_integer_value(v))
			: json_is_boolean(v) ? (json_is_true(v) ? "是" : "否") : "";
		if (type && strcmp(type, "idcard") == 0)
			text = mask_keep(r, text, 6, 4);
		else if (type && strcmp(type, "uscc") == 0)
			text = mask_keep(r, text, 8, 2);
		else if (type && strcmp(type, "phone") == 0)
			text = mask_keep(r, text, 3, 4);
		json_array_append_new(rows, json_pack("{s:s,s:s,s:b}", "label", hall_jstr(f, "label") ? hall_jstr(f, "label") : name,
						      "value", text, "long", type && strcmp(type, "textarea") == 0));
	}
	const char *k;
	json_t *v;
	json_object_foreach(data, k, v) {
		if (json_object_get(seen, k) != NULL || !(json_is_string(v) || json_is_integer(v)))
			continue;
		json_array_append_new(rows, json_pack("{s:s,s:s,s:b}", "label", k, "value",
						      json_is_string(v) ? json_string_value(v)
						      : arena_printf(r->arena, "%lld", (long long)json_integer_value(v)),
						      "long", 0));
	}
	json_decref(seen);
	return rows;
}

static json_t *clock_row(const char *title, json_t *c)
{
	if (!json_is_object(c))
		return NULL;
	json_t *o = json_pack("{s:s,s:O,s:O,s:O,s:O}", "title", title, "limit", json_object_get(c, "limit"), "used",
			      json_object_get(c, "used"), "remaining", json_object_get(c, "remaining"), "deadline",
			      json_object_get(c, "deadline"));
	light_decorate(o, (int)hall_jint(c, "light"));
	json_object_set_new(o, "overdue", json_boolean(hall_jint(c, "remaining") < 0));
	json_object_set_new(o, "overdue_days", json_integer(-hall_jint(c, "remaining")));
	return o;
}

/*
 * Everything the staff page shows.  err (may be NULL): {action, field, message}
 * of a failed submission; values (may be NULL): what was typed.
 */
static json_t *staff_ctx(struct req *r, int64_t id, const struct case_head *h, unsigned roles, json_t *err,
			 json_t *values)
{
	json_t *c = case_json(r->st, id, roles, 0);
	json_t *tl = case_timeline(r->st, id, 0);
	json_t *cert = hall_cert_of_case(r->st, id);
	if (c == NULL || tl == NULL || cert == NULL) {
		json_decref(c);
		json_decref(tl);
		json_decref(cert);
		return NULL;
	}
	json_t *item = h->item ? hall_item_json(r->st, 0, h->item) : NULL;
	json_t *ctx = json_object();
	json_object_set_new(ctx, "title", json_string(hall_jstr(c, "subject") ? hall_jstr(c, "subject") : "办件"));
	light_decorate(c, (int)hall_jint(c, "light"));
	int64_t version = hall_jint(c, "version");

	/* the applicant, masked */
	if (h->applicant > 0) {
		struct store_res *res = NULL;
		struct sval v[] = { SVI(h->applicant) };
		if (store_query(r->st, sql[S_USER], v, 1, &res) == STORE_OK && store_res_rows(res) == 1) {
			const char *kind = store_res_text(res, 0, 1), *phone = store_res_text(res, 0, 3);
			json_object_set_new(ctx, "applicant",
					    json_pack("{s:s,s:s,s:s?,s:s?}", "name", store_res_text(res, 0, 0),
						      "kind_label", strcmp(kind, "enterprise") == 0 ? "法人" : "公众",
						      "ident_masked", store_res_text(res, 0, 2), "phone_masked",
						      phone ? mask_keep(r, phone, 3, 4) : NULL));
		}
		store_res_free(res);
	}
	if (item != NULL)
		json_object_set_new(ctx, "item", json_pack("{s:O,s:O,s:O}", "name", json_object_get(item, "name"),
							   "code", json_object_get(item, "code"), "result_name",
							   json_object_get(item, "result_name")));
	json_object_set_new(ctx, "data_rows", data_rows(r, item, json_object_get(c, "data")));

	/* attachments */
	json_t *att = json_array();
	size_t i;
	json_t *a;
	json_array_foreach(json_object_get(c, "attachments"), i, a)
		json_array_append_new(att, json_pack("{s:O,s:s,s:b,s:s}", "label", json_object_get(a, "label"), "href",
						     arena_printf(r->arena, "/hall/files/%lld?case=%lld",
								  (long long)hall_jint(a, "file_id"), (long long)id),
						     "internal", !json_is_true(json_object_get(a, "public")), "at",
						     time_text(r, hall_jint(a, "created_at"))));
	json_object_set_new(ctx, "attachments", att);

	/* clocks, side by side */
	json_t *clocks = json_object_get(c, "clocks");
	json_t *rows = json_array(), *row;
	if ((row = clock_row("法定时限", json_object_get(clocks, "statutory"))) != NULL)
		json_array_append_new(rows, row);
	if ((row = clock_row("承诺时限", json_object_get(clocks, "promised"))) != NULL)
		json_array_append_new(rows, row);
	json_object_set_new(ctx, "clocks", rows);
	const char *cs = hall_jstr(clocks, "state");
	json_object_set_new(ctx, "clock_paused", json_boolean(cs && strcmp(cs, "pause") == 0));
	json_object_set_new(ctx, "clock_waiting", json_boolean(cs && strcmp(cs, "wait") == 0));
	json_object_set_new(ctx, "clock_stopped", json_boolean(cs && strcmp(cs, "stop") == 0));
	json_object_set_new(ctx, "paused_days", json_incref(json_object_get(clocks, "paused_days")));

	/* the timeline, internal events marked */
	json_t *events = json_array();
	json_t *e;
	json_array_foreach(tl, i, e) {
		json_t *o = json_pack("{s:O,s:O,s:O,s:s,s:b,s:O,s:O}", "title", json_object_get(e, "title"), "actor",
				      json_object_get(e, "actor"), "body", json_object_get(e, "body"), "at",
				      time_text(r, hall_jint(e, "at")), "internal",
				      !json_is_true(json_object_get(e, "public")), "to_title",
				      json_object_get(e, "to_title"), "kind", json_object_get(e, "kind"));
		json_t *details = json_array();
		json_t *d = json_object_get(e, "data");
		const char *kind = hall_jstr(e, "kind");
		if (json_is_object(d) && kind && strcmp(kind, "action") == 0) {
			const char *k;
			json_t *v;
			json_object_foreach(d, k, v)
				if (strcmp(k, "comment") != 0 && json_is_string(v))
					json_array_append_new(details, json_pack("{s:s,s:O}", "label", field_label(k),
										 "value", v));
		}
		json_object_set_new(o, "details", details);
		json_array_append_new(events, o);
	}
	json_object_set_new(ctx, "timeline", events);

	/* assignment */
	json_t *assignee = json_object_get(c, "assignee");
	int64_t assignee_id = hall_jint(assignee, "id");
	int admin = (roles & (PD_ROLE_DEPT_ADMIN | PD_ROLE_SUPERVISOR)) != 0;
	int open = !json_is_true(json_object_get(c, "final"));
	json_object_set_new(ctx, "can_take",
			    json_boolean(open && (roles & PD_ROLE_STAFF) && assignee_id != r->who.user_id));
	if (open && admin) {
		json_t *col = json_array();
		struct store_res *res = NULL;
		struct sval v[] = { SVI(h->dept) };
		if (store_query(r->st, sql[S_COLLEAGUES], v, 1, &res) == STORE_OK)
			for (int k = 0; k < store_res_rows(res); k++)
				json_array_append_new(col, json_pack("{s:I,s:s,s:s,s:b}", "id",
								     (json_int_t)store_res_int(res, k, 0), "name",
								     store_res_text(res, k, 1), "login",
								     store_res_text(res, k, 2), "selected",
								     store_res_int(res, k, 0) == assignee_id));
		store_res_free(res);
		json_object_set_new(ctx, "colleagues", col);
		json_object_set_new(ctx, "can_assign", json_true());
	}

	/* one form per action */
	const char *err_action = hall_jstr(err, "action"), *err_field = hall_jstr(err, "field");
	json_t *acts = json_array();
	json_array_foreach(json_object_get(c, "actions"), i, a) {
		const char *action = hall_jstr(a, "action");
		int mine = err_action && action && strcmp(err_action, action) == 0;
		json_t *fields = json_array();
		size_t k;
		json_t *fn;
		json_array_foreach(json_object_get(a, "require"), k, fn) {
			const char *name = json_string_value(fn);
			int bad = mine && err_field && strcmp(err_field, name) == 0;
			const char *ev = bad ? hall_jstr(err, "message") : NULL, *vv = mine ? hall_jstr(values, name) : NULL;
			/* every key present: a missing one would be looked up outward (the page's "error") */
			json_array_append_new(fields, json_pack("{s:s,s:s,s:s,s:o,s:o}", "name", name, "label",
								field_label(name), "id",
								arena_printf(r->arena, "%s-%s", action, name), "error",
								ev ? json_string(ev) : json_null(), "value",
								vv ? json_string(vv) : json_null()));
		}
		int danger = strcmp(action, "refuse") == 0 || strcmp(action, "reject") == 0 ||
			     strcmp(action, "send_back") == 0;
		const char *cm = mine ? hall_jstr(values, "comment") : NULL;
		json_array_append_new(acts, json_pack("{s:s,s:O,s:O,s:I,s:o,s:b,s:o,s:b}", "action", action, "title",
						      json_object_get(a, "title"), "to_title",
						      json_object_get(a, "to_title"), "version", (json_int_t)version,
						      "fields", fields, "danger", danger, "comment",
						      cm ? json_string(cm) : json_null(), "public",
						      json_is_true(json_object_get(a, "public"))));
	}
	json_object_set_new(ctx, "actions", acts);
	if (err != NULL) {
		json_t *summary = json_pack("{s:s}", "message", hall_jstr(err, "message") ? hall_jstr(err, "message") : "");
		if (err_action && err_field)
			json_object_set_new(summary, "field",
					    json_string(arena_printf(r->arena, "%s-%s", err_action, err_field)));
		if (err_field)
			json_object_set_new(summary, "label", json_string(field_label(err_field)));
		json_object_set_new(ctx, "error", summary);
	}
	json_object_set_new(ctx, "certificate", cert);
	json_object_set_new(ctx, "is_supervisor", json_boolean((roles & PD_ROLE_SUPERVISOR) != 0));
	json_object_set_new(ctx, "case", c);
	json_decref(tl);
	json_decref(item);
	return ctx;
}

/* Audits a staff read of a case (it shows a person's data). 0, or -1 after answering 500. */
static int audit_read(struct req *r, int64_t id, int64_t dept)
{
	char obj[40];
	snprintf(obj, sizeof obj, "case:%lld", (long long)id);
	struct audit_entry e = { r->who.user_id, r->who.login, "read.case", obj, dept, r->ip, NULL };
	int rc = store_in_tx(r->st) ? audit_append(r->st, &e) : audit_append_tx(r->st, &e);
	if (rc != 0)
		resp_error(r, 500, MSG_HTTP_500, NULL);
	return rc;
}

/* Renders the staff page (after a failed submission: status, err and values). */
static void staff_render(struct req *r, int64_t id, const struct case_head *h, unsigned roles, int status,
			 json_t *err, json_t *values)
{
	/* A 4xx ends the handler's transaction anyway; end it before reading again. */
	if (status >= 400 && store_in_tx(r->st))
		store_rollback(r->st);
	json_t *ctx = staff_ctx(r, id, h, roles, err, values);
	if (ctx == NULL) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	if (status < 400 && audit_read(r, id, h->dept) != 0) {
		json_decref(ctx);
		return;
	}
	resp_page(r, status, "hall/case_staff", ctx);
}

void hall_case_staff_page(struct req *r, int64_t case_id)
{
	struct case_head h;
	unsigned roles = 0;
	if (staff_case(r, case_id, &h, &roles) != 0)
		return;
	staff_render(r, case_id, &h, roles, 200, NULL, NULL);
}

/* GET /api/v1/hall/cases/{id}/staff: the case with its actions, timeline and certificate. */
static void api_case_staff(struct req *r)
{
	int64_t id = 0;
	struct case_head h;
	unsigned roles = 0;
	if (req_param_id(r, "id", &id) != 0 || staff_case(r, id, &h, &roles) != 0)
		return;
	json_t *c = case_json(r->st, id, roles, 0);
	json_t *tl = case_timeline(r->st, id, 0);
	json_t *cert = hall_cert_of_case(r->st, id);
	if (c == NULL || tl == NULL || cert == NULL) {
		json_decref(c);
		json_decref(tl);
		json_decref(cert);
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	if (audit_read(r, id, h.dept) != 0) {
		json_decref(c);
		json_decref(tl);
		json_decref(cert);
		return;
	}
	json_t *rl = json_array();
	if (roles & PD_ROLE_STAFF)
		json_array_append_new(rl, json_string("staff"));
	if (roles & PD_ROLE_DEPT_ADMIN)
		json_array_append_new(rl, json_string("dept_admin"));
	if (roles & PD_ROLE_SUPERVISOR)
		json_array_append_new(rl, json_string("supervisor"));
	json_object_set_new(c, "timeline", tl);
	json_object_set_new(c, "certificate", cert);
	json_object_set_new(c, "roles", rl);
	resp_json(r, 200, c);
}

/* ------------------------------------------------------------- acting */

/* The transition named action: out of the current state if it exists there, else any. */
static const struct pd_transition *find_transition(const struct procdef *p, const char *state, const char *action)
{
	if (p == NULL || action == NULL)
		return NULL;
	const struct pd_transition *t = procdef_transition(p, procdef_state(p, state), action);
	for (int i = 0; t == NULL && i < p->ntr; i++)
		if (strcmp(p->tr[i].action, action) == 0)
			t = &p->tr[i];
	return t;
}

/* The field spec of a handle request for that transition (arena). */
static const struct field_spec *handle_spec(struct req *r, const struct pd_transition *t)
{
	int n = 0;
	for (char **f = t ? t->require : NULL; f && *f; f++)
		n++;
	struct field_spec *s = arena_alloc(r->arena, sizeof *s * (size_t)(n + 4));
	s[0] = (struct field_spec){ "action", FT_TEXT, FS_REQUIRED, 1, 40, NULL, "操作" };
	s[1] = (struct field_spec){ "version", FT_INT, FS_REQUIRED, 1, INT64_MAX, NULL, "版本" };
	s[2] = (struct field_spec){ "comment", FT_TEXTAREA, 0, 0, 2000, NULL, msg(MSG_HALL_F_COMMENT) };
	for (int i = 0; i < n; i++)
		s[3 + i] = (struct field_spec){ t->require[i], FT_TEXTAREA, FS_REQUIRED, 1, 5000, NULL,
						field_label(t->require[i]) };
	return s;
}

struct act_err {
	int status;
	enum msg_id why;
	const char *field;
};

static void map_case_rc(enum case_rc rc, const char *missing, struct act_err *e)
{
	e->field = NULL;
	switch (rc) {
	case CASE_CONFLICT: e->status = 409; e->why = MSG_HALL_CONFLICT; break;
	case CASE_FORBIDDEN: e->status = 403; e->why = MSG_CASE_E_FORBIDDEN; break;
	case CASE_BAD_STATE: e->status = 409; e->why = MSG_CASE_E_BAD_STATE; break;
	case CASE_NO_SUCH_ACTION: e->status = 400; e->why = MSG_CASE_E_NO_SUCH_ACTION; e->field = "action"; break;
	case CASE_MISSING_FIELD: e->status = 400; e->why = MSG_FIELD_REQUIRED; e->field = missing; break;
	case CASE_BAD_ASSIGNEE: e->status = 400; e->why = MSG_CASE_E_BAD_ASSIGNEE; e->field = "assignee"; break;
	case CASE_NOT_FOUND: e->status = 404; e->why = MSG_HALL_CASE_NOT_FOUND; break;
	case CASE_INVALID: e->status = 400; e->why = MSG_CASE_E_INVALID; break;
	default: e->status = 500; e->why = MSG_HTTP_500; break;
	}
}

/*
 * Takes the transition with the checked input of r (action, version,
 * comment and the required fields), and issues the certificate of an
 * approval.  0 with number (possibly "") or -1 with *e.
 */
static int act(struct req *r, int64_t id, unsigned roles, struct act_err *e, char number[64])
{
	const char *action = req_in_str(r, "action");
	json_t *fields = json_object();
	const char *k;
	json_t *v;
	json_object_foreach(r->in, k, v)
		if (strcmp(k, "action") != 0 && strcmp(k, "version") != 0)
			json_object_set(fields, k, v);
	struct case_actor who = actor_of(r, roles);
	const char *missing = NULL;
	number[0] = '\0';
	enum case_rc rc = case_act(r->st, id, req_in_int(r, "version", 0), action, &who, fields, &missing);
	json_decref(fields);
	if (rc != CASE_OK) {
		map_case_rc(rc, missing, e);
		return -1;
	}
	if (strcmp(action, "approve") == 0 &&
	    hall_cert_issue(r->st, http_ctx()->conf->data, hall_base_url(r), id, &who, number) < 0) {
		e->status = 500;
		e->why = MSG_HTTP_500;
		e->field = NULL;
		return -1;
	}
	return 0;
}

static json_t *err_json(const char *action, const char *field, const char *message)
{
	return json_pack("{s:s?,s:s?,s:s}", "action", action, "field", field, "message", message);
}

/* POST /hall/cases/{id}/handle (RF_DYNAMIC: the required fields depend on the action) */
static void do_handle(struct req *r)
{
	int64_t id = 0;
	struct case_head h;
	unsigned roles = 0;
	if (req_param_id(r, "id", &id) != 0 || staff_case(r, id, &h, &roles) != 0)
		return;
	/* copied: req_check normalises r->in in place (trimmed strings are new values) */
	const char *action = hall_jstr(r->in, "action") ? arena_strdup(r->arena, hall_jstr(r->in, "action")) : NULL;
	const struct pd_transition *t = find_transition(procdef_get(h.process), h.state, action);
	/* A required field left blank: the page again, the message by the field. */
	for (char **f = t ? t->require : NULL; f && *f; f++) {
		const char *val = hall_jstr(r->in, *f);
		int blank = 1;
		for (const char *p = val; p && *p && blank; p++)
			blank = *p == ' ' || *p == '\n' || *p == '\r' || *p == '\t';
		if (blank) {
			json_t *err = err_json(action, *f, msg(MSG_FIELD_REQUIRED));
			staff_render(r, id, &h, roles, 400, err, r->in);
			json_decref(err);
			return;
		}
	}
	if (req_check(r, handle_spec(r, t)) != 0)
		return;
	struct act_err e;
	char number[64];
	if (act(r, id, roles, &e, number) != 0) {
		if (e.status == 500) {
			resp_error(r, 500, MSG_HTTP_500, NULL);
			return;
		}
		json_t *err = err_json(action, e.field, msg(e.why));
		staff_render(r, id, &h, roles, e.status, err, r->in);
		json_decref(err);
		return;
	}
	resp_redirect(r, arena_printf(r->arena, "/hall/cases/%lld", (long long)id));
}

/* POST /api/v1/hall/cases/{id}/handle {action, version, fields:{...}, comment?} */
static void api_handle(struct req *r)
{
	int64_t id = 0;
	struct case_head h;
	unsigned roles = 0;
	if (req_param_id(r, "id", &id) != 0 || staff_case(r, id, &h, &roles) != 0)
		return;
	/* Flatten {fields:{...}} into the body so that one spec checks everything. */
	json_t *flat = json_object();
	const char *k;
	json_t *v;
	json_object_foreach(r->in, k, v) {
		if (strcmp(k, "fields") != 0) {
			json_object_set(flat, k, v);
			continue;
		}
		const char *fk;
		json_t *fv;
		if (!json_is_object(v)) {
			json_decref(flat);
			resp_error(r, 400, MSG_FIELD_UNKNOWN, "fields");
			return;
		}
		json_object_foreach(v, fk, fv) {
			if (json_object_get(r->in, fk) != NULL || strcmp(fk, "fields") == 0) {
				json_decref(flat);
				resp_error(r, 400, MSG_FIELD_UNKNOWN, "fields");
				return;
			}
			json_object_set(flat, fk, fv);
		}
	}
	json_decref(r->in);
	r->in = flat;
	const struct pd_transition *t = find_transition(procdef_get(h.process), h.state, hall_jstr(r->in, "action"));
	if (req_check(r, handle_spec(r, t)) != 0)
		return;
	struct act_err e;
	char number[64];
	if (act(r, id, roles, &e, number) != 0) {
		resp_error(r, e.status, e.why, e.field);
		return;
	}
	json_t *c = case_json(r->st, id, roles, 0);
	json_t *cert = hall_cert_of_case(r->st, id);
	if (c == NULL || cert == NULL) {
		json_decref(c);
		json_decref(cert);
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	json_object_set_new(c, "certificate", cert);
	resp_json(r, 200, c);
}

/* POST /hall/cases/{id}/assign  version, assignee (0 clears; staff may only take it themselves) */
static void do_assign(struct req *r)
{
	int64_t id = 0;
	struct case_head h;
	unsigned roles = 0;
	if (req_param_id(r, "id", &id) != 0 || staff_case(r, id, &h, &roles) != 0)
		return;
	struct case_actor who = actor_of(r, roles);
	enum case_rc rc = case_assign(r->st, id, req_in_int(r, "version", 0), req_in_int(r, "assignee", 0), &who);
	if (rc != CASE_OK) {
		struct act_err e;
		map_case_rc(rc, NULL, &e);
		if (e.status == 500) {
			resp_error(r, 500, MSG_HTTP_500, NULL);
			return;
		}
		json_t *err = err_json(NULL, NULL, msg(e.why));
		staff_render(r, id, &h, roles, e.status, err, NULL);
		json_decref(err);
		return;
	}
	resp_redirect(r, arena_printf(r->arena, "/hall/cases/%lld", (long long)id));
}

/* POST /hall/cases/{id}/comment  text, public */
static void do_comment(struct req *r)
{
	int64_t id = 0;
	struct case_head h;
	unsigned roles = 0;
	if (req_param_id(r, "id", &id) != 0 || staff_case(r, id, &h, &roles) != 0)
		return;
	struct case_actor who = actor_of(r, roles);
	enum case_rc rc = case_comment(r->st, id, &who, req_in_str(r, "text"), req_in_bool(r, "public"));
	if (rc != CASE_OK) {
		struct act_err e;
		map_case_rc(rc, NULL, &e);
		resp_error(r, e.status, e.why, rc == CASE_INVALID ? "text" : e.field);
		return;
	}
	resp_redirect(r, arena_printf(r->arena, "/hall/cases/%lld#timeline", (long long)id));
}

/* ------------------------------------------------------- supervision */

static json_t *sup_cases(struct req *r, int light, int64_t *total)
{
	struct store_res *res = NULL;
	struct sval v[] = { SVI(light), SVI(SUPERVISION_MAX) };
	*total = 0;
	if (store_query_int(r->st, sql[S_SUP_COUNT], v, 1, total) != STORE_OK ||
	    store_query(r->st, sql[S_SUP_LIGHT], v, 2, &res) != STORE_OK)
		return NULL;
	json_t *out = json_array();
	for (int i = 0; i < store_res_rows(res); i++) {
		char pr[CASE_TRACKING_PRINT_LEN + 1], dl[11] = "";
		case_tracking_print(store_res_text(res, i, 1), pr);
		int64_t d = store_res_int(res, i, 5);
		if (d < 2147483647)
			cal_day_format((cal_day)d, dl);
		const struct procdef *p = procdef_get(store_res_text(res, i, 4));
		int s = p ? procdef_state(p, store_res_text(res, i, 3)) : -1;
		char href[96];
		case_staff_href(store_res_text(res, i, 4), store_res_int(res, i, 0), href, sizeof href);
		json_t *o = json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:s?,s:s}", "id", (json_int_t)store_res_int(res, i, 0),
				      "tracking_print", pr, "subject", store_res_text(res, i, 2), "state_title",
				      s >= 0 ? p->states[s].title : store_res_text(res, i, 3), "deadline", dl, "dept",
				      store_res_text(res, i, 7), "assignee", store_res_text(res, i, 8), "href", href);
		light_decorate(o, light);
		json_array_append_new(out, o);
	}
	store_res_free(res);
	return out;
}

/* GET /hall/supervision  ctx: red, yellow (cases), red_total, yellow_total, escalations */
static void page_supervision(struct req *r)
{
	int64_t nred = 0, nyellow = 0;
	json_t *red = sup_cases(r, CASE_RED, &nred);
	json_t *yellow = sup_cases(r, CASE_YELLOW, &nyellow);
	struct store_res *res = NULL;
	struct sval v[] = { SVI(time(NULL) - (time_t)ESCALATION_DAYS * 86400), SVI(SUPERVISION_MAX) };
	if (red == NULL || yellow == NULL || store_query(r->st, sql[S_SUP_ESC], v, 2, &res) != STORE_OK) {
		json_decref(red);
		json_decref(yellow);
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	json_t *esc = json_array();
	for (int i = 0; i < store_res_rows(res); i++) {
		char pr[CASE_TRACKING_PRINT_LEN + 1], href[96];
		case_tracking_print(store_res_text(res, i, 6), pr);
		case_staff_href(store_res_text(res, i, 8), store_res_int(res, i, 1), href, sizeof href);
		json_array_append_new(esc, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "title", store_res_text(res, i, 2), "at",
						     time_text(r, store_res_int(res, i, 4)), "subject",
						     store_res_text(res, i, 5), "tracking_print", pr, "dept",
						     store_res_text(res, i, 7), "href", href));
	}
	store_res_free(res);
	/* Cases whose recorded steps do not follow their process (skipped or out-of-process steps). */
	json_t *irregular = NULL;
	if (case_check_history(r->st, 2000, &irregular) != CASE_OK) {
		json_decref(red);
		json_decref(yellow);
		json_decref(esc);
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	size_t k;
	json_t *x;
	json_array_foreach(irregular, k, x) {
		char href[96];
		case_staff_href(json_string_value(json_object_get(x, "process")),
				json_integer_value(json_object_get(x, "id")), href, sizeof href);
		json_object_set_new(x, "href", json_string(href));
	}
	json_t *ctx = json_pack("{s:s,s:o,s:o,s:I,s:I,s:o,s:i,s:o,s:i}", "title", "电子监察", "red", red, "yellow",
				yellow, "red_total", (json_int_t)nred, "yellow_total", (json_int_t)nyellow,
				"escalations", esc, "days", ESCALATION_DAYS, "irregular", irregular,
				"checked", 2000);
	resp_page(r, 200, "hall/supervision", ctx);
}

/* ---------------------------------------------------------------- desk */

/* Staff: red and yellow open cases of their departments; platform admins: all red ones. */
static int desk_cases(struct req *r, json_t *items)
{
	if (r->who.kind != ACCT_STAFF || r->who.half)
		return 0;
	struct store_res *res = NULL;
	struct sval v[] = { SVI(r->who.user_id) };
	if (store_query(r->st, sql[S_DESK], v, 1, &res) != STORE_OK)
		return -1;
	for (int i = 0; i < store_res_rows(res); i++) {
		int red = store_res_int(res, i, 2) == CASE_RED;
		json_array_append_new(
			items, json_pack("{s:s,s:s,s:s,s:s,s:I,s:b,s:s}", "kind", "hall.case", "title",
					 arena_printf(r->arena, "%s：%s", store_res_text(res, i, 1),
						      msg(red ? MSG_HALL_DESK_RED : MSG_HALL_DESK_YELLOW)),
					 "href", arena_printf(r->arena, "/hall/inbox?dept=%lld", (long long)store_res_int(res, i, 0)),
					 "status", red ? "红灯" : "黄灯", "count", (json_int_t)store_res_int(res, i, 3),
					 "failed", 0, "level", red ? "alert" : "warn"));
	}
	store_res_free(res);
	if (r->who.roles & ROLEBIT_PLATFORM_ADMIN) {
		int64_t n = 0;
		if (store_query_int(r->st, sql[S_DESK_ALL], NULL, 0, &n) != STORE_OK)
			return -1;
		if (n > 0)
			json_array_append_new(items, json_pack("{s:s,s:s,s:s,s:s,s:I,s:b,s:s}", "kind", "hall.supervision",
							       "title", "电子监察：各部门已超期的办件", "href",
							       "/hall/supervision", "status", "红灯", "count",
							       (json_int_t)n, "failed", 0, "level", "alert"));
	}
	return 0;
}

void hall_handle_register(void)
{
	desk_register(desk_cases);
}

/* -------------------------------------------------------------- routes */

static const struct field_spec fs_inbox[] = {
	{ "dept", FT_INT, 0, 1, INT64_MAX, NULL, "部门" },
	{ "state", FT_TEXT, 0, 0, 40, NULL, "办理环节" },
	{ "after", FT_TEXT, 0, 0, 64, NULL, "游标" },
	{ "limit", FT_INT, 0, 1, 200, NULL, "每页条数" },
	{ NULL },
};

static const struct field_spec fs_assign[] = {
	{ "version", FT_INT, FS_REQUIRED, 1, INT64_MAX, NULL, "版本" },
	{ "assignee", FT_INT, FS_REQUIRED, 0, INT64_MAX, NULL, "经办人" },
	{ NULL },
};

static const struct field_spec fs_comment[] = {
	{ "text", FT_TEXTAREA, FS_REQUIRED, 1, 2000, NULL, "留言" },
	{ "public", FT_BOOL, 0, 0, 0, NULL, "对申请人公开" },
	{ NULL },
};

static const struct field_spec fs_verify[] = {
	{ "t", FT_TEXT, 0, 0, 64, NULL, "核验码" },
	{ NULL },
};

const struct route hall_handle_routes[] = {
	{ HM_GET, "/hall/inbox", page_inbox, ROLE_STAFF, 0, fs_inbox, NULL, NULL,
	  "A department's open cases by urgency (red, yellow, green)" },
	{ HM_POST, "/hall/cases/{id}/handle", do_handle, ROLE_STAFF, RF_DYNAMIC | RF_CSRF, NULL, NULL, NULL,
	  "Take a transition of a case" },
	{ HM_POST, "/hall/cases/{id}/assign", do_assign, ROLE_STAFF, RF_CSRF, fs_assign, NULL, NULL,
	  "Take a case or assign it to a colleague" },
	{ HM_POST, "/hall/cases/{id}/comment", do_comment, ROLE_STAFF, RF_CSRF, fs_comment, NULL, NULL,
	  "Comment on a case (internal or public)" },
	{ HM_GET, "/hall/cases/{id}/certificate", hall_cert_download, ROLE_USER, 0, NULL, NULL, NULL,
	  "The electronic certificate of an approved case (PDF)" },
	{ HM_GET, "/hall/verify/{number}", hall_page_verify, ROLE_PUBLIC, 0, fs_verify, NULL, NULL,
	  "Public verification of an electronic certificate" },
	{ HM_GET, "/hall/supervision", page_supervision, ROLE_PLATFORM_ADMIN, 0, NULL, NULL, NULL,
	  "Electronic supervision: yellow and red cases of every department, recent escalations" },
	{ HM_GET, "/api/v1/hall/inbox", api_inbox, ROLE_STAFF, RF_API, fs_inbox, NULL, NULL,
	  "A department's open cases by urgency (cursor pagination)" },
	{ HM_GET, "/api/v1/hall/cases/{id}/staff", api_case_staff, ROLE_STAFF, RF_API, NULL, NULL, NULL,
	  "The staff view of a case with the actions the caller may take" },
	{ HM_POST, "/api/v1/hall/cases/{id}/handle", api_handle, ROLE_STAFF, RF_API | RF_CSRF | RF_DYNAMIC, NULL,
	  NULL, NULL, "Take a transition: {action, version, fields:{...}, comment}" },
	{ HM_GET, "/api/v1/hall/verify/{number}", hall_api_verify, ROLE_PUBLIC, RF_API, fs_verify, NULL, NULL,
	  "Verify an electronic certificate by number and token" },
	{ 0, NULL, NULL, 0, 0, NULL, NULL, NULL, NULL },
};
