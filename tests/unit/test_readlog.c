/*
 * Unit tests of core/readlog (the deferred journal of read audits) with the
 * registry's "reg_access" consumer (reg_access_defer): lines added are
 * ingested in order with their audit entries and tracker rows and the chain
 * verifies; a process killed before its lines were ingested leaves them to
 * the next start, which ingests each exactly once; torn lines (kept in the
 * current file until completed, dropped from a leftover one); recorded
 * positions are never ingested again; refused lines are set aside without
 * stopping the journal; rotation.  On the store under test (testutil.h).
 */
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "core/account.h"
#include "core/audit.h"
#include "core/crypto.h"
#include "core/readlog.h"
#include "engines/registry/registry.h"

#define SUBJECT "440106199005171236"

struct fx {
	struct store *st;
	char *uri;
	char *data;      /* the data folder; the spool is data/readlog */
	char *spool;
	struct keys keys;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	char *err = NULL;
	assert_non_null(f);
	assert_int_equal(crypto_init(), 0);
	f->data = test_tmpdir();
	assert_true(asprintf(&f->spool, "%s/readlog", f->data) > 0);
	if (test_is_pg()) {
		f->st = test_store_open();
		f->uri = test_store_uri();
	} else {
		assert_true(asprintf(&f->uri, "sqlite:%s/test.db", f->data) > 0);
		assert_int_equal(store_open(f->uri, &f->st, &err), 0);
	}
	assert_int_equal(store_migrate(f->st), 0);
	assert_int_equal(keys_load_or_create(f->data, &f->keys, &err), 0);
	assert_int_equal(reg_access_readlog_register(), 0);
	readlog_set_rotate_bytes(0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	readlog_stop();
	store_close(f->st);
	free(f->uri);
	free(f->spool);
	free(f->data);
	free(f);
	return 0;
}

static int64_t count(struct fx *f, const char *sql)
{
	int64_t n = -1;
	assert_int_equal(store_query_int(f->st, sql, NULL, 0, &n), STORE_OK);
	return n;
}

/* The *.log files of the spool folder; *name gets the first one (malloc'd) if wanted. */
static int spool_files(struct fx *f, char **name)
{
	DIR *d = opendir(f->spool);
	int n = 0;
	struct dirent *de;
	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		if (len > 4 && strcmp(de->d_name + len - 4, ".log") == 0) {
			if (name != NULL && n == 0)
				*name = strdup(de->d_name);
			n++;
		}
	}
	closedir(d);
	return n;
}

/* One read as the sharing API records it: entry "test.read" on obj:<i>, one access row. */
static int add_read(struct fx *f, int i)
{
	char obj[32], detail[64];
	snprintf(obj, sizeof obj, "obj:%d", i);
	snprintf(detail, sizeof detail, "{\"i\":%d,\"keys\":[\"4401**********1236\"]}", i);
	struct audit_entry e = { 7, "wang.mca", "test.read", obj, 3, "127.0.0.1", detail };
	struct reg_access a = { 3, 7, "wang.mca", "population", SUBJECT, "最低生活保障审核", "grant:1", "name,address",
				"api" };
	return reg_access_defer(f->st, &f->keys, &e, &a, 1);
}

/* Whether assert_reads expects "read_at" in details (entries ingested from the journal). */
static int expect_read_at = 1;

/* Audit entries test.read, in chain order, are obj:from .. obj:to-1, each once. */
static void assert_reads(struct fx *f, int from, int to)
{
	struct store_res *res = NULL;
	assert_int_equal(store_query(f->st, "SELECT object, detail FROM audit_log WHERE action = 'test.read' ORDER BY seq",
				     NULL, 0, &res),
			 STORE_OK);
	assert_int_equal(store_res_rows(res), to - from);
	for (int i = from; i < to; i++) {
		char obj[32];
		snprintf(obj, sizeof obj, "obj:%d", i);
		assert_string_equal(store_res_text(res, i - from, 0), obj);
		assert_int_equal(strstr(store_res_text(res, i - from, 1), "\"read_at\":") != NULL, expect_read_at);
	}
	store_res_free(res);
	assert_int_equal(count(f, "SELECT COUNT(*) FROM reg_access WHERE registry = 'population'"), to - from);
}

