"""Appointments (预约) and the hall queue (取号、叫号): windows and slot templates, booking with
capacity enforced under a race, reschedule, cancel, holidays, bad slots; queue numbers, the
counter's calls and the public calling screen (page and API)."""
import datetime
import re
import threading

from harness import check, eq, shared, uniq
from test_hall_items import item_body

_clients = {}

HALL_FULL = "该时段已约满"


def srv():
    # A server of its own: these tests change the calendar and the queue.
    return shared("hall_appoint")


def client(login):
    """A signed-in client per login (staff sign-ins each need a fresh TOTP step)."""
    s = srv()
    key = (s.port, login)
    if key not in _clients:
        c = s.client()
        c.login_as(login)
        _clients[key] = c
    return _clients[key]


def dept_id(code):
    return int(srv().sql_value("SELECT id FROM departments WHERE code = ?", (code,)))


def make_item_window(cap=2, schedule=None):
    """li.amr publishes a fresh item and opens a window of 市场监督管理局 serving it; (code, window id)."""
    li = client("li.amr")
    code = uniq("amr-t")[:20]
    li.post_json("/api/v1/hall/items", item_body(code, dept_id("amr"), audience="both")).expect(201, "item")
    wcode = uniq("W")[:12].upper()
    sched = schedule or "1-7 | 09:00-12:00 | 30 | %d\n1-7 | 13:30-17:00 | 30 | %d\n" % (cap, cap)
    r = li.post_form("/admin/hall/windows", {"dept_id": dept_id("amr"), "code": wcode, "name": "测试窗口" + wcode[-4:],
                                             "active": "1", "items": code, "schedule": sched})
    r.expect(303, "create window")
    m = re.match(r"^/admin/hall/windows/(\d+)\?saved=1$", r.header("Location") or "")
    check(m, "Location of the new window: %r" % r.header("Location"))
    return code, int(m.group(1))


def slots(c, code):
    r = c.get("/api/v1/hall/items/%s/slots" % code).expect(200, "slots of " + code)
    return r.json()["days"]


def free_slots(c, code, window=None):
    """Free slots from tomorrow on: today's may already have started, so a
    test behaves the same at any time of day."""
    out = []
    today = datetime.date.today().isoformat()
    for d in slots(c, code):
        if d["date"] <= today:
            continue
        for w in d["windows"]:
            if window is not None and w["id"] != window:
                continue
            out += [s for s in w["slots"] if s["free"] > 0]
    return out


def book(c, code, slot):
    return c.post_json("/api/v1/hall/appointments", {"item": code, "slot": slot})


def holiday_days(s):
    return {int(r[0]) for r in s.sql("SELECT day FROM calendar_days WHERE kind = 'holiday'")}


def cal_day(date_text):
    return (datetime.date.fromisoformat(date_text) - datetime.date(1970, 1, 1)).days


# ------------------------------------------------------------------ windows and slots

def test_demo_windows_and_slots_only_on_working_days():
    s = srv()
    eq(s.sql_value("SELECT COUNT(*) FROM hall_windows w JOIN departments d ON d.id = w.dept_id "
                   "WHERE d.code IN ('amr', 'gsc')") != "0", True, "demo windows of amr and gsc")
    days = slots(s.client(), "psb-sfzhl")
    check(0 < len(days) <= 10, "up to 10 working days offered: %d" % len(days))
    hol = holiday_days(s)
    today = datetime.date.today()
    for d in days:
        day = datetime.date.fromisoformat(d["date"])
        check(day >= today, "no past day offered: %s" % d["date"])
        check(cal_day(d["date"]) not in hol, "no holiday offered: %s" % d["date"])
        if day.weekday() >= 5:
            check(s.sql("SELECT 1 FROM calendar_days WHERE day = ? AND kind = 'workday'", (cal_day(d["date"]),)),
                  "a weekend day offered only as an adjusted working day: %s" % d["date"])
        for w in d["windows"]:
            for sl in w["slots"]:
                check(re.match(r"^\d+-\d{8}-\d{4}$", sl["slot"]), "slot key %r" % sl["slot"])
    # the demo bookings (chen, huaxin) exist
    eq(s.sql_value("SELECT COUNT(*) FROM hall_appointments a JOIN users u ON u.id = a.user_id "
                   "WHERE u.login IN ('chen', 'huaxin') AND a.status = 'booked'"), "2", "demo bookings")


