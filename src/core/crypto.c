/*
 * crypto: thin, checked wrappers around libsodium (passwords, randomness,
 * hashes, signatures, secretbox) and liboath (TOTP), plus the server keys
 * in DATA_DIR/keys/.  See crypto.h for the contracts.
 */
#include "core/crypto.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <liboath/oath.h>
#include <sodium.h>

_Static_assert(PASSWORD_HASH_MAX >= crypto_pwhash_STRBYTES, "PASSWORD_HASH_MAX too small");
_Static_assert(crypto_sign_PUBLICKEYBYTES == 32, "Ed25519 public key size");
_Static_assert(crypto_sign_SECRETKEYBYTES == 64, "Ed25519 secret key size");
_Static_assert(crypto_sign_BYTES == 64, "Ed25519 signature size");
_Static_assert(crypto_secretbox_KEYBYTES == 32, "secretbox key size");

int crypto_init(void)
{
	if (sodium_init() < 0) {
		log_error("crypto: sodium_init failed");
		return -1;
	}
	int rc = oath_init();
	if (rc != OATH_OK) {
		log_error("crypto: oath_init: %s", oath_strerror(rc));
		return -1;
	}
	return 0;
}

/* ---- passwords ---------------------------------------------------------- */

int password_hash(const char *pw, char out[PASSWORD_HASH_MAX])
{
	if (pw == NULL)
		return -1;
	if (crypto_pwhash_str_alg(out, pw, strlen(pw), crypto_pwhash_OPSLIMIT_INTERACTIVE,
				  crypto_pwhash_MEMLIMIT_INTERACTIVE,
				  crypto_pwhash_ALG_ARGON2ID13) != 0) {
		log_error("crypto: password hashing failed (out of memory?)");
		return -1;
	}
	return 0;
}

int password_verify(const char *hash, const char *pw)
{
	if (hash == NULL || pw == NULL)
		return -1;
	/* crypto_pwhash_str_verify wants a NUL-terminated string shorter than STRBYTES. */
	if (strnlen(hash, crypto_pwhash_STRBYTES) >= crypto_pwhash_STRBYTES)
		return -1;
	return crypto_pwhash_str_verify(hash, pw, strlen(pw)) == 0 ? 0 : -1;
}

static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;
static char dummy_hash[PASSWORD_HASH_MAX];
static int dummy_ok;

static void dummy_init(void)
{
	/* The password is irrelevant: only the cost of verifying matters. */
	dummy_ok = password_hash("yizhan-dummy-password-for-timing", dummy_hash) == 0;
}

void password_dummy_verify(const char *pw)
{
	if (pthread_once(&dummy_once, dummy_init) != 0 || !dummy_ok)
		return;
	if (pw == NULL)
		pw = "";
	(void)password_verify(dummy_hash, pw);
}

/* ---- random, hashes, comparison ------------------------------------------ */

void random_hex(char *out, size_t nbytes)
{
	unsigned char chunk[64];
	size_t done = 0;

	out[0] = '\0';
	while (done < nbytes) {
		size_t n = nbytes - done < sizeof chunk ? nbytes - done : sizeof chunk;
		randombytes_buf(chunk, n);
		sodium_bin2hex(out + 2 * done, 2 * n + 1, chunk, n);
		done += n;
	}
	sodium_memzero(chunk, sizeof chunk);
}

uint32_t random_uniform(uint32_t upper)
{
	return randombytes_uniform(upper);
}

void sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(h, data, len);
	sodium_bin2hex(out, 65, h, sizeof h);
}

int str_ct_equal(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return -1;
	size_t la = strlen(a), lb = strlen(b);
	int len_differs = la != lb;
	/* Compare a with itself when lengths differ, so the time depends on the
	 * lengths only, never on where the contents first differ. */
	const char *other = len_differs ? a : b;
	int r = sodium_memcmp(a, other, la);
	return (len_differs | (r != 0)) ? -1 : 0;
}

/* ---- server keys ---------------------------------------------------------- */

