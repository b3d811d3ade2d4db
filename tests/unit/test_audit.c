/*
 * Unit tests of core/audit: the hash chain, tamper detection, checkpoints
 * and concurrent appends.  Runs on the store under test (testutil.h):
 * SQLite by default, PostgreSQL with YIZHAN_TEST_STORE=postgresql://...
 */
#include "testutil.h"

#include <pthread.h>
#include <sys/stat.h>

#include "core/audit.h"
#include "core/crypto.h"
#include "core/embed.h"

#define GENESIS "0000000000000000000000000000000000000000000000000000000000000000"

static time_t fixed_now(void)
{
	return 1700000000;
}

/* The migration under test, read from the source tree. */
static char *mig_data;
static size_t mig_len;

static void load_migration(void)
{
	static const char rel[] = "migrations/core/0002_audit.sql";
	char *path = NULL;
	FILE *f = fopen(rel, "rb");

	if (f == NULL) {
		/* Not run from the repository root: find it from this file's path. */
		const char *me = __FILE__, *cut = strstr(me, "tests/unit/");
		assert_non_null(cut);
		assert_true(asprintf(&path, "%.*s%s", (int)(cut - me), me, rel) > 0);
		f = fopen(path, "rb");
	}
	if (f == NULL)
		fail_msg("cannot open %s", path ? path : rel);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	long n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	mig_data = malloc((size_t)n + 1);
	assert_non_null(mig_data);
	assert_int_equal(fread(mig_data, 1, (size_t)n, f), (size_t)n);
	mig_data[n] = '\0';
	mig_len = (size_t)n;
	fclose(f);
	free(path);
}

static void migrate(struct store *st)
{
	const struct embed_file files[] = {
		{ "core/0002_audit.sql", (const unsigned char *)mig_data, mig_len },
		{ NULL, NULL, 0 },
	};
	assert_int_equal(store_migrate_files(st, files), 0);
}

/* A fresh, migrated store. */
static struct store *open_store(void)
{
	struct store *st = test_store_open();
	migrate(st);
	return st;
}

static struct keys *test_keys(void)
{
	static struct keys k;
	static int done;
	if (!done) {
		char *dir = test_tmpdir(), *err = NULL;
		assert_int_equal(keys_load_or_create(dir, &k, &err), 0);
		done = 1;
		free(dir);
	}
	return &k;
}

static int setup(void **state)
{
	(void)state;
	if (crypto_init() != 0)
		return -1;
	load_migration();
	audit_set_clock(fixed_now);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(mig_data);
	return 0;
}

/* Entry i of a varied series: NULLs, empty strings, Chinese text. */
static void append_n(struct store *st, int from, int n)
{
	for (int i = from; i < from + n; i++) {
		char obj[32], detail[64];
		snprintf(obj, sizeof obj, "user:%d", i);
		snprintf(detail, sizeof detail, "{\"i\":%d,\"name\":\"张三\"}", i);
		struct audit_entry e = {
			.actor_id = i % 5,
			.actor = i % 7 == 0 ? NULL : "admin",
			.action = i % 2 ? "user.update" : "login.ok",
			.object = i % 3 == 0 ? NULL : obj,
			.dept_id = i % 4,
			.ip = i % 6 == 0 ? NULL : "192.0.2.7",
			.detail = i % 10 == 0 ? "" : (i % 11 == 0 ? NULL : detail),
		};
		assert_int_equal(audit_append_tx(st, &e), 0);
	}
}

static struct audit_report verify(struct store *st, const unsigned char *pk)
{
	struct audit_report rep;
	assert_int_equal(audit_verify(st, pk, &rep), 0);
	return rep;
}

static void expect_bad(struct store *st, const unsigned char *pk, int64_t seq, const char *reason)
{
	struct audit_report rep = verify(st, pk);
	if (rep.ok || rep.first_bad_seq != seq || strstr(rep.reason, reason) == NULL)
		fail_msg("expected failure at %lld (\"%s\"), got ok=%d at %lld: %s", (long long)seq,
			 reason, rep.ok, (long long)rep.first_bad_seq, rep.reason);
}

