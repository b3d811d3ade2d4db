/*
 * Unit tests of engines/registry def.c and schema.c: the definition format
 * (what it accepts, and that each refusal names the right line), applying
 * definitions on the store (real tables and indexes, recorded DDL, the
 * version, no-op re-apply), alterations that are allowed and those refused
 * because they would lose data, derived fields, and the handle cache.
 */
#include "testutil.h"

#include "core/audit.h"
#include "core/dept.h"
#include "core/embed.h"
#include "engines/registry/registry.h"
#include "engines/registry/registry_int.h"

/* ------------------------------------------------------------ helpers */

static struct reg_def *parse_ok(const char *text)
{
	struct reg_def *d = NULL;
	char *err = NULL;
	if (regdef_parse(text, strlen(text), &d, &err) != 0)
		fail_msg("unexpected parse error: %s", err ? err : "?");
	assert_non_null(d);
	assert_null(err);
	return d;
}

/* Expects text to be refused on line with a message containing what. */
static void parse_bad_at(const char *text, int line, const char *what, int src_line)
{
	struct reg_def *d = (struct reg_def *)&line;
	char *err = NULL;
	if (regdef_parse(text, strlen(text), &d, &err) != -1)
		fail_msg("line %d: accepted: %s", src_line, text);
	assert_null(d);
	assert_non_null(err);
	char prefix[32];
	snprintf(prefix, sizeof prefix, "第 %d 行：", line);
	if (strncmp(err, prefix, strlen(prefix)) != 0)
		fail_msg("(test line %d) error %s does not start with %s", src_line, err, prefix);
	if (strstr(err, what) == NULL)
		fail_msg("(test line %d) error %s does not mention %s", src_line, err, what);
	free(err);
}
#define parse_bad(text, line, what) parse_bad_at((text), (line), (what), __LINE__)

#define HEAD "registry t\nname 测试库\nowner psb\nkey code\nshare conditional 条件\n"

static const char POPULATION[] =
	"# 人口基础信息库\n"
	"registry population\n"
	"name 人口基础信息库\n"
	"owner psb\n"
	"key id_no\n"
	"share conditional \"用于履行法定职责所需的身份核验\"\n"
	"open no\n"
	"abstract \"全市户籍人口和常住人口的基础信息\"\n"
	"cycle 实时\n"
	"field id_no 公民身份号码 idcard required personal source=psb\n"
	"field name 姓名 text(50) required personal source=psb\n"
	"field sex 性别 enum(男|女) required source=psb\n"
	"field birth_date 出生日期 date required source=psb\n"
	"field address 住址 address(200) personal source=psb\n"
	"field phone 联系电话 phone personal source=psb share=none:\"《中华人民共和国个人信息保护法》第十三条\"\n"
	"field household_no 户号 text(20) index source=psb\n";

/* ------------------------------------------------------------ parser */

