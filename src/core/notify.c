/*
 * notify: the in-app inbox and the outbox of e-mail and SMS/webhook
 * deliveries.  The life of an outbox row and the delivery guarantees are
 * described in notify.h.
 */
#include "core/notify.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/msg.h"
#include "core/validate.h"
#include "core/xalloc.h"

#include <curl/curl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOTIFY_MAX_THREADS 16
#define NOTIFY_STALE_SECS 600       /* a row 'sending' this long was left by a dead process */
#define NOTIFY_BACKOFF_BASE 30
#define NOTIFY_BACKOFF_MAX 3600
#define NOTIFY_POLL_SECS 5
#define NOTIFY_BATCH 32
#define NOTIFY_SEND_TIMEOUT 30L     /* seconds per delivery, far below NOTIFY_STALE_SECS */
#define NOTIFY_MAIL_MAX (256 * 1024)

/* ------------------------------------------------------------ clock */

static time_t (*clock_fn)(void);

void notify_set_clock(time_t (*fn)(void))
{
	clock_fn = fn;
}

static int64_t now(void)
{
	return clock_fn ? (int64_t)clock_fn() : (int64_t)time(NULL);
}

/* ------------------------------------------------------------ configuration */

/* What one sender needs, copied from struct conf. */
struct ncfg {
	int email_on, sms_on, max_attempts;
	char *smtp_url, *smtp_from, *smtp_user, *smtp_password, *sms_webhook;
	char *base_url;      /* without a trailing slash */
	char *from_domain;   /* for Message-ID */
};

static void cfg_init(struct ncfg *c, const struct conf *conf)
{
	memset(c, 0, sizeof *c);
	c->smtp_url = xstrdup(conf->smtp_url ? conf->smtp_url : "");
	c->smtp_from = xstrdup(conf->smtp_from ? conf->smtp_from : "");
	c->smtp_user = xstrdup(conf->smtp_user ? conf->smtp_user : "");
	c->smtp_password = xstrdup(conf->smtp_password ? conf->smtp_password : "");
	c->sms_webhook = xstrdup(conf->sms_webhook ? conf->sms_webhook : "");
	c->max_attempts = conf->notify_max_attempts > 0 ? conf->notify_max_attempts : 8;
	if (conf->base_url != NULL && conf->base_url[0] != '\0')
		c->base_url = xstrdup(conf->base_url);
	else
		c->base_url = xasprintf("http://%s:%d",
					conf->listen == NULL || strcmp(conf->listen, "0.0.0.0") == 0
						? "127.0.0.1" : conf->listen,
					conf->port);
	size_t n = strlen(c->base_url);
	while (n > 0 && c->base_url[n - 1] == '/')
		c->base_url[--n] = '\0';
	const char *at = strrchr(c->smtp_from, '@');
	c->from_domain = xstrdup(at ? at + 1 : "localhost");
	c->email_on = c->smtp_url[0] != '\0' && c->smtp_from[0] != '\0' &&
		      validate_email(c->smtp_from) == MSG_NONE;
	c->sms_on = c->sms_webhook[0] != '\0';
}

static void cfg_release(struct ncfg *c)
{
	free(c->smtp_url);
	free(c->smtp_from);
	free(c->smtp_user);
	if (c->smtp_password != NULL)
		sodium_memzero(c->smtp_password, strlen(c->smtp_password));
	free(c->smtp_password);
	free(c->sms_webhook);
	free(c->base_url);
	free(c->from_domain);
	memset(c, 0, sizeof *c);
}

/* The channels notify_user queues for (set by notify_configure). */
static pthread_mutex_t cfg_mu = PTHREAD_MUTEX_INITIALIZER;
static int chan_email, chan_sms;

void notify_configure(const struct conf *conf)
{
	struct ncfg c;
	cfg_init(&c, conf);
	if (c.smtp_url[0] != '\0' && !c.email_on)
		log_warn("notify: smtp_url is set but smtp_from is missing or not an address: no e-mail");
	if (c.sms_on && strncmp(c.sms_webhook, "https://", 8) != 0)
		log_warn("notify: sms_webhook is not an https URL; phone numbers travel in clear");
	pthread_mutex_lock(&cfg_mu);
	chan_email = c.email_on;
	chan_sms = c.sms_on;
	pthread_mutex_unlock(&cfg_mu);
	cfg_release(&c);
}

