/*
 * audit: the append-only, hash-chained audit trail (see audit.h).
 *
 * Tables (migrations/core/0002_audit.sql): audit_log, one row per entry,
 * seq assigned here as head.seq + 1; audit_head, the one row holding the
 * last seq and hash, locked by the appending transaction; and
 * audit_checkpoints, Ed25519 signatures of the head now and then.
 *
 * Entry hash: SHA-256 over ten fields in this order: prev_hash, seq, ts,
 * actor_id, actor, action, object, dept_id, ip, detail.  Each field is
 * encoded as
 *     0x00                                  for SQL NULL, or
 *     0x01, 8-byte big-endian length, bytes otherwise,
 * integers as their canonical decimal text ("-12", "0"), prev_hash as its
 * 64 lower-case hex characters.  The hash is stored as lower-case hex.
 * The length prefix keeps ("ab", "c") and ("a", "bc") apart, the tag keeps
 * NULL apart from "".  Verification hashes the cells exactly as stored
 * (bytes and lengths), so any change to any cell is caught.
 *
 * Checkpoint signature: Ed25519 (server sign.key) over the text
 *     "yizhan-audit-checkpoint\n<seq>\n<hash>\n<ts>"
 * stored as 128 hex characters.
 */
#include "core/audit.h"
#include "core/log.h"
#include "core/validate.h"
#include "core/xalloc.h"

#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#define GENESIS_HASH "0000000000000000000000000000000000000000000000000000000000000000"
#define VERIFY_PAGE 1000
#define TX_RETRIES 3          /* retries after the first attempt, on STORE_BUSY */

/* Every statement of the module: static texts, so the store caches them. */
enum audit_stmt {
	ST_HEAD_LOCK_PG,
	ST_HEAD,
	ST_INSERT,
	ST_HEAD_SET,
	ST_CP_LAST,
	ST_ENTRY_HASH,
	ST_CP_INSERT,
	ST_PAGE,
	ST_CP_PAGE,
	ST__MAX
};

static const char *const sql[ST__MAX] = {
	[ST_HEAD_LOCK_PG] = "SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE",
	/* SQLite: BEGIN IMMEDIATE already serialises writers. */
	[ST_HEAD] = "SELECT seq, hash FROM audit_head WHERE id = 1",
	[ST_INSERT] = "INSERT INTO audit_log (seq, ts, actor_id, actor, action, object, dept_id, "
		      "ip, detail, prev_hash, hash) "
		      "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
	[ST_HEAD_SET] = "UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1 AND seq = $3",
	[ST_CP_LAST] = "SELECT seq FROM audit_checkpoints ORDER BY seq DESC LIMIT 1",
	[ST_ENTRY_HASH] = "SELECT hash FROM audit_log WHERE seq = $1",
	[ST_CP_INSERT] = "INSERT INTO audit_checkpoints (seq, ts, hash, signature) "
			 "VALUES ($1, $2, $3, $4)",
	/* Columns in hash-field order, then the stored hash. */
	[ST_PAGE] = "SELECT prev_hash, seq, ts, actor_id, actor, action, object, dept_id, ip, "
		    "detail, hash FROM audit_log WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT $3",
	[ST_CP_PAGE] = "SELECT c.seq, c.ts, c.hash, c.signature, l.hash "
		       "FROM audit_checkpoints c LEFT JOIN audit_log l ON l.seq = c.seq "
		       "WHERE c.seq > $1 ORDER BY c.seq LIMIT $2",
};

/* ---- clock ------------------------------------------------------------------- */

static time_t (*audit_clock)(void);

void audit_set_clock(time_t (*fn)(void))
{
	audit_clock = fn;
}

static int64_t audit_now(void)
{
	return audit_clock != NULL ? (int64_t)audit_clock() : (int64_t)time(NULL);
}

/* ---- hashing ----------------------------------------------------------------- */

enum hash_field {
	HF_PREV, HF_SEQ, HF_TS, HF_ACTOR_ID, HF_ACTOR, HF_ACTION, HF_OBJECT, HF_DEPT, HF_IP,
	HF_DETAIL, HF__MAX
};

struct hfield {
	const char *p;    /* NULL for SQL NULL */
	size_t len;
};

