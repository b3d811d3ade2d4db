/*
 * Unit tests of the service hall's ratings and department stars
 * (apps/hall/stars.c, rating.c): the configuration lists, the stars from
 * known inputs (thresholds exactly, reweighting without ratings, 数据不足),
 * and in the store: rating rules, the rectification a bad rating opens, an
 * upheld appeal taking the rating out, and the ranking's SQL aggregates.
 */
#include "testutil.h"

#include "apps/hall/hall_int.h"
#include "apps/hall/items.h"
#include "core/embed.h"
#include "engines/case/case.h"
#include "engines/case/procdef.h"

#include <math.h>

static struct hall_stars_conf defaults(void)
{
	struct hall_stars_conf c;
	char *err = NULL;
	assert_int_equal(hall_stars_conf_parse(NULL, NULL, 0, &c, &err), 0);
	assert_null(err);
	return c;
}

static int stars_of(const struct hall_stars_conf *c, int64_t items, int64_t deep, int64_t decided, int64_t on_time,
		    int64_t ratings, int64_t satisfied, double *score)
{
	struct hall_stars_in in = { items, deep, items * 4, decided, on_time, ratings, satisfied };
	struct hall_stars_out out;
	hall_stars_compute(c, &in, &out);
	if (score)
		*score = out.score;
	return out.stars;
}

/* ------------------------------------------------------------ configuration */

static void test_conf_parse(void **state)
{
	(void)state;
	struct hall_stars_conf c = defaults();
	assert_true(fabs(c.weight[0] - 0.4) < 1e-12 && fabs(c.weight[1] - 0.3) < 1e-12 && fabs(c.weight[2] - 0.3) < 1e-12);
	assert_true(fabs(c.threshold[0] - 0.2) < 1e-12 && fabs(c.threshold[3] - 0.8) < 1e-12);
	assert_int_equal(c.min_cases, 5);

	char *err = NULL;
	assert_int_equal(hall_stars_conf_parse(" 1, 0 ,0", "0.1,0.2,0.3,0.4", 3, &c, &err), 0);
	assert_true(c.weight[0] == 1 && c.weight[1] == 0 && c.min_cases == 3);

	static const char *const bad_w[] = { "0.4,0.3", "0.4,0.3,0.3,0.1", "a,b,c", "0,0,0", ".4,0.3,0.3",
					     "0.4,,0.3", "-0.4,0.3,0.3", "0.4,0.3,0.3,", "1e-1,0.3,0.3", NULL };
	for (int i = 0; bad_w[i]; i++) {
		err = NULL;
		if (hall_stars_conf_parse(bad_w[i], NULL, 5, &c, &err) != -1)
			fail_msg("weights \"%s\" accepted", bad_w[i]);
		assert_non_null(strstr(err, "stars_weights"));
		free(err);
	}
	static const char *const bad_t[] = { "0.2,0.4,0.6", "0.2,0.2,0.6,0.8", "0,0.4,0.6,0.8", "0.2,0.4,0.6,1.0",
					     "0.8,0.6,0.4,0.2", "0.2;0.4;0.6;0.8", NULL };
	for (int i = 0; bad_t[i]; i++) {
		err = NULL;
		if (hall_stars_conf_parse(NULL, bad_t[i], 5, &c, &err) != -1)
			fail_msg("thresholds \"%s\" accepted", bad_t[i]);
		assert_non_null(strstr(err, "stars_thresholds"));
		free(err);
	}
}

/* ------------------------------------------------------------ computation */

