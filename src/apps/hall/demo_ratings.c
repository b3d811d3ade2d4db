/*
 * The demo's ratings (好差评) and enough decided cases for the star ranking
 * to show stars: 市场监督管理局 decides more 企业设立登记 applications of
 * huaxin (one of them later than promised), 民政局 decides 结婚登记
 * appointments of chen on the spot; the applicants rate them, the rejected
 * 企业设立登记 gets a 不满意 whose rectification has been called back, and
 * a 非常不满意 of 民政局 was appealed and the appeal upheld (so it does not
 * count).  Everything goes through the case engine and hall_rate_case, in
 * the caller's transaction, after demo_cases.c; nothing is seeded when the
 * demo people are missing or ratings exist already.
 */
#include "apps/hall/hall.h"
#include "apps/hall/hall_int.h"
#include "apps/hall/items.h"
#include "core/account.h"
#include "core/calendar.h"
#include "core/log.h"
#include "engines/case/case.h"
#include "engines/case/procdef.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { P_CHEN, P_HUAXIN, P_ZHANG, P_LI, P_WANG, P_ADMIN, P__MAX };
static const char *const logins[P__MAX] = { "chen", "huaxin", "zhang.amr", "li.amr", "wang.mca", "admin" };

struct extra {
	const char *item, *subject, *data;
	int citizen;       /* chen (else huaxin) */
	int late;          /* > 0: accepted this many working days ago */
	int score;         /* the applicant's rating, 0 none */
	const char *comment;
};

#define CO(n) "{\"company_name\":\"" n "\",\"legal_rep\":\"赵志远\",\"legal_rep_id\":\"440106198503120015\"," \
	      "\"reg_capital\":100,\"business_scope\":\"技术服务\",\"address\":\"示范市明珠区海滨路 88 号\"}"
#define MARRY "{\"man_name\":\"刘洋\",\"man_id\":\"440106198801010017\",\"woman_name\":\"陈小梅\"," \
	      "\"woman_id\":\"440106199005171236\",\"appt_date\":\"2026-05-20\",\"phone\":\"13800138000\"}"

static const struct extra extras[] = {
	{ "amr-qysl", "企业设立登记：示范市华信软件有限公司", CO("示范市华信软件有限公司"), 0, 0, 5,
	  "全程网上办理，一次都没跑，三天拿到电子营业执照。" },
	{ "amr-qysl", "企业设立登记：示范市华信数字传媒有限公司", CO("示范市华信数字传媒有限公司"), 0, 0, 4, "" },
	{ "amr-qysl", "企业设立登记：示范市华信环保科技有限公司", CO("示范市华信环保科技有限公司"), 0, 5, 3,
	  "材料没问题，但比承诺时间晚了两天。" },
	{ "amr-qysl", "企业设立登记：示范市华信医疗器械有限公司", CO("示范市华信医疗器械有限公司"), 0, 0, 5, "" },
	{ "mca-jhdj", "结婚登记：刘洋、陈小梅", MARRY, 1, 0, 5, "预约方便，现场十分钟办完。" },
	{ "mca-jhdj", "结婚登记：刘洋、陈小梅（补办）", MARRY, 1, 0, 4, "" },
	{ "mca-jhdj", "结婚登记：刘洋、陈小梅（咨询后办理）", MARRY, 1, 0, 5, "" },
	{ "mca-jhdj", "结婚登记：刘洋、陈小梅（预约改期）", MARRY, 1, 0, 1, "窗口人员态度不好。" },
	{ "mca-jhdj", "结婚登记：刘洋、陈小梅（第二次预约）", MARRY, 1, 0, 0, NULL },
};

/* Creates a case of item and decides it (approve) through the engine; 0 or -1. */
static int decided_case(struct store *st, const struct extra *x, const int64_t ids[P__MAX],
			const struct calendar *cal, int64_t *out)
{
	json_t *item = hall_item_json(st, 0, x->item), *data = NULL;
	int rc = -1;
	if (item == NULL)
		return 1;   /* the item is not in this catalogue: left out */
	const char *process = json_string_value(json_object_get(item, "process"));
	int simple = process != NULL && strcmp(process, "hall.simple") == 0;
	int64_t staff = x->citizen ? ids[P_WANG] : ids[P_ZHANG];
	struct case_actor app = { x->citizen ? ids[P_CHEN] : ids[P_HUAXIN], x->citizen ? "chen" : "huaxin",
				  PD_ROLE_APPLICANT };
	struct case_actor st_actor = { staff, x->citizen ? "wang.mca" : "zhang.amr", PD_ROLE_STAFF };
	json_error_t je;
	data = json_loads(x->data, 0, &je);
	struct case_new n = { process, json_integer_value(json_object_get(item, "dept_id")), app.user_id, x->subject,
			      x->item, (int)json_integer_value(json_object_get(item, "statutory_days")),
			      (int)json_integer_value(json_object_get(item, "promised_days")), NULL, "8000", data };
	static const char *const standard[] = { "submit", "accept", "start_review", "approve", NULL };
	static const char *const quick[] = { "approve", NULL };
	const char *const *steps = simple ? quick : standard;
	hall_demo_clock(cal, x->late);
	char tracking[CASE_TRACKING_LEN + 1];
	enum case_rc crc = case_create(st, &n, &app, out, tracking);
	for (int i = 0; crc == CASE_OK && steps[i] != NULL; i++) {
		if (strcmp(steps[i], "approve") == 0)
			hall_demo_clock(cal, 0);
		json_t *f = strcmp(steps[i], "approve") == 0 ? json_pack("{s:s}", "opinion", "符合条件，准予办理。") : NULL;
		crc = case_act(st, *out, i + 1, steps[i], strcmp(steps[i], "submit") == 0 ? &app : &st_actor, f, NULL);
		json_decref(f);
	}
	hall_demo_clock_release();
	if (crc != CASE_OK)
		log_error("demo: case %s: %s", x->subject, case_rc_name(crc));
	else
		rc = 0;
	json_decref(data);
	json_decref(item);
	return rc;
}

