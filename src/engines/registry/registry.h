/*
 * registry: typed registries (人口库, 法人库, 不动产登记, datasets, credit
 * records ...).  The engine that information sharing, open data and credit
 * information are built on.
 *
 * Definitions
 * -----------
 * A registry is defined in a small line-oriented text format
 * (docs/registry-format.md; parsed by regdef_parse): a code, a name, the
 * owning department, the key field, the field naming the data subject, the
 * registry's sharing class (无条件共享 / 有条件共享 with its conditions /
 * 不予共享 with its legal basis, which is required), the open-data flag,
 * and its fields.  Each field has a type, a label, flags (required,
 * indexed, personal), its authoritative department (一数一源: source=CODE)
 * or, when the field is a derived copy of another registry's field,
 * derived=REGISTRY.FIELD, and optionally its own sharing class.
 *
 * Applying a definition (registry_apply) makes it real: the registry is a
 * real table "reg_<code>" with real indexes, created or altered by SQL the
 * engine writes and records (registry_migrations), the same on SQLite and
 * PostgreSQL.  A change that would lose data is refused with the reason
 * (removing or retyping a field that holds values, narrowing an enum whose
 * removed value is used, changing the key of a registry with records,
 * shortening a text field below its longest value ...); adding fields,
 * labels, flags and indexes is always allowed.
 *
 * Storage (for the modules of this engine; applications use the functions)
 *   table reg_<code>: _id (pk), one column per field named as the field,
 *     _version, _created_at, _created_by, _created_src, _updated_at,
 *     _updated_by, _updated_src.  The key column is UNIQUE.  Indexed and
 *     idcard/uscc fields get an index.  On PostgreSQL text columns are
 *     COLLATE "C", so ORDER BY is bytewise on both drivers (strcmp order).
 *   stored values: text-like types as text; integer as integer; decimal as
 *     an integer count of 10^-scale units (exact, no floating point); date
 *     as "YYYY-MM-DD" text; boolean as 0/1.
 *   table reg_history: one row per update or delete of a record with the
 *     old and new values of the changed fields; an insert writes no history
 *     row (the record's _created_* columns say who, when and from which
 *     import or request).  So the full history of a record is its creation
 *     plus its history rows.
 *
 * Canonical text of a value (what import reads, what export and JSON
 * write, what comparison compares): text, address, enum, idcard, uscc,
 * phone as is; integer "-12"; decimal with exactly `scale` fraction digits
 * "1234.50"; date "2026-11-22"; boolean "true"/"false".  Parsing never
 * coerces silently: "12.0" is not an integer, "1,234" not a decimal,
 * "2026/11/22" not a date, a decimal with more fraction digits than the
 * scale is refused (no rounding), leading/trailing spaces are refused,
 * booleans accept exactly true/false/1/0/是/否.  An empty text is NULL
 * (refused when required).
 *
 * Transactions: every function that writes does so in the caller's
 * transaction (store_begin ... store_commit); on any return but 0 the
 * caller rolls back.  Ownership: json_t * returned are new (caller
 * decrefs); strings passed in are borrowed for the call.
 */
#ifndef YZ_REGISTRY_H
#define YZ_REGISTRY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/crypto.h"
#include "core/msg.h"
#include "core/store.h"

#define REG_CODE_MAX 32     /* registry and field codes: [a-z][a-z0-9_]{0,30} */
#define REG_MAX_FIELDS 64
#define REG_VALUE_MAX 2000  /* bytes of one value's canonical text */

enum reg_type {
	RT_TEXT, RT_INTEGER, RT_DECIMAL, RT_DATE, RT_ENUM, RT_BOOL,
	RT_IDCARD,   /* 身份证号 (GB 11643) */
	RT_USCC,     /* 统一社会信用代码 (GB 32100), with the deployment's allow-list */
	RT_PHONE,    /* mainland mobile, or a landline 0AA(A)-NNNNNNN(N) */
	RT_ADDRESS,
	RT__MAX
};

/* Sharing class (DESIGN §5). */
enum reg_share { RS_UNCONDITIONAL, RS_CONDITIONAL, RS_NONE, RS__MAX };

