/*
 * access: the data-use log (数据使用记录) of registry.h, "access log".
 *
 * One reg_access row per read of personal or conditional data, so that a
 * citizen or an enterprise can see who read what about them, when, for
 * what purpose and on which basis.  The subject is stored only as
 * account_ident_hash, the same keyed hash the accounts use, so the rows
 * link to the subject's account without holding the identifier.
 * reg_access_log writes the tracker row only (the caller appends the audit
 * entry); reg_access_defer records a whole read, its audit entry and its
 * rows, through the read journal (core/readlog.h), whose "reg_access"
 * consumer (apply_rows) inserts the rows with their hash as spooled.
 */
#include "engines/registry/registry_int.h"

#include "core/account.h"
#include "core/audit.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/readlog.h"
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
	static const char *const vias[] = { "api", "page", "verify", "batch", "export" };
	for (size_t i = 0; via != NULL && i < sizeof vias / sizeof vias[0]; i++)
		if (strcmp(via, vias[i]) == 0)
			return 1;
	return 0;
}

/* Checks a row's arguments (the subject in clear, or NULL); logs and returns 0 when bad. */
static int access_ok(const struct keys *k, const struct reg_access *a)
{
	if (a == NULL || a->dept_id <= 0 || a->actor_id < 0 || !text_ok(a->actor, 1, 100) ||
	    !text_ok(a->registry, 1, REG_CODE_MAX - 1) || !text_ok(a->purpose, 1, 200) ||
	    !text_ok(a->basis, 1, 100) || !text_ok(a->fields, 1, 2000) || !via_ok(a->via) ||
	    !text_ok(a->subject, 0, 64) ||
	    (k == NULL && a->subject != NULL && a->subject[0] != '\0')) {
		log_error("reg_access: bad arguments (registry %s, via %s)",
			  a && a->registry ? a->registry : "?", a && a->via ? a->via : "?");
		return 0;
	}
	return 1;
}

/* The subject's hash into hash[65]; NULL when the row names no subject. */
static const char *subject_hash(const struct keys *k, const struct reg_access *a, char hash[65])
{
	if (a->subject == NULL || a->subject[0] == '\0')
		return NULL;
	account_ident_hash(k, a->subject, hash);
	return hash;
}

/* Inserts one row whose subject is already hashed (a->subject is ignored), in st's transaction. */
static int insert_row(struct store *st, int64_t at, const struct reg_access *a, const char *hash)
{
	struct sval p[] = {
		SVI(at), SVI(a->dept_id), SVI(a->actor_id), SVT(a->actor), SVT(a->registry),
		SVT(hash), SVT(a->purpose), SVT(a->basis), SVT(a->fields), SVT(a->via),
	};
	return store_exec(st, SQL_INSERT, p, 10, NULL) == STORE_OK ? 0 : -1;
}

int reg_access_log(struct store *st, const struct keys *k, const struct reg_access *a)
{
	char hash[65];
	int own_tx = 0, rc;

	if (!access_ok(k, a))
		return -1;
	const char *h = subject_hash(k, a, hash);
	if (!store_in_tx(st)) {
		if (store_begin(st) != STORE_OK)
			return -1;
		own_tx = 1;
	}
	rc = insert_row(st, time(NULL), a, h);
	if (own_tx) {
		if (rc == 0 && store_commit(st) != STORE_OK)
			rc = -1;
		if (rc != 0)
			store_rollback(st);
	}
	return rc;
}

/* ---------------------------------------------------------------- deferred */

#define READLOG_KIND "reg_access"

