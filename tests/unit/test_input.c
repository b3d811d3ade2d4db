/*
 * Unit tests of core/input: form and JSON bodies, the field check against
 * a spec, cookies and percent-decoding.
 */
#include "testutil.h"

#include "core/input.h"
#include "core/validate.h"

/* ------------------------------------------------------------ helpers */

static json_t *form_ok(const char *s)
{
	struct input_error err;
	json_t *o = NULL;

	assert_int_equal(form_parse(s, strlen(s), &o, &err), 0);
	assert_non_null(o);
	assert_int_equal(err.msg, MSG_NONE);
	return o;
}

/* Expects form_parse to refuse s with status, msg and field. */
static void form_bad(const char *s, size_t len, int status, enum msg_id id, const char *field)
{
	struct input_error err;
	json_t *o = (json_t *)&err;     /* must come back NULL */

	assert_int_equal(form_parse(s, len, &o, &err), -1);
	assert_null(o);
	assert_int_equal(err.status, status);
	assert_string_equal(msg_name(err.msg), msg_name(id));
	assert_string_equal(err.field, field);
}

static void json_bad(const char *s, size_t len, enum msg_id id, const char *field)
{
	struct input_error err;
	json_t *o = (json_t *)&err;

	assert_int_equal(json_body_parse(s, len, &o, &err), -1);
	assert_null(o);
	assert_int_equal(err.status, 400);
	assert_string_equal(msg_name(err.msg), msg_name(id));
	assert_string_equal(err.field, field);
}

static json_t *json_ok(const char *s)
{
	struct input_error err;
	json_t *o = NULL;

	assert_int_equal(json_body_parse(s, strlen(s), &o, &err), 0);
	assert_true(json_is_object(o));
	return o;
}

static const char *str(const json_t *o, const char *k)
{
	const char *v = json_string_value(json_object_get(o, k));
	assert_non_null(v);
	return v;
}

/* ------------------------------------------------------------ url_decode */

static void test_url_decode(void **state)
{
	char b[64];
	size_t n;

	(void)state;
	memcpy(b, "a%20b+c%E4%b8%ad", 17);
	n = 16;
	assert_int_equal(url_decode(b, &n, 1), 0);
	assert_int_equal(n, 8);
	assert_memory_equal(b, "a b c中", 8);
	memcpy(b, "a+b", 4);
	n = 3;
	assert_int_equal(url_decode(b, &n, 0), 0);
	assert_memory_equal(b, "a+b", 3);
	static const char *const bad[] = { "%", "%2", "a%2", "%zz", "%2g", "%g2", "100%", NULL };
	for (int i = 0; bad[i] != NULL; i++) {
		n = strlen(bad[i]);
		memcpy(b, bad[i], n + 1);
		assert_int_equal(url_decode(b, &n, 1), -1);
	}
	n = 0;
	assert_int_equal(url_decode(b, &n, 1), 0);
	assert_int_equal(n, 0);
}

/* ------------------------------------------------------------ form_parse */

static void test_form_basic(void **state)
{
	json_t *o;

	(void)state;
	o = form_ok("name=%E5%BC%A0%E4%B8%89&note=a+b%2Bc&empty=&flag&x.y-z_1=1");
	assert_int_equal(json_object_size(o), 5);
	assert_string_equal(str(o, "name"), "张三");
	assert_string_equal(str(o, "note"), "a b+c");
	assert_string_equal(str(o, "empty"), "");
	assert_string_equal(str(o, "flag"), "");
	assert_string_equal(str(o, "x.y-z_1"), "1");
	json_decref(o);

	o = form_ok("");
	assert_int_equal(json_object_size(o), 0);
	json_decref(o);
	o = form_ok("&&a=1&&");
	assert_int_equal(json_object_size(o), 1);
	json_decref(o);
	o = form_ok("a=x=y");
	assert_string_equal(str(o, "a"), "x=y");
	json_decref(o);
	o = form_ok("a=中文raw");           /* raw UTF-8 is as good as escaped */
	assert_string_equal(str(o, "a"), "中文raw");
	json_decref(o);

	struct input_error err;
	assert_int_equal(form_parse(NULL, 0, &o, &err), 0);
	assert_int_equal(json_object_size(o), 0);
	json_decref(o);
}

