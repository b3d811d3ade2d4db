/*
 * readlog: the deferred journal of read audits (see readlog.h for the
 * design, the spool format and what survives what).
 *
 * State: writers share R.fd under R.mu; everything else about the
 * files (the consumed position, rotation, leftovers) belongs to the flusher
 * thread (and to readlog_start before that thread exists), which alone
 * holds the journal's store connection.
 *
 * Table (migrations/core/0008_readlog.sql): readlog_progress(file, pos,
 * updated_at), the byte position up to which a spool file is ingested,
 * changed only in the transaction that ingests the lines before it.
 */
#include "core/readlog.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/validate.h"
#include "core/xalloc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define KINDS_MAX 8
#define FLUSH_MS 100               /* the flusher's idle interval */
#define WAKE_LINES 2048            /* ... or sooner once this many lines are pending */
#define BATCH_LINES 4096           /* lines per transaction */
#define CHUNK (1024 * 1024)        /* bytes read at a time (grows for a longer line) */
#define ROTATE_BYTES (8u << 20)
#define SCAN_SECONDS 60            /* leftovers of dead nodes sharing the folder */
#define SYNC_SECONDS 30
#define REJECTED "rejected.jsonl"

enum { SQ_POS_LOCK, SQ_POS, SQ_POS_INSERT, SQ_POS_UPDATE, SQ_POS_DELETE, SQ__MAX };
static const char *const sql[SQ__MAX] = {
	[SQ_POS_LOCK] = "SELECT pos FROM readlog_progress WHERE file = $1 FOR UPDATE",
	[SQ_POS] = "SELECT pos FROM readlog_progress WHERE file = $1",
	[SQ_POS_INSERT] = "INSERT INTO readlog_progress (file, pos, updated_at) VALUES ($1, $2, $3)",
	[SQ_POS_UPDATE] = "UPDATE readlog_progress SET pos = $2, updated_at = $3 WHERE file = $1 AND pos = $4",
	[SQ_POS_DELETE] = "DELETE FROM readlog_progress WHERE file = $1",
};

struct consumer {
	const char *kind;
	readlog_apply_fn apply;
};
static struct consumer consumers[KINDS_MAX];
static int nconsumers;

static struct {
	pthread_mutex_t mu;        /* guards everything down to sync_done */
	pthread_cond_t wake;       /* to the flusher: lines pending, a sync, stop */
	pthread_cond_t synced;     /* to readlog_sync: sync_done moved */
	int running, stop;
	int fd;                    /* the current spool file (O_APPEND), flock'd */
	char *name;                /* its name inside dir */
	int pending;               /* lines added since the flusher last looked */
	uint64_t sync_want, sync_done;

	/* the flusher's (and readlog_start's) own */
	char *dir;
	const struct keys *keys;
	struct store *st;
	pthread_t thread;
	uint64_t pos;              /* consumed (committed) position in the current file */
	int old_fd;                /* the file rotated out, until ingested and removed, or -1 */
	char *old_name;
	uint64_t old_pos;
	char *buf;
	size_t cap;
	time_t last_scan;
} R = { .mu = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER,
	.synced = PTHREAD_COND_INITIALIZER, .fd = -1, .old_fd = -1 };

static size_t rotate_bytes = ROTATE_BYTES;

void readlog_set_rotate_bytes(size_t n)
{
	rotate_bytes = n > 0 ? n : ROTATE_BYTES;
}

int readlog_register(const char *kind, readlog_apply_fn apply)
{
	if (kind == NULL || apply == NULL || nconsumers == KINDS_MAX) {
		log_error("readlog: cannot register kind %s", kind ? kind : "(null)");
		return -1;
	}
	for (int i = 0; i < nconsumers; i++)
		if (strcmp(consumers[i].kind, kind) == 0)
			return consumers[i].apply == apply ? 0 : -1;
	consumers[nconsumers].kind = kind;
	consumers[nconsumers].apply = apply;
	nconsumers++;
	return 0;
}

static readlog_apply_fn consumer_of(const char *kind)
{
	for (int i = 0; i < nconsumers; i++)
		if (strcmp(consumers[i].kind, kind) == 0)
			return consumers[i].apply;
	return NULL;
}

int readlog_running(void)
{
	pthread_mutex_lock(&R.mu);
	int on = R.running;
	pthread_mutex_unlock(&R.mu);
	return on;
}