def test_windows_admin_checks():
    li = client("li.amr")
    r = li.get("/admin/hall/windows").expect(200, "window list")
    check("企业开办综合窗口" in r.text, "the demo window of amr listed")
    check("综合受理窗口一" not in r.text, "another department's windows not listed to li.amr")
    base = {"dept_id": dept_id("amr"), "code": uniq("X")[:10].upper(), "name": "校验窗口", "active": "1",
            "items": "amr-qysl", "schedule": "1-5 | 09:00-12:00 | 30 | 2\n"}
    bad = dict(base, schedule="1-5 | 09:00-12:00 | 30 | 2\n8 | 09:00-10:00 | 30 | 1\n")
    r = li.post_form("/admin/hall/windows", bad).expect(400, "bad weekday")
    check("第 2 行" in r.text, "the line is named: %s" % r.text[:200])
    li.post_form("/admin/hall/windows", dict(base, schedule="1 | 12:00-09:00 | 30 | 2")).expect(400, "end before start")
    li.post_form("/admin/hall/windows", dict(base, schedule="1-5 | 09:00-12:00 | 30 | 2\n3 | 11:00-13:00 | 30 | 1")) \
        .expect(400, "overlap")
    r = li.post_form("/admin/hall/windows", dict(base, items="amr-qysl no-such-item")).expect(400, "unknown item")
    check("no-such-item" in r.text, "the unknown code is named")
    li.post_form("/admin/hall/windows", dict(base, dept_id=dept_id("mca"))).expect(403, "other department")
    li.post_form("/admin/hall/windows", dict(base, code="A01")).expect(409, "window code taken")
    r = li.post_form("/admin/hall/windows", base).expect(303, "valid window")
    wid = int(re.search(r"/(\d+)\?", r.header("Location")).group(1))
    r = li.get("/admin/hall/windows/%d" % wid).expect(200, "edit page")
    check("1-5 | 09:00-12:00 | 30 | 2" in r.text, "the schedule folded back into text")
    client("wang.mca").get("/admin/hall/windows/%d" % wid).expect(403, "staff, not an admin")


# ------------------------------------------------------------------ booking

def test_book_by_page_and_my_appointments():
    code, win = make_item_window(cap=2)
    c = client("chen")
    r = c.get("/hall/items/%s/appoint" % code).expect(200, "booking page")
    check('type="radio" name="slot"' in r.text, "slots as radio buttons")
    idem = c.hidden(r.text, "_idem")
    first = free_slots(c, code, win)[0]
    r = c.post_form("/hall/items/%s/appoint" % code, {"slot": first["slot"], "_idem": idem})
    r.expect(303, "book")
    m = re.search(r"code=([0-9A-Z]{9})$", r.header("Location") or "")
    check(m, "booking code in %r" % r.header("Location"))
    bcode = m.group(1)
    # a retry with the same key returns the first answer, not a second booking
    r2 = c.post_form("/hall/items/%s/appoint" % code, {"slot": first["slot"], "_idem": idem})
    eq(r2.header("Location"), r.header("Location"), "idempotent retry")
    r = c.get(r.header("Location")).expect(200, "my appointments")
    check(bcode in r.text and "预约成功" in r.text, "the code is shown")
    check("/hall/appointments/" in r.text and "取消预约" in r.text, "reschedule and cancel offered")
    eq(srv().sql_value("SELECT COUNT(*) FROM messages m JOIN users u ON u.id = m.user_id "
                       "WHERE u.login = 'chen' AND m.kind = 'hall.appointment' AND m.body LIKE ?",
                       ("%" + bcode + "%",)), "1", "booking notification")
    # one active booking per person and item
    other = free_slots(c, code, win)[1]
    r = c.post_form("/hall/items/%s/appoint" % code, {"slot": other["slot"]}).expect(409, "second booking")
    check("您已预约本事项" in r.text, "said why, on the form")
    book(c, code, other["slot"]).expect_error(409, "APPT_ALREADY", "slot")
    # the free count went down
    after = [s for s in free_slots(c, code, win) if s["slot"] == first["slot"]]
    eq(after[0]["free"] if after else 0, first["free"] - 1, "free places after booking")
    # the desk lists it
    d = c.get("/api/v1/desk")
    if d.status == 200:
        check(any(i.get("kind") == "hall.appointment" for i in d.json().get("items", [])), "desk item")


