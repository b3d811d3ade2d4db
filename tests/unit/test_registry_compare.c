/*
 * Unit tests of cross-registry comparison (engines/registry/compare.c) on
 * the store under test (SQLite, or PostgreSQL with YIZHAN_TEST_STORE):
 * resolving specifications, routing (一数一源), and the join itself on
 * hand-made registries — only in A, only in B, mismatches with NULLs,
 * duplicate keys in A and in B, decimals of different scales, empty
 * registries — and on a generated pair checked against a brute-force
 * reference with pages smaller than the data and with B forced out of
 * memory into partition files.
 */
#include "testutil.h"

#include "core/validate.h"
#include "engines/registry/compare.h"
#include "engines/registry/registry.h"

static const char POP[] =
	"registry cpop\n"
	"name 人口库\n"
	"owner psb\n"
	"key id_no\n"
	"share conditional \"经授权后使用\"\n"
	"field id_no 公民身份号码 idcard required source=psb\n"
	"field name 姓名 text(20) personal source=psb\n"
	"field income 年收入 decimal(2) source=psb\n"
	"field born 出生日期 date source=psb\n"
	"field hh 户号 text(20) index source=psb\n";

static const char ENT[] =
	"registry cent\n"
	"name 法人库\n"
	"owner amr\n"
	"key uscc\n"
	"share conditional \"经授权后使用\"\n"
	"field uscc 统一社会信用代码 text(20) required source=amr\n"
	"field legal_rep_id 法定代表人身份证号 idcard personal derived=cpop.id_no\n"
	"field legal_rep_name 法定代表人姓名 text(20) personal derived=cpop.name\n"
	"field capital 注册资本 decimal(3) source=amr\n"
	"field ok 有效 boolean source=amr\n";

static const char EMPTY_A[] =
	"registry cea\nname 空库甲\nowner amr\nkey k\nshare unconditional\n"
	"field k 编码 text(20) required source=amr\nfield v 值 text(20) source=amr\n";
static const char EMPTY_B[] =
	"registry ceb\nname 空库乙\nowner psb\nkey k\nshare unconditional\n"
	"field k 编码 text(20) required source=psb\nfield v 值 text(20) source=psb\n";

/* Generated pair: B keyed on k (unique); A pointing at it through ref (not unique). */
static const char GEN_B[] =
	"registry cgb\nname 生成乙\nowner psb\nkey k\nshare unconditional\n"
	"field k 编码 text(20) required source=psb\n"
	"field name 名称 text(20) source=psb\n"
	"field n 数量 integer source=psb\n"
	"field dup 副本 text(20) index source=psb\n";
static const char GEN_A[] =
	"registry cga\nname 生成甲\nowner amr\nkey id\nshare unconditional\n"
	"field id 编号 text(20) required source=amr\n"
	"field ref 引用 text(20) index derived=cgb.k\n"
	"field name 名称 text(20) derived=cgb.name\n"
	"field n 数量 integer source=amr\n";

struct world {
	struct store *st;
	int64_t psb, amr;
	const struct registry *pop, *ent, *ea, *eb, *ga, *gb;
	char id[8][19];
};
static struct world W;

static const struct reg_actor SYSTEM = { 0, "system", "test:compare" };

static void make_id(char out[19], int serial)
{
	snprintf(out, 19, "44010619900517%03d", serial % 1000);
	out[17] = idcard_check_char(out);
	out[18] = '\0';
}

static const struct registry *apply(const char *text, const char *code)
{
	struct reg_error e = { 0 };
	assert_int_equal(store_begin(W.st), STORE_OK);
	if (registry_apply(W.st, text, strlen(text), &SYSTEM, &e) != 0)
		fail_msg("registry_apply %s: %s %s %s", code, msg_name(e.why), e.field, e.detail);
	assert_int_equal(store_commit(W.st), STORE_OK);
	const struct registry *reg = registry_get(W.st, code);
	assert_non_null(reg);
	return reg;
}

