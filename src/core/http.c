/*
 * http: the libmicrohttpd server.
 *
 * libmicrohttpd is used the documented way: the access handler allocates
 * the request on its first call, consumes the body chunk by chunk, answers
 * on the last call, and the completion callback frees the request.
 *
 * Threads: on SQLite the daemon runs a pool of epoll polling threads
 * (conf.threads) and requests run inline on them: SQLite point reads and
 * short writes never wait on a network.  On PostgreSQL, where every query is
 * a network round trip, the daemon runs thread-per-connection, so no thread
 * that polls other connections ever waits on the database (DESIGN §3).
 */
#include "core/http.h"
#include "core/conf.h"
#include "core/crypto.h"
#include "core/embed.h"
#include "core/http_int.h"
#include "core/log.h"
#include "core/validate.h"
#include "core/xalloc.h"

#include <arpa/inet.h>
#include <sodium.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const struct server_ctx *g_ctx;
static atomic_int inflight;
static atomic_int stopping;
static int access_fd = -1;

const struct server_ctx *http_ctx(void)
{
	return g_ctx;
}

/* ---------- static files (web/), held in memory with ETags ---------- */

struct static_file {
	const char *path;              /* "/static/site.css" */
	struct MHD_Response *ok;
	struct MHD_Response *not_modified;
	char etag[24];
	size_t len;
};

static struct static_file *statics;
static size_t nstatics;

static const char *mime_of(const char *name)
{
	static const struct { const char *ext, *type; } types[] = {
		{ ".css", "text/css; charset=utf-8" },
		{ ".js", "text/javascript; charset=utf-8" },
		{ ".svg", "image/svg+xml" },
		{ ".png", "image/png" },
		{ ".ico", "image/x-icon" },
		{ ".txt", "text/plain; charset=utf-8" },
		{ ".json", "application/json" },
		{ ".woff2", "font/woff2" },
	};
	const char *dot = strrchr(name, '.');
	if (dot != NULL)
		for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
			if (strcmp(dot, types[i].ext) == 0)
				return types[i].type;
	return "application/octet-stream";
}

static int static_init(void)
{
	size_t n = 0;
	while (embed_web[n].name != NULL)
		n++;
	statics = xcalloc(n ? n : 1, sizeof *statics);
	for (size_t i = 0; i < n; i++) {
		const struct embed_file *f = &embed_web[i];
		struct static_file *s = &statics[nstatics];
		char hex[65];
		sha256_hex(f->data, f->len, hex);
		snprintf(s->etag, sizeof s->etag, "\"%.16s\"", hex);
		s->path = xasprintf("/static/%s", f->name);
		s->len = f->len;
		s->ok = MHD_create_response_from_buffer(f->len, (void *)f->data,
							MHD_RESPMEM_PERSISTENT);
		s->not_modified = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
		if (s->ok == NULL || s->not_modified == NULL)
			return -1;
		MHD_add_response_header(s->ok, "Content-Type", mime_of(f->name));
		MHD_add_response_header(s->ok, "ETag", s->etag);
		MHD_add_response_header(s->ok, "Cache-Control", "public, max-age=3600");
		resp_static_headers(s->ok);
		MHD_add_response_header(s->not_modified, "ETag", s->etag);
		MHD_add_response_header(s->not_modified, "Cache-Control", "public, max-age=3600");
		nstatics++;
	}
	return 0;
}

static void static_free(void)
{
	for (size_t i = 0; i < nstatics; i++) {
		MHD_destroy_response(statics[i].ok);
		MHD_destroy_response(statics[i].not_modified);
		free((void *)statics[i].path);
	}
	free(statics);
	statics = NULL;
	nstatics = 0;
}

static const struct static_file *static_find(const char *path)
{
	if (strcmp(path, "/favicon.ico") == 0)
		path = "/static/favicon.svg";
	if (strncmp(path, "/static/", 8) != 0)
		return NULL;
	for (size_t i = 0; i < nstatics; i++)
		if (strcmp(statics[i].path, path) == 0)
			return &statics[i];
	return NULL;
}

/* ---------- request accessors ---------- */

const char *req_header(struct req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *req_query(struct req *r, const char *name)
{
	if (r->method == HM_GET && r->in != NULL) {
		json_t *v = json_object_get(r->in, name);
		if (json_is_string(v))
			return json_string_value(v);
	}
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *req_param(struct req *r, const char *name)
{
	for (int i = 0; i < r->nparams; i++)
		if (strcmp(r->param_name[i], name) == 0)
			return r->param_val[i];
	return NULL;
}

int req_param_id(struct req *r, const char *name, int64_t *out)
{
	const char *s = req_param(r, name);
	int64_t v = 0;
	if (s == NULL || *s == '\0' || strlen(s) > 18)
		goto bad;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			goto bad;
		v = v * 10 + (*p - '0');
	}
	if (v <= 0)
		goto bad;
	*out = v;
	return 0;
bad:
	resp_error(r, 404, MSG_HTTP_404, NULL);
	return -1;
}

const char *req_url_encode(struct req *r, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	char *out = arena_alloc(r->arena, strlen(s) * 3 + 1), *o = out;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    *p == '-' || *p == '_' || *p == '.' || *p == '~') {
			*o++ = (char)*p;
		} else {
			*o++ = '%';
			*o++ = hex[*p >> 4];
			*o++ = hex[*p & 15];
		}
	}
	*o = '\0';
	return out;
}

const char *req_in_str(struct req *r, const char *name)
{
	json_t *v = r->in ? json_object_get(r->in, name) : NULL;
	return json_is_string(v) ? json_string_value(v) : NULL;
}

int64_t req_in_int(struct req *r, const char *name, int64_t dflt)
{
	json_t *v = r->in ? json_object_get(r->in, name) : NULL;
	return json_is_integer(v) ? json_integer_value(v) : dflt;
}

int req_in_bool(struct req *r, const char *name)
{
	json_t *v = r->in ? json_object_get(r->in, name) : NULL;
	return json_is_true(v);
}