struct reg_field {
	char name[REG_CODE_MAX];
	char *label;                 /* Chinese, for people */
	enum reg_type type;
	int max_chars;               /* text/address: at most this many characters (default 200) */
	int scale;                   /* decimal: fraction digits, 0..6 */
	char **enum_values;          /* enum: the allowed values */
	int nenum;
	int required, indexed, personal;   /* personal: masked for viewers without the right */
	char source_dept[REG_CODE_MAX];    /* authoritative department code (一数一源); "" when derived */
	char derived_from[2 * REG_CODE_MAX + 1]; /* "registry.field" this copy derives from, or "" */
	enum reg_share share;        /* the field's class: defaults to the registry's, may only be stricter */
	char *share_cond;            /* conditions (conditional) or legal basis (none); NULL otherwise */
};

struct reg_def {
	char code[REG_CODE_MAX];
	char *name;
	char owner_dept[REG_CODE_MAX];  /* owning department code */
	int key;                     /* index into fields of the key field */
	int subject;                 /* index of the field naming the data subject (idcard/uscc), -1 none */
	enum reg_share share;
	char *share_cond;            /* conditions, or the legal basis of 不予共享 (required then) */
	int open;                    /* 开放: may be published as open data */
	char *abstract;              /* 摘要, may be NULL */
	char *update_cycle;          /* 更新周期 (实时/每日/每月/…), may be NULL */
	struct reg_field *fields;
	int nfields;
};

/*
 * Parses a definition.  0 with *out (free with regdef_free), or -1 with
 * *err: malloc'd Chinese text naming the line, e.g. "第 7 行：未知的字段类型 “strng”".
 * Checks everything that can be checked without the store: codes, one key,
 * required legal basis for 不予共享, a field never less strict than the
 * registry, source xor derived, enum values present, scale range ...
 */
int regdef_parse(const char *text, size_t len, struct reg_def **out, char **err);
void regdef_free(struct reg_def *d);
/*
 * 1 for the types whose values a person or a department writes freely
 * (text, address, enum): guarded against spreadsheet formulas in
 * CSV exports, and the guard's apostrophe taken off on CSV import
 * (core/csvw.h).  Identifiers, numbers, dates and booleans cannot start
 * like a formula, or must not be changed (a negative amount).
 */
int reg_csv_guarded(enum reg_type t);
const char *reg_type_name(enum reg_type t);     /* "text", "idcard", ... (format keywords) */
const char *reg_type_label(enum reg_type t);    /* 文本, 身份证号, ... */
const char *reg_share_name(enum reg_share s);   /* "unconditional" | "conditional" | "none" */
const char *reg_share_label(enum reg_share s);  /* 无条件共享 | 有条件共享 | 不予共享 */
int reg_field_index(const struct reg_def *d, const char *name);   /* -1 when none */

/* Who made a change and from where (history, _created_src/_updated_src). */
struct reg_actor {
	int64_t user_id;             /* 0 for the system or a machine client */
	const char *name;            /* login, "system", or "token:<id>" */
	const char *source;          /* "import:<job id>", "api:<request id>", "form:<request id>", "demo-data:<seed>" */
};

/* A specific error: which field (or line, or row) and why. */
struct reg_error {
	enum msg_id why;             /* MSG_NONE when there is no error */
	char field[REG_CODE_MAX];    /* the field concerned, "" when none */
	char detail[256];            /* Chinese detail for people (may be ""), e.g. the conflicting value count */
};

/* ---------------------------------------------------------------- registries */

/*
 * A loaded registry: its definition plus the SQL the engine generated for
 * it.  Handles are cached per process and live until exit (the store's
 * statement cache is keyed by SQL address, so a handle's SQL must stay
 * put); registry_get returns the handle of the registry's current version.
 */
struct reg_sql;
struct registry {
	int64_t id;                  /* registries.id */
	int64_t version;             /* one more at every applied change */
	int64_t owner_dept_id;
	struct reg_def def;
	int64_t *source_dept_id;     /* per field: departments.id of its authoritative department, 0 if derived */
	const struct reg_sql *sql;   /* private to the engine */
};

/*
 * Creates or alters the registry d->code in the caller's transaction:
 * checks the departments named exist and derived_from names an existing
 * registry field of a compatible type, refuses changes that would lose
 * data, writes and runs the DDL, records it in registry_migrations, stores
 * the definition text, bumps the version and appends the audit entry
 * ("registry.create"/"registry.alter").  0, or -1 with *e (MSG_REG_*).
 * text is the definition's source (stored for the edit page).
 */
