"""API conventions: pagination, errors, ids, OpenAPI, health, static files, access log."""
import json
import os
import re
import time

from harness import CONFIG, Skip, check, eq, fail, routes_api_paths, shared


def test_health():
    srv = shared()
    c = srv.client()
    r = c.get("/healthz").expect(200, "/healthz")
    eq(r.json(), {"status": "ok"}, "/healthz body")
    r = c.get("/readyz").expect(200, "/readyz")
    eq(r.json(), {"status": "ready"}, "/readyz body")
    # the driver under test is the one asked for
    want = "PostgreSQL" if CONFIG["store_base"] else "SQLite"
    check(want in srv.stderr(), "server log does not say it runs on %s:\n%s" % (want, srv.stderr()[-800:]))


def test_depts_pagination():
    srv = shared()
    c = srv.client()
    seen = []
    after = None
    pages = 0
    while True:
        params = {"limit": 2}
        if after is not None:
            params["after"] = after
        r = c.get("/api/v1/depts", params=params).expect(200, "page %d" % pages)
        doc = r.json()
        check(set(doc) >= {"items", "next"}, "list shape: %r" % list(doc))
        items = doc["items"]
        check(len(items) <= 2, "limit=2 gave %d items" % len(items))
        pages += 1
        seen += [d["id"] for d in items]
        if doc["next"] is None:
            break
        check(isinstance(doc["next"], int), "next must be an integer cursor or null: %r" % doc["next"])
        eq(len(items), 2, "items on a page that has a next")
        after = doc["next"]
        check(pages < 1000, "pagination does not end")
    eq(len(seen), len(set(seen)), "every id once (seen %r)" % seen)
    all_ids = sorted(int(r[0]) for r in srv.sql("SELECT id FROM departments"))
    eq(sorted(seen), all_ids, "ids over all pages vs departments table")
    check(len(seen) >= 17, "demo city has at least 17 departments, got %d" % len(seen))
    # and limit bounds are checked
    c.get("/api/v1/depts", params={"limit": 0}).expect_error(400, "FIELD_OUT_OF_RANGE", "limit")
    c.get("/api/v1/depts", params={"limit": "x"}).expect_error(400, "FIELD_NOT_INTEGER", "limit")


def test_dept_get_and_404():
    srv = shared()
    c = srv.client()
    amr = int(srv.sql_value("SELECT id FROM departments WHERE code = 'amr'"))
    r = c.get("/api/v1/depts/%d" % amr).expect(200)
    d = r.json()
    eq(d["id"], amr, "id")
    eq(d["code"], "amr", "code")
    eq(d["name"], "市场监督管理局", "name")
    check(r.header("Content-Type").startswith("application/json"), "content type %r" % r.header("Content-Type"))
    r = c.get("/api/v1/depts/987654321")
    err = r.expect_error(404, "DEPT_NOT_FOUND")
    check("field" in err, "error object must carry the key field (null when no field): %r" % err)
    check(set(r.json()) == {"error"}, "nothing but error at the top: %r" % r.json())
    for bad in ("abc", "0", "-1", "1x", "99999999999999999999"):
        c.get("/api/v1/depts/" + bad).expect_error(404, "HTTP_404", what="GET /api/v1/depts/" + bad)


def test_unknown_route_and_method():
    srv = shared()
    c = srv.client()
    c.get("/api/v1/nothing-here").expect_error(404, "HTTP_404")
    # a path that exists with another method
    r = c.request("PATCH", "/api/v1/me")
    r.expect_error(405, "HTTP_405")


def test_openapi():
    srv = shared()
    r = srv.client().get("/api/v1/openapi.json").expect(200)
    try:
        doc = json.loads(r.body)
    except ValueError as e:
        fail("openapi.json is not JSON: %s" % e)
    eq(doc.get("openapi"), "3.0.3", "openapi version")
    paths = doc.get("paths", {})
    want = routes_api_paths()
    check(len(want) >= 10, "routes.c lists %d API paths?" % len(want))
    missing = [p for p in want if p not in paths]
    check(not missing, "paths in routes.c missing from openapi.json: %r" % missing)
    # methods too
    check("post" in paths["/api/v1/depts"] and "get" in paths["/api/v1/depts"], "methods of /api/v1/depts")
    check("put" in paths["/api/v1/depts/{id}"], "PUT /api/v1/depts/{id} in openapi")


def test_query_unknown_and_duplicate():
    srv = shared()
    c = srv.client()
    c.get("/api/v1/depts?foo=1").expect_error(400, "FIELD_UNKNOWN", "foo")
    c.get("/api/v1/depts?limit=1&limit=2").expect_error(400, "FIELD_DUPLICATE", "limit")
    # a route that accepts no query at all
    c.get("/api/v1/depts/1?x=1").expect_error(400, "FIELD_UNKNOWN", "x")


def test_access_log_json_lines():
    srv = shared()
    c = srv.client()
    marker = "/api/v1/depts/%d" % (900000000 + os.getpid())
    c.get(marker).expect(404)
    c.get("/healthz").expect(200)
    deadline = time.time() + 5
    while True:
        lines = srv.access_lines()
        if any(marker in l for l in lines):
            break
        if time.time() > deadline:
            fail("request %s not in the access log %s (%d lines)" % (marker, srv.access_log, len(lines)))
        time.sleep(0.05)
    check(len(lines) > 3, "access log has %d lines" % len(lines))
    found = False
    for i, line in enumerate(lines):
        try:
            o = json.loads(line)
        except ValueError as e:
            fail("access log line %d is not JSON (%s): %r" % (i + 1, e, line))
        for k in ("method", "path", "status", "us", "id"):
            check(k in o, "access log line %d lacks %s: %r" % (i + 1, k, line))
        check(isinstance(o["status"], int) and isinstance(o["us"], int), "types in line %d: %r" % (i + 1, line))
        if o["path"] == marker:
            found = True
            eq(o["method"], "GET", "method of the marker line")
            eq(o["status"], 404, "status of the marker line")
    check(found, "marker line not found as a path")


def _static_path(c):
    """/static/site.css if the server has it, else the first /static/ file the home page links to."""
    if c.get("/static/site.css").status == 200:
        return "/static/site.css"
    r = c.get("/")
    for p in sorted(set(re.findall(r'(/static/[A-Za-z0-9_./-]+)', r.text))):
        if c.get(p).status == 200:
            return p
    return None


def test_static_etag():
    srv = shared()
    c = srv.client()
    path = _static_path(c)
    if path is None:
        raise Skip("the server serves no static file yet (web/ empty in this build)")
    r = c.get(path).expect(200, path)
    etag = r.header("ETag")
    check(etag, "no ETag on %s" % path)
    cc = r.header("Cache-Control") or ""
    check(re.search(r"max-age=\d+", cc), "Cache-Control on %s: %r" % (path, cc))
    check(r.body, "empty %s" % path)
    if path.endswith(".css"):
        check(r.header("Content-Type").startswith("text/css"), "Content-Type %r" % r.header("Content-Type"))
    eq(r.header("X-Content-Type-Options"), "nosniff", "nosniff on %s" % path)
    r2 = c.get(path, headers={"If-None-Match": etag})
    eq(r2.status, 304, "If-None-Match status")
    eq(r2.body, b"", "304 body")
    eq(r2.header("ETag"), etag, "ETag on the 304")
    r3 = c.get(path, headers={"If-None-Match": '"different"'})
    eq(r3.status, 200, "other ETag")
    eq(r3.body, r.body, "body again")
    c.get("/static/no-such-file.css").expect(404, "missing static file")
