"""SIGTERM stops the server cleanly; what was acknowledged survives a restart."""
import os
import re
import subprocess
import time

from harness import STRONG_PW, Server, check, eq, fresh_idcard, private_server, uniq


def test_sigterm_and_restart_keeps_data():
    with private_server() as srv:
        c = srv.client()
        login = uniq("k")
        r = c.post_json("/api/v1/register", {"kind": "citizen", "login": login, "name": "重启测试",
                                             "id_number": fresh_idcard(), "phone": "13912345678",
                                             "password": STRONG_PW, "password2": STRONG_PW}, csrf=False)
        r.expect(201, "register before SIGTERM")
        uid = r.json()["id"]
        adm = srv.admin()
        code = uniq("rs")
        adm.post_json("/api/v1/depts", {"code": code, "name": "重启局", "level": "county", "parent_id": 1}).expect(201)
        creds_before = dict(srv.creds)
        srv.stop()      # asserts exit status 0 and no sanitizer report
        log = srv.stderr()
        check("stopped cleanly" in log, "no 'stopped cleanly' in the log:\n%s" % log[-1500:])

        srv.start()
        eq(srv.creds, creds_before, "demo accounts after restart (seeded once)")
        c = srv.client()
        c.login_api(login, STRONG_PW)
        me = c.get("/api/v1/me").expect(200).json()
        eq((me["id"], me["login"], me["name"]), (uid, login, "重启测试"), "account after restart")
        eq(srv.sql_value("SELECT COUNT(*) FROM departments WHERE code = ?", (code,)), "1", "department after restart")
        n_demo = int(srv.sql_value("SELECT COUNT(*) FROM users WHERE login = 'chen'"))
        eq(n_demo, 1, "demo not seeded twice")
        # the stop also signed a checkpoint, and the chain verifies
        srv.stop()
        rc, out, err = srv.cli("audit", "verify")
        eq(rc, 0, "audit verify after two runs: %s %s" % (out, err))
        m = re.search(r"(\d+) signed checkpoints", out)
        check(m and int(m.group(1)) >= 2, "checkpoints: %r" % out)
        srv.start()     # private_server stops it again


def test_sigterm_while_idle_connection_open():
    # a client holding an idle keep-alive connection must not keep the server from stopping
    import socket
    with private_server() as srv:
        s = socket.create_connection(("127.0.0.1", srv.port))
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        data = s.recv(4096)
        check(data.startswith(b"HTTP/1.1 200"), "keep-alive answer %r" % data[:50])
        try:
            srv.stop(timeout=25)
        finally:
            s.close()
        check("stopped cleanly" in srv.stderr(), "no 'stopped cleanly' in the log")
        srv.start()


def test_port_in_use_refused():
    # A second server on a port that is taken must refuse to start, not share the port
    # (SO_REUSEPORT) and silently take half of the first server's connections.
    with private_server() as srv:
        other = Server(name="second")
        try:
            os.makedirs(other.data, exist_ok=True)
            log = os.path.join(other.dir, "second.log")
            with open(log, "wb") as errf:
                p = subprocess.Popen(other.base_args() + ["serve", "--port", str(srv.port)],
                                     stdout=subprocess.DEVNULL, stderr=errf, env=other.environ())
            deadline = time.time() + 30
            while p.poll() is None and time.time() < deadline:
                with open(log, "rb") as f:
                    if b"listening on" in f.read():
                        break
                time.sleep(0.1)
            rc = p.poll()
            if rc is None:
                p.terminate()
                p.wait(30)
            with open(log, "rb") as f:
                err = f.read().decode("utf-8", "replace")
            check(rc is not None and rc != 0,
                  "a second `yizhan serve --port %d` started on the port in use (both listen; the kernel "
                  "splits connections between them); its log:\n%s" % (srv.port, err[-600:]))
            check("cannot listen" in err, "no 'cannot listen' in the second server's log:\n%s" % err[-600:])
        finally:
            other.cleanup()
        srv.client().get("/healthz").expect(200, "first server after the attempt")


def test_sigterm_lets_a_request_in_flight_finish():
    """A submission whose body is still arriving when SIGTERM comes is answered and
    committed; new connections are refused meanwhile; then the server exits 0."""
    import json
    import signal
    import socket
    with private_server() as srv:
        login = uniq("f")
        body = json.dumps({"kind": "citizen", "login": login, "name": "在途提交", "id_number": fresh_idcard(),
                           "phone": "13912345678", "password": STRONG_PW, "password2": STRONG_PW}).encode()
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
        head = ("POST /api/v1/register HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                "Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body)).encode()
        s.sendall(head + body[:10])
        time.sleep(0.3)                      # the server has the request's head and part of its body
        srv.proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        check(srv.proc.poll() is None, "the server exited with a request in flight")
        refused = False
        try:
            socket.create_connection(("127.0.0.1", srv.port), timeout=2).close()
        except OSError:
            refused = True
        check(refused, "a new connection was accepted while stopping")
        s.sendall(body[10:])
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        s.close()
        check(data.startswith(b"HTTP/1.1 201"), "the request in flight was not answered 201: %r" % data[:200])
        srv.proc.wait(timeout=30)
        eq(srv.proc.returncode, 0, "exit status after SIGTERM")
        # committed: after a restart the account is there
        srv.start()
        eq(srv.sql_value("SELECT COUNT(*) FROM users WHERE login = ?", (login,)), "1", "the in-flight account")