const char *req_ip(struct req *r)
{
	return r->ip;
}

const struct upload *req_upload(struct req *r, const char *field)
{
	for (int i = 0; i < r->nuploads; i++)
		if (strcmp(r->uploads[i].field, field) == 0)
			return &r->uploads[i];
	return NULL;
}

const struct upload *req_upload_at(struct req *r, int i)
{
	return i >= 0 && i < r->nuploads ? &r->uploads[i] : NULL;
}

/* ---------- access log ---------- */

static void json_escape_into(char *out, size_t cap, const char *s)
{
	size_t n = 0;
	for (; *s && n + 7 < cap; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\') {
			out[n++] = '\\';
			out[n++] = (char)ch;
		} else if (ch < 0x20 || ch == 0x7f) {
			n += (size_t)snprintf(out + n, cap - n, "\\u%04x", ch);
		} else {
			out[n++] = (char)ch;
		}
	}
	out[n] = '\0';
}

static void access_log_write(struct req *r, int status)
{
	if (access_fd < 0)
		return;
	static const char *names[] = { "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OTHER" };
	struct timespec end;
	clock_gettime(CLOCK_MONOTONIC, &end);
	long us = (end.tv_sec - r->start.tv_sec) * 1000000L + (end.tv_nsec - r->start.tv_nsec) / 1000;
	char path[512], line[1024];
	json_escape_into(path, sizeof path, r->path ? r->path : "");
	/* The formatted second is cached per thread: gmtime_r takes a libc lock. */
	static __thread time_t ts_sec = -1;
	static __thread char ts[32];
	time_t now = time(NULL);
	if (now != ts_sec) {
		struct tm tm;
		gmtime_r(&now, &tm);
		strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
		ts_sec = now;
	}
	int n = snprintf(line, sizeof line,
			 "{\"ts\":\"%s\",\"id\":\"%s\",\"ip\":\"%s\",\"method\":\"%s\",\"path\":\"%s\","
			 "\"status\":%d,\"bytes\":%zu,\"us\":%ld,\"user\":%lld}\n",
			 ts, r->id, r->ip ? r->ip : "", names[r->method], path, status, r->sent, us,
			 (long long)r->who.user_id);
	if (n > 0 && (size_t)n < sizeof line) {
		/* One write(2) per line on an O_APPEND descriptor: lines never interleave. */
		if (write(access_fd, line, (size_t)n) < 0) {
			/* Nothing sensible to do; the request itself succeeded. */
		}
	}
}

/* ---------- request lifecycle ---------- */

static enum http_method method_of(const char *m)
{
	static const char *names[] = { "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE" };
	for (int i = 0; i < HM__MAX; i++)
		if (strcmp(m, names[i]) == 0)
			return (enum http_method)i;
	return HM__MAX;
}

static void client_addr(struct req *r, struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	char addr[INET6_ADDRSTRLEN] = "";
	if (ci != NULL && ci->client_addr != NULL) {
		const struct sockaddr *sa = ci->client_addr;
		if (sa->sa_family == AF_INET)
			inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, addr,
				  sizeof addr);
		else if (sa->sa_family == AF_INET6)
			inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
				  addr, sizeof addr);
	}
	r->ip = arena_strdup(r->arena, addr);
	r->https = g_ctx->conf->tls_cert[0] != '\0';
	const char *proxy = g_ctx->conf->trusted_proxy;
	if (proxy[0] != '\0' && strcmp(proxy, addr) == 0) {
		const char *xff = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Forwarded-For");
		if (xff != NULL) {
			const char *last = strrchr(xff, ',');
			last = last ? last + 1 : xff;
			while (*last == ' ')
				last++;
			if (strlen(last) < INET6_ADDRSTRLEN)
				r->ip = arena_strdup(r->arena, last);
		}
		const char *proto = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Forwarded-Proto");
		if (proto != NULL)
			r->https = strcasecmp(proto, "https") == 0;
	}
}

static struct req *req_new(struct MHD_Connection *c, const char *url, const char *method)
{
	struct arena *a = arena_new();
	struct req *r = arena_alloc(a, sizeof *r);
	r->arena = a;
	r->conn = c;
	clock_gettime(CLOCK_MONOTONIC, &r->start);
	r->method = method_of(method);
	if (r->method == HM__MAX)
		r->method = HM__MAX;
	r->path = arena_strdup(a, url);
	r->is_api = http_is_api_path(r->path);
	buf_init(&r->body, (size_t)g_ctx->conf->max_body);
	buf_init(&r->out, 64u << 20);
	/* Request ids: a random per-thread seed mixed with a counter (an odd
	 * multiplier keeps them distinct); no system call per request. */
	static __thread uint64_t id_seed, id_ctr;
	if (id_seed == 0)
		randombytes_buf(&id_seed, sizeof id_seed);
	snprintf(r->id, sizeof r->id, "%016llx",
		 (unsigned long long)(id_seed ^ (++id_ctr * 0x9E3779B97F4A7C15ull)));
	client_addr(r, c);
	atomic_fetch_add(&inflight, 1);
	return r;
}

static void mp_free(struct req *r);

static void req_free(struct req *r)
{
	mp_free(r);
	for (int i = 0; i < r->nuploads; i++)
		buf_release(&r->uploads[i].data);
	if (r->has_fd)
		close(r->resp_fd);
	json_decref(r->in);
	buf_release(&r->body);
	buf_release(&r->out);
	atomic_fetch_sub(&inflight, 1);
	arena_free(r->arena);
}

struct query_acc {
	struct req *r;
	json_t *obj;
	struct input_error *err;
	int n;
};