int reg_access_defer(struct store *st, const struct keys *k, const struct audit_entry *e,
		     const struct reg_access *a, int n)
{
	char hash[65];
	int rc = -1;

	if (n < 0 || (n > 0 && a == NULL) || (e == NULL && n == 0)) {
		log_error("reg_access_defer: nothing to record");
		return -1;
	}
	for (int i = 0; i < n; i++)
		if (!access_ok(k, &a[i]))
			return -1;
	if (!readlog_running()) {
		/* No journal: at once, in the caller's transaction or one of our own. */
		int own_tx = !store_in_tx(st);
		if (own_tx && store_begin(st) != STORE_OK)
			return -1;
		rc = e != NULL ? audit_append(st, e) : 0;
		int64_t now = time(NULL);
		for (int i = 0; rc == 0 && i < n; i++)
			rc = insert_row(st, now, &a[i], subject_hash(k, &a[i], hash));
		if (own_tx) {
			if (rc == 0 && store_commit(st) != STORE_OK)
				rc = -1;
			if (rc != 0)
				store_rollback(st);
		}
		return rc;
	}
	/* {"rows":[{...}, ...]}, encoded here (the hot path): the keys apply_rows reads */
	struct buf b = BUF_INIT(READLOG_LINE_MAX);
	int bad = 0;
	if (n > 0) {
		bad |= buf_addstr(&b, "{\"rows\":[");
		for (int i = 0; i < n; i++) {
			bad |= buf_addf(&b, "%s{\"dept_id\":%lld,\"actor_id\":%lld,\"actor\":", i ? "," : "",
					(long long)a[i].dept_id, (long long)a[i].actor_id);
			bad |= readlog_json_str(&b, a[i].actor);
			bad |= buf_addstr(&b, ",\"registry\":");
			bad |= readlog_json_str(&b, a[i].registry);
			bad |= buf_addstr(&b, ",\"subject_hash\":");
			bad |= readlog_json_str(&b, subject_hash(k, &a[i], hash));
			bad |= buf_addstr(&b, ",\"purpose\":");
			bad |= readlog_json_str(&b, a[i].purpose);
			bad |= buf_addstr(&b, ",\"basis\":");
			bad |= readlog_json_str(&b, a[i].basis);
			bad |= buf_addstr(&b, ",\"fields\":");
			bad |= readlog_json_str(&b, a[i].fields);
			bad |= buf_addstr(&b, ",\"via\":");
			bad |= readlog_json_str(&b, a[i].via);
			bad |= buf_addch(&b, '}');
		}
		bad |= buf_addstr(&b, "]}");
	}
	if (bad) {
		log_error("reg_access_defer: %d rows are too large for one journal line", n);
		buf_release(&b);
		return -1;
	}
	rc = readlog_add_raw(e, n > 0 ? READLOG_KIND : NULL, n > 0 ? b.data : NULL);
	buf_release(&b);
	return rc;
}

static int hash_ok(const char *h)
{
	if (h == NULL)
		return 1;
	size_t i = 0;
	for (; h[i]; i++)
		if (!((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f')))
			return 0;
	return i == 64;
}

/* The journal's consumer: the rows of one read, in the flusher's transaction. */
static int apply_rows(struct store *st, const struct keys *k, const json_t *ext, int64_t at)
{
	(void)k;
	json_t *rows = json_object_get(ext, "rows"), *v;
	size_t i;
	if (!json_is_array(rows) || json_object_size(ext) != 1) {
		log_error("reg_access: a journal line without its rows");
		return -1;
	}
	json_array_foreach(rows, i, v) {
		json_int_t dept = 0, actor_id = -1;
		json_t *h = NULL;
		struct reg_access a = { 0 };
		json_error_t err;
		if (json_unpack_ex(v, &err, JSON_STRICT, "{s:I,s:I,s:s,s:s,s:o,s:s,s:s,s:s,s:s}", "dept_id", &dept,
				   "actor_id", &actor_id, "actor", &a.actor, "registry", &a.registry, "subject_hash",
				   &h, "purpose", &a.purpose, "basis", &a.basis, "fields", &a.fields, "via",
				   &a.via) != 0) {
			log_error("reg_access: a malformed journal row: %s", err.text);
			return -1;
		}
		const char *hash = json_is_string(h) ? json_string_value(h) : NULL;
		if ((!json_is_null(h) && hash == NULL) || !hash_ok(hash)) {
			log_error("reg_access: a journal row with a malformed subject_hash");
			return -1;
		}
		a.dept_id = dept;
		a.actor_id = actor_id;
		if (!access_ok(NULL, &a) || insert_row(st, at, &a, hash) != 0)
			return -1;
	}
	return 0;
}

int reg_access_readlog_register(void)
{
	return readlog_register(READLOG_KIND, apply_rows);
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
