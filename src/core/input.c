/*
 * input: request bodies, query strings and cookies, parsed and checked at
 * the edge (see input.h).
 *
 * Every value that leaves this file in a jansson object is valid UTF-8
 * without NUL bytes; input_check() then holds the object against a route's
 * field specification and normalises it in place.
 */
#include "core/input.h"
#include "core/validate.h"
#include "core/xalloc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Longest form key: one less than input_error.field, so an error can always
 * name the key whole. */
#define INPUT_MAX_KEY ((int)sizeof(((struct input_error *)0)->field) - 1)
/* Deepest nesting of a JSON body; the body object itself is depth 1. */
#define INPUT_MAX_DEPTH 16
/* Default limits (code points) for text fields whose spec says max = 0. */
#define INPUT_TEXT_MAX 200
#define INPUT_TEXTAREA_MAX 5000

/* Borrowed from the caller of input_set_uscc_allow(), set once at start-up. */
static const char *const *uscc_allow;

void input_set_uscc_allow(const char *const *allow)
{
	uscc_allow = allow;
}

/*
 * Fills *err.  field is copied up to the last whole UTF-8 character that
 * fits, so a long name never leaves a broken character behind.
 */
static void input_fail(struct input_error *err, int status, enum msg_id id,
		       const char *field, size_t flen)
{
	size_t n = flen;

	if (err == NULL)
		return;
	err->status = status;
	err->msg = id;
	if (field == NULL)
		n = 0;
	if (n > sizeof(err->field) - 1) {
		n = sizeof(err->field) - 1;
		while (n > 0 && ((unsigned char)field[n] & 0xC0u) == 0x80u)
			n--;
	}
	if (n)
		memcpy(err->field, field, n);
	err->field[n] = '\0';
}

static void input_fail_field(struct input_error *err, int status, enum msg_id id,
			     const char *field)
{
	input_fail(err, status, id, field, field ? strlen(field) : 0);
}

static void input_ok(struct input_error *err)
{
	if (err != NULL)
		input_fail(err, 0, MSG_NONE, NULL, 0);
}

/* jansson reports allocation failure by returning NULL or -1; the daemon
 * treats running out of memory as fatal everywhere (xalloc.h). */
static void input_oom(void)
{
	fputs("yizhan: out of memory (jansson)\n", stderr);
	abort();
}

static void input_set(json_t *obj, const char *key, json_t *v)
{
	if (v == NULL || json_object_set_new(obj, key, v) != 0)
		input_oom();
}

/* ------------------------------------------------------------ url_decode */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The decoded text is written over s; it is not NUL-terminated (it may be as
 * long as the input).  On -1, s is left partly decoded. */
int url_decode(char *s, size_t *len, int plus)
{
	size_t i, o = 0, n = *len;

	for (i = 0; i < n; i++) {
		char c = s[i];
		if (c == '%') {
			int hi, lo;
			if (n - i < 3 || (hi = hexval(s[i + 1])) < 0 || (lo = hexval(s[i + 2])) < 0)
				return -1;
			c = (char)(hi << 4 | lo);
			i += 2;
		} else if (c == '+' && plus) {
			c = ' ';
		}
		s[o++] = c;
	}
	*len = o;
	return 0;
}

/* ------------------------------------------------------------ form_parse */

static int form_key_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || c == '-';
}

/*
 * One "key=value" pair (already cut at '&').  tmp holds at least klen +
 * vlen + 2 bytes of scratch.  Returns 0 or -1 with *err.
 */
static int form_pair(json_t *obj, const char *p, size_t plen, char *tmp,
		     struct input_error *err)
{
	const char *eq = memchr(p, '=', plen);
	size_t klen = eq ? (size_t)(eq - p) : plen;
	size_t vlen = eq ? plen - klen - 1 : 0;
	char *key = tmp, *val = tmp + klen + 1;
	int rc = -1;

	memcpy(key, p, klen);
	if (url_decode(key, &klen, 1) != 0) {
		input_fail(err, 400, MSG_BODY_BAD_FORM, NULL, 0);
		goto out;
	}
	if (validate_utf8(key, klen) != MSG_NONE) {
		/* Not named: the name itself is not text. */
		input_fail(err, 400, MSG_FIELD_BAD_UTF8, NULL, 0);
		goto out;
	}
	if (klen == 0 || klen > (size_t)INPUT_MAX_KEY) {
		input_fail(err, 400, MSG_BODY_BAD_FORM, NULL, 0);
		goto out;
	}
	for (size_t i = 0; i < klen; i++) {
		if (!form_key_char(key[i])) {
			input_fail(err, 400, MSG_BODY_BAD_FORM, NULL, 0);
			goto out;
		}
	}
	key[klen] = '\0';
	if (eq != NULL)
		memcpy(val, eq + 1, vlen);
	if (url_decode(val, &vlen, 1) != 0) {
		input_fail_field(err, 400, MSG_BODY_BAD_FORM, key);
		goto out;
	}
	if (validate_utf8(val, vlen) != MSG_NONE) {
		input_fail_field(err, 400, MSG_FIELD_BAD_UTF8, key);
		goto out;
	}
	if (memchr(val, '\0', vlen) != NULL) {
		input_fail_field(err, 400, MSG_FIELD_BAD_CONTROL, key);
		goto out;
	}
	if (json_object_get(obj, key) != NULL) {
		input_fail_field(err, 400, MSG_FIELD_DUPLICATE, key);
		goto out;
	}
	input_set(obj, key, json_stringn(val, vlen));
	rc = 0;
out:
	return rc;
}

