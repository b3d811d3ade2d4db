/*
 * Import into and export out of registries (the engine's transfer.h) as
 * jobs: the pages and API that start them, the job kinds registry.import and
 * registry.export, the import report and the export download, and the CLI
 * commands `yizhan import` and `yizhan export`.
 *
 * Who may do what:
 *   import  staff of the registry's owning department (a role there);
 *   export  the owning department's staff: every field, unmasked; another
 *           department: what share_right_for allows (granted fields
 *           unmasked, unconditional ones with personal fields masked),
 *           nothing of 不予共享.  The right is checked when asked and again
 *           when the job runs.  Each export is audited (registry.export with
 *           its fields) and, when it holds personal or conditional data,
 *           recorded with reg_access_log (via "export", purpose 导出).
 *   download only the person who asked for the export.
 *
 * Files: an uploaded import is stored with files_put (sniffed: CSV text or
 * XLSX) in the request's transaction and the job reads it from the store;
 * an export is written to DATA/tmp, then stored with files_put and served
 * with resp_file (Content-Disposition with the Chinese name, RFC 5987).
 */
#include "apps/share/share_int.h"
#include "core/audit.h"
#include "core/conf.h"
#include "core/files.h"
#include "core/jobs.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "engines/registry/transfer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define IMPORT_MAX (100L * 1024 * 1024)          /* bytes of an uploaded file (max_upload bounds it too) */
#define EXPORT_FILE_MAX ((size_t)4 << 30)         /* bytes of a stored export */
#define RECENT_JOBS 10
/* reg_access.via of an export.  Meant to be "export"; access.c accepts only api, page, verify and
 * batch so far (registry.h), so exports are logged as "batch" until it accepts "export". */
#define EXPORT_VIA "export"

static const char *const import_types[] = {
	/* libmagic calls some CSV text x-Algol68; the readers decide what the bytes really are */
	"text/plain", "text/csv", "application/csv", "text/x-Algol68", "application/zip",
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", NULL,
};
static const char *const export_types[] = {
	"text/plain", "text/csv", "application/csv", "application/json", "application/zip",
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "application/octet-stream", NULL,
};

static const char *const mode_choices[] = { "all_or_nothing", "skip_invalid", NULL };
static const char *const format_choices[] = { "csv", "json", "xlsx", NULL };

enum tr_stmt { S_IN_DEPT, S_RECENT, S__MAX };
static const char *const sql[S__MAX] = {
	[S_IN_DEPT] = "SELECT COUNT(*) FROM user_roles WHERE user_id = $1 AND dept_id = $2",
	[S_RECENT] = "SELECT id, state, params, result, message, created_at, done, total FROM jobs "
		     "WHERE user_id = $1 AND kind = $2 ORDER BY id DESC LIMIT 50",
};

/* ------------------------------------------------------------ helpers */

static const char *data_dir(void)
{
	const struct server_ctx *c = http_ctx();
	return c != NULL && c->conf != NULL ? c->conf->data : NULL;
}

static int user_in_dept(struct store *st, int64_t user_id, int64_t dept_id)
{
	int64_t n = 0;
	struct sval p[] = { SVI(user_id), SVI(dept_id) };
	return user_id > 0 && dept_id > 0 && store_query_int(st, sql[S_IN_DEPT], p, 2, &n) == STORE_OK && n > 0;
}

/* The registry of the path's {code}; answers 404 and returns NULL when there is none. */
static const struct registry *path_registry(struct req *r)
{
	const char *code = req_param(r, "code");
	const struct registry *reg = code != NULL ? registry_get(r->st, code) : NULL;
	if (reg == NULL)
		resp_error(r, 404, MSG_SHARE_NO_REGISTRY, NULL);
	return reg;
}

static int audit_req(struct req *r, const char *action, const char *object, int64_t dept, const char *detail)
{
	struct audit_entry e = { r->who.user_id, r->who.login ? r->who.login : "anonymous", action, object, dept,
				 r->ip, detail };
	if (audit_append(r->st, &e) == 0)
		return 0;
	resp_error(r, 500, MSG_HTTP_500, NULL);
	return -1;
}

static const char *field_label(const struct registry *reg, const char *name)
{
	int i = name != NULL ? reg_field_index(&reg->def, name) : -1;
	return i >= 0 && reg->def.fields[i].label ? reg->def.fields[i].label : (name ? name : "");
}

/* "2026-11-22 14:07" (local time) into out. */
static void time_text(int64_t t, char *out, size_t cap)
{
	struct tm tm;
	time_t tt = (time_t)t;
	if (t <= 0 || localtime_r(&tt, &tm) == NULL || strftime(out, cap, "%Y-%m-%d %H:%M", &tm) == 0)
		snprintf(out, cap, "-");
}

static const char *state_label(const char *state)
{
	if (strcmp(state, "queued") == 0)
		return msg(MSG_JOB_QUEUED);
	if (strcmp(state, "running") == 0)
		return msg(MSG_JOB_RUNNING);
	if (strcmp(state, "done") == 0)
		return msg(MSG_JOB_DONE);
	return msg(MSG_JOB_FAILED);
}

/* The user's recent jobs of kind for registry code: [{id,state,state_label,at,message,result}]. */
static json_t *recent_jobs(struct store *st, int64_t user_id, const char *kind, const char *code)
{
	struct store_res *res = NULL;
	struct sval p[] = { SVI(user_id), SVT(kind) };
	json_t *a = json_array();
	if (store_query(st, sql[S_RECENT], p, 2, &res) != STORE_OK)
		return a;
	for (int i = 0; i < store_res_rows(res) && json_array_size(a) < RECENT_JOBS; i++) {
		json_t *params = json_loads(store_res_text(res, i, 2), 0, NULL);
		const char *reg = json_string_value(json_object_get(params, "registry"));
		if (reg == NULL || strcmp(reg, code) != 0) {
			json_decref(params);
			continue;
		}
		const char *state = store_res_text(res, i, 1), *rs = store_res_text(res, i, 3);
		const char *m = store_res_text(res, i, 4);
		char at[32];
		time_text(store_res_int(res, i, 5), at, sizeof at);
		json_t *result = rs ? json_loads(rs, 0, NULL) : NULL;
		json_t *o = json_pack("{s:I,s:s,s:s,s:s,s:s,s:b,s:b,s:o,s:O}", "id", (json_int_t)store_res_int(res, i, 0),
				      "state", state, "state_label", state_label(state), "at", at, "message",
				      m ? m : "", "done", strcmp(state, "done") == 0, "failed",
				      strcmp(state, "failed") == 0, "result", result ? result : json_null(), "params",
				      params);
		json_array_append_new(a, o);
		json_decref(params);
	}
	store_res_free(res);
	return a;
}

