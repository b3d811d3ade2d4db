"""Bad input at the edge: bodies, types, sizes, malformed HTTP, SQL metacharacters."""
import json

from harness import (STRONG_PW, check, eq, fresh_idcard, raw_exchange, shared, uniq)
from test_auth import limits_server


def citizen(**over):
    d = {"kind": "citizen", "login": uniq("i"), "name": "测试公民", "id_number": fresh_idcard(),
         "phone": "13912345678", "password": STRONG_PW, "password2": STRONG_PW}
    d.update(over)
    return d


def post_raw(c, path, body, ctype="application/json"):
    return c.request("POST", path, body=body, headers={"Content-Type": ctype})


def test_bad_json():
    c = shared().client()
    post_raw(c, "/api/v1/register", b'{"login": "abc",').expect_error(400, "BODY_BAD_JSON")
    post_raw(c, "/api/v1/register", b"not json at all").expect_error(400, "BODY_BAD_JSON")
    post_raw(c, "/api/v1/session", b'{"login":"chen" "password":"x"}').expect_error(400, "BODY_BAD_JSON")
    post_raw(c, "/api/v1/register", b"[]").expect_error(400, "BODY_NOT_OBJECT")
    post_raw(c, "/api/v1/register", b'[{"login":"abc"}]').expect_error(400, "BODY_NOT_OBJECT")
    post_raw(c, "/api/v1/register", b'"text"').expect_error(400, "BODY_NOT_OBJECT")
    post_raw(c, "/api/v1/register", b"42").expect_error(400, "BODY_NOT_OBJECT")
    # a duplicate key names the key
    post_raw(c, "/api/v1/session", b'{"login":"chen","login":"admin","password":"abcdefghijk"}') \
        .expect_error(400, "FIELD_DUPLICATE", "login")
    # nesting past the limit
    deep = b'{"login":' + b"[" * 100 + b"]" * 100 + b"}"
    post_raw(c, "/api/v1/session", deep).expect_error(400, "BODY_BAD_JSON")


def test_invalid_utf8():
    c = shared().client()
    body = json.dumps(citizen(), ensure_ascii=False).encode("utf-8")
    bad = body.replace("测试公民".encode("utf-8"), b"\xff\xfe\xc0\xaf")
    check(bad != body, "test setup")
    r = post_raw(c, "/api/v1/register", bad)
    check(r.status == 400, "invalid UTF-8 in a JSON string: %s" % r.short())
    err = r.json()["error"]
    check(err["code"] in ("BODY_BAD_JSON", "FIELD_BAD_UTF8"), "code %r" % err)
    # an overlong encoding of '/' and a lone surrogate escape
    r = post_raw(c, "/api/v1/session", b'{"login":"\xc0\xafchen","password":"abcdefghijk"}')
    check(r.status == 400 and r.json()["error"]["code"] in ("BODY_BAD_JSON", "FIELD_BAD_UTF8"),
          "overlong UTF-8: %s" % r.short())
    # in a form value
    r = post_raw(c, "/api/v1/register", b"kind=citizen&name=%FF%FEabc", "application/x-www-form-urlencoded")
    r.expect_error(400, "FIELD_BAD_UTF8", "name")
    # in a query value
    c.get("/api/v1/users?q=%FF").expect(401, "anonymous before validation of a protected route")
    c.get("/api/v1/depts?limit=%C0%AF").expect_error(400, "FIELD_BAD_UTF8", "limit")
    # a NUL in a JSON string
    r = post_raw(c, "/api/v1/session", b'{"login":"ch\\u0000en","password":"abcdefghijk"}')
    check(r.status == 400, "NUL in a JSON string: %s" % r.short())