/* ------------------------------------------------------------ SQL */

enum notify_stmt {
	S_USER, S_MSG_INSERT, S_OUTBOX_INSERT, S_INBOX, S_UNREAD, S_MARK, S_EXISTS, S_MARK_ALL,
	S_DUE, S_CLAIM, S_LOAD, S_SENT, S_RETRY, S_FAIL, S_STALE_FAIL, S_STALE_REQUEUE, S__MAX
};

static const char *const sql[S__MAX] = {
	[S_USER] = "SELECT email, phone FROM users WHERE id = $1",
	[S_MSG_INSERT] = "INSERT INTO messages (user_id, kind, title, body, link, dedup, created_at) "
			 "VALUES ($1, $2, $3, $4, $5, $6, $7) "
			 "ON CONFLICT (user_id, dedup) DO NOTHING RETURNING id",
	[S_OUTBOX_INSERT] = "INSERT INTO notify_outbox (message_id, channel, state, attempts, "
			    "next_attempt_at, created_at) VALUES ($1, $2, 'queued', 0, $3, $3)",
	[S_INBOX] = "SELECT id, kind, title, body, link, created_at, read_at FROM messages "
		    "WHERE user_id = $1 AND ($2 = 0 OR id < $2) ORDER BY id DESC LIMIT $3",
	[S_UNREAD] = "SELECT COUNT(*) FROM messages WHERE user_id = $1 AND read_at IS NULL",
	[S_MARK] = "UPDATE messages SET read_at = $3 WHERE id = $1 AND user_id = $2 AND read_at IS NULL",
	[S_EXISTS] = "SELECT 1 FROM messages WHERE id = $1 AND user_id = $2",
	[S_MARK_ALL] = "UPDATE messages SET read_at = $2 WHERE user_id = $1 AND read_at IS NULL",
	[S_DUE] = "SELECT id FROM notify_outbox WHERE state = 'queued' AND next_attempt_at <= $1 "
		  "AND ((channel = 'email' AND $2 = 1) OR (channel = 'sms' AND $3 = 1)) "
		  "ORDER BY next_attempt_at, id LIMIT $4",
	[S_CLAIM] = "UPDATE notify_outbox SET state = 'sending', claimed_at = $2, attempts = attempts + 1 "
		    "WHERE id = $1 AND state = 'queued' AND next_attempt_at <= $2",
	[S_LOAD] = "SELECT o.channel, o.attempts, m.id, m.kind, m.title, m.body, m.link, u.email, u.phone "
		   "FROM notify_outbox o JOIN messages m ON m.id = o.message_id "
		   "JOIN users u ON u.id = m.user_id WHERE o.id = $1",
	[S_SENT] = "UPDATE notify_outbox SET state = 'sent', sent_at = $2, last_error = NULL "
		   "WHERE id = $1 AND state = 'sending'",
	[S_RETRY] = "UPDATE notify_outbox SET state = 'queued', next_attempt_at = $2, last_error = $3, "
		    "claimed_at = NULL WHERE id = $1 AND state = 'sending'",
	[S_FAIL] = "UPDATE notify_outbox SET state = 'failed', last_error = $2 "
		   "WHERE id = $1 AND state = 'sending'",
	[S_STALE_FAIL] = "UPDATE notify_outbox SET state = 'failed', last_error = $2 "
			 "WHERE state = 'sending' AND claimed_at < $1 AND attempts >= $3",
	[S_STALE_REQUEUE] = "UPDATE notify_outbox SET state = 'queued', next_attempt_at = $2, "
			    "claimed_at = NULL, last_error = $3 WHERE state = 'sending' AND claimed_at < $1",
};

static const char STALE_ERROR[] = "interrupted: left in 'sending' by a stopped process";

/* ------------------------------------------------------------ enqueue */

static int kind_ok(const char *k)
{
	size_t n = k ? strlen(k) : 0;
	return n > 0 && n <= 64 && strspn(k, "abcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

/* A path on this site: "/x...", not "//host" nor "/\host", printable ASCII without spaces. */
static int link_ok(const char *l)
{
	if (l == NULL)
		return 1;
	size_t n = strlen(l);
	if (n == 0 || n > 500 || l[0] != '/' || l[1] == '/' || l[1] == '\\')
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)l[i] <= 0x20 || (unsigned char)l[i] >= 0x7F || l[i] == '"' || l[i] == '<' ||
		    l[i] == '>' || l[i] == '\\')
			return 0;
	return 1;
}

