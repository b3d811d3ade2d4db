"""The applicant's case page once the department has decided: the decision's opinion or reason
(and a past 一次性告知's list) from the public events only, the 电子证照 panel with its download
and verification links apart from the applicant's materials, 好差评 (the link, then the rating
given), and the clocks stopped with the working days used."""
import re

from harness import check, eq, shared
from test_hall_apply import enterprise_apply, multipart, pdf, person, png, post_mp

OPINION = "材料齐全，符合法定形式，准予设立登记（页面测试）。"
MISSING = ("住所使用证明须有出租方签章（页面测试）", "公司章程第 3 页（页面测试）")
INTERNAL = "内部：法人代表身份已电话核实（不应给申请人看）"

_staff = {}


def staff(srv, login="zhang.amr"):
    key = (id(srv), srv.port, login)
    if key not in _staff:
        c = srv.client()
        c.login_as(login)
        _staff[key] = c
    return _staff[key]


def version(srv, cid):
    return int(srv.sql_value("SELECT version FROM cases WHERE id = ?", (cid,)))


def handle(srv, cid, action, fields=None, comment=None):
    body = {"action": action, "version": version(srv, cid)}
    if fields:
        body["fields"] = fields
    if comment:
        body["comment"] = comment
    staff(srv).post_json("/api/v1/hall/cases/%d/handle" % cid, body).expect(200, action)


def section(text, heading_id):
    """The HTML of the <section aria-labelledby=heading_id>, or None."""
    m = re.search(r'<section[^>]*aria-labelledby="%s"[^>]*>(.*?)</section>' % re.escape(heading_id), text, re.S)
    return m.group(1) if m else None


def demo_case(srv, subject):
    return int(srv.sql_value("SELECT id FROM cases WHERE subject = ?", (subject,)))


def test_approved_case_shows_opinion_certificate_rating_link_and_stopped_clock():
    srv = shared()
    c = person(srv, "huaxin")
    cid = enterprise_apply(srv, c)
    handle(srv, cid, "send_back", {"missing_list": "\n".join(MISSING)})
    body, ctype = multipart([("_csrf", c.csrf), ("action", "resubmit"), ("version", str(version(srv, cid)))],
                            [pdf("m5"), png("m2")])
    post_mp(c, "/hall/cases/%d/act" % cid, body, ctype).expect(303, "resubmit")
    handle(srv, cid, "accept")
    handle(srv, cid, "start_review", comment=INTERNAL)     # an internal event
    handle(srv, cid, "approve", {"opinion": OPINION})
    t = c.get("/hall/cases/%d" % cid).expect(200, "the decided case page").text

    # 1. the decision's opinion, the past 一次性告知's list; nothing of internal events
    check(OPINION in t, "the approval opinion on the applicant's page")
    decision = section(t, "h-decision")
    check(decision and "准予许可" in decision and OPINION in decision, "the decision panel: %r" % decision)
    timeline = section(t, "h-timeline") or ""
    check(OPINION in timeline, "the opinion in the timeline")
    for line in MISSING:
        check(line in timeline, "the past missing list in the timeline: %r" % line)
    check(INTERNAL not in t, "an internal event's comment leaked")
    check("开始审查" not in timeline, "an internal transition on the applicant's timeline")

    # 2. the 电子证照 panel: title, number, download and verification links; not among the materials
    number, token = srv.sql("SELECT number, verify_token FROM hall_certificates WHERE case_id = ?", (cid,))[0]
    cert = section(t, "h-cert")
    check(cert is not None, "a 电子证照 panel")
    check("营业执照" in cert and number in cert, "title and number in the panel: %r" % cert)
    eq(t.count('href="/hall/cases/%d/certificate"' % cid), 1, "one download link")
    check('href="/hall/verify/%s?t=%s"' % (number, token) in cert, "the verification link: %r" % cert)
    files = section(t, "h-files") or ""
    check("已提交的材料" in files and "营业执照" not in files, "the certificate is not listed as a material")
    check(files.count("<li>") == 7, "the applicant's 7 materials: %r" % files)
    r = c.get("/hall/cases/%d/certificate" % cid).expect(200, "download")
    check(r.body.startswith(b"%PDF-"), "a PDF")
    v = srv.client().get("/hall/verify/%s" % number, params={"t": token}).expect(200, "verify").text
    check("有效" in v and number in v, "the verification page")

    # 3. 好差评: the link first, the rating given afterwards
    rate = section(t, "h-rate")
    check(rate and 'href="/hall/cases/%d/rate"' % cid in rate and "评价本次服务" in rate, "the rating link: %r" % rate)
    c.post_json("/api/v1/hall/cases/%d/rating" % cid, {"score": 5, "comment": "页面测试：很方便"}).expect(201, "rate")
    t2 = c.get("/hall/cases/%d" % cid).expect(200, "the rated case page").text
    rate = section(t2, "h-rate")
    check(rate and "非常满意" in rate and "5 分" in rate and "页面测试：很方便" in rate, "the rating given: %r" % rate)
    check('href="/hall/cases/%d/rate"' % cid not in t2, "no rating link once rated")

    # 4. the clocks stopped, with the working days used
    clock = section(t, "h-clock")
    check(clock and "已办结，计时停止" in clock, "the clocks stopped: %r" % clock)
    check("还剩" not in clock, "no working days left on a decided case")
    doc = c.get("/api/v1/hall/cases/%d" % cid).expect(200, "the API view").json()
    used, limit = doc["clocks"]["promised"]["used"], doc["clocks"]["promised"]["limit"]
    check(re.search(r"用时\s*(<strong>)?%d(</strong>)?\s*个工作日（承诺 %d 个）" % (used, limit), clock),
          "used vs promised: %r" % clock)


