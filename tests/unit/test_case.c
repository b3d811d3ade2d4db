/*
 * Unit tests of the case engine runtime (src/engines/case/case.c,
 * tracking.c): tracking codes and their check character, creation and the
 * public look-up, transitions allowed and refused by role and by state,
 * required fields, optimistic locking (stale versions and two connections
 * racing), both clocks on a calendar with 调休, pauses for correction and
 * special steps, the deadline sweep with its lights and escalations on a
 * controllable "today", the timeline and the inbox.  Runs on the store
 * under test (testutil.h): SQLite, or PostgreSQL with YIZHAN_TEST_STORE.
 */
#include "testutil.h"

#include <pthread.h>
#include <sodium.h>
#include <time.h>

#include "core/audit.h"
#include "core/calendar.h"
#include "core/embed.h"
#include "core/notify.h"
#include "engines/case/case.h"
#include "engines/case/procdef.h"

/* ------------------------------------------------------------ fixtures */

static time_t fake_now;

static time_t fake_clock(void)
{
	return fake_now;
}

/* Noon, local time, of a date: what case_act sees as "today". */
static void set_today(int y, int m, int d)
{
	struct tm tm = { 0 };
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	tm.tm_hour = 12;
	tm.tm_isdst = -1;
	fake_now = mktime(&tm);
}

static cal_day day(int y, int m, int d)
{
	return cal_day_from_ymd(y, m, d);
}

static void set_today_day(cal_day dd)
{
	int y, m, d;
	cal_day_to_ymd(dd, &y, &m, &d);
	set_today(y, m, d);
}

static const char TEST_PROC[] =
	"process 测试流程\n"
	"limits statutory=10 promised=5 warn=0.6\n"
	"state draft initial clock=wait title=草稿\n"
	"state submitted clock=wait title=已提交\n"
	"state accepted clock=run title=已受理\n"
	"state correction clock=pause title=待补正\n"
	"state inspection special title=现场勘验\n"
	"state done final title=办结\n"
	"state rejected final title=不予办理\n"
	"transition submit draft -> submitted roles=applicant public title=提交申请\n"
	"transition accept submitted -> accepted roles=staff public title=受理\n"
	"transition ask_correction accepted -> correction roles=staff public require=missing_list "
	"title=一次性告知补正\n"
	"transition resubmit correction -> accepted roles=applicant public title=补正后提交\n"
	"transition to_inspection accepted -> inspection roles=staff public title=转入现场勘验\n"
	"transition back inspection -> accepted roles=staff require=result title=勘验结束\n"
	"transition approve accepted -> done roles=staff|dept_admin public require=opinion "
	"title=办结\n"
	"transition reject submitted,accepted -> rejected roles=staff public require=reason "
	"title=不予办理\n"
	"escalate remind at=1.2 of=promised to=staff title=系统催办\n"
	"escalate supervise at=1.6 of=promised to=supervisor title=电子监察督办\n";

/* Registers the test process ("test.flow") beside every embedded one. */
static int load_processes(void **state)
{
	(void)state;
	size_t n = 0;
	while (embed_processes[n].name != NULL)
		n++;
	struct embed_file *files = calloc(n + 2, sizeof *files);
	assert_non_null(files);
	files[0].name = "test/flow.proc";
	files[0].data = (const unsigned char *)TEST_PROC;
	files[0].len = sizeof TEST_PROC - 1;
	for (size_t i = 0; i < n; i++)
		files[i + 1] = embed_processes[i];
	char *err = NULL;
	if (procdef_load_all(files, &err) != 0)
		fail_msg("procdef_load_all: %s", err ? err : "?");
	free(files);
	assert_non_null(procdef_get("test.flow"));
	case_set_clock(fake_clock);
	audit_set_clock(fake_clock);
	notify_set_clock(fake_clock);
	set_today(2026, 9, 28);
	return 0;
}

static int unload_processes(void **state)
{
	(void)state;
	procdef_unload_all();
	return 0;
}

struct world {
	struct store *st;
	char *uri;
	int64_t dept, dept2;
	int64_t applicant, staff, staff2, admin, boss, outsider;
};

static int64_t insert_id(struct store *st, const char *sqltext, const struct sval *v, int n)
{
	int64_t id = 0;
	assert_int_equal(store_query_int(st, sqltext, v, n, &id), STORE_OK);
	return id;
}

static const char SQL_DEPT[] = "INSERT INTO departments (code, name, level, created_at, updated_at) "
			       "VALUES ($1, $2, 'city', 0, 0) RETURNING id";
static const char SQL_USER[] = "INSERT INTO users (login, kind, name, password, phone, created_at, "
			       "updated_at) VALUES ($1, $2, $3, 'x', $4, 0, 0) RETURNING id";
static const char SQL_ROLE[] = "INSERT INTO user_roles (user_id, dept_id, role, created_at) "
			       "VALUES ($1, $2, $3, 0)";

static int64_t add_user(struct store *st, const char *login, const char *kind, const char *name)
{
	struct sval v[] = { SVT(login), SVT(kind), SVT(name), SVT("13800138000") };
	return insert_id(st, SQL_USER, v, 4);
}

static void add_role(struct store *st, int64_t user, int64_t dept, const char *role)
{
	struct sval v[] = { SVI(user), SVI(dept), SVT(role) };
	assert_int_equal(store_exec(st, SQL_ROLE, v, 3, NULL), STORE_OK);
}

static struct store *open_uri(const char *uri)
{
	struct store *st = NULL;
	char *err = NULL;
	if (store_open(uri, &st, &err) != 0)
		fail_msg("store %s: %s", uri, err ? err : "?");
	return st;
}

static void world_open(struct world *w)
{
	memset(w, 0, sizeof *w);
	w->uri = test_store_uri();
	w->st = open_uri(w->uri);
	if (store_driver(w->st) == STORE_PG)
		assert_int_equal(store_exec_script(w->st, "DROP SCHEMA IF EXISTS public CASCADE; "
							  "CREATE SCHEMA public;"), 0);
	assert_int_equal(store_migrate(w->st), 0);
	struct store *st = w->st;
	assert_int_equal(store_begin(st), STORE_OK);
	struct sval d1[] = { SVT("d1"), SVT("市市场监督管理局") };
	struct sval d2[] = { SVT("d2"), SVT("市民政局") };
	w->dept = insert_id(st, SQL_DEPT, d1, 2);
	w->dept2 = insert_id(st, SQL_DEPT, d2, 2);
	w->applicant = add_user(st, "zhang", "citizen", "张三");
	w->staff = add_user(st, "li", "staff", "李四");
	w->staff2 = add_user(st, "wang", "staff", "王五");
	w->admin = add_user(st, "zhao", "staff", "赵科长");
	w->boss = add_user(st, "qian", "staff", "钱主任");
	w->outsider = add_user(st, "sun", "staff", "孙六");
	add_role(st, w->staff, w->dept, "staff");
	add_role(st, w->staff2, w->dept, "staff");
	add_role(st, w->admin, w->dept, "dept_admin");
	add_role(st, w->boss, w->dept2, "platform_admin");
	add_role(st, w->outsider, w->dept2, "staff");
	assert_int_equal(store_commit(st), STORE_OK);
}

static void world_close(struct world *w)
{
	store_close(w->st);
	free(w->uri);
}

static struct case_actor as_applicant(const struct world *w)
{
	return (struct case_actor){ w->applicant, "zhang", PD_ROLE_APPLICANT };
}

