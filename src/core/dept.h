/*
 * dept: the department tree (省/市/县/镇/村 levels).  Every record of the
 * platform has an owning department.
 *
 * CSV import format (UTF-8, header row required, columns in any order):
 *   code,name,parent_code,level[,sort]
 * level is one of province, city, county, town, village (or 省, 市, 县, 镇, 村);
 * parent_code is empty for a root and may refer to a row earlier in the
 * same file or to an existing department.  Existing codes are updated.
 * An import is all or nothing: any bad row and nothing changes.
 */
#ifndef YZ_DEPT_H
#define YZ_DEPT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/msg.h"
#include "core/store.h"

extern const char *const dept_levels[];   /* NULL-terminated: province ... village */
const char *dept_level_label(const char *level);

struct dept_in {
	const char *code;
	const char *name;
	int64_t parent_id;    /* 0 = root */
	const char *level;
	int64_t sort;
};

/* Inside the caller's transaction. -1 with *why and *field on a bad value or taken code. */
int dept_create(struct store *st, const struct dept_in *d, int64_t *id, enum msg_id *why,
		const char **field);
int dept_update(struct store *st, int64_t id, const struct dept_in *d, enum msg_id *why,
		const char **field);
/* {"id","code","name","parent_id","parent_name","level","level_label","sort"} or NULL. */
json_t *dept_json(struct store *st, int64_t id);
/* Every department in tree order with "depth" for indentation. */
json_t *dept_tree(struct store *st);
/* A page of departments by id: {"items":[...],"next":cursor|null}. */
json_t *dept_list(struct store *st, int64_t after, int limit);
int dept_find_code(struct store *st, const char *code, int64_t *id);  /* 0, 1 none, -1 */

/*
 * Imports CSV text in the caller's transaction.  progress (may be NULL) is
 * called every 100 rows.  On a bad row returns -1 and *report (JSON array
 * of {"row","field","reason"}) lists every problem found; on success
 * *report is {"created":n,"updated":m}.  The caller owns *report.
 */
int dept_import_csv(struct store *st, const char *text, size_t len, json_t **report,
		    void (*progress)(void *arg, int64_t done, int64_t total), void *arg);

#endif
