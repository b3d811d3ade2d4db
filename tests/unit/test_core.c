/* Unit tests of the core modules the lead wrote: buffers and arenas, the
 * router, configuration, departments (with CSV import), accounts and jobs. */
#include "testutil.h"

#include "core/account.h"
#include "core/buf.h"
#include "core/conf.h"
#include "core/csvw.h"
#include "core/crypto.h"
#include "core/dept.h"
#include "core/http.h"
#include "core/http_int.h"
#include "core/jobs.h"
#include "core/xalloc.h"

static void test_buf_limits(void **state)
{
	(void)state;
	struct buf b = BUF_INIT(8);
	assert_int_equal(buf_addstr(&b, "12345678"), 0);
	assert_int_equal(buf_addch(&b, '9'), -1);   /* over the maximum: refused */
	assert_int_equal(b.len, 8);
	assert_string_equal(b.data, "12345678");
	buf_release(&b);
	buf_init(&b, 64);
	assert_int_equal(buf_add_html(&b, "<a>", 3), 0);
	assert_string_equal(b.data, "&lt;a&gt;");
	buf_release(&b);
	struct arena *a = arena_new();
	char *s = arena_printf(a, "%s-%d", "x", 42);
	assert_string_equal(s, "x-42");
	void *big = arena_alloc(a, 100000);
	assert_non_null(big);
	arena_free(a);
}

static void h_dummy(struct req *r)
{
	(void)r;
}

static const struct route test_routes[] = {
	{ HM_GET, "/a/{id}", h_dummy, ROLE_PUBLIC, 0, NULL, NULL, NULL, "a" },
	{ HM_GET, "/a/{id}/b/{x}", h_dummy, ROLE_PUBLIC, 0, NULL, NULL, NULL, "ab" },
	{ HM_POST, "/a/new", h_dummy, ROLE_PUBLIC, 0, NULL, NULL, NULL, "new" },
	{ 0, NULL, NULL, 0, 0, NULL, NULL, NULL, NULL },
};

/* csvw: RFC 4180 quoting, the formula guard, NULL, the same bytes to a buffer and to a stream. */
static void test_csvw(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		int guard;
		const char *out;
	} cases[] = {
		{ "plain", 1, "plain" },
		{ "", 1, "" },
		{ "a,b", 0, "\"a,b\"" },
		{ "say \"hi\"", 0, "\"say \"\"hi\"\"\"" },
		{ "two\r\nlines", 0, "\"two\r\nlines\"" },
		{ "=1+2", 1, "\"'=1+2\"" },
		{ "=1+2", 0, "=1+2" },
		{ "+86", 1, "\"'+86\"" },
		{ "-3", 1, "\"'-3\"" },
		{ "@SUM(A1)", 1, "\"'@SUM(A1)\"" },
		{ "\tx", 1, "\"'\tx\"" },
		{ "=\"x\",y", 1, "\"'=\"\"x\"\",y\"" },
		{ "a=b", 1, "a=b" },
		{ "示范市", 1, "示范市" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct buf b = BUF_INIT(1024);
		assert_int_equal(csvw_add(&b, cases[i].in, cases[i].guard), 0);
		assert_string_equal(b.data ? b.data : "", cases[i].out);
		buf_release(&b);
		char mem[256] = "";
		FILE *f = fmemopen(mem, sizeof mem, "w");
		assert_non_null(f);
		assert_int_equal(csvw_put(f, cases[i].in, cases[i].guard), 0);
		assert_int_equal(fclose(f), 0);
		assert_string_equal(mem, cases[i].out);
	}
	struct buf b = BUF_INIT(4);
	assert_int_equal(csvw_add(&b, NULL, 1), 0);
	assert_int_equal(b.len, 0);
	assert_int_equal(csvw_add(&b, "too long", 0), -1);     /* the buffer's maximum */
	buf_release(&b);
	assert_true(csvw_formula("=x") && csvw_formula("-") && !csvw_formula("x=") && !csvw_formula(NULL));
}

