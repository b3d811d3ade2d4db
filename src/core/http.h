/*
 * http: the server (GNU libmicrohttpd), the request and response of one
 * call, the route table and the edge checks that run before a handler.
 *
 * Request path (see docs/ARCHITECTURE.md, "anatomy of an endpoint"):
 *   1. first call of the access handler: a struct req is allocated with its
 *      arena, the route is matched, Content-Length is checked;
 *   2. body chunks are appended to req->body (bounded by max_body), or, for
 *      multipart/form-data to an RF_UPLOAD route, parsed as they arrive into
 *      text fields and r->uploads (bounded by max_upload);
 *   3. last call: session, role, CSRF, body parsing and input_check against
 *      the route's fields, then the handler; for write methods the handler
 *      runs inside one store transaction, committed when it answers < 400;
 *   4. the completion callback writes the access log line and frees the req.
 *
 * Handlers receive validated input in req->in and answer with one of the
 * resp_* functions.  Everything allocated for a request comes from req->arena.
 */
#ifndef YZ_HTTP_H
#define YZ_HTTP_H

#include <jansson.h>
#include <stdint.h>
#include <time.h>

#include "core/buf.h"
#include "core/input.h"
#include "core/msg.h"
#include "core/store.h"

struct arena;
struct conf;
struct keys;
struct tmpl_set;

enum http_method { HM_GET, HM_HEAD, HM_POST, HM_PUT, HM_PATCH, HM_DELETE, HM__MAX };

/* Who may call a route. */
enum role {
	ROLE_PUBLIC,          /* anyone, logged in or not */
	ROLE_ANON,            /* only when not logged in (login, register) */
	ROLE_USER,            /* any logged-in account */
	ROLE_PERSON,          /* citizen or enterprise */
	ROLE_STAFF,           /* staff of any department, or a platform admin */
	ROLE_DEPT_ADMIN,      /* administrator of some department, or a platform admin */
	ROLE_PLATFORM_ADMIN,  /* the e-government office */
	ROLE__MAX
};

/* Route flags */
#define RF_CSRF   0x01u   /* unsafe method with a session: CSRF token required */
#define RF_API    0x02u   /* JSON API route: errors as JSON, listed in OpenAPI */
#define RF_IDEM   0x04u   /* honours Idempotency-Key / _idem: a retry returns the first answer */
#define RF_NOTX   0x08u   /* write method that manages its own transactions */
#define RF_HALF   0x10u   /* reachable with a half-open session (password ok, second factor pending) */
#define RF_UPLOAD 0x20u   /* accepts multipart/form-data with files (FT_FILE fields); others answer it 415 */
#define RF_DYNAMIC 0x40u  /* fields known only to the handler (an item's form): it calls req_check */
#define RF_TOKEN  0x80u   /* accepts a department API token: Authorization: Bearer yzt_...; with no
			   * session the token fills who.token_* (no cookie, so no CSRF); the route's
			   * role is then ROLE_PUBLIC and the handler checks "token or staff session" */

struct req;
struct file_info;
typedef void (*route_fn)(struct req *r);

struct route {
	enum http_method method;
	const char *path;                 /* "/admin/depts/{id}"; NULL ends a table */
	route_fn handler;
	enum role role;
	unsigned flags;
	const struct field_spec *fields;  /* body (POST/PUT/PATCH) or query (GET); NULL = none accepted */
	const char *form_tmpl;            /* page re-rendered with the error when input fails */
	void (*form_fill)(struct req *r, json_t *ctx);  /* adds what form_tmpl needs besides values */
	const char *summary;              /* English, for OpenAPI */
};

/* Account kinds and per-request identity (filled from the session). */
enum account_kind { ACCT_NONE, ACCT_CITIZEN, ACCT_ENTERPRISE, ACCT_STAFF };

#define ROLEBIT_STAFF          0x1u
#define ROLEBIT_DEPT_ADMIN     0x2u
#define ROLEBIT_PLATFORM_ADMIN 0x4u

struct principal {
	int64_t user_id;          /* 0 when anonymous */
	const char *login;
	const char *name;
	enum account_kind kind;
	unsigned roles;           /* ROLEBIT_* over all departments */
	int half;                 /* password accepted, second factor pending */
	const char *csrf;         /* the session's CSRF token */
	const char *sid_hash;     /* the session's stored id (hash of the cookie) */
	int must_change_pw;
	/* A department API token (RF_TOKEN routes, no session): token_id > 0 */
	int64_t token_id;
	int64_t token_dept;
	const char *token_scopes;  /* "*" or comma-separated registry codes */
};

#define REQ_MAX_PARAMS 4

/*
 * Uploads: the file parts of a multipart/form-data body sent to an
 * RF_UPLOAD route.  Each file part's field must be declared FT_FILE in the
 * route's fields; its size is bounded by the field's max (bytes) and by the
 * conf key max_upload.  A file input left empty (filename "" and no bytes,
 * as browsers send it) is not an upload.  Text parts become r->in exactly
 * as an urlencoded form would.  At most REQ_MAX_UPLOADS per request; a
 * field may carry several files (<input type=file multiple>).
 *
 * Nothing here is trusted: filename and declared_type are what the client
 * said.  Sniff the bytes (files_put) before storing or serving them.
 * Everything is owned by the request and freed with it.
 */
#define REQ_MAX_UPLOADS 8

