"""The sharing API and department API tokens: GET /api/v1/share/{registry}/{key} and the batch
form answer only what the caller's department may read (a grant's fields, the unconditional
ones, everything for the owner; 不予共享 never leaves the owner); calls outside a grant are
refused with the reason; revoked, expired, forged and malformed tokens are refused with 401 and
audited; every call is audited and every record read is logged for the data subject.
src/apps/share/api.c, tokens.c, src/core/apitoken.c."""
import re

from harness import check, eq, shared
from test_share_readlog import settle   # reads are recorded through the read journal (~0.1 s)

_clients = {}


def srv():
    return shared("share_api")


def client(login):
    s = srv()
    key = (s.port, login)
    if key not in _clients:
        c = s.client()
        c.login_as(login)
        _clients[key] = c
    return _clients[key]


def count(q, params=()):
    return int(srv().sql_value(q, params))


def new_token(login, name, scopes, expires=None):
    """Creates a token on the tokens page; returns (id, clear token)."""
    c = client(login)
    page = c.get("/share/tokens").expect(200, "tokens page").text
    csrf = re.search(r'name="_csrf" value="([^"]+)"', page).group(1)
    fields = {"_csrf": csrf, "name": name, "scopes": scopes}
    if expires:
        fields["expires"] = expires
    r = c.post_form("/share/tokens", fields).expect(200, "create token")
    m = re.search(r'id="new-token"[^>]*>(yzt_(\d+)_[A-Z2-7]{32})<', r.text)
    check(m is not None, "the clear token is shown once: %s" % r.short())
    return int(m.group(2)), m.group(1)


def bearer(tok):
    return {"Authorization": "Bearer " + tok}


def anon():
    return srv().client()


def person_key(n=0):
    return srv().sql("SELECT id_no FROM reg_population ORDER BY id_no LIMIT 1 OFFSET ?", (n,))[0][0]


def grant(requester, fields, purpose, days=30):
    rq = client(requester).post_json("/api/v1/share/requests", {
        "registry": "population", "fields": fields, "purpose": purpose, "days": days}).expect(201).json()
    done = client("zhao.psb").post_json("/api/v1/share/requests/%d/decision" % rq["id"],
                                        {"decision": "approve"}).expect(200).json()
    return done["grant_id"]


_amr = {}


def amr_token():
    if "tok" not in _amr:
        _amr["id"], _amr["tok"] = new_token("li.amr", "市场监管业务系统", "population, enterprise")
    return _amr["tok"]


def test_token_page_stores_only_a_hash():
    tid, tok = new_token("sun.mca", "民政核查系统", "population")
    row = srv().sql("SELECT hash, scopes, dept_id FROM api_tokens WHERE id = ?", (tid,))[0]
    check(tok not in row[0] and tok.split("_")[2] not in row[0], "the clear token is not stored")
    eq(len(row[0]), 64, "a 256-bit hash")
    eq(row[1], "population", "scopes")
    page = client("sun.mca").get("/share/tokens").expect(200).text
    check(tok not in page, "the token is shown only once")
    check("民政核查系统" in page and "从未使用" in page, "listed with its last use")
    check(count("SELECT COUNT(*) FROM audit_log WHERE action = 'token.create' AND object = ?",
                ("api_token:%d" % tid,)) == 1, "creation audited")
    check(count("SELECT COUNT(*) FROM audit_log WHERE detail LIKE ?", ("%" + tok.split("_")[2] + "%",)) == 0,
          "no secret in the audit")
    # bad input and roles
    c = client("sun.mca")
    csrf = re.search(r'name="_csrf" value="([^"]+)"', c.get("/share/tokens").text).group(1)
    r = c.post_form("/share/tokens", {"_csrf": csrf, "name": "x", "scopes": "Population;"})
    r.expect(400, "bad scopes")
    check("授权范围须为资源编码列表" in r.text, "scope error shown")
    c.post_form("/share/tokens", {"_csrf": csrf, "name": "民政核查系统", "scopes": "population"}).expect(400, "name taken")
    client("wang.mca").get("/share/tokens").expect(403, "staff are not department admins")


