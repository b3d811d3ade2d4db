"""Registry import and export over HTTP: uploading CSV and XLSX through the page and the API
as jobs, the job page and the import report with rows, fields and reasons, all-or-nothing and
skip-invalid, the owning department only; exports in CSV, JSON and XLSX (checked by reading
them: the XLSX with zipfile), their download only for the person who asked with a Chinese
file name, other departments limited to their grant or to unconditional fields (masked), the
audit and access-log entries, and the CLI commands."""
import csv
import io
import json
import re
import time
import urllib.parse
import zipfile

from harness import check, eq, fresh_idcard, private_server, shared, wait_job
from test_uploads import multipart, post_mp

_clients = {}

POP_HEAD = "id_no,name,sex,birth_date,household_no"
VIA = "export"      # reg_access.via of exports


def client(srv, login):
    key = (id(srv), srv.port, login)
    if key not in _clients:
        c = srv.client()
        c.login_as(login)
        _clients[key] = c
    return _clients[key]


def new_id():
    # 1901-02-03: no demo person is born then, so these ids are new records.
    return fresh_idcard("440106", "19010203")


def pop_count(srv):
    return int(srv.sql_value("SELECT COUNT(*) FROM reg_population"))


def pop_row(srv, id_no):
    rows = srv.sql("SELECT name, sex, household_no, _created_src, _updated_src FROM reg_population WHERE id_no = ?",
                   (id_no,))
    return rows[0] if rows else None


def upload_page(c, code, data, filename="导入.csv", ctype="text/csv", mode=None):
    tok, _ = c.form_csrf("/share/registries/%s/import" % code)
    fields = [("_csrf", tok)]
    if mode:
        fields.append(("mode", mode))
    body, mp = multipart(fields, [("file", filename, data, ctype)])
    return post_mp(c, "/share/registries/%s/import" % code, body, mp)


def upload_api(c, code, data, filename="导入.csv", ctype="text/csv", mode=None):
    fields = [("mode", mode)] if mode else []
    body, mp = multipart(fields, [("file", filename, data, ctype)])
    return post_mp(c, "/api/v1/registries/%s/imports" % code, body, mp, headers={"X-CSRF-Token": c.csrf})


def job_from_redirect(r, prefix="/jobs/"):
    r.expect(303, "submitted")
    loc = r.header("Location") or ""
    m = re.match(r"^%s(\d+)$" % re.escape(prefix), loc)
    check(m, "Location: %r" % loc)
    return int(m.group(1))


def xlsx_bytes(rows):
    """A minimal XLSX (inline strings) with rows of text cells, as a spreadsheet program writes."""
    def col(i):
        s = ""
        i += 1
        while i:
            i, r = divmod(i - 1, 26)
            s = chr(65 + r) + s
        return s

    def esc(s):
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    sheet = ['<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
             'spreadsheetml/2006/main"><sheetData>']
    for r, row in enumerate(rows, 1):
        sheet.append('<row r="%d">' % r)
        for c, v in enumerate(row):
            if v is None:
                continue
            if isinstance(v, (int, float)):
                sheet.append('<c r="%s%d"><v>%s</v></c>' % (col(c), r, repr(v)))
            else:
                sheet.append('<c r="%s%d" t="inlineStr"><is><t>%s</t></is></c>' % (col(c), r, esc(v)))
        sheet.append("</row>")
    sheet.append("</sheetData></worksheet>")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml",
                   '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/'
                   '2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-'
                   'package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
                   '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
                   'officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" '
                   'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
                   '</Types>')
        z.writestr("_rels/.rels",
                   '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
                   'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
                   'officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>')
        z.writestr("xl/workbook.xml",
                   '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/'
                   'spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/'
                   'relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>')
        z.writestr("xl/_rels/workbook.xml.rels",
                   '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
                   'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
                   'officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>')
        z.writestr("xl/worksheets/sheet1.xml", "".join(sheet))
    return out.getvalue()


# ------------------------------------------------------------------ import

