"""The resource catalogue (政务信息资源目录, GB/T 21063): browse, search, filters, the entry page,
edits by the right administrators only, export in CSV, JSON and XLSX."""
import csv
import io
import json
import re
import zipfile

from harness import check, eq, shared, uniq

DEMO_CODES = {"psb-00001", "amr-00001", "nr-00001", "psb-00002", "fin-00001", "hpf-00001", "nr-00002",
              "amr-00002"}

_staff = {}


def staff(srv, login):
    """A signed-in staff client, kept per server (each staff sign-in needs a fresh TOTP step)."""
    key = (id(srv), srv.port, login)
    if key not in _staff:
        c = srv.client()
        c.login_as(login)
        _staff[key] = c
    return _staff[key]


def all_entries(c, **params):
    """Every entry through the API, following the cursor with small pages."""
    out, after = [], None
    for _ in range(100):
        p = dict(params, limit=3)
        if after is not None:
            p["after"] = after
        doc = c.get("/api/v1/catalogue", params=p).expect(200).json()
        check(len(doc["items"]) <= 3, "page larger than the limit")
        out += doc["items"]
        after = doc["next"]
        if after is None:
            return out
    raise AssertionError("cursor never ended")


def codes(items):
    return [i["code"] for i in items]


def entry_body(**kw):
    d = {"class": "dept", "class_code": "302001", "name": "测试报表" + uniq()[-6:], "provider": "amr",
         "abstract": "按月汇总的测试报表，用于检验目录的编辑。", "format": "电子表格",
         "items": "month | 月份 | date\ncount | 户数 | integer\nowner_id | 户主身份证号 | idcard | 有条件共享 | 仅用于核查\n",
         "share": "conditional", "share_cond": "履职需要，经提供部门同意", "via_file": True, "open": False,
         "update_cycle": "每月", "released_on": "2026-06-01", "related": "amr-00001"}
    d.update(kw)
    return d


# ------------------------------------------------------------------ browse and search

def test_demo_entries_have_complete_metadata():
    srv = shared()
    c = staff(srv, "zhang.amr")
    items = all_entries(c)
    byc = {i["code"]: i for i in items}
    check(DEMO_CODES <= set(byc), "demo entries missing: %r" % (DEMO_CODES - set(byc)))
    eq(len(codes(items)), len(set(codes(items))), "no entry twice across pages")
    p = byc["psb-00001"]
    eq(p["registry"], "population", "registry of 人口基础信息")
    eq((p["class"], p["class_label"], p["class_code"]), ("basic", "基础信息资源", "101001"), "classification")
    eq((p["provider"]["code"], p["provider"]["name"]), ("psb", "公安局"), "provider and its code")
    eq(p["gb_code"], "101001/%06d" % p["id"], "front/back code")
    eq((p["share"], p["share_label"]), ("conditional", "有条件共享"), "sharing type from the registry")
    check(p["share_cond"], "conditions of a conditional resource")
    eq(p["format"], "数据库", "format")
    eq(p["update_cycle"], "实时", "update cycle")
    eq(p["released_on"], "2026-01-15", "release date")
    check("amr-00001" in p["related"], "related resources: %r" % p["related"])
    check("api" in p["share_methods"], "sharing method")
    items_by = {i["name"]: i for i in p["items"]}
    eq(items_by["id_no"]["type"], "idcard", "item type from the registry")
    eq(items_by["phone"]["share"], "none", "per-item sharing class (phone 不予共享)")
    check(items_by["id_no"]["label"] == "公民身份号码", "item label %r" % items_by["id_no"]["label"])
    # the two non-registry resources
    f = byc["nr-00002"]
    eq((f["registry"], f["share"], f["open"]), (None, "unconditional", True), "行政区划代码表")
    eq(f["share_methods"], ["file"], "file download")
    check(any(i["name"] == "parent_code" for i in f["items"]), "stored items of a file resource")
    a = byc["amr-00002"]
    eq((a["share"], a["registry"]), ("conditional", None), "企业年报汇总")
    tax = [i for i in a["items"] if i["name"] == "tax"][0]
    eq(tax["share_cond"], "仅用于税收分析", "item condition")
    # one entry by code
    one = c.get("/api/v1/catalogue/hpf-00001").expect(200).json()
    eq(one["registry"], "pfund", "pfund entry")
    c.get("/api/v1/catalogue/nope-00001").expect_error(404, "CAT_NOT_FOUND")


