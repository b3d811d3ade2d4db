/*
 * consent: a data subject's consent to verification (授权核查), and the
 * subject's data tracker (数据使用记录).
 *
 *   GET  /my/consents                    my consents: 有效 / 已过期 / 已撤回, revoke buttons
 *   GET  /my/consents/new                the form: department, template (its questions in
 *                                        plain words), purpose, until, 本人已阅读并同意
 *   POST /my/consents                    give consent
 *   POST /my/consents/{id}/revoke        revoke it
 *   GET  /my/data-access                 every read of my data: when, which department,
 *                                        which registry, purpose, basis, facts
 *   /api/v1/my/consents (GET, POST), /api/v1/my/consents/{id}/revoke (POST),
 *   /api/v1/my/data-access (GET)         the same as JSON
 *
 * A citizen (or an enterprise, for templates about a 统一社会信用代码)
 * authorises the department that runs a template to run it about the
 * account's own identifier, for a purpose, until a date: today < until <=
 * today + 1 year; valid through that date unless revoked.  Only the
 * account's ident_hash (users.ident_hash) and id are stored.  Giving and
 * revoking are audited ("consent.grant", "consent.revoke").
 */
#include "apps/share/share_int.h"
#include "core/audit.h"
#include "core/calendar.h"
#include "core/desk.h"
#include "core/dept.h"
#include "core/log.h"
#include "core/msg.h"
#include "core/validate.h"
#include "core/xalloc.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PURPOSE_MAX 200
#define PAGE_SIZE 20
#define RECENT_DAYS 7          /* the desk mentions accesses this recent */

enum {
	S_USER,
	S_INSERT,
	S_LIST,
	S_ONE,
	S_REVOKE,
	S_ACTIVE,
	S__MAX
};

#define CONSENT_COLS                                                                                         \
	"SELECT c.id, c.dept_id, d.code, d.name, t.code, t.name, c.purpose, c.valid_until, c.created_at, "       \
	"c.revoked_at, (SELECT COUNT(*) FROM verification_runs v WHERE v.consent_id = c.id) "                    \
	"FROM consents c JOIN departments d ON d.id = c.dept_id JOIN verify_templates t ON t.id = c.template_id "

static const char *const sql[S__MAX] = {
	[S_USER] = "SELECT ident_hash, kind FROM users WHERE id = $1",
	[S_INSERT] = "INSERT INTO consents (user_id, subject_hash, dept_id, template_id, purpose, valid_until, created_at) "
		     "VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
	[S_LIST] = CONSENT_COLS "WHERE c.user_id = $1 AND c.id < $2 ORDER BY c.id DESC LIMIT $3",
	[S_ONE] = CONSENT_COLS "WHERE c.id = $1 AND c.user_id = $2",
	[S_REVOKE] = "UPDATE consents SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL",
	[S_ACTIVE] = "SELECT COUNT(*) FROM consents WHERE user_id = $1 AND revoked_at IS NULL AND valid_until >= $2",
};

/* ------------------------------------------------------------ helpers */