static struct case_actor as_staff(const struct world *w)
{
	return (struct case_actor){ w->staff, "li", PD_ROLE_STAFF };
}

static struct case_actor as_admin(const struct world *w)
{
	return (struct case_actor){ w->admin, "zhao", PD_ROLE_STAFF | PD_ROLE_DEPT_ADMIN };
}

static int64_t create_case(struct world *w, const char *process, int statutory, int promised,
			   const char *special, char *tracking_out)
{
	char tracking[CASE_TRACKING_LEN + 1];
	int64_t id = 0;
	struct case_actor a = as_applicant(w);
	json_t *data = json_pack("{s:s,s:i}", "name", "张三", "count", 2);
	struct case_new n = { .process = process, .dept_id = w->dept, .applicant_id = w->applicant,
			      .subject = "食品经营许可申请", .item_code = "330100-001",
			      .statutory_days = statutory, .promised_days = promised,
			      .special_counts = special, .phone_tail = "8000", .data = data };
	assert_int_equal(store_begin(w->st), STORE_OK);
	assert_int_equal(case_create(w->st, &n, &a, &id, tracking), CASE_OK);
	assert_int_equal(store_commit(w->st), STORE_OK);
	json_decref(data);
	assert_true(id > 0);
	if (tracking_out != NULL)
		memcpy(tracking_out, tracking, sizeof tracking);
	return id;
}

/* One action in a transaction of its own, as a request would; fields is stolen. */
static enum case_rc act(struct world *w, int64_t id, int64_t version, const char *action,
			struct case_actor who, json_t *fields, const char **missing)
{
	assert_int_equal(store_begin(w->st), STORE_OK);
	enum case_rc rc = case_act(w->st, id, version, action, &who, fields, missing);
	if (rc == CASE_OK)
		assert_int_equal(store_commit(w->st), STORE_OK);
	else
		store_rollback(w->st);
	json_decref(fields);
	return rc;
}

static json_t *get(struct world *w, int64_t id)
{
	json_t *o = case_json(w->st, id, PD_ROLE_STAFF, 0);
	assert_non_null(o);
	return o;
}

static int64_t version_of(struct world *w, int64_t id)
{
	json_t *o = get(w, id);
	int64_t v = json_integer_value(json_object_get(o, "version"));
	json_decref(o);
	return v;
}

static void assert_state(struct world *w, int64_t id, const char *state, int64_t version)
{
	json_t *o = get(w, id);
	assert_string_equal(json_string_value(json_object_get(o, "state")), state);
	assert_int_equal(json_integer_value(json_object_get(o, "version")), version);
	json_decref(o);
}

/* clocks.<which>.<key> of a case as an integer. */
static int64_t clock_int(struct world *w, int64_t id, const char *which, const char *key)
{
	json_t *o = get(w, id);
	json_t *c = json_object_get(json_object_get(json_object_get(o, "clocks"), which), key);
	assert_non_null(c);
	int64_t v = json_integer_value(c);
	json_decref(o);
	return v;
}

/* clocks.<which>.deadline as "YYYY-MM-DD" into out[11] (or "" when null). */
static void clock_deadline(struct world *w, int64_t id, const char *which, char out[11])
{
	json_t *o = get(w, id);
	json_t *c = json_object_get(json_object_get(json_object_get(o, "clocks"), which), "deadline");
	snprintf(out, 11, "%s", json_is_string(c) ? json_string_value(c) : "");
	json_decref(o);
}

static const char *clock_state(struct world *w, int64_t id)
{
	static char s[16];
	json_t *o = get(w, id);
	snprintf(s, sizeof s, "%s",
		 json_string_value(json_object_get(json_object_get(o, "clocks"), "state")));
	json_decref(o);
	return s;
}

/*
 * One integer from sqltext: with $1 = a and $2 = b when it uses $2; with
 * $1 = b when b is given alone; with $1 = a when it uses $1; else no parameter.
 */
static int64_t count(struct world *w, const char *sqltext, int64_t a, const char *b)
{
	int64_t n = -1;
	struct sval v2[] = { SVI(a), SVT(b) };
	struct sval vb[] = { SVT(b) };
	int rc;
	if (strstr(sqltext, "$2") != NULL)
		rc = store_query_int(w->st, sqltext, v2, 2, &n);
	else if (b != NULL)
		rc = store_query_int(w->st, sqltext, vb, 1, &n);
	else
		rc = store_query_int(w->st, sqltext, v2, strstr(sqltext, "$1") ? 1 : 0, &n);
	assert_int_equal(rc, STORE_OK);
	return n;
}

static const char SQL_EVENTS[] = "SELECT COUNT(*) FROM case_events WHERE case_id = $1";
static const char SQL_EVENTS_NAMED[] = "SELECT COUNT(*) FROM case_events WHERE case_id = $1 AND name = $2";
static const char SQL_MSGS[] = "SELECT COUNT(*) FROM messages WHERE user_id = $1";
static const char SQL_MSGS_DEDUP[] = "SELECT COUNT(*) FROM messages WHERE dedup = $1";

/* ------------------------------------------------------------ tracking codes */