static void test_parse_example(void **state)
{
	(void)state;
	struct reg_def *d = parse_ok(POPULATION);
	assert_string_equal(d->code, "population");
	assert_string_equal(d->name, "人口基础信息库");
	assert_string_equal(d->owner_dept, "psb");
	assert_int_equal(d->share, RS_CONDITIONAL);
	assert_string_equal(d->share_cond, "用于履行法定职责所需的身份核验");
	assert_int_equal(d->open, 0);
	assert_string_equal(d->abstract, "全市户籍人口和常住人口的基础信息");
	assert_string_equal(d->update_cycle, "实时");
	assert_int_equal(d->nfields, 7);
	assert_int_equal(d->key, 0);
	assert_int_equal(d->subject, 0);   /* the idcard key by default */
	const struct reg_field *f = &d->fields[0];
	assert_int_equal(f->type, RT_IDCARD);
	assert_true(f->required && f->personal);
	assert_string_equal(f->source_dept, "psb");
	assert_int_equal(f->share, RS_CONDITIONAL);
	assert_string_equal(f->share_cond, "用于履行法定职责所需的身份核验");
	f = &d->fields[1];
	assert_int_equal(f->type, RT_TEXT);
	assert_int_equal(f->max_chars, 50);
	f = &d->fields[2];
	assert_int_equal(f->type, RT_ENUM);
	assert_int_equal(f->nenum, 2);
	assert_string_equal(f->enum_values[0], "男");
	assert_string_equal(f->enum_values[1], "女");
	assert_null(f->enum_values[2]);
	f = &d->fields[5];
	assert_int_equal(f->type, RT_PHONE);
	assert_int_equal(f->share, RS_NONE);
	assert_string_equal(f->share_cond, "《中华人民共和国个人信息保护法》第十三条");
	f = &d->fields[6];
	assert_true(f->indexed);
	assert_false(f->required);
	assert_int_equal(reg_field_index(d, "phone"), 5);
	assert_int_equal(reg_field_index(d, "nope"), -1);
	regdef_free(d);

	/* defaults, quoting, comments, CRLF, BOM, the conditional registry's unconditional field */
	d = parse_ok("\xef\xbb\xbfregistry enterprise   # 法人库\r\n"
		     "name \"法人 基础信息库\"\r\n"
		     "owner amr\nkey uscc\nsubject uscc\n"
		     "share conditional \"用于 #1 监管\"\n"
		     "open yes\n"
		     "field uscc 统一社会信用代码 uscc source=amr share=unconditional\n"
		     "field name 企业名称 text source=amr share=unconditional\n"
		     "field cap 注册资本（万元） decimal(2) source=amr share=conditional:\"另行 约定\"\n"
		     "field rep 法定代表人 text(50) personal derived=population.name\n"
		     "field kind 类型 \"enum(有限 公司|个人独资)\" source=amr\n"
		     "field n 人数 integer source=amr\n"
		     "field ok 是否 boolean source=amr share=conditional\n"
		     "field d0 日期 date source=amr\n"
		     "field a 地址 address source=amr\n");
	assert_string_equal(d->name, "法人 基础信息库");
	assert_string_equal(d->share_cond, "用于 #1 监管");
	assert_int_equal(d->open, 1);
	assert_int_equal(d->subject, 0);
	assert_true(d->fields[0].required);   /* the key is always required */
	assert_int_equal(d->fields[0].share, RS_UNCONDITIONAL);
	assert_null(d->fields[0].share_cond);
	assert_int_equal(d->fields[1].max_chars, 200);
	assert_int_equal(d->fields[2].scale, 2);
	assert_string_equal(d->fields[2].share_cond, "另行 约定");
	assert_string_equal(d->fields[3].derived_from, "population.name");
	assert_string_equal(d->fields[3].source_dept, "");
	assert_string_equal(d->fields[4].enum_values[0], "有限 公司");
	assert_int_equal(d->fields[6].share, RS_CONDITIONAL);
	assert_string_equal(d->fields[6].share_cond, "用于 #1 监管");
	assert_int_equal(d->fields[8].max_chars, 200);
	regdef_free(d);

	/* an unconditional registry may have stricter fields; none registries only none fields */
	d = parse_ok("registry u\nname 开放库\nowner amr\nkey k\nshare unconditional\n"
		     "field k 编号 text(10) source=amr\n"
		     "field c 条件字段 text source=amr share=conditional:\"须经审批\"\n"
		     "field x 不共享 text source=amr share=none:\"法规\"\n");
	assert_int_equal(d->subject, -1);
	assert_int_equal(d->fields[1].share, RS_CONDITIONAL);
	assert_int_equal(d->fields[2].share, RS_NONE);
	regdef_free(d);
	d = parse_ok("registry n\nname 不共享库\nowner amr\nkey k\nshare none \"《保密法》\"\n"
		     "field k 编号 integer source=amr\n"
		     "field x 字段 text source=amr share=none:\"另一依据\"\n");
	assert_int_equal(d->fields[0].share, RS_NONE);
	assert_string_equal(d->fields[0].share_cond, "《保密法》");
	assert_string_equal(d->fields[1].share_cond, "另一依据");
	regdef_free(d);

	assert_string_equal(reg_type_name(RT_IDCARD), "idcard");
	assert_string_equal(reg_type_label(RT_USCC), "统一社会信用代码");
	assert_string_equal(reg_share_name(RS_NONE), "none");
	assert_string_equal(reg_share_label(RS_CONDITIONAL), "有条件共享");
}

