/*
 * validate: pure validators (see validate.h).  Nothing here allocates; the
 * only outside state read is the clock (an 身份证号 birth date may not lie
 * in the future).
 */
#include "core/validate.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* ------------------------------------------------------------------ UTF-8 */

/*
 * Length of the well-formed UTF-8 sequence at s (at most n bytes available),
 * or 0 when it is malformed: a stray continuation byte, an overlong form,
 * a surrogate (U+D800..U+DFFF), a code point above U+10FFFF, or a sequence
 * cut short.  The ranges are those of Unicode table 3-7.  *cp gets the code
 * point.
 */
static size_t utf8_seq(const unsigned char *s, size_t n, uint32_t *cp)
{
	unsigned char c = s[0];
	unsigned char lo = 0x80, hi = 0xBF;
	size_t len;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xC2 && c <= 0xDF) {
		len = 2;
		*cp = c & 0x1Fu;
	} else if (c >= 0xE0 && c <= 0xEF) {
		len = 3;
		*cp = c & 0x0Fu;
		if (c == 0xE0)
			lo = 0xA0;      /* overlong below U+0800 */
		else if (c == 0xED)
			hi = 0x9F;      /* surrogates */
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4;
		*cp = c & 0x07u;
		if (c == 0xF0)
			lo = 0x90;      /* overlong below U+10000 */
		else if (c == 0xF4)
			hi = 0x8F;      /* above U+10FFFF */
	} else {
		return 0;               /* 80..C1 (continuation, overlong lead), F5..FF */
	}
	if (n < len)
		return 0;
	if (s[1] < lo || s[1] > hi)
		return 0;
	*cp = (*cp << 6) | (s[1] & 0x3Fu);
	for (size_t i = 2; i < len; i++) {
		if (s[i] < 0x80 || s[i] > 0xBF)
			return 0;
		*cp = (*cp << 6) | (s[i] & 0x3Fu);
	}
	return len;
}

int validate_utf8(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	uint32_t cp;

	while (i < len) {
		if (p[i] < 0x80) {      /* ASCII runs are the common case */
			i++;
			continue;
		}
		size_t n = utf8_seq(p + i, len - i, &cp);
		if (n == 0)
			return MSG_FIELD_BAD_UTF8;
		i += n;
	}
	return MSG_NONE;
}

size_t utf8_seq_len(const char *s, size_t n)
{
	uint32_t cp;
	return utf8_seq((const unsigned char *)s, n, &cp);
}

size_t utf8_chars(const char *s, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xC0u) != 0x80u)
			n++;
	return n;
}

int validate_text(const char *s, size_t len, size_t min_chars, size_t max_chars, int multiline)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, chars = 0;
	uint32_t cp;

	if (s == NULL)
		len = 0;
	while (i < len) {
		size_t n = utf8_seq(p + i, len - i, &cp);
		if (n == 0)
			return MSG_FIELD_BAD_UTF8;
		if (cp < 0x20) {
			if (!(multiline && (cp == '\n' || cp == '\r' || cp == '\t')))
				return MSG_FIELD_BAD_CONTROL;
		} else if (cp >= 0x7F && cp <= 0x9F) {
			return MSG_FIELD_BAD_CONTROL;   /* DEL and C1 */
		}
		i += n;
		chars++;
	}
	if (chars < min_chars)
		return MSG_FIELD_TOO_SHORT;
	if (max_chars != 0 && chars > max_chars)
		return MSG_FIELD_TOO_LONG;
	return MSG_NONE;
}

/* ------------------------------------------------------------ small helpers */

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int is_alpha(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static int all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_digit(s[i]))
			return 0;
	return 1;
}

