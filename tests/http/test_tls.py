"""HTTPS served directly (single-node deployments): tls_cert and tls_key."""
import os
import shutil
import subprocess
import tempfile

from harness import Skip, check, eq, private_server


def test_https_direct():
    if shutil.which("openssl") is None:
        raise Skip("openssl is not installed")
    d = tempfile.mkdtemp(prefix="yztls-")
    try:
        cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                        "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1"],
                       check=True, capture_output=True)
        with private_server({"YIZHAN_TLS_CERT": cert, "YIZHAN_TLS_KEY": key}) as srv:
            c = srv.client()
            r = c.get("/api/v1/depts/1").expect(200, "GET over HTTPS")
            check(r.header("Strict-Transport-Security") is not None, "HSTS header over HTTPS")
            c.login_as("chen")
            me = c.get("/api/v1/me").expect(200, "session over HTTPS").json()
            eq(me["login"], "chen", "signed in over HTTPS")
            # cookie_secure=auto: the session cookie carries Secure over HTTPS
            raw = c.request("POST", "/api/v1/session", body='{"login":"chen","password":"%s"}' % srv.password("chen"),
                            headers={"Content-Type": "application/json"})
            sc = [v for v in raw.header_all("Set-Cookie") if v.startswith("yz_sid=")]
            check(sc and "Secure" in sc[0] and "HttpOnly" in sc[0], "Set-Cookie over HTTPS: %r" % sc)
    finally:
        shutil.rmtree(d, ignore_errors=True)