/* ------------------------------------------------------------ writing */

/* Writes all of p at the end of fd (O_APPEND); 0, or -1 with errno and *done written. */
static int write_all(int fd, const char *p, size_t n, size_t *done)
{
	*done = 0;
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			return -1;
		}
		p += w;
		n -= (size_t)w;
		*done += (size_t)w;
	}
	return 0;
}

/*
 * s as a JSON string (or null) at the end of b.  Ill-formed UTF-8 becomes
 * U+FFFD, as audit_append would store it, so a line never fails to parse
 * because of what a client sent.  0 or -1 (b's maximum).
 */
int readlog_json_str(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	if (s == NULL)
		return buf_add(b, "null", 4);
	int rc = buf_addch(b, '"');
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);
	while (n > 0 && rc == 0) {
		size_t run = 0;
		/* the longest run that needs no escaping */
		while (run < n && p[run] >= 0x20 && p[run] != '"' && p[run] != '\\' && p[run] < 0x80)
			run++;
		if (run == 0) {
			if (p[0] >= 0x80) {
				run = utf8_seq_len((const char *)p, n);
				if (run == 0) {
					rc = buf_add(b, "\xef\xbf\xbd", 3);
					run = 1;
				} else {
					rc = buf_add(b, p, run);
				}
			} else if (p[0] == '"' || p[0] == '\\') {
				char esc[2] = { '\\', (char)p[0] };
				rc = buf_add(b, esc, 2);
				run = 1;
			} else {
				char esc[6] = { '\\', 'u', '0', '0', hex[p[0] >> 4], hex[p[0] & 15] };
				rc = buf_add(b, esc, 6);
				run = 1;
			}
		} else {
			rc = buf_add(b, p, run);
		}
		p += run;
		n -= run;
	}
	return rc == 0 ? buf_addch(b, '"') : rc;
}

int readlog_add(const struct audit_entry *e, const char *kind, const json_t *ext)
{
	if (ext == NULL)
		return readlog_add_raw(e, kind, NULL);
	char *x = json_dumps(ext, JSON_COMPACT | JSON_ENCODE_ANY);
	if (x == NULL) {
		log_error("readlog_add: ext cannot be encoded");
		return -1;
	}
	int rc = readlog_add_raw(e, kind, x);
	free(x);
	return rc;
}

int readlog_add_raw(const struct audit_entry *e, const char *kind, const char *ext)
{
	if ((kind == NULL) != (ext == NULL) || (e != NULL && e->action == NULL) ||
	    (ext != NULL && (*ext == '\0' || strchr(ext, '\n') != NULL))) {
		log_error("readlog_add: bad arguments (kind and ext go together; an entry needs its action; "
			  "ext is one line of JSON)");
		return -1;
	}
	/* The line: {"v":1,"at":T,"e":{...}|null,"kind":K,"ext":X} */
	struct buf b = BUF_INIT(READLOG_LINE_MAX);
	int bad = buf_addf(&b, "{\"v\":1,\"at\":%lld,\"e\":", (long long)time(NULL));
	if (e != NULL) {
		bad |= buf_addf(&b, "{\"actor_id\":%lld,\"actor\":", (long long)e->actor_id);
		bad |= readlog_json_str(&b, e->actor);
		bad |= buf_addstr(&b, ",\"action\":");
		bad |= readlog_json_str(&b, e->action);
		bad |= buf_addstr(&b, ",\"object\":");
		bad |= readlog_json_str(&b, e->object);
		bad |= buf_addf(&b, ",\"dept_id\":%lld,\"ip\":", (long long)e->dept_id);
		bad |= readlog_json_str(&b, e->ip);
		bad |= buf_addstr(&b, ",\"detail\":");
		bad |= readlog_json_str(&b, e->detail);
		bad |= buf_addch(&b, '}');
	} else {
		bad |= buf_addstr(&b, "null");
	}
	bad |= buf_addstr(&b, ",\"kind\":");
	bad |= readlog_json_str(&b, kind);
	bad |= buf_addstr(&b, ",\"ext\":");
	bad |= buf_addstr(&b, ext != NULL ? ext : "null");
	bad |= buf_add(&b, "}\n", 2);
	if (bad) {
		log_error("readlog_add: a record of more than %d bytes (action %s)", READLOG_LINE_MAX,
			  e != NULL ? e->action : "-");
		buf_release(&b);
		return -1;
	}
	int rc = -1;
	size_t done = 0;
	pthread_mutex_lock(&R.mu);
	if (!R.running || R.stop) {
		log_error("readlog_add: the journal is not running");
	} else if (write_all(R.fd, b.data, b.len, &done) != 0) {
		int err = errno;
		struct stat sb;
		/* Cut a partial line off again so the next one starts clean. */
		if (done > 0 && (fstat(R.fd, &sb) != 0 || ftruncate(R.fd, sb.st_size - (off_t)done) != 0))
			log_error("readlog: cannot cut a partial line off %s: %s", R.name, strerror(errno));
		log_error("readlog: write to %s failed: %s", R.name, strerror(err));
	} else {
		if (++R.pending == WAKE_LINES)
			pthread_cond_signal(&R.wake);
		rc = 0;
	}
	pthread_mutex_unlock(&R.mu);
	buf_release(&b);
	return rc;
}