static void test_tracking_check(void **state)
{
	(void)state;
	static const char alpha[] = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
	char code[CASE_TRACKING_LEN + 1], bad[CASE_TRACKING_LEN + 1], norm[CASE_TRACKING_LEN + 1];

	for (int round = 0; round < 3000; round++) {
		case_tracking_new(code);
		assert_int_equal(strlen(code), CASE_TRACKING_LEN);
		assert_int_equal(case_tracking_normalize(code, norm), 0);
		assert_string_equal(norm, code);
		/* every single substitution, the check character included */
		for (int i = 0; i < CASE_TRACKING_LEN; i++)
			for (int k = 0; k < 32; k++) {
				if (alpha[k] == code[i])
					continue;
				memcpy(bad, code, sizeof bad);
				bad[i] = alpha[k];
				if (case_tracking_normalize(bad, norm) == 0)
					fail_msg("substitution %s -> %s not caught", code, bad);
			}
		/* every adjacent transposition of two different characters */
		for (int i = 0; i + 1 < CASE_TRACKING_LEN; i++) {
			if (code[i] == code[i + 1])
				continue;
			memcpy(bad, code, sizeof bad);
			bad[i] = code[i + 1];
			bad[i + 1] = code[i];
			if (case_tracking_normalize(bad, norm) == 0)
				fail_msg("transposition %s -> %s not caught", code, bad);
		}
	}
	/* Exhaustive over every pair of symbols at every adjacent position of one body. */
	memcpy(code, "K7M3Q9TR2", 9);
	for (int i = 0; i + 1 < 9; i++)
		for (int a = 0; a < 32; a++)
			for (int b = 0; b < 32; b++) {
				if (a == b)
					continue;
				char x[CASE_TRACKING_LEN + 1], y[CASE_TRACKING_LEN + 1];
				memcpy(x, code, 9);
				x[i] = alpha[a];
				x[i + 1] = alpha[b];
				x[9] = case_tracking_check(x, 9);
				x[10] = '\0';
				memcpy(y, x, sizeof y);
				y[i] = alpha[b];
				y[i + 1] = alpha[a];
				assert_int_not_equal(case_tracking_normalize(y, norm), 0);
			}

	/* printing and typing */
	char pr[CASE_TRACKING_PRINT_LEN + 1], typed[64];
	case_tracking_new(code);
	case_tracking_print(code, pr);
	assert_int_equal(strlen(pr), 12);
	assert_int_equal(pr[4], '-');
	assert_int_equal(pr[9], '-');
	assert_int_equal(case_tracking_normalize(pr, norm), 0);
	assert_string_equal(norm, code);
	snprintf(typed, sizeof typed, " %.4s %.4s-%.2s ", code, code + 4, code + 8);
	for (char *p = typed; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	assert_int_equal(case_tracking_normalize(typed, norm), 0);
	assert_string_equal(norm, code);
	assert_int_not_equal(case_tracking_normalize("", norm), 0);
	assert_int_not_equal(case_tracking_normalize(NULL, norm), 0);
	assert_int_not_equal(case_tracking_normalize("K7M3-Q9TR-2", norm), 0);     /* short */
	assert_int_not_equal(case_tracking_normalize("K7M3-Q9TR-2XX", norm), 0);   /* long */
	assert_int_not_equal(case_tracking_normalize("O7M3-Q9TR-2X", norm), 0);    /* O */
	assert_int_not_equal(case_tracking_normalize("17M3-Q9TR-2X", norm), 0);    /* 1 */
	assert_int_not_equal(case_tracking_normalize("K7M3-Q9TR-2\xe4", norm), 0);
}

/* ------------------------------------------------------------ create and look up */

static void test_create_and_lookup(void **state)
{
	(void)state;
	struct world w;
	char tracking[CASE_TRACKING_LEN + 1], norm[CASE_TRACKING_LEN + 1],
		pr[CASE_TRACKING_PRINT_LEN + 1];
	int64_t found = 0;

	world_open(&w);
	int64_t id = create_case(&w, "test.flow", 0, 0, NULL, tracking);
	assert_int_equal(case_tracking_normalize(tracking, norm), 0);

	json_t *o = get(&w, id);
	assert_string_equal(json_string_value(json_object_get(o, "state")), "draft");
	assert_string_equal(json_string_value(json_object_get(o, "state_title")), "草稿");
	assert_int_equal(json_integer_value(json_object_get(o, "version")), 1);
	assert_string_equal(json_string_value(json_object_get(o, "tracking")), tracking);
	assert_string_equal(json_string_value(json_object_get(json_object_get(o, "dept"), "name")),
			    "市市场监督管理局");
	assert_string_equal(json_string_value(json_object_get(json_object_get(o, "applicant"),
							      "name")), "张三");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(o, "data"), "count")), 2);
	/* the process's default limits, the clock not started */
	json_t *clocks = json_object_get(o, "clocks");
	assert_string_equal(json_string_value(json_object_get(clocks, "state")), "wait");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(clocks, "statutory"),
							    "limit")), 10);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(clocks, "promised"),
							    "limit")), 5);
	assert_true(json_is_null(json_object_get(json_object_get(clocks, "promised"), "deadline")));
	json_decref(o);

	/* the public view carries no personal data */
	o = case_json(w.st, id, 0, 1);
	assert_non_null(o);
	assert_null(json_object_get(o, "applicant"));
	assert_null(json_object_get(o, "data"));
	assert_null(json_object_get(o, "version"));
	json_decref(o);

	/* look-up: printed, lower case, right tail */
	case_tracking_print(tracking, pr);
	assert_int_equal(case_find_tracking(w.st, pr, "8000", &found), CASE_OK);
	assert_int_equal(found, id);
	for (char *p = pr; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	found = 0;
	assert_int_equal(case_find_tracking(w.st, pr, "8000", &found), CASE_OK);
	assert_int_equal(found, id);
	/* wrong or missing tail: the same answer as an unknown code */
	assert_int_equal(case_find_tracking(w.st, tracking, "8001", &found), CASE_NOT_FOUND);
	assert_int_equal(case_find_tracking(w.st, tracking, "", &found), CASE_NOT_FOUND);
	assert_int_equal(case_find_tracking(w.st, tracking, NULL, &found), CASE_NOT_FOUND);
	/* a well-formed code nobody has */
	char other[CASE_TRACKING_LEN + 1];
	do
		case_tracking_new(other);
	while (strcmp(other, tracking) == 0);
	assert_int_equal(case_find_tracking(w.st, other, "8000", &found), CASE_NOT_FOUND);
	/* a mistyped code never reaches the store (NULL store would crash) */
	char typo[CASE_TRACKING_LEN + 1];
	memcpy(typo, tracking, sizeof typo);
	typo[3] = typo[3] == 'A' ? 'B' : 'A';
	assert_int_equal(case_find_tracking(NULL, typo, "8000", &found), CASE_NOT_FOUND);
	assert_int_equal(case_find_tracking(NULL, "nonsense", "8000", &found), CASE_NOT_FOUND);

	/* bad input to create: nothing written */
	struct case_actor a = as_applicant(&w);
	int64_t cid = 0;
	struct case_new n = { .process = "test.flow", .dept_id = w.dept, .subject = "x",
			      .phone_tail = "12a4" };
	assert_int_equal(store_begin(w.st), STORE_OK);
	assert_int_equal(case_create(w.st, &n, &a, &cid, tracking), CASE_INVALID);
	n.phone_tail = NULL;
	n.subject = "";
	assert_int_equal(case_create(w.st, &n, &a, &cid, tracking), CASE_INVALID);
	n.subject = "x";
	n.process = "test.nope";
	assert_int_equal(case_create(w.st, &n, &a, &cid, tracking), CASE_NO_PROCESS);
	n.process = "test.flow";
	n.dept_id = 999999;
	assert_int_equal(case_create(w.st, &n, &a, &cid, tracking), CASE_INVALID);
	store_rollback(w.st);
	assert_int_equal(count(&w, "SELECT COUNT(*) FROM cases", 0, NULL), 1);

	/* the created event is public; the audit has the entry */
	assert_int_equal(count(&w, SQL_EVENTS, id, NULL), 1);
	assert_int_equal(count(&w, "SELECT COUNT(*) FROM audit_log WHERE action = $1", 0, "case.create"), 1);
	world_close(&w);
}

/* ------------------------------------------------------------ transitions */

