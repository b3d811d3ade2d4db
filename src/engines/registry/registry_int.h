/*
 * registry_int.h: what the registry engine's own modules share (never
 * included outside src/engines/registry).
 */
#ifndef YZ_REGISTRY_INT_H
#define YZ_REGISTRY_INT_H

#include "engines/registry/registry.h"

/*
 * The SQL generated for one version of a registry (schema.c builds it when a
 * handle is loaded).  Columns are quoted ("name"); "cols" lists every field's
 * column in definition order.  Every statement binds stored values: integer,
 * decimal (scaled) and boolean as SV_INT, the rest as SV_TEXT.
 */
struct reg_sql {
	char *table;      /* reg_<code> */
	char *cols;       /* "f1","f2",... in definition order */
	/* INSERT INTO t (cols, _version, _created_at, _created_by, _created_src,
	 *   _updated_at, _updated_by, _updated_src) VALUES ($1..$n, 1, $n+1, $n+2, $n+3, $n+1, $n+2, $n+3)
	 *   ON CONFLICT (key) DO NOTHING */
	char *insert;
	/* SELECT _id, cols, _version FROM t WHERE key = $1 */
	char *by_key;
	/* UPDATE t SET f1 = $1, ..., fn = $n, _version = _version + 1, _updated_at = $n+1,
	 *   _updated_by = $n+2, _updated_src = $n+3 WHERE _id = $n+4 */
	char *update;
	char *del;        /* DELETE FROM t WHERE _id = $1 */
	char *count;      /* SELECT COUNT(*) FROM t */
	/* SELECT _id, cols, _version, _created_at, _created_by, _created_src, _updated_at,
	 *   _updated_by, _updated_src FROM t WHERE key = $1 */
	char *record;
	/* SELECT _id, cols FROM t WHERE _id > $1 ORDER BY _id LIMIT $2 */
	char *page;
	/* SELECT _id, cols FROM t WHERE key > $1 ORDER BY key LIMIT $2 */
	char *scan_key;
	/* per field i: SELECT 1 FROM t WHERE fi = $1 LIMIT 1 */
	char **exists_by;
};

/*
 * Interns generated SQL text: returns a pointer, stable until exit, to text
 * equal to sql (one copy per distinct text, process-wide, thread-safe).
 * For statements built at run time (filters, scans by another field), since
 * the store caches prepared statements by the SQL's address.
 */
const char *reg_sql_intern(const char *sql);

#endif