def test_capacity_race_last_place():
    code, win = make_item_window(cap=1)
    chen, huaxin = client("chen"), client("huaxin")
    slot = free_slots(chen, code, win)[0]["slot"]
    results = [None, None]
    barrier = threading.Barrier(2)

    def go(i, c):
        barrier.wait()
        results[i] = book(c, code, slot)

    ts = [threading.Thread(target=go, args=(0, chen)), threading.Thread(target=go, args=(1, huaxin))]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    ok = [r for r in results if 200 <= r.status < 300]
    eq(len(ok), 1, "exactly one wins: %s" % [r.short() for r in results])
    loser = [r for r in results if r not in ok][0]
    loser.expect_error(409, "APPT_SLOT_FULL", "slot")
    eq(loser.json()["error"]["message"], HALL_FULL, "the message")
    eq(srv().sql_value("SELECT booked FROM hall_slot_usage WHERE window_id = ?", (win,)), "1", "places taken")
    # the page says it too
    c = huaxin if results[1] is loser else chen
    r = c.post_form("/hall/items/%s/appoint" % code, {"slot": slot}).expect(409, "full by page")
    check(HALL_FULL in r.text, "full, next to the slots")


def test_reschedule_and_cancel():
    code, win = make_item_window(cap=1)
    c = client("chen")
    free = free_slots(c, code, win)
    a = book(c, code, free[0]["slot"]).expect(201, "book").json()
    check(re.match(r"^[0-9A-Z]{9}$", a["code"]), "booking code %r" % a["code"])
    eq(a["status"], "booked", "status")
    # another person fills the third slot
    book(client("huaxin"), code, free[2]["slot"]).expect(201, "huaxin books")
    c.post_json("/api/v1/hall/appointments/%d/reschedule" % a["id"], {"slot": free[2]["slot"]}) \
        .expect_error(409, "APPT_SLOT_FULL", "slot")
    c.post_json("/api/v1/hall/appointments/%d/reschedule" % a["id"], {"slot": free[0]["slot"]}) \
        .expect_error(400, "APPT_SAME_SLOT", "slot")
    m = c.post_json("/api/v1/hall/appointments/%d/reschedule" % a["id"], {"slot": free[1]["slot"]}).expect(200).json()
    eq((m["date"], m["start"]), (free[1]["slot"].split("-")[1][:4] + "-" + free[1]["slot"].split("-")[1][4:6] + "-" +
                                 free[1]["slot"].split("-")[1][6:], free[1]["start"]), "moved")
    left = {s["slot"]: s["free"] for s in free_slots(c, code, win)}
    eq(left.get(free[0]["slot"]), 1, "the old slot is free again")
    check(free[1]["slot"] not in left, "the new slot is taken")
    # someone else's appointment is not there for huaxin
    client("huaxin").post_json("/api/v1/hall/appointments/%d/cancel" % a["id"], {}).expect_error(404, "APPT_NOT_FOUND")
    # the reschedule page, then cancel by page
    r = c.get("/hall/appointments/%d/reschedule" % a["id"]).expect(200, "reschedule page")
    check("原预约" in r.text, "shows the current booking")
    c.post_form("/hall/appointments/%d/cancel" % a["id"], {}).expect(303, "cancel by page")
    eq(srv().sql_value("SELECT status FROM hall_appointments WHERE id = ?", (a["id"],)), "cancelled", "cancelled")
    c.post_json("/api/v1/hall/appointments/%d/cancel" % a["id"], {}).expect_error(409, "APPT_NOT_ACTIVE")
    eq({s["slot"]: s["free"] for s in free_slots(c, code, win)}.get(free[1]["slot"]), 1, "place given back")
    # a booking whose slot has started can no longer be cancelled
    b = book(c, code, free[3]["slot"]).expect(201, "book again").json()
    srv().sql("UPDATE hall_appointments SET starts_at = starts_at - 86400 * 30 WHERE id = ?", (b["id"],))
    c.post_json("/api/v1/hall/appointments/%d/cancel" % b["id"], {}).expect_error(409, "APPT_STARTED")
    c.post_json("/api/v1/hall/appointments/%d/reschedule" % b["id"], {"slot": free[0]["slot"]}) \
        .expect_error(409, "APPT_STARTED")
    srv().sql("UPDATE hall_appointments SET status = 'cancelled' WHERE id = ?", (b["id"],))


