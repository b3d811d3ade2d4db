/*
 * yizhan: the command line.  `yizhan serve` runs the platform; the other
 * commands manage it.  Every command answers --help.
 */
#include "apps/hall/hall.h"
#include "apps/portal/portal.h"
#include "apps/share/share.h"
#include "core/account.h"
#include "core/apitoken.h"
#include "core/audit.h"
#include "core/auth.h"
#include "core/calendar.h"
#include "core/conf.h"
#include "core/crypto.h"
#include "core/dept.h"
#include "core/embed.h"
#include "core/http.h"
#include "core/jobs.h"
#include "core/log.h"
#include "core/notify.h"
#include "core/readlog.h"
#include "core/store.h"
#include "core/tmpl.h"
#include "core/validate.h"
#include "core/xalloc.h"
#include "core/calendar.h"
#include "engines/case/case.h"
#include "engines/case/procdef.h"
#include "engines/registry/registry.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define VERSION "0.1.0"

/* Everything a command needs once the data folder is open. */
struct env {
	struct conf conf;
	struct keys keys;
	char *store_uri;
	struct store *st;
};

static void usage_main(FILE *out)
{
	fprintf(out,
		"yizhan %s — 一站式政务服务平台 (one-stop e-government platform)\n\n"
		"usage: yizhan [--config FILE] COMMAND [ARGS]\n\n"
		"commands:\n"
		"  serve          run the server (--demo seeds a demo city on first start)\n"
		"  init           create the data folder and the first platform admin\n"
		"  user           manage accounts: add, list, passwd, role, disable, enable, otp, reset-totp\n"
		"  dept           manage departments: add, list, import\n"
		"  calendar       the working-day calendar: import, show, workdays\n"
		"  audit          verify the audit chain, or sign a checkpoint\n"
		"  token          department API tokens: create, list, revoke\n"
		"%s"
		"  config         print every configuration key with its default\n"
		"  version        print the version\n\n"
		"Common options (before or after the command):\n"
		"  --config FILE  configuration file (default ./yizhan.conf if present)\n"
		"  --data DIR     data folder (key `data`)\n"
		"  --store URI    sqlite:PATH or postgresql://... (key `store`)\n"
		"Every key can be set as YIZHAN_<KEY> in the environment; see `yizhan config`.\n",
		VERSION, share_cli_usage);
}

static int env_open(struct env *e, const char *config, int explicit_config, char *const *sets)
{
	char *err = NULL;
	memset(e, 0, sizeof *e);
	if (conf_load(&e->conf, config, !explicit_config, &err) != 0)
		goto fail;
	for (int i = 0; sets[i] != NULL; i += 2)
		if (conf_set(&e->conf, sets[i], sets[i + 1], &err) != 0)
			goto fail;
	if (mkdir(e->conf.data, 0700) != 0 && errno != EEXIST) {
		err = xasprintf("data folder %s: %s", e->conf.data, strerror(errno));
		goto fail;
	}
	e->store_uri = e->conf.store[0] ? xstrdup(e->conf.store)
					: xasprintf("sqlite:%s/yizhan.db", e->conf.data);
	if (crypto_init() != 0) {
		err = xstrdup("libsodium failed to initialise");
		goto fail;
	}
	if (keys_load_or_create(e->conf.data, &e->keys, &err) != 0)
		goto fail;
	if (store_open(e->store_uri, &e->st, &err) != 0)
		goto fail;
	if (store_migrate(e->st) != 0) {
		err = xstrdup("migrations failed (see the log above)");
		goto fail;
	}
	if (e->conf.uscc_allow[0] != '\0') {
		/* Split the allow-list once; it lives as long as the process. */
		size_t n = 1;
		for (const char *p = e->conf.uscc_allow; *p; p++)
			n += *p == ',';
		char **list = xcalloc(n + 1, sizeof *list);
		char *copy = xstrdup(e->conf.uscc_allow), *save = NULL;
		size_t k = 0;
		for (char *tok = strtok_r(copy, ",", &save); tok && k < n; tok = strtok_r(NULL, ",", &save)) {
			while (*tok == ' ')
				tok++;
			list[k++] = tok;
		}
		input_set_uscc_allow((const char *const *)list);
	}
	return 0;
fail:
	fprintf(stderr, "yizhan: %s\n", err ? err : "cannot start");
	free(err);
	return -1;
}

static void env_close(struct env *e)
{
	store_close(e->st);
	free(e->store_uri);
	conf_release(&e->conf);
}

static int cli_audit(struct env *e, const char *action, const char *object, const char *detail)
{
	struct audit_entry a = { 0, "cli", action, object, 0, NULL, detail };
	return audit_append(e->st, &a);
}

/* ---------- serve ---------- */

static volatile int ticker_stop;
static pthread_mutex_t ticker_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ticker_cv = PTHREAD_COND_INITIALIZER;

struct ticker_arg {
	const char *uri;
	const struct keys *keys;
};

/*
 * The case clocks: a sweep of the cases that are due (cheap when none is),
 * and a full sweep at start and whenever the working-day calendar changed
 * (a holiday added moves every running deadline).
 */
