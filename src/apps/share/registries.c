/*
 * registries: the pages and API of registries (登记簿) and their records,
 * and the CLI command `yizhan registry`.
 *
 *   /share/registries                       list: name, owner, class, open flag, records, version
 *   /share/registries/new                   platform admins: create from definition text
 *   /share/registries/{code}                the definition: fields, sources (一数一源), classes,
 *                                           applied migrations, links
 *   /share/registries/{code}/definition     edit the definition text (registry_apply)
 *   /share/registries/{code}/records        browse with filters and cursor pages
 *   /share/registries/{code}/records/{key}  one record and its history
 *   /share/registries/{code}/exists         yes/no check (有/无), logged
 *   /api/v1/registries...                   the same as JSON
 *
 * What a viewer sees of records is share_right_for(share_acting_dept(r)):
 * the owner everything unmasked; another department only the fields its
 * right allows, personal fields masked unless a grant says otherwise;
 * nothing without a right (the reason and a link to request access).  A
 * viewer may filter or look up by a field only when it sees that field
 * whole: filtering by a field seen masked would reveal what the mask hides.
 * Every page of personal or conditional data read by a non-owner is
 * logged per data subject (reg_access_log, for the citizen's tracker) and
 * audited, before it is shown.
 *
 * Definition errors: a text that does not parse is 400 with the line
 * ("第 N 行：..."; the API adds "line"); a definition naming a department
 * or derived field that does not exist is 422; a change that would lose
 * data (or a stale "version") is 409; the message names the reason.
 */
#include "apps/share/share.h"
#include "apps/share/share_int.h"
#include "core/account.h"
#include "core/audit.h"
#include "core/dept.h"
#include "core/log.h"
#include "core/xalloc.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define REC_PAGE 50
#define DEF_MAX (256 * 1024)

/* ------------------------------------------------------------ helpers */

static const char *jstr0(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_string(v) ? json_string_value(v) : "";
}

static int is_platform(struct req *r)
{
	return r->who.user_id != 0 && !r->who.half && (r->who.roles & ROLEBIT_PLATFORM_ADMIN);
}

/* Does r's user hold a role of its own (staff or dept_admin) in dept? */
static int member_of(struct req *r, int64_t dept)
{
	if (r->who.user_id == 0 || r->who.half || dept <= 0)
		return 0;
	json_t *roles = account_roles(r->st, r->who.user_id);
	size_t i;
	json_t *x;
	int yes = 0;
	json_array_foreach(roles, i, x) {
		json_t *d = json_object_get(x, "dept_id");
		const char *role = jstr0(x, "role");
		if (json_is_integer(d) && json_integer_value(d) == dept &&
		    (strcmp(role, "staff") == 0 || strcmp(role, "dept_admin") == 0))
			yes = 1;
	}
	json_decref(roles);
	return yes;
}

/* May r's user change the definition of a registry owned by owner (0: a new registry)? */
static int can_define(struct req *r, int64_t owner)
{
	if (is_platform(r))
		return 1;
	if (owner <= 0 || !(r->who.roles & ROLEBIT_DEPT_ADMIN))
		return 0;
	return account_has_role(r->st, r->who.user_id, owner, "dept_admin") == 1;
}

static const char *when_text(struct req *r, int64_t t)
{
	if (t <= 0)
		return "";
	time_t tt = (time_t)t;
	struct tm tm;
	char s[32];
	if (localtime_r(&tt, &tm) == NULL || strftime(s, sizeof s, "%Y-%m-%d %H:%M", &tm) == 0)
		return "";
	return arena_strdup(r->arena, s);
}

static void input_err(struct req *r, int status, enum msg_id why, const char *field, const char *detail)
{
	struct input_error e = { status, why, "", "" };
	snprintf(e.field, sizeof e.field, "%s", field ? field : "");
	snprintf(e.detail, sizeof e.detail, "%s", detail ? detail : "");
	resp_input_error(r, &e);
}

/* The registry of the {code} path parameter, or NULL after answering 404. */
static const struct registry *path_registry(struct req *r)
{
	const char *code = req_param(r, "code");
	const struct registry *reg = code ? registry_get(r->st, code) : NULL;
	if (reg == NULL)
		resp_error(r, 404, MSG_REGUI_NOT_FOUND, NULL);
	return reg;
}

static const char *dept_name(struct req *r, int64_t id, const char **code)
{
	json_t *d = id > 0 ? dept_json(r->st, id) : NULL;
	const char *name = arena_strdup(r->arena, d ? jstr0(d, "name") : "");
	if (code != NULL)
		*code = arena_strdup(r->arena, d ? jstr0(d, "code") : "");
	json_decref(d);
	return name;
}

/* Masked like the engine masks: personal fields, 身份证号 and phone numbers. */
static int field_masked(const struct reg_field *f)
{
	return f->personal || f->type == RT_IDCARD || f->type == RT_PHONE;
}

/* ------------------------------------------------------------ the definition as JSON */

static json_t *def_json(struct req *r, const struct registry *reg)
{
	const struct reg_def *d = &reg->def;
	const char *owner_code = "";
	const char *owner_name = dept_name(r, reg->owner_dept_id, &owner_code);
	json_t *fields = json_array();
	for (int i = 0; i < d->nfields; i++) {
		const struct reg_field *f = &d->fields[i];
		json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:b,s:b,s:b,s:b,s:b,s:s,s:s,s:s?}", "name", f->name, "label",
				      f->label ? f->label : f->name, "type", reg_type_name(f->type), "type_label",
				      reg_type_label(f->type), "required", f->required, "indexed", f->indexed, "personal",
				      f->personal, "key", i == d->key, "subject", i == d->subject, "share",
				      reg_share_name(f->share), "share_label", reg_share_label(f->share), "share_cond",
				      f->share_cond);
		if (f->type == RT_TEXT || f->type == RT_ADDRESS)
			json_object_set_new(o, "max_chars", json_integer(f->max_chars));
		if (f->type == RT_DECIMAL)
			json_object_set_new(o, "scale", json_integer(f->scale));
		if (f->type == RT_ENUM) {
			json_t *ev = json_array();
			struct buf b = BUF_INIT(8192);
			for (int k = 0; k < f->nenum; k++) {
				json_array_append_new(ev, json_string(f->enum_values[k]));
				buf_addf(&b, "%s%s", k ? "、" : "", f->enum_values[k]);
			}
			json_object_set_new(o, "enum", ev);
			json_object_set_new(o, "enum_text", json_string(b.data ? b.data : ""));
			buf_release(&b);
		}
		if (f->derived_from[0]) {
			json_object_set_new(o, "derived_from", json_string(f->derived_from));
			const char *dot = strchr(f->derived_from, '.');
			if (dot != NULL)
				json_object_set_new(o, "derived_href",
						    json_string(arena_printf(r->arena, "/share/registries/%.*s",
									     (int)(dot - f->derived_from),
									     f->derived_from)));
			json_object_set_new(o, "source_dept", json_null());
		} else {
			int64_t sid = reg->source_dept_id ? reg->source_dept_id[i] : 0;
			const char *scode = "";
			const char *sname = dept_name(r, sid, &scode);
			json_object_set_new(o, "source_dept",
					    json_pack("{s:s,s:s}", "code", f->source_dept[0] ? f->source_dept : scode,
						      "name", sname));
		}
		json_array_append_new(fields, o);
	}
	int64_t count = registry_count(r->st, reg);
	const char *cat = share_catalogue_code_of(r->st, r->arena, d->code);
	return json_pack("{s:s,s:s,s:{s:I,s:s,s:s},s:s,s:s?,s:s,s:s,s:s?,s:b,s:s?,s:s?,s:I,s:I,s:s?,s:o}", "code",
			 d->code, "name", d->name ? d->name : d->code, "owner", "id", (json_int_t)reg->owner_dept_id,
			 "code", owner_code, "name", owner_name, "key", d->fields[d->key].name, "subject",
			 d->subject >= 0 ? d->fields[d->subject].name : NULL, "share", reg_share_name(d->share),
			 "share_label", reg_share_label(d->share), "share_cond", d->share_cond, "open", d->open,
			 "abstract", d->abstract, "update_cycle", d->update_cycle, "version", (json_int_t)reg->version,
			 "records", (json_int_t)count, "catalogue", cat, "fields", fields);
}

