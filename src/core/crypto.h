/*
 * crypto: passwords, random tokens, hashes, the server keys, sealing of
 * sensitive values at rest, and TOTP (all through libsodium and liboath).
 */
#ifndef YZ_CRYPTO_H
#define YZ_CRYPTO_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Must be called once before anything else here (sodium_init, oath_init). */
int crypto_init(void);

#define PASSWORD_HASH_MAX 128   /* >= crypto_pwhash_STRBYTES */
/* argon2id (crypto_pwhash_str, interactive limits). 0 or -1. */
int password_hash(const char *pw, char out[PASSWORD_HASH_MAX]);
/* 0 when pw matches hash, -1 otherwise (also for a malformed hash). */
int password_verify(const char *hash, const char *pw);
/* Spends about the time of one verification, for unknown accounts. */
void password_dummy_verify(const char *pw);

/* nbytes random bytes (CSPRNG) as lower-case hex into out (2*nbytes+1). */
void random_hex(char *out, size_t nbytes);
uint32_t random_uniform(uint32_t upper);
/* SHA-256 of data as lower-case hex into out[65]. */
void sha256_hex(const void *data, size_t len, char out[65]);
/* Constant-time comparison of two NUL-terminated strings. 0 when equal. */
int str_ct_equal(const char *a, const char *b);

/*
 * The server's keys live in DATA_DIR/keys/, outside the database, created
 * with mode 0600 on first use: sign.key (Ed25519 secret key, which holds the
 * public key too) and seal.key (secretbox key).
 */
struct keys {
	unsigned char sign_pk[32];
	unsigned char sign_sk[64];
	unsigned char seal[32];
};
int keys_load_or_create(const char *data_dir, struct keys *k, char **err);

/* Seals plain with secretbox under k->seal: returns malloc'd base64 text of
 * nonce || ciphertext. */
char *seal_text(const struct keys *k, const char *plain);
/* Opens sealed text; returns malloc'd plain text or NULL when forged or malformed. */
char *unseal_text(const struct keys *k, const char *sealed);

/* Ed25519 detached signature of msg as hex (129 bytes with NUL). */
void sign_hex(const struct keys *k, const void *msg, size_t len, char out[129]);
/* 0 when sig_hex is a valid signature of msg under pk. */
int verify_hex(const unsigned char pk[32], const void *msg, size_t len, const char *sig_hex);

/* TOTP, RFC 6238: HMAC-SHA1, 30-second steps, 6 digits. Secrets are base32 (RFC 4648, no padding). */
#define TOTP_SECRET_LEN 32      /* base32 chars for 20 random bytes */
void totp_new_secret(char out[TOTP_SECRET_LEN + 1]);
int totp_code(const char *secret_b32, time_t now, char out[7]);
/*
 * Accepts code for the current step or one step either side.  A step not
 * greater than *last_step is refused (no replay); on success *last_step is
 * set to the matched step.  0 when accepted, -1 otherwise.
 */
int totp_verify(const char *secret_b32, const char *code, time_t now, int64_t *last_step);
/* otpauth://totp/ISSUER:ACCOUNT?secret=...&issuer=... (malloc'd, percent-encoded). */
char *totp_uri(const char *issuer, const char *account, const char *secret_b32);

#endif