static void test_parse_errors(void **state)
{
	(void)state;
	/* lexical */
	parse_bad(HEAD "field code 编号 text(10) source=psb \"abc\n", 6, "引号");
	parse_bad(HEAD "field code 编号 \"te\\xt\" source=psb\n", 6, "转义");
	parse_bad(HEAD "field code 编号 text(10) source=\n", 6, "缺少参数值");
	parse_bad(HEAD "field code 编号 text(10) =psb\n", 6, "缺少参数名");
	parse_bad(HEAD "field code 编号 text(10) source=psb\x01\n", 6, "控制字符");
	parse_bad(HEAD "field code 编号 text(10) source=\xff\n", 6, "UTF-8");
	/* directives */
	parse_bad(HEAD "fields code 编号 text(10) source=psb\n", 6, "未知的指令");
	parse_bad(HEAD "name 另一个\nfield code 编号 text(10) source=psb\n", 6, "第一次出现在第 2 行");
	parse_bad("registry Bad\n", 1, "编码");
	parse_bad("registry history\n", 1, "保留");
	parse_bad("registry a b\n", 1, "格式不正确");
	parse_bad("registry t\nname \"\"\n", 2, "不能为空");
	parse_bad("registry t\nowner 公安\n", 2, "编码");
	parse_bad("registry t\nshare public\n", 2, "共享类型");
	parse_bad("registry t\nshare conditional\n", 2, "共享条件");
	parse_bad("registry t\nshare none\n", 2, "法律依据");
	parse_bad("registry t\nshare unconditional 说明\n", 2, "无条件共享不带");
	parse_bad("registry t\nopen maybe\n", 2, "yes 或 no");
	parse_bad("registry t\nshare conditional a=b\n", 2, "格式不正确");
	/* fields */
	parse_bad(HEAD "field code 编号 strng source=psb\n", 6, "未知的字段类型 “strng”");
	parse_bad(HEAD "field code 编号 text(0) source=psb\n", 6, "1 到 2000");
	parse_bad(HEAD "field code 编号 text(2001) source=psb\n", 6, "1 到 2000");
	parse_bad(HEAD "field code 编号 text(1x) source=psb\n", 6, "1 到 2000");
	parse_bad(HEAD "field code 编号 text(10 source=psb\n", 6, "未知的字段类型");
	parse_bad(HEAD "field code 编号 decimal source=psb\n", 6, "小数位数");
	parse_bad(HEAD "field code 编号 decimal(7) source=psb\n", 6, "小数位数");
	parse_bad(HEAD "field code 编号 integer(3) source=psb\n", 6, "未知的字段类型");
	parse_bad(HEAD "field code 编号 enum(a||b) source=psb\n", 6, "枚举值");
	parse_bad(HEAD "field code 编号 enum(a|b|a) source=psb\n", 6, "“a”重复");
	parse_bad(HEAD "field code 编号 enum source=psb\n", 6, "枚举值");
	parse_bad(HEAD "field code 编号 text(10) source=psb\nfield code 又一个 text source=psb\n", 7,
		  "第一次出现在第 6 行");
	parse_bad(HEAD "field _x 编号 text source=psb\n", 6, "编码");
	parse_bad(HEAD "field Code 编号 text source=psb\n", 6, "编码");
	parse_bad(HEAD "field abcdefghijabcdefghijabcdefghijab 编号 text source=psb\n", 6, "编码");
	parse_bad(HEAD "field code 编号 text unique source=psb\n", 6, "未知的字段标记");
	parse_bad(HEAD "field code 编号 text required required source=psb\n", 6, "重复");
	parse_bad(HEAD "field code 编号 text source=psb owner=psb\n", 6, "未知的字段参数");
	parse_bad(HEAD "field code 编号 text\n", 6, "source=");
	parse_bad(HEAD "field code 编号 text source=psb derived=a.b\n", 6, "source=");
	parse_bad(HEAD "field code 编号 text derived=ab\n", 6, "derived=");
	parse_bad(HEAD "field code 编号 text derived=t.x\n", 6, "derived=");
	parse_bad(HEAD "field code 编号 text source=psb share=none\n", 6, "法律依据");
	parse_bad(HEAD "field code 编号 text source=psb share=unconditional:说明\n", 6, "无条件共享不带");
	parse_bad(HEAD "field code 编号 text source=psb share=open\n", 6, "共享类型");
	parse_bad(HEAD "field code\n", 6, "格式不正确");
	parse_bad(HEAD "field code 编号=x text source=psb\n", 6, "格式不正确");
	/* the whole */
	parse_bad("name 测试\n", 1, "“registry”");
	parse_bad("registry t\nname 测试\nowner psb\nkey code\n", 1, "“share”");
	parse_bad("registry t\nname 测试\nowner psb\nshare unconditional\nkey code\n", 1, "至少要定义一个字段");
	parse_bad(HEAD "field other 编号 text source=psb\n", 4, "没有这个字段");
	parse_bad("registry t\nname 测试\nowner psb\nshare unconditional\n\nkey code\n"
		  "field code 编号 decimal(2) source=psb\n", 6, "主键");
	parse_bad(HEAD "field code 编号 text source=psb share=none:依据\n", 4, "不予共享");
	parse_bad(HEAD "subject code\nfield code 编号 text source=psb\n", 6, "数据主体");
	parse_bad(HEAD "subject who\nfield code 编号 text source=psb\n", 6, "没有这个字段");
	parse_bad("registry t\nname 测试\nowner psb\nkey code\nshare none 依据\n"
		  "field code 编号 text source=psb\nfield x 字段 text source=psb share=conditional:a\n",
		  7, "更宽松");
	parse_bad("registry t\nname 测试\nowner psb\nkey code\nshare unconditional\n"
		  "field code 编号 text source=psb\nfield x 字段 text source=psb share=conditional\n",
		  7, "共享条件");
	parse_bad("registry t\nname 测试\nopen yes\nowner psb\nkey code\nshare none 依据\n"
		  "field code 编号 text source=psb\n", 3, "不能开放");
	/* limits */
	{
		char *big = malloc(300 * 1024);
		memset(big, '#', 300 * 1024 - 1);
		big[300 * 1024 - 1] = '\0';
		parse_bad(big, 1, "过长");
		big[5000] = '\0';
		parse_bad(big, 1, "行过长");
		free(big);
	}
	{
		char text[16384];
		int n = snprintf(text, sizeof text, HEAD);
		for (int i = 0; i < 65; i++)
			n += snprintf(text + n, sizeof text - (size_t)n, "field f%d 字段 text source=psb\n", i);
		parse_bad(text, 6 + 64, "字段过多");
	}
	parse_bad(HEAD "field code 编号 text source=psb\nfield x a b c d e f g h i j k l m n o p q r s t u v "
		  "w x y z a b c d e f g h i j k l m n o p q r s t u v w x y z a b c d e f g h i j k l\n", 7,
		  "词数过多");
	parse_bad("registry t\nname 一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十"
		  "一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十"
		  "一二三四五六七八九十一二三四五六七八九十一\n", 2, "文字过长");
}

/* ------------------------------------------------------------ the store */

