/*
 * tmpl: a small logic-less template engine that escapes by default.
 *
 * Syntax (mustache-like, a strict subset):
 *   {{name}}          value at a dotted path (a.b.c), HTML-escaped; strings,
 *                     integers, reals (shortest form), true -> "true"; null/absent -> ""
 *   {{&name_html}}    unescaped; allowed only for names ending in "_html"
 *                     (a compile-time error otherwise)
 *   {{#name}}..{{/name}}  array: once per element with the element pushed as
 *                     context; object or other truthy value: once with it pushed;
 *                     false/null/absent/""/0/empty array: skipped
 *   {{^name}}..{{/name}}  rendered only when name is falsy as above
 *   {{.}}             the current context value itself (escaped)
 *   {{@MSG_ID}}       a message from the catalogue (escaped); unknown ids are
 *                     compile-time errors
 *   {{>partial}}      another template of the same set, rendered with the
 *                     current context (depth limited to 8)
 *   {{! comment }}
 * Name lookup walks the context stack outward, as in mustache.
 *
 * Templates are compiled once (tmpl_set_load) and are then read-only, so a
 * set may be shared by every thread.
 */
#ifndef YZ_TMPL_H
#define YZ_TMPL_H

#include <jansson.h>

#include "core/buf.h"
#include "core/embed.h"

struct tmpl_set;

/*
 * Compiles every file of files (ended by name == NULL) whose name ends in
 * ".html"; a template's name is its file name without ".html"
 * ("portal/login.html" -> "portal/login").  Every partial referenced must
 * exist in the set.  On error returns -1 and *err (malloc'd) names the file,
 * the line and the problem.
 */
int tmpl_set_load(const struct embed_file *files, struct tmpl_set **out, char **err);
/* Compiles one template from text (tests, fuzzing); partials resolve inside set. */
int tmpl_set_add(struct tmpl_set *set, const char *name, const char *text, size_t len, char **err);
struct tmpl_set *tmpl_set_new(void);
void tmpl_set_free(struct tmpl_set *set);
int tmpl_exists(const struct tmpl_set *set, const char *name);

/* Renders template name with ctx (borrowed) appending to out.  -1 when the
 * template is unknown or out reached its maximum. */
int tmpl_render(const struct tmpl_set *set, const char *name, json_t *ctx, struct buf *out);

#endif
