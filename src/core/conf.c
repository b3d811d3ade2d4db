#include "core/conf.h"
#include "core/xalloc.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum conf_type { CT_STR, CT_INT, CT_LONG };

struct conf_key {
	const char *name;
	enum conf_type type;
	size_t off;
	const char *def;
	long min, max;
	const char *doc;
};

#define K(name, type, field, def, min, max, doc) \
	{ name, type, offsetof(struct conf, field), def, min, max, doc }

static const struct conf_key keys[] = {
	K("data", CT_STR, data, "data", 0, 0, "data folder: database (SQLite), keys, files"),
	K("store", CT_STR, store, "", 0, 0,
	  "store: sqlite:PATH or postgresql://user@host/db (empty: sqlite:<data>/yizhan.db)"),
	K("listen", CT_STR, listen, "127.0.0.1", 0, 0, "address to listen on (0.0.0.0 for all)"),
	K("port", CT_INT, port, "8080", 1, 65535, "TCP port"),
	K("threads", CT_INT, threads, "2", 1, 64, "HTTP polling threads (SQLite store)"),
	K("pool", CT_INT, pool, "16", 1, 1024,
	  "store connections for HTTP; on PostgreSQL the most requests served at once"),
	K("workers", CT_INT, workers, "2", 1, 64, "background job worker threads"),
	K("demo_persons", CT_INT, demo_persons, "100000", 100, 10000000,
	  "serve --demo: persons in the generated demo registries (population, enterprises, housing, ...)"),
	K("max_body", CT_LONG, max_body, "1048576", 1024, 1073741824L, "largest request body in bytes"),
	K("max_upload", CT_LONG, max_upload, "10485760", 1024, 268435456L,
	  "largest uploaded file in bytes (multipart/form-data, at most 8 files a request; such a body "
	  "may be up to 8 x max_upload + max_body + 64 KiB; max_body still bounds its text fields)"),
	K("max_header", CT_LONG, max_header, "32768", 4096, 1048576, "largest request head (line and headers) in bytes"),
	K("timeout", CT_INT, timeout, "30", 1, 3600, "seconds a connection may stay idle"),
	K("session_idle", CT_INT, session_idle, "30", 1, 1440, "minutes of inactivity that end a session"),
	K("session_max", CT_INT, session_max, "12", 1, 720, "hours after which a session ends regardless"),
	K("cookie_secure", CT_STR, cookie_secure, "auto", 0, 0,
	  "Secure cookie flag: auto (when the request came over HTTPS), always, never"),
	K("access_log", CT_STR, access_log, "-", 0, 0, "access log (JSON lines): a path, - for stderr, empty for none"),
	K("trusted_proxy", CT_STR, trusted_proxy, "", 0, 0,
	  "address of the reverse proxy whose X-Forwarded-For/-Proto headers are trusted"),
	K("uscc_allow", CT_STR, uscc_allow, "", 0, 0,
	  "comma-separated early pilot 统一社会信用代码 accepted with a warning although a check fails"),
	K("tls_cert", CT_STR, tls_cert, "", 0, 0, "PEM certificate: with tls_key, serve HTTPS directly"),
	K("tls_key", CT_STR, tls_key, "", 0, 0, "PEM private key for tls_cert"),
	K("base_url", CT_STR, base_url, "", 0, 0, "public URL of this server (empty: http://listen:port)"),
	K("login_max_fail_account", CT_INT, login_max_fail_account, "5", 1, 1000,
	  "failed logins of one account within login_window before it is locked for login_window"),
	K("login_max_fail_ip", CT_INT, login_max_fail_ip, "20", 1, 100000,
	  "failed logins from one address within login_window before it is locked for login_window"),
	K("login_window", CT_INT, login_window, "15", 1, 1440, "minutes: the throttling window and lock time"),
	K("smtp_url", CT_STR, smtp_url, "", 0, 0,
	  "mail server for notifications: smtp://host:25 (STARTTLS when offered; required when "
	  "smtp_user is set) or smtps://host:465; empty: no e-mail, messages stay in the in-app inbox"),
	K("smtp_from", CT_STR, smtp_from, "", 0, 0,
	  "sender address of notification mail (noreply@example.gov.cn); e-mail is sent only when set"),
	K("smtp_user", CT_STR, smtp_user, "", 0, 0, "SMTP AUTH user name (empty: no authentication)"),
	K("smtp_password", CT_STR, smtp_password, "", 0, 0,
	  "SMTP AUTH password (better set as YIZHAN_SMTP_PASSWORD than in the file)"),
	K("sms_webhook", CT_STR, sms_webhook, "", 0, 0,
	  "https URL of the SMS/WeChat gateway: each message is POSTed as JSON "
	  "{\"to\": phone, \"text\": ..., \"kind\": ...} with an Idempotency-Key header; "
	  "any 2xx answer means delivered; empty: no SMS"),
	K("notify_max_attempts", CT_INT, notify_max_attempts, "8", 1, 100,
	  "deliveries tried per message and channel (30 s x 2^n apart, at most 1 h) before it is marked failed"),
	K("stars_weights", CT_STR, stars_weights, "0.4,0.3,0.3", 0, 0,
	  "department star ratings (/hall/ranking): weights of online depth (share of published items "
	  "at depth 4 or 5), on-time rate and satisfaction, three decimals >= 0 with a positive sum; "
	  "an input a department has no data for (no ratings yet) is left out and the others reweighted"),
	K("stars_thresholds", CT_STR, stars_thresholds, "0.2,0.4,0.6,0.8", 0, 0,
	  "department star ratings: four increasing decimals in (0, 1), the weighted scores from which "
	  "2, 3, 4 and 5 stars are given (below the first: 1 star)"),
	K("stars_min_cases", CT_INT, stars_min_cases, "5", 1, 1000000,
	  "department star ratings: a department with fewer decided cases shows 数据不足 instead of stars"),
};