/* A job of kind that belongs to the signed-in user, or NULL (404 answered). */
static json_t *own_job(struct req *r, const char *kind, enum msg_id not_found)
{
	int64_t id;
	if (req_param_id(r, "job", &id) != 0)
		return NULL;
	json_t *j = jobs_json(r->st, id);
	if (j == NULL || json_integer_value(json_object_get(j, "user_id")) != r->who.user_id ||
	    strcmp(json_string_value(json_object_get(j, "kind")), kind) != 0) {
		json_decref(j);
		resp_error(r, 404, not_found, NULL);
		return NULL;
	}
	return j;
}

/* ------------------------------------------------------------ import: job */

struct imp_job {
	struct job *j;
	int64_t est;
};

static void imp_job_progress(void *arg, int phase, int64_t rows, int64_t est)
{
	struct imp_job *ij = arg;
	/* The bar goes once from 0 to 100: checking is the first half, writing the second. */
	if (phase == 1) {
		ij->est = est > rows ? est : rows;
		jobs_progress(ij->j, rows, 2 * ij->est);
	}
}

/* Between batches of writes: commit, show progress, begin again. */
static int imp_job_batch(void *arg, int64_t rows)
{
	struct imp_job *ij = arg;
	if (store_commit(ij->j->st) != STORE_OK)
		return -1;
	jobs_progress(ij->j, ij->est + rows, 2 * ij->est);
	return store_begin(ij->j->st) == STORE_OK ? 0 : -1;
}

static char *import_summary(const struct imp_result *res)
{
	char a[24], b[24], c[24], d[24], e[24], out[512];
	snprintf(a, sizeof a, "%lld", (long long)res->rows);
	snprintf(b, sizeof b, "%lld", (long long)res->inserted);
	snprintf(c, sizeof c, "%lld", (long long)res->updated);
	snprintf(d, sizeof d, "%lld", (long long)res->unchanged);
	snprintf(e, sizeof e, "%lld", (long long)res->invalid);
	imp_msg_fill(out, sizeof out, MSG_IMP_SUMMARY, 5, a, b, c, d, e);
	return xstrdup(out);
}

/* Writes the checked rows in batches; the last transaction carries the audit entry. */
static int import_write(struct store *st, const struct registry *reg, struct imp_plan *plan,
			const struct imp_opts *o, const struct reg_actor *who, struct imp_result *res,
			const struct audit_entry *audit_tmpl, const char *mode, enum msg_id *why)
{
	struct reg_error e;
	*why = MSG_HTTP_500;
	if (store_begin(st) != STORE_OK)
		return -1;
	if (imp_write(st, reg, plan, o, who, res, &e) != 0) {
		store_rollback(st);
		*why = e.why != MSG_NONE ? e.why : MSG_HTTP_500;
		return -1;
	}
	char *detail = xasprintf("{\"registry\":\"%s\",\"mode\":\"%s\",\"rows\":%lld,\"inserted\":%lld,"
				 "\"updated\":%lld,\"unchanged\":%lld,\"invalid\":%lld,\"source\":\"%s\"}",
				 reg->def.code, mode, (long long)res->rows, (long long)res->inserted,
				 (long long)res->updated, (long long)res->unchanged, (long long)res->invalid,
				 who->source);
	struct audit_entry a = *audit_tmpl;
	a.detail = detail;
	int arc = audit_append(st, &a);
	free(detail);
	if (arc != 0 || store_commit(st) != STORE_OK) {
		store_rollback(st);
		return -1;
	}
	return 0;
}

