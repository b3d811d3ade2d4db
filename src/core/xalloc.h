/*
 * xalloc: the one allocation family of the daemon.
 *
 * Every function here aborts the process with a message when memory is
 * exhausted, so callers never check for NULL.  Memory returned by the x*
 * functions is owned by the caller and released with free().
 *
 * An arena is a per-request pool: every allocation made from it is released
 * at once by arena_free().  Individual allocations are never freed.
 */
#ifndef YZ_XALLOC_H
#define YZ_XALLOC_H

#include <stdarg.h>
#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

struct arena;

struct arena *arena_new(void);
void *arena_alloc(struct arena *a, size_t n);   /* zeroed, 16-aligned */
char *arena_strdup(struct arena *a, const char *s);
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_printf(struct arena *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Releases every allocation of the arena and the arena itself; NULL is a no-op. */
void arena_free(struct arena *a);

#endif
