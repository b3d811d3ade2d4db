"""好差评 and department star ratings: rating a decided case once, only by its applicant; the
rectification a bad rating opens (15 working days, in the department's inbox); an upheld appeal
taking the rating out of the statistics; the ranking and statistics pages and API against the data."""
from harness import check, eq, shared
from test_hall_apply import enterprise_apply, person

_staff = {}


def staff(srv, login):
    key = (id(srv), srv.port, login)
    if key not in _staff:
        c = srv.client()
        c.login_as(login)
        _staff[key] = c
    return _staff[key]


def version(srv, cid):
    return int(srv.sql_value("SELECT version FROM cases WHERE id = ?", (cid,)))


def handle(srv, login, cid, action, fields=None, expect=200):
    c = staff(srv, login)
    body = {"action": action, "version": version(srv, cid)}
    if fields:
        body["fields"] = fields
    return c.post_json("/api/v1/hall/cases/%d/handle" % cid, body).expect(expect, "%s %s" % (login, action))


def decided_case(srv, huaxin):
    """huaxin applies for 企业设立登记; zhang.amr accepts, reviews and approves it."""
    cid = enterprise_apply(srv, huaxin)
    handle(srv, "zhang.amr", cid, "accept")
    handle(srv, "zhang.amr", cid, "start_review")
    handle(srv, "zhang.amr", cid, "approve", {"opinion": "符合条件，准予设立登记。"})
    eq(srv.sql_value("SELECT state FROM cases WHERE id = ?", (cid,)), "approved", "decided")
    return cid


def rate_api(c, cid, score, comment=None):
    body = {"score": score}
    if comment is not None:
        body["comment"] = comment
    return c.post_json("/api/v1/hall/cases/%d/rating" % cid, body)


def bad_field(r, field, code=None, what=""):
    """A 400 JSON error naming field (and with code when given)."""
    r.expect(400, what or field)
    err = r.json().get("error") or {}
    eq(err.get("field"), field, "error field")
    if code:
        eq(err.get("code"), code, "error code")


def amr_id(srv):
    return int(srv.sql_value("SELECT id FROM departments WHERE code = 'amr'"))


def test_rate_once_by_the_applicant_only():
    srv = shared()
    huaxin = person(srv, "huaxin")
    cid = enterprise_apply(srv, huaxin)
    # not decided yet: 409 (page and API)
    rate_api(huaxin, cid, 5).expect_error(409, "RATE_NOT_DECIDED")
    huaxin.get("/hall/cases/%d/rate" % cid).expect(409, "rate page of an undecided case")
    handle(srv, "zhang.amr", cid, "accept")
    handle(srv, "zhang.amr", cid, "start_review")
    handle(srv, "zhang.amr", cid, "approve", {"opinion": "准予。"})

    # someone else: 403 (a citizen; staff cannot reach a ROLE_PERSON route)
    rate_api(person(srv, "chen"), cid, 5).expect_error(403, "RATE_NOT_APPLICANT")
    person(srv, "chen").get("/hall/cases/%d/rate" % cid).expect(403, "someone else's rate page")
    staff(srv, "zhang.amr").post_json("/api/v1/hall/cases/%d/rating" % cid, {"score": 5}).expect(403, "staff")
    rate_api(huaxin, 99999999, 5).expect(404, "no such case")

    # the input at the edge: score 1..5 named, the comment required for 1 and 2, at most 500
    for bad in (0, 6, -1):
        bad_field(rate_api(huaxin, cid, bad), "score")
    bad_field(huaxin.post_json("/api/v1/hall/cases/%d/rating" % cid, {"comment": "好"}), "score")
    rate_api(huaxin, cid, 2).expect_error(400, "RATE_COMMENT_REQUIRED", "comment")
    rate_api(huaxin, cid, 1, "   ").expect_error(400, "RATE_COMMENT_REQUIRED", "comment")
    bad_field(rate_api(huaxin, cid, 4, "好" * 501), "comment")
    eq(int(srv.sql_value("SELECT COUNT(*) FROM hall_ratings WHERE case_id = ?", (cid,))), 0, "nothing kept")

    r = rate_api(huaxin, cid, 4, "办事效率高")
    r.expect(201, "rate")
    doc = r.json()
    eq((doc["score"], doc["label"], doc["comment"], doc["rectification"]), (4, "满意", "办事效率高", None), "rating")
    # once: the second answer is 409, on the API and on the page
    rate_api(huaxin, cid, 5).expect_error(409, "RATE_ALREADY")
    huaxin.post_form("/hall/cases/%d/rate" % cid, {"score": "5", "comment": ""}).expect(409, "page, second time")
    eq(srv.sql_value("SELECT score FROM hall_ratings WHERE case_id = ?", (cid,)), "4", "the first rating stays")
    got = huaxin.get("/api/v1/hall/cases/%d/rating" % cid).expect(200, "read the rating").json()
    eq(got["label"], "满意", "read back")
    page = huaxin.get("/hall/cases/%d/rate" % cid).expect(200, "rated page")
    check("您的评价" in page.text and "满意" in page.text and 'name="score"' not in page.text, "no second form")
    eq(int(srv.sql_value("SELECT COUNT(*) FROM audit_log WHERE action = 'hall.rate' AND object = ?",
                         ("case:%d" % cid,))), 1, "one audit entry")