/* The job registry.import {registry, file, mode, login}. */
static int job_import(struct job *j, json_t **result, char **message)
{
	const char *code = json_string_value(json_object_get(j->params, "registry"));
	const char *mode = json_string_value(json_object_get(j->params, "mode"));
	int64_t file = json_integer_value(json_object_get(j->params, "file"));
	const char *login = json_string_value(json_object_get(j->params, "login"));
	const struct registry *reg = code ? registry_get(j->st, code) : NULL;
	const char *dir = data_dir();
	int skip = mode != NULL && strcmp(mode, "skip_invalid") == 0;
	struct file_info fi;
	struct imp_result res;
	struct imp_plan *plan = NULL;
	char *path = NULL, source[48], object[REG_CODE_MAX + 16], href[48];
	int rc = -1;

	memset(&fi, 0, sizeof fi);
	memset(&res, 0, sizeof res);
	if (reg == NULL) {
		*message = xstrdup(msg(MSG_SHARE_NO_REGISTRY));
		return -1;
	}
	if (dir == NULL || files_get(j->st, file, &fi) != 0 || (path = files_path(dir, fi.sha256)) == NULL) {
		*message = xstrdup(msg(MSG_HTTP_500));
		goto out;
	}
	struct imp_job ij = { j, 0 };
	struct imp_opts o = { skip ? IMP_SKIP_INVALID : IMP_ALL_OR_NOTHING, imp_job_progress, &ij, imp_job_batch,
			      &ij };
	struct imp_source src = { path, NULL, 0, IMP_FMT_AUTO };
	if (imp_check(reg, &src, &o, &plan, &res) != 0) {
		*message = xstrdup(msg(MSG_HTTP_500));
		goto out;
	}
	if (imp_should_write(plan, &res)) {
		enum msg_id why;
		snprintf(source, sizeof source, "import:%lld", (long long)j->id);
		snprintf(object, sizeof object, "registry:%s", reg->def.code);
		struct reg_actor who = { j->user_id, login ? login : "job", source };
		struct audit_entry a = { j->user_id, login ? login : "job", "registry.import", object,
					 reg->owner_dept_id, NULL, NULL };
		if (import_write(j->st, reg, plan, &o, &who, &res, &a, skip ? "skip_invalid" : "all_or_nothing",
				 &why) != 0) {
			*message = xstrdup(msg(why));
			goto out;
		}
	}
	snprintf(href, sizeof href, "/share/imports/%lld", (long long)j->id);
	*result = imp_result_json(&res);
	json_object_set_new(*result, "registry", json_string(reg->def.code));
	json_object_set_new(*result, "mode", json_string(skip ? "skip_invalid" : "all_or_nothing"));
	json_object_set_new(*result, "report", json_string(href));
	if (res.header_bad) {
		*message = xstrdup(msg(MSG_IMP_HEADER_BAD));
		goto out;
	}
	if (!skip && (res.invalid > 0 || res.errors_total > 0)) {
		char n[24], text[512];
		snprintf(n, sizeof n, "%lld", (long long)res.invalid);
		imp_msg_fill(text, sizeof text, MSG_IMP_NOTHING_WRITTEN, 1, n);
		*message = xstrdup(text);
		goto out;
	}
	*message = import_summary(&res);
	jobs_progress(j, 1, 1);
	rc = 0;
out:
	imp_plan_free(plan);
	imp_result_release(&res);
	file_info_release(&fi);
	free(path);
	return rc;
}

/* ------------------------------------------------------------ import: pages and API */

/* The registry's columns for the import page: [{name,label,type,required,key,hint}]. */
static json_t *columns_json(const struct registry *reg)
{
	json_t *a = json_array();
	for (int i = 0; i < reg->def.nfields; i++) {
		const struct reg_field *f = &reg->def.fields[i];
		json_t *o = json_pack("{s:s,s:s,s:s,s:b,s:b,s:b}", "name", f->name, "label", f->label ? f->label : "",
				      "type", reg_type_label(f->type), "required", f->required || i == reg->def.key,
				      "key", i == reg->def.key, "has_enum", 0);
		if (f->type == RT_ENUM) {
			json_t *vals = json_array();
			for (int k = 0; k < f->nenum; k++)
				json_array_append_new(vals, json_string(f->enum_values[k]));
			json_object_set_new(o, "enum_values", vals);
			json_object_set_new(o, "has_enum", json_true());
		}
		json_array_append_new(a, o);
	}
	return a;
}

/* Context of the import page (also the form re-rendered on an input error). */
static void import_fill(struct req *r, json_t *ctx)
{
	const char *code = req_param(r, "code");
	const struct registry *reg = code ? registry_get(r->st, code) : NULL;
	if (reg == NULL)
		return;
	json_object_set_new(ctx, "title", json_string("导入数据"));
	json_object_set_new(ctx, "registry", json_pack("{s:s,s:s}", "code", reg->def.code, "name", reg->def.name));
	json_object_set_new(ctx, "columns", columns_json(reg));
	json_object_set_new(ctx, "key_name", json_string(reg->def.fields[reg->def.key].name));
	json_t *recent = recent_jobs(r->st, r->who.user_id, "registry.import", reg->def.code);
	json_object_set_new(ctx, "has_recent", json_boolean(json_array_size(recent) > 0));
	json_object_set_new(ctx, "recent", recent);
	json_object_set_new(ctx, "max_mb", json_integer((json_int_t)((http_ctx()->conf->max_upload < IMPORT_MAX
									   ? http_ctx()->conf->max_upload
									   : IMPORT_MAX) /
									  (1024 * 1024))));
	json_t *values = json_object_get(ctx, "values");
	const char *mode = values ? json_string_value(json_object_get(values, "mode")) : NULL;
	json_object_set_new(ctx, "skip_checked", json_boolean(mode != NULL && strcmp(mode, "skip_invalid") == 0));
}

/* Staff of the owning department, or 403 answered. */
static int may_import(struct req *r, const struct registry *reg)
{
	if (user_in_dept(r->st, r->who.user_id, reg->owner_dept_id))
		return 1;
	resp_error(r, 403, MSG_IMP_NOT_OWNER, NULL);
	return 0;
}

/* GET /share/registries/{code}/import */
static void page_import(struct req *r)
{
	const struct registry *reg = path_registry(r);
	if (reg == NULL || !may_import(r, reg))
		return;
	json_t *ctx = json_object();
	import_fill(r, ctx);
	resp_page(r, 200, "share/import", ctx);
}

/* Stores the upload and queues the job; 0 with *id, or -1 when answered. */
static int start_import(struct req *r, const struct registry *reg, int64_t *id)
{
	const struct upload *up = req_upload(r, "file");
	const char *mode = req_in_str(r, "mode");
	struct file_info fi;
	enum msg_id why = MSG_NONE;
	struct input_error ie = { 400, MSG_NONE, "file", "" };

	if (up == NULL || up->data.len == 0) {
		ie.msg = up == NULL ? MSG_IMP_FILE_REQUIRED : MSG_FILE_EMPTY;
		resp_input_error(r, &ie);
		return -1;
	}
	if (files_put(r->st, data_dir(), up->data.data, up->data.len, up->filename, import_types, IMPORT_MAX,
		      r->who.user_id, &fi, &why) != 0) {
		if (why == MSG_HTTP_500) {
			resp_error(r, 500, why, NULL);
			return -1;
		}
		ie.status = why == MSG_FILE_TOO_LARGE ? 413 : 400;
		ie.msg = why == MSG_FILE_TYPE ? MSG_IMP_FILE_TYPE : why;
		resp_input_error(r, &ie);
		return -1;
	}
	json_t *params = json_pack("{s:s,s:I,s:s,s:s,s:s}", "registry", reg->def.code, "file", (json_int_t)fi.id,
				   "mode", mode ? mode : "all_or_nothing", "name", fi.name ? fi.name : "", "login",
				   r->who.login ? r->who.login : "");
	int rc = jobs_enqueue(r->st, "registry.import", params, r->who.user_id, reg->owner_dept_id, id);
	json_decref(params);
	if (rc != 0) {
		file_info_release(&fi);
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return -1;
	}
	char *detail = xasprintf("{\"kind\":\"registry.import\",\"registry\":\"%s\",\"file\":%lld,\"mode\":\"%s\"}",
				 reg->def.code, (long long)fi.id, mode ? mode : "all_or_nothing");
	file_info_release(&fi);
	rc = audit_req(r, "job.create", arena_printf(r->arena, "job:%lld", (long long)*id), reg->owner_dept_id,
		       detail);
	free(detail);
	if (rc != 0)
		return -1;
	jobs_kick();
	return 0;
}

