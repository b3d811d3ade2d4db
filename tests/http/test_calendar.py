"""The working-day calendar: the demo's 2025/2026 schedule, the workdays API across 国庆 2026,
the admin page and API (forms and JSON, CSRF, audit), imports good and bad, and who may write."""
import os
import re

from harness import check, eq, shared

# Writes go to a server of their own, so the demo calendar other tests count on stays as seeded.
WRITES = "calendar"


def workdays(c, frm, n):
    r = c.get("/api/v1/calendar/workdays", params={"from": frm, "days": n})
    r.expect(200, "workdays from %s + %s" % (frm, n))
    return r.json()


def test_calendar_demo_year_and_workdays_across_national_day():
    srv = shared()
    c = srv.client()   # anonymous: reads are public
    y = c.get("/api/v1/calendar/2026").expect(200, "GET /api/v1/calendar/2026").json()
    eq(y.get("year"), 2026, "year")
    ex = {e["date"]: (e["kind"], e["note"]) for e in y["exceptions"]}
    eq(ex.get("2026-10-10", ("", ""))[0], "workday", "2026-10-10 (Sat) is an adjusted working day")
    eq(ex.get("2026-09-20", ("", ""))[0], "workday", "2026-09-20 (Sun) is an adjusted working day")
    for d in ("2026-10-01", "2026-10-07", "2026-02-15", "2026-02-23"):
        eq(ex.get(d, ("", ""))[0], "holiday", "%s is a holiday" % d)
    check("2026-10-08" not in ex, "2026-10-08 is an ordinary working day")
    eq(len(y["months"]), 12, "months")
    # October 2026: 22 weekdays, 5 of them holidays, plus Saturday 10-10
    eq(y["months"][9], {"month": 10, "days": 31, "workdays": 18}, "October 2026")
    eq(y["workdays"], 248, "working days of 2026 (261 weekdays - 19 + 6)")
    eq(c.get("/api/v1/calendar/2025").expect(200).json()["workdays"], 248, "working days of 2025")

    w = workdays(c, "2026-09-30", 1)
    eq(w["end"], "2026-10-08", "1 working day after 2026-09-30")
    eq(w["workdays"], ["2026-10-08"], "listed")
    w = workdays(c, "2026-09-30", 3)
    eq(w["end"], "2026-10-10", "3 working days after 2026-09-30 (Saturday 10-10 works)")
    eq(w["end_weekday"], "周六", "weekday of the end")
    eq(w["workdays"], ["2026-10-08", "2026-10-09", "2026-10-10"], "listed")
    eq(w["calendar_days"], 10, "calendar days")
    w = workdays(c, "2026-09-30", 4)
    eq(w["end"], "2026-10-12", "4 working days after 2026-09-30")
    w = workdays(c, "2026-09-18", 20)
    eq(w["end"], "2026-10-22", "a 20-working-day limit from 2026-09-18")
    eq(len(w["workdays"]), 20, "20 listed")
    eq(w["workdays"][0], "2026-09-20", "the Sunday 调休 counts first")
    w = workdays(c, "2026-10-03", 0)
    eq((w["end"], w["workdays"]), ("2026-10-03", []), "N = 0 is the start itself")
    # 2026 春节: Friday 02-13 + 2 = Tuesday 02-24 (02-14 Saturday works, 02-15..23 rest)
    eq(workdays(c, "2026-02-13", 2)["workdays"], ["2026-02-14", "2026-02-24"], "春节 2026")

    # bad input is refused at the edge
    c.get("/api/v1/calendar/workdays", params={"from": "2026-02-30", "days": 1}).expect_error(
        400, "DATE_FORMAT", "from", what="from=2026-02-30")
    c.get("/api/v1/calendar/workdays", params={"from": "2026-09-30", "days": -1}).expect(400, "days=-1")
    c.get("/api/v1/calendar/workdays", params={"from": "2026-09-30"}).expect_error(
        400, "FIELD_REQUIRED", "days", what="no days")
    c.get("/api/v1/calendar/1969").expect_error(404, "CAL_YEAR_BAD", what="year 1969")
    c.get("/api/v1/calendar/20x6").expect_error(404, "CAL_YEAR_BAD", what="year 20x6")
    # listed in the OpenAPI document
    paths = c.get("/api/v1/openapi.json").expect(200).json().get("paths", {})
    for p in ("/api/v1/calendar/{year}", "/api/v1/calendar/workdays", "/api/v1/calendar/days/{date}",
              "/api/v1/calendar/import"):
        check(p in paths, "%s not in the OpenAPI document" % p)