def test_outside_grant_refused_then_granted_fields_only():
    tok = amr_token()
    key = person_key()
    amr = int(srv().sql_value("SELECT id FROM departments WHERE code = 'amr'"))
    err = anon().get("/api/v1/share/population/" + key, headers=bearer(tok)).expect_error(403, "SHARE_NO_GRANT")
    check("没有获得" in err["message"], "reason: no grant: %r" % err)
    eq(err.get("reason"), "no_grant", "machine-readable reason")
    settle(srv())
    check(count("SELECT COUNT(*) FROM audit_log WHERE action = 'share.refuse' AND dept_id = ?", (amr,)) >= 1,
          "refusal audited")
    gid = grant("li.amr", ["name", "birth_date"], "企业法定代表人身份核验")
    audits = count("SELECT COUNT(*) FROM audit_log WHERE action = 'share.read'")
    accesses = count("SELECT COUNT(*) FROM reg_access WHERE basis = ?", ("grant:%d" % gid,))
    doc = anon().get("/api/v1/share/population/" + key, headers=bearer(tok)).expect(200, "granted read").json()
    eq(sorted(doc["record"].keys()), ["birth_date", "name"], "only the granted fields")
    eq(doc["grant_id"], gid, "grant")
    eq(doc["basis"], "grant:%d" % gid, "basis")
    eq(doc["purpose"], "企业法定代表人身份核验", "purpose defaults to the grant's")
    check("*" not in doc["record"]["name"], "a grant reads unmasked")
    settle(srv())
    eq(count("SELECT COUNT(*) FROM audit_log WHERE action = 'share.read'"), audits + 1, "read audited")
    detail = srv().sql("SELECT detail, actor FROM audit_log WHERE action = 'share.read' ORDER BY seq DESC LIMIT 1")[0]
    check(key not in detail[0], "the clear key is not in the audit: %s" % detail[0])
    check('"grant":%d' % gid in detail[0] and "birth_date,name" in detail[0] or "name,birth_date" in detail[0],
          "audit names grant and fields: %s" % detail[0])
    check(detail[1].startswith("token:"), "the caller is the token: %r" % detail[1])
    eq(count("SELECT COUNT(*) FROM reg_access WHERE basis = ?", ("grant:%d" % gid,)), accesses + 1, "access logged")
    row = srv().sql("SELECT via, fields, purpose, subject_hash FROM reg_access WHERE basis = ? ORDER BY id DESC LIMIT 1",
                    ("grant:%d" % gid,))[0]
    eq(row[0], "api", "via")
    check(row[3] and key not in row[3], "subject stored hashed")
    # a field outside the grant, a 不予共享 field, an unknown field
    err = anon().get("/api/v1/share/population/%s?fields=name,address" % key, headers=bearer(tok)).expect_error(
        403, "SHARE_NO_GRANT", "address")
    check("住址" in err["message"], "names the field: %r" % err)
    eq(err.get("reason"), "field_not_granted", "reason")
    err = anon().get("/api/v1/share/population/%s?fields=phone" % key, headers=bearer(tok)).expect_error(
        403, "SHARE_NO_GRANT", "phone")
    eq(err.get("reason"), "field_not_shared", "reason for 不予共享")
    anon().get("/api/v1/share/population/%s?fields=nope" % key, headers=bearer(tok)).expect_error(
        400, "SHARE_FIELD_UNKNOWN", "fields")
    doc = anon().get("/api/v1/share/population/%s?fields=name&purpose=%s" % (key, "%E5%B9%B4%E6%8A%A5%E6%A0%B8%E9%AA%8C"),
                     headers=bearer(tok)).expect(200).json()
    eq(list(doc["record"].keys()), ["name"], "?fields narrows")
    eq(doc["purpose"], "年报核验", "?purpose")
    # unknown and malformed keys
    anon().get("/api/v1/share/population/110101199001011237", headers=bearer(tok)).expect_error(404, "SHARE_NO_RECORD")
    anon().get("/api/v1/share/population/12345", headers=bearer(tok)).expect_error(400, "SHARE_BAD_KEY", "key")
    anon().get("/api/v1/share/nothing/1", headers=bearer(tok)).expect_error(404, "SHARE_NO_REGISTRY")


def test_expired_and_revoked_grants_refused():
    tok = amr_token()
    key = person_key(1)
    gid = grant("li.amr", ["sex"], "个体工商户经营者身份核验")
    anon().get("/api/v1/share/population/%s?fields=sex" % key, headers=bearer(tok)).expect(200)
    # every amr grant on population expired: refused as expired
    srv().sql("UPDATE share_grants SET expires = '2000-01-01' WHERE grantee_dept_id = "
              "(SELECT id FROM departments WHERE code = 'amr') AND revoked_at IS NULL")
    err = anon().get("/api/v1/share/population/" + key, headers=bearer(tok)).expect_error(403, "SHARE_NO_GRANT")
    eq(err.get("reason"), "grant_expired", "expired: %r" % err)
    check("过期" in err["message"], "message says expired")
    gid = grant("li.amr", ["sex"], "个体工商户经营者身份核验")
    anon().get("/api/v1/share/population/" + key, headers=bearer(tok)).expect(200)
    client("zhao.psb").post_json("/api/v1/share/grants/%d/revoke" % gid, {"reason": "超出用途使用"}).expect(200)
    err = anon().get("/api/v1/share/population/" + key, headers=bearer(tok)).expect_error(403, "SHARE_NO_GRANT")
    eq(err.get("reason"), "grant_revoked", "revoked: %r" % err)
    check("撤销" in err["message"], "message says revoked")


