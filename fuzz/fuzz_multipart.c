/*
 * libFuzzer target: multipart/form-data bodies through the real request path.
 *
 * libmicrohttpd's post processor needs a connection, so this target runs the
 * server's own callbacks (http_start_external) on a daemon without a
 * listening socket: each input becomes one request on a fresh socket pair,
 * added with MHD_add_connection and run with MHD_run until the answer is
 * read.  The input's first line is the boundary (as in the Content-Type
 * header), the rest is the body, posted to one RF_UPLOAD API route with text
 * and file fields and small limits (max_upload 2048, max_body 4096), so
 * every limit is within reach.
 *
 * Beyond "no crash, no leak", it checks what handlers rely on: a request
 * that reaches the handler carries only declared fields, text in valid
 * UTF-8 without NUL, at most 8 files each within its field's limit and with
 * a UTF-8 name; and every request is answered 200, 400 or 413.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/conf.h"
#include "core/http.h"
#include "core/http_int.h"
#include "core/input.h"
#include "core/log.h"
#include "core/store.h"
#include "core/validate.h"
#include "core/xalloc.h"

#define CHECK(cond) do { if (!(cond)) { fprintf(stderr, "fuzz_multipart: %s\n", #cond); abort(); } } while (0)

#define FILE_MAX 1000

static const struct field_spec fields[] = {
	{ "a", FT_TEXT, 0, 0, 0, NULL, "甲" },
	{ "b", FT_TEXTAREA, 0, 0, 0, NULL, "乙" },
	{ "n", FT_INT, 0, 0, 100, NULL, "数" },
	{ "f", FT_FILE, 0, 0, FILE_MAX, NULL, "文件" },
	{ "g", FT_FILE, 0, 0, 0, NULL, "附件" },
	{ NULL },
};

static void handler(struct req *r)
{
	const char *k;
	json_t *v;
	json_object_foreach(r->in, k, v) {
		int known = 0;
		for (const struct field_spec *f = fields; f->name; f++)
			known |= strcmp(f->name, k) == 0 && f->type != FT_FILE;
		CHECK(known);
		if (json_is_string(v)) {
			CHECK(validate_utf8(json_string_value(v), json_string_length(v)) == MSG_NONE);
			CHECK(memchr(json_string_value(v), '\0', json_string_length(v)) == NULL);
		}
	}
	CHECK(r->nuploads >= 0 && r->nuploads <= REQ_MAX_UPLOADS);
	for (int i = 0; i < r->nuploads; i++) {
		const struct upload *u = req_upload_at(r, i);
		CHECK(u != NULL);
		CHECK(strcmp(u->field, "f") == 0 || strcmp(u->field, "g") == 0);
		CHECK(u->data.len <= (strcmp(u->field, "f") == 0 ? FILE_MAX : 2048u));
		CHECK(validate_utf8(u->filename, strlen(u->filename)) == MSG_NONE);
		CHECK(u->filename[0] != '\0' || u->data.len > 0);
		CHECK(req_upload(r, u->field) != NULL);
	}
	CHECK(req_upload_at(r, r->nuploads) == NULL);
	resp_json(r, 200, json_pack("{s:i}", "files", r->nuploads));
}

static const struct route routes[] = {
	{ HM_POST, "/api/v1/fuzz", handler, ROLE_PUBLIC, RF_API | RF_UPLOAD | RF_NOTX, fields, NULL, NULL,
	  "fuzz" },
	{ 0, NULL, NULL, 0, 0, NULL, NULL, NULL, NULL },
};

static struct conf conf;
static struct server_ctx ctx;
static struct MHD_Daemon *daemon_;
static char dir[] = "/tmp/yizhan-fuzz-mp-XXXXXX";

/* The daemon, the store and its folder go when the fuzzer exits. */
static void cleanup(void)
{
	static const char *const names[] = { "fuzz.db", "fuzz.db-wal", "fuzz.db-shm" };
	MHD_stop_daemon(daemon_);
	store_pool_free(ctx.pool);
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		char *p = xasprintf("%s/%s", dir, names[i]);
		unlink(p);
		free(p);
	}
	rmdir(dir);
	conf_release(&conf);
}

static void init(void)
{
	char *err = NULL;
	log_set_level(LOG_ERROR);
	if (conf_load(&conf, NULL, 1, &err) != 0)
		abort();
	conf.max_upload = 2048;
	conf.max_body = 4096;
	if (mkdtemp(dir) == NULL)
		abort();
	char *uri = xasprintf("sqlite:%s/fuzz.db", dir);
	struct store_pool *pool = NULL;
	if (store_pool_new(uri, 1, &pool, &err) != 0)
		abort();
	free(uri);
	ctx.conf = &conf;
	ctx.pool = pool;
	ctx.store_uri = "sqlite:";
	http_add_routes(routes);
	daemon_ = http_start_external(&ctx);
	if (daemon_ == NULL)
		abort();
	atexit(cleanup);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (daemon_ == NULL)
		init();
	const uint8_t *nl = memchr(data, '\n', size);
	if (nl == NULL || nl - data > 120 || size > 200000)
		return 0;
	size_t blen = (size_t)(nl - data);
	for (size_t i = 0; i < blen; i++)
		if (data[i] < 0x20 || data[i] == 0x7f)
			return 0;
	const char *body = (const char *)nl + 1;
	size_t body_len = size - blen - 1;

	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		abort();
	int big = 1 << 20;
	setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
	setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	struct sockaddr_in peer = { .sin_family = AF_INET, .sin_port = htons(40000) };
	inet_pton(AF_INET, "127.0.0.1", &peer.sin_addr);
	if (MHD_add_connection(daemon_, sv[0], (const struct sockaddr *)&peer, sizeof peer) != MHD_YES)
		abort();

	char *head = xasprintf("POST /api/v1/fuzz HTTP/1.1\r\nHost: x\r\n"
			       "Content-Type: multipart/form-data; boundary=%.*s\r\n"
			       "Content-Length: %zu\r\nConnection: close\r\n\r\n",
			       (int)blen, (const char *)data, body_len);
	size_t hlen = strlen(head), sent = 0, total = hlen + body_len;
	char reply[4096];
	size_t got = 0;
	int closed = 0;
	for (int spins = 0; spins < 100000 && !closed; spins++) {
		while (sent < total) {
			const char *p = sent < hlen ? head + sent : body + (sent - hlen);
			size_t n = sent < hlen ? hlen - sent : total - sent;
			ssize_t w = send(sv[1], p, n, MSG_NOSIGNAL);
			if (w <= 0)
				break;
			sent += (size_t)w;
		}
		MHD_run(daemon_);
		for (;;) {
			ssize_t k = read(sv[1], reply + got, sizeof reply - 1 - got);
			if (k == 0) {
				closed = 1;
				break;
			}
			if (k < 0)
				break;
			got += (size_t)k;
			if (got == sizeof reply - 1)
				got = 12;   /* only the status line matters */
		}
	}
	reply[got] = '\0';
	close(sv[1]);
	MHD_run(daemon_);   /* reaps the closed connection */
	free(head);
	if (getenv("FUZZ_MULTIPART_VERBOSE") != NULL)   /* to see what the seeds reach */
		fprintf(stderr, "%.*s\n", (int)strcspn(reply, "\r"), reply);
	CHECK(closed);
	CHECK(strncmp(reply, "HTTP/1.1 200", 12) == 0 || strncmp(reply, "HTTP/1.1 400", 12) == 0 ||
	      strncmp(reply, "HTTP/1.1 413", 12) == 0);
	return 0;
}
