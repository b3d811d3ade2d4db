"""Consent-bound verification (授权核查) and the citizen's data tracker: giving consent (dates,
department, template, the 本人已阅读并同意 box, each refused naming its field), the 低保
verification answering the demo's planted values for chen without revealing records or sums,
refusals (never given, revoked, expired, another department) with their reasons and audit
entries, and the tracker listing each access with department, registry, purpose and basis."""
import datetime
import json

from harness import check, eq, fresh_idcard, shared

CHEN_ID = "440106199005171236"      # src/apps/portal/demo.c
TEMPLATE = "mca-dibao"               # src/apps/share/verify.c share_verify_demo
DIBAO = ["名下不动产数量", "名下机动车数量", "存款余额合计是否达到 30000 元", "住房公积金账户余额是否达到 20000 元"]

_clients = {}


def client(srv, login):
    """A signed-in client per server and login (staff with their second factor)."""
    key = (id(srv), srv.port, login)
    if key not in _clients:
        c = srv.client()
        c.login_as(login)
        _clients[key] = c
    return _clients[key]


def today(days=0):
    return (datetime.date.today() + datetime.timedelta(days=days)).isoformat()


def one_year_on():
    t = datetime.date.today()
    d = 28 if (t.month, t.day) == (2, 29) else t.day
    return datetime.date(t.year + 1, t.month, d).isoformat()


def consent_body(**kw):
    body = {"dept": "mca", "template": TEMPLATE, "purpose": "申请最低生活保障", "until": today(30), "agree": True}
    body.update(kw)
    return {k: v for k, v in body.items() if v is not None}


def give(srv, login="chen", **kw):
    r = client(srv, login).post_json("/api/v1/my/consents", consent_body(**kw))
    r.expect(201, "give consent")
    return r.json()


def revoke_all(srv, login="chen"):
    c = client(srv, login)
    for item in c.get("/api/v1/my/consents?limit=100").expect(200, "my consents").json()["items"]:
        if item["revoked_at"] is None:
            c.post_json("/api/v1/my/consents/%d/revoke" % item["id"], {}).expect(200, "revoke")


def verify(srv, login="wang.mca", subject=CHEN_ID, template=TEMPLATE):
    return client(srv, login).post_json("/api/v1/share/verify", {"template": template, "subject": subject})


def count(srv, query, params=()):
    return int(srv.sql_value(query, params))


def chen_id(srv):
    return int(srv.sql_value("SELECT id FROM users WHERE login = 'chen'"))


# ------------------------------------------------------------------ consents


def test_templates_and_consent_form():
    srv = shared()
    items = client(srv, "chen").get("/api/v1/share/verify/templates").expect(200, "templates").json()["items"]
    tpl = [t for t in items if t["code"] == TEMPLATE]
    eq(len(tpl), 1, "the 低保 template")
    tpl = tpl[0]
    eq(tpl["dept"]["code"], "mca", "run by 民政局")
    eq([q["label"] for q in tpl["questions"]], DIBAO, "its four questions")
    check("演示" in tpl["description"], "the thresholds are said to be demo values")
    check(all(q.get("plain") for q in tpl["questions"]), "each question in plain words")
    eq(tpl["questions"][2]["plain"], "只回答是或否，不告知具体数额", "a threshold question reveals yes/no only")

    page = client(srv, "chen").get("/my/consents/new").expect(200, "consent form").text
    for words in DIBAO + ["民政局", "本人已阅读并同意", "不提供任何原始记录", 'name="_csrf"', 'type="date"']:
        check(words in page, "the form shows " + words)


