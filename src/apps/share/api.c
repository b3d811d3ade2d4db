/*
 * api: the sharing API (共享接口) other departments' systems call.
 *
 *   GET  /api/v1/share/{registry}/{key}[?fields=a,b][&purpose=..][&dept=..]
 *   POST /api/v1/share/{registry}/batch  {"keys":[...<=100], "fields":[...]?, "purpose"?}
 *
 * The caller is a department API token (Authorization: Bearer yzt_..., the
 * route's RF_TOKEN) or a staff session; it acts for the token's department
 * or the staff member's acting department (share_acting_dept).  What it may
 * read is share_right_for's answer: the owner everything, a grant its
 * fields plus the unconditional ones, anyone the unconditional fields;
 * 不予共享 never leaves the owner.  A token's scopes must name the registry.
 *
 * Refusals: 401 (no caller; a bad token is refused before the handler),
 * 403 SHARE_TOKEN_SCOPE, 403 SHARE_NOT_SHARED, 403 SHARE_NO_GRANT with the
 * reason in the message (no grant, grant expired, grant revoked, field not
 * granted: "reason" says which), 400 on an unknown field or a malformed
 * key, 404 for an unknown registry or key.
 *
 * Every call, answered or refused, is audited ("share.read" or
 * "share.refuse": caller, department, registry, grant, fields, purpose, the
 * key masked), and every record read is logged for its data subject's
 * tracker (a reg_access row: basis grant:<id> / unconditional / owner, via
 * api or batch).  Both go as ONE line of the read journal
 * (reg_access_defer, core/readlog.h): the call is answered once the line is
 * spooled, and the journal's flusher writes the entry and the rows within
 * about 0.1 s (at once, in a transaction, when the journal is not running).
 * A point read costs: the caller (a session or token query, and for staff
 * the acting department), the registry handle (1 query, definition
 * cached), the right (1 query), the record (1 query; 2 for a masked view
 * whose data subject is not the key), then one write(2) to the spool.
 */
#include "apps/share/share_int.h"
#include "core/apitoken.h"
#include "core/audit.h"
#include "core/log.h"
#include "core/readlog.h"
#include "core/validate.h"
#include "core/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH_MAX 100

struct call {
	int64_t dept;
	int64_t actor_id;          /* users.id, 0 for a token */
	const char *actor;         /* login or "token:<id>" */
	const struct registry *reg;
	struct share_right right;
	const char **fields;       /* what this call reads (NULL-terminated) */
	const char *fields_csv;
	const char *purpose;
};

/* ------------------------------------------------------------ audit */

/*
 * Records a call: its audit entry (caller, department, registry, basis,
 * grant, fields, purpose, reason, the keys masked, how many were found) and
 * the access rows of the records read, as one line of the read journal
 * (reg_access_defer), or at once when the journal is not running.  Takes
 * keys.  0 or -1: on -1 the call must not be answered with data.
 */