static void sweep_cases(struct store *st, struct calendar **last)
{
	struct calendar *cal = NULL;
	struct case_sweep_stats stats = { 0 };
	if (calendar_load(st, &cal) != 0) {
		log_error("sweep: cannot read the calendar");
		return;
	}
	/* calendar_load hands out the same snapshot until the calendar changes */
	int full = cal != *last;
	int rc = full ? case_sweep_full(st, cal, cal_day_of(time(NULL)), &stats)
		      : case_sweep(st, cal, cal_day_of(time(NULL)), &stats);
	if (rc != 0) {
		log_error("sweep: failed");
		calendar_free(cal);
		return;
	}
	calendar_free(*last);
	*last = cal;   /* kept until the next sweep */
	if (stats.changed > 0 || full)
		log_info("sweep%s: %lld cases looked at, %lld changed, %lld escalations", full ? " (full)" : "",
			 (long long)stats.scanned, (long long)stats.changed, (long long)stats.escalated);
}

/* Signs an audit checkpoint and sweeps the case clocks every ten minutes. */
static void *ticker_main(void *p)
{
	struct ticker_arg *a = p;
	struct store *st = NULL;
	char *err = NULL;
	struct calendar *cal_last = NULL;
	if (store_open(a->uri, &st, &err) != 0) {
		log_error("checkpoints: %s", err);
		free(err);
		return NULL;
	}
	sweep_cases(st, &cal_last);
	pthread_mutex_lock(&ticker_mu);
	while (!ticker_stop) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 600;
		pthread_cond_timedwait(&ticker_cv, &ticker_mu, &ts);
		if (ticker_stop)
			break;
		pthread_mutex_unlock(&ticker_mu);
		if (audit_checkpoint(st, a->keys) != 0)
			log_error("checkpoints: signing failed");
		sweep_cases(st, &cal_last);
		pthread_mutex_lock(&ticker_mu);
	}
	pthread_mutex_unlock(&ticker_mu);
	calendar_free(cal_last);
	store_close(st);
	return NULL;
}

static int cmd_serve(struct env *e, int argc, char **argv)
{
	int demo = 0, rc = 1;
	struct tmpl_set *ts = NULL;
	struct store_pool *pool = NULL;
	char *err = NULL;
	pthread_t ticker;
	int ticker_started = 0, jobs_started = 0, notify_started = 0, readlog_started = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--demo") == 0) {
			demo = 1;
		} else if (strcmp(argv[i], "--help") == 0) {
			printf("usage: yizhan serve [--demo]\n"
			       "Runs the HTTP server until SIGTERM or SIGINT; requests in flight finish.\n"
			       "--demo  seed a demo city on first start and print its accounts\n");
			return 0;
		} else {
			fprintf(stderr, "yizhan serve: unknown argument %s\n", argv[i]);
			return 2;
		}
	}
	/* Process definitions are checked first: a bad file stops the server here,
	 * and the demo's cases need them. */
	if (procdef_load_all(embed_processes, &err) != 0) {
		fprintf(stderr, "yizhan: process definitions: %s\n", err);
		free(err);
		return 1;
	}
	if (demo && portal_demo_seed(e->st, &e->keys, e->conf.data) != 0) {
		fprintf(stderr, "yizhan: seeding the demo failed\n");
		return 1;
	}
	/* Each application seeds its own demo data (it does nothing when already there). */
	if (demo && (store_begin(e->st) != STORE_OK || hall_demo_seed(e->st) != 0 ||
		     store_commit(e->st) != STORE_OK)) {
		store_rollback(e->st);
		fprintf(stderr, "yizhan: seeding the service hall demo failed\n");
		return 1;
	}
	if (demo && share_demo_seed(e->st, &e->keys, &e->conf) != 0) {
		fprintf(stderr, "yizhan: seeding the information-sharing demo failed\n");
		return 1;
	}
	if (audit_checkpoint(e->st, &e->keys) != 0)
		log_warn("audit: checkpoint at start failed");
	if (tmpl_set_load(embed_templates, &ts, &err) != 0) {
		fprintf(stderr, "yizhan: templates: %s\n", err);
		goto out;
	}
	int pool_size = e->conf.pool;
	if (strncmp(e->store_uri, "sqlite:", 7) == 0 && pool_size < e->conf.threads)
		pool_size = e->conf.threads;
	if (store_pool_new(e->store_uri, pool_size, &pool, &err) != 0) {
		fprintf(stderr, "yizhan: %s\n", err);
		goto out;
	}
	portal_register_jobs();
	portal_register_desk();
	portal_register_messages();
	hall_register();
	share_register();
	if (jobs_start(e->store_uri, &e->keys, e->conf.workers) != 0)
		goto out;
	jobs_started = 1;
	if (notify_start(e->store_uri, &e->conf, 1) != 0)
		goto out;
	notify_started = 1;
	/* The read journal: leftovers of a previous process are ingested before serving. */
	if (reg_access_readlog_register() != 0 || readlog_start(e->conf.data, e->store_uri, &e->keys) != 0)
		goto out;
	readlog_started = 1;
	struct ticker_arg ta = { e->store_uri, &e->keys };
	if (pthread_create(&ticker, NULL, ticker_main, &ta) == 0)
		ticker_started = 1;

	http_add_routes(portal_routes);
	http_add_routes(portal_api_routes);
	http_add_routes(hall_routes);
	http_add_routes(hall_api_routes);
	struct server_ctx ctx = { &e->conf, &e->keys, pool, ts, e->store_uri };
	char *url = e->conf.base_url[0] ? xstrdup(e->conf.base_url)
					: xasprintf("http://%s:%d/", strcmp(e->conf.listen, "0.0.0.0") == 0
									? "127.0.0.1" : e->conf.listen,
						    e->conf.port);
	if (demo)
		portal_demo_banner(e->conf.data, url, stdout);
	else
		printf("yizhan: serving %s\n", url);
	fflush(stdout);
	free(url);
	rc = http_serve(&ctx) == 0 ? 0 : 1;
