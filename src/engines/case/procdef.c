/*
 * procdef: the loader of process definitions (format: docs/process-format.md).
 *
 * Parsing is two passes over one file.  The first reads it line by line:
 * each line is split into words (bare or "quoted", key=value or not) and
 * handed to the handler of its directive, which checks everything that can
 * be checked on that line alone and appends to the definition.  Transitions
 * keep the names of their states until the second pass, so a transition may
 * name a state declared further down.  The second pass resolves those names
 * and checks the definition as a whole: duplicate actions, ways out of final
 * states, one initial state, reachability, dead ends, special steps without
 * a way back.  The first problem found ends the parse; its message names
 * file and line.
 *
 * One owner: everything hangs off the struct procdef and procdef_free()
 * releases it, including a half-built one after an error.
 */
#include "engines/case/procdef.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/xalloc.h"

#define PD_LINE_MAX     1024   /* bytes in a line, not counting its end */
#define PD_STATES_MAX   256
#define PD_TR_MAX       1024   /* after expanding from-lists */
#define PD_ESC_MAX      64
#define PD_WORDS_MAX    64     /* words in a line */
#define PD_NAME_MAX     64     /* bytes in a name */
#define PD_TITLE_MAX    256    /* bytes in a title */
#define PD_REQUIRE_MAX  32     /* fields in a require= list */
#define PD_DAYS_MAX     3650   /* a limit of ten years is surely a typo beyond */
#define PD_AT_MAX       10.0   /* escalation at= ten times the limit */

/* ---- closed sets: roles, clocks, limits ------------------------------- */

static const struct {
	const char *name;
	unsigned bit;
} roles[] = {
	{ "applicant", PD_ROLE_APPLICANT },
	{ "staff", PD_ROLE_STAFF },
	{ "dept_admin", PD_ROLE_DEPT_ADMIN },
	{ "supervisor", PD_ROLE_SUPERVISOR },
	{ "system", PD_ROLE_SYSTEM },
};

static const char *const clock_names[] = {
	[PD_CLOCK_WAIT] = "wait",
	[PD_CLOCK_RUN] = "run",
	[PD_CLOCK_PAUSE] = "pause",
	[PD_CLOCK_STOP] = "stop",
};

static const char *const limit_names[] = {
	[PD_LIMIT_STATUTORY] = "statutory",
	[PD_LIMIT_PROMISED] = "promised",
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ---- parser state ----------------------------------------------------- */

/* A word of a line after unquoting.  key=value splits at the first '='
 * outside quotes when no quote came before it; otherwise key is NULL. */
struct word {
	const char *key;
	const char *val;
};

struct parser {
	const char *file;
	int line;
	char *err;
	struct procdef *p;
	int cap_states, cap_tr, cap_esc;
	char **tr_from, **tr_to;     /* state names until resolved, parallel to p->tr */
	int process_line;
	int limits_line;
	int promised_given;
	/* the current line */
	char text[PD_LINE_MAX + 1];
	char scratch[PD_LINE_MAX + 2 * PD_WORDS_MAX + 2];
	struct word w[PD_WORDS_MAX];
	int nw;
};

static int fail(struct parser *ps, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Records the first error as "file:line: message"; always returns -1. */
static int fail(struct parser *ps, int line, const char *fmt, ...)
{
	if (ps->err != NULL)
		return -1;
	char msg[1536];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	ps->err = xasprintf("%s:%d: %s", ps->file, line, msg);
	return -1;
}

/* ---- words and values ------------------------------------------------- */

/* Names of states, actions and escalations: [a-z][a-z_]*, at most 64 bytes. */
static int valid_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > PD_NAME_MAX || s[0] < 'a' || s[0] > 'z')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || s[i] == '_'))
			return 0;
	return 1;
}

/* Field names in require=: [a-z][a-z0-9_]*, at most 64 bytes. */
static int valid_field(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > PD_NAME_MAX || s[0] < 'a' || s[0] > 'z')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
	return 1;
}

static int check_title(struct parser *ps, const char *t)
{
	if (*t == '\0')
		return fail(ps, ps->line, "empty title");
	if (strlen(t) > PD_TITLE_MAX)
		return fail(ps, ps->line, "title longer than %d bytes", PD_TITLE_MAX);
	return 0;
}

/* A whole number of days: digits only, 1..PD_DAYS_MAX. */
static int parse_days(const char *s, int *out)
{
	long v = 0;
	size_t n = strlen(s);
	if (n == 0 || n > 5)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (v < 1 || v > PD_DAYS_MAX)
		return -1;
	*out = (int)v;
	return 0;
}

