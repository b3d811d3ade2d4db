/*
 * files: the content-addressed file store (see files.h).
 */
#include "core/files.h"
#include "core/crypto.h"
#include "core/log.h"
#include "core/store.h"
#include "core/validate.h"
#include "core/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <magic.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum files_stmt { S_INSERT, S_GET, S__MAX };

static const char *const sql[S__MAX] = {
	[S_INSERT] = "INSERT INTO files (sha256, mime, size, name, owner_id, created_at) "
		     "VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
	[S_GET] = "SELECT id, sha256, mime, size, name FROM files WHERE id = $1",
};

/* ---------- sniffing ---------- */

/*
 * A magic_t is not thread-safe, and loading the database costs a little, so
 * handles are kept in a small pool: taken for one call, given back after.
 * (One per thread would leak a handle per connection thread on PostgreSQL,
 * where the server runs a thread per connection.)
 */
#define MAGIC_POOL 8

static pthread_mutex_t magic_mu = PTHREAD_MUTEX_INITIALIZER;
static magic_t magic_pool[MAGIC_POOL];
static int magic_n;

static magic_t magic_take(void)
{
	magic_t m = NULL;
	pthread_mutex_lock(&magic_mu);
	if (magic_n > 0)
		m = magic_pool[--magic_n];
	pthread_mutex_unlock(&magic_mu);
	if (m != NULL)
		return m;
	/* MAGIC_NO_CHECK_COMPRESS: never decompress what a client sent. */
	m = magic_open(MAGIC_MIME_TYPE | MAGIC_NO_CHECK_COMPRESS | MAGIC_ERROR);
	if (m == NULL) {
		log_error("files: magic_open: %s", strerror(errno));
		return NULL;
	}
	if (magic_load(m, NULL) != 0) {
		log_error("files: magic_load: %s", magic_error(m) ? magic_error(m) : "?");
		magic_close(m);
		return NULL;
	}
	return m;
}

static void magic_give(magic_t m)
{
	pthread_mutex_lock(&magic_mu);
	if (magic_n < MAGIC_POOL) {
		magic_pool[magic_n++] = m;
		m = NULL;
	}
	pthread_mutex_unlock(&magic_mu);
	if (m != NULL)
		magic_close(m);
}

int files_sniff(const void *data, size_t len, char *mime, size_t cap)
{
	magic_t m = magic_take();
	int rc = -1;
	if (m == NULL || cap == 0)
		goto out;
	const char *t = magic_buffer(m, data, len);
	if (t == NULL) {
		log_error("files: magic_buffer: %s", magic_error(m) ? magic_error(m) : "?");
		goto out;
	}
	size_t n = strlen(t);
	if (n >= cap)
		n = cap - 1;
	memcpy(mime, t, n);
	mime[n] = '\0';
	rc = 0;
out:
	if (m != NULL)
		magic_give(m);
	return rc;
}

/* ---------- names ---------- */

/* Length of the UTF-8 sequence at p (at most n bytes) and its code point; 0 if invalid. */
static size_t utf8_next(const unsigned char *p, size_t n, uint32_t *cp)
{
	size_t len = p[0] < 0x80 ? 1 : p[0] >= 0xF0 ? 4 : p[0] >= 0xE0 ? 3 : 2;
	if (len > n || validate_utf8((const char *)p, len) != MSG_NONE)
		return 0;
	static const unsigned char lead_mask[] = { 0, 0x7F, 0x1F, 0x0F, 0x07 };
	*cp = p[0] & lead_mask[len];
	for (size_t i = 1; i < len; i++)
		*cp = (*cp << 6) | (p[i] & 0x3Fu);
	return len;
}

/* Characters never kept in a name: controls, and the invisible marks that
 * can make "gpj.exe" look like "exe.jpg". */
