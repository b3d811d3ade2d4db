/*
 * Unit tests of core/files: the content-addressed store.  Types are sniffed
 * from the bytes (a real PNG and PDF are kept; text named .pdf, an ELF or
 * HTML named .jpg are refused), sizes are bounded, the same content is one
 * file on disk with a row per put, the path layout, the atomic write (no
 * temporary file left), names sanitised.  Runs on the store under test
 * (testutil.h): SQLite by default, PostgreSQL with YIZHAN_TEST_STORE.
 */
#include "testutil.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "core/crypto.h"
#include "core/files.h"
#include "core/http.h"
#include "core/http_int.h"
#include "core/validate.h"
#include "core/xalloc.h"

/* A valid 1x1 RGB PNG (signature, IHDR, IDAT, IEND with their CRCs). */
static const unsigned char png[] = {
	0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d,
	0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01,
	0x08, 0x02, 0x00, 0x00, 0x00, 0x90, 0x77, 0x53, 0xde, 0x00, 0x00, 0x00,
	0x0c, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0x00,
	0x00, 0x03, 0x01, 0x01, 0x00, 0xc9, 0xfe, 0x92, 0xef, 0x00, 0x00, 0x00,
	0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
};

/* A minimal PDF: header, catalogue object, trailer, end marker. */
static const char pdf[] = "%PDF-1.4\n"
			  "1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
			  "2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n"
			  "trailer\n<< /Root 1 0 R >>\n%%EOF\n";

static const char *const materials[] = { "image/jpeg", "image/png", "application/pdf", NULL };

struct fx {
	struct store *st;
	char *data;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	f->st = test_store_open();
	if (store_migrate(f->st) != 0)
		return -1;
	f->data = test_tmpdir();
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char *cmd = NULL;
	if (asprintf(&cmd, "rm -rf '%s'", f->data) > 0 && system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", f->data);
	free(cmd);
	free(f->data);
	store_close(f->st);
	free(f);
	return 0;
}

/* Regular files under dir (recursively); *tmp counts those named .tmp-*. */
static int count_files(const char *dir, int *tmp)
{
	DIR *d = opendir(dir);
	int n = 0;
	if (d == NULL)
		return 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		char *p = NULL;
		assert_true(asprintf(&p, "%s/%s", dir, e->d_name) > 0);
		struct stat sb;
		assert_int_equal(stat(p, &sb), 0);
		if (S_ISDIR(sb.st_mode)) {
			n += count_files(p, tmp);
		} else {
			n++;
			if (strncmp(e->d_name, ".tmp-", 5) == 0)
				(*tmp)++;
		}
		free(p);
	}
	closedir(d);
	return n;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	if (fp == NULL)
		return NULL;
	char *buf = malloc(1 << 20);
	*len = fread(buf, 1, 1 << 20, fp);
	fclose(fp);
	return buf;
}

static int64_t rows(struct store *st)
{
	int64_t n = -1;
	assert_int_equal(store_query_int(st, "SELECT COUNT(*) FROM files", NULL, 0, &n), STORE_OK);
	return n;
}

static void put_ok(struct fx *f, const void *data, size_t len, const char *name, const char *mime,
		   struct file_info *out)
{
	enum msg_id why = MSG_NONE;
	assert_int_equal(store_begin(f->st), STORE_OK);
	int rc = files_put(f->st, f->data, data, len, name, materials, 1 << 20, 0, out, &why);
	if (rc != 0)
		fail_msg("files_put %s: refused with %s", name, msg_name(why));
	assert_int_equal(store_commit(f->st), STORE_OK);
	assert_int_equal(why, MSG_NONE);
	assert_true(out->id > 0);
	assert_string_equal(out->mime, mime);
	assert_int_equal(out->size, (int64_t)len);
}

static void put_refused(struct fx *f, const void *data, size_t len, const char *name, size_t max,
			enum msg_id want)
{
	struct file_info out;
	enum msg_id why = MSG_NONE;
	int64_t before = rows(f->st);
	assert_int_equal(store_begin(f->st), STORE_OK);
	assert_int_equal(files_put(f->st, f->data, data, len, name, materials, max, 0, &out, &why), -1);
	store_rollback(f->st);
	if (why != want)
		fail_msg("%s: expected %s, got %s", name, msg_name(want), msg_name(why));
	assert_null(out.mime);
	assert_int_equal(rows(f->st), before);
}