out:
	if (ticker_started) {
		pthread_mutex_lock(&ticker_mu);
		ticker_stop = 1;
		pthread_cond_broadcast(&ticker_cv);
		pthread_mutex_unlock(&ticker_mu);
		pthread_join(ticker, NULL);
	}
	if (readlog_started)
		readlog_stop();
	if (notify_started)
		notify_stop();
	if (jobs_started)
		jobs_stop();
	if (rc == 0 && audit_checkpoint(e->st, &e->keys) != 0)
		log_warn("audit: checkpoint at stop failed");
	store_pool_free(pool);
	tmpl_set_free(ts);
	procdef_unload_all();
	free(err);
	if (rc == 0)
		log_info("yizhan: stopped cleanly");
	return rc;
}

/* ---------- init ---------- */

static void one_time_password(char out[17])
{
	/* 16 characters from an alphabet without look-alikes. */
	static const char alpha[] = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
	for (int i = 0; i < 16; i++)
		out[i] = alpha[random_uniform(sizeof alpha - 1)];
	out[16] = '\0';
}

static int ensure_egov_dept(struct env *e, int64_t *id)
{
	int f = dept_find_code(e->st, "egov", id);
	if (f != 1)
		return f;
	struct dept_in d = { "egov", "电子政务办公室", 0, "city", 0 };
	enum msg_id why;
	const char *field;
	if (dept_create(e->st, &d, id, &why, &field) != 0)
		return -1;
	return cli_audit(e, "dept.create", "dept:egov", NULL);
}

static int cmd_init(struct env *e, int argc, char **argv)
{
	const char *login = "admin";
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--login") == 0 && i + 1 < argc) {
			login = argv[++i];
		} else if (strcmp(argv[i], "--help") == 0) {
			printf("usage: yizhan init [--login NAME]\n"
			       "Creates the data folder, applies migrations, creates the department\n"
			       "电子政务办公室 (code egov) and a platform admin NAME (default admin)\n"
			       "with a one-time password that must be changed at first sign-in.\n");
			return 0;
		} else {
			fprintf(stderr, "yizhan init: unknown argument %s\n", argv[i]);
			return 2;
		}
	}
	if (validate_login(login) != MSG_NONE) {
		fprintf(stderr, "yizhan init: login: %s\n", msg(validate_login(login)));
		return 2;
	}
	char pw[17];
	one_time_password(pw);
	int64_t dept = 0, uid = 0;
	enum msg_id why;
	const char *field;
	struct account_new a = { login, "staff", "平台管理员", NULL, NULL, NULL, NULL, pw, 1 };
	if (store_begin(e->st) != STORE_OK)
		return 1;
	if (ensure_egov_dept(e, &dept) != 0)
		goto fail;
	if (account_create(e->st, &e->keys, &a, &uid, &why, &field) != 0) {
		store_rollback(e->st);
		fprintf(stderr, "yizhan init: %s: %s\n", login, msg(why));
		return 1;
	}
	if (account_add_role(e->st, uid, dept, "platform_admin") != 0 ||
	    account_add_role(e->st, uid, dept, "staff") != 0 ||
	    cli_audit(e, "user.create", "user:init", "{\"role\":\"platform_admin\"}") != 0 ||
	    store_commit(e->st) != STORE_OK)
		goto fail;
	printf("yizhan: data folder %s is ready.\n"
	       "platform admin: %s\none-time password: %s\n"
	       "(change it at first sign-in; a second factor is set up then)\n",
	       e->conf.data, login, pw);
	return 0;
fail:
	store_rollback(e->st);
	fprintf(stderr, "yizhan init: store error\n");
	return 1;
}

/* ---------- user ---------- */

static const char *arg_value(int argc, char **argv, const char *name)
{
	for (int i = 1; i + 1 < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return argv[i + 1];
	return NULL;
}

static int has_flag(int argc, char **argv, const char *name)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return 1;
	return 0;
}

static int user_id_of(struct env *e, const char *login, int64_t *id)
{
	int f = account_find(e->st, login, id);
	if (f == 1)
		fprintf(stderr, "yizhan user: no account %s\n", login);
	return f == 0 ? 0 : -1;
}

