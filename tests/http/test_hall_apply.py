"""The applicant's side of the service hall: applying online with materials, receipts,
drafts, 补正 and withdrawal, idempotent retries, 我的办件, the public status page and the API."""
import html
import os
import re

from harness import check, eq, idcard, private_server, shared
from test_uploads import PNG_1X1, multipart, post_mp

PDF_MIN = (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
           b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
           b"trailer << /Root 1 0 R >>\n%%EOF\n")
NOT_FOUND_MSG = "未找到该办件，请核对查询码和手机号后四位"
CONFLICT_MSG = "数据已被他人修改"
PHONE_TAIL = "8000"   # the demo accounts' phone is 13800138000

_clients = {}


def person(srv, login):
    """A signed-in client for a demo citizen or enterprise, kept per server."""
    key = (id(srv), srv.port, login)
    if key not in _clients:
        c = srv.client()
        c.login_api(login, srv.password(login))
        _clients[key] = c
    return _clients[key]


def case_count(srv):
    return int(srv.sql_value("SELECT COUNT(*) FROM cases"))


def case_row(srv, cid):
    rows = srv.sql("SELECT state, version, tracking, applicant_id, phone_tail FROM cases WHERE id = ?", (cid,))
    check(rows, "case %s exists" % cid)
    return rows[0]


def apply_page(c, code):
    r = c.get("/hall/items/%s/apply" % code).expect(200, "apply page " + code)
    idem = c.hidden(r.text, "_idem")
    check(idem and len(idem) >= 16, "a random _idem on the apply page")
    return r, idem


def sfz_fields(action="submit", **kw):
    d = {"name": "陈小梅", "id_number": idcard(birth="19900517"), "reason": "有效期满", "delivery": "窗口领取",
         "phone": "13800138000", "action": action}
    d.update(kw)
    return d


def post_apply(c, code, fields, files, idem=None):
    items = [("_csrf", c.csrf)] + list(fields.items())
    if idem is not None:
        items.append(("_idem", idem))
    body, ctype = multipart(items, files)
    return post_mp(c, "/hall/items/%s/apply" % code, body, ctype)


def case_id_of(location, suffix=""):
    m = re.match(r"^/hall/cases/(\d+)%s" % re.escape(suffix), location or "")
    check(m, "Location %r" % location)
    return int(m.group(1))


def png(name="m1"):
    return (name, "photo.png", PNG_1X1, "image/png")


def pdf(name="m2"):
    return (name, "scan.pdf", PDF_MIN, "application/pdf")


def submit_sfz(srv, c=None, idem=None):
    """chen applies for 居民身份证换领 with a PNG and a PDF; returns the case id."""
    c = c or person(srv, "chen")
    r = post_apply(c, "psb-sfzhl", sfz_fields(), [png("m1"), pdf("m2")], idem=idem)
    r.expect(303, "apply")
    return case_id_of(r.header("Location"), "/receipt")


# ------------------------------------------------------------------ the form

def test_apply_form_has_fields_materials_and_buttons():
    srv = shared()
    c = person(srv, "chen")
    r, _ = apply_page(c, "psb-sfzhl")
    t = r.text
    check(c.hidden(t, "_csrf") == c.csrf, "the session's _csrf on the form")
    check('enctype="multipart/form-data"' in t, "a multipart form")
    for name in ("name", "id_number", "reason", "delivery", "phone"):
        check('name="%s"' % name, "field %s on the form" % name)
    for m in ("m1", "m2", "m3"):
        check(re.search(r'<input[^>]*name="%s"[^>]*type="file"[^>]*accept="image/jpeg,image/png,application/pdf"' % m,
                        t), "file input %s with accept" % m)
    check("必需" in t and "原件，窗口核验" in t, "required marks and the material's note")
    check('value="draft"' in t and 'value="submit"' in t, "draft and submit buttons")
    # a second load gets another _idem
    _, idem2 = apply_page(c, "psb-sfzhl")
    check(idem2 != c.hidden(t, "_idem"), "a fresh _idem per page load")


