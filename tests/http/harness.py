"""
HTTP test harness for yizhan: starts the real binary on a free loopback
port with a fresh data folder (and, with --store-base, a fresh PostgreSQL
database), and talks HTTP to it.

Python 3 standard library only.

    srv = harness.shared()                 # a demo server shared by tests
    srv = harness.Server(env={...}).start()  # a private one; srv.stop() at the end
    c = srv.client()
    c.login_api("chen", srv.password("chen"))
    r = c.get("/api/v1/me"); r.expect(200)

run.py sets CONFIG and stops the shared servers at the end.
"""
import base64
import hashlib
import hmac
import http.client
import json
import os
import random
import re
import signal
import socket
import sqlite3
import struct
import subprocess
import tempfile
import time
import urllib.parse

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

CONFIG = {
    "binary": os.path.join(REPO, "build", "asan", "yizhan"),
    "store_base": None,     # postgresql://user@host:port/db: each server gets its own database
    "keep": False,          # keep data folders (debugging)
}

SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "UndefinedBehaviorSanitizer", "runtime error")


class Skip(Exception):
    """Raised by a test that cannot run yet (the reason is printed)."""


class TestFailure(AssertionError):
    pass


def fail(msg):
    raise TestFailure(msg)


def check(cond, msg):
    if not cond:
        raise TestFailure(msg)


def eq(got, want, what):
    if got != want:
        raise TestFailure("%s: expected %r, got %r" % (what, want, got))


# ------------------------------------------------------------------ TOTP

def totp_code(secret_b32, step):
    """RFC 6238 (SHA-1, 6 digits) for one 30-second step."""
    s = secret_b32.strip().replace(" ", "").upper()
    s += "=" * (-len(s) % 8)
    key = base64.b32decode(s)
    mac = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    off = mac[-1] & 0x0F
    v = (struct.unpack(">I", mac[off:off + 4])[0] & 0x7FFFFFFF) % 1000000
    return "%06d" % v