/* ------------------------------------------------------------ ingesting */

static int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

/*
 * The detail as stored: the read's real time added as "read_at" in front of
 * the members of the caller's JSON object (text, without parsing it again:
 * "read_at" is reserved in the details of journalled entries), or around a
 * detail that is not an object.  malloc'd.
 */
static char *detail_with_time(const char *detail, int64_t at)
{
	if (detail == NULL)
		return xasprintf("{\"read_at\":%lld}", (long long)at);
	size_t n = strlen(detail);
	if (n >= 2 && detail[0] == '{' && detail[n - 1] == '}') {
		const char *rest = detail + 1;
		while (*rest == ' ')
			rest++;
		return xasprintf("{\"read_at\":%lld%s%s", (long long)at, *rest == '}' ? "" : ",", rest);
	}
	json_t *d = json_pack("{s:I,s:s}", "read_at", (json_int_t)at, "text", detail);
	char *s = d ? json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(d);
	return s ? s : xasprintf("{\"read_at\":%lld}", (long long)at);
}

/* A string or null member: 0 with *out (NULL for null), -1 when it is neither. */
static int opt_str(json_t *v, const char **out)
{
	*out = json_is_string(v) ? json_string_value(v) : NULL;
	return json_is_string(v) || json_is_null(v) ? 0 : -1;
}

/* One line, in the open transaction: its audit entry, then its consumer. 0 or -1. */
static int ingest_line(struct store *st, const char *p, size_t n)
{
	json_error_t jerr;
	json_t *l = json_loadb(p, n, JSON_REJECT_DUPLICATES, &jerr), *e = NULL, *kind = NULL, *ext = NULL;
	const char *k = NULL;
	json_int_t v = 0, at = 0;
	int rc = -1;

	if (l == NULL || json_unpack_ex(l, &jerr, JSON_STRICT, "{s:I,s:I,s:o,s:o,s:o}", "v", &v, "at", &at, "e", &e,
					"kind", &kind, "ext", &ext) != 0) {
		log_error("readlog: malformed line: %s", jerr.text);
		goto out;
	}
	if (v != 1 || opt_str(kind, &k) != 0 || (k == NULL) != json_is_null(ext)) {
		log_error("readlog: malformed line (version %lld)", (long long)v);
		goto out;
	}
	if (json_is_object(e)) {
		json_int_t actor_id = 0, dept_id = 0;
		json_t *actor, *object, *ip, *detail;
		struct audit_entry a = { 0 };
		if (json_unpack_ex(e, &jerr, JSON_STRICT, "{s:I,s:o,s:s,s:o,s:I,s:o,s:o}", "actor_id", &actor_id,
				   "actor", &actor, "action", &a.action, "object", &object, "dept_id", &dept_id, "ip",
				   &ip, "detail", &detail) != 0 ||
		    opt_str(actor, &a.actor) != 0 || opt_str(object, &a.object) != 0 || opt_str(ip, &a.ip) != 0 ||
		    opt_str(detail, &a.detail) != 0) {
			log_error("readlog: malformed audit entry: %s", jerr.text);
			goto out;
		}
		a.actor_id = actor_id;
		a.dept_id = dept_id;
		char *d = detail_with_time(a.detail, at);
		a.detail = d;
		int arc = audit_append(st, &a);
		free(d);
		if (arc != 0)
			goto out;
	} else if (!json_is_null(e)) {
		log_error("readlog: malformed line: \"e\" is not an object");
		goto out;
	}
	if (k != NULL) {
		readlog_apply_fn fn = consumer_of(k);
		if (fn == NULL) {
			log_error("readlog: no consumer for kind %s", k);
			goto out;
		}
		if (fn(st, R.keys, ext, at) != 0)
			goto out;
	}
	rc = 0;
out:
	json_decref(l);
	return rc;
}

