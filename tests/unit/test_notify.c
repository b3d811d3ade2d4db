/* Unit tests of core/notify: the inbox (dedup, pagination, marking read),
 * the outbox rows per channel, and delivery against a tiny SMTP server and
 * a tiny webhook server run in threads of this test: retries with back-off,
 * failure after the last attempt, re-queueing of rows left 'sending', and
 * nothing sent twice. */
#include "testutil.h"

#include "core/conf.h"
#include "core/notify.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

/* ------------------------------------------------------------ fake clock */

static time_t fake_now;

static time_t fake_clock(void)
{
	return fake_now;
}

/* ------------------------------------------------------------ store helpers */

static struct store *open_uri(const char *uri)
{
	struct store *st = NULL;
	char *err = NULL;
	if (store_open(uri, &st, &err) != 0) {
		fprintf(stderr, "store %s: %s\n", uri, err ? err : "?");
		abort();
	}
	return st;
}

/* A fresh, migrated store; *uri_out (if not NULL) gets its URI (malloc'd). */
static struct store *fresh_store(char **uri_out)
{
	char *uri = test_store_uri();
	struct store *st = open_uri(uri);
	if (store_driver(st) == STORE_PG &&
	    store_exec_script(st, "DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;") != 0)
		abort();
	assert_int_equal(store_migrate(st), 0);
	if (uri_out != NULL)
		*uri_out = uri;
	else
		free(uri);
	return st;
}

static int64_t add_user(struct store *st, const char *login, const char *email, const char *phone)
{
	static const char q[] = "INSERT INTO users (login, kind, name, email, phone, password, created_at, updated_at) "
				"VALUES ($1, 'citizen', $2, $3, $4, 'x', 1, 1) RETURNING id";
	struct sval p[] = { SVT(login), SVT(login), SVT(email), SVT(phone) };
	int64_t id = 0;
	assert_int_equal(store_query_int(st, q, p, 4, &id), STORE_OK);
	return id;
}

static int64_t count(struct store *st, const char *q, int64_t arg)
{
	struct sval p[] = { SVI(arg) };
	int64_t n = -1;
	assert_int_equal(store_query_int(st, q, p, 1, &n), STORE_OK);
	return n;
}

/* One column of one outbox row as text (copied into a static buffer). */
static const char *outbox_field(struct store *st, int64_t id, int col)
{
	static char out[512];
	static const char q[] = "SELECT state, attempts, next_attempt_at, last_error, channel "
				"FROM notify_outbox WHERE id = $1";
	struct store_res *res = NULL;
	struct sval p[] = { SVI(id) };
	assert_int_equal(store_query(st, q, p, 1, &res), STORE_OK);
	assert_int_equal(store_res_rows(res), 1);
	const char *v = store_res_text(res, 0, col);
	snprintf(out, sizeof out, "%s", v ? v : "");
	store_res_free(res);
	return out;
}

static int64_t only_outbox_id(struct store *st)
{
	int64_t id = 0;
	assert_int_equal(store_query_int(st, "SELECT MAX(id) FROM notify_outbox", NULL, 0, &id), STORE_OK);
	return id;
}

static void conf_with(struct conf *c, const char *smtp_url, const char *webhook)
{
	char *err = NULL;
	assert_int_equal(conf_load(c, NULL, 1, &err), 0);
	assert_int_equal(conf_set(c, "base_url", "http://example.test/", &err), 0);
	assert_int_equal(conf_set(c, "smtp_url", smtp_url ? smtp_url : "", &err), 0);
	assert_int_equal(conf_set(c, "smtp_from", "noreply@gov.example", &err), 0);
	assert_int_equal(conf_set(c, "sms_webhook", webhook ? webhook : "", &err), 0);
	notify_configure(c);
}

/* ------------------------------------------------------------ test servers */

enum srv_kind { SRV_SMTP, SRV_HTTP };

struct srv {
	enum srv_kind kind;
	int fd, port;
	pthread_t th;
	atomic_int stop;
	pthread_mutex_t mu;
	int smtp_mode;          /* 0 accept, 451 on DATA, 550 on RCPT */
	int statuses[8];        /* HTTP: answer to request i (the last repeats) */
	int nstatuses;
	int conns;              /* connections accepted */
	int nmsgs;              /* SMTP messages accepted / HTTP requests read */
	char *msgs[64];
	char idem[64][64];      /* HTTP: Idempotency-Key of each request */
};

struct conn {
	int fd;
	char buf[65536];
	size_t len;
};

/* Reads one CRLF-ended line (without CRLF) into line; -1 at EOF or error. */
static int conn_line(struct conn *c, char *line, size_t cap)
{
	for (;;) {
		char *e = memmem(c->buf, c->len, "\r\n", 2);
		if (e != NULL) {
			size_t n = (size_t)(e - c->buf);
			size_t k = n < cap - 1 ? n : cap - 1;
			memcpy(line, c->buf, k);
			line[k] = '\0';
			memmove(c->buf, e + 2, c->len - n - 2);
			c->len -= n + 2;
			return 0;
		}
		if (c->len == sizeof c->buf)
			return -1;
		ssize_t r = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, 0);
		if (r <= 0)
			return -1;
		c->len += (size_t)r;
	}
}