/* ------------------------------------------------------------ list and definition pages */

/* GET /share/registries  ctx: registries [{code,name,owner_dept_name,share_label,open,records,version,
 * catalogue}], can_create */
static void page_list(struct req *r)
{
	json_t *list = registry_list(r->st);
	if (list == NULL) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	size_t i;
	json_t *x;
	json_array_foreach(list, i, x) {
		const char *cat = share_catalogue_code_of(r->st, r->arena, jstr0(x, "code"));
		if (cat != NULL)
			json_object_set_new(x, "catalogue", json_string(cat));
	}
	json_t *ctx = json_pack("{s:s,s:o,s:b}", "title", "登记簿", "registries", list, "can_create", is_platform(r));
	resp_page(r, 200, "share/registries", ctx);
}

/* GET /api/v1/registries */
static void api_list(struct req *r)
{
	json_t *list = registry_list(r->st);
	if (list == NULL) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	resp_json(r, 200, json_pack("{s:o,s:n}", "items", list, "next"));
}

/* GET /share/registries/{code}  ctx: reg (def_json), migrations [{version,sql,applied_at_text}],
 * can_define, records_href, ... */
static void page_registry(struct req *r)
{
	const struct registry *reg = path_registry(r);
	if (reg == NULL)
		return;
	json_t *def = def_json(r, reg);
	json_t *migs = registry_migrations(r->st, reg);
	if (migs == NULL)
		migs = json_array();
	size_t i;
	json_t *m;
	json_array_foreach(migs, i, m) {
		json_t *at = json_object_get(m, "applied_at");
		json_object_set_new(m, "applied_at_text",
				    json_string(when_text(r, json_is_integer(at) ? json_integer_value(at) : 0)));
	}
	json_t *ctx = json_pack("{s:O,s:o,s:o,s:b,s:b}", "title", json_object_get(def, "name"), "reg", def,
				"migrations", migs, "can_define", can_define(r, reg->owner_dept_id), "saved",
				req_in_str(r, "saved") != NULL);
	resp_page(r, 200, "share/registry", ctx);
}

/* GET /api/v1/registries/{code} */
static void api_registry(struct req *r)
{
	const struct registry *reg = path_registry(r);
	if (reg == NULL)
		return;
	resp_json(r, 200, def_json(r, reg));
}

/* ------------------------------------------------------------ applying definitions */

enum apply_rc { APPLY_OK, APPLY_PARSE, APPLY_MISMATCH, APPLY_FORBIDDEN, APPLY_CONFLICT, APPLY_INVALID,
		APPLY_LOSS, APPLY_EXISTS, APPLY_STORE };

struct apply_result {
	enum apply_rc rc;
	enum msg_id why;
	int line;                    /* parse errors: the line, else 0 */
	char message[512];           /* Chinese, for people */
	char code[REG_CODE_MAX];     /* the registry applied */
	char field[REG_CODE_MAX];    /* the definition's field concerned, if any */
};

static int line_of(const char *err)
{
	const char *p = err ? strstr(err, "第") : NULL;
	if (p == NULL)
		return 0;
	p += strlen("第");
	while (*p == ' ')
		p++;
	long n = strtol(p, NULL, 10);
	return n > 0 && n < 1000000 ? (int)n : 0;
}

static int http_status(enum apply_rc rc)
{
	switch (rc) {
	case APPLY_OK: return 200;
	case APPLY_PARSE: case APPLY_MISMATCH: return 400;
	case APPLY_FORBIDDEN: return 403;
	case APPLY_CONFLICT: case APPLY_LOSS: case APPLY_EXISTS: return 409;
	case APPLY_INVALID: return 422;
	case APPLY_STORE: return 500;
	}
	return 500;
}

/* Is why a refusal because the change would lose data? */
static int loses_data(enum msg_id why)
{
	return why == MSG_REGDEF_DROP_HAS_VALUES || why == MSG_REGDEF_RETYPE_HAS_VALUES ||
	       why == MSG_REGDEF_SCALE_HAS_VALUES || why == MSG_REGDEF_ENUM_IN_USE ||
	       why == MSG_REGDEF_TEXT_TOO_SHORT || why == MSG_REGDEF_KEY_HAS_RECORDS ||
	       why == MSG_REGDEF_REQUIRED_NULLS;
}

/*
 * Applies definition text in the caller's transaction: parses it (line
 * errors), checks that it names want_code (when not NULL), that creating
 * is allowed (create: only a new code) and who may, the version the editor
 * saw (want_version 0: any), then registry_apply and the catalogue refresh.
 */
static void apply_text(struct store *st, struct req *r, const char *text, const char *want_code, int create,
		       int64_t want_version, const struct reg_actor *who, struct apply_result *out)
{
	struct reg_def *d = NULL;
	char *err = NULL;
	memset(out, 0, sizeof *out);
	size_t len = strlen(text);
	if (regdef_parse(text, len, &d, &err) != 0) {
		out->rc = APPLY_PARSE;
		out->why = MSG_REGDEF_PARSE;
		out->line = line_of(err);
		snprintf(out->message, sizeof out->message, "%s", err ? err : msg(MSG_REGDEF_PARSE));
		free(err);
		return;
	}
	snprintf(out->code, sizeof out->code, "%s", d->code);
	if (want_code != NULL && strcmp(d->code, want_code) != 0) {
		out->rc = APPLY_MISMATCH;
		out->why = MSG_REGUI_CODE_MISMATCH;
		snprintf(out->message, sizeof out->message, "%s", msg(out->why));
		regdef_free(d);
		return;
	}
	const struct registry *cur = registry_get(st, d->code);
	if (create && cur != NULL) {
		out->rc = APPLY_EXISTS;
		out->why = MSG_REGUI_EXISTS_ALREADY;
		snprintf(out->message, sizeof out->message, "%s", msg(out->why));
		regdef_free(d);
		return;
	}
	if (r != NULL) {
		/* pages and API: platform admins; the owner's dept admin for an existing registry,
		 * and the new owner's too when the owner changes */
		int ok = is_platform(r);
		if (!ok && cur != NULL && can_define(r, cur->owner_dept_id)) {
			int64_t nid = 0;
			ok = strcmp(d->owner_dept, "") != 0 && dept_find_code(st, d->owner_dept, &nid) == 0 &&
			     can_define(r, nid);
		}
		if (!ok) {
			out->rc = APPLY_FORBIDDEN;
			out->why = MSG_REGUI_NOT_DEF_ADMIN;
			snprintf(out->message, sizeof out->message, "%s", msg(out->why));
			regdef_free(d);
			return;
		}
	}
	regdef_free(d);
	if (cur != NULL && want_version != 0 && want_version != cur->version) {
		out->rc = APPLY_CONFLICT;
		out->why = MSG_REGUI_VERSION_CONFLICT;
		snprintf(out->message, sizeof out->message, "%s", msg(out->why));
		return;
	}
	struct reg_error e = { 0 };
	if (registry_apply(st, text, len, who, &e) != 0) {
		out->why = e.why;
		snprintf(out->field, sizeof out->field, "%s", e.field);
		if (e.why == MSG_REGDEF_STORE || e.why == MSG_HTTP_500 || e.why == MSG_NONE)
			out->rc = APPLY_STORE;
		else if (loses_data(e.why))
			out->rc = APPLY_LOSS;
		else if (e.why == MSG_REGDEF_NO_DEPT || e.why == MSG_REGDEF_DERIVED_MISSING ||
			 e.why == MSG_REGDEF_DERIVED_TYPE)
			out->rc = APPLY_INVALID;
		else
			out->rc = APPLY_PARSE;
		out->line = line_of(e.detail);
		if (e.detail[0] && strstr(e.detail, msg(e.why)) == NULL)
			snprintf(out->message, sizeof out->message, "%s%s%s：%s", e.field[0] ? e.field : "",
				 e.field[0] ? "：" : "", msg(e.why), e.detail);
		else
			snprintf(out->message, sizeof out->message, "%s%s%s", e.field[0] ? e.field : "",
				 e.field[0] ? "：" : "", e.detail[0] ? e.detail : msg(e.why));
		return;
	}
	if (share_catalogue_refresh(st) != 0) {
		out->rc = APPLY_STORE;
		out->why = MSG_HTTP_500;
		snprintf(out->message, sizeof out->message, "%s", msg(MSG_HTTP_500));
		return;
	}
	out->rc = APPLY_OK;
}

