/*
 * The XLSX reader of imports (transfer.h): the first worksheet of a
 * workbook, streamed out of the zip (libzip) through expat, row by row.
 * Nothing but the shared strings and the cell styles is held in memory.
 *
 * Parts read: xl/workbook.xml (the first <sheet>'s relationship id and the
 * date system), xl/_rels/workbook.xml.rels (where that sheet, the shared
 * strings and the styles are), xl/sharedStrings.xml, xl/styles.xml (which
 * cell formats are dates), and the sheet.  Part names are looked up
 * case-insensitively, as OPC says.  Expat runs with namespaces, so prefixes
 * do not matter; a DOCTYPE is refused.
 */
#include "engines/registry/transfer.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/validate.h"
#include "core/xalloc.h"

#include <expat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>

#define CHUNK (64 * 1024)
#define SMALL_PART_MAX (16L * 1024 * 1024)     /* workbook, rels, styles */
#define SS_PART_MAX (512L * 1024 * 1024)       /* shared strings */
#define MAX_NUMFMTS 4096
#define MAX_XFS 65536
#define PATH_MAX_LEN 512

struct sstr {
	size_t off;
	size_t len;
	enum msg_id bad;
};

struct xlsx {
	zip_t *za;
	int date1904;
	char rid[128];
	char sheet[PATH_MAX_LEN], sst[PATH_MAX_LEN], styles[PATH_MAX_LEN];
	int have_sheet_rid;
	/* shared strings */
	struct buf ss_text;
	struct sstr *ss;
	size_t nss, ss_cap;
	/* styles */
	int numfmt_id[MAX_NUMFMTS];
	unsigned char numfmt_date[MAX_NUMFMTS];
	int nnumfmt;
	unsigned char *xf_date;
	int nxf;
	/* the current parse */
	XML_Parser p;
	enum msg_id why;           /* a fatal problem found in a handler */
	int64_t why_row;
	int stop;                  /* the row callback's non-zero answer */
	int depth;
};

/* ------------------------------------------------------------ helpers */

static const char *local_name(const char *n)
{
	const char *s = strrchr(n, '|');
	return s ? s + 1 : n;
}

static const char *attr(const char **atts, const char *local, int namespaced)
{
	for (int i = 0; atts[i] != NULL; i += 2) {
		const char *bar = strrchr(atts[i], '|');
		if ((bar != NULL) != (namespaced != 0))
			continue;
		if (strcmp(bar ? bar + 1 : atts[i], local) == 0)
			return atts[i + 1];
	}
	return NULL;
}

static void fail(struct xlsx *x, enum msg_id why, int64_t row)
{
	if (x->why == MSG_NONE) {
		x->why = why;
		x->why_row = row;
	}
	XML_StopParser(x->p, XML_FALSE);
}

/* Every parser's user data starts with the struct xlsx pointer (struct holder, ss_state, ...). */
struct holder {
	struct xlsx *x;
};

static void on_doctype(void *data, const XML_Char *name, const XML_Char *sysid, const XML_Char *pubid,
		       int has_internal)
{
	(void)name, (void)sysid, (void)pubid, (void)has_internal;
	fail(((struct holder *)data)->x, MSG_IMP_XLSX_BAD, 0);
}

/* Decodes the _xHHHH_ escapes of OOXML strings (ST_Xstring) in place. */
static size_t unescape_x(char *s, size_t n)
{
	size_t o = 0;
	for (size_t i = 0; i < n;) {
		unsigned v = 0;
		int ok = i + 7 <= n && s[i] == '_' && s[i + 1] == 'x' && s[i + 6] == '_';
		for (int k = 2; ok && k < 6; k++) {
			char c = s[i + k];
			v <<= 4;
			if (c >= '0' && c <= '9')
				v |= (unsigned)(c - '0');
			else if (c >= 'a' && c <= 'f')
				v |= (unsigned)(c - 'a' + 10);
			else if (c >= 'A' && c <= 'F')
				v |= (unsigned)(c - 'A' + 10);
			else
				ok = 0;
		}
		if (ok && v >= 0xD800 && v <= 0xDFFF)
			ok = 0;
		if (!ok) {
			s[o++] = s[i++];
			continue;
		}
		if (v < 0x80) {
			s[o++] = (char)v;
		} else if (v < 0x800) {
			s[o++] = (char)(0xC0 | (v >> 6));
			s[o++] = (char)(0x80 | (v & 0x3F));
		} else {
			s[o++] = (char)(0xE0 | (v >> 12));
			s[o++] = (char)(0x80 | ((v >> 6) & 0x3F));
			s[o++] = (char)(0x80 | (v & 0x3F));
		}
		i += 7;
	}
	s[o] = '\0';
	return o;
}

