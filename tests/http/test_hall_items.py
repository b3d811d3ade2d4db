"""The service-item catalogue (事项目录): public pages and API, department admins' pages and API."""
import html
import re
import urllib.parse

from harness import check, eq, shared, uniq


def dept_id(srv, code):
    return int(srv.sql_value("SELECT id FROM departments WHERE code = ?", (code,)))


def item_id(srv, code):
    return int(srv.sql_value("SELECT id FROM hall_items WHERE code = ?", (code,)))


def item_body(code, dept, **kw):
    """An item as the API and the admin form take it (lists as text)."""
    d = {
        "code": code, "name": "测试事项" + code[-6:], "dept_id": dept, "kind": "行政许可",
        "audience": "enterprise", "statutory_days": 20, "promised_days": 10, "depth": 4, "visits": 0,
        "process": "hall.standard",
        "materials": "申请书 | 必需 | 法定代表人签字\n营业执照 | 可选 | 可通过信息共享核验的免于提交\n",
        "form": "company_name | 企业名称 | text | 必填 | 50\nuscc | 统一社会信用代码 | uscc | 必填\n",
        "specials": "inspection | 现场核查 | 不计时\n", "fees": "", "themes": "测试主题", "life_events": "开办企业",
        "conditions": "条件一\n条件二", "legal_basis": "《示范条例》第三条", "result_name": "许可证",
        "status": "published",
    }
    d.update(kw)
    return d


def form_fields(body):
    return {k: str(v) for k, v in body.items()}


def codes_of(doc):
    return [i["code"] for i in doc["items"]]


_staff = {}


def admin_client(srv, login="li.amr"):
    """A signed-in staff client, kept per server: each staff sign-in needs a fresh TOTP step."""
    key = (id(srv), srv.port, login)
    if key not in _staff:
        c = srv.client()
        c.login_as(login)
        _staff[key] = c
    return _staff[key]


# ------------------------------------------------------------------ public

def test_catalogue_lists_demo_items():
    srv = shared()
    c = srv.client()
    r = c.get("/hall").expect(200, "GET /hall")
    t = r.text
    for want in ("企业设立登记", "市场监督管理局", "承诺 3 个工作日", "最多跑 0 次", "全程网办、结果送达",
                 "居民身份证换领", "最低生活保障申请", "失业保险金申领", "建筑工程施工许可", "发票领用",
                 "义务教育入学登记", "医疗机构执业登记", 'href="/hall/items/amr-qysl"'):
        check(want in t, "catalogue page lacks %r" % want)
    check("食品经营许可" not in t, "a draft item is listed publicly")
    # the header links to the hall for everyone
    check('<a href="/hall">网上办事</a>' in t, "no 网上办事 in the header")

    doc = c.get("/api/v1/hall/items", params={"limit": 100}).expect(200).json()
    byc = {i["code"]: i for i in doc["items"]}
    check("amr-spjy" not in byc, "draft in the public API")
    q = byc.get("amr-qysl")
    check(q is not None, "企业设立登记 not in the API list: %r" % list(byc))
    eq(q["name"], "企业设立登记", "name")
    eq(q["dept_name"], "市场监督管理局", "department")
    eq(q["kind"], "行政许可", "kind")
    eq(q["audience"], "enterprise", "audience")
    eq((q["statutory_days"], q["promised_days"]), (15, 3), "limits")
    eq((q["depth"], q["visits"]), (5, 0), "depth and visits")
    eq(q["process"], "hall.standard", "process")
    eq(q["result_name"], "营业执照", "result")
    eq([m["name"] for m in q["materials"]],
       ["公司登记（备案）申请书", "公司章程", "股东主体资格证明", "法定代表人任职文件及身份证件", "住所使用证明"],
       "materials")
    check(all(m["required"] for m in q["materials"]), "every 企业设立登记 material is required")
    eq([(f["name"], f["type"], f["required"], f.get("max")) for f in q["form"]],
       [("company_name", "text", True, 50), ("legal_rep", "text", True, 20), ("legal_rep_id", "idcard", True, None),
        ("reg_capital", "int", True, 100000000), ("business_scope", "textarea", True, 2000),
        ("address", "text", True, 100)], "form")
    check("企业开办" in q["themes"] and q["life_events"] == "开办企业", "themes %r / %r" % (q["themes"], q["life_events"]))
    # other departments' items are real ones
    eq(byc["psb-sfzhl"]["depth"], 3, "居民身份证换领 depth")
    eq(byc["psb-sfzhl"]["visits"], 1, "居民身份证换领 visits")
    eq(byc["hrss-syj"]["depth"], 5, "失业保险金申领 depth")
    eq(byc["tax-fply"]["process"], "hall.simple", "发票领用 process")
    eq([(s["state"], s["title"], s["counts"]) for s in byc["mca-dbsq"]["special_steps"]],
       [("inspection", "入户调查", False)], "低保 special steps")
    eq(sorted((s["state"], s["counts"]) for s in byc["housing-sgxk"]["special_steps"]),
       [("expert_review", False), ("hearing", False)], "施工许可 special steps")
    check(len({i["dept_id"] for i in doc["items"]}) >= 7, "items across departments")


