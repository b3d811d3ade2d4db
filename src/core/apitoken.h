/*
 * apitoken: department API tokens for machine clients (外部系统).
 *
 * A token belongs to a department, has a name (unique among the
 * department's live tokens), scopes ("*" or a comma-separated list of
 * registry codes), an optional expiry and its creator.  The clear token is
 *
 *     yzt_<id>_<secret>       secret: APITOKEN_SECRET_LEN characters of the
 *                             base32 alphabet A-Z2-7 (160 random bits)
 *
 * shown once at creation.  The store keeps only a keyed hash of the secret:
 * BLAKE2b (crypto_generichash) keyed with the server's seal key (keys.h,
 * outside the database) over "yizhan-apitoken\0" and the secret, so a copy
 * of the database alone lets nobody check a guessed token.  Verification
 * finds the row by the id in the token and compares the hashes in constant
 * time (str_ct_equal); it then checks revocation and expiry.
 *
 * Transactions: apitoken_create and apitoken_revoke write in the caller's
 * transaction (they do not audit: the caller does, with its context).
 * apitoken_verify only reads, except that it refreshes last_used_at at
 * most once a minute (one UPDATE, outside a transaction it is its own).
 *
 * Ownership: strings in struct apitoken_info are malloc'd and released with
 * apitoken_info_clear; json_t * returned are new.
 */
#ifndef YZ_APITOKEN_H
#define YZ_APITOKEN_H

#include <jansson.h>
#include <stdint.h>
#include <time.h>

#include "core/crypto.h"
#include "core/store.h"

#define APITOKEN_SECRET_LEN 32
#define APITOKEN_MAX 64              /* "yzt_" + id (<= 19 digits) + "_" + secret, with NUL */
#define APITOKEN_NAME_MAX 60         /* characters */
#define APITOKEN_SCOPES_MAX 500      /* bytes */

enum apitoken_rc {
	APITOKEN_OK = 0,
	APITOKEN_MALFORMED,   /* not of the form yzt_<id>_<secret> */
	APITOKEN_UNKNOWN,     /* no such id, or the secret does not match (forged) */
	APITOKEN_REVOKED,
	APITOKEN_EXPIRED,
	APITOKEN_ERROR,       /* the store failed (logged) */
};

struct apitoken_info {
	int64_t id;
	int64_t dept_id;
	char *name;
	char *scopes;
	int64_t expires_at;   /* 0: never */
};
void apitoken_info_clear(struct apitoken_info *t);

/*
 * The id part of a token of the right shape (the secret is not checked):
 * 0 with *id, or -1 when malformed.  For audit entries of refused tokens.
 */
int apitoken_parse(const char *token, int64_t *id);

/* Whether scopes ("*" or codes a,b,c) is well-formed: 1 or 0. */
int apitoken_scopes_valid(const char *scopes);
/* Whether scopes covers registry code: 1 or 0. */
int apitoken_scope_allows(const char *scopes, const char *code);

/*
 * Creates a token in the caller's transaction.  expires_at 0 = never.
 * On APITOKEN_OK *id is set and clear receives the clear token (shown once,
 * never stored).  Returns 0, 1 when the department has a live token of
 * that name, -1 on a store failure.
 */
int apitoken_create(struct store *st, const struct keys *k, int64_t dept_id, const char *name,
		    const char *scopes, int64_t expires_at, int64_t created_by, int64_t *id,
		    char clear[APITOKEN_MAX]);

/*
 * Checks a clear token at time now: APITOKEN_OK with *out filled (release
 * with apitoken_info_clear), or why not.  *id_out (may be NULL) gets the
 * token's id whenever it could be parsed (0 otherwise), for the audit.
 */
enum apitoken_rc apitoken_verify(struct store *st, const struct keys *k, const char *token,
				 time_t now, struct apitoken_info *out, int64_t *id_out);

/* Revokes a live token of dept_id: 0, 1 when there is no such live token, -1 on failure. */
int apitoken_revoke(struct store *st, int64_t id, int64_t dept_id, int64_t by, time_t now);

/*
 * A department's tokens, newest first: [{"id","name","scopes","expires_at",
 * "created_at","created_by_name","last_used_at","revoked_at","state"}] where
 * state is "active", "revoked" or "expired" at now.  NULL on failure.
 */
json_t *apitoken_list(struct store *st, int64_t dept_id, time_t now);

/* English name of rc for logs and tests ("revoked"). */
const char *apitoken_rc_name(enum apitoken_rc rc);

#endif
