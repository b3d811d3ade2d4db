"""The audit chain: `yizhan audit verify` proves it and names the first altered entry."""
import re

from harness import STRONG_PW, check, eq, fresh_idcard, private_server, uniq


def verify(srv):
    code, out, err = srv.cli("audit", "verify")
    return code, out + err


def test_audit_verify_and_tamper():
    with private_server() as srv:
        c = srv.client()
        login = uniq("a")
        c.post_json("/api/v1/register", {"kind": "citizen", "login": login, "name": "审计测试", "id_number": fresh_idcard(),
                                         "phone": "13912345678", "password": STRONG_PW, "password2": STRONG_PW},
                    csrf=False).expect(201)
        c.login_api(login, STRONG_PW)
        c.post_json("/api/v1/session", {"login": login, "password": "wrong-password-1"}, csrf=False).expect(401)
        adm = srv.admin()
        adm.post_json("/api/v1/depts", {"code": uniq("au"), "name": "审计局", "level": "county", "parent_id": 1}).expect(201)
        srv.stop()   # the CLI works on the data folder alone

        code, out = verify(srv)
        eq(code, 0, "audit verify exit status on an intact chain (output %r)" % out)
        check(out.startswith("OK"), "audit verify output: %r" % out)
        rows = srv.sql("SELECT seq, action, detail FROM audit_log ORDER BY seq")
        check(len(rows) >= 6, "audit entries: %r" % rows)
        actions = [r[1] for r in rows]
        for want in ("user.register", "login.ok", "login.fail", "dept.create"):
            check(want in actions, "no %s entry in the audit log: %r" % (want, actions))
        # no secrets in the trail
        text = repr(rows)
        check(STRONG_PW not in text and "wrong-password-1" not in text, "a password in the audit log")

        # alter the detail of the user.register entry
        seq, action, detail = next(r for r in rows if r[1] == "user.register")
        srv.sql("UPDATE audit_log SET detail = ? WHERE seq = ?", ('{"kind":"enterprise"}', int(seq)))
        code, out = verify(srv)
        eq(code, 1, "audit verify exit status after altering entry %s (output %r)" % (seq, out))
        named = set(re.findall(r"entry (\d+)", out))
        eq(named, {seq}, "entries named by audit verify (output %r)" % out)
        check("BROKEN" in out, "output %r" % out)

        # put it back: intact again
        srv.sql("UPDATE audit_log SET detail = ? WHERE seq = ?", (detail if detail not in (None, "") else None, int(seq)))
        code, out = verify(srv)
        eq(code, 0, "audit verify after restoring entry %s (output %r)" % (seq, out))

        # alter the action of a later entry
        seq2 = next(r[0] for r in rows if r[1] == "dept.create")
        srv.sql("UPDATE audit_log SET action = 'dept.delete' WHERE seq = ?", (int(seq2),))
        code, out = verify(srv)
        eq(code, 1, "audit verify exit status after altering the action of entry %s" % seq2)
        eq(set(re.findall(r"entry (\d+)", out)), {seq2}, "entries named (output %r)" % out)

        # removing an entry is noticed too
        srv.sql("UPDATE audit_log SET action = 'dept.create' WHERE seq = ?", (int(seq2),))
        eq(verify(srv)[0], 0, "restored")
        mid = rows[len(rows) // 2][0]
        srv.sql("DELETE FROM audit_log WHERE seq = ?", (int(mid),))
        code, out = verify(srv)
        eq(code, 1, "audit verify after deleting entry %s (output %r)" % (mid, out))