static void test_form_errors(void **state)
{
	char big[2048];
	size_t p = 0;

	(void)state;
	form_bad("a=1&b=2&a=3", 11, 400, MSG_FIELD_DUPLICATE, "a");
	form_bad("a=1&%61=2", 9, 400, MSG_FIELD_DUPLICATE, "a");      /* same key once decoded */
	form_bad("a=%zz", 5, 400, MSG_BODY_BAD_FORM, "a");
	form_bad("a=%4", 4, 400, MSG_BODY_BAD_FORM, "a");
	form_bad("a%=1", 4, 400, MSG_BODY_BAD_FORM, "");
	form_bad("a=x%00y", 7, 400, MSG_FIELD_BAD_CONTROL, "a");
	form_bad("a=x\0y", 5, 400, MSG_FIELD_BAD_CONTROL, "a");
	form_bad("a%00=1", 6, 400, MSG_BODY_BAD_FORM, "");
	form_bad("a=%C0%80", 8, 400, MSG_FIELD_BAD_UTF8, "a");
	form_bad("a=%ED%A0%80", 11, 400, MSG_FIELD_BAD_UTF8, "a");
	form_bad("a=%E4%B8", 8, 400, MSG_FIELD_BAD_UTF8, "a");
	form_bad("a=\xff", 3, 400, MSG_FIELD_BAD_UTF8, "a");
	form_bad("%FF=1", 5, 400, MSG_FIELD_BAD_UTF8, "");
	form_bad("=1", 2, 400, MSG_BODY_BAD_FORM, "");
	form_bad("a+b=1", 5, 400, MSG_BODY_BAD_FORM, "");
	form_bad("a[]=1", 5, 400, MSG_BODY_BAD_FORM, "");
	form_bad("%E5%A7%93%E5%90%8D=1", 20, 400, MSG_BODY_BAD_FORM, "");   /* 姓名 as a key */

	/* 63-byte keys are fine, 64 are not */
	memset(big, 'k', 63);
	memcpy(big + 63, "=1", 3);
	json_t *o = form_ok(big);
	json_decref(o);
	memset(big, 'k', 64);
	memcpy(big + 64, "=1", 3);
	form_bad(big, 66, 400, MSG_BODY_BAD_FORM, "");

	/* INPUT_MAX_FIELDS fields, then one more */
	for (int i = 0; i < INPUT_MAX_FIELDS; i++)
		p += (size_t)snprintf(big + p, sizeof(big) - p, "%sf%d=%d", i ? "&" : "", i, i);
	o = form_ok(big);
	assert_int_equal(json_object_size(o), INPUT_MAX_FIELDS);
	json_decref(o);
	snprintf(big + p, sizeof(big) - p, "&extra=1");
	form_bad(big, strlen(big), 413, MSG_BODY_BAD_FORM, "");
	/* the length is honoured, not the terminator */
	o = NULL;
	struct input_error err;
	assert_int_equal(form_parse("a=1&a=2", 3, &o, &err), 0);
	assert_string_equal(str(o, "a"), "1");
	json_decref(o);
}

/* ------------------------------------------------------------ JSON */

/* {"a":[[...[1]...]]} nested depth deep in all */
static void nest(char *out, int depth)
{
	size_t p = 0;

	memcpy(out, "{\"a\":", 5);
	p = 5;
	for (int i = 1; i < depth; i++)
		out[p++] = '[';
	out[p++] = '1';
	for (int i = 1; i < depth; i++)
		out[p++] = ']';
	out[p++] = '}';
	out[p] = '\0';
}

