/*
 * Import into a registry (transfer.h): the CSV reader, the reader dispatch,
 * and the two passes (imp_check, imp_write) over rows of either format.
 */
#include "engines/registry/transfer.h"
#include "core/buf.h"
#include "core/csvw.h"
#include "core/log.h"
#include "core/validate.h"
#include "core/xalloc.h"

#include <csv.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define READ_CHUNK (64 * 1024)
#define REPORT_VALUE_MAX 120   /* bytes of a value shown in the report */

/* ------------------------------------------------------------ messages */

void imp_msg_fill(char *out, size_t cap, enum msg_id id, int n, ...)
{
	const char *args[9] = { 0 };
	va_list ap;
	va_start(ap, n);
	for (int i = 0; i < n && i < 9; i++)
		args[i] = va_arg(ap, const char *);
	va_end(ap);
	const char *t = msg(id);
	size_t o = 0;
	if (cap == 0)
		return;
	while (*t != '\0' && o + 1 < cap) {
		if (t[0] == '{' && t[1] >= '1' && t[1] <= '9' && t[2] == '}' && t[1] - '1' < n) {
			const char *a = args[t[1] - '1'] ? args[t[1] - '1'] : "";
			size_t al = strlen(a);
			if (al > cap - 1 - o)
				al = cap - 1 - o;
			memcpy(out + o, a, al);
			o += al;
			t += 3;
			continue;
		}
		out[o++] = *t++;
	}
	out[o] = '\0';
}

/* ------------------------------------------------------------ CSV reader */

/* libcsv grows its field buffer without bound; this keeps one field bounded. */
#define CSV_FIELD_BUF_MAX (1024 * 1024)
static void *csv_bounded_realloc(void *p, size_t n)
{
	if (n > CSV_FIELD_BUF_MAX)
		return NULL;
	return realloc(p, n);
}

/* Spaces are data: reg_value_check refuses them rather than the parser trimming them. */
static int csv_no_space(unsigned char c)
{
	(void)c;
	return 0;
}

struct csv_rd {
	imp_row_fn fn;
	void *arg;
	int64_t row;            /* records seen */
	struct buf text;        /* cell bytes of the current row, each NUL-terminated */
	size_t off[IMP_MAX_COLS];
	size_t len[IMP_MAX_COLS];
	enum msg_id bad[IMP_MAX_COLS];
	int ncells;
	int stop;               /* the callback's non-zero answer */
	int too_wide;
};

static void csv_on_field(void *s, size_t len, void *data)
{
	struct csv_rd *c = data;
	if (c->stop || c->too_wide)
		return;
	if (c->ncells == IMP_MAX_COLS) {
		c->too_wide = 1;
		return;
	}
	int i = c->ncells++;
	c->bad[i] = MSG_NONE;
	c->off[i] = c->text.len;
	if (len > IMP_CELL_MAX) {
		c->bad[i] = MSG_IMP_CELL_TOO_LONG;
		len = 0;
	} else if (s != NULL && len > 0 && memchr(s, '\0', len) != NULL) {
		c->bad[i] = MSG_IMP_CELL_CONTROL;
		len = 0;
	} else if (s != NULL && validate_utf8(s, len) != MSG_NONE) {
		c->bad[i] = MSG_IMP_BAD_UTF8;
		len = 0;
	}
	c->len[i] = len;
	/* text's maximum is IMP_MAX_COLS * (IMP_CELL_MAX + 1), so this cannot fail */
	if ((len > 0 && buf_add(&c->text, s, len) != 0) || buf_addch(&c->text, '\0') != 0)
		c->too_wide = 1;
}

static void csv_on_row(int ch, void *data)
{
	struct csv_rd *c = data;
	(void)ch;
	if (c->stop || c->too_wide)
		return;
	c->row++;
	struct imp_cell cells[IMP_MAX_COLS];
	int any = 0;
	for (int i = 0; i < c->ncells; i++) {
		cells[i].text = c->len[i] > 0 ? c->text.data + c->off[i] : NULL;
		cells[i].len = c->len[i];
		cells[i].bad = c->bad[i];
		cells[i].numeric = 0;
		any |= c->len[i] > 0 || c->bad[i] != MSG_NONE;
	}
	if (any)
		c->stop = c->fn(c->arg, c->row, cells, c->ncells);
	c->ncells = 0;
	buf_reset(&c->text);
}

