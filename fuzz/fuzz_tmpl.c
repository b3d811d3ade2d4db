/*
 * libFuzzer target for core/tmpl.
 *
 * Input: template text, then a NUL byte (or the first "\n---\n"), then a
 * JSON context.  The template is compiled as "t" into a set that also holds
 * two fixed partials, so {{>t}} (recursion), {{>p}} and {{>q}} exercise
 * partial resolution and the depth limit; {{>other}} exercises an unknown
 * partial.  Rendering goes into a buf with a 1 MiB maximum.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/tmpl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	size_t tlen = size, skip = 0;
	const char *nul = memchr(data, '\0', size);
	const char *sep = memmem(data, size, "\n---\n", 5);

	if (nul != NULL && (sep == NULL || nul < sep)) {
		tlen = (size_t)(nul - text);
		skip = 1;
	} else if (sep != NULL) {
		tlen = (size_t)(sep - text);
		skip = 5;
	}

	json_t *ctx = NULL;
	if (tlen < size) {
		const char *js = text + tlen + skip;
		ctx = json_loadb(js, size - tlen - skip, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
	}

	struct tmpl_set *set = tmpl_set_new();
	char *err = NULL;
	static const char p[] = "<p>{{.}}{{#items}}{{>t}}{{/items}}</p>";
	static const char q[] = "{{^x}}{{@SITE_NAME}}{{/x}}{{&body_html}}";
	if (tmpl_set_add(set, "p", p, sizeof p - 1, &err) != 0 ||
	    tmpl_set_add(set, "q", q, sizeof q - 1, &err) != 0)
		abort();
	if (tmpl_set_add(set, "t", text, tlen, &err) == 0) {
		if (err != NULL)
			abort();   /* success leaves no message */
		struct buf out = BUF_INIT(1 << 20);
		if (tmpl_render(set, "t", ctx, &out) < 0 && out.len != 0)
			abort();   /* a failed render leaves out as it was */
		if (out.len > out.max)
			abort();
		buf_release(&out);
		out = (struct buf)BUF_INIT(64);
		(void)tmpl_render(set, "t", ctx, &out);
		buf_release(&out);
	} else if (err == NULL || strchr(err, ':') == NULL) {
		abort();   /* every compile error names the template and line */
	}
	free(err);
	tmpl_set_free(set);
	json_decref(ctx);
	return 0;
}
