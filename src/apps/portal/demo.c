/*
 * The demo city for `yizhan serve --demo`: a city government with the
 * departments the sample bulletins name, a district, a street and a
 * community, and one account for each role.  Passwords are random per
 * data folder and kept in DATA/demo-credentials.txt (mode 0600) so the
 * start-up banner can show them every time.
 */
#include "apps/portal/portal.h"
#include "core/account.h"
#include "core/audit.h"
#include "core/calendar.h"
#include "core/crypto.h"
#include "core/dept.h"
#include "core/embed.h"
#include "core/log.h"
#include "core/validate.h"
#include "core/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct demo_dept {
	const char *code, *name, *parent, *level;
};

static const struct demo_dept depts[] = {
	{ "gov", "示范市人民政府", NULL, "city" },
	{ "egov", "电子政务办公室", "gov", "city" },
	{ "gsc", "政务服务中心", "gov", "city" },
	{ "amr", "市场监督管理局", "gov", "city" },
	{ "psb", "公安局", "gov", "city" },
	{ "mca", "民政局", "gov", "city" },
	{ "hrss", "人力资源和社会保障局", "gov", "city" },
	{ "housing", "住房和城乡建设局", "gov", "city" },
	{ "tax", "税务局", "gov", "city" },
	{ "edu", "教育局", "gov", "city" },
	{ "health", "卫生健康委员会", "gov", "city" },
	{ "petition", "信访局", "gov", "city" },
	{ "data", "政务服务数据管理局", "gov", "city" },
	{ "nr", "自然资源和规划局", "gov", "city" },
	{ "hpf", "住房公积金管理中心", "gov", "city" },
	{ "fin", "地方金融管理局", "gov", "city" },
	{ "mz", "明珠区人民政府", "gov", "county" },
	{ "mz-gsc", "明珠区政务服务中心", "mz", "county" },
	{ "mz-hb", "海滨街道办事处", "mz", "town" },
	{ "mz-hb-xy", "新苑社区居民委员会", "mz-hb", "village" },
	{ NULL, NULL, NULL, NULL },
};

struct demo_user {
	const char *login, *kind, *name, *dept, *role, *what;
};

static const struct demo_user users[] = {
	{ "admin", "staff", "周海平", "egov", "platform_admin", "平台管理员（电子政务办公室）" },
	{ "li.amr", "staff", "李明", "amr", "dept_admin", "部门管理员（市场监督管理局）" },
	{ "zhang.amr", "staff", "张晓红", "amr", "staff", "工作人员（市场监督管理局）" },
	{ "wang.mca", "staff", "王建国", "mca", "staff", "工作人员（民政局）" },
	{ "sun.mca", "staff", "孙丽", "mca", "dept_admin", "部门管理员（民政局）" },
	{ "zhao.psb", "staff", "赵刚", "psb", "dept_admin", "部门管理员（公安局）" },
	{ "chen", "citizen", "陈小梅", NULL, NULL, "公众" },
	{ "huaxin", "enterprise", "示范市华信科技有限公司", NULL, NULL, "法人" },
	{ NULL, NULL, NULL, NULL, NULL, NULL },
};

/* A valid 身份证号 for 1990-05-17 in 示范市 (region 440106). */
static void demo_idcard(char out[19], const char *seq3)
{
	snprintf(out, 19, "44010619900517%s", seq3);
	out[17] = idcard_check_char(out);
	out[18] = '\0';
}

/* A valid 统一社会信用代码: 9 1 440106 + organisation code + checks. */
static void demo_uscc(char out[19])
{
	char org[9] = "MA5D7K3Q";
	memcpy(out, "91440106", 8);
	memcpy(out + 8, org, 8);
	out[16] = orgcode_check_char(org);
	out[17] = uscc_check_char(out);
	out[18] = '\0';
}

static char *creds_path(const char *data_dir)
{
	return xasprintf("%s/demo-credentials.txt", data_dir);
}

