/*
 * rating: 好差评 — the applicant's rating of a decided case, the
 * rectification a bad rating opens, and the public statistics pages.
 *
 *   GET, POST /hall/cases/{id}/rate      the applicant rates a decided case once:
 *                                        1–5 (非常不满意 … 非常满意) and a comment
 *                                        (required for 1 and 2, at most 500 characters)
 *   GET /hall/depts/{id}/stats           a department's public statistics
 *   GET /hall/ranking                    every department's stars (stars.c)
 *   /api/v1/hall/cases/{id}/rating, /api/v1/hall/ranking,
 *   /api/v1/hall/depts/{id}/stats        the same as JSON
 *
 * A case can be rated when it is final and was decided (not withdrawn; not
 * itself a rectification), by its applicant only (403 for anyone else),
 * once (a UNIQUE case_id: the second answer is 409, also under a race).
 * A rating of 1 or 2 opens, in the same transaction, a case of the case
 * engine with process hall.rectify (processes/hall/rectify.proc) in the
 * rated case's department, with the person who rated as its applicant (the
 * public events tell them) and "差评整改：<subject>" as its subject; the
 * rating's comment goes on its timeline, and the department's
 * administrators are notified.  Its staff handle it from their inbox like
 * any case: call back (回访), rectify within 15 working days on the same
 * clocks, or appeal a rating they believe mistaken to the e-government
 * office, whose upheld appeal takes the rating out of the statistics.
 */
#include "apps/hall/hall.h"
#include "apps/hall/hall_int.h"
#include "core/audit.h"
#include "core/desk.h"
#include "core/log.h"
#include "core/msg.h"
#include "core/notify.h"
#include "core/xalloc.h"
#include "engines/case/case.h"
#include "engines/case/procdef.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define COMMENT_MAX 500
#define SUBJECT_MAX 200        /* characters, as the case engine takes */
#define BAD_SCORE 2            /* ratings up to this open a rectification */
#define RECTIFY_PROCESS "hall.rectify"

enum {
	S_HEAD,
	S_INSERT,
	S_SET_RECTIFY,
	S_RATING,
	S_ADMINS,
	S_DESK,
	S__MAX
};

static const char *const sql[S__MAX] = {
	[S_HEAD] = "SELECT c.applicant_id, c.dept_id, c.state, c.state_final, c.subject, c.item_code, c.process, "
		   "c.tracking, d.name FROM cases c JOIN departments d ON d.id = c.dept_id WHERE c.id = $1",
	[S_INSERT] = "INSERT INTO hall_ratings (case_id, dept_id, user_id, item_code, score, comment, created_at) "
		     "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (case_id) DO NOTHING RETURNING id",
	[S_SET_RECTIFY] = "UPDATE hall_ratings SET rectify_case_id = $1 WHERE id = $2",
	[S_RATING] = "SELECT r.id, r.score, r.comment, r.created_at, r.rectify_case_id, x.state, x.tracking, x.process "
		     "FROM hall_ratings r LEFT JOIN cases x ON x.id = r.rectify_case_id WHERE r.case_id = $1",
	[S_ADMINS] = "SELECT user_id FROM user_roles WHERE dept_id = $1 AND role = 'dept_admin' ORDER BY user_id",
	[S_DESK] = "SELECT c.id, c.subject FROM cases c LEFT JOIN hall_ratings r ON r.case_id = c.id "
		   "WHERE c.applicant_id = $1 AND c.state_final = 1 AND c.state <> 'withdrawn' "
		   "AND c.process LIKE 'hall.%' AND c.process <> 'hall.rectify' AND c.item_code IS NOT NULL "
		   "AND r.id IS NULL AND c.closed_at >= $2 ORDER BY c.id DESC LIMIT 5",
};

#define DESK_DAYS 90   /* decided cases offered on the desk for rating this long */

const char *hall_rate_label(int score)
{
	static const enum msg_id ids[] = { MSG_RATE_SCORE_1, MSG_RATE_SCORE_2, MSG_RATE_SCORE_3, MSG_RATE_SCORE_4,
					   MSG_RATE_SCORE_5 };
	return score >= 1 && score <= 5 ? msg(ids[score - 1]) : "";
}

/* ------------------------------------------------------------ helpers */

struct head {
	int64_t applicant, dept;
	const char *state, *subject, *item_code, *process, *tracking, *dept_name;
	int final;
};

