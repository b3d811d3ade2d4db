/*
 * compare: cross-registry comparison (数据比对) and data-quality tasks.
 *
 *   GET, POST /share/compare                 the form; POST queues a run (job registry.compare)
 *   GET /share/compare/runs                  runs, newest first
 *   GET /share/compare/runs/{id}             counts by kind, tasks by department, discrepancies
 *   GET /share/compare/runs/{id}/export      the report as CSV, XLSX or JSON (?format=)
 *   GET /share/tasks                         a department's data-quality tasks (lights, deadlines)
 *   GET, POST /share/tasks/{id}              one task; mark it fixed (note) or confirmed (reason)
 *   POST, GET /api/v1/share/compare          queue a run (202 {job, run}); the runs
 *   GET /api/v1/share/compare/runs/{id}[/items]   a run; its discrepancies
 *   GET /api/v1/share/tasks, GET /api/v1/share/tasks/{id}/detail, POST /api/v1/share/tasks/{id}
 *                                            tasks as JSON; acting on one
 *   yizhan compare A:ka B:kb --map fa=fb,...  the CLI (share_cli_compare)
 *
 * Who: platform admins and staff of the data department (code "data",
 * 政务服务数据管理局) run comparisons and read every run; staff of the
 * departments owning registry A or B read the runs of their registries.
 * Tasks are read and handled by staff of the department they are routed to.
 *
 * Each discrepancy is one compare_items row and, unless the run says
 * otherwise, one case of process share.dq (processes/share/dq.proc) in the
 * authoritative department of the fields concerned (一数一源, reg_cmp_route)
 * with the run's deadline as its limit.
 *
 * Keys and values are stored in clear: the department fixing a record must
 * find it.  They are shown in clear to staff of the departments owning A or
 * B and, on the task's own page, to the task's department (that read is
 * logged for the data subject's tracker); everyone else sees personal
 * fields masked (reg_value_mask).
 *
 * The job is restartable: phase 1 (compare) deletes the run's items and
 * writes them again in batches of their own transactions; phase 2 (tasks)
 * takes the items without a case, a batch per transaction; the run's state
 * ('running' -> 'tasks' -> 'done') says where to resume.
 */
#include "apps/share/share.h"
#include "apps/share/share_int.h"
#include "core/audit.h"
#include "core/calendar.h"
#include "core/csvw.h"
#include "core/desk.h"
#include "core/jobs.h"
#include "core/log.h"
#include "core/msg.h"
#include "core/notify.h"
#include "core/xalloc.h"
#include "engines/case/case.h"
#include "engines/registry/compare.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xlsxwriter.h>

#define JOB_KIND "registry.compare"
#define DQ_PROCESS "share.dq"
#define DEFAULT_DEADLINE 10
#define ITEM_BATCH 1000
#define TASK_BATCH 200
#define PAGE_ITEMS 50
#define PAGE_RUNS 30
#define PAGE_TASKS 50
#define EXPORT_PAGE 5000

enum {
	S_IN_DATA,
	S_STAFF_OF,
	S_USER_DEPTS,
	S_RUN_INSERT,
	S_RUN_SET_JOB,
	S_RUN_GET,
	S_RUN_LIST,
	S_RUN_START,
	S_ITEMS_CLEAR,
	S_ITEM_INSERT,
	S_RUN_COUNTS,
	S_ITEMS_NO_CASE,
	S_ITEM_SET_CASE,
	S_RUN_DONE,
	S_RUN_FAIL,
	S_ITEMS_PAGE,
	S_BY_DEPT,
	S_DEPT_ADMINS,
	S_TASKS_OPEN,
	S_TASKS_CLOSED,
	S_TASK_GET,
	S_DESK,
	S_DEPT_NAME,
	S_ITEMS_TOTAL,
	S__MAX
};

#define RUN_COLS                                                                                              \
	"id, registry_a, key_a, registry_b, key_b, map, only_a, only_b, tasks, deadline_days, state, job_id, " \
	"user_id, actor, rows_a, rows_b, n_only_a, n_only_b, n_mismatch, n_tasks, elapsed_ms, message, "       \
	"created_at, started_at, finished_at"
#define TASK_COLS                                                                                         \
	"c.id, c.subject, c.state, c.light, c.deadline, c.version, c.created_at, c.dept_id, i.id, i.kind, " \
	"i.key, i.field_a, i.field_b, i.value_a, i.value_b, r.id, r.registry_a, r.key_a, r.registry_b, r.key_b"

static const char *const sql[S__MAX] = {
	[S_IN_DATA] = "SELECT COUNT(*) FROM user_roles r JOIN departments d ON d.id = r.dept_id "
		      "WHERE r.user_id = $1 AND d.code = 'data' AND r.role IN ('staff', 'dept_admin')",
	[S_STAFF_OF] = "SELECT COUNT(*) FROM user_roles WHERE user_id = $1 AND dept_id = $2 "
		       "AND role IN ('staff', 'dept_admin')",
	[S_USER_DEPTS] = "SELECT d.id, d.name, MAX(CASE WHEN r.role = 'dept_admin' THEN 1 ELSE 0 END) "
			 "FROM user_roles r JOIN departments d ON d.id = r.dept_id "
			 "WHERE r.user_id = $1 AND r.role IN ('staff', 'dept_admin') GROUP BY d.id, d.name ORDER BY d.id",
	[S_RUN_INSERT] = "INSERT INTO compare_runs (registry_a, key_a, registry_b, key_b, map, only_a, only_b, tasks, "
			 "deadline_days, state, user_id, actor, created_at) "
			 "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'queued', $10, $11, $12) RETURNING id",
	[S_RUN_SET_JOB] = "UPDATE compare_runs SET job_id = $2 WHERE id = $1",
	[S_RUN_GET] = "SELECT " RUN_COLS " FROM compare_runs WHERE id = $1",
	[S_RUN_LIST] = "SELECT " RUN_COLS " FROM compare_runs WHERE id < $1 ORDER BY id DESC LIMIT $2",
	[S_RUN_START] = "UPDATE compare_runs SET state = 'running', started_at = $2, message = NULL WHERE id = $1",
	[S_ITEMS_CLEAR] = "DELETE FROM compare_items WHERE run_id = $1",
	[S_ITEM_INSERT] = "INSERT INTO compare_items (run_id, kind, key, id_a, id_b, field_a, field_b, value_a, "
			  "value_b, dept_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
	[S_RUN_COUNTS] = "UPDATE compare_runs SET state = 'tasks', rows_a = $2, rows_b = $3, n_only_a = $4, "
			 "n_only_b = $5, n_mismatch = $6, elapsed_ms = $7 WHERE id = $1",
	[S_ITEMS_NO_CASE] = "SELECT id, kind, key, field_a, field_b, value_a, value_b, dept_id FROM compare_items "
			    "WHERE run_id = $1 AND case_id IS NULL ORDER BY id LIMIT $2",
	[S_ITEM_SET_CASE] = "UPDATE compare_items SET case_id = $2 WHERE id = $1",
	[S_RUN_DONE] = "UPDATE compare_runs SET state = 'done', finished_at = $2, n_tasks = "
		       "(SELECT COUNT(*) FROM compare_items WHERE run_id = $1 AND case_id IS NOT NULL) WHERE id = $1",
	[S_RUN_FAIL] = "UPDATE compare_runs SET state = 'failed', message = $2, finished_at = $3 WHERE id = $1",
	[S_ITEMS_PAGE] = "SELECT i.id, i.kind, i.key, i.id_a, i.id_b, i.field_a, i.field_b, i.value_a, i.value_b, "
			 "i.dept_id, d.name, i.case_id, c.state, c.light, c.deadline, c.state_final "
			 "FROM compare_items i JOIN departments d ON d.id = i.dept_id "
			 "LEFT JOIN cases c ON c.id = i.case_id "
			 "WHERE i.run_id = $1 AND i.id > $2 AND (i.kind = $3 OR $3 = '') ORDER BY i.id LIMIT $4",
	[S_BY_DEPT] = "SELECT i.dept_id, d.name, COUNT(*), COUNT(i.case_id), "
		      "SUM(CASE WHEN c.state_final = 0 THEN 1 ELSE 0 END), "
		      "SUM(CASE WHEN c.state_final = 0 AND c.light = 2 THEN 1 ELSE 0 END) "
		      "FROM compare_items i JOIN departments d ON d.id = i.dept_id "
		      "LEFT JOIN cases c ON c.id = i.case_id WHERE i.run_id = $1 "
		      "GROUP BY i.dept_id, d.name ORDER BY COUNT(*) DESC, i.dept_id",
	[S_DEPT_ADMINS] = "SELECT user_id FROM user_roles WHERE dept_id = $1 AND role = 'dept_admin' ORDER BY user_id",
	[S_TASKS_OPEN] = "SELECT " TASK_COLS " FROM cases c JOIN compare_items i ON i.case_id = c.id "
			 "JOIN compare_runs r ON r.id = i.run_id "
			 "WHERE c.dept_id = $1 AND c.process = 'share.dq' AND c.state_final = 0 "
			 "AND (c.light < $2 OR (c.light = $2 AND (c.deadline > $3 OR (c.deadline = $3 AND c.id > $4)))) "
			 "ORDER BY c.light DESC, c.deadline, c.id LIMIT $5",
	[S_TASKS_CLOSED] = "SELECT " TASK_COLS " FROM cases c JOIN compare_items i ON i.case_id = c.id "
			   "JOIN compare_runs r ON r.id = i.run_id "
			   "WHERE c.dept_id = $1 AND c.process = 'share.dq' AND c.state_final = 1 AND c.id < $2 "
			   "ORDER BY c.id DESC LIMIT $3",
	[S_TASK_GET] = "SELECT " TASK_COLS ", c.state_final, i.id_a, i.id_b FROM cases c "
		       "JOIN compare_items i ON i.case_id = c.id JOIN compare_runs r ON r.id = i.run_id "
		       "WHERE c.id = $1 AND c.process = 'share.dq'",
	[S_DESK] = "SELECT c.dept_id, d.name, COUNT(*), MAX(c.light) FROM cases c JOIN departments d ON d.id = c.dept_id "
		   "WHERE c.process = 'share.dq' AND c.state_final = 0 AND c.dept_id IN "
		   "(SELECT dept_id FROM user_roles WHERE user_id = $1 AND role IN ('staff', 'dept_admin')) "
		   "GROUP BY c.dept_id, d.name ORDER BY c.dept_id",
	[S_DEPT_NAME] = "SELECT name FROM departments WHERE id = $1",
	[S_ITEMS_TOTAL] = "SELECT COUNT(*) FROM compare_items WHERE run_id = $1 AND (kind = $2 OR $2 = '')",
};

/* ------------------------------------------------------------ helpers */

