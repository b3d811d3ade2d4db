"""Roles: who may call what; departments, staff, CSV import jobs."""
from harness import check, eq, shared, uniq, wait_job


def dept_id(srv, code):
    return int(srv.sql_value("SELECT id FROM departments WHERE code = ?", (code,)))


def test_citizen_forbidden_admin_api():
    srv = shared()
    c = srv.client()
    c.login_as("chen")
    c.get("/api/v1/users").expect_error(403, "HTTP_403", what="citizen GET /api/v1/users")
    c.get("/api/v1/users/1").expect_error(403, "HTTP_403", what="citizen GET /api/v1/users/1")
    c.post_json("/api/v1/depts", {"code": uniq("r"), "name": "公民建的", "level": "county"}) \
        .expect_error(403, "HTTP_403", what="citizen POST /api/v1/depts")
    c.post_json("/api/v1/users", {"login": uniq("s"), "name": "某某", "dept_id": 1, "role": "staff"}) \
        .expect_error(403, "HTTP_403", what="citizen POST /api/v1/users")
    # a plain staff member is not a department admin
    s = srv.client()
    s.login_as("wang.mca")
    s.get("/api/v1/users").expect_error(403, "HTTP_403", what="staff GET /api/v1/users")


def test_anonymous_gets_401_or_login_redirect():
    srv = shared()
    c = srv.client()
    for path in ("/api/v1/me", "/api/v1/users", "/api/v1/desk", "/api/v1/jobs/1"):
        c.get(path).expect_error(401, "HTTP_401", what="anonymous GET " + path)
    c.post_json("/api/v1/depts", {"code": "anon", "name": "匿名", "level": "county"}, csrf=False) \
        .expect_error(401, "HTTP_401", what="anonymous POST /api/v1/depts")
    for path in ("/desk", "/account", "/admin/users", "/admin/depts"):
        r = c.get(path)
        eq(r.status, 303, "anonymous GET %s status" % path)
        eq(r.header("Location"), "/login?next=" + path, "anonymous GET %s Location" % path)


def test_dept_admin_scope():
    srv = shared()
    amr, mca = dept_id(srv, "amr"), dept_id(srv, "mca")
    c = srv.client()
    c.login_as("li.amr")
    login = uniq("s")
    r = c.post_json("/api/v1/users", {"login": login, "name": "测试员", "dept_id": amr, "role": "staff"})
    r.expect(201, "dept admin creates staff in 市场监督管理局")
    a = r.json()
    eq(a.get("login"), login, "login")
    eq(a.get("kind"), "staff", "kind")
    otp = a.get("one_time_password")
    check(isinstance(otp, str) and len(otp) >= 12, "one_time_password %r" % otp)
    check([(x["dept_id"], x["role"]) for x in a.get("roles", [])] == [(amr, "staff")], "roles %r" % a.get("roles"))
    # the one-time password works and must be changed
    n = srv.client()
    r = n.post_json("/api/v1/session", {"login": login, "password": otp}, csrf=False).expect(201)
    check(r.json()["state"] in ("totp_enrollment_required", "totp_required"), "new staff state %r" % r.json())
    # not in 民政局
    login2 = uniq("s")
    r = c.post_json("/api/v1/users", {"login": login2, "name": "测试员", "dept_id": mca, "role": "staff"})
    r.expect_error(403, "NOT_YOUR_DEPT", "dept_id", what="dept admin creates staff in 民政局")
    eq(srv.sql_value("SELECT COUNT(*) FROM users WHERE login = ?", (login2,)), "0", "account created in another dept")
    # nor grant roles there, nor grant platform_admin
    uid = a["id"]
    c.post_json("/api/v1/users/%d/roles" % uid, {"dept_id": mca, "role": "staff"}) \
        .expect_error(403, "NOT_YOUR_DEPT", "dept_id", what="grant a role in 民政局")
    c.post_json("/api/v1/users/%d/roles" % uid, {"dept_id": amr, "role": "platform_admin"}) \
        .expect_error(403, "NOT_YOUR_DEPT", "dept_id", what="grant platform_admin")
    r = c.post_json("/api/v1/users/%d/roles" % uid, {"dept_id": amr, "role": "dept_admin"}).expect(200)
    check({"dept_admin", "staff"} <= {x["role"] for x in r.json()["roles"]}, "roles after grant %r" % r.json())
    c.delete("/api/v1/users/%d/roles/%d/dept_admin" % (uid, amr)).expect(200, "revoke")
    c.delete("/api/v1/users/%d/roles/%d/boss" % (uid, amr)).expect_error(400, "ROLE_UNKNOWN", "role")
    # a department that does not exist
    c.post_json("/api/v1/users", {"login": uniq("s"), "name": "测试员", "dept_id": 99999, "role": "staff"}) \
        .expect_error(400, "DEPT_NOT_FOUND", "dept_id")
    # a dept admin cannot create departments
    c.post_json("/api/v1/depts", {"code": uniq("d"), "name": "越权", "level": "county"}) \
        .expect_error(403, "HTTP_403", what="dept admin POST /api/v1/depts")