def test_open_case_has_no_decision_certificate_or_rating():
    srv = shared()
    c = person(srv, "huaxin")
    cid = enterprise_apply(srv, c)
    t = c.get("/hall/cases/%d" % cid).expect(200, "a submitted case").text
    for h in ("h-decision", "h-cert", "h-rate"):
        check(section(t, h) is None, "no %s panel on an open case" % h)
    check("已办结" not in t, "not finished")
    check('href="/hall/cases/%d/certificate"' % cid not in t, "no certificate link")


def test_rejected_demo_case_shows_reason_and_the_rating_given():
    srv = shared()
    c = person(srv, "huaxin")
    cid = demo_case(srv, "企业设立登记：示范市华信金融信息服务有限公司")
    t = c.get("/hall/cases/%d" % cid).expect(200, "the rejected case").text
    decision = section(t, "h-decision") or ""
    check("不予许可" in decision and "未提交金融监管部门的批准文件" in decision, "the reason: %r" % decision)
    check(section(t, "h-cert") is None, "a rejection issues no certificate")
    rate = section(t, "h-rate") or ""
    check("不满意" in rate and "白跑一趟" in rate, "the demo rating: %r" % rate)
    check("差评整改" in rate, "the rectification its bad rating opened")
    check('href="/hall/cases/%d/rate"' % cid not in t, "rated: no rating link")
    check("已办结，计时停止" in (section(t, "h-clock") or ""), "stopped")


def test_demo_certificate_link_draws_the_pdf():
    srv = shared()
    c = person(srv, "huaxin")
    cid = demo_case(srv, "企业设立登记：示范市华信科技发展有限公司")
    t = c.get("/hall/cases/%d" % cid).expect(200, "the approved demo case").text
    check("材料齐全，符合法定形式，准予设立登记。" in (section(t, "h-decision") or ""), "the demo opinion")
    cert = section(t, "h-cert") or ""
    check('href="/hall/cases/%d/certificate"' % cid in cert and "/hall/verify/" in cert, "links: %r" % cert)
    r = c.get("/hall/cases/%d/certificate" % cid).expect(200, "drawn on first request")
    check(r.body.startswith(b"%PDF-"), "a PDF")
    t = c.get("/hall/cases/%d" % cid).expect(200).text
    check("营业执照" not in (section(t, "h-files") or ""), "the drawn certificate stays out of the materials")


def test_rectification_shows_public_opinion_not_internal_reason():
    """chen's demo rating opened a rectification whose appeal (internal, with a reason) the
    office upheld (public, with an opinion): chen reads the opinion only."""
    srv = shared()
    c = person(srv, "chen")
    cid = demo_case(srv, "差评整改：结婚登记：刘洋、陈小梅（预约改期）")
    t = c.get("/hall/cases/%d" % cid).expect(200, "the rectification case").text
    check("经核实，申诉属实，该评价不计入本局统计。" in t, "the upheld appeal's opinion")
    check("经调取窗口录像核实" not in t, "the internal appeal's reason leaked")
    check(section(t, "h-rate") is None, "a rectification is not rated")


def test_internal_attachments_stay_internal():
    """An attachment staff keep internal is neither listed nor downloadable for the applicant."""
    srv = shared()
    c = person(srv, "huaxin")
    cid = enterprise_apply(srv, c)
    public_fid = srv.sql("SELECT file_id FROM case_attachments WHERE case_id = ? AND public = 1 ORDER BY id LIMIT 1",
                         (cid,))[0][0]
    # a file of its own, attached to the case as internal only
    body, ctype = multipart([], [png("file")])
    fid = post_mp(c, "/api/v1/files", body, ctype, headers={"X-CSRF-Token": c.csrf}).expect(201, "upload").json()["id"]
    srv.sql("INSERT INTO case_attachments (case_id, file_id, label, public, created_at) VALUES (?, ?, '内部审查意见', 0, 0)",
            (cid, int(fid)))
    t = c.get("/hall/cases/%d" % cid).expect(200, "the applicant's page").text
    check("内部审查意见" not in t, "an internal attachment listed to the applicant")
    doc = c.get("/api/v1/hall/cases/%d" % cid).expect(200, "the API view").json()
    check(all(a.get("label") != "内部审查意见" for a in doc.get("attachments", [])), "internal attachment in the API")
    c.get("/hall/files/%s?case=%d" % (fid, cid)).expect(404, "an internal file to the applicant")
    staff(srv).get("/hall/files/%s?case=%d" % (fid, cid)).expect(200, "the internal file to staff")
    c.get("/hall/files/%s?case=%d" % (public_fid, cid)).expect(200, "a public file to the applicant")
