/*
 * auth: sign-in, the second factor, sessions and login throttling.
 *
 * Sessions: the cookie "yz_sid" carries 32 random bytes (hex); the store
 * keeps only their SHA-256, the user, a CSRF token, and whether the session
 * is half-open (password accepted, TOTP pending).  A session ends after
 * conf.session_idle minutes without a request or conf.session_max hours in
 * all.  Visitors without a session get a pre-session CSRF cookie "yz_pre"
 * (double-submit) for the login and registration forms.
 *
 * Throttling: failures are counted per account and per address within
 * conf.login_window minutes; past the limits the key is locked for a
 * window.  A locked account answers the same as a wrong password would,
 * plus the lock message, so nothing tells which logins exist.
 */
#ifndef YZ_AUTH_H
#define YZ_AUTH_H

#include <stdint.h>
#include <time.h>

#include "core/http.h"

enum auth_result {
	AUTH_OK,           /* full session */
	AUTH_NEED_TOTP,    /* half session: ask for the code */
	AUTH_NEED_ENROLL,  /* half session: staff without a second factor yet */
	AUTH_BAD,          /* wrong login or password */
	AUTH_LOCKED,       /* throttled */
	AUTH_DISABLED,
	AUTH_ERROR,        /* store failure */
};

/* Overridable clock for tests of timeouts and throttling. */
void auth_set_clock(time_t (*now)(void));
time_t auth_now(void);

/*
 * Checks login and password (with throttling and audit) inside r's open
 * transaction and, when they match, starts a session (cookie set on r).
 * The caller keeps the transaction even on failure (r->keep_tx) so the
 * failure count and audit entry persist.
 */
enum auth_result auth_login(struct req *r, const char *login, const char *password);
/* Second factor for r's half session.  AUTH_OK upgrades it. */
enum auth_result auth_totp(struct req *r, const char *code);
/* Starts TOTP enrolment for r's user: returns the malloc'd secret (shown once). */
char *auth_enroll_begin(struct req *r);
/* Confirms enrolment with a code; AUTH_OK enables TOTP and upgrades the session. */
enum auth_result auth_enroll_finish(struct req *r, const char *code);

/* Ends r's session (cookie cleared). */
int auth_logout(struct req *r);
/* Ends every session of the user ("log out everywhere"). */
int auth_logout_all(struct store *st, int64_t user_id);

/* The TOTP secret of a user (malloc'd, NULL when none); for `yizhan user otp`. */
char *auth_totp_secret(struct store *st, const struct keys *k, int64_t user_id);

#endif
