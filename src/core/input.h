/*
 * input: everything a request carries in, parsed and checked at the edge.
 *
 * Form bodies (application/x-www-form-urlencoded), query strings and JSON
 * bodies all become a jansson object; input_check() then holds it against
 * the route's field specification.  Anything not declared is refused, so a
 * handler only ever sees declared, typed, validated values.
 */
#ifndef YZ_INPUT_H
#define YZ_INPUT_H

#include <jansson.h>
#include <stddef.h>

#include "core/msg.h"

enum field_type {
	FT_TEXT,       /* one line */
	FT_TEXTAREA,   /* multi-line */
	FT_INT,        /* JSON integer, or decimal digits in a form */
	FT_BOOL,       /* JSON true/false; form: "1"/"0"/"on"/"true"/"false" */
	FT_CHOICE,     /* one of choices[] */
	FT_IDCARD,     /* 身份证号 (upper-cases a trailing x first) */
	FT_USCC,       /* 统一社会信用代码 (with the deployment allow-list) */
	FT_PHONE,
	FT_EMAIL,
	FT_LOGIN,
	FT_PASSWORD,   /* never trimmed, never echoed back */
	FT_DEPT_CODE,
	FT_DATE,       /* YYYY-MM-DD */
	FT_FILE,       /* a file part of a multipart body (RF_UPLOAD routes; see struct upload in
			* http.h): max = largest size in bytes (0 = conf max_upload); never a
			* text value, so input_check refuses one given as text or JSON */
};

#define FS_REQUIRED 1u

struct field_spec {
	const char *name;               /* NULL ends a spec array */
	enum field_type type;
	unsigned flags;
	long long min, max;             /* chars for text (0 = default max 200 / 5000), value range for int */
	const char *const *choices;     /* FT_CHOICE: NULL-terminated */
	const char *label;              /* Chinese field label for messages, e.g. "身份证号" */
};

struct input_error {
	int status;            /* HTTP status: 400, 413, 415 */
	enum msg_id msg;       /* why */
	char field[64];        /* which field ("" when about the whole body) */
	char detail[192];      /* optional: a more precise reason (e.g. which line of a list), Chinese */
};

/* Upper bound of fields in one form or query string. */
#define INPUT_MAX_FIELDS 64

/* Sets the 统一社会信用代码 allow-list used by FT_USCC (NULL-terminated, borrowed). */
void input_set_uscc_allow(const char *const *allow);

/*
 * Parses urlencoded text ("a=1&b=%E4%B8%AD") into *out, an object of strings.
 * A key given twice, bad percent-escapes, invalid UTF-8 or more than
 * INPUT_MAX_FIELDS fields is an error.  Empty text gives an empty object.
 * Returns 0, or -1 with *err filled and *out NULL.
 */
int form_parse(const char *s, size_t len, json_t **out, struct input_error *err);
/*
 * Parses a JSON body strictly: an object, no duplicate keys, valid UTF-8,
 * no NUL in strings, depth <= 16.  Returns 0 or -1 with *err.
 */
int json_body_parse(const char *s, size_t len, json_t **out, struct input_error *err);
/*
 * Checks obj against spec (an array ended by name == NULL).  Keys beginning
 * with '_' that the caller has removed already are not special here.
 * from_form: values are strings to convert (FT_INT, FT_BOOL); an empty
 * string counts as absent.  On success obj is normalised in place: text is
 * trimmed of surrounding spaces (not passwords), ints become JSON integers,
 * bools JSON booleans, absent optional fields stay absent.
 * Returns 0, or -1 with *err naming the first bad field.
 */
int input_check(const struct field_spec *spec, json_t *obj, int from_form,
		struct input_error *err);

/* Finds a cookie's value in a Cookie header; copies at most outlen-1 bytes.
 * Returns 0 when found, -1 otherwise. */
int cookie_get(const char *header, const char *name, char *out, size_t outlen);
/* Percent-decodes in place ('+' becomes ' ' when plus is set); -1 on a bad escape. */
int url_decode(char *s, size_t *len, int plus);

#endif
