/* Unit tests of core/apitoken: the token's shape, creation (only a keyed hash stored),
 * verification (good, forged, malformed, unknown id, revoked, expired), scopes, the
 * constant-time comparison path, the last-use refresh and the listing. */
#include "testutil.h"

#include "core/apitoken.h"
#include "core/crypto.h"

#include <sodium.h>
#include <time.h>

static struct store *st;
static struct keys keys;
static int64_t dept;

static int setup(void **state)
{
	(void)state;
	assert_int_equal(crypto_init(), 0);
	st = test_store_open();
	assert_int_equal(store_migrate(st), 0);
	randombytes_buf(&keys, sizeof keys);
	struct sval p[] = { SVT("tst"), SVT("测试局"), SVI(time(NULL)) };
	assert_int_equal(store_exec(st, "INSERT INTO departments (code, name, level, created_at, updated_at) "
				    "VALUES ($1, $2, 'city', $3, $3)", p, 3, NULL), STORE_OK);
	assert_int_equal(store_query_int(st, "SELECT id FROM departments WHERE code = 'tst'", NULL, 0, &dept), STORE_OK);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	store_close(st);
	return 0;
}

static int64_t create(const char *name, const char *scopes, int64_t expires, char clear[APITOKEN_MAX])
{
	int64_t id = 0;
	assert_int_equal(store_begin(st), STORE_OK);
	assert_int_equal(apitoken_create(st, &keys, dept, name, scopes, expires, 0, &id, clear), 0);
	assert_int_equal(store_commit(st), STORE_OK);
	return id;
}