static enum MHD_Result query_iter(void *cls, enum MHD_ValueKind kind, const char *key,
				  size_t key_size, const char *value, size_t value_size)
{
	(void)kind;
	struct query_acc *q = cls;
	if (q->err->status != 0)
		return MHD_NO;
	if (++q->n > INPUT_MAX_FIELDS) {
		q->err->status = 413;
		q->err->msg = MSG_BODY_BAD_FORM;
		return MHD_NO;
	}
	if (value == NULL) {
		value = "";
		value_size = 0;
	}
	snprintf(q->err->field, sizeof q->err->field, "%.*s", (int)(key_size < 63 ? key_size : 63), key);
	if (strlen(key) != key_size || strlen(value) != value_size) {
		q->err->status = 400;
		q->err->msg = MSG_FIELD_BAD_CONTROL;
		return MHD_NO;
	}
	if (validate_utf8(key, key_size) != 0 || validate_utf8(value, value_size) != 0) {
		q->err->status = 400;
		q->err->msg = MSG_FIELD_BAD_UTF8;
		return MHD_NO;
	}
	if (json_object_get(q->obj, key) != NULL) {
		q->err->status = 400;
		q->err->msg = MSG_FIELD_DUPLICATE;
		return MHD_NO;
	}
	json_object_set_new(q->obj, key, json_stringn(value, value_size));
	q->err->field[0] = '\0';
	return MHD_YES;
}

/* ---------- multipart/form-data (RF_UPLOAD routes) ----------
 *
 * libmicrohttpd's post processor parses the body chunk by chunk as it
 * arrives (on_request); mp_iter gets each part's bytes.  Text parts become
 * the object r->in (the rules of form_parse: names of [A-Za-z0-9_.-],
 * valid UTF-8, no NUL, no duplicates, at most INPUT_MAX_FIELDS parts, all
 * text together within max_body); file parts become r->uploads, each within
 * its FT_FILE field's max and max_upload.  The first error is kept, the
 * rest of the body is read (bounded) and dropped, and dispatch answers it
 * after the session and role checks, as it answers any input error.
 *
 * A body is well-formed only when the post processor ended without error
 * AND the body ends with the closing delimiter "--boundary--": the post
 * processor alone reports success for a body that never matched the
 * boundary (it skips it as preamble).
 */

#define MP_BUFFER (32u << 10)      /* the post processor's buffer: part headers, boundary search */
#define MP_BOUNDARY_MAX 200        /* RFC 2046 allows 70 */

enum mp_part { MP_NONE, MP_TEXT, MP_FILE };

struct mp_state {
	struct MHD_PostProcessor *pp;
	const struct route *route;
	json_t *obj;                         /* text fields */
	char boundary[MP_BOUNDARY_MAX + 1];
	size_t blen;
	char tail[MP_BOUNDARY_MAX + 8];      /* the last bytes of the body */
	size_t tail_len;
	uint64_t received;
	size_t text_bytes;
	int nparts;
	int failed;                          /* err holds the first error */
	struct input_error err;
	/* the part being read */
	enum mp_part kind;
	const char *key_ptr, *filename_ptr;  /* libmicrohttpd's strings of this part */
	int empty_start;                     /* its only call so far carried no bytes */
	const char *key;
	struct buf text;
	struct upload *up;
};

static uint64_t mp_body_limit(void)
{
	const struct conf *cf = g_ctx->conf;
	return (uint64_t)cf->max_upload * REQ_MAX_UPLOADS + (uint64_t)cf->max_body + (64u << 10);
}

static int is_multipart(const char *ct)
{
	return ct != NULL && strncasecmp(ct, "multipart/form-data", 19) == 0;
}

static void mp_fail(struct mp_state *m, int status, enum msg_id why, const char *field)
{
	if (m->failed)
		return;
	m->failed = 1;
	m->err.status = status;
	m->err.msg = why;
	snprintf(m->err.field, sizeof m->err.field, "%s", field ? field : "");
}

/* Field names: what form_parse accepts. */
static int mp_key_ok(const char *k)
{
	size_t n = strlen(k);
	if (n == 0 || n >= sizeof(((struct input_error *)0)->field))
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = k[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '-'))
			return 0;
	}
	return 1;
}

static const struct field_spec *mp_spec(const struct mp_state *m, const char *name)
{
	for (const struct field_spec *f = m->route->fields; f != NULL && f->name != NULL; f++)
		if (strcmp(f->name, name) == 0)
			return f;
	return NULL;
}

/* Ends the part being read: a text value joins m->obj; an empty file input is dropped. */
static int mp_part_end(struct req *r)
{
	struct mp_state *m = r->mp;
	enum mp_part kind = m->kind;
	m->kind = MP_NONE;
	if (kind == MP_TEXT) {
		const char *v = m->text.data ? m->text.data : "";
		size_t n = m->text.len;
		if (validate_utf8(v, n) != MSG_NONE)
			mp_fail(m, 400, MSG_FIELD_BAD_UTF8, m->key);
		else if (memchr(v, '\0', n) != NULL)
			mp_fail(m, 400, MSG_FIELD_BAD_CONTROL, m->key);
		else if (json_object_get(m->obj, m->key) != NULL || req_upload(r, m->key) != NULL)
			mp_fail(m, 400, MSG_FIELD_DUPLICATE, m->key);
		else
			json_object_set_new(m->obj, m->key, json_stringn(v, n));
		buf_reset(&m->text);
	} else if (kind == MP_FILE) {
		struct upload *up = m->up;
		m->up = NULL;
		if (up->filename[0] == '\0' && up->data.len == 0) {
			/* A file input left empty: browsers still send the part. */
			buf_release(&up->data);
			r->nuploads--;
		} else if (json_object_get(m->obj, up->field) != NULL) {
			mp_fail(m, 400, MSG_FIELD_DUPLICATE, up->field);
		}
	}
	return m->failed ? -1 : 0;
}