def test_catalogue_filters_and_search():
    srv = shared()
    c = srv.client()
    # Chinese search words, in the page and the API
    r = c.get("/hall?q=" + urllib.parse.quote("登记")).expect(200, "search 登记")
    for want in ("企业设立登记", "结婚登记", "义务教育入学登记", "医疗机构执业登记"):
        check(want in r.text, "search 登记 lacks %s" % want)
    for not_want in ("发票领用", "失业保险金申领"):
        check(not_want not in r.text, "search 登记 shows %s" % not_want)
    check('value="登记"' in r.text, "the search box keeps the words")
    doc = c.get("/api/v1/hall/items", params={"q": "身份证"}).expect(200).json()
    check("psb-sfzhl" in codes_of(doc), "search 身份证: %r" % codes_of(doc))
    check("amr-qysl" not in codes_of(doc), "search 身份证 finds 企业设立登记")
    # what the applicant gets matches too
    doc = c.get("/api/v1/hall/items", params={"q": "营业执照"}).expect(200).json()
    check("amr-qysl" in codes_of(doc), "search 营业执照: %r" % codes_of(doc))
    # department name matches too
    doc = c.get("/api/v1/hall/items", params={"q": "民政", "limit": 100}).expect(200).json()
    check({"mca-dbsq", "mca-jhdj"} <= set(codes_of(doc)), "search 民政: %r" % codes_of(doc))
    # by department
    mca = dept_id(srv, "mca")
    doc = c.get("/api/v1/hall/items", params={"dept": mca, "limit": 100}).expect(200).json()
    check(doc["items"] and all(i["dept_id"] == mca for i in doc["items"]), "dept filter: %r" % codes_of(doc))
    r = c.get("/hall?dept=%d" % mca).expect(200)
    check("最低生活保障申请" in r.text and "企业设立登记" not in r.text, "dept filter on the page")
    check('<option value="%d" selected>' % mca in r.text, "the department stays selected")
    # by theme or life event
    doc = c.get("/api/v1/hall/items", params={"theme": "开办企业", "limit": 100}).expect(200).json()
    check({"amr-qysl", "health-ylzy"} <= set(codes_of(doc)), "life event 开办企业: %r" % codes_of(doc))
    check("psb-sfzhl" not in codes_of(doc), "life event filter lets 身份证 through")
    r = c.get("/hall?theme=" + urllib.parse.quote("企业开办")).expect(200)
    check("企业设立登记" in r.text and "结婚登记" not in r.text, "theme filter on the page")
    check('<option value="企业开办" selected>' in r.text, "the theme stays selected")
    # by audience: 个人 items only (and items for both)
    doc = c.get("/api/v1/hall/items", params={"audience": "person", "limit": 100}).expect(200).json()
    check(doc["items"] and all(i["audience"] in ("person", "both") for i in doc["items"]), "audience filter")
    check("amr-qysl" not in codes_of(doc), "法人 item among 个人 items")
    r = c.get("/hall?audience=enterprise").expect(200)
    check("企业设立登记" in r.text and "居民身份证换领" not in r.text, "audience filter on the page")
    # nothing found
    r = c.get("/hall?q=" + urllib.parse.quote("不存在的事项名称")).expect(200)
    check("没有找到符合条件的事项" in r.text, "empty result message")
    # filters are checked at the edge
    c.get("/api/v1/hall/items", params={"audience": "alien"}).expect_error(400, "FIELD_BAD_CHOICE", "audience")
    c.get("/api/v1/hall/items", params={"limit": 0}).expect_error(400, "FIELD_OUT_OF_RANGE", "limit")
    c.get("/api/v1/hall/items", params={"nope": 1}).expect_error(400, "FIELD_UNKNOWN", "nope")
    c.get("/hall?audience=alien").expect(400, "bad filter on the page")