static const char *jstr(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static int64_t jint(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

static const char *kind_label(const char *kind)
{
	if (strcmp(kind, "only_a") == 0)
		return msg(MSG_CMP_KIND_ONLY_A);
	if (strcmp(kind, "only_b") == 0)
		return msg(MSG_CMP_KIND_ONLY_B);
	return msg(MSG_CMP_KIND_MISMATCH);
}

static const char *state_label(const char *s)
{
	if (strcmp(s, "queued") == 0)
		return msg(MSG_CMP_STATE_QUEUED);
	if (strcmp(s, "running") == 0)
		return msg(MSG_CMP_STATE_RUNNING);
	if (strcmp(s, "tasks") == 0)
		return msg(MSG_CMP_STATE_TASKS);
	if (strcmp(s, "done") == 0)
		return msg(MSG_CMP_STATE_DONE);
	return msg(MSG_CMP_STATE_FAILED);
}

static void light_decorate(json_t *o, int light)
{
	static const char *const css[] = { "green", "yellow", "red" };
	static const char *const text[] = { "绿灯 正常", "黄灯 临近时限", "红灯 已超期" };
	if (light < 0 || light > 2)
		light = 0;
	json_object_set_new(o, "light", json_integer(light));
	json_object_set_new(o, "light_css", json_string(css[light]));
	json_object_set_new(o, "light_text", json_string(text[light]));
}

static json_t *day_json(int64_t day)
{
	if (day <= 0 || day >= 2147483647)
		return json_null();
	char s[11];
	cal_day_format((cal_day)day, s);
	return json_string(s);
}

static const char *time_text(struct arena *a, int64_t t)
{
	if (t <= 0)
		return "";
	time_t tt = (time_t)t;
	struct tm tm;
	char s[32];
	if (localtime_r(&tt, &tm) == NULL || strftime(s, sizeof s, "%Y-%m-%d %H:%M", &tm) == 0)
		return "";
	return arena_strdup(a, s);
}

static const struct reg_field *field_of(const struct registry *reg, const char *name)
{
	if (reg == NULL || name == NULL)
		return NULL;
	int i = reg_field_index(&reg->def, name);
	return i >= 0 ? &reg->def.fields[i] : NULL;
}

static int is_personal(const struct reg_field *f)
{
	return f != NULL && (f->personal || f->type == RT_IDCARD || f->type == RT_PHONE);
}

/* v as shown: clear, or masked when f is personal and the viewer may not see it whole (arena). */
static json_t *shown(struct arena *a, const struct reg_field *f, const char *v, int clear)
{
	if (v == NULL)
		return json_null();
	if (clear || !is_personal(f))
		return json_string(v);
	char out[REG_VALUE_MAX + 1];
	reg_value_mask(f, v, out, sizeof out);
	(void)a;
	return json_string(out);
}

static int staff_of(struct store *st, int64_t user, int64_t dept)
{
	int64_t n = 0;
	struct sval p[] = { SVI(user), SVI(dept) };
	if (user == 0 || dept == 0 || store_query_int(st, sql[S_STAFF_OF], p, 2, &n) != STORE_OK)
		return 0;
	return n > 0;
}

/* Platform admin, or staff of the data department: may run comparisons and read every run. */
static int can_run(struct req *r)
{
	if (r->who.kind != ACCT_STAFF || r->who.half)
		return 0;
	if (r->who.roles & ROLEBIT_PLATFORM_ADMIN)
		return 1;
	int64_t n = 0;
	struct sval p[] = { SVI(r->who.user_id) };
	return store_query_int(r->st, sql[S_IN_DATA], p, 1, &n) == STORE_OK && n > 0;
}

static int audit(struct store *st, int64_t uid, const char *login, const char *ip, const char *action,
		 const char *object, int64_t dept, json_t *detail)
{
	char *d = detail ? json_dumps(detail, JSON_COMPACT) : NULL;
	struct audit_entry e = { uid, login ? login : "system", action, object, dept, ip, d };
	int rc = audit_append(st, &e);
	free(d);
	json_decref(detail);
	return rc;
}

static const char *dept_name(struct store *st, struct arena *a, int64_t id)
{
	struct store_res *res = NULL;
	struct sval p[] = { SVI(id) };
	const char *n = "";
	if (store_query(st, sql[S_DEPT_NAME], p, 1, &res) == STORE_OK && store_res_rows(res) == 1)
		n = a ? arena_strdup(a, store_res_text(res, 0, 0)) : NULL;
	store_res_free(res);
	return n ? n : "";
}

/* ------------------------------------------------------------ runs */

struct run_row {
	int64_t id, job_id, user_id;
	const char *reg_a, *key_a, *reg_b, *key_b, *map, *state, *actor, *message;
	int only_a, only_b, tasks, deadline;
	int64_t rows_a, rows_b, n_only_a, n_only_b, n_mismatch, n_tasks, elapsed_ms, created, started, finished;
};

/* Row i of a RUN_COLS result; strings borrowed from res. */
static void run_row(const struct store_res *res, int i, struct run_row *w)
{
	w->id = store_res_int(res, i, 0);
	w->reg_a = store_res_text(res, i, 1);
	w->key_a = store_res_text(res, i, 2);
	w->reg_b = store_res_text(res, i, 3);
	w->key_b = store_res_text(res, i, 4);
	w->map = store_res_text(res, i, 5);
	w->only_a = (int)store_res_int(res, i, 6);
	w->only_b = (int)store_res_int(res, i, 7);
	w->tasks = (int)store_res_int(res, i, 8);
	w->deadline = (int)store_res_int(res, i, 9);
	w->state = store_res_text(res, i, 10);
	w->job_id = store_res_int(res, i, 11);
	w->user_id = store_res_int(res, i, 12);
	w->actor = store_res_text(res, i, 13);
	w->rows_a = store_res_int(res, i, 14);
	w->rows_b = store_res_int(res, i, 15);
	w->n_only_a = store_res_int(res, i, 16);
	w->n_only_b = store_res_int(res, i, 17);
	w->n_mismatch = store_res_int(res, i, 18);
	w->n_tasks = store_res_int(res, i, 19);
	w->elapsed_ms = store_res_int(res, i, 20);
	w->message = store_res_text(res, i, 21);
	w->created = store_res_int(res, i, 22);
	w->started = store_res_int(res, i, 23);
	w->finished = store_res_int(res, i, 24);
}

static json_t *reg_json(const struct registry *reg, const char *code)
{
	return json_pack("{s:s,s:s}", "code", code, "name", reg && reg->def.name ? reg->def.name : code);
}

static const char *label_of(const struct registry *reg, const char *field)
{
	const struct reg_field *f = field_of(reg, field);
	return f && f->label ? f->label : field ? field : "";
}

/* The mapping "fa=fb,..." as [{a,a_label,b,b_label}]. */
static json_t *map_json(const struct registry *ra, const struct registry *rb, const char *map)
{
	json_t *out = json_array();
	char *copy = xstrdup(map ? map : ""), *save = NULL;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		if (eq == NULL)
			continue;
		*eq = '\0';
		json_array_append_new(out, json_pack("{s:s,s:s,s:s,s:s}", "a", tok, "a_label", label_of(ra, tok), "b",
						     eq + 1, "b_label", label_of(rb, eq + 1)));
	}
	free(copy);
	return out;
}

static json_t *run_json(struct store *st, struct arena *a, const struct run_row *w)
{
	const struct registry *ra = registry_get(st, w->reg_a), *rb = registry_get(st, w->reg_b);
	json_t *o = json_pack("{s:I,s:o,s:s,s:s,s:o,s:s,s:s,s:o,s:b,s:b,s:b,s:i,s:s,s:s}", "id", (json_int_t)w->id,
			      "registry_a", reg_json(ra, w->reg_a), "key_a", w->key_a, "key_a_label",
			      label_of(ra, w->key_a), "registry_b", reg_json(rb, w->reg_b), "key_b", w->key_b,
			      "key_b_label", label_of(rb, w->key_b), "map", map_json(ra, rb, w->map), "only_a",
			      w->only_a, "only_b", w->only_b, "tasks", w->tasks, "deadline_days", w->deadline, "state",
			      w->state, "state_label", state_label(w->state));
	json_object_set_new(o, "map_text", json_string(w->map ? w->map : ""));
	{
		struct buf b;
		size_t i;
		json_t *m;
		buf_init(&b, 16384);
		json_array_foreach(json_object_get(o, "map"), i, m)
			if (buf_addf(&b, "%s%s（%s）= %s（%s）", i ? "；" : "", jstr(m, "a_label"), jstr(m, "a"),
				     jstr(m, "b_label"), jstr(m, "b")) != 0)
				break;
		json_object_set_new(o, "map_display", json_string(b.data ? b.data : ""));
		buf_release(&b);
	}
	json_object_set_new(o, "finished",
			    json_boolean(strcmp(w->state, "done") == 0 || strcmp(w->state, "failed") == 0));
	json_object_set_new(o, "failed", json_boolean(strcmp(w->state, "failed") == 0));
	json_object_set_new(o, "job", w->job_id ? json_integer(w->job_id) : json_null());
	if (w->job_id)
		json_object_set_new(o, "job_href", json_string(arena_printf(a, "/jobs/%lld", (long long)w->job_id)));
	json_object_set_new(o, "actor", json_string(w->actor ? w->actor : ""));
	json_object_set_new(o, "rows_a", json_integer(w->rows_a));
	json_object_set_new(o, "rows_b", json_integer(w->rows_b));
	json_object_set_new(o, "counts", json_pack("{s:I,s:I,s:I,s:I}", "only_a", (json_int_t)w->n_only_a, "only_b",
						   (json_int_t)w->n_only_b, "mismatch", (json_int_t)w->n_mismatch,
						   "total",
						   (json_int_t)((w->only_a ? w->n_only_a : 0) +
								(w->only_b ? w->n_only_b : 0) + w->n_mismatch)));
	json_object_set_new(o, "n_tasks", json_integer(w->n_tasks));
	json_object_set_new(o, "seconds", json_real((double)w->elapsed_ms / 1000.0));
	json_object_set_new(o, "seconds_text", json_string(arena_printf(a, "%.2f", (double)w->elapsed_ms / 1000.0)));
	json_object_set_new(o, "message", w->message ? json_string(w->message) : json_null());
	json_object_set_new(o, "created_at", json_integer(w->created));
	json_object_set_new(o, "created_text", json_string(time_text(a, w->created)));
	json_object_set_new(o, "finished_at", w->finished ? json_integer(w->finished) : json_null());
	json_object_set_new(o, "finished_text", json_string(time_text(a, w->finished)));
	json_object_set_new(o, "href", json_string(arena_printf(a, "/share/compare/runs/%lld", (long long)w->id)));
	return o;
}

/* The run as JSON with its tasks by department; NULL with *found 0 when none, NULL on failure. */
static json_t *run_load(struct store *st, struct arena *a, int64_t id, struct run_row *w, struct store_res **keep)
{
	struct sval p[] = { SVI(id) };
	*keep = NULL;
	if (store_query(st, sql[S_RUN_GET], p, 1, keep) != STORE_OK)
		return NULL;
	if (store_res_rows(*keep) == 0)
		return json_null();
	run_row(*keep, 0, w);
	json_t *o = run_json(st, a, w);
	struct store_res *res = NULL;
	if (store_query(st, sql[S_BY_DEPT], p, 1, &res) != STORE_OK) {
		json_decref(o);
		return NULL;
	}
	json_t *by = json_array();
	for (int i = 0; i < store_res_rows(res); i++)
		json_array_append_new(by, json_pack("{s:{s:I,s:s},s:I,s:I,s:I,s:I}", "dept", "id",
						    (json_int_t)store_res_int(res, i, 0), "name",
						    store_res_text(res, i, 1), "items", (json_int_t)store_res_int(res, i, 2),
						    "tasks", (json_int_t)store_res_int(res, i, 3), "open",
						    (json_int_t)store_res_int(res, i, 4), "red",
						    (json_int_t)store_res_int(res, i, 5)));
	store_res_free(res);
	json_object_set_new(o, "by_dept", by);
	return o;
}

/* May r read run w?  Runners read all; staff of A's or B's owner read theirs. Sets *clear. */
static int may_read_run(struct req *r, const struct run_row *w, int *clear)
{
	const struct registry *ra = registry_get(r->st, w->reg_a), *rb = registry_get(r->st, w->reg_b);
	int owner = (ra && staff_of(r->st, r->who.user_id, ra->owner_dept_id)) ||
		    (rb && staff_of(r->st, r->who.user_id, rb->owner_dept_id));
	*clear = owner;
	return owner || can_run(r);
}

/* One item row (S_ITEMS_PAGE) as JSON, values shown as the viewer may. */
static json_t *item_json(struct req *r, const struct store_res *res, int i, const struct registry *ra,
			 const struct registry *rb, const struct run_row *w, int clear)
{
	const char *kind = store_res_text(res, i, 1);
	const char *fa = store_res_text(res, i, 5), *fb = store_res_text(res, i, 6);
	const struct reg_field *kf = strcmp(kind, "only_b") == 0 ? field_of(rb, w->key_b) : field_of(ra, w->key_a);
	json_t *o = json_pack("{s:I,s:s,s:s,s:o}", "id", (json_int_t)store_res_int(res, i, 0), "kind", kind,
			      "kind_label", kind_label(kind), "key", shown(r->arena, kf, store_res_text(res, i, 2), clear));
	json_object_set_new(o, "field_a", fa ? json_string(fa) : json_null());
	json_object_set_new(o, "field_a_label", json_string(fa ? label_of(ra, fa) : ""));
	json_object_set_new(o, "field_b", fb ? json_string(fb) : json_null());
	json_object_set_new(o, "field_b_label", json_string(fb ? label_of(rb, fb) : ""));
	json_object_set_new(o, "value_a", shown(r->arena, field_of(ra, fa), store_res_text(res, i, 7), clear));
	json_object_set_new(o, "value_b", shown(r->arena, field_of(rb, fb), store_res_text(res, i, 8), clear));
	json_object_set_new(o, "dept", json_pack("{s:I,s:s}", "id", (json_int_t)store_res_int(res, i, 9), "name",
						 store_res_text(res, i, 10)));
	if (!store_res_isnull(res, i, 11)) {
		const char *state = store_res_text(res, i, 12);
		const struct procdef *pd = procdef_get(DQ_PROCESS);
		int si = pd && state ? procdef_state(pd, state) : -1;
		json_t *t = json_pack("{s:I,s:s,s:s,s:o,s:b}", "id", (json_int_t)store_res_int(res, i, 11), "state",
				      state ? state : "", "state_title", si >= 0 ? pd->states[si].title : "", "deadline",
				      day_json(store_res_int(res, i, 14)), "final", store_res_int(res, i, 15) != 0);
		light_decorate(t, (int)store_res_int(res, i, 13));
		json_object_set_new(o, "task", t);
	} else {
		json_object_set_new(o, "task", json_null());
	}
	return o;
}

/* A page of a run's items: {"items","next"}; NULL on failure. */
static json_t *items_page(struct req *r, const struct run_row *w, const char *kind, int64_t after, int limit,
			  int clear)
{
	const struct registry *ra = registry_get(r->st, w->reg_a), *rb = registry_get(r->st, w->reg_b);
	struct store_res *res = NULL;
	struct sval p[] = { SVI(w->id), SVI(after), SVT(kind ? kind : ""), SVI(limit + 1) };
	if (store_query(r->st, sql[S_ITEMS_PAGE], p, 4, &res) != STORE_OK)
		return NULL;
	int n = store_res_rows(res);
	json_t *items = json_array();
	for (int i = 0; i < n && i < limit; i++)
		json_array_append_new(items, item_json(r, res, i, ra, rb, w, clear));
	json_t *next = n > limit ? json_sprintf("%lld", (long long)store_res_int(res, limit - 1, 0)) : json_null();
	store_res_free(res);
	return json_pack("{s:o,s:o}", "items", items, "next", next);
}

/* ------------------------------------------------------------ the work (job and CLI) */

struct work {
	struct store *st;
	struct job *job;             /* NULL on the CLI */
	int64_t run_id;
	const struct reg_cmp *c;
	int64_t route[REG_CMP_MAX_PAIRS + 1];   /* [0] key pair, [1 + i] pair i */
	json_t *pending;             /* items not yet written */
	int64_t written;
	int failed;
	int quiet;                   /* CLI: no progress line */
	double last_print;
};

static int flush_items(struct work *w)
{
	if (json_array_size(w->pending) == 0)
		return 0;
	if (store_begin(w->st) != STORE_OK)
		return -1;
	size_t i;
	json_t *it;
	int64_t now = time(NULL);
	json_array_foreach(w->pending, i, it) {
		int64_t ia = jint(it, "id_a"), ib = jint(it, "id_b");
		struct sval p[] = { SVI(w->run_id), SVT(jstr(it, "kind")), SVT(jstr(it, "key")), ia ? SVI(ia) : SVN,
				    ib ? SVI(ib) : SVN, SVT(jstr(it, "field_a")), SVT(jstr(it, "field_b")),
				    SVT(jstr(it, "value_a")), SVT(jstr(it, "value_b")), SVI(jint(it, "dept")), SVI(now) };
		if (store_exec(w->st, sql[S_ITEM_INSERT], p, 11, NULL) != STORE_OK) {
			store_rollback(w->st);
			return -1;
		}
	}
	if (store_commit(w->st) != STORE_OK) {
		store_rollback(w->st);
		return -1;
	}
	w->written += (int64_t)json_array_size(w->pending);
	json_array_clear(w->pending);
	return 0;
}

static int on_diff(void *arg, const struct reg_cmp_diff *d)
{
	struct work *w = arg;
	const struct reg_cmp *c = w->c;
	const char *fa = NULL, *fb = NULL;
	if (d->kind == REG_CMP_MISMATCH) {
		fa = c->a->def.fields[c->fa[d->pair]].name;
		fb = c->b->def.fields[c->fb[d->pair]].name;
	}
	json_t *it = json_pack("{s:s,s:s,s:I,s:I,s:I}", "kind", reg_cmp_kind_name(d->kind), "key", d->key, "id_a",
			       (json_int_t)d->id_a, "id_b", (json_int_t)d->id_b, "dept",
			       (json_int_t)w->route[d->kind == REG_CMP_MISMATCH ? 1 + d->pair : 0]);
	if (fa)
		json_object_set_new(it, "field_a", json_string(fa));
	if (fb)
		json_object_set_new(it, "field_b", json_string(fb));
	if (d->value_a)
		json_object_set_new(it, "value_a", json_string(d->value_a));
	if (d->value_b)
		json_object_set_new(it, "value_b", json_string(d->value_b));
	json_array_append_new(w->pending, it);
	if (json_array_size(w->pending) >= ITEM_BATCH && flush_items(w) != 0) {
		w->failed = 1;
		return 1;
	}
	return 0;
}

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void on_progress(void *arg, int64_t done, int64_t total)
{
	struct work *w = arg;
	if (w->job != NULL) {
		jobs_progress(w->job, done, total);
	} else if (!w->quiet) {
		double t = mono();
		if (t - w->last_print >= 0.5 || done >= total) {
			fprintf(stderr, "\r比对进度 %lld / %lld", (long long)done, (long long)total);
			w->last_print = t;
		}
	}
}

/* The subject of the task of one item (malloc'd): what is wrong, with the key masked. */
static char *task_subject(const struct reg_cmp *c, const char *kind, const char *key, const char *fa,
			  const char *fb)
{
	const struct registry *ra = c->a, *rb = c->b;
	const struct reg_field *kf = strcmp(kind, "only_b") == 0 ? &rb->def.fields[c->key_b] : &ra->def.fields[c->key_a];
	char masked[REG_VALUE_MAX + 1];
	if (is_personal(kf))
		reg_value_mask(kf, key, masked, sizeof masked);
	else
		snprintf(masked, sizeof masked, "%s", key);
	const char *na = ra->def.name ? ra->def.name : ra->def.code, *nb = rb->def.name ? rb->def.name : rb->def.code;
	if (strcmp(kind, "only_a") == 0)
		return xasprintf("数据比对：%s%s %s 在%s中没有对应记录", na, label_of(ra, kf->name), masked, nb);
	if (strcmp(kind, "only_b") == 0)
		return xasprintf("数据比对：%s%s %s 在%s中没有对应记录", nb, label_of(rb, kf->name), masked, na);
	return xasprintf("数据比对：%s（%s）与%s（%s）不一致 %s", label_of(ra, fa), na, label_of(rb, fb), nb, masked);
}

/* Phase 2: one case per item without one, TASK_BATCH per transaction.  0 or -1. */
static int make_tasks(struct work *w, int deadline, int64_t total)
{
	const struct reg_cmp *c = w->c;
	int64_t made = 0;
	for (;;) {
		struct store_res *res = NULL;
		struct sval p[] = { SVI(w->run_id), SVI(TASK_BATCH) };
		if (store_begin(w->st) != STORE_OK)
			return -1;
		if (store_query(w->st, sql[S_ITEMS_NO_CASE], p, 2, &res) != STORE_OK)
			goto fail;
		int n = store_res_rows(res);
		for (int i = 0; i < n; i++) {
			int64_t item = store_res_int(res, i, 0), dept = store_res_int(res, i, 7), cid = 0;
			const char *kind = store_res_text(res, i, 1), *key = store_res_text(res, i, 2);
			const char *fa = store_res_text(res, i, 3), *fb = store_res_text(res, i, 4);
			char *subject = task_subject(c, kind, key, fa, fb);
			json_t *data = json_pack("{s:I,s:I,s:s,s:s,s:s,s:s,s:s}", "run", (json_int_t)w->run_id, "item",
						 (json_int_t)item, "kind", kind, "kind_label", kind_label(kind),
						 "registry_a", c->a->def.code, "registry_b", c->b->def.code, "key", key);
			if (fa)
				json_object_set_new(data, "field_a", json_string(fa));
			if (fb)
				json_object_set_new(data, "field_b", json_string(fb));
			if (!store_res_isnull(res, i, 5))
				json_object_set_new(data, "value_a", json_string(store_res_text(res, i, 5)));
			if (!store_res_isnull(res, i, 6))
				json_object_set_new(data, "value_b", json_string(store_res_text(res, i, 6)));
			struct case_new cn = { DQ_PROCESS, dept, 0, subject, NULL, deadline, deadline, NULL, NULL, data };
			struct case_actor sys = { 0, NULL, PD_ROLE_SYSTEM };
			char tracking[CASE_TRACKING_LEN + 1];
			enum case_rc crc = case_create(w->st, &cn, &sys, &cid, tracking);
			free(subject);
			json_decref(data);
			if (crc != CASE_OK) {
				log_error("compare run %lld: task: %s", (long long)w->run_id, case_rc_name(crc));
				goto fail;
			}
			struct sval q[] = { SVI(item), SVI(cid) };
			if (store_exec(w->st, sql[S_ITEM_SET_CASE], q, 2, NULL) != STORE_OK)
				goto fail;
		}
		store_res_free(res);
		res = NULL;
		if (store_commit(w->st) != STORE_OK) {
			store_rollback(w->st);
			return -1;
		}
		made += n;
		if (w->job)
			jobs_progress(w->job, made, total);
		if (n < TASK_BATCH)
			return 0;
		continue;
fail:
		store_res_free(res);
		store_rollback(w->st);
		return -1;
	}
}

/* Notifies the administrators of every department that got tasks (in the caller's transaction). */
static int notify_depts(struct work *w)
{
	struct store_res *res = NULL;
	struct sval p[] = { SVI(w->run_id) };
	if (store_query(w->st, sql[S_BY_DEPT], p, 1, &res) != STORE_OK)
		return -1;
	int rc = 0;
	for (int i = 0; i < store_res_rows(res) && rc == 0; i++) {
		if (store_res_int(res, i, 3) == 0)
			continue;
		int64_t dept = store_res_int(res, i, 0);
		struct store_res *adm = NULL;
		struct sval q[] = { SVI(dept) };
		if (store_query(w->st, sql[S_DEPT_ADMINS], q, 1, &adm) != STORE_OK) {
			rc = -1;
			break;
		}
		char *body = xasprintf("数据比对发现 %lld 条需要本部门（%s）核查的数据，请在时限内处理。",
				       (long long)store_res_int(res, i, 3), store_res_text(res, i, 1));
		char *link = xasprintf("/share/tasks?dept=%lld", (long long)dept);
		char *dedup = xasprintf("compare:%lld:dept:%lld", (long long)w->run_id, (long long)dept);
		for (int k = 0; k < store_res_rows(adm) && rc == 0; k++)
			if (notify_user(w->st, store_res_int(adm, k, 0), "share.dq", msg(MSG_DQ_NOTIFY_TITLE), body, link,
					dedup) != 0)
				rc = -1;
		free(body);
		free(link);
		free(dedup);
		store_res_free(adm);
	}
	store_res_free(res);
	return rc;
}

static int run_fail(struct store *st, int64_t run_id, const char *why)
{
	if (store_in_tx(st))
		store_rollback(st);
	struct sval p[] = { SVI(run_id), SVT(why), SVI(time(NULL)) };
	return store_exec(st, sql[S_RUN_FAIL], p, 3, NULL) == STORE_OK ? 0 : -1;
}

/*
 * Runs (or resumes) run run_id: 0 with *result {run, only_a, only_b,
 * mismatch, tasks, seconds, href}, or -1 with *message.  Own transactions.
 */
static int compare_work(struct store *st, struct job *job, int64_t run_id, int quiet, json_t **result,
			char **message)
{
	struct store_res *res = NULL;
	struct sval p[] = { SVI(run_id) };
	struct run_row rw;
	struct reg_cmp c;
	struct reg_error e;
	struct reg_cmp_stats s;
	struct work w;
	int rc = -1;
	memset(&w, 0, sizeof w);
	memset(&s, 0, sizeof s);
	if (store_query(st, sql[S_RUN_GET], p, 1, &res) != STORE_OK || store_res_rows(res) == 0) {
		*message = xstrdup(msg(MSG_CMP_RUN_NOT_FOUND));
		goto out;
	}
	run_row(res, 0, &rw);
	if (reg_cmp_resolve(st, rw.reg_a, rw.key_a, rw.reg_b, rw.key_b, rw.map, rw.only_a, rw.only_b, &c, &e) != 0) {
		*message = xasprintf("%s %s", msg(e.why), e.detail);
		run_fail(st, run_id, *message);
		goto out;
	}
	w.st = st;
	w.job = job;
	w.run_id = run_id;
	w.c = &c;
	w.quiet = quiet;
	w.route[0] = reg_cmp_route(&c, -1, NULL);
	for (int i = 0; i < c.npairs; i++)
		w.route[1 + i] = reg_cmp_route(&c, i, NULL);
	w.pending = json_array();
	int64_t elapsed = rw.elapsed_ms;
	if (strcmp(rw.state, "tasks") != 0 && strcmp(rw.state, "done") != 0) {
		/* phase 1: compare (from scratch: a restarted run forgets what it wrote) */
		struct sval ps[] = { SVI(run_id), SVI(time(NULL)) };
		if (store_exec(st, sql[S_RUN_START], ps, 2, NULL) != STORE_OK ||
		    store_exec(st, sql[S_ITEMS_CLEAR], p, 1, NULL) != STORE_OK)
			goto store_failed;
		struct reg_cmp_cb cb = { on_diff, on_progress, &w };
		int crc = reg_cmp_run(st, &c, &cb, &s);
		if (!quiet && job == NULL)
			fputc('\n', stderr);
		if (crc != 0 || w.failed || flush_items(&w) != 0)
			goto store_failed;
		elapsed = (int64_t)(s.seconds * 1000.0 + 0.5);
		/* kinds not reported are not counted either (only in B is most of the population
		 * when comparing legal representatives: not a discrepancy) */
		struct sval pc[] = { SVI(run_id), SVI(s.rows_a), SVI(s.rows_b), SVI(c.only_a ? s.only_a : 0),
				     SVI(c.only_b ? s.only_b : 0), SVI(s.mismatch), SVI(elapsed) };
		if (store_begin(st) != STORE_OK)
			goto store_failed;
		if (store_exec(st, sql[S_RUN_COUNTS], pc, 7, NULL) != STORE_OK) {
			store_rollback(st);
			goto store_failed;
		}
		if (store_commit(st) != STORE_OK) {
			store_rollback(st);
			goto store_failed;
		}
	}
	if (strcmp(rw.state, "done") != 0) {
		if (rw.tasks && make_tasks(&w, rw.deadline, w.written) != 0)
			goto store_failed;
		struct sval pd[] = { SVI(run_id), SVI(time(NULL)) };
		char object[48];
		snprintf(object, sizeof object, "compare_run:%lld", (long long)run_id);
		if (store_begin(st) != STORE_OK)
			goto store_failed;
		if (store_exec(st, sql[S_RUN_DONE], pd, 2, NULL) != STORE_OK || notify_depts(&w) != 0 ||
		    audit(st, rw.user_id, rw.actor, NULL, "compare.done", object, 0,
			  json_pack("{s:I,s:I,s:I,s:I}", "only_a", (json_int_t)s.only_a, "only_b", (json_int_t)s.only_b,
				    "mismatch", (json_int_t)s.mismatch, "ms", (json_int_t)elapsed)) != 0) {
			store_rollback(st);
			goto store_failed;
		}
		if (store_commit(st) != STORE_OK) {
			store_rollback(st);
			goto store_failed;
		}
		notify_kick();
	}
	store_res_free(res);
	res = NULL;
	if (store_query(st, sql[S_RUN_GET], p, 1, &res) != STORE_OK || store_res_rows(res) == 0)
		goto store_failed;
	run_row(res, 0, &rw);
	*result = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:f,s:s}", "run", (json_int_t)run_id, "rows_a",
			    (json_int_t)rw.rows_a, "rows_b", (json_int_t)rw.rows_b, "only_a", (json_int_t)rw.n_only_a,
			    "only_b", (json_int_t)rw.n_only_b, "mismatch", (json_int_t)rw.n_mismatch, "tasks",
			    (json_int_t)rw.n_tasks, "seconds", (double)rw.elapsed_ms / 1000.0, "href", "");
	json_object_set_new(*result, "href", json_sprintf("/share/compare/runs/%lld", (long long)run_id));
	rc = 0;
	goto out;