static void test_router(void **state)
{
	(void)state;
	http_add_routes(test_routes);
	struct req r;
	memset(&r, 0, sizeof r);
	r.arena = arena_new();
	int pm = 0;
	const struct route *rt = router_match(&r, HM_GET, "/a/17", &pm);
	assert_non_null(rt);
	assert_string_equal(rt->summary, "a");
	assert_int_equal(r.nparams, 1);
	assert_string_equal(r.param_name[0], "id");
	assert_string_equal(r.param_val[0], "17");
	rt = router_match(&r, HM_GET, "/a/9/b/zz", &pm);
	assert_non_null(rt);
	assert_string_equal(r.param_val[1], "zz");
	/* HEAD is served by the GET route */
	assert_non_null(router_match(&r, HM_HEAD, "/a/1", &pm));
	/* path exists with another method: 405, not 404 */
	assert_null(router_match(&r, HM_DELETE, "/a/1", &pm));
	assert_int_equal(pm, 1);
	assert_null(router_match(&r, HM_GET, "/nothing", &pm));
	assert_int_equal(pm, 0);
	assert_null(router_match(&r, HM_GET, "/a/1/b", &pm));
	arena_free(r.arena);
}

static void test_conf(void **state)
{
	(void)state;
	char *dir = test_tmpdir();
	char *path = NULL;
	assert_true(asprintf(&path, "%s/yizhan.conf", dir) > 0);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("# comment\nport = 9090\nlisten=0.0.0.0\n", f);
	fclose(f);
	struct conf c;
	char *err = NULL;
	setenv("YIZHAN_THREADS", "3", 1);
	assert_int_equal(conf_load(&c, path, 0, &err), 0);
	assert_int_equal(c.port, 9090);
	assert_string_equal(c.listen, "0.0.0.0");
	assert_int_equal(c.threads, 3);           /* environment wins */
	assert_int_equal(c.session_idle, 30);     /* default */
	conf_release(&c);
	unsetenv("YIZHAN_THREADS");

	f = fopen(path, "w");
	fputs("port = 70000\n", f);
	fclose(f);
	assert_int_equal(conf_load(&c, path, 0, &err), -1);
	assert_non_null(strstr(err, ":1:"));
	assert_non_null(strstr(err, "port"));
	free(err);
	err = NULL;
	conf_release(&c);
	f = fopen(path, "w");
	fputs("bogus = 1\n", f);
	fclose(f);
	assert_int_equal(conf_load(&c, path, 0, &err), -1);
	assert_non_null(strstr(err, "bogus"));
	free(err);
	conf_release(&c);
	/* a missing optional file is fine, a missing explicit one is not */
	err = NULL;
	assert_int_equal(conf_load(&c, "/nonexistent/yizhan.conf", 1, &err), 0);
	conf_release(&c);
	assert_int_equal(conf_load(&c, "/nonexistent/yizhan.conf", 0, &err), -1);
	free(err);
	conf_release(&c);
	free(path);
	free(dir);
}

static struct store *fresh_store(void)
{
	struct store *st = test_store_open();
	assert_int_equal(store_migrate(st), 0);
	return st;
}

static void test_dept(void **state)
{
	(void)state;
	struct store *st = fresh_store();
	int64_t root = 0, child = 0, grandchild = 0;
	enum msg_id why;
	const char *field;
	assert_int_equal(store_begin(st), 0);
	struct dept_in d = { "gov", "示范市人民政府", 0, "city", 0 };
	assert_int_equal(dept_create(st, &d, &root, &why, &field), 0);
	struct dept_in c = { "amr", "市场监督管理局", root, "city", 1 };
	assert_int_equal(dept_create(st, &c, &child, &why, &field), 0);
	struct dept_in g = { "amr-1", "一科", child, "county", 0 };
	assert_int_equal(dept_create(st, &g, &grandchild, &why, &field), 0);
	/* bad level, bad code, unknown parent */
	struct dept_in bad = { "x", "X", 0, "galaxy", 0 };
	assert_int_equal(dept_create(st, &bad, &child, &why, &field), -1);
	assert_int_equal(why, MSG_DEPT_LEVEL_BAD);
	bad.level = "town";
	bad.code = "bad code!";
	assert_int_equal(dept_create(st, &bad, &child, &why, &field), -1);
	assert_string_equal(field, "code");
	bad.code = "ok";
	bad.parent_id = 999999;
	assert_int_equal(dept_create(st, &bad, &child, &why, &field), -1);
	assert_int_equal(why, MSG_DEPT_PARENT_UNKNOWN);
	/* a department cannot move under its own descendant */
	struct dept_in cyc = { "gov", "示范市人民政府", grandchild, "city", 0 };
	assert_int_equal(dept_update(st, root, &cyc, &why, &field), -1);
	assert_int_equal(why, MSG_DEPT_PARENT_CYCLE);
	assert_int_equal(store_commit(st), 0);
	/* a duplicate code is a constraint failure: the transaction is lost, nothing changes */
	assert_int_equal(store_begin(st), 0);
	int64_t dup = 0;
	assert_int_equal(dept_create(st, &c, &dup, &why, &field), -1);
	assert_int_equal(why, MSG_DEPT_CODE_TAKEN);
	assert_string_equal(field, "code");
	store_rollback(st);

	json_t *tree = dept_tree(st);
	assert_int_equal(json_array_size(tree), 3);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(tree, 2), "depth")), 2);
	json_decref(tree);
	json_t *page = dept_list(st, 0, 2);
	assert_int_equal(json_array_size(json_object_get(page, "items")), 2);
	assert_true(json_is_integer(json_object_get(page, "next")));
	json_decref(page);
	store_close(st);
}

