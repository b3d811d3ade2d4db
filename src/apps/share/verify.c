/*
 * verify: consent-bound verification (授权核查).
 *
 * A verification template names the department allowed to run it and its
 * questions, each answered by registry_aggregate over one registry:
 *   {"label": "名下机动车数量", "registry": "vehicle", "match": "owner_id",
 *    "agg": "count" | "exists" | "sum", "field": "balance" (sum),
 *    "op": ">=" | ">" | "<=" | "=", "threshold": "30000.00" (optional)}
 * count gives the number of records; exists gives 是/否; sum gives the
 * total; with op and threshold the answer is 是/否 and the number itself is
 * never revealed (nor stored).
 *
 *   GET  /share/verify                   staff: choose a template, enter the 身份证号
 *   POST /share/verify                   run it (then /share/verify/runs/{id})
 *   GET  /share/verify/runs/{id}         the printable result for the case file
 *   POST /api/v1/share/verify            {"template","subject"} -> the answers
 *   GET  /api/v1/share/verify/templates  the templates (citizens read them before consenting)
 *   GET  /api/v1/share/verify/runs/{id}  one run
 *
 * A run needs the acting department to be the template's department and a
 * valid consent (consent.c) of the data subject for that department and
 * template: not revoked, valid_until not before today.  Otherwise it is
 * refused with the specific reason (never given, expired, revoked), and the
 * refusal is audited ("verify.refuse"; the transaction is kept for it).
 * A run is recorded in verification_runs, audited ("verify.run", with no
 * clear identifier), each question's read is logged for the subject's
 * tracker (reg_access_log, basis "consent:<id>", via "verify", fields = the
 * question's label, purpose = the consent's), and the subject is notified.
 */
#include "apps/share/share_int.h"
#include "core/account.h"
#include "core/audit.h"
#include "core/calendar.h"
#include "core/dept.h"
#include "core/log.h"
#include "core/msg.h"
#include "core/notify.h"
#include "core/validate.h"
#include "core/xalloc.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CODE_MAX 64
#define RECENT_RUNS 20

enum {
	S_TEMPLATES,
	S_TEMPLATES_DEPT,
	S_TEMPLATE,
	S_TEMPLATE_INSERT,
	S_CONSENTS,
	S_RUN_INSERT,
	S_RUN,
	S_RUNS_DEPT,
	S_STAFF_OF,
	S__MAX
};

#define TEMPLATE_COLS                                                                                    \
	"SELECT t.id, t.code, t.name, t.description, t.dept_id, d.code, d.name, t.subject_kind, t.questions " \
	"FROM verify_templates t JOIN departments d ON d.id = t.dept_id "