static void test_json_body(void **state)
{
	char deep[4100];
	json_t *o;

	(void)state;
	o = json_ok("{\"a\":\"中\",\"n\":9007199254740993,\"b\":true}");
	assert_int_equal(json_integer_value(json_object_get(o, "n")), 9007199254740993LL);
	json_decref(o);

	json_bad("{\"a\":1,\"a\":2}", 13, MSG_FIELD_DUPLICATE, "a");
	json_bad("{\"x\":1, \"name\" : 2, \"name\":3}", 29, MSG_FIELD_DUPLICATE, "name");
	json_bad("{\"k\\\"q\":1,\"k\\\"q\":2}", 19, MSG_FIELD_DUPLICATE, "k\"q");
	json_bad("{\"\\\\\":1,\"\\\\\":2}", 15, MSG_FIELD_DUPLICATE, "\\");
	json_bad("{\"\\u4e2d\":1,\"中\":2}", strlen("{\"\\u4e2d\":1,\"中\":2}"),
		 MSG_FIELD_DUPLICATE, "中");
	json_bad("{\"o\":{\"z\":1,\"z\":2}}", 19, MSG_FIELD_DUPLICATE, "z");
	/* a long key is named as far as it fits, whole characters only */
	{
		char body[420], key[200];
		size_t p = 0;
		for (int i = 0; i < 30; i++)
			p += (size_t)snprintf(key + p, sizeof(key) - p, "键");   /* 3 bytes */
		snprintf(body, sizeof(body), "{\"%s\":1,\"%s\":2}", key, key);
		json_bad(body, strlen(body), MSG_FIELD_DUPLICATE, key + 90 - 63);
	}

	json_bad("[1,2]", 5, MSG_BODY_NOT_OBJECT, "");
	json_bad("\"x\"", 3, MSG_BODY_NOT_OBJECT, "");
	json_bad("42", 2, MSG_BODY_NOT_OBJECT, "");
	json_bad("null", 4, MSG_BODY_NOT_OBJECT, "");
	json_bad("", 0, MSG_BODY_BAD_JSON, "");
	json_bad("{", 1, MSG_BODY_BAD_JSON, "");
	json_bad("{\"a\":1} x", 9, MSG_BODY_BAD_JSON, "");
	json_bad("{'a':1}", 7, MSG_BODY_BAD_JSON, "");
	json_bad("{\"a\":\"\xff\"}", 9, MSG_BODY_BAD_JSON, "");
	json_bad("{\"a\":\"\xC0\x80\"}", 10, MSG_BODY_BAD_JSON, "");
	json_bad("{\"a\":\"\xED\xA0\x80\"}", 11, MSG_BODY_BAD_JSON, "");
	json_bad("{\"a\":\"\\ud800\"}", 14, MSG_BODY_BAD_JSON, "");
	json_bad("{\"a\":\"x\\u0000y\"}", 16, MSG_BODY_BAD_JSON, "");
	json_bad("{\"a\\u0000\":1}", 13, MSG_BODY_BAD_JSON, "");
	json_bad("{\"a\":\"x\0y\"}", 11, MSG_BODY_BAD_JSON, "");

	/* depth: the body object is 1; 16 is allowed, 17 is not */
	nest(deep, 16);
	o = json_ok(deep);
	json_decref(o);
	nest(deep, 17);
	json_bad(deep, strlen(deep), MSG_BODY_BAD_JSON, "");
	nest(deep, 2000);
	json_bad(deep, strlen(deep), MSG_BODY_BAD_JSON, "");
	/* brackets inside strings are not nesting */
	o = json_ok("{\"a\":\"[[[[[[[[[[[[[[[[[[[[{{{{{{{{{{{{{{{{\\\"[[[[\"}");
	json_decref(o);
}

/* ------------------------------------------------------------ input_check */

static const char *const colours[] = { "red", "green", "蓝", NULL };