static struct store *reg_store(void)
{
	struct store *st = test_store_open();
	assert_int_equal(store_migrate(st), 0);
	enum msg_id why;
	const char *field;
	int64_t id;
	struct dept_in a = { "psb", "公安局", 0, "city", 1 }, b = { "amr", "市场监督管理局", 0, "city", 2 };
	assert_int_equal(store_begin(st), STORE_OK);
	assert_int_equal(dept_create(st, &a, &id, &why, &field), 0);
	assert_int_equal(dept_create(st, &b, &id, &why, &field), 0);
	assert_int_equal(store_commit(st), STORE_OK);
	return st;
}

static const struct reg_actor ADMIN = { 1, "admin", "test" };

static int apply(struct store *st, const char *text, struct reg_error *e)
{
	assert_int_equal(store_begin(st), STORE_OK);
	int rc = registry_apply(st, text, strlen(text), &ADMIN, e);
	if (rc == 0)
		assert_int_equal(store_commit(st), STORE_OK);
	else
		store_rollback(st);
	return rc;
}

static void apply_ok(struct store *st, const char *text)
{
	struct reg_error e;
	if (apply(st, text, &e) != 0)
		fail_msg("apply refused: %s (%s) %s", msg(e.why), e.field, e.detail);
	assert_int_equal(e.why, MSG_NONE);
}

static void apply_bad_at(struct store *st, const char *text, enum msg_id why, const char *field,
			 const char *detail, int src_line)
{
	struct reg_error e;
	if (apply(st, text, &e) != -1)
		fail_msg("(test line %d) apply accepted", src_line);
	if (e.why != why)
		fail_msg("(test line %d) refused with %s (%s), want %s", src_line, msg_name(e.why), e.detail,
			 msg_name(why));
	assert_string_equal(e.field, field);
	if (detail != NULL && strstr(e.detail, detail) == NULL)
		fail_msg("(test line %d) detail %s does not mention %s", src_line, e.detail, detail);
}
#define apply_bad(st, text, why, field, detail) apply_bad_at((st), (text), (why), (field), (detail), __LINE__)

static int64_t q_int(struct store *st, const char *sql, const char *a, const char *b)
{
	struct sval p[] = { SVT(a), SVT(b) };
	int64_t v = -1;
	int n = b ? 2 : a ? 1 : 0;
	assert_int_equal(store_query_int(st, sql, p, n, &v), STORE_OK);
	return v;
}

static int has_index(struct store *st, const char *name)
{
	return (int)q_int(st, store_driver(st) == STORE_PG
				      ? "SELECT COUNT(*) FROM pg_indexes WHERE indexname = $1"
				      : "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = $1",
			  name, NULL);
}

static int has_column(struct store *st, const char *table, const char *col)
{
	return (int)q_int(st, store_driver(st) == STORE_PG
				      ? "SELECT COUNT(*) FROM information_schema.columns WHERE table_name = $1 "
					"AND column_name = $2"
				      : "SELECT COUNT(*) FROM pragma_table_info($1) WHERE name = $2",
			  table, col);
}

static int64_t version_of(struct store *st, const char *code)
{
	return q_int(st, "SELECT version FROM registries WHERE code = $1", code, NULL);
}

static int64_t migrations_of(struct store *st, const char *code)
{
	return q_int(st, "SELECT COUNT(*) FROM registry_migrations m JOIN registries r ON r.id = m.registry_id "
			 "WHERE r.code = $1", code, NULL);
}

static void exec(struct store *st, const char *sql)
{
	assert_int_equal(store_begin(st), STORE_OK);
	if (store_exec_script(st, sql) != STORE_OK)
		fail_msg("%s: %s", sql, store_errmsg(st));
	assert_int_equal(store_commit(st), STORE_OK);
}