static int digits_value(const char *s, size_t n)
{
	int v = 0;

	for (size_t i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

static int is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int real_date(int y, int m, int d)
{
	static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	if (m < 1 || m > 12 || d < 1)
		return 0;
	if (m == 2 && is_leap(y))
		return d <= 29;
	return d <= mdays[m - 1];
}

/* Length of s, but stops counting past max so an endless string costs little. */
static size_t bounded_len(const char *s, size_t max)
{
	return s == NULL ? 0 : strnlen(s, max + 1);
}

/* ------------------------------------------------------------ 身份证号 */

static const int idcard_weights[17] = { 7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2 };

/* Province-level codes of GB/T 2260 (the first two digits). */
static int idcard_province(int p)
{
	return (p >= 11 && p <= 15) || (p >= 21 && p <= 23) || (p >= 31 && p <= 37) ||
	       (p >= 41 && p <= 46) || (p >= 50 && p <= 54) || (p >= 61 && p <= 65) ||
	       p == 71 || p == 81 || p == 82;
}

char idcard_check_char(const char *first17)
{
	int sum = 0;

	if (first17 == NULL)
		return '\0';
	for (int i = 0; i < 17; i++) {
		if (!is_digit(first17[i]))
			return '\0';
		sum += (first17[i] - '0') * idcard_weights[i];
	}
	return "10X98765432"[sum % 11];
}

int validate_idcard(const char *s)
{
	struct tm now;
	time_t t;
	int y, m, d;

	if (bounded_len(s, 18) != 18)
		return MSG_IDCARD_LENGTH;
	if (!all_digits(s, 17) || !(is_digit(s[17]) || s[17] == 'X'))
		return MSG_IDCARD_CHARS;
	/* A person is registered at county level: the province must exist and
	 * the city/county digits cannot be the province's own 0000. */
	if (!idcard_province(digits_value(s, 2)) || memcmp(s + 2, "0000", 4) == 0)
		return MSG_IDCARD_REGION;
	y = digits_value(s + 6, 4);
	m = digits_value(s + 10, 2);
	d = digits_value(s + 12, 2);
	if (y < 1900 || !real_date(y, m, d))
		return MSG_IDCARD_BIRTH;
	t = time(NULL);
	if (gmtime_r(&t, &now) != NULL) {
		long today = (now.tm_year + 1900L) * 10000L + (now.tm_mon + 1L) * 100L + now.tm_mday;
		if (y * 10000L + m * 100L + d > today)
			return MSG_IDCARD_BIRTH;
	}
	if (idcard_check_char(s) != s[17])
		return MSG_IDCARD_CHECK;
	return MSG_NONE;
}

void idcard_mask(const char *s, char *out)
{
	if (bounded_len(s, 18) != 18) {
		memcpy(out, "****", 5);
		return;
	}
	memcpy(out, s, 6);
	memset(out + 6, '*', 8);
	memcpy(out + 14, s + 14, 4);
	out[18] = '\0';
}

/* ------------------------------------------------------- 统一社会信用代码 */

static const char uscc_set[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";   /* 31 chars */
static const int uscc_weights[17] = {
	1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28
};
static const int org_weights[8] = { 3, 7, 9, 10, 5, 8, 4, 2 };

/* Value of c in the 31-character set, -1 when c is not in it. */
static int uscc_value(char c)
{
	if (c == '\0')
		return -1;
	const char *p = strchr(uscc_set, c);
	return p == NULL ? -1 : (int)(p - uscc_set);
}

char uscc_check_char(const char *first17)
{
	int sum = 0;

	if (first17 == NULL)
		return '\0';
	for (int i = 0; i < 17; i++) {
		int v = uscc_value(first17[i]);
		if (v < 0)
			return '\0';
		sum += v * uscc_weights[i];
	}
	return uscc_set[(31 - sum % 31) % 31];
}

/* GB 11714: digits are worth themselves, letters A..Z 10..35. */
char orgcode_check_char(const char *first8)
{
	int sum = 0, c9;

	if (first8 == NULL)
		return '\0';
	for (int i = 0; i < 8; i++) {
		char c = first8[i];
		int v;
		if (is_digit(c))
			v = c - '0';
		else if (c >= 'A' && c <= 'Z')
			v = c - 'A' + 10;
		else
			return '\0';
		sum += v * org_weights[i];
	}
	c9 = 11 - sum % 11;
	if (c9 == 10)
		return 'X';
	if (c9 == 11)
		return '0';
	return (char)('0' + c9);
}

/* Length and character set only: the part an allow-list cannot excuse. */
static int uscc_form(const char *s)
{
	if (bounded_len(s, 18) != 18)
		return MSG_USCC_LENGTH;
	for (int i = 0; i < 18; i++)
		if (uscc_value(s[i]) < 0)
			return MSG_USCC_CHARS;
	return MSG_NONE;
}

int validate_uscc(const char *s)
{
	int r = uscc_form(s);

	if (r != MSG_NONE)
		return r;
	if (uscc_check_char(s) != s[17])
		return MSG_USCC_CHECK;
	if (orgcode_check_char(s + 8) != s[16])
		return MSG_USCC_ORG_CHECK;
	return MSG_NONE;
}

int validate_uscc_allow(const char *s, const char *const *allow, int *warned)
{
	int r = validate_uscc(s);

	if (warned != NULL)
		*warned = 0;
	if ((r == MSG_USCC_CHECK || r == MSG_USCC_ORG_CHECK) && allow != NULL) {
		for (size_t i = 0; allow[i] != NULL; i++) {
			if (strcmp(allow[i], s) == 0) {
				if (warned != NULL)
					*warned = 1;
				return MSG_NONE;
			}
		}
	}
	return r;
}

/* ------------------------------------------------------------ the others */

int validate_phone(const char *s)
{
	if (bounded_len(s, 11) != 11 || s[0] != '1' || s[1] < '3' || s[1] > '9' ||
	    !all_digits(s, 11))
		return MSG_PHONE_FORMAT;
	return MSG_NONE;
}

static int email_local_char(char c)
{
	return is_digit(c) || is_alpha(c) || (c != '\0' && strchr("!#$%&'*+/=?^_`{|}~-.", c) != NULL);
}

/*
 * Pragmatic address check: dot-atom local part (1-64 chars, RFC 5322 atext,
 * no leading, trailing or doubled dot), '@', a domain of at least two
 * LDH labels (1-63 chars, no leading or trailing '-') whose last label is
 * letters only, at least two; 254 chars at most.  Quoted local parts and
 * address literals are refused: no person types them into a form.
 */
int validate_email(const char *s)
{
	size_t len = bounded_len(s, 254), at, i, label = 0, labels = 0, tld_alpha = 1;

	if (len == 0 || len > 254)
		return MSG_EMAIL_FORMAT;
	for (at = 0; at < len && s[at] != '@'; at++)
		if (!email_local_char(s[at]))
			return MSG_EMAIL_FORMAT;
	if (at == 0 || at == len || at > 64 || s[0] == '.' || s[at - 1] == '.')
		return MSG_EMAIL_FORMAT;
	for (i = 1; i < at; i++)
		if (s[i] == '.' && s[i - 1] == '.')
			return MSG_EMAIL_FORMAT;
	for (i = at + 1; i <= len; i++) {
		char c = i < len ? s[i] : '.';
		if (c == '.') {
			if (label == 0 || label > 63 || s[i - 1] == '-')
				return MSG_EMAIL_FORMAT;
			labels++;
			if (i == len && (!tld_alpha || label < 2))
				return MSG_EMAIL_FORMAT;
			label = 0;
			tld_alpha = 1;
			continue;
		}
		if (!(is_digit(c) || is_alpha(c) || c == '-'))
			return MSG_EMAIL_FORMAT;
		if (label == 0 && c == '-')
			return MSG_EMAIL_FORMAT;
		if (!is_alpha(c))
			tld_alpha = 0;
		label++;
	}
	if (labels < 2)
		return MSG_EMAIL_FORMAT;
	return MSG_NONE;
}

int validate_login(const char *s)
{
	size_t len = bounded_len(s, 32);

	if (len < 3 || len > 32 || !(is_alpha(s[0]) || is_digit(s[0])))
		return MSG_LOGIN_FORMAT;
	for (size_t i = 0; i < len; i++)
		if (!(is_alpha(s[i]) || is_digit(s[i]) || s[i] == '_' || s[i] == '.'))
			return MSG_LOGIN_FORMAT;
	return MSG_NONE;
}

/* At least 10 characters (code points, so 10 汉字 will do), and not the
 * login name itself in any letter case. */
int validate_password(const char *pw, const char *login)
{
	size_t len;

	if (pw == NULL)
		return MSG_PASSWORD_WEAK;
	len = strlen(pw);
	if (validate_utf8(pw, len) != MSG_NONE)
		return MSG_FIELD_BAD_UTF8;
	if (utf8_chars(pw, len) < 10)
		return MSG_PASSWORD_WEAK;
	if (login != NULL && strcasecmp(pw, login) == 0)
		return MSG_PASSWORD_WEAK;
	return MSG_NONE;
}

int validate_dept_code(const char *s)
{
	size_t len = bounded_len(s, 32);

	if (len < 1 || len > 32)
		return MSG_DEPT_CODE_FORMAT;
	for (size_t i = 0; i < len; i++)
		if (!(is_alpha(s[i]) || is_digit(s[i]) || s[i] == '-'))
			return MSG_DEPT_CODE_FORMAT;
	return MSG_NONE;
}

int validate_date(const char *s)
{
	int y;

	if (bounded_len(s, 10) != 10 || !all_digits(s, 4) || s[4] != '-' ||
	    !all_digits(s + 5, 2) || s[7] != '-' || !all_digits(s + 8, 2))
		return MSG_DATE_FORMAT;
	y = digits_value(s, 4);
	if (y < 1 || !real_date(y, digits_value(s + 5, 2), digits_value(s + 8, 2)))
		return MSG_DATE_FORMAT;
	return MSG_NONE;
}
