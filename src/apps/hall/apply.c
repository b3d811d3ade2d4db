/*
 * apply: the applicant's side of the online service hall.
 *
 *   /hall/items/{code}/apply   the application form of an item; POST creates the case
 *                              (draft, or submitted) with its materials
 *   /hall/cases/{id}           one case: the applicant's page here, the staff's page in
 *                              handle.c (hall_case_staff_page); POST .../act: the
 *                              applicant's actions (submit a draft, resubmit after
 *                              补正 with the missing materials, withdraw)
 *   /hall/cases/{id}/receipt   受理回执: tracking code, QR code to the status page
 *   /hall/files/{id}?case=N    an attachment of a case the user may see
 *   /hall/my                   我的办件
 *   /hall/track                the public status page (tracking code + phone tail)
 *   /cases/{id}                where notifications link: 303 to /hall/cases/{id}
 *   /api/v1/files, /api/v1/hall/items/{code}/applications, /api/v1/hall/cases...,
 *   /api/v1/hall/track         the same as JSON
 *
 * Everything a POST writes (files rows, the case, its attachments, the
 * submission) is in the request's one transaction; an answer >= 400 rolls
 * it all back.  A material is attached with the material's name as its
 * label: that is how a later step knows which materials a case has.
 */
#include "apps/hall/hall.h"
#include "apps/hall/hall_int.h"
#include "apps/hall/items.h"
#include "core/conf.h"
#include "core/crypto.h"
#include "core/desk.h"
#include "core/files.h"
#include "core/log.h"
#include "core/qr.h"
#include "core/xalloc.h"
#include "engines/case/case.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MATERIAL_MAX (10 * 1024 * 1024)   /* bytes per material file */
#define MY_PAGE 20
#define TRACK_WINDOW 900                  /* seconds */
#define TRACK_MAX_FAIL 20                 /* failed look-ups per address per window */

static const char *const material_types[] = { "image/jpeg", "image/png", "application/pdf", NULL };

enum apply_stmt {
	S_PHONE, S_CASE_OWNER, S_MY, S_DESK, S_ATTACHED, S_ATTACHED_PUBLIC, S_FILE_OWNED, S_THR_GET, S_THR_PUT, S__MAX
};

static const char *const sql[S__MAX] = {
	[S_PHONE] = "SELECT phone FROM users WHERE id = $1",
	[S_CASE_OWNER] = "SELECT applicant_id, dept_id FROM cases WHERE id = $1",
	[S_MY] = "SELECT id FROM cases WHERE applicant_id = $1 AND ($2 = 0 OR id < $2) ORDER BY id DESC LIMIT $3",
	[S_DESK] = "SELECT id, subject, state, process FROM cases WHERE applicant_id = $1 "
		   "AND state IN ('draft', 'correction') ORDER BY id DESC LIMIT 10",
	[S_ATTACHED] = "SELECT COUNT(*) FROM case_attachments WHERE case_id = $1 AND file_id = $2",
	[S_ATTACHED_PUBLIC] = "SELECT COUNT(*) FROM case_attachments WHERE case_id = $1 AND file_id = $2 "
			      "AND public = 1",
	[S_FILE_OWNED] = "SELECT COUNT(*) FROM files WHERE id = $1 AND owner_id = $2",
	[S_THR_GET] = "SELECT window_start, failures FROM login_throttle WHERE key = $1",
	[S_THR_PUT] = "INSERT INTO login_throttle (key, window_start, failures, locked_until) "
		      "VALUES ($1, $2, $3, $4) ON CONFLICT (key) DO UPDATE SET "
		      "window_start = excluded.window_start, failures = excluded.failures, "
		      "locked_until = excluded.locked_until",
};

/* ------------------------------------------------------------ helpers */

static const char *data_dir(void)
{
	return http_ctx()->conf->data;
}

/* "2026-03-05 14:07" in the server's time zone (arena). */
static const char *time_text(struct req *r, json_int_t t)
{
	char s[32];
	struct tm tm;
	time_t tt = (time_t)t;
	if (t <= 0 || localtime_r(&tt, &tm) == NULL)
		return "";
	strftime(s, sizeof s, "%Y-%m-%d %H:%M", &tm);
	return arena_strdup(r->arena, s);
}

static enum msg_id case_msg(enum case_rc rc)
{
	switch (rc) {
	case CASE_NOT_FOUND: return MSG_HALL_CASE_NOT_FOUND;
	case CASE_NO_SUCH_ACTION: return MSG_CASE_E_NO_SUCH_ACTION;
	case CASE_BAD_STATE: return MSG_CASE_E_BAD_STATE;
	case CASE_FORBIDDEN: return MSG_CASE_E_FORBIDDEN;
	case CASE_MISSING_FIELD: return MSG_CASE_E_MISSING_FIELD;
	case CASE_CONFLICT: return MSG_HALL_CASE_CONFLICT;
	case CASE_BAD_ASSIGNEE: return MSG_CASE_E_BAD_ASSIGNEE;
	case CASE_INVALID: return MSG_CASE_E_INVALID;
	default: return MSG_HTTP_500;
	}
}

static int case_status(enum case_rc rc)
{
	switch (rc) {
	case CASE_NOT_FOUND: return 404;
	case CASE_NO_SUCH_ACTION: return 409;
	case CASE_BAD_STATE: return 409;
	case CASE_CONFLICT: return 409;
	case CASE_FORBIDDEN: return 403;
	case CASE_MISSING_FIELD: return 400;
	case CASE_INVALID: return 400;
	default: return 500;
	}
}

/* Answers an input error naming field (the form again on pages, JSON on the API). */
static void field_fail(struct req *r, int status, enum msg_id why, const char *field)
{
	struct input_error e = { 0 };
	e.status = status;
	e.msg = why;
	snprintf(e.field, sizeof e.field, "%s", field ? field : "");
	resp_input_error(r, &e);
}

/* The applicant of a case for r's user: 1 yes, 0 no (or no such case), -1 store failure.
 * *dept gets the case's department when the case exists. */
static int case_owner(struct req *r, int64_t id, int64_t *applicant, int64_t *dept)
{
	struct store_res *res = NULL;
	struct sval p[] = { SVI(id) };
	*applicant = 0;
	*dept = 0;
	if (store_query(r->st, sql[S_CASE_OWNER], p, 1, &res) != STORE_OK)
		return -1;
	int found = store_res_rows(res) > 0;
	if (found) {
		*applicant = store_res_int(res, 0, 0);
		*dept = store_res_int(res, 0, 1);
	}
	store_res_free(res);
	return found;
}

/* Loads a case r's user applied for; answers 404/500 and returns -1 otherwise. */
static int own_case(struct req *r, int64_t id)
{
	int64_t applicant, dept;
	int rc = case_owner(r, id, &applicant, &dept);
	if (rc < 0) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return -1;
	}
	if (rc == 0 || applicant != r->who.user_id) {
		resp_error(r, 404, MSG_HALL_CASE_NOT_FOUND, NULL);
		return -1;
	}
	return 0;
}

/* The applicant's actor for the case engine. */
static struct case_actor applicant_actor(struct req *r)
{
	struct case_actor a = { r->who.user_id, r->who.login, PD_ROLE_APPLICANT };
	return a;
}

/* The absolute URL of the public status page for a tracking code (arena). */
static const char *track_url(struct req *r, const char *tracking)
{
	const char *base = http_ctx()->conf->base_url;
	if (base != NULL && base[0] != '\0') {
		size_t n = strlen(base);
		while (n > 0 && base[n - 1] == '/')
			n--;
		return arena_printf(r->arena, "%.*s/hall/track?code=%s", (int)n, base, tracking);
	}
	const char *host = req_header(r, "Host");
	if (host == NULL || *host == '\0' || strlen(host) > 255 ||
	    strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]") != strlen(host))
		host = "localhost";
	return arena_printf(r->arena, "%s://%s/hall/track?code=%s", r->https ? "https" : "http", host, tracking);
}

