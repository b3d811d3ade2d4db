/*
 * libFuzzer target: the request edge of yizhan.  The input is read as a raw
 * HTTP request (request line, headers, blank line, body); the path goes
 * through the router with every portal route registered, the Cookie header
 * through cookie_get, the query string and the body through form_parse or
 * json_body_parse (by Content-Type), and the result through input_check
 * against the matched route's field specification — the same steps the
 * server takes after libmicrohttpd has split the request.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "apps/portal/portal.h"
#include "core/http.h"
#include "core/http_int.h"
#include "core/input.h"
#include "core/xalloc.h"

static int registered;

static const char *find_header(const char *head, size_t len, const char *name, size_t *vlen)
{
	size_t n = strlen(name);
	for (size_t i = 0; i + n + 1 < len; i++) {
		if ((i == 0 || head[i - 1] == '\n') && strncasecmp(head + i, name, n) == 0 &&
		    head[i + n] == ':') {
			const char *v = head + i + n + 1;
			while (v < head + len && *v == ' ')
				v++;
			const char *e = v;
			while (e < head + len && *e != '\r' && *e != '\n')
				e++;
			*vlen = (size_t)(e - v);
			return v;
		}
	}
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!registered) {
		http_add_routes(portal_routes);
		http_add_routes(portal_api_routes);
		registered = 1;
	}
	char *text = xstrndup((const char *)data, size);
	size_t len = strlen(text);
	char *sep = strstr(text, "\r\n\r\n");
	size_t head_len = sep ? (size_t)(sep - text) : len;
	const char *body = sep ? sep + 4 : "";
	size_t body_len = sep ? len - head_len - 4 : 0;

	/* Request line: METHOD SP TARGET SP VERSION */
	char method[16] = "", target[2048] = "";
	const char *sp1 = memchr(text, ' ', head_len);
	if (sp1 != NULL && (size_t)(sp1 - text) < sizeof method) {
		memcpy(method, text, (size_t)(sp1 - text));
		const char *sp2 = memchr(sp1 + 1, ' ', head_len - (size_t)(sp1 + 1 - text));
		size_t tl = sp2 ? (size_t)(sp2 - sp1 - 1) : 0;
		if (tl < sizeof target)
			memcpy(target, sp1 + 1, tl);
	}
	static const char *const names[] = { "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE" };
	enum http_method m = HM_GET;
	for (int i = 0; i < HM__MAX; i++)
		if (strcmp(method, names[i]) == 0)
			m = (enum http_method)i;

	char *q = strchr(target, '?');
	if (q != NULL)
		*q++ = '\0';
	struct req r;
	memset(&r, 0, sizeof r);
	r.arena = arena_new();
	int pm = 0;
	const struct route *rt = target[0] == '/' ? router_match(&r, m, target, &pm) : NULL;

	size_t clen = 0;
	const char *cookie = find_header(text, head_len, "Cookie", &clen);
	if (cookie != NULL) {
		char *c = xstrndup(cookie, clen), out[80];
		cookie_get(c, "yz_sid", out, sizeof out);
		cookie_get(c, "yz_pre", out, sizeof out);
		free(c);
	}

	json_t *in = NULL;
	struct input_error e = { 0 };
	int from_form = 1, rc;
	size_t tlen = 0;
	const char *ctype = find_header(text, head_len, "Content-Type", &tlen);
	if (m == HM_GET || m == HM_HEAD || m == HM_DELETE)
		rc = form_parse(q ? q : "", q ? strlen(q) : 0, &in, &e);
	else if (ctype != NULL && tlen >= 16 && strncasecmp(ctype, "application/json", 16) == 0) {
		from_form = 0;
		rc = json_body_parse(body, body_len, &in, &e);
	} else
		rc = form_parse(body, body_len, &in, &e);
	if (rc == 0 && rt != NULL && rt->fields != NULL) {
		json_object_del(in, "_csrf");
		json_object_del(in, "_idem");
		input_check(rt->fields, in, from_form, &e);
	}
	json_decref(in);
	arena_free(r.arena);
	free(text);
	return 0;
}