def test_catalogue_pagination():
    srv = shared()
    c = srv.client()
    total = c.get("/api/v1/hall/items", params={"limit": 100}).expect(200).json()["total"]
    check(total >= 9, "at least the 9 published demo items, got %d" % total)
    seen, after, pages = [], 0, 0
    while True:
        params = {"limit": 4}
        if after:
            params["after"] = after
        doc = c.get("/api/v1/hall/items", params=params).expect(200).json()
        check(len(doc["items"]) <= 4, "page larger than limit")
        seen += codes_of(doc)
        pages += 1
        if doc["next"] is None:
            break
        eq(doc["next"], doc["items"][-1]["id"], "cursor is the last id of the page")
        after = doc["next"]
        check(pages < 50, "pagination does not end")
    eq(len(seen), total, "items over all pages")
    eq(len(set(seen)), len(seen), "no item twice")
    # the page has a next link that keeps the filters
    r = c.get("/hall?limit=3&audience=person").expect(200)
    m = re.search(r'<a class="pagination-next" href="([^"]+)"', r.text)
    check(m, "no 下一页 link on /hall?limit=3")
    href = html.unescape(m.group(1))
    check("after=" in href and "audience=person" in href and "limit=3" in href, "next href %r" % href)
    r2 = c.get(href).expect(200, "GET " + href)
    first = re.findall(r'href="/hall/items/([a-z0-9-]+)"', r.text)
    second = re.findall(r'href="/hall/items/([a-z0-9-]+)"', r2.text)
    check(second and not set(first) & set(second), "second page repeats the first: %r %r" % (first, second))


def test_guide_page():
    srv = shared()
    c = srv.client()
    r = c.get("/hall/items/amr-qysl").expect(200, "guide page")
    t = r.text
    for want in ("企业设立登记", "市场监督管理局", "公司登记（备案）申请书", "公司章程", "股东主体资格证明",
                 "法定代表人任职文件及身份证件", "住所使用证明", "必需", "法定办结时限", "承诺办结时限",
                 "企业名称", "注册资本（万元）", "身份证号", "营业执照", "全程网办、结果送达", "零跑动",
                 "《中华人民共和国市场主体登记管理条例》第十九条", "不收费"):
        check(want in t, "guide page lacks %r" % want)
    check(re.search(r"<strong>15</strong>\s*个工作日", t) and re.search(r"<strong>3</strong>\s*个工作日", t),
          "statutory 15 and promised 3 working days side by side")
    # anonymous: sign in as a 法人 first
    check("请以<strong>法人账号</strong>登录" in t, "the guide does not say which account applies")
    check('href="/login?next=/hall/items/amr-qysl"' in t, "no sign-in link back to the guide")
    check("/hall/items/amr-qysl/apply" not in t, "apply link shown to an anonymous visitor")
    # special steps with whether they count
    t = c.get("/hall/items/mca-dbsq").expect(200).text
    check("入户调查" in t and "不计时" in t, "低保: special step 入户调查 不计时")
    t = c.get("/hall/items/housing-sgxk").expect(200).text
    check("专家评审" in t and "听证" in t, "施工许可: special steps")
    # depth below 3: at the hall
    t = c.get("/hall/items/mca-jhdj").expect(200).text
    check("本事项需到政务服务大厅办理" in t, "结婚登记 (depth 2) must say it is done at the hall")
    check("/apply" not in t, "apply link on a depth-2 item")
    c.get("/hall/items/no-such-item").expect(404, "unknown item")
    c.get("/api/v1/hall/items/no-such-item").expect_error(404, "HALL_ITEM_NOT_FOUND")
    doc = c.get("/api/v1/hall/items/amr-qysl").expect(200).json()
    eq(doc["code"], "amr-qysl", "API item by code")


