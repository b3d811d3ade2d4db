/*
 * Unit tests of core/crypto: passwords, random, hashes, keys, sealing,
 * signatures and TOTP (RFC 6238 Appendix B vectors).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <dirent.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/crypto.h"

#include <sodium.h>

/* RFC 6238 Appendix B: the ASCII secret "12345678901234567890". */
#define RFC_SECRET "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"

static char *make_tmpdir(void)
{
	char tmpl[] = "/tmp/yizhan-crypto-XXXXXX";
	char *d = mkdtemp(tmpl);
	assert_non_null(d);
	return strdup(d);
}

static void rm_rf(const char *dir)
{
	char *cmd = NULL;
	assert_true(asprintf(&cmd, "rm -rf '%s'", dir) > 0);
	assert_int_equal(system(cmd), 0);
	free(cmd);
}

static int setup(void **state)
{
	(void)state;
	return crypto_init();
}

/* ---- passwords ---- */

static void test_password(void **state)
{
	(void)state;
	char h[PASSWORD_HASH_MAX], h2[PASSWORD_HASH_MAX];

	assert_int_equal(password_hash("correct horse 正确", h), 0);
	assert_non_null(strstr(h, "$argon2id$"));
	assert_int_equal(password_verify(h, "correct horse 正确"), 0);
	assert_int_equal(password_verify(h, "correct horse 正确 "), -1);
	assert_int_equal(password_verify(h, "Correct horse 正确"), -1);
	assert_int_equal(password_verify(h, ""), -1);
	assert_int_equal(password_verify(h, NULL), -1);
	/* Salted: the same password hashes differently. */
	assert_int_equal(password_hash("correct horse 正确", h2), 0);
	assert_string_not_equal(h, h2);
	assert_int_equal(password_verify(h2, "correct horse 正确"), 0);
	/* Malformed hashes. */
	assert_int_equal(password_verify(NULL, "x"), -1);
	assert_int_equal(password_verify("", "x"), -1);
	assert_int_equal(password_verify("not a hash", "x"), -1);
	h[strlen(h) / 2] = '\0';
	assert_int_equal(password_verify(h, "correct horse 正确"), -1);
	char longh[300];
	memset(longh, 'a', sizeof longh - 1);
	longh[sizeof longh - 1] = '\0';
	assert_int_equal(password_verify(longh, "x"), -1);
	/* A hash with a flipped character of the digest no longer verifies. */
	size_t n = strlen(h2);
	h2[n - 2] = h2[n - 2] == 'A' ? 'B' : 'A';
	assert_int_equal(password_verify(h2, "correct horse 正确"), -1);
	password_dummy_verify("whatever");
	password_dummy_verify(NULL);
}

/* ---- random, hashes, comparison ---- */

static void test_random_hex(void **state)
{
	(void)state;
	char a[2 * 100 + 1], b[2 * 100 + 1];
	memset(a, 'Z', sizeof a);
	random_hex(a, 100);
	assert_int_equal(strlen(a), 200);
	for (size_t i = 0; i < 200; i++)
		assert_non_null(strchr("0123456789abcdef", a[i]));
	random_hex(b, 100);
	assert_string_not_equal(a, b);
	char small[3];
	random_hex(small, 1);
	assert_int_equal(strlen(small), 2);
	char zero[1] = { 'Z' };
	random_hex(zero, 0);
	assert_int_equal(zero[0], '\0');
	for (int i = 0; i < 1000; i++)
		assert_true(random_uniform(7) < 7);
}

