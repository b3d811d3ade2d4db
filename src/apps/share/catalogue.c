/*
 * catalogue: the resource catalogue (政务信息资源目录, GB/T 21063) and the
 * share home page.
 *
 *   /share                           what a department can do here (links by role)
 *   /share/catalogue                 staff browse: classification, provider, sharing
 *                                    type, keyword over name/abstract/items; cursor pages
 *   /share/catalogue/{code}          one entry with all its metadata
 *   /share/catalogue/new, /{code}/edit   platform admins (any), dept admins (own provider)
 *   /share/catalogue/export          CSV, JSON or XLSX (libxlsxwriter), synchronous
 *   /api/v1/catalogue...             the same as JSON
 *
 * Codes: an entry's code (信息资源代码 in addresses and the API) is
 * "<provider department code>-<5-digit sequence>" ("psb-00001") unless the
 * editor gives one ([a-z0-9-], 3..40).  The GB/T 21063.4 form "front/back"
 * is shown as well: the front code is the classification code (类 1 digit,
 * 项 2, 目 3, optional 细目 3: "101001"), the back code the entry's
 * sequence in 6 digits ("101001/000001").  See migrations/share/0001_catalogue.sql.
 *
 * A registry-backed entry takes provider, sharing class and conditions, the
 * open flag and the information items from the registry definition (一数一源:
 * the definition is the one truth); the stored copies are refreshed by
 * share_catalogue_refresh whenever a registry's version moved (a derived
 * cache, so its refresh is not audited; edits of entries are).
 */
#include "apps/share/share.h"
#include "apps/share/share_int.h"
#include "core/account.h"
#include "core/audit.h"
#include "core/conf.h"
#include "core/csvw.h"
#include "core/dept.h"
#include "core/log.h"
#include "core/xalloc.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <xlsxwriter.h>

#define CAT_PAGE 20
#define CAT_PAGE_MAX 100

/* ------------------------------------------------------------ vocabularies */

static const char *const cat_classes[] = { "basic", "theme", "dept", NULL };
static const char *const cat_formats[] = { "数据库", "电子表格", "电子文件", "图形图像", "流媒体",
					   "接口", "自描述格式", NULL };
static const char *const cat_cycles[] = { "实时", "每日", "每周", "每月", "每季度", "每半年", "每年",
					  "不定期", NULL };
static const char *const cat_shares[] = { "unconditional", "conditional", "none", NULL };
static const char *const cat_export_formats[] = { "csv", "json", "xlsx", NULL };

static const char *class_label(const char *c)
{
	if (strcmp(c, "basic") == 0)
		return msg(MSG_CAT_CLASS_BASIC);
	if (strcmp(c, "theme") == 0)
		return msg(MSG_CAT_CLASS_THEME);
	return msg(MSG_CAT_CLASS_DEPT);
}

static int class_digit(const char *c)
{
	return strcmp(c, "basic") == 0 ? '1' : strcmp(c, "theme") == 0 ? '2' : '3';
}

static enum reg_share share_of(const char *s)
{
	for (int i = 0; i < RS__MAX; i++)
		if (s != NULL && strcmp(s, reg_share_name((enum reg_share)i)) == 0)
			return (enum reg_share)i;
	return RS__MAX;
}

/* ------------------------------------------------------------ small helpers */

static const char *jstr0(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_string(v) ? json_string_value(v) : "";
}

static int64_t jint(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_integer(v) ? json_integer_value(v) : 0;
}

/* May r's user edit the catalogue entries of provider (its dept admin, or a platform admin)? */
static int can_edit(struct req *r, int64_t provider)
{
	if (r->who.user_id == 0 || r->who.half || provider <= 0)
		return 0;
	if (r->who.roles & ROLEBIT_PLATFORM_ADMIN)
		return 1;
	if (!(r->who.roles & ROLEBIT_DEPT_ADMIN))
		return 0;
	return account_has_role(r->st, r->who.user_id, provider, "dept_admin") == 1;
}

/* A LIKE pattern for s anywhere, with % _ \ escaped; ASCII lowered.  "" for none.  Arena. */
static const char *like_any(struct req *r, const char *s)
{
	if (s == NULL || *s == '\0')
		return "";
	size_t n = strlen(s);
	char *out = arena_alloc(r->arena, 2 * n + 3), *o = out;
	*o++ = '%';
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '%' || c == '_' || c == '\\')
			*o++ = '\\';
		*o++ = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
	}
	*o++ = '%';
	*o = '\0';
	return out;
}

/* ------------------------------------------------------------ SQL */

#define CAT_COLS \
	"c.id, c.code, c.registry_code, c.class, c.class_code, c.name, c.provider_dept_id, d.code, d.name, " \
	"c.abstract, c.format, c.items, c.share, c.share_cond, c.via_api, c.via_db, c.via_file, c.open, " \
	"c.open_cond, c.update_cycle, c.released_on, c.related, c.version, c.updated_at, c.updated_by"
#define FROM " FROM share_catalogue c JOIN departments d ON d.id = c.provider_dept_id "
#define WHERE_LIST \
	"WHERE (c.class = $1 OR $1 = '') AND (c.provider_dept_id = $2 OR $2 = 0) " \
	"AND (c.share = $3 OR $3 = '') AND ($4 = '' OR LOWER(c.name) LIKE $4 ESCAPE '\\' " \
	"OR LOWER(c.abstract) LIKE $4 ESCAPE '\\' OR LOWER(c.items_text) LIKE $4 ESCAPE '\\' " \
	"OR c.code LIKE $4 ESCAPE '\\') "
/* $1 code ... $21 related, $22 now, $23 by; $24 reg_version */
#define VALUES_COLS \
	"code, registry_code, class, class_code, name, provider_dept_id, abstract, format, items, items_text, " \
	"share, share_cond, via_api, via_db, via_file, open, open_cond, update_cycle, released_on, related"

enum {
	S_BY_CODE, S_LIST, S_COUNT, S_ALL, S_INSERT, S_UPDATE, S_CODE_ID, S_REG_TAKEN, S_CODE_COUNT,
	S_STALE, S_SYNC, S_PROVIDERS, S_TOTAL, S_CODE_OF, S__MAX
};

static const char *const sql[S__MAX] = {
	[S_BY_CODE] = "SELECT " CAT_COLS FROM "WHERE c.code = $1",
	[S_LIST] = "SELECT " CAT_COLS FROM WHERE_LIST "AND c.id > $5 ORDER BY c.id LIMIT $6",
	[S_COUNT] = "SELECT COUNT(*)" FROM WHERE_LIST,
	[S_ALL] = "SELECT " CAT_COLS FROM "ORDER BY c.class_code, c.id",
	[S_INSERT] = "INSERT INTO share_catalogue (" VALUES_COLS ", reg_version, version, created_at, updated_at, "
		     "updated_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, "
		     "$17, $18, $19, $20, $24, $23 + 1, $21, $21, $22)",
	[S_UPDATE] = "UPDATE share_catalogue SET registry_code = $2, class = $3, class_code = $4, name = $5, "
		     "provider_dept_id = $6, abstract = $7, format = $8, items = $9, items_text = $10, share = $11, "
		     "share_cond = $12, via_api = $13, via_db = $14, via_file = $15, open = $16, open_cond = $17, "
		     "update_cycle = $18, released_on = $19, related = $20, reg_version = $24, "
		     "version = version + 1, updated_at = $21, updated_by = $22 WHERE code = $1 AND version = $23",
	[S_CODE_ID] = "SELECT id FROM share_catalogue WHERE code = $1",
	[S_REG_TAKEN] = "SELECT id FROM share_catalogue WHERE registry_code = $1 AND code <> $2",
	[S_CODE_COUNT] = "SELECT COUNT(*) FROM share_catalogue WHERE code LIKE $1 ESCAPE '\\'",
	[S_STALE] = "SELECT c.id, c.registry_code FROM share_catalogue c JOIN registries r ON r.code = c.registry_code "
		    "WHERE c.reg_version <> r.version ORDER BY c.id",
	[S_SYNC] = "UPDATE share_catalogue SET items = $1, items_text = $2, share = $3, share_cond = $4, open = $5, "
		   "provider_dept_id = $6, reg_version = $7 WHERE id = $8",
	[S_PROVIDERS] = "SELECT DISTINCT d.id, d.code, d.name FROM share_catalogue c "
			"JOIN departments d ON d.id = c.provider_dept_id ORDER BY d.code",
	[S_TOTAL] = "SELECT COUNT(*) FROM share_catalogue",
	[S_CODE_OF] = "SELECT code FROM share_catalogue WHERE registry_code = $1",
};

/* ------------------------------------------------------------ items */