def too_far_workday(s, days):
    """A working day (Monday to Friday, no demo holiday) after the last day offered."""
    hol = holiday_days(s)
    d = datetime.date.fromisoformat(days[-1]["date"]) + datetime.timedelta(days=7)
    while d.weekday() >= 5 or cal_day(d.isoformat()) in hol:
        d += datetime.timedelta(days=1)
    return d.strftime("%Y%m%d")


def test_bad_slots_refused():
    code, win = make_item_window(cap=2)
    c = client("chen")
    good = free_slots(c, code, win)[0]["slot"]
    w, day, hm = good.split("-")
    far = too_far_workday(srv(), slots(c, code))
    cases = [
        ("nonsense", "APPT_SLOT_BAD"),
        ("%s-20261399-0900" % w, "APPT_SLOT_BAD"),
        ("999999-%s-%s" % (day, hm), "APPT_SLOT_UNKNOWN"),
        ("%s-%s-0910" % (w, day), "APPT_SLOT_UNKNOWN"),   # not a start of the template
        ("%s-%s-1800" % (w, day), "APPT_SLOT_UNKNOWN"),   # after hours
        ("%s-20261001-0900" % w, "APPT_NOT_WORKDAY"),     # 国庆节 (demo calendar)
        ("%s-20261120-0900" % w, "APPT_SLOT_PAST"),       # a past Friday
        ("%s-%s-0900" % (w, far), "APPT_SLOT_TOO_FAR"),
    ]
    for slot, err in cases:
        book(c, code, slot).expect_error(400, err, "slot", what=slot)
    # the demo window of another item is unknown for this one
    a01 = srv().sql_value("SELECT id FROM hall_windows WHERE code = 'A01'")
    book(c, code, "%s-%s-%s" % (a01, day, hm)).expect_error(400, "APPT_SLOT_UNKNOWN", "slot")
    c.post_json("/api/v1/hall/appointments", {"item": "no-such", "slot": good}).expect_error(404, "HALL_ITEM_NOT_FOUND")
    c.post_json("/api/v1/hall/appointments", {"item": code}).expect(400, "slot missing")
    c.get("/hall/items/amr-spjy/appoint").expect(404, "a draft item")
    # staff cannot book; anonymous people are sent to sign in
    client("zhang.amr").post_json("/api/v1/hall/appointments", {"item": code, "slot": good}).expect(403, "staff")
    eq(srv().client().get("/hall/items/%s/appoint" % code).status, 303, "anonymous: to sign in")


# ------------------------------------------------------------------ queue

