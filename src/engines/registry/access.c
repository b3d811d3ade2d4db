/*
 * access: the data-use log (数据使用记录) of registry.h, "access log".
 *
 * One reg_access row per read of personal or conditional data, so that a
 * citizen or an enterprise can see who read what about them, when, for
 * what purpose and on which basis.  The subject is stored only as
 * account_ident_hash, the same keyed hash the accounts use, so the rows
 * link to the subject's account without holding the identifier.  This is
 * the tracker row only: the caller appends the audit entry.
 */
#include "engines/registry/registry_int.h"

#include "core/account.h"
#include "core/log.h"
#include "core/validate.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static const char SQL_INSERT[] =
	"INSERT INTO reg_access (at, dept_id, actor_id, actor, registry, subject_hash, purpose, "
	"basis, fields, via) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
static const char SQL_OF_SUBJECT[] =
	"SELECT a.id, a.at, a.dept_id, d.name, a.actor, a.registry, r.name, a.purpose, a.basis, "
	"a.fields, a.via FROM reg_access a "
	"LEFT JOIN departments d ON d.id = a.dept_id "
	"LEFT JOIN registries r ON r.code = a.registry "
	"WHERE a.subject_hash = $1 AND a.id < $2 ORDER BY a.id DESC LIMIT $3";

static int text_ok(const char *s, size_t min_chars, size_t max_chars)
{
	if (s == NULL)
		return min_chars == 0;
	return validate_text(s, strlen(s), min_chars, max_chars, 0) == MSG_NONE;
}

static int via_ok(const char *via)
{
	static const char *const vias[] = { "api", "page", "verify", "batch" };
	for (size_t i = 0; via != NULL && i < sizeof vias / sizeof vias[0]; i++)
		if (strcmp(via, vias[i]) == 0)
			return 1;
	return 0;
}

int reg_access_log(struct store *st, const struct keys *k, const struct reg_access *a)
{
	char hash[65];
	int own_tx = 0, rc;

	if (a == NULL || a->dept_id <= 0 || a->actor_id < 0 || !text_ok(a->actor, 1, 100) ||
	    !text_ok(a->registry, 1, REG_CODE_MAX - 1) || !text_ok(a->purpose, 1, 200) ||
	    !text_ok(a->basis, 1, 100) || !text_ok(a->fields, 1, 2000) || !via_ok(a->via) ||
	    !text_ok(a->subject, 0, 64) ||
	    (k == NULL && a->subject != NULL && a->subject[0] != '\0')) {
		log_error("reg_access_log: bad arguments (registry %s, via %s)",
			  a && a->registry ? a->registry : "?", a && a->via ? a->via : "?");
		return -1;
	}
	if (a->subject != NULL && a->subject[0] != '\0')
		account_ident_hash(k, a->subject, hash);
	struct sval p[] = {
		SVI(time(NULL)), SVI(a->dept_id), SVI(a->actor_id), SVT(a->actor), SVT(a->registry),
		SVT(a->subject != NULL && a->subject[0] != '\0' ? hash : NULL), SVT(a->purpose),
		SVT(a->basis), SVT(a->fields), SVT(a->via),
	};
	if (!store_in_tx(st)) {
		if (store_begin(st) != STORE_OK)
			return -1;
		own_tx = 1;
	}
	rc = store_exec(st, SQL_INSERT, p, 10, NULL) == STORE_OK ? 0 : -1;
	if (own_tx) {
		if (rc == 0 && store_commit(st) != STORE_OK)
			rc = -1;
		if (rc != 0)
			store_rollback(st);
	}
	return rc;
}

json_t *reg_access_of_subject(struct store *st, const char *ident_hash, int64_t after, int limit)
{
	struct store_res *res = NULL;
	json_t *items, *out;

	if (ident_hash == NULL || ident_hash[0] == '\0')
		return NULL;
	if (limit < 1)
		limit = 1;
	if (limit > 500)
		limit = 500;
	struct sval p[] = { SVT(ident_hash), SVI(after > 0 ? after : INT64_MAX), SVI(limit + 1) };
	if (store_query(st, SQL_OF_SUBJECT, p, 3, &res) != STORE_OK)
		return NULL;
	int rows = store_res_rows(res), shown = rows > limit ? limit : rows;
	items = json_array();
	for (int r = 0; r < shown; r++)
		json_array_append_new(
			items, json_pack("{s:I,s:I,s:I,s:s?,s:s,s:s,s:s?,s:s,s:s,s:s,s:s}",
					 "id", (json_int_t)store_res_int(res, r, 0),
					 "at", (json_int_t)store_res_int(res, r, 1),
					 "dept_id", (json_int_t)store_res_int(res, r, 2),
					 "dept_name", store_res_text(res, r, 3),
					 "actor", store_res_text(res, r, 4),
					 "registry", store_res_text(res, r, 5),
					 "registry_name", store_res_text(res, r, 6),
					 "purpose", store_res_text(res, r, 7),
					 "basis", store_res_text(res, r, 8),
					 "fields", store_res_text(res, r, 9),
					 "via", store_res_text(res, r, 10)));
	out = json_pack("{s:o,s:o}", "items", items, "next",
			rows > limit ? json_integer(store_res_int(res, shown - 1, 0)) : json_null());
	store_res_free(res);
	return out;
}