static const char *jstr(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static void today_text(char out[11])
{
	cal_day_format(cal_day_of(time(NULL)), out);
}

/* The last day a consent given today may run to: the same date next year (28 Feb for 29 Feb). */
static void last_until_text(char out[11])
{
	int y, m, d;
	cal_day_to_ymd(cal_day_of(time(NULL)), &y, &m, &d);
	if (m == 2 && d == 29)
		d = 28;
	cal_day_format(cal_day_from_ymd(y + 1, m, d), out);
}

static const char *time_text(struct req *r, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	char b[32];
	if (localtime_r(&tt, &tm) == NULL || strftime(b, sizeof b, "%Y-%m-%d %H:%M", &tm) == 0)
		return "";
	return arena_strdup(r->arena, b);
}

/* The account's ident_hash and the subject kind its identifier is ("idcard"/"uscc").
 * 1 found, 0 the account has none, -1 store failure.  hash has 65 bytes. */
static int account_subject(struct store *st, int64_t user_id, char hash[65], const char **kind)
{
	struct store_res *res = NULL;
	struct sval p[] = { SVI(user_id) };
	if (store_query(st, sql[S_USER], p, 1, &res) != STORE_OK)
		return -1;
	int found = store_res_rows(res) == 1 && !store_res_isnull(res, 0, 0) && store_res_text(res, 0, 0)[0] != '\0';
	if (found) {
		snprintf(hash, 65, "%s", store_res_text(res, 0, 0));
		*kind = strcmp(store_res_text(res, 0, 1), "enterprise") == 0 ? "uscc" : "idcard";
	}
	store_res_free(res);
	return found;
}

/* A consent row of CONSENT_COLS as JSON, with its state as of today. */
static json_t *consent_json(struct req *r, const struct store_res *res, int i, const char *today)
{
	int64_t id = store_res_int(res, i, 0);
	const char *until = store_res_text(res, i, 7);
	int revoked = !store_res_isnull(res, i, 9);
	const char *state = revoked ? "revoked" : strcmp(until, today) < 0 ? "expired" : "active";
	enum msg_id label = revoked ? MSG_CONSENT_STATE_REVOKED
			    : strcmp(state, "expired") == 0 ? MSG_CONSENT_STATE_EXPIRED : MSG_CONSENT_STATE_ACTIVE;
	int64_t created = store_res_int(res, i, 8);
	json_t *o = json_pack("{s:I,s:{s:I,s:s,s:s},s:{s:s,s:s},s:s,s:s,s:I,s:s,s:s,s:s,s:b,s:I,s:s}", "id",
			      (json_int_t)id, "dept", "id", (json_int_t)store_res_int(res, i, 1), "code",
			      store_res_text(res, i, 2), "name", store_res_text(res, i, 3), "template", "code",
			      store_res_text(res, i, 4), "name", store_res_text(res, i, 5), "purpose",
			      store_res_text(res, i, 6), "valid_until", until, "created_at", (json_int_t)created,
			      "created_text", time_text(r, created), "state", state, "state_label", msg(label),
			      "active", strcmp(state, "active") == 0, "uses", (json_int_t)store_res_int(res, i, 10),
			      "href", arena_printf(r->arena, "/my/consents#consent-%" PRId64, id));
	if (revoked) {
		json_object_set_new(o, "revoked_at", json_integer(store_res_int(res, i, 9)));
		json_object_set_new(o, "revoked_text", json_string(time_text(r, store_res_int(res, i, 9))));
	} else {
		json_object_set_new(o, "revoked_at", json_null());
	}
	json_object_set_new(o, "revocable", json_boolean(!revoked));
	return o;
}

/* One of the user's consents; JSON null when none, NULL on a store failure. */
static json_t *consent_one(struct req *r, int64_t id)
{
	struct store_res *res = NULL;
	struct sval p[] = { SVI(id), SVI(r->who.user_id) };
	char today[11];
	today_text(today);
	if (store_query(r->st, sql[S_ONE], p, 2, &res) != STORE_OK)
		return NULL;
	json_t *o = store_res_rows(res) == 1 ? consent_json(r, res, 0, today) : json_null();
	store_res_free(res);
	return o;
}

/* A page of the user's consents, newest first: {"items","next"}; NULL on a store failure. */
static json_t *consent_page(struct req *r, int64_t after, int limit)
{
	struct store_res *res = NULL;
	struct sval p[] = { SVI(r->who.user_id), SVI(after > 0 ? after : INT64_MAX), SVI(limit + 1) };
	char today[11];
	today_text(today);
	if (store_query(r->st, sql[S_LIST], p, 3, &res) != STORE_OK)
		return NULL;
	json_t *items = json_array();
	int n = store_res_rows(res);
	for (int i = 0; i < n && i < limit; i++)
		json_array_append_new(items, consent_json(r, res, i, today));
	json_t *next = n > limit ? json_integer(store_res_int(res, limit - 1, 0)) : json_null();
	store_res_free(res);
	return json_pack("{s:o,s:o}", "items", items, "next", next);
}

static void audit_consent(struct req *r, const char *action, int64_t id, int64_t dept, json_t *detail_obj)
{
	char *detail = detail_obj ? json_dumps(detail_obj, JSON_COMPACT) : NULL;
	struct audit_entry a = { r->who.user_id, r->who.login, action,
				 arena_printf(r->arena, "consent:%" PRId64, id), dept, r->ip, detail };
	int rc = audit_append(r->st, &a);
	free(detail);
	if (rc != 0)
		resp_error(r, 500, MSG_HTTP_500, NULL);
}

/* ------------------------------------------------------------ giving consent */

static void input_error(struct req *r, enum msg_id why, const char *field)
{
	struct input_error e = { 400, why, "", "" };
	snprintf(e.field, sizeof e.field, "%s", field);
	resp_input_error(r, &e);
}

/*
 * Gives the consent of r's input in r's transaction: answers every problem
 * itself and returns -1; 0 with *id.
 */
static int grant(struct req *r, int64_t *id)
{
	const char *dept_code = req_in_str(r, "dept"), *code = req_in_str(r, "template"),
		   *purpose = req_in_str(r, "purpose"), *until = req_in_str(r, "until");
	char hash[65], today[11], last[11];
	const char *kind = NULL;
	json_t *tpl = NULL;
	int rc = -1;
	int64_t dept;

	int f = account_subject(r->st, r->who.user_id, hash, &kind);
	if (f < 0) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return -1;
	}
	if (f == 0) {
		resp_error(r, 409, MSG_CONSENT_NO_IDENT, NULL);
		return -1;
	}
	int dr = dept_find_code(r->st, dept_code ? dept_code : "", &dept);
	if (dr < 0) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return -1;
	}
	if (dr != 0) {
		input_error(r, MSG_CONSENT_DEPT_UNKNOWN, "dept");
		return -1;
	}
	tpl = share_verify_template(r->st, code ? code : "");
	if (tpl == NULL) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return -1;
	}
	if (json_is_null(tpl)) {
		input_error(r, MSG_CONSENT_TEMPLATE_UNKNOWN, "template");
		goto out;
	}
	if (json_integer_value(json_object_get(json_object_get(tpl, "dept"), "id")) != dept) {
		input_error(r, MSG_CONSENT_DEPT_MISMATCH, "dept");
		goto out;
	}
	if (strcmp(jstr(tpl, "subject_kind"), kind) != 0) {
		input_error(r, MSG_CONSENT_KIND_MISMATCH, "template");
		goto out;
	}
	if (purpose == NULL || *purpose == '\0') {
		input_error(r, MSG_FIELD_REQUIRED, "purpose");
		goto out;
	}
	today_text(today);
	last_until_text(last);
	if (until == NULL || validate_date(until) != 0) {
		input_error(r, until ? MSG_FIELD_BAD_FORMAT : MSG_FIELD_REQUIRED, "until");
		goto out;
	}
	if (strcmp(until, today) <= 0) {
		input_error(r, MSG_CONSENT_UNTIL_PAST, "until");
		goto out;
	}
	if (strcmp(until, last) > 0) {
		input_error(r, MSG_CONSENT_UNTIL_TOO_FAR, "until");
		goto out;
	}
	if (!req_in_bool(r, "agree")) {
		input_error(r, MSG_CONSENT_AGREE_REQUIRED, "agree");
		goto out;
	}

	struct store_res *res = NULL;
	int64_t tpl_id = json_integer_value(json_object_get(tpl, "id"));
	struct sval p[] = { SVI(r->who.user_id), SVT(hash), SVI(dept), SVI(tpl_id), SVT(purpose), SVT(until),
			    SVI(time(NULL)) };
	if (store_query(r->st, sql[S_INSERT], p, 7, &res) != STORE_OK || store_res_rows(res) != 1) {
		store_res_free(res);
		resp_error(r, 500, MSG_HTTP_500, NULL);
		goto out;
	}
	*id = store_res_int(res, 0, 0);
	store_res_free(res);
	json_t *d = json_pack("{s:s,s:s,s:s}", "template", code, "dept", dept_code, "until", until);
	audit_consent(r, "consent.grant", *id, dept, d);
	json_decref(d);
	if (r->answered)
		goto out;
	rc = 0;
