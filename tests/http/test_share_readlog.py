"""The read journal behind the sharing API (src/core/readlog.h): a read is answered once its
record (audit entry and tracker rows) is in the spool file, and the flusher moves it into the
store within about 0.1 s.  After SIGKILL of the server nothing answered is lost and nothing
is ingested twice; the citizen's tracker shows a read within a second; a clean stop leaves the
spool empty.  settle() is for other tests that count audit entries or tracker rows right after
a sharing API call."""
import glob
import os
import time
import uuid

from harness import check, eq, idcard, private_server, shared

CHEN = idcard(birth="19900517", seq="123")     # 陈小梅 of the demo city
NOBODY = idcard(region="110101", birth="19000101", seq="001")   # valid, in no registry


def spool_files(srv):
    return sorted(glob.glob(os.path.join(srv.data, "readlog", "*.log")))


def settle(srv, timeout=10.0):
    """Waits until every spool file of srv is ingested up to its end (its readlog_progress
    position equals its size): every read answered before the call is then in the store."""
    deadline = time.time() + timeout
    while True:
        pending = []
        for path in spool_files(srv):
            name = os.path.basename(path)
            try:
                size = os.path.getsize(path)
            except FileNotFoundError:
                continue
            rows = srv.sql("SELECT pos FROM readlog_progress WHERE file = ?", (name,))
            pos = int(rows[0][0]) if rows else 0
            if pos < size:
                pending.append((name, pos, size))
        if not pending:
            return
        check(time.time() < deadline, "the read journal did not catch up: %r" % pending)
        time.sleep(0.02)


def count(srv, q, params=()):
    return int(srv.sql_value(q, params))


def read(c, key, purpose):
    return c.get("/api/v1/share/population/%s" % key, params={"purpose": purpose})


def test_read_is_answered_from_the_spool_and_ingested_once_after_kill9():
    with private_server() as srv:
        c = srv.client()
        c.login_as("wang.mca")
        keys = [r[0] for r in srv.sql("SELECT id_no FROM reg_population ORDER BY id_no LIMIT 20")]
        mark = "日志测试" + uuid.uuid4().hex[:8]
        for k in keys:
            read(c, k, mark).expect(200, "read")
        read(c, NOBODY, mark).expect(404, "unknown key")   # audited too
        read(c, "440106199001011230", mark).expect(400, "bad check character")   # refused, audited
        srv.kill()                                     # SIGKILL right after the answers
        # Every answered read is in the spool already, whatever the flusher managed.
        spooled = 0
        for path in spool_files(srv):
            with open(path, encoding="utf-8") as f:
                spooled += sum(1 for line in f if mark in line)
        eq(spooled, len(keys) + 2, "answered reads in the spool after SIGKILL")
        text = "".join(open(p, encoding="utf-8").read() for p in spool_files(srv))
        check(not any(k in text for k in keys), "no clear identifier in the spool")
        before = count(srv, "SELECT COUNT(*) FROM reg_access WHERE purpose = ?", (mark,))
        srv.start()                                    # ingests the leftovers before serving
        eq(count(srv, "SELECT COUNT(*) FROM reg_access WHERE purpose = ?", (mark,)), len(keys),
           "access rows after the restart (%d were in before it)" % before)
        eq(count(srv, "SELECT COUNT(*) FROM audit_log WHERE action IN ('share.read', 'share.refuse') "
                      "AND detail LIKE ?", ("%" + mark + "%",)), len(keys) + 2, "audit entries, each once")
        # the read's own time is kept in the entry
        d = srv.sql("SELECT detail FROM audit_log WHERE action = 'share.read' AND detail LIKE ? LIMIT 1",
                    ("%" + mark + "%",))[0][0]
        check('"read_at":' in d, "read_at in %s" % d)
        # a second kill after more reads, then a clean stop: still each once
        c2 = srv.client()
        c2.login_as("wang.mca")
        for k in keys[:5]:
            read(c2, k, mark).expect(200, "read after restart")
        srv.kill()
        srv.start()
        settle(srv)
        eq(count(srv, "SELECT COUNT(*) FROM reg_access WHERE purpose = ?", (mark,)), len(keys) + 5,
           "access rows after the second kill")
        srv.stop()
        eq(spool_files(srv), [], "a clean stop leaves no spool file")
        eq(srv.sql("SELECT file FROM readlog_progress"), [], "nor a position")
        code, out, err = srv.cli("audit", "verify")
        eq(code, 0, "audit chain: %s %s" % (out, err))


def test_tracker_shows_a_read_within_a_second():
    srv = shared()
    staff = srv.client()
    staff.login_as("wang.mca")
    chen = srv.client()
    chen.login_as("chen")
    mark = "追踪测试" + uuid.uuid4().hex[:8]
    read(staff, CHEN, mark).expect(200, "wang.mca reads chen's population record")
    t0 = time.time()
    while True:
        items = chen.get("/api/v1/my/data-access?limit=20").expect(200, "tracker").json()["items"]
        mine = [i for i in items if i["purpose"] == mark]
        if mine:
            break
        check(time.time() - t0 < 1.0, "the read is not in chen's tracker after a second")
        time.sleep(0.02)
    eq(len(mine), 1, "one tracker row")
    eq(mine[0]["registry"], "population", "registry")
    eq(mine[0]["dept_name"], "民政局", "department")
    eq(mine[0]["via"], "api", "via")
    check(mine[0]["at"] >= int(t0) - 2, "the read's time")


def test_batch_is_one_journal_line():
    srv = shared()
    c = srv.client()
    c.login_as("wang.mca")
    keys = [r[0] for r in srv.sql("SELECT id_no FROM reg_population ORDER BY id_no LIMIT 3")]
    mark = "批量测试" + uuid.uuid4().hex[:8]
    c.post_json("/api/v1/share/population/batch", {"keys": keys + [NOBODY], "purpose": mark}).expect(
        200, "batch")
    settle(srv)
    eq(count(srv, "SELECT COUNT(*) FROM reg_access WHERE purpose = ? AND via = 'batch'", (mark,)), 3,
       "a row per record found")
    eq(count(srv, "SELECT COUNT(*) FROM audit_log WHERE action = 'share.read' AND detail LIKE ?",
             ("%" + mark + "%",)), 1, "one audit entry")
    lines = 0
    for path in spool_files(srv):
        with open(path, encoding="utf-8") as f:
            lines += sum(1 for line in f if mark in line)
    check(lines <= 1, "one spool line (or none left after a rotation): %d" % lines)