/* Does the process of an item let a case wait as a draft (a "submit" out of its initial state)? */
static int process_has_draft(const char *process)
{
	const struct procdef *p = procdef_get(process);
	return p != NULL && procdef_transition(p, p->initial, "submit") != NULL;
}

/* ------------------------------------------------------------ the item's application */

/* Answers why r's user cannot apply for item (NULL: no such item), or returns 0. */
static int apply_allowed(struct req *r, json_t *item)
{
	if (item == NULL || !json_is_true(json_object_get(item, "published"))) {
		resp_error(r, 404, MSG_HALL_ITEM_NOT_FOUND, NULL);
		return -1;
	}
	if (hall_jint(item, "depth") < 3) {
		resp_error(r, 403, MSG_HALL_APPLY_NOT_ONLINE, NULL);
		return -1;
	}
	const char *aud = hall_jstr0(item, "audience");
	if (r->who.kind == ACCT_CITIZEN && strcmp(aud, "enterprise") == 0) {
		resp_error(r, 403, MSG_HALL_APPLY_ENTERPRISE_ONLY, NULL);
		return -1;
	}
	if (r->who.kind == ACCT_ENTERPRISE && strcmp(aud, "person") == 0) {
		resp_error(r, 403, MSG_HALL_APPLY_PERSON_ONLY, NULL);
		return -1;
	}
	return 0;
}

static const char *const actions_draft[] = { "draft", "submit", NULL };
static const char *const actions_submit[] = { "submit", NULL };

/*
 * The spec of an application: the item's form, one FT_FILE field per
 * material (required on submit when the material is), and "action".  With
 * files_json the materials are left out (the API names uploaded files in
 * "files" instead, checked by the handler).
 */
static const struct field_spec *apply_spec(struct req *r, json_t *item, int submit, int with_files)
{
	const struct field_spec *form = hall_form_spec(r, item);
	json_t *mats = json_object_get(item, "materials");
	size_t nform = 0;
	while (form[nform].name != NULL)
		nform++;
	size_t nmat = with_files ? json_array_size(mats) : 0;
	struct field_spec *spec = arena_alloc(r->arena, (nform + nmat + 2) * sizeof *spec);
	memcpy(spec, form, nform * sizeof *spec);
	for (size_t i = 0; i < nmat; i++) {
		json_t *m = json_array_get(mats, i);
		struct field_spec *s = &spec[nform + i];
		s->name = arena_strdup(r->arena, hall_jstr0(m, "code"));
		s->type = FT_FILE;
		s->flags = submit && json_is_true(json_object_get(m, "required")) ? FS_REQUIRED : 0;
		s->max = MATERIAL_MAX;
		s->label = arena_strdup(r->arena, hall_jstr0(m, "name"));
	}
	struct field_spec *a = &spec[nform + nmat];
	a->name = "action";
	a->type = FT_CHOICE;
	a->flags = FS_REQUIRED;
	a->choices = process_has_draft(hall_jstr0(item, "process")) ? actions_draft : actions_submit;
	a->label = "操作";
	return spec;
}

/* The hint shown under a form field of type t. */
static const char *type_hint(struct req *r, const char *t, json_t *f)
{
	json_int_t max = hall_jint(f, "max");
	if (strcmp(t, "idcard") == 0)
		return "18 位，最后一位可能是 X";
	if (strcmp(t, "uscc") == 0)
		return "18 位，见营业执照或登记证书";
	if (strcmp(t, "phone") == 0)
		return "11 位手机号码";
	if (strcmp(t, "email") == 0)
		return "例如 name@example.com";
	if (strcmp(t, "date") == 0)
		return "格式：年-月-日，例如 2026-03-05";
	if (strcmp(t, "int") == 0)
		return max ? arena_printf(r->arena, "整数，不超过 %lld", (long long)max) : "整数";
	if (max > 0)
		return arena_printf(r->arena, "不超过 %lld 个字", (long long)max);
	return NULL;
}

/*
 * The form context of hall/apply for item: item, fields (with value, error,
 * hint, widget flags), materials (with error), has_draft.  values and
 * errors (objects; may be NULL) are what the person typed and the problems.
 */
static void apply_ctx(struct req *r, json_t *ctx, json_t *item, json_t *values, json_t *errors)
{
	json_t *fields = json_array();
	size_t i;
	json_t *f;
	json_array_foreach(json_object_get(item, "form"), i, f) {
		const char *name = hall_jstr0(f, "name"), *t = hall_jstr0(f, "type");
		json_t *v = json_object_get(values, name);
		json_t *o = json_pack("{s:s,s:s,s:s,s:b,s:b,s:b,s:b}", "name", name, "label", hall_jstr0(f, "label"),
				      "type", t, "required", json_is_true(json_object_get(f, "required")),
				      "is_textarea", strcmp(t, "textarea") == 0, "is_choice",
				      strcmp(t, "choice") == 0, "is_input",
				      strcmp(t, "textarea") != 0 && strcmp(t, "choice") != 0);
		const char *hint = type_hint(r, t, f);
		if (hint)
			json_object_set_new(o, "hint", json_string(hint));
		const char *itype = strcmp(t, "date") == 0 ? "date" : strcmp(t, "phone") == 0 ? "tel"
				    : strcmp(t, "email") == 0 ? "email" : "text";
		json_object_set_new(o, "input_type", json_string(itype));
		if (strcmp(t, "int") == 0)
			json_object_set_new(o, "numeric", json_true());
		if ((strcmp(t, "text") == 0 || strcmp(t, "textarea") == 0) && hall_jint(f, "max") > 0)
			json_object_set_new(o, "maxlength", json_integer(hall_jint(f, "max")));
		if (v != NULL) {
			if (json_is_string(v))
				json_object_set(o, "value", v);
			else if (json_is_integer(v))
				json_object_set_new(o, "value", json_sprintf("%lld", (long long)json_integer_value(v)));
		}
		const char *err = json_string_value(json_object_get(errors, name));
		if (err)
			json_object_set_new(o, "error", json_string(err));
		if (strcmp(t, "choice") == 0) {
			json_t *ch = json_array();
			size_t k;
			json_t *c;
			const char *cur = json_string_value(v);
			json_array_foreach(json_object_get(f, "choices"), k, c)
				json_array_append_new(ch, json_pack("{s:O,s:b}", "value", c, "selected",
								    cur && strcmp(cur, json_string_value(c)) == 0));
			json_object_set_new(o, "choices", ch);
		}
		json_array_append_new(fields, o);
	}
	json_t *mats = json_array();
	json_array_foreach(json_object_get(item, "materials"), i, f) {
		json_t *o = json_deep_copy(f);
		const char *err = json_string_value(json_object_get(errors, hall_jstr0(f, "code")));
		if (err)
			json_object_set_new(o, "error", json_string(err));
		json_array_append_new(mats, o);
	}
	json_object_set_new(ctx, "title", json_sprintf("在线申请：%s", hall_jstr0(item, "name")));
	json_object_set(ctx, "item", item);
	json_object_set_new(ctx, "fields", fields);
	json_object_set_new(ctx, "materials", mats);
	json_object_set_new(ctx, "has_materials", json_boolean(json_array_size(mats) > 0));
	json_object_set_new(ctx, "has_draft", json_boolean(process_has_draft(hall_jstr0(item, "process"))));
	if (json_object_get(ctx, "idem") == NULL) {
		char idem[33];
		random_hex(idem, 16);
		json_object_set_new(ctx, "idem", json_string(idem));
	}
}

/* GET /hall/items/{code}/apply  ctx: see apply_ctx, idem */
static void hall_page_apply(struct req *r)
{
	json_t *item = hall_item_json(r->st, 0, req_param(r, "code"));
	if (apply_allowed(r, item) == 0) {
		json_t *ctx = json_object();
		apply_ctx(r, ctx, item, NULL, NULL);
		resp_page(r, 200, "hall/apply", ctx);
	}
	json_decref(item);
}

/* The form again after an input error: what was typed (never files), the
 * errors by their fields, and the field's label in the summary. */