/* A decimal: digits, optionally '.' and digits (no sign, no exponent), at
 * most 9 digits in all.  Parsed by hand so the locale's decimal point never
 * matters; mantissa / 10^k is the correctly rounded double. */
static int parse_decimal(const char *s, double *out)
{
	long mant = 0, scale = 1;
	int digits = 0, frac = 0, seen_point = 0;
	for (const char *c = s; *c != '\0'; c++) {
		if (*c == '.') {
			if (seen_point || digits == 0)
				return -1;
			seen_point = 1;
			continue;
		}
		if (*c < '0' || *c > '9' || ++digits > 9)
			return -1;
		mant = mant * 10 + (*c - '0');
		if (seen_point) {
			scale *= 10;
			frac++;
		}
	}
	if (digits == 0 || (seen_point && frac == 0))
		return -1;
	*out = (double)mant / (double)scale;
	return 0;
}

/* roles=a|b|c into bits.  "Any of", hence '|'. */
static int parse_roles(struct parser *ps, const char *key, const char *s, unsigned *out)
{
	unsigned bits = 0;
	const char *p = s;
	if (*s == '\0')
		return fail(ps, ps->line, "empty %s=", key);
	for (;;) {
		const char *e = strchr(p, '|');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		size_t i;
		if (n == 0)
			return fail(ps, ps->line, "empty role in %s=%s", key, s);
		for (i = 0; i < NELEM(roles); i++)
			if (strlen(roles[i].name) == n && memcmp(roles[i].name, p, n) == 0)
				break;
		if (i == NELEM(roles))
			return fail(ps, ps->line, "unknown role '%.*s' (roles: applicant, staff, "
			    "dept_admin, supervisor, system)", (int)n, p);
		if (bits & roles[i].bit)
			return fail(ps, ps->line, "role '%s' given twice", roles[i].name);
		bits |= roles[i].bit;
		if (e == NULL)
			break;
		p = e + 1;
	}
	*out = bits;
	return 0;
}

static void free_strv(char **v)
{
	if (v == NULL)
		return;
	for (char **s = v; *s != NULL; s++)
		free(*s);
	free(v);
}

/* require=a,b,c into a NULL-terminated vector.  "All of", hence ','. */
static int parse_require(struct parser *ps, const char *s, char ***out)
{
	char **v = xcalloc(PD_REQUIRE_MAX + 1, sizeof *v);
	int n = 0;
	const char *p = s;
	if (*s == '\0') {
		free(v);
		return fail(ps, ps->line, "empty require=");
	}
	for (;;) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		char *f = xstrndup(p, len);
		if (!valid_field(f)) {
			fail(ps, ps->line, "bad field name '%s' in require= (want [a-z][a-z0-9_]*)", f);
			free(f);
			goto bad;
		}
		for (int i = 0; i < n; i++)
			if (strcmp(v[i], f) == 0) {
				fail(ps, ps->line, "field '%s' required twice", f);
				free(f);
				goto bad;
			}
		if (n == PD_REQUIRE_MAX) {
			fail(ps, ps->line, "more than %d required fields", PD_REQUIRE_MAX);
			free(f);
			goto bad;
		}
		v[n++] = f;
		if (e == NULL)
			break;
		p = e + 1;
	}
	*out = xrealloc(v, (size_t)(n + 1) * sizeof *v);
	return 0;
bad:
	free_strv(v);
	return -1;
}

/* ---- lines ------------------------------------------------------------ */

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	size_t len;
	unsigned cp, min;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2; cp = c & 0x1f; min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3; cp = c & 0x0f; min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4; cp = c & 0x07; min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* Refuses invalid UTF-8 and control characters other than tab. */
static int check_bytes(struct parser *ps, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	for (size_t i = 0; i < n;) {
		if (u[i] < 0x20 ? u[i] != '\t' : u[i] == 0x7f)
			return fail(ps, ps->line, "control character 0x%02x at byte %zu", u[i], i + 1);
		size_t k = utf8_seq(u + i, n - i);
		if (k == 0)
			return fail(ps, ps->line, "invalid UTF-8 at byte %zu", i + 1);
		i += k;
	}
	return 0;
}

/* Splits ps->text into ps->w.  Outside quotes, blanks separate words and
 * '#' starts a comment.  Inside "...", \" and \\ are the only escapes. */