def test_calendar_admin_sets_days_by_form_and_api():
    srv = shared(WRITES)
    adm = srv.admin()
    tok, page = adm.form_csrf("/admin/calendar?year=2026")
    for text in ("工作日历", "国庆节调休上班", "2026-10-10", 'action="/admin/calendar/day"',
                 'action="/admin/calendar/import"', "工作日 18 天"):
        check(text in page.text, "the 2026 page does not show %r" % text)

    # the form: Saturday 2031-10-11 becomes a working day
    r = adm.post_form("/admin/calendar/day", {"date": "2031-10-11", "kind": "workday", "note": "表单调休"})
    r.expect(303, "set a day by the form")
    eq(r.header("Location"), "/admin/calendar?year=2031&saved=day#m-10", "redirect")
    page = adm.get("/admin/calendar?year=2031&saved=day").expect(200)
    check("表单调休" in page.text, "the page does not show the note just saved")
    check("已保存" in page.text, "no saved notice")
    eq(workdays(adm, "2031-10-10", 1)["end"], "2031-10-11", "the workdays API sees the form's change")
    # without the CSRF token: refused, nothing saved
    adm.post_form("/admin/calendar/day", {"date": "2031-10-12", "kind": "workday"}, csrf=False).expect(
        403, "form without _csrf")
    # a Monday cannot be an adjusted working day: the form again, naming the field
    r = adm.post_form("/admin/calendar/day", {"date": "2031-10-13", "kind": "workday", "note": "周一"})
    r.expect(400, "workday on a Monday")
    check("调休上班日须为周六或周日" in r.text and 'id="kind-error"' in r.text, "the form does not say why")
    r = adm.post_form("/admin/calendar/day", {"date": "2031-02-30", "kind": "holiday"})
    r.expect(400, "2031-02-30")

    # the API
    r = adm.put_json("/api/v1/calendar/days/2031-10-13", {"kind": "holiday", "note": "接口假日"})
    r.expect(200, "PUT a holiday")
    eq(r.json(), {"date": "2031-10-13", "kind": "holiday", "note": "接口假日", "working": False}, "answer")
    adm.put_json("/api/v1/calendar/days/2031-10-14", {"kind": "holiday"}, csrf=False).expect_error(
        403, "CSRF_INVALID", what="PUT without X-CSRF-Token")
    adm.put_json("/api/v1/calendar/days/2031-10-15", {"kind": "workday"}).expect_error(
        400, "CAL_WORKDAY_WEEKDAY", "kind", what="workday on a Wednesday")
    adm.put_json("/api/v1/calendar/days/2031-13-01", {"kind": "holiday"}).expect_error(
        400, "DATE_FORMAT", "date", what="month 13")
    adm.put_json("/api/v1/calendar/days/1969-10-01", {"kind": "holiday"}).expect_error(
        400, "CAL_OUT_OF_SPAN", "date", what="1969")
    adm.put_json("/api/v1/calendar/days/2031-10-16", {"kind": "vacation"}).expect_error(
        400, "FIELD_BAD_CHOICE", "kind", what="unknown kind")
    adm.put_json("/api/v1/calendar/days/2031-10-16", {"kind": "holiday", "colour": "red"}).expect(
        400, "unknown field")
    y = adm.get("/api/v1/calendar/2031").expect(200).json()
    eq([(e["date"], e["kind"], e["note"]) for e in y["exceptions"]],
       [("2031-10-11", "workday", "表单调休"), ("2031-10-13", "holiday", "接口假日")], "2031 exceptions")
    eq(workdays(adm, "2031-10-10", 2)["workdays"], ["2031-10-11", "2031-10-14"], "2031 after both changes")
    # default removes
    r = adm.put_json("/api/v1/calendar/days/2031-10-11", {"kind": "default", "note": "ignored"}).expect(200)
    eq(r.json()["working"], False, "a Saturday by default rests")
    eq([e["date"] for e in adm.get("/api/v1/calendar/2031").json()["exceptions"]], ["2031-10-13"], "removed")

    # every write was audited
    actions = [row[0] for row in srv.sql("SELECT object FROM audit_log WHERE action = 'calendar.set' ORDER BY seq")]
    eq(actions, ["calendar:2031-10-11", "calendar:2031-10-13", "calendar:2031-10-11"], "calendar.set audit entries")


