/*
 * tmpl: compile once to a flat node list, render by walking it.
 *
 * A compiled template is four arrays owned by struct tmpl:
 *   nodes  one entry per text run, variable, section, partial;
 *          a section's body is the nodes [i + 1, node.b), so rendering
 *          never searches for a closing tag
 *   segs   the dotted path segments of every name, as (offset, length)
 *          into pool
 *   parts  one entry per {{>partial}}: its name and the template it
 *          resolves to (filled in by tmpl_link)
 *   pool   every literal byte: text runs, catalogue messages (already
 *          escaped at compile time), name segments
 * Adjacent literals (text, comments dropped, {{@ID}} messages) are merged
 * into one text node, so "a{{! c }}{{@SITE_NAME}}b" costs one buf_add.
 *
 * Rendering allocates nothing: the context stack is a fixed array on the C
 * stack (1 + 32 sections per template x 9 template levels), output goes to
 * the caller's buf.  A set is read-only once loaded; tmpl_set_add and
 * tmpl_set_load must not run concurrently with tmpl_render on the same set.
 *
 * On a render failure (-1) out is restored to its length at entry, so the
 * caller can render an error page into the same buffer.
 *
 * A render also stops with -1 after TMPL_MAX_STEPS node visits: a template
 * that recurses through partials over large arrays without producing output
 * would otherwise run for an unbounded time.
 */
#include "core/tmpl.h"
#include "core/msg.h"
#include "core/xalloc.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TMPL_MAX_NEST      32                 /* sections open at once, per template */
#define TMPL_MAX_DEPTH     8                  /* partials inside partials */
#define TMPL_MAX_TAG       128                /* bytes between {{ and }} */
#define TMPL_MAX_SRC       (4u << 20)         /* template source bytes */
#define TMPL_MAX_POOL      (16u << 20)        /* literal bytes after escaping */
#define TMPL_MAX_STEPS     (4u << 20)         /* node visits per render */
#define TMPL_STACK_MAX     (1 + TMPL_MAX_NEST * (TMPL_MAX_DEPTH + 1))

enum tmpl_op {
	TMPL_TEXT,        /* a = pool offset, b = length */
	TMPL_VAR,         /* a = first seg, nseg segments (0: "."), escaped */
	TMPL_RAW,         /* as TMPL_VAR, unescaped ({{&x_html}}) */
	TMPL_SECTION,     /* as TMPL_VAR; body is [i + 1, b) */
	TMPL_INVERTED,    /* as TMPL_SECTION */
	TMPL_PARTIAL,     /* b = index into parts */
};

struct tmpl_node {
	uint8_t op;
	uint8_t nseg;
	uint32_t a;
	uint32_t b;
};

struct tmpl_seg {
	uint32_t off;
	uint32_t len;
};

struct tmpl_part {
	const struct tmpl *t;     /* NULL until linked */
	uint32_t name;            /* pool offset, NUL-terminated */
	uint32_t line;
};

struct tmpl {
	char *name;               /* "portal/login" */
	char *label;              /* for messages: "portal/login.html" */
	struct tmpl_node *nodes;
	struct tmpl_seg *segs;
	struct tmpl_part *parts;
	char *pool;
	uint32_t nnodes, nsegs, nparts;
};

/* Open-addressing hash of templates by name; cap is a power of two. */
struct tmpl_set {
	struct tmpl **slot;
	size_t cap, n;
};

/* ---- set ---------------------------------------------------------------- */