static int args_ok(const char *kind, const char *title, const char *body, const char *link,
		   const char *dedup)
{
	if (!kind_ok(kind) || title == NULL || body == NULL || !link_ok(link))
		return 0;
	if (validate_text(title, strlen(title), 1, 200, 0) != MSG_NONE ||
	    validate_text(body, strlen(body), 0, 10000, 1) != MSG_NONE)
		return 0;
	if (dedup != NULL && validate_text(dedup, strlen(dedup), 1, 200, 0) != MSG_NONE)
		return 0;
	return 1;
}

/* The rows of one notify_user call, in the transaction already open. */
static int enqueue(struct store *st, int64_t user_id, const char *kind, const char *title,
		   const char *body, const char *link, const char *dedup)
{
	struct store_res *res = NULL;
	struct sval u[] = { SVI(user_id) };
	if (store_query(st, sql[S_USER], u, 1, &res) != STORE_OK)
		return -1;
	if (store_res_rows(res) == 0) {
		store_res_free(res);
		log_error("notify: no user %lld", (long long)user_id);
		return -1;
	}
	const char *email = store_res_text(res, 0, 0), *phone = store_res_text(res, 0, 1);
	int want_email = email != NULL && email[0] != '\0';
	int want_sms = phone != NULL && phone[0] != '\0';
	store_res_free(res);

	pthread_mutex_lock(&cfg_mu);
	want_email = want_email && chan_email;
	want_sms = want_sms && chan_sms;
	pthread_mutex_unlock(&cfg_mu);

	int64_t t = now(), mid = 0;
	struct sval m[] = { SVI(user_id), SVT(kind), SVT(title), SVT(body), SVT(link), SVT(dedup), SVI(t) };
	int rc = store_query_int(st, sql[S_MSG_INSERT], m, 7, &mid);
	if (rc == 1)
		return 0;   /* this dedup key was used before: nothing to do */
	if (rc != STORE_OK)
		return -1;
	static const char *const chans[] = { "email", "sms" };
	int want[] = { want_email, want_sms };
	for (int i = 0; i < 2; i++) {
		if (!want[i])
			continue;
		struct sval o[] = { SVI(mid), SVT(chans[i]), SVI(t) };
		if (store_exec(st, sql[S_OUTBOX_INSERT], o, 3, NULL) != STORE_OK)
			return -1;
	}
	return 0;
}

int notify_user(struct store *st, int64_t user_id, const char *kind, const char *title,
		const char *body, const char *link, const char *dedup)
{
	if (user_id <= 0 || !args_ok(kind, title, body, link, dedup)) {
		log_error("notify: bad arguments (user %lld, kind %s)", (long long)user_id,
			  kind_ok(kind) ? kind : "?");
		return -1;
	}
	if (store_in_tx(st))
		return enqueue(st, user_id, kind, title, body, link, dedup);
	if (store_begin(st) != STORE_OK)
		return -1;
	if (enqueue(st, user_id, kind, title, body, link, dedup) != 0) {
		store_rollback(st);
		return -1;
	}
	return store_commit(st) == STORE_OK ? 0 : -1;
}

/* ------------------------------------------------------------ inbox */

json_t *notify_inbox(struct store *st, int64_t user_id, int64_t after, int limit)
{
	if (limit < 1)
		limit = 1;
	if (limit > 200)
		limit = 200;
	struct store_res *res = NULL;
	/* One row more than asked tells whether there is a next page. */
	struct sval p[] = { SVI(user_id), SVI(after < 0 ? 0 : after), SVI(limit + 1) };
	if (store_query(st, sql[S_INBOX], p, 3, &res) != STORE_OK)
		return NULL;
	json_t *items = json_array();
	int n = store_res_rows(res);
	for (int i = 0; i < n && i < limit; i++) {
		const char *link = store_res_text(res, i, 4);
		json_array_append_new(
			items, json_pack("{s:I,s:s,s:s,s:s,s:o,s:I,s:b}", "id", (json_int_t)store_res_int(res, i, 0),
					 "kind", store_res_text(res, i, 1), "title", store_res_text(res, i, 2),
					 "body", store_res_text(res, i, 3), "link",
					 link ? json_string(link) : json_null(), "created_at",
					 (json_int_t)store_res_int(res, i, 5), "read", !store_res_isnull(res, i, 6)));
	}
	json_t *next = n > limit ? json_integer(store_res_int(res, limit - 1, 0)) : json_null();
	store_res_free(res);
	return json_pack("{s:o,s:o}", "items", items, "next", next);
}