out:
	json_decref(tpl);
	return rc;
}

/* ------------------------------------------------------------ revoking */

/* Revokes consent id of r's user in r's transaction; answers problems itself, -1; 0 done. */
static int revoke(struct req *r, int64_t id)
{
	json_t *c = consent_one(r, id);
	if (c == NULL) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return -1;
	}
	if (json_is_null(c)) {
		resp_error(r, 404, MSG_CONSENT_NOT_FOUND, NULL);
		return -1;
	}
	int64_t dept = json_integer_value(json_object_get(json_object_get(c, "dept"), "id"));
	int was_revoked = !json_is_null(json_object_get(c, "revoked_at"));
	json_decref(c);
	if (was_revoked) {
		resp_error(r, 409, MSG_CONSENT_ALREADY_REVOKED, NULL);
		return -1;
	}
	int64_t changes = 0;
	struct sval p[] = { SVI(time(NULL)), SVI(id), SVI(r->who.user_id) };
	if (store_exec(r->st, sql[S_REVOKE], p, 3, &changes) != STORE_OK) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return -1;
	}
	if (changes != 1) {
		resp_error(r, 409, MSG_CONSENT_ALREADY_REVOKED, NULL);
		return -1;
	}
	audit_consent(r, "consent.revoke", id, dept, NULL);
	return r->answered ? -1 : 0;
}