static int mp_part_begin(struct req *r, const char *key, const char *filename, const char *ctype,
			 const char *tenc)
{
	struct mp_state *m = r->mp;
	if (key == NULL || !mp_key_ok(key)) {
		mp_fail(m, 400, MSG_BODY_BAD_FORM, NULL);
		return -1;
	}
	if (++m->nparts > INPUT_MAX_FIELDS) {
		mp_fail(m, 413, MSG_BODY_BAD_FORM, NULL);
		return -1;
	}
	/* RFC 7578 §4.7: no transfer encodings; anything but identity is refused. */
	if (tenc != NULL && strcasecmp(tenc, "binary") != 0 && strcasecmp(tenc, "8bit") != 0 &&
	    strcasecmp(tenc, "7bit") != 0) {
		mp_fail(m, 400, MSG_MULTIPART_BAD, key);
		return -1;
	}
	m->key_ptr = key;
	m->filename_ptr = filename;
	m->key = arena_strdup(r->arena, key);
	if (filename == NULL) {
		m->kind = MP_TEXT;
		buf_reset(&m->text);
		return 0;
	}
	const struct field_spec *f = mp_spec(m, key);
	/* A dynamic route's files are checked by its handler (req_check). */
	int dynamic = (m->route->flags & RF_DYNAMIC) != 0;
	if ((f == NULL && !dynamic) || (f != NULL && f->type != FT_FILE)) {
		mp_fail(m, 400, f == NULL ? MSG_FIELD_UNKNOWN : MSG_FIELD_NOT_STRING, key);
		return -1;
	}
	if (validate_utf8(filename, strlen(filename)) != MSG_NONE) {
		mp_fail(m, 400, MSG_FIELD_BAD_UTF8, key);
		return -1;
	}
	if (r->nuploads == REQ_MAX_UPLOADS) {
		mp_fail(m, 413, MSG_UPLOAD_TOO_MANY, key);
		return -1;
	}
	struct upload *up = &r->uploads[r->nuploads++];
	size_t max = (size_t)g_ctx->conf->max_upload;
	if (f != NULL && f->max > 0 && (unsigned long long)f->max < max)
		max = (size_t)f->max;
	up->field = m->key;
	up->filename = arena_strdup(r->arena, filename);
	up->declared_type = ctype ? arena_strdup(r->arena, ctype) : NULL;
	buf_init(&up->data, max);
	m->up = up;
	m->kind = MP_FILE;
	return 0;
}

static enum MHD_Result mp_iter(void *cls, enum MHD_ValueKind kind, const char *key,
			       const char *filename, const char *ctype, const char *tenc,
			       const char *data, uint64_t off, size_t size)
{
	(void)kind;
	struct req *r = cls;
	struct mp_state *m = r->mp;
	if (m->failed)
		return MHD_NO;
	/*
	 * A part's first call has off 0, and may carry no bytes (the post
	 * processor always announces a part, even an empty one); then its
	 * second call has off 0 too.  Such a second call keeps the part's
	 * strings; any other call at off 0 begins a new part.
	 */
	int same = m->kind != MP_NONE && m->empty_start && size > 0 && key == m->key_ptr &&
		   filename == m->filename_ptr;
	if (off == 0 && !same) {
		if (mp_part_end(r) != 0 || mp_part_begin(r, key, filename, ctype, tenc) != 0)
			return MHD_NO;
	}
	m->empty_start = off == 0 && size == 0;
	if (size == 0)
		return MHD_YES;
	if (m->kind == MP_FILE) {
		if (buf_add(&m->up->data, data, size) < 0) {
			mp_fail(m, 413, MSG_FILE_TOO_LARGE, m->key);
			return MHD_NO;
		}
	} else if (m->text_bytes + size > (size_t)g_ctx->conf->max_body ||
		   buf_add(&m->text, data, size) < 0) {
		mp_fail(m, 413, MSG_HTTP_413, m->key);
		return MHD_NO;
	} else {
		m->text_bytes += size;
	}
	return MHD_YES;
}

/* First call of a multipart request to an RF_UPLOAD route. */
static void mp_start(struct req *r, const struct route *rt)
{
	struct mp_state *m = arena_alloc(r->arena, sizeof *m);
	r->mp = m;
	m->route = rt;
	m->obj = json_object();
	buf_init(&m->text, (size_t)g_ctx->conf->max_body);
	r->uploads = arena_alloc(r->arena, REQ_MAX_UPLOADS * sizeof *r->uploads);
	/* The boundary as libmicrohttpd reads it: all after "boundary=", quotes removed. */
	const char *ct = req_header(r, "Content-Type");
	const char *b = strstr(ct + 19, "boundary=");
	size_t n = b ? strlen(b + 9) : 0;
	if (b != NULL) {
		b += 9;
		if (n >= 2 && b[0] == '"' && b[n - 1] == '"') {
			b++;
			n -= 2;
		}
	}
	if (n == 0 || n > MP_BOUNDARY_MAX) {
		mp_fail(m, 400, MSG_MULTIPART_BAD, NULL);
		return;
	}
	memcpy(m->boundary, b, n);
	m->blen = n;
	m->pp = MHD_create_post_processor(r->conn, MP_BUFFER, mp_iter, r);
	if (m->pp == NULL)
		mp_fail(m, 400, MSG_MULTIPART_BAD, NULL);
}

/* One chunk of the body. */
static void mp_feed(struct req *r, const char *data, size_t n)
{
	struct mp_state *m = r->mp;
	m->received += n;
	if (m->received > mp_body_limit()) {
		r->too_large = 1;
		return;
	}
	size_t cap = sizeof m->tail;
	if (n >= cap) {
		memcpy(m->tail, data + n - cap, cap);
		m->tail_len = cap;
	} else {
		size_t keep = m->tail_len < cap - n ? m->tail_len : cap - n;
		memmove(m->tail, m->tail + m->tail_len - keep, keep);
		memcpy(m->tail + keep, data, n);
		m->tail_len = keep + n;
	}
	if (m->failed)
		return;
	if (MHD_post_process(m->pp, data, n) != MHD_YES)
		mp_fail(m, 400, MSG_MULTIPART_BAD, NULL);
}

/* Whether the body ended with the closing delimiter (and at most one line break). */
static int mp_tail_ok(const struct mp_state *m)
{
	size_t n = m->tail_len;
	if (n > 0 && m->tail[n - 1] == '\n')
		n--;
	if (n > 0 && m->tail[n - 1] == '\r')
		n--;
	size_t want = m->blen + 4;
	return n >= want && memcmp(m->tail + n - want, "--", 2) == 0 &&
	       memcmp(m->tail + n - want + 2, m->boundary, m->blen) == 0 &&
	       memcmp(m->tail + n - 2, "--", 2) == 0;
}