def test_unknown_field_too_long_wrong_type():
    c = shared().client()
    c.post_json("/api/v1/register", citizen(nickname="x"), csrf=False).expect_error(400, "FIELD_UNKNOWN", "nickname")
    c.post_json("/api/v1/session", {"login": "chen", "password": "abcdefghijk", "admin": True}, csrf=False) \
        .expect_error(400, "FIELD_UNKNOWN", "admin")
    body = citizen(name="名" * 201)
    c.post_json("/api/v1/register", body, csrf=False).expect_error(400, "FIELD_TOO_LONG", "name")
    body = citizen(name="a" * 201)
    c.post_json("/api/v1/register", body, csrf=False).expect_error(400, "FIELD_TOO_LONG", "name")
    # 100 characters is the limit for a name; 100 汉字 are 300 bytes and fine
    ok = citizen(name="名" * 100)
    c.post_json("/api/v1/register", ok, csrf=False).expect(201, "100-character name")
    c.post_json("/api/v1/session", {"login": 123, "password": "abcdefghijk"}, csrf=False) \
        .expect_error(400, "FIELD_NOT_STRING", "login")
    c.post_json("/api/v1/register", citizen(login=["a"]), csrf=False).expect_error(400, "FIELD_NOT_STRING", "login")
    c.post_json("/api/v1/session", {"password": "abcdefghijk"}, csrf=False).expect_error(400, "FIELD_REQUIRED", "login")
    c.post_json("/api/v1/register", citizen(kind="robot"), csrf=False).expect_error(400, "FIELD_BAD_CHOICE", "kind")
    c.post_json("/api/v1/register", citizen(phone="12345"), csrf=False).expect_error(400, "PHONE_FORMAT", "phone")
    c.post_json("/api/v1/register", citizen(email="not-an-email"), csrf=False).expect_error(400, "EMAIL_FORMAT", "email")
    c.post_json("/api/v1/register", citizen(name="a\x01b"), csrf=False).expect_error(400, "FIELD_BAD_CONTROL", "name")


def test_unsupported_content_type():
    c = shared().client()
    r = post_raw(c, "/api/v1/session", b"login=chen&password=x", "text/plain")
    r.expect_error(415, "BODY_BAD_TYPE")
    r = post_raw(c, "/api/v1/session", b"<login/>", "application/xml")
    r.expect_error(415, "BODY_BAD_TYPE")


