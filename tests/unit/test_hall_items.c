/*
 * Unit tests of apps/hall/items: the three text-list parsers (every error
 * names its field and line), their text round trip, tags, labels, and the
 * catalogue in the store (write rules, list filters, admin scopes, facets).
 */
#include "testutil.h"

#include "apps/hall/items.h"
#include "core/audit.h"
#include "core/dept.h"
#include "core/embed.h"
#include "engines/case/procdef.h"

/* ------------------------------------------------------------ helpers */

static json_t *parse_ok(int (*fn)(const char *, json_t **, struct item_err *), const char *text)
{
	struct item_err e = { 0 };
	json_t *out = NULL;
	int rc = fn(text, &out, &e);
	if (rc != 0)
		fail_msg("unexpected parse error: %s %s", e.field ? e.field : "?", e.reason);
	assert_true(json_is_array(out));
	return out;
}

/* Expects fn to refuse text naming field and line, with a reason containing what. */
static void parse_bad(int (*fn)(const char *, json_t **, struct item_err *), const char *text,
		      const char *field, int line, const char *what)
{
	struct item_err e = { 0 };
	json_t *out = (json_t *)&e;   /* must come back NULL */
	assert_int_equal(fn(text, &out, &e), -1);
	assert_null(out);
	assert_non_null(e.field);
	assert_string_equal(e.field, field);
	assert_int_equal(e.line, line);
	char prefix[32];
	snprintf(prefix, sizeof prefix, "第 %d 行：", line);
	if (strncmp(e.reason, prefix, strlen(prefix)) != 0)
		fail_msg("reason %s does not start with %s", e.reason, prefix);
	if (strstr(e.reason, what) == NULL)
		fail_msg("reason %s does not mention %s", e.reason, what);
}