static void test_compute(void **state)
{
	(void)state;
	struct hall_stars_conf c = defaults();
	double score;

	/* everything perfect: 5 stars, score 1 */
	assert_int_equal(stars_of(&c, 10, 10, 10, 10, 10, 10, &score), 5);
	assert_true(fabs(score - 1) < 1e-9);
	/* nothing good: 1 star */
	assert_int_equal(stars_of(&c, 10, 0, 10, 0, 10, 0, &score), 1);
	assert_true(fabs(score) < 1e-9);
	/* 0.4·0.5 + 0.3·0.8 + 0.3·0.6 = 0.62: 4 stars */
	assert_int_equal(stars_of(&c, 10, 5, 10, 8, 10, 6, &score), 4);
	assert_true(fabs(score - 0.62) < 1e-9);

	/* exactly on each threshold (all three inputs equal the threshold) */
	assert_int_equal(stars_of(&c, 10, 2, 10, 2, 10, 2, &score), 2);    /* 0.2 */
	assert_int_equal(stars_of(&c, 5, 2, 5, 2, 5, 2, &score), 3);       /* 0.4 */
	assert_int_equal(stars_of(&c, 5, 3, 5, 3, 5, 3, &score), 4);       /* 0.6 */
	assert_int_equal(stars_of(&c, 5, 4, 5, 4, 5, 4, &score), 5);       /* 0.8 */
	/* just below 0.8: 0.79 */
	assert_int_equal(stars_of(&c, 100, 79, 100, 79, 100, 79, &score), 4);
	assert_true(fabs(score - 0.79) < 1e-9);

	/* too few decided cases: 数据不足, whatever the score */
	assert_int_equal(stars_of(&c, 10, 10, 4, 4, 10, 10, &score), 0);
	assert_int_equal(stars_of(&c, 10, 10, 0, 0, 0, 0, NULL), 0);
	assert_int_equal(stars_of(&c, 10, 10, 5, 5, 0, 0, NULL), 5);
	/* no items: 数据不足 */
	assert_int_equal(stars_of(&c, 0, 0, 10, 10, 10, 10, NULL), 0);

	/* no ratings: satisfaction is left out, the others reweighted:
	 * (0.4·1 + 0.3·0.5) / 0.7 = 0.7857…: 4 stars (with satisfaction 0 it would be 0.55: 3) */
	struct hall_stars_in in = { 4, 4, 20, 10, 5, 0, 0 };
	struct hall_stars_out out;
	hall_stars_compute(&c, &in, &out);
	assert_int_equal(out.stars, 4);
	assert_true(fabs(out.score - 0.55 / 0.7) < 1e-6);
	assert_true(out.satisfaction < 0);
	assert_true(fabs(out.depth_mean - 5) < 1e-9);
	assert_true(fabs(out.on_time - 0.5) < 1e-9);

	/* configured: depth only, low thresholds */
	char *err = NULL;
	assert_int_equal(hall_stars_conf_parse("1,0,0", "0.1,0.2,0.3,0.4", 2, &c, &err), 0);
	assert_int_equal(stars_of(&c, 20, 7, 2, 0, 1, 0, &score), 4);      /* 0.35 */
	assert_int_equal(stars_of(&c, 20, 7, 1, 0, 1, 0, &score), 0);      /* 1 < min_cases 2 */
	assert_int_equal(stars_of(&c, 20, 1, 2, 2, 1, 1, &score), 1);      /* 0.05 */
}

/* ------------------------------------------------------------ in the store */

struct world {
	struct store *st;
	int64_t amr, mca, citizen, other, staff, admin, office;
};

static int64_t insert_id(struct store *st, const char *sql, const struct sval *v, int n)
{
	int64_t id = 0;
	assert_int_equal(store_query_int(st, sql, v, n, &id), STORE_OK);
	return id;
}

static const char SQL_DEPT[] = "INSERT INTO departments (code, name, level, created_at, updated_at) "
			       "VALUES ($1, $2, 'city', 0, 0) RETURNING id";
static const char SQL_USER[] = "INSERT INTO users (login, kind, name, password, phone, created_at, "
			       "updated_at) VALUES ($1, $2, $3, 'x', '13800138000', 0, 0) RETURNING id";
static const char SQL_ROLE[] = "INSERT INTO user_roles (user_id, dept_id, role, created_at) VALUES ($1, $2, $3, 0)";

static int64_t add_user(struct store *st, const char *login, const char *kind)
{
	struct sval v[] = { SVT(login), SVT(kind), SVT(login) };
	return insert_id(st, SQL_USER, v, 3);
}

static void add_role(struct store *st, int64_t user, int64_t dept, const char *role)
{
	struct sval v[] = { SVI(user), SVI(dept), SVT(role) };
	assert_int_equal(store_exec(st, SQL_ROLE, v, 3, NULL), STORE_OK);
}

static void add_item(struct world *w, const char *code, int64_t dept, int depth, const char *status)
{
	struct hall_item_in in = { code, "测试事项", dept, "行政许可", "person", 1, 1, depth, depth >= 5 ? 0 : 1,
				   "hall.simple", "", "", "", "", NULL, "", "", "", NULL, status };
	int64_t id;
	enum msg_id why;
	struct item_err e = { 0 };
	if (hall_item_store(w->st, 0, &in, NULL, &id, &why, &e) != 0)
		fail_msg("item %s: %s %s", code, e.field ? e.field : "", e.reason);
}