/* "xl/" + target resolved (leading '/' = from the package root; "./" and ".." removed). */
static int resolve(const char *target, char *out, size_t cap)
{
	char tmp[PATH_MAX_LEN];
	int n = target[0] == '/' ? snprintf(tmp, sizeof tmp, "%s", target + 1)
				 : snprintf(tmp, sizeof tmp, "xl/%s", target);
	if (n < 0 || (size_t)n >= sizeof tmp)
		return -1;
	/* Segment by segment. */
	size_t o = 0;
	char *save = NULL;
	for (char *seg = strtok_r(tmp, "/", &save); seg != NULL; seg = strtok_r(NULL, "/", &save)) {
		if (strcmp(seg, ".") == 0)
			continue;
		if (strcmp(seg, "..") == 0) {
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
			continue;
		}
		size_t l = strlen(seg);
		if (o + l + 2 > cap)
			return -1;
		if (o > 0)
			out[o++] = '/';
		memcpy(out + o, seg, l);
		o += l;
	}
	out[o] = '\0';
	return o > 0 ? 0 : -1;
}

/*
 * Streams part name through the parser x->p.  0 when parsed, 1 when the part
 * is missing, -1 on an error (x->why set) or a stop by the row callback.
 */
static int parse_part(struct xlsx *x, const char *name, long max, imp_bytes_fn bytes, void *bytes_arg)
{
	zip_int64_t idx = zip_name_locate(x->za, name, ZIP_FL_NOCASE);
	if (idx < 0)
		return 1;
	zip_stat_t zs;
	uint64_t total = 0, done = 0;
	if (zip_stat_index(x->za, (zip_uint64_t)idx, 0, &zs) == 0 && (zs.valid & ZIP_STAT_SIZE))
		total = zs.size;
	zip_file_t *zf = zip_fopen_index(x->za, (zip_uint64_t)idx, 0);
	if (zf == NULL) {
		x->why = MSG_IMP_XLSX_BAD;
		return -1;
	}
	char *chunk = xmalloc(CHUNK);
	int rc = 0;
	for (;;) {
		zip_int64_t n = zip_fread(zf, chunk, CHUNK);
		if (n < 0) {
			if (x->why == MSG_NONE)
				x->why = MSG_IMP_XLSX_BAD;
			rc = -1;
			break;
		}
		done += (uint64_t)n;
		if (done > (uint64_t)max) {
			x->why = MSG_IMP_XLSX_TOO_BIG;
			rc = -1;
			break;
		}
		if (XML_Parse(x->p, chunk, (int)n, n == 0) != XML_STATUS_OK) {
			if (x->why == MSG_NONE && !x->stop)
				x->why = MSG_IMP_XLSX_BAD;
			rc = -1;
			break;
		}
		if (bytes != NULL && n > 0)
			bytes(bytes_arg, done, total);
		if (n == 0)
			break;
	}
	free(chunk);
	zip_fclose(zf);
	return rc;
}

/* A namespace-aware parser whose user data is ud (its first member: struct xlsx *). */
static XML_Parser new_parser(struct xlsx *x, void *ud)
{
	XML_Parser p = XML_ParserCreateNS(NULL, '|');
	if (p == NULL)
		abort();   /* out of memory, as xmalloc would */
	XML_SetUserData(p, ud);
	XML_SetStartDoctypeDeclHandler(p, on_doctype);
	x->p = p;
	x->depth = 0;
	return p;
}