/* The information items of a registry definition, as the catalogue shows them. */
static json_t *registry_items(struct store *st, const struct registry *reg)
{
	const struct reg_def *d = &reg->def;
	json_t *out = json_array();
	for (int i = 0; i < d->nfields; i++) {
		const struct reg_field *f = &d->fields[i];
		json_t *it = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:b,s:b,s:b}", "name", f->name, "label",
				       f->label ? f->label : f->name, "type", reg_type_name(f->type), "type_label",
				       reg_type_label(f->type), "share", reg_share_name(f->share), "share_label",
				       reg_share_label(f->share), "personal", f->personal, "required", f->required,
				       "key", i == d->key);
		if (f->share_cond != NULL)
			json_object_set_new(it, "share_cond", json_string(f->share_cond));
		if (f->derived_from[0]) {
			json_object_set_new(it, "derived_from", json_string(f->derived_from));
		} else if (f->source_dept[0]) {
			json_object_set_new(it, "source_dept", json_string(f->source_dept));
			int64_t id = 0;
			if (reg->source_dept_id != NULL && reg->source_dept_id[i] > 0)
				id = reg->source_dept_id[i];
			else if (dept_find_code(st, f->source_dept, &id) != 0)
				id = 0;
			json_t *dj = id > 0 ? dept_json(st, id) : NULL;
			if (dj != NULL)
				json_object_set_new(it, "source_dept_name", json_string(jstr0(dj, "name")));
			json_decref(dj);
		}
		json_array_append_new(out, it);
	}
	return out;
}

/* "name label name label ...": what keyword search looks at. malloc'd. */
static char *items_text(json_t *items)
{
	struct buf b = BUF_INIT(1u << 20);
	size_t i;
	json_t *it;
	json_array_foreach(items, i, it) {
		if (buf_addf(&b, "%s%s %s", i ? " " : "", jstr0(it, "name"), jstr0(it, "label")) != 0)
			break;
	}
	char *s = buf_detach(&b, NULL);
	return s ? s : xstrdup("");
}

static void trim(const char **a, const char **z)
{
	while (*a < *z && (**a == ' ' || **a == '\t' || **a == '\r'))
		(*a)++;
	while (*z > *a && ((*z)[-1] == ' ' || (*z)[-1] == '\t' || (*z)[-1] == '\r'))
		(*z)--;
}

static int good_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n >= REG_CODE_MAX || !(s[0] >= 'a' && s[0] <= 'z'))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
	return 1;
}

/*
 * Parses the stored-items text of a non-registry resource: one item a line,
 * "name | label | type [| share class [| condition]]"; type a registry type
 * keyword or its Chinese name; share class a keyword or its Chinese name,
 * never less strict than the resource (entry_share).  0 with *out, or -1
 * with *why and detail ("第 N 行：...").
 */
static int items_parse(const char *text, enum reg_share entry_share, json_t **out, enum msg_id *why,
		       char *detail, size_t cap)
{
	json_t *items = json_array();
	const char *p = text ? text : "";
	int line = 0;
	*out = NULL;
	while (*p) {
		const char *nl = strchr(p, '\n');
		const char *end = nl ? nl : p + strlen(p);
		line++;
		const char *a = p, *z = end;
		trim(&a, &z);
		p = nl ? nl + 1 : end;
		if (a == z)
			continue;
		char *parts[5] = { 0 };
		int np = 0, too_many = 0;
		const char *s = a;
		for (;;) {
			const char *bar = memchr(s, '|', (size_t)(z - s));
			const char *e = bar ? bar : z;
			const char *pa = s, *pz = e;
			trim(&pa, &pz);
			if (np == 5) {
				too_many = 1;
				break;
			}
			parts[np++] = xstrndup(pa, (size_t)(pz - pa));
			if (!bar)
				break;
			s = bar + 1;
		}
		enum msg_id w = MSG_NONE;
		int ti = -1;
		enum reg_share sh = entry_share;
		if (np < 3 || too_many) {
			w = MSG_CAT_BAD_ITEMS;
		} else if (!good_name(parts[0])) {
			w = MSG_CAT_ITEM_BAD_NAME;
		} else if (parts[1][0] == '\0' || strlen(parts[1]) > 200) {
			w = MSG_CAT_BAD_ITEMS;
		} else {
			for (int t = 0; t < RT__MAX; t++)
				if (strcmp(parts[2], reg_type_name((enum reg_type)t)) == 0 ||
				    strcmp(parts[2], reg_type_label((enum reg_type)t)) == 0)
					ti = t;
			if (ti < 0)
				w = MSG_CAT_ITEM_BAD_TYPE;
		}
		if (w == MSG_NONE && np >= 4 && parts[3][0] != '\0') {
			sh = RS__MAX;
			for (int k = 0; k < RS__MAX; k++)
				if (strcmp(parts[3], reg_share_name((enum reg_share)k)) == 0 ||
				    strcmp(parts[3], reg_share_label((enum reg_share)k)) == 0)
					sh = (enum reg_share)k;
			if (sh == RS__MAX || (entry_share == RS_NONE && sh != RS_NONE))
				w = MSG_CAT_ITEM_BAD_SHARE;
		}
		if (w == MSG_NONE) {
			size_t k;
			json_t *o;
			json_array_foreach(items, k, o)
				if (strcmp(jstr0(o, "name"), parts[0]) == 0)
					w = MSG_CAT_ITEM_DUP;
		}
		if (w == MSG_NONE) {
			json_t *it = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "name", parts[0], "label", parts[1], "type",
					       reg_type_name((enum reg_type)ti), "type_label",
					       reg_type_label((enum reg_type)ti), "share", reg_share_name(sh),
					       "share_label", reg_share_label(sh));
			if (np >= 5 && parts[4][0] != '\0')
				json_object_set_new(it, "share_cond", json_string(parts[4]));
			json_array_append_new(items, it);
		}
		for (int k = 0; k < np; k++)
			free(parts[k]);
		if (w != MSG_NONE) {
			*why = w;
			snprintf(detail, cap, "第 %d 行：%s", line, msg(w));
			json_decref(items);
			return -1;
		}
	}
	if (json_array_size(items) == 0) {
		*why = MSG_CAT_ITEMS_REQUIRED;
		snprintf(detail, cap, "%s", msg(MSG_CAT_ITEMS_REQUIRED));
		json_decref(items);
		return -1;
	}
	*out = items;
	return 0;
}

/* The stored items back as the text the form edits. malloc'd. */
static char *items_to_text(json_t *items)
{
	struct buf b = BUF_INIT(1u << 20);
	size_t i;
	json_t *it;
	json_array_foreach(items, i, it) {
		buf_addf(&b, "%s | %s | %s | %s", jstr0(it, "name"), jstr0(it, "label"), jstr0(it, "type"),
			 jstr0(it, "share_label"));
		if (*jstr0(it, "share_cond"))
			buf_addf(&b, " | %s", jstr0(it, "share_cond"));
		buf_addch(&b, '\n');
	}
	char *s = buf_detach(&b, NULL);
	return s ? s : xstrdup("");
}

/* ------------------------------------------------------------ refresh */

int share_catalogue_refresh(struct store *st)
{
	struct store_res *res = NULL;
	if (store_query(st, sql[S_STALE], NULL, 0, &res) != STORE_OK)
		return -1;
	int n = store_res_rows(res), rc = 0, own_tx = 0;
	if (n > 0 && !store_in_tx(st)) {
		if (store_begin(st) != STORE_OK) {
			store_res_free(res);
			return -1;
		}
		own_tx = 1;
	}
	for (int i = 0; i < n && rc == 0; i++) {
		const struct registry *reg = registry_get(st, store_res_text(res, i, 1));
		if (reg == NULL)
			continue;
		json_t *items = registry_items(st, reg);
		char *it = json_dumps(items, JSON_COMPACT);
		char *txt = items_text(items);
		json_decref(items);
		struct sval p[] = { SVT(it), SVT(txt), SVT(reg_share_name(reg->def.share)), SVT(reg->def.share_cond),
				    SVI(reg->def.open ? 1 : 0), SVI(reg->owner_dept_id), SVI(reg->version),
				    SVI(store_res_int(res, i, 0)) };
		if (store_exec(st, sql[S_SYNC], p, 8, NULL) != STORE_OK)
			rc = -1;
		free(it);
		free(txt);
	}
	store_res_free(res);
	if (own_tx) {
		if (rc == 0 && store_commit(st) != STORE_OK)
			rc = -1;
		if (rc != 0)
			store_rollback(st);
	}
	return rc;
}

/* ------------------------------------------------------------ entries as JSON */

static json_t *split_codes(const char *s)
{
	json_t *out = json_array();
	const char *p = s ? s : "";
	while (*p) {
		const char *c = strchr(p, ',');
		size_t n = c ? (size_t)(c - p) : strlen(p);
		if (n > 0)
			json_array_append_new(out, json_stringn(p, n));
		p += n + (c ? 1 : 0);
	}
	return out;
}

