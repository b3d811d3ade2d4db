/*
 * cert: electronic certificates (电子证照) of approved applications.
 *
 * When a case of an item with a result name (营业执照, 食品经营许可证 ...) is
 * approved, hall_cert_issue, in the approving transaction, gives it a
 * number unique in the deployment ("<DEPT CODE>" YYYYMMDD and a 6-digit
 * sequence per department and day, from hall_cert_seq), a verification
 * token (16 random bytes as hex), the fields printed on it (kept as JSON so
 * the PDF can be drawn again exactly), and draws the A4 PDF
 * (engines/doc/pdf.h), stores it in the file store and attaches it to the
 * case (public, labelled with the result name); the applicant is told.
 *
 *   GET /hall/verify/{number}?t=TOKEN       public verification page
 *   GET /api/v1/hall/verify/{number}?t=     the same as JSON
 *   GET /hall/cases/{id}/certificate        the PDF (applicant or staff)
 *
 * A number without the right token answers exactly like an unknown number
 * (404), so the page is no oracle for guessing numbers.
 *
 * The demo seed runs before the server knows its data folder: it issues
 * with data_dir NULL, and the PDF is drawn and stored on first download.
 */
#include "apps/hall/hall_int.h"
#include "apps/hall/items.h"
#include "core/audit.h"
#include "core/buf.h"
#include "core/calendar.h"
#include "core/conf.h"
#include "core/crypto.h"
#include "core/files.h"
#include "core/log.h"
#include "core/msg.h"
#include "core/notify.h"
#include "core/validate.h"
#include "core/xalloc.h"
#include "engines/case/case.h"
#include "engines/doc/pdf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CERT_PDF_MAX (4u << 20)

enum {
	S_CASE,
	S_SEQ,
	S_INSERT,
	S_GET_NUMBER,
	S_GET_CASE,
	S_SET_FILE,
	S_APPLICANT,
	S__MAX
};

static const char *const sql[S__MAX] = {
	[S_CASE] = "SELECT c.dept_id, c.applicant_id, c.item_code, c.data, d.code, d.name, u.name "
		   "FROM cases c JOIN departments d ON d.id = c.dept_id "
		   "LEFT JOIN users u ON u.id = c.applicant_id WHERE c.id = $1",
	[S_SEQ] = "INSERT INTO hall_cert_seq (prefix, last) VALUES ($1, 1) "
		  "ON CONFLICT (prefix) DO UPDATE SET last = hall_cert_seq.last + 1 RETURNING last",
	[S_INSERT] = "INSERT INTO hall_certificates (number, case_id, item_code, dept_id, holder, title, "
		     "issuer, issued_on, verify_token, verify_url, fields, revoked, created_at) "
		     "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 0, $12) RETURNING id",
	[S_GET_NUMBER] = "SELECT id, number, case_id, holder, title, issuer, issued_on, verify_token, "
			 "verify_url, fields, file_id, revoked FROM hall_certificates WHERE number = $1",
	[S_GET_CASE] = "SELECT id, number, case_id, holder, title, issuer, issued_on, verify_token, "
		       "verify_url, fields, file_id, revoked FROM hall_certificates WHERE case_id = $1",
	[S_SET_FILE] = "UPDATE hall_certificates SET file_id = $2 WHERE id = $1 AND file_id IS NULL",
	[S_APPLICANT] = "SELECT applicant_id, dept_id FROM cases WHERE id = $1",
};

/* Columns of S_GET_NUMBER and S_GET_CASE. */
enum { C_ID, C_NUMBER, C_CASE, C_HOLDER, C_TITLE, C_ISSUER, C_ISSUED, C_TOKEN, C_URL, C_FIELDS, C_FILE,
       C_REVOKED };

static const char *const pdf_allowed[] = { "application/pdf", NULL };

/* The registration authority's region (示范市): the 3rd-8th characters of new 统一社会信用代码. */
#define CERT_USCC_PREFIX "91440106"