/* Feeds one chunk; 0, or -1 with *e. first: strip a byte order mark. */
static int csv_feed(struct csv_parser *p, struct csv_rd *c, const char *s, size_t n, int first,
		    struct imp_read_error *e)
{
	if (first && n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
		s += 3;
		n -= 3;
	}
	if (csv_parse(p, s, n, csv_on_field, csv_on_row, c) != n) {
		e->why = csv_error(p) == CSV_EPARSE ? MSG_IMP_CSV_MALFORMED : MSG_IMP_CELL_TOO_LONG;
		e->row = c->row + 1;
		return -1;
	}
	if (c->too_wide) {
		e->why = MSG_IMP_TOO_MANY_COLS;
		e->row = c->row + 1;
		return -1;
	}
	return 0;
}

int imp_read_csv(const struct imp_source *src, imp_row_fn fn, void *arg, imp_bytes_fn bytes,
		 void *bytes_arg, struct imp_read_error *e)
{
	struct csv_parser p;
	struct csv_rd c = { .fn = fn, .arg = arg };
	FILE *fp = NULL;
	char *chunk = NULL;
	int rc = -1;
	uint64_t total = 0, done = 0;

	memset(e, 0, sizeof *e);
	buf_init(&c.text, (size_t)IMP_MAX_COLS * (IMP_CELL_MAX + 1));
	if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI) != 0) {
		e->why = MSG_HTTP_500;
		return -1;
	}
	csv_set_space_func(&p, csv_no_space);
	csv_set_realloc_func(&p, csv_bounded_realloc);
	if (src->path != NULL) {
		struct stat sb;
		fp = fopen(src->path, "rb");
		if (fp == NULL) {
			log_error("import: %s: %s", src->path, strerror(errno));
			e->why = MSG_HTTP_500;
			goto out;
		}
		if (fstat(fileno(fp), &sb) == 0)
			total = (uint64_t)sb.st_size;
		chunk = xmalloc(READ_CHUNK);
		for (int first = 1;; first = 0) {
			size_t n = fread(chunk, 1, READ_CHUNK, fp);
			if (n == 0) {
				if (ferror(fp)) {
					log_error("import: %s: read error", src->path);
					e->why = MSG_HTTP_500;
					goto out;
				}
				break;
			}
			/* A byte order mark split over two chunks cannot happen: chunks are 64 KiB. */
			if (csv_feed(&p, &c, chunk, n, first, e) != 0)
				goto out;
			done += n;
			if (bytes != NULL)
				bytes(bytes_arg, done, total);
			if (c.stop)
				break;
		}
	} else {
		const char *s = src->data;
		total = src->len;
		for (size_t off = 0; off < src->len && !c.stop;) {
			size_t n = src->len - off < READ_CHUNK ? src->len - off : READ_CHUNK;
			if (csv_feed(&p, &c, s + off, n, off == 0, e) != 0)
				goto out;
			off += n;
			done = off;
			if (bytes != NULL)
				bytes(bytes_arg, done, total);
		}
	}
	if (!c.stop && csv_fini(&p, csv_on_field, csv_on_row, &c) != 0) {
		e->why = MSG_IMP_CSV_MALFORMED;
		e->row = c.row + 1;
		goto out;
	}
	if (!c.stop && csv_error(&p) == CSV_EPARSE) {
		e->why = MSG_IMP_CSV_MALFORMED;
		e->row = c.row + 1;
		goto out;
	}
	if (c.too_wide) {
		e->why = MSG_IMP_TOO_MANY_COLS;
		e->row = c.row;
		goto out;
	}
	rc = c.stop;
out:
	csv_free(&p);
	buf_release(&c.text);
	free(chunk);
	if (fp != NULL)
		fclose(fp);
	return rc;
}

/* XLSX when the file starts with a zip local header. */
static enum imp_format sniff(const struct imp_source *src)
{
	unsigned char head[4] = { 0 };
	size_t n = 0;
	if (src->format != IMP_FMT_AUTO)
		return src->format;
	if (src->path != NULL) {
		FILE *fp = fopen(src->path, "rb");
		if (fp != NULL) {
			n = fread(head, 1, 4, fp);
			fclose(fp);
		}
	} else {
		n = src->len < 4 ? src->len : 4;
		if (n > 0)
			memcpy(head, src->data, n);
	}
	return n == 4 && memcmp(head, "PK\x03\x04", 4) == 0 ? IMP_FMT_XLSX : IMP_FMT_CSV;
}

