/*
 * csvw: CSV fields (see csvw.h).
 */
#include "core/csvw.h"
#include "core/buf.h"

#include <string.h>

int csvw_formula(const char *s)
{
	return s != NULL && (*s == '=' || *s == '+' || *s == '-' || *s == '@' || *s == '\t' || *s == '\r');
}

/* Writes s as a field through put(arg, bytes, n); 0 or -1. */
static int field(const char *s, int guard, int (*put)(void *, const char *, size_t), void *arg)
{
	if (s == NULL)
		return 0;
	int formula = guard && csvw_formula(s);
	if (!formula && strpbrk(s, ",\"\r\n") == NULL)
		return put(arg, s, strlen(s));
	if (put(arg, "\"", 1) != 0 || (formula && put(arg, "'", 1) != 0))
		return -1;
	for (const char *p = s; *p;) {
		const char *q = strchr(p, '"');
		size_t n = q ? (size_t)(q - p) + 1 : strlen(p);
		if (put(arg, p, n) != 0 || (q && put(arg, "\"", 1) != 0))
			return -1;
		p += n;
	}
	return put(arg, "\"", 1);
}

static int put_buf(void *arg, const char *p, size_t n)
{
	return buf_add(arg, p, n);
}

static int put_file(void *arg, const char *p, size_t n)
{
	return fwrite(p, 1, n, arg) == n ? 0 : -1;
}

int csvw_add(struct buf *b, const char *s, int guard)
{
	return field(s, guard, put_buf, b);
}

int csvw_put(FILE *f, const char *s, int guard)
{
	return field(s, guard, put_file, f);
}