static void test_transitions(void **state)
{
	(void)state;
	struct world w;
	const char *missing = NULL;
	world_open(&w);
	int64_t id = create_case(&w, "test.flow", 0, 0, NULL, NULL);

	/* role: staff cannot submit for the applicant */
	assert_int_equal(act(&w, id, 1, "submit", as_staff(&w), NULL, NULL), CASE_FORBIDDEN);
	assert_state(&w, id, "draft", 1);
	/* state: accept is not possible from draft */
	assert_int_equal(act(&w, id, 1, "accept", as_staff(&w), NULL, NULL), CASE_BAD_STATE);
	/* no such action at all */
	assert_int_equal(act(&w, id, 1, "teleport", as_staff(&w), NULL, NULL), CASE_NO_SUCH_ACTION);
	/* no roles at all */
	struct case_actor nobody = { w.outsider, "sun", 0 };
	assert_int_equal(act(&w, id, 1, "submit", nobody, NULL, NULL), CASE_FORBIDDEN);
	assert_state(&w, id, "draft", 1);
	assert_int_equal(count(&w, SQL_EVENTS, id, NULL), 1);

	assert_int_equal(act(&w, id, 1, "submit", as_applicant(&w), NULL, NULL), CASE_OK);
	assert_state(&w, id, "submitted", 2);
	/* the applicant cannot accept their own case */
	assert_int_equal(act(&w, id, 2, "accept", as_applicant(&w), NULL, NULL), CASE_FORBIDDEN);
	/* required field: reason for reject (missing, blank, present) */
	assert_int_equal(act(&w, id, 2, "reject", as_staff(&w), NULL, &missing), CASE_MISSING_FIELD);
	assert_string_equal(missing, "reason");
	missing = NULL;
	assert_int_equal(act(&w, id, 2, "reject", as_staff(&w), json_pack("{s:s}", "reason", "  "),
			     &missing), CASE_MISSING_FIELD);
	assert_string_equal(missing, "reason");
	assert_int_equal(act(&w, id, 2, "reject", as_staff(&w), json_pack("{s:n}", "reason"),
			     &missing), CASE_MISSING_FIELD);
	assert_state(&w, id, "submitted", 2);

	assert_int_equal(act(&w, id, 2, "accept", as_staff(&w),
			     json_pack("{s:s}", "comment", "材料齐全，予以受理"), NULL), CASE_OK);
	assert_state(&w, id, "accepted", 3);
	assert_string_equal(clock_state(&w, id), "run");

	/* stale version: conflict, nothing changed */
	int64_t events = count(&w, SQL_EVENTS, id, NULL);
	assert_int_equal(act(&w, id, 2, "approve", as_staff(&w),
			     json_pack("{s:s}", "opinion", "同意"), NULL), CASE_CONFLICT);
	assert_state(&w, id, "accepted", 3);
	assert_int_equal(count(&w, SQL_EVENTS, id, NULL), events);

	/* actions offered to each role */
	json_t *o = case_json(w.st, id, PD_ROLE_APPLICANT, 0);
	assert_int_equal(json_array_size(json_object_get(o, "actions")), 0);
	json_decref(o);
	o = case_json(w.st, id, PD_ROLE_STAFF, 0);
	json_t *acts = json_object_get(o, "actions");
	assert_int_equal(json_array_size(acts), 4);   /* ask_correction, to_inspection, approve, reject */
	int saw_approve = 0;
	for (size_t i = 0; i < json_array_size(acts); i++) {
		json_t *a = json_array_get(acts, i);
		if (strcmp(json_string_value(json_object_get(a, "action")), "approve") == 0) {
			saw_approve = 1;
			assert_string_equal(json_string_value(json_array_get(
						    json_object_get(a, "require"), 0)), "opinion");
			assert_string_equal(json_string_value(json_object_get(a, "to_title")), "办结");
		}
	}
	assert_true(saw_approve);
	json_decref(o);

	/* a department admin approves; the case is final, the clock stopped */
	assert_int_equal(act(&w, id, 3, "approve", as_admin(&w),
			     json_pack("{s:s}", "opinion", "准予许可"), NULL), CASE_OK);
	o = get(&w, id);
	assert_true(json_is_true(json_object_get(o, "final")));
	assert_string_equal(json_string_value(json_object_get(json_object_get(o, "clocks"), "state")),
			    "stop");
	json_decref(o);
	/* nothing more from a final state */
	assert_int_equal(act(&w, id, 4, "reject", as_staff(&w), json_pack("{s:s}", "reason", "x"),
			     NULL), CASE_BAD_STATE);
	/* not found */
	assert_int_equal(act(&w, id + 1000, 1, "submit", as_applicant(&w), NULL, NULL),
			 CASE_NOT_FOUND);

	/* public events notified the applicant: submit, accept, approve (each once) */
	assert_int_equal(count(&w, SQL_MSGS, w.applicant, NULL), 3);
	/* audit: one entry per action taken */
	assert_int_equal(count(&w, "SELECT COUNT(*) FROM audit_log WHERE action = $1", 0, "case.act"), 3);
	assert_non_null(strstr(case_strerror(CASE_CONFLICT), "未生效"));
	assert_string_equal(case_rc_name(CASE_CONFLICT), "CONFLICT");
	world_close(&w);
}

/* ------------------------------------------------------------ two at once */

struct racer {
	const char *uri;
	int64_t id;
	int64_t user;
	const char *login;
	pthread_barrier_t *bar;
	enum case_rc rc;
};

static void *race(void *arg)
{
	struct racer *r = arg;
	struct store *st = open_uri(r->uri);
	struct case_actor who = { r->user, r->login, PD_ROLE_STAFF };
	json_t *f = json_pack("{s:s}", "opinion", r->login);
	pthread_barrier_wait(r->bar);
	r->rc = CASE_STORE;
	if (store_begin(st) == STORE_OK) {
		r->rc = case_act(st, r->id, 3, "approve", &who, f, NULL);
		if (r->rc == CASE_OK && store_commit(st) != STORE_OK)
			r->rc = CASE_STORE;
		else if (r->rc != CASE_OK)
			store_rollback(st);
	}
	json_decref(f);
	store_close(st);
	return NULL;
}

static void test_concurrent(void **state)
{
	(void)state;
	struct world w;
	world_open(&w);
	for (int round = 0; round < 5; round++) {
		int64_t id = create_case(&w, "test.flow", 0, 0, NULL, NULL);
		assert_int_equal(act(&w, id, 1, "submit", as_applicant(&w), NULL, NULL), CASE_OK);
		assert_int_equal(act(&w, id, 2, "accept", as_staff(&w), NULL, NULL), CASE_OK);
		pthread_barrier_t bar;
		pthread_barrier_init(&bar, NULL, 2);
		struct racer a = { w.uri, id, w.staff, "li", &bar, CASE_STORE };
		struct racer b = { w.uri, id, w.staff2, "wang", &bar, CASE_STORE };
		pthread_t ta, tb;
		assert_int_equal(pthread_create(&ta, NULL, race, &a), 0);
		assert_int_equal(pthread_create(&tb, NULL, race, &b), 0);
		pthread_join(ta, NULL);
		pthread_join(tb, NULL);
		pthread_barrier_destroy(&bar);
		assert_true((a.rc == CASE_OK && b.rc == CASE_CONFLICT) ||
			    (a.rc == CASE_CONFLICT && b.rc == CASE_OK));
		assert_state(&w, id, "done", 4);
		/* one approve event, by the winner */
		assert_int_equal(count(&w, SQL_EVENTS_NAMED, id, "approve"), 1);
	}
	world_close(&w);
}

/* ------------------------------------------------------------ clocks */

static void test_clock_adjusted_saturday(void **state)
{
	(void)state;
	struct world w;
	char dl[11];
	world_open(&w);
	/* 2026 National Day: Oct 1-7 off, Saturday Oct 10 is worked (调休). */
	assert_int_equal(store_begin(w.st), STORE_OK);
	for (int d = 1; d <= 7; d++)
		assert_int_equal(calendar_set_day(w.st, day(2026, 10, d), CAL_HOLIDAY, "国庆节"), 0);
	assert_int_equal(calendar_set_day(w.st, day(2026, 10, 10), CAL_WORKDAY, "调休"), 0);
	assert_int_equal(store_commit(w.st), STORE_OK);

	set_today(2026, 10, 8);
	int64_t id = create_case(&w, "test.flow", 10, 3, NULL, NULL);
	assert_int_equal(act(&w, id, 1, "submit", as_applicant(&w), NULL, NULL), CASE_OK);
	set_today(2026, 10, 9);   /* a Friday */
	assert_int_equal(act(&w, id, 2, "accept", as_staff(&w), NULL, NULL), CASE_OK);
	/* Sat 10 (worked), Mon 12, Tue 13 */
	clock_deadline(&w, id, "promised", dl);
	assert_string_equal(dl, "2026-10-13");
	/* statutory 10: Sat 10, 12-16 (5), 19-22 (4) -> Thu Oct 22 */
	clock_deadline(&w, id, "statutory", dl);
	assert_string_equal(dl, "2026-10-22");
	assert_int_equal(clock_int(&w, id, "promised", "used"), 0);
	set_today(2026, 10, 12);   /* Monday: Saturday and Monday used */
	assert_int_equal(clock_int(&w, id, "promised", "used"), 2);
	assert_int_equal(clock_int(&w, id, "promised", "remaining"), 1);

	/* the same without the adjusted Saturday: Wednesday */
	set_today(2026, 10, 8);
	int64_t id2 = create_case(&w, "test.flow", 10, 3, NULL, NULL);
	assert_int_equal(store_begin(w.st), STORE_OK);
	assert_int_equal(calendar_set_day(w.st, day(2026, 10, 10), CAL_DEFAULT, NULL), 0);
	assert_int_equal(store_commit(w.st), STORE_OK);
	assert_int_equal(act(&w, id2, 1, "submit", as_applicant(&w), NULL, NULL), CASE_OK);
	set_today(2026, 10, 9);
	assert_int_equal(act(&w, id2, 2, "accept", as_staff(&w), NULL, NULL), CASE_OK);
	clock_deadline(&w, id2, "promised", dl);
	assert_string_equal(dl, "2026-10-14");
	world_close(&w);
}