static int split_words(struct parser *ps)
{
	const char *s = ps->text;
	char *o = ps->scratch;
	ps->nw = 0;
	for (;;) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '\0' || *s == '#')
			return 0;
		if (ps->nw == PD_WORDS_MAX)
			return fail(ps, ps->line, "more than %d words", PD_WORDS_MAX);
		const char *key = NULL;
		char *start = o;
		int inq = 0, quoted = 0, comment = 0;
		while (*s != '\0' && (inq || (*s != ' ' && *s != '\t'))) {
			if (inq) {
				if (*s == '"') {
					inq = 0;
					s++;
				} else if (*s == '\\') {
					if (s[1] != '"' && s[1] != '\\')
						return fail(ps, ps->line, "unknown escape in a quoted string "
						    "(only \\\" and \\\\)");
					*o++ = s[1];
					s += 2;
				} else {
					*o++ = *s++;
				}
			} else if (*s == '"') {
				inq = quoted = 1;
				s++;
			} else if (*s == '#') {
				comment = 1;
				break;
			} else if (*s == '=' && key == NULL && !quoted) {
				*o++ = '\0';
				key = start;
				start = o;
				s++;
			} else {
				*o++ = *s++;
			}
		}
		if (inq)
			return fail(ps, ps->line, "unterminated quoted string");
		*o++ = '\0';
		if (key != NULL && *key == '\0')
			return fail(ps, ps->line, "'=' without a key before it");
		ps->w[ps->nw].key = key;
		ps->w[ps->nw].val = start;
		ps->nw++;
		if (comment)
			return 0;
	}
}

/* ---- directives ------------------------------------------------------- */

static int dup_key(struct parser *ps, const void *seen, const char *key)
{
	if (seen != NULL)
		return fail(ps, ps->line, "%s= given twice", key);
	return 0;
}

static int find_state(const struct procdef *p, const char *name)
{
	for (int i = 0; i < p->nstates; i++)
		if (strcmp(p->states[i].name, name) == 0)
			return i;
	return -1;
}

static int do_process(struct parser *ps)
{
	struct procdef *p = ps->p;
	if (ps->process_line != 0)
		return fail(ps, ps->line, "second 'process' directive (the first is on line %d)",
		    ps->process_line);
	if (ps->nw != 2 || ps->w[1].key != NULL)
		return fail(ps, ps->line, "usage: process TITLE (quote a title with blanks or '=')");
	if (check_title(ps, ps->w[1].val) != 0)
		return -1;
	ps->process_line = ps->line;
	p->title = xstrdup(ps->w[1].val);
	return 0;
}

static int do_limits(struct parser *ps)
{
	struct procdef *p = ps->p;
	const char *st = NULL, *pr = NULL, *wa = NULL;
	if (ps->limits_line != 0)
		return fail(ps, ps->line, "second 'limits' directive (the first is on line %d)",
		    ps->limits_line);
	if (ps->nw < 2)
		return fail(ps, ps->line, "usage: limits statutory=DAYS promised=DAYS warn=SHARE");
	for (int i = 1; i < ps->nw; i++) {
		const struct word *w = &ps->w[i];
		if (w->key == NULL)
			return fail(ps, ps->line, "unknown word '%s' in limits", w->val);
		if (strcmp(w->key, "statutory") == 0) {
			if (dup_key(ps, st, w->key) != 0)
				return -1;
			st = w->val;
			if (parse_days(st, &p->statutory_days) != 0)
				return fail(ps, ps->line, "statutory=%s: want whole working days "
				    "from 1 to %d", st, PD_DAYS_MAX);
		} else if (strcmp(w->key, "promised") == 0) {
			if (dup_key(ps, pr, w->key) != 0)
				return -1;
			pr = w->val;
			if (parse_days(pr, &p->promised_days) != 0)
				return fail(ps, ps->line, "promised=%s: want whole working days "
				    "from 1 to %d", pr, PD_DAYS_MAX);
		} else if (strcmp(w->key, "warn") == 0) {
			if (dup_key(ps, wa, w->key) != 0)
				return -1;
			wa = w->val;
			if (parse_decimal(wa, &p->warn) != 0 || !(p->warn > 0.0 && p->warn < 1.0))
				return fail(ps, ps->line, "warn=%s: want a share between 0 and 1, "
				    "like 0.75", wa);
		} else {
			return fail(ps, ps->line, "unknown key '%s' in limits (statutory, promised, "
			    "warn)", w->key);
		}
	}
	if (pr == NULL)
		p->promised_days = p->statutory_days;
	if (p->promised_days > p->statutory_days)
		return fail(ps, ps->line, "promised=%d is longer than statutory=%d",
		    p->promised_days, p->statutory_days);
	ps->limits_line = ps->line;
	return 0;
}

