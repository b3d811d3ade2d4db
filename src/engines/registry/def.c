/*
 * def: the registry definition format (docs/registry-format.md).
 *
 * regdef_parse reads the text line by line (the lexical rules of process
 * definitions: quoted words, key=value words, '#' comments), fills a
 * struct reg_def, then checks the definition as a whole (required
 * directives, the key and subject, the sharing classes of fields).  The
 * first problem found is reported as "第 N 行：<message>[ <detail>]" with
 * the message from the catalogue (MSG_REGDEF_*).
 */
#include "engines/registry/registry.h"

#include "core/xalloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

#define RD_TEXT_MAX (256 * 1024)
#define RD_LINE_MAX 4096
#define RD_WORDS_MAX 64
#define RD_LABEL_CHARS 100
#define RD_COND_CHARS 1000
#define RD_ABSTRACT_CHARS 2000
#define RD_CYCLE_CHARS 20
#define RD_ENUM_MAX 100
#define RD_ENUM_VALUE_BYTES 100
#define RD_TEXT_DEFAULT 200
#define RD_TEXT_LIMIT 2000
#define RD_SCALE_MAX 6

/* ---- names ------------------------------------------------------------ */

static const char *const type_names[RT__MAX] = {
	[RT_TEXT] = "text", [RT_INTEGER] = "integer", [RT_DECIMAL] = "decimal", [RT_DATE] = "date",
	[RT_ENUM] = "enum", [RT_BOOL] = "boolean", [RT_IDCARD] = "idcard", [RT_USCC] = "uscc",
	[RT_PHONE] = "phone", [RT_ADDRESS] = "address",
};
static const char *const type_labels[RT__MAX] = {
	[RT_TEXT] = "文本", [RT_INTEGER] = "整数", [RT_DECIMAL] = "小数", [RT_DATE] = "日期",
	[RT_ENUM] = "枚举", [RT_BOOL] = "是否", [RT_IDCARD] = "身份证号", [RT_USCC] = "统一社会信用代码",
	[RT_PHONE] = "电话号码", [RT_ADDRESS] = "地址",
};
static const char *const share_names[RS__MAX] = {
	[RS_UNCONDITIONAL] = "unconditional", [RS_CONDITIONAL] = "conditional", [RS_NONE] = "none",
};
static const char *const share_labels[RS__MAX] = {
	[RS_UNCONDITIONAL] = "无条件共享", [RS_CONDITIONAL] = "有条件共享", [RS_NONE] = "不予共享",
};

const char *reg_type_name(enum reg_type t)
{
	return (unsigned)t < RT__MAX ? type_names[t] : "";
}

const char *reg_type_label(enum reg_type t)
{
	return (unsigned)t < RT__MAX ? type_labels[t] : "";
}

const char *reg_share_name(enum reg_share s)
{
	return (unsigned)s < RS__MAX ? share_names[s] : "";
}

const char *reg_share_label(enum reg_share s)
{
	return (unsigned)s < RS__MAX ? share_labels[s] : "";
}

int reg_field_index(const struct reg_def *d, const char *name)
{
	if (d == NULL || name == NULL)
		return -1;
	for (int i = 0; i < d->nfields; i++)
		if (strcmp(d->fields[i].name, name) == 0)
			return i;
	return -1;
}

/* ---- parser state ----------------------------------------------------- */

struct word {
	const char *key;    /* NULL for a word without '=' */
	const char *val;
};

enum dir { D_REGISTRY, D_NAME, D_OWNER, D_KEY, D_SUBJECT, D_SHARE, D_OPEN, D_ABSTRACT, D_CYCLE,
	   D_FIELD, D__MAX };

/* What a field line said about sharing, resolved when the registry's class is known. */
struct fshare {
	int given;
	enum reg_share share;
	char *text;
};