/* A new valid 统一社会信用代码 (GB 32100) for a newly registered company: 9 (工商) 1 (企业),
 * the region, a random organisation code with its GB 11714 check, the MOD 31 check. */
static void new_uscc(char out[19])
{
	static const char set[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";
	for (;;) {
		memcpy(out, CERT_USCC_PREFIX, 8);
		for (int i = 0; i < 8; i++)
			out[8 + i] = set[random_uniform(sizeof set - 1)];
		out[16] = orgcode_check_char(out + 8);
		out[17] = '\0';
		if (out[16] == '\0')
			continue;
		out[17] = uscc_check_char(out);
		out[18] = '\0';
		if (out[17] != '\0' && validate_uscc(out) == 0)
			return;
	}
}

/* "2026-11-22" -> "2026年11月22日" into out. */
static void date_cn(const char *iso, char *out, size_t n)
{
	cal_day d;
	int y, m, dd;
	if (iso == NULL || cal_day_parse(iso, &d) != 0) {
		snprintf(out, n, "%s", iso ? iso : "");
		return;
	}
	cal_day_to_ymd(d, &y, &m, &dd);
	snprintf(out, n, "%d年%d月%d日", y, m, dd);
}

/* A form value as text (strings as they are, integers in decimal); NULL when absent. */
static char *value_text(json_t *v)
{
	if (json_is_string(v))
		return xstrdup(json_string_value(v));
	if (json_is_integer(v))
		return xasprintf("%lld", (long long)json_integer_value(v));
	if (json_is_true(v))
		return xstrdup("是");
	if (json_is_false(v))
		return xstrdup("否");
	return NULL;
}

static void add_field(json_t *fields, const char *label, const char *value)
{
	if (label != NULL && value != NULL && *value != '\0')
		json_array_append_new(fields, json_pack("[s,s]", label, value));
}

/*
 * The printed fields and the holder: a company registration (the form has
 * company_name) prints the business licence's fields with a new 统一社会信用代码;
 * any other item prints the holder (the applicant) and the item's form
 * fields, identifiers masked.
 */
static json_t *cert_fields(json_t *item, json_t *data, const char *applicant, const char **holder)
{
	json_t *f = json_array();
	const char *company = hall_jstr(data, "company_name");
	if (company != NULL) {
		char uscc[19], today[11], founded[40];
		new_uscc(uscc);
		cal_day_format(cal_day_of(time(NULL)), today);
		date_cn(today, founded, sizeof founded);
		char *cap = value_text(json_object_get(data, "reg_capital"));
		char *capital = cap ? xasprintf("%s万元", cap) : NULL;
		*holder = company;
		add_field(f, msg(MSG_HALL_CERT_NAME), company);
		add_field(f, msg(MSG_HALL_CERT_USCC), uscc);
		add_field(f, msg(MSG_HALL_CERT_TYPE), msg(MSG_HALL_CERT_TYPE_LLC));
		add_field(f, msg(MSG_HALL_CERT_LEGAL_REP), hall_jstr(data, "legal_rep"));
		add_field(f, msg(MSG_HALL_CERT_CAPITAL), capital);
		add_field(f, msg(MSG_HALL_CERT_FOUNDED), founded);
		add_field(f, msg(MSG_HALL_CERT_ADDRESS), hall_jstr(data, "address"));
		add_field(f, msg(MSG_HALL_CERT_SCOPE), hall_jstr(data, "business_scope"));
		free(cap);
		free(capital);
		return f;
	}
	*holder = applicant ? applicant : "";
	add_field(f, msg(MSG_HALL_CERT_HOLDER), *holder);
	size_t i;
	json_t *ff;
	json_array_foreach(json_object_get(item, "form"), i, ff) {
		if (json_array_size(f) >= PDF_FIELDS_MAX)
			break;
		const char *type = hall_jstr(ff, "type");
		char *v = value_text(json_object_get(data, hall_jstr(ff, "name") ? hall_jstr(ff, "name") : ""));
		if (v == NULL)
			continue;
		if (type && strcmp(type, "idcard") == 0) {
			char m[19];
			idcard_mask(v, m);
			add_field(f, hall_jstr(ff, "label"), m);
		} else if (type && strcmp(type, "phone") == 0 && strlen(v) == 11) {
			char m[12];
			snprintf(m, sizeof m, "%.3s****%s", v, v + 7);
			add_field(f, hall_jstr(ff, "label"), m);
		} else {
			add_field(f, hall_jstr(ff, "label"), v);
		}
		free(v);
	}
	return f;
}

/* Draws the certificate of res; 0 with the PDF in out, -1 (logged).  A relative
 * verification link (issued without a base URL: the demo) is prefixed with base. */
static int cert_draw(const struct store_res *res, const char *base, struct buf *out)
{
	json_error_t je;
	json_t *fields = json_loads(store_res_text(res, 0, C_FIELDS), 0, &je);
	struct pdf_field pf[PDF_FIELDS_MAX];
	int n = 0;
	size_t i;
	json_t *x;
	json_array_foreach(fields, i, x) {
		if (n == PDF_FIELDS_MAX)
			break;
		pf[n].label = json_string_value(json_array_get(x, 0));
		pf[n].value = json_string_value(json_array_get(x, 1));
		if (pf[n].label && pf[n].value)
			n++;
	}
	char issued[40];
	date_cn(store_res_text(res, 0, C_ISSUED), issued, sizeof issued);
	const char *url = store_res_text(res, 0, C_URL);
	char *full = NULL;
	if (url[0] == '/' && base != NULL && *base != '\0') {
		size_t bl = strlen(base);
		full = xasprintf("%.*s%s", (int)(base[bl - 1] == '/' ? bl - 1 : bl), base, url);
		url = full;
	}
	struct pdf_certificate c = {
		.title = store_res_text(res, 0, C_TITLE),
		.subtitle = NULL,
		.number = store_res_text(res, 0, C_NUMBER),
		.fields = pf,
		.nfields = n,
		.issuer = store_res_text(res, 0, C_ISSUER),
		.issued_on = issued,
		.verify_url = url,
		.note = msg(MSG_HALL_CERT_NOTE),
		.number_label = msg(MSG_HALL_CERT_NUMBER),
	};
	int rc = pdf_render_certificate(&c, out);
	free(full);
	json_decref(fields);
	return rc;
}

/*
 * Draws the certificate of res (one row), stores the PDF, records it on
 * the row and attaches it to the case, in the caller's transaction.
 * 0 with *file_id, -1 (logged).
 */
static int cert_store_pdf(struct store *st, const char *data_dir, const char *base, const struct store_res *res,
			  const struct case_actor *who, int64_t *file_id)
{
	struct buf pdf = BUF_INIT(CERT_PDF_MAX);
	struct file_info fi = { 0 };
	enum msg_id why = MSG_NONE;
	int rc = -1;
	if (cert_draw(res, base, &pdf) != 0)
		goto out;
	char *name = xasprintf("%s-%s.pdf", store_res_text(res, 0, C_TITLE), store_res_text(res, 0, C_NUMBER));
	int put = files_put(st, data_dir, pdf.data, pdf.len, name, pdf_allowed, CERT_PDF_MAX, 0, &fi, &why);
	free(name);
	if (put != 0) {
		log_error("hall: certificate %s: storing the PDF failed: %s", store_res_text(res, 0, C_NUMBER),
			  msg(why));
		goto out;
	}
	int64_t cert_id = store_res_int(res, 0, C_ID), case_id = store_res_int(res, 0, C_CASE);
	struct sval v[] = { SVI(cert_id), SVI(fi.id) };
	if (store_exec(st, sql[S_SET_FILE], v, 2, NULL) != STORE_OK)
		goto out;
	enum case_rc crc = case_attach(st, case_id, who, fi.id, store_res_text(res, 0, C_TITLE), 1);
	if (crc != CASE_OK) {
		log_error("hall: certificate %s: attaching failed: %s", store_res_text(res, 0, C_NUMBER),
			  case_rc_name(crc));
		goto out;
	}
	*file_id = fi.id;
	rc = 0;
out:
	file_info_release(&fi);
	buf_release(&pdf);
	return rc;
}

int hall_cert_issue(struct store *st, const char *data_dir, const char *base_url, int64_t case_id,
		    const struct case_actor *who, char number[64])
{
	struct store_res *res = NULL, *ins = NULL, *row = NULL;
	json_t *item = NULL, *data = NULL, *fields = NULL;
	char *fields_text = NULL, *url = NULL;
	int rc = -1;
	struct sval v[] = { SVI(case_id) };
	if (store_query(st, sql[S_CASE], v, 1, &res) != STORE_OK || store_res_rows(res) != 1)
		goto out;
	const char *item_code = store_res_text(res, 0, 2);
	if (item_code == NULL) {
		rc = 0;
		goto out;
	}
	item = hall_item_json(st, 0, item_code);
	const char *title = item ? hall_jstr(item, "result_name") : NULL;
	if (title == NULL || *title == '\0') {
		rc = 0;
		goto out;
	}
	json_error_t je;
	const char *dt = store_res_text(res, 0, 3);
	data = dt ? json_loads(dt, 0, &je) : NULL;
	if (data == NULL)
		data = json_object();
	int64_t dept = store_res_int(res, 0, 0), applicant = store_res_int(res, 0, 1);
	const char *holder = NULL;
	fields = cert_fields(item, data, store_res_text(res, 0, 6), &holder);

	/* The number: the department's code in capitals (letters and digits), the day, a sequence. */
	char prefix[40], today[11], num[64], token[33];
	size_t k = 0;
	for (const char *p = store_res_text(res, 0, 4); p && *p && k < 24; p++)
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9'))
			prefix[k++] = (char)(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p);
	cal_day day = cal_day_of(time(NULL));
	int y, m, d;
	cal_day_to_ymd(day, &y, &m, &d);
	snprintf(prefix + k, sizeof prefix - k, "%04d%02d%02d", y, m, d);
	cal_day_format(day, today);
	struct sval sv[] = { SVT(prefix) };
	if (store_query(st, sql[S_SEQ], sv, 1, &ins) != STORE_OK || store_res_rows(ins) != 1)
		goto out;
	snprintf(num, sizeof num, "%s%06lld", prefix, (long long)store_res_int(ins, 0, 0));
	store_res_free(ins);
	ins = NULL;
	random_hex(token, 16);
	const char *base = base_url && *base_url ? base_url : "/";
	size_t bl = strlen(base);
	url = xasprintf("%.*s/hall/verify/%s?t=%s", (int)(bl > 0 && base[bl - 1] == '/' ? bl - 1 : bl), base, num,
			token);
	fields_text = json_dumps(fields, JSON_COMPACT);
	struct sval iv[] = { SVT(num), SVI(case_id), SVT(item_code), SVI(dept), SVT(holder), SVT(title),
			     SVT(store_res_text(res, 0, 5)), SVT(today), SVT(token), SVT(url), SVT(fields_text),
			     SVI(time(NULL)) };
	if (store_query(st, sql[S_INSERT], iv, 12, &ins) != STORE_OK || store_res_rows(ins) != 1)
		goto out;
	if (data_dir != NULL) {
		int64_t file_id = 0;
		if (store_query(st, sql[S_GET_CASE], v, 1, &row) != STORE_OK || store_res_rows(row) != 1 ||
		    cert_store_pdf(st, data_dir, base_url, row, who, &file_id) != 0)
			goto out;
	}
	if (applicant > 0) {
		char *body = xasprintf("%s（证照编号 %s）已签发，可在办件页面下载，扫描证照上的二维码可核验真伪。", title, num);
		char *link = xasprintf("/hall/cases/%lld", (long long)case_id);
		char *dedup = xasprintf("case:%lld:certificate", (long long)case_id);
		int nrc = notify_user(st, applicant, "hall.certificate", msg(MSG_HALL_CERT_NOTIFY), body, link, dedup);
		free(body);
		free(link);
		free(dedup);
		if (nrc != 0)
			goto out;
	}
	char *detail = xasprintf("{\"number\":\"%s\"}", num);
	struct audit_entry a = { who ? who->user_id : 0, who && who->name ? who->name : "system",
				 "hall.certificate_issue", NULL, dept, NULL, detail };
	char obj[48];
	snprintf(obj, sizeof obj, "case:%lld", (long long)case_id);
	a.object = obj;
	int arc = audit_append(st, &a);
	free(detail);
	if (arc != 0)
		goto out;
	if (number != NULL)
		snprintf(number, 64, "%s", num);
	rc = 1;
out:
	if (rc < 0)
		log_error("hall: issuing the certificate of case %lld failed", (long long)case_id);
	free(fields_text);
	free(url);
	json_decref(fields);
	json_decref(data);
	json_decref(item);
	store_res_free(row);
	store_res_free(ins);
	store_res_free(res);
	return rc;
}

/* ------------------------------------------------------------- pages */

/* The certificate row of number if token matches; NULL (404 answered) otherwise. */
static struct store_res *cert_verified(struct req *r, const char *number, const char *token)
{
	struct store_res *res = NULL;
	struct sval v[] = { SVT(number) };
	if (number == NULL || strlen(number) > 60) {
		resp_error(r, 404, MSG_HALL_CERT_NOT_FOUND, NULL);
		return NULL;
	}
	if (store_query(r->st, sql[S_GET_NUMBER], v, 1, &res) != STORE_OK) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return NULL;
	}
	if (store_res_rows(res) != 1 || token == NULL ||
	    str_ct_equal(token, store_res_text(res, 0, C_TOKEN)) != 0) {
		store_res_free(res);
		resp_error(r, 404, MSG_HALL_CERT_NOT_FOUND, NULL);
		return NULL;
	}
	return res;
}