GOOD = """# 2032 测试
2032-01-01 holiday 元旦
2032-05-01..2032-05-05 休 劳动节
2032-05-08 班 劳动节调休上班
"""

BAD = """# 有错的文件
2032-02-30 holiday 没有这一天
2032-06-01 假期
2032-07-09..2032-07-01 holiday 倒过来
2032-05-10 workday 周一
"""


def test_calendar_import_api_and_page():
    srv = shared(WRITES)
    adm = srv.admin()
    r = adm.post_json("/api/v1/calendar/import", {"text": GOOD}).expect(200, "import a good file")
    eq(r.json(), {"holidays": 6, "workdays": 1, "years": [2032]}, "import report")
    y = adm.get("/api/v1/calendar/2032").expect(200).json()
    eq(len(y["exceptions"]), 7, "2032 exceptions")
    eq(workdays(adm, "2032-04-30", 2)["workdays"], ["2032-05-06", "2032-05-07"], "after 劳动节 2032")
    eq(workdays(adm, "2032-05-07", 1)["end"], "2032-05-08", "the Saturday 调休")
    check("劳动节调休上班" in adm.get("/admin/calendar?year=2032").expect(200).text, "the page shows the import")

    # a bad file: 400 with every bad line, nothing changed
    r = adm.post_json("/api/v1/calendar/import", {"text": BAD})
    err = r.expect_error(400, "CAL_IMPORT_BAD", "text", what="import a bad file")
    eq([x["line"] for x in err.get("lines", [])], [2, 3, 4, 5], "bad lines reported")
    check("2032-02-30" in err["lines"][0]["reason"], "reason of line 2: %r" % err["lines"][0])
    check(all(re.search("[\u4e00-\u9fff]", x["reason"]) for x in err["lines"]), "reasons in Chinese")
    eq(adm.get("/api/v1/calendar/2032").json()["exceptions"], y["exceptions"], "nothing changed")
    adm.post_json("/api/v1/calendar/import", {"text": GOOD}, csrf=False).expect_error(
        403, "CSRF_INVALID", what="import without X-CSRF-Token")

    # the page's paste box: a bad file shows the page again with the line numbers and the text
    adm.form_csrf("/admin/calendar?year=2032")
    r = adm.post_form("/admin/calendar/import", {"text": BAD})
    r.expect(400, "page import of a bad file")
    for text in ("第 2 行", "第 5 行", "没有这一天", "年度日历文件有误"):
        check(text in r.text, "the page after a bad import does not show %r" % text)
    eq(adm.get("/api/v1/calendar/2032").json()["exceptions"], y["exceptions"], "nothing changed by the page")
    # a good one replaces 2032 entirely
    r = adm.post_form("/admin/calendar/import", {"text": "2032-10-01..2032-10-07 holiday 国庆节\n"})
    r.expect(303, "page import of a good file")
    eq(r.header("Location"), "/admin/calendar?year=2032&saved=import", "redirect")
    page = adm.get("/admin/calendar?year=2032&saved=import").expect(200)
    check("年度日历已导入" in page.text and "国庆节" in page.text, "the page after a good import")
    eq([e["date"] for e in adm.get("/api/v1/calendar/2032").json()["exceptions"]],
       ["2032-10-0%d" % d for d in range(1, 8)], "2032 replaced by the second file")
    eq(srv.sql_value("SELECT COUNT(*) FROM audit_log WHERE action = 'calendar.import'"), "2", "imports audited")