struct parser {
	int line;
	char *err;
	struct reg_def *d;
	int dir_line[D__MAX];             /* line of each directive's first occurrence */
	char key_name[REG_CODE_MAX];
	char subject_name[REG_CODE_MAX];
	int open_given;
	int field_line[REG_MAX_FIELDS];
	struct fshare fs[REG_MAX_FIELDS];
	char text[RD_LINE_MAX + 1];
	char scratch[RD_LINE_MAX + 2 * RD_WORDS_MAX + 2];
	struct word w[RD_WORDS_MAX];
	int nw;
};

static int fail(struct parser *ps, int line, enum msg_id why, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Records the first error as "第 N 行：<message> <detail>"; always returns -1. */
static int fail(struct parser *ps, int line, enum msg_id why, const char *fmt, ...)
{
	if (ps->err != NULL)
		return -1;
	char detail[1200] = "";
	if (fmt != NULL) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(detail, sizeof detail, fmt, ap);
		va_end(ap);
	}
	ps->err = xasprintf("第 %d 行：%s%s%s", line, msg(why), detail[0] ? " " : "", detail);
	return -1;
}

/* ---- words and values ------------------------------------------------- */

/* Codes: [a-z][a-z0-9_]{0,30}. */
static int valid_code(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n >= REG_CODE_MAX || s[0] < 'a' || s[0] > 'z')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
	return 1;
}

/* Number of UTF-8 characters (the text is valid UTF-8 by then). */
static size_t utf8_chars(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

/* A text people read: non-empty, at most max characters.  Returns a copy. */
static char *take_text(struct parser *ps, const char *s, size_t max)
{
	if (*s == '\0') {
		fail(ps, ps->line, MSG_REGDEF_TEXT_EMPTY, NULL);
		return NULL;
	}
	if (utf8_chars(s) > max) {
		fail(ps, ps->line, MSG_REGDEF_TEXT_TOO_LONG, "（最多 %zu 个字符）", max);
		return NULL;
	}
	return xstrdup(s);
}

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

static int check_bytes(struct parser *ps, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	for (size_t i = 0; i < n;) {
		if (u[i] < 0x20 ? u[i] != '\t' : u[i] == 0x7f)
			return fail(ps, ps->line, MSG_REGDEF_CONTROL_CHAR, "（第 %zu 个字节）", i + 1);
		size_t k = utf8_seq(u + i, n - i);
		if (k == 0)
			return fail(ps, ps->line, MSG_REGDEF_BAD_UTF8, "（第 %zu 个字节）", i + 1);
		i += k;
	}
	return 0;
}

/* Splits ps->text into ps->w (see docs/registry-format.md, "Lines and words"). */
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
		if (ps->nw == RD_WORDS_MAX)
			return fail(ps, ps->line, MSG_REGDEF_TOO_MANY_WORDS, NULL);
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
						return fail(ps, ps->line, MSG_REGDEF_BAD_ESCAPE, NULL);
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
			return fail(ps, ps->line, MSG_REGDEF_UNTERMINATED, NULL);
		*o++ = '\0';
		if (key != NULL && *key == '\0')
			return fail(ps, ps->line, MSG_REGDEF_EMPTY_KEY, NULL);
		if (key != NULL && *start == '\0')
			return fail(ps, ps->line, MSG_REGDEF_EMPTY_VALUE, "（%s=）", key);
		ps->w[ps->nw].key = key;
		ps->w[ps->nw].val = start;
		ps->nw++;
		if (comment)
			return 0;
	}
}

/* ---- directives ------------------------------------------------------- */

static const char *const dir_names[D__MAX] = {
	[D_REGISTRY] = "registry", [D_NAME] = "name", [D_OWNER] = "owner", [D_KEY] = "key",
	[D_SUBJECT] = "subject", [D_SHARE] = "share", [D_OPEN] = "open", [D_ABSTRACT] = "abstract",
	[D_CYCLE] = "cycle", [D_FIELD] = "field",
};
static const char *const dir_usage[D__MAX] = {
	[D_REGISTRY] = "registry 资源编码",
	[D_NAME] = "name 资源名称",
	[D_OWNER] = "owner 部门编码",
	[D_KEY] = "key 字段名",
	[D_SUBJECT] = "subject 字段名",
	[D_SHARE] = "share unconditional | share conditional 共享条件 | share none 法律依据",
	[D_OPEN] = "open yes | open no",
	[D_ABSTRACT] = "abstract 摘要",
	[D_CYCLE] = "cycle 更新周期",
	[D_FIELD] = "field 字段名 中文名称 类型 [required] [personal] [index] source=部门编码|derived=资源.字段 [share=...]",
};