static const struct field_spec spec[] = {
	{ "name",    FT_TEXT,      FS_REQUIRED, 2, 0,  NULL, "姓名" },
	{ "note",    FT_TEXTAREA,  0,           0, 0,  NULL, "备注" },
	{ "age",     FT_INT,       0,           0, 150, NULL, "年龄" },
	{ "count",   FT_INT,       0,           0, 0,  NULL, "数量" },
	{ "agree",   FT_BOOL,      0,           0, 0,  NULL, "同意" },
	{ "colour",  FT_CHOICE,    0,           0, 0,  colours, "颜色" },
	{ "idcard",  FT_IDCARD,    0,           0, 0,  NULL, "身份证号" },
	{ "uscc",    FT_USCC,      0,           0, 0,  NULL, "统一社会信用代码" },
	{ "phone",   FT_PHONE,     0,           0, 0,  NULL, "手机号" },
	{ "email",   FT_EMAIL,     0,           0, 0,  NULL, "电子邮箱" },
	{ "login",   FT_LOGIN,     0,           0, 0,  NULL, "用户名" },
	{ "password", FT_PASSWORD, 0,           0, 0,  NULL, "密码" },
	{ "pin",     FT_PASSWORD,  0,           3, 3,  NULL, "口令" },
	{ "dept",    FT_DEPT_CODE, 0,           0, 0,  NULL, "部门编码" },
	{ "day",     FT_DATE,      0,           0, 0,  NULL, "日期" },
	{ NULL,      FT_TEXT,      0,           0, 0,  NULL, NULL },
};