def test_consent_bad_input_names_the_field():
    srv = shared()
    c = client(srv, "chen")
    uid = chen_id(srv)
    before = count(srv, "SELECT COUNT(*) FROM consents WHERE user_id = ?", (uid,))
    cases = [
        (dict(until=today()), "CONSENT_UNTIL_PAST", "until"),
        (dict(until=today(-1)), "CONSENT_UNTIL_PAST", "until"),
        (dict(until=today(400)), "CONSENT_UNTIL_TOO_FAR", "until"),
        (dict(until="2030/01/01"), None, "until"),
        (dict(until="2031-02-30"), None, "until"),
        (dict(dept="nosuch"), "CONSENT_DEPT_UNKNOWN", "dept"),
        (dict(dept="amr"), "CONSENT_DEPT_MISMATCH", "dept"),
        (dict(template="nosuch"), "CONSENT_TEMPLATE_UNKNOWN", "template"),
        (dict(agree=False), "CONSENT_AGREE_REQUIRED", "agree"),
        (dict(agree=None), "CONSENT_AGREE_REQUIRED", "agree"),
        (dict(purpose=None), None, "purpose"),
        (dict(purpose="x" * 201), None, "purpose"),
        (dict(dept=None), None, "dept"),
    ]
    for kw, code, field in cases:
        r = c.post_json("/api/v1/my/consents", consent_body(**kw))
        if code:
            r.expect_error(400, code, field, what=repr(kw))
        else:
            r.expect(400, repr(kw))
            eq(r.json()["error"]["field"], field, "field of %r" % kw)
    # an unknown key is refused too
    c.post_json("/api/v1/my/consents", dict(consent_body(), subject=CHEN_ID)).expect(400, "unknown key")
    eq(count(srv, "SELECT COUNT(*) FROM consents WHERE user_id = ?", (uid,)), before, "nothing created")
    # the last day allowed is exactly one year on
    got = give(srv, until=one_year_on())
    eq(got["valid_until"], one_year_on(), "until one year on")
    eq((got["state"], got["state_label"]), ("active", "有效"), "active")
    # an enterprise cannot consent to a template about a 身份证号; staff cannot consent at all
    client(srv, "huaxin").post_json("/api/v1/my/consents", consent_body()).expect_error(
        400, "CONSENT_KIND_MISMATCH", "template")
    client(srv, "wang.mca").post_json("/api/v1/my/consents", consent_body()).expect(403, "staff")


def test_consent_page_form_and_revoke():
    srv = shared()
    c = client(srv, "chen")
    uid = chen_id(srv)
    before = count(srv, "SELECT COUNT(*) FROM consents WHERE user_id = ?", (uid,))
    fields = {"dept": "mca", "template": TEMPLATE, "purpose": "申请低保（页面）", "until": today(10)}
    # without the confirmation box: the form again, naming it, keeping what was typed
    r = c.post_form("/my/consents", fields)
    r.expect(400, "no agree")
    check("本人已阅读并同意" in r.text and 'href="#agree"' in r.text, "the error names the box")
    check("申请低保（页面）" in r.text, "the purpose kept")
    r = c.post_form("/my/consents", dict(fields, until=today(-3), agree="1"))
    r.expect(400, "past date")
    check("有效期须晚于今天" in r.text, "the date error")
    eq(count(srv, "SELECT COUNT(*) FROM consents WHERE user_id = ?", (uid,)), before, "nothing created")
    r = c.post_form("/my/consents", dict(fields, agree="1"))
    r.expect(303, "consent given")
    cid = int(srv.sql_value("SELECT MAX(id) FROM consents WHERE user_id = ?", (uid,)))
    check(r.header("Location").startswith("/my/consents?granted=%d" % cid), "back to my consents")
    eq(count(srv, "SELECT COUNT(*) FROM audit_log WHERE action = 'consent.grant' AND object = ?",
             ("consent:%d" % cid,)), 1, "grant audited")
    page = c.get("/my/consents").expect(200, "my consents").text
    check('id="consent-%d"' % cid in page and "有效" in page and "申请低保（页面）" in page, "listed as 有效")
    check('action="/my/consents/%d/revoke"' % cid in page, "with a revoke button")
    c.post_form("/my/consents/%d/revoke" % cid, {}).expect(303, "revoke")
    page = c.get("/my/consents").expect(200, "my consents").text
    check("已撤回" in page and 'action="/my/consents/%d/revoke"' % cid not in page, "已撤回, no button")
    eq(count(srv, "SELECT COUNT(*) FROM audit_log WHERE action = 'consent.revoke' AND object = ?",
             ("consent:%d" % cid,)), 1, "revoke audited")
    # twice: 409; someone else's: 404
    c.post_json("/api/v1/my/consents/%d/revoke" % cid, {}).expect_error(409, "CONSENT_ALREADY_REVOKED")
    mine = give(srv)
    client(srv, "huaxin").post_json("/api/v1/my/consents/%d/revoke" % mine["id"], {}).expect_error(
        404, "CONSENT_NOT_FOUND")
    eq(count(srv, "SELECT COUNT(*) FROM consents WHERE id = ? AND revoked_at IS NULL", (mine["id"],)), 1,
       "still in force")