struct upload {
	const char *field;          /* form field name */
	const char *filename;       /* the client's file name, valid UTF-8 without NUL ("" if none) */
	const char *declared_type;  /* the part's Content-Type, or NULL */
	struct buf data;            /* the bytes (data.data may be NULL when len is 0) */
};

struct mp_state;

struct req {
	struct arena *arena;
	enum http_method method;
	const char *path;
	const struct route *route;
	const char *param_name[REQ_MAX_PARAMS];
	const char *param_val[REQ_MAX_PARAMS];
	int nparams;
	struct buf body;
	json_t *in;               /* validated input: body fields or query fields */
	struct upload *uploads;   /* files of a multipart body (RF_UPLOAD routes), in body order */
	int nuploads;
	int from_form;            /* r->in came from a form or query (strings), not JSON */
	struct store *st;         /* the store connection for this request */
	struct principal who;
	const char *ip;
	int https;
	int is_api;
	char id[17];              /* request id, also in the access log */
	struct timespec start;
	/* response */
	int status;
	const char *ctype;
	struct buf out;
	const char *location;
	const char *set_cookie[4];
	int ncookies;
	const char *extra_hdr_name[4];
	const char *extra_hdr_val[4];
	int nextra;
	const char *cache_control; /* default "no-store" */
	const char *csp;           /* default: the site's policy */
	int resp_fd;               /* resp_file: body streamed from this descriptor when has_fd */
	int has_fd;
	uint64_t resp_fd_len;
	int keep_tx;              /* commit although status >= 400 (failed-login audit) */
	int session_expired;      /* the request carried a session that has just ended */
	int answered;
	size_t sent;              /* body bytes, for the access log */
	/* internal */
	void *conn;
	int too_large;
	int first_done;
	struct mp_state *mp;      /* multipart parsing in progress */
	const char *idem_key;
	const char *idem_hash;
	int64_t idem_user;
};

/* Server lifetime */
struct server_ctx {
	const struct conf *conf;
	const struct keys *keys;
	struct store_pool *pool;
	const struct tmpl_set *tmpl;
	const char *store_uri;
};
int http_serve(const struct server_ctx *ctx);   /* runs until SIGTERM/SIGINT; 0 on a clean stop */
const struct server_ctx *http_ctx(void);

/* Route tables: every application adds its table before http_serve. */
void http_add_routes(const struct route *table);
/* Iterates the registered routes (OpenAPI). */
const struct route *http_route_at(size_t i);

/* Request accessors */
const char *req_header(struct req *r, const char *name);
const char *req_query(struct req *r, const char *name);
const char *req_param(struct req *r, const char *name);
/* Path parameter as a positive id; answers 404 and returns -1 when it is not one. */
int req_param_id(struct req *r, const char *name, int64_t *out);
const char *req_in_str(struct req *r, const char *name);   /* NULL if absent */
/* s percent-encoded for a URL's query string (RFC 3986 unreserved kept), in r's arena. */
const char *req_url_encode(struct req *r, const char *s);
int64_t req_in_int(struct req *r, const char *name, int64_t dflt);
int req_in_bool(struct req *r, const char *name);
/*
 * For RF_DYNAMIC routes: checks r->in and r->uploads against a spec the
 * handler built (text fields as input_check does; each upload must be a
 * declared FT_FILE field, within its max; required files present).  On a
 * problem answers the input error and returns -1.
 */
int req_check(struct req *r, const struct field_spec *spec);

/* The first upload of field, or NULL. */
const struct upload *req_upload(struct req *r, const char *field);
/* The i-th upload of the request (0 <= i < r->nuploads), or NULL. */
const struct upload *req_upload_at(struct req *r, int i);

/* Responses (the first one wins; later calls are ignored) */
void resp_json(struct req *r, int status, json_t *body);                 /* steals body */
void resp_page(struct req *r, int status, const char *tmpl, json_t *ctx); /* steals ctx */
void resp_redirect(struct req *r, const char *location);                  /* 303 See Other */
/* An error: JSON {"error":{"code","message","field"}} on API routes, the error page otherwise. */
void resp_error(struct req *r, int status, enum msg_id why, const char *field);
/* Input error on a page route with form_tmpl: the form again, with the message by the field. */
void resp_input_error(struct req *r, const struct input_error *e);
void resp_cookie(struct req *r, const char *name, const char *value, int max_age);
/*
 * A stored file (files.h), streamed from DATA/files: Content-Type is the
 * sniffed type, Content-Disposition "attachment" (or "inline" when inline_ok
 * and the type is an image or a PDF) with the name also as RFC 5987
 * filename*=UTF-8''..., X-Content-Type-Options nosniff, Cache-Control
 * private.  A missing file answers 404 (and is logged).
 */
void resp_file(struct req *r, const struct file_info *f, const char *data_dir, int inline_ok);

/* Standard context every page gets (user, csrf, site); ctx borrowed. */
void page_ctx_fill(struct req *r, json_t *ctx);
/* Client address as seen through the trusted proxy. */
const char *req_ip(struct req *r);

/* Security headers and cookies are set in one place: http.c resp_finish(). */

/* Sessions are implemented in auth.c; http.c calls this to fill r->who. */
int auth_load_session(struct req *r);
/*
 * RF_TOKEN routes without a session: a department API token in
 * "Authorization: Bearer ..." fills r->who.token_* (auth.c).  0 when there
 * is none or it is good; 1 when it was refused (answered 401 with the
 * reason, audited "token.reject"); -1 on a store failure.
 */
int auth_load_token(struct req *r);

#endif
