#include "core/account.h"
#include "core/log.h"
#include "core/validate.h"
#include "core/xalloc.h"

#include <sodium.h>
#include <string.h>
#include <time.h>

enum account_stmt {
	S_INSERT, S_BY_LOGIN, S_BY_IDENT, S_PASSWORD, S_DISABLED, S_ROLE_ADD, S_ROLE_DEL,
	S_TOTP_RESET, S_GET, S_ROLES, S_LIST, S_HAS_ROLE, S__MAX
};

static const char *const sql[S__MAX] = {
	[S_INSERT] = "INSERT INTO users (login, kind, name, ident_hash, ident_sealed, ident_masked, "
		     "contact_name, phone, email, password, must_change_pw, created_at, updated_at) "
		     "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) RETURNING id",
	[S_BY_LOGIN] = "SELECT id FROM users WHERE login = $1",
	[S_BY_IDENT] = "SELECT id FROM users WHERE ident_hash = $1",
	[S_PASSWORD] = "UPDATE users SET password = $2, must_change_pw = $3, updated_at = $4 WHERE id = $1",
	[S_DISABLED] = "UPDATE users SET disabled = $2, updated_at = $3 WHERE id = $1",
	[S_ROLE_ADD] = "INSERT INTO user_roles (user_id, dept_id, role, created_at) VALUES ($1, $2, $3, $4) "
		       "ON CONFLICT (user_id, dept_id, role) DO NOTHING",
	[S_ROLE_DEL] = "DELETE FROM user_roles WHERE user_id = $1 AND dept_id = $2 AND role = $3",
	[S_TOTP_RESET] = "UPDATE users SET totp_sealed = NULL, totp_enabled = 0, totp_last_step = 0, "
			 "updated_at = $2 WHERE id = $1",
	[S_GET] = "SELECT id, login, kind, name, ident_masked, contact_name, phone, email, disabled, "
		  "totp_enabled, created_at FROM users WHERE id = $1",
	[S_ROLES] = "SELECT r.dept_id, d.name, r.role FROM user_roles r JOIN departments d ON d.id = r.dept_id "
		    "WHERE r.user_id = $1 ORDER BY d.sort, d.id, r.role",
	[S_LIST] = "SELECT id, login, kind, name, ident_masked, disabled, totp_enabled, created_at FROM users "
		   "WHERE ($1 = '' OR kind = $1) AND ($2 = '' OR login LIKE $2 OR name LIKE $2) "
		   "AND ($3 = 0 OR id < $3) ORDER BY id DESC LIMIT $4",
	[S_HAS_ROLE] = "SELECT COUNT(*) FROM user_roles WHERE user_id = $1 AND "
		       "((dept_id = $2 AND role = $3) OR role = 'platform_admin')",
};

void account_ident_hash(const struct keys *k, const char *ident, char out[65])
{
	unsigned char h[32];
	crypto_generichash(h, sizeof h, (const unsigned char *)ident, strlen(ident), k->seal,
			   sizeof k->seal);
	sodium_bin2hex(out, 65, h, sizeof h);
}

static void mask_ident(const char *ident, const char *kind, char out[32])
{
	if (strcmp(kind, "citizen") == 0) {
		idcard_mask(ident, out);
		return;
	}
	/* 统一社会信用代码 is public information for legal persons; mask the middle lightly. */
	size_t n = strlen(ident);
	if (n != 18) {
		memcpy(out, "****", 5);
		return;
	}
	memcpy(out, ident, 8);
	memset(out + 8, '*', 6);
	memcpy(out + 14, ident + 14, 4);
	out[18] = '\0';
}

