"""Submissions are all or nothing, and acknowledged means committed: clients submit
applications while the server is killed with SIGKILL again and again; after each restart
every acknowledged application is there and complete, a retry with the same
Idempotency-Key never makes a second case, no half-written case exists, and the audit
chain still verifies."""
import os
import random
import threading
import time

from harness import check, eq, idcard, private_server
from test_uploads import PNG_1X1, multipart, post_mp

ITEM = "hrss-syj"        # 失业保险金申领: one required material (m1)
CYCLES = 4
THREADS = 3


def application(key_no):
    return {"name": "陈小梅", "id_number": idcard(birth="19900517"), "last_employer": "示范市第%d公司" % key_no,
            "separation_date": "2026-01-15", "bank_account": "6217000000000000", "phone": "13800138000",
            "action": "submit"}


def submit_once(c, job):
    """One attempt: upload the material (unless done), then apply. Returns True when acknowledged."""
    if job.get("file") is None:
        body, ctype = multipart([], [("file", "id.png", PNG_1X1, "image/png")])
        r = post_mp(c, "/api/v1/files", body, ctype, headers={"X-CSRF-Token": c.csrf})
        if r.status != 201:
            raise AssertionError("upload answered %d: %s" % (r.status, r.short()))
        job["file"] = r.json()["id"]
    if job.get("body") is None:
        job["body"] = dict(application(job["no"]), files={"m1": job["file"]})   # a retry sends the same
    r = c.post_json("/api/v1/hall/items/%s/applications" % ITEM, job["body"], headers={"Idempotency-Key": job["key"]})
    if r.status != 201:
        raise AssertionError("apply answered %d: %s" % (r.status, r.short()))
    job["id"] = r.json()["id"]
    return True


def test_kill9_while_submitting_loses_nothing_and_duplicates_nothing():
    with private_server() as srv:
        c = srv.client()
        c.login_api("chen", srv.password("chen"))
        jobs, lock = [], threading.Lock()
        errors = []

        def worker(stop):
            while not stop.is_set():
                with lock:
                    job = {"key": os.urandom(12).hex(), "no": len(jobs) + 1, "file": None, "id": None}
                    jobs.append(job)
                try:
                    submit_once(c, job)
                except OSError:
                    return          # the server died under us: this job is "unknown"
                except AssertionError as e:
                    errors.append(str(e))
                    return

        for cycle in range(CYCLES):
            stop = threading.Event()
            ts = [threading.Thread(target=worker, args=(stop,)) for _ in range(THREADS)]
            for t in ts:
                t.start()
            time.sleep(random.uniform(1.0, 2.5))
            srv.kill()              # SIGKILL: no graceful anything
            stop.set()
            for t in ts:
                t.join(60)
            check(not errors, "a submission was answered with an error: %r" % errors[:3])
            srv.start()

        acked = [j for j in jobs if j["id"] is not None]
        check(len(acked) >= CYCLES, "too few acknowledged submissions to prove anything: %d" % len(acked))
        # Everything acknowledged before a kill is there, complete.
        for j in acked:
            rows = srv.sql("SELECT state, applicant_id FROM cases WHERE id = ?", (j["id"],))
            check(rows and rows[0][0] == "submitted", "acknowledged case %s: %r" % (j["id"], rows))
        # Retrying the unanswered ones with their keys: the first result or a new case, never a second one.
        for j in jobs:
            if j["id"] is None:
                submit_once(c, j)
        ids = [j["id"] for j in jobs]
        eq(len(set(ids)), len(ids), "distinct cases, one per idempotency key")
        n = int(srv.sql_value("SELECT COUNT(*) FROM cases WHERE item_code = ?", (ITEM,)))
        eq(n, len(jobs), "cases of %s (one per key; no extra, no lost)" % ITEM)
        # No half-written case: each has its material attached and its submit event.
        bad = srv.sql("SELECT c.id FROM cases c WHERE c.item_code = ? AND (c.state <> 'submitted' "
                      "OR NOT EXISTS (SELECT 1 FROM case_events e WHERE e.case_id = c.id AND e.name = 'submit') "
                      "OR NOT EXISTS (SELECT 1 FROM case_attachments a WHERE a.case_id = c.id))", (ITEM,))
        eq(bad, [], "cases without their submit event or material")
        srv.stop()
        code, out, err = srv.cli("audit", "verify")
        eq(code, 0, "audit chain after %d kills: %s %s" % (CYCLES, out, err))