def take(c, body):
    tok = c.csrf or c.cookies.get("yz_pre")
    return c.post_json("/api/v1/hall/queue/take", body, csrf=tok)


def test_queue_take_call_and_screen():
    s = srv()
    code, win = make_item_window(cap=2)
    amr = dept_id("amr")
    kiosk = s.client()
    r = kiosk.get("/hall/queue/take?dept=%d" % amr).expect(200, "kiosk page")
    check(code in r.text, "the new item offered at the kiosk")
    t1 = take(kiosk, {"dept": amr, "item": code}).expect(201, "take").json()
    check(re.match(r"^A\d{3}$", t1["number"]), "walk-in number %r" % t1["number"])
    r = kiosk.post_form("/hall/queue/take", {"dept": amr, "item": code}).expect(200, "take by page")
    t2 = re.search(r'class="ticket-number">(A\d{3})<', r.text).group(1)
    eq(int(t2[1:]), int(t1["number"][1:]) + 1, "numbers per department and day")
    # a booked person checks in: a priority number, served before earlier walk-ins
    chen = client("chen")
    a = book(chen, code, free_slots(chen, code, win)[0]["slot"]).expect(201, "book").json()
    take(kiosk, {"appointment": a["code"]}).expect_error(409, "QUEUE_APPT_NOT_TODAY", "appointment")
    today = (datetime.date.today() - datetime.date(1970, 1, 1)).days
    s.sql("UPDATE hall_appointments SET day = ?, ends_at = ends_at + 86400 * 400 WHERE id = ?", (today, a["id"]))
    p = take(kiosk, {"appointment": a["code"].lower()}).expect(201, "check in").json()
    check(re.match(r"^P\d{3}$", p["number"]), "priority number %r" % p["number"])
    take(kiosk, {"appointment": a["code"]}).expect_error(409, "QUEUE_APPT_USED", "appointment")
    take(kiosk, {"appointment": "ZZZZZZZZZ"}).expect_error(400, "QUEUE_APPT_UNKNOWN", "appointment")
    take(kiosk, {"dept": amr, "item": "psb-sfzhl"}).expect_error(400, "QUEUE_ITEM_NOT_HERE", "item")
    take(kiosk, {"dept": 999999, "item": code}).expect_error(404, "QUEUE_DEPT_NOT_FOUND", "dept")

    # a citizen cannot call numbers; nor can staff of another department
    chen.post_json("/api/v1/hall/queue/call", {"window": win, "action": "next"}).expect(403, "citizen")
    client("wang.mca").post_json("/api/v1/hall/queue/call", {"window": win, "action": "next"}) \
        .expect_error(403, "QUEUE_NOT_YOUR_WINDOW", "window")
    z = client("zhang.amr")
    z.post_json("/api/v1/hall/queue/call", {"window": win, "action": "jump"}).expect(400, "unknown action")
    z.post_json("/api/v1/hall/queue/call", {"window": win, "action": "recall"}).expect_error(409, "QUEUE_NONE_CALLED")
    c1 = z.post_json("/api/v1/hall/queue/call", {"window": win, "action": "next"}).expect(200).json()["ticket"]
    eq(c1["number"], p["number"], "priority first")
    scr = s.client().get("/api/v1/hall/queue/screen?dept=%d" % amr).expect(200, "screen API").json()
    mine = [w for w in scr["windows"] if w["id"] == win]
    eq(mine[0]["number"], p["number"], "the screen shows the called number at the window")
    check(t1["number"] in scr["waiting"] and t2 in scr["waiting"], "walk-ins waiting: %r" % scr["waiting"])
    c2 = z.post_json("/api/v1/hall/queue/call", {"window": win, "action": "recall"}).expect(200).json()["ticket"]
    eq((c2["number"], c2["calls"]), (p["number"], 2), "recalled")
    c3 = z.post_json("/api/v1/hall/queue/call", {"window": win, "action": "next"}).expect(200).json()["ticket"]
    eq(c3["number"], t1["number"], "then by number")
    eq(s.sql_value("SELECT status FROM hall_queue_tickets WHERE dept_id = ? AND number = ? AND day = ?",
                   (amr, p["number"], today)), "done", "calling next completes the previous")
    z.post_json("/api/v1/hall/queue/call", {"window": win, "action": "skip"}).expect(200, "skip")
    eq(s.sql_value("SELECT status FROM hall_queue_tickets WHERE dept_id = ? AND number = ? AND day = ?",
                   (amr, t1["number"], today)), "skipped", "过号")
    # the counter page: 叫下一位 by form
    r = z.get("/hall/queue/counter?window=%d" % win).expect(200, "counter page")
    check("叫下一位" in r.text, "call button")
    r = z.post_form("/hall/queue/counter", {"window": win, "action": "next"}).expect(303, "call by page")
    r = z.get(r.header("Location")).expect(200)
    check(t2 in r.text and "已呼叫下一位" in r.text, "the page shows the number called")
    z.post_json("/api/v1/hall/queue/call", {"window": win, "action": "done"}).expect(200, "done")
    last = z.post_json("/api/v1/hall/queue/call", {"window": win, "action": "next"}).expect(200).json()
    eq(last["ticket"], None, "nobody left")
    eq(s.sql_value("SELECT COUNT(*) FROM audit_log WHERE action = 'hall.queue_call'") != "0", True, "calls audited")


