/*
 * readlog: a crash-safe deferred journal for the audit records of reads.
 *
 * A read of personal or conditional data must be audited (an audit entry,
 * often with rows for the data subject's tracker), but a write transaction
 * with an fsync per read caps a read API at a few hundred requests per
 * second.  Instead, the read appends ONE line to a spool file and answers;
 * a flusher thread moves the spooled lines into the store in batches.
 *
 * Spool: DATA/readlog/<host>-<ns>-<random>.log, append-only, one JSON line
 * per read:
 *     {"v":1,"at":<unix s>,"e":{actor_id,actor,action,object,dept_id,ip,
 *      detail}|null,"kind":"<consumer>"|null,"ext":<consumer's JSON>|null}
 * written by readlog_add with write(2) on an O_APPEND descriptor while a
 * mutex is held (a line longer than one write(2) call takes is written
 * whole: the loop runs under the mutex; a failed write is cut off again
 * with ftruncate so no torn line stays in front of the next one).
 *
 * Durability: once readlog_add returned 0 the line is in the kernel's page
 * cache, so it survives a crash or kill -9 of the process (it is ingested
 * at the next start).  It is NOT fsync'd: a power failure or a kernel
 * crash may lose the lines of the last moments (up to the flush interval,
 * ~0.1 s, plus what the kernel had not yet written back).  This is the one
 * weakening against synchronous=FULL, accepted for reads only; writes keep
 * their audit entry in their own transaction (docs/ARCHITECTURE.md).
 *
 * No clear identifiers may reach the spool: callers pass what they would
 * store (hashes, masked values).  The folder and files are mode 0700/0600.
 *
 * Ingestion: the flusher (its own store connection) wakes every ~100 ms,
 * or at once when many lines are pending, and moves every complete line
 * into the store, up to BATCH_LINES per transaction: audit_append of the
 * line's entry (its ts is the ingestion time; the read's real time is
 * added to the detail as "read_at", and kept inside detail's JSON object)
 * followed by the consumer's apply (kind -> function, readlog_register),
 * and, in the SAME transaction, the spool position consumed
 * (readlog_progress(file, pos), checked against the flusher's own idea of
 * it and advanced with a conditional UPDATE).  A crash at any moment thus
 * never ingests a line twice nor loses one.  A line that fails on its own
 * (malformed JSON, an unknown kind, a refused row) is copied to
 * DATA/readlog/rejected.jsonl (fsync'd), logged, and skipped, so one bad
 * line cannot stop the journal; when even the position cannot be committed
 * the store is down and the flusher retries later.
 *
 * Rotation: once the flusher has consumed more than ROTATE_BYTES (8 MB) of
 * the current file, writers continue in a new file (swapped under the
 * writers' mutex, so the old one is complete); the old one is ingested to
 * its end and deleted once its last position is committed, and its progress
 * row after that (a crash in between leaves a harmless row naming no file).
 *
 * Leftovers: readlog_start (before the server accepts connections) ingests
 * every other *.log of the folder from its recorded position — files of a
 * previous process, or of a dead node sharing the folder; the flusher looks
 * again every minute.  A file still locked (flock) by a live process is
 * left alone.  A torn last line (no '\n') in a leftover file is dropped
 * with a warning; in the current file it is kept until completed.
 *
 * Threads: readlog_add may be called from any thread while the journal
 * runs.  Consumers are registered before readlog_start.
 */
#ifndef YZ_READLOG_H
#define YZ_READLOG_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/audit.h"
#include "core/crypto.h"
#include "core/store.h"

/*
 * A consumer: writes the rows of one line's ext in the flusher's open
 * transaction (at: the read's real time, unix seconds).  0, or -1 when the
 * line is refused (the line is then set aside, see above).
 */
typedef int (*readlog_apply_fn)(struct store *st, const struct keys *k, const json_t *ext, int64_t at);

/* Registers kind (a static string) before readlog_start. 0, or -1 when full or kind is taken. */
int readlog_register(const char *kind, readlog_apply_fn apply);

/*
 * Creates DATA/readlog if needed, ingests the leftover files, opens a new
 * spool file and starts the flusher (store_uri: its own connection; k lives
 * as long as the journal).  0, or -1 (logged): do not serve then.
 */
int readlog_start(const char *data_dir, const char *store_uri, const struct keys *k);
/* Ingests everything spooled, stops the flusher, closes the file.  No-op when not running. */
void readlog_stop(void);
/* 1 while the journal runs (readlog_add can be used). */
int readlog_running(void);

/*
 * Spools one read: its audit entry e (may be NULL) and a consumer's ext
 * (kind and ext both NULL, or both given; ext is not taken).  Only after 0
 * may the read be answered.  -1 when the journal is not running, the line
 * is too large (> READLOG_LINE_MAX) or the write failed (logged).
 */
#define READLOG_LINE_MAX (1024 * 1024)
int readlog_add(const struct audit_entry *e, const char *kind, const json_t *ext);
/*
 * The same with ext already encoded by the caller (hot paths): one JSON
 * value on one line, e.g. written with readlog_json_str; the consumer gets
 * it parsed.  A malformed ext makes the line refused at ingestion (set
 * aside, see above), so encode it with care.
 */
int readlog_add_raw(const struct audit_entry *e, const char *kind, const char *ext);

/*
 * Appends s as a JSON string ("null" for NULL) to b: quotes, backslashes
 * and control characters escaped, ill-formed UTF-8 replaced by U+FFFD (as
 * audit_append would store it).  0, or -1 when b's maximum is reached.
 */
struct buf;
int readlog_json_str(struct buf *b, const char *s);

/* Waits until every line added before the call is ingested (committed). 0 or -1 when not running. */
int readlog_sync(void);

/* Tests: the size above which a consumed file is rotated (0: the default). */
void readlog_set_rotate_bytes(size_t n);

#endif
