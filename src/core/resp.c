/*
 * resp: the answers a handler gives, and the one place where security
 * headers and cookies are set (resp_send).
 */
#include "core/conf.h"
#include "core/http.h"
#include "core/http_int.h"
#include "core/log.h"
#include "core/tmpl.h"
#include "core/xalloc.h"

#include "core/files.h"

#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CSP "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; " \
	    "object-src 'none'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"

int http_is_api_path(const char *path)
{
	return strncmp(path, "/api/", 5) == 0;
}

static int resp_claim(struct req *r)
{
	if (r->answered)
		return 0;
	r->answered = 1;
	buf_reset(&r->out);
	/* An answer replaced (a failed commit after resp_file) drops what it set. */
	if (r->has_fd) {
		close(r->resp_fd);
		r->has_fd = 0;
	}
	r->cache_control = NULL;
	r->csp = NULL;
	return 1;
}

void resp_json(struct req *r, int status, json_t *body)
{
	if (!resp_claim(r)) {
		json_decref(body);
		return;
	}
	char *s = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	r->status = status;
	r->ctype = "application/json; charset=utf-8";
	if (s == NULL || buf_addstr(&r->out, s) < 0) {
		free(s);
		r->status = 500;
		buf_reset(&r->out);
		buf_addstr(&r->out, "{\"error\":{\"code\":\"HTTP_500\"}}");
		return;
	}
	free(s);
}

void page_ctx_fill(struct req *r, json_t *ctx)
{
	const struct principal *w = &r->who;
	json_object_set_new(ctx, "path", json_string(r->path));
	if (r->route != NULL && r->route->form_tmpl != NULL && json_object_get(ctx, "values") == NULL &&
	    r->in != NULL && r->method == HM_GET)
		json_object_set(ctx, "values", r->in);
	if (w->csrf != NULL)
		json_object_set_new(ctx, "csrf", json_string(w->csrf));
	/* chosen.<field>.<value> = true for short keyword values, so logic-less
	 * templates can mark the selected radio button or option. */
	json_t *values = json_object_get(ctx, "values");
	if (json_is_object(values) && json_object_get(ctx, "chosen") == NULL) {
		json_t *chosen = json_object();
		const char *k;
		json_t *v;
		json_object_foreach(values, k, v) {
			const char *s = json_string_value(v);
			size_t n = s ? strlen(s) : 0;
			if (n == 0 || n > 32 || strspn(s, "abcdefghijklmnopqrstuvwxyz_") != n)
				continue;
			json_t *o = json_object();
			json_object_set_new(o, s, json_true());
			json_object_set_new(chosen, k, o);
		}
		json_object_set_new(ctx, "chosen", chosen);
	}
	if (w->user_id != 0 && !w->half) {
		json_t *u = json_object();
		json_object_set_new(u, "id", json_integer(w->user_id));
		json_object_set_new(u, "login", json_string(w->login ? w->login : ""));
		json_object_set_new(u, "name", json_string(w->name ? w->name : ""));
		json_object_set_new(u, "is_staff", json_boolean(w->kind == ACCT_STAFF));
		json_object_set_new(u, "is_person",
				    json_boolean(w->kind == ACCT_CITIZEN || w->kind == ACCT_ENTERPRISE));
		json_object_set_new(u, "is_enterprise", json_boolean(w->kind == ACCT_ENTERPRISE));
		json_object_set_new(u, "is_dept_admin",
				    json_boolean(w->roles & (ROLEBIT_DEPT_ADMIN | ROLEBIT_PLATFORM_ADMIN)));
		json_object_set_new(u, "is_admin", json_boolean(w->roles & ROLEBIT_PLATFORM_ADMIN));
		json_object_set_new(ctx, "user", u);
	}
}