static int record(struct req *r, const struct call *c, const char *action, const char *reason, json_t *keys,
		  int found, const struct reg_access *rows, int nrows)
{
	/* The detail, keys in sorted order (as json_dumps with JSON_SORT_KEYS wrote it before). */
	struct buf b = BUF_INIT(1 << 20);
	int bad = buf_addstr(&b, "{\"basis\":");
	bad |= readlog_json_str(&b, c->right.basis);
	bad |= buf_addstr(&b, ",\"caller\":");
	bad |= readlog_json_str(&b, c->actor);
	bad |= buf_addf(&b, ",\"dept\":%lld,\"fields\":", (long long)c->dept);
	bad |= readlog_json_str(&b, c->fields_csv);
	bad |= buf_addf(&b, ",\"found\":%d,\"grant\":", found);
	bad |= c->right.grant_id > 0 ? buf_addf(&b, "%lld", (long long)c->right.grant_id) : buf_addstr(&b, "null");
	bad |= buf_addstr(&b, ",\"keys\":[");
	for (size_t i = 0; i < json_array_size(keys); i++) {
		bad |= i > 0 ? buf_addch(&b, ',') : 0;
		bad |= readlog_json_str(&b, json_string_value(json_array_get(keys, i)));
	}
	bad |= buf_addstr(&b, "],\"purpose\":");
	bad |= readlog_json_str(&b, c->purpose);
	bad |= buf_addstr(&b, ",\"reason\":");
	bad |= readlog_json_str(&b, reason);
	bad |= buf_addstr(&b, ",\"registry\":");
	bad |= readlog_json_str(&b, c->reg ? c->reg->def.code : "");
	bad |= buf_addch(&b, '}');
	json_decref(keys);
	if (bad) {
		buf_release(&b);
		return -1;
	}
	const char *detail = b.data;
	char obj[64];
	snprintf(obj, sizeof obj, "registry:%s", c->reg ? c->reg->def.code : "?");
	struct audit_entry e = { c->actor_id, c->actor, action, obj, c->dept, r->ip, detail };
	int rc = reg_access_defer(r->st, http_ctx()->keys, &e, rows, nrows);
	buf_release(&b);
	return rc;
}

static const char *masked_key(struct req *r, const struct registry *reg, const char *key)
{
	char out[REG_VALUE_MAX + 1];
	reg_value_mask(&reg->def.fields[reg->def.key], key, out, sizeof out);
	return arena_strdup(r->arena, out);
}

/* A refusal: audited "share.refuse", answered as JSON with the reason. */
static void refuse(struct req *r, struct call *c, int status, enum msg_id code, const char *message,
		   const char *reason, const char *field, json_t *keys)
{
	if (c->reg != NULL && record(r, c, "share.refuse", reason, keys, 0, NULL, 0) != 0) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	if (c->reg == NULL)
		json_decref(keys);
	json_t *e = json_pack("{s:{s:s,s:s,s:s?,s:s?}}", "error", "code", msg_name(code), "message",
			      message ? message : msg(code), "field", field, "reason", reason);
	resp_json(r, status, e);
}

/* ------------------------------------------------------------ the caller and the right */

/* Who calls and for which department; answers 401/403 itself and returns -1. */
static int caller(struct req *r, struct call *c)
{
	memset(c, 0, sizeof *c);
	if (r->who.token_id > 0) {
		c->dept = r->who.token_dept;
		c->actor = r->who.login;
		return 0;
	}
	if (r->who.user_id == 0 || r->who.half) {
		resp_error(r, 401, MSG_SHARE_NEED_TOKEN, NULL);
		return -1;
	}
	c->dept = share_acting_dept(r);
	if (c->dept == 0) {
		resp_error(r, 403, MSG_SHARE_NO_DEPT, NULL);
		return -1;
	}
	c->actor_id = r->who.user_id;
	c->actor = r->who.login;
	return 0;
}

static const char *reason_name(enum msg_id why)
{
	switch (why) {
	case MSG_SHARE_GRANT_EXPIRED: return "grant_expired";
	case MSG_SHARE_GRANT_REVOKED: return "grant_revoked";
	case MSG_SHARE_NOT_SHARED: return "not_shared";
	default: return "no_grant";
	}
}

static int in_right(const struct share_right *s, const char *name)
{
	for (int i = 0; i < s->nfields; i++)
		if (strcmp(s->fields[i], name) == 0)
			return 1;
	return 0;
}

/*
 * The registry, the scope, the right and the fields of the call (wanted:
 * NULL for everything the right gives).  Answers and returns -1 on a
 * refusal or failure.
 */