/* The case's head (strings in r's arena): 1 found, 0 none, -1 store failure. */
static int load_head(struct req *r, int64_t id, struct head *h)
{
	struct store_res *res = NULL;
	struct sval p[] = { SVI(id) };
	memset(h, 0, sizeof *h);
	if (store_query(r->st, sql[S_HEAD], p, 1, &res) != STORE_OK)
		return -1;
	int found = store_res_rows(res) > 0;
	if (found) {
		h->applicant = store_res_int(res, 0, 0);
		h->dept = store_res_int(res, 0, 1);
		h->state = arena_strdup(r->arena, store_res_text(res, 0, 2));
		h->final = (int)store_res_int(res, 0, 3);
		h->subject = arena_strdup(r->arena, store_res_text(res, 0, 4));
		h->item_code = store_res_isnull(res, 0, 5) ? NULL : arena_strdup(r->arena, store_res_text(res, 0, 5));
		h->process = arena_strdup(r->arena, store_res_text(res, 0, 6));
		h->tracking = arena_strdup(r->arena, store_res_text(res, 0, 7));
		h->dept_name = arena_strdup(r->arena, store_res_text(res, 0, 8));
	}
	store_res_free(res);
	return found;
}

/* A decided case: final, not withdrawn (nor a draft), and not itself a rectification. */
static int decided(const struct head *h)
{
	return h->final && strcmp(h->state, "withdrawn") != 0 && strcmp(h->state, "draft") != 0 &&
	       strcmp(h->process, RECTIFY_PROCESS) != 0;
}

/*
 * The case r's user may rate: loads its head, answers 404 (no case), 403
 * (not the applicant) or 409 (not decided) itself and returns -1.
 */
static int rateable(struct req *r, int64_t id, struct head *h)
{
	int rc = load_head(r, id, h);
	if (rc < 0) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return -1;
	}
	if (rc == 0) {
		resp_error(r, 404, MSG_HALL_CASE_NOT_FOUND, NULL);
		return -1;
	}
	if (h->applicant != r->who.user_id || r->who.user_id == 0) {
		resp_error(r, 403, MSG_RATE_NOT_APPLICANT, NULL);
		return -1;
	}
	if (!decided(h)) {
		resp_error(r, 409, MSG_RATE_NOT_DECIDED, NULL);
		return -1;
	}
	return 0;
}

/* The rating of a case as JSON, JSON null when none, NULL on a store failure. */
static json_t *rating_json(struct store *st, int64_t case_id)
{
	struct store_res *res = NULL;
	struct sval p[] = { SVI(case_id) };
	if (store_query(st, sql[S_RATING], p, 1, &res) != STORE_OK)
		return NULL;
	if (store_res_rows(res) == 0) {
		store_res_free(res);
		return json_null();
	}
	int score = (int)store_res_int(res, 0, 1);
	json_t *o = json_pack("{s:I,s:I,s:i,s:s,s:s,s:I,s:b}", "id", (json_int_t)store_res_int(res, 0, 0), "case_id",
			      (json_int_t)case_id, "score", score, "label", hall_rate_label(score), "comment",
			      store_res_text(res, 0, 2), "created_at", (json_int_t)store_res_int(res, 0, 3), "withdrawn",
			      !store_res_isnull(res, 0, 5) && strcmp(store_res_text(res, 0, 5), "appeal_upheld") == 0);
	if (!store_res_isnull(res, 0, 4)) {
		int64_t rid = store_res_int(res, 0, 4);
		const char *state = store_res_text(res, 0, 5);
		const struct procdef *pd = procdef_get(store_res_text(res, 0, 7));
		int si = pd ? procdef_state(pd, state) : -1;
		char printed[CASE_TRACKING_PRINT_LEN + 1];
		case_tracking_print(store_res_text(res, 0, 6), printed);
		json_t *x = json_pack("{s:I,s:s,s:s,s:s,s:b}", "id", (json_int_t)rid, "state", state, "state_title",
				      si >= 0 ? pd->states[si].title : state, "tracking_print", printed, "final",
				      si >= 0 && (pd->states[si].flags & PD_STATE_FINAL));
		json_object_set_new(x, "href", json_sprintf("/hall/cases/%lld", (long long)rid));
		json_object_set_new(o, "rectification", x);
	} else {
		json_object_set_new(o, "rectification", json_null());
	}
	store_res_free(res);
	return o;
}