/* The last call: the whole body has been read.  0 with r->in, or -1 with *e. */
static int mp_finish(struct req *r, struct input_error *e)
{
	struct mp_state *m = r->mp;
	if (!m->failed) {
		enum MHD_Result done = MHD_destroy_post_processor(m->pp);
		m->pp = NULL;
		if (done != MHD_YES || !mp_tail_ok(m))
			mp_fail(m, 400, MSG_MULTIPART_BAD, NULL);
		else
			mp_part_end(r);
	}
	/* On an error too, the text read so far (all of it valid text) lets the form
	 * show again what the person typed. */
	r->in = m->obj;
	m->obj = NULL;
	if (m->failed) {
		*e = m->err;
		return -1;
	}
	return 0;
}

static void mp_free(struct req *r)
{
	struct mp_state *m = r->mp;
	if (m == NULL)
		return;
	if (m->pp != NULL)
		MHD_destroy_post_processor(m->pp);
	json_decref(m->obj);
	buf_release(&m->text);
	r->mp = NULL;
}

/* Required FT_FILE fields (input_check sees text only). */
static int uploads_check(struct req *r, struct input_error *e)
{
	for (const struct field_spec *f = r->route->fields; f != NULL && f->name != NULL; f++) {
		if (f->type == FT_FILE && (f->flags & FS_REQUIRED) && req_upload(r, f->name) == NULL) {
			e->status = 400;
			e->msg = MSG_FIELD_REQUIRED;
			snprintf(e->field, sizeof e->field, "%s", f->name);
			return -1;
		}
	}
	return 0;
}

int req_check(struct req *r, const struct field_spec *spec)
{
	struct input_error e = { 0 };
	if (input_check(spec, r->in, r->from_form, &e) != 0)
		goto bad;
	for (int i = 0; i < r->nuploads; i++) {
		const struct upload *up = &r->uploads[i];
		const struct field_spec *f = spec;
		while (f->name != NULL && strcmp(f->name, up->field) != 0)
			f++;
		if (f->name == NULL || f->type != FT_FILE) {
			e.status = 400;
			e.msg = MSG_FIELD_UNKNOWN;
			snprintf(e.field, sizeof e.field, "%s", up->field);
			goto bad;
		}
		if (f->max > 0 && up->data.len > (size_t)f->max) {
			e.status = 413;
			e.msg = MSG_FILE_TOO_LARGE;
			snprintf(e.field, sizeof e.field, "%s", up->field);
			goto bad;
		}
	}
	for (const struct field_spec *f = spec; f->name != NULL; f++) {
		if (f->type == FT_FILE && (f->flags & FS_REQUIRED) && req_upload(r, f->name) == NULL) {
			e.status = 400;
			e.msg = MSG_FIELD_REQUIRED;
			snprintf(e.field, sizeof e.field, "%s", f->name);
			goto bad;
		}
	}
	return 0;
bad:
	resp_input_error(r, &e);
	return -1;
}

/* Parses the body (or, for GET, the query) into r->in. 0, or -1 with *e. */
static int req_parse_input(struct req *r, int *from_form, struct input_error *e)
{
	*from_form = 1;
	if (r->method == HM_GET || r->method == HM_HEAD || r->method == HM_DELETE) {
		struct query_acc q = { r, json_object(), e, 0 };
		MHD_get_connection_values_n(r->conn, MHD_GET_ARGUMENT_KIND, query_iter, &q);
		if (e->status != 0) {
			json_decref(q.obj);
			return -1;
		}
		r->in = q.obj;
		return 0;
	}
	if (r->mp != NULL)
		return mp_finish(r, e);
	const char *ct = req_header(r, "Content-Type");
	if (r->body.len == 0 && (ct == NULL || *ct == '\0')) {
		r->in = json_object();
		return 0;
	}
	if (ct != NULL && strncasecmp(ct, "application/json", 16) == 0) {
		*from_form = 0;
		return json_body_parse(r->body.data ? r->body.data : "", r->body.len, &r->in, e);
	}
	if (ct != NULL && strncasecmp(ct, "application/x-www-form-urlencoded", 33) == 0)
		return form_parse(r->body.data ? r->body.data : "", r->body.len, &r->in, e);
	e->status = 415;
	e->msg = MSG_BODY_BAD_TYPE;
	e->field[0] = '\0';
	return -1;
}

static int role_allows(const struct req *r, enum role role)
{
	const struct principal *w = &r->who;
	int in = w->user_id != 0 && !w->half;
	switch (role) {
	case ROLE_PUBLIC: return 1;
	case ROLE_ANON: return 1;   /* handled by the caller: logged-in people are redirected */
	case ROLE_USER: return in;
	case ROLE_PERSON: return in && (w->kind == ACCT_CITIZEN || w->kind == ACCT_ENTERPRISE);
	case ROLE_STAFF: return in && w->kind == ACCT_STAFF && w->roles != 0;
	case ROLE_DEPT_ADMIN: return in && (w->roles & (ROLEBIT_DEPT_ADMIN | ROLEBIT_PLATFORM_ADMIN));
	case ROLE_PLATFORM_ADMIN: return in && (w->roles & ROLEBIT_PLATFORM_ADMIN);
	default: return 0;
	}
}

static int csrf_ok(struct req *r)
{
	/* Cross-site requests are refused outright when the browser says so. */
	const char *site = req_header(r, "Sec-Fetch-Site");
	if (site != NULL && strcmp(site, "cross-site") == 0)
		return 0;
	const char *expect = r->who.csrf;
	const char *given = NULL;
	if (r->is_api) {
		given = req_header(r, "X-CSRF-Token");
	} else if (r->in != NULL) {
		json_t *v = json_object_get(r->in, "_csrf");
		given = json_is_string(v) ? json_string_value(v) : NULL;
	}
	if (expect == NULL || given == NULL || *expect == '\0')
		return 0;
	return str_ct_equal(expect, given) == 0;
}