int notify_unread_count(struct store *st, int64_t user_id, int64_t *n)
{
	struct sval p[] = { SVI(user_id) };
	return store_query_int(st, sql[S_UNREAD], p, 1, n) == STORE_OK ? 0 : -1;
}

int notify_mark_read(struct store *st, int64_t user_id, int64_t message_id)
{
	int64_t changes = 0, one = 0;
	struct sval p[] = { SVI(message_id), SVI(user_id), SVI(now()) };
	if (store_exec(st, sql[S_MARK], p, 3, &changes) != STORE_OK)
		return -1;
	if (changes > 0)
		return 0;
	int rc = store_query_int(st, sql[S_EXISTS], p, 2, &one);
	return rc == STORE_OK ? 0 : rc == 1 ? 1 : -1;   /* already read, or not this user's */
}

int notify_mark_all_read(struct store *st, int64_t user_id, int64_t *n)
{
	int64_t changes = 0;
	struct sval p[] = { SVI(user_id), SVI(now()) };
	if (store_exec(st, sql[S_MARK_ALL], p, 2, &changes) != STORE_OK)
		return -1;
	if (n != NULL)
		*n = changes;
	return 0;
}

/* ------------------------------------------------------------ masking for logs */

/* "z***@example.com" */
static void mask_email(const char *e, char *out, size_t cap)
{
	const char *at = e ? strrchr(e, '@') : NULL;
	if (at == NULL || at == e) {
		snprintf(out, cap, "***");
		return;
	}
	snprintf(out, cap, "%c***%s", e[0], at);
}

/* "138****5678" */
static void mask_phone(const char *p, char *out, size_t cap)
{
	size_t n = p ? strlen(p) : 0;
	if (n < 8) {
		snprintf(out, cap, "****");
		return;
	}
	snprintf(out, cap, "%.3s****%s", p, p + n - 4);
}

/* ------------------------------------------------------------ e-mail */