/* Renders the definition form (share/registry_definition) with res's error. ctx: reg (when editing),
 * creating, definition, version, error {message, line}, action */
static void definition_form(struct req *r, int status, const struct registry *reg, const char *text,
			    int64_t version, const struct apply_result *res)
{
	if (store_in_tx(r->st))
		store_rollback(r->st);   /* the failed apply must not commit; and read cleanly after it */
	json_t *ctx = json_pack("{s:s,s:s,s:I,s:b}", "title", reg ? "修改登记簿定义" : "新建登记簿", "definition",
				text ? text : "", "version", (json_int_t)version, "creating", reg == NULL);
	if (reg != NULL) {
		json_object_set_new(ctx, "reg", json_pack("{s:s,s:s}", "code", reg->def.code, "name",
							  reg->def.name ? reg->def.name : reg->def.code));
		json_object_set_new(ctx, "action",
				    json_string(arena_printf(r->arena, "/share/registries/%s/definition", reg->def.code)));
	} else {
		json_object_set_new(ctx, "action", json_string("/share/registries/new"));
	}
	if (res != NULL && res->rc != APPLY_OK) {
		json_t *err = json_pack("{s:s}", "message", res->message);
		if (res->line > 0)
			json_object_set_new(err, "line", json_integer(res->line));
		json_object_set_new(ctx, "error", err);
	}
	resp_page(r, status, "share/registry_definition", ctx);
}

/* GET /share/registries/{code}/definition */
static void page_definition(struct req *r)
{
	const struct registry *reg = path_registry(r);
	if (reg == NULL)
		return;
	if (!can_define(r, reg->owner_dept_id)) {
		resp_error(r, 403, MSG_REGUI_NOT_DEF_ADMIN, NULL);
		return;
	}
	char *text = registry_def_text(r->st, reg->def.code);
	definition_form(r, 200, reg, text, reg->version, NULL);
	free(text);
}

static struct reg_actor actor_of(struct req *r, const char *kind)
{
	struct reg_actor a = { r->who.user_id, r->who.login ? r->who.login : "system",
			       arena_printf(r->arena, "%s:%s", kind, r->id) };
	return a;
}

/* POST /share/registries/{code}/definition */
static void do_definition(struct req *r)
{
	const struct registry *reg = path_registry(r);
	if (reg == NULL)
		return;
	const char *text = req_in_str(r, "definition");
	int64_t version = req_in_int(r, "version", 0);
	struct reg_actor who = actor_of(r, "form");
	struct apply_result res;
	apply_text(r->st, r, text ? text : "", reg->def.code, 0, version, &who, &res);
	if (res.rc != APPLY_OK) {
		if (res.rc == APPLY_FORBIDDEN) {
			resp_error(r, 403, res.why, NULL);
			return;
		}
		definition_form(r, http_status(res.rc), reg, text, version, &res);
		return;
	}
	resp_redirect(r, arena_printf(r->arena, "/share/registries/%s?saved=1", res.code));
}

/* GET /share/registries/new */
static void page_new(struct req *r)
{
	definition_form(r, 200, NULL,
			"registry example\nname 示例登记簿\nowner egov\nkey code\nshare conditional \"履职需要，经审核同意\"\n"
			"open no\ncycle 每月\n\nfield code 编码 text(20) required source=egov\n",
			0, NULL);
}

/* POST /share/registries/new */
static void do_new(struct req *r)
{
	const char *text = req_in_str(r, "definition");
	struct reg_actor who = actor_of(r, "form");
	struct apply_result res;
	apply_text(r->st, r, text ? text : "", NULL, 1, 0, &who, &res);
	if (res.rc != APPLY_OK) {
		if (res.rc == APPLY_FORBIDDEN) {
			resp_error(r, 403, res.why, NULL);
			return;
		}
		definition_form(r, http_status(res.rc), NULL, text, 0, &res);
		return;
	}
	resp_redirect(r, arena_printf(r->arena, "/share/registries/%s?saved=1", res.code));
}

/* PUT /api/v1/registries/{code}  {"definition": "...", "version": n?}: creates (platform admins) or alters */
static void api_put_registry(struct req *r)
{
	const char *code = req_param(r, "code");
	const char *text = req_in_str(r, "definition");
	const struct registry *cur = registry_get(r->st, code);
	struct reg_actor who = actor_of(r, "api");
	struct apply_result res;
	apply_text(r->st, r, text ? text : "", code, 0, req_in_int(r, "version", 0), &who, &res);
	if (res.rc != APPLY_OK) {
		int status = http_status(res.rc);
		if (status == 500) {
			resp_error(r, 500, MSG_HTTP_500, NULL);
			return;
		}
		json_t *err = json_pack("{s:s,s:s,s:s}", "code", msg_name(res.why), "message", res.message, "field",
					"definition");
		if (res.line > 0)
			json_object_set_new(err, "line", json_integer(res.line));
		if (res.field[0])
			json_object_set_new(err, "def_field", json_string(res.field));
		resp_json(r, status, json_pack("{s:o}", "error", err));
		return;
	}
	const struct registry *reg = registry_get(r->st, res.code);
	if (reg == NULL) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	r->location = arena_printf(r->arena, "/api/v1/registries/%s", res.code);
	resp_json(r, cur == NULL ? 201 : 200, def_json(r, reg));
}

/* ------------------------------------------------------------ rights and views */

struct viewer {
	int64_t dept;
	struct share_right right;
	const char **visible;        /* = right.fields; NULL-terminated */
	const char **internal;       /* visible + key + subject: read whole, masked here */
	int personal;                /* some visible field is masked for this viewer or personal */
};

static int in_fields(const char *const *list, const char *name)
{
	for (int i = 0; list != NULL && list[i] != NULL; i++)
		if (strcmp(list[i], name) == 0)
			return 1;
	return 0;
}

/* The viewer's right; -1 after answering (not staff, store failure). */
static int viewer_of(struct req *r, const struct registry *reg, struct viewer *v)
{
	memset(v, 0, sizeof *v);
	v->dept = share_acting_dept(r);
	if (v->dept <= 0) {
		resp_error(r, 403, MSG_REGUI_NOT_STAFF, NULL);
		return -1;
	}
	if (share_right_for(r->st, r->arena, v->dept, reg, &v->right) != 0) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return -1;
	}
	const struct reg_def *d = &reg->def;
	v->visible = v->right.fields;
	v->internal = arena_alloc(r->arena, sizeof(char *) * ((size_t)v->right.nfields + 3));
	int n = 0;
	for (int i = 0; i < v->right.nfields; i++) {
		v->internal[n++] = v->right.fields[i];
		int fi = reg_field_index(d, v->right.fields[i]);
		if (fi >= 0 && (d->fields[fi].personal || field_masked(&d->fields[fi])))
			v->personal = 1;
	}
	if (!in_fields(v->internal, d->fields[d->key].name))
		v->internal[n++] = d->fields[d->key].name;
	if (d->subject >= 0 && !in_fields(v->internal, d->fields[d->subject].name))
		v->internal[n++] = d->fields[d->subject].name;
	v->internal[n] = NULL;
	return 0;
}