static void sql_exec(struct store *st, const char *sqltext, const struct sval *p, int n)
{
	int64_t changes = 0;
	assert_int_equal(store_exec(st, sqltext, p, n, &changes), 0);
	assert_int_equal(changes, 1);
}

/* ---- tests ---- */

static void test_hash_format(void **state)
{
	(void)state;
	char h[65];
	/* Reference values computed independently (Python hashlib) from the
	 * encoding documented in audit.c. */
	struct audit_entry e = { 12, "张三", "user.create", "user:34", 3, "192.0.2.1",
				 "{\"name\":\"李四\"}" };
	audit_hash(GENESIS, 1, 1700000000, &e, h);
	assert_string_equal(h, "dea55b481a692c9ebf9814832e5c31462e9d3bd7cd2659711ff61ccf96e9b109");
	struct audit_entry a = { 0, "anonymous", "login.fail", NULL, 0, NULL, "" };
	audit_hash(GENESIS, 1, 1700000000, &a, h);
	assert_string_equal(h, "35853387b30502dfa8e9814b04d7cc153a94bb7b4b25101249fd4b15f496f556");
	/* NULL and "" differ; moving a byte between fields changes the hash. */
	char h2[65];
	a.detail = NULL;
	audit_hash(GENESIS, 1, 1700000000, &a, h2);
	assert_string_not_equal(h, h2);
	struct audit_entry b1 = { 0, "ab", "c", NULL, 0, NULL, NULL };
	struct audit_entry b2 = { 0, "a", "bc", NULL, 0, NULL, NULL };
	audit_hash(GENESIS, 1, 1, &b1, h);
	audit_hash(GENESIS, 1, 1, &b2, h2);
	assert_string_not_equal(h, h2);
}

static void test_empty_chain(void **state)
{
	(void)state;
	struct store *st = open_store();
	struct audit_report rep = verify(st, test_keys()->sign_pk);
	assert_true(rep.ok);
	assert_int_equal(rep.entries, 0);
	assert_int_equal(rep.checkpoints, 0);
	/* Nothing to sign yet. */
	assert_int_equal(audit_checkpoint(st, test_keys()), 0);
	int64_t n = -1;
	assert_int_equal(store_query_int(st, "SELECT COUNT(*) FROM audit_checkpoints", NULL, 0, &n), 0);
	assert_int_equal(n, 0);
	store_close(st);
}

static void test_append_verify(void **state)
{
	(void)state;
	struct store *st = open_store();
	append_n(st, 1, 100);

	struct audit_report rep = verify(st, test_keys()->sign_pk);
	if (!rep.ok)
		fail_msg("verify: %s", rep.reason);
	assert_int_equal(rep.entries, 100);
	assert_int_equal(rep.first_bad_seq, 0);

	/* Head, genesis link, the NULL actor stored as "anonymous", NULLs kept. */
	struct store_res *r = NULL;
	assert_int_equal(store_query(st, "SELECT seq, hash FROM audit_head WHERE id = 1", NULL, 0, &r), 0);
	assert_int_equal(store_res_int(r, 0, 0), 100);
	char head[65];
	snprintf(head, sizeof head, "%s", store_res_text(r, 0, 1));
	store_res_free(r);
	assert_int_equal(store_query(st, "SELECT prev_hash, actor, object, detail, hash, ts FROM audit_log "
				     "WHERE seq = 1 OR seq = 7 OR seq = 10 OR seq = 100 ORDER BY seq",
				     NULL, 0, &r), 0);
	assert_int_equal(store_res_rows(r), 4);
	assert_string_equal(store_res_text(r, 0, 0), GENESIS);
	assert_string_equal(store_res_text(r, 1, 1), "anonymous");
	assert_true(store_res_isnull(r, 2, 2) == 0);
	assert_string_equal(store_res_text(r, 2, 3), "");          /* seq 10: "" kept */
	assert_false(store_res_isnull(r, 2, 3));
	assert_string_equal(store_res_text(r, 3, 4), head);
	assert_int_equal(store_res_int(r, 0, 5), 1700000000);
	store_res_free(r);
	assert_int_equal(store_query(st, "SELECT object, detail FROM audit_log WHERE seq = 33", NULL, 0, &r), 0);
	assert_true(store_res_isnull(r, 0, 0));
	assert_true(store_res_isnull(r, 0, 1));
	store_res_free(r);

	/* The stored hash is audit_hash of the entry as given. */
	struct audit_entry e = { 2, "admin", "login.ok", "user:2", 2, "192.0.2.7",
				 "{\"i\":2,\"name\":\"张三\"}" };
	char prev[65], h[65];
	assert_int_equal(store_query(st, "SELECT hash FROM audit_log WHERE seq = 1", NULL, 0, &r), 0);
	snprintf(prev, sizeof prev, "%s", store_res_text(r, 0, 0));
	store_res_free(r);
	audit_hash(prev, 2, 1700000000, &e, h);
	assert_int_equal(store_query(st, "SELECT hash FROM audit_log WHERE seq = 2", NULL, 0, &r), 0);
	assert_string_equal(store_res_text(r, 0, 0), h);
	store_res_free(r);
	store_close(st);
}