static json_t *entry_of(const struct store_res *res, int i)
{
	const char *klass = store_res_text(res, i, 3), *share = store_res_text(res, i, 12);
	int64_t id = store_res_int(res, i, 0);
	char gb[64];
	snprintf(gb, sizeof gb, "%s/%06lld", store_res_text(res, i, 4), (long long)id);
	json_error_t je;
	json_t *items = json_loads(store_res_text(res, i, 11), 0, &je);
	if (!json_is_array(items)) {
		json_decref(items);
		items = json_array();
	}
	int va = store_res_int(res, i, 14) != 0, vd = store_res_int(res, i, 15) != 0,
	    vf = store_res_int(res, i, 16) != 0;
	json_t *methods = json_array();
	char ml[128] = "";
	size_t mlen = 0;
	struct {
		int on;
		const char *name;
		enum msg_id label;
	} via[] = { { va, "api", MSG_CAT_VIA_API }, { vd, "db", MSG_CAT_VIA_DB }, { vf, "file", MSG_CAT_VIA_FILE } };
	for (size_t k = 0; k < sizeof via / sizeof via[0]; k++) {
		if (!via[k].on)
			continue;
		json_array_append_new(methods, json_string(via[k].name));
		int w = snprintf(ml + mlen, sizeof ml - mlen, "%s%s", mlen ? "、" : "", msg(via[k].label));
		if (w > 0 && (size_t)w < sizeof ml - mlen)
			mlen += (size_t)w;
	}
	enum reg_share sh = share_of(share);
	json_t *e = json_pack("{s:I,s:s,s:s,s:s?,s:s,s:s,s:s,s:s,s:{s:I,s:s,s:s},s:s,s:s,s:o,s:s,s:s,s:s?,"
			      "s:o,s:s,s:b,s:b,s:b,s:b,s:s?,s:s,s:s?,s:o,s:I,s:I,s:s}",
			      "id", (json_int_t)id, "code", store_res_text(res, i, 1), "gb_code", gb, "registry",
			      store_res_text(res, i, 2), "class", klass, "class_label", class_label(klass),
			      "class_code", store_res_text(res, i, 4), "name", store_res_text(res, i, 5), "provider",
			      "id", (json_int_t)store_res_int(res, i, 6), "code", store_res_text(res, i, 7), "name",
			      store_res_text(res, i, 8), "abstract", store_res_text(res, i, 9), "format",
			      store_res_text(res, i, 10), "items", items, "share", share, "share_label",
			      sh < RS__MAX ? reg_share_label(sh) : share, "share_cond", store_res_text(res, i, 13),
			      "share_methods", methods, "share_method_label", ml, "via_api", va, "via_db", vd,
			      "via_file", vf, "open", store_res_int(res, i, 17) != 0, "open_cond",
			      store_res_text(res, i, 18), "update_cycle", store_res_text(res, i, 19), "released_on",
			      store_res_text(res, i, 20), "related", split_codes(store_res_text(res, i, 21)),
			      "version", (json_int_t)store_res_int(res, i, 22), "updated_at",
			      (json_int_t)store_res_int(res, i, 23), "updated_by", store_res_text(res, i, 24));
	return e;
}

json_t *share_catalogue_get(struct store *st, const char *code)
{
	struct store_res *res = NULL;
	struct sval p[] = { SVT(code) };
	if (code == NULL || store_query(st, sql[S_BY_CODE], p, 1, &res) != STORE_OK)
		return NULL;
	json_t *e = store_res_rows(res) == 1 ? entry_of(res, 0) : NULL;
	store_res_free(res);
	if (e == NULL)
		return NULL;
	/* Registry-backed: the definition's current items and classes, not the cached copy. */
	const char *rc = json_string_value(json_object_get(e, "registry"));
	const struct registry *reg = rc ? registry_get(st, rc) : NULL;
	if (reg != NULL) {
		json_object_set_new(e, "items", registry_items(st, reg));
		json_object_set_new(e, "share", json_string(reg_share_name(reg->def.share)));
		json_object_set_new(e, "share_label", json_string(reg_share_label(reg->def.share)));
		json_object_set_new(e, "share_cond", reg->def.share_cond ? json_string(reg->def.share_cond) : json_null());
		json_object_set_new(e, "open", json_boolean(reg->def.open));
		json_object_set_new(e, "registry_version", json_integer(reg->version));
	}
	return e;
}

const char *share_catalogue_code_of(struct store *st, struct arena *a, const char *registry)
{
	struct store_res *res = NULL;
	struct sval p[] = { SVT(registry) };
	if (store_query(st, sql[S_CODE_OF], p, 1, &res) != STORE_OK)
		return NULL;
	const char *c = store_res_rows(res) == 1 ? arena_strdup(a, store_res_text(res, 0, 0)) : NULL;
	store_res_free(res);
	return c;
}

/* ------------------------------------------------------------ list */

struct cat_filter {
	const char *klass, *share, *q;
	int64_t provider, after;
	int limit;
};

/* {"items":[...],"next":id|null,"total":n} or NULL (store failure). */
static json_t *cat_list(struct req *r, const struct cat_filter *f)
{
	if (share_catalogue_refresh(r->st) != 0)
		log_warn("catalogue: refresh from registries failed");
	const char *like = like_any(r, f->q);
	struct sval p[] = { SVT(f->klass ? f->klass : ""), SVI(f->provider), SVT(f->share ? f->share : ""), SVT(like),
			    SVI(f->after), SVI(f->limit + 1) };
	struct store_res *res = NULL;
	int64_t total = 0;
	if (store_query_int(r->st, sql[S_COUNT], p, 4, &total) < 0 ||
	    store_query(r->st, sql[S_LIST], p, 6, &res) != STORE_OK)
		return NULL;
	json_t *items = json_array();
	int n = store_res_rows(res);
	for (int i = 0; i < n && i < f->limit; i++)
		json_array_append_new(items, entry_of(res, i));
	json_t *next = n > f->limit ? json_integer(store_res_int(res, f->limit - 1, 0)) : json_null();
	store_res_free(res);
	return json_pack("{s:o,s:o,s:I}", "items", items, "next", next, "total", (json_int_t)total);
}

/* Reads the list filters from r->in; -1 after answering a bad provider. */
static int filter_of(struct req *r, struct cat_filter *f)
{
	memset(f, 0, sizeof *f);
	f->klass = req_in_str(r, "class");
	f->share = req_in_str(r, "share");
	f->q = req_in_str(r, "q");
	f->after = req_in_int(r, "after", 0);
	f->limit = (int)req_in_int(r, "limit", CAT_PAGE);
	const char *prov = req_in_str(r, "provider");
	if (prov != NULL && *prov) {
		int rc = dept_find_code(r->st, prov, &f->provider);
		if (rc != 0) {
			if (rc < 0) {
				resp_error(r, 500, MSG_HTTP_500, NULL);
			} else {
				struct input_error e = { 400, MSG_DEPT_NOT_FOUND, "provider", "" };
				resp_input_error(r, &e);
			}
			return -1;
		}
	}
	return 0;
}

static json_t *options(const char *const *values, const char *want, const char *(*label)(const char *))
{
	json_t *out = json_array();
	for (int i = 0; values[i]; i++)
		json_array_append_new(out, json_pack("{s:s,s:s,s:b}", "value", values[i], "label",
						     label ? label(values[i]) : values[i], "selected",
						     want != NULL && strcmp(want, values[i]) == 0));
	return out;
}

static const char *share_label_of(const char *s)
{
	enum reg_share sh = share_of(s);
	return sh < RS__MAX ? reg_share_label(sh) : s;
}

static json_t *provider_options(struct store *st, const char *want)
{
	json_t *out = json_array();
	struct store_res *res = NULL;
	if (store_query(st, sql[S_PROVIDERS], NULL, 0, &res) != STORE_OK)
		return out;
	for (int i = 0; i < store_res_rows(res); i++)
		json_array_append_new(out, json_pack("{s:s,s:s,s:b}", "value", store_res_text(res, i, 1), "label",
						     store_res_text(res, i, 2), "selected",
						     want != NULL && strcmp(want, store_res_text(res, i, 1)) == 0));
	store_res_free(res);
	return out;
}

/* GET /share/catalogue  ctx: page {items,next,total}, values, classes, shares, providers (options with
 * selected), filtered, next_href, can_create */
static void page_catalogue(struct req *r)
{
	struct cat_filter f;
	if (filter_of(r, &f) != 0)
		return;
	json_t *page = cat_list(r, &f);
	if (page == NULL) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	const char *prov = req_in_str(r, "provider");
	json_t *ctx = json_pack("{s:s,s:o,s:o,s:o,s:o,s:b,s:b}", "title", "政务信息资源目录", "page", page, "classes",
				options(cat_classes, f.klass, class_label), "shares",
				options(cat_shares, f.share, share_label_of), "providers",
				provider_options(r->st, prov), "filtered",
				(f.q && *f.q) || (f.klass && *f.klass) || (f.share && *f.share) || f.provider,
				"can_create", (r->who.roles & (ROLEBIT_DEPT_ADMIN | ROLEBIT_PLATFORM_ADMIN)) != 0);
	json_object_set(ctx, "values", r->in);
	json_t *next = json_object_get(page, "next");
	if (json_is_integer(next)) {
		struct buf b = BUF_INIT(4096);
		buf_addf(&b, "/share/catalogue?after=%lld", (long long)json_integer_value(next));
		static const char *const keep[] = { "q", "class", "share", "provider", NULL };
		for (int k = 0; keep[k]; k++) {
			const char *v = req_in_str(r, keep[k]);
			if (v != NULL && *v)
				buf_addf(&b, "&%s=%s", keep[k], req_url_encode(r, v));
		}
		if (json_object_get(r->in, "limit") != NULL)
			buf_addf(&b, "&limit=%d", f.limit);
		json_object_set_new(ctx, "next_href", json_string(b.data ? b.data : "/share/catalogue"));
		buf_release(&b);
	}
	resp_page(r, 200, "share/catalogue", ctx);
}

