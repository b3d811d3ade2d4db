#include "core/auth.h"
#include "core/apitoken.h"
#include "core/audit.h"
#include "core/conf.h"
#include "core/crypto.h"
#include "core/input.h"
#include "core/log.h"
#include "core/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define COOKIE_SID "yz_sid"
#define COOKIE_PRE "yz_pre"
#define SEEN_GRANULARITY 60   /* seconds: seen_at is refreshed at most once a minute */

static time_t (*clock_fn)(void);

void auth_set_clock(time_t (*now)(void))
{
	clock_fn = now;
}

time_t auth_now(void)
{
	return clock_fn ? clock_fn() : time(NULL);
}

enum auth_stmt {
	S_SESSION, S_SESSION_DEL, S_SESSION_SEEN, S_SESSION_NEW,
	S_SESSION_DEL_USER, S_USER_BY_LOGIN, S_THROTTLE_GET, S_THROTTLE_PUT, S_THROTTLE_CLEAR,
	S_TOTP_GET, S_TOTP_STEP, S_TOTP_SET, S_TOTP_ENABLE, S__MAX
};

static const char *const sql[S__MAX] = {
	[S_SESSION] =
		"SELECT s.user_id, s.csrf, s.half, s.created_at, s.seen_at, u.login, u.name, u.kind, "
		"u.must_change_pw, u.disabled, "
		"COALESCE((SELECT MAX(CASE r.role WHEN 'staff' THEN 1 ELSE 0 END) + "
		"MAX(CASE r.role WHEN 'dept_admin' THEN 2 ELSE 0 END) + "
		"MAX(CASE r.role WHEN 'platform_admin' THEN 4 ELSE 0 END) "
		"FROM user_roles r WHERE r.user_id = u.id), 0) "
		"FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_hash = $1",
	[S_SESSION_DEL] = "DELETE FROM sessions WHERE id_hash = $1",
	[S_SESSION_SEEN] = "UPDATE sessions SET seen_at = $2 WHERE id_hash = $1",
	[S_SESSION_NEW] = "INSERT INTO sessions (id_hash, user_id, csrf, half, created_at, seen_at, ip, agent) "
			  "VALUES ($1, $2, $3, $4, $5, $5, $6, $7)",
	[S_SESSION_DEL_USER] = "DELETE FROM sessions WHERE user_id = $1",
	[S_USER_BY_LOGIN] = "SELECT id, password, kind, disabled, totp_enabled FROM users WHERE login = $1",
	[S_THROTTLE_GET] = "SELECT window_start, failures, locked_until FROM login_throttle WHERE key = $1",
	[S_THROTTLE_PUT] = "INSERT INTO login_throttle (key, window_start, failures, locked_until) "
			   "VALUES ($1, $2, $3, $4) ON CONFLICT (key) DO UPDATE SET "
			   "window_start = excluded.window_start, failures = excluded.failures, "
			   "locked_until = excluded.locked_until",
	[S_THROTTLE_CLEAR] = "DELETE FROM login_throttle WHERE key = $1",
	[S_TOTP_GET] = "SELECT totp_sealed, totp_last_step, totp_enabled, login FROM users WHERE id = $1",
	[S_TOTP_STEP] = "UPDATE users SET totp_last_step = $2 WHERE id = $1",
	[S_TOTP_SET] = "UPDATE users SET totp_sealed = $2, totp_enabled = 0, totp_last_step = 0, "
		       "updated_at = $3 WHERE id = $1",
	[S_TOTP_ENABLE] = "UPDATE users SET totp_enabled = 1, updated_at = $2 WHERE id = $1",
};

static enum account_kind kind_of(const char *s)
{
	if (s == NULL)
		return ACCT_NONE;
	if (strcmp(s, "citizen") == 0)
		return ACCT_CITIZEN;
	if (strcmp(s, "enterprise") == 0)
		return ACCT_ENTERPRISE;
	if (strcmp(s, "staff") == 0)
		return ACCT_STAFF;
	return ACCT_NONE;
}