static void test_tamper_detail(void **state)
{
	(void)state;
	struct store *st = open_store();
	const unsigned char *pk = test_keys()->sign_pk;
	append_n(st, 1, 100);

	struct sval p[2] = { SVT("{\"i\":42,\"name\":\"李四\"}"), SVI(42) };
	sql_exec(st, "UPDATE audit_log SET detail = $1 WHERE seq = $2", p, 2);
	expect_bad(st, pk, 42, "entry 42: hash mismatch (entry altered)");
	store_close(st);

	/* "" and NULL are different values: seq 20 had detail "". */
	struct store *st2 = open_store();
	append_n(st2, 1, 30);
	struct sval q[1] = { SVI(20) };
	sql_exec(st2, "UPDATE audit_log SET detail = NULL WHERE seq = $1", q, 1);
	expect_bad(st2, pk, 20, "entry 20: hash mismatch");
	store_close(st2);

	/* Any column: the timestamp. */
	struct store *st3 = open_store();
	append_n(st3, 1, 30);
	struct sval t[1] = { SVI(5) };
	sql_exec(st3, "UPDATE audit_log SET ts = ts + 1 WHERE seq = $1", t, 1);
	expect_bad(st3, pk, 5, "entry 5: hash mismatch");
	store_close(st3);

	/* SQLite can hold a NUL inside TEXT: bytes after it are checked too. */
	if (!test_is_pg()) {
		struct store *st4 = open_store();
		append_n(st4, 1, 30);
		struct sval z[1] = { SVI(8) };
		sql_exec(st4, "UPDATE audit_log SET detail = detail || char(0) || 'hidden' WHERE seq = $1",
			 z, 1);
		expect_bad(st4, pk, 8, "entry 8: hash mismatch");
		store_close(st4);
	}
}

static void test_delete(void **state)
{
	(void)state;
	const unsigned char *pk = test_keys()->sign_pk;
	struct store *st = open_store();
	append_n(st, 1, 100);
	struct sval p[1] = { SVI(100) };
	sql_exec(st, "DELETE FROM audit_log WHERE seq = $1", p, 1);
	expect_bad(st, pk, 100, "head says 100 but chain ends at 99 (entries deleted)");
	store_close(st);

	st = open_store();
	append_n(st, 1, 20);
	struct sval q[1] = { SVI(7) };
	sql_exec(st, "DELETE FROM audit_log WHERE seq = $1", q, 1);
	expect_bad(st, pk, 7, "entry 7 missing (seq gap)");
	store_close(st);

	/* The first entry. */
	st = open_store();
	append_n(st, 1, 5);
	struct sval f[1] = { SVI(1) };
	sql_exec(st, "DELETE FROM audit_log WHERE seq = $1", f, 1);
	expect_bad(st, pk, 1, "entry 1 missing (seq gap)");
	store_close(st);
}