def test_import_page_csv_creates_and_updates():
    srv = shared()
    c = client(srv, "zhao.psb")
    r = c.get("/share/registries/population/import")
    r.expect(200, "import page")
    t = r.text
    check('enctype="multipart/form-data"' in t and 'name="file"' in t, "a file upload form")
    check("household_no" in t and "户号" in t, "the columns are listed")
    a, b = new_id(), new_id()
    before = pop_count(srv)
    # labels and names mixed, any order, BOM and CRLF
    data = ("\ufeff户号,公民身份号码,姓名,sex,birth_date\r\n"
            "H900001,%s,导入甲,女,1901-02-03\r\n"
            "H900002,%s,\"导入,乙\",男,1901-02-03\r\n" % (a, b)).encode("utf-8")
    job = job_from_redirect(upload_page(c, "population", data))
    j = wait_job(c, job, timeout=60)
    eq(j["state"], "done", "import job state (%r)" % j.get("message"))
    res = j["result"]
    eq((res["rows"], res["inserted"], res["updated"], res["invalid"]), (2, 2, 0, 0), "counts")
    eq(pop_count(srv), before + 2, "two records more")
    row = pop_row(srv, b)
    eq(row[0], "导入,乙", "quoted name")
    eq(row[3], "import:%d" % job, "created from the import")
    # the job page reads well: counts and the summary
    r = c.get("/jobs/%d" % job)
    r.expect(200, "job page")
    check("新建 2 项" in r.text, "job page shows the counts")
    check("新增 2 条" in r.text, "job page shows the summary")
    # re-import with a change: updated, history names the new job
    data = ("id_no,name,sex,birth_date,household_no\n%s,导入甲改,女,1901-02-03,H900001\n" % a).encode()
    job2 = job_from_redirect(upload_page(c, "population", data))
    j = wait_job(c, job2, timeout=60)
    eq((j["result"]["updated"], j["result"]["inserted"]), (1, 0), "re-import updates")
    eq(pop_row(srv, a)[4], "import:%d" % job2, "updated by the second import")
    hist = srv.sql_value("SELECT COUNT(*) FROM reg_history h JOIN registries g ON g.id = h.registry_id "
                         "WHERE g.code = 'population' AND h.source = ?", ("import:%d" % job2,))
    eq(int(hist), 1, "one history row")
    # audited
    n = srv.sql_value("SELECT COUNT(*) FROM audit_log WHERE action = 'registry.import' AND detail LIKE ?",
                      ('%%"source":"import:%d"%%' % job2,))
    eq(int(n), 1, "registry.import audit entry")
    # the import page lists it with a report link
    r = c.get("/share/registries/population/import")
    check("/share/imports/%d" % job2 in r.text, "recent imports link to their reports")


def test_import_all_or_nothing_reports_rows():
    srv = shared()
    c = client(srv, "zhao.psb")
    good, bad = new_id(), new_id()
    bad = bad[:17] + ("0" if bad[17] != "0" else "1")      # wrong check character
    before = pop_count(srv)
    data = (POP_HEAD + "\n"
            "%s,好人,男,1901-02-03,H1\n"
            "%s,坏号,男,1901-02-03,H2\n"
            "%s,,男,1901/02/03,H3\n" % (good, bad, new_id())).encode()
    r = upload_api(c, "population", data)
    r.expect(202, "API import")
    job = r.json()["job"]
    check(r.json()["report"] == "/share/imports/%d" % job, "report link in the answer")
    j = wait_job(c, job, timeout=60)
    eq(j["state"], "failed", "all-or-nothing with bad rows fails")
    check("未写入任何数据" in (j["message"] or ""), "message says nothing was written: %r" % j["message"])
    res = j["result"]
    eq(res["invalid"], 2, "two bad rows")
    eq(res["written"], False, "not written")
    errs = [(e["row"], e["field"]) for e in res["errors"]]
    eq(errs, [(3, "id_no"), (4, "name"), (4, "birth_date")], "row and field of each problem")
    eq(res["errors"][0]["reason"], "身份证号校验位错误", "reason in Chinese")
    check("*" in res["errors"][0]["value"] and bad not in json.dumps(res, ensure_ascii=False),
          "the personal value is masked: %r" % res["errors"][0]["value"])
    eq(pop_count(srv), before, "nothing written")
    check(pop_row(srv, good) is None, "not even the good row")
    # the job page shows the table; the report page too, with labels and values
    r = c.get("/jobs/%d" % job)
    check("第 3 行" in r.text and "身份证号校验位错误" in r.text, "job page lists the rows")
    r = c.get("/share/imports/%d" % job)
    r.expect(200, "report page")
    check("第 4 行" in r.text and "出生日期" in r.text and "1901/02/03" in r.text, "report page rows")
    # skip-invalid writes the good row only
    r = upload_api(c, "population", data, mode="skip_invalid")
    r.expect(202, "skip-invalid import")
    j = wait_job(c, r.json()["job"], timeout=60)
    eq(j["state"], "done", "skip-invalid is done")
    eq((j["result"]["inserted"], j["result"]["invalid"]), (1, 2), "one written, two refused")
    check(pop_row(srv, good) is not None, "the good row is there")