static int cmd_user(struct env *e, int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : "--help";
	int64_t uid = 0, dept = 0;
	if (strcmp(sub, "--help") == 0 || strcmp(sub, "help") == 0) {
		printf("usage: yizhan user SUBCOMMAND\n"
		       "  add --login L --name N [--dept CODE --role staff|dept_admin|platform_admin]\n"
		       "        a staff account with a one-time password (printed)\n"
		       "  list [--kind citizen|enterprise|staff]\n"
		       "  passwd LOGIN            new one-time password (printed); ends its sessions\n"
		       "  role LOGIN DEPT ROLE [--remove]\n"
		       "  disable LOGIN | enable LOGIN\n"
		       "  reset-totp LOGIN        the next sign-in sets up the second factor again\n"
		       "  otp LOGIN               print the current TOTP code (for the demo)\n");
		return 0;
	}
	if (strcmp(sub, "list") == 0) {
		json_t *page = account_list(e->st, arg_value(argc, argv, "--kind"), NULL, 0, 1000);
		if (page == NULL)
			return 1;
		size_t i;
		json_t *u;
		json_array_foreach(json_object_get(page, "items"), i, u)
			printf("%-20s %-10s %-20s %s%s\n", json_string_value(json_object_get(u, "login")),
			       json_string_value(json_object_get(u, "kind")),
			       json_string_value(json_object_get(u, "name")),
			       json_is_string(json_object_get(u, "ident_masked"))
				       ? json_string_value(json_object_get(u, "ident_masked")) : "",
			       json_is_true(json_object_get(u, "disabled")) ? " (disabled)" : "");
		json_decref(page);
		return 0;
	}
	if (store_begin(e->st) != STORE_OK)
		return 1;
	int rc = 1;
	if (strcmp(sub, "add") == 0) {
		const char *login = arg_value(argc, argv, "--login"), *name = arg_value(argc, argv, "--name");
		const char *dcode = arg_value(argc, argv, "--dept"), *role = arg_value(argc, argv, "--role");
		if (login == NULL || name == NULL || validate_login(login) != MSG_NONE) {
			fprintf(stderr, "yizhan user add: --login (3–32 of A-Z a-z 0-9 _ .) and --name are required\n");
			goto out;
		}
		char pw[17];
		one_time_password(pw);
		struct account_new a = { login, "staff", name, NULL, NULL, NULL, NULL, pw, 1 };
		enum msg_id why;
		const char *field;
		if (account_create(e->st, &e->keys, &a, &uid, &why, &field) != 0) {
			fprintf(stderr, "yizhan user add: %s\n", msg(why));
			goto out;
		}
		if (dcode != NULL) {
			if (dept_find_code(e->st, dcode, &dept) != 0) {
				fprintf(stderr, "yizhan user add: no department %s\n", dcode);
				goto out;
			}
			if (account_add_role(e->st, uid, dept, role ? role : "staff") != 0) {
				fprintf(stderr, "yizhan user add: bad role %s\n", role);
				goto out;
			}
		}
		if (cli_audit(e, "user.create", NULL, NULL) != 0)
			goto out;
		printf("%s one-time password: %s\n", login, pw);
	} else if (strcmp(sub, "passwd") == 0 && argc > 2) {
		char pw[17];
		one_time_password(pw);
		if (user_id_of(e, argv[2], &uid) != 0 || account_set_password(e->st, uid, pw, 1) != 0 ||
		    auth_logout_all(e->st, uid) != 0 || cli_audit(e, "user.password_reset", NULL, NULL) != 0)
			goto out;
		printf("%s one-time password: %s\n", argv[2], pw);
	} else if (strcmp(sub, "role") == 0 && argc > 4) {
		int remove = has_flag(argc, argv, "--remove");
		if (user_id_of(e, argv[2], &uid) != 0)
			goto out;
		if (dept_find_code(e->st, argv[3], &dept) != 0) {
			fprintf(stderr, "yizhan user role: no department %s\n", argv[3]);
			goto out;
		}
		if ((remove ? account_remove_role(e->st, uid, dept, argv[4])
			    : account_add_role(e->st, uid, dept, argv[4])) != 0) {
			fprintf(stderr, "yizhan user role: role must be staff, dept_admin or platform_admin\n");
			goto out;
		}
		if (cli_audit(e, remove ? "user.role_remove" : "user.role_add", NULL, NULL) != 0)
			goto out;
	} else if ((strcmp(sub, "disable") == 0 || strcmp(sub, "enable") == 0) && argc > 2) {
		int dis = sub[0] == 'd';
		if (user_id_of(e, argv[2], &uid) != 0 || account_set_disabled(e->st, uid, dis) != 0 ||
		    (dis && auth_logout_all(e->st, uid) != 0) ||
		    cli_audit(e, dis ? "user.disable" : "user.enable", NULL, NULL) != 0)
			goto out;
	} else if (strcmp(sub, "reset-totp") == 0 && argc > 2) {
		if (user_id_of(e, argv[2], &uid) != 0 || account_reset_totp(e->st, uid) != 0 ||
		    auth_logout_all(e->st, uid) != 0 || cli_audit(e, "user.totp_reset", NULL, NULL) != 0)
			goto out;
	} else if (strcmp(sub, "otp") == 0 && argc > 2) {
		if (user_id_of(e, argv[2], &uid) != 0)
			goto out;
		char *secret = auth_totp_secret(e->st, &e->keys, uid);
		char code[7];
		if (secret == NULL) {
			fprintf(stderr, "yizhan user otp: %s has no second factor yet\n", argv[2]);
			goto out;
		}
		int ok = totp_code(secret, time(NULL), code) == 0;
		free(secret);
		if (!ok)
			goto out;
		printf("%s\n", code);
	} else {
		fprintf(stderr, "yizhan user: unknown or incomplete subcommand (see yizhan user --help)\n");
		goto out;
	}
	if (store_commit(e->st) != STORE_OK)
		goto out;
	return 0;
out:
	store_rollback(e->st);
	return rc;
}