/* ------------------------------------------------------------ workbook and relationships */

static void wb_start(void *data, const XML_Char *name, const XML_Char **atts)
{
	struct xlsx *x = ((struct holder *)data)->x;
	const char *l = local_name(name);
	if (strcmp(l, "workbookPr") == 0) {
		const char *v = attr(atts, "date1904", 0);
		x->date1904 = v != NULL && (strcmp(v, "1") == 0 || strcmp(v, "true") == 0);
	} else if (strcmp(l, "sheet") == 0 && !x->have_sheet_rid) {
		const char *id = attr(atts, "id", 1);
		if (id != NULL && strlen(id) < sizeof x->rid) {
			snprintf(x->rid, sizeof x->rid, "%s", id);
			x->have_sheet_rid = 1;
		}
	}
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static void rels_start(void *data, const XML_Char *name, const XML_Char **atts)
{
	struct xlsx *x = ((struct holder *)data)->x;
	if (strcmp(local_name(name), "Relationship") != 0)
		return;
	const char *id = attr(atts, "Id", 0), *target = attr(atts, "Target", 0), *type = attr(atts, "Type", 0);
	const char *mode = attr(atts, "TargetMode", 0);
	if (target == NULL || type == NULL || (mode != NULL && strcmp(mode, "External") == 0))
		return;
	if (id != NULL && x->have_sheet_rid && strcmp(id, x->rid) == 0 && x->sheet[0] == '\0')
		resolve(target, x->sheet, sizeof x->sheet);
	else if (ends_with(type, "/sharedStrings") && x->sst[0] == '\0')
		resolve(target, x->sst, sizeof x->sst);
	else if (ends_with(type, "/styles") && x->styles[0] == '\0')
		resolve(target, x->styles, sizeof x->styles);
}

/* ------------------------------------------------------------ shared strings */

struct ss_state {
	struct xlsx *x;
	int in_si, in_t, in_rph;
	struct buf cur;
	int too_long;
};

static void ss_start(void *data, const XML_Char *name, const XML_Char **atts)
{
	struct ss_state *s = data;
	const char *l = local_name(name);
	(void)atts;
	if (strcmp(l, "si") == 0) {
		s->in_si = 1;
		s->too_long = 0;
		buf_reset(&s->cur);
	} else if (strcmp(l, "rPh") == 0) {
		s->in_rph++;
	} else if (strcmp(l, "t") == 0 && s->in_si) {
		s->in_t = 1;
	}
}

static void ss_end(void *data, const XML_Char *name)
{
	struct ss_state *s = data;
	struct xlsx *x = s->x;
	const char *l = local_name(name);
	if (strcmp(l, "t") == 0) {
		s->in_t = 0;
	} else if (strcmp(l, "rPh") == 0) {
		if (s->in_rph > 0)
			s->in_rph--;
	} else if (strcmp(l, "si") == 0 && s->in_si) {
		s->in_si = 0;
		if (x->nss == x->ss_cap) {
			x->ss_cap = x->ss_cap ? x->ss_cap * 2 : 1024;
			x->ss = xrealloc(x->ss, x->ss_cap * sizeof *x->ss);
		}
		struct sstr *e = &x->ss[x->nss++];
		e->off = x->ss_text.len;
		e->len = 0;
		e->bad = s->too_long ? MSG_IMP_CELL_TOO_LONG : MSG_NONE;
		if (!s->too_long && s->cur.len > 0) {
			size_t n = unescape_x(s->cur.data, s->cur.len);
			if (buf_add(&x->ss_text, s->cur.data, n) != 0) {
				fail(x, MSG_IMP_XLSX_TOO_BIG, 0);
				return;
			}
			e->len = n;
		}
		if (buf_addch(&x->ss_text, '\0') != 0)
			fail(x, MSG_IMP_XLSX_TOO_BIG, 0);
	}
}

static void ss_text(void *data, const XML_Char *t, int len)
{
	struct ss_state *s = data;
	if (!s->in_si || !s->in_t || s->in_rph || s->too_long)
		return;
	if (buf_add(&s->cur, t, (size_t)len) != 0)
		s->too_long = 1;
}

/* ------------------------------------------------------------ styles */

/* Built-in number formats that show a date (ECMA-376 18.8.30 and the zh-CN set). */
static int builtin_date(int id)
{
	return (id >= 14 && id <= 17) || id == 22 || (id >= 27 && id <= 31) || id == 36 ||
	       (id >= 50 && id <= 54) || id == 57 || id == 58;
}

/* A custom format code shows a date when y, m or d appear outside quotes,
 * brackets and escapes (m with h or s around is minutes: a time). */
static int code_is_date(const char *code)
{
	int y = 0, m = 0, d = 0, hs = 0;
	for (const char *c = code; *c != '\0'; c++) {
		if (*c == '"') {
			c = strchr(c + 1, '"');
			if (c == NULL)
				break;
		} else if (*c == '[') {
			c = strchr(c + 1, ']');
			if (c == NULL)
				break;
		} else if (*c == '\\' || *c == '_' || *c == '*') {
			if (c[1] == '\0')
				break;
			c++;
		} else {
			switch (*c) {
			case 'y': case 'Y': case 'e': y = 1; break;
			case 'd': case 'D': d = 1; break;
			case 'm': case 'M': m = 1; break;
			case 'h': case 'H': case 's': case 'S': hs = 1; break;
			default: break;
			}
		}
	}
	return y || d || (m && !hs);
}

struct st_state {
	struct xlsx *x;
	int in_cellxfs;
	int *xf_fmt;
	int nxf, cap;
};

static void st_start(void *data, const XML_Char *name, const XML_Char **atts)
{
	struct st_state *s = data;
	struct xlsx *x = s->x;
	const char *l = local_name(name);
	if (strcmp(l, "numFmt") == 0) {
		const char *id = attr(atts, "numFmtId", 0), *code = attr(atts, "formatCode", 0);
		if (id != NULL && code != NULL && x->nnumfmt < MAX_NUMFMTS) {
			x->numfmt_id[x->nnumfmt] = (int)strtol(id, NULL, 10);
			x->numfmt_date[x->nnumfmt] = (unsigned char)code_is_date(code);
			x->nnumfmt++;
		}
	} else if (strcmp(l, "cellXfs") == 0) {
		s->in_cellxfs = 1;
	} else if (strcmp(l, "xf") == 0 && s->in_cellxfs) {
		if (s->nxf == MAX_XFS)
			return;
		if (s->nxf == s->cap) {
			s->cap = s->cap ? s->cap * 2 : 64;
			s->xf_fmt = xrealloc(s->xf_fmt, (size_t)s->cap * sizeof *s->xf_fmt);
		}
		const char *id = attr(atts, "numFmtId", 0);
		s->xf_fmt[s->nxf++] = id ? (int)strtol(id, NULL, 10) : 0;
	}
}

static void st_end(void *data, const XML_Char *name)
{
	struct st_state *s = data;
	if (strcmp(local_name(name), "cellXfs") == 0)
		s->in_cellxfs = 0;
}

static int fmt_is_date(const struct xlsx *x, int id)
{
	for (int i = 0; i < x->nnumfmt; i++)
		if (x->numfmt_id[i] == id)
			return x->numfmt_date[i];
	return builtin_date(id);
}

/* ------------------------------------------------------------ dates */

/* Civil date of a day count from 1970-01-01 (H. Hinnant's algorithm). */
static void civil(int64_t z, int *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t yy = (int64_t)yoe + era * 400;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int)(yy + (*m <= 2));
}