static void put(const struct registry *reg, const char *const *values)
{
	struct reg_error e = { 0 };
	int outcome = -1;
	if (registry_put(W.st, reg, values, &SYSTEM, &outcome, &e) != 0)
		fail_msg("put %s: %s %s %s", reg->def.code, msg_name(e.why), e.field, e.detail);
}

static const char SQL_DEPT[] = "INSERT INTO departments (code, name, level, created_at, updated_at) "
			       "VALUES ($1, $2, 'city', 0, 0) RETURNING id";

static int setup(void **state)
{
	(void)state;
	memset(&W, 0, sizeof W);
	W.st = test_store_open();
	assert_int_equal(store_migrate(W.st), 0);
	assert_int_equal(store_begin(W.st), STORE_OK);
	struct sval d1[] = { SVT("psb"), SVT("公安局") };
	struct sval d2[] = { SVT("amr"), SVT("市场监督管理局") };
	assert_int_equal(store_query_int(W.st, SQL_DEPT, d1, 2, &W.psb), STORE_OK);
	assert_int_equal(store_query_int(W.st, SQL_DEPT, d2, 2, &W.amr), STORE_OK);
	assert_int_equal(store_commit(W.st), STORE_OK);
	W.pop = apply(POP, "cpop");
	W.ent = apply(ENT, "cent");
	W.ea = apply(EMPTY_A, "cea");
	W.eb = apply(EMPTY_B, "ceb");
	W.gb = apply(GEN_B, "cgb");
	W.ga = apply(GEN_A, "cga");
	for (int i = 0; i < 8; i++)
		make_id(W.id[i], 100 + i);
	/* population: P0 张三 100.00, P1 李四 (no income), P2 王五, P3 赵六 (nobody's legal rep) */
	assert_int_equal(store_begin(W.st), STORE_OK);
	const char *p0[] = { W.id[0], "张三", "100.00", "1990-05-17", "H1" };
	const char *p1[] = { W.id[1], "李四", NULL, "1990-05-17", "H1" };
	const char *p2[] = { W.id[2], "王五", "7.50", NULL, "H2" };
	const char *p3[] = { W.id[3], "赵六", "1.00", NULL, "H3" };
	put(W.pop, p0);
	put(W.pop, p1);
	put(W.pop, p2);
	put(W.pop, p3);
	/* enterprises: E1 = P0 exactly (100.000 = 100.00); E2 = P0 with another name (P0 twice: a
	 * non-unique key); E3 = P1 with a capital where P1 has no income; E4 names nobody; E5 has
	 * no legal rep; E6 = P2 without a name; E7 = P2, 7.500 = 7.50 */
	const char *e1[] = { "E1", W.id[0], "张三", "100.000", "true" };
	const char *e2[] = { "E2", W.id[0], "张三丰", "100", "true" };
	const char *e3[] = { "E3", W.id[1], "李四", "5", "false" };
	const char *e4[] = { "E4", W.id[7], "钱七", NULL, NULL };
	const char *e5[] = { "E5", NULL, "孙八", NULL, NULL };
	const char *e6[] = { "E6", W.id[2], NULL, "7.5", NULL };
	const char *e7[] = { "E7", W.id[2], "王五", "7.500", NULL };
	put(W.ent, e1);
	put(W.ent, e2);
	put(W.ent, e3);
	put(W.ent, e4);
	put(W.ent, e5);
	put(W.ent, e6);
	put(W.ent, e7);
	assert_int_equal(store_commit(W.st), STORE_OK);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	store_close(W.st);
	return 0;
}

/* ------------------------------------------------------------ collecting */

#define MAX_DIFFS 20000

struct got {
	char *line[MAX_DIFFS];
	int n;
	int stop_after;      /* > 0: the callback stops after this many */
	int64_t last_done, last_total, calls;
};