store_failed:
	*message = xstrdup(msg(MSG_CMP_JOB_FAILED));
	run_fail(st, run_id, *message);
out:
	json_decref(w.pending);
	store_res_free(res);
	return rc;
}

static int job_compare(struct job *j, json_t **result, char **message)
{
	int64_t run = jint(j->params, "run");
	return compare_work(j->st, j, run, 1, result, message);
}

/* ------------------------------------------------------------ creating a run */

struct spec {
	const char *reg_a, *key_a, *reg_b, *key_b, *map;
	int only_a, only_b, tasks, deadline;
};

/* The normalised mapping "fa=fb,..." of c (arena). */
static const char *map_text(struct arena *a, const struct reg_cmp *c)
{
	struct buf b;
	buf_init(&b, 8192);
	for (int i = 0; i < c->npairs; i++)
		if (buf_addf(&b, "%s%s=%s", i ? "," : "", c->a->def.fields[c->fa[i]].name,
			     c->b->def.fields[c->fb[i]].name) != 0)
			break;
	const char *s = arena_strdup(a, b.data ? b.data : "");
	buf_release(&b);
	return s;
}

/*
 * Checks sp and records a queued run with its job, in the caller's
 * transaction.  0 with *run, *job; 1 with *e filled (bad spec); -1 on failure.
 */