json_t *hall_rating_of_case(struct store *st, int64_t case_id)
{
	struct store_res *res = NULL;
	struct sval p[] = { SVI(case_id) };
	if (store_query(st, sql[S_HEAD], p, 1, &res) != STORE_OK)
		return NULL;
	struct head h = { 0 };
	if (store_res_rows(res) == 1) {
		h.state = store_res_text(res, 0, 2);
		h.final = (int)store_res_int(res, 0, 3);
		h.process = store_res_text(res, 0, 6);
	}
	int can = h.state != NULL && h.process != NULL && decided(&h);
	store_res_free(res);
	if (!can)
		return json_null();
	json_t *rating = rating_json(st, case_id);
	if (rating == NULL)
		return NULL;
	json_t *o = json_pack("{s:b,s:o}", "rated", !json_is_null(rating), "rating", rating);
	json_object_set_new(o, "href", json_sprintf("/hall/cases/%lld/rate", (long long)case_id));
	return o;
}

/* The first max characters (code points) of s (malloc'd). */
static char *utf8_prefix(const char *s, int max)
{
	size_t i = 0;
	int n = 0;
	while (s[i] != '\0' && n < max) {
		i++;
		while ((s[i] & 0xC0) == 0x80)
			i++;
		n++;
	}
	return xstrndup(s, i);
}

