/*
 * audit: the append-only, hash-chained audit trail.
 *
 * Every write, login and read of personal or conditional data appends one
 * entry inside the same transaction as the thing it records.  Each entry
 * carries the hash of the previous one; the chain head (audit_head, one row)
 * is locked by the appending transaction, so concurrent writers (even on
 * several nodes sharing PostgreSQL) never fork the chain.  Checkpoints sign
 * the head with the server's Ed25519 key.  Entries hold no secrets: no
 * passwords, tokens or unmasked identifiers.
 *
 * Hash of entry n: SHA-256 over prev_hash (hex) and every field of the entry
 * (seq, ts, actor_id, actor, action, object, dept_id, ip, detail), each
 * length-prefixed, hex-encoded.  The first entry's prev_hash is 64 zeros.
 */
#ifndef YZ_AUDIT_H
#define YZ_AUDIT_H

#include <stdint.h>
#include <time.h>

#include "core/crypto.h"
#include "core/store.h"

struct audit_entry {
	int64_t actor_id;     /* users.id, 0 for anonymous or the system */
	const char *actor;    /* login name, "system" or "anonymous" */
	const char *action;   /* dotted verb: "login.ok", "user.create", "dept.update" */
	const char *object;   /* "user:12", "dept:3", may be NULL */
	int64_t dept_id;      /* owning department of the object, 0 if none */
	const char *ip;       /* may be NULL */
	const char *detail;   /* JSON text without secrets, may be NULL */
};

/* Appends e; the caller's transaction must be open (store_begin). 0 or -1. */
int audit_append(struct store *st, const struct audit_entry *e);
/* Appends e in a transaction of its own (for reads and failed logins). */
int audit_append_tx(struct store *st, const struct audit_entry *e);

/* Signs the current head if it moved since the last checkpoint (own transaction). */
int audit_checkpoint(struct store *st, const struct keys *k);

struct audit_report {
	int ok;                   /* 1 when the whole chain and every checkpoint verify */
	int64_t entries;          /* entries checked */
	int64_t checkpoints;      /* checkpoints checked */
	int64_t first_bad_seq;    /* first broken entry (0 if none) */
	char reason[256];         /* English, for the CLI */
};
/* Walks the whole chain and every checkpoint. 0 when it could run (see rep->ok), -1 on store error. */
int audit_verify(struct store *st, const unsigned char sign_pk[32], struct audit_report *rep);

/*
 * The hash of an entry with the given seq and ts, as lower-case hex into
 * out[65]; fields are hashed as given (a NULL stays NULL, distinct from "").
 * Exact encoding: src/core/audit.c.  For tools and tests; audit_append
 * computes it itself (after replacing a NULL actor with "anonymous").
 */
void audit_hash(const char *prev_hash, int64_t seq, int64_t ts, const struct audit_entry *e,
		char out[65]);

/* Tests only: the clock audit_append and audit_checkpoint read (NULL: time()).
 * Set it before any thread appends. */
void audit_set_clock(time_t (*fn)(void));

#endif