enum { C_OK = 0, C_FAIL = -1, C_MOVED = -2 };

/*
 * In the open transaction: checks that file's committed position is still
 * from and sets it to to.  C_OK, C_FAIL, or C_MOVED (someone else moved it;
 * *moved gets where to).
 */
static int advance(struct store *st, const char *file, uint64_t from, uint64_t to, uint64_t *moved)
{
	int64_t cur = 0, changes = 0;
	struct sval p[] = { SVT(file) };
	int r = store_query_int(st, sql[SQ_POS_LOCK], p, 1, &cur);
	if (r == STORE_ERR || r == STORE_BUSY || r == STORE_CONSTRAINT)
		return C_FAIL;
	if (r == 1)
		cur = 0;
	if ((uint64_t)cur != from) {
		*moved = (uint64_t)cur;
		return C_MOVED;
	}
	if (r == 1) {
		struct sval q[] = { SVT(file), SVI(to), SVI(now_s()) };
		return store_exec(st, sql[SQ_POS_INSERT], q, 3, NULL) == STORE_OK ? C_OK : C_FAIL;
	}
	struct sval q[] = { SVT(file), SVI(to), SVI(now_s()), SVI(from) };
	if (store_exec(st, sql[SQ_POS_UPDATE], q, 4, &changes) != STORE_OK)
		return C_FAIL;
	return changes == 1 ? C_OK : C_FAIL;
}

struct line {
	const char *p;
	size_t n;         /* without the '\n' */
};

/* One transaction: lines[0..n) (n may be 0: a skip) and the position from -> to. */
static int commit(const char *file, uint64_t from, uint64_t to, const struct line *lines, int n, uint64_t *moved)
{
	struct store *st = R.st;
	if (store_begin(st) != STORE_OK)
		return C_FAIL;
	int rc = advance(st, file, from, to, moved);
	for (int i = 0; rc == C_OK && i < n; i++)
		if (ingest_line(st, lines[i].p, lines[i].n) != 0)
			rc = C_FAIL;
	if (rc == C_OK && store_commit(st) != STORE_OK)
		rc = C_FAIL;
	if (rc != C_OK)
		store_rollback(st);
	return rc;
}

/* Keeps a refused line in DATA/readlog/rejected.jsonl (fsync'd). 0 or -1. */
static int reject(const char *file, const struct line *l)
{
	char *path = xasprintf("%s/%s", R.dir, REJECTED);
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600), rc = -1;
	size_t done;
	if (fd >= 0 && write_all(fd, l->p, l->n, &done) == 0 && write_all(fd, "\n", 1, &done) == 0 && fsync(fd) == 0)
		rc = 0;
	else
		log_error("readlog: cannot keep a refused line in %s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	if (rc == 0)
		log_error("readlog: a line of %s was refused by the store; kept in %s", file, path);
	free(path);
	return rc;
}

/*
 * Commits lines[0..n), which span the bytes from *pos on, advancing *pos:
 * the whole batch at once, or, when that fails, each half in turn, down to
 * a single line that is set aside (reject) when it fails twice on its own
 * while the store still takes a position.  0 when all are done, -1 when
 * the store failed (retry later), C_MOVED when the position moved under us
 * (*pos is then the store's).
 */