def test_bad_tokens_refused_and_audited():
    tid, tok = new_token("li.amr", "临时令牌", "population")
    key = person_key()
    path = "/api/v1/share/population/" + key
    before = count("SELECT COUNT(*) FROM audit_log WHERE action = 'token.reject'")
    forged = tok[:-1] + ("A" if tok[-1] != "A" else "B")
    anon().get(path, headers=bearer(forged)).expect_error(401, "TOKEN_UNKNOWN")
    anon().get(path, headers=bearer("yzt_%d_short" % tid)).expect_error(401, "TOKEN_MALFORMED")
    anon().get(path, headers=bearer("not-a-token")).expect_error(401, "TOKEN_MALFORMED")
    anon().get(path, headers=bearer("yzt_999999_" + "A" * 32)).expect_error(401, "TOKEN_UNKNOWN")
    anon().get(path).expect_error(401, "SHARE_NEED_TOKEN")
    rows = srv().sql("SELECT object, detail FROM audit_log WHERE action = 'token.reject' ORDER BY seq DESC LIMIT 4")
    eq(count("SELECT COUNT(*) FROM audit_log WHERE action = 'token.reject'"), before + 4, "each refusal audited")
    check(any(r[0] == "api_token:%d" % tid for r in rows), "the parsed id is audited: %r" % rows)
    check(all(forged.split("_")[2] not in (r[1] or "") for r in rows), "never the token")
    # revoked on the page
    c = client("li.amr")
    csrf = re.search(r'name="_csrf" value="([^"]+)"', c.get("/share/tokens").text).group(1)
    c.post_form("/share/tokens/%d/revoke" % tid, {"_csrf": csrf}).expect(303, "revoke")
    anon().get(path, headers=bearer(tok)).expect_error(401, "TOKEN_REVOKED")
    check("已吊销" in c.get("/share/tokens").text, "listed as revoked")
    # another department's admin cannot revoke it
    tid2, tok2 = new_token("li.amr", "到期令牌", "population")
    s = client("sun.mca")
    csrf = re.search(r'name="_csrf" value="([^"]+)"', s.get("/share/tokens").text).group(1)
    s.post_form("/share/tokens/%d/revoke" % tid2, {"_csrf": csrf}).expect(404, "other department's token")
    # expired
    srv().sql("UPDATE api_tokens SET expires_at = 1000 WHERE id = ?", (tid2,))
    anon().get(path, headers=bearer(tok2)).expect_error(401, "TOKEN_EXPIRED")


def test_scope_staff_session_unconditional_and_owner():
    key = person_key()
    # a token whose scopes exclude the registry
    _, tok = new_token("li.amr", "企业库专用", "enterprise")
    err = anon().get("/api/v1/share/population/" + key, headers=bearer(tok)).expect_error(403, "SHARE_TOKEN_SCOPE")
    eq(err.get("reason"), "token_scope", "reason")
    # a staff session of mca reads the demo grant's fields; phone (不予共享) never
    w = client("wang.mca")
    doc = w.get("/api/v1/share/population/" + key).expect(200, "staff session").json()
    eq(sorted(doc["record"].keys()), ["address", "household_no", "name"], "the demo grant's fields")
    eq(doc["purpose"], "最低生活保障审核", "the demo grant's purpose")
    check("phone" not in doc["record"], "不予共享 never leaves the owner")
    # the owner reads everything, phone included
    doc = client("zhao.psb").get("/api/v1/share/population/" + key).expect(200, "owner").json()
    check("phone" in doc["record"] and "id_no" in doc["record"], "owner reads every field")
    eq(doc["basis"], "owner", "basis owner")
    # unconditional fields of enterprise for any department, personal ones masked away
    uscc = srv().sql("SELECT uscc FROM reg_enterprise LIMIT 1")[0][0]
    doc = w.get("/api/v1/share/enterprise/" + uscc).expect(200, "unconditional").json()
    eq(doc["basis"], "unconditional", "basis")
    eq(sorted(doc["record"].keys()), ["est_date", "name", "status", "uscc"], "unconditional fields only")
    err = w.get("/api/v1/share/enterprise/%s?fields=legal_rep_name" % uscc).expect_error(403, "SHARE_NO_GRANT",
                                                                                        "legal_rep_name")
    eq(err.get("reason"), "no_grant", "no grant for the conditional field")
    # citizens and anonymous callers
    c = srv().client()
    c.login_as("chen")
    c.get("/api/v1/share/population/" + key).expect_error(403, "SHARE_NO_DEPT")