int imp_read(const struct imp_source *src, imp_row_fn fn, void *arg, imp_bytes_fn bytes, void *bytes_arg,
	     struct imp_read_error *e)
{
	if (sniff(src) == IMP_FMT_XLSX)
		return xlsx_read(src, fn, arg, bytes, bytes_arg, e);
	return imp_read_csv(src, fn, arg, bytes, bytes_arg, e);
}

/* ------------------------------------------------------------ key set */

/* The canonical keys seen so far with the row of each (duplicates in a file). */
struct keyset {
	struct kslot {
		uint64_t h;
		uint64_t off;      /* into pool, +1 (0 = empty slot) */
		int64_t row;
	} *slots;
	size_t cap, n;
	char *pool;
	size_t pool_len, pool_cap;
};

static uint64_t fnv1a(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h ^ (h >> 29);
}

static void ks_grow(struct keyset *k)
{
	size_t ncap = k->cap ? k->cap * 2 : 1024;
	struct kslot *ns = xcalloc(ncap, sizeof *ns);
	for (size_t i = 0; i < k->cap; i++) {
		if (k->slots[i].off == 0)
			continue;
		size_t j = (size_t)k->slots[i].h & (ncap - 1);
		while (ns[j].off != 0)
			j = (j + 1) & (ncap - 1);
		ns[j] = k->slots[i];
	}
	free(k->slots);
	k->slots = ns;
	k->cap = ncap;
}

/* Adds key; returns 0 when new, else the row where it was first seen. */
static int64_t ks_add(struct keyset *k, const char *key, int64_t row)
{
	size_t n = strlen(key);
	if ((k->n + 1) * 4 > k->cap * 3)
		ks_grow(k);
	uint64_t h = fnv1a(key, n);
	size_t j = (size_t)h & (k->cap - 1);
	while (k->slots[j].off != 0) {
		if (k->slots[j].h == h && strcmp(k->pool + k->slots[j].off - 1, key) == 0)
			return k->slots[j].row;
		j = (j + 1) & (k->cap - 1);
	}
	if (k->pool_len + n + 1 > k->pool_cap) {
		size_t nc = k->pool_cap ? k->pool_cap * 2 : 65536;
		while (nc < k->pool_len + n + 1)
			nc *= 2;
		k->pool = xrealloc(k->pool, nc);
		k->pool_cap = nc;
	}
	memcpy(k->pool + k->pool_len, key, n + 1);
	k->slots[j].h = h;
	k->slots[j].off = k->pool_len + 1;
	k->slots[j].row = row;
	k->pool_len += n + 1;
	k->n++;
	return 0;
}

static void ks_free(struct keyset *k)
{
	free(k->slots);
	free(k->pool);
	memset(k, 0, sizeof *k);
}

/* ------------------------------------------------------------ the plan */

#define COL_NONE (-1)      /* a column with an empty header: must stay empty */

struct imp_plan {
	const struct registry *reg;
	struct imp_source src;
	enum imp_format format;
	enum imp_mode mode;
	/* the header */
	int64_t header_row;        /* 0 until seen */
	int ncols;
	int col_field[IMP_MAX_COLS];
	int field_col[REG_MAX_FIELDS];     /* -1 when the field has no column */
	int missing_any;           /* some field has no column (existing values are kept) */
	/* rows */
	unsigned char *bad;        /* bitmap by row number */
	int64_t bad_cap;           /* bits */
	int64_t last_row;
	int64_t rows;
	struct keyset keys;
	/* pass 1 state */
	struct imp_result *res;
	const struct imp_opts *opts;
	uint64_t bytes_done, bytes_total;
	int stop_reason;
};

static void mark_bad(struct imp_plan *p, int64_t row)
{
	if (row >= p->bad_cap) {
		int64_t ncap = p->bad_cap ? p->bad_cap : 8192;
		while (ncap <= row)
			ncap *= 2;
		p->bad = xrealloc(p->bad, (size_t)(ncap / 8));
		memset(p->bad + p->bad_cap / 8, 0, (size_t)((ncap - p->bad_cap) / 8));
		p->bad_cap = ncap;
	}
	p->bad[row / 8] |= (unsigned char)(1u << (row % 8));
}