/* POST /share/registries/{code}/import: redirects to the job page. */
static void do_import(struct req *r)
{
	int64_t id = 0;
	const struct registry *reg = path_registry(r);
	if (reg == NULL || !may_import(r, reg) || start_import(r, reg, &id) != 0)
		return;
	resp_redirect(r, arena_printf(r->arena, "/jobs/%lld", (long long)id));
}

/* POST /api/v1/registries/{code}/imports (multipart: file, mode) -> 202 {job, href, report} */
static void api_import(struct req *r)
{
	int64_t id = 0;
	const struct registry *reg = path_registry(r);
	if (reg == NULL || !may_import(r, reg) || start_import(r, reg, &id) != 0)
		return;
	r->location = arena_printf(r->arena, "/api/v1/jobs/%lld", (long long)id);
	resp_json(r, 202, json_pack("{s:I,s:s,s:s}", "job", (json_int_t)id, "href", r->location, "report",
				    arena_printf(r->arena, "/share/imports/%lld", (long long)id)));
}

/* GET /share/imports/{job}: the import's report, row by row. */
static void page_import_report(struct req *r)
{
	json_t *j = own_job(r, "registry.import", MSG_IMP_NOT_FOUND);
	if (j == NULL)
		return;
	json_t *result = json_object_get(j, "result");
	const char *code = json_string_value(json_object_get(result, "registry"));
	const struct registry *reg = code ? registry_get(r->st, code) : NULL;
	json_t *errors = json_object_get(result, "errors");
	size_t i;
	json_t *e;
	json_array_foreach(errors, i, e) {
		const char *f = json_string_value(json_object_get(e, "field"));
		json_object_set_new(e, "label", json_string(reg && f && *f ? field_label(reg, f) : (f ? f : "")));
		json_object_set_new(e, "whole_file", json_boolean(json_integer_value(json_object_get(e, "row")) == 0));
	}
	json_t *ctx = json_pack("{s:s,s:O}", "title", "导入报告", "job", j);
	if (reg != NULL)
		json_object_set_new(ctx, "registry", json_pack("{s:s,s:s}", "code", reg->def.code, "name", reg->def.name));
	json_object_set_new(ctx, "has_errors", json_boolean(json_array_size(errors) > 0));
	json_decref(j);
	resp_page(r, 200, "share/import_report", ctx);
}

/* ------------------------------------------------------------ export: job */

static void exp_job_progress(void *arg, int64_t rows)
{
	struct job *j = arg;
	int64_t total = json_integer_value(json_object_get(j->params, "count"));
	jobs_progress(j, rows, total > rows ? total : rows);
}

/* "a,b,c" of the view's fields (all when fields is NULL). */
static char *fields_list(const struct registry *reg, const char *const *fields)
{
	struct buf b = BUF_INIT(REG_MAX_FIELDS * (REG_CODE_MAX + 1) + 1);
	for (int i = 0; i < reg->def.nfields; i++) {
		int in = fields == NULL;
		for (int k = 0; !in && fields[k] != NULL; k++)
			in = strcmp(fields[k], reg->def.fields[i].name) == 0;
		if (!in)
			continue;
		if (b.len > 0)
			buf_addch(&b, ',');
		buf_addstr(&b, reg->def.fields[i].name);
	}
	if (b.data == NULL)
		return xstrdup("");
	return buf_detach(&b, NULL);
}

/* 1 when the view shows a personal field or one of conditional class. */
static int view_sensitive(const struct registry *reg, const char *const *fields)
{
	for (int i = 0; i < reg->def.nfields; i++) {
		const struct reg_field *f = &reg->def.fields[i];
		int in = fields == NULL;
		for (int k = 0; !in && fields[k] != NULL; k++)
			in = strcmp(fields[k], f->name) == 0;
		if (in && (f->personal || f->share != RS_UNCONDITIONAL))
			return 1;
	}
	return 0;
}

/* The stored file's name: 人口库-20261122-1407.csv */
static char *export_name(const struct registry *reg, enum exp_format f)
{
	char stamp[32];
	struct tm tm;
	time_t now = time(NULL);
	if (localtime_r(&now, &tm) == NULL || strftime(stamp, sizeof stamp, "%Y%m%d-%H%M", &tm) == 0)
		snprintf(stamp, sizeof stamp, "%lld", (long long)now);
	return xasprintf("%s-%s.%s", reg->def.name ? reg->def.name : reg->def.code, stamp, exp_format_name(f));
}

