/*
 * value: checking, canonical text, stored form and masking of one registry
 * value (registry.h, "values").
 *
 * Checking is strict and never coerces: a value is either already in a
 * form the type accepts or refused with the reason.  The only rewrites are
 * the documented ones that do not change the value: booleans become
 * "true"/"false", a decimal gets exactly `scale` fraction digits, "-0"
 * becomes "0".  None of the functions here allocates on the common path.
 */
#include "engines/registry/registry.h"

#include "core/input.h"
#include "core/validate.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define REG_TEXT_DEFAULT_MAX 200

static const int64_t pow10_tab[] = {
	1, 10, 100, 1000, 10000, 100000, 1000000,
};

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Copies s (n bytes) into out (cap) with a NUL; truncates at a UTF-8
 * character boundary when it does not fit. */
static void copy_out(char *out, size_t cap, const char *s, size_t n)
{
	if (cap == 0)
		return;
	if (n >= cap) {
		n = cap - 1;
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	}
	memcpy(out, s, n);
	out[n] = '\0';
}

/*
 * Parses [-]digits with no leading zero (except "0") into *v.
 * Returns MSG_NONE, MSG_REG_NOT_INTEGER or MSG_REG_INT_RANGE.
 */
static enum msg_id parse_int(const char *s, size_t len, int64_t *v)
{
	int neg = 0;
	size_t i = 0;
	uint64_t acc = 0, lim;

	if (len > 0 && s[0] == '-') {
		neg = 1;
		i = 1;
	}
	if (i == len)
		return MSG_REG_NOT_INTEGER;
	if (s[i] == '0' && len - i > 1)
		return MSG_REG_NOT_INTEGER;    /* leading zero */
	lim = neg ? (uint64_t)INT64_MAX + 1u : (uint64_t)INT64_MAX;
	for (; i < len; i++) {
		if (!is_digit(s[i]))
			return MSG_REG_NOT_INTEGER;
		unsigned d = (unsigned)(s[i] - '0');
		if (acc > (lim - d) / 10u)
			return MSG_REG_INT_RANGE;
		acc = acc * 10u + d;
	}
	if (neg)
		*v = acc == (uint64_t)INT64_MAX + 1u ? INT64_MIN : -(int64_t)acc;
	else
		*v = (int64_t)acc;
	return MSG_NONE;
}

/* Canonical decimal text of units (10^-scale) into out; returns its length. */
static size_t format_units(int64_t units, int scale, char *out, size_t cap)
{
	char tmp[48];
	uint64_t mag = units < 0 ? (uint64_t)0 - (uint64_t)units : (uint64_t)units;
	uint64_t p = (uint64_t)pow10_tab[scale];
	uint64_t ip = mag / p, fp = mag % p;
	int n;

	if (scale > 0)
		n = snprintf(tmp, sizeof tmp, "%s%" PRIu64 ".%0*" PRIu64, units < 0 ? "-" : "", ip,
			     scale, fp);
	else
		n = snprintf(tmp, sizeof tmp, "%s%" PRIu64, units < 0 ? "-" : "", ip);
	if (n < 0)
		n = 0;
	copy_out(out, cap, tmp, (size_t)n);
	return strlen(out);
}

/*
 * Parses a decimal: [-]int[.frac], int without leading zeros (except "0"),
 * frac 1..scale digits, into units of 10^-scale.
 */
static enum msg_id parse_decimal(const char *s, size_t len, int scale, int64_t *units)
{
	int neg = 0;
	size_t i = 0, ib, ie, nfrac = 0;
	uint64_t acc = 0, lim;

	if (scale < 0 || scale > 6)
		return MSG_REG_NOT_DECIMAL;
	if (len > 0 && s[0] == '-') {
		neg = 1;
		i = 1;
	}
	ib = i;
	while (i < len && is_digit(s[i]))
		i++;
	ie = i;
	if (ie == ib)
		return MSG_REG_NOT_DECIMAL;
	if (s[ib] == '0' && ie - ib > 1)
		return MSG_REG_NOT_DECIMAL;    /* leading zero */
	if (i < len) {
		if (s[i] != '.')
			return MSG_REG_NOT_DECIMAL;
		i++;
		size_t fb = i;
		while (i < len && is_digit(s[i]))
			i++;
		if (i != len || i == fb)
			return MSG_REG_NOT_DECIMAL;
		nfrac = i - fb;
		if (nfrac > (size_t)scale)
			return MSG_REG_DECIMAL_SCALE;
	}
	lim = neg ? (uint64_t)INT64_MAX + 1u : (uint64_t)INT64_MAX;
	/* Integer digits, then the fraction digits padded with zeros to scale. */
	for (size_t k = ib; k < ie; k++) {
		unsigned d = (unsigned)(s[k] - '0');
		if (acc > (lim - d) / 10u)
			return MSG_REG_DECIMAL_RANGE;
		acc = acc * 10u + d;
	}
	for (int k = 0; k < scale; k++) {
		unsigned d = (size_t)k < nfrac ? (unsigned)(s[ie + 1 + (size_t)k] - '0') : 0u;
		if (acc > (lim - d) / 10u)
			return MSG_REG_DECIMAL_RANGE;
		acc = acc * 10u + d;
	}
	if (neg)
		*units = acc == (uint64_t)INT64_MAX + 1u ? INT64_MIN : -(int64_t)acc;
	else
		*units = (int64_t)acc;
	return MSG_NONE;
}