static void assert_chain(struct fx *f)
{
	struct audit_report rep;
	assert_int_equal(audit_verify(f->st, f->keys.sign_pk, &rep), 0);
	if (!rep.ok)
		fail_msg("audit chain: %s", rep.reason);
}

/* A line as readlog_add writes it, for hand-made leftover files. */
static char *line_of(int i, int64_t at)
{
	char *s = NULL;
	assert_true(asprintf(&s,
			     "{\"v\":1,\"at\":%lld,\"e\":{\"actor_id\":7,\"actor\":\"wang.mca\",\"action\":\"test.read\","
			     "\"object\":\"obj:%d\",\"dept_id\":3,\"ip\":null,\"detail\":null},\"kind\":\"reg_access\","
			     "\"ext\":{\"rows\":[{\"dept_id\":3,\"actor_id\":7,\"actor\":\"wang.mca\",\"registry\":"
			     "\"population\",\"subject_hash\":null,\"purpose\":\"p\",\"basis\":\"owner\",\"fields\":\"name\","
			     "\"via\":\"api\"}]}}\n",
			     (long long)at, i) > 0);
	return s;
}

static void write_file(struct fx *f, const char *name, const char *text)
{
	char *path = NULL;
	assert_int_equal(mkdir(f->spool, 0700) == 0 || errno == EEXIST, 1);
	assert_true(asprintf(&path, "%s/%s", f->spool, name) > 0);
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	free(path);
}

/* ------------------------------------------------------------ tests */

static void test_add_sync_rows_in_order(void **state)
{
	struct fx *f = *state;
	char hash[65];
	assert_int_equal(readlog_start(f->data, f->uri, &f->keys), 0);
	assert_int_equal(readlog_running(), 1);
	assert_int_equal(spool_files(f, NULL), 1);
	for (int i = 0; i < 50; i++)
		assert_int_equal(add_read(f, i), 0);
	/* a refusal: an entry without rows */
	struct audit_entry e = { 7, "wang.mca", "test.refuse", "registry:population", 3, NULL, NULL };
	assert_int_equal(reg_access_defer(f->st, &f->keys, &e, NULL, 0), 0);
	/* text that needs escaping, and bytes that are not UTF-8 (stored as U+FFFD) */
	struct audit_entry odd = { 7, "a\"b\\c\n\x01", "test.odd", "对象", 3, "\xff" "1", "{\"q\":\"\\\"\"}" };
	assert_int_equal(readlog_add(&odd, NULL, NULL), 0);
	assert_int_equal(readlog_sync(), 0);
	struct store_res *res = NULL;
	assert_int_equal(store_query(f->st, "SELECT actor, object, ip, detail FROM audit_log WHERE action = 'test.odd'",
				     NULL, 0, &res),
			 STORE_OK);
	assert_int_equal(store_res_rows(res), 1);
	assert_string_equal(store_res_text(res, 0, 0), "a\"b\\c\n\x01");
	assert_string_equal(store_res_text(res, 0, 1), "对象");
	assert_string_equal(store_res_text(res, 0, 2), "\xef\xbf\xbd" "1");
	assert_non_null(strstr(store_res_text(res, 0, 3), "\"q\":\"\\\"\""));
	json_t *dj = json_loads(store_res_text(res, 0, 3), JSON_REJECT_DUPLICATES, NULL);
	assert_non_null(dj);
	assert_true(json_is_integer(json_object_get(dj, "read_at")));
	json_decref(dj);
	store_res_free(res);
	assert_reads(f, 0, 50);
	assert_int_equal(count(f, "SELECT COUNT(*) FROM audit_log WHERE action = 'test.refuse'"), 1);
	/* the subject is stored hashed, with the read's time */
	account_ident_hash(&f->keys, SUBJECT, hash);
	struct sval p[] = { SVT(hash) };
	int64_t n = 0;
	assert_int_equal(store_query_int(f->st, "SELECT COUNT(*) FROM reg_access WHERE subject_hash = $1", p, 1, &n),
			 STORE_OK);
	assert_int_equal(n, 50);
	int64_t at = 0;
	assert_int_equal(store_query_int(f->st, "SELECT MIN(at) FROM reg_access", NULL, 0, &at), STORE_OK);
	assert_true(at >= (int64_t)time(NULL) - 60 && at <= (int64_t)time(NULL));
	/* no clear identifier in the spool */
	char *name = NULL, *path = NULL, buf[65536];
	assert_int_equal(spool_files(f, &name), 1);
	assert_true(asprintf(&path, "%s/%s", f->spool, name) > 0);
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	ssize_t got = read(fd, buf, sizeof buf - 1);
	assert_true(got > 0);
	buf[got] = '\0';
	close(fd);
	assert_null(strstr(buf, SUBJECT));
	assert_non_null(strstr(buf, hash));
	assert_chain(f);
	/* the whole file is recorded as consumed */
	struct sval q[] = { SVT(name) };
	int64_t pos = 0;
	assert_int_equal(store_query_int(f->st, "SELECT pos FROM readlog_progress WHERE file = $1", q, 1, &pos),
			 STORE_OK);
	assert_int_equal(pos, got);
	/* stop: nothing left, the file and its position are gone */
	readlog_stop();
	assert_int_equal(readlog_running(), 0);
	assert_int_equal(spool_files(f, NULL), 0);
	assert_int_equal(count(f, "SELECT COUNT(*) FROM readlog_progress"), 0);
	/* a new start ingests nothing again */
	assert_int_equal(readlog_start(f->data, f->uri, &f->keys), 0);
	assert_int_equal(readlog_sync(), 0);
	assert_reads(f, 0, 50);
	free(name);
	free(path);
}