/* Checks a form body against spec; returns the object (or NULL) and *err. */
static json_t *check_form(const char *body, struct input_error *err)
{
	json_t *o = NULL;

	assert_int_equal(form_parse(body, strlen(body), &o, err), 0);
	if (input_check(spec, o, 1, err) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *check_json(const char *body, struct input_error *err)
{
	json_t *o = NULL;

	assert_int_equal(json_body_parse(body, strlen(body), &o, err), 0);
	if (input_check(spec, o, 0, err) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

#define FORM_FAILS(body, id, fld) do { \
	struct input_error e_; \
	assert_null(check_form(body, &e_)); \
	assert_int_equal(e_.status, 400); \
	assert_string_equal(msg_name(e_.msg), msg_name(id)); \
	assert_string_equal(e_.field, fld); \
} while (0)

#define JSON_FAILS(body, id, fld) do { \
	struct input_error e_; \
	assert_null(check_json(body, &e_)); \
	assert_int_equal(e_.status, 400); \
	assert_string_equal(msg_name(e_.msg), msg_name(id)); \
	assert_string_equal(e_.field, fld); \
} while (0)

static void test_check_form_normalises(void **state)
{
	struct input_error err;
	json_t *o;

	(void)state;
	o = check_form("name=++%E5%BC%A0%E4%B8%89+&note=line1%0D%0Aline2&age=042&count=-7"
		       "&agree=on&colour=%E8%93%9D&idcard=+11010519491231002x"
		       "&uscc=91350100m000100y43&phone=13800138000&email=a%40b.cn"
		       "&login=+zhang.san&password=+secret+pw+1+&dept=gov-1&day=2024-02-29", &err);
	assert_non_null(o);
	assert_int_equal(err.msg, MSG_NONE);
	assert_string_equal(str(o, "name"), "张三");
	assert_string_equal(str(o, "note"), "line1\r\nline2");
	assert_true(json_is_integer(json_object_get(o, "age")));
	assert_int_equal(json_integer_value(json_object_get(o, "age")), 42);
	assert_int_equal(json_integer_value(json_object_get(o, "count")), -7);
	assert_true(json_is_true(json_object_get(o, "agree")));
	assert_string_equal(str(o, "colour"), "蓝");
	assert_string_equal(str(o, "idcard"), "11010519491231002X");
	assert_string_equal(str(o, "uscc"), "91350100M000100Y43");
	assert_string_equal(str(o, "login"), "zhang.san");
	assert_string_equal(str(o, "password"), " secret pw 1 ");   /* never trimmed */
	assert_string_equal(str(o, "day"), "2024-02-29");
	json_decref(o);

	/* empty and blank optional fields are absent; bool forms */
	o = check_form("name=ab&note=+++&age=&agree=0&email=&idcard=", &err);
	assert_non_null(o);
	assert_null(json_object_get(o, "note"));
	assert_null(json_object_get(o, "age"));
	assert_null(json_object_get(o, "email"));
	assert_null(json_object_get(o, "idcard"));
	assert_true(json_is_false(json_object_get(o, "agree")));
	assert_int_equal(json_object_size(o), 2);
	json_decref(o);
	static const char *const truthy[] = { "1", "on", "true", NULL };
	for (int i = 0; truthy[i] != NULL; i++) {
		char body[64];
		snprintf(body, sizeof(body), "name=ab&agree=%s", truthy[i]);
		o = check_form(body, &err);
		assert_true(json_is_true(json_object_get(o, "agree")));
		json_decref(o);
	}
	o = check_form("name=ab&agree=false", &err);
	assert_true(json_is_false(json_object_get(o, "agree")));
	json_decref(o);
}

static void test_check_form_errors(void **state)
{
	char body[8192];

	(void)state;
	FORM_FAILS("name=ab&extra=1", MSG_FIELD_UNKNOWN, "extra");
	FORM_FAILS("note=x", MSG_FIELD_REQUIRED, "name");
	FORM_FAILS("name=", MSG_FIELD_REQUIRED, "name");
	FORM_FAILS("name=+++", MSG_FIELD_REQUIRED, "name");
	FORM_FAILS("name=a", MSG_FIELD_TOO_SHORT, "name");
	FORM_FAILS("name=+a+", MSG_FIELD_TOO_SHORT, "name");
	FORM_FAILS("name=a%0Ab", MSG_FIELD_BAD_CONTROL, "name");
	FORM_FAILS("name=a%09b", MSG_FIELD_BAD_CONTROL, "name");
	FORM_FAILS("name=a%C2%85b", MSG_FIELD_BAD_CONTROL, "name");
	FORM_FAILS("name=ab&note=a%7Fb", MSG_FIELD_BAD_CONTROL, "note");
	/* strict decimal only (already percent-encoded: '+' is %2B, ' ' %20) */
	static const char *const not_ints[] = {
		"12a", "%2B", "%2B1", "-", "--1", "%201", "1%20", "1.0", "0x10", "1e3", "%D9%A3",
		"9223372036854775808", "-9223372036854775809", "99999999999999999999", NULL
	};
	for (int i = 0; not_ints[i] != NULL; i++) {
		char b[64];
		snprintf(b, sizeof(b), "name=ab&count=%s", not_ints[i]);
		FORM_FAILS(b, MSG_FIELD_NOT_INTEGER, "count");
	}
	json_t *o = check_form("name=ab&count=9223372036854775807", &(struct input_error){ 0 });
	assert_int_equal(json_integer_value(json_object_get(o, "count")), 9223372036854775807LL);
	json_decref(o);
	o = check_form("name=ab&count=-9223372036854775808", &(struct input_error){ 0 });
	assert_true(json_integer_value(json_object_get(o, "count")) == (json_int_t)(-9223372036854775807LL - 1));
	json_decref(o);
	o = check_form("name=ab&count=-0", &(struct input_error){ 0 });
	assert_int_equal(json_integer_value(json_object_get(o, "count")), 0);
	json_decref(o);
	FORM_FAILS("name=ab&age=151", MSG_FIELD_OUT_OF_RANGE, "age");
	FORM_FAILS("name=ab&age=-1", MSG_FIELD_OUT_OF_RANGE, "age");
	FORM_FAILS("name=ab&agree=yes", MSG_FIELD_NOT_BOOLEAN, "agree");
	FORM_FAILS("name=ab&agree=TRUE", MSG_FIELD_NOT_BOOLEAN, "agree");
	FORM_FAILS("name=ab&colour=blue", MSG_FIELD_BAD_CHOICE, "colour");
	FORM_FAILS("name=ab&colour=Red", MSG_FIELD_BAD_CHOICE, "colour");
	FORM_FAILS("name=ab&idcard=11010519491231002A", MSG_IDCARD_CHARS, "idcard");
	FORM_FAILS("name=ab&idcard=110105194912310021", MSG_IDCARD_CHECK, "idcard");
	FORM_FAILS("name=ab&uscc=91350100M000100Y44", MSG_USCC_CHECK, "uscc");
	FORM_FAILS("name=ab&uscc=91350100M000100YI3", MSG_USCC_CHARS, "uscc");
	FORM_FAILS("name=ab&phone=1380013800", MSG_PHONE_FORMAT, "phone");
	FORM_FAILS("name=ab&email=a@b", MSG_EMAIL_FORMAT, "email");
	FORM_FAILS("name=ab&login=ab", MSG_LOGIN_FORMAT, "login");
	/* passwords: text rules and spec limits only (strength is the handler's) */
	FORM_FAILS("name=ab&password=a%09b", MSG_FIELD_BAD_CONTROL, "password");
	FORM_FAILS("name=ab&pin=12345", MSG_FIELD_TOO_LONG, "pin");
	FORM_FAILS("name=ab&pin=12", MSG_FIELD_TOO_SHORT, "pin");
	FORM_FAILS("name=ab&pin=%20%20%20%20", MSG_FIELD_TOO_LONG, "pin");    /* 4 spaces are kept */
	o = check_form("name=ab&password=short&pin=%201%20", &(struct input_error){ 0 });
	assert_non_null(o);
	assert_string_equal(str(o, "password"), "short");
	assert_string_equal(str(o, "pin"), " 1 ");
	json_decref(o);
	FORM_FAILS("name=ab&dept=a_b", MSG_DEPT_CODE_FORMAT, "dept");
	FORM_FAILS("name=ab&day=2023-02-29", MSG_DATE_FORMAT, "day");

	/* default limits: 200 chars for text, 5000 for a textarea */
	memcpy(body, "name=", 5);
	memset(body + 5, 'a', 200);
	body[205] = '\0';
	o = check_form(body, &(struct input_error){ 0 });
	assert_non_null(o);
	json_decref(o);
	memcpy(body + 5, "%E4%B8%AD", 9);      /* 中 + 199 a: still 200 chars */
	memset(body + 14, 'a', 199);
	body[213] = '\0';
	o = check_form(body, &(struct input_error){ 0 });
	assert_non_null(o);
	json_decref(o);
	memcpy(body + 213, "a", 2);
	FORM_FAILS(body, MSG_FIELD_TOO_LONG, "name");
	memcpy(body, "name=ab&note=", 13);
	memset(body + 13, 'n', 5000);
	body[5013] = '\0';
	o = check_form(body, &(struct input_error){ 0 });
	assert_non_null(o);
	json_decref(o);
	memcpy(body + 5013, "n", 2);
	FORM_FAILS(body, MSG_FIELD_TOO_LONG, "note");
}

static void test_check_json_types(void **state)
{
	struct input_error err;
	json_t *o;

	(void)state;
	o = check_json("{\"name\":\" 李四 \",\"age\":150,\"count\":-9223372036854775807,"
		       "\"agree\":false,\"idcard\":\"11010519491231002x\",\"note\":null,"
		       "\"uscc\":\"9144030071526726xg\",\"email\":\"\"}", &err);
	assert_null(o);                              /* "" is a value in JSON: not an address */
	assert_int_equal(err.msg, MSG_EMAIL_FORMAT);
	assert_string_equal(err.field, "email");

	o = check_json("{\"name\":\" 李四 \",\"age\":150,\"count\":-9223372036854775807,"
		       "\"agree\":false,\"idcard\":\"11010519491231002x\",\"note\":null,"
		       "\"uscc\":\"9144030071526726xg\",\"colour\":\"green\"}", &err);
	assert_non_null(o);
	assert_string_equal(str(o, "name"), "李四");
	assert_int_equal(json_integer_value(json_object_get(o, "age")), 150);
	assert_int_equal(json_integer_value(json_object_get(o, "count")), -9223372036854775807LL);
	assert_true(json_is_false(json_object_get(o, "agree")));
	assert_string_equal(str(o, "idcard"), "11010519491231002X");
	assert_string_equal(str(o, "uscc"), "9144030071526726XG");
	assert_null(json_object_get(o, "note"));     /* null is absent */
	assert_string_equal(str(o, "colour"), "green");
	json_decref(o);

	o = check_json("{\"name\":\"ab\",\"note\":\"\"}", &err);
	assert_non_null(o);                          /* "" is valid text for an optional textarea */
	assert_string_equal(str(o, "note"), "");
	json_decref(o);

	JSON_FAILS("{}", MSG_FIELD_REQUIRED, "name");
	JSON_FAILS("{\"name\":null}", MSG_FIELD_REQUIRED, "name");
	JSON_FAILS("{\"name\":\"\"}", MSG_FIELD_REQUIRED, "name");
	JSON_FAILS("{\"name\":\"  \"}", MSG_FIELD_REQUIRED, "name");
	JSON_FAILS("{\"name\":12}", MSG_FIELD_NOT_STRING, "name");
	JSON_FAILS("{\"name\":[\"ab\"]}", MSG_FIELD_NOT_STRING, "name");
	JSON_FAILS("{\"name\":{\"a\":1}}", MSG_FIELD_NOT_STRING, "name");
	JSON_FAILS("{\"name\":true}", MSG_FIELD_NOT_STRING, "name");
	JSON_FAILS("{\"name\":\"ab\",\"age\":\"12\"}", MSG_FIELD_NOT_INTEGER, "age");
	JSON_FAILS("{\"name\":\"ab\",\"age\":12.0}", MSG_FIELD_NOT_INTEGER, "age");
	JSON_FAILS("{\"name\":\"ab\",\"age\":true}", MSG_FIELD_NOT_INTEGER, "age");
	JSON_FAILS("{\"name\":\"ab\",\"age\":151}", MSG_FIELD_OUT_OF_RANGE, "age");
	JSON_FAILS("{\"name\":\"ab\",\"agree\":1}", MSG_FIELD_NOT_BOOLEAN, "agree");
	JSON_FAILS("{\"name\":\"ab\",\"agree\":\"true\"}", MSG_FIELD_NOT_BOOLEAN, "agree");
	JSON_FAILS("{\"name\":\"ab\",\"colour\":1}", MSG_FIELD_NOT_STRING, "colour");
	JSON_FAILS("{\"name\":\"ab\",\"phone\":13800138000}", MSG_FIELD_NOT_STRING, "phone");
	JSON_FAILS("{\"name\":\"ab\",\"idcard\":\"\"}", MSG_IDCARD_LENGTH, "idcard");
	JSON_FAILS("{\"name\":\"ab\",\"note\":\"x\\u0001\"}", MSG_FIELD_BAD_CONTROL, "note");
	JSON_FAILS("{\"name\":\"ab\",\"note\":\"x\\u0085\"}", MSG_FIELD_BAD_CONTROL, "note");
	JSON_FAILS("{\"name\":\"ab\",\"_csrf\":\"x\"}", MSG_FIELD_UNKNOWN, "_csrf");
	/* the first unknown key is named, before any missing field */
	JSON_FAILS("{\"zz\":1}", MSG_FIELD_UNKNOWN, "zz");
	/* a key as long as it gets is named with whole characters */
	{
		char body[420], key[400];
		size_t p = 0;
		for (int i = 0; i < 100; i++)
			p += (size_t)snprintf(key + p, sizeof(key) - p, "键");
		snprintf(body, sizeof(body), "{\"%s\":1}", key);
		JSON_FAILS(body, MSG_FIELD_UNKNOWN, key + 300 - 63);
	}

	/* not an object */
	o = json_array();
	assert_int_equal(input_check(spec, o, 0, &err), -1);
	assert_int_equal(err.msg, MSG_BODY_NOT_OBJECT);
	json_decref(o);
	/* an embedded NUL (built by hand, never by the parsers) is refused */
	o = json_pack("{s:s#}", "name", "a\0b", 3);
	assert_int_equal(input_check(spec, o, 0, &err), -1);
	assert_int_equal(err.msg, MSG_FIELD_BAD_CONTROL);
	json_decref(o);
	/* in a form object every value must be a string */
	o = json_pack("{s:s, s:i}", "name", "ab", "age", 3);
	assert_int_equal(input_check(spec, o, 1, &err), -1);
	assert_int_equal(err.msg, MSG_FIELD_NOT_STRING);
	json_decref(o);
}

static void test_check_uscc_allow(void **state)
{
	char pilot[19], body[64];
	struct input_error err;
	json_t *o;

	(void)state;
	/* fails only the organisation-code check */
	memcpy(pilot, "91350100M000100Y43", 19);
	pilot[16] = '5';
	pilot[17] = uscc_check_char(pilot);
	assert_int_equal(validate_uscc(pilot), MSG_USCC_ORG_CHECK);
	snprintf(body, sizeof(body), "name=ab&uscc=%s", pilot);
	FORM_FAILS(body, MSG_USCC_ORG_CHECK, "uscc");

	const char *const allow[] = { pilot, NULL };
	input_set_uscc_allow(allow);
	for (char *c = body; *c; c++)        /* lower case is upper-cased first */
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	o = check_form(body, &err);
	assert_non_null(o);
	assert_string_equal(str(o, "uscc"), pilot);
	json_decref(o);
	input_set_uscc_allow(NULL);
	FORM_FAILS(body, MSG_USCC_ORG_CHECK, "uscc");
}

/* ------------------------------------------------------------ cookies */

static void test_cookie_get(void **state)
{
	char v[16];

	(void)state;
	assert_int_equal(cookie_get("a=1; b=2", "a", v, sizeof(v)), 0);
	assert_string_equal(v, "1");
	assert_int_equal(cookie_get("a=1; b=2", "b", v, sizeof(v)), 0);
	assert_string_equal(v, "2");
	assert_int_equal(cookie_get("a=1;b=2 ", "b", v, sizeof(v)), 0);
	assert_string_equal(v, "2");
	/* exact names, not prefixes or suffixes */
	assert_int_equal(cookie_get("sid_old=x; sid=y", "sid", v, sizeof(v)), 0);
	assert_string_equal(v, "y");
	assert_int_equal(cookie_get("xsid=x", "sid", v, sizeof(v)), -1);
	assert_int_equal(cookie_get("si=x", "sid", v, sizeof(v)), -1);
	assert_int_equal(cookie_get("SID=x", "sid", v, sizeof(v)), -1);
	assert_int_equal(cookie_get("sid", "sid", v, sizeof(v)), -1);
	assert_int_equal(cookie_get("", "sid", v, sizeof(v)), -1);
	assert_int_equal(cookie_get(NULL, "sid", v, sizeof(v)), -1);
	/* empty and quoted values, '=' inside a value, the first one wins */
	assert_int_equal(cookie_get("a=; b=2", "a", v, sizeof(v)), 0);
	assert_string_equal(v, "");
	assert_int_equal(cookie_get("a=\"q\"", "a", v, sizeof(v)), 0);
	assert_string_equal(v, "q");
	assert_int_equal(cookie_get("a=x=y", "a", v, sizeof(v)), 0);
	assert_string_equal(v, "x=y");
	assert_int_equal(cookie_get("a=1; a=2", "a", v, sizeof(v)), 0);
	assert_string_equal(v, "1");
	/* truncated to outlen - 1 */
	assert_int_equal(cookie_get("a=0123456789abcdefXYZ", "a", v, sizeof(v)), 0);
	assert_string_equal(v, "0123456789abcde");
	assert_int_equal(cookie_get("a=1", "a", v, 0), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_url_decode),
		cmocka_unit_test(test_form_basic),
		cmocka_unit_test(test_form_errors),
		cmocka_unit_test(test_json_body),
		cmocka_unit_test(test_check_form_normalises),
		cmocka_unit_test(test_check_form_errors),
		cmocka_unit_test(test_check_json_types),
		cmocka_unit_test(test_check_uscc_allow),
		cmocka_unit_test(test_cookie_get),
	};
	return cmocka_run_group_tests_name("input", tests, NULL, NULL);
}