static int do_state(struct parser *ps)
{
	struct procdef *p = ps->p;
	const char *name, *title = NULL, *clock = NULL;
	unsigned flags = 0;
	enum pd_clock ck = PD_CLOCK_RUN;

	if (ps->nw < 2 || ps->w[1].key != NULL)
		return fail(ps, ps->line, "usage: state NAME [initial|final|special] "
		    "[clock=wait|run|pause|stop] title=TITLE");
	name = ps->w[1].val;
	if (!valid_name(name))
		return fail(ps, ps->line, "bad state name '%s' (want [a-z][a-z_]*, at most %d bytes)",
		    name, PD_NAME_MAX);
	int prev = find_state(p, name);
	if (prev >= 0)
		return fail(ps, ps->line, "duplicate state '%s' (first on line %d)", name,
		    p->states[prev].line);
	if (p->nstates == PD_STATES_MAX)
		return fail(ps, ps->line, "more than %d states", PD_STATES_MAX);

	for (int i = 2; i < ps->nw; i++) {
		const struct word *w = &ps->w[i];
		unsigned f = 0;
		if (w->key == NULL) {
			if (strcmp(w->val, "initial") == 0)
				f = PD_STATE_INITIAL;
			else if (strcmp(w->val, "final") == 0)
				f = PD_STATE_FINAL;
			else if (strcmp(w->val, "special") == 0)
				f = PD_STATE_SPECIAL;
			else
				return fail(ps, ps->line, "unknown word '%s' in state (initial, final, "
				    "special, clock=, title=)", w->val);
			if (flags & f)
				return fail(ps, ps->line, "'%s' given twice", w->val);
			flags |= f;
		} else if (strcmp(w->key, "clock") == 0) {
			size_t k;
			if (dup_key(ps, clock, w->key) != 0)
				return -1;
			clock = w->val;
			for (k = 0; k < NELEM(clock_names); k++)
				if (strcmp(clock, clock_names[k]) == 0)
					break;
			if (k == NELEM(clock_names))
				return fail(ps, ps->line, "clock=%s: want wait, run, pause or stop", clock);
			ck = (enum pd_clock)k;
		} else if (strcmp(w->key, "title") == 0) {
			if (dup_key(ps, title, w->key) != 0 || check_title(ps, w->val) != 0)
				return -1;
			title = w->val;
		} else {
			return fail(ps, ps->line, "unknown key '%s' in state (clock, title)", w->key);
		}
	}
	if (title == NULL)
		return fail(ps, ps->line, "state '%s' has no title=", name);
	if ((flags & PD_STATE_INITIAL) && (flags & PD_STATE_FINAL))
		return fail(ps, ps->line, "state '%s' is both initial and final", name);
	if ((flags & PD_STATE_SPECIAL) && (flags & (PD_STATE_INITIAL | PD_STATE_FINAL)))
		return fail(ps, ps->line, "special state '%s' cannot be initial or final", name);
	if (flags & PD_STATE_FINAL) {
		if (clock != NULL && ck != PD_CLOCK_STOP)
			return fail(ps, ps->line, "final state '%s' has clock=%s (final states stop "
			    "the clock; leave clock= out)", name, clock);
		ck = PD_CLOCK_STOP;
	} else if (clock != NULL && ck == PD_CLOCK_STOP) {
		return fail(ps, ps->line, "clock=stop on state '%s', which is not final", name);
	} else if (clock == NULL) {
		/* Defaults: the initial state waits, a special step pauses (行政许可法
		 * 第四十五条: hearings, expert review, inspection ... do not count),
		 * every other state runs. */
		if (flags & PD_STATE_INITIAL)
			ck = PD_CLOCK_WAIT;
		else if (flags & PD_STATE_SPECIAL)
			ck = PD_CLOCK_PAUSE;
	}
	if ((flags & PD_STATE_INITIAL) && p->initial >= 0)
		return fail(ps, ps->line, "second initial state '%s' (the first is '%s' on line %d)",
		    name, p->states[p->initial].name, p->states[p->initial].line);

	if (p->nstates == ps->cap_states) {
		ps->cap_states = ps->cap_states ? ps->cap_states * 2 : 16;
		p->states = xrealloc(p->states, (size_t)ps->cap_states * sizeof *p->states);
	}
	struct pd_state *s = &p->states[p->nstates];
	s->name = xstrdup(name);
	s->title = xstrdup(title);
	s->flags = flags;
	s->clock = ck;
	s->line = ps->line;
	if (flags & PD_STATE_INITIAL)
		p->initial = p->nstates;
	p->nstates++;
	return 0;
}