def test_filters_and_keyword_search():
    srv = shared()
    c = staff(srv, "wang.mca")
    basic = all_entries(c, **{"class": "basic"})
    check(basic and all(i["class"] == "basic" for i in basic), "class filter")
    check({"psb-00001", "amr-00001", "nr-00001", "nr-00002"} <= set(codes(basic)), "basic entries")
    check("fin-00001" not in codes(basic), "a department resource among basic ones")
    unc = codes(all_entries(c, share="unconditional"))
    check("nr-00002" in unc and "psb-00001" not in unc, "share filter: %r" % unc)
    psb = set(codes(all_entries(c, provider="psb")))
    check({"psb-00001", "psb-00002"} <= psb and "amr-00001" not in psb, "provider filter: %r" % psb)
    # keywords over item names and labels, not only the name
    eq(codes(all_entries(c, q="household_no")), ["psb-00001"], "search by an item name")
    check("nr-00002" in codes(all_entries(c, q="上级区划代码")), "search by an item label")
    check("hpf-00001" in codes(all_entries(c, q="公积金")), "search by name")
    eq(all_entries(c, q="没有这种资源zzz"), [], "no match")
    c.get("/api/v1/catalogue", params={"provider": "nodept"}).expect_error(400, "DEPT_NOT_FOUND", "provider")
    c.get("/api/v1/catalogue", params={"class": "other"}).expect_error(400, "FIELD_BAD_CHOICE", "class")
    doc = c.get("/api/v1/catalogue", params={"share": "conditional", "limit": 2}).expect(200).json()
    check(doc["total"] >= 6, "total counts every match, not the page: %r" % doc["total"])

    # the page: filters, counts, cursor link
    t = c.get("/share/catalogue").expect(200).text
    for want in ("政务信息资源目录", "人口基础信息", "全市行政区划代码表", "企业年报汇总", 'href="/share/catalogue/psb-00001"',
                 "/share/catalogue/export?format=xlsx"):
        check(want in t, "catalogue page lacks %r" % want)
    t = c.get("/share/catalogue?class=dept&limit=1").expect(200).text
    check("个人存款账户信息" in t or "住房公积金缴存信息" in t or "企业年报汇总" not in t, "department class page")
    m = re.search(r'href="(/share/catalogue\?after=\d+[^"]*)"', t)
    check(m, "no next-page link on a one-per-page list")
    nxt = m.group(1).replace("&amp;", "&")
    check("class=dept" in nxt and "limit=1" in nxt, "next link keeps the filters: %s" % nxt)
    c.get(nxt).expect(200)
    t = c.get("/share/catalogue?q=household_no").expect(200).text
    check("人口基础信息" in t and "企业年报汇总" not in t, "search page")
    # the share home links to the catalogue and registries; dept admin links only for admins
    home = c.get("/share").expect(200).text
    check('href="/share/catalogue"' in home and 'href="/share/registries"' in home, "share home links")
    check('href="/share/tokens"' not in home, "tokens link shown to plain staff")
    home = staff(srv, "li.amr").get("/share").expect(200).text
    check('href="/share/tokens"' in home and 'href="/share/catalogue/new"' in home, "admin links on the home page")
    check('href="/share/registries/new"' not in home, "registry creation offered to a dept admin")
    # citizens cannot browse the catalogue
    p = srv.client()
    p.login_as("chen")
    r = p.get("/api/v1/catalogue")
    check(r.status == 403, "citizen reads the catalogue: %s" % r.short())


def test_entry_page_and_request_link():
    srv = shared()
    t = staff(srv, "wang.mca").get("/share/catalogue/psb-00001").expect(200).text
    for want in ("人口基础信息", "公安局", "101001", "公民身份号码", "不予共享", "有条件共享", "实时",
                 'href="/share/requests/new?registry=population"', 'href="/share/registries/population"',
                 'href="/share/catalogue/amr-00001"'):
        check(want in t, "entry page lacks %r" % want)
    check("修改此条目" not in t, "edit link for another department's staff")
    t = staff(srv, "zhao.psb").get("/share/catalogue/psb-00001").expect(200).text
    check("修改此条目" in t, "no edit link for the provider's admin")
    check("/share/requests/new?registry=population" not in t, "request link for the provider itself")
    t = staff(srv, "wang.mca").get("/share/catalogue/nr-00002").expect(200).text
    check("/share/requests/new" not in t, "request link on an unconditional resource")
    check("文件下载" in t and "上级区划代码" in t, "file resource page")
    staff(srv, "wang.mca").get("/share/catalogue/nope-00009").expect(404)


# ------------------------------------------------------------------ edits

def audit_count(srv, action, obj):
    return int(srv.sql_value("SELECT COUNT(*) FROM audit_log WHERE action = ? AND object = ?", (action, obj)))


