/*
 * libFuzzer target: urlencoded bodies and query strings (form_parse), the
 * field check of a representative spec (input_check), Cookie headers
 * (cookie_get) and percent-decoding (url_decode), all on the same input.
 *
 * Beyond "no crash", it checks what the rest of yizhan relies on: every
 * value a handler gets is valid for its declared type, and every error
 * names a field that exists and says why.  The spec and those checks are
 * shared with fuzz_json.c in input_checks.h.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_NAME "fuzz_form"
#include "input_checks.h"

static void fuzz_forms(const char *data, size_t size)
{
	struct input_error err;
	json_t *obj = NULL;
	const char *key;
	json_t *v;

	if (form_parse(data, size, &obj, &err) != 0) {
		CHECK(obj == NULL);
		check_error(&err, 1);
		return;
	}
	CHECK(obj != NULL && err.msg == MSG_NONE);
	CHECK(json_object_size(obj) <= INPUT_MAX_FIELDS);
	json_object_foreach(obj, key, v) {
		size_t klen = strlen(key);
		CHECK(klen > 0 && klen < 64);
		CHECK(json_is_string(v));
		CHECK(strlen(json_string_value(v)) == json_string_length(v));
		CHECK(validate_utf8(json_string_value(v), json_string_length(v)) == MSG_NONE);
	}
	check_input(obj, 1);
	json_decref(obj);
}

static void fuzz_cookie(const char *data, size_t size)
{
	char *hdr = malloc(size + 1), out[8];
	const char *names[] = { "sid", "a", "", NULL };

	if (hdr == NULL)
		return;
	memcpy(hdr, data, size);
	hdr[size] = '\0';
	for (int i = 0; names[i] != NULL; i++) {
		memset(out, 'Z', sizeof(out));
		if (cookie_get(hdr, names[i], out, sizeof(out)) == 0) {
			CHECK(memchr(out, '\0', sizeof(out)) != NULL);
			CHECK(strstr(hdr, names[i]) != NULL);
		}
	}
	/* the first cookie's own name must be found */
	char *eq = strchr(hdr, '=');
	if (eq != NULL && eq - hdr < 40 && memchr(hdr, ';', (size_t)(eq - hdr)) == NULL) {
		char name[48];
		size_t b = strspn(hdr, " \t;"), n = (size_t)(eq - hdr);
		if (b < n) {
			memcpy(name, hdr + b, n - b);
			name[n - b] = '\0';
			CHECK(cookie_get(hdr, name, out, sizeof(out)) == 0);
		}
	}
	free(hdr);
}

static void fuzz_decode(const char *data, size_t size)
{
	char *b = malloc(size + 1);
	size_t pct = 0;

	if (b == NULL)
		return;
	for (size_t i = 0; i < size; i++)
		pct += data[i] == '%';
	for (int plus = 0; plus < 2; plus++) {
		size_t n = size;
		memcpy(b, data, size);
		if (url_decode(b, &n, plus) == 0) {
			/* each escape is three bytes in, one out */
			CHECK(n == size - 2 * pct);
			if (!plus)
				CHECK(pct > 0 || memcmp(b, data, size) == 0);
		}
	}
	free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;

	input_set_uscc_allow(allow);
	fuzz_forms(s, size);
	fuzz_cookie(s, size);
	fuzz_decode(s, size);
	return 0;
}