static json_t *cert_public_json(const struct store_res *res)
{
	char issued[40];
	date_cn(store_res_text(res, 0, C_ISSUED), issued, sizeof issued);
	int revoked = store_res_int(res, 0, C_REVOKED) != 0;
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:b,s:b,s:s}", "number", store_res_text(res, 0, C_NUMBER),
			 "title", store_res_text(res, 0, C_TITLE), "holder", store_res_text(res, 0, C_HOLDER),
			 "issuer", store_res_text(res, 0, C_ISSUER), "issued_on",
			 store_res_text(res, 0, C_ISSUED), "issued_on_cn", issued, "valid", !revoked, "revoked",
			 revoked, "status", revoked ? "已注销" : "有效");
}

/* GET /hall/verify/{number}?t=  ctx: title, cert {number,title,holder,issuer,issued_on_cn,valid,status} */
void hall_page_verify(struct req *r)
{
	struct store_res *res = cert_verified(r, req_param(r, "number"), req_in_str(r, "t"));
	if (res == NULL)
		return;
	json_t *ctx = json_pack("{s:s,s:o}", "title", "电子证照核验", "cert", cert_public_json(res));
	store_res_free(res);
	resp_page(r, 200, "hall/verify", ctx);
}

/* GET /api/v1/hall/verify/{number}?t= */
void hall_api_verify(struct req *r)
{
	struct store_res *res = cert_verified(r, req_param(r, "number"), req_in_str(r, "t"));
	if (res == NULL)
		return;
	json_t *o = cert_public_json(res);
	store_res_free(res);
	resp_json(r, 200, o);
}