static void render_into(struct req *r, int status, const char *tmpl, json_t *ctx)
{
	const struct tmpl_set *ts = http_ctx()->tmpl;
	struct buf body = BUF_INIT(4u << 20);
	page_ctx_fill(r, ctx);
	r->ctype = "text/html; charset=utf-8";
	if (tmpl_render(ts, tmpl, ctx, &body) != 0) {
		log_error("render %s failed", tmpl);
		status = 500;
		buf_reset(&body);
		buf_add_html(&body, msg(MSG_HTTP_500), strlen(msg(MSG_HTTP_500)));
	}
	json_object_set_new(ctx, "content_html", json_stringn(body.data ? body.data : "", body.len));
	buf_release(&body);
	r->status = status;
	if (tmpl_render(ts, "core/layout", ctx, &r->out) != 0) {
		log_error("render core/layout failed");
		r->status = 500;
		buf_reset(&r->out);
		buf_addstr(&r->out, "<!doctype html><title>500</title><p>");
		buf_add_html(&r->out, msg(MSG_HTTP_500), strlen(msg(MSG_HTTP_500)));
	}
}

void resp_page(struct req *r, int status, const char *tmpl, json_t *ctx)
{
	if (!resp_claim(r)) {
		json_decref(ctx);
		return;
	}
	render_into(r, status, tmpl, ctx);
	json_decref(ctx);
}

void resp_redirect(struct req *r, const char *location)
{
	if (!resp_claim(r))
		return;
	r->status = 303;
	r->location = arena_strdup(r->arena, location);
	r->ctype = "text/plain; charset=utf-8";
}

static enum msg_id status_msg(int status)
{
	switch (status) {
	case 400: return MSG_HTTP_400;
	case 401: return MSG_HTTP_401;
	case 403: return MSG_HTTP_403;
	case 404: return MSG_HTTP_404;
	case 405: return MSG_HTTP_405;
	case 409: return MSG_HTTP_409;
	case 413: return MSG_HTTP_413;
	case 415: return MSG_HTTP_415;
	case 429: return MSG_HTTP_429;
	case 503: return MSG_HTTP_503;
	default: return MSG_HTTP_500;
	}
}

void resp_error(struct req *r, int status, enum msg_id why, const char *field)
{
	if (why == MSG_NONE)
		why = status_msg(status);
	if (r->is_api || r->answered) {
		json_t *e = json_pack("{s:{s:s,s:s,s:s?}}", "error", "code", msg_name(why), "message",
				      msg(why), "field", (field && *field) ? field : NULL);
		resp_json(r, status, e);
		return;
	}
	if (!resp_claim(r))
		return;
	json_t *ctx = json_pack("{s:s,s:i}", "title", msg(status_msg(status)), "status", status);
	if (why != status_msg(status))
		json_object_set_new(ctx, "message", json_string(msg(why)));
	if (field && *field)
		json_object_set_new(ctx, "field", json_string(field));
	render_into(r, status, "core/error", ctx);
	json_decref(ctx);
}

