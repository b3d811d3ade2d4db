"""Uploads: multipart/form-data through a real route, POST /admin/depts/import (RF_UPLOAD),
which takes the pasted `csv` field or an uploaded CSV file `file`.

The body is encoded here (the standard library has no multipart encoder), so the tests can
also send what a browser never would: duplicate fields, a wrong boundary, a cut-off body."""
import os
import re
import socket
import time

from harness import check, eq, private_server, raw_exchange, shared, wait_job

CRLF = b"\r\n"
CSV_HEAD = "code,name,parent_code,level,sort\n"
PNG_1X1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108020000009077"
    "53de0000000c49444154789c63f8cfc0000003010100c9fe92ef0000000049454e44ae426082")

TOO_LARGE_MSG = "文件过大"
DUP_MSG = "字段重复出现"
BAD_MULTIPART_MSG = "上传的表单格式不正确或不完整"
CSV_TYPE_MSG = "仅接受 CSV 文本文件"
CSRF_MSG = "表单已过期或来源不可信"


def multipart(fields=(), files=(), boundary=None, close=True):
    """Encodes a multipart/form-data body.
    fields: (name, text) pairs; files: (name, filename, bytes, content type) tuples, in order
    after the fields unless given as ("@file", ...) inside fields.  Returns (body, content type)."""
    b = (boundary or "----yzTest" + os.urandom(8).hex()).encode()
    out = []
    for item in fields:
        if item[0] == "@file":
            files_now = [item[1:]]
        else:
            files_now = []
            name, value = item
            value = value.encode("utf-8") if isinstance(value, str) else value
            out.append(b"--" + b + CRLF +
                       b'Content-Disposition: form-data; name="' + name.encode() + b'"' + CRLF + CRLF +
                       value + CRLF)
        for f in files_now:
            out.append(_file_part(b, *f))
    for f in files:
        out.append(_file_part(b, *f))
    if close:
        out.append(b"--" + b + b"--" + CRLF)
    return b"".join(out), "multipart/form-data; boundary=" + b.decode()


def _file_part(b, name, filename, data, ctype):
    return (b"--" + b + CRLF +
            b'Content-Disposition: form-data; name="' + name.encode() + b'"; filename="' +
            filename.encode("utf-8") + b'"' + CRLF +
            b"Content-Type: " + ctype.encode() + CRLF + CRLF + data + CRLF)


def post_mp(client, path, body, ctype, headers=None):
    h = {"Content-Type": ctype}
    if headers:
        h.update(headers)
    return client.request("POST", path, body=body, headers=h)


def new_code():
    return "up-" + os.urandom(5).hex()


def dept_count(srv, code):
    return int(srv.sql_value("SELECT COUNT(*) FROM departments WHERE code = ?", (code,)))


def job_of(r):
    r.expect(303, "import submitted")
    m = re.match(r"^/jobs/(\d+)$", r.header("Location") or "")
    check(m, "Location after import: %r" % r.header("Location"))
    return int(m.group(1))


def test_csv_file_upload_imports():
    srv = shared()
    adm = srv.admin()
    code, code2 = new_code(), new_code()
    # Saved by a spreadsheet as "CSV UTF-8": with a byte-order mark; a Chinese file name.
    data = ("\ufeff" + CSV_HEAD + "%s,上传测试局,,county,1\n%s,上传测试科,%s,town,2\n" % (code, code2, code)).encode()
    # As a browser sends the form: _csrf, the file, and the empty textarea.
    body, ct = multipart([("_csrf", adm.csrf), ("@file", "file", "部门清单.csv", data, "text/csv"), ("csv", "")])
    job = job_of(post_mp(adm, "/admin/depts/import", body, ct))
    j = wait_job(adm, job)
    eq(j.get("state"), "done", "import job state (%r)" % j)
    eq(dept_count(srv, code), 1, "department from the uploaded file")
    eq(dept_count(srv, code2), 1, "second department from the uploaded file")
    eq(srv.sql_value("SELECT p.code FROM departments d JOIN departments p ON p.id = d.parent_id "
                     "WHERE d.code = ?", (code2,)), code, "parent from the file")
    # The page offers the upload without JavaScript.
    page = adm.get("/admin/depts/import").expect(200).text
    check('enctype="multipart/form-data"' in page, "the import form is not multipart")
    check(re.search(r'<input[^>]*type="file"[^>]*name="file"', page), "no file input on the import page")