def test_import_header_and_file_errors():
    srv = shared()
    c = client(srv, "zhao.psb")
    r = upload_api(c, "population", "id_no,name,colour\n1,2,3\n".encode())
    j = wait_job(c, r.json()["job"], timeout=60)
    eq(j["state"], "failed", "header errors fail")
    errs = [(e["row"], e["field"], e["reason"]) for e in j["result"]["errors"]]
    check((1, "colour", "表头中的这一列既不是该登记簿的字段名，也不是字段名称") in errs, "unknown column: %r" % errs)
    check(any(e[0] == 1 and e[1] == "household_no" and "缺少" in e[2] for e in errs), "missing column: %r" % errs)
    # not CSV or XLSX: refused at the upload, by the field
    png = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108020000009077"
                        "53de0000000c49444154789c63f8cfc0000003010100c9fe92ef0000000049454e44ae426082")
    r = upload_api(c, "population", png, filename="a.png", ctype="image/png")
    r.expect_error(400, "IMP_FILE_TYPE", "file")
    r = upload_page(c, "population", png, filename="a.png", ctype="image/png")
    r.expect(400, "page refuses the type")
    check("仅接受 CSV" in r.text and 'name="file"' in r.text, "the form again with the message")
    # no file at all
    body, mp = multipart([("mode", "skip_invalid")])
    r = post_mp(c, "/api/v1/registries/population/imports", body, mp, headers={"X-CSRF-Token": c.csrf})
    r.expect_error(400, "IMP_FILE_REQUIRED", "file")
    # a bad mode
    r = upload_api(c, "population", b"id_no\n", mode="sometimes")
    r.expect(400, "bad mode")
    # malformed CSV quoting: the whole file
    r = upload_api(c, "population", (POP_HEAD + '\n"%s,x\n' % new_id()).encode())
    j = wait_job(c, r.json()["job"], timeout=60)
    eq(j["state"], "failed", "malformed CSV fails")
    check(any("CSV 格式错误" in e["reason"] for e in j["result"]["errors"]), "says CSV is malformed")
    # unknown registry
    r = upload_api(c, "nosuch", b"a\n")
    r.expect(404, "unknown registry")