/* ---------- dept ---------- */

static void print_progress(void *arg, int64_t done, int64_t total)
{
	(void)arg;
	fprintf(stderr, "\rimport: %lld/%lld rows", (long long)done, (long long)total);
	if (done == total)
		fputc('\n', stderr);
}

static int cmd_dept(struct env *e, int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : "--help";
	if (strcmp(sub, "--help") == 0 || strcmp(sub, "help") == 0) {
		printf("usage: yizhan dept SUBCOMMAND\n"
		       "  add --code C --name N --level province|city|county|town|village [--parent CODE]\n"
		       "  list                   the tree\n"
		       "  import FILE.csv        columns code,name,parent_code,level[,sort]; all or nothing\n");
		return 0;
	}
	if (strcmp(sub, "list") == 0) {
		json_t *tree = dept_tree(e->st);
		size_t i;
		json_t *d;
		if (tree == NULL)
			return 1;
		json_array_foreach(tree, i, d)
			printf("%*s%s  %s (%s)\n", (int)json_integer_value(json_object_get(d, "indent")), "",
			       json_string_value(json_object_get(d, "code")),
			       json_string_value(json_object_get(d, "name")),
			       json_string_value(json_object_get(d, "level_label")));
		json_decref(tree);
		return 0;
	}
	if (store_begin(e->st) != STORE_OK)
		return 1;
	if (strcmp(sub, "add") == 0) {
		const char *parent = arg_value(argc, argv, "--parent");
		struct dept_in d = { arg_value(argc, argv, "--code"), arg_value(argc, argv, "--name"), 0,
				     arg_value(argc, argv, "--level"), 0 };
		enum msg_id why;
		const char *field;
		int64_t id;
		if (d.code == NULL || d.name == NULL || d.level == NULL) {
			fprintf(stderr, "yizhan dept add: --code, --name and --level are required\n");
			goto fail;
		}
		if (parent != NULL && dept_find_code(e->st, parent, &d.parent_id) != 0) {
			fprintf(stderr, "yizhan dept add: no department %s\n", parent);
			goto fail;
		}
		if (dept_create(e->st, &d, &id, &why, &field) != 0) {
			fprintf(stderr, "yizhan dept add: %s: %s\n", field ? field : "", msg(why));
			goto fail;
		}
		if (cli_audit(e, "dept.create", NULL, NULL) != 0)
			goto fail;
	} else if (strcmp(sub, "import") == 0 && argc > 2) {
		FILE *f = fopen(argv[2], "rb");
		if (f == NULL) {
			fprintf(stderr, "yizhan dept import: %s: %s\n", argv[2], strerror(errno));
			goto fail;
		}
		struct buf b = BUF_INIT(64u << 20);
		char chunk[65536];
		size_t n;
		int big = 0;
		while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
			if (buf_add(&b, chunk, n) < 0) {
				big = 1;
				break;
			}
		fclose(f);
		if (big) {
			fprintf(stderr, "yizhan dept import: file larger than 64 MiB\n");
			buf_release(&b);
			goto fail;
		}
		json_t *report = NULL;
		int rc = dept_import_csv(e->st, b.data ? b.data : "", b.len, &report, print_progress, NULL);
		buf_release(&b);
		if (rc != 0) {
			size_t i;
			json_t *x;
			json_array_foreach(report, i, x)
				fprintf(stderr, "row %lld, %s: %s\n",
					(long long)json_integer_value(json_object_get(x, "row")),
					json_string_value(json_object_get(x, "field")),
					json_string_value(json_object_get(x, "reason")));
			fprintf(stderr, "yizhan dept import: nothing imported\n");
			json_decref(report);
			goto fail;
		}
		char *detail = json_dumps(report, JSON_COMPACT);
		printf("created %lld, updated %lld\n",
		       (long long)json_integer_value(json_object_get(report, "created")),
		       (long long)json_integer_value(json_object_get(report, "updated")));
		json_decref(report);
		int arc = cli_audit(e, "dept.import", NULL, detail);
		free(detail);
		if (arc != 0)
			goto fail;
	} else {
		fprintf(stderr, "yizhan dept: unknown or incomplete subcommand (see yizhan dept --help)\n");
		goto fail;
	}
	if (store_commit(e->st) != STORE_OK)
		goto fail;
	return 0;
fail:
	store_rollback(e->st);
	return 1;
}

/* ---------- calendar ---------- */

