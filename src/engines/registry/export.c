/*
 * Export of a registry (transfer.h): CSV, JSON and XLSX streamed from
 * registry_scan into a file, limited to a view.
 */
#include "engines/registry/transfer.h"
#include "core/csvw.h"
#include "core/log.h"
#include "core/xalloc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xlsxwriter.h>

static const char *const format_names[EXP__MAX] = { "csv", "json", "xlsx" };
static const char *const format_mimes[EXP__MAX] = {
	"text/csv; charset=utf-8",
	"application/json; charset=utf-8",
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
};

const char *exp_format_name(enum exp_format f)
{
	return f >= 0 && f < EXP__MAX ? format_names[f] : "";
}

const char *exp_format_mime(enum exp_format f)
{
	return f >= 0 && f < EXP__MAX ? format_mimes[f] : "application/octet-stream";
}

int exp_format_parse(const char *s)
{
	for (int i = 0; s != NULL && i < EXP__MAX; i++)
		if (strcmp(s, format_names[i]) == 0)
			return i;
	return -1;
}

struct exporter {
	const struct registry *reg;
	enum exp_format f;
	int cols[REG_MAX_FIELDS];   /* field indices shown, definition order */
	int ncols;
	int unmasked;
	FILE *fp;
	lxw_workbook *wb;
	lxw_worksheet *ws;
	lxw_format *bold, *date_fmt, *dec_fmt[7];
	int64_t rows;
	exp_progress_fn progress;
	void *progress_arg;
	enum msg_id why;
	int io_error;
};

/* The shown text of field i's canonical value (masked when the view says so), or NULL. */
static const char *shown(struct exporter *x, int fi, const char *v, char *tmp, size_t cap)
{
	const struct reg_field *f = &x->reg->def.fields[fi];
	if (v == NULL || x->unmasked || !f->personal)
		return v;
	reg_value_mask(f, v, tmp, cap);
	return tmp;
}

/* ------------------------------------------------------------ CSV */

static int csv_row(void *arg, const char *const *values)
{
	struct exporter *x = arg;
	char tmp[REG_VALUE_MAX + 1];
	for (int c = 0; c < x->ncols; c++) {
		if (c > 0)
			putc(',', x->fp);
		const char *s = shown(x, x->cols[c], values[x->cols[c]], tmp, sizeof tmp);
		if (csvw_put(x->fp, s, reg_csv_guarded(x->reg->def.fields[x->cols[c]].type)) != 0)
			return x->io_error = 1;
	}
	fputs("\r\n", x->fp);
	return ferror(x->fp) ? (x->io_error = 1) : 0;
}

/* ------------------------------------------------------------ JSON */

static void json_str(FILE *fp, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	putc('"', fp);
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		switch (*p) {
		case '"': fputs("\\\"", fp); break;
		case '\\': fputs("\\\\", fp); break;
		case '\n': fputs("\\n", fp); break;
		case '\r': fputs("\\r", fp); break;
		case '\t': fputs("\\t", fp); break;
		default:
			if (*p < 0x20) {
				fputs("\\u00", fp);
				putc(hex[*p >> 4], fp);
				putc(hex[*p & 15], fp);
			} else {
				putc(*p, fp);
			}
		}
	}
	putc('"', fp);
}

static int json_row(void *arg, const char *const *values)
{
	struct exporter *x = arg;
	char tmp[REG_VALUE_MAX + 1];
	fputs(x->rows > 0 ? ",\n{" : "\n{", x->fp);
	for (int c = 0; c < x->ncols; c++) {
		int fi = x->cols[c];
		const struct reg_field *f = &x->reg->def.fields[fi];
		const char *v = values[fi], *s = shown(x, fi, v, tmp, sizeof tmp);
		if (c > 0)
			putc(',', x->fp);
		json_str(x->fp, f->name);
		putc(':', x->fp);
		if (s == NULL)
			fputs("null", x->fp);
		else if (s == v && (f->type == RT_INTEGER || f->type == RT_BOOL))
			fputs(s, x->fp);      /* canonical: "-12", "true"/"false" */
		else
			json_str(x->fp, s);
	}
	putc('}', x->fp);
	return ferror(x->fp) ? (x->io_error = 1) : 0;
}

/* ------------------------------------------------------------ XLSX */