def test_apply_refused_for_wrong_audience_and_offline_items():
    srv = shared()
    ent = person(srv, "huaxin")
    r = ent.get("/hall/items/psb-sfzhl/apply")
    eq(r.status, 403, "enterprise applying for a person item")
    check("须由个人申请" in r.text, "the reason in Chinese: %s" % r.text[:300])
    chen = person(srv, "chen")
    r = chen.get("/hall/items/amr-qysl/apply")
    eq(r.status, 403, "citizen applying for an enterprise item")
    check("须由法人申请" in r.text, "the reason in Chinese")
    r = chen.get("/hall/items/mca-jhdj/apply")   # depth 2: not online
    eq(r.status, 403, "an item that is not online")
    check("不能在网上申请" in r.text, "the reason for depth < 3")
    eq(chen.get("/hall/items/no-such-item/apply").status, 404, "unknown item")
    eq(srv.client().get("/hall/items/psb-sfzhl/apply").status, 303, "anonymous: to sign-in")


# ------------------------------------------------------------------ applying

def test_citizen_applies_with_png_and_pdf_and_gets_a_receipt():
    srv = shared()
    c = person(srv, "chen")
    _, idem = apply_page(c, "psb-sfzhl")
    before = case_count(srv)
    cid = submit_sfz(srv, c, idem)
    eq(case_count(srv), before + 1, "one case created")
    state, version, tracking, applicant, tail = case_row(srv, cid)
    eq(state, "submitted", "state after submit")
    eq(version, "2", "version after create + submit")
    eq(tail, PHONE_TAIL, "phone tail stored")
    atts = srv.sql("SELECT label, public FROM case_attachments WHERE case_id = ? ORDER BY id", (cid,))
    eq([a[0] for a in atts], ["居民户口簿", "原居民身份证"], "materials attached with their names")
    check(all(a[1] == "1" for a in atts), "applicant's attachments are public")
    mimes = srv.sql("SELECT f.mime FROM case_attachments a JOIN files f ON f.id = a.file_id "
                    "WHERE a.case_id = ? ORDER BY a.id", (cid,))
    eq([m[0] for m in mimes], ["image/png", "application/pdf"], "sniffed types")
    data = srv.sql_value("SELECT data FROM cases WHERE id = ?", (cid,))
    check('"item_code":"psb-sfzhl"' in data.replace(" ", "") and "有效期满" in data, "form values stored: %s" % data)
    subject = srv.sql_value("SELECT subject FROM cases WHERE id = ?", (cid,))
    eq(subject, "居民身份证换领（陈小梅）", "subject")

    r = c.get("/hall/cases/%d/receipt" % cid).expect(200, "receipt")
    printed = tracking[:4] + "-" + tracking[4:8] + "-" + tracking[8:]
    check(printed in r.text, "tracking code printed grouped on the receipt")
    check('src="data:image/svg+xml;base64,' in r.text, "a QR code image")
    check("/hall/track?code=" + tracking in html.unescape(r.text), "the status URL")
    check(PHONE_TAIL in r.text and "后四位" in r.text, "how to check progress")

    # the applicant's case page: state, timeline, materials with download links
    r = c.get("/hall/cases/%d" % cid).expect(200, "case page")
    check("已提交待预审" in r.text and "提交申请" in r.text, "state and timeline")
    links = re.findall(r'href="(/hall/files/\d+\?case=%d)"' % cid, html.unescape(r.text))
    eq(len(links), 2, "two download links")
    d = c.get(links[0]).expect(200, "download")
    eq(d.body, PNG_1X1, "the PNG as uploaded")
    eq(d.header("Content-Type"), "image/png", "served with the sniffed type")
    # the redirect notification links use
    r = c.get("/cases/%d" % cid)
    eq(r.status, 303, "/cases/{id}")
    eq(r.header("Location"), "/hall/cases/%d" % cid, "redirect target")


def test_enterprise_applies_with_all_five_materials():
    srv = shared()
    c = person(srv, "huaxin")
    apply_page(c, "amr-qysl")
    fields = {"company_name": "示范市华信云计算有限公司", "legal_rep": "赵明", "legal_rep_id": idcard(),
              "reg_capital": "500", "business_scope": "软件开发；信息技术咨询服务", "address": "示范市明珠区海滨路 1 号",
              "action": "submit"}
    files = [png("m1"), pdf("m2"), png("m3"), pdf("m4"), pdf("m5")]
    r = post_apply(c, "amr-qysl", fields, files)
    r.expect(303, "enterprise apply")
    cid = case_id_of(r.header("Location"), "/receipt")
    eq(case_row(srv, cid)[0], "submitted", "state")
    eq(int(srv.sql_value("SELECT COUNT(*) FROM case_attachments WHERE case_id = ?", (cid,))), 5, "5 materials")
    data = srv.sql_value("SELECT data FROM cases WHERE id = ?", (cid,))
    check('"reg_capital":500' in data.replace(" ", ""), "the int stored as a number: %s" % data)