/* 0\d{2,3}-\d{7,8} */
static int is_landline(const char *s, size_t len)
{
	size_t i = 0, a, b;

	if (len < 1 || s[0] != '0')
		return 0;
	while (i < len && is_digit(s[i]))
		i++;
	a = i;                    /* area code length including the 0 */
	if (a < 3 || a > 4 || i >= len || s[i] != '-')
		return 0;
	i++;
	b = i;
	while (i < len && is_digit(s[i]))
		i++;
	return i == len && i - b >= 7 && i - b <= 8;
}

/* The deployment's allow-list lives in core/input (input_set_uscc_allow);
 * input_check with an FT_USCC spec is how to consult it.  Only reached for
 * a well-formed code whose check characters fail, so rarely. */
static int uscc_allowed(const char *s)
{
	static const struct field_spec spec[] = {
		{ "v", FT_USCC, FS_REQUIRED, 0, 0, NULL, "统一社会信用代码" },
		{ NULL, FT_TEXT, 0, 0, 0, NULL, NULL },
	};
	struct input_error err;
	json_t *obj = json_pack("{s:s}", "v", s);
	int ok;

	if (obj == NULL)
		return 0;
	ok = input_check(spec, obj, 0, &err) == 0;
	json_decref(obj);
	return ok;
}

/* Blanks a person cannot see at either end: ASCII white space, no-break
 * space, ideographic space (全角空格) and a stray byte order mark. */
static int is_space_start(const unsigned char *s, size_t len)
{
	if (len == 0)
		return 0;
	if (s[0] == ' ' || s[0] == '\t' || s[0] == '\n' || s[0] == '\r' || s[0] == '\v' ||
	    s[0] == '\f')
		return 1;
	if (len >= 2 && s[0] == 0xC2 && s[1] == 0xA0)                        /* U+00A0 */
		return 1;
	return len >= 3 && ((s[0] == 0xE3 && s[1] == 0x80 && s[2] == 0x80) ||  /* U+3000 */
			    (s[0] == 0xEF && s[1] == 0xBB && s[2] == 0xBF));    /* U+FEFF */
}

static int is_space_end(const unsigned char *s, size_t len)
{
	if (len == 0)
		return 0;
	unsigned char c = s[len - 1];
	if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f')
		return 1;
	if (len >= 2 && s[len - 2] == 0xC2 && s[len - 1] == 0xA0)
		return 1;
	return len >= 3 && ((s[len - 3] == 0xE3 && s[len - 2] == 0x80 && s[len - 1] == 0x80) ||
			    (s[len - 3] == 0xEF && s[len - 2] == 0xBB && s[len - 1] == 0xBF));
}

enum msg_id reg_value_check(const struct reg_field *f, const char *text, char *canon, size_t cap,
			    int *is_null)
{
	size_t len;
	enum msg_id r;
	int64_t v;

	if (cap > 0)
		canon[0] = '\0';
	*is_null = 0;
	if (text == NULL || text[0] == '\0') {
		*is_null = 1;
		return f->required ? MSG_REG_REQUIRED : MSG_NONE;
	}
	len = strnlen(text, REG_VALUE_MAX + 1);
	if (len > REG_VALUE_MAX)
		return MSG_REG_TOO_LONG;
	if (cap < len + 1 || cap < 32)
		return MSG_REG_TOO_LONG;   /* caller's buffer below the contract */
	if (validate_utf8(text, len) != MSG_NONE)
		return MSG_FIELD_BAD_UTF8;
	if (is_space_start((const unsigned char *)text, len) ||
	    is_space_end((const unsigned char *)text, len))
		return MSG_REG_SPACES;

	switch (f->type) {
	case RT_TEXT:
	case RT_ADDRESS: {
		size_t max = f->max_chars > 0 ? (size_t)f->max_chars : REG_TEXT_DEFAULT_MAX;
		r = (enum msg_id)validate_text(text, len, 0, max, 0);
		if (r != MSG_NONE)
			return r;
		break;
	}
	case RT_INTEGER:
		r = parse_int(text, len, &v);
		if (r != MSG_NONE)
			return r;
		if (v == 0 && text[0] == '-') {    /* "-0" */
			copy_out(canon, cap, "0", 1);
			return MSG_NONE;
		}
		break;
	case RT_DECIMAL:
		r = parse_decimal(text, len, f->scale, &v);
		if (r != MSG_NONE)
			return r;
		format_units(v, f->scale, canon, cap);
		return MSG_NONE;
	case RT_DATE:
		if (len != 10 || validate_date(text) != MSG_NONE)
			return MSG_REG_BAD_DATE;
		break;
	case RT_ENUM: {
		int found = 0;
		for (int i = 0; i < f->nenum && !found; i++)
			found = f->enum_values[i] != NULL && strcmp(f->enum_values[i], text) == 0;
		if (!found)
			return MSG_REG_BAD_ENUM;
		break;
	}
	case RT_BOOL:
		if (strcmp(text, "true") == 0 || strcmp(text, "1") == 0 || strcmp(text, "是") == 0) {
			copy_out(canon, cap, "true", 4);
			return MSG_NONE;
		}
		if (strcmp(text, "false") == 0 || strcmp(text, "0") == 0 || strcmp(text, "否") == 0) {
			copy_out(canon, cap, "false", 5);
			return MSG_NONE;
		}
		return MSG_REG_NOT_BOOLEAN;
	case RT_IDCARD:
		if (len == 18 && text[17] == 'x')
			return MSG_REG_IDCARD_LOWER_X;
		r = (enum msg_id)validate_idcard(text);
		if (r != MSG_NONE)
			return r;
		break;
	case RT_USCC:
		for (size_t i = 0; i < len; i++)
			if (text[i] >= 'a' && text[i] <= 'z')
				return MSG_REG_USCC_LOWER;
		r = (enum msg_id)validate_uscc(text);
		if ((r == MSG_USCC_CHECK || r == MSG_USCC_ORG_CHECK) && uscc_allowed(text))
			r = MSG_NONE;
		if (r != MSG_NONE)
			return r;
		break;
	case RT_PHONE:
		if (validate_phone(text) != MSG_NONE && !is_landline(text, len))
			return MSG_REG_BAD_PHONE;
		break;
	case RT__MAX:
	default:
		return MSG_FIELD_BAD_FORMAT;
	}
	copy_out(canon, cap, text, len);
	return MSG_NONE;
}

