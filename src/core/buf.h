/*
 * buf: a growable byte buffer with a hard maximum.
 *
 * The buffer owns its data; buf_release() frees it and leaves the buffer
 * empty and reusable with the same maximum.  data is always NUL-terminated
 * once anything was added (the terminator is not counted in len).
 * Additions that would make len exceed max fail with -1 and leave the
 * buffer unchanged.
 */
#ifndef YZ_BUF_H
#define YZ_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max;
};

#define BUF_INIT(maxlen) { NULL, 0, 0, (maxlen) }

void buf_init(struct buf *b, size_t max);
int buf_add(struct buf *b, const void *p, size_t n);
int buf_addstr(struct buf *b, const char *s);
int buf_addch(struct buf *b, char c);
int buf_addf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* HTML-escapes s (& < > " ' and backtick) into b. */
int buf_add_html(struct buf *b, const char *s, size_t n);
void buf_reset(struct buf *b);      /* len = 0, keeps memory */
void buf_release(struct buf *b);    /* frees memory */
/* Hands the data to the caller (free() it); the buffer becomes empty. */
char *buf_detach(struct buf *b, size_t *len);

#endif