static int cmd_calendar(struct env *e, int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : "--help";
	if (strcmp(sub, "--help") == 0 || strcmp(sub, "help") == 0) {
		printf("usage: yizhan calendar SUBCOMMAND\n"
		       "  import FILE          a yearly file (docs/calendar.md): replaces the holidays and\n"
		       "                       adjusted working days of the years it touches; all or nothing,\n"
		       "                       every bad line is printed\n"
		       "  show YEAR            the year's holidays, adjusted working days and working days\n"
		       "                       per month\n"
		       "  workdays FROM N      the day on which N working days after FROM (YYYY-MM-DD) have\n"
		       "                       elapsed (FROM itself does not count), then those working days\n");
		return 0;
	}
	if (strcmp(sub, "show") == 0 && argc > 2) {
		char *end = NULL;
		long y = strtol(argv[2], &end, 10);
		if (*end != '\0' || y < CAL_FIRST_YEAR || y > CAL_LAST_YEAR) {
			fprintf(stderr, "yizhan calendar show: %s\n", msg(MSG_CAL_YEAR_BAD));
			return 2;
		}
		json_t *rep = calendar_year_report(e->st, (int)y);
		if (rep == NULL)
			return 1;
		size_t i;
		json_t *x;
		json_array_foreach(json_object_get(rep, "exceptions"), i, x) {
			cal_day d = 0;
			cal_day_parse(json_string_value(json_object_get(x, "date")), &d);
			printf("%s %s %-8s %s\n", json_string_value(json_object_get(x, "date")),
			       cal_weekday_label(d), json_string_value(json_object_get(x, "kind")),
			       json_string_value(json_object_get(x, "note")));
		}
		printf("\nworking days:");
		json_array_foreach(json_object_get(rep, "months"), i, x)
			printf(" %lld月 %lld%s", (long long)json_integer_value(json_object_get(x, "month")),
			       (long long)json_integer_value(json_object_get(x, "workdays")), i < 11 ? "," : "");
		printf("\n%ld: %lld working days, %lld holidays, %lld adjusted working days\n", y,
		       (long long)json_integer_value(json_object_get(rep, "workdays")),
		       (long long)json_integer_value(json_object_get(rep, "holidays")),
		       (long long)json_integer_value(json_object_get(rep, "adjusted")));
		json_decref(rep);
		return 0;
	}
	if (strcmp(sub, "workdays") == 0 && argc > 3) {
		cal_day from, end;
		char *stop = NULL;
		long n = strtol(argv[3], &stop, 10);
		struct calendar *c = NULL;
		if (cal_day_parse(argv[2], &from) != 0 || *stop != '\0' || n < 0 || n > 100000) {
			fprintf(stderr, "yizhan calendar workdays: FROM is YYYY-MM-DD, N a count 0–100000\n");
			return 2;
		}
		if (calendar_load(e->st, &c) != 0)
			return 1;
		end = calendar_add_workdays(c, from, (int)n);
		char ds[11];
		cal_day_format(end, ds);
		printf("%s %s\n", ds, cal_weekday_label(end));
		for (cal_day d = from + 1; d <= end; d++)
			if (calendar_is_workday(c, d)) {
				cal_day_format(d, ds);
				printf("  %s %s\n", ds, cal_weekday_label(d));
			}
		calendar_free(c);
		return 0;
	}
	if (strcmp(sub, "import") != 0 || argc < 3) {
		fprintf(stderr, "yizhan calendar: unknown or incomplete subcommand (see yizhan calendar --help)\n");
		return 2;
	}
	FILE *f = fopen(argv[2], "rb");
	if (f == NULL) {
		fprintf(stderr, "yizhan calendar import: %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	struct buf b = BUF_INIT(1u << 20);
	char chunk[65536];
	size_t n;
	int big = 0;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		if (buf_add(&b, chunk, n) < 0) {
			big = 1;
			break;
		}
	fclose(f);
	if (big) {
		fprintf(stderr, "yizhan calendar import: file larger than 1 MiB\n");
		buf_release(&b);
		return 1;
	}
	json_t *report = NULL;
	if (store_begin(e->st) != STORE_OK) {
		buf_release(&b);
		return 1;
	}
	int rc = calendar_import(e->st, b.data ? b.data : "", b.len, &report);
	buf_release(&b);
	if (rc != 0) {
		size_t i;
		json_t *x;
		json_array_foreach(report, i, x)
			fprintf(stderr, "line %lld: %s\n", (long long)json_integer_value(json_object_get(x, "line")),
				json_string_value(json_object_get(x, "reason")));
		fprintf(stderr, "yizhan calendar import: nothing imported\n");
		json_decref(report);
		store_rollback(e->st);
		return 1;
	}
	char *detail = json_dumps(report, JSON_COMPACT);
	int arc = cli_audit(e, "calendar.import", "calendar", detail);
	free(detail);
	if (arc != 0 || store_commit(e->st) != STORE_OK) {
		store_rollback(e->st);
		json_decref(report);
		fprintf(stderr, "yizhan calendar import: store error\n");
		return 1;
	}
	printf("imported %lld holidays and %lld adjusted working days for",
	       (long long)json_integer_value(json_object_get(report, "holidays")),
	       (long long)json_integer_value(json_object_get(report, "workdays")));
	size_t i;
	json_t *x;
	json_array_foreach(json_object_get(report, "years"), i, x)
		printf(" %lld", (long long)json_integer_value(x));
	printf("\n");
	json_decref(report);
	return 0;
}

/* ---------- audit ---------- */

static int cmd_audit(struct env *e, int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : "--help";
	if (strcmp(sub, "verify") == 0) {
		struct audit_report rep;
		if (audit_verify(e->st, e->keys.sign_pk, &rep) != 0) {
			fprintf(stderr, "yizhan audit verify: store error\n");
			return 2;
		}
		if (rep.ok) {
			printf("OK: %lld entries, %lld signed checkpoints verified\n", (long long)rep.entries,
			       (long long)rep.checkpoints);
			return 0;
		}
		printf("BROKEN at entry %lld: %s\n", (long long)rep.first_bad_seq, rep.reason);
		return 1;
	}
	if (strcmp(sub, "checkpoint") == 0)
		return audit_checkpoint(e->st, &e->keys) == 0 ? 0 : 1;
	printf("usage: yizhan audit verify | checkpoint\n"
	       "  verify      recompute the hash chain and check every signed checkpoint;\n"
	       "              prints OK, or the first broken entry (exit status 1)\n"
	       "  checkpoint  sign the current chain head with the server key\n");
	return strcmp(sub, "--help") == 0 ? 0 : 2;
}

/* ---------- token: department API tokens ---------- */

static void usage_token(FILE *out)
{
	fprintf(out,
		"usage: yizhan token create --dept CODE --name NAME --scopes '*'|REG[,REG...] [--expires YYYY-MM-DD]\n"
		"       yizhan token list --dept CODE\n"
		"       yizhan token revoke --dept CODE ID\n"
		"Department API tokens for machine clients of the sharing API (Authorization: Bearer).\n"
		"create prints the token once; only its keyed hash is stored.\n");
}

static int cmd_token(struct env *e, int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : NULL, *dept = NULL, *name = NULL, *scopes = NULL;
	const char *expires = NULL, *idtext = NULL;
	if (sub == NULL || strcmp(sub, "--help") == 0 || strcmp(sub, "help") == 0) {
		usage_token(sub ? stdout : stderr);
		return sub ? 0 : 2;
	}
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--dept") == 0 && i + 1 < argc)
			dept = argv[++i];
		else if (strcmp(argv[i], "--name") == 0 && i + 1 < argc)
			name = argv[++i];
		else if (strcmp(argv[i], "--scopes") == 0 && i + 1 < argc)
			scopes = argv[++i];
		else if (strcmp(argv[i], "--expires") == 0 && i + 1 < argc)
			expires = argv[++i];
		else if (idtext == NULL && argv[i][0] != '-')
			idtext = argv[i];
		else {
			fprintf(stderr, "yizhan token: unexpected argument %s\n", argv[i]);
			usage_token(stderr);
			return 2;
		}
	}
	int64_t dept_id = 0;
	if (dept == NULL || dept_find_code(e->st, dept, &dept_id) != 0) {
		fprintf(stderr, "yizhan token: --dept must name an existing department code\n");
		return 2;
	}
	if (strcmp(sub, "list") == 0) {
		json_t *list = apitoken_list(e->st, dept_id, time(NULL));
		if (list == NULL)
			return 1;
		size_t i;
		json_t *t;
		json_array_foreach(list, i, t)
			printf("%-6" JSON_INTEGER_FORMAT " %-8s %-24s %s\n", json_integer_value(json_object_get(t, "id")),
			       json_string_value(json_object_get(t, "state")),
			       json_string_value(json_object_get(t, "name")),
			       json_string_value(json_object_get(t, "scopes")));
		json_decref(list);
		return 0;
	}
	if (strcmp(sub, "revoke") == 0) {
		char *end = NULL;
		long long id = idtext ? strtoll(idtext, &end, 10) : 0;
		if (idtext == NULL || *end != '\0' || id <= 0) {
			fprintf(stderr, "yizhan token revoke: give the token's id (see token list)\n");
			return 2;
		}
		struct audit_entry ae = { 0, "system", "token.revoke", NULL, dept_id, NULL, NULL };
		char obj[40];
		snprintf(obj, sizeof obj, "api_token:%lld", id);
		ae.object = obj;
		if (store_begin(e->st) != STORE_OK)
			return 1;
		int rc = apitoken_revoke(e->st, id, dept_id, 0, time(NULL));
		if (rc != 0 || audit_append(e->st, &ae) != 0 || store_commit(e->st) != STORE_OK) {
			store_rollback(e->st);
			fprintf(stderr, "yizhan token revoke: %s\n",
				rc == 1 ? "no live token with that id in that department" : "store error");
			return 1;
		}
		printf("revoked token %lld\n", id);
		return 0;
	}
	if (strcmp(sub, "create") != 0) {
		usage_token(stderr);
		return 2;
	}
	if (name == NULL || *name == '\0' || validate_text(name, strlen(name), 1, APITOKEN_NAME_MAX, 0) != 0) {
		fprintf(stderr, "yizhan token create: --name is required (1..%d characters)\n", APITOKEN_NAME_MAX);
		return 2;
	}
	if (scopes == NULL || !apitoken_scopes_valid(scopes)) {
		fprintf(stderr, "yizhan token create: --scopes must be '*' or registry codes separated by commas\n");
		return 2;
	}
	int64_t exp = 0;
	if (expires != NULL) {
		struct tm tm = { 0 };
		if (validate_date(expires) != 0 || strptime(expires, "%Y-%m-%d", &tm) == NULL) {
			fprintf(stderr, "yizhan token create: --expires must be a date YYYY-MM-DD\n");
			return 2;
		}
		tm.tm_mday += 1;     /* valid through that day: local midnight after it, as the page does */
		tm.tm_isdst = -1;
		exp = (int64_t)mktime(&tm);
		if (exp <= (int64_t)time(NULL)) {
			fprintf(stderr, "yizhan token create: --expires must not be in the past\n");
			return 2;
		}
	}
	int64_t id = 0;
	char clear[APITOKEN_MAX];
	if (store_begin(e->st) != STORE_OK)
		return 1;
	int rc = apitoken_create(e->st, &e->keys, dept_id, name, scopes, exp, 0, &id, clear);
	char obj[40];
	snprintf(obj, sizeof obj, "api_token:%" PRId64, id);
	struct audit_entry ae = { 0, "system", "token.create", obj, dept_id, NULL, NULL };
	if (rc != 0 || audit_append(e->st, &ae) != 0 || store_commit(e->st) != STORE_OK) {
		store_rollback(e->st);
		fprintf(stderr, "yizhan token create: %s\n",
			rc == 1 ? "the department already has a live token of that name" : "store error");
		return 1;
	}
	printf("%s\n", clear);
	sodium_memzero(clear, sizeof clear);
	return 0;
}

/* ---------- share commands (registry, import, export, compare, demo-data) ---------- */

static int cmd_share(const char *cmd, const char *config, int explicit_config, char *const *sets,
		     int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "help") == 0)
			return share_cli(cmd, NULL, NULL, NULL, argc, argv);
	/* Comparisons open data-quality tasks, which are cases. */
	char *err = NULL;
	if (procdef_load_all(embed_processes, &err) != 0) {
		fprintf(stderr, "yizhan: process definitions: %s\n", err);
		free(err);
		return 1;
	}
	struct env e;
	if (env_open(&e, config, explicit_config, sets) != 0)
		return 1;
	notify_configure(&e.conf);
	int rc = share_cli(cmd, e.st, &e.keys, &e.conf, argc, argv);
	env_close(&e);
	return rc;
}