static int prepare(struct req *r, struct call *c, const char *code, const char *const *wanted, int nwanted,
		   const char *purpose, json_t *keys_for_refusal)
{
	c->reg = registry_get(r->st, code);
	if (c->reg == NULL) {
		json_decref(keys_for_refusal);
		resp_error(r, 404, MSG_SHARE_NO_REGISTRY, "registry");
		return -1;
	}
	const struct reg_def *d = &c->reg->def;
	if (r->who.token_id > 0 && !apitoken_scope_allows(r->who.token_scopes, d->code)) {
		refuse(r, c, 403, MSG_SHARE_TOKEN_SCOPE, NULL, "token_scope", NULL, keys_for_refusal);
		return -1;
	}
	if (share_right_for(r->st, r->arena, c->dept, c->reg, &c->right) != 0) {
		json_decref(keys_for_refusal);
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return -1;
	}
	struct share_right *s = &c->right;
	if (!s->owner && d->share == RS_NONE) {
		refuse(r, c, 403, MSG_SHARE_NOT_SHARED,
		       arena_printf(r->arena, "%s（依据：%s）", msg(MSG_SHARE_NOT_SHARED), d->share_cond ? d->share_cond : "—"),
		       "not_shared", NULL, keys_for_refusal);
		return -1;
	}
	c->fields = arena_alloc(r->arena, sizeof(char *) * ((size_t)d->nfields + 1));
	int n = 0;
	if (wanted == NULL) {
		if (s->nfields == 0) {
			refuse(r, c, 403, MSG_SHARE_NO_GRANT, msg(s->why), reason_name(s->why), NULL, keys_for_refusal);
			return -1;
		}
		for (int i = 0; i < s->nfields; i++)
			c->fields[n++] = s->fields[i];
	} else {
		for (int k = 0; k < nwanted; k++) {
			int i = reg_field_index(d, wanted[k]);
			if (i < 0) {
				json_decref(keys_for_refusal);
				json_t *e = json_pack("{s:{s:s,s:s,s:s}}", "error", "code", msg_name(MSG_SHARE_FIELD_UNKNOWN),
						      "message", arena_printf(r->arena, "%s：%s", msg(MSG_SHARE_FIELD_UNKNOWN),
									      wanted[k]),
						      "field", "fields");
				resp_json(r, 400, e);
				return -1;
			}
			const struct reg_field *f = &d->fields[i];
			if (!in_right(s, f->name)) {
				const char *label = f->label ? f->label : f->name;
				enum msg_id why = f->share == RS_NONE ? MSG_SHARE_FIELD_NOT_SHARED
						  : s->grant_id > 0   ? MSG_SHARE_FIELD_NOT_GRANTED
						  : s->why != MSG_NONE ? s->why : MSG_SHARE_FIELD_NOT_GRANTED;
				const char *reason = f->share == RS_NONE ? "field_not_shared"
						     : s->grant_id > 0 || s->why == MSG_NONE ? "field_not_granted"
						     : reason_name(s->why);
				refuse(r, c, 403, MSG_SHARE_NO_GRANT,
				       arena_printf(r->arena, "%s：%s（%s）", msg(why), label, f->name), reason, f->name,
				       keys_for_refusal);
				return -1;
			}
			int dup = 0;
			for (int j = 0; j < n; j++)
				dup |= strcmp(c->fields[j], f->name) == 0;
			if (!dup)
				c->fields[n++] = f->name;
		}
	}
	c->fields[n] = NULL;
	struct buf b = BUF_INIT(4096);
	for (int i = 0; i < n; i++) {
		if (i)
			buf_addch(&b, ',');
		buf_addstr(&b, c->fields[i]);
	}
	c->fields_csv = arena_strdup(r->arena, b.data ? b.data : "");
	buf_release(&b);
	c->purpose = purpose && *purpose ? purpose
		     : s->purpose      ? s->purpose
		     : s->owner        ? "本部门业务使用"
				       : "无条件共享数据使用";
	return 0;
}

/* ------------------------------------------------------------ reading */

/*
 * Reads one record by canonical key limited to the call's fields; *subject
 * gets the clear identifier of its data subject (arena), or NULL.  Returns
 * the record (without _meta) or NULL when there is none.
 */