static void audit_req(struct req *r, int64_t actor, const char *login, const char *action,
		      const char *object, const char *detail)
{
	struct audit_entry e = { actor, login, action, object, 0, r->ip, detail };
	if (audit_append(r->st, &e) != 0)
		log_error("auth: audit of %s failed", action);
}

/* s as a JSON string literal, in r's arena. */
static const char *json_dumps_arena(struct req *r, const char *s)
{
	json_t *v = json_string(s ? s : "");
	char *t = v ? json_dumps(v, JSON_ENCODE_ANY) : NULL;
	const char *out = arena_strdup(r->arena, t ? t : "\"\"");
	free(t);
	json_decref(v);
	return out;
}

/* Pre-session CSRF token for anonymous forms (double-submit cookie). */
static void pre_session(struct req *r)
{
	char tok[65];
	const char *cookie = req_header(r, "Cookie");
	if (cookie != NULL && cookie_get(cookie, COOKIE_PRE, tok, sizeof tok) == 0 && strlen(tok) == 64) {
		r->who.csrf = arena_strdup(r->arena, tok);
		return;
	}
	if (r->method != HM_GET || r->is_api)
		return;
	random_hex(tok, 32);
	r->who.csrf = arena_strdup(r->arena, tok);
	resp_cookie(r, COOKIE_PRE, tok, -1);
}

int auth_load_session(struct req *r)
{
	const struct conf *cf = http_ctx()->conf;
	const char *cookie = req_header(r, "Cookie");
	char sid[80], hash[65];
	struct store_res *res = NULL;
	int rc = -1;

	if (cookie == NULL || cookie_get(cookie, COOKIE_SID, sid, sizeof sid) != 0 || strlen(sid) != 64) {
		pre_session(r);
		return 0;
	}
	sha256_hex(sid, 64, hash);
	struct sval p[] = { SVT(hash) };
	if (store_query(r->st, sql[S_SESSION], p, 1, &res) != STORE_OK)
		goto out;
	time_t now = auth_now();
	if (store_res_rows(res) == 0) {
		resp_cookie(r, COOKIE_SID, "", 0);
		pre_session(r);
		rc = 0;
		goto out;
	}
	int64_t created = store_res_int(res, 0, 3), seen = store_res_int(res, 0, 4);
	int expired = now - seen > (time_t)cf->session_idle * 60 ||
		      now - created > (time_t)cf->session_max * 3600 || store_res_int(res, 0, 9) != 0;
	if (expired) {
		if (store_exec(r->st, sql[S_SESSION_DEL], p, 1, NULL) != STORE_OK)
			goto out;
		resp_cookie(r, COOKIE_SID, "", 0);
		pre_session(r);
		r->session_expired = 1;
		r->extra_hdr_name[r->nextra] = "X-Session-Expired";
		r->extra_hdr_val[r->nextra++] = "1";
		rc = 0;
		goto out;
	}
	struct principal *w = &r->who;
	w->user_id = store_res_int(res, 0, 0);
	w->csrf = arena_strdup(r->arena, store_res_text(res, 0, 1));
	w->half = (int)store_res_int(res, 0, 2);
	w->login = arena_strdup(r->arena, store_res_text(res, 0, 5));
	w->name = arena_strdup(r->arena, store_res_text(res, 0, 6));
	w->kind = kind_of(store_res_text(res, 0, 7));
	w->must_change_pw = (int)store_res_int(res, 0, 8);
	w->roles = (unsigned)store_res_int(res, 0, 10);
	w->sid_hash = arena_strdup(r->arena, hash);
	if (now - seen >= SEEN_GRANULARITY) {
		struct sval q[] = { SVT(hash), SVI(now) };
		if (store_exec(r->st, sql[S_SESSION_SEEN], q, 2, NULL) != STORE_OK)
			goto out;
	}
	rc = 0;
out:
	store_res_free(res);
	return rc;
}