static void test_sha256(void **state)
{
	(void)state;
	char h[65];
	sha256_hex("abc", 3, h);
	assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	sha256_hex("", 0, h);
	assert_string_equal(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void test_str_ct_equal(void **state)
{
	(void)state;
	assert_int_equal(str_ct_equal("abc", "abc"), 0);
	assert_int_equal(str_ct_equal("", ""), 0);
	assert_int_equal(str_ct_equal("abc", "abd"), -1);
	assert_int_equal(str_ct_equal("abc", "ab"), -1);
	assert_int_equal(str_ct_equal("ab", "abc"), -1);
	assert_int_equal(str_ct_equal("", "a"), -1);
	assert_int_equal(str_ct_equal(NULL, "a"), -1);
	assert_int_equal(str_ct_equal("a", NULL), -1);
}

/* ---- keys ---- */

static mode_t file_mode(const char *dir, const char *name)
{
	char *p = NULL;
	struct stat sb;
	assert_true(asprintf(&p, "%s/%s", dir, name) > 0);
	assert_int_equal(stat(p, &sb), 0);
	free(p);
	return sb.st_mode & 07777;
}

static void test_keys(void **state)
{
	(void)state;
	char *dir = make_tmpdir(), *err = NULL, *keys = NULL, *p = NULL;
	struct keys k1, k2;

	assert_true(asprintf(&keys, "%s/keys", dir) > 0);
	assert_int_equal(keys_load_or_create(dir, &k1, &err), 0);
	assert_null(err);
	assert_int_equal(file_mode(dir, "keys"), 0700);
	assert_int_equal(file_mode(keys, "sign.key"), 0600);
	assert_int_equal(file_mode(keys, "seal.key"), 0600);
	/* Exactly the two keys, no temporary files left behind. */
	DIR *d = opendir(keys);
	assert_non_null(d);
	int files = 0;
	for (struct dirent *e; (e = readdir(d)) != NULL;)
		if (e->d_name[0] != '.' || strncmp(e->d_name, ".tmp", 4) == 0)
			files++;
	closedir(d);
	assert_int_equal(files, 2);

	/* Reloaded identical. */
	assert_int_equal(keys_load_or_create(dir, &k2, &err), 0);
	assert_memory_equal(&k1, &k2, sizeof k1);
	static const unsigned char zero[32];
	assert_memory_not_equal(k1.seal, zero, 32);
	assert_memory_not_equal(k1.sign_pk, zero, 32);
	/* The public key belongs to the secret key. */
	char sig[129];
	sign_hex(&k2, "m", 1, sig);
	assert_int_equal(verify_hex(k1.sign_pk, "m", 1, sig), 0);

	/* A world-readable key is refused, and the message says which and why. */
	assert_true(asprintf(&p, "%s/sign.key", keys) > 0);
	assert_int_equal(chmod(p, 0644), 0);
	assert_int_equal(keys_load_or_create(dir, &k2, &err), -1);
	assert_non_null(err);
	assert_non_null(strstr(err, "sign.key"));
	assert_non_null(strstr(err, "0644"));
	free(err);
	err = NULL;
	/* Group-readable too. */
	assert_int_equal(chmod(p, 0640), 0);
	assert_int_equal(keys_load_or_create(dir, &k2, &err), -1);
	free(err);
	err = NULL;
	assert_int_equal(chmod(p, 0600), 0);
	free(p);
	p = NULL;

	/* A key of the wrong size is refused. */
	assert_true(asprintf(&p, "%s/seal.key", keys) > 0);
	assert_int_equal(truncate(p, 31), 0);
	assert_int_equal(keys_load_or_create(dir, &k2, &err), -1);
	assert_non_null(err);
	assert_non_null(strstr(err, "seal.key"));
	assert_non_null(strstr(err, "size"));
	free(err);
	err = NULL;
	free(p);
	p = NULL;

	/* A corrupted signing key (public half altered) is refused. */
	assert_true(asprintf(&p, "%s/seal.key", keys) > 0);
	assert_int_equal(unlink(p), 0);
	free(p);
	assert_true(asprintf(&p, "%s/sign.key", keys) > 0);
	FILE *f = fopen(p, "r+b");
	assert_non_null(f);
	assert_int_equal(fseek(f, 40, SEEK_SET), 0);
	assert_int_equal(fputc(k1.sign_sk[40] ^ 1, f), k1.sign_sk[40] ^ 1);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(keys_load_or_create(dir, &k2, &err), -1);
	assert_non_null(strstr(err, "sign.key"));
	free(err);
	err = NULL;
	free(p);

	/* No data folder. */
	assert_int_equal(keys_load_or_create("/nonexistent/yizhan", &k2, &err), -1);
	assert_non_null(err);
	free(err);

	rm_rf(dir);
	free(keys);
	free(dir);
}

static struct keys test_keys_fixed(unsigned char fill)
{
	struct keys k;
	/* A fresh key folder each time: distinct signing keys. */
	char *dir = make_tmpdir(), *err = NULL;
	assert_int_equal(keys_load_or_create(dir, &k, &err), 0);
	rm_rf(dir);
	free(dir);
	memset(k.seal, fill, sizeof k.seal);
	return k;
}

/* ---- sealing ---- */

static void test_seal(void **state)
{
	(void)state;
	struct keys k = test_keys_fixed(1), other = test_keys_fixed(2);
	const char *plain = "110101199003071234 张三";

	char *s1 = seal_text(&k, plain), *s2 = seal_text(&k, plain);
	assert_non_null(s1);
	assert_non_null(s2);
	assert_string_not_equal(s1, s2);   /* random nonce */
	for (const char *c = s1; *c; c++)
		assert_non_null(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", *c));
	assert_null(strstr(s1, plain));
	char *u = unseal_text(&k, s1);
	assert_non_null(u);
	assert_string_equal(u, plain);
	free(u);

	/* Wrong key. */
	assert_null(unseal_text(&other, s1));

	/* Every single-character change in the text is caught. */
	size_t n = strlen(s1);
	for (size_t i = 0; i < n; i++) {
		char *t = strdup(s1);
		t[i] = t[i] == 'A' ? 'B' : 'A';
		u = unseal_text(&k, t);
		if (u != NULL)
			fail_msg("tampered at %zu still opened: %s", i, u);
		free(t);
	}
	/* Truncated, extended, garbage, empty, NULL. */
	char *t = strndup(s1, n - 1);
	assert_null(unseal_text(&k, t));
	free(t);
	t = NULL;
	assert_true(asprintf(&t, "%sA", s1) > 0);
	assert_null(unseal_text(&k, t));
	free(t);
	assert_null(unseal_text(&k, "not base64 !!"));
	assert_null(unseal_text(&k, ""));
	assert_null(unseal_text(&k, "AAAA"));
	assert_null(unseal_text(&k, NULL));
	t = strdup(s1);
	t[5] = '=';
	assert_null(unseal_text(&k, t));
	free(t);

	/* Authentic but with an inner NUL: not something seal_text made. */
	unsigned char bin[24 + 16 + 3];
	randombytes_buf(bin, 24);
	assert_int_equal(crypto_secretbox_easy(bin + 24, (const unsigned char *)"a\0b", 3, bin, k.seal), 0);
	char b64[128];
	sodium_bin2base64(b64, sizeof b64, bin, sizeof bin, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	assert_null(unseal_text(&k, b64));
	assert_int_equal(crypto_secretbox_easy(bin + 24, (const unsigned char *)"a_b", 3, bin, k.seal), 0);
	sodium_bin2base64(b64, sizeof b64, bin, sizeof bin, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	u = unseal_text(&k, b64);
	assert_non_null(u);
	assert_string_equal(u, "a_b");
	free(u);

	/* The empty string seals and opens. */
	char *e = seal_text(&k, "");
	u = unseal_text(&k, e);
	assert_non_null(u);
	assert_string_equal(u, "");
	free(u);
	free(e);
	assert_null(seal_text(&k, NULL));
	free(s1);
	free(s2);
}

/* ---- signatures ---- */

static void test_sign(void **state)
{
	(void)state;
	struct keys k = test_keys_fixed(3), other = test_keys_fixed(4);
	const char msg[] = "yizhan-audit-checkpoint\n100\nabc\n1700000000";
	char sig[129];

	sign_hex(&k, msg, strlen(msg), sig);
	assert_int_equal(strlen(sig), 128);
	assert_int_equal(verify_hex(k.sign_pk, msg, strlen(msg), sig), 0);
	/* Tampered message. */
	char m2[sizeof msg];
	memcpy(m2, msg, sizeof msg);
	m2[25] = '2';
	assert_int_equal(verify_hex(k.sign_pk, m2, strlen(m2), sig), -1);
	assert_int_equal(verify_hex(k.sign_pk, msg, strlen(msg) - 1, sig), -1);
	/* Other key. */
	assert_int_equal(verify_hex(other.sign_pk, msg, strlen(msg), sig), -1);
	/* Tampered signature, wrong lengths, non-hex. */
	char s2[130];
	memcpy(s2, sig, 129);
	s2[10] = s2[10] == '0' ? '1' : '0';
	assert_int_equal(verify_hex(k.sign_pk, msg, strlen(msg), s2), -1);
	memcpy(s2, sig, 129);
	s2[127] = '\0';
	assert_int_equal(verify_hex(k.sign_pk, msg, strlen(msg), s2), -1);
	memcpy(s2, sig, 129);
	s2[128] = '0';
	s2[129] = '\0';
	assert_int_equal(verify_hex(k.sign_pk, msg, strlen(msg), s2), -1);
	memcpy(s2, sig, 129);
	s2[0] = 'g';
	assert_int_equal(verify_hex(k.sign_pk, msg, strlen(msg), s2), -1);
	assert_int_equal(verify_hex(k.sign_pk, msg, strlen(msg), NULL), -1);
	assert_int_equal(verify_hex(k.sign_pk, msg, strlen(msg), ""), -1);
	/* Deterministic (Ed25519): same message, same signature. */
	char again[129];
	sign_hex(&k, msg, strlen(msg), again);
	assert_string_equal(sig, again);
}

/* ---- TOTP ---- */

static void test_totp_rfc6238(void **state)
{
	(void)state;
	static const struct {
		time_t t;
		const char *code;
	} v[] = {
		{ 59, "287082" },          /* 94287082 */
		{ 1111111109, "081804" },  /* 07081804 */
		{ 1111111111, "050471" },  /* 14050471 */
		{ 1234567890, "005924" },  /* 89005924 */
		{ 2000000000, "279037" },  /* 69279037 */
	};
	char code[7];
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		assert_int_equal(totp_code(RFC_SECRET, v[i].t, code), 0);
		assert_string_equal(code, v[i].code);
		int64_t last = 0;
		assert_int_equal(totp_verify(RFC_SECRET, v[i].code, v[i].t, &last), 0);
		assert_int_equal(last, (int64_t)v[i].t / 30);
	}
	/* Lower case and padding-free input are accepted the same. */
	assert_int_equal(totp_code("gezdgnbvgy3tqojqgezdgnbvgy3tqojq", 59, code), 0);
	assert_string_equal(code, "287082");
	/* Invalid secrets. */
	assert_int_equal(totp_code("", 59, code), -1);
	assert_int_equal(totp_code("1111", 59, code), -1);
	assert_int_equal(totp_code("GEZDGNBV", 59, code), -1);   /* 5 bytes: too short */
	assert_int_equal(totp_code(NULL, 59, code), -1);
}

static void test_totp_window(void **state)
{
	(void)state;
	const time_t t0 = 1111111111;   /* step 37037037, 1 s into it */
	const int64_t step = t0 / 30;
	char prev[7], cur[7], next[7], far[7], far2[7];
	int64_t last;

	assert_int_equal(totp_code(RFC_SECRET, (step - 1) * 30, prev), 0);
	assert_int_equal(totp_code(RFC_SECRET, t0, cur), 0);
	assert_int_equal(totp_code(RFC_SECRET, (step + 1) * 30, next), 0);
	assert_int_equal(totp_code(RFC_SECRET, (step - 2) * 30, far), 0);
	assert_int_equal(totp_code(RFC_SECRET, (step + 2) * 30 + 29, far2), 0);

	/* One step either side is accepted, and last_step is the matched step. */
	last = 0;
	assert_int_equal(totp_verify(RFC_SECRET, prev, t0, &last), 0);
	assert_int_equal(last, step - 1);
	last = 0;
	assert_int_equal(totp_verify(RFC_SECRET, next, t0, &last), 0);
	assert_int_equal(last, step + 1);
	/* Two steps away is refused and last_step unchanged. */
	last = 0;
	assert_int_equal(totp_verify(RFC_SECRET, far, t0, &last), -1);
	assert_int_equal(totp_verify(RFC_SECRET, far2, t0, &last), -1);
	assert_int_equal(last, 0);

	/* Replay: the same code twice, then an older one. */
	last = 0;
	assert_int_equal(totp_verify(RFC_SECRET, cur, t0, &last), 0);
	assert_int_equal(last, step);
	assert_int_equal(totp_verify(RFC_SECRET, cur, t0, &last), -1);
	assert_int_equal(totp_verify(RFC_SECRET, cur, t0 + 20, &last), -1);
	assert_int_equal(totp_verify(RFC_SECRET, prev, t0, &last), -1);
	assert_int_equal(last, step);
	/* A later step is still fine. */
	assert_int_equal(totp_verify(RFC_SECRET, next, t0, &last), 0);
	assert_int_equal(last, step + 1);

	/* Malformed codes. */
	last = 0;
	char bad[8];
	memcpy(bad, cur, 7);
	bad[0] = bad[0] == '9' ? '0' : (char)(bad[0] + 1);
	assert_int_equal(totp_verify(RFC_SECRET, bad, t0, &last), -1);
	assert_int_equal(totp_verify(RFC_SECRET, "", t0, &last), -1);
	assert_int_equal(totp_verify(RFC_SECRET, "05047", t0, &last), -1);
	assert_int_equal(totp_verify(RFC_SECRET, "0504711", t0, &last), -1);
	assert_int_equal(totp_verify(RFC_SECRET, "05047a", t0, &last), -1);
	assert_int_equal(totp_verify(RFC_SECRET, " 50471", t0, &last), -1);
	assert_int_equal(totp_verify(RFC_SECRET, NULL, t0, &last), -1);
	assert_int_equal(totp_verify(RFC_SECRET, cur, t0, NULL), -1);
	assert_int_equal(totp_verify("", cur, t0, &last), -1);
	assert_int_equal(last, 0);
}

static void test_totp_secret_uri(void **state)
{
	(void)state;
	char s1[TOTP_SECRET_LEN + 1], s2[TOTP_SECRET_LEN + 1], code[7];

	totp_new_secret(s1);
	totp_new_secret(s2);
	assert_int_equal(strlen(s1), 32);
	assert_string_not_equal(s1, s2);
	for (int i = 0; i < 32; i++)
		assert_non_null(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", s1[i]));
	assert_int_equal(totp_code(s1, 1700000000, code), 0);
	int64_t last = 0;
	assert_int_equal(totp_verify(s1, code, 1700000000, &last), 0);

	char *uri = totp_uri("一站·政务:办", "张三 alice@example.com", RFC_SECRET);
	assert_non_null(uri);
	assert_string_equal(uri,
		"otpauth://totp/%E4%B8%80%E7%AB%99%C2%B7%E6%94%BF%E5%8A%A1%3A%E5%8A%9E:"
		"%E5%BC%A0%E4%B8%89%20alice%40example.com"
		"?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
		"&issuer=%E4%B8%80%E7%AB%99%C2%B7%E6%94%BF%E5%8A%A1%3A%E5%8A%9E"
		"&algorithm=SHA1&digits=6&period=30");
	free(uri);
	uri = totp_uri("yizhan", "a&b=c?d/e", RFC_SECRET);
	assert_string_equal(uri, "otpauth://totp/yizhan:a%26b%3Dc%3Fd%2Fe?secret=" RFC_SECRET
				 "&issuer=yizhan&algorithm=SHA1&digits=6&period=30");
	free(uri);
	assert_null(totp_uri("x", NULL, RFC_SECRET));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_password),
		cmocka_unit_test(test_random_hex),
		cmocka_unit_test(test_sha256),
		cmocka_unit_test(test_str_ct_equal),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_seal),
		cmocka_unit_test(test_sign),
		cmocka_unit_test(test_totp_rfc6238),
		cmocka_unit_test(test_totp_window),
		cmocka_unit_test(test_totp_secret_uri),
	};
	return cmocka_run_group_tests_name("crypto", tests, setup, NULL);
}