/* Rewrites entry seq with a new detail and a correctly recomputed hash. */
static void rewrite_entry(struct store *st, int64_t seq, const char *detail)
{
	struct store_res *r = NULL;
	struct sval p[1] = { SVI(seq) };
	assert_int_equal(store_query(st, "SELECT prev_hash, ts, actor_id, actor, action, object, dept_id, ip "
				     "FROM audit_log WHERE seq = $1", p, 1, &r), 0);
	assert_int_equal(store_res_rows(r), 1);
	struct audit_entry e = {
		.actor_id = store_res_int(r, 0, 2),
		.actor = store_res_text(r, 0, 3),
		.action = store_res_text(r, 0, 4),
		.object = store_res_text(r, 0, 5),
		.dept_id = store_res_int(r, 0, 6),
		.ip = store_res_text(r, 0, 7),
		.detail = detail,
	};
	char h[65];
	audit_hash(store_res_text(r, 0, 0), seq, store_res_int(r, 0, 1), &e, h);
	struct sval u[3] = { SVT(detail), SVT(h), SVI(seq) };
	sql_exec(st, "UPDATE audit_log SET detail = $1, hash = $2 WHERE seq = $3", u, 3);
	store_res_free(r);
}

static void test_break_link(void **state)
{
	(void)state;
	const unsigned char *pk = test_keys()->sign_pk;
	struct store *st = open_store();
	append_n(st, 1, 60);
	/* Entry 42 rewritten with a self-consistent hash: entry 43 no longer links. */
	rewrite_entry(st, 42, "{\"forged\":true}");
	expect_bad(st, pk, 43, "entry 43: prev_hash does not link to entry 42");
	store_close(st);

	/* The link itself altered. */
	st = open_store();
	append_n(st, 1, 60);
	struct sval p[2] = { SVT(GENESIS), SVI(30) };
	sql_exec(st, "UPDATE audit_log SET prev_hash = $1 WHERE seq = $2", p, 2);
	expect_bad(st, pk, 30, "entry 30: prev_hash does not link to entry 29");
	store_close(st);

	/* The last entry rewritten: only the head can tell. */
	st = open_store();
	append_n(st, 1, 10);
	rewrite_entry(st, 10, "{\"forged\":true}");
	expect_bad(st, pk, 10, "head hash does not match entry 10");
	store_close(st);
}

static int64_t count_checkpoints(struct store *st)
{
	int64_t n = -1;
	assert_int_equal(store_query_int(st, "SELECT COUNT(*) FROM audit_checkpoints", NULL, 0, &n), 0);
	return n;
}