int account_create(struct store *st, const struct keys *k, const struct account_new *a,
		   int64_t *id, enum msg_id *why, const char **field)
{
	char hash[65], masked[32];
	char pw[PASSWORD_HASH_MAX];
	char *sealed = NULL;
	int rc = -1;
	int64_t other = 0;
	*why = MSG_HTTP_500;
	*field = NULL;

	struct sval pl[] = { SVT(a->login) };
	int q = store_query_int(st, sql[S_BY_LOGIN], pl, 1, &other);
	if (q == STORE_OK) {
		*why = MSG_LOGIN_TAKEN;
		*field = "login";
		goto out;
	}
	if (q != 1)
		goto out;
	if (a->ident != NULL) {
		account_ident_hash(k, a->ident, hash);
		struct sval pi[] = { SVT(hash) };
		q = store_query_int(st, sql[S_BY_IDENT], pi, 1, &other);
		if (q == STORE_OK) {
			*why = MSG_IDENT_TAKEN;
			*field = "ident";
			goto out;
		}
		if (q != 1)
			goto out;
		mask_ident(a->ident, a->kind, masked);
		sealed = seal_text(k, a->ident);
	}
	if (password_hash(a->password, pw) != 0)
		goto out;
	struct sval p[] = { SVT(a->login), SVT(a->kind), SVT(a->name),
			    SVT(a->ident ? hash : NULL), SVT(sealed), SVT(a->ident ? masked : NULL),
			    SVT(a->contact), SVT(a->phone), SVT(a->email), SVT(pw),
			    SVI(a->must_change_pw), SVI(time(NULL)) };
	int e = store_query_int(st, sql[S_INSERT], p, 12, id);
	if (e == STORE_CONSTRAINT) {
		/* Lost a race with a concurrent registration of the same login. */
		*why = MSG_LOGIN_TAKEN;
		*field = "login";
		goto out;
	}
	if (e != STORE_OK)
		goto out;
	rc = 0;
	*why = MSG_NONE;
out:
	sodium_memzero(pw, sizeof pw);
	free(sealed);
	return rc;
}

int account_find(struct store *st, const char *login, int64_t *id)
{
	struct sval p[] = { SVT(login) };
	int rc = store_query_int(st, sql[S_BY_LOGIN], p, 1, id);
	return rc == STORE_OK ? 0 : rc == 1 ? 1 : -1;
}

int account_set_password(struct store *st, int64_t id, const char *password, int must_change)
{
	char pw[PASSWORD_HASH_MAX];
	if (password_hash(password, pw) != 0)
		return -1;
	struct sval p[] = { SVI(id), SVT(pw), SVI(must_change), SVI(time(NULL)) };
	int64_t n = 0;
	int rc = store_exec(st, sql[S_PASSWORD], p, 4, &n);
	sodium_memzero(pw, sizeof pw);
	return rc == STORE_OK && n == 1 ? 0 : -1;
}

int account_set_disabled(struct store *st, int64_t id, int disabled)
{
	struct sval p[] = { SVI(id), SVI(disabled ? 1 : 0), SVI(time(NULL)) };
	int64_t n = 0;
	return store_exec(st, sql[S_DISABLED], p, 3, &n) == STORE_OK && n == 1 ? 0 : -1;
}

int account_add_role(struct store *st, int64_t user_id, int64_t dept_id, const char *role)
{
	struct sval p[] = { SVI(user_id), SVI(dept_id), SVT(role), SVI(time(NULL)) };
	return store_exec(st, sql[S_ROLE_ADD], p, 4, NULL) == STORE_OK ? 0 : -1;
}

int account_remove_role(struct store *st, int64_t user_id, int64_t dept_id, const char *role)
{
	struct sval p[] = { SVI(user_id), SVI(dept_id), SVT(role) };
	return store_exec(st, sql[S_ROLE_DEL], p, 3, NULL) == STORE_OK ? 0 : -1;
}

int account_reset_totp(struct store *st, int64_t id)
{
	struct sval p[] = { SVI(id), SVI(time(NULL)) };
	return store_exec(st, sql[S_TOTP_RESET], p, 2, NULL) == STORE_OK ? 0 : -1;
}

static const char *role_label(const char *role)
{
	if (strcmp(role, "staff") == 0)
		return msg(MSG_ROLE_STAFF);
	if (strcmp(role, "dept_admin") == 0)
		return msg(MSG_ROLE_DEPT_ADMIN);
	return msg(MSG_ROLE_PLATFORM_ADMIN);
}

static const char *kind_label(const char *kind)
{
	if (strcmp(kind, "citizen") == 0)
		return msg(MSG_KIND_CITIZEN);
	if (strcmp(kind, "enterprise") == 0)
		return msg(MSG_KIND_ENTERPRISE);
	return msg(MSG_KIND_STAFF);
}