static int read_full(int fd, unsigned char *p, size_t n)
{
	while (n > 0) {
		ssize_t r = read(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	/* The file must end here. */
	unsigned char extra;
	ssize_t r;
	do
		r = read(fd, &extra, 1);
	while (r < 0 && errno == EINTR);
	return r == 0 ? 0 : -1;
}

static int write_full(int fd, const unsigned char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * Loads path into out (exactly size bytes).  Returns 0, 1 when the file does
 * not exist, or -1 with *msg set (malloc'd).
 */
static int key_load(const char *path, unsigned char *out, size_t size, char **msg)
{
	int ret = -1, fd;
	struct stat sb;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 1;
		*msg = xasprintf("key file %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) != 0) {
		*msg = xasprintf("key file %s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(sb.st_mode)) {
		*msg = xasprintf("key file %s: not a regular file", path);
		goto out;
	}
	if ((sb.st_mode & 077) != 0) {
		*msg = xasprintf("key file %s: mode %04o lets group or others access it; "
				 "refusing to use it (chmod 600 %s if it was not exposed, "
				 "otherwise replace the key)",
				 path, (unsigned)(sb.st_mode & 07777), path);
		goto out;
	}
	if (sb.st_size != (off_t)size) {
		*msg = xasprintf("key file %s: size is %lld bytes, expected exactly %zu",
				 path, (long long)sb.st_size, size);
		goto out;
	}
	if (read_full(fd, out, size) != 0) {
		*msg = xasprintf("key file %s: short read or size changed while reading", path);
		goto out;
	}
	ret = 0;
out:
	close(fd);
	return ret;
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	close(fd);
	return rc;
}

/*
 * Creates path atomically with the given content and mode 0600: a temporary
 * file in the same folder is written and fsync'd, then linked to its final
 * name and the folder fsync'd.  link() rather than rename(): it fails with
 * EEXIST instead of replacing a key another process created meanwhile (the
 * O_EXCL guarantee for the final name).  Returns 0, 1 when the key already
 * exists (someone else won the race), -1 with *msg set.
 */
static int key_create(const char *dir, const char *path, const unsigned char *data,
		      size_t size, char **msg)
{
	int ret = -1, fd = -1;
	char *tmp = xasprintf("%s/.tmp-key-XXXXXX", dir);

	fd = mkostemp(tmp, O_CLOEXEC);   /* O_EXCL, mode 0600 */
	if (fd < 0) {
		*msg = xasprintf("key folder %s: cannot create a temporary file: %s", dir,
				 strerror(errno));
		goto out;
	}
	if (fchmod(fd, 0600) != 0 || write_full(fd, data, size) != 0 || fsync(fd) != 0) {
		*msg = xasprintf("key file %s: cannot write: %s", tmp, strerror(errno));
		goto out_unlink;
	}
	if (close(fd) != 0) {
		fd = -1;
		*msg = xasprintf("key file %s: cannot write: %s", tmp, strerror(errno));
		goto out_unlink;
	}
	fd = -1;
	if (link(tmp, path) != 0) {
		if (errno == EEXIST) {
			ret = 1;
		} else {
			*msg = xasprintf("key file %s: cannot create: %s", path, strerror(errno));
		}
		goto out_unlink;
	}
	if (unlink(tmp) != 0)
		log_warn("crypto: cannot remove temporary key file %s: %s", tmp, strerror(errno));
	if (fsync_dir(dir) != 0) {
		*msg = xasprintf("key folder %s: fsync: %s", dir, strerror(errno));
		goto out;
	}
	log_info("crypto: created key file %s", path);
	ret = 0;
	goto out;
out_unlink:
	if (unlink(tmp) != 0 && errno != ENOENT)
		log_warn("crypto: cannot remove temporary key file %s: %s", tmp, strerror(errno));
out:
	if (fd >= 0)
		close(fd);
	free(tmp);
	return ret;
}

enum key_kind { KEY_SIGN, KEY_SEAL };

static void key_generate(enum key_kind kind, unsigned char *buf)
{
	if (kind == KEY_SIGN) {
		unsigned char pk[crypto_sign_PUBLICKEYBYTES];
		crypto_sign_keypair(pk, buf);
	} else {
		crypto_secretbox_keygen(buf);
	}
}

/* Loads DIR/NAME, creating it first when missing. 0 or -1 with *msg. */
static int key_load_or_create(const char *dir, const char *name, enum key_kind kind,
			      unsigned char *out, size_t size, char **msg)
{
	int ret = -1, rc;
	char *path = xasprintf("%s/%s", dir, name);
	unsigned char fresh[crypto_sign_SECRETKEYBYTES];

	rc = key_load(path, out, size, msg);
	if (rc <= 0) {
		ret = rc;
		goto out;
	}
	key_generate(kind, fresh);
	rc = key_create(dir, path, fresh, size, msg);
	if (rc < 0)
		goto out;
	/* Load what is on disk now: ours, or the one a concurrent process made. */
	rc = key_load(path, out, size, msg);
	if (rc == 1)
		*msg = xasprintf("key file %s: vanished right after creation", path);
	ret = rc == 0 ? 0 : -1;
out:
	sodium_memzero(fresh, sizeof fresh);
	free(path);
	return ret;
}

int keys_load_or_create(const char *data_dir, struct keys *k, char **err)
{
	int ret = -1;
	char *dir = NULL, *msg = NULL;
	struct stat sb;
	unsigned char seed[crypto_sign_SEEDBYTES];
	unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];

	if (err != NULL)
		*err = NULL;
	memset(k, 0, sizeof *k);
	if (data_dir == NULL || *data_dir == '\0') {
		msg = xstrdup("keys: no data folder given");
		goto out;
	}
	dir = xasprintf("%s/keys", data_dir);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		msg = xasprintf("key folder %s: cannot create: %s", dir, strerror(errno));
		goto out;
	}
	if (lstat(dir, &sb) != 0) {
		msg = xasprintf("key folder %s: %s", dir, strerror(errno));
		goto out;
	}
	if (!S_ISDIR(sb.st_mode)) {
		msg = xasprintf("key folder %s: not a directory", dir);
		goto out;
	}
	if ((sb.st_mode & 077) != 0)
		log_warn("crypto: key folder %s has mode %04o; 0700 is expected", dir,
			 (unsigned)(sb.st_mode & 07777));

	if (key_load_or_create(dir, "sign.key", KEY_SIGN, k->sign_sk, sizeof k->sign_sk, &msg) != 0)
		goto out;
	/* The secret key holds seed || public key: check they belong together. */
	crypto_sign_ed25519_sk_to_seed(seed, k->sign_sk);
	if (crypto_sign_seed_keypair(pk, sk, seed) != 0 ||
	    sodium_memcmp(sk, k->sign_sk, sizeof sk) != 0) {
		msg = xasprintf("key file %s/sign.key: corrupt (public half does not match the seed)",
				dir);
		goto out;
	}
	memcpy(k->sign_pk, pk, sizeof k->sign_pk);
	if (key_load_or_create(dir, "seal.key", KEY_SEAL, k->seal, sizeof k->seal, &msg) != 0)
		goto out;
	ret = 0;
out:
	sodium_memzero(seed, sizeof seed);
	sodium_memzero(sk, sizeof sk);
	if (ret != 0) {
		sodium_memzero(k, sizeof *k);
		log_error("crypto: %s", msg);
		if (err != NULL) {
			*err = msg;
			msg = NULL;
		}
	}
	free(msg);
	free(dir);
	return ret;
}

/* ---- sealing -------------------------------------------------------------- */

#define SEAL_VARIANT sodium_base64_VARIANT_URLSAFE_NO_PADDING
#define SEAL_OVERHEAD (crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES)
#define SEAL_MAX_PLAIN ((size_t)64 * 1024 * 1024)

char *seal_text(const struct keys *k, const char *plain)
{
	if (plain == NULL)
		return NULL;
	size_t len = strlen(plain);
	if (len > SEAL_MAX_PLAIN) {
		log_error("crypto: seal_text: %zu bytes is more than the %zu allowed", len,
			  SEAL_MAX_PLAIN);
		return NULL;
	}
	size_t blen = SEAL_OVERHEAD + len;
	unsigned char *bin = xmalloc(blen);
	randombytes_buf(bin, crypto_secretbox_NONCEBYTES);
	/* Cannot fail for these sizes. */
	(void)crypto_secretbox_easy(bin + crypto_secretbox_NONCEBYTES,
				    (const unsigned char *)plain, len, bin, k->seal);
	size_t olen = sodium_base64_ENCODED_LEN(blen, SEAL_VARIANT);
	char *out = xmalloc(olen);
	sodium_bin2base64(out, olen, bin, blen, SEAL_VARIANT);
	free(bin);
	return out;
}

char *unseal_text(const struct keys *k, const char *sealed)
{
	char *ret = NULL, *plain = NULL;
	unsigned char *bin = NULL;
	size_t slen, blen = 0, plen;

	if (sealed == NULL)
		return NULL;
	slen = strlen(sealed);
	if (slen > sodium_base64_ENCODED_LEN(SEAL_OVERHEAD + SEAL_MAX_PLAIN, SEAL_VARIANT))
		goto out;
	bin = xmalloc(slen / 4 * 3 + 3);
	/* b64_end NULL: any character outside the alphabet is an error. */
	if (sodium_base642bin(bin, slen / 4 * 3 + 3, sealed, slen, NULL, &blen, NULL,
			      SEAL_VARIANT) != 0)
		goto out;
	if (blen < SEAL_OVERHEAD)
		goto out;
	plen = blen - SEAL_OVERHEAD;
	plain = xmalloc(plen + 1);
	if (crypto_secretbox_open_easy((unsigned char *)plain, bin + crypto_secretbox_NONCEBYTES,
				       blen - crypto_secretbox_NONCEBYTES, bin, k->seal) != 0)
		goto out;
	plain[plen] = '\0';
	/* Sealed from a C string, so an inner NUL cannot be genuine. */
	if (memchr(plain, '\0', plen) != NULL)
		goto out;
	ret = plain;
	plain = NULL;
out:
	if (plain != NULL) {
		sodium_memzero(plain, plen + 1);
		free(plain);
	}
	free(bin);
	return ret;
}

/* ---- signatures ----------------------------------------------------------- */

void sign_hex(const struct keys *k, const void *msg, size_t len, char out[129])
{
	unsigned char sig[crypto_sign_BYTES];
	(void)crypto_sign_detached(sig, NULL, msg, len, k->sign_sk);
	sodium_bin2hex(out, 129, sig, sizeof sig);
}

int verify_hex(const unsigned char pk[32], const void *msg, size_t len, const char *sig_hex)
{
	unsigned char sig[crypto_sign_BYTES];
	size_t binlen = 0;
	const char *end = NULL;

	if (pk == NULL || sig_hex == NULL || strlen(sig_hex) != 2 * sizeof sig)
		return -1;
	if (sodium_hex2bin(sig, sizeof sig, sig_hex, 2 * sizeof sig, NULL, &binlen, &end) != 0 ||
	    binlen != sizeof sig || end != sig_hex + 2 * sizeof sig)
		return -1;
	return crypto_sign_verify_detached(sig, msg, len, pk) == 0 ? 0 : -1;
}

/* ---- TOTP ------------------------------------------------------------------ */

#define TOTP_STEP 30
#define TOTP_DIGITS 6
#define TOTP_MIN_KEY 10      /* bytes: 80 bits, the least any authenticator app issues */
#define TOTP_MAX_SECRET 128  /* base32 characters accepted */

void totp_new_secret(char out[TOTP_SECRET_LEN + 1])
{
	unsigned char raw[20];
	char *enc = NULL;
	size_t enclen = 0;

	_Static_assert(TOTP_SECRET_LEN == 32, "20 bytes are 32 base32 characters");
	randombytes_buf(raw, sizeof raw);
	int rc = oath_base32_encode((const char *)raw, sizeof raw, &enc, &enclen);
	sodium_memzero(raw, sizeof raw);
	if (rc != OATH_OK) {
		/* Only fails when out of memory: abort like the xalloc family. */
		log_error("crypto: oath_base32_encode: %s", oath_strerror(rc));
		abort();
	}
	while (enclen > 0 && enc[enclen - 1] == '=')
		enclen--;
	if (enclen != TOTP_SECRET_LEN) {
		log_error("crypto: oath_base32_encode gave %zu characters", enclen);
		abort();
	}
	memcpy(out, enc, TOTP_SECRET_LEN);
	out[TOTP_SECRET_LEN] = '\0';
	sodium_memzero(enc, enclen);
	free(enc);
}

/* Decodes a base32 secret (case and padding as liboath accepts). malloc'd key or NULL. */
static char *totp_key(const char *secret_b32, size_t *keylen)
{
	char *key = NULL;
	size_t len;

	if (secret_b32 == NULL)
		return NULL;
	len = strnlen(secret_b32, TOTP_MAX_SECRET + 1);
	if (len == 0 || len > TOTP_MAX_SECRET)
		return NULL;
	if (oath_base32_decode(secret_b32, len, &key, keylen) != OATH_OK)
		return NULL;
	if (*keylen < TOTP_MIN_KEY) {
		sodium_memzero(key, *keylen);
		free(key);
		return NULL;
	}
	return key;
}

static void totp_key_free(char *key, size_t keylen)
{
	if (key != NULL) {
		sodium_memzero(key, keylen);
		free(key);
	}
}

/* Code of one step into out[7]. 0 or -1. */
static int totp_step_code(const char *key, size_t keylen, int64_t step, char out[7])
{
	if (step < 0 || step > (int64_t)(INT64_MAX / TOTP_STEP))
		return -1;
	time_t t = (time_t)(step * TOTP_STEP);
	return oath_totp_generate(key, keylen, t, TOTP_STEP, 0, TOTP_DIGITS, out) == OATH_OK ? 0
											   : -1;
}

int totp_code(const char *secret_b32, time_t now, char out[7])
{
	size_t keylen = 0;
	char *key = totp_key(secret_b32, &keylen);
	int ret = -1;

	out[0] = '\0';
	if (key == NULL || now < 0)
		goto out;
	if (totp_step_code(key, keylen, (int64_t)now / TOTP_STEP, out) != 0) {
		out[0] = '\0';
		goto out;
	}
	ret = 0;
out:
	totp_key_free(key, keylen);
	return ret;
}

int totp_verify(const char *secret_b32, const char *code, time_t now, int64_t *last_step)
{
	size_t keylen = 0;
	char *key = NULL, want[7];
	int64_t step, best = -1;
	int ret = -1;

	if (code == NULL || last_step == NULL || now < 0 || strlen(code) != TOTP_DIGITS)
		return -1;
	for (int i = 0; i < TOTP_DIGITS; i++)
		if (code[i] < '0' || code[i] > '9')
			return -1;
	key = totp_key(secret_b32, &keylen);
	if (key == NULL)
		goto out;
	step = (int64_t)now / TOTP_STEP;
	/* Every step of the window is computed and compared in constant time;
	 * the latest matching step not yet used wins. */
	for (int64_t s = step - 1; s <= step + 1; s++) {
		if (totp_step_code(key, keylen, s, want) != 0)
			continue;
		int match = sodium_memcmp(want, code, TOTP_DIGITS) == 0;
		if (match && s > *last_step && s > best)
			best = s;
	}
	sodium_memzero(want, sizeof want);
	if (best < 0)
		goto out;
	*last_step = best;
	ret = 0;
out:
	totp_key_free(key, keylen);
	return ret;
}

/* RFC 3986 percent-encoding of everything but the unreserved characters. */
static int add_pct(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		int unreserved = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
				 (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' ||
				 *p == '_' || *p == '~';
		if (unreserved) {
			if (buf_addch(b, (char)*p) != 0)
				return -1;
		} else {
			char e[3] = { '%', hex[*p >> 4], hex[*p & 15] };
			if (buf_add(b, e, sizeof e) != 0)
				return -1;
		}
	}
	return 0;
}

char *totp_uri(const char *issuer, const char *account, const char *secret_b32)
{
	struct buf b = BUF_INIT(8192);
	int empty_issuer = issuer == NULL || *issuer == '\0';

	if (account == NULL || secret_b32 == NULL)
		return NULL;
	if (buf_addstr(&b, "otpauth://totp/") != 0)
		goto fail;
	if (!empty_issuer && (add_pct(&b, issuer) != 0 || buf_addch(&b, ':') != 0))
		goto fail;
	if (add_pct(&b, account) != 0 || buf_addstr(&b, "?secret=") != 0 ||
	    add_pct(&b, secret_b32) != 0)
		goto fail;
	if (!empty_issuer && (buf_addstr(&b, "&issuer=") != 0 || add_pct(&b, issuer) != 0))
		goto fail;
	if (buf_addstr(&b, "&algorithm=SHA1&digits=6&period=30") != 0)
		goto fail;
	return buf_detach(&b, NULL);
fail:
	log_error("crypto: totp_uri: issuer or account too long");
	buf_release(&b);
	return NULL;
}