/* GET /api/v1/catalogue */
static void api_catalogue(struct req *r)
{
	struct cat_filter f;
	if (filter_of(r, &f) != 0)
		return;
	json_t *page = cat_list(r, &f);
	if (page == NULL) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	resp_json(r, 200, page);
}

/* ------------------------------------------------------------ one entry */

/* GET /share/catalogue/{code}  ctx: entry, can_edit, request_href (conditional, not the provider),
 * registry_href, related (entries {code,name,href}), edit_href */
static void page_entry(struct req *r)
{
	json_t *e = share_catalogue_get(r->st, req_param(r, "code"));
	if (e == NULL) {
		resp_error(r, 404, MSG_CAT_NOT_FOUND, NULL);
		return;
	}
	int64_t provider = jint(json_object_get(e, "provider"), "id");
	int64_t acting = share_acting_dept(r);
	const char *code = jstr0(e, "code"), *reg = json_string_value(json_object_get(e, "registry"));
	json_t *ctx = json_pack("{s:s,s:b,s:b}", "title", jstr0(e, "name"), "can_edit", can_edit(r, provider), "saved",
				req_in_str(r, "saved") != NULL);
	json_object_set_new(ctx, "edit_href", json_string(arena_printf(r->arena, "/share/catalogue/%s/edit", code)));
	if (strcmp(jstr0(e, "share"), "conditional") == 0 && acting != provider && reg != NULL)
		json_object_set_new(ctx, "request_href",
				    json_string(arena_printf(r->arena, "/share/requests/new?registry=%s",
							     req_url_encode(r, reg))));
	if (reg != NULL)
		json_object_set_new(ctx, "registry_href",
				    json_string(arena_printf(r->arena, "/share/registries/%s", reg)));
	json_t *related = json_array();
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(e, "related"), i, c) {
		json_t *o = share_catalogue_get(r->st, json_string_value(c));
		json_array_append_new(related, json_pack("{s:O,s:s,s:s}", "code", c, "name", o ? jstr0(o, "name") : "",
							 "href", arena_printf(r->arena, "/share/catalogue/%s",
									      json_string_value(c))));
		json_decref(o);
	}
	json_object_set_new(ctx, "related", related);
	/* Item rows: a readable note per item for the template. */
	json_array_foreach(json_object_get(e, "items"), i, c) {
		json_object_set_new(c, "is_none", json_boolean(strcmp(jstr0(c, "share"), "none") == 0));
		json_object_set_new(c, "is_conditional", json_boolean(strcmp(jstr0(c, "share"), "conditional") == 0));
	}
	json_object_set_new(ctx, "entry", e);
	resp_page(r, 200, "share/catalogue_entry", ctx);
}

/* GET /api/v1/catalogue/{code} */
static void api_entry(struct req *r)
{
	json_t *e = share_catalogue_get(r->st, req_param(r, "code"));
	if (e == NULL) {
		resp_error(r, 404, MSG_CAT_NOT_FOUND, NULL);
		return;
	}
	resp_json(r, 200, e);
}

/* ------------------------------------------------------------ writing */

static void input_err(struct req *r, int status, enum msg_id why, const char *field, const char *detail)
{
	struct input_error e = { status, why, "", "" };
	snprintf(e.field, sizeof e.field, "%s", field);
	snprintf(e.detail, sizeof e.detail, "%s", detail ? detail : "");
	resp_input_error(r, &e);
}

static int good_code(const char *s)
{
	size_t n = strlen(s);
	if (n < 3 || n > 40)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return 0;
	return 1;
}

static int good_class_code(const char *cc, const char *klass)
{
	size_t n = strlen(cc);
	if (n != 3 && n != 6 && n != 9)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (cc[i] < '0' || cc[i] > '9')
			return 0;
	return cc[0] == class_digit(klass);
}

/* A new code "<dept code>-NNNNN" not used yet (arena). */
static const char *new_code(struct req *r, const char *dept_code)
{
	char lower[40];
	size_t n = strlen(dept_code);
	if (n > 30)
		n = 30;
	for (size_t i = 0; i < n; i++)
		lower[i] = (dept_code[i] >= 'A' && dept_code[i] <= 'Z') ? (char)(dept_code[i] - 'A' + 'a') : dept_code[i];
	lower[n] = '\0';
	int64_t count = 0;
	struct sval p[] = { SVT(arena_printf(r->arena, "%s-%%", lower)) };
	if (store_query_int(r->st, sql[S_CODE_COUNT], p, 1, &count) < 0)
		return NULL;
	for (int64_t k = count + 1; k < count + 1000; k++) {
		const char *c = arena_printf(r->arena, "%s-%05lld", lower, (long long)k);
		int64_t id = 0;
		struct sval q[] = { SVT(c) };
		int rc = store_query_int(r->st, sql[S_CODE_ID], q, 1, &id);
		if (rc < 0)
			return NULL;
		if (rc == 1)
			return c;
	}
	return NULL;
}

/*
 * Checks r's input and writes the entry (cur: the current entry when
 * editing, else NULL), with its audit entry.  0 with *code_out, or -1 after
 * answering.
 */