def test_missing_required_material_names_it_and_creates_nothing():
    srv = shared()
    c = person(srv, "chen")
    before = case_count(srv)
    r = post_apply(c, "psb-sfzhl", sfz_fields(), [pdf("m2")])
    eq(r.status, 400, "missing m1")
    check('href="#m1"' in r.text, "the error names m1")
    check("居民户口簿" in r.text, "by its material name")
    check('name="id_number"' in r.text and "有效期满" in r.text, "the form again with what was typed")
    eq(case_count(srv), before, "nothing created")


def test_disguised_upload_refused_naming_the_field():
    srv = shared()
    c = person(srv, "chen")
    before = case_count(srv)
    files_before = int(srv.sql_value("SELECT COUNT(*) FROM files"))
    r = post_apply(c, "psb-sfzhl", sfz_fields(), [png("m1"), ("m2", "x.pdf", b"just some text, not a PDF\n" * 10,
                                                           "application/pdf")])
    eq(r.status, 400, "text disguised as a PDF")
    check('href="#m2"' in r.text, "the error names m2")
    check("仅接受" in r.text, "why")
    eq(case_count(srv), before, "no case created")
    eq(int(srv.sql_value("SELECT COUNT(*) FROM files")), files_before, "no file row kept")


def test_field_validation_error_names_the_field():
    srv = shared()
    c = person(srv, "huaxin")
    before = case_count(srv)
    fields = {"company_name": "示范市坏号码有限公司", "legal_rep": "赵明", "legal_rep_id": "110101199001011234",
              "reg_capital": "500", "business_scope": "软件开发", "address": "示范市", "action": "submit"}
    r = post_apply(c, "amr-qysl", fields, [png("m1"), pdf("m2"), png("m3"), pdf("m4"), pdf("m5")])
    eq(r.status, 400, "bad 身份证号")
    check('href="#legal_rep_id"' in r.text, "the error names legal_rep_id")
    check("法定代表人身份证号" in r.text, "by its label")
    eq(case_count(srv), before, "nothing created")


def test_draft_then_submit_then_withdraw_with_versions():
    srv = shared()
    c = person(srv, "chen")
    r = post_apply(c, "psb-sfzhl", sfz_fields("draft"), [])
    r.expect(303, "save a draft without materials")
    cid = case_id_of(r.header("Location"))
    check("done=draft" in r.header("Location"), "draft saved banner")
    eq(case_row(srv, cid)[0], "draft", "state")
    page = c.get(r.header("Location")).expect(200, "draft page")
    check("草稿已保存" in page.text, "saved banner")
    eq(c.hidden(page.text, "version"), "1", "the version on the form")
    # the desk lists the draft
    desk = c.get("/api/v1/desk").expect(200, "desk").json()
    items = desk.get("items", desk) if isinstance(desk, dict) else desk
    check(any(i.get("href") == "/hall/cases/%d" % cid and i.get("level") == "warn" for i in items),
          "the draft on the desk: %r" % items)
    # submitting without the required materials names the first missing one
    body, ctype = multipart([("_csrf", c.csrf), ("action", "submit"), ("version", "1")], [pdf("m2")])
    r = post_mp(c, "/hall/cases/%d/act" % cid, body, ctype)
    eq(r.status, 400, "draft submitted without m1")
    check('href="#m1"' in r.text, "names m1")
    eq(case_row(srv, cid)[0], "draft", "still a draft")
    eq(int(srv.sql_value("SELECT COUNT(*) FROM case_attachments WHERE case_id = ?", (cid,))), 0, "nothing attached")
    body, ctype = multipart([("_csrf", c.csrf), ("action", "submit"), ("version", "1")], [png("m1"), pdf("m2")])
    r = post_mp(c, "/hall/cases/%d/act" % cid, body, ctype)
    r.expect(303, "submit the draft")
    eq(r.header("Location"), "/hall/cases/%d/receipt" % cid, "to the receipt")
    eq(case_row(srv, cid)[0:2], ("submitted", "2"), "submitted, version 2")
    # a stale page changes nothing
    body, ctype = multipart([("_csrf", c.csrf), ("action", "withdraw"), ("version", "1")])
    r = post_mp(c, "/hall/cases/%d/act" % cid, body, ctype)
    eq(r.status, 409, "stale version")
    check(CONFLICT_MSG in r.text, "conflict message")
    eq(case_row(srv, cid)[0:2], ("submitted", "2"), "unchanged")
    # an action the state does not allow
    body, ctype = multipart([("_csrf", c.csrf), ("action", "resubmit"), ("version", "2")])
    r = post_mp(c, "/hall/cases/%d/act" % cid, body, ctype)
    eq(r.status, 409, "resubmit from submitted")
    body, ctype = multipart([("_csrf", c.csrf), ("action", "withdraw"), ("version", "2")])
    r = post_mp(c, "/hall/cases/%d/act" % cid, body, ctype)
    r.expect(303, "withdraw")
    eq(case_row(srv, cid)[0], "withdrawn", "withdrawn")