json_t *account_roles(struct store *st, int64_t user_id)
{
	struct store_res *res = NULL;
	struct sval p[] = { SVI(user_id) };
	if (store_query(st, sql[S_ROLES], p, 1, &res) != STORE_OK)
		return NULL;
	json_t *a = json_array();
	for (int i = 0; i < store_res_rows(res); i++)
		json_array_append_new(a, json_pack("{s:I,s:s,s:s,s:s}", "dept_id",
						   (json_int_t)store_res_int(res, i, 0), "dept_name",
						   store_res_text(res, i, 1), "role", store_res_text(res, i, 2),
						   "role_label", role_label(store_res_text(res, i, 2))));
	store_res_free(res);
	return a;
}

static json_t *row_json(const struct store_res *res, int i, int full)
{
	json_t *o = json_object();
	json_object_set_new(o, "id", json_integer(store_res_int(res, i, 0)));
	json_object_set_new(o, "login", json_string(store_res_text(res, i, 1)));
	json_object_set_new(o, "kind", json_string(store_res_text(res, i, 2)));
	json_object_set_new(o, "kind_label", json_string(kind_label(store_res_text(res, i, 2))));
	json_object_set_new(o, "is_staff", json_boolean(strcmp(store_res_text(res, i, 2), "staff") == 0));
	json_object_set_new(o, "name", json_string(store_res_text(res, i, 3)));
	const char *m = store_res_text(res, i, 4);
	json_object_set_new(o, "ident_masked", m ? json_string(m) : json_null());
	if (full) {
		const char *c = store_res_text(res, i, 5), *ph = store_res_text(res, i, 6),
			   *em = store_res_text(res, i, 7);
		json_object_set_new(o, "contact_name", c ? json_string(c) : json_null());
		json_object_set_new(o, "phone", ph ? json_string(ph) : json_null());
		json_object_set_new(o, "email", em ? json_string(em) : json_null());
		json_object_set_new(o, "disabled", json_boolean(store_res_int(res, i, 8)));
		json_object_set_new(o, "totp_enabled", json_boolean(store_res_int(res, i, 9)));
		json_object_set_new(o, "created_at", json_integer(store_res_int(res, i, 10)));
	} else {
		json_object_set_new(o, "disabled", json_boolean(store_res_int(res, i, 5)));
		json_object_set_new(o, "totp_enabled", json_boolean(store_res_int(res, i, 6)));
		json_object_set_new(o, "created_at", json_integer(store_res_int(res, i, 7)));
	}
	return o;
}

json_t *account_json(struct store *st, int64_t id)
{
	struct store_res *res = NULL;
	struct sval p[] = { SVI(id) };
	json_t *o = NULL;
	if (store_query(st, sql[S_GET], p, 1, &res) != STORE_OK || store_res_rows(res) == 0)
		goto out;
	o = row_json(res, 0, 1);
	json_t *roles = account_roles(st, id);
	if (roles == NULL) {
		json_decref(o);
		o = NULL;
		goto out;
	}
	json_object_set_new(o, "roles", roles);
out:
	store_res_free(res);
	return o;
}

json_t *account_list(struct store *st, const char *kind, const char *q, int64_t after, int limit)
{
	struct store_res *res = NULL;
	char *like = q && *q ? xasprintf("%%%s%%", q) : xstrdup("");
	struct sval p[] = { SVT(kind ? kind : ""), SVT(like), SVI(after), SVI(limit + 1) };
	json_t *out = NULL;
	if (store_query(st, sql[S_LIST], p, 4, &res) != STORE_OK)
		goto done;
	json_t *items = json_array();
	int n = store_res_rows(res);
	for (int i = 0; i < n && i < limit; i++)
		json_array_append_new(items, row_json(res, i, 0));
	out = json_pack("{s:o}", "items", items);
	if (n > limit)
		json_object_set_new(out, "next", json_integer(store_res_int(res, limit - 1, 0)));
	else
		json_object_set_new(out, "next", json_null());
done:
	free(like);
	store_res_free(res);
	return out;
}

int account_has_role(struct store *st, int64_t user_id, int64_t dept_id, const char *role)
{
	int64_t n = 0;
	struct sval p[] = { SVI(user_id), SVI(dept_id), SVT(role) };
	if (store_query_int(st, sql[S_HAS_ROLE], p, 3, &n) != STORE_OK)
		return 0;
	return n > 0;
}