/* Without the journal, reg_access_defer writes at once. */
static void test_defer_without_journal_is_synchronous(void **state)
{
	struct fx *f = *state;
	expect_read_at = 0;
	assert_int_equal(readlog_running(), 0);
	assert_int_equal(add_read(f, 0), 0);
	assert_reads(f, 0, 1);
	/* in the caller's transaction: rolled back with it */
	assert_int_equal(store_begin(f->st), STORE_OK);
	assert_int_equal(add_read(f, 1), 0);
	store_rollback(f->st);
	assert_reads(f, 0, 1);
	/* bad rows are refused before anything is written */
	struct reg_access bad = { 0, 7, "x", "population", NULL, "p", "owner", "name", "api" };
	struct audit_entry e = { 7, "wang.mca", "test.read", "obj:9", 3, NULL, NULL };
	assert_int_equal(reg_access_defer(f->st, &f->keys, &e, &bad, 1), -1);
	assert_int_equal(readlog_start(f->data, f->uri, &f->keys), 0);
	assert_int_equal(reg_access_defer(f->st, &f->keys, &e, &bad, 1), -1);
	assert_int_equal(readlog_add(NULL, NULL, NULL) == 0, 1);      /* an empty line is legal for the journal */
	assert_int_equal(readlog_sync(), 0);
	assert_reads(f, 0, 1);
	assert_chain(f);
	expect_read_at = 1;
}

/*
 * A child process spools reads and is killed with SIGKILL, some ingested and
 * some not; the next start ingests the rest, each exactly once.
 */
static void test_killed_process_lines_ingested_once(void **state)
{
	struct fx *f = *state;
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (readlog_start(f->data, f->uri, &f->keys) != 0)
			_exit(3);
		for (int i = 0; i < 100; i++)
			if (add_read(f, i) != 0)
				_exit(4);
		if (readlog_sync() != 0)
			_exit(5);
		for (int i = 100; i < 300; i++)
			if (add_read(f, i) != 0)
				_exit(6);
		kill(getpid(), SIGKILL);
		_exit(7);
	}
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	int64_t before = count(f, "SELECT COUNT(*) FROM audit_log WHERE action = 'test.read'");
	assert_true(before >= 100 && before <= 300);
	assert_int_equal(spool_files(f, NULL), 1);
	/* the restart ingests the rest before it returns */
	assert_int_equal(readlog_start(f->data, f->uri, &f->keys), 0);
	assert_reads(f, 0, 300);
	assert_int_equal(spool_files(f, NULL), 1);      /* only the new current file */
	assert_int_equal(count(f, "SELECT COUNT(*) FROM readlog_progress"), 0);
	readlog_stop();
	assert_reads(f, 0, 300);
	assert_chain(f);
}

