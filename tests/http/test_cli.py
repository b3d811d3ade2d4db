"""The command line: init, user, dept, audit, config, --help; and a first sign-in
of the admin that `yizhan init` creates (one-time password, second-factor set-up)."""
import os
import re

from harness import STRONG_PW, Client, Server, check, eq, totp_code, totp_step


def _pw(out):
    m = re.search(r"one-time password: (\S+)", out)
    check(m is not None, "no one-time password in %r" % out)
    return m.group(1)


def test_cli_help_and_errors():
    srv = Server(demo=False, name="cli-help")
    try:
        for cmd in (["--help"], ["serve", "--help"], ["init", "--help"], ["user", "--help"],
                    ["dept", "--help"], ["audit", "--help"], ["config"], ["version"]):
            code, out, err = srv.cli(*cmd)
            eq(code, 0, "yizhan %s exit status (stderr %r)" % (" ".join(cmd), err))
            check(out.strip() != "", "yizhan %s printed nothing" % " ".join(cmd))
        code, out, err = srv.cli("config")
        for key in ("store", "port", "session_idle", "login_max_fail_account", "uscc_allow"):
            check(re.search(r"^%s = " % key, out, re.M), "config does not document %s" % key)
        code, out, err = srv.cli("frobnicate")
        check(code != 0 and "unknown command" in err, "unknown command: %r %r" % (code, err))
        code, out, err = srv.cli("user", "explode", "x")
        check(code != 0, "unknown user subcommand exit status %r" % code)
    finally:
        srv.cleanup()


def test_cli_init_users_departments():
    srv = Server(demo=False, name="cli")
    try:
        code, out, err = srv.cli("init")
        eq(code, 0, "init exit status (stderr %r)" % err)
        admin_pw = _pw(out)
        code, out, err = srv.cli("init")
        check(code != 0, "a second init must refuse (the admin exists): %r" % out)

        code, out, err = srv.cli("dept", "add", "--code", "amr", "--name", "市场监督管理局", "--level", "city",
                                 "--parent", "egov")
        eq(code, 0, "dept add (stderr %r)" % err)
        code, out, err = srv.cli("dept", "add", "--code", "bad code", "--name", "X", "--level", "city")
        check(code != 0 and "code" in err, "dept add with a bad code: %r %r" % (code, err))
        code, out, err = srv.cli("dept", "add", "--code", "x1", "--name", "X", "--level", "galaxy")
        check(code != 0, "dept add with a bad level: %r" % code)

        csv_path = os.path.join(srv.dir, "depts.csv")
        with open(csv_path, "w", encoding="utf-8") as f:
            f.write("code,name,parent_code,level\nmz,明珠区人民政府,egov,county\nmz-hb,海滨街道,mz,town\n")
        code, out, err = srv.cli("dept", "import", csv_path)
        eq(code, 0, "dept import (stderr %r)" % err)
        check("created 2" in out, "dept import output %r" % out)
        with open(csv_path, "w", encoding="utf-8") as f:
            f.write("code,name,parent_code,level\nok1,好,egov,county\nbad,坏,nowhere,county\n")
        code, out, err = srv.cli("dept", "import", csv_path)
        check(code != 0 and "row 3" in err and "nothing imported" in err, "bad import: %r" % err)
        code, out, err = srv.cli("dept", "list")
        eq(code, 0, "dept list")
        check("明珠区人民政府" in out and "海滨街道" in out and "ok1" not in out, "dept list %r" % out)

        code, out, err = srv.cli("user", "add", "--login", "zhang", "--name", "张三", "--dept", "amr",
                                 "--role", "dept_admin")
        eq(code, 0, "user add (stderr %r)" % err)
        _pw(out)
        code, out, err = srv.cli("user", "add", "--login", "zhang", "--name", "又一个")
        check(code != 0, "user add with a taken login must fail")
        code, out, err = srv.cli("user", "role", "zhang", "mz", "staff")
        eq(code, 0, "user role (stderr %r)" % err)
        code, out, err = srv.cli("user", "role", "zhang", "mz", "emperor")
        check(code != 0, "an unknown role must fail")
        code, out, err = srv.cli("user", "list")
        check("zhang" in out and "admin" in out, "user list %r" % out)
        code, out, err = srv.cli("user", "otp", "zhang")
        check(code != 0 and "no second factor" in err, "otp without TOTP: %r" % err)
        code, out, err = srv.cli("user", "disable", "zhang")
        eq(code, 0, "user disable")
        eq(srv.sql_value("SELECT disabled FROM users WHERE login = ?", ("zhang",)), "1", "disabled flag")

        # the CLI's writes are in the audit chain, and it verifies
        code, out, err = srv.cli("audit", "verify")
        eq(code, 0, "audit verify after CLI writes: %r %r" % (out, err))
        actions = [r[0] for r in srv.sql("SELECT action FROM audit_log ORDER BY seq")]
        for want in ("dept.create", "dept.import", "user.create", "user.role_add", "user.disable"):
            check(want in actions, "no %s in the audit log %r" % (want, actions))

        # First sign-in of the init admin: one-time password, then second-factor set-up.
        srv.start()
        c = srv.client()
        r = c.post_json("/api/v1/session", {"login": "admin", "password": admin_pw}, csrf=False).expect(201)
        eq(r.json()["state"], "totp_enrollment_required", "init admin state")
        page = c.get("/login/enroll").expect(200, "enrolment page")
        m = re.search(r"\b([A-Z2-7]{32})\b", page.text)
        check(m is not None, "no TOTP secret on the enrolment page")
        secret = m.group(1)
        csrf = Client.hidden(page.text, "_csrf")
        r = c.post_form("/login/enroll", {"code": totp_code(secret, totp_step()), "_csrf": csrf}, csrf=False)
        eq(r.status, 303, "enrolment accepted")
        me = c.get("/api/v1/me").expect(200).json()
        eq(me["must_change_password"], True, "one-time password must be changed")
        eq(me["totp_enabled"], True, "TOTP enabled after enrolment")
        code, out, err = srv.cli("user", "otp", "admin")
        check(code == 0 and re.fullmatch(r"\d{6}\n", out), "user otp prints a code: %r" % out)
        srv.stop()
    finally:
        srv.cleanup()