static int on_diff(void *arg, const struct reg_cmp_diff *d)
{
	struct got *g = arg;
	assert_true(g->n < MAX_DIFFS);
	char *s = NULL;
	if (asprintf(&s, "%s|%s|%d|%s|%s|%s|%s", reg_cmp_kind_name(d->kind), d->key, d->pair,
		     d->value_a ? d->value_a : "NULL", d->value_b ? d->value_b : "NULL", d->id_a ? "a" : "-",
		     d->id_b ? "b" : "-") < 0)
		abort();
	g->line[g->n++] = s;
	return g->stop_after > 0 && g->n >= g->stop_after ? 7 : 0;
}

static void on_progress(void *arg, int64_t done, int64_t total)
{
	struct got *g = arg;
	assert_true(done >= g->last_done);
	g->last_done = done;
	g->last_total = total;
	g->calls++;
}

static int cmp_str(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

static void got_sort(struct got *g)
{
	qsort(g->line, (size_t)g->n, sizeof g->line[0], cmp_str);
}

static void got_free(struct got *g)
{
	for (int i = 0; i < g->n; i++)
		free(g->line[i]);
	g->n = 0;
	g->last_done = g->last_total = g->calls = 0;
}

static int has(const struct got *g, const char *line)
{
	for (int i = 0; i < g->n; i++)
		if (strcmp(g->line[i], line) == 0)
			return 1;
	return 0;
}

static void resolve_ok(const char *ra, const char *ka, const char *rb, const char *kb, const char *map, int oa,
		       int ob, struct reg_cmp *c)
{
	struct reg_error e;
	if (reg_cmp_resolve(W.st, ra, ka, rb, kb, map, oa, ob, c, &e) != 0)
		fail_msg("resolve: %s %s %s", msg_name(e.why), e.field, e.detail);
}

static void resolve_bad(const char *ra, const char *ka, const char *rb, const char *kb, const char *map, int oa,
			int ob, enum msg_id why, const char *field)
{
	struct reg_cmp c;
	struct reg_error e;
	assert_int_equal(reg_cmp_resolve(W.st, ra, ka, rb, kb, map, oa, ob, &c, &e), -1);
	if (e.why != why || strcmp(e.field, field) != 0)
		fail_msg("want %s on %s, got %s on %s (%s)", msg_name(why), field, msg_name(e.why), e.field, e.detail);
}

/* ------------------------------------------------------------ tests */

static void test_resolve(void **state)
{
	(void)state;
	struct reg_cmp c;
	resolve_ok("cent", "legal_rep_id", "cpop", "id_no", "legal_rep_name=name, capital = income", 1, 0, &c);
	assert_int_equal(c.npairs, 2);
	assert_string_equal(c.a->def.fields[c.fa[1]].name, "capital");
	assert_string_equal(c.b->def.fields[c.fb[1]].name, "income");
	/* kb defaults to B's key; full-width separators and line ends */
	resolve_ok("cent", "legal_rep_id", "cpop", NULL, "legal_rep_name=name\ncapital=income", 1, 0, &c);
	assert_string_equal(c.b->def.fields[c.key_b].name, "id_no");
	assert_int_equal(c.npairs, 2);
	resolve_ok("cent", "legal_rep_id", "cpop", "", "legal_rep_name=name，capital=income；", 0, 0, &c);
	assert_int_equal(c.npairs, 2);
	resolve_ok("cent", "legal_rep_id", "cpop", "id_no", "", 1, 0, &c);
	assert_int_equal(c.npairs, 0);

	resolve_bad("nosuch", "legal_rep_id", "cpop", "id_no", "", 1, 0, MSG_CMP_NO_REGISTRY, "registry_a");
	resolve_bad("cent", "legal_rep_id", "nosuch", "id_no", "", 1, 0, MSG_CMP_NO_REGISTRY, "registry_b");
	resolve_bad("cent", "legal_rep", "cpop", "id_no", "", 1, 0, MSG_CMP_NO_FIELD, "key_a");
	resolve_bad("cent", "legal_rep_id", "cpop", "idno", "", 1, 0, MSG_CMP_NO_FIELD, "key_b");
	resolve_bad("cent", "legal_rep_id", "cpop", "born", "", 1, 0, MSG_CMP_INCOMPATIBLE, "key_b");
	resolve_bad("cent", "capital", "cpop", "income", "", 1, 0, MSG_CMP_BAD_KEY_TYPE, "key_a");
	resolve_bad("cent", "legal_rep_id", "cpop", "id_no", "legal_rep_name=nom", 1, 0, MSG_CMP_NO_FIELD, "map");
	resolve_bad("cent", "legal_rep_id", "cpop", "id_no", "legal_rep_nam=name", 1, 0, MSG_CMP_NO_FIELD, "map");
	resolve_bad("cent", "legal_rep_id", "cpop", "id_no", "legal_rep_name=income", 1, 0, MSG_CMP_INCOMPATIBLE,
		    "map");
	resolve_bad("cent", "legal_rep_id", "cpop", "id_no", "ok=born", 1, 0, MSG_CMP_INCOMPATIBLE, "map");
	resolve_bad("cent", "legal_rep_id", "cpop", "id_no", "legal_rep_name", 1, 0, MSG_CMP_MAP_SYNTAX, "map");
	resolve_bad("cent", "legal_rep_id", "cpop", "id_no", "=name", 1, 0, MSG_CMP_MAP_SYNTAX, "map");
	resolve_bad("cent", "legal_rep_id", "cpop", "id_no", "legal_rep_name=name,legal_rep_name=name", 1, 0,
		    MSG_CMP_MAP_TWICE, "map");
	resolve_bad("cent", "legal_rep_id", "cpop", "id_no", " ,\n", 0, 0, MSG_CMP_NOTHING, "map");
}

static void test_route(void **state)
{
	(void)state;
	struct reg_cmp c;
	char side = 'x';
	resolve_ok("cent", "legal_rep_id", "cpop", "id_no", "legal_rep_name=name,capital=income", 1, 0, &c);
	/* the key pair: legal_rep_id is derived, id_no authoritative (psb) */
	assert_int_equal(reg_cmp_route(&c, -1, &side), W.psb);
	assert_int_equal(side, 'b');
	assert_int_equal(reg_cmp_route(&c, 0, &side), W.psb);
	assert_int_equal(side, 'b');
	/* both authoritative (amr's capital, psb's income): A's owner */
	assert_int_equal(reg_cmp_route(&c, 1, &side), W.amr);
	assert_int_equal(side, 0);
	/* reversed: population as A, enterprise as B: still psb for the names */
	resolve_ok("cpop", "id_no", "cent", "legal_rep_id", "name=legal_rep_name", 1, 0, &c);
	assert_int_equal(reg_cmp_route(&c, 0, &side), W.psb);
	assert_int_equal(side, 'a');
}

static void test_hand_made(void **state)
{
	(void)state;
	struct reg_cmp c;
	struct reg_cmp_stats s;
	struct got g;
	memset(&g, 0, sizeof g);
	resolve_ok("cent", "legal_rep_id", "cpop", "id_no", "legal_rep_name=name,capital=income", 1, 1, &c);
	struct reg_cmp_cb cb = { on_diff, on_progress, &g };
	assert_int_equal(reg_cmp_run(W.st, &c, &cb, &s), 0);
	assert_int_equal(s.rows_a, 7);
	assert_int_equal(s.rows_b, 4);
	assert_int_equal(s.null_key_a, 1);
	assert_int_equal(s.matched, 5);          /* E1 E2 E3 E6 E7 */
	assert_int_equal(s.only_a, 1);           /* E4 */
	assert_int_equal(s.only_b, 1);           /* P3 */
	assert_int_equal(s.mismatch, 3);         /* E2 name, E3 capital, E6 name */
	assert_int_equal(s.mismatch_records, 3);
	assert_int_equal(s.dup_b, 0);
	assert_int_equal(s.partitions, 1);
	assert_int_equal(s.read_ahead, 1);      /* A read on a second connection while B was */
	assert_int_equal(g.n, 5);
	char line[200];
	snprintf(line, sizeof line, "only_a|%s|-1|NULL|NULL|a|-", W.id[7]);
	assert_true(has(&g, line));
	snprintf(line, sizeof line, "only_b|%s|-1|NULL|NULL|-|b", W.id[3]);
	assert_true(has(&g, line));
	snprintf(line, sizeof line, "mismatch|%s|0|张三丰|张三|a|b", W.id[0]);
	assert_true(has(&g, line));
	snprintf(line, sizeof line, "mismatch|%s|1|5.000|NULL|a|b", W.id[1]);
	assert_true(has(&g, line));
	snprintf(line, sizeof line, "mismatch|%s|0|NULL|王五|a|b", W.id[2]);
	assert_true(has(&g, line));
	/* progress: total = 7 + 4 by COUNT, reached at the end */
	assert_int_equal(g.last_total, 11);
	assert_int_equal(g.last_done, 11);
	got_free(&g);

	/* only_a and only_b off: counted, not reported */
	resolve_ok("cent", "legal_rep_id", "cpop", "id_no", "legal_rep_name=name", 0, 0, &c);
	assert_int_equal(reg_cmp_run(W.st, &c, &cb, &s), 0);
	assert_int_equal(s.only_a, 1);
	assert_int_equal(s.only_b, 1);
	assert_int_equal(s.mismatch, 2);
	assert_int_equal(g.n, 2);
	got_free(&g);

	/* the callback stops the run with its value */
	g.stop_after = 1;
	resolve_ok("cent", "legal_rep_id", "cpop", "id_no", "legal_rep_name=name", 1, 1, &c);
	assert_int_equal(reg_cmp_run(W.st, &c, &cb, &s), 7);
	assert_int_equal(g.n, 1);
	got_free(&g);
	g.stop_after = 0;

	/* duplicates in B's key field: population by household number against itself */
	resolve_ok("cpop", "hh", "cpop", "hh", "", 1, 1, &c);
	assert_int_equal(reg_cmp_run(W.st, &c, &cb, &s), 0);
	assert_int_equal(s.dup_b, 1);            /* P1 repeats H1 */
	assert_int_equal(s.matched, 4);
	assert_int_equal(s.only_a + s.only_b, 0);
	got_free(&g);

	/* the same with the budget forcing partitions and one-row pages */
	c.mem_budget = 1;
	c.page = 1;
	assert_int_equal(reg_cmp_run(W.st, &c, &cb, &s), 0);
	assert_true(s.partitions > 1);
	assert_int_equal(s.dup_b, 1);
	assert_int_equal(s.matched, 4);
	got_free(&g);
}

static void test_empty(void **state)
{
	(void)state;
	struct reg_cmp c;
	struct reg_cmp_stats s;
	struct got g;
	memset(&g, 0, sizeof g);
	struct reg_cmp_cb cb = { on_diff, on_progress, &g };
	resolve_ok("cea", "k", "ceb", "k", "v=v", 1, 1, &c);
	assert_int_equal(reg_cmp_run(W.st, &c, &cb, &s), 0);
	assert_int_equal(s.rows_a + s.rows_b + s.only_a + s.only_b + s.mismatch, 0);
	assert_int_equal(g.n, 0);
	/* an empty A against a full B: every B record only in B */
	resolve_ok("cea", "k", "cpop", "hh", "", 1, 1, &c);
	assert_int_equal(reg_cmp_run(W.st, &c, &cb, &s), 0);
	assert_int_equal(s.only_b, 3);          /* H1 H2 H3; P1's H1 is a duplicate */
	assert_int_equal(g.n, 3);
	got_free(&g);
	/* a full A against an empty B */
	resolve_ok("cpop", "hh", "ceb", "k", "", 1, 1, &c);
	assert_int_equal(reg_cmp_run(W.st, &c, &cb, &s), 0);
	assert_int_equal(s.only_a, 4);
	assert_int_equal(g.n, 4);
	got_free(&g);
}

/* ------------------------------------------------------------ generated, against a reference */

#define NB 1500
#define NA 2500

struct brec {
	char k[16], name[16];
	int has_name, n, has_n;
};
struct arec {
	char ref[16], name[16];
	int has_ref, has_name, n, has_n;
};
static struct brec B[NB];
static struct arec A[NA];

static uint32_t rnd_state = 12345;
static uint32_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 17;
	rnd_state ^= rnd_state << 5;
	return rnd_state;
}

