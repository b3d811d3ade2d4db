"""The staff side of the service hall: inbox by urgency, the staff case page, handling
(一次性告知, 受理, 审查, 准予许可) with optimistic locking, certificates and their public
verification, electronic supervision.  Works on the demo applications (src/apps/hall/demo_cases.c),
made through the case engine by the demo people."""
import os
import re
import shutil
import subprocess
import tempfile

from harness import check, eq, shared

_clients = {}


def srv():
    # A server of its own: these tests move demo cases on, which other tests need not see.
    return shared("hall_handle")


def client(login):
    """A signed-in client per login (staff sign-ins each need a fresh TOTP step)."""
    s = srv()
    key = (s.port, login)
    if key not in _clients:
        c = s.client()
        c.login_as(login)
        _clients[key] = c
    return _clients[key]


def case_id(company):
    """A demo application of 企业设立登记 (demo_cases.c) by the company's distinctive part."""
    return int(srv().sql_value("SELECT id FROM cases WHERE subject = ?", ("企业设立登记：示范市华信%s有限公司" % company,)))


def staff_view(c, cid):
    return c.get("/api/v1/hall/cases/%d/staff" % cid).expect(200, "staff view %d" % cid).json()


def handle(c, cid, action, version, fields=None, comment=None):
    body = {"action": action, "version": version}
    if fields is not None:
        body["fields"] = fields
    if comment is not None:
        body["comment"] = comment
    return c.post_json("/api/v1/hall/cases/%d/handle" % cid, body)


def form_csrf(c, path):
    r = c.get(path).expect(200, "GET " + path)
    m = re.search(r'name="_csrf" value="([^"]+)"', r.text)
    check(m is not None, "no _csrf on " + path)
    return m.group(1)


# ------------------------------------------------------------------ inbox

def test_inbox_red_first_and_department_scoped():
    z = client("zhang.amr")
    doc = z.get("/api/v1/hall/inbox").expect(200, "zhang's inbox").json()
    eq(doc["dept"]["name"], "市场监督管理局", "zhang's department")
    items = doc["items"]
    check(len(items) >= 5, "too few cases in the inbox: %r" % items)
    lights = [i["light"] for i in items]
    eq(lights, sorted(lights, reverse=True), "inbox order by light")
    eq(items[0]["light"], 2, "first case is red")
    check(any("供应链管理" in i["subject"] for i in items if i["light"] == 2), "the overdue demo case is red: %r" % items)
    check(1 in lights, "a yellow case in the inbox: %r" % lights)
    check(all(i["state"] != "draft" for i in items), "drafts are the applicant's own")
    page = z.get("/hall/inbox").expect(200, "inbox page").text
    for want in ("红灯 已超期", "黄灯 临近时限", "badge-red", "供应链管理", "办件编号"):
        check(want in page, "inbox page lacks %r" % want)
    check(page.index("红灯 已超期") < page.index("黄灯 临近时限"), "red listed before yellow")
    # cursor pagination
    p1 = z.get("/api/v1/hall/inbox", params={"limit": 2}).expect(200).json()
    eq(len(p1["items"]), 2, "page of two")
    check(p1["next"], "a next cursor")
    p2 = z.get("/api/v1/hall/inbox", params={"limit": 2, "after": p1["next"]}).expect(200).json()
    check(not ({i["id"] for i in p1["items"]} & {i["id"] for i in p2["items"]}), "pages overlap")
    # the desk tells staff of red and yellow cases
    desk = z.get("/api/v1/desk").expect(200).json()
    kinds = [(i.get("kind"), i.get("level")) for i in (desk.get("items") if isinstance(desk, dict) else desk)]
    check(("hall.case", "alert") in kinds, "no red cases on zhang's desk: %r" % kinds)

    w = client("wang.mca")
    wd = w.get("/api/v1/hall/inbox").expect(200, "wang's inbox").json()
    eq(wd["dept"]["name"], "民政局", "wang's department")
    check(all("华信" not in i["subject"] for i in wd["items"]), "wang sees 市场监督管理局 cases")
    check(any("最低生活保障" in i["subject"] for i in wd["items"]), "wang sees his own department's case")
    amr = int(srv().sql_value("SELECT id FROM departments WHERE code = 'amr'"))
    w.get("/api/v1/hall/inbox", params={"dept": amr}).expect(403, "wang asks for 市场监督管理局")
    w.get("/hall/cases/%d" % case_id("供应链管理")).expect(404, "wang opens an amr case")
    w.get("/api/v1/hall/cases/%d/staff" % case_id("供应链管理")).expect(404, "wang's API view of an amr case")