static void test_checkpoint(void **state)
{
	(void)state;
	struct keys *k = test_keys();
	struct store *st = open_store();
	struct store_res *r = NULL;

	append_n(st, 1, 10);
	assert_int_equal(audit_checkpoint(st, k), 0);
	assert_int_equal(count_checkpoints(st), 1);
	assert_int_equal(audit_checkpoint(st, k), 0);     /* head did not move */
	assert_int_equal(count_checkpoints(st), 1);
	append_n(st, 11, 5);
	assert_int_equal(audit_checkpoint(st, k), 0);
	assert_int_equal(count_checkpoints(st), 2);

	/* Stored: the head's seq and hash, ts from the clock, a valid signature. */
	assert_int_equal(store_query(st, "SELECT c.seq, c.ts, c.hash, c.signature, h.hash "
				     "FROM audit_checkpoints c, audit_head h ORDER BY c.seq DESC",
				     NULL, 0, &r), 0);
	assert_int_equal(store_res_int(r, 0, 0), 15);
	assert_int_equal(store_res_int(r, 0, 1), 1700000000);
	assert_string_equal(store_res_text(r, 0, 2), store_res_text(r, 0, 4));
	char *msg = NULL;
	assert_true(asprintf(&msg, "yizhan-audit-checkpoint\n15\n%s\n1700000000", store_res_text(r, 0, 2)) > 0);
	assert_int_equal(verify_hex(k->sign_pk, msg, strlen(msg), store_res_text(r, 0, 3)), 0);
	char sig[129];
	snprintf(sig, sizeof sig, "%s", store_res_text(r, 0, 3));
	free(msg);
	store_res_free(r);

	struct audit_report rep = verify(st, k->sign_pk);
	if (!rep.ok)
		fail_msg("verify: %s", rep.reason);
	assert_int_equal(rep.entries, 15);
	assert_int_equal(rep.checkpoints, 2);

	/* Another server's key. */
	struct keys other;
	char *dir = test_tmpdir(), *err = NULL;
	assert_int_equal(keys_load_or_create(dir, &other, &err), 0);
	free(dir);
	expect_bad(st, other.sign_pk, 10, "checkpoint at 10: bad signature");

	/* A tampered signature. */
	char bad[129];
	memcpy(bad, sig, sizeof bad);
	bad[7] = bad[7] == 'a' ? 'b' : 'a';
	struct sval p[2] = { SVT(bad), SVI(15) };
	sql_exec(st, "UPDATE audit_checkpoints SET signature = $1 WHERE seq = $2", p, 2);
	expect_bad(st, k->sign_pk, 15, "checkpoint at 15: bad signature");
	const char *good = sig;
	struct sval p2[2] = { SVT(good), SVI(15) };
	sql_exec(st, "UPDATE audit_checkpoints SET signature = $1 WHERE seq = $2", p2, 2);
	assert_true(verify(st, k->sign_pk).ok);

	/* A checkpoint's timestamp moved: the signature no longer matches. */
	struct sval p3[1] = { SVI(10) };
	sql_exec(st, "UPDATE audit_checkpoints SET ts = ts - 3600 WHERE seq = $1", p3, 1);
	expect_bad(st, k->sign_pk, 10, "checkpoint at 10: bad signature");
	sql_exec(st, "UPDATE audit_checkpoints SET ts = ts + 3600 WHERE seq = $1", p3, 1);
	assert_true(verify(st, k->sign_pk).ok);
	store_close(st);
}

/* Rewrites entries from..to consistently (as an attacker with write access
 * would) and moves the head: the chain alone then verifies. */
static void rewrite_chain(struct store *st, int64_t from, int64_t to, int64_t new_head)
{
	char prev[65] = "", h[65] = "";
	for (int64_t seq = from; seq <= to; seq++) {
		struct store_res *r = NULL;
		struct sval p[1] = { SVI(seq) };
		assert_int_equal(store_query(st, "SELECT prev_hash, ts, actor_id, actor, action, object, "
					     "dept_id, ip, detail FROM audit_log WHERE seq = $1", p, 1, &r), 0);
		assert_int_equal(store_res_rows(r), 1);
		if (seq == from)
			snprintf(prev, sizeof prev, "%s", store_res_text(r, 0, 0));
		struct audit_entry e = {
			.actor_id = store_res_int(r, 0, 2),
			.actor = store_res_text(r, 0, 3),
			.action = store_res_text(r, 0, 4),
			.object = store_res_text(r, 0, 5),
			.dept_id = store_res_int(r, 0, 6),
			.ip = store_res_text(r, 0, 7),
			.detail = seq == from ? "{\"forged\":1}" : store_res_text(r, 0, 8),
		};
		audit_hash(prev, seq, store_res_int(r, 0, 1), &e, h);
		const char *pv = prev, *hv = h;
		struct sval u[4] = { SVT(pv), SVT(e.detail), SVT(hv), SVI(seq) };
		sql_exec(st, "UPDATE audit_log SET prev_hash = $1, detail = $2, hash = $3 WHERE seq = $4",
			 u, 4);
		memcpy(prev, h, sizeof prev);
		store_res_free(r);
	}
	const char *hv = h;
	struct sval hd[2] = { SVI(new_head), SVT(hv) };
	sql_exec(st, "UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1", hd, 2);
}

