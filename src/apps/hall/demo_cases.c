/*
 * The demo applications: cases of the demo catalogue in every state, made
 * through the case engine by the people who would make them (the
 * enterprise huaxin and the citizen chen apply; zhang.amr and li.amr of
 * 市场监督管理局 and wang.mca of 民政局 handle), so that the inboxes show
 * green, yellow and red lights, a case waits for 补正 with its one-time list
 * of what is missing, and an approved case has its certificate.
 *
 * The engine takes "today" from case_set_clock: a case that should be
 * late is submitted and accepted on a past day (found on the deployment
 * calendar, so it is late by working days whatever today is), then its
 * next step is taken today, which computes its light.  The clock is put
 * back before returning.  Seeded once, with the catalogue, in the caller's
 * transaction; nothing is seeded when the demo people are missing or when
 * cases exist already.
 */
#include "apps/hall/hall.h"
#include "apps/hall/hall_int.h"
#include "apps/hall/items.h"
#include "core/account.h"
#include "core/calendar.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "engines/case/case.h"
#include "engines/case/procdef.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

struct step {
	const char *action;
	int who;               /* 0 the applicant, 1 zhang.amr / wang.mca, 2 li.amr */
	const char *field;     /* a required field's name, or NULL */
	const char *value;
};

struct demo_case {
	const char *item;        /* item code */
	int citizen;             /* chen applies (else huaxin) */
	const char *subject;
	const char *data;        /* the form values, JSON */
	int past;                /* > 0: the steps before `today_from` happen this many working days ago */
	int today_from;          /* index of the first step taken today */
	struct step steps[6];
};

#define COMPANY(name) \
	"{\"company_name\":\"" name "\",\"legal_rep\":\"赵志远\",\"legal_rep_id\":\"440106198503120015\"," \
	"\"reg_capital\":500,\"business_scope\":\"软件开发；信息技术咨询服务；数据处理服务\"," \
	"\"address\":\"示范市明珠区海滨路 88 号 1201 室\"}"

static const struct demo_case cases[] = {
	{ "amr-qysl", 0, "企业设立登记：示范市华信云数据有限公司", COMPANY("示范市华信云数据有限公司"), 0, 0,
	  { { NULL, 0, NULL, NULL } } },
	{ "amr-qysl", 0, "企业设立登记：示范市华信智能装备有限公司", COMPANY("示范市华信智能装备有限公司"), 0, 0,
	  { { "submit", 0, NULL, NULL }, { NULL, 0, NULL, NULL } } },
	{ "amr-qysl", 0, "企业设立登记：示范市华信物联科技有限公司", COMPANY("示范市华信物联科技有限公司"), 0, 0,
	  { { "submit", 0, NULL, NULL },
	    { "send_back", 1, "missing_list",
	      "1. 公司章程缺少全体股东签字页，请补充签字后的扫描件；\n2. 住所使用证明为复印件，请提交房屋产权证明或租赁合同原件扫描件。" },
	    { NULL, 0, NULL, NULL } } },
	{ "amr-qysl", 0, "企业设立登记：示范市华信新材料有限公司", COMPANY("示范市华信新材料有限公司"), 0, 0,
	  { { "submit", 0, NULL, NULL }, { "accept", 1, NULL, NULL }, { NULL, 0, NULL, NULL } } },
	/* accepted 3 working days ago, promised 3: yellow (the limit is being used up) */
	{ "amr-qysl", 0, "企业设立登记：示范市华信检测技术有限公司", COMPANY("示范市华信检测技术有限公司"), 3, 2,
	  { { "submit", 0, NULL, NULL }, { "accept", 1, NULL, NULL }, { "start_review", 1, NULL, NULL },
	    { NULL, 0, NULL, NULL } } },
	/* accepted 8 working days ago, promised 3: red (overdue) */
	{ "amr-qysl", 0, "企业设立登记：示范市华信供应链管理有限公司", COMPANY("示范市华信供应链管理有限公司"), 8, 2,
	  { { "submit", 0, NULL, NULL }, { "accept", 1, NULL, NULL }, { "start_review", 1, NULL, NULL },
	    { NULL, 0, NULL, NULL } } },
	{ "amr-qysl", 0, "企业设立登记：示范市华信科技发展有限公司", COMPANY("示范市华信科技发展有限公司"), 0, 0,
	  { { "submit", 0, NULL, NULL }, { "accept", 1, NULL, NULL }, { "start_review", 1, NULL, NULL },
	    { "approve", 2, "opinion", "材料齐全，符合法定形式，准予设立登记。" }, { NULL, 0, NULL, NULL } } },
	{ "amr-qysl", 0, "企业设立登记：示范市华信金融信息服务有限公司", COMPANY("示范市华信金融信息服务有限公司"), 0, 0,
	  { { "submit", 0, NULL, NULL }, { "accept", 1, NULL, NULL }, { "start_review", 1, NULL, NULL },
	    { "reject", 2, "reason", "经营范围含需前置审批的金融信息服务，未提交金融监管部门的批准文件。" },
	    { NULL, 0, NULL, NULL } } },
	{ "mca-dbsq", 1, "最低生活保障申请：陈小梅",
	  "{\"applicant_name\":\"陈小梅\",\"applicant_id\":\"440106199005171236\",\"household_size\":3,"
	  "\"monthly_income\":2100,\"address\":\"示范市明珠区新苑社区 12 栋 302\",\"phone\":\"13800138000\","
	  "\"reason\":\"家庭成员患重病，主要劳动力无法工作，家庭收入低于本市最低生活保障标准。\"}",
	  0, 0, { { "submit", 0, NULL, NULL }, { NULL, 0, NULL, NULL } } },
};