def test_pasted_csv_in_multipart_and_empty_file_input():
    srv = shared()
    adm = srv.admin()
    code = new_code()
    # No file chosen: browsers still send the part, with filename="" and no bytes.
    body, ct = multipart([("_csrf", adm.csrf), ("@file", "file", "", b"", "application/octet-stream"),
                          ("csv", CSV_HEAD + "%s,粘贴测试局,,county,1\n" % code)])
    wait_job(adm, job_of(post_mp(adm, "/admin/depts/import", body, ct)))
    eq(dept_count(srv, code), 1, "department from the pasted text in a multipart form")
    # Neither: the form again, by the field, saying what to do.
    body, ct = multipart([("_csrf", adm.csrf), ("@file", "file", "", b"", "application/octet-stream"), ("csv", "")])
    r = post_mp(adm, "/admin/depts/import", body, ct).expect(400, "neither text nor file")
    check("请粘贴 CSV 内容，或选择一个 CSV 文件" in r.text, "no guidance when both are empty: %r" % r.text[:400])
    check('id="csv-error"' in r.text, "error not shown by the csv field")
    # Both at once: refused, nothing guessed.
    code = new_code()
    body, ct = multipart([("_csrf", adm.csrf), ("csv", CSV_HEAD + "%s,甲,,county,1\n" % code)],
                         [("file", "d.csv", (CSV_HEAD + "%s,乙,,county,1\n" % code).encode(), "text/csv")])
    r = post_mp(adm, "/admin/depts/import", body, ct).expect(400, "text and file together")
    check('id="file-error"' in r.text, "error not shown by the file field")
    eq(dept_count(srv, code), 0, "department created from an ambiguous submission")
    # The API keeps its contract: JSON only, csv required (as before uploads existed).
    adm.post_json("/api/v1/depts/import", {"csv": ""}).expect_error(400, "FIELD_REQUIRED", "csv")
    adm.post_json("/api/v1/depts/import", {}).expect_error(400, "FIELD_REQUIRED", "csv")
    adm.post_json("/api/v1/depts/import", {"file": "x"}).expect_error(400, "FIELD_NOT_FILE", "file")


def test_csrf_enforced_in_multipart():
    srv = shared()
    adm = srv.admin()
    for token, what in ((None, "without _csrf"), ("f" * 64, "with a forged _csrf"), ("", "with an empty _csrf")):
        code = new_code()
        fields = [] if token is None else [("_csrf", token)]
        body, ct = multipart(fields, [("file", "d.csv", (CSV_HEAD + "%s,伪造,,county,1\n" % code).encode(), "text/csv")])
        r = post_mp(adm, "/admin/depts/import", body, ct)
        r.expect(403, "multipart import " + what)
        check(CSRF_MSG in r.text, "403 does not say why (%s)" % what)
        eq(dept_count(srv, code), 0, "department imported " + what)
    # The token after the file part counts as well (fields may come in any order).
    code = new_code()
    body, ct = multipart([("@file", "file", "d.csv", (CSV_HEAD + "%s,顺序,,county,1\n" % code).encode(), "text/csv"),
                          ("_csrf", adm.csrf)])
    wait_job(adm, job_of(post_mp(adm, "/admin/depts/import", body, ct)))
    eq(dept_count(srv, code), 1, "token after the file")
    # Signed out: sent to sign in, nothing parsed into an answer.
    anon = srv.client()
    body, ct = multipart([], [("file", "d.csv", b"code,name,level\n", "text/csv")])
    r = post_mp(anon, "/admin/depts/import", body, ct)
    r.expect(303, "anonymous multipart")
    check((r.header("Location") or "").startswith("/login"), "anonymous not sent to sign in")