/* 1 when the number libxlsxwriter would write ("%.16G") reads back as the canonical text. */
static int number_roundtrips(const char *canon, double *out)
{
	char buf[64], *end = NULL;
	size_t digits = 0;
	for (const char *c = canon; *c != '\0'; c++)
		digits += *c >= '0' && *c <= '9';
	if (digits == 0 || digits > 15)
		return 0;
	errno = 0;
	double d = strtod(canon, &end);
	if (errno != 0 || end == canon || *end != '\0')
		return 0;
	snprintf(buf, sizeof buf, "%.16G", d);
	/* Canonical decimals carry trailing fraction zeros ("12.50"): compare without them. */
	char want[64];
	size_t clen = strlen(canon);
	if (clen >= sizeof want)
		return 0;
	memcpy(want, canon, clen + 1);
	char *dot = strchr(want, '.');
	if (dot != NULL) {
		size_t n = strlen(want);
		while (n > 0 && want[n - 1] == '0')
			want[--n] = '\0';
		if (n > 0 && want[n - 1] == '.')
			want[--n] = '\0';
	}
	if (strcmp(want, "-0") == 0)
		snprintf(want, sizeof want, "0");
	if (strcmp(buf, "-0") == 0)
		snprintf(buf, sizeof buf, "0");
	*out = d;
	return strcmp(buf, want) == 0;
}

static int xlsx_row(void *arg, const char *const *values)
{
	struct exporter *x = arg;
	char tmp[REG_VALUE_MAX + 1];
	lxw_row_t r = (lxw_row_t)(x->rows + 1);
	if (x->rows + 1 > EXP_XLSX_MAX_ROWS) {
		x->why = MSG_EXP_XLSX_TOO_MANY;
		return 1;
	}
	for (int c = 0; c < x->ncols; c++) {
		int fi = x->cols[c];
		const struct reg_field *f = &x->reg->def.fields[fi];
		const char *v = values[fi], *s = shown(x, fi, v, tmp, sizeof tmp);
		lxw_error err = LXW_NO_ERROR;
		double d;
		if (s == NULL)
			continue;
		if (s != v) {
			err = worksheet_write_string(x->ws, r, (lxw_col_t)c, s, NULL);
		} else if ((f->type == RT_INTEGER || f->type == RT_DECIMAL) && number_roundtrips(s, &d)) {
			err = worksheet_write_number(x->ws, r, (lxw_col_t)c, d,
						     f->type == RT_DECIMAL && f->scale > 0 && f->scale <= 6
							     ? x->dec_fmt[f->scale]
							     : NULL);
		} else if (f->type == RT_BOOL) {
			err = worksheet_write_boolean(x->ws, r, (lxw_col_t)c, strcmp(s, "true") == 0, NULL);
		} else if (f->type == RT_DATE && strlen(s) == 10) {
			lxw_datetime dt = { 0 };
			dt.year = (int)strtol(s, NULL, 10);
			dt.month = (int)strtol(s + 5, NULL, 10);
			dt.day = (int)strtol(s + 8, NULL, 10);
			if (dt.year >= 1900)
				err = worksheet_write_datetime(x->ws, r, (lxw_col_t)c, &dt, x->date_fmt);
			else
				err = worksheet_write_string(x->ws, r, (lxw_col_t)c, s, NULL);
		} else {
			err = worksheet_write_string(x->ws, r, (lxw_col_t)c, s, NULL);
		}
		if (err != LXW_NO_ERROR) {
			log_error("export: xlsx row %lld: %s", (long long)r, lxw_strerror(err));
			x->io_error = 1;
			return 1;
		}
	}
	return 0;
}

/* ------------------------------------------------------------ driver */

static int on_row(void *arg, const char *const *values)
{
	struct exporter *x = arg;
	int rc;
	switch (x->f) {
	case EXP_CSV: rc = csv_row(x, values); break;
	case EXP_JSON: rc = json_row(x, values); break;
	default: rc = xlsx_row(x, values); break;
	}
	if (rc != 0)
		return rc;
	x->rows++;
	if (x->progress != NULL && x->rows % IMP_PROGRESS_EVERY == 0)
		x->progress(x->progress_arg, x->rows);
	return 0;
}

/* Labels as the XLSX header when they are all present and distinct, else names. */
static int labels_usable(const struct exporter *x)
{
	const struct reg_def *d = &x->reg->def;
	for (int a = 0; a < x->ncols; a++) {
		const char *la = d->fields[x->cols[a]].label;
		if (la == NULL || *la == '\0')
			return 0;
		for (int b = 0; b < a; b++)
			if (strcmp(la, d->fields[x->cols[b]].label) == 0)
				return 0;
	}
	return 1;
}