static void test_checkpoint_catches_rewrite(void **state)
{
	(void)state;
	struct keys *k = test_keys();
	struct store *st = open_store();

	append_n(st, 1, 10);
	assert_int_equal(audit_checkpoint(st, k), 0);
	append_n(st, 11, 5);
	assert_int_equal(audit_checkpoint(st, k), 0);
	rewrite_chain(st, 5, 15, 15);
	expect_bad(st, k->sign_pk, 10, "checkpoint at 10: hash does not match entry 10 (chain rewritten)");
	store_close(st);

	/* The tail deleted and the head rolled back to entry 12. */
	st = open_store();
	append_n(st, 1, 15);
	assert_int_equal(audit_checkpoint(st, k), 0);
	struct sval d[1] = { SVI(12) };
	int64_t changes = 0;
	assert_int_equal(store_exec(st, "DELETE FROM audit_log WHERE seq > $1", d, 1, &changes), 0);
	assert_int_equal(changes, 3);
	struct store_res *r = NULL;
	assert_int_equal(store_query(st, "SELECT hash FROM audit_log WHERE seq = $1", d, 1, &r), 0);
	const char *h12 = store_res_text(r, 0, 0);
	struct sval hd[2] = { SVI(12), SVT(h12) };
	sql_exec(st, "UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1", hd, 2);
	store_res_free(r);
	expect_bad(st, k->sign_pk, 15, "checkpoint at 15: entry 15 missing (entries deleted)");
	store_close(st);
}

static void test_head_altered(void **state)
{
	(void)state;
	struct store *st = open_store();
	append_n(st, 1, 10);
	struct sval p[1] = { SVT(GENESIS) };
	sql_exec(st, "UPDATE audit_head SET hash = $1 WHERE id = 1", p, 1);
	expect_bad(st, test_keys()->sign_pk, 10, "head hash does not match entry 10");
	/* A checkpoint refuses to sign a head that does not match its entry. */
	assert_int_equal(audit_checkpoint(st, test_keys()), -1);
	assert_int_equal(count_checkpoints(st), 0);
	store_close(st);
}

static void test_misuse_and_utf8(void **state)
{
	(void)state;
	struct store *st = open_store();
	struct audit_entry e = { .actor = "admin", .action = "user.update" };

	/* audit_append_tx inside a transaction, and an entry without an action. */
	assert_int_equal(store_begin(st), 0);
	assert_int_equal(audit_append_tx(st, &e), -1);
	struct audit_entry noaction = { .actor = "admin" };
	assert_int_equal(audit_append(st, &noaction), -1);
	store_rollback(st);

	/* audit_append inside the caller's transaction, rolled back: no trace. */
	assert_int_equal(store_begin(st), 0);
	assert_int_equal(audit_append(st, &e), 0);
	store_rollback(st);
	int64_t n = -1;
	assert_int_equal(store_query_int(st, "SELECT seq FROM audit_head WHERE id = 1", NULL, 0, &n), 0);
	assert_int_equal(n, 0);

	/* Ill-formed UTF-8 from a client is stored repaired, on both drivers. */
	struct audit_entry bad = { .actor = "ab\xff" "c", .action = "login.fail",
				   .detail = "{\"login\":\"\xe4\xb8\"}" };
	assert_int_equal(audit_append_tx(st, &bad), 0);
	assert_int_equal(audit_append_tx(st, &e), 0);
	struct store_res *r = NULL;
	assert_int_equal(store_query(st, "SELECT actor, detail FROM audit_log WHERE seq = 1", NULL, 0, &r), 0);
	assert_string_equal(store_res_text(r, 0, 0), "ab\xef\xbf\xbd" "c");
	assert_string_equal(store_res_text(r, 0, 1), "{\"login\":\"\xef\xbf\xbd\xef\xbf\xbd\"}");
	store_res_free(r);
	struct audit_report rep = verify(st, test_keys()->sign_pk);
	if (!rep.ok)
		fail_msg("verify: %s", rep.reason);
	assert_int_equal(rep.entries, 2);
	store_close(st);
}

/* ---- concurrency ---- */

#define THREADS 4
#define PER_THREAD 50

struct worker {
	const char *uri;
	int id;
	int failures;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct store *st = NULL;
	char *err = NULL;