static void test_png_and_pdf_kept(void **state)
{
	struct fx *f = *state;
	struct file_info a, b, g;
	put_ok(f, png, sizeof png, "照片.png", "image/png", &a);
	put_ok(f, pdf, sizeof pdf - 1, "营业执照.pdf", "application/pdf", &b);
	assert_string_equal(a.name, "照片.png");
	assert_string_equal(b.name, "营业执照.pdf");
	/* The row reads back as it was written. */
	assert_int_equal(files_get(f->st, b.id, &g), 0);
	assert_int_equal(g.id, b.id);
	assert_string_equal(g.sha256, b.sha256);
	assert_string_equal(g.mime, "application/pdf");
	assert_string_equal(g.name, "营业执照.pdf");
	assert_int_equal(g.size, (int64_t)(sizeof pdf - 1));
	file_info_release(&g);
	assert_int_equal(files_get(f->st, b.id + 1000, &g), 1);
	/* The sha256 is the content's. */
	char hex[65];
	sha256_hex(png, sizeof png, hex);
	assert_string_equal(a.sha256, hex);
	file_info_release(&a);
	file_info_release(&b);
}

static void test_type_is_sniffed(void **state)
{
	struct fx *f = *state;
	/* Text that calls itself a PDF. */
	static const char text[] = "This is not a PDF, only text that says %PDF somewhere.\n";
	put_refused(f, text, sizeof text - 1, "x.pdf", 1 << 20, MSG_FILE_TYPE);
	/* An HTML page with a script, named like a photo. */
	static const char html[] = "<!DOCTYPE html>\n<html><head><title>x</title></head>"
				   "<body><script>alert(document.cookie)</script></body></html>\n";
	put_refused(f, html, sizeof html - 1, "photo.jpg", 1 << 20, MSG_FILE_TYPE);
	/* A real executable (this test program), named like a photo. */
	size_t n = 0;
	char *elf = slurp("/proc/self/exe", &n);
	assert_non_null(elf);
	assert_true(n > 4096 && memcmp(elf, "\x7f" "ELF", 4) == 0);
	put_refused(f, elf, 8192, "photo.jpg", 1 << 20, MSG_FILE_TYPE);
	free(elf);
	/* A PNG is refused where only PDF is allowed. */
	static const char *const only_pdf[] = { "application/pdf", NULL };
	struct file_info out;
	enum msg_id why = MSG_NONE;
	assert_int_equal(files_put(f->st, f->data, png, sizeof png, "a.pdf", only_pdf, 1 << 20, 0, &out, &why), -1);
	assert_int_equal(why, MSG_FILE_TYPE);
	/* Nothing refused reached the disk. */
	int tmp = 0;
	assert_int_equal(count_files(f->data, &tmp), 0);
}

static void test_size_limits(void **state)
{
	struct fx *f = *state;
	put_refused(f, png, 0, "empty.png", 1 << 20, MSG_FILE_EMPTY);
	put_refused(f, png, sizeof png, "big.png", sizeof png - 1, MSG_FILE_TOO_LARGE);
	/* Exactly the limit is fine. */
	struct file_info a;
	enum msg_id why;
	assert_int_equal(store_begin(f->st), STORE_OK);
	assert_int_equal(files_put(f->st, f->data, png, sizeof png, "ok.png", materials, sizeof png, 0, &a, &why), 0);
	assert_int_equal(store_commit(f->st), STORE_OK);
	file_info_release(&a);
}

