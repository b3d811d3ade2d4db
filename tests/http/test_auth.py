"""Sign-in: passwords, throttling, the second factor, sign-out, session expiry."""
import hashlib
import re

from harness import check, eq, fail, idcard_check, shared, totp_code, totp_step

LIMITS_ENV = {"YIZHAN_LOGIN_MAX_FAIL_ACCOUNT": "3", "YIZHAN_MAX_BODY": "4096",
              "YIZHAN_LOGIN_MAX_FAIL_IP": "100000"}


def limits_server():
    """A shared server with small limits: 3 failed logins per account, 4 KiB bodies."""
    return shared("limits", LIMITS_ENV)


def demo_citizen_id():
    first = "44010619900517123"
    return first + idcard_check(first)


def test_citizen_login_and_me_masked():
    srv = shared()
    c = srv.client()
    r = c.post_json("/api/v1/session", {"login": "chen", "password": srv.password("chen")}, csrf=False)
    r.expect(201, "citizen sign-in")
    doc = r.json()
    eq(doc.get("state"), "ok", "state")
    check(isinstance(doc.get("csrf_token"), str) and len(doc["csrf_token"]) >= 32, "csrf_token %r" % doc)
    check(c.sid(), "no yz_sid cookie after sign-in")
    c.csrf = doc["csrf_token"]
    r = c.get("/api/v1/me").expect(200, "/api/v1/me")
    me = r.json()
    eq(me.get("login"), "chen", "login")
    eq(me.get("name"), "陈小梅", "name")
    eq(me.get("kind"), "citizen", "kind")
    masked = me.get("ident_masked")
    check(isinstance(masked, str) and "********" in masked, "ident_masked %r" % masked)
    full = demo_citizen_id()
    eq(masked, full[:6] + "********" + full[14:], "masked form")
    check(full not in r.text, "the full 身份证号 appears in /api/v1/me")
    check(not re.search(r"\d{17}[\dX]", r.text), "an unmasked 18-character id in /api/v1/me: %s" % r.text)


def test_wrong_password():
    srv = shared()
    c = srv.client()
    r = c.post_json("/api/v1/session", {"login": "chen", "password": "wrong-password-123"}, csrf=False)
    r.expect_error(401, "LOGIN_BAD", "password")
    check(c.sid() is None, "no session cookie after a failed sign-in")
    r = c.post_json("/api/v1/session", {"login": "no.such.user", "password": "wrong-password-123"}, csrf=False)
    r.expect_error(401, "LOGIN_BAD", "password", what="unknown login")


def test_wrong_short_password_is_login_bad():
    # A sign-in must not apply the password policy: a wrong password of any length is
    # "用户名或密码错误", never a hint about the policy.
    srv = shared()
    c = srv.client()
    for pw in ("x", "short"):
        r = c.post_json("/api/v1/session", {"login": "chen", "password": pw}, csrf=False)
        r.expect_error(401, "LOGIN_BAD", what="short wrong password %r" % pw)


def test_login_throttled_after_failures():
    srv = limits_server()
    login = "huaxin"
    c = srv.client()
    for i in range(3):
        r = c.post_json("/api/v1/session", {"login": login, "password": "wrong-password-%d00" % i}, csrf=False)
        r.expect_error(401, "LOGIN_BAD", what="bad attempt %d" % (i + 1))
    r = c.post_json("/api/v1/session", {"login": login, "password": srv.password(login)}, csrf=False)
    r.expect_error(429, "LOGIN_LOCKED", what="right password after 3 failures")
    check(c.sid() is None, "a locked sign-in must not start a session")
    # another account is not locked by it
    c2 = srv.client()
    c2.login_as("chen")


def test_staff_totp_flow():
    srv = shared()
    login = "zhang.amr"
    acct = srv.creds[login]
    c = srv.client()
    r = c.post_json("/api/v1/session", {"login": login, "password": acct["password"]}, csrf=False)
    r.expect(201, "staff password step")
    doc = r.json()
    eq(doc.get("state"), "totp_required", "state after the password")
    c.csrf = doc["csrf_token"]
    c.get("/api/v1/me").expect_error(401, "HTTP_401", what="/me with the second factor pending")
    c.get("/api/v1/desk").expect_error(401, "HTTP_401", what="/desk API with the second factor pending")
    # a wrong code
    cur = totp_step()
    window = {totp_code(acct["totp"], s) for s in range(cur - 2, cur + 3)}
    wrong = next("%06d" % n for n in range(123456, 999999, 7919) if "%06d" % n not in window)
    c.post_json("/api/v1/session/totp", {"code": wrong}).expect_error(401, "TOTP_BAD", "code")
    c.get("/api/v1/me").expect(401, "/me after a wrong code")
    # without the CSRF header
    code = srv.totp_now(login, acct["totp"])
    c.post_json("/api/v1/session/totp", {"code": code}, csrf=False).expect_error(403, "CSRF_INVALID")
    # the right code
    r = c.post_json("/api/v1/session/totp", {"code": code}).expect(200, "right TOTP code")
    eq(r.json().get("state"), "ok", "state after TOTP")
    me = c.get("/api/v1/me").expect(200, "/me after TOTP").json()
    eq(me.get("login"), login, "login")
    # the same code again, in a new sign-in: refused (no replay)
    c2 = srv.client()
    r = c2.post_json("/api/v1/session", {"login": login, "password": acct["password"]}, csrf=False).expect(201)
    c2.csrf = r.json()["csrf_token"]
    c2.post_json("/api/v1/session/totp", {"code": code}).expect_error(401, "TOTP_BAD", "code",
                                                                      what="replayed TOTP code")
    c2.get("/api/v1/me").expect(401, "/me after a replayed code")
    # the first session is unaffected
    c.get("/api/v1/me").expect(200, "first session still signed in")