static int entry_save(struct req *r, json_t *cur, const char **code_out)
{
	const char *klass = req_in_str(r, "class"), *class_code = req_in_str(r, "class_code");
	const char *regcode = req_in_str(r, "registry"), *prov = req_in_str(r, "provider");
	const char *share = req_in_str(r, "share"), *share_cond = req_in_str(r, "share_cond");
	const char *related_in = req_in_str(r, "related"), *code = req_in_str(r, "code");
	char detail[192] = "";
	enum msg_id why = MSG_NONE;
	if (regcode != NULL && *regcode == '\0')
		regcode = NULL;
	if (share_cond != NULL && *share_cond == '\0')
		share_cond = NULL;

	if (cur != NULL && !can_edit(r, jint(json_object_get(cur, "provider"), "id"))) {
		resp_error(r, 403, MSG_NOT_YOUR_DEPT, NULL);
		return -1;
	}
	/* provider, sharing class, conditions, open flag, items */
	int64_t provider = 0, reg_version = 0;
	int open = req_in_bool(r, "open");
	json_t *items = NULL;
	enum reg_share sh;
	const char *prov_code = prov;
	if (regcode != NULL) {
		const struct registry *reg = registry_get(r->st, regcode);
		if (reg == NULL) {
			input_err(r, 400, MSG_CAT_NO_REGISTRY, "registry", NULL);
			return -1;
		}
		provider = reg->owner_dept_id;
		sh = reg->def.share;
		share_cond = reg->def.share_cond;
		open = reg->def.open;
		items = registry_items(r->st, reg);
		reg_version = reg->version;
		json_t *dj = dept_json(r->st, provider);
		prov_code = arena_strdup(r->arena, dj ? jstr0(dj, "code") : "dept");
		json_decref(dj);
	} else {
		if (prov == NULL || *prov == '\0') {
			input_err(r, 400, MSG_CAT_PROVIDER_REQUIRED, "provider", NULL);
			return -1;
		}
		int rc = dept_find_code(r->st, prov, &provider);
		if (rc != 0) {
			if (rc < 0)
				resp_error(r, 500, MSG_HTTP_500, NULL);
			else
				input_err(r, 400, MSG_DEPT_NOT_FOUND, "provider", NULL);
			return -1;
		}
		sh = share_of(share);
		if (sh == RS__MAX) {
			input_err(r, 400, MSG_CAT_SHARE_REQUIRED, "share", NULL);
			return -1;
		}
		if (sh != RS_UNCONDITIONAL && share_cond == NULL) {
			input_err(r, 400, MSG_CAT_COND_REQUIRED, "share_cond", NULL);
			return -1;
		}
		if (sh == RS_UNCONDITIONAL)
			share_cond = NULL;
		if (items_parse(req_in_str(r, "items"), sh, &items, &why, detail, sizeof detail) != 0) {
			input_err(r, 400, why, "items", detail);
			return -1;
		}
	}
	if (!can_edit(r, provider)) {
		json_decref(items);
		resp_error(r, 403, MSG_NOT_YOUR_DEPT, regcode ? "registry" : "provider");
		return -1;
	}
	int va = req_in_bool(r, "via_api"), vd = req_in_bool(r, "via_db"), vf = req_in_bool(r, "via_file");
	const char *bad = NULL;
	if (!good_class_code(class_code ? class_code : "", klass ? klass : "")) {
		why = MSG_CAT_BAD_CLASS_CODE;
		bad = "class_code";
	} else if (sh != RS_NONE && !va && !vd && !vf) {
		why = MSG_CAT_METHOD_REQUIRED;
		bad = "via_api";
	}
	/* code */
	if (bad == NULL && cur != NULL) {
		code = jstr0(cur, "code");
	} else if (bad == NULL && code != NULL && *code != '\0') {
		int64_t id = 0;
		struct sval p[] = { SVT(code) };
		int rc = good_code(code) ? store_query_int(r->st, sql[S_CODE_ID], p, 1, &id) : 2;
		if (rc < 0) {
			json_decref(items);
			resp_error(r, 500, MSG_HTTP_500, NULL);
			return -1;
		}
		if (rc != 1) {
			why = rc == 2 ? MSG_CAT_BAD_CODE : MSG_CAT_CODE_TAKEN;
			bad = "code";
		}
	} else if (bad == NULL) {
		code = new_code(r, prov_code);
		if (code == NULL) {
			json_decref(items);
			resp_error(r, 500, MSG_HTTP_500, NULL);
			return -1;
		}
	}
	/* one entry per registry */
	if (bad == NULL && regcode != NULL) {
		int64_t id = 0;
		struct sval p[] = { SVT(regcode), SVT(code) };
		int rc = store_query_int(r->st, sql[S_REG_TAKEN], p, 2, &id);
		if (rc == 0) {
			why = MSG_CAT_REGISTRY_TAKEN;
			bad = "registry";
		} else if (rc < 0) {
			json_decref(items);
			resp_error(r, 500, MSG_HTTP_500, NULL);
			return -1;
		}
	}
	/* related codes: "a, b、c" -> "a,b,c", each an existing other entry */
	struct buf rel = BUF_INIT(4096);
	const char *p = related_in ? related_in : "";
	while (bad == NULL && *p) {
		size_t skip = strspn(p, " ,;\t");
		if (strncmp(p + skip, "、", strlen("、")) == 0)
			skip += strlen("、");
		if (skip > 0) {
			p += skip;
			continue;
		}
		size_t n = 0;
		while (p[n] && !strchr(" ,;\t", p[n]) && strncmp(p + n, "、", strlen("、")) != 0)
			n++;
		char *one = arena_strndup(r->arena, p, n);
		int64_t id = 0;
		struct sval q[] = { SVT(one) };
		int rc = strcmp(one, code) == 0 ? 1 : store_query_int(r->st, sql[S_CODE_ID], q, 1, &id);
		if (rc < 0) {
			buf_release(&rel);
			json_decref(items);
			resp_error(r, 500, MSG_HTTP_500, NULL);
			return -1;
		}
		if (rc == 1) {
			why = MSG_CAT_RELATED_UNKNOWN;
			bad = "related";
			snprintf(detail, sizeof detail, "%s：%.60s", msg(why), one);
		} else {
			buf_addf(&rel, "%s%s", rel.len ? "," : "", one);
		}
		p += n;
	}
	if (bad != NULL) {
		buf_release(&rel);
		json_decref(items);
		input_err(r, 400, why, bad, detail[0] ? detail : NULL);
		return -1;
	}
	int64_t want_version = req_in_int(r, "version", 0);
	if (cur != NULL && want_version != 0 && want_version != jint(cur, "version")) {
		buf_release(&rel);
		json_decref(items);
		resp_error(r, 409, MSG_CAT_VERSION_CONFLICT, "version");
		return -1;
	}
	const char *open_cond = req_in_str(r, "open_cond");
	if (open_cond != NULL && *open_cond == '\0')
		open_cond = NULL;
	const char *released = req_in_str(r, "released_on");
	if (released != NULL && *released == '\0')
		released = NULL;
	char *items_json = json_dumps(items, JSON_COMPACT);
	char *itxt = items_text(items);
	json_decref(items);
	const char *by = r->who.login ? r->who.login : "system";
	struct sval v[] = {
		SVT(code), SVT(regcode), SVT(klass), SVT(class_code), SVT(req_in_str(r, "name")), SVI(provider),
		SVT(req_in_str(r, "abstract")), SVT(req_in_str(r, "format")), SVT(items_json), SVT(itxt),
		SVT(reg_share_name(sh)), SVT(share_cond), SVI(va), SVI(vd), SVI(vf), SVI(open ? 1 : 0),
		SVT(open ? open_cond : NULL), SVT(req_in_str(r, "update_cycle")), SVT(released),
		SVT(rel.data ? rel.data : ""), SVI(time(NULL)), SVT(by),
		SVI(cur ? jint(cur, "version") : 0), SVI(reg_version),
	};
	int64_t changes = 0;
	int rc = cur ? store_exec(r->st, sql[S_UPDATE], v, 24, &changes)
		     : store_exec(r->st, sql[S_INSERT], v, 24, &changes);
	free(items_json);
	free(itxt);
	buf_release(&rel);
	if (rc == STORE_CONSTRAINT) {
		resp_error(r, 409, MSG_CAT_CODE_TAKEN, "code");
		return -1;
	}
	if (rc != STORE_OK) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return -1;
	}
	if (changes != 1) {
		resp_error(r, 409, MSG_CAT_VERSION_CONFLICT, "version");
		return -1;
	}
	json_t *dj = json_pack("{s:s,s:s?,s:s}", "code", code, "registry", regcode, "share", reg_share_name(sh));
	char *d = json_dumps(dj, JSON_COMPACT);
	json_decref(dj);
	struct audit_entry a = { r->who.user_id, by, cur ? "catalogue.update" : "catalogue.create",
				 arena_printf(r->arena, "catalogue:%s", code), provider, r->ip, d };
	int arc = audit_append(r->st, &a);
	free(d);
	if (arc != 0) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return -1;
	}
	*code_out = arena_strdup(r->arena, code);
	return 0;
}

/* ------------------------------------------------------------ forms */

/* The departments r's user may make entries for: [{value: code, label: name, selected}]. */
static json_t *editable_depts(struct req *r, const char *want)
{
	json_t *out = json_array();
	int all = (r->who.roles & ROLEBIT_PLATFORM_ADMIN) != 0;
	json_t *list = all ? dept_tree(r->st) : account_roles(r->st, r->who.user_id);
	size_t i, k;
	json_t *x, *y;
	json_array_foreach(list, i, x) {
		if (!all && strcmp(jstr0(x, "role"), "dept_admin") != 0)
			continue;
		json_t *dj = all ? json_incref(x) : dept_json(r->st, jint(x, "dept_id"));
		if (dj == NULL)
			continue;
		int dup = 0;
		json_array_foreach(out, k, y)
			dup |= strcmp(jstr0(y, "value"), jstr0(dj, "code")) == 0;
		if (!dup)
			json_array_append_new(out, json_pack("{s:s,s:s,s:b}", "value", jstr0(dj, "code"), "label",
							     jstr0(dj, "name"), "selected",
							     want != NULL && strcmp(want, jstr0(dj, "code")) == 0));
		json_decref(dj);
	}
	json_decref(list);
	return out;
}

/* Adds what share/catalogue_form needs besides values and errors: classes, formats, cycles, shares,
 * providers, registries (options with selected), entry and action when editing, title. */
static void entry_form_fill(struct req *r, json_t *ctx)
{
	json_t *values = json_object_get(ctx, "values");
	if (values == NULL) {
		values = json_object();
		json_object_set_new(ctx, "values", values);
	}
	json_object_set_new(ctx, "classes", options(cat_classes, jstr0(values, "class"), class_label));
	json_object_set_new(ctx, "formats", options(cat_formats, jstr0(values, "format"), NULL));
	json_object_set_new(ctx, "cycles", options(cat_cycles, jstr0(values, "update_cycle"), NULL));
	json_object_set_new(ctx, "shares", options(cat_shares, jstr0(values, "share"), share_label_of));
	json_object_set_new(ctx, "providers", editable_depts(r, jstr0(values, "provider")));
	json_t *regs = json_array(), *list = registry_list(r->st);
	size_t i;
	json_t *x;
	json_array_foreach(list, i, x)
		json_array_append_new(regs, json_pack("{s:s,s:s,s:b}", "value", jstr0(x, "code"), "label",
						      jstr0(x, "name"), "selected",
						      strcmp(jstr0(values, "registry"), jstr0(x, "code")) == 0));
	json_decref(list);
	json_object_set_new(ctx, "registries", regs);
	for (const char *const *b = (const char *const[]){ "via_api", "via_db", "via_file", "open", NULL }; *b; b++) {
		json_t *v = json_object_get(values, *b);
		int on = json_is_true(v) || (json_is_string(v) && (strcmp(json_string_value(v), "1") == 0 ||
								  strcmp(json_string_value(v), "on") == 0 ||
								  strcmp(json_string_value(v), "true") == 0));
		json_object_set_new(ctx, arena_printf(r->arena, "checked_%s", *b), json_boolean(on));
	}
	const char *code = req_param(r, "code");
	if (code != NULL) {
		if (json_object_get(ctx, "entry") == NULL) {
			json_t *e = share_catalogue_get(r->st, code);
			if (e != NULL)
				json_object_set_new(ctx, "entry", e);
		}
		json_object_set_new(ctx, "action", json_string(arena_printf(r->arena, "/share/catalogue/%s/edit", code)));
	} else {
		json_object_set_new(ctx, "action", json_string("/share/catalogue/new"));
	}
	if (json_object_get(ctx, "title") == NULL)
		json_object_set_new(ctx, "title", json_string(code ? "修改目录条目" : "新建目录条目"));
}