int auth_load_token(struct req *r)
{
	const char *h = req_header(r, "Authorization");
	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return 0;
	const char *tok = h + 7;
	while (*tok == ' ')
		tok++;
	struct apitoken_info info;
	int64_t id = 0;
	enum apitoken_rc rc = apitoken_verify(r->st, http_ctx()->keys, tok, auth_now(), &info, &id);
	if (rc == APITOKEN_ERROR)
		return -1;
	if (rc != APITOKEN_OK) {
		static const enum msg_id why[] = {
			[APITOKEN_MALFORMED] = MSG_TOKEN_MALFORMED, [APITOKEN_UNKNOWN] = MSG_TOKEN_UNKNOWN,
			[APITOKEN_REVOKED] = MSG_TOKEN_REVOKED, [APITOKEN_EXPIRED] = MSG_TOKEN_EXPIRED,
		};
		/* Audited with the id when it could be read; never the token. */
		char *actor = id > 0 ? arena_printf(r->arena, "token:%lld", (long long)id) : NULL;
		char *obj = id > 0 ? arena_printf(r->arena, "api_token:%lld", (long long)id) : NULL;
		char *detail = arena_printf(r->arena, "{\"reason\":\"%s\",\"path\":%s}",
					    apitoken_rc_name(rc), json_dumps_arena(r, r->path));
		struct audit_entry e = { 0, actor, "token.reject", obj, 0, r->ip, detail };
		if (audit_append_tx(r->st, &e) != 0)
			return -1;
		if (r->nextra < 4) {
			r->extra_hdr_name[r->nextra] = "WWW-Authenticate";
			r->extra_hdr_val[r->nextra++] = "Bearer error=\"invalid_token\"";
		}
		resp_error(r, 401, why[rc], NULL);
		return 1;
	}
	r->who.token_id = info.id;
	r->who.token_dept = info.dept_id;
	r->who.token_scopes = arena_strdup(r->arena, info.scopes);
	r->who.login = arena_printf(r->arena, "token:%lld", (long long)info.id);
	r->who.name = arena_strdup(r->arena, info.name);
	apitoken_info_clear(&info);
	return 0;
}

static int session_start(struct req *r, int64_t user_id, int half)
{
	char sid[65], hash[65], csrf[65];
	random_hex(sid, 32);
	random_hex(csrf, 32);
	sha256_hex(sid, 64, hash);
	const char *agent = req_header(r, "User-Agent");
	char agent_short[201];
	snprintf(agent_short, sizeof agent_short, "%s", agent ? agent : "");
	struct sval p[] = { SVT(hash), SVI(user_id), SVT(csrf), SVI(half), SVI(auth_now()),
			    SVT(r->ip), SVT(agent_short) };
	if (store_exec(r->st, sql[S_SESSION_NEW], p, 7, NULL) != STORE_OK)
		return -1;
	/* A new id at every sign-in: no session fixation. */
	if (r->who.sid_hash != NULL) {
		struct sval q[] = { SVT(r->who.sid_hash) };
		if (store_exec(r->st, sql[S_SESSION_DEL], q, 1, NULL) != STORE_OK)
			return -1;
	}
	resp_cookie(r, COOKIE_SID, sid, -1);
	r->who.user_id = user_id;
	r->who.half = half;
	r->who.csrf = arena_strdup(r->arena, csrf);
	r->who.sid_hash = arena_strdup(r->arena, hash);
	return 0;
}

/* Throttle: returns 1 when key is locked now. */
static int throttle_locked(struct req *r, const char *key, int *err)
{
	struct store_res *res = NULL;
	struct sval p[] = { SVT(key) };
	int locked = 0;
	if (store_query(r->st, sql[S_THROTTLE_GET], p, 1, &res) != STORE_OK) {
		*err = 1;
		return 0;
	}
	if (store_res_rows(res) > 0 && store_res_int(res, 0, 2) > auth_now())
		locked = 1;
	store_res_free(res);
	return locked;
}