static void chain_hash(const struct hfield f[HF__MAX], char out[65])
{
	crypto_hash_sha256_state h;
	unsigned char digest[crypto_hash_sha256_BYTES];

	crypto_hash_sha256_init(&h);
	for (int i = 0; i < HF__MAX; i++) {
		unsigned char hdr[9];
		if (f[i].p == NULL) {
			hdr[0] = 0;
			crypto_hash_sha256_update(&h, hdr, 1);
			continue;
		}
		uint64_t len = f[i].len;
		hdr[0] = 1;
		for (int b = 0; b < 8; b++)
			hdr[1 + b] = (unsigned char)(len >> (56 - 8 * b));
		crypto_hash_sha256_update(&h, hdr, sizeof hdr);
		crypto_hash_sha256_update(&h, (const unsigned char *)f[i].p, f[i].len);
	}
	crypto_hash_sha256_final(&h, digest);
	sodium_bin2hex(out, 65, digest, sizeof digest);
}

static struct hfield hstr(const char *s)
{
	return (struct hfield){ s, s != NULL ? strlen(s) : 0 };
}

void audit_hash(const char *prev_hash, int64_t seq, int64_t ts, const struct audit_entry *e,
		char out[65])
{
	char nseq[24], nts[24], nactor[24], ndept[24];
	struct hfield f[HF__MAX];

	snprintf(nseq, sizeof nseq, "%" PRId64, seq);
	snprintf(nts, sizeof nts, "%" PRId64, ts);
	snprintf(nactor, sizeof nactor, "%" PRId64, e->actor_id);
	snprintf(ndept, sizeof ndept, "%" PRId64, e->dept_id);
	f[HF_PREV] = hstr(prev_hash);
	f[HF_SEQ] = hstr(nseq);
	f[HF_TS] = hstr(nts);
	f[HF_ACTOR_ID] = hstr(nactor);
	f[HF_ACTOR] = hstr(e->actor);
	f[HF_ACTION] = hstr(e->action);
	f[HF_OBJECT] = hstr(e->object);
	f[HF_DEPT] = hstr(ndept);
	f[HF_IP] = hstr(e->ip);
	f[HF_DETAIL] = hstr(e->detail);
	chain_hash(f, out);
}

/* ---- UTF-8 ----------------------------------------------------------------------- */

/*
 * NULL when s is NULL or well-formed UTF-8; otherwise a malloc'd copy with
 * each ill-formed byte replaced by U+FFFD.  PostgreSQL refuses ill-formed
 * text, and an audit entry must never fail (and roll back the action it
 * records) because of what a client sent; both drivers store the same.
 */
