/* Department API tokens: see apitoken.h. */
#include "core/apitoken.h"
#include "core/log.h"
#include "core/xalloc.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PREFIX "yzt_"
#define LAST_USED_GRANULARITY 60   /* seconds: last_used_at is refreshed at most once a minute */

static const char b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

enum tok_stmt { S_INSERT, S_BY_ID, S_USED, S_REVOKE, S_LIST, S_NAME_TAKEN, S__MAX };

static const char *const sql[S__MAX] = {
	[S_INSERT] = "INSERT INTO api_tokens (dept_id, name, scopes, hash, expires_at, created_by, created_at) "
		     "VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
	[S_BY_ID] = "SELECT dept_id, name, scopes, hash, expires_at, revoked_at, last_used_at "
		    "FROM api_tokens WHERE id = $1",
	[S_USED] = "UPDATE api_tokens SET last_used_at = $2 WHERE id = $1",
	[S_REVOKE] = "UPDATE api_tokens SET revoked_at = $3, revoked_by = $4 "
		     "WHERE id = $1 AND dept_id = $2 AND revoked_at IS NULL",
	[S_LIST] = "SELECT t.id, t.name, t.scopes, t.expires_at, t.created_at, u.name, t.last_used_at, "
		   "t.revoked_at FROM api_tokens t LEFT JOIN users u ON u.id = t.created_by "
		   "WHERE t.dept_id = $1 ORDER BY t.id DESC LIMIT 500",
	[S_NAME_TAKEN] = "SELECT COUNT(*) FROM api_tokens WHERE dept_id = $1 AND name = $2 AND revoked_at IS NULL",
};

void apitoken_info_clear(struct apitoken_info *t)
{
	free(t->name);
	free(t->scopes);
	memset(t, 0, sizeof *t);
}

const char *apitoken_rc_name(enum apitoken_rc rc)
{
	switch (rc) {
	case APITOKEN_OK: return "ok";
	case APITOKEN_MALFORMED: return "malformed";
	case APITOKEN_UNKNOWN: return "unknown";
	case APITOKEN_REVOKED: return "revoked";
	case APITOKEN_EXPIRED: return "expired";
	case APITOKEN_ERROR: return "error";
	}
	return "error";
}

/* Splits a token: 0 with *id and *secret pointing into token, -1 when malformed. */
static int split(const char *token, int64_t *id, const char **secret)
{
	if (token == NULL || strncmp(token, PREFIX, strlen(PREFIX)) != 0)
		return -1;
	const char *p = token + strlen(PREFIX), *digits = p;
	int64_t v = 0;
	while (*p >= '0' && *p <= '9') {
		if (p - digits >= 18)
			return -1;
		v = v * 10 + (*p - '0');
		p++;
	}
	if (p == digits || *digits == '0' || *p != '_')
		return -1;
	p++;
	size_t n = strlen(p);
	if (n != APITOKEN_SECRET_LEN || strspn(p, b32) != n)
		return -1;
	*id = v;
	*secret = p;
	return 0;
}

int apitoken_parse(const char *token, int64_t *id)
{
	const char *secret;
	return split(token, id, &secret);
}

/* Keyed hash of a secret as hex (65 bytes). */
static void secret_hash(const struct keys *k, const char *secret, char out[65])
{
	static const char domain[] = "yizhan-apitoken";
	unsigned char h[32];
	crypto_generichash_state s;
	crypto_generichash_init(&s, k->seal, sizeof k->seal, sizeof h);
	crypto_generichash_update(&s, (const unsigned char *)domain, sizeof domain);  /* with its NUL */
	crypto_generichash_update(&s, (const unsigned char *)secret, strlen(secret));
	crypto_generichash_final(&s, h, sizeof h);
	sodium_bin2hex(out, 65, h, sizeof h);
	sodium_memzero(h, sizeof h);
}