def test_import_xlsx():
    srv = shared()
    c = client(srv, "zhao.psb")
    a = new_id()
    rows = [["公民身份号码", "姓名", "性别", "出生日期", "户号"],
            [a, "表格人", "女", "1901-02-03", "HX1"],
            [440106190102031234.0, "数字号", "男", "1901-02-03", "HX2"]]
    data = xlsx_bytes(rows)
    r = upload_api(c, "population", data, filename="人口.xlsx",
                   ctype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", mode="skip_invalid")
    r.expect(202, "XLSX import")
    j = wait_job(c, r.json()["job"], timeout=60)
    eq(j["state"], "done", "XLSX import done (%r)" % j.get("message"))
    eq((j["result"]["inserted"], j["result"]["invalid"]), (1, 1), "one row in, the number refused")
    e = j["result"]["errors"][0]
    eq((e["row"], e["field"]), (3, "id_no"), "the identifier typed as a number")
    check("数字" in e["reason"], "reason names the number: %r" % e["reason"])
    eq(pop_row(srv, a)[0], "表格人", "row imported from XLSX")


def test_import_only_owner_department():
    srv = shared()
    c = client(srv, "wang.mca")
    r = c.get("/share/registries/population/import")
    r.expect(403, "another department's staff")
    check("只有登记簿所属部门" in r.text, "says why")
    r = upload_api(c, "population", (POP_HEAD + "\n%s,x,男,1901-02-03,H\n" % new_id()).encode())
    r.expect_error(403, "IMP_NOT_OWNER")
    # a citizen never reaches it
    r = client(srv, "chen").get("/share/registries/population/import")
    check(r.status in (302, 303, 403), "citizen refused (%d)" % r.status)
    # someone else's import report is not found
    z = client(srv, "zhao.psb")
    r = upload_api(z, "population", b"id_no\n")
    job = r.json()["job"]
    wait_job(z, job, timeout=60)
    r = client(srv, "li.amr").get("/share/imports/%d" % job)
    r.expect(404, "another person's report")


# ------------------------------------------------------------------ export

def export_api(c, code, fmt, expect=202):
    r = c.post_json("/api/v1/registries/%s/exports" % code, {"format": fmt})
    r.expect(expect, "export %s %s" % (code, fmt))
    return r


def download(c, srv, code, fmt):
    r = export_api(c, code, fmt)
    job = r.json()["job"]
    j = wait_job(c, job, timeout=120)
    eq(j["state"], "done", "export job (%r)" % j.get("message"))
    r = c.get(r.json()["download"])
    r.expect(200, "download")
    return job, j, r


def test_export_three_formats_owner():
    srv = shared()
    c = client(srv, "zhao.psb")
    total = pop_count(srv)
    # CSV
    job, j, r = download(c, srv, "population", "csv")
    check((r.header("Content-Type") or "").startswith("text/csv"), "CSV type: %r" % r.header("Content-Type"))
    cd = r.header("Content-Disposition") or ""
    check(cd.startswith("attachment") and "filename*=UTF-8''" + urllib.parse.quote("人口基础信息库") in cd,
          "Chinese file name (RFC 5987): %r" % cd)
    text = r.body.decode("utf-8")
    check(text.startswith("\ufeff"), "BOM")
    rows = list(csv.reader(io.StringIO(text[1:], newline="")))
    eq(rows[0], ["id_no", "name", "sex", "birth_date", "address", "phone", "household_no"], "header of field names")
    check(abs(len(rows) - 1 - total) <= 5, "every record (%d rows, %d records)" % (len(rows) - 1, total))
    check(all(len(x) == 7 for x in rows), "seven columns everywhere")
    check(any(x[0] == "440106199005171236" for x in rows), "unmasked identifiers for the owner")
    eq(j["result"]["rows"], len(rows) - 1, "rows in the result")
    # JSON
    _, _, r = download(c, srv, "population", "json")
    doc = json.loads(r.body.decode("utf-8"))
    check(isinstance(doc, list) and abs(len(doc) - total) <= 5, "an array of every record")
    chen = [x for x in doc if x["id_no"] == "440106199005171236"]
    eq(len(chen), 1, "chen is there")
    eq(sorted(chen[0].keys()), sorted(rows[0]), "objects with every field")
    # XLSX
    _, _, r = download(c, srv, "population", "xlsx")
    z = zipfile.ZipFile(io.BytesIO(r.body))
    names = z.namelist()
    check("xl/workbook.xml" in names and "xl/worksheets/sheet1.xml" in names, "an XLSX: %r" % names)
    sheet = z.read("xl/worksheets/sheet1.xml").decode("utf-8")
    check("公民身份号码" in sheet and "440106199005171236" in sheet, "labels and text identifiers")
    check(re.search(r'<c r="A2"[^>]*t="(inlineStr|s|str)"', sheet), "the identifier is a text cell")
    styles = z.read("xl/styles.xml").decode("utf-8")
    check("<b/>" in styles, "a bold header font")
    check(sheet.count("<row ") >= total, "a row per record")
    # audited with its fields
    n = srv.sql_value("SELECT COUNT(*) FROM audit_log WHERE action = 'registry.export' AND object = "
                      "'registry:population' AND detail LIKE '%household_no%'")
    check(int(n) >= 3, "registry.export audited with the fields (%s)" % n)


def test_export_page_and_download_owner_only():
    srv = shared()
    c = client(srv, "zhao.psb")
    r = c.get("/share/registries/population/export")
    r.expect(200, "export page")
    check('name="format"' in r.text and "全部" in r.text, "the page offers the formats")
    tok = c.hidden(r.text, "_csrf")
    r = c.post_form("/share/registries/population/export", {"_csrf": tok, "format": "csv",
                                                            "dept": c.hidden(r.text, "dept")}, csrf=False)
    job = job_from_redirect(r, "/share/exports/")
    wait_job(c, job, timeout=120)
    r = c.get("/share/exports/%d" % job)
    r.expect(200, "download from the page flow")
    check(r.body.startswith(b"\xef\xbb\xbfid_no,"), "a CSV file")
    # the page lists it
    check("/share/exports/%d" % job in c.get("/share/registries/population/export").text, "recent exports listed")
    # someone else (even of the same department's rights) cannot download it
    other = client(srv, "admin")
    r = other.get("/share/exports/%d" % job)
    r.expect(404, "another person's export")
    r = other.get("/api/v1/exports/%d" % job)
    r.expect(404, "another person's export (API)")


def test_export_other_departments():
    srv = shared()
    # amr has no grant on population and population shares nothing unconditionally
    r = client(srv, "zhang.amr").post_json("/api/v1/registries/population/exports", {"format": "csv"})
    check(r.status == 403, "refused without a grant: %d %s" % (r.status, r.short()))
    # mca holds a grant on name, address, household_no: those fields, unmasked, logged as export
    c = client(srv, "wang.mca")
    acc0 = int(srv.sql_value("SELECT COUNT(*) FROM reg_access WHERE via = '" + VIA + "'"))
    job, j, r = download(c, srv, "population", "csv")
    rows = list(csv.reader(io.StringIO(r.body.decode("utf-8")[1:], newline="")))
    check("phone" not in rows[0] and "name" in rows[0], "only the granted fields: %r" % rows[0])
    check(set(rows[0]) <= {"id_no", "name", "address", "household_no", "sex", "birth_date"}, "header %r" % rows[0])
    check(not any("*" in x[rows[0].index("name")] for x in rows[1:50]), "granted fields are not masked")
    eq(j["result"]["masked"], False, "unmasked by the grant")
    acc = int(srv.sql_value("SELECT COUNT(*) FROM reg_access WHERE via = '" + VIA + "'"))
    eq(acc, acc0 + 1, "one access-log entry for the export")
    row = srv.sql("SELECT purpose, basis, fields FROM reg_access WHERE via = '" + VIA + "' ORDER BY id DESC LIMIT 1")[0]
    eq(row[0], "导出", "purpose")
    check(row[1].startswith("grant:"), "basis is the grant: %r" % (row,))
    # enterprise: mca has no grant; only the unconditional fields
    _, j, r = download(c, srv, "enterprise", "json")
    doc = json.loads(r.body.decode("utf-8"))
    check(doc and set(doc[0].keys()) == {"uscc", "name", "est_date", "status"}, "unconditional fields: %r" %
          (doc[0].keys() if doc else None))
    # a bad format
    r = c.post_json("/api/v1/registries/enterprise/exports", {"format": "xls"})
    r.expect(400, "a bad format")
    eq(r.json()["error"]["field"], "format", "the field named")


MASKED_REG = """registry tr_people
name 导出测试名册
owner psb
key code
share unconditional
field code 编号 text(20) required source=psb
field name 姓名 text(20) personal source=psb
field phone 电话 phone personal source=psb
"""


def test_export_masked_for_others_and_cli():
    with private_server() as srv:
        path = srv.dir + "/tr.reg"
        with open(path, "w", encoding="utf-8") as f:
            f.write(MASKED_REG)
        rc, out, err = srv.cli("registry", "apply", path)
        eq(rc, 0, "registry apply: %s %s" % (out, err))
        data = srv.dir + "/tr.csv"
        with open(data, "w", encoding="utf-8") as f:
            f.write("code,name,phone\nA1,张三丰,13812345678\nA2,李四,\nA3,王,123\n")
        rc, out, err = srv.cli("import", "tr_people", data)
        eq(rc, 1, "CLI all-or-nothing with a bad row exits 1 (%s %s)" % (out, err))
        check("row 4, phone" in out and "rows/s" in out and "nothing written" in out, "CLI report: %r" % out)
        rc, out, err = srv.cli("import", "tr_people", data, "--skip-invalid")
        eq(rc, 0, "CLI skip-invalid exits 0 (%s %s)" % (out, err))
        check("inserted 2" in out, "CLI counts: %r" % out)
        rc, out, _ = srv.cli("import", "--help")
        eq(rc, 0, "import --help")
        check("--skip-invalid" in out, "import usage")
        rc, out, _ = srv.cli("export", "--help")
        check(rc == 0 and "--format" in out, "export usage")
        outp = srv.dir + "/tr.xlsx"
        rc, out, err = srv.cli("export", "tr_people", "--format", "xlsx", "--out", outp)
        eq(rc, 0, "CLI export (%s %s)" % (out, err))
        check("exported 2 records" in out, "CLI export says: %r" % out)
        z = zipfile.ZipFile(outp)
        check("张三丰" in z.read("xl/worksheets/sheet1.xml").decode(), "CLI export is unmasked")
        rc, _, _ = srv.cli("export", "tr_people", "--format", "xls", "--out", outp)
        eq(rc, 2, "bad format is a usage error")
        # another department: unconditional, personal fields masked
        c = srv.client()
        c.login_as("wang.mca")
        r = export_api(c, "tr_people", "csv")
        j = wait_job(c, r.json()["job"], timeout=60)
        eq(j["state"], "done", "export done")
        eq(j["result"]["masked"], True, "masked for another department")
        r = c.get(r.json()["download"])
        rows = list(csv.reader(io.StringIO(r.body.decode("utf-8")[1:], newline="")))
        eq(rows[1:], [["A1", "张**", "138****5678"], ["A2", "李*", ""]], "masked names and phones")
        # the owner sees them whole
        z = srv.client()
        z.login_as("zhao.psb")
        r = export_api(z, "tr_people", "json")
        wait_job(z, r.json()["job"], timeout=60)
        doc = json.loads(z.get(r.json()["download"]).body.decode())
        eq(doc[0], {"code": "A1", "name": "张三丰", "phone": "13812345678"}, "owner: unmasked")
