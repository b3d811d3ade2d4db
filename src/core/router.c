/*
 * router: matches a method and a path against the registered route tables.
 * Patterns are split into segments once, at registration; "{name}" segments
 * capture one path segment.  Matching is a linear scan over the compiled
 * routes, which for the few hundred routes of the platform costs well under
 * a microsecond per request.
 */
#include "core/http.h"
#include "core/http_int.h"
#include "core/log.h"
#include "core/xalloc.h"

#include <stdlib.h>
#include <string.h>

#define ROUTE_MAX_SEG 12
#define ROUTE_MAX 512

struct seg {
	const char *s;
	size_t len;
	int param;
};

struct croute {
	const struct route *r;
	int nseg;
	struct seg seg[ROUTE_MAX_SEG];
};

static struct croute routes[ROUTE_MAX];
static size_t nroutes;

static int split(const char *path, struct seg *segs, int max)
{
	int n = 0;
	const char *p = path;
	if (*p != '/')
		return -1;
	while (*p == '/') {
		p++;
		if (*p == '\0')
			break;
		const char *e = strchr(p, '/');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		if (n == max)
			return -1;
		segs[n].s = p;
		segs[n].len = len;
		segs[n].param = len >= 2 && p[0] == '{' && p[len - 1] == '}';
		n++;
		p += len;
	}
	return n;
}

void http_add_routes(const struct route *table)
{
	for (const struct route *r = table; r->path != NULL; r++) {
		if (nroutes == ROUTE_MAX) {
			log_error("router: more than %d routes", ROUTE_MAX);
			abort();
		}
		struct croute *c = &routes[nroutes];
		c->r = r;
		c->nseg = split(r->path, c->seg, ROUTE_MAX_SEG);
		if (c->nseg < 0) {
			log_error("router: bad route pattern %s", r->path);
			abort();
		}
		nroutes++;
	}
}

const struct route *http_route_at(size_t i)
{
	return i < nroutes ? routes[i].r : NULL;
}

/*
 * Finds the route for method and path.  Returns the route, or NULL with
 * *path_matched set when some route has this path but another method.
 */
const struct route *router_match(struct req *r, enum http_method m, const char *path,
				 int *path_matched)
{
	struct seg segs[ROUTE_MAX_SEG];
	int n = split(path, segs, ROUTE_MAX_SEG);
	*path_matched = 0;
	if (n < 0)
		return NULL;
	enum http_method want = m == HM_HEAD ? HM_GET : m;
	for (size_t i = 0; i < nroutes; i++) {
		const struct croute *c = &routes[i];
		if (c->nseg != n)
			continue;
		int ok = 1, np = 0;
		for (int k = 0; k < n && ok; k++) {
			if (c->seg[k].param) {
				if (segs[k].len == 0 || np == REQ_MAX_PARAMS)
					ok = 0;
				np++;
			} else if (c->seg[k].len != segs[k].len ||
				   memcmp(c->seg[k].s, segs[k].s, segs[k].len) != 0) {
				ok = 0;
			}
		}
		if (!ok)
			continue;
		if (c->r->method != want) {
			*path_matched = 1;
			continue;
		}
		r->nparams = 0;
		for (int k = 0; k < n; k++) {
			if (!c->seg[k].param)
				continue;
			r->param_name[r->nparams] =
				arena_strndup(r->arena, c->seg[k].s + 1, c->seg[k].len - 2);
			r->param_val[r->nparams] = arena_strndup(r->arena, segs[k].s, segs[k].len);
			r->nparams++;
		}
		return c->r;
	}
	return NULL;
}