/* The words after the directive must be positional and between min and max in number. */
static int positional(struct parser *ps, enum dir dir, int min, int max)
{
	int n = ps->nw - 1;
	int bad = n < min || n > max;
	for (int i = 1; i < ps->nw && !bad; i++)
		if (ps->w[i].key != NULL)
			bad = 1;
	if (bad)
		return fail(ps, ps->line, MSG_REGDEF_USAGE, "“%s”（含空格或“=”的文字请加引号）",
			    dir_usage[dir]);
	return 0;
}

static int do_single(struct parser *ps, enum dir dir)
{
	struct reg_def *d = ps->d;
	const char *v = ps->nw > 1 ? ps->w[1].val : "";
	switch (dir) {
	case D_REGISTRY:
		if (positional(ps, dir, 1, 1) != 0)
			return -1;
		if (!valid_code(v))
			return fail(ps, ps->line, MSG_REGDEF_BAD_CODE, "（“%s”）", v);
		if (strcmp(v, "history") == 0 || strcmp(v, "access") == 0)
			return fail(ps, ps->line, MSG_REGDEF_RESERVED_CODE, "（“%s”）", v);
		snprintf(d->code, sizeof d->code, "%s", v);
		return 0;
	case D_NAME:
		if (positional(ps, dir, 1, 1) != 0)
			return -1;
		d->name = take_text(ps, v, RD_LABEL_CHARS);
		return d->name ? 0 : -1;
	case D_OWNER:
		if (positional(ps, dir, 1, 1) != 0)
			return -1;
		if (!valid_code(v))
			return fail(ps, ps->line, MSG_REGDEF_BAD_CODE, "（部门“%s”）", v);
		snprintf(d->owner_dept, sizeof d->owner_dept, "%s", v);
		return 0;
	case D_KEY:
	case D_SUBJECT:
		if (positional(ps, dir, 1, 1) != 0)
			return -1;
		if (!valid_code(v))
			return fail(ps, ps->line, MSG_REGDEF_BAD_CODE, "（字段“%s”）", v);
		snprintf(dir == D_KEY ? ps->key_name : ps->subject_name, REG_CODE_MAX, "%s", v);
		return 0;
	case D_SHARE: {
		if (positional(ps, dir, 1, 2) != 0)
			return -1;
		int s;
		for (s = 0; s < RS__MAX; s++)
			if (strcmp(v, share_names[s]) == 0)
				break;
		if (s == RS__MAX)
			return fail(ps, ps->line, MSG_REGDEF_BAD_SHARE, "（“%s”）", v);
		d->share = (enum reg_share)s;
		if (s == RS_UNCONDITIONAL && ps->nw > 2)
			return fail(ps, ps->line, MSG_REGDEF_UNCOND_TEXT, NULL);
		if (s != RS_UNCONDITIONAL && ps->nw < 3)
			return fail(ps, ps->line, s == RS_CONDITIONAL ? MSG_REGDEF_NEED_CONDITIONS
								     : MSG_REGDEF_NEED_BASIS, NULL);
		if (s != RS_UNCONDITIONAL) {
			d->share_cond = take_text(ps, ps->w[2].val, RD_COND_CHARS);
			if (d->share_cond == NULL)
				return -1;
		}
		return 0;
	}
	case D_OPEN:
		if (positional(ps, dir, 1, 1) != 0)
			return -1;
		if (strcmp(v, "yes") == 0)
			d->open = 1;
		else if (strcmp(v, "no") == 0)
			d->open = 0;
		else
			return fail(ps, ps->line, MSG_REGDEF_BAD_OPEN, "（“%s”）", v);
		return 0;
	case D_ABSTRACT:
		if (positional(ps, dir, 1, 1) != 0)
			return -1;
		d->abstract = take_text(ps, v, RD_ABSTRACT_CHARS);
		return d->abstract ? 0 : -1;
	case D_CYCLE:
		if (positional(ps, dir, 1, 1) != 0)
			return -1;
		d->update_cycle = take_text(ps, v, RD_CYCLE_CHARS);
		return d->update_cycle ? 0 : -1;
	default:
		return -1;
	}
}