def test_rate_page_form_and_desk():
    srv = shared()
    huaxin = person(srv, "huaxin")
    cid = decided_case(srv, huaxin)
    desk = huaxin.get("/api/v1/desk").expect(200, "desk").json()
    items = desk.get("items", desk) if isinstance(desk, dict) else desk
    check(any(i.get("href") == "/hall/cases/%d/rate" % cid and i.get("status") == "请评价" for i in items),
          "请评价 on the desk")
    page = huaxin.get("/hall/cases/%d/rate" % cid).expect(200, "rate page")
    for label in ("非常不满意", "不满意", "基本满意", "满意", "非常满意"):
        check(label in page.text, "label " + label)
    check(page.text.count('name="score"') == 5 and 'id="score"' in page.text, "five radios, the first one #score")
    # a low score without a comment: the form again, naming the comment, keeping the choice
    r = huaxin.post_form("/hall/cases/%d/rate" % cid, {"score": "2", "comment": ""})
    r.expect(400, "no comment")
    check("请写明不满意的原因" in r.text and 'href="#comment"' in r.text, "the error names the comment")
    check('value="2" checked' in r.text, "the chosen score kept")
    r = huaxin.post_form("/hall/cases/%d/rate" % cid, {"score": "9"})
    r.expect(400, "score 9")
    check('href="#score"' in r.text, "the error names the score")
    r = huaxin.post_form("/hall/cases/%d/rate" % cid, {"score": "5", "comment": "很方便"})
    r.expect(303, "rated")
    eq(r.header("Location"), "/hall/cases/%d/rate?done=1" % cid, "back to the page")
    page = huaxin.get(r.header("Location")).expect(200, "thanks")
    check("感谢您的评价" in page.text and "非常满意" in page.text, "thanks and the rating")
    desk = huaxin.get("/api/v1/desk").expect(200, "desk").json()
    items = desk.get("items", desk) if isinstance(desk, dict) else desk
    check(not any(i.get("href") == "/hall/cases/%d/rate" % cid for i in items), "rated: off the desk")


def stats(srv, dept):
    return srv.client().get("/api/v1/hall/depts/%d/stats" % dept).expect(200, "stats").json()