/* The date an integral serial shows, "YYYY-MM-DD" into out; 0, or -1 when it is none. */
static int serial_date(const struct xlsx *x, const char *v, char *out, size_t cap)
{
	int64_t n = 0;
	if (*v == '\0' || strlen(v) > 7)
		return -1;
	for (const char *c = v; *c != '\0'; c++) {
		if (*c < '0' || *c > '9')
			return -1;
		n = n * 10 + (*c - '0');
	}
	int64_t days;   /* from 1970-01-01 */
	if (x->date1904)
		days = n - 24107;
	else if (n >= 61)
		days = n - 25569;          /* 1899-12-30 + n: past Excel's phantom 1900-02-29 */
	else if (n >= 1 && n <= 59)
		days = n - 25568;          /* 1899-12-31 + n */
	else
		return -1;
	int y;
	unsigned m, d;
	civil(days, &y, &m, &d);
	if (y < 1 || y > 9999 || m < 1 || m > 12 || d < 1 || d > 31 || cap < 11)
		return -1;
	out[0] = (char)('0' + y / 1000);
	out[1] = (char)('0' + y / 100 % 10);
	out[2] = (char)('0' + y / 10 % 10);
	out[3] = (char)('0' + y % 10);
	out[4] = '-';
	out[5] = (char)('0' + m / 10);
	out[6] = (char)('0' + m % 10);
	out[7] = '-';
	out[8] = (char)('0' + d / 10);
	out[9] = (char)('0' + d % 10);
	out[10] = '\0';
	return 0;
}