/* ------------------------------------------------------------ pages */

/* The templates a person of this kind may consent to, marked "checked" for chosen. */
static json_t *templates_for(struct req *r, const char *kind, const char *chosen)
{
	json_t *all = share_verify_templates(r->st, 0);
	json_t *out = json_array();
	size_t i;
	json_t *t;
	if (all == NULL)
		return out;
	json_array_foreach(all, i, t) {
		if (kind != NULL && strcmp(jstr(t, "subject_kind"), kind) != 0)
			continue;
		json_array_append(out, t);
	}
	json_decref(all);
	size_t n = json_array_size(out);
	json_array_foreach(out, i, t) {
		const char *c = jstr(t, "code");
		int checked = chosen ? strcmp(c, chosen) == 0 : n == 1;
		json_object_set_new(t, "checked", json_boolean(checked));
		json_object_set_new(t, "input_id",
				    json_string(i == 0 ? "template" : arena_printf(r->arena, "template-%zu", i)));
	}
	return out;
}

/* The consent form's context: templates, departments, dates (form_fill too). */
static void consent_form_fill(struct req *r, json_t *ctx)
{
	char hash[65], today[11], last[11];
	const char *kind = NULL;
	if (account_subject(r->st, r->who.user_id, hash, &kind) <= 0)
		kind = r->who.kind == ACCT_ENTERPRISE ? "uscc" : "idcard";
	json_t *values = json_object_get(ctx, "values");
	if (!json_is_object(values)) {
		values = json_object();
		json_object_set_new(ctx, "values", values);
	}
	const char *chosen = jstr(values, "template");
	json_t *tpls = templates_for(r, kind, chosen);
	/* the departments that run them, each once; the chosen template's (or the given one) selected */
	const char *dsel = jstr(values, "dept");
	size_t i, k;
	json_t *t, *d;
	if (dsel == NULL)
		json_array_foreach(tpls, i, t)
			if (json_is_true(json_object_get(t, "checked")))
				dsel = jstr(json_object_get(t, "dept"), "code");
	json_t *depts = json_array();
	json_array_foreach(tpls, i, t) {
		const char *code = jstr(json_object_get(t, "dept"), "code");
		int dup = 0;
		json_array_foreach(depts, k, d)
			dup |= strcmp(jstr(d, "code"), code) == 0;
		if (!dup)
			json_array_append_new(depts, json_pack("{s:s,s:O,s:b}", "code", code, "name",
							       json_object_get(json_object_get(t, "dept"), "name"),
							       "selected", dsel != NULL && strcmp(dsel, code) == 0));
	}
	today_text(today);
	last_until_text(last);
	json_object_set_new(ctx, "templates", tpls);
	json_object_set_new(ctx, "depts", depts);
	json_object_set_new(ctx, "today", json_string(today));
	json_object_set_new(ctx, "last_until", json_string(last));
	json_object_set_new(ctx, "purpose_max", json_integer(PURPOSE_MAX));
	json_object_set_new(ctx, "title", json_string("授权部门核查我的信息"));
}

static void page_consent_new(struct req *r)
{
	json_t *ctx = json_object();
	json_t *values = json_object();
	const char *t = req_in_str(r, "template");
	if (t != NULL)
		json_object_set_new(values, "template", json_string(t));
	json_object_set_new(ctx, "values", values);
	consent_form_fill(r, ctx);
	resp_page(r, 200, "share/consent_new", ctx);
}

static void do_consent(struct req *r)
{
	int64_t id;
	if (grant(r, &id) != 0)
		return;
	resp_redirect(r, arena_printf(r->arena, "/my/consents?granted=%" PRId64 "#consent-%" PRId64, id, id));
}

