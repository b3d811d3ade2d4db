/*
 * Unit tests of the registry engine's values, records, queries, scans and
 * access log (engines/registry/value.c, record.c, access.c), on the store
 * under test (SQLite, or PostgreSQL with YIZHAN_TEST_STORE).
 */
#include "testutil.h"

#include <time.h>

#include "core/account.h"
#include "core/input.h"
#include "core/validate.h"
#include "engines/registry/registry.h"

/* ------------------------------------------------------------ helpers */

static const char *jstr(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* A valid 身份证号 with the given first 14 digits and serial (3 digits). */
static void make_id(char out[19], const char *first14, int serial)
{
	snprintf(out, 19, "%s%03d", first14, serial % 1000);
	out[17] = idcard_check_char(out);
	out[18] = '\0';
}

/* A valid 统一社会信用代码 for registration number n (GB 32100 / GB 11714 checks). */
static void make_uscc(char out[19], int n)
{
	char org[9];
	snprintf(org, sizeof org, "MA%06u", (unsigned)n % 1000000u);
	snprintf(out, 19, "91110000%s", org);
	out[16] = orgcode_check_char(org);
	out[17] = uscc_check_char(out);
	out[18] = '\0';
}

/* ------------------------------------------------------------ values */

static struct reg_field field_of(enum reg_type t)
{
	struct reg_field f;
	memset(&f, 0, sizeof f);
	snprintf(f.name, sizeof f.name, "v");
	f.type = t;
	return f;
}

static void ok_canon(const struct reg_field *f, const char *in, const char *want)
{
	char canon[REG_VALUE_MAX + 1];
	int is_null = -1;
	enum msg_id why = reg_value_check(f, in, canon, sizeof canon, &is_null);
	if (why != MSG_NONE)
		fail_msg("type %d: \"%s\" refused: %s", f->type, in, msg_name(why));
	assert_int_equal(is_null, 0);
	if (strcmp(canon, want) != 0)
		fail_msg("type %d: \"%s\" gave \"%s\", want \"%s\"", f->type, in, canon, want);
}

static void ok(const struct reg_field *f, const char *in)
{
	ok_canon(f, in, in);
}

static void bad(const struct reg_field *f, const char *in, enum msg_id want)
{
	char canon[REG_VALUE_MAX + 1];
	int is_null = -1;
	enum msg_id why = reg_value_check(f, in, canon, sizeof canon, &is_null);
	if (why != want)
		fail_msg("type %d: \"%s\" gave %s, want %s", f->type, in, msg_name(why), msg_name(want));
}

static void test_value_text(void **state)
{
	(void)state;
	struct reg_field f = field_of(RT_TEXT);
	char canon[REG_VALUE_MAX + 1];
	int is_null = 0;

	ok(&f, "张三");
	ok(&f, "a b");
	bad(&f, " 张三", MSG_REG_SPACES);
	bad(&f, "张三 ", MSG_REG_SPACES);
	bad(&f, "\xe3\x80\x80张三", MSG_REG_SPACES);    /* ideographic space */
	bad(&f, "张三\xc2\xa0", MSG_REG_SPACES);          /* no-break space */
	bad(&f, "a\x01" "b", MSG_FIELD_BAD_CONTROL);
	bad(&f, "a\nb", MSG_FIELD_BAD_CONTROL);
	bad(&f, "\xff\xfe", MSG_FIELD_BAD_UTF8);
	f.max_chars = 3;
	ok(&f, "一二三");
	bad(&f, "一二三四", MSG_FIELD_TOO_LONG);
	/* empty is NULL; refused only when required */
	assert_int_equal(reg_value_check(&f, "", canon, sizeof canon, &is_null), MSG_NONE);
	assert_int_equal(is_null, 1);
	assert_int_equal(reg_value_check(&f, NULL, canon, sizeof canon, &is_null), MSG_NONE);
	assert_int_equal(is_null, 1);
	f.required = 1;
	assert_int_equal(reg_value_check(&f, "", canon, sizeof canon, &is_null), MSG_REG_REQUIRED);
	assert_int_equal(is_null, 1);
	/* more than REG_VALUE_MAX bytes */
	char *big = malloc(REG_VALUE_MAX + 2);
	memset(big, 'a', REG_VALUE_MAX + 1);
	big[REG_VALUE_MAX + 1] = '\0';
	f.max_chars = 2000;
	bad(&f, big, MSG_REG_TOO_LONG);
	free(big);

	struct reg_field a = field_of(RT_ADDRESS);
	ok(&a, "广东省广州市天河区体育西路 1 号");
	bad(&a, "广州 ", MSG_REG_SPACES);
}

static void test_value_integer(void **state)
{
	(void)state;
	struct reg_field f = field_of(RT_INTEGER);
	ok(&f, "0");
	ok(&f, "-12");
	ok(&f, "305");
	ok_canon(&f, "-0", "0");
	ok(&f, "9223372036854775807");
	ok(&f, "-9223372036854775808");
	bad(&f, "9223372036854775808", MSG_REG_INT_RANGE);
	bad(&f, "-9223372036854775809", MSG_REG_INT_RANGE);
	bad(&f, "12.0", MSG_REG_NOT_INTEGER);
	bad(&f, "1,234", MSG_REG_NOT_INTEGER);
	bad(&f, "007", MSG_REG_NOT_INTEGER);
	bad(&f, "+5", MSG_REG_NOT_INTEGER);
	bad(&f, "1e3", MSG_REG_NOT_INTEGER);
	bad(&f, "-", MSG_REG_NOT_INTEGER);
	bad(&f, " 5", MSG_REG_SPACES);
	bad(&f, "５", MSG_REG_NOT_INTEGER);   /* full-width digit */
}

static void test_value_decimal(void **state)
{
	(void)state;
	struct reg_field f = field_of(RT_DECIMAL);
	char out[64];

	f.scale = 2;
	ok(&f, "1234.50");
	ok_canon(&f, "1234.5", "1234.50");
	ok_canon(&f, "1234", "1234.00");
	ok_canon(&f, "-0.5", "-0.50");
	ok_canon(&f, "-0", "0.00");
	ok(&f, "0.01");
	ok(&f, "92233720368547758.07");
	bad(&f, "92233720368547758.08", MSG_REG_DECIMAL_RANGE);
	bad(&f, "1234.567", MSG_REG_DECIMAL_SCALE);
	bad(&f, "1,234.00", MSG_REG_NOT_DECIMAL);
	bad(&f, ".5", MSG_REG_NOT_DECIMAL);
	bad(&f, "5.", MSG_REG_NOT_DECIMAL);
	bad(&f, "01.5", MSG_REG_NOT_DECIMAL);
	bad(&f, "1.2.3", MSG_REG_NOT_DECIMAL);
	bad(&f, "1e2", MSG_REG_NOT_DECIMAL);
	f.scale = 0;
	ok(&f, "12");
	bad(&f, "12.0", MSG_REG_DECIMAL_SCALE);
	f.scale = 6;
	ok_canon(&f, "3.1", "3.100000");

	/* stored units -> canonical text */
	f.scale = 2;
	reg_value_format(&f, "123450", out, sizeof out);
	assert_string_equal(out, "1234.50");
	reg_value_format(&f, "-5", out, sizeof out);
	assert_string_equal(out, "-0.05");
	reg_value_format(&f, "0", out, sizeof out);
	assert_string_equal(out, "0.00");
	f.scale = 0;
	reg_value_format(&f, "-7", out, sizeof out);
	assert_string_equal(out, "-7");
}

static void test_value_date_enum_bool(void **state)
{
	(void)state;
	struct reg_field d = field_of(RT_DATE);
	ok(&d, "2026-11-22");
	ok(&d, "2024-02-29");
	bad(&d, "2026/11/22", MSG_REG_BAD_DATE);
	bad(&d, "2026-02-30", MSG_REG_BAD_DATE);
	bad(&d, "2026-1-5", MSG_REG_BAD_DATE);
	bad(&d, "2026-11-22T00:00", MSG_REG_BAD_DATE);
	bad(&d, "20261122", MSG_REG_BAD_DATE);

	struct reg_field e = field_of(RT_ENUM);
	char *vals[] = { "男", "女" };
	e.enum_values = vals;
	e.nenum = 2;
	ok(&e, "男");
	ok(&e, "女");
	bad(&e, "M", MSG_REG_BAD_ENUM);
	bad(&e, "男性", MSG_REG_BAD_ENUM);
	bad(&e, "男 ", MSG_REG_SPACES);

	struct reg_field b = field_of(RT_BOOL);
	char out[16];
	ok_canon(&b, "是", "true");
	ok_canon(&b, "否", "false");
	ok_canon(&b, "1", "true");
	ok_canon(&b, "0", "false");
	ok(&b, "true");
	ok(&b, "false");
	bad(&b, "yes", MSG_REG_NOT_BOOLEAN);
	bad(&b, "TRUE", MSG_REG_NOT_BOOLEAN);
	bad(&b, "Y", MSG_REG_NOT_BOOLEAN);
	bad(&b, "2", MSG_REG_NOT_BOOLEAN);
	reg_value_format(&b, "1", out, sizeof out);
	assert_string_equal(out, "true");
	reg_value_format(&b, "0", out, sizeof out);
	assert_string_equal(out, "false");
}

static void test_value_identifiers(void **state)
{
	(void)state;
	struct reg_field f = field_of(RT_IDCARD);
	char id[19], idx[19], bad_id[19];

	make_id(id, "11010119900307", 123);
	ok(&f, id);
	/* one whose check character is X, given with a lower-case x */
	for (int s = 0; s < 1000; s++) {
		make_id(idx, "11010119900307", s);
		if (idx[17] == 'X')
			break;
	}
	assert_int_equal(idx[17], 'X');
	ok(&f, idx);
	idx[17] = 'x';
	bad(&f, idx, MSG_REG_IDCARD_LOWER_X);
	memcpy(bad_id, id, 19);
	bad_id[17] = bad_id[17] == '0' ? '1' : '0';
	bad(&f, bad_id, MSG_IDCARD_CHECK);
	bad(&f, "11010119900307123", MSG_IDCARD_LENGTH);
	bad(&f, "11010119901307123X", MSG_IDCARD_BIRTH);

	struct reg_field u = field_of(RT_USCC);
	char code[19], lower[19], wrong[19];
	make_uscc(code, 100);
	ok(&u, code);
	memcpy(lower, code, 19);
	lower[8] = 'm';
	bad(&u, lower, MSG_REG_USCC_LOWER);
	memcpy(wrong, code, 19);
	wrong[17] = wrong[17] == '0' ? '1' : '0';
	bad(&u, wrong, MSG_USCC_CHECK);
	bad(&u, "9111000", MSG_USCC_LENGTH);
	/* the deployment's allow-list (core/input) accepts a listed pilot code */
	const char *allow[] = { wrong, NULL };
	input_set_uscc_allow(allow);
	ok(&u, wrong);
	input_set_uscc_allow(NULL);
	bad(&u, wrong, MSG_USCC_CHECK);

	struct reg_field p = field_of(RT_PHONE);
	ok(&p, "13812345678");
	ok(&p, "010-12345678");
	ok(&p, "0755-1234567");
	bad(&p, "12345678901", MSG_REG_BAD_PHONE);
	bad(&p, "1381234567", MSG_REG_BAD_PHONE);
	bad(&p, "010-123456", MSG_REG_BAD_PHONE);
	bad(&p, "010-123456789", MSG_REG_BAD_PHONE);
	bad(&p, "01-12345678", MSG_REG_BAD_PHONE);
	bad(&p, "010 12345678", MSG_REG_BAD_PHONE);
	bad(&p, "+8613812345678", MSG_REG_BAD_PHONE);
}

static void test_value_mask(void **state)
{
	(void)state;
	char out[REG_VALUE_MAX + 1];
	struct reg_field f = field_of(RT_IDCARD);

	reg_value_mask(&f, "11010119900307123X", out, sizeof out);
	assert_string_equal(out, "110101********123X");
	f = field_of(RT_PHONE);
	reg_value_mask(&f, "13812345678", out, sizeof out);
	assert_string_equal(out, "138****5678");
	reg_value_mask(&f, "010-12345678", out, sizeof out);
	assert_string_equal(out, "010-****5678");
	f = field_of(RT_TEXT);
	f.personal = 1;
	reg_value_mask(&f, "张三", out, sizeof out);
	assert_string_equal(out, "张*");
	reg_value_mask(&f, "欧阳娜娜", out, sizeof out);
	assert_string_equal(out, "欧**");
	reg_value_mask(&f, "李", out, sizeof out);
	assert_string_equal(out, "李*");
	f = field_of(RT_ADDRESS);
	reg_value_mask(&f, "广东省广州市天河区体育西路1号", out, sizeof out);
	assert_string_equal(out, "广东省广州市****");
	reg_value_mask(&f, "北京", out, sizeof out);
	assert_string_equal(out, "北****");
	f = field_of(RT_DATE);
	reg_value_mask(&f, "1990-03-07", out, sizeof out);
	assert_string_equal(out, "****");
}

/* ------------------------------------------------------------ the world */

static const char POPULATION[] =
	"registry population\n"
	"name 人口库\n"
	"owner psb\n"
	"key id_no\n"
	"share conditional \"经授权后使用\"\n"
	"field id_no 公民身份号码 idcard required source=psb\n"
	"field name 姓名 text(20) required personal source=psb\n"
	"field sex 性别 enum(男|女) source=psb\n"
	"field birth_date 出生日期 date source=psb\n"
	"field phone 联系电话 phone personal source=psb\n"
	"field address 住址 address personal source=psb\n"
	"field children 子女数 integer source=psb\n"
	"field income 年收入 decimal(2) source=psb\n"
	"field married 已婚 boolean source=psb\n";

static const char ENTERPRISE[] =
	"registry enterprise\n"
	"name 法人库\n"
	"owner amr\n"
	"key uscc\n"
	"share conditional \"经授权后使用\"\n"
	"field uscc 统一社会信用代码 uscc required source=amr\n"
	"field name 企业名称 text(100) required source=amr\n"
	"field legal_rep_id 法定代表人身份证号 idcard personal derived=population.id_no\n"
	"field legal_rep_name 法定代表人姓名 text(20) personal derived=population.name\n"
	"field status 登记状态 enum(存续|注销) source=amr\n";

static const char ITEMS[] =
	"registry items\n"
	"name 测试登记簿\n"
	"owner amr\n"
	"key code\n"
	"share unconditional\n"
	"field code 编码 text(20) required source=amr\n"
	"field n 数量 integer index source=amr\n"
	"field note 备注 text(50) source=amr\n";

struct world {
	struct store *st;
	int64_t psb, amr, hrss;
	int64_t amr_admin1, amr_admin2, amr_staff, psb_admin;
	const struct registry *pop, *ent, *items;
};

static struct world W;

static int64_t insert_id(struct store *st, const char *sql, const struct sval *v, int n)
{
	int64_t id = 0;
	assert_int_equal(store_query_int(st, sql, v, n, &id), STORE_OK);
	return id;
}

static const char SQL_DEPT[] = "INSERT INTO departments (code, name, level, created_at, updated_at) "
			       "VALUES ($1, $2, 'city', 0, 0) RETURNING id";
static const char SQL_USER[] = "INSERT INTO users (login, kind, name, password, created_at, "
			       "updated_at) VALUES ($1, 'staff', $2, 'x', 0, 0) RETURNING id";
static const char SQL_ROLE[] = "INSERT INTO user_roles (user_id, dept_id, role, created_at) "
			       "VALUES ($1, $2, $3, 0)";
static const char SQL_MESSAGES[] =
	"SELECT COUNT(*) FROM messages WHERE user_id = $1 AND kind = 'registry.derived'";
static const char SQL_HISTORY_COUNT[] = "SELECT COUNT(*) FROM reg_history WHERE registry_id = $1";

static int64_t add_user(const char *login, const char *name, int64_t dept, const char *role)
{
	struct sval v[] = { SVT(login), SVT(name) };
	int64_t id = insert_id(W.st, SQL_USER, v, 2);
	struct sval r[] = { SVI(id), SVI(dept), SVT(role) };
	assert_int_equal(store_exec(W.st, SQL_ROLE, r, 3, NULL), STORE_OK);
	return id;
}

static const struct reg_actor SYSTEM = { 0, "system", "test:1" };

static const struct registry *apply(const char *text, const char *code)
{
	struct reg_error e = { 0 };
	assert_int_equal(store_begin(W.st), STORE_OK);
	if (registry_apply(W.st, text, strlen(text), &SYSTEM, &e) != 0)
		fail_msg("registry_apply %s: %s %s %s", code, msg_name(e.why), e.field, e.detail);
	assert_int_equal(store_commit(W.st), STORE_OK);
	const struct registry *reg = registry_get(W.st, code);
	assert_non_null(reg);
	return reg;
}

static int setup(void **state)
{
	(void)state;
	memset(&W, 0, sizeof W);
	W.st = test_store_open();
	assert_int_equal(store_migrate(W.st), 0);
	assert_int_equal(store_begin(W.st), STORE_OK);
	struct sval d1[] = { SVT("psb"), SVT("公安局") };
	struct sval d2[] = { SVT("amr"), SVT("市场监督管理局") };
	struct sval d3[] = { SVT("hrss"), SVT("人力资源和社会保障局") };
	W.psb = insert_id(W.st, SQL_DEPT, d1, 2);
	W.amr = insert_id(W.st, SQL_DEPT, d2, 2);
	W.hrss = insert_id(W.st, SQL_DEPT, d3, 2);
	W.amr_admin1 = add_user("li.amr", "李管理", W.amr, "dept_admin");
	W.amr_admin2 = add_user("qian.amr", "钱管理", W.amr, "dept_admin");
	W.amr_staff = add_user("zhang.amr", "张员工", W.amr, "staff");
	W.psb_admin = add_user("zhao.psb", "赵管理", W.psb, "dept_admin");
	assert_int_equal(store_commit(W.st), STORE_OK);
	W.pop = apply(POPULATION, "population");
	W.ent = apply(ENTERPRISE, "enterprise");
	W.items = apply(ITEMS, "items");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	store_close(W.st);
	return 0;
}

/* Puts one record in its own transaction; returns the outcome (or -1, with *e). */
static int put(const struct registry *reg, const char *const *values, const struct reg_actor *who,
	       struct reg_error *e)
{
	int outcome = -1;
	assert_int_equal(store_begin(W.st), STORE_OK);
	if (registry_put(W.st, reg, values, who, &outcome, e) != 0) {
		store_rollback(W.st);
		return -1;
	}
	assert_int_equal(store_commit(W.st), STORE_OK);
	return outcome;
}

static int put_ok(const struct registry *reg, const char *const *values, const struct reg_actor *who)
{
	struct reg_error e = { 0 };
	int outcome = put(reg, values, who, &e);
	if (outcome < 0)
		fail_msg("put refused: %s field %s %s", msg_name(e.why), e.field, e.detail);
	return outcome;
}

static int put_json(const struct registry *reg, const char *json, struct reg_error *e)
{
	json_t *rec = json_loads(json, 0, NULL);
	int outcome = -1, rc;
	assert_non_null(rec);
	assert_int_equal(store_begin(W.st), STORE_OK);
	rc = registry_put_json(W.st, reg, rec, &SYSTEM, &outcome, e);
	json_decref(rec);
	if (rc != 0) {
		store_rollback(W.st);
		return -1;
	}
	assert_int_equal(store_commit(W.st), STORE_OK);
	return outcome;
}

static int64_t q_int(const char *sql, int64_t arg)
{
	struct sval p[] = { SVI(arg) };
	int64_t n = -1;
	assert_int_equal(store_query_int(W.st, sql, p, 1, &n), STORE_OK);
	return n;
}

/* ------------------------------------------------------------ put */

static void test_put_insert_update(void **state)
{
	(void)state;
	char id[19];
	struct reg_error e;
	make_id(id, "44010619900517", 101);
	const char *v1[] = { id, "陈小梅", "女", "1990-05-17", "13812345678", "广东省广州市天河区体育西路1号",
			     "2", "123456.5", "是" };
	int64_t hist0 = q_int(SQL_HISTORY_COUNT, W.pop->id);

	assert_int_equal(put_ok(W.pop, v1, &SYSTEM), 1);
	/* the same values again: unchanged, no history */
	assert_int_equal(put_ok(W.pop, v1, &SYSTEM), 0);
	assert_int_equal(q_int(SQL_HISTORY_COUNT, W.pop->id), hist0);
	/* canonical forms are compared, not the raw text: "1" is "true", 123456.50 = 123456.5 */
	const char *v1b[] = { id, "陈小梅", "女", "1990-05-17", "13812345678", "广东省广州市天河区体育西路1号",
			      "2", "123456.50", "1" };
	assert_int_equal(put_ok(W.pop, v1b, &SYSTEM), 0);

	/* an update of two fields */
	const struct reg_actor clerk = { 7, "zhao.psb", "form:abc" };
	const char *v2[] = { id, "陈小梅", "女", "1990-05-17", "13900001111", "广东省广州市天河区体育西路1号",
			     "3", "123456.5", "是" };
	assert_int_equal(put_ok(W.pop, v2, &clerk), 2);
	assert_int_equal(q_int(SQL_HISTORY_COUNT, W.pop->id), hist0 + 1);

	/* the record, whole */
	struct reg_view all = { NULL, 1 };
	json_t *r = registry_get_record(W.st, W.pop, id, &all);
	assert_non_null(r);
	assert_string_equal(jstr(r, "id_no"), id);
	assert_string_equal(jstr(r, "name"), "陈小梅");
	assert_string_equal(jstr(r, "phone"), "13900001111");
	assert_string_equal(jstr(r, "children"), "3");
	assert_string_equal(jstr(r, "income"), "123456.50");
	assert_string_equal(jstr(r, "married"), "true");
	json_t *meta = json_object_get(r, "_meta");
	assert_int_equal(json_integer_value(json_object_get(meta, "version")), 2);
	assert_string_equal(jstr(meta, "created_by"), "system");
	assert_string_equal(jstr(meta, "created_src"), "test:1");
	assert_string_equal(jstr(meta, "updated_by"), "zhao.psb");
	assert_string_equal(jstr(meta, "updated_src"), "form:abc");
	json_decref(r);

	/* masked, and limited to a view */
	const char *const fields[] = { "id_no", "name", "phone", "address", "sex", NULL };
	struct reg_view masked = { fields, 0 };
	r = registry_get_record(W.st, W.pop, id, &masked);
	assert_non_null(r);
	char want[19];
	idcard_mask(id, want);
	assert_string_equal(jstr(r, "id_no"), want);
	assert_string_equal(jstr(r, "name"), "陈**");
	assert_string_equal(jstr(r, "phone"), "139****1111");
	assert_string_equal(jstr(r, "address"), "广东省广州市****");
	assert_string_equal(jstr(r, "sex"), "女");
	assert_null(json_object_get(r, "income"));
	assert_null(json_object_get(r, "birth_date"));
	json_decref(r);

	/* the history: created, then one update with old and new */
	json_t *h = registry_history(W.st, W.pop, id, &all);
	assert_non_null(h);
	assert_string_equal(jstr(json_object_get(h, "created"), "by"), "system");
	json_t *changes = json_object_get(h, "changes");
	assert_int_equal(json_array_size(changes), 1);
	json_t *c0 = json_array_get(changes, 0);
	assert_int_equal(json_integer_value(json_object_get(c0, "version")), 2);
	assert_string_equal(jstr(c0, "op"), "update");
	assert_string_equal(jstr(c0, "by"), "zhao.psb");
	assert_string_equal(jstr(c0, "source"), "form:abc");
	json_t *cc = json_object_get(c0, "changes");
	assert_int_equal(json_object_size(cc), 2);
	assert_string_equal(jstr(json_object_get(cc, "phone"), "old"), "13812345678");
	assert_string_equal(jstr(json_object_get(cc, "phone"), "new"), "13900001111");
	assert_string_equal(jstr(json_object_get(cc, "children"), "old"), "2");
	assert_string_equal(jstr(json_object_get(cc, "children"), "new"), "3");
	json_decref(h);
	/* masked history hides the old phone too */
	h = registry_history(W.st, W.pop, id, &masked);
	cc = json_object_get(json_array_get(json_object_get(h, "changes"), 0), "changes");
	assert_string_equal(jstr(json_object_get(cc, "phone"), "old"), "138****5678");
	assert_null(json_object_get(cc, "children"));
	json_decref(h);

	/* clearing a field is a change to null */
	const char *v3[] = { id, "陈小梅", "女", "1990-05-17", NULL, "广东省广州市天河区体育西路1号",
			     "3", "123456.5", "是" };
	assert_int_equal(put_ok(W.pop, v3, &SYSTEM), 2);
	r = registry_get_record(W.st, W.pop, id, &all);
	assert_true(json_is_null(json_object_get(r, "phone")));
	json_decref(r);

	/* a bad value: refused naming the field, nothing written */
	int64_t before = registry_count(W.st, W.pop);
	char id2[19];
	make_id(id2, "44010619900517", 102);
	const char *vb[] = { id2, "王五", "男", "1990/05/17", NULL, NULL, NULL, NULL, NULL };
	memset(&e, 0, sizeof e);
	assert_int_equal(put(W.pop, vb, &SYSTEM, &e), -1);
	assert_int_equal(e.why, MSG_REG_BAD_DATE);
	assert_string_equal(e.field, "birth_date");
	assert_int_equal(registry_count(W.st, W.pop), before);
	const char *vc[] = { id2, NULL, "男", NULL, NULL, NULL, NULL, NULL, NULL };
	assert_int_equal(put(W.pop, vc, &SYSTEM, &e), -1);
	assert_int_equal(e.why, MSG_REG_REQUIRED);
	assert_string_equal(e.field, "name");
	const char *vd[] = { id2, "王五", "未知", NULL, NULL, NULL, NULL, NULL, NULL };
	assert_int_equal(put(W.pop, vd, &SYSTEM, &e), -1);
	assert_int_equal(e.why, MSG_REG_BAD_ENUM);
	assert_string_equal(e.field, "sex");
	assert_non_null(strstr(e.detail, "男、女"));
	const char *ve[] = { id2, "王五", NULL, NULL, NULL, NULL, NULL, "1.234", NULL };
	assert_int_equal(put(W.pop, ve, &SYSTEM, &e), -1);
	assert_int_equal(e.why, MSG_REG_DECIMAL_SCALE);
	assert_string_equal(e.field, "income");
	const char *vf[] = { NULL, "王五", NULL, NULL, NULL, NULL, NULL, NULL, NULL };
	assert_int_equal(put(W.pop, vf, &SYSTEM, &e), -1);
	assert_int_equal(e.why, MSG_REG_REQUIRED);
	assert_string_equal(e.field, "id_no");
	assert_int_equal(registry_count(W.st, W.pop), before);
	assert_null(registry_get_record(W.st, W.pop, id2, &all));
}

static void test_put_json(void **state)
{
	(void)state;
	struct reg_error e;
	char id[19], js[512];
	make_id(id, "44010619850101", 201);

	snprintf(js, sizeof js,
		 "{\"id_no\":\"%s\",\"name\":\"李四\",\"children\":2,\"income\":100,"
		 "\"married\":false,\"phone\":null}", id);
	assert_int_equal(put_json(W.pop, js, &e), 1);
	struct reg_view all = { NULL, 1 };
	json_t *r = registry_get_record(W.st, W.pop, id, &all);
	assert_string_equal(jstr(r, "income"), "100.00");
	assert_string_equal(jstr(r, "married"), "false");
	assert_string_equal(jstr(r, "children"), "2");
	json_decref(r);
	snprintf(js, sizeof js, "{\"id_no\":\"%s\",\"name\":\"李四\",\"income\":\"100.25\",\"married\":1}", id);
	assert_int_equal(put_json(W.pop, js, &e), 2);

	snprintf(js, sizeof js, "{\"id_no\":\"%s\",\"name\":\"李四\",\"nickname\":\"小李\"}", id);
	assert_int_equal(put_json(W.pop, js, &e), -1);
	assert_int_equal(e.why, MSG_REG_UNKNOWN_FIELD);
	assert_string_equal(e.field, "nickname");
	snprintf(js, sizeof js, "{\"id_no\":\"%s\",\"name\":\"李四\",\"income\":100.5}", id);
	assert_int_equal(put_json(W.pop, js, &e), -1);
	assert_int_equal(e.why, MSG_REG_DECIMAL_AS_TEXT);
	assert_string_equal(e.field, "income");
	snprintf(js, sizeof js, "{\"id_no\":\"%s\",\"name\":123}", id);
	assert_int_equal(put_json(W.pop, js, &e), -1);
	assert_int_equal(e.why, MSG_REG_JSON_TYPE);
	assert_string_equal(e.field, "name");
	snprintf(js, sizeof js, "{\"id_no\":\"%s\",\"name\":\"李四\",\"married\":\"maybe\"}", id);
	assert_int_equal(put_json(W.pop, js, &e), -1);
	assert_int_equal(e.why, MSG_REG_NOT_BOOLEAN);
	snprintf(js, sizeof js, "{\"id_no\":\"%s\",\"name\":\"李四\",\"sex\":[\"男\"]}", id);
	assert_int_equal(put_json(W.pop, js, &e), -1);
	assert_int_equal(e.why, MSG_REG_JSON_TYPE);
	assert_string_equal(e.field, "sex");
	assert_int_equal(put_json(W.pop, "[1,2]", &e), -1);
	assert_int_equal(e.why, MSG_REG_NOT_OBJECT);
	/* the refused puts changed nothing */
	r = registry_get_record(W.st, W.pop, id, &all);
	assert_string_equal(jstr(r, "income"), "100.25");
	assert_string_equal(jstr(r, "married"), "true");
	json_decref(r);
}

/* ------------------------------------------------------------ query, exists, count */

static void fill_items(int from, int to)
{
	char code[16], n[16], note[64];
	assert_int_equal(store_begin(W.st), STORE_OK);
	for (int i = from; i < to; i++) {
		snprintf(code, sizeof code, "k%05d", i);
		snprintf(n, sizeof n, "%d", i % 10);
		snprintf(note, sizeof note, i % 3 == 0 ? "苹果%d" : "香蕉%d", i);
		/* every 7th has no n (NULL) */
		const char *v[] = { code, i % 7 == 0 ? NULL : n, note };
		int outcome = -1;
		struct reg_error e;
		assert_int_equal(registry_put(W.st, W.items, v, &SYSTEM, &outcome, &e), 0);
		assert_int_equal(outcome, 1);
	}
	assert_int_equal(store_commit(W.st), STORE_OK);
}

static int query_count(const struct reg_filter *f, int nf, int limit)
{
	struct reg_error e;
	int total = 0, pages = 0;
	int64_t after = 0;
	for (;;) {
		json_t *page = registry_query(W.st, W.items, f, nf, after, limit, NULL, &e);
		if (page == NULL)
			fail_msg("query: %s %s", msg_name(e.why), e.field);
		int n = (int)json_array_size(json_object_get(page, "items"));
		assert_true(n <= limit);
		total += n;
		pages++;
		json_t *next = json_object_get(page, "next");
		if (json_is_null(next)) {
			json_decref(page);
			break;
		}
		assert_int_equal(n, limit);
		after = json_integer_value(next);
		json_decref(page);
		assert_true(pages < 1000);
	}
	return total;
}

static void test_query(void **state)
{
	(void)state;
	struct reg_error e;
	fill_items(0, 100);
	assert_int_equal(registry_count(W.st, W.items), 100);

	assert_int_equal(query_count(NULL, 0, 7), 100);
	assert_int_equal(query_count(NULL, 0, 100), 100);
	assert_int_equal(query_count(NULL, 0, 500), 100);

	struct reg_filter eq = { "n", RO_EQ, "3" };
	/* i % 10 == 3 and i % 7 != 0: 3,13,23,33,43,53,73,83,93 (63 is a multiple of 7) */
	assert_int_equal(query_count(&eq, 1, 4), 9);
	struct reg_filter isnull = { "n", RO_EQ, "" };
	assert_int_equal(query_count(&isnull, 1, 10), 15);   /* 0,7,...,98 */
	struct reg_filter range[] = { { "n", RO_GE, "8" }, { "n", RO_LE, "9" } };
	/* 8,9,18,19,...,98,99 = 20, less the multiples of 7 among them: 28, 49, 98 */
	assert_int_equal(query_count(range, 2, 6), 17);
	struct reg_filter prefix = { "note", RO_PREFIX, "苹果" };
	assert_int_equal(query_count(&prefix, 1, 5), 34);   /* i % 3 == 0: 0..99 */
	struct reg_filter prefix2 = { "note", RO_PREFIX, "苹果1" };
	/* 苹果1x: 12,15,18 and 苹果1xx none below 100 */
	assert_int_equal(query_count(&prefix2, 1, 5), 3);
	struct reg_filter prefix3 = { "code", RO_PREFIX, "k0009" };
	assert_int_equal(query_count(&prefix3, 1, 5), 10);
	struct reg_filter both[] = { { "note", RO_PREFIX, "香蕉" }, { "n", RO_EQ, "1" } };
	/* i % 10 == 1, i % 3 != 0, i % 7 != 0: 1,11,31,41,61,71,91 less 21,51,81 (÷3) */
	assert_int_equal(query_count(both, 2, 3), 6);

	/* the records are limited to the view */
	const char *const fields[] = { "code", NULL };
	struct reg_view v = { fields, 1 };
	json_t *page = registry_query(W.st, W.items, &eq, 1, 0, 2, &v, &e);
	json_t *it = json_array_get(json_object_get(page, "items"), 0);
	assert_string_equal(jstr(it, "code"), "k00003");
	assert_int_equal(json_object_size(it), 1);
	json_decref(page);

	/* refused filters */
	struct reg_filter f1 = { "nope", RO_EQ, "1" };
	assert_null(registry_query(W.st, W.items, &f1, 1, 0, 10, NULL, &e));
	assert_int_equal(e.why, MSG_REG_UNKNOWN_FIELD);
	assert_string_equal(e.field, "nope");
	struct reg_filter f2 = { "note", RO_GE, "a" };
	assert_null(registry_query(W.st, W.items, &f2, 1, 0, 10, NULL, &e));
	assert_int_equal(e.why, MSG_REG_BAD_OP);
	assert_string_equal(e.field, "note");
	struct reg_filter f3 = { "n", RO_PREFIX, "1" };
	assert_null(registry_query(W.st, W.items, &f3, 1, 0, 10, NULL, &e));
	assert_int_equal(e.why, MSG_REG_BAD_OP);
	struct reg_filter f4 = { "n", RO_EQ, "1.5" };
	assert_null(registry_query(W.st, W.items, &f4, 1, 0, 10, NULL, &e));
	assert_int_equal(e.why, MSG_REG_NOT_INTEGER);
	assert_string_equal(e.field, "n");
	assert_null(registry_query(W.st, W.items, NULL, 0, 0, 0, NULL, &e));
	assert_int_equal(e.why, MSG_REG_BAD_LIMIT);
	assert_null(registry_query(W.st, W.items, NULL, 0, 0, 501, NULL, &e));
	assert_int_equal(e.why, MSG_REG_BAD_LIMIT);
	struct reg_filter many[9];
	for (int i = 0; i < 9; i++)
		many[i] = eq;
	assert_null(registry_query(W.st, W.items, many, 9, 0, 10, NULL, &e));
	assert_int_equal(e.why, MSG_REG_TOO_MANY_FILTERS);

	/* exists */
	assert_int_equal(registry_exists(W.st, W.items, "code", "k00042", &e), 1);
	assert_int_equal(registry_exists(W.st, W.items, "code", "k99999", &e), 0);
	assert_int_equal(registry_exists(W.st, W.items, "n", "9", &e), 1);
	assert_int_equal(registry_exists(W.st, W.items, "n", "10", &e), 0);
	assert_int_equal(registry_exists(W.st, W.items, "n", "x", &e), -1);
	assert_int_equal(e.why, MSG_REG_NOT_INTEGER);
	assert_int_equal(registry_exists(W.st, W.items, "zz", "1", &e), -1);
	assert_int_equal(e.why, MSG_REG_UNKNOWN_FIELD);
}

static void test_query_prefix_decimal_date(void **state)
{
	(void)state;
	/* ranges on decimal and date of the population registry, and a Chinese prefix */
	char id[19];
	struct reg_error e;
	for (int i = 0; i < 10; i++) {
		char inc[16], bd[16];
		make_id(id, "31010119800101", 300 + i);
		snprintf(inc, sizeof inc, "%d.5", 1000 * i);
		snprintf(bd, sizeof bd, "2000-01-%02d", i + 1);
		const char *v[] = { id, i < 5 ? "赵一" : "赵二", "男", bd, NULL, NULL, NULL, inc, NULL };
		put_ok(W.pop, v, &SYSTEM);
	}
	struct reg_filter f[] = { { "income", RO_GE, "3000.5" }, { "income", RO_LE, "6000.50" },
				  { "birth_date", RO_GE, "2000-01-01" }, { "birth_date", RO_LE, "2000-01-10" } };
	json_t *page = registry_query(W.st, W.pop, f, 4, 0, 100, NULL, &e);
	assert_non_null(page);
	assert_int_equal(json_array_size(json_object_get(page, "items")), 4);   /* 3,4,5,6 */
	json_decref(page);
	struct reg_filter p = { "name", RO_PREFIX, "赵二" };
	page = registry_query(W.st, W.pop, &p, 1, 0, 100, NULL, &e);
	assert_int_equal(json_array_size(json_object_get(page, "items")), 5);
	/* a view without the right masks personal fields */
	assert_string_equal(jstr(json_array_get(json_object_get(page, "items"), 0), "name"), "赵*");
	json_decref(page);
	struct reg_filter pz = { "name", RO_PREFIX, "赵" };
	page = registry_query(W.st, W.pop, &pz, 1, 0, 100, NULL, &e);
	assert_int_equal(json_array_size(json_object_get(page, "items")), 10);
	json_decref(page);
	struct reg_filter bd = { "birth_date", RO_GE, "2000/01/01" };
	assert_null(registry_query(W.st, W.pop, &bd, 1, 0, 10, NULL, &e));
	assert_int_equal(e.why, MSG_REG_BAD_DATE);
}

/* ------------------------------------------------------------ scan */

struct scan_state {
	int rows, nulls_seen, nonnull_seen, order_bad, stop_at;
	char last_key[64];
	long long last_n;
	char *seen;       /* per item number */
};

static int scan_by_key(void *arg, const char *const *v)
{
	struct scan_state *s = arg;
	if (s->rows > 0 && strcmp(s->last_key, v[0]) >= 0)
		s->order_bad++;
	snprintf(s->last_key, sizeof s->last_key, "%s", v[0]);
	int i = (int)strtol(v[0] + 1, NULL, 10);
	s->seen[i]++;
	s->rows++;
	return s->stop_at && s->rows == s->stop_at ? 42 : 0;
}

static int scan_by_n(void *arg, const char *const *v)
{
	struct scan_state *s = arg;
	if (v[1] == NULL) {
		if (s->nonnull_seen)
			s->order_bad++;   /* NULLs come first */
		s->nulls_seen++;
	} else {
		long long n = strtoll(v[1], NULL, 10);
		if (s->nonnull_seen && n < s->last_n)
			s->order_bad++;
		s->last_n = n;
		s->nonnull_seen++;
	}
	s->seen[strtol(v[0] + 1, NULL, 10)]++;
	s->rows++;
	return 0;
}

static void test_scan(void **state)
{
	(void)state;
	const int total = 12000;
	/* the query test put 0..99; add the rest */
	clock_t t0 = clock();
	fill_items(100, total);
	double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
	fprintf(stderr, "# %d puts in %.2f s CPU (asan build)\n", total - 100, secs);
	assert_int_equal(registry_count(W.st, W.items), total);

	struct scan_state s;
	memset(&s, 0, sizeof s);
	s.seen = calloc((size_t)total, 1);
	assert_int_equal(registry_scan(W.st, W.items, NULL, scan_by_key, &s), 0);
	assert_int_equal(s.rows, total);
	assert_int_equal(s.order_bad, 0);
	for (int i = 0; i < total; i++)
		assert_int_equal(s.seen[i], 1);

	memset(s.seen, 0, (size_t)total);
	s.rows = 0;
	s.stop_at = 5001;
	assert_int_equal(registry_scan(W.st, W.items, "code", scan_by_key, &s), 42);
	assert_int_equal(s.rows, 5001);

	memset(s.seen, 0, (size_t)total);
	memset(&s, 0, offsetof(struct scan_state, seen));
	assert_int_equal(registry_scan(W.st, W.items, "n", scan_by_n, &s), 0);
	assert_int_equal(s.rows, total);
	assert_int_equal(s.order_bad, 0);
	assert_int_equal(s.nulls_seen, (total + 6) / 7);
	for (int i = 0; i < total; i++)
		assert_int_equal(s.seen[i], 1);
	assert_int_equal(registry_scan(W.st, W.items, "nope", scan_by_n, &s), -1);
	free(s.seen);
}

/* ------------------------------------------------------------ delete */

static void test_delete(void **state)
{
	(void)state;
	struct reg_view all = { NULL, 1 };
	char id[19];
	make_id(id, "44010619700101", 401);
	const char *v[] = { id, "周六", "男", NULL, NULL, NULL, NULL, NULL, NULL };
	assert_int_equal(put_ok(W.pop, v, &SYSTEM), 1);
	const char *v2[] = { id, "周六六", "男", NULL, NULL, NULL, NULL, NULL, NULL };
	assert_int_equal(put_ok(W.pop, v2, &SYSTEM), 2);

	const struct reg_actor who = { 9, "zhao.psb", "form:del" };
	assert_int_equal(store_begin(W.st), STORE_OK);
	assert_int_equal(registry_delete(W.st, W.pop, id, &who), 0);
	assert_int_equal(store_commit(W.st), STORE_OK);
	assert_null(registry_get_record(W.st, W.pop, id, &all));
	struct reg_error e;
	assert_int_equal(registry_exists(W.st, W.pop, "id_no", id, &e), 0);
	assert_int_equal(store_begin(W.st), STORE_OK);
	assert_int_equal(registry_delete(W.st, W.pop, id, &who), 1);
	assert_int_equal(registry_delete(W.st, W.pop, "not-a-key", &who), 1);
	store_rollback(W.st);

	json_t *h = registry_history(W.st, W.pop, id, &all);
	assert_non_null(h);
	assert_true(json_is_null(json_object_get(h, "created")));
	json_t *ch = json_object_get(h, "changes");
	assert_int_equal(json_array_size(ch), 2);
	json_t *d = json_array_get(ch, 0);   /* newest first */
	assert_string_equal(jstr(d, "op"), "delete");
	assert_int_equal(json_integer_value(json_object_get(d, "version")), 3);
	assert_string_equal(jstr(d, "by"), "zhao.psb");
	json_t *name = json_object_get(json_object_get(d, "changes"), "name");
	assert_string_equal(jstr(name, "old"), "周六六");
	assert_true(json_is_null(json_object_get(name, "new")));
	assert_string_equal(jstr(json_array_get(ch, 1), "op"), "update");
	json_decref(h);

	/* it may come back: a new record, version 1 */
	assert_int_equal(put_ok(W.pop, v, &SYSTEM), 1);
	json_t *r = registry_get_record(W.st, W.pop, id, &all);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "_meta"), "version")), 1);
	json_decref(r);
	make_id(id, "44010619700101", 402);
	assert_null(registry_history(W.st, W.pop, id, &all));
}