/* ------------------------------------------------------------ the sheet */

enum ctype { CT_NUM, CT_SHARED, CT_INLINE, CT_STR, CT_BOOL, CT_ERR, CT_DATE };

struct sh_state {
	struct xlsx *x;
	imp_row_fn fn;
	void *arg;
	int in_sheetdata;
	/* the current row */
	int64_t row, last_emitted;
	int in_row;
	struct buf text;              /* cell texts, NUL-terminated */
	size_t off[IMP_MAX_COLS], len[IMP_MAX_COLS];
	enum msg_id bad[IMP_MAX_COLS];
	unsigned char present[IMP_MAX_COLS], numeric[IMP_MAX_COLS];
	int maxcol;                   /* highest column with a value + 1 */
	int prevcol;
	/* the current cell */
	int in_c, col, style, has_f, has_v;
	enum ctype type;
	int in_v, in_is, in_t, in_rph;
	struct buf val;
	int val_long;
};

/* "BC12" -> column 54 (0-based); -1 when malformed. */
static int ref_col(const char *r)
{
	int c = 0, n = 0;
	for (; *r >= 'A' && *r <= 'Z'; r++, n++) {
		c = c * 26 + (*r - 'A' + 1);
		if (c > 16384)
			return -1;
	}
	return n > 0 ? c - 1 : -1;
}

static void sh_start(void *data, const XML_Char *name, const XML_Char **atts)
{
	struct sh_state *s = data;
	const char *l = local_name(name);
	if (strcmp(l, "sheetData") == 0) {
		s->in_sheetdata = 1;
	} else if (!s->in_sheetdata) {
		return;
	} else if (strcmp(l, "row") == 0) {
		const char *r = attr(atts, "r", 0);
		int64_t n = s->row + 1;
		if (r != NULL) {
			char *end = NULL;
			long long v = strtoll(r, &end, 10);
			n = end != r && *end == '\0' && v > 0 ? v : -1;
		}
		if (n <= s->row || n > 1048576 * 16) {
			fail(s->x, MSG_IMP_XLSX_BAD, s->row + 1);
			return;
		}
		s->row = n;
		s->in_row = 1;
		s->maxcol = 0;
		s->prevcol = -1;
		memset(s->present, 0, sizeof s->present);
		buf_reset(&s->text);
	} else if (strcmp(l, "c") == 0 && s->in_row) {
		const char *r = attr(atts, "r", 0), *t = attr(atts, "t", 0), *st = attr(atts, "s", 0);
		s->col = r != NULL ? ref_col(r) : s->prevcol + 1;
		if (s->col < 0 || s->col <= s->prevcol) {
			fail(s->x, MSG_IMP_XLSX_BAD, s->row);
			return;
		}
		s->prevcol = s->col;
		s->in_c = 1;
		s->has_f = s->has_v = 0;
		s->style = st != NULL ? (int)strtol(st, NULL, 10) : 0;
		s->type = CT_NUM;
		if (t != NULL) {
			if (strcmp(t, "s") == 0)
				s->type = CT_SHARED;
			else if (strcmp(t, "inlineStr") == 0)
				s->type = CT_INLINE;
			else if (strcmp(t, "str") == 0)
				s->type = CT_STR;
			else if (strcmp(t, "b") == 0)
				s->type = CT_BOOL;
			else if (strcmp(t, "e") == 0)
				s->type = CT_ERR;
			else if (strcmp(t, "d") == 0)
				s->type = CT_DATE;
		}
		buf_reset(&s->val);
		s->val_long = 0;
	} else if (!s->in_c) {
		return;
	} else if (strcmp(l, "v") == 0) {
		s->in_v = 1;
		s->has_v = 1;
	} else if (strcmp(l, "f") == 0) {
		s->has_f = 1;
	} else if (strcmp(l, "is") == 0) {
		s->in_is = 1;
	} else if (strcmp(l, "rPh") == 0) {
		s->in_rph++;
	} else if (strcmp(l, "t") == 0 && s->in_is) {
		s->in_t = 1;
	}
}