/* A leftover file with a recorded position: only what follows it is ingested. */
static void test_recorded_position_not_ingested_again(void **state)
{
	struct fx *f = *state;
	char *l0 = line_of(0, 1700000000), *l1 = line_of(1, 1700000001), *l2 = line_of(2, 1700000002);
	char *text = NULL;
	assert_true(asprintf(&text, "%s%s%s", l0, l1, l2) > 0);
	write_file(f, "old-0000000000000001-aaaaaaaa.log", text);
	/* line 0 was ingested by the dead process (its entry is not here: we check it is not added) */
	struct sval p[] = { SVT("old-0000000000000001-aaaaaaaa.log"), SVI(strlen(l0)), SVI(1) };
	assert_int_equal(store_exec(f->st, "INSERT INTO readlog_progress (file, pos, updated_at) VALUES ($1, $2, $3)", p,
				    3, NULL),
			 STORE_OK);
	assert_int_equal(readlog_start(f->data, f->uri, &f->keys), 0);
	assert_reads(f, 1, 3);
	/* the read's real time is kept */
	assert_int_equal(count(f, "SELECT COUNT(*) FROM reg_access WHERE at = 1700000001"), 1);
	assert_int_equal(count(f, "SELECT COUNT(*) FROM audit_log WHERE detail LIKE '%\"read_at\":1700000002%'"), 1);
	assert_int_equal(spool_files(f, NULL), 1);
	assert_int_equal(count(f, "SELECT COUNT(*) FROM readlog_progress"), 0);
	/* a file fully consumed before the crash (position = size) is only removed */
	write_file(f, "old-0000000000000002-bbbbbbbb.log", l0);
	struct sval q[] = { SVT("old-0000000000000002-bbbbbbbb.log"), SVI(strlen(l0)), SVI(1) };
	assert_int_equal(store_exec(f->st, "INSERT INTO readlog_progress (file, pos, updated_at) VALUES ($1, $2, $3)", q,
				    3, NULL),
			 STORE_OK);
	readlog_stop();
	assert_int_equal(readlog_start(f->data, f->uri, &f->keys), 0);
	assert_reads(f, 1, 3);
	assert_int_equal(spool_files(f, NULL), 1);
	assert_int_equal(count(f, "SELECT COUNT(*) FROM readlog_progress"), 0);
	assert_chain(f);
	free(l0);
	free(l1);
	free(l2);
	free(text);
}