static void page_consents(struct req *r)
{
	int64_t after = req_in_int(r, "after", 0);
	json_t *pg = consent_page(r, after, PAGE_SIZE);
	if (pg == NULL) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	json_t *next = json_object_get(pg, "next");
	if (json_is_integer(next))
		json_object_set_new(pg, "next_href", json_string(arena_printf(r->arena, "/my/consents?after=%" PRId64,
									     (int64_t)json_integer_value(next))));
	if (req_in_int(r, "granted", 0) > 0)
		json_object_set_new(pg, "notice", json_string(msg(MSG_CONSENT_GRANTED)));
	else if (req_in_int(r, "revoked", 0) > 0)
		json_object_set_new(pg, "notice", json_string(msg(MSG_CONSENT_REVOKED_DONE)));
	json_object_set_new(pg, "title", json_string("我的授权"));
	resp_page(r, 200, "share/consents", pg);
}

static void do_revoke(struct req *r)
{
	int64_t id;
	if (req_param_id(r, "id", &id) != 0 || revoke(r, id) != 0)
		return;
	resp_redirect(r, arena_printf(r->arena, "/my/consents?revoked=%" PRId64 "#consent-%" PRId64, id, id));
}

/* ------------------------------------------------------------ the tracker */

static const char *via_label(const char *via)
{
	if (via == NULL)
		return "";
	if (strcmp(via, "verify") == 0)
		return msg(MSG_TRACK_VIA_VERIFY);
	if (strcmp(via, "api") == 0 || strcmp(via, "batch") == 0)
		return msg(MSG_TRACK_VIA_API);
	return msg(MSG_TRACK_VIA_PAGE);
}

/* Adds the words a person reads to one access item (basis, fields, time). */
static void decorate_access(struct req *r, json_t *it)
{
	const char *basis = jstr(it, "basis"), *via = jstr(it, "via"), *fields = jstr(it, "fields");
	const char *kind = "other", *label = basis ? basis : "", *href = NULL;
	if (basis != NULL && strncmp(basis, "consent:", 8) == 0) {
		kind = "consent";
		label = arena_printf(r->arena, "%s（编号 %s）", msg(MSG_TRACK_BASIS_CONSENT), basis + 8);
		href = arena_printf(r->arena, "/my/consents#consent-%s", basis + 8);
	} else if (basis != NULL && strncmp(basis, "grant:", 6) == 0) {
		kind = "grant";
		label = arena_printf(r->arena, "%s（编号 %s）", msg(MSG_TRACK_BASIS_GRANT), basis + 6);
	} else if (basis != NULL && strcmp(basis, "unconditional") == 0) {
		kind = "unconditional";
		label = msg(MSG_TRACK_BASIS_UNCONDITIONAL);
	} else if (basis != NULL && strcmp(basis, "owner") == 0) {
		kind = "owner";
		label = msg(MSG_TRACK_BASIS_OWNER);
	}
	json_object_set_new(it, "basis_kind", json_string(kind));
	json_object_set_new(it, "basis_label", json_string(label));
	json_object_set_new(it, "basis_href", href ? json_string(href) : json_null());
	json_object_set_new(it, "via_label", json_string(via_label(via)));
	json_object_set_new(it, "at_text", json_string(time_text(r, json_integer_value(json_object_get(it, "at")))));
	/* fields: a verification's question as is; field names as their labels */
	const char *text = fields ? fields : "";
	if (via != NULL && strcmp(via, "verify") != 0 && fields != NULL) {
		const char *code = jstr(it, "registry");
		const struct registry *reg = code ? registry_get(r->st, code) : NULL;
		struct buf b = BUF_INIT(8192);
		const char *p = fields;
		while (reg != NULL && *p) {
			const char *e = strchr(p, ',');
			size_t n = e ? (size_t)(e - p) : strlen(p);
			char name[REG_CODE_MAX];
			snprintf(name, sizeof name, "%.*s", (int)(n < sizeof name ? n : sizeof name - 1), p);
			int fi = reg_field_index(&reg->def, name);
			if (b.len > 0)
				buf_addstr(&b, "、");
			buf_addstr(&b, fi >= 0 && reg->def.fields[fi].label ? reg->def.fields[fi].label : name);
			p = e ? e + 1 : p + n;
		}
		if (reg != NULL && b.data != NULL)
			text = arena_strndup(r->arena, b.data, b.len);
		buf_release(&b);
	}
	json_object_set_new(it, "fields_text", json_string(text));
	json_object_del(it, "actor");   /* the department answers for its staff; their logins stay inside */
}