def test_totp_without_session():
    srv = shared()
    c = srv.client()
    r = c.post_json("/api/v1/session/totp", {"code": "123456"}, csrf=False)
    # anonymous: no session, so no CSRF token can match
    check(r.status in (403, 409), "TOTP without a session: %s" % r.short())


def test_sign_out():
    srv = shared()
    c = srv.client()
    c.login_as("chen")
    sid = c.sid()
    c.get("/api/v1/me").expect(200)
    r = c.delete("/api/v1/session").expect(200, "DELETE /api/v1/session")
    eq(r.json().get("state"), "signed_out", "state")
    check(c.sid() is None, "yz_sid cookie not cleared")
    c.get("/api/v1/me").expect_error(401, "HTTP_401", what="/me after sign-out")
    # the old cookie is dead on the server too
    c.cookies["yz_sid"] = sid
    c.get("/api/v1/me").expect(401, "/me with the signed-out cookie")
    n = srv.sql_value("SELECT COUNT(*) FROM sessions WHERE id_hash = ?", (hashlib.sha256(sid.encode()).hexdigest(),))
    eq(n, "0", "session rows with the signed-out id")


def test_session_expiry():
    srv = shared()
    c = srv.client()
    c.login_as("chen")
    sid = c.sid()
    h = hashlib.sha256(sid.encode()).hexdigest()
    eq(srv.sql_value("SELECT COUNT(*) FROM sessions WHERE id_hash = ?", (h,)), "1",
       "the session row (id_hash = sha256 of the cookie)")
    c.get("/api/v1/me").expect(200)
    srv.sql("UPDATE sessions SET seen_at = seen_at - 7200 WHERE id_hash = ?", (h,))
    r = c.get("/api/v1/me")
    r.expect_error(401, "SESSION_EXPIRED", what="/me after 2 hours idle")
    eq(r.header("X-Session-Expired"), "1", "X-Session-Expired header")
    check(c.sid() is None, "expired session cookie not cleared")
    eq(srv.sql_value("SELECT COUNT(*) FROM sessions WHERE id_hash = ?", (h,)), "0", "expired session row deleted")


def test_session_expiry_page_says_so():
    srv = shared()
    c = srv.client()
    c.login_as("chen")
    h = hashlib.sha256(c.sid().encode()).hexdigest()
    srv.sql("UPDATE sessions SET seen_at = seen_at - 7200 WHERE id_hash = ?", (h,))
    r = c.get("/desk")
    eq(r.status, 303, "expired session on a page")
    eq(r.header("Location"), "/login?next=/desk&expired=1", "redirect to sign in, saying why")
    page = c.get("/login?next=/desk&expired=1").expect(200, "login page after expiry")
    check("登录已过期" in page.text, "the login page says the session expired")


def test_session_absolute_timeout():
    srv = shared()
    c = srv.client()
    c.login_as("chen")
    h = hashlib.sha256(c.sid().encode()).hexdigest()
    srv.sql("UPDATE sessions SET created_at = created_at - 13 * 3600 WHERE id_hash = ?", (h,))
    c.get("/api/v1/me").expect(401, "/me 13 hours after sign-in (session_max 12 h)")
    eq(srv.sql_value("SELECT COUNT(*) FROM sessions WHERE id_hash = ?", (h,)), "0", "old session row deleted")


def test_new_session_id_at_sign_in():
    # no session fixation: signing in again gives a new id and ends the old one
    srv = shared()
    c = srv.client()
    c.login_as("chen")
    old = c.sid()
    r = c.post_json("/api/v1/session", {"login": "chen", "password": srv.password("chen")}, csrf=False)
    r.expect(201)
    check(c.sid() and c.sid() != old, "session id not renewed at sign-in")
    h = hashlib.sha256(old.encode()).hexdigest()
    eq(srv.sql_value("SELECT COUNT(*) FROM sessions WHERE id_hash = ?", (h,)), "0", "old session row")
    if not re.fullmatch(r"[0-9a-f]{64}", c.sid()):
        fail("session id is not 64 hex characters: %r" % c.sid())