def enterprise_apply(srv, c):
    fields = {"company_name": "示范市华信补正测试有限公司", "legal_rep": "赵明", "legal_rep_id": idcard(),
              "reg_capital": "100", "business_scope": "软件开发", "address": "示范市明珠区", "action": "submit"}
    r = post_apply(c, "amr-qysl", fields, [png("m1"), pdf("m2"), png("m3"), pdf("m4"), pdf("m5")])
    r.expect(303, "enterprise apply")
    return case_id_of(r.header("Location"), "/receipt")


def test_correction_shows_missing_list_and_resubmits():
    srv = shared()
    c = person(srv, "huaxin")
    cid = enterprise_apply(srv, c)
    staff = srv.client()
    staff.login_as("zhang.amr")
    staff.post_json("/api/v1/hall/cases/%d/handle" % cid,
                    {"action": "send_back", "version": 2,
                     "fields": {"missing_list": "住所使用证明（租赁合同须有出租方签章）\n公司章程第 3 页"}}).expect(
        200, "send back (staff API)")
    eq(case_row(srv, cid)[0:2], ("correction", "3"), "待补正")
    page = c.get("/hall/cases/%d" % cid).expect(200, "correction page")
    check("住所使用证明（租赁合同须有出租方签章）" in page.text and "公司章程第 3 页" in page.text, "the missing list")
    check('value="resubmit"' in page.text and c.hidden(page.text, "version") == "3", "the resubmit form")
    desk = c.get("/api/v1/desk").expect(200, "desk").json()
    items = desk.get("items", desk) if isinstance(desk, dict) else desk
    check(any(i.get("href") == "/hall/cases/%d" % cid and i.get("status") == "待补正" for i in items),
          "待补正 on the desk")
    body, ctype = multipart([("_csrf", c.csrf), ("action", "resubmit"), ("version", "3"), ("comment", "已补齐")],
                            [pdf("m5"), png("m2")])
    post_mp(c, "/hall/cases/%d/act" % cid, body, ctype).expect(303, "resubmit")
    eq(case_row(srv, cid)[0:2], ("submitted", "4"), "resubmitted")
    eq(int(srv.sql_value("SELECT COUNT(*) FROM case_attachments WHERE case_id = ?", (cid,))), 7, "2 more materials")


def test_idempotent_retry_returns_the_same_receipt():
    srv = shared()
    c = person(srv, "chen")
    _, idem = apply_page(c, "psb-sfzhl")
    fields = sfz_fields()
    before = case_count(srv)
    r1 = post_apply(c, "psb-sfzhl", fields, [png("m1"), pdf("m2")], idem=idem)
    r2 = post_apply(c, "psb-sfzhl", fields, [png("m1"), pdf("m2")], idem=idem)
    r1.expect(303, "first")
    r2.expect(303, "retry")
    eq(r2.header("Location"), r1.header("Location"), "the same receipt")
    eq(r2.header("Idempotent-Replayed"), "true", "replayed")
    eq(case_count(srv), before + 1, "one case")