static struct world make_world(void)
{
	struct world w;
	w.st = test_store_open();
	assert_int_equal(store_migrate(w.st), 0);
	if (procdef_get("hall.rectify") == NULL) {
		char *err = NULL;
		if (procdef_load_all(embed_processes, &err) != 0)
			fail_msg("procdef_load_all: %s", err ? err : "?");
	}
	assert_int_equal(store_begin(w.st), STORE_OK);
	struct sval a[] = { SVT("amr"), SVT("市场监督管理局") }, b[] = { SVT("mca"), SVT("民政局") };
	w.amr = insert_id(w.st, SQL_DEPT, a, 2);
	w.mca = insert_id(w.st, SQL_DEPT, b, 2);
	w.citizen = add_user(w.st, "chen", "citizen");
	w.other = add_user(w.st, "wu", "citizen");
	w.staff = add_user(w.st, "zhang", "staff");
	w.admin = add_user(w.st, "li", "staff");
	w.office = add_user(w.st, "admin", "staff");
	add_role(w.st, w.staff, w.amr, "staff");
	add_role(w.st, w.admin, w.amr, "dept_admin");
	add_role(w.st, w.office, w.amr, "platform_admin");
	/* 市场监督管理局: depths 5 and 3 (share 0.5, mean 4); 民政局: 2, and a draft at 5 that does not count */
	add_item(&w, "amr-a", w.amr, 5, "published");
	add_item(&w, "amr-b", w.amr, 3, "published");
	add_item(&w, "mca-a", w.mca, 2, "published");
	add_item(&w, "mca-b", w.mca, 5, "draft");
	assert_int_equal(store_commit(w.st), STORE_OK);
	return w;
}

/* A hall.simple case of the citizen, decided (approve) when decide; its id. */
static int64_t simple_case(struct world *w, int64_t dept, const char *item, int decide)
{
	struct case_new n = { "hall.simple", dept, w->citizen, "测试办件", item, 1, 1, NULL, "8000", NULL };
	struct case_actor app = { w->citizen, "chen", PD_ROLE_APPLICANT }, staff = { w->staff, "zhang", PD_ROLE_STAFF };
	int64_t id;
	char tracking[CASE_TRACKING_LEN + 1];
	assert_int_equal(store_begin(w->st), STORE_OK);
	assert_int_equal(case_create(w->st, &n, &app, &id, tracking), CASE_OK);
	if (decide) {
		json_t *f = json_pack("{s:s}", "opinion", "准予");
		assert_int_equal(case_act(w->st, id, 1, "approve", &staff, f, NULL), CASE_OK);
		json_decref(f);
	}
	assert_int_equal(store_commit(w->st), STORE_OK);
	return id;
}

static enum hall_rate_rc rate(struct world *w, int64_t user, int64_t case_id, int score, const char *comment,
			      int64_t *rectify)
{
	struct hall_rater who = { user, "someone", NULL };
	int64_t rating, rid = 0;
	assert_int_equal(store_begin(w->st), STORE_OK);
	enum hall_rate_rc rc = hall_rate_case(w->st, &who, case_id, score, comment, &rating, &rid);
	if (rc == HALL_RATE_OK)
		assert_int_equal(store_commit(w->st), STORE_OK);
	else
		store_rollback(w->st);
	if (rectify)
		*rectify = rid;
	return rc;
}

static json_t *entry(json_t *ranking, int64_t dept)
{
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(ranking, "departments"), i, e)
		if (json_integer_value(json_object_get(json_object_get(e, "dept"), "id")) == dept)
			return e;
	fail_msg("department %lld not in the ranking", (long long)dept);
	return NULL;
}

static double num(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	if (!json_is_number(v))
		fail_msg("%s is not a number", k);
	return json_number_value(v);
}

static int64_t count_of(struct store *st, const char *sql, int64_t arg)
{
	int64_t n = -1;
	struct sval p[] = { SVI(arg) };
	assert_int_equal(store_query_int(st, sql, p, 1, &n), STORE_OK);
	return n;
}

static void act(struct world *w, int64_t id, const char *action, unsigned roles, int64_t user, const char *field,
		enum case_rc want)
{
	int64_t version = count_of(w->st, "SELECT version FROM cases WHERE id = $1", id);
	struct case_actor a = { user, "x", roles };
	json_t *f = json_pack("{s:s}", field, "说明");
	assert_int_equal(store_begin(w->st), STORE_OK);
	assert_int_equal(case_act(w->st, id, version, action, &a, f, NULL), want);
	json_decref(f);
	if (want == CASE_OK)
		assert_int_equal(store_commit(w->st), STORE_OK);
	else
		store_rollback(w->st);
}