static json_t *read_one(struct req *r, const struct call *c, const char *key, const char **subject)
{
	const struct reg_def *d = &c->reg->def;
	*subject = NULL;
	const char *sname = d->subject >= 0 ? d->fields[d->subject].name : NULL;
	int add_subject = 0;
	const char **view_fields = c->fields;
	if (sname != NULL && d->subject != d->key && c->right.unmasked) {
		int have = 0;
		for (int i = 0; c->fields[i]; i++)
			have |= strcmp(c->fields[i], sname) == 0;
		if (!have) {
			/* Read it too (whole, as the view is unmasked), then leave it out of the answer. */
			int n = 0;
			while (c->fields[n])
				n++;
			view_fields = arena_alloc(r->arena, sizeof(char *) * ((size_t)n + 2));
			memcpy(view_fields, c->fields, sizeof(char *) * (size_t)n);
			view_fields[n] = sname;
			view_fields[n + 1] = NULL;
			add_subject = 1;
		}
	}
	struct reg_view v = { (const char *const *)view_fields, c->right.unmasked };
	json_t *rec = registry_get_record(r->st, c->reg, key, &v);
	if (rec == NULL)
		return NULL;
	json_object_del(rec, "_meta");
	if (sname != NULL && d->subject == d->key) {
		*subject = arena_strdup(r->arena, key);
	} else if (sname != NULL && c->right.unmasked) {
		json_t *sv = json_object_get(rec, sname);
		*subject = json_is_string(sv) ? arena_strdup(r->arena, json_string_value(sv)) : NULL;
		if (add_subject)
			json_object_del(rec, sname);
	} else if (sname != NULL) {
		/* A masked view: the clear subject comes from a read of that one field. */
		const char *only[] = { sname, NULL };
		struct reg_view sv = { only, 1 };
		json_t *srec = registry_get_record(r->st, c->reg, key, &sv);
		json_t *s = srec ? json_object_get(srec, sname) : NULL;
		*subject = json_is_string(s) ? arena_strdup(r->arena, json_string_value(s)) : NULL;
		json_decref(srec);
	}
	return rec;
}

/* The tracker row of one record read by the call. */
static struct reg_access access_row(const struct call *c, const char *subject, const char *via)
{
	struct reg_access a = { c->dept, c->actor_id, c->actor, c->reg->def.code, subject, c->purpose,
				c->right.basis, c->fields_csv, via };
	return a;
}

/* Splits "a,b" into an arena array; *n gets the count. */
static const char **split_list(struct req *r, const char *s, int *n)
{
	size_t cap = 1;
	for (const char *p = s; *p; p++)
		cap += *p == ',';
	const char **out = arena_alloc(r->arena, sizeof(char *) * (cap + 1));
	*n = 0;
	const char *p = s;
	while (p != NULL && *p) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		while (len > 0 && *p == ' ') {
			p++;
			len--;
		}
		while (len > 0 && p[len - 1] == ' ')
			len--;
		if (len > 0)
			out[(*n)++] = arena_strndup(r->arena, p, len);
		p = e ? e + 1 : NULL;
	}
	out[*n] = NULL;
	return out;
}