static void test_dept_import(void **state)
{
	(void)state;
	struct store *st = fresh_store();
	const char *good = "code,name,parent_code,level,sort\n"
			   "gov,示范市人民政府,,市,0\n"
			   "mca,民政局,gov,city,2\n"
			   "\"tax\",\"税务局, 示范市\",gov,city,3\n";
	json_t *rep = NULL;
	assert_int_equal(store_begin(st), 0);
	assert_int_equal(dept_import_csv(st, good, strlen(good), &rep, NULL, NULL), 0);
	assert_int_equal(store_commit(st), 0);
	assert_int_equal(json_integer_value(json_object_get(rep, "created")), 3);
	json_decref(rep);
	int64_t id = 0;
	assert_int_equal(dept_find_code(st, "tax", &id), 0);
	json_t *d = dept_json(st, id);
	assert_string_equal(json_string_value(json_object_get(d, "name")), "税务局, 示范市");
	json_decref(d);

	/* Bad rows: every problem is reported with its row, and nothing changes. */
	const char *bad = "code,name,parent_code,level\n"
			  "edu,教育局,gov,city\n"
			  "health,卫健委,nowhere,city\n"
			  "bad code,X,gov,city\n"
			  "edu,教育局二,gov,planet\n";
	assert_int_equal(store_begin(st), 0);
	assert_int_equal(dept_import_csv(st, bad, strlen(bad), &rep, NULL, NULL), -1);
	store_rollback(st);
	assert_true(json_is_array(rep));
	assert_int_equal(json_array_size(rep), 3);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(rep, 0), "row")), 3);
	assert_string_equal(json_string_value(json_object_get(json_array_get(rep, 0), "field")),
			    "parent_code");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(rep, 1), "row")), 4);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(rep, 2), "row")), 5);
	json_decref(rep);
	assert_int_equal(dept_find_code(st, "edu", &id), 1);   /* all or nothing */

	const char *noheader = "gov,x,,city\n";
	assert_int_equal(store_begin(st), 0);
	assert_int_equal(dept_import_csv(st, noheader, strlen(noheader), &rep, NULL, NULL), -1);
	store_rollback(st);
	json_decref(rep);
	const char *broken = "code,name,level\n\"unterminated,x,city\n";
	assert_int_equal(store_begin(st), 0);
	assert_int_equal(dept_import_csv(st, broken, strlen(broken), &rep, NULL, NULL), -1);
	store_rollback(st);
	assert_true(json_array_size(rep) >= 1);
	json_decref(rep);
	store_close(st);
}