# ------------------------------------------------------------------ verification


def test_verify_with_consent_answers_the_planted_values():
    srv = shared()
    uid = chen_id(srv)
    consent = give(srv, purpose="低保申请家庭经济状况核对")
    r = verify(srv)
    r.expect(201, "verify")
    run = r.json()
    eq(run["template"]["code"], TEMPLATE, "template")
    eq(run["consent"]["id"], consent["id"], "the newest valid consent is used")
    got = {a["label"]: a["answer"] for a in run["answers"]}
    eq(got, {DIBAO[0]: "1", DIBAO[1]: "0", DIBAO[2]: "否", DIBAO[3]: "否"}, "the planted answers")
    eq([a["kind"] for a in run["answers"]], ["count", "count", "yesno", "yesno"], "kinds")

    # never the records nor the sums
    text = r.text
    check(CHEN_ID not in text, "no clear identifier in the answer")
    eq(run["subject"]["masked"], "440106********1236", "masked subject")
    for table, col in (("reg_deposit", "balance"), ("reg_pfund", "balance")):
        total = int(srv.sql_value("SELECT COALESCE(SUM(%s), 0) FROM %s WHERE owner_id = ?" % (col, table),
                                  (CHEN_ID,)))
        check(total < (3000000 if table == "reg_deposit" else 2000000), "%s below the threshold" % table)
        check("%d.%02d" % (total // 100, total % 100) not in text, "the %s sum is not revealed" % table)
        for (acct,) in srv.sql("SELECT account_no FROM %s WHERE owner_id = ?" % table, (CHEN_ID,)):
            check(acct not in text, "no account number")
    for (cert,) in srv.sql("SELECT cert_no FROM reg_housing WHERE owner_id = ?", (CHEN_ID,)):
        check(cert not in text, "no certificate number")
    stored = srv.sql_value("SELECT answers FROM verification_runs WHERE id = ?", (run["id"],))
    eq([a["answer"] for a in json.loads(stored)], ["1", "0", "否", "否"], "stored answers")

    # recorded, audited without the identifier, each read logged, chen notified
    eq(srv.sql_value("SELECT consent_id FROM verification_runs WHERE id = ?", (run["id"],)), str(consent["id"]),
       "run row")
    detail = srv.sql_value("SELECT detail FROM audit_log WHERE action = 'verify.run' AND object = ?",
                           ("verify_run:%d" % run["id"],))
    check(CHEN_ID not in detail and TEMPLATE in detail, "audit entry without the identifier")
    rows = srv.sql("SELECT registry, basis, via, purpose, fields FROM reg_access WHERE basis = ? ORDER BY id",
                   ("consent:%d" % consent["id"],))
    eq([row[0] for row in rows], ["housing", "vehicle", "deposit", "pfund"], "one read per question")
    for row in rows:
        eq(row[1:4], ("consent:%d" % consent["id"], "verify", "低保申请家庭经济状况核对"), "basis, via, purpose")
    eq([row[4] for row in rows], DIBAO, "fields = the questions")
    eq(count(srv, "SELECT COUNT(*) FROM messages WHERE user_id = ? AND dedup = ?",
             (uid, "verify_run:%d" % run["id"])), 1, "chen notified")
    eq(srv.sql_value("SELECT link FROM messages WHERE user_id = ? AND dedup = ?", (uid, "verify_run:%d" % run["id"])),
       "/my/data-access", "the message links to the tracker")

    # the run, again: API and printable page, for the department's staff only
    again = client(srv, "wang.mca").get("/api/v1/share/verify/runs/%d" % run["id"]).expect(200, "run").json()
    eq(again["answers"], run["answers"], "same answers")
    page = client(srv, "wang.mca").get("/share/verify/runs/%d" % run["id"]).expect(200, "run page").text
    for words in DIBAO + ["否", "440106********1236", "陈小梅", "低保申请家庭经济状况核对"]:
        check(words in page, "the run page shows " + words)
    check(CHEN_ID not in page, "no clear identifier on the page")
    client(srv, "zhang.amr").get("/share/verify/runs/%d" % run["id"]).expect(404, "another department's run")
    client(srv, "chen").get("/api/v1/share/verify/runs/%d" % run["id"]).expect(403, "a citizen")


def test_verify_refusals_with_reasons():
    srv = shared()
    refused = lambda: count(srv, "SELECT COUNT(*) FROM audit_log WHERE action = 'verify.refuse'")  # noqa: E731
    runs = lambda: count(srv, "SELECT COUNT(*) FROM verification_runs")  # noqa: E731

    # never given
    n, n_runs = refused(), runs()
    verify(srv, subject=fresh_idcard()).expect_error(403, "VERIFY_NO_CONSENT", "subject")
    eq(refused(), n + 1, "the refusal is audited")
    detail = srv.sql_value("SELECT detail FROM audit_log WHERE action = 'verify.refuse' ORDER BY seq DESC LIMIT 1")
    check("no_consent" in detail, "with its reason")
    # input errors: a bad check character, an unknown template (not audited as refusals)
    bad = CHEN_ID[:17] + ("0" if CHEN_ID[17] != "0" else "1")
    verify(srv, subject=bad).expect_error(400, "IDCARD_CHECK", "subject")
    verify(srv, subject="").expect(400, "empty subject")
    verify(srv, template="nosuch").expect_error(400, "VERIFY_TEMPLATE_UNKNOWN", "template")

    # revoked
    give(srv)
    revoke_all(srv)
    n = refused()
    verify(srv).expect_error(403, "VERIFY_CONSENT_REVOKED", "subject")
    eq(refused(), n + 1, "audited")

    # a valid consent, but another department's staff
    c = give(srv)
    verify(srv, login="zhang.amr").expect_error(403, "VERIFY_NOT_YOUR_DEPT", "template")
    verify(srv, login="zhao.psb").expect_error(403, "VERIFY_NOT_YOUR_DEPT", "template")
    verify(srv).expect(201, "with the consent")

    # expired: until set in the past
    srv.sql("UPDATE consents SET valid_until = ? WHERE id = ?", (today(-1), c["id"]))
    got = client(srv, "chen").get("/api/v1/my/consents/%d" % c["id"]).expect(200, "consent").json()
    eq((got["state"], got["state_label"]), ("expired", "已过期"), "shown as expired")
    n, n_runs = refused(), runs()
    verify(srv).expect_error(403, "VERIFY_CONSENT_EXPIRED", "subject")
    eq(refused(), n + 1, "audited")
    eq(runs(), n_runs, "no run recorded")
    # the last day is still valid
    srv.sql("UPDATE consents SET valid_until = ? WHERE id = ?", (today(), c["id"]))
    verify(srv).expect(201, "valid through its last day")
    revoke_all(srv)

    # the page: the reason shown, status 403
    page_client = client(srv, "wang.mca")
    page_client.get("/share/verify").expect(200, "verify page")
    r = page_client.post_form("/share/verify", {"template": TEMPLATE, "subject": CHEN_ID})
    r.expect(403, "refused on the page")
    check("当事人已撤回" in r.text, "the reason on the page")
    # citizens cannot run verifications
    client(srv, "chen").post_json("/api/v1/share/verify", {"template": TEMPLATE, "subject": CHEN_ID}).expect(
        403, "a citizen")


def test_verify_page_runs_and_shows_the_result():
    srv = shared()
    give(srv, purpose="低保（页面核查）")
    c = client(srv, "wang.mca")
    page = c.get("/share/verify").expect(200, "verify page").text
    check("最低生活保障家庭经济状况核对" in page and 'name="subject"' in page, "the form")
    # a lower-case x and a bad number are handled at the edge
    r = c.post_form("/share/verify", {"template": TEMPLATE, "subject": "44010619900517"})
    r.expect(400, "short number")
    check("身份证号须为 18 位" in r.text, "the reason by the field")
    r = c.post_form("/share/verify", {"template": TEMPLATE, "subject": CHEN_ID})
    r.expect(303, "run")
    loc = r.header("Location")
    check(loc.startswith("/share/verify/runs/"), "to the result page")
    res = c.get(loc).expect(200, "result").text
    for words in DIBAO + ["低保（页面核查）", "打印"]:
        check(words in res, "result shows " + words)
    listing = c.get("/share/verify").expect(200, "verify page").text
    check(loc in listing, "the run among the department's recent ones")
    revoke_all(srv)


# ------------------------------------------------------------------ tracker


def test_tracker_lists_the_access():
    srv = shared()
    consent = give(srv, purpose="低保核对（追踪）")
    run = verify(srv).expect(201, "verify").json()
    doc = client(srv, "chen").get("/api/v1/my/data-access?limit=4").expect(200, "tracker").json()
    items = doc["items"]
    eq(len(items), 4, "a page of four")
    check(doc["next"] is not None, "more pages")
    mine = [i for i in items if i["basis"] == "consent:%d" % consent["id"]]
    eq(sorted(i["registry"] for i in mine), ["deposit", "housing", "pfund", "vehicle"], "the four registries")
    for i in mine:
        eq(i["dept_name"], "民政局", "department")
        eq(i["purpose"], "低保核对（追踪）", "purpose")
        eq(i["basis_kind"], "consent", "basis")
        eq(i["basis_href"], "/my/consents#consent-%d" % consent["id"], "link to the consent")
        eq(i["via"], "verify", "via")
        check(i["fields"] in DIBAO and i["fields_text"] == i["fields"], "the question asked")
        check(i.get("registry_name"), "registry name")
        check("actor" not in i, "staff logins stay inside")
    # the next page continues below the cursor
    nxt = client(srv, "chen").get("/api/v1/my/data-access?limit=4&after=%d" % doc["next"]).expect(200, "page 2")
    check(all(i["id"] < doc["next"] for i in nxt.json()["items"]), "older ones next")
    page = client(srv, "chen").get("/my/data-access").expect(200, "tracker page").text
    for words in ("民政局", "低保核对（追踪）", "您的授权", "/my/consents#consent-%d" % consent["id"], "授权核查"):
        check(words in page, "the tracker page shows " + words)
    # someone else sees nothing of it
    other = client(srv, "huaxin").get("/api/v1/my/data-access").expect(200, "huaxin tracker").json()
    check(all(i["basis"] != "consent:%d" % consent["id"] for i in other["items"]), "not in another's tracker")
    client(srv, "wang.mca").get("/api/v1/my/data-access").expect(403, "staff have no tracker")
    # the desk links to both
    desk = client(srv, "chen").get("/desk").expect(200, "desk").text
    check("/my/consents" in desk and "/my/data-access" in desk, "desk links")
    eq(run["consent"]["id"], consent["id"], "run under this consent")
    revoke_all(srv)
