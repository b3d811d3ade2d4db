/*
 * The inbox: the messages core/notify.c keeps for each person (case
 * progress, deadlines, replies), as a page and in the API, and the desk
 * item that says how many are unread.  A person sees and marks only their
 * own messages; another person's id answers 404, as one that does not exist.
 */
#include "apps/portal/portal.h"
#include "apps/portal/portal_int.h"
#include "core/desk.h"
#include "core/notify.h"
#include "core/xalloc.h"

#include <string.h>
#include <time.h>

const struct field_spec fs_message_read[] = {
	{ "next", FT_TEXT, 0, 0, 500, NULL, "跳转地址" },
	{ NULL },
};

/* A local path to go on to after marking a message read, or NULL. */
static const char *local_next(const char *next)
{
	if (next == NULL || next[0] != '/' || next[1] == '/' || next[1] == '\\' || strchr(next, ':') ||
	    strchr(next, '\\'))
		return NULL;
	return next;
}

/* "2027-01-15 16:00" for people, or ISO 8601 for <time datetime> */
static const char *fmt_time(struct req *r, int64_t t, int iso)
{
	char s[32];
	time_t tt = (time_t)t;
	struct tm tm;
	localtime_r(&tt, &tm);
	if (iso)
		strftime(s, sizeof s, "%Y-%m-%dT%H:%M:%S%z", &tm);
	else
		strftime(s, sizeof s, "%Y-%m-%d %H:%M", &tm);
	return arena_strdup(r->arena, s);
}

/* The body's lines as paragraphs, for a page that keeps no white space. */
static json_t *paragraphs(const char *body)
{
	json_t *a = json_array();
	const char *p = body;
	while (p != NULL && *p) {
		size_t n = strcspn(p, "\n");
		size_t m = n;
		while (m > 0 && (p[m - 1] == '\r' || p[m - 1] == ' ' || p[m - 1] == '\t'))
			m--;
		if (m > 0)
			json_array_append_new(a, json_stringn(p, m));
		p += n;
		if (*p == '\n')
			p++;
	}
	return a;
}

/* GET /messages  ctx: items [{id,kind,title,paras,link,created,created_iso,read}], unread, next_href */
void page_messages(struct req *r)
{
	int64_t unread = 0;
	json_t *page = notify_inbox(r->st, r->who.user_id, req_in_int(r, "after", 0),
				    (int)req_in_int(r, "limit", 20));
	if (page == NULL || notify_unread_count(r->st, r->who.user_id, &unread) != 0) {
		json_decref(page);
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	json_t *items = json_object_get(page, "items");
	size_t i;
	json_t *m;
	json_array_foreach(items, i, m) {
		int64_t t = json_integer_value(json_object_get(m, "created_at"));
		json_object_set_new(m, "created", json_string(fmt_time(r, t, 0)));
		json_object_set_new(m, "created_iso", json_string(fmt_time(r, t, 1)));
		json_object_set_new(m, "paras", paragraphs(json_string_value(json_object_get(m, "body"))));
	}
	json_t *ctx = json_pack("{s:s,s:O,s:I}", "title", "消息", "items", items, "unread", (json_int_t)unread);
	json_t *next = json_object_get(page, "next");
	if (json_is_integer(next))
		json_object_set_new(ctx, "next_href",
				    json_string(arena_printf(r->arena, "/messages?after=%lld",
							     (long long)json_integer_value(next))));
	json_decref(page);
	resp_page(r, 200, "portal/messages", ctx);
}

/* Marks r's message {id} read with its audit entry; 0, or -1 after answering. */
static int mark_read(struct req *r, int64_t *id)
{
	if (req_param_id(r, "id", id) != 0)
		return -1;
	int rc = notify_mark_read(r->st, r->who.user_id, *id);
	if (rc == 1) {
		resp_error(r, 404, MSG_MESSAGE_NOT_FOUND, NULL);
		return -1;
	}
	if (rc != 0) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return -1;
	}
	return portal_audit(r, "message.read", arena_printf(r->arena, "message:%lld", (long long)*id), 0, NULL);
}

static int mark_all(struct req *r, int64_t *n)
{
	if (notify_mark_all_read(r->st, r->who.user_id, n) != 0) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return -1;
	}
	return portal_audit(r, "message.read_all", arena_printf(r->arena, "user:%lld", (long long)r->who.user_id),
			    0, arena_printf(r->arena, "{\"count\":%lld}", (long long)*n));
}

/* POST /messages/{id}/read  (next: where to go on, e.g. the message's link) */
void do_message_read(struct req *r)
{
	int64_t id;
	if (mark_read(r, &id) != 0)
		return;
	const char *next = local_next(req_in_str(r, "next"));
	resp_redirect(r, next ? next : "/messages");
}

/* POST /messages/read-all */
void do_messages_read_all(struct req *r)
{
	int64_t n = 0;
	if (mark_all(r, &n) == 0)
		resp_redirect(r, "/messages");
}

/* GET /api/v1/messages  {"items":[...],"next","unread"} */
void api_messages(struct req *r)
{
	int64_t unread = 0;
	json_t *page = notify_inbox(r->st, r->who.user_id, req_in_int(r, "after", 0),
				    (int)req_in_int(r, "limit", 50));
	if (page == NULL || notify_unread_count(r->st, r->who.user_id, &unread) != 0) {
		json_decref(page);
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	json_object_set_new(page, "unread", json_integer(unread));
	resp_json(r, 200, page);
}

/* POST /api/v1/messages/{id}/read  {"id","read":true} */
void api_message_read(struct req *r)
{
	int64_t id;
	if (mark_read(r, &id) == 0)
		resp_json(r, 200, json_pack("{s:I,s:b}", "id", (json_int_t)id, "read", 1));
}

/* POST /api/v1/messages/read-all  {"marked": n} */
void api_messages_read_all(struct req *r)
{
	int64_t n = 0;
	if (mark_all(r, &n) == 0)
		resp_json(r, 200, json_pack("{s:I}", "marked", (json_int_t)n));
}

/* Desk item: the number of unread messages, when there are any. */
static int desk_messages(struct req *r, json_t *items)
{
	int64_t n = 0;
	if (notify_unread_count(r->st, r->who.user_id, &n) != 0)
		return -1;
	if (n > 0)
		json_array_append_new(items, json_pack("{s:s,s:s,s:s,s:s,s:I,s:b,s:s}", "kind", "messages", "title",
						       msg(MSG_MESSAGES_UNREAD), "href", "/messages", "status",
						       msg(MSG_MESSAGES_TO_READ), "count",
						       (json_int_t)n, "failed", 0, "level", "info"));
	return 0;
}

void portal_register_messages(void)
{
	desk_register(desk_messages);
}