/* ------------------------------------------------------------ access log */

static void test_access_log(void **state)
{
	(void)state;
	struct keys k;
	char id[19], hash[65];
	memset(&k, 7, sizeof k);
	make_id(id, "44010619900517", 101);
	account_ident_hash(&k, id, hash);

	struct reg_access a = { .dept_id = W.amr, .actor_id = W.amr_staff, .actor = "zhang.amr",
				.registry = "population", .subject = id, .purpose = "企业登记核验法定代表人",
				.basis = "grant:1", .fields = "name,id_no", .via = "api" };
	/* outside a transaction: its own */
	assert_int_equal(reg_access_log(W.st, &k, &a), 0);
	assert_int_equal(store_begin(W.st), STORE_OK);
	a.via = "page";
	a.dept_id = W.hrss;
	assert_int_equal(reg_access_log(W.st, &k, &a), 0);
	a.via = "verify";
	assert_int_equal(reg_access_log(W.st, &k, &a), 0);
	assert_int_equal(store_commit(W.st), STORE_OK);
	/* bad arguments */
	struct reg_access b = a;
	b.purpose = "";
	assert_int_equal(reg_access_log(W.st, &k, &b), -1);
	b = a;
	b.via = "mail";
	assert_int_equal(reg_access_log(W.st, &k, &b), -1);
	b = a;
	char longp[700];
	memset(longp, 0, sizeof longp);
	for (int i = 0; i < 201; i++)
		memcpy(longp + 3 * i, "用", 3);
	b.purpose = longp;
	assert_int_equal(reg_access_log(W.st, &k, &b), -1);
	b = a;
	b.dept_id = 0;
	assert_int_equal(reg_access_log(W.st, &k, &b), -1);
	/* another subject, and none */
	b = a;
	b.subject = "91110000MA0000017X";
	assert_int_equal(reg_access_log(W.st, &k, &b), 0);
	b.subject = NULL;
	assert_int_equal(reg_access_log(W.st, &k, &b), 0);

	json_t *page = reg_access_of_subject(W.st, hash, 0, 2);
	assert_non_null(page);
	json_t *items = json_object_get(page, "items");
	assert_int_equal(json_array_size(items), 2);
	json_t *first = json_array_get(items, 0);
	assert_string_equal(jstr(first, "via"), "verify");     /* newest first */
	assert_string_equal(jstr(first, "dept_name"), "人力资源和社会保障局");
	assert_string_equal(jstr(first, "registry_name"), "人口库");
	assert_string_equal(jstr(first, "purpose"), "企业登记核验法定代表人");
	assert_string_equal(jstr(first, "basis"), "grant:1");
	assert_string_equal(jstr(first, "fields"), "name,id_no");
	assert_string_equal(jstr(first, "actor"), "zhang.amr");
	assert_false(json_is_null(json_object_get(page, "next")));
	int64_t next = json_integer_value(json_object_get(page, "next"));
	json_decref(page);
	page = reg_access_of_subject(W.st, hash, next, 2);
	items = json_object_get(page, "items");
	assert_int_equal(json_array_size(items), 1);
	assert_string_equal(jstr(json_array_get(items, 0), "via"), "api");
	assert_string_equal(jstr(json_array_get(items, 0), "dept_name"), "市场监督管理局");
	assert_true(json_is_null(json_object_get(page, "next")));
	json_decref(page);
	/* the clear identifier is not stored */
	struct sval p[] = { SVT(id) };
	int64_t n = -1;
	assert_int_equal(store_query_int(W.st, "SELECT COUNT(*) FROM reg_access WHERE subject_hash = $1",
					 p, 1, &n), STORE_OK);
	assert_int_equal(n, 0);
}