static void test_clock_correction_pause(void **state)
{
	(void)state;
	struct world w;
	char dl[11];
	world_open(&w);
	set_today(2026, 3, 2);   /* Monday */
	int64_t id = create_case(&w, "test.flow", 10, 5, NULL, NULL);
	assert_int_equal(act(&w, id, 1, "submit", as_applicant(&w), NULL, NULL), CASE_OK);
	assert_int_equal(act(&w, id, 2, "accept", as_staff(&w), NULL, NULL), CASE_OK);
	clock_deadline(&w, id, "promised", dl);
	assert_string_equal(dl, "2026-03-09");   /* Tue-Fri, Mon */
	clock_deadline(&w, id, "statutory", dl);
	assert_string_equal(dl, "2026-03-16");

	set_today(2026, 3, 4);   /* Wednesday: two days used, then 补正 */
	const char *missing = NULL;
	assert_int_equal(act(&w, id, 3, "ask_correction", as_staff(&w), NULL, &missing),
			 CASE_MISSING_FIELD);
	assert_string_equal(missing, "missing_list");
	assert_int_equal(act(&w, id, 3, "ask_correction", as_staff(&w),
			     json_pack("{s:[s,s]}", "missing_list", "营业执照副本", "场地证明"),
			     NULL), CASE_OK);
	assert_string_equal(clock_state(&w, id), "pause");
	assert_int_equal(clock_int(&w, id, "promised", "used"), 2);
	set_today(2026, 3, 6);   /* the clock stands still while paused */
	assert_int_equal(clock_int(&w, id, "promised", "used"), 2);

	set_today(2026, 3, 9);   /* Monday: resubmitted; Thu, Fri, Mon paused */
	assert_int_equal(act(&w, id, 4, "resubmit", as_applicant(&w), NULL, NULL), CASE_OK);
	assert_string_equal(clock_state(&w, id), "run");
	assert_int_equal(clock_int(&w, id, "promised", "used"), 2);
	clock_deadline(&w, id, "promised", dl);
	assert_string_equal(dl, "2026-03-12");   /* 03-09 shifted by 3 working days */
	clock_deadline(&w, id, "statutory", dl);
	assert_string_equal(dl, "2026-03-19");   /* 03-16 shifted by 3 working days */
	json_t *o = get(&w, id);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(o, "clocks"),
							    "paused_days")), 3);
	json_decref(o);
	set_today(2026, 3, 10);
	assert_int_equal(clock_int(&w, id, "promised", "used"), 3);
	world_close(&w);
}

static void test_clock_special_steps(void **state)
{
	(void)state;
	struct world w;
	char dl[11];
	world_open(&w);
	set_today(2026, 3, 2);
	int64_t a = create_case(&w, "test.flow", 10, 5, NULL, NULL);            /* pauses */
	int64_t b = create_case(&w, "test.flow", 10, 5, "inspection", NULL);    /* counts */
	int64_t ids[2] = { a, b };
	for (int i = 0; i < 2; i++) {
		assert_int_equal(act(&w, ids[i], 1, "submit", as_applicant(&w), NULL, NULL), CASE_OK);
		assert_int_equal(act(&w, ids[i], 2, "accept", as_staff(&w), NULL, NULL), CASE_OK);
	}
	set_today(2026, 3, 3);   /* one day used, then 现场勘验 */
	for (int i = 0; i < 2; i++)
		assert_int_equal(act(&w, ids[i], 3, "to_inspection", as_staff(&w), NULL, NULL), CASE_OK);
	assert_string_equal(clock_state(&w, a), "pause");
	assert_string_equal(clock_state(&w, b), "run");
	set_today(2026, 3, 6);   /* back on Friday: 3 working days in between */
	assert_int_equal(act(&w, a, 4, "back", as_staff(&w), NULL, NULL), CASE_MISSING_FIELD);
	for (int i = 0; i < 2; i++)
		assert_int_equal(act(&w, ids[i], 4, "back", as_staff(&w),
				     json_pack("{s:s}", "result", "符合要求"), NULL), CASE_OK);
	assert_int_equal(clock_int(&w, a, "promised", "used"), 1);
	assert_int_equal(clock_int(&w, b, "promised", "used"), 4);
	clock_deadline(&w, a, "promised", dl);
	assert_string_equal(dl, "2026-03-12");
	clock_deadline(&w, b, "promised", dl);
	assert_string_equal(dl, "2026-03-09");
	world_close(&w);
}

/* ------------------------------------------------------------ sweep */

static int64_t light_of(struct world *w, int64_t id)
{
	return count(w, "SELECT light FROM cases WHERE id = $1", id, NULL);
}