def test_calendar_citizen_and_staff_cannot_write():
    srv = shared(WRITES)
    c = srv.client()
    c.login_as("chen")
    c.put_json("/api/v1/calendar/days/2033-01-03", {"kind": "holiday"}).expect_error(
        403, "HTTP_403", what="citizen PUT a day")
    c.post_json("/api/v1/calendar/import", {"text": GOOD}).expect_error(403, "HTTP_403", what="citizen import")
    c.post_form("/admin/calendar/day", {"date": "2033-01-03", "kind": "holiday"}).expect(403, "citizen form")
    c.get("/admin/calendar").expect(403, "citizen page")
    c.get("/api/v1/calendar/2033").expect(200, "citizen reads the API")
    s = srv.client()
    s.login_as("wang.mca")
    page = s.get("/admin/calendar?year=2026").expect(200, "staff see the calendar")
    check('action="/admin/calendar/day"' not in page.text, "staff are shown the admin's forms")
    s.put_json("/api/v1/calendar/days/2033-01-03", {"kind": "holiday"}).expect_error(
        403, "HTTP_403", what="staff PUT a day")
    eq(srv.sql_value("SELECT COUNT(*) FROM calendar_days WHERE day = ?", (23013,)), "0",
       "2033-01-03 untouched")
    anon = srv.client()
    anon.put_json("/api/v1/calendar/days/2033-01-03", {"kind": "holiday"}, csrf=False).expect_error(
        401, "HTTP_401", what="anonymous PUT")


def test_calendar_cli():
    srv = shared(WRITES)
    code, out, err = srv.cli("calendar", "--help")
    eq(code, 0, "calendar --help")
    check("workdays FROM N" in out, "help text: %r" % out)
    code, out, err = srv.cli("calendar", "workdays", "2026-09-30", "3")
    eq(code, 0, "calendar workdays (stderr %r)" % err)
    eq(out.split()[:2], ["2026-10-10", "周六"], "calendar workdays output %r" % out)
    code, out, err = srv.cli("calendar", "show", "2026")
    eq(code, 0, "calendar show")
    check("2026-10-10 周六 workday" in out and "248 working days" in out, "calendar show output %r" % out)
    # import: every bad line, nothing imported; then a good file
    bad = os.path.join(srv.dir, "bad.txt")
    with open(bad, "w", encoding="utf-8") as f:
        f.write("2033-01-03 holiday 好的\n2033-02-30 holiday 坏的\n2033-01-08..2033-01-01 休\n")
    code, out, err = srv.cli("calendar", "import", bad)
    eq(code, 1, "calendar import of a bad file")
    check("line 2:" in err and "line 3:" in err and "nothing imported" in err and "line 1:" not in err,
          "calendar import errors %r" % err)
    eq(srv.sql_value("SELECT COUNT(*) FROM calendar_days WHERE day = ?", (23013,)), "0", "nothing imported")
    good = os.path.join(srv.dir, "good.txt")
    with open(good, "w", encoding="utf-8") as f:
        f.write("\ufeff2033-01-03 holiday 命令行导入\r\n2033-01-08 班\r\n")
    code, out, err = srv.cli("calendar", "import", good)
    eq(code, 0, "calendar import of a good file (stderr %r)" % err)
    check("1 holidays and 1 adjusted working days for 2033" in out, "calendar import output %r" % out)
    c = srv.client()
    eq([(e["date"], e["note"]) for e in c.get("/api/v1/calendar/2033").expect(200).json()["exceptions"]],
       [("2033-01-03", "命令行导入"), ("2033-01-08", "")], "the server sees the CLI's import")
    eq(srv.sql_value("SELECT COUNT(*) FROM audit_log WHERE action = 'calendar.import' AND actor = 'cli'"), "1",
       "the CLI's import is audited")