static void test_same_content_one_file(void **state)
{
	struct fx *f = *state;
	struct file_info a, b;
	put_ok(f, pdf, sizeof pdf - 1, "第一份.pdf", "application/pdf", &a);
	put_ok(f, pdf, sizeof pdf - 1, "第二份.pdf", "application/pdf", &b);
	assert_true(a.id != b.id);
	assert_string_equal(a.sha256, b.sha256);
	assert_int_equal(rows(f->st), 2);
	int tmp = 0;
	assert_int_equal(count_files(f->data, &tmp), 1);
	assert_int_equal(tmp, 0);
	/* Each row keeps its own name. */
	struct file_info g;
	assert_int_equal(files_get(f->st, a.id, &g), 0);
	assert_string_equal(g.name, "第一份.pdf");
	file_info_release(&g);
	/* A file cut short on disk (a crash before this design, a bad copy) is written again. */
	char *path = files_path(f->data, a.sha256);
	assert_int_equal(truncate(path, 3), 0);
	struct file_info c;
	put_ok(f, pdf, sizeof pdf - 1, "第三份.pdf", "application/pdf", &c);
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal((size_t)sb.st_size, sizeof pdf - 1);
	free(path);
	file_info_release(&a);
	file_info_release(&b);
	file_info_release(&c);
}

static void test_path_layout(void **state)
{
	struct fx *f = *state;
	struct file_info a;
	put_ok(f, png, sizeof png, "p.png", "image/png", &a);
	char *path = files_path(f->data, a.sha256);
	char *want = NULL;
	assert_true(asprintf(&want, "%s/files/%.2s/%.2s/%s", f->data, a.sha256, a.sha256 + 2, a.sha256) > 0);
	assert_string_equal(path, want);
	size_t n = 0;
	char *got = slurp(path, &n);
	assert_non_null(got);
	assert_int_equal(n, sizeof png);
	assert_memory_equal(got, png, sizeof png);
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0640);
	/* Only well-formed digests make paths. */
	assert_null(files_path(f->data, "../../etc/passwd"));
	assert_null(files_path(f->data, ""));
	assert_null(files_path(f->data, "ABCDEF0000000000000000000000000000000000000000000000000000000000"));
	free(got);
	free(want);
	free(path);
	file_info_release(&a);
}

static void test_atomic_no_temp_left(void **state)
{
	struct fx *f = *state;
	/* Many different contents: each write goes through a temporary file. */
	for (int i = 0; i < 20; i++) {
		char doc[256];
		int n = snprintf(doc, sizeof doc, "%%PDF-1.4\n%% copy %d\ntrailer\n<< >>\n%%%%EOF\n", i);
		struct file_info a;
		put_ok(f, doc, (size_t)n, "d.pdf", "application/pdf", &a);
		file_info_release(&a);
	}
	int tmp = 0;
	assert_int_equal(count_files(f->data, &tmp), 20);
	assert_int_equal(tmp, 0);
	/* A data folder where files/ is not a folder (a mistake in a deployment): the put
	 * fails cleanly, with no row and nothing left behind.  (Not a permission test: the
	 * suite may run as root.) */
	char *data = f->data, *bad = NULL;
	f->data = test_tmpdir();
	assert_true(asprintf(&bad, "%s/files", f->data) > 0);
	FILE *fp = fopen(bad, "w");
	assert_non_null(fp);
	fclose(fp);
	static const char other[] = "%PDF-1.4\n% new content\n%%EOF\n";
	put_refused(f, other, sizeof other - 1, "n.pdf", 1 << 20, MSG_HTTP_500);
	tmp = 0;
	assert_int_equal(count_files(f->data, &tmp), 1);
	assert_int_equal(tmp, 0);
	unlink(bad);
	rmdir(f->data);
	free(f->data);
	f->data = data;
	free(bad);
}

static void test_rollback_keeps_no_row(void **state)
{
	struct fx *f = *state;
	struct file_info a;
	enum msg_id why;
	assert_int_equal(store_begin(f->st), STORE_OK);
	assert_int_equal(files_put(f->st, f->data, png, sizeof png, "r.png", materials, 1 << 20, 0, &a, &why), 0);
	store_rollback(f->st);
	assert_int_equal(rows(f->st), 0);
	struct file_info g;
	assert_int_equal(files_get(f->st, a.id, &g), 1);
	file_info_release(&a);
}

static void check_name(const char *in, const char *want)
{
	char *got = files_clean_name(in);
	if (strcmp(got, want) != 0)
		fail_msg("files_clean_name(\"%s\"): expected \"%s\", got \"%s\"", in ? in : "(null)", want, got);
	free(got);
}