def test_platform_admin_departments():
    srv = shared()
    adm = srv.admin()
    gov = dept_id(srv, "gov")
    code = uniq("d")
    body = {"code": code, "name": "测试局", "level": "city", "parent_id": gov, "sort": 50}
    r = adm.post_json("/api/v1/depts", body).expect(201, "create a department")
    d = r.json()
    did = d["id"]
    eq((d["code"], d["name"], d["level"], d["parent_id"], d["sort"]), (code, "测试局", "city", gov, 50), "created")
    adm.post_json("/api/v1/depts", dict(body, name="重复")).expect_error(400, "DEPT_CODE_TAKEN", "code")
    adm.post_json("/api/v1/depts", dict(body, code=uniq("d"), level="galaxy")).expect_error(400, "FIELD_BAD_CHOICE", "level")
    adm.post_json("/api/v1/depts", dict(body, code="bad code!")).expect_error(400, "DEPT_CODE_FORMAT", "code")
    adm.post_json("/api/v1/depts", dict(body, code=uniq("d"), parent_id=987654)).expect_error(400, "DEPT_PARENT_UNKNOWN", "parent_id")
    # update
    body2 = dict(body, name="测试局（改）", level="county")
    r = adm.put_json("/api/v1/depts/%d" % did, body2).expect(200, "PUT department")
    eq((r.json()["name"], r.json()["level"]), ("测试局（改）", "county"), "updated fields")
    eq(adm.get("/api/v1/depts/%d" % did).expect(200).json()["name"], "测试局（改）", "name read back")
    adm.put_json("/api/v1/depts/987654", body2).expect_error(404, "DEPT_NOT_FOUND", what="PUT a missing department")
    # cycles: itself, or its own child
    adm.put_json("/api/v1/depts/%d" % did, dict(body2, parent_id=did)) \
        .expect_error(400, "DEPT_PARENT_CYCLE", "parent_id", what="parent = itself")
    child = adm.post_json("/api/v1/depts", {"code": uniq("d"), "name": "子部门", "level": "town", "parent_id": did}).expect(201).json()
    adm.put_json("/api/v1/depts/%d" % did, dict(body2, parent_id=child["id"])) \
        .expect_error(400, "DEPT_PARENT_CYCLE", "parent_id", what="parent = own child")
    eq(int(srv.sql_value("SELECT parent_id FROM departments WHERE id = ?", (did,))), gov, "parent after refused updates")
    # the audit trail saw it
    n = int(srv.sql_value("SELECT COUNT(*) FROM audit_log WHERE action = 'dept.update' AND object = ?", ("dept:%d" % did,)))
    eq(n, 1, "dept.update audit entries")