/* May the viewer filter or look up by field f (sees it, and whole)? */
static int may_use_field(const struct viewer *v, const struct reg_field *f)
{
	if (v->right.owner)
		return 1;
	if (!in_fields(v->visible, f->name))
		return 0;
	return v->right.unmasked || !field_masked(f);
}

/* Must reads by this viewer be logged (personal or conditional data, not the owner)? */
static int must_log(const struct viewer *v)
{
	return !v->right.owner && v->right.nfields > 0 && (v->personal || v->right.grant_id > 0);
}

/* Limits a record read through the internal view to what the viewer may see. */
static void limit_record(const struct registry *reg, const struct viewer *v, json_t *rec)
{
	const struct reg_def *d = &reg->def;
	void *it = json_object_iter(rec);
	while (it != NULL) {
		const char *k = json_object_iter_key(it);
		json_t *val = json_object_iter_value(it);
		void *next = json_object_iter_next(rec, it);
		if (k[0] != '_') {
			int fi = reg_field_index(d, k);
			if (fi < 0 || !in_fields(v->visible, k)) {
				json_object_del(rec, k);
			} else if (!v->right.unmasked && field_masked(&d->fields[fi]) && json_is_string(val)) {
				char masked[REG_VALUE_MAX + 1];
				reg_value_mask(&d->fields[fi], json_string_value(val), masked, sizeof masked);
				json_object_set_new(rec, k, json_string(masked));
			}
		}
		it = next;
	}
}

static const char *fields_csv(struct req *r, const struct viewer *v)
{
	struct buf b = BUF_INIT(8192);
	for (int i = 0; v->visible != NULL && v->visible[i] != NULL; i++)
		buf_addf(&b, "%s%s", i ? "," : "", v->visible[i]);
	const char *s = arena_strdup(r->arena, b.data ? b.data : "");
	buf_release(&b);
	return s;
}

/*
 * Logs the reading of records (internal values, before limit_record) by a
 * non-owner: one reg_access row per record with its data subject, one audit
 * entry; in the request's transaction or one of its own.  0 or -1.
 */
static int log_reads(struct req *r, const struct registry *reg, const struct viewer *v, json_t *recs,
		     const char *via, const char *purpose)
{
	if (!must_log(v) || json_array_size(recs) == 0)
		return 0;
	const struct reg_def *d = &reg->def;
	int own = !store_in_tx(r->st);
	if (own && store_begin(r->st) != STORE_OK)
		return -1;
	const char *fields = fields_csv(r, v);
	const char *basis = v->right.basis ? v->right.basis : "unconditional";
	const char *why = v->right.purpose ? v->right.purpose : purpose;
	int rc = 0;
	size_t i;
	json_t *rec;
	json_array_foreach(recs, i, rec) {
		const char *subject = d->subject >= 0 ? jstr0(rec, d->fields[d->subject].name) : NULL;
		struct reg_access a = { v->dept, r->who.user_id, r->who.login ? r->who.login : "system", d->code,
					subject && *subject ? subject : NULL, why, basis, fields, via };
		if (reg_access_log(r->st, http_ctx()->keys, &a) != 0) {
			rc = -1;
			break;
		}
	}
	if (rc == 0) {
		json_t *dj = json_pack("{s:I,s:s,s:s,s:s}", "records", (json_int_t)json_array_size(recs), "basis", basis,
				       "fields", fields, "via", via);
		char *detail = json_dumps(dj, JSON_COMPACT);
		json_decref(dj);
		struct audit_entry e = { r->who.user_id, r->who.login ? r->who.login : "system", "registry.read",
					 arena_printf(r->arena, "registry:%s", d->code), v->dept, r->ip, detail };
		rc = audit_append(r->st, &e);
		free(detail);
	}
	if (own) {
		if (rc == 0 && store_commit(r->st) != STORE_OK)
			rc = -1;
		if (rc != 0)
			store_rollback(r->st);
	}
	return rc;
}

/* ------------------------------------------------------------ records: query */

static int type_ordered(enum reg_type t)
{
	return t == RT_INTEGER || t == RT_DECIMAL || t == RT_DATE;
}

static int type_prefix(enum reg_type t)
{
	return t == RT_TEXT || t == RT_ADDRESS || t == RT_IDCARD || t == RT_USCC || t == RT_PHONE;
}

/* The query fields of a registry's record list: f.<field>[.gte|.lte|.prefix], after, limit, dept. */
static const struct field_spec *records_spec(struct req *r, const struct registry *reg)
{
	const struct reg_def *d = &reg->def;
	struct field_spec *spec = arena_alloc(r->arena, sizeof *spec * ((size_t)d->nfields * 3 + 4));
	int n = 0;
	for (int i = 0; i < d->nfields; i++) {
		const struct reg_field *f = &d->fields[i];
		const char *label = f->label ? f->label : f->name;
		spec[n++] = (struct field_spec){ arena_printf(r->arena, "f.%s", f->name), FT_TEXT, 0, 0, REG_VALUE_MAX,
						 NULL, label };
		if (type_ordered(f->type)) {
			spec[n++] = (struct field_spec){ arena_printf(r->arena, "f.%s.gte", f->name), FT_TEXT, 0, 0,
							 REG_VALUE_MAX, NULL, arena_printf(r->arena, "%s（起）", label) };
			spec[n++] = (struct field_spec){ arena_printf(r->arena, "f.%s.lte", f->name), FT_TEXT, 0, 0,
							 REG_VALUE_MAX, NULL, arena_printf(r->arena, "%s（止）", label) };
		} else if (type_prefix(f->type)) {
			spec[n++] = (struct field_spec){ arena_printf(r->arena, "f.%s.prefix", f->name), FT_TEXT, 0, 0,
							 REG_VALUE_MAX, NULL, arena_printf(r->arena, "%s（开头）", label) };
		}
	}
	spec[n++] = (struct field_spec){ "after", FT_INT, 0, 0, INT64_MAX, NULL, "游标" };
	spec[n++] = (struct field_spec){ "limit", FT_INT, 0, 1, 500, NULL, "每页条数" };
	spec[n++] = (struct field_spec){ "dept", FT_INT, 0, 1, INT64_MAX, NULL, "部门" };
	spec[n].name = NULL;
	return spec;
}

/*
 * Reads the filters of r->in (after req_check) into f.  -1 after answering
 * a filter the viewer may not use or a bad value (naming the parameter).
 */
static int filters_of(struct req *r, const struct registry *reg, const struct viewer *v, struct reg_filter *f,
		      int *nf)
{
	const struct reg_def *d = &reg->def;
	const char *k;
	json_t *val;
	*nf = 0;
	json_object_foreach(r->in, k, val) {
		if (strncmp(k, "f.", 2) != 0 || !json_is_string(val) || json_string_length(val) == 0)
			continue;
		const char *name = k + 2, *dot = strchr(name, '.');
		char fname[REG_CODE_MAX];
		size_t n = dot ? (size_t)(dot - name) : strlen(name);
		if (n >= sizeof fname)
			continue;   /* not in the spec: req_check refused it already */
		memcpy(fname, name, n);
		fname[n] = '\0';
		enum reg_op op = RO_EQ;
		if (dot != NULL)
			op = strcmp(dot, ".gte") == 0 ? RO_GE : strcmp(dot, ".lte") == 0 ? RO_LE : RO_PREFIX;
		int fi = reg_field_index(d, fname);
		if (fi < 0)
			continue;
		if (!may_use_field(v, &d->fields[fi])) {
			resp_error(r, 403, MSG_REGUI_FIELD_HIDDEN, k);
			return -1;
		}
		if (*nf == REG_MAX_FILTERS) {
			input_err(r, 400, MSG_REG_TOO_MANY_FILTERS, k, NULL);
			return -1;
		}
		if (op != RO_PREFIX) {
			char canon[REG_VALUE_MAX + 1];
			int is_null = 0;
			enum msg_id why = reg_value_check(&d->fields[fi], json_string_value(val), canon, sizeof canon,
							  &is_null);
			if (why != MSG_NONE) {
				input_err(r, 400, why, k, NULL);
				return -1;
			}
		}
		f[*nf].field = d->fields[fi].name;
		f[*nf].op = op;
		f[*nf].value = json_string_value(val);
		(*nf)++;
	}
	return 0;
}