/* Maps path and stores it with files_put in st's open transaction. 0, or -1 with *why. */
static int store_export(struct store *st, const char *dir, const char *path, const char *name, int64_t owner,
			struct file_info *fi, enum msg_id *why)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat sb;
	int rc = -1;
	*why = MSG_HTTP_500;
	if (fd < 0 || fstat(fd, &sb) != 0 || sb.st_size <= 0) {
		log_error("export: %s: %s", path, fd < 0 ? strerror(errno) : "empty");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	void *map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED) {
		log_error("export: mmap %s: %s", path, strerror(errno));
		return -1;
	}
	rc = files_put(st, dir, map, (size_t)sb.st_size, name, export_types, EXPORT_FILE_MAX, owner, fi, why);
	if (rc != 0)
		log_error("export: files_put %s: %s", path, msg_name(*why));
	munmap(map, (size_t)sb.st_size);
	return rc;
}

/* The job registry.export {registry, format, dept, login, count}. */
static int job_export(struct job *j, json_t **result, char **message)
{
	const char *code = json_string_value(json_object_get(j->params, "registry"));
	const char *login = json_string_value(json_object_get(j->params, "login"));
	int fmt = exp_format_parse(json_string_value(json_object_get(j->params, "format")));
	int64_t dept = json_integer_value(json_object_get(j->params, "dept"));
	const struct registry *reg = code ? registry_get(j->st, code) : NULL;
	const char *dir = data_dir();
	struct arena *a = arena_new();
	struct share_right right;
	struct file_info fi;
	char *tmpdir = NULL, *path = NULL, *name = NULL, *flist = NULL, *detail = NULL;
	int64_t rows = 0;
	enum msg_id why = MSG_HTTP_500;
	int rc = -1;

	memset(&fi, 0, sizeof fi);
	if (reg == NULL || fmt < 0) {
		*message = xstrdup(msg(reg == NULL ? MSG_SHARE_NO_REGISTRY : MSG_EXP_BAD_FORMAT));
		goto out;
	}
	/* The right again: a grant may have ended since the request. */
	if (share_right_for(j->st, a, dept, reg, &right) != 0) {
		*message = xstrdup(msg(MSG_HTTP_500));
		goto out;
	}
	if (right.nfields == 0) {
		*message = xstrdup(msg(right.why != MSG_NONE ? right.why : MSG_SHARE_NO_GRANT));
		goto out;
	}
	if (dir == NULL) {
		*message = xstrdup(msg(MSG_HTTP_500));
		goto out;
	}
	tmpdir = xasprintf("%s/tmp", dir);
	if (mkdir(tmpdir, 0700) != 0 && errno != EEXIST) {
		log_error("export: mkdir %s: %s", tmpdir, strerror(errno));
		*message = xstrdup(msg(MSG_HTTP_500));
		goto out;
	}
	path = xasprintf("%s/export-%lld.%s", tmpdir, (long long)j->id, exp_format_name(fmt));
	struct reg_view v = { right.fields, right.unmasked };
	if (registry_export(j->st, reg, fmt, &v, path, exp_job_progress, j, &rows, &why) != 0) {
		*message = xstrdup(msg(why));
		goto out;
	}
	name = export_name(reg, fmt);
	flist = fields_list(reg, right.fields);
	if (store_begin(j->st) != STORE_OK || store_export(j->st, dir, path, name, j->user_id, &fi, &why) != 0) {
		store_rollback(j->st);
		*message = xstrdup(msg(why));
		goto out;
	}
	detail = xasprintf("{\"registry\":\"%s\",\"format\":\"%s\",\"fields\":\"%s\",\"masked\":%s,\"rows\":%lld,"
			   "\"basis\":\"%s\",\"file\":%lld}",
			   reg->def.code, exp_format_name(fmt), flist, right.unmasked ? "false" : "true",
			   (long long)rows, right.basis ? right.basis : "", (long long)fi.id);
	char object[REG_CODE_MAX + 16];
	snprintf(object, sizeof object, "registry:%s", reg->def.code);
	struct audit_entry ae = { j->user_id, login && *login ? login : "job", "registry.export", object, dept, NULL,
				  detail };
	int bad = audit_append(j->st, &ae) != 0;
	if (!bad && view_sensitive(reg, right.fields)) {
		struct reg_access acc = { dept, j->user_id, login && *login ? login : "job", reg->def.code, NULL,
					  "导出", right.basis ? right.basis : "owner", flist, EXPORT_VIA };
		bad = reg_access_log(j->st, j->keys, &acc) != 0;
	}
	if (bad || store_commit(j->st) != STORE_OK) {
		store_rollback(j->st);
		*message = xstrdup(msg(MSG_HTTP_500));
		goto out;
	}
	char n[24], text[256];
	snprintf(n, sizeof n, "%lld", (long long)rows);
	imp_msg_fill(text, sizeof text, MSG_EXP_SUMMARY, 1, n);
	*message = xstrdup(text);
	*result = json_pack("{s:I,s:s,s:s,s:I,s:s,s:s,s:b,s:s}", "file", (json_int_t)fi.id, "name", name, "format",
			    exp_format_name(fmt), "rows", (json_int_t)rows, "registry", reg->def.code, "fields", flist,
			    "masked", !right.unmasked, "download",
			    arena_printf(a, "/share/exports/%lld", (long long)j->id));
	jobs_progress(j, rows, rows);
	rc = 0;
out:
	if (path != NULL)
		unlink(path);
	file_info_release(&fi);
	free(tmpdir);
	free(path);
	free(name);
	free(flist);
	free(detail);
	arena_free(a);
	return rc;
}

/* ------------------------------------------------------------ export: pages and API */

/*
 * The department the export is for and what it may read: the owning
 * department when the user is staff there, else the acting department.
 * 0, or -1 when answered (403 with the reason).
 */
static int export_right(struct req *r, const struct registry *reg, int64_t *dept, struct share_right *right)
{
	*dept = user_in_dept(r->st, r->who.user_id, reg->owner_dept_id) ? reg->owner_dept_id : share_acting_dept(r);
	if (*dept == 0) {
		resp_error(r, 403, MSG_SHARE_NO_DEPT, NULL);
		return -1;
	}
	if (share_right_for(r->st, r->arena, *dept, reg, right) != 0) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return -1;
	}
	if (right->nfields == 0) {
		resp_error(r, 403, right->why != MSG_NONE ? right->why : MSG_SHARE_NO_GRANT, NULL);
		return -1;
	}
	return 0;
}