def test_type_sniffed_not_trusted():
    srv = shared()
    adm = srv.admin()
    # A PNG that calls itself a CSV.
    body, ct = multipart([("_csrf", adm.csrf)], [("file", "depts.csv", PNG_1X1, "text/csv")])
    r = post_mp(adm, "/admin/depts/import", body, ct).expect(400, "PNG named .csv")
    check(CSV_TYPE_MSG in r.text and 'id="file-error"' in r.text, "type error not shown by the file field")
    # Text in GBK (not UTF-8).
    code = new_code()
    body, ct = multipart([("_csrf", adm.csrf)],
                         [("file", "d.csv", (CSV_HEAD + "%s,国标编码,,county,1\n" % code).encode("gbk"), "text/csv")])
    r = post_mp(adm, "/admin/depts/import", body, ct).expect(400, "GBK file")
    check("UTF-8" in r.text, "GBK file: no word about the encoding")
    # An empty file that was chosen.
    body, ct = multipart([("_csrf", adm.csrf)], [("file", "empty.csv", b"", "text/csv")])
    r = post_mp(adm, "/admin/depts/import", body, ct).expect(400, "empty chosen file")
    check("文件是空的" in r.text, "empty file not named as such")
    eq(dept_count(srv, code), 0, "department imported from a refused file")


def test_field_rules_as_for_forms():
    srv = shared()
    adm = srv.admin()
    csv = CSV_HEAD + "%s,重复,,county,1\n" % new_code()
    # The same text field twice.
    body, ct = multipart([("_csrf", adm.csrf), ("csv", csv), ("csv", csv)])
    r = post_mp(adm, "/admin/depts/import", body, ct).expect(400, "duplicate text field")
    check(DUP_MSG in r.text, "duplicate not named: %r" % r.text[:300])
    # A duplicate empty value, and _csrf twice.
    body, ct = multipart([("_csrf", adm.csrf), ("csv", ""), ("csv", "")])
    post_mp(adm, "/admin/depts/import", body, ct).expect(400, "duplicate empty field")
    body, ct = multipart([("_csrf", adm.csrf), ("_csrf", adm.csrf), ("csv", csv)])
    post_mp(adm, "/admin/depts/import", body, ct).expect(400, "duplicate _csrf")
    # A text field and a file of one name.
    body, ct = multipart([("_csrf", adm.csrf), ("file", "x")], [("file", "d.csv", csv.encode(), "text/csv")])
    post_mp(adm, "/admin/depts/import", body, ct).expect(400, "file field also as text")
    # A field nobody declared, as text and as a file; a file where text is expected.
    body, ct = multipart([("_csrf", adm.csrf), ("csv", csv), ("extra", "1")])
    post_mp(adm, "/admin/depts/import", body, ct).expect(400, "undeclared text field")
    body, ct = multipart([("_csrf", adm.csrf)], [("avatar", "a.png", PNG_1X1, "image/png")])
    post_mp(adm, "/admin/depts/import", body, ct).expect(400, "undeclared file field")
    body, ct = multipart([("_csrf", adm.csrf)], [("csv", "d.csv", csv.encode(), "text/csv")])
    post_mp(adm, "/admin/depts/import", body, ct).expect(400, "file sent for a text field")
    # Invalid UTF-8 and NUL in text; a name outside [A-Za-z0-9_.-].
    body, ct = multipart([("_csrf", adm.csrf), ("csv", b"code,name\n\xff\xfe,x\n")])
    r = post_mp(adm, "/admin/depts/import", body, ct).expect(400, "invalid UTF-8 text")
    check("UTF-8" in r.text, "invalid UTF-8 not named")
    body, ct = multipart([("_csrf", adm.csrf), ("csv", b"code,name\nx\x00y,z\n")])
    post_mp(adm, "/admin/depts/import", body, ct).expect(400, "NUL in text")
    body, ct = multipart([("_csrf", adm.csrf), ("c sv", csv)])
    post_mp(adm, "/admin/depts/import", body, ct).expect(400, "bad field name")
    # More files than a request may carry.
    files = [("file", "d%d.csv" % i, csv.encode(), "text/csv") for i in range(9)]
    body, ct = multipart([("_csrf", adm.csrf)], files)
    r = post_mp(adm, "/admin/depts/import", body, ct).expect(413, "nine files")
    check("最多 8 个" in r.text, "too many files not explained")
    # More parts than INPUT_MAX_FIELDS.
    body, ct = multipart([("_csrf", adm.csrf)] + [("f%d" % i, "x") for i in range(70)])
    post_mp(adm, "/admin/depts/import", body, ct).expect(413, "70 parts")
    # A transfer encoding (RFC 7578 forbids them).
    b = "----yzTE"
    raw = ("--%s\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\n%s\r\n"
           "--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"d.csv\"\r\n"
           "Content-Type: text/csv\r\nContent-Transfer-Encoding: base64\r\n\r\nY29kZSxuYW1l\r\n--%s--\r\n"
           % (b, adm.csrf, b, b)).encode()
    post_mp(adm, "/admin/depts/import", raw, "multipart/form-data; boundary=" + b).expect(400, "base64 part")
    srv.client().get("/healthz").expect(200, "healthz after refused forms")


