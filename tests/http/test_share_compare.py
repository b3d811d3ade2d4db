"""数据比对 and data-quality tasks: the demo comparison (enterprise.legal_rep_id <-> population.id_no,
legal_rep_name = name) through the API finds exactly the generator's planted discrepancies, each a
task routed to 公安局 (一数一源) with its deadline; psb closes tasks (fixed with a note, confirmed with
a reason); the report exports as CSV, XLSX and JSON; bad specifications are refused naming the field
and change nothing; only platform admins and the data department may run comparisons; the page
form and the CLI."""
import csv
import io
import json
import time

from harness import check, eq, shared

PERSONS = 2000                       # the harness's YIZHAN_DEMO_PERSONS
PLANTED_MISSING = max(1, PERSONS // 2000)
PLANTED_NAME = max(1, PERSONS // 1000)

DEMO_SPEC = {"registry_a": "enterprise", "key_a": "legal_rep_id", "registry_b": "population",
             "key_b": "id_no", "map": "legal_rep_name=name", "only_a": True, "only_b": False}

_clients = {}


def client(srv, login):
    key = (id(srv), srv.port, login)
    if key not in _clients:
        c = srv.client()
        c.login_as(login)
        _clients[key] = c
    return _clients[key]


def wait_job(c, job, timeout=120):
    end = time.time() + timeout
    while time.time() < end:
        j = c.get("/api/v1/jobs/%d" % job).expect(200, "job").json()
        if j.get("finished"):
            check(not j.get("failed"), "job failed: %r" % j)
            return j
        time.sleep(0.2)
    raise AssertionError("job %d did not finish" % job)


def run_compare(srv, spec=None, deadline=None):
    c = client(srv, "admin")
    body = dict(spec or DEMO_SPEC)
    if deadline is not None:
        body["deadline_days"] = deadline
    r = c.post_json("/api/v1/share/compare", body).expect(202, "queue comparison")
    out = r.json()
    check(isinstance(out.get("job"), int) and isinstance(out.get("run"), int), "job and run: %r" % out)
    wait_job(c, out["job"])
    run = c.get("/api/v1/share/compare/runs/%d" % out["run"]).expect(200, "run").json()
    return out["run"], run


def psb_id(srv):
    return int(srv.sql_value("SELECT id FROM departments WHERE code = 'psb'"))


def test_demo_comparison_finds_exactly_the_planted():
    srv = shared()
    run_id, run = run_compare(srv, deadline=7)
    eq(run["state"], "done", "state")
    eq(run["counts"]["only_a"], PLANTED_MISSING, "legal reps missing from population")
    eq(run["counts"]["mismatch"], PLANTED_NAME, "names differing")
    eq(run["counts"]["only_b"], 0, "only in B is not reported")
    eq(run["counts"]["total"], PLANTED_MISSING + PLANTED_NAME, "total")
    eq(run["n_tasks"], PLANTED_MISSING + PLANTED_NAME, "one task per discrepancy")
    eq(run["rows_b"], PERSONS, "population records read")
    # every task goes to 公安局: id_no and name are authoritative there, the enterprise's copies derived
    eq([(d["dept"]["name"], d["tasks"], d["open"]) for d in run["by_dept"]],
       [("公安局", PLANTED_MISSING + PLANTED_NAME, PLANTED_MISSING + PLANTED_NAME)], "tasks by department")
    rows = srv.sql("SELECT c.process, c.dept_id, c.statutory_days, c.deadline, c.state FROM compare_items i "
                   "JOIN cases c ON c.id = i.case_id WHERE i.run_id = ?", (run_id,))
    eq(len(rows), PLANTED_MISSING + PLANTED_NAME, "cases")
    for process, dept, days, deadline, state in rows:
        eq(process, "share.dq", "process")
        eq(int(dept), psb_id(srv), "routed to psb")
        eq(int(days), 7, "limit = the run's deadline")
        check(deadline not in (None, "") and int(deadline) < 2147483647, "a deadline: %r" % deadline)
        eq(state, "open", "open")
    # the items: kinds and fields; the admin sees identifiers masked
    items = client(srv, "admin").get("/api/v1/share/compare/runs/%d/items" % run_id).expect(200).json()
    kinds = sorted(i["kind"] for i in items["items"])
    eq(kinds, sorted(["only_a"] * PLANTED_MISSING + ["mismatch"] * PLANTED_NAME), "item kinds")
    for i in items["items"]:
        check("*" in i["key"], "key masked for the admin: %r" % i["key"])
        eq(i["dept"]["name"], "公安局", "item dept")
        if i["kind"] == "mismatch":
            eq((i["field_a"], i["field_b"]), ("legal_rep_name", "name"), "fields")
            check("*" in i["value_a"] and "*" in i["value_b"], "names masked for the admin")
    # only one kind
    only = client(srv, "admin").get("/api/v1/share/compare/runs/%d/items?kind=only_a" % run_id).expect(200).json()
    eq(len(only["items"]), PLANTED_MISSING, "filter by kind")
    # audited
    check(srv.sql("SELECT seq FROM audit_log WHERE action = 'compare.create' AND object = ?",
                  ("compare_run:%d" % run_id,)), "compare.create audited")
    check(srv.sql("SELECT seq FROM audit_log WHERE action = 'compare.done' AND object = ?",
                  ("compare_run:%d" % run_id,)), "compare.done audited")


def test_psb_closes_tasks():
    srv = shared()
    run_id, _ = run_compare(srv)
    psb = client(srv, "zhao.psb")
    lst = psb.get("/api/v1/share/tasks?limit=200").expect(200, "psb tasks").json()
    eq(lst["dept"]["name"], "公安局", "acting department")
    mine = [t for t in lst["items"] if t["run"] == run_id]
    eq(len(mine), PLANTED_MISSING + PLANTED_NAME, "this run's tasks in psb's list")
    for t in mine:
        check(t["deadline"], "deadline shown")
        check(t["light_css"] in ("green", "yellow", "red"), "light")
    # the desk shows psb's open data-quality tasks
    desk = psb.get("/api/v1/desk").expect(200).json()
    items = desk.get("items", desk) if isinstance(desk, dict) else desk
    dq = [i for i in items if i.get("kind") == "share.dq"]
    check(dq and dq[0]["count"] >= PLANTED_MISSING + PLANTED_NAME, "desk item: %r" % dq)
    t = next(t for t in mine if t["kind"] == "mismatch")
    # the case engine's lists (电子监察) link a task's case to /share/cases/{id}: the task's page
    r = psb.get("/share/cases/%d" % t["id"])
    eq((r.status, r.header("Location")), (303, "/share/tasks/%d" % t["id"]), "the case's page is the task")
    detail = psb.get("/api/v1/share/tasks/%d/detail" % t["id"]).expect(200).json()
    check("*" not in detail["key"], "psb sees the identifier whole on the task: %r" % detail["key"])
    check("*" not in detail["value_b"], "and the name")
    check(detail["value_a"] != detail["value_b"], "the names differ")
    # the read is in the data subject's tracker
    check(srv.sql("SELECT id FROM reg_access WHERE purpose = '数据质量核查'"), "access logged")
    # fixed needs a note
    r = psb.post_json("/api/v1/share/tasks/%d" % t["id"], {"action": "fix", "version": detail["version"]})
    r.expect(400, "no note")
    eq(r.json()["error"]["field"], "note", "field")
    eq(srv.sql_value("SELECT state FROM cases WHERE id = ?", (t["id"],)), "open", "unchanged")
    # another department cannot act on it
    client(srv, "zhang.amr").post_json("/api/v1/share/tasks/%d" % t["id"],
                                       {"action": "fix", "version": detail["version"], "note": "x"}).expect(404)
    done = psb.post_json("/api/v1/share/tasks/%d" % t["id"],
                         {"action": "fix", "version": detail["version"], "note": "已核对户籍档案，更正法人库登记。"})
    done.expect(200, "fixed")
    eq(done.json()["state"], "fixed", "state")
    check(done.json()["final"], "final")
    psb.post_json("/api/v1/share/tasks/%d" % t["id"],
                  {"action": "confirm", "version": detail["version"] + 1, "reason": "x"}).expect(409, "closed")
    # confirm needs a reason; with one it closes
    t2 = next(t for t in mine if t["kind"] == "only_a")
    d2 = psb.get("/api/v1/share/tasks/%d/detail" % t2["id"]).expect(200).json()
    r = psb.post_json("/api/v1/share/tasks/%d" % t2["id"], {"action": "confirm", "version": d2["version"]})
    r.expect(400)
    eq(r.json()["error"]["field"], "reason", "field")
    psb.post_json("/api/v1/share/tasks/%d" % t2["id"], {"action": "confirm", "version": d2["version"],
                                                       "reason": "该人员已迁出本市，人口库无记录属正常。"}).expect(200)
    eq(srv.sql_value("SELECT state FROM cases WHERE id = ?", (t2["id"],)), "confirmed", "confirmed")
    closed = psb.get("/api/v1/share/tasks?state=closed&limit=200").expect(200).json()
    ids = [x["id"] for x in closed["items"]]
    check(t["id"] in ids and t2["id"] in ids, "closed list")
    check(srv.sql("SELECT seq FROM audit_log WHERE action = 'dq.fix'"), "dq.fix audited")
    # the run shows one fewer open per closed task
    run = client(srv, "admin").get("/api/v1/share/compare/runs/%d" % run_id).expect(200).json()
    eq(run["by_dept"][0]["open"], PLANTED_MISSING + PLANTED_NAME - 2, "open tasks")
    # the task page renders for psb with both forms... and the closed one without
    page = psb.get("/share/tasks/%d" % t2["id"]).expect(200).text
    check("确认无误" in page and "标记为已更正" not in page, "closed task page")
    page = psb.get("/share/tasks").expect(200).text
    check("数据质量任务" in page and "公安局" in page, "task list page")


def test_exports():
    srv = shared()
    run_id, _ = run_compare(srv)
    c = client(srv, "admin")
    r = c.get("/share/compare/runs/%d/export?format=csv" % run_id).expect(200, "csv")
    check(r.header("Content-Type").startswith("text/csv"), "csv type")
    check("attachment" in (r.header("Content-Disposition") or ""), "attachment")
    check(r.body.startswith(b"\xef\xbb\xbf"), "BOM")
    rows = list(csv.reader(io.StringIO(r.body.decode("utf-8-sig"))))
    eq(rows[0][0], "序号", "header")
    eq(len(rows) - 1, PLANTED_MISSING + PLANTED_NAME, "csv rows")
    check(all("公安局" == row[7] for row in rows[1:]), "dept column")
    r = c.get("/share/compare/runs/%d/export?format=xlsx" % run_id).expect(200, "xlsx")
    check(r.body[:2] == b"PK", "xlsx is a zip")
    check("spreadsheetml" in r.header("Content-Type"), "xlsx type")
    r = c.get("/share/compare/runs/%d/export?format=json" % run_id).expect(200, "json")
    doc = json.loads(r.body)
    eq(doc["run"]["id"], run_id, "json run")
    eq(len(doc["items"]), PLANTED_MISSING + PLANTED_NAME, "json items")
    c.get("/share/compare/runs/%d/export?format=pdf" % run_id).expect(400, "bad format")
    # psb (owner of population) sees the report whole; a department with no stake may not read it
    r = client(srv, "zhao.psb").get("/share/compare/runs/%d/export?format=json" % run_id).expect(200)
    check(all("*" not in i["key"] for i in json.loads(r.body)["items"]), "owner sees keys whole")
    client(srv, "wang.mca").get("/api/v1/share/compare/runs/%d" % run_id).expect(403)
    c.get("/api/v1/share/compare/runs/999999").expect(404)


def test_bad_specs_refused_naming_the_field():
    srv = shared()
    c = client(srv, "admin")
    before = srv.sql_value("SELECT COUNT(*) FROM compare_runs")
    cases = [
        ({"registry_a": "nosuch"}, "registry_a"),
        ({"registry_b": "nosuch"}, "registry_b"),
        ({"key_a": "legal_rep"}, "key_a"),
        ({"key_b": "idno"}, "key_b"),
        ({"key_b": "birth_date"}, "key_b"),                 # idcard against a date
        ({"map": "legal_rep_name=nom"}, "map"),
        ({"map": "legal_rep_name=birth_date"}, "map"),      # text against a date
        ({"map": "reg_capital=name"}, "map"),               # decimal against text
        ({"map": "legal_rep_name"}, "map"),
        ({"map": "", "only_a": False, "only_b": False}, "map"),
        ({"deadline_days": 0}, "deadline_days"),
        ({"deadline_days": 61}, "deadline_days"),
        ({"only_a": "yes please"}, "only_a"),
        ({"extra": 1}, "extra"),
    ]
    for change, field in cases:
        body = dict(DEMO_SPEC)
        body.update(change)
        r = c.post_json("/api/v1/share/compare", body)
        r.expect(400, "%r" % change)
        err = r.json()["error"]
        eq(err.get("field"), field, "field of %r" % change)
        check(err.get("message"), "a message")
    eq(srv.sql_value("SELECT COUNT(*) FROM compare_runs"), before, "nothing created")


def test_who_may_compare():
    srv = shared()
    client(srv, "zhang.amr").post_json("/api/v1/share/compare", DEMO_SPEC).expect(403, "amr staff")
    client(srv, "zhao.psb").get("/api/v1/share/compare").expect(403, "psb list")
    client(srv, "zhang.amr").get("/share/compare").expect(403, "form")
    chen = client(srv, "chen")
    r = chen.post_json("/api/v1/share/compare", DEMO_SPEC)
    check(r.status in (401, 403), "citizen: %d" % r.status)
    chen.get("/api/v1/share/tasks").expect(403, "citizen tasks")


def test_page_form_and_runs_list():
    srv = shared()
    c = client(srv, "admin")
    tok, page = c.form_csrf("/share/compare")
    check("数据比对" in page.text and "legal_rep_name=name" in page.text, "form with the demo defaults")
    r = c.post_form("/share/compare", {"_csrf": tok, "registry_a": "enterprise", "key_a": "legal_rep_id",
                                       "registry_b": "population", "key_b": "id_no",
                                       "map": "legal_rep_name=nmae", "only_a": "1", "tasks": "1",
                                       "deadline_days": "10"})
    r.expect(400, "bad map on the page")
    check("“nmae” 不是" in r.text and 'href="#map"' in r.text, "message by the field")
    r = c.post_form("/share/compare", {"_csrf": tok, "registry_a": "enterprise", "key_a": "legal_rep_id",
                                       "registry_b": "population", "key_b": "id_no",
                                       "map": "legal_rep_name=name", "only_a": "1", "deadline_days": "10"})
    r.expect(303, "queued")
    loc = r.header("Location")
    check(loc.startswith("/share/compare/runs/"), "to the run: %r" % loc)
    run_id = int(loc.rsplit("/", 1)[1])
    job = int(srv.sql_value("SELECT job_id FROM compare_runs WHERE id = ?", (run_id,)))
    wait_job(c, job)
    jp = c.get("/jobs/%d" % job).expect(200, "the job's page").text
    check('<a href="%s">查看结果</a>' % loc in jp, "the job's page links the report")
    check("新建" not in jp, "no import counts on a comparison's job page")
    eq(srv.sql_value("SELECT tasks FROM compare_runs WHERE id = ?", (run_id,)), "0", "unchecked tasks box")
    eq(srv.sql_value("SELECT n_tasks FROM compare_runs WHERE id = ?", (run_id,)), "0", "no tasks")
    page = c.get(loc).expect(200).text
    check("数据比对报告" in page and "公安局" in page, "report page")
    lst = c.get("/share/compare/runs").expect(200).text
    check(loc in lst, "run listed")
    api = c.get("/api/v1/share/compare?limit=1").expect(200).json()
    eq(len(api["items"]), 1, "limit")
    check(api["next"] is not None or srv.sql_value("SELECT COUNT(*) FROM compare_runs") == "1", "next cursor")


def test_cli():
    srv = shared()
    rc, out, err = srv.cli("compare", "--help")
    eq(rc, 0, "help")
    check("yizhan compare A:KA B:KB" in out, "usage")
    rc, out, err = srv.cli("compare", "enterprise:legal_rep_id", "population:id_no", "--map",
                           "legal_rep_name=name", "--no-tasks")
    eq(rc, 0, "cli compare: %s" % err)
    check("only in A: %d" % PLANTED_MISSING in out, out)
    check("mismatches: %d" % PLANTED_NAME in out, out)
    check("elapsed:" in out, out)
    rc, out, err = srv.cli("compare", "enterprise:legal_rep_id", "population:id_no", "--map", "legal_rep_name=nom")
    eq(rc, 2, "bad map")
    check("map" in err, err)
