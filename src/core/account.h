/*
 * account: people's accounts (citizens, enterprises, staff) and their roles
 * per department.
 *
 * Identifiers (身份证号, 统一社会信用代码) are stored three ways: a keyed hash
 * (BLAKE2b under the seal key) for uniqueness and look-up, the value sealed
 * with secretbox for the few roles that need it whole, and a masked form
 * for display.  The clear value is never stored.
 */
#ifndef YZ_ACCOUNT_H
#define YZ_ACCOUNT_H

#include <jansson.h>
#include <stdint.h>

#include "core/crypto.h"
#include "core/msg.h"
#include "core/store.h"

struct account_new {
	const char *login;
	const char *kind;        /* "citizen" | "enterprise" | "staff" */
	const char *name;        /* real name, or the enterprise's name */
	const char *ident;       /* 身份证号 or 统一社会信用代码, validated by the caller; NULL for staff */
	const char *contact;     /* enterprise: contact person; may be NULL */
	const char *phone;       /* may be NULL */
	const char *email;       /* may be NULL */
	const char *password;    /* clear text; hashed here */
	int must_change_pw;
};

/*
 * Creates the account inside the caller's transaction.  Returns 0 with *id,
 * or -1 with *why and *field set when the login or identifier is taken
 * (MSG_LOGIN_TAKEN / MSG_IDENT_TAKEN), or -1 with why = MSG_HTTP_500 on a
 * store failure.
 */
int account_create(struct store *st, const struct keys *k, const struct account_new *a,
		   int64_t *id, enum msg_id *why, const char **field);
int account_find(struct store *st, const char *login, int64_t *id);   /* 0, 1 = none, -1 */
int account_set_password(struct store *st, int64_t id, const char *password, int must_change);
int account_set_disabled(struct store *st, int64_t id, int disabled);
/* role: "staff" | "dept_admin" | "platform_admin".  Adding an existing role is not an error. */
int account_add_role(struct store *st, int64_t user_id, int64_t dept_id, const char *role);
int account_remove_role(struct store *st, int64_t user_id, int64_t dept_id, const char *role);
/* Drops the second factor so that the next sign-in enrols again. */
int account_reset_totp(struct store *st, int64_t id);

/* JSON of one account for display (masked identifier, roles with department names). */
json_t *account_json(struct store *st, int64_t id);
/*
 * A page of accounts, newest first: kind filter (NULL = all), q matches
 * login or name (NULL = all), after = cursor (0 = from the start).
 * Returns {"items":[...], "next": cursor or null}.
 */
json_t *account_list(struct store *st, const char *kind, const char *q, int64_t after, int limit);
/* The departments and roles of a user: [{"dept_id","dept_name","role"}]. */
json_t *account_roles(struct store *st, int64_t user_id);
/* 1 when user has role in dept (or is a platform admin and role is not platform_admin). */
int account_has_role(struct store *st, int64_t user_id, int64_t dept_id, const char *role);

/* Keyed hash of an identifier, hex (65 bytes). */
void account_ident_hash(const struct keys *k, const char *ident, char out[65]);

#endif