static void hall_apply_form_fill(struct req *r, json_t *ctx)
{
	json_t *item = hall_item_json(r->st, 0, req_param(r, "code"));
	if (item == NULL)
		return;
	json_t *values = json_object();
	const char *k;
	json_t *v;
	json_object_foreach(r->in, k, v)
		if (strcmp(k, "action") != 0)
			json_object_set(values, k, v);
	json_object_set_new(ctx, "values", values);
	apply_ctx(r, ctx, item, values, json_object_get(ctx, "errors"));
	json_t *err = json_object_get(ctx, "error");
	const char *field = hall_jstr0(err, "field");
	size_t i;
	json_t *f;
	json_array_foreach(json_object_get(item, "form"), i, f)
		if (strcmp(hall_jstr0(f, "name"), field) == 0)
			json_object_set_new(err, "label", json_string(hall_jstr0(f, "label")));
	json_array_foreach(json_object_get(item, "materials"), i, f)
		if (strcmp(hall_jstr0(f, "code"), field) == 0)
			json_object_set_new(err, "label", json_string(hall_jstr0(f, "name")));
	json_object_set_new(ctx, "retry_files", json_true());
	json_decref(item);
}

/* One stored file to attach, with its material's name. */
struct attach {
	int64_t file_id;
	const char *label;
};

/* Stores the uploads of material fields (files_put); answers and returns -1 on a refusal.
 * out has room for REQ_MAX_UPLOADS entries. */
static int store_uploads(struct req *r, json_t *item, struct attach *out, int *n)
{
	json_t *mats = json_object_get(item, "materials");
	for (int i = 0; i < r->nuploads; i++) {
		const struct upload *up = req_upload_at(r, i);
		const char *label = NULL;
		size_t k;
		json_t *m;
		json_array_foreach(mats, k, m)
			if (strcmp(hall_jstr0(m, "code"), up->field) == 0)
				label = hall_jstr0(m, "name");
		if (label == NULL) {
			field_fail(r, 400, MSG_FIELD_UNKNOWN, up->field);
			return -1;
		}
		struct file_info fi;
		enum msg_id why = MSG_NONE;
		if (files_put(r->st, data_dir(), up->data.data, up->data.len, up->filename, material_types,
			      MATERIAL_MAX, r->who.user_id, &fi, &why) != 0) {
			if (why == MSG_HTTP_500)
				resp_error(r, 500, why, NULL);
			else
				field_fail(r, why == MSG_FILE_TOO_LARGE ? 413 : 400, why, up->field);
			return -1;
		}
		out[*n].file_id = fi.id;
		out[*n].label = arena_strdup(r->arena, label);
		(*n)++;
		file_info_release(&fi);
	}
	return 0;
}

/*
 * The API names files uploaded before (POST /api/v1/files) by material:
 * "files": {"m1": id, "m2": [id, id]}.  Each must be the caller's.  Appends
 * to out (room for REQ_MAX_UPLOADS); answers and returns -1 on a problem.
 */
static int api_files(struct req *r, json_t *item, json_t *files, struct attach *out, int *n)
{
	if (files == NULL)
		return 0;
	if (!json_is_object(files)) {
		field_fail(r, 400, MSG_FIELD_BAD_FORMAT, "files");
		return -1;
	}
	const char *k;
	json_t *v;
	json_object_foreach(files, k, v) {
		const char *label = NULL;
		size_t i;
		json_t *m;
		json_array_foreach(json_object_get(item, "materials"), i, m)
			if (strcmp(hall_jstr0(m, "code"), k) == 0)
				label = hall_jstr0(m, "name");
		if (label == NULL) {
			field_fail(r, 400, MSG_FIELD_UNKNOWN, k);
			return -1;
		}
		json_t *ids = json_is_array(v) ? json_incref(v) : json_pack("[O]", v);
		json_t *id;
		int bad = 0;
		json_array_foreach(ids, i, id) {
			int64_t cnt = 0;
			if (!json_is_integer(id) || *n == REQ_MAX_UPLOADS) {
				bad = 1;
				break;
			}
			struct sval p[] = { SVI(json_integer_value(id)), SVI(r->who.user_id) };
			if (store_query_int(r->st, sql[S_FILE_OWNED], p, 2, &cnt) != STORE_OK) {
				json_decref(ids);
				resp_error(r, 500, MSG_HTTP_500, NULL);
				return -1;
			}
			if (cnt == 0) {
				bad = 1;
				break;
			}
			out[*n].file_id = json_integer_value(id);
			out[*n].label = arena_strdup(r->arena, label);
			(*n)++;
		}
		json_decref(ids);
		if (bad) {
			field_fail(r, 400, MSG_HALL_FILE_NOT_YOURS, k);
			return -1;
		}
	}
	return 0;
}

/* Is every required material of item among the labels in att? Names the first missing one. */
static const char *missing_material(json_t *item, const struct attach *att, int n, json_t *have)
{
	size_t i;
	json_t *m;
	json_array_foreach(json_object_get(item, "materials"), i, m) {
		if (!json_is_true(json_object_get(m, "required")))
			continue;
		int found = 0;
		for (int k = 0; k < n && !found; k++)
			found = strcmp(att[k].label, hall_jstr0(m, "name")) == 0;
		size_t j;
		json_t *a;
		json_array_foreach(have, j, a)
			if (!found && strcmp(hall_jstr0(a, "label"), hall_jstr0(m, "name")) == 0)
				found = 1;
		if (!found)
			return hall_jstr0(m, "code");
	}
	return NULL;
}

/* The last four digits of the user's phone into tail (""). 0, or -1 on a store failure. */
static int phone_tail(struct req *r, char tail[5])
{
	struct store_res *res = NULL;
	struct sval p[] = { SVI(r->who.user_id) };
	tail[0] = '\0';
	if (store_query(r->st, sql[S_PHONE], p, 1, &res) != STORE_OK)
		return -1;
	const char *ph = store_res_rows(res) > 0 ? store_res_text(res, 0, 0) : NULL;
	char digits[4];
	int nd = 0;
	for (const char *s = ph ? ph + strlen(ph) : NULL; s != NULL && s > ph && nd < 4;) {
		s--;
		if (*s >= '0' && *s <= '9')
			digits[3 - nd++] = *s;
	}
	if (nd == 4) {
		memcpy(tail, digits, 4);
		tail[4] = '\0';
	}
	store_res_free(res);
	return 0;
}

/*
 * POST /hall/items/{code}/apply and POST /api/v1/hall/items/{code}/applications:
 * checks the form against the item, stores the materials, creates the case
 * (and submits it), all in the request's transaction.
 */