/* GET /api/v1/share/{registry}/{key} */
static void api_get(struct req *r)
{
	struct call c;
	if (caller(r, &c) != 0)
		return;
	const char *fq = req_in_str(r, "fields");
	int nw = 0;
	const char **wanted = fq && *fq ? split_list(r, fq, &nw) : NULL;
	if (wanted != NULL && nw == 0)
		wanted = NULL;
	if (prepare(r, &c, req_param(r, "registry"), wanted, nw, req_in_str(r, "purpose"), NULL) != 0)
		return;
	const struct reg_def *d = &c.reg->def;
	const char *raw = req_param(r, "key");
	char canon[REG_VALUE_MAX + 1];
	int is_null = 0;
	enum msg_id kw = reg_value_check(&d->fields[d->key], raw, canon, sizeof canon, &is_null);
	if (kw != MSG_NONE || is_null) {
		refuse(r, &c, 400, MSG_SHARE_BAD_KEY,
		       arena_printf(r->arena, "%s：%s", msg(MSG_SHARE_BAD_KEY), msg(kw != MSG_NONE ? kw : MSG_FIELD_REQUIRED)),
		       "bad_key", "key", NULL);
		return;
	}
	const char *subject = NULL;
	json_t *rec = read_one(r, &c, canon, &subject);
	json_t *keys = json_pack("[s]", masked_key(r, c.reg, canon));
	struct reg_access row = access_row(&c, subject, "api");
	if (record(r, &c, "share.read", rec ? NULL : "not_found", keys, rec != NULL, &row, rec != NULL) != 0) {
		json_decref(rec);
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	if (rec == NULL) {
		resp_error(r, 404, MSG_SHARE_NO_RECORD, "key");
		return;
	}
	json_t *out = json_pack("{s:s,s:s,s:s,s:s,s:o,s:b}", "registry", d->code, "key", canon, "basis", c.right.basis,
				"purpose", c.purpose, "record", rec, "masked", !c.right.unmasked);
	json_object_set_new(out, "grant_id", c.right.grant_id > 0 ? json_integer(c.right.grant_id) : json_null());
	resp_json(r, 200, out);
}

/* POST /api/v1/share/{registry}/batch {"keys":[...], "fields":[...]?, "purpose"?, "dept"?} */
static void api_batch(struct req *r)
{
	struct call c;
	if (caller(r, &c) != 0)
		return;
	json_t *keys = json_object_get(r->in, "keys"), *fields = json_object_get(r->in, "fields");
	json_t *purpose = json_object_get(r->in, "purpose"), *dept = json_object_get(r->in, "dept");
	const char *k;
	json_t *v;
	json_object_foreach(r->in, k, v) {
		if (strcmp(k, "keys") != 0 && strcmp(k, "fields") != 0 && strcmp(k, "purpose") != 0 &&
		    strcmp(k, "dept") != 0) {
			resp_error(r, 400, MSG_FIELD_UNKNOWN, k);
			return;
		}
	}
	if (!json_is_array(keys) || json_array_size(keys) == 0) {
		resp_error(r, 400, json_is_array(keys) ? MSG_SHARE_BATCH_EMPTY : MSG_FIELD_REQUIRED, "keys");
		return;
	}
	if (json_array_size(keys) > BATCH_MAX) {
		resp_error(r, 400, MSG_SHARE_BATCH_TOO_MANY, "keys");
		return;
	}
	if ((fields != NULL && !json_is_array(fields) && !json_is_null(fields)) ||
	    (purpose != NULL && (!json_is_string(purpose) || json_string_length(purpose) > 600)) ||
	    (dept != NULL && !json_is_integer(dept))) {
		resp_error(r, 400, MSG_FIELD_BAD_FORMAT,
			   fields != NULL && !json_is_array(fields) && !json_is_null(fields) ? "fields"
			   : purpose != NULL && (!json_is_string(purpose) || json_string_length(purpose) > 600) ? "purpose"
			   : "dept");
		return;
	}
	if (json_is_string(purpose) &&
	    validate_text(json_string_value(purpose), json_string_length(purpose), 1, 200, 0) != MSG_NONE) {
		resp_error(r, 400, MSG_FIELD_TOO_LONG, "purpose");
		return;
	}
	int nw = 0;
	const char **wanted = NULL;
	if (json_is_array(fields) && json_array_size(fields) > 0) {
		if (json_array_size(fields) > REG_MAX_FIELDS) {
			resp_error(r, 400, MSG_FIELD_TOO_LONG, "fields");
			return;
		}
		wanted = arena_alloc(r->arena, sizeof(char *) * (json_array_size(fields) + 1));
		size_t i;
		json_array_foreach(fields, i, v) {
			if (!json_is_string(v)) {
				resp_error(r, 400, MSG_FIELD_NOT_STRING, "fields");
				return;
			}
			wanted[nw++] = json_string_value(v);
		}
	}
	size_t i;
	json_array_foreach(keys, i, v) {
		if (!json_is_string(v) || json_string_length(v) > REG_VALUE_MAX) {
			resp_error(r, 400, MSG_FIELD_NOT_STRING, arena_printf(r->arena, "keys[%zu]", i));
			return;
		}
	}
	if (prepare(r, &c, req_param(r, "registry"), wanted, nw, json_is_string(purpose) ? json_string_value(purpose) : NULL,
		    NULL) != 0)
		return;
	const struct reg_def *d = &c.reg->def;
	json_t *items = json_object(), *masked = json_array();
	struct reg_access *rows = arena_alloc(r->arena, sizeof *rows * json_array_size(keys));
	int found = 0;
	json_array_foreach(keys, i, v) {
		char canon[REG_VALUE_MAX + 1];
		int is_null = 0;
		enum msg_id kw = reg_value_check(&d->fields[d->key], json_string_value(v), canon, sizeof canon, &is_null);
		if (kw != MSG_NONE || is_null) {
			json_decref(items);
			json_decref(masked);
			resp_json(r, 400, json_pack("{s:{s:s,s:s,s:s}}", "error", "code", msg_name(MSG_SHARE_BAD_KEY),
						    "message", arena_printf(r->arena, "%s：%s", msg(MSG_SHARE_BAD_KEY),
									    msg(kw != MSG_NONE ? kw : MSG_FIELD_REQUIRED)),
						    "field", arena_printf(r->arena, "keys[%zu]", i)));
			return;
		}
		json_array_append_new(masked, json_string(masked_key(r, c.reg, canon)));
		const char *subject = NULL;
		json_t *rec = read_one(r, &c, canon, &subject);
		if (rec != NULL)
			rows[found++] = access_row(&c, subject, "batch");
		/* Keyed by the key as sent. */
		json_object_set_new(items, json_string_value(v), rec ? rec : json_null());
	}
	/* One journal line for the whole batch: its audit entry and a row per record read. */
	if (record(r, &c, "share.read", NULL, masked, found, rows, found) != 0) {
		json_decref(items);
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	json_t *out = json_pack("{s:s,s:s,s:s,s:o,s:b,s:i}", "registry", d->code, "basis", c.right.basis, "purpose",
				c.purpose, "items", items, "masked", !c.right.unmasked, "found", found);
	json_object_set_new(out, "grant_id", c.right.grant_id > 0 ? json_integer(c.right.grant_id) : json_null());
	resp_json(r, 200, out);
}

static const struct field_spec fs_get[] = {
	{ "fields", FT_TEXT, 0, 0, 2000, NULL, "字段" },
	{ "purpose", FT_TEXT, 0, 1, 200, NULL, "用途" },
	{ "dept", FT_INT, 0, 1, INT64_MAX, NULL, "部门" },
	{ NULL },
};

/*
 * "/api/v1/share/{registry}/{key}" matches every two-segment path under
 * /api/v1/share/, and the router takes the first match in registration
 * order: these routes must come after every other table (compare/runs,
 * tasks/{id}, verify/templates ...).  routes.c registers the route tables
 * before the hooks, so share_grant_register (a hook) adds this table and
 * share_api_routes, which routes.c registers among the tables, is empty.
 */
const struct route share_api_routes[] = {
	{ 0, NULL, NULL, 0, 0, NULL, NULL, NULL, NULL },
};

const struct route share_api_read_routes[] = {
	{ HM_POST, "/api/v1/share/{registry}/batch", api_batch, ROLE_PUBLIC, RF_API | RF_TOKEN | RF_CSRF | RF_DYNAMIC,
	  NULL, NULL, NULL,
	  "Batch read (token or staff session): {keys:[<=100], fields?:[...], purpose?} -> {items:{key: record|null}}" },
	{ HM_GET, "/api/v1/share/{registry}/{key}", api_get, ROLE_PUBLIC, RF_API | RF_TOKEN, fs_get, NULL, NULL,
	  "Read one record's granted fields (department API token or staff session); ?fields=a,b&purpose=" },
	{ 0, NULL, NULL, 0, 0, NULL, NULL, NULL, NULL },
};