static void sh_text(void *data, const XML_Char *t, int len)
{
	struct sh_state *s = data;
	if (!s->in_c || s->val_long)
		return;
	if (s->in_v || (s->in_is && s->in_t && !s->in_rph))
		if (buf_add(&s->val, t, (size_t)len) != 0)
			s->val_long = 1;
}

/* Places the finished cell's text (or problem) in the row. */
static void put_cell(struct sh_state *s, const char *text, size_t len, enum msg_id bad, int numeric)
{
	int c = s->col;
	if (len == 0 && bad == MSG_NONE)
		return;     /* empty */
	if (c >= IMP_MAX_COLS) {
		fail(s->x, MSG_IMP_TOO_MANY_COLS, s->row);
		return;
	}
	if (len > 0 && validate_utf8(text, len) != MSG_NONE) {
		bad = MSG_IMP_BAD_UTF8;
		len = 0;
	}
	if (len > 0 && memchr(text, '\0', len) != NULL) {
		bad = MSG_IMP_CELL_CONTROL;
		len = 0;
	}
	s->off[c] = s->text.len;
	s->len[c] = len;
	s->bad[c] = bad;
	s->numeric[c] = (unsigned char)numeric;
	s->present[c] = 1;
	if ((len > 0 && buf_add(&s->text, text, len) != 0) || buf_addch(&s->text, '\0') != 0) {
		fail(s->x, MSG_IMP_XLSX_TOO_BIG, s->row);
		return;
	}
	if (c + 1 > s->maxcol)
		s->maxcol = c + 1;
}

static void end_cell(struct sh_state *s)
{
	struct xlsx *x = s->x;
	char *v = s->val.data ? s->val.data : "";
	size_t n = s->val.len;
	char date[16];

	s->in_c = s->in_v = s->in_is = s->in_t = 0;
	s->in_rph = 0;
	if (s->val_long) {
		put_cell(s, NULL, 0, MSG_IMP_CELL_TOO_LONG, 0);
		return;
	}
	if (s->has_f && !s->has_v && s->type != CT_INLINE) {
		put_cell(s, NULL, 0, MSG_IMP_XLSX_FORMULA, 0);
		return;
	}
	switch (s->type) {
	case CT_SHARED: {
		char *end = NULL;
		unsigned long long i = strtoull(v, &end, 10);
		if (n == 0 || end == v || *end != '\0' || i >= x->nss) {
			put_cell(s, NULL, 0, MSG_IMP_XLSX_BAD, 0);
			return;
		}
		const struct sstr *e = &x->ss[i];
		put_cell(s, x->ss_text.data + e->off, e->len, e->bad, 0);
		return;
	}
	case CT_INLINE:
	case CT_STR:
		n = unescape_x(v, n);
		put_cell(s, v, n, MSG_NONE, 0);
		return;
	case CT_BOOL:
		if (n == 0)
			return;
		if (strcmp(v, "1") == 0 || strcmp(v, "0") == 0)
			put_cell(s, v[0] == '1' ? "true" : "false", v[0] == '1' ? 4 : 5, MSG_NONE, 0);
		else
			put_cell(s, NULL, 0, MSG_IMP_XLSX_BAD, 0);
		return;
	case CT_ERR:
		put_cell(s, NULL, 0, MSG_IMP_XLSX_ERROR_CELL, 0);
		return;
	case CT_DATE:
		/* ISO 8601: the date alone when the time is midnight. */
		if (n >= 10 && (n == 10 || strcmp(v + 10, "T00:00:00") == 0 || strcmp(v + 10, "T00:00:00Z") == 0 ||
				strcmp(v + 10, "T00:00:00.000") == 0)) {
			put_cell(s, v, 10, MSG_NONE, 0);
			return;
		}
		put_cell(s, v, n, MSG_NONE, 0);
		return;
	case CT_NUM:
	default:
		if (n == 0)
			return;
		if (s->style >= 0 && s->style < x->nxf && x->xf_date[s->style] &&
		    serial_date(x, v, date, sizeof date) == 0) {
			put_cell(s, date, strlen(date), MSG_NONE, 0);
			return;
		}
		put_cell(s, v, n, MSG_NONE, 1);
		return;
	}
}