static void test_apply_create(void **state)
{
	(void)state;
	struct store *st = reg_store();
	apply_ok(st, POPULATION);
	const struct registry *reg = registry_get(st, "population");
	assert_non_null(reg);
	assert_int_equal(reg->version, 1);
	assert_int_equal(reg->def.nfields, 7);
	assert_true(reg->owner_dept_id > 0);
	assert_int_equal(reg->source_dept_id[0], reg->owner_dept_id);
	assert_ptr_equal(registry_get_id(st, reg->id), reg);
	assert_ptr_equal(registry_get(st, "population"), reg);
	assert_null(registry_get(st, "nothing"));

	/* the table, its columns, indexes: idcard and indexed fields, not the key (UNIQUE) */
	for (int i = 0; i < reg->def.nfields; i++)
		assert_int_equal(has_column(st, "reg_population", reg->def.fields[i].name), 1);
	assert_int_equal(has_column(st, "reg_population", "_updated_src"), 1);
	if (store_driver(st) == STORE_PG)   /* bytewise ORDER BY on both drivers */
		assert_int_equal(q_int(st, "SELECT COUNT(*) FROM information_schema.columns WHERE table_name = $1 "
					   "AND column_name = $2 AND collation_name = 'C'", "reg_population", "name"), 1);
	assert_int_equal(q_int(st, "SELECT COUNT(*) FROM audit_log WHERE action = $1 AND detail LIKE '%household_no%'",
			       "registry.create", NULL), 1);
	char name[64];
	snprintf(name, sizeof name, "regi_%lld_household_no", (long long)reg->id);
	assert_int_equal(has_index(st, name), 1);
	snprintf(name, sizeof name, "regi_%lld_name", (long long)reg->id);
	assert_int_equal(has_index(st, name), 0);
	assert_int_equal(migrations_of(st, "population"), 2);   /* CREATE TABLE, CREATE INDEX */

	/* the generated SQL works against the real table, with the documented parameters */
	const struct reg_sql *q = reg->sql;
	assert_string_equal(q->table, "reg_population");
	assert_non_null(strstr(q->insert, "ON CONFLICT (\"id_no\") DO NOTHING"));
	assert_int_equal(store_begin(st), STORE_OK);
	struct sval p[] = { SVT("110101199003074514"), SVT("张三"), SVT("男"), SVT("1990-03-07"), SVN, SVN,
			    SVT("H1"), SVI(1000), SVT("admin"), SVT("test:1"), SVI(0) };
	int64_t changes = 0;
	assert_int_equal(store_exec(st, q->insert, p, 10, &changes), STORE_OK);
	assert_int_equal(changes, 1);
	assert_int_equal(store_exec(st, q->insert, p, 10, &changes), STORE_OK);
	assert_int_equal(changes, 0);
	struct store_res *r = NULL;
	assert_int_equal(store_query(st, q->by_key, p, 1, &r), STORE_OK);
	assert_int_equal(store_res_rows(r), 1);
	assert_int_equal(store_res_cols(r), 9);
	assert_string_equal(store_res_text(r, 0, 2), "张三");
	assert_int_equal(store_res_int(r, 0, 8), 1);
	p[10] = SVI(store_res_int(r, 0, 0));
	store_res_free(r);
	p[1] = SVT("张四");
	assert_int_equal(store_exec(st, q->update, p, 11, &changes), STORE_OK);
	assert_int_equal(changes, 1);
	assert_int_equal(store_query(st, q->record, p, 1, &r), STORE_OK);
	assert_string_equal(store_res_text(r, 0, 2), "张四");
	assert_int_equal(store_res_int(r, 0, 8), 2);
	assert_string_equal(store_res_text(r, 0, 14), "test:1");
	store_res_free(r);
	struct sval pg[] = { SVI(0), SVI(10) };
	assert_int_equal(store_query(st, q->page, pg, 2, &r), STORE_OK);
	assert_int_equal(store_res_rows(r), 1);
	store_res_free(r);
	struct sval sk[] = { SVT(""), SVI(10) };
	assert_int_equal(store_query(st, q->scan_key, sk, 2, &r), STORE_OK);
	assert_int_equal(store_res_rows(r), 1);
	store_res_free(r);
	int64_t n = -1;
	assert_int_equal(store_query_int(st, q->exists_by[6], &p[6], 1, &n), STORE_OK);
	assert_int_equal(n, 1);
	assert_int_equal(store_query_int(st, q->count, NULL, 0, &n), STORE_OK);
	assert_int_equal(n, 1);
	assert_int_equal(store_commit(st), STORE_OK);

	/* re-applying the same text changes nothing */
	apply_ok(st, POPULATION);
	assert_int_equal(version_of(st, "population"), 1);
	assert_int_equal(migrations_of(st, "population"), 2);
	assert_ptr_equal(registry_get(st, "population"), reg);

	/* the audit entry and the stored text and JSON */
	assert_int_equal(q_int(st, "SELECT COUNT(*) FROM audit_log WHERE action = $1", "registry.create", NULL), 1);
	char *text = registry_def_text(st, "population");
	assert_string_equal(text, POPULATION);
	free(text);
	assert_null(registry_def_text(st, "nothing"));
	json_t *j = registry_def_json(st, reg);
	assert_string_equal(json_string_value(json_object_get(j, "owner_dept_name")), "公安局");
	assert_string_equal(json_string_value(json_object_get(j, "share_label")), "有条件共享");
	assert_string_equal(json_string_value(json_object_get(j, "key")), "id_no");
	json_t *f5 = json_array_get(json_object_get(j, "fields"), 5);
	assert_string_equal(json_string_value(json_object_get(f5, "share")), "none");
	assert_string_equal(json_string_value(json_object_get(f5, "source_dept_name")), "公安局");
	assert_string_equal(json_string_value(json_object_get(f5, "type_label")), "电话号码");
	json_decref(j);
	j = registry_list(st);
	assert_int_equal(json_array_size(j), 1);
	json_t *it = json_array_get(j, 0);
	assert_string_equal(json_string_value(json_object_get(it, "code")), "population");
	assert_int_equal(json_integer_value(json_object_get(it, "records")), 1);
	assert_string_equal(json_string_value(json_object_get(it, "owner_dept_name")), "公安局");
	json_decref(j);
	j = registry_migrations(st, reg);
	assert_int_equal(json_array_size(j), 2);
	assert_non_null(strstr(json_string_value(json_object_get(json_array_get(j, 0), "sql")),
			       "CREATE TABLE reg_population"));
	json_decref(j);
	store_close(st);
}

#define T_HEAD "registry t\nname 测试库\nowner psb\nkey code\nshare conditional 条件\n" \
	       "field code 编号 text(10) source=psb\n"