static void test_store_ratings_and_ranking(void **state)
{
	(void)state;
	struct world w = make_world();
	struct hall_stars_conf c = defaults();

	int64_t dec[6];
	for (int i = 0; i < 6; i++)
		dec[i] = simple_case(&w, w.amr, "amr-a", 1);
	/* one of them was late: 3 working days used of the promised 1 */
	struct sval late[] = { SVI(dec[5]) };
	assert_int_equal(store_exec(w.st, "UPDATE cases SET used_days = 3 WHERE id = $1", late, 1, NULL), STORE_OK);
	int64_t open = simple_case(&w, w.amr, "amr-a", 0);
	int64_t mca1 = simple_case(&w, w.mca, "mca-a", 1);
	simple_case(&w, w.mca, "mca-a", 1);

	/* the rules */
	assert_int_equal(rate(&w, w.citizen, open, 5, "", NULL), HALL_RATE_NOT_DECIDED);
	assert_int_equal(rate(&w, w.other, dec[0], 5, "", NULL), HALL_RATE_NOT_APPLICANT);
	assert_int_equal(rate(&w, w.citizen, 999999, 5, "", NULL), HALL_RATE_NOT_FOUND);
	assert_int_equal(rate(&w, w.citizen, dec[0], 0, "", NULL), HALL_RATE_BAD_SCORE);
	assert_int_equal(rate(&w, w.citizen, dec[0], 6, "", NULL), HALL_RATE_BAD_SCORE);
	assert_int_equal(rate(&w, w.citizen, dec[0], 2, "", NULL), HALL_RATE_NO_COMMENT);
	assert_int_equal(rate(&w, w.citizen, dec[0], 5, "", NULL), HALL_RATE_OK);
	assert_int_equal(rate(&w, w.citizen, dec[0], 4, "", NULL), HALL_RATE_ALREADY);
	assert_int_equal(rate(&w, w.citizen, dec[1], 4, NULL, NULL), HALL_RATE_OK);
	int64_t rid = 0;
	assert_int_equal(rate(&w, w.citizen, dec[2], 1, "态度差", &rid), HALL_RATE_OK);
	assert_true(rid > 0);
	assert_int_equal(rate(&w, w.citizen, rid, 5, "", NULL), HALL_RATE_NOT_DECIDED);   /* a rectification */
	assert_int_equal(count_of(w.st, "SELECT COUNT(*) FROM hall_ratings WHERE user_id = $1", w.citizen), 3);
	assert_int_equal(count_of(w.st, "SELECT COUNT(*) FROM audit_log WHERE action = 'hall.rate' AND actor_id = $1",
				  w.citizen), 3);

	/* the rectification: its department, its applicant, 15 working days on both clocks */
	json_t *rc = case_json(w.st, rid, PD_ROLE_STAFF, 0);
	assert_non_null(rc);
	assert_string_equal(json_string_value(json_object_get(rc, "process")), "hall.rectify");
	assert_string_equal(json_string_value(json_object_get(rc, "state")), "open");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(rc, "dept"), "id")), w.amr);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(rc, "applicant"), "id")), w.citizen);
	assert_non_null(strstr(json_string_value(json_object_get(rc, "subject")), "差评整改：测试办件"));
	json_t *clocks = json_object_get(rc, "clocks");
	assert_string_equal(json_string_value(json_object_get(clocks, "state")), "run");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(clocks, "promised"), "limit")), 15);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(clocks, "statutory"), "limit")), 15);
	json_decref(rc);
	/* in the department's inbox; the department's admin was told */
	json_t *inbox = NULL;
	assert_int_equal(case_inbox(w.st, w.amr, "open", NULL, 50, &inbox), CASE_OK);
	assert_int_equal(json_array_size(json_object_get(inbox, "items")), 1);
	json_decref(inbox);
	assert_int_equal(count_of(w.st, "SELECT COUNT(*) FROM messages WHERE user_id = $1 AND kind = 'hall.rectify'",
				  w.admin), 1);

	/* the ranking: amr depth 1/2, on time 5/6, satisfied 2/3 */
	json_t *rk = hall_stars_ranking(w.st, &c);
	assert_non_null(rk);
	json_t *a = entry(rk, w.amr), *m = entry(rk, w.mca);
	assert_int_equal(json_integer_value(json_object_get(a, "items")), 2);
	assert_int_equal(json_integer_value(json_object_get(a, "items_deep")), 1);
	assert_true(fabs(num(a, "depth_mean") - 4) < 1e-9);
	assert_int_equal(json_integer_value(json_object_get(a, "decided")), 6);
	assert_int_equal(json_integer_value(json_object_get(a, "on_time")), 5);
	assert_int_equal(json_integer_value(json_object_get(a, "ratings")), 3);
	assert_int_equal(json_integer_value(json_object_get(a, "satisfied")), 2);
	/* 0.4·0.5 + 0.3·5/6 + 0.3·2/3 = 0.65: 4 stars */
	assert_true(fabs(num(a, "score") - 0.65) < 1e-4);
	assert_int_equal(json_integer_value(json_object_get(a, "stars")), 4);
	/* mca: one published item (the draft does not count), 2 decided cases: 数据不足 */
	assert_int_equal(json_integer_value(json_object_get(m, "items")), 1);
	assert_int_equal(json_integer_value(json_object_get(m, "decided")), 2);
	assert_int_equal(json_integer_value(json_object_get(m, "stars")), 0);
	assert_true(json_is_true(json_object_get(m, "no_data")));
	assert_string_equal(json_string_value(json_object_get(m, "stars_text")), "数据不足");
	assert_true(json_is_null(json_object_get(m, "satisfaction")));
	/* best first: amr ranks above the department without stars */
	json_t *first = json_array_get(json_object_get(rk, "departments"), 0);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(first, "dept"), "id")), w.amr);
	json_decref(rk);

	/* the department appeals; the office rejects (back to open), the department appeals again, upheld */
	act(&w, rid, "rectify", PD_ROLE_STAFF, w.staff, "measures", CASE_BAD_STATE);   /* call back first */
	act(&w, rid, "appeal", PD_ROLE_STAFF, w.staff, "callback_record", CASE_MISSING_FIELD);
	act(&w, rid, "appeal", PD_ROLE_STAFF, w.staff, "reason", CASE_OK);
	act(&w, rid, "uphold", PD_ROLE_STAFF, w.staff, "opinion", CASE_FORBIDDEN);
	act(&w, rid, "reject_appeal", PD_ROLE_SUPERVISOR, w.office, "opinion", CASE_OK);
	act(&w, rid, "appeal", PD_ROLE_DEPT_ADMIN, w.admin, "reason", CASE_OK);
	act(&w, rid, "uphold", PD_ROLE_SUPERVISOR, w.office, "opinion", CASE_OK);

	json_t *s = hall_dept_stats(w.st, w.amr, &c);
	assert_non_null(s);
	json_t *ratings = json_object_get(s, "ratings"), *rect = json_object_get(s, "rectification");
	assert_int_equal(json_integer_value(json_object_get(ratings, "total")), 2);
	assert_int_equal(json_integer_value(json_object_get(ratings, "withdrawn")), 1);
	assert_true(fabs(num(ratings, "satisfaction") - 1) < 1e-9);
	assert_int_equal(json_integer_value(json_object_get(rect, "appeals_upheld")), 1);
	assert_int_equal(json_integer_value(json_object_get(rect, "open")), 0);
	assert_true(json_is_null(json_object_get(rect, "on_time_rate")));
	/* by score: 5 → 1, 4 → 1, 1 → 0 (withdrawn) */
	json_t *by = json_object_get(ratings, "by_score");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(by, 0), "count")), 1);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(by, 1), "count")), 1);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(by, 4), "count")), 0);
	/* 0.4·0.5 + 0.3·5/6 + 0.3·1 = 0.75 */
	assert_true(fabs(num(json_object_get(s, "stars"), "score") - 0.75) < 1e-4);
	json_decref(s);

	/* a rectification done on time counts in the on-time rate */
	int64_t rid2 = 0;
	assert_int_equal(rate(&w, w.citizen, dec[3], 2, "等太久", &rid2), HALL_RATE_OK);
	act(&w, rid2, "callback", PD_ROLE_STAFF, w.staff, "callback_record", CASE_OK);
	act(&w, rid2, "rectify", PD_ROLE_STAFF, w.staff, "measures", CASE_OK);
	s = hall_dept_stats(w.st, w.amr, &c);
	rect = json_object_get(s, "rectification");
	assert_int_equal(json_integer_value(json_object_get(rect, "rectified")), 1);
	assert_int_equal(json_integer_value(json_object_get(rect, "on_time")), 1);
	assert_true(fabs(num(rect, "on_time_rate") - 1) < 1e-9);
	json_decref(s);

	/* an unknown department: JSON null; the 民政局 has no ratings */
	s = hall_dept_stats(w.st, 999999, &c);
	assert_true(json_is_null(s));
	json_decref(s);
	(void)mca1;
	store_close(w.st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conf_parse),
		cmocka_unit_test(test_compute),
		cmocka_unit_test(test_store_ratings_and_ranking),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