/* The special steps whose time counts, as the item says: "inspection,hearing" or NULL. */
static char *special_counts(json_t *item)
{
	char buf[256] = "";
	size_t i, len = 0;
	json_t *s;
	json_array_foreach(json_object_get(item, "special_steps"), i, s) {
		const char *st = json_string_value(json_object_get(s, "state"));
		if (st == NULL || !json_is_true(json_object_get(s, "counts")))
			continue;
		int n = snprintf(buf + len, sizeof buf - len, "%s%s", len ? "," : "", st);
		if (n < 0 || (size_t)n >= sizeof buf - len)
			break;
		len += (size_t)n;
	}
	return len ? xstrdup(buf) : NULL;
}

static int seed_one(struct store *st, const struct demo_case *d, const int64_t ids[5], const struct calendar *cal)
{
	json_t *item = hall_item_json(st, 0, d->item), *data = NULL;
	char *counts = NULL;
	int rc = -1;
	if (item == NULL) {
		log_warn("demo: no item %s: its demo case is left out", d->item);
		return 0;
	}
	json_error_t je;
	data = json_loads(d->data, 0, &je);
	counts = special_counts(item);
	int64_t applicant = d->citizen ? ids[0] : ids[1];
	struct case_actor who[3] = {
		{ applicant, d->citizen ? "chen" : "huaxin", PD_ROLE_APPLICANT },
		{ d->citizen ? ids[4] : ids[2], d->citizen ? "wang.mca" : "zhang.amr", PD_ROLE_STAFF },
		{ ids[3], "li.amr", PD_ROLE_DEPT_ADMIN },
	};
	struct case_new n = { json_string_value(json_object_get(item, "process")),
			      json_integer_value(json_object_get(item, "dept_id")), applicant, d->subject, d->item,
			      (int)json_integer_value(json_object_get(item, "statutory_days")),
			      (int)json_integer_value(json_object_get(item, "promised_days")), counts, "8000", data };
	hall_demo_clock(cal, d->past);
	int64_t id = 0, version = 1;
	char tracking[CASE_TRACKING_LEN + 1];
	enum case_rc crc = case_create(st, &n, &who[0], &id, tracking);
	if (crc != CASE_OK) {
		log_error("demo: case %s: %s", d->subject, case_rc_name(crc));
		goto out;
	}
	for (int i = 0; i < 6 && d->steps[i].action != NULL; i++) {
		const struct step *s = &d->steps[i];
		if (d->past > 0 && i == d->today_from)
			hall_demo_clock(cal, 0);
		json_t *f = s->field ? json_pack("{s:s}", s->field, s->value) : NULL;
		crc = case_act(st, id, version, s->action, &who[s->who], f, NULL);
		json_decref(f);
		if (crc != CASE_OK) {
			log_error("demo: case %s: %s: %s", d->subject, s->action, case_rc_name(crc));
			goto out;
		}
		version++;
		if (strcmp(s->action, "approve") == 0 && hall_cert_issue(st, NULL, NULL, id, &who[s->who], NULL) < 0)
			goto out;
	}
	/* the cases under review are zhang.amr's */
	if (!d->citizen && d->steps[0].action && d->past > 0 && case_assign(st, id, version, ids[2], &who[2]) != CASE_OK)
		goto out;
	rc = 0;
out:
	hall_demo_clock_release();
	free(counts);
	json_decref(data);
	json_decref(item);
	return rc;
}

int hall_demo_cases(struct store *st)
{
	static const char *const logins[5] = { "chen", "huaxin", "zhang.amr", "li.amr", "wang.mca" };
	int64_t ids[5], n = 0;
	struct calendar *cal = NULL;
	int rc = -1;
	for (int i = 0; i < 5; i++)
		if (account_find(st, logins[i], &ids[i]) != 0)
			return 0;   /* not the demo city */
	if (store_query_int(st, "SELECT COUNT(*) FROM cases", NULL, 0, &n) != STORE_OK)
		return -1;
	if (n > 0)
		return 0;
	if (calendar_load(st, &cal) != 0)
		return -1;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		if (seed_one(st, &cases[i], ids, cal) != 0)
			goto out;
	rc = 0;
out:
	calendar_free(cal);
	return rc;
}
