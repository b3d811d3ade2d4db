"""Registry pages and API: definitions (create, alter, errors with the line), records for the owner
and for other departments (masked, limited, refused), filters and cursor pages, the yes/no exists
check, record writes with errors naming the field, history, the CLI."""
import re
import urllib.parse

from harness import check, eq, fresh_idcard, shared, uniq

_staff = {}


def staff(srv, login):
    key = (id(srv), srv.port, login)
    if key not in _staff:
        c = srv.client()
        c.login_as(login)
        _staff[key] = c
    return _staff[key]


def definition(code, extra="", share='conditional "测试用途，经市场监督管理局同意"'):
    return ("registry %s\n"
            "name 测试许可登记簿\n"
            "owner amr\n"
            "key lic_no\n"
            "subject holder_id\n"
            "share %s\n"
            "cycle 每日\n"
            "\n"
            "field lic_no      许可证号       text(20)   required source=amr share=unconditional\n"
            "field holder_id   持有人身份证号 idcard     required personal source=amr share=unconditional\n"
            "field holder_name 持有人姓名     text(20)   personal source=amr share=unconditional\n"
            "field amount      金额           decimal(2) source=amr\n"
            "field issued      发证日期       date       source=amr share=unconditional\n"
            "field kind        类别           enum(甲|乙) source=amr share=unconditional\n"
            "field contact     联系电话       phone      source=amr share=none:\"测试：联系电话不予共享\"\n"
            % (code, share)) + extra


_regs = {}


def my_registry(srv, purpose="main"):
    """A registry of amr with 12 records written by amr staff through the API (once per server)."""
    key = (id(srv), srv.port, purpose)
    if key in _regs:
        return _regs[key]
    code = "t" + uniq("")[:8]
    admin = srv.admin()
    r = admin.put_json("/api/v1/registries/" + code, {"definition": definition(code)})
    r.expect(201, "create registry")
    zhang = staff(srv, "zhang.amr")
    recs = []
    for i in range(12):
        rec = {"holder_id": fresh_idcard(birth="1980%02d%02d" % (1 + i % 12, 1 + i)), "holder_name": "张%s" % "一二三四五六七八九十壹贰"[i],
               "amount": "%d.%02d" % (100 * (i + 1), i), "issued": "2026-%02d-15" % (1 + i % 12),
               "kind": "甲" if i % 3 == 0 else "乙", "contact": "1380013%04d" % i}
        lic = "LIC-%04d" % i
        zhang.put_json("/api/v1/registries/%s/records/%s" % (code, lic), rec).expect(201, "insert %s" % lic)
        rec["lic_no"] = lic
        recs.append(rec)
    _regs[key] = (code, recs)
    return _regs[key]


# ------------------------------------------------------------------ list and definition

def test_list_and_definition_pages():
    srv = shared()
    c = staff(srv, "wang.mca")
    doc = c.get("/api/v1/registries").expect(200).json()
    byc = {x["code"]: x for x in doc["items"]}
    for code in ("population", "enterprise", "housing", "vehicle", "deposit", "pfund"):
        check(code in byc, "registry %s not listed" % code)
    check(byc["population"]["records"] > 0, "population has records")
    t = c.get("/share/registries").expect(200).text
    for want in ("人口基础信息库", "法人基础信息库", "公安局", "有条件共享", 'href="/share/registries/enterprise"'):
        check(want in t, "registry list lacks %r" % want)
    d = c.get("/api/v1/registries/enterprise").expect(200).json()
    f = {x["name"]: x for x in d["fields"]}
    eq(f["legal_rep_id"]["derived_from"], "population.id_no", "derived field")
    eq(f["name"]["source_dept"]["code"], "amr", "authoritative department")
    eq(f["status"]["share"], "unconditional", "field class")
    eq(d["catalogue"], "amr-00001", "catalogue entry of the registry")
    eq(d["owner"]["code"], "amr", "owner")
    t = c.get("/share/registries/enterprise").expect(200).text
    for want in ("派生自", "population.id_no", "市场监督管理局", "法定代表人身份证号", "无条件共享",
                 'href="/share/registries/enterprise/import"', 'href="/share/registries/enterprise/export"',
                 'href="/share/catalogue/amr-00001"', "已执行的结构变更", "CREATE TABLE"):
        check(want in t, "definition page lacks %r" % want)
    check("/share/registries/enterprise/definition" not in t, "edit link for plain staff of another department")
    t = staff(srv, "li.amr").get("/share/registries/enterprise").expect(200).text
    check("/share/registries/enterprise/definition" in t, "no edit link for the owner's dept admin")
    c.get("/share/registries/nosuch").expect(404)
    c.get("/api/v1/registries/nosuch").expect_error(404, "REGUI_NOT_FOUND")