static void test_sweep(void **state)
{
	(void)state;
	struct world w;
	struct case_sweep_stats s;
	struct calendar *cal = calendar_plain();
	char dedup[64];
	world_open(&w);
	set_today(2026, 3, 2);   /* Monday */
	int64_t id = create_case(&w, "test.flow", 10, 5, NULL, NULL);
	int64_t other = create_case(&w, "test.flow", 10, 5, NULL, NULL);   /* never accepted */
	assert_int_equal(act(&w, id, 1, "submit", as_applicant(&w), NULL, NULL), CASE_OK);
	assert_int_equal(act(&w, id, 2, "accept", as_staff(&w), NULL, NULL), CASE_OK);
	assert_int_equal(store_begin(w.st), STORE_OK);
	struct case_actor adm = as_admin(&w);
	assert_int_equal(case_assign(w.st, id, 3, w.staff2, &adm), CASE_OK);
	assert_int_equal(store_commit(w.st), STORE_OK);
	(void)other;

	/* promised 5, warn 0.6: yellow from 3 used, red from 6; remind at 6, supervise at 8 */
	struct {
		cal_day today;
		int light, changed, remind, supervise;
	} steps[] = {
		{ day(2026, 3, 3), 0, 0, 0, 0 },   /* used 1 */
		{ day(2026, 3, 4), 0, 0, 0, 0 },   /* 2 */
		{ day(2026, 3, 5), 1, 1, 0, 0 },   /* 3: yellow */
		{ day(2026, 3, 7), 1, 0, 0, 0 },   /* Saturday: still 4 */
		{ day(2026, 3, 9), 1, 0, 0, 0 },   /* 5: the deadline day */
		{ day(2026, 3, 10), 2, 1, 1, 0 },  /* 6: red, remind */
		{ day(2026, 3, 11), 2, 0, 1, 0 },  /* 7 */
		{ day(2026, 3, 12), 2, 1, 1, 1 },  /* 8: supervise */
		{ day(2026, 3, 20), 2, 0, 1, 1 },  /* later: nothing new */
	};
	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		set_today_day(steps[i].today);
		assert_int_equal(case_sweep(w.st, cal, steps[i].today, &s), 0);
		assert_int_equal(s.changed, steps[i].changed);
		assert_int_equal(s.scanned, steps[i].changed);   /* only the due rows are read */
		assert_int_equal(light_of(&w, id), steps[i].light);
		assert_int_equal(count(&w, SQL_EVENTS_NAMED, id, "remind"), steps[i].remind);
		assert_int_equal(count(&w, SQL_EVENTS_NAMED, id, "supervise"), steps[i].supervise);
		/* a second sweep the same day changes nothing, nor does a full one */
		assert_int_equal(case_sweep(w.st, cal, steps[i].today, &s), 0);
		assert_int_equal(s.changed, 0);
		assert_int_equal(s.escalated, 0);
		assert_int_equal(case_sweep_full(w.st, cal, steps[i].today, &s), 0);
		assert_int_equal(s.scanned, 1);
		assert_int_equal(s.changed, 0);
		assert_int_equal(s.escalated, 0);
	}
	/* the remind went to the assignee, the supervision to the platform admin, once each */
	snprintf(dedup, sizeof dedup, "case:%lld:esc:remind", (long long)id);
	assert_int_equal(count(&w, SQL_MSGS_DEDUP, 0, dedup), 1);
	assert_int_equal(count(&w, "SELECT COUNT(*) FROM messages WHERE user_id = $1 AND kind = $2",
			       w.staff2, "case.escalate"), 1);
	snprintf(dedup, sizeof dedup, "case:%lld:esc:supervise", (long long)id);
	assert_int_equal(count(&w, SQL_MSGS_DEDUP, 0, dedup), 1);
	assert_int_equal(count(&w, "SELECT COUNT(*) FROM messages WHERE user_id = $1 AND kind = $2",
			       w.boss, "case.escalate"), 1);
	/* the escalations are internal events */
	json_t *pub = case_timeline(w.st, id, 1), *all = case_timeline(w.st, id, 0);
	assert_non_null(pub);
	assert_non_null(all);
	int esc_public = 0, esc_all = 0;
	for (size_t i = 0; i < json_array_size(all); i++)
		esc_all += strcmp(json_string_value(json_object_get(json_array_get(all, i), "kind")),
				  "escalate") == 0;
	for (size_t i = 0; i < json_array_size(pub); i++)
		esc_public += strcmp(json_string_value(json_object_get(json_array_get(pub, i), "kind")),
				     "escalate") == 0;
	assert_int_equal(esc_all, 2);
	assert_int_equal(esc_public, 0);
	json_decref(pub);
	json_decref(all);

	/* the case page agrees with the sweep */
	set_today(2026, 3, 12);
	json_t *o = get(&w, id);
	assert_string_equal(json_string_value(json_object_get(o, "light_name")), "red");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(json_object_get(o,
		"clocks"), "promised"), "remaining")), -3);
	json_decref(o);

	/* a person acting (new version) between read and write is not overwritten;
	 * the finished case leaves the sweep */
	assert_int_equal(act(&w, id, 4, "approve", as_staff(&w), json_pack("{s:s}", "opinion", "同意"),
			     NULL), CASE_OK);
	assert_int_equal(case_sweep_full(w.st, cal, day(2026, 3, 30), &s), 0);
	assert_int_equal(s.scanned, 0);
	calendar_free(cal);
	world_close(&w);
}

/* The daily sweep follows each case's next check; the full sweep after a
 * calendar edit moves deadlines and next checks with the calendar. */
static void test_sweep_calendar_edit(void **state)
{
	(void)state;
	struct world w;
	struct case_sweep_stats s;
	char dl[11];
	world_open(&w);
	set_today(2026, 3, 2);   /* Monday */
	int64_t id = create_case(&w, "test.flow", 10, 5, NULL, NULL);
	assert_int_equal(act(&w, id, 1, "submit", as_applicant(&w), NULL, NULL), CASE_OK);
	assert_int_equal(act(&w, id, 2, "accept", as_staff(&w), NULL, NULL), CASE_OK);
	clock_deadline(&w, id, "promised", dl);
	assert_string_equal(dl, "2026-03-09");
	int64_t next = count(&w, "SELECT next_check FROM cases WHERE id = $1", id, NULL);
	assert_int_equal(next, day(2026, 3, 5));   /* yellow once 3 of 5 days are used */

	/* Saturday 03-07 becomes a working day (调休) */
	assert_int_equal(store_begin(w.st), STORE_OK);
	assert_int_equal(calendar_set_day(w.st, day(2026, 3, 7), CAL_WORKDAY, "调休"), 0);
	assert_int_equal(store_commit(w.st), STORE_OK);
	struct calendar *cal = NULL;
	assert_int_equal(calendar_load(w.st, &cal), 0);
	set_today(2026, 3, 3);
	assert_int_equal(case_sweep(w.st, cal, day(2026, 3, 3), &s), 0);
	assert_int_equal(s.scanned, 0);   /* not due */
	assert_int_equal(case_sweep_full(w.st, cal, day(2026, 3, 3), &s), 0);
	assert_int_equal(s.scanned, 1);
	assert_int_equal(s.changed, 1);
	assert_int_equal(count(&w, "SELECT deadline_promised FROM cases WHERE id = $1", id, NULL),
			 day(2026, 3, 7));
	assert_int_equal(count(&w, "SELECT deadline FROM cases WHERE id = $1", id, NULL),
			 day(2026, 3, 7));
	/* the case page computes the same from the stored calendar */
	clock_deadline(&w, id, "promised", dl);
	assert_string_equal(dl, "2026-03-07");
	/* red from the Monday after the worked Saturday */
	assert_int_equal(case_sweep(w.st, cal, day(2026, 3, 9), &s), 0);
	assert_int_equal(light_of(&w, id), 2);
	calendar_free(cal);
	world_close(&w);
}

/* ------------------------------------------------------------ assign, comments, timeline */