int portal_demo_seed(struct store *st, const struct keys *k, const char *data_dir)
{
	int64_t n = 0;
	if (store_query_int(st, "SELECT COUNT(*) FROM users WHERE login <> 'admin' OR kind <> 'staff'", NULL,
			    0, &n) != STORE_OK)
		return -1;
	if (n > 0)
		return 0;
	char *path = creds_path(data_dir);
	char *tmp = xasprintf("%s.tmp", path);
	struct buf out = BUF_INIT(1u << 16);
	int rc = -1;
	if (store_begin(st) != STORE_OK)
		goto done;
	for (const struct demo_dept *d = depts; d->code; d++) {
		int64_t id = 0, parent = 0;
		if (d->parent && dept_find_code(st, d->parent, &parent) != 0)
			goto fail;
		if (dept_find_code(st, d->code, &id) == 0)
			continue;
		struct dept_in in = { d->code, d->name, parent, d->level, (int64_t)(d - depts) };
		enum msg_id why;
		const char *field;
		if (dept_create(st, &in, &id, &why, &field) != 0) {
			log_error("demo: department %s: %s", d->code, msg(why));
			goto fail;
		}
	}
	/* An `yizhan init` admin without the demo's name keeps working; the demo admin is separate. */
	int64_t existing = 0;
	int have_admin = account_find(st, "admin", &existing) == 0;
	for (const struct demo_user *u = users; u->login; u++) {
		if (have_admin && strcmp(u->login, "admin") == 0)
			continue;
		char pw[17], ident[19], totp[TOTP_SECRET_LEN + 1] = "";
		static const char alpha[] = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
		for (int i = 0; i < 16; i++)
			pw[i] = alpha[random_uniform(sizeof alpha - 1)];
		pw[16] = '\0';
		int citizen = strcmp(u->kind, "citizen") == 0, ent = strcmp(u->kind, "enterprise") == 0;
		if (citizen)
			demo_idcard(ident, "123");
		if (ent)
			demo_uscc(ident);
		struct account_new a = { u->login, u->kind, u->name, (citizen || ent) ? ident : NULL,
					 ent ? "赵经理" : NULL, "13800138000", NULL, pw, 0 };
		int64_t uid = 0, dept = 0;
		enum msg_id why;
		const char *field;
		if (account_create(st, k, &a, &uid, &why, &field) != 0) {
			log_error("demo: account %s: %s", u->login, msg(why));
			goto fail;
		}
		if (u->dept != NULL) {
			if (dept_find_code(st, u->dept, &dept) != 0 ||
			    account_add_role(st, uid, dept, "staff") != 0 ||
			    account_add_role(st, uid, dept, u->role) != 0)
				goto fail;
			/* Staff sign in with a second factor; the demo enrols it ahead. */
			totp_new_secret(totp);
			char *sealed = seal_text(k, totp);
			static const char q[] = "UPDATE users SET totp_sealed = $2, totp_enabled = 1 WHERE id = $1";
			struct sval p[] = { SVI(uid), SVT(sealed) };
			int e = store_exec(st, q, p, 2, NULL);
			free(sealed);
			if (e != STORE_OK)
				goto fail;
		}
		buf_addf(&out, "%-10s %-20s %-16s %-32s %s\n", u->login, pw, totp[0] ? totp : "-", u->what,
			 u->name);
	}
	/* The working-day calendar: every year embedded from calendar/YYYY.txt. */
	for (const struct embed_file *f = embed_calendars; f->name; f++) {
		json_t *rep = NULL;
		int bad = calendar_import(st, (const char *)f->data, f->len, &rep);
		json_decref(rep);
		if (bad != 0) {
			log_error("demo: calendar/%s could not be imported", f->name);
			goto fail;
		}
	}
	struct audit_entry ae = { 0, "system", "demo.seed", NULL, 0, NULL, NULL };
	if (audit_append(st, &ae) != 0)
		goto fail;
	/* The file first, then the commit: a crash between leaves a file and no accounts,
	 * and the next start seeds again and rewrites it. */
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, out.data, out.len) != (ssize_t)out.len || fsync(fd) != 0) {
		log_error("demo: %s: %s", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		goto fail;
	}
	close(fd);
	if (rename(tmp, path) != 0)
		goto fail;
	if (store_commit(st) != STORE_OK)
		goto fail;
	rc = 0;
	goto done;
fail:
	store_rollback(st);
done:
	buf_release(&out);
	free(path);
	free(tmp);
	return rc;
}

void portal_demo_banner(const char *data_dir, const char *url, FILE *f)
{
	char *path = creds_path(data_dir);
	FILE *in = fopen(path, "r");
	fprintf(f, "\n================ 一站 yizhan demo ================\n"
		   "Open %s\n\n", url);
	if (in != NULL) {
		fprintf(f, "%-10s %-20s %-16s %s\n", "login", "password", "TOTP secret", "role");
		char line[512];
		while (fgets(line, sizeof line, in) != NULL)
			fputs(line, f);
		fclose(in);
		fprintf(f, "\nStaff sign in with a second factor: add the TOTP secret to an\n"
			   "authenticator app, or print the current code with\n"
			   "  build/rel/yizhan --data %s user otp LOGIN\n", data_dir);
	}
	fprintf(f, "==================================================\n\n");
	free(path);
}
