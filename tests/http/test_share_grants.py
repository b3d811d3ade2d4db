"""Grant requests (数据共享申请) and grants: the request form and API, validation (不予共享
fields refused with their legal basis, unconditional fields need no request, purpose and
days), approval by the owning department's staff only, rejection with a reason, withdrawal,
revocation, audit entries, notifications and the desk.  src/apps/share/grants.c."""
import re

from harness import check, eq, shared

_clients = {}


def srv():
    return shared("share_grants")


def client(login):
    s = srv()
    key = (s.port, login)
    if key not in _clients:
        c = s.client()
        c.login_as(login)
        _clients[key] = c
    return _clients[key]


def count(q, params=()):
    return int(srv().sql_value(q, params))


def dept_id(code):
    return int(srv().sql_value("SELECT id FROM departments WHERE code = ?", (code,)))


def request(c, registry="population", fields=("sex", "birth_date"), purpose="就业失业登记核验身份", days=30, **kw):
    body = {"registry": registry, "fields": list(fields), "purpose": purpose, "days": days}
    body.update(kw)
    return c.post_json("/api/v1/share/requests", body)


def form_csrf(c, path):
    r = c.get(path).expect(200, "GET " + path)
    m = re.search(r'name="_csrf" value="([^"]+)"', r.text)
    check(m is not None, "no _csrf on " + path)
    return r, m.group(1)


# ------------------------------------------------------------------ the form

def test_request_form_shows_classes_and_legal_basis():
    w = client("wang.mca")
    page = w.get("/share/requests/new?registry=population").expect(200, "request form").text
    for want in ('name="f_sex"', 'name="f_birth_date"', 'name="f_household_no"', "用途", "使用期限"):
        check(want in page, "form lacks %r" % want)
    check('name="f_phone"' not in page, "a 不予共享 field must not be a checkbox")
    check("联系电话" in page and "个人信息保护法" in page, "the 不予共享 field is shown with its legal basis")
    # choosing a registry first: the owner's own registries and 不予共享 ones are not offered
    z = client("zhao.psb")
    page = z.get("/share/requests/new").expect(200).text
    check('value="population"' not in page, "psb is offered its own registry")
    check('value="enterprise"' in page, "psb may request the enterprise registry")


def test_request_refusals_change_nothing():
    s = client("sun.mca")
    before = count("SELECT COUNT(*) FROM share_requests")
    err = request(s, fields=["phone"]).expect_error(400, "GRANT_FIELD_NONE", "fields")
    check("个人信息保护法" in err["message"], "the legal basis is named: %r" % err)
    request(s, fields=["no_such"]).expect_error(400, "GRANT_FIELD_UNKNOWN", "fields")
    request(s, fields=[]).expect_error(400, "GRANT_FIELDS_REQUIRED", "fields")
    request(s, purpose="核验").expect_error(400, "FIELD_TOO_SHORT", "purpose")
    request(s, purpose="").expect_error(400, "FIELD_REQUIRED", "purpose")
    request(s, days=0).expect_error(400, "FIELD_OUT_OF_RANGE", "days")
    request(s, days=366).expect_error(400, "FIELD_OUT_OF_RANGE", "days")
    request(s, registry="nothing").expect_error(400, "GRANT_NO_REGISTRY", "registry")
    # unconditional fields need no request
    request(s, registry="enterprise", fields=["name"]).expect_error(400, "GRANT_FIELD_UNCONDITIONAL", "fields")
    # the owner asks nobody
    request(client("zhao.psb")).expect_error(400, "GRANT_OWN_REGISTRY", "registry")
    # citizens are not staff
    c = srv().client()
    c.login_as("chen")
    request(c).expect(403, "a citizen may not request")
    eq(count("SELECT COUNT(*) FROM share_requests"), before, "requests after refusals")
    # the form shows the error by the field and keeps what was typed
    r, csrf = form_csrf(s, "/share/requests/new?registry=population")
    r = s.post_form("/share/requests/new", {"_csrf": csrf, "registry": "population", "purpose": "核验",
                                           "days": "30", "f_sex": "1"})
    r.expect(400, "short purpose on the form")
    check("用途" in r.text and "field-has-error" in r.text, "error shown by the field")
    check('id="f_sex" name="f_sex" value="1" checked' in r.text, "the checked field stays checked")
    r = s.post_form("/share/requests/new", {"_csrf": csrf, "registry": "population", "purpose": "最低生活保障复核",
                                           "days": "30"})
    r.expect(400, "no field chosen")
    check("请至少选择一个" in r.text, "no field: %s" % r.short())
    eq(count("SELECT COUNT(*) FROM share_requests"), before, "requests after form refusals")