static void fill_generated(void)
{
	char nb[16], na[16], ka[16], kr[16], num[16];
	assert_int_equal(store_begin(W.st), STORE_OK);
	for (int i = 0; i < NB; i++) {
		snprintf(B[i].k, sizeof B[i].k, "K%05u", rnd() % 4000);
		for (int j = 0; j < i; j++)
			if (strcmp(B[j].k, B[i].k) == 0) {
				snprintf(B[i].k, sizeof B[i].k, "Z%05d", i);
				break;
			}
		B[i].has_name = rnd() % 10 != 0;
		snprintf(B[i].name, sizeof B[i].name, "N%u", rnd() % 50);
		B[i].has_n = rnd() % 8 != 0;
		B[i].n = (int)(rnd() % 20) - 10;
		snprintf(num, sizeof num, "%d", B[i].n);
		snprintf(nb, sizeof nb, "%s", B[i].name);
		snprintf(kr, sizeof kr, "D%u", rnd() % 300);
		const char *v[] = { B[i].k, B[i].has_name ? nb : NULL, B[i].has_n ? num : NULL, kr };
		put(W.gb, v);
	}
	for (int i = 0; i < NA; i++) {
		A[i].has_ref = rnd() % 20 != 0;
		if (rnd() % 3 == 0)
			snprintf(A[i].ref, sizeof A[i].ref, "K%05u", rnd() % 4000);   /* often nobody */
		else
			snprintf(A[i].ref, sizeof A[i].ref, "%s", B[rnd() % NB].k);
		int copy = rnd() % 4 != 0;
		int bi = -1;
		for (int j = 0; j < NB; j++)
			if (strcmp(B[j].k, A[i].ref) == 0)
				bi = j;
		if (copy && bi >= 0) {
			A[i].has_name = B[bi].has_name;
			snprintf(A[i].name, sizeof A[i].name, "%s", B[bi].name);
			A[i].has_n = B[bi].has_n;
			A[i].n = B[bi].n;
		} else {
			A[i].has_name = rnd() % 10 != 0;
			snprintf(A[i].name, sizeof A[i].name, "N%u", rnd() % 50);
			A[i].has_n = rnd() % 8 != 0;
			A[i].n = (int)(rnd() % 20) - 10;
		}
		snprintf(ka, sizeof ka, "A%05d", i);
		snprintf(na, sizeof na, "%s", A[i].name);
		snprintf(num, sizeof num, "%d", A[i].n);
		const char *v[] = { ka, A[i].has_ref ? A[i].ref : NULL, A[i].has_name ? na : NULL, A[i].has_n ? num : NULL };
		put(W.ga, v);
	}
	assert_int_equal(store_commit(W.st), STORE_OK);
}