static const char *const sql[S__MAX] = {
	[S_TEMPLATES] = TEMPLATE_COLS "ORDER BY t.code",
	[S_TEMPLATES_DEPT] = TEMPLATE_COLS "WHERE t.dept_id = $1 ORDER BY t.code",
	[S_TEMPLATE] = TEMPLATE_COLS "WHERE t.code = $1",
	[S_TEMPLATE_INSERT] = "INSERT INTO verify_templates (code, name, description, dept_id, subject_kind, questions, "
			      "created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (code) DO NOTHING",
	/* newest first: the first valid one is used; otherwise the newest says why not */
	[S_CONSENTS] = "SELECT id, user_id, purpose, valid_until, revoked_at FROM consents "
		       "WHERE subject_hash = $1 AND dept_id = $2 AND template_id = $3 ORDER BY id DESC",
	[S_RUN_INSERT] = "INSERT INTO verification_runs (actor_id, actor, dept_id, template_id, subject_hash, "
			 "subject_masked, consent_id, answers, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
	[S_RUN] = "SELECT r.id, r.actor_id, r.actor, r.dept_id, d.name, t.code, t.name, r.subject_masked, r.consent_id, "
		  "c.purpose, c.valid_until, r.answers, r.at, u.name, a.name "
		  "FROM verification_runs r JOIN departments d ON d.id = r.dept_id "
		  "JOIN verify_templates t ON t.id = r.template_id JOIN consents c ON c.id = r.consent_id "
		  "JOIN users u ON u.id = c.user_id LEFT JOIN users a ON a.id = r.actor_id WHERE r.id = $1",
	[S_RUNS_DEPT] = "SELECT r.id, t.name, r.subject_masked, r.actor, r.at FROM verification_runs r "
			"JOIN verify_templates t ON t.id = r.template_id WHERE r.dept_id = $1 ORDER BY r.id DESC LIMIT $2",
	[S_STAFF_OF] = "SELECT 1 FROM user_roles WHERE user_id = $1 AND dept_id = $2 LIMIT 1",
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

/* "2026-11-22 14:03" (local time) into the arena. */
static const char *time_text(struct req *r, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	char b[32];
	if (localtime_r(&tt, &tm) == NULL || strftime(b, sizeof b, "%Y-%m-%d %H:%M", &tm) == 0)
		return "";
	return arena_strdup(r->arena, b);
}

/*
 * A canonical number ("-12", "30000.00") as an integer count of 10^-scale
 * units; more fraction digits than scale is refused.  0 or -1.
 */
static int units_of(const char *s, int scale, int64_t *out)
{
	int neg = 0, frac = -1;
	uint64_t v = 0;
	if (s == NULL)
		return -1;
	if (*s == '-') {
		neg = 1;
		s++;
	}
	if (*s < '0' || *s > '9')
		return -1;
	for (; *s; s++) {
		if (*s == '.' && frac < 0) {
			frac = 0;
			continue;
		}
		if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
		if (frac >= 0)
			frac++;
	}
	if (frac == 0)
		return -1;   /* "12." */
	for (frac = frac < 0 ? 0 : frac; frac < scale; frac++) {
		if (v > UINT64_MAX / 10)
			return -1;
		v *= 10;
	}
	if (frac > scale || v > (uint64_t)INT64_MAX)
		return -1;
	*out = neg ? -(int64_t)v : (int64_t)v;
	return 0;
}

static int op_valid(const char *op)
{
	return op != NULL && (strcmp(op, ">=") == 0 || strcmp(op, ">") == 0 || strcmp(op, "<=") == 0 ||
			      strcmp(op, "=") == 0);
}

static int op_holds(const char *op, int64_t a, int64_t b)
{
	if (strcmp(op, ">=") == 0)
		return a >= b;
	if (strcmp(op, ">") == 0)
		return a > b;
	if (strcmp(op, "<=") == 0)
		return a <= b;
	return a == b;
}

/* What a question reveals, in plain words for the person consenting. */
static const char *question_plain(json_t *q)
{
	const char *agg = jstr(q, "agg");
	if (agg == NULL)
		return "";
	if (strcmp(agg, "exists") == 0)
		return msg(MSG_VERIFY_PLAIN_EXISTS);
	if (jstr(q, "op") != NULL)
		return msg(MSG_VERIFY_PLAIN_YESNO);
	if (strcmp(agg, "sum") == 0)
		return msg(MSG_VERIFY_PLAIN_SUM);
	return msg(MSG_VERIFY_PLAIN_COUNT);
}

/* A template row of TEMPLATE_COLS as JSON (questions with registry names and plain words). */
static json_t *template_json(struct store *st, const struct store_res *res, int i)
{
	json_t *qs = json_loads(store_res_text(res, i, 8), 0, NULL);
	if (!json_is_array(qs)) {
		json_decref(qs);
		qs = json_array();
	}
	size_t k;
	json_t *q;
	json_array_foreach(qs, k, q) {
		const char *code = jstr(q, "registry");
		const struct registry *reg = code ? registry_get(st, code) : NULL;
		json_object_set_new(q, "registry_name", json_string(reg ? reg->def.name : (code ? code : "")));
		json_object_set_new(q, "plain", json_string(question_plain(q)));
		json_object_set_new(q, "n", json_integer((json_int_t)k + 1));
	}
	const char *kind = store_res_text(res, i, 7);
	return json_pack("{s:I,s:s,s:s,s:s,s:{s:I,s:s,s:s},s:s,s:s,s:o}", "id", (json_int_t)store_res_int(res, i, 0),
			 "code", store_res_text(res, i, 1), "name", store_res_text(res, i, 2), "description",
			 store_res_text(res, i, 3), "dept", "id", (json_int_t)store_res_int(res, i, 4), "code",
			 store_res_text(res, i, 5), "name", store_res_text(res, i, 6), "subject_kind", kind,
			 "subject_label", strcmp(kind, "uscc") == 0 ? "统一社会信用代码" : "身份证号", "questions", qs);
}

json_t *share_verify_templates(struct store *st, int64_t dept_id)
{
	struct store_res *res = NULL;
	struct sval p[] = { SVI(dept_id) };
	if (dept_id < 0)
		return json_array();
	if (store_query(st, sql[dept_id > 0 ? S_TEMPLATES_DEPT : S_TEMPLATES], p, dept_id > 0 ? 1 : 0, &res) !=
	    STORE_OK)
		return NULL;
	json_t *out = json_array();
	for (int i = 0; i < store_res_rows(res); i++)
		json_array_append_new(out, template_json(st, res, i));
	store_res_free(res);
	return out;
}

json_t *share_verify_template(struct store *st, const char *code)
{
	struct store_res *res = NULL;
	struct sval p[] = { SVT(code) };
	if (store_query(st, sql[S_TEMPLATE], p, 1, &res) != STORE_OK)
		return NULL;
	json_t *out = store_res_rows(res) > 0 ? template_json(st, res, 0) : json_null();
	store_res_free(res);
	return out;
}

/* ------------------------------------------------------------ the demo template */

static const char dibao_questions[] =
	"[{\"label\":\"名下不动产数量\",\"registry\":\"housing\",\"match\":\"owner_id\",\"agg\":\"count\"},"
	"{\"label\":\"名下机动车数量\",\"registry\":\"vehicle\",\"match\":\"owner_id\",\"agg\":\"count\"},"
	"{\"label\":\"存款余额合计是否达到 30000 元\",\"registry\":\"deposit\",\"match\":\"owner_id\",\"agg\":\"sum\","
	"\"field\":\"balance\",\"op\":\">=\",\"threshold\":\"30000.00\"},"
	"{\"label\":\"住房公积金账户余额是否达到 20000 元\",\"registry\":\"pfund\",\"match\":\"owner_id\",\"agg\":\"sum\","
	"\"field\":\"balance\",\"op\":\">=\",\"threshold\":\"20000.00\"}]";

int share_verify_demo(struct store *st)
{
	int64_t mca;
	if (dept_find_code(st, "mca", &mca) != 0) {
		log_error("verify demo: no department mca");
		return -1;
	}
	struct sval p[] = {
		SVT("mca-dibao"),
		SVT("最低生活保障家庭经济状况核对"),
		SVT("民政部门受理最低生活保障申请后，经申请人授权，核对其名下不动产、机动车、存款和住房公积金情况，"
		    "用于认定家庭经济状况。核查只回答下列问题（数量或“是/否”），不提供任何原始记录，也不告知具体金额。"
		    "说明：存款 30000 元、住房公积金 20000 元两项标准为演示用数值，实际以当地低保政策规定为准。"),
		SVI(mca),
		SVT("idcard"),
		SVT(dibao_questions),
		SVI(time(NULL)),
	};
	return store_exec(st, sql[S_TEMPLATE_INSERT], p, 7, NULL) == STORE_OK ? 0 : -1;
}

/* ------------------------------------------------------------ running */

/* Why a verification was refused, with its status and the field concerned. */
struct refusal {
	int status;
	enum msg_id why;
	const char *field;
	const char *reason;   /* for the audit entry */
};

/* The answer to one question; -1 on a template or store problem (logged). */
static int answer_question(struct store *st, json_t *q, const char *subject, json_t **out)
{
	const char *label = jstr(q, "label"), *code = jstr(q, "registry"), *match = jstr(q, "match"),
		   *agg = jstr(q, "agg"), *field = jstr(q, "field"), *op = jstr(q, "op"),
		   *threshold = jstr(q, "threshold");
	if (label == NULL || code == NULL || match == NULL || agg == NULL) {
		log_error("verify: a question lacks label, registry, match or agg");
		return -1;
	}
	int is_sum = strcmp(agg, "sum") == 0, is_exists = strcmp(agg, "exists") == 0;
	if (!is_sum && !is_exists && strcmp(agg, "count") != 0) {
		log_error("verify: question \"%s\": unknown agg %s", label, agg);
		return -1;
	}
	const struct registry *reg = registry_get(st, code);
	if (reg == NULL) {
		log_error("verify: question \"%s\": no registry %s", label, code);
		return -1;
	}
	char value[64];
	struct reg_error e;
	if (registry_aggregate(st, reg, match, subject, is_sum ? field : NULL, value, sizeof value, &e) != 0) {
		log_error("verify: question \"%s\": %s %s", label, msg_name(e.why), e.field);
		return -1;
	}
	const char *kind, *answer;
	if (is_exists) {
		kind = "yesno";
		answer = msg(strcmp(value, "0") != 0 ? MSG_VERIFY_YES : MSG_VERIFY_NO);
	} else if (op != NULL) {
		int scale = 0;
		if (is_sum) {
			int fi = reg_field_index(&reg->def, field);
			scale = fi >= 0 && reg->def.fields[fi].type == RT_DECIMAL ? reg->def.fields[fi].scale : 0;
		}
		int64_t a, b;
		if (!op_valid(op) || units_of(value, scale, &a) != 0 || units_of(threshold, scale, &b) != 0) {
			log_error("verify: question \"%s\": bad op or threshold", label);
			return -1;
		}
		kind = "yesno";
		answer = msg(op_holds(op, a, b) ? MSG_VERIFY_YES : MSG_VERIFY_NO);
	} else {
		kind = is_sum ? "sum" : "count";
		answer = value;
	}
	*out = json_pack("{s:s,s:s,s:s}", "label", label, "kind", kind, "answer", answer);
	return 0;
}

/* Appends the audit entry of a refusal (the transaction is kept for it). */
static void audit_refusal(struct req *r, int64_t dept, const char *template_code, const char *masked,
			  const char *reason)
{
	json_t *d = json_pack("{s:s,s:s,s:s}", "template", template_code ? template_code : "", "subject",
			      masked ? masked : "", "reason", reason);
	char *detail = json_dumps(d, JSON_COMPACT);
	json_decref(d);
	struct audit_entry a = { r->who.user_id, r->who.login, "verify.refuse",
				 arena_printf(r->arena, "verify_template:%s", template_code ? template_code : ""),
				 dept, r->ip, detail };
	if (audit_append(r->st, &a) == 0)
		r->keep_tx = 1;
	free(detail);
}

/* The subject as typed, checked for the template's kind; NULL with *why. */
static const char *subject_checked(struct req *r, const char *kind, enum msg_id *why)
{
	const char *in = req_in_str(r, "subject");
	if (in == NULL || *in == '\0') {
		*why = MSG_FIELD_REQUIRED;
		return NULL;
	}
	char *s = arena_strdup(r->arena, in);
	for (char *p = s; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	int rc = strcmp(kind, "uscc") == 0 ? validate_uscc(s) : validate_idcard(s);
	if (rc != 0) {
		*why = (enum msg_id)rc;
		return NULL;
	}
	return s;
}

/* A masked identifier for display and the audit (440106********1236). */
static const char *masked_of(struct req *r, const char *s)
{
	char m[24];
	if (strlen(s) == 18) {
		snprintf(m, sizeof m, "%.6s********%.4s", s, s + 14);
	} else {
		snprintf(m, sizeof m, "****");
	}
	return arena_strdup(r->arena, m);
}

/*
 * Runs the verification of r's input (template, subject) in r's
 * transaction.  0 with *run_id, or -1: an input error answered already
 * (*answered = 1), or a refusal in *ref (audited; the caller answers it).
 */
static int run(struct req *r, int64_t *run_id, struct refusal *ref, int *answered)
{
	struct store_res *cons = NULL, *ins = NULL;
	json_t *tpl = NULL, *answers = NULL;
	char *answers_text = NULL;
	int rc = -1;
	*answered = 0;
	*run_id = 0;
	const char *code = req_in_str(r, "template");
	int64_t dept = share_acting_dept(r);
	if (dept == 0) {
		*ref = (struct refusal){ 403, MSG_SHARE_NO_DEPT, NULL, "not_staff" };
		return -1;
	}
	tpl = share_verify_template(r->st, code ? code : "");
	if (tpl == NULL) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		*answered = 1;
		goto out;
	}
	if (json_is_null(tpl)) {
		struct input_error e = { 400, MSG_VERIFY_TEMPLATE_UNKNOWN, "template", "" };
		resp_input_error(r, &e);
		*answered = 1;
		goto out;
	}
	enum msg_id why = MSG_NONE;
	const char *subject = subject_checked(r, jstr(tpl, "subject_kind"), &why);
	if (subject == NULL) {
		struct input_error e = { 400, why, "subject", "" };
		resp_input_error(r, &e);
		*answered = 1;
		goto out;
	}
	const char *masked = masked_of(r, subject);
	int64_t tpl_id = json_integer_value(json_object_get(tpl, "id"));
	int64_t tpl_dept = json_integer_value(json_object_get(json_object_get(tpl, "dept"), "id"));
	if (tpl_dept != dept) {
		*ref = (struct refusal){ 403, MSG_VERIFY_NOT_YOUR_DEPT, "template", "not_template_dept" };
		audit_refusal(r, dept, code, masked, ref->reason);
		goto out;
	}

	/* the consent: the newest valid one, else the newest says why not */
	char hash[65], today[11];
	account_ident_hash(http_ctx()->keys, subject, hash);
	today_text(today);
	struct sval pc[] = { SVT(hash), SVI(dept), SVI(tpl_id) };
	if (store_query(r->st, sql[S_CONSENTS], pc, 3, &cons) != STORE_OK) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		*answered = 1;
		goto out;
	}
	int use = -1, n = store_res_rows(cons);
	for (int i = 0; i < n && use < 0; i++)
		if (store_res_isnull(cons, i, 4) && strcmp(store_res_text(cons, i, 3), today) >= 0)
			use = i;
	if (use < 0) {
		if (n == 0)
			*ref = (struct refusal){ 403, MSG_VERIFY_NO_CONSENT, "subject", "no_consent" };
		else if (!store_res_isnull(cons, 0, 4))
			*ref = (struct refusal){ 403, MSG_VERIFY_CONSENT_REVOKED, "subject", "consent_revoked" };
		else
			*ref = (struct refusal){ 403, MSG_VERIFY_CONSENT_EXPIRED, "subject", "consent_expired" };
		audit_refusal(r, dept, code, masked, ref->reason);
		goto out;
	}
	int64_t consent_id = store_res_int(cons, use, 0), subject_user = store_res_int(cons, use, 1);
	const char *purpose = store_res_text(cons, use, 2);
	const char *basis = arena_printf(r->arena, "consent:%" PRId64, consent_id);
	const char *actor = r->who.login ? r->who.login : arena_printf(r->arena, "user:%" PRId64, r->who.user_id);

	/* the answers, each read logged for the subject's tracker */
	answers = json_array();
	size_t k;
	json_t *q;
	json_array_foreach(json_object_get(tpl, "questions"), k, q) {
		json_t *a = NULL;
		if (answer_question(r->st, q, subject, &a) != 0) {
			resp_error(r, 500, MSG_VERIFY_FAILED, NULL);
			*answered = 1;
			goto out;
		}
		json_array_append_new(answers, a);
		struct reg_access acc = { dept, r->who.user_id, actor, jstr(q, "registry"), subject, purpose, basis,
					  jstr(q, "label"), "verify" };
		if (reg_access_log(r->st, http_ctx()->keys, &acc) != 0) {
			resp_error(r, 500, MSG_HTTP_500, NULL);
			*answered = 1;
			goto out;
		}
	}
	answers_text = json_dumps(answers, JSON_COMPACT);
	int64_t now = time(NULL);
	struct sval pr[] = { SVI(r->who.user_id), SVT(actor), SVI(dept), SVI(tpl_id), SVT(hash), SVT(masked),
			     SVI(consent_id), SVT(answers_text), SVI(now) };
	if (store_query(r->st, sql[S_RUN_INSERT], pr, 9, &ins) != STORE_OK || store_res_rows(ins) != 1) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		*answered = 1;
		goto out;
	}
	*run_id = store_res_int(ins, 0, 0);

	json_t *d = json_pack("{s:s,s:I,s:s,s:i}", "template", code, "consent", (json_int_t)consent_id, "subject",
			      masked, "questions", (int)json_array_size(answers));
	char *detail = json_dumps(d, JSON_COMPACT);
	json_decref(d);
	struct audit_entry ae = { r->who.user_id, actor, "verify.run",
				  arena_printf(r->arena, "verify_run:%" PRId64, *run_id), dept, r->ip, detail };
	int arc = audit_append(r->st, &ae);
	free(detail);
	if (arc != 0) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		*answered = 1;
		goto out;
	}
	const char *body = arena_printf(r->arena, "%s依据您的授权（编号 %" PRId64 "，用途：%s）进行了“%s”核查，"
				       "只获得了对所列问题的回答，没有获得原始记录。",
				       json_string_value(json_object_get(json_object_get(tpl, "dept"), "name")),
				       consent_id, purpose, jstr(tpl, "name"));
	if (notify_user(r->st, subject_user, "verify.used", msg(MSG_VERIFY_NOTIFY_TITLE), body, "/my/data-access",
			arena_printf(r->arena, "verify_run:%" PRId64, *run_id)) != 0) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		*answered = 1;
		goto out;
	}
	notify_kick();
	rc = 0;