# ------------------------------------------------------------------ definitions

def test_definition_errors_and_alter():
    srv = shared()
    admin, li, sun = srv.admin(), staff(srv, "li.amr"), staff(srv, "sun.mca")
    code, recs = my_registry(srv, "alter")
    url = "/api/v1/registries/" + code
    v1 = admin.get(url).expect(200).json()["version"]

    # a parse error names the line
    bad = definition(code).replace("decimal(2)", "strng")
    err = admin.put_json(url, {"definition": bad}).expect(400).json()["error"]
    eq(err["field"], "definition", "error field")
    line = bad.splitlines().index([l for l in bad.splitlines() if "strng" in l][0]) + 1
    eq(err.get("line"), line, "line of the error (%r)" % err)
    check("第 %d 行" % line in err["message"], "message names the line: %r" % err["message"])
    # another code than the address
    admin.put_json(url, {"definition": definition(code + "x")}).expect_error(400, "REGUI_CODE_MISMATCH", "definition")
    # an unknown department: 422
    r = admin.put_json(url, {"definition": definition(code).replace("owner amr", "owner nodept")})
    eq(r.status, 422, "unknown department: " + r.short())
    # losing data (removing a field with values): 409, nothing changed
    lossy = "\n".join(l for l in definition(code).splitlines() if "amount" not in l) + "\n"
    r = admin.put_json(url, {"definition": lossy})
    eq(r.status, 409, "field with values removed: " + r.short())
    eq(r.json()["error"]["code"], "REGDEF_DROP_HAS_VALUES", "data-loss code")
    eq(admin.get(url).json()["version"], v1, "a refused change changed the version")
    # who may: not another department's admin, not a dept admin creating a new registry
    sun.put_json(url, {"definition": definition(code)}).expect(403)
    new = "t" + uniq("")[:8]
    li.put_json("/api/v1/registries/" + new, {"definition": definition(new)}).expect(403)
    staff(srv, "zhang.amr").put_json(url, {"definition": definition(code)}).expect(403)

    # a successful alter by the owner's dept admin: the new field appears everywhere
    added = definition(code, "field remark 备注 text(50) source=amr share=unconditional\n")
    d = li.put_json(url, {"definition": added, "version": v1}).expect(200).json()
    eq(d["version"], v1 + 1, "version after the alter")
    check("remark" in [f["name"] for f in d["fields"]], "new field in the definition")
    li.put_json(url, {"definition": added, "version": v1}).expect_error(409, "REGUI_VERSION_CONFLICT")
    zhang = staff(srv, "zhang.amr")
    zhang.put_json("%s/records/LIC-0000" % url, dict({k: v for k, v in recs[0].items() if k != "lic_no"},
                                                     remark="补记")).expect(200)
    eq(zhang.get("%s/records/LIC-0000" % url).expect(200).json()["remark"], "补记", "value of the new field")
    t = srv.admin().get("/share/registries/%s" % code).expect(200).text
    check("备注" in t and "ALTER TABLE" in t, "definition page shows the field and the migration")
    # the registry's catalogue entry follows the definition
    cat = li.post_json("/api/v1/catalogue", {"registry": code, "class": "dept", "class_code": "302009",
                                             "name": "测试许可信息", "abstract": "测试", "format": "数据库",
                                             "via_api": True, "update_cycle": "每日"}).expect(201).json()
    eq((cat["provider"]["code"], cat["share"]), ("amr", "conditional"), "provider and class from the registry")
    check("remark" in [i["name"] for i in cat["items"]], "catalogue items from the registry")
    more = added + "field note2 附注 text(50) source=amr\n"
    li.put_json(url, {"definition": more}).expect(200)
    got = li.get("/api/v1/catalogue", params={"q": "note2"}).expect(200).json()
    eq([i["code"] for i in got["items"]], [cat["code"]], "catalogue search finds an item added later")