static int do_transition(struct parser *ps)
{
	struct procdef *p = ps->p;
	const char *action, *froms, *to, *title = NULL, *roles_s = NULL, *req_s = NULL;
	unsigned rbits = 0;
	int pub = 0;
	char **req = NULL;

	if (ps->nw < 5 || ps->w[1].key || ps->w[2].key || ps->w[3].key || ps->w[4].key ||
	    strcmp(ps->w[3].val, "->") != 0)
		return fail(ps, ps->line, "usage: transition ACTION FROM[,FROM...] -> TO "
		    "roles=ROLE[|ROLE...] [public] [require=FIELD[,FIELD...]] title=TITLE");
	action = ps->w[1].val;
	froms = ps->w[2].val;
	to = ps->w[4].val;
	if (!valid_name(action))
		return fail(ps, ps->line, "bad action name '%s' (want [a-z][a-z_]*, at most %d "
		    "bytes)", action, PD_NAME_MAX);
	if (!valid_name(to))
		return fail(ps, ps->line, "bad state name '%s' after '->'", to);

	for (int i = 5; i < ps->nw; i++) {
		const struct word *w = &ps->w[i];
		if (w->key == NULL) {
			if (strcmp(w->val, "public") != 0)
				return fail(ps, ps->line, "unknown word '%s' in transition (public, "
				    "roles=, require=, title=)", w->val);
			if (pub)
				return fail(ps, ps->line, "'public' given twice");
			pub = 1;
		} else if (strcmp(w->key, "roles") == 0) {
			if (dup_key(ps, roles_s, w->key) != 0)
				return -1;
			roles_s = w->val;
			if (parse_roles(ps, "roles", roles_s, &rbits) != 0)
				return -1;
		} else if (strcmp(w->key, "require") == 0) {
			if (dup_key(ps, req_s, w->key) != 0)
				return -1;
			req_s = w->val;
		} else if (strcmp(w->key, "title") == 0) {
			if (dup_key(ps, title, w->key) != 0 || check_title(ps, w->val) != 0)
				return -1;
			title = w->val;
		} else {
			return fail(ps, ps->line, "unknown key '%s' in transition (roles, require, "
			    "title)", w->key);
		}
	}
	if (roles_s == NULL)
		return fail(ps, ps->line, "transition '%s' has no roles=", action);
	if (title == NULL)
		return fail(ps, ps->line, "transition '%s' has no title=", action);

	/* One transition per from-state. */
	for (const char *f = froms;;) {
		const char *e = strchr(f, ',');
		size_t n = e ? (size_t)(e - f) : strlen(f);
		char *from = xstrndup(f, n);
		if (!valid_name(from)) {
			fail(ps, ps->line, "bad state name '%s' before '->'", from);
			free(from);
			return -1;
		}
		if (p->ntr == PD_TR_MAX) {
			free(from);
			return fail(ps, ps->line, "more than %d transitions", PD_TR_MAX);
		}
		if (req_s != NULL) {
			if (parse_require(ps, req_s, &req) != 0) {
				free(from);
				return -1;
			}
		} else {
			req = xcalloc(1, sizeof *req);   /* never NULL: an empty list */
		}
		if (p->ntr == ps->cap_tr) {
			ps->cap_tr = ps->cap_tr ? ps->cap_tr * 2 : 32;
			p->tr = xrealloc(p->tr, (size_t)ps->cap_tr * sizeof *p->tr);
			ps->tr_from = xrealloc(ps->tr_from, (size_t)ps->cap_tr * sizeof *ps->tr_from);
			ps->tr_to = xrealloc(ps->tr_to, (size_t)ps->cap_tr * sizeof *ps->tr_to);
		}
		struct pd_transition *t = &p->tr[p->ntr];
		t->action = xstrdup(action);
		t->from = t->to = -1;
		t->roles = rbits;
		t->require = req;
		t->public = pub;
		t->title = xstrdup(title);
		t->line = ps->line;
		ps->tr_from[p->ntr] = from;
		ps->tr_to[p->ntr] = xstrdup(to);
		p->ntr++;
		if (e == NULL)
			break;
		f = e + 1;
	}
	return 0;
}