static void test_account(void **state)
{
	(void)state;
	struct store *st = fresh_store();
	struct keys k;
	char *err = NULL, *dir = test_tmpdir();
	assert_int_equal(crypto_init(), 0);
	assert_int_equal(keys_load_or_create(dir, &k, &err), 0);
	int64_t dept = 0, uid = 0, other = 0;
	enum msg_id why;
	const char *field;
	assert_int_equal(store_begin(st), 0);
	struct dept_in d = { "amr", "市场监督管理局", 0, "city", 0 };
	assert_int_equal(dept_create(st, &d, &dept, &why, &field), 0);
	struct account_new a = { "chen", "citizen", "陈小梅", "44010619900517123X", NULL, "13800138000",
				 NULL, "correct horse battery", 0 };
	assert_int_equal(account_create(st, &k, &a, &uid, &why, &field), 0);
	/* the same login, then the same identifier under another login */
	assert_int_equal(account_create(st, &k, &a, &other, &why, &field), -1);
	assert_int_equal(why, MSG_LOGIN_TAKEN);
	a.login = "chen2";
	assert_int_equal(account_create(st, &k, &a, &other, &why, &field), -1);
	assert_int_equal(why, MSG_IDENT_TAKEN);
	assert_string_equal(field, "ident");
	struct account_new s = { "zhang", "staff", "张三", NULL, NULL, NULL, NULL, "another long pw", 1 };
	assert_int_equal(account_create(st, &k, &s, &other, &why, &field), 0);
	assert_int_equal(account_add_role(st, other, dept, "dept_admin"), 0);
	assert_int_equal(account_add_role(st, other, dept, "dept_admin"), 0);   /* idempotent */
	assert_int_equal(account_add_role(st, other, dept, "emperor"), -1);     /* CHECK constraint */
	store_rollback(st);
	assert_int_equal(store_begin(st), 0);
	assert_int_equal(dept_create(st, &d, &dept, &why, &field), 0);
	a.login = "chen";
	assert_int_equal(account_create(st, &k, &a, &uid, &why, &field), 0);
	assert_int_equal(account_create(st, &k, &s, &other, &why, &field), 0);
	assert_int_equal(account_add_role(st, other, dept, "dept_admin"), 0);
	assert_int_equal(store_commit(st), 0);
	assert_true(account_has_role(st, other, dept, "dept_admin"));
	assert_false(account_has_role(st, other, dept, "staff"));

	json_t *j = account_json(st, uid);
	const char *masked = json_string_value(json_object_get(j, "ident_masked"));
	assert_string_equal(masked, "440106********123X");
	char *dump = json_dumps(j, 0);
	assert_null(strstr(dump, "19900517"));   /* the full identifier never leaves */
	free(dump);
	json_decref(j);
	/* the stored value is sealed, not clear */
	struct store_res *res = NULL;
	struct sval p[] = { SVI(uid) };
	assert_int_equal(store_query(st, "SELECT ident_sealed, password FROM users WHERE id = $1", p, 1, &res), 0);
	assert_null(strstr(store_res_text(res, 0, 0), "4401"));
	char *plain = unseal_text(&k, store_res_text(res, 0, 0));
	assert_string_equal(plain, "44010619900517123X");
	free(plain);
	assert_int_equal(password_verify(store_res_text(res, 0, 1), "correct horse battery"), 0);
	store_res_free(res);

	json_t *page = account_list(st, "staff", NULL, 0, 10);
	assert_int_equal(json_array_size(json_object_get(page, "items")), 1);
	json_decref(page);
	page = account_list(st, NULL, "陈", 0, 10);
	assert_int_equal(json_array_size(json_object_get(page, "items")), 1);
	json_decref(page);
	store_close(st);
	free(dir);
}

static int job_ok(struct job *j, json_t **result, char **message)
{
	(void)message;
	jobs_progress(j, 5, 10);
	*result = json_pack("{s:O}", "echo", json_object_get(j->params, "x"));
	return 0;
}

static int job_fail(struct job *j, json_t **result, char **message)
{
	(void)j;
	(void)result;
	*message = xstrdup("失败原因");
	return -1;
}

static void test_jobs(void **state)
{
	(void)state;
	struct store *st = fresh_store();
	jobs_register("test.ok", "测试", job_ok);
	jobs_register("test.fail", "测试失败", job_fail);
	int64_t a = 0, b = 0, c = 0;
	json_t *params = json_pack("{s:i}", "x", 7);
	assert_int_equal(jobs_enqueue(st, "test.ok", params, 0, 0, &a), 0);
	assert_int_equal(jobs_enqueue(st, "test.fail", params, 0, 0, &b), 0);
	assert_int_equal(jobs_enqueue(st, "no.such.kind", params, 0, 0, &c), 0);
	json_decref(params);
	json_t *j = jobs_json(st, a);
	assert_string_equal(json_string_value(json_object_get(j, "state")), "queued");
	json_decref(j);
	assert_int_equal(jobs_run_pending(st, NULL), 0);
	j = jobs_json(st, a);
	assert_string_equal(json_string_value(json_object_get(j, "state")), "done");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "result"), "echo")), 7);
	assert_int_equal(json_integer_value(json_object_get(j, "percent")), 100);
	json_decref(j);
	j = jobs_json(st, b);
	assert_string_equal(json_string_value(json_object_get(j, "state")), "failed");
	assert_string_equal(json_string_value(json_object_get(j, "message")), "失败原因");
	json_decref(j);
	j = jobs_json(st, c);
	assert_string_equal(json_string_value(json_object_get(j, "state")), "failed");
	json_decref(j);
	assert_null(jobs_json(st, 999999));
	store_close(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf_limits),
		cmocka_unit_test(test_csvw),
		cmocka_unit_test(test_router),
		cmocka_unit_test(test_conf),
		cmocka_unit_test(test_dept),
		cmocka_unit_test(test_dept_import),
		cmocka_unit_test(test_account),
		cmocka_unit_test(test_jobs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
