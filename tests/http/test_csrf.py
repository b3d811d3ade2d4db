"""CSRF: form tokens, the pre-session cookie, the API header, Sec-Fetch-Site."""
from harness import check, eq, shared

CSRF_MSG = "表单已过期或来源不可信"


def expect_csrf_page(r, what):
    r.expect(403, what)
    check(CSRF_MSG in r.text or "CSRF_INVALID" in r.text, "%s: the 403 does not say why: %r" % (what, r.text[:300]))


def test_form_post_without_or_with_forged_csrf():
    srv = shared()
    c = srv.client()
    c.login_as("chen")
    token = c.csrf
    pw = srv.password("chen")
    expect_csrf_page(c.post_form("/logout/all", {}, csrf=False), "/logout/all without _csrf")
    expect_csrf_page(c.post_form("/logout/all", {}, csrf="f" * 64), "/logout/all with a forged _csrf")
    expect_csrf_page(c.post_form("/logout/all", {}, csrf=""), "/logout/all with an empty _csrf")
    form = {"old": pw, "password": "New-password-123", "password2": "New-password-123"}
    expect_csrf_page(c.post_form("/account/password", form, csrf=False), "/account/password without _csrf")
    expect_csrf_page(c.post_form("/account/password", form, csrf="0" * 64), "/account/password forged _csrf")
    # the token of another session does not work either
    other = srv.client()
    other.login_as("chen")
    expect_csrf_page(c.post_form("/account/password", form, csrf=other.csrf), "/account/password, other session's token")
    # nothing happened: the password is unchanged and the session alive
    c.get("/api/v1/me").expect(200, "session after refused posts")
    srv.client().login_api("chen", pw)
    # the right token works (so the 403s above were the token's doing)
    r = c.post_form("/logout/all", {}, csrf=token)
    r.expect(303, "/logout/all with the session's token")
    eq(r.header("Location"), "/", "Location after /logout/all")
    c.get("/api/v1/me").expect(401, "/me after /logout/all")
    other.get("/api/v1/me").expect(401, "other sessions end with /logout/all")


def test_api_unsafe_call_needs_header():
    srv = shared()
    c = srv.client()
    c.login_as("chen")
    c.delete("/api/v1/session", csrf=False).expect_error(403, "CSRF_INVALID", what="DELETE session without X-CSRF-Token")
    c.delete("/api/v1/session", csrf="a" * 64).expect_error(403, "CSRF_INVALID", what="with a forged X-CSRF-Token")
    c.get("/api/v1/me").expect(200, "still signed in")
    adm = srv.admin()
    r = adm.post_json("/api/v1/depts", {"code": "csrf-x", "name": "不应创建", "level": "county"}, csrf=False)
    r.expect_error(403, "CSRF_INVALID", what="POST /api/v1/depts without X-CSRF-Token")
    eq(srv.sql_value("SELECT COUNT(*) FROM departments WHERE code = 'csrf-x'"), "0", "department created without CSRF")
    # a _csrf field in the JSON body does not replace the header
    r = adm.post_json("/api/v1/depts", {"code": "csrf-y", "name": "不应创建", "level": "county", "_csrf": adm.csrf},
                      csrf=False)
    r.expect_error(403, "CSRF_INVALID", what="token in the body of an API call")
    c.delete("/api/v1/session").expect(200, "DELETE session with the header")


def test_anonymous_form_login_needs_pre_session_token():
    srv = shared()
    pw = srv.password("chen")
    c = srv.client()
    r = c.post_form("/login", {"login": "chen", "password": pw}, csrf=False)
    expect_csrf_page(r, "POST /login without yz_pre and _csrf")
    check(c.sid() is None, "signed in without a CSRF token")
    # a _csrf without the cookie
    expect_csrf_page(c.post_form("/login", {"login": "chen", "password": pw}, csrf="b" * 64), "POST /login _csrf without cookie")
    # get the pre-session cookie from any page
    c.get("/login")
    pre = c.cookies.get("yz_pre")
    check(pre and len(pre) == 64, "yz_pre cookie from GET /login: %r" % pre)
    # the cookie without the field, and a field that does not match the cookie
    expect_csrf_page(c.post_form("/login", {"login": "chen", "password": pw}, csrf=False), "cookie without _csrf")
    expect_csrf_page(c.post_form("/login", {"login": "chen", "password": pw}, csrf="c" * 64), "mismatching _csrf")
    check(c.sid() is None, "signed in with a bad token")
    r = c.post_form("/login", {"login": "chen", "password": pw}, csrf=pre)
    r.expect(303, "POST /login with the pre-session token")
    eq(r.header("Location"), "/desk", "Location")
    check(c.sid(), "no session after the form sign-in")


def test_cross_site_refused():
    srv = shared()
    c = srv.client()
    c.login_as("chen")
    r = c.delete("/api/v1/session", headers={"Sec-Fetch-Site": "cross-site"})
    r.expect_error(403, "CSRF_INVALID", what="API call with Sec-Fetch-Site: cross-site")
    expect_csrf_page(c.post_form("/logout/all", {}, headers={"Sec-Fetch-Site": "cross-site"}),
                     "form with the right token but Sec-Fetch-Site: cross-site")
    c.get("/api/v1/me").expect(200, "still signed in")
    # same-origin is fine
    c.delete("/api/v1/session", headers={"Sec-Fetch-Site": "same-origin"}).expect(200)
    # anonymous form sign-in from another site
    a = srv.client()
    a.get("/login")
    r = a.post_form("/login", {"login": "chen", "password": srv.password("chen")},
                    headers={"Sec-Fetch-Site": "cross-site"})
    expect_csrf_page(r, "cross-site POST /login")
    check(a.sid() is None, "signed in cross-site")