def test_definition_pages():
    srv = shared()
    code, _ = my_registry(srv, "pages")
    li = staff(srv, "li.amr")
    tok, r = li.form_csrf("/share/registries/%s/definition" % code)
    check("registry %s" % code in r.text and "<textarea" in r.text, "definition in a textarea")
    m = re.search(r'name="version" value="(\d+)"', r.text)
    check(m, "version in the form")
    staff(srv, "sun.mca").get("/share/registries/%s/definition" % code).expect(403)
    text = li.get("/api/v1/registries/" + code).json()   # current definition's fields
    check(text["fields"], "fields")
    cur = re.search(r"<textarea[^>]*>(.*?)</textarea>", r.text, re.S).group(1)
    import html as htmlmod
    cur = htmlmod.unescape(cur)
    bad = cur + "field oops 错误 text(5) source=amr flavour\n"
    r = li.post_form("/share/registries/%s/definition" % code, {"definition": bad, "version": m.group(1)})
    eq(r.status, 400, "bad definition on the page")
    n = len(bad.rstrip("\n").splitlines())
    check("第 %d 行" % n in r.text and "field-has-error" in r.text, "error by the textarea with its line")
    check("flavour" in r.text, "the text typed is given back")
    good = cur + "field extra_p 页面字段 text(10) source=amr\n"
    r = li.post_form("/share/registries/%s/definition" % code, {"definition": good, "version": m.group(1)})
    eq(r.status, 303, "applied through the page: " + r.short())
    check("页面字段" in li.get("/share/registries/%s" % code).expect(200).text, "new field on the page")
    # creating through the page: platform admins only
    li.get("/share/registries/new").expect(403)
    new = "t" + uniq("")[:8]
    tok, r = srv.admin().form_csrf("/share/registries/new")
    r = srv.admin().post_form("/share/registries/new", {"definition": definition(new)})
    eq(r.status, 303, "created through the page: " + r.short())
    eq(r.header("Location"), "/share/registries/%s?saved=1" % new, "redirect")
    r = srv.admin().post_form("/share/registries/new", {"definition": definition(new)})
    eq(r.status, 409, "creating an existing registry")


# ------------------------------------------------------------------ records

def test_record_writes_name_the_field():
    srv = shared()
    code, recs = my_registry(srv)
    zhang = staff(srv, "zhang.amr")
    url = "/api/v1/registries/%s/records/" % code
    good = {k: v for k, v in recs[1].items() if k != "lic_no"}
    cases = [
        (dict(good, holder_id="110101199003070000"), "holder_id"),
        (dict(good, amount="12.345"), "amount"),
        (dict(good, amount="1,234.00"), "amount"),
        (dict(good, issued="2026/01/15"), "issued"),
        (dict(good, kind="丙"), "kind"),
        (dict(good, contact="12345"), "contact"),
        (dict(good, nosuch="x"), "nosuch"),
        (dict(good, lic_no="LIC-9999"), "lic_no"),
    ]
    for body, field in cases:
        r = zhang.put_json(url + "LIC-0001", body)
        check(r.status == 400, "%s: expected 400, got %s" % (field, r.short()))
        eq(r.json()["error"].get("field"), field, "error field")
    r = zhang.put_json(url + "NEW-0001", {"holder_name": "缺身份证"})
    eq(r.status, 400, "missing required field")
    eq(r.json()["error"]["field"], "holder_id", "required field named")
    staff(srv, "wang.mca").put_json(url + "LIC-0001", good).expect_error(403, "REGUI_NOT_OWNER")
    srv.admin().put_json(url + "LIC-0001", good).expect(403)
    eq(zhang.get(url + "LIC-0001").json()["amount"], recs[1]["amount"], "refused writes changed nothing")
    # an update writes history
    r = zhang.put_json(url + "LIC-0001", dict(good, amount="999.50")).expect(200)
    eq(r.json()["amount"], "999.50", "updated value")
    h = zhang.get(url + "LIC-0001/history").expect(200).json()
    check(h["changes"], "no history after an update")
    last = h["changes"][0]
    eq(last["changes"]["amount"], {"old": recs[1]["amount"], "new": "999.50"}, "old and new value")
    check(last["source"].startswith("api:"), "source api:<request id>: %r" % last["source"])
    eq(last["by"], "zhang.amr", "who")
    t = zhang.get("/share/registries/%s/records/LIC-0001" % code).expect(200).text
    check("变更记录" in t and "999.50" in t and recs[1]["amount"] in t and "金额" in t, "history on the record page")
    # delete: owner only; history keeps it
    zhang.put_json(url + "DEL-0001", dict(good, holder_id=fresh_idcard())).expect(201)
    staff(srv, "wang.mca").delete(url + "DEL-0001").expect(403)
    zhang.delete(url + "DEL-0001").expect(200)
    zhang.get(url + "DEL-0001").expect(404)
    zhang.delete(url + "DEL-0001").expect(404)


