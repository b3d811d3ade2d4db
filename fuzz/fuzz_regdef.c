/*
 * libFuzzer target for engines/registry/def.c (regdef_parse).
 *
 * Input: the text of a registry definition.  A parse either succeeds with a
 * definition whose every promise in docs/registry-format.md holds (codes
 * well formed, one key in range and never 不予共享, the subject idcard or
 * uscc typed, each field source xor derived, lengths, scales and enum
 * values within limits, no field less strict than the registry except the
 * conditional registry's unconditional fields, a legal basis for every
 * 不予共享), or fails with "第 N 行：..." (N >= 1) and no definition.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engines/registry/registry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int code_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n >= REG_CODE_MAX || s[0] < 'a' || s[0] > 'z')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
	return 1;
}

static void check(const struct reg_def *d)
{
	if (!code_ok(d->code) || !code_ok(d->owner_dept) || d->name == NULL || d->name[0] == '\0')
		abort();
	if (d->nfields < 1 || d->nfields > REG_MAX_FIELDS || d->key < 0 || d->key >= d->nfields)
		abort();
	if (d->subject < -1 || d->subject >= d->nfields)
		abort();
	if (d->subject >= 0 && d->fields[d->subject].type != RT_IDCARD && d->fields[d->subject].type != RT_USCC)
		abort();
	if ((unsigned)d->share >= RS__MAX || (d->share != RS_UNCONDITIONAL) != (d->share_cond != NULL))
		abort();
	if (d->open && d->share == RS_NONE)
		abort();
	const struct reg_field *k = &d->fields[d->key];
	if (!k->required || k->type == RT_DECIMAL || k->type == RT_DATE || k->type == RT_ENUM ||
	    k->type == RT_BOOL || k->type == RT_ADDRESS)
		abort();
	if (d->share != RS_NONE && k->share == RS_NONE)
		abort();
	for (int i = 0; i < d->nfields; i++) {
		const struct reg_field *f = &d->fields[i];
		if (!code_ok(f->name) || reg_field_index(d, f->name) != i || f->label == NULL || f->label[0] == '\0')
			abort();
		if ((unsigned)f->type >= RT__MAX || reg_type_name(f->type)[0] == '\0')
			abort();
		if ((f->source_dept[0] != '\0') == (f->derived_from[0] != '\0'))
			abort();
		if (f->source_dept[0] != '\0' && !code_ok(f->source_dept))
			abort();
		if (f->derived_from[0] != '\0') {
			const char *dot = strchr(f->derived_from, '.');
			if (dot == NULL)
				abort();
			size_t rn = (size_t)(dot - f->derived_from);
			if (strlen(d->code) == rn && strncmp(f->derived_from, d->code, rn) == 0)
				abort();
		}
		if ((f->type == RT_TEXT || f->type == RT_ADDRESS) && (f->max_chars < 1 || f->max_chars > 2000))
			abort();
		if (f->type == RT_DECIMAL && (f->scale < 0 || f->scale > 6))
			abort();
		if (f->type == RT_ENUM) {
			if (f->nenum < 1 || f->enum_values == NULL || f->enum_values[f->nenum] != NULL)
				abort();
			for (int a = 0; a < f->nenum; a++) {
				if (f->enum_values[a][0] == '\0')
					abort();
				for (int b = 0; b < a; b++)
					if (strcmp(f->enum_values[a], f->enum_values[b]) == 0)
						abort();
			}
		} else if (f->nenum != 0) {
			abort();
		}
		if ((unsigned)f->share >= RS__MAX)
			abort();
		if (d->share == RS_NONE && f->share != RS_NONE)
			abort();
		if (d->share == RS_UNCONDITIONAL && f->share == RS_CONDITIONAL && f->share_cond == NULL)
			abort();
		if ((f->share == RS_UNCONDITIONAL) != (f->share_cond == NULL))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct reg_def *d = NULL;
	char *err = NULL;
	if (regdef_parse((const char *)data, size, &d, &err) == 0) {
		if (d == NULL || err != NULL)
			abort();
		check(d);
		regdef_free(d);
	} else {
		static const char prefix[] = "第 ";
		if (d != NULL || err == NULL || strncmp(err, prefix, strlen(prefix)) != 0)
			abort();
		char *end = NULL;
		long line = strtol(err + strlen(prefix), &end, 10);
		if (line < 1 || end == NULL || strncmp(end, " 行：", strlen(" 行：")) != 0)
			abort();
		free(err);
	}
	return 0;
}
