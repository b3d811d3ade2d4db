/*
 * The baseline of the submission benchmark (bench/hall.sh): the same rows
 * the HTTP API wrote, inserted straight into SQLite.
 *
 *   raw_replay SRC.db DST.db FIRST-CASE-ID
 *
 * SRC.db is the store of a stopped `yizhan serve` into which the run
 * submitted the applications whose cases have ids >= FIRST-CASE-ID.
 * Untimed setup: DST.db (a new file) gets SRC's schema (the CREATE
 * statements of sqlite_master) and every row SRC had before the run, so
 * that foreign keys and indexes see the same store; a map in a temporary
 * table says which rows of SRC each submission wrote:
 *   cases            the case (id)
 *   case_events      its timeline (case_id): created, attach, submit
 *   case_attachments its material (case_id)
 *   audit_log        the audit entries of the request (object "case:<id>"),
 *                    and audit_head moved to the last of them
 *   messages         the notifications of its events (dedup "case:<id>:…")
 *   notify_outbox    their mail/SMS queue entries (message_id)
 *   idempotency      the stored answer of the request (its body's "id")
 * Timed: with the server's settings (WAL, synchronous=FULL, foreign keys
 * on), per submission, in the order of the case ids, ONE transaction that
 * runs a prepared "INSERT INTO main.T SELECT * FROM src.T WHERE rowid IN
 * (the submission's rows of T)" per table and the audit_head update.  The
 * material file's row is not replayed: it was uploaded once, before the
 * run, and every application names it.
 *
 * Prints "raw_replay: N submissions, R rows, S s, X submissions/s".
 * Exit status 0, or 1 when something could not run.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static sqlite3 *db;

static double secs(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int run(const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		fprintf(stderr, "raw_replay: %s\n  in: %.300s\n", msg ? msg : sqlite3_errmsg(db), sql);
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

/* Runs every statement of a query's single text column (the schema). */
static int run_each(const char *query)
{
	sqlite3_stmt *q = NULL;
	int rc = 0;
	if (sqlite3_prepare_v2(db, query, -1, &q, NULL) != SQLITE_OK) {
		fprintf(stderr, "raw_replay: %s\n", sqlite3_errmsg(db));
		return -1;
	}
	while (rc == 0 && sqlite3_step(q) == SQLITE_ROW) {
		char *sql = sqlite3_mprintf("%s", (const char *)sqlite3_column_text(q, 0));
		rc = run(sql);
		sqlite3_free(sql);
	}
	sqlite3_finalize(q);
	return rc;
}

/* The tables a submission writes, in an order that satisfies the foreign keys. */
static const char *const TABLES[] = { "cases", "case_events", "case_attachments", "audit_log",
				      "messages", "notify_outbox", "idempotency" };