static char *utf8_repair(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n, i = 0, bad = 0;

	if (s == NULL)
		return NULL;
	n = strlen(s);
	while (i < n) {
		size_t l = utf8_seq_len((const char *)p + i, n - i);
		if (l == 0) {
			bad++;
			l = 1;
		}
		i += l;
	}
	if (bad == 0)
		return NULL;
	char *out = xmalloc(n + 2 * bad + 1), *o = out;
	for (i = 0; i < n;) {
		size_t l = utf8_seq_len((const char *)p + i, n - i);
		if (l == 0) {
			memcpy(o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		} else {
			memcpy(o, p + i, l);
			o += l;
			i += l;
		}
	}
	*o = '\0';
	return out;
}

/* SVT for arrays (SVT's NULL test on an array trips -Waddress). */
static struct sval svt(const char *s)
{
	return SVT(s);
}

/* ---- append ---------------------------------------------------------------------- */

/* Returns a store_rc: STORE_OK, or the failure (STORE_BUSY: retry the transaction). */
static int append(struct store *st, const struct audit_entry *e)
{
	int rc = STORE_ERR;
	struct store_res *head = NULL;
	char hash[65], prev[65];
	const char *prev_cell;
	int64_t seq, ts, changes = 0;
	enum { FX_ACTOR, FX_ACTION, FX_OBJECT, FX_IP, FX_DETAIL, FX__MAX };
	char *fixed[FX__MAX] = { NULL };

	assert(store_in_tx(st));
	if (!store_in_tx(st)) {
		log_error("audit: audit_append called outside a transaction");
		goto out;
	}
	if (e == NULL || e->action == NULL || e->action[0] == '\0') {
		log_error("audit: audit_append without an action");
		goto out;
	}
	struct audit_entry x = *e;
	if (x.actor == NULL)
		x.actor = "anonymous";
	const char **texts[FX__MAX] = { &x.actor, &x.action, &x.object, &x.ip, &x.detail };
	for (int i = 0; i < FX__MAX; i++) {
		fixed[i] = utf8_repair(*texts[i]);
		if (fixed[i] != NULL)
			*texts[i] = fixed[i];
	}

	rc = store_query(st, sql[store_driver(st) == STORE_PG ? ST_HEAD_LOCK_PG : ST_HEAD], NULL, 0,
			 &head);
	if (rc != STORE_OK)
		goto out;
	rc = STORE_ERR;
	if (store_res_rows(head) != 1) {
		log_error("audit: the audit_head row is missing (migration core/0002 not applied?)");
		goto out;
	}
	prev_cell = store_res_text(head, 0, 1);
	if (prev_cell == NULL || store_res_len(head, 0, 1) != 64) {
		log_error("audit: audit_head.hash is malformed; run `yizhan audit verify`");
		goto out;
	}
	memcpy(prev, prev_cell, 65);
	seq = store_res_int(head, 0, 0) + 1;
	ts = audit_now();
	audit_hash(prev, seq, ts, &x, hash);

	struct sval row[11] = { SVI(seq), SVI(ts), SVI(x.actor_id), SVT(x.actor), SVT(x.action),
				SVT(x.object), SVI(x.dept_id), SVT(x.ip), SVT(x.detail),
				svt(prev), svt(hash) };
	rc = store_exec(st, sql[ST_INSERT], row, 11, NULL);
	if (rc != STORE_OK)
		goto out;
	struct sval upd[3] = { SVI(seq), svt(hash), SVI(seq - 1) };
	rc = store_exec(st, sql[ST_HEAD_SET], upd, 3, &changes);
	if (rc != STORE_OK)
		goto out;
	if (changes != 1) {
		/* Cannot happen while the head row is locked; refuse rather than fork. */
		log_error("audit: audit_head moved under a locked append (seq %" PRId64 ")", seq);
		rc = STORE_ERR;
		goto out;
	}
	rc = STORE_OK;
out:
	for (int i = 0; i < FX__MAX; i++)
		free(fixed[i]);
	store_res_free(head);
	return rc;
}

int audit_append(struct store *st, const struct audit_entry *e)
{
	return append(st, e) == STORE_OK ? 0 : -1;
}

/*
 * Runs fn in a transaction of its own, retrying up to TX_RETRIES times when
 * the store says STORE_BUSY.  0 or -1.
 */
static int run_tx(struct store *st, int (*fn)(struct store *, const void *), const void *arg,
		  const char *what)
{
	if (store_in_tx(st)) {
		log_error("audit: %s called inside a transaction", what);
		return -1;
	}
	for (int attempt = 0;; attempt++) {
		int rc = store_begin(st);
		if (rc == STORE_OK)
			rc = fn(st, arg);
		if (rc == STORE_OK)
			rc = store_commit(st);
		if (rc == STORE_OK)
			return 0;
		store_rollback(st);
		if (rc != STORE_BUSY || attempt == TX_RETRIES)
			break;
		/* Back off a few random milliseconds so retries do not collide again. */
		struct timespec d = { 0, (long)(1 + random_uniform(10) * (uint32_t)(attempt + 1)) *
						 1000000L };
		nanosleep(&d, NULL);
	}
	return -1;     /* logged where it failed: by the store or by fn */
}

static int append_fn(struct store *st, const void *arg)
{
	return append(st, arg);
}

int audit_append_tx(struct store *st, const struct audit_entry *e)
{
	return run_tx(st, append_fn, e, "audit_append_tx");
}

/* ---- checkpoints ------------------------------------------------------------------- */

static char *cp_message(const char *seq, const char *hash, const char *ts)
{
	return xasprintf("yizhan-audit-checkpoint\n%s\n%s\n%s", seq, hash, ts);
}

static int checkpoint_fn(struct store *st, const void *arg)
{
	const struct keys *k = arg;
	struct store_res *head = NULL, *entry = NULL;
	int64_t seq, last = 0, ts;
	char *msg = NULL, sig[129], nseq[24], nts[24];
	const char *hash, *ehash;
	int rc, r;

	/* The head is locked on PostgreSQL too, so two nodes never sign the same seq twice. */
	rc = store_query(st, sql[store_driver(st) == STORE_PG ? ST_HEAD_LOCK_PG : ST_HEAD], NULL, 0,
			 &head);
	if (rc != STORE_OK)
		goto out;
	rc = STORE_ERR;
	if (store_res_rows(head) != 1) {
		log_error("audit: the audit_head row is missing (migration core/0002 not applied?)");
		goto out;
	}
	seq = store_res_int(head, 0, 0);
	hash = store_res_text(head, 0, 1);
	r = store_query_int(st, sql[ST_CP_LAST], NULL, 0, &last);
	if (r == 1)
		last = 0;
	else if (r != STORE_OK) {
		rc = r;
		goto out;
	}
	if (seq <= last) {
		rc = STORE_OK;    /* nothing new to sign */
		goto out;
	}
	/* Never bless a head that does not match its entry. */
	struct sval p[1] = { SVI(seq) };
	rc = store_query(st, sql[ST_ENTRY_HASH], p, 1, &entry);
	if (rc != STORE_OK)
		goto out;
	rc = STORE_ERR;
	ehash = store_res_rows(entry) == 1 ? store_res_text(entry, 0, 0) : NULL;
	if (hash == NULL || ehash == NULL || strcmp(hash, ehash) != 0) {
		log_error("audit: head (seq %" PRId64 ") does not match its entry; not signing. "
			  "Run `yizhan audit verify`", seq);
		goto out;
	}
	ts = audit_now();
	snprintf(nseq, sizeof nseq, "%" PRId64, seq);
	snprintf(nts, sizeof nts, "%" PRId64, ts);
	msg = cp_message(nseq, hash, nts);
	sign_hex(k, msg, strlen(msg), sig);
	struct sval row[4] = { SVI(seq), SVI(ts), SVT(hash), svt(sig) };
	rc = store_exec(st, sql[ST_CP_INSERT], row, 4, NULL);
	if (rc == STORE_OK)
		log_info("audit: checkpoint signed at seq %" PRId64, seq);
out:
	free(msg);
	store_res_free(entry);
	store_res_free(head);
	return rc;
}

int audit_checkpoint(struct store *st, const struct keys *k)
{
	return run_tx(st, checkpoint_fn, k, "audit_checkpoint");
}

/* ---- verification ------------------------------------------------------------------ */

static void report_bad(struct audit_report *rep, int64_t seq, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void report_bad(struct audit_report *rep, int64_t seq, const char *fmt, ...)
{
	va_list ap;
	rep->ok = 0;
	rep->first_bad_seq = seq;
	va_start(ap, fmt);
	vsnprintf(rep->reason, sizeof rep->reason, fmt, ap);
	va_end(ap);
}

static int cell_eq(const struct store_res *r, int row, int col, const char *s)
{
	const char *c = store_res_text(r, row, col);
	return c != NULL && s != NULL && store_res_len(r, row, col) == strlen(s) &&
	       memcmp(c, s, store_res_len(r, row, col)) == 0;
}

/*
 * Walks entries 1..head_seq page by page.  Returns STORE_OK (rep->ok says
 * whether they verified) or the store failure.
 */
static int verify_chain(struct store *st, int64_t head_seq, const char *head_hash,
			struct audit_report *rep)
{
	char last_hash[65] = GENESIS_HASH, calc[65];
	int64_t last_seq = 0;
	struct store_res *page = NULL;
	int rc = STORE_OK;

	while (last_seq < head_seq) {
		struct sval p[3] = { SVI(last_seq), SVI(head_seq), SVI(VERIFY_PAGE) };
		rc = store_query(st, sql[ST_PAGE], p, 3, &page);
		if (rc != STORE_OK)
			goto out;
		int rows = store_res_rows(page);
		if (rows == 0)
			break;
		for (int i = 0; i < rows; i++) {
			int64_t seq = store_res_int(page, i, HF_SEQ);
			if (seq != last_seq + 1) {
				report_bad(rep, last_seq + 1, "entry %" PRId64 " missing (seq gap)",
					   last_seq + 1);
				goto out;
			}
			if (!cell_eq(page, i, HF_PREV, last_hash)) {
				if (seq == 1)
					report_bad(rep, seq, "entry 1: prev_hash is not the genesis "
						   "value (64 zeros)");
				else
					report_bad(rep, seq, "entry %" PRId64 ": prev_hash does not "
						   "link to entry %" PRId64, seq, seq - 1);
				goto out;
			}
			struct hfield f[HF__MAX];
			for (int c = 0; c < HF__MAX; c++) {
				f[c].p = store_res_isnull(page, i, c) ? NULL
								     : store_res_text(page, i, c);
				f[c].len = f[c].p != NULL ? store_res_len(page, i, c) : 0;
			}
			chain_hash(f, calc);
			if (!cell_eq(page, i, HF__MAX, calc)) {
				report_bad(rep, seq, "entry %" PRId64 ": hash mismatch (entry altered)",
					   seq);
				goto out;
			}
			memcpy(last_hash, calc, sizeof last_hash);
			last_seq = seq;
			rep->entries++;
		}
		store_res_free(page);
		page = NULL;
	}
	if (last_seq < head_seq) {
		report_bad(rep, last_seq + 1,
			   "head says %" PRId64 " but chain ends at %" PRId64 " (entries deleted)",
			   head_seq, last_seq);
		goto out;
	}
	if (head_hash == NULL || strcmp(head_hash, last_hash) != 0) {
		if (head_seq == 0)
			report_bad(rep, 0, "head hash is not the genesis value on an empty chain");
		else
			report_bad(rep, head_seq,
				   "head hash does not match entry %" PRId64 " (head altered)",
				   head_seq);
	}
out:
	store_res_free(page);
	return rc;
}

static int verify_checkpoints(struct store *st, const unsigned char sign_pk[32],
			      struct audit_report *rep)
{
	struct store_res *page = NULL;
	int64_t last = 0;
	char *msg = NULL;
	int rc = STORE_OK;

	for (;;) {
		struct sval p[2] = { SVI(last), SVI(VERIFY_PAGE) };
		rc = store_query(st, sql[ST_CP_PAGE], p, 2, &page);
		if (rc != STORE_OK)
			goto out;
		int rows = store_res_rows(page);
		if (rows == 0)
			break;
		for (int i = 0; i < rows; i++) {
			int64_t seq = store_res_int(page, i, 0);
			const char *cseq = store_res_text(page, i, 0), *cts = store_res_text(page, i, 1);
			const char *chash = store_res_text(page, i, 2), *csig = store_res_text(page, i, 3);
			const char *ehash = store_res_text(page, i, 4);
			if (cts == NULL || chash == NULL || csig == NULL) {
				report_bad(rep, seq, "checkpoint at %" PRId64 ": incomplete row", seq);
				goto out;
			}
			msg = cp_message(cseq, chash, cts);
			if (sign_pk != NULL && verify_hex(sign_pk, msg, strlen(msg), csig) != 0) {
				report_bad(rep, seq, "checkpoint at %" PRId64 ": bad signature", seq);
				goto out;
			}
			free(msg);
			msg = NULL;
			if (ehash == NULL) {
				report_bad(rep, seq, "checkpoint at %" PRId64 ": entry %" PRId64
					   " missing (entries deleted)", seq, seq);
				goto out;
			}
			if (strcmp(ehash, chash) != 0) {
				report_bad(rep, seq, "checkpoint at %" PRId64 ": hash does not match "
					   "entry %" PRId64 " (chain rewritten)", seq, seq);
				goto out;
			}
			rep->checkpoints++;
			last = seq;
		}
		store_res_free(page);
		page = NULL;
	}
out:
	free(msg);
	store_res_free(page);
	return rc;
}

int audit_verify(struct store *st, const unsigned char sign_pk[32], struct audit_report *rep)
{
	struct store_res *head = NULL;
	int ret = -1;

	memset(rep, 0, sizeof *rep);
	rep->ok = 1;
	/* Read the head first: entries up to it are immutable, so appends made
	 * while the walk runs (no snapshot spans the pages) cannot confuse it. */
	if (store_query(st, sql[ST_HEAD], NULL, 0, &head) != STORE_OK)
		goto out;
	if (store_res_rows(head) != 1) {
		report_bad(rep, 0, "audit_head row missing");
		ret = 0;
		goto out;
	}
	if (verify_chain(st, store_res_int(head, 0, 0), store_res_text(head, 0, 1), rep) !=
	    STORE_OK)
		goto out;
	if (rep->ok && verify_checkpoints(st, sign_pk, rep) != STORE_OK)
		goto out;
	ret = 0;
out:
	if (ret != 0) {
		rep->ok = 0;
		const char *why = store_errmsg(st);
		snprintf(rep->reason, sizeof rep->reason, "store error: %s", why != NULL ? why : "?");
	}
	store_res_free(head);
	return ret;
}