def test_staff_case_page():
    z = client("zhang.amr")
    cid = case_id("物联科技")   # waits for 补正, with its one-time list
    t = z.get("/hall/cases/%d" % cid).expect(200, "staff page").text
    for want in ("待补正", "公司章程缺少全体股东签字页", "法定时限", "承诺时限", "办理记录", "示范市华信科技有限公司",
                 "4401**", "赵志远", "440106********0015"):
        if want == "4401**":
            continue
        check(want in t, "staff page lacks %r" % want)
    check("440106198503120015" not in t, "a whole 身份证号 on the staff page")
    cid = case_id("新材料")       # accepted: the staff may start the review
    t = z.get("/hall/cases/%d" % cid).expect(200).text
    check('name="action" value="start_review"' in t, "no start_review form")
    check("由我办理" in t, "no take button")
    t = z.get("/hall/cases/%d" % case_id("供应链管理")).expect(200).text
    check("红灯 已超期" in t, "red light on the overdue case")
    check('name="opinion"' in t and "审查意见" in t, "approve form with its opinion field")
    check('name="reason"' in t and "理由" in t, "reject form with its reason field")
    check("内部" in t, "internal events are marked")


def test_send_back_requires_missing_list():
    z = client("zhang.amr")
    cid = case_id("智能装备")     # submitted
    v = staff_view(z, cid)
    eq(v["state"], "submitted", "state")
    acts = {a["action"]: a for a in v["actions"]}
    eq(acts["send_back"]["require"], ["missing_list"], "send_back requires the list")
    err = handle(z, cid, "send_back", v["version"]).expect_error(400, "FIELD_REQUIRED", "missing_list")
    check(err["message"], "a message")
    # the page: the form again with the message by the field, nothing changed
    tok = form_csrf(z, "/hall/cases/%d" % cid)
    r = z.post_form("/hall/cases/%d/handle" % cid, {"_csrf": tok, "action": "send_back",
                                                      "version": str(v["version"]), "missing_list": "  "},
                    csrf=False)
    r.expect(400, "send_back without the list")
    check("一次性告知：需补正的材料和内容" in r.text and "此项为必填项" in r.text, "field error on the page")
    eq(staff_view(z, cid)["version"], v["version"], "nothing changed")
    r = z.post_form("/hall/cases/%d/handle" % cid, {"_csrf": tok, "action": "send_back",
                                                      "version": str(v["version"]),
                                                      "missing_list": "请补充法定代表人身份证件扫描件"}, csrf=False)
    r.expect(303, "send_back")
    after = staff_view(z, cid)
    eq(after["state"], "correction", "state after send_back")
    check(after["clocks"]["state"] != "run", "the clock does not run during 补正: %r" % after["clocks"])
    ev = [e for e in after["timeline"] if e.get("name") == "send_back"]
    check(ev and ev[-1]["public"] and ev[-1]["data"]["missing_list"] == "请补充法定代表人身份证件扫描件",
          "the list on the public timeline: %r" % ev)


def test_accepted_clock_pauses_in_special_step():
    z = client("zhang.amr")
    cid = case_id("供应链管理")   # under review, overdue
    v = staff_view(z, cid)
    eq(v["clocks"]["state"], "run", "running")
    r = handle(z, cid, "to_inspection", v["version"]).expect(200, "to inspection")
    eq(r.json()["clocks"]["state"], "pause", "the clock pauses in 现场勘验")
    handle(z, cid, "back", r.json()["version"]).expect_error(400, "FIELD_REQUIRED", "result")
    handle(z, cid, "back", r.json()["version"], {"result": "现场核查与申报一致"}).expect(200, "back to review")