static int utf8_len(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

/*
 * Opens the rectification of a bad rating in the caller's transaction: the
 * case, the comment on its timeline, the notices to the department's
 * administrators.  0 with *rid, or -1 (logged).
 */
static int open_rectification(struct store *st, const struct hall_rater *who, int64_t case_id, int64_t dept,
			      const char *case_subject, const char *case_tracking, int64_t rating_id, int score,
			      const char *comment, int64_t *rid)
{
	const char *prefix = msg(MSG_RATE_RECTIFY_PREFIX);
	char *cut = utf8_prefix(case_subject, SUBJECT_MAX - utf8_len(prefix));
	char *subject = xasprintf("%s%s", prefix, cut);
	char *text = xasprintf("评价：%s（%d 分）。%s", hall_rate_label(score), score, comment);
	char *link = NULL, *dedup = NULL;
	char printed[CASE_TRACKING_PRINT_LEN + 1], tracking[CASE_TRACKING_LEN + 1];
	struct store_res *admins = NULL;
	int rc = -1;
	free(cut);
	case_tracking_print(case_tracking, printed);
	json_t *data = json_pack("{s:I,s:I,s:s,s:s,s:i,s:s,s:s}", "rating_id", (json_int_t)rating_id, "case_id",
				 (json_int_t)case_id, "case_tracking", printed, "case_subject", case_subject, "score",
				 score, "score_label", hall_rate_label(score), "comment", comment);
	struct case_new n = { RECTIFY_PROCESS, dept, who->user_id, subject, NULL, 0, 0, NULL, NULL, data };
	struct case_actor sys = { 0, NULL, PD_ROLE_SYSTEM };
	enum case_rc crc = case_create(st, &n, &sys, rid, tracking);
	if (crc != CASE_OK) {
		log_error("rating %lld: rectification: %s", (long long)rating_id, case_rc_name(crc));
		goto out;
	}
	struct case_actor rater = { who->user_id, who->login, PD_ROLE_APPLICANT };
	if ((crc = case_comment(st, *rid, &rater, text, 1)) != CASE_OK) {
		log_error("rating %lld: rectification comment: %s", (long long)rating_id, case_rc_name(crc));
		goto out;
	}
	struct sval p[] = { SVI(*rid), SVI(rating_id) };
	if (store_exec(st, sql[S_SET_RECTIFY], p, 2, NULL) != STORE_OK)
		goto out;
	struct sval pd[] = { SVI(dept) };
	if (store_query(st, sql[S_ADMINS], pd, 1, &admins) != STORE_OK)
		goto out;
	link = xasprintf("/hall/cases/%lld", (long long)*rid);
	dedup = xasprintf("rating:%lld:rectify", (long long)rating_id);
	for (int i = 0; i < store_res_rows(admins); i++)
		if (notify_user(st, store_res_int(admins, i, 0), "hall.rectify", msg(MSG_RATE_RECTIFY_NOTIFY), subject,
				link, dedup) != 0)
			goto out;
	rc = 0;
out:
	json_decref(data);
	store_res_free(admins);
	free(subject);
	free(text);
	free(link);
	free(dedup);
	return rc;
}

enum hall_rate_rc hall_rate_case(struct store *st, const struct hall_rater *who, int64_t case_id, int score,
				 const char *comment, int64_t *rating_id, int64_t *rectify_id)
{
	struct store_res *h = NULL, *res = NULL;
	struct sval ph[] = { SVI(case_id) };
	enum hall_rate_rc rc = HALL_RATE_STORE;
	*rating_id = 0;
	*rectify_id = 0;
	if (comment == NULL)
		comment = "";
	if (score < 1 || score > 5)
		return HALL_RATE_BAD_SCORE;
	if (store_query(st, sql[S_HEAD], ph, 1, &h) != STORE_OK)
		goto out;
	if (store_res_rows(h) == 0) {
		rc = HALL_RATE_NOT_FOUND;
		goto out;
	}
	const char *state = store_res_text(h, 0, 2), *process = store_res_text(h, 0, 6);
	int64_t dept = store_res_int(h, 0, 1);
	if (store_res_int(h, 0, 0) != who->user_id || who->user_id == 0) {
		rc = HALL_RATE_NOT_APPLICANT;
		goto out;
	}
	if (!store_res_int(h, 0, 3) || strcmp(state, "withdrawn") == 0 || strcmp(state, "draft") == 0 ||
	    strcmp(process, RECTIFY_PROCESS) == 0) {
		rc = HALL_RATE_NOT_DECIDED;
		goto out;
	}
	if (score <= BAD_SCORE && comment[0] == '\0') {
		rc = HALL_RATE_NO_COMMENT;
		goto out;
	}
	struct sval p[] = { SVI(case_id), SVI(dept), SVI(who->user_id),
			    store_res_isnull(h, 0, 5) ? SVN : SVT(store_res_text(h, 0, 5)), SVI(score), SVT(comment),
			    SVI(time(NULL)) };
	if (store_query(st, sql[S_INSERT], p, 7, &res) != STORE_OK)
		goto out;
	if (store_res_rows(res) == 0) {
		rc = HALL_RATE_ALREADY;
		goto out;
	}
	*rating_id = store_res_int(res, 0, 0);
	if (score <= BAD_SCORE && open_rectification(st, who, case_id, dept, store_res_text(h, 0, 4),
						     store_res_text(h, 0, 7), *rating_id, score, comment,
						     rectify_id) != 0)
		goto out;
	json_t *dj = json_pack("{s:i,s:I}", "score", score, "rectification", (json_int_t)*rectify_id);
	char *detail = json_dumps(dj, JSON_COMPACT), *object = xasprintf("case:%lld", (long long)case_id);
	json_decref(dj);
	struct audit_entry a = { who->user_id, who->login, "hall.rate", object, dept, who->ip, detail };
	int arc = audit_append(st, &a);
	free(detail);
	free(object);
	if (arc == 0)
		rc = HALL_RATE_OK;
out:
	store_res_free(h);
	store_res_free(res);
	return rc;
}

/*
 * Rates case id with r's input (score, comment), in r's transaction.
 * Answers every problem itself and returns -1; 0 with *rating (new JSON).
 */
static int rate(struct req *r, int64_t id, json_t **rating)
{
	struct hall_rater who = { r->who.user_id, r->who.login, r->ip };
	int64_t rating_id, rid;
	enum hall_rate_rc rc = hall_rate_case(r->st, &who, id, (int)req_in_int(r, "score", 0),
					      req_in_str(r, "comment"), &rating_id, &rid);
	switch (rc) {
	case HALL_RATE_OK:
		break;
	case HALL_RATE_NOT_FOUND:
		resp_error(r, 404, MSG_HALL_CASE_NOT_FOUND, NULL);
		return -1;
	case HALL_RATE_NOT_APPLICANT:
		resp_error(r, 403, MSG_RATE_NOT_APPLICANT, NULL);
		return -1;
	case HALL_RATE_NOT_DECIDED:
		resp_error(r, 409, MSG_RATE_NOT_DECIDED, NULL);
		return -1;
	case HALL_RATE_ALREADY:
		resp_error(r, 409, MSG_RATE_ALREADY, NULL);
		return -1;
	case HALL_RATE_NO_COMMENT: {
		struct input_error e = { 400, MSG_RATE_COMMENT_REQUIRED, "comment", "" };
		resp_input_error(r, &e);
		return -1;
	}
	case HALL_RATE_BAD_SCORE: {
		struct input_error e = { 400, MSG_FIELD_OUT_OF_RANGE, "score", "" };
		resp_input_error(r, &e);
		return -1;
	}
	default:
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return -1;
	}
	*rating = rating_json(r->st, id);
	if (*rating == NULL || json_is_null(*rating)) {
		json_decref(*rating);
		*rating = NULL;
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return -1;
	}
	if (rid != 0)
		notify_kick();
	return 0;
}

/* ------------------------------------------------------------ the rating page */

/* The page's context for case id (the head already checked): case, rating, scores. */
static json_t *rate_ctx(struct req *r, int64_t id, const struct head *h, json_t *values)
{
	json_t *rating = rating_json(r->st, id);
	if (rating == NULL)
		return NULL;
	char printed[CASE_TRACKING_PRINT_LEN + 1];
	case_tracking_print(h->tracking, printed);
	const struct procdef *p = procdef_get(h->process);
	int si = p ? procdef_state(p, h->state) : -1;
	/* the chosen score: what was typed (a string on a form), else none */
	int chosen = 0;
	json_t *sv = values ? json_object_get(values, "score") : NULL;
	if (json_is_integer(sv))
		chosen = (int)json_integer_value(sv);
	else if (json_is_string(sv) && strlen(json_string_value(sv)) == 1)
		chosen = json_string_value(sv)[0] - '0';
	json_t *scores = json_array();
	for (int s = 5; s >= 1; s--)
		json_array_append_new(scores, json_pack("{s:i,s:s,s:b,s:b,s:s}", "score", s, "label", hall_rate_label(s),
							"checked", s == chosen, "bad", s <= BAD_SCORE, "id",
							s == 5 ? "score" : arena_printf(r->arena, "score-%d", s)));
	return json_pack("{s:s,s:{s:I,s:s,s:s,s:s,s:s},s:o,s:b,s:o,s:i}", "title", "评价办件", "case", "id",
			 (json_int_t)id, "subject", h->subject, "state_title", si >= 0 ? p->states[si].title : h->state,
			 "dept_name", h->dept_name, "tracking_print", printed, "rating", rating, "rated",
			 !json_is_null(rating), "scores", scores, "comment_max", COMMENT_MAX);
}

static const char *const done_values[] = { "1", NULL };

static const struct field_spec fs_rate_view[] = {
	{ "done", FT_CHOICE, 0, 0, 0, done_values, "已评价" },
	{ NULL },
};

static const struct field_spec fs_rate[] = {
	{ "score", FT_INT, FS_REQUIRED, 1, 5, NULL, "评分" },
	{ "comment", FT_TEXTAREA, 0, 0, COMMENT_MAX, NULL, "评价内容" },
	{ NULL },
};

static void page_rate(struct req *r)
{
	int64_t id;
	struct head h;
	if (req_param_id(r, "id", &id) != 0 || rateable(r, id, &h) != 0)
		return;
	json_t *ctx = rate_ctx(r, id, &h, NULL);
	if (ctx == NULL) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	const char *done = req_in_str(r, "done");
	if (done != NULL && json_is_true(json_object_get(ctx, "rated"))) {
		int bad = json_integer_value(json_object_get(json_object_get(ctx, "rating"), "score")) <= BAD_SCORE;
		json_object_set_new(ctx, "done_text", json_string(msg(bad ? MSG_RATE_THANKS_BAD : MSG_RATE_THANKS)));
	}
	resp_page(r, 200, "hall/rate", ctx);
}

/* After an input error: the form again with the case (the transaction has been rolled back). */
static void rate_form_fill(struct req *r, json_t *ctx)
{
	const char *p = req_param(r, "id");
	int64_t id = p ? strtoll(p, NULL, 10) : 0;
	struct head h;
	if (id <= 0 || load_head(r, id, &h) != 1)
		return;
	json_t *c = rate_ctx(r, id, &h, json_object_get(ctx, "values"));
	if (c == NULL)
		return;
	json_object_update_missing(ctx, c);
	json_decref(c);
}

static void do_rate(struct req *r)
{
	int64_t id;
	json_t *rating = NULL;
	if (req_param_id(r, "id", &id) != 0 || rate(r, id, &rating) != 0)
		return;
	json_decref(rating);
	resp_redirect(r, arena_printf(r->arena, "/hall/cases/%lld/rate?done=1", (long long)id));
}

/* ------------------------------------------------------------ statistics pages */

/* "87.5%" for a rate, "—" for none (arena). */
static void add_percent(struct req *r, json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	const char *text = json_is_number(v) ? arena_printf(r->arena, "%.1f%%", json_number_value(v) * 100) : "—";
	json_object_set_new(o, arena_printf(r->arena, "%s_text", key), json_string(text));
}

/* Text forms and star glyphs for a ranking entry (the page's needs). */
static void decorate_entry(struct req *r, json_t *e)
{
	add_percent(r, e, "depth_share");
	add_percent(r, e, "on_time_rate");
	add_percent(r, e, "satisfaction");
	int stars = (int)json_integer_value(json_object_get(e, "stars"));
	char glyphs[64] = "";
	size_t n = 0;
	for (int i = 1; i <= 5 && stars > 0; i++)
		n += (size_t)snprintf(glyphs + n, sizeof glyphs - n, "%s", i <= stars ? "★" : "☆");
	json_object_set_new(e, "stars_glyphs", json_string(glyphs));
	json_object_set_new(e, "depth_mean_text",
			    json_string(arena_printf(r->arena, "%.1f", json_number_value(json_object_get(e, "depth_mean")))));
	json_object_set_new(e, "score_text",
			    json_string(arena_printf(r->arena, "%.2f", json_number_value(json_object_get(e, "score")))));
}

static json_t *ranking(struct req *r)
{
	struct hall_stars_conf c;
	hall_stars_conf_current(&c);
	return hall_stars_ranking(r->st, &c);
}

static void page_ranking(struct req *r)
{
	json_t *rk = ranking(r);
	if (rk == NULL) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(rk, "departments"), i, e)
		decorate_entry(r, e);
	json_t *w = json_object_get(rk, "weights"), *t = json_object_get(rk, "thresholds");
	json_object_set_new(rk, "rule_text",
			    json_string(arena_printf(r->arena,
						     "综合得分 = 网办深度 × %.2f + 按时办结率 × %.2f + 满意率 × %.2f"
						     "（尚无评价的部门按前两项折算）；得分达到 %.2f、%.2f、%.2f、%.2f "
						     "分别为二、三、四、五星，以下为一星；办结办件少于 %d 件的部门显示“数据不足”。",
						     json_real_value(json_array_get(w, 0)), json_real_value(json_array_get(w, 1)),
						     json_real_value(json_array_get(w, 2)), json_real_value(json_array_get(t, 0)),
						     json_real_value(json_array_get(t, 1)), json_real_value(json_array_get(t, 2)),
						     json_real_value(json_array_get(t, 3)),
						     (int)json_integer_value(json_object_get(rk, "min_cases")))));
	json_object_set_new(rk, "title", json_string("部门网上办事星级评价"));
	resp_page(r, 200, "hall/ranking", rk);
}