/* Digits only, 1..4 of them, no leading zero; -1 when not. */
static int small_number(const char *s, size_t n)
{
	int v = 0;
	if (n == 0 || n > 4 || (s[0] == '0' && n > 1))
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

static int parse_enum(struct parser *ps, struct reg_field *f, const char *s, size_t n)
{
	f->enum_values = xcalloc(RD_ENUM_MAX + 1, sizeof *f->enum_values);
	const char *p = s, *end = s + n;
	for (;;) {
		const char *bar = memchr(p, '|', (size_t)(end - p));
		size_t len = bar ? (size_t)(bar - p) : (size_t)(end - p);
		if (len == 0 || len > RD_ENUM_VALUE_BYTES || f->nenum == RD_ENUM_MAX ||
		    p[0] == ' ' || p[0] == '\t' || p[len - 1] == ' ' || p[len - 1] == '\t')
			return fail(ps, ps->line, MSG_REGDEF_BAD_ENUM, NULL);
		for (int i = 0; i < f->nenum; i++)
			if (strlen(f->enum_values[i]) == len && memcmp(f->enum_values[i], p, len) == 0)
				return fail(ps, ps->line, MSG_REGDEF_BAD_ENUM, "（“%.*s”重复）", (int)len, p);
		f->enum_values[f->nenum++] = xstrndup(p, len);
		if (bar == NULL)
			break;
		p = bar + 1;
	}
	return 0;
}

/* TYPE: name, or name(ARG) for text, address, decimal and enum. */
static int parse_type(struct parser *ps, struct reg_field *f, const char *s)
{
	const char *paren = strchr(s, '(');
	size_t nlen = paren ? (size_t)(paren - s) : strlen(s);
	int t;
	for (t = 0; t < RT__MAX; t++)
		if (strlen(type_names[t]) == nlen && memcmp(type_names[t], s, nlen) == 0)
			break;
	size_t slen = strlen(s);
	if (t == RT__MAX || (paren != NULL && s[slen - 1] != ')'))
		return fail(ps, ps->line, MSG_REGDEF_UNKNOWN_TYPE, "“%s”%s", s, msg(MSG_REGDEF_TYPE_LIST));
	f->type = (enum reg_type)t;
	const char *arg = paren ? paren + 1 : NULL;
	size_t alen = paren ? slen - nlen - 2 : 0;
	switch (f->type) {
	case RT_TEXT:
	case RT_ADDRESS:
		f->max_chars = RD_TEXT_DEFAULT;
		if (arg != NULL) {
			int v = small_number(arg, alen);
			if (v < 1 || v > RD_TEXT_LIMIT)
				return fail(ps, ps->line, MSG_REGDEF_BAD_LENGTH, "“%s”", s);
			f->max_chars = v;
		}
		return 0;
	case RT_DECIMAL: {
		int v = arg ? small_number(arg, alen) : -1;
		if (v < 0 || v > RD_SCALE_MAX)
			return fail(ps, ps->line, MSG_REGDEF_BAD_SCALE, "“%s”", s);
		f->scale = v;
		return 0;
	}
	case RT_ENUM:
		if (arg == NULL)
			return fail(ps, ps->line, MSG_REGDEF_BAD_ENUM, "（写法如 enum(男|女)）");
		return parse_enum(ps, f, arg, alen);
	default:
		if (arg != NULL)
			return fail(ps, ps->line, MSG_REGDEF_UNKNOWN_TYPE, "“%s”%s", s, msg(MSG_REGDEF_TYPE_LIST));
		return 0;
	}
}

/* share=unconditional | conditional[:TEXT] | none:TEXT */
static int parse_field_share(struct parser *ps, struct fshare *fs, const char *v)
{
	const char *colon = strchr(v, ':');
	size_t n = colon ? (size_t)(colon - v) : strlen(v);
	int s;
	for (s = 0; s < RS__MAX; s++)
		if (strlen(share_names[s]) == n && memcmp(share_names[s], v, n) == 0)
			break;
	if (s == RS__MAX)
		return fail(ps, ps->line, MSG_REGDEF_BAD_SHARE, "（share=%s）", v);
	fs->given = 1;
	fs->share = (enum reg_share)s;
	if (s == RS_UNCONDITIONAL && colon != NULL)
		return fail(ps, ps->line, MSG_REGDEF_UNCOND_TEXT, NULL);
	if (s == RS_NONE && colon == NULL)
		return fail(ps, ps->line, MSG_REGDEF_NEED_BASIS, "（写法如 share=none:\"《……》第……条\"）");
	if (colon != NULL) {
		fs->text = take_text(ps, colon + 1, RD_COND_CHARS);
		if (fs->text == NULL)
			return -1;
	}
	return 0;
}

static int do_field(struct parser *ps)
{
	struct reg_def *d = ps->d;
	if (ps->nw < 4 || ps->w[1].key || ps->w[2].key || ps->w[3].key)
		return fail(ps, ps->line, MSG_REGDEF_USAGE, "“%s”（含空格或“=”的文字请加引号）",
			    dir_usage[D_FIELD]);
	const char *name = ps->w[1].val;
	if (!valid_code(name))
		return fail(ps, ps->line, MSG_REGDEF_BAD_CODE, "（字段“%s”）", name);
	int dup = reg_field_index(d, name);
	if (dup >= 0)
		return fail(ps, ps->line, MSG_REGDEF_DUP_FIELD, "“%s”（第一次出现在第 %d 行）", name,
			    ps->field_line[dup]);
	if (d->nfields == REG_MAX_FIELDS)
		return fail(ps, ps->line, MSG_REGDEF_TOO_MANY_FIELDS, NULL);
	int i = d->nfields++;
	struct reg_field *f = &d->fields[i];
	ps->field_line[i] = ps->line;
	snprintf(f->name, sizeof f->name, "%s", name);
	f->label = take_text(ps, ps->w[2].val, RD_LABEL_CHARS);
	if (f->label == NULL)
		return -1;
	if (parse_type(ps, f, ps->w[3].val) != 0)
		return -1;
	int seen_source = 0, seen_derived = 0, seen_share = 0;
	for (int k = 4; k < ps->nw; k++) {
		const struct word *w = &ps->w[k];
		if (w->key == NULL) {
			int *flag = strcmp(w->val, "required") == 0 ? &f->required
				  : strcmp(w->val, "personal") == 0 ? &f->personal
				  : strcmp(w->val, "index") == 0    ? &f->indexed
								    : NULL;
			if (flag == NULL)
				return fail(ps, ps->line, MSG_REGDEF_UNKNOWN_FLAG, "“%s”", w->val);
			if (*flag)
				return fail(ps, ps->line, MSG_REGDEF_DUP_FLAG, "“%s”", w->val);
			*flag = 1;
		} else if (strcmp(w->key, "source") == 0) {
			if (seen_source++)
				return fail(ps, ps->line, MSG_REGDEF_DUP_FLAG, "“source=”");
			if (!valid_code(w->val))
				return fail(ps, ps->line, MSG_REGDEF_BAD_CODE, "（部门“%s”）", w->val);
			snprintf(f->source_dept, sizeof f->source_dept, "%s", w->val);
		} else if (strcmp(w->key, "derived") == 0) {
			if (seen_derived++)
				return fail(ps, ps->line, MSG_REGDEF_DUP_FLAG, "“derived=”");
			const char *dot = strchr(w->val, '.');
			char reg[REG_CODE_MAX + 1];
			size_t rn = dot ? (size_t)(dot - w->val) : 0;
			if (dot == NULL || rn >= sizeof reg)
				return fail(ps, ps->line, MSG_REGDEF_BAD_DERIVED, "（“%s”）", w->val);
			memcpy(reg, w->val, rn);
			reg[rn] = '\0';
			if (!valid_code(reg) || !valid_code(dot + 1))
				return fail(ps, ps->line, MSG_REGDEF_BAD_DERIVED, "（“%s”）", w->val);
			snprintf(f->derived_from, sizeof f->derived_from, "%s", w->val);
		} else if (strcmp(w->key, "share") == 0) {
			if (seen_share++)
				return fail(ps, ps->line, MSG_REGDEF_DUP_FLAG, "“share=”");
			if (parse_field_share(ps, &ps->fs[i], w->val) != 0)
				return -1;
		} else {
			return fail(ps, ps->line, MSG_REGDEF_UNKNOWN_KEY, "“%s=”", w->key);
		}
	}
	if (seen_source + seen_derived != 1)
		return fail(ps, ps->line, MSG_REGDEF_SOURCE_XOR, NULL);
	return 0;
}

static int do_line(struct parser *ps)
{
	if (split_words(ps) != 0)
		return -1;
	if (ps->nw == 0)
		return 0;
	const struct word *w = &ps->w[0];
	int dir = D__MAX;
	if (w->key == NULL)
		for (dir = 0; dir < D__MAX; dir++)
			if (strcmp(w->val, dir_names[dir]) == 0)
				break;
	if (dir == D__MAX)
		return fail(ps, ps->line, MSG_REGDEF_UNKNOWN_DIRECTIVE, "“%s%s%s”", w->key ? w->key : "",
			    w->key ? "=" : "", w->val);
	if (dir == D_FIELD) {
		if (ps->dir_line[D_FIELD] == 0)
			ps->dir_line[D_FIELD] = ps->line;
		return do_field(ps);
	}
	if (ps->dir_line[dir] != 0)
		return fail(ps, ps->line, MSG_REGDEF_DUPLICATE_DIRECTIVE, "“%s”（第一次出现在第 %d 行）",
			    dir_names[dir], ps->dir_line[dir]);
	ps->dir_line[dir] = ps->line;
	return do_single(ps, (enum dir)dir);
}

/* ---- the definition as a whole ---------------------------------------- */

static int check_whole(struct parser *ps)
{
	struct reg_def *d = ps->d;
	static const enum dir needed[] = { D_REGISTRY, D_NAME, D_OWNER, D_KEY, D_SHARE };
	for (size_t i = 0; i < NELEM(needed); i++)
		if (ps->dir_line[needed[i]] == 0)
			return fail(ps, 1, MSG_REGDEF_MISSING, "“%s”", dir_names[needed[i]]);
	if (d->nfields == 0)
		return fail(ps, 1, MSG_REGDEF_NO_FIELDS, NULL);

	/* the key */
	d->key = reg_field_index(d, ps->key_name);
	if (d->key < 0)
		return fail(ps, ps->dir_line[D_KEY], MSG_REGDEF_NO_SUCH_FIELD, "“%s”", ps->key_name);
	struct reg_field *k = &d->fields[d->key];
	if (k->type == RT_DECIMAL || k->type == RT_DATE || k->type == RT_ENUM || k->type == RT_BOOL ||
	    k->type == RT_ADDRESS)
		return fail(ps, ps->dir_line[D_KEY], MSG_REGDEF_BAD_KEY_TYPE, "（“%s”为%s）", k->name,
			    type_labels[k->type]);
	if (ps->fs[d->key].given && ps->fs[d->key].share == RS_NONE)
		return fail(ps, ps->dir_line[D_KEY], MSG_REGDEF_KEY_NOT_SHARED, "（“%s”）", k->name);
	k->required = 1;

	/* the subject */
	if (ps->dir_line[D_SUBJECT] != 0) {
		d->subject = reg_field_index(d, ps->subject_name);
		if (d->subject < 0)
			return fail(ps, ps->dir_line[D_SUBJECT], MSG_REGDEF_NO_SUCH_FIELD, "“%s”",
				    ps->subject_name);
		enum reg_type t = d->fields[d->subject].type;
		if (t != RT_IDCARD && t != RT_USCC)
			return fail(ps, ps->dir_line[D_SUBJECT], MSG_REGDEF_BAD_SUBJECT, "（“%s”为%s）",
				    ps->subject_name, type_labels[t]);
	} else {
		d->subject = (k->type == RT_IDCARD || k->type == RT_USCC) ? d->key : -1;
	}

	/* the fields: derived never from this registry; sharing classes */
	for (int i = 0; i < d->nfields; i++) {
		struct reg_field *f = &d->fields[i];
		struct fshare *fs = &ps->fs[i];
		size_t cn = strlen(d->code);
		if (f->derived_from[0] && strncmp(f->derived_from, d->code, cn) == 0 &&
		    f->derived_from[cn] == '.')
			return fail(ps, ps->field_line[i], MSG_REGDEF_BAD_DERIVED, "（“%s”）",
				    f->derived_from);
		if (!fs->given) {
			f->share = d->share;
			f->share_cond = d->share_cond ? xstrdup(d->share_cond) : NULL;
			continue;
		}
		if (d->share == RS_NONE && fs->share != RS_NONE)
			return fail(ps, ps->field_line[i], MSG_REGDEF_FIELD_SHARE, "（“%s”）", f->name);
		if (fs->share == RS_CONDITIONAL && fs->text == NULL && d->share != RS_CONDITIONAL)
			return fail(ps, ps->field_line[i], MSG_REGDEF_NEED_CONDITIONS,
				    "（写法如 share=conditional:\"共享条件\"）");
		f->share = fs->share;
		if (fs->text != NULL) {
			f->share_cond = fs->text;
			fs->text = NULL;
		} else if (fs->share == RS_CONDITIONAL) {
			f->share_cond = xstrdup(d->share_cond);
		}
	}
	if (d->open && d->share == RS_NONE)
		return fail(ps, ps->dir_line[D_OPEN], MSG_REGDEF_OPEN_NOT_SHARED, NULL);
	return 0;
}

int regdef_parse(const char *text, size_t len, struct reg_def **out, char **err)
{
	struct parser *ps = xcalloc(1, sizeof *ps);
	struct reg_def *d = xcalloc(1, sizeof *d);
	size_t pos = 0;
	int rc = -1;

	*out = NULL;
	if (err != NULL)
		*err = NULL;
	d->fields = xcalloc(REG_MAX_FIELDS, sizeof *d->fields);
	d->key = -1;
	d->subject = -1;
	ps->d = d;
	if (text == NULL)
		len = 0;
	if (len > RD_TEXT_MAX) {
		fail(ps, 1, MSG_REGDEF_TOO_LONG, NULL);
		goto out;
	}
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
			s += 3;
			n -= 3;
		}
		if (n > RD_LINE_MAX) {
			fail(ps, ps->line, MSG_REGDEF_LINE_TOO_LONG, NULL);
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
	*out = d;
	d = NULL;
	rc = 0;
out:
	for (int i = 0; i < REG_MAX_FIELDS; i++)
		free(ps->fs[i].text);
	if (rc != 0 && err != NULL)
		*err = ps->err;
	else
		free(ps->err);
	free(ps);
	regdef_free(d);
	return rc;
}

void regdef_free(struct reg_def *d)
{
	if (d == NULL)
		return;
	for (int i = 0; i < d->nfields; i++) {
		struct reg_field *f = &d->fields[i];
		free(f->label);
		for (int k = 0; k < f->nenum; k++)
			free(f->enum_values[k]);
		free(f->enum_values);
		free(f->share_cond);
	}
	free(d->fields);
	free(d->name);
	free(d->share_cond);
	free(d->abstract);
	free(d->update_cycle);
	free(d);
}