/* A torn last line: dropped from a leftover file, kept in the current one until completed. */
static void test_torn_lines(void **state)
{
	struct fx *f = *state;
	char *l0 = line_of(0, 1700000000), *l1 = line_of(1, 1700000001), *text = NULL;
	assert_true(asprintf(&text, "%s%.*s", l0, (int)strlen(l1) / 2, l1) > 0);
	write_file(f, "old-0000000000000001-cccccccc.log", text);
	assert_int_equal(readlog_start(f->data, f->uri, &f->keys), 0);
	assert_reads(f, 0, 1);
	char *rej = NULL;
	struct stat sb;
	assert_true(asprintf(&rej, "%s/rejected.jsonl", f->spool) > 0);
	assert_int_equal(stat(rej, &sb), 0);
	assert_true(sb.st_size > 0);

	/* the current file: half a line stays until its end arrives */
	char *cur = NULL, *path = NULL;
	assert_int_equal(spool_files(f, &cur), 1);
	assert_true(asprintf(&path, "%s/%s", f->spool, cur) > 0);
	int fd = open(path, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	size_t half = strlen(l1) / 2;
	assert_int_equal(write(fd, l1, half), (ssize_t)half);
	assert_int_equal(readlog_sync(), 0);
	assert_reads(f, 0, 1);
	assert_int_equal(write(fd, l1 + half, strlen(l1) - half), (ssize_t)(strlen(l1) - half));
	close(fd);
	assert_int_equal(readlog_sync(), 0);
	assert_reads(f, 0, 2);
	assert_int_equal(add_read(f, 2), 0);
	assert_int_equal(readlog_sync(), 0);
	assert_reads(f, 0, 3);
	assert_chain(f);
	free(l0);
	free(l1);
	free(text);
	free(rej);
	free(cur);
	free(path);
}

/* A line the store refuses is set aside; the lines around it go in. */
static void test_bad_line_set_aside(void **state)
{
	struct fx *f = *state;
	char *l0 = line_of(0, 1700000000), *l1 = line_of(1, 1700000001), *text = NULL;
	assert_true(asprintf(&text,
			     "%s{\"v\":1,\"at\":1,\"e\":null,\"kind\":\"no_such_kind\",\"ext\":{}}\n"
			     "not json at all\n"
			     "{\"v\":1,\"at\":1,\"e\":null,\"kind\":null,\"ext\":null,\"extra\":1}\n"
			     "{\"v\":1,\"at\":1,\"e\":{\"actor_id\":1,\"actor\":\"x\",\"action\":\"t\",\"object\":\"\\ud800\","
			     "\"dept_id\":1,\"ip\":null,\"detail\":null},\"kind\":null,\"ext\":null}\n"
			     /* another member order, spaces, escapes */
			     "{ \"ext\": null, \"kind\": null, \"at\": 1700000005, \"v\": 1, \"e\": {\"detail\": \"{}\", "
			     "\"ip\": \"::1\", \"dept_id\": 3, \"object\": \"esc:\\u00e9\\ud83d\\ude00\\t\\/\", "
			     "\"action\": \"test.general\", \"actor\": null, \"actor_id\": 0} }\n"
			     /* readlog_add's own shape, with escapes */
			     "{\"v\":1,\"at\":1700000006,\"e\":{\"actor_id\":0,\"actor\":\"\\\"q\\\"\",\"action\":"
			     "\"test.fast\",\"object\":\"esc:\\u00e9\\ud83d\\ude00\\t\\/\",\"dept_id\":3,\"ip\":null,"
			     "\"detail\":\"{\\\"a\\\":1}\"},\"kind\":null,\"ext\":null}\n"
			     "%s",
			     l0, l1) > 0);
	write_file(f, "old-0000000000000001-dddddddd.log", text);
	assert_int_equal(readlog_start(f->data, f->uri, &f->keys), 0);
	assert_reads(f, 0, 2);
	struct store_res *res = NULL;
	assert_int_equal(store_query(f->st, "SELECT action, object, actor, detail FROM audit_log WHERE action IN "
					    "('test.general', 'test.fast') ORDER BY seq",
				     NULL, 0, &res),
			 STORE_OK);
	assert_int_equal(store_res_rows(res), 2);
	assert_string_equal(store_res_text(res, 0, 1), "esc:\xc3\xa9\xf0\x9f\x98\x80\t/");
	assert_string_equal(store_res_text(res, 0, 2), "anonymous");
	assert_string_equal(store_res_text(res, 0, 3), "{\"read_at\":1700000005}");
	assert_string_equal(store_res_text(res, 1, 1), "esc:\xc3\xa9\xf0\x9f\x98\x80\t/");
	assert_string_equal(store_res_text(res, 1, 2), "\"q\"");
	assert_string_equal(store_res_text(res, 1, 3), "{\"read_at\":1700000006,\"a\":1}");
	store_res_free(res);
	char *rej = NULL, buf[8192];
	assert_true(asprintf(&rej, "%s/rejected.jsonl", f->spool) > 0);
	int fd = open(rej, O_RDONLY);
	assert_true(fd >= 0);
	ssize_t got = read(fd, buf, sizeof buf - 1);
	close(fd);
	assert_true(got > 0);
	buf[got] = '\0';
	assert_non_null(strstr(buf, "no_such_kind"));
	assert_non_null(strstr(buf, "not json at all"));
	assert_non_null(strstr(buf, "\"extra\":1"));
	assert_non_null(strstr(buf, "\\ud800"));
	assert_null(strstr(buf, "obj:0"));
	assert_chain(f);
	free(l0);
	free(l1);
	free(text);
	free(rej);
}

/* A consumed file larger than the limit is replaced by a new one and removed. */
static void test_rotation(void **state)
{
	struct fx *f = *state;
	char *first = NULL, *now = NULL;
	readlog_set_rotate_bytes(4096);
	assert_int_equal(readlog_start(f->data, f->uri, &f->keys), 0);
	assert_int_equal(spool_files(f, &first), 1);
	for (int i = 0; i < 200; i++) {
		assert_int_equal(add_read(f, i), 0);
		if (i % 20 == 19)
			assert_int_equal(readlog_sync(), 0);
		assert_true(spool_files(f, NULL) <= 2);
	}
	assert_int_equal(readlog_sync(), 0);
	assert_int_equal(readlog_sync(), 0);    /* the second one rotates what the first consumed */
	assert_reads(f, 0, 200);
	assert_int_equal(spool_files(f, &now), 1);
	assert_string_not_equal(first, now);
	assert_true(count(f, "SELECT COUNT(*) FROM readlog_progress") <= 1);
	readlog_stop();
	assert_int_equal(spool_files(f, NULL), 0);
	assert_reads(f, 0, 200);
	assert_chain(f);
	free(first);
	free(now);
}

/* Several threads adding at once: every line whole, each ingested once. */
struct adder {
	struct fx *f;
	int base;
};

static void *adder_main(void *p)
{
	struct adder *a = p;
	char obj[32], detail[8192];
	/* long details: lines beyond PIPE_BUF */
	int n = snprintf(detail, sizeof detail, "{\"pad\":\"");
	memset(detail + n, 'x', sizeof detail - (size_t)n - 3);
	memcpy(detail + sizeof detail - 3, "\"}", 3);
	for (int i = 0; i < 200; i++) {
		snprintf(obj, sizeof obj, "t%d:%d", a->base, i);
		struct audit_entry e = { 7, "wang.mca", "test.thread", obj, 3, NULL, detail };
		if (readlog_add(&e, NULL, NULL) != 0)
			return (void *)1;
	}
	return NULL;
}

static void test_concurrent_adds(void **state)
{
	struct fx *f = *state;
	pthread_t t[4];
	struct adder a[4];
	char *first = NULL, *now = NULL;
	readlog_set_rotate_bytes(65536);
	assert_int_equal(readlog_start(f->data, f->uri, &f->keys), 0);
	assert_int_equal(spool_files(f, &first), 1);
	for (int i = 0; i < 4; i++) {
		a[i] = (struct adder){ f, i };
		assert_int_equal(pthread_create(&t[i], NULL, adder_main, &a[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		void *rv = NULL;
		pthread_join(t[i], &rv);
		assert_null(rv);
	}
	assert_int_equal(readlog_sync(), 0);
	assert_int_equal(count(f, "SELECT COUNT(*) FROM audit_log WHERE action = 'test.thread'"), 800);
	assert_int_equal(count(f, "SELECT COUNT(DISTINCT object) FROM audit_log WHERE action = 'test.thread'"), 800);
	/* rotated while the writers went on: one file left, not the first */
	assert_int_equal(spool_files(f, &now), 1);
	assert_string_not_equal(first, now);
	assert_true(count(f, "SELECT COUNT(*) FROM readlog_progress") <= 1);
	free(first);
	free(now);
	char *rej = NULL;
	struct stat sb;
	assert_true(asprintf(&rej, "%s/rejected.jsonl", f->spool) > 0);
	assert_int_equal(stat(rej, &sb), -1);
	free(rej);
	assert_chain(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_add_sync_rows_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_defer_without_journal_is_synchronous, setup, teardown),
		cmocka_unit_test_setup_teardown(test_killed_process_lines_ingested_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recorded_position_not_ingested_again, setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_line_set_aside, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_adds, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