/* Context of the export page. */
static void export_fill(struct req *r, json_t *ctx)
{
	const char *code = req_param(r, "code");
	const struct registry *reg = code ? registry_get(r->st, code) : NULL;
	struct share_right right;
	int64_t dept = user_in_dept(r->st, r->who.user_id, reg ? reg->owner_dept_id : 0)
			       ? reg->owner_dept_id
			       : share_acting_dept(r);
	if (reg == NULL || share_right_for(r->st, r->arena, dept, reg, &right) != 0)
		return;
	json_t *fields = json_array();
	for (int i = 0; i < right.nfields; i++) {
		int fi = reg_field_index(&reg->def, right.fields[i]);
		const struct reg_field *f = fi >= 0 ? &reg->def.fields[fi] : NULL;
		json_array_append_new(fields, json_pack("{s:s,s:s,s:b}", "name", right.fields[i], "label",
							f && f->label ? f->label : right.fields[i], "masked",
							f != NULL && f->personal && !right.unmasked));
	}
	json_object_set_new(ctx, "title", json_string("导出数据"));
	json_object_set_new(ctx, "registry", json_pack("{s:s,s:s}", "code", reg->def.code, "name", reg->def.name));
	json_object_set_new(ctx, "fields", fields);
	json_object_set_new(ctx, "owner", json_boolean(right.owner));
	json_object_set_new(ctx, "unmasked", json_boolean(right.unmasked));
	json_object_set_new(ctx, "basis", json_string(right.basis ? right.basis : ""));
	json_object_set_new(ctx, "dept", json_integer((json_int_t)dept));
	json_object_set_new(ctx, "records", json_integer((json_int_t)registry_count(r->st, reg)));
	json_t *recent = recent_jobs(r->st, r->who.user_id, "registry.export", reg->def.code);
	json_object_set_new(ctx, "has_recent", json_boolean(json_array_size(recent) > 0));
	json_object_set_new(ctx, "recent", recent);
}

/* GET /share/registries/{code}/export */
static void page_export(struct req *r)
{
	const struct registry *reg = path_registry(r);
	struct share_right right;
	int64_t dept;
	if (reg == NULL || export_right(r, reg, &dept, &right) != 0)
		return;
	json_t *ctx = json_object();
	export_fill(r, ctx);
	resp_page(r, 200, "share/export", ctx);
}

/* Queues the export job; 0 with *id, or -1 when answered. */
static int start_export(struct req *r, const struct registry *reg, int64_t *id)
{
	struct share_right right;
	int64_t dept;
	const char *format = req_in_str(r, "format");
	if (export_right(r, reg, &dept, &right) != 0)
		return -1;
	if (exp_format_parse(format) < 0) {
		resp_error(r, 400, MSG_EXP_BAD_FORMAT, "format");
		return -1;
	}
	int64_t count = registry_count(r->st, reg);
	json_t *params = json_pack("{s:s,s:s,s:I,s:s,s:I}", "registry", reg->def.code, "format", format, "dept",
				   (json_int_t)dept, "login", r->who.login ? r->who.login : "", "count",
				   (json_int_t)(count > 0 ? count : 0));
	int rc = jobs_enqueue(r->st, "registry.export", params, r->who.user_id, dept, id);
	json_decref(params);
	if (rc != 0) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return -1;
	}
	if (audit_req(r, "job.create", arena_printf(r->arena, "job:%lld", (long long)*id), dept,
		      arena_printf(r->arena, "{\"kind\":\"registry.export\",\"registry\":\"%s\",\"format\":\"%s\"}",
				   reg->def.code, format)) != 0)
		return -1;
	jobs_kick();
	return 0;
}

/* POST /share/registries/{code}/export: redirects to the download, which waits for the job. */
static void do_export(struct req *r)
{
	int64_t id = 0;
	const struct registry *reg = path_registry(r);
	if (reg == NULL || start_export(r, reg, &id) != 0)
		return;
	resp_redirect(r, arena_printf(r->arena, "/share/exports/%lld", (long long)id));
}

/* POST /api/v1/registries/{code}/exports {format} -> 202 {job, href, download} */
static void api_export(struct req *r)
{
	int64_t id = 0;
	const struct registry *reg = path_registry(r);
	if (reg == NULL || start_export(r, reg, &id) != 0)
		return;
	r->location = arena_printf(r->arena, "/api/v1/jobs/%lld", (long long)id);
	resp_json(r, 202, json_pack("{s:I,s:s,s:s}", "job", (json_int_t)id, "href", r->location, "download",
				    arena_printf(r->arena, "/api/v1/exports/%lld", (long long)id)));
}

/* GET /share/exports/{job} (and /api/v1/exports/{job}): the file once the job is done; until
 * then a page that waits for it (the API answers 409). */
static void get_export(struct req *r)
{
	json_t *j = own_job(r, "registry.export", MSG_EXP_NOT_FOUND);
	if (j == NULL)
		return;
	const char *state = json_string_value(json_object_get(j, "state"));
	if (strcmp(state, "done") != 0) {
		if (r->is_api) {
			resp_error(r, strcmp(state, "failed") == 0 ? 410 : 409,
				   strcmp(state, "failed") == 0 ? MSG_EXP_FAILED : MSG_EXP_NOT_READY, NULL);
			json_decref(j);
			return;
		}
		resp_page(r, 200, "share/export_wait", json_pack("{s:s,s:o}", "title", "导出数据", "job", j));
		return;
	}
	json_t *result = json_object_get(j, "result");
	struct file_info fi;
	int fmt = exp_format_parse(json_string_value(json_object_get(result, "format")));
	if (files_get(r->st, json_integer_value(json_object_get(result, "file")), &fi) != 0) {
		json_decref(j);
		resp_error(r, 404, MSG_EXP_NOT_FOUND, NULL);
		return;
	}
	resp_file(r, &fi, data_dir(), 0);
	if (r->status == 200 && fmt >= 0)
		r->ctype = exp_format_mime(fmt);
	file_info_release(&fi);
	json_decref(j);
}

