/*
 * libFuzzer target: JSON request bodies (json_body_parse) and the field
 * check of a representative spec (input_check with from_form = 0).
 *
 * Beyond "no crash", it checks what the rest of yizhan relies on: every
 * value a handler gets is valid for its declared type, and every error
 * names a field and says why.  The spec and those checks are shared with
 * fuzz_form.c in input_checks.h.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_NAME "fuzz_json"
#include "input_checks.h"

/* Nesting depth of a parsed value (the body object is 1). */
static int depth(const json_t *v)
{
	int d = 0;

	if (json_is_object(v)) {
		const char *k;
		json_t *c;
		json_object_foreach((json_t *)v, k, c) {
			int cd = depth(c);
			if (cd > d)
				d = cd;
		}
		return d + 1;
	}
	if (json_is_array(v)) {
		size_t i;
		json_t *c;
		json_array_foreach(v, i, c) {
			int cd = depth(c);
			if (cd > d)
				d = cd;
		}
		return d + 1;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input_error err;
	json_t *obj = NULL;

	input_set_uscc_allow(allow);
	if (json_body_parse((const char *)data, size, &obj, &err) != 0) {
		CHECK(obj == NULL);
		check_error(&err, 0);
		return 0;
	}
	CHECK(json_is_object(obj) && err.msg == MSG_NONE);
	CHECK(depth(obj) <= 16);
	check_input(obj, 0);
	json_decref(obj);
	return 0;
}