def test_filters_and_pagination():
    srv = shared()
    code, recs = my_registry(srv)
    zhang = staff(srv, "zhang.amr")
    url = "/api/v1/registries/%s/records" % code

    def all_pages(params):
        out, after = [], None
        for _ in range(50):
            p = dict(params, limit=5)
            if after is not None:
                p["after"] = after
            doc = zhang.get(url, params=p).expect(200).json()
            check(len(doc["items"]) <= 5, "page over the limit")
            out += doc["items"]
            after = doc["next"]
            if after is None:
                return out
        raise AssertionError("cursor never ended")

    base = {r["lic_no"] for r in recs}
    got = [r["lic_no"] for r in all_pages({}) if r["lic_no"] in base]
    eq(sorted(got), sorted(base), "every record once across pages")
    eq(len(got), len(set(got)), "no record twice")
    kinds = [r["lic_no"] for r in all_pages({"f.kind": "甲"})]
    eq(sorted(kinds), sorted(r["lic_no"] for r in recs if r["kind"] == "甲" and r["lic_no"] in base), "equality filter")
    rng = [r["issued"] for r in all_pages({"f.issued.gte": "2026-03-01", "f.issued.lte": "2026-05-31"})]
    check(rng and all("2026-03-01" <= d <= "2026-05-31" for d in rng), "date range: %r" % rng)
    amt = [r["amount"] for r in all_pages({"f.amount.gte": "1000.00"})]
    check(amt and all(float(a) >= 1000 for a in amt), "decimal range: %r" % amt)
    pre = [r["lic_no"] for r in all_pages({"f.lic_no.prefix": "LIC-001"})]
    eq(sorted(pre), ["LIC-0010", "LIC-0011"], "prefix filter")
    one = recs[4]
    eq([r["lic_no"] for r in all_pages({"f.holder_id": one["holder_id"]})], ["LIC-0004"], "filter by an idcard")
    zhang.get(url, params={"f.issued": "2026/03/01"}).expect(400)
    eq(zhang.get(url, params={"f.issued": "2026/03/01"}).json()["error"]["field"], "f.issued", "bad value named")
    eq(zhang.get(url, params={"f.nosuch": "1"}).json()["error"]["field"], "f.nosuch", "unknown filter named")
    zhang.get(url, params={"f.kind.gte": "甲"}).expect(400)
    zhang.get(url, params={"limit": "0"}).expect(400)
    # the page: filters, rows, next link carrying the filters
    t = zhang.get("/share/registries/%s/records?f.kind=%s&limit=2" % (code, urllib.parse.quote("乙"))).expect(200).text
    check("LIC-0001" in t and "LIC-0000" not in t, "filtered page rows")
    m = re.search(r'href="(/share/registries/%s/records\?after=\d+[^"]*)"' % code, t)
    check(m, "next link on the records page")
    nxt = m.group(1).replace("&amp;", "&")
    check("f.kind=" in nxt and "limit=2" in nxt, "next link keeps the filters: %s" % nxt)
    t2 = zhang.get(nxt).expect(200).text
    check("LIC-0001" not in t2 and ("LIC-0002" in t2 or "LIC-0004" in t2), "second page")
    check(one["holder_id"] in zhang.get("/share/registries/%s/records" % code).text, "owner sees identifiers whole")