static void apply(struct req *r)
{
	json_t *item = hall_item_json(r->st, 0, req_param(r, "code"));
	json_t *files = NULL, *data = NULL;
	struct attach att[2 * REQ_MAX_UPLOADS];
	int natt = 0;
	if (apply_allowed(r, item) != 0)
		goto out;
	if (r->is_api) {
		files = json_incref(json_object_get(r->in, "files"));
		json_object_del(r->in, "files");
	}
	const char *action = json_string_value(json_object_get(r->in, "action"));
	int submit = action == NULL || strcmp(action, "draft") != 0;
	if (req_check(r, apply_spec(r, item, submit, !r->is_api)) != 0)
		goto out;
	if (store_uploads(r, item, att, &natt) != 0 || api_files(r, item, files, att, &natt) != 0)
		goto out;
	if (submit) {
		const char *miss = missing_material(item, att, natt, NULL);
		if (miss != NULL) {
			field_fail(r, 400, MSG_HALL_MATERIAL_REQUIRED, miss);
			goto out;
		}
	}
	char tail[5];
	if (phone_tail(r, tail) != 0) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		goto out;
	}
	data = json_deep_copy(r->in);
	json_object_del(data, "action");
	json_object_set_new(data, "item_code", json_string(hall_jstr0(item, "code")));
	struct buf special = BUF_INIT(4096);
	size_t i;
	json_t *s;
	json_array_foreach(json_object_get(item, "special_steps"), i, s)
		if (json_is_true(json_object_get(s, "counts")))
			buf_addf(&special, "%s%s", special.len ? "," : "", hall_jstr0(s, "state"));
	const char *subject = arena_printf(r->arena, "%s（%s）", hall_jstr0(item, "name"), r->who.name ? r->who.name : "");
	struct case_new n = { hall_jstr0(item, "process"), hall_jint(item, "dept_id"), r->who.user_id, subject,
			      hall_jstr0(item, "code"), (int)hall_jint(item, "statutory_days"), (int)hall_jint(item, "promised_days"),
			      special.len ? arena_strdup(r->arena, special.data) : NULL, tail[0] ? tail : NULL, data };
	buf_release(&special);
	struct case_actor who = applicant_actor(r);
	int64_t id = 0;
	char tracking[CASE_TRACKING_LEN + 1];
	enum case_rc rc = case_create(r->st, &n, &who, &id, tracking);
	for (int k = 0; rc == CASE_OK && k < natt; k++)
		rc = case_attach(r->st, id, &who, att[k].file_id, att[k].label, 1);
	if (rc == CASE_OK && submit && process_has_draft(n.process))
		rc = case_act(r->st, id, 1, "submit", &who, NULL, NULL);
	if (rc != CASE_OK) {
		log_error("hall: application for %s failed: %s", n.item_code, case_rc_name(rc));
		resp_error(r, case_status(rc) == 404 ? 500 : case_status(rc), case_msg(rc), NULL);
		goto out;
	}
	if (r->is_api) {
		json_t *cj = case_json(r->st, id, PD_ROLE_APPLICANT, 0);
		char pr[CASE_TRACKING_PRINT_LEN + 1];
		case_tracking_print(tracking, pr);
		resp_json(r, 201, json_pack("{s:I,s:s,s:s,s:s,s:s}", "id", (json_int_t)id, "tracking", tracking,
					    "tracking_print", pr, "state", cj ? hall_jstr0(cj, "state") : "",
					    "href", arena_printf(r->arena, "/hall/cases/%lld", (long long)id)));
		json_decref(cj);
		goto out;
	}
	resp_redirect(r, arena_printf(r->arena, submit ? "/hall/cases/%lld/receipt" : "/hall/cases/%lld?done=draft",
				      (long long)id));
out:
	json_decref(files);
	json_decref(data);
	json_decref(item);
}

static void hall_do_apply(struct req *r)
{
	apply(r);
}

/* ------------------------------------------------------------ a case, for its applicant */

/* The public timeline with times as text; without personal data when anonymous. */
static json_t *timeline_ctx(struct req *r, int64_t id, int anonymous)
{
	json_t *tl = case_timeline(r->st, id, 1);
	size_t i;
	json_t *e;
	json_array_foreach(tl, i, e) {
		json_object_set_new(e, "at_text", json_string(time_text(r, hall_jint(e, "at"))));
		if (anonymous) {
			json_object_del(e, "actor");
			json_object_del(e, "body");
			json_object_del(e, "data");
		}
	}
	return tl;
}

/* The staff's list of missing materials from the last send_back event: an array of strings. */
static json_t *missing_list(json_t *timeline)
{
	json_t *out = json_array();
	for (size_t i = json_array_size(timeline); i-- > 0;) {
		json_t *e = json_array_get(timeline, i);
		if (strcmp(hall_jstr0(e, "name"), "send_back") != 0)
			continue;
		json_t *ml = json_object_get(json_object_get(e, "data"), "missing_list");
		if (json_is_array(ml)) {
			size_t k;
			json_t *x;
			json_array_foreach(ml, k, x)
				if (json_is_string(x))
					json_array_append(out, x);
		} else if (json_is_string(ml)) {
			const char *p = json_string_value(ml);
			while (*p) {
				size_t len = strcspn(p, "\n");
				size_t a = 0, z = len;
				while (a < z && (p[a] == ' ' || p[a] == '\r'))
					a++;
				while (z > a && (p[z - 1] == ' ' || p[z - 1] == '\r'))
					z--;
				if (z > a)
					json_array_append_new(out, json_stringn(p + a, z - a));
				p += len + (p[len] ? 1 : 0);
			}
		}
		break;
	}
	return out;
}

/* Keeps the public attachments (the applicant's view) and adds each file's
 * name, type and size, and its download link. */
static void attachments_ctx(struct req *r, json_t *cj)
{
	size_t i;
	json_t *a;
	int64_t id = hall_jint(cj, "id");
	json_t *all = json_object_get(cj, "attachments");
	for (i = json_array_size(all); i-- > 0;)
		if (!json_is_true(json_object_get(json_array_get(all, i), "public")) &&
		    json_integer_value(json_object_get(json_array_get(all, i), "public")) != 1)
			json_array_remove(all, i);
	json_array_foreach(all, i, a) {
		struct file_info fi;
		if (files_get(r->st, hall_jint(a, "file_id"), &fi) == 0) {
			json_object_set_new(a, "name", json_string(fi.name ? fi.name : ""));
			json_object_set_new(a, "mime", json_string(fi.mime ? fi.mime : ""));
			json_object_set_new(a, "size_kb", json_integer((fi.size + 1023) / 1024));
			file_info_release(&fi);
		}
		json_object_set_new(a, "href", json_sprintf("/hall/files/%lld?case=%lld",
							    (long long)hall_jint(a, "file_id"), (long long)id));
		json_object_set_new(a, "at_text", json_string(time_text(r, hall_jint(a, "created_at"))));
	}
}

/* The "next step" words for a case in state (from the applicant's point of view). */
static const char *next_step(json_t *cj)
{
	const char *st = hall_jstr0(cj, "state");
	if (json_is_true(json_object_get(cj, "final")))
		return "已办结";
	if (strcmp(st, "draft") == 0)
		return "待您提交申请";
	if (strcmp(st, "correction") == 0)
		return "待您补正材料";
	if (strcmp(st, "submitted") == 0)
		return "等待部门预审";
	return "部门办理中";
}

/* The fields of a public event's data its applicant reads (the transition's
 * required fields), in this order; nothing else of the data is shown. */
static const struct {
	const char *name;
	enum msg_id label;
} public_fields[] = {
	{ "missing_list", MSG_HALL_F_MISSING_LIST },
	{ "reason", MSG_HALL_F_REASON },
	{ "opinion", MSG_HALL_F_OPINION },
	{ "result", MSG_HALL_F_RESULT },
};

/* [{label, value}] of the public fields of a public event e (value: text, lines
 * joined by newlines); an empty array for an internal event. */
static json_t *event_details(json_t *e)
{
	json_t *out = json_array();
	json_t *d = json_object_get(e, "data");
	if (!json_is_true(json_object_get(e, "public")) || !json_is_object(d))
		return out;
	for (size_t i = 0; i < sizeof public_fields / sizeof public_fields[0]; i++) {
		json_t *v = json_object_get(d, public_fields[i].name);
		json_t *text = NULL;
		if (json_is_string(v) && json_string_length(v) > 0) {
			text = json_incref(v);
		} else if (json_is_array(v)) {
			struct buf b = BUF_INIT(8192);
			size_t k;
			json_t *x;
			json_array_foreach(v, k, x)
				if (json_is_string(x))
					buf_addf(&b, "%s%s", b.len ? "\n" : "", json_string_value(x));
			if (b.len > 0)
				text = json_stringn(b.data, b.len);
			buf_release(&b);
		}
		if (text != NULL)
			json_array_append_new(out, json_pack("{s:s,s:o}", "label", msg(public_fields[i].label), "value",
							     text));
	}
	return out;
}

/*
 * The applicant's timeline gets each public event's details; a final case
 * its decision ({title, details} of the public step into the final state,
 * when it says why) in ctx.
 */
static void timeline_details(json_t *ctx, json_t *cj, json_t *tl)
{
	size_t i;
	json_t *e, *decision = NULL;
	json_array_foreach(tl, i, e)
		json_object_set_new(e, "details", event_details(e));
	if (!json_is_true(json_object_get(cj, "final")))
		return;
	for (i = json_array_size(tl); i-- > 0;) {
		e = json_array_get(tl, i);
		if (strcmp(hall_jstr0(e, "kind"), "action") != 0 || !json_is_true(json_object_get(e, "public")))
			continue;
		json_t *det = json_object_get(e, "details");
		if (strcmp(hall_jstr0(e, "to"), hall_jstr0(cj, "state")) == 0 && json_array_size(det) > 0)
			decision = json_pack("{s:s,s:O}", "title", hall_jstr0(cj, "state_title"), "details", det);
		break;
	}
	if (decision != NULL)
		json_object_set_new(ctx, "decision", decision);
}