def test_body_too_large():
    srv = limits_server()
    c = srv.client()
    big = json.dumps({"login": "chen", "password": "p" * 10240})
    check(len(big) > 10000, "setup")
    # with Content-Length: refused before the body is read
    head = ("POST /api/v1/session HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            "Content-Length: %d\r\nConnection: close\r\n\r\n" % len(big)).encode()
    status, raw = raw_exchange(srv.port, None, chunks=[head, big.encode()])
    eq(status, 413, "10 KB body with Content-Length (reply %r)" % raw[:200])
    check(b"HTTP_413" in raw, "JSON error code HTTP_413 in %r" % raw[-300:])
    c.get("/healthz").expect(200, "/healthz after 413")
    # chunked, no Content-Length: refused while reading
    body = big.encode()
    chunks = [("POST /api/v1/session HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
               "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n").encode()]
    for i in range(0, len(body), 1000):
        part = body[i:i + 1000]
        chunks.append(b"%x\r\n" % len(part) + part + b"\r\n")
    chunks.append(b"0\r\n\r\n")
    status, raw = raw_exchange(srv.port, None, chunks=chunks)
    eq(status, 413, "10 KB chunked body (reply %r)" % raw[:200])
    c.get("/healthz").expect(200, "/healthz after chunked 413")
    # just under the limit is fine
    small = json.dumps({"login": "chen", "password": "p" * 200})
    post_raw(c, "/api/v1/session", small.encode()).expect_error(401, "LOGIN_BAD")
    c.get("/readyz").expect(200)


def test_oversized_headers():
    srv = shared()
    req = ("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: %s\r\nConnection: close\r\n\r\n" % ("a" * 65536)).encode()
    status, raw = raw_exchange(srv.port, req)
    check(status in (413, 431), "64 KB header: expected 431 or 413, got %r (%r)" % (status, raw[:200]))
    # many headers adding up to a lot
    many = "".join("X-H%d: %s\r\n" % (i, "b" * 100) for i in range(700))
    status, raw = raw_exchange(srv.port, ("GET /healthz HTTP/1.1\r\nHost: x\r\n%s\r\n" % many).encode())
    check(status in (413, 431), "70 KB of headers: expected 431 or 413, got %r (%r)" % (status, raw[:200]))
    # a long URL
    status, raw = raw_exchange(srv.port, ("GET /api/v1/depts?%s HTTP/1.1\r\nHost: x\r\n\r\n" % ("q" * 70000)).encode())
    check(status is not None and 400 <= status < 500, "70 KB request line: got %r (%r)" % (status, raw[:200]))
    srv.client().get("/healthz").expect(200, "/healthz after oversized headers")


def test_malformed_request_line():
    srv = shared()
    for req in (b"GARBAGE\r\n\r\n", b"GET\r\n\r\n", b"\x00\x01\x02\xff\r\n\r\n",
                b"GET / HTTP/9.9\r\nHost: x\r\n\r\n", b"GET / FTP/1.0\r\nHost: x\r\n\r\n",
                b"GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header Line\r\n\r\n"):
        status, raw = raw_exchange(srv.port, req, timeout=5)
        ok = status is None and raw == b"" or status is not None and (400 <= status < 500 or status == 505)
        check(ok, "%r: expected a 4xx (or 505 for the version) or a closed connection, got %r" % (req, raw[:200]))
        srv.client().get("/healthz").expect(200, "/healthz after %r" % req)
    # an unknown method on a known path
    status, raw = raw_exchange(srv.port, b"BREW /api/v1/depts HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    check(status is not None and 400 <= status < 500, "unknown method: %r" % raw[:200])
    srv.client().get("/healthz").expect(200)


def test_sql_metacharacters():
    srv = shared()
    c = srv.client()
    users_before = int(srv.sql_value("SELECT COUNT(*) FROM users"))
    # in a sign-in: just a wrong login
    c.post_json("/api/v1/session", {"login": "x' OR '1'='1", "password": "x' OR '1'='1 --"}, csrf=False) \
        .expect_error(401, "LOGIN_BAD")
    c.post_json("/api/v1/session", {"login": "chen' --", "password": "anything-long"}, csrf=False) \
        .expect_error(401, "LOGIN_BAD")
    check(c.sid() is None, "a session from an injected login")
    # as a login to register: refused by the login format, not by the database
    c.post_json("/api/v1/register", citizen(login="x' OR '1'='1"), csrf=False).expect_error(400, "LOGIN_FORMAT", "login")
    # as a name: stored literally
    name = "x' OR '1'='1; DROP TABLE users; --"
    body = citizen(name=name)
    c.post_json("/api/v1/register", body, csrf=False).expect(201)
    c2 = srv.client()
    c2.login_api(body["login"], STRONG_PW)
    eq(c2.get("/api/v1/me").expect(200).json()["name"], name, "name read back")
    # a department name, created by the admin
    adm = srv.admin()
    dname = "'; DROP TABLE users; --"
    r = adm.post_json("/api/v1/depts", {"code": uniq("sq"), "name": dname, "level": "county", "parent_id": 1})
    r.expect(201, "create a department with SQL in its name")
    d = adm.get("/api/v1/depts/%d" % r.json()["id"]).expect(200).json()
    eq(d["name"], dname, "department name read back")
    eq(srv.sql_value("SELECT name FROM departments WHERE id = ?", (r.json()["id"],)), dname, "name in the table")
    # the users table is intact
    users_after = int(srv.sql_value("SELECT COUNT(*) FROM users"))
    eq(users_after, users_before + 1, "users after the injection attempts")
    srv.client().login_as("chen")
    # a query parameter
    c.get("/api/v1/depts?after=1%20OR%201=1").expect_error(400, "FIELD_NOT_INTEGER", "after")