int form_parse(const char *s, size_t len, json_t **out, struct input_error *err)
{
	json_t *obj = json_object();
	char *tmp = NULL;
	size_t i = 0, fields = 0;
	int rc = -1;

	*out = NULL;
	input_ok(err);
	if (obj == NULL)
		input_oom();
	if (s == NULL)
		len = 0;
	if (len > 0)
		tmp = xmalloc(len + 2);
	while (i < len) {
		const char *p = s + i, *amp = memchr(p, '&', len - i);
		size_t plen = amp ? (size_t)(amp - p) : len - i;

		i += plen + 1;
		if (plen == 0)          /* "a=1&&b=2", a trailing '&' */
			continue;
		if (++fields > INPUT_MAX_FIELDS) {
			input_fail(err, 413, MSG_BODY_BAD_FORM, NULL, 0);
			goto out;
		}
		if (form_pair(obj, p, plen, tmp, err) != 0)
			goto out;
	}
	*out = obj;
	obj = NULL;
	rc = 0;
out:
	free(tmp);
	json_decref(obj);
	return rc;
}

/* ------------------------------------------------------------ JSON bodies */

/* Deepest nesting of arrays and objects in JSON text (strings skipped).
 * Stops counting once past limit. */
static int json_depth(const char *s, size_t len, int limit)
{
	int depth = 0, max = 0, in_str = 0;

	for (size_t i = 0; i < len && max <= limit; i++) {
		char c = s[i];
		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = 0;
		} else if (c == '"') {
			in_str = 1;
		} else if (c == '{' || c == '[') {
			if (++depth > max)
				max = depth;
		} else if (c == '}' || c == ']') {
			depth--;
		}
	}
	return max;
}

/*
 * jansson names no key in its duplicate-key error, but its position is the
 * byte just after the key's closing quote.  Walks back to the opening quote
 * (inside a JSON string every '"' follows an odd run of backslashes) and
 * decodes that string token into err->field.
 */
static void json_dup_key(const char *s, size_t len, size_t pos, struct input_error *err)
{
	size_t close, q;
	json_t *k;

	if (pos < 2 || pos > len || s[pos - 1] != '"')
		return;
	close = pos - 1;
	for (q = close; q-- > 0;) {
		size_t bs = 0;
		if (s[q] != '"')
			continue;
		while (bs < q && s[q - 1 - bs] == '\\')
			bs++;
		if (bs % 2 == 0)
			break;
	}
	if (q == (size_t)-1)
		return;
	k = json_loadb(s + q, close - q + 1, JSON_DECODE_ANY, NULL);
	if (json_is_string(k))
		input_fail(err, 400, MSG_FIELD_DUPLICATE, json_string_value(k),
			   json_string_length(k));
	json_decref(k);
}