static void sh_end(void *data, const XML_Char *name)
{
	struct sh_state *s = data;
	const char *l = local_name(name);
	if (!s->in_sheetdata)
		return;
	if (strcmp(l, "sheetData") == 0) {
		s->in_sheetdata = 0;
	} else if (strcmp(l, "c") == 0 && s->in_c) {
		end_cell(s);
	} else if (strcmp(l, "v") == 0) {
		s->in_v = 0;
	} else if (strcmp(l, "is") == 0) {
		s->in_is = 0;
	} else if (strcmp(l, "t") == 0) {
		s->in_t = 0;
	} else if (strcmp(l, "rPh") == 0) {
		if (s->in_rph > 0)
			s->in_rph--;
	} else if (strcmp(l, "row") == 0 && s->in_row) {
		s->in_row = 0;
		if (s->x->why != MSG_NONE || s->maxcol == 0)
			return;
		struct imp_cell cells[IMP_MAX_COLS];
		for (int c = 0; c < s->maxcol; c++) {
			if (!s->present[c]) {
				cells[c] = (struct imp_cell){ NULL, 0, MSG_NONE, 0 };
				continue;
			}
			cells[c].text = s->len[c] > 0 ? s->text.data + s->off[c] : NULL;
			cells[c].len = s->len[c];
			cells[c].bad = s->bad[c];
			cells[c].numeric = s->numeric[c];
		}
		int rc = s->fn(s->arg, s->row, cells, s->maxcol);
		if (rc != 0) {
			s->x->stop = rc;
			XML_StopParser(s->x->p, XML_FALSE);
		}
	}
}

/* ------------------------------------------------------------ entry */

static zip_t *open_zip(const struct imp_source *src)
{
	int zerr = 0;
	if (src->path != NULL)
		return zip_open(src->path, ZIP_RDONLY, &zerr);
	zip_error_t ze;
	zip_error_init(&ze);
	zip_source_t *zs = zip_source_buffer_create(src->data, src->len, 0, &ze);
	zip_t *za = NULL;
	if (zs != NULL) {
		za = zip_open_from_source(zs, ZIP_RDONLY, &ze);
		if (za == NULL)
			zip_source_free(zs);
	}
	zip_error_fini(&ze);
	return za;
}

int xlsx_read(const struct imp_source *src, imp_row_fn fn, void *arg, imp_bytes_fn bytes, void *bytes_arg,
	      struct imp_read_error *e)
{
	struct xlsx x;
	struct ss_state ss;
	struct st_state sty;
	struct sh_state *sh = NULL;
	int rc = -1, prc;