int registry_apply(struct store *st, const char *text, size_t len, const struct reg_actor *who,
		   struct reg_error *e);
/* The current handle of a registry, or NULL (unknown code, store error). */
const struct registry *registry_get(struct store *st, const char *code);
const struct registry *registry_get_id(struct store *st, int64_t id);
/* [{"id","code","name","owner_dept_id","owner_dept_name","share","share_label","open","records","version"}] by code. */
json_t *registry_list(struct store *st);
/* The definition as JSON (fields with types, labels, sources, classes) for pages and the API. */
json_t *registry_def_json(struct store *st, const struct registry *reg);
/* The stored definition text (malloc'd) for the edit page, or NULL. */
char *registry_def_text(struct store *st, const char *code);
/* Applied DDL of a registry, oldest first: [{"version","sql","applied_at"}]. */
json_t *registry_migrations(struct store *st, const struct registry *reg);

/* ---------------------------------------------------------------- values */

/*
 * Checks text against field f and writes its canonical text to canon
 * (cap >= REG_VALUE_MAX + 1).  Returns MSG_NONE or why not
 * (MSG_REG_NOT_INTEGER, MSG_IDCARD_*, ...).  text NULL or "" is NULL: *is_null = 1
 * (MSG_REG_REQUIRED when f->required).
 */
enum msg_id reg_value_check(const struct reg_field *f, const char *text, char *canon, size_t cap,
			    int *is_null);
/* Canonical text of a value as stored in the table (store_res_text of its column) into out. */
void reg_value_format(const struct reg_field *f, const char *stored, char *out, size_t cap);
/* Masked form of a canonical value for viewers without the right (idcard 110101********123X,
 * phone 138****5678, names 张*, addresses first 6 characters + ****). */
void reg_value_mask(const struct reg_field *f, const char *canon, char *out, size_t cap);

/* ---------------------------------------------------------------- records */

/*
 * Inserts or updates one record from canonical-or-raw text values, one per
 * field in definition order (NULL = empty).  Every value is checked
 * (reg_value_check); the first bad one fails the call with *e naming it and
 * nothing is written.  An existing record (same key) is updated: only
 * changed fields are written, _version + 1, one reg_history row with the
 * old and new values.  When a changed field is authoritative (not derived),
 * the administrators of every department owning a registry with a field
 * derived from it are notified (notify_user, dedup per department, field
 * and source, so one import sends one message per department).
 * *outcome: 0 unchanged, 1 inserted, 2 updated.  0, or -1 with *e.
 */
int registry_put(struct store *st, const struct registry *reg, const char *const *values,
		 const struct reg_actor *who, int *outcome, struct reg_error *e);
/* The same from a JSON object {field: value} (strings, integers, booleans, null);
 * unknown fields are refused (MSG_REG_UNKNOWN_FIELD); missing fields are NULL. */
int registry_put_json(struct store *st, const struct registry *reg, const json_t *rec,
		      const struct reg_actor *who, int *outcome, struct reg_error *e);
/* Deletes the record with key (canonical text); history keeps its last values. 0, 1 none, -1. */
int registry_delete(struct store *st, const struct registry *reg, const char *key,
		    const struct reg_actor *who);

/* Which fields a viewer may see, and whether unmasked. */
struct reg_view {
	const char *const *fields;   /* NULL-terminated field names; NULL = every field */
	int unmasked;                /* 1: personal fields whole (the owning department, a grant) */
};

/* One record by key as {"field": canonical value or null, ..., "_meta": {version, created_*, updated_*}}
 * limited to the view; NULL when none (or store error). */
json_t *registry_get_record(struct store *st, const struct registry *reg, const char *key,
			    const struct reg_view *v);
/* 1 when a record with field = value exists, 0 when not, -1 on error (bad field or value: *e). */
int registry_exists(struct store *st, const struct registry *reg, const char *field,
		    const char *value, struct reg_error *e);

/* Query filters: equality on any field; >= / <= on integer, decimal and date; prefix on text. */
enum reg_op { RO_EQ, RO_GE, RO_LE, RO_PREFIX };
struct reg_filter {
	const char *field;
	enum reg_op op;
	const char *value;           /* raw text, checked like an input value */
};
#define REG_MAX_FILTERS 8
/*
 * A page of records ordered by _id: {"items":[record...], "next": cursor or null}
 * (cursor = the last _id, opaque to callers), each record limited to the view.
 * limit 1..500.  NULL with *e on a bad filter (unknown field, bad value, op
 * not allowed for the type).
 */