static int is_bad(const struct imp_plan *p, int64_t row)
{
	return row < p->bad_cap && (p->bad[row / 8] & (1u << (row % 8))) != 0;
}

/* The longest prefix of s (valid UTF-8) of at most max bytes ending on a character boundary. */
static size_t utf8_cut(const char *s, size_t len, size_t max)
{
	if (len <= max)
		return len;
	size_t n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xC0u) == 0x80u)
		n--;
	return n;
}

/* One report entry (kept while fewer than IMP_MAX_ERRORS; always counted). */
static void add_error(struct imp_result *res, int64_t row, const char *field, const char *reason,
		      const struct reg_field *f, const char *value, size_t vlen)
{
	res->errors_total++;
	if (json_array_size(res->errors) >= IMP_MAX_ERRORS)
		return;
	char shown[REPORT_VALUE_MAX + 8] = "";
	if (value != NULL && vlen > 0 && validate_utf8(value, vlen) == MSG_NONE) {
		if (f != NULL && f->personal) {
			char *tmp = xstrndup(value, vlen);
			char masked[REG_VALUE_MAX + 1];
			reg_value_mask(f, tmp, masked, sizeof masked);
			free(tmp);
			size_t n = utf8_cut(masked, strlen(masked), REPORT_VALUE_MAX);
			memcpy(shown, masked, n);
			shown[n] = '\0';
		} else {
			size_t n = utf8_cut(value, vlen, REPORT_VALUE_MAX);
			memcpy(shown, value, n);
			memcpy(shown + n, n < vlen ? "…" : "", n < vlen ? 4 : 1);
		}
	}
	json_array_append_new(res->errors, json_pack("{s:I,s:s,s:s,s:s}", "row", (json_int_t)row, "field",
						     field ? field : "", "reason", reason, "value", shown));
}