static json_t *dept_stats(struct req *r, int64_t id)
{
	struct hall_stars_conf c;
	hall_stars_conf_current(&c);
	json_t *s = hall_dept_stats(r->st, id, &c);
	if (s == NULL)
		resp_error(r, 500, MSG_HTTP_500, NULL);
	else if (json_is_null(s)) {
		json_decref(s);
		s = NULL;
		resp_error(r, 404, MSG_RATE_DEPT_NOT_FOUND, NULL);
	}
	return s;
}

static void page_dept_stats(struct req *r)
{
	int64_t id;
	if (req_param_id(r, "id", &id) != 0)
		return;
	json_t *s = dept_stats(r, id);
	if (s == NULL)
		return;
	add_percent(r, json_object_get(s, "ratings"), "satisfaction");
	add_percent(r, json_object_get(s, "rectification"), "on_time_rate");
	json_t *st = json_object_get(s, "stars");
	if (json_is_object(st))
		decorate_entry(r, st);
	json_object_set_new(s, "title",
			    json_string(arena_printf(r->arena, "%s 好差评统计",
						     json_string_value(json_object_get(json_object_get(s, "dept"), "name")))));
	resp_page(r, 200, "hall/dept_stats", s);
}

/* ------------------------------------------------------------ API */

static void api_rate(struct req *r)
{
	int64_t id;
	json_t *rating = NULL;
	if (req_param_id(r, "id", &id) != 0 || rate(r, id, &rating) != 0)
		return;
	r->location = arena_printf(r->arena, "/api/v1/hall/cases/%lld/rating", (long long)id);
	resp_json(r, 201, rating);
}