static int do_escalate(struct parser *ps)
{
	struct procdef *p = ps->p;
	const char *name, *title = NULL, *at = NULL, *of = NULL, *to = NULL;
	double atv = 0;
	unsigned tobits = 0;
	enum pd_limit lim = PD_LIMIT_PROMISED;

	if (ps->nw < 2 || ps->w[1].key != NULL)
		return fail(ps, ps->line, "usage: escalate NAME at=SHARE of=statutory|promised "
		    "to=ROLE[|ROLE...] title=TITLE");
	name = ps->w[1].val;
	if (!valid_name(name))
		return fail(ps, ps->line, "bad escalation name '%s' (want [a-z][a-z_]*)", name);
	for (int i = 0; i < p->nesc; i++)
		if (strcmp(p->esc[i].name, name) == 0)
			return fail(ps, ps->line, "duplicate escalation '%s' (first on line %d)",
			    name, p->esc[i].line);
	if (p->nesc == PD_ESC_MAX)
		return fail(ps, ps->line, "more than %d escalations", PD_ESC_MAX);

	for (int i = 2; i < ps->nw; i++) {
		const struct word *w = &ps->w[i];
		if (w->key == NULL)
			return fail(ps, ps->line, "unknown word '%s' in escalate (at=, of=, to=, "
			    "title=)", w->val);
		if (strcmp(w->key, "at") == 0) {
			if (dup_key(ps, at, w->key) != 0)
				return -1;
			at = w->val;
			if (parse_decimal(at, &atv) != 0 || !(atv > 0.0 && atv <= PD_AT_MAX))
				return fail(ps, ps->line, "at=%s: want a share of the limit above 0 "
				    "and at most 10, like 0.75 or 1.0", at);
		} else if (strcmp(w->key, "of") == 0) {
			size_t k;
			if (dup_key(ps, of, w->key) != 0)
				return -1;
			of = w->val;
			for (k = 0; k < NELEM(limit_names); k++)
				if (strcmp(of, limit_names[k]) == 0)
					break;
			if (k == NELEM(limit_names))
				return fail(ps, ps->line, "of=%s: want statutory or promised", of);
			lim = (enum pd_limit)k;
		} else if (strcmp(w->key, "to") == 0) {
			if (dup_key(ps, to, w->key) != 0)
				return -1;
			to = w->val;
			if (parse_roles(ps, "to", to, &tobits) != 0)
				return -1;
		} else if (strcmp(w->key, "title") == 0) {
			if (dup_key(ps, title, w->key) != 0 || check_title(ps, w->val) != 0)
				return -1;
			title = w->val;
		} else {
			return fail(ps, ps->line, "unknown key '%s' in escalate (at, of, to, title)",
			    w->key);
		}
	}
	if (at == NULL || of == NULL || to == NULL || title == NULL)
		return fail(ps, ps->line, "escalation '%s' needs at=, of=, to= and title=", name);

	if (p->nesc == ps->cap_esc) {
		ps->cap_esc = ps->cap_esc ? ps->cap_esc * 2 : 4;
		p->esc = xrealloc(p->esc, (size_t)ps->cap_esc * sizeof *p->esc);
	}
	struct pd_escalation *e = &p->esc[p->nesc++];
	e->name = xstrdup(name);
	e->title = xstrdup(title);
	e->at = atv;
	e->limit = lim;
	e->to = tobits;
	e->line = ps->line;
	return 0;
}

static const struct {
	const char *name;
	int (*fn)(struct parser *);
} directives[] = {
	{ "process", do_process },
	{ "limits", do_limits },
	{ "state", do_state },
	{ "transition", do_transition },
	{ "escalate", do_escalate },
};

static int do_line(struct parser *ps)
{
	if (split_words(ps) != 0)
		return -1;
	if (ps->nw == 0)
		return 0;
	const struct word *w = &ps->w[0];
	if (w->key == NULL)
		for (size_t i = 0; i < NELEM(directives); i++)
			if (strcmp(w->val, directives[i].name) == 0)
				return directives[i].fn(ps);
	return fail(ps, ps->line, "unknown directive '%s%s%s' (process, limits, state, "
	    "transition, escalate)", w->key ? w->key : "", w->key ? "=" : "", w->val);
}

/* ---- the definition as a whole ---------------------------------------- */

/* Marks in seen[] every state reachable from those already marked, following transitions
 * forward (dir 0) or backward (dir 1). */
static void reach(const struct procdef *p, unsigned char *seen, int dir)
{
	int changed = 1;
	while (changed) {
		changed = 0;
		for (int i = 0; i < p->ntr; i++) {
			int a = dir ? p->tr[i].to : p->tr[i].from;
			int b = dir ? p->tr[i].from : p->tr[i].to;
			if (seen[a] && !seen[b]) {
				seen[b] = 1;
				changed = 1;
			}
		}
	}
}