/* ---------- main ---------- */

int main(int argc, char **argv)
{
	const char *config = "yizhan.conf";
	int explicit_config = 0;
	char *sets[16] = { 0 };
	int nsets = 0;
	char *rest[64];
	int nrest = 0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--config") == 0 && i + 1 < argc) {
			config = argv[++i];
			explicit_config = 1;
		} else if ((strcmp(a, "--data") == 0 || strcmp(a, "--store") == 0 ||
			    strcmp(a, "--port") == 0) && i + 1 < argc && nsets < 14) {
			sets[nsets++] = (char *)a + 2;
			sets[nsets++] = argv[++i];
		} else if (nrest < 63) {
			rest[nrest++] = argv[i];
		}
	}
	rest[nrest] = NULL;
	if (nrest == 0 || strcmp(rest[0], "--help") == 0 || strcmp(rest[0], "help") == 0) {
		usage_main(nrest == 0 ? stderr : stdout);
		return nrest == 0 ? 2 : 0;
	}
	const char *cmd = rest[0];
	if (strcmp(cmd, "version") == 0) {
		printf("yizhan %s\n", VERSION);
		return 0;
	}
	if (strcmp(cmd, "config") == 0) {
		conf_print_doc();
		return 0;
	}
	if (strcmp(cmd, "registry") == 0 || strcmp(cmd, "import") == 0 || strcmp(cmd, "export") == 0 ||
	    strcmp(cmd, "compare") == 0 || strcmp(cmd, "demo-data") == 0)
		return cmd_share(cmd, config, explicit_config, sets, nrest, rest);
	int (*fn)(struct env *, int, char **) = NULL;
	if (strcmp(cmd, "serve") == 0)
		fn = cmd_serve;
	else if (strcmp(cmd, "init") == 0)
		fn = cmd_init;
	else if (strcmp(cmd, "user") == 0)
		fn = cmd_user;
	else if (strcmp(cmd, "dept") == 0)
		fn = cmd_dept;
	else if (strcmp(cmd, "audit") == 0)
		fn = cmd_audit;
	else if (strcmp(cmd, "calendar") == 0)
		fn = cmd_calendar;
	else if (strcmp(cmd, "token") == 0)
		fn = cmd_token;
	if (fn == NULL) {
		fprintf(stderr, "yizhan: unknown command %s\n\n", cmd);
		usage_main(stderr);
		return 2;
	}
	/* --help needs no data folder */
	for (int i = 1; i < nrest; i++)
		if (strcmp(rest[i], "--help") == 0 && fn != cmd_user && fn != cmd_dept && fn != cmd_audit &&
		    fn != cmd_calendar && fn != cmd_token) {
			struct env none;
			memset(&none, 0, sizeof none);
			return fn(&none, nrest, rest);
		}
	if ((fn == cmd_user || fn == cmd_dept || fn == cmd_audit || fn == cmd_calendar || fn == cmd_token) &&
	    (nrest < 2 || strcmp(rest[1], "--help") == 0 || strcmp(rest[1], "help") == 0)) {
		struct env none;
		memset(&none, 0, sizeof none);
		return fn(&none, nrest, rest);
	}
	struct env e;
	if (env_open(&e, config, explicit_config, sets) != 0)
		return 1;
	int rc = fn(&e, nrest, rest);
	env_close(&e);
	return rc;
}