/* Idempotency: a retry with the same key returns the first answer. */
static const char sql_idem_get[] =
	"SELECT status, location, ctype, body, req_hash FROM idempotency WHERE user_id = $1 AND key = $2";
static const char sql_idem_put[] =
	"INSERT INTO idempotency (user_id, key, route, status, location, ctype, body, created_at, req_hash) "
	"VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

/*
 * What makes two submissions "the same": the route and the submitted fields
 * (without the per-page CSRF token), hashed with the server's key (the
 * fields may hold a password; a keyed hash reveals nothing to someone
 * reading the table).
 */
static void idem_hash(struct req *r)
{
	unsigned char h[32];
	crypto_generichash_state s;
	crypto_generichash_init(&s, g_ctx->keys->seal, sizeof g_ctx->keys->seal, sizeof h);
	crypto_generichash_update(&s, (const unsigned char *)r->route->path, strlen(r->route->path) + 1);
	char *fields = json_dumps(r->in, JSON_COMPACT | JSON_SORT_KEYS);
	if (fields != NULL)
		crypto_generichash_update(&s, (const unsigned char *)fields, strlen(fields));
	free(fields);
	for (int i = 0; i < r->nuploads; i++) {
		const struct upload *u = &r->uploads[i];
		crypto_generichash_update(&s, (const unsigned char *)u->field, strlen(u->field) + 1);
		crypto_generichash_update(&s, (const unsigned char *)u->filename, strlen(u->filename) + 1);
		if (u->data.len > 0)
			crypto_generichash_update(&s, (const unsigned char *)u->data.data, u->data.len);
	}
	crypto_generichash_final(&s, h, sizeof h);
	char *hex = arena_alloc(r->arena, 65);
	sodium_bin2hex(hex, 65, h, sizeof h);
	r->idem_hash = hex;
}

static int idem_replay(struct req *r)
{
	struct store_res *res = NULL;
	struct sval p[] = { SVI(r->idem_user), SVT(r->idem_key) };
	if (store_query(r->st, sql_idem_get, p, 2, &res) != STORE_OK)
		return -1;
	int found = store_res_rows(res) > 0;
	const char *first = found ? store_res_text(res, 0, 4) : NULL;
	if (found && (first == NULL || strcmp(first, r->idem_hash) != 0)) {
		/* The key was used for another submission: refuse, reveal nothing of it. */
		store_res_free(res);
		resp_error(r, 422, MSG_IDEM_MISMATCH, "_idem");
		return 1;
	}
	if (found) {
		r->answered = 1;
		r->status = (int)store_res_int(res, 0, 0);
		const char *loc = store_res_text(res, 0, 1);
		r->location = loc ? arena_strdup(r->arena, loc) : NULL;
		r->ctype = arena_strdup(r->arena, store_res_text(res, 0, 2) ? store_res_text(res, 0, 2) : "text/plain");
		buf_reset(&r->out);
		buf_add(&r->out, store_res_text(res, 0, 3) ? store_res_text(res, 0, 3) : "",
			store_res_len(res, 0, 3));
		r->extra_hdr_name[r->nextra] = "Idempotent-Replayed";
		r->extra_hdr_val[r->nextra++] = "true";
	}
	store_res_free(res);
	return found;
}

static int idem_record(struct req *r)
{
	struct sval p[] = { SVI(r->idem_user), SVT(r->idem_key), SVT(r->route->path), SVI(r->status),
			    SVT(r->location), SVT(r->ctype), SVT(r->out.data ? r->out.data : ""),
			    SVI(time(NULL)), SVT(r->idem_hash) };
	return store_exec(r->st, sql_idem_put, p, 9, NULL);
}

static const char *idem_key_of(struct req *r)
{
	const char *k = req_header(r, "Idempotency-Key");
	if (k == NULL && r->in != NULL) {
		json_t *v = json_object_get(r->in, "_idem");
		k = json_is_string(v) ? json_string_value(v) : NULL;
	}
	if (k == NULL || *k == '\0' || strlen(k) > 128)
		return NULL;
	return arena_strdup(r->arena, k);
}

static void run_handler(struct req *r)
{
	int write = r->method == HM_POST || r->method == HM_PUT || r->method == HM_PATCH ||
		    r->method == HM_DELETE;
	int tx = write && !(r->route->flags & RF_NOTX);
	if (tx && store_begin(r->st) != STORE_OK) {
		resp_error(r, 503, MSG_HTTP_503, NULL);
		return;
	}
	if (tx && r->idem_key != NULL) {
		int rc = idem_replay(r);
		if (rc != 0) {
			store_rollback(r->st);
			if (rc < 0)
				resp_error(r, 500, MSG_HTTP_500, NULL);
			return;
		}
	}
	r->route->handler(r);
	if (!r->answered) {
		log_error("handler for %s answered nothing", r->route->path);
		resp_error(r, 500, MSG_HTTP_500, NULL);
	}
	if (!tx)
		return;
	if (r->status >= 400 && !r->keep_tx) {
		store_rollback(r->st);
		return;
	}
	if (r->idem_key != NULL && r->status < 400 && idem_record(r) != STORE_OK)
		goto fail;
	if (store_commit(r->st) != STORE_OK)
		goto fail;
	return;
fail:
	/* Not committed: the person must not be told it was. */
	store_rollback(r->st);
	r->answered = 0;
	r->location = NULL;
	r->ncookies = 0;
	resp_error(r, 503, MSG_HTTP_503, NULL);
}

static void health(struct req *r, int ready)
{
	r->answered = 1;
	r->ctype = "application/json";
	if (!ready) {
		r->status = 200;
		buf_addstr(&r->out, "{\"status\":\"ok\"}");
		return;
	}
	int64_t one = 0;
	int ok = !atomic_load(&stopping) &&
		 store_query_int(r->st, "SELECT 1", NULL, 0, &one) == STORE_OK && one == 1;
	r->status = ok ? 200 : 503;
	buf_addstr(&r->out, ok ? "{\"status\":\"ready\"}" : "{\"status\":\"not ready\"}");
}