/* The rating of a demo case; 0 or -1. */
static int demo_rate(struct store *st, int64_t user, const char *login, int64_t case_id, int score,
		     const char *comment, int64_t *rid)
{
	struct hall_rater who = { user, login, NULL };
	int64_t rating_id;
	enum hall_rate_rc rc = hall_rate_case(st, &who, case_id, score, comment, &rating_id, rid);
	if (rc != HALL_RATE_OK) {
		log_error("demo: rating of case %lld: %d", (long long)case_id, (int)rc);
		return -1;
	}
	return 0;
}

/* One transition of a rectification case at its current version; 0 or -1. */
static int demo_act(struct store *st, int64_t id, const char *action, const struct case_actor *who,
		    const char *field, const char *value)
{
	int64_t version = 0;
	struct sval p[] = { SVI(id) };
	if (store_query_int(st, "SELECT version FROM cases WHERE id = $1", p, 1, &version) != STORE_OK)
		return -1;
	json_t *f = json_pack("{s:s}", field, value);
	enum case_rc crc = case_act(st, id, version, action, who, f, NULL);
	json_decref(f);
	if (crc != CASE_OK) {
		log_error("demo: rectification %lld: %s: %s", (long long)id, action, case_rc_name(crc));
		return -1;
	}
	return 0;
}

int hall_demo_ratings(struct store *st)
{
	int64_t ids[P__MAX], n = 0, rid = 0;
	struct calendar *cal = NULL;
	int rc = -1;
	for (int i = 0; i < P__MAX; i++)
		if (account_find(st, logins[i], &ids[i]) != 0)
			return 0;   /* not the demo city */
	if (store_query_int(st, "SELECT COUNT(*) FROM hall_ratings", NULL, 0, &n) != STORE_OK)
		return -1;
	if (n > 0)
		return 0;
	if (calendar_load(st, &cal) != 0)
		return -1;

	/* demo_cases.c's decided cases of huaxin: the approval 非常满意, the rejection 不满意 */
	struct store_res *res = NULL;
	struct sval p[] = { SVI(ids[P_HUAXIN]) };
	if (store_query(st, "SELECT id, state FROM cases WHERE applicant_id = $1 AND state IN ('approved', 'rejected') "
			    "ORDER BY id", p, 1, &res) != STORE_OK)
		goto out;
	for (int i = 0; i < store_res_rows(res); i++) {
		int ok = strcmp(store_res_text(res, i, 1), "approved") == 0;
		int64_t r1 = 0;
		if (demo_rate(st, ids[P_HUAXIN], "huaxin", store_res_int(res, i, 0), ok ? 5 : 2,
			      ok ? "营业执照和电子证照当天就收到了。" : "驳回理由没有事先告知需要金融监管部门的批准文件，白跑一趟。",
			      &r1) != 0)
			goto out;
		struct case_actor zhang = { ids[P_ZHANG], "zhang.amr", PD_ROLE_STAFF };
		if (r1 != 0 && demo_act(st, r1, "callback", &zhang, "callback_record",
					"已电话回访申请人，说明前置审批要求；将在办事指南中补充提示。") != 0)
			goto out;
	}

	for (size_t i = 0; i < sizeof extras / sizeof extras[0]; i++) {
		const struct extra *x = &extras[i];
		int64_t id = 0;
		int k = decided_case(st, x, ids, cal, &id);
		if (k < 0)
			goto out;
		if (k > 0 || x->score == 0)
			continue;
		int64_t user = x->citizen ? ids[P_CHEN] : ids[P_HUAXIN];
		if (demo_rate(st, user, x->citizen ? "chen" : "huaxin", id, x->score, x->comment, &rid) != 0)
			goto out;
		if (rid != 0) {
			/* 民政局 appeals: the couple were served by another office's staff; upheld. */
			struct case_actor wang = { ids[P_WANG], "wang.mca", PD_ROLE_STAFF };
			struct case_actor office = { ids[P_ADMIN], "admin", PD_ROLE_SUPERVISOR };
			if (demo_act(st, rid, "appeal", &wang, "reason",
				     "经调取窗口录像核实，当日接待申请人的是公证处驻场人员，非本局工作人员。") != 0 ||
			    demo_act(st, rid, "uphold", &office, "opinion", "经核实，申诉属实，该评价不计入本局统计。") != 0)
				goto out;
		}
	}
	rc = 0;
out:
	store_res_free(res);
	calendar_free(cal);
	return rc;
}