out:
	store_res_free(cons);
	store_res_free(ins);
	json_decref(tpl);
	json_decref(answers);
	free(answers_text);
	return rc;
}

/* ------------------------------------------------------------ reading a run */

/* 1 when r's user may see runs of dept (its staff, or a platform admin). */
static int may_see(struct req *r, int64_t dept)
{
	if (r->who.roles & ROLEBIT_PLATFORM_ADMIN)
		return 1;
	if (r->who.user_id == 0)
		return 0;
	int64_t one;
	struct sval p[] = { SVI(r->who.user_id), SVI(dept) };
	return store_query_int(r->st, sql[S_STAFF_OF], p, 2, &one) == STORE_OK;
}

/* One run as JSON; JSON null when none, NULL on a store failure. */
static json_t *run_json(struct req *r, int64_t id)
{
	struct store_res *res = NULL;
	struct sval p[] = { SVI(id) };
	if (store_query(r->st, sql[S_RUN], p, 1, &res) != STORE_OK)
		return NULL;
	if (store_res_rows(res) == 0) {
		store_res_free(res);
		return json_null();
	}
	json_t *answers = json_loads(store_res_text(res, 0, 11), 0, NULL);
	if (!json_is_array(answers)) {
		json_decref(answers);
		answers = json_array();
	}
	int64_t at = store_res_int(res, 0, 12);
	const char *actor_name = store_res_isnull(res, 0, 14) ? store_res_text(res, 0, 2) : store_res_text(res, 0, 14);
	json_t *o = json_pack("{s:I,s:{s:s,s:s},s:{s:I,s:s},s:s,s:s,s:{s:s,s:s},s:{s:I,s:s,s:s},s:o,s:I,s:s,s:s}",
			      "id", (json_int_t)id, "template", "code", store_res_text(res, 0, 5), "name",
			      store_res_text(res, 0, 6), "dept", "id", (json_int_t)store_res_int(res, 0, 3), "name",
			      store_res_text(res, 0, 4), "actor", store_res_text(res, 0, 2), "actor_name", actor_name,
			      "subject", "name", store_res_text(res, 0, 13), "masked", store_res_text(res, 0, 7), "consent",
			      "id", (json_int_t)store_res_int(res, 0, 8), "purpose", store_res_text(res, 0, 9),
			      "valid_until", store_res_text(res, 0, 10), "answers", answers, "at", (json_int_t)at,
			      "at_text", time_text(r, at), "href",
			      arena_printf(r->arena, "/share/verify/runs/%" PRId64, id));
	store_res_free(res);
	return o;
}

