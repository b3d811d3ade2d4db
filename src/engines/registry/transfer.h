/*
 * transfer: import into a registry (CSV, XLSX) and export out of it (CSV,
 * JSON, XLSX).  Part of the registry engine; applications (share's
 * transfer.c, the CLI) call it from jobs.
 *
 * Reading files (import.c, xlsx_read.c)
 * -------------------------------------
 * A file is read row by row, never whole into memory:
 *   CSV   UTF-8 with an optional byte order mark, RFC 4180 quoting (libcsv,
 *         strict), CRLF or LF.  Spaces are kept as they are (libcsv would trim
 *         them; the value check refuses them instead).  Blank lines are
 *         skipped; rows are numbered by record, the header being row 1.
 *   XLSX  the workbook's first sheet (xl/workbook.xml and its relationships),
 *         streamed with expat out of the zip (libzip).  Shared strings, inline
 *         strings and rich text runs give text; a number cell gives its text
 *         exactly as written in the XML ("4.401061990051713E+17" stays that,
 *         so a 身份证号 typed as a number is refused, never rounded back);
 *         an integral number in a date format (built-in 14-22, 45-47, or a
 *         custom format with y/m/d outside quotes and brackets) is the date
 *         "YYYY-MM-DD" it shows (1900 and 1904 date systems); booleans give
 *         "true"/"false"; a formula gives its cached value, and is refused
 *         without one; error cells are refused.  Cell references place
 *         values in their columns; rows are numbered as in the sheet.
 * The format is XLSX when the bytes start with a zip signature, else CSV.
 *
 * Importing
 * ---------
 * Row 1 is the header: each cell a field's name or label, in any order.
 * An unknown column, a column named twice, or a missing required column
 * (the key is always required) is an error for row 1 naming the column, and
 * nothing is imported.  A column that is absent leaves that field of an
 * existing record as it is (a new record gets NULL).
 * Every value goes through reg_value_check; each bad value is one report
 * entry; a key seen on an earlier row of the file is an error on the later
 * row.  Modes: IMP_ALL_OR_NOTHING (nothing is written when any row is bad)
 * and IMP_SKIP_INVALID (the good rows are written).
 *
 * It runs in two passes over the file: imp_check reads and checks every row
 * without touching the store; imp_write reads the file again and writes the
 * good rows with registry_put in the caller's transaction.  imp_write calls
 * the caller's batch hook every IMP_BATCH rows so that a job can commit and
 * begin again (a long import must not hold SQLite's only write lock for
 * minutes) and report progress; writing is idempotent (registry_put of the
 * same values is "unchanged"), so a job interrupted between batches can run
 * again.
 *
 * Exporting (export.c)
 * --------------------
 * registry_export streams every record (registry_scan, key order) to a
 * file, limited to a view (fields, masking as reg_value_mask):
 *   CSV   UTF-8 with a byte order mark (so spreadsheet programs read Chinese
 *         right), header of field names, RFC 4180 quoting, CRLF.
 *   JSON  an array of objects {field: value}: integers as numbers, booleans
 *         as true/false, NULL as null, everything else (decimals included,
 *         to stay exact) as strings.
 *   XLSX  libxlsxwriter in constant-memory mode: a bold header of field
 *         labels; identifiers, text and enums as text cells; integers and
 *         decimals of at most 15 significant digits as numbers (decimals with
 *         their scale as the format), longer ones as text; dates as date
 *         cells (yyyy-mm-dd); booleans as booleans.  At most 1,048,575
 *         records (the format's limit).
 * The file is written under path + ".part" and renamed to path when done.
 *
 * Ownership: strings passed in are borrowed; json_t * returned are new.
 */
#ifndef YZ_REG_TRANSFER_H
#define YZ_REG_TRANSFER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/msg.h"
#include "core/store.h"
#include "engines/registry/registry.h"

#define IMP_MAX_ERRORS 1000          /* report entries kept (all are counted) */
#define IMP_MAX_ROWS 20000000        /* data rows in one file */
#define IMP_MAX_COLS 256             /* columns of the header */
#define IMP_CELL_MAX 8192            /* bytes of one cell (longer: refused, REG_VALUE_MAX applies anyway) */
#define IMP_BATCH 5000               /* rows between imp_write's batch hook calls */
#define IMP_PROGRESS_EVERY 1000      /* rows between progress calls */
#define IMP_XLSX_PART_MAX (1024L * 1024 * 1024)  /* uncompressed bytes of one part of an XLSX (zip bombs) */

enum imp_format { IMP_FMT_AUTO, IMP_FMT_CSV, IMP_FMT_XLSX };
enum imp_mode { IMP_ALL_OR_NOTHING, IMP_SKIP_INVALID };

/* The file: a path, or bytes in memory when path is NULL (borrowed). */
struct imp_source {
	const char *path;
	const void *data;
	size_t len;
	enum imp_format format;      /* IMP_FMT_AUTO: by the first bytes */
};

/* ---------------------------------------------------------------- reading */

/* One cell of a row.  text NULL: empty.  bad != MSG_NONE: the cell cannot be
 * used (formula without cached value, error cell, too long); numeric: the
 * cell was an XLSX number (so a failed check can say so). */
struct imp_cell {
	const char *text;
	size_t len;
	enum msg_id bad;
	int numeric;
};

/* Called for each row with at least one non-empty cell; cells[0..ncells)
 * (ncells may be 0 after the last non-empty one).  Returns 0 to go on,
 * non-zero to stop the reading (returned by imp_read). */