	memset(e, 0, sizeof *e);
	memset(&x, 0, sizeof x);
	memset(&ss, 0, sizeof ss);
	memset(&sty, 0, sizeof sty);
	buf_init(&x.ss_text, (size_t)SS_PART_MAX);
	buf_init(&ss.cur, IMP_CELL_MAX);
	x.za = open_zip(src);
	if (x.za == NULL) {
		x.why = MSG_IMP_XLSX_BAD;
		goto out;
	}

	/* The workbook: the first sheet's relationship id, the date system. */
	struct holder h = { &x };
	XML_SetElementHandler(new_parser(&x, &h), wb_start, NULL);
	prc = parse_part(&x, "xl/workbook.xml", SMALL_PART_MAX, NULL, NULL);
	XML_ParserFree(x.p);
	if (prc != 0 || !x.have_sheet_rid) {
		if (x.why == MSG_NONE)
			x.why = prc == 1 ? MSG_IMP_XLSX_BAD : MSG_IMP_XLSX_NO_SHEET;
		goto out;
	}
	XML_SetElementHandler(new_parser(&x, &h), rels_start, NULL);
	prc = parse_part(&x, "xl/_rels/workbook.xml.rels", SMALL_PART_MAX, NULL, NULL);
	XML_ParserFree(x.p);
	if (prc != 0 || x.sheet[0] == '\0') {
		if (x.why == MSG_NONE)
			x.why = prc == 1 ? MSG_IMP_XLSX_BAD : MSG_IMP_XLSX_NO_SHEET;
		goto out;
	}
	if (x.sst[0] == '\0')
		snprintf(x.sst, sizeof x.sst, "xl/sharedStrings.xml");
	if (x.styles[0] == '\0')
		snprintf(x.styles, sizeof x.styles, "xl/styles.xml");

	/* Shared strings (optional part). */
	ss.x = &x;
	XML_SetElementHandler(new_parser(&x, &ss), ss_start, ss_end);
	XML_SetCharacterDataHandler(x.p, ss_text);
	prc = parse_part(&x, x.sst, SS_PART_MAX, NULL, NULL);
	XML_ParserFree(x.p);
	if (prc < 0)
		goto out;

	/* Styles (optional): which cell formats are dates. */
	sty.x = &x;
	XML_SetElementHandler(new_parser(&x, &sty), st_start, st_end);
	prc = parse_part(&x, x.styles, SMALL_PART_MAX, NULL, NULL);
	XML_ParserFree(x.p);
	if (prc < 0)
		goto out;
	x.nxf = sty.nxf;
	x.xf_date = xcalloc((size_t)sty.nxf + 1, 1);
	for (int i = 0; i < sty.nxf; i++)
		x.xf_date[i] = (unsigned char)fmt_is_date(&x, sty.xf_fmt[i]);

	/* The sheet, row by row. */
	sh = xcalloc(1, sizeof *sh);
	sh->x = &x;
	sh->fn = fn;
	sh->arg = arg;
	buf_init(&sh->text, (size_t)IMP_MAX_COLS * (IMP_CELL_MAX + 1));
	buf_init(&sh->val, IMP_CELL_MAX);
	XML_SetElementHandler(new_parser(&x, sh), sh_start, sh_end);
	XML_SetCharacterDataHandler(x.p, sh_text);
	prc = parse_part(&x, x.sheet, IMP_XLSX_PART_MAX, bytes, bytes_arg);
	XML_ParserFree(x.p);
	if (x.stop) {
		rc = x.stop;
		goto out;
	}
	if (prc != 0) {
		if (x.why == MSG_NONE)
			x.why = MSG_IMP_XLSX_NO_SHEET;
		goto out;
	}
	rc = 0;
out:
	if (rc < 0) {
		e->why = x.why != MSG_NONE ? x.why : MSG_IMP_XLSX_BAD;
		e->row = x.why_row;
	}
	if (sh != NULL) {
		buf_release(&sh->text);
		buf_release(&sh->val);
		free(sh);
	}
	if (x.za != NULL)
		zip_discard(x.za);
	buf_release(&x.ss_text);
	buf_release(&ss.cur);
	free(x.ss);
	free(x.xf_date);
	free(sty.xf_fmt);
	return rc;
}
