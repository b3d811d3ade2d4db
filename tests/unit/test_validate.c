/*
 * Unit tests of core/validate.
 *
 * The check characters are recomputed here by a second, deliberately plain
 * implementation written from the standards' own wording (GB 11643 §5.2,
 * GB 32100 §5.2, GB 11714 §5), so the tests never trust validate.c to
 * grade itself; real published codes are checked as well.
 */
#include "testutil.h"

#include <time.h>

#include "core/validate.h"

/* ------------------------------------------------ the second implementation */

/* GB 11643: W_i = 2^(18-i) mod 11 for i = 18..2; a1 = (12 - S mod 11) mod 11. */
static char t_idcard_check(const char *s)
{
	int sum = 0, w = 1;

	for (int i = 16; i >= 0; i--) {
		w = (w * 2) % 11;        /* 2^(17-i) mod 11 */
		sum += (s[i] - '0') * w;
	}
	int a1 = (12 - sum % 11) % 11;
	return a1 == 10 ? 'X' : (char)('0' + a1);
}

/* v as exactly width decimal digits, zero-padded (no terminator). */
static void t_digits(char *out, int v, int width)
{
	for (int i = width - 1; i >= 0; i--, v /= 10)
		out[i] = (char)('0' + v % 10);
}

static void t_idcard_make(char out[19], const char *first17)
{
	memcpy(out, first17, 17);
	out[17] = t_idcard_check(out);
	out[18] = '\0';
}