/*
 * The records page of r for the viewer: {"items":[...],"next"} limited to
 * the view and logged; NULL after answering.
 */
static json_t *query_records(struct req *r, const struct registry *reg, const struct viewer *v, const char *via)
{
	struct reg_filter f[REG_MAX_FILTERS];
	int nf = 0;
	if (filters_of(r, reg, v, f, &nf) != 0)
		return NULL;
	struct reg_view view = { v->right.owner ? NULL : v->internal, 1 };
	struct reg_error e = { 0 };
	json_t *page = registry_query(r->st, reg, f, nf, req_in_int(r, "after", 0),
				      (int)req_in_int(r, "limit", REC_PAGE), &view, &e);
	if (page == NULL) {
		if (e.why == MSG_HTTP_500 || e.why == MSG_NONE)
			resp_error(r, 500, MSG_HTTP_500, NULL);
		else
			input_err(r, 400, e.why, e.field[0] ? arena_printf(r->arena, "f.%s", e.field) : "", e.detail);
		return NULL;
	}
	json_t *items = json_object_get(page, "items");
	if (log_reads(r, reg, v, items, via, msg(MSG_REGUI_PURPOSE_BROWSE)) != 0) {
		json_decref(page);
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return NULL;
	}
	size_t i;
	json_t *rec;
	json_array_foreach(items, i, rec)
		limit_record(reg, v, rec);
	return page;
}

static void no_right_page(struct req *r, const struct registry *reg, const struct viewer *v)
{
	json_t *ctx = json_pack("{s:s,s:{s:s,s:s},s:s,s:s}", "title", reg->def.name ? reg->def.name : reg->def.code,
				"reg", "code", reg->def.code, "name", reg->def.name ? reg->def.name : reg->def.code,
				"reason", msg(v->right.why != MSG_NONE ? v->right.why : MSG_SHARE_NO_GRANT),
				"request_href",
				arena_printf(r->arena, "/share/requests/new?registry=%s", reg->def.code));
	json_object_set_new(ctx, "can_request", json_boolean(reg->def.share != RS_NONE));
	resp_page(r, 403, "share/registry_refused", ctx);
}

/* GET /share/registries/{code}/records  ctx: reg {code,name}, basis, masked, columns [{name,label}],
 * rows [{cells [{value}], href}], filters [{name,label,value,range,gte,lte,prefix...}], next_href */
static void page_records(struct req *r)
{
	const struct registry *reg = path_registry(r);
	if (reg == NULL)
		return;
	if (req_check(r, records_spec(r, reg)) != 0)
		return;
	struct viewer v;
	if (viewer_of(r, reg, &v) != 0)
		return;
	if (v.right.nfields == 0) {
		no_right_page(r, reg, &v);
		return;
	}
	json_t *page = query_records(r, reg, &v, "page");
	if (page == NULL)
		return;
	const struct reg_def *d = &reg->def;
	const char *keyname = d->fields[d->key].name;
	int key_links = may_use_field(&v, &d->fields[d->key]);
	json_t *columns = json_array(), *filters = json_array();
	for (int i = 0; i < d->nfields; i++) {
		const struct reg_field *f = &d->fields[i];
		if (!in_fields(v.visible, f->name))
			continue;
		const char *label = f->label ? f->label : f->name;
		json_array_append_new(columns, json_pack("{s:s,s:s}", "name", f->name, "label", label));
		if (!may_use_field(&v, f))
			continue;
		json_t *fo = json_pack("{s:s,s:s,s:s,s:s,s:b}", "name", arena_printf(r->arena, "f.%s", f->name),
				       "id", arena_printf(r->arena, "f-%s", f->name), "label", label, "value",
				       jstr0(r->in, arena_printf(r->arena, "f.%s", f->name)), "range",
				       type_ordered(f->type));
		if (type_ordered(f->type)) {
			json_object_set_new(fo, "gte_name", json_string(arena_printf(r->arena, "f.%s.gte", f->name)));
			json_object_set_new(fo, "lte_name", json_string(arena_printf(r->arena, "f.%s.lte", f->name)));
			json_object_set_new(fo, "gte", json_string(jstr0(r->in, arena_printf(r->arena, "f.%s.gte", f->name))));
			json_object_set_new(fo, "lte", json_string(jstr0(r->in, arena_printf(r->arena, "f.%s.lte", f->name))));
			json_object_set_new(fo, "input_type", json_string(f->type == RT_DATE ? "date" : "text"));
		}
		if (f->type == RT_ENUM) {
			json_t *opts = json_array();
			const char *cur = jstr0(r->in, arena_printf(r->arena, "f.%s", f->name));
			for (int k = 0; k < f->nenum; k++)
				json_array_append_new(opts, json_pack("{s:s,s:b}", "value", f->enum_values[k], "selected",
								      strcmp(cur, f->enum_values[k]) == 0));
			json_object_set_new(fo, "options", opts);
			json_object_set_new(fo, "is_enum", json_true());
		}
		json_array_append_new(filters, fo);
	}
	json_t *rows = json_array();
	size_t i;
	json_t *rec;
	json_array_foreach(json_object_get(page, "items"), i, rec) {
		json_t *cells = json_array();
		size_t k;
		json_t *c;
		json_array_foreach(columns, k, c) {
			json_t *val = json_object_get(rec, jstr0(c, "name"));
			json_array_append_new(cells, json_pack("{s:s}", "value", json_is_string(val) ? json_string_value(val) : ""));
		}
		json_t *row = json_pack("{s:o}", "cells", cells);
		const char *key = jstr0(rec, keyname);
		if (key_links && *key)
			json_object_set_new(row, "href",
					    json_string(arena_printf(r->arena, "/share/registries/%s/records/%s", d->code,
								     req_url_encode(r, key))));
		json_array_append_new(rows, row);
	}
	json_t *ctx = json_pack("{s:s,s:{s:s,s:s},s:o,s:o,s:o,s:s,s:b,s:b,s:b}", "title",
				d->name ? d->name : d->code, "reg", "code", d->code, "name", d->name ? d->name : d->code,
				"columns", columns, "rows", rows, "filters", filters, "basis",
				v.right.basis ? v.right.basis : "", "owner", v.right.owner, "masked",
				!v.right.unmasked && v.personal, "filtered", json_object_size(r->in) > 0);
	if (v.right.purpose != NULL)
		json_object_set_new(ctx, "purpose", json_string(v.right.purpose));
	if (!v.right.owner && reg->def.share == RS_CONDITIONAL && v.right.grant_id == 0)
		json_object_set_new(ctx, "request_href",
				    json_string(arena_printf(r->arena, "/share/requests/new?registry=%s", d->code)));
	json_t *next = json_object_get(page, "next");
	if (json_is_integer(next)) {
		struct buf b = BUF_INIT(16384);
		buf_addf(&b, "/share/registries/%s/records?after=%lld", d->code, (long long)json_integer_value(next));
		const char *k;
		json_t *val;
		json_object_foreach(r->in, k, val) {
			if (strcmp(k, "after") == 0)
				continue;
			if (json_is_string(val) && json_string_length(val) > 0)
				buf_addf(&b, "&%s=%s", k, req_url_encode(r, json_string_value(val)));
			else if (json_is_integer(val))
				buf_addf(&b, "&%s=%lld", k, (long long)json_integer_value(val));
		}
		json_object_set_new(ctx, "next_href", json_string(b.data ? b.data : ""));
		buf_release(&b);
	}
	json_decref(page);
	resp_page(r, 200, "share/registry_records", ctx);
}