def test_guide_apply_button_by_account_kind():
    srv = shared()
    chen = srv.client()
    chen.login_as("chen")
    t = chen.get("/hall/items/psb-sfzhl").expect(200).text
    check('href="/hall/items/psb-sfzhl/apply"' in t and "在线申请" in t, "citizen: apply on a 个人 item")
    t = chen.get("/hall/items/amr-qysl").expect(200).text
    check("/hall/items/amr-qysl/apply" not in t, "citizen: apply on a 法人 item")
    check("须由<strong>法人</strong>申请" in t, "citizen is told the item is for 法人")
    t = chen.get("/hall/items/mca-jhdj").expect(200).text
    check("本事项需到政务服务大厅办理" in t and "/apply" not in t, "depth 2 for a citizen")
    ent = srv.client()
    ent.login_as("huaxin")
    t = ent.get("/hall/items/amr-qysl").expect(200).text
    check('href="/hall/items/amr-qysl/apply"' in t, "enterprise: apply on a 法人 item")
    t = ent.get("/hall/items/psb-sfzhl").expect(200).text
    check("/apply" not in t and "须由<strong>个人</strong>申请" in t, "enterprise on a 个人 item")
    staff = admin_client(srv, "wang.mca")
    t = staff.get("/hall/items/mca-dbsq").expect(200).text
    check("/apply" not in t, "staff cannot apply")


def test_draft_not_public():
    srv = shared()
    anon = srv.client()
    anon.get("/hall/items/amr-spjy").expect(404, "draft guide, anonymous")
    anon.get("/api/v1/hall/items/amr-spjy").expect_error(404, "HALL_ITEM_NOT_FOUND")
    chen = srv.client()
    chen.login_as("chen")
    chen.get("/hall/items/amr-spjy").expect(404, "draft guide, citizen")
    wang = admin_client(srv, "wang.mca")
    wang.get("/hall/items/amr-spjy").expect(404, "draft guide, staff of another department")
    doc = anon.get("/api/v1/hall/items", params={"q": "食品经营", "limit": 100}).expect(200).json()
    eq(codes_of(doc), [], "draft found by search")
    # its department's admin previews it
    li = admin_client(srv)
    t = li.get("/hall/items/amr-spjy").expect(200, "draft guide, its dept admin").text
    check("预览" in t and "食品经营许可" in t, "preview notice")
    eq(li.get("/api/v1/hall/items/amr-spjy").expect(200).json()["status"], "draft", "draft via API for its admin")


# ------------------------------------------------------------------ department admins

def test_admin_list_and_shortcut():
    srv = shared()
    li = admin_client(srv)
    t = li.get("/desk").expect(200).text
    check('href="/admin/hall/items"' in t and "事项管理" in t, "事项管理 shortcut on the admin desk")
    t = li.get("/admin/hall/items").expect(200, "admin list").text
    check("企业设立登记" in t and "食品经营许可" in t and "草稿" in t, "own items of any status")
    check("最低生活保障申请" not in t, "another department's item in li.amr's list")
    li.get("/admin/hall/items?dept=%d" % dept_id(srv, "mca")).expect(403, "li.amr lists 民政局")
    admin = srv.admin()
    t = admin.get("/admin/hall/items").expect(200).text
    check("最低生活保障申请" in t and "食品经营许可" in t, "platform admin sees every department")
    t = admin.get("/admin/hall/items?dept=%d" % dept_id(srv, "mca")).expect(200).text
    check("最低生活保障申请" in t and "企业设立登记" not in t, "platform admin filters by department")