def totp_step(now=None):
    return int((time.time() if now is None else now) // 30)


# ------------------------------------------------------------------ identifiers

IDCARD_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def idcard_check(first17):
    """ISO 7064 MOD 11-2 check character of a 身份证号 (GB 11643)."""
    s = sum(int(c) * w for c, w in zip(first17, IDCARD_WEIGHTS))
    return "10X98765432"[s % 11]


def idcard(region="440106", birth="19900101", seq=None):
    if seq is None:
        seq = "%03d" % random.randrange(1000)
    first = region + birth + seq
    return first + idcard_check(first)


_used_ids = set()


def fresh_idcard(region="440106", birth="19900101"):
    """A valid 身份证号 not handed out before in this run."""
    for _ in range(5000):
        v = idcard(region, birth)
        if v not in _used_ids:
            _used_ids.add(v)
            return v
    raise RuntimeError("out of id numbers")


USCC_SET = "0123456789ABCDEFGHJKLMNPQRTUWXY"   # 31 characters: no I O S V Z
USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
ORG_WEIGHTS = [3, 7, 9, 10, 5, 8, 4, 2]


def orgcode_check(first8):
    """GB 11714 check character of an organisation code."""
    total = 0
    for c, w in zip(first8, ORG_WEIGHTS):
        v = int(c) if c.isdigit() else ord(c) - ord("A") + 10
        total += v * w
    c9 = 11 - total % 11
    return "X" if c9 == 10 else "0" if c9 == 11 else str(c9)


def uscc_check(first17):
    """GB 32100 MOD 31 check character."""
    total = sum(USCC_SET.index(c) * w for c, w in zip(first17, USCC_WEIGHTS))
    return USCC_SET[(31 - total % 31) % 31]


_used_uscc = set()


def fresh_uscc():
    """A valid 统一社会信用代码: 9 1 440106 + organisation code + both checks."""
    while True:
        org = "".join(random.choice(USCC_SET) for _ in range(8))
        first17 = "91440106" + org + orgcode_check(org)
        v = first17 + uscc_check(first17)
        if v not in _used_uscc:
            _used_uscc.add(v)
            return v


def uniq(prefix="t"):
    """A unique login-safe name."""
    return "%s%s" % (prefix, os.urandom(5).hex())


STRONG_PW = "Zq8-correct-horse"


# ------------------------------------------------------------------ HTTP client

class Response:
    def __init__(self, status, reason, headers, body):
        self.status = status
        self.reason = reason
        self.headers = headers          # list of (name, value)
        self.body = body

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def header_all(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def json(self):
        try:
            return json.loads(self.body.decode("utf-8"))
        except Exception as e:   # noqa: BLE001
            raise TestFailure("response is not JSON (%s): %r" % (e, self.body[:300]))

    def short(self):
        return "%d %s" % (self.status, self.body[:400].decode("utf-8", "replace"))

    def expect(self, status, what=""):
        if self.status != status:
            raise TestFailure("%sexpected HTTP %d, got %s" % (what + ": " if what else "", status, self.short()))
        return self

    def expect_error(self, status, code, field=None, what=""):
        """A JSON error {"error":{"code","message","field"}} with this status and code (and field)."""
        self.expect(status, what)
        doc = self.json()
        err = doc.get("error") if isinstance(doc, dict) else None
        if not isinstance(err, dict):
            raise TestFailure("%sno error object in %r" % (what + ": " if what else "", doc))
        for k in ("code", "message"):
            if not isinstance(err.get(k), str) or not err.get(k):
                raise TestFailure("error.%s missing or empty in %r" % (k, doc))
        if err["code"] != code:
            raise TestFailure("%sexpected error code %s, got %r (field %r)" %
                              (what + ": " if what else "", code, err["code"], err.get("field")))
        if field is not None and err.get("field") != field:
            raise TestFailure("%sexpected error field %r, got %r (code %s)" %
                              (what + ": " if what else "", field, err.get("field"), err["code"]))
        return err


class Client:
    def __init__(self, server):
        self.server = server
        self.cookies = {}
        self.csrf = None
        self.user_agent = "yizhan-http-tests"

    # -- cookies
    def _take_cookies(self, resp):
        for sc in resp.header_all("Set-Cookie"):
            first = sc.split(";", 1)[0]
            if "=" not in first:
                continue
            name, value = first.split("=", 1)
            name = name.strip()
            attrs = sc.lower()
            if value == "" or re.search(r"max-age=0(\D|$)", attrs):
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value

    def cookie_header(self):
        return "; ".join("%s=%s" % kv for kv in self.cookies.items())

    # -- requests
    def request(self, method, path, body=None, headers=None, timeout=30):
        hdrs = {"User-Agent": self.user_agent, "Connection": "close"}
        if self.cookies:
            hdrs["Cookie"] = self.cookie_header()
        if headers:
            for k, v in headers.items():
                if v is None:
                    hdrs.pop(k, None)
                else:
                    hdrs[k] = v
        if isinstance(body, str):
            body = body.encode("utf-8")
        conn = self.server.connection(timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=hdrs)
            r = conn.getresponse()
            data = r.read()
            resp = Response(r.status, r.reason, list(r.getheaders()), data)
        finally:
            conn.close()
        self._take_cookies(resp)
        return resp

    def get(self, path, headers=None, params=None):
        if params:
            path += ("&" if "?" in path else "?") + urllib.parse.urlencode(params)
        return self.request("GET", path, headers=headers)

    def _api_headers(self, headers, csrf):
        h = {}
        if csrf is True and self.csrf:
            h["X-CSRF-Token"] = self.csrf
        elif isinstance(csrf, str):
            h["X-CSRF-Token"] = csrf
        if headers:
            h.update(headers)
        return h

    def post_json(self, path, obj, headers=None, csrf=True):
        h = self._api_headers(headers, csrf)
        h.setdefault("Content-Type", "application/json")
        body = obj if isinstance(obj, (bytes, str)) else json.dumps(obj, ensure_ascii=False)
        return self.request("POST", path, body=body, headers=h)

    def put_json(self, path, obj, headers=None, csrf=True):
        h = self._api_headers(headers, csrf)
        h.setdefault("Content-Type", "application/json")
        body = obj if isinstance(obj, (bytes, str)) else json.dumps(obj, ensure_ascii=False)
        return self.request("PUT", path, body=body, headers=h)

    def delete(self, path, headers=None, csrf=True):
        return self.request("DELETE", path, headers=self._api_headers(headers, csrf))

    def post_form(self, path, fields, headers=None, csrf=True):
        """A form POST.  csrf=True adds _csrf: the session's token, or the pre-session cookie."""
        items = list(fields.items()) if isinstance(fields, dict) else list(fields)
        if csrf is True:
            tok = self.csrf or self.cookies.get("yz_pre")
            if tok and not any(k == "_csrf" for k, _ in items):
                items.append(("_csrf", tok))
        elif isinstance(csrf, str):
            items.append(("_csrf", csrf))
        body = urllib.parse.urlencode(items)
        h = {"Content-Type": "application/x-www-form-urlencoded"}
        if headers:
            h.update(headers)
        return self.request("POST", path, body=body, headers=h)

    # -- pages
    @staticmethod
    def hidden(html, name):
        """Value of the hidden input `name` in a page (None if absent)."""
        for m in re.finditer(r"<input\b[^>]*>", html, re.I):
            tag = m.group(0)
            if re.search(r'\bname\s*=\s*["\']%s["\']' % re.escape(name), tag):
                v = re.search(r'\bvalue\s*=\s*["\']([^"\']*)["\']', tag)
                return v.group(1) if v else ""
        return None

    def form_csrf(self, path):
        """GETs a page with a form and returns its _csrf (Skip if the page does not render yet)."""
        r = self.get(path)
        if r.status == 500:
            raise Skip("page %s answers 500 (templates not there yet)" % path)
        r.expect(200, "GET " + path)
        tok = self.hidden(r.text, "_csrf")
        check(tok, "no hidden _csrf field on %s" % path)
        return tok, r

    # -- sign-in
    def login_api(self, login, password, totp_secret=None):
        """Signs in through the API; returns the CSRF token (and completes TOTP if given a secret)."""
        r = self.post_json("/api/v1/session", {"login": login, "password": password}, csrf=False)
        r.expect(201, "sign in %s" % login)
        doc = r.json()
        self.csrf = doc.get("csrf_token")
        check(self.csrf, "no csrf_token in %r" % doc)
        if totp_secret is None:
            eq(doc.get("state"), "ok", "session state for %s" % login)
            return self.csrf
        eq(doc.get("state"), "totp_required", "session state for staff %s" % login)
        code = self.server.totp_now(login, totp_secret)
        r = self.post_json("/api/v1/session/totp", {"code": code})
        r.expect(200, "TOTP for %s" % login)
        eq(r.json().get("state"), "ok", "state after TOTP")
        self.csrf = r.json().get("csrf_token") or self.csrf
        return self.csrf

    def login_as(self, login):
        """Signs in a demo account (with its second factor when it has one)."""
        acct = self.server.creds[login]
        return self.login_api(login, acct["password"], acct["totp"])

    def sid(self):
        return self.cookies.get("yz_sid")


# ------------------------------------------------------------------ raw sockets

def raw_exchange(port, data, timeout=10, chunks=None):
    """Sends raw bytes (or a list of byte chunks) and returns (status or None, raw reply bytes).
    Errors while sending (the server closing early) are tolerated."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    out = b""
    try:
        parts = chunks if chunks is not None else [data]
        for p in parts:
            try:
                s.sendall(p)
            except (BrokenPipeError, ConnectionResetError):
                break
        try:
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                b = s.recv(65536)
            except ConnectionResetError:
                break
            except socket.timeout:
                break
            if not b:
                break
            out += b
    finally:
        s.close()
    m = re.match(rb"HTTP/1\.[01] (\d{3})", out)
    return (int(m.group(1)) if m else None), out


# ------------------------------------------------------------------ server

def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _pg_admin_uri(base):
    return base


def _pg_uri_with_db(base, db):
    u = urllib.parse.urlsplit(base)
    return urllib.parse.urlunsplit((u.scheme, u.netloc, "/" + db, u.query, u.fragment))


def psql(uri, sql, check_rc=True):
    p = subprocess.run(["psql", uri, "-X", "-q", "-At", "-F", "\x1f", "-v", "ON_ERROR_STOP=1", "-c", sql],
                       capture_output=True, text=True, timeout=60)
    if check_rc and p.returncode != 0:
        raise RuntimeError("psql failed (%d): %s" % (p.returncode, p.stderr.strip()))
    return p


class Server:
    def __init__(self, env=None, demo=True, name="server"):
        self.env_extra = dict(env or {})
        self.demo = demo
        self.name = name
        self.proc = None
        self.port = None
        self.dir = tempfile.mkdtemp(prefix="yzhttp-")
        self.data = os.path.join(self.dir, "data")
        self.access_log = os.path.join(self.data, "access.log")
        self.stdout_path = os.path.join(self.dir, "stdout.txt")
        self.stderr_path = os.path.join(self.dir, "stderr.txt")
        self.stderr_seen = ""        # stderr of earlier runs on this data folder
        self.creds = {}
        self.totp_used = {}          # login -> last step used
        self._admin = None
        self.store = None
        self.pg_db = None
        if CONFIG["store_base"]:
            self.pg_db = "yz_%s" % os.urandom(6).hex()
            psql(CONFIG["store_base"], "CREATE DATABASE %s" % self.pg_db)
            self.store = _pg_uri_with_db(CONFIG["store_base"], self.pg_db)

    # -- lifetime
    def base_args(self):
        args = [CONFIG["binary"], "--data", self.data]
        if self.store:
            args += ["--store", self.store]
        return args

    def environ(self):
        env = dict(os.environ)
        for k in list(env):
            if k.startswith("YIZHAN_"):
                del env[k]
        env["YIZHAN_ACCESS_LOG"] = self.access_log
        # A small demo city: the registries' generator scales with it (planted
        # discrepancies included), and ASan builds are slow to seed 100,000 persons.
        env["YIZHAN_DEMO_PERSONS"] = "2000"
        if self.store:
            # Many test servers share one throwaway PostgreSQL: keep each one's pool small.
            env["YIZHAN_POOL"] = "6"
        env.setdefault("ASAN_OPTIONS", "abort_on_error=0:detect_leaks=1")
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")
        # as tests/run.sh: third-party leaks (fontconfig, once per process that draws a PDF)
        env.setdefault("LSAN_OPTIONS", "suppressions=%s:print_suppressions=0" % os.path.join(REPO, "tests", "lsan.supp"))
        env.update(self.env_extra)
        return env

    def start(self, timeout=60):
        os.makedirs(self.data, exist_ok=True)
        self.port = free_port()
        args = self.base_args() + ["serve", "--port", str(self.port)]
        if self.demo:
            args.append("--demo")
        self._out = open(self.stdout_path, "ab")
        self._err = open(self.stderr_path, "ab")
        self._err_offset = self._err.tell()
        self.proc = subprocess.Popen(args, stdout=self._out, stderr=self._err, env=self.environ(),
                                     cwd=self.dir)
        deadline = time.time() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("server exited with %s before it was ready:\n%s" %
                                   (self.proc.returncode, self.stderr()[-3000:]))
            try:
                c = self.connection(timeout=2)
                c.request("GET", "/readyz")
                r = c.getresponse()
                r.read()
                c.close()
                if r.status == 200:
                    break
            except OSError:
                pass
            if time.time() > deadline:
                self.proc.kill()
                raise RuntimeError("server not ready after %ds:\n%s" % (timeout, self.stderr()[-3000:]))
            time.sleep(0.05)
        if self.demo:
            self.read_creds()
        return self

    def connection(self, timeout=30):
        """An HTTP connection to this server; HTTPS (certificate not checked) when it serves TLS."""
        if self.env_extra.get("YIZHAN_TLS_CERT"):
            import ssl
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            return http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout, context=ctx)
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def read_creds(self):
        path = os.path.join(self.data, "demo-credentials.txt")
        with open(path, encoding="utf-8") as f:
            for line in f:
                parts = line.split()
                if len(parts) < 5:
                    continue
                login, pw, totp, role = parts[0], parts[1], parts[2], parts[3]
                self.creds[login] = {"password": pw, "totp": None if totp == "-" else totp,
                                     "role": role, "name": " ".join(parts[4:])}

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stderr(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def stderr_this_run(self):
        with open(self.stderr_path, "rb") as f:
            f.seek(self._err_offset)
            return f.read().decode("utf-8", "replace")

    def stdout(self):
        with open(self.stdout_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def sanitizer_lines(self):
        return [l for l in self.stderr().splitlines() if any(m in l for m in SANITIZER_MARKS)]

    def stop(self, timeout=40):
        """SIGTERM; asserts exit status 0 and no sanitizer reports."""
        if self.proc is None:
            return
        p = self.proc
        self.proc = None
        self._admin = None
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
                raise TestFailure("server did not stop within %ds of SIGTERM" % timeout)
        self._out.close()
        self._err.close()
        bad = self.sanitizer_lines()
        if bad:
            raise TestFailure("sanitizer report in server stderr:\n" + "\n".join(bad[:20]) +
                              "\n(full log: %s)" % self.stderr_path)
        if p.returncode != 0:
            raise TestFailure("server exit status %s (expected 0); stderr tail:\n%s" %
                              (p.returncode, self.stderr()[-2000:]))

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def cleanup(self):
        """Kills a server still running, drops its database, removes its folder."""
        self.kill()
        if self.pg_db:
            psql(CONFIG["store_base"], "DROP DATABASE IF EXISTS %s WITH (FORCE)" % self.pg_db, check_rc=False)
            self.pg_db = None
        if not CONFIG["keep"]:
            subprocess.run(["rm", "-rf", self.dir])

    # -- helpers
    def client(self):
        return Client(self)

    def password(self, login):
        return self.creds[login]["password"]

    def totp_now(self, login, secret):
        """A TOTP code the server will accept now and that this run has not used yet for login."""
        while True:
            cur = totp_step()
            last = self.totp_used.get(login, -1)
            for s in (cur, cur + 1):
                if s > last:
                    self.totp_used[login] = s
                    return totp_code(secret, s)
            time.sleep(max(0.05, (cur + 1) * 30 - time.time() + 0.05))

    def admin(self):
        """A client signed in as the platform admin (cached per server run)."""
        if self._admin is None:
            c = self.client()
            c.login_as("admin")
            self._admin = c
        return self._admin

    def cli(self, *args, env=None, timeout=120):
        e = self.environ()
        e.pop("YIZHAN_ACCESS_LOG", None)
        if env:
            e.update(env)
        p = subprocess.run(self.base_args() + list(args), capture_output=True, text=True, env=e,
                           timeout=timeout, cwd=self.dir)
        return p.returncode, p.stdout, p.stderr

    def sql(self, query, params=()):
        """Runs SQL against the server's store; returns rows as tuples of strings ('' for NULL on
        PostgreSQL, None on SQLite).  params are '?' placeholders, inlined for psql."""
        if self.store:
            q = query
            for p in params:
                lit = "NULL" if p is None else str(p) if isinstance(p, int) else "'" + str(p).replace("'", "''") + "'"
                q = q.replace("?", lit, 1)
            out = psql(self.store, q).stdout
            return [tuple(line.split("\x1f")) for line in out.splitlines() if line != ""]
        db = sqlite3.connect(os.path.join(self.data, "yizhan.db"), timeout=30)
        try:
            db.execute("PRAGMA busy_timeout = 30000")
            cur = db.execute(query, params)
            rows = cur.fetchall()
            db.commit()
        finally:
            db.close()
        return [tuple(None if v is None else str(v) for v in row) for row in rows]

    def sql_value(self, query, params=()):
        rows = self.sql(query, params)
        check(len(rows) == 1, "SQL %s: expected one row, got %r" % (query, rows))
        return rows[0][0]

    def access_lines(self):
        try:
            with open(self.access_log, encoding="utf-8") as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []


# ------------------------------------------------------------------ shared servers

_shared = {}


def shared(key="default", env=None):
    """A server shared by tests that do not interfere (started on first use).
    The default one raises the per-address login limit so that bad-password tests
    of several tests do not lock 127.0.0.1 for the others."""
    if key not in _shared or not _shared[key].running():
        if env is None and key == "default":
            env = {"YIZHAN_LOGIN_MAX_FAIL_IP": "100000"}
        s = Server(env=env, name=key)
        _shared[key] = s
        try:
            s.start()
        except Exception:
            s.cleanup()
            del _shared[key]
            raise
    return _shared[key]


def stop_shared():
    """Stops every shared server; returns a list of (name, error message)."""
    errors = []
    for key, s in list(_shared.items()):
        try:
            s.stop()
        except Exception as e:   # noqa: BLE001
            errors.append((key, str(e)))
        finally:
            s.cleanup()
        del _shared[key]
    return errors


class private_server:
    """with private_server(env) as srv: ...  — started, stopped (asserting a clean exit) and removed."""

    def __init__(self, env=None, demo=True):
        self.srv = Server(env=env, demo=demo, name="private")

    def __enter__(self):
        try:
            self.srv.start()
        except Exception:
            self.srv.cleanup()
            raise
        return self.srv

    def __exit__(self, et, ev, tb):
        try:
            if et is None:
                self.srv.stop()
        finally:
            self.srv.cleanup()
        return False


def wait_job(client, job_id, timeout=30):
    deadline = time.time() + timeout
    while True:
        r = client.get("/api/v1/jobs/%d" % job_id)
        r.expect(200, "GET job %d" % job_id)
        j = r.json()
        if j.get("finished") or j.get("state") in ("done", "failed"):
            return j
        if time.time() > deadline:
            fail("job %d not finished after %ds: %r" % (job_id, timeout, j))
        time.sleep(0.1)


def routes_api_paths():
    """Every /api/v1 path written in src/apps/portal/routes.c."""
    with open(os.path.join(REPO, "src", "apps", "portal", "routes.c"), encoding="utf-8") as f:
        src = f.read()
    return sorted(set(re.findall(r'"(/api/v1[^"]*)"', src)))
