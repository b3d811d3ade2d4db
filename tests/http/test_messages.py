"""The inbox: /messages and /api/v1/messages.  Messages are put in with SQL
matching migrations/core/0005_notify.sql (no engine sends any yet)."""
import time
import urllib.parse

from harness import check, eq, shared, uniq


def put_message(srv, login, title, body="正文第一行\n第二行", link="/desk", kind="case.state"):
    """Inserts a message for login; returns its id."""
    uid = int(srv.sql_value("SELECT id FROM users WHERE login = ?", (login,)))
    srv.sql("INSERT INTO messages (user_id, kind, title, body, link, dedup, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)", (uid, kind, title, body, link, uniq("d"), int(time.time())))
    return int(srv.sql_value("SELECT MAX(id) FROM messages WHERE user_id = ?", (uid,)))


def api_items(c, **params):
    r = c.get("/api/v1/messages", params=params or None).expect(200, "GET /api/v1/messages")
    doc = r.json()
    check(set(doc) >= {"items", "next", "unread"}, "list shape: %r" % list(doc))
    return doc


def test_messages_page_and_api():
    srv = shared()
    title = "办件进度 <b>%s</b>" % uniq("m")
    mid = put_message(srv, "chen", title)
    c = srv.client()
    c.login_as("chen")

    # the page lists it, escaped, marked unread, with the nav link
    r = c.get("/messages").expect(200, "GET /messages")
    html = r.text
    esc = title.replace("<", "&lt;").replace(">", "&gt;")
    check(esc in html, "title not on /messages (escaped): %r" % esc)
    check(title not in html, "title rendered unescaped on /messages")
    check("正文第一行" in html and "第二行" in html, "body lines not on /messages")
    check('href="/messages"' in html, "no 消息 link in the navigation")
    check('action="/messages/%d/read"' % mid in html, "no mark-read form for message %d" % mid)
    check("未读" in html, "unread not marked")

    # the API lists it with the contract's keys
    doc = api_items(c)
    mine = [m for m in doc["items"] if m["id"] == mid]
    eq(len(mine), 1, "message %d in /api/v1/messages" % mid)
    m = mine[0]
    check(set(m) >= {"id", "kind", "title", "body", "link", "created_at", "read"}, "item keys: %r" % list(m))
    eq(m["title"], title, "title")
    eq(m["body"], "正文第一行\n第二行", "body")
    eq(m["link"], "/desk", "link")
    eq(m["read"], False, "read")
    check(doc["unread"] >= 1, "unread count %r" % doc["unread"])

    # the desk says there are unread messages
    items = c.get("/api/v1/desk").expect(200).json()["items"]
    check(any(i.get("kind") == "messages" and i.get("count", 0) >= 1 for i in items),
          "no unread-messages item on the desk: %r" % items)


def test_messages_pagination():
    srv = shared()
    tag = uniq("p")
    ids = [put_message(srv, "huaxin", "%s-%d" % (tag, i)) for i in range(5)]
    c = srv.client()
    c.login_as("huaxin")
    seen = []
    after = None
    pages = 0
    while True:
        params = {"limit": 2}
        if after is not None:
            params["after"] = after
        doc = api_items(c, **params)
        check(len(doc["items"]) <= 2, "limit=2 gave %d" % len(doc["items"]))
        seen += [m["id"] for m in doc["items"]]
        pages += 1
        if doc["next"] is None:
            break
        check(isinstance(doc["next"], int), "next is a cursor: %r" % doc["next"])
        after = doc["next"]
        check(pages < 500, "pagination does not end")
    eq(len(seen), len(set(seen)), "every message once")
    eq(seen, sorted(seen, reverse=True), "newest first")
    check(all(i in seen for i in ids), "all five messages over the pages")
    c.get("/api/v1/messages", params={"limit": 0}).expect_error(400, "FIELD_OUT_OF_RANGE", "limit")
    # the page has a link to older messages when there are more
    r = c.get("/messages", params={"limit": 2}).expect(200)
    check("/messages?after=" in r.text, "no link to older messages on /messages?limit=2")