/* The run r's user may see, or NULL with the answer given (404 also for others' runs). */
static json_t *visible_run(struct req *r, int64_t id)
{
	json_t *o = run_json(r, id);
	if (o == NULL) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return NULL;
	}
	if (json_is_null(o) ||
	    !may_see(r, json_integer_value(json_object_get(json_object_get(o, "dept"), "id")))) {
		json_decref(o);
		resp_error(r, 404, MSG_VERIFY_RUN_NOT_FOUND, NULL);
		return NULL;
	}
	return o;
}

/* ------------------------------------------------------------ pages */

/* The staff page's context: the department's templates, recent runs. */
static void verify_fill(struct req *r, json_t *ctx)
{
	int64_t dept = share_acting_dept(r);
	json_t *tpls = share_verify_templates(r->st, dept > 0 ? dept : -1);
	json_t *values = json_object_get(ctx, "values");
	const char *chosen = values ? jstr(values, "template") : NULL;
	size_t i;
	json_t *t;
	if (tpls == NULL)
		tpls = json_array();
	json_array_foreach(tpls, i, t) {
		const char *c = jstr(t, "code");
		json_object_set_new(t, "selected", json_boolean(chosen != NULL && c != NULL && strcmp(c, chosen) == 0));
	}
	json_object_set_new(ctx, "has_templates", json_boolean(json_array_size(tpls) > 0));
	json_object_set_new(ctx, "templates", tpls);
	json_object_set_new(ctx, "title", json_string("授权核查"));
	json_object_set_new(ctx, "has_dept", json_boolean(dept > 0));
	if (dept > 0) {
		json_t *dj = dept_json(r->st, dept);
		if (dj != NULL)
			json_object_set_new(ctx, "dept", dj);
		struct store_res *res = NULL;
		struct sval p[] = { SVI(dept), SVI(RECENT_RUNS) };
		json_t *runs = json_array();
		if (store_query(r->st, sql[S_RUNS_DEPT], p, 2, &res) == STORE_OK) {
			for (int k = 0; k < store_res_rows(res); k++)
				json_array_append_new(
					runs, json_pack("{s:I,s:s,s:s,s:s,s:s}", "id", (json_int_t)store_res_int(res, k, 0),
							"template_name", store_res_text(res, k, 1), "subject_masked",
							store_res_text(res, k, 2), "actor", store_res_text(res, k, 3), "at_text",
							time_text(r, store_res_int(res, k, 4))));
			store_res_free(res);
		}
		json_object_set_new(ctx, "has_runs", json_boolean(json_array_size(runs) > 0));
		json_object_set_new(ctx, "runs", runs);
	}
}