static int run_create(struct store *st, struct arena *a, const struct spec *sp, int64_t uid, const char *actor,
		      const char *ip, int64_t *run, int64_t *job, struct reg_error *e)
{
	struct reg_cmp c;
	if (reg_cmp_resolve(st, sp->reg_a, sp->key_a, sp->reg_b, sp->key_b, sp->map, sp->only_a, sp->only_b, &c, e) != 0)
		return 1;
	const char *map = map_text(a, &c);
	const char *kb = c.b->def.fields[c.key_b].name;
	struct sval p[] = { SVT(c.a->def.code), SVT(c.a->def.fields[c.key_a].name), SVT(c.b->def.code), SVT(kb),
			    SVT(map), SVI(c.only_a), SVI(c.only_b), SVI(sp->tasks), SVI(sp->deadline),
			    uid ? SVI(uid) : SVN, SVT(actor), SVI(time(NULL)) };
	if (store_query_int(st, sql[S_RUN_INSERT], p, 12, run) != STORE_OK)
		return -1;
	int64_t jid = 0;
	if (job != NULL) {
		json_t *params = json_pack("{s:I}", "run", (json_int_t)*run);
		int rc = jobs_enqueue(st, JOB_KIND, params, uid, 0, &jid);
		json_decref(params);
		if (rc != 0)
			return -1;
		*job = jid;
		struct sval q[] = { SVI(*run), SVI(jid) };
		if (store_exec(st, sql[S_RUN_SET_JOB], q, 2, NULL) != STORE_OK)
			return -1;
	}
	char object[48];
	snprintf(object, sizeof object, "compare_run:%lld", (long long)*run);
	json_t *d = json_pack("{s:s,s:s,s:s,s:s,s:s,s:b,s:b,s:b,s:i,s:I}", "registry_a", c.a->def.code, "key_a",
			      c.a->def.fields[c.key_a].name, "registry_b", c.b->def.code, "key_b", kb, "map", map,
			      "only_a", c.only_a, "only_b", c.only_b, "tasks", sp->tasks, "deadline_days", sp->deadline,
			      "job", (json_int_t)jid);
	return audit(st, uid, actor, ip, "compare.create", object, 0, d) == 0 ? 0 : -1;
}

/* ------------------------------------------------------------ pages and API: comparisons */

static json_t *registry_options(struct store *st)
{
	json_t *l = registry_list(st);
	return l ? l : json_array();
}

static void compare_form_fill(struct req *r, json_t *ctx)
{
	json_object_set_new(ctx, "registries", registry_options(r->st));
	if (json_object_get(ctx, "title") == NULL)
		json_object_set_new(ctx, "title", json_string("数据比对"));
	json_object_set_new(ctx, "default_deadline", json_integer(DEFAULT_DEADLINE));
}

static void page_compare(struct req *r)
{
	if (!can_run(r)) {
		resp_error(r, 403, MSG_CMP_FORBIDDEN, NULL);
		return;
	}
	json_t *ctx = json_pack("{s:s,s:{s:s,s:s,s:s,s:s,s:s,s:b,s:b,s:b,s:i}}", "title", "数据比对", "values",
				"registry_a", "enterprise", "key_a", "legal_rep_id", "registry_b", "population",
				"key_b", "id_no", "map", "legal_rep_name=name", "only_a", 1, "only_b", 0, "tasks", 1,
				"deadline_days", DEFAULT_DEADLINE);
	compare_form_fill(r, ctx);
	resp_page(r, 200, "share/compare", ctx);
}