def test_dept_admin_creates_and_edits_by_page():
    srv = shared()
    amr = dept_id(srv, "amr")
    li = admin_client(srv)
    tok, r = li.form_csrf("/admin/hall/items/new")
    check('name="materials"' in r.text and "名称 | 必需/可选 | 说明" in r.text, "materials textarea with its format")
    check("查看示例" in r.text, "an example for the lists")
    code = uniq("amr-p")[:20]
    body = item_body(code, amr, status="draft", name="户外广告设置许可")
    r = li.post_form("/admin/hall/items/new", form_fields(body)).expect(303, "create by page")
    loc = r.header("Location")
    m = re.match(r"^/admin/hall/items/(\d+)\?saved=1$", loc or "")
    check(m, "Location %r" % loc)
    iid = int(m.group(1))
    eq(item_id(srv, code), iid, "the new item's id")
    t = li.get(loc).expect(200).text
    check("已保存" in t and "户外广告设置许可" in t, "edit page after saving")
    check("inspection | 现场核查 | 不计时" in t and "company_name | 企业名称 | text | 必填 | 50" in t,
          "the lists come back as text")
    # a draft: not public yet
    srv.client().get("/hall/items/" + code).expect(404, "new draft publicly")
    # edit: publish it under a new name
    body.update(name="户外广告设施设置许可", status="published", promised_days=5)
    r = li.post_form("/admin/hall/items/%d" % iid, form_fields(body)).expect(303, "edit by page")
    eq(r.header("Location"), "/admin/hall/items/%d?saved=1" % iid, "Location after edit")
    row = srv.sql("SELECT name, status, promised_days FROM hall_items WHERE id = ?", (iid,))[0]
    eq(row, ("户外广告设施设置许可", "published", "5"), "row after edit")
    t = srv.client().get("/hall/items/" + code).expect(200, "published item publicly").text
    check("户外广告设施设置许可" in t and "现场核查" in t, "guide of the edited item")


def test_dept_admin_api_create_update():
    srv = shared()
    amr = dept_id(srv, "amr")
    li = admin_client(srv)
    code = uniq("amr-a")[:20]
    r = li.post_json("/api/v1/hall/items", item_body(code, amr)).expect(201, "create by API")
    doc = r.json()
    eq(doc["code"], code, "code")
    eq(doc["dept_name"], "市场监督管理局", "department")
    eq(r.header("Location"), "/api/v1/hall/items/" + code, "Location")
    eq([m["required"] for m in doc["materials"]], [True, False], "materials parsed")
    eq(doc["special_steps"], [{"state": "inspection", "title": "现场核查", "counts": False}], "special steps")
    iid = doc["id"]
    body = item_body(code, amr, name="广告发布登记", depth=5, visits=0, materials="申请书 | 必需\n")
    doc = li.put_json("/api/v1/hall/items/%d" % iid, body).expect(200, "update by API").json()
    eq((doc["name"], doc["depth"], len(doc["materials"])), ("广告发布登记", 5, 1), "after update")
    eq(srv.client().get("/api/v1/hall/items/" + code).expect(200).json()["name"], "广告发布登记", "public read")
    # a published item keeps its code
    li.put_json("/api/v1/hall/items/%d" % iid, item_body(code + "x", amr)) \
        .expect_error(400, "HALL_CODE_FIXED", "code")
    # visits against depth
    li.put_json("/api/v1/hall/items/%d" % iid, item_body(code, amr, depth=3, visits=0)) \
        .expect_error(400, "HALL_VISITS_DEPTH", "visits")
    # the process must be a hall process of the registry
    li.post_json("/api/v1/hall/items", item_body(uniq("amr-q")[:20], amr, process="hall.nope")) \
        .expect_error(400, "HALL_PROCESS_UNKNOWN", "process")
    li.put_json("/api/v1/hall/items/999999", item_body(code, amr)).expect_error(404, "HALL_ITEM_NOT_FOUND")
    li.put_json("/api/v1/hall/items/%d" % iid, item_body(code, amr), csrf=False) \
        .expect_error(403, "CSRF_INVALID")