/* A page of accesses to r's user's data; answers problems itself and returns NULL. */
static json_t *access_page(struct req *r, int limit)
{
	char hash[65];
	const char *kind = NULL;
	int f = account_subject(r->st, r->who.user_id, hash, &kind);
	if (f < 0) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return NULL;
	}
	if (f == 0)
		return json_pack("{s:[],s:n}", "items", "next");
	json_t *pg = reg_access_of_subject(r->st, hash, req_in_int(r, "after", 0), limit);
	if (pg == NULL) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return NULL;
	}
	size_t i;
	json_t *it;
	json_array_foreach(json_object_get(pg, "items"), i, it)
		decorate_access(r, it);
	return pg;
}

static void page_access(struct req *r)
{
	json_t *pg = access_page(r, PAGE_SIZE);
	if (pg == NULL)
		return;
	json_t *next = json_object_get(pg, "next");
	if (json_is_integer(next))
		json_object_set_new(pg, "next_href",
				    json_string(arena_printf(r->arena, "/my/data-access?after=%" PRId64,
							     (int64_t)json_integer_value(next))));
	json_object_set_new(pg, "is_enterprise", json_boolean(r->who.kind == ACCT_ENTERPRISE));
	json_object_set_new(pg, "title", json_string("我的数据使用记录"));
	resp_page(r, 200, "share/tracker", pg);
}

/* ------------------------------------------------------------ API */

static void api_consents(struct req *r)
{
	json_t *pg = consent_page(r, req_in_int(r, "after", 0), (int)req_in_int(r, "limit", PAGE_SIZE));
	if (pg == NULL) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	resp_json(r, 200, pg);
}