typedef int (*imp_row_fn)(void *arg, int64_t row, const struct imp_cell *cells, int ncells);

/* Why a file could not be read: which row (0 = the file as a whole). */
struct imp_read_error {
	enum msg_id why;
	int64_t row;
	char detail[256];            /* Chinese detail, may be "" */
};

/* Progress while reading: bytes of the file consumed of total (both 0 when unknown). */
typedef void (*imp_bytes_fn)(void *arg, uint64_t done, uint64_t total);

/*
 * Reads src row by row.  0 when the whole file was read, the callback's
 * non-zero value when it stopped, -1 with *e when the file cannot be read
 * (not CSV/XLSX, malformed quoting, bad UTF-8, no worksheet ...).
 * bytes may be NULL.
 */
int imp_read(const struct imp_source *src, imp_row_fn fn, void *arg, imp_bytes_fn bytes, void *bytes_arg,
	     struct imp_read_error *e);
/* The two readers (imp_read dispatches); src->data/len or src->path. */
int imp_read_csv(const struct imp_source *src, imp_row_fn fn, void *arg, imp_bytes_fn bytes,
		 void *bytes_arg, struct imp_read_error *e);
int xlsx_read(const struct imp_source *src, imp_row_fn fn, void *arg, imp_bytes_fn bytes, void *bytes_arg,
	      struct imp_read_error *e);

/* ---------------------------------------------------------------- importing */

/*
 * The outcome of an import, as imp_result_json gives it:
 * {"rows","inserted","created","updated","unchanged","invalid","errors":[{"row","field","reason","value"}],
 *  "errors_total","errors_truncated","written","header_bad"}
 * ("created" repeats "inserted" for the portal's generic job page, which shows created/updated)
 * rows: data rows read (without the header); invalid: rows with at least one
 * error (header errors count none); written: whether imp_write ran.
 */
struct imp_result {
	int64_t rows, inserted, updated, unchanged, invalid;
	int64_t errors_total;
	json_t *errors;              /* at most IMP_MAX_ERRORS entries */
	int header_bad;              /* the header (or the file) is unusable: nothing can be written */
	int written;
};

/* Progress: rows done in phase 1 (checking) or 2 (writing); est_total is an
 * estimate of all rows from the bytes read (0 when unknown). */
typedef void (*imp_progress_fn)(void *arg, int phase, int64_t rows, int64_t est_total);
/* Called by imp_write every IMP_BATCH rows (commit and begin again); non-zero stops with -1. */
typedef int (*imp_batch_fn)(void *arg, int64_t rows);

struct imp_opts {
	enum imp_mode mode;
	imp_progress_fn progress;    /* may be NULL */
	void *progress_arg;
	imp_batch_fn batch;          /* may be NULL: one transaction */
	void *batch_arg;
};

struct imp_plan;   /* what imp_check learnt: columns and bad rows */

/*
 * Pass 1: reads and checks every row of src against reg (no store access).
 * 0 with *plan (imp_plan_free) and res filled (imp_result_release), or -1
 * only when memory or a limit fails hard (res says why when it can).  A bad
 * file or header is not -1: res->header_bad and res->errors say it.
 */
int imp_check(const struct registry *reg, const struct imp_source *src, const struct imp_opts *o,
	      struct imp_plan **plan, struct imp_result *res);
/* 1 when imp_write has something to write under the mode (all-or-nothing: no error at all). */
int imp_should_write(const struct imp_plan *plan, const struct imp_result *res);
/*
 * Pass 2: writes the good rows in the caller's transaction (and those the
 * batch hook begins).  who->source names the import ("import:<job id>").
 * Counts go to res (inserted, updated, unchanged).  0, or -1 on a store
 * error or a changed file (the caller rolls back; *e says why when known).
 */
int imp_write(struct store *st, const struct registry *reg, struct imp_plan *plan, const struct imp_opts *o,
	      const struct reg_actor *who, struct imp_result *res, struct reg_error *e);
void imp_plan_free(struct imp_plan *plan);
json_t *imp_result_json(const struct imp_result *res);
void imp_result_release(struct imp_result *res);

/* The message id with "{1}".."{n}" replaced by the n string arguments, into out. */
void imp_msg_fill(char *out, size_t cap, enum msg_id id, int n, ...);

/* ---------------------------------------------------------------- exporting */

enum exp_format { EXP_CSV, EXP_JSON, EXP_XLSX, EXP__MAX };

#define EXP_XLSX_MAX_ROWS 1048575

/* "csv" | "json" | "xlsx" and back (-1 when unknown). */
const char *exp_format_name(enum exp_format f);
int exp_format_parse(const char *s);
/* The MIME type served for a format ("text/csv; charset=utf-8", ...). */
const char *exp_format_mime(enum exp_format f);

/* Progress every IMP_PROGRESS_EVERY records: records written so far. */
typedef void (*exp_progress_fn)(void *arg, int64_t rows);

/*
 * Writes every record of reg, limited to v (NULL: every field, unmasked),
 * to path in format f.  0 with *rows, or -1 with *why (MSG_EXP_* or
 * MSG_HTTP_500 for I/O and store errors, logged).
 */
int registry_export(struct store *st, const struct registry *reg, enum exp_format f, const struct reg_view *v,
		    const char *path, exp_progress_fn progress, void *progress_arg, int64_t *rows,
		    enum msg_id *why);

#endif