/* ------------------------------------------------------------ routes */

static const struct field_spec fs_import[] = {
	{ "file", FT_FILE, 0, 0, IMPORT_MAX, NULL, "导入文件" },
	{ "mode", FT_CHOICE, 0, 0, 0, mode_choices, "导入方式" },
	{ NULL },
};

static const struct field_spec fs_dept_only[] = {
	{ "dept", FT_INT, 0, 1, INT64_MAX, NULL, "部门" },
	{ NULL },
};

static const struct field_spec fs_export[] = {
	{ "format", FT_CHOICE, FS_REQUIRED, 0, 0, format_choices, "导出格式" },
	{ "dept", FT_INT, 0, 1, INT64_MAX, NULL, "部门" },
	{ NULL },
};

#define CSRF RF_CSRF
#define API (RF_API | RF_CSRF)
const struct route share_transfer_routes[] = {
	{ HM_GET, "/share/registries/{code}/import", page_import, ROLE_STAFF, 0, NULL, NULL, NULL,
	  "Import page of a registry (owning department's staff)" },
	{ HM_POST, "/share/registries/{code}/import", do_import, ROLE_STAFF, CSRF | RF_UPLOAD, fs_import,
	  "share/import", import_fill, "Import a CSV or XLSX file into a registry as a job" },
	{ HM_GET, "/share/imports/{job}", page_import_report, ROLE_STAFF, 0, NULL, NULL, NULL,
	  "An import's report: counts and the rows refused with their reasons" },
	{ HM_GET, "/share/registries/{code}/export", page_export, ROLE_STAFF, 0, fs_dept_only, NULL, NULL,
	  "Export page of a registry: the fields the department may export" },
	{ HM_POST, "/share/registries/{code}/export", do_export, ROLE_STAFF, CSRF, fs_export, "share/export",
	  export_fill, "Export a registry as CSV, JSON or XLSX (a job)" },
	{ HM_GET, "/share/exports/{job}", get_export, ROLE_STAFF, 0, NULL, NULL, NULL,
	  "An export's file (only for the person who asked); a waiting page until it is ready" },
	{ HM_POST, "/api/v1/registries/{code}/imports", api_import, ROLE_STAFF, API | RF_UPLOAD, fs_import, NULL,
	  NULL, "Import a CSV or XLSX file (multipart: file, mode all_or_nothing|skip_invalid) as a job: 202 {job}" },
	{ HM_POST, "/api/v1/registries/{code}/exports", api_export, ROLE_STAFF, API, fs_export, NULL, NULL,
	  "Export a registry (format csv|json|xlsx) as a job: 202 {job, download}" },
	{ HM_GET, "/api/v1/exports/{job}", get_export, ROLE_STAFF, RF_API, NULL, NULL, NULL,
	  "An export's file once its job is done (409 until then)" },
	{ 0, NULL, NULL, 0, 0, NULL, NULL, NULL, NULL },
};

void share_transfer_register(void)
{
	jobs_register("registry.import", msg(MSG_IMP_JOB_LABEL), job_import);
	jobs_register("registry.export", msg(MSG_EXP_JOB_LABEL), job_export);
}

/* ------------------------------------------------------------ CLI */

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct cli_imp {
	struct store *st;
	int tty;
	int64_t checked;
};

static void cli_imp_progress(void *arg, int phase, int64_t rows, int64_t est)
{
	struct cli_imp *c = arg;
	if (phase == 1)
		c->checked = rows;
	if (rows % 100000 != 0 && !(rows == est && rows > 0))
		return;
	fprintf(stderr, "%s%s %lld rows%s", c->tty ? "\r" : "", phase == 1 ? "checked" : "written", (long long)rows,
		c->tty ? "   " : "\n");
}

static int cli_imp_batch(void *arg, int64_t rows)
{
	struct cli_imp *c = arg;
	(void)rows;
	if (store_commit(c->st) != STORE_OK)
		return -1;
	return store_begin(c->st) == STORE_OK ? 0 : -1;
}

static const char import_usage[] =
	"usage: yizhan import REGISTRY FILE [--skip-invalid]\n"
	"  Imports a CSV (UTF-8) or XLSX file into the registry REGISTRY.  Row 1 names the\n"
	"  columns (field names or labels).  Every row is checked first; by default nothing is\n"
	"  written when any row is bad (all or nothing), --skip-invalid writes the good rows.\n"
	"  Prints the per-row report and rows/s; exits 1 when rows were refused and nothing\n"
	"  was written (or the file or its header is unusable), 2 on wrong usage.\n";