/*
 * The context of hall/case_person: case (case_json with attachments'
 * names and links), files (the attachments but the certificate), item,
 * timeline (public events, each with details: the public fields of its
 * data), decision (a final case's state and why), certificate
 * (hall_certificate_of_case), rating (hall_rating_of_case), clock_stopped,
 * clock_started, missing (补正 list), materials (the item's, each with
 * attached), form (label/value of what was filled in), can_submit,
 * can_resubmit, can_withdraw, is_draft, is_correction, next_step.
 * NULL on a store failure.
 */
static json_t *case_person_ctx(struct req *r, int64_t id)
{
	json_t *cj = case_json(r->st, id, PD_ROLE_APPLICANT, 0);
	if (cj == NULL)
		return NULL;
	json_t *tl = timeline_ctx(r, id, 0);
	if (tl == NULL) {
		json_decref(cj);
		return NULL;
	}
	json_t *cert = hall_certificate_of_case(r->st, id);
	json_t *rating = cert ? hall_rating_of_case(r->st, id) : NULL;
	if (rating == NULL) {
		json_decref(cert);
		json_decref(tl);
		json_decref(cj);
		return NULL;
	}
	attachments_ctx(r, cj);
	json_t *item = hall_item_json(r->st, 0, hall_jstr0(cj, "item_code"));
	json_t *ctx = json_pack("{s:s,s:o,s:o}", "title", hall_jstr0(cj, "subject"), "case", cj, "timeline", tl);
	timeline_details(ctx, cj, tl);
	/* the applicant's materials; an issued certificate has its own panel */
	json_t *files = json_array();
	size_t i;
	json_t *a;
	json_array_foreach(json_object_get(cj, "attachments"), i, a)
		if (!json_is_integer(json_object_get(cert, "file_id")) ||
		    hall_jint(a, "file_id") != hall_jint(cert, "file_id"))
			json_array_append(files, a);
	json_object_set_new(ctx, "files", files);
	json_object_set_new(ctx, "certificate", cert);
	json_object_set_new(ctx, "rating", rating);
	json_t *clocks = json_object_get(cj, "clocks");
	const char *cs = hall_jstr0(clocks, "state");
	json_object_set_new(ctx, "clock_stopped", json_boolean(strcmp(cs, "stop") == 0));
	json_object_set_new(ctx, "clock_started", json_boolean(json_is_string(json_object_get(clocks, "started"))));
	json_object_set_new(ctx, "created_text", json_string(time_text(r, hall_jint(cj, "created_at"))));
	json_object_set_new(ctx, "next_step", json_string(next_step(cj)));
	const char *st = hall_jstr0(cj, "state");
	json_object_set_new(ctx, "is_draft", json_boolean(strcmp(st, "draft") == 0));
	json_object_set_new(ctx, "is_correction", json_boolean(strcmp(st, "correction") == 0));
	json_object_set_new(ctx, "has_receipt", json_boolean(strcmp(st, "draft") != 0 && strcmp(st, "withdrawn") != 0));
	json_array_foreach(json_object_get(cj, "actions"), i, a) {
		const char *act = hall_jstr0(a, "action");
		if (strcmp(act, "submit") == 0 || strcmp(act, "resubmit") == 0 || strcmp(act, "withdraw") == 0)
			json_object_set_new(ctx, arena_printf(r->arena, "can_%s", act), json_true());
	}
	json_object_set_new(ctx, "missing", missing_list(tl));
	if (item != NULL) {
		json_t *mats = json_array();
		json_t *m;
		json_array_foreach(json_object_get(item, "materials"), i, m) {
			int have = 0;
			size_t k;
			json_array_foreach(json_object_get(cj, "attachments"), k, a)
				if (strcmp(hall_jstr0(a, "label"), hall_jstr0(m, "name")) == 0)
					have = 1;
			json_t *o = json_deep_copy(m);
			json_object_set_new(o, "attached", json_boolean(have));
			json_object_set_new(o, "must_upload",
					    json_boolean(!have && json_is_true(json_object_get(m, "required"))));
			json_array_append_new(mats, o);
		}
		json_object_set_new(ctx, "materials", mats);
		json_t *form = json_array();
		json_t *data = json_object_get(cj, "data"), *f;
		json_array_foreach(json_object_get(item, "form"), i, f) {
			json_t *v = json_object_get(data, hall_jstr0(f, "name"));
			if (v == NULL)
				continue;
			json_t *o = json_pack("{s:s}", "label", hall_jstr0(f, "label"));
			if (json_is_integer(v))
				json_object_set_new(o, "value", json_sprintf("%lld", (long long)json_integer_value(v)));
			else
				json_object_set(o, "value", v);
			json_array_append_new(form, o);
		}
		json_object_set_new(ctx, "form", form);
		json_object_set_new(ctx, "item", item);
	}
	return ctx;
}

static void case_person_page(struct req *r, int64_t id, int status, enum msg_id why, const char *field)
{
	json_t *ctx = case_person_ctx(r, id);
	if (ctx == NULL) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	if (why != MSG_NONE)
		json_object_set_new(ctx, "error", json_pack("{s:s,s:s}", "field", field ? field : "", "message",
							    msg(why)));
	const char *done = req_query(r, "done");
	if (status == 200 && done != NULL) {
		if (strcmp(done, "draft") == 0)
			json_object_set_new(ctx, "done_text", json_string(msg(MSG_HALL_APPLY_SAVED)));
		else if (strcmp(done, "resubmit") == 0)
			json_object_set_new(ctx, "done_text", json_string("补正材料已提交，请等待部门预审"));
		else if (strcmp(done, "withdraw") == 0)
			json_object_set_new(ctx, "done_text", json_string("申请已撤回"));
	}
	resp_page(r, status, "hall/case_person", ctx);
}

/* GET /hall/cases/{id}: the applicant's page, or the staff's (handle.c). */
static void hall_page_case(struct req *r)
{
	int64_t id, applicant, dept;
	if (req_param_id(r, "id", &id) != 0)
		return;
	int rc = case_owner(r, id, &applicant, &dept);
	if (rc < 0) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	if (rc == 1 && applicant == r->who.user_id && r->who.kind != ACCT_STAFF) {
		case_person_page(r, id, 200, MSG_NONE, NULL);
		return;
	}
	if (rc == 1 && hall_staff_roles(r, dept) != 0) {
		hall_case_staff_page(r, id);
		return;
	}
	resp_error(r, 404, MSG_HALL_CASE_NOT_FOUND, NULL);
}

/* The input form re-rendered after a bad POST .../act: the case page with the error. */
static void hall_case_act_fill(struct req *r, json_t *ctx)
{
	int64_t id = 0;
	const char *p = req_param(r, "id");
	id = p ? strtoll(p, NULL, 10) : 0;
	json_t *c = id > 0 ? case_person_ctx(r, id) : NULL;
	if (c == NULL)
		return;
	json_object_del(c, "values");
	json_object_update_missing(ctx, c);
	json_decref(c);
}

/* The applicant's actions out of the case's current process: choices for "action". */
static const char *const *applicant_actions(struct req *r, const char *process)
{
	const struct procdef *p = procdef_get(process);
	int n = p ? p->ntr : 0;
	const char **out = arena_alloc(r->arena, ((size_t)n + 1) * sizeof *out);
	int k = 0;
	for (int i = 0; i < n; i++) {
		if (!(p->tr[i].roles & PD_ROLE_APPLICANT))
			continue;
		int dup = 0;
		for (int j = 0; j < k; j++)
			dup |= strcmp(out[j], p->tr[i].action) == 0;
		if (!dup)
			out[k++] = p->tr[i].action;
	}
	out[k] = NULL;
	return out;
}