int json_body_parse(const char *s, size_t len, json_t **out, struct input_error *err)
{
	json_error_t je;
	json_t *v = NULL;
	int rc = -1;

	*out = NULL;
	input_ok(err);
	if (s == NULL)
		len = 0;
	if (json_depth(s, len, INPUT_MAX_DEPTH) > INPUT_MAX_DEPTH) {
		input_fail(err, 400, MSG_BODY_BAD_JSON, NULL, 0);
		goto out;
	}
	/* NUL in strings is refused unless JSON_ALLOW_NUL is given. */
	v = json_loadb(s ? s : "", len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
	if (v == NULL) {
		if (json_error_code(&je) == json_error_out_of_memory)
			input_oom();
		if (json_error_code(&je) == json_error_duplicate_key) {
			input_fail(err, 400, MSG_FIELD_DUPLICATE, NULL, 0);
			if (je.position >= 0)
				json_dup_key(s, len, (size_t)je.position, err);
		} else {
			input_fail(err, 400, MSG_BODY_BAD_JSON, NULL, 0);
		}
		goto out;
	}
	if (!json_is_object(v)) {
		input_fail(err, 400, MSG_BODY_NOT_OBJECT, NULL, 0);
		goto out;
	}
	*out = v;
	v = NULL;
	rc = 0;
out:
	json_decref(v);
	return rc;
}

/* ------------------------------------------------------------ input_check */

static const struct field_spec *spec_find(const struct field_spec *spec, const char *name)
{
	for (; spec->name != NULL; spec++)
		if (strcmp(spec->name, name) == 0)
			return spec;
	return NULL;
}

/* Strict decimal: optional '-', then digits only (no spaces, no '+'),
 * within long long. */
static int parse_int(const char *s, long long *v)
{
	const char *d = s[0] == '-' ? s + 1 : s;
	char *end;

	if (*d == '\0')
		return -1;
	for (const char *p = d; *p != '\0'; p++)
		if (*p < '0' || *p > '9')
			return -1;
	errno = 0;
	*v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	return 0;
}

static int parse_bool(const char *s, int *v)
{
	if (strcmp(s, "1") == 0 || strcmp(s, "on") == 0 || strcmp(s, "true") == 0)
		*v = 1;
	else if (strcmp(s, "0") == 0 || strcmp(s, "false") == 0)
		*v = 0;
	else
		return -1;
	return 0;
}

/* A malloc'd copy of v's text (len bytes, NUL-terminated) with the ASCII
 * spaces around it removed unless keep_spaces. */
static char *text_copy(const json_t *v, int keep_spaces, size_t *len)
{
	const char *s = json_string_value(v);
	size_t n = json_string_length(v), b = 0;
	char *t;

	if (!keep_spaces) {
		while (b < n && s[b] == ' ')
			b++;
		while (n > b && s[n - 1] == ' ')
			n--;
	}
	n -= b;
	t = xmalloc(n + 1);
	memcpy(t, s + b, n);
	t[n] = '\0';
	*len = n;
	return t;
}

/*
 * A text value t (len bytes, trimmed already): checked as text, then by its
 * type's validator, and normalised in place (FT_IDCARD: trailing x to X;
 * FT_USCC: upper case).  Returns MSG_NONE or why not.
 *
 * FT_PASSWORD is held to the text rules and the spec's limits only: the
 * same type serves sign-in and "current password" fields, where a strength
 * rule has no place, so handlers that set a password call
 * validate_password() themselves (they know the login to compare with).
 */
static int check_text(const struct field_spec *f, char *t, size_t len)
{
	size_t min = f->min > 0 ? (size_t)f->min : 0;
	size_t max = f->max > 0 ? (size_t)f->max
				: f->type == FT_TEXTAREA ? INPUT_TEXTAREA_MAX : INPUT_TEXT_MAX;
	int r, warned = 0;

	/* A NUL inside would hide the rest from the validators below. */
	if (memchr(t, '\0', len) != NULL)
		return MSG_FIELD_BAD_CONTROL;
	r = validate_text(t, len, min, max, f->type == FT_TEXTAREA);
	if (r != MSG_NONE)
		return r;
	switch (f->type) {
	case FT_TEXT:
	case FT_TEXTAREA:
		return MSG_NONE;
	case FT_CHOICE:
		for (size_t i = 0; f->choices != NULL && f->choices[i] != NULL; i++)
			if (strcmp(f->choices[i], t) == 0)
				return MSG_NONE;
		return MSG_FIELD_BAD_CHOICE;
	case FT_IDCARD:
		if (len == 18 && t[17] == 'x')
			t[17] = 'X';
		return validate_idcard(t);
	case FT_USCC:
		for (size_t i = 0; i < len; i++)
			if (t[i] >= 'a' && t[i] <= 'z')
				t[i] = (char)(t[i] - 'a' + 'A');
		/* A listed pilot code passes; the caller may ask
		 * validate_uscc_allow() again to show MSG_USCC_PILOT_ALLOWED. */
		return validate_uscc_allow(t, uscc_allow, &warned);
	case FT_PHONE:
		return validate_phone(t);
	case FT_EMAIL:
		return validate_email(t);
	case FT_LOGIN:
		return validate_login(t);
	case FT_PASSWORD:
		return MSG_NONE;
	case FT_DEPT_CODE:
		return validate_dept_code(t);
	case FT_DATE:
		return validate_date(t);
	case FT_INT:
	case FT_BOOL:
	case FT_FILE:
		break;
	}
	return MSG_FIELD_NOT_STRING;   /* not reached: INT, BOOL and FILE are not text */
}

static int check_int(const struct field_spec *f, json_t *obj, const json_t *v, int from_form)
{
	long long n;

	if (from_form) {
		if (parse_int(json_string_value(v), &n) != 0)
			return MSG_FIELD_NOT_INTEGER;
	} else if (json_is_integer(v)) {
		n = json_integer_value(v);
	} else {
		return MSG_FIELD_NOT_INTEGER;
	}
	if (f->min < f->max && (n < f->min || n > f->max))
		return MSG_FIELD_OUT_OF_RANGE;
	input_set(obj, f->name, json_integer(n));
	return MSG_NONE;
}

static int check_bool(const struct field_spec *f, json_t *obj, const json_t *v, int from_form)
{
	int b;

	if (from_form) {
		if (parse_bool(json_string_value(v), &b) != 0)
			return MSG_FIELD_NOT_BOOLEAN;
	} else if (json_is_boolean(v)) {
		b = json_is_true(v);
	} else {
		return MSG_FIELD_NOT_BOOLEAN;
	}
	input_set(obj, f->name, json_boolean(b));
	return MSG_NONE;
}

/*
 * One field of the spec.  Absent means: not there, JSON null, or (forms)
 * an empty string.  A text value that trims to nothing is absent too in a
 * form, and for a required field in JSON; an optional JSON "" is a value
 * and must be valid for its type.  Returns MSG_NONE or why not.
 */
static int check_field(const struct field_spec *f, json_t *obj, int from_form)
{
	json_t *v = json_object_get(obj, f->name);
	int required = (f->flags & FS_REQUIRED) != 0;
	char *t = NULL;
	size_t len;
	int r = MSG_NONE;

	if (f->type == FT_FILE) {
		/* Files are not text: the http layer holds them apart (req_upload)
		 * and checks FS_REQUIRED there. */
		if (v != NULL)
			r = MSG_FIELD_NOT_FILE;
		goto out;
	}
	if (v == NULL || json_is_null(v) ||
	    (from_form && json_is_string(v) && json_string_length(v) == 0))
		goto absent;
	if (from_form && !json_is_string(v)) {
		r = MSG_FIELD_NOT_STRING;
		goto out;
	}
	if (f->type == FT_INT) {
		r = check_int(f, obj, v, from_form);
		goto out;
	}
	if (f->type == FT_BOOL) {
		r = check_bool(f, obj, v, from_form);
		goto out;
	}
	if (!json_is_string(v)) {
		r = MSG_FIELD_NOT_STRING;
		goto out;
	}
	t = text_copy(v, f->type == FT_PASSWORD, &len);
	if (len == 0 && (from_form || required))
		goto absent;
	r = check_text(f, t, len);
	if (r == MSG_NONE)
		input_set(obj, f->name, json_stringn(t, len));
	goto out;
absent:
	if (required)
		r = MSG_FIELD_REQUIRED;
	else if (v != NULL)
		json_object_del(obj, f->name);
out:
	free(t);
	return r;
}

int input_check(const struct field_spec *spec, json_t *obj, int from_form,
		struct input_error *err)
{
	const char *key;
	json_t *v;
	int r, rc = -1;

	input_ok(err);
	if (!json_is_object(obj)) {
		input_fail(err, 400, MSG_BODY_NOT_OBJECT, NULL, 0);
		goto out;
	}
	json_object_foreach(obj, key, v) {
		if (spec_find(spec, key) == NULL) {
			input_fail_field(err, 400, MSG_FIELD_UNKNOWN, key);
			goto out;
		}
	}
	for (const struct field_spec *f = spec; f->name != NULL; f++) {
		r = check_field(f, obj, from_form);
		if (r != MSG_NONE) {
			input_fail_field(err, 400, (enum msg_id)r, f->name);
			goto out;
		}
	}
	rc = 0;
out:
	return rc;
}

/* ------------------------------------------------------------ cookies */

int cookie_get(const char *header, const char *name, char *out, size_t outlen)
{
	size_t nlen;
	const char *p = header;

	if (header == NULL || name == NULL || out == NULL || outlen == 0)
		return -1;
	nlen = strlen(name);
	while (*p != '\0') {
		const char *end, *eq, *vs, *ve;

		while (*p == ' ' || *p == '\t' || *p == ';')
			p++;
		if (*p == '\0')
			break;
		end = strchr(p, ';');
		if (end == NULL)
			end = p + strlen(p);
		eq = memchr(p, '=', (size_t)(end - p));
		if (eq != NULL && (size_t)(eq - p) == nlen && memcmp(p, name, nlen) == 0) {
			vs = eq + 1;
			ve = end;
			while (ve > vs && (ve[-1] == ' ' || ve[-1] == '\t'))
				ve--;
			if (ve - vs >= 2 && vs[0] == '"' && ve[-1] == '"') {
				vs++;
				ve--;
			}
			size_t n = (size_t)(ve - vs);
			if (n > outlen - 1)
				n = outlen - 1;
			memcpy(out, vs, n);
			out[n] = '\0';
			return 0;
		}
		p = end;
	}
	return -1;
}