static const char *const wdays[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
				      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

static int add_base64(struct buf *b, const unsigned char *p, size_t n)
{
	size_t cap = sodium_base64_encoded_len(n, sodium_base64_VARIANT_ORIGINAL);
	char *tmp = xmalloc(cap);
	sodium_bin2base64(tmp, cap, p, n, sodium_base64_VARIANT_ORIGINAL);
	int rc = buf_addstr(b, tmp);
	free(tmp);
	return rc;
}

/* Length of a UTF-8 sequence starting with byte c (1 for anything invalid). */
static size_t utf8_len(unsigned char c)
{
	return c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
}

/*
 * RFC 2047 encoded words for a header value: =?UTF-8?B?...?= pieces of at
 * most 45 bytes of text (60 base64 characters, 72 with the delimiters, under
 * the limit of 75), cut between characters, folded onto continuation lines.
 */
static int add_encoded_words(struct buf *b, const char *s)
{
	size_t n = strlen(s), i = 0;
	int rc = 0;
	while (i < n && rc == 0) {
		size_t j = i;
		while (j < n) {
			size_t k = utf8_len((unsigned char)s[j]);
			if (j + k - i > 45)
				break;
			j += k;
		}
		if (j > n)
			j = n;
		if (i > 0)
			rc |= buf_addstr(b, "\r\n ");
		rc |= buf_addstr(b, "=?UTF-8?B?");
		rc |= add_base64(b, (const unsigned char *)s + i, j - i);
		rc |= buf_addstr(b, "?=");
		i = j;
	}
	return rc;
}

/* The text of the mail body with CRLF line ends: title, body, link, footer. */
static void mail_text(struct buf *t, const struct ncfg *cfg, const char *title, const char *body,
		      const char *link)
{
	buf_addf(t, "%s\n\n%s\n", title, body);
	if (link != NULL)
		buf_addf(t, "\n%s%s%s\n", msg(MSG_NOTIFY_MAIL_LINK), cfg->base_url, link);
	buf_addf(t, "\n-- \n%s\n%s\n", msg(MSG_SITE_NAME), msg(MSG_NOTIFY_MAIL_FOOTER));
}

/* The whole RFC 5322 message into b; 0 or -1 (too large). */
static int mail_build(struct buf *b, const struct ncfg *cfg, int64_t outbox_id, int64_t message_id,
		      const char *to, const char *title, const char *body, const char *link)
{
	time_t t = (time_t)now();
	struct tm tm;
	gmtime_r(&t, &tm);
	int rc = 0;
	rc |= buf_addf(b, "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n", wdays[tm.tm_wday], tm.tm_mday,
		       months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
	rc |= buf_addstr(b, "From: ");
	rc |= add_encoded_words(b, msg(MSG_SITE_NAME));
	rc |= buf_addf(b, " <%s>\r\nTo: <%s>\r\nSubject: ", cfg->smtp_from, to);
	rc |= add_encoded_words(b, title);
	rc |= buf_addf(b, "\r\nMessage-ID: <yizhan.notify.%lld.%lld@%s>\r\n", (long long)outbox_id,
		       (long long)message_id, cfg->from_domain);
	rc |= buf_addstr(b, "MIME-Version: 1.0\r\n"
			    "Content-Type: text/plain; charset=UTF-8\r\n"
			    "Content-Transfer-Encoding: base64\r\n"
			    "Auto-Submitted: auto-generated\r\n"
			    "\r\n");
	/* Canonical text (CRLF line ends) in base64, 76 characters a line. */
	struct buf raw = BUF_INIT(NOTIFY_MAIL_MAX / 2), crlf = BUF_INIT(NOTIFY_MAIL_MAX / 2);
	mail_text(&raw, cfg, title, body, link);
	for (size_t i = 0; i < raw.len && rc == 0; i++) {
		if (raw.data[i] == '\r')
			continue;
		if (raw.data[i] == '\n')
			rc |= buf_addch(&crlf, '\r');
		rc |= buf_addch(&crlf, raw.data[i]);
	}
	for (size_t i = 0; i < crlf.len && rc == 0; i += 57) {
		size_t k = crlf.len - i < 57 ? crlf.len - i : 57;
		rc |= add_base64(b, (const unsigned char *)crlf.data + i, k);
		rc |= buf_addstr(b, "\r\n");
	}
	buf_release(&raw);
	buf_release(&crlf);
	return rc == 0 ? 0 : -1;
}

struct upload {
	const char *p;
	size_t left;
};

static size_t upload_read(char *dst, size_t size, size_t nitems, void *ud)
{
	struct upload *u = ud;
	size_t n = size * nitems;
	if (n > u->left)
		n = u->left;
	memcpy(dst, u->p, n);
	u->p += n;
	u->left -= n;
	return n;
}

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
	(void)p;
	(void)ud;
	return size * n;
}

enum send_rc { SEND_OK, SEND_RETRY, SEND_PERMANENT };

static void curl_common(CURL *c, char *errbuf)
{
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, NOTIFY_SEND_TIMEOUT);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	errbuf[0] = '\0';
}