/* GET /api/v1/registries/{code}/records */
static void api_records(struct req *r)
{
	const struct registry *reg = path_registry(r);
	if (reg == NULL)
		return;
	if (req_check(r, records_spec(r, reg)) != 0)
		return;
	struct viewer v;
	if (viewer_of(r, reg, &v) != 0)
		return;
	if (v.right.nfields == 0) {
		resp_error(r, 403, v.right.why != MSG_NONE ? v.right.why : MSG_SHARE_NO_GRANT, NULL);
		return;
	}
	json_t *page = query_records(r, reg, &v, "api");
	if (page == NULL)
		return;
	json_object_set_new(page, "basis", json_string(v.right.basis ? v.right.basis : ""));
	resp_json(r, 200, page);
}

/* ------------------------------------------------------------ one record */

/* The record of {key} for the viewer (limited, logged) with *hist (may be NULL); NULL after answering. */
static json_t *read_record(struct req *r, const struct registry *reg, const struct viewer *v, const char *via,
			   json_t **hist)
{
	const struct reg_def *d = &reg->def;
	const char *key = req_param(r, "key");
	if (hist != NULL)
		*hist = NULL;
	if (v->right.nfields == 0) {
		resp_error(r, 403, v->right.why != MSG_NONE ? v->right.why : MSG_SHARE_NO_GRANT, NULL);
		return NULL;
	}
	if (!may_use_field(v, &d->fields[d->key])) {
		resp_error(r, 403, MSG_REGUI_KEY_HIDDEN, NULL);
		return NULL;
	}
	struct reg_view view = { v->right.owner ? NULL : v->internal, 1 };
	json_t *rec = key ? registry_get_record(r->st, reg, key, &view) : NULL;
	if (rec == NULL) {
		resp_error(r, 404, MSG_REGUI_RECORD_NOT_FOUND, NULL);
		return NULL;
	}
	json_t *one = json_pack("[O]", rec);
	int rc = log_reads(r, reg, v, one, via, msg(MSG_REGUI_PURPOSE_BROWSE));
	json_decref(one);
	if (rc != 0) {
		json_decref(rec);
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return NULL;
	}
	limit_record(reg, v, rec);
	if (hist != NULL) {
		struct reg_view hv = { v->right.owner ? NULL : v->visible, v->right.unmasked };
		*hist = registry_history(r->st, reg, key, &hv);
	}
	return rec;
}

/* GET /share/registries/{code}/records/{key}  ctx: reg, fields [{label,value}], meta {...texts},
 * history [{version,op_label,at_text,by,source,changes [{label,old,new}]}], created {...} */
static void page_record(struct req *r)
{
	const struct registry *reg = path_registry(r);
	if (reg == NULL)
		return;
	struct viewer v;
	if (viewer_of(r, reg, &v) != 0)
		return;
	if (v.right.nfields == 0) {
		no_right_page(r, reg, &v);
		return;
	}
	json_t *hist = NULL;
	json_t *rec = read_record(r, reg, &v, "page", &hist);
	if (rec == NULL)
		return;
	const struct reg_def *d = &reg->def;
	json_t *fields = json_array();
	for (int i = 0; i < d->nfields; i++) {
		json_t *val = json_object_get(rec, d->fields[i].name);
		if (val == NULL)
			continue;
		json_array_append_new(fields, json_pack("{s:s,s:s,s:s}", "name", d->fields[i].name, "label",
							d->fields[i].label ? d->fields[i].label : d->fields[i].name,
							"value", json_is_string(val) ? json_string_value(val) : ""));
	}
	json_t *meta = json_object_get(rec, "_meta");
	json_t *m = json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:s}", "version", (json_int_t)json_integer_value(json_object_get(meta, "version")),
			      "created_at", when_text(r, json_integer_value(json_object_get(meta, "created_at"))),
			      "created_by", jstr0(meta, "created_by"), "created_src", jstr0(meta, "created_src"),
			      "updated_at", when_text(r, json_integer_value(json_object_get(meta, "updated_at"))),
			      "updated_by", jstr0(meta, "updated_by"), "updated_src", jstr0(meta, "updated_src"));
	json_t *history = json_array();
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(hist, "changes"), i, c) {
		json_t *ch = json_array();
		const char *fname;
		json_t *pair;
		json_object_foreach(json_object_get(c, "changes"), fname, pair) {
			int fi = reg_field_index(d, fname);
			json_t *o = json_object_get(pair, "old"), *n = json_object_get(pair, "new");
			json_array_append_new(ch, json_pack("{s:s,s:s,s:s}", "label",
							    fi >= 0 && d->fields[fi].label ? d->fields[fi].label : fname,
							    "old", json_is_string(o) ? json_string_value(o) : "",
							    "new", json_is_string(n) ? json_string_value(n) : ""));
		}
		const char *op = jstr0(c, "op");
		json_array_append_new(history,
				      json_pack("{s:I,s:s,s:s,s:s,s:s,s:o}", "version",
						(json_int_t)json_integer_value(json_object_get(c, "version")), "op_label",
						strcmp(op, "delete") == 0 ? "删除" : "修改", "at_text",
						when_text(r, json_integer_value(json_object_get(c, "at"))), "by",
						jstr0(c, "by"), "source", jstr0(c, "source"), "changes", ch));
	}
	json_decref(hist);
	const char *key = jstr0(rec, d->fields[d->key].name);
	json_t *ctx = json_pack("{s:s,s:{s:s,s:s},s:s,s:o,s:o,s:o,s:b}", "title", key, "reg", "code", d->code, "name",
				d->name ? d->name : d->code, "key", key, "fields", fields, "meta", m, "history", history,
				"owner", v.right.owner);
	json_decref(rec);
	resp_page(r, 200, "share/registry_record", ctx);
}

/* GET /api/v1/registries/{code}/records/{key} */
static void api_record(struct req *r)
{
	const struct registry *reg = path_registry(r);
	if (reg == NULL)
		return;
	struct viewer v;
	if (viewer_of(r, reg, &v) != 0)
		return;
	json_t *rec = read_record(r, reg, &v, "api", NULL);
	if (rec != NULL)
		resp_json(r, 200, rec);
}

/* GET /api/v1/registries/{code}/records/{key}/history */
static void api_history(struct req *r)
{
	const struct registry *reg = path_registry(r);
	if (reg == NULL)
		return;
	struct viewer v;
	if (viewer_of(r, reg, &v) != 0)
		return;
	json_t *hist = NULL;
	json_t *rec = read_record(r, reg, &v, "api", &hist);
	if (rec == NULL)
		return;
	json_decref(rec);
	if (hist == NULL) {
		resp_error(r, 404, MSG_REGUI_RECORD_NOT_FOUND, NULL);
		return;
	}
	resp_json(r, 200, hist);
}

/* ------------------------------------------------------------ record writes (API) */

/* The registry of the path for a write by r: its owner department's staff only.  NULL after answering. */
static const struct registry *write_registry(struct req *r)
{
	const struct registry *reg = path_registry(r);
	if (reg == NULL)
		return NULL;
	if (!member_of(r, reg->owner_dept_id)) {
		resp_error(r, 403, MSG_REGUI_NOT_OWNER, NULL);
		return NULL;
	}
	return reg;
}

static int audit_write(struct req *r, const struct registry *reg, const char *action, const char *what)
{
	char *detail = xasprintf("{\"source\":\"api:%s\",\"outcome\":\"%s\"}", r->id, what);
	struct audit_entry e = { r->who.user_id, r->who.login ? r->who.login : "system", action,
				 arena_printf(r->arena, "registry:%s", reg->def.code), reg->owner_dept_id, r->ip, detail };
	int rc = audit_append(r->st, &e);
	free(detail);
	return rc;
}