static void say(int fd, const char *s)
{
	size_t n = strlen(s);
	while (n > 0) {
		ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

static void smtp_session(struct srv *s, struct conn *c)
{
	char line[4096];
	say(c->fd, "220 test.example ESMTP\r\n");
	while (conn_line(c, line, sizeof line) == 0) {
		char verb[5] = "";
		for (int i = 0; i < 4 && line[i]; i++)
			verb[i] = (char)toupper((unsigned char)line[i]);
		if (strcmp(verb, "EHLO") == 0 || strcmp(verb, "HELO") == 0) {
			say(c->fd, "250 test.example\r\n");
		} else if (strcmp(verb, "MAIL") == 0 || strcmp(verb, "RSET") == 0 || strcmp(verb, "NOOP") == 0) {
			say(c->fd, "250 OK\r\n");
		} else if (strcmp(verb, "RCPT") == 0) {
			say(c->fd, s->smtp_mode == 550 ? "550 no such user\r\n" : "250 OK\r\n");
		} else if (strcmp(verb, "DATA") == 0) {
			if (s->smtp_mode == 451) {
				say(c->fd, "451 try again later\r\n");
				continue;
			}
			say(c->fd, "354 go ahead\r\n");
			size_t cap = 1 << 20, len = 0;
			char *m = malloc(cap);
			m[0] = '\0';
			while (conn_line(c, line, sizeof line) == 0 && strcmp(line, ".") != 0) {
				const char *l = line[0] == '.' ? line + 1 : line;   /* dot-unstuffing */
				len += (size_t)snprintf(m + len, cap - len, "%s\r\n", l);
			}
			pthread_mutex_lock(&s->mu);
			if (s->nmsgs < 64)
				s->msgs[s->nmsgs++] = m;
			else
				free(m);
			pthread_mutex_unlock(&s->mu);
			say(c->fd, "250 queued\r\n");
		} else if (strcmp(verb, "QUIT") == 0) {
			say(c->fd, "221 bye\r\n");
			break;
		} else {
			say(c->fd, "502 not implemented\r\n");
		}
	}
}

static void http_session(struct srv *s, struct conn *c)
{
	char line[4096], idem[64] = "";
	long clen = 0;
	if (conn_line(c, line, sizeof line) != 0)
		return;
	while (conn_line(c, line, sizeof line) == 0 && line[0] != '\0') {
		if (strncasecmp(line, "Content-Length:", 15) == 0)
			clen = strtol(line + 15, NULL, 10);
		else if (strncasecmp(line, "Idempotency-Key:", 16) == 0)
			snprintf(idem, sizeof idem, "%s", line + 16 + strspn(line + 16, " "));
	}
	while ((long)c->len < clen) {
		ssize_t r = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, 0);
		if (r <= 0)
			return;
		c->len += (size_t)r;
	}
	pthread_mutex_lock(&s->mu);
	int i = s->nmsgs;
	if (s->nmsgs < 64) {
		s->msgs[i] = strndup(c->buf, (size_t)clen);
		snprintf(s->idem[i], sizeof s->idem[i], "%s", idem);
		s->nmsgs++;
	}
	int status = s->statuses[i < s->nstatuses ? i : s->nstatuses - 1];
	pthread_mutex_unlock(&s->mu);
	char resp[128];
	snprintf(resp, sizeof resp, "HTTP/1.1 %d X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok", status);
	say(c->fd, resp);
}

static void *srv_main(void *arg)
{
	struct srv *s = arg;
	while (!atomic_load(&s->stop)) {
		struct pollfd p = { s->fd, POLLIN, 0 };
		if (poll(&p, 1, 50) <= 0)
			continue;
		int fd = accept(s->fd, NULL, NULL);
		if (fd < 0)
			continue;
		struct timeval tv = { 5, 0 };
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
		pthread_mutex_lock(&s->mu);
		s->conns++;
		pthread_mutex_unlock(&s->mu);
		struct conn *c = calloc(1, sizeof *c);
		c->fd = fd;
		if (s->kind == SRV_SMTP)
			smtp_session(s, c);
		else
			http_session(s, c);
		free(c);
		close(fd);
	}
	return NULL;
}

static struct srv *srv_start(enum srv_kind kind)
{
	struct srv *s = calloc(1, sizeof *s);
	s->kind = kind;
	pthread_mutex_init(&s->mu, NULL);
	s->fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(s->fd >= 0);
	struct sockaddr_in a = { 0 };
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(listen(s->fd, 16), 0);
	socklen_t al = sizeof a;
	assert_int_equal(getsockname(s->fd, (struct sockaddr *)&a, &al), 0);
	s->port = ntohs(a.sin_port);
	s->statuses[0] = 200;
	s->nstatuses = 1;
	assert_int_equal(pthread_create(&s->th, NULL, srv_main, s), 0);
	return s;
}

static void srv_stop(struct srv *s)
{
	atomic_store(&s->stop, 1);
	pthread_join(s->th, NULL);
	close(s->fd);
	for (int i = 0; i < s->nmsgs; i++)
		free(s->msgs[i]);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

static int srv_count(struct srv *s, int conns)
{
	pthread_mutex_lock(&s->mu);
	int n = conns ? s->conns : s->nmsgs;
	pthread_mutex_unlock(&s->mu);
	return n;
}

static char *srv_url(struct srv *s, const char *scheme, const char *path)
{
	char *u = NULL;
	if (asprintf(&u, "%s://127.0.0.1:%d%s", scheme, s->port, path) < 0)
		abort();
	return u;
}

/* ------------------------------------------------------------ mail parsing */

/* malloc'd decoded base64 (whitespace ignored). */
static char *b64_decode(const char *s, size_t n)
{
	char *out = calloc(1, n + 1);
	size_t len = 0;
	assert_int_equal(sodium_base642bin((unsigned char *)out, n, s, n, " \r\n\t", &len, NULL,
					   sodium_base64_VARIANT_ORIGINAL), 0);
	out[len] = '\0';
	return out;
}

/* The value of header name (unfolded, encoded words decoded), malloc'd. */
static char *mail_header(const char *m, const char *name)
{
	const char *end = strstr(m, "\r\n\r\n");
	assert_non_null(end);
	size_t nl = strlen(name);
	const char *p = m;
	while (p < end) {
		if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			/* unfold: the value runs to the first CRLF not followed by a space */
			const char *v = p + nl + 1, *q;
			v += strspn(v, " ");
			q = v;
			while (!(q[0] == '\r' && q[1] == '\n' && q[2] != ' ' && q[2] != '\t'))
				q++;
			char *raw = strndup(v, (size_t)(q - v));
			char *out = calloc(1, strlen(raw) * 2 + 1);
			size_t ol = 0;
			const char *r = raw;
			while (*r) {
				const char *w = strstr(r, "=?UTF-8?B?");
				size_t plain = w ? (size_t)(w - r) : strlen(r);
				/* text between encoded words that is only white space is dropped (RFC 2047) */
				if (strspn(r, " \r\n\t") < plain) {
					memcpy(out + ol, r, plain);
					ol += plain;
				}
				if (w == NULL)
					break;
				const char *we = strstr(w + 10, "?=");
				assert_non_null(we);
				char *d = b64_decode(w + 10, (size_t)(we - w - 10));
				memcpy(out + ol, d, strlen(d));
				ol += strlen(d);
				free(d);
				r = we + 2;
			}
			out[ol] = '\0';
			free(raw);
			return out;
		}
		p = strstr(p, "\r\n") + 2;
	}
	return NULL;
}

static char *mail_body(const char *m)
{
	const char *b = strstr(m, "\r\n\r\n");
	assert_non_null(b);
	b += 4;
	return b64_decode(b, strlen(b));
}

/* ------------------------------------------------------------ tests */

static void test_dedup(void **state)
{
	(void)state;
	struct conf c;
	conf_with(&c, NULL, NULL);
	struct store *st = fresh_store(NULL);
	int64_t a = add_user(st, "alice", NULL, NULL), b = add_user(st, "bob", NULL, NULL);
	assert_int_equal(notify_user(st, a, "case.state", "已受理", "您的申请已受理。", "/cases/1", "case:1:accepted"), 0);
	assert_int_equal(notify_user(st, a, "case.state", "已受理", "您的申请已受理。", "/cases/1", "case:1:accepted"), 0);
	assert_int_equal(count(st, "SELECT COUNT(*) FROM messages WHERE user_id = $1", a), 1);
	/* the key is per person */
	assert_int_equal(notify_user(st, b, "case.state", "已受理", "您的申请已受理。", "/cases/1", "case:1:accepted"), 0);
	assert_int_equal(count(st, "SELECT COUNT(*) FROM messages WHERE user_id = $1", b), 1);
	/* without a key every call is a message */
	assert_int_equal(notify_user(st, a, "note", "提醒", "", NULL, NULL), 0);
	assert_int_equal(notify_user(st, a, "note", "提醒", "", NULL, NULL), 0);
	assert_int_equal(count(st, "SELECT COUNT(*) FROM messages WHERE user_id = $1", a), 3);
	/* inside the caller's transaction: rolled back with it, and a duplicate
	 * inside a transaction does not break the transaction */
	assert_int_equal(store_begin(st), STORE_OK);
	assert_int_equal(notify_user(st, a, "note", "回滚", "x", NULL, "k2"), 0);
	assert_int_equal(notify_user(st, a, "note", "回滚", "x", NULL, "k2"), 0);
	assert_int_equal(notify_user(st, a, "case.state", "已受理", "x", NULL, "case:1:accepted"), 0);
	store_rollback(st);
	assert_int_equal(count(st, "SELECT COUNT(*) FROM messages WHERE user_id = $1", a), 3);
	assert_int_equal(store_begin(st), STORE_OK);
	assert_int_equal(notify_user(st, a, "note", "提交", "x", NULL, "k3"), 0);
	assert_int_equal(notify_user(st, a, "note", "提交", "x", NULL, "k3"), 0);
	assert_int_equal(store_commit(st), STORE_OK);
	assert_int_equal(count(st, "SELECT COUNT(*) FROM messages WHERE user_id = $1", a), 4);
	/* bad arguments and unknown users are refused */
	assert_int_equal(notify_user(st, a, "note", "x", "x", "javascript:alert(1)", NULL), -1);
	assert_int_equal(notify_user(st, a, "note", "x", "x", "//evil.example/", NULL), -1);
	assert_int_equal(notify_user(st, a, "Bad Kind", "x", "x", NULL, NULL), -1);
	assert_int_equal(notify_user(st, a, "note", "", "x", NULL, NULL), -1);
	assert_int_equal(notify_user(st, a, "note", "two\nlines", "x", NULL, NULL), -1);
	assert_int_equal(notify_user(st, 987654, "note", "x", "x", NULL, NULL), -1);
	assert_int_equal(count(st, "SELECT COUNT(*) FROM messages WHERE user_id = $1", a), 4);
	store_close(st);
	conf_release(&c);
}

static void test_inbox(void **state)
{
	(void)state;
	struct conf c;
	conf_with(&c, NULL, NULL);
	struct store *st = fresh_store(NULL);
	int64_t a = add_user(st, "alice", NULL, NULL), b = add_user(st, "bob", NULL, NULL);
	for (int i = 1; i <= 5; i++) {
		char t[32];
		snprintf(t, sizeof t, "消息%d", i);
		assert_int_equal(notify_user(st, a, "note", t, "正文\n第二行", i % 2 ? "/desk" : NULL, NULL), 0);
	}
	assert_int_equal(notify_user(st, b, "note", "别人的", "x", NULL, NULL), 0);
	int64_t n = -1;
	assert_int_equal(notify_unread_count(st, a, &n), 0);
	assert_int_equal(n, 5);

	/* newest first, two a page, every message once, next null at the end */
	const char *want[] = { "消息5", "消息4", "消息3", "消息2", "消息1" };
	int seen = 0, pages = 0;
	int64_t after = 0, ids[5] = { 0 };
	for (;;) {
		json_t *page = notify_inbox(st, a, after, 2);
		assert_non_null(page);
		json_t *items = json_object_get(page, "items"), *next = json_object_get(page, "next");
		size_t i;
		json_t *m;
		json_array_foreach(items, i, m) {
			assert_true(seen < 5);
			assert_string_equal(json_string_value(json_object_get(m, "title")), want[seen]);
			assert_string_equal(json_string_value(json_object_get(m, "body")), "正文\n第二行");
			assert_true(json_is_false(json_object_get(m, "read")));
			assert_non_null(json_object_get(m, "created_at"));
			assert_non_null(json_object_get(m, "kind"));
			assert_non_null(json_object_get(m, "link"));
			ids[seen++] = json_integer_value(json_object_get(m, "id"));
		}
		pages++;
		if (json_is_null(next)) {
			json_decref(page);
			break;
		}
		assert_int_equal(json_array_size(items), 2);
		after = json_integer_value(next);
		json_decref(page);
		assert_true(pages < 10);
	}
	assert_int_equal(seen, 5);
	assert_int_equal(pages, 3);
	/* exactly a full page: no next page announced */
	json_t *page = notify_inbox(st, a, ids[2], 2);
	assert_int_equal(json_array_size(json_object_get(page, "items")), 2);
	assert_true(json_is_null(json_object_get(page, "next")));
	json_decref(page);

	/* marking read */
	assert_int_equal(notify_mark_read(st, a, ids[0]), 0);
	assert_int_equal(notify_mark_read(st, a, ids[0]), 0);    /* already read: still 0 */
	assert_int_equal(notify_mark_read(st, b, ids[1]), 1);    /* not bob's */
	assert_int_equal(notify_mark_read(st, a, 999999), 1);
	assert_int_equal(notify_unread_count(st, a, &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(notify_unread_count(st, b, &n), 0);
	assert_int_equal(n, 1);
	page = notify_inbox(st, a, 0, 1);
	assert_true(json_is_true(json_object_get(json_array_get(json_object_get(page, "items"), 0), "read")));
	json_decref(page);
	assert_int_equal(notify_mark_all_read(st, a, &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(notify_unread_count(st, a, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(notify_unread_count(st, b, &n), 0);
	assert_int_equal(n, 1);
	store_close(st);
	conf_release(&c);
}

static void test_outbox_channels(void **state)
{
	(void)state;
	struct conf c;
	struct store *st = fresh_store(NULL);
	int64_t both = add_user(st, "both", "both@example.com", "13800138000");
	int64_t mail = add_user(st, "mail", "mail@example.com", NULL);
	int64_t phone = add_user(st, "phone", "", "13900139000");
	int64_t none = add_user(st, "none", NULL, NULL);
	static const char per_user[] = "SELECT COUNT(*) FROM notify_outbox o JOIN messages m ON m.id = o.message_id "
				       "WHERE m.user_id = $1";
	static const char per_chan[] = "SELECT COUNT(*) FROM notify_outbox o JOIN messages m ON m.id = o.message_id "
				       "WHERE m.user_id = $1 AND o.channel = 'email'";

	/* nothing configured: inbox only */
	conf_with(&c, NULL, NULL);
	assert_int_equal(notify_user(st, both, "note", "t", "b", NULL, NULL), 0);
	assert_int_equal(count(st, per_user, both), 0);
	conf_release(&c);

	/* e-mail only */
	conf_with(&c, "smtp://127.0.0.1:1", NULL);
	assert_int_equal(notify_user(st, both, "note", "t", "b", NULL, NULL), 0);
	assert_int_equal(notify_user(st, phone, "note", "t", "b", NULL, NULL), 0);
	assert_int_equal(count(st, per_user, both), 1);
	assert_int_equal(count(st, per_chan, both), 1);
	assert_int_equal(count(st, per_user, phone), 0);   /* empty e-mail is no address */
	conf_release(&c);

	/* both channels */
	conf_with(&c, "smtp://127.0.0.1:1", "https://sms.example/hook");
	assert_int_equal(notify_user(st, both, "note", "t", "b", NULL, "k"), 0);
	assert_int_equal(notify_user(st, mail, "note", "t", "b", NULL, NULL), 0);
	assert_int_equal(notify_user(st, phone, "note", "t", "b", NULL, NULL), 0);
	assert_int_equal(notify_user(st, none, "note", "t", "b", NULL, NULL), 0);
	assert_int_equal(count(st, per_user, both), 3);
	assert_int_equal(count(st, per_chan, both), 2);
	assert_int_equal(count(st, per_user, mail), 1);
	assert_int_equal(count(st, per_chan, mail), 1);
	assert_int_equal(count(st, per_user, phone), 1);
	assert_int_equal(count(st, per_chan, phone), 0);
	assert_int_equal(count(st, per_user, none), 0);
	/* a duplicate adds no deliveries */
	assert_int_equal(notify_user(st, both, "note", "t", "b", NULL, "k"), 0);
	assert_int_equal(count(st, per_user, both), 3);
	assert_int_equal(count(st, "SELECT COUNT(*) FROM notify_outbox WHERE state <> 'queued' OR attempts <> $1", 0), 0);
	/* smtp_url without a sender address: no e-mail */
	conf_release(&c);
	char *err = NULL;
	assert_int_equal(conf_load(&c, NULL, 1, &err), 0);
	assert_int_equal(conf_set(&c, "smtp_url", "smtp://127.0.0.1:1", &err), 0);
	notify_configure(&c);
	assert_int_equal(notify_user(st, mail, "note", "t", "b", NULL, NULL), 0);
	assert_int_equal(count(st, per_user, mail), 1);
	store_close(st);
	conf_release(&c);
}

static void test_smtp_send(void **state)
{
	(void)state;
	fake_now = 1800000000;
	notify_set_clock(fake_clock);
	struct srv *s = srv_start(SRV_SMTP);
	char *url = srv_url(s, "smtp", "");
	struct conf c;
	conf_with(&c, url, NULL);
	struct store *st = fresh_store(NULL);
	int64_t a = add_user(st, "alice", "alice@example.com", "13800138000");
	/* long enough for several encoded words; 办 is three bytes in UTF-8 */
	const char *title = "办件进度通知：您申请的《个体工商户设立登记》已受理，请留意后续短信与邮件提醒";
	const char *body = "您好：\n您于 2027 年提交的申请已受理，受理编号 A1B2C3。\n.以点开头的一行";
	assert_int_equal(notify_user(st, a, "case.state", title, body, "/cases/7", "case:7:accepted"), 0);
	int64_t ob = only_outbox_id(st);
	assert_int_equal(notify_send_due(st, &c), 1);
	assert_string_equal(outbox_field(st, ob, 0), "sent");
	assert_string_equal(outbox_field(st, ob, 1), "1");
	assert_int_equal(srv_count(s, 0), 1);

	char *m = s->msgs[0];
	char *subj = mail_header(m, "Subject");
	assert_string_equal(subj, title);
	free(subj);
	char *raw_subject = strstr(m, "Subject: ");
	assert_non_null(raw_subject);
	assert_memory_equal(raw_subject, "Subject: =?UTF-8?B?", 19);
	char *ct = mail_header(m, "Content-Type");
	assert_string_equal(ct, "text/plain; charset=UTF-8");
	free(ct);
	char *mid = mail_header(m, "Message-ID");
	char want_mid[128];
	snprintf(want_mid, sizeof want_mid, "<yizhan.notify.%lld.", (long long)ob);
	assert_non_null(strstr(mid, want_mid));
	assert_non_null(strstr(mid, "@gov.example>"));
	free(mid);
	char *to = mail_header(m, "To");
	assert_string_equal(to, "<alice@example.com>");
	free(to);
	char *date = mail_header(m, "Date");
	assert_non_null(strstr(date, "Fri, 15 Jan 2027 08:00:00 +0000"));   /* 1800000000 */
	free(date);
	char *text = mail_body(m);
	assert_non_null(strstr(text, "您于 2027 年提交的申请已受理，受理编号 A1B2C3。\r\n.以点开头的一行"));
	assert_non_null(strstr(text, "http://example.test/cases/7"));
	free(text);

	/* a second run sends nothing */
	fake_now += 7200;
	assert_int_equal(notify_send_due(st, &c), 0);
	assert_int_equal(srv_count(s, 0), 1);
	assert_int_equal(srv_count(s, 1), 1);
	store_close(st);
	conf_release(&c);
	free(url);
	srv_stop(s);
	notify_set_clock(NULL);
}

static void test_smtp_retry(void **state)
{
	(void)state;
	fake_now = 1800000000;
	notify_set_clock(fake_clock);
	struct srv *s = srv_start(SRV_SMTP);
	s->smtp_mode = 451;
	char *url = srv_url(s, "smtp", ""), *err = NULL;
	struct conf c;
	conf_with(&c, url, NULL);
	assert_int_equal(conf_set(&c, "notify_max_attempts", "4", &err), 0);
	struct store *st = fresh_store(NULL);
	int64_t a = add_user(st, "alice", "alice@example.com", NULL);
	assert_int_equal(notify_user(st, a, "note", "标题", "正文", NULL, NULL), 0);
	int64_t ob = only_outbox_id(st);
	int64_t t0 = fake_now;

	/* attempts 1..3 fail and are rescheduled 30, 60, 120 s later */
	int64_t waits[] = { 30, 60, 120 };
	for (int i = 0; i < 3; i++) {
		assert_int_equal(notify_send_due(st, &c), 0);
		assert_int_equal(srv_count(s, 1), i + 1);
		assert_string_equal(outbox_field(st, ob, 0), "queued");
		assert_int_equal(strtoll(outbox_field(st, ob, 1), NULL, 10), i + 1);
		assert_int_equal(strtoll(outbox_field(st, ob, 2), NULL, 10), fake_now + waits[i]);
		assert_non_null(strstr(outbox_field(st, ob, 3), "451"));
		/* not due yet: no connection */
		fake_now += waits[i] - 1;
		assert_int_equal(notify_send_due(st, &c), 0);
		assert_int_equal(srv_count(s, 1), i + 1);
		fake_now += 1;
	}
	/* the fourth is the last */
	assert_int_equal(notify_send_due(st, &c), 0);
	assert_int_equal(srv_count(s, 1), 4);
	assert_string_equal(outbox_field(st, ob, 0), "failed");
	assert_string_equal(outbox_field(st, ob, 1), "4");
	fake_now += 86400;
	assert_int_equal(notify_send_due(st, &c), 0);
	assert_int_equal(srv_count(s, 1), 4);
	assert_int_equal(srv_count(s, 0), 0);
	assert_true(fake_now - t0 > 210);

	/* the back-off is capped at an hour */
	conf_release(&c);
	conf_with(&c, url, NULL);
	assert_int_equal(conf_set(&c, "notify_max_attempts", "20", &err), 0);
	assert_int_equal(notify_user(st, a, "note", "标题2", "正文", NULL, NULL), 0);
	ob = only_outbox_id(st);
	assert_int_equal(store_exec(st, "UPDATE notify_outbox SET attempts = 12 WHERE id = $1",
				    (struct sval[]){ SVI(ob) }, 1, NULL), STORE_OK);
	assert_int_equal(notify_send_due(st, &c), 0);
	assert_int_equal(strtoll(outbox_field(st, ob, 1), NULL, 10), 13);
	assert_int_equal(strtoll(outbox_field(st, ob, 2), NULL, 10), fake_now + 3600);

	/* a permanent refusal (550 on RCPT) fails at once */
	s->smtp_mode = 550;
	assert_int_equal(notify_user(st, a, "note", "标题3", "正文", NULL, NULL), 0);
	ob = only_outbox_id(st);
	assert_int_equal(notify_send_due(st, &c), 0);
	assert_string_equal(outbox_field(st, ob, 0), "failed");
	assert_string_equal(outbox_field(st, ob, 1), "1");
	assert_non_null(strstr(outbox_field(st, ob, 3), "550"));
	store_close(st);
	conf_release(&c);
	free(url);
	srv_stop(s);
	notify_set_clock(NULL);
}

static void test_webhook(void **state)
{
	(void)state;
	fake_now = 1800000000;
	notify_set_clock(fake_clock);
	struct srv *s = srv_start(SRV_HTTP);
	s->statuses[0] = 500;
	s->statuses[1] = 200;
	s->nstatuses = 2;
	char *url = srv_url(s, "http", "/sms");
	struct conf c;
	conf_with(&c, NULL, url);
	struct store *st = fresh_store(NULL);
	int64_t a = add_user(st, "alice", "alice@example.com", "13800138000");
	assert_int_equal(notify_user(st, a, "case.deadline", "即将超期", "请于 3 个工作日内补正材料。", "/cases/9", NULL), 0);
	int64_t ob = only_outbox_id(st);
	assert_string_equal(outbox_field(st, ob, 4), "sms");   /* no e-mail row: SMTP not configured */
	assert_int_equal(count(st, "SELECT COUNT(*) FROM notify_outbox WHERE id <> $1", ob), 0);

	assert_int_equal(notify_send_due(st, &c), 0);   /* 500 */
	assert_string_equal(outbox_field(st, ob, 0), "queued");
	assert_string_equal(outbox_field(st, ob, 1), "1");
	assert_non_null(strstr(outbox_field(st, ob, 3), "500"));
	fake_now += 30;
	assert_int_equal(notify_send_due(st, &c), 1);   /* 200 */
	assert_string_equal(outbox_field(st, ob, 0), "sent");
	assert_int_equal(srv_count(s, 0), 2);
	fake_now += 86400;
	assert_int_equal(notify_send_due(st, &c), 0);
	assert_int_equal(srv_count(s, 0), 2);            /* delivered once */

	char want_key[32];
	snprintf(want_key, sizeof want_key, "%lld", (long long)ob);
	for (int i = 0; i < 2; i++) {
		assert_string_equal(s->idem[i], want_key);   /* the same key on the retry */
		json_error_t je;
		json_t *doc = json_loads(s->msgs[i], 0, &je);
		assert_non_null(doc);
		assert_string_equal(json_string_value(json_object_get(doc, "to")), "13800138000");
		assert_string_equal(json_string_value(json_object_get(doc, "kind")), "case.deadline");
		const char *text = json_string_value(json_object_get(doc, "text"));
		assert_non_null(strstr(text, "即将超期"));
		assert_non_null(strstr(text, "请于 3 个工作日内补正材料。"));
		assert_non_null(strstr(text, "http://example.test/cases/9"));
		json_decref(doc);
	}
	/* a 4xx other than 408/429 is final */
	s->statuses[2] = 400;
	s->nstatuses = 3;
	assert_int_equal(notify_user(st, a, "note", "t", "b", NULL, NULL), 0);
	ob = only_outbox_id(st);
	assert_int_equal(notify_send_due(st, &c), 0);
	assert_string_equal(outbox_field(st, ob, 0), "failed");
	store_close(st);
	conf_release(&c);
	free(url);
	srv_stop(s);
	notify_set_clock(NULL);
}

static void test_stuck_sending(void **state)
{
	(void)state;
	fake_now = 1800000000;
	notify_set_clock(fake_clock);
	struct srv *s = srv_start(SRV_SMTP);
	char *url = srv_url(s, "smtp", "");
	struct conf c;
	conf_with(&c, url, NULL);
	struct store *st = fresh_store(NULL);
	int64_t a = add_user(st, "alice", "alice@example.com", NULL);
	static const char set_sending[] = "UPDATE notify_outbox SET state = 'sending', claimed_at = $2, attempts = $3 "
					  "WHERE id = $1";
	assert_int_equal(notify_user(st, a, "note", "旧的", "b", NULL, NULL), 0);
	int64_t old = only_outbox_id(st);
	assert_int_equal(notify_user(st, a, "note", "新的", "b", NULL, NULL), 0);
	int64_t recent = only_outbox_id(st);
	assert_int_equal(notify_user(st, a, "note", "用尽", "b", NULL, NULL), 0);
	int64_t spent = only_outbox_id(st);
	struct sval p1[] = { SVI(old), SVI(fake_now - 601), SVI(1) };
	struct sval p2[] = { SVI(recent), SVI(fake_now - 100), SVI(1) };
	struct sval p3[] = { SVI(spent), SVI(fake_now - 601), SVI(8) };
	assert_int_equal(store_exec(st, set_sending, p1, 3, NULL), STORE_OK);
	assert_int_equal(store_exec(st, set_sending, p2, 3, NULL), STORE_OK);
	assert_int_equal(store_exec(st, set_sending, p3, 3, NULL), STORE_OK);

	assert_int_equal(notify_send_due(st, &c), 1);
	assert_string_equal(outbox_field(st, old, 0), "sent");        /* re-queued, then sent */
	assert_string_equal(outbox_field(st, old, 1), "2");
	assert_string_equal(outbox_field(st, recent, 0), "sending");  /* maybe still in flight elsewhere */
	assert_string_equal(outbox_field(st, spent, 0), "failed");    /* out of attempts */
	assert_int_equal(srv_count(s, 0), 1);
	char *subj = mail_header(s->msgs[0], "Subject");
	assert_string_equal(subj, "旧的");
	free(subj);
	store_close(st);
	conf_release(&c);
	free(url);
	srv_stop(s);
	notify_set_clock(NULL);
}

struct runner {
	char *uri;
	const struct conf *conf;
	int sent;
};

static void *run_send(void *p)
{
	struct runner *r = p;
	struct store *st = open_uri(r->uri);
	r->sent = notify_send_due(st, r->conf);
	store_close(st);
	return NULL;
}

static void test_no_double_send(void **state)
{
	(void)state;
	notify_set_clock(NULL);
	struct srv *s = srv_start(SRV_SMTP);
	char *url = srv_url(s, "smtp", ""), *uri = NULL;
	struct conf c;
	conf_with(&c, url, NULL);
	struct store *st = fresh_store(&uri);
	enum { N = 12 };
	for (int i = 0; i < N; i++) {
		char login[16];
		snprintf(login, sizeof login, "u%d", i);
		int64_t u = add_user(st, login, "u@example.com", NULL);
		assert_int_equal(notify_user(st, u, "note", login, "b", NULL, NULL), 0);
	}
	/* two senders with their own connections race over the same rows */
	struct runner r1 = { uri, &c, -1 }, r2 = { uri, &c, -1 };
	pthread_t t1, t2;
	assert_int_equal(pthread_create(&t1, NULL, run_send, &r1), 0);
	assert_int_equal(pthread_create(&t2, NULL, run_send, &r2), 0);
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	assert_true(r1.sent >= 0 && r2.sent >= 0);
	assert_int_equal(r1.sent + r2.sent, N);
	assert_int_equal(srv_count(s, 0), N);
	/* every message once: distinct subjects */
	for (int i = 0; i < N; i++)
		for (int j = i + 1; j < N; j++) {
			char *a = mail_header(s->msgs[i], "Subject"), *b = mail_header(s->msgs[j], "Subject");
			assert_string_not_equal(a, b);
			free(a);
			free(b);
		}
	assert_int_equal(notify_send_due(st, &c), 0);
	assert_int_equal(notify_send_due(st, &c), 0);
	assert_int_equal(srv_count(s, 0), N);
	assert_int_equal(count(st, "SELECT COUNT(*) FROM notify_outbox WHERE state = 'sent' AND attempts = $1", 1), N);
	store_close(st);
	conf_release(&c);
	free(url);
	free(uri);
	srv_stop(s);
}

/* The sender threads of notify_start deliver a message queued after a kick. */
static void test_threads(void **state)
{
	(void)state;
	notify_set_clock(NULL);
	struct srv *s = srv_start(SRV_SMTP);
	char *url = srv_url(s, "smtp", ""), *uri = NULL;
	struct conf c;
	conf_with(&c, url, NULL);
	struct store *st = fresh_store(&uri);
	int64_t a = add_user(st, "alice", "alice@example.com", NULL);
	assert_int_equal(notify_start(uri, &c, 2), 0);
	assert_int_equal(notify_user(st, a, "note", "线程", "b", NULL, "once"), 0);
	assert_int_equal(notify_user(st, a, "note", "线程", "b", NULL, "once"), 0);
	notify_kick();
	for (int i = 0; i < 200 && srv_count(s, 0) < 1; i++)
		usleep(50000);
	notify_stop();
	assert_int_equal(srv_count(s, 0), 1);
	assert_int_equal(count(st, "SELECT COUNT(*) FROM notify_outbox WHERE state = 'sent' AND attempts = $1", 1), 1);
	store_close(st);
	conf_release(&c);
	free(url);
	free(uri);
	srv_stop(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dedup),
		cmocka_unit_test(test_inbox),
		cmocka_unit_test(test_outbox_channels),
		cmocka_unit_test(test_smtp_send),
		cmocka_unit_test(test_smtp_retry),
		cmocka_unit_test(test_webhook),
		cmocka_unit_test(test_stuck_sending),
		cmocka_unit_test(test_no_double_send),
		cmocka_unit_test(test_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