static enum send_rc send_email(const struct ncfg *cfg, int64_t outbox_id, int64_t message_id,
			       const char *to, const char *title, const char *body, const char *link,
			       char *err, size_t errcap)
{
	struct buf m = BUF_INIT(NOTIFY_MAIL_MAX);
	if (mail_build(&m, cfg, outbox_id, message_id, to, title, body, link) != 0) {
		buf_release(&m);
		snprintf(err, errcap, "message too large");
		return SEND_PERMANENT;
	}
	CURL *c = curl_easy_init();
	if (c == NULL) {
		buf_release(&m);
		snprintf(err, errcap, "curl_easy_init failed");
		return SEND_RETRY;
	}
	char errbuf[CURL_ERROR_SIZE];
	char *from = xasprintf("<%s>", cfg->smtp_from), *rcpt_s = xasprintf("<%s>", to);
	struct curl_slist *rcpt = curl_slist_append(NULL, rcpt_s);
	struct upload up = { m.data, m.len };
	curl_common(c, errbuf);
	curl_easy_setopt(c, CURLOPT_URL, cfg->smtp_url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	curl_easy_setopt(c, CURLOPT_MAIL_FROM, from);
	curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, upload_read);
	curl_easy_setopt(c, CURLOPT_READDATA, &up);
	curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)m.len);
	if (cfg->smtp_user[0] != '\0') {
		/* Never a password in clear: STARTTLS is required with AUTH. */
		curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
		curl_easy_setopt(c, CURLOPT_USERNAME, cfg->smtp_user);
		curl_easy_setopt(c, CURLOPT_PASSWORD, cfg->smtp_password);
	} else {
		curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_TRY);
	}
	CURLcode res = curl_easy_perform(c);
	long code = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	enum send_rc rc = SEND_OK;
	if (res != CURLE_OK) {
		snprintf(err, errcap, "SMTP %ld: %s", code, errbuf[0] ? errbuf : curl_easy_strerror(res));
		/* 5xx is the server's final refusal of this message (an AUTH failure
		 * is the operator's to fix, so it is retried). */
		rc = code >= 500 && code < 600 && res != CURLE_LOGIN_DENIED ? SEND_PERMANENT : SEND_RETRY;
	}
	curl_easy_cleanup(c);
	curl_slist_free_all(rcpt);
	free(from);
	free(rcpt_s);
	buf_release(&m);
	return rc;
}

/* ------------------------------------------------------------ webhook */

static enum send_rc send_webhook(const struct ncfg *cfg, int64_t outbox_id, const char *kind,
				 const char *phone, const char *title, const char *body, const char *link,
				 char *err, size_t errcap)
{
	struct buf text = BUF_INIT(NOTIFY_MAIL_MAX);
	buf_addf(&text, "%s\n%s", title, body);
	if (link != NULL)
		buf_addf(&text, "\n%s%s%s", msg(MSG_NOTIFY_MAIL_LINK), cfg->base_url, link);
	json_t *doc = json_pack("{s:s,s:s,s:s}", "to", phone, "text", text.data ? text.data : "", "kind", kind);
	buf_release(&text);
	char *payload = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	if (payload == NULL) {
		snprintf(err, errcap, "cannot build the JSON body");
		return SEND_PERMANENT;
	}
	CURL *c = curl_easy_init();
	if (c == NULL) {
		free(payload);
		snprintf(err, errcap, "curl_easy_init failed");
		return SEND_RETRY;
	}
	char errbuf[CURL_ERROR_SIZE], idem[64];
	snprintf(idem, sizeof idem, "Idempotency-Key: %lld", (long long)outbox_id);
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json; charset=utf-8");
	h = curl_slist_append(h, idem);
	h = curl_slist_append(h, "Expect:");
	curl_common(c, errbuf);
	curl_easy_setopt(c, CURLOPT_URL, cfg->sms_webhook);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, payload);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(payload));
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "yizhan-notify");
	CURLcode res = curl_easy_perform(c);
	long code = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	enum send_rc rc = SEND_OK;
	if (res != CURLE_OK) {
		snprintf(err, errcap, "webhook: %s", errbuf[0] ? errbuf : curl_easy_strerror(res));
		rc = SEND_RETRY;
	} else if (code < 200 || code > 299) {
		snprintf(err, errcap, "webhook: HTTP %ld", code);
		/* 4xx is a refusal of this request, except time-outs and rate limits. */
		rc = code >= 400 && code < 500 && code != 408 && code != 425 && code != 429 ? SEND_PERMANENT
											   : SEND_RETRY;
	}
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	free(payload);
	return rc;
}

/* ------------------------------------------------------------ the sender */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		log_error("notify: curl_global_init failed");
}

static int64_t backoff(int64_t attempts)
{
	int64_t d = NOTIFY_BACKOFF_BASE;
	for (int64_t i = 1; i < attempts && d < NOTIFY_BACKOFF_MAX; i++)
		d *= 2;
	return d < NOTIFY_BACKOFF_MAX ? d : NOTIFY_BACKOFF_MAX;
}

/* Rows a dead process left 'sending' go back to the queue (or fail when
 * they used up their attempts). */