static void test_assign_comment_timeline(void **state)
{
	(void)state;
	struct world w;
	world_open(&w);
	int64_t id = create_case(&w, "test.flow", 0, 0, NULL, NULL);
	assert_int_equal(act(&w, id, 1, "submit", as_applicant(&w), NULL, NULL), CASE_OK);
	struct case_actor staff = as_staff(&w), adm = as_admin(&w), app = as_applicant(&w);

	assert_int_equal(store_begin(w.st), STORE_OK);
	/* staff may take a case, not give it to another */
	assert_int_equal(case_assign(w.st, id, 2, w.staff2, &staff), CASE_FORBIDDEN);
	assert_int_equal(case_assign(w.st, id, 2, w.outsider, &adm), CASE_BAD_ASSIGNEE);
	assert_int_equal(case_assign(w.st, id, 1, w.staff2, &adm), CASE_CONFLICT);
	assert_int_equal(case_assign(w.st, id, 2, w.staff, &staff), CASE_OK);
	assert_int_equal(store_commit(w.st), STORE_OK);
	assert_int_equal(version_of(&w, id), 3);
	json_t *o = get(&w, id);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(o, "assignee"), "id")),
			 w.staff);
	json_decref(o);

	assert_int_equal(store_begin(w.st), STORE_OK);
	assert_int_equal(case_comment(w.st, id, &staff, "内部意见：材料基本齐全", 0), CASE_OK);
	assert_int_equal(case_comment(w.st, id, &staff, "请携带原件到窗口核验", 1), CASE_OK);
	assert_int_equal(case_comment(w.st, id, &app, "好的，明天上午到", 0), CASE_OK); /* forced public */
	assert_int_equal(case_comment(w.st, id, &staff, "", 1), CASE_INVALID);
	struct case_actor nobody = { w.outsider, "sun", 0 };
	assert_int_equal(case_comment(w.st, id, &nobody, "x", 1), CASE_FORBIDDEN);
	store_rollback(w.st);   /* a failed call: the caller rolls back */
	assert_int_equal(count(&w, SQL_EVENTS, id, NULL), 3);   /* created, submit, assign */

	assert_int_equal(store_begin(w.st), STORE_OK);
	assert_int_equal(case_comment(w.st, id, &staff, "内部意见：材料基本齐全", 0), CASE_OK);
	assert_int_equal(case_comment(w.st, id, &staff, "请携带原件到窗口核验", 1), CASE_OK);
	assert_int_equal(case_comment(w.st, id, &app, "好的，明天上午到", 0), CASE_OK);
	assert_int_equal(case_attach(w.st, id, &staff, 42, "现场照片", 0), CASE_OK);
	assert_int_equal(case_attach(w.st, id, &app, 43, "营业执照", 0), CASE_OK);
	assert_int_equal(store_commit(w.st), STORE_OK);
	/* comments and attachments do not change the version */
	assert_int_equal(version_of(&w, id), 3);

	json_t *all = case_timeline(w.st, id, 0), *pub = case_timeline(w.st, id, 1);
	assert_non_null(all);
	assert_non_null(pub);
	/* created, submit, assign, internal comment, public comment, applicant comment,
	 * internal attachment, applicant attachment */
	assert_int_equal(json_array_size(all), 8);
	assert_int_equal(json_array_size(pub), 5);
	for (size_t i = 0; i < json_array_size(pub); i++) {
		json_t *e = json_array_get(pub, i);
		assert_true(json_is_true(json_object_get(e, "public")));
		assert_null(json_object_get(e, "actor_id"));
	}
	assert_string_equal(json_string_value(json_object_get(json_array_get(all, 1), "to_title")),
			    "已提交");
	assert_string_equal(json_string_value(json_object_get(json_array_get(all, 0), "kind")),
			    "created");
	json_decref(all);
	json_decref(pub);

	o = case_json(w.st, id, 0, 1);
	assert_int_equal(json_array_size(json_object_get(o, "attachments")), 1);
	json_decref(o);
	o = get(&w, id);
	assert_int_equal(json_array_size(json_object_get(o, "attachments")), 2);
	json_decref(o);
	/* the applicant heard of the public comment; the assignee of the applicant's notes */
	assert_true(count(&w, "SELECT COUNT(*) FROM messages WHERE user_id = $1 AND kind = $2",
			  w.applicant, "case.note") == 1);
	assert_true(count(&w, "SELECT COUNT(*) FROM messages WHERE user_id = $1 AND kind = $2",
			  w.staff, "case.note") == 2);
	world_close(&w);
}

/* ------------------------------------------------------------ inbox */

static void test_inbox(void **state)
{
	(void)state;
	struct world w;
	struct case_sweep_stats s;
	struct calendar *cal = calendar_plain();
	world_open(&w);
	/* Accepted on different days: on 03-16 (promised 5, warn 0.6) the ones
	 * accepted 03-02..03-06 are red (>5 used), 03-09..03-11 yellow, later green;
	 * two are never accepted (no deadline); one is finished. */
	int days[] = { 2, 3, 4, 5, 6, 9, 10, 11, 12, 13 };
	int64_t ids[16];
	int n = 0;
	for (size_t i = 0; i < sizeof days / sizeof days[0]; i++) {
		set_today(2026, 3, days[i]);
		int64_t id = create_case(&w, "test.flow", 10, 5, NULL, NULL);
		assert_int_equal(act(&w, id, 1, "submit", as_applicant(&w), NULL, NULL), CASE_OK);
		assert_int_equal(act(&w, id, 2, "accept", as_staff(&w), NULL, NULL), CASE_OK);
		ids[n++] = id;
	}
	int64_t waiting1 = create_case(&w, "test.flow", 10, 5, NULL, NULL);
	int64_t waiting2 = create_case(&w, "test.flow", 10, 5, NULL, NULL);
	int64_t done = create_case(&w, "test.flow", 10, 5, NULL, NULL);
	assert_int_equal(act(&w, done, 1, "submit", as_applicant(&w), NULL, NULL), CASE_OK);
	assert_int_equal(act(&w, done, 2, "reject", as_staff(&w), json_pack("{s:s}", "reason", "不符"),
			     NULL), CASE_OK);
	set_today(2026, 3, 16);
	assert_int_equal(case_sweep(w.st, cal, day(2026, 3, 16), &s), 0);
	assert_int_equal(s.scanned, 8);   /* the two accepted last are not due yet */

	json_t *page = NULL;
	/* One application's processes only: every case here is a "test.*" one. */
	assert_int_equal(case_inbox_app(w.st, w.dept, "test", NULL, NULL, 100, &page), CASE_OK);
	assert_int_equal(json_array_size(json_object_get(page, "items")), 12);
	json_decref(page);
	assert_int_equal(case_inbox_app(w.st, w.dept, "tes", NULL, NULL, 100, &page), CASE_OK);
	assert_int_equal(json_array_size(json_object_get(page, "items")), 0);
	json_decref(page);
	assert_int_equal(case_inbox_app(w.st, w.dept, "hall", "submitted", NULL, 100, &page), CASE_OK);
	assert_int_equal(json_array_size(json_object_get(page, "items")), 0);
	json_decref(page);
	assert_int_equal(case_inbox(w.st, w.dept, NULL, NULL, 100, &page), CASE_OK);
	json_t *items = json_object_get(page, "items");
	assert_int_equal(json_array_size(items), 12);
	assert_true(json_is_null(json_object_get(page, "next")));
	/* red, yellow, green; nearest deadline first; waiting (no deadline) last */
	int64_t expect[] = { ids[0], ids[1], ids[2], ids[3], ids[4], ids[5], ids[6], ids[7],
			     ids[8], ids[9], waiting1, waiting2 };
	int lights[] = { 2, 2, 2, 2, 2, 1, 1, 1, 0, 0, 0, 0 };
	for (int i = 0; i < 12; i++) {
		json_t *it = json_array_get(items, (size_t)i);
		assert_int_equal(json_integer_value(json_object_get(it, "id")), expect[i]);
		assert_int_equal(json_integer_value(json_object_get(it, "light")), lights[i]);
	}
	json_decref(page);

	/* pages of 5, 5 and 2 give the same order */
	char cursor[64] = "";
	int seen = 0;
	for (int pg = 0; pg < 4; pg++) {
		assert_int_equal(case_inbox(w.st, w.dept, NULL, pg ? cursor : NULL, 5, &page), CASE_OK);
		items = json_object_get(page, "items");
		for (size_t i = 0; i < json_array_size(items); i++)
			assert_int_equal(json_integer_value(json_object_get(json_array_get(items, i),
									    "id")), expect[seen++]);
		json_t *next = json_object_get(page, "next");
		if (json_is_null(next)) {
			json_decref(page);
			break;
		}
		snprintf(cursor, sizeof cursor, "%s", json_string_value(next));
		json_decref(page);
	}
	assert_int_equal(seen, 12);

	/* a state filter; another department; bad cursors and limits */
	assert_int_equal(case_inbox(w.st, w.dept, "submitted", NULL, 10, &page), CASE_OK);
	assert_int_equal(json_array_size(json_object_get(page, "items")), 0);
	json_decref(page);
	assert_int_equal(case_inbox(w.st, w.dept, "draft", NULL, 10, &page), CASE_OK);
	assert_int_equal(json_array_size(json_object_get(page, "items")), 2);
	json_decref(page);
	assert_int_equal(case_inbox(w.st, w.dept2, NULL, NULL, 10, &page), CASE_OK);
	assert_int_equal(json_array_size(json_object_get(page, "items")), 0);
	json_decref(page);
	assert_int_equal(case_inbox(w.st, w.dept, NULL, "x", 10, &page), CASE_INVALID);
	assert_int_equal(case_inbox(w.st, w.dept, NULL, "3.1.1", 10, &page), CASE_INVALID);
	assert_int_equal(case_inbox(w.st, w.dept, NULL, "2.1.", 10, &page), CASE_INVALID);
	assert_int_equal(case_inbox(w.st, w.dept, NULL, NULL, 0, &page), CASE_INVALID);
	assert_null(page);
	calendar_free(cal);
	world_close(&w);
}