def test_messages_mark_read():
    srv = shared()
    c = srv.client()
    c.login_as("chen")
    a = put_message(srv, "chen", "标记-" + uniq())
    b = put_message(srv, "chen", "标记-" + uniq())
    before = api_items(c)["unread"]

    # API: without the CSRF header refused, with it done
    c.post_json("/api/v1/messages/%d/read" % a, {}, csrf=False).expect_error(403, "CSRF_INVALID")
    eq(srv.sql_value("SELECT read_at IS NULL FROM messages WHERE id = ?", (a,)) in ("1", "t"), True,
       "message read without CSRF")
    r = c.post_json("/api/v1/messages/%d/read" % a, {}).expect(200, "mark read")
    eq(r.json(), {"id": a, "read": True}, "answer")
    eq(api_items(c)["unread"], before - 1, "unread after marking one")
    c.post_json("/api/v1/messages/%d/read" % a, {}).expect(200, "marking twice is fine")
    c.post_json("/api/v1/messages/987654321/read", {}).expect_error(404, "MESSAGE_NOT_FOUND")
    check(int(srv.sql_value("SELECT COUNT(*) FROM audit_log WHERE action = 'message.read' AND object = ?",
                            ("message:%d" % a,))) >= 1, "no audit entry for marking read")

    # page form: without _csrf refused, with it redirected; next only to a local path
    c.post_form("/messages/%d/read" % b, {}, csrf=False).expect(403, "form without _csrf")
    eq(srv.sql_value("SELECT read_at IS NULL FROM messages WHERE id = ?", (b,)) in ("1", "t"), True,
       "message read without _csrf")
    r = c.post_form("/messages/%d/read" % b, {"next": "//evil.example/x"}).expect(303, "form mark read")
    eq(r.header("Location"), "/messages", "an outside next is ignored")
    eq(srv.sql_value("SELECT read_at IS NULL FROM messages WHERE id = ?", (b,)) in ("0", "f"), True,
       "message not read after the form")
    r = c.post_form("/messages/%d/read" % b, {"next": "/desk"}).expect(303)
    eq(r.header("Location"), "/desk", "next to the message's link")
    m = [x for x in api_items(c)["items"] if x["id"] == b][0]
    eq(m["read"], True, "read in the API after the form")

    # mark all
    put_message(srv, "chen", "全部-" + uniq())
    c.post_form("/messages/read-all", {}, csrf=False).expect(403, "read-all without _csrf")
    check(api_items(c)["unread"] >= 1, "read-all without _csrf did something")
    c.post_form("/messages/read-all", {}).expect(303, "read-all")
    eq(api_items(c)["unread"], 0, "unread after read-all")
    items = c.get("/api/v1/desk").expect(200).json()["items"]
    check(not any(i.get("kind") == "messages" for i in items), "desk item stays after read-all: %r" % items)


def test_messages_of_another_person():
    srv = shared()
    mid = put_message(srv, "chen", "私信-" + uniq())
    other = srv.client()
    other.login_as("huaxin")
    other.post_json("/api/v1/messages/%d/read" % mid, {}).expect_error(404, "MESSAGE_NOT_FOUND")
    other.post_form("/messages/%d/read" % mid, {}).expect(404, "page mark of another's message")
    eq(srv.sql_value("SELECT read_at IS NULL FROM messages WHERE id = ?", (mid,)) in ("1", "t"), True,
       "another person marked the message read")
    ids = []
    after = None
    while True:
        doc = api_items(other, **({"limit": 200, "after": after} if after else {"limit": 200}))
        ids += [m["id"] for m in doc["items"]]
        if doc["next"] is None:
            break
        after = doc["next"]
    check(mid not in ids, "another person's message in the list")
    check("私信-" not in other.get("/messages").expect(200).text, "another person's message on /messages")
    # and without a session: sign-in first
    anon = srv.client()
    r = anon.get("/messages")
    eq(r.status, 303, "anonymous /messages")
    eq(r.header("Location"), "/login?next=" + urllib.parse.quote("/messages", safe="/"), "Location")
    anon.get("/api/v1/messages").expect(401, "anonymous API")