json_t *hall_cert_of_case(struct store *st, int64_t case_id)
{
	struct store_res *res = NULL;
	struct sval v[] = { SVI(case_id) };
	if (store_query(st, sql[S_GET_CASE], v, 1, &res) != STORE_OK)
		return NULL;
	json_t *o = json_null();
	if (store_res_rows(res) == 1) {
		o = cert_public_json(res);
		char *href = xasprintf("/hall/cases/%lld/certificate", (long long)case_id);
		json_object_set_new(o, "href", json_string(href));
		free(href);
	}
	store_res_free(res);
	return o;
}

json_t *hall_certificate_of_case(struct store *st, int64_t case_id)
{
	struct store_res *res = NULL;
	struct sval v[] = { SVI(case_id) };
	if (store_query(st, sql[S_GET_CASE], v, 1, &res) != STORE_OK)
		return NULL;
	json_t *o = json_null();
	if (store_res_rows(res) == 1) {
		int revoked = store_res_int(res, 0, C_REVOKED) != 0;
		char issued[40];
		date_cn(store_res_text(res, 0, C_ISSUED), issued, sizeof issued);
		char *href = xasprintf("/hall/cases/%lld/certificate", (long long)case_id);
		char *verify = xasprintf("/hall/verify/%s?t=%s", store_res_text(res, 0, C_NUMBER),
					 store_res_text(res, 0, C_TOKEN));
		o = json_pack("{s:s,s:s,s:s,s:b,s:s,s:s,s:s}", "number", store_res_text(res, 0, C_NUMBER), "title",
			      store_res_text(res, 0, C_TITLE), "issued_on_cn", issued, "valid", !revoked, "status",
			      revoked ? "已注销" : "有效", "href", href, "verify_href", verify);
		json_object_set_new(o, "file_id", store_res_isnull(res, 0, C_FILE) ? json_null()
						  : json_integer(store_res_int(res, 0, C_FILE)));
		free(verify);
		free(href);
	}
	store_res_free(res);
	return o;
}