void resp_input_error(struct req *r, const struct input_error *e)
{
	const char *label = NULL;
	if (r->route != NULL && r->route->fields != NULL)
		for (const struct field_spec *f = r->route->fields; f->name; f++)
			if (strcmp(f->name, e->field) == 0)
				label = f->label;
	if (r->is_api || r->route == NULL || r->route->form_tmpl == NULL) {
		if (!r->is_api && label != NULL) {
			/* A page without its own form template: say which field in words. */
			json_t *ctx = json_pack("{s:s,s:s,s:i,s:s}", "title", msg(MSG_HTTP_400),
						"message", msg(e->msg), "status", e->status, "field",
						label);
			if (resp_claim(r))
				render_into(r, e->status, "core/error", ctx);
			json_decref(ctx);
			return;
		}
		if (r->is_api && e->detail[0]) {
			json_t *j = json_pack("{s:{s:s,s:s,s:s,s:s}}", "error", "code", msg_name(e->msg), "message",
					      msg(e->msg), "field", e->field, "detail", e->detail);
			resp_json(r, e->status, j);
			return;
		}
		resp_error(r, e->status, e->msg, e->field);
		return;
	}
	if (!resp_claim(r))
		return;
	/* The answer is a 4xx: the handler's transaction will not commit, and after a
	 * failed statement it refuses further reads, so end it before the form's
	 * context is read again. */
	if (r->st != NULL && store_in_tx(r->st))
		store_rollback(r->st);
	json_t *ctx = json_object();
	if (r->idem_key != NULL)
		json_object_set_new(ctx, "idem", json_string(r->idem_key));
	const char *text = e->detail[0] ? e->detail : msg(e->msg);
	json_t *err = json_pack("{s:s,s:s}", "field", e->field, "message", text);
	if (label)
		json_object_set_new(err, "label", json_string(label));
	json_object_set_new(ctx, "error", err);
	json_t *errs = json_object();
	if (e->field[0])
		json_object_set_new(errs, e->field, json_string(text));
	json_object_set_new(ctx, "errors", errs);
	/* Give back what the person typed, never passwords. */
	json_t *values = json_object();
	if (r->in != NULL && r->route->fields != NULL) {
		for (const struct field_spec *f = r->route->fields; f->name; f++) {
			json_t *v = json_object_get(r->in, f->name);
			if (v != NULL && f->type != FT_PASSWORD)
				json_object_set(values, f->name, v);
		}
	}
	json_object_set_new(ctx, "values", values);
	if (r->route->form_fill != NULL)
		r->route->form_fill(r, ctx);
	render_into(r, e->status, r->route->form_tmpl, ctx);
	json_decref(ctx);
}

void resp_cookie(struct req *r, const char *name, const char *value, int max_age)
{
	if (r->ncookies == (int)(sizeof r->set_cookie / sizeof r->set_cookie[0]))
		return;
	const char *mode = http_ctx()->conf->cookie_secure;
	int secure = strcmp(mode, "always") == 0 || (strcmp(mode, "auto") == 0 && r->https);
	if (max_age < 0)
		r->set_cookie[r->ncookies++] = arena_printf(
			r->arena, "%s=%s; Path=/; HttpOnly; SameSite=Strict%s", name, value,
			secure ? "; Secure" : "");
	else
		r->set_cookie[r->ncookies++] = arena_printf(
			r->arena, "%s=%s; Path=/; Max-Age=%d; HttpOnly; SameSite=Strict%s", name,
			value, max_age, secure ? "; Secure" : "");
}