def test_edit_rights_and_bad_input():
    srv = shared()
    li, sun, zhang = staff(srv, "li.amr"), staff(srv, "sun.mca"), staff(srv, "zhang.amr")
    admin = srv.admin()
    body = entry_body()
    # plain staff and other departments' admins may not create for amr
    zhang.post_json("/api/v1/catalogue", body).expect(403)
    sun.post_json("/api/v1/catalogue", body).expect(403)
    r = li.post_json("/api/v1/catalogue", body).expect(201, "amr admin creates")
    e = r.json()
    check(re.fullmatch(r"amr-\d{5}", e["code"]), "generated code %r" % e["code"])
    eq((e["provider"]["code"], e["share"], e["share_methods"], e["version"]), ("amr", "conditional", ["file"], 1),
       "saved entry")
    eq([i["name"] for i in e["items"]], ["month", "count", "owner_id"], "stored items")
    eq(e["items"][2]["share_cond"], "仅用于核查", "item condition")
    code = e["code"]
    eq(audit_count(srv, "catalogue.create", "catalogue:" + code), 1, "create audited")

    upd = dict(body, name="测试报表（修订）", version=1)
    sun.put_json("/api/v1/catalogue/" + code, upd).expect(403)
    zhang.put_json("/api/v1/catalogue/" + code, upd).expect(403)
    e2 = li.put_json("/api/v1/catalogue/" + code, upd).expect(200).json()
    eq((e2["name"], e2["version"]), ("测试报表（修订）", 2), "updated by its admin")
    li.put_json("/api/v1/catalogue/" + code, upd).expect_error(409, "CAT_VERSION_CONFLICT")
    admin.put_json("/api/v1/catalogue/" + code, dict(upd, version=2, format="电子文件")).expect(200)
    eq(audit_count(srv, "catalogue.update", "catalogue:" + code), 2, "updates audited")

    # bad input names the field and changes nothing
    bad = [
        (dict(body, class_code="201001"), "CAT_BAD_CLASS_CODE", "class_code"),
        (dict(body, class_code="30x001"), "CAT_BAD_CLASS_CODE", "class_code"),
        (dict(body, items="a | 甲 | strng\n"), "CAT_ITEM_BAD_TYPE", "items"),
        (dict(body, items="Bad | 甲 | text\n"), "CAT_ITEM_BAD_NAME", "items"),
        (dict(body, items="a | 甲\n"), "CAT_BAD_ITEMS", "items"),
        (dict(body, items=""), "CAT_ITEMS_REQUIRED", "items"),
        (dict(body, share_cond=""), "CAT_COND_REQUIRED", "share_cond"),
        (dict(body, via_file=False), "CAT_METHOD_REQUIRED", "via_api"),
        (dict(body, related="amr-00001,zzz-99999"), "CAT_RELATED_UNKNOWN", "related"),
        (dict(body, provider="nodept"), "DEPT_NOT_FOUND", "provider"),
        (dict(body, code="Bad Code"), "CAT_BAD_CODE", "code"),
        (dict(body, code="psb-00001"), "CAT_CODE_TAKEN", "code"),
        (dict(body, registry="nosuchreg"), "CAT_NO_REGISTRY", "registry"),
        (dict(body, registry="population", provider=None), "CAT_REGISTRY_TAKEN", "registry"),
        (dict(body, released_on="2026/06/01"), None, "released_on"),
        (dict(body, update_cycle="偶尔"), "FIELD_BAD_CHOICE", "update_cycle"),
    ]
    before = int(srv.sql_value("SELECT COUNT(*) FROM share_catalogue"))
    for b, want_code, field in bad:
        b = {k: v for k, v in b.items() if v is not None}
        r = admin.post_json("/api/v1/catalogue", b)
        check(r.status == 400, "%s: expected 400, got %s" % (field, r.short()))
        err = r.json()["error"]
        eq(err.get("field"), field, "error field for %r" % want_code)
        if want_code:
            eq(err["code"], want_code, "error code for %s" % field)
    err = admin.post_json("/api/v1/catalogue", dict(body, items="ok | 好 | text\nbad | 坏 | strng\n")).json()["error"]
    check("第 2 行" in err.get("detail", ""), "items error names the line: %r" % err)
    eq(int(srv.sql_value("SELECT COUNT(*) FROM share_catalogue")), before, "bad input changed the catalogue")