static enum MHD_Result dispatch(struct req *r)
{
	struct input_error e = { 0 };
	int from_form = 1, path_matched = 0;

	if (r->too_large) {
		resp_error(r, 413, MSG_HTTP_413, NULL);
		return resp_send(r);
	}
	if (r->method == HM_GET || r->method == HM_HEAD) {
		const struct static_file *sf = static_find(r->path);
		if (sf != NULL) {
			const char *inm = req_header(r, "If-None-Match");
			int same = inm != NULL && strcmp(inm, sf->etag) == 0;
			r->status = same ? 304 : 200;
			r->sent = same ? 0 : sf->len;
			return MHD_queue_response(r->conn, (unsigned)r->status,
						  same ? sf->not_modified : sf->ok);
		}
	}
	r->st = store_pool_get(g_ctx->pool);
	if (strcmp(r->path, "/healthz") == 0 || strcmp(r->path, "/readyz") == 0) {
		health(r, r->path[1] == 'r');
		goto send;
	}
	if (r->method == HM__MAX) {
		resp_error(r, 405, MSG_HTTP_405, NULL);
		goto send;
	}
	r->route = router_match(r, r->method, r->path, &path_matched);
	if (auth_load_session(r) != 0) {
		resp_error(r, 503, MSG_HTTP_503, NULL);
		goto send;
	}
	if (r->route == NULL) {
		resp_error(r, path_matched ? 405 : 404, MSG_NONE, NULL);
		goto send;
	}
	if ((r->route->flags & RF_TOKEN) && r->who.user_id == 0) {
		int t = auth_load_token(r);
		if (t != 0) {
			if (t < 0)
				resp_error(r, 503, MSG_HTTP_503, NULL);
			goto send;
		}
	}
	if (r->route->role == ROLE_ANON && r->who.user_id != 0 && !r->who.half && !r->is_api) {
		resp_redirect(r, "/desk");
		goto send;
	}
	if (r->who.half && !(r->route->flags & RF_HALF) && r->route->role != ROLE_PUBLIC) {
		if (r->is_api)
			resp_error(r, 401, MSG_HTTP_401, NULL);
		else
			resp_redirect(r, "/login/totp");
		goto send;
	}
	if (!role_allows(r, r->route->role)) {
		if (r->who.user_id == 0 && !r->is_api) {
			resp_redirect(r, arena_printf(r->arena, "/login?next=%s%s",
						      r->method == HM_GET ? r->path : "/desk",
						      r->session_expired ? "&expired=1" : ""));
		} else if (r->session_expired) {
			resp_error(r, 401, MSG_SESSION_EXPIRED, NULL);
		} else {
			resp_error(r, r->who.user_id == 0 ? 401 : 403, MSG_NONE, NULL);
		}
		goto send;
	}
	if (req_parse_input(r, &from_form, &e) != 0) {
		resp_input_error(r, &e);
		goto send;
	}
	int unsafe = r->method != HM_GET && r->method != HM_HEAD;
	/* A token request carries no cookie, so there is nothing to forge across sites. */
	if (unsafe && (r->route->flags & RF_CSRF) && r->who.token_id == 0 && !csrf_ok(r)) {
		resp_error(r, 403, MSG_CSRF_INVALID, "_csrf");
		goto send;
	}
	if (unsafe && (r->route->flags & RF_IDEM)) {
		r->idem_key = idem_key_of(r);
		/* Keyed to who submitted, as they were before the handler (which may sign them in). */
		r->idem_user = r->who.user_id;
	}
	json_object_del(r->in, "_csrf");
	json_object_del(r->in, "_idem");
	if (r->idem_key != NULL)
		idem_hash(r);
	r->from_form = from_form;
	if (r->route->flags & RF_DYNAMIC) {
		/* the handler checks the input against the spec it builds */
	} else if (r->route->fields != NULL) {
		if (input_check(r->route->fields, r->in, from_form, &e) != 0 ||
		    uploads_check(r, &e) != 0) {
			resp_input_error(r, &e);
			goto send;
		}
	} else if (json_object_size(r->in) > 0) {
		e.status = 400;
		e.msg = MSG_FIELD_UNKNOWN;
		snprintf(e.field, sizeof e.field, "%s", json_object_iter_key(json_object_iter(r->in)));
		resp_input_error(r, &e);
		goto send;
	}
	run_handler(r);
send:
	if (r->st != NULL) {
		store_pool_put(g_ctx->pool, r->st);
		r->st = NULL;
	}
	return resp_send(r) == MHD_YES ? MHD_YES : MHD_NO;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	(void)cls;
	(void)version;
	struct req *r = *con_cls;
	if (r == NULL) {
		r = req_new(c, url, method);
		*con_cls = r;
		/* multipart/form-data to a route that takes uploads is parsed as it arrives. */
		const struct route *upload_route = NULL;
		unsigned long long limit = (unsigned long long)g_ctx->conf->max_body;
		if ((r->method == HM_POST || r->method == HM_PUT || r->method == HM_PATCH) &&
		    is_multipart(MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type"))) {
			int pm = 0;
			const struct route *rt = router_match(r, r->method, r->path, &pm);
			if (rt != NULL && (rt->flags & RF_UPLOAD)) {
				upload_route = rt;
				limit = mp_body_limit();
			}
		}
		const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
		if (cl != NULL) {
			char *end = NULL;
			errno = 0;
			unsigned long long n = strtoull(cl, &end, 10);
			if (errno != 0 || end == cl || *end != '\0' || n > limit) {
				/* Refused before reading it: MHD closes the connection after. */
				resp_error(r, 413, MSG_HTTP_413, NULL);
				return resp_send(r) == MHD_YES ? MHD_YES : MHD_NO;
			}
		}
		if (upload_route != NULL)
			mp_start(r, upload_route);
		return MHD_YES;
	}
	if (r->answered && !r->first_done) {
		/* Refused on the first call (413): the rest is not read. */
		*upload_size = 0;
		return MHD_YES;
	}
	if (*upload_size != 0) {
		/* Once refused (too_large), the rest is read and dropped. */
		if (!r->too_large && r->mp != NULL)
			mp_feed(r, upload, *upload_size);
		else if (!r->too_large && buf_add(&r->body, upload, *upload_size) < 0)
			r->too_large = 1;
		*upload_size = 0;
		return MHD_YES;
	}
	if (r->first_done)
		return MHD_YES;
	r->first_done = 1;
	return dispatch(r);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)c;
	struct req *r = *con_cls;
	if (r == NULL)
		return;
	access_log_write(r, toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? r->status : 499);
	req_free(r);
	*con_cls = NULL;
}