/* GET /share/catalogue/new  (?registry=CODE preselects a registry) */
static void page_entry_new(struct req *r)
{
	const char *reg = req_in_str(r, "registry");
	json_t *depts = editable_depts(r, NULL);
	const char *first = json_array_size(depts) ? jstr0(json_array_get(depts, 0), "value") : "";
	json_t *ctx = json_pack("{s:s,s:{s:s,s:s,s:s,s:s,s:s,s:s,s:b}}", "title", "新建目录条目", "values", "class",
				"dept", "format", "数据库", "update_cycle", "每日", "share", "conditional",
				"provider", first, "registry", reg ? reg : "", "via_api", 1);
	json_decref(depts);
	entry_form_fill(r, ctx);
	resp_page(r, 200, "share/catalogue_form", ctx);
}

/* POST /share/catalogue/new */
static void do_entry_new(struct req *r)
{
	const char *code = NULL;
	if (entry_save(r, NULL, &code) == 0)
		resp_redirect(r, arena_printf(r->arena, "/share/catalogue/%s?saved=1", code));
}

/* GET /share/catalogue/{code}/edit  ctx: entry, values (the entry as the form sends it), saved */
static void page_entry_edit(struct req *r)
{
	json_t *e = share_catalogue_get(r->st, req_param(r, "code"));
	if (e == NULL) {
		resp_error(r, 404, MSG_CAT_NOT_FOUND, NULL);
		return;
	}
	if (!can_edit(r, jint(json_object_get(e, "provider"), "id"))) {
		json_decref(e);
		resp_error(r, 403, MSG_NOT_YOUR_DEPT, NULL);
		return;
	}
	static const char *const copy[] = { "code", "class", "class_code", "name", "abstract", "format",
					    "share", "share_cond", "via_api", "via_db", "via_file", "open",
					    "open_cond", "update_cycle", "released_on", "version", NULL };
	json_t *values = json_object();
	for (int k = 0; copy[k]; k++) {
		json_t *v = json_object_get(e, copy[k]);
		if (v != NULL && !json_is_null(v))
			json_object_set(values, copy[k], v);
	}
	json_object_set_new(values, "provider", json_string(jstr0(json_object_get(e, "provider"), "code")));
	json_t *reg = json_object_get(e, "registry");
	json_object_set_new(values, "registry", json_string(json_is_string(reg) ? json_string_value(reg) : ""));
	char *it = items_to_text(json_object_get(e, "items"));
	json_object_set_new(values, "items", json_string(it));
	free(it);
	struct buf b = BUF_INIT(8192);
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(e, "related"), i, c)
		buf_addf(&b, "%s%s", i ? "," : "", json_string_value(c));
	json_object_set_new(values, "related", json_string(b.data ? b.data : ""));
	buf_release(&b);
	json_t *ctx = json_pack("{s:s,s:o,s:o}", "title", "修改目录条目", "entry", e, "values", values);
	entry_form_fill(r, ctx);
	resp_page(r, 200, "share/catalogue_form", ctx);
}

/* POST /share/catalogue/{code}/edit */
static void do_entry_edit(struct req *r)
{
	json_t *cur = share_catalogue_get(r->st, req_param(r, "code"));
	if (cur == NULL) {
		resp_error(r, 404, MSG_CAT_NOT_FOUND, NULL);
		return;
	}
	const char *code = NULL;
	int rc = entry_save(r, cur, &code);
	json_decref(cur);
	if (rc == 0)
		resp_redirect(r, arena_printf(r->arena, "/share/catalogue/%s?saved=1", code));
}

static void api_saved(struct req *r, const char *code, int status)
{
	json_t *e = share_catalogue_get(r->st, code);
	if (e == NULL) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	r->location = arena_printf(r->arena, "/api/v1/catalogue/%s", code);
	resp_json(r, status, e);
}

/* POST /api/v1/catalogue */
static void api_entry_create(struct req *r)
{
	const char *code = NULL;
	if (entry_save(r, NULL, &code) == 0)
		api_saved(r, code, 201);
}

/* PUT /api/v1/catalogue/{code} */
static void api_entry_update(struct req *r)
{
	json_t *cur = share_catalogue_get(r->st, req_param(r, "code"));
	if (cur == NULL) {
		resp_error(r, 404, MSG_CAT_NOT_FOUND, NULL);
		return;
	}
	const char *code = NULL;
	int rc = entry_save(r, cur, &code);
	json_decref(cur);
	if (rc == 0)
		api_saved(r, code, 200);
}

/* ------------------------------------------------------------ export */