static const char *jstr(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* ------------------------------------------------------------ materials */

static void test_materials_ok(void **state)
{
	(void)state;
	json_t *m = parse_ok(hall_parse_materials,
			     "# 注释行\n"
			     "公司章程 | 必需 | 全体股东签署\n"
			     "\n"
			     "  委托书|可选  \r\n"
			     "申请书 | 必需 | 签字 | /static/forms/a.pdf | https://example.gov.cn/b.pdf\n");
	assert_int_equal(json_array_size(m), 3);
	json_t *a = json_array_get(m, 0), *b = json_array_get(m, 1), *c = json_array_get(m, 2);
	assert_string_equal(jstr(a, "code"), "m1");
	assert_string_equal(jstr(a, "name"), "公司章程");
	assert_true(json_is_true(json_object_get(a, "required")));
	assert_string_equal(jstr(a, "note"), "全体股东签署");
	assert_string_equal(jstr(b, "code"), "m2");
	assert_string_equal(jstr(b, "name"), "委托书");
	assert_true(json_is_false(json_object_get(b, "required")));
	assert_string_equal(jstr(b, "note"), "");
	assert_string_equal(jstr(c, "blank"), "/static/forms/a.pdf");
	assert_string_equal(jstr(c, "example"), "https://example.gov.cn/b.pdf");
	json_decref(m);

	m = parse_ok(hall_parse_materials, "");
	assert_int_equal(json_array_size(m), 0);
	json_decref(m);
	m = parse_ok(hall_parse_materials, NULL);
	assert_int_equal(json_array_size(m), 0);
	json_decref(m);
}

static void test_materials_errors(void **state)
{
	(void)state;
	parse_bad(hall_parse_materials, "公司章程\n", "materials", 1, "格式应为");
	parse_bad(hall_parse_materials, "公司章程 | 必需\n | 必需\n", "materials", 2, "格式应为");
	parse_bad(hall_parse_materials, "a | 必需\n\n# x\nb | 需要\n", "materials", 4, "“必需”或“可选”");
	parse_bad(hall_parse_materials, "a | 必需 | 说明 | javascript:alert(1)\n", "materials", 1, "空白表格地址");
	parse_bad(hall_parse_materials, "a | 必需 | 说明 | //evil.example/x\n", "materials", 1, "空白表格地址");
	parse_bad(hall_parse_materials, "a | 必需 | 说明 | /ok.pdf | http://plain.example/\n", "materials", 1,
		  "示例地址");
	parse_bad(hall_parse_materials, "a | 必需 | 说明 | /a\" onclick=\"x\n", "materials", 1, "空白表格地址");
	parse_bad(hall_parse_materials, "a | 必需\na | 可选\n", "materials", 2, "重复");
	parse_bad(hall_parse_materials, "a | 必需 | b | /c | /d | e\n", "materials", 1, "最多 5 项");
	parse_bad(hall_parse_materials, "a\x01 | 必需\n", "materials", 1, "无效字符");

	/* more than 100 entries */
	size_t cap = 101 * 32;
	char *big = malloc(cap), *p = big;
	for (int i = 0; i < 101; i++)
		p += snprintf(p, cap - (size_t)(p - big), "m%03d | 可选\n", i);
	parse_bad(hall_parse_materials, big, "materials", 101, "行数过多");
	free(big);
}

/* ------------------------------------------------------------ form */

static void test_form_ok(void **state)
{
	(void)state;
	json_t *f = parse_ok(hall_parse_form,
			     "company_name|企业名称|text|必填|50\n"
			     "legal_rep_id | 法定代表人身份证号 | idcard | 必填\n"
			     "reg_capital|注册资本（万元）|int|必填|100000000\n"
			     "scope|经营范围|textarea|选填\n"
			     "kind|类型| choice |必填| 有限责任公司 / 股份有限公司 /\n"
			     "d|日期|date|选填\nu|信用代码|uscc|必填\np|手机|phone|必填\ne|邮箱|email|选填\n");
	assert_int_equal(json_array_size(f), 9);
	json_t *a = json_array_get(f, 0);
	assert_string_equal(jstr(a, "name"), "company_name");
	assert_string_equal(jstr(a, "label"), "企业名称");
	assert_string_equal(jstr(a, "type"), "text");
	assert_true(json_is_true(json_object_get(a, "required")));
	assert_int_equal(json_integer_value(json_object_get(a, "max")), 50);
	assert_null(json_object_get(json_array_get(f, 1), "max"));
	assert_int_equal(json_integer_value(json_object_get(json_array_get(f, 2), "max")), 100000000);
	assert_true(json_is_false(json_object_get(json_array_get(f, 3), "required")));
	json_t *ch = json_object_get(json_array_get(f, 4), "choices");
	assert_int_equal(json_array_size(ch), 2);
	assert_string_equal(json_string_value(json_array_get(ch, 0)), "有限责任公司");
	assert_string_equal(json_string_value(json_array_get(ch, 1)), "股份有限公司");
	json_decref(f);
}

static void test_form_errors(void **state)
{
	(void)state;
	parse_bad(hall_parse_form, "a|甲|text\n", "form", 1, "格式应为");
	parse_bad(hall_parse_form, "ok|甲|text|必填\nBad|乙|text|必填\n", "form", 2, "字段名");
	parse_bad(hall_parse_form, "_x|甲|text|必填\n", "form", 1, "字段名");
	parse_bad(hall_parse_form, "1x|甲|text|必填\n", "form", 1, "字段名");
	parse_bad(hall_parse_form, "abcdefghijklmnopqrstuvwxyz_abcdefg|甲|text|必填\n", "form", 1, "字段名");
	parse_bad(hall_parse_form, "a|甲|text|必填\na|乙|text|必填\n", "form", 2, "字段名重复");
	parse_bad(hall_parse_form, "a||text|必填\n", "form", 1, "缺少标签");
	parse_bad(hall_parse_form, "\n\na|甲|money|必填\n", "form", 3, "类型须为");
	parse_bad(hall_parse_form, "a|甲|text|需要\n", "form", 1, "“必填”或“选填”");
	parse_bad(hall_parse_form, "a|甲|choice|必填|只有一个\n", "form", 1, "选项至少两个");
	parse_bad(hall_parse_form, "a|甲|choice|必填\n", "form", 1, "选项至少两个");
	parse_bad(hall_parse_form, "a|甲|text|必填|0\n", "form", 1, "1–5000");
	parse_bad(hall_parse_form, "a|甲|textarea|必填|5001\n", "form", 1, "1–5000");
	parse_bad(hall_parse_form, "a|甲|text|必填|5x\n", "form", 1, "1–5000");
	parse_bad(hall_parse_form, "a|甲|int|必填|1000000000001\n", "form", 1, "1000000000000");
	parse_bad(hall_parse_form, "a|甲|idcard|必填|18\n", "form", 1, "不需要第五项");
	parse_bad(hall_parse_form, "a|甲|text|必填|5|6\n", "form", 1, "最多 5 项");
}

/* ------------------------------------------------------------ specials */

static void test_specials(void **state)
{
	(void)state;
	json_t *s = parse_ok(hall_parse_specials, "inspection | 入户调查 | 不计时\nhearing|听证|计时\n");
	assert_int_equal(json_array_size(s), 2);
	assert_string_equal(jstr(json_array_get(s, 0), "state"), "inspection");
	assert_string_equal(jstr(json_array_get(s, 0), "title"), "入户调查");
	assert_true(json_is_false(json_object_get(json_array_get(s, 0), "counts")));
	assert_true(json_is_true(json_object_get(json_array_get(s, 1), "counts")));
	json_decref(s);

	parse_bad(hall_parse_specials, "inspection | 入户调查\n", "specials", 1, "格式应为");
	parse_bad(hall_parse_specials, "x | y | 计时\nInspection | 调查 | 计时\n", "specials", 2, "环节名");
	parse_bad(hall_parse_specials, "step2 | 调查 | 计时\n", "specials", 1, "环节名");
	parse_bad(hall_parse_specials, "inspection |  | 计时\n", "specials", 1, "缺少标题");
	parse_bad(hall_parse_specials, "inspection | 调查 | 暂停\n", "specials", 1, "“计时”或“不计时”");
	parse_bad(hall_parse_specials, "hearing | 听证 | 计时\nhearing | 再听证 | 计时\n", "specials", 2, "重复");
	parse_bad(hall_parse_specials, "a | b | 计时 | d\n", "specials", 1, "最多 3 项");
}

/* ------------------------------------------------------------ round trip */

static void test_round_trip(void **state)
{
	(void)state;
	const char *mt = "公司章程 | 必需 | 全体股东签署\n委托书 | 可选\n申请书 | 必需 |  | /f/a.pdf\n样表 | 可选 |  |  | /f/b.pdf\n";
	const char *ft = "a | 甲 | text | 必填 | 50\nb | 乙 | choice | 选填 | x/y/z\nc | 丙 | idcard | 必填\n";
	const char *st = "inspection | 现场核查 | 不计时\nhearing | 听证 | 计时\n";
	json_t *m = parse_ok(hall_parse_materials, mt), *f = parse_ok(hall_parse_form, ft),
	       *s = parse_ok(hall_parse_specials, st);
	char *mt2 = hall_materials_text(m), *ft2 = hall_form_text(f), *st2 = hall_specials_text(s);
	assert_string_equal(mt2, mt);
	assert_string_equal(ft2, ft);
	assert_string_equal(st2, st);
	/* and parsing the text again gives the same JSON */
	json_t *m2 = parse_ok(hall_parse_materials, mt2), *f2 = parse_ok(hall_parse_form, ft2),
	       *s2 = parse_ok(hall_parse_specials, st2);
	assert_true(json_equal(m, m2));
	assert_true(json_equal(f, f2));
	assert_true(json_equal(s, s2));
	free(mt2);
	free(ft2);
	free(st2);
	json_decref(m);
	json_decref(f);
	json_decref(s);
	json_decref(m2);
	json_decref(f2);
	json_decref(s2);
	char *empty = hall_materials_text(NULL);
	assert_string_equal(empty, "");
	free(empty);
}

static void test_tags_and_labels(void **state)
{
	(void)state;
	json_t *t = hall_split_tags("企业开办、市场准入，企业开办; 税费 / 社保　就业,");
	assert_int_equal(json_array_size(t), 5);
	assert_string_equal(json_string_value(json_array_get(t, 0)), "企业开办");
	assert_string_equal(json_string_value(json_array_get(t, 1)), "市场准入");
	assert_string_equal(json_string_value(json_array_get(t, 2)), "税费");
	assert_string_equal(json_string_value(json_array_get(t, 3)), "社保");
	assert_string_equal(json_string_value(json_array_get(t, 4)), "就业");
	json_decref(t);
	t = hall_split_tags(NULL);
	assert_int_equal(json_array_size(t), 0);
	json_decref(t);

	assert_string_equal(hall_depth_label(1), "办事指南");
	assert_string_equal(hall_depth_label(5), "全程网办、结果送达");
	assert_string_equal(hall_depth_label(0), "");
	assert_string_equal(hall_depth_label(6), "");
	assert_non_null(strstr(hall_depth_note(5), "零跑动"));
	assert_string_equal(hall_audience_label("person"), "个人");
	assert_string_equal(hall_audience_label("enterprise"), "法人");
	assert_string_equal(hall_form_type_label("text"), "单行文字");
	assert_string_equal(hall_form_type_label("email"), "电子邮箱");
	assert_string_equal(hall_form_type_label("uscc"), "统一社会信用代码");
	assert_string_equal(hall_form_type_label("nope"), "");
	assert_string_equal(hall_status_label("retired"), "已停用");
}

/* ------------------------------------------------------------ store */

static struct store *catalogue_store(int64_t *d1, int64_t *d2)
{
	struct store *st = test_store_open();
	assert_int_equal(store_migrate(st), 0);
	enum msg_id why;
	const char *field;
	struct dept_in a = { "amr", "市场监督管理局", 0, "city", 1 }, b = { "mca", "民政局", 0, "city", 2 };
	assert_int_equal(store_begin(st), STORE_OK);
	assert_int_equal(dept_create(st, &a, d1, &why, &field), 0);
	assert_int_equal(dept_create(st, &b, d2, &why, &field), 0);
	assert_int_equal(store_commit(st), STORE_OK);
	return st;
}

static struct hall_item_in item_in(const char *code, const char *name, int64_t dept, const char *status)
{
	struct hall_item_in in = { code, name, dept, "行政许可", "enterprise", 20, 10, 4, 0, "hall.standard",
				   "条件", "申请书 | 必需\n", "n|名称|text|必填|50\n", "", NULL, "许可证",
				   "企业开办、市场准入", "开办企业", NULL, status };
	return in;
}

static int64_t store_item(struct store *st, int64_t id, const struct hall_item_in *in, const struct procdef *p,
			  enum msg_id *why, struct item_err *e)
{
	int64_t out = 0;
	assert_int_equal(store_begin(st), STORE_OK);
	if (hall_item_store(st, id, in, p, &out, why, e) != 0) {
		store_rollback(st);
		return -1;
	}
	assert_int_equal(store_commit(st), STORE_OK);
	return out;
}

static void test_store_rules(void **state)
{
	(void)state;
	int64_t amr, mca;
	struct store *st = catalogue_store(&amr, &mca);
	enum msg_id why;
	struct item_err e;

	struct hall_item_in in = item_in("amr-qysl", "企业设立登记", amr, "published");
	int64_t id = store_item(st, 0, &in, NULL, &why, &e);
	assert_true(id > 0);
	json_t *j = hall_item_json(st, id, NULL);
	assert_non_null(j);
	assert_string_equal(jstr(j, "code"), "amr-qysl");
	assert_string_equal(jstr(j, "status"), "published");
	assert_string_equal(jstr(j, "dept_name"), "市场监督管理局");
	assert_int_equal(json_integer_value(json_object_get(j, "depth")), 4);
	assert_true(json_integer_value(json_object_get(j, "updated_at")) > 0);
	assert_int_equal(json_array_size(json_object_get(j, "materials")), 1);
	assert_string_equal(jstr(j, "fees"), "");
	json_decref(j);
	j = hall_item_json(st, 0, "amr-qysl");
	assert_non_null(j);
	json_decref(j);
	assert_null(hall_item_json(st, 0, "none"));

	/* duplicate code */
	struct hall_item_in dup = item_in("amr-qysl", "另一个", amr, "draft");
	assert_int_equal(store_item(st, 0, &dup, NULL, &why, &e), -1);
	assert_int_equal(why, MSG_HALL_CODE_TAKEN);
	assert_string_equal(e.field, "code");

	/* promised > statutory */
	struct hall_item_in over = item_in("amr-x", "超时", amr, "draft");
	over.promised_days = 21;
	assert_int_equal(store_item(st, 0, &over, NULL, &why, &e), -1);
	assert_int_equal(why, MSG_HALL_PROMISED_OVER);
	assert_string_equal(e.field, "promised_days");

	/* visits against depth */
	struct hall_item_in v = item_in("amr-v", "跑动", amr, "draft");
	v.depth = 3;
	v.visits = 0;
	assert_int_equal(store_item(st, 0, &v, NULL, &why, &e), -1);
	assert_int_equal(why, MSG_HALL_VISITS_DEPTH);
	assert_string_equal(e.field, "visits");
	v.depth = 5;
	v.visits = 1;
	assert_int_equal(store_item(st, 0, &v, NULL, &why, &e), -1);
	assert_int_equal(why, MSG_HALL_VISITS_DEPTH);

	/* a list error names the field and the line */
	struct hall_item_in bad = item_in("amr-b", "坏表单", amr, "draft");
	bad.form = "a|甲|text|必填\nb|乙|money|必填\n";
	assert_int_equal(store_item(st, 0, &bad, NULL, &why, &e), -1);
	assert_int_equal(why, MSG_HALL_ITEM_LIST_BAD);
	assert_string_equal(e.field, "form");
	assert_int_equal(e.line, 2);

	/* a published item keeps its code; a draft may change it */
	struct hall_item_in rename = item_in("amr-qysl2", "企业设立登记", amr, "published");
	assert_int_equal(store_item(st, id, &rename, NULL, &why, &e), -1);
	assert_int_equal(why, MSG_HALL_CODE_FIXED);
	struct hall_item_in draft = item_in("amr-d", "草稿", amr, "draft");
	int64_t did = store_item(st, 0, &draft, NULL, &why, &e);
	assert_true(did > 0);
	draft.code = "amr-d2";
	assert_int_equal(store_item(st, did, &draft, NULL, &why, &e), did);
	j = hall_item_json(st, did, NULL);
	assert_string_equal(jstr(j, "code"), "amr-d2");
	json_decref(j);

	/* updating an item that does not exist */
	assert_int_equal(store_item(st, 99999, &draft, NULL, &why, &e), -1);
	assert_int_equal(why, MSG_HALL_ITEM_NOT_FOUND);

	store_close(st);
}

static void test_store_specials_against_process(void **state)
{
	(void)state;
	char *err = NULL;
	assert_int_equal(procdef_load_all(embed_processes, &err), 0);
	const struct procdef *std = procdef_get("hall.standard"), *simple = procdef_get("hall.simple");
	assert_non_null(std);
	assert_non_null(simple);
	int64_t amr, mca;
	struct store *st = catalogue_store(&amr, &mca);
	enum msg_id why;
	struct item_err e;

	struct hall_item_in in = item_in("mca-dbsq", "最低生活保障申请", mca, "published");
	in.specials = "inspection | 入户调查 | 不计时\n";
	assert_true(store_item(st, 0, &in, std, &why, &e) > 0);

	in.code = "mca-2";
	in.specials = "# 特殊环节\ninspection | 入户调查 | 不计时\n\nsurvey | 调查 | 不计时\n";
	assert_int_equal(store_item(st, 0, &in, std, &why, &e), -1);
	assert_int_equal(why, MSG_HALL_ITEM_LIST_BAD);
	assert_string_equal(e.field, "specials");
	assert_int_equal(e.line, 4);
	assert_non_null(strstr(e.reason, "survey"));
	assert_non_null(strstr(e.reason, "expert_review"));

	/* a state of the process that is not a special one */
	in.specials = "review | 审查 | 计时\n";
	assert_int_equal(store_item(st, 0, &in, std, &why, &e), -1);
	assert_int_equal(e.line, 1);

	/* 即办件 has no special steps at all */
	in.process = "hall.simple";
	in.specials = "hearing | 听证 | 不计时\n";
	assert_int_equal(store_item(st, 0, &in, simple, &why, &e), -1);
	assert_string_equal(e.field, "specials");
	assert_non_null(strstr(e.reason, "没有特殊环节"));

	store_close(st);
	procdef_unload_all();
}

static void test_store_list(void **state)
{
	(void)state;
	int64_t amr, mca;
	struct store *st = catalogue_store(&amr, &mca);
	enum msg_id why;
	struct item_err e;
	static const char *const names[] = { "企业设立登记", "食品经营许可", "个体工商户登记", "公司注销登记",
					     "股权出质登记" };
	char codes[5][16];
	for (int i = 0; i < 5; i++) {
		snprintf(codes[i], sizeof codes[i], "amr-%d", i);
		struct hall_item_in in = item_in(codes[i], names[i], amr, i == 1 ? "draft" : "published");
		if (i == 2) {
			in.audience = "person";
			in.themes = "个体经营";
			in.life_events = "就业创业";
		}
		assert_true(store_item(st, 0, &in, NULL, &why, &e) > 0);
	}
	struct hall_item_in m = item_in("mca-1", "最低生活保障申请", mca, "published");
	m.audience = "both";
	m.themes = "社会救助_100%";
	m.life_events = "困难救助";
	assert_true(store_item(st, 0, &m, NULL, &why, &e) > 0);

	/* public: published only */
	json_t *p = hall_item_list(st, NULL, 0, NULL, NULL, 0, 0, 20);
	assert_non_null(p);
	assert_int_equal(json_array_size(json_object_get(p, "items")), 5);
	assert_int_equal(json_integer_value(json_object_get(p, "total")), 5);
	assert_true(json_is_null(json_object_get(p, "next")));
	json_decref(p);

	/* pages of two */
	p = hall_item_list(st, NULL, 0, NULL, NULL, 0, 0, 2);
	assert_int_equal(json_array_size(json_object_get(p, "items")), 2);
	json_int_t next = json_integer_value(json_object_get(p, "next"));
	assert_int_equal(next, json_integer_value(json_object_get(json_array_get(json_object_get(p, "items"), 1), "id")));
	json_decref(p);
	p = hall_item_list(st, NULL, 0, NULL, NULL, 0, next, 2);
	assert_int_equal(json_array_size(json_object_get(p, "items")), 2);
	next = json_integer_value(json_object_get(p, "next"));
	json_decref(p);
	p = hall_item_list(st, NULL, 0, NULL, NULL, 0, next, 2);
	assert_int_equal(json_array_size(json_object_get(p, "items")), 1);
	assert_true(json_is_null(json_object_get(p, "next")));
	json_decref(p);

	/* search: name, department name, code (any case) */
	p = hall_item_list(st, "登记", 0, NULL, NULL, 0, 0, 20);
	assert_int_equal(json_integer_value(json_object_get(p, "total")), 4);
	json_decref(p);
	p = hall_item_list(st, "民政", 0, NULL, NULL, 0, 0, 20);
	assert_int_equal(json_integer_value(json_object_get(p, "total")), 1);
	json_decref(p);
	p = hall_item_list(st, "MCA-1", 0, NULL, NULL, 0, 0, 20);
	assert_int_equal(json_integer_value(json_object_get(p, "total")), 1);
	json_decref(p);
	/* LIKE wildcards are taken literally */
	p = hall_item_list(st, "%", 0, NULL, NULL, 0, 0, 20);
	assert_int_equal(json_integer_value(json_object_get(p, "total")), 1);   /* 社会救助_100% */
	json_decref(p);
	p = hall_item_list(st, "_", 0, NULL, NULL, 0, 0, 20);
	assert_int_equal(json_integer_value(json_object_get(p, "total")), 1);
	json_decref(p);

	/* department, theme or life event, audience */
	p = hall_item_list(st, NULL, mca, NULL, NULL, 0, 0, 20);
	assert_int_equal(json_integer_value(json_object_get(p, "total")), 1);
	json_decref(p);
	p = hall_item_list(st, NULL, 0, "企业开办", NULL, 0, 0, 20);
	assert_int_equal(json_integer_value(json_object_get(p, "total")), 3);
	json_decref(p);
	p = hall_item_list(st, NULL, 0, "就业创业", NULL, 0, 0, 20);
	assert_int_equal(json_integer_value(json_object_get(p, "total")), 1);
	json_decref(p);
	p = hall_item_list(st, NULL, 0, NULL, "person", 0, 0, 20);
	assert_int_equal(json_integer_value(json_object_get(p, "total")), 2);   /* person + both */
	json_decref(p);
	p = hall_item_list(st, NULL, 0, NULL, "enterprise", 0, 0, 20);
	assert_int_equal(json_integer_value(json_object_get(p, "total")), 4);
	json_decref(p);

	/* admin scopes: one department any status, every department any status */
	p = hall_item_list(st, NULL, 0, NULL, NULL, amr, 0, 20);
	assert_int_equal(json_integer_value(json_object_get(p, "total")), 5);
	json_decref(p);
	p = hall_item_list(st, NULL, 0, NULL, NULL, -1, 0, 20);
	assert_int_equal(json_integer_value(json_object_get(p, "total")), 6);
	json_decref(p);
	p = hall_item_list(st, NULL, mca, NULL, NULL, -1, 0, 20);
	assert_int_equal(json_integer_value(json_object_get(p, "total")), 1);
	json_decref(p);

	/* facets: from published items only */
	json_t *f = hall_item_facets(st);
	assert_non_null(f);
	assert_int_equal(json_array_size(json_object_get(f, "depts")), 2);
	json_t *themes = json_object_get(f, "themes");
	int found_private = 0;
	size_t i;
	json_t *t;
	json_array_foreach(themes, i, t)
		found_private |= strcmp(json_string_value(t), "个体经营") == 0;
	assert_true(found_private);
	assert_int_equal(json_array_size(themes), 4);   /* 个体经营 企业开办 市场准入 社会救助_100% */
	assert_int_equal(json_array_size(json_object_get(f, "life_events")), 3);
	json_decref(f);
	store_close(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_materials_ok),
		cmocka_unit_test(test_materials_errors),
		cmocka_unit_test(test_form_ok),
		cmocka_unit_test(test_form_errors),
		cmocka_unit_test(test_specials),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_tags_and_labels),
		cmocka_unit_test(test_store_rules),
		cmocka_unit_test(test_store_specials_against_process),
		cmocka_unit_test(test_store_list),
	};
	return cmocka_run_group_tests_name("hall_items", tests, NULL, NULL);
}