static void api_rating(struct req *r)
{
	int64_t id;
	struct head h;
	if (req_param_id(r, "id", &id) != 0 || rateable(r, id, &h) != 0)
		return;
	json_t *rating = rating_json(r->st, id);
	if (rating == NULL) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	if (json_is_null(rating)) {
		json_decref(rating);
		resp_error(r, 404, MSG_HTTP_404, NULL);
		return;
	}
	resp_json(r, 200, rating);
}

static void api_ranking(struct req *r)
{
	json_t *rk = ranking(r);
	if (rk == NULL) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	resp_json(r, 200, rk);
}

static void api_dept_stats(struct req *r)
{
	int64_t id;
	if (req_param_id(r, "id", &id) != 0)
		return;
	json_t *s = dept_stats(r, id);
	if (s != NULL)
		resp_json(r, 200, s);
}

/* ------------------------------------------------------------ desk */

/* The applicant's decided cases of the last DESK_DAYS days not yet rated: 请评价. */
static int desk_rate(struct req *r, json_t *items)
{
	if (r->who.kind != ACCT_CITIZEN && r->who.kind != ACCT_ENTERPRISE)
		return 0;
	struct store_res *res = NULL;
	struct sval p[] = { SVI(r->who.user_id), SVI(time(NULL) - DESK_DAYS * 86400) };
	if (store_query(r->st, sql[S_DESK], p, 2, &res) != STORE_OK)
		return -1;
	for (int i = 0; i < store_res_rows(res); i++)
		json_array_append_new(items, json_pack("{s:s,s:s,s:s,s:s,s:s}", "kind", "rating", "title",
						       store_res_text(res, i, 1), "href",
						       arena_printf(r->arena, "/hall/cases/%lld/rate",
								    (long long)store_res_int(res, i, 0)),
						       "status", msg(MSG_RATE_DESK_ASK), "level", "info"));
	store_res_free(res);
	return 0;
}