static int commit_range(const char *file, uint64_t *pos, const struct line *lines, int n)
{
	uint64_t end = (uint64_t)(lines[n - 1].p + lines[n - 1].n + 1 - lines[0].p), moved = 0;
	int rc = commit(file, *pos, *pos + end, lines, n, &moved);
	if (rc == C_OK) {
		*pos += end;
		return 0;
	}
	if (rc == C_MOVED) {
		*pos = moved;
		return C_MOVED;
	}
	if (n > 1) {
		int half = n / 2;
		rc = commit_range(file, pos, lines, half);
		return rc != 0 ? rc : commit_range(file, pos, lines + half, n - half);
	}
	struct timespec d = { 0, 50 * 1000000L };
	nanosleep(&d, NULL);
	rc = commit(file, *pos, *pos + end, lines, 1, &moved);
	if (rc == C_OK || rc == C_MOVED) {
		*pos = rc == C_OK ? *pos + end : moved;
		return rc;
	}
	/* Refused twice.  Is the store working at all (the position alone, unchanged)? */
	rc = commit(file, *pos, *pos, NULL, 0, &moved);
	if (rc == C_MOVED) {
		*pos = moved;
		return C_MOVED;
	}
	if (rc != C_OK || reject(file, lines) != 0)
		return -1;      /* down: the line stays spooled */
	rc = commit(file, *pos, *pos + end, NULL, 0, &moved);
	if (rc == C_OK)
		*pos += end;
	else if (rc == C_MOVED)
		*pos = moved;
	return rc == C_OK ? 0 : rc;
}

/* Skips n bytes from *pos (a torn tail or garbage) in a transaction of its own. 0 or -1. */
static int skip(const char *file, uint64_t *pos, uint64_t n)
{
	uint64_t moved = 0;
	int rc = commit(file, *pos, *pos + n, NULL, 0, &moved);
	if (rc == C_OK)
		*pos += n;
	else if (rc == C_MOVED)
		*pos = moved;
	return rc == C_FAIL ? -1 : 0;
}

/*
 * Ingests the complete lines of fd from *pos to its end (*pos advances as
 * they commit).  A last line without '\n' stays for later in the current
 * file and is dropped, with a warning, in a leftover one.  0 when nothing
 * is left, -1 when the store or the file failed.
 */
static int ingest_fd(const char *file, int fd, int current, uint64_t *pos)
{
	static struct line lines[BATCH_LINES];
	for (;;) {
		if (R.buf == NULL) {
			R.cap = CHUNK;
			R.buf = xmalloc(R.cap);
		}
		ssize_t got = pread(fd, R.buf, R.cap, (off_t)*pos);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			log_error("readlog: read %s: %s", file, strerror(errno));
			return -1;
		}
		if (got == 0)
			return 0;
		int n = 0;
		const char *p = R.buf, *end = R.buf + got;
		while (n < BATCH_LINES && p < end) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			if (nl == NULL)
				break;
			lines[n].p = p;
			lines[n].n = (size_t)(nl - p);
			n++;
			p = nl + 1;
		}
		if (n > 0) {
			int rc = commit_range(file, pos, lines, n);
			if (rc == C_MOVED)
				log_error("readlog: the position of %s moved under the flusher; continuing at %" PRIu64,
					  file, *pos);
			else if (rc != 0)
				return -1;
			continue;
		}
		/* Not one complete line in what was read. */
		if ((size_t)got == R.cap && R.cap < 2 * (size_t)READLOG_LINE_MAX) {
			R.cap *= 2;
			R.buf = xrealloc(R.buf, R.cap);
			continue;
		}
		if ((size_t)got < R.cap && current)
			return 0;      /* a line being written: later */
		log_warn("readlog: %s ends with %zd bytes of a torn or overlong line; dropped", file, got);
		struct line torn = { R.buf, (size_t)got };
		if (reject(file, &torn) != 0 || skip(file, pos, (uint64_t)got) != 0)
			return -1;
	}
}

/* ------------------------------------------------------------ files */

static char *path_of(const char *name)
{
	return xasprintf("%s/%s", R.dir, name);
}

/* Removes a fully ingested file, then its position. */
static void finish(const char *name)
{
	char *path = path_of(name);
	if (unlink(path) != 0 && errno != ENOENT) {
		log_error("readlog: cannot remove %s: %s", path, strerror(errno));
		free(path);
		return;
	}
	free(path);
	struct sval p[] = { SVT(name) };
	if (store_exec(R.st, sql[SQ_POS_DELETE], p, 1, NULL) != STORE_OK)
		log_warn("readlog: the position of the removed %s stays in readlog_progress", name);
}