# ------------------------------------------------------------------ who may see

def test_another_person_cannot_see_the_case():
    srv = shared()
    cid = submit_sfz(srv)
    other = person(srv, "huaxin")
    eq(other.get("/hall/cases/%d" % cid).status, 404, "another applicant's case page")
    eq(other.get("/hall/cases/%d/receipt" % cid).status, 404, "another applicant's receipt")
    fid = int(srv.sql_value("SELECT file_id FROM case_attachments WHERE case_id = ? ORDER BY id LIMIT 1", (cid,)))
    eq(other.get("/hall/files/%d?case=%d" % (fid, cid)).status, 404, "another applicant's file")
    eq(other.get("/api/v1/hall/cases/%d" % cid).status, 404, "API")
    body, ctype = multipart([("_csrf", other.csrf), ("action", "withdraw"), ("version", "2")])
    eq(post_mp(other, "/hall/cases/%d/act" % cid, body, ctype).status, 404, "another applicant's action")
    eq(case_row(srv, cid)[0], "submitted", "unchanged")
    # a file of the case, asked for under another case, is not served either
    mine = submit_sfz(srv)
    eq(person(srv, "chen").get("/hall/files/%d?case=%d" % (fid, mine)).status, 404, "file not of that case")
    eq(srv.client().get("/hall/cases/%d" % cid).status, 303, "anonymous: to sign-in")


def test_my_cases_lists_newest_first():
    srv = shared()
    c = person(srv, "chen")
    a = submit_sfz(srv, c)
    b = submit_sfz(srv, c)
    r = c.get("/hall/my").expect(200, "我的办件")
    pa, pb = r.text.find("/hall/cases/%d\"" % a), r.text.find("/hall/cases/%d\"" % b)
    check(pa > 0 and pb > 0 and pb < pa, "newest first")
    doc = c.get("/api/v1/hall/cases?limit=1").expect(200, "API list").json()
    eq(doc["items"][0]["id"], b, "newest first in the API")
    check(doc["next"] is not None, "a cursor")
    doc2 = c.get("/api/v1/hall/cases?limit=1&after=%d" % doc["next"]).expect(200).json()
    eq(doc2["items"][0]["id"], a, "the next page")


# ------------------------------------------------------------------ the public status page

def test_track_with_right_and_wrong_phone_tail_and_mistyped_code():
    srv = shared()
    cid = submit_sfz(srv)
    tracking = case_row(srv, cid)[2]
    anon = srv.client()
    eq(anon.get("/hall/track").status, 200, "the form")
    r = anon.get("/hall/track", params={"code": tracking.lower(), "phone": PHONE_TAIL})
    r.expect(200, "found")
    check("已提交待预审" in r.text, "state")
    check("居民户口簿" in r.text, "public attachment names")
    check("陈小梅" not in r.text and "13800138000" not in r.text, "no personal data")
    grouped = tracking[:4] + "-" + tracking[4:8] + "-" + tracking[8:]
    anon.get("/hall/track", params={"code": grouped, "phone": PHONE_TAIL}).expect(200, "grouped input")
    wrong = anon.get("/hall/track", params={"code": tracking, "phone": "1234"})
    eq(wrong.status, 404, "wrong tail")
    check(NOT_FOUND_MSG in wrong.text, "message")
    alphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
    c0 = alphabet[(alphabet.index(tracking[0]) + 1) % len(alphabet)]
    typo = anon.get("/hall/track", params={"code": c0 + tracking[1:], "phone": PHONE_TAIL})
    eq(typo.status, 404, "mistyped code")
    check(NOT_FOUND_MSG in typo.text, "the same message")
    # the API
    doc = anon.get("/api/v1/hall/track", params={"code": tracking, "phone": PHONE_TAIL}).expect(200).json()
    eq(doc["state"], "submitted", "API state")
    check("applicant" not in doc and "data" not in doc, "API: no personal data")
    anon.get("/api/v1/hall/track", params={"code": tracking, "phone": "0000"}).expect_error(
        404, "HALL_TRACK_NOT_FOUND")