static void send_bytes(struct req *r, const char *ctype, const char *filename, const char *data, size_t len)
{
	if (r->answered)
		return;
	r->answered = 1;
	buf_reset(&r->out);
	r->status = 200;
	r->ctype = ctype;
	r->cache_control = NULL;
	r->csp = NULL;
	if (buf_add(&r->out, data, len) != 0) {
		r->answered = 0;
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	if (r->nextra < (int)(sizeof r->extra_hdr_name / sizeof r->extra_hdr_name[0])) {
		r->extra_hdr_name[r->nextra] = "Content-Disposition";
		r->extra_hdr_val[r->nextra++] = arena_printf(r->arena, "attachment; filename=\"%s\"", filename);
	}
}

/* The export's columns, in order. */
static const enum msg_id export_cols[] = {
	MSG_CAT_COL_CLASS, MSG_CAT_COL_CLASS_CODE, MSG_CAT_COL_NAME, MSG_CAT_COL_CODE, MSG_CAT_COL_GB_CODE,
	MSG_CAT_COL_PROVIDER, MSG_CAT_COL_PROVIDER_CODE, MSG_CAT_COL_ABSTRACT, MSG_CAT_COL_FORMAT,
	MSG_CAT_COL_ITEMS, MSG_CAT_COL_SHARE, MSG_CAT_COL_SHARE_COND, MSG_CAT_COL_METHOD, MSG_CAT_COL_OPEN,
	MSG_CAT_COL_OPEN_COND, MSG_CAT_COL_CYCLE, MSG_CAT_COL_RELEASED, MSG_CAT_COL_RELATED, MSG_CAT_COL_REGISTRY,
};
#define NCOLS (sizeof export_cols / sizeof export_cols[0])

/* The cells of one entry in export_cols order (arena strings). */
static void export_row(struct req *r, json_t *e, const char *cells[NCOLS])
{
	struct buf b = BUF_INIT(1u << 20);
	size_t i;
	json_t *it;
	json_array_foreach(json_object_get(e, "items"), i, it)
		buf_addf(&b, "%s%s(%s, %s, %s)", i ? "; " : "", jstr0(it, "name"), jstr0(it, "label"),
			 jstr0(it, "type_label"), jstr0(it, "share_label"));
	const char *items = arena_strdup(r->arena, b.data ? b.data : "");
	buf_reset(&b);
	json_array_foreach(json_object_get(e, "related"), i, it)
		buf_addf(&b, "%s%s", i ? "," : "", json_string_value(it));
	const char *related = arena_strdup(r->arena, b.data ? b.data : "");
	buf_release(&b);
	json_t *prov = json_object_get(e, "provider");
	const char *v[NCOLS] = {
		jstr0(e, "class_label"), jstr0(e, "class_code"), jstr0(e, "name"), jstr0(e, "code"),
		jstr0(e, "gb_code"), jstr0(prov, "name"), jstr0(prov, "code"), jstr0(e, "abstract"),
		jstr0(e, "format"), items, jstr0(e, "share_label"), jstr0(e, "share_cond"),
		jstr0(e, "share_method_label"), msg(json_is_true(json_object_get(e, "open")) ? MSG_CAT_YES : MSG_CAT_NO),
		jstr0(e, "open_cond"), jstr0(e, "update_cycle"), jstr0(e, "released_on"), related, jstr0(e, "registry"),
	};
	for (size_t k = 0; k < NCOLS; k++)
		cells[k] = arena_strdup(r->arena, v[k]);
}

/* A cell of the catalogue's CSV: the entries' texts are staff's, guarded against formulas. */
static void csv_cell(struct buf *b, const char *s, int last)
{
	csvw_add(b, s, 1);
	buf_addstr(b, last ? "\r\n" : ",");
}

static int export_xlsx(struct req *r, json_t *all, struct buf *out)
{
	const char *dir = http_ctx() && http_ctx()->conf ? http_ctx()->conf->data : "/tmp";
	char *path = xasprintf("%s/.catalogue-export-XXXXXX", dir);
	int fd = mkstemp(path), rc = -1;
	if (fd < 0) {
		log_error("catalogue export: mkstemp %s: %s", path, strerror(errno));
		free(path);
		return -1;
	}
	close(fd);
	lxw_workbook *wb = workbook_new(path);
	lxw_worksheet *ws = wb ? workbook_add_worksheet(wb, msg(MSG_CAT_EXPORT_NAME)) : NULL;
	if (ws == NULL) {
		if (wb)
			workbook_close(wb);
		goto out;
	}
	lxw_format *bold = workbook_add_format(wb);
	format_set_bold(bold);
	for (size_t k = 0; k < NCOLS; k++)
		worksheet_write_string(ws, 0, (lxw_col_t)k, msg(export_cols[k]), bold);
	worksheet_set_column(ws, 0, (lxw_col_t)(NCOLS - 1), 18, NULL);
	size_t i;
	json_t *e;
	json_array_foreach(all, i, e) {
		const char *cells[NCOLS];
		export_row(r, e, cells);
		for (size_t k = 0; k < NCOLS; k++)
			if (cells[k][0])
				worksheet_write_string(ws, (lxw_row_t)(i + 1), (lxw_col_t)k, cells[k], NULL);
	}
	if (workbook_close(wb) != LXW_NO_ERROR)
		goto out;
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		goto out;
	char chunk[65536];
	size_t n;
	rc = 0;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		if (buf_add(out, chunk, n) != 0) {
			rc = -1;
			break;
		}
	if (ferror(f))
		rc = -1;
	fclose(f);
out:
	unlink(path);
	free(path);
	return rc;
}

/* Every entry (refreshed from the registries), as JSON; NULL on a store failure. */
static json_t *all_entries(struct req *r)
{
	if (share_catalogue_refresh(r->st) != 0)
		log_warn("catalogue: refresh from registries failed");
	struct store_res *res = NULL;
	if (store_query(r->st, sql[S_ALL], NULL, 0, &res) != STORE_OK)
		return NULL;
	json_t *all = json_array();
	for (int i = 0; i < store_res_rows(res); i++)
		json_array_append_new(all, entry_of(res, i));
	store_res_free(res);
	return all;
}

/* GET /share/catalogue/export?format=csv|json|xlsx and GET /api/v1/catalogue/export */
static void do_export(struct req *r)
{
	const char *fmt = req_in_str(r, "format");
	if (fmt == NULL)
		fmt = "csv";
	json_t *all = all_entries(r);
	if (all == NULL) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	if (strcmp(fmt, "json") == 0) {
		json_t *doc = json_pack("{s:I,s:o}", "count", (json_int_t)json_array_size(all), "items", all);
		char *s = json_dumps(doc, JSON_COMPACT);
		json_decref(doc);
		if (s == NULL) {
			resp_error(r, 500, MSG_HTTP_500, NULL);
			return;
		}
		send_bytes(r, "application/json; charset=utf-8", "catalogue.json", s, strlen(s));
		free(s);
		return;
	}
	struct buf b = BUF_INIT(64u << 20);
	int rc = 0;
	if (strcmp(fmt, "xlsx") == 0) {
		rc = export_xlsx(r, all, &b);
	} else {
		buf_addstr(&b, "\xEF\xBB\xBF");   /* BOM: spreadsheet programs then read UTF-8 */
		for (size_t k = 0; k < NCOLS; k++)
			csv_cell(&b, msg(export_cols[k]), k + 1 == NCOLS);
		size_t i;
		json_t *e;
		json_array_foreach(all, i, e) {
			const char *cells[NCOLS];
			export_row(r, e, cells);
			for (size_t k = 0; k < NCOLS; k++)
				csv_cell(&b, cells[k], k + 1 == NCOLS);
		}
	}
	json_decref(all);
	if (rc != 0 || b.data == NULL) {
		buf_release(&b);
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	if (strcmp(fmt, "xlsx") == 0)
		send_bytes(r, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "catalogue.xlsx",
			   b.data, b.len);
	else
		send_bytes(r, "text/csv; charset=utf-8", "catalogue.csv", b.data, b.len);
	buf_release(&b);
}

/* ------------------------------------------------------------ home */

/* GET /share  ctx: dept (acting department {id,name}), counts {catalogue, registries}, is_dept_admin, is_admin */
static void page_home(struct req *r)
{
	int64_t total = 0;
	if (share_catalogue_refresh(r->st) != 0)
		log_warn("catalogue: refresh from registries failed");
	if (store_query_int(r->st, sql[S_TOTAL], NULL, 0, &total) < 0)
		total = 0;
	json_t *regs = registry_list(r->st);
	int64_t acting = share_acting_dept(r);
	json_t *dj = acting > 0 ? dept_json(r->st, acting) : NULL;
	json_t *ctx = json_pack("{s:s,s:{s:I,s:I}}", "title", "信息资源共享", "counts", "catalogue", (json_int_t)total,
				"registries", (json_int_t)json_array_size(regs));
	json_decref(regs);
	if (dj != NULL)
		json_object_set_new(ctx, "dept", dj);
	resp_page(r, 200, "share/home", ctx);
}

/* ------------------------------------------------------------ demo */

struct demo_entry {
	const char *code, *registry, *klass, *class_code, *name, *provider, *abstract, *format, *items;
	const char *share, *share_cond;
	int via_api, via_db, via_file, open;
	const char *open_cond, *cycle, *released, *related;
};

static const struct demo_entry demo[] = {
	{ "psb-00001", "population", "basic", "101001", "人口基础信息", NULL,
	  "全市户籍和常住人口的身份证号、姓名、性别、出生日期、住址、联系电话和户号，由公安局依户籍登记维护，是人口基础信息库的权威来源。",
	  "数据库", NULL, NULL, NULL, 1, 1, 0, 0, NULL, "实时", "2026-01-15", "amr-00001,psb-00002" },
	{ "amr-00001", "enterprise", "basic", "102001", "法人基础信息", NULL,
	  "在本市登记的企业法人的统一社会信用代码、名称、法定代表人、注册资本、成立日期、住所和登记状态；法定代表人信息派生自人口基础信息。",
	  "数据库", NULL, NULL, NULL, 1, 1, 1, 1, "企业名称、统一社会信用代码和登记状态向社会开放", "每日", "2026-01-15",
	  "psb-00001,amr-00002" },
	{ "nr-00001", "housing", "basic", "103001", "不动产登记信息", NULL,
	  "不动产权证书号、权利人身份证号、建筑面积、坐落和用途，供社会救助、住房保障等业务核查家庭住房情况。",
	  "数据库", NULL, NULL, NULL, 1, 0, 0, 0, NULL, "每日", "2026-02-01", "hpf-00001" },
	{ "psb-00002", "vehicle", "theme", "205001", "机动车登记信息", NULL,
	  "机动车号牌号码、所有人身份证号、车辆识别代号、品牌型号和注册登记日期，用于社会救助家庭财产核查等。",
	  "数据库", NULL, NULL, NULL, 1, 0, 0, 0, NULL, "每日", "2026-02-01", "psb-00001" },
	{ "fin-00001", "deposit", "dept", "312001", "个人存款账户信息", NULL,
	  "在本市金融机构开立的个人存款账户号、户主身份证号、开户银行和余额，仅在申请人授权后用于低保等家庭经济状况核对。",
	  "数据库", NULL, NULL, NULL, 1, 0, 0, 0, NULL, "每月", "2026-03-01", "" },
	{ "hpf-00001", "pfund", "dept", "313001", "住房公积金缴存信息", NULL,
	  "住房公积金个人账户号、缴存人身份证号、账户余额和账户状态，用于住房保障和社会救助家庭经济状况核对。",
	  "数据库", NULL, NULL, NULL, 1, 0, 0, 0, NULL, "每月", "2026-03-01", "nr-00001" },
	{ "nr-00002", NULL, "basic", "103002", "全市行政区划代码表", "nr",
	  "全市区、街道（镇）、社区（村）的行政区划代码和名称，按民政部门公布的区划调整及时更新。",
	  "电子表格",
	  "code | 区划代码 | text\nname | 区划名称 | text\nlevel | 层级 | text\nparent_code | 上级区划代码 | text\n",
	  "unconditional", NULL, 0, 0, 1, 1, "以 CSV 和 XLSX 文件向社会开放下载", "不定期", "2026-01-05", "" },
	{ "amr-00002", NULL, "theme", "202003", "企业年报汇总", "amr",
	  "按行业和区汇总的企业年度报告公示数据：从业人数、资产总额、营业总收入、纳税总额，用于经济运行分析和监管。",
	  "电子表格",
	  "year | 年度 | integer\ndistrict | 区 | text\nindustry | 行业 | text\nenterprises | 企业数 | integer\n"
	  "employees | 从业人数 | integer\nassets | 资产总额（万元） | decimal\nrevenue | 营业总收入（万元） | decimal\n"
	  "tax | 纳税总额（万元） | decimal | 有条件共享 | 仅用于税收分析\n",
	  "conditional", "用于经济运行分析、行业监管等履职需要，经市场监督管理局审核同意后共享", 1, 0, 1, 0, NULL,
	  "每年", "2026-06-30", "amr-00001" },
};

int share_catalogue_demo(struct store *st)
{
	int64_t have = 0;
	if (store_query_int(st, sql[S_TOTAL], NULL, 0, &have) < 0)
		return -1;
	if (have > 0)
		return 0;
	int64_t now = time(NULL), n = 0;
	for (size_t i = 0; i < sizeof demo / sizeof demo[0]; i++) {
		const struct demo_entry *d = &demo[i];
		const struct registry *reg = d->registry ? registry_get(st, d->registry) : NULL;
		json_t *items = NULL;
		int64_t provider = 0, reg_version = 0;
		const char *share = d->share, *cond = d->share_cond;
		int open = d->open;
		if (d->registry != NULL) {
			if (reg == NULL) {
				log_warn("catalogue demo: registry %s not there, entry %s skipped", d->registry, d->code);
				continue;
			}
			items = registry_items(st, reg);
			provider = reg->owner_dept_id;
			share = reg_share_name(reg->def.share);
			cond = reg->def.share_cond;
			open = reg->def.open;
			reg_version = reg->version;
		} else {
			enum msg_id why;
			char detail[192];
			if (dept_find_code(st, d->provider, &provider) != 0) {
				log_warn("catalogue demo: department %s missing, entry %s skipped", d->provider, d->code);
				continue;
			}
			if (items_parse(d->items, share_of(share), &items, &why, detail, sizeof detail) != 0) {
				log_error("catalogue demo: %s: %s", d->code, detail);
				return -1;
			}
		}
		char *ij = json_dumps(items, JSON_COMPACT), *it = items_text(items);
		json_decref(items);
		struct sval v[] = {
			SVT(d->code), SVT(d->registry), SVT(d->klass), SVT(d->class_code), SVT(d->name), SVI(provider),
			SVT(d->abstract), SVT(d->format), SVT(ij), SVT(it), SVT(share), SVT(cond), SVI(d->via_api),
			SVI(d->via_db), SVI(d->via_file), SVI(open ? 1 : 0), SVT(open ? d->open_cond : NULL), SVT(d->cycle),
			SVT(d->released), SVT(d->related), SVI(now), SVT("system"), SVI(0), SVI(reg_version),
		};
		int rc = store_exec(st, sql[S_INSERT], v, 24, NULL);
		free(ij);
		free(it);
		if (rc != STORE_OK)
			return -1;
		n++;
	}
	char *detail = xasprintf("{\"entries\":%lld}", (long long)n);
	struct audit_entry a = { 0, "system", "catalogue.demo", "catalogue", 0, NULL, detail };
	int rc = audit_append(st, &a);
	free(detail);
	return rc == 0 ? 0 : -1;
}

/* ------------------------------------------------------------ routes */

static const struct field_spec fs_list[] = {
	{ "q", FT_TEXT, 0, 0, 50, NULL, "关键词" },
	{ "class", FT_CHOICE, 0, 0, 0, cat_classes, "信息资源分类" },
	{ "share", FT_CHOICE, 0, 0, 0, cat_shares, "共享类型" },
	{ "provider", FT_DEPT_CODE, 0, 0, 0, NULL, "提供方" },
	{ "after", FT_INT, 0, 0, INT64_MAX, NULL, "游标" },
	{ "limit", FT_INT, 0, 1, CAT_PAGE_MAX, NULL, "每页条数" },
	{ NULL },
};

static const struct field_spec fs_entry_page[] = {
	{ "saved", FT_TEXT, 0, 0, 8, NULL, "已保存" },
	{ "dept", FT_INT, 0, 1, INT64_MAX, NULL, "部门" },
	{ NULL },
};

static const struct field_spec fs_new_page[] = {
	{ "registry", FT_TEXT, 0, 0, 32, NULL, "登记簿" },
	{ NULL },
};

static const struct field_spec fs_export[] = {
	{ "format", FT_CHOICE, 0, 0, 0, cat_export_formats, "导出格式" },
	{ NULL },
};

static const struct field_spec fs_home[] = {
	{ "dept", FT_INT, 0, 1, INT64_MAX, NULL, "部门" },
	{ NULL },
};

/* An entry as the form and the API send it (items as text, one a line). */
static const struct field_spec fs_entry[] = {
	{ "code", FT_TEXT, 0, 0, 40, NULL, "信息资源代码" },
	{ "registry", FT_TEXT, 0, 0, 32, NULL, "登记簿" },
	{ "class", FT_CHOICE, FS_REQUIRED, 0, 0, cat_classes, "信息资源分类" },
	{ "class_code", FT_TEXT, FS_REQUIRED, 1, 9, NULL, "分类代码" },
	{ "name", FT_TEXT, FS_REQUIRED, 2, 100, NULL, "信息资源名称" },
	{ "provider", FT_DEPT_CODE, 0, 0, 0, NULL, "信息资源提供方" },
	{ "abstract", FT_TEXTAREA, FS_REQUIRED, 1, 2000, NULL, "信息资源摘要" },
	{ "format", FT_CHOICE, FS_REQUIRED, 0, 0, cat_formats, "信息资源格式" },
	{ "items", FT_TEXTAREA, 0, 0, 20000, NULL, "信息项" },
	{ "share", FT_CHOICE, 0, 0, 0, cat_shares, "共享类型" },
	{ "share_cond", FT_TEXTAREA, 0, 0, 2000, NULL, "共享条件" },
	{ "via_api", FT_BOOL, 0, 0, 0, NULL, "共享方式：接口" },
	{ "via_db", FT_BOOL, 0, 0, 0, NULL, "共享方式：库表" },
	{ "via_file", FT_BOOL, 0, 0, 0, NULL, "共享方式：文件下载" },
	{ "open", FT_BOOL, 0, 0, 0, NULL, "是否向社会开放" },
	{ "open_cond", FT_TEXTAREA, 0, 0, 1000, NULL, "开放条件" },
	{ "update_cycle", FT_CHOICE, FS_REQUIRED, 0, 0, cat_cycles, "更新周期" },
	{ "released_on", FT_DATE, 0, 0, 0, NULL, "发布日期" },
	{ "related", FT_TEXT, 0, 0, 500, NULL, "关联资源代码" },
	{ "version", FT_INT, 0, 1, INT64_MAX, NULL, "版本" },
	{ NULL },
};

#define CSRF RF_CSRF
#define API (RF_API | RF_CSRF)
const struct route share_catalogue_routes[] = {
	{ HM_GET, "/share", page_home, ROLE_STAFF, 0, fs_home, NULL, NULL, "Information sharing home" },
	{ HM_GET, "/share/catalogue", page_catalogue, ROLE_STAFF, 0, fs_list, NULL, NULL,
	  "The resource catalogue: browse and search" },
	{ HM_GET, "/share/catalogue/export", do_export, ROLE_STAFF, 0, fs_export, NULL, NULL,
	  "Export the catalogue as CSV, JSON or XLSX" },
	{ HM_GET, "/share/catalogue/new", page_entry_new, ROLE_DEPT_ADMIN, 0, fs_new_page, NULL, NULL,
	  "New catalogue entry page" },
	{ HM_POST, "/share/catalogue/new", do_entry_new, ROLE_DEPT_ADMIN, CSRF, fs_entry, "share/catalogue_form",
	  entry_form_fill, "Create a catalogue entry" },
	{ HM_GET, "/share/catalogue/{code}", page_entry, ROLE_STAFF, 0, fs_entry_page, NULL, NULL,
	  "One catalogue entry with its metadata" },
	{ HM_GET, "/share/catalogue/{code}/edit", page_entry_edit, ROLE_DEPT_ADMIN, 0, NULL, NULL, NULL,
	  "Edit catalogue entry page" },
	{ HM_POST, "/share/catalogue/{code}/edit", do_entry_edit, ROLE_DEPT_ADMIN, CSRF, fs_entry,
	  "share/catalogue_form", entry_form_fill, "Update a catalogue entry" },
	{ HM_GET, "/api/v1/catalogue", api_catalogue, ROLE_STAFF, RF_API, fs_list, NULL, NULL,
	  "Catalogue entries filtered by class, share, provider and q (cursor pagination)" },
	{ HM_GET, "/api/v1/catalogue/export", do_export, ROLE_STAFF, RF_API, fs_export, NULL, NULL,
	  "The whole catalogue as CSV, JSON or XLSX" },
	{ HM_POST, "/api/v1/catalogue", api_entry_create, ROLE_DEPT_ADMIN, API, fs_entry, NULL, NULL,
	  "Create a catalogue entry (items as text, one a line: name | label | type [| share [| condition]])" },
	{ HM_GET, "/api/v1/catalogue/{code}", api_entry, ROLE_STAFF, RF_API, NULL, NULL, NULL,
	  "One catalogue entry" },
	{ HM_PUT, "/api/v1/catalogue/{code}", api_entry_update, ROLE_DEPT_ADMIN, API, fs_entry, NULL, NULL,
	  "Replace a catalogue entry's metadata (version for optimistic locking)" },
	{ 0, NULL, NULL, 0, 0, NULL, NULL, NULL, NULL },
};
