/*
 * conf: the one configuration file (yizhan.conf, "key = value" lines, '#'
 * comments) with every key overridable by an environment variable
 * YIZHAN_<KEY> (upper case).  Every key, its default and its meaning are in
 * the table in conf.c; `yizhan config` prints them, and README.md lists them.
 */
#ifndef YZ_CONF_H
#define YZ_CONF_H

#include <stddef.h>

struct conf {
	char *data;            /* data folder */
	char *store;           /* sqlite:PATH or postgresql://... ("" = sqlite:<data>/yizhan.db) */
	char *listen;          /* address to bind */
	int port;
	int threads;           /* HTTP polling threads (SQLite) */
	int pool;              /* store connections for HTTP (PostgreSQL: concurrent requests) */
	int workers;           /* job worker threads */
	int demo_persons;      /* serve --demo: persons in the generated demo registries */
	long max_body;         /* bytes */
	long max_upload;       /* bytes per uploaded file (multipart) */
	long max_header;       /* bytes: per-connection header memory */
	int timeout;           /* seconds of inactivity before a connection is closed */
	int session_idle;      /* minutes */
	int session_max;       /* hours */
	char *cookie_secure;   /* auto | always | never */
	char *access_log;      /* path, "-" for stderr, "" for none */
	char *trusted_proxy;   /* address whose X-Forwarded-For / -Proto are believed ("" = none) */
	char *uscc_allow;      /* comma-separated pilot 统一社会信用代码 accepted with a warning */
	char *tls_cert;        /* PEM paths: when both are set, serve HTTPS directly */
	char *tls_key;
	char *base_url;        /* how people reach this server, for links in banners and mail */
	int login_max_fail_account;  /* failures per account per window before a lock */
	int login_max_fail_ip;       /* failures per address per window before a lock */
	int login_window;            /* minutes */
	char *smtp_url;              /* smtp://host:port or smtps://host ("" = no e-mail) */
	char *smtp_from;             /* sender address of notification mail */
	char *smtp_user;             /* SMTP AUTH user ("" = no AUTH) */
	char *smtp_password;
	char *sms_webhook;           /* URL that takes SMS/WeChat messages as JSON ("" = none) */
	int notify_max_attempts;     /* deliveries tried per message and channel before it fails */
	char *stars_weights;         /* department stars: weights of depth, on-time rate, satisfaction */
	char *stars_thresholds;      /* department stars: the four scores where 2, 3, 4, 5 stars begin */
	int stars_min_cases;         /* department stars: fewer decided cases show 数据不足 */
};

/* Loads defaults, then path (may be NULL or missing when optional), then the
 * environment.  0, or -1 with *err (malloc'd) naming the file, line and key. */
int conf_load(struct conf *c, const char *path, int optional, char **err);
/* Sets one key from text (command-line overrides). */
int conf_set(struct conf *c, const char *key, const char *value, char **err);
void conf_release(struct conf *c);
/* Prints every key with default and description (yizhan config). */
void conf_print_doc(void);

#endif