static void api_consent_create(struct req *r)
{
	int64_t id;
	if (grant(r, &id) != 0)
		return;
	json_t *c = consent_one(r, id);
	if (c == NULL || json_is_null(c)) {
		json_decref(c);
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	r->location = arena_printf(r->arena, "/api/v1/my/consents/%" PRId64, id);
	resp_json(r, 201, c);
}

static void api_consent_get(struct req *r)
{
	int64_t id;
	if (req_param_id(r, "id", &id) != 0)
		return;
	json_t *c = consent_one(r, id);
	if (c == NULL) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	if (json_is_null(c)) {
		resp_error(r, 404, MSG_CONSENT_NOT_FOUND, NULL);
		return;
	}
	resp_json(r, 200, c);
}

static void api_revoke(struct req *r)
{
	int64_t id;
	if (req_param_id(r, "id", &id) != 0 || revoke(r, id) != 0)
		return;
	json_t *c = consent_one(r, id);
	if (c == NULL || json_is_null(c)) {
		json_decref(c);
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	resp_json(r, 200, c);
}

static void api_access(struct req *r)
{
	json_t *pg = access_page(r, (int)req_in_int(r, "limit", PAGE_SIZE));
	if (pg != NULL)
		resp_json(r, 200, pg);
}

/* ------------------------------------------------------------ desk */

/* The person's consents in force and recent accesses to their data. */
static int desk_consent(struct req *r, json_t *items)
{
	if (r->who.kind != ACCT_CITIZEN && r->who.kind != ACCT_ENTERPRISE)
		return 0;
	char today[11], hash[65];
	const char *kind = NULL;
	int64_t n = 0;
	today_text(today);
	struct sval p[] = { SVI(r->who.user_id), SVT(today) };
	if (store_query_int(r->st, sql[S_ACTIVE], p, 2, &n) < 0)
		return -1;
	if (n > 0)
		json_array_append_new(items, json_pack("{s:s,s:s,s:s,s:s,s:s}", "kind", "consent", "title",
						       msg(MSG_CONSENT_DESK_TITLE), "href", "/my/consents", "status",
						       arena_printf(r->arena, "%" PRId64 " 项有效", n), "level", "info"));
	int f = account_subject(r->st, r->who.user_id, hash, &kind);
	if (f < 0)
		return -1;
	if (f == 0)
		return 0;
	json_t *pg = reg_access_of_subject(r->st, hash, 0, 1);
	if (pg == NULL)
		return -1;
	json_t *first = json_array_get(json_object_get(pg, "items"), 0);
	if (first != NULL && json_integer_value(json_object_get(first, "at")) >= time(NULL) - RECENT_DAYS * 86400)
		json_array_append_new(items, json_pack("{s:s,s:s,s:s,s:s,s:s}", "kind", "data-access", "title",
						       msg(MSG_TRACK_DESK_TITLE), "href", "/my/data-access", "status",
						       msg(MSG_TRACK_DESK_RECENT), "level", "info"));
	json_decref(pg);
	return 0;
}

void share_consent_register(void)
{
	desk_register(desk_consent);
}

/* ------------------------------------------------------------ routes */

static const struct field_spec fs_list[] = {
	{ "after", FT_INT, 0, 1, INT64_MAX, NULL, "起始位置" },
	{ "granted", FT_INT, 0, 1, INT64_MAX, NULL, "授权" },
	{ "revoked", FT_INT, 0, 1, INT64_MAX, NULL, "撤回" },
	{ NULL },
};

static const struct field_spec fs_api_list[] = {
	{ "after", FT_INT, 0, 1, INT64_MAX, NULL, "起始位置" },
	{ "limit", FT_INT, 0, 1, 100, NULL, "每页条数" },
	{ NULL },
};

static const struct field_spec fs_new[] = {
	{ "template", FT_TEXT, 0, 0, 64, NULL, "核查事项" },
	{ NULL },
};

static const struct field_spec fs_consent[] = {
	{ "dept", FT_DEPT_CODE, FS_REQUIRED, 0, 0, NULL, "授权部门" },
	{ "template", FT_TEXT, FS_REQUIRED, 0, 64, NULL, "核查事项" },
	{ "purpose", FT_TEXT, FS_REQUIRED, 2, PURPOSE_MAX, NULL, "用途" },
	{ "until", FT_DATE, FS_REQUIRED, 0, 0, NULL, "有效期至" },
	{ "agree", FT_BOOL, 0, 0, 0, NULL, "本人已阅读并同意" },
	{ NULL },
};

const struct route share_consent_routes[] = {
	{ HM_GET, "/my/consents", page_consents, ROLE_PERSON, 0, fs_list, NULL, NULL,
	  "My consents to verification: 有效 / 已过期 / 已撤回, with revoke buttons" },
	{ HM_GET, "/my/consents/new", page_consent_new, ROLE_PERSON, 0, fs_new, NULL, NULL,
	  "Give a department consent to verify named facts: the form with the questions in plain words" },
	{ HM_POST, "/my/consents", do_consent, ROLE_PERSON, RF_CSRF | RF_IDEM, fs_consent, "share/consent_new",
	  consent_form_fill, "Give consent (form)" },
	{ HM_POST, "/my/consents/{id}/revoke", do_revoke, ROLE_PERSON, RF_CSRF, NULL, NULL, NULL,
	  "Revoke one of my consents (form)" },
	{ HM_GET, "/my/data-access", page_access, ROLE_PERSON, 0, fs_api_list, NULL, NULL,
	  "My data tracker: every access to my data, by whom, why and on which basis" },
	{ HM_GET, "/api/v1/my/consents", api_consents, ROLE_PERSON, RF_API, fs_api_list, NULL, NULL,
	  "My consents, newest first (cursor pages)" },
	{ HM_POST, "/api/v1/my/consents", api_consent_create, ROLE_PERSON, RF_API | RF_CSRF | RF_IDEM, fs_consent,
	  NULL, NULL,
	  "Give consent: {dept (code), template (code), purpose, until (YYYY-MM-DD, after today, at most a year), "
	  "agree: true}; 201 with the consent" },
	{ HM_GET, "/api/v1/my/consents/{id}", api_consent_get, ROLE_PERSON, RF_API, NULL, NULL, NULL,
	  "One of my consents" },
	{ HM_POST, "/api/v1/my/consents/{id}/revoke", api_revoke, ROLE_PERSON, RF_API | RF_CSRF, NULL, NULL, NULL,
	  "Revoke one of my consents; 409 when already revoked" },
	{ HM_GET, "/api/v1/my/data-access", api_access, ROLE_PERSON, RF_API, fs_api_list, NULL, NULL,
	  "My data tracker: accesses to my data, newest first (cursor pages)" },
	{ 0, NULL, NULL, 0, 0, NULL, NULL, NULL, NULL },
};