__attribute__((format(printf, 2, 0))) static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	char line[512];
	vsnprintf(line, sizeof line, fmt, ap);
	size_t n = strlen(line);
	while (n > 0 && line[n - 1] == '\n')
		line[--n] = '\0';
	log_warn("http: %s", line);
}

void *http_start_external(const struct server_ctx *ctx)
{
	g_ctx = ctx;
	return MHD_start_daemon(MHD_USE_NO_LISTEN_SOCKET, 0, NULL, NULL, on_request, NULL,
				MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, NULL,
				MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)ctx->conf->max_header,
				MHD_OPTION_END);
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	struct buf b = BUF_INIT(1u << 20);
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		if (buf_add(&b, chunk, n) < 0)
			break;
	fclose(f);
	return buf_detach(&b, NULL);
}

int http_serve(const struct server_ctx *ctx)
{
	const struct conf *cf = ctx->conf;
	struct MHD_Daemon *d = NULL;
	char *cert = NULL, *key = NULL;
	int rc = -1;
	g_ctx = ctx;

	if (static_init() != 0) {
		log_error("http: cannot prepare static files");
		goto out;
	}
	if (cf->access_log[0] != '\0') {
		if (strcmp(cf->access_log, "-") == 0)
			access_fd = STDERR_FILENO;
		else
			access_fd = open(cf->access_log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
		if (access_fd < 0) {
			log_error("access log %s: %s", cf->access_log, strerror(errno));
			goto out;
		}
	}

	struct sockaddr_in sin = { 0 };
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)cf->port);
	if (inet_pton(AF_INET, cf->listen, &sin.sin_addr) != 1) {
		log_error("listen: \"%s\" is not an IPv4 address", cf->listen);
		goto out;
	}

	/* SIGTERM/SIGINT are taken by sigwait below; every thread inherits the mask. */
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	int pg = strncmp(ctx->store_uri, "postgres", 8) == 0;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG;
	flags |= pg ? MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL : MHD_USE_EPOLL;
	int tls = cf->tls_cert[0] != '\0' && cf->tls_key[0] != '\0';
	if (tls) {
		if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
			log_error("tls: this libmicrohttpd has no TLS support");
			goto out;
		}
		cert = read_file(cf->tls_cert);
		key = read_file(cf->tls_key);
		if (cert == NULL || key == NULL) {
			log_error("tls: cannot read %s or %s", cf->tls_cert, cf->tls_key);
			goto out;
		}
		flags |= MHD_USE_TLS;
	}
	struct MHD_OptionItem opts[] = {
		{ MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_log, NULL },
		{ MHD_OPTION_SOCK_ADDR, 0, &sin },
		{ MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, NULL },
		{ MHD_OPTION_CONNECTION_TIMEOUT, cf->timeout, NULL },
		{ MHD_OPTION_CONNECTION_MEMORY_LIMIT, cf->max_header, NULL },
		{ MHD_OPTION_CONNECTION_LIMIT, pg ? cf->pool * 4 : 10000, NULL },
		{ pg ? MHD_OPTION_END : MHD_OPTION_THREAD_POOL_SIZE, cf->threads, NULL },
		{ tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, cert },
		{ tls ? MHD_OPTION_HTTPS_MEM_KEY : MHD_OPTION_END, 0, key },
		{ MHD_OPTION_END, 0, NULL },
	};
	/* Options after the first MHD_OPTION_END are ignored; keep the optional ones last. */
	struct MHD_OptionItem packed[sizeof opts / sizeof opts[0]];
	size_t np = 0;
	for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++)
		if (opts[i].option != MHD_OPTION_END)
			packed[np++] = opts[i];
	packed[np] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };

	d = MHD_start_daemon(flags, (uint16_t)cf->port, NULL, NULL, on_request, NULL,
			     MHD_OPTION_ARRAY, packed, MHD_OPTION_END);
	if (d == NULL) {
		log_error("http: cannot listen on %s:%d (%s)", cf->listen, cf->port, strerror(errno));
		goto out;
	}
	log_info("http: listening on %s://%s:%d (%s)", tls ? "https" : "http", cf->listen, cf->port,
		 pg ? "thread per connection, PostgreSQL" : "epoll thread pool, SQLite");

	int sig = 0;
	sigwait(&sigs, &sig);
	log_info("http: signal %d, finishing requests in flight", sig);
	atomic_store(&stopping, 1);
	/* No new connections: the listening socket is handed back to us to close. */
	MHD_socket lsock = MHD_quiesce_daemon(d);
	if (lsock != MHD_INVALID_SOCKET)
		close(lsock);
	for (int i = 0; i < 300 && atomic_load(&inflight) > 0; i++) {
		struct timespec ts = { 0, 50 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	if (atomic_load(&inflight) > 0)
		log_warn("http: %d requests still running after 15 s; stopping anyway",
			 atomic_load(&inflight));
	rc = 0;
out:
	if (d != NULL)
		MHD_stop_daemon(d);
	static_free();
	if (access_fd > STDERR_FILENO)
		close(access_fd);
	access_fd = -1;
	free(cert);
	free(key);
	return rc;
}