def test_bad_rating_opens_rectification_and_upheld_appeal_withdraws_it():
    srv = shared()
    huaxin = person(srv, "huaxin")
    cid = decided_case(srv, huaxin)
    amr = amr_id(srv)
    before = stats(srv, amr)

    r = rate_api(huaxin, cid, 1, "窗口说材料不全，却没有一次性告知缺什么")
    r.expect(201, "1 star")
    rect = r.json()["rectification"]
    check(rect and rect["id"] > 0 and rect["state"] == "open", "a rectification: %r" % (rect,))
    rid = rect["id"]
    row = srv.sql("SELECT process, dept_id, applicant_id, subject, statutory_days, promised_days, clock_state, "
                  "deadline_promised, item_code FROM cases WHERE id = ?", (rid,))[0]
    subject = srv.sql_value("SELECT subject FROM cases WHERE id = ?", (cid,))
    huaxin_id = srv.sql_value("SELECT id FROM users WHERE login = 'huaxin'")
    eq(row[0:3], ("hall.rectify", str(amr), str(huaxin_id)), "process, department, applicant")
    eq(row[3], "差评整改：" + subject, "subject")
    eq(row[4:7], ("15", "15", "1"), "15 working days on both clocks, running")
    check(row[7] not in (None, ""), "a promised deadline")

    # in the department's inbox, with its deadline; the staff page offers the actions
    zhang = staff(srv, "zhang.amr")
    inbox = zhang.get("/api/v1/hall/inbox", params={"dept": amr, "state": "open", "limit": 200}).expect(200, "inbox").json()
    mine = [i for i in inbox["items"] if i["id"] == rid]
    check(mine and mine[0]["deadline"], "the rectification in the inbox with a deadline: %r" % (mine,))
    view = zhang.get("/api/v1/hall/cases/%d/staff" % rid).expect(200, "staff view").json()
    acts = {a["action"] for a in (view.get("case", view).get("actions") or [])}
    check({"callback", "appeal"} <= acts, "call back and appeal offered: %r" % acts)
    eq(view.get("case", view)["clocks"]["promised"]["limit"], 15, "15 working days")

    mid = stats(srv, amr)
    eq(mid["ratings"]["total"], before["ratings"]["total"] + 1, "counted")
    eq(mid["rectification"]["open"], before["rectification"]["open"] + 1, "one more open rectification")

    # the applicant is told of public events; the department appeals, the office upholds
    handle(srv, "zhang.amr", rid, "rectify", {"measures": "x"}, expect=409)       # call back first
    handle(srv, "zhang.amr", rid, "appeal", {"reason": "申请人评价的是另一部门的窗口"})
    handle(srv, "zhang.amr", rid, "uphold", {"opinion": "x"}, expect=403)          # not the office
    handle(srv, "admin", rid, "uphold", {"opinion": "经核实，申诉属实"})
    eq(srv.sql_value("SELECT state FROM cases WHERE id = ?", (rid,)), "appeal_upheld", "upheld")

    after = stats(srv, amr)
    eq(after["ratings"]["total"], before["ratings"]["total"], "the withdrawn rating no longer counts")
    eq(after["ratings"]["withdrawn"], before["ratings"]["withdrawn"] + 1, "withdrawn")
    got = huaxin.get("/api/v1/hall/cases/%d/rating" % cid).expect(200, "rating").json()
    check(got["withdrawn"] is True, "the rating says withdrawn")
    msgs = int(srv.sql_value("SELECT COUNT(*) FROM messages WHERE user_id = ? AND link = ?",
                             (huaxin_id, "/cases/%d" % rid)))
    check(msgs >= 1, "the applicant was told of the decision")


def pct(n, d):
    return None if d == 0 else round(n / d, 4)