void reg_value_format(const struct reg_field *f, const char *stored, char *out, size_t cap)
{
	int64_t v;

	if (cap == 0)
		return;
	if (stored == NULL) {
		out[0] = '\0';
		return;
	}
	switch (f->type) {
	case RT_DECIMAL:
		if (parse_int(stored, strlen(stored), &v) == MSG_NONE && f->scale >= 0 && f->scale <= 6) {
			format_units(v, f->scale, out, cap);
			return;
		}
		break;
	case RT_BOOL:
		if (strcmp(stored, "0") == 0 || strcmp(stored, "f") == 0 || strcmp(stored, "false") == 0)
			copy_out(out, cap, "false", 5);
		else
			copy_out(out, cap, "true", 4);
		return;
	default:
		break;
	}
	copy_out(out, cap, stored, strlen(stored));
}

/* Byte length of the first n characters of UTF-8 s (or all of it). */
static size_t utf8_prefix(const char *s, size_t len, size_t n)
{
	size_t i = 0;
	while (i < len && n > 0) {
		i++;
		while (i < len && ((unsigned char)s[i] & 0xC0) == 0x80)
			i++;
		n--;
	}
	return i;
}

void reg_value_mask(const struct reg_field *f, const char *canon, char *out, size_t cap)
{
	char tmp[64];
	size_t len, nch, keep;

	if (cap == 0)
		return;
	if (canon == NULL || canon[0] == '\0') {
		out[0] = '\0';
		return;
	}
	len = strlen(canon);
	switch (f->type) {
	case RT_IDCARD:
		idcard_mask(canon, tmp);
		copy_out(out, cap, tmp, strlen(tmp));
		return;
	case RT_PHONE: {
		const char *dash = strchr(canon, '-');
		if (dash == NULL && len == 11)
			snprintf(tmp, sizeof tmp, "%.3s****%s", canon, canon + 7);
		else if (dash != NULL && len - (size_t)(dash - canon) > 5 && dash - canon < 8)
			snprintf(tmp, sizeof tmp, "%.*s-****%s", (int)(dash - canon), canon,
				 canon + len - 4);
		else
			snprintf(tmp, sizeof tmp, "****");
		copy_out(out, cap, tmp, strlen(tmp));
		return;
	}
	case RT_TEXT: {
		/* Names: the first character, then one '*' per remaining character, at most 2. */
		nch = utf8_chars(canon, len);
		keep = utf8_prefix(canon, len, 1);
		size_t stars = nch > 1 ? (nch - 1 > 2 ? 2 : nch - 1) : 1;
		if (keep + stars + 1 > cap) {
			copy_out(out, cap, "****", 4);
			return;
		}
		memcpy(out, canon, keep);
		memset(out + keep, '*', stars);
		out[keep + stars] = '\0';
		return;
	}
	case RT_ADDRESS: {
		/* The first 6 characters (district level) then ****; a short address
		 * keeps only its first half so that the mask always hides something. */
		nch = utf8_chars(canon, len);
		size_t show = nch > 6 ? 6 : nch / 2;
		keep = utf8_prefix(canon, len, show);
		if (keep + 5 > cap) {
			copy_out(out, cap, "****", 4);
			return;
		}
		memcpy(out, canon, keep);
		memcpy(out + keep, "****", 5);
		return;
	}
	default:
		copy_out(out, cap, "****", 4);
		return;
	}
}

int reg_csv_guarded(enum reg_type t)
{
	return t == RT_TEXT || t == RT_ADDRESS || t == RT_ENUM;
}