/* The expected discrepancies, by brute force. */
static void reference(struct got *g, struct reg_cmp_stats *s)
{
	static int used[NB];
	memset(used, 0, sizeof used);
	memset(s, 0, sizeof *s);
	for (int i = 0; i < NA; i++) {
		if (!A[i].has_ref) {
			s->null_key_a++;
			continue;
		}
		int bi = -1;
		for (int j = 0; j < NB && bi < 0; j++)
			if (strcmp(B[j].k, A[i].ref) == 0)
				bi = j;
		char *line = NULL;
		if (bi < 0) {
			s->only_a++;
			if (asprintf(&line, "only_a|%s|-1|NULL|NULL|a|-", A[i].ref) < 0)
				abort();
			g->line[g->n++] = line;
			continue;
		}
		used[bi] = 1;
		s->matched++;
		int any = 0;
		if (A[i].has_name != B[bi].has_name || (A[i].has_name && strcmp(A[i].name, B[bi].name) != 0)) {
			any = 1;
			if (asprintf(&line, "mismatch|%s|0|%s|%s|a|b", A[i].ref, A[i].has_name ? A[i].name : "NULL",
				     B[bi].has_name ? B[bi].name : "NULL") < 0)
				abort();
			g->line[g->n++] = line;
		}
		if (A[i].has_n != B[bi].has_n || (A[i].has_n && A[i].n != B[bi].n)) {
			any = 1;
			char x[16] = "NULL", y[16] = "NULL";
			if (A[i].has_n)
				snprintf(x, sizeof x, "%d", A[i].n);
			if (B[bi].has_n)
				snprintf(y, sizeof y, "%d", B[bi].n);
			if (asprintf(&line, "mismatch|%s|1|%s|%s|a|b", A[i].ref, x, y) < 0)
				abort();
			g->line[g->n++] = line;
		}
		s->mismatch_records += any;
	}
	for (int j = 0; j < NB; j++)
		if (!used[j]) {
			char *line = NULL;
			s->only_b++;
			if (asprintf(&line, "only_b|%s|-1|NULL|NULL|-|b", B[j].k) < 0)
				abort();
			g->line[g->n++] = line;
		}
	s->mismatch = 0;
	for (int i = 0; i < g->n; i++)
		s->mismatch += strncmp(g->line[i], "mismatch", 8) == 0;
}

