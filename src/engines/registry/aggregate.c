/*
 * aggregate: a count or a sum over the records whose match field equals a
 * value (registry_aggregate in registry.h).  Verifications (授权核查) ask
 * questions such as "how many vehicles does this person own" or "do their
 * deposits reach 30,000 yuan" through it, so that the answer, never the
 * records, leaves the engine.
 *
 * The SQL is generated per registry, match field and sum field, and
 * interned (reg_sql_intern) so that the store's statement cache keyed by
 * address works:
 *   SELECT COUNT(*) FROM reg_x WHERE "m" = $1
 *   SELECT COUNT(*), SUM("s") FROM reg_x WHERE "m" = $1
 * The match field should be indexed (idcard and uscc fields always are).
 */
#include "engines/registry/registry_int.h"

#include "core/log.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void set_err(struct reg_error *e, enum msg_id why, const char *field, const char *detail)
{
	e->why = why;
	snprintf(e->field, sizeof e->field, "%s", field ? field : "");
	snprintf(e->detail, sizeof e->detail, "%s", detail ? detail : "");
}

/* "-12" -> -12 exactly (the whole text, no spaces, within int64); 0 or -1. */
static int parse_i64(const char *s, int64_t *out)
{
	if (s == NULL || *s == '\0')
		return -1;
	char *end = NULL;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0')
		return -1;
	*out = (int64_t)v;
	return 0;
}

/*
 * The canonical text of a decimal ("-1234.50", exactly scale fraction
 * digits; no point when scale is 0) as its stored integer count of
 * 10^-scale units.  0 or -1 (malformed, out of range).
 */
static int decimal_units(const char *canon, int scale, int64_t *out)
{
	const char *p = canon;
	int neg = 0, frac = -1;
	uint64_t v = 0;
	if (*p == '-') {
		neg = 1;
		p++;
	}
	if (*p < '0' || *p > '9')
		return -1;
	for (; *p; p++) {
		if (*p == '.') {
			if (frac >= 0)
				return -1;
			frac = 0;
			continue;
		}
		if (*p < '0' || *p > '9')
			return -1;
		if (v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*p - '0');
		if (frac >= 0)
			frac++;
	}
	if (frac < 0)
		frac = 0;
	if (frac > scale)
		return -1;
	for (; frac < scale; frac++) {
		if (v > UINT64_MAX / 10)
			return -1;
		v *= 10;
	}
	if (v > (uint64_t)INT64_MAX)
		return -1;
	*out = neg ? -(int64_t)v : (int64_t)v;
	return 0;
}

/* The stored (bound) form of the canonical value of field f; 0 or -1. */
static int stored_value(const struct reg_field *f, const char *canon, struct sval *out)
{
	int64_t n;
	switch (f->type) {
	case RT_INTEGER:
		if (parse_i64(canon, &n) != 0)
			return -1;
		*out = SVI(n);
		return 0;
	case RT_DECIMAL:
		if (decimal_units(canon, f->scale, &n) != 0)
			return -1;
		*out = SVI(n);
		return 0;
	case RT_BOOL:
		*out = SVI(strcmp(canon, "true") == 0 ? 1 : 0);
		return 0;
	default:
		*out = SVT(canon);
		return 0;
	}
}

int registry_aggregate(struct store *st, const struct registry *reg, const char *match_field,
		       const char *value, const char *sum_field, char *out, size_t cap,
		       struct reg_error *e)
{
	struct store_res *res = NULL;
	int rc = -1;
	set_err(e, MSG_NONE, NULL, NULL);
	if (cap > 0)
		out[0] = '\0';
	if (reg == NULL || match_field == NULL || out == NULL || cap == 0) {
		set_err(e, MSG_HTTP_500, NULL, NULL);
		return -1;
	}
	int mi = reg_field_index(&reg->def, match_field);
	if (mi < 0) {
		set_err(e, MSG_REG_UNKNOWN_FIELD, match_field, NULL);
		return -1;
	}
	const struct reg_field *mf = &reg->def.fields[mi], *sf = NULL;
	if (sum_field != NULL) {
		int si = reg_field_index(&reg->def, sum_field);
		if (si < 0) {
			set_err(e, MSG_REG_UNKNOWN_FIELD, sum_field, NULL);
			return -1;
		}
		sf = &reg->def.fields[si];
		if (sf->type != RT_INTEGER && sf->type != RT_DECIMAL) {
			set_err(e, MSG_VERIFY_SUM_NOT_NUMERIC, sum_field, NULL);
			return -1;
		}
	}

	char canon[REG_VALUE_MAX + 1];
	int is_null = 0;
	enum msg_id why = reg_value_check(mf, value, canon, sizeof canon, &is_null);
	if (why != MSG_NONE) {
		set_err(e, why, match_field, NULL);
		return -1;
	}
	if (is_null) {
		/* "= NULL" matches nothing: asking about nobody is a mistake, not a zero */
		set_err(e, MSG_REG_REQUIRED, match_field, NULL);
		return -1;
	}
	struct sval p[1];
	if (stored_value(mf, canon, p) != 0) {
		set_err(e, MSG_FIELD_BAD_FORMAT, match_field, NULL);
		return -1;
	}

	char sql[512];
	int n = sf ? snprintf(sql, sizeof sql, "SELECT COUNT(*), SUM(\"%s\") FROM %s WHERE \"%s\" = $1", sf->name,
			      reg->sql->table, mf->name)
		   : snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM %s WHERE \"%s\" = $1", reg->sql->table,
			      mf->name);
	if (n < 0 || (size_t)n >= sizeof sql) {
		set_err(e, MSG_HTTP_500, NULL, NULL);
		return -1;
	}
	if (store_query(st, reg_sql_intern(sql), p, 1, &res) != STORE_OK || store_res_rows(res) != 1) {
		set_err(e, MSG_HTTP_500, NULL, NULL);
		goto out;
	}
	char answer[REG_VALUE_MAX + 1];
	if (sf == NULL) {
		snprintf(answer, sizeof answer, "%" PRId64, store_res_int(res, 0, 0));
	} else {
		/* SUM of no rows is NULL: the answer is zero.  PostgreSQL gives a
		 * bigint's sum as numeric text; either way it must be an integer. */
		const char *text = store_res_isnull(res, 0, 1) ? "0" : store_res_text(res, 0, 1);
		int64_t sum;
		if (parse_i64(text, &sum) != 0) {
			log_error("registry %s: sum of %s out of range: %.40s", reg->def.code, sf->name, text);
			set_err(e, MSG_HTTP_500, sum_field, NULL);
			goto out;
		}
		char stored[32];
		snprintf(stored, sizeof stored, "%" PRId64, sum);
		reg_value_format(sf, stored, answer, sizeof answer);
	}
	if (strlen(answer) >= cap) {
		set_err(e, MSG_HTTP_500, NULL, NULL);
		goto out;
	}
	memcpy(out, answer, strlen(answer) + 1);
	rc = 0;
out:
	store_res_free(res);
	return rc;
}