static int begin(struct exporter *x, const char *part)
{
	const struct reg_def *d = &x->reg->def;
	if (x->f == EXP_XLSX) {
		lxw_workbook_options opt = { .constant_memory = LXW_TRUE, .tmpdir = NULL };
		x->wb = workbook_new_opt(part, &opt);
		if (x->wb == NULL)
			return -1;
		x->ws = workbook_add_worksheet(x->wb, NULL);
		x->bold = workbook_add_format(x->wb);
		format_set_bold(x->bold);
		x->date_fmt = workbook_add_format(x->wb);
		format_set_num_format(x->date_fmt, "yyyy-mm-dd");
		static const char *const dec[7] = { "0", "0.0", "0.00", "0.000", "0.0000", "0.00000", "0.000000" };
		for (int s = 0; s <= 6; s++) {
			x->dec_fmt[s] = workbook_add_format(x->wb);
			format_set_num_format(x->dec_fmt[s], dec[s]);
		}
		if (x->ws == NULL)
			return -1;
		int labels = labels_usable(x);
		for (int c = 0; c < x->ncols; c++) {
			const struct reg_field *f = &d->fields[x->cols[c]];
			double w = f->type == RT_IDCARD || f->type == RT_USCC ? 22
				   : f->type == RT_ADDRESS			 ? 36
				   : f->type == RT_DATE || f->type == RT_PHONE	 ? 14
										 : 16;
			worksheet_set_column(x->ws, (lxw_col_t)c, (lxw_col_t)c, w, NULL);
		}
		worksheet_freeze_panes(x->ws, 1, 0);
		for (int c = 0; c < x->ncols; c++) {
			const struct reg_field *f = &d->fields[x->cols[c]];
			if (worksheet_write_string(x->ws, 0, (lxw_col_t)c, labels ? f->label : f->name, x->bold) !=
			    LXW_NO_ERROR)
				return -1;
		}
		return 0;
	}
	x->fp = fopen(part, "wb");
	if (x->fp == NULL)
		return -1;
	if (x->f == EXP_CSV) {
		fputs("\xEF\xBB\xBF", x->fp);
		for (int c = 0; c < x->ncols; c++) {
			if (c > 0)
				putc(',', x->fp);
			csvw_put(x->fp, d->fields[x->cols[c]].name, 0);
		}
		fputs("\r\n", x->fp);
	} else {
		putc('[', x->fp);
	}
	return ferror(x->fp) ? -1 : 0;
}

/* Closes the output; 0, or -1 when anything failed to reach the file. */
static int finish(struct exporter *x, int ok)
{
	int rc = 0;
	if (x->wb != NULL) {
		lxw_error err = workbook_close(x->wb);
		x->wb = NULL;
		if (err != LXW_NO_ERROR) {
			log_error("export: xlsx: %s", lxw_strerror(err));
			rc = -1;
		}
	}
	if (x->fp != NULL) {
		if (ok && x->f == EXP_JSON)
			fputs(x->rows > 0 ? "\n]\n" : "]\n", x->fp);
		if (fflush(x->fp) != 0 || ferror(x->fp) || fsync(fileno(x->fp)) != 0)
			rc = -1;
		if (fclose(x->fp) != 0)
			rc = -1;
		x->fp = NULL;
	}
	return rc;
}

int registry_export(struct store *st, const struct registry *reg, enum exp_format f, const struct reg_view *v,
		    const char *path, exp_progress_fn progress, void *progress_arg, int64_t *rows,
		    enum msg_id *why)
{
	const struct reg_def *d = &reg->def;
	struct exporter x;
	char *part = xasprintf("%s.part", path);
	int rc = -1;

	memset(&x, 0, sizeof x);
	*rows = 0;
	*why = MSG_HTTP_500;
	if (f < 0 || f >= EXP__MAX) {
		*why = MSG_EXP_BAD_FORMAT;
		free(part);
		return -1;
	}
	x.reg = reg;
	x.f = f;
	x.unmasked = v == NULL || v->unmasked;
	x.progress = progress;
	x.progress_arg = progress_arg;
	x.why = MSG_NONE;
	for (int i = 0; i < d->nfields; i++) {
		int in = v == NULL || v->fields == NULL;
		for (int k = 0; !in && v->fields[k] != NULL; k++)
			in = strcmp(v->fields[k], d->fields[i].name) == 0;
		if (in)
			x.cols[x.ncols++] = i;
	}
	if (f == EXP_XLSX) {
		int64_t n = registry_count(st, reg);
		if (n > EXP_XLSX_MAX_ROWS) {
			*why = MSG_EXP_XLSX_TOO_MANY;
			goto out;
		}
	}
	if (begin(&x, part) != 0) {
		log_error("export: %s: cannot write: %s", part, strerror(errno));
		finish(&x, 0);
		goto out;
	}
	int src = registry_scan(st, reg, NULL, on_row, &x);
	int fin = finish(&x, src == 0);
	if (src != 0 || fin != 0 || x.io_error) {
		if (x.why != MSG_NONE)
			*why = x.why;
		else
			log_error("export: %s: %s", path, src != 0 ? "store error" : "write error");
		goto out;
	}
	if (rename(part, path) != 0) {
		log_error("export: rename %s: %s", path, strerror(errno));
		goto out;
	}
	*rows = x.rows;
	*why = MSG_NONE;
	rc = 0;
out:
	if (rc != 0)
		unlink(part);
	free(part);
	return rc;
}