/* A header cell's text without surrounding blanks (ASCII and U+3000), into out. */
static void header_text(const struct imp_cell *c, char *out, size_t cap)
{
	const char *s = c->text ? c->text : "";
	size_t n = c->text ? c->len : 0;
	for (;;) {
		if (n > 0 && (*s == ' ' || *s == '\t')) {
			s++;
			n--;
		} else if (n >= 3 && memcmp(s, "\xE3\x80\x80", 3) == 0) {
			s += 3;
			n -= 3;
		} else {
			break;
		}
	}
	for (;;) {
		if (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
			n--;
		else if (n >= 3 && memcmp(s + n - 3, "\xE3\x80\x80", 3) == 0)
			n -= 3;
		else
			break;
	}
	n = utf8_cut(s, n, cap - 1);
	memcpy(out, s, n);
	out[n] = '\0';
}

/* Reads the header row into p; header errors go to p->res.  0, or 1 when the header is unusable. */
static int take_header(struct imp_plan *p, int64_t row, const struct imp_cell *cells, int ncells)
{
	const struct reg_def *d = &p->reg->def;
	struct imp_result *res = p->res;
	int bad = 0;

	p->header_row = row;
	p->ncols = ncells;
	for (int i = 0; i < d->nfields; i++)
		p->field_col[i] = -1;
	for (int c = 0; c < ncells; c++) {
		char name[256];
		p->col_field[c] = COL_NONE;
		if (cells[c].bad != MSG_NONE) {
			add_error(res, row, "", msg(cells[c].bad), NULL, NULL, 0);
			bad = 1;
			continue;
		}
		header_text(&cells[c], name, sizeof name);
		if (name[0] == '\0')
			continue;
		int f = reg_field_index(d, name);
		for (int i = 0; f < 0 && i < d->nfields; i++)
			if (d->fields[i].label != NULL && strcmp(d->fields[i].label, name) == 0)
				f = i;
		if (f < 0) {
			add_error(res, row, name, msg(MSG_IMP_COL_UNKNOWN), NULL, name, strlen(name));
			bad = 1;
			continue;
		}
		if (p->field_col[f] >= 0) {
			add_error(res, row, d->fields[f].name, msg(MSG_IMP_COL_DUP), NULL, name, strlen(name));
			bad = 1;
			continue;
		}
		p->field_col[f] = c;
		p->col_field[c] = f;
	}
	for (int i = 0; i < d->nfields; i++) {
		if (p->field_col[i] >= 0)
			continue;
		if (d->fields[i].required || i == d->key) {
			add_error(res, row, d->fields[i].name, msg(MSG_IMP_COL_MISSING), NULL, NULL, 0);
			bad = 1;
		} else {
			p->missing_any = 1;
		}
	}
	return bad;
}

/*
 * The text of a cell for field f: in a CSV, a value our exports guarded
 * against spreadsheet formulas ("'=...", core/csvw.h) loses the apostrophe,
 * so an exported file imports unchanged.
 */
static const char *cell_text(const struct imp_plan *p, const struct reg_field *f, const struct imp_cell *cell)
{
	const char *t = cell->text;
	if (p->format == IMP_FMT_CSV && t != NULL && t[0] == '\'' && reg_csv_guarded(f->type) && csvw_formula(t + 1))
		return t + 1;
	return t;
}

/* Pass 1: one row. */
static int check_row(void *arg, int64_t row, const struct imp_cell *cells, int ncells)
{
	struct imp_plan *p = arg;
	const struct reg_def *d = &p->reg->def;
	struct imp_result *res = p->res;
	char canon[REG_VALUE_MAX + 1];
	int row_bad = 0, width_bad = 0;

	if (p->header_row == 0) {
		if (take_header(p, row, cells, ncells) != 0) {
			res->header_bad = 1;
			return 1;
		}
		return 0;
	}
	if (p->rows >= IMP_MAX_ROWS) {
		add_error(res, row, "", msg(MSG_IMP_TOO_MANY_ROWS), NULL, NULL, 0);
		res->header_bad = 1;
		return 1;
	}
	p->rows++;
	p->last_row = row;
	res->rows = p->rows;
	if (p->format == IMP_FMT_CSV && ncells != p->ncols) {
		add_error(res, row, "", msg(ncells > p->ncols ? MSG_IMP_ROW_WIDER : MSG_IMP_ROW_NARROWER), NULL,
			  NULL, 0);
		row_bad = width_bad = 1;
	}
	for (int c = 0; c < ncells; c++) {
		const struct imp_cell *cell = &cells[c];
		int fi = c < p->ncols ? p->col_field[c] : COL_NONE;
		if (fi == COL_NONE) {
			if ((cell->text != NULL || cell->bad != MSG_NONE) && !(c >= p->ncols && width_bad)) {
				add_error(res, row, "", msg(c < p->ncols ? MSG_IMP_COL_EMPTY : MSG_IMP_ROW_WIDER), NULL,
					  cell->text, cell->len);
				row_bad = 1;
				width_bad |= c >= p->ncols;
			}
			continue;
		}
		const struct reg_field *f = &d->fields[fi];
		if (cell->bad != MSG_NONE) {
			add_error(res, row, f->name, msg(cell->bad), f, NULL, 0);
			row_bad = 1;
			continue;
		}
		int is_null = 0;
		enum msg_id why = reg_value_check(f, cell_text(p, f, cell), canon, sizeof canon, &is_null);
		if (why != MSG_NONE) {
			int textual = f->type == RT_TEXT || f->type == RT_ADDRESS || f->type == RT_IDCARD ||
				      f->type == RT_USCC || f->type == RT_PHONE || f->type == RT_ENUM;
			add_error(res, row, f->name, msg(cell->numeric && textual ? MSG_IMP_XLSX_NUMBER : why), f,
				  cell->text, cell->len);
			row_bad = 1;
			continue;
		}
		if (fi == d->key && !is_null) {
			int64_t first = ks_add(&p->keys, canon, row);
			if (first > 0) {
				char reason[512], num[24];
				snprintf(num, sizeof num, "%lld", (long long)first);
				imp_msg_fill(reason, sizeof reason, MSG_IMP_DUP_KEY, 1, num);
				add_error(res, row, f->name, reason, f, cell->text, cell->len);
				row_bad = 1;
			}
		}
	}
	/* Required fields whose cells are missing altogether (short XLSX rows). */
	for (int i = 0; i < d->nfields; i++) {
		int c = p->field_col[i];
		if (c >= 0 && c >= ncells && (d->fields[i].required || i == d->key)) {
			add_error(res, row, d->fields[i].name, msg(MSG_REG_REQUIRED), NULL, NULL, 0);
			row_bad = 1;
		}
	}
	if (row_bad) {
		mark_bad(p, row);
		res->invalid++;
	}
	if (p->opts != NULL && p->opts->progress != NULL && p->rows % IMP_PROGRESS_EVERY == 0) {
		int64_t est = p->bytes_done > 0 && p->bytes_total > 0
				      ? (int64_t)((double)p->rows * (double)p->bytes_total / (double)p->bytes_done)
				      : 0;
		p->opts->progress(p->opts->progress_arg, 1, p->rows, est);
	}
	return 0;
}

static void on_bytes(void *arg, uint64_t done, uint64_t total)
{
	struct imp_plan *p = arg;
	p->bytes_done = done;
	p->bytes_total = total;
}

int imp_check(const struct registry *reg, const struct imp_source *src, const struct imp_opts *o,
	      struct imp_plan **plan, struct imp_result *res)
{
	struct imp_read_error e;
	struct imp_plan *p = xcalloc(1, sizeof *p);

	memset(res, 0, sizeof *res);
	res->errors = json_array();
	p->reg = reg;
	p->src = *src;
	p->format = sniff(src);
	p->src.format = p->format;
	p->mode = o != NULL ? o->mode : IMP_ALL_OR_NOTHING;
	p->res = res;
	p->opts = o;
	int rc = imp_read(&p->src, check_row, p, on_bytes, p, &e);
	if (rc < 0) {
		if (e.why == MSG_HTTP_500) {
			imp_plan_free(p);
			*plan = NULL;
			return -1;
		}
		add_error(res, e.row, "", e.detail[0] ? e.detail : msg(e.why), NULL, NULL, 0);
		res->header_bad = 1;
	} else if (p->header_row == 0 && !res->header_bad) {
		add_error(res, 0, "", msg(MSG_IMP_FILE_EMPTY), NULL, NULL, 0);
		res->header_bad = 1;
	}
	ks_free(&p->keys);       /* pass 2 needs only the bad rows */
	if (o != NULL && o->progress != NULL)
		o->progress(o->progress_arg, 1, p->rows, p->rows);
	p->res = NULL;
	*plan = p;
	return 0;
}

int imp_should_write(const struct imp_plan *plan, const struct imp_result *res)
{
	if (plan == NULL || res->header_bad || res->rows == 0)
		return 0;
	if (plan->mode == IMP_ALL_OR_NOTHING)
		return res->invalid == 0 && res->errors_total == 0;
	return res->rows > res->invalid;
}

/* ------------------------------------------------------------ pass 2 */

struct writer {
	struct imp_plan *p;
	struct store *st;
	const struct imp_opts *o;
	const struct reg_actor *who;
	struct imp_result *res;
	struct reg_error *e;
	int64_t seen;          /* data rows read */
	int64_t done;          /* good rows handled */
	int failed;            /* -1 stops: store error or changed file */
	int header_ok;
};

/* The header must map as it did in pass 1. */
static int same_header(const struct imp_plan *p, const struct imp_cell *cells, int ncells)
{
	const struct reg_def *d = &p->reg->def;
	if (ncells != p->ncols)
		return 0;
	for (int c = 0; c < ncells; c++) {
		char name[256];
		header_text(&cells[c], name, sizeof name);
		int f = p->col_field[c];
		if (f == COL_NONE) {
			if (name[0] != '\0')
				return 0;
			continue;
		}
		if (strcmp(name, d->fields[f].name) != 0 &&
		    (d->fields[f].label == NULL || strcmp(name, d->fields[f].label) != 0))
			return 0;
	}
	return 1;
}

static int write_row(void *arg, int64_t row, const struct imp_cell *cells, int ncells)
{
	struct writer *w = arg;
	struct imp_plan *p = w->p;
	const struct reg_def *d = &p->reg->def;
	const char *values[REG_MAX_FIELDS];
	json_t *old = NULL;

	if (!w->header_ok) {
		if (row != p->header_row || !same_header(p, cells, ncells)) {
			w->e->why = MSG_IMP_FILE_CHANGED;
			w->failed = 1;
			return 1;
		}
		w->header_ok = 1;
		return 0;
	}
	w->seen++;
	if (w->seen > p->rows) {
		w->e->why = MSG_IMP_FILE_CHANGED;
		w->failed = 1;
		return 1;
	}
	if (is_bad(p, row))
		return 0;
	for (int i = 0; i < d->nfields; i++) {
		int c = p->field_col[i];
		values[i] = c >= 0 && c < ncells ? cell_text(p, &d->fields[i], &cells[c]) : NULL;
	}
	if (p->missing_any) {
		/* Fields without a column keep their values in an existing record. */
		char key[REG_VALUE_MAX + 1];
		int is_null = 0;
		if (reg_value_check(&d->fields[d->key], values[d->key], key, sizeof key, &is_null) == MSG_NONE &&
		    !is_null) {
			struct reg_view all = { NULL, 1 };
			old = registry_get_record(w->st, p->reg, key, &all);
			for (int i = 0; old != NULL && i < d->nfields; i++) {
				if (p->field_col[i] >= 0)
					continue;
				json_t *v = json_object_get(old, d->fields[i].name);
				values[i] = json_is_string(v) ? json_string_value(v) : NULL;
				if (json_is_integer(v) || json_is_boolean(v)) {
					/* Tolerate typed JSON: its canonical text. */
					char *t = json_dumps(v, JSON_ENCODE_ANY);
					json_object_set_new(old, d->fields[i].name, json_string(t ? t : ""));
					free(t);
					values[i] = json_string_value(json_object_get(old, d->fields[i].name));
				}
			}
		}
	}
	int outcome = 0;
	struct reg_error re;
	memset(&re, 0, sizeof re);
	int rc = registry_put(w->st, p->reg, values, w->who, &outcome, &re);
	json_decref(old);
	if (rc != 0) {
		if (re.why == MSG_NONE || re.why == MSG_HTTP_500) {
			*w->e = re;
			w->failed = 1;
			return 1;
		}
		/* Refused although pass 1 passed it: report the row, never half-write it. */
		add_error(w->res, row, re.field, re.detail[0] ? re.detail : msg(re.why), NULL, NULL, 0);
		w->res->invalid++;
	} else if (outcome == 1) {
		w->res->inserted++;
	} else if (outcome == 2) {
		w->res->updated++;
	} else {
		w->res->unchanged++;
	}
	w->done++;
	if (w->o != NULL && w->o->progress != NULL && w->done % IMP_PROGRESS_EVERY == 0)
		w->o->progress(w->o->progress_arg, 2, w->done, p->rows - w->res->invalid);
	if (w->o != NULL && w->o->batch != NULL && w->done % IMP_BATCH == 0 &&
	    w->o->batch(w->o->batch_arg, w->done) != 0) {
		w->e->why = MSG_HTTP_500;
		w->failed = 1;
		return 1;
	}
	return 0;
}

int imp_write(struct store *st, const struct registry *reg, struct imp_plan *plan, const struct imp_opts *o,
	      const struct reg_actor *who, struct imp_result *res, struct reg_error *e)
{
	struct writer w = { plan, st, o, who, res, e, 0, 0, 0, 0 };
	struct imp_read_error re;

	memset(e, 0, sizeof *e);
	if (plan == NULL || plan->reg != reg)
		return -1;
	res->written = 1;
	int rc = imp_read(&plan->src, write_row, &w, NULL, NULL, &re);
	if (w.failed) {
		if (e->why == MSG_NONE)
			e->why = MSG_HTTP_500;
		return -1;
	}
	if (rc < 0 || w.seen != plan->rows) {
		e->why = rc < 0 && re.why == MSG_HTTP_500 ? MSG_HTTP_500 : MSG_IMP_FILE_CHANGED;
		return -1;
	}
	if (o != NULL && o->progress != NULL)
		o->progress(o->progress_arg, 2, w.done, w.done);
	return 0;
}

void imp_plan_free(struct imp_plan *plan)
{
	if (plan == NULL)
		return;
	ks_free(&plan->keys);
	free(plan->bad);
	free(plan);
}

json_t *imp_result_json(const struct imp_result *res)
{
	json_t *errors = res->errors != NULL ? json_incref(res->errors) : json_array();
	return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:o,s:I,s:b,s:b,s:b}", "rows", (json_int_t)res->rows,
			 "inserted", (json_int_t)res->inserted, "created", (json_int_t)res->inserted, "updated",
			 (json_int_t)res->updated, "unchanged", (json_int_t)res->unchanged, "invalid",
			 (json_int_t)res->invalid, "errors", errors,
			 "errors_total", (json_int_t)res->errors_total, "errors_truncated",
			 res->errors_total > (int64_t)json_array_size(errors), "written", res->written,
			 "header_bad", res->header_bad);
}

void imp_result_release(struct imp_result *res)
{
	json_decref(res->errors);
	res->errors = NULL;
}