/* GET /hall/cases/{id}/certificate: the PDF, for the applicant and the case's staff. */
void hall_cert_download(struct req *r)
{
	int64_t id = 0;
	struct store_res *c = NULL, *res = NULL;
	struct file_info fi = { 0 };
	if (req_param_id(r, "id", &id) != 0)
		return;
	struct sval v[] = { SVI(id) };
	if (store_query(r->st, sql[S_APPLICANT], v, 1, &c) != STORE_OK) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		goto out;
	}
	if (store_res_rows(c) != 1 || (store_res_int(c, 0, 0) != r->who.user_id &&
				       hall_staff_roles(r, store_res_int(c, 0, 1)) == 0)) {
		resp_error(r, 404, MSG_HALL_CASE_NOT_FOUND, NULL);
		goto out;
	}
	if (store_query(r->st, sql[S_GET_CASE], v, 1, &res) != STORE_OK) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		goto out;
	}
	if (store_res_rows(res) != 1) {
		resp_error(r, 404, MSG_HALL_NO_CERT, NULL);
		goto out;
	}
	int64_t file_id = store_res_int(res, 0, C_FILE);
	if (store_res_isnull(res, 0, C_FILE)) {
		/* Issued without a data folder (the demo seed): draw and store it now. */
		struct case_actor sys = { 0, "system", PD_ROLE_SYSTEM | PD_ROLE_SUPERVISOR };
		if (store_begin(r->st) != STORE_OK ||
		    cert_store_pdf(r->st, http_ctx()->conf->data, hall_base_url(r), res, &sys, &file_id) != 0 ||
		    store_commit(r->st) != STORE_OK) {
			store_rollback(r->st);
			resp_error(r, 500, MSG_HTTP_500, NULL);
			goto out;
		}
	}
	int g = files_get(r->st, file_id, &fi);
	if (g != 0) {
		resp_error(r, g < 0 ? 500 : 404, g < 0 ? MSG_HTTP_500 : MSG_HALL_NO_CERT, NULL);
		goto out;
	}
	resp_file(r, &fi, http_ctx()->conf->data, 1);
out:
	file_info_release(&fi);
	store_res_free(res);
	store_res_free(c);
}
