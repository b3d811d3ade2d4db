/*
 * Unit tests of registry_aggregate (src/engines/registry/aggregate.c): the
 * count and the sum over the records whose match field equals a value,
 * canonical answers (decimals with the field's scale), and its errors
 * (unknown field, sum over a non-numeric field, a bad or empty value).
 * Runs on SQLite, and on PostgreSQL with YIZHAN_TEST_STORE.
 */
#include "testutil.h"

#include "core/dept.h"
#include "core/validate.h"
#include "engines/registry/registry.h"

static struct store *st;
static char id_a[19], id_b[19], id_c[19];

static const char def_text[] =
	"registry aggacct\n"
	"name 聚合测试账户\n"
	"owner fin\n"
	"key account_no\n"
	"subject owner_id\n"
	"share conditional \"测试用\"\n"
	"open no\n"
	"\n"
	"field account_no 账号       text(32)    required source=fin\n"
	"field owner_id   身份证号   idcard      required personal source=fin\n"
	"field bank       开户银行   text(50)    source=fin\n"
	"field cards      卡数       integer     source=fin\n"
	"field balance    余额       decimal(2)  source=fin\n";

static void make_id(const char *first17, char out[19])
{
	snprintf(out, 19, "%s%c", first17, idcard_check_char(first17));
}

static void put(const struct registry *reg, const char *acct, const char *owner, const char *bank,
		const char *cards, const char *balance)
{
	const char *values[] = { acct, owner, bank, cards, balance };
	struct reg_actor who = { 0, "test", "test:aggregate" };
	struct reg_error e = { 0 };
	int outcome = -1;
	if (registry_put(st, reg, values, &who, &outcome, &e) != 0)
		fail_msg("put %s: %s %s %s", acct, msg_name(e.why), e.field, e.detail);
	assert_int_equal(outcome, 1);
}

static int setup(void **state)
{
	(void)state;
	st = test_store_open();
	assert_int_equal(store_migrate(st), 0);
	assert_int_equal(store_begin(st), STORE_OK);
	struct dept_in d = { "fin", "地方金融管理局", 0, "city", 0 };
	int64_t id;
	enum msg_id why;
	const char *field;
	assert_int_equal(dept_create(st, &d, &id, &why, &field), 0);
	struct reg_actor who = { 0, "test", "test:aggregate" };
	struct reg_error e = { 0 };
	if (registry_apply(st, def_text, strlen(def_text), &who, &e) != 0)
		fail_msg("apply: %s %s %s", msg_name(e.why), e.field, e.detail);
	assert_int_equal(store_commit(st), STORE_OK);

	make_id("44010619900517123", id_a);
	make_id("11010119800101001", id_b);
	make_id("31010419751231002", id_c);
	const struct registry *reg = registry_get(st, "aggacct");
	assert_non_null(reg);
	assert_int_equal(store_begin(st), STORE_OK);
	put(reg, "A-1", id_a, "工商银行", "2", "100.50");
	put(reg, "A-2", id_a, "建设银行", "1", "200.25");
	put(reg, "A-3", id_a, "农业银行", NULL, NULL);        /* NULLs do not count in the sum */
	put(reg, "B-1", id_b, "工商银行", "5", "-50.25");
	put(reg, "B-2", id_b, NULL, "7", "10.00");
	assert_int_equal(store_commit(st), STORE_OK);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	store_close(st);
	return 0;
}

/* The answer as text, failing the test on an error. */
static const char *agg(const char *match, const char *value, const char *sum)
{
	static char out[64];
	struct reg_error e = { 0 };
	const struct registry *reg = registry_get(st, "aggacct");
	assert_non_null(reg);
	if (registry_aggregate(st, reg, match, value, sum, out, sizeof out, &e) != 0)
		fail_msg("aggregate %s=%s sum %s: %s %s", match, value, sum ? sum : "-", msg_name(e.why), e.field);
	assert_int_equal(e.why, MSG_NONE);
	return out;
}

/* Expects an error with why and field; the output is left empty. */
static void agg_bad(const char *match, const char *value, const char *sum, enum msg_id why, const char *field)
{
	char out[64] = "untouched";
	struct reg_error e = { 0 };
	const struct registry *reg = registry_get(st, "aggacct");
	assert_int_equal(registry_aggregate(st, reg, match, value, sum, out, sizeof out, &e), -1);
	if (e.why != why)
		fail_msg("expected %s, got %s", msg_name(why), msg_name(e.why));
	assert_string_equal(e.field, field);
	assert_string_equal(out, "");
}