static int code_ok(const char *s, size_t n)
{
	if (n == 0 || n >= 32 || s[0] < 'a' || s[0] > 'z')
		return 0;
	for (size_t i = 1; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
	return 1;
}

int apitoken_scopes_valid(const char *scopes)
{
	if (scopes == NULL || *scopes == '\0' || strlen(scopes) > APITOKEN_SCOPES_MAX)
		return 0;
	if (strcmp(scopes, "*") == 0)
		return 1;
	const char *p = scopes;
	for (;;) {
		const char *c = strchr(p, ',');
		size_t n = c != NULL ? (size_t)(c - p) : strlen(p);
		if (!code_ok(p, n))
			return 0;
		if (c == NULL)
			return 1;
		p = c + 1;
	}
}

int apitoken_scope_allows(const char *scopes, const char *code)
{
	if (scopes == NULL || code == NULL)
		return 0;
	if (strcmp(scopes, "*") == 0)
		return 1;
	size_t n = strlen(code);
	const char *p = scopes;
	while (p != NULL && *p != '\0') {
		const char *c = strchr(p, ',');
		size_t len = c != NULL ? (size_t)(c - p) : strlen(p);
		if (len == n && memcmp(p, code, n) == 0)
			return 1;
		p = c != NULL ? c + 1 : NULL;
	}
	return 0;
}

int apitoken_create(struct store *st, const struct keys *k, int64_t dept_id, const char *name,
		    const char *scopes, int64_t expires_at, int64_t created_by, int64_t *id,
		    char clear[APITOKEN_MAX])
{
	char secret[APITOKEN_SECRET_LEN + 1], hash[65];
	int64_t taken = 0;
	struct sval q[] = { SVI(dept_id), SVT(name) };
	if (store_query_int(st, sql[S_NAME_TAKEN], q, 2, &taken) != STORE_OK)
		return -1;
	if (taken > 0)
		return 1;
	for (int i = 0; i < APITOKEN_SECRET_LEN; i++)
		secret[i] = b32[randombytes_uniform(32)];
	secret[APITOKEN_SECRET_LEN] = '\0';
	secret_hash(k, secret, hash);
	struct sval p[] = { SVI(dept_id), SVT(name), SVT(scopes), SVT(hash),
			    expires_at > 0 ? SVI(expires_at) : SVN, created_by > 0 ? SVI(created_by) : SVN,
			    SVI(time(NULL)) };
	if (store_query_int(st, sql[S_INSERT], p, 7, id) != STORE_OK) {
		sodium_memzero(secret, sizeof secret);
		return -1;
	}
	snprintf(clear, APITOKEN_MAX, PREFIX "%lld_%s", (long long)*id, secret);
	sodium_memzero(secret, sizeof secret);
	return 0;
}

enum apitoken_rc apitoken_verify(struct store *st, const struct keys *k, const char *token,
				 time_t now, struct apitoken_info *out, int64_t *id_out)
{
	const char *secret = NULL;
	int64_t id = 0;
	char hash[65];
	struct store_res *res = NULL;
	enum apitoken_rc rc = APITOKEN_ERROR;

	memset(out, 0, sizeof *out);
	if (id_out != NULL)
		*id_out = 0;
	if (split(token, &id, &secret) != 0)
		return APITOKEN_MALFORMED;
	if (id_out != NULL)
		*id_out = id;
	secret_hash(k, secret, hash);
	struct sval p[] = { SVI(id) };
	if (store_query(st, sql[S_BY_ID], p, 1, &res) != STORE_OK)
		goto out;
	if (store_res_rows(res) == 0) {
		/* Spend the time of a comparison all the same. */
		(void)str_ct_equal(hash, "0000000000000000000000000000000000000000000000000000000000000000");
		rc = APITOKEN_UNKNOWN;
		goto out;
	}
	const char *stored = store_res_text(res, 0, 3);
	if (stored == NULL || strlen(stored) != 64 || str_ct_equal(hash, stored) != 0) {
		rc = APITOKEN_UNKNOWN;
		goto out;
	}
	/* The secret matches: from here the reasons may be told apart. */
	if (!store_res_isnull(res, 0, 5)) {
		rc = APITOKEN_REVOKED;
		goto out;
	}
	int64_t exp = store_res_int(res, 0, 4);
	if (exp > 0 && (int64_t)now >= exp) {
		rc = APITOKEN_EXPIRED;
		goto out;
	}
	int64_t used = store_res_int(res, 0, 6);
	if (store_res_isnull(res, 0, 6) || (int64_t)now - used >= LAST_USED_GRANULARITY) {
		struct sval u[] = { SVI(id), SVI(now) };
		if (store_exec(st, sql[S_USED], u, 2, NULL) != STORE_OK)
			goto out;
	}
	out->id = id;
	out->dept_id = store_res_int(res, 0, 0);
	out->name = xstrdup(store_res_text(res, 0, 1) ? store_res_text(res, 0, 1) : "");
	out->scopes = xstrdup(store_res_text(res, 0, 2) ? store_res_text(res, 0, 2) : "");
	out->expires_at = exp;
	rc = APITOKEN_OK;
out:
	store_res_free(res);
	sodium_memzero(hash, sizeof hash);
	return rc;
}

int apitoken_revoke(struct store *st, int64_t id, int64_t dept_id, int64_t by, time_t now)
{
	int64_t n = 0;
	struct sval p[] = { SVI(id), SVI(dept_id), SVI(now), by > 0 ? SVI(by) : SVN };
	if (store_exec(st, sql[S_REVOKE], p, 4, &n) != STORE_OK)
		return -1;
	return n > 0 ? 0 : 1;
}

json_t *apitoken_list(struct store *st, int64_t dept_id, time_t now)
{
	struct store_res *res = NULL;
	struct sval p[] = { SVI(dept_id) };
	if (store_query(st, sql[S_LIST], p, 1, &res) != STORE_OK)
		return NULL;
	json_t *out = json_array();
	for (int i = 0; i < store_res_rows(res); i++) {
		int64_t exp = store_res_int(res, i, 3);
		int revoked = !store_res_isnull(res, i, 7);
		const char *state = revoked ? "revoked" : (exp > 0 && (int64_t)now >= exp) ? "expired" : "active";
		json_t *o = json_pack("{s:I,s:s,s:s,s:s}", "id", (json_int_t)store_res_int(res, i, 0),
				      "name", store_res_text(res, i, 1) ? store_res_text(res, i, 1) : "",
				      "scopes", store_res_text(res, i, 2) ? store_res_text(res, i, 2) : "",
				      "state", state);
		json_object_set_new(o, "expires_at", exp > 0 ? json_integer(exp) : json_null());
		json_object_set_new(o, "created_at", json_integer(store_res_int(res, i, 4)));
		json_object_set_new(o, "created_by_name", store_res_text(res, i, 5)
					   ? json_string(store_res_text(res, i, 5)) : json_null());
		json_object_set_new(o, "last_used_at", store_res_isnull(res, i, 6)
					   ? json_null() : json_integer(store_res_int(res, i, 6)));
		json_object_set_new(o, "revoked_at", revoked ? json_integer(store_res_int(res, i, 7)) : json_null());
		json_array_append_new(out, o);
	}
	store_res_free(res);
	return out;
}