static int throttle_fail(struct req *r, const char *key, int limit)
{
	const struct conf *cf = http_ctx()->conf;
	time_t now = auth_now(), window = (time_t)cf->login_window * 60;
	struct store_res *res = NULL;
	struct sval p[] = { SVT(key) };
	if (store_query(r->st, sql[S_THROTTLE_GET], p, 1, &res) != STORE_OK)
		return -1;
	int64_t start = now, failures = 0, locked = 0;
	if (store_res_rows(res) > 0 && now - store_res_int(res, 0, 0) < window) {
		start = store_res_int(res, 0, 0);
		failures = store_res_int(res, 0, 1);
		locked = store_res_int(res, 0, 2);
	}
	store_res_free(res);
	failures++;
	if (failures >= limit) {
		locked = now + window;
		start = now;
		failures = 0;
	}
	struct sval q[] = { SVT(key), SVI(start), SVI(failures), SVI(locked) };
	return store_exec(r->st, sql[S_THROTTLE_PUT], q, 4, NULL) == STORE_OK ? 0 : -1;
}

enum auth_result auth_login(struct req *r, const char *login, const char *password)
{
	const struct conf *cf = http_ctx()->conf;
	struct store_res *res = NULL;
	enum auth_result out = AUTH_ERROR;
	char *acct_key = arena_printf(r->arena, "acct:%s", login);
	char *ip_key = arena_printf(r->arena, "ip:%s", r->ip ? r->ip : "");
	int err = 0;

	r->keep_tx = 1;
	if (throttle_locked(r, acct_key, &err) || throttle_locked(r, ip_key, &err)) {
		if (err)
			goto done;
		password_dummy_verify(password);
		audit_req(r, 0, login, "login.locked", NULL, NULL);
		out = AUTH_LOCKED;
		goto done;
	}
	struct sval p[] = { SVT(login) };
	if (store_query(r->st, sql[S_USER_BY_LOGIN], p, 1, &res) != STORE_OK)
		goto done;
	if (store_res_rows(res) == 0) {
		password_dummy_verify(password);
		goto bad;
	}
	int64_t uid = store_res_int(res, 0, 0);
	if (password_verify(store_res_text(res, 0, 1), password) != 0)
		goto bad;
	if (store_res_int(res, 0, 3) != 0) {
		audit_req(r, uid, login, "login.disabled", arena_printf(r->arena, "user:%lld", (long long)uid), NULL);
		out = AUTH_DISABLED;
		goto done;
	}
	struct sval c[] = { SVT(acct_key) };
	if (store_exec(r->st, sql[S_THROTTLE_CLEAR], c, 1, NULL) != STORE_OK)
		goto done;
	int staff = kind_of(store_res_text(res, 0, 2)) == ACCT_STAFF;
	int totp = store_res_int(res, 0, 4) != 0;
	int half = staff || totp;
	if (session_start(r, uid, half) != 0)
		goto done;
	audit_req(r, uid, login, half ? "login.password" : "login.ok",
		  arena_printf(r->arena, "user:%lld", (long long)uid), NULL);
	out = !half ? AUTH_OK : totp ? AUTH_NEED_TOTP : AUTH_NEED_ENROLL;
	goto done;
bad:
	if (throttle_fail(r, acct_key, cf->login_max_fail_account) != 0 ||
	    throttle_fail(r, ip_key, cf->login_max_fail_ip) != 0)
		goto done;
	audit_req(r, 0, login, "login.fail", NULL, NULL);
	out = AUTH_BAD;
done:
	store_res_free(res);
	return out;
}

/* Loads the user's TOTP secret and last step. */
static char *totp_load(struct req *r, int64_t *last_step, int *enabled)
{
	struct store_res *res = NULL;
	struct sval p[] = { SVI(r->who.user_id) };
	char *secret = NULL;
	if (store_query(r->st, sql[S_TOTP_GET], p, 1, &res) != STORE_OK || store_res_rows(res) == 0)
		goto out;
	*last_step = store_res_int(res, 0, 1);
	*enabled = (int)store_res_int(res, 0, 2);
	if (store_res_text(res, 0, 0) != NULL)
		secret = unseal_text(http_ctx()->keys, store_res_text(res, 0, 0));
out:
	store_res_free(res);
	return secret;
}

static enum auth_result totp_check(struct req *r, const char *code, int enrolling)
{
	const struct conf *cf = http_ctx()->conf;
	int64_t step = 0;
	int enabled = 0;
	enum auth_result out = AUTH_ERROR;
	char *acct_key = arena_printf(r->arena, "totp:%lld", (long long)r->who.user_id);
	int err = 0;
	char *secret = NULL;