static void do_compare(struct req *r)
{
	if (!can_run(r)) {
		resp_error(r, 403, MSG_CMP_FORBIDDEN, NULL);
		return;
	}
	struct spec sp;
	sp.reg_a = req_in_str(r, "registry_a");
	sp.key_a = req_in_str(r, "key_a");
	sp.reg_b = req_in_str(r, "registry_b");
	sp.key_b = req_in_str(r, "key_b");
	sp.map = req_in_str(r, "map");
	/* a form's unchecked box is absent: off; the API's defaults are only_a and tasks on */
	int form = !r->is_api;
	json_t *in = r->in;
	sp.only_a = json_object_get(in, "only_a") ? req_in_bool(r, "only_a") : !form;
	sp.only_b = json_object_get(in, "only_b") ? req_in_bool(r, "only_b") : 0;
	sp.tasks = json_object_get(in, "tasks") ? req_in_bool(r, "tasks") : !form;
	sp.deadline = (int)req_in_int(r, "deadline_days", DEFAULT_DEADLINE);
	int64_t run = 0, job = 0;
	struct reg_error e;
	memset(&e, 0, sizeof e);
	int rc = run_create(r->st, r->arena, &sp, r->who.user_id, r->who.login, r->ip, &run, &job, &e);
	if (rc == 1) {
		struct input_error ie = { 400, e.why, "", "" };
		snprintf(ie.field, sizeof ie.field, "%s", e.field);
		size_t dl = strnlen(e.detail, sizeof ie.detail - 1);
		memcpy(ie.detail, e.detail, dl);
		ie.detail[dl] = '\0';
		resp_input_error(r, &ie);
		return;
	}
	if (rc != 0) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	jobs_kick();
	if (r->is_api) {
		r->location = arena_printf(r->arena, "/api/v1/share/compare/runs/%lld", (long long)run);
		resp_json(r, 202, json_pack("{s:I,s:I,s:s,s:s}", "job", (json_int_t)job, "run", (json_int_t)run, "href",
					    r->location, "job_href",
					    arena_printf(r->arena, "/api/v1/jobs/%lld", (long long)job)));
		return;
	}
	resp_redirect(r, arena_printf(r->arena, "/share/compare/runs/%lld", (long long)run));
}

static int parse_after(struct req *r, int64_t *after)
{
	const char *s = req_in_str(r, "after");
	*after = 0;
	if (s == NULL || *s == '\0')
		return 0;
	char *end = NULL;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < 0) {
		resp_error(r, 400, MSG_CMP_BAD_CURSOR, "after");
		return -1;
	}
	*after = v;
	return 0;
}

/* Runs, newest first: {"items","next"}. */
static json_t *runs_page(struct req *r, int64_t before, int limit)
{
	struct store_res *res = NULL;
	struct sval p[] = { SVI(before > 0 ? before : INT64_MAX), SVI(limit + 1) };
	if (store_query(r->st, sql[S_RUN_LIST], p, 2, &res) != STORE_OK)
		return NULL;
	int n = store_res_rows(res);
	json_t *items = json_array();
	for (int i = 0; i < n && i < limit; i++) {
		struct run_row w;
		run_row(res, i, &w);
		json_array_append_new(items, run_json(r->st, r->arena, &w));
	}
	json_t *next = n > limit ? json_sprintf("%lld", (long long)store_res_int(res, limit - 1, 0)) : json_null();
	store_res_free(res);
	return json_pack("{s:o,s:o}", "items", items, "next", next);
}

static json_t *runs_load(struct req *r)
{
	if (!can_run(r)) {
		resp_error(r, 403, MSG_CMP_FORBIDDEN, NULL);
		return NULL;
	}
	int64_t after;
	if (parse_after(r, &after) != 0)
		return NULL;
	json_t *pg = runs_page(r, after, (int)req_in_int(r, "limit", PAGE_RUNS));
	if (pg == NULL)
		resp_error(r, 500, MSG_HTTP_500, NULL);
	return pg;
}

static void page_runs(struct req *r)
{
	json_t *pg = runs_load(r);
	if (pg == NULL)
		return;
	const char *next = jstr(pg, "next");
	if (next)
		json_object_set_new(pg, "next_href", json_string(arena_printf(r->arena, "/share/compare/runs?after=%s", next)));
	json_object_set_new(pg, "title", json_string("数据比对记录"));
	resp_page(r, 200, "share/compare_runs", pg);
}

static void api_runs(struct req *r)
{
	json_t *pg = runs_load(r);
	if (pg != NULL)
		resp_json(r, 200, pg);
}

/* Loads run {id} for r: 0 with *o, *w (strings valid while *keep lives) and *clear, or -1 after answering. */
static int run_for(struct req *r, json_t **o, struct run_row *w, struct store_res **keep, int *clear)
{
	int64_t id;
	*o = NULL;
	*keep = NULL;
	if (req_param_id(r, "id", &id) != 0)
		return -1;
	*o = run_load(r->st, r->arena, id, w, keep);
	if (*o == NULL) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return -1;
	}
	if (json_is_null(*o) || !may_read_run(r, w, clear)) {
		int forbidden = !json_is_null(*o);
		json_decref(*o);
		*o = NULL;
		store_res_free(*keep);
		*keep = NULL;
		if (forbidden)
			resp_error(r, 403, MSG_CMP_FORBIDDEN, NULL);
		else
			resp_error(r, 404, MSG_CMP_RUN_NOT_FOUND, NULL);
		return -1;
	}
	return 0;
}

static const char *const kinds[] = { "only_a", "only_b", "mismatch", NULL };
static const char *const formats[] = { "csv", "xlsx", "json", NULL };

/* Audits a read of a run's discrepancy list (personal data, masked or not). */
static int audit_read(struct req *r, const struct run_row *w, const char *what, int clear)
{
	char *object = xasprintf("compare_run:%lld", (long long)w->id);
	char *d = xasprintf("{\"what\":\"%s\",\"clear\":%s}", what, clear ? "true" : "false");
	struct audit_entry e = { r->who.user_id, r->who.login, "compare.read", object, 0, r->ip, d };
	int rc = audit_append_tx(r->st, &e);
	free(object);
	free(d);
	if (rc != 0)
		resp_error(r, 500, MSG_HTTP_500, NULL);
	return rc;
}