/* The one function that sets security headers on dynamic answers. */
int resp_send(struct req *r)
{
	struct MHD_Connection *c = r->conn;
	size_t len = 0;
	struct MHD_Response *resp;
	if (r->has_fd) {
		/* resp_file: libmicrohttpd reads the file and closes the descriptor. */
		resp = MHD_create_response_from_fd64(r->resp_fd_len, r->resp_fd);
		if (resp == NULL)
			return MHD_NO;   /* r->has_fd stays: req_free closes it */
		r->has_fd = 0;
		len = (size_t)r->resp_fd_len;
	} else {
		char *data = buf_detach(&r->out, &len);
		resp = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
		if (resp == NULL) {
			free(data);
			return MHD_NO;
		}
	}
	MHD_add_response_header(resp, "Content-Type", r->ctype ? r->ctype : "text/plain; charset=utf-8");
	MHD_add_response_header(resp, "Cache-Control", r->cache_control ? r->cache_control : "no-store");
	MHD_add_response_header(resp, "Content-Security-Policy", r->csp ? r->csp : CSP);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, "Referrer-Policy", "same-origin");
	MHD_add_response_header(resp, "X-Request-Id", r->id);
	if (r->https)
		MHD_add_response_header(resp, "Strict-Transport-Security", "max-age=31536000");
	if (r->location)
		MHD_add_response_header(resp, "Location", r->location);
	for (int i = 0; i < r->ncookies; i++)
		MHD_add_response_header(resp, "Set-Cookie", r->set_cookie[i]);
	for (int i = 0; i < r->nextra; i++)
		MHD_add_response_header(resp, r->extra_hdr_name[i], r->extra_hdr_val[i]);
	r->sent = len;   /* for the access log */
	enum MHD_Result ret = MHD_queue_response(c, (unsigned)r->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* ---------- stored files ---------- */

/* A stored file is never a page: nothing in it may run.  Chrome shows a PDF
 * through a plugin in a generated page with inline styles, so those two are
 * allowed; scripts, frames of other sites and forms are not. */
#define FILE_CSP "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; object-src 'self'; " \
		 "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

/* Types a browser may show in place (never HTML, SVG or text). */
static int inline_type(const char *mime)
{
	static const char *const ok[] = { "image/jpeg", "image/png", "image/gif", "image/webp",
					  "application/pdf" };
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
		if (strcmp(mime, ok[i]) == 0)
			return 1;
	return 0;
}

/* Content-Disposition with an ASCII fallback name and the RFC 5987/6266 UTF-8 name. */
static const char *disposition(struct req *r, const char *name, int in_place)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(name);
	char *ascii = arena_alloc(r->arena, n + 1), *pct = arena_alloc(r->arena, n * 3 + 1);
	size_t a = 0, p = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)name[i];
		/* A multi-byte character becomes one '_' in the fallback. */
		if (ch >= 0x80) {
			if ((ch & 0xC0u) != 0x80u)
				ascii[a++] = '_';
		} else {
			ascii[a++] = (ch < 0x20 || ch == 0x7f || ch == '"' || ch == '\\') ? '_' : (char)ch;
		}
		if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		    strchr("!#$&+-.^_`|~", ch) != NULL) {
			pct[p++] = (char)ch;
		} else {
			pct[p++] = '%';
			pct[p++] = hex[ch >> 4];
			pct[p++] = hex[ch & 15];
		}
	}
	ascii[a] = '\0';
	pct[p] = '\0';
	return arena_printf(r->arena, "%s; filename=\"%s\"; filename*=UTF-8''%s",
			    in_place ? "inline" : "attachment", ascii, pct);
}

void resp_file(struct req *r, const struct file_info *f, const char *data_dir, int inline_ok)
{
	char *path = files_path(data_dir, f->sha256);
	int fd = path != NULL ? open(path, O_RDONLY | O_CLOEXEC) : -1;
	struct stat sb;
	if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		log_error("file %lld: %s: %s", (long long)f->id, path ? path : "(bad sha256)",
			  fd < 0 ? strerror(errno) : "not a regular file");
		if (fd >= 0)
			close(fd);
		free(path);
		resp_error(r, 404, MSG_HTTP_404, NULL);
		return;
	}
	free(path);
	if (!resp_claim(r)) {
		close(fd);
		return;
	}
	const char *mime = f->mime ? f->mime : "application/octet-stream";
	r->status = 200;
	r->ctype = arena_strdup(r->arena, mime);
	r->resp_fd = fd;
	r->resp_fd_len = (uint64_t)sb.st_size;
	r->has_fd = 1;
	r->cache_control = "private";
	r->csp = FILE_CSP;
	if (r->nextra < (int)(sizeof r->extra_hdr_name / sizeof r->extra_hdr_name[0])) {
		r->extra_hdr_name[r->nextra] = "Content-Disposition";
		r->extra_hdr_val[r->nextra++] =
			disposition(r, f->name && *f->name ? f->name : "file", inline_ok && inline_type(mime));
	}
}

/* Static responses share the security headers; see http.c static_init. */
void resp_static_headers(void *mhd_response)
{
	struct MHD_Response *resp = mhd_response;
	MHD_add_response_header(resp, "Content-Security-Policy", CSP);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
}