/* A new spool file, created and locked: its descriptor and *name, or -1. */
static int create_file(char **name)
{
	char host[65] = "node", rnd[9];
	if (gethostname(host, sizeof host - 1) != 0)
		snprintf(host, sizeof host, "node");
	host[sizeof host - 1] = '\0';
	for (char *c = host; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '_'))
			*c = '_';
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	random_hex(rnd, 4);
	*name = xasprintf("%s-%016" PRIx64 "-%s.log", host,
			  (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec, rnd);
	char *path = path_of(*name);
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) != 0) {
		log_error("readlog: cannot create %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		free(path);
		free(*name);
		*name = NULL;
		return -1;
	}
	free(path);
	return fd;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Ingests every *.log of the folder but the current one that no live
 * process holds, from its recorded position, and removes it.  0, or -1 when
 * one could not be finished (it stays for the next attempt).
 */
static int ingest_leftovers(const char *current)
{
	DIR *d = opendir(R.dir);
	if (d == NULL) {
		log_error("readlog: cannot read %s: %s", R.dir, strerror(errno));
		return -1;
	}
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		if (len < 5 || strcmp(de->d_name + len - 4, ".log") != 0 ||
		    (current != NULL && strcmp(de->d_name, current) == 0))
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			names = xrealloc(names, cap * sizeof *names);
		}
		names[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (n > 1)
		qsort(names, n, sizeof *names, by_name);    /* oldest first on each host */
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		char *path = path_of(names[i]);
		struct stat a, b;
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) != 0) {
			/* gone, or a live process writes it */
			if (fd >= 0)
				close(fd);
			free(path);
			continue;
		}
		/* Locked; but skip it if its owner removed it meanwhile (and its position with it). */
		if (fstat(fd, &a) != 0 || a.st_nlink == 0 || stat(path, &b) != 0 || a.st_ino != b.st_ino ||
		    a.st_dev != b.st_dev) {
			close(fd);
			free(path);
			continue;
		}
		int64_t pos = 0;
		struct sval p[] = { SVT(names[i]) };
		int r = store_query_int(R.st, sql[SQ_POS], p, 1, &pos);
		if (r == 1)
			pos = 0;
		uint64_t upos = (uint64_t)pos;
		if (r != STORE_OK && r != 1) {
			rc = -1;
		} else if ((uint64_t)a.st_size > upos) {
			log_info("readlog: ingesting %s from byte %" PRIu64 " of %lld", names[i], upos,
				 (long long)a.st_size);
			if (ingest_fd(names[i], fd, 0, &upos) != 0)
				rc = -1;
		}
		if (r == STORE_OK || r == 1) {
			if (upos >= (uint64_t)a.st_size)
				finish(names[i]);
		}
		close(fd);
		free(path);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	R.last_scan = time(NULL);
	return rc;
}

/* With R.mu held: 1 when every byte of the current file is ingested. */
static int consumed_all(void)
{
	struct stat sb;
	return fstat(R.fd, &sb) == 0 && (uint64_t)sb.st_size == R.pos;
}

/*
 * Ingests the rest of the file rotated out (R.old_*, no longer written) and
 * removes it.  0, or -1 when the store failed (it is tried again next time).
 */
static int drain_old(void)
{
	if (R.old_fd < 0)
		return 0;
	if (ingest_fd(R.old_name, R.old_fd, 0, &R.old_pos) != 0)
		return -1;
	finish(R.old_name);
	close(R.old_fd);        /* after the unlink: see ingest_leftovers */
	free(R.old_name);
	R.old_fd = -1;
	R.old_name = NULL;
	return 0;
}

/*
 * Ingests the current file; once it is larger than rotate_bytes, writers
 * move to a new file and the old one is ingested to its end and removed.
 * 0, or -1 when the store failed.
 */
static int drain(void)
{
	/* R.fd and R.name change only here, in this thread; writers read them under R.mu. */
	if (drain_old() != 0 || ingest_fd(R.name, R.fd, 1, &R.pos) != 0)
		return -1;
	if (R.pos < rotate_bytes || R.old_fd >= 0)
		return 0;
	char *nname = NULL;
	int nfd = create_file(&nname);
	if (nfd < 0)
		return 0;          /* keep writing the big one */
	pthread_mutex_lock(&R.mu);
	R.old_fd = R.fd;
	R.old_name = R.name;
	R.old_pos = R.pos;
	R.fd = nfd;
	R.name = nname;
	R.pos = 0;
	pthread_mutex_unlock(&R.mu);
	return drain_old();
}