/*
 * An applicant's action on a case (page and API): action, version,
 * comment, materials (m1.. files on the page; "files" on the API).  0 with
 * *action after success; -1 after answering the problem.
 */
static int case_action(struct req *r, int64_t id, const char **action_out)
{
	json_t *cj = NULL, *item = NULL, *files = NULL, *fields = NULL;
	struct attach att[2 * REQ_MAX_UPLOADS];
	int natt = 0, rc = -1;
	if (own_case(r, id) != 0)
		return -1;
	cj = case_json(r->st, id, PD_ROLE_APPLICANT, 0);
	if (cj == NULL) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		goto out;
	}
	item = hall_item_json(r->st, 0, hall_jstr0(cj, "item_code"));
	if (item == NULL)
		item = json_pack("{s:[],s:[]}", "materials", "form");
	if (r->is_api) {
		files = json_incref(json_object_get(r->in, "files"));
		json_object_del(r->in, "files");
	}
	json_t *mats = json_object_get(item, "materials");
	size_t nmat = r->is_api ? 0 : json_array_size(mats);
	struct field_spec *spec = arena_alloc(r->arena, (nmat + 4) * sizeof *spec);
	spec[0] = (struct field_spec){ "action", FT_CHOICE, FS_REQUIRED, 0, 0,
				       applicant_actions(r, hall_jstr0(cj, "process")), "操作" };
	spec[1] = (struct field_spec){ "version", FT_INT, FS_REQUIRED, 1, INT64_MAX, NULL, "版本" };
	spec[2] = (struct field_spec){ "comment", FT_TEXTAREA, 0, 0, 1000, NULL, "说明" };
	for (size_t i = 0; i < nmat; i++) {
		json_t *m = json_array_get(mats, i);
		spec[3 + i] = (struct field_spec){ arena_strdup(r->arena, hall_jstr0(m, "code")), FT_FILE, 0, 0,
						   MATERIAL_MAX, NULL, arena_strdup(r->arena, hall_jstr0(m, "name")) };
	}
	if (req_check(r, spec) != 0)
		goto out;
	const char *action = req_in_str(r, "action");
	int64_t version = req_in_int(r, "version", 0);
	/* A stale page changes nothing, materials included. */
	if (version != hall_jint(cj, "version")) {
		resp_error(r, 409, MSG_HALL_CASE_CONFLICT, "version");
		goto out;
	}
	if (store_uploads(r, item, att, &natt) != 0 || api_files(r, item, files, att, &natt) != 0)
		goto out;
	if (strcmp(action, "submit") == 0) {
		const char *miss = missing_material(item, att, natt, json_object_get(cj, "attachments"));
		if (miss != NULL) {
			field_fail(r, 400, MSG_HALL_MATERIAL_REQUIRED, miss);
			goto out;
		}
	}
	struct case_actor who = applicant_actor(r);
	enum case_rc crc = CASE_OK;
	for (int k = 0; crc == CASE_OK && k < natt; k++)
		crc = case_attach(r->st, id, &who, att[k].file_id, att[k].label, 1);
	const char *comment = req_in_str(r, "comment");
	if (comment != NULL)
		fields = json_pack("{s:s}", "comment", comment);
	const char *missing = NULL;
	if (crc == CASE_OK)
		crc = case_act(r->st, id, version, action, &who, fields, &missing);
	if (crc != CASE_OK) {
		enum msg_id why = case_msg(crc);
		int status = case_status(crc);
		if (r->is_api || crc == CASE_STORE || crc == CASE_NO_PROCESS) {
			resp_error(r, status, why, crc == CASE_MISSING_FIELD ? missing : NULL);
		} else {
			/* Nothing of this request stays; the page shows the case as it is now. */
			store_rollback(r->st);
			case_person_page(r, id, status, why, crc == CASE_MISSING_FIELD ? missing : NULL);
		}
		goto out;
	}
	*action_out = action;
	rc = 0;
out:
	json_decref(fields);
	json_decref(files);
	json_decref(item);
	json_decref(cj);
	return rc;
}

/* POST /hall/cases/{id}/act */
static void hall_do_case_act(struct req *r)
{
	int64_t id;
	const char *action = NULL;
	if (req_param_id(r, "id", &id) != 0 || case_action(r, id, &action) != 0)
		return;
	if (strcmp(action, "submit") == 0)
		resp_redirect(r, arena_printf(r->arena, "/hall/cases/%lld/receipt", (long long)id));
	else
		resp_redirect(r, arena_printf(r->arena, "/hall/cases/%lld?done=%s", (long long)id, action));
}

/* GET /hall/cases/{id}/receipt  ctx: case, item, submitted_text, qr_src, track_url, phone_tail,
 * promised_deadline, promised_days */