def test_request_approve_creates_grant_notifies_and_audits():
    s, z, w = client("sun.mca"), client("zhao.psb"), client("wang.mca")
    psb, mca = dept_id("psb"), dept_id("mca")
    audit_before = count("SELECT COUNT(*) FROM audit_log WHERE action IN ('grant.request', 'grant.approve')")
    rq = request(s, fields=["birth_date", "sex"], purpose="高龄津贴资格审核", days=60,
                 basis="《示范市高龄津贴发放办法》第五条").expect(201, "request").json()
    eq(rq["state"], "submitted", "state")
    eq(rq["fields"], ["sex", "birth_date"], "fields in definition order")
    eq(rq["owner"]["id"], psb, "owner")
    eq(rq["dept"]["id"], mca, "requesting department")
    check(rq["deadline"], "a deadline of 5 working days: %r" % rq)
    # the case belongs to the owner's inbox, the applicant is the requester
    row = srv().sql("SELECT dept_id, applicant_id, process FROM cases WHERE id = ?", (rq["case_id"],))[0]
    eq((int(row[0]), row[2]), (psb, "share.grant"), "case department and process")
    eq(int(row[1]), int(srv().sql_value("SELECT id FROM users WHERE login = 'sun.mca'")), "applicant")
    # psb's staff are told and see it on the desk and in their incoming list
    zid = srv().sql_value("SELECT id FROM users WHERE login = 'zhao.psb'")
    check(count("SELECT COUNT(*) FROM messages WHERE user_id = ? AND link = ?",
                (zid, "/share/requests/%d" % rq["id"])) == 1, "zhao notified of the request")
    desk = z.get("/desk").expect(200).text
    check("待审批的数据共享申请" in desk, "psb's desk shows pending requests")
    inc = z.get("/api/v1/share/requests", params={"box": "in"}).expect(200).json()
    check(any(i["id"] == rq["id"] for i in inc["items"]), "incoming list has it")
    out = s.get("/api/v1/share/requests", params={"box": "out"}).expect(200).json()
    check(any(i["id"] == rq["id"] for i in out["items"]), "outgoing list has it")
    page = z.get("/share/requests").expect(200).text
    check("高龄津贴资格审核" in page, "incoming page lists it")
    # only the owner's staff decide; a reason is required to reject
    path = "/api/v1/share/requests/%d/decision" % rq["id"]
    w.post_json(path, {"decision": "approve"}).expect_error(403, "GRANT_NOT_OWNER")
    z.post_json(path, {"decision": "reject"}).expect_error(400, "GRANT_REASON_REQUIRED", "reason")
    z.post_json(path, {"decision": "reject", "reason": "   "}).expect_error(400, "GRANT_REASON_REQUIRED", "reason")
    eq(count("SELECT COUNT(*) FROM share_grants WHERE registry_id = (SELECT id FROM registries WHERE code = "
             "'population') AND grantee_dept_id = ? AND purpose = ?", (mca, "高龄津贴资格审核")), 0, "no grant yet")
    # stale version: nothing changes
    z.post_json(path, {"decision": "approve", "version": rq["version"] + 5}).expect_error(409, "GRANT_CONFLICT")
    done = z.post_json(path, {"decision": "approve", "version": rq["version"]}).expect(200, "approve").json()
    eq(done["state"], "approved", "state after approval")
    check(done["grant_id"], "grant id")
    g = srv().sql("SELECT fields, purpose, starts, expires, case_id, approved_by, grantee_dept_id FROM share_grants "
                  "WHERE id = ?", (done["grant_id"],))[0]
    eq(g[0], "sex,birth_date", "granted fields")
    eq(g[1], "高龄津贴资格审核", "purpose")
    eq(int(g[4]), rq["case_id"], "case of the grant")
    eq(int(g[5]), int(zid), "approved_by")
    eq(int(g[6]), mca, "grantee")
    import datetime
    eq(datetime.date.fromisoformat(g[3]) - datetime.date.fromisoformat(g[2]), datetime.timedelta(days=60), "expiry")
    # a second decision is refused
    z.post_json(path, {"decision": "reject", "reason": "重复"}).expect_error(409, "GRANT_DONE")
    sid = srv().sql_value("SELECT id FROM users WHERE login = 'sun.mca'")
    check(count("SELECT COUNT(*) FROM messages WHERE user_id = ? AND link = ?",
                (sid, "/share/requests/%d" % rq["id"])) == 1, "the requester is told the decision")
    eq(count("SELECT COUNT(*) FROM audit_log WHERE action IN ('grant.request', 'grant.approve')"), audit_before + 2,
       "audit entries")
    eq(count("SELECT COUNT(*) FROM audit_log WHERE action = 'grant.approve' AND object = ?",
             ("share_grant:%d" % done["grant_id"],)), 1, "approval audited on the grant")
    # both departments see the grant
    gs = s.get("/api/v1/share/grants").expect(200).json()
    mine = [x for x in gs["items"] if x["id"] == done["grant_id"]]
    eq(len(mine), 1, "mca sees the grant")
    eq(mine[0]["state"], "active", "grant state")
    eq(mine[0]["received"], True, "received by mca")
    gz = z.get("/api/v1/share/grants").expect(200).json()
    check(any(x["id"] == done["grant_id"] and x["given"] for x in gz["items"]), "psb sees it as given")
    page = s.get("/share/grants").expect(200).text
    check("高龄津贴资格审核" in page and "有效" in page, "grants page")
    detail = s.get("/share/requests/%d" % rq["id"]).expect(200).text
    check("已同意" in detail and "同意共享" in detail, "detail page: state and timeline")