static void page_verify(struct req *r)
{
	json_t *ctx = json_object();
	json_t *values = json_object();
	const char *t = req_in_str(r, "template");
	if (t != NULL)
		json_object_set_new(values, "template", json_string(t));
	json_object_set_new(ctx, "values", values);
	verify_fill(r, ctx);
	resp_page(r, 200, "share/verify", ctx);
}

static void do_verify(struct req *r)
{
	int64_t id;
	struct refusal ref = { 0 };
	int answered;
	if (run(r, &id, &ref, &answered) == 0) {
		resp_redirect(r, arena_printf(r->arena, "/share/verify/runs/%" PRId64, id));
		return;
	}
	if (answered)
		return;
	/* refused: the form again with the reason; the audit entry is kept (keep_tx) */
	json_t *ctx = json_object();
	json_t *values = json_object();
	const char *t = req_in_str(r, "template"), *s = req_in_str(r, "subject");
	if (t != NULL)
		json_object_set_new(values, "template", json_string(t));
	if (s != NULL)
		json_object_set_new(values, "subject", json_string(s));
	json_object_set_new(ctx, "values", values);
	json_object_set_new(ctx, "refusal", json_string(msg(ref.why)));
	if (ref.field != NULL) {
		json_object_set_new(ctx, "errors", json_pack("{s:s}", ref.field, msg(ref.why)));
		json_object_set_new(ctx, "error", json_pack("{s:s,s:s}", "field", ref.field, "message", msg(ref.why)));
	}
	verify_fill(r, ctx);
	resp_page(r, ref.status, "share/verify", ctx);
}