static void hall_page_receipt(struct req *r)
{
	int64_t id;
	if (req_param_id(r, "id", &id) != 0 || own_case(r, id) != 0)
		return;
	json_t *cj = case_json(r->st, id, PD_ROLE_APPLICANT, 0);
	json_t *tl = cj ? case_timeline(r->st, id, 1) : NULL;
	if (tl == NULL) {
		json_decref(cj);
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	if (strcmp(hall_jstr0(cj, "state"), "draft") == 0) {
		json_decref(cj);
		json_decref(tl);
		resp_redirect(r, arena_printf(r->arena, "/hall/cases/%lld", (long long)id));
		return;
	}
	json_int_t at = hall_jint(cj, "created_at");
	size_t i;
	json_t *e;
	json_array_foreach(tl, i, e)
		if (strcmp(hall_jstr0(e, "name"), "submit") == 0 || strcmp(hall_jstr0(e, "name"), "resubmit") == 0)
			at = hall_jint(e, "at");
	json_decref(tl);
	const char *url = track_url(r, hall_jstr0(cj, "tracking"));
	char *qr = qr_data_uri(url);
	char tail[5];
	if (phone_tail(r, tail) != 0)
		tail[0] = '\0';
	json_t *item = hall_item_json(r->st, 0, hall_jstr0(cj, "item_code"));
	json_t *prom = json_object_get(json_object_get(cj, "clocks"), "promised");
	json_t *ctx = json_pack("{s:s,s:o,s:s,s:s,s:s}", "title", "受理回执", "case", cj, "submitted_text",
				time_text(r, at), "track_url", url, "phone_tail", tail);
	if (qr != NULL)
		json_object_set_new(ctx, "qr_src", json_string(qr));
	free(qr);
	json_t *dl = json_object_get(prom, "deadline");
	if (json_is_string(dl))
		json_object_set(ctx, "promised_deadline", dl);
	if (json_is_object(prom))
		json_object_set(ctx, "promised_days", json_object_get(prom, "limit"));
	if (item != NULL)
		json_object_set_new(ctx, "item", item);
	resp_page(r, 200, "hall/receipt", ctx);
}

/* GET /hall/files/{id}?case=N: a file attached to a case the user may see. */
static void hall_file(struct req *r)
{
	int64_t fid, applicant, dept, n = 0;
	int64_t cid = req_in_int(r, "case", 0);
	if (req_param_id(r, "id", &fid) != 0)
		return;
	int rc = case_owner(r, cid, &applicant, &dept);
	if (rc < 0) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	int mine = rc == 1 && applicant == r->who.user_id && r->who.kind != ACCT_STAFF;
	if (rc == 0 || (!mine && hall_staff_roles(r, dept) == 0)) {
		resp_error(r, 404, MSG_NONE, NULL);
		return;
	}
	/* The applicant gets the case's public attachments only; staff get all. */
	int staff = hall_staff_roles(r, dept) != 0;
	struct sval p[] = { SVI(cid), SVI(fid) };
	if (store_query_int(r->st, sql[staff ? S_ATTACHED : S_ATTACHED_PUBLIC], p, 2, &n) != STORE_OK) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	struct file_info fi;
	if (n == 0 || files_get(r->st, fid, &fi) != 0) {
		resp_error(r, 404, MSG_NONE, NULL);
		return;
	}
	resp_file(r, &fi, data_dir(), 1);
	file_info_release(&fi);
}

/* GET /cases/{id}: notifications link here. */
static void hall_case_redirect(struct req *r)
{
	int64_t id;
	if (req_param_id(r, "id", &id) == 0)
		resp_redirect(r, arena_printf(r->arena, "/hall/cases/%lld", (long long)id));
}

/* ------------------------------------------------------------ 我的办件 */

/* The user's cases, newest first: {"items":[...], "next": id|null}; NULL on a failure. */
static json_t *my_cases(struct req *r, int64_t after, int limit)
{
	struct store_res *res = NULL;
	struct sval p[] = { SVI(r->who.user_id), SVI(after), SVI(limit + 1) };
	if (store_query(r->st, sql[S_MY], p, 3, &res) != STORE_OK)
		return NULL;
	json_t *items = json_array();
	int rows = store_res_rows(res);
	for (int i = 0; i < rows && i < limit; i++) {
		json_t *cj = case_json(r->st, store_res_int(res, i, 0), PD_ROLE_APPLICANT, 1);
		if (cj == NULL) {
			json_decref(items);
			store_res_free(res);
			return NULL;
		}
		json_object_set_new(cj, "next_step", json_string(next_step(cj)));
		json_object_set_new(cj, "created_text", json_string(time_text(r, hall_jint(cj, "created_at"))));
		json_object_set_new(cj, "needs_me", json_boolean(strcmp(hall_jstr0(cj, "state"), "draft") == 0 ||
								 strcmp(hall_jstr0(cj, "state"), "correction") == 0));
		json_object_del(cj, "attachments");
		json_array_append_new(items, cj);
	}
	json_t *next = rows > limit ? json_integer(store_res_int(res, limit - 1, 0)) : json_null();
	store_res_free(res);
	return json_pack("{s:o,s:o}", "items", items, "next", next);
}

/* GET /hall/my  ctx: page {items, next}, next_href */
static void hall_page_my(struct req *r)
{
	json_t *page = my_cases(r, req_in_int(r, "after", 0), MY_PAGE);
	if (page == NULL) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	json_t *ctx = json_pack("{s:s,s:O}", "title", "我的办件", "page", page);
	json_t *next = json_object_get(page, "next");
	if (json_is_integer(next))
		json_object_set_new(ctx, "next_href", json_sprintf("/hall/my?after=%lld", (long long)json_integer_value(next)));
	json_decref(page);
	resp_page(r, 200, "hall/my_cases", ctx);
}

/* Desk: the applicant's cases waiting for them (draft, correction). */
static int desk_cases(struct req *r, json_t *items)
{
	if (r->who.kind != ACCT_CITIZEN && r->who.kind != ACCT_ENTERPRISE)
		return 0;
	struct store_res *res = NULL;
	struct sval p[] = { SVI(r->who.user_id) };
	if (store_query(r->st, sql[S_DESK], p, 1, &res) != STORE_OK)
		return -1;
	for (int i = 0; i < store_res_rows(res); i++) {
		const char *state = store_res_text(res, i, 2);
		int draft = strcmp(state, "draft") == 0;
		json_array_append_new(items, json_pack("{s:s,s:s,s:s,s:s,s:b,s:s}", "kind", "case", "title",
						       store_res_text(res, i, 1), "href",
						       arena_printf(r->arena, "/hall/cases/%lld",
								    (long long)store_res_int(res, i, 0)),
						       "status", draft ? "待提交" : "待补正", "failed", 0, "level",
						       "warn"));
	}
	store_res_free(res);
	return 0;
}

void hall_apply_register(void)
{
	desk_register(desk_cases);
}

/* ------------------------------------------------------------ the public status page */

/* 1 when the address is throttled, 0 when not, -1 on a store failure. */
static int track_locked(struct req *r, const char *key)
{
	struct store_res *res = NULL;
	struct sval p[] = { SVT(key) };
	if (store_query(r->st, sql[S_THR_GET], p, 1, &res) != STORE_OK)
		return -1;
	int locked = store_res_rows(res) > 0 && time(NULL) - store_res_int(res, 0, 0) < TRACK_WINDOW &&
		     store_res_int(res, 0, 1) >= TRACK_MAX_FAIL;
	store_res_free(res);
	return locked;
}

static void track_fail(struct req *r, const char *key)
{
	struct store_res *res = NULL;
	struct sval p[] = { SVT(key) };
	if (store_query(r->st, sql[S_THR_GET], p, 1, &res) != STORE_OK)
		return;
	int64_t now = (int64_t)time(NULL), ws = now, n = 1;
	if (store_res_rows(res) > 0 && now - store_res_int(res, 0, 0) < TRACK_WINDOW) {
		ws = store_res_int(res, 0, 0);
		n = store_res_int(res, 0, 1) + 1;
	}
	store_res_free(res);
	struct sval q[] = { SVT(key), SVI(ws), SVI(n), SVI(n >= TRACK_MAX_FAIL ? ws + TRACK_WINDOW : 0) };
	if (store_exec(r->st, sql[S_THR_PUT], q, 4, NULL) != STORE_OK)
		log_warn("hall: track throttle not recorded");
}

/*
 * The public look-up shared by the page and the API: 0 with *out (case
 * public view with "timeline"), or -1 with *status and *why.
 */
static int track_lookup(struct req *r, const char *code, const char *phone, json_t **out, int *status,
			enum msg_id *why)
{
	const char *key = arena_printf(r->arena, "track:%s", req_ip(r));
	int64_t id = 0;
	*out = NULL;
	int lk = track_locked(r, key);
	if (lk != 0) {
		*status = lk < 0 ? 500 : 429;
		*why = lk < 0 ? MSG_HTTP_500 : MSG_HALL_TRACK_THROTTLED;
		return -1;
	}
	enum case_rc rc = case_find_tracking(r->st, code, phone ? phone : "", &id);
	if (rc == CASE_NOT_FOUND || rc == CASE_INVALID) {
		track_fail(r, key);
		*status = 404;
		*why = MSG_HALL_TRACK_NOT_FOUND;
		return -1;
	}
	json_t *cj = rc == CASE_OK ? case_json(r->st, id, 0, 1) : NULL;
	json_t *tl = cj ? timeline_ctx(r, id, 1) : NULL;
	if (tl == NULL) {
		json_decref(cj);
		*status = 500;
		*why = MSG_HTTP_500;
		return -1;
	}
	/* Names of the public attachments only. */
	size_t i;
	json_t *a;
	json_array_foreach(json_object_get(cj, "attachments"), i, a) {
		json_object_del(a, "file_id");
		json_object_del(a, "id");
	}
	json_object_set_new(cj, "timeline", tl);
	json_object_set_new(cj, "created_text", json_string(time_text(r, hall_jint(cj, "created_at"))));
	*out = cj;
	return 0;
}

/* GET /hall/track[?code=&phone=]  ctx: values, found (case public view), error */
static void hall_page_track(struct req *r)
{
	const char *code = req_in_str(r, "code"), *phone = req_in_str(r, "phone");
	json_t *ctx = json_pack("{s:s}", "title", "办件进度查询");
	json_object_set(ctx, "values", r->in);
	if (code == NULL || phone == NULL) {
		resp_page(r, 200, "hall/track", ctx);
		return;
	}
	json_t *found = NULL;
	int status = 200;
	enum msg_id why = MSG_NONE;
	if (track_lookup(r, code, phone, &found, &status, &why) != 0) {
		json_object_set_new(ctx, "error", json_pack("{s:s,s:s}", "field", "code", "message", msg(why)));
		resp_page(r, status, "hall/track", ctx);
		return;
	}
	json_object_set_new(ctx, "found", found);
	resp_page(r, 200, "hall/track", ctx);
}

/* GET /api/v1/hall/track?code=&phone= */
static void hall_api_track(struct req *r)
{
	json_t *found = NULL;
	int status = 200;
	enum msg_id why = MSG_NONE;
	if (track_lookup(r, req_in_str(r, "code"), req_in_str(r, "phone"), &found, &status, &why) != 0) {
		resp_error(r, status, why, NULL);
		return;
	}
	resp_json(r, 200, found);
}

/* ------------------------------------------------------------ API */

/* POST /api/v1/files: one file (JPG, PNG, PDF) for a later application. */
static void hall_api_file_upload(struct req *r)
{
	const struct upload *up = req_upload(r, "file");
	struct file_info fi;
	enum msg_id why = MSG_NONE;
	if (up == NULL) {
		resp_error(r, 400, MSG_FIELD_REQUIRED, "file");
		return;
	}
	if (files_put(r->st, data_dir(), up->data.data, up->data.len, up->filename, material_types, MATERIAL_MAX,
		      r->who.user_id, &fi, &why) != 0) {
		resp_error(r, why == MSG_HTTP_500 ? 500 : why == MSG_FILE_TOO_LARGE ? 413 : 400, why,
			   why == MSG_HTTP_500 ? NULL : "file");
		return;
	}
	resp_json(r, 201, json_pack("{s:I,s:s,s:s,s:I,s:s}", "id", (json_int_t)fi.id, "sha256", fi.sha256, "mime",
				    fi.mime ? fi.mime : "", "size", (json_int_t)fi.size, "name", fi.name ? fi.name : ""));
	file_info_release(&fi);
}

/* POST /api/v1/hall/items/{code}/applications */
static void hall_api_apply(struct req *r)
{
	apply(r);
}

/* GET /api/v1/hall/cases?after=&limit= */
static void hall_api_my_cases(struct req *r)
{
	json_t *page = my_cases(r, req_in_int(r, "after", 0), (int)req_in_int(r, "limit", MY_PAGE));
	if (page == NULL) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	resp_json(r, 200, page);
}

/* GET /api/v1/hall/cases/{id}: the applicant's view with the public timeline. */
static void hall_api_case(struct req *r)
{
	int64_t id;
	if (req_param_id(r, "id", &id) != 0 || own_case(r, id) != 0)
		return;
	json_t *cj = case_json(r->st, id, PD_ROLE_APPLICANT, 0);
	json_t *tl = cj ? case_timeline(r->st, id, 1) : NULL;
	if (tl == NULL) {
		json_decref(cj);
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	json_object_set_new(cj, "timeline", tl);
	json_object_set_new(cj, "missing_list", missing_list(tl));
	attachments_ctx(r, cj);     /* the public attachments only, with their links */
	resp_json(r, 200, cj);
}

/* POST /api/v1/hall/cases/{id}/actions {action, version, comment?, files?} */
static void hall_api_case_action(struct req *r)
{
	int64_t id;
	const char *action = NULL;
	if (req_param_id(r, "id", &id) != 0 || case_action(r, id, &action) != 0)
		return;
	json_t *cj = case_json(r->st, id, PD_ROLE_APPLICANT, 0);
	if (cj == NULL) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	resp_json(r, 200, json_pack("{s:I,s:s,s:s,s:I}", "id", (json_int_t)id, "state", hall_jstr0(cj, "state"),
				    "state_title", hall_jstr0(cj, "state_title"), "version", (json_int_t)hall_jint(cj, "version")));
	json_decref(cj);
}

/* ------------------------------------------------------------ routes */

static const struct field_spec fs_case_view[] = {
	{ "done", FT_TEXT, 0, 0, 32, NULL, "结果" },
	{ "saved", FT_TEXT, 0, 0, 32, NULL, "已保存" },
	{ NULL },
};

static const struct field_spec fs_file_get[] = {
	{ "case", FT_INT, FS_REQUIRED, 1, INT64_MAX, NULL, "办件" },
	{ NULL },
};

static const struct field_spec fs_my[] = {
	{ "after", FT_INT, 0, 0, INT64_MAX, NULL, "游标" },
	{ "limit", FT_INT, 0, 1, 100, NULL, "每页条数" },
	{ NULL },
};

static const struct field_spec fs_track[] = {
	{ "code", FT_TEXT, 0, 0, 32, NULL, "查询码" },
	{ "phone", FT_TEXT, 0, 0, 11, NULL, "手机号后四位" },
	{ NULL },
};

static const struct field_spec fs_track_api[] = {
	{ "code", FT_TEXT, FS_REQUIRED, 1, 32, NULL, "查询码" },
	{ "phone", FT_TEXT, FS_REQUIRED, 1, 11, NULL, "手机号后四位" },
	{ NULL },
};

static const struct field_spec fs_upload[] = {
	{ "file", FT_FILE, FS_REQUIRED, 0, MATERIAL_MAX, NULL, "文件" },
	{ NULL },
};

#define DYN (RF_UPLOAD | RF_DYNAMIC | RF_CSRF)
#define API_DYN (RF_API | RF_DYNAMIC | RF_CSRF)
const struct route hall_apply_routes[] = {
	{ HM_GET, "/hall/items/{code}/apply", hall_page_apply, ROLE_PERSON, 0, NULL, NULL, NULL,
	  "An item's application form" },
	{ HM_POST, "/hall/items/{code}/apply", hall_do_apply, ROLE_PERSON, DYN | RF_IDEM, NULL, "hall/apply",
	  hall_apply_form_fill, "Apply for an item: the form, its materials as files; draft or submit" },
	{ HM_GET, "/hall/cases/{id}", hall_page_case, ROLE_USER, 0, fs_case_view, NULL, NULL,
	  "A case: the applicant's page or the staff's" },
	{ HM_POST, "/hall/cases/{id}/act", hall_do_case_act, ROLE_PERSON, DYN | RF_IDEM, NULL, "hall/case_person",
	  hall_case_act_fill, "The applicant's action on a case (submit, resubmit with materials, withdraw)" },
	{ HM_GET, "/hall/cases/{id}/receipt", hall_page_receipt, ROLE_PERSON, 0, NULL, NULL, NULL,
	  "受理回执 with the tracking code and a QR code" },
	{ HM_GET, "/hall/files/{id}", hall_file, ROLE_USER, 0, fs_file_get, NULL, NULL,
	  "A file attached to a case the user may see" },
	{ HM_GET, "/hall/my", hall_page_my, ROLE_PERSON, 0, fs_my, NULL, NULL, "我的办件" },
	{ HM_GET, "/hall/track", hall_page_track, ROLE_PUBLIC, 0, fs_track, NULL, NULL,
	  "Public status page: tracking code and the phone's last four digits" },
	{ HM_GET, "/cases/{id}", hall_case_redirect, ROLE_USER, 0, NULL, NULL, NULL,
	  "Notification links: redirect to the case" },
	{ HM_POST, "/api/v1/files", hall_api_file_upload, ROLE_PERSON, RF_API | RF_CSRF | RF_UPLOAD | RF_IDEM,
	  fs_upload, NULL, NULL, "Upload one file (JPG, PNG or PDF, sniffed) for an application: {id, sha256, mime, size}" },
	{ HM_POST, "/api/v1/hall/items/{code}/applications", hall_api_apply, ROLE_PERSON, API_DYN | RF_IDEM, NULL,
	  NULL, NULL,
	  "Apply for an item: the form's fields, action (draft|submit), files {material code: file id}" },
	{ HM_GET, "/api/v1/hall/cases", hall_api_my_cases, ROLE_PERSON, RF_API, fs_my, NULL, NULL,
	  "The caller's cases, newest first (cursor pagination)" },
	{ HM_GET, "/api/v1/hall/cases/{id}", hall_api_case, ROLE_PERSON, RF_API, NULL, NULL, NULL,
	  "One of the caller's cases with its public timeline" },
	{ HM_POST, "/api/v1/hall/cases/{id}/actions", hall_api_case_action, ROLE_PERSON, API_DYN | RF_IDEM, NULL,
	  NULL, NULL, "The applicant's action: action, version, comment, files {material code: file id}" },
	{ HM_GET, "/api/v1/hall/track", hall_api_track, ROLE_PUBLIC, RF_API, fs_track_api, NULL, NULL,
	  "Public status look-up by tracking code and the phone's last four digits" },
	{ 0, NULL, NULL, 0, 0, NULL, NULL, NULL, NULL },
};