static int check_whole(struct parser *ps)
{
	struct procdef *p = ps->p;
	unsigned char *fwd = NULL, *back = NULL;
	int rc = -1;

	if (ps->process_line == 0)
		return fail(ps, 1, "no 'process' directive");
	if (p->nstates == 0)
		return fail(ps, ps->process_line, "no states");
	if (p->initial < 0)
		return fail(ps, ps->process_line, "no initial state (mark one state 'initial')");

	/* Resolve names, in file order. */
	for (int i = 0; i < p->ntr; i++) {
		struct pd_transition *t = &p->tr[i];
		t->from = find_state(p, ps->tr_from[i]);
		if (t->from < 0)
			return fail(ps, t->line, "transition '%s' from unknown state '%s'", t->action,
			    ps->tr_from[i]);
		t->to = find_state(p, ps->tr_to[i]);
		if (t->to < 0)
			return fail(ps, t->line, "transition '%s' to unknown state '%s'", t->action,
			    ps->tr_to[i]);
		if (p->states[t->from].flags & PD_STATE_FINAL)
			return fail(ps, t->line, "transition '%s' leaves final state '%s'", t->action,
			    p->states[t->from].name);
		for (int j = 0; j < i; j++)
			if (p->tr[j].from == t->from && strcmp(p->tr[j].action, t->action) == 0)
				return fail(ps, t->line, "action '%s' from state '%s' is already "
				    "defined on line %d", t->action, p->states[t->from].name,
				    p->tr[j].line);
	}

	int nfinal = 0;
	for (int i = 0; i < p->nstates; i++)
		nfinal += (p->states[i].flags & PD_STATE_FINAL) != 0;
	if (nfinal == 0)
		return fail(ps, ps->process_line, "no final state (mark at least one 'final')");

	fwd = xcalloc((size_t)p->nstates, 1);
	back = xcalloc((size_t)p->nstates, 1);
	fwd[p->initial] = 1;
	reach(p, fwd, 0);
	for (int i = 0; i < p->nstates; i++)
		if (p->states[i].flags & PD_STATE_FINAL)
			back[i] = 1;
	reach(p, back, 1);

	/* Per state, in file order, so the earliest line is reported. */
	for (int i = 0; i < p->nstates; i++) {
		const struct pd_state *s = &p->states[i];
		int out = 0, back_out = 0;
		if (!fwd[i]) {
			fail(ps, s->line, "state '%s' cannot be reached from the initial state '%s'",
			    s->name, p->states[p->initial].name);
			goto out;
		}
		if (s->flags & PD_STATE_FINAL)
			continue;
		for (int j = 0; j < p->ntr; j++) {
			const struct pd_transition *t = &p->tr[j];
			if (t->from != i || t->to == i)
				continue;
			out = 1;
			if (!(p->states[t->to].flags & (PD_STATE_SPECIAL | PD_STATE_FINAL)))
				back_out = 1;
		}
		if ((s->flags & PD_STATE_SPECIAL) && !back_out) {
			fail(ps, s->line, "special state '%s' has no transition back to an ordinary "
			    "state", s->name);
			goto out;
		}
		if (!out) {
			fail(ps, s->line, "state '%s' is a dead end: no transition leads out of it",
			    s->name);
			goto out;
		}
		if (!back[i]) {
			fail(ps, s->line, "no final state can be reached from state '%s'", s->name);
			goto out;
		}
	}
	rc = 0;
out:
	free(fwd);
	free(back);
	return rc;
}

/* "processes/hall/standard.proc" -> "hall.standard"; "x.proc" -> "x". */
static char *name_from_path(const char *file)
{
	const char *base = strrchr(file, '/');
	const char *dir = NULL;
	size_t dlen = 0, blen;
	if (base != NULL) {
		const char *d = base;
		while (d > file && d[-1] != '/')
			d--;
		dir = d;
		dlen = (size_t)(base - d);
		base++;
	} else {
		base = file;
	}
	blen = strlen(base);
	if (blen > 5 && strcmp(base + blen - 5, ".proc") == 0)
		blen -= 5;
	if (dir != NULL && dlen > 0)
		return xasprintf("%.*s.%.*s", (int)dlen, dir, (int)blen, base);
	return xstrndup(base, blen);
}

int procdef_parse(const char *file, const char *text, size_t len, struct procdef **out, char **err)
{
	struct parser *ps = xcalloc(1, sizeof *ps);
	struct procdef *p = xcalloc(1, sizeof *p);
	size_t pos = 0;
	int rc = -1;

	*out = NULL;
	if (err != NULL)
		*err = NULL;
	if (file == NULL)
		file = "(process)";
	ps->file = file;
	ps->p = p;
	p->name = name_from_path(file);
	p->file = xstrdup(file);
	p->statutory_days = 20;    /* 行政许可法 第四十二条 */
	p->promised_days = 20;
	p->warn = 0.75;
	p->initial = -1;

	if (text == NULL)
		len = 0;
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - text) : len;
		size_t n = end - pos;
		const char *s = text + pos;
		ps->line++;
		pos = nl ? end + 1 : len;
		if (n > 0 && s[n - 1] == '\r')
			n--;
		if (ps->line == 1 && n >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0) {
			s += 3;   /* a byte order mark */
			n -= 3;
		}
		if (n > PD_LINE_MAX) {
			fail(ps, ps->line, "line longer than %d bytes", PD_LINE_MAX);
			goto out;
		}
		if (check_bytes(ps, s, n) != 0)
			goto out;
		memcpy(ps->text, s, n);
		ps->text[n] = '\0';
		if (do_line(ps) != 0)
			goto out;
	}
	if (check_whole(ps) != 0)
		goto out;
	*out = p;
	p = NULL;
	rc = 0;
