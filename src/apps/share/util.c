/*
 * Helpers of the share application (declared in share_int.h): the
 * department a caller acts for, and what a department may read of a
 * registry (share_right_for), which every reading path of the application
 * asks: the sharing API, registry pages, verification.
 */
#include "apps/share/share_int.h"
#include "core/calendar.h"
#include "core/log.h"
#include "core/xalloc.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ------------------------------------------------------------ acting dept */

/* The departments where the user holds any role, lowest id first. */
static const char sql_user_depts[] =
	"SELECT DISTINCT dept_id FROM user_roles WHERE user_id = $1 ORDER BY dept_id";

static int64_t wanted_dept(struct req *r)
{
	const char *s = NULL;
	json_t *v = r->in != NULL ? json_object_get(r->in, "dept") : NULL;
	if (json_is_integer(v))
		return json_integer_value(v);
	if (json_is_string(v))
		s = json_string_value(v);
	if (s == NULL)
		s = req_query(r, "dept");
	if (s == NULL || *s == '\0')
		return 0;
	char *end = NULL;
	long long n = strtoll(s, &end, 10);
	return end != s && *end == '\0' && n > 0 ? (int64_t)n : 0;
}

int64_t share_acting_dept(struct req *r)
{
	if (r->who.token_id > 0)
		return r->who.token_dept;
	if (r->who.user_id == 0 || r->who.half || r->who.kind != ACCT_STAFF)
		return 0;
	struct store_res *res = NULL;
	struct sval p[] = { SVI(r->who.user_id) };
	if (store_query(r->st, sql_user_depts, p, 1, &res) != STORE_OK)
		return 0;
	int64_t want = wanted_dept(r), first = 0;
	int n = store_res_rows(res);
	for (int i = 0; i < n; i++) {
		int64_t d = store_res_int(res, i, 0);
		if (i == 0)
			first = d;
		if (want != 0 && d == want) {
			first = d;
			break;
		}
	}
	store_res_free(res);
	return first;
}

/* ------------------------------------------------------------ rights */

/* The newest active grant first; share_grants_grantee is the index. */
static const char sql_active[] =
	"SELECT id, fields, purpose FROM share_grants WHERE grantee_dept_id = $1 AND registry_id = $2 "
	"AND revoked_at IS NULL AND expires > $3 ORDER BY id DESC";
/* Only when none is active: why not (the newest grant, expired or revoked). */
static const char sql_newest[] =
	"SELECT revoked_at FROM share_grants WHERE grantee_dept_id = $1 AND registry_id = $2 "
	"ORDER BY id DESC LIMIT 1";

/* 1 when name is one of the comma-separated names of list. */
static int in_list(const char *list, const char *name)
{
	size_t n = strlen(name);
	const char *p = list;
	while (p != NULL && *p != '\0') {
		const char *c = strchr(p, ',');
		size_t len = c != NULL ? (size_t)(c - p) : strlen(p);
		if (len == n && memcmp(p, name, n) == 0)
			return 1;
		p = c != NULL ? c + 1 : NULL;
	}
	return 0;
}

static void today_text(char out[11])
{
	cal_day_format(cal_day_of(time(NULL)), out);
}

int share_right_for(struct store *st, struct arena *a, int64_t dept_id, const struct registry *reg,
		    struct share_right *out)
{
	const struct reg_def *d = &reg->def;
	struct store_res *res = NULL;
	int rc = -1;

	memset(out, 0, sizeof *out);
	out->fields = arena_alloc(a, sizeof(char *) * ((size_t)d->nfields + 1));
	out->why = MSG_NONE;
	if (dept_id > 0 && dept_id == reg->owner_dept_id) {
		for (int i = 0; i < d->nfields; i++)
			out->fields[out->nfields++] = d->fields[i].name;
		out->owner = 1;
		out->unmasked = 1;
		out->basis = "owner";
		return 0;
	}
	if (d->share == RS_NONE || dept_id <= 0) {
		out->why = d->share == RS_NONE ? MSG_SHARE_NOT_SHARED : MSG_SHARE_NO_GRANT;
		return 0;
	}
	/* Grants: the union of the active ones' fields, the newest one's basis. */
	char today[11];
	today_text(today);
	struct sval p[] = { SVI(dept_id), SVI(reg->id), SVT(today) };
	if (store_query(st, sql_active, p, 3, &res) != STORE_OK)
		goto out;
	int ng = store_res_rows(res);
	if (ng > 0) {
		out->grant_id = store_res_int(res, 0, 0);
		out->basis = arena_printf(a, "grant:%lld", (long long)out->grant_id);
		out->purpose = arena_strdup(a, store_res_text(res, 0, 2));
		out->unmasked = 1;
	}
	int any_conditional = 0;
	for (int i = 0; i < d->nfields; i++) {
		const struct reg_field *f = &d->fields[i];
		if (f->share == RS_CONDITIONAL)
			any_conditional = 1;
		int ok = f->share == RS_UNCONDITIONAL;
		for (int g = 0; !ok && g < ng && f->share != RS_NONE; g++)
			ok = in_list(store_res_text(res, g, 1) ? store_res_text(res, g, 1) : "", f->name);
		if (ok)
			out->fields[out->nfields++] = f->name;
	}
	store_res_free(res);
	res = NULL;
	if (ng > 0) {
		rc = 0;
		goto out;
	}
	if (out->nfields > 0)
		out->basis = "unconditional";
	if (!any_conditional) {
		/* Everything readable is unconditional; what is left is 不予共享. */
		out->why = out->nfields > 0 ? MSG_NONE : MSG_SHARE_NOT_SHARED;
		rc = 0;
		goto out;
	}
	/* Why there is no grant: none ever, the newest expired, or revoked. */
	struct sval q[] = { SVI(dept_id), SVI(reg->id) };
	if (store_query(st, sql_newest, q, 2, &res) != STORE_OK)
		goto out;
	if (store_res_rows(res) == 0)
		out->why = MSG_SHARE_NO_GRANT;
	else if (!store_res_isnull(res, 0, 0))
		out->why = MSG_SHARE_GRANT_REVOKED;
	else
		out->why = MSG_SHARE_GRANT_EXPIRED;
	rc = 0;
out:
	store_res_free(res);
	out->fields[out->nfields] = NULL;
	return rc;
}