def test_screen_page_refreshes_without_full_reload():
    s = srv()
    gsc = dept_id("gsc")
    r = s.client().get("/hall/queue/screen?dept=%d" % gsc).expect(200, "screen page")
    check('<noscript><meta http-equiv="refresh" content="10"></noscript>' in r.text.split("</head>")[0],
          "a refresh in the head for browsers without JavaScript")
    check('src="/static/queue.js"' in r.text, "the polling script")
    check('data-screen-api="/api/v1/hall/queue/screen?dept=%d"' % gsc in r.text, "the API it polls")
    check("<script>" not in r.text, "no inline script")
    check("A001" in r.text and "综合受理窗口一" in r.text, "the demo number being called")
    js = s.client().get("/static/queue.js").expect(200, "queue.js")
    check("setTimeout(poll, 2000)" in js.text, "polls every 2 seconds")
    doc = s.client().get("/api/v1/hall/queue/screen?dept=%d" % gsc).expect(200).json()
    check({"dept", "windows", "waiting", "waiting_count", "recent"} <= set(doc), "screen JSON keys: %r" % list(doc))
    s.client().get("/api/v1/hall/queue/screen").expect(400, "dept required")
    s.client().get("/api/v1/hall/queue/screen?dept=999999").expect_error(404, "QUEUE_DEPT_NOT_FOUND")
    # other pages do not refresh themselves
    check('http-equiv="refresh"' not in s.client().get("/hall").text, "no refresh elsewhere")


def test_holiday_has_no_slots():
    """A day the platform admin makes a holiday disappears from the slots and cannot be booked."""
    s = srv()
    code, win = make_item_window(cap=2)
    c = client("chen")
    days = slots(c, code)
    target = days[1]["date"] if len(days) > 1 else days[0]["date"]
    admin = s.admin()
    admin.put_json("/api/v1/calendar/days/%s" % target, {"kind": "holiday", "note": "测试放假"}).expect(200, "set holiday")
    try:
        dates = [d["date"] for d in slots(c, code)]
        check(target not in dates, "%s no longer offered: %r" % (target, dates))
        eq(len(dates), len(days), "still 10 working days (one more at the end)") if len(days) == 10 else None
        book(c, code, "%d-%s-0900" % (win, target.replace("-", ""))).expect_error(400, "APPT_NOT_WORKDAY", "slot")
    finally:
        admin.put_json("/api/v1/calendar/days/%s" % target, {"kind": "default"}).expect(200, "restore")