static void *flusher(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&R.mu);
	for (;;) {
		if (!R.stop && R.pending < WAKE_LINES && R.sync_want == R.sync_done) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += FLUSH_MS * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&R.wake, &R.mu, &ts);
		}
		int stop = R.stop;
		uint64_t want = R.sync_want;
		R.pending = 0;
		pthread_mutex_unlock(&R.mu);

		int rc = drain();
		if (rc == 0 && !stop && time(NULL) - R.last_scan >= SCAN_SECONDS)
			(void)ingest_leftovers(R.name);

		pthread_mutex_lock(&R.mu);
		if (rc == 0) {
			R.sync_done = want;
			pthread_cond_broadcast(&R.synced);
		}
		if (stop)
			break;
		if (rc != 0) {
			/* The store failed: the lines stay spooled; try again in a second. */
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += 1;
			pthread_cond_timedwait(&R.wake, &R.mu, &ts);
		}
	}
	pthread_mutex_unlock(&R.mu);
	return NULL;
}

/* ------------------------------------------------------------ lifecycle */

static void release(void)
{
	if (R.fd >= 0)
		close(R.fd);
	R.fd = -1;
	if (R.old_fd >= 0)
		close(R.old_fd);
	R.old_fd = -1;
	free(R.old_name);
	R.old_name = NULL;
	free(R.name);
	R.name = NULL;
	free(R.dir);
	R.dir = NULL;
	free(R.buf);
	R.buf = NULL;
	R.cap = 0;
	store_close(R.st);
	R.st = NULL;
}

int readlog_start(const char *data_dir, const char *store_uri, const struct keys *k)
{
	char *err = NULL;
	if (R.running) {
		log_error("readlog: already running");
		return -1;
	}
	R.dir = xasprintf("%s/readlog", data_dir);
	R.keys = k;
	R.stop = 0;
	R.pos = 0;
	R.pending = 0;
	R.sync_want = R.sync_done = 0;
	if (mkdir(R.dir, 0700) != 0 && errno != EEXIST) {
		log_error("readlog: cannot create %s: %s", R.dir, strerror(errno));
		goto fail;
	}
	if (store_open(store_uri, &R.st, &err) != 0) {
		log_error("readlog: store: %s", err ? err : "?");
		free(err);
		goto fail;
	}
	R.fd = create_file(&R.name);
	if (R.fd < 0)
		goto fail;
	if (ingest_leftovers(R.name) != 0) {
		log_error("readlog: leftover spool files could not be ingested");
		goto fail;
	}
	R.running = 1;
	if (pthread_create(&R.thread, NULL, flusher, NULL) != 0) {
		log_error("readlog: cannot start the flusher");
		R.running = 0;
		goto fail;
	}
	log_info("readlog: spooling reads to %s/%s", R.dir, R.name);
	return 0;
fail:
	if (R.name != NULL) {
		char *path = path_of(R.name);
		unlink(path);
		free(path);
	}
	release();
	return -1;
}

void readlog_stop(void)
{
	pthread_mutex_lock(&R.mu);
	if (!R.running) {
		pthread_mutex_unlock(&R.mu);
		return;
	}
	R.stop = 1;
	pthread_cond_signal(&R.wake);
	pthread_mutex_unlock(&R.mu);
	pthread_join(R.thread, NULL);
	pthread_mutex_lock(&R.mu);
	R.running = 0;
	int done = consumed_all() && R.old_fd < 0;
	pthread_cond_broadcast(&R.synced);
	pthread_mutex_unlock(&R.mu);
	if (done)
		finish(R.name);     /* the lock goes with the descriptor, after the unlink */
	else
		log_warn("readlog: %s keeps bytes from %" PRIu64 " on not ingested; they are ingested at the next start",
			 R.name, R.pos);
	release();
}

int readlog_sync(void)
{
	pthread_mutex_lock(&R.mu);
	if (!R.running || R.stop) {
		pthread_mutex_unlock(&R.mu);
		return -1;
	}
	uint64_t target = ++R.sync_want;
	pthread_cond_signal(&R.wake);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += SYNC_SECONDS;
	int rc = 0;
	while (R.sync_done < target && R.running && rc == 0)
		rc = pthread_cond_timedwait(&R.synced, &R.mu, &ts);
	int ok = R.sync_done >= target;
	pthread_mutex_unlock(&R.mu);
	return ok ? 0 : -1;
}