static void page_run(struct req *r)
{
	json_t *o;
	struct run_row w;
	struct store_res *keep;
	int clear;
	if (run_for(r, &o, &w, &keep, &clear) != 0)
		return;
	int64_t after;
	const char *kind = req_in_str(r, "kind");
	if (parse_after(r, &after) != 0 || audit_read(r, &w, "items", clear) != 0) {
		json_decref(o);
		store_res_free(keep);
		return;
	}
	json_t *pg = items_page(r, &w, kind, after, PAGE_ITEMS, clear);
	if (pg == NULL) {
		json_decref(o);
		store_res_free(keep);
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	const char *next = jstr(pg, "next");
	json_t *ctx = json_pack("{s:s,s:o,s:O,s:b}", "title", "数据比对报告", "run", o, "items",
				json_object_get(pg, "items"), "clear", clear);
	if (next)
		json_object_set_new(ctx, "next_href",
				    json_string(arena_printf(r->arena, "/share/compare/runs/%lld?%s%s%safter=%s",
							     (long long)w.id, kind ? "kind=" : "", kind ? kind : "",
							     kind ? "&" : "", next)));
	json_t *kopts = json_array();
	for (int i = 0; kinds[i]; i++)
		json_array_append_new(kopts, json_pack("{s:s,s:s,s:b}", "value", kinds[i], "label", kind_label(kinds[i]),
						       "selected", kind && strcmp(kind, kinds[i]) == 0));
	json_object_set_new(ctx, "kinds", kopts);
	json_object_set_new(ctx, "running", json_boolean(!json_is_true(json_object_get(o, "finished"))));
	if (w.job_id) {
		json_t *j = jobs_json(r->st, w.job_id);
		if (j)
			json_object_set_new(ctx, "job", j);
	}
	json_decref(pg);
	store_res_free(keep);
	resp_page(r, 200, "share/compare_run", ctx);
}

static void api_run(struct req *r)
{
	json_t *o;
	struct run_row w;
	struct store_res *keep;
	int clear;
	if (run_for(r, &o, &w, &keep, &clear) != 0)
		return;
	store_res_free(keep);
	resp_json(r, 200, o);
}

static void api_run_items(struct req *r)
{
	json_t *o;
	struct run_row w;
	struct store_res *keep;
	int clear;
	if (run_for(r, &o, &w, &keep, &clear) != 0)
		return;
	json_decref(o);
	int64_t after;
	if (parse_after(r, &after) != 0 || audit_read(r, &w, "items", clear) != 0) {
		store_res_free(keep);
		return;
	}
	json_t *pg = items_page(r, &w, req_in_str(r, "kind"), after, (int)req_in_int(r, "limit", PAGE_ITEMS), clear);
	store_res_free(keep);
	if (pg == NULL) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	resp_json(r, 200, pg);
}

/* ------------------------------------------------------------ export */

static const char *const head_cols[] = { "序号", "类别", "关联值", "A 库字段", "A 库的值", "B 库字段", "B 库的值",
					 "核查部门", "任务状态", "截止日期" };
#define NCOLS ((int)(sizeof head_cols / sizeof head_cols[0]))

static const char *cell(json_t *it, int c)
{
	static __thread char num[32];
	json_t *t = json_object_get(it, "task");
	switch (c) {
	case 0:
		snprintf(num, sizeof num, "%lld", (long long)jint(it, "id"));
		return num;
	case 1:
		return jstr(it, "kind_label");
	case 2:
		return jstr(it, "key");
	case 3:
		return jstr(it, "field_a_label");
	case 4:
		return jstr(it, "value_a");
	case 5:
		return jstr(it, "field_b_label");
	case 6:
		return jstr(it, "value_b");
	case 7:
		return jstr(json_object_get(it, "dept"), "name");
	case 8:
		return json_is_object(t) ? jstr(t, "state_title") : "";
	default:
		return json_is_object(t) ? jstr(t, "deadline") : "";
	}
}

/* Streams every item of run w through fn (pages of EXPORT_PAGE).  0 or -1. */
static int each_item(struct req *r, const struct run_row *w, int clear, int (*fn)(void *, json_t *), void *arg)
{
	int64_t after = 0;
	for (;;) {
		json_t *pg = items_page(r, w, NULL, after, EXPORT_PAGE, clear);
		if (pg == NULL)
			return -1;
		size_t i;
		json_t *it;
		json_array_foreach(json_object_get(pg, "items"), i, it)
			if (fn(arg, it) != 0) {
				json_decref(pg);
				return -1;
			}
		const char *next = jstr(pg, "next");
		after = next ? strtoll(next, NULL, 10) : 0;
		json_decref(pg);
		if (next == NULL)
			return 0;
	}
}

static int csv_row(void *arg, json_t *it)
{
	FILE *f = arg;
	for (int c = 0; c < NCOLS; c++) {
		if (c)
			fputc(',', f);
		csvw_put(f, cell(it, c), 1);
	}
	fputs("\r\n", f);
	return ferror(f) ? -1 : 0;
}

struct json_out {
	FILE *f;
	int n;
};

static int json_row(void *arg, json_t *it)
{
	struct json_out *o = arg;
	char *s = json_dumps(it, JSON_COMPACT);
	if (s == NULL)
		return -1;
	fprintf(o->f, "%s%s", o->n++ ? ",\n" : "\n", s);
	free(s);
	return ferror(o->f) ? -1 : 0;
}

struct xlsx_out {
	lxw_worksheet *ws;
	lxw_row_t row;
};

static int xlsx_row(void *arg, json_t *it)
{
	struct xlsx_out *o = arg;
	if (o->row >= 1048575)
		return 0;
	o->row++;
	for (int c = 0; c < NCOLS; c++) {
		const char *v = cell(it, c);
		if (c == 0)
			worksheet_write_number(o->ws, o->row, 0, (double)jint(it, "id"), NULL);
		else if (v && *v)
			worksheet_write_string(o->ws, o->row, (lxw_col_t)c, v, NULL);
	}
	return 0;
}

/* Writes the XLSX report to a temporary file and returns its descriptor (unlinked), or -1. */
static int export_xlsx(struct req *r, const struct run_row *w, int clear)
{
	char path[] = "/tmp/yizhan-compare-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		return -1;
	close(fd);
	lxw_workbook_options opt = { .constant_memory = LXW_TRUE, .tmpdir = NULL };
	lxw_workbook *wb = workbook_new_opt(path, &opt);
	if (wb == NULL) {
		unlink(path);
		return -1;
	}
	lxw_worksheet *ws = workbook_add_worksheet(wb, "数据比对报告");
	lxw_format *bold = workbook_add_format(wb);
	format_set_bold(bold);
	for (int c = 0; c < NCOLS; c++)
		worksheet_write_string(ws, 0, (lxw_col_t)c, head_cols[c], bold);
	struct xlsx_out o = { ws, 0 };
	int rc = each_item(r, w, clear, xlsx_row, &o);
	if (workbook_close(wb) != LXW_NO_ERROR)
		rc = -1;
	fd = rc == 0 ? open(path, O_RDONLY | O_CLOEXEC) : -1;
	unlink(path);
	return fd;
}

static void page_export(struct req *r)
{
	json_t *o;
	struct run_row w;
	struct store_res *keep;
	int clear;
	if (run_for(r, &o, &w, &keep, &clear) != 0)
		return;
	const char *format = req_in_str(r, "format");
	if (format == NULL)
		format = "csv";
	int fd = -1;
	if (audit_read(r, &w, "export", clear) != 0)
		goto out;
	if (strcmp(format, "xlsx") == 0) {
		fd = export_xlsx(r, &w, clear);
	} else {
		FILE *f = tmpfile();
		if (f == NULL)
			goto fail;
		int rc;
		if (strcmp(format, "json") == 0) {
			char *head = json_dumps(o, JSON_COMPACT);
			fprintf(f, "{\"run\":%s,\"items\":[", head ? head : "null");
			free(head);
			struct json_out jo = { f, 0 };
			rc = each_item(r, &w, clear, json_row, &jo);
			fputs("\n]}\n", f);
		} else {
			fputs("\xEF\xBB\xBF", f);
			for (int c = 0; c < NCOLS; c++) {
				if (c)
					fputc(',', f);
				csvw_put(f, head_cols[c], 1);
			}
			fputs("\r\n", f);
			rc = each_item(r, &w, clear, csv_row, f);
		}
		if (rc == 0 && fflush(f) == 0)
			fd = dup(fileno(f));
		fclose(f);
	}
	struct stat sb;
	if (fd < 0 || fstat(fd, &sb) != 0 || lseek(fd, 0, SEEK_SET) != 0)
		goto fail;
	if (r->answered) {
		close(fd);
		goto out;
	}
	r->answered = 1;
	buf_reset(&r->out);
	r->status = 200;
	r->ctype = strcmp(format, "xlsx") == 0 ? "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
		   : strcmp(format, "json") == 0 ? "application/json; charset=utf-8"
						  : "text/csv; charset=utf-8";
	r->resp_fd = fd;
	r->resp_fd_len = (uint64_t)sb.st_size;
	r->has_fd = 1;
	r->cache_control = "private, no-store";
	if (r->nextra < 4) {
		r->extra_hdr_name[r->nextra] = "Content-Disposition";
		r->extra_hdr_val[r->nextra++] =
			arena_printf(r->arena, "attachment; filename=\"compare-%lld.%s\"", (long long)w.id, format);
	}
	goto out;
fail:
	if (fd >= 0)
		close(fd);
	resp_error(r, 500, MSG_HTTP_500, NULL);
out:
	json_decref(o);
	store_res_free(keep);
}

/* ------------------------------------------------------------ tasks */

/* The departments where r's user is staff: [{id,name,selected}]; *dept the chosen one (0 none). */
static json_t *task_depts(struct req *r, int64_t want, int64_t *dept)
{
	struct store_res *res = NULL;
	struct sval p[] = { SVI(r->who.user_id) };
	*dept = 0;
	if (store_query(r->st, sql[S_USER_DEPTS], p, 1, &res) != STORE_OK)
		return NULL;
	json_t *a = json_array();
	for (int i = 0; i < store_res_rows(res); i++) {
		int64_t id = store_res_int(res, i, 0);
		if ((want == 0 && *dept == 0) || want == id)
			*dept = id;
		json_array_append_new(a, json_pack("{s:I,s:s}", "id", (json_int_t)id, "name", store_res_text(res, i, 1)));
	}
	store_res_free(res);
	size_t i;
	json_t *d;
	json_array_foreach(a, i, d)
		json_object_set_new(d, "selected", json_boolean(jint(d, "id") == *dept));
	return a;
}

/* One TASK_COLS row as JSON (the list: keys masked when personal). */
static json_t *task_json(struct req *r, const struct store_res *res, int i, int clear)
{
	const char *kind = store_res_text(res, i, 9);
	const struct registry *ra = registry_get(r->st, store_res_text(res, i, 16));
	const struct registry *rb = registry_get(r->st, store_res_text(res, i, 18));
	const struct reg_field *kf = strcmp(kind, "only_b") == 0 ? field_of(rb, store_res_text(res, i, 19))
								  : field_of(ra, store_res_text(res, i, 17));
	const char *fa = store_res_text(res, i, 11), *fb = store_res_text(res, i, 12);
	const char *state = store_res_text(res, i, 2);
	const struct procdef *pd = procdef_get(DQ_PROCESS);
	int si = pd ? procdef_state(pd, state) : -1;
	int64_t id = store_res_int(res, i, 0);
	json_t *o = json_pack("{s:I,s:s,s:s,s:s,s:I,s:o,s:I,s:s,s:s,s:o}", "id", (json_int_t)id, "subject",
			      store_res_text(res, i, 1), "state", state, "state_title", si >= 0 ? pd->states[si].title : state,
			      "version", (json_int_t)store_res_int(res, i, 5), "deadline", day_json(store_res_int(res, i, 4)),
			      "item", (json_int_t)store_res_int(res, i, 8), "kind", kind, "kind_label", kind_label(kind),
			      "key", shown(r->arena, kf, store_res_text(res, i, 10), clear));
	light_decorate(o, (int)store_res_int(res, i, 3));
	json_object_set_new(o, "dept_id", json_integer(store_res_int(res, i, 7)));
	json_object_set_new(o, "field_a", fa ? json_string(fa) : json_null());
	json_object_set_new(o, "field_a_label", json_string(fa ? label_of(ra, fa) : ""));
	json_object_set_new(o, "field_b", fb ? json_string(fb) : json_null());
	json_object_set_new(o, "field_b_label", json_string(fb ? label_of(rb, fb) : ""));
	json_object_set_new(o, "value_a", shown(r->arena, field_of(ra, fa), store_res_text(res, i, 13), clear));
	json_object_set_new(o, "value_b", shown(r->arena, field_of(rb, fb), store_res_text(res, i, 14), clear));
	json_object_set_new(o, "run", json_integer(store_res_int(res, i, 15)));
	json_object_set_new(o, "registry_a", reg_json(ra, store_res_text(res, i, 16)));
	json_object_set_new(o, "registry_b", reg_json(rb, store_res_text(res, i, 18)));
	json_object_set_new(o, "created_at", json_integer(store_res_int(res, i, 6)));
	json_object_set_new(o, "href", json_string(arena_printf(r->arena, "/share/tasks/%lld", (long long)id)));
	return o;
}

static const char *const task_states[] = { "open", "closed", NULL };

/* The task list of r: 0 with *out {dept, depts, state, items, next}, or -1 after answering. */
static int tasks_load(struct req *r, json_t **out)
{
	int64_t dept;
	*out = NULL;
	if (r->who.kind != ACCT_STAFF) {
		resp_error(r, 403, MSG_DQ_NO_DEPT, NULL);
		return -1;
	}
	int64_t want = req_in_int(r, "dept", 0);
	json_t *depts = task_depts(r, want, &dept);
	if (depts == NULL) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return -1;
	}
	if (want != 0 && dept != want) {
		json_decref(depts);
		resp_error(r, 403, MSG_DQ_DEPT_FORBIDDEN, "dept");
		return -1;
	}
	const char *state = req_in_str(r, "state");
	int closed = state && strcmp(state, "closed") == 0;
	int limit = (int)req_in_int(r, "limit", PAGE_TASKS);
	const char *after = req_in_str(r, "after");
	json_t *items = json_array(), *next = json_null();
	if (dept != 0) {
		struct store_res *res = NULL;
		int rc;
		if (closed) {
			int64_t before = INT64_MAX;
			if (after && *after) {
				char *end;
				errno = 0;
				before = strtoll(after, &end, 10);
				if (errno || *end || before <= 0)
					goto bad_cursor;
			}
			struct sval p[] = { SVI(dept), SVI(before), SVI(limit + 1) };
			rc = store_query(r->st, sql[S_TASKS_CLOSED], p, 3, &res);
		} else {
			long long l = 3, d = 0, id = 0;
			if (after && *after) {
				int used = 0;
				if (sscanf(after, "%lld.%lld.%lld%n", &l, &d, &id, &used) != 3 || after[used] != '\0')
					goto bad_cursor;
			}
			struct sval p[] = { SVI(dept), SVI(l), SVI(d), SVI(id), SVI(limit + 1) };
			rc = store_query(r->st, sql[S_TASKS_OPEN], p, 5, &res);
		}
		if (rc != STORE_OK) {
			json_decref(depts);
			json_decref(items);
			resp_error(r, 500, MSG_HTTP_500, NULL);
			return -1;
		}
		int n = store_res_rows(res);
		for (int i = 0; i < n && i < limit; i++)
			json_array_append_new(items, task_json(r, res, i, 0));
		if (n > limit) {
			int k = limit - 1;
			next = closed ? json_sprintf("%lld", (long long)store_res_int(res, k, 0))
				      : json_sprintf("%lld.%lld.%lld", (long long)store_res_int(res, k, 3),
						     (long long)store_res_int(res, k, 4), (long long)store_res_int(res, k, 0));
		}
		store_res_free(res);
	}
	json_t *sel = NULL;
	size_t i;
	json_t *d;
	json_array_foreach(depts, i, d)
		if (jint(d, "id") == dept)
			sel = d;
	*out = json_pack("{s:O,s:o,s:s,s:b,s:o,s:o}", "dept", sel ? sel : json_null(), "depts", depts, "state",
			 closed ? "closed" : "open", "closed", closed, "items", items, "next", next);
	return 0;
bad_cursor:
	json_decref(depts);
	json_decref(items);
	resp_error(r, 400, MSG_CMP_BAD_CURSOR, "after");
	return -1;
}

