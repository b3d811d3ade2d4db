/*
 * validate: pure validators for values that arrive from outside.
 *
 * Each validator returns 0 (MSG_NONE) when the value is valid, otherwise the
 * enum msg_id that says why not, so the caller can answer with the field and
 * the reason.  None of them allocates.
 */
#ifndef YZ_VALIDATE_H
#define YZ_VALIDATE_H

#include <stddef.h>

#include "core/msg.h"

/* Well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF). */
int validate_utf8(const char *s, size_t len);
/*
 * Length of the well-formed UTF-8 sequence at s (at most n > 0 bytes
 * available): 1 for ASCII, 2-4, or 0 when ill-formed (Unicode table 3-7).
 */
size_t utf8_seq_len(const char *s, size_t n);
/* Number of code points of valid UTF-8 text. */
size_t utf8_chars(const char *s, size_t len);
/*
 * Text a person typed: valid UTF-8, no control characters (multiline allows
 * \n, \r and \t), between min_chars and max_chars code points (0 = no limit).
 */
int validate_text(const char *s, size_t len, size_t min_chars, size_t max_chars, int multiline);

/* 身份证号, GB 11643-1999: 18 chars, province/region code, real birth date
 * (not in the future, not before 1900), ISO 7064 MOD 11-2 check character
 * (lower-case x is refused: callers upper-case before validating if they wish). */
int validate_idcard(const char *s);
/* Check character for the first 17 digits of an 身份证号. */
char idcard_check_char(const char *first17);
/* Masks an 身份证号 for display: first 6 and last 4 kept, 110101********123X.
 * out must hold 19 bytes; anything not 18 chars long becomes "****". */
void idcard_mask(const char *s, char *out);

/* 统一社会信用代码, GB 32100-2015: 18 chars over 0-9A-Z without I O S V Z,
 * MOD 31 check character, and the embedded organisation code (chars 9-17)
 * with its own GB 11714 MOD 11 check. */
int validate_uscc(const char *s);
char uscc_check_char(const char *first17);           /* '\0' if chars invalid */
char orgcode_check_char(const char *first8);         /* GB 11714: '0'-'9' or 'X'; '\0' if invalid */
/*
 * Like validate_uscc, but a code that is well-formed (length, character set)
 * and listed in allow (NULL-terminated, may be NULL) is accepted even when a
 * check fails; then *warned is set to 1 (MSG_USCC_PILOT_ALLOWED tells why).
 */
int validate_uscc_allow(const char *s, const char *const *allow, int *warned);

int validate_phone(const char *s);        /* mainland mobile: 1[3-9]\d{9} */
int validate_email(const char *s);        /* pragmatic: local@domain.tld, <= 254 chars */
int validate_login(const char *s);        /* [A-Za-z0-9_.]{3,32}, starts with letter or digit */
int validate_password(const char *pw, const char *login);  /* >= 10 chars, != login */
int validate_dept_code(const char *s);    /* [A-Za-z0-9-]{1,32} */
int validate_date(const char *s);         /* YYYY-MM-DD, a real date */

#endif