static void test_names(void **state)
{
	(void)state;
	check_name("营业执照.pdf", "营业执照.pdf");
	check_name("../../etc/passwd", "passwd");
	check_name("C:\\Users\\张三\\身份证 正面.jpg", "身份证 正面.jpg");
	check_name("a\x01" "b\x7f" "c\r\n.png", "abc.png");
	/* U+202E RIGHT-TO-LEFT OVERRIDE: "photo\u202Egpj.exe" shows as "photoexe.jpg". */
	check_name("photo\xe2\x80\xae" "gpj.exe", "photogpj.exe");
	check_name("bad\xff\xfe utf8.png", "bad utf8.png");
	check_name("  .hidden. ", "hidden");
	check_name("", "未命名文件");
	check_name(NULL, "未命名文件");
	check_name("../", "未命名文件");
	/* At most 200 code points, cut on a character boundary. */
	char longname[1024];
	for (int i = 0; i < 150; i++)
		memcpy(longname + i * 6, "文件", 6);
	longname[900] = '\0';
	char *got = files_clean_name(longname);
	assert_int_equal(strlen(got), 200 * 3);
	assert_int_equal(validate_utf8(got, strlen(got)), MSG_NONE);
	free(got);
}

static void *sniff_worker(void *arg)
{
	(void)arg;
	char mime[64];
	for (int i = 0; i < 100; i++) {
		const void *d = (i & 1) ? (const void *)png : (const void *)pdf;
		size_t n = (i & 1) ? sizeof png : sizeof pdf - 1;
		if (files_sniff(d, n, mime, sizeof mime) != 0 ||
		    strcmp(mime, (i & 1) ? "image/png" : "application/pdf") != 0)
			return (void *)1;
	}
	return NULL;
}

/* libmagic handles are not thread-safe: the pool gives each caller its own. */
static void test_sniff_threads(void **state)
{
	(void)state;
	pthread_t t[6];
	for (int i = 0; i < 6; i++)
		assert_int_equal(pthread_create(&t[i], NULL, sniff_worker, NULL), 0);
	for (int i = 0; i < 6; i++) {
		void *rv = NULL;
		pthread_join(t[i], &rv);
		assert_null(rv);
	}
	char mime[8];
	/* A short buffer still gets a terminated (cut) answer. */
	assert_int_equal(files_sniff(png, sizeof png, mime, sizeof mime), 0);
	assert_string_equal(mime, "image/p");
}

/* ---------- resp_file, served by a real libmicrohttpd daemon ---------- */

/* GET /f/<id>/<inline_ok>: the file row id, answered with resp_file. */
static enum MHD_Result serve_file(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	(void)method;
	(void)version;
	(void)upload;
	(void)upload_size;
	(void)con_cls;
	struct fx *f = cls;
	struct req r;
	memset(&r, 0, sizeof r);
	r.arena = arena_new();
	r.conn = c;
	r.is_api = 1;
	buf_init(&r.out, 1 << 20);
	long long id = 0;
	int inl = 0;
	struct file_info fi;
	memset(&fi, 0, sizeof fi);
	if (sscanf(url, "/f/%lld/%d", &id, &inl) == 2 && files_get(f->st, id, &fi) == 0)
		resp_file(&r, &fi, f->data, inl);
	else
		resp_error(&r, 404, MSG_HTTP_404, NULL);
	enum MHD_Result rc = resp_send(&r) == MHD_YES ? MHD_YES : MHD_NO;
	if (r.has_fd)
		close(r.resp_fd);
	file_info_release(&fi);
	buf_release(&r.out);
	arena_free(r.arena);
	return rc;
}

/* The raw answer to GET path (HTTP/1.0, the server closes). */
static char *http_get(int port, const char *path, size_t *len)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	assert_int_equal(connect(s, (struct sockaddr *)&sin, sizeof sin), 0);
	char req[256];
	int n = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: x\r\n\r\n", path);
	assert_int_equal(write(s, req, (size_t)n), n);
	char *out = malloc(1 << 20);
	size_t got = 0;
	ssize_t k;
	while ((k = read(s, out + got, (1 << 20) - 1 - got)) > 0)
		got += (size_t)k;
	close(s);
	out[got] = '\0';
	*len = got;
	return out;
}

static const char *body_of(const char *resp, size_t len, size_t *blen)
{
	const char *b = strstr(resp, "\r\n\r\n");
	assert_non_null(b);
	b += 4;
	*blen = len - (size_t)(b - resp);
	return b;
}