	r->keep_tx = 1;
	if (throttle_locked(r, acct_key, &err)) {
		out = err ? AUTH_ERROR : AUTH_LOCKED;
		goto out;
	}
	secret = totp_load(r, &step, &enabled);
	if (secret == NULL || (enrolling ? enabled : !enabled))
		goto out;
	if (totp_verify(secret, code, auth_now(), &step) != 0) {
		if (throttle_fail(r, acct_key, cf->login_max_fail_account) != 0)
			goto out;
		audit_req(r, r->who.user_id, r->who.login, "login.totp_fail", NULL, NULL);
		out = AUTH_BAD;
		goto out;
	}
	struct sval p[] = { SVI(r->who.user_id), SVI(step) };
	struct sval e[] = { SVI(r->who.user_id), SVI(auth_now()) };
	struct sval c[] = { SVT(acct_key) };
	/* The full session gets a new id (and CSRF token): the half session's id ends here. */
	if (store_exec(r->st, sql[S_TOTP_STEP], p, 2, NULL) != STORE_OK ||
	    (enrolling && store_exec(r->st, sql[S_TOTP_ENABLE], e, 2, NULL) != STORE_OK) ||
	    session_start(r, r->who.user_id, 0) != 0 ||
	    store_exec(r->st, sql[S_THROTTLE_CLEAR], c, 1, NULL) != STORE_OK)
		goto out;
	r->who.half = 0;
	audit_req(r, r->who.user_id, r->who.login, enrolling ? "totp.enrol" : "login.ok",
		  arena_printf(r->arena, "user:%lld", (long long)r->who.user_id), NULL);
	out = AUTH_OK;
out:
	if (secret != NULL) {
		memset(secret, 0, strlen(secret));
		free(secret);
	}
	return out;
}

enum auth_result auth_totp(struct req *r, const char *code)
{
	return totp_check(r, code, 0);
}

enum auth_result auth_enroll_finish(struct req *r, const char *code)
{
	return totp_check(r, code, 1);
}

char *auth_enroll_begin(struct req *r)
{
	int64_t step = 0;
	int enabled = 0;
	char *old = totp_load(r, &step, &enabled);
	if (old != NULL && !enabled)
		return old;   /* enrolment already begun: show the same secret again */
	free(old);
	if (enabled)
		return NULL;
	char secret[TOTP_SECRET_LEN + 1];
	totp_new_secret(secret);
	char *sealed = seal_text(http_ctx()->keys, secret);
	struct sval p[] = { SVI(r->who.user_id), SVT(sealed), SVI(auth_now()) };
	int rc = store_exec(r->st, sql[S_TOTP_SET], p, 3, NULL);
	free(sealed);
	return rc == STORE_OK ? xstrdup(secret) : NULL;
}

int auth_logout(struct req *r)
{
	resp_cookie(r, COOKIE_SID, "", 0);
	if (r->who.sid_hash == NULL)
		return 0;
	struct sval p[] = { SVT(r->who.sid_hash) };
	if (store_exec(r->st, sql[S_SESSION_DEL], p, 1, NULL) != STORE_OK)
		return -1;
	audit_req(r, r->who.user_id, r->who.login, "logout",
		  arena_printf(r->arena, "user:%lld", (long long)r->who.user_id), NULL);
	return 0;
}

int auth_logout_all(struct store *st, int64_t user_id)
{
	struct sval p[] = { SVI(user_id) };
	return store_exec(st, sql[S_SESSION_DEL_USER], p, 1, NULL) == STORE_OK ? 0 : -1;
}

char *auth_totp_secret(struct store *st, const struct keys *k, int64_t user_id)
{
	struct store_res *res = NULL;
	struct sval p[] = { SVI(user_id) };
	char *secret = NULL;
	if (store_query(st, sql[S_TOTP_GET], p, 1, &res) == STORE_OK && store_res_rows(res) > 0 &&
	    store_res_text(res, 0, 0) != NULL)
		secret = unseal_text(k, store_res_text(res, 0, 0));
	store_res_free(res);
	return secret;
}