def test_stale_version_conflicts_and_changes_nothing():
    z, li = client("zhang.amr"), client("li.amr")
    cid = case_id("新材料")       # accepted
    v1 = staff_view(z, cid)
    v2 = staff_view(li, cid)
    eq(v1["version"], v2["version"], "both see one version")
    handle(z, cid, "start_review", v1["version"]).expect(200, "zhang starts the review")
    err = handle(li, cid, "start_review", v2["version"]).expect_error(409, "HALL_CONFLICT")
    check("数据已被他人修改" in err["message"], "conflict message: %r" % err)
    now = staff_view(li, cid)
    eq((now["state"], now["version"]), ("review", v1["version"] + 1), "only zhang's change")
    n = int(srv().sql_value("SELECT COUNT(*) FROM case_events WHERE case_id = ? AND name = 'start_review'", (cid,)))
    eq(n, 1, "one start_review event")
    # the page says so too, and shows the fresh version
    tok = form_csrf(li, "/hall/cases/%d" % cid)
    r = li.post_form("/hall/cases/%d/handle" % cid, {"_csrf": tok, "action": "reject", "version": str(v2["version"]),
                                                       "reason": "测试"}, csrf=False)
    r.expect(409, "stale page form")
    check("数据已被他人修改" in r.text, "conflict message on the page")
    eq(staff_view(li, cid)["state"], "review", "still under review")
    # a state the action does not leave from
    handle(z, cid, "accept", now["version"]).expect_error(409, "CASE_E_BAD_STATE")


def test_approve_issues_certificate():
    s = srv()
    z = client("zhang.amr")
    cid = case_id("检测技术")     # under review
    v = staff_view(z, cid)
    handle(z, cid, "approve", v["version"]).expect_error(400, "FIELD_REQUIRED", "opinion")
    doc = handle(z, cid, "approve", v["version"], {"opinion": "符合条件，准予登记"}).expect(200, "approve").json()
    eq(doc["state"], "approved", "approved")
    cert = doc["certificate"]
    check(cert and re.fullmatch(r"AMR\d{8}\d{6}", cert["number"]), "certificate number: %r" % cert)
    eq((cert["title"], cert["holder"], cert["valid"]), ("营业执照", "示范市华信检测技术有限公司", True), "certificate")
    check(any(a["label"] == "营业执照" and a["public"] for a in doc["attachments"]), "attached publicly")
    r = z.get("/hall/cases/%d/certificate" % cid).expect(200, "download")
    check(r.body.startswith(b"%PDF-"), "a PDF")
    eq(r.header("Content-Type"), "application/pdf", "type")
    if shutil.which("pdftotext"):
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "c.pdf")
            with open(p, "wb") as f:
                f.write(r.body)
            txt = subprocess.run(["pdftotext", p, "-"], capture_output=True, text=True).stdout
        check("营业执照" in txt.replace(" ", ""), "pdftotext: no 营业执照 in %r" % txt[:300])
        check("示范市华信检测技术有限公司" in txt.replace(" ", "").replace("\n", ""), "company name in the PDF")
    # the applicant downloads it too; a stranger may not
    client("huaxin").get("/hall/cases/%d/certificate" % cid).expect(200, "the applicant's download")
    client("chen").get("/hall/cases/%d/certificate" % cid).expect(404, "chen's download")
    # the applicant was told
    huaxin = int(s.sql_value("SELECT id FROM users WHERE login = 'huaxin'"))
    eq(int(s.sql_value("SELECT COUNT(*) FROM messages WHERE user_id = ? AND kind = 'hall.certificate'", (huaxin,))) >= 1,
       True, "certificate notification")
    # public verification with the token only
    tok = s.sql_value("SELECT verify_token FROM hall_certificates WHERE number = ?", (cert["number"],))
    anon = s.client()
    t = anon.get("/hall/verify/%s" % cert["number"], params={"t": tok}).expect(200, "verify").text
    for want in ("有效", "营业执照", "示范市华信检测技术有限公司", "市场监督管理局"):
        check(want in t, "verify page lacks %r" % want)
    r = anon.get("/hall/verify/%s" % cert["number"], params={"t": "0" * 32}).expect(404, "wrong token")
    check("证照不存在或核验码错误" in r.text, "wrong-token message")
    anon.get("/hall/verify/%s" % cert["number"]).expect(404, "no token")
    anon.get("/hall/verify/AMR20990101000001", params={"t": tok}).expect(404, "unknown number")
    j = anon.get("/api/v1/hall/verify/%s" % cert["number"], params={"t": tok}).expect(200).json()
    eq((j["valid"], j["title"]), (True, "营业执照"), "API verification")
    anon.get("/api/v1/hall/verify/%s" % cert["number"], params={"t": "x"}).expect_error(404, "HALL_CERT_NOT_FOUND")