def test_dept_csv_import():
    srv = shared()
    adm = srv.admin()
    a, b, cc = uniq("im"), uniq("im"), uniq("im")
    csv = "code,name,parent_code,level,sort\n%s,导入区,gov,county,10\n%s,导入街道,%s,town,\n%s,导入社区,%s,village,3\n" % (a, b, a, cc, b)
    r = adm.post_json("/api/v1/depts/import", {"csv": csv}).expect(202, "import")
    job = r.json()["job"]
    check(isinstance(job, int), "job id %r" % r.json())
    eq(r.header("Location"), "/api/v1/jobs/%d" % job, "Location")
    j = wait_job(adm, job)
    eq(j["state"], "done", "job state (%r)" % j)
    eq(j["result"].get("created"), 3, "created count")
    eq(j["result"].get("updated"), 0, "updated count")
    rows = srv.sql("SELECT d.code, p.code, d.level FROM departments d JOIN departments p ON p.id = d.parent_id "
                   "WHERE d.code IN (?, ?, ?) ORDER BY d.id", (a, b, cc))
    eq(rows, [(a, "gov", "county"), (b, a, "town"), (cc, b, "village")], "imported rows")
    # another user cannot see the job
    c = srv.client()
    c.login_as("chen")
    c.get("/api/v1/jobs/%d" % job).expect_error(404, "JOB_NOT_FOUND")
    # the same file again updates
    j = wait_job(adm, adm.post_json("/api/v1/depts/import", {"csv": csv}).expect(202).json()["job"])
    eq((j["state"], j["result"].get("created"), j["result"].get("updated")), ("done", 0, 3), "re-import")


def test_dept_csv_import_all_or_nothing():
    srv = shared()
    adm = srv.admin()
    a, b, cc = uniq("bad"), uniq("bad"), uniq("bad")
    csv = "code,name,parent_code,level\n%s,好的一行,gov,county\n%s,坏的一行,gov,planet\n%s,又一行,%s,town\n" % (a, b, cc, a)
    job = adm.post_json("/api/v1/depts/import", {"csv": csv}).expect(202).json()["job"]
    j = wait_job(adm, job)
    eq(j["state"], "failed", "job state (%r)" % j)
    errors = (j.get("result") or {}).get("errors")
    check(isinstance(errors, list) and errors, "result.errors %r" % j.get("result"))
    check(any(e.get("row") == 3 and e.get("field") == "level" for e in errors),
          "no error for row 3, field level: %r" % errors)
    check(all(e.get("row") == 3 for e in errors), "errors on other rows: %r" % errors)
    n = srv.sql_value("SELECT COUNT(*) FROM departments WHERE code IN (?, ?, ?)", (a, b, cc))
    eq(n, "0", "departments from a failed import")
    # a file without the needed header
    j = wait_job(adm, adm.post_json("/api/v1/depts/import", {"csv": "a,b\n1,2\n"}).expect(202).json()["job"])
    eq(j["state"], "failed", "headerless import")
    check(j["result"]["errors"][0]["row"] == 1, "header error on row 1: %r" % j["result"])
    # malformed CSV (an unterminated quote)
    j = wait_job(adm, adm.post_json("/api/v1/depts/import",
                                    {"csv": 'code,name,level\n"%s,x,county\n' % uniq("q")}).expect(202).json()["job"])
    eq(j["state"], "failed", "malformed CSV")
    # input checks on the request itself
    adm.post_json("/api/v1/depts/import", {"csv": ""}).expect_error(400, "FIELD_REQUIRED", "csv")


def test_desk_lists_what_waits():
    """The desk collects items from every provider: staff without a second
    factor for the administrator of their department, not for others."""
    srv = shared()
    amr = dept_id(srv, "amr")
    admin = srv.client()
    admin.login_as("li.amr")

    def waiting(c):
        r = c.get("/api/v1/desk").expect(200, "GET /api/v1/desk")
        body = r.json()
        check(body.get("next") is None, "desk list has next=null: %r" % body)
        return [i for i in body["items"] if "动态验证码" in i["title"]]

    before = waiting(admin)
    before_count = before[0]["count"] if before else 0
    login = uniq("s")
    admin.post_json("/api/v1/users", {"login": login, "name": "待设置", "dept_id": amr, "role": "staff"}) \
        .expect(201, "create staff without a second factor")
    after = waiting(admin)
    check(len(after) == 1, "dept admin desk shows staff without TOTP: %r" % after)
    eq(after[0]["count"], before_count + 1, "count of staff without TOTP")
    eq(after[0]["level"], "info", "level")
    # a plain staff member of the same department sees no such item
    staff = srv.client()
    staff.login_as("zhang.amr")
    eq(waiting(staff), [], "plain staff desk items about TOTP")
    # the desk page shows the same item
    page = admin.get("/desk").expect(200, "GET /desk")
    check("尚未设置动态验证码" in page.text, "desk page lists the item")