static void test_shape_and_parse(void **state)
{
	(void)state;
	char clear[APITOKEN_MAX];
	int64_t id = create("shape", "population", 0, clear), parsed = 0;
	char want[32];
	snprintf(want, sizeof want, "yzt_%lld_", (long long)id);
	assert_int_equal(strncmp(clear, want, strlen(want)), 0);
	const char *secret = clear + strlen(want);
	assert_int_equal(strlen(secret), APITOKEN_SECRET_LEN);
	assert_int_equal(strspn(secret, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"), APITOKEN_SECRET_LEN);
	assert_int_equal(apitoken_parse(clear, &parsed), 0);
	assert_int_equal(parsed, id);
	/* malformed shapes */
	const char *bad[] = { "", "yzt_", "yzt__AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "yzt_01_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
			      "yzt_1_AAAA", "yzt_1_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "yzt_1_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA1",
			      "xyz_1_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "yzt_12345678901234567890_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
			      "yzt_1_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA0", NULL };
	for (int i = 0; bad[i]; i++)
		assert_int_equal(apitoken_parse(bad[i], &parsed), -1);
	/* only the keyed hash is stored */
	struct store_res *res = NULL;
	struct sval p[] = { SVI(id) };
	assert_int_equal(store_query(st, "SELECT hash FROM api_tokens WHERE id = $1", p, 1, &res), STORE_OK);
	const char *h = store_res_text(res, 0, 0);
	assert_int_equal(strlen(h), 64);
	assert_null(strstr(h, secret));
	char plain[65];
	sha256_hex(secret, strlen(secret), plain);
	assert_string_not_equal(h, plain);   /* keyed, not a bare SHA-256 */
	store_res_free(res);
	/* two tokens never share a secret */
	char other[APITOKEN_MAX];
	create("shape2", "population", 0, other);
	assert_string_not_equal(strchr(clear + 4, '_'), strchr(other + 4, '_'));
}

static void test_verify_good_and_forged(void **state)
{
	(void)state;
	char clear[APITOKEN_MAX];
	int64_t id = create("verify", "population,enterprise", 0, clear), seen = 0;
	struct apitoken_info info;
	time_t now = time(NULL);
	assert_int_equal(apitoken_verify(st, &keys, clear, now, &info, &seen), APITOKEN_OK);
	assert_int_equal(info.id, id);
	assert_int_equal(info.dept_id, dept);
	assert_string_equal(info.name, "verify");
	assert_string_equal(info.scopes, "population,enterprise");
	apitoken_info_clear(&info);
	/* last use recorded */
	int64_t used = 0;
	struct sval p[] = { SVI(id) };
	assert_int_equal(store_query_int(st, "SELECT last_used_at FROM api_tokens WHERE id = $1", p, 1, &used), STORE_OK);
	assert_int_equal(used, (int64_t)now);
	/* forged: the same id, another secret -> unknown, the id still reported */
	char forged[APITOKEN_MAX];
	snprintf(forged, sizeof forged, "%s", clear);
	size_t n = strlen(forged);
	forged[n - 1] = forged[n - 1] == 'A' ? 'B' : 'A';
	assert_int_equal(apitoken_verify(st, &keys, forged, now, &info, &seen), APITOKEN_UNKNOWN);
	assert_int_equal(seen, id);
	/* a difference in the first secret character too (the comparison covers every byte) */
	snprintf(forged, sizeof forged, "%s", clear);
	char *s = strrchr(forged, '_') + 1;
	s[0] = s[0] == 'A' ? 'B' : 'A';
	assert_int_equal(apitoken_verify(st, &keys, forged, now, &info, &seen), APITOKEN_UNKNOWN);
	/* the right secret under another server key */
	struct keys other;
	randombytes_buf(&other, sizeof other);
	assert_int_equal(apitoken_verify(st, &other, clear, now, &info, &seen), APITOKEN_UNKNOWN);
	/* unknown id, malformed */
	char unknown[APITOKEN_MAX];
	snprintf(unknown, sizeof unknown, "yzt_%lld_%s", (long long)(id + 1000), strrchr(clear, '_') + 1);
	assert_int_equal(apitoken_verify(st, &keys, unknown, now, &info, &seen), APITOKEN_UNKNOWN);
	assert_int_equal(seen, id + 1000);
	assert_int_equal(apitoken_verify(st, &keys, "Bearer nonsense", now, &info, &seen), APITOKEN_MALFORMED);
	assert_int_equal(seen, 0);
	assert_int_equal(apitoken_verify(st, &keys, NULL, now, &info, &seen), APITOKEN_MALFORMED);
}

static void test_constant_time_compare(void **state)
{
	(void)state;
	/* The comparison the verification uses: equal, first byte, last byte, length. */
	const char *a = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	assert_int_equal(str_ct_equal(a, a), 0);
	assert_int_not_equal(str_ct_equal(a, "1123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"), 0);
	assert_int_not_equal(str_ct_equal(a, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdee"), 0);
	assert_int_not_equal(str_ct_equal(a, "0123456789abcdef"), 0);
}

static void test_revoke_and_expiry(void **state)
{
	(void)state;
	char clear[APITOKEN_MAX];
	time_t now = time(NULL);
	struct apitoken_info info;
	int64_t id = create("revoke", "*", 0, clear);
	assert_int_equal(store_begin(st), STORE_OK);
	assert_int_equal(apitoken_revoke(st, id, dept + 1, 0, now), 1);   /* another department's: none */
	assert_int_equal(apitoken_revoke(st, id, dept, 0, now), 0);
	assert_int_equal(apitoken_revoke(st, id, dept, 0, now), 1);       /* already revoked */
	assert_int_equal(store_commit(st), STORE_OK);
	assert_int_equal(apitoken_verify(st, &keys, clear, now, &info, NULL), APITOKEN_REVOKED);
	/* a revoked token's name may be used again */
	char again[APITOKEN_MAX];
	create("revoke", "*", 0, again);
	/* ... but not a live one's */
	int64_t dummy = 0;
	assert_int_equal(store_begin(st), STORE_OK);
	assert_int_equal(apitoken_create(st, &keys, dept, "revoke", "*", 0, 0, &dummy, again), 1);
	store_rollback(st);
	/* expiry: valid before, refused from the expiry second on */
	int64_t eid = create("expiring", "population", (int64_t)now + 100, clear);
	assert_int_equal(apitoken_verify(st, &keys, clear, now + 99, &info, NULL), APITOKEN_OK);
	apitoken_info_clear(&info);
	assert_int_equal(apitoken_verify(st, &keys, clear, now + 100, &info, NULL), APITOKEN_EXPIRED);
	json_t *list = apitoken_list(st, dept, now + 100);
	assert_non_null(list);
	size_t i;
	json_t *o;
	int seen_expired = 0, seen_revoked = 0;
	json_array_foreach(list, i, o) {
		const char *sname = json_string_value(json_object_get(o, "state"));
		if (json_integer_value(json_object_get(o, "id")) == eid)
			seen_expired = strcmp(sname, "expired") == 0;
		if (json_integer_value(json_object_get(o, "id")) == id)
			seen_revoked = strcmp(sname, "revoked") == 0;
	}
	json_decref(list);
	assert_true(seen_expired);
	assert_true(seen_revoked);
}

static void test_scopes(void **state)
{
	(void)state;
	assert_true(apitoken_scopes_valid("*"));
	assert_true(apitoken_scopes_valid("population"));
	assert_true(apitoken_scopes_valid("population,enterprise,p_fund2"));
	assert_false(apitoken_scopes_valid(""));
	assert_false(apitoken_scopes_valid("population,"));
	assert_false(apitoken_scopes_valid(",population"));
	assert_false(apitoken_scopes_valid("Population"));
	assert_false(apitoken_scopes_valid("pop ulation"));
	assert_false(apitoken_scopes_valid("*,population"));
	assert_false(apitoken_scopes_valid("1abc"));
	assert_true(apitoken_scope_allows("*", "anything"));
	assert_true(apitoken_scope_allows("population,enterprise", "enterprise"));
	assert_false(apitoken_scope_allows("population,enterprise", "pop"));
	assert_false(apitoken_scope_allows("population", "population2"));
	assert_false(apitoken_scope_allows("population", NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shape_and_parse),
		cmocka_unit_test(test_verify_good_and_forged),
		cmocka_unit_test(test_constant_time_compare),
		cmocka_unit_test(test_revoke_and_expiry),
		cmocka_unit_test(test_scopes),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