def test_dept_admin_other_department_forbidden():
    srv = shared()
    mca, amr = dept_id(srv, "mca"), dept_id(srv, "amr")
    li = admin_client(srv)
    code = uniq("mca-x")[:20]
    li.post_json("/api/v1/hall/items", item_body(code, mca)).expect_error(403, "NOT_YOUR_DEPT", "dept_id")
    li.post_form("/admin/hall/items/new", form_fields(item_body(code, mca))).expect(403, "page create in 民政局")
    eq(srv.sql_value("SELECT COUNT(*) FROM hall_items WHERE code = ?", (code,)), "0", "item created in 民政局")
    other = item_id(srv, "mca-dbsq")
    li.put_json("/api/v1/hall/items/%d" % other, item_body("mca-dbsq", amr)) \
        .expect_error(403, "NOT_YOUR_DEPT", what="move a 民政局 item to 市场监督管理局")
    li.post_form("/admin/hall/items/%d" % other, form_fields(item_body("mca-dbsq", mca))).expect(403, "page edit")
    li.get("/admin/hall/items/%d" % other).expect(403, "edit page of a 民政局 item")
    eq(srv.sql_value("SELECT dept_id FROM hall_items WHERE id = ?", (other,)), str(mca), "民政局 item moved")
    # and an item of its own cannot be moved to 民政局
    own = item_id(srv, "amr-spjy")
    li.put_json("/api/v1/hall/items/%d" % own, item_body("amr-spjy", mca, status="draft")) \
        .expect_error(403, "NOT_YOUR_DEPT", "dept_id")


def test_bad_list_line_names_field_and_line():
    srv = shared()
    amr = dept_id(srv, "amr")
    li = admin_client(srv)
    code = uniq("amr-b")[:20]
    bad_form = "company_name | 企业名称 | text | 必填 | 50\nreg_capital | 注册资本 | money | 必填\n"
    err = li.post_json("/api/v1/hall/items", item_body(code, amr, form=bad_form)) \
        .expect_error(400, "HALL_ITEM_LIST_BAD", "form")
    check("第 2 行" in err.get("detail", ""), "API detail names the line: %r" % err)
    err = li.post_json("/api/v1/hall/items", item_body(code, amr, materials="a | 必需\nb | 必需\nc | 也许\n")) \
        .expect_error(400, "HALL_ITEM_LIST_BAD", "materials")
    check("第 3 行" in err.get("detail", ""), "materials line 3: %r" % err)
    err = li.post_json("/api/v1/hall/items", item_body(code, amr, specials="site_visit | 踏勘 | 不计时\n")) \
        .expect_error(400, "HALL_ITEM_LIST_BAD", "specials")
    check("第 1 行" in err.get("detail", "") and "site_visit" in err["detail"], "specials: %r" % err)
    # the page shows the form again with the line, keeping what was typed
    r = li.post_form("/admin/hall/items/new", form_fields(item_body(code, amr, form=bad_form, name="排污许可")))
    r.expect(400, "page with a bad form line")
    t = r.text
    check("第 2 行" in t and "申请表" in t, "page error names the field and the line")
    check('value="排污许可"' in t, "typed name kept")
    check("reg_capital | 注册资本 | money | 必填" in t, "typed list kept")
    check('class="field field-has-error"' in t, "the field is marked")
    eq(srv.sql_value("SELECT COUNT(*) FROM hall_items WHERE code = ?", (code,)), "0", "bad item stored")