static void page_tasks(struct req *r)
{
	json_t *o;
	if (tasks_load(r, &o) != 0)
		return;
	json_object_set_new(o, "title", json_string("数据质量任务"));
	json_object_set_new(o, "show_depts", json_boolean(json_array_size(json_object_get(o, "depts")) > 1));
	const char *next = jstr(o, "next");
	json_t *dept = json_object_get(o, "dept");
	if (next && json_is_object(dept))
		json_object_set_new(o, "next_href",
				    json_string(arena_printf(r->arena, "/share/tasks?dept=%lld&state=%s&after=%s",
							     (long long)jint(dept, "id"), jstr(o, "state"),
							     req_url_encode(r, next))));
	resp_page(r, 200, "share/tasks", o);
}

static void api_tasks(struct req *r)
{
	json_t *o;
	if (tasks_load(r, &o) == 0)
		resp_json(r, 200, o);
}

/* PD_ROLE_* of r's user for a task of dept. */
static unsigned task_roles(struct req *r, int64_t dept)
{
	unsigned roles = 0;
	struct store_res *res = NULL;
	struct sval p[] = { SVI(r->who.user_id) };
	if (r->who.kind != ACCT_STAFF || r->who.half)
		return 0;
	if (r->who.roles & ROLEBIT_PLATFORM_ADMIN)
		roles |= PD_ROLE_SUPERVISOR;
	if (store_query(r->st, sql[S_USER_DEPTS], p, 1, &res) != STORE_OK)
		return 0;
	for (int i = 0; i < store_res_rows(res); i++)
		if (store_res_int(res, i, 0) == dept)
			roles |= PD_ROLE_STAFF | (store_res_int(res, i, 2) ? PD_ROLE_DEPT_ADMIN : 0);
	store_res_free(res);
	return roles;
}

/*
 * Task {id} for r: 0 with *o (values in clear for the task's department, who
 * must find the record; the read is logged), or -1 after answering.
 */
static int task_for(struct req *r, int64_t id, json_t **o, unsigned *roles)
{
	struct store_res *res = NULL;
	struct sval p[] = { SVI(id) };
	*o = NULL;
	if (store_query(r->st, sql[S_TASK_GET], p, 1, &res) != STORE_OK) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return -1;
	}
	if (store_res_rows(res) == 0) {
		store_res_free(res);
		resp_error(r, 404, MSG_DQ_NOT_FOUND, NULL);
		return -1;
	}
	int64_t dept = store_res_int(res, 0, 7);
	*roles = task_roles(r, dept);
	if ((*roles & (PD_ROLE_STAFF | PD_ROLE_SUPERVISOR)) == 0) {
		store_res_free(res);
		resp_error(r, 404, MSG_DQ_NOT_FOUND, NULL);
		return -1;
	}
	int clear = (*roles & PD_ROLE_STAFF) != 0;
	*o = task_json(r, res, 0, clear);
	json_object_set_new(*o, "final", json_boolean(store_res_int(res, 0, 20) != 0));
	json_object_set_new(*o, "dept_name", json_string(dept_name(r->st, r->arena, dept)));
	json_object_set_new(*o, "clear", json_boolean(clear));
	json_object_set_new(*o, "can_act", json_boolean(clear && store_res_int(res, 0, 20) == 0));
	const char *kind = store_res_text(res, 0, 9);
	if (clear) {
		/* the data subject's tracker: the department read the identifier in clear */
		const struct registry *reg = registry_get(r->st, store_res_text(res, 0, strcmp(kind, "only_b") == 0 ? 18 : 16));
		const struct reg_field *kf = reg ? field_of(reg, store_res_text(res, 0, strcmp(kind, "only_b") == 0 ? 19 : 17))
						 : NULL;
		const char *fields = store_res_text(res, 0, 11) ? store_res_text(res, 0, 11) : kf ? kf->name : "";
		struct reg_access acc = { dept, r->who.user_id, r->who.login, reg ? reg->def.code : "",
					  kf && kf->type == RT_IDCARD ? store_res_text(res, 0, 10) : NULL,
					  "数据质量核查", "owner", fields, "page" };
		if (kf && (kf->type == RT_IDCARD || kf->type == RT_USCC) &&
		    reg_access_log(r->st, http_ctx() ? http_ctx()->keys : NULL, &acc) != 0) {
			store_res_free(res);
			json_decref(*o);
			*o = NULL;
			resp_error(r, 500, MSG_HTTP_500, NULL);
			return -1;
		}
	}
	store_res_free(res);
	json_t *c = case_json(r->st, id, *roles, 0);
	if (c) {
		json_object_set_new(*o, "clocks", json_deep_copy(json_object_get(c, "clocks")));
		json_decref(c);
	}
	json_t *tl = case_timeline(r->st, id, 0);
	json_object_set_new(*o, "timeline", tl ? tl : json_array());
	size_t i;
	json_t *ev;
	json_array_foreach(json_object_get(*o, "timeline"), i, ev)
		json_object_set_new(ev, "at_text", json_string(time_text(r->arena, jint(ev, "at"))));
	return 0;
}

static void task_ctx(json_t *ctx, json_t *t)
{
	json_object_set_new(ctx, "title", json_string("数据质量任务"));
	json_object_set_new(ctx, "task", t);
}

static void page_task(struct req *r)
{
	int64_t id;
	json_t *t;
	unsigned roles;
	if (req_param_id(r, "id", &id) != 0 || task_for(r, id, &t, &roles) != 0)
		return;
	json_t *ctx = json_object();
	task_ctx(ctx, t);
	const char *done = req_query(r, "done");
	if (done && strcmp(done, "1") == 0)
		json_object_set_new(ctx, "done_text", json_string("已处理，任务已办结。"));
	resp_page(r, 200, "share/task", ctx);
}

static void task_form_fill(struct req *r, json_t *ctx)
{
	const char *p = req_param(r, "id");
	int64_t id = p ? strtoll(p, NULL, 10) : 0;
	if (id <= 0)
		return;
	struct store_res *res = NULL;
	struct sval q[] = { SVI(id) };
	if (store_query(r->st, sql[S_TASK_GET], q, 1, &res) != STORE_OK || store_res_rows(res) == 0) {
		store_res_free(res);
		return;
	}
	unsigned roles = task_roles(r, store_res_int(res, 0, 7));
	int clear = (roles & PD_ROLE_STAFF) != 0;
	json_t *t = task_json(r, res, 0, clear);
	json_object_set_new(t, "can_act", json_boolean(clear && store_res_int(res, 0, 20) == 0));
	json_object_set_new(t, "dept_name", json_string(dept_name(r->st, r->arena, store_res_int(res, 0, 7))));
	store_res_free(res);
	task_ctx(ctx, t);
}

/* Acts on task id with r's input; answers every problem and returns -1. */
static int task_act(struct req *r, int64_t id)
{
	struct store_res *res = NULL;
	struct sval q[] = { SVI(id) };
	if (store_query(r->st, sql[S_TASK_GET], q, 1, &res) != STORE_OK) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return -1;
	}
	if (store_res_rows(res) == 0) {
		store_res_free(res);
		resp_error(r, 404, MSG_DQ_NOT_FOUND, NULL);
		return -1;
	}
	int64_t dept = store_res_int(res, 0, 7), item = store_res_int(res, 0, 8);
	int final = store_res_int(res, 0, 20) != 0;
	store_res_free(res);
	unsigned roles = task_roles(r, dept);
	if ((roles & PD_ROLE_STAFF) == 0) {
		resp_error(r, roles ? 403 : 404, roles ? MSG_DQ_NOT_YOURS : MSG_DQ_NOT_FOUND, NULL);
		return -1;
	}
	if (final) {
		resp_error(r, 409, MSG_DQ_DONE, NULL);
		return -1;
	}
	const char *action = req_in_str(r, "action"), *note = req_in_str(r, "note"), *reason = req_in_str(r, "reason");
	int fix = strcmp(action, "fix") == 0;
	if (fix && (note == NULL || *note == '\0')) {
		struct input_error e = { 400, MSG_DQ_NOTE_REQUIRED, "note", "" };
		resp_input_error(r, &e);
		return -1;
	}
	if (!fix && (reason == NULL || *reason == '\0')) {
		struct input_error e = { 400, MSG_DQ_REASON_REQUIRED, "reason", "" };
		resp_input_error(r, &e);
		return -1;
	}
	json_t *fields = fix ? json_pack("{s:s,s:s}", "note", note, "comment", note)
			     : json_pack("{s:s,s:s}", "reason", reason, "comment", reason);
	struct case_actor who = { r->who.user_id, r->who.login, roles };
	const char *missing = NULL;
	enum case_rc rc = case_act(r->st, id, req_in_int(r, "version", 0), action, &who, fields, &missing);
	json_decref(fields);
	if (rc == CASE_CONFLICT) {
		resp_error(r, 409, MSG_DQ_CONFLICT, "version");
		return -1;
	}
	if (rc == CASE_BAD_STATE) {
		resp_error(r, 409, MSG_DQ_DONE, NULL);
		return -1;
	}
	if (rc != CASE_OK) {
		resp_error(r, rc == CASE_FORBIDDEN ? 403 : 500, rc == CASE_FORBIDDEN ? MSG_DQ_NOT_YOURS : MSG_HTTP_500,
			   NULL);
		return -1;
	}
	char object[48];
	snprintf(object, sizeof object, "compare_item:%lld", (long long)item);
	if (audit(r->st, r->who.user_id, r->who.login, r->ip, fix ? "dq.fix" : "dq.confirm", object, dept,
		  json_pack("{s:I}", "case", (json_int_t)id)) != 0) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return -1;
	}
	return 0;
}

static void do_task(struct req *r)
{
	int64_t id;
	if (req_param_id(r, "id", &id) != 0 || task_act(r, id) != 0)
		return;
	resp_redirect(r, arena_printf(r->arena, "/share/tasks/%lld?done=1", (long long)id));
}

static void api_task(struct req *r)
{
	int64_t id;
	json_t *t;
	unsigned roles;
	if (req_param_id(r, "id", &id) != 0 || task_for(r, id, &t, &roles) != 0)
		return;
	resp_json(r, 200, t);
}

static void api_task_act(struct req *r)
{
	int64_t id;
	json_t *t;
	unsigned roles;
	if (req_param_id(r, "id", &id) != 0 || task_act(r, id) != 0 || task_for(r, id, &t, &roles) != 0)
		return;
	resp_json(r, 200, t);
}

/* ------------------------------------------------------------ desk */

static int desk_tasks(struct req *r, json_t *items)
{
	if (r->who.kind != ACCT_STAFF || r->who.half)
		return 0;
	struct store_res *res = NULL;
	struct sval p[] = { SVI(r->who.user_id) };
	if (store_query(r->st, sql[S_DESK], p, 1, &res) != STORE_OK)
		return -1;
	for (int i = 0; i < store_res_rows(res); i++) {
		int light = (int)store_res_int(res, i, 3);
		json_array_append_new(
			items, json_pack("{s:s,s:s,s:s,s:s,s:I,s:s}", "kind", "share.dq", "title",
					 arena_printf(r->arena, "%s：%s", msg(MSG_DQ_DESK), store_res_text(res, i, 1)),
					 "href",
					 arena_printf(r->arena, "/share/tasks?dept=%lld", (long long)store_res_int(res, i, 0)),
					 "status", arena_printf(r->arena, "%lld 项待处理", (long long)store_res_int(res, i, 2)),
					 "count", (json_int_t)store_res_int(res, i, 2), "level",
					 light == 2 ? "alert" : light == 1 ? "warn" : "info"));
	}
	store_res_free(res);
	return 0;
}

void share_compare_register(void)
{
	jobs_register(JOB_KIND, "数据比对", job_compare);
	desk_register(desk_tasks);
}

/* ------------------------------------------------------------ routes */