#define NKEYS (sizeof keys / sizeof keys[0])

static const struct conf_key *conf_find(const char *name)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

static int conf_apply(struct conf *c, const struct conf_key *k, const char *value, char **err)
{
	char *base = (char *)c + k->off;
	if (k->type == CT_STR) {
		char **slot = (char **)(void *)base;
		free(*slot);
		*slot = xstrdup(value);
		return 0;
	}
	char *end = NULL;
	errno = 0;
	long v = strtol(value, &end, 10);
	if (errno != 0 || end == value || *end != '\0' || v < k->min || v > k->max) {
		*err = xasprintf("%s: must be an integer from %ld to %ld, got \"%s\"", k->name, k->min,
				 k->max, value);
		return -1;
	}
	if (k->type == CT_INT)
		*(int *)(void *)base = (int)v;
	else
		*(long *)(void *)base = v;
	return 0;
}

int conf_set(struct conf *c, const char *key, const char *value, char **err)
{
	const struct conf_key *k = conf_find(key);
	if (k == NULL) {
		*err = xasprintf("unknown configuration key \"%s\"", key);
		return -1;
	}
	return conf_apply(c, k, value, err);
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

static int conf_read_file(struct conf *c, const char *path, int optional, char **err)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		if (optional && errno == ENOENT)
			return 0;
		*err = xasprintf("%s: %s", path, strerror(errno));
		return -1;
	}
	char line[4096];
	int lineno = 0, rc = -1;
	while (fgets(line, sizeof line, f) != NULL) {
		lineno++;
		if (strchr(line, '\n') == NULL && !feof(f)) {
			*err = xasprintf("%s:%d: line too long", path, lineno);
			goto out;
		}
		char *s = trim(line);
		if (*s == '\0' || *s == '#')
			continue;
		char *eq = strchr(s, '=');
		if (eq == NULL) {
			*err = xasprintf("%s:%d: expected \"key = value\"", path, lineno);
			goto out;
		}
		*eq = '\0';
		char *key = trim(s), *val = trim(eq + 1);
		char *e2 = NULL;
		if (conf_set(c, key, val, &e2) != 0) {
			*err = xasprintf("%s:%d: %s", path, lineno, e2);
			free(e2);
			goto out;
		}
	}
	rc = 0;
out:
	fclose(f);
	return rc;
}

int conf_load(struct conf *c, const char *path, int optional, char **err)
{
	memset(c, 0, sizeof *c);
	for (size_t i = 0; i < NKEYS; i++)
		if (conf_apply(c, &keys[i], keys[i].def, err) != 0)
			return -1;
	if (path != NULL && conf_read_file(c, path, optional, err) != 0)
		return -1;
	for (size_t i = 0; i < NKEYS; i++) {
		char env[64] = "YIZHAN_";
		size_t n = strlen(env);
		for (const char *p = keys[i].name; *p && n < sizeof env - 1; p++)
			env[n++] = (char)toupper((unsigned char)*p);
		env[n] = '\0';
		const char *v = getenv(env);
		if (v == NULL)
			continue;
		char *e2 = NULL;
		if (conf_apply(c, &keys[i], v, &e2) != 0) {
			*err = xasprintf("environment %s: %s", env, e2);
			free(e2);
			return -1;
		}
	}
	return 0;
}

void conf_release(struct conf *c)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (keys[i].type == CT_STR) {
			char **slot = (char **)(void *)((char *)c + keys[i].off);
			free(*slot);
			*slot = NULL;
		}
}

void conf_print_doc(void)
{
	printf("# yizhan.conf: every key, its default, and what it does.\n"
	       "# Each key can also be set by the environment variable YIZHAN_<KEY>.\n\n");
	for (size_t i = 0; i < NKEYS; i++)
		printf("# %s\n%s = %s\n\n", keys[i].doc, keys[i].name, keys[i].def);
}