static void test_resp_file(void **state)
{
	struct fx *f = *state;
	static const char *const any[] = { "image/png", "application/pdf", "text/plain", NULL };
	static const char page[] = "<p>hello</p> just some text, not HTML by the bytes\n";
	struct file_info a, b, t;
	enum msg_id why;
	assert_int_equal(store_begin(f->st), STORE_OK);
	assert_int_equal(files_put(f->st, f->data, pdf, sizeof pdf - 1, "营业执照 2024.pdf", any, 1 << 20, 0, &a, &why), 0);
	assert_int_equal(files_put(f->st, f->data, png, sizeof png, "a\"b.png", any, 1 << 20, 0, &b, &why), 0);
	assert_int_equal(files_put(f->st, f->data, page, sizeof page - 1, "x.html", any, 1 << 20, 0, &t, &why), 0);
	assert_int_equal(store_commit(f->st), STORE_OK);
	assert_string_equal(t.mime, "text/plain");

	struct MHD_Daemon *d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, serve_file, f,
						MHD_OPTION_END);
	assert_non_null(d);
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	assert_non_null(di);
	int port = di->port;
	char path[64];
	size_t len, blen;

	/* A PDF in place: the sniffed type, the Chinese name per RFC 5987, never cached publicly. */
	snprintf(path, sizeof path, "/f/%lld/1", (long long)a.id);
	char *resp = http_get(port, path, &len);
	assert_non_null(strstr(resp, "HTTP/1.0 200") ? resp : strstr(resp, "HTTP/1.1 200"));
	assert_non_null(strstr(resp, "\r\nContent-Type: application/pdf\r\n"));
	assert_non_null(strstr(resp, "\r\nContent-Disposition: inline; filename=\"____ 2024.pdf\"; "
				     "filename*=UTF-8''%E8%90%A5%E4%B8%9A%E6%89%A7%E7%85%A7%202024.pdf\r\n"));
	assert_non_null(strstr(resp, "\r\nX-Content-Type-Options: nosniff\r\n"));
	assert_non_null(strstr(resp, "\r\nCache-Control: private\r\n"));
	assert_non_null(strstr(resp, "Content-Security-Policy: default-src 'none'"));
	const char *body = body_of(resp, len, &blen);
	assert_int_equal(blen, sizeof pdf - 1);
	assert_memory_equal(body, pdf, sizeof pdf - 1);
	free(resp);

	/* Not in place when the handler says so; a quote in the name cannot break the header. */
	snprintf(path, sizeof path, "/f/%lld/0", (long long)b.id);
	resp = http_get(port, path, &len);
	assert_non_null(strstr(resp, "\r\nContent-Type: image/png\r\n"));
	assert_non_null(strstr(resp, "\r\nContent-Disposition: attachment; filename=\"a_b.png\"; "
				     "filename*=UTF-8''a%22b.png\r\n"));
	body = body_of(resp, len, &blen);
	assert_int_equal(blen, sizeof png);
	assert_memory_equal(body, png, sizeof png);
	free(resp);

	/* Text is never shown in place, whatever the handler allows. */
	snprintf(path, sizeof path, "/f/%lld/1", (long long)t.id);
	resp = http_get(port, path, &len);
	assert_non_null(strstr(resp, "\r\nContent-Type: text/plain\r\n"));
	assert_non_null(strstr(resp, "\r\nContent-Disposition: attachment; "));
	free(resp);

	/* The bytes gone from disk: 404, not a crash or an empty 200. */
	char *p = files_path(f->data, t.sha256);
	assert_int_equal(unlink(p), 0);
	free(p);
	resp = http_get(port, path, &len);
	assert_non_null(strstr(resp, " 404 "));
	assert_null(strstr(resp, "Content-Disposition"));
	free(resp);

	MHD_stop_daemon(d);
	file_info_release(&a);
	file_info_release(&b);
	file_info_release(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_png_and_pdf_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_type_is_sniffed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_size_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_same_content_one_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_path_layout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_atomic_no_temp_left, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rollback_keeps_no_row, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resp_file, setup, teardown),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_sniff_threads),
	};
	return cmocka_run_group_tests_name("files", tests, NULL, NULL);
}
