/*
 * notify: the notifications outbox.  Every message goes to the person's
 * in-app inbox (/messages); it is also delivered by e-mail (SMTP through
 * libcurl) and by SMS/WeChat (a JSON POST to a configurable webhook) when
 * the person has an address for the channel and the channel is configured.
 *
 * Tables (migrations/core/0005_notify.sql):
 *   messages       the inbox: one row per message, UNIQUE (user_id, dedup);
 *   notify_outbox  one row per channel delivery of a message, UNIQUE
 *                  (message_id, channel), with its state
 *                  queued -> sending -> sent | queued (retry) | failed.
 *
 * Delivery.  Sender threads (notify_start, each with its own store
 * connection) pick rows that are due and claim each with a conditional
 * UPDATE (state 'queued' -> 'sending' WHERE state = 'queued'), so two
 * threads or two nodes sharing one store never send one row twice.  The
 * send happens outside any transaction.  A transient failure (network,
 * SMTP 4xx, HTTP 5xx/408/429) is retried after 30 s x 2^(attempt-1),
 * capped at one hour, until notify_max_attempts attempts were made, then
 * the row is 'failed'; a permanent refusal (SMTP 5xx, other HTTP 4xx)
 * fails at once.  A row left 'sending' by a process that died is put back
 * to 'queued' after 10 minutes (every send times out long before that).
 *
 * Exactly-once delivery is impossible over SMTP: if the connection breaks
 * after the server took the message but before its "250" arrived, the
 * message is sent again.  Delivery is therefore at-least-once to the mail
 * server and to the webhook, and each retry carries the same identity so
 * the receiver can drop a duplicate: the e-mail's Message-ID
 * <yizhan.notify.OUTBOX_ID.MESSAGE_ID@DOMAIN-OF-smtp_from> and the
 * webhook's Idempotency-Key header (the outbox id).
 *
 * The e-mail is RFC 5322 with a UTF-8 Subject as RFC 2047 encoded words
 * (=?UTF-8?B?...?=), Content-Type text/plain; charset=UTF-8, the body in
 * base64, the message's link made absolute with base_url, and
 * Auto-Submitted: auto-generated.  The webhook body is
 * {"to": phone, "text": title, body and link, "kind": kind}; any 2xx answer
 * means delivered.  Logs name outbox ids and masked addresses only, never
 * bodies or whole phone numbers.
 *
 * Addresses are read from users.email and users.phone when a row is sent
 * (not copied into the outbox); a row whose address has since been removed
 * fails with "no address".  Rows of a channel that is not configured stay
 * queued until it is.
 */
#ifndef YZ_NOTIFY_H
#define YZ_NOTIFY_H

#include <jansson.h>
#include <stdint.h>
#include <time.h>

#include "core/conf.h"
#include "core/store.h"

/* A message to a person: always in the in-app inbox; also by e-mail when the
 * user has an address and smtp_url is configured, and by SMS/WeChat through
 * the webhook when the user has a phone and sms_webhook is configured.
 * Called inside the caller's transaction, so the message exists exactly when
 * the thing it tells about was committed.  dedup (may be NULL) makes the call
 * idempotent: a second call with the same dedup key does nothing (returns 0).
 *
 * kind: a short ASCII key such as "case.state" ([a-z0-9._-], at most 64);
 * title: 1-200 characters of one line; body: text, at most 10000
 * characters (may be ""); link: NULL or a path on this site ("/cases/12"),
 * at most 500 bytes; dedup: at most 200 bytes.  All are copied.
 * Returns 0, or -1 on bad arguments (logged: a programmer error), an
 * unknown user or a store failure (then the caller's transaction has
 * failed and must be rolled back).  Outside a transaction the call runs in
 * one of its own.  Which channels are configured comes from
 * notify_configure (notify_start calls it). */
int notify_user(struct store *st, int64_t user_id, const char *kind, const char *title,
		const char *body, const char *link, const char *dedup);

/* Takes the channel settings (smtp_*, sms_webhook, notify_max_attempts,
 * base_url) from conf, copying what it needs; notify_user reads them.
 * notify_start calls it; tests and the CLI call it themselves. */
void notify_configure(const struct conf *conf);

/* Starts the sender threads (own store connections); stops after the current send. */
int notify_start(const char *store_uri, const struct conf *conf, int nthreads);
/* Stops the sender threads, each after its current send (at most 30 s). */
void notify_stop(void);
/* Wakes the senders; call after committing a transaction that called
 * notify_user (otherwise they find the rows within 5 seconds). */
void notify_kick(void);
/* Sends what is due now in the calling thread (tests, CLI). Returns messages sent, -1 on store failure. */
int notify_send_due(struct store *st, const struct conf *conf);

/* The inbox: {"items":[{"id","kind","title","body","link","created_at","read"}],"next"}, newest first. */
json_t *notify_inbox(struct store *st, int64_t user_id, int64_t after, int limit);
int notify_unread_count(struct store *st, int64_t user_id, int64_t *n);
int notify_mark_read(struct store *st, int64_t user_id, int64_t message_id);  /* 0, 1 not found, -1 */
/* Marks every unread message of the user read; *n (may be NULL) gets how many. 0 or -1. */
int notify_mark_all_read(struct store *st, int64_t user_id, int64_t *n);

/* Tests only: the clock the module reads (NULL: time()).  Set it before
 * any sender thread runs. */
void notify_set_clock(time_t (*fn)(void));

#endif