/* PUT /api/v1/registries/{code}/records/{key}  body: {field: value, ...} (the key may be left out) */
static void api_put_record(struct req *r)
{
	const struct registry *reg = write_registry(r);
	if (reg == NULL)
		return;
	const struct reg_def *d = &reg->def;
	const char *key = req_param(r, "key"), *kname = d->fields[d->key].name;
	if (!json_is_object(r->in)) {
		input_err(r, 400, MSG_REG_NOT_OBJECT, "", NULL);
		return;
	}
	json_t *kv = json_object_get(r->in, kname);
	if (kv != NULL && !(json_is_string(kv) && strcmp(json_string_value(kv), key) == 0)) {
		input_err(r, 400, MSG_REGUI_KEY_MISMATCH, kname, NULL);
		return;
	}
	if (kv == NULL)
		json_object_set_new(r->in, kname, json_string(key));
	struct reg_actor who = actor_of(r, "api");
	struct reg_error e = { 0 };
	int outcome = 0;
	if (registry_put_json(r->st, reg, r->in, &who, &outcome, &e) != 0) {
		if (e.why == MSG_HTTP_500 || e.why == MSG_NONE)
			resp_error(r, 500, MSG_HTTP_500, NULL);
		else
			input_err(r, 400, e.why, e.field, e.detail);
		return;
	}
	static const char *const outcomes[] = { "unchanged", "inserted", "updated" };
	if (audit_write(r, reg, "registry.record_put", outcomes[outcome >= 0 && outcome <= 2 ? outcome : 0]) != 0) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	json_t *rec = registry_get_record(r->st, reg, key, NULL);
	if (rec == NULL) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	/* the owner's own write: show it whole */
	json_decref(rec);
	struct reg_view all = { NULL, 1 };
	rec = registry_get_record(r->st, reg, key, &all);
	if (rec == NULL) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	json_object_set_new(rec, "_outcome", json_string(outcomes[outcome >= 0 && outcome <= 2 ? outcome : 0]));
	r->location = arena_printf(r->arena, "/api/v1/registries/%s/records/%s", d->code, req_url_encode(r, key));
	resp_json(r, outcome == 1 ? 201 : 200, rec);
}

/* DELETE /api/v1/registries/{code}/records/{key} */
static void api_delete_record(struct req *r)
{
	const struct registry *reg = write_registry(r);
	if (reg == NULL)
		return;
	struct reg_actor who = actor_of(r, "api");
	int rc = registry_delete(r->st, reg, req_param(r, "key"), &who);
	if (rc == 1) {
		resp_error(r, 404, MSG_REGUI_RECORD_NOT_FOUND, NULL);
		return;
	}
	if (rc != 0 || audit_write(r, reg, "registry.record_delete", "deleted") != 0) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	resp_json(r, 200, json_pack("{s:b}", "deleted", 1));
}

/* ------------------------------------------------------------ exists */

/*
 * Answers whether a record with field = value exists: 1, 0, or -1 after
 * answering.  Any staff department may ask, on any field but those of
 * class 不予共享 (unless it owns the registry); logged with basis "exists"
 * (the value as the data subject when it is a 身份证号 or 统一社会信用代码)
 * and audited.
 */
static int exists_check(struct req *r, const struct registry *reg, const char *field, const char *value)
{
	const struct reg_def *d = &reg->def;
	int64_t dept = share_acting_dept(r);
	if (dept <= 0) {
		resp_error(r, 403, MSG_REGUI_NOT_STAFF, NULL);
		return -1;
	}
	int fi = reg_field_index(d, field);
	if (fi < 0) {
		input_err(r, 400, MSG_REG_UNKNOWN_FIELD, "field", NULL);
		return -1;
	}
	const struct reg_field *f = &d->fields[fi];
	if (dept != reg->owner_dept_id && (f->share == RS_NONE || d->share == RS_NONE)) {
		resp_error(r, 403, MSG_SHARE_FIELD_NOT_SHARED, "field");
		return -1;
	}
	struct reg_error e = { 0 };
	int found = registry_exists(r->st, reg, field, value, &e);
	if (found < 0) {
		if (e.why == MSG_HTTP_500 || e.why == MSG_NONE)
			resp_error(r, 500, MSG_HTTP_500, NULL);
		else
			input_err(r, 400, e.why, "value", e.detail);
		return -1;
	}
	int own = !store_in_tx(r->st), rc = 0;
	if (own && store_begin(r->st) != STORE_OK) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return -1;
	}
	if (dept != reg->owner_dept_id) {
		int subject = f->type == RT_IDCARD || f->type == RT_USCC;
		struct reg_access a = { dept, r->who.user_id, r->who.login ? r->who.login : "system", d->code,
					subject ? value : NULL, msg(MSG_REGUI_PURPOSE_EXISTS), "exists", f->name,
					r->is_api ? "api" : "page" };
		rc = reg_access_log(r->st, http_ctx()->keys, &a);
	}
	if (rc == 0) {
		char *detail = xasprintf("{\"field\":\"%s\",\"found\":%s}", f->name, found ? "true" : "false");
		struct audit_entry ae = { r->who.user_id, r->who.login ? r->who.login : "system", "registry.exists",
					  arena_printf(r->arena, "registry:%s", d->code), dept, r->ip, detail };
		rc = audit_append(r->st, &ae);
		free(detail);
	}
	if (own) {
		if (rc == 0 && store_commit(r->st) != STORE_OK)
			rc = -1;
		if (rc != 0)
			store_rollback(r->st);
	}
	if (rc != 0) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return -1;
	}
	return found;
}

/* GET /share/registries/{code}/exists?field=&value=  ctx: reg, fields (options), values, answered, found */
static void page_exists(struct req *r)
{
	const struct registry *reg = path_registry(r);
	if (reg == NULL)
		return;
	const char *field = req_in_str(r, "field"), *value = req_in_str(r, "value");
	int64_t dept = share_acting_dept(r);
	const struct reg_def *d = &reg->def;
	json_t *opts = json_array();
	for (int i = 0; i < d->nfields; i++) {
		const struct reg_field *f = &d->fields[i];
		if (dept != reg->owner_dept_id && (f->share == RS_NONE || d->share == RS_NONE))
			continue;
		json_array_append_new(opts, json_pack("{s:s,s:s,s:b}", "value", f->name, "label",
						      f->label ? f->label : f->name, "selected",
						      field ? strcmp(field, f->name) == 0 : i == d->key));
	}
	int found = -1;
	if (field != NULL && *field && value != NULL && *value) {
		found = exists_check(r, reg, field, value);
		if (found < 0) {
			json_decref(opts);
			return;
		}
	}
	json_t *ctx = json_pack("{s:s,s:{s:s,s:s},s:o,s:b,s:b}", "title", "存在性核验", "reg", "code", d->code, "name",
				d->name ? d->name : d->code, "fields", opts, "answered", found >= 0, "found", found == 1);
	json_object_set_new(ctx, "answer", json_string(found == 1 ? msg(MSG_REGUI_EXISTS_YES) : msg(MSG_REGUI_EXISTS_NO)));
	json_object_set(ctx, "values", r->in);
	resp_page(r, 200, "share/registry_exists", ctx);
}

/* GET /api/v1/registries/{code}/exists?field=&value=  -> {"exists": true|false} and nothing else */
static void api_exists(struct req *r)
{
	const struct registry *reg = path_registry(r);
	if (reg == NULL)
		return;
	int found = exists_check(r, reg, req_in_str(r, "field"), req_in_str(r, "value"));
	if (found >= 0)
		resp_json(r, 200, json_pack("{s:b}", "exists", found));
}

/* ------------------------------------------------------------ CLI */

static const char registry_usage[] =
	"usage: yizhan registry SUBCOMMAND\n"
	"  apply FILE     create or alter the registry a definition file describes\n"
	"                 (docs/registry-format.md); changes that would lose data are refused\n"
	"  list           every registry: code, name, owner, sharing class, records, version\n"
	"  show CODE      the definition text of a registry\n";