int share_cli_import(struct store *st, const struct keys *k, int argc, char **argv)
{
	const char *code = NULL, *file = NULL;
	int skip = 0;
	(void)k;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "help") == 0) {
			fputs(import_usage, stdout);
			return 0;
		} else if (strcmp(argv[i], "--skip-invalid") == 0) {
			skip = 1;
		} else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			fprintf(stderr, "yizhan import: unknown option %s\n%s", argv[i], import_usage);
			return 2;
		} else if (code == NULL) {
			code = argv[i];
		} else if (file == NULL) {
			file = argv[i];
		} else {
			fputs(import_usage, stderr);
			return 2;
		}
	}
	if (st == NULL) {
		fputs(import_usage, stdout);
		return 0;
	}
	if (code == NULL || file == NULL) {
		fputs(import_usage, stderr);
		return 2;
	}
	const struct registry *reg = registry_get(st, code);
	if (reg == NULL) {
		fprintf(stderr, "yizhan import: no registry %s\n", code);
		return 2;
	}
	if (access(file, R_OK) != 0) {
		fprintf(stderr, "yizhan import: %s: %s\n", file, strerror(errno));
		return 2;
	}
	struct cli_imp c = { st, isatty(2), 0 };
	struct imp_opts o = { skip ? IMP_SKIP_INVALID : IMP_ALL_OR_NOTHING, cli_imp_progress, &c, cli_imp_batch, &c };
	struct imp_source src = { file, NULL, 0, IMP_FMT_AUTO };
	struct imp_result res;
	struct imp_plan *plan = NULL;
	double t0 = now_seconds();
	int rc = 1;

	if (imp_check(reg, &src, &o, &plan, &res) != 0) {
		fprintf(stderr, "yizhan import: cannot read %s\n", file);
		return 1;
	}
	double t1 = now_seconds();
	if (c.tty)
		fputc('\n', stderr);
	if (imp_should_write(plan, &res)) {
		char source[64];
		enum msg_id why;
		snprintf(source, sizeof source, "import:cli-%lld", (long long)time(NULL));
		struct reg_actor who = { 0, "cli", source };
		char object[REG_CODE_MAX + 16];
		snprintf(object, sizeof object, "registry:%s", reg->def.code);
		struct audit_entry a = { 0, "cli", "registry.import", object, reg->owner_dept_id, NULL, NULL };
		if (import_write(st, reg, plan, &o, &who, &res, &a, skip ? "skip_invalid" : "all_or_nothing", &why) !=
		    0) {
			fprintf(stderr, "\nyizhan import: writing failed: %s\n", msg(why));
			goto out;
		}
		if (c.tty)
			fputc('\n', stderr);
	}
	double t2 = now_seconds();
	/* The report. */
	size_t i;
	json_t *e;
	json_array_foreach(res.errors, i, e) {
		const char *field = json_string_value(json_object_get(e, "field"));
		const char *value = json_string_value(json_object_get(e, "value"));
		printf("row %lld%s%s: %s%s%s%s\n", (long long)json_integer_value(json_object_get(e, "row")),
		       field && *field ? ", " : "", field ? field : "", json_string_value(json_object_get(e, "reason")),
		       value && *value ? " (" : "", value ? value : "", value && *value ? ")" : "");
	}
	if (res.errors_total > (int64_t)json_array_size(res.errors))
		printf("... %lld more problems not listed\n",
		       (long long)(res.errors_total - (int64_t)json_array_size(res.errors)));
	double secs = t2 - t0 > 1e-6 ? t2 - t0 : 1e-6;
	printf("rows %lld, inserted %lld, updated %lld, unchanged %lld, invalid %lld%s\n", (long long)res.rows,
	       (long long)res.inserted, (long long)res.updated, (long long)res.unchanged, (long long)res.invalid,
	       res.written ? "" : " (nothing written)");
	printf("time %.2f s (check %.2f s, write %.2f s), %.0f rows/s\n", secs, t1 - t0, t2 - t1,
	       (double)res.rows / secs);
	rc = res.header_bad || (!skip && (res.invalid > 0 || res.errors_total > 0)) ? 1 : 0;
out:
	imp_plan_free(plan);
	imp_result_release(&res);
	return rc;
}

static const char export_usage[] =
	"usage: yizhan export REGISTRY --format csv|json|xlsx --out FILE\n"
	"  Writes every record of REGISTRY (every field, unmasked: the operator's copy) to FILE:\n"
	"  CSV (UTF-8 with BOM, header of field names), JSON (an array of objects) or XLSX.\n";

static void cli_exp_progress(void *arg, int64_t rows)
{
	int tty = *(int *)arg;
	if (rows % 100000 == 0)
		fprintf(stderr, "%sexported %lld rows%s", tty ? "\r" : "", (long long)rows, tty ? "   " : "\n");
}

int share_cli_export(struct store *st, const struct keys *k, int argc, char **argv)
{
	const char *code = NULL, *format = NULL, *out = NULL;
	(void)k;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "help") == 0) {
			fputs(export_usage, stdout);
			return 0;
		} else if (strcmp(argv[i], "--format") == 0 && i + 1 < argc) {
			format = argv[++i];
		} else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc) {
			out = argv[++i];
		} else if (argv[i][0] == '-') {
			fprintf(stderr, "yizhan export: unknown option %s\n%s", argv[i], export_usage);
			return 2;
		} else if (code == NULL) {
			code = argv[i];
		} else {
			fputs(export_usage, stderr);
			return 2;
		}
	}
	if (st == NULL) {
		fputs(export_usage, stdout);
		return 0;
	}
	int fmt = exp_format_parse(format);
	if (code == NULL || out == NULL || fmt < 0) {
		fputs(export_usage, stderr);
		return 2;
	}
	const struct registry *reg = registry_get(st, code);
	if (reg == NULL) {
		fprintf(stderr, "yizhan export: no registry %s\n", code);
		return 2;
	}
	int tty = isatty(2);
	int64_t rows = 0;
	enum msg_id why;
	double t0 = now_seconds();
	if (registry_export(st, reg, fmt, NULL, out, cli_exp_progress, &tty, &rows, &why) != 0) {
		fprintf(stderr, "%syizhan export: %s\n", tty ? "\n" : "", msg(why));
		return 1;
	}
	double secs = now_seconds() - t0;
	char object[REG_CODE_MAX + 16];
	snprintf(object, sizeof object, "registry:%s", reg->def.code);
	char *detail = xasprintf("{\"registry\":\"%s\",\"format\":\"%s\",\"fields\":\"*\",\"masked\":false,"
				 "\"rows\":%lld,\"via\":\"cli\"}",
				 reg->def.code, exp_format_name(fmt), (long long)rows);
	struct audit_entry a = { 0, "cli", "registry.export", object, reg->owner_dept_id, NULL, detail };
	int arc = audit_append_tx(st, &a);
	free(detail);
	if (tty)
		fputc('\n', stderr);
	printf("exported %lld records to %s in %.2f s (%.0f rows/s)\n", (long long)rows, out, secs,
	       (double)rows / (secs > 1e-6 ? secs : 1e-6));
	return arc == 0 ? 0 : 1;
}
