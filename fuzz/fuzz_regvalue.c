/*
 * libFuzzer target for engines/registry/value.c: reg_value_check,
 * reg_value_format and reg_value_mask over every field type.
 *
 * Input: byte 0 chooses the type (and byte 1 the decimal scale and the
 * required flag); the rest is the value's text (cut at the first NUL).
 * Promises checked:
 *   - a value accepted is canonical: non-empty, valid UTF-8, at most
 *     REG_VALUE_MAX bytes, and checking the canonical text again accepts it
 *     unchanged (canonicalisation is idempotent);
 *   - NULL only for empty text, refused exactly when the field is required;
 *   - the stored form round-trips: an integer, decimal (as units) or boolean
 *     formatted back by reg_value_format gives the canonical text;
 *   - a decimal never has more fraction digits than its scale, a boolean is
 *     "true" or "false";
 *   - masks are valid UTF-8, never the whole value of an idcard or phone;
 *   - reg_value_format on arbitrary stored text always NUL-terminates.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/validate.h"
#include "engines/registry/registry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { if (!(cond)) { fprintf(stderr, "fuzz_regvalue: %s\n", #cond); abort(); } } while (0)

static char *enum_values[] = { "男", "女", "未知", "a b" };

/* Units of canonical decimal text c (scale digits after the point). */
static long long units_of(const char *c)
{
	int neg = *c == '-';
	unsigned long long v = 0;
	for (const char *p = c + neg; *p; p++)
		if (*p != '.')
			v = v * 10u + (unsigned)(*p - '0');
	return neg ? -(long long)v : (long long)v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char text[REG_VALUE_MAX + 64], canon[REG_VALUE_MAX + 1], again[REG_VALUE_MAX + 1];
	char masked[REG_VALUE_MAX + 1], fmt[REG_VALUE_MAX + 1], stored[64];
	struct reg_field f;
	int is_null = -1, is_null2 = -1;

	if (size < 2)
		return 0;
	memset(&f, 0, sizeof f);
	snprintf(f.name, sizeof f.name, "v");
	f.type = (enum reg_type)(data[0] % RT__MAX);
	f.scale = data[1] % 7;
	f.required = (data[1] >> 3) & 1;
	f.personal = (data[1] >> 4) & 1;
	f.max_chars = (data[1] >> 5) ? 3 * (data[1] >> 5) : 0;
	f.enum_values = enum_values;
	f.nenum = 4;
	size_t n = size - 2 < sizeof text - 1 ? size - 2 : sizeof text - 1;
	memcpy(text, data + 2, n);
	text[n] = '\0';

	enum msg_id why = reg_value_check(&f, text, canon, sizeof canon, &is_null);
	CHECK(why < MSG__MAX);
	if (text[0] == '\0') {
		CHECK(is_null == 1);
		CHECK(why == (f.required ? MSG_REG_REQUIRED : MSG_NONE));
	} else {
		CHECK(is_null == 0);
	}
	if (why == MSG_NONE && !is_null) {
		size_t cl = strlen(canon);
		CHECK(cl > 0 && cl <= REG_VALUE_MAX);
		CHECK(validate_utf8(canon, cl) == MSG_NONE);
		CHECK(reg_value_check(&f, canon, again, sizeof again, &is_null2) == MSG_NONE);
		CHECK(is_null2 == 0 && strcmp(canon, again) == 0);
		switch (f.type) {
		case RT_INTEGER:
			reg_value_format(&f, canon, fmt, sizeof fmt);
			CHECK(strcmp(fmt, canon) == 0);
			break;
		case RT_DECIMAL: {
			const char *dot = strchr(canon, '.');
			CHECK(f.scale == 0 ? dot == NULL : (dot != NULL && strlen(dot + 1) == (size_t)f.scale));
			snprintf(stored, sizeof stored, "%lld", units_of(canon));
			reg_value_format(&f, stored, fmt, sizeof fmt);
			CHECK(strcmp(fmt, canon) == 0);
			break;
		}
		case RT_BOOL:
			CHECK(strcmp(canon, "true") == 0 || strcmp(canon, "false") == 0);
			reg_value_format(&f, strcmp(canon, "true") == 0 ? "1" : "0", fmt, sizeof fmt);
			CHECK(strcmp(fmt, canon) == 0);
			break;
		default:
			CHECK(strcmp(canon, text) == 0);   /* text-like values are kept as given */
			break;
		}
		reg_value_mask(&f, canon, masked, sizeof masked);
		CHECK(validate_utf8(masked, strlen(masked)) == MSG_NONE);
		CHECK(masked[0] != '\0');
		if (f.type == RT_IDCARD || f.type == RT_PHONE)
			CHECK(strcmp(masked, canon) != 0);
	}
	/* Arbitrary stored text (a damaged table) never breaks formatting. */
	reg_value_format(&f, text, fmt, sizeof fmt);
	CHECK(strlen(fmt) < sizeof fmt);
	reg_value_format(&f, text, stored, sizeof stored);
	CHECK(strlen(stored) < sizeof stored);
	return 0;
}