static uint64_t tmpl_hash(const char *s)
{
	uint64_t h = 14695981039346656037ULL;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

static const struct tmpl *tmpl_find(const struct tmpl_set *set, const char *name)
{
	if (set == NULL || set->cap == 0 || name == NULL)
		return NULL;
	size_t mask = set->cap - 1;
	for (size_t i = tmpl_hash(name) & mask; set->slot[i] != NULL; i = (i + 1) & mask)
		if (strcmp(set->slot[i]->name, name) == 0)
			return set->slot[i];
	return NULL;
}

static void tmpl_place(struct tmpl **slot, size_t cap, struct tmpl *t)
{
	size_t mask = cap - 1;
	size_t i = tmpl_hash(t->name) & mask;
	while (slot[i] != NULL)
		i = (i + 1) & mask;
	slot[i] = t;
}

/* The caller has checked that no template of that name exists. */
static void tmpl_insert(struct tmpl_set *set, struct tmpl *t)
{
	if ((set->n + 1) * 2 > set->cap) {
		size_t cap = set->cap ? set->cap * 2 : 16;
		struct tmpl **slot = xcalloc(cap, sizeof(*slot));
		for (size_t i = 0; i < set->cap; i++)
			if (set->slot[i] != NULL)
				tmpl_place(slot, cap, set->slot[i]);
		free(set->slot);
		set->slot = slot;
		set->cap = cap;
	}
	tmpl_place(set->slot, set->cap, t);
	set->n++;
}

static void tmpl_free(struct tmpl *t)
{
	if (t == NULL)
		return;
	free(t->name);
	free(t->label);
	free(t->nodes);
	free(t->segs);
	free(t->parts);
	free(t->pool);
	free(t);
}

struct tmpl_set *tmpl_set_new(void)
{
	return xcalloc(1, sizeof(struct tmpl_set));
}

void tmpl_set_free(struct tmpl_set *set)
{
	if (set == NULL)
		return;
	for (size_t i = 0; i < set->cap; i++)
		tmpl_free(set->slot[i]);
	free(set->slot);
	free(set);
}

int tmpl_exists(const struct tmpl_set *set, const char *name)
{
	return tmpl_find(set, name) != NULL;
}

/*
 * Resolves every partial not yet resolved.  With err, the first partial
 * that names no template of the set is an error; without, it stays
 * unresolved and rendering it fails.
 */
static int tmpl_link(struct tmpl_set *set, char **err)
{
	for (size_t i = 0; i < set->cap; i++) {
		struct tmpl *t = set->slot[i];
		if (t == NULL)
			continue;
		for (uint32_t k = 0; k < t->nparts; k++) {
			struct tmpl_part *p = &t->parts[k];
			if (p->t != NULL)
				continue;
			p->t = tmpl_find(set, t->pool + p->name);
			if (p->t == NULL && err != NULL) {
				*err = xasprintf("%s:%u: unknown partial '%s'",
				    t->label, (unsigned)p->line, t->pool + p->name);
				return -1;
			}
		}
	}
	return 0;
}

/* ---- compiler ----------------------------------------------------------- */

struct tmpl_open {
	uint32_t node;
	unsigned line;
	const char *name;
	size_t len;
};

struct tmpl_comp {
	const char *label;
	unsigned line;
	struct tmpl *t;
	size_t ncap, scap, pcap;
	struct buf pool;
	long last_text;           /* text node that may still grow, or -1 */
	struct tmpl_open open[TMPL_MAX_NEST];
	int nopen;
	char *err;
};

static void tmpl_fail(struct tmpl_comp *c, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void tmpl_fail(struct tmpl_comp *c, unsigned line, const char *fmt, ...)
{
	char problem[512];
	va_list ap;
	if (c->err != NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(problem, sizeof problem, fmt, ap);
	va_end(ap);
	c->err = xasprintf("%s:%u: %s", c->label, line, problem);
}

static struct tmpl_node *tmpl_node_new(struct tmpl_comp *c, enum tmpl_op op)
{
	struct tmpl *t = c->t;
	if (t->nnodes == c->ncap) {
		c->ncap = c->ncap ? c->ncap * 2 : 32;
		t->nodes = xrealloc(t->nodes, c->ncap * sizeof(*t->nodes));
	}
	struct tmpl_node *n = &t->nodes[t->nnodes++];
	memset(n, 0, sizeof(*n));
	n->op = (uint8_t)op;
	c->last_text = -1;
	return n;
}

/* Appends literal bytes (escaped when html) to the current text run. */
static int tmpl_literal(struct tmpl_comp *c, const char *s, size_t n, int html)
{
	struct tmpl *t = c->t;
	size_t before = c->pool.len;
	if (n == 0)
		return 0;
	if ((html ? buf_add_html(&c->pool, s, n) : buf_add(&c->pool, s, n)) < 0) {
		tmpl_fail(c, c->line, "template too large");
		return -1;
	}
	if (c->last_text >= 0) {
		struct tmpl_node *last = &t->nodes[c->last_text];
		if ((size_t)last->a + last->b == before) {
			last->b += (uint32_t)(c->pool.len - before);
			return 0;
		}
	}
	struct tmpl_node *node = tmpl_node_new(c, TMPL_TEXT);
	node->a = (uint32_t)before;
	node->b = (uint32_t)(c->pool.len - before);
	c->last_text = (long)t->nnodes - 1;
	return 0;
}

/* Copies s into the pool, NUL-terminated; returns its offset or -1. */
static long tmpl_pool_str(struct tmpl_comp *c, const char *s, size_t n)
{
	size_t off = c->pool.len;
	if (buf_add(&c->pool, s, n) < 0 || buf_addch(&c->pool, '\0') < 0) {
		tmpl_fail(c, c->line, "template too large");
		return -1;
	}
	return (long)off;
}

static int tmpl_name_char(char ch, int partial)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' || ch == '-' ||
	    (partial && ch == '/');
}

/* Splits a dotted name into segments and appends a name node of op. */
static int tmpl_name_node(struct tmpl_comp *c, enum tmpl_op op, const char *s, size_t n)
{
	struct tmpl *t = c->t;
	uint32_t first = t->nsegs;
	unsigned nseg = 0;

	if (n == 1 && s[0] == '.')
		goto done;
	for (size_t i = 0; i <= n; i++) {
		size_t start = i;
		while (i < n && s[i] != '.')
			i++;
		if (i == start) {
			tmpl_fail(c, c->line, "bad name '%.*s': empty segment", (int)n, s);
			return -1;
		}
		long off = tmpl_pool_str(c, s + start, i - start);
		if (off < 0)
			return -1;
		if (t->nsegs == c->scap) {
			c->scap = c->scap ? c->scap * 2 : 32;
			t->segs = xrealloc(t->segs, c->scap * sizeof(*t->segs));
		}
		t->segs[t->nsegs].off = (uint32_t)off;
		t->segs[t->nsegs].len = (uint32_t)(i - start);
		t->nsegs++;
		nseg++;
	}
done:;
	struct tmpl_node *node = tmpl_node_new(c, op);
	node->a = first;
	node->nseg = (uint8_t)nseg;   /* at most 64: a tag has at most 128 bytes */
	return 0;
}

static int tmpl_partial(struct tmpl_comp *c, const char *s, size_t n)
{
	struct tmpl *t = c->t;
	long off = tmpl_pool_str(c, s, n);
	if (off < 0)
		return -1;
	if (t->nparts == c->pcap) {
		c->pcap = c->pcap ? c->pcap * 2 : 8;
		t->parts = xrealloc(t->parts, c->pcap * sizeof(*t->parts));
	}
	t->parts[t->nparts].t = NULL;
	t->parts[t->nparts].name = (uint32_t)off;
	t->parts[t->nparts].line = c->line;
	struct tmpl_node *node = tmpl_node_new(c, TMPL_PARTIAL);
	node->b = t->nparts++;
	return 0;
}

static int tmpl_ends_html(const char *s, size_t n)
{
	return n >= 5 && memcmp(s + n - 5, "_html", 5) == 0;
}

/* One tag: s[0..n) is what stands between "{{" and "}}" (not a comment). */
static int tmpl_tag(struct tmpl_comp *c, const char *s, size_t n)
{
	char sigil = 0;

	while (n > 0 && (s[0] == ' ' || s[0] == '\t')) {
		s++;
		n--;
	}
	if (n > 0 && s[0] != '\0' && strchr("#^/&@>", s[0]) != NULL) {
		sigil = s[0];
		s++;
		n--;
	}
	while (n > 0 && (s[0] == ' ' || s[0] == '\t')) {
		s++;
		n--;
	}
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (n == 0) {
		tmpl_fail(c, c->line, "empty tag");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (tmpl_name_char((char)ch, sigil == '>'))
			continue;
		if (ch == '{' || ch == '}')
			tmpl_fail(c, c->line, "bad character '%c' in tag: "
			    "triple braces are not supported, use {{&name_html}}", ch);
		else if (ch >= 0x20 && ch < 0x7f)
			tmpl_fail(c, c->line, "bad character '%c' in tag name", ch);
		else
			tmpl_fail(c, c->line, "bad byte 0x%02x in tag name", ch);
		return -1;
	}

	switch (sigil) {
	case '#':
	case '^':
		if (c->nopen == TMPL_MAX_NEST) {
			tmpl_fail(c, c->line, "sections nested deeper than %d", TMPL_MAX_NEST);
			return -1;
		}
		if (tmpl_name_node(c, sigil == '#' ? TMPL_SECTION : TMPL_INVERTED, s, n) < 0)
			return -1;
		c->open[c->nopen].node = c->t->nnodes - 1;
		c->open[c->nopen].line = c->line;
		c->open[c->nopen].name = s;
		c->open[c->nopen].len = n;
		c->nopen++;
		return 0;
	case '/': {
		if (c->nopen == 0) {
			tmpl_fail(c, c->line, "{{/%.*s}} closes no open section", (int)n, s);
			return -1;
		}
		struct tmpl_open *o = &c->open[c->nopen - 1];
		if (o->len != n || memcmp(o->name, s, n) != 0) {
			tmpl_fail(c, c->line, "{{/%.*s}} does not match {{%c%.*s}} opened on line %u",
			    (int)n, s, c->t->nodes[o->node].op == TMPL_SECTION ? '#' : '^',
			    (int)o->len, o->name, o->line);
			return -1;
		}
		c->t->nodes[o->node].b = c->t->nnodes;
		c->nopen--;
		c->last_text = -1;
		return 0;
	}
	case '&':
		if (!tmpl_ends_html(s, n)) {
			tmpl_fail(c, c->line, "{{&%.*s}}: unescaped output is allowed only "
			    "for names ending in _html", (int)n, s);
			return -1;
		}
		return tmpl_name_node(c, TMPL_RAW, s, n);
	case '@': {
		int id = msg_lookup(s, n);
		if (id < 0) {
			tmpl_fail(c, c->line, "unknown message {{@%.*s}}", (int)n, s);
			return -1;
		}
		return tmpl_literal(c, msg((enum msg_id)id), strlen(msg((enum msg_id)id)), 1);
	}
	case '>':
		return tmpl_partial(c, s, n);
	default:
		return tmpl_name_node(c, TMPL_VAR, s, n);
	}
}

static void tmpl_count_lines(struct tmpl_comp *c, const char *s, size_t n)
{
	const char *end = s + n;
	while ((s = memchr(s, '\n', (size_t)(end - s))) != NULL) {
		c->line++;
		s++;
	}
}

/* Compiles text into c->t; on failure c->err says why. */
static int tmpl_compile(struct tmpl_comp *c, const char *text, size_t len)
{
	const char *p = text, *end = text + len;

	if (len > TMPL_MAX_SRC) {
		tmpl_fail(c, 1, "template too large (more than %u bytes)", TMPL_MAX_SRC);
		return -1;
	}
	while (p < end) {
		const char *q = memmem(p, (size_t)(end - p), "{{", 2);
		if (q == NULL)
			q = end;
		if (tmpl_literal(c, p, (size_t)(q - p), 0) < 0)
			return -1;
		tmpl_count_lines(c, p, (size_t)(q - p));
		if (q == end)
			break;
		const char *s = q + 2;
		if (s < end && *s == '!') {
			/* Comments may be long and span lines; they leave no node. */
			const char *close = memmem(s, (size_t)(end - s), "}}", 2);
			if (close == NULL) {
				tmpl_fail(c, c->line, "unclosed comment");
				return -1;
			}
			tmpl_count_lines(c, s, (size_t)(close - s));
			p = close + 2;
			continue;
		}
		const char *e = s;
		while (e < end && *e != '\n' && e - s <= TMPL_MAX_TAG &&
		    !(*e == '}' && e + 1 < end && e[1] == '}'))
			e++;
		if (e - s > TMPL_MAX_TAG) {
			tmpl_fail(c, c->line, "tag too long (more than %d bytes)", TMPL_MAX_TAG);
			return -1;
		}
		if (e == end || *e == '\n') {
			tmpl_fail(c, c->line, "unclosed tag: '{{' without '}}' on the same line");
			return -1;
		}
		if (tmpl_tag(c, s, (size_t)(e - s)) < 0)
			return -1;
		p = e + 2;
	}
	if (c->nopen > 0) {
		struct tmpl_open *o = &c->open[c->nopen - 1];
		tmpl_fail(c, o->line, "unclosed section {{%c%.*s}}",
		    c->t->nodes[o->node].op == TMPL_SECTION ? '#' : '^', (int)o->len, o->name);
		return -1;
	}
	return 0;
}

/*
 * Compiles text as template name and adds it to set.  label names the
 * source in messages.  Partials are linked leniently (see tmpl_link).
 */
static int tmpl_add(struct tmpl_set *set, const char *name, size_t namelen,
    const char *label, const char *text, size_t len, char **err)
{
	int rc = -1;
	struct tmpl_comp c;

	memset(&c, 0, sizeof(c));
	c.label = label;
	c.line = 1;
	c.last_text = -1;
	buf_init(&c.pool, TMPL_MAX_POOL);
	c.t = xcalloc(1, sizeof(*c.t));
	c.t->name = xstrndup(name, namelen);
	c.t->label = xstrdup(label);

	if (strlen(c.t->name) != namelen) {
		tmpl_fail(&c, 1, "bad template name");
		goto out;
	}
	if (tmpl_find(set, c.t->name) != NULL) {
		tmpl_fail(&c, 1, "duplicate template '%s'", c.t->name);
		goto out;
	}
	if (tmpl_compile(&c, text, len) < 0)
		goto out;
	c.t->pool = buf_detach(&c.pool, NULL);
	tmpl_insert(set, c.t);
	c.t = NULL;
	tmpl_link(set, NULL);
	rc = 0;
out:
	if (rc < 0) {
		if (err != NULL)
			*err = c.err;
		else
			free(c.err);
	}
	buf_release(&c.pool);
	tmpl_free(c.t);
	return rc;
}

int tmpl_set_add(struct tmpl_set *set, const char *name, const char *text, size_t len, char **err)
{
	if (err != NULL)
		*err = NULL;
	if (set == NULL || name == NULL || (text == NULL && len > 0)) {
		if (err != NULL)
			*err = xstrdup("tmpl_set_add: bad arguments");
		return -1;
	}
	return tmpl_add(set, name, strlen(name), name, text ? text : "", len, err);
}

int tmpl_set_load(const struct embed_file *files, struct tmpl_set **out, char **err)
{
	int rc = -1;
	struct tmpl_set *set = tmpl_set_new();

	if (err != NULL)
		*err = NULL;
	*out = NULL;
	for (const struct embed_file *f = files; f != NULL && f->name != NULL; f++) {
		size_t n = strlen(f->name);
		if (n < 5 || strcmp(f->name + n - 5, ".html") != 0)
			continue;
		const char *text = f->data != NULL ? (const char *)f->data : "";
		if (tmpl_add(set, f->name, n - 5, f->name, text, f->data ? f->len : 0, err) < 0)
			goto out;
	}
	if (tmpl_link(set, err) < 0)
		goto out;
	*out = set;
	set = NULL;
	rc = 0;
out:
	tmpl_set_free(set);
	return rc;
}

/* ---- renderer ----------------------------------------------------------- */

struct tmpl_run {
	struct buf *out;
	size_t steps;
	unsigned top;
	json_t *stack[TMPL_STACK_MAX];
};

static json_t *tmpl_lookup(const struct tmpl_run *r, const struct tmpl *t,
    const struct tmpl_node *n)
{
	if (n->nseg == 0)
		return r->stack[r->top - 1];
	const struct tmpl_seg *seg = &t->segs[n->a];
	json_t *v = NULL;
	/* First segment: outward through the stack; the rest: inward. */
	for (unsigned i = r->top; i-- > 0;) {
		if (json_is_object(r->stack[i]) &&
		    (v = json_object_getn(r->stack[i], t->pool + seg[0].off, seg[0].len)) != NULL)
			break;
	}
	for (unsigned k = 1; k < n->nseg && v != NULL; k++)
		v = json_object_getn(v, t->pool + seg[k].off, seg[k].len);
	return v;
}

static int tmpl_truthy(const json_t *v)
{
	if (v == NULL)
		return 0;
	switch (json_typeof(v)) {
	case JSON_NULL:
	case JSON_FALSE:
		return 0;
	case JSON_STRING:
		return json_string_length(v) > 0;
	case JSON_INTEGER:
		return json_integer_value(v) != 0;
	case JSON_REAL:
		return json_real_value(v) != 0.0;
	case JSON_ARRAY:
		return json_array_size(v) > 0;
	default:
		return 1;
	}
}

/* Shortest "%.Ng" that reads back as d. */
static int tmpl_real(char *s, size_t size, double d)
{
	int n = 0;
	for (int prec = 15; prec <= 17; prec++) {
		n = snprintf(s, size, "%.*g", prec, d);
		if (strtod(s, NULL) == d)
			break;
	}
	return n;
}

static int tmpl_emit(struct buf *out, const json_t *v, int html)
{
	char num[48];
	int n;

	if (v == NULL)
		return 0;
	switch (json_typeof(v)) {
	case JSON_STRING:
		if (html)
			return buf_add_html(out, json_string_value(v), json_string_length(v));
		return buf_add(out, json_string_value(v), json_string_length(v));
	case JSON_INTEGER:
		n = snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return buf_add(out, num, (size_t)n);
	case JSON_REAL:
		n = tmpl_real(num, sizeof num, json_real_value(v));
		return buf_add(out, num, (size_t)n);
	case JSON_TRUE:
		return buf_add(out, "true", 4);
	default:
		return 0;
	}
}

static int tmpl_exec(struct tmpl_run *r, const struct tmpl *t, uint32_t i, uint32_t end,
    int depth);

static int tmpl_body(struct tmpl_run *r, const struct tmpl *t, uint32_t i, uint32_t end,
    int depth, json_t *ctx)
{
	if (r->top == TMPL_STACK_MAX || ++r->steps > TMPL_MAX_STEPS)
		return -1;   /* cannot happen: nesting and depth are bounded */
	r->stack[r->top++] = ctx;
	int rc = tmpl_exec(r, t, i, end, depth);
	r->top--;
	return rc;
}

static int tmpl_exec(struct tmpl_run *r, const struct tmpl *t, uint32_t i, uint32_t end,
    int depth)
{
	while (i < end) {
		const struct tmpl_node *n = &t->nodes[i];
		json_t *v;
		if (++r->steps > TMPL_MAX_STEPS)
			return -1;
		switch (n->op) {
		case TMPL_TEXT:
			if (buf_add(r->out, t->pool + n->a, n->b) < 0)
				return -1;
			i++;
			break;
		case TMPL_VAR:
		case TMPL_RAW:
			if (tmpl_emit(r->out, tmpl_lookup(r, t, n), n->op == TMPL_VAR) < 0)
				return -1;
			i++;
			break;
		case TMPL_SECTION:
			v = tmpl_lookup(r, t, n);
			if (json_is_array(v)) {
				size_t len = json_array_size(v);
				for (size_t k = 0; k < len; k++)
					if (tmpl_body(r, t, i + 1, n->b, depth, json_array_get(v, k)) < 0)
						return -1;
			} else if (tmpl_truthy(v)) {
				if (tmpl_body(r, t, i + 1, n->b, depth, v) < 0)
					return -1;
			}
			i = n->b;
			break;
		case TMPL_INVERTED:
			if (!tmpl_truthy(tmpl_lookup(r, t, n)) &&
			    tmpl_exec(r, t, i + 1, n->b, depth) < 0)
				return -1;
			i = n->b;
			break;
		case TMPL_PARTIAL: {
			const struct tmpl *p = t->parts[n->b].t;
			if (p == NULL || depth >= TMPL_MAX_DEPTH ||
			    tmpl_exec(r, p, 0, p->nnodes, depth + 1) < 0)
				return -1;
			i++;
			break;
		}
		default:
			return -1;
		}
	}
	return 0;
}

int tmpl_render(const struct tmpl_set *set, const char *name, json_t *ctx, struct buf *out)
{
	struct tmpl_run r;
	size_t mark = out->len;
	const struct tmpl *t = tmpl_find(set, name);

	r.out = out;
	r.steps = 0;
	r.top = 1;
	r.stack[0] = ctx;
	if (t == NULL || tmpl_exec(&r, t, 0, t->nnodes, 0) < 0) {
		out->len = mark;
		if (out->data != NULL)
			out->data[mark] = '\0';
		return -1;
	}
	return 0;
}