/* ------------------------------------------------------------ derived copies */

static void test_derived_notify(void **state)
{
	(void)state;
	char id[19], id2[19], code[19];
	make_id(id, "11010119751231", 501);
	make_id(id2, "11010119751231", 502);
	make_uscc(code, 501);
	const char *p1[] = { id, "吴七", "男", NULL, NULL, NULL, NULL, NULL, NULL };
	const char *p2[] = { id2, "郑八", "女", NULL, NULL, NULL, NULL, NULL, NULL };
	const char *e1[] = { code, "华信科技有限公司", id, "吴七", "存续" };
	int64_t a1 = q_int(SQL_MESSAGES, W.amr_admin1), a2 = q_int(SQL_MESSAGES, W.amr_admin2);
	int64_t s0 = q_int(SQL_MESSAGES, W.amr_staff), pa = q_int(SQL_MESSAGES, W.psb_admin);

	/* inserts notify nobody */
	const struct reg_actor imp1 = { 0, "system", "import:11" };
	assert_int_equal(put_ok(W.pop, p1, &imp1), 1);
	assert_int_equal(put_ok(W.pop, p2, &imp1), 1);
	assert_int_equal(put_ok(W.ent, e1, &SYSTEM), 1);
	assert_int_equal(q_int(SQL_MESSAGES, W.amr_admin1), a1);

	/* an authoritative change (population.name) notifies the admins of amr,
	 * which owns enterprise (legal_rep_name derived=population.name) */
	const char *p1b[] = { id, "吴七七", "男", NULL, NULL, NULL, NULL, NULL, NULL };
	assert_int_equal(put_ok(W.pop, p1b, &imp1), 2);
	assert_int_equal(q_int(SQL_MESSAGES, W.amr_admin1), a1 + 1);
	assert_int_equal(q_int(SQL_MESSAGES, W.amr_admin2), a2 + 1);
	assert_int_equal(q_int(SQL_MESSAGES, W.amr_staff), s0);     /* staff are not told */
	assert_int_equal(q_int(SQL_MESSAGES, W.psb_admin), pa);     /* psb owns no copy */

	struct sval up[] = { SVI(W.amr_admin1) };
	struct store_res *res = NULL;
	assert_int_equal(store_query(W.st, "SELECT title, body, link, dedup FROM messages WHERE user_id = $1 "
				     "AND kind = 'registry.derived' ORDER BY id DESC", up, 1, &res), STORE_OK);
	assert_string_equal(store_res_text(res, 0, 0), msg(MSG_REG_NOTIFY_DERIVED_TITLE));
	const char *body = store_res_text(res, 0, 1);
	char masked[19];
	idcard_mask(id, masked);
	assert_non_null(strstr(body, "人口库"));
	assert_non_null(strstr(body, "姓名"));
	assert_non_null(strstr(body, "法人库"));
	assert_non_null(strstr(body, "法定代表人姓名"));
	assert_non_null(strstr(body, masked));
	assert_null(strstr(body, id));                       /* never the whole identifier */
	assert_string_equal(store_res_text(res, 0, 2), "/share/registries/population");
	assert_string_equal(store_res_text(res, 0, 3), "regchg:population:name:amr:import:11");
	store_res_free(res);

	/* the same import changing another person: one message per department and source */
	const char *p2b[] = { id2, "郑八八", "女", NULL, NULL, NULL, NULL, NULL, NULL };
	assert_int_equal(put_ok(W.pop, p2b, &imp1), 2);
	assert_int_equal(q_int(SQL_MESSAGES, W.amr_admin1), a1 + 1);
	/* a change of a field nobody copies (sex) notifies nobody */
	const char *p2c[] = { id2, "郑八八", "男", NULL, NULL, NULL, NULL, NULL, NULL };
	assert_int_equal(put_ok(W.pop, p2c, &SYSTEM), 2);
	assert_int_equal(q_int(SQL_MESSAGES, W.amr_admin1), a1 + 1);
	/* another source is another message */
	const struct reg_actor imp2 = { 0, "system", "import:12" };
	const char *p1c[] = { id, "吴七", "男", NULL, NULL, NULL, NULL, NULL, NULL };
	assert_int_equal(put_ok(W.pop, p1c, &imp2), 2);
	assert_int_equal(q_int(SQL_MESSAGES, W.amr_admin1), a1 + 2);
	assert_int_equal(q_int(SQL_MESSAGES, W.amr_admin2), a2 + 2);
	/* changing the copy itself (derived) notifies nobody */
	const char *e1b[] = { code, "华信科技有限公司", id, "吴七七", "存续" };
	assert_int_equal(put_ok(W.ent, e1b, &imp2), 2);
	assert_int_equal(q_int(SQL_MESSAGES, W.amr_admin1), a1 + 2);
	assert_int_equal(q_int(SQL_MESSAGES, W.psb_admin), pa);
}

int main(void)
{
	const struct CMUnitTest values[] = {
		cmocka_unit_test(test_value_text),
		cmocka_unit_test(test_value_integer),
		cmocka_unit_test(test_value_decimal),
		cmocka_unit_test(test_value_date_enum_bool),
		cmocka_unit_test(test_value_identifiers),
		cmocka_unit_test(test_value_mask),
	};
	const struct CMUnitTest records[] = {
		cmocka_unit_test(test_put_insert_update),
		cmocka_unit_test(test_put_json),
		cmocka_unit_test(test_query),
		cmocka_unit_test(test_query_prefix_decimal_date),
		cmocka_unit_test(test_scan),
		cmocka_unit_test(test_delete),
		cmocka_unit_test(test_access_log),
		cmocka_unit_test(test_derived_notify),
	};
	int failed = cmocka_run_group_tests_name("registry values", values, NULL, NULL);
	failed += cmocka_run_group_tests_name("registry records", records, setup, teardown);
	return failed;
}