out:
	for (int i = 0; i < (ps->p ? ps->p->ntr : 0); i++) {
		free(ps->tr_from[i]);
		free(ps->tr_to[i]);
	}
	free(ps->tr_from);
	free(ps->tr_to);
	if (rc != 0 && err != NULL)
		*err = ps->err;
	else
		free(ps->err);
	free(ps);
	procdef_free(p);
	return rc;
}

void procdef_free(struct procdef *p)
{
	if (p == NULL)
		return;
	for (int i = 0; i < p->nstates; i++) {
		free(p->states[i].name);
		free(p->states[i].title);
	}
	for (int i = 0; i < p->ntr; i++) {
		free(p->tr[i].action);
		free(p->tr[i].title);
		free_strv(p->tr[i].require);
	}
	for (int i = 0; i < p->nesc; i++) {
		free(p->esc[i].name);
		free(p->esc[i].title);
	}
	free(p->states);
	free(p->tr);
	free(p->esc);
	free(p->name);
	free(p->title);
	free(p->file);
	free(p);
}

int procdef_state(const struct procdef *p, const char *name)
{
	if (p == NULL || name == NULL)
		return -1;
	return find_state(p, name);
}

const struct pd_transition *procdef_transition(const struct procdef *p, int from, const char *action)
{
	if (p == NULL || action == NULL || from < 0 || from >= p->nstates)
		return NULL;
	for (int i = 0; i < p->ntr; i++)
		if (p->tr[i].from == from && strcmp(p->tr[i].action, action) == 0)
			return &p->tr[i];
	return NULL;
}

/* ---- the registry ----------------------------------------------------- */

/* Loaded once at start, before any thread reads it; read-only afterwards. */
static struct procdef **reg;
static int nreg;

/* Embedded names: <app>/<name>.proc, both [a-z0-9_]+ (they become "<app>.<name>"). */
static int valid_embed_name(const char *s)
{
	const char *slash = strchr(s, '/');
	size_t len = strlen(s);
	if (slash == NULL || slash == s || len < 5 || (size_t)(slash - s) + 1 >= len - 5)
		return 0;
	for (size_t i = 0; i < len - 5; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
		    s + i == slash))
			return 0;
	return 1;
}

int procdef_load_all(const struct embed_file *files, char **err)
{
	struct procdef **set = NULL;
	int n = 0;

	if (err != NULL)
		*err = NULL;
	for (const struct embed_file *f = files; f != NULL && f->name != NULL; f++) {
		size_t len = strlen(f->name);
		if (len < 5 || strcmp(f->name + len - 5, ".proc") != 0) {
			log_warn("processes/%s: ignored (not a .proc file)", f->name);
			continue;
		}
		char *path = xasprintf("processes/%s", f->name);
		struct procdef *p = NULL;
		int rc;
		if (!valid_embed_name(f->name)) {
			if (err != NULL)
				*err = xasprintf("%s: process files are processes/<app>/<name>.proc "
				    "with names of [a-z0-9_]", path);
			rc = -1;
		} else {
			rc = procdef_parse(path, (const char *)f->data, f->len, &p, err);
		}
		for (int i = 0; rc == 0 && i < n; i++)
			if (strcmp(set[i]->name, p->name) == 0) {
				if (err != NULL)
					*err = xasprintf("%s: process %s is also defined in %s", path,
					    p->name, set[i]->file);
				rc = -1;
			}
		free(path);
		if (rc != 0) {
			procdef_free(p);
			for (int i = 0; i < n; i++)
				procdef_free(set[i]);
			free(set);
			return -1;
		}
		set = xrealloc(set, (size_t)(n + 1) * sizeof *set);
		set[n++] = p;
	}
	procdef_unload_all();
	reg = set;
	nreg = n;
	for (int i = 0; i < n; i++)
		log_debug("process %s (%s): %d states, %d transitions, %d escalations",
		    reg[i]->name, reg[i]->title, reg[i]->nstates, reg[i]->ntr, reg[i]->nesc);
	return 0;
}

const struct procdef *procdef_get(const char *name)
{
	if (name == NULL)
		return NULL;
	for (int i = 0; i < nreg; i++)
		if (strcmp(reg[i]->name, name) == 0)
			return reg[i];
	return NULL;
}

void procdef_unload_all(void)
{
	for (int i = 0; i < nreg; i++)
		procdef_free(reg[i]);
	free(reg);
	reg = NULL;
	nreg = 0;
}
