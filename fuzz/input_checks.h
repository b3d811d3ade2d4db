/*
 * input_checks.h: the representative field spec and the invariant checks
 * shared by fuzz_form.c and fuzz_json.c, on what form_parse /
 * json_body_parse and input_check hand back.  Each target is its own
 * program, so everything here is static; define FUZZ_NAME (the target's
 * name, which starts each failure message) before including it.
 *
 * The targets differ only where input_check's two modes do, chosen by
 * from_form: a form parse may also fail with 413 (too many fields), form
 * values never stay empty (an empty string counts as absent) while JSON may
 * keep "" for a textarea or password, and input_check's form errors are
 * checked to name their field.
 */
#ifndef YZ_FUZZ_INPUT_CHECKS_H
#define YZ_FUZZ_INPUT_CHECKS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/input.h"
#include "core/validate.h"

#ifndef FUZZ_NAME
#error "define FUZZ_NAME before including input_checks.h"
#endif

#define CHECK(cond) do { if (!(cond)) { fprintf(stderr, FUZZ_NAME ": %s\n", #cond); abort(); } } while (0)

static const char *const choices[] = { "a", "b", "中", NULL };
static const char *const allow[] = { "91350100M000100Y53", NULL };

static const struct field_spec spec[] = {
	{ "name",     FT_TEXT,      FS_REQUIRED, 1, 20,  NULL,    "姓名" },
	{ "note",     FT_TEXTAREA,  0,           0, 0,   NULL,    "备注" },
	{ "n",        FT_INT,       0,           -5, 100, NULL,   "数量" },
	{ "big",      FT_INT,       0,           0, 0,   NULL,    "大数" },
	{ "ok",       FT_BOOL,      0,           0, 0,   NULL,    "同意" },
	{ "c",        FT_CHOICE,    0,           0, 0,   choices, "选项" },
	{ "id",       FT_IDCARD,    0,           0, 0,   NULL,    "身份证号" },
	{ "uscc",     FT_USCC,      0,           0, 0,   NULL,    "统一社会信用代码" },
	{ "phone",    FT_PHONE,     0,           0, 0,   NULL,    "手机号" },
	{ "email",    FT_EMAIL,     0,           0, 0,   NULL,    "电子邮箱" },
	{ "login",    FT_LOGIN,     0,           0, 0,   NULL,    "用户名" },
	{ "pw",       FT_PASSWORD,  0,           0, 0,   NULL,    "密码" },
	{ "dept",     FT_DEPT_CODE, 0,           0, 0,   NULL,    "部门编码" },
	{ "day",      FT_DATE,      0,           0, 0,   NULL,    "日期" },
	{ NULL,       FT_TEXT,      0,           0, 0,   NULL,    NULL },
};

/* A failure says why, names a field in valid UTF-8, and is a 400 (or a 413
 * where may_be_413). */
static void check_error(const struct input_error *err, int may_be_413)
{
	size_t n = strnlen(err->field, sizeof(err->field));

	CHECK(n < sizeof(err->field));
	CHECK(err->msg > MSG_NONE && err->msg < MSG__MAX);
	CHECK(err->status == 400 || (may_be_413 && err->status == 413));
	CHECK(validate_utf8(err->field, n) == MSG_NONE);
}

/* Every value left after a successful input_check is valid for its type. */
static void check_normalised(const json_t *obj, int from_form)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)obj, key, v) {
		const struct field_spec *f = spec;
		while (f->name != NULL && strcmp(f->name, key) != 0)
			f++;
		CHECK(f->name != NULL);
		if (f->type == FT_INT) {
			CHECK(json_is_integer(v));
			if (f->min < f->max)
				CHECK(json_integer_value(v) >= f->min && json_integer_value(v) <= f->max);
			continue;
		}
		if (f->type == FT_BOOL) {
			CHECK(json_is_boolean(v));
			continue;
		}
		CHECK(json_is_string(v));
		const char *s = json_string_value(v);
		size_t len = json_string_length(v);
		CHECK(strlen(s) == len);
		CHECK(len > 0 || (!from_form && (f->type == FT_TEXTAREA || f->type == FT_PASSWORD)));
		CHECK(validate_text(s, len, 0, 5000, f->type == FT_TEXTAREA) == MSG_NONE);
		if (f->type != FT_PASSWORD && len > 0)
			CHECK(s[0] != ' ' && s[len - 1] != ' ');
		switch (f->type) {
		case FT_IDCARD:
			CHECK(validate_idcard(s) == MSG_NONE);
			break;
		case FT_USCC:
			CHECK(validate_uscc_allow(s, allow, NULL) == MSG_NONE);
			break;
		case FT_PHONE:
			CHECK(validate_phone(s) == MSG_NONE);
			break;
		case FT_EMAIL:
			CHECK(validate_email(s) == MSG_NONE);
			break;
		case FT_LOGIN:
			CHECK(validate_login(s) == MSG_NONE);
			break;
		case FT_DEPT_CODE:
			CHECK(validate_dept_code(s) == MSG_NONE);
			break;
		case FT_DATE:
			CHECK(validate_date(s) == MSG_NONE);
			break;
		case FT_CHOICE:
			CHECK(strcmp(s, "a") == 0 || strcmp(s, "b") == 0 || strcmp(s, "中") == 0);
			break;
		case FT_TEXT:
			CHECK(utf8_chars(s, len) <= 20);
			break;
		default:
			break;
		}
	}
	CHECK(json_object_get(obj, "name") != NULL);
}

/* Holds a parsed body against spec and checks either outcome; input_check's
 * own failures are always 400. */
static void check_input(json_t *obj, int from_form)
{
	struct input_error err;

	if (input_check(spec, obj, from_form, &err) == 0) {
		CHECK(err.msg == MSG_NONE);
		check_normalised(obj, from_form);
	} else {
		check_error(&err, 0);
		if (from_form)
			CHECK(err.field[0] != '\0');
	}
}

#endif