static void test_apply_alter(void **state)
{
	(void)state;
	struct store *st = reg_store();
	apply_ok(st, T_HEAD "field n 数量 integer source=psb\nfield s 状态 enum(a|b|c) source=psb\n"
			    "field memo 备注 text(20) source=psb\nfield amt 金额 decimal(1) source=psb\n"
			    "field gone 待删 text source=psb\n");
	const struct registry *v1 = registry_get(st, "t");
	assert_non_null(v1);
	int64_t id = v1->id;

	/* adding a field and an index on an empty registry; the handle follows the version */
	apply_ok(st, T_HEAD "field n 数量 integer source=psb\nfield s 状态 enum(a|b|c) source=psb\n"
			    "field memo 备注 text(20) source=psb\nfield amt 金额 decimal(1) source=psb\n"
			    "field gone 待删 text source=psb\nfield who 身份证 idcard required source=psb\n");
	const struct registry *v2 = registry_get(st, "t");
	assert_non_null(v2);
	assert_ptr_not_equal(v1, v2);
	assert_int_equal(v2->version, 2);
	assert_int_equal(v2->def.nfields, 7);
	assert_int_equal(has_column(st, "reg_t", "who"), 1);
	char name[64];
	snprintf(name, sizeof name, "regi_%lld_who", (long long)id);
	assert_int_equal(has_index(st, name), 1);
	assert_int_equal(q_int(st, "SELECT COUNT(*) FROM audit_log WHERE action = $1", "registry.alter", NULL), 1);

	/* records */
	exec(st, "INSERT INTO reg_t (code, n, s, memo, amt, who, _version, _created_at, _created_by, "
		 "_created_src, _updated_at, _updated_by, _updated_src) VALUES "
		 "('k1', 5, 'a', '一二三四五六', 15, '110101199003074514', 1, 0, 'x', 'x', 0, 'x', 'x'), "
		 "('k2', NULL, 'b', NULL, -3, '110101199003074514', 1, 0, 'x', 'x', 0, 'x', 'x')");

	const char *base = T_HEAD "field n 数量 integer source=psb\nfield s 状态 enum(a|b|c) source=psb\n"
			   "field memo 备注 text(20) source=psb\nfield amt 金额 decimal(1) source=psb\n"
			   "field who 身份证 idcard required source=psb\n";
	/* removing an empty field: allowed; the column goes */
	apply_ok(st, base);
	assert_int_equal(has_column(st, "reg_t", "gone"), 0);
	assert_int_equal(version_of(st, "t"), 3);

	/* refusals that would lose data; nothing changes */
	int64_t migs = migrations_of(st, "t");
	apply_bad(st, T_HEAD "field s 状态 enum(a|b|c) source=psb\nfield memo 备注 text(20) source=psb\n"
			     "field amt 金额 decimal(1) source=psb\nfield who 身份证 idcard required source=psb\n",
		  MSG_REGDEF_DROP_HAS_VALUES, "n", "已有 1 条记录有值");
	apply_bad(st, T_HEAD "field n 数量 text source=psb\nfield s 状态 enum(a|b|c) source=psb\n"
			     "field memo 备注 text(20) source=psb\nfield amt 金额 decimal(1) source=psb\n"
			     "field who 身份证 idcard required source=psb\n",
		  MSG_REGDEF_RETYPE_HAS_VALUES, "n", "1 条");
	apply_bad(st, T_HEAD "field n 数量 integer source=psb\nfield s 状态 enum(a|c) source=psb\n"
			     "field memo 备注 text(20) source=psb\nfield amt 金额 decimal(1) source=psb\n"
			     "field who 身份证 idcard required source=psb\n",
		  MSG_REGDEF_ENUM_IN_USE, "s", "值“b”被 1 条记录使用");
	apply_bad(st, T_HEAD "field n 数量 integer source=psb\nfield s 状态 enum(a|b|c) source=psb\n"
			     "field memo 备注 text(5) source=psb\nfield amt 金额 decimal(1) source=psb\n"
			     "field who 身份证 idcard required source=psb\n",
		  MSG_REGDEF_TEXT_TOO_SHORT, "memo", "最长 6 个字符");
	apply_bad(st, T_HEAD "field n 数量 integer source=psb\nfield s 状态 enum(a|b|c) source=psb\n"
			     "field memo 备注 text(20) source=psb\nfield amt 金额 decimal(0) source=psb\n"
			     "field who 身份证 idcard required source=psb\n",
		  MSG_REGDEF_SCALE_HAS_VALUES, "amt", NULL);
	apply_bad(st, T_HEAD "field n 数量 integer required source=psb\nfield s 状态 enum(a|b|c) source=psb\n"
			     "field memo 备注 text(20) source=psb\nfield amt 金额 decimal(1) source=psb\n"
			     "field who 身份证 idcard required source=psb\n",
		  MSG_REGDEF_REQUIRED_NULLS, "n", "1 条记录没有值");
	apply_bad(st, T_HEAD "field n 数量 integer source=psb\nfield s 状态 enum(a|b|c) source=psb\n"
			     "field memo 备注 text(20) source=psb\nfield amt 金额 decimal(1) source=psb\n"
			     "field who 身份证 idcard required source=psb\nfield x 新必填 text required source=psb\n",
		  MSG_REGDEF_REQUIRED_NULLS, "x", "2 条记录没有值");
	apply_bad(st, "registry t\nname 测试库\nowner psb\nkey n\nshare conditional 条件\n"
		      "field code 编号 text(10) source=psb\n"
		      "field n 数量 integer source=psb\nfield s 状态 enum(a|b|c) source=psb\n"
		      "field memo 备注 text(20) source=psb\nfield amt 金额 decimal(1) source=psb\n"
		      "field who 身份证 idcard required source=psb\n",
		  MSG_REGDEF_KEY_HAS_RECORDS, "n", "2 条记录");
	apply_bad(st, "registry t\nname 测试库\nowner nobody\nkey code\nshare conditional 条件\n"
		      "field code 编号 text(10) source=psb\n",
		  MSG_REGDEF_NO_DEPT, "", "nobody");
	apply_bad(st, T_HEAD "field n 数量 integer source=hr\n", MSG_REGDEF_NO_DEPT, "n", "source=hr");
	apply_bad(st, T_HEAD "field n 数量 integer derived=nothing.x\n", MSG_REGDEF_DERIVED_MISSING, "n", NULL);
	apply_bad(st, "registry t\nfield x\n", MSG_REGDEF_PARSE, "", "第 2 行：");
	assert_int_equal(version_of(st, "t"), 3);
	assert_int_equal(migrations_of(st, "t"), migs);
	assert_int_equal(has_column(st, "reg_t", "x"), 0);

	/* allowed with values: widening text, new enum values, dropping an unused enum value,
	 * idcard to text, more decimal places (values rescaled), index and label changes */
	apply_ok(st, T_HEAD "field n 数量（个） integer index source=psb\nfield s 状态 enum(a|b|d) source=psb\n"
			    "field memo 备注 address(6) source=psb\nfield amt 金额 decimal(3) source=psb\n"
			    "field who 身份证 text(18) required source=psb\n");
	assert_int_equal(version_of(st, "t"), 4);
	assert_int_equal(q_int(st, "SELECT amt FROM reg_t WHERE code = $1", "k1", NULL), 1500);
	assert_int_equal(q_int(st, "SELECT amt FROM reg_t WHERE code = $1", "k2", NULL), -300);
	snprintf(name, sizeof name, "regi_%lld_n", (long long)id);
	assert_int_equal(has_index(st, name), 1);
	snprintf(name, sizeof name, "regi_%lld_who", (long long)id);
	assert_int_equal(has_index(st, name), 0);
	const struct registry *v4 = registry_get(st, "t");
	assert_int_equal(v4->version, 4);
	assert_int_equal(v4->def.fields[3].type, RT_ADDRESS);

	/* an empty field may change storage; an empty registry may change its key */
	exec(st, "UPDATE reg_t SET n = NULL");
	apply_ok(st, T_HEAD "field n 数量 date index source=psb\nfield s 状态 enum(a|b|d) source=psb\n"
			    "field memo 备注 address(6) source=psb\nfield amt 金额 decimal(3) source=psb\n"
			    "field who 身份证 text(18) required source=psb\n");
	assert_int_equal(has_column(st, "reg_t", "n"), 1);
	exec(st, "DELETE FROM reg_t");
	apply_ok(st, "registry t\nname 测试库\nowner psb\nkey who\nshare conditional 条件\n"
		     "field who 身份证 idcard source=psb\nfield code 编号 text(10) index source=psb\n");
	const struct registry *v6 = registry_get(st, "t");
	assert_int_equal(v6->version, 6);
	assert_int_equal(v6->def.key, 0);
	assert_int_equal(has_column(st, "reg_t", "amt"), 0);
	snprintf(name, sizeof name, "regi_%lld_code", (long long)id);
	assert_int_equal(has_index(st, name), 1);
	/* the new key is UNIQUE */
	exec(st, "INSERT INTO reg_t (who, code, _version, _created_at, _created_by, _created_src, _updated_at, "
		 "_updated_by, _updated_src) VALUES ('110101199003074514', 'a', 1, 0, 'x', 'x', 0, 'x', 'x')");
	assert_int_equal(store_begin(st), STORE_OK);
	assert_int_not_equal(store_exec_script(st, "INSERT INTO reg_t (who, code, _version, _created_at, "
						   "_created_by, _created_src, _updated_at, _updated_by, "
						   "_updated_src) VALUES ('110101199003074514', 'b', 1, 0, 'x', "
						   "'x', 0, 'x', 'x')"),
			     STORE_OK);
	store_rollback(st);
	store_close(st);
}