static void test_generated(void **state)
{
	(void)state;
	static struct got want, g;
	struct reg_cmp_stats ws, s;
	fill_generated();
	memset(&want, 0, sizeof want);
	reference(&want, &ws);
	got_sort(&want);
	assert_true(ws.only_a > 100 && ws.only_b > 100 && ws.mismatch > 100);
	static const struct {
		int page;
		size_t budget;
		int in_tx;       /* inside a transaction: no read-ahead, A read after B */
	} modes[] = { { 0, 0, 0 }, { 7, 0, 0 }, { 1000, 1, 0 }, { 333, 20000, 0 }, { 0, 0, 1 }, { 500, 0, 1 } };
	for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
		struct reg_cmp c;
		memset(&g, 0, sizeof g);
		resolve_ok("cga", "ref", "cgb", "k", "name=name,n=n", 1, 1, &c);
		c.page = modes[m].page;
		c.mem_budget = modes[m].budget;
		struct reg_cmp_cb cb = { on_diff, on_progress, &g };
		if (modes[m].in_tx)
			assert_int_equal(store_begin(W.st), STORE_OK);
		assert_int_equal(reg_cmp_run(W.st, &c, &cb, &s), 0);
		if (modes[m].in_tx)
			store_rollback(W.st);
		assert_int_equal(s.rows_a, NA);
		assert_int_equal(s.rows_b, NB);
		assert_int_equal(s.null_key_a, ws.null_key_a);
		assert_int_equal(s.matched, ws.matched);
		assert_int_equal(s.only_a, ws.only_a);
		assert_int_equal(s.only_b, ws.only_b);
		assert_int_equal(s.mismatch, ws.mismatch);
		assert_int_equal(s.mismatch_records, ws.mismatch_records);
		if (modes[m].budget > 0) {
			assert_true(s.partitions > 1);
			assert_int_equal(s.read_ahead, 0);   /* read again the usual way */
		} else {
			assert_int_equal(s.partitions, 1);
			assert_int_equal(s.read_ahead, !modes[m].in_tx);
		}
		if (modes[m].page == 7)
			assert_true(g.calls > (NA + NB) / 7);
		got_sort(&g);
		assert_int_equal(g.n, want.n);
		for (int i = 0; i < g.n; i++)
			if (strcmp(g.line[i], want.line[i]) != 0)
				fail_msg("mode %zu: diff %d: got %s, want %s", m, i, g.line[i], want.line[i]);
		got_free(&g);
	}
	got_free(&want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resolve),
		cmocka_unit_test(test_route),
		cmocka_unit_test(test_hand_made),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_generated),
	};
	return cmocka_run_group_tests_name("registry compare", tests, setup, teardown);
}