json_t *registry_query(struct store *st, const struct registry *reg, const struct reg_filter *f,
		       int nf, int64_t after, int limit, const struct reg_view *v, struct reg_error *e);
/* Number of records (cheap enough for pages: COUNT(*)). -1 on error. */
int64_t registry_count(struct store *st, const struct registry *reg);
/* History of one record, newest first: {"created":{at,by,source},"changes":[{version,op,at,by,source,
 * changes:{field:{old,new}}}]} limited to the view (masking applies to old/new too); NULL if none. */
json_t *registry_history(struct store *st, const struct registry *reg, const char *key,
			 const struct reg_view *v);

/*
 * Streams every record in key order (bytewise), or in order of another
 * field when order_field is not NULL (ties by _id), calling fn with the
 * canonical text of each field in definition order (NULL for SQL NULL).
 * fn returns 0 to go on, non-zero to stop (returned).  Reads in pages by
 * keyset so memory stays flat at any size.  0 when done, -1 on error.
 * For export and comparison.
 */
typedef int (*reg_row_fn)(void *arg, const char *const *values);
int registry_scan(struct store *st, const struct registry *reg, const char *order_field,
		  reg_row_fn fn, void *arg);

/*
 * Aggregates over the records whose match_field equals value (raw text,
 * checked like an input value): the number of records when sum_field is
 * NULL, else the sum of that integer or decimal field (0 when none match).
 * The canonical text of the answer goes to out ("3", "120500.00").  For
 * verifications that answer a question without revealing records
 * (aggregate.c).  0, or -1 with *e (unknown field, not numeric, bad value).
 */
int registry_aggregate(struct store *st, const struct registry *reg, const char *match_field,
		       const char *value, const char *sum_field, char *out, size_t cap,
		       struct reg_error *e);

/* ---------------------------------------------------------------- access log */

/*
 * Every read of personal or conditional data is recorded for the data
 * subject's tracker (数据使用记录) as one reg_access row, in the caller's
 * transaction (or its own when none is open):
 * subject is the data subject's identifier (身份证号/统一社会信用代码),
 * stored only as account_ident_hash so it links to the subject's account.
 */
struct reg_access {
	int64_t dept_id;             /* the department that read */
	int64_t actor_id;            /* users.id, 0 for a machine client */
	const char *actor;           /* login or "token:<id>" */
	const char *registry;        /* registry code */
	const char *subject;         /* clear identifier, hashed before storing; may be NULL */
	const char *purpose;         /* 用途, 1..200 characters */
	const char *basis;           /* "grant:<id>", "consent:<id>", "unconditional", "owner" */
	const char *fields;          /* comma-separated field names, or a question's label for verifications */
	const char *via;             /* "api", "page", "verify", "batch", "export" */
};
int reg_access_log(struct store *st, const struct keys *k, const struct reg_access *a);
/* Accesses to one subject (by ident hash), newest first, cursor by id:
 * {"items":[{id,at,dept_id,dept_name,actor,registry,registry_name,purpose,basis,fields,via}],"next"}. */
json_t *reg_access_of_subject(struct store *st, const char *ident_hash, int64_t after, int limit);

/*
 * The deferred form, for hot read paths (the sharing API): one read's audit
 * entry e (may be NULL) and its n access rows a[0..n) (n may be 0) become
 * ONE line of the read journal (core/readlog.h); subjects are hashed before
 * the line is written, so no clear identifier reaches the spool.  The
 * journal's flusher writes the entry and the rows in one transaction, with
 * the read's real time ("at", and "read_at" in the entry's detail), within
 * about 0.1 s.  Once 0 is returned the record survives a crash of the
 * process (not a power failure: see readlog.h).  While the journal is not
 * running (CLI, unit tests) they are written at once through st, in st's
 * transaction or in one of their own.  0, or -1 (bad arguments, logged;
 * spool or store failure): the read must not be answered then.
 */
struct audit_entry;
int reg_access_defer(struct store *st, const struct keys *k, const struct audit_entry *e,
		     const struct reg_access *a, int n);
/* Registers the journal's "reg_access" consumer (readlog_register); call before readlog_start. 0 or -1. */
int reg_access_readlog_register(void);

#endif