static void page_run(struct req *r)
{
	int64_t id;
	if (req_param_id(r, "id", &id) != 0)
		return;
	json_t *o = visible_run(r, id);
	if (o == NULL)
		return;
	json_t *ctx = json_pack("{s:o,s:s}", "run", o, "title", "核查结果");
	resp_page(r, 200, "share/verify_run", ctx);
}

/* ------------------------------------------------------------ API */

static void api_verify(struct req *r)
{
	int64_t id;
	struct refusal ref = { 0 };
	int answered;
	if (run(r, &id, &ref, &answered) != 0) {
		if (!answered)
			resp_error(r, ref.status, ref.why, ref.field);
		return;
	}
	json_t *o = run_json(r, id);
	if (o == NULL || json_is_null(o)) {
		json_decref(o);
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	r->location = arena_printf(r->arena, "/api/v1/share/verify/runs/%" PRId64, id);
	resp_json(r, 201, o);
}

static void api_templates(struct req *r)
{
	json_t *items = share_verify_templates(r->st, 0);
	if (items == NULL) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	resp_json(r, 200, json_pack("{s:o}", "items", items));
}

static void api_run(struct req *r)
{
	int64_t id;
	if (req_param_id(r, "id", &id) != 0)
		return;
	json_t *o = visible_run(r, id);
	if (o != NULL)
		resp_json(r, 200, o);
}

/* ------------------------------------------------------------ routes */

static const struct field_spec fs_verify_view[] = {
	{ "template", FT_TEXT, 0, 0, CODE_MAX, NULL, "核查模板" },
	{ "dept", FT_INT, 0, 1, INT64_MAX, NULL, "部门" },
	{ NULL },
};

static const struct field_spec fs_verify[] = {
	{ "template", FT_TEXT, FS_REQUIRED, 0, CODE_MAX, NULL, "核查模板" },
	{ "subject", FT_TEXT, FS_REQUIRED, 0, 32, NULL, "身份证号" },
	{ "dept", FT_INT, 0, 1, INT64_MAX, NULL, "部门" },
	{ NULL },
};

static const struct field_spec fs_dept_only[] = {
	{ "dept", FT_INT, 0, 1, INT64_MAX, NULL, "部门" },
	{ NULL },
};

const struct route share_verify_routes[] = {
	{ HM_GET, "/share/verify", page_verify, ROLE_STAFF, 0, fs_verify_view, NULL, NULL,
	  "Consent-bound verification (授权核查): choose a template, enter the subject's identifier" },
	{ HM_POST, "/share/verify", do_verify, ROLE_STAFF, RF_CSRF | RF_IDEM, fs_verify, "share/verify", verify_fill,
	  "Run a verification with the subject's valid consent; then the result page" },
	{ HM_GET, "/share/verify/runs/{id}", page_run, ROLE_STAFF, 0, fs_dept_only, NULL, NULL,
	  "A verification's result, printable for the case file" },
	{ HM_POST, "/api/v1/share/verify", api_verify, ROLE_STAFF, RF_API | RF_CSRF | RF_IDEM, fs_verify, NULL, NULL,
	  "Run a verification template about a subject who consented: {template, subject}; 201 with the answers "
	  "(counts, yes/no), never the records; 403 with the reason when there is no valid consent" },
	{ HM_GET, "/api/v1/share/verify/templates", api_templates, ROLE_USER, RF_API, NULL, NULL, NULL,
	  "Verification templates: department, questions and what each reveals" },
	{ HM_GET, "/api/v1/share/verify/runs/{id}", api_run, ROLE_STAFF, RF_API, fs_dept_only, NULL, NULL,
	  "One verification run (staff of its department)" },
	{ 0, NULL, NULL, 0, 0, NULL, NULL, NULL, NULL },
};