static int name_drop(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0x200E || cp == 0x200F ||
	       (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0xFEFF;
}

char *files_clean_name(const char *name)
{
	if (name == NULL)
		name = "";
	const char *base = name;
	for (const char *p = name; *p; p++)
		if (*p == '/' || *p == '\\')
			base = p + 1;
	size_t n = strlen(base), o = 0, chars = 0;
	char *out = xmalloc(n + 1);
	const unsigned char *p = (const unsigned char *)base;
	for (size_t i = 0; i < n && chars < FILES_NAME_MAX;) {
		uint32_t cp = 0;
		size_t k = utf8_next(p + i, n - i, &cp);
		if (k == 0) {          /* not UTF-8: the byte is dropped */
			i++;
			continue;
		}
		if (!name_drop(cp)) {
			memcpy(out + o, p + i, k);
			o += k;
			chars++;
		}
		i += k;
	}
	out[o] = '\0';
	/* Surrounding spaces and dots say nothing and confuse some systems. */
	size_t s = 0;
	while (out[s] == ' ' || out[s] == '.')
		s++;
	while (o > s && (out[o - 1] == ' ' || out[o - 1] == '.'))
		o--;
	if (o <= s) {
		free(out);
		return xstrdup("未命名文件");
	}
	memmove(out, out + s, o - s);
	out[o - s] = '\0';
	return out;
}

/* ---------- paths and writing ---------- */

static int is_sha256_hex(const char *s)
{
	if (s == NULL || strlen(s) != 64)
		return 0;
	for (int i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

char *files_path(const char *data_dir, const char *sha256)
{
	if (!is_sha256_hex(sha256))
		return NULL;
	return xasprintf("%s/files/%.2s/%.2s/%s", data_dir, sha256, sha256 + 2, sha256);
}

static int mkdir_one(const char *path)
{
	if (mkdir(path, 0750) == 0 || errno == EEXIST)
		return 0;
	log_error("files: mkdir %s: %s", path, strerror(errno));
	return -1;
}

static int fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		log_error("files: open %s: %s", path, strerror(errno));
		return -1;
	}
	int rc = fsync(fd);
	if (rc != 0)
		log_error("files: fsync %s: %s", path, strerror(errno));
	close(fd);
	return rc;
}

static int write_all(int fd, const unsigned char *p, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/*
 * Writes data to DATA/files/ab/cd/<sha> unless a file of that size is there
 * already: a temporary file in the same folder, fsync, rename over, fsync
 * of the folder.  Two requests storing the same bytes at once each rename a
 * complete copy: either one wins, both are whole.
 */
static int files_write(const char *data_dir, const char *sha, const void *data, size_t len)
{
	char *top = xasprintf("%s/files", data_dir);
	char *d1 = xasprintf("%s/%.2s", top, sha);
	char *d2 = xasprintf("%s/%.2s", d1, sha + 2);
	char *final = files_path(data_dir, sha);
	char *tmp = xasprintf("%s/.tmp-XXXXXX", d2);
	int fd = -1, rc = -1;
	struct stat sb;

	if (stat(final, &sb) == 0 && S_ISREG(sb.st_mode) && (size_t)sb.st_size == len) {
		rc = 0;
		goto out;
	}
	if (mkdir_one(top) != 0 || mkdir_one(d1) != 0 || mkdir_one(d2) != 0)
		goto out;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		log_error("files: mkostemp in %s: %s", d2, strerror(errno));
		goto out;
	}
	if (fchmod(fd, 0640) != 0 || write_all(fd, data, len) != 0 || fsync(fd) != 0) {
		log_error("files: write %s: %s", tmp, strerror(errno));
		goto fail;
	}
	if (close(fd) != 0) {
		fd = -1;
		log_error("files: close %s: %s", tmp, strerror(errno));
		goto fail;
	}
	fd = -1;
	if (rename(tmp, final) != 0) {
		log_error("files: rename %s: %s", final, strerror(errno));
		goto fail;
	}
	if (fsync_dir(d2) != 0)
		goto out;
	rc = 0;
	goto out;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
out:
	free(top);
	free(d1);
	free(d2);
	free(final);
	free(tmp);
	return rc;
}

/* ---------- the store ---------- */

int files_put(struct store *st, const char *data_dir, const void *data, size_t len, const char *name,
	      const char *const *allowed, size_t max, int64_t owner_id, struct file_info *out,
	      enum msg_id *why)
{
	char mime[128], sha[65];
	char *clean = NULL;
	int64_t id = 0;
	int ok = 0;

	memset(out, 0, sizeof *out);
	*why = MSG_HTTP_500;
	if (len == 0) {
		*why = MSG_FILE_EMPTY;
		return -1;
	}
	if (len > max) {
		*why = MSG_FILE_TOO_LARGE;
		return -1;
	}
	if (files_sniff(data, len, mime, sizeof mime) != 0)
		return -1;
	for (size_t i = 0; allowed != NULL && allowed[i] != NULL && !ok; i++)
		ok = strcmp(allowed[i], mime) == 0;
	if (!ok) {
		*why = MSG_FILE_TYPE;
		return -1;
	}
	sha256_hex(data, len, sha);
	if (files_write(data_dir, sha, data, len) != 0)
		return -1;
	clean = files_clean_name(name);
	struct sval p[] = { SVT(sha), SVT(mime), SVI(len), SVT(clean),
			    owner_id > 0 ? SVI(owner_id) : SVN, SVI(time(NULL)) };
	if (store_query_int(st, sql[S_INSERT], p, 6, &id) != STORE_OK) {
		free(clean);
		return -1;
	}
	out->id = id;
	memcpy(out->sha256, sha, sizeof sha);
	out->mime = xstrdup(mime);
	out->name = clean;
	out->size = (int64_t)len;
	*why = MSG_NONE;
	return 0;
}

int files_get(struct store *st, int64_t id, struct file_info *out)
{
	struct store_res *res = NULL;
	struct sval p[] = { SVI(id) };
	int rc = -1;

	memset(out, 0, sizeof *out);
	if (store_query(st, sql[S_GET], p, 1, &res) != STORE_OK)
		return -1;
	if (store_res_rows(res) == 0) {
		rc = 1;
		goto out;
	}
	const char *sha = store_res_text(res, 0, 1);
	if (!is_sha256_hex(sha)) {
		log_error("files: row %lld has no valid sha256", (long long)id);
		goto out;
	}
	out->id = store_res_int(res, 0, 0);
	memcpy(out->sha256, sha, 65);
	out->mime = xstrdup(store_res_text(res, 0, 2) ? store_res_text(res, 0, 2) : "application/octet-stream");
	out->size = store_res_int(res, 0, 3);
	out->name = xstrdup(store_res_text(res, 0, 4) ? store_res_text(res, 0, 4) : "");
	rc = 0;
out:
	store_res_free(res);
	return rc;
}

void file_info_release(struct file_info *f)
{
	if (f == NULL)
		return;
	free(f->mime);
	free(f->name);
	f->mime = NULL;
	f->name = NULL;
}