def test_track_throttles_failed_lookups():
    with private_server() as srv:
        anon = srv.client()
        for i in range(20):
            eq(anon.get("/hall/track", params={"code": "2222222222", "phone": "0000"}).status, 404, "miss %d" % i)
        r = anon.get("/hall/track", params={"code": "2222222222", "phone": "0000"})
        eq(r.status, 429, "throttled after 20 failures")
        check("15 分钟" in r.text, "says when to retry")


# ------------------------------------------------------------------ API

def test_api_apply_with_uploaded_file_and_track():
    srv = shared()
    c = person(srv, "chen")
    body, ctype = multipart([], [("file", "id.png", PNG_1X1, "image/png")])
    up = post_mp(c, "/api/v1/files", body, ctype, headers={"X-CSRF-Token": c.csrf}).expect(201, "upload").json()
    eq(up["mime"], "image/png", "sniffed")
    check(len(up["sha256"]) == 64 and up["size"] == len(PNG_1X1), "sha256 and size")
    bad_body, bad_ctype = multipart([], [("file", "x.pdf", b"hello world, plain text\n" * 4, "application/pdf")])
    post_mp(c, "/api/v1/files", bad_body, bad_ctype, headers={"X-CSRF-Token": c.csrf}).expect_error(
        400, "FILE_TYPE", "file")
    app = {"name": "陈小梅", "id_number": idcard(), "last_employer": "示范市某某公司", "separation_date": "2026-01-15",
           "bank_account": "6217000000000000", "phone": "13800138000", "action": "submit"}
    # a required material not given
    c.post_json("/api/v1/hall/items/hrss-syj/applications", app).expect_error(400, "HALL_MATERIAL_REQUIRED", "m1")
    # a file that is not the caller's
    other = person(srv, "huaxin")
    body2, ctype2 = multipart([], [("file", "o.png", PNG_1X1, "image/png")])
    theirs = post_mp(other, "/api/v1/files", body2, ctype2, headers={"X-CSRF-Token": other.csrf}).json()["id"]
    c.post_json("/api/v1/hall/items/hrss-syj/applications", dict(app, files={"m1": theirs})).expect_error(
        400, "HALL_FILE_NOT_YOURS", "m1")
    key = os.urandom(8).hex()
    before = case_count(srv)
    r1 = c.post_json("/api/v1/hall/items/hrss-syj/applications", dict(app, files={"m1": up["id"]}),
                     headers={"Idempotency-Key": key}).expect(201, "API apply")
    r2 = c.post_json("/api/v1/hall/items/hrss-syj/applications", dict(app, files={"m1": up["id"]}),
                     headers={"Idempotency-Key": key}).expect(201, "API retry")
    d1, d2 = r1.json(), r2.json()
    eq(d2["id"], d1["id"], "the same case on retry")
    eq(case_count(srv), before + 1, "one case")
    eq(d1["state"], "submitted", "state")
    check(re.match(r"^[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{2}$", d1["tracking_print"]),
          "tracking_print %r" % d1["tracking_print"])
    doc = c.get("/api/v1/hall/cases/%d" % d1["id"]).expect(200, "API case").json()
    eq(doc["attachments"][0]["label"], "本人身份证件", "file attached as the material")
    check(any(a["action"] == "withdraw" for a in doc["actions"]), "withdraw offered")
    t = srv.client().get("/api/v1/hall/track", params={"code": d1["tracking"], "phone": PHONE_TAIL})
    eq(t.expect(200, "API track").json()["id"], d1["id"], "found by the public look-up")
    # actions through the API: stale version, then withdraw
    c.post_json("/api/v1/hall/cases/%d/actions" % d1["id"], {"action": "withdraw", "version": 1}).expect_error(
        409, "HALL_CASE_CONFLICT")
    w = c.post_json("/api/v1/hall/cases/%d/actions" % d1["id"], {"action": "withdraw", "version": 2})
    eq(w.expect(200, "withdraw").json()["state"], "withdrawn", "withdrawn")
    # form validation errors are machine-readable
    r = c.post_json("/api/v1/hall/items/hrss-syj/applications", dict(app, id_number="123", files={"m1": up["id"]}))
    eq(r.status, 400, "bad id number")
    eq(r.json()["error"]["field"], "id_number", "field named")