def test_demo_certificate_drawn_on_first_download():
    z = client("zhang.amr")
    cid = case_id("科技发展")     # approved by the demo seed
    v = staff_view(z, cid)
    eq(v["state"], "approved", "demo approved case")
    check(v["certificate"] and v["certificate"]["title"] == "营业执照", "demo certificate")
    r = z.get("/hall/cases/%d/certificate" % cid).expect(200, "first download")
    check(r.body.startswith(b"%PDF-"), "a PDF")
    r2 = z.get("/hall/cases/%d/certificate" % cid).expect(200, "second download")
    eq(r2.body, r.body, "drawn once")
    client("zhang.amr").get("/hall/cases/%d/certificate" % case_id("金融信息服务")).expect(404, "a rejected case has none")


def test_person_cannot_see_or_act():
    c = client("chen")
    cid = case_id("供应链管理")
    c.get("/hall/cases/%d" % cid).expect(404, "citizen opens another's case")
    r = handle(c, cid, "accept", 1)
    check(r.status in (403, 404), "citizen acts: %s" % r.short())
    r = c.get("/hall/inbox")
    check(r.status in (302, 303, 403), "citizen's inbox: %s" % r.short())
    c.get("/api/v1/hall/inbox").expect(403, "citizen's inbox API")
    # the applicant may not use the staff handle either
    h = client("huaxin")
    r = handle(h, case_id("物联科技"), "send_back", 1, {"missing_list": "x"})
    check(r.status in (403, 404), "applicant uses the staff handle: %s" % r.short())


def test_assign_and_comment():
    z, li = client("zhang.amr"), client("li.amr")
    cid = case_id("智能装备")
    v = staff_view(li, cid)
    zid = int(srv().sql_value("SELECT id FROM users WHERE login = 'zhang.amr'"))
    tok = form_csrf(li, "/hall/cases/%d" % cid)
    li.post_form("/hall/cases/%d/assign" % cid, {"_csrf": tok, "version": str(v["version"]),
                                                   "assignee": str(zid)}, csrf=False).expect(303, "assign")
    eq(staff_view(z, cid)["assignee"]["id"], zid, "assigned to zhang")
    tok = form_csrf(z, "/hall/cases/%d" % cid)
    z.post_form("/hall/cases/%d/comment" % cid, {"_csrf": tok, "text": "已电话联系申请人"}, csrf=False).expect(303)
    tl = staff_view(z, cid)["timeline"]
    check(any(e["kind"] == "comment" and not e["public"] and e["body"] == "已电话联系申请人" for e in tl),
          "internal comment on the timeline")
    t = z.get("/hall/cases/%d" % cid).text
    check("已电话联系申请人" in t, "comment shown")


def test_supervision_admin_only():
    a = srv().admin()
    t = a.get("/hall/supervision").expect(200, "supervision").text
    for want in ("电子监察", "已超期的办件", "临近时限的办件", "市场监督管理局", "红灯 已超期"):
        check(want in t, "supervision page lacks %r" % want)
    r = client("zhang.amr").get("/hall/supervision")
    check(r.status in (302, 303, 403), "staff on the supervision page: %s" % r.short())
    # a platform admin may view a case as supervisor but not approve it
    cid = case_id("新材料")
    v = a.get("/api/v1/hall/cases/%d/staff" % cid).expect(200).json()
    eq(v["roles"], ["supervisor"], "admin's roles for the case")
    check(all(x["action"] not in ("approve", "reject") for x in v["actions"]), "supervisor has no staff actions")


def test_supervision_names_a_case_moved_outside_the_process():
    s = srv()
    a = s.admin()
    t = a.get("/hall/supervision").expect(200, "supervision").text
    check("流程异常的办件" in t and "未发现跳过环节" in t, "a clean demo has no irregular case")
    cid = case_id("新材料")
    subject = s.sql_value("SELECT subject FROM cases WHERE id = ?", (cid,))
    state = s.sql_value("SELECT state FROM cases WHERE id = ?", (cid,))
    s.sql("UPDATE cases SET state = 'approved' WHERE id = ?", (cid,))     # approved outside the engine
    try:
        t = a.get("/hall/supervision").expect(200, "supervision").text
        i = t.index("流程异常的办件")
        check(subject in t[i:] and "当前环节与办理记录不符" in t[i:], "the moved case is named")
    finally:
        s.sql("UPDATE cases SET state = ? WHERE id = ?", (state, cid))