def test_edit_pages():
    srv = shared()
    li, sun = staff(srv, "li.amr"), staff(srv, "sun.mca")
    e = li.post_json("/api/v1/catalogue", entry_body()).expect(201).json()
    code = e["code"]
    tok, r = li.form_csrf("/share/catalogue/%s/edit" % code)
    t = r.text
    check("month | 月份 | date" in t, "items as text in the form")
    check('name="version" value="1"' in t, "version in the form")
    sun.get("/share/catalogue/%s/edit" % code).expect(403)
    sun.get("/share/catalogue/new").expect(200)   # a dept admin may make entries for their own department
    staff(srv, "zhang.amr").get("/share/catalogue/new").expect(403)
    form = {"class": "dept", "class_code": "3", "name": "页面修改", "provider": "amr", "abstract": "摘要",
            "format": "电子表格", "items": "month | 月份 | date", "share": "unconditional", "via_api": "1",
            "update_cycle": "每月", "version": "1"}
    r = li.post_form("/share/catalogue/%s/edit" % code, form)
    eq(r.status, 400, "bad class code on the page")
    check("分类代码" in r.text and "field-has-error" in r.text and "页面修改" in r.text,
          "form again with the message by the field and the typed values")
    form["class_code"] = "301009"
    r = li.post_form("/share/catalogue/%s/edit" % code, form)
    eq(r.status, 303, "saved: " + r.short())
    check(r.header("Location").startswith("/share/catalogue/%s" % code), "redirect to the entry")
    t = li.get("/share/catalogue/%s?saved=1" % code).expect(200).text
    check("页面修改" in t and "301009" in t and "无条件共享" in t, "saved values shown")
    r = sun.post_form("/share/catalogue/%s/edit" % code, dict(form, version="2"))
    eq(r.status, 403, "another department's admin edits: " + r.short())
    # a new entry through the page, for a registry without an entry yet is covered in the registry tests
    r = li.post_form("/share/catalogue/new", dict(form, name="页面新建", version=""))
    eq(r.status, 303, "create through the page: " + r.short())


# ------------------------------------------------------------------ export

def test_export_three_formats():
    srv = shared()
    c = staff(srv, "wang.mca")
    total = len(all_entries(c))
    r = c.get("/share/catalogue/export?format=csv").expect(200)
    check(r.header("Content-Type").startswith("text/csv"), "CSV type")
    check("attachment" in (r.header("Content-Disposition") or ""), "CSV as a download")
    text = r.body.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    head = rows[0]
    for col in ("信息资源分类", "信息资源名称", "信息资源代码", "信息资源提供方", "提供方代码", "信息资源摘要", "信息资源格式",
                "信息项", "共享类型", "共享条件", "共享方式", "是否向社会开放", "开放条件", "更新周期", "发布日期", "关联资源代码"):
        check(col in head, "CSV header lacks %s" % col)
    eq(len(rows) - 1, total, "one CSV row per entry")
    byc = {row[head.index("信息资源代码")]: row for row in rows[1:]}
    p = byc["psb-00001"]
    eq(p[head.index("信息资源名称")], "人口基础信息", "name column")
    eq(p[head.index("提供方代码")], "psb", "provider code column")
    check("id_no(公民身份号码" in p[head.index("信息项")], "items column: %r" % p[head.index("信息项")])
    eq(byc["nr-00002"][head.index("是否向社会开放")], "是", "open column")

    doc = c.get("/api/v1/catalogue/export?format=json").expect(200).json()
    eq(doc["count"], total, "JSON count")
    eq(len(doc["items"]), total, "JSON items")
    check(any(i["code"] == "amr-00002" and i["share"] == "conditional" for i in doc["items"]), "JSON content")

    r = c.get("/share/catalogue/export?format=xlsx").expect(200)
    check("spreadsheetml" in r.header("Content-Type"), "XLSX type")
    z = zipfile.ZipFile(io.BytesIO(r.body))
    names = z.namelist()
    check("xl/workbook.xml" in names, "not a workbook: %r" % names)
    xml = "".join(z.read(n).decode("utf-8") for n in names if n.startswith("xl/") and n.endswith(".xml"))
    for want in ("信息资源名称", "人口基础信息", "全市行政区划代码表", "psb-00001", "101001"):
        check(want in xml, "XLSX lacks %r" % want)
    sheet = z.read("xl/worksheets/sheet1.xml").decode("utf-8")
    eq(len(re.findall(r"<row ", sheet)), total + 1, "XLSX rows")
    c.get("/share/catalogue/export?format=pdf").expect(400)
    c.get("/api/v1/catalogue/export?format=doc").expect_error(400, "FIELD_BAD_CHOICE", "format")
    json.dumps(doc)   # the JSON export is plain JSON