def test_reject_on_the_page_needs_a_reason():
    s, z = client("sun.mca"), client("zhao.psb")
    rq = request(s, fields=["household_no"], purpose="住房保障资格审核").expect(201).json()
    r, csrf = form_csrf(z, "/share/requests/%d" % rq["id"])
    check('id="approve"' in r.text and 'id="reject"' in r.text, "owner sees the decision buttons")
    check('id="approve"' not in s.get("/share/requests/%d" % rq["id"]).expect(200).text,
          "the requester has no decision buttons")
    r = z.post_form("/share/requests/%d/decision" % rq["id"],
                    {"_csrf": csrf, "decision": "reject", "reason": "", "version": str(rq["version"])})
    r.expect(400, "reject without reason")
    check("不同意时须说明理由" in r.text, "reason error on the page")
    eq(srv().sql_value("SELECT state FROM cases WHERE id = ?", (rq["case_id"],)), "submitted", "unchanged")
    r = z.post_form("/share/requests/%d/decision" % rq["id"],
                    {"_csrf": csrf, "decision": "reject", "reason": "户号信息不属于该事项的必要数据",
                     "version": str(rq["version"])})
    r.expect(303, "reject with reason")
    eq(srv().sql_value("SELECT state FROM cases WHERE id = ?", (rq["case_id"],)), "rejected", "rejected")
    eq(count("SELECT COUNT(*) FROM share_grants WHERE case_id = ?", (rq["case_id"],)), 0, "no grant")
    eq(count("SELECT COUNT(*) FROM audit_log WHERE action = 'grant.reject' AND object = ?",
             ("share_request:%d" % rq["id"],)), 1, "rejection audited")
    page = s.get("/share/requests/%d" % rq["id"]).expect(200).text
    check("户号信息不属于该事项的必要数据" in page, "the reason is on the requester's page")