static int requeue_stale(struct store *st, const struct ncfg *cfg)
{
	int64_t t = now(), failed = 0, requeued = 0;
	struct sval f[] = { SVI(t - NOTIFY_STALE_SECS), SVT(STALE_ERROR), SVI(cfg->max_attempts) };
	struct sval q[] = { SVI(t - NOTIFY_STALE_SECS), SVI(t), SVT(STALE_ERROR) };
	if (store_exec(st, sql[S_STALE_FAIL], f, 3, &failed) != STORE_OK ||
	    store_exec(st, sql[S_STALE_REQUEUE], q, 3, &requeued) != STORE_OK)
		return -1;
	if (failed + requeued > 0)
		log_warn("notify: %lld interrupted deliveries re-queued, %lld failed (out of attempts)",
			 (long long)requeued, (long long)failed);
	return 0;
}

/* Claims, sends and records one row.  1 sent, 0 not sent (taken by another
 * sender, retry scheduled or failed), -1 store failure. */
static int deliver(struct store *st, const struct ncfg *cfg, int64_t id)
{
	int64_t changes = 0;
	struct sval c[] = { SVI(id), SVI(now()) };
	if (store_exec(st, sql[S_CLAIM], c, 2, &changes) != STORE_OK)
		return -1;
	if (changes == 0)
		return 0;   /* another sender took it */
	struct store_res *res = NULL;
	struct sval l[] = { SVI(id) };
	if (store_query(st, sql[S_LOAD], l, 1, &res) != STORE_OK)
		return -1;
	if (store_res_rows(res) == 0) {   /* deleted meanwhile (cascade) */
		store_res_free(res);
		return 0;
	}
	const char *channel = store_res_text(res, 0, 0);
	int64_t attempts = store_res_int(res, 0, 1), mid = store_res_int(res, 0, 2);
	const char *kind = store_res_text(res, 0, 3), *title = store_res_text(res, 0, 4),
		   *body = store_res_text(res, 0, 5), *link = store_res_text(res, 0, 6),
		   *email = store_res_text(res, 0, 7), *phone = store_res_text(res, 0, 8);
	char err[512] = "", who[128];
	enum send_rc rc;
	int is_email = strcmp(channel, "email") == 0;
	if (is_email) {
		mask_email(email, who, sizeof who);
		if (email == NULL || validate_email(email) != MSG_NONE) {
			snprintf(err, sizeof err, "no valid e-mail address");
			rc = SEND_PERMANENT;
		} else {
			rc = send_email(cfg, id, mid, email, title, body, link, err, sizeof err);
		}
	} else {
		mask_phone(phone, who, sizeof who);
		if (phone == NULL || phone[0] == '\0' || validate_text(phone, strlen(phone), 1, 32, 0) != MSG_NONE) {
			snprintf(err, sizeof err, "no valid phone number");
			rc = SEND_PERMANENT;
		} else {
			rc = send_webhook(cfg, id, kind, phone, title, body, link, err, sizeof err);
		}
	}
	store_res_free(res);
	channel = is_email ? "email" : "sms";   /* the result's text is gone */

	int64_t t = now();
	int out;
	if (rc == SEND_OK) {
		struct sval s[] = { SVI(id), SVI(t) };
		out = store_exec(st, sql[S_SENT], s, 2, NULL) == STORE_OK ? 1 : -1;
		log_info("notify: outbox %lld (%s to %s) delivered", (long long)id, channel, who);
	} else if (rc == SEND_RETRY && attempts < cfg->max_attempts) {
		int64_t d = backoff(attempts);
		struct sval s[] = { SVI(id), SVI(t + d), SVT(err) };
		out = store_exec(st, sql[S_RETRY], s, 3, NULL) == STORE_OK ? 0 : -1;
		log_warn("notify: outbox %lld (%s to %s) attempt %lld failed: %s; retry in %lld s", (long long)id,
			 channel, who, (long long)attempts, err, (long long)d);
	} else {
		struct sval s[] = { SVI(id), SVT(err) };
		out = store_exec(st, sql[S_FAIL], s, 2, NULL) == STORE_OK ? 0 : -1;
		log_error("notify: outbox %lld (%s to %s) failed after %lld attempts: %s", (long long)id, channel,
			  who, (long long)attempts, err);
	}
	return out;
}