/* GB 32100: the 31 characters; weights W_i = 3^(i-1) mod 31. */
static int t_uscc_val(char c)
{
	static const char set[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";
	for (int i = 0; i < 31; i++)
		if (set[i] == c)
			return i;
	return -1;
}

static char t_uscc_char(int v)
{
	return "0123456789ABCDEFGHJKLMNPQRTUWXY"[v];
}

static char t_uscc_check(const char *s)
{
	int sum = 0, w = 1;

	for (int i = 0; i < 17; i++) {
		sum += t_uscc_val(s[i]) * w;
		w = (w * 3) % 31;
	}
	return t_uscc_char((31 - sum % 31) % 31);
}

/* GB 11714: W = 3 7 9 10 5 8 4 2, letters A=10 .. Z=35; C9 = 11 - S mod 11. */
static char t_org_check(const char *s)
{
	static const int w[8] = { 3, 7, 9, 10, 5, 8, 4, 2 };
	int sum = 0;

	for (int i = 0; i < 8; i++) {
		int v = s[i] >= 'A' ? s[i] - 'A' + 10 : s[i] - '0';
		sum += v * w[i];
	}
	int c9 = 11 - sum % 11;
	return c9 == 10 ? 'X' : c9 == 11 ? '0' : (char)('0' + c9);
}

/* prefix8 (authority, type, region) + org8: a code both checks accept. */
static void t_uscc_make(char out[19], const char *prefix8, const char *org8)
{
	memcpy(out, prefix8, 8);
	memcpy(out + 8, org8, 8);
	out[16] = t_org_check(org8);
	out[17] = t_uscc_check(out);
	out[18] = '\0';
}

/* ------------------------------------------------------------ UTF-8, text */

#define U8(lit) validate_utf8(lit, sizeof(lit) - 1)

static void test_utf8_valid(void **state)
{
	(void)state;
	assert_int_equal(U8(""), MSG_NONE);
	assert_int_equal(U8("abc"), MSG_NONE);
	assert_int_equal(U8("中文"), MSG_NONE);
	assert_int_equal(U8("\xC2\x80"), MSG_NONE);              /* U+0080 */
	assert_int_equal(U8("\xDF\xBF"), MSG_NONE);              /* U+07FF */
	assert_int_equal(U8("\xE0\xA0\x80"), MSG_NONE);          /* U+0800 */
	assert_int_equal(U8("\xED\x9F\xBF"), MSG_NONE);          /* U+D7FF */
	assert_int_equal(U8("\xEE\x80\x80"), MSG_NONE);          /* U+E000 */
	assert_int_equal(U8("\xEF\xBF\xBF"), MSG_NONE);          /* U+FFFF */
	assert_int_equal(U8("\xF0\x90\x80\x80"), MSG_NONE);      /* U+10000 */
	assert_int_equal(U8("\xF0\x9F\x98\x80"), MSG_NONE);      /* emoji */
	assert_int_equal(U8("\xF4\x8F\xBF\xBF"), MSG_NONE);      /* U+10FFFF */
	assert_int_equal(U8("a\0b"), MSG_NONE);                  /* U+0000 is UTF-8 */
}

static void test_utf8_invalid(void **state)
{
	(void)state;
	/* overlongs */
	assert_int_equal(U8("\xC0\x80"), MSG_FIELD_BAD_UTF8);
	assert_int_equal(U8("\xC1\xBF"), MSG_FIELD_BAD_UTF8);
	assert_int_equal(U8("\xE0\x80\xAF"), MSG_FIELD_BAD_UTF8);
	assert_int_equal(U8("\xE0\x9F\xBF"), MSG_FIELD_BAD_UTF8);
	assert_int_equal(U8("\xF0\x80\x80\xAF"), MSG_FIELD_BAD_UTF8);
	assert_int_equal(U8("\xF0\x8F\xBF\xBF"), MSG_FIELD_BAD_UTF8);
	/* surrogates */
	assert_int_equal(U8("\xED\xA0\x80"), MSG_FIELD_BAD_UTF8);
	assert_int_equal(U8("\xED\xBF\xBF"), MSG_FIELD_BAD_UTF8);
	assert_int_equal(U8("\xED\xA0\xBD\xED\xB8\x80"), MSG_FIELD_BAD_UTF8);   /* CESU-8 pair */
	/* above U+10FFFF */
	assert_int_equal(U8("\xF4\x90\x80\x80"), MSG_FIELD_BAD_UTF8);
	assert_int_equal(U8("\xF5\x80\x80\x80"), MSG_FIELD_BAD_UTF8);
	assert_int_equal(U8("\xF8\x88\x80\x80\x80"), MSG_FIELD_BAD_UTF8);
	assert_int_equal(U8("\xFF"), MSG_FIELD_BAD_UTF8);
	assert_int_equal(U8("\xFE"), MSG_FIELD_BAD_UTF8);
	/* truncated, stray continuation */
	assert_int_equal(U8("\xE4\xB8"), MSG_FIELD_BAD_UTF8);
	assert_int_equal(U8("\xE4\xB8" "a"), MSG_FIELD_BAD_UTF8);
	assert_int_equal(U8("\xE4"), MSG_FIELD_BAD_UTF8);
	assert_int_equal(U8("ab\xF0\x9F\x98"), MSG_FIELD_BAD_UTF8);
	assert_int_equal(U8("\x80"), MSG_FIELD_BAD_UTF8);
	assert_int_equal(U8("a\xBF"), MSG_FIELD_BAD_UTF8);
	assert_int_equal(U8("\xC2\xC2\x80"), MSG_FIELD_BAD_UTF8);
	/* the length is honoured: a valid prefix of invalid bytes */
	assert_int_equal(validate_utf8("中\xFF", 3), MSG_NONE);
	assert_int_equal(validate_utf8("中", 2), MSG_FIELD_BAD_UTF8);
}

static void test_utf8_chars(void **state)
{
	(void)state;
	assert_int_equal(utf8_chars("", 0), 0);
	assert_int_equal(utf8_chars("abc", 3), 3);
	assert_int_equal(utf8_chars("中文ab", strlen("中文ab")), 4);
	assert_int_equal(utf8_chars("\xF0\x9F\x98\x80x", 5), 2);
}

#define TXT(lit, mn, mx, ml) validate_text(lit, sizeof(lit) - 1, mn, mx, ml)

static void test_text(void **state)
{
	(void)state;
	assert_int_equal(TXT("张三", 0, 0, 0), MSG_NONE);
	assert_int_equal(TXT("a\x01", 0, 0, 0), MSG_FIELD_BAD_CONTROL);
	assert_int_equal(TXT("a\0b", 0, 0, 1), MSG_FIELD_BAD_CONTROL);
	assert_int_equal(TXT("\x1F", 0, 0, 1), MSG_FIELD_BAD_CONTROL);
	assert_int_equal(TXT("\x7F", 0, 0, 1), MSG_FIELD_BAD_CONTROL);        /* DEL */
	assert_int_equal(TXT("\xC2\x80", 0, 0, 1), MSG_FIELD_BAD_CONTROL);    /* U+0080 */
	assert_int_equal(TXT("\xC2\x85", 0, 0, 1), MSG_FIELD_BAD_CONTROL);    /* NEL */
	assert_int_equal(TXT("\xC2\x9F", 0, 0, 1), MSG_FIELD_BAD_CONTROL);    /* U+009F */
	assert_int_equal(TXT("\xC2\xA0", 0, 0, 0), MSG_NONE);                 /* NBSP */
	assert_int_equal(TXT("a\nb", 0, 0, 0), MSG_FIELD_BAD_CONTROL);
	assert_int_equal(TXT("a\tb", 0, 0, 0), MSG_FIELD_BAD_CONTROL);
	assert_int_equal(TXT("a\r\nb\tc", 0, 0, 1), MSG_NONE);
	assert_int_equal(TXT("a\x0B", 0, 0, 1), MSG_FIELD_BAD_CONTROL);       /* VT */
	assert_int_equal(TXT("\xC0\x80", 0, 0, 1), MSG_FIELD_BAD_UTF8);
	/* limits count code points, not bytes */
	assert_int_equal(TXT("中文字", 0, 3, 0), MSG_NONE);
	assert_int_equal(TXT("中文字", 0, 2, 0), MSG_FIELD_TOO_LONG);
	assert_int_equal(TXT("中文字", 3, 3, 0), MSG_NONE);
	assert_int_equal(TXT("中文字", 4, 0, 0), MSG_FIELD_TOO_SHORT);
	assert_int_equal(TXT("", 1, 0, 0), MSG_FIELD_TOO_SHORT);
	assert_int_equal(TXT("", 0, 0, 0), MSG_NONE);
	assert_int_equal(validate_text(NULL, 0, 0, 0, 0), MSG_NONE);
}

/* ------------------------------------------------------------ 身份证号 */

static void test_idcard_valid(void **state)
{
	char id[19];

	(void)state;
	/* The worked example of GB 11643-1999 itself. */
	assert_int_equal(idcard_check_char("11010519491231002"), 'X');
	assert_int_equal(validate_idcard("11010519491231002X"), MSG_NONE);
	/* Every province-level code, born on a leap day. */
	static const int provinces[] = {
		11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43,
		44, 45, 46, 50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82
	};
	for (size_t i = 0; i < sizeof(provinces) / sizeof(provinces[0]); i++) {
		char first[18];
		memcpy(first, "xx01022000022901x", 18);
		t_digits(first, provinces[i], 2);
		t_digits(first + 16, (int)(i % 10), 1);
		t_idcard_make(id, first);
		assert_int_equal(idcard_check_char(first), id[17]);
		assert_int_equal(validate_idcard(id), MSG_NONE);
	}
	/* Every check value 0..10 agrees with the second implementation. */
	int seen_x = 0;
	for (int n = 0; n < 200; n++) {
		char first[18];
		memcpy(first, "3201021985061xxxx", 18);
		t_digits(first + 13, n, 4);
		t_idcard_make(id, first);
		assert_int_equal(idcard_check_char(first), id[17]);
		assert_int_equal(validate_idcard(id), MSG_NONE);
		seen_x |= id[17] == 'X';
	}
	assert_true(seen_x);
	t_idcard_make(id, "11010519000101001");     /* first day allowed */
	assert_int_equal(validate_idcard(id), MSG_NONE);
	assert_int_equal(idcard_check_char("1101051949123100A"), '\0');
}

static void test_idcard_invalid(void **state)
{
	char id[19];

	(void)state;
	assert_int_equal(validate_idcard(NULL), MSG_IDCARD_LENGTH);
	assert_int_equal(validate_idcard(""), MSG_IDCARD_LENGTH);
	assert_int_equal(validate_idcard("110105194912310"), MSG_IDCARD_LENGTH);        /* 15-digit old form */
	assert_int_equal(validate_idcard("11010519491231002"), MSG_IDCARD_LENGTH);
	assert_int_equal(validate_idcard("11010519491231002X0"), MSG_IDCARD_LENGTH);
	/* letters */
	assert_int_equal(validate_idcard("11010519491231002A"), MSG_IDCARD_CHARS);
	assert_int_equal(validate_idcard("1101051949123100XX"), MSG_IDCARD_CHARS);
	assert_int_equal(validate_idcard("11010519491231002x"), MSG_IDCARD_CHARS);     /* lower-case x */
	assert_int_equal(validate_idcard("11O10519491231002X"), MSG_IDCARD_CHARS);
	assert_int_equal(validate_idcard(" 1010519491231002X"), MSG_IDCARD_CHARS);
	/* region: valid check characters, so only the region is wrong */
	t_idcard_make(id, "99010519491231002");
	assert_int_equal(validate_idcard(id), MSG_IDCARD_REGION);
	t_idcard_make(id, "16010519491231002");
	assert_int_equal(validate_idcard(id), MSG_IDCARD_REGION);
	t_idcard_make(id, "00010519491231002");
	assert_int_equal(validate_idcard(id), MSG_IDCARD_REGION);
	t_idcard_make(id, "72010519491231002");
	assert_int_equal(validate_idcard(id), MSG_IDCARD_REGION);
	t_idcard_make(id, "11000019491231002");     /* a province, not a county */
	assert_int_equal(validate_idcard(id), MSG_IDCARD_REGION);
	/* birth date */
	t_idcard_make(id, "11010519990230002");     /* 30 February */
	assert_int_equal(validate_idcard(id), MSG_IDCARD_BIRTH);
	t_idcard_make(id, "11010519000229002");     /* 1900 was not a leap year */
	assert_int_equal(validate_idcard(id), MSG_IDCARD_BIRTH);
	t_idcard_make(id, "11010518991231002");     /* before 1900 */
	assert_int_equal(validate_idcard(id), MSG_IDCARD_BIRTH);
	t_idcard_make(id, "11010519991301002");
	assert_int_equal(validate_idcard(id), MSG_IDCARD_BIRTH);
	t_idcard_make(id, "11010519990400002");
	assert_int_equal(validate_idcard(id), MSG_IDCARD_BIRTH);
	t_idcard_make(id, "11010519990431002");
	assert_int_equal(validate_idcard(id), MSG_IDCARD_BIRTH);
	/* check character */
	assert_int_equal(validate_idcard("110105194912310021"), MSG_IDCARD_CHECK);
	t_idcard_make(id, "11010519491231012");
	id[17] = id[17] == '0' ? '1' : '0';
	assert_int_equal(validate_idcard(id), MSG_IDCARD_CHECK);
	/* a single-digit mistake is always caught (the point of MOD 11-2) */
	t_idcard_make(id, "32010219850613123");
	for (int i = 0; i < 17; i++) {
		char bad[19];
		memcpy(bad, id, sizeof(bad));
		bad[i] = bad[i] == '9' ? '8' : (char)(bad[i] + 1);
		int r = validate_idcard(bad);
		assert_true(r == MSG_IDCARD_CHECK || r == MSG_IDCARD_REGION || r == MSG_IDCARD_BIRTH);
	}
}

static void test_idcard_dates_today(void **state)
{
	char first[18], id[19];
	time_t now = time(NULL);
	struct tm tm;

	(void)state;
	/* today (UTC) is allowed */
	gmtime_r(&now, &tm);
	memcpy(first, "110105", 6);
	assert_int_equal(strftime(first + 6, 9, "%Y%m%d", &tm), 8);
	memcpy(first + 14, "001", 4);
	t_idcard_make(id, first);
	assert_int_equal(validate_idcard(id), MSG_NONE);
	/* tomorrow is not */
	now += 86400;
	gmtime_r(&now, &tm);
	memcpy(first, "110105", 6);
	assert_int_equal(strftime(first + 6, 9, "%Y%m%d", &tm), 8);
	memcpy(first + 14, "001", 4);
	t_idcard_make(id, first);
	assert_int_equal(validate_idcard(id), MSG_IDCARD_BIRTH);
	t_idcard_make(id, "11010520991231001");
	assert_int_equal(validate_idcard(id), MSG_IDCARD_BIRTH);
	/* leap days */
	t_idcard_make(id, "11010520000229001");
	assert_int_equal(validate_idcard(id), MSG_NONE);
	t_idcard_make(id, "11010519960229001");
	assert_int_equal(validate_idcard(id), MSG_NONE);
	t_idcard_make(id, "11010519970229001");
	assert_int_equal(validate_idcard(id), MSG_IDCARD_BIRTH);
}

static void test_idcard_mask(void **state)
{
	char out[19];

	(void)state;
	idcard_mask("11010519491231002X", out);
	assert_string_equal(out, "110105********002X");
	idcard_mask("1101051949", out);
	assert_string_equal(out, "****");
	idcard_mask("11010519491231002X1", out);
	assert_string_equal(out, "****");
	idcard_mask(NULL, out);
	assert_string_equal(out, "****");
}

/* ------------------------------------------------------- 统一社会信用代码 */

/*
 * Real codes as shown in public business-registration records.  Each one
 * passes both checks of the second implementation above; a code mistyped
 * here would pass both only by a 1-in-341 chance, so together they pin the
 * weights, the character values and the check formulas.
 */
static const char *const real_uscc[] = {
	"91350100M000100Y43",   /* the example code widely quoted for GB 32100 */
	"91330100799655058B",   /* 阿里巴巴（中国）有限公司 */
	"9144030071526726XG",   /* 腾讯科技（深圳）有限公司: org check X */
	"91110000802100433B",   /* 百度在线网络技术（北京）有限公司 */
	"914403001922038216",   /* 华为技术有限公司 */
	NULL
};

static void test_uscc_real(void **state)
{
	(void)state;
	for (int i = 0; real_uscc[i] != NULL; i++) {
		const char *c = real_uscc[i];
		/* the second implementation agrees first */
		assert_int_equal(t_uscc_check(c), c[17]);
		assert_int_equal(t_org_check(c + 8), c[16]);
		assert_int_equal(uscc_check_char(c), c[17]);
		assert_int_equal(orgcode_check_char(c + 8), c[16]);
		assert_int_equal(validate_uscc(c), MSG_NONE);
	}
}

static void test_uscc_generated(void **state)
{
	static const char alnum[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";
	char code[19], org[9];
	int seen_x = 0, seen_0 = 0;
	unsigned x = 12345;

	(void)state;
	for (int n = 0; n < 2000; n++) {
		for (int i = 0; i < 8; i++) {
			x = x * 1103515245u + 12345u;
			org[i] = alnum[(x >> 16) % 31];
		}
		org[8] = '\0';
		t_uscc_make(code, n % 2 ? "91110108" : "Y1320500", org);
		assert_int_equal(orgcode_check_char(org), code[16]);
		assert_int_equal(uscc_check_char(code), code[17]);
		assert_int_equal(validate_uscc(code), MSG_NONE);
		seen_x |= code[16] == 'X';
		seen_0 |= code[16] == '0';
	}
	assert_true(seen_x);
	assert_true(seen_0);
	/* GB 11714 letters above the 31-character set still have values */
	assert_int_equal(orgcode_check_char("ZZZZZZZZ"), t_org_check("ZZZZZZZZ"));
	assert_int_equal(orgcode_check_char("0000000a"), '\0');
	assert_int_equal(uscc_check_char("91350100M000100YI"), '\0');
	assert_int_equal(uscc_check_char(NULL), '\0');
}

static void test_uscc_invalid(void **state)
{
	char code[19];

	(void)state;
	assert_int_equal(validate_uscc(NULL), MSG_USCC_LENGTH);
	assert_int_equal(validate_uscc(""), MSG_USCC_LENGTH);
	assert_int_equal(validate_uscc("91350100M000100Y4"), MSG_USCC_LENGTH);
	assert_int_equal(validate_uscc("91350100M000100Y433"), MSG_USCC_LENGTH);
	/* I O S V Z, lower case, others */
	static const char bad[] = { 'I', 'O', 'S', 'V', 'Z', 'a', 'm', '-', ' ', '*' };
	for (size_t i = 0; i < sizeof(bad); i++) {
		memcpy(code, "91350100M000100Y43", 19);
		code[8] = bad[i];
		assert_int_equal(validate_uscc(code), MSG_USCC_CHARS);
		memcpy(code, "91350100M000100Y43", 19);
		code[17] = bad[i];
		assert_int_equal(validate_uscc(code), MSG_USCC_CHARS);
	}
	/* MOD 31 check */
	assert_int_equal(validate_uscc("91350100M000100Y44"), MSG_USCC_CHECK);
	assert_int_equal(validate_uscc("91350100M000100Y4X"), MSG_USCC_CHECK);
	/* good MOD 31, bad organisation code check: change C9, recompute C18 */
	memcpy(code, "91350100M000100Y43", 19);
	code[16] = '5';
	code[17] = t_uscc_check(code);
	assert_int_equal(uscc_check_char(code), code[17]);
	assert_int_equal(validate_uscc(code), MSG_USCC_ORG_CHECK);
	/* a transposition in the org code is caught by MOD 31 first */
	assert_int_equal(validate_uscc("91350100M001000Y43"), MSG_USCC_CHECK);
}

static void test_uscc_allow(void **state)
{
	char pilot[19], pilot2[19];
	int warned = 7;

	(void)state;
	memcpy(pilot, "91350100M000100Y43", 19);
	pilot[16] = '5';
	pilot[17] = t_uscc_check(pilot);             /* fails only the org check */
	memcpy(pilot2, "91350100M000100Y43", 19);
	pilot2[17] = '4';                            /* fails MOD 31 */
	const char *const allow[] = { pilot, pilot2, "91350100M000100YI3", "123", NULL };

	assert_int_equal(validate_uscc_allow(pilot, allow, &warned), MSG_NONE);
	assert_int_equal(warned, 1);
	assert_int_equal(validate_uscc_allow(pilot2, allow, &warned), MSG_NONE);
	assert_int_equal(warned, 1);
	/* a valid code is no warning even when listed */
	const char *const allow2[] = { "91350100M000100Y43", NULL };
	assert_int_equal(validate_uscc_allow("91350100M000100Y43", allow2, &warned), MSG_NONE);
	assert_int_equal(warned, 0);
	/* not listed, no list */
	assert_int_equal(validate_uscc_allow(pilot, allow2, &warned), MSG_USCC_ORG_CHECK);
	assert_int_equal(warned, 0);
	assert_int_equal(validate_uscc_allow(pilot2, NULL, &warned), MSG_USCC_CHECK);
	assert_int_equal(warned, 0);
	/* the list cannot excuse length or characters */
	assert_int_equal(validate_uscc_allow("91350100M000100YI3", allow, &warned), MSG_USCC_CHARS);
	assert_int_equal(warned, 0);
	assert_int_equal(validate_uscc_allow("123", allow, &warned), MSG_USCC_LENGTH);
	assert_int_equal(warned, 0);
	/* warned may be NULL */
	assert_int_equal(validate_uscc_allow(pilot, allow, NULL), MSG_NONE);
}

/* ------------------------------------------------------------ the others */

static void test_phone(void **state)
{
	(void)state;
	assert_int_equal(validate_phone("13800138000"), MSG_NONE);
	assert_int_equal(validate_phone("19912345678"), MSG_NONE);
	assert_int_equal(validate_phone("12800138000"), MSG_PHONE_FORMAT);
	assert_int_equal(validate_phone("23800138000"), MSG_PHONE_FORMAT);
	assert_int_equal(validate_phone("1380013800"), MSG_PHONE_FORMAT);
	assert_int_equal(validate_phone("138001380001"), MSG_PHONE_FORMAT);
	assert_int_equal(validate_phone("1380013800a"), MSG_PHONE_FORMAT);
	assert_int_equal(validate_phone("+8613800138000"), MSG_PHONE_FORMAT);
	assert_int_equal(validate_phone(""), MSG_PHONE_FORMAT);
	assert_int_equal(validate_phone(NULL), MSG_PHONE_FORMAT);
}

/* 'a' * local, '@', ('b' * label, '.') * labels, tld */
static void make_email(char *out, size_t local, size_t label, int labels, const char *tld)
{
	size_t p = 0;

	memset(out, 'a', local);
	p = local;
	out[p++] = '@';
	for (int i = 0; i < labels; i++) {
		memset(out + p, 'b', label);
		p += label;
		out[p++] = '.';
	}
	memcpy(out + p, tld, strlen(tld) + 1);
}

static void test_email(void **state)
{
	char longer[300];

	(void)state;
	assert_int_equal(validate_email("zhang.san@example.gov.cn"), MSG_NONE);
	assert_int_equal(validate_email("a+tag@mail-1.example.com"), MSG_NONE);
	assert_int_equal(validate_email("x@ab.cd"), MSG_NONE);
	assert_int_equal(validate_email(""), MSG_EMAIL_FORMAT);
	assert_int_equal(validate_email(NULL), MSG_EMAIL_FORMAT);
	assert_int_equal(validate_email("plain"), MSG_EMAIL_FORMAT);
	assert_int_equal(validate_email("@example.com"), MSG_EMAIL_FORMAT);
	assert_int_equal(validate_email("a@"), MSG_EMAIL_FORMAT);
	assert_int_equal(validate_email("a@b"), MSG_EMAIL_FORMAT);
	assert_int_equal(validate_email("a@b@c.com"), MSG_EMAIL_FORMAT);
	assert_int_equal(validate_email(".a@b.com"), MSG_EMAIL_FORMAT);
	assert_int_equal(validate_email("a.@b.com"), MSG_EMAIL_FORMAT);
	assert_int_equal(validate_email("a..b@b.com"), MSG_EMAIL_FORMAT);
	assert_int_equal(validate_email("a b@b.com"), MSG_EMAIL_FORMAT);
	assert_int_equal(validate_email("a@b..com"), MSG_EMAIL_FORMAT);
	assert_int_equal(validate_email("a@.b.com"), MSG_EMAIL_FORMAT);
	assert_int_equal(validate_email("a@b.com."), MSG_EMAIL_FORMAT);
	assert_int_equal(validate_email("a@-b.com"), MSG_EMAIL_FORMAT);
	assert_int_equal(validate_email("a@b-.com"), MSG_EMAIL_FORMAT);
	assert_int_equal(validate_email("a@b.c"), MSG_EMAIL_FORMAT);
	assert_int_equal(validate_email("a@b.c0m"), MSG_EMAIL_FORMAT);
	assert_int_equal(validate_email("a@b.com\r\nBcc: x@y.com"), MSG_EMAIL_FORMAT);
	assert_int_equal(validate_email("张@例子.中国"), MSG_EMAIL_FORMAT);
	/* 64-char local part, 63-char label, 254 chars in all are the limits */
	make_email(longer, 64, 61, 3, "cn");
	assert_int_equal(strlen(longer), 253);
	assert_int_equal(validate_email(longer), MSG_NONE);
	make_email(longer, 64, 61, 3, "com");
	assert_int_equal(strlen(longer), 254);
	assert_int_equal(validate_email(longer), MSG_NONE);
	make_email(longer, 64, 61, 3, "comm");
	assert_int_equal(strlen(longer), 255);
	assert_int_equal(validate_email(longer), MSG_EMAIL_FORMAT);
	make_email(longer, 65, 5, 1, "cn");
	assert_int_equal(validate_email(longer), MSG_EMAIL_FORMAT);
	make_email(longer, 1, 63, 1, "cn");
	assert_int_equal(validate_email(longer), MSG_NONE);
	make_email(longer, 1, 64, 1, "cn");
	assert_int_equal(validate_email(longer), MSG_EMAIL_FORMAT);
}

static void test_login_password_dept(void **state)
{
	(void)state;
	assert_int_equal(validate_login("abc"), MSG_NONE);
	assert_int_equal(validate_login("zhang_san.01"), MSG_NONE);
	assert_int_equal(validate_login("9lives"), MSG_NONE);
	assert_int_equal(validate_login("ab"), MSG_LOGIN_FORMAT);
	assert_int_equal(validate_login("_abc"), MSG_LOGIN_FORMAT);
	assert_int_equal(validate_login(".abc"), MSG_LOGIN_FORMAT);
	assert_int_equal(validate_login("ab-c"), MSG_LOGIN_FORMAT);
	assert_int_equal(validate_login("ab c"), MSG_LOGIN_FORMAT);
	assert_int_equal(validate_login("张三丰"), MSG_LOGIN_FORMAT);
	assert_int_equal(validate_login("a2345678901234567890123456789012"), MSG_NONE);
	assert_int_equal(validate_login("a23456789012345678901234567890123"), MSG_LOGIN_FORMAT);
	assert_int_equal(validate_login(NULL), MSG_LOGIN_FORMAT);

	assert_int_equal(validate_password("correct horse", "zhang"), MSG_NONE);
	assert_int_equal(validate_password("123456789", NULL), MSG_PASSWORD_WEAK);
	assert_int_equal(validate_password("1234567890", NULL), MSG_NONE);
	assert_int_equal(validate_password("zhangsan01", "zhangsan01"), MSG_PASSWORD_WEAK);
	assert_int_equal(validate_password("ZhangSan01", "zhangsan01"), MSG_PASSWORD_WEAK);
	assert_int_equal(validate_password("一二三四五六七八九十", NULL), MSG_NONE);   /* 10 chars, 30 bytes */
	assert_int_equal(validate_password("一二三四五六七八九", NULL), MSG_PASSWORD_WEAK);
	assert_int_equal(validate_password("\xC0\x80\xC0\x80\xC0\x80\xC0\x80\xC0\x80\xC0\x80", NULL),
			 MSG_FIELD_BAD_UTF8);
	assert_int_equal(validate_password(NULL, NULL), MSG_PASSWORD_WEAK);

	assert_int_equal(validate_dept_code("A"), MSG_NONE);
	assert_int_equal(validate_dept_code("gov-330100-fgw"), MSG_NONE);
	assert_int_equal(validate_dept_code(""), MSG_DEPT_CODE_FORMAT);
	assert_int_equal(validate_dept_code("a_b"), MSG_DEPT_CODE_FORMAT);
	assert_int_equal(validate_dept_code("a b"), MSG_DEPT_CODE_FORMAT);
	assert_int_equal(validate_dept_code("12345678901234567890123456789012"), MSG_NONE);
	assert_int_equal(validate_dept_code("123456789012345678901234567890123"), MSG_DEPT_CODE_FORMAT);
	assert_int_equal(validate_dept_code(NULL), MSG_DEPT_CODE_FORMAT);
}

static void test_date(void **state)
{
	(void)state;
	assert_int_equal(validate_date("2024-02-29"), MSG_NONE);
	assert_int_equal(validate_date("2000-02-29"), MSG_NONE);
	assert_int_equal(validate_date("1999-12-31"), MSG_NONE);
	assert_int_equal(validate_date("2023-02-29"), MSG_DATE_FORMAT);
	assert_int_equal(validate_date("1900-02-29"), MSG_DATE_FORMAT);
	assert_int_equal(validate_date("2024-04-31"), MSG_DATE_FORMAT);
	assert_int_equal(validate_date("2024-13-01"), MSG_DATE_FORMAT);
	assert_int_equal(validate_date("2024-00-10"), MSG_DATE_FORMAT);
	assert_int_equal(validate_date("2024-01-00"), MSG_DATE_FORMAT);
	assert_int_equal(validate_date("0000-01-01"), MSG_DATE_FORMAT);
	assert_int_equal(validate_date("2024-1-01"), MSG_DATE_FORMAT);
	assert_int_equal(validate_date("2024/01/01"), MSG_DATE_FORMAT);
	assert_int_equal(validate_date("20240101"), MSG_DATE_FORMAT);
	assert_int_equal(validate_date("2024-01-01 "), MSG_DATE_FORMAT);
	assert_int_equal(validate_date("2024-01-0a"), MSG_DATE_FORMAT);
	assert_int_equal(validate_date(""), MSG_DATE_FORMAT);
	assert_int_equal(validate_date(NULL), MSG_DATE_FORMAT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utf8_valid),
		cmocka_unit_test(test_utf8_invalid),
		cmocka_unit_test(test_utf8_chars),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_idcard_valid),
		cmocka_unit_test(test_idcard_invalid),
		cmocka_unit_test(test_idcard_dates_today),
		cmocka_unit_test(test_idcard_mask),
		cmocka_unit_test(test_uscc_real),
		cmocka_unit_test(test_uscc_generated),
		cmocka_unit_test(test_uscc_invalid),
		cmocka_unit_test(test_uscc_allow),
		cmocka_unit_test(test_phone),
		cmocka_unit_test(test_email),
		cmocka_unit_test(test_login_password_dept),
		cmocka_unit_test(test_date),
	};
	return cmocka_run_group_tests_name("validate", tests, NULL, NULL);
}