void hall_rating_register(void)
{
	desk_register(desk_rate);
}

/* ------------------------------------------------------------ routes */

const struct route hall_rating_routes[] = {
	{ HM_GET, "/hall/cases/{id}/rate", page_rate, ROLE_PERSON, 0, fs_rate_view, NULL, NULL,
	  "The applicant's rating form of a decided case (好差评)" },
	{ HM_POST, "/hall/cases/{id}/rate", do_rate, ROLE_PERSON, RF_CSRF | RF_IDEM, fs_rate, "hall/rate",
	  rate_form_fill, "Rate a decided case once: score 1-5, comment (required for 1 and 2)" },
	{ HM_GET, "/hall/ranking", page_ranking, ROLE_PUBLIC, 0, NULL, NULL, NULL,
	  "Department star ratings: online depth, on-time rate, satisfaction" },
	{ HM_GET, "/hall/depts/{id}/stats", page_dept_stats, ROLE_PUBLIC, 0, NULL, NULL, NULL,
	  "A department's public rating statistics" },
	{ HM_POST, "/api/v1/hall/cases/{id}/rating", api_rate, ROLE_PERSON, RF_API | RF_CSRF | RF_IDEM, fs_rate, NULL,
	  NULL, "Rate a decided case once (the applicant): {score 1-5, comment}; 201 with the rating" },
	{ HM_GET, "/api/v1/hall/cases/{id}/rating", api_rating, ROLE_PERSON, RF_API, NULL, NULL, NULL,
	  "The applicant's rating of a case and its rectification" },
	{ HM_GET, "/api/v1/hall/ranking", api_ranking, ROLE_PUBLIC, RF_API, NULL, NULL, NULL,
	  "Department star ratings with their inputs, best first" },
	{ HM_GET, "/api/v1/hall/depts/{id}/stats", api_dept_stats, ROLE_PUBLIC, RF_API, NULL, NULL, NULL,
	  "A department's rating statistics: by score, satisfaction, rectification on-time rate" },
	{ 0, NULL, NULL, 0, 0, NULL, NULL, NULL, NULL },
};