def test_multipart_refused_where_not_accepted():
    srv = shared()
    c = srv.client()
    c.login_as("chen")
    body, ct = multipart([("_csrf", c.csrf), ("old", "x"), ("password", "y"), ("password2", "y")])
    r = post_mp(c, "/account/password", body, ct)
    r.expect(415, "multipart to a form route without RF_UPLOAD")
    adm = srv.admin()
    body, ct = multipart([("code", new_code()), ("name", "x"), ("level", "county")])
    post_mp(adm, "/api/v1/depts", body, ct, headers={"X-CSRF-Token": adm.csrf}).expect_error(
        415, "BODY_BAD_TYPE", what="multipart to a JSON API route")
    post_mp(adm, "/api/v1/depts/import", body, ct, headers={"X-CSRF-Token": adm.csrf}).expect_error(
        415, "BODY_BAD_TYPE", what="multipart to the import API (JSON only)")
    # The urlencoded form still works on the upload route.
    code = new_code()
    wait_job(adm, job_of(adm.post_form("/admin/depts/import", {"csv": CSV_HEAD + "%s,表单,,county,1\n" % code})))
    eq(dept_count(srv, code), 1, "urlencoded import")


def test_malformed_multipart():
    srv = shared()
    adm = srv.admin()
    code = new_code()
    good, ct = multipart([("_csrf", adm.csrf)], [("file", "d.csv", (CSV_HEAD + "%s,坏,,county,1\n" % code).encode(), "text/csv")])
    boundary = ct.split("boundary=", 1)[1]
    cases = [
        ("boundary in the header not in the body", good, "multipart/form-data; boundary=----nothere"),
        ("no boundary parameter", good, "multipart/form-data"),
        ("empty boundary", good, "multipart/form-data; boundary="),
        ("truncated inside the file", good[:len(good) // 2], ct),
        ("no closing delimiter", good[:good.rindex(b"--" + boundary.encode() + b"--")], ct),
        ("closing delimiter cut", good[:-4], ct),
        ("data after the closing delimiter", good + b"trailing junk\r\n", ct),
        ("part without a name", good.replace(b'name="file"; ', b""), ct),
        ("part headers never end", b"--" + boundary.encode() + b"\r\nContent-Disposition: form-data; name=\"csv\"\r\n", ct),
        ("empty body", b"", ct),
        ("boundary longer than allowed", good, "multipart/form-data; boundary=" + "b" * 300),
    ]
    for what, body, ctype in cases:
        r = post_mp(adm, "/admin/depts/import", body, ctype)
        r.expect(400, what)
        check(BAD_MULTIPART_MSG in r.text or "表单格式不正确" in r.text, "%s: 400 does not say why: %r" % (what, r.text[:300]))
        srv.client().get("/healthz").expect(200, "healthz after: " + what)
    eq(dept_count(srv, code), 0, "department imported from a malformed body")
    # A declared length the body never reaches: the server times the connection out, not a thread.
    head = ("POST /admin/depts/import HTTP/1.1\r\nHost: x\r\nCookie: %s\r\nContent-Type: %s\r\n"
            "Content-Length: %d\r\nConnection: close\r\n\r\n" % (adm.cookie_header(), ct, len(good) + 100)).encode()
    raw_exchange(srv.port, head + good, timeout=2)
    srv.client().get("/healthz").expect(200, "healthz after a short body")
    # The well-formed body still works (the cases above failed for their fault).
    wait_job(adm, job_of(post_mp(adm, "/admin/depts/import", good, ct)))
    eq(dept_count(srv, code), 1, "the same body, well-formed")


def test_chunked_upload():
    srv = shared()
    adm = srv.admin()
    code = new_code()
    body, ct = multipart([("_csrf", adm.csrf)], [("file", "d.csv", (CSV_HEAD + "%s,分块,,county,1\n" % code).encode(), "text/csv")])
    chunks = [body[i:i + 37] for i in range(0, len(body), 37)]
    enc = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"
    head = ("POST /admin/depts/import HTTP/1.1\r\nHost: x\r\nCookie: %s\r\nContent-Type: %s\r\n"
            "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" % (adm.cookie_header(), ct)).encode()
    status, raw = raw_exchange(srv.port, head + enc)
    eq(status, 303, "chunked multipart upload (%r)" % raw[:300])
    m = re.search(rb"Location: /jobs/(\d+)", raw)
    check(m, "no job in the answer")
    wait_job(adm, int(m.group(1)))
    eq(dept_count(srv, code), 1, "department from a chunked upload")


def slow_exchange(port, parts, pause=0.3):
    """Sends parts with a pause between them (so the server reads them as separate chunks)
    and returns (status, raw reply)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    out = b""
    try:
        for i, p in enumerate(parts):
            if i:
                time.sleep(pause)
            s.sendall(p)
        while True:
            b = s.recv(65536)
            if not b:
                break
            out += b
    finally:
        s.close()
    m = re.match(rb"HTTP/1\.[01] (\d{3})", out)
    return (int(m.group(1)) if m else None), out


def test_parts_split_across_reads():
    """A part whose bytes arrive only after a pause (the parser first announces it with no
    bytes, then gives them at offset 0 again) is still one part, not two."""
    srv = shared()
    adm = srv.admin()
    code = new_code()
    csv = (CSV_HEAD + "%s,分段,,county,1\n" % code).encode()
    body, ct = multipart([("_csrf", adm.csrf)], [("file", "d.csv", csv, "text/csv")])
    head = ("POST /admin/depts/import HTTP/1.1\r\nHost: x\r\nCookie: %s\r\nContent-Type: %s\r\n"
            "Content-Length: %d\r\nConnection: close\r\n\r\n" % (adm.cookie_header(), ct, len(body))).encode()
    # Cut after each part's blank line, and 2 bytes into the file: the parser announces the
    # file with no bytes, then gives its first bytes at offset 0 again.
    cuts = [m.end() for m in re.finditer(rb"\r\n\r\n", body)]
    eq(len(cuts), 2, "part headers in the test body")
    parts = [head + body[:cuts[0]], body[cuts[0]:cuts[1]], body[cuts[1]:cuts[1] + 2], body[cuts[1] + 2:]]
    status, raw = slow_exchange(srv.port, parts)
    eq(status, 303, "upload sent in pieces (%r)" % raw[:400])
    m = re.search(rb"Location: /jobs/(\d+)", raw)
    wait_job(adm, int(m.group(1)))
    eq(dept_count(srv, code), 1, "department from an upload sent in pieces")
    # The same with an empty text value split off: still a single (empty) field.
    body, ct = multipart([("_csrf", adm.csrf), ("csv", "")], [("file", "d.csv", csv, "text/csv")])
    head = ("POST /admin/depts/import HTTP/1.1\r\nHost: x\r\nCookie: %s\r\nContent-Type: %s\r\n"
            "Content-Length: %d\r\nConnection: close\r\n\r\n" % (adm.cookie_header(), ct, len(body))).encode()
    cuts = [m.end() for m in re.finditer(rb"\r\n\r\n", body)]
    parts = [head + body[:cuts[1]], body[cuts[1]:cuts[2]], body[cuts[2]:]]
    status, raw = slow_exchange(srv.port, parts)
    eq(status, 303, "empty field then a file, in pieces (%r)" % raw[:400])


def test_upload_size_limits():
    # A small max_upload so the limits are quick to reach.
    with private_server(env={"YIZHAN_MAX_UPLOAD": "65536", "YIZHAN_MAX_BODY": "65536"}) as srv:
        adm = srv.admin()
        code = new_code()
        row = "%s,大文件,,county,1\n" % code
        big = (CSV_HEAD + row + "# " + "x" * 70000 + "\n").encode()
        body, ct = multipart([("_csrf", adm.csrf), ("csv", "先粘贴的文字")], [("file", "big.csv", big, "text/csv")])
        r = post_mp(adm, "/admin/depts/import", body, ct)
        r.expect(413, "file over max_upload")
        check(TOO_LARGE_MSG in r.text, "413 does not say the file is too large")
        check('id="file-error"' in r.text, "413 not shown by the file field")
        check("先粘贴的文字" in r.text, "the form lost the text typed before the file")
        eq(dept_count(srv, code), 0, "department imported from a file over the limit")
        # Exactly at the limit is accepted (padded with blank lines; only the answer to the
        # request is checked here, not the import).
        exact = (CSV_HEAD + row).encode()
        exact += b"\n" * (65536 - len(exact))
        body, ct = multipart([("_csrf", adm.csrf)], [("file", "exact.csv", exact, "text/csv")])
        job_of(post_mp(adm, "/admin/depts/import", body, ct))
        # Text fields together stay within max_body, as in an urlencoded form.
        body, ct = multipart([("_csrf", adm.csrf), ("csv", "y" * 70000)])
        post_mp(adm, "/admin/depts/import", body, ct).expect(413, "text over max_body")
        # A declared length over 8 x max_upload + max_body + 64 KiB: refused before reading.
        limit = 8 * 65536 + 65536 + 65536
        head = ("POST /admin/depts/import HTTP/1.1\r\nHost: x\r\nCookie: %s\r\nContent-Type: %s\r\n"
                "Content-Length: %d\r\nConnection: close\r\n\r\n" % (adm.cookie_header(), ct, limit + 1)).encode()
        status, _ = raw_exchange(srv.port, head + body[:100], timeout=5)
        eq(status, 413, "declared multipart length over the limit")
        # The same length is fine for multipart but not for an urlencoded body (max_body).
        head = ("POST /admin/depts/import HTTP/1.1\r\nHost: x\r\nCookie: %s\r\n"
                "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n"
                "Connection: close\r\n\r\n" % (adm.cookie_header(), 65537)).encode()
        status, _ = raw_exchange(srv.port, head, timeout=5)
        eq(status, 413, "urlencoded over max_body")
        # Parts together over the multipart limit, chunked (no length to refuse first): the
        # rest is read and dropped, memory stays bounded, the answer is 413.
        part = b"x" * 60000
        body, ct = multipart([("_csrf", adm.csrf)], [("file", "p%d.csv" % i, part, "text/csv") for i in range(8)] +
                             [("f%d" % i, "q.csv", part, "text/csv") for i in range(4)])
        chunks = [body[i:i + 65536] for i in range(0, len(body), 65536)]
        enc = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"
        head = ("POST /admin/depts/import HTTP/1.1\r\nHost: x\r\nCookie: %s\r\nContent-Type: %s\r\n"
                "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" % (adm.cookie_header(), ct)).encode()
        status, raw = raw_exchange(srv.port, head + enc, timeout=10)
        eq(status, 413, "body over the multipart limit (%r)" % raw[:200])
        srv.client().get("/healthz").expect(200, "healthz after the size tests")