/* ------------------------------------------------------------ the standard process */

static void test_standard_process(void **state)
{
	(void)state;
	const struct procdef *p = procdef_get("hall.standard");
	if (p == NULL) {
		print_message("processes/hall/standard.proc not embedded; skipped\n");
		return;
	}
	struct world w;
	char dl[11];
	world_open(&w);
	set_today(2026, 3, 2);
	int64_t id = create_case(&w, "hall.standard", 0, 0, "hearing", NULL);
	assert_int_equal(act(&w, id, 1, "submit", as_applicant(&w), NULL, NULL), CASE_OK);
	/* 补正 before 受理 does not start the clock */
	assert_int_equal(act(&w, id, 2, "send_back", as_staff(&w),
			     json_pack("{s:s}", "missing_list", "身份证复印件"), NULL), CASE_OK);
	assert_string_equal(clock_state(&w, id), "wait");
	set_today(2026, 3, 4);
	assert_int_equal(act(&w, id, 3, "resubmit", as_applicant(&w), NULL, NULL), CASE_OK);
	assert_int_equal(act(&w, id, 4, "accept", as_staff(&w), NULL, NULL), CASE_OK);
	assert_string_equal(clock_state(&w, id), "run");
	clock_deadline(&w, id, "promised", dl);       /* 10 working days from Wed 03-04 */
	assert_string_equal(dl, "2026-03-18");
	assert_int_equal(act(&w, id, 5, "start_review", as_staff(&w), NULL, NULL), CASE_OK);
	assert_int_equal(act(&w, id, 6, "to_expert_review", as_staff(&w), NULL, NULL), CASE_OK);
	assert_string_equal(clock_state(&w, id), "pause");   /* not in special_counts */
	assert_int_equal(act(&w, id, 7, "back", as_staff(&w), json_pack("{s:s}", "result", "通过"),
			     NULL), CASE_OK);
	assert_int_equal(act(&w, id, 8, "to_hearing", as_staff(&w), NULL, NULL), CASE_OK);
	assert_string_equal(clock_state(&w, id), "run");     /* hearing counts for this item */
	assert_int_equal(act(&w, id, 9, "back", as_staff(&w), json_pack("{s:s}", "result", "通过"),
			     NULL), CASE_OK);
	assert_int_equal(act(&w, id, 10, "approve", as_staff(&w),
			     json_pack("{s:s}", "opinion", "准予许可"), NULL), CASE_OK);
	assert_string_equal(clock_state(&w, id), "stop");
	assert_state(&w, id, "approved", 11);
	world_close(&w);
}

/* The supervision check: a regular history passes; a case moved outside the
 * engine (state changed, a step deleted, an out-of-process step) is named. */
static void test_check_history(void **state)
{
	(void)state;
	if (procdef_get("hall.standard") == NULL) {
		print_message("processes/hall/standard.proc not embedded; skipped\n");
		return;
	}
	struct world w;
	json_t *out = NULL;
	world_open(&w);
	set_today(2026, 3, 2);
	int64_t a = create_case(&w, "hall.standard", 0, 0, NULL, NULL);
	int64_t b = create_case(&w, "hall.standard", 0, 0, NULL, NULL);
	int64_t c = create_case(&w, "hall.standard", 0, 0, NULL, NULL);
	for (int64_t id = a; id <= c; id++) {
		assert_int_equal(act(&w, id, 1, "submit", as_applicant(&w), NULL, NULL), CASE_OK);
		assert_int_equal(act(&w, id, 2, "accept", as_staff(&w), NULL, NULL), CASE_OK);
	}
	assert_int_equal(case_check_history(w.st, 100, &out), CASE_OK);
	assert_int_equal(json_array_size(out), 0);
	json_decref(out);
	/* a: approved by hand, skipping review */
	struct sval va[] = { SVI(a) };
	assert_int_equal(store_exec(w.st, "UPDATE cases SET state = 'approved' WHERE id = $1", va, 1, NULL), 0);
	/* b: the accept step removed from its history */
	struct sval vb[] = { SVI(b) };
	assert_int_equal(store_exec(w.st, "DELETE FROM case_events WHERE case_id = $1 AND name = 'accept'", vb, 1,
				    NULL), 0);
	/* c: a step the process does not have (submitted -> approved) */
	struct sval vc[] = { SVI(c) };
	assert_int_equal(store_exec(w.st, "UPDATE case_events SET to_state = 'approved', name = 'approve' "
					  "WHERE case_id = $1 AND name = 'accept'", vc, 1, NULL), 0);
	assert_int_equal(store_exec(w.st, "UPDATE cases SET state = 'approved' WHERE id = $1", vc, 1, NULL), 0);
	assert_int_equal(case_check_history(w.st, 100, &out), CASE_OK);
	assert_int_equal(json_array_size(out), 3);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(out, 0), "id")), a);
	assert_string_equal(json_string_value(json_object_get(json_array_get(out, 0), "problem")),
			    "当前环节与办理记录不符");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(out, 1), "id")), b);
	assert_string_equal(json_string_value(json_object_get(json_array_get(out, 1), "problem")),
			    "当前环节与办理记录不符");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(out, 2), "id")), c);
	assert_string_equal(json_string_value(json_object_get(json_array_get(out, 2), "problem")),
			    "出现流程定义之外的环节");
	json_decref(out);
	assert_int_equal(case_check_history(w.st, 0, &out), CASE_INVALID);
	world_close(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tracking_check),
		cmocka_unit_test(test_create_and_lookup),
		cmocka_unit_test(test_transitions),
		cmocka_unit_test(test_concurrent),
		cmocka_unit_test(test_clock_adjusted_saturday),
		cmocka_unit_test(test_clock_correction_pause),
		cmocka_unit_test(test_clock_special_steps),
		cmocka_unit_test(test_sweep),
		cmocka_unit_test(test_sweep_calendar_edit),
		cmocka_unit_test(test_assign_comment_timeline),
		cmocka_unit_test(test_inbox),
		cmocka_unit_test(test_standard_process),
		cmocka_unit_test(test_check_history),
	};
	return cmocka_run_group_tests(tests, load_processes, unload_processes);
}