def test_owner_vs_other_departments():
    srv = shared()
    code, recs = my_registry(srv)
    wang, zhao = staff(srv, "wang.mca"), staff(srv, "zhao.psb")
    mca = int(srv.sql_value("SELECT id FROM departments WHERE code = 'mca'"))
    url = "/api/v1/registries/%s/records" % code
    before = int(srv.sql_value("SELECT COUNT(*) FROM reg_access WHERE registry = ? AND dept_id = ?", (code, mca)))
    audits = int(srv.sql_value("SELECT COUNT(*) FROM audit_log WHERE action = 'registry.read' AND object = ?",
                               ("registry:" + code,)))
    doc = wang.get(url, params={"limit": 4}).expect(200).json()
    eq(len(doc["items"]), 4, "a page for another department")
    eq(doc["basis"], "unconditional", "basis")
    for rec in doc["items"]:
        eq(set(rec), {"lic_no", "holder_id", "holder_name", "issued", "kind"}, "only the unconditional fields")
        check("*" in rec["holder_id"] and rec["holder_id"] not in {r["holder_id"] for r in recs},
              "identifier masked: %r" % rec["holder_id"])
        check(rec["holder_name"].endswith("*"), "name masked: %r" % rec["holder_name"])
    after = int(srv.sql_value("SELECT COUNT(*) FROM reg_access WHERE registry = ? AND dept_id = ?", (code, mca)))
    eq(after - before, 4, "one access record per subject read")
    eq(int(srv.sql_value("SELECT COUNT(*) FROM reg_access WHERE registry = ? AND dept_id = ? AND subject_hash IS NULL",
                         (code, mca))), 0, "access records name their subject")
    eq(int(srv.sql_value("SELECT COUNT(*) FROM audit_log WHERE action = 'registry.read' AND object = ?",
                         ("registry:" + code,))), audits + 1, "the page read audited")
    # filtering by what one sees masked or not at all is refused; by what one sees whole is fine
    wang.get(url, params={"f.holder_id": recs[0]["holder_id"]}).expect_error(403, "REGUI_FIELD_HIDDEN", "f.holder_id")
    wang.get(url, params={"f.amount.gte": "1.00"}).expect_error(403, "REGUI_FIELD_HIDDEN", "f.amount.gte")
    wang.get(url, params={"f.contact": "13800130000"}).expect_error(403, "REGUI_FIELD_HIDDEN", "f.contact")
    eq(len(wang.get(url, params={"f.kind": "甲", "limit": 50}).expect(200).json()["items"]),
       len([r for r in recs if r["kind"] == "甲"]), "filter on a visible field")
    rec = wang.get(url + "/LIC-0003").expect(200).json()
    check("amount" not in rec and "contact" not in rec and "*" in rec["holder_id"], "one record, limited and masked")
    t = wang.get("/share/registries/%s/records" % code).expect(200).text
    check("个人信息已遮蔽显示" in t and "金额" not in t and "联系电话" not in t, "records page for another department")
    check(recs[0]["holder_id"] not in t, "whole identifier on another department's page")
    check("/share/requests/new?registry=%s" % code in t, "request link for the conditional fields")
    # the owner: everything, whole
    own = staff(srv, "zhang.amr").get(url + "/LIC-0003").expect(200).json()
    eq(own["holder_id"], recs[3]["holder_id"], "owner sees the identifier whole")
    eq(own["contact"], recs[3]["contact"], "owner sees 不予共享 fields")

    # a registry all conditional: refused, with the reason and a link to request access
    zhang = staff(srv, "zhang.amr")
    zhang.get("/api/v1/registries/population/records").expect_error(403, "SHARE_NO_GRANT")
    r = zhang.get("/share/registries/population/records")
    eq(r.status, 403, "population page for amr (no grant)")
    check("/share/requests/new?registry=population" in r.text and "共享授权" in r.text, "reason and request link")
    zhang.get("/api/v1/registries/population/records/440106199005171236").expect(403)
    # with the demo grant (民政局: name, address, household_no) exactly the granted fields, whole
    doc = wang.get("/api/v1/registries/population/records", params={"limit": 3}).expect(200).json()
    check(doc["basis"].startswith("grant:"), "basis of mca's read: %r" % doc["basis"])
    for x in doc["items"]:
        eq(set(x), {"name", "address", "household_no"}, "granted fields only")
        check("*" not in x["name"], "granted fields unmasked: %r" % x["name"])
    eq(int(srv.sql_value("SELECT COUNT(*) FROM reg_access WHERE registry = 'population' AND dept_id = ? "
                         "AND basis = ? AND purpose = '最低生活保障审核'", (mca, doc["basis"]))), 3,
       "reads under the grant logged with its purpose")
    wang.get("/api/v1/registries/population/records/440106199005171236").expect_error(403, "REGUI_KEY_HIDDEN")
    own = zhao.get("/api/v1/registries/population/records", params={"limit": 2}).expect(200).json()
    check(all("*" not in x["id_no"] and "phone" in x for x in own["items"]), "psb sees population whole")
    # a 不予共享 registry: refused without a request link
    none = "t" + uniq("")[:8]
    srv.admin().put_json("/api/v1/registries/" + none, {"definition": definition(
        none, share='none "《测试条例》第三条"').replace(" share=unconditional", "").replace(
        ' share=none:"测试：联系电话不予共享"', "")}).expect(201)
    r = wang.get("/share/registries/%s/records" % none)
    eq(r.status, 403, "不予共享 registry")
    check("不予共享" in r.text and "/share/requests/new" not in r.text, "no request link for 不予共享")