static void test_apply_derived(void **state)
{
	(void)state;
	struct store *st = reg_store();
	const char *ent = "registry enterprise\nname 法人库\nowner amr\nkey uscc\nshare conditional 条件\n"
			  "field uscc 统一社会信用代码 uscc source=amr\n"
			  "field rep 法定代表人 text(50) derived=population.name\n";
	apply_bad(st, ent, MSG_REGDEF_DERIVED_MISSING, "rep", "population.name");
	apply_ok(st, POPULATION);
	apply_ok(st, ent);
	const struct registry *reg = registry_get(st, "enterprise");
	assert_non_null(reg);
	assert_int_equal(reg->source_dept_id[1], 0);
	json_t *j = registry_def_json(st, reg);
	json_t *f = json_array_get(json_object_get(j, "fields"), 1);
	assert_string_equal(json_string_value(json_object_get(f, "derived_label")), "人口基础信息库·姓名");
	assert_string_equal(json_string_value(json_object_get(f, "source_dept_name")), "公安局");
	json_decref(j);
	apply_bad(st, "registry e2\nname 法人库\nowner amr\nkey uscc\nshare conditional 条件\n"
		      "field uscc 统一社会信用代码 uscc source=amr\n"
		      "field rep 法定代表人 text(20) derived=population.name\n",
		  MSG_REGDEF_DERIVED_TYPE, "rep", "text(50)");
	apply_bad(st, "registry e2\nname 法人库\nowner amr\nkey uscc\nshare conditional 条件\n"
		      "field uscc 统一社会信用代码 uscc source=amr\n"
		      "field sex 性别 enum(男) derived=population.sex\n",
		  MSG_REGDEF_DERIVED_TYPE, "sex", NULL);
	apply_bad(st, "registry e2\nname 法人库\nowner amr\nkey uscc\nshare conditional 条件\n"
		      "field uscc 统一社会信用代码 uscc source=amr\n"
		      "field rep 法定代表人 text(50) derived=population.nom\n",
		  MSG_REGDEF_DERIVED_MISSING, "rep", NULL);
	assert_null(registry_get(st, "e2"));
	j = registry_list(st);
	assert_int_equal(json_array_size(j), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(j, 0), "code")), "enterprise");
	assert_string_equal(json_string_value(json_object_get(json_array_get(j, 1), "code")), "population");
	json_decref(j);
	store_close(st);
}