/* Sends due rows until none is left (or *stop).  Count sent, or -1. */
static int send_due(struct store *st, const struct ncfg *cfg, atomic_int *stop)
{
	int sent = 0;
	if (!cfg->email_on && !cfg->sms_on)
		return 0;
	for (;;) {
		struct store_res *res = NULL;
		struct sval p[] = { SVI(now()), SVI(cfg->email_on), SVI(cfg->sms_on), SVI(NOTIFY_BATCH) };
		if (store_query(st, sql[S_DUE], p, 4, &res) != STORE_OK)
			return -1;
		int n = store_res_rows(res);
		for (int i = 0; i < n && !(stop && atomic_load(stop)); i++) {
			int rc = deliver(st, cfg, store_res_int(res, i, 0));
			if (rc < 0) {
				store_res_free(res);
				return -1;
			}
			sent += rc;
		}
		store_res_free(res);
		if (n < NOTIFY_BATCH || (stop && atomic_load(stop)))
			return sent;
	}
}

int notify_send_due(struct store *st, const struct conf *conf)
{
	pthread_once(&curl_once, curl_init_once);
	struct ncfg cfg;
	cfg_init(&cfg, conf);
	int rc = requeue_stale(st, &cfg) == 0 ? send_due(st, &cfg, NULL) : -1;
	cfg_release(&cfg);
	return rc;
}

/* ------------------------------------------------------------ threads */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static atomic_int stop_flag;
static int kicked;
static pthread_t threads[NOTIFY_MAX_THREADS];
static int nthreads_running;
static struct ncfg thread_cfg;
static char *thread_uri;

static void *sender_main(void *arg)
{
	int n = (int)(intptr_t)arg;
	struct store *st = NULL;
	char *err = NULL;
	if (store_open(thread_uri, &st, &err) != 0) {
		log_error("notify: sender %d cannot open the store: %s", n, err);
		free(err);
		return NULL;
	}
	int64_t last_stale = 0;
	for (;;) {
		if (atomic_load(&stop_flag))
			break;
		if (now() - last_stale >= 60) {
			requeue_stale(st, &thread_cfg);
			last_stale = now();
		}
		send_due(st, &thread_cfg, &stop_flag);
		pthread_mutex_lock(&mu);
		if (!atomic_load(&stop_flag) && !kicked) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += NOTIFY_POLL_SECS;   /* also finds retries and other nodes' rows */
			pthread_cond_timedwait(&cv, &mu, &ts);
		}
		kicked = 0;
		pthread_mutex_unlock(&mu);
	}
	store_close(st);
	return NULL;
}

int notify_start(const char *store_uri, const struct conf *conf, int nthreads)
{
	notify_configure(conf);
	pthread_once(&curl_once, curl_init_once);
	cfg_init(&thread_cfg, conf);
	if (!thread_cfg.email_on && !thread_cfg.sms_on) {
		/* Nothing to send: messages stay in the inbox; no threads. */
		log_info("notify: no e-mail or SMS channel configured; in-app messages only");
		cfg_release(&thread_cfg);
		return 0;
	}
	if (nthreads < 1)
		nthreads = 1;
	if (nthreads > NOTIFY_MAX_THREADS)
		nthreads = NOTIFY_MAX_THREADS;
	thread_uri = xstrdup(store_uri);
	atomic_store(&stop_flag, 0);
	for (int i = 0; i < nthreads; i++) {
		if (pthread_create(&threads[i], NULL, sender_main, (void *)(intptr_t)i) != 0) {
			log_error("notify: cannot start sender %d", i);
			notify_stop();
			return -1;
		}
		nthreads_running++;
	}
	log_info("notify: %d sender threads (e-mail %s, SMS %s)", nthreads, thread_cfg.email_on ? "on" : "off",
		 thread_cfg.sms_on ? "on" : "off");
	return 0;
}

void notify_kick(void)
{
	pthread_mutex_lock(&mu);
	kicked = 1;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

void notify_stop(void)
{
	pthread_mutex_lock(&mu);
	atomic_store(&stop_flag, 1);
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	for (int i = 0; i < nthreads_running; i++)
		pthread_join(threads[i], NULL);
	nthreads_running = 0;
	free(thread_uri);
	thread_uri = NULL;
	cfg_release(&thread_cfg);
}