def test_promised_over_statutory():
    srv = shared()
    amr = dept_id(srv, "amr")
    li = admin_client(srv)
    code = uniq("amr-o")[:20]
    li.post_json("/api/v1/hall/items", item_body(code, amr, statutory_days=10, promised_days=15)) \
        .expect_error(400, "HALL_PROMISED_OVER", "promised_days")
    r = li.post_form("/admin/hall/items/new", form_fields(item_body(code, amr, statutory_days=10, promised_days=15)))
    r.expect(400, "page: promised > statutory")
    check("承诺时限不能长于法定时限" in r.text, "message on the page")
    li.post_json("/api/v1/hall/items", item_body(code, amr, statutory_days=0)) \
        .expect_error(400, "FIELD_OUT_OF_RANGE", "statutory_days")


def test_duplicate_code():
    srv = shared()
    amr = dept_id(srv, "amr")
    li = admin_client(srv)
    li.post_json("/api/v1/hall/items", item_body("amr-qysl", amr)).expect_error(400, "HALL_CODE_TAKEN", "code")
    r = li.post_form("/admin/hall/items/new", form_fields(item_body("amr-qysl", amr)))
    r.expect(400, "page: duplicate code")
    check("该事项编码已被使用" in r.text, "duplicate code message on the page")
    li.post_json("/api/v1/hall/items", item_body("bad code!", amr)).expect(400, "code with spaces")


def test_citizen_cannot_write():
    srv = shared()
    amr = dept_id(srv, "amr")
    chen = srv.client()
    chen.login_as("chen")
    code = uniq("amr-c")[:20]
    chen.post_json("/api/v1/hall/items", item_body(code, amr)).expect_error(403, "HTTP_403")
    chen.put_json("/api/v1/hall/items/%d" % item_id(srv, "amr-qysl"), item_body("amr-qysl", amr)) \
        .expect_error(403, "HTTP_403")
    chen.post_form("/admin/hall/items/new", form_fields(item_body(code, amr))).expect(403, "citizen page POST")
    chen.get("/admin/hall/items").expect(403, "citizen admin list")
    wang = admin_client(srv, "wang.mca")
    wang.post_json("/api/v1/hall/items", item_body(code, dept_id(srv, "mca"))).expect_error(403, "HTTP_403")
    anon = srv.client()
    anon.post_json("/api/v1/hall/items", item_body(code, amr), csrf=False).expect_error(401, "HTTP_401")
    eq(srv.sql_value("SELECT COUNT(*) FROM hall_items WHERE code = ?", (code,)), "0", "item created")


def test_audit_entries():
    srv = shared()
    amr = dept_id(srv, "amr")
    li = admin_client(srv)
    code = uniq("amr-u")[:20]
    iid = li.post_json("/api/v1/hall/items", item_body(code, amr)).expect(201).json()["id"]
    li.put_json("/api/v1/hall/items/%d" % iid, item_body(code, amr, name="审计测试")).expect(200)
    rows = srv.sql("SELECT action, actor, dept_id, detail FROM audit_log WHERE object = ? ORDER BY seq",
                   ("hall_item:%d" % iid,))
    eq([(a, who, d) for a, who, d, _ in rows],
       [("hall.item_create", "li.amr", str(amr)), ("hall.item_update", "li.amr", str(amr))], "audit entries")
    check(code in rows[0][3] and "published" in rows[0][3], "audit detail %r" % rows[0][3])
    # a refused write leaves no entry
    n = int(srv.sql_value("SELECT COUNT(*) FROM audit_log WHERE action LIKE 'hall.%'"))
    li.post_json("/api/v1/hall/items", item_body(code, amr)).expect(400)
    eq(int(srv.sql_value("SELECT COUNT(*) FROM audit_log WHERE action LIKE 'hall.%'")), n, "audit after a refusal")
    rc, out, err = srv.cli("audit", "verify")
    eq(rc, 0, "audit verify after hall writes: %s %s" % (out, err))