/* A rolled-back apply leaves no handle behind that a later registry could pick up. */
static void test_cache_rollback(void **state)
{
	(void)state;
	struct store *st = reg_store();
	struct reg_error e;
	assert_int_equal(store_begin(st), STORE_OK);
	const char *a = "registry r1\nname 甲\nowner psb\nkey k\nshare unconditional\nfield k 编号 text source=psb\n";
	assert_int_equal(registry_apply(st, a, strlen(a), &ADMIN, &e), 0);
	const struct registry *ra = registry_get(st, "r1");
	assert_non_null(ra);
	store_rollback(st);
	assert_null(registry_get(st, "r1"));
	const char *b = "registry r1\nname 乙\nowner psb\nkey k\nshare unconditional\nfield k 编号 integer source=psb\n";
	apply_ok(st, b);
	const struct registry *rb = registry_get(st, "r1");
	assert_non_null(rb);
	assert_ptr_not_equal(ra, rb);
	assert_string_equal(rb->def.name, "乙");
	assert_int_equal(rb->def.fields[0].type, RT_INTEGER);
	store_close(st);
}

/* The demo definitions (registries/NAME.reg) parse and apply, in an order that satisfies derived=. */
static void test_demo_definitions(void **state)
{
	(void)state;
	struct store *st = test_store_open();
	assert_int_equal(store_migrate(st), 0);
	int n = 0;
	assert_int_equal(store_begin(st), STORE_OK);
	for (const struct embed_file *f = embed_registries; f->name != NULL; f++, n++) {
		struct reg_def *d = NULL;
		char *err = NULL;
		if (regdef_parse((const char *)f->data, f->len, &d, &err) != 0)
			fail_msg("%s: %s", f->name, err);
		const char *codes[1 + REG_MAX_FIELDS];
		int nc = 0;
		codes[nc++] = d->owner_dept;
		for (int i = 0; i < d->nfields; i++)
			if (d->fields[i].source_dept[0])
				codes[nc++] = d->fields[i].source_dept;
		for (int i = 0; i < nc; i++) {
			int64_t id;
			if (dept_find_code(st, codes[i], &id) == 1) {
				enum msg_id why;
				const char *field;
				struct dept_in in = { codes[i], codes[i], 0, "city", 0 };
				assert_int_equal(dept_create(st, &in, &id, &why, &field), 0);
			}
		}
		regdef_free(d);
	}
	assert_int_equal(store_commit(st), STORE_OK);
	assert_true(n >= 1);
	int applied = 0;
	for (int pass = 0; pass < n && applied < n; pass++)
		for (const struct embed_file *f = embed_registries; f->name != NULL; f++) {
			struct reg_def *d = NULL;
			char *err = NULL;
			assert_int_equal(regdef_parse((const char *)f->data, f->len, &d, &err), 0);
			int done = registry_get(st, d->code) != NULL;
			regdef_free(d);
			if (done)
				continue;
			struct reg_error e;
			assert_int_equal(store_begin(st), STORE_OK);
			if (registry_apply(st, (const char *)f->data, f->len, &ADMIN, &e) == 0) {
				assert_int_equal(store_commit(st), STORE_OK);
				applied++;
			} else {
				store_rollback(st);
				if (e.why != MSG_REGDEF_DERIVED_MISSING)
					fail_msg("%s: %s %s", f->name, msg(e.why), e.detail);
			}
		}
	assert_int_equal(applied, n);
	json_t *j = registry_list(st);
	assert_int_equal((int)json_array_size(j), n);
	json_decref(j);
	store_close(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_example),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_apply_create),
		cmocka_unit_test(test_apply_alter),
		cmocka_unit_test(test_apply_derived),
		cmocka_unit_test(test_cache_rollback),
		cmocka_unit_test(test_demo_definitions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