def test_ranking_and_stats_match_the_data():
    srv = shared()
    c = srv.client()
    rk = c.get("/api/v1/hall/ranking").expect(200, "ranking").json()
    eq(rk["weights"], [0.4, 0.3, 0.3], "weights")
    eq(rk["thresholds"], [0.2, 0.4, 0.6, 0.8], "thresholds")
    eq(rk["min_cases"], 5, "min cases")
    depts = rk["departments"]
    with_items = srv.sql("SELECT dept_id, COUNT(*), SUM(CASE WHEN depth >= 4 THEN 1 ELSE 0 END) FROM hall_items "
                         "WHERE status = 'published' GROUP BY dept_id")
    eq(sorted(int(d["dept"]["id"]) for d in depts), sorted(int(r[0]) for r in with_items), "every department with items")
    for r in with_items:
        d = [x for x in depts if x["dept"]["id"] == int(r[0])][0]
        eq((d["items"], d["items_deep"]), (int(r[1]), int(r[2])), "items of %s" % d["dept"]["name"])
        dec = srv.sql("SELECT COUNT(*), SUM(CASE WHEN used_days <= promised_days THEN 1 ELSE 0 END) FROM cases "
                      "WHERE dept_id = ? AND state_final = 1 AND state <> 'withdrawn' AND process <> 'hall.rectify' "
                      "AND item_code IS NOT NULL", (int(r[0]),))[0]
        n, ok = int(dec[0]), int(dec[1] or 0)
        eq((d["decided"], d["on_time"], d["on_time_rate"]), (n, ok, pct(ok, n)), "cases of %s" % d["dept"]["name"])
        rat = srv.sql("SELECT COUNT(*), SUM(CASE WHEN r.score >= 4 THEN 1 ELSE 0 END) FROM hall_ratings r "
                      "LEFT JOIN cases x ON x.id = r.rectify_case_id WHERE r.dept_id = ? "
                      "AND (x.id IS NULL OR x.state <> 'appeal_upheld')", (int(r[0]),))[0]
        rn, rs = int(rat[0]), int(rat[1] or 0)
        eq((d["ratings"], d["satisfied"], d["satisfaction"]), (rn, rs, pct(rs, rn)), "ratings of %s" % d["dept"]["name"])
        if n < 5:
            check(d["no_data"] and d["stars"] == 0 and d["stars_text"] == "数据不足", "数据不足 for %s" % d["dept"]["name"])
        else:
            check(1 <= d["stars"] <= 5, "stars of %s" % d["dept"]["name"])
    # the best first, 数据不足 last
    stars = [d["stars"] or -1 for d in depts]
    eq(stars, sorted(stars, reverse=True), "ordered by stars")
    check(any(d["stars"] > 0 for d in depts), "the demo gives some department stars")

    page = c.get("/hall/ranking").expect(200, "ranking page")
    check("部门网上办事星级评价" in page.text and "数据不足" in page.text and "★" in page.text, "the ranking page")
    for d in depts:
        check(d["dept"]["name"] in page.text, "%s on the page" % d["dept"]["name"])

    amr = amr_id(srv)
    s = stats(srv, amr)
    by = {b["score"]: b["count"] for b in s["ratings"]["by_score"]}
    rows = dict(srv.sql("SELECT r.score, COUNT(*) FROM hall_ratings r LEFT JOIN cases x ON x.id = r.rectify_case_id "
                        "WHERE r.dept_id = ? AND (x.id IS NULL OR x.state <> 'appeal_upheld') GROUP BY r.score", (amr,)))
    eq(by, {k: int(rows.get(str(k), rows.get(k, 0)) or 0) for k in range(1, 6)}, "ratings by score")
    eq(s["ratings"]["total"], sum(by.values()), "total")
    eq(s["ratings"]["satisfaction"], pct(by[4] + by[5], sum(by.values())), "satisfaction")
    page = c.get("/hall/depts/%d/stats" % amr).expect(200, "stats page")
    check("市场监督管理局 好差评统计" in page.text and 'id="rating-total">%d<' % s["ratings"]["total"] in page.text,
          "the stats page shows the total")
    c.get("/hall/depts/99999999/stats").expect(404, "unknown department")
    c.get("/api/v1/hall/depts/99999999/stats").expect_error(404, "RATE_DEPT_NOT_FOUND")