static void test_count(void **state)
{
	(void)state;
	assert_string_equal(agg("owner_id", id_a, NULL), "3");
	assert_string_equal(agg("owner_id", id_b, NULL), "2");
	assert_string_equal(agg("owner_id", id_c, NULL), "0");
	/* again: the interned statement is reused */
	assert_string_equal(agg("owner_id", id_a, NULL), "3");
	/* on another field, of another type */
	assert_string_equal(agg("bank", "工商银行", NULL), "2");
	assert_string_equal(agg("cards", "7", NULL), "1");
	assert_string_equal(agg("balance", "10.00", NULL), "1");
	assert_string_equal(agg("balance", "10", NULL), "1");        /* raw text, checked like input */
	assert_string_equal(agg("account_no", "A-2", NULL), "1");
}

static void test_sum(void **state)
{
	(void)state;
	/* decimals keep the field's scale, exactly */
	assert_string_equal(agg("owner_id", id_a, "balance"), "300.75");
	assert_string_equal(agg("owner_id", id_b, "balance"), "-40.25");
	assert_string_equal(agg("owner_id", id_c, "balance"), "0.00");
	/* integers */
	assert_string_equal(agg("owner_id", id_a, "cards"), "3");
	assert_string_equal(agg("owner_id", id_b, "cards"), "12");
	assert_string_equal(agg("owner_id", id_c, "cards"), "0");
}

static void test_errors(void **state)
{
	(void)state;
	agg_bad("nosuch", id_a, NULL, MSG_REG_UNKNOWN_FIELD, "nosuch");
	agg_bad("owner_id", id_a, "nosuch", MSG_REG_UNKNOWN_FIELD, "nosuch");
	agg_bad("owner_id", id_a, "bank", MSG_VERIFY_SUM_NOT_NUMERIC, "bank");
	agg_bad("owner_id", id_a, "owner_id", MSG_VERIFY_SUM_NOT_NUMERIC, "owner_id");
	agg_bad("owner_id", "", NULL, MSG_REG_REQUIRED, "owner_id");
	agg_bad("owner_id", NULL, "balance", MSG_REG_REQUIRED, "owner_id");

	/* a bad identifier (wrong check character) never reaches the store */
	char bad[19];
	memcpy(bad, id_a, sizeof bad);
	bad[17] = bad[17] == '0' ? '1' : '0';
	char out[64];
	struct reg_error e = { 0 };
	const struct registry *reg = registry_get(st, "aggacct");
	assert_int_equal(registry_aggregate(st, reg, "owner_id", bad, NULL, out, sizeof out, &e), -1);
	assert_int_not_equal(e.why, MSG_NONE);
	assert_string_equal(e.field, "owner_id");
	/* not an integer, not a decimal: no silent coercion */
	memset(&e, 0, sizeof e);
	assert_int_equal(registry_aggregate(st, reg, "cards", "7.0", NULL, out, sizeof out, &e), -1);
	assert_int_not_equal(e.why, MSG_NONE);
	assert_string_equal(e.field, "cards");
	memset(&e, 0, sizeof e);
	assert_int_equal(registry_aggregate(st, reg, "balance", "1,000.00", NULL, out, sizeof out, &e), -1);
	assert_int_not_equal(e.why, MSG_NONE);
	assert_string_equal(e.field, "balance");
	/* an answer that does not fit */
	char tiny[3];
	memset(&e, 0, sizeof e);
	assert_int_equal(registry_aggregate(st, reg, "owner_id", id_a, "balance", tiny, sizeof tiny, &e), -1);
	assert_string_equal(tiny, "");
}

static void test_reads_nothing_else(void **state)
{
	(void)state;
	/* the store is unchanged by aggregating: the records are all still there */
	const struct registry *reg = registry_get(st, "aggacct");
	assert_int_equal(registry_count(st, reg), 5);
	int64_t n = -1;
	assert_int_equal(store_query_int(st, "SELECT COUNT(*) FROM reg_history", NULL, 0, &n), STORE_OK);
	assert_int_equal(n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_count),
		cmocka_unit_test(test_sum),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_reads_nothing_else),
	};
	return cmocka_run_group_tests_name("registry_aggregate", tests, setup, teardown);
}