def test_form_request_and_withdraw():
    s = client("sun.mca")
    r, csrf = form_csrf(s, "/share/requests/new?registry=population")
    r = s.post_form("/share/requests/new", {"_csrf": csrf, "registry": "population", "purpose": "临时救助对象身份核验",
                                           "days": "15", "f_name": "1", "f_sex": "1"})
    r.expect(303, "form request")
    rid = int(re.search(r"/share/requests/(\d+)", r.header("Location")).group(1))
    row = srv().sql("SELECT fields, days FROM share_requests WHERE id = ?", (rid,))[0]
    eq((row[0], int(row[1])), ("name,sex", 15), "stored request")
    # another department's staff may not see it
    other = client("zhang.amr")
    other.get("/share/requests/%d" % rid).expect(404, "amr sees mca's request")
    # wang.mca (same department, not the applicant) sees it but cannot withdraw
    w = client("wang.mca")
    w.get("/share/requests/%d" % rid).expect(200)
    w.post_json("/api/v1/share/requests/%d/decision" % rid, {"decision": "withdraw"}).expect(403)
    r, csrf = form_csrf(s, "/share/requests/%d" % rid)
    s.post_form("/share/requests/%d/withdraw" % rid, {"_csrf": csrf}).expect(303, "withdraw")
    eq(srv().sql_value("SELECT c.state FROM cases c JOIN share_requests q ON q.case_id = c.id WHERE q.id = ?", (rid,)),
       "withdrawn", "withdrawn")


def test_revoke_and_give_up():
    s, z = client("sun.mca"), client("zhao.psb")
    rq = request(s, fields=["address"], purpose="低保家庭住址核实").expect(201).json()
    gid = z.post_json("/api/v1/share/requests/%d/decision" % rq["id"], {"decision": "approve"}).expect(200).json()["grant_id"]
    path = "/api/v1/share/grants/%d/revoke" % gid
    z.post_json(path, {}).expect_error(400, "GRANT_REVOKE_REASON_REQUIRED", "reason")
    client("zhang.amr").post_json(path, {"reason": "x"}).expect(404, "a third department")
    g = z.post_json(path, {"reason": "申请部门未按用途使用数据"}).expect(200, "revoke").json()
    eq(g["state"], "revoked", "revoked")
    z.post_json(path, {"reason": "again"}).expect_error(409, "GRANT_NOT_ACTIVE")
    eq(count("SELECT COUNT(*) FROM audit_log WHERE action = 'grant.revoke' AND object = ?", ("share_grant:%d" % gid,)),
       1, "revocation audited")
    # the grantee gives one up (no reason needed)
    rq = request(s, fields=["sex"], purpose="殡葬补贴身份核验").expect(201).json()
    gid = z.post_json("/api/v1/share/requests/%d/decision" % rq["id"], {"decision": "approve"}).expect(200).json()["grant_id"]
    g = s.post_json("/api/v1/share/grants/%d/revoke" % gid, {}).expect(200, "give up").json()
    eq(g["state"], "given_up", "given up")


def test_supervision_links_share_cases_to_their_pages():
    """电子监察 lists every late case; a grant request's and a data-quality task's links lead to the
    sharing app's pages (/share/cases/{id} redirects), not to the hall's case page."""
    s = srv()
    rq = request(client("sun.mca"), fields=["birth_date"], purpose="监察链接测试").expect(201, "request").json()
    cid = rq["case_id"]
    subject = s.sql_value("SELECT subject FROM cases WHERE id = ?", (cid,))
    s.sql("UPDATE cases SET light = 2 WHERE id = ?", (cid,))      # red: late
    try:
        t = s.admin().get("/hall/supervision").expect(200, "supervision").text
        m = re.search(r'<a href="([^"]+)">%s</a>' % re.escape(subject), t)
        check(m is not None, "the late grant request is listed")
        eq(m.group(1), "/share/cases/%d" % cid, "its link")
    finally:
        s.sql("UPDATE cases SET light = 0 WHERE id = ?", (cid,))
    z = client("zhao.psb")
    r = z.get("/share/cases/%d" % cid)
    eq(r.status, 303, "redirect: %s" % r.short())
    eq(r.header("Location"), "/share/requests/%d" % rq["id"], "to the request")
    z.get(r.header("Location")).expect(200, "the request page")
    # a hall case is not the sharing app's; an unknown id neither
    hall = int(s.sql_value("SELECT id FROM cases WHERE process LIKE 'hall.%' ORDER BY id LIMIT 1"))
    eq(z.get("/share/cases/%d" % hall).status, 404, "a hall case")
    eq(z.get("/share/cases/99999999").status, 404, "no such case")
    eq(s.client().get("/share/cases/%d" % cid).status in (302, 303), True, "anonymous: to sign in")