#define NTABLES ((int)(sizeof TABLES / sizeof *TABLES))

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: raw_replay SRC.db DST.db FIRST-CASE-ID\n");
		return 2;
	}
	char *end = NULL;
	long long first = strtoll(argv[3], &end, 10);
	if (end == argv[3] || *end != '\0' || first < 1) {
		fprintf(stderr, "raw_replay: bad case id %s\n", argv[3]);
		return 2;
	}
	unlink(argv[2]);
	if (sqlite3_open_v2(argv[2], &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI, NULL) !=
	    SQLITE_OK) {
		fprintf(stderr, "raw_replay: %s: %s\n", argv[2], sqlite3_errmsg(db));
		return 1;
	}
	sqlite3_stmt *ids = NULL, *st[NTABLES + 1] = { NULL };
	int rc = 1;
	char *sql = sqlite3_mprintf("ATTACH 'file:%q?mode=ro' AS src", argv[1]);
	int bad = run("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=OFF") != 0 ||
		  run(sql) != 0;
	sqlite3_free(sql);
	if (bad)
		goto out;

	/* ---- setup, untimed: schema, the map, the rows from before the run ---- */
	if (run_each("SELECT sql FROM src.sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
		     "AND sql IS NOT NULL ORDER BY rowid") != 0)
		goto out;
	sql = sqlite3_mprintf(
		"CREATE TEMP TABLE m (t TEXT NOT NULL, case_id INTEGER NOT NULL, rid INTEGER NOT NULL, "
		"PRIMARY KEY (t, case_id, rid)) WITHOUT ROWID;"
		"INSERT INTO m SELECT 'cases', id, rowid FROM src.cases WHERE id >= %lld;"
		"INSERT INTO m SELECT 'case_events', case_id, rowid FROM src.case_events WHERE case_id >= %lld;"
		"INSERT INTO m SELECT 'case_attachments', case_id, rowid FROM src.case_attachments WHERE case_id >= %lld;"
		"INSERT INTO m SELECT 'audit_log', CAST(substr(object, 6) AS INTEGER), rowid FROM src.audit_log "
		" WHERE object LIKE 'case:%%' AND CAST(substr(object, 6) AS INTEGER) >= %lld;"
		"INSERT INTO m SELECT 'messages', CAST(substr(dedup, 6) AS INTEGER), rowid FROM src.messages "
		" WHERE dedup LIKE 'case:%%' AND CAST(substr(dedup, 6) AS INTEGER) >= %lld;"
		"INSERT INTO m SELECT 'notify_outbox', m.case_id, o.rowid FROM src.notify_outbox o "
		" JOIN m ON m.t = 'messages' AND m.rid = o.message_id;"
		"INSERT INTO m SELECT 'idempotency', json_extract(body, '$.id'), rowid FROM src.idempotency "
		" WHERE route = '/api/v1/hall/items/{code}/applications' AND status = 201 AND json_valid(body) "
		" AND json_extract(body, '$.id') >= %lld;",
		first, first, first, first, first, first);
	bad = run(sql) != 0;
	sqlite3_free(sql);
	if (bad)
		goto out;
	{
		/* every table's rows from before the run */
		sqlite3_stmt *q = NULL;
		if (sqlite3_prepare_v2(db,
				       "SELECT name FROM src.sqlite_master WHERE type = 'table' "
				       "AND name NOT LIKE 'sqlite_%' ORDER BY rowid",
				       -1, &q, NULL) != SQLITE_OK)
			goto out;
		while (!bad && sqlite3_step(q) == SQLITE_ROW) {
			const char *t = (const char *)sqlite3_column_text(q, 0);
			sql = sqlite3_mprintf("INSERT INTO main.\"%w\" SELECT * FROM src.\"%w\" WHERE rowid NOT IN "
					      "(SELECT rid FROM m WHERE t = %Q)",
					      t, t, t);
			bad = run(sql) != 0;
			sqlite3_free(sql);
		}
		sqlite3_finalize(q);
		if (bad)
			goto out;
	}
	/* the audit chain's head as it was before the run: the last entry not of the run */
	if (run("UPDATE main.audit_head SET seq = a.seq, hash = a.hash FROM "
		"(SELECT seq, hash FROM main.audit_log ORDER BY seq DESC LIMIT 1) a WHERE id = 1") != 0 ||
	    run_each("SELECT sql FROM src.sqlite_master WHERE type IN ('index', 'trigger', 'view') "
		     "AND sql IS NOT NULL ORDER BY rowid") != 0 ||
	    run("PRAGMA foreign_keys=ON; PRAGMA wal_checkpoint(TRUNCATE)") != 0)
		goto out;

	for (int i = 0; i < NTABLES; i++) {
		sql = sqlite3_mprintf("INSERT INTO main.\"%w\" SELECT * FROM src.\"%w\" WHERE rowid IN "
				      "(SELECT rid FROM m WHERE t = %Q AND case_id = ?1 ORDER BY rid)",
				      TABLES[i], TABLES[i], TABLES[i]);
		bad = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st[i], NULL) != SQLITE_OK;
		sqlite3_free(sql);
		if (bad) {
			fprintf(stderr, "raw_replay: %s: %s\n", TABLES[i], sqlite3_errmsg(db));
			goto out;
		}
	}
	if (sqlite3_prepare_v3(db,
			       "UPDATE main.audit_head SET seq = a.seq, hash = a.hash FROM "
			       "(SELECT seq, hash FROM src.audit_log WHERE rowid = "
			       "(SELECT max(rid) FROM m WHERE t = 'audit_log' AND case_id = ?1)) a WHERE id = 1",
			       -1, SQLITE_PREPARE_PERSISTENT, &st[NTABLES], NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "SELECT case_id FROM m WHERE t = 'cases' ORDER BY case_id", -1, &ids, NULL) !=
		    SQLITE_OK) {
		fprintf(stderr, "raw_replay: %s\n", sqlite3_errmsg(db));
		goto out;
	}

	/* ---- timed: one transaction per submission ---- */
	long long n = 0, rows = 0;
	double t0 = secs();
	while (sqlite3_step(ids) == SQLITE_ROW) {
		sqlite3_int64 id = sqlite3_column_int64(ids, 0);
		if (run("BEGIN IMMEDIATE") != 0)
			goto out;
		for (int i = 0; i <= NTABLES; i++) {
			sqlite3_bind_int64(st[i], 1, id);
			if (sqlite3_step(st[i]) != SQLITE_DONE) {
				fprintf(stderr, "raw_replay: case %lld: %s\n", (long long)id, sqlite3_errmsg(db));
				goto out;
			}
			if (i < NTABLES)
				rows += sqlite3_changes(db);
			sqlite3_reset(st[i]);
		}
		if (run("COMMIT") != 0)
			goto out;
		n++;
	}
	double dt = secs() - t0;
	if (n == 0) {
		fprintf(stderr, "raw_replay: no case with id >= %lld in %s\n", first, argv[1]);
		goto out;
	}
	printf("raw_replay: %lld submissions, %lld rows, %.3f s, %.1f submissions/s\n", n, rows, dt,
	       (double)n / dt);
	rc = 0;
out:
	sqlite3_finalize(ids);
	for (int i = 0; i <= NTABLES; i++)
		sqlite3_finalize(st[i]);
	if (rc != 0 && sqlite3_get_autocommit(db) == 0)
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(db);
	return rc;
}