int share_cli_registry(struct store *st, const struct keys *k, int argc, char **argv)
{
	(void)k;
	const char *sub = argc > 1 ? argv[1] : "--help";
	if (st == NULL || strcmp(sub, "--help") == 0 || strcmp(sub, "help") == 0) {
		fputs(registry_usage, stdout);
		return st == NULL || strcmp(sub, "--help") == 0 || strcmp(sub, "help") == 0 ? 0 : 2;
	}
	if (strcmp(sub, "list") == 0) {
		json_t *list = registry_list(st);
		if (list == NULL)
			return 1;
		size_t i;
		json_t *x;
		json_array_foreach(list, i, x)
			printf("%-14s %-20s %-24s %-8s %10lld  v%lld\n", jstr0(x, "code"), jstr0(x, "name"),
			       jstr0(x, "owner_dept_name"), jstr0(x, "share_label"),
			       (long long)json_integer_value(json_object_get(x, "records")),
			       (long long)json_integer_value(json_object_get(x, "version")));
		json_decref(list);
		return 0;
	}
	if (strcmp(sub, "show") == 0 && argc > 2) {
		char *text = registry_def_text(st, argv[2]);
		if (text == NULL) {
			fprintf(stderr, "yizhan registry show: no registry %s\n", argv[2]);
			return 1;
		}
		fputs(text, stdout);
		if (*text && text[strlen(text) - 1] != '\n')
			fputc('\n', stdout);
		free(text);
		return 0;
	}
	if (strcmp(sub, "apply") == 0 && argc > 2) {
		FILE *f = fopen(argv[2], "rb");
		if (f == NULL) {
			fprintf(stderr, "yizhan registry apply: %s: %s\n", argv[2], strerror(errno));
			return 1;
		}
		struct buf b = BUF_INIT(DEF_MAX + 1);
		char chunk[8192];
		size_t n;
		int big = 0;
		while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
			if (buf_add(&b, chunk, n) != 0) {
				big = 1;
				break;
			}
		fclose(f);
		if (big) {
			fprintf(stderr, "yizhan registry apply: %s: larger than 256 KiB\n", argv[2]);
			buf_release(&b);
			return 1;
		}
		if (store_begin(st) != STORE_OK) {
			buf_release(&b);
			return 1;
		}
		char *src = xasprintf("cli:%s", argv[2]);
		struct reg_actor who = { 0, "cli", src };
		struct apply_result res;
		apply_text(st, NULL, b.data ? b.data : "", NULL, 0, 0, &who, &res);
		buf_release(&b);
		free(src);
		if (res.rc != APPLY_OK) {
			store_rollback(st);
			fprintf(stderr, "yizhan registry apply: %s: %s\n", argv[2], res.message);
			return 1;
		}
		if (store_commit(st) != STORE_OK) {
			store_rollback(st);
			fprintf(stderr, "yizhan registry apply: could not commit: %s\n", store_errmsg(st));
			return 1;
		}
		const struct registry *reg = registry_get(st, res.code);
		printf("applied %s, version %lld\n", res.code, reg ? (long long)reg->version : 0LL);
		return 0;
	}
	fprintf(stderr, "yizhan registry: unknown or incomplete subcommand (see yizhan registry --help)\n");
	return 2;
}

/* ------------------------------------------------------------ routes */

static const struct field_spec fs_dept[] = {
	{ "dept", FT_INT, 0, 1, INT64_MAX, NULL, "部门" },
	{ NULL },
};

static const struct field_spec fs_saved[] = {
	{ "saved", FT_TEXT, 0, 0, 8, NULL, "已保存" },
	{ NULL },
};

static const struct field_spec fs_definition[] = {
	{ "definition", FT_TEXTAREA, FS_REQUIRED, 1, DEF_MAX, NULL, "登记簿定义" },
	{ "version", FT_INT, 0, 1, INT64_MAX, NULL, "版本" },
	{ NULL },
};

static const struct field_spec fs_exists_page[] = {
	{ "field", FT_TEXT, 0, 0, REG_CODE_MAX, NULL, "字段" },
	{ "value", FT_TEXT, 0, 0, REG_VALUE_MAX, NULL, "值" },
	{ "dept", FT_INT, 0, 1, INT64_MAX, NULL, "部门" },
	{ NULL },
};

static const struct field_spec fs_exists_api[] = {
	{ "field", FT_TEXT, FS_REQUIRED, 1, REG_CODE_MAX, NULL, "字段" },
	{ "value", FT_TEXT, FS_REQUIRED, 1, REG_VALUE_MAX, NULL, "值" },
	{ "dept", FT_INT, 0, 1, INT64_MAX, NULL, "部门" },
	{ NULL },
};

#define CSRF RF_CSRF
#define API (RF_API | RF_CSRF)
const struct route share_registry_routes[] = {
	{ HM_GET, "/share/registries", page_list, ROLE_STAFF, 0, NULL, NULL, NULL, "Registries" },
	{ HM_GET, "/share/registries/new", page_new, ROLE_PLATFORM_ADMIN, 0, NULL, NULL, NULL,
	  "New registry page (definition text)" },
	{ HM_POST, "/share/registries/new", do_new, ROLE_PLATFORM_ADMIN, CSRF, fs_definition, NULL, NULL,
	  "Create a registry from definition text" },
	{ HM_GET, "/share/registries/{code}", page_registry, ROLE_STAFF, 0, fs_saved, NULL, NULL,
	  "A registry's definition, sources, classes and migrations" },
	{ HM_GET, "/share/registries/{code}/definition", page_definition, ROLE_DEPT_ADMIN, 0, NULL, NULL, NULL,
	  "Edit a registry's definition text" },
	{ HM_POST, "/share/registries/{code}/definition", do_definition, ROLE_DEPT_ADMIN, CSRF, fs_definition, NULL,
	  NULL, "Apply a changed definition (refused when it would lose data)" },
	{ HM_GET, "/share/registries/{code}/records", page_records, ROLE_STAFF, RF_DYNAMIC, NULL, NULL, NULL,
	  "Browse records with filters f.<field>[.gte|.lte|.prefix]" },
	{ HM_GET, "/share/registries/{code}/records/{key}", page_record, ROLE_STAFF, 0, fs_dept, NULL, NULL,
	  "One record and its history" },
	{ HM_GET, "/share/registries/{code}/exists", page_exists, ROLE_STAFF, 0, fs_exists_page, NULL, NULL,
	  "Yes/no check whether a record with field = value exists" },
	{ HM_GET, "/api/v1/registries", api_list, ROLE_STAFF, RF_API, NULL, NULL, NULL, "Registries" },
	{ HM_GET, "/api/v1/registries/{code}", api_registry, ROLE_STAFF, RF_API, NULL, NULL, NULL,
	  "A registry's definition as JSON" },
	{ HM_PUT, "/api/v1/registries/{code}", api_put_registry, ROLE_DEPT_ADMIN, API, fs_definition, NULL, NULL,
	  "Create or alter a registry from {\"definition\": text, \"version\"?}: 400 parse error with line, "
	  "422 unknown department or derived field, 409 data loss or stale version" },
	{ HM_GET, "/api/v1/registries/{code}/records", api_records, ROLE_STAFF, RF_API | RF_DYNAMIC, NULL, NULL,
	  NULL, "Records: filters f.<field>=v, f.<field>.gte=, .lte=, .prefix=; after, limit (cursor pagination)" },
	{ HM_GET, "/api/v1/registries/{code}/records/{key}", api_record, ROLE_STAFF, RF_API, fs_dept, NULL, NULL,
	  "One record, limited to the caller's right" },
	{ HM_PUT, "/api/v1/registries/{code}/records/{key}", api_put_record, ROLE_STAFF, API | RF_DYNAMIC, NULL, NULL,
	  NULL, "Insert or update a record {field: value} (owner department staff only)" },
	{ HM_DELETE, "/api/v1/registries/{code}/records/{key}", api_delete_record, ROLE_STAFF, API, NULL, NULL,
	  NULL, "Delete a record (owner department staff only); its history stays" },
	{ HM_GET, "/api/v1/registries/{code}/records/{key}/history", api_history, ROLE_STAFF, RF_API, fs_dept,
	  NULL, NULL, "A record's history, limited to the caller's right" },
	{ HM_GET, "/api/v1/registries/{code}/exists", api_exists, ROLE_STAFF, RF_API, fs_exists_api, NULL, NULL,
	  "{\"exists\": true|false} for field = value, and nothing else" },
	{ 0, NULL, NULL, 0, 0, NULL, NULL, NULL, NULL },
};