static const struct field_spec fs_compare[] = {
	{ "registry_a", FT_TEXT, FS_REQUIRED, 1, 31, NULL, "比对库 A" },
	{ "key_a", FT_TEXT, FS_REQUIRED, 1, 31, NULL, "A 库关联字段" },
	{ "registry_b", FT_TEXT, FS_REQUIRED, 1, 31, NULL, "比对库 B" },
	{ "key_b", FT_TEXT, 0, 0, 31, NULL, "B 库关联字段" },
	{ "map", FT_TEXTAREA, 0, 0, REG_CMP_MAP_MAX, NULL, "字段对应" },
	{ "only_a", FT_BOOL, 0, 0, 0, NULL, "报告仅 A 库有的记录" },
	{ "only_b", FT_BOOL, 0, 0, 0, NULL, "报告仅 B 库有的记录" },
	{ "tasks", FT_BOOL, 0, 0, 0, NULL, "生成数据质量任务" },
	{ "deadline_days", FT_INT, 0, 1, 60, NULL, "处理时限（工作日）" },
	{ NULL },
};

static const struct field_spec fs_list[] = {
	{ "after", FT_TEXT, 0, 0, 40, NULL, "分页" },
	{ "limit", FT_INT, 0, 1, 200, NULL, "每页条数" },
	{ NULL },
};

static const struct field_spec fs_items[] = {
	{ "after", FT_TEXT, 0, 0, 40, NULL, "分页" },
	{ "limit", FT_INT, 0, 1, 500, NULL, "每页条数" },
	{ "kind", FT_CHOICE, 0, 0, 0, kinds, "类别" },
	{ NULL },
};

static const struct field_spec fs_export[] = {
	{ "format", FT_CHOICE, 0, 0, 0, formats, "导出格式" },
	{ NULL },
};

static const struct field_spec fs_tasks[] = {
	{ "dept", FT_INT, 0, 1, INT32_MAX, NULL, "部门" },
	{ "state", FT_CHOICE, 0, 0, 0, task_states, "状态" },
	{ "after", FT_TEXT, 0, 0, 64, NULL, "分页" },
	{ "limit", FT_INT, 0, 1, 200, NULL, "每页条数" },
	{ NULL },
};

static const struct field_spec fs_task_view[] = {
	{ "done", FT_TEXT, 0, 0, 1, NULL, "已处理" },
	{ NULL },
};

static const char *const actions[] = { "fix", "confirm", NULL };

static const struct field_spec fs_task_act[] = {
	{ "action", FT_CHOICE, FS_REQUIRED, 0, 0, actions, "处理方式" },
	{ "version", FT_INT, FS_REQUIRED, 1, INT64_MAX, NULL, "版本" },
	{ "note", FT_TEXTAREA, 0, 0, 1000, NULL, "更正情况说明" },
	{ "reason", FT_TEXTAREA, 0, 0, 1000, NULL, "确认无误的理由" },
	{ NULL },
};

const struct route share_compare_routes[] = {
	{ HM_GET, "/share/compare", page_compare, ROLE_STAFF, 0, NULL, NULL, NULL,
	  "The comparison form (数据比对): registries, key fields, field mapping, deadline" },
	{ HM_POST, "/share/compare", do_compare, ROLE_STAFF, RF_CSRF | RF_IDEM, fs_compare, "share/compare",
	  compare_form_fill, "Queue a comparison; redirects to its run" },
	{ HM_GET, "/share/compare/runs", page_runs, ROLE_STAFF, 0, fs_list, NULL, NULL, "Comparison runs, newest first" },
	{ HM_GET, "/share/compare/runs/{id}", page_run, ROLE_STAFF, 0, fs_items, NULL, NULL,
	  "A comparison's report: counts, tasks by department, discrepancies" },
	{ HM_GET, "/share/compare/runs/{id}/export", page_export, ROLE_STAFF, 0, fs_export, NULL, NULL,
	  "A comparison's report as CSV, XLSX or JSON" },
	{ HM_GET, "/share/tasks", page_tasks, ROLE_STAFF, 0, fs_tasks, NULL, NULL,
	  "A department's data-quality tasks with lights and deadlines" },
	{ HM_GET, "/share/tasks/{id}", page_task, ROLE_STAFF, 0, fs_task_view, NULL, NULL, "One data-quality task" },
	{ HM_POST, "/share/tasks/{id}", do_task, ROLE_STAFF, RF_CSRF | RF_IDEM, fs_task_act, "share/task",
	  task_form_fill, "Close a data-quality task: fixed (note) or confirmed not an error (reason)" },
	{ HM_POST, "/api/v1/share/compare", do_compare, ROLE_STAFF, RF_API | RF_CSRF | RF_IDEM, fs_compare, NULL, NULL,
	  "Queue a comparison {registry_a,key_a,registry_b,key_b,map,only_a,only_b,tasks,deadline_days}; 202 {job,run}" },
	/* (GET /api/v1/share/X/Y belongs to the sharing API's {registry}/{key}: the lists and the task
	 * stay clear of that shape) */
	{ HM_GET, "/api/v1/share/compare", api_runs, ROLE_STAFF, RF_API, fs_list, NULL, NULL,
	  "Comparison runs, newest first" },
	{ HM_GET, "/api/v1/share/compare/runs/{id}", api_run, ROLE_STAFF, RF_API, NULL, NULL, NULL,
	  "A comparison run: state, counts, tasks by department" },
	{ HM_GET, "/api/v1/share/compare/runs/{id}/items", api_run_items, ROLE_STAFF, RF_API, fs_items, NULL, NULL,
	  "A comparison's discrepancies (cursor pagination, ?kind=)" },
	{ HM_GET, "/api/v1/share/tasks", api_tasks, ROLE_STAFF, RF_API, fs_tasks, NULL, NULL,
	  "A department's data-quality tasks (?dept=&state=open|closed)" },
	{ HM_GET, "/api/v1/share/tasks/{id}/detail", api_task, ROLE_STAFF, RF_API, NULL, NULL, NULL,
	  "One data-quality task (the task's department sees its values whole; the read is logged)" },
	{ HM_POST, "/api/v1/share/tasks/{id}", api_task_act, ROLE_STAFF, RF_API | RF_CSRF | RF_IDEM, fs_task_act, NULL,
	  NULL, "Close a data-quality task {action: fix|confirm, version, note|reason}" },
	{ 0, NULL, NULL, 0, 0, NULL, NULL, NULL, NULL },
};

/* ------------------------------------------------------------ CLI */

static const char cli_help[] =
	"usage: yizhan compare A:KA B:KB [--map FA=FB,...] [--only-b] [--no-only-a] [--no-tasks]\n"
	"                      [--deadline DAYS]\n"
	"Compares registry A with registry B (数据比对): records of A whose field KA has no\n"
	"record of B with KB equal (仅 A 库有), field mismatches of each FA=FB pair, and\n"
	"with --only-b the records of B no record of A names (仅 B 库有).  KB may be\n"
	"left out (B:) for B's key.  The run is recorded like one from the web; each\n"
	"discrepancy becomes a data-quality task for the authoritative department\n"
	"(一数一源) with DAYS working days (default 10) unless --no-tasks.\n"
	"Prints the counts and the elapsed seconds.\n"
	"example: yizhan compare enterprise:legal_rep_id population:id_no --map legal_rep_name=name\n";

static int split_pair(const char *s, char *reg, char *field)
{
	const char *c = strchr(s, ':');
	if (c == NULL || c == s || (size_t)(c - s) >= REG_CODE_MAX || strlen(c + 1) >= REG_CODE_MAX)
		return -1;
	memcpy(reg, s, (size_t)(c - s));
	reg[c - s] = '\0';
	snprintf(field, REG_CODE_MAX, "%s", c + 1);
	return 0;
}

int share_cli_compare(struct store *st, const struct keys *k, int argc, char **argv)
{
	(void)k;
	char ra[REG_CODE_MAX], ka[REG_CODE_MAX], rb[REG_CODE_MAX], kb[REG_CODE_MAX];
	const char *pos[2] = { NULL, NULL };
	int npos = 0;
	struct spec sp = { NULL, NULL, NULL, NULL, "", 1, 0, 1, DEFAULT_DEADLINE };
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "help") == 0) {
			fputs(cli_help, stdout);
			return 0;
		} else if (strcmp(argv[i], "--map") == 0 && i + 1 < argc) {
			sp.map = argv[++i];
		} else if (strncmp(argv[i], "--map=", 6) == 0) {
			sp.map = argv[i] + 6;
		} else if (strcmp(argv[i], "--only-b") == 0) {
			sp.only_b = 1;
		} else if (strcmp(argv[i], "--no-only-a") == 0) {
			sp.only_a = 0;
		} else if (strcmp(argv[i], "--no-tasks") == 0) {
			sp.tasks = 0;
		} else if (strcmp(argv[i], "--deadline") == 0 && i + 1 < argc) {
			char *end;
			long v = strtol(argv[++i], &end, 10);
			if (*end != '\0' || v < 1 || v > 60) {
				fprintf(stderr, "yizhan compare: --deadline takes 1..60 working days\n");
				return 2;
			}
			sp.deadline = (int)v;
		} else if (argv[i][0] != '-' && npos < 2) {
			pos[npos++] = argv[i];
		} else {
			fprintf(stderr, "yizhan compare: unknown argument '%s' (see yizhan compare --help)\n", argv[i]);
			return 2;
		}
	}
	if (st == NULL) {
		fputs(cli_help, stdout);
		return 0;
	}
	if (npos != 2 || split_pair(pos[0], ra, ka) != 0 || split_pair(pos[1], rb, kb) != 0) {
		fprintf(stderr, "yizhan compare: give A:KA B:KB (see yizhan compare --help)\n");
		return 2;
	}
	sp.reg_a = ra;
	sp.key_a = ka;
	sp.reg_b = rb;
	sp.key_b = kb;
	struct arena *a = arena_new();
	int64_t run = 0;
	struct reg_error e;
	memset(&e, 0, sizeof e);
	int rc = store_begin(st) == STORE_OK ? run_create(st, a, &sp, 0, "cli", NULL, &run, NULL, &e) : -1;
	if (rc == 0 && store_commit(st) != STORE_OK)
		rc = -1;
	if (rc != 0) {
		store_rollback(st);
		arena_free(a);
		if (rc == 1) {
			fprintf(stderr, "yizhan compare: %s: %s %s\n", e.field, msg(e.why), e.detail);
			return 2;
		}
		fprintf(stderr, "yizhan compare: store error: %s\n", store_errmsg(st));
		return 1;
	}
	arena_free(a);
	/* run it here and now (no job: the CLI shows its own progress line) */
	json_t *result = NULL;
	char *message = NULL;
	rc = compare_work(st, NULL, run, !isatty(2), &result, &message);
	if (rc != 0) {
		fprintf(stderr, "yizhan compare: %s\n", message ? message : "failed");
		free(message);
		return 1;
	}
	printf("run %lld: A %lld records, B %lld records\n", (long long)run, (long long)jint(result, "rows_a"),
	       (long long)jint(result, "rows_b"));
	if (sp.only_a)
		printf("only in A: %lld\n", (long long)jint(result, "only_a"));
	else
		printf("only in A: not reported\n");
	if (sp.only_b)
		printf("only in B: %lld\n", (long long)jint(result, "only_b"));
	else
		printf("only in B: not reported\n");
	printf("mismatches: %lld\ntasks: %lld\nelapsed: %.3f s\n", (long long)jint(result, "mismatch"),
	       (long long)jint(result, "tasks"), json_number_value(json_object_get(result, "seconds")));
	json_decref(result);
	return 0;
}
