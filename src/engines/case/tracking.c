/*
 * Tracking codes (办件编号/查询码): see case.h.
 *
 * The check character: symbols are the indexes 0..31 of ALPHABET, taken as
 * elements of GF(32) = GF(2)[x]/(x^5 + x^2 + 1).  The interim starts at 0
 * and each symbol a moves it to r∘a = 2·r ⊕ a (2 being the element x).
 * This quasigroup is totally anti-symmetric — (c∘a)∘b = (c∘b)∘a means
 * 3·(a ⊕ b) = 0, so a = b — which is the property of Damm's algorithm: a
 * code is valid when the interim over all its characters is 0, and every
 * single substitution and every adjacent transposition changes the final
 * interim.  The check character of a body with interim r is 2·r.
 */
#include "engines/case/case.h"

#include <sodium.h>
#include <string.h>

static const char ALPHABET[] = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ";

/* Symbol of an upper-case character, -1 when not in the alphabet. */
static int sym(char c)
{
	const char *p;
	if (c == '\0')
		return -1;
	p = strchr(ALPHABET, c);
	return p ? (int)(p - ALPHABET) : -1;
}

/* 2·r in GF(32) with x^5 + x^2 + 1 (0x25). */
static unsigned gf_dbl(unsigned r)
{
	r <<= 1;
	if (r & 0x20u)
		r ^= 0x25u;
	return r & 0x1fu;
}

/* The interim over n symbols of s; -1 when a character is not in the alphabet. */
static int interim(const char *s, size_t n)
{
	unsigned r = 0;
	for (size_t i = 0; i < n; i++) {
		int v = sym(s[i]);
		if (v < 0)
			return -1;
		r = gf_dbl(r) ^ (unsigned)v;
	}
	return (int)r;
}

char case_tracking_check(const char *body, size_t n)
{
	int r = interim(body, n);
	if (r < 0)
		return '\0';
	return ALPHABET[gf_dbl((unsigned)r)];
}

void case_tracking_new(char out[CASE_TRACKING_LEN + 1])
{
	for (int i = 0; i < CASE_TRACKING_LEN - 1; i++)
		out[i] = ALPHABET[randombytes_uniform(32)];
	out[CASE_TRACKING_LEN - 1] = case_tracking_check(out, CASE_TRACKING_LEN - 1);
	out[CASE_TRACKING_LEN] = '\0';
}

int case_tracking_normalize(const char *in, char out[CASE_TRACKING_LEN + 1])
{
	size_t n = 0;
	if (in == NULL)
		return -1;
	for (size_t i = 0; in[i] != '\0'; i++) {
		char c = in[i];
		if (c == '-' || c == ' ' || c == '\t')
			continue;
		if (i > 64 || n == CASE_TRACKING_LEN)
			return -1;
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		if (sym(c) < 0)
			return -1;
		out[n++] = c;
	}
	out[n] = '\0';
	if (n != CASE_TRACKING_LEN)
		return -1;
	return interim(out, n) == 0 ? 0 : -1;
}

void case_tracking_print(const char *code, char out[CASE_TRACKING_PRINT_LEN + 1])
{
	size_t j = 0, n = strnlen(code, CASE_TRACKING_LEN);
	for (size_t i = 0; i < n; i++) {
		if (i == 4 || i == 8)
			out[j++] = '-';
		out[j++] = code[i];
	}
	out[j] = '\0';
}