def test_exists_answers_only_yes_or_no():
    srv = shared()
    code, recs = my_registry(srv)
    wang = staff(srv, "wang.mca")
    mca = int(srv.sql_value("SELECT id FROM departments WHERE code = 'mca'"))
    url = "/api/v1/registries/%s/exists" % code
    before = int(srv.sql_value("SELECT COUNT(*) FROM reg_access WHERE registry = ? AND dept_id = ? AND basis = 'exists'",
                               (code, mca)))
    doc = wang.get(url, params={"field": "holder_id", "value": recs[2]["holder_id"]}).expect(200).json()
    eq(doc, {"exists": True}, "a known subject")
    doc = wang.get(url, params={"field": "holder_id", "value": fresh_idcard(birth="19500101")}).expect(200).json()
    eq(doc, {"exists": False}, "an unknown subject")
    eq(wang.get(url, params={"field": "lic_no", "value": "LIC-0005"}).json(), {"exists": True}, "by key")
    eq(int(srv.sql_value("SELECT COUNT(*) FROM reg_access WHERE registry = ? AND dept_id = ? AND basis = 'exists'",
                         (code, mca))) - before, 3, "every check logged")
    wang.get(url, params={"field": "holder_id", "value": "110101199003070000"}).expect(400)
    wang.get(url, params={"field": "contact", "value": recs[0]["contact"]}).expect(403)
    wang.get(url, params={"field": "nosuch", "value": "x"}).expect_error(400, "REG_UNKNOWN_FIELD", "field")
    wang.get(url, params={"field": "holder_id"}).expect(400)
    # by a field this department cannot read at all: still only yes or no
    eq(wang.get(url, params={"field": "amount", "value": recs[0]["amount"]}).json(), {"exists": True}, "amount")
    t = wang.get("/share/registries/%s/exists?field=lic_no&value=LIC-0007" % code).expect(200).text
    check("核验结果" in t and ">有<" in t, "page answers 有")
    t = wang.get("/share/registries/%s/exists?field=lic_no&value=NONE-1" % code).expect(200).text
    check(">无<" in t, "page answers 无")
    check(recs[7]["holder_name"] not in t, "the page reveals nothing else")


def test_cli_registry():
    srv = shared()
    rc, out, err = srv.cli("registry", "--help")
    eq(rc, 0, "registry --help: " + err)
    check("apply FILE" in out and "show CODE" in out, "usage text")
    rc, out, err = srv.cli("registry", "list")
    eq(rc, 0, "registry list: " + err)
    check("population" in out and "人口基础信息库" in out, "list output: %r" % out[:300])
    rc, out, err = srv.cli("registry", "show", "enterprise")
    eq(rc, 0, "registry show: " + err)
    check(out.startswith("#") or "registry enterprise" in out, "definition text")
    check("derived=population.id_no" in out, "show prints the definition")
    import os
    path = os.path.join(srv.dir, "cli.reg")
    code = "t" + uniq("")[:8]
    with open(path, "w", encoding="utf-8") as f:
        f.write(definition(code))
    rc, out, err = srv.cli("registry", "apply", path)
    eq(rc, 0, "registry apply: " + err)
    check(code in out, "apply output: %r" % out)
    staff(srv, "zhang.amr").get("/api/v1/registries/" + code).expect(200)
    with open(path, "w", encoding="utf-8") as f:
        f.write(definition(code).replace("text(20)", "txt(20)"))
    rc, out, err = srv.cli("registry", "apply", path)
    eq(rc, 1, "bad definition through the CLI")
    check("第" in err and "行" in err, "CLI error names the line: %r" % err)
    rc, out, err = srv.cli("registry", "frobnicate")
    eq(rc, 2, "unknown subcommand")