def test_batch():
    tok = amr_token()
    grant("li.amr", ["name"], "企业登记法定代表人批量核验")
    keys = [person_key(0), person_key(1), "110101199001011237"]
    settle(srv())
    accesses = count("SELECT COUNT(*) FROM reg_access WHERE via = 'batch'")
    doc = anon().post_json("/api/v1/share/population/batch", {"keys": keys, "fields": ["name"]},
                           headers=bearer(tok), csrf=False).expect(200, "batch").json()
    eq(sorted(doc["items"].keys()), sorted(keys), "one item per key")
    eq(doc["items"][keys[2]], None, "unknown key is null")
    eq(list(doc["items"][keys[0]].keys()), ["name"], "only the asked field")
    settle(srv())
    eq(count("SELECT COUNT(*) FROM reg_access WHERE via = 'batch'"), accesses + 2, "one access row per record")
    detail = srv().sql_value("SELECT detail FROM audit_log WHERE action = 'share.read' ORDER BY seq DESC LIMIT 1")
    check(keys[0] not in detail and '"found":2' in detail, "batch audit: masked keys, count: %s" % detail)
    anon().post_json("/api/v1/share/population/batch", {"keys": ["x"] * 101}, headers=bearer(tok),
                     csrf=False).expect_error(400, "SHARE_BATCH_TOO_MANY", "keys")
    anon().post_json("/api/v1/share/population/batch", {"keys": [keys[0]], "fields": ["phone"]}, headers=bearer(tok),
                     csrf=False).expect_error(403, "SHARE_NO_GRANT", "phone")
    anon().post_json("/api/v1/share/population/batch", {"keys": [keys[0], "bad"]}, headers=bearer(tok),
                     csrf=False).expect_error(400, "SHARE_BAD_KEY", "keys[1]")
    anon().post_json("/api/v1/share/population/batch", {"keys": [keys[0]], "extra": 1}, headers=bearer(tok),
                     csrf=False).expect(400, "unknown member")
    # a staff session needs its CSRF token on the batch
    w = client("wang.mca")
    w.post_json("/api/v1/share/population/batch", {"keys": [keys[0]]}, csrf=False).expect(403, "no CSRF")
    w.post_json("/api/v1/share/population/batch", {"keys": [keys[0]]}).expect(200, "with CSRF")


def test_token_cli_create_list_revoke():
    """`yizhan token create|list|revoke` gives operators the same tokens as the page: the
    token printed once works on the sharing API, list shows it, revoke ends it (401)."""
    s = srv()
    rc, out, err = s.cli("token", "create", "--dept", "mca", "--name", "命令行令牌", "--scopes", "population")
    eq(rc, 0, "token create: %s" % err)
    tok = out.strip()
    m = re.fullmatch(r"yzt_(\d+)_[A-Z2-7]{32}", tok)
    check(m is not None, "printed token has the documented shape: %r" % out)
    tid = m.group(1)
    check(count("SELECT COUNT(*) FROM audit_log WHERE action = 'token.create' AND object = ?",
                ("api_token:" + tid,)) == 1, "creation audited")
    r = anon().get("/api/v1/share/population/" + person_key(3), headers=bearer(tok))
    eq(r.status, 200, "a CLI token reads within the department's grant: %s" % r.short())
    rc, out, _ = s.cli("token", "list", "--dept", "mca")
    check(rc == 0 and "命令行令牌" in out and "active" in out, "list shows it: %r" % out)
    rc, _, err = s.cli("token", "create", "--dept", "mca", "--name", "命令行令牌", "--scopes", "population")
    check(rc != 0 and "live token of that name" in err, "a second live token of one name is refused")
    rc, _, err = s.cli("token", "create", "--dept", "nosuch", "--name", "x", "--scopes", "*")
    check(rc == 2 and "--dept" in err, "an unknown department is refused naming --dept")
    rc, _, err = s.cli("token", "create", "--dept", "mca", "--name", "y", "--scopes", "bad code")
    check(rc == 2 and "--scopes" in err, "malformed scopes are refused naming --scopes")
    rc, out, err = s.cli("token", "revoke", "--dept", "mca", tid)
    eq(rc, 0, "token revoke: %s" % err)
    r = anon().get("/api/v1/share/population/" + person_key(3), headers=bearer(tok))
    eq(r.status, 401, "a revoked token is refused")
    eq(r.json()["error"]["code"], "TOKEN_REVOKED", "with the reason")