	if (store_open(w->uri, &st, &err) != 0) {
		fprintf(stderr, "worker %d: %s\n", w->id, err ? err : "?");
		free(err);
		w->failures = PER_THREAD;
		return NULL;
	}
	for (int i = 0; i < PER_THREAD; i++) {
		char detail[64];
		snprintf(detail, sizeof detail, "{\"thread\":%d,\"i\":%d}", w->id, i);
		struct audit_entry e = { .actor_id = w->id, .actor = "worker", .action = "test.write",
					 .dept_id = w->id, .detail = detail };
		if (i % 2 == 0) {
			if (audit_append_tx(st, &e) != 0)
				w->failures++;
			continue;
		}
		/* Inside the caller's transaction, retried as a request handler would. */
		int ok = 0;
		for (int attempt = 0; attempt < 5 && !ok; attempt++) {
			if (store_begin(st) != 0)
				continue;
			if (audit_append(st, &e) == 0 && store_commit(st) == 0)
				ok = 1;
			else
				store_rollback(st);
		}
		if (!ok)
			w->failures++;
	}
	store_close(st);
	return NULL;
}

static void test_concurrent(void **state)
{
	(void)state;
	char *uri = test_store_uri(), *err = NULL;
	struct store *st = NULL;

	if (test_is_pg()) {
		st = test_store_open();
	} else if (store_open(uri, &st, &err) != 0) {
		fail_msg("open %s: %s", uri, err ? err : "?");
	}
	migrate(st);

	pthread_t th[THREADS];
	struct worker w[THREADS];
	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){ .uri = uri, .id = i + 1 };
		assert_int_equal(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(w[i].failures, 0);
	}

	struct audit_report rep = verify(st, test_keys()->sign_pk);
	if (!rep.ok)
		fail_msg("verify: %s", rep.reason);
	assert_int_equal(rep.entries, THREADS * PER_THREAD);
	int64_t n = -1;
	assert_int_equal(store_query_int(st, "SELECT seq FROM audit_head WHERE id = 1", NULL, 0, &n), 0);
	assert_int_equal(n, THREADS * PER_THREAD);
	assert_int_equal(store_query_int(st, "SELECT COUNT(DISTINCT detail) FROM audit_log", NULL, 0, &n), 0);
	assert_int_equal(n, THREADS * PER_THREAD);
	store_close(st);
	free(uri);
}

/* Verification streams in pages: a chain longer than one page. */
static void test_long_chain(void **state)
{
	(void)state;
	struct store *st = open_store();
	/* Many appends in one transaction, as a bulk import would. */
	assert_int_equal(store_begin(st), 0);
	for (int i = 0; i < 2500; i++) {
		struct audit_entry e = { .actor = "system", .action = "import.row", .detail = "{}" };
		assert_int_equal(audit_append(st, &e), 0);
	}
	assert_int_equal(store_commit(st), 0);
	assert_int_equal(audit_checkpoint(st, test_keys()), 0);
	struct audit_report rep = verify(st, test_keys()->sign_pk);
	if (!rep.ok)
		fail_msg("verify: %s", rep.reason);
	assert_int_equal(rep.entries, 2500);
	assert_int_equal(rep.checkpoints, 1);
	/* A gap on the page boundary. */
	struct sval p[1] = { SVI(1001) };
	sql_exec(st, "DELETE FROM audit_log WHERE seq = $1", p, 1);
	expect_bad(st, test_keys()->sign_pk, 1001, "entry 1001 missing (seq gap)");
	store_close(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash_format),
		cmocka_unit_test(test_empty_chain),
		cmocka_unit_test(test_append_verify),
		cmocka_unit_test(test_tamper_detail),
		cmocka_unit_test(test_delete),
		cmocka_unit_test(test_break_link),
		cmocka_unit_test(test_checkpoint),
		cmocka_unit_test(test_checkpoint_catches_rewrite),
		cmocka_unit_test(test_head_altered),
		cmocka_unit_test(test_misuse_and_utf8),
		cmocka_unit_test(test_concurrent),
		cmocka_unit_test(test_long_chain),
	};
	return cmocka_run_group_tests_name("audit", tests, setup, teardown);
}
